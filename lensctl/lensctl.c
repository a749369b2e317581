/*
 * lensctl: administration of Lens.
 *
 *	lensctl [-v] [-s socket] group command [argument ...]
 *	lensctl [-v] [-s socket] command [argument ...]
 *	lensctl --help | help [group] [command] | --version
 *
 * Command groups live in their own files; add one by listing its
 * struct lensctl_group in groups[] below.  The commands of the groups
 * in toplevel[] are also commands of their own ("lensctl run" is
 * "lensctl sandbox run").  -s names lensvmm's control socket for them
 * (it sets LENS_VMM_SOCKET).
 *
 * Help is generic: "lensctl help X", "lensctl X --help" print X's
 * synopsis and one-line description (struct lensctl_cmd) on stdout and
 * exit 0.  A command's own code never sees --help.
 */
#include <ctype.h>
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"
#include "version.h"
#include "lensctl.h"

static const struct lensctl_group *const groups[] = {
	&approval_group,
	&audit_group,
	&cred_group,
	&image_group,
	&policy_group,
	&sandbox_group,
	&system_group,
};
#define NGROUPS	(sizeof(groups) / sizeof(groups[0]))

/* groups whose commands are also top-level ones */
static const struct lensctl_group *const toplevel[] = {
	&sandbox_group,
	&image_group,
	&approval_group,
	&system_group,
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

/* "lensctl [-v] run" or "lensctl [-v] audit show" */
static void
print_usage(FILE *fp, const struct lensctl_group *g,
    const struct lensctl_cmd *c, const char *prefix)
{
	fprintf(fp, "%s lensctl [-v] %s%s%s %s\n", prefix,
	    is_toplevel(g) ? "" : g->name, is_toplevel(g) ? "" : " ",
	    c->name, c->synopsis);
}

static void
print_cmds(const struct lensctl_group *g, const char *only, int *first)
{
	const struct lensctl_cmd *c;

	for (c = g->cmds; c->name != NULL; c++) {
		if (only != NULL && strcmp(only, c->name) != 0)
			continue;
		print_usage(stderr, g, c, *first ? "usage:" : "      ");
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
	fprintf(stderr, "usage: lensctl [-v] [-s socket] command "
	    "[argument ...]\n"
	    "       lensctl [-v] [-s socket] group command [argument ...]\n"
	    "       lensctl --help | help [group] [command] | --version\n");
	return LENSCTL_USAGE;
}

/* lensctl help COMMAND, lensctl COMMAND --help: on stdout, exit 0 */
static int
help_cmd(const struct lensctl_group *g, const struct lensctl_cmd *c)
{
	print_usage(stdout, g, c, "usage:");
	if (c->descr != NULL)
		printf("\n%c%s.\n", toupper((unsigned char)c->descr[0]),
		    c->descr + 1);
	if (strstr(c->synopsis, "-s socket") != NULL)
		printf("\n-s socket names lensvmm's control socket (default "
		    "$LENS_VMM_SOCKET, then /run/lens/lensvmm.sock).\n");
	printf("See lensctl(8).\n");
	return fflush(stdout) == 0 ? LENSCTL_OK : LENSCTL_FAIL;
}

static void
help_group_cmds(const struct lensctl_group *g)
{
	const struct lensctl_cmd *c;
	char			 name[64];

	for (c = g->cmds; c->name != NULL; c++) {
		snprintf(name, sizeof(name), "%s%s%s",
		    is_toplevel(g) ? "" : g->name, is_toplevel(g) ? "" : " ",
		    c->name);
		printf("  %-16s %s\n", name, c->descr != NULL ? c->descr : "");
	}
}

/* lensctl help GROUP, lensctl GROUP --help */
static int
help_group(const struct lensctl_group *g)
{
	const struct lensctl_cmd *c;

	printf("usage: lensctl %s command [argument ...]\n", g->name);
	if (g->descr != NULL)
		printf("\n%s.\n", g->descr);
	printf("\nCommands:\n");
	for (c = g->cmds; c->name != NULL; c++)
		printf("  %-16s %s\n", c->name,
		    c->descr != NULL ? c->descr : "");
	printf("\nRun 'lensctl %s COMMAND --help' for a command's options.\n",
	    g->name);
	return fflush(stdout) == 0 ? LENSCTL_OK : LENSCTL_FAIL;
}

/* lensctl --help, lensctl help */
static int
help_all(void)
{
	size_t	 i;

	printf("usage: lensctl [-v] [-s socket] command [argument ...]\n"
	    "       lensctl [-v] [-s socket] group command [argument ...]\n"
	    "\nLens: sandboxes whose network, credentials and audit are "
	    "mediated.\n\nOptions:\n"
	    "  -v, --verbose    say more (the backend chosen for a sandbox)\n"
	    "  -s socket        lensvmm's control socket\n"
	    "  --help           this help; COMMAND --help for a command's\n"
	    "  --version        print the version\n"
	    "\nCommands:\n");
	for (i = 0; i < NTOPLEVEL; i++)
		help_group_cmds(toplevel[i]);
	for (i = 0; i < NGROUPS; i++) {
		if (is_toplevel(groups[i]))
			continue;
		printf("\n%s%s:\n", groups[i]->descr != NULL ?
		    groups[i]->descr : groups[i]->name,
		    "");
		help_group_cmds(groups[i]);
	}
	printf("\nRun 'lensctl COMMAND --help' for a command's options; "
	    "see lensctl(8).\n");
	return fflush(stdout) == 0 ? LENSCTL_OK : LENSCTL_FAIL;
}

/*
 * Does the synopsis give option opt ("-e", "--name") a value?  It does
 * where the option is followed by a space and a word, as in
 * "[-e key[=value]]", not by "]" or "|" as in "[--rm]".
 */
static int
synopsis_takes_value(const char *syn, const char *opt)
{
	const char	*p = syn;
	size_t		 n = strlen(opt);

	while ((p = strstr(p, opt)) != NULL) {
		if ((p == syn || p[-1] == '[' || p[-1] == ' ' ||
		    p[-1] == '|') && (p[n] == ' ' || p[n] == ']' ||
		    p[n] == '|' || p[n] == '\0'))
			return p[n] == ' ' && p[n + 1] != '-' && p[n + 1] != '|';
		p += n;
	}
	return 0;
}

/*
 * Is there a --help among the command's options?  Its options end at
 * "--" or at the first operand (a word that is no option's value, as
 * the synopsis says), so "lensctl exec sb ls --help" runs ls --help.
 */
static int
wants_help(const struct lensctl_cmd *c, int argc, char *argv[])
{
	char	 opt[3];
	int	 i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0)
			return 1;
		if (strcmp(argv[i], "--") == 0 || argv[i][0] != '-' ||
		    argv[i][1] == '\0')
			return 0;
		if (argv[i][1] == '-') {
			if (strchr(argv[i], '=') == NULL &&
			    synopsis_takes_value(c->synopsis, argv[i]))
				i++;
			continue;
		}
		/* -dit, -e K=V, -eK=V: a value ends the cluster */
		opt[0] = '-';
		opt[2] = '\0';
		for (size_t k = 1; argv[i][k] != '\0'; k++) {
			opt[1] = argv[i][k];
			if (synopsis_takes_value(c->synopsis, opt)) {
				if (argv[i][k + 1] == '\0')
					i++;
				break;
			}
		}
	}
	return 0;
}

static const struct lensctl_group *
find_group(const char *name)
{
	size_t	 i;

	for (i = 0; i < NGROUPS; i++)
		if (strcmp(name, groups[i]->name) == 0)
			return groups[i];
	return NULL;
}

static const struct lensctl_cmd *
find_cmd(const struct lensctl_group *g, const char *name)
{
	const struct lensctl_cmd *c;

	for (c = g->cmds; c->name != NULL; c++)
		if (strcmp(name, c->name) == 0)
			return c;
	return NULL;
}

/* a top-level command (lensctl run) and its group */
static const struct lensctl_cmd *
find_toplevel(const char *name, const struct lensctl_group **gp)
{
	const struct lensctl_cmd *c;
	size_t			 i;

	for (i = 0; i < NTOPLEVEL; i++)
		if ((c = find_cmd(toplevel[i], name)) != NULL) {
			*gp = toplevel[i];
			return c;
		}
	return NULL;
}

/* lensctl help [group] [command] */
static int
help(int argc, char *argv[])
{
	const struct lensctl_group	*g;
	const struct lensctl_cmd	*c;

	if (argc == 1)
		return help_all();
	if ((g = find_group(argv[1])) != NULL) {
		if (argc == 2)
			return help_group(g);
		if (argc == 3 && (c = find_cmd(g, argv[2])) != NULL)
			return help_cmd(g, c);
		warnx("help: no command %s %s", argv[1], argv[2]);
		return lensctl_usage(g, NULL);
	}
	if (argc == 2 && (c = find_toplevel(argv[1], &g)) != NULL)
		return help_cmd(g, c);
	warnx("help: no command %s%s%s", argv[1], argc > 2 ? " " : "",
	    argc > 2 ? argv[2] : "");
	return usage();
}

int
main(int argc, char *argv[])
{
	static const struct option	 longopts[] = {
		{ "help",	no_argument,		NULL, 'h' },
		{ "socket",	required_argument,	NULL, 's' },
		{ "verbose",	no_argument,		NULL, 'v' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const struct lensctl_group	*g = NULL;
	const struct lensctl_cmd	*c;
	static char			 name[128];
	int				 ch;

	log_init(1, LOG_USER);
	log_procinit("lensctl");
	while ((ch = getopt_long(argc, argv, "+hs:v", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'h':
			return help_all();
		case 's':
			if (setenv("LENS_VMM_SOCKET", optarg, 1) == -1)
				err(LENSCTL_USAGE, "setenv");
			break;
		case 'v':
			log_setverbose(log_getverbose() + 1);
			break;
		case 'V':
			printf("lensctl %s\n", LENS_VERSION);
			return fflush(stdout) == 0 ? LENSCTL_OK : LENSCTL_FAIL;
		default:
			return usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return usage();
	if (strcmp(argv[0], "help") == 0)
		return help(argc, argv);
	if ((g = find_group(argv[0])) == NULL) {
		/* a top-level command: lensctl run ... */
		if ((c = find_toplevel(argv[0], &g)) == NULL) {
			warnx("unknown command: %s", argv[0]);
			return usage();
		}
		if (wants_help(c, argc, argv))
			return help_cmd(g, c);
		snprintf(name, sizeof(name), "lensctl %s", c->name);
		argv[0] = name;
		optind = 0;
		return c->main(argc, argv);
	}
	if (argc < 2)
		return lensctl_usage(g, NULL);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0)
		return help_group(g);
	if ((c = find_cmd(g, argv[1])) == NULL) {
		warnx("unknown command: %s %s", g->name, argv[1]);
		return lensctl_usage(g, NULL);
	}
	if (wants_help(c, argc - 1, argv + 1))
		return help_cmd(g, c);
	snprintf(name, sizeof(name), "lensctl %s %s", g->name, c->name);
	argv[1] = name;
	optind = 0;	/* glibc: start over for the command's options */
	return c->main(argc - 1, argv + 1);
}
