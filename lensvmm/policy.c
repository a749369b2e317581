/*
 * lensvmm's policy process: the only place lensvmm parses a policy's
 * YAML (the text of --policy, the operator's default file, a recovered
 * sandbox's), so that no root process does (doc/DESIGN.md, Processes).
 *
 * For each policy the parent forks one short-lived process that keeps
 * only a pipe back, becomes _lensvmm in the empty directory with no
 * capabilities and NO_NEW_PRIVS, loads an allow-list seccomp filter of
 * the few calls a parse needs, parses, and writes either 'M' and the
 * binary model (policy_encode) or 'E' and the error, then exits.  The
 * parent takes nothing on trust: it decodes the model with
 * policy_decode(), which checks every byte, before it keeps it.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lensvmm.h"
#include "log.h"
#include "policy.h"
#include "privsep.h"
#include "seccomp_filter.h"

#define POLICY_TIMEOUT_MS	10000	/* a parse takes milliseconds */

static const struct sandbox_syscall policy_syscalls[] = {
	SB_ALLOW(write), SB_ALLOW(exit_group), SB_ALLOW(exit),
	SB_ALLOW(brk), SB_ALLOW(mmap), SB_ALLOW(munmap), SB_ALLOW(mremap),
	SB_ALLOW(madvise), SB_ALLOW(futex), SB_ALLOW(rt_sigprocmask),
	SB_ALLOW(getpid), SB_ALLOW(gettid), SB_ALLOW(tgkill),	/* abort */
};

static void __attribute__((noreturn))
policy_child(int fd, const char *name, const char *text, size_t len)
{
	struct privsep_user	 u;
	struct policy_error	 pe;
	struct policy		*pol;
	char			 msg[1 + 600];
	uint8_t			*out;
	size_t			 mlen;

	if (close_except(&fd, 1) == -1)
		_exit(1);
	if (privsep_user(VMM_USER, &u, msg, sizeof(msg)) == -1)
		_exit(1);
	privsep_drop(NULL, &u, NULL, 0);
	sandbox_apply("policy", policy_syscalls,
	    sizeof(policy_syscalls) / sizeof(policy_syscalls[0]));
	if ((pol = policy_parse(name, text, len, &pe)) == NULL) {
		msg[0] = 'E';
		policy_strerror(&pe, msg + 1, sizeof(msg) - 1);
		_exit(write(fd, msg, 1 + strlen(msg + 1)) > 0 ? 0 : 1);
	}
	mlen = policy_encode(pol, NULL, 0);
	if ((out = malloc(1 + mlen)) == NULL)
		_exit(1);
	out[0] = 'M';
	(void)policy_encode(pol, out + 1, mlen);
	mlen++;
	for (size_t off = 0; off < mlen; ) {
		ssize_t n = write(fd, out + off, mlen - off);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(1);
		off += n;
	}
	_exit(0);
}

static long
ms_since(const struct timespec *t0)
{
	struct timespec	 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000 +
	    (now.tv_nsec - t0->tv_nsec) / 1000000;
}

int
policy_model_parse(const char *name, const char *text, size_t len,
    struct policy **polp, void **modelp, size_t *modellenp, char *err,
    size_t errlen)
{
	struct policy_error	 pe;
	struct policy		*pol;
	struct timespec		 t0;
	struct pollfd		 pfd;
	uint8_t			*buf;
	size_t			 have = 0, max = 1 + POLICY_MODEL_MAXSIZE;
	ssize_t			 n;
	long			 left;
	pid_t			 pid;
	int			 p[2], st, timedout = 0;
	char			 m[600];

	*polp = NULL;
	*modelp = NULL;
	*modellenp = 0;
	if ((buf = malloc(max + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (pipe2(p, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		free(buf);
		return -1;
	}
	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "fork the policy process: %s",
		    strerror(errno));
		close(p[0]);
		close(p[1]);
		free(buf);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		policy_child(p[1], name, text, len);
	}
	close(p[1]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pfd.fd = p[0];
	pfd.events = POLLIN;
	for (;;) {
		if ((left = POLICY_TIMEOUT_MS - ms_since(&t0)) <= 0) {
			timedout = 1;
			break;
		}
		if ((n = poll(&pfd, 1, (int)left)) == -1 && errno == EINTR)
			continue;
		if (n != 1) {
			timedout = n == 0;
			break;
		}
		if ((n = read(p[0], buf + have, max + 1 - have)) == -1 &&
		    errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += n;
		if (have > max)
			break;
	}
	close(p[0]);
	if (timedout)
		kill(pid, SIGKILL);
	while ((n = waitpid(pid, &st, 0)) == -1 && errno == EINTR)
		;
	if (n == -1)
		snprintf(err, errlen, "the policy process: waitpid: %s",
		    strerror(errno));
	else if (timedout)
		snprintf(err, errlen, "the policy process took more than %d ms",
		    POLICY_TIMEOUT_MS);
	else if (WIFSIGNALED(st))
		snprintf(err, errlen, "the policy process was killed by signal "
		    "%d", WTERMSIG(st));
	else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || have == 0 ||
	    have > max || (buf[0] != 'E' && buf[0] != 'M'))
		snprintf(err, errlen, "the policy process failed");
	else if (buf[0] == 'E') {
		buf[have] = '\0';
		snprintf(err, errlen, "%s", (char *)buf + 1);
	} else if ((pol = policy_decode(name, buf + 1, have - 1, &pe)) ==
	    NULL) {
		policy_strerror(&pe, m, sizeof(m));
		snprintf(err, errlen, "the policy process sent a bad model: %s",
		    m);
		log_warnx("%s", err);
	} else {
		*polp = pol;
		memmove(buf, buf + 1, have - 1);
		*modelp = buf;
		*modellenp = have - 1;
		return 0;
	}
	free(buf);
	return -1;
}
