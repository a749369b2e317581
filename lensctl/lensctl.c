/*
 * lensctl: administration of Lens.
 *
 *	lensctl [-v] [-s socket] group command [argument ...]
 *	lensctl [-v] [-s socket] command [argument ...]
 *
 * Command groups live in their own files; add one by listing its
 * struct lensctl_group in groups[] below.  The commands of the groups
 * in toplevel[] are also commands of their own ("lensctl run" is
 * "lensctl sandbox run").  -s names lensvmm's control socket for them
 * (it sets LENS_VMM_SOCKET).
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"
#include "lensctl.h"

static const struct lensctl_group *const groups[] = {
	&approval_group,
	&audit_group,
	&cred_group,
	&image_group,
	&policy_group,
	&sandbox_group,
};
#define NGROUPS	(sizeof(groups) / sizeof(groups[0]))

/* groups whose commands are also top-level ones */
static const struct lensctl_group *const toplevel[] = {
	&sandbox_group,
	&image_group,
	&approval_group,
};
#define NTOPLEVEL (sizeof(toplevel) / sizeof(toplevel[0]))

static int
is_toplevel(const struct lensctl_group *g)
{
	size_t	 i;

	for (i = 0; i < NTOPLEVEL; i++)
		if (toplevel[i] == g)
			return 1;
	return 0;
}

static void
print_cmds(const struct lensctl_group *g, const char *only, int *first)
{
	const struct lensctl_cmd *c;

	for (c = g->cmds; c->name != NULL; c++) {
		if (only != NULL && strcmp(only, c->name) != 0)
			continue;
		fprintf(stderr, "%s lensctl [-v] %s%s%s %s\n",
		    *first ? "usage:" : "      ",
		    is_toplevel(g) ? "" : g->name, is_toplevel(g) ? "" : " ",
		    c->name, c->synopsis);
		*first = 0;
	}
}

int
lensctl_usage(const struct lensctl_group *g, const char *cmd)
{
	int	 first = 1;

	print_cmds(g, cmd, &first);
	return LENSCTL_USAGE;
}

static int
usage(void)
{
	size_t	 i;
	int	 first = 1;

	for (i = 0; i < NGROUPS; i++)
		print_cmds(groups[i], NULL, &first);
	return LENSCTL_USAGE;
}

int
main(int argc, char *argv[])
{
	const struct lensctl_group	*g = NULL;
	const struct lensctl_cmd	*c;
	static char			 name[128];
	size_t				 i;
	int				 ch;

	log_init(1, LOG_USER);
	log_procinit("lensctl");
	while ((ch = getopt(argc, argv, "+s:v")) != -1) {
		switch (ch) {
		case 's':
			if (setenv("LENS_VMM_SOCKET", optarg, 1) == -1)
				err(LENSCTL_USAGE, "setenv");
			break;
		case 'v':
			log_setverbose(log_getverbose() + 1);
			break;
		default:
			return usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return usage();
	for (i = 0; i < NGROUPS; i++)
		if (strcmp(argv[0], groups[i]->name) == 0)
			g = groups[i];
	if (g == NULL) {
		/* a top-level command: lensctl run ... */
		for (i = 0; i < NTOPLEVEL && g == NULL; i++)
			for (c = toplevel[i]->cmds; c->name != NULL; c++)
				if (strcmp(argv[0], c->name) == 0) {
					g = toplevel[i];
					break;
				}
		if (g == NULL) {
			warnx("unknown command: %s", argv[0]);
			return usage();
		}
		snprintf(name, sizeof(name), "lensctl %s", c->name);
		argv[0] = name;
		optind = 0;
		return c->main(argc, argv);
	}
	if (argc < 2)
		return lensctl_usage(g, NULL);
	for (c = g->cmds; c->name != NULL; c++)
		if (strcmp(argv[1], c->name) == 0)
			break;
	if (c->name == NULL) {
		warnx("unknown command: %s %s", g->name, argv[1]);
		return lensctl_usage(g, NULL);
	}
	snprintf(name, sizeof(name), "lensctl %s %s", g->name, c->name);
	argv[1] = name;
	optind = 0;	/* glibc: start over for the command's options */
	return c->main(argc - 1, argv + 1);
}
