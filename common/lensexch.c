/*
 * The exchange stream's codec (common/lensexch.h) and the check of
 * IMSG_CRED_EXCHANGE.  Pure: nothing here logs, allocates or dies, and
 * every decoder takes any bytes (regress/fuzz/lensexch.c).
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "grammar.h"
#include "lensexch.h"
#include "phscan.h"

_Static_assert(sizeof(struct exch_head) == 24, "exch_head layout");
_Static_assert(sizeof(struct exch_resp) == 16, "exch_resp layout");
_Static_assert(sizeof(struct exch_error) % 8 == 0, "exch_error layout");
_Static_assert(sizeof(struct cred_exchange) % 8 == 0, "cred_exchange pad");
_Static_assert(sizeof(struct cred_exchange) == 1888, "cred_exchange layout");
_Static_assert(CRED_PH_SIZE == PH_SIZE, "placeholder size");
_Static_assert(EXCH_HEAD_MAX <= IMSG_MAXPAYLOAD, "head fits an imsg");

static int __attribute__((format(printf, 3, 4)))
fail(char *why, size_t len, const char *fmt, ...)
{
	va_list	 ap;

	if (why != NULL && len > 0) {
		va_start(ap, fmt);
		vsnprintf(why, len, fmt, ap);
		va_end(ap);
	}
	return -1;
}

int
exch_token(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') ||
		    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL)))
			return 0;
	}
	return 1;
}

static int
eqi(const char *s, size_t len, const char *lit)
{
	return strlen(lit) == len && strncasecmp(s, lit, len) == 0;
}

int
exch_hopbyhop(const char *name, size_t nlen)
{
	static const char *const hop[] = { "Connection", "Keep-Alive", "TE",
	    "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length",
	    NULL };
	size_t	 i;

	for (i = 0; hop[i] != NULL; i++)
		if (eqi(name, nlen, hop[i]))
			return 1;
	return nlen >= 6 && strncasecmp(name, "Proxy-", 6) == 0;
}

/* a field value or reason: no control character but HTAB */
static int
fieldtext(const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		unsigned char c = s[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return 0;
	}
	return 1;
}

static int
target_ok(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0 || s[0] != '/')
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

static int
zero(const void *p, size_t len)
{
	const uint8_t	*b = p;
	size_t		 i;

	for (i = 0; i < len; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

static int
body_ok(int body, uint64_t length, char *why, size_t wlen)
{
	if (body != EXCH_BODY_NONE && body != EXCH_BODY_LENGTH &&
	    body != EXCH_BODY_STREAM)
		return fail(why, wlen, "body framing %d unknown", body);
	if (body != EXCH_BODY_LENGTH && length != 0)
		return fail(why, wlen, "a length without a length body");
	return 0;
}

/* the headers both heads share; i names the header in why */
static int
hdrs_ok(const struct exch_hdr *h, size_t n, int request, char *why,
    size_t wlen)
{
	size_t	 i, nhost = 0;

	if (n > EXCH_MAXHDR)
		return fail(why, wlen, "%zu headers, more than %d", n,
		    EXCH_MAXHDR);
	for (i = 0; i < n; i++) {
		if (h[i].nlen > UINT16_MAX || h[i].vlen > UINT16_MAX)
			return fail(why, wlen, "header %zu too long", i);
		if (!exch_token(h[i].name, h[i].nlen))
			return fail(why, wlen, "header %zu: name not a token",
			    i);
		if (!fieldtext(h[i].value, h[i].vlen))
			return fail(why, wlen, "header %zu (%.*s): control "
			    "character in the value", i, (int)h[i].nlen,
			    h[i].name);
		if (exch_hopbyhop(h[i].name, h[i].nlen))
			return fail(why, wlen, "header %zu: %.*s is hop-by-hop "
			    "or framing", i, (int)h[i].nlen, h[i].name);
		if (request && eqi(h[i].name, h[i].nlen, "Host") &&
		    ++nhost > 1)
			return fail(why, wlen, "more than one Host header");
	}
	return 0;
}

static size_t
hdrs_size(const struct exch_hdr *h, size_t n)
{
	size_t	 i, sz = 0;

	for (i = 0; i < n; i++)
		sz += 4 + h[i].nlen + h[i].vlen;
	return sz;
}

static int
hdrs_add(struct ibuf *b, const struct exch_hdr *h, size_t n)
{
	uint16_t	 l[2];
	size_t		 i;

	for (i = 0; i < n; i++) {
		l[0] = h[i].nlen;
		l[1] = h[i].vlen;
		if (imsg_add(b, l, sizeof(l)) == -1 ||
		    imsg_add(b, h[i].name, h[i].nlen) == -1 ||
		    imsg_add(b, h[i].value, h[i].vlen) == -1)
			return -1;
	}
	return 0;
}

static int
queue_fail(char *why, size_t wlen)
{
	return fail(why, wlen, "cannot queue the message: %s",
	    strerror(errno));
}

int
exch_put_head(struct imsgbuf *ib, const struct exch_msg_head *m,
    char *why, size_t wlen)
{
	struct exch_head h;
	struct ibuf	*b;
	size_t		 sz;

	if (m->mlen > EXCH_METHOD_MAX || !exch_token(m->method, m->mlen))
		return fail(why, wlen, "method not a token of 1 to %d bytes",
		    EXCH_METHOD_MAX);
	if (m->tlen > UINT16_MAX || !target_ok(m->target, m->tlen))
		return fail(why, wlen, "target not origin form in visible "
		    "ASCII");
	if (hdrs_ok(m->hdr, m->nhdr, 1, why, wlen) == -1 ||
	    body_ok(m->body, m->length, why, wlen) == -1)
		return -1;
	sz = sizeof(h) + m->mlen + m->tlen + hdrs_size(m->hdr, m->nhdr);
	if (sz > EXCH_HEAD_MAX)
		return fail(why, wlen, "head of %zu bytes, more than %d", sz,
		    EXCH_HEAD_MAX);
	memset(&h, 0, sizeof(h));
	h.mlen = m->mlen;
	h.tlen = m->tlen;
	h.nhdr = m->nhdr;
	h.body = m->body;
	h.length = m->length;
	if ((b = imsg_create(ib, EXCH_REQ_HEAD, 0, 0, sz)) == NULL)
		return queue_fail(why, wlen);
	if (imsg_add(b, &h, sizeof(h)) == -1 ||
	    imsg_add(b, m->method, m->mlen) == -1 ||
	    imsg_add(b, m->target, m->tlen) == -1 ||
	    hdrs_add(b, m->hdr, m->nhdr) == -1) {
		imsg_abort(b);
		return queue_fail(why, wlen);
	}
	imsg_close(ib, b);
	return 0;
}

int
exch_put_resp(struct imsgbuf *ib, const struct exch_msg_resp *m,
    char *why, size_t wlen)
{
	struct exch_resp h;
	struct ibuf	*b;
	size_t		 sz;

	if (m->status < 200 || m->status > 599)
		return fail(why, wlen, "status %d not 200 to 599", m->status);
	if (m->rlen > UINT16_MAX || !fieldtext(m->reason, m->rlen))
		return fail(why, wlen, "control character in the reason");
	if (hdrs_ok(m->hdr, m->nhdr, 0, why, wlen) == -1 ||
	    body_ok(m->body, m->length, why, wlen) == -1)
		return -1;
	sz = sizeof(h) + m->rlen + hdrs_size(m->hdr, m->nhdr);
	if (sz > EXCH_HEAD_MAX)
		return fail(why, wlen, "head of %zu bytes, more than %d", sz,
		    EXCH_HEAD_MAX);
	memset(&h, 0, sizeof(h));
	h.status = m->status;
	h.rlen = m->rlen;
	h.nhdr = m->nhdr;
	h.body = m->body;
	h.length = m->length;
	if ((b = imsg_create(ib, EXCH_RESP_HEAD, 0, 0, sz)) == NULL)
		return queue_fail(why, wlen);
	if (imsg_add(b, &h, sizeof(h)) == -1 ||
	    imsg_add(b, m->reason, m->rlen) == -1 ||
	    hdrs_add(b, m->hdr, m->nhdr) == -1) {
		imsg_abort(b);
		return queue_fail(why, wlen);
	}
	imsg_close(ib, b);
	return 0;
}

int
exch_put_body(struct imsgbuf *ib, uint32_t type, const void *p, size_t len,
    char *why, size_t wlen)
{
	if (type != EXCH_REQ_BODY && type != EXCH_RESP_BODY)
		return fail(why, wlen, "not a body message type");
	if (exch_get_body(p, len, why, wlen) == -1)
		return -1;
	if (imsg_compose(ib, type, 0, 0, -1, p, len) == -1)
		return queue_fail(why, wlen);
	return 0;
}

int
exch_put_end(struct imsgbuf *ib, uint32_t type, char *why, size_t wlen)
{
	if (type != EXCH_REQ_END && type != EXCH_RESP_END)
		return fail(why, wlen, "not an end message type");
	if (imsg_compose(ib, type, 0, 0, -1, NULL, 0) == -1)
		return queue_fail(why, wlen);
	return 0;
}

static int
status_ok(int status)
{
	return status == 403 || status == 502 || status == 504;
}

int
exch_put_error(struct imsgbuf *ib, int status, const char *msg, char *why,
    size_t wlen)
{
	struct exch_error e;
	size_t		 i;

	if (!status_ok(status))
		return fail(why, wlen, "error status %d not 403, 502 or 504",
		    status);
	memset(&e, 0, sizeof(e));
	e.status = status;
	strlcpy(e.msg, msg, sizeof(e.msg));
	for (i = 0; e.msg[i] != '\0'; i++)
		if ((unsigned char)e.msg[i] < 0x20 ||
		    (unsigned char)e.msg[i] == 0x7f)
			e.msg[i] = '?';
	if (e.msg[0] == '\0')
		return fail(why, wlen, "an error without a message");
	if (imsg_compose(ib, EXCH_ERROR, 0, 0, -1, &e, sizeof(e)) == -1)
		return queue_fail(why, wlen);
	return 0;
}

/*
 * Take nhdr headers from p (len bytes, all of them), copying each name
 * and value NUL-terminated to *st (room bytes left).
 */
static int
hdrs_get(const uint8_t *p, size_t len, size_t nhdr, struct exch_hdr *h,
    char **st, size_t *room, char *why, size_t wlen)
{
	uint16_t	 l[2];
	size_t		 i, off = 0;

	if (nhdr > EXCH_MAXHDR)
		return fail(why, wlen, "%zu headers, more than %d", nhdr,
		    EXCH_MAXHDR);
	for (i = 0; i < nhdr; i++) {
		if (len - off < sizeof(l))
			return fail(why, wlen, "header %zu cut short", i);
		memcpy(l, p + off, sizeof(l));
		off += sizeof(l);
		if (len - off < (size_t)l[0] + l[1])
			return fail(why, wlen, "header %zu cut short", i);
		if (*room < (size_t)l[0] + l[1] + 2)
			return fail(why, wlen, "headers too long");
		h[i].name = *st;
		h[i].nlen = l[0];
		memcpy(*st, p + off, l[0]);
		(*st)[l[0]] = '\0';
		*st += l[0] + 1;
		off += l[0];
		h[i].value = *st;
		h[i].vlen = l[1];
		memcpy(*st, p + off, l[1]);
		(*st)[l[1]] = '\0';
		*st += l[1] + 1;
		off += l[1];
		*room -= (size_t)l[0] + l[1] + 2;
	}
	if (off != len)
		return fail(why, wlen, "%zu bytes after the headers",
		    len - off);
	return 0;
}

int
exch_get_head(const void *payload, size_t len, struct exch_msg_head *m,
    char *why, size_t wlen)
{
	const uint8_t	*p = payload;
	struct exch_head h;
	char		*st = m->store;
	size_t		 room = sizeof(m->store), off;

	if (len < sizeof(h))
		return fail(why, wlen, "request head of %zu bytes, shorter "
		    "than its header", len);
	if (len > EXCH_HEAD_MAX)
		return fail(why, wlen, "request head of %zu bytes, more than "
		    "%d", len, EXCH_HEAD_MAX);
	memcpy(&h, p, sizeof(h));
	if (h.pad != 0 || !zero(h.pad2, sizeof(h.pad2)))
		return fail(why, wlen, "request head: pad not zero");
	if (body_ok(h.body, h.length, why, wlen) == -1)
		return -1;
	off = sizeof(h);
	if (h.mlen == 0 || h.mlen > EXCH_METHOD_MAX || len - off < h.mlen ||
	    !exch_token((const char *)p + off, h.mlen))
		return fail(why, wlen, "method not a token of 1 to %d bytes",
		    EXCH_METHOD_MAX);
	m->method = st;
	m->mlen = h.mlen;
	memcpy(st, p + off, h.mlen);
	st[h.mlen] = '\0';
	st += h.mlen + 1;
	room -= h.mlen + 1;
	off += h.mlen;
	if (len - off < h.tlen || !target_ok((const char *)p + off, h.tlen))
		return fail(why, wlen, "target not origin form in visible "
		    "ASCII");
	m->target = st;
	m->tlen = h.tlen;
	memcpy(st, p + off, h.tlen);
	st[h.tlen] = '\0';
	st += h.tlen + 1;
	room -= h.tlen + 1;
	off += h.tlen;
	if (hdrs_get(p + off, len - off, h.nhdr, m->hdr, &st, &room, why,
	    wlen) == -1)
		return -1;
	m->nhdr = h.nhdr;
	m->body = h.body;
	m->length = h.length;
	return hdrs_ok(m->hdr, m->nhdr, 1, why, wlen);
}

int
exch_get_resp(const void *payload, size_t len, struct exch_msg_resp *m,
    char *why, size_t wlen)
{
	const uint8_t	*p = payload;
	struct exch_resp h;
	char		*st = m->store;
	size_t		 room = sizeof(m->store), off;

	if (len < sizeof(h))
		return fail(why, wlen, "response head of %zu bytes, shorter "
		    "than its header", len);
	if (len > EXCH_HEAD_MAX)
		return fail(why, wlen, "response head of %zu bytes, more "
		    "than %d", len, EXCH_HEAD_MAX);
	memcpy(&h, p, sizeof(h));
	if (h.pad != 0)
		return fail(why, wlen, "response head: pad not zero");
	if (h.status < 200 || h.status > 599)
		return fail(why, wlen, "status %u not 200 to 599", h.status);
	if (body_ok(h.body, h.length, why, wlen) == -1)
		return -1;
	off = sizeof(h);
	if (len - off < h.rlen || !fieldtext((const char *)p + off, h.rlen))
		return fail(why, wlen, "reason cut short or with a control "
		    "character");
	m->reason = st;
	m->rlen = h.rlen;
	memcpy(st, p + off, h.rlen);
	st[h.rlen] = '\0';
	st += h.rlen + 1;
	room -= h.rlen + 1;
	off += h.rlen;
	if (hdrs_get(p + off, len - off, h.nhdr, m->hdr, &st, &room, why,
	    wlen) == -1)
		return -1;
	m->status = h.status;
	m->nhdr = h.nhdr;
	m->body = h.body;
	m->length = h.length;
	return hdrs_ok(m->hdr, m->nhdr, 0, why, wlen);
}

int
exch_get_body(const void *p, size_t len, char *why, size_t wlen)
{
	if (p == NULL || len == 0)
		return fail(why, wlen, "an empty body message");
	if (len > EXCH_BODY_MAX)
		return fail(why, wlen, "body message of %zu bytes, more than "
		    "%d", len, EXCH_BODY_MAX);
	return 0;
}

int
exch_get_end(const void *p, size_t len, char *why, size_t wlen)
{
	(void)p;
	if (len != 0)
		return fail(why, wlen, "end message with %zu bytes", len);
	return 0;
}

int
exch_get_error(const void *p, size_t len, struct exch_error *e, char *why,
    size_t wlen)
{
	size_t	 i;

	if (len != sizeof(*e))
		return fail(why, wlen, "error message of %zu bytes, not %zu",
		    len, sizeof(*e));
	memcpy(e, p, sizeof(*e));
	if (!zero(e->pad, sizeof(e->pad)))
		return fail(why, wlen, "error message: pad not zero");
	if (!status_ok(e->status))
		return fail(why, wlen, "error status %u not 403, 502 or 504",
		    e->status);
	if (memchr(e->msg, '\0', sizeof(e->msg)) == NULL)
		return fail(why, wlen, "error text not NUL-terminated");
	if (e->msg[0] == '\0')
		return fail(why, wlen, "error without a text");
	for (i = 0; e->msg[i] != '\0'; i++)
		if ((unsigned char)e->msg[i] < 0x20 ||
		    (unsigned char)e->msg[i] == 0x7f)
			return fail(why, wlen, "control character in the "
			    "error text");
	return 0;
}

/* a NUL-terminated string of at most size - 1 bytes, rest NUL */
static int
cstr(const char *s, size_t size)
{
	const char	*nul;

	if ((nul = memchr(s, '\0', size)) == NULL)
		return 0;
	return zero(nul, size - (nul - s));
}

static int
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

/* an address in the one spelling inet_ntop gives it */
static int
canon_ip(const char *s)
{
	unsigned char	 a[16];
	char		 back[INET6_ADDRSTRLEN];
	int		 af = strchr(s, ':') != NULL ? AF_INET6 : AF_INET;

	return inet_pton(af, s, a) == 1 &&
	    inet_ntop(af, a, back, sizeof(back)) != NULL &&
	    strcmp(back, s) == 0;
}

static int
addr_ok(uint8_t family, const uint8_t addr[16])
{
	if (family == AF_INET)
		return zero(addr + 4, 12) && !zero(addr, 4);
	if (family == AF_INET6)
		return !zero(addr, 16);
	return 0;
}

int
exch_cred_check(const void *p, size_t len, char *why, size_t wlen)
{
	struct cred_exchange	 c;
	char			 err[GR_ERRSIZE];
	size_t			 ntypes;
	struct {
		const char	*field, *s;
		size_t		 size;
	} str[] = {
		{ "sandbox", c.sandbox, sizeof(c.sandbox) },
		{ "cred", c.cred, sizeof(c.cred) },
		{ "placeholder", c.placeholder, sizeof(c.placeholder) },
		{ "host", c.host, sizeof(c.host) },
		{ "inj_name", c.inj_name, sizeof(c.inj_name) },
		{ "inj_value", c.inj_value, sizeof(c.inj_value) },
		{ "region", c.region, sizeof(c.region) },
		{ "service", c.service, sizeof(c.service) },
		{ "token_url", c.token_url, sizeof(c.token_url) },
		{ "client_id", c.client_id, sizeof(c.client_id) },
	};
	size_t			 i;

	if (len < sizeof(c))
		return fail(why, wlen, "exchange request of %zu bytes, shorter "
		    "than %zu", len, sizeof(c));
	memcpy(&c, p, sizeof(c));
	if (c.calen > CRED_PEM_MAX)
		return fail(why, wlen, "caFile PEM of %u bytes, more than %d",
		    c.calen, CRED_PEM_MAX);
	if (len != sizeof(c) + c.calen)
		return fail(why, wlen, "exchange request of %zu bytes, not "
		    "%zu and its %u PEM bytes", len, sizeof(c), c.calen);
	if (c.pad0 != 0 || c.pad1 != 0 || !zero(c.pad2, sizeof(c.pad2)))
		return fail(why, wlen, "exchange request: pad not zero");
	for (i = 0; i < sizeof(str) / sizeof(str[0]); i++) {
		if (!cstr(str[i].s, str[i].size))
			return fail(why, wlen, "%s not NUL-terminated and "
			    "NUL-padded", str[i].field);
		if (!printable(str[i].s))
			return fail(why, wlen, "%s: a byte that is not "
			    "printable ASCII", str[i].field);
	}
	if (gr_ref("sandbox", c.sandbox, err, sizeof(err)) == -1 ||
	    gr_cred("cred", c.cred, err, sizeof(err)) == -1)
		return fail(why, wlen, "%s", err);
	if (!ph_valid(c.placeholder, strlen(c.placeholder)))
		return fail(why, wlen, "placeholder not one lenscredd makes");
	if (!canon_ip(c.host) &&
	    gr_hostname("host", c.host, err, sizeof(err)) == -1)
		return fail(why, wlen, "%s", err);
	if (c.port == 0)
		return fail(why, wlen, "port 0");
	if (!addr_ok(c.family, c.addr))
		return fail(why, wlen, "upstream address: family %u or the "
		    "address not valid", c.family);
	for (ntypes = 0; gr_inj_names[ntypes] != NULL; ntypes++)
		;
	if (c.inj_type >= ntypes)
		return fail(why, wlen, "injection type %u unknown",
		    c.inj_type);
	if (c.token_family == 0) {
		if (!zero(c.token_addr, sizeof(c.token_addr)) ||
		    c.token_port != 0)
			return fail(why, wlen, "token address without a "
			    "family");
	} else if (!addr_ok(c.token_family, c.token_addr) ||
	    c.token_port == 0)
		return fail(why, wlen, "token endpoint: family %u, address "
		    "or port not valid", c.token_family);
	if (c.calen > 0 && memchr((const uint8_t *)p + sizeof(c), '\0',
	    c.calen) != NULL)
		return fail(why, wlen, "caFile PEM holds a NUL byte");
	return 0;
}
