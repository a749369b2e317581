/*
 * WebSocket frames of a judged GraphQL endpoint (wsframe.h): the
 * client's parsed as RFC 6455 says a server must (5.1-5.5, 8.1), the
 * server's only counted, the graphql-transport-ws and graphql-ws
 * messages read as strict JSON (jsonstrict.h).
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "jsonstrict.h"
#include "wsframe.h"

int
wsf_header(const uint8_t *p, size_t n, int client, struct wsf *f,
    const char **why, int *code)
{
	size_t		 i, k;
	uint64_t	 len;

	*code = 1002;
	if (n < 2)
		return 0;
	memset(f, 0, sizeof(*f));
	f->fin = (p[0] & 0x80) != 0;
	f->op = p[0] & 0x0f;
	f->masked = (p[1] & 0x80) != 0;
	len = p[1] & 0x7f;
	k = len == 126 ? 2 : len == 127 ? 8 : 0;
	f->hlen = 2 + k + (f->masked ? 4 : 0);
	if (client) {
		if (p[0] & 0x70) {
			*why = "reserved bits set (no extension was agreed)";
			return -1;
		}
		if ((f->op > WS_BINARY && f->op < WS_CLOSE) ||
		    f->op > WS_PONG) {
			*why = "unknown opcode";
			return -1;
		}
		if (!f->masked) {
			*why = "an unmasked frame from the client";
			return -1;
		}
		if (f->op >= WS_CLOSE && (!f->fin || len > WS_CTRL_MAX)) {
			*why = !f->fin ? "a fragmented control frame" :
			    "a control frame over 125 bytes";
			return -1;
		}
	}
	if (n < f->hlen)
		return 0;
	if (k > 0) {
		for (len = 0, i = 0; i < k; i++)
			len = len << 8 | p[2 + i];
		if (client && ((k == 2 && len < 126) ||
		    (k == 8 && len <= 0xffff))) {
			*why = "a length not in its shortest form";
			return -1;
		}
		if (client && (len >> 63) != 0) {
			*why = "a length with its top bit set";
			return -1;
		}
	}
	f->len = len;
	if (f->masked)
		memcpy(f->mask, p + 2 + k, 4);
	return 1;
}

int
wsf_utf8(const uint8_t *p, size_t n)
{
	size_t		 i = 0, k, j;
	uint32_t	 c, min;

	while (i < n) {
		c = p[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			k = 1; c &= 0x1f; min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			k = 2; c &= 0x0f; min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			k = 3; c &= 0x07; min = 0x10000;
		} else
			return 0;
		if (n - i - 1 < k)
			return 0;
		for (j = 1; j <= k; j++) {
			if ((p[i + j] & 0xc0) != 0x80)
				return 0;
			c = c << 6 | (p[i + j] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
		i += k + 1;
	}
	return 1;
}

void
wsf_unmask(uint8_t *dst, const uint8_t *p, size_t n, const uint8_t mask[4],
    uint64_t off)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		dst[i] = p[i] ^ mask[(off + i) & 3];
}

size_t
wsf_build(uint8_t *out, size_t outsize, int op, const void *payload,
    size_t n, const uint8_t *mask)
{
	size_t	 h = 2, i;

	if (n >= 126)
		h += n > 0xffff ? 8 : 2;
	if (mask != NULL)
		h += 4;
	if (outsize < h || outsize - h < n)
		return 0;
	out[0] = 0x80 | (op & 0x0f);
	if (n < 126)
		out[1] = n;
	else if (n <= 0xffff) {
		out[1] = 126;
		out[2] = n >> 8;
		out[3] = n & 0xff;
	} else {
		out[1] = 127;
		for (i = 0; i < 8; i++)
			out[2 + i] = (uint64_t)n >> (56 - 8 * i);
	}
	if (mask != NULL) {
		out[1] |= 0x80;
		memcpy(out + h - 4, mask, 4);
		wsf_unmask(out + h, payload, n, mask, 0);
	} else
		memcpy(out + h, payload, n);
	return h + n;
}

size_t
ws_strip_field(uint8_t *h, size_t n, const char *name)
{
	size_t	 pos, end, nl = strlen(name);
	uint8_t	*e;

	/* the request line stays */
	if ((e = memchr(h, '\n', n)) == NULL)
		return n;
	pos = e + 1 - h;
	while (pos < n) {
		if ((e = memchr(h + pos, '\n', n - pos)) == NULL)
			break;
		end = e + 1 - h;
		if (end - pos > nl && h[pos + nl] == ':' &&
		    strncasecmp((char *)h + pos, name, nl) == 0) {
			memmove(h + pos, h + end, n - end);
			n -= end - pos;
			continue;
		}
		pos = end;
	}
	return n;
}

static int
tchar(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

int
ws_subprotocols(const char *v, size_t len, unsigned int *bits, char *why,
    size_t whylen)
{
	size_t	 i = 0, s;

	for (;;) {
		while (i < len && (v[i] == ' ' || v[i] == '\t'))
			i++;
		s = i;
		while (i < len && v[i] != '\0' && tchar((unsigned char)v[i]))
			i++;
		if (i == s) {
			snprintf(why, whylen, "a Sec-WebSocket-Protocol that "
			    "is not a list of tokens");
			return -1;
		}
		if (i - s == 20 && strncmp(v + s, "graphql-transport-ws",
		    20) == 0)
			*bits |= WSG_TRANSPORT;
		else if (i - s == 10 && strncmp(v + s, "graphql-ws", 10) == 0)
			*bits |= WSG_LEGACY;
		else {
			snprintf(why, whylen, "websocket subprotocol %.*s is "
			    "not judged here (graphql-transport-ws, "
			    "graphql-ws)", (int)(i - s > 64 ? 64 : i - s),
			    v + s);
			return -1;
		}
		while (i < len && (v[i] == ' ' || v[i] == '\t'))
			i++;
		if (i == len)
			return 0;
		if (v[i] != ',') {
			snprintf(why, whylen, "a Sec-WebSocket-Protocol that "
			    "is not a list of tokens");
			return -1;
		}
		i++;
	}
}

/* buffers */

int
wsbuf_add(struct wsbuf *b, const void *p, size_t n)
{
	size_t	 sz;
	uint8_t	*nb;

	if (n == 0)
		return 0;
	if (b->off > 0 && b->off + b->len + n > b->size) {
		memmove(b->b, b->b + b->off, b->len);
		b->off = 0;
	}
	if (b->len + n > b->size) {
		sz = b->size ? b->size : 1024;
		while (sz < b->len + n)
			sz *= 2;
		if ((nb = realloc(b->b, sz)) == NULL)
			return -1;
		b->b = nb;
		b->size = sz;
	}
	memcpy(b->b + b->off + b->len, p, n);
	b->len += n;
	return 0;
}

void
wsbuf_consume(struct wsbuf *b, size_t n)
{
	b->off += n;
	b->len -= n;
	if (b->len == 0)
		wsbuf_free(b);
}

void
wsbuf_free(struct wsbuf *b)
{
	free(b->b);
	memset(b, 0, sizeof(*b));
}

/* the client's direction */

static int
bad(struct wsin *w, int code, char *why, size_t whylen, const char *fmt,
    const char *arg)
{
	w->code = code;
	snprintf(why, whylen, fmt, arg);
	return WSI_BAD;
}

/* a close frame's payload: empty, or a code and UTF-8 */
static const char *
close_payload(const uint8_t *p, size_t n)
{
	unsigned int	 code;

	if (n == 0)
		return NULL;
	if (n == 1)
		return "a close frame of 1 byte";
	code = p[0] << 8 | p[1];
	if (code < 1000 || code >= 5000 || code == 1004 || code == 1005 ||
	    code == 1006 || code == 1015 || (code > 1011 && code < 3000))
		return "a close code the client may not send";
	if (!wsf_utf8(p + 2, n - 2))
		return "a close reason that is not UTF-8";
	return NULL;
}

int
wsin_feed(struct wsin *w, const uint8_t *p, size_t n, size_t *used,
    char *why, size_t whylen)
{
	struct wsf	 f;
	uint8_t		 ctl[WS_CTRL_MAX];
	const char	*w1 = NULL;
	size_t		 i = 0, k;
	int		 rv, code;

	*used = 0;
	for (;;) {
		if (w->infr) {
			k = w->left < n - i ? (size_t)w->left : n - i;
			if (wsbuf_add(&w->raw, p + i, k) == -1 ||
			    wsbuf_add(&w->data, p + i, k) == -1)
				return bad(w, 1011, why, whylen, "%s",
				    "out of memory");
			wsf_unmask(w->data.b + w->data.off + w->data.len - k,
			    p + i, k, w->mask, w->moff);
			w->moff += k;
			w->left -= k;
			i += k;
			*used = i;
			if (w->left > 0)
				return WSI_MORE;
			w->infr = 0;
			if (w->fin) {
				if (!wsf_utf8(w->data.b + w->data.off,
				    w->data.len))
					return bad(w, 1007, why, whylen, "%s",
					    "a text message that is not "
					    "UTF-8");
				return WSI_MESSAGE;
			}
			continue;
		}
		if (i == n)
			return WSI_MORE;
		if (w->closed)
			return bad(w, 1002, why, whylen, "%s",
			    "a frame after the client's close");
		if ((rv = wsf_header(p + i, n - i, 1, &f, &w1, &code)) == -1)
			return bad(w, code, why, whylen, "%s", w1);
		if (rv == 0)
			return WSI_MORE;
		if (f.op >= WS_CLOSE) {
			/* whole, alone */
			if (n - i < f.hlen + f.len)
				return WSI_MORE;
			if (i > 0)
				return WSI_MORE;
			if (f.op == WS_CLOSE) {
				wsf_unmask(ctl, p + f.hlen, f.len, f.mask, 0);
				if ((w1 = close_payload(ctl, f.len)) != NULL)
					return bad(w, 1002, why, whylen, "%s",
					    w1);
				w->closed = 1;
			}
			w->ctlop = f.op;
			*used = f.hlen + f.len;
			return WSI_CONTROL;
		}
		if (f.op == WS_CONT && w->op == 0)
			return bad(w, 1002, why, whylen, "%s",
			    "a continuation frame and no message");
		if (f.op != WS_CONT && w->op != 0)
			return bad(w, 1002, why, whylen, "%s",
			    "a new message inside a fragmented one");
		if (f.op == WS_BINARY)
			return bad(w, 1003, why, whylen, "%s",
			    "a binary frame on a judged GraphQL endpoint");
		if (f.len > w->max || w->data.len > w->max - f.len) {
			w->code = 1009;
			snprintf(why, whylen, "a message over the %llu "
			    "bytes rules read", (unsigned long long)w->max);
			return WSI_BAD;
		}
		if (wsbuf_add(&w->raw, p + i, f.hlen) == -1)
			return bad(w, 1011, why, whylen, "%s",
			    "out of memory");
		if (f.op == WS_TEXT)
			w->op = WS_TEXT;
		memcpy(w->mask, f.mask, 4);
		w->moff = 0;
		w->left = f.len;
		w->fin = f.fin;
		w->infr = 1;
		i += f.hlen;
		*used = i;
	}
}

void
wsin_taken(struct wsin *w)
{
	wsbuf_free(&w->raw);
	wsbuf_free(&w->data);
	w->op = 0;
}

void
wsin_free(struct wsin *w)
{
	wsin_taken(w);
}

/* the server's direction */

size_t
wsout_pass(struct wsout *o, const uint8_t *p, size_t n, int stop)
{
	struct wsf	 f;
	const char	*why;
	size_t		 i = 0, k;
	int		 code;

	for (;;) {
		if (o->infr) {
			k = o->left < n - i ? (size_t)o->left : n - i;
			o->left -= k;
			i += k;
			if (o->left > 0)
				return i;
			o->infr = 0;
		}
		if (stop && !o->frag)
			return i;
		if (wsf_header(p + i, n - i, 0, &f, &why, &code) != 1)
			return i;
		if (f.op < WS_CLOSE)
			o->frag = !f.fin;
		o->left = f.len;
		o->infr = 1;
		i += f.hlen;
	}
}

int
wsout_between(const struct wsout *o)
{
	return !o->infr && !o->frag;
}

/* graphql-transport-ws and graphql-ws messages */

int
wsg_message(const uint8_t *data, size_t len, unsigned int proto, char **id,
    char **payload, char *why, size_t whylen)
{
	static const char *const transport[] = { "connection_init", "ping",
	    "pong", "complete", NULL };
	static const char *const legacy[] = { "connection_init", "stop",
	    "connection_terminate", NULL };
	const char *const *pass = proto == WSG_LEGACY ? legacy : transport;
	const char	*sub = proto == WSG_LEGACY ? "start" : "subscribe";
	json_t		*j, *t, *i, *pl;
	const char	*type;
	char		 w[200];
	size_t		 k;
	int		 rv = -1;

	*id = *payload = NULL;
	if ((j = jsonstrict_parse(data, len, JSONSTRICT_MAXDEPTH, w,
	    sizeof(w))) == NULL) {
		snprintf(why, whylen, "websocket message: %s", w);
		return -1;
	}
	if (!json_is_object(j) || !json_is_string(t = json_object_get(j,
	    "type"))) {
		snprintf(why, whylen, "websocket message: not an object with "
		    "a string type");
		goto out;
	}
	type = json_string_value(t);
	for (k = 0; pass[k] != NULL; k++)
		if (strcmp(type, pass[k]) == 0) {
			rv = WSG_PASS;
			goto out;
		}
	if (strcmp(type, sub) != 0) {
		snprintf(why, whylen, "websocket message: type %.40s is not "
		    "one the client sends", type);
		goto out;
	}
	i = json_object_get(j, "id");
	pl = json_object_get(j, "payload");
	if (!json_is_string(i) || json_string_length(i) == 0 ||
	    json_string_length(i) > 128 || !json_is_object(pl)) {
		snprintf(why, whylen, "websocket message: a %s without a "
		    "string id or an object payload", sub);
		goto out;
	}
	if ((*id = strdup(json_string_value(i))) == NULL ||
	    (*payload = json_dumps(pl, JSON_COMPACT)) == NULL) {
		free(*id);
		*id = NULL;
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	rv = WSG_JUDGE;
 out:
	json_decref(j);
	return rv;
}

static int
put_frame(struct wsbuf *b, int op, const char *p, size_t n)
{
	uint8_t	*f;
	size_t	 k;
	int	 rv;

	if ((f = malloc(n + WS_HDR_MAX)) == NULL)
		return -1;
	k = wsf_build(f, n + WS_HDR_MAX, op, p, n, NULL);
	rv = k == 0 ? -1 : wsbuf_add(b, f, k);
	free(f);
	return rv;
}

int
wsg_error(struct wsbuf *b, unsigned int proto, const char *id,
    const char *msg)
{
	json_t	*e, *o;
	char	*s, m[400];
	int	 rv;

	snprintf(m, sizeof(m), "lens proxy: %s", msg);
	e = json_pack("{s:s}", "message", m);
	if (e != NULL && proto != WSG_LEGACY)
		e = json_pack("[o]", e);
	if (e == NULL || (o = json_pack("{s:s,s:s,s:o}", "id", id, "type",
	    "error", "payload", e)) == NULL)
		return -1;
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s == NULL)
		return -1;
	rv = put_frame(b, WS_TEXT, s, strlen(s));
	free(s);
	return rv;
}

int
ws_close(struct wsbuf *b, int code, const char *reason)
{
	char	 p[WS_CTRL_MAX];
	size_t	 n;

	p[0] = code >> 8;
	p[1] = code & 0xff;
	n = strlen(reason);
	if (n > WS_CTRL_MAX - 2)
		n = WS_CTRL_MAX - 2;
	/* cut at a character's start */
	while (n > 0 && n < strlen(reason) &&
	    ((unsigned char)reason[n] & 0xc0) == 0x80)
		n--;
	memcpy(p + 2, reason, n);
	return put_frame(b, WS_CLOSE, p, n + 2);
}

/* the judged connection */

int
wsj_fail(struct wsj *j, int code, const char *why)
{
	j->dead = 1;
	strlcpy(j->why, why, sizeof(j->why));
	wsin_free(&j->in);
	(void)ws_close(&j->down, code, why);
	return -1;
}

int
wsj_client(struct wsj *j, const uint8_t *p, size_t n, size_t *used)
{
	char	 why[300], *id, *payload;
	size_t	 i = 0, u;
	int	 rv, ok;

	*used = 0;
	while (!j->dead && i < n) {
		rv = wsin_feed(&j->in, p + i, n - i, &u, why, sizeof(why));
		switch (rv) {
		case WSI_MORE:
			i += u;
			*used = i;
			if (u == 0)
				return 0;
			continue;
		case WSI_CONTROL:
			if (wsbuf_add(&j->up, p + i, u) == -1)
				return wsj_fail(j, 1011, "out of memory");
			i += u;
			*used = i;
			continue;
		case WSI_BAD:
			*used = i;
			return wsj_fail(j, j->in.code, why);
		}
		/* a whole text message */
		i += u;
		*used = i;
		rv = wsg_message(j->in.data.b + j->in.data.off,
		    j->in.data.len, j->proto, &id, &payload, why,
		    sizeof(why));
		if (rv == -1)
			return wsj_fail(j, WS_CLOSE_POLICY, why);
		ok = 1;
		if (rv == WSG_JUDGE) {
			ok = j->judge(j->arg, id, payload, why, sizeof(why));
			free(payload);
			if (!ok && ++j->offences >= WS_OFFENCES) {
				free(id);
				return wsj_fail(j, WS_CLOSE_POLICY, why);
			}
			if (!ok && wsg_error(&j->down, j->proto, id, why) ==
			    -1) {
				free(id);
				return wsj_fail(j, 1011, "out of memory");
			}
			free(id);
		}
		if (ok && wsbuf_add(&j->up, j->in.raw.b + j->in.raw.off,
		    j->in.raw.len) == -1)
			return wsj_fail(j, 1011, "out of memory");
		wsin_taken(&j->in);
	}
	return j->dead ? -1 : 0;
}

void
wsj_free(struct wsj *j)
{
	wsin_free(&j->in);
	wsbuf_free(&j->up);
	wsbuf_free(&j->down);
}
