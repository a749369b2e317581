/*
 * lens-init as the /init of a microVM's initramfs: from the kernel's
 * hands to the agent loop.
 *
 *  1. /proc, /sys, /dev (devtmpfs); 0, 1, 2 on /dev/console (again after
 *     the modules: console=hvc0 needs virtio_console)
 *  2. the lens.* keys of /proc/cmdline (vmconf.c)
 *  3. the modules listed in /lib/modules/load, in that (dependency)
 *     order, with finit_module(2); the build writes the list
 *  4. /dev/vda read-only (ext4, else erofs) under an overlay whose upper
 *     layer is /dev/vdb (ext4) when the VMM gave one, else a tmpfs;
 *     /proc, /sys and /dev moved into it and the root switched to it
 *  5. hostname, lo, eth0 (netcfg.c), /etc/resolv.conf
 *  6. the virtio console port named "lens.control", once the host has
 *     it open: the control channel
 *
 * Anything missing ends the machine with a message on the console:
 * without its rootfs, its network or its channel a sandbox must not
 * half-run.  The machine ends by a reset (reboot(2) RB_AUTOBOOT): the
 * VMM, or QEMU with -no-reboot, takes that as the end.
 */
#include <sys/types.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "guest.h"
#include "vm.h"

#define STEP_MS		20
#define NOTE_MS		1000	/* say what we wait for after this long */

#define ilog_debug_vm(v, ...)	do { if (v) ilog(__VA_ARGS__); } while (0)

static int	 upperfd = -1;	/* the writable layer's ext4, for the end */

static void
sleep_step(void)
{
	struct timespec	 ts = { 0, STEP_MS * 1000000 };

	nanosleep(&ts, NULL);
}

static void
mnt(const char *src, const char *dst, const char *type, unsigned long fl,
    const char *data)
{
	(void)mkdir(dst, 0755);
	if (mount(src, dst, type, fl, data) == -1)
		ifatal("mount %s on %s (%s)", src, dst, type != NULL ? type :
		    "move");
}

static void
console_fds(void)
{
	int	 fd;

	for (fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) != -1)
			continue;
		if (open("/dev/console", O_RDWR | O_NOCTTY) != fd &&
		    open("/dev/null", O_RDWR) != fd)
			exit(1);
	}
}

/*
 * With console=hvc0 the console is there only once virtio_console is
 * loaded: take /dev/console again, it is the preferred console now.
 */
static void
console_again(void)
{
	int	 fd;

	if ((fd = open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1)
		return;
	(void)dup2(fd, 0);
	(void)dup2(fd, 1);
	(void)dup2(fd, 2);
	close(fd);
}

static void
load_modules(int verbose)
{
	FILE		*f;
	char		 line[256], path[300];
	size_t		 n;
	uint64_t	 t0 = now_ms();
	int		 fd, count = 0;

	if ((f = fopen(VM_MODLIST, "re")) == NULL) {
		ilog("%s: %s: no modules loaded", VM_MODLIST,
		    strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		n = strcspn(line, "\n");
		line[n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		if (strchr(line, '/') != NULL || line[0] == '.') {
			ilog("%s: bad module name \"%s\", skipped",
			    VM_MODLIST, line);
			continue;
		}
		snprintf(path, sizeof(path), "/lib/modules/%s", line);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
			ilog_warn("module %s", path);
			continue;
		}
		if (syscall(SYS_finit_module, fd, "", 0) == -1 &&
		    errno != EEXIST)
			ilog_warn("module %s", line);
		else
			count++;
		close(fd);
		/* the initramfs stays in memory: free what is done with */
		(void)unlink(path);
	}
	fclose(f);
	if (verbose)
		ilog("%d modules loaded in %llu ms", count,
		    (unsigned long long)(now_ms() - t0));
}

/* a device node to appear; 0 when it did */
static int
wait_path(const char *path, int timeout_s, const char *what)
{
	uint64_t	 t0 = now_ms();
	int		 noted = 0;

	while (access(path, F_OK) == -1) {
		if (now_ms() - t0 >= (uint64_t)timeout_s * 1000)
			return -1;
		if (!noted && now_ms() - t0 >= NOTE_MS) {
			ilog("waiting for %s (%s)", path, what);
			noted = 1;
		}
		sleep_step();
	}
	return 0;
}

static void
mount_root(const struct vmconf *vc)
{
	static const char *types[] = { "ext4", "erofs" };
	char		 opts[256];
	size_t		 i;
	int		 e = 0;

	if (wait_path("/dev/vda", vc->timeout_s, "the rootfs image") == -1)
		ifatalx("no /dev/vda (the rootfs image) after %d s: no "
		    "virtio-blk device, or virtio_mmio/virtio_blk did not "
		    "load", vc->timeout_s);
	(void)mkdir("/lens", 0755);
	(void)mkdir("/lens/lower", 0755);
	for (i = 0; i < 2; i++) {
		if (vc->rootfstype[0] != '\0' &&
		    strcmp(vc->rootfstype, types[i]) != 0)
			continue;
		if (mount("/dev/vda", "/lens/lower", types[i],
		    MS_RDONLY | MS_NODEV, NULL) == 0)
			break;
		e = errno;
	}
	if (i == 2) {
		errno = e;
		ifatal("mount /dev/vda read-only (%s)", vc->rootfstype[0] ?
		    vc->rootfstype : "ext4 or erofs");
	}

	if (access("/dev/vdb", F_OK) == 0) {
		mnt("/dev/vdb", "/lens/rw", "ext4", MS_NODEV, NULL);
		if ((upperfd = open("/lens/rw", O_PATH | O_DIRECTORY |
		    O_CLOEXEC)) == -1)
			ilog_warn("/lens/rw");
	} else
		mnt("tmpfs", "/lens/rw", "tmpfs", MS_NODEV, "mode=0755");
	if ((mkdir("/lens/rw/upper", 0755) == -1 && errno != EEXIST) ||
	    (mkdir("/lens/rw/work", 0755) == -1 && errno != EEXIST))
		ifatal("upper layer directories in /lens/rw");
	snprintf(opts, sizeof(opts), "lowerdir=/lens/lower,"
	    "upperdir=/lens/rw/upper,workdir=/lens/rw/work");
	mnt("overlay", "/lens/root", "overlay", 0, opts);

	/* the kernel's mounts go along; the initramfs stays behind */
	mnt("/proc", "/lens/root/proc", NULL, MS_MOVE, NULL);
	mnt("/sys", "/lens/root/sys", NULL, MS_MOVE, NULL);
	mnt("/dev", "/lens/root/dev", NULL, MS_MOVE, NULL);
	if (chdir("/lens/root") == -1)
		ifatal("chdir /lens/root");
	if (mount(".", "/", NULL, MS_MOVE, NULL) == -1)
		ifatal("move the rootfs onto /");
	if (chroot(".") == -1 || chdir("/") == -1)
		ifatal("chroot into the rootfs");
}

static void
resolv_conf(const struct vmconf *vc)
{
	char	 a[INET_ADDRSTRLEN];
	FILE	*f;

	inet_ntop(AF_INET, &vc->gw, a, sizeof(a));
	/* replaces a symlink too, never writes through it */
	(void)mkdir("/etc", 0755);
	if ((f = fopen("/etc/.resolv.conf.lens", "we")) == NULL) {
		ilog_warn("/etc/.resolv.conf.lens");
		return;
	}
	fprintf(f, "nameserver %s\n", a);
	if (fclose(f) == EOF || chmod("/etc/.resolv.conf.lens", 0644) == -1 ||
	    rename("/etc/.resolv.conf.lens", "/etc/resolv.conf") == -1)
		ilog_warn("/etc/resolv.conf");
}

/* the port named lens.control, once the host side is connected */
static int
ctl_open(const struct vmconf *vc)
{
	DIR		*d;
	struct dirent	*de;
	struct pollfd	 pfd;
	char		 path[300], name[64];
	uint64_t	 t0 = now_ms();
	ssize_t		 n;
	int		 fd = -1, nfd, noted = 0;

	for (;;) {
		if (fd == -1 && (d = opendir("/sys/class/virtio-ports")) !=
		    NULL) {
			while (fd == -1 && (de = readdir(d)) != NULL) {
				if (de->d_name[0] == '.')
					continue;
				snprintf(path, sizeof(path),
				    "/sys/class/virtio-ports/%s/name",
				    de->d_name);
				if ((nfd = open(path, O_RDONLY |
				    O_CLOEXEC)) == -1)
					continue;
				n = read(nfd, name, sizeof(name) - 1);
				close(nfd);
				if (n <= 0)
					continue;
				name[n] = '\0';
				name[strcspn(name, "\n")] = '\0';
				if (strcmp(name, VM_CTL_PORT) != 0)
					continue;
				snprintf(path, sizeof(path), "/dev/%s",
				    de->d_name);
				fd = open(path, O_RDWR | O_NONBLOCK |
				    O_CLOEXEC | O_NOCTTY);
				if (fd != -1)
					ilog_debug_vm(vc->verbose,
					    "control channel %s", path);
			}
			closedir(d);
		}
		if (fd != -1) {
			/* POLLHUP while the host has not opened it */
			pfd.fd = fd;
			pfd.events = POLLOUT;
			pfd.revents = 0;
			if (poll(&pfd, 1, 0) == 1 &&
			    !(pfd.revents & (POLLHUP | POLLERR)))
				return fd;
		}
		if (now_ms() - t0 >= (uint64_t)vc->timeout_s * 1000)
			break;
		if (!noted && now_ms() - t0 >= NOTE_MS) {
			ilog(fd == -1 ? "waiting for the virtio console port "
			    "named " VM_CTL_PORT : "waiting for the host to "
			    "open " VM_CTL_PORT);
			noted = 1;
		}
		sleep_step();
	}
	if (fd == -1)
		ifatalx("no virtio console port named %s after %d s "
		    "(the VMM gives it as port 1)", VM_CTL_PORT,
		    vc->timeout_s);
	ifatalx("the host did not open %s within %d s", VM_CTL_PORT,
	    vc->timeout_s);
}

int
vm_setup(int *verbose, const char *hostname)
{
	struct vmconf	 vc;
	char		 line[VM_CMDLINE_MAX + 1], err[256];
	ssize_t		 n;
	uint64_t	 t0 = now_ms();
	int		 fd;

	mnt("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mnt("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	    NULL);
	mnt("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
	console_fds();

	if ((fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC)) == -1 ||
	    (n = read(fd, line, sizeof(line))) == -1)
		ifatal("/proc/cmdline");
	close(fd);
	if (vmconf_parse(&vc, line, (size_t)n, err, sizeof(err)) == -1)
		ifatalx("kernel command line: %s", err);
	if (vc.verbose)
		*verbose = 1;
	vc.verbose = *verbose;
	ilog_debug_vm(vc.verbose, "microVM mode");

	load_modules(vc.verbose);
	console_again();
	mount_root(&vc);
	ilog_debug_vm(vc.verbose, "rootfs mounted, upper layer %s",
	    upperfd != -1 ? "/dev/vdb" : "tmpfs");

	if (vc.hostname[0] != '\0')
		hostname = vc.hostname;
	if (hostname != NULL && sethostname(hostname, strlen(hostname)) == -1)
		ilog_warn("sethostname %s", hostname);
	if (net_config(&vc, vc.timeout_s * 1000) == -1)
		ifatalx("network configuration failed");
	if (vc.has_gw)
		resolv_conf(&vc);

	fd = ctl_open(&vc);
	ilog_debug_vm(vc.verbose, "set up in %llu ms",
	    (unsigned long long)(now_ms() - t0));
	return fd;
}

void
vm_end(void)
{
	char	 path[64];

	sync();
	if (upperfd != -1) {
		/* a clean ext4 on /dev/vdb for whoever reads it next */
		(void)mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY, NULL);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", upperfd);
		if (mount(NULL, path, NULL, MS_REMOUNT | MS_RDONLY, NULL) ==
		    -1)
			ilog_warn("remount /dev/vdb read-only");
	}
	sync();
	(void)reboot(RB_AUTOBOOT);
	for (;;)
		pause();
}
