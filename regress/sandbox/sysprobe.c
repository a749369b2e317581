/*
 * sysprobe: calls every system call that the jail backend's workload
 * seccomp profile refuses (lensvmm/jail.c) and prints one line each:
 * "NAME ok" or "NAME ERRNO".  Arguments are chosen so that, without
 * the filter, many of the calls would succeed or fail otherwise than
 * EPERM.  Built static by regress/sandbox-seccomp.t into the rootfs.
 */
#define _GNU_SOURCE
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <linux/sched.h>

static void
probe(const char *name, long r)
{
	if (r == -1)
		printf("%s %d\n", name, errno);
	else
		printf("%s ok\n", name);
	fflush(stdout);
}

#define P(name, ...)	probe(#name, syscall(SYS_##name, __VA_ARGS__))

int
main(void)
{
	struct { unsigned int bytes; int type; unsigned char h[128]; } fh;
	unsigned char	 params[120];
	struct clone_args ca;
	long		 r;
	int		 mnt;

	P(keyctl, 0 /* GET_KEYRING_ID */, -2 /* process */, 1);
	P(add_key, "user", "lens", "x", 1, -2);
	P(request_key, "user", "lens-none", NULL, 0);
	P(bpf, 0, NULL, 0);
	P(userfaultfd, O_CLOEXEC | 1 /* UFFD_USER_MODE_ONLY */);
	P(perf_event_open, NULL, 0, -1, -1, 0);
	P(kexec_load, 0, 0, NULL, 0);
	P(kexec_file_load, -1, -1, 0, NULL, 0);
	P(open_by_handle_at, -1, NULL, 0);
	P(init_module, NULL, 0, "");
	P(finit_module, -1, "", 0);
	P(delete_module, "lens_none", 0);
	P(iopl, 3);
	P(ioperm, 0, 1, 1);
	P(swapon, "/nonexistent", 0);
	P(swapoff, "/nonexistent");
	P(reboot, 0, 0, 0, NULL);		/* bad magic */
	P(syslog, 10 /* SIZE_BUFFER */, NULL, 0);
	P(acct, NULL);
	P(settimeofday, NULL, NULL);
	P(clock_settime, 0, NULL);
	P(clock_adjtime, 0, NULL);
	P(adjtimex, NULL);
	P(quotactl, 0, NULL, 0, NULL);
	P(quotactl_fd, -1, 0, 0, NULL);
	P(lookup_dcookie, 0, NULL, 0);
	P(fsopen, "tmpfs", 0);
	P(fsconfig, -1, 0, NULL, NULL, 0);
	P(fsmount, -1, 0, 0);
	P(fspick, -100, "/", 0);
	P(uselib, "/nonexistent");
	P(vhangup, 0);
	P(nfsservctl, 0, NULL, NULL);
	memset(&fh, 0, sizeof(fh));
	fh.bytes = sizeof(fh.h);
	P(name_to_handle_at, AT_FDCWD, "/", &fh, &mnt, 0);
	P(mount, "none", "/tmp", "tmpfs", 0, NULL);
	P(umount2, "/nonexistent", 0);
	P(pivot_root, "/nonexistent", "/nonexistent");
	P(open_tree, AT_FDCWD, "/nonexistent", 0);
	P(move_mount, -1, "", -1, "", 0);
	P(mount_setattr, -1, "", 0, NULL, 0);
	P(setns, -1, 0);
	memset(params, 0, sizeof(params));
	P(io_uring_setup, 1, params);
	P(io_uring_enter, -1, 0, 0, 0, NULL, 0);
	P(io_uring_register, -1, 0, NULL, 0);
	P(pidfd_getfd, -1, 3, 0);		/* EBADF unfiltered */
	P(pidfd_open, 1, 0);			/* lens-init */
	P(unshare, CLONE_NEWUSER);
	r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, NULL, NULL, 0);
	if (r == 0)
		_exit(0);
	probe("clone_newuser", r);
	memset(&ca, 0, sizeof(ca));
	ca.exit_signal = SIGCHLD;
	r = syscall(SYS_clone3, &ca, sizeof(ca));
	if (r == 0)
		_exit(0);
	probe("clone3", r);
	P(personality, 0x0040000 /* ADDR_NO_RANDOMIZE */);
	probe("ioctl_tiocsti", syscall(SYS_ioctl, 0, TIOCSTI, "x"));
	probe("ioctl_tioclinux", syscall(SYS_ioctl, 0, TIOCLINUX, "\0"));
	return 0;
}
