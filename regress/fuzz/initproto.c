/*
 * libFuzzer target for what lens-init checks before it acts on a host
 * message (lensvmm/guest/request.c): the EXEC payload, the payload size
 * of every other type, and the user lookup in a sandbox's passwd and
 * group files (which the workload may have written).
 *
 * Input: byte 0 picks the mode (low two bits) and asks for root (0x10).
 *   0, 3: the rest is an EXEC payload; when it is accepted, argv and
 *         envp must be consistent and the env defaults must apply.
 *   1:    bytes 1-4 are a message type, the rest a payload.
 *   2:    byte 1 is a length L (< 64), then L bytes of user spec, then
 *         the passwd file up to the first 0x01 byte, then the group file.
 */
#include <sys/types.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imsg.h"
#include "lensinit_proto.h"
#include "../../lensvmm/guest/request.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_exec(const uint8_t *p, size_t len)
{
	struct exec_req	 req;
	char		 err[128];
	uint32_t	 i;
	size_t		 total = 0;

	if (exec_req_parse(p, len, &req, err, sizeof(err)) == -1) {
		if (err[0] == '\0' || strlen(err) >= sizeof(err))
			abort();
		return;
	}
	if (req.argc < 1 || req.argc + req.envc > LENSINIT_MAXARGS ||
	    req.argv[req.argc] != NULL || req.envp[req.envc] != NULL ||
	    req.argv[0][0] == '\0' ||
	    memchr(req.cwd, '\0', sizeof(req.cwd)) == NULL ||
	    memchr(req.user, '\0', sizeof(req.user)) == NULL)
		abort();
	for (i = 0; i < req.argc; i++)
		total += strlen(req.argv[i]) + 1;
	for (i = 0; i < req.envc; i++) {
		if (strchr(req.envp[i], '=') == NULL)
			abort();
		total += strlen(req.envp[i]) + 1;
	}
	if (total != len - sizeof(struct init_exec))
		abort();
	if (exec_req_env_defaults(&req, "/home/x", "x") == 0 &&
	    (env_get(req.envp, "PATH") == NULL ||
	    env_get(req.envp, "HOME") == NULL ||
	    req.envp[req.envc] != NULL))
		abort();
	exec_req_free(&req);
}

static void
check_user(const uint8_t *p, size_t len, int asroot)
{
	struct init_user u;
	char		 spec[64];
	const uint8_t	*pw, *gr, *sep;
	char		*pwc, *grc;
	size_t		 l, pwlen, grlen;
	int		 i;

	if (len < 1)
		return;
	l = p[0] & 63;
	if (l > len - 1)
		l = len - 1;
	memcpy(spec, p + 1, l);
	spec[l] = '\0';
	pw = p + 1 + l;
	len -= 1 + l;
	if ((sep = memchr(pw, 0x01, len)) != NULL) {
		pwlen = sep - pw;
		gr = sep + 1;
		grlen = len - pwlen - 1;
	} else {
		pwlen = len;
		gr = NULL;
		grlen = 0;
	}
	/* exact-size copies, so ASan sees any read past the end */
	pwc = malloc(pwlen ? pwlen : 1);
	grc = malloc(grlen ? grlen : 1);
	if (pwc == NULL || grc == NULL)
		abort();
	memcpy(pwc, pw, pwlen);
	if (gr != NULL)
		memcpy(grc, gr, grlen);
	if (user_resolve(spec, asroot, pwc, pwlen, gr ? grc : NULL, grlen,
	    &u) == 0) {
		if (memchr(u.name, '\0', sizeof(u.name)) == NULL ||
		    memchr(u.home, '\0', sizeof(u.home)) == NULL ||
		    u.ngroups < 1 || u.ngroups > INIT_MAXGROUPS ||
		    u.groups[0] != u.gid || u.uid == (uid_t)-1 ||
		    (asroot && u.uid != 0))
			abort();
		for (i = 1; i < u.ngroups; i++)
			if (u.groups[i] == u.groups[0])
				abort();
	} else if (errno != ENOENT && errno != EINVAL)
		abort();
	free(pwc);
	free(grc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t	 type;
	uint8_t		*copy;

	if (size < 1)
		return 0;
	switch (data[0] & 3) {
	case 1:
		if (size < 5)
			return 0;
		memcpy(&type, data + 1, sizeof(type));
		(void)init_msg_check(type, size - 5);
		break;
	case 2:
		check_user(data + 1, size - 1, (data[0] & 0x10) != 0);
		break;
	default:
		/* exact size, so reads past the end are caught */
		if ((copy = malloc(size - 1 ? size - 1 : 1)) == NULL)
			abort();
		memcpy(copy, data + 1, size - 1);
		check_exec(copy, size - 1);
		free(copy);
		break;
	}
	return 0;
}
