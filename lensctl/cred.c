/*
 * lensctl cred: the credentials of a sandbox.  `ca' prints the
 * certificate of the sandbox's CA (made by lenscredd when the sandbox
 * attached to lensnetd), for tools that want to trust what lensnetd
 * intercepts for that sandbox.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "lensctl.h"

static int	cred_ca(int, char **);

static const struct lensctl_cmd cred_cmds[] = {
	{ "ca", cred_ca, "[-s socket] sandbox" },
	{ NULL, NULL, NULL }
};

const struct lensctl_group cred_group = { "cred", cred_cmds };

static int
cred_ca(int argc, char *argv[])
{
	const char	*sock = NULL;
	char		*pem = NULL;
	size_t		 len = 0;
	int		 ch;

	while ((ch = getopt(argc, argv, "s:")) != -1) {
		switch (ch) {
		case 's':
			sock = optarg;
			break;
		default:
			return lensctl_usage(&cred_group, "ca");
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		return lensctl_usage(&cred_group, "ca");
	if (lensctl_sandbox_ca(sock, argv[0], &pem, &len) == -1)
		return LENSCTL_FAIL;
	if (pem == NULL) {
		warnx("sandbox %s has no CA (no lensnetd, or lenscredd gave "
		    "none when it started)", argv[0]);
		return LENSCTL_FAIL;
	}
	if (fwrite(pem, 1, len, stdout) != len || fflush(stdout) == EOF) {
		warn("stdout");
		free(pem);
		return LENSCTL_FAIL;
	}
	free(pem);
	return LENSCTL_OK;
}
