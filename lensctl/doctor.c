/*
 * lensctl doctor: can this host run Lens, and is it running?
 *
 *	lensctl doctor [-s socket] [-a socket] [-n socket] [-k socket]
 *	    [-g guestdir] [-D statedir] [-P pubkey] [-S sbindir]
 *
 * (also lensctl system doctor)
 *
 * One line per check, "ok", "warn" or "FAIL", with what was found and,
 * for a warning or a failure, the fix.  Exit 1 when something required
 * is missing (user namespaces, a cgroup hierarchy, lensvmm's socket),
 * else 0.  Warnings do not change the status: the microVM backend (the
 * jail is used without it), nftables and lensnetd (sandboxes without a
 * network), lenscredd, overlayfs, a full state directory.
 *
 * Each daemon's version: the running one (the binary of the process
 * behind its socket, SO_PEERCRED's pid, asked with -V; readable for
 * root only, and run only when the peer is root or this user) and the
 * installed one (sbindir/NAME -V); either one not
 * lensctl's own is a warning.
 *
 * The microVM probe is lensvmm's own (lensvmm/probe.c), so that doctor
 * and lensvmm's `auto' cannot disagree.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain.h"
#include "lensctl.h"
#include "unixsock.h"
#include "version.h"

/* lensvmm/probe.c */
int	probe_kvm(const char *, char *, size_t);
int	probe_cpuinfo(const char *, const char **, char *, size_t);
int	probe_guest(const char *, char *, size_t);

#ifndef VMM_PREFIX
#define VMM_PREFIX	"/usr/local"
#endif

static int	doctor_main(int, char **);

static const struct lensctl_cmd system_cmds[] = {
	{ "doctor", doctor_main, "[-s socket] [-a socket] [-n socket] "
	    "[-k socket] [-g guestdir] [-D statedir] [-P pubkey] [-S sbindir]",
	    "check what this host can run and what of Lens is running" },
	{ NULL, NULL, NULL, NULL }
};

const struct lensctl_group system_group = { "system", system_cmds,
    "this host (also top-level: lensctl doctor)" };

struct doctor {
	int	 fails, warns;
};

static void
say(struct doctor *d, int level, const char *what, const char *fix,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* level 0 ok, 1 warn, 2 FAIL */
static void
say(struct doctor *d, int level, const char *what, const char *fix,
    const char *fmt, ...)
{
	va_list	 ap;

	printf("%-5s %-14s ", level == 0 ? "ok" : level == 1 ? "warn" :
	    "FAIL", what);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (level > 0 && fix != NULL)
		printf("      %-14s fix: %s\n", "", fix);
	if (level == 1)
		d->warns++;
	else if (level == 2)
		d->fails++;
}

static void
check_backend(struct doctor *d, const char *guestdir)
{
	const char	*which = NULL;
	char		 why[512];
	int		 c;

	if (probe_kvm("/dev/kvm", why, sizeof(why)) == -1) {
		say(d, 1, "backend", "load kvm_intel or kvm_amd (or enable "
		    "nested virtualisation) and give group lens /dev/kvm; "
		    "sandboxes use the jail meanwhile",
		    "jail (microvm unavailable: %s)", why);
		return;
	}
	if ((c = probe_cpuinfo("/proc/cpuinfo", &which, why,
	    sizeof(why))) != 1) {
		say(d, 1, "backend", "a host with vmx or svm; a /dev/kvm "
		    "without them (PVM) cannot boot the guest kernel",
		    "jail (/dev/kvm without vmx or svm: PVM or software "
		    "KVM%s%s)", c == -1 ? ": " : "", c == -1 ? why : "");
		return;
	}
	if (probe_guest(guestdir, why, sizeof(why)) == -1) {
		say(d, 1, "backend", "make guest && make install",
		    "jail (KVM with %s, but %s)", which, why);
		return;
	}
	say(d, 0, "backend", NULL, "microvm (KVM with %s, guest %s)", which,
	    guestdir);
}

static void
check_cgroup(struct doctor *d)
{
	struct stat	 st;

	if (stat("/sys/fs/cgroup/cgroup.controllers", &st) == 0)
		say(d, 0, "cgroup", NULL, "v2 (/sys/fs/cgroup)");
	else if (stat("/sys/fs/cgroup/memory", &st) == 0 &&
	    stat("/sys/fs/cgroup/pids", &st) == 0)
		say(d, 0, "cgroup", NULL, "v1 (memory, pids controllers)");
	else
		say(d, 2, "cgroup", "mount cgroup2 on /sys/fs/cgroup "
		    "(systemd does by default)", "no cgroup v2 nor v1 "
		    "memory and pids controllers in /sys/fs/cgroup");
}

/* the first line of a small file, or -1 */
static int
read_line(const char *path, char *buf, size_t len)
{
	FILE	*fp;

	if ((fp = fopen(path, "re")) == NULL)
		return -1;
	if (fgets(buf, len, fp) == NULL) {
		fclose(fp);
		return -1;
	}
	fclose(fp);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static void
check_userns(struct doctor *d)
{
	char	 v[64];

	if (read_line("/proc/sys/user/max_user_namespaces", v,
	    sizeof(v)) == 0 && strcmp(v, "0") == 0) {
		say(d, 2, "user-ns", "sysctl -w user.max_user_namespaces="
		    "15000", "user.max_user_namespaces is 0");
		return;
	}
	if (read_line("/proc/self/ns/user", v, sizeof(v)) == -1 &&
	    access("/proc/self/ns/user", F_OK) == -1) {
		say(d, 2, "user-ns", "a kernel with CONFIG_USER_NS",
		    "this kernel has no user namespaces");
		return;
	}
	say(d, 0, "user-ns", NULL, "available");
}

/* is name a filesystem of /proc/filesystems or a module here */
static int
has_fs(const char *name)
{
	FILE	*fp;
	char	 line[128], *p;
	int	 found = 0;

	if ((fp = fopen("/proc/filesystems", "re")) == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		p = strrchr(line, '\t');
		found = strcmp(p != NULL ? p + 1 : line, name) == 0;
	}
	fclose(fp);
	return found;
}

/*
 * Does nf_tables answer a NFT_MSG_GETGEN on netlink?  0 yes, EPERM
 * cannot tell (no CAP_NET_ADMIN), else an errno: it is not there.
 * Built-in nf_tables leaves no trace in /sys/module; asking is sure.
 */
static int
nftables_probe(void)
{
	struct {
		struct nlmsghdr	 nh;
		struct nfgenmsg	 nf;
	} req;
	struct sockaddr_nl	 sa;
	struct timeval		 tv = { 2, 0 };
	union {
		struct nlmsghdr	 nh;
		uint8_t		 b[4096];
	} ans;
	struct nlmsgerr		*e;
	ssize_t			 n;
	int			 fd, rc = EIO;

	if ((fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC,
	    NETLINK_NETFILTER)) == -1)
		return errno;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = sizeof(req);
	req.nh.nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.nh.nlmsg_seq = 1;
	req.nf.nfgen_family = AF_UNSPEC;
	req.nf.version = NFNETLINK_V0;
	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&sa,
	    sizeof(sa)) == -1) {
		rc = errno;
		goto done;
	}
	if ((n = recv(fd, &ans, sizeof(ans), 0)) < (ssize_t)sizeof(ans.nh)) {
		rc = n == -1 ? errno : EIO;
		goto done;
	}
	if (ans.nh.nlmsg_type == NLMSG_ERROR) {
		e = NLMSG_DATA(&ans.nh);
		rc = (size_t)n >= NLMSG_LENGTH(sizeof(*e)) ? -e->error : EIO;
	} else
		rc = 0;		/* the generation: nf_tables is there */
 done:
	close(fd);
	return rc;
}

static void
check_kernel_features(struct doctor *d)
{
	struct stat	 st;

	if (has_fs("overlay") || stat("/sys/module/overlay", &st) == 0)
		say(d, 0, "overlayfs", NULL, "available");
	else
		say(d, 1, "overlayfs", "modprobe overlay",
		    "not in /proc/filesystems (image layers need it)");
	switch (nftables_probe()) {
	case 0:
		say(d, 0, "nftables", NULL, "nf_tables answers");
		break;
	case EPERM:
		say(d, 1, "nftables", "run lensctl doctor as root to check",
		    "cannot tell without CAP_NET_ADMIN");
		break;
	default:
		say(d, 1, "nftables", "modprobe nf_tables (lensnetd loads "
		    "its rules through it; without it sandboxes get no "
		    "network)", "nf_tables does not answer");
	}
}

#define VERSION_TIMEOUT_MS	5000

/*
 * "NAME VERSION" from `binary -V' into ver; -1 (ver says why) when it
 * does not run, is slow or answers something else
 */
static int
ask_version(const char *binary, const char *name, char *ver, size_t verlen)
{
	char		 buf[128], *sp;
	struct pollfd	 pfd;
	size_t		 n = 0;
	ssize_t		 r;
	pid_t		 pid;
	int		 p[2], st, rc = -1;

	if (access(binary, X_OK) == -1) {
		snprintf(ver, verlen, "%s: %s", binary, strerror(errno));
		return -1;
	}
	if (pipe2(p, O_CLOEXEC) == -1) {
		snprintf(ver, verlen, "pipe: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) == -1) {
		snprintf(ver, verlen, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		int	 null = open("/dev/null", O_RDWR);

		if (dup2(p[1], STDOUT_FILENO) == -1 || (null != -1 &&
		    (dup2(null, STDIN_FILENO) == -1 ||
		    dup2(null, STDERR_FILENO) == -1)))
			_exit(127);
		execl(binary, name, "-V", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	pfd.fd = p[0];
	pfd.events = POLLIN;
	while (n < sizeof(buf) - 1) {
		if (poll(&pfd, 1, VERSION_TIMEOUT_MS) != 1)
			break;
		if ((r = read(p[0], buf + n, sizeof(buf) - 1 - n)) <= 0)
			break;
		n += (size_t)r;
	}
	close(p[0]);
	(void)kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if ((sp = strchr(buf, ' ')) != NULL && (size_t)(sp - buf) ==
	    strlen(name) && strncmp(buf, name, sp - buf) == 0 &&
	    sp[1] != '\0' && strlen(sp + 1) < 32 &&
	    strspn(sp + 1, "0123456789.-abcdefghijklmnopqrstuvwxyz") ==
	    strlen(sp + 1)) {
		snprintf(ver, verlen, "%s", sp + 1);
		rc = 0;
	} else
		snprintf(ver, verlen, "%s -V answered no version", binary);
	return rc;
}

/*
 * a daemon's socket: connect; required ones FAIL.  Then the versions
 * of the daemon behind it and of the installed binary.
 */
static void
check_socket(struct doctor *d, const char *what, const char *path,
    int required, const char *fix, const char *sbindir)
{
	struct ucred	 uc;
	socklen_t	 ulen = sizeof(uc);
	char		 exe[64], inst[PATH_MAX], run[160], ins[160];
	char		 line[400];
	int		 fd, rok, iok, level = 0;

	if ((fd = unixsock_connect(path, SOCK_CLOEXEC)) == -1) {
		say(d, required ? 2 : 1, what, fix, "%s: %s", path,
		    strerror(errno));
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &ulen) == -1)
		uc.pid = 0;
	close(fd);
	/* the running binary: /proc/PID/exe (root can exec it) */
	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)uc.pid);
	if (uc.pid <= 0) {
		rok = -1;
		snprintf(run, sizeof(run), "no peer pid");
	} else if (uc.uid != 0 && uc.uid != geteuid()) {
		/* never run a binary another user chose */
		rok = -1;
		snprintf(run, sizeof(run), "not asked: the socket is uid "
		    "%u's", (unsigned)uc.uid);
	} else
		rok = ask_version(exe, what, run, sizeof(run));
	snprintf(inst, sizeof(inst), "%s/%s", sbindir, what);
	iok = ask_version(inst, what, ins, sizeof(ins));
	if (rok == 0 && iok == 0)
		snprintf(line, sizeof(line), "version %s, installed %s", run,
		    ins);
	else if (rok == 0)
		snprintf(line, sizeof(line), "version %s (installed: %s)",
		    run, ins);
	else if (iok == 0)
		snprintf(line, sizeof(line), "installed version %s (running: "
		    "%s)", ins, run);
	else
		snprintf(line, sizeof(line), "version unknown (%s; %s)", run,
		    ins);
	if ((rok == 0 && strcmp(run, LENS_VERSION) != 0) ||
	    (iok == 0 && strcmp(ins, LENS_VERSION) != 0) ||
	    (rok == -1 && iok == -1))
		level = 1;
	say(d, level, what, level ? "install this version of Lens everywhere "
	    "(make install) and restart the daemon" : NULL,
	    "%s: accepting connections, %s%s%s", path, line,
	    level ? ", lensctl " : "", level ? LENS_VERSION : "");
}

static void
check_auditkey(struct doctor *d, const char *pub)
{
	uint8_t	 pk[32];
	char	 keyid[CHAIN_KEYIDLEN + 1], err[512];

	if (chain_pubkey_read(pub, pk, err, sizeof(err)) == -1) {
		say(d, 1, "audit-key", "start lensauditd once (it installs "
		    "its key with -P)", "%s", err);
		return;
	}
	chain_keyid(pk, keyid);
	say(d, 0, "audit-key", NULL, "%s: fingerprint %s", pub, keyid);
}

static void
check_space(struct doctor *d, const char *dir)
{
	struct statvfs	 sv;
	unsigned long long avail;

	if (statvfs(dir, &sv) == -1) {
		say(d, 1, "space", "install Lens (make install) or name the "
		    "state directory with -D", "%s: %s", dir,
		    strerror(errno));
		return;
	}
	avail = (unsigned long long)sv.f_bavail * sv.f_frsize;
	say(d, avail < 512ULL * 1024 * 1024 ? 1 : 0, "space",
	    "free space on the filesystem of the state directory",
	    "%s: %llu MiB free of %llu MiB", dir, avail >> 20,
	    ((unsigned long long)sv.f_blocks * sv.f_frsize) >> 20);
}

static int
doctor_main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "socket",	required_argument,	NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	struct doctor	 d;
	const char	*vmm = getenv("LENS_VMM_SOCKET");
	const char	*netd = "/run/lens/lensnetd.sock";
	const char	*credd = "/run/lens/lenscredd.sock";
	const char	*auditd = "/run/lens/lensauditd.sock";
	const char	*guest = VMM_PREFIX "/share/lens/guest";
	const char	*state = "/var/lib/lens", *pub = CHAIN_TRUSTED_PUB;
	const char	*sbindir = VMM_PREFIX "/sbin";
	int		 ch;

	if (vmm == NULL || *vmm == '\0')
		vmm = "/run/lens/lensvmm.sock";
	while ((ch = getopt_long(argc, argv, "a:D:g:k:n:P:S:s:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'a':
			auditd = optarg;
			break;
		case 'D':
			state = optarg;
			break;
		case 'g':
			guest = optarg;
			break;
		case 'k':
			credd = optarg;
			break;
		case 'n':
			netd = optarg;
			break;
		case 'P':
			pub = optarg;
			break;
		case 's':
			vmm = optarg;
			break;
		case 'S':
			sbindir = optarg;
			break;
		default:
			return lensctl_usage(&system_group, "doctor");
		}
	}
	if (optind != argc)
		return lensctl_usage(&system_group, "doctor");
	memset(&d, 0, sizeof(d));
	printf("lensctl %s\n", LENS_VERSION);
	check_backend(&d, guest);
	check_cgroup(&d);
	check_userns(&d);
	check_kernel_features(&d);
	check_socket(&d, "lensvmm", vmm, 1, "start lensvmm (systemctl start "
	    "lensvmm), or name its socket with -s", sbindir);
	check_socket(&d, "lensauditd", auditd, 1, "start lensauditd "
	    "(systemctl start lensauditd), or name its socket with -a",
	    sbindir);
	check_socket(&d, "lensnetd", netd, 0, "start lensnetd (systemctl "
	    "start lensnetd): without it sandboxes have no network", sbindir);
	check_socket(&d, "lenscredd", credd, 0, "start lenscredd (systemctl "
	    "start lenscredd): without it no credential is injected",
	    sbindir);
	check_auditkey(&d, pub);
	check_space(&d, state);
	printf("%d failed, %d warning%s\n", d.fails, d.warns,
	    d.warns == 1 ? "" : "s");
	if (fflush(stdout) != 0) {
		warn("standard output");
		return LENSCTL_FAIL;
	}
	return d.fails > 0 ? LENSCTL_FAIL : LENSCTL_OK;
}
