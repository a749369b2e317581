/*
 * libFuzzer target for common/peek.c's HTTP/1.1 response parser
 * (peek_http_response), the response head rewrite and the response
 * body framing, as the proxy uses them on a keep-alive upstream: the
 * first input byte says how the rest is cut into reads and whether the
 * request was HEAD; each response head is parsed, rewritten as the
 * proxy sends it on, and its body framed piece by piece.  Checks what
 * the results promise: a reason with every BAD, offsets inside the
 * input, a status in 100-599, never both framings; the rewritten head
 * parses again to the same status and framing (what the client frames
 * is what the proxy framed), whatever Connection it was given; a body
 * found complete in pieces ends at the same byte as in one piece.
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "peek.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static long
body_end(const struct peek_response *r, const uint8_t *p, size_t len,
    size_t step)
{
	struct peek_body b;
	const char	*why;
	size_t		 pos, n, used;
	enum peek_result rv;

	peek_body_init_response(&b, r);
	for (pos = 0; pos < len || pos == 0; pos += n) {
		n = len - pos < step ? len - pos : step;
		used = (size_t)-1;
		rv = peek_body(&b, p + pos, n, &used, &why);
		if (rv == PEEK_BAD) {
			if (why == NULL)
				abort();
			return -1;
		}
		if (used > n)
			abort();
		if (rv == PEEK_FOUND)
			return (long)(pos + used);
		if (used != n)
			abort();
		if (n == 0)
			break;
	}
	return -2;	/* needs more */
}

static void
roundtrip(const uint8_t *buf, const struct peek_response *r,
    const char *connection)
{
	static uint8_t		 out[PEEK_MAX + 64];
	struct peek_response	 r2;
	const char		*why;
	size_t			 n;

	n = peek_response_rewrite(buf, r, connection, out, sizeof(out));
	if (n == 0 || n > sizeof(out))
		return;		/* no room: the proxy refuses it */
	if (n > r->headlen + 64)
		abort();
	if (peek_http_response(out, n, &r2, &why) != PEEK_FOUND ||
	    r2.headlen != n || r2.status != r->status ||
	    r2.minor != r->minor || r2.chunked != r->chunked ||
	    r2.has_clen != r->has_clen || r2.clen != r->clen)
		abort();
	if (connection != NULL && strcmp(connection, "close") == 0 &&
	    !r2.conn_close)
		abort();
	if (connection == NULL && (r2.conn_close || r2.conn_keepalive ||
	    r2.upgrade))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	struct peek_response r;
	const char	*why;
	size_t		 step, off;
	long		 e1, e2;
	int		 n, head;

	if (len < 1)
		return 0;
	step = 1 + buf[0] % 17;
	head = buf[0] & 0x80;
	buf++, len--;
	for (off = 0, n = 0; off < len && n < 64; n++) {
		switch (peek_http_response(buf + off, len - off, &r, &why)) {
		case PEEK_BAD:
			if (why == NULL)
				abort();
			return 0;
		case PEEK_NEED_MORE:
			return 0;
		default:
			break;
		}
		if (r.headlen == 0 || r.headlen > len - off ||
		    r.status < 100 || r.status > 599 ||
		    (r.chunked && r.has_clen))
			abort();
		roundtrip(buf + off, &r, NULL);
		roundtrip(buf + off, &r, "close");
		roundtrip(buf + off, &r, "upgrade");
		off += r.headlen;
		if (r.status < 200 || r.status == 204 || r.status == 304 ||
		    head)
			continue;
		if (!r.chunked && !r.has_clen)
			return 0;	/* to the upstream's close */
		e1 = body_end(&r, buf + off, len - off, step);
		e2 = body_end(&r, buf + off, len - off, len - off + 1);
		if (e1 != e2)
			abort();
		if (e1 < 0)
			return 0;
		off += (size_t)e1;
	}
	return 0;
}
