/*
 * lenscredd exchange: the credentialed requests (doc/DESIGN.md, Network;
 * common/lensexch.h).  _lenscred, chrooted to the empty directory, not
 * dumpable; its seccomp table has TCP sockets and connect, and no open:
 * the trust store is read before the chroot (tlsx_preinit).
 *
 * The listener hands it IMSG_CRED_EXCHANGE with one end of a socketpair
 * whose other end lensnetd's proxy holds.  For each (at most
 * EXCHANGE_MAX at once) it asks the vault for the credential's value,
 * reads the request head and body from the proxy, applies the injection
 * (lenscredd/sign.c), refuses a placeholder left anywhere the injection
 * does not put the value (403, nothing sent), audits cred.use through
 * the parent (no audit, no use), connects to the address lensnetd
 * resolved, verifies the upstream's certificate for the host (SNI, the
 * trust store plus the request's caFile), writes the request, and
 * relays the response with every echo of the value replaced: strictly
 * parsed (common/peek.c), de-chunked, hop-by-hop headers removed.  The
 * value lives in sodium_malloc memory and is freed (zeroed) when the
 * exchange ends; every buffer that held it is zeroed before it is freed.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <event.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "grammar.h"
#include "imsgev.h"
#include "lenscredd.h"
#include "lensexch.h"
#include "log.h"
#include "oauthx.h"
#include "peek.h"
#include "phscan.h"
#include "privsep.h"
#include "proc.h"
#include "seccomp_filter.h"
#include "sign.h"
#include "tlsup.h"

#define X_CONNECT_SECS	10
#define X_IDLE_SECS	60
#define X_OUT_HIGH	(256 * 1024)	/* upstream bytes queued: pause */
#define X_PROXY_HIGH	(1024 * 1024)	/* proxy bytes queued: pause */
#define X_MAX_INTERIM	8		/* 1xx responses skipped */
/*
 * A body up to this long is read whole before anything goes upstream
 * (a placeholder in it: 403 with nothing sent); a longer one streams,
 * scanned as it goes, the connection cut at a placeholder.
 */
#define X_PREBUF	(1024 * 1024)
#define X_MAXHDR	(EXCH_MAXHDR + 4)
#define X_NEEDLES	4

enum inj_kind { K_HEADER, K_QUERY, K_BASIC, K_URI, K_HMAC, K_SIGV4,
	K_OAUTH2, K_UNKNOWN };

enum xstate {
	X_WAIT,		/* for the value, the head (and body, to hash) */
	X_CONNECT,	/* TCP */
	X_TLS,		/* handshake */
	X_RUN,		/* request out, response in */
	X_CLOSING,	/* the last messages to the proxy, then freed */
};

enum rstate { R_HEAD, R_BODY, R_DONE };
enum rbody { RB_NONE, RB_FRAMED, RB_CLOSE };

struct buf {
	uint8_t		*p;
	size_t		 len, cap;
};

struct hl {			/* a header of the request written */
	char		*name, *value;	/* malloc'd, zeroed when freed */
};

struct needle {			/* an echo of the value, and its stand-in */
	uint8_t		*pat, *rep;
	size_t		 plen, rlen;
};

struct xch {
	TAILQ_ENTRY(xch)	 entry;
	uint32_t		 id;
	struct cred_exchange	 req;
	char			*ca;		/* caFile PEM, NUL-terminated */
	enum inj_kind		 kind;
	enum xstate		 state;
	char			 peer[512];	/* for the log */
	struct proc_chan	 pc;		/* the proxy's stream */
	struct exch_msg_head	*head;
	int			 have_head, have_end, have_value;
	int			 buffered;	/* hmac, sigv4: whole body */
	int			 chunked;	/* to upstream */
	uint64_t		 body_got;
	struct buf		 body;		/* before the head is out */
	struct phset		 phs;
	struct phstream		 phst;
	uint8_t			*value;		/* sodium_malloc */
	size_t			 vlen;
	struct oauth_waiter	*ow;		/* oauth2Refresh: waiting */
	struct needle		 nd[X_NEEDLES];
	size_t			 nnd, ndmax;
	/* upstream */
	int			 fd;
	SSL			*ssl;
	X509_STORE		*st;
	struct event		 ev, tmo, reap;
	int			 ev_set;
	short			 want;
	int			 rpaused;	/* upstream reads held */
	struct buf		 out, in, tail;
	enum rstate		 rs;
	enum rbody		 rbody;
	struct peek_body	 rframe;
	int			 is_head;	/* method HEAD */
	int			 ninterim;
	int			 resp_sent;	/* RESP_HEAD went out */
	char			 hostport[CRED_NAME_SIZE + 8];
};

static TAILQ_HEAD(, xch)	 xchs = TAILQ_HEAD_INITIALIZER(xchs);
static int			 nxchs;
static uint32_t			 next_id = 1;
static struct credd_conf	*conf;
static struct proc_chan		 lchan;	/* listener */
static struct proc_chan		 vchan;	/* vault */
static struct proc_chan		 achan;	/* parent: audit */
static int			 audit_ready;

static const struct sandbox_syscall exchange_syscalls[] = {
	SB_ALLOW(read), SB_ALLOW(write), SB_ALLOW(close),
	SB_ALLOW(recvmsg), SB_ALLOW(sendmsg), SB_ALLOW(sendto),
	SB_ALLOW(recvfrom), SB_ALLOW(shutdown),
	/*
	 * TCP over IPv4 and IPv6 to the address lensnetd resolved: no
	 * AF_UNIX, no netlink, no UDP, no file (the trust store is in
	 * memory), no accept
	 */
	SB_ALLOW_ARG2M(socket, 0, AF_INET, 1, 0xf, SOCK_STREAM),
	SB_ALLOW_ARG2M(socket, 0, AF_INET6, 1, 0xf, SOCK_STREAM),
	SB_ALLOW(connect),
	SB_ALLOW_ARG(getsockopt, 2, SO_ERROR),
	SB_ALLOW(epoll_wait), SB_ALLOW(epoll_pwait), SB_ALLOW(epoll_ctl),
	SB_ALLOW(poll), SB_ALLOW(rt_sigprocmask), SB_ALLOW(rt_sigaction),
	SB_ALLOW(clock_gettime), SB_ALLOW(gettimeofday), SB_ALLOW(getpid),
	SB_ALLOW(brk), SB_ALLOW(mmap), SB_ALLOW(munmap), SB_ALLOW(mremap),
	/* sodium_malloc and OpenSSL's DRBG */
	SB_ALLOW(mprotect), SB_ALLOW(madvise), SB_ALLOW(mlock),
	SB_ALLOW(munlock), SB_ALLOW(getrandom), SB_ALLOW(futex),
};

static void	x_fail(struct xch *, int status, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	x_close(struct xch *);
static void	x_start(struct xch *);
static void	up_arm(struct xch *);
static void	up_event(int, short, void *);

/* buffers: whatever passed through may have held the value */
static int
buf_reserve(struct buf *b, size_t n)
{
	uint8_t	*np;
	size_t	 cap;

	if (b->len + n <= b->cap)
		return 0;
	cap = b->cap == 0 ? 4096 : b->cap;
	while (cap < b->len + n)
		cap *= 2;
	if ((np = malloc(cap)) == NULL)
		return -1;
	if (b->p != NULL) {
		memcpy(np, b->p, b->len);
		freezero(b->p, b->cap);
	}
	b->p = np;
	b->cap = cap;
	return 0;
}

static int
buf_add(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (buf_reserve(b, n) == -1)
		return -1;
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

/*
 * Formatted straight into the buffer: vasprintf(3) would leave copies
 * of what it grew (a header line with the value) in freed memory.
 */
static int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t)n + 1) == -1)
		return -1;
	va_start(ap, fmt);
	vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += n;
	return 0;
}

static void
buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		explicit_bzero(b->p, b->len);
		b->len = 0;
		return;
	}
	memmove(b->p, b->p + n, b->len - n);
	explicit_bzero(b->p + b->len - n, n);
	b->len -= n;
}

static void
buf_free(struct buf *b)
{
	if (b->p != NULL)
		freezero(b->p, b->cap);
	memset(b, 0, sizeof(*b));
}

static struct xch *
x_find(uint32_t id)
{
	struct xch	*x;

	TAILQ_FOREACH(x, &xchs, entry)
		if (x->id == id)
			return x;
	return NULL;
}

static enum inj_kind
inj_kind(uint8_t t)
{
	static const struct {
		const char	*name;
		enum inj_kind	 k;
	} map[] = {
		{ "header", K_HEADER }, { "query", K_QUERY },
		{ "basic", K_BASIC }, { "hmac", K_HMAC },
		{ "sigv4", K_SIGV4 }, { "awsSigv4", K_SIGV4 },
		{ "oauth2", K_OAUTH2 }, { "oauth2Refresh", K_OAUTH2 },
		{ "uri", K_URI }, { "uriPlaceholder", K_URI },
	};
	size_t	 i, n;

	for (n = 0; gr_inj_names[n] != NULL; n++)
		;
	if (t >= n)
		return K_UNKNOWN;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(gr_inj_names[t], map[i].name) == 0)
			return map[i].k;
	return K_UNKNOWN;
}

/* ---- the proxy's side ---- */

static void
x_settimeout(struct xch *x, int secs)
{
	struct timeval	 tv = { secs, 0 };

	evtimer_add(&x->tmo, &tv);
}

/* the idle timer runs while waiting on the proxy or in the exchange */
static void
x_idle(struct xch *x)
{
	if (x->state == X_WAIT || x->state == X_RUN)
		x_settimeout(x, X_IDLE_SECS);
}

static void
x_reap(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	x_close(arg);
}

/* free x outside any dispatch of its own channel */
static void
x_reap_soon(struct xch *x)
{
	struct timeval	 tv = { 0, 0 };

	if (x->state == X_CLOSING && evtimer_pending(&x->reap, NULL))
		return;
	x->state = X_CLOSING;
	evtimer_add(&x->reap, &tv);
}

/* the proxy took every message: the exchange is over */
static void
pc_wrote(void *arg)
{
	struct xch	*x = arg;

	if (x->state == X_CLOSING && x->pc.iev.ibuf.wqueued == 0)
		x_reap_soon(x);
	else if (x->rpaused && x->pc.iev.ibuf.wqueued < X_PROXY_HIGH / 4) {
		x->rpaused = 0;
		up_arm(x);
	}
}

static void
x_finish(struct xch *x)
{
	if (x->ev_set) {
		event_del(&x->ev);
		x->ev_set = 0;
	}
	imsgev_pause(&x->pc.iev, 1);
	x->state = X_CLOSING;
	/* a proxy that does not take the last messages: freed anyway */
	x_settimeout(x, X_IDLE_SECS);
	if (x->pc.iev.ibuf.wqueued == 0)
		x_reap_soon(x);
}

static void
x_fail(struct xch *x, int status, const char *fmt, ...)
{
	char	 msg[EXCH_MSG_SIZE], why[128];
	va_list	 ap;

	if (x->state == X_CLOSING)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("%s: %d %s", x->peer, status, msg);
	if (exch_put_error(&x->pc.iev.ibuf, status, msg, why,
	    sizeof(why)) == 0)
		imsgev_add(&x->pc.iev);
	x_finish(x);
}

static void
x_close(struct xch *x)
{
	size_t	 i;

	TAILQ_REMOVE(&xchs, x, entry);
	nxchs--;
	if (x->ow != NULL)
		oauthx_cancel(x->ow);
	if (x->ev_set)
		event_del(&x->ev);
	evtimer_del(&x->tmo);
	evtimer_del(&x->reap);
	if (x->ssl != NULL)
		SSL_free(x->ssl);
	if (x->st != NULL)
		X509_STORE_free(x->st);
	if (x->fd != -1)
		close(x->fd);
	if (x->pc.iev.ibuf.fd != -1)
		imsgev_clear(&x->pc.iev);
	if (x->value != NULL)
		sodium_free(x->value);		/* zeroes it */
	for (i = 0; i < x->nnd; i++) {
		freezero(x->nd[i].pat, x->nd[i].plen);
		free(x->nd[i].rep);
	}
	buf_free(&x->body);
	buf_free(&x->out);
	buf_free(&x->in);
	buf_free(&x->tail);
	free(x->ca);
	if (x->head != NULL)
		freezero(x->head, sizeof(*x->head));
	log_debug("%s: ended", x->peer);
	sodium_memzero(x, sizeof(*x));
	free(x);
}

static void
pc_lost(struct proc_chan *ch, const char *why)
{
	struct xch	*x = ch->arg;

	if (x->state != X_CLOSING)
		log_warnx("%s: proxy: %s; exchange ended", x->peer, why);
	imsgev_clear(&x->pc.iev);
	x_reap_soon(x);
}

static void
p_head(struct imsg *im, void *arg)
{
	struct xch	*x = arg;
	char		 why[256];

	if (x->state == X_CLOSING)
		return;
	if (x->have_head) {
		proc_chan_fail(&x->pc, "a second request head");
		return;
	}
	if ((x->head = calloc(1, sizeof(*x->head))) == NULL) {
		x_fail(x, 502, "out of memory");
		return;
	}
	if (exch_get_head(im->data, im->datalen, x->head, why,
	    sizeof(why)) == -1) {
		x_fail(x, 502, "bad request head from the proxy: %s", why);
		return;
	}
	x->have_head = 1;
	x->is_head = strcmp(x->head->method, "HEAD") == 0;
	x_idle(x);
	x_start(x);
}

/* body bytes, framed for upstream once the head is out */
static int
body_out(struct xch *x, const void *p, size_t n)
{
	if (!x->chunked)
		return buf_add(&x->out, p, n);
	if (buf_printf(&x->out, "%zx\r\n", n) == -1 ||
	    buf_add(&x->out, p, n) == -1 || buf_add(&x->out, "\r\n", 2) == -1)
		return -1;
	return 0;
}

static void
p_body(struct imsg *im, void *arg)
{
	struct xch	*x = arg;
	char		 why[128];
	size_t		 which;

	if (x->state == X_CLOSING)
		return;
	if (!x->have_head || x->have_end ||
	    x->head->body == EXCH_BODY_NONE) {
		proc_chan_fail(&x->pc, "body where none may be");
		return;
	}
	if (exch_get_body(im->data, im->datalen, why, sizeof(why)) == -1) {
		proc_chan_fail(&x->pc, "bad body message");
		return;
	}
	x->body_got += im->datalen;
	if (x->head->body == EXCH_BODY_LENGTH &&
	    x->body_got > x->head->length) {
		x_fail(x, 502, "the proxy sent more body than the %llu bytes "
		    "announced", (unsigned long long)x->head->length);
		return;
	}
	if (phscan_chunk(&x->phs, &x->phst, im->data, im->datalen,
	    &which) != 0) {
		x_fail(x, 403, "placeholder outside its injection (in the "
		    "body)");
		return;
	}
	if (x->buffered && x->body_got > EXCH_BUFFER_MAX) {
		x_fail(x, 502, "a body to sign longer than %d bytes",
		    EXCH_BUFFER_MAX);
		return;
	}
	if (x->state == X_WAIT) {
		if (buf_add(&x->body, im->data, im->datalen) == -1) {
			x_fail(x, 502, "out of memory");
			return;
		}
		x_idle(x);
		if (!x->buffered && x->body.len > X_PREBUF) {
			/* no value yet: wait for it before reading on */
			imsgev_pause(&x->pc.iev, 1);
			x_start(x);
		}
		return;
	}
	if (body_out(x, im->data, im->datalen) == -1) {
		x_fail(x, 502, "out of memory");
		return;
	}
	x_idle(x);
	if (x->out.len > X_OUT_HIGH)
		imsgev_pause(&x->pc.iev, 1);
	if (x->state == X_RUN)
		up_arm(x);
}

static void
p_end(struct imsg *im, void *arg)
{
	struct xch	*x = arg;

	(void)im;
	if (x->state == X_CLOSING)
		return;
	if (!x->have_head || x->have_end) {
		proc_chan_fail(&x->pc, "END where none may be");
		return;
	}
	if (x->head->body == EXCH_BODY_LENGTH &&
	    x->body_got != x->head->length) {
		x_fail(x, 502, "the proxy ended the body after %llu of %llu "
		    "bytes", (unsigned long long)x->body_got,
		    (unsigned long long)x->head->length);
		return;
	}
	x->have_end = 1;
	if (x->state == X_WAIT)
		x_start(x);
	else if (x->chunked) {
		if (buf_add(&x->out, "0\r\n\r\n", 5) == -1) {
			x_fail(x, 502, "out of memory");
			return;
		}
		if (x->state == X_RUN)
			up_arm(x);
	}
}

static const struct proc_msg proxy_msgs[] = {
	PROC_MSGV(EXCH_REQ_HEAD, sizeof(struct exch_head), EXCH_HEAD_MAX,
	    p_head),
	PROC_MSGV(EXCH_REQ_BODY, 1, EXCH_BODY_MAX, p_body),
	PROC_MSG(EXCH_REQ_END, 0, p_end),
};

/* ---- the request written upstream ---- */

static void
hl_free(struct hl *h, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (h[i].name != NULL)
			freezero(h[i].name, strlen(h[i].name));
		if (h[i].value != NULL)
			freezero(h[i].value, strlen(h[i].value));
	}
}

/* header name := value (taken), in place of the first of that name */
static int
hl_set(struct hl *h, size_t *n, const char *name, char *value)
{
	size_t	 i, j, at = *n;

	for (i = 0, j = 0; i < *n; i++) {
		if (strcasecmp(h[i].name, name) == 0) {
			if (at == *n)
				at = j;
			freezero(h[i].name, strlen(h[i].name));
			freezero(h[i].value, strlen(h[i].value));
			continue;
		}
		h[j++] = h[i];
	}
	if (at > j)
		at = j;
	if (j >= X_MAXHDR) {
		*n = j;
		freezero(value, strlen(value));
		return -1;
	}
	memmove(&h[at + 1], &h[at], (j - at) * sizeof(*h));
	if ((h[at].name = strdup(name)) == NULL) {
		memmove(&h[at], &h[at + 1], (j - at) * sizeof(*h));
		*n = j;
		freezero(value, strlen(value));
		return -1;
	}
	h[at].value = value;
	*n = j + 1;
	return 0;
}

static void
hl_del(struct hl *h, size_t *n, const char *name)
{
	size_t	 i, j;

	for (i = 0, j = 0; i < *n; i++) {
		if (strcasecmp(h[i].name, name) == 0) {
			freezero(h[i].name, strlen(h[i].name));
			freezero(h[i].value, strlen(h[i].value));
			continue;
		}
		h[j++] = h[i];
	}
	*n = j;
}

static const char *
hl_get(const struct hl *h, size_t n, const char *name)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strcasecmp(h[i].name, name) == 0)
			return h[i].value;
	return NULL;
}

static int
needle_add(struct xch *x, const void *pat, size_t plen, const void *rep,
    size_t rlen)
{
	struct needle	*nd;
	size_t		 i;

	if (plen == 0)
		return 0;
	for (i = 0; i < x->nnd; i++)
		if (x->nd[i].plen == plen &&
		    memcmp(x->nd[i].pat, pat, plen) == 0)
			return 0;
	if (x->nnd == X_NEEDLES)
		return -1;
	nd = &x->nd[x->nnd];
	if ((nd->pat = malloc(plen)) == NULL ||
	    (nd->rep = malloc(rlen + 1)) == NULL) {
		free(nd->pat);
		return -1;
	}
	memcpy(nd->pat, pat, plen);
	memcpy(nd->rep, rep, rlen);
	nd->plen = plen;
	nd->rlen = rlen;
	x->nnd++;
	if (plen > x->ndmax)
		x->ndmax = plen;
	/* longest first: "user:value" in base64 before the value alone */
	for (i = x->nnd - 1; i > 0 && x->nd[i].plen > x->nd[i - 1].plen; i--) {
		struct needle t = x->nd[i];

		x->nd[i] = x->nd[i - 1];
		x->nd[i - 1] = t;
	}
	return 0;
}

/* the value percent-encoded as sign_query writes it (malloc'd) */
static char *
pct(const uint8_t *v, size_t vlen, char *why, size_t wlen)
{
	char	*q, *e;

	if (sign_query(NULL, "x", (const char *)v, vlen, &q, why, wlen) == -1)
		return NULL;
	e = strdup(q + 2);
	freezero(q, strlen(q));
	return e;
}

/* every placeholder in s (any case) replaced by rep: malloc'd */
static char *
ph_replace(const char *s, const char *ph, const char *rep)
{
	struct buf	 b = { 0 };
	size_t		 plen = strlen(ph);

	while (*s != '\0') {
		if (strncasecmp(s, ph, plen) == 0) {
			if (buf_add(&b, rep, strlen(rep)) == -1)
				goto fail;
			s += plen;
		} else if (buf_add(&b, s++, 1) == -1)
			goto fail;
	}
	if (buf_add(&b, "", 1) == -1)
		goto fail;
	return (char *)b.p;
fail:
	buf_free(&b);
	return NULL;
}

static void
amzdate(char out[17], char ts[24])
{
	time_t		 now = time(NULL);
	struct tm	 tm;

	gmtime_r(&now, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
	snprintf(ts, 24, "%lld", (long long)now);
}

/*
 * The request head with the injection applied, into x->out; the
 * needles of the echo scrubbing.  0, or -1 after x_fail.
 */
static int
build_request(struct xch *x)
{
	struct exch_msg_head	*m = x->head;
	struct hl		 h[X_MAXHDR + 1];
	struct sign_hdr		 sh[X_MAXHDR + 1];
	struct sign_req		 sr;
	struct sign_aws		 aws;
	char			 why[256], date[17], ts[24];
	char			 hash[SIGN_HEX256], *target = NULL, *v = NULL;
	char			*path = NULL, *q, *enc = NULL, *akid = NULL;
	const char		*tmpl, *val = (const char *)x->value;
	size_t			 n = 0, i, which;
	int			 rc = -1, status = 502;

	memset(h, 0, sizeof(h));
	why[0] = '\0';
	n = 1;
	if ((target = strdup(m->target)) == NULL ||
	    (h[0].name = strdup("Host")) == NULL ||
	    (h[0].value = strdup(x->hostport)) == NULL)
		goto oom;
	if (x->req.inj_name[0] == '\0' && (x->kind == K_QUERY ||
	    x->kind == K_BASIC || x->kind == K_HMAC)) {
		snprintf(why, sizeof(why), "injection %s without a name",
		    gr_inj_names[x->req.inj_type]);
		goto fail;
	}
	for (i = 0; i < m->nhdr; i++) {
		if (strcasecmp(m->hdr[i].name, "Host") == 0)
			continue;
		if ((h[n].name = strdup(m->hdr[i].name)) == NULL ||
		    (h[n].value = strdup(m->hdr[i].value)) == NULL) {
			n++;
			goto oom;
		}
		n++;
	}
	/* an encoded answer could not be scrubbed: ask for none */
	hl_del(h, &n, "Accept-Encoding");
	if (needle_add(x, x->value, x->vlen, x->req.placeholder,
	    PH_LEN) == -1)
		goto oom;
	if (x->buffered)
		sign_sha256_hex(x->body.p, x->body.len, hash);

	switch (x->kind) {
	case K_HEADER:
	case K_OAUTH2:
		tmpl = x->req.inj_value[0] != '\0' ? x->req.inj_value :
		    x->kind == K_OAUTH2 ? "Bearer {secret}" : "{secret}";
		if (sign_template(tmpl, val, x->vlen, &v, why,
		    sizeof(why)) == -1)
			goto fail;
		if (hl_set(h, &n, x->req.inj_name[0] != '\0' ?
		    x->req.inj_name : "Authorization", v) == -1)
			goto oom;
		v = NULL;
		break;
	case K_QUERY:
		q = strchr(target, '?');
		if (q != NULL)
			*q++ = '\0';
		if (sign_query(q, x->req.inj_name, val, x->vlen, &v, why,
		    sizeof(why)) == -1)
			goto fail;
		/* not asprintf(3): no copy of the value left behind */
		if ((path = malloc(strlen(target) + strlen(v) + 2)) == NULL)
			goto oom;
		snprintf(path, strlen(target) + strlen(v) + 2, "%s?%s",
		    target, v);
		freezero(target, strlen(target));
		target = path;
		path = NULL;
		if ((enc = pct(x->value, x->vlen, why, sizeof(why))) == NULL ||
		    needle_add(x, enc, strlen(enc), x->req.placeholder,
		    PH_LEN) == -1)
			goto fail;
		break;
	case K_URI:
		if ((enc = pct(x->value, x->vlen, why, sizeof(why))) == NULL)
			goto fail;
		if (strcasestr(target, x->req.placeholder) == NULL) {
			snprintf(why, sizeof(why), "uriPlaceholder: no "
			    "placeholder in the request target");
			status = 403;
			goto fail;
		}
		if ((path = ph_replace(target, x->req.placeholder, enc)) ==
		    NULL)
			goto oom;
		freezero(target, strlen(target));
		target = path;
		path = NULL;
		if (needle_add(x, enc, strlen(enc), x->req.placeholder,
		    PH_LEN) == -1)
			goto oom;
		break;
	case K_BASIC: {
		char	*b2 = NULL;

		if (sign_basic(x->req.inj_name, val, x->vlen, &v, why,
		    sizeof(why)) == -1)
			goto fail;
		/* an echo of base64(user:value): base64(user:placeholder) */
		if (sign_basic(x->req.inj_name, x->req.placeholder, PH_LEN,
		    &b2, why, sizeof(why)) == -1 ||
		    needle_add(x, v + 6, strlen(v + 6), b2 + 6,
		    strlen(b2 + 6)) == -1) {
			free(b2);
			goto fail;
		}
		free(b2);
		if (hl_set(h, &n, "Authorization", v) == -1)
			goto oom;
		v = NULL;
		break;
	}
	case K_HMAC:
	case K_SIGV4:
		/* the request as it will be written, signed */
		amzdate(date, ts);
		if (x->kind == K_SIGV4) {
			const uint8_t *colon = memchr(x->value, ':', x->vlen);

			if (colon == NULL || colon == x->value ||
			    (size_t)(colon - x->value) + 1 >= x->vlen ||
			    memchr(x->value, '\0', x->vlen) != NULL) {
				snprintf(why, sizeof(why), "credential %s is "
				    "not an AWS key pair ACCESS_KEY_ID:SECRET",
				    x->req.cred);
				goto fail;
			}
			if ((akid = strndup(val, colon - x->value)) == NULL)
				goto oom;
			if (needle_add(x, colon + 1, x->vlen -
			    (colon + 1 - x->value), x->req.placeholder,
			    PH_LEN) == -1)
				goto oom;
			if ((v = strdup(date)) == NULL ||
			    hl_set(h, &n, "X-Amz-Date", v) == -1)
				goto oom;
			v = NULL;
			if (hl_get(h, n, "X-Amz-Content-SHA256") != NULL &&
			    ((v = strdup(hash)) == NULL ||
			    hl_set(h, &n, "X-Amz-Content-SHA256", v) == -1))
				goto oom;
			v = NULL;
			/* the sandbox's own signature goes */
			hl_del(h, &n, "Authorization");
		} else if ((v = strdup(ts)) == NULL ||
		    hl_set(h, &n, SIGN_HMAC_TSHDR, v) == -1)
			goto oom;
		v = NULL;
		if ((path = strdup(target)) == NULL)
			goto oom;
		if ((q = strchr(path, '?')) != NULL)
			*q++ = '\0';
		for (i = 0; i < n; i++)
			sh[i] = (struct sign_hdr){ h[i].name, h[i].value };
		sr = (struct sign_req){ m->method, path, q, sh, n, hash };
		if (x->kind == K_SIGV4) {
			aws = (struct sign_aws){ akid,
			    (const char *)memchr(val, ':', x->vlen) + 1,
			    x->req.region, x->req.service, date };
			if (sign_sigv4(&aws, &sr, &v, why, sizeof(why)) == -1)
				goto fail;
			if (hl_set(h, &n, "Authorization", v) == -1)
				goto oom;
			v = NULL;
		} else {
			if ((v = malloc(SIGN_HEX256)) == NULL)
				goto oom;
			v[0] = '\0';
			if (sign_hmac(x->value, x->vlen, &sr, ts, v, why,
			    sizeof(why)) == -1)
				goto fail;
			if (hl_set(h, &n, x->req.inj_name, v) == -1)
				goto oom;
			v = NULL;
		}
		break;
	default:
		snprintf(why, sizeof(why), "injection type %u not known to "
		    "this lenscredd", x->req.inj_type);
		goto fail;
	}

	/* the head as it goes out */
	if (buf_printf(&x->out, "%s %s HTTP/1.1\r\n", m->method, target) == -1)
		goto oom;
	for (i = 0; i < n; i++)
		if (buf_printf(&x->out, "%s: %s\r\n", h[i].name,
		    h[i].value) == -1)
			goto oom;
	/* a streamed body read whole (X_PREBUF, signed) has a length */
	if (m->body == EXCH_BODY_LENGTH ||
	    (m->body == EXCH_BODY_STREAM && x->have_end)) {
		if (buf_printf(&x->out, "Content-Length: %llu\r\n",
		    (unsigned long long)(m->body == EXCH_BODY_STREAM ?
		    x->body.len : m->length)) == -1)
			goto oom;
	} else if (m->body == EXCH_BODY_STREAM) {
		x->chunked = 1;
		if (buf_printf(&x->out, "Transfer-Encoding: chunked\r\n") == -1)
			goto oom;
	}
	if (buf_printf(&x->out, "Connection: close\r\n\r\n") == -1)
		goto oom;
	/* the value goes only where the injection puts it */
	if (phscan_head(&x->phs, x->out.p, x->out.len, &which) != 0) {
		buf_consume(&x->out, x->out.len);
		snprintf(why, sizeof(why), "placeholder outside its injection "
		    "(in the request head)");
		status = 403;
		goto fail;
	}
	if (x->buffered && x->body.len > 0 &&
	    phscan_buf(&x->phs, x->body.p, x->body.len, &which) != 0) {
		buf_consume(&x->out, x->out.len);
		snprintf(why, sizeof(why), "placeholder outside its injection "
		    "(in the body)");
		status = 403;
		goto fail;
	}
	/* what came before the head was out, framed */
	if (x->body.len > 0 && body_out(x, x->body.p, x->body.len) == -1)
		goto oom;
	buf_free(&x->body);
	if (x->have_end && x->chunked && buf_add(&x->out, "0\r\n\r\n", 5) == -1)
		goto oom;
	rc = 0;
	goto done;
oom:
	snprintf(why, sizeof(why), "out of memory");
fail:
	x_fail(x, status, "%s", why);
done:
	hl_free(h, n);
	if (target != NULL)
		freezero(target, strlen(target));
	if (path != NULL)
		freezero(path, strlen(path));
	if (v != NULL)
		freezero(v, strlen(v));
	if (enc != NULL)
		freezero(enc, strlen(enc));
	if (akid != NULL)
		free(akid);
	return rc;
}

/* cred.use, through the parent; -1 when it cannot be audited */
static int
audit_use(struct xch *x)
{
	struct credd_use	 u;
	size_t			 plen;

	if (!audit_ready)
		return -1;
	memset(&u, 0, sizeof(u));
	strlcpy(u.sandbox, x->req.sandbox, sizeof(u.sandbox));
	strlcpy(u.cred, x->req.cred, sizeof(u.cred));
	strlcpy(u.host, x->req.host, sizeof(u.host));
	strlcpy(u.method, x->head->method, sizeof(u.method));
	u.inj_type = x->req.inj_type;
	u.port = x->req.port;
	/* the path without the query: a query parameter may be injected */
	plen = strcspn(x->head->target, "?");
	if (plen >= sizeof(u.path))
		plen = sizeof(u.path) - 1;
	memcpy(u.path, x->head->target, plen);
	if (imsgev_compose(&achan.iev, IMSG_CREDD_USE, 0, 0, -1, &u,
	    sizeof(u)) == -1)
		return -1;
	return 0;
}

static void
up_timeout(int fd, short ev, void *arg)
{
	struct xch	*x = arg;

	(void)fd;
	(void)ev;
	if (x->state == X_CLOSING) {
		log_warnx("%s: the proxy took no answer in %d s", x->peer,
		    X_IDLE_SECS);
		x_close(x);
	} else if (x->state == X_CONNECT || x->state == X_TLS)
		x_fail(x, 504, "upstream %s: no connection in %d s",
		    x->hostport, X_CONNECT_SECS);
	else if (x->resp_sent)
		x_fail(x, 504, "upstream %s: idle %d s in the response",
		    x->hostport, X_IDLE_SECS);
	else
		x_fail(x, 504, "%s: idle %d s", x->state == X_WAIT ?
		    "the proxy" : x->hostport, X_IDLE_SECS);
}

/* all there: inject, check, audit, connect */
static void
x_start(struct xch *x)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 sl;
	char			 err[256];

	if (x->state != X_WAIT || !x->have_value || !x->have_head)
		return;
	/* the whole body first: to sign it, or to scan it (X_PREBUF) */
	if (!x->have_end && (x->buffered ||
	    (x->head->body != EXCH_BODY_NONE && x->body.len <= X_PREBUF)))
		return;
	if (build_request(x) == -1)
		return;
	if (audit_use(x) == -1) {
		buf_consume(&x->out, x->out.len);
		x_fail(x, 502, "lensauditd is not reachable: no use of "
		    "credential %s without an audit log", x->req.cred);
		return;
	}
	if (x->ca != NULL && (x->st = tlsx_store(x->ca, x->req.calen, err,
	    sizeof(err))) == NULL) {
		x_fail(x, 502, "caFile of %s: %s", x->req.host, err);
		return;
	}
	memset(&ss, 0, sizeof(ss));
	if (x->req.family == AF_INET) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(x->req.port);
		memcpy(&s4->sin_addr, x->req.addr, 4);
		sl = sizeof(*s4);
	} else {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(x->req.port);
		memcpy(&s6->sin6_addr, x->req.addr, 16);
		sl = sizeof(*s6);
	}
	if ((x->fd = socket(x->req.family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		x_fail(x, 502, "socket: %s", strerror(errno));
		return;
	}
	if (connect(x->fd, (struct sockaddr *)&ss, sl) == -1 &&
	    errno != EINPROGRESS) {
		x_fail(x, 502, "connect to %s: %s", x->hostport,
		    strerror(errno));
		return;
	}
	x->state = X_CONNECT;
	x->want = EV_WRITE;
	x_settimeout(x, X_CONNECT_SECS);
	up_arm(x);
}

/* ---- the response ---- */

/* scrub p[0..n) up to cut into o; returns the bytes consumed */
static size_t
scrub_run(struct xch *x, const uint8_t *p, size_t n, size_t cut,
    struct buf *o)
{
	size_t	 i = 0, k;

	while (i < cut) {
		for (k = 0; k < x->nnd; k++)
			if (x->nd[k].plen <= n - i && p[i] == x->nd[k].pat[0] &&
			    memcmp(p + i, x->nd[k].pat, x->nd[k].plen) == 0)
				break;
		if (k < x->nnd) {
			if (buf_add(o, x->nd[k].rep, x->nd[k].rlen) == -1)
				return (size_t)-1;
			i += x->nd[k].plen;
		} else {
			if (buf_add(o, p + i, 1) == -1)
				return (size_t)-1;
			i++;
		}
	}
	return i;
}

/* a header value or reason, scrubbed whole (malloc'd, NUL-terminated) */
static char *
scrub_str(struct xch *x, const char *s, size_t n, size_t *outlen)
{
	struct buf	 o = { 0 };

	if (scrub_run(x, (const uint8_t *)s, n, n, &o) == (size_t)-1 ||
	    buf_add(&o, "", 1) == -1) {
		buf_free(&o);
		return NULL;
	}
	*outlen = o.len - 1;
	return (char *)o.p;
}

/* body bytes through the sliding window; final: the rest too */
static int
scrub_body(struct xch *x, const uint8_t *p, size_t n, int final)
{
	struct buf	 o = { 0 };
	size_t		 cut, used, off, k;
	char		 why[128];
	int		 rc = -1;

	if (buf_add(&x->tail, p, n) == -1)
		return -1;
	cut = final ? x->tail.len : x->tail.len >= x->ndmax ?
	    x->tail.len - (x->ndmax - 1) : 0;
	if ((used = scrub_run(x, x->tail.p, x->tail.len, cut, &o)) ==
	    (size_t)-1)
		goto done;
	buf_consume(&x->tail, used);
	for (off = 0; off < o.len; off += k) {
		k = o.len - off < EXCH_BODY_MAX ? o.len - off : EXCH_BODY_MAX;
		if (exch_put_body(&x->pc.iev.ibuf, EXCH_RESP_BODY, o.p + off,
		    k, why, sizeof(why)) == -1)
			goto done;
	}
	imsgev_add(&x->pc.iev);
	rc = 0;
done:
	buf_free(&o);
	return rc;
}

static int
opt_named(const char *opts, size_t olen, const char *name, size_t nlen)
{
	size_t	 i = 0, s, e;

	while (i < olen) {
		while (i < olen && (opts[i] == ',' || opts[i] == ' ' ||
		    opts[i] == '\t'))
			i++;
		s = i;
		while (i < olen && opts[i] != ',' && opts[i] != ' ' &&
		    opts[i] != '\t')
			i++;
		e = i;
		if (e > s && e - s == nlen && strncasecmp(opts + s, name,
		    nlen) == 0)
			return 1;
	}
	return 0;
}

/* a Content-Encoding value (from p to end) that is "identity" or empty */
static int
identity(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	return end == p || (end - p == 8 && strncasecmp(p, "identity", 8) == 0);
}

/* the head peek_http_response took, to the proxy as RESP_HEAD */
static int
resp_head(struct xch *x, const struct peek_response *r)
{
	struct exch_msg_resp	*m;
	const char		*p = (const char *)x->in.p, *end, *line, *eol;
	const char		*first;
	const char		*colon, *conn[PEEK_HTTP_MAXHEADERS];
	size_t			 nconn = 0, connlen[PEEK_HTTP_MAXHEADERS];
	size_t			 i, k, vlen, n;
	char			*sv[EXCH_MAXHDR + 1], why[256];
	int			 drop, rc = -1;

	if ((m = calloc(1, sizeof(*m))) == NULL) {
		x_fail(x, 502, "out of memory");
		return -1;
	}
	memset(sv, 0, sizeof(sv));
	end = p + r->headlen - 2;
	eol = memmem(p, r->headlen, "\r\n", 2);
	first = eol + 2;
	/* "HTTP/1.x NNN[ reason]" */
	m->status = r->status;
	m->reason = sv[0] = scrub_str(x, eol - p > 13 ? p + 13 : "",
	    eol - p > 13 ? (size_t)(eol - p - 13) : 0, &m->rlen);
	if (m->reason == NULL)
		goto oom;
	for (line = first; line < end; line = eol + 2) {
		eol = memmem(line, end + 2 - line, "\r\n", 2);
		if ((colon = memchr(line, ':', eol - line)) == NULL)
			goto bad;
		if (colon - line == 10 && strncasecmp(line, "Connection",
		    10) == 0 && nconn < PEEK_HTTP_MAXHEADERS) {
			conn[nconn] = colon + 1;
			connlen[nconn++] = eol - colon - 1;
		}
		/* an echo inside a compressed body cannot be scrubbed */
		if (colon - line == 16 && strncasecmp(line,
		    "Content-Encoding", 16) == 0 && !identity(colon + 1, eol)) {
			x_fail(x, 502, "upstream %s: an encoded answer "
			    "(Content-Encoding) cannot be scrubbed",
			    x->hostport);
			goto done;
		}
	}
	for (line = first, n = 0; line < end; line = eol + 2) {
		eol = memmem(line, end + 2 - line, "\r\n", 2);
		colon = memchr(line, ':', eol - line);
		k = colon - line;
		drop = exch_hopbyhop(line, k);
		for (i = 0; !drop && i < nconn; i++)
			drop = opt_named(conn[i], connlen[i], line, k);
		/* a name that echoes the value: dropped */
		for (i = 0; !drop && i < x->nnd; i++)
			drop = memmem(line, k, x->nd[i].pat, x->nd[i].plen) !=
			    NULL;
		if (drop)
			continue;
		if (n == EXCH_MAXHDR) {
			x_fail(x, 502, "upstream %s: more than %d headers",
			    x->hostport, EXCH_MAXHDR);
			goto done;
		}
		colon++;
		while (colon < eol && (*colon == ' ' || *colon == '\t'))
			colon++;
		vlen = eol - colon;
		while (vlen > 0 && (colon[vlen - 1] == ' ' ||
		    colon[vlen - 1] == '\t'))
			vlen--;
		m->hdr[n].name = line;
		m->hdr[n].nlen = k;
		if ((m->hdr[n].value = sv[n + 1] = scrub_str(x, colon, vlen,
		    &m->hdr[n].vlen)) == NULL)
			goto oom;
		n++;
	}
	m->nhdr = n;
	if (x->is_head || r->status == 204 || r->status == 304) {
		x->rbody = RB_NONE;
		m->body = EXCH_BODY_NONE;
	} else {
		x->rbody = r->chunked || r->has_clen ? RB_FRAMED : RB_CLOSE;
		if (x->rbody == RB_FRAMED)
			peek_body_init_response(&x->rframe, r);
		/* scrubbing may change the length: streamed */
		m->body = EXCH_BODY_STREAM;
	}
	if (exch_put_resp(&x->pc.iev.ibuf, m, why, sizeof(why)) == -1) {
		x_fail(x, 502, "upstream %s: response head: %s", x->hostport,
		    why);
		goto done;
	}
	x->resp_sent = 1;
	imsgev_add(&x->pc.iev);
	rc = 0;
	goto done;
bad:
	x_fail(x, 502, "upstream %s: a header line without a colon",
	    x->hostport);
	goto done;
oom:
	x_fail(x, 502, "out of memory");
done:
	for (i = 0; i <= EXCH_MAXHDR; i++)
		free(sv[i]);
	free(m);
	return rc;
}

static void
resp_end(struct xch *x)
{
	char	 why[128];

	if (x->tail.len > 0 && scrub_body(x, NULL, 0, 1) == -1) {
		x_fail(x, 502, "out of memory");
		return;
	}
	x->rs = R_DONE;
	if (exch_put_end(&x->pc.iev.ibuf, EXCH_RESP_END, why,
	    sizeof(why)) == -1) {
		x_fail(x, 502, "%s", why);
		return;
	}
	imsgev_add(&x->pc.iev);
	log_debug("%s: done", x->peer);
	x_finish(x);
}

/* what came from upstream: head, then body */
static void
resp_input(struct xch *x)
{
	struct peek_response	 r;
	enum peek_result	 pr;
	const char		*why = NULL;
	size_t			 i, u, k;
	uint64_t		 d;

	while (x->rs == R_HEAD && x->in.len > 0) {
		pr = peek_http_response(x->in.p, x->in.len, &r, &why);
		if (pr == PEEK_NEED_MORE)
			return;
		if (pr == PEEK_BAD) {
			x_fail(x, 502, "upstream %s: bad response: %s",
			    x->hostport, why);
			return;
		}
		if (r.status == 101) {
			x_fail(x, 502, "upstream %s switched protocols unasked",
			    x->hostport);
			return;
		}
		if (r.status < 200) {
			if (++x->ninterim > X_MAX_INTERIM) {
				x_fail(x, 502, "upstream %s: too many 1xx "
				    "responses", x->hostport);
				return;
			}
			buf_consume(&x->in, r.headlen);
			continue;
		}
		if (resp_head(x, &r) == -1)
			return;
		buf_consume(&x->in, r.headlen);
		x->rs = R_BODY;
		/* no body, or Content-Length: 0: no byte will end it */
		if (x->rbody == RB_NONE || (x->rbody == RB_FRAMED &&
		    !r.chunked && r.clen == 0)) {
			resp_end(x);
			return;
		}
	}
	if (x->rs != R_BODY || x->in.len == 0)
		return;
	if (x->rbody == RB_CLOSE) {
		if (scrub_body(x, x->in.p, x->in.len, 0) == -1) {
			x_fail(x, 502, "out of memory");
			return;
		}
		buf_consume(&x->in, x->in.len);
		return;
	}
	for (i = 0; i < x->in.len; i += u) {
		d = peek_body_data(&x->rframe);
		k = d == 0 ? 1 : d < x->in.len - i ? (size_t)d : x->in.len - i;
		pr = peek_body(&x->rframe, x->in.p + i, k, &u, &why);
		if (pr == PEEK_BAD) {
			x_fail(x, 502, "upstream %s: bad response body: %s",
			    x->hostport, why);
			return;
		}
		if (pr != PEEK_FOUND)
			u = k;
		if (d > 0 && scrub_body(x, x->in.p + i, u, 0) == -1) {
			x_fail(x, 502, "out of memory");
			return;
		}
		if (pr == PEEK_FOUND) {
			buf_consume(&x->in, x->in.len);
			resp_end(x);
			return;
		}
	}
	buf_consume(&x->in, x->in.len);
}

static void
up_eof(struct xch *x)
{
	if (x->rs == R_BODY && x->rbody == RB_CLOSE)
		resp_end(x);
	else if (x->rs == R_HEAD)
		x_fail(x, 502, "upstream %s closed before a response",
		    x->hostport);
	else
		x_fail(x, 502, "upstream %s closed in the response body",
		    x->hostport);
}

static void
up_arm(struct xch *x)
{
	short	 ev = 0;

	if (x->fd == -1 || x->state == X_CLOSING)
		return;
	if (x->state == X_RUN) {
		if (x->out.len > 0)
			ev |= EV_WRITE;
		if (!x->rpaused)
			ev |= EV_READ;
		ev |= x->want;
	} else
		ev = x->want;
	if (x->ev_set)
		event_del(&x->ev);
	event_set(&x->ev, x->fd, ev, up_event, x);
	event_add(&x->ev, NULL);
	x->ev_set = 1;
}

/* 0 progress or wait, -1 after x_fail */
static int
up_io(struct xch *x)
{
	uint8_t	 b[16384];
	int	 n, e;
	size_t	 w;

	x->want = 0;
	while (x->out.len > 0) {
		w = x->out.len > INT_MAX ? INT_MAX : x->out.len;
		ERR_clear_error();
		if ((n = SSL_write(x->ssl, x->out.p, (int)w)) > 0) {
			buf_consume(&x->out, n);
			x_idle(x);
			continue;
		}
		e = SSL_get_error(x->ssl, n);
		if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
			x->want = e == SSL_ERROR_WANT_WRITE ? EV_WRITE : EV_READ;
			break;
		}
		x_fail(x, 502, "upstream %s: write failed", x->hostport);
		return -1;
	}
	if (x->out.len < X_OUT_HIGH / 4 && x->pc.iev.rpaused && !x->have_end)
		imsgev_pause(&x->pc.iev, 0);
	while (!x->rpaused && x->state == X_RUN) {
		ERR_clear_error();
		if ((n = SSL_read(x->ssl, b, sizeof(b))) > 0) {
			x_idle(x);
			e = buf_add(&x->in, b, n);
			explicit_bzero(b, n);
			if (e == -1) {
				x_fail(x, 502, "out of memory");
				return -1;
			}
			resp_input(x);
			if (x->state != X_RUN)
				return -1;
			if (x->pc.iev.ibuf.wqueued > X_PROXY_HIGH)
				x->rpaused = 1;
			continue;
		}
		e = SSL_get_error(x->ssl, n);
		if (e == SSL_ERROR_WANT_READ)
			break;
		if (e == SSL_ERROR_WANT_WRITE) {
			x->want |= EV_WRITE;
			break;
		}
		if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL &&
		    ERR_peek_error() == 0)) {
			up_eof(x);
			return -1;
		}
		x_fail(x, 502, "upstream %s: read failed", x->hostport);
		return -1;
	}
	return 0;
}

static void
up_event(int fd, short ev, void *arg)
{
	struct xch	*x = arg;
	char		 err[256];
	socklen_t	 sl;
	int		 r, soerr;

	(void)ev;
	x->ev_set = 0;
	if (x->state == X_CONNECT) {
		sl = sizeof(soerr);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1)
			soerr = errno;
		if (soerr != 0) {
			x_fail(x, 502, "connect to %s: %s", x->hostport,
			    strerror(soerr));
			return;
		}
		if ((x->ssl = tlsx_connect(fd, x->req.host, x->st)) == NULL) {
			x_fail(x, 502, "upstream %s: no TLS session",
			    x->hostport);
			return;
		}
		/* what was read is zeroed once taken: it may echo the value */
		SSL_set_options(x->ssl, SSL_OP_CLEANSE_PLAINTEXT);
		x->state = X_TLS;
	}
	if (x->state == X_TLS) {
		if ((r = tlsx_handshake(x->ssl, &x->want, err,
		    sizeof(err))) == -1) {
			buf_consume(&x->out, x->out.len);
			x_fail(x, 502, "upstream %s: TLS: %s", x->hostport,
			    err);
			return;
		}
		if (r == 0) {
			up_arm(x);
			return;
		}
		x->state = X_RUN;
		x->want = 0;
		x_settimeout(x, X_IDLE_SECS);
		log_debug("%s: TLS to %s", x->peer, x->hostport);
	}
	if (up_io(x) == 0)
		up_arm(x);
}

/*
 * ---- the value to inject ----
 *
 * The vault answers VALUE_REQ with the stored value.  For the static
 * forms that is what is injected: it goes into x->value (NUL-terminated
 * sodium_malloc memory, vlen bytes) and x_start() goes on.  The token
 * forms (oauth2Refresh) hook in here: the stored value is their refresh
 * token, and what must reach x->value before x_start() is the access
 * token it is exchanged for; until that is in, they fail closed.
 */

/* what is injected: the stored value, or an oauth2 access token */
static void
x_value(struct xch *x, const uint8_t *val, size_t len)
{
	/* NUL-terminated too: sigv4 takes its secret as a string */
	if ((x->value = sodium_malloc(len + 1)) == NULL) {
		x_fail(x, 502, "out of memory");
		return;
	}
	memcpy(x->value, val, len);
	x->value[len] = '\0';
	x->vlen = len;
	x->have_value = 1;
	x_start(x);
}

/* oauth2Refresh: the refresh ended (oauthx.c) */
static void
x_token(void *arg, const char *access, const char *why)
{
	struct xch	*x = arg;

	x->ow = NULL;
	if (x->state != X_WAIT)
		return;
	if (access == NULL)
		x_fail(x, 502, "credential refresh failed: %s", why);
	else
		x_value(x, (const uint8_t *)access, strlen(access));
}

/* oauth2Refresh: value is the refresh token; the access token goes in */
static void
v_oauth(struct xch *x, const uint8_t *value, size_t len)
{
	char			*tok, why[256];
	enum oauth_state	 s;

	if ((tok = sodium_malloc(OAUTH_TOKEN_MAX + 1)) == NULL) {
		x_fail(x, 502, "out of memory");
		return;
	}
	s = oauthx_get(&x->req, value, len, tok, x_token, x, &x->ow, why,
	    sizeof(why));
	if (s == OAUTH_HAVE)
		x_value(x, (const uint8_t *)tok, strlen(tok));
	else if (s == OAUTH_WAIT)
		log_debug("%s: waits for the refresh of credential %s",
		    x->peer, x->req.cred);
	else if (s == OAUTH_FAILED)
		x_fail(x, 502, "credential refresh failed: %s", why);
	sodium_free(tok);
}

static void
v_value(struct imsg *im, void *arg)
{
	struct credd_value	 v;
	struct xch		*x;

	(void)arg;
	memcpy(&v, im->data, sizeof(v));
	if (v.len != im->datalen - sizeof(v))
		fatalx("vault: a VALUE of %zu bytes saying %u",
		    im->datalen - sizeof(v), v.len);
	if ((x = x_find(v.id)) == NULL || x->state != X_WAIT)
		return;
	if (v.len == 0) {
		v.err[sizeof(v.err) - 1] = '\0';
		x_fail(x, 502, "%s", v.err);
		return;
	}
	if (x->kind == K_OAUTH2) {
		v_oauth(x, (uint8_t *)im->data + sizeof(v), v.len);
		explicit_bzero(im->data, im->datalen);
		return;
	}
	x_value(x, (uint8_t *)im->data + sizeof(v), v.len);
}

static const struct proc_msg vault_msgs[] = {
	PROC_MSGV(IMSG_CREDD_VALUE, sizeof(struct credd_value),
	    sizeof(struct credd_value) + CRED_SECRET_MAX, v_value),
};

/* ---- requests from the listener ---- */

static void
l_reply_error(uint32_t peerid, const char *fmt, ...)
{
	struct cred_error	 e;
	va_list			 ap;

	memset(&e, 0, sizeof(e));
	e.request = IMSG_CRED_EXCHANGE;
	va_start(ap, fmt);
	vsnprintf(e.msg, sizeof(e.msg), fmt, ap);
	va_end(ap);
	log_warnx("exchange refused: %s", e.msg);
	if (imsgev_compose(&lchan.iev, IMSG_CRED_ERROR, peerid, 0, -1, &e,
	    sizeof(e)) == -1)
		fatal("queue for the listener");
}

static void
l_exchange(struct imsg *im, void *arg)
{
	struct cred_exchange_ok	 ok;
	struct credd_value_req	 vr;
	struct xch		*x;
	char			 why[256];
	int			 fd = im->fd;

	(void)arg;
	if (exch_cred_check(im->data, im->datalen, why, sizeof(why)) == -1) {
		l_reply_error(im->hdr.peerid, "bad exchange request: %s", why);
		return;
	}
	if (fd == -1) {
		l_reply_error(im->hdr.peerid, "an exchange request without "
		    "its descriptor");
		return;
	}
	if (nxchs >= EXCHANGE_MAX) {
		l_reply_error(im->hdr.peerid, "%d exchanges running, the most "
		    "there may be", EXCHANGE_MAX);
		return;
	}
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		l_reply_error(im->hdr.peerid, "out of memory");
		return;
	}
	memcpy(&x->req, im->data, sizeof(x->req));
	if (x->req.calen > 0) {
		if ((x->ca = malloc(x->req.calen + 1)) == NULL) {
			free(x);
			l_reply_error(im->hdr.peerid, "out of memory");
			return;
		}
		memcpy(x->ca, (uint8_t *)im->data + sizeof(x->req),
		    x->req.calen);
		x->ca[x->req.calen] = '\0';
	}
	im->fd = -1;
	x->id = next_id++;
	if (next_id == 0)
		next_id = 1;
	x->fd = -1;
	x->kind = inj_kind(x->req.inj_type);
	x->buffered = x->kind == K_HMAC || x->kind == K_SIGV4;
	if (x->req.port == 443)
		snprintf(x->hostport, sizeof(x->hostport), "%s", x->req.host);
	else if (strchr(x->req.host, ':') != NULL)
		snprintf(x->hostport, sizeof(x->hostport), "[%s]:%u",
		    x->req.host, x->req.port);
	else
		snprintf(x->hostport, sizeof(x->hostport), "%s:%u",
		    x->req.host, x->req.port);
	snprintf(x->peer, sizeof(x->peer), "exchange %u (%s, %s, %s)",
	    x->id, x->req.sandbox, x->req.cred, x->hostport);
	if (phset_add(&x->phs, x->req.placeholder) == -1)
		fatalx("a checked placeholder refused");
	evtimer_set(&x->tmo, up_timeout, x);
	evtimer_set(&x->reap, x_reap, x);
	proc_chan_init(&x->pc, fd, x->peer, proxy_msgs,
	    sizeof(proxy_msgs) / sizeof(proxy_msgs[0]), x);
	x->pc.lost = pc_lost;
	x->pc.wrote = pc_wrote;
	TAILQ_INSERT_TAIL(&xchs, x, entry);
	nxchs++;
	x_settimeout(x, X_IDLE_SECS);

	memset(&vr, 0, sizeof(vr));
	vr.id = x->id;
	strlcpy(vr.name, x->req.cred, sizeof(vr.name));
	if (imsgev_compose(&vchan.iev, IMSG_CREDD_VALUE_REQ, 0, 0, -1, &vr,
	    sizeof(vr)) == -1)
		fatal("queue for the vault");
	memset(&ok, 0, sizeof(ok));
	ok.exch_id = x->req.exch_id;
	if (imsgev_compose(&lchan.iev, IMSG_CRED_EXCHANGE_OK, im->hdr.peerid,
	    0, -1, &ok, sizeof(ok)) == -1)
		fatal("queue for the listener");
	log_debug("%s: started, injection %s", x->peer,
	    gr_inj_names[x->req.inj_type]);
}

static const struct proc_msg listener_msgs[] = {
	{ IMSG_CRED_EXCHANGE, sizeof(struct cred_exchange),
	    sizeof(struct cred_exchange) + CRED_PEM_MAX, l_exchange, 1 },
};

static void
p_audit_state(struct imsg *im, void *arg)
{
	struct credd_audit_state	 st;

	(void)arg;
	memcpy(&st, im->data, sizeof(st));
	audit_ready = st.ready != 0;
}

static const struct proc_msg parent_msgs[] = {
	PROC_MSG(IMSG_CREDD_AUDIT_STATE, sizeof(struct credd_audit_state),
	    p_audit_state),
};

static void
exchange_stop(void)
{
	while (!TAILQ_EMPTY(&xchs))
		x_close(TAILQ_FIRST(&xchs));
	oauthx_stop();
}

static void
link_lost(struct proc_chan *ch, const char *why)
{
	exchange_stop();
	if (strcmp(why, "gone") == 0)
		exit(0);
	fatalx("%s: %s", ch->peer, why);
}

static void
exchange_preinit(void *arg)
{
	char	 err[512];

	(void)arg;
	if (tlsx_preinit(conf->trust[0] != '\0' ? conf->trust : NULL, err,
	    sizeof(err)) == -1)
		fatalx("trust store %s: %s", conf->trust[0] != '\0' ?
		    conf->trust : "(the system's)", err);
}

static void
exchange_init(void *arg)
{
	int	 parentfd = *(int *)arg;

	/* no core, no ptrace by its own uid: values pass through here */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("PR_SET_DUMPABLE");
	proc_watch_parent(parentfd, exchange_stop);
	proc_chan_init(&lchan, conf->xlink[1], "listener", listener_msgs,
	    sizeof(listener_msgs) / sizeof(listener_msgs[0]), NULL);
	lchan.lost = link_lost;
	proc_chan_init(&vchan, conf->vxlink[1], "vault", vault_msgs,
	    sizeof(vault_msgs) / sizeof(vault_msgs[0]), NULL);
	vchan.lost = link_lost;
	proc_chan_init(&achan, conf->xalink[1], "parent", parent_msgs,
	    sizeof(parent_msgs) / sizeof(parent_msgs[0]), NULL);
	achan.lost = link_lost;
	oauthx_init(&vchan.iev, &achan.iev);
	log_info("ready: at most %d exchanges, trust %s", EXCHANGE_MAX,
	    conf->trust[0] != '\0' ? conf->trust : "the system's bundle");
}

int
exchange_main(int parentfd, void *arg)
{
	static const struct proc_role	 role = {
		.name = "exchange",
		PROC_SECCOMP(exchange_syscalls),
		.preinit = exchange_preinit,
		.init = exchange_init,
	};

	conf = arg;
	return proc_start(&role, &conf->user, conf->parent, &parentfd);
}
