/*
 * lensctl policy: sandbox policy files, lns-policy.yaml(5).
 *
 *	lensctl policy check file ...
 *	lensctl policy show file
 *
 * Both work offline on a file.  Showing the policy a running sandbox
 * uses ("policy show ID") needs lensnetd, which holds it; it comes with
 * lensnetd's control interface.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "policy.h"
#include "lensctl.h"

static int	policy_check(int, char **);
static int	policy_show(int, char **);

static const struct lensctl_cmd policy_cmds[] = {
	{ "check", policy_check, "file ..." },
	{ "show", policy_show, "file" },
	{ NULL, NULL, NULL }
};

const struct lensctl_group policy_group = { "policy", policy_cmds };

/* the error exactly as the parser words it: "file:line:col: msg" */
static void
print_error(const struct policy_error *perr)
{
	char	 buf[sizeof(perr->file) + sizeof(perr->msg) + 32];

	policy_strerror(perr, buf, sizeof(buf));
	fprintf(stderr, "%s\n", buf);
}

static int
policy_check(int argc, char *argv[])
{
	struct policy_error	 perr;
	struct policy		*pol;
	int			 ch, i, rc = LENSCTL_OK;

	while ((ch = getopt(argc, argv, "")) != -1)
		return lensctl_usage(&policy_group, "check");
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return lensctl_usage(&policy_group, "check");
	for (i = 0; i < argc; i++) {
		if ((pol = policy_load(argv[i], &perr)) == NULL) {
			print_error(&perr);
			rc = LENSCTL_FAIL;
			continue;
		}
		printf("%s: ok\n", argv[i]);
		policy_free(pol);
	}
	if (fflush(stdout) == EOF)
		err(LENSCTL_FAIL, "stdout");
	return rc;
}

static int
policy_show(int argc, char *argv[])
{
	struct policy_error	 perr;
	struct policy		*pol;
	char			*json;
	int			 ch;

	while ((ch = getopt(argc, argv, "")) != -1)
		return lensctl_usage(&policy_group, "show");
	argc -= optind;
	argv += optind;
	if (argc != 1)
		return lensctl_usage(&policy_group, "show");
	if ((pol = policy_load(argv[0], &perr)) == NULL) {
		print_error(&perr);
		return LENSCTL_FAIL;
	}
	if ((json = policy_json(pol)) == NULL) {
		policy_free(pol);
		errx(LENSCTL_FAIL, "%s: cannot encode the policy", argv[0]);
	}
	printf("%s\n", json);
	free(json);
	policy_free(pol);
	if (fflush(stdout) == EOF)
		err(LENSCTL_FAIL, "stdout");
	return LENSCTL_OK;
}
