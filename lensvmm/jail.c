/*
 * The jail backend: runs in a sandbox's jail process while that process
 * is still root (forked by the parent), and in the sandbox's first
 * process until it execs lens-init.
 *
 *	jail process (host root)		sandbox init (new namespaces)
 *	clone(NEWUSER|NEWPID|NEWNS|NEWIPC|NEWUTS|NEWNET) ----> waits on sync
 *	uid_map/gid_map 0..65535 -> base..
 *	cgroup.procs <- its pid
 *	setns(its mount ns): idmapped rootfs, overlay, /dev, /tmp, volumes
 *	setns(back)
 *	"go" -------------------------------------------------> setresuid(0)
 *								unshare(NEWCGROUP)
 *								hostname, lo up
 *								/proc, /dev/pts
 *								pivot_root
 *								rlimits, caps
 *								NO_NEW_PRIVS, seccomp
 *	EOF on sync (exec'd) or an error <--------------------- exec lens-init -f 3
 *
 * Every mount of the sandbox lives in the sandbox's own mount namespace,
 * so they all vanish with its last process: nothing to unmount on the host.
 */
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <linux/mount.h>
#include <linux/openat2.h>
#include <linux/capability.h>
#include <net/if.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"
#include "seccomp_filter.h"
#include "lensvmm.h"
#include "layer.h"

#define NS_FLAGS	(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | \
			 CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET)

/* the bounding set of the workload: docker's default capabilities */
static const int workload_caps[] = {
	CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FSETID, CAP_FOWNER, CAP_MKNOD,
	CAP_NET_RAW, CAP_SETGID, CAP_SETUID, CAP_SETFCAP, CAP_SETPCAP,
	CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT, CAP_KILL, CAP_AUDIT_WRITE,
};

static int
sys_open_tree(int dfd, const char *path, unsigned int flags)
{
	return (int)syscall(SYS_open_tree, dfd, path, flags);
}

static int
sys_move_mount(int fdf, const char *pf, int fdt, const char *pt,
    unsigned int flags)
{
	return (int)syscall(SYS_move_mount, fdf, pf, fdt, pt, flags);
}

static int
sys_mount_setattr(int dfd, const char *path, unsigned int flags,
    struct mount_attr *a)
{
	return (int)syscall(SYS_mount_setattr, dfd, path, flags, a,
	    sizeof(*a));
}

static int
sys_openat2(int dfd, const char *path, int flags, uint64_t resolve)
{
	struct open_how	 how;

	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)flags;
	how.resolve = resolve;
	return (int)syscall(SYS_openat2, dfd, path, &how, sizeof(how));
}

#define IN_ROOT	(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)

/*
 * Open (creating what is missing, owned by the sandbox's root) path
 * inside the tree at rootfd, never leaving it whatever symlinks it
 * holds.  A missing last component is made a directory, or an empty
 * file when !dir.  Returns an O_PATH descriptor.
 */
static int
path_in_root(int rootfd, const char *path, int dir, uid_t base)
{
	char	 buf[CTL_PATH_SIZE], *p, *slash;
	int	 fd, pfd, last;

	if (strlcpy(buf, path, sizeof(buf)) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	p = buf;
	while (*p == '/')
		p++;
	if (*p == '\0')
		return sys_openat2(rootfd, ".", O_PATH | O_CLOEXEC, IN_ROOT);
	for (;;) {
		slash = strchr(p, '/');
		last = slash == NULL;
		if (slash)
			*slash = '\0';
		if ((fd = sys_openat2(rootfd, buf, O_PATH | O_CLOEXEC,
		    IN_ROOT)) == -1) {
			if (errno != ENOENT)
				return -1;
			/* create p in its parent */
			if (p == buf || (p == buf + 1 && buf[0] == '/'))
				pfd = sys_openat2(rootfd, ".", O_PATH |
				    O_CLOEXEC, IN_ROOT);
			else {
				p[-1] = '\0';
				pfd = sys_openat2(rootfd, buf, O_PATH |
				    O_DIRECTORY | O_CLOEXEC, IN_ROOT);
				p[-1] = '/';
			}
			if (pfd == -1)
				return -1;
			if (!last || dir) {
				if (mkdirat(pfd, p, 0755) == -1 &&
				    errno != EEXIST) {
					close(pfd);
					return -1;
				}
			} else {
				if ((fd = openat(pfd, p, O_WRONLY | O_CREAT |
				    O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644))
				    == -1) {
					close(pfd);
					return -1;
				}
				close(fd);
			}
			if (fchownat(pfd, p, base, base,
			    AT_SYMLINK_NOFOLLOW) == -1) {
				close(pfd);
				return -1;
			}
			close(pfd);
			if ((fd = sys_openat2(rootfd, buf, O_PATH |
			    O_CLOEXEC, IN_ROOT)) == -1)
				return -1;
		}
		if (last)
			return fd;
		close(fd);
		*slash = '/';
		p = slash + 1;
		while (*p == '/')
			p++;
		if (*p == '\0') {
			*slash = '\0';
			return sys_openat2(rootfd, buf, O_PATH | O_CLOEXEC,
			    IN_ROOT);
		}
	}
}

static int
mount_at_fd(const char *src, int fd, const char *type, unsigned long fl,
    const char *data)
{
	char	 target[64];

	snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
	return mount(src, target, type, fl, data);
}

static int
jerr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;
	size_t	 n;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	n = strlen(err);
	if (saved != 0)
		snprintf(err + n, errlen - n, ": %s", strerror(saved));
	return -1;
}

/* /etc/resolv.conf: the gateway, where lensnetd answers DNS */
static int
write_resolv(struct jail_conf *c, int rootfd, char *err, size_t errlen)
{
	char	 buf[160], gw[INET_ADDRSTRLEN];
	int	 etc, fd, n;

	if (inet_ntop(AF_INET, &c->net.gateway, gw, sizeof(gw)) == NULL) {
		errno = 0;
		return jerr(err, errlen, "lensnetd: bad gateway address");
	}
	n = snprintf(buf, sizeof(buf), "# lensnetd, the gateway of this "
	    "sandbox, answers DNS\nnameserver %s\n", gw);
	if ((etc = path_in_root(rootfd, "/etc", 1, c->base)) == -1)
		return jerr(err, errlen, "rootfs: /etc");
	if (unlinkat(etc, "resolv.conf", 0) == -1 && errno != ENOENT) {
		close(etc);
		return jerr(err, errlen, "remove the image's /etc/resolv.conf");
	}
	if ((fd = openat(etc, "resolv.conf", O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0644)) == -1) {
		close(etc);
		return jerr(err, errlen, "create /etc/resolv.conf");
	}
	close(etc);
	if (write(fd, buf, (size_t)n) != n || fchown(fd, c->base, c->base) ==
	    -1) {
		close(fd);
		return jerr(err, errlen, "write /etc/resolv.conf");
	}
	close(fd);
	return 0;
}

/*
 * Detached copies of the rootfs and of the volumes, made from the
 * descriptors the parent opened as the caller (never from their paths)
 * while this process is still in the host's mount namespace, where
 * those descriptors' mounts are.  trees[0] the rootfs, trees[1 + i]
 * volume i; all -1 on failure.
 */
static int
clone_trees(struct jail_conf *c, int *trees, char *err, size_t errlen)
{
	int	 i;

	for (i = 0; i <= c->nvolumes; i++)
		trees[i] = -1;
	if (c->layers == NULL && (trees[0] = sys_open_tree(c->rootfd, "",
	    OPEN_TREE_CLONE |
	    OPEN_TREE_CLOEXEC | AT_EMPTY_PATH)) == -1) {
		jerr(err, errlen, "rootfs %s", c->rootfs);
		goto fail;
	}
	for (i = 0; i < c->nvolumes; i++)
		if ((trees[1 + i] = sys_open_tree(c->volumes[i].fd, "",
		    OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE |
		    AT_EMPTY_PATH)) == -1) {
			jerr(err, errlen, "volume %s", c->volumes[i].src);
			goto fail;
		}
	return 0;
fail:
	for (i = 0; i <= c->nvolumes; i++)
		if (trees[i] != -1) {
			close(trees[i]);
			trees[i] = -1;
		}
	return -1;
}

/* the sandbox's mounts, made in its mount namespace by the jail process */
static int
setup_mounts(struct jail_conf *c, int usernsfd, const int *trees, char *err,
    size_t errlen)
{
	struct mount_attr	 attr;
	char			 lower[PATH_MAX + 16], upper[PATH_MAX + 16];
	char			 work[PATH_MAX + 16], root[PATH_MAX + 16];
	char			 opts[3 * PATH_MAX + 128], buf[64];
	static const char *const devs[] = { "null", "zero", "full", "random",
	    "urandom", "tty" };
	struct stat		 st;
	int			 tree, rootfd = -1, fd, devfd = -1, i;
	size_t			 k;

	snprintf(lower, sizeof(lower), "%s/lower", c->dir);
	snprintf(upper, sizeof(upper), "%s/upper/data", c->dir);
	snprintf(work, sizeof(work), "%s/upper/work", c->dir);
	snprintf(root, sizeof(root), "%s/root", c->dir);

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1)
		return jerr(err, errlen, "make the sandbox mounts private");

	/*
	 * The writable layer: a tmpfs of this mount namespace, never the
	 * host's disk (a sandbox writing without end would fill the file
	 * system of the state directory, the host's).  Its pages are the
	 * sandbox's memory (charged to its cgroup): it holds at most half
	 * of --memory (a full layer leaves the rest to the processes: the
	 * writer gets ENOSPC, not the OOM killer), else tmpfs's own bound,
	 * half the host's RAM.
	 */
	if (c->memory != 0)
		snprintf(opts, sizeof(opts), "mode=0755,size=%llu",
		    (unsigned long long)c->memory / 2);
	else
		snprintf(opts, sizeof(opts), "mode=0755");
	if ((size_t)snprintf(work, sizeof(work), "%s/upper", c->dir) >=
	    sizeof(work) || mount("lens-upper", work, "tmpfs", MS_NOSUID |
	    MS_NODEV, opts) == -1)
		return jerr(err, errlen, "tmpfs for the writable layer on %s",
		    work);
	snprintf(work, sizeof(work), "%s/upper/work", c->dir);
	if (mkdir(upper, 0755) == -1 || chown(upper, c->base, c->base) == -1 ||
	    mkdir(work, 0700) == -1 || chown(work, c->base, c->base) == -1)
		return jerr(err, errlen, "writable layer %s", upper);

	/* run IMAGE: the cached layers, read-only (imagerun.c) */
	if (c->layers != NULL) {
		if (image_lowers(c, lower, opts, sizeof(opts), err, errlen) ==
		    -1)
			return -1;
		if (strlen(opts) >= PATH_MAX) {
			errno = E2BIG;
			return jerr(err, errlen, "%u layers", c->nlayers);
		}
		strlcpy(lower, opts, sizeof(lower));
		goto overlay;
	}
	/* the rootfs, read-only, its uids shifted into the sandbox's range */
	tree = trees[0];
	memset(&attr, 0, sizeof(attr));
	attr.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY |
	    MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
	attr.userns_fd = (uint64_t)usernsfd;
	if (sys_mount_setattr(tree, "", AT_EMPTY_PATH, &attr) == -1) {
		log_warn("rootfs %s: no idmapped mount (its files keep their "
		    "host owners, shown as nobody)", c->rootfs);
		attr.attr_set &= ~(uint64_t)MOUNT_ATTR_IDMAP;
		attr.userns_fd = 0;
		if (sys_mount_setattr(tree, "", AT_EMPTY_PATH, &attr) == -1)
			return jerr(err, errlen, "rootfs %s: read-only mount",
			    c->rootfs);
	}
	if (sys_move_mount(tree, "", AT_FDCWD, lower,
	    MOVE_MOUNT_F_EMPTY_PATH) == -1)
		return jerr(err, errlen, "mount rootfs on %s", lower);
 overlay:
	if ((size_t)snprintf(opts, sizeof(opts),
	    "lowerdir=%s,upperdir=%s,workdir=%s%s", lower, upper, work,
	    c->layers != NULL ? ",userxattr" : "") >=
	    sizeof(opts) || strpbrk(c->dir, ",:") != NULL) {
		errno = 0;
		return jerr(err, errlen, "state directory %s: path unusable "
		    "for overlayfs", c->dir);
	}
	if (mount("overlay", root, "overlay", MS_NOSUID | MS_NODEV, opts) ==
	    -1)
		return jerr(err, errlen, "overlayfs on %s", root);
	if ((rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1)
		return jerr(err, errlen, "open %s", root);

	/* /dev: a small tmpfs with the host's harmless devices bound in */
	if ((fd = path_in_root(rootfd, "/dev", 1, c->base)) == -1) {
		jerr(err, errlen, "rootfs: /dev");
		goto fail;
	}
	snprintf(opts, sizeof(opts), "mode=0755,size=64k,uid=%u,gid=%u",
	    (unsigned)c->base, (unsigned)c->base);
	if (mount_at_fd("tmpfs", fd, "tmpfs", MS_NOSUID | MS_NOEXEC, opts) ==
	    -1) {
		close(fd);
		jerr(err, errlen, "mount /dev");
		goto fail;
	}
	close(fd);
	if ((devfd = sys_openat2(rootfd, "dev", O_DIRECTORY | O_RDONLY |
	    O_CLOEXEC, IN_ROOT)) == -1) {
		jerr(err, errlen, "open /dev");
		goto fail;
	}
	for (k = 0; k < sizeof(devs) / sizeof(devs[0]); k++) {
		snprintf(buf, sizeof(buf), "/dev/%s", devs[k]);
		if (stat(buf, &st) == -1 || !S_ISCHR(st.st_mode)) {
			errno = 0;
			jerr(err, errlen, "host %s is not a device", buf);
			goto fail;
		}
		if ((fd = openat(devfd, devs[k], O_WRONLY | O_CREAT | O_EXCL |
		    O_CLOEXEC, 0666)) == -1) {
			jerr(err, errlen, "create /dev/%s", devs[k]);
			goto fail;
		}
		if (mount_at_fd(buf, fd, NULL, MS_BIND, NULL) == -1) {
			close(fd);
			jerr(err, errlen, "bind %s", buf);
			goto fail;
		}
		close(fd);
	}
	if (mkdirat(devfd, "pts", 0755) == -1 ||
	    mkdirat(devfd, "shm", 01777) == -1 ||
	    symlinkat("pts/ptmx", devfd, "ptmx") == -1 ||
	    symlinkat("/proc/self/fd", devfd, "fd") == -1 ||
	    symlinkat("/proc/self/fd/0", devfd, "stdin") == -1 ||
	    symlinkat("/proc/self/fd/1", devfd, "stdout") == -1 ||
	    symlinkat("/proc/self/fd/2", devfd, "stderr") == -1) {
		jerr(err, errlen, "populate /dev");
		goto fail;
	}
	if (fchownat(devfd, "shm", c->base, c->base,
	    AT_SYMLINK_NOFOLLOW) == -1 || fchmodat(devfd, "shm", 01777, 0) ==
	    -1) {
		jerr(err, errlen, "populate /dev");
		goto fail;
	}
	close(devfd);
	devfd = -1;

	/* /proc is mounted by the sandbox's init: make sure it exists */
	if ((fd = path_in_root(rootfd, "/proc", 1, c->base)) == -1) {
		jerr(err, errlen, "rootfs: /proc");
		goto fail;
	}
	close(fd);
	if ((fd = path_in_root(rootfd, "/tmp", 1, c->base)) == -1) {
		jerr(err, errlen, "rootfs: /tmp");
		goto fail;
	}
	snprintf(opts, sizeof(opts), "mode=1777,uid=%u,gid=%u",
	    (unsigned)c->base, (unsigned)c->base);
	if (mount_at_fd("tmpfs", fd, "tmpfs", MS_NOSUID | MS_NODEV, opts) ==
	    -1) {
		close(fd);
		jerr(err, errlen, "mount /tmp");
		goto fail;
	}
	close(fd);

	/*
	 * --tmpfs: each at its path resolved inside the root (a symlink
	 * of the image cannot send it out), owned by the sandbox's root;
	 * before the volumes, so that a volume may go inside one
	 */
	for (i = 0; i < c->ntmpfs; i++) {
		if ((fd = path_in_root(rootfd, c->tmpfs[i].path, 1,
		    c->base)) == -1) {
			jerr(err, errlen, "--tmpfs %s", c->tmpfs[i].path);
			goto fail;
		}
		snprintf(opts, sizeof(opts), "mode=%04o,size=%llu,uid=%u,"
		    "gid=%u", c->tmpfs[i].mode,
		    (unsigned long long)c->tmpfs[i].size, (unsigned)c->base,
		    (unsigned)c->base);
		if (mount_at_fd("tmpfs", fd, "tmpfs", MS_NOSUID | MS_NODEV,
		    opts) == -1) {
			close(fd);
			jerr(err, errlen, "--tmpfs %s: mount", c->tmpfs[i].path);
			goto fail;
		}
		close(fd);
	}

	/* lensnetd's resolver, replacing whatever the image has there */
	if (c->netdfd != -1 && write_resolv(c, rootfd, err, errlen) == -1)
		goto fail;

	/* volumes: bind mounts, read-only ones made so recursively */
	for (i = 0; i < c->nvolumes; i++) {
		struct volume	*v = &c->volumes[i];

		tree = trees[1 + i];
		if (fstat(v->fd, &st) == -1) {
			jerr(err, errlen, "volume %s", v->src);
			goto fail;
		}
		memset(&attr, 0, sizeof(attr));
		attr.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
		    (v->ro ? MOUNT_ATTR_RDONLY : 0);
		if (sys_mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE,
		    &attr) == -1) {
			jerr(err, errlen, "volume %s: mount flags", v->src);
			goto fail;
		}
		if ((fd = path_in_root(rootfd, v->dst, S_ISDIR(st.st_mode),
		    c->base)) == -1) {
			jerr(err, errlen, "volume target %s", v->dst);
			goto fail;
		}
		if (sys_move_mount(tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH |
		    MOVE_MOUNT_T_EMPTY_PATH) == -1) {
			close(fd);
			jerr(err, errlen, "volume %s on %s", v->src, v->dst);
			goto fail;
		}
		close(fd);
	}
	/*
	 * --read-only: the root itself (the overlay mount alone; /dev,
	 * /tmp, tmpfs and volumes are mounts of their own), once every
	 * mount point above is made; nosuid and nodev stay
	 */
	if (c->readonly) {
		memset(&attr, 0, sizeof(attr));
		attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
		    MOUNT_ATTR_NODEV;
		if (sys_mount_setattr(rootfd, "", AT_EMPTY_PATH, &attr) ==
		    -1) {
			jerr(err, errlen, "--read-only: remount the root");
			goto fail;
		}
	}
	close(rootfd);
	return 0;
fail:
	if (devfd != -1)
		close(devfd);
	close(rootfd);
	return -1;
}

/* --- the workload's seccomp filter --------------------------------- */

/*
 * Refused with EPERM for the parent and, inherited, for everything it
 * starts: no Lens process and no workload needs them.
 */
static const int common_deny[] = {
	SCMP_SYS(keyctl), SCMP_SYS(add_key), SCMP_SYS(request_key),
	SCMP_SYS(bpf), SCMP_SYS(userfaultfd), SCMP_SYS(perf_event_open),
	SCMP_SYS(kexec_load), SCMP_SYS(kexec_file_load),
	SCMP_SYS(open_by_handle_at), SCMP_SYS(init_module),
	SCMP_SYS(finit_module), SCMP_SYS(delete_module), SCMP_SYS(iopl),
	SCMP_SYS(ioperm), SCMP_SYS(swapon), SCMP_SYS(swapoff),
	SCMP_SYS(reboot), SCMP_SYS(syslog), SCMP_SYS(acct),
	SCMP_SYS(settimeofday), SCMP_SYS(clock_settime),
	SCMP_SYS(clock_adjtime), SCMP_SYS(adjtimex), SCMP_SYS(quotactl),
	SCMP_SYS(quotactl_fd), SCMP_SYS(lookup_dcookie), SCMP_SYS(fsopen),
	SCMP_SYS(fsconfig), SCMP_SYS(fsmount), SCMP_SYS(fspick),
	SCMP_SYS(uselib), SCMP_SYS(vhangup), SCMP_SYS(nfsservctl),
};

/* the parent only: it never traces nor reads other processes' memory */
static const int parent_deny[] = {
	SCMP_SYS(ptrace), SCMP_SYS(process_vm_readv),
	SCMP_SYS(process_vm_writev),
};

/* the workload only (the jail process needs these to set it up) */
static const int workload_deny[] = {
	SCMP_SYS(name_to_handle_at), SCMP_SYS(mount), SCMP_SYS(umount2),
	SCMP_SYS(pivot_root), SCMP_SYS(open_tree), SCMP_SYS(move_mount),
	SCMP_SYS(mount_setattr), SCMP_SYS(setns),
	SCMP_SYS(io_uring_setup), SCMP_SYS(io_uring_enter),
	SCMP_SYS(io_uring_register),
};

static int
deny_list(scmp_filter_ctx ctx, const int *list, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (list[i] >= 0 && seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
		    list[i], 0) < 0)
			return -1;
	return 0;
}

int
jail_seccomp_parent(void)
{
	scmp_filter_ctx	 ctx;
	int		 rc = -1;

	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL)
		return -1;
	sandbox_filtered();
	if (deny_list(ctx, common_deny, sizeof(common_deny) /
	    sizeof(common_deny[0])) == 0 &&
	    deny_list(ctx, parent_deny, sizeof(parent_deny) /
	    sizeof(parent_deny[0])) == 0 &&
	    seccomp_load(ctx) == 0)
		rc = 0;
	seccomp_release(ctx);
	return rc;
}

static int
seccomp_workload(void)
{
	scmp_filter_ctx	 ctx;
	int		 rc = -1;

	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL)
		return -1;
	if (deny_list(ctx, common_deny, sizeof(common_deny) /
	    sizeof(common_deny[0])) == -1 ||
	    deny_list(ctx, workload_deny, sizeof(workload_deny) /
	    sizeof(workload_deny[0])) == -1)
		goto out;
	/* no new user namespace: clone(2), unshare(2); clone3 hides flags */
	if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare), 1,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER)) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER)) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3),
	    0) < 0)
		goto out;
	/*
	 * personality: none of the flags that weaken the address space
	 * (ADDR_NO_RANDOMIZE, MMAP_PAGE_ZERO, ADDR_COMPAT_LAYOUT,
	 * READ_IMPLIES_EXEC, ADDR_LIMIT_32BIT, ADDR_LIMIT_3GB)
	 */
	{
		static const uint64_t pflags[] = { 0x0040000, 0x0100000,
		    0x0200000, 0x0400000, 0x0800000, 0x8000000 };
		size_t	 k;

		for (k = 0; k < sizeof(pflags) / sizeof(pflags[0]); k++)
			if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
			    SCMP_SYS(personality), 1, SCMP_A0(
			    SCMP_CMP_MASKED_EQ, pflags[k], pflags[k])) < 0)
				goto out;
	}
	/*
	 * lens-init's control channel stays lens-init's: no taking a
	 * descriptor from another process (pidfd_getfd), and no pidfd of
	 * pid 1 (lens-init) at all; lens-init is also non-dumpable, which
	 * closes /proc/1/fd and the ptrace checks to the sandbox's root
	 */
	if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(pidfd_getfd),
	    0) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(pidfd_open),
	    1, SCMP_A0(SCMP_CMP_EQ, 1)) < 0)
		goto out;
	/* no faking input on a terminal */
	if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
	    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffff, TIOCSTI)) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
	    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffff, TIOCLINUX)) < 0)
		goto out;
	if (seccomp_load(ctx) == 0)
		rc = 0;
out:
	seccomp_release(ctx);
	return rc;
}

/* --- the sandbox's first process ----------------------------------- */

static void __attribute__((noreturn, format(printf, 2, 3)))
child_fail(int syncfd, const char *fmt, ...)
{
	char	 msg[512];
	va_list	 ap;
	int	 saved = errno;
	size_t	 n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = strlen(msg);
	if (saved)
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(saved));
	if (write(syncfd, msg, strlen(msg)) == -1)
		_exit(124);
	_exit(125);
}

static int
ulimit_given(const struct jail_conf *c, int resource)
{
	int	 i;

	for (i = 0; i < c->nulimits; i++)
		if (c->ulimits[i].resource == resource)
			return 1;
	return 0;
}

static void __attribute__((noreturn))
child_main(struct jail_conf *c, int syncfd, int initfd, int confd)
{
	struct ifreq	 ifr;
	struct rlimit	 rl;
	char		 go, root[PATH_MAX + 16];
	char *const	 argv[] = { "lens-init", "-f", "3", NULL };
	char *const	 envp[] = {
	    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	    NULL };
	int		 s, i, keep;
	size_t		 k;

	if (read(syncfd, &go, 1) != 1 || go != 'G')
		_exit(125);
	if (setgroups(0, NULL) == -1 || setresgid(0, 0, 0) == -1 ||
	    setresuid(0, 0, 0) == -1)
		child_fail(syncfd, "become root of the sandbox");
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == -1)
		child_fail(syncfd, "PR_SET_PDEATHSIG");
	if (unshare(CLONE_NEWCGROUP) == -1)
		child_fail(syncfd, "cgroup namespace");
	if (sethostname(c->hostname, strlen(c->hostname)) == -1)
		child_fail(syncfd, "sethostname");
	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		child_fail(syncfd, "socket");
	memset(&ifr, 0, sizeof(ifr));
	strlcpy(ifr.ifr_name, "lo", sizeof(ifr.ifr_name));
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == -1)
		child_fail(syncfd, "loopback flags");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) == -1)
		child_fail(syncfd, "bring loopback up");
	close(s);

	snprintf(root, sizeof(root), "%s/root", c->dir);
	if (chdir(root) == -1)
		child_fail(syncfd, "chdir %s", root);
	if (mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	    NULL) == -1)
		child_fail(syncfd, "mount /proc");
	if (mount("devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
	    "newinstance,ptmxmode=0666,mode=0620,gid=5") == -1 &&
	    mount("devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
	    "newinstance,ptmxmode=0666,mode=0620") == -1)
		child_fail(syncfd, "mount /dev/pts");
	if (syscall(SYS_pivot_root, ".", ".") == -1)
		child_fail(syncfd, "pivot_root");
	if (umount2(".", MNT_DETACH) == -1)
		child_fail(syncfd, "detach the host's root");
	if (chdir("/") == -1)
		child_fail(syncfd, "chdir /");

	/* fds: 0 /dev/null, 1 and 2 the console, 3 the channel, 4 the
	 * lens-init binary, 5 the sync socket; first out of the way */
	if ((syncfd = fcntl(syncfd, F_DUPFD_CLOEXEC, 100)) == -1 ||
	    (initfd = fcntl(initfd, F_DUPFD_CLOEXEC, 100)) == -1 ||
	    (confd = fcntl(confd, F_DUPFD_CLOEXEC, 100)) == -1 ||
	    (keep = fcntl(c->initfd, F_DUPFD_CLOEXEC, 100)) == -1 ||
	    (s = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
		_exit(125);
	if (dup2(s, 0) == -1 || dup2(confd, 1) == -1 || dup2(confd, 2) == -1 ||
	    dup2(initfd, 3) == -1 || dup3(keep, 4, O_CLOEXEC) == -1 ||
	    dup3(syncfd, 5, O_CLOEXEC) == -1)
		_exit(125);
	syncfd = 5;
	if (close_range(6, ~0U, 0) == -1)
		child_fail(syncfd, "close_range");

	/* the defaults (no core files, 1024 descriptors), then --ulimit */
	if (!ulimit_given(c, RLIMIT_CORE)) {
		rl.rlim_cur = 0;
		rl.rlim_max = 0;
		(void)setrlimit(RLIMIT_CORE, &rl);
	}
	if (!ulimit_given(c, RLIMIT_NOFILE)) {
		if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
			child_fail(syncfd, "RLIMIT_NOFILE");
		if (rl.rlim_max > 65536)
			rl.rlim_max = 65536;
		rl.rlim_cur = rl.rlim_max < 1024 ? rl.rlim_max : 1024;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			child_fail(syncfd, "RLIMIT_NOFILE");
	}
	for (i = 0; i < c->nulimits; i++) {
		rl.rlim_cur = (rlim_t)c->ulimits[i].soft;
		rl.rlim_max = (rlim_t)c->ulimits[i].hard;
		if (setrlimit(c->ulimits[i].resource, &rl) == -1)
			child_fail(syncfd, "--ulimit %s", c->ulimits[i].name);
	}
	for (i = 0; i <= CAP_LAST_CAP; i++) {
		int	 keepcap = 0;

		for (k = 0; k < sizeof(workload_caps) /
		    sizeof(workload_caps[0]); k++)
			if (workload_caps[k] == i)
				keepcap = 1;
		if (!keepcap && prctl(PR_CAPBSET_DROP, i, 0, 0, 0) == -1 &&
		    errno != EINVAL)
			child_fail(syncfd, "drop capability %d", i);
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		child_fail(syncfd, "PR_SET_NO_NEW_PRIVS");
	if (seccomp_workload() == -1)
		child_fail(syncfd, "load the workload's seccomp filter");
	syscall(SYS_execveat, 4, "", argv, envp, AT_EMPTY_PATH);
	child_fail(syncfd, "exec lens-init");
}

/* --- the jail process ---------------------------------------------- */

static int
write_map(pid_t pid, const char *file, uid_t base)
{
	char	 path[64], line[64];
	int	 fd;
	ssize_t	 n;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	snprintf(line, sizeof(line), "0 %u %u\n", (unsigned)base,
	    VMM_UIDRANGE);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	n = write(fd, line, strlen(line));
	close(fd);
	return n == (ssize_t)strlen(line) ? 0 : -1;
}

int
jail_start(struct jail_conf *c, int *chan, int *console, pid_t *initpid,
    char *err, size_t errlen)
{
	int		 sync[2] = { -1, -1 }, isp[2] = { -1, -1 };
	int		 cp[2] = { -1, -1 }, usernsfd = -1, mntfd = -1;
	int		 oldmnt = -1, i, st, trees[1 + VMM_MAXVOLUMES];
	char		 path[64], msg[512];
	pid_t		 pid = -1;
	ssize_t		 n;
	struct pollfd	 pfd;

	*chan = *console = -1;
	c->netdfd = c->netnsfd = -1;
	if (clone_trees(c, trees, err, errlen) == -1)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, isp) == -1 ||
	    pipe2(cp, O_CLOEXEC) == -1) {
		jerr(err, errlen, "socketpair");
		goto fail;
	}
	pid = (pid_t)syscall(SYS_clone, NS_FLAGS | SIGCHLD, NULL, NULL, NULL,
	    NULL);
	if (pid == -1) {
		jerr(err, errlen, "clone (new namespaces)");
		goto fail;
	}
	if (pid == 0) {
		close(sync[0]);
		close(isp[0]);
		close(cp[0]);
		child_main(c, sync[1], isp[1], cp[1]);
	}
	close(sync[1]);
	close(isp[1]);
	close(cp[1]);
	sync[1] = isp[1] = cp[1] = -1;

	if (write_map(pid, "uid_map", c->base) == -1 ||
	    write_map(pid, "gid_map", c->base) == -1) {
		jerr(err, errlen, "write the uid/gid map");
		goto fail;
	}
	if (cgroup_join(c->cgprocs, pid) == -1) {
		jerr(err, errlen, "join the sandbox's cgroup");
		goto fail;
	}
	/* the network, before anything runs in the sandbox */
	if (c->netdsock[0] != '\0' && netd_attach(c, pid, err, errlen) == -1)
		goto fail;
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	if ((usernsfd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		jerr(err, errlen, "open %s", path);
		goto fail;
	}
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
	if ((mntfd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    (oldmnt = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC)) == -1) {
		jerr(err, errlen, "open the mount namespaces");
		goto fail;
	}
	if (setns(mntfd, CLONE_NEWNS) == -1) {
		jerr(err, errlen, "enter the sandbox's mount namespace");
		goto fail;
	}
	if (setup_mounts(c, usernsfd, trees, err, errlen) == -1) {
		if (setns(oldmnt, CLONE_NEWNS) == -1)
			fatal("return to the host's mount namespace");
		goto fail;
	}
	if (setns(oldmnt, CLONE_NEWNS) == -1)
		fatal("return to the host's mount namespace");
	if (chdir("/") == -1)
		fatal("chdir /");
	close(usernsfd);
	close(mntfd);
	close(oldmnt);
	usernsfd = mntfd = oldmnt = -1;
	for (i = 0; i <= c->nvolumes; i++) {
		close(trees[i]);
		trees[i] = -1;
	}

	if (write(sync[0], "G", 1) != 1) {
		jerr(err, errlen, "start the sandbox");
		goto fail;
	}
	pfd.fd = sync[0];
	pfd.events = POLLIN;
	if (poll(&pfd, 1, VMM_READY_TIMEOUT * 1000) != 1) {
		errno = 0;
		jerr(err, errlen, "the sandbox did not start lens-init");
		goto fail;
	}
	if ((n = read(sync[0], msg, sizeof(msg) - 1)) != 0) {
		if (n < 0) {
			jerr(err, errlen, "sandbox setup");
			goto fail;
		}
		msg[n] = '\0';
		errno = 0;
		jerr(err, errlen, "sandbox setup: %s", msg);
		goto fail;
	}
	close(sync[0]);
	*chan = isp[0];
	*console = cp[0];
	*initpid = pid;
	return 0;
fail:
	if (pid > 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
			;
	}
	for (i = 0; i < 2; i++) {
		if (sync[i] != -1)
			close(sync[i]);
		if (isp[i] != -1)
			close(isp[i]);
		if (cp[i] != -1)
			close(cp[i]);
	}
	if (usernsfd != -1)
		close(usernsfd);
	if (mntfd != -1)
		close(mntfd);
	if (oldmnt != -1)
		close(oldmnt);
	for (i = 0; i <= c->nvolumes; i++)
		if (trees[i] != -1)
			close(trees[i]);
	if (c->netdfd != -1) {
		close(c->netdfd);
		c->netdfd = -1;
	}
	if (c->netnsfd != -1) {
		close(c->netnsfd);
		c->netnsfd = -1;
	}
	return -1;
}

/* does any user, group or subordinate id range use [base, base+range)? */
int
jail_user_collides(uid_t base, uid_t range)
{
	struct passwd	*pw;
	struct group	*gr;
	FILE		*f;
	char		 line[512], *p, *q;
	unsigned long	 start, count;
	int		 hit = 0;
	static const char *const subs[] = { "/etc/subuid", "/etc/subgid" };
	size_t		 i;

	setpwent();
	while (!hit && (pw = getpwent()) != NULL)
		hit = pw->pw_uid >= base && pw->pw_uid - base < range;
	endpwent();
	setgrent();
	while (!hit && (gr = getgrent()) != NULL)
		hit = gr->gr_gid >= base && gr->gr_gid - base < range;
	endgrent();
	for (i = 0; !hit && i < 2; i++) {
		if ((f = fopen(subs[i], "re")) == NULL)
			continue;
		while (!hit && fgets(line, sizeof(line), f) != NULL) {
			if ((p = strchr(line, ':')) == NULL ||
			    (q = strchr(p + 1, ':')) == NULL)
				continue;
			start = strtoul(p + 1, NULL, 10);
			count = strtoul(q + 1, NULL, 10);
			hit = start < (unsigned long)base + range &&
			    (unsigned long)base < start + count;
		}
		fclose(f);
	}
	return hit;
}
