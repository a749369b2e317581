/*
 * Unit test of cgroup_join() (lensvmm/cgroup.c), the one way the jail
 * process and the microVM's vm process enter a sandbox's cgroups: the
 * pid is written to every cgroup.procs descriptor, and then every one
 * of them is closed and marked -1, written or not, so that nothing
 * running later (a vm process whose device model a guest took over)
 * keeps a root-opened handle that moves host processes into a cgroup
 * that teardown kills.  Plain files stand in for cgroup.procs.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "../../lensvmm/cgroup.c"

static char	 dir[] = "/tmp/lens-unit-cgjoin.XXXXXX";

static void
slurp(const char *path, char *buf, size_t len)
{
	ssize_t	 n;
	int	 fd;

	buf[0] = '\0';
	if ((fd = open(path, O_RDONLY)) == -1)
		return;
	if ((n = read(fd, buf, len - 1)) >= 0)
		buf[n] = '\0';
	close(fd);
}

static int
all_closed(const int saved[4], const int fds[4], int n)
{
	int	 i;

	for (i = 0; i < 4; i++)
		if (fds[i] != -1)
			return 0;
	for (i = 0; i < n; i++)
		if (fcntl(saved[i], F_GETFD) != -1 || errno != EBADF)
			return 0;
	return 1;
}

int
main(void)
{
	char	 path[4][PATH_MAX], buf[64];
	int	 fds[4], saved[4], i, st, good;
	pid_t	 pid;

	tap_plan(7);
	if (mkdtemp(dir) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	for (i = 0; i < 4; i++)
		snprintf(path[i], sizeof(path[i]), "%s/procs%d", dir, i);

	/* three hierarchies (v1): pid written to each, all closed */
	for (i = 0; i < 4; i++)
		fds[i] = -1;
	for (i = 0; i < 3; i++)
		saved[i] = fds[i] = open(path[i], O_WRONLY | O_CREAT |
		    O_TRUNC | O_CLOEXEC, 0600);
	ok(cgroup_join(fds, 4242) == 0, "join: three cgroup.procs written");
	good = 1;
	for (i = 0; i < 3; i++) {
		slurp(path[i], buf, sizeof(buf));
		good &= strcmp(buf, "4242") == 0;
	}
	ok(good, "the pid is what each cgroup.procs got (%s)", buf);
	ok(all_closed(saved, fds, 3), "every descriptor is closed and -1 "
	    "after the join");

	/* a failed write: an error, and still nothing left open */
	for (i = 0; i < 4; i++)
		fds[i] = -1;
	saved[0] = fds[0] = open(path[0], O_WRONLY | O_TRUNC | O_CLOEXEC);
	saved[1] = fds[1] = open(path[1], O_RDONLY | O_CLOEXEC);
	saved[2] = fds[2] = open(path[2], O_WRONLY | O_TRUNC | O_CLOEXEC);
	errno = 0;
	good = cgroup_join(fds, 7) == -1;
	st = errno;
	ok(good && st == EBADF, "join: a descriptor that cannot be written "
	    "is an error (%s)", strerror(st));
	ok(all_closed(saved, fds, 3), "... and every descriptor is closed "
	    "all the same");

	/*
	 * The vm process's way (pid 0, "the caller"), in a child that
	 * then looks at its own descriptor table as the kernel shows it.
	 */
	for (i = 0; i < 4; i++)
		fds[i] = -1;
	saved[0] = fds[0] = open(path[3], O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0600);
	if ((pid = fork()) == 0) {
		char	 link[64], target[PATH_MAX];
		ssize_t	 n;

		if (cgroup_join(fds, 0) == -1)
			_exit(2);
		snprintf(link, sizeof(link), "/proc/self/fd/%d", saved[0]);
		n = readlink(link, target, sizeof(target) - 1);
		_exit(n == -1 && errno == ENOENT ? 0 : 1);
	}
	close(saved[0]);
	st = -1;
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "pid 0: the child's "
	    "/proc/self/fd no longer shows the cgroup.procs (status %d)",
	    WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	slurp(path[3], buf, sizeof(buf));
	ok(strcmp(buf, "0") == 0, "pid 0 written as \"0\" (%s)", buf);

	for (i = 0; i < 4; i++)
		unlink(path[i]);
	rmdir(dir);
	return tap_done();
}
