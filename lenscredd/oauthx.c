/*
 * oauth2Refresh in the exchange (oauth.h has the rules): the access
 * token cache of this process, and its refreshes.  A refresh connects to
 * the address lensnetd resolved for the tokenUrl's host, verifies the
 * endpoint with the upstream TLS of the exchange (common/tlsup.c: SNI,
 * host name, the trust store; a rule's caFile is for the API host, not
 * the token endpoint), POSTs the token request (oauth_request), reads
 * the answer with the response parser of the exchange and of lensnetd's
 * proxy (common/peek.c), and gives it to oauth_parse.  Every refresh is
 * audited (cred.refresh through the parent: credential, expires_in,
 * rotated, or failed and why; never a token); a new refresh token is
 * sent to the vault, which replaces the stored one.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdarg.h>
#include <event.h>
#include <jansson.h>
#include <limits.h>
#include <malloc.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "imsgev.h"
#include "lenscredd.h"
#include "log.h"
#include "oauth.h"
#include "oauthx.h"
#include "peek.h"
#include "tlsup.h"

#define OX_SECS		10		/* a refresh, connect to answer */
#define OX_INMAX	(PEEK_MAX + OAUTH_RESP_MAX + 8192)

enum ox_state { OX_CONNECT, OX_TLS, OX_RUN };

struct ofetch {
	TAILQ_ENTRY(ofetch)	 entry;
	struct oauth_entry	*e;
	char			 sandbox[CRED_SANDBOX_SIZE];
	char			 cred[CRED_ID_SIZE];
	char			 host[CRED_NAME_SIZE];
	char			*secret;	/* client secret, or NULL */
	size_t			 slen;
	enum ox_state		 state;
	int			 fd;
	SSL			*ssl;
	struct event		 ev, tmo;
	int			 ev_set;
	short			 want;
	uint8_t			*out;		/* the request */
	size_t			 outlen, outoff;
	uint8_t			*in;		/* the answer */
	size_t			 inlen;
};

static TAILQ_HEAD(, ofetch)	 fetches = TAILQ_HEAD_INITIALIZER(fetches);
static struct oauth_cache	*cache;
static struct imsgev		*vault_iev, *parent_iev;
/* the exchange asking, while oauth_get may call ox_fetch */
static const struct cred_exchange *cur_req;
static const uint8_t		*cur_value;
static size_t			 cur_vlen;

static void	ox_event(int, short, void *);

static int64_t
ox_now(void *arg)
{
	struct timespec	 ts;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void
ox_free(struct ofetch *f)
{
	TAILQ_REMOVE(&fetches, f, entry);
	if (f->ev_set)
		event_del(&f->ev);
	evtimer_del(&f->tmo);
	if (f->ssl != NULL)
		SSL_free(f->ssl);
	if (f->fd != -1)
		close(f->fd);
	if (f->out != NULL)
		freezero(f->out, f->outlen);
	if (f->in != NULL)
		freezero(f->in, OX_INMAX);
	if (f->secret != NULL)
		freezero(f->secret, f->slen);
	free(f);
}

/* cred.refresh, through the parent */
static void
ox_audit(struct ofetch *f, const struct oauth_token *t, const char *why)
{
	struct credd_refresh	 r;

	memset(&r, 0, sizeof(r));
	strlcpy(r.sandbox, f->sandbox, sizeof(r.sandbox));
	strlcpy(r.cred, f->cred, sizeof(r.cred));
	r.ok = t != NULL;
	if (t != NULL) {
		r.expires_in = t->expires_in;
		r.rotated = t->refresh[0] != '\0';
	} else
		strlcpy(r.why, why, sizeof(r.why));
	if (imsgev_compose(parent_iev, IMSG_CREDD_REFRESH, 0, 0, -1, &r,
	    sizeof(r)) == -1)
		fatal("queue for the parent");
}

/* a new refresh token (and the client secret kept) to the vault */
static void
ox_rotate(struct ofetch *f, const char *rt)
{
	struct credd_rotate	 r;
	struct ibuf		*b;
	size_t			 rlen = strlen(rt);

	memset(&r, 0, sizeof(r));
	strlcpy(r.name, f->cred, sizeof(r.name));
	r.len = rlen + (f->secret != NULL ? 1 + f->slen : 0);
	if ((b = imsg_create(&vault_iev->ibuf, IMSG_CREDD_ROTATE, 0, 0,
	    sizeof(r) + r.len)) == NULL || imsg_add(b, &r, sizeof(r)) == -1 ||
	    imsg_add(b, rt, rlen) == -1 || (f->secret != NULL &&
	    (imsg_add(b, "\n", 1) == -1 ||
	    imsg_add(b, f->secret, f->slen) == -1)))
		fatal("queue for the vault");
	imsg_close(&vault_iev->ibuf, b);	/* zeroed once sent */
	imsgev_add(vault_iev);
}

/* the refresh ended: audit, rotate, tell the waiters; f is freed */
static void
ox_done(struct ofetch *f, const struct oauth_token *t, const char *why)
{
	struct oauth_entry	*e = f->e;

	if (t != NULL) {
		log_info("credential %s: access token refreshed for sandbox "
		    "%s, expires in %u s%s", f->cred, f->sandbox,
		    t->expires_in, t->refresh[0] != '\0' ?
		    ", refresh token rotated" : "");
		if (t->refresh[0] != '\0')
			ox_rotate(f, t->refresh);
	} else
		log_warnx("credential %s: refresh failed: %s", f->cred, why);
	ox_audit(f, t, why);
	ox_free(f);
	oauth_fetched(cache, e, t, why);
}

static void
ox_fail(struct ofetch *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
ox_fail(struct ofetch *f, const char *fmt, ...)
{
	char	 why[256];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	ox_done(f, NULL, why);
}

/* the answer, complete (eof: the endpoint closed): 0, or 1 for more */
static int
ox_answer(struct ofetch *f, int eof)
{
	struct peek_response	 r;
	struct peek_body	 pb;
	struct oauth_token	*t;
	enum peek_result	 pr;
	const char		*why = NULL;
	uint8_t			*body;
	size_t			 i, u, k, blen = 0;
	uint64_t		 d;
	char			 w[256];
	int			 rc;

	pr = peek_http_response(f->in, f->inlen, &r, &why);
	if (pr == PEEK_NEED_MORE && !eof)
		return 1;
	if (pr != PEEK_FOUND) {
		ox_fail(f, "token endpoint %s: bad response: %s", f->host,
		    why != NULL ? why : "cut short");
		return 0;
	}
	if (r.status < 200) {
		ox_fail(f, "token endpoint %s: HTTP %d", f->host, r.status);
		return 0;
	}
	if ((body = malloc(OAUTH_RESP_MAX + 1)) == NULL) {
		ox_fail(f, "out of memory");
		return 0;
	}
	if (!r.chunked && !r.has_clen) {
		/* until the endpoint closes */
		if (!eof) {
			free(body);
			return 1;
		}
		blen = f->inlen - r.headlen;
		if (blen > OAUTH_RESP_MAX)
			blen = OAUTH_RESP_MAX + 1;
		memcpy(body, f->in + r.headlen, blen > OAUTH_RESP_MAX ?
		    OAUTH_RESP_MAX : blen);
		goto parse;
	}
	peek_body_init_response(&pb, &r);
	for (i = r.headlen; i < f->inlen; i += u) {
		d = peek_body_data(&pb);
		k = d == 0 ? 1 : d < f->inlen - i ? (size_t)d : f->inlen - i;
		pr = peek_body(&pb, f->in + i, k, &u, &why);
		if (pr == PEEK_BAD) {
			freezero(body, OAUTH_RESP_MAX + 1);
			ox_fail(f, "token endpoint %s: bad response body: %s",
			    f->host, why);
			return 0;
		}
		if (pr != PEEK_FOUND)
			u = k;
		if (d > 0) {
			if (blen + u > OAUTH_RESP_MAX) {
				blen = OAUTH_RESP_MAX + 1;
				goto parse;
			}
			memcpy(body + blen, f->in + i, u);
			blen += u;
		}
		if (pr == PEEK_FOUND)
			goto parse;
	}
	if (!eof) {
		freezero(body, OAUTH_RESP_MAX + 1);
		return 1;
	}
	freezero(body, OAUTH_RESP_MAX + 1);
	ox_fail(f, "token endpoint %s closed in the response body", f->host);
	return 0;
 parse:
	if ((t = sodium_malloc(sizeof(*t))) == NULL) {
		freezero(body, OAUTH_RESP_MAX + 1);
		ox_fail(f, "out of memory");
		return 0;
	}
	rc = oauth_parse(r.status, body, blen, t, w, sizeof(w));
	freezero(body, OAUTH_RESP_MAX + 1);
	if (rc == -1)
		ox_fail(f, "token endpoint %s: %s", f->host, w);
	else
		ox_done(f, t, NULL);
	sodium_free(t);		/* zeroes it */
	return 0;
}

/* 0: wait for want, -1: ended (f freed) */
static int
ox_io(struct ofetch *f)
{
	int	 n, e;

	f->want = 0;
	while (f->outoff < f->outlen) {
		ERR_clear_error();
		if ((n = SSL_write(f->ssl, f->out + f->outoff,
		    (int)(f->outlen - f->outoff))) > 0) {
			f->outoff += n;
			continue;
		}
		e = SSL_get_error(f->ssl, n);
		if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
			f->want = e == SSL_ERROR_WANT_WRITE ? EV_WRITE :
			    EV_READ;
			return 0;
		}
		ox_fail(f, "token endpoint %s: write failed", f->host);
		return -1;
	}
	for (;;) {
		if (f->inlen == OX_INMAX) {
			ox_fail(f, "token endpoint %s: an answer over %d "
			    "bytes", f->host, OX_INMAX);
			return -1;
		}
		ERR_clear_error();
		if ((n = SSL_read(f->ssl, f->in + f->inlen,
		    (int)(OX_INMAX - f->inlen))) > 0) {
			f->inlen += n;
			if (ox_answer(f, 0) == 0)
				return -1;
			continue;
		}
		e = SSL_get_error(f->ssl, n);
		if (e == SSL_ERROR_WANT_READ) {
			f->want = EV_READ;
			return 0;
		}
		if (e == SSL_ERROR_WANT_WRITE) {
			f->want = EV_WRITE;
			return 0;
		}
		if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL &&
		    ERR_peek_error() == 0)) {
			ox_answer(f, 1);
			return -1;
		}
		ox_fail(f, "token endpoint %s: read failed", f->host);
		return -1;
	}
}

static void
ox_arm(struct ofetch *f)
{
	if (f->ev_set)
		event_del(&f->ev);
	event_set(&f->ev, f->fd, f->want, ox_event, f);
	event_add(&f->ev, NULL);
	f->ev_set = 1;
}

static void
ox_event(int fd, short ev, void *arg)
{
	struct ofetch	*f = arg;
	char		 err[256];
	socklen_t	 sl;
	int		 r, soerr;

	(void)ev;
	f->ev_set = 0;
	if (f->state == OX_CONNECT) {
		sl = sizeof(soerr);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1)
			soerr = errno;
		if (soerr != 0) {
			ox_fail(f, "connect to token endpoint %s: %s",
			    f->host, strerror(soerr));
			return;
		}
		if ((f->ssl = tlsx_connect(fd, f->host, NULL)) == NULL) {
			ox_fail(f, "token endpoint %s: no TLS session",
			    f->host);
			return;
		}
		/* what OpenSSL decrypted (tokens) is zeroed once read */
		SSL_set_options(f->ssl, SSL_OP_CLEANSE_PLAINTEXT);
		f->state = OX_TLS;
	}
	if (f->state == OX_TLS) {
		if ((r = tlsx_handshake(f->ssl, &f->want, err,
		    sizeof(err))) == -1) {
			ox_fail(f, "token endpoint %s: TLS: %s", f->host,
			    err);
			return;
		}
		if (r == 0) {
			ox_arm(f);
			return;
		}
		f->state = OX_RUN;
	}
	if (ox_io(f) == 0)
		ox_arm(f);
}

static void
ox_timeout(int fd, short ev, void *arg)
{
	struct ofetch	*f = arg;

	(void)fd;
	(void)ev;
	ox_fail(f, "token endpoint %s: no answer in %d s", f->host, OX_SECS);
}

/* oauth_ops.fetch: called from inside oauth_get (cur_* set) */
static int
ox_fetch(void *arg, struct oauth_entry *e, const struct oauth_key *k,
    char *why, size_t whylen)
{
	const struct cred_exchange *q = cur_req;
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)&ss;
	struct oauth_url	 u;
	struct oauth_value	 v;
	struct ofetch		*f;
	struct timeval		 tv;
	socklen_t		 sl;

	(void)arg;
	if (q == NULL)
		fatalx("oauth: a refresh with no exchange asking");
	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    (f->in = malloc(OX_INMAX)) == NULL) {
		free(f);
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	f->fd = -1;
	f->e = e;
	TAILQ_INSERT_TAIL(&fetches, f, entry);
	evtimer_set(&f->tmo, ox_timeout, f);
	strlcpy(f->sandbox, q->sandbox, sizeof(f->sandbox));
	strlcpy(f->cred, k->cred, sizeof(f->cred));
	/* a bad tokenUrl or stored value is a failed refresh too */
	if (oauth_url(k->token_url, &u, why, whylen) == -1 ||
	    oauth_value(cur_value, cur_vlen, &v, why, whylen) == -1)
		goto fail;
	strlcpy(f->host, u.host, sizeof(f->host));
	if (q->token_family != AF_INET && q->token_family != AF_INET6) {
		snprintf(why, whylen, "no address for the token endpoint %s",
		    u.host);
		goto fail;
	}
	if (v.secret != NULL) {
		if ((f->secret = malloc(v.slen)) == NULL)
			goto oom;
		memcpy(f->secret, v.secret, v.slen);
		f->slen = v.slen;
	}
	if ((f->out = (uint8_t *)oauth_request(&u, &v, k->client_id,
	    &f->outlen, why, whylen)) == NULL)
		goto fail;
	memset(&ss, 0, sizeof(ss));
	if (q->token_family == AF_INET) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(q->token_port);
		memcpy(&s4->sin_addr, q->token_addr, 4);
		sl = sizeof(*s4);
	} else {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(q->token_port);
		memcpy(&s6->sin6_addr, q->token_addr, 16);
		sl = sizeof(*s6);
	}
	if ((f->fd = socket(q->token_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1 || (connect(f->fd, (struct sockaddr *)&ss,
	    sl) == -1 && errno != EINPROGRESS)) {
		snprintf(why, whylen, "connect to token endpoint %s: %s",
		    u.host, strerror(errno));
		goto fail;
	}
	f->state = OX_CONNECT;
	f->want = EV_WRITE;
	ox_arm(f);
	tv.tv_sec = OX_SECS;
	tv.tv_usec = 0;
	evtimer_add(&f->tmo, &tv);
	log_debug("credential %s: refreshing at %s for sandbox %s", f->cred,
	    u.host, f->sandbox);
	return 0;
 oom:
	snprintf(why, whylen, "out of memory");
 fail:
	/* audited like any failed refresh */
	log_warnx("credential %s: refresh failed: %s", f->cred, why);
	ox_audit(f, NULL, why);
	ox_free(f);
	return -1;
}

/* jansson's own buffers held a token response: zeroed when freed */
static void
ox_jfree(void *p)
{
	if (p != NULL) {
		explicit_bzero(p, malloc_usable_size(p));
		free(p);
	}
}

void
oauthx_init(struct imsgev *vault, struct imsgev *parent)
{
	static const struct oauth_ops	 ops = { ox_now, ox_fetch, NULL };

	vault_iev = vault;
	parent_iev = parent;
	/*
	 * jansson (the token responses) seeds its hash once, from
	 * /dev/urandom unless given a seed: there is no open here
	 */
	json_object_seed(randombytes_random() | 1);
	json_set_alloc_funcs(malloc, ox_jfree);
	if ((cache = oauth_cache_new(&ops)) == NULL)
		fatal("oauth cache");
}

enum oauth_state
oauthx_get(const struct cred_exchange *q, const uint8_t *value, size_t vlen,
    char *tok, oauth_cb cb, void *arg, struct oauth_waiter **w, char *why,
    size_t whylen)
{
	struct oauth_key	 k;
	enum oauth_state	 s;

	memset(&k, 0, sizeof(k));
	strlcpy(k.cred, q->cred, sizeof(k.cred));
	if (strlcpy(k.token_url, q->token_url, sizeof(k.token_url)) >=
	    sizeof(k.token_url) || strlcpy(k.client_id, q->client_id,
	    sizeof(k.client_id)) >= sizeof(k.client_id)) {
		snprintf(why, whylen, "tokenUrl or clientId too long");
		*w = NULL;
		return OAUTH_FAILED;
	}
	cur_req = q;
	cur_value = value;
	cur_vlen = vlen;
	s = oauth_get(cache, &k, tok, cb, arg, w, why, whylen);
	cur_req = NULL;
	cur_value = NULL;
	cur_vlen = 0;
	return s;
}

void
oauthx_cancel(struct oauth_waiter *w)
{
	oauth_cancel(cache, w);
}

void
oauthx_stop(void)
{
	while (!TAILQ_EMPTY(&fetches))
		ox_free(TAILQ_FIRST(&fetches));
	oauth_cache_free(cache);
	cache = NULL;
}
