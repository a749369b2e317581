/*
 * The jail process of one sandbox.  Forked by the parent as root, it
 * sets the sandbox up (jail.c), then becomes the sandbox's host root uid
 * in an empty chroot with no capabilities and an allow-list seccomp
 * filter.  From then on it holds the lens-init channel (whose frames
 * are hostile), relays the attach streams of lensctl connections the
 * parent passes it, writes the console log, and reports how the
 * sandbox ended.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsgev.h"
#include "log.h"
#include "lensvmm.h"
#include "privsep.h"
#include "seccomp_filter.h"

#define CLIENT_HIGHWATER	(1024 * 1024)
#define CLIENT_LOWWATER		(256 * 1024)

struct exec {
	TAILQ_ENTRY(exec)	 entry;
	uint32_t		 id;
	int			 main;
	int			 attached;	/* client connection open */
	struct proc_chan	 client;
	char			 peer[32];	/* "exec ID client" */
	int			 done;		/* EXIT or ERROR from init */
	int			 closing;	/* close once flushed */
	struct ctl_exit		 exit;
	int			 failed;
	struct ctl_error	 error;
};

static TAILQ_HEAD(, exec) execs = TAILQ_HEAD_INITIALIZER(execs);
static struct jail_conf	*conf;
static struct proc_chan	 parent, init;
static struct event	 ev_console, ev_chld, ev_ready, ev_kill, ev_exit;
static struct event	 ev_netd;
static pid_t		 initpid;
static int		 ready, ending, ended, finishing, init_paused;
/* lens-init reaped, its status; its channel is read to the end first */
#define INIT_DRAIN_MS	2000
static int		 init_reaped, init_status;
static struct event	 ev_drain;
static void		 sandbox_ended(int);
static uint64_t		 console_written;
static struct ctl_exit	 sandbox_exit;
static int		 main_done;
static struct ctl_exit	 main_exit;
static char		 protocol_error[256];

static const struct sandbox_syscall jail_syscalls[] = {
	SB_ALLOW(read), SB_ALLOW(write), SB_ALLOW(writev), SB_ALLOW(close), SB_ALLOW(recvmsg),
	SB_ALLOW(sendmsg), SB_ALLOW(epoll_wait), SB_ALLOW(epoll_pwait),
	SB_ALLOW(epoll_ctl), SB_ALLOW(poll), SB_ALLOW(rt_sigprocmask),
	SB_ALLOW(rt_sigaction), SB_ALLOW(clock_gettime),
	SB_ALLOW(gettimeofday), SB_ALLOW(getpid), SB_ALLOW(brk),
	SB_ALLOW(mmap), SB_ALLOW(munmap), SB_ALLOW(mremap), SB_ALLOW(wait4),
	SB_ALLOW(kill), SB_ALLOW(pread64), SB_ALLOW(fcntl), SB_ALLOW(fstat),
	SB_ALLOW(newfstatat), SB_ALLOW(lseek),
	/*
	 * No socket, connect, sendto: this process is in the host's
	 * network namespace and reads lens-init's frames; it holds every
	 * socket it needs already and logs through the parent.
	 */
};

static void	maybe_exit(void);
static void	console_read(int, short, void *);
static int	console_fd = -1;

static char		 console_tail[200];

/* the last line lens-init wrote, for errors before READY */
static void
tail_keep(const char *buf, size_t len)
{
	size_t	 have = strlen(console_tail), i;

	if (len >= sizeof(console_tail) - 1) {
		buf += len - (sizeof(console_tail) - 1);
		len = sizeof(console_tail) - 1;
		have = 0;
	} else if (have + len >= sizeof(console_tail)) {
		memmove(console_tail, console_tail + (have + len -
		    (sizeof(console_tail) - 1)), sizeof(console_tail) - 1 -
		    len);
		have = sizeof(console_tail) - 1 - len;
	}
	memcpy(console_tail + have, buf, len);
	console_tail[have + len] = '\0';
	for (i = 0; console_tail[i]; i++)
		if ((unsigned char)console_tail[i] < 0x20 ||
		    console_tail[i] == 0x7f)
			console_tail[i] = ' ';
}

static void
console_append(int stream, const void *buf, size_t len)
{
	static const char	 note[] = "\n[lensvmm: console log full]\n";
	struct logrec		 rec;
	struct iovec		 iov[3];
	struct timespec		 ts;
	int64_t			 ms;

	if (console_written >= VMM_CONSOLE_MAX || len == 0)
		return;
	if (console_written + sizeof(rec) + sizeof(ms) + len >
	    VMM_CONSOLE_MAX) {
		console_written = VMM_CONSOLE_MAX;
		stream = LOG_STDERR;
		buf = note;
		len = sizeof(note) - 1;
	}
	memset(&rec, 0, sizeof(rec));
	rec.stream = stream;
	rec.timed = LOGREC_TIMED;
	rec.len = len;
	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		ms = 0;
	else
		ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	iov[0].iov_base = &rec;
	iov[0].iov_len = sizeof(rec);
	iov[1].iov_base = &ms;
	iov[1].iov_len = sizeof(ms);
	iov[2].iov_base = (void *)buf;
	iov[2].iov_len = len;
	/* O_APPEND: one writev is one record, whole or failed */
	if (writev(conf->consolefd, iov, 3) ==
	    (ssize_t)(sizeof(rec) + sizeof(ms) + len)) {
		if (console_written < VMM_CONSOLE_MAX)
			console_written += sizeof(rec) + sizeof(ms) + len;
	} else
		log_warn("console log");
}

static struct exec *
exec_find(uint32_t id)
{
	struct exec	*e;

	TAILQ_FOREACH(e, &execs, entry)
		if (e->id == id)
			return e;
	return NULL;
}

static void
backpressure(void)
{
	struct exec	*e;
	size_t		 max = 0;

	TAILQ_FOREACH(e, &execs, entry)
		if (e->attached && e->client.iev.ibuf.wqueued > max)
			max = e->client.iev.ibuf.wqueued;
	if (!init_paused && max > CLIENT_HIGHWATER) {
		init_paused = 1;
		imsgev_pause(&init.iev, 1);
	} else if (init_paused && max < CLIENT_LOWWATER) {
		init_paused = 0;
		imsgev_pause(&init.iev, 0);
	}
}

static void
client_close(struct exec *e)
{
	if (!e->attached)
		return;
	imsgev_clear(&e->client.iev);
	e->attached = 0;
	backpressure();
	maybe_exit();
}

/* queue for the client; a client that cannot keep up is dropped */
static void
client_send(struct exec *e, uint32_t type, const void *data, size_t len)
{
	if (!e->attached || e->closing)
		return;
	if (imsgev_compose(&e->client.iev, type, 0, 0, -1, data, len) == -1) {
		log_warnx("exec %u: client too slow, detached", e->id);
		client_close(e);
		return;
	}
	backpressure();
}

/* the last message to a client, then close it once written */
static void
client_last(struct exec *e, uint32_t type, const void *data, size_t len)
{
	client_send(e, type, data, len);
	if (!e->attached)
		return;
	e->closing = 1;
	if (e->client.iev.ibuf.wqueued == 0 &&
	    TAILQ_EMPTY(&e->client.iev.ibuf.wq))
		client_close(e);
}

static void
maybe_exit(void)
{
	struct exec	*e;

	if (!finishing)
		return;
	TAILQ_FOREACH(e, &execs, entry)
		if (e->attached)
			return;
	event_loopexit(NULL);
}

static void
kill_sandbox(void)
{
	if (initpid > 0 && !ended && kill(initpid, SIGKILL) == -1 &&
	    errno != ESRCH)
		log_warn("kill lens-init");
}

static void
kill_timeout(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	log_info("grace period over: killing the sandbox");
	kill_sandbox();
}

/* orderly shutdown: lens-init TERMs, waits grace_ms, KILLs, exits */
static void
shutdown_sandbox(uint32_t grace_ms)
{
	struct init_shutdown	 sd;
	struct timeval		 tv;

	if (ended)
		return;
	if (grace_ms == 0) {
		kill_sandbox();
		return;
	}
	if (!ending) {
		memset(&sd, 0, sizeof(sd));
		sd.grace_ms = grace_ms;
		if (imsgev_compose(&init.iev, IMSG_INIT_SHUTDOWN, 0, 0, -1, &sd,
		    sizeof(sd)) == -1)
			kill_sandbox();
	}
	ending = 1;
	/* lens-init gets the grace and a second; then the pid ns dies */
	tv.tv_sec = grace_ms / 1000 + 1;
	tv.tv_usec = (grace_ms % 1000) * 1000;
	evtimer_del(&ev_kill);
	evtimer_add(&ev_kill, &tv);
}

static void
init_broken(const char *why)
{
	if (protocol_error[0] == '\0') {
		log_warnx("lens-init: %s; killing the sandbox", why);
		snprintf(protocol_error, sizeof(protocol_error),
		    "lens-init: %s", why);
	}
	if (init.iev.ibuf.fd != -1) {
		imsgev_clear(&init.iev);
		init.iev.ibuf.fd = -1;
	}
	kill_sandbox();
}

static int
exec_error_code(const struct init_error *ie)
{
	if (ie->stage == INIT_ERR_EXEC)
		return ie->err == ENOENT || ie->err == ENOTDIR ?
		    CTL_EXIT_NOTFOUND : CTL_EXIT_NOEXEC;
	return CTL_EXIT_LENS;
}

static void
exec_finished(struct exec *e)
{
	struct j_exec_exit	 je;

	e->done = 1;
	memset(&je, 0, sizeof(je));
	je.code = e->failed ? e->error.code : e->exit.code;
	je.sig = e->failed ? 0 : e->exit.sig;
	je.err = e->failed ? e->error.code : 0;
	if (imsgev_compose(&parent.iev, IMSG_J_EXEC_EXIT, e->id, 0, -1, &je,
	    sizeof(je)) == -1)
		fatal("compose for the parent");
	if (e->main) {
		/* the sandbox lives as long as its main process */
		main_done = 1;
		main_exit = e->exit;
		if (e->failed) {
			main_exit.code = e->error.code;
			main_exit.sig = 0;
		}
		shutdown_sandbox(2000);
		return;		/* its client is answered on FINISH */
	}
	if (e->failed)
		client_last(e, IMSG_CTL_ERROR, &e->error, sizeof(e->error));
	else
		client_last(e, IMSG_CTL_EXIT, &e->exit, sizeof(e->exit));
}

static const char *
init_message(struct imsg *im)
{
	struct init_ready	 rd;
	struct init_error	 ie;
	struct init_exit	 ix;
	struct j_ready		 jr;
	struct ibuf		*b;
	struct exec		*e = NULL;

	if (im->hdr.peerid != 0 && (e = exec_find(im->hdr.peerid)) == NULL)
		return "message for an unknown exec id";
	if (e != NULL && e->done)
		return "message for an exec that already ended";
	switch (im->hdr.type) {
	case IMSG_INIT_READY:
		if (ready || e != NULL)
			return "bad READY";
		memcpy(&rd, im->data, sizeof(rd));
		if (rd.version != LENSINIT_PROTO_VERSION)
			return "unsupported protocol version";
		ready = 1;
		evtimer_del(&ev_ready);
		memset(&jr, 0, sizeof(jr));
		jr.initpid = initpid;
		if (conf->netdfd != -1) {
			jr.net = 1;
			jr.addr = conf->net.addr;
			jr.gateway = conf->net.gateway;
			jr.proxyport = conf->net.proxyport;
			jr.calen = (uint32_t)conf->calen;
			strlcpy(jr.instance, conf->net.instance,
			    sizeof(jr.instance));
		}
		/* the sandbox CA (checked by netd_connect) before any EXEC */
		if (jr.calen > 0 && imsgev_compose(&init.iev, IMSG_INIT_CA, 0,
		    0, -1, conf->ca, conf->calen) == -1)
			fatal("compose for lens-init");
		if ((b = imsg_create(&parent.iev.ibuf, IMSG_J_READY, 0, 0,
		    sizeof(jr) + jr.calen)) == NULL ||
		    imsg_add(b, &jr, sizeof(jr)) == -1 ||
		    (jr.calen > 0 && imsg_add(b, conf->ca, jr.calen) == -1))
			fatal("compose for the parent");
		/* its network namespace: the parent re-attaches it */
		b->fd = conf->netnsfd;
		conf->netnsfd = -1;
		imsg_close(&parent.iev.ibuf, b);
		imsgev_add(&parent.iev);
		break;
	case IMSG_INIT_STARTED:
		if (e == NULL)
			return "bad STARTED";
		break;
	case IMSG_INIT_ERROR:
		if (e == NULL)
			return "bad ERROR";
		memcpy(&ie, im->data, sizeof(ie));
		if (memchr(ie.msg, '\0', sizeof(ie.msg)) == NULL)
			return "ERROR message not NUL-terminated";
		e->failed = 1;
		memset(&e->error, 0, sizeof(e->error));
		e->error.code = exec_error_code(&ie);
		snprintf(e->error.msg, sizeof(e->error.msg), "%s", ie.msg);
		exec_finished(e);
		break;
	case IMSG_INIT_STDOUT:
	case IMSG_INIT_STDERR:
		if (e == NULL)
			return "bad STDOUT/STDERR";
		if (e->main)
			console_append(im->hdr.type == IMSG_INIT_STDOUT ?
			    LOG_STDOUT : LOG_STDERR, im->data, im->datalen);
		client_send(e, im->hdr.type == IMSG_INIT_STDOUT ?
		    IMSG_CTL_STDOUT : IMSG_CTL_STDERR, im->data, im->datalen);
		break;
	case IMSG_INIT_EXIT:
		if (e == NULL)
			return "bad EXIT";
		memcpy(&ix, im->data, sizeof(ix));
		if (ix.code < 0 || ix.code > 255 || ix.sig < 0 || ix.sig > 64)
			return "EXIT with an impossible status";
		memset(&e->exit, 0, sizeof(e->exit));
		e->exit.code = ix.code;
		e->exit.sig = ix.sig;
		exec_finished(e);
		break;
	default:
		return "unknown message type";
	}
	return NULL;
}

/* a message from lens-init, its type and size checked (init_msgs[]) */
static void
init_msg(struct imsg *im, void *arg)
{
	const char	*why;

	(void)arg;
	if ((why = init_message(im)) != NULL)
		init_broken(why);
}

static const struct proc_msg init_msgs[] = {
	PROC_MSG(IMSG_INIT_READY, sizeof(struct init_ready), init_msg),
	PROC_MSG(IMSG_INIT_STARTED, sizeof(struct init_started), init_msg),
	PROC_MSG(IMSG_INIT_ERROR, sizeof(struct init_error), init_msg),
	PROC_MSGV(IMSG_INIT_STDOUT, 1, IMSG_MAXPAYLOAD, init_msg),
	PROC_MSGV(IMSG_INIT_STDERR, 1, IMSG_MAXPAYLOAD, init_msg),
	PROC_MSG(IMSG_INIT_EXIT, sizeof(struct init_exit), init_msg),
};

/*
 * The lens-init channel ended: lens-init closed it (SIGCHLD says how
 * it ended), or sent a message of a type or size not in init_msgs[], a
 * descriptor or a malformed frame (proc_dispatch logged peer, type and
 * size): the sandbox is killed.
 */
static void
init_lost(struct proc_chan *ch, const char *why)
{
	(void)ch;
	if (strcmp(why, "gone") == 0 || strcmp(why, "read failed") == 0) {
		imsgev_clear(&init.iev);
		/* everything it said is read: now its end counts */
		if (init_reaped && !ended)
			sandbox_ended(init_status);
		return;
	}
	init_broken(why);
}

static void
console_read(int fd, short event, void *arg)
{
	char	 buf[16384];
	ssize_t	 n;
	size_t	 i;

	(void)event;
	(void)arg;
	n = read(fd, buf, sizeof(buf));
	if (n > 0 && !ready) {
		/* lens-init's own words before the command: why it failed */
		console_append(LOG_STDERR, buf, (size_t)n);
		tail_keep(buf, (size_t)n);
		return;
	}
	if (n > 0) {
		/*
		 * After READY lens-init speaks only of an exec that failed
		 * (its client got the error): lensvmm's log, not the
		 * console log, which is the main command's output
		 */
		while (n > 0 && buf[n - 1] == '\n')
			n--;
		for (i = 0; i < (size_t)n; i++)
			if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
				buf[i] = ' ';
		log_info("%.*s", (int)n, buf);
		return;
	}
	if (n == -1 && errno == EINTR)
		return;
	if (n == -1 && errno == EAGAIN && !ended)
		return;
	event_del(&ev_console);
	close(fd);
	console_fd = -1;
}

/* a message from an attached client, its type and size checked
 * (client_msgs[]) */
static void
client_msg(struct imsg *im, void *arg)
{
	struct exec		*e = arg;
	struct ctl_winsize	 ws;
	struct ctl_signal	 cs;
	struct init_winsize	 iw;
	struct init_signal	 is;

	if (e->done || init.iev.ibuf.fd == -1)
		return;
	switch (im->hdr.type) {
	case IMSG_CTL_STDIN:
		imsgev_compose(&init.iev, IMSG_INIT_STDIN, e->id, 0, -1,
		    im->data, im->datalen);
		break;
	case IMSG_CTL_STDIN_EOF:
		imsgev_compose(&init.iev, IMSG_INIT_STDIN_EOF, e->id, 0, -1,
		    NULL, 0);
		break;
	case IMSG_CTL_RESIZE:
		memcpy(&ws, im->data, sizeof(ws));
		memset(&iw, 0, sizeof(iw));
		iw.rows = ws.rows;
		iw.cols = ws.cols;
		imsgev_compose(&init.iev, IMSG_INIT_RESIZE, e->id, 0, -1, &iw,
		    sizeof(iw));
		break;
	case IMSG_CTL_SIGNAL:
		memcpy(&cs, im->data, sizeof(cs));
		if (cs.sig < 1 || cs.sig > 64)
			goto bad;
		memset(&is, 0, sizeof(is));
		is.sig = cs.sig;
		imsgev_compose(&init.iev, IMSG_INIT_SIGNAL, e->id, 0, -1, &is,
		    sizeof(is));
		break;
	default:
		goto bad;
	}
	return;
bad:
	log_warnx("exec %u: bad message %#x from the client, detached", e->id,
	    im->hdr.type);
	client_close(e);
}

static const struct proc_msg client_msgs[] = {
	PROC_MSGV(IMSG_CTL_STDIN, 1, IMSG_MAXPAYLOAD, client_msg),
	PROC_MSG(IMSG_CTL_STDIN_EOF, 0, client_msg),
	PROC_MSG(IMSG_CTL_RESIZE, sizeof(struct ctl_winsize), client_msg),
	PROC_MSG(IMSG_CTL_SIGNAL, sizeof(struct ctl_signal), client_msg),
};

/* written: closed once its last message went, else the backpressure */
static void
client_wrote(void *arg)
{
	struct exec	*e = arg;

	if (e->closing && TAILQ_EMPTY(&e->client.iev.ibuf.wq)) {
		client_close(e);
		return;
	}
	backpressure();
}

/*
 * The client went away, or sent a message of a type or size not in
 * client_msgs[] (logged by proc_dispatch): detached, the process goes
 * on.
 */
static void
client_lost(struct proc_chan *ch, const char *why)
{
	(void)why;
	client_close(ch->arg);
}

static void
parent_exec(struct imsg *im, void *arg)
{
	struct exec		*e;
	struct ctl_error	 ce;

	(void)arg;
	if (im->hdr.peerid == 0 || exec_find(im->hdr.peerid) != NULL)
		fatalx("bad EXEC from the parent: exec id %u",
		    im->hdr.peerid);
	if ((e = calloc(1, sizeof(*e))) == NULL)
		fatal("calloc");
	e->id = im->hdr.peerid;
	e->main = TAILQ_EMPTY(&execs);
	TAILQ_INSERT_TAIL(&execs, e, entry);
	if (im->fd != -1) {
		snprintf(e->peer, sizeof(e->peer), "exec %u client", e->id);
		proc_chan_init(&e->client, im->fd, e->peer, client_msgs,
		    sizeof(client_msgs) / sizeof(client_msgs[0]), e);
		e->client.wrote = client_wrote;
		e->client.lost = client_lost;
		e->attached = 1;
		im->fd = -1;
	}
	if (ending || ended || init.iev.ibuf.fd == -1) {
		memset(&ce, 0, sizeof(ce));
		ce.code = CTL_EXIT_LENS;
		strlcpy(ce.msg, "the sandbox is stopping", sizeof(ce.msg));
		e->done = 1;
		client_last(e, IMSG_CTL_ERROR, &ce, sizeof(ce));
		return;
	}
	if (imsgev_compose(&init.iev, IMSG_INIT_EXEC, e->id, 0, -1, im->data,
	    im->datalen) == -1)
		init_broken("channel full");
}

/*
 * The sandbox ended, and with it (as in Docker, where the end of the
 * main process ends the container) every process in it: an exec that
 * lens-init did not report was killed by the end of its pid namespace.
 */
static void
exec_killed(struct exec *e)
{
	struct j_exec_exit	 je;

	e->done = 1;
	memset(&e->exit, 0, sizeof(e->exit));
	e->exit.code = 128 + SIGKILL;
	e->exit.sig = SIGKILL;
	e->exit.oom = sandbox_exit.oom;
	memset(&je, 0, sizeof(je));
	je.code = e->exit.code;
	je.sig = e->exit.sig;
	if (imsgev_compose(&parent.iev, IMSG_J_EXEC_EXIT, e->id, 0, -1, &je,
	    sizeof(je)) == -1)
		fatal("compose for the parent");
}

static void
finish(void)
{
	struct exec	*e;
	struct ctl_error ce;
	struct timeval	 tv;

	finishing = 1;
	tv.tv_sec = 5;
	tv.tv_usec = 0;
	evtimer_add(&ev_exit, &tv);
	TAILQ_FOREACH(e, &execs, entry) {
		if (!e->main && !e->done && protocol_error[0] == '\0')
			exec_killed(e);
		if (!e->attached)
			continue;
		if (!e->main && protocol_error[0] == '\0')
			client_last(e, IMSG_CTL_EXIT, &e->exit,
			    sizeof(e->exit));
		else if (e->main && protocol_error[0] == '\0' && e->failed)
			client_last(e, IMSG_CTL_ERROR, &e->error,
			    sizeof(e->error));
		else if (e->main && protocol_error[0] == '\0' && e->done) {
			e->exit.oom = sandbox_exit.oom;
			client_last(e, IMSG_CTL_EXIT, &e->exit,
			    sizeof(e->exit));
		} else if (e->main && protocol_error[0] == '\0')
			client_last(e, IMSG_CTL_EXIT, &sandbox_exit,
			    sizeof(sandbox_exit));
		else {
			memset(&ce, 0, sizeof(ce));
			ce.code = CTL_EXIT_LENS;
			strlcpy(ce.msg, protocol_error[0] ? protocol_error :
			    "the sandbox stopped", sizeof(ce.msg));
			client_last(e, IMSG_CTL_ERROR, &ce, sizeof(ce));
		}
	}
	maybe_exit();
}

static void
parent_stop(struct imsg *im, void *arg)
{
	struct j_stop	 js;

	(void)arg;
	memcpy(&js, im->data, sizeof(js));
	shutdown_sandbox(js.grace_ms);
}

static void
parent_finish(struct imsg *im, void *arg)
{
	(void)im;
	(void)arg;
	finish();
}

static const struct proc_msg parent_msgs[] = {
	{ IMSG_J_EXEC, sizeof(struct init_exec), IMSG_MAXPAYLOAD, parent_exec,
	    1 },
	PROC_MSG(IMSG_J_STOP, sizeof(struct j_stop), parent_stop),
	PROC_MSG(IMSG_J_FINISH, 0, parent_finish),
};

/*
 * The parent's channel ended: the parent is gone, or sent a message of
 * a type or size not in parent_msgs[] (logged by proc_dispatch).  The
 * sandbox does not outlive it.
 */
static void
parent_lost(struct proc_chan *ch, const char *why)
{
	(void)ch;
	kill_sandbox();
	if (strcmp(why, "gone") == 0 || strcmp(why, "read failed") == 0)
		exit(1);
	fatalx("parent: %s", why);
}

/*
 * lens-init reaped: its end is the sandbox's, but only once its channel
 * is read to the end.  Its last messages (the main command's output and
 * EXIT) are in the socket when SIGCHLD comes, and libevent may run the
 * signal first: deciding then took the exit status of lens-init itself
 * (0) for the main command's and dropped what it said last (a loaded
 * machine: sandbox-signals.t's SIGTERM test got 0 instead of 9).  So
 * the end waits for EOF on the channel (init_lost), bounded by
 * INIT_DRAIN_MS for a channel that never ends.
 */

static void
drain_timeout(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	if (ended)
		return;
	log_warnx("lens-init's channel did not end %d ms after it did; "
	    "its last messages are lost", INIT_DRAIN_MS);
	if (init.iev.ibuf.fd != -1)
		imsgev_clear(&init.iev);
	sandbox_ended(init_status);
}

static void
on_sigchld(int sig, short ev, void *arg)
{
	struct timeval	 tv;
	int		 st;
	pid_t		 pid;

	(void)sig;
	(void)ev;
	(void)arg;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (pid != initpid || ended || init_reaped)
			continue;
		init_reaped = 1;
		init_status = st;
		if (init.iev.ibuf.fd == -1) {
			sandbox_ended(st);
			continue;
		}
		tv.tv_sec = INIT_DRAIN_MS / 1000;
		tv.tv_usec = (INIT_DRAIN_MS % 1000) * 1000;
		evtimer_add(&ev_drain, &tv);
	}
}

static void
sandbox_ended(int st)
{
	uint64_t	 ooms;

	ended = 1;
	evtimer_del(&ev_drain);
	evtimer_del(&ev_kill);
	evtimer_del(&ev_ready);
	memset(&sandbox_exit, 0, sizeof(sandbox_exit));
	ooms = cgroup_oom_count(conf->oomfd);
	if (main_done)
		sandbox_exit = main_exit;
	else if (WIFSIGNALED(st)) {
		sandbox_exit.sig = WTERMSIG(st);
		sandbox_exit.code = 128 + WTERMSIG(st);
	} else if (WIFEXITED(st))
		sandbox_exit.code = ready ? WEXITSTATUS(st) :
		    CTL_EXIT_LENS;
	/* the vm process shares our report page (seccomp_filter.h) */
	if (conf->backend == BACKEND_MICROVM && WIFSIGNALED(st) &&
	    WTERMSIG(st) == SIGSYS && protocol_error[0] == '\0') {
		int	 nr = sandbox_reported();

		snprintf(protocol_error, sizeof(protocol_error),
		    "the vm process was killed by SIGSYS: forbidden "
		    "syscall %s (%d)", nr == -1 ? "unknown" :
		    sandbox_syscall_name(nr), nr);
		log_warnx("%s", protocol_error);
		if (!main_done)
			sandbox_exit.sig = 0;
	}
	if (protocol_error[0] != '\0' && !main_done)
		sandbox_exit.code = CTL_EXIT_LENS;
	sandbox_exit.oom = ooms > 0;
	log_info("sandbox ended: code %d, signal %d%s",
	    sandbox_exit.code, sandbox_exit.sig,
	    sandbox_exit.oom ? ", OOM" : "");
	if (!ready) {
		struct ctl_error	 ce;

		memset(&ce, 0, sizeof(ce));
		ce.code = CTL_EXIT_LENS;
		/* what it said last */
		while (console_fd != -1)
			console_read(console_fd, EV_READ, NULL);
		snprintf(ce.msg, sizeof(ce.msg), "lens-init ended "
		    "before it was ready (%s %d)%s%s%s%s",
		    WIFSIGNALED(st) ? "signal" : "status",
		    WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st),
		    protocol_error[0] ? ": " : "", protocol_error,
		    console_tail[0] ? ": " : "", console_tail);
		if (imsgev_compose(&parent.iev, IMSG_J_FAILED, 0, 0, -1,
		    &ce, sizeof(ce)) == -1)
			fatal("compose for the parent");
		return;
	}
	if (imsgev_compose(&parent.iev, IMSG_J_EXIT, 0, 0, -1,
	    &sandbox_exit, sizeof(sandbox_exit)) == -1)
		fatal("compose for the parent");
}

/*
 * lensnetd never writes after ATTACHED: EOF means it went away, and the
 * sandbox's network with it (its gateway namespace died).  The sandbox
 * goes on with loopback only; say so once.
 */
static void
netd_gone(int fd, short ev, void *arg)
{
	char	 c;

	(void)ev;
	(void)arg;
	if (read(fd, &c, 1) == -1 && errno == EAGAIN)
		return;
	log_warnx("lensnetd closed its connection: the sandbox has no "
	    "network any more");
	event_del(&ev_netd);
	close(fd);
	conf->netdfd = -1;
	if (imsgev_compose(&parent.iev, IMSG_J_NETLOST, 0, 0, -1, NULL, 0) ==
	    -1)
		fatal("compose for the parent");
}

static void
ready_timeout(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	init_broken("no READY in time");
}

static void
exit_timeout(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	event_loopexit(NULL);
}

static int	 chan, console;

/* under the sandbox's uid in the empty chroot: events, then the filter */
static void
jail_init(void *arg)
{
	struct timeval	 tv;
	int		 fd = *(int *)arg;

	fcntl(chan, F_SETFL, fcntl(chan, F_GETFL) | O_NONBLOCK);
	fcntl(console, F_SETFL, fcntl(console, F_GETFL) | O_NONBLOCK);
	proc_chan_init(&parent, fd, "parent", parent_msgs,
	    sizeof(parent_msgs) / sizeof(parent_msgs[0]), NULL);
	parent.lost = parent_lost;
	proc_chan_init(&init, chan, "lens-init", init_msgs,
	    sizeof(init_msgs) / sizeof(init_msgs[0]), NULL);
	init.lost = init_lost;
	console_fd = console;
	event_set(&ev_console, console, EV_READ | EV_PERSIST, console_read,
	    NULL);
	event_add(&ev_console, NULL);
	signal_set(&ev_chld, SIGCHLD, on_sigchld, NULL);
	signal_add(&ev_chld, NULL);
	if (conf->netdfd != -1) {
		fcntl(conf->netdfd, F_SETFL, fcntl(conf->netdfd, F_GETFL) |
		    O_NONBLOCK);
		event_set(&ev_netd, conf->netdfd, EV_READ | EV_PERSIST,
		    netd_gone, NULL);
		event_add(&ev_netd, NULL);
	}
	evtimer_set(&ev_ready, ready_timeout, NULL);
	evtimer_set(&ev_kill, kill_timeout, NULL);
	evtimer_set(&ev_exit, exit_timeout, NULL);
	evtimer_set(&ev_drain, drain_timeout, NULL);
	/* a microVM boots a kernel first */
	tv.tv_sec = conf->backend == BACKEND_MICROVM ? conf->boot_timeout :
	    VMM_READY_TIMEOUT;
	tv.tv_usec = 0;
	evtimer_add(&ev_ready, &tv);
	/* lens-init may have ended before SIGCHLD was watched */
	on_sigchld(SIGCHLD, 0, NULL);
}

int
sandbox_main(int fd, void *arg)
{
	struct proc_role	 role = {
		.name = "jail",
		PROC_SECCOMP(jail_syscalls),
		.init = jail_init,
	};
	struct privsep_user	 u;
	struct ctl_error	 ce;
	char			 err[512], title[128];

	conf = arg;
	signal(SIGCHLD, SIG_DFL);
	/* while it starts the sandbox as root; armed again after the drop */
	privsep_pdeathsig(conf->parent);
	snprintf(title, sizeof(title), "%s %s", conf->backend ==
	    BACKEND_MICROVM ? "microvm" : "jail", conf->name);
	proc_title("%s", title);
	role.title = title;
	if ((conf->backend == BACKEND_MICROVM ? microvm_start(conf, &chan,
	    &console, &initpid, err, sizeof(err)) : jail_start(conf, &chan,
	    &console, &initpid, err, sizeof(err))) == -1) {
		imsg_init(&parent.iev.ibuf, fd);
		memset(&ce, 0, sizeof(ce));
		ce.code = CTL_EXIT_LENS;
		strlcpy(ce.msg, err, sizeof(ce.msg));
		if (imsg_compose(&parent.iev.ibuf, IMSG_J_FAILED, 0, 0, -1, &ce,
		    sizeof(ce)) == -1 || imsg_flush(&parent.iev.ibuf) == -1)
			fatal("report to the parent");
		return 1;
	}
	close(conf->initfd);
	while (conf->cgprocs[0] != -1) {
		int	 i;

		for (i = 0; i < 4 && conf->cgprocs[i] != -1; i++) {
			close(conf->cgprocs[i]);
			conf->cgprocs[i] = -1;
		}
	}
	/* the sandbox's host root, in an empty chroot, nothing more */
	memset(&u, 0, sizeof(u));
	snprintf(u.name, sizeof(u.name), "sandbox-%u", (unsigned)conf->base);
	u.uid = conf->base;
	u.gid = conf->base;
	role.root = conf->emptydir;
	proc_start(&role, &u, conf->parent, &fd);
	return 0;
}
