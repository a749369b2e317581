/*
 * The HTTP/1.1 exchange of the proxy child: every request on a plain
 * HTTP connection (transparent, absolute-form through the CONNECT
 * listener, in a tunnel an http rule allows) or an intercepted TLS one
 * is decided on its own, not only the first.
 *
 * One exchange at a time per connection: a request's head is read
 * from the client, judged (its host must be the connection's, then
 * the policy on method and path), and either answered here (403 with
 * a short reason, 400 for a malformed or ambiguous one) or sent
 * upstream in origin form with its hop-by-hop headers dropped and its
 * body framed (Content-Length, or chunked to its last chunk).  The
 * response head is parsed as strictly as the request (peek.c), its body
 * framed by the request (HEAD), the status (1xx, 204, 304),
 * Transfer-Encoding, Content-Length or the upstream's close.  The next
 * request is looked at only when this response has ended: pipelined
 * requests wait in the client's buffer, responses come in order, a 403
 * for request N+1 only after response N.  Nothing the upstream sends
 * outside a response (before a request, after a response's end, past
 * its framing) is relayed: the connection closes after what was framed,
 * so a hostile upstream cannot answer a request it was never sent.
 *
 * The connection keeps its upstream connection while both sides
 * allow it; when the upstream closes (Connection: close, HTTP/1.0, a
 * body delimited by its close) or misbehaves, the client's connection
 * closes after the response (with Connection: close when known in
 * time): a new connection from the client is decided again.
 *
 * All I/O goes through struct stream (stream.h): the same code serves
 * plain TCP and TLS.  A call that returns EAGAIN marks its way blocked
 * with the readiness it wants (TLS may read to write); only then is the
 * descriptor watched for it.  Reads go on until EAGAIN, a full buffer or
 * EOF, so bytes TLS holds decrypted (stream_pending) are taken without
 * the descriptor becoming readable.
 *
 * Bounds: four buffers of HX_BUFSZ (taken while holding bytes, freed
 * when empty), heads of at most PEEK_MAX, pconf.http_max_requests per
 * connection, pconf.http_idle_ms between requests, pconf.peek_ms for a
 * head, pconf.idle_ms without progress within an exchange, HX_MAX_INTERIM
 * 1xx responses per request, HX_SKIP_MAX bytes of a denied request's
 * body read and dropped before the connection is closed instead.
 *
 * Request bodies that rules read (policy_http_request says needs_body:
 * graphql:, mcp:): the head is held, the body read whole (Content-
 * Length or chunked, de-chunked for the rules, at most pconf.body_max
 * bytes of data; Expect: 100-continue answered by the proxy) and
 * judged by policy_http_body(); only when allowed do head and body go
 * upstream, as they were sent.  A body over the bound is refused with
 * 413, never cut; a denied one with 403 and the reason.
 *
 * A request whose request rule says ask (not a body rule's) is held:
 * its head (and what came of its body) stays in the client's buffer,
 * counted in the proxy's held-bytes budget (held.h), nothing more is
 * read from the client and nothing goes upstream, while the parent
 * asks an operator (proxy_ask, NETD_ASK_REQUEST "METHOD /path").
 * Allowed once, the request is decided again by the policy as it is
 * then, the ask taken as this request's allow (a deny since wins); the
 * next request asks again.  Denied or timed out: 403 with the reason.
 *
 * Audit: one "net.http" event per request (proxy_audit: within the
 * sandbox's burst, else counted in net.connect.summary); the
 * connection's net.connect event at its end says how many.  A request
 * an mcp: rule read as JSON-RPC (every MCP tool call) is a "net.mcp"
 * event instead: the same fields and the rule's "mcp" detail (method,
 * tool, uri, the arguments' SHA-256, never the arguments).
 *
 * LLM routing (policy_llm_applies: an llm: route's domain and path) is
 * in httpx_llm.inc, included at the end: the body is held as for body
 * rules and the route decides: passthrough, 403, or the request
 * translated for the backend and sent through the credential exchange
 * to the backend's host; its response translated back ("net.llm").
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "held.h"
#include "imsg.h"
#include "jsonstrict.h"
#include "lensexch.h"
#include "lensnetd.h"
#include "llm.h"
#include "log.h"
#include "peek.h"
#include "phscan.h"
#include "policy.h"
#include "proxy.h"
#include "proxy_int.h"
#include "stream.h"
#include "wsframe.h"

#define HX_BUFSZ	(64 * 1024)	/* each of the four */
#define HX_MAX_INTERIM	16		/* 1xx responses per request */
#define HX_SKIP_MAX	(1024 * 1024)	/* denied body read and dropped */
#define HX_LINGER_MS	2000		/* reading after our last byte */
#define HX_PATH_AUDIT	1024		/* of a path in the audit */
#define HX_LOCAL_MAX	1024		/* a response of ours */
#define HX_ASK_BACKSTOP_MS (25 * 3600 * 1000)	/* > lensnetd -w */

enum { HXA_NONE, HXA_WAIT, HXA_ALLOW, HXA_DENY };	/* a request's ask */

struct hbuf {
	uint8_t		*b;
	size_t		 size, off, len;
};

/* a growing buffer of a held request */
struct bbuf {
	char		*b;
	size_t		 len, size;
};

enum { RQ_HEAD, RQ_BODY, RQ_SEND, RQ_DONE };	/* the request's side */
enum { RS_NONE, RS_HEAD, RS_BODY, RS_DONE };	/* the response's */
enum { RB_NONE, RB_FRAMED, RB_CLOSE };		/* the response body */

/* one end of the connection */
struct hside {
	struct stream	*s;
	int		 rblk, wblk;	/* the last call said EAGAIN */
	short		 rwant, wwant;	/* then: the readiness it needs */
	int		 eof, shut;
};

/* the exchange under way */
struct hreq {
	int		 active;
	char		 method[PEEK_METHOD_SIZE];
	char		 path[HX_PATH_AUDIT + 1];
	char		*query;		/* what the audit shows, malloc'd */
	int		 query_cut;
	int		 minor;		/* the client's HTTP/1.minor */
	int		 head;		/* HEAD: no body in the response */
	int		 ws;		/* a websocket upgrade, allowed */
	int		 expect;	/* Expect: 100-continue */
	int		 skip;		/* denied: its body is dropped */
	uint64_t	 skipped;
	struct peek_body body;		/* the request's */
	const char	*verdict;
	char		 rule[256];	/* the host rule; "" none */
	int		 sub;		/* the request rule, -1 none */
	char		 why[300];	/* "" none */
	int		 status;	/* the final status sent, 0 none */
	int		 ninterim;
	int		 rbody;		/* RB_* */
	struct peek_body rframe;	/* the response's */
	uint64_t	 out, in;	/* bytes sent up, to the client */
	struct timespec	 start;
	/* the body as sent (trailers too) and its data alone (de-chunked) */
	struct phstream	 ph_raw, ph_data;
	/* a body rules read: held until judged (RQ_BODY), then sent */
	int		 hold;
	struct bbuf	 bhead;		/* the head as it goes upstream */
	struct bbuf	 braw;		/* the body as sent */
	struct bbuf	 bdata;		/* its data, de-chunked (chunked) */
	int		 bchunked;	/* else the data is braw */
	size_t		 bsent;		/* of bhead + braw, in RQ_SEND */
	char		*bpath, *bquery;	/* as judged */
	char		*hcopy;		/* the head's fields, NUL-split */
	size_t		 nhdr;
	char		*hname[PEEK_HTTP_MAXHEADERS + 1];
	char		*hval[PEEK_HTTP_MAXHEADERS + 1];
	char		*bodyaudit;	/* the rule's detail, JSON text */
	int		 exch;		/* through the credential exchange */
	uint64_t	 held;		/* of the proxy's budget (held.h) */
	unsigned int	 wsg;		/* a judged websocket: the
					   subprotocols offered (WSG_*) */
	int		 llm_on;	/* an llm: route's domain and path */
	int		 llm_routed;	/* sent to a backend */
	struct hllm	*llm;		/* httpx_llm.inc */
};

/* a judged websocket after its 101 (wsframe.h) */
struct hws {
	struct wsj	 j;
	char		*path, *query;	/* of the upgrade, for the rules */
	char		 apath[HX_PATH_AUDIT + 1];
	char		 rule[256];
	uint64_t	 held;
};

/*
 * The credential exchange of one request (lensnetd_imsg.h, 5.,
 * common/lensexch.h): its stream, queued before the parent hands over
 * the descriptor; the response relayed with this proxy's framing.
 */
enum { X_NONE, X_RESOLVE, X_WAIT, X_RUN, X_LRESOLVE };
struct hexch {
	int		 state;
	uint64_t	 id;
	struct imsgbuf	 ib;		/* fd -1 until NETD_EXCH */
	struct event	 ev;
	short		 flags;
	int		 eof;
	int		 chunked;	/* the response to the client */
	int		 body;		/* enum exch_body of the response */
	uint64_t	 left;		/* EXCH_BODY_LENGTH: bytes to come */
	size_t		 cred;		/* the credential, until asked for */
};

struct httpx {
	struct conn	*c;
	struct hbuf	 cin, cout, uin, uout;
	struct hside	 cl, up;
	int		 rq, rs;
	int		 tunnel;	/* after a 101: bytes both ways */
	int		 ubad;		/* upstream not read any more */
	int		 closing;	/* no request after this exchange */
	int		 linger;	/* ours sent: reading to EOF */
	int		 head_timer;	/* a head has begun */
	unsigned int	 nreq;
	char		 why[300];	/* for the connection's event */
	struct hreq	 r;
	struct hexch	*x;		/* the exchange under way, or NULL */
	struct hws	*ws;		/* a judged websocket, or NULL */
	int		 ask;		/* HXA_*: the request held, answered */
	char		 askwhy[128];	/* HXA_DENY: the parent's reason */
};

static int	hx_pump(struct httpx *);
static void	hx_exch_free(struct httpx *);
static int	hx_exch_start(struct httpx *, const struct peek_http *,
		    const uint8_t *, size_t, size_t, int, int);
static int	hx_exch_ask(struct httpx *);
static int	hx_exch_responses(struct httpx *);
static int	hx_exch_write(struct httpx *);
static int	hx_judge(struct httpx *);
static int	hx_held_over(struct httpx *);
static int	hx_ws_offer(const uint8_t *, const struct peek_http *, int,
		    unsigned int *, char *, size_t);
static int	hx_ws_accept(struct httpx *, const struct peek_response *);
static int	hx_ws_up(struct httpx *);
static int	hx_ws_down(struct httpx *);
static void	hx_ws_free(struct httpx *);
/* httpx_llm.inc */
struct hllm;
static int	hx_llm_judge(struct httpx *, const struct bbuf *);
static int	hx_llm_msg(struct httpx *, struct imsg *, char *, size_t);
static int	hx_llm_drain(struct httpx *, int *);
static int	hx_llm_resolved(struct httpx *, const struct netd_resolved *);
static const char *hx_llm_audit(struct hreq *, json_t *);
static void	hx_llm_free(struct hreq *);

/* buffers */

static void
hb_free(struct hbuf *h)
{
	free(h->b);
	h->b = NULL;
	h->size = h->off = h->len = 0;
}

/* room for more bytes, the held ones moved to the front */
static size_t
hb_room(const struct hbuf *h)
{
	return (h->b != NULL ? h->size : HX_BUFSZ) - h->len;
}

/* the tail where a read goes, 0 bytes long when full; -1 out of memory */
static ssize_t
hb_tail(struct hbuf *h)
{
	if (h->b == NULL) {
		if ((h->b = malloc(HX_BUFSZ)) == NULL)
			return -1;
		h->size = HX_BUFSZ;
		h->off = h->len = 0;
	}
	if (h->off > 0 && h->off + h->len == h->size) {
		memmove(h->b, h->b + h->off, h->len);
		h->off = 0;
	}
	return h->size - h->off - h->len;
}

static uint8_t *
hb_data(const struct hbuf *h)
{
	return h->b + h->off;
}

static void
hb_consume(struct hbuf *h, size_t n)
{
	h->off += n;
	h->len -= n;
	if (h->len == 0)
		hb_free(h);
}

/* the caller checked hb_room(h) >= n; -1 out of memory */
static int
hb_put(struct hbuf *h, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (hb_tail(h) == -1)
		return -1;
	if (h->size - h->off - h->len < n) {
		memmove(h->b, h->b + h->off, h->len);
		h->off = 0;
	}
	memcpy(h->b + h->off + h->len, p, n);
	h->len += n;
	return 0;
}

/* I/O through the streams */

/* 1 progress (bytes or EOF), 0 none now, -1 the stream failed */
static int
hx_read(struct hside *sd, struct hbuf *h, uint64_t *count)
{
	ssize_t	 room, n;

	if (sd->eof || sd->rblk)
		return 0;
	if ((room = hb_tail(h)) == -1)
		return -1;
	if (room == 0)
		return 0;
	n = stream_read(sd->s, h->b + h->off + h->len, room);
	if (n > 0) {
		h->len += n;
		*count += n;
		return 1;
	}
	if (h->len == 0)
		hb_free(h);
	if (n == 0) {
		sd->eof = 1;
		return 1;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
		sd->rblk = 1;
		sd->rwant = sd->s->want;
		return 0;
	}
	return -1;
}

static int
hx_write(struct hside *sd, struct hbuf *h)
{
	ssize_t	 n;
	int	 progress = 0;

	while (h->len > 0 && !sd->wblk) {
		n = stream_write(sd->s, hb_data(h), h->len);
		if (n > 0) {
			hb_consume(h, n);
			progress = 1;
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
			sd->wblk = 1;
			sd->wwant = sd->s->want;
			break;
		}
		return -1;
	}
	return progress;
}

/* a held request's buffers */

static void
bb_free(struct bbuf *bb)
{
	free(bb->b);
	memset(bb, 0, sizeof(*bb));
}

/* n bytes more, NUL after them; -1 out of memory */
static int
bb_add(struct bbuf *bb, const void *p, size_t n)
{
	size_t	 sz;
	char	*nb;

	if (bb->len + n + 1 > bb->size) {
		sz = bb->size ? bb->size : 4096;
		while (sz < bb->len + n + 1)
			sz *= 2;
		if ((nb = realloc(bb->b, sz)) == NULL)
			return -1;
		bb->b = nb;
		bb->size = sz;
	}
	memcpy(bb->b + bb->len, p, n);
	bb->len += n;
	bb->b[bb->len] = '\0';
	return 0;
}

/* what an exchange holds beyond its struct */
static void
hx_req_free(struct hreq *r)
{
	free(r->query);
	r->query = NULL;
	bb_free(&r->bhead);
	bb_free(&r->braw);
	bb_free(&r->bdata);
	free(r->bpath);
	free(r->bquery);
	free(r->hcopy);
	free(r->bodyaudit);
	r->bpath = r->bquery = r->hcopy = r->bodyaudit = NULL;
	r->nhdr = 0;
	r->hold = 0;
	held_drop(&r->held);
	hx_llm_free(r);
}

/* the body rule's detail (a JSON object's text) into the event */
static void
hx_audit_body(json_t *o, const char *detail)
{
	json_t		*d;
	const char	*k;
	json_t		*v;

	if (detail == NULL || *detail == '\0' ||
	    (d = json_loads(detail, 0, NULL)) == NULL)
		return;
	json_object_foreach(d, k, v)
		json_object_set(o, k, v);
	json_decref(d);
}

/* audit */

static void
hx_audit_req(struct httpx *hx)
{
	struct conn	*c = hx->c;
	struct hreq	*r = &hx->r;
	json_t		*o;
	const char	*type = "net.http";
	int		 deny;

	if (!r->active)
		return;
	r->active = 0;
	if (r->verdict == NULL)
		r->verdict = "allow";
	deny = strcmp(r->verdict, "allow") != 0;
	o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:i,s:I,s:I,s:I,s:s}",
	    "sandbox", c->sbx->sandbox, "name", c->name,
	    "listener", c->kind == NETD_L_CONNECT ? "connect" : "transparent",
	    "method", r->method, "path", r->path, "verdict", r->verdict,
	    "port", (int)c->port, "status", r->status,
	    "bytes_out", (json_int_t)r->out, "bytes_in", (json_int_t)r->in,
	    "duration_ms", (json_int_t)ms_since(&r->start),
	    "proto", c->cs.ssl != NULL ? "https" : "http");
	if (o != NULL) {
		if (r->query != NULL)
			json_object_set_new(o, "query",
			    json_string(r->query));
		if (r->query_cut)
			json_object_set_new(o, "query_cut", json_true());
		if (r->rule[0] != '\0')
			json_object_set_new(o, "rule", json_string(r->rule));
		if (r->sub >= 0)
			json_object_set_new(o, "request_rule",
			    json_integer(r->sub));
		if (r->why[0] != '\0')
			json_object_set_new(o, "reason", json_string(r->why));
		if (r->ws)
			json_object_set_new(o, "upgrade",
			    json_string("websocket"));
		if (r->exch)
			json_object_set_new(o, "via", json_string("exchange"));
		hx_audit_body(o, r->bodyaudit);
		if (json_object_get(o, "mcp") != NULL)
			type = "net.mcp";
		if (r->llm_on)
			type = hx_llm_audit(r, o);
	}
	proxy_audit(c->sbx, type, o, 1, deny, r->out, r->in);
	hx_req_free(r);
}

void
httpx_audit_conn(struct conn *c, json_t *o)
{
	struct httpx	*hx = c->hx;

	if (hx == NULL)
		return;
	/* a request cut short by the connection's end */
	if (hx->r.active && hx->r.why[0] == '\0')
		strlcpy(hx->r.why, hx->why[0] != '\0' ? hx->why :
		    "connection closed", sizeof(hx->r.why));
	hx_audit_req(hx);
	json_object_set_new(o, "requests", json_integer(hx->nreq));
	if (hx->tunnel)
		json_object_set_new(o, "upgrade", json_string("websocket"));
}

/* close the connection now; -1 for the callers to return */
static int
hx_close(struct httpx *hx, const char *why)
{
	if (why != NULL && hx->why[0] == '\0')
		strlcpy(hx->why, why, sizeof(hx->why));
	conn_close(hx->c, hx->why[0] != '\0' ? hx->why : NULL);
	return -1;
}

/* no request after this exchange */
static void
hx_closing(struct httpx *hx, const char *why)
{
	hx->closing = 1;
	if (why != NULL && hx->why[0] == '\0')
		strlcpy(hx->why, why, sizeof(hx->why));
}

/* local answers */

static const char *
status_text(int code)
{
	switch (code) {
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 405:
		return "Method Not Allowed";
	case 413:
		return "Content Too Large";
	case 503:
		return "Service Unavailable";
	case 408:
		return "Request Timeout";
	case 504:
		return "Gateway Timeout";
	}
	return "Bad Gateway";
}

/*
 * The exchange's answer from the proxy: code, a short reason as the
 * body, Connection: close when closing.  -1 out of memory.
 */
static int
hx_local(struct httpx *hx, int code, const char *why)
{
	struct hreq	*r = &hx->r;
	char		 buf[HX_LOCAL_MAX];
	int		 n, body;

	strlcpy(r->why, why, sizeof(r->why));
	r->verdict = code == 400 || code == 403 || code == 405 ||
	    code == 413 ? "deny" : "error";
	r->status = code;
	body = (int)strlen("lens proxy: \n") + (int)strnlen(why, 400);
	n = snprintf(buf, sizeof(buf), "HTTP/1.1 %d %s\r\n"
	    "Content-Type: text/plain\r\nContent-Length: %d\r\n%s\r\n"
	    "lens proxy: %.400s\n", code, status_text(code), body,
	    hx->closing ? "Connection: close\r\n" : "", why);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	if (r->head)
		n -= body;	/* the same head, no body */
	if (hb_put(&hx->cout, buf, n) == -1)
		return -1;
	r->in += n;
	hx->rs = RS_DONE;
	return 0;
}


/* credential placeholders (issue 13) */

#define HX_LEAK_BOUND	"credential placeholder where the exchange does not " \
			"take it (the request head's)"
#define HX_LEAK_WHY	"credential placeholder for a host it is not bound to"

/* is the sandbox's credential which bound to the connection's host? */
/*
 * The next header field of a whole request head b of len bytes
 * (peek_http checked it: CRLF lines, a name and ':' in each): *pos 0
 * at first; 1 and the field (its value without the blanks around it),
 * or 0 at the head's end.
 */
static int
hx_field(const uint8_t *b, size_t len, size_t *pos, struct exch_hdr *f)
{
	const uint8_t	*line, *end, *e, *colon, *v;

	if (*pos == 0) {
		if ((line = memchr(b, '\n', len)) == NULL)
			return 0;
		*pos = line + 1 - b;		/* after the request line */
	}
	while (*pos < len) {
		line = b + *pos;
		if ((end = memchr(line, '\n', len - *pos)) == NULL ||
		    end - line <= 1)
			return 0;
		*pos = end + 1 - b;
		e = end - 1;			/* CRLF only */
		if ((colon = memchr(line, ':', e - line)) == NULL)
			continue;
		for (v = colon + 1; v < e && (*v == ' ' || *v == '\t'); v++)
			;
		while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		f->name = (const char *)line;
		f->nlen = colon - line;
		f->value = (const char *)v;
		f->vlen = e - v;
		return 1;
	}
	return 0;
}

static int
hx_cred_bound(struct conn *c, size_t which)
{
	struct policy_injection	 pi;
	char			 w[200];

	return policy_cred_injection(c->sbx->pol, which, c->name, c->port,
	    &pi, w, sizeof(w)) == 0;
}

/* does p hold placeholder which as it is (no encoding)? */
static int
hx_ph_plain(const struct phset *set, size_t which, const uint8_t *p,
    size_t n)
{
	size_t	 i;

	for (i = 0; i + PH_RANDLEN <= n; i++)
		if (strncasecmp((const char *)p + i, set->body[which],
		    PH_RANDLEN) == 0)
			return 1;
	return 0;
}

/*
 * A placeholder was found (where: "url", "header NAME", "header lines
 * (split)", "body"; enc: "plain" as it is, "encoded" in one of
 * phscan's encodings, "split" over header lines) where the exchange
 * does not take it: the request is refused, and audited as
 * cred.leak_attempt unless its credential (which) is bound to the host.
 * Never the placeholder itself in the audit: a path or query holding
 * one is not shown.  The reason in why.
 */
static void
hx_leak(struct httpx *hx, const char *where, const char *enc, size_t which,
    char *why, size_t whylen)
{
	struct conn	*c = hx->c;
	struct hreq	*r = &hx->r;
	json_t		*o;

	if (r->query != NULL && phscan_buf(&c->sbx->phs, r->query,
	    strlen(r->query), NULL) != 0) {
		free(r->query);
		r->query = NULL;
		r->query_cut = 1;
	}
	if (phscan_buf(&c->sbx->phs, r->path, strlen(r->path), NULL) != 0)
		strlcpy(r->path, "-", sizeof(r->path));
	if (hx_cred_bound(c, which)) {
		strlcpy(why, HX_LEAK_BOUND, whylen);
		return;
	}
	strlcpy(why, HX_LEAK_WHY, whylen);
	o = json_pack("{s:s,s:s,s:i,s:s,s:s,s:s,s:s,s:s}",
	    "sandbox", c->sbx->sandbox, "host", c->name, "port", (int)c->port,
	    "method", r->method, "path", r->path, "where", where,
	    "encoding", enc,
	    "proto", c->cs.ssl != NULL ? "https" : "http");
	proxy_audit(c->sbx, "cred.leak_attempt", o, 0, 1, 0, 0);
}

/*
 * A placeholder in the head b of h: 2 when it goes to the exchange
 * (*cred: the credential, bound to the connection's host, and no other
 * credential's placeholder in the head), 1 refused (why set), 0 none.
 */
static int
hx_leak_head(struct httpx *hx, const uint8_t *b, const struct peek_http *h,
    size_t *cred, char *why, size_t whylen)
{
	const struct phset *set = &hx->c->sbx->phs;
	struct phset	 rest;
	struct exch_hdr	 f;
	char		 where[80];
	size_t		 which = 0, k, other, cred_of, pos = 0;
	int		 rv, plain = 0;

	if (set->n == 0)
		return 0;
	/* out of memory (-1) is taken as found */
	if ((rv = phscan_head(set, b, h->headlen, &which)) == 0)
		return 0;
	if (rv == 1 && hx_cred_bound(hx->c, which)) {
		memset(&rest, 0, sizeof(rest));
		for (k = 0; k < set->n; k++)
			if (k != which)
				memcpy(rest.body[rest.n++], set->body[k],
				    PH_RANDLEN);
		if ((rv = phscan_head(&rest, b, h->headlen, &other)) == 0) {
			*cred = which;
			return 2;
		}
		/* another credential's too: refused for that one */
		if (rv == 1)
			which = other + (other >= which);
	}
	cred_of = rv == 1 ? which : set->n;
	strlcpy(where, rv == -1 ? "head (not scanned: out of memory)" :
	    "header lines (split)", sizeof(where));
	/* where that credential's placeholder is */
	memset(&rest, 0, sizeof(rest));
	if (rv == 1) {
		memcpy(rest.body[0], set->body[which], PH_RANDLEN);
		rest.n = 1;
		set = &rest;
		which = 0;
	}
	if (rv == 1 && phscan_buf(set, b + h->target_off, h->target_len,
	    NULL) != 0) {
		strlcpy(where, "url", sizeof(where));
		plain = hx_ph_plain(set, which, b + h->target_off,
		    h->target_len);
	} else if (rv == 1) {
		while (hx_field(b, h->headlen, &pos, &f)) {
			if (phscan_buf(set, f.value, f.vlen, NULL) == 0)
				continue;
			snprintf(where, sizeof(where), "header %.*s",
			    (int)(f.nlen > 64 ? 64 : f.nlen), f.name);
			plain = hx_ph_plain(set, which,
			    (const uint8_t *)f.value, f.vlen);
			break;
		}
	}
	hx_leak(hx, where, strcmp(where, "header lines (split)") == 0 ? "split" :
	    plain ? "plain" : "encoded", cred_of, why, whylen);
	return 1;
}

/*
 * peek_body on the request body's n bytes at p, each piece scanned
 * for a placeholder before it may go upstream: its data de-chunked
 * (a placeholder across chunks) and the bytes as sent (trailers,
 * extensions), each with phscan's window of the pieces before.  *found
 * (and *plain) when one is: then none of these bytes may be sent.
 */
static enum peek_result
hx_body(struct httpx *hx, const uint8_t *p, size_t n, size_t *used,
    const char **why, int *found, int *plain, size_t *pwhich,
    struct bbuf *data)
{
	struct hreq	*r = &hx->r;
	const struct phset *set = &hx->c->sbx->phs;
	enum peek_result rv = PEEK_NEED_MORE;
	size_t		 i = 0, k, u, which = 0;
	uint64_t	 d;
	int		 rc;
	char		 w[160];

	*found = *plain = 0;
	if (r->skip || (set->n == 0 && !r->exch && data == NULL))
		return peek_body(&r->body, p, n, used, why);
	while (i < n) {
		/* data as a whole, the framing byte by byte */
		d = peek_body_data(&r->body);
		k = d == 0 ? 1 : d < n - i ? (size_t)d : n - i;
		if (r->exch && k > EXCH_BODY_MAX)
			k = EXCH_BODY_MAX;
		rv = peek_body(&r->body, p + i, k, &u, why);
		if (rv == PEEK_BAD)
			return rv;
		if (rv != PEEK_FOUND)
			u = k;
		if (d > 0 && data != NULL && bb_add(data, p + i, u) == -1) {
			*why = "out of memory";
			return PEEK_BAD;
		}
		if (d > 0 && !*found && set->n > 0 && (rc = phscan_chunk(set,
		    &r->ph_data, p + i, u, &which)) != 0) {
			*found = 1;
			*plain = rc == 1 && hx_ph_plain(set, which, p + i, u);
		}
		/* the decoded data goes to the exchange (none after a find) */
		if (d > 0 && !*found && r->exch && u > 0 &&
		    exch_put_body(&hx->x->ib, EXCH_REQ_BODY, p + i, u, w,
		    sizeof(w)) == -1) {
			*why = "the exchange's queue refused the body";
			return PEEK_BAD;
		}
		i += u;
		if (rv == PEEK_FOUND)
			break;
	}
	if (!*found && set->n > 0 && (rc = phscan_chunk(set, &r->ph_raw, p,
	    i, &which)) != 0) {
		*found = 1;
		*plain = rc == 1 && hx_ph_plain(set, which, p, i);
	}
	*pwhich = which;
	*used = i;
	return rv == PEEK_FOUND ? PEEK_FOUND : PEEK_NEED_MORE;
}

/*
 * A placeholder in the request body, whose head (and the body up to
 * this piece) may have gone upstream: the upstream connection is cut
 * now (what it holds unsent dropped, shutdown(2) both ways, never read
 * again), so nothing from this piece on is sent; the client gets a
 * 403 when no final response head began, else its connection closes.
 * 1, or -1 when closed.
 */
static int
hx_leak_cut(struct httpx *hx, const char *why)
{
	struct hreq	*r = &hx->r;

	hx->ubad = 1;
	hb_free(&hx->uout);
	hb_free(&hx->uin);
	(void)shutdown(hx->c->ufd, SHUT_RDWR);
	hx_exch_free(hx);	/* the exchange never gets its END */
	hx->rq = RQ_DONE;
	hx_closing(hx, why);
	if ((hx->rs == RS_HEAD || r->hold) &&
	    hb_room(&hx->cout) >= HX_LOCAL_MAX) {
		if (hx_local(hx, 403, why) == -1)
			return hx_close(hx, "out of memory");
		return 1;
	}
	strlcpy(r->why, why, sizeof(r->why));
	r->verdict = "deny";
	return hx_close(hx, why);
}

/* requests */

/* where the audit's path and query come from: the origin-form target */
static void
hx_target(struct hreq *r, const char *tgt, size_t len, char *full,
    char **q)
{
	const char	*qm;
	size_t		 qlen, max = pconf.audit_query_max;

	memcpy(full, tgt, len);
	full[len] = '\0';
	if ((qm = memchr(full, '?', len)) != NULL) {
		full[qm - full] = '\0';
		*q = full + (qm - full) + 1;
	} else
		*q = NULL;
	/* "http://host" and "http://host?q" go on as "/" and "/?q" */
	strlcpy(r->path, full[0] != '\0' ? full : "/", sizeof(r->path));
	if (*q != NULL) {
		qlen = strlen(*q);
		r->query_cut = qlen > max;
		r->query = strndup(*q, qlen > max ? max : qlen);
	}
}

/* the idx-th value of header name in a held request, NULL past the last */
static const char *
hx_hdr(void *arg, const char *name, size_t idx)
{
	struct hreq	*r = arg;
	size_t		 i;

	for (i = 0; i < r->nhdr; i++)
		if (strcasecmp(r->hname[i], name) == 0 && idx-- == 0)
			return r->hval[i];
	return NULL;
}

/* the head's fields, split for hx_hdr (peek_http checked their form) */
static int
hx_split_head(struct hreq *r, const uint8_t *b, size_t len)
{
	struct exch_hdr	 f;
	size_t		 pos = 0;
	char		*p;

	/* each field's line holds its name, ':', value and CRLF */
	if ((p = r->hcopy = malloc(len + 1)) == NULL)
		return -1;
	while (r->nhdr < PEEK_HTTP_MAXHEADERS && hx_field(b, len, &pos, &f)) {
		r->hname[r->nhdr] = memcpy(p, f.name, f.nlen);
		p += f.nlen;
		*p++ = '\0';
		r->hval[r->nhdr++] = memcpy(p, f.value, f.vlen);
		p += f.vlen;
		*p++ = '\0';
	}
	return 0;
}

/*
 * The body is judged before anything goes upstream: the head (as it
 * will go, n bytes) is held, the client told to go on (Expect), the
 * body read (RQ_BODY, hx->rs stays RS_NONE) and judged by hx_judge().
 */
static int
hx_hold(struct httpx *hx, const struct peek_http *h, const uint8_t *head,
    size_t n, const char *path, const char *query, int hasbody)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	struct hreq	*r = &hx->r;

	r->hold = 1;
	if (bb_add(&r->bhead, head, n) == -1 ||
	    (r->bpath = strdup(path)) == NULL ||
	    (query != NULL && (r->bquery = strdup(query)) == NULL) ||
	    hx_split_head(r, hb_data(&hx->cin), h->headlen) == -1)
		return hx_close(hx, "out of memory");
	hb_consume(&hx->cin, h->headlen);
	peek_body_init(&r->body, h);
	r->bchunked = h->chunked;
	if (hasbody && r->expect && r->minor >= 1) {
		/* room: hx_head saw HX_LOCAL_MAX free */
		if (hb_put(&hx->cout, cont, sizeof(cont) - 1) == -1)
			return hx_close(hx, "out of memory");
		r->in += sizeof(cont) - 1;
	}
	hx->rq = RQ_BODY;
	if (!hasbody)
		return hx_judge(hx);
	return 1;
}

/*
 * A held request's body is whole: judged, then answered here (403) or
 * sent upstream (RQ_SEND).  1, or -1 when closed.
 */
static int
hx_judge(struct httpx *hx)
{
	struct conn	*c = hx->c;
	struct hreq	*r = &hx->r;
	struct policy_body_decision bd;
	struct policy_body pb;
	struct bbuf	*data;
	char		 why[300];

	memset(&pb, 0, sizeof(pb));
	pb.ctype = hx_hdr(r, "Content-Type", 0);
	if (hx_hdr(r, "Content-Type", 1) != NULL) {
		/* which one the upstream takes: never guessed */
		bd.verdict = VERDICT_DENY;
		bd.sub = r->sub;
		bd.why = "two Content-Type headers";
		bd.audit[0] = '\0';
	} else {
		data = r->bchunked ? &r->bdata : &r->braw;
		pb.data = data->b != NULL ? data->b : "";
		pb.len = data->len;
		pb.header = hx_hdr;
		pb.arg = r;
		policy_http_body(c->sbx->pol, c->name, c->port, r->method,
		    r->bpath, r->bquery, &pb, &bd);
	}
	r->sub = bd.sub;
	if (bd.audit[0] != '\0' && (r->bodyaudit = strdup(bd.audit)) ==
	    NULL)
		return hx_close(hx, "out of memory");
	if (bd.verdict == VERDICT_ALLOW && r->llm_on)
		switch (hx_llm_judge(hx, r->bchunked ? &r->bdata : &r->braw)) {
		case -1:
			return -1;
		case 1:
			return 1;	/* answered, or routed */
		}
	bb_free(&r->bdata);
	if (bd.verdict != VERDICT_ALLOW) {
		snprintf(why, sizeof(why), "policy: %s", bd.why != NULL ?
		    bd.why : "denied");
		bb_free(&r->braw);
		held_drop(&r->held);
		if (r->exch) {
			/* never asked for: nothing left this proxy */
			hx_exch_free(hx);
			r->exch = 0;
		}
		hx->rq = RQ_DONE;
		if (hx_local(hx, 403, why) == -1)
			return hx_close(hx, "out of memory");
		return 1;
	}
	r->bsent = 0;
	r->expect = 0;		/* the client has sent the body */
	hx->rs = RS_HEAD;
	if (r->exch) {
		/* head and body are queued for the exchange */
		r->out += r->braw.len;
		bb_free(&r->bhead);
		bb_free(&r->braw);
		held_drop(&r->held);
		hx->rq = RQ_DONE;
		return hx_exch_ask(hx);
	}
	hx->rq = RQ_SEND;
	return 1;
}

/* a held request, allowed: head and body upstream as they fit */
static int
hx_send_held(struct httpx *hx)
{
	struct hreq	*r = &hx->r;
	struct bbuf	*bb;
	size_t		 off, n;
	int		 progress = 0;

	while (hx->rq == RQ_SEND && hb_room(&hx->uout) > 0) {
		off = r->bsent;
		bb = &r->bhead;
		if (off >= bb->len) {
			off -= bb->len;
			bb = &r->braw;
		}
		if (off >= bb->len) {
			hx->rq = RQ_DONE;
			bb_free(&r->bhead);
			bb_free(&r->braw);
			held_drop(&r->held);
			return 1;
		}
		n = bb->len - off;
		if (n > hb_room(&hx->uout))
			n = hb_room(&hx->uout);
		if (hb_put(&hx->uout, bb->b + off, n) == -1)
			return hx_close(hx, "out of memory");
		r->out += n;
		r->bsent += n;
		progress = 1;
	}
	return progress;
}

/*
 * A complete request head h at the start of cin.  1 when it was dealt
 * with, 0 when it waits for room, -1 when the connection was closed.
 */
static int
hx_head(struct httpx *hx, const struct peek_http *h)
{
	struct conn	*c = hx->c;
	struct hreq	*r = &hx->r;
	struct policy_request_decision d;
	const uint8_t	*b = hb_data(&hx->cin);
	uint8_t		 head[PEEK_MAX + 64];
	char		 host[NETD_NAME_SIZE], why[700];
	char		 full[PEEK_HTTP_MAXLINE + 2], *query;
	const char	*w = NULL, *connection = NULL;
	char		 what[NETD_ASK_WHAT];
	size_t		 cut, n, cred = 0;
	uint16_t	 port;
	int		 isip, hasbody, code = 0, leak = 0, rv, ask;

	/* the head sent on (or our answer) must fit behind what is held */
	if (hb_room(&hx->uout) < h->headlen + 64 ||
	    hb_room(&hx->cout) < HX_LOCAL_MAX)
		return 0;
	ask = hx->ask;		/* an answer to this request's ask */
	hx->ask = HXA_NONE;
	memset(r, 0, sizeof(*r));
	r->active = 1;
	r->sub = -1;
	clock_gettime(CLOCK_MONOTONIC, &r->start);
	strlcpy(r->method, h->method, sizeof(r->method));
	r->minor = h->minor;
	r->head = strcmp(h->method, "HEAD") == 0;
	r->expect = h->expect_continue;
	hx->nreq++;
	hx->head_timer = 0;
	hasbody = h->chunked || (h->has_clen && h->clen > 0);
	if (h->conn_close || h->minor == 0)
		hx_closing(hx, "client closes");
	if (hx->nreq >= pconf.http_max_requests)
		hx_closing(hx, "requests per connection");

	if (http_host(b, h, c->name, host, &port, &isip, &cut, &w) == -1) {
		snprintf(why, sizeof(why), "bad request: %s", w);
		code = 400;
	} else if (c->forward && cut == 0) {
		strlcpy(why, "bad request: origin form to the proxy port",
		    sizeof(why));
		code = 400;
	}
	if (code == 0)
		hx_target(r, (const char *)b + h->target_off + cut,
		    h->target_len - cut, full, &query);
	else
		strlcpy(r->path, "-", sizeof(r->path));
	if (code == 0 && strcmp(h->method, "CONNECT") == 0) {
		strlcpy(why, "CONNECT inside an HTTP connection", sizeof(why));
		code = 405;
	} else if (code == 0 && strcmp(host, c->name) != 0) {
		snprintf(why, sizeof(why), "request for %s on a connection to "
		    "%s", host, c->name);
		code = 403;
	} else if (code == 0 && c->forward &&
	    (port != 0 ? port : 80) != c->port) {
		snprintf(why, sizeof(why), "request for %s:%u on a connection "
		    "to %s:%u", host, port != 0 ? port : 80, c->name,
		    c->port);
		code = 403;
	}
	if (code == 0 && (leak = hx_leak_head(hx, b, h, &cred, why,
	    sizeof(why))) == 1)
		code = 403;
	if (code == 0) {
		/* host rule, then (when it has some) its request rules */
		memset(&d, 0, sizeof(d));
		policy_http_request(c->sbx->pol, c->name, c->port, h->method,
		    full[0] != '\0' ? full : "/", query, &d);
		/* the host's ask, answered allow for this connection */
		if (d.verdict == VERDICT_ASK && d.sub < 0 && c->approved)
			d.verdict = VERDICT_ALLOW;
		/* a request rule's ask: answered, or held until it is */
		if (d.verdict == VERDICT_ASK && d.sub >= 0 && !d.needs_body) {
			if (ask == HXA_ALLOW)
				d.verdict = VERDICT_ALLOW;
			else if (ask == HXA_DENY)
				d.why = hx->askwhy;
			else {
				strlcpy(what, h->method, sizeof(what));
				strlcat(what, " ", sizeof(what));
				strlcat(what, full[0] != '\0' ? full : "/",
				    sizeof(what));
				if (held_set(&r->held, hx->cin.len) == -1) {
					snprintf(why, sizeof(why), "a request "
					    "held for an approval over the "
					    "proxy's budget of %llu bytes",
					    (unsigned long long)
					    pconf.held_max);
					hx_closing(hx, why);
					code = 503;
				} else if (proxy_ask(c, NETD_ASK_REQUEST,
				    d.rule, what) == -1) {
					held_drop(&r->held);
					d.why = "ask, and the parent cannot "
					    "take it";
				} else {
					hx->ask = HXA_WAIT;
					r->verdict = "ask";
					conn_timer(c, HX_ASK_BACKSTOP_MS);
					return 0;
				}
			}
		}
		if (d.rule != NULL)
			strlcpy(r->rule, d.rule, sizeof(r->rule));
		r->sub = d.sub;
		/* an llm: route reads the body as body rules do */
		if ((d.verdict == VERDICT_ALLOW || d.needs_body) &&
		    (r->llm_on = policy_llm_applies(c->sbx->pol, c->name,
		    c->port, h->method, full[0] != '\0' ? full : "/")))
			d.needs_body = 1;
		/* needs_body: the body decides (hx_judge), not d.verdict */
		if (code != 0) {
			/* the held request over the budget: 503 below */
		} else if (d.verdict != VERDICT_ALLOW && !d.needs_body) {
			snprintf(why, sizeof(why), "policy: %s",
			    d.why != NULL ? d.why : "denied");
			code = 403;
		} else if (d.needs_body && h->upgrade && (!d.ws_body ||
		    !h->upgrade_websocket || !h->conn_upgrade)) {
			strlcpy(why, "policy: an upgrade where a rule reads "
			    "the body", sizeof(why));
			code = 403;
		} else if (d.needs_body && h->upgrade) {
			/* GraphQL over WebSocket: each message judged */
			if (hx_ws_offer(b, h, hasbody, &r->wsg, why,
			    sizeof(why)) == -1)
				code = 403;
			else
				r->ws = 1;
		} else if (d.needs_body && h->has_clen &&
		    h->clen > pconf.body_max) {
			snprintf(why, sizeof(why), "request body of %llu "
			    "bytes over the %u rules read",
			    (unsigned long long)h->clen, pconf.body_max);
			code = 413;
		} else if (d.needs_body && h->has_clen &&
		    held_set(&r->held, h->clen) == -1) {
			snprintf(why, sizeof(why), "request bodies held for "
			    "rules over the proxy's budget of %llu bytes",
			    pconf.held_max);
			hx_closing(hx, why);
			code = 503;
		} else if (h->upgrade && h->upgrade_websocket &&
		    h->conn_upgrade) {
			if (!d.websocket) {
				strlcpy(why, "policy: websocket not allowed",
				    sizeof(why));
				code = 403;
			} else
				r->ws = 1;
		}
	}

	if (code == 0 && r->wsg != 0 && leak == 2) {
		/* the exchange would take the head, not this proxy */
		strlcpy(why, "policy: a credential for the exchange in a "
		    "judged websocket upgrade", sizeof(why));
		code = 403;
		r->ws = 0;
		r->wsg = 0;
	}
	if (code != 0) {
		/* answered here; the request's body (if any) is dropped */
		if (code == 400)
			hx_closing(hx, why);
		else if (hasbody && h->expect_continue)
			/* the client may send the body or not: never guessed */
			hx_closing(hx, "denied request with Expect: "
			    "100-continue");
		else if (h->has_clen && h->clen > HX_SKIP_MAX)
			hx_closing(hx, "denied request's body too long to "
			    "skip");
		if (hx_local(hx, code, why) == -1)
			return hx_close(hx, "out of memory");
		if (hx->closing) {
			hx->rq = RQ_DONE;
			return 1;
		}
		hb_consume(&hx->cin, h->headlen);
		peek_body_init(&r->body, h);
		r->skip = 1;
		hx->rq = hasbody ? RQ_BODY : RQ_DONE;
		return 1;
	}

	r->verdict = "allow";
	if (leak == 2) {
		/*
		 * To the exchange; a body that rules read is queued for it
		 * while it is held, and the exchange is asked for only once
		 * the body was judged (hx_judge)
		 */
		rv = hx_exch_start(hx, h, b, cut, cred, hasbody,
		    d.needs_body);
		if (rv != 1 || !d.needs_body || hx->x == NULL)
			return rv;
	}
	connection = r->ws ? "upgrade" : hx->closing ? "close" : NULL;
	if ((n = peek_http_rewrite(b, h, cut, connection, head,
	    sizeof(head))) == 0 || n > hb_room(&hx->uout))
		return hx_close(hx, "no room to rewrite the request");
	if (r->wsg != 0) {
		/* no extension: the frames are judged as sent */
		n = ws_strip_field(head, n, "Sec-WebSocket-Extensions");
		if ((r->bpath = strdup(full[0] != '\0' ? full : "/")) ==
		    NULL || (query != NULL &&
		    (r->bquery = strdup(query)) == NULL))
			return hx_close(hx, "out of memory");
	} else if (d.needs_body)
		return hx_hold(hx, h, head, n, full[0] != '\0' ? full : "/",
		    query, hasbody);
	if (hb_put(&hx->uout, head, n) == -1)
		return hx_close(hx, "out of memory");
	r->out += n;
	hb_consume(&hx->cin, h->headlen);
	peek_body_init(&r->body, h);
	hx->rq = hasbody ? RQ_BODY : RQ_DONE;
	hx->rs = RS_HEAD;
	return 1;
}

/* the request's side: 1 progress, 0 none, -1 closed */
static int
hx_requests(struct httpx *hx)
{
	struct hreq	*r = &hx->r;
	struct peek_http h;
	const char	*why = NULL;
	char		 reason[400];
	size_t		 n, used, which = 0;
	int		 progress = 0, rv, found, plain;

	for (;;) {
		switch (hx->rq) {
		case RQ_HEAD:
			if (hx->rs != RS_NONE || hx->closing || hx->r.active)
				return progress;
			if (hx->cin.len == 0)
				return progress;
			if (!hx->head_timer) {
				/* the whole head within peek_ms */
				conn_timer(hx->c, pconf.peek_ms);
				hx->head_timer = 1;
			}
			rv = peek_http(hb_data(&hx->cin), hx->cin.len, &h, &why);
			if (rv == PEEK_NEED_MORE && !hx->cl.eof)
				return progress;
			if (rv == PEEK_NEED_MORE || rv == PEEK_BAD) {
				if (hb_room(&hx->cout) < HX_LOCAL_MAX)
					return progress;
				memset(r, 0, sizeof(*r));
				r->active = 1;
				r->sub = -1;
				clock_gettime(CLOCK_MONOTONIC, &r->start);
				strlcpy(r->method, "-", sizeof(r->method));
				strlcpy(r->path, "-", sizeof(r->path));
				hx->nreq++;
				snprintf(reason, sizeof(reason), "bad request: "
				    "%s", rv == PEEK_BAD ? why :
				    "request head ended early");
				hx_closing(hx, reason);
				if (hx_local(hx, 400, reason) == -1)
					return hx_close(hx, "out of memory");
				hx->rq = RQ_DONE;
				return 1;
			}
			if ((rv = hx_head(hx, &h)) != 1)
				return rv == -1 ? -1 : progress;
			progress = 1;
			continue;
		case RQ_BODY:
			if (hx->cin.len == 0) {
				if (hx->cl.eof)
					return hx_close(hx, "client ended the "
					    "request body early");
				return progress;
			}
			n = hx->cin.len;
			if (!r->skip && r->exch && !r->hold) {
				/* bounded: what the exchange has not taken */
				if (hx->x == NULL ||
				    hx->x->ib.wqueued >= HX_BUFSZ)
					return progress;
			} else if (!r->skip && !r->hold &&
			    n > hb_room(&hx->uout))
				n = hb_room(&hx->uout);
			if (n == 0)
				return progress;
			rv = hx_body(hx, hb_data(&hx->cin), n, &used, &why,
			    &found, &plain, &which, r->hold && r->bchunked ?
			    &r->bdata : NULL);
			if (found) {
				hx_leak(hx, "body", plain ? "plain" : "encoded",
				    which, reason, sizeof(reason));
				return hx_leak_cut(hx, reason);
			}
			switch (rv) {
			case PEEK_BAD:
				snprintf(reason, sizeof(reason), "bad request "
				    "body: %s", why);
				strlcpy(r->why, reason, sizeof(r->why));
				r->verdict = "deny";
				return hx_close(hx, reason);
			case PEEK_FOUND:
				hx->rq = RQ_DONE;
				if (!r->skip && r->exch && exch_put_end(
				    &hx->x->ib, EXCH_REQ_END, reason,
				    sizeof(reason)) == -1)
					return hx_close(hx, reason);
				break;
			default:
				used = n;
				break;
			}
			if (r->hold) {
				if (bb_add(&r->braw, hb_data(&hx->cin), used) ==
				    -1)
					return hx_close(hx, "out of memory");
				hb_consume(&hx->cin, used);
				progress = 1;
				if (held_set(&r->held, r->braw.len +
				    r->bdata.len) == -1)
					return hx_held_over(hx);
				/* the data, and chunk framing within
				   HX_BUFSZ of it */
				if ((r->bchunked ? r->bdata.len : r->braw.len) >
				    pconf.body_max || r->braw.len >
				    (size_t)pconf.body_max + HX_BUFSZ) {
					/* the rest is never read */
					snprintf(reason, sizeof(reason),
					    "request body over the %u bytes "
					    "rules read", pconf.body_max);
					hx_closing(hx, reason);
					bb_free(&r->braw);
					bb_free(&r->bdata);
					if (r->exch) {
						hx_exch_free(hx);
						r->exch = 0;
					}
					hx->rq = RQ_DONE;
					if (hx_local(hx, 413, reason) == -1)
						return hx_close(hx, "out of "
						    "memory");
					return 1;
				}
				if (hx->rq == RQ_DONE) {
					hx->rq = RQ_BODY;
					if (hx_judge(hx) == -1)
						return -1;
				}
				continue;
			}
			if (r->skip) {
				r->skipped += used;
				if (r->skipped > HX_SKIP_MAX && hx->rq != RQ_DONE) {
					hx_closing(hx, "denied request's body "
					    "too long to skip");
					hx->rq = RQ_DONE;
				}
			} else if (r->exch)
				r->out += used;	/* queued by hx_body */
			else {
				if (hb_put(&hx->uout, hb_data(&hx->cin), used) ==
				    -1)
					return hx_close(hx, "out of memory");
				r->out += used;
			}
			hb_consume(&hx->cin, used);
			progress = 1;
			continue;
		case RQ_SEND:
			if ((rv = hx_send_held(hx)) == -1)
				return -1;
			progress |= rv;
			if (hx->rq == RQ_SEND)
				return progress;
			continue;
		default:
			return progress;
		}
	}
}

/* responses */

/*
 * The upstream cannot be trusted with another byte: what it sent is
 * dropped, it is read no more, and the client's connection closes
 * after what was framed (with a 502 when no response began).
 * 1, or -1 when closed.
 */
static int
hx_upstream_bad(struct httpx *hx, const char *why)
{
	struct hreq	*r = &hx->r;

	hx->ubad = 1;
	hb_free(&hx->uin);
	hx_closing(hx, why);
	if (r->active && hx->rs != RS_DONE) {
		if (hx->rs == RS_HEAD && r->status == 0) {
			if (hx_local(hx, 502, why) == -1)
				return hx_close(hx, "out of memory");
			r->verdict = "allow";	/* the policy allowed it */
		} else
			strlcpy(r->why, why, sizeof(r->why));
		hx->rs = RS_DONE;
	} else if (r->active && r->why[0] == '\0')
		strlcpy(r->why, why, sizeof(r->why));
	/* what the client still sends of the request goes nowhere */
	if (r->active)
		hx->rq = RQ_DONE;
	hb_free(&hx->uout);
	return 1;
}

/* a response head resp at the start of uin; 1, 0 (no room), -1 closed */
static int
hx_response_head(struct httpx *hx, const struct peek_response *resp)
{
	struct hreq	*r = &hx->r;
	uint8_t		 head[PEEK_MAX + 64];
	const char	*connection = NULL;
	size_t		 n;
	int		 rv;

	if (hb_room(&hx->cout) < resp->headlen + 64)
		return 0;
	if (resp->status == 101) {
		if (!r->ws || !resp->upgrade_websocket || !resp->conn_upgrade)
			return hx_upstream_bad(hx, "upstream switched "
			    "protocols unasked");
		if (r->wsg != 0 && (rv = hx_ws_accept(hx, resp)) != 0)
			return rv;
		connection = "upgrade";
	} else if (resp->status < 200) {
		if (++r->ninterim > HX_MAX_INTERIM)
			return hx_upstream_bad(hx, "too many 1xx responses "
			    "from upstream");
		if (r->minor == 0) {
			/* an HTTP/1.0 client is not sent 1xx */
			hb_consume(&hx->uin, resp->headlen);
			return 1;
		}
	} else {
		r->status = resp->status;
		if (r->head || resp->status == 204 || resp->status == 304)
			r->rbody = RB_NONE;
		else if (resp->chunked || resp->has_clen) {
			r->rbody = RB_FRAMED;
			peek_body_init_response(&r->rframe, resp);
		} else {
			r->rbody = RB_CLOSE;
			hx_closing(hx, "response delimited by the upstream's "
			    "close");
		}
		if (resp->conn_close || (resp->minor == 0 &&
		    !resp->conn_keepalive))
			hx_closing(hx, "upstream closes");
		/* the client may or may not send the body it announced */
		if (r->expect && hx->rq != RQ_DONE)
			hx_closing(hx, "final response before an expected "
			    "body");
		if (hx->closing)
			connection = "close";
	}
	if ((n = peek_response_rewrite(hb_data(&hx->uin), resp, connection,
	    head, sizeof(head))) == 0)
		return hx_upstream_bad(hx, "no room to rewrite the response");
	if (hb_put(&hx->cout, head, n) == -1)
		return hx_close(hx, "out of memory");
	r->in += n;
	hb_consume(&hx->uin, resp->headlen);
	if (resp->status == 101) {
		r->status = 101;
		hx->tunnel = 1;
		hx->rs = RS_DONE;
		hx->rq = RQ_DONE;
	} else if (resp->status >= 200)
		hx->rs = r->rbody == RB_NONE ? RS_DONE : RS_BODY;
	return 1;
}

/* the response's side: 1 progress, 0 none, -1 closed */
static int
hx_responses(struct httpx *hx)
{
	struct hreq	*r = &hx->r;
	struct peek_response resp;
	const char	*why = NULL;
	char		 reason[400];
	size_t		 n, used;
	int		 progress = 0, rv;

	if (r->exch && hx->x != NULL)
		return hx_exch_responses(hx);
	for (;;) {
		if (hx->ubad || hx->tunnel)
			return progress;
		switch (hx->rs) {
		case RS_NONE:
		case RS_DONE:
			if (hx->uin.len > 0)
				return hx_upstream_bad(hx, hx->rs == RS_NONE &&
				    !r->active ? "upstream sent bytes no "
				    "request asked for" : "upstream sent bytes "
				    "after its response");
			if (hx->up.eof && !hx->closing) {
				hx_closing(hx, "upstream closed");
				return 1;
			}
			return progress;
		case RS_HEAD:
			if (hx->uin.len == 0) {
				if (hx->up.eof)
					return hx_upstream_bad(hx, "upstream "
					    "closed before its response");
				return progress;
			}
			rv = peek_http_response(hb_data(&hx->uin), hx->uin.len,
			    &resp, &why);
			if (rv == PEEK_NEED_MORE) {
				if (hx->up.eof)
					return hx_upstream_bad(hx, "upstream "
					    "response head ended early");
				return progress;
			}
			if (rv == PEEK_BAD) {
				snprintf(reason, sizeof(reason), "bad response "
				    "from upstream: %s", why);
				return hx_upstream_bad(hx, reason);
			}
			if ((rv = hx_response_head(hx, &resp)) != 1)
				return rv == -1 ? -1 : progress;
			progress = 1;
			continue;
		case RS_BODY:
			if (hx->uin.len == 0) {
				if (!hx->up.eof)
					return progress;
				if (r->rbody == RB_CLOSE) {
					hx->rs = RS_DONE;
					return 1;
				}
				return hx_upstream_bad(hx, "upstream ended the "
				    "response early");
			}
			n = hx->uin.len;
			if (n > hb_room(&hx->cout))
				n = hb_room(&hx->cout);
			if (n == 0)
				return progress;
			used = n;
			if (r->rbody == RB_FRAMED) {
				switch (peek_body(&r->rframe, hb_data(&hx->uin),
				    n, &used, &why)) {
				case PEEK_BAD:
					snprintf(reason, sizeof(reason),
					    "bad response body from upstream: "
					    "%s", why);
					return hx_upstream_bad(hx, reason);
				case PEEK_FOUND:
					hx->rs = RS_DONE;
					break;
				default:
					used = n;
					break;
				}
			}
			if (hb_put(&hx->cout, hb_data(&hx->uin), used) == -1)
				return hx_close(hx, "out of memory");
			r->in += used;
			hb_consume(&hx->uin, used);
			progress = 1;
			continue;
		}
		return progress;
	}
}

/* the credential exchange (lensnetd_imsg.h, 5.) */

/* apart from proxy.c's connection reqids (a RESOLVE shares their space) */
#define EXCH_ID_BIT	(1ULL << 63)
static uint64_t	 exch_next_id = 1;

static void
hx_exch_free(struct httpx *hx)
{
	struct hexch	*x = hx->x;

	if (x == NULL)
		return;
	if (event_initialized(&x->ev))
		event_del(&x->ev);
	imsg_clear(&x->ib);
	if (x->ib.fd != -1)
		close(x->ib.fd);
	free(x);
	hx->x = NULL;
}

/*
 * The exchange failed or misbehaved: it is closed; the client gets
 * status (502 unless the exchange said) and why when no response head
 * was sent, else its connection is cut.  What it still sends of the
 * request is dropped (within HX_SKIP_MAX).  1, or -1 when closed.
 */
static int
hx_exch_fail(struct httpx *hx, int status, const char *why)
{
	struct hreq	*r = &hx->r;
	char		 msg[400];

	hx_exch_free(hx);
	snprintf(msg, sizeof(msg), "credential exchange: %s", why);
	if (hx->rs != RS_HEAD)
		return hx_close(hx, msg);
	if (hx->rq == RQ_BODY) {
		r->skip = 1;
		if (r->expect)
			hx_closing(hx, "exchange failed before an expected "
			    "body");
	}
	if (hx_local(hx, status, msg) == -1)
		return hx_close(hx, "out of memory");
	r->verdict = "error";
	return 1;
}

/* the request head as the exchange takes it; 1, or -1 when closed */
static int
hx_exch_start(struct httpx *hx, const struct peek_http *h, const uint8_t *b,
    size_t cut, size_t cred, int hasbody, int hold)
{
	struct hreq		*r = &hx->r;
	struct exch_msg_head	*m;
	struct exch_hdr		 f;
	size_t			 pos = 0;
	char			 w[300];

	if ((hx->x = calloc(1, sizeof(*hx->x))) == NULL ||
	    (m = calloc(1, sizeof(*m))) == NULL)
		return hx_close(hx, "out of memory");
	imsg_init(&hx->x->ib, -1);
	hx->x->id = EXCH_ID_BIT | exch_next_id++;
	hx->x->cred = cred;
	r->exch = 1;
	m->method = h->method;
	m->mlen = strlen(h->method);
	m->target = (const char *)b + h->target_off + cut;
	m->tlen = h->target_len - cut;
	if (m->tlen == 0) {		/* "http://host" */
		m->target = "/";
		m->tlen = 1;
	}
	/* the headers as sent, but hop-by-hop, framing and Expect */
	while (hx_field(b, h->headlen, &pos, &f)) {
		if (exch_hopbyhop(f.name, f.nlen) || (f.nlen == 6 &&
		    strncasecmp(f.name, "Expect", 6) == 0))
			continue;
		if (m->nhdr == EXCH_MAXHDR) {
			free(m);
			return hx_exch_fail(hx, 400, "more headers than the "
			    "exchange takes");
		}
		m->hdr[m->nhdr++] = f;
	}
	m->body = h->chunked ? EXCH_BODY_STREAM : hasbody ? EXCH_BODY_LENGTH :
	    EXCH_BODY_NONE;
	m->length = m->body == EXCH_BODY_LENGTH ? h->clen : 0;
	if (exch_put_head(&hx->x->ib, m, w, sizeof(w)) == -1 ||
	    (!hasbody && exch_put_end(&hx->x->ib, EXCH_REQ_END, w,
	    sizeof(w)) == -1)) {
		free(m);
		hb_consume(&hx->cin, h->headlen);
		peek_body_init(&r->body, h);
		hx->rq = hasbody ? RQ_BODY : RQ_DONE;
		hx->rs = RS_HEAD;
		return hx_exch_fail(hx, 400, w);
	}
	free(m);
	r->out += h->headlen;
	if (hold)
		return 1;	/* the caller holds it (hx_hold) */
	hb_consume(&hx->cin, h->headlen);
	peek_body_init(&r->body, h);
	hx->rq = hasbody ? RQ_BODY : RQ_DONE;
	hx->rs = RS_HEAD;
	/* the exchange answers the expectation itself: the body comes */
	if (hasbody && r->expect && r->minor > 0 &&
	    hb_put(&hx->cout, "HTTP/1.1 100 Continue\r\n\r\n", 25) == -1)
		return hx_close(hx, "out of memory");
	return hx_exch_ask(hx);
}

/*
 * The request is queued for the exchange: the parent is asked for it
 * (oauth2Refresh: once the token endpoint's address is known).
 */
static int
hx_exch_ask(struct httpx *hx)
{
	struct policy_injection	 pi;
	char			 w[300];

	if (policy_cred_injection(hx->c->sbx->pol, hx->x->cred, hx->c->name,
	    hx->c->port, &pi, w, sizeof(w)) == 0 && pi.token_url != NULL) {
		if (proxy_resolve(hx->c, pi.token_host, hx->x->id) == -1)
			return hx_exch_fail(hx, 502, "cannot resolve the token "
			    "endpoint");
		hx->x->state = X_RESOLVE;
		return 1;
	}
	if (proxy_exch_req(hx->c, hx->x->cred, hx->x->id, NULL) == -1)
		return hx_exch_fail(hx, 502, "cannot ask lensnetd's parent");
	hx->x->state = X_WAIT;
	return 1;
}

/* the token endpoint's addresses for exchange id (proxy.c's RESOLVED) */
int
httpx_exch_resolved(struct sbx *s, uint64_t id,
    const struct netd_resolved *r)
{
	struct conn	*c;
	struct httpx	*hx;
	char		 why[80];

	if ((id & EXCH_ID_BIT) == 0)
		return 0;
	TAILQ_FOREACH(c, &s->conns, sentry)
		if (c->state == S_HTTP && (hx = c->hx) != NULL &&
		    hx->x != NULL && hx->x->id == id &&
		    (hx->x->state == X_RESOLVE || hx->x->state == X_LRESOLVE))
			break;
	if (c == NULL)
		return 1;	/* gone meanwhile */
	if (hx->x->state == X_LRESOLVE) {
		(void)hx_llm_resolved(hx, r);
		if (c->hx != NULL)
			(void)hx_pump(hx);
		return 1;
	}
	if (r->error != 0 || r->naddrs == 0) {
		snprintf(why, sizeof(why), "the token endpoint does not "
		    "resolve");
		(void)hx_exch_fail(hx, 502, why);
	} else if (proxy_exch_req(c, hx->x->cred, id, &r->addrs[0]) == -1)
		(void)hx_exch_fail(hx, 502, "cannot ask lensnetd's parent");
	else
		hx->x->state = X_WAIT;
	if (c->hx != NULL)
		(void)hx_pump(hx);
	return 1;
}

/* what is queued for the exchange, written; 1 progress, 0, -1 closed */
static int
hx_exch_write(struct httpx *hx)
{
	struct hexch	*x = hx->x;
	size_t		 before;

	if (x == NULL || x->state != X_RUN || x->ib.wqueued == 0)
		return 0;
	before = x->ib.wqueued;
	if (imsg_write(&x->ib) == -1) {
		if (hx_exch_fail(hx, 502, "its stream closed while the "
		    "request was sent") == -1)
			return -1;
		return 1;
	}
	return x->ib.wqueued != before;
}

/* framing bytes into the client's buffer (room was checked) */
static int
hx_exch_put(struct httpx *hx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
hx_exch_put(struct httpx *hx, const char *fmt, ...)
{
	va_list	 ap;
	char	 buf[64];
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf) ||
	    hb_put(&hx->cout, buf, n) == -1)
		return -1;
	hx->r.in += n;
	return 0;
}

static int
hx_exch_bytes(struct httpx *hx, const void *p, size_t n)
{
	if (hb_put(&hx->cout, p, n) == -1)
		return -1;
	hx->r.in += n;
	return 0;
}

/* the response head from the exchange, in this proxy's framing */
static int
hx_exch_head(struct httpx *hx, const void *data, size_t len, char *why,
    size_t whylen)
{
	struct hreq		*r = &hx->r;
	struct hexch		*x = hx->x;
	struct exch_msg_resp	*m;
	size_t			 i;
	int			 nobody, rv = -1;

	if ((m = malloc(sizeof(*m))) == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	if (exch_get_resp(data, len, m, why, whylen) == -1)
		goto out;
	nobody = r->head || m->status == 204 || m->status == 304;
	x->body = m->body;
	x->left = m->length;
	x->chunked = !nobody && m->body == EXCH_BODY_STREAM && r->minor > 0;
	if (!nobody && m->body == EXCH_BODY_STREAM && r->minor == 0)
		hx_closing(hx, "response delimited by the close");
	r->status = m->status;
	if (hx_exch_put(hx, "HTTP/1.1 %d ", m->status) == -1 ||
	    hx_exch_bytes(hx, m->reason, m->rlen) == -1 ||
	    hx_exch_bytes(hx, "\r\n", 2) == -1)
		goto oom;
	for (i = 0; i < m->nhdr; i++)
		if (hx_exch_bytes(hx, m->hdr[i].name, m->hdr[i].nlen) == -1 ||
		    hx_exch_bytes(hx, ": ", 2) == -1 ||
		    hx_exch_bytes(hx, m->hdr[i].value, m->hdr[i].vlen) == -1 ||
		    hx_exch_bytes(hx, "\r\n", 2) == -1)
			goto oom;
	if (m->status != 204 && m->status != 304) {
		if (m->body == EXCH_BODY_LENGTH || (m->body ==
		    EXCH_BODY_NONE && !r->head)) {
			if (hx_exch_put(hx, "Content-Length: %llu\r\n",
			    (unsigned long long)m->length) == -1)
				goto oom;
		} else if (x->chunked && hx_exch_put(hx, "Transfer-Encoding: "
		    "chunked\r\n") == -1)
			goto oom;
	}
	if (hx->closing && hx_exch_put(hx, "Connection: close\r\n") == -1)
		goto oom;
	if (hx_exch_bytes(hx, "\r\n", 2) == -1)
		goto oom;
	hx->rs = RS_BODY;
	rv = 0;
	goto out;
 oom:
	snprintf(why, whylen, "out of memory");
 out:
	free(m);
	return rv;
}

/* one message of the exchange: 0, -1 with why (a bad one) */
static int
hx_exch_msg(struct httpx *hx, struct imsg *im, char *why, size_t whylen)
{
	struct hreq		*r = &hx->r;
	struct hexch		*x = hx->x;
	struct exch_error	 e;
	int			 drop;

	if (im->fd != -1) {
		snprintf(why, whylen, "a descriptor on its stream");
		return -1;
	}
	drop = r->head || r->status == 204 || r->status == 304;
	if (r->llm_routed && im->hdr.type != EXCH_ERROR)
		return hx_llm_msg(hx, im, why, whylen);
	switch (im->hdr.type) {
	case EXCH_RESP_HEAD:
		if (hx->rs != RS_HEAD) {
			snprintf(why, whylen, "a second response head");
			return -1;
		}
		return hx_exch_head(hx, im->data, im->datalen, why, whylen);
	case EXCH_RESP_BODY:
		if (hx->rs != RS_BODY) {
			snprintf(why, whylen, "a body before its head");
			return -1;
		}
		if (exch_get_body(im->data, im->datalen, why, whylen) == -1)
			return -1;
		if (x->body == EXCH_BODY_NONE || (x->body == EXCH_BODY_LENGTH &&
		    im->datalen > x->left)) {
			snprintf(why, whylen, "more body than its head said");
			return -1;
		}
		x->left -= x->body == EXCH_BODY_LENGTH ? im->datalen : 0;
		if (drop)
			return 0;
		if ((x->chunked && hx_exch_put(hx, "%zx\r\n", im->datalen) ==
		    -1) || hx_exch_bytes(hx, im->data, im->datalen) == -1 ||
		    (x->chunked && hx_exch_bytes(hx, "\r\n", 2) == -1)) {
			snprintf(why, whylen, "out of memory");
			return -1;
		}
		return 0;
	case EXCH_RESP_END:
		if (hx->rs != RS_BODY || exch_get_end(im->data, im->datalen,
		    why, whylen) == -1) {
			if (hx->rs != RS_BODY)
				snprintf(why, whylen, "an end before its head");
			return -1;
		}
		if (x->body == EXCH_BODY_LENGTH && x->left != 0) {
			snprintf(why, whylen, "a body shorter than its head "
			    "said");
			return -1;
		}
		if (x->chunked && hx_exch_bytes(hx, "0\r\n\r\n", 5) == -1) {
			snprintf(why, whylen, "out of memory");
			return -1;
		}
		hx->rs = RS_DONE;
		hx_exch_free(hx);
		/* what the client still sends of the request goes nowhere */
		if (hx->rq != RQ_DONE) {
			r->skip = 1;
			hx_closing(hx, "response before the request's end");
		}
		return 0;
	case EXCH_ERROR:
		if (exch_get_error(im->data, im->datalen, &e, why, whylen) ==
		    -1)
			return -1;
		e.msg[sizeof(e.msg) - 1] = '\0';
		return hx_exch_fail(hx, e.status, e.msg) == -1 ? -2 : 0;
	}
	snprintf(why, whylen, "message type %#x", im->hdr.type);
	return -1;
}

/* the exchange's side: 1 progress, 0 none, -1 closed */
static int
hx_exch_responses(struct httpx *hx)
{
	struct hexch	*x = hx->x;
	struct imsg	 im;
	char		 why[300];
	ssize_t		 rd;
	int		 n, rv, progress = 0;

	while ((x = hx->x) != NULL && x->state == X_RUN) {
		/* re-framed bytes of an llm: route first */
		if (hx->r.llm_routed) {
			if (hx_llm_drain(hx, &n) == -1)
				return -1;
			if (n)
				return progress;
		}
		/* a head or a chunk with its framing fits */
		if (hb_room(&hx->cout) < EXCH_HEAD_MAX + 512)
			return progress;
		if ((n = imsg_get(&x->ib, &im)) == -1)
			return hx_exch_fail(hx, 502, "a bad frame");
		if (n == 0) {
			if (x->eof)
				return hx_exch_fail(hx, 502, "it ended before "
				    "its response did");
			rd = imsg_read(&x->ib);
			if (rd == -1 && (errno == EAGAIN || errno == EINTR))
				return progress;
			if (rd == -1)
				return hx_exch_fail(hx, 502, "its stream "
				    "failed");
			if (rd == 0)
				x->eof = 1;
			progress = 1;
			continue;
		}
		rv = hx_exch_msg(hx, &im, why, sizeof(why));
		imsg_free(&im);
		if (rv == -2)
			return -1;
		if (rv == -1)
			return hx_exch_fail(hx, 502, why);
		progress = 1;
	}
	return progress;
}

/* NETD_EXCH (fd) or NETD_EXCH_FAIL (fd -1, why) for request id of s */
void
httpx_exch(struct sbx *s, uint64_t id, int fd, const char *why)
{
	struct conn	*c;
	struct httpx	*hx;

	TAILQ_FOREACH(c, &s->conns, sentry)
		if (c->state == S_HTTP && (hx = c->hx) != NULL &&
		    hx->x != NULL && hx->x->id == id &&
		    hx->x->state == X_WAIT)
			break;
	if (c == NULL) {
		/* the request is gone (client away, timeout) */
		if (fd != -1)
			close(fd);
		return;
	}
	if (fd == -1) {
		(void)hx_exch_fail(hx, 502, why);
		if (c->hx != NULL)
			(void)hx_pump(hx);
		return;
	}
	/* never blocks the proxy, whatever the descriptor came as */
	if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1) {
		close(fd);
		(void)hx_exch_fail(hx, 502, "its stream cannot be made "
		    "non-blocking");
		if (c->hx != NULL)
			(void)hx_pump(hx);
		return;
	}
	hx->x->ib.fd = fd;
	hx->x->state = X_RUN;
	(void)hx_pump(hx);
}

/* after a 101: bytes both ways, each end shut when the other's is */
static int
hx_tunnel(struct hbuf *from, struct hbuf *to)
{
	size_t	 n = from->len;

	if (n > hb_room(to))
		n = hb_room(to);
	if (n == 0)
		return 0;
	if (hb_put(to, hb_data(from), n) == -1)
		return -1;
	hb_consume(from, n);
	return 1;
}

/* held bodies over the proxy's budget (held.h); 1, or -1 when closed */
static int
hx_held_over(struct httpx *hx)
{
	struct hreq	*r = &hx->r;
	char		 why[200];

	snprintf(why, sizeof(why), "request bodies held for rules over the "
	    "proxy's budget of %llu bytes", pconf.held_max);
	hx_closing(hx, why);	/* the rest is never read */
	bb_free(&r->braw);
	bb_free(&r->bdata);
	held_drop(&r->held);
	if (r->exch) {
		hx_exch_free(hx);
		r->exch = 0;
	}
	hx->rq = RQ_DONE;
	if (hx_local(hx, 503, why) == -1)
		return hx_close(hx, "out of memory");
	return 1;
}

/*
 * GraphQL over WebSocket (wsframe.h): the upgrade where a graphql:
 * rule with websocket: true applies offers only the subprotocols
 * judged, and no body; the 101 picks one of them and no extension;
 * then the client's messages are judged one by one, each subscribe
 * audited as a net.http event with its graphql detail.
 */
static int
hx_ws_offer(const uint8_t *b, const struct peek_http *h, int hasbody,
    unsigned int *bits, char *why, size_t whylen)
{
	struct exch_hdr	 f;
	size_t		 pos = 0;

	*bits = 0;
	if (strcmp(h->method, "GET") != 0) {
		snprintf(why, whylen, "policy: a websocket upgrade that is "
		    "not a GET");
		return -1;
	}
	if (hasbody) {
		snprintf(why, whylen, "policy: a websocket upgrade with a "
		    "body");
		return -1;
	}
	while (hx_field(b, h->headlen, &pos, &f))
		if (f.nlen == 22 && strncasecmp(f.name,
		    "Sec-WebSocket-Protocol", 22) == 0 &&
		    ws_subprotocols(f.value, f.vlen, bits, why, whylen) == -1)
			return -1;
	if (*bits == 0) {
		snprintf(why, whylen, "policy: a GraphQL websocket without "
		    "subprotocol graphql-transport-ws or graphql-ws");
		return -1;
	}
	return 0;
}

/* a subscribe judged as a GraphQL request body: 1 allow, 0 deny */
static int
hx_ws_judge(void *arg, const char *id, const char *payload, char *why,
    size_t whylen)
{
	struct httpx	*hx = arg;
	struct conn	*c = hx->c;
	struct hws	*ws = hx->ws;
	struct policy_body pb;
	struct policy_body_decision bd;
	json_t		*o;
	int		 allow;

	memset(&pb, 0, sizeof(pb));
	pb.ctype = "application/json";
	pb.data = payload;
	pb.len = strlen(payload);
	pb.header = hx_hdr;
	pb.arg = &hx->r;	/* no headers: the request is gone */
	policy_http_body(c->sbx->pol, c->name, c->port, "GET", ws->path,
	    ws->query, &pb, &bd);
	allow = bd.verdict == VERDICT_ALLOW;
	if (!allow)
		snprintf(why, whylen, "policy: %s", bd.why != NULL ? bd.why :
		    "denied");
	o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:s}",
	    "sandbox", c->sbx->sandbox, "name", c->name,
	    "listener", c->kind == NETD_L_CONNECT ? "connect" : "transparent",
	    "method", "GET", "path", ws->apath,
	    "verdict", allow ? "allow" : "deny", "port", (int)c->port,
	    "proto", c->cs.ssl != NULL ? "https" : "http",
	    "upgrade", "websocket", "ws_id", id);
	if (o != NULL) {
		if (ws->rule[0] != '\0')
			json_object_set_new(o, "rule", json_string(ws->rule));
		if (bd.sub >= 0)
			json_object_set_new(o, "request_rule",
			    json_integer(bd.sub));
		if (!allow)
			json_object_set_new(o, "reason", json_string(why));
		hx_audit_body(o, bd.audit);
	}
	proxy_audit(c->sbx, "net.http", o, 1, !allow, 0, 0);
	return allow;
}

/* the 101 of a judged websocket: 0 taken, 1 refused (hx_upstream_bad),
   -1 closed */
static int
hx_ws_accept(struct httpx *hx, const struct peek_response *resp)
{
	struct hreq	*r = &hx->r;
	struct hws	*ws;
	struct exch_hdr	 f;
	size_t		 pos = 0;
	unsigned int	 pick = 0;
	int		 n = 0;
	char		 w[200];

	while (hx_field(hb_data(&hx->uin), resp->headlen, &pos, &f)) {
		if (f.nlen == 24 && strncasecmp(f.name,
		    "Sec-WebSocket-Extensions", 24) == 0)
			return hx_upstream_bad(hx, "upstream agreed to a "
			    "websocket extension not offered");
		if (f.nlen == 22 && strncasecmp(f.name,
		    "Sec-WebSocket-Protocol", 22) == 0) {
			n++;
			if (ws_subprotocols(f.value, f.vlen, &pick, w,
			    sizeof(w)) == -1)
				n = 99;
		}
	}
	if (n != 1 || (pick != WSG_TRANSPORT && pick != WSG_LEGACY) ||
	    (pick & r->wsg) == 0)
		return hx_upstream_bad(hx, "upstream picked no websocket "
		    "subprotocol the client offered");
	if ((ws = calloc(1, sizeof(*ws))) == NULL ||
	    (ws->path = strdup(r->bpath)) == NULL ||
	    (r->bquery != NULL && (ws->query = strdup(r->bquery)) == NULL)) {
		if (ws != NULL) {
			free(ws->path);
			free(ws);
		}
		return hx_close(hx, "out of memory");
	}
	strlcpy(ws->apath, r->path, sizeof(ws->apath));
	strlcpy(ws->rule, r->rule, sizeof(ws->rule));
	ws->j.in.max = pconf.body_max;
	ws->j.proto = pick;
	ws->j.judge = hx_ws_judge;
	ws->j.arg = hx;
	hx->ws = ws;
	return 0;
}

/* the client's frames, judged; 1 progress, 0 none */
static int
hx_ws_up(struct httpx *hx)
{
	struct hws	*ws = hx->ws;
	struct wsj	*j = &ws->j;
	size_t		 n, used;
	int		 progress = 0, rv;

	for (;;) {
		/* what was judged goes first, as it was sent */
		n = j->up.len < hb_room(&hx->uout) ? j->up.len :
		    hb_room(&hx->uout);
		if (n > 0) {
			if (hb_put(&hx->uout, j->up.b + j->up.off, n) == -1)
				return hx_close(hx, "out of memory");
			wsbuf_consume(&j->up, n);
			progress = 1;
		}
		if (j->up.len > 0 || j->dead || hx->cin.len == 0)
			break;
		rv = wsj_client(j, hb_data(&hx->cin), hx->cin.len, &used);
		if (used > 0) {
			hb_consume(&hx->cin, used);
			progress = 1;
		}
		if (!j->dead && held_set(&ws->held, j->in.raw.len +
		    j->in.data.len + j->up.len) == -1)
			(void)wsj_fail(j, 1013, "request bytes held for rules "
			    "over the proxy's budget");
		if (rv == -1 || used == 0)
			break;
	}
	if (j->dead) {
		/* the rest of the client's bytes go nowhere */
		hb_free(&hx->cin);
		hb_free(&hx->uout);
		held_drop(&ws->held);
		progress = 1;
	}
	return progress;
}

/* the server's frames as they come, the proxy's between two; 1, 0 */
static int
hx_ws_down(struct httpx *hx)
{
	struct wsj	*j = &hx->ws->j;
	size_t		 n, k;
	int		 progress = 0;

	if (!hx->ubad) {
		n = hx->uin.len < hb_room(&hx->cout) ? hx->uin.len :
		    hb_room(&hx->cout);
		k = wsout_pass(&j->out, hb_data(&hx->uin), n, j->down.len > 0);
		/* a frame cut by the upstream's end goes as it is */
		if (k == 0 && hx->up.eof && j->down.len == 0)
			k = n;
		if (k > 0) {
			if (hb_put(&hx->cout, hb_data(&hx->uin), k) == -1)
				return hx_close(hx, "out of memory");
			hb_consume(&hx->uin, k);
			progress = 1;
		}
	}
	if (j->down.len > 0 && wsout_between(&j->out) &&
	    hb_room(&hx->cout) >= j->down.len) {
		if (hb_put(&hx->cout, j->down.b + j->down.off, j->down.len) ==
		    -1)
			return hx_close(hx, "out of memory");
		wsbuf_free(&j->down);
		progress = 1;
		if (j->dead) {
			/* the close went: the upstream is done with */
			hx->ubad = 1;
			hb_free(&hx->uin);
		}
	}
	return progress;
}

static void
hx_ws_free(struct httpx *hx)
{
	if (hx->ws == NULL)
		return;
	wsj_free(&hx->ws->j);
	held_drop(&hx->ws->held);
	free(hx->ws->path);
	free(hx->ws->query);
	free(hx->ws);
	hx->ws = NULL;
}

/* the end of an exchange, of the connection; 1 progress, -1 closed */
static int
hx_ends(struct httpx *hx)
{
	struct conn	*c = hx->c;

	if (hx->tunnel) {
		if (hx->r.active)
			hx_audit_req(hx);
		if (hx->ws != NULL && hx->ws->j.dead &&
		    hx->ws->j.down.len == 0 && hx->cout.len == 0)
			return hx_close(hx, hx->ws->j.why);
		if (hx->cl.eof && hx->cin.len == 0 && hx->uout.len == 0 &&
		    (hx->ws == NULL || hx->ws->j.up.len == 0) &&
		    !hx->up.shut) {
			stream_shutdown(&c->us);
			hx->up.shut = 1;
		}
		if (hx->up.eof && hx->uin.len == 0 && hx->cout.len == 0 &&
		    !hx->cl.shut) {
			stream_shutdown(&c->cs);
			hx->cl.shut = 1;
		}
		if (hx->up.shut && hx->cl.shut)
			return hx_close(hx, NULL);
		return 0;
	}
	if (hx->r.active && hx->rq == RQ_DONE && hx->rs == RS_DONE) {
		hx_audit_req(hx);
		hx->rq = RQ_HEAD;
		hx->rs = RS_NONE;
		return 1;
	}
	if (hx->r.active)
		return 0;
	/* between requests */
	if (hx->cl.eof && hx->cin.len == 0 && !hx->closing)
		hx_closing(hx, NULL);
	if (hx->closing && !hx->linger && hx->cout.len == 0) {
		/*
		 * ours all sent: shut our side, then read what the client
		 * still sends until it closes (a close with unread bytes
		 * would reset the connection and may lose our last bytes)
		 */
		stream_shutdown(&c->cs);
		hx->cl.shut = 1;
		hx->linger = 1;
		hb_free(&hx->cin);
		conn_timer(c, HX_LINGER_MS);
		return 1;
	}
	return 0;
}

/* may the client's stream be read now? */
static int
hx_want_client(const struct httpx *hx)
{
	/* a held request: what is held is what was read */
	return !hx->cl.eof && hb_room(&hx->cin) > 0 && hx->ask != HXA_WAIT;
}

static int
hx_want_upstream(const struct httpx *hx)
{
	return !hx->up.eof && !hx->ubad && hb_room(&hx->uin) > 0;
}

static void
hx_setev(struct httpx *hx)
{
	struct conn	*c = hx->c;
	short		 cw = 0, uw = 0;

	if (hx_want_client(hx))
		cw |= hx->cl.rblk ? hx->cl.rwant : EV_READ;
	if (hx->cout.len > 0)
		cw |= hx->cl.wblk ? hx->cl.wwant : EV_WRITE;
	if (!hx->linger) {
		if (hx_want_upstream(hx))
			uw |= hx->up.rblk ? hx->up.rwant : EV_READ;
		if (hx->uout.len > 0)
			uw |= hx->up.wblk ? hx->up.wwant : EV_WRITE;
	}
	conn_setev(c, c->cfd, &c->cev, &c->cflags, cw);
	conn_setev(c, c->ufd, &c->uev, &c->uflags, uw);
	if (hx->x != NULL && hx->x->ib.fd != -1)
		conn_setev(c, hx->x->ib.fd, &hx->x->ev, &hx->x->flags,
		    (!hx->x->eof ? EV_READ : 0) |
		    (hx->x->ib.wqueued > 0 ? EV_WRITE : 0));
}

/* drop what the client sends after our last byte, until it closes */
static int
hx_linger(struct httpx *hx)
{
	uint8_t	 buf[4096];
	ssize_t	 n;
	size_t	 total = 0;

	for (;;) {
		n = stream_read(&hx->c->cs, buf, sizeof(buf));
		if (n > 0) {
			hx->c->up.bytes += n;
			if ((total += n) > PROXY_BUFSZ)
				return hx_close(hx, NULL);
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
			hx->cl.rblk = 1;
			hx->cl.rwant = hx->c->cs.want;
			return 0;
		}
		return hx_close(hx, NULL);
	}
}

/* move every byte that can move; -1 when the connection was closed */
static int
hx_pump(struct httpx *hx)
{
	struct conn	*c = hx->c;
	int		 progress, any = 0, rv;

	do {
		if (hx->linger) {
			if (hx_linger(hx) == -1)
				return -1;
			break;
		}
		progress = 0;
		if (hx_want_client(hx)) {
			if ((rv = hx_read(&hx->cl, &hx->cin, &c->up.bytes)) ==
			    -1)
				return hx_close(hx, "client reset");
			progress |= rv;
		}
		if (hx->ws != NULL)
			rv = hx_ws_up(hx);
		else if (hx->tunnel)
			rv = hx_tunnel(&hx->cin, &hx->uout);
		else
			rv = hx_requests(hx);
		if (rv == -1)
			return -1;
		progress |= rv;
		if ((rv = hx_exch_write(hx)) == -1)
			return -1;
		progress |= rv;
		if (!hx->ubad) {
			if ((rv = hx_write(&hx->up, &hx->uout)) == -1)
				return hx_close(hx, "upstream reset");
			progress |= rv;
		}
		if (hx_want_upstream(hx)) {
			if ((rv = hx_read(&hx->up, &hx->uin, &c->down.bytes)) ==
			    -1)
				return hx_close(hx, "upstream reset");
			progress |= rv;
		}
		if (hx->ws != NULL)
			rv = hx_ws_down(hx);
		else if (hx->tunnel)
			rv = hx_tunnel(&hx->uin, &hx->cout);
		else
			rv = hx_responses(hx);
		if (rv == -1)
			return -1;
		progress |= rv;
		if (hx->r.llm_routed && (rv = hx_llm_drain(hx, NULL)) == -1)
			return -1;
		progress |= rv;
		if ((rv = hx_write(&hx->cl, &hx->cout)) == -1)
			return hx_close(hx, "client reset");
		progress |= rv;
		if ((rv = hx_ends(hx)) == -1)
			return -1;
		progress |= rv;
		any |= progress;
	} while (progress);

	if (any && !hx->linger) {
		if (hx->ask == HXA_WAIT)	/* the parent always answers */
			conn_timer(c, HX_ASK_BACKSTOP_MS);
		else if (hx->tunnel || hx->r.active)
			conn_timer(c, pconf.idle_ms);
		else if (hx->cin.len == 0)
			conn_timer(c, pconf.http_idle_ms);
		/* else: a head under way, on its peek_ms timer */
	}
	hx_setev(hx);
	return 0;
}

void
httpx_event(struct conn *c, int fd, short ev)
{
	struct httpx	*hx = c->hx;
	struct hside	*sd = fd == c->cfd ? &hx->cl : &hx->up;

	if (hx->x != NULL && fd == hx->x->ib.fd) {
		(void)hx_pump(hx);
		return;
	}

	if (ev & sd->rwant)
		sd->rblk = 0;
	if (ev & sd->wwant)
		sd->wblk = 0;
	(void)hx_pump(hx);
}

void
httpx_timeout(struct conn *c)
{
	struct httpx	*hx = c->hx;

	if (hx->ask == HXA_WAIT) {
		/* a timer of before the hold: the parent always answers */
		conn_timer(c, HX_ASK_BACKSTOP_MS);
		return;
	}
	if (hx->linger)
		(void)hx_close(hx, NULL);
	else if (hx->tunnel || hx->r.active)
		(void)hx_close(hx, "idle timeout");
	else if (hx->cin.len > 0)
		(void)hx_close(hx, "timed out reading a request head");
	else
		(void)hx_close(hx, hx->nreq > 0 ? "idle between requests" :
		    "idle before a request");
}

void
httpx_answer(struct conn *c, int allow, const char *why)
{
	struct httpx	*hx = c->hx;

	if (hx == NULL || hx->ask != HXA_WAIT)
		return;
	hx->ask = allow ? HXA_ALLOW : HXA_DENY;
	strlcpy(hx->askwhy, why, sizeof(hx->askwhy));
	/* the head is decided again (hx_head), as a new one */
	hx_req_free(&hx->r);
	hx->r.active = 0;
	hx->nreq--;
	conn_timer(c, pconf.peek_ms);
	(void)hx_pump(hx);
}

void
httpx_free(struct conn *c)
{
	struct httpx	*hx = c->hx;

	if (hx == NULL)
		return;
	hb_free(&hx->cin);
	hb_free(&hx->cout);
	hb_free(&hx->uin);
	hb_free(&hx->uout);
	hx_exch_free(hx);
	hx_req_free(&hx->r);
	hx_ws_free(hx);
	free(hx);
	c->hx = NULL;
}

/* take over a way's buffer, bytes and all */
static void
hx_adopt(struct hbuf *h, struct dir *d)
{
	if (d->buf != NULL && d->len > 0) {
		h->b = d->buf;
		h->size = PROXY_BUFSZ;
		h->off = d->off;
		h->len = d->len;
	} else
		free(d->buf);
	d->buf = NULL;
	d->off = d->len = 0;
}

void
http_start(struct conn *c)
{
	struct httpx	*hx;

	if ((hx = calloc(1, sizeof(*hx))) == NULL) {
		conn_close(c, "out of memory");
		return;
	}
	c->hx = hx;
	hx->c = c;
	c->state = S_HTTP;
	c->splice = 0;
	c->cs.fd = c->cfd;
	c->us.fd = c->ufd;
	hx->cl.s = &c->cs;
	hx->up.s = &c->us;
	hx->cl.rwant = hx->up.rwant = EV_READ;
	hx->cl.wwant = hx->up.wwant = EV_WRITE;
	if (c->down.bytes > 0 || c->up.pipe[0] != -1 ||
	    c->down.pipe[0] != -1) {
		(void)hx_close(hx, "upstream spoke before the first request");
		return;
	}
	hx_adopt(&hx->cin, &c->up);
	hx_adopt(&hx->cout, &c->down);	/* a CONNECT's 200 */
	hx->cl.eof = c->up.eof;
	hx->rq = RQ_HEAD;
	hx->rs = RS_NONE;
	conn_timer(c, pconf.http_idle_ms);
	(void)hx_pump(hx);
}

int
http_host(const uint8_t *b, const struct peek_http *h, const char *deflt,
    char *host, uint16_t *port, int *isip, size_t *cut, const char **why)
{
	int	 r;

	if ((r = peek_http_target(b, h, host, port, isip, cut, why)) == -1)
		return -1;
	if (r == 0) {
		if (!h->has_host && deflt == NULL) {
			*why = "no host named";
			return -1;
		}
		if (!h->has_host) {
			strlcpy(host, deflt, NETD_NAME_SIZE);
			*port = 0;
			*isip = 0;
			return 0;
		}
		strlcpy(host, h->host, NETD_NAME_SIZE);
		*port = h->host_port;
		*isip = h->host_is_ip;
		return 0;
	}
	if (h->has_host && (strcmp(h->host, host) != 0 ||
	    (h->host_port != 0 ? h->host_port : 80) !=
	    (*port != 0 ? *port : 80))) {
		*why = "Host header disagrees with the URL";
		return -1;
	}
	return 0;
}

#include "httpx_llm.inc"
