/*
 * lens-init: PID 1 of every sandbox.
 *
 *	lens-init [-mv] [-f fd] [-h hostname]
 *
 * Started by the kernel as the /init of a microVM (PID 1, no descriptor
 * 3), it first sets the machine up (vm.c) and takes the virtio console
 * port "lens.control" as its channel; at the end it resets the machine.
 *
 * It reaps every process of the sandbox, runs commands for the host
 * (exec.c) and speaks the agent protocol (common/lensinit_proto.h) on
 * the inherited control channel.  When the channel closes, on SHUTDOWN
 * or on SIGTERM it sends SIGTERM to every process, SIGKILL after the
 * grace period, waits for all of them and exits.
 *
 * Static, no libevent: one poll(2) loop, signals through a signalfd.
 */
#include <sys/types.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "guest.h"
#include "lensinit_proto.h"
#include "request.h"
#include "vm.h"

#define DEFAULT_GRACE_MS	5000	/* channel closed, or SIGTERM */
#define FLUSH_MS		5000	/* for the last messages, at the end */

static struct initctx	 ctx;
static int		 vmmode;	/* the /init of a microVM */

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: lens-init [-mv] [-f fd] [-h hostname]\n");
	exit(2);
}

static void
vlog(int err, const char *fmt, va_list ap)
{
	char	 buf[1024];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (err)
		fprintf(stderr, "lens-init: %s: %s\n", buf, strerror(err));
	else
		fprintf(stderr, "lens-init: %s\n", buf);
}

void
ilog(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(0, fmt, ap);
	va_end(ap);
}

void
ilog_warn(const char *fmt, ...)
{
	va_list	 ap;
	int	 e = errno;

	va_start(ap, fmt);
	vlog(e, fmt, ap);
	va_end(ap);
	errno = e;
}

void
ilog_debug(struct initctx *c, const char *fmt, ...)
{
	va_list	 ap;

	if (!c->verbose)
		return;
	va_start(ap, fmt);
	vlog(0, fmt, ap);
	va_end(ap);
}

void
ifatal(const char *fmt, ...)
{
	va_list	 ap;
	int	 e = errno;

	va_start(ap, fmt);
	vlog(e, fmt, ap);
	va_end(ap);
	if (vmmode)
		vm_end();
	exit(1);
}

void
ifatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(0, fmt, ap);
	va_end(ap);
	if (vmmode)
		vm_end();
	exit(1);
}

uint64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
ctl_close(struct initctx *c)
{
	if (c->ctl_dead)
		return;
	c->ctl_dead = 1;
	imsg_clear(&c->ibuf);
	close(c->ibuf.fd);
}

void
ctl_send(struct initctx *c, uint32_t type, uint32_t id, const void *data,
    size_t len)
{
	if (c->ctl_dead)
		return;
	if (imsg_compose(&c->ibuf, type, id, 0, -1, data, len) == -1)
		ilog_warn("cannot queue a message for the host");
}

int
ctl_backlogged(struct initctx *c)
{
	return !c->ctl_dead && c->ibuf.wqueued > LENSINIT_MAXQUEUED;
}

/* -m: what the host side of the jail backend does before exec'ing us */
static int
is_mountpoint(const char *path)
{
	struct stat	 a, b;
	char		 parent[256];

	snprintf(parent, sizeof(parent), "%s/..", path);
	if (stat(path, &a) == -1 || stat(parent, &b) == -1)
		return 0;
	return a.st_dev != b.st_dev || a.st_ino == b.st_ino;
}

static void
do_mounts(void)
{
	struct stat	 st;

	if (access("/proc/self/stat", F_OK) == -1) {
		(void)mkdir("/proc", 0555);
		if (mount("proc", "/proc", "proc",
		    MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == -1)
			ilog_warn("mount /proc");
	}
	if (access("/dev/null", F_OK) == -1) {
		(void)mkdir("/dev", 0755);
		if (mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID,
		    "mode=0755") == -1)
			ilog_warn("mount /dev");
	}
	(void)mkdir("/dev/pts", 0755);
	if (mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
	    "newinstance,ptmxmode=0666,mode=0620") == -1)
		ilog_warn("mount /dev/pts");
	if (lstat("/dev/ptmx", &st) == -1 && symlink("pts/ptmx",
	    "/dev/ptmx") == -1)
		ilog_warn("symlink /dev/ptmx");
	(void)mkdir("/tmp", 01777);
	if (!is_mountpoint("/tmp") && mount("tmpfs", "/tmp", "tmpfs",
	    MS_NOSUID | MS_NODEV, "mode=1777") == -1)
		ilog_warn("mount /tmp");
}

/* 0, 1 and 2 open, so that no descriptor of ours lands there */
static void
std_fds(void)
{
	int	 fd, p[2];

	for (fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) != -1)
			continue;
		if (open("/dev/null", O_RDWR) == fd)
			continue;
		if (pipe(p) == -1)
			exit(1);
		if (p[0] != fd)
			close(p[0]);
		if (p[1] != fd)
			close(p[1]);
	}
}

static void
kill_everything(struct initctx *c, int sig)
{
	/* kill(-1) from PID 1 spares PID 1 and reaches the whole sandbox */
	if (c->pid1)
		(void)kill(-1, sig);
	exec_killall(c, sig);
}

static uint64_t	 shutdown_at, killed_at;

static void
start_shutdown(struct initctx *c, uint32_t grace_ms, const char *why)
{
	if (c->shutting)
		return;
	ilog_debug(c, "shutting down (%s), grace %u ms", why, grace_ms);
	c->shutting = 1;
	shutdown_at = now_ms() + grace_ms;
	kill_everything(c, SIGTERM);
}

static void
reap(struct initctx *c, int *nochild)
{
	pid_t	 pid;
	int	 st;

	*nochild = 0;
	for (;;) {
		pid = waitpid(-1, &st, WNOHANG);
		if (pid == 0)
			return;
		if (pid == -1) {
			if (errno == EINTR)
				continue;
			*nochild = (errno == ECHILD);
			return;
		}
		if (!exec_reaped(c, pid, st))
			ilog_debug(c, "reaped orphan %d", (int)pid);
	}
}

static void
dispatch(struct initctx *c, struct imsg *im)
{
	struct init_signal	 sg;
	struct init_winsize	 ws;
	struct init_shutdown	 sd;
	const char		*bad;
	char			 err[256];
	uint32_t		 id = im->hdr.peerid;

	if (im->fd != -1) {
		ilog("message %#x from the host carries a descriptor, ignored",
		    im->hdr.type);
		return;
	}
	/* a malformed EXEC gets its ERROR from exec_start() */
	if (im->hdr.type != IMSG_INIT_EXEC &&
	    (bad = init_msg_check(im->hdr.type, im->datalen)) != NULL) {
		ilog("exec %u: %s (type %#x, %zu bytes), ignored", id, bad,
		    im->hdr.type, im->datalen);
		return;
	}
	switch (im->hdr.type) {
	case IMSG_INIT_EXEC:
		exec_start(c, id, im->data, im->datalen);
		break;
	case IMSG_INIT_STDIN:
		exec_stdin(c, id, im->data, im->datalen);
		break;
	case IMSG_INIT_STDIN_EOF:
		exec_stdin_eof(c, id);
		break;
	case IMSG_INIT_SIGNAL:
		memcpy(&sg, im->data, sizeof(sg));
		exec_signal(c, id, sg.sig);
		break;
	case IMSG_INIT_RESIZE:
		memcpy(&ws, im->data, sizeof(ws));
		exec_resize(c, id, ws.rows, ws.cols);
		break;
	case IMSG_INIT_CA:
		if (id != 0)
			ilog("CA for exec %u, ignored", id);
		else if (ca_install(im->data, im->datalen, err,
		    sizeof(err)) == -1)
			ilog("sandbox CA not installed: %s", err);
		else
			ilog_debug(c, "sandbox CA installed in %s and %s",
			    INIT_CA_BUNDLE, INIT_CA_FILE);
		break;
	case IMSG_INIT_SHUTDOWN:
		memcpy(&sd, im->data, sizeof(sd));
		start_shutdown(c, sd.grace_ms, "SHUTDOWN");
		break;
	}
}

static void
ctl_read(struct initctx *c)
{
	struct imsg	 im;
	ssize_t		 n;
	int		 r;

	n = imsg_read(&c->ibuf);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == -1 && errno != ECONNRESET)
		ilog_warn("control channel");
	if (n <= 0) {
		ctl_close(c);
		start_shutdown(c, DEFAULT_GRACE_MS, "control channel closed");
		return;
	}
	while (!c->ctl_dead && (r = imsg_get(&c->ibuf, &im)) != 0) {
		if (r == -1) {
			ilog_warn("control channel: bad frame");
			ctl_close(c);
			start_shutdown(c, DEFAULT_GRACE_MS, "bad frame");
			return;
		}
		dispatch(c, &im);
		imsg_free(&im);
	}
}

static void
ctl_write(struct initctx *c)
{
	if (c->ctl_dead || c->ibuf.wqueued == 0)
		return;
	if (imsg_write(&c->ibuf) == -1) {
		if (errno != EPIPE && errno != ECONNRESET)
			ilog_warn("control channel");
		ctl_close(c);
		start_shutdown(c, DEFAULT_GRACE_MS, "control channel closed");
	}
}

static void
on_signal(struct initctx *c, int sfd)
{
	struct signalfd_siginfo	 si;

	while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			break;		/* reap() runs every round */
		case SIGTERM:
		case SIGPWR:
			start_shutdown(c, DEFAULT_GRACE_MS, "SIGTERM");
			break;
		default:
			ilog_debug(c, "ignored signal %u", si.ssi_signo);
			break;
		}
	}
}

int
main(int argc, char *argv[])
{
	struct init_ready	 rd;
	struct pollfd		*pfd = NULL;
	struct pslot		*ps = NULL;
	sigset_t		 set;
	const char		*hostname = NULL;
	size_t			 n, room = 0, i;
	uint64_t		 now;
	int			 ch, fd = 3, mounts = 0, sfd;
	int			 nochild;
	int			 timeout, t;
	long			 l;
	char			*ep;

	/*
	 * The kernel started us (a microVM): PID 1, no channel on 3, no -f.
	 * Its leftover command line words in argv are not ours to parse.
	 */
	if (getpid() == 1 && fcntl(3, F_GETFD) == -1) {
		for (i = 1; i < (size_t)argc; i++)
			if (argv[i][0] == '-' && strchr(argv[i], 'f') != NULL)
				break;
		vmmode = i == (size_t)argc;
	}
	while (!vmmode && (ch = getopt(argc, argv, "f:h:mv")) != -1) {
		switch (ch) {
		case 'f':
			errno = 0;
			l = strtol(optarg, &ep, 10);
			if (*optarg == '\0' || *ep != '\0' || l < 0 ||
			    l > 65535)
				usage();
			fd = (int)l;
			break;
		case 'h':
			hostname = optarg;
			break;
		case 'm':
			mounts = 1;
			break;
		case 'v':
			ctx.verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (!vmmode && optind != argc)
		usage();

	if (vmmode) {
		fd = vm_setup(&ctx.verbose, hostname);
		for (i = 1; i < (size_t)argc; i++)
			ilog_debug(&ctx, "kernel command line word for init "
			    "ignored: %s", argv[i]);
		hostname = NULL;
		mounts = 1;
	}
	if (fcntl(fd, F_GETFD) == -1)
		ifatal("control channel fd %d", fd);
	std_fds();
	if (fd < 3) {
		/* keep the channel away from 0, 1, 2 */
		if ((ch = fcntl(fd, F_DUPFD_CLOEXEC, 3)) == -1)
			ifatal("dup");
		close(fd);
		if (open("/dev/null", O_RDWR) != fd)
			std_fds();
		fd = ch;
	}
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1 ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1)
		ifatal("control channel fd %d", fd);

	ctx.pid1 = getpid() == 1;
	/*
	 * Non-dumpable: the sandbox's root (no CAP_SYS_PTRACE) can then
	 * neither open /proc/1/fd nor take the control channel with
	 * pidfd_getfd(2).  What we start is dumpable again after its exec.
	 */
	if (prctl(PR_SET_DUMPABLE, 0) == -1)
		ifatal("PR_SET_DUMPABLE");
	if (!ctx.pid1 && prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		ilog_warn("PR_SET_CHILD_SUBREAPER");
	TAILQ_INIT(&ctx.children);
	imsg_init(&ctx.ibuf, fd);
	/* room for the flow-control limit plus what one round adds */
	ctx.ibuf.maxqueue = IMSG_DEFAULT_MAXQUEUE + LENSINIT_MAXQUEUED;

	if (mounts)
		do_mounts();
	if (hostname != NULL && sethostname(hostname, strlen(hostname)) == -1)
		/* EPERM: not in a UTS namespace of its own; go on */
		ilog_warn("sethostname %s", hostname);

	signal(SIGPIPE, SIG_IGN);
	signal(SIGTTIN, SIG_IGN);
	signal(SIGTTOU, SIG_IGN);
	signal(SIGTSTP, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGPWR);
	sigaddset(&set, SIGWINCH);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1 ||
	    (sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		ifatal("signalfd");

	memset(&rd, 0, sizeof(rd));
	rd.version = LENSINIT_PROTO_VERSION;
	ctl_send(&ctx, IMSG_INIT_READY, 0, &rd, sizeof(rd));
	ilog_debug(&ctx, "ready, pid %d", (int)getpid());

	for (;;) {
		ctl_write(&ctx);
		reap(&ctx, &nochild);
		timeout = exec_finish(&ctx);
		now = now_ms();
		if (ctx.shutting) {
			if (!killed_at && now >= shutdown_at) {
				ilog_debug(&ctx, "grace over, SIGKILL");
				kill_everything(&ctx, SIGKILL);
				killed_at = now;
			}
			if ((nochild || (!ctx.pid1 && exec_unreaped(&ctx) ==
			    0)) && exec_count(&ctx) == 0 &&
			    (ctx.ctl_dead || ctx.ibuf.wqueued == 0))
				break;
			if (killed_at && now >= killed_at + FLUSH_MS) {
				ilog("giving up on %zu processes",
				    exec_count(&ctx));
				break;
			}
			t = (int)((killed_at ? killed_at + FLUSH_MS :
			    shutdown_at) - now);
			if (timeout == -1 || t < timeout)
				timeout = t;
		}

		n = exec_count(&ctx) * 4 + 2;
		if (n > room) {
			struct pollfd	*np;
			struct pslot	*nps;

			if ((np = reallocarray(pfd, n, sizeof(*pfd))) == NULL)
				ifatal("poll set");
			pfd = np;
			if ((nps = reallocarray(ps, n, sizeof(*ps))) == NULL)
				ifatal("poll set");
			ps = nps;
			room = n;
		}
		pfd[0].fd = sfd;
		pfd[0].events = POLLIN;
		pfd[1].fd = ctx.ctl_dead ? -1 : ctx.ibuf.fd;
		pfd[1].events = POLLIN | (ctx.ibuf.wqueued > 0 ? POLLOUT : 0);
		pfd[0].revents = pfd[1].revents = 0;
		n = 2 + exec_pollfds(&ctx, pfd + 2, ps + 2, room - 2);

		if (poll(pfd, n, timeout) == -1) {
			if (errno == EINTR)
				continue;
			ifatal("poll");
		}
		if (pfd[0].revents & POLLIN)
			on_signal(&ctx, sfd);
		if (pfd[1].revents & POLLOUT)
			ctl_write(&ctx);
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))
			ctl_read(&ctx);
		for (i = 2; i < n; i++)
			if (pfd[i].revents != 0)
				exec_event(&ctx, &ps[i], pfd[i].revents);
	}
	if (!ctx.ctl_dead)
		(void)imsg_flush(&ctx.ibuf);
	ilog_debug(&ctx, "exit");
	if (vmmode)
		vm_end();
	return 0;
}
