/*
 * Forking and supervising the children of a Lens daemon.
 */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "privsep.h"
#include "proc.h"
#include "seccomp_filter.h"

void
proc_init(int argc, char **argv)
{
	setproctitle_init(argc, argv, environ);
}

void
proc_title(const char *fmt, ...)
{
	char	 buf[128];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	setproctitle("%s", buf);
}

void
proc_socketpair(int fds[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0, fds) == -1)
		fatal("socketpair");
}

void
proc_logpair(int lp[2])
{
	int	 sz = 256 * 1024;

	/* seqpacket: one record a line, and an end when the child ends */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, lp) == -1)
		fatal("socketpair for the log");
	/* the parent reads without blocking; a child never waits on it */
	if (fcntl(lp[0], F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(lp[1], F_SETFL, O_NONBLOCK) == -1)
		fatal("log channel");
	(void)setsockopt(lp[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
}

void
proc_child_stdio(int logfd)
{
	int	 fd;

	log_tofd(logfd);
	if ((fd = open("/dev/null", O_RDWR)) == -1)
		fatal("/dev/null");
	if (dup2(fd, STDIN_FILENO) == -1 || dup2(fd, STDOUT_FILENO) == -1)
		fatal("dup2 /dev/null");
#if !defined(__SANITIZE_ADDRESS__) && !defined(LENS_SANITIZE)
	/* the daemon's log (-d) is not the child's to write */
	if (dup2(fd, STDERR_FILENO) == -1)
		fatal("dup2 /dev/null");
#endif
	if (fd > STDERR_FILENO)
		close(fd);
}

static void
proc_log_event(int fd, short ev, void *arg)
{
	struct proc_child	*c = arg;

	(void)fd;
	(void)ev;
	/* at its end: nothing more to wait for */
	if (c->logfd != -1 && log_relay(c->logfd, c->name, (int)c->pid) ==
	    -1 && c->logev != NULL)
		event_del(c->logev);
}

void
proc_log_watch(struct proc_child *c)
{
	struct event	*ev;

	if (c->logfd == -1 || c->logev != NULL)
		return;
	if ((ev = calloc(1, sizeof(*ev))) == NULL)
		fatal("calloc");
	event_set(ev, c->logfd, EV_READ | EV_PERSIST, proc_log_event, c);
	if (event_add(ev, NULL) == -1)
		fatal("event_add");
	c->logev = ev;
}

void
proc_log_relay(struct proc_child *c)
{
	if (c->logfd != -1)
		log_relay(c->logfd, c->name, (int)c->pid);
}

void
proc_log_fork(struct proc_child *c)
{
	struct pollfd	 pfd;
	pid_t		 pid;

	switch ((pid = fork())) {
	case -1:
		fatal("fork the log relay of %s", c->name);
	case 0:
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		pfd.fd = c->logfd;
		pfd.events = POLLIN;
		for (;;) {
			if (poll(&pfd, 1, -1) == -1 && errno != EINTR)
				_exit(1);
			if (log_relay(c->logfd, c->name, (int)c->pid) == -1)
				_exit(0);
		}
	}
	close(c->logfd);
	c->logfd = -1;
}

void
proc_log_unwatch(struct proc_child *c)
{
	if (c->logev != NULL) {
		event_del(c->logev);
		free(c->logev);
		c->logev = NULL;
	}
	if (c->logfd != -1)
		close(c->logfd);
	c->logfd = -1;
}

static int
kept(int fd, const int *keepfds)
{
	if (keepfds == NULL)
		return 0;
	for (; *keepfds != -1; keepfds++)
		if (*keepfds == fd)
			return 1;
	return 0;
}

static void
close_others(int keep, int keep2, const int *keepfds)
{
	int	 fd, max;

	max = (int)sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536)
		max = 65536;
	for (fd = STDERR_FILENO + 1; fd < max; fd++)
		if (fd != keep && fd != keep2 && !kept(fd, keepfds))
			(void)close(fd);
}

void
proc_fork(struct proc_child *c, int (*run)(int, void *), void *arg,
    const int *keepfds)
{
	sigset_t	 all, old;
	int		 sp[2], lp[2];
	void		*page;
	pid_t		 pid;

	page = mmap(NULL, sizeof(int32_t), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		fatal("mmap");
	c->sigsys = page;
	*c->sigsys = -1;
	proc_socketpair(sp);
	proc_logpair(lp);

	/*
	 * Signals wait until the child has its own dispositions: one that
	 * came before would run the parent's handler in the child, which
	 * hands it to the parent's event loop (libevent's socket pair) and
	 * the child never sees it (a SIGTERM right after start was lost
	 * so, and the child outlived its parent's shutdown).
	 */
	sigfillset(&all);
	if (sigprocmask(SIG_BLOCK, &all, &old) == -1)
		fatal("sigprocmask");
	switch ((pid = fork())) {
	case -1:
		fatal("fork %s", c->name);
	case 0:
		log_procinit(c->name);
		close(sp[0]);
		close(lp[0]);
		close_others(sp[1], lp[1], keepfds);
		proc_child_stdio(lp[1]);
		sandbox_report_to(c->sigsys);
		/*
		 * The parent decides when its children stop (SIGTERM);
		 * a ^C or hangup sent to the whole group is the parent's.
		 */
		signal(SIGCHLD, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_IGN);
		signal(SIGINT, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		if (sigprocmask(SIG_SETMASK, &old, NULL) == -1)
			fatal("sigprocmask");
		_exit(run(sp[1], arg));
	}
	if (sigprocmask(SIG_SETMASK, &old, NULL) == -1)
		fatal("sigprocmask");
	close(sp[1]);
	close(lp[1]);
	c->pid = pid;
	c->fd = sp[0];
	c->status = 0;
	c->logfd = lp[0];
	c->logev = NULL;
}

const char *
proc_status(const struct proc_child *c)
{
	static char	 buf[160];
	const char	*sig;
	int		 st = c->status;

	if (WIFEXITED(st)) {
		snprintf(buf, sizeof(buf), "exited with status %d",
		    WEXITSTATUS(st));
		return buf;
	}
	if (!WIFSIGNALED(st)) {
		snprintf(buf, sizeof(buf), "ended with wait status %#x", st);
		return buf;
	}
	if ((sig = sigabbrev_np(WTERMSIG(st))) == NULL)
		sig = "?";
	if (WTERMSIG(st) == SIGSYS && c->sigsys != NULL && *c->sigsys >= 0)
		snprintf(buf, sizeof(buf),
		    "killed by SIGSYS: forbidden syscall %s (%d)",
		    sandbox_syscall_name(*c->sigsys), (int)*c->sigsys);
	else
		snprintf(buf, sizeof(buf), "killed by SIG%s (signal %d)", sig,
		    WTERMSIG(st));
	return buf;
}

int
proc_reap(struct proc_child *c, size_t n, int *abnormal)
{
	pid_t	 pid;
	int	 st, reaped = 0;
	size_t	 i;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (i = 0; i < n; i++) {
			if (c[i].pid != pid)
				continue;
			/* its last words first, then how it ended */
			proc_log_relay(&c[i]);
			c[i].pid = 0;
			c[i].status = st;
			reaped++;
			if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
				log_info("%s (pid %d) %s", c[i].name, (int)pid,
				    proc_status(&c[i]));
			else {
				*abnormal = 1;
				log_warnx("%s (pid %d) %s", c[i].name,
				    (int)pid, proc_status(&c[i]));
			}
		}
	}
	return reaped;
}

void
proc_kill_all(struct proc_child *c, size_t n, int sig)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (c[i].pid > 0 && kill(c[i].pid, sig) == -1 &&
		    errno != ESRCH)
			log_warn("kill %s (pid %d)", c[i].name, (int)c[i].pid);
}

void
proc_signals(void (*cb)(int, short, void *), void *arg)
{
	static struct event	 ev[4];
	static const int	 sigs[4] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD };
	size_t			 i;

	for (i = 0; i < 4; i++) {
		signal_set(&ev[i], sigs[i], cb, arg);
		if (signal_add(&ev[i], NULL) == -1)
			fatal("signal_add %s", sigabbrev_np(sigs[i]));
	}
	signal(SIGPIPE, SIG_IGN);
}

static void	(*watch_stop)(void);

static void
watch_parent(int fd, short event, void *arg)
{
	char	 buf[64];

	(void)event;
	(void)arg;
	if (read(fd, buf, sizeof(buf)) == -1 && errno == EAGAIN)
		return;
	if (watch_stop != NULL)
		watch_stop();
	fatalx("parent went away");
}

static void
watch_term(int sig, short event, void *arg)
{
	(void)sig;
	(void)event;
	(void)arg;
	if (watch_stop != NULL)
		watch_stop();
	log_debug("SIGTERM: stopping");
	exit(0);
}

void
proc_watch_parent(int parentfd, void (*stop)(void))
{
	static struct event	 ev_parent, ev_term;

	watch_stop = stop;
	signal_set(&ev_term, SIGTERM, watch_term, NULL);
	signal_add(&ev_term, NULL);
	event_set(&ev_parent, parentfd, EV_READ | EV_PERSIST, watch_parent,
	    NULL);
	event_add(&ev_parent, NULL);
}

static struct {
	struct proc_child	*c;
	struct event		*ev;
	size_t			 n, nstop;
	int			 stopping, status;
} sup;

static void
sup_stop(void)
{
	if (sup.stopping)
		return;
	sup.stopping = 1;
	proc_kill_all(sup.c, sup.nstop, SIGTERM);
}

static void
sup_sig(int sig, short ev, void *arg)
{
	int	 abnormal = 0;
	size_t	 i;

	(void)ev;
	(void)arg;
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		log_info("shutting down on SIG%s", sigabbrev_np(sig));
		sup_stop();
		break;
	case SIGHUP:
		log_info("SIGHUP: nothing to reload");
		break;
	case SIGCHLD:
		proc_reap(sup.c, sup.n, &abnormal);
		if (abnormal) {
			sup.status = 1;
			sup.stopping = 1;
			proc_kill_all(sup.c, sup.n, SIGTERM);
		} else
			sup_stop();
		for (i = 0; i < sup.n; i++)
			if (sup.c[i].pid != 0)
				return;
		event_loopexit(NULL);
		break;
	}
}

static void
sup_child_fd(int fd, short ev, void *arg)
{
	struct proc_child	*c = arg;
	char			 buf[256];
	ssize_t			 n;

	(void)ev;
	n = read(fd, buf, sizeof(buf));
	if (n == -1 && errno == EAGAIN)
		return;
	if (n > 0) {
		log_warnx("unexpected bytes from %s", c->name);
		return;
	}
	/* the child is gone or going; SIGCHLD tells how */
	event_del(&sup.ev[c - sup.c]);
}

int
proc_supervise(struct proc_child *c, size_t n, size_t nstop,
    void (*ready)(void *), void *arg)
{
	size_t	 i;

	sup.c = c;
	sup.n = n;
	sup.nstop = nstop;
	if ((sup.ev = calloc(n, sizeof(*sup.ev))) == NULL)
		fatal("calloc");
	if (event_init() == NULL)
		fatalx("event_init");
	proc_signals(sup_sig, NULL);
	for (i = 0; i < n; i++) {
		proc_log_watch(&c[i]);
		event_set(&sup.ev[i], c[i].fd, EV_READ | EV_PERSIST,
		    sup_child_fd, &c[i]);
		event_add(&sup.ev[i], NULL);
	}
	ready(arg);
	event_dispatch();
	free(sup.ev);
	return sup.status;
}

int
proc_start(const struct proc_role *r, const struct privsep_user *u,
    pid_t parent, void *arg)
{
	if (r->preinit != NULL)
		r->preinit(arg);
	privsep_drop(r->root, u, r->caps, r->ncaps);
	/* after the uid change, which cleared it */
	privsep_pdeathsig(parent);
	proc_title("%s", r->title != NULL ? r->title : r->name);
	if (event_init() == NULL)
		fatalx("%s: event_init", r->name);
	if (r->init != NULL)
		r->init(arg);
	if (r->filter != NULL)
		r->filter(arg);
	else
		sandbox_apply(r->name, r->syscalls, r->nsyscalls);
	event_dispatch();
	return 1;
}

const struct proc_msg *
proc_msg_check(const char *peer, const struct proc_msg *msgs, size_t n,
    const struct imsg *im)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (msgs[i].type != im->hdr.type)
			continue;
		if (im->fd != -1 && !msgs[i].fd) {
			log_warnx("%s: bad message %#x (%zu bytes): a "
			    "descriptor it does not carry", peer, im->hdr.type,
			    im->datalen);
			return NULL;
		}
		if (im->datalen >= msgs[i].min && im->datalen <= msgs[i].max)
			return &msgs[i];
		if (msgs[i].min == msgs[i].max)
			log_warnx("%s: bad message %#x (%zu bytes): its size "
			    "is %zu", peer, im->hdr.type, im->datalen,
			    msgs[i].min);
		else
			log_warnx("%s: bad message %#x (%zu bytes): its size "
			    "is %zu to %zu", peer, im->hdr.type, im->datalen,
			    msgs[i].min, msgs[i].max);
		return NULL;
	}
	log_warnx("%s: bad message %#x (%zu bytes): unknown type", peer,
	    im->hdr.type, im->datalen);
	return NULL;
}

static void
proc_chan_lost(struct proc_chan *ch, const char *why)
{
	if (ch->iev.events != 0)
		event_del(&ch->iev.ev);
	ch->iev.events = 0;
	if (ch->lost == NULL)
		fatalx("%s: %s", ch->peer, why);
	ch->lost(ch, why);
}

static void
proc_dispatch(int fd, short event, void *arg)
{
	struct proc_chan	*ch = arg;
	const struct proc_msg	*m;
	struct imsg		 im;
	ssize_t			 n;
	int			 rc, left = 0;

	(void)fd;
	if (event & EV_WRITE) {
		if (imsg_write(&ch->iev.ibuf) == -1 && errno != EAGAIN) {
			if (errno != EPIPE) {
				proc_chan_lost(ch, "write failed");
				return;
			}
			/* the peer left: what it sent before still counts */
			left = 1;
			event |= EV_READ;
		} else if (ch->wrote != NULL) {
			ch->wrote(ch->arg);
			/* it closed the channel */
			if (ch->iev.ibuf.fd == -1)
				return;
		}
	}
	if (event & EV_READ) {
		do {
			n = imsg_read(&ch->iev.ibuf);
			if (n == -1 && errno == EAGAIN)
				break;
			if (n == -1) {
				proc_chan_lost(ch, "read failed");
				return;
			}
			while ((rc = imsg_get(&ch->iev.ibuf, &im)) == 1) {
				if ((m = proc_msg_check(ch->peer, ch->msgs,
				    ch->nmsgs, &im)) == NULL) {
					if (ch->refused != NULL &&
					    ch->refused(&im, ch->arg)) {
						imsg_free(&im);
						continue;
					}
					imsg_free(&im);
					proc_chan_lost(ch, "bad message");
					return;
				}
				m->handler(&im, ch->arg);
				imsg_free(&im);
				/* the handler refused it: lost() may free ch */
				if (ch->failed != NULL) {
					proc_chan_lost(ch, ch->failed);
					return;
				}
				/* the handler closed the channel */
				if (ch->iev.ibuf.fd == -1)
					return;
			}
			if (rc == -1) {
				proc_chan_lost(ch, "malformed frame");
				return;
			}
			if (n == 0) {
				if (ch->done != NULL)
					ch->done(ch->arg);
				proc_chan_lost(ch, "gone");
				return;
			}
		} while (ch->more != NULL && ch->more(ch->arg));
		if (ch->done != NULL)
			ch->done(ch->arg);
	}
	if (left) {
		proc_chan_lost(ch, "gone");
		return;
	}
	imsgev_add(&ch->iev);
}

void
proc_chan_init(struct proc_chan *ch, int fd, const char *peer,
    const struct proc_msg *msgs, size_t nmsgs, void *arg)
{
	ch->peer = peer;
	ch->msgs = msgs;
	ch->nmsgs = nmsgs;
	ch->arg = arg;
	ch->failed = NULL;
	imsgev_init(&ch->iev, fd, proc_dispatch, ch);
}

void
proc_chan_fail(struct proc_chan *ch, const char *why)
{
	if (ch->failed == NULL)
		ch->failed = why;
}
