/*
 * firstout: times a command to the first byte it writes, for make
 * bench (start to first exec: the command given to the sandbox prints
 * at once, so its first byte on the host is the moment it ran).
 *
 *   firstout CMD [ARG...]
 *
 * Runs CMD with its stdout on a pipe (stdin and stderr as given),
 * reads and discards what it writes, waits for it and prints one line:
 *
 *   firstout FIRST_US TOTAL_US STATUS
 *
 * FIRST_US: microseconds from just before fork to the first byte, -1
 * when CMD wrote nothing; TOTAL_US: to its exit; STATUS: its exit code,
 * or 128 + the signal.  Exit 0, or 1 when CMD could not be run.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static int64_t
now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int
main(int argc, char *argv[])
{
	char		 buf[4096];
	int64_t		 t0, first = -1;
	ssize_t		 n;
	pid_t		 pid;
	int		 p[2], st;

	if (argc < 2) {
		fprintf(stderr, "usage: firstout CMD [ARG...]\n");
		return 1;
	}
	if (pipe(p) == -1)
		err(1, "pipe");
	t0 = now_us();
	switch ((pid = fork())) {
	case -1:
		err(1, "fork");
	case 0:
		close(p[0]);
		if (dup2(p[1], STDOUT_FILENO) == -1)
			err(126, "dup2");
		close(p[1]);
		execvp(argv[1], argv + 1);
		err(errno == ENOENT ? 127 : 126, "%s", argv[1]);
	}
	close(p[1]);
	while ((n = read(p[0], buf, sizeof(buf))) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			err(1, "read");
		}
		if (first == -1)
			first = now_us() - t0;
	}
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			err(1, "waitpid");
	printf("firstout %lld %lld %d\n", (long long)first,
	    (long long)(now_us() - t0), WIFEXITED(st) ? WEXITSTATUS(st) :
	    128 + WTERMSIG(st));
	return 0;
}
