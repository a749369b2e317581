/*
 * lensctl policy: sandbox policy files, lns-policy.yaml(5).
 *
 *	lensctl policy check [--strict] file ...
 *	lensctl policy show [-s socket] file | id
 *
 * Both work offline on a file.  show also takes a sandbox (an argument
 * that is no file): lensvmm keeps the policy text each sandbox was
 * given and hands it to lensnetd; show prints what that text means.
 */
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "policy.h"
#include "lensctl.h"
#include "version.h"

static int	policy_check(int, char **);
static int	policy_show(int, char **);

static const struct lensctl_cmd policy_cmds[] = {
	{ "check", policy_check, "[--strict] file ...",
	    "validate policy files; warn on what this version does not enforce" },
	{ "show", policy_show, "[-s socket] file | id",
	    "print a policy file's or a running sandbox's policy as JSON" },
	{ "reload", lensctl_policy_reload, "[-A apprsock] [-s socket] id",
	    "re-read a running sandbox's policy file and apply it" },
	{ NULL, NULL, NULL, NULL }
};

const struct lensctl_group policy_group = { "policy", policy_cmds,
    "sandbox policy files" };

/* the error exactly as the parser words it: "file:line:col: msg" */
static void
print_error(const struct policy_error *perr)
{
	char	 buf[sizeof(perr->file) + sizeof(perr->msg) + 32];

	policy_strerror(perr, buf, sizeof(buf));
	fprintf(stderr, "%s\n", buf);
}

/*
 * lensctl run --policy FILE: read the file once, validate exactly those
 * bytes, and hand both back (the text is what travels to lensnetd).
 * -1 with the error printed.
 */
int
lensctl_policy_read(const char *path, struct policy **polp, char **textp,
    size_t *lenp)
{
	struct policy_error	 perr;
	struct policy		*pol;
	char			*buf;
	size_t			 len = 0;
	ssize_t			 n;
	int			 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		warn("--policy %s", path);
		return -1;
	}
	if ((buf = malloc(POLICY_MAXSIZE + 1)) == NULL) {
		warn(NULL);
		close(fd);
		return -1;
	}
	while (len < POLICY_MAXSIZE + 1) {
		if ((n = read(fd, buf + len, POLICY_MAXSIZE + 1 - len)) == -1) {
			if (errno == EINTR)
				continue;
			warn("--policy %s", path);
			close(fd);
			free(buf);
			return -1;
		}
		if (n == 0)
			break;
		len += n;
	}
	close(fd);
	if ((pol = policy_parse(path, buf, len, &perr)) == NULL) {
		print_error(&perr);
		free(buf);
		return -1;
	}
	*polp = pol;
	*textp = buf;
	*lenp = len;
	return 0;
}

/*
 * What this version parses but does not enforce: each one a warning of
 * policy check (--strict: an error), found in the policy's public model
 * (policy_json) so that the list follows what the model says and not
 * the YAML's spelling.  Remove an entry when the feature lands.
 */
static void
unenforced_warn(const char *file, const char *path, const char *what,
    int *n)
{
	fprintf(stderr, "lensctl: %s: warning: %s: %s\n", file, path, what);
	(*n)++;
}

/*
 * every "verdict": "ask" of a request rule that reads the body
 * (graphql:, mcp:) under j, path its place: the approval flow holds
 * connections and requests by method and path, not judged bodies
 */
static void
unenforced_ask(const char *file, json_t *j, const char *path, int *n)
{
	const char	*k;
	json_t		*v;
	size_t		 i;
	char		 sub[256];

	if (json_is_array(j)) {
		json_array_foreach(j, i, v) {
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			unenforced_ask(file, v, sub, n);
		}
		return;
	}
	if (!json_is_object(j))
		return;
	json_object_foreach(j, k, v) {
		snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", k);
		if ((strcmp(k, "verdict") == 0 ||
		    strcmp(k, "defaultVerdict") == 0) && json_is_string(v) &&
		    strcmp(json_string_value(v), "ask") == 0 &&
		    strstr(sub, ".rules[") != NULL &&
		    (json_object_get(j, "graphql") != NULL ||
		    json_object_get(j, "mcp") != NULL)) {
			const char *m = json_string_value(json_object_get(j,
			    "match"));
			char	    where[300];

			snprintf(where, sizeof(where), "%s%s%s%s", sub,
			    m != NULL ? " (" : "", m != NULL ? m : "",
			    m != NULL ? ")" : "");
			unenforced_warn(file, where, "ask in a request rule "
			    "that reads the body is not held for approval by "
			    "lens " LENS_VERSION " (hosts, connections and "
			    "requests by method and path are): it denies", n);
		} else
			unenforced_ask(file, v, sub, n);
	}
}

static int
unenforced(const char *file, const struct policy *pol)
{
	json_t		*j, *udp, *r;
	char		*model, where[300];
	size_t		 i;
	int		 n = 0;

	if ((model = policy_json(pol)) == NULL ||
	    (j = json_loads(model, 0, NULL)) == NULL) {
		free(model);
		warnx("%s: cannot read the policy's model", file);
		return -1;
	}
	free(model);
	unenforced_ask(file, j, "", &n);
	udp = json_object_get(json_object_get(json_object_get(j, "network"),
	    "egress"), "udp");
	json_array_foreach(udp, i, r) {
		if (!json_is_string(json_object_get(r, "verdict")) ||
		    strcmp(json_string_value(json_object_get(r, "verdict")),
		    "allow") != 0)
			continue;
		snprintf(where, sizeof(where), "network.egress.udp[%zu] (%s)",
		    i, json_is_string(json_object_get(r, "match")) ?
		    json_string_value(json_object_get(r, "match")) : "?");
		unenforced_warn(file, where, "udp rules are not enforced by "
		    "lens " LENS_VERSION ": every UDP packet but DNS is "
		    "dropped", &n);
	}
	json_decref(j);
	return n;
}

static int
policy_check(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "strict",	no_argument,	NULL, 'S' },
		{ NULL, 0, NULL, 0 }
	};
	struct policy_error	 perr;
	struct policy		*pol;
	int			 ch, i, n, strict = 0, rc = LENSCTL_OK;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'S':
			strict = 1;
			break;
		default:
			return lensctl_usage(&policy_group, "check");
		}
	}
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
		n = unenforced(argv[i], pol);
		policy_free(pol);
		if (n == -1)
			rc = LENSCTL_FAIL;
		else if (n == 0)
			printf("%s: ok\n", argv[i]);
		else if (strict) {
			warnx("%s: %d feature%s this version does not enforce "
			    "(--strict)", argv[i], n, n == 1 ? "" : "s");
			rc = LENSCTL_FAIL;
		} else
			printf("%s: valid, but %d feature%s not enforced by "
			    "lens %s (warnings above)\n", argv[i], n,
			    n == 1 ? "" : "s", LENS_VERSION);
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
	struct stat		 st;
	const char		*sock = NULL;
	char			*json, *text;
	size_t			 len;
	int			 ch;

	while ((ch = getopt(argc, argv, "s:")) != -1) {
		switch (ch) {
		case 's':
			sock = optarg;
			break;
		default:
			return lensctl_usage(&policy_group, "show");
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		return lensctl_usage(&policy_group, "show");
	if (stat(argv[0], &st) == 0 || strchr(argv[0], '/') != NULL) {
		if ((pol = policy_load(argv[0], &perr)) == NULL) {
			print_error(&perr);
			return LENSCTL_FAIL;
		}
	} else {
		/* a sandbox */
		if (lensctl_sandbox_policy(sock, argv[0], &text, &len) == -1)
			return LENSCTL_FAIL;
		pol = text == NULL ? policy_default() :
		    policy_parse(argv[0], text, len, &perr);
		free(text);
		if (pol == NULL) {
			print_error(&perr);
			return LENSCTL_FAIL;
		}
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
