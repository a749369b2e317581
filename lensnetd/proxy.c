/*
 * lensnetd proxy child (_lensnet, empty chroot, seccomp): every TCP
 * connection a sandbox makes ends here.
 *
 *  - transparent listener: TCP redirected by the gateway's nftables.
 *    The original destination comes from SO_ORIGINAL_DST.  The first
 *    bytes decide: a ClientHello's SNI or an HTTP Host names the host,
 *    the policy judges the name, and the upstream connection goes to
 *    THE NAME, resolved by lensnetd's dns child (NETD_RESOLVE on the
 *    channel between the two, role.link), on the original
 *    port; never to the address the sandbox chose.  Without a name the
 *    connection is raw TCP: allowed only to an address lensnetd's DNS
 *    handed this sandbox for a name a tcp rule allows on that port, or
 *    to one a CIDR rule allows.
 *  - CONNECT listener: an explicit HTTP proxy; the same decision on the
 *    request's host:port.
 *  - plain HTTP (transparent, absolute-form through the CONNECT listener,
 *    or in a tunnel an http rule allows) is decided request by request
 *    once connected: httpx.c (http_start) carries the exchange.
 *  - published ports: the host side accepts, the parent gives us a
 *    socket in the gateway namespace (NETD_INWARD_SOCKET) and we
 *    connect it to the sandbox.
 * Addresses in a forbidden class (addr_forbidden()) are refused unless
 * a CIDR rule names them.  Every connection ends in one audit event.
 */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "imsgev.h"
#include "lensnetd.h"
#include "log.h"
#include "peek.h"
#include "policy.h"
#include "privsep.h"
#include "proc.h"
#include "proxy.h"
#include "proxy_int.h"
#include "rcache.h"
#include "seccomp_filter.h"
#include "stream.h"
#include "tlsx.h"

#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST		80	/* linux/netfilter_ipv4.h */
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST	80	/* linux/netfilter_ipv6/ip6_tables.h */
#endif

#define DNSMAP_MAX		4096	/* remembered answers per sandbox */
#define DNSMAP_GRACE		300	/* seconds past the TTL */
#define AUDIT_BURST		200	/* events per second per sandbox */
#define FD_RESERVE		32
#define RCACHE_MAX		1024	/* resolved names kept per sandbox */
#define SPLICE_ROUNDS		4	/* pipe fills per event and way */
#define PIPE_SIZE		(256 * 1024)	/* asked, per pipe */
#define ASK_BACKSTOP_MS		(25 * 3600 * 1000)	/* > lensnetd -w */
#define PIPE_POOL		16	/* empty pipes kept for reuse */

struct dnsmap {
	TAILQ_ENTRY(dnsmap)	 entry;
	char			 name[NETD_NAME_SIZE];
	struct sockaddr_storage	 addr;
	time_t			 expires;
};

struct listener {
	TAILQ_ENTRY(listener)	 entry;		/* in sbx->listeners */
	struct sbx		*sbx;
	int			 fd;
	int			 family;
	uint32_t		 kind;
	uint16_t		 port;		/* PUBLISH: sandbox side */
	struct event		 ev;
	int			 active;
};

static const char *const lim_names[LIM_N] = {
	"connections", "published-connections", "connection-rate",
};

static TAILQ_HEAD(, sbx)	 sbxs = TAILQ_HEAD_INITIALIZER(sbxs);
static TAILQ_HEAD(, conn)	 conns = TAILQ_HEAD_INITIALIZER(conns);
static long			 npipefds;	/* pipe ends open, pool too */
static long			 nofile;	/* RLIMIT_NOFILE */
static struct {
	int		 fd[2];
	size_t		 cap;
}				 pool[PIPE_POOL];
static int			 npool;
static struct proc_chan		 pchan;	/* to the parent */
static struct proc_chan		 dchan;	/* to the dns child (role.link) */
static struct netd_config	 config;
static struct addrset		 hostaddrs;	/* the host's, live */
static struct event		 ev_term, ev_tick;
static uint64_t			 next_reqid = 1;
static long			 nconns, maxconns;
static unsigned int		 sbx_maxconns;	/* netd_limits.conns, or
						 * less: half of maxconns */
static int			 accept_paused;

#define LEAFWAIT_MAX		64	/* names asked at once per sandbox */


static const struct sandbox_syscall proxy_syscalls[] = {
	SB_ALLOW(read), SB_ALLOW(write), SB_ALLOW(close),
	SB_ALLOW(recvmsg), SB_ALLOW(sendmsg), SB_ALLOW(accept4),
	SB_ALLOW(connect), SB_ALLOW(shutdown),
	/*
	 * TCP over IPv4 and IPv6 only: no AF_UNIX (the host's abstract
	 * sockets), no netlink, no UDP.  connect(2) cannot be filtered by
	 * address; it can only name an address of the socket's family.
	 * Logs go through the parent (common/log.c), not to syslog.
	 */
	SB_ALLOW_ARG2M(socket, 0, AF_INET, 1, 0xf, SOCK_STREAM),
	SB_ALLOW_ARG2M(socket, 0, AF_INET6, 1, 0xf, SOCK_STREAM),
	SB_ALLOW_ARG(getsockopt, 2, SO_ORIGINAL_DST),
	SB_ALLOW_ARG(getsockopt, 2, SO_ERROR),
	SB_ALLOW_ARG(setsockopt, 2, TCP_NODELAY),
	SB_ALLOW(getsockname),
	SB_ALLOW(epoll_wait), SB_ALLOW(epoll_pwait), SB_ALLOW(epoll_ctl),
	SB_ALLOW(poll), SB_ALLOW(rt_sigprocmask), SB_ALLOW(rt_sigaction),
	SB_ALLOW(clock_gettime), SB_ALLOW(gettimeofday), SB_ALLOW(getpid),
	SB_ALLOW(brk), SB_ALLOW(mmap), SB_ALLOW(munmap), SB_ALLOW(mremap),
	SB_ALLOW(madvise), SB_ALLOW(sendto), SB_ALLOW(fcntl),
	SB_ALLOW(pipe2), SB_ALLOW(splice), SB_ALLOW_ARG(ioctl, 1, FIONREAD),
	/* OpenSSL's DRBG reseeds from the kernel: TLS interception */
	SB_ALLOW(getrandom),
};

static void	conn_event(int, short, void *);
static void	conn_timeout(int, short, void *);
static void	conn_update(struct conn *);
static void	conn_connect_next(struct conn *);
static void	oldpols_prune(struct sbx *);
static void	conn_ask(struct conn *, uint32_t, const char *, const char *);
static struct conn *conn_by_reqid(uint32_t, uint64_t, enum cstate);
static void	listener_accept(int, short, void *);
static void	resolved(struct conn *, const struct netd_resolved *);
static int	conns_room(long);
static void	accept_pause(int);
static int	tunnel_sni(struct conn *);
static int	tunnel_http(struct conn *);
static int	tls_start(struct conn *);
static void	tls_step(struct conn *);

uint64_t
ms_since(const struct timespec *t)
{
	struct timespec	 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)(now.tv_sec - t->tv_sec) * 1000 +
	    (now.tv_nsec - t->tv_nsec) / 1000000;
}

static void
ms_timeval(unsigned int ms, struct timeval *tv)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

static time_t
mono_sec(void)
{
	struct timespec	 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec;
}

static uint64_t
mono_ms(void)
{
	struct timespec	 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static struct sbx *
sbx_find(uint32_t id)
{
	struct sbx	*s;

	TAILQ_FOREACH(s, &sbxs, entry)
		if (s->id == id)
			return s;
	return NULL;
}

static uint16_t
ss_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return 0;
}

static void
ss_setport(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

static socklen_t
ss_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6);
}

/* an IPv4-mapped IPv6 address as the IPv4 address it carries */
static void
ss_unmap(struct sockaddr_storage *ss)
{
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in	 s4;

	if (ss->ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		return;
	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	s4.sin_port = s6->sin6_port;
	memcpy(&s4.sin_addr, &s6->sin6_addr.s6_addr[12], 4);
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, &s4, sizeof(s4));
}

/* audit */

static const char *
kind_name(uint32_t kind)
{
	switch (kind) {
	case NETD_L_TRANSPARENT:
		return "transparent";
	case NETD_L_CONNECT:
		return "connect";
	case NETD_L_PUBLISH:
		return "publish";
	}
	return "unknown";
}

static int
audit_send(struct sbx *s, const char *type, json_t *o)
{
	struct netd_audit	 a;
	struct ibuf		*b;
	char			*js;
	size_t			 len;
	int			 rv = -1;

	js = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	if (js == NULL)
		return -1;
	len = strlen(js);
	memset(&a, 0, sizeof(a));
	strlcpy(a.type, type, sizeof(a.type));
	a.detailslen = (uint32_t)len;
	if ((b = imsg_create(&pchan.iev.ibuf, IMSG_NETD_AUDIT, s->id, 0,
	    sizeof(a) + len)) != NULL) {
		if (imsg_add(b, &a, sizeof(a)) == 0 &&
		    imsg_add(b, js, len) == 0) {
			imsg_close(&pchan.iev.ibuf, b);
			imsgev_add(&pchan.iev);
			rv = 0;
		} else
			imsg_abort(b);
	}
	free(js);
	return rv;
}

/* what was held back in the last window: counts are never lost */
static void
audit_flush(struct sbx *s)
{
	struct auditagg	*g = &s->agg;
	json_t		*o;

	if (g->allow + g->deny + g->req_allow + g->req_deny == 0)
		return;
	o = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:s}",
	    "sandbox", s->sandbox, "allowed", (json_int_t)g->allow,
	    "denied", (json_int_t)g->deny,
	    "requests_allowed", (json_int_t)g->req_allow,
	    "requests_denied", (json_int_t)g->req_deny,
	    "bytes_out", (json_int_t)g->bytes_out,
	    "bytes_in", (json_int_t)g->bytes_in,
	    "reason", "flood: events aggregated");
	if (o != NULL && audit_send(s, "net.connect.summary", o) == 0)
		g->allow = g->deny = g->bytes_out = g->bytes_in =
		    g->req_allow = g->req_deny = 0;
	json_decref(o);
}

void
proxy_audit(struct sbx *s, const char *type, json_t *o, int request,
    int deny, uint64_t out, uint64_t in)
{
	struct auditagg	*g = &s->agg;
	time_t		 now = time(NULL);

	if (now != g->window) {
		audit_flush(s);
		g->window = now;
		g->sent = 0;
	}
	if (o != NULL && g->sent < pconf.audit_burst &&
	    audit_send(s, type, o) == 0) {
		g->sent++;
		json_decref(o);
		return;
	}
	json_decref(o);
	if (request) {
		/* its bytes are the connection's too: counted there */
		if (deny)
			g->req_deny++;
		else
			g->req_allow++;
		return;
	}
	if (deny)
		g->deny++;
	else
		g->allow++;
	g->bytes_out += out;
	g->bytes_in += in;
}

static void
audit_conn(struct conn *c, const char *verdict, const char *reason)
{
	struct sbx	*s = c->sbx;
	char		 addr[INET6_ADDRSTRLEN], peer[INET6_ADDRSTRLEN];
	json_t		*o;
	int		 deny = strcmp(verdict, "allow") != 0;	/* or error */

	o = json_pack("{s:s,s:s,s:s,s:i,s:I,s:I,s:I}",
	    "sandbox", s->sandbox, "verdict", verdict,
	    "listener", kind_name(c->kind), "port", (int)c->port,
	    "bytes_out", (json_int_t)c->up.bytes,
	    "bytes_in", (json_int_t)c->down.bytes,
	    "duration_ms", (json_int_t)ms_since(&c->start));
	if (o == NULL)
		goto send;
	if (c->name[0] != '\0')
		json_object_set_new(o, "name", json_string(c->name));
	if (c->proto != NULL)
		json_object_set_new(o, "proto", json_string(c->proto));
	if (c->have_dst)
		json_object_set_new(o, "destination", json_string(
		    addr_str((struct sockaddr *)&c->dst, addr, sizeof(addr))));
	else if (c->orig.ss_family != 0)
		json_object_set_new(o, "destination", json_string(
		    addr_str((struct sockaddr *)&c->orig, addr, sizeof(addr))));
	if (c->kind == NETD_L_PUBLISH && c->peer.ss_family != 0)
		json_object_set_new(o, "peer", json_string(
		    addr_str((struct sockaddr *)&c->peer, peer, sizeof(peer))));
	if (c->rule != NULL)
		json_object_set_new(o, "rule", json_string(c->rule));
	if (reason != NULL)
		json_object_set_new(o, "reason", json_string(reason));
	if (c->tls_terminate && (c->intercept || !c->http))
		json_object_set_new(o, "tls", json_string(c->intercept ?
		    "intercepted" : "passthrough"));
	if (c->hx != NULL)
		httpx_audit_conn(c, o);
 send:
	proxy_audit(s, c->kind == NETD_L_PUBLISH ? "net.publish" :
	    "net.connect", o, 0, deny, c->up.bytes, c->down.bytes);
}

/* one net.limit event per limit that refused something this second */
static void
limit_flush(struct sbx *s)
{
	json_t		*o;
	unsigned int	 max;
	int		 i;

	for (i = 0; i < LIM_N; i++) {
		if (s->refused[i] == 0)
			continue;
		max = i == LIM_RATE ? netd_limits.rate : sbx_maxconns;
		if ((o = limit_event(s->sandbox, lim_names[i], max,
		    s->refused[i])) == NULL)
			continue;	/* counted on, sent next second */
		if (audit_send(s, "net.limit", o) == 0)
			s->refused[i] = 0;
		json_decref(o);
	}
}

/*
 * May this listener's sandbox open one more connection?  No when it
 * holds its share already or opens them faster than its rate: the
 * connection is closed at once, without a slot of anyone else's.
 */
static int
sbx_admit(struct listener *l)
{
	struct sbx	*s = l->sbx;
	int		 pub = l->kind == NETD_L_PUBLISH;

	if ((unsigned int)s->nconns[pub] >= sbx_maxconns) {
		s->refused[pub ? LIM_PUBLISHED : LIM_CONNS]++;
		return -1;
	}
	if (!pub && tbucket_take(&s->rate, netd_limits.rate,
	    netd_limits.burst, mono_ms()) == -1) {
		s->refused[LIM_RATE]++;
		return -1;
	}
	return 0;
}

static void
tick(int fd, short ev, void *arg)
{
	struct timeval	 tv = { 1, 0 };
	struct sbx	*s;
	time_t		 now = time(NULL);

	(void)fd;
	(void)ev;
	(void)arg;
	if (accept_paused && conns_room(FD_RESERVE))
		accept_pause(0);
	TAILQ_FOREACH(s, &sbxs, entry) {
		if (s->agg.window != now) {
			audit_flush(s);
			s->agg.sent = 0;
			s->agg.window = now;
		}
		limit_flush(s);
	}
	evtimer_add(&ev_tick, &tv);
}

/* accept pausing when descriptors run short */

static void
accept_pause(int pause)
{
	struct sbx	*s;
	struct listener	*l;

	if (pause == accept_paused)
		return;
	accept_paused = pause;
	if (pause)
		log_warnx("%ld connections: accepting paused", nconns);
	TAILQ_FOREACH(s, &sbxs, entry)
		TAILQ_FOREACH(l, &s->listeners, entry) {
			if (pause && l->active)
				event_del(&l->ev);
			else if (!pause)
				event_add(&l->ev, NULL);
			l->active = !pause;
		}
}

/* connections */

static void
dir_free(struct dir *d)
{
	free(d->buf);
	d->buf = NULL;
	d->off = d->len = 0;
}

/* descriptors left for connections: pipes count against them */
static int
conns_room(long reserve)
{
	return nconns + (npipefds + 1) / 2 < maxconns - reserve;
}

/*
 * Is this pipe provably empty?  The kernel says so, not only the count
 * a way keeps: a pipe holding one connection's bytes must never carry
 * them into another's.
 */
static int
pipe_empty(int rfd)
{
	int	 n = -1;

	return ioctl(rfd, FIONREAD, &n) == 0 && n == 0;
}

static void
pipe_close(int fd[2])
{
	close(fd[0]);
	close(fd[1]);
	npipefds -= 2;
}

/* an empty pipe goes back to the pool, one holding bytes is closed */
static void
dir_unpipe(struct dir *d)
{
	if (d->pipe[0] == -1)
		return;
	if (d->len == 0 && npool < PIPE_POOL && pipe_empty(d->pipe[0])) {
		pool[npool].fd[0] = d->pipe[0];
		pool[npool].fd[1] = d->pipe[1];
		pool[npool].cap = d->cap;
		npool++;
	} else
		pipe_close(d->pipe);
	d->pipe[0] = d->pipe[1] = -1;
	d->len = 0;
	d->full = 0;
}

/*
 * Does this way go through a pipe?  Only an empty way of a decided
 * connection switches, and only while descriptors are plentiful (the
 * two of every connection come first); else it stays buffered.
 */
static int
dir_piped(struct conn *c, struct dir *d)
{
	int	 sz;

	if (d->pipe[0] != -1)
		return 1;
	if (!c->splice || d->len > 0 || c->sni_check)
		return 0;
	while (npool > 0) {
		npool--;
		/* dir_unpipe pooled it empty: checked again all the same */
		if (!pipe_empty(pool[npool].fd[0])) {
			log_warnx("proxy: a pooled pipe holds bytes: closed");
			pipe_close(pool[npool].fd);
			continue;
		}
		d->pipe[0] = pool[npool].fd[0];
		d->pipe[1] = pool[npool].fd[1];
		d->cap = pool[npool].cap;
		dir_free(d);
		return 1;
	}
	/* never at the cost of a connection's descriptors */
	if (nconns * 2 + npipefds + 2 + 2 * FD_RESERVE > nofile)
		return 0;
	if (pipe2(d->pipe, O_NONBLOCK | O_CLOEXEC) == -1) {
		d->pipe[0] = d->pipe[1] = -1;
		return 0;
	}
	npipefds += 2;
	dir_free(d);
	/* smaller than asked when the user's pipe pages run short */
	(void)fcntl(d->pipe[1], F_SETPIPE_SZ, PIPE_SIZE);
	if ((sz = fcntl(d->pipe[1], F_GETPIPE_SZ)) <= 0)
		sz = 4096;
	d->cap = sz;
	return 1;
}

/* what a way may hold before its source is no longer read */
static size_t
dir_cap(const struct dir *d)
{
	return d->pipe[0] != -1 ? d->cap : PROXY_BUFSZ;
}

static int
dir_space(struct dir *d)
{
	if (d->buf == NULL) {
		if ((d->buf = malloc(PROXY_BUFSZ)) == NULL)
			return -1;
		d->off = d->len = 0;
	}
	if (d->off > 0 && d->off + d->len == PROXY_BUFSZ) {
		memmove(d->buf, d->buf + d->off, d->len);
		d->off = 0;
	}
	return 0;
}

void
conn_close(struct conn *c, const char *reason)
{
	if (c->state != S_DONE)
		audit_conn(c, c->verdict != NULL ? c->verdict :
		    c->state == S_RELAY || c->state == S_HTTP ? "allow" :
		    "error", reason);
	if (event_initialized(&c->cev))
		event_del(&c->cev);
	if (event_initialized(&c->uev))
		event_del(&c->uev);
	evtimer_del(&c->tev);
	httpx_free(c);
	tlsx_leaf_unref(c->leaf);
	free(c->ufail);
	/* the streams own the sockets (and TLS state, when intercepted) */
	c->cs.fd = c->cfd;
	c->us.fd = c->ufd;
	stream_close(&c->cs);
	stream_close(&c->us);
	/* unpiped while the counts still say what the pipes hold */
	dir_unpipe(&c->up);
	dir_unpipe(&c->down);
	dir_free(&c->up);
	dir_free(&c->down);
	TAILQ_REMOVE(&conns, c, entry);
	TAILQ_REMOVE(&c->sbx->conns, c, sentry);
	c->sbx->nconns[c->kind == NETD_L_PUBLISH]--;
	oldpols_prune(c->sbx);
	free(c);
	if (--nconns, conns_room(FD_RESERVE))
		accept_pause(0);
}

void
conn_timer(struct conn *c, unsigned int ms)
{
	struct timeval	 tv;

	ms_timeval(ms, &tv);
	evtimer_add(&c->tev, &tv);
}

/* a short answer to the client, best effort, then close */
static void
conn_respond(struct conn *c, int code, const char *text, const char *body,
    const char *reason)
{
	char	 buf[512];
	int	 n;

	n = snprintf(buf, sizeof(buf), "HTTP/1.1 %d %s\r\n"
	    "Content-Type: text/plain\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n%s", code, text, strlen(body), body);
	/* a fresh socket's send buffer takes it; if not, the close tells */
	if (n > 0 && (size_t)n < sizeof(buf) && write(c->cfd, buf, n) != n)
		log_debug("proxy: short %d response", code);
	conn_close(c, reason);
}

static void
conn_fail(struct conn *c, int code, const char *reason)
{
	char		 body[300];
	const char	*text;

	c->verdict = code == 400 || code == 403 || code == 405 ? "deny" :
	    "error";
	if (c->kind != NETD_L_CONNECT &&
	    !(c->kind == NETD_L_TRANSPARENT && c->proto != NULL &&
	    strcmp(c->proto, "http") == 0 && c->state != S_RELAY)) {
		conn_close(c, reason);
		return;
	}
	switch (code) {
	case 400:
		text = "Bad Request";
		break;
	case 403:
		text = "Forbidden";
		break;
	case 405:
		text = "Method Not Allowed";
		break;
	case 504:
		text = "Gateway Timeout";
		break;
	default:
		code = 502;
		text = "Bad Gateway";
	}
	snprintf(body, sizeof(body), "lens proxy: %s\n", reason);
	conn_respond(c, code, text, body, reason);
}

void
conn_setev(struct conn *c, int fd, struct event *ev, short *cur,
    short want)
{
	if (*cur == want && event_initialized(ev))
		return;
	if (event_initialized(ev))
		event_del(ev);
	*cur = want;
	event_set(ev, fd, want | EV_PERSIST, conn_event, c);
	if (want != 0)
		event_add(ev, NULL);
}

static void
conn_update(struct conn *c)
{
	short	 cw = 0, uw = 0;

	switch (c->state) {
	case S_HTTP:
		return;		/* httpx.c sets its events */
	case S_PEEK:
		cw = EV_READ;
		break;
	case S_CONNECT:
		uw = EV_WRITE;
		break;
	case S_TLS:
		if (c->cs.ssl != NULL && !c->cdone)
			cw = c->cwant;
		if (c->us.ssl != NULL && !c->udone && c->ufail == NULL)
			uw = c->uwant;
		break;
	case S_RELAY:
		if (!c->up.eof && c->up.len < dir_cap(&c->up) && !c->up.full)
			cw |= EV_READ;
		if (c->down.len > 0)
			cw |= EV_WRITE;
		if (!c->down.eof && c->down.len < dir_cap(&c->down) &&
		    !c->down.full)
			uw |= EV_READ;
		if (c->up.len > 0 && !c->sni_check)
			uw |= EV_WRITE;
		break;
	default:
		break;
	}
	if (c->cfd != -1)
		conn_setev(c, c->cfd, &c->cev, &c->cflags, cw);
	if (c->ufd != -1)
		conn_setev(c, c->ufd, &c->uev, &c->uflags, uw);
}

/* start relaying: the client's held bytes go up first */
static void
conn_relay(struct conn *c)
{
	c->state = S_RELAY;
	if (c->tls_terminate && tls_start(c) == 0)
		return;
	if (c->http) {
		/* plain HTTP: every request decided (httpx.c) */
		http_start(c);
		return;
	}
	/* the bytes are not looked at any more: straight through pipes */
	c->splice = !pconf.buffered;
	if (c->kind == NETD_L_CONNECT && !c->forward) {
		static const char ok[] =
		    "HTTP/1.1 200 Connection established\r\n\r\n";

		if (dir_space(&c->down) == -1) {
			conn_close(c, "out of memory");
			return;
		}
		/* the 200 is ours: not counted as the upstream's bytes */
		memcpy(c->down.buf, ok, sizeof(ok) - 1);
		c->down.off = 0;
		c->down.len = sizeof(ok) - 1;
		/* pipelined bytes after the head stay, the head goes */
		c->up.off += c->consumed;
		c->up.len -= c->consumed;
		c->up.bytes -= c->consumed;
	}
	if (c->sni_check && tunnel_sni(c) == -1)
		return;
	if (c->up.len == 0) {
		dir_free(&c->up);
		if (c->up.eof) {
			shutdown(c->ufd, SHUT_WR);
			c->up.shut = 1;
		}
	}
	conn_timer(c, pconf.idle_ms);
	conn_update(c);
}

/*
 * Plain HTTP in a tunnel an http rule allows: once its first head is
 * complete (or the client stops), every request is decided on its own
 * (httpx.c: each must name the tunnel's host).  -1: the relay does not
 * go on (the exchange took the connection, or closed it).
 */
static int
tunnel_http(struct conn *c)
{
	struct peek_http h;
	const char	*why = NULL;

	if (peek_http(c->up.buf + c->up.off, c->up.len, &h, &why) ==
	    PEEK_NEED_MORE && !c->up.eof)
		return 0;
	c->sni_check = 0;
	c->http = 1;
	http_start(c);
	return -1;
}

/*
 * A CONNECT tunnel to a name an http rule allows: when the client
 * speaks TLS in it, its SNI must be that name (no fronting another
 * host behind the allowed one).  The bytes wait until that is known.
 * -1 when the connection was closed.
 */
static int
tunnel_sni(struct conn *c)
{
	char		 sni[NETD_NAME_SIZE], reason[600];
	const char	*why = NULL;
	const uint8_t	*b = c->up.buf != NULL ? c->up.buf + c->up.off : NULL;
	enum peek_result r;

	if (c->up.len == 0) {
		if (c->up.eof)
			c->sni_check = 0;
		return 0;
	}
	switch (peek_proto(b, c->up.len)) {
	case PEEK_P_UNKNOWN:
		if (!c->up.eof)
			return 0;
		/* FALLTHROUGH */
	case PEEK_P_OTHER:
		c->sni_check = 0;
		return 0;
	case PEEK_P_HTTP:
		return tunnel_http(c);
	case PEEK_P_TLS:
		break;
	}
	r = peek_tls(b, c->up.len, sni, &why);
	if (r == PEEK_NEED_MORE && !c->up.eof)
		return 0;
	if (r == PEEK_NONE || (r == PEEK_FOUND && strcmp(sni, c->name) == 0)) {
		c->sni_check = 0;
		return 0;
	}
	if (r == PEEK_FOUND)
		snprintf(reason, sizeof(reason), "SNI %s in a tunnel to %s",
		    sni, c->name);
	else
		snprintf(reason, sizeof(reason), "bad ClientHello in the "
		    "tunnel: %s", why != NULL ? why : "incomplete");
	c->verdict = "deny";
	conn_close(c, reason);
	return -1;
}

/* both ways finished */
static int
conn_finished(struct conn *c)
{
	return c->up.eof && c->up.len == 0 && c->down.eof &&
	    c->down.len == 0;
}

/* -1 when the connection was closed */
static int
dir_read(struct conn *c, struct dir *d, int from, int to)
{
	ssize_t	 n;

	if (dir_piped(c, d)) {
		if (d->len >= d->cap)
			return 0;
		n = splice(from, NULL, d->pipe[1], NULL, d->cap - d->len,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	} else {
		if (dir_space(d) == -1) {
			conn_close(c, "out of memory");
			return -1;
		}
		n = read(from, d->buf + d->off + d->len,
		    PROXY_BUFSZ - d->off - d->len);
	}
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR) {
			/* nothing came: an empty way holds nothing */
			if (d->len == 0) {
				dir_unpipe(d);
				dir_free(d);
			} else if (d->pipe[0] != -1)
				/*
				 * the source was readable, or the pipe is
				 * full: not read again before some of it is
				 * written (no spinning on a full pipe)
				 */
				d->full = 1;
			return 0;
		}
		conn_close(c, NULL);
		return -1;
	}
	if (n == 0) {
		d->eof = 1;
		if (d->len == 0) {
			dir_unpipe(d);
			dir_free(d);
			if (!d->shut) {
				shutdown(to, SHUT_WR);
				d->shut = 1;
			}
		}
		return 0;
	}
	d->len += n;
	d->bytes += n;
	return 0;
}

static int
dir_write(struct conn *c, struct dir *d, int to)
{
	ssize_t	 n;

	if (d->pipe[0] != -1)
		n = splice(d->pipe[0], NULL, to, NULL, d->len,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	else
		n = write(to, d->buf + d->off, d->len);
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		conn_close(c, NULL);
		return -1;
	}
	if (d->pipe[0] == -1)
		d->off += n;
	d->len -= n;
	if (n > 0)
		d->full = 0;
	if (d->len == 0) {
		dir_unpipe(d);
		dir_free(d);
		if (d->eof && !d->shut) {
			shutdown(to, SHUT_WR);
			d->shut = 1;
		}
	}
	return 0;
}

/*
 * Read a way's source and pass it on at once: most writes complete,
 * the interest on both sockets stays read-only and no epoll_ctl is
 * needed per chunk (held while a tunnel's SNI is not yet known).
 * Through a pipe, a few fills per event while the source has more and
 * the destination takes it all.  -1 when the connection was closed.
 */
static int
dir_pass(struct conn *c, struct dir *d, int from, int to)
{
	size_t	 held;
	int	 i;

	for (i = 0; i < SPLICE_ROUNDS && !d->eof; i++) {
		held = d->len;
		if (dir_read(c, d, from, to) == -1)
			return -1;
		if (d->len == held)
			break;		/* nothing more now, or EOF */
		if (d == &c->up && c->sni_check)
			break;
		if (dir_write(c, d, to) == -1)
			return -1;
		if (d->len > 0 || !c->splice)
			break;		/* the destination is full, or buffered */
	}
	return 0;
}

/* -1 when the connection was closed */
static int
conn_relay_event(struct conn *c, int fd, short ev)
{
	if (fd == c->cfd) {
		if ((ev & EV_WRITE) && c->down.len > 0 &&
		    dir_write(c, &c->down, c->cfd) == -1)
			return -1;
		if ((ev & EV_READ) && !c->up.eof &&
		    dir_pass(c, &c->up, c->cfd, c->ufd) == -1)
			return -1;
	} else {
		if ((ev & EV_WRITE) && c->up.len > 0 &&
		    dir_write(c, &c->up, c->ufd) == -1)
			return -1;
		if ((ev & EV_READ) && !c->down.eof &&
		    dir_pass(c, &c->down, c->ufd, c->cfd) == -1)
			return -1;
	}
	return 0;
}

/* decisions */

static struct dnsmap *
dnsmap_lookup(struct sbx *s, const struct sockaddr_storage *a,
    struct dnsmap *after)
{
	struct dnsmap	*m, *next;
	time_t		 now = time(NULL);

	m = after == NULL ? TAILQ_FIRST(&s->dnsmap) : TAILQ_NEXT(after, entry);
	for (; m != NULL; m = next) {
		next = TAILQ_NEXT(m, entry);
		if (m->expires < now) {
			TAILQ_REMOVE(&s->dnsmap, m, entry);
			s->ndnsmap--;
			free(m);
			continue;
		}
		if (addr_same((struct sockaddr *)&m->addr,
		    (struct sockaddr *)a))
			return m;
	}
	return NULL;
}

/*
 * Does the CIDR rule's match text name a range inside the class why?
 * The text is as in lns-policy.yaml(5): "a.b.c.d[/len]:PORTS" or
 * "[v6addr[/len]]:PORTS", an address without len being a /32 or /128.
 * A rule such as 0.0.0.0/0 matches every address but names no private
 * range (doc/DESIGN.md, Network: only a rule naming the CIDR explicitly):
 * it must not open loopback or metadata.
 */
static int
rule_names_class(const char *rule, const char *why)
{
	struct sockaddr_storage	 ss;
	char			 buf[128], *a = buf, *end, *slash;
	const char		*rwhy, *errstr;
	long long		 bits = -1;

	if (rule == NULL || strlcpy(buf, rule, sizeof(buf)) >= sizeof(buf))
		return 0;
	if (buf[0] == '[') {
		a = buf + 1;
		if ((end = strchr(a, ']')) == NULL || end[1] != ':')
			return 0;
	} else if ((end = strrchr(buf, ':')) == NULL)
		return 0;
	*end = '\0';
	if ((slash = strchr(a, '/')) != NULL) {
		*slash = '\0';
		bits = strtonum(slash + 1, 0, 128, &errstr);
		if (errstr != NULL)
			return 0;
	}
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, a, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
		ss.ss_family = AF_INET;
	else if (inet_pton(AF_INET6, a,
	    &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
		ss.ss_family = AF_INET6;
	else
		return 0;
	if (bits == -1)
		bits = ss.ss_family == AF_INET ? 32 : 128;
	/* 10.0.0.0/8 and fc00::/7 are the widest classes a rule may name */
	if (bits < (ss.ss_family == AF_INET ? 8 : 7))
		return 0;
	rwhy = addr_forbidden((struct sockaddr *)&ss, hostaddrs.v,
	    hostaddrs.n);
	return rwhy != NULL && strcmp(rwhy, why) == 0;
}

/*
 * Why address a may not be a destination on port, or NULL: a
 * forbidden class is refused unless a CIDR rule names a range of it.
 */
static const char *
addr_refused(struct conn *c, const struct sockaddr_storage *a,
    const char **rule)
{
	const char	*why;

	why = addr_forbidden((const struct sockaddr *)a, hostaddrs.v,
	    hostaddrs.n);
	if (why == NULL)
		return NULL;
	/* only a rule naming the range, never defaultVerdict: allow */
	*rule = NULL;
	if (policy_tcp_addr(c->sbx->pol, (const struct sockaddr *)a, c->port,
	    rule) == VERDICT_ALLOW && rule_names_class(*rule, why))
		return NULL;
	return why;
}

/* raw TCP to an address: DNS-mapped allowed name, or a CIDR rule */
static void
decide_addr(struct conn *c)
{
	struct dnsmap	*m = NULL;
	const char	*why, *rule = NULL, *askrule = NULL;
	char		 reason[128], askname[NETD_NAME_SIZE] = "";
	int		 allowed = 0;
	enum verdict	 v;

	c->proto = c->proto == NULL ? "tcp" : c->proto;
	while ((m = dnsmap_lookup(c->sbx, &c->orig, m)) != NULL) {
		v = policy_tcp_name(c->sbx->pol, m->name, c->port, &rule);
		if (v == VERDICT_ALLOW || (v == VERDICT_ASK && c->approved &&
		    strcmp(m->name, c->name) == 0)) {
			strlcpy(c->name, m->name, sizeof(c->name));
			c->rule = rule;
			allowed = 1;
			break;
		}
		if (v == VERDICT_ASK && askname[0] == '\0') {
			strlcpy(askname, m->name, sizeof(askname));
			askrule = rule;
		}
	}
	if (!allowed && policy_tcp_addr(c->sbx->pol,
	    (const struct sockaddr *)&c->orig, c->port, &rule) ==
	    VERDICT_ALLOW) {
		c->rule = rule;
		allowed = 1;
	}
	if (!allowed && askname[0] != '\0' && !c->approved) {
		/* held until an operator answers (approval.c) */
		strlcpy(c->name, askname, sizeof(c->name));
		c->rule = askrule;
		c->ask_tcp = -1;	/* answered: decide_addr again */
		conn_ask(c, NETD_ASK_TCP, askrule, "");
		return;
	}
	if (!allowed) {
		conn_fail(c, 403, "policy: address not handed out by lensnetd "
		    "DNS for an allowed name, and no CIDR rule");
		return;
	}
	if ((why = addr_refused(c, &c->orig, &rule)) != NULL) {
		snprintf(reason, sizeof(reason), "forbidden address (%s)", why);
		conn_fail(c, 403, reason);
		return;
	}
	c->addrs[0] = c->orig;
	c->naddrs = 1;
	c->curaddr = 0;
	conn_connect_next(c);
}

/* by name: HTTP/TLS rules (or tcp rules through CONNECT), then resolve */
static void
decide_name(struct conn *c, int tcp_too)
{
	struct policy_http_decision d;
	struct netd_resolve	 r;
	struct netd_resolved	 rr;
	const struct rcache_entry *e;
	const char		*rule = NULL;
	enum verdict		 tv = VERDICT_DENY;

	memset(&d, 0, sizeof(d));
	policy_http(c->sbx->pol, c->name, c->port, &d);
	/* answered allow once: the ask is this connection's allow */
	if (d.verdict == VERDICT_ASK && c->approved)
		d.verdict = VERDICT_ALLOW;
	if (d.verdict == VERDICT_ALLOW) {
		c->rule = d.rule;
		c->tls_terminate = d.tls_terminate;
		c->cafile = d.cafile;
		/* a tunnel allowed as HTTP(S): its TLS must name the same host */
		c->sni_check = c->kind == NETD_L_CONNECT && !c->forward;
	} else if (tcp_too && ((tv = policy_tcp_name(c->sbx->pol, c->name,
	    c->port, &rule)) == VERDICT_ALLOW || (tv == VERDICT_ASK &&
	    c->approved))) {
		c->rule = rule;
	} else if (d.verdict == VERDICT_ASK || tv == VERDICT_ASK) {
		/* held until an operator answers (approval.c) */
		c->rule = d.verdict == VERDICT_ASK ? d.rule : rule;
		c->ask_tcp = tcp_too;
		conn_ask(c, d.verdict != VERDICT_ASK ? NETD_ASK_TCP :
		    c->proto != NULL && strcmp(c->proto, "tls") == 0 ?
		    NETD_ASK_TLS : NETD_ASK_HTTP, c->rule, "");
		return;
	} else {
		c->rule = d.rule;
		conn_fail(c, 403, "policy: name not allowed");
		return;
	}
	/*
	 * what lensnetd resolved this name to lately: the same addresses
	 * a NETD_RESOLVE would bring, judged again in resolved()
	 */
	if ((e = rcache_get(&c->sbx->rc, c->name, mono_sec())) != NULL) {
		memset(&rr, 0, sizeof(rr));
		rr.naddrs = e->naddrs;
		memcpy(rr.addrs, e->addrs, e->naddrs * sizeof(e->addrs[0]));
		c->cached = 1;
		resolved(c, &rr);
		return;
	}
	memset(&r, 0, sizeof(r));
	r.reqid = c->reqid = next_reqid++;
	strlcpy(r.name, c->name, sizeof(r.name));
	if (imsgev_compose(&dchan.iev, IMSG_NETD_RESOLVE, c->sbx->id, 0, -1, &r,
	    sizeof(r)) == -1) {
		conn_fail(c, 502, "resolver queue full");
		return;
	}
	/* the connection waits for it: sent now, not on the next turn */
	/* an error shows in the dispatch */
	(void)imsg_write(&dchan.iev.ibuf);
	imsgev_add(&dchan.iev);
	c->state = S_RESOLVE;
	conn_update(c);
	conn_timer(c, pconf.resolve_ms);
}

static void
resolved(struct conn *c, const struct netd_resolved *r)
{
	const char	*why = NULL, *rule = NULL;
	char		 reason[400];
	uint32_t	 i;

	c->naddrs = 0;
	if (r->naddrs == 0 && r->nstripped > 0 &&
	    (r->stripped.ss_family == AF_INET ||
	    r->stripped.ss_family == AF_INET6) &&
	    memchr(r->stripped_why, '\0', sizeof(r->stripped_why)) != NULL &&
	    r->stripped_why[0] != '\0' && r->stripped_why[strspn(
	    r->stripped_why, "abcdefghijklmnopqrstuvwxyz0123456789-")] ==
	    '\0') {
		/*
		 * every address it had was refused by lensnetd's resolver:
		 * say which and why (the class is addr_forbidden's word,
		 * checked to be one before it goes into a body)
		 */
		struct sockaddr_storage a = r->stripped;
		char host[INET6_ADDRSTRLEN], more[48] = "";

		if (inet_ntop(a.ss_family, a.ss_family == AF_INET ?
		    (void *)&((struct sockaddr_in *)&a)->sin_addr :
		    (void *)&((struct sockaddr_in6 *)&a)->sin6_addr, host,
		    sizeof(host)) == NULL)
			strlcpy(host, "?", sizeof(host));
		if (r->nstripped > 1)
			snprintf(more, sizeof(more), " and %u more refused "
			    "address%s", r->nstripped - 1,
			    r->nstripped > 2 ? "es" : "");
		snprintf(reason, sizeof(reason), "%s resolves only to %s (%s "
		    "range)%s, refused", c->name, host, r->stripped_why, more);
		conn_fail(c, 502, reason);
		return;
	}
	if (r->error != 0 || r->naddrs == 0) {
		snprintf(reason, sizeof(reason), "cannot resolve %s (%d)",
		    c->name, (int)r->error);
		conn_fail(c, 502, reason);
		return;
	}
	for (i = 0; i < r->naddrs && i < NETD_MAXADDRS; i++) {
		struct sockaddr_storage a = r->addrs[i];
		const char *w;

		if (a.ss_family != AF_INET && a.ss_family != AF_INET6)
			continue;
		ss_unmap(&a);
		if ((w = addr_refused(c, &a, &rule)) != NULL) {
			why = w;
			continue;
		}
		c->addrs[c->naddrs++] = a;
	}
	if (c->naddrs == 0) {
		snprintf(reason, sizeof(reason), "%s resolves to a forbidden "
		    "address (%s)", c->name, why != NULL ? why : "no address");
		conn_fail(c, 403, reason);
		return;
	}
	c->curaddr = 0;
	conn_connect_next(c);
}

static void
conn_connect_next(struct conn *c)
{
	struct sockaddr_storage	*a;
	const char		*why, *refused = NULL, *rule = NULL;
	char			 reason[128];
	int			 fd;

	for (; c->curaddr < c->naddrs; c->curaddr++) {
		a = &c->addrs[c->curaddr];
		/*
		 * judged again right before connect(2), against the host's
		 * addresses as they are now (an interface may have come up
		 * since the name was resolved or the decision made)
		 */
		if ((why = addr_refused(c, a, &rule)) != NULL) {
			refused = why;
			continue;
		}
		ss_setport(a, c->port);
		fd = socket(a->ss_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (fd == -1) {
			conn_fail(c, 502, "socket: out of descriptors");
			return;
		}
		if (connect(fd, (struct sockaddr *)a, ss_len(a)) == -1 &&
		    errno != EINPROGRESS) {
			close(fd);
			continue;
		}
		c->ufd = fd;
		c->dst = *a;
		c->have_dst = 1;
		c->state = S_CONNECT;
		conn_update(c);
		conn_timer(c, pconf.connect_ms);
		return;
	}
	/* stale addresses, maybe: the next connection asks again */
	if (c->cached)
		rcache_del(&c->sbx->rc, c->name);
	if (refused != NULL) {
		snprintf(reason, sizeof(reason), "forbidden address (%s)",
		    refused);
		conn_fail(c, 403, reason);
		return;
	}
	conn_fail(c, c->timedout ? 504 : 502, c->timedout ?
	    "upstream connect timed out" : "upstream connect failed");
}

static void
conn_drop_upstream(struct conn *c)
{
	if (event_initialized(&c->uev))
		event_del(&c->uev);
	memset(&c->uev, 0, sizeof(c->uev));
	c->uflags = 0;
	if (c->ufd != -1)
		close(c->ufd);
	c->ufd = -1;
	c->have_dst = 0;
}

static void
conn_connected(struct conn *c)
{
	int		 err = 0, one = 1;
	socklen_t	 len = sizeof(err);

	if (getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		conn_drop_upstream(c);
		c->curaddr++;
		conn_connect_next(c);
		return;
	}
	(void)setsockopt(c->ufd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	conn_relay(c);
}

static void
peek_decide(struct conn *c, int timedout)
{
	struct peek_http h;
	enum peek_result r;
	const char	*why = NULL, *tgt;
	const uint8_t	*b = c->up.buf != NULL ? c->up.buf + c->up.off : NULL;
	size_t		 n = c->up.len, cut;
	uint16_t	 hport;
	int		 isip, rv;
	char		 reason[400], host[NETD_NAME_SIZE];

	if (c->kind == NETD_L_CONNECT) {
		c->proto = "http";
		r = n == 0 ? PEEK_NEED_MORE : peek_http(b, n, &h, &why);
		if (r == PEEK_NEED_MORE) {
			if (timedout || c->up.eof)
				conn_fail(c, timedout ? 504 : 400, timedout ?
				    "timed out reading the request" :
				    "request head ended early");
			return;
		}
		if (r == PEEK_BAD) {
			snprintf(reason, sizeof(reason), "bad request: %s",
			    why);
			conn_fail(c, 400, reason);
			return;
		}
		tgt = (const char *)b + h.target_off;
		if (strcmp(h.method, "CONNECT") != 0) {
			if (h.target_len < 7 ||
			    strncasecmp(tgt, "http://", 7) != 0) {
				conn_fail(c, 405, "only CONNECT and absolute "
				    "http:// requests are proxied here");
				return;
			}
			/*
			 * plain HTTP through the proxy port: each request
			 * decided, sent on in origin form (httpx.c)
			 */
			rv = http_host(b, &h, NULL, host, &c->port, &isip,
			    &cut, &why);
			if (rv == 0 && !isip)
				strlcpy(c->name, host, sizeof(c->name));
			if (rv == -1) {
				snprintf(reason, sizeof(reason), "bad forward "
				    "request: %s", why);
				conn_fail(c, 400, reason);
				return;
			}
			if (c->port == 0)
				c->port = 80;
			c->forward = 1;
			c->http = 1;
		} else {
			if (peek_hostport(tgt, h.target_len, 1, host,
			    sizeof(host), &c->port, &isip, &why) == -1) {
				snprintf(reason, sizeof(reason), "bad CONNECT "
				    "target: %s", why);
				conn_fail(c, 400, reason);
				return;
			}
			c->consumed = h.headlen;
			c->proto = "connect";
		}
		if (isip) {
			struct sockaddr_in	*s4 = (struct sockaddr_in *)&c->orig;
			struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)&c->orig;

			memset(&c->orig, 0, sizeof(c->orig));
			if (isip == 4) {
				s4->sin_family = AF_INET;
				inet_pton(AF_INET, host, &s4->sin_addr);
			} else {
				s6->sin6_family = AF_INET6;
				inet_pton(AF_INET6, host, &s6->sin6_addr);
			}
			ss_unmap(&c->orig);
			ss_setport(&c->orig, c->port);
			evtimer_del(&c->tev);
			decide_addr(c);
			return;
		}
		strlcpy(c->name, host, sizeof(c->name));
		evtimer_del(&c->tev);
		/* a tunnel may carry any TCP a tcp rule allows; a request not */
		decide_name(c, !c->forward);
		return;
	}

	/* transparent */
	switch (n == 0 ? PEEK_P_UNKNOWN : peek_proto(b, n)) {
	case PEEK_P_UNKNOWN:
		if (!timedout && !c->up.eof)
			return;
		if (n > 0) {
			conn_fail(c, 400, "first bytes undecided at timeout");
			return;
		}
		/* nothing sent: a server-speaks-first protocol */
		break;
	case PEEK_P_OTHER:
		break;
	case PEEK_P_TLS:
		c->proto = "tls";
		r = peek_tls(b, n, c->name, &why);
		if (r == PEEK_NEED_MORE) {
			if (timedout || c->up.eof)
				conn_fail(c, 400, "incomplete ClientHello");
			return;
		}
		if (r == PEEK_BAD) {
			snprintf(reason, sizeof(reason), "bad ClientHello: %s",
			    why);
			conn_fail(c, 400, reason);
			return;
		}
		if (r == PEEK_FOUND) {
			evtimer_del(&c->tev);
			decide_name(c, 0);
			return;
		}
		break;
	case PEEK_P_HTTP:
		c->proto = "http";
		r = peek_http(b, n, &h, &why);
		if (r == PEEK_NEED_MORE) {
			if (timedout || c->up.eof)
				conn_fail(c, 400, timedout ?
				    "timed out reading the request" :
				    "request head ended early");
			return;
		}
		if (r == PEEK_BAD) {
			snprintf(reason, sizeof(reason), "bad request: %s",
			    why);
			conn_fail(c, 400, reason);
			return;
		}
		if (r == PEEK_FOUND && !h.host_is_ip) {
			/* Host and an absolute-form target agree */
			strlcpy(c->name, h.host, sizeof(c->name));
			if (http_host(b, &h, NULL, host, &hport, &isip, &cut,
			    &why) == -1) {
				snprintf(reason, sizeof(reason), "bad request: "
				    "%s", why);
				conn_fail(c, 400, reason);
				return;
			}
			c->http = 1;
			evtimer_del(&c->tev);
			decide_name(c, 0);
			return;
		}
		break;
	}
	evtimer_del(&c->tev);
	decide_addr(c);
}

static void
conn_peek_read(struct conn *c)
{
	ssize_t	 n;

	if (dir_space(&c->up) == -1) {
		conn_close(c, "out of memory");
		return;
	}
	n = read(c->cfd, c->up.buf + c->up.len, PEEK_MAX - c->up.len);
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		conn_close(c, "client reset while the proxy was peeking");
		return;
	}
	if (n == 0) {
		c->up.eof = 1;
		if (c->up.len == 0 && c->kind == NETD_L_CONNECT) {
			conn_close(c, "closed before sending anything");
			return;
		}
	}
	c->up.len += n;
	c->up.bytes += n;
	if (c->up.len == (size_t)n && n > 0)
		/* first bytes: the whole hello or head within peek_ms */
		conn_timer(c, pconf.peek_ms);
	/* may close c: nothing after it */
	peek_decide(c, 0);
}

static void
conn_event(int fd, short ev, void *arg)
{
	struct conn	*c = arg;

	switch (c->state) {
	case S_PEEK:
		conn_peek_read(c);
		return;
	case S_CONNECT:
		conn_connected(c);
		return;
	case S_TLS:
		tls_step(c);
		return;
	case S_RELAY:
		if (conn_relay_event(c, fd, ev) == -1)
			return;
		if (c->sni_check && tunnel_sni(c) == -1)
			return;
		break;
	case S_HTTP:
		httpx_event(c, fd, ev);
		return;
	default:
		return;
	}
	if (conn_finished(c)) {
		conn_close(c, NULL);
		return;
	}
	conn_timer(c, pconf.idle_ms);
	conn_update(c);
}

static void
conn_timeout(int fd, short ev, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)ev;
	switch (c->state) {
	case S_PEEK:
		peek_decide(c, 1);
		return;
	case S_RESOLVE:
		conn_fail(c, 504, "resolving timed out");
		return;
	case S_INWARD:
		conn_close(c, "no inward socket from the parent");
		return;
	case S_CONNECT:
		conn_drop_upstream(c);
		c->timedout = 1;
		c->curaddr++;
		conn_connect_next(c);
		return;
	case S_TLS:
		conn_close(c, c->ufail != NULL ? c->ufail : c->cs.ssl != NULL ?
		    "TLS handshake with the sandbox timed out" : c->leaf_wait ?
		    "no leaf certificate from lenscredd in time" :
		    "upstream TLS handshake timed out");
		return;
	case S_RELAY:
		conn_close(c, "idle timeout");
		return;
	case S_HTTP:
		httpx_timeout(c);
		return;
	case S_ASK:
		conn_fail(c, 403, "policy: ask unanswered");
		return;
	default:
		return;
	}
}

static struct conn *
conn_new(struct listener *l, int fd)
{
	struct conn	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->up.pipe[0] = c->up.pipe[1] = -1;
	c->down.pipe[0] = c->down.pipe[1] = -1;
	c->sbx = l->sbx;
	c->kind = l->kind;
	c->cfd = fd;
	c->ufd = -1;
	c->cs.fd = c->us.fd = -1;
	c->polgen = l->sbx->polgen;
	clock_gettime(CLOCK_MONOTONIC, &c->start);
	evtimer_set(&c->tev, conn_timeout, c);
	TAILQ_INSERT_TAIL(&conns, c, entry);
	TAILQ_INSERT_TAIL(&l->sbx->conns, c, sentry);
	l->sbx->nconns[c->kind == NETD_L_PUBLISH]++;
	if (++nconns, !conns_room(0))
		accept_pause(1);
	return c;
}

static void
listener_accept(int fd, short ev, void *arg)
{
	struct listener		*l = arg;
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	struct conn		*c;
	struct netd_inward	 in;
	int			 s, level, opt;

	(void)ev;
	if ((s = accept4(fd, (struct sockaddr *)&ss, &len,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1) {
		if (errno == EMFILE || errno == ENFILE) {
			log_warnx("accept: out of descriptors");
			accept_pause(1);
		}
		return;
	}
	if (sbx_admit(l) == -1) {
		close(s);
		return;
	}
	if ((c = conn_new(l, s)) == NULL) {
		close(s);
		return;
	}
	c->peer = ss;
	switch (l->kind) {
	case NETD_L_TRANSPARENT:
		len = sizeof(c->orig);
		level = l->family == AF_INET6 ? SOL_IPV6 : SOL_IP;
		opt = l->family == AF_INET6 ? IP6T_SO_ORIGINAL_DST :
		    SO_ORIGINAL_DST;
		if (getsockopt(s, level, opt, &c->orig, &len) == -1) {
			conn_close(c, "no original destination "
			    "(not redirected)");
			return;
		}
		ss_unmap(&c->orig);
		c->port = ss_port(&c->orig);
		c->state = S_PEEK;
		conn_update(c);
		conn_timer(c, pconf.peek_first_ms);
		break;
	case NETD_L_CONNECT:
		c->state = S_PEEK;
		conn_update(c);
		conn_timer(c, pconf.peek_ms);
		break;
	case NETD_L_PUBLISH:
		c->port = l->port;
		c->proto = "tcp";
		memset(&in, 0, sizeof(in));
		in.reqid = c->reqid = next_reqid++;
		in.port = l->port;
		if (imsgev_compose(&pchan.iev, IMSG_NETD_INWARD_REQUEST,
		    l->sbx->id, 0, -1, &in, sizeof(in)) == -1) {
			conn_close(c, "parent queue full");
			return;
		}
		c->state = S_INWARD;
		conn_timer(c, pconf.connect_ms);
		break;
	}
}

/* free the replaced policies no connection of s can point into */
static void
oldpols_prune(struct sbx *s)
{
	struct oldpol	*o;
	struct conn	*c;
	uint64_t	 min = s->polgen;

	if (TAILQ_EMPTY(&s->oldpols))
		return;
	TAILQ_FOREACH(c, &s->conns, sentry)
		if (c->polgen < min)
			min = c->polgen;
	while ((o = TAILQ_FIRST(&s->oldpols)) != NULL && o->gen < min) {
		TAILQ_REMOVE(&s->oldpols, o, entry);
		policy_free(o->pol);
		free(o);
	}
}

/*
 * Hold c (nothing read, nothing forwarded) and ask the parent: an
 * operator answers through lensctl (lensnetd/approval.c); NETD_ANSWER
 * comes back by c->reqid.  The parent always answers (decision,
 * timeout, audit down, sandbox gone); the timer is a backstop.
 */
int
proxy_ask(struct conn *c, uint32_t kind, const char *rule, const char *what)
{
	struct netd_ask	 a;

	memset(&a, 0, sizeof(a));
	a.reqid = c->reqid = next_reqid++;
	a.kind = kind;
	a.port = c->port;
	strlcpy(a.name, c->name, sizeof(a.name));
	if (rule != NULL)
		strlcpy(a.rule, rule, sizeof(a.rule));
	strlcpy(a.what, what, sizeof(a.what));
	return imsgev_compose(&pchan.iev, IMSG_NETD_ASK, c->sbx->id, 0, -1,
	    &a, sizeof(a));
}

static void
conn_ask(struct conn *c, uint32_t kind, const char *rule, const char *what)
{
	if (proxy_ask(c, kind, rule, what) == -1) {
		conn_fail(c, 403, "policy: ask, and the parent cannot take it");
		return;
	}
	c->state = S_ASK;
	c->verdict = "ask";
	conn_update(c);
	conn_timer(c, ASK_BACKSTOP_MS);
}

static const char *
msg_answer(struct imsg *im)
{
	struct netd_answer	 a;
	struct conn		*c;
	char			 why[sizeof(a.why) + 16];

	memcpy(&a, im->data, sizeof(a));
	if (a.allow > 1 || memchr(a.why, '\0', sizeof(a.why)) == NULL)
		return "NETD_ANSWER malformed";
	if ((c = conn_by_reqid(im->hdr.peerid, a.reqid, S_ASK)) == NULL) {
		/* a request held on an HTTP exchange (httpx.c), or gone */
		if ((c = conn_by_reqid(im->hdr.peerid, a.reqid, S_HTTP)) !=
		    NULL)
			httpx_answer(c, a.allow, a.why);
		return NULL;
	}
	evtimer_del(&c->tev);
	c->verdict = NULL;
	if (!a.allow) {
		snprintf(why, sizeof(why), "policy: %s", a.why);
		conn_fail(c, 403, why);
		return NULL;
	}
	c->approved = 1;
	/* judged again by the policy as it is now: a deny since wins */
	if (c->ask_tcp == -1)
		decide_addr(c);
	else
		decide_name(c, c->ask_tcp);
	return NULL;
}

static struct conn *
conn_by_reqid(uint32_t sbx, uint64_t reqid, enum cstate st)
{
	struct sbx	*s;
	struct conn	*c;

	if ((s = sbx_find(sbx)) == NULL)
		return NULL;
	TAILQ_FOREACH(c, &s->conns, sentry)
		if (c->reqid == reqid && c->state == st)
			return c;
	return NULL;
}

static void
inward_socket(struct conn *c, int fd)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&c->orig;

	memset(&c->orig, 0, sizeof(c->orig));
	sin->sin_family = AF_INET;
	sin->sin_addr = c->sbx->addr;
	sin->sin_port = htons(c->port);
	c->dst = c->orig;
	c->have_dst = 1;
	if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1 ||
	    (connect(fd, (struct sockaddr *)&c->orig, sizeof(*sin)) == -1 &&
	    errno != EINPROGRESS)) {
		close(fd);
		conn_close(c, "cannot connect into the sandbox");
		return;
	}
	c->ufd = fd;
	c->naddrs = 0;
	c->state = S_CONNECT;
	conn_update(c);
	conn_timer(c, pconf.connect_ms);
}

/*
 * TLS interception (tlsx.h).  A connection whose rule says
 * tlsTerminate, its upstream connected, is not passed through: the
 * proxy speaks TLS to the upstream itself (the name, verified) and to
 * the sandbox with a leaf for the name from the sandbox's CA, which
 * lenscredd signs (NETD_LEAF_REQ through the parent; kept per sandbox
 * and name by tlsx).  Both handshakes run at once; the client's ends
 * first only when it is the upstream that failed: the sandbox then
 * reads a 502 saying why.  Without a leaf (lenscredd away, no CA for
 * the sandbox) the client gets a TLS alert: fail closed, audited.
 */

/* a fatal internal_error alert, as a TLS 1.2 record: before any handshake */
static void
tls_alert_close(struct conn *c, const char *verdict, const char *reason)
{
	static const uint8_t	 alert[] = { 0x15, 0x03, 0x03, 0x00, 0x02,
	    0x02, 0x50 };

	if (c->cs.ssl == NULL && write(c->cfd, alert, sizeof(alert)) !=
	    (ssize_t)sizeof(alert))
		log_debug("proxy: alert not sent");
	c->verdict = verdict;
	conn_close(c, reason);
}

/* ask the parent for a leaf for c->name, once per sandbox and name */
static void
tls_leaf(struct conn *c)
{
	struct sbx		*s = c->sbx;
	struct leafwait		*w;
	struct netd_leaf_req	 lr;

	if ((c->leaf = tlsx_cache_get(s->id, c->name, time(NULL))) != NULL)
		return;
	c->leaf_wait = 1;
	TAILQ_FOREACH(w, &s->leafwaits, entry)
		if (strcasecmp(w->name, c->name) == 0)
			return;		/* asked already: it waits too */
	if (s->nleafwaits >= LEAFWAIT_MAX) {
		c->leaf_wait = 0;
		return;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		c->leaf_wait = 0;
		return;
	}
	memset(&lr, 0, sizeof(lr));
	w->reqid = lr.reqid = next_reqid++;
	strlcpy(w->name, c->name, sizeof(w->name));
	strlcpy(lr.name, c->name, sizeof(lr.name));
	if (imsgev_compose(&pchan.iev, IMSG_NETD_LEAF_REQ, s->id, 0, -1, &lr,
	    sizeof(lr)) == -1) {
		free(w);
		c->leaf_wait = 0;
		return;
	}
	(void)imsg_write(&pchan.iev.ibuf);
	imsgev_add(&pchan.iev);
	TAILQ_INSERT_TAIL(&s->leafwaits, w, entry);
	s->nleafwaits++;
}

int
proxy_resolve(struct conn *c, const char *name, uint64_t reqid)
{
	struct netd_resolve	 r;

	memset(&r, 0, sizeof(r));
	r.reqid = reqid;
	if (strlcpy(r.name, name, sizeof(r.name)) >= sizeof(r.name) ||
	    imsgev_compose(&dchan.iev, IMSG_NETD_RESOLVE, c->sbx->id, 0, -1,
	    &r, sizeof(r)) == -1)
		return -1;
	(void)imsg_write(&dchan.iev.ibuf);
	imsgev_add(&dchan.iev);
	return 0;
}

#ifdef REGRESS
/*
 * Test-only (-DREGRESS): LENS_REGRESS_EXCHREQ=F1,F2,... makes the proxy
 * forge its n-th NETD_EXCH_REQ as Fn says, as a compromised proxy
 * would; "-" or the list's end: sent as is.  Fn is cred=N, host=NAME,
 * port=N, family=N, nonul (host without its NUL), sandbox=N (the
 * peer id: lensnetd's sandbox number), sandbox+N (the sender's + N).
 * The parent must refuse each (exchreq.c).
 */
static int
exch_req_regress_forge(struct netd_exch_req *er, uint32_t *peer)
{
	static unsigned int	 nreq;
	const char		*want, *f;
	char			 one[300];
	size_t			 len;
	unsigned int		 k;

	if ((want = getenv("LENS_REGRESS_EXCHREQ")) == NULL)
		return 0;
	for (f = want, k = 0; k < nreq && f != NULL; k++)
		if ((f = strchr(f, ',')) != NULL)
			f++;
	nreq++;
	if (f == NULL)
		return 0;
	len = strcspn(f, ",");
	if (len >= sizeof(one))
		return -1;
	memcpy(one, f, len);
	one[len] = '\0';
	if (strncmp(one, "cred=", 5) == 0)
		er->cred = strtoul(one + 5, NULL, 10);
	else if (strncmp(one, "host=", 5) == 0)
		strlcpy(er->host, one + 5, sizeof(er->host));
	else if (strncmp(one, "port=", 5) == 0)
		er->port = strtoul(one + 5, NULL, 10);
	else if (strncmp(one, "family=", 7) == 0)
		er->family = strtoul(one + 7, NULL, 10);
	else if (strcmp(one, "nonul") == 0)
		memset(er->host, 'a', sizeof(er->host));
	else if (strncmp(one, "sandbox=", 8) == 0)
		*peer = strtoul(one + 8, NULL, 10);
	else if (strncmp(one, "sandbox+", 8) == 0)
		*peer += strtoul(one + 8, NULL, 10);
	else if (strcmp(one, "-") != 0)
		return -1;
	log_info("regress: proxy forges exchange request %u: %s", nreq, one);
	return 0;
}
#endif

int
proxy_exch_req(struct conn *c, size_t cred, uint64_t id,
    const struct sockaddr_storage *token)
{
	return proxy_exch_req_to(c, c->name, c->port, &c->dst, cred, id,
	    token);
}

int
proxy_exch_req_to(struct conn *c, const char *host, uint16_t port,
    const struct sockaddr_storage *dst, size_t cred, uint64_t id,
    const struct sockaddr_storage *token)
{
	struct netd_exch_req	 er;
	uint32_t		 peer = c->sbx->id;

	memset(&er, 0, sizeof(er));
	er.reqid = id;
	er.cred = (uint32_t)cred;
	er.port = port;
	if (strlcpy(er.host, host, sizeof(er.host)) >= sizeof(er.host))
		return -1;
	if (dst->ss_family == AF_INET) {
		er.family = AF_INET;
		memcpy(er.addr, &((const struct sockaddr_in *)dst)->sin_addr,
		    4);
	} else if (dst->ss_family == AF_INET6) {
		er.family = AF_INET6;
		memcpy(er.addr, &((const struct sockaddr_in6 *)dst)->
		    sin6_addr, 16);
	} else
		return -1;
	if (token != NULL && token->ss_family == AF_INET) {
		er.token_family = AF_INET;
		memcpy(er.token_addr, &((const struct sockaddr_in *)token)->
		    sin_addr, 4);
	} else if (token != NULL && token->ss_family == AF_INET6) {
		er.token_family = AF_INET6;
		memcpy(er.token_addr, &((const struct sockaddr_in6 *)token)->
		    sin6_addr, 16);
	} else if (token != NULL)
		return -1;
#ifdef REGRESS
	if (exch_req_regress_forge(&er, &peer) == -1)
		return -1;
#endif
	if (imsgev_compose(&pchan.iev, IMSG_NETD_EXCH_REQ, peer, 0, -1,
	    &er, sizeof(er)) == -1)
		return -1;
	(void)imsg_write(&pchan.iev.ibuf);
	imsgev_add(&pchan.iev);
	return 0;
}

/* -1 when it keeps the connection as it was (not TLS to intercept) */
static int
tls_start(struct conn *c)
{
	static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	struct sbxca	*ca;
	X509_STORE	*st = NULL;

	/* plain HTTP (transparent or forwarded) has nothing to terminate */
	if (c->kind == NETD_L_CONNECT ? c->forward :
	    c->proto == NULL || strcmp(c->proto, "tls") != 0)
		return -1;
	c->intercept = 1;
	c->state = S_TLS;
	if (c->kind == NETD_L_CONNECT) {
		/* a fresh socket's send buffer takes it */
		if (write(c->cfd, ok, sizeof(ok) - 1) != sizeof(ok) - 1) {
			conn_close(c, "cannot answer the CONNECT");
			return 0;
		}
		c->up.off += c->consumed;
		c->up.len -= c->consumed;
	}
	/* from now on: what goes through the TLS streams, decrypted */
	c->up.bytes = c->down.bytes = 0;
	if (c->cafile != NULL) {
		char	 reason[400];

		TAILQ_FOREACH(ca, &c->sbx->cafiles, entry)
			if (strcmp(ca->name, c->cafile) == 0)
				break;
		if (ca == NULL || ca->st == NULL) {
			snprintf(reason, sizeof(reason), "caFile %s: %s",
			    c->cafile, ca == NULL ? "not loaded" : ca->err);
			tls_alert_close(c, "error", reason);
			return 0;
		}
		st = ca->st;
	}
	if ((c->us.ssl = tlsx_connect(c->ufd, c->name, st)) == NULL) {
		tls_alert_close(c, "error", "cannot make the upstream TLS "
		    "connection");
		return 0;
	}
	tls_leaf(c);
	conn_timer(c, pconf.tls_ms);
	tls_step(c);
	return 0;
}

static void
tls_step(struct conn *c)
{
	char		 err[300], reason[700], body[800];
	const char	*sni;
	int		 r, n;

	if (c->us.ssl != NULL && !c->udone && c->ufail == NULL) {
		r = tlsx_handshake(c->us.ssl, &c->uwant, err, sizeof(err));
		if (r == 1)
			c->udone = 1;
		else if (r == -1) {
			snprintf(reason, sizeof(reason), "upstream %s: %s",
			    c->name, err);
			if ((c->ufail = strdup(reason)) == NULL) {
				conn_close(c, reason);
				return;
			}
		}
	}
	if (c->leaf == NULL && !c->leaf_wait) {
		snprintf(reason, sizeof(reason), "no leaf certificate for %s "
		    "(too many asked at once)%s%s", c->name,
		    c->ufail != NULL ? "; " : "", c->ufail != NULL ?
		    c->ufail : "");
		tls_alert_close(c, "error", reason);
		return;
	}
	if (c->leaf != NULL && c->cs.ssl == NULL) {
		c->cs.ssl = tlsx_accept(c->leaf, c->cfd, c->name, c->up.len > 0 ?
		    c->up.buf + c->up.off : NULL, c->up.len);
		if (c->cs.ssl == NULL) {
			tls_alert_close(c, "error", "cannot make the sandbox's "
			    "TLS connection");
			return;
		}
		/* the peeked bytes are the SSL's now */
		c->up.off = c->up.len = 0;
		dir_free(&c->up);
	}
	if (c->cs.ssl != NULL && !c->cdone) {
		r = tlsx_handshake(c->cs.ssl, &c->cwant, err, sizeof(err));
		if (r == -1) {
			sni = SSL_get_servername(c->cs.ssl,
			    TLSEXT_NAMETYPE_host_name);
			c->verdict = "deny";
			if (sni == NULL)
				snprintf(reason, sizeof(reason), "intercepted "
				    "host %s: ClientHello without SNI (%s)",
				    c->name, err);
			else if (strcasecmp(sni, c->name) != 0)
				snprintf(reason, sizeof(reason), "SNI %s in a "
				    "connection to %s", sni, c->name);
			else {
				c->verdict = "error";
				snprintf(reason, sizeof(reason), "TLS handshake "
				    "with the sandbox: %s", err);
			}
			conn_close(c, reason);
			return;
		}
		if (r == 1)
			c->cdone = 1;
	}
	if (c->cdone && c->ufail != NULL) {
		/* the upstream was refused: the sandbox is told why */
		snprintf(body, sizeof(body), "lens proxy: %s\n", c->ufail);
		n = snprintf(reason, sizeof(reason), "HTTP/1.1 502 Bad Gateway"
		    "\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
		    "Connection: close\r\n\r\n%s", strlen(body), body);
		ERR_clear_error();
		if (n > 0 && (size_t)n < sizeof(reason))
			(void)SSL_write(c->cs.ssl, reason, n);
		(void)SSL_shutdown(c->cs.ssl);
		ERR_clear_error();
		c->verdict = "deny";
		conn_close(c, c->ufail);
		return;
	}
	if (c->cdone && c->udone) {
		evtimer_del(&c->tev);
		c->state = S_RELAY;
		c->cs.fd = c->cfd;
		c->us.fd = c->ufd;
		/* every request decided, over both TLS streams (httpx.c) */
		c->http = 1;
		http_start(c);
		return;
	}
	conn_update(c);
}

/* NETD_CAFILE: a caFile the sandbox's rules name, for their upstreams */
static const char *
msg_cafile(struct imsg *im)
{
	struct netd_cafile	 nc;
	struct sbxca		*ca;
	struct sbx		*s;

	memcpy(&nc, im->data, sizeof(nc));
	if (nc.pemlen != im->datalen - sizeof(nc))
		return "NETD_CAFILE length disagrees with its size";
	if (memchr(nc.name, '\0', sizeof(nc.name)) == NULL)
		return "NETD_CAFILE name not terminated";
	if ((s = sbx_find(im->hdr.peerid)) == NULL)
		return "NETD_CAFILE for an unknown sandbox";
	TAILQ_FOREACH(ca, &s->cafiles, entry)
		if (strcmp(ca->name, nc.name) == 0)
			break;
	if (ca == NULL) {
		if ((ca = calloc(1, sizeof(*ca))) == NULL)
			fatal("calloc");
		strlcpy(ca->name, nc.name, sizeof(ca->name));
		TAILQ_INSERT_TAIL(&s->cafiles, ca, entry);
	}
	X509_STORE_free(ca->st);
	if ((ca->st = tlsx_store((const char *)im->data + sizeof(nc),
	    nc.pemlen, ca->err, sizeof(ca->err))) == NULL)
		log_warnx("sandbox %s: caFile %s: %s", s->sandbox, ca->name,
		    ca->err);
	return NULL;
}

/* NETD_LEAF: the parent's answer for one name of a sandbox */
static const char *
msg_leaf(struct imsg *im)
{
	struct netd_leaf	 nl;
	struct leafwait		*w;
	struct tlsx_leaf	*leaf = NULL;
	struct conn		*c, *t;
	struct sbx		*s;
	const char		*p = (const char *)im->data + sizeof(nl);
	char			 err[300], reason[700];

	memcpy(&nl, im->data, sizeof(nl));
	if ((uint64_t)nl.chainlen + nl.keylen != im->datalen - sizeof(nl) ||
	    nl.chainlen > NETD_LEAF_PEM_MAX || nl.keylen > NETD_LEAF_PEM_MAX)
		return "NETD_LEAF lengths disagree with its size";
	if ((s = sbx_find(im->hdr.peerid)) == NULL)
		return NULL;	/* raced with SANDBOX_GONE */
	TAILQ_FOREACH(w, &s->leafwaits, entry)
		if (w->reqid == nl.reqid)
			break;
	if (w == NULL)
		return "NETD_LEAF for no request";
	TAILQ_REMOVE(&s->leafwaits, w, entry);
	s->nleafwaits--;
	if (nl.chainlen == 0) {
		nl.error[sizeof(nl.error) - 1] = '\0';
		snprintf(err, sizeof(err), "%s", nl.error);
	} else if ((leaf = tlsx_leaf_new(w->name, p, nl.chainlen,
	    p + nl.chainlen, nl.keylen, (time_t)nl.notafter, err,
	    sizeof(err))) != NULL)
		tlsx_cache_put(s->id, leaf, time(NULL));
	TAILQ_FOREACH_SAFE(c, &s->conns, sentry, t) {
		if (c->state != S_TLS || !c->leaf_wait ||
		    strcasecmp(c->name, w->name) != 0)
			continue;
		c->leaf_wait = 0;
		if (leaf == NULL) {
			snprintf(reason, sizeof(reason), "no leaf certificate "
			    "for %s: %s", c->name, err);
			tls_alert_close(c, "error", reason);
			continue;
		}
		c->leaf = tlsx_leaf_ref(leaf);
		tls_step(c);
	}
	if (leaf == NULL)
		log_warnx("sandbox %s: no leaf for %s: %s", s->sandbox,
		    w->name, err);
	tlsx_leaf_unref(leaf);
	free(w);
	return NULL;
}

/* the parent */

static void
sbx_gone(struct sbx *s)
{
	struct listener	*l;
	struct dnsmap	*m;
	struct conn	*c;
	struct leafwait	*w;
	struct sbxca	*ca;

	while ((c = TAILQ_FIRST(&s->conns)) != NULL)
		conn_close(c, "sandbox gone");
	audit_flush(s);
	limit_flush(s);
	while ((l = TAILQ_FIRST(&s->listeners)) != NULL) {
		TAILQ_REMOVE(&s->listeners, l, entry);
		if (l->active)
			event_del(&l->ev);
		close(l->fd);
		free(l);
	}
	while ((m = TAILQ_FIRST(&s->dnsmap)) != NULL) {
		TAILQ_REMOVE(&s->dnsmap, m, entry);
		free(m);
	}
	rcache_clear(&s->rc);
	while ((w = TAILQ_FIRST(&s->leafwaits)) != NULL) {
		TAILQ_REMOVE(&s->leafwaits, w, entry);
		free(w);
	}
	tlsx_cache_drop(s->id);
	while ((ca = TAILQ_FIRST(&s->cafiles)) != NULL) {
		TAILQ_REMOVE(&s->cafiles, ca, entry);
		X509_STORE_free(ca->st);
		free(ca);
	}
	TAILQ_REMOVE(&sbxs, s, entry);
	policy_free(s->pol);
	s->polgen = UINT64_MAX;
	oldpols_prune(s);
	free(s);
}

/* the sandbox's credential placeholders, replacing any it had */
static const char *
msg_placeholders(struct imsg *im)
{
	const char	*p = im->data;
	struct sbx	*s;
	size_t		 k, n;

	if (im->datalen % PH_SIZE != 0)
		return "NETD_PLACEHOLDERS not a whole number of placeholders";
	n = im->datalen / PH_SIZE;
	for (k = 0; k < n; k++)
		if (p[k * PH_SIZE + PH_LEN] != '\0' ||
		    !ph_valid(p + k * PH_SIZE, PH_LEN))
			return "NETD_PLACEHOLDERS: not a placeholder";
	if ((s = sbx_find(im->hdr.peerid)) == NULL)
		return NULL;	/* raced with SANDBOX_GONE */
	memset(&s->phs, 0, sizeof(s->phs));
	for (k = 0; k < n; k++)
		if (phset_add(&s->phs, p + k * PH_SIZE) == -1)
			return "NETD_PLACEHOLDERS: not a placeholder";
	return NULL;
}

static const char *
msg_sandbox(struct imsg *im)
{
	struct netd_sandbox	 ns;
	struct policy_error	 err;
	struct policy		*pol;
	struct sbx		*s;
	static char		 msg[1024];

	if (im->datalen < sizeof(ns))
		return "short NETD_SANDBOX";
	memcpy(&ns, im->data, sizeof(ns));
	if (ns.policylen != im->datalen - sizeof(ns))
		return "NETD_SANDBOX policy length disagrees with the size";
	if (memchr(ns.sandbox, '\0', sizeof(ns.sandbox)) == NULL)
		return "NETD_SANDBOX id not terminated";
	if (ns.policylen == 0)
		pol = policy_default();
	else
		pol = policy_decode(ns.sandbox, (uint8_t *)im->data +
		    sizeof(ns), ns.policylen, &err);
	if (pol == NULL) {
		char	 e[512];

		policy_strerror(&err, e, sizeof(e));
		snprintf(msg, sizeof(msg), "sandbox %s: bad policy, "
		    "everything denied: %s", ns.sandbox, e);
		log_warnx("%s", msg);
		if ((pol = policy_default()) == NULL)
			fatalx("no default policy");
	}
	if ((s = sbx_find(im->hdr.peerid)) == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			fatal("calloc");
		s->id = im->hdr.peerid;
		TAILQ_INIT(&s->listeners);
		TAILQ_INIT(&s->conns);
		TAILQ_INIT(&s->dnsmap);
		TAILQ_INIT(&s->leafwaits);
		TAILQ_INIT(&s->cafiles);
		TAILQ_INIT(&s->oldpols);
		rcache_init(&s->rc, RCACHE_MAX);
		TAILQ_INSERT_TAIL(&sbxs, s, entry);
	} else {
		struct oldpol	*o;

		/* a reload: kept while connections of its time live */
		if ((o = calloc(1, sizeof(*o))) == NULL)
			fatal("calloc");
		o->pol = s->pol;
		o->gen = s->polgen++;
		TAILQ_INSERT_TAIL(&s->oldpols, o, entry);
		oldpols_prune(s);
		/* the dns resolves CNAME targets by the sandbox's policy */
		rcache_clear(&s->rc);
	}
	strlcpy(s->sandbox, ns.sandbox, sizeof(s->sandbox));
	s->addr = ns.addr;
	s->gateway = ns.gateway;
	s->pol = pol;
	return NULL;
}

static const char *
msg_listener(struct imsg *im)
{
	struct netd_listener	 nl;
	struct listener		*l;
	struct sbx		*s;
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);

	if (imsg_expect(im, sizeof(nl)) == -1)
		return "bad NETD_LISTENER size";
	if (im->fd == -1)
		return "NETD_LISTENER without a descriptor";
	memcpy(&nl, im->data, sizeof(nl));
	if ((s = sbx_find(im->hdr.peerid)) == NULL)
		return "NETD_LISTENER for an unknown sandbox";
	if (nl.kind != NETD_L_TRANSPARENT && nl.kind != NETD_L_CONNECT &&
	    nl.kind != NETD_L_PUBLISH)
		return "NETD_LISTENER of a kind the proxy does not serve";
	if (getsockname(im->fd, (struct sockaddr *)&ss, &len) == -1)
		return "NETD_LISTENER descriptor is not a socket";
	if ((l = calloc(1, sizeof(*l))) == NULL)
		fatal("calloc");
	l->sbx = s;
	l->fd = im->fd;
	im->fd = -1;
	l->family = ss.ss_family;
	l->kind = nl.kind;
	l->port = nl.port;
	if (fcntl(l->fd, F_SETFL, O_NONBLOCK) == -1)
		log_warn("listener fcntl");
	event_set(&l->ev, l->fd, EV_READ | EV_PERSIST, listener_accept, l);
	if (!accept_paused) {
		event_add(&l->ev, NULL);
		l->active = 1;
	}
	TAILQ_INSERT_TAIL(&s->listeners, l, entry);
	return NULL;
}

static const char *
msg_dnsmap(struct imsg *im)
{
	struct netd_dnsmap	 d;
	struct dnsmap		*m;
	struct sbx		*s;

	if (imsg_expect(im, sizeof(d)) == -1)
		return "bad NETD_DNSMAP size";
	memcpy(&d, im->data, sizeof(d));
	if ((s = sbx_find(im->hdr.peerid)) == NULL)
		return NULL;	/* raced with SANDBOX_GONE */
	if (memchr(d.name, '\0', sizeof(d.name)) == NULL ||
	    (d.addr.ss_family != AF_INET && d.addr.ss_family != AF_INET6))
		return "bad NETD_DNSMAP entry";
	ss_unmap(&d.addr);
	/* the name has other addresses now: resolve it again */
	rcache_check(&s->rc, d.name, &d.addr);
	TAILQ_FOREACH(m, &s->dnsmap, entry)
		if (addr_same((struct sockaddr *)&m->addr,
		    (struct sockaddr *)&d.addr) &&
		    strcasecmp(m->name, d.name) == 0)
			break;
	if (m != NULL)
		TAILQ_REMOVE(&s->dnsmap, m, entry);
	else if (s->ndnsmap >= DNSMAP_MAX) {
		m = TAILQ_FIRST(&s->dnsmap);
		TAILQ_REMOVE(&s->dnsmap, m, entry);
	} else {
		if ((m = calloc(1, sizeof(*m))) == NULL)
			fatal("calloc");
		s->ndnsmap++;
	}
	strlcpy(m->name, d.name, sizeof(m->name));
	m->addr = d.addr;
	m->expires = time(NULL) + d.ttl + DNSMAP_GRACE;
	TAILQ_INSERT_TAIL(&s->dnsmap, m, entry);
	return NULL;
}

static const char *
msg_resolved(struct imsg *im)
{
	struct netd_resolved	 r;
	struct conn		*c;
	struct sbx		*s;

	memcpy(&r, im->data, sizeof(r));
	if (r.naddrs > NETD_MAXADDRS)
		return "NETD_RESOLVED with too many addresses";
	if ((c = conn_by_reqid(im->hdr.peerid, r.reqid, S_RESOLVE)) != NULL) {
		evtimer_del(&c->tev);
		rcache_put(&c->sbx->rc, c->name, r.addrs, r.naddrs,
		    r.error == 0 ? r.ttl : 0, mono_sec());
		resolved(c, &r);
	} else if ((s = sbx_find(im->hdr.peerid)) != NULL)
		(void)httpx_exch_resolved(s, r.reqid, &r);
	return NULL;
}

static const char *
parent_msg(struct imsg *im)
{
	struct netd_exch	 ne;
	struct netd_exch_fail	 nf;
	struct netd_inward	 in;
	struct conn		*c;
	struct sbx		*s;

	switch (im->hdr.type) {
	case IMSG_NETD_CONFIG:
		if (imsg_expect(im, sizeof(config)) == -1)
			return "bad NETD_CONFIG size";
		memcpy(&config, im->data, sizeof(config));
		return NULL;
	case IMSG_NETD_HOSTADDR_ADD:
	case IMSG_NETD_HOSTADDR_DEL:
		return addrset_imsg(&hostaddrs, im);
	case IMSG_NETD_SANDBOX:
		return msg_sandbox(im);
	case IMSG_NETD_LISTENER:
		return msg_listener(im);
	case IMSG_NETD_SANDBOX_GONE:
		if (imsg_expect(im, 0) == -1)
			return "bad NETD_SANDBOX_GONE size";
		if ((s = sbx_find(im->hdr.peerid)) != NULL)
			sbx_gone(s);
		return NULL;
	case IMSG_NETD_INWARD_SOCKET:
		if (imsg_expect(im, sizeof(in)) == -1)
			return "bad NETD_INWARD_SOCKET size";
		memcpy(&in, im->data, sizeof(in));
		c = conn_by_reqid(im->hdr.peerid, in.reqid, S_INWARD);
		if (c == NULL || im->fd == -1) {
			if (c != NULL)
				conn_close(c, "parent gave no inward socket");
			return NULL;
		}
		inward_socket(c, im->fd);
		im->fd = -1;
		return NULL;
	case IMSG_NETD_LEAF:
		return msg_leaf(im);
	case IMSG_NETD_EXCH:
		memcpy(&ne, im->data, sizeof(ne));
		if (im->fd == -1)
			return "NETD_EXCH without its stream";
		if ((s = sbx_find(im->hdr.peerid)) == NULL)
			return NULL;	/* raced with SANDBOX_GONE; fd closed */
		httpx_exch(s, ne.reqid, im->fd, NULL);
		im->fd = -1;
		return NULL;
	case IMSG_NETD_EXCH_FAIL:
		memcpy(&nf, im->data, sizeof(nf));
		nf.why[sizeof(nf.why) - 1] = '\0';
		if ((s = sbx_find(im->hdr.peerid)) != NULL)
			httpx_exch(s, nf.reqid, -1, nf.why);
		return NULL;
	case IMSG_NETD_CAFILE:
		return msg_cafile(im);
	case IMSG_NETD_PLACEHOLDERS:
		return msg_placeholders(im);
	case IMSG_NETD_ANSWER:
		return msg_answer(im);
	default:
		return "unexpected message type";
	}
}

/* sizes and descriptors are checked by proc_dispatch() from this table */
static void
msg_parent(struct imsg *im, void *arg)
{
	const char	*why;

	(void)arg;
	if ((why = parent_msg(im)) != NULL)
		fatalx("proxy: from the parent, type %#x: %s", im->hdr.type,
		    why);
}

static const struct proc_msg parent_msgs[] = {
	PROC_MSGV(IMSG_NETD_PLACEHOLDERS, 0, PHSCAN_MAXSET * PH_SIZE,
	    msg_parent),
	PROC_MSG(IMSG_NETD_CONFIG, sizeof(struct netd_config), msg_parent),
	PROC_MSG(IMSG_NETD_HOSTADDR_ADD, sizeof(struct netd_hostaddr),
	    msg_parent),
	PROC_MSG(IMSG_NETD_HOSTADDR_DEL, sizeof(struct netd_hostaddr),
	    msg_parent),
	PROC_MSGV(IMSG_NETD_SANDBOX, sizeof(struct netd_sandbox),
	    sizeof(struct netd_sandbox) + POLICY_MODEL_MAXSIZE, msg_parent),
	PROC_MSG_FD(IMSG_NETD_LISTENER, sizeof(struct netd_listener),
	    msg_parent),
	PROC_MSG(IMSG_NETD_SANDBOX_GONE, 0, msg_parent),
	PROC_MSG_FD(IMSG_NETD_INWARD_SOCKET, sizeof(struct netd_inward),
	    msg_parent),
	PROC_MSGV(IMSG_NETD_LEAF, sizeof(struct netd_leaf),
	    sizeof(struct netd_leaf) + 2 * NETD_LEAF_PEM_MAX, msg_parent),
	PROC_MSGV(IMSG_NETD_CAFILE, sizeof(struct netd_cafile),
	    sizeof(struct netd_cafile) + NETD_CAFILE_MAX, msg_parent),
	PROC_MSG_FD(IMSG_NETD_EXCH, sizeof(struct netd_exch), msg_parent),
	PROC_MSG(IMSG_NETD_EXCH_FAIL, sizeof(struct netd_exch_fail),
	    msg_parent),
	PROC_MSG(IMSG_NETD_ANSWER, sizeof(struct netd_answer), msg_parent),
};

/*
 * What the dns child sends on the channel between the two (role.link),
 * checked by proc_dispatch() from this table: what its resolver handed
 * out and the answers to our lookups, nothing else.  A bad size, a
 * descriptor, another type or a bad entry ends this child (the parent
 * then stops lensnetd).
 */
static void
msg_dns(struct imsg *im, void *arg)
{
	const char	*why;

	(void)arg;
	why = im->hdr.type == IMSG_NETD_DNSMAP ? msg_dnsmap(im) :
	    msg_resolved(im);
	if (why != NULL)
		fatalx("proxy: from dns, type %#x: %s", im->hdr.type, why);
}

static const struct proc_msg dns_msgs[] = {
	PROC_MSG(IMSG_NETD_DNSMAP, sizeof(struct netd_dnsmap), msg_dns),
	PROC_MSG(IMSG_NETD_RESOLVED, sizeof(struct netd_resolved), msg_dns),
};

static __attribute__((noreturn)) void
proxy_stop(void)
{
	struct sbx	*s;

	while ((s = TAILQ_FIRST(&sbxs)) != NULL)
		sbx_gone(s);
	(void)imsg_flush(&pchan.iev.ibuf);
	exit(0);
}

static void
proxy_term(int sig, short ev, void *arg)
{
	(void)sig;
	(void)ev;
	(void)arg;
	proxy_stop();
}

static void
dns_lost(struct proc_chan *ch, const char *why)
{
	(void)ch;
	/* it died (the parent stops lensnetd): our connections end audited */
	if (strcmp(why, "gone") == 0) {
		log_debug("the dns child went away");
		proxy_stop();
	}
	fatalx("dns link: %s", why);
}

static void
limits(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal("getrlimit");
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		log_warn("setrlimit NOFILE %lu", (unsigned long)rl.rlim_max);
	(void)getrlimit(RLIMIT_NOFILE, &rl);
	nofile = rl.rlim_cur;
	/* two descriptors per connection, some for listeners and logs */
	maxconns = rl.rlim_cur > 4 * FD_RESERVE ?
	    (long)(rl.rlim_cur - 2 * FD_RESERVE) / 2 : FD_RESERVE;
	if (rl.rlim_cur < 4096)
		log_warnx("RLIMIT_NOFILE is %lu: at most %ld connections",
		    (unsigned long)rl.rlim_cur, maxconns);
	/* one sandbox never takes more than half of them */
	sbx_maxconns = netd_limits.conns;
	if (sbx_maxconns > maxconns / 2) {
		sbx_maxconns = maxconns / 2 > 0 ? maxconns / 2 : 1;
		log_warnx("%u connections per sandbox: more than half of "
		    "the %ld this proxy can hold, %u instead",
		    netd_limits.conns, maxconns, sbx_maxconns);
	}
}

/* as root, before the chroot */
static void
proxy_preinit(void *arg)
{
	(void)arg;
#define DEF(f, v) if (pconf.f == 0) pconf.f = (v)
	DEF(peek_first_ms, PROXY_PEEK_FIRST_MS);
	DEF(peek_ms, PROXY_PEEK_MS);
	DEF(resolve_ms, PROXY_RESOLVE_MS);
	DEF(connect_ms, PROXY_CONNECT_MS);
	DEF(idle_ms, PROXY_IDLE_MS);
	DEF(tls_ms, PROXY_TLS_MS);
	DEF(audit_burst, AUDIT_BURST);
	DEF(http_idle_ms, PROXY_HTTP_IDLE_MS);
	DEF(http_max_requests, PROXY_HTTP_MAXREQ);
	DEF(audit_query_max, PROXY_QUERY_MAX);
	DEF(body_max, PROXY_BODY_MAX);
	DEF(held_max, PROXY_HELD_MAX);
#undef DEF
	signal(SIGPIPE, SIG_IGN);
	limits();
	/* jansson reads /dev/urandom on first use otherwise, inside the chroot */
	json_object_seed(arc4random() | 1);
	{
		char	 err[300];

		if (tlsx_preinit(pconf.trust, err, sizeof(err)) == -1)
			fatalx("proxy: TLS: %s", err);
	}
}

static void
proxy_init(void *arg)
{
	const int	*fds = arg;	/* the parent's, the dns child's */
	struct timeval	 tv = { 1, 0 };

	signal_set(&ev_term, SIGTERM, proxy_term, NULL);
	signal_add(&ev_term, NULL);
	evtimer_set(&ev_tick, tick, NULL);
	evtimer_add(&ev_tick, &tv);
	proc_chan_init(&pchan, fds[0], "parent", parent_msgs,
	    sizeof(parent_msgs) / sizeof(parent_msgs[0]), NULL);
	pchan.iev.ibuf.maxqueue = 16 * 1024 * 1024;
	imsgev_add(&pchan.iev);
	proc_chan_init(&dchan, fds[1], "dns", dns_msgs,
	    sizeof(dns_msgs) / sizeof(dns_msgs[0]), NULL);
	dchan.lost = dns_lost;
	dchan.iev.ibuf.maxqueue = 16 * 1024 * 1024;
}

/* arg: the struct netd_role the parent hands every role */
int
proxy_main(int fd, void *arg)
{
	static const struct proc_role	 role = {
		.name = "proxy",
		PROC_SECCOMP(proxy_syscalls),
		.preinit = proxy_preinit,
		.init = proxy_init,
	};
	const struct netd_role		*nr = arg;
	int				 fds[2] = { fd, nr->link[1] };

	if (pconf.trust == NULL)
		pconf.trust = nr->trust;

	log_procinit("proxy");
	return proc_start(&role, &nr->user, nr->parent, fds);
}
