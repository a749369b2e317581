/*
 * lensctl: administration of Lens.
 *
 *	lensctl [-v] group command [argument ...]
 *
 * Command groups live in their own files; add one by listing its
 * struct lensctl_group in groups[] below.
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
	&audit_group,
};
#define NGROUPS	(sizeof(groups) / sizeof(groups[0]))

static void
print_cmds(const struct lensctl_group *g, const char *only, int *first)
{
	const struct lensctl_cmd *c;

	for (c = g->cmds; c->name != NULL; c++) {
		if (only != NULL && strcmp(only, c->name) != 0)
			continue;
		fprintf(stderr, "%s lensctl [-v] %s %s %s\n",
		    *first ? "usage:" : "      ", g->name, c->name,
		    c->synopsis);
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
	while ((ch = getopt(argc, argv, "+v")) != -1) {
		switch (ch) {
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
		warnx("unknown command: %s", argv[0]);
		return usage();
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
