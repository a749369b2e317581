/*
 * libFuzzer target for common/peek.c's HTTP/1.1 request parser and
 * chunked decoder, as the proxy uses them on a keep-alive connection:
 * the first input byte picks how the rest is cut into reads; each
 * request head is parsed, its body fed piece by piece to peek_body,
 * and the next request starts where the body ended.  Checks what the
 * results promise: offsets inside the input, a reason with every BAD,
 * progress on every FOUND, and that a body found complete in pieces is
 * found complete at the same byte in one piece.
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "peek.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* where the body starting at p ends, fed in pieces of step; -1 bad */
static long
body_end(const struct peek_http *h, const uint8_t *p, size_t len,
    size_t step)
{
	struct peek_body b;
	const char	*why;
	size_t		 pos, n, used;
	enum peek_result r;

	peek_body_init(&b, h);
	for (pos = 0; pos < len || pos == 0; pos += n) {
		n = len - pos < step ? len - pos : step;
		used = (size_t)-1;
		r = peek_body(&b, p + pos, n, &used, &why);
		if (r == PEEK_BAD) {
			if (why == NULL)
				abort();
			return -1;
		}
		if (used > n)
			abort();
		if (r == PEEK_FOUND)
			return (long)(pos + used);
		if (used != n)
			abort();
		if (n == 0)
			break;
	}
	return -2;	/* needs more */
}

int
LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	struct peek_http h;
	const char	*why;
	size_t		 step, off;
	long		 e1, e2;
	int		 nreq;

	if (len < 1)
		return 0;
	step = 1 + buf[0] % 17;
	buf++, len--;
	for (off = 0, nreq = 0; off < len && nreq < 64; nreq++) {
		switch (peek_http(buf + off, len - off, &h, &why)) {
		case PEEK_BAD:
			if (why == NULL)
				abort();
			return 0;
		case PEEK_NEED_MORE:
			return 0;
		case PEEK_FOUND:
		case PEEK_NONE:
			break;
		}
		if (h.headlen == 0 || h.headlen > len - off ||
		    h.target_off + h.target_len > h.headlen ||
		    h.method[0] == '\0' || (h.chunked && h.has_clen))
			abort();
		off += h.headlen;
		e1 = body_end(&h, buf + off, len - off, step);
		e2 = body_end(&h, buf + off, len - off, len - off + 1);
		if (e1 != e2)
			abort();
		if (e1 < 0)
			return 0;
		off += (size_t)e1;
	}
	return 0;
}
