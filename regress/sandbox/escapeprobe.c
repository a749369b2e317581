/*
 * escapeprobe: the escape attempts of regress/attack/sandbox-escape.t
 * that need a system call the busybox of the test rootfs cannot make.
 * One line each: "NAME ok" (the attempt worked), "NAME ERRNO" (it
 * failed with that errno), or "NAME WORD" where the line says what it
 * found.  Built static into the rootfs by the test; run as the
 * sandbox's root and as uid 1000.
 */
#define _GNU_SOURCE
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* in a child, so that a call that works does not change the probe */
static void
forked(const char *name, int (*fn)(const char *), const char *arg)
{
	int	 p[2], st, e = 0;
	pid_t	 pid;

	if (pipe(p) == -1 || (pid = fork()) == -1) {
		printf("%s harness %d\n", name, errno);
		return;
	}
	if (pid == 0) {
		close(p[0]);
		e = fn(arg) == -1 ? errno : 0;
		(void)write(p[1], &e, sizeof(e));
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &e, sizeof(e)) != sizeof(e))
		e = -1;
	close(p[0]);
	waitpid(pid, &st, 0);
	if (e == 0)
		printf("%s ok\n", name);
	else
		printf("%s %d\n", name, e);
	fflush(stdout);
}

static int
do_unshare(const char *what)
{
	return unshare(strtol(what, NULL, 0));
}

/*
 * The classic chroot break-out: chroot into a subdirectory keeping the
 * cwd above it, climb, chroot("."): lands at the real root of the
 * mount namespace.  Then look for the host's file named by arg.
 */
static int
do_chroot_escape(const char *marker)
{
	int	 i;

	mkdir("/tmp/jail", 0700);
	if (chroot("/tmp/jail") == -1)
		return -1;
	for (i = 0; i < 64; i++)
		if (chdir("..") == -1)
			return -1;
	if (chroot(".") == -1)
		return -1;
	return access(marker, F_OK);
}

static int
do_ptrace_init(const char *unused)
{
	(void)unused;
	if (ptrace(PTRACE_ATTACH, 1, NULL, NULL) == -1)
		return -1;
	return 0;
}

static int
do_mknod(const char *path)
{
	int	 fd;

	unlink(path);
	if (mknod(path, S_IFCHR | 0600, makedev(1, 1)) == -1)	/* mem */
		return -1;
	/* made: can it be opened? (nodev mounts refuse it here) */
	if ((fd = open(path, O_RDONLY)) == -1)
		return -1;
	close(fd);
	return 0;
}

static int
do_mount_cgroup(const char *dir)
{
	mkdir(dir, 0755);
	if (mount("cgroup2", dir, "cgroup2", 0, NULL) == -1 &&
	    mount("cgroup", dir, "cgroup", 0, "pids") == -1)
		return -1;
	return 0;
}

static int
do_raise_nofile(const char *unused)
{
	struct rlimit	 rl;

	(void)unused;
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return -1;
	rl.rlim_max += 4096;
	rl.rlim_cur = rl.rlim_max;
	return setrlimit(RLIMIT_NOFILE, &rl);
}

static int
do_raise_infinity(const char *which)
{
	struct rlimit	 rl;
	int		 res = strcmp(which, "core") == 0 ? RLIMIT_CORE :
			    RLIMIT_NOFILE;

	if (getrlimit(res, &rl) == -1)
		return -1;
	if (rl.rlim_max == RLIM_INFINITY) {
		errno = EEXIST;		/* nothing to raise: say so */
		return -1;
	}
	rl.rlim_max = RLIM_INFINITY;
	rl.rlim_cur = RLIM_INFINITY;
	return setrlimit(res, &rl);
}

static int
do_open_ro(const char *path)
{
	int	 fd;
	char	 c;

	if ((fd = open(path, O_RDONLY)) == -1)
		return -1;
	if (read(fd, &c, 1) == -1) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int
main(int argc, char *argv[])
{
	const char	*marker = argc > 1 ? argv[1] : "/nonexistent";

	forked("unshare_mnt", do_unshare, "0x00020000");	/* NEWNS */
	forked("unshare_net", do_unshare, "0x40000000");	/* NEWNET */
	forked("unshare_cgroup", do_unshare, "0x02000000");	/* NEWCGROUP */
	forked("unshare_pid", do_unshare, "0x20000000");	/* NEWPID */
	forked("ptrace_init", do_ptrace_init, NULL);
	forked("mknod_tmp", do_mknod, "/tmp/mem");
	forked("mknod_root", do_mknod, "/mem");
	forked("mount_cgroup", do_mount_cgroup, "/tmp/cg");
	forked("chroot_escape", do_chroot_escape, marker);
	forked("raise_nofile", do_raise_nofile, NULL);
	forked("raise_core", do_raise_infinity, "core");
	forked("read_kcore", do_open_ro, "/proc/kcore");
	forked("read_kmsg", do_open_ro, "/dev/kmsg");
	return 0;
}
