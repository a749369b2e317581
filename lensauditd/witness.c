/*
 * lensauditd witness: sends every checkpoint to a collector off the
 * host, so that a root who later rewrites, cuts or deletes the log
 * directory cannot make the collected copy agree (lens-audit(5),
 * Remote witness).
 *
 * The writer hands it each durable checkpoint's head line (log id, seq,
 * chain hash, the next step's public key, signature); it sends them as
 * RFC 5424 messages, octet-counted (RFC 6587), over TCP or TLS with a
 * pinned CA (-C) to the collector (-w host:port).  While the collector
 * is away it queues (at most WIT_QMAX messages: the oldest are dropped,
 * and the writer audits how many) and reconnects with backoff.  A
 * message leaves the queue once all of it is written to the socket:
 * after a reconnect a half-sent message is sent again whole (the
 * collector discards a torn frame), a whole one never, so none is
 * duplicated.  It runs as _lensaudit in the empty directory, holds no
 * key and no descriptor of the log directory; the writer never waits
 * for it (its channel is non-blocking and bounded).
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <stdarg.h>
#include <event.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "imsgev.h"
#include "lensauditd.h"
#include "log.h"
#include "privsep.h"
#include "proc.h"
#include "seccomp_filter.h"
#include "syslogwit.h"
#include "tlsup.h"

#define WIT_QMAX	4096		/* messages queued */
#define WIT_BACKOFF0	100		/* ms, doubled up to ... */
#define WIT_BACKOFFMAX	10000
#define WIT_DRAIN	2		/* s to send the rest at exit */

enum wstate { W_DOWN, W_CONNECTING, W_TLS, W_UP };

static struct {
	struct auditd_conf	*conf;
	struct proc_chan	 chan;		/* to the writer */
	char			 hostname[256];
	char			 where[300];	/* for messages */
	char			 lastwhy[512];	/* the last failure */
	enum wstate		 state;
	int			 fd;
	SSL			*ssl;
	struct event		 ev_sock, ev_retry, ev_drain;
	long			 backoff;	/* ms */
	long			 backoffmax;
	char			*q[WIT_QMAX];	/* framed messages */
	size_t			 qlen[WIT_QMAX];
	size_t			 qhead, qn, qmax, off;
	uint64_t		 sent, dropped, unreported;
	int			 writer_gone;
} wt;

static const struct sandbox_syscall witness_syscalls[] = {
	SB_ALLOW(read), SB_ALLOW(write), SB_ALLOW(close),
	SB_ALLOW(recvmsg), SB_ALLOW(sendmsg),
	SB_ALLOW(recvfrom), SB_ALLOW(sendto),
	SB_ALLOW(socket), SB_ALLOW(connect),
	SB_ALLOW_ARG(getsockopt, 2, SO_ERROR),
	SB_ALLOW(epoll_wait), SB_ALLOW(epoll_pwait), SB_ALLOW(epoll_ctl),
	SB_ALLOW(rt_sigprocmask), SB_ALLOW(rt_sigaction),
	SB_ALLOW(clock_gettime), SB_ALLOW(gettimeofday), SB_ALLOW(getpid),
	SB_ALLOW(brk), SB_ALLOW(mmap), SB_ALLOW(munmap), SB_ALLOW(mremap),
	SB_ALLOW(getrandom),
};

static void	wit_connect(int, short, void *);
static void	wit_io(int, short, void *);

static void
wit_exit_if_done(void)
{
	if (!wt.writer_gone || (wt.qn > 0 && wt.state == W_UP))
		return;
	if (wt.qn > 0)
		log_warnx("witness: exiting with %zu checkpoint%s not sent "
		    "to %s", wt.qn, wt.qn == 1 ? "" : "s", wt.where);
	log_info("witness: %llu checkpoint%s sent, %llu dropped",
	    (unsigned long long)wt.sent, wt.sent == 1 ? "" : "s",
	    (unsigned long long)wt.dropped);
	exit(0);
}

/* what the socket waits for now */
static void
wit_arm(short what)
{
	event_del(&wt.ev_sock);
	event_set(&wt.ev_sock, wt.fd, what, wit_io, NULL);
	event_add(&wt.ev_sock, NULL);
}

static void
wit_down(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* the connection is lost or never made: try again later */
static void
wit_down(const char *fmt, ...)
{
	struct timeval	 tv;
	char		 why[512];
	va_list		 ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	event_del(&wt.ev_sock);
	if (wt.ssl != NULL) {
		SSL_free(wt.ssl);
		wt.ssl = NULL;
	}
	if (wt.fd != -1)
		close(wt.fd);
	wt.fd = -1;
	wt.state = W_DOWN;
	wt.off = 0;	/* a torn frame is sent again whole */
	/* the same failure again is not news */
	if (strcmp(why, wt.lastwhy) != 0)
		log_warnx("witness: collector %s: %s; %zu checkpoint%s queued, "
		    "retrying with backoff", wt.where, why, wt.qn,
		    wt.qn == 1 ? "" : "s");
	else
		log_debug("witness: collector %s: %s; retrying in %ld ms",
		    wt.where, why, wt.backoff);
	strlcpy(wt.lastwhy, why, sizeof(wt.lastwhy));
	if (wt.writer_gone)	/* nothing more will come: give up */
		wit_exit_if_done();
	tv.tv_sec = wt.backoff / 1000;
	tv.tv_usec = (wt.backoff % 1000) * 1000;
	evtimer_add(&wt.ev_retry, &tv);
	wt.backoff = wt.backoff * 2 > wt.backoffmax ? wt.backoffmax :
	    wt.backoff * 2;
}

static void
wit_up(void)
{
	wt.state = W_UP;
	wt.backoff = WIT_BACKOFF0;
	wt.lastwhy[0] = '\0';
	log_info("witness: connected to collector %s%s, %zu checkpoint%s "
	    "queued", wt.where, wt.ssl ? " (TLS)" : "", wt.qn,
	    wt.qn == 1 ? "" : "s");
	wit_arm(EV_READ | (wt.qn > 0 ? EV_WRITE : 0));
}

static void
wit_connect(int fd, short event, void *arg)
{
	const struct auditd_conf *c = wt.conf;

	(void)fd;
	(void)event;
	(void)arg;
	if ((wt.fd = socket(c->coll_addr.ss_family, SOCK_STREAM |
	    SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		fatal("witness: socket");
	wt.state = W_CONNECTING;
	if (connect(wt.fd, (struct sockaddr *)&c->coll_addr, c->coll_len)
	    == -1 && errno != EINPROGRESS) {
		wit_down("connect: %s", strerror(errno));
		return;
	}
	wit_arm(EV_WRITE);
}

/* one message fully written: off the queue */
static void
wit_pop(void)
{
	free(wt.q[wt.qhead]);
	wt.q[wt.qhead] = NULL;
	wt.qhead = (wt.qhead + 1) % WIT_QMAX;
	wt.qn--;
	wt.off = 0;
	wt.sent++;
}

/* 1 sent what there is or must wait, -1 the connection is gone */
static int
wit_send(short *want)
{
	const char	*buf;
	size_t		 len;
	ssize_t		 n;
	int		 r;

	*want = 0;
	while (wt.qn > 0) {
		buf = wt.q[wt.qhead] + wt.off;
		len = wt.qlen[wt.qhead] - wt.off;
		if (wt.ssl != NULL) {
			ERR_clear_error();
			if ((r = SSL_write(wt.ssl, buf, (int)len)) <= 0) {
				switch (SSL_get_error(wt.ssl, r)) {
				case SSL_ERROR_WANT_WRITE:
					*want = EV_WRITE;
					return 1;
				case SSL_ERROR_WANT_READ:
					*want = EV_READ;
					return 1;
				default:
					wit_down("TLS write failed");
					return -1;
				}
			}
			n = r;
		} else if ((n = write(wt.fd, buf, len)) == -1) {
			if (errno == EAGAIN || errno == EINTR) {
				*want = EV_WRITE;
				return 1;
			}
			wit_down("write: %s", strerror(errno));
			return -1;
		}
		wt.off += (size_t)n;
		if (wt.off == wt.qlen[wt.qhead])
			wit_pop();
	}
	return 1;
}

/*
 * The collector sends nothing: anything read is its end, or noise that
 * is thrown away (a bounded amount per event: a collector that floods
 * cannot keep the witness from its writer).
 */
static int
wit_read(void)
{
	char	 buf[512];
	ssize_t	 n;
	int	 r, i;

	for (i = 0; i < 64; i++) {
		if (wt.ssl != NULL) {
			ERR_clear_error();
			if ((r = SSL_read(wt.ssl, buf, sizeof(buf))) > 0)
				continue;
			switch (SSL_get_error(wt.ssl, r)) {
			case SSL_ERROR_WANT_READ:
			case SSL_ERROR_WANT_WRITE:
				return 0;
			case SSL_ERROR_ZERO_RETURN:
				wit_down("closed the connection");
				return -1;
			default:
				wit_down("closed the connection (TLS)");
				return -1;
			}
		}
		if ((n = read(wt.fd, buf, sizeof(buf))) > 0)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n == 0)
			wit_down("closed the connection");
		else
			wit_down("read: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void
wit_io(int fd, short event, void *arg)
{
	char		 err[512];
	socklen_t	 sl = sizeof(int);
	short		 want = 0;
	int		 e = 0, r;

	(void)fd;
	(void)arg;
	switch (wt.state) {
	case W_CONNECTING:
		if (getsockopt(wt.fd, SOL_SOCKET, SO_ERROR, &e, &sl) == -1)
			e = errno;
		if (e != 0) {
			wit_down("connect: %s", strerror(e));
			return;
		}
		if (wt.conf->coll_ca[0] == '\0') {
			wit_up();
			break;
		}
		if ((wt.ssl = tlsx_connect(wt.fd, wt.conf->coll_host, NULL))
		    == NULL) {
			wit_down("TLS: cannot set up the connection");
			return;
		}
		wt.state = W_TLS;
		/* FALLTHROUGH */
	case W_TLS:
		if ((r = tlsx_handshake(wt.ssl, &want, err, sizeof(err))) ==
		    -1) {
			wit_down("TLS: %s", err);
			return;
		}
		if (r == 0) {
			wit_arm(want);
			return;
		}
		wit_up();
		break;
	case W_UP:
		if ((event & EV_READ) && wit_read() == -1)
			return;
		break;
	case W_DOWN:
		return;
	}
	if (wt.state != W_UP || wit_send(&want) == -1)
		return;
	wit_arm(EV_READ | (want ? want : 0));
	wit_exit_if_done();
}

/* a checkpoint's head line from the writer */
static void
msg_ckpt(struct imsg *im, void *arg)
{
	struct timespec	 ts;
	char		 msg[SYSLOGWIT_MAX], *f;
	size_t		 slot;
	int		 n, fn;

	(void)arg;
	clock_gettime(CLOCK_REALTIME, &ts);
	if ((n = syslogwit_format(msg, sizeof(msg), wt.hostname,
	    wt.conf->parent, &ts, im->data, im->datalen)) == -1)
		fatalx("witness: the writer sent a head line no syslog "
		    "message can carry (%zu bytes)", im->datalen);
	if ((fn = asprintf(&f, "%d %s", n, msg)) == -1)
		fatal("witness: asprintf");
	if (wt.qn == wt.qmax) {
		/* the oldest goes: the newest covers it */
		if (wt.off > 0 && wt.state == W_UP) {
			/* half sent: the one after it goes instead */
			slot = (wt.qhead + 1) % WIT_QMAX;
			free(wt.q[slot]);
			wt.q[slot] = wt.q[wt.qhead];
			wt.qlen[slot] = wt.qlen[wt.qhead];
			wt.q[wt.qhead] = NULL;
		} else
			free(wt.q[wt.qhead]);
		wt.qhead = (wt.qhead + 1) % WIT_QMAX;
		wt.qn--;
		if (wt.dropped++ == 0 || wt.unreported == 0)
			log_warnx("witness: %zu checkpoints queued for %s: "
			    "dropping the oldest", wt.qmax, wt.where);
		wt.unreported++;
	}
	slot = (wt.qhead + wt.qn) % WIT_QMAX;
	wt.q[slot] = f;
	wt.qlen[slot] = (size_t)fn;
	wt.qn++;
	if (wt.state == W_UP)
		wit_arm(EV_READ | EV_WRITE);
}

/* after the writer's messages: the drops it must audit */
static void
wit_done(void *arg)
{
	struct wit_dropped	 d;

	(void)arg;
	if (wt.unreported == 0)
		return;
	d.dropped = wt.unreported;
	d.total = wt.dropped;
	if (imsgev_compose(&wt.chan.iev, IMSG_WIT_DROPPED, 0, 0, -1, &d,
	    sizeof(d)) == -1)
		fatal("witness: queue drop count");
	wt.unreported = 0;
}

static void
wit_lost(struct proc_chan *ch, const char *why)
{
	struct timeval	 tv = { WIT_DRAIN, 0 };

	(void)ch;
	if (strcmp(why, "gone") != 0)
		fatalx("witness: writer link: %s", why);
	wt.writer_gone = 1;
	evtimer_add(&wt.ev_drain, &tv);
	wit_exit_if_done();
}

static void
wit_drain_timeout(int fd, short event, void *arg)
{
	(void)fd;
	(void)event;
	(void)arg;
	wt.state = W_DOWN;
	wit_exit_if_done();
}

static const struct proc_msg wit_msgs[] = {
	PROC_MSGV(IMSG_WIT_CKPT, 1, WITNESS_LINEMAX, msg_ckpt),
};

static void
witness_preinit(void *arg)
{
	char	 err[512];

	(void)arg;
	if (gethostname(wt.hostname, sizeof(wt.hostname)) == -1)
		wt.hostname[0] = '\0';
	wt.hostname[sizeof(wt.hostname) - 1] = '\0';
	/* the pinned CA alone: the system's bundle is not asked */
	if (wt.conf->coll_ca[0] != '\0' &&
	    tlsx_preinit(wt.conf->coll_ca, err, sizeof(err)) == -1)
		fatalx("witness: -C %s: %s", wt.conf->coll_ca, err);
}

static void
witness_init(void *arg)
{
	struct timeval	 now = { 0, 0 };
	int		 parentfd = *(int *)arg;

	proc_watch_parent(parentfd, NULL);
	proc_chan_init(&wt.chan, wt.conf->wlink[1], "writer", wit_msgs,
	    sizeof(wit_msgs) / sizeof(wit_msgs[0]), NULL);
	wt.chan.done = wit_done;
	wt.chan.lost = wit_lost;
	evtimer_set(&wt.ev_retry, wit_connect, NULL);
	evtimer_set(&wt.ev_drain, wit_drain_timeout, NULL);
	event_set(&wt.ev_sock, -1, 0, wit_io, NULL);
	evtimer_add(&wt.ev_retry, &now);
}

int
witness_main(int parentfd, void *arg)
{
	static const struct proc_role	 role = {
		.name = "witness",
		PROC_SECCOMP(witness_syscalls),
		.preinit = witness_preinit,
		.init = witness_init,
	};

	wt.conf = arg;
	wt.fd = -1;
	wt.backoff = WIT_BACKOFF0;
	wt.qmax = WIT_QMAX;
	wt.backoffmax = WIT_BACKOFFMAX;
#ifdef REGRESS
	/* test-only: a collector back is seen sooner */
	if (getenv("LENS_REGRESS_WITNESS_BACKOFF") != NULL)
		wt.backoffmax = atol(getenv("LENS_REGRESS_WITNESS_BACKOFF"));
	if (wt.backoffmax < WIT_BACKOFF0 || wt.backoffmax > WIT_BACKOFFMAX)
		wt.backoffmax = WIT_BACKOFFMAX;
	/* test-only: a small queue, to see it overflow */
	if (getenv("LENS_REGRESS_WITNESSQ") != NULL) {
		wt.qmax = strtoul(getenv("LENS_REGRESS_WITNESSQ"), NULL, 10);
		if (wt.qmax < 2 || wt.qmax > WIT_QMAX)
			wt.qmax = WIT_QMAX;
	}
#endif
	snprintf(wt.where, sizeof(wt.where), "%s", wt.conf->collector);
	return proc_start(&role, &wt.conf->user, wt.conf->parent, &parentfd);
}
