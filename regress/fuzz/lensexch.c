/*
 * libFuzzer target for the exchange stream's decoders (common/
 * lensexch.c): what a compromised proxy or exchange could send.
 *
 * Input: byte 0 picks the message (head, response, body, end, error,
 * IMSG_CRED_EXCHANGE), the rest is its payload.  A decoder may refuse
 * (and then says why) but never crashes or reads past the payload.
 * What one takes is encoded again by the encoder, which must take it
 * too (the two agree on every rule), and that encoding must decode to
 * the same message: strings, lengths, headers, framing.
 */
#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lensexch.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct imsgbuf	 w, r;
static int		 ready;
static struct exch_msg_head h1, h2;
static struct exch_msg_resp r1, r2;

static void
setup(void)
{
	int	 sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		abort();
	imsg_init(&w, sv[0]);
	imsg_init(&r, sv[1]);
	ready = 1;
}

/* what was queued on w, taken from r */
static struct imsg
again(void)
{
	struct imsg	 im;

	if (imsg_flush(&w) == -1 || imsg_recv_one(&r, 1000, &im) != 1)
		abort();
	return im;
}

static void
same_hdrs(const struct exch_hdr *a, const struct exch_hdr *b, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (a[i].nlen != b[i].nlen || a[i].vlen != b[i].vlen ||
		    memcmp(a[i].name, b[i].name, a[i].nlen + 1) != 0 ||
		    memcmp(a[i].value, b[i].value, a[i].vlen + 1) != 0)
			abort();
}

static void
head(const uint8_t *p, size_t len)
{
	char		 why[256];
	struct imsg	 im;

	why[0] = '\0';
	if (exch_get_head(p, len, &h1, why, sizeof(why)) == -1) {
		if (why[0] == '\0')
			abort();
		return;
	}
	if (h1.method[h1.mlen] != '\0' || h1.target[0] != '/' ||
	    h1.nhdr > EXCH_MAXHDR)
		abort();
	if (exch_put_head(&w, &h1, why, sizeof(why)) == -1)
		abort();
	im = again();
	if (im.datalen != len || memcmp(im.data, p, len) != 0 ||
	    exch_get_head(im.data, im.datalen, &h2, why, sizeof(why)) == -1)
		abort();
	if (h1.mlen != h2.mlen || strcmp(h1.method, h2.method) != 0 ||
	    h1.tlen != h2.tlen || strcmp(h1.target, h2.target) != 0 ||
	    h1.nhdr != h2.nhdr || h1.body != h2.body ||
	    h1.length != h2.length)
		abort();
	same_hdrs(h1.hdr, h2.hdr, h1.nhdr);
	imsg_free(&im);
}

static void
resp(const uint8_t *p, size_t len)
{
	char		 why[256];
	struct imsg	 im;

	why[0] = '\0';
	if (exch_get_resp(p, len, &r1, why, sizeof(why)) == -1) {
		if (why[0] == '\0')
			abort();
		return;
	}
	if (r1.status < 200 || r1.status > 599 || r1.reason[r1.rlen] != '\0')
		abort();
	if (exch_put_resp(&w, &r1, why, sizeof(why)) == -1)
		abort();
	im = again();
	if (im.datalen != len || memcmp(im.data, p, len) != 0 ||
	    exch_get_resp(im.data, im.datalen, &r2, why, sizeof(why)) == -1)
		abort();
	if (r1.status != r2.status || strcmp(r1.reason, r2.reason) != 0 ||
	    r1.nhdr != r2.nhdr || r1.body != r2.body || r1.length != r2.length)
		abort();
	same_hdrs(r1.hdr, r2.hdr, r1.nhdr);
	imsg_free(&im);
}

static void
error(const uint8_t *p, size_t len)
{
	struct exch_error e, e2;
	char		 why[256];
	struct imsg	 im;

	why[0] = '\0';
	if (exch_get_error(p, len, &e, why, sizeof(why)) == -1) {
		if (why[0] == '\0')
			abort();
		return;
	}
	if (exch_put_error(&w, e.status, e.msg, why, sizeof(why)) == -1)
		abort();
	im = again();
	if (exch_get_error(im.data, im.datalen, &e2, why, sizeof(why)) == -1 ||
	    e2.status != e.status || strcmp(e2.msg, e.msg) != 0)
		abort();
	imsg_free(&im);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	 why[256];
	uint8_t	*p;
	size_t	 len;

	if (size < 1 || size > 2 * EXCH_HEAD_MAX + 1)
		return 0;
	if (!ready)
		setup();
	/* an exact copy: ASan sees a read one byte past the payload */
	len = size - 1;
	if ((p = malloc(len > 0 ? len : 1)) == NULL)
		return 0;
	memcpy(p, data + 1, len);
	why[0] = '\0';
	switch (data[0] % 6) {
	case 0:
		head(p, len);
		break;
	case 1:
		resp(p, len);
		break;
	case 2:
		if (exch_get_body(len > 0 ? p : NULL, len, why,
		    sizeof(why)) == -1 && why[0] == '\0')
			abort();
		break;
	case 3:
		if (exch_get_end(p, len, why, sizeof(why)) == -1 &&
		    why[0] == '\0')
			abort();
		break;
	case 4:
		error(p, len);
		break;
	case 5:
		if (exch_cred_check(p, len, why, sizeof(why)) == -1 &&
		    why[0] == '\0')
			abort();
		break;
	}
	free(p);
	return 0;
}
