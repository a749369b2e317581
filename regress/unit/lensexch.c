/*
 * Unit test of common/lensexch.c (TAP): every message of the exchange
 * stream through a real socketpair and back (encoder, imsg framing,
 * decoder), and what each decoder must refuse when a hostile peer
 * writes the bytes itself: short and long payloads, lengths that point
 * past the end, bytes after the last header, bad method, target, names
 * and values (CR, LF, NUL, DEL), hop-by-hop and framing headers, two
 * Host headers, more than EXCH_MAXHDR headers, unknown body framing, a
 * length without a length body, pad bytes, statuses; and
 * IMSG_CRED_EXCHANGE's check (every string, address, type, calen).
 */
#include <sys/socket.h>

#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lensexch.h"
#include "phscan.h"
#include "policy_int.h"
#include "tap.h"

static struct imsgbuf	 a, b;
static char		 why[512];

#define H(n, v)	{ n, v, sizeof(n) - 1, sizeof(v) - 1 }

/* send what is queued on a, take one message from b */
static int
roundtrip(struct imsg *im)
{
	if (imsg_flush(&a) == -1)
		return -1;
	return imsg_recv_one(&b, 2000, im) == 1 ? 0 : -1;
}

/* a raw payload of type t as a hostile peer writes it */
static int
raw(uint32_t t, const void *p, size_t len, struct imsg *im)
{
	if (imsg_compose(&a, t, 0, 0, -1, p, len) == -1)
		return -1;
	return roundtrip(im);
}

static struct exch_msg_head	 mh, gh;
static struct exch_msg_resp	 mr, gr;

static void
head_default(void)
{
	static const struct exch_hdr hdr[] = {
		H("Host", "api.test"),
		H("Authorization", "Bearer lens-ph-x"),
		H("X-Empty", ""),
		H("Accept", "*/*\tq=1 \x80\xff"),
	};

	memset(&mh, 0, sizeof(mh));
	mh.method = "POST";
	mh.mlen = 4;
	mh.target = "/v1/items?q=a%20b";
	mh.tlen = strlen(mh.target);
	mh.nhdr = 4;
	memcpy(mh.hdr, hdr, sizeof(hdr));
	mh.body = EXCH_BODY_LENGTH;
	mh.length = 5;
}

/* the encoded payload of mh, built by hand */
static size_t
encode(uint8_t *out, const struct exch_msg_head *m)
{
	struct exch_head h = { 0 };
	size_t		 o = 0, i;
	uint16_t	 l[2];

	h.mlen = m->mlen;
	h.tlen = m->tlen;
	h.nhdr = m->nhdr;
	h.body = m->body;
	h.length = m->length;
	memcpy(out, &h, sizeof(h));
	o = sizeof(h);
	memcpy(out + o, m->method, m->mlen);
	o += m->mlen;
	memcpy(out + o, m->target, m->tlen);
	o += m->tlen;
	for (i = 0; i < m->nhdr; i++) {
		l[0] = m->hdr[i].nlen;
		l[1] = m->hdr[i].vlen;
		memcpy(out + o, l, 4);
		o += 4;
		memcpy(out + o, m->hdr[i].name, l[0]);
		o += l[0];
		memcpy(out + o, m->hdr[i].value, l[1]);
		o += l[1];
	}
	return o;
}

static int
head_refused(const struct exch_msg_head *m, const char *want)
{
	static uint8_t	 buf[2 * EXCH_HEAD_MAX];
	size_t		 n;
	int		 put, get;

	why[0] = '\0';
	put = exch_put_head(&a, m, why, sizeof(why));
	if (put == 0 || strstr(why, want) == NULL) {
		printf("# put: %d why %s\n", put, why);
		if (put == 0)
			imsg_clear(&a);
		return 0;
	}
	n = encode(buf, m);
	why[0] = '\0';
	get = exch_get_head(buf, n, &gh, why, sizeof(why));
	if (get == 0 || strstr(why, want) == NULL) {
		printf("# get: %d why %s\n", get, why);
		return 0;
	}
	return 1;
}

static void
test_head(void)
{
	struct imsg	 im;
	struct exch_msg_head m;
	static uint8_t	 buf[2 * EXCH_HEAD_MAX];
	static char	 big[EXCH_HEAD_MAX];
	size_t		 n, i;
	int		 rc;

	head_default();
	ok(exch_put_head(&a, &mh, why, sizeof(why)) == 0, "head: put (%s)",
	    why);
	rc = roundtrip(&im) == 0 && im.hdr.type == EXCH_REQ_HEAD &&
	    exch_get_head(im.data, im.datalen, &gh, why, sizeof(why)) == 0;
	ok(rc, "head: the message decodes (%s)", rc ? "" : why);
	ok(rc && strcmp(gh.method, "POST") == 0 && gh.mlen == 4 &&
	    strcmp(gh.target, mh.target) == 0 && gh.nhdr == 4 &&
	    gh.body == EXCH_BODY_LENGTH && gh.length == 5,
	    "head: method, target, body framing as sent");
	for (i = 0, n = 0; rc && i < 4; i++)
		n += gh.hdr[i].nlen == mh.hdr[i].nlen &&
		    gh.hdr[i].vlen == mh.hdr[i].vlen &&
		    memcmp(gh.hdr[i].name, mh.hdr[i].name,
		    mh.hdr[i].nlen + 1) == 0 &&
		    memcmp(gh.hdr[i].value, mh.hdr[i].value,
		    mh.hdr[i].vlen + 1) == 0;
	ok(n == 4, "head: headers in order, NUL-terminated copies, empty "
	    "value and obs-text kept");
	/* the copies outlive the payload */
	if (rc) {
		memset(im.data, 'Z', im.datalen);
		ok(strcmp(gh.target, mh.target) == 0,
		    "head: strings are the decoder's copies");
	} else
		ok(0, "head: strings are the decoder's copies");
	imsg_free(&im);

	head_default();
	mh.body = EXCH_BODY_STREAM;
	mh.length = 0;
	mh.nhdr = 0;
	ok(exch_put_head(&a, &mh, why, sizeof(why)) == 0 && roundtrip(&im) == 0 &&
	    exch_get_head(im.data, im.datalen, &gh, why, sizeof(why)) == 0 &&
	    gh.nhdr == 0 && gh.body == EXCH_BODY_STREAM,
	    "head: no headers, body until END");
	imsg_free(&im);

	/* exactly the limits */
	head_default();
	mh.body = EXCH_BODY_NONE;
	mh.length = 0;
	mh.nhdr = EXCH_MAXHDR;
	for (i = 0; i < EXCH_MAXHDR; i++)
		mh.hdr[i] = (struct exch_hdr)H("X-A", "1");
	ok(exch_put_head(&a, &mh, why, sizeof(why)) == 0 && roundtrip(&im) == 0 &&
	    exch_get_head(im.data, im.datalen, &gh, why, sizeof(why)) == 0 &&
	    gh.nhdr == EXCH_MAXHDR, "head: %d headers taken", EXCH_MAXHDR);
	imsg_free(&im);
	mh.nhdr = EXCH_MAXHDR + 1;
	mh.hdr[EXCH_MAXHDR - 1] = (struct exch_hdr)H("X-A", "1");
	ok(exch_put_head(&a, &mh, why, sizeof(why)) == -1 &&
	    strstr(why, "more than 100") != NULL,
	    "head: %d headers refused by the encoder (%s)", EXCH_MAXHDR + 1,
	    why);
	{
		/* the decoder on its own: nhdr 101 in a hand-made payload */
		struct exch_head h = { 0 };

		h.mlen = 3;
		h.tlen = 1;
		h.nhdr = EXCH_MAXHDR + 1;
		memcpy(buf, &h, sizeof(h));
		memcpy(buf + sizeof(h), "GET/", 4);
		n = sizeof(h) + 4;
		for (i = 0; i < EXCH_MAXHDR + 1; i++) {
			memcpy(buf + n, "\x01\0\x01\0" "ab", 6);
			n += 6;
		}
		ok(exch_get_head(buf, n, &gh, why, sizeof(why)) == -1 &&
		    strstr(why, "more than 100") != NULL,
		    "head: %d headers refused by the decoder (%s)",
		    EXCH_MAXHDR + 1, why);
	}

	head_default();
	mh.nhdr = 1;
	memset(big, 'v', sizeof(big));
	mh.hdr[0] = (struct exch_hdr){ "X-Big", big, 5,
	    EXCH_HEAD_MAX - sizeof(struct exch_head) - 4 - mh.tlen - 4 - 5 };
	ok(exch_put_head(&a, &mh, why, sizeof(why)) == 0 && roundtrip(&im) == 0 &&
	    im.datalen == EXCH_HEAD_MAX &&
	    exch_get_head(im.data, im.datalen, &gh, why, sizeof(why)) == 0,
	    "head: exactly %d bytes taken", EXCH_HEAD_MAX);
	imsg_free(&im);
	mh.hdr[0].vlen++;
	ok(head_refused(&mh, "more than 16384"), "head: %d bytes refused",
	    EXCH_HEAD_MAX + 1);

	/* method */
	head_default();
	mh.method = "GE T";
	ok(head_refused(&mh, "method"), "head: method with a space refused");
	mh.method = "";
	mh.mlen = 0;
	ok(head_refused(&mh, "method"), "head: empty method refused");
	mh.method = "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFG";
	mh.mlen = 33;
	ok(head_refused(&mh, "method"), "head: method of 33 bytes refused");
	/* target */
	head_default();
	mh.target = "http://a/";
	mh.tlen = 9;
	ok(head_refused(&mh, "target"), "head: absolute target refused");
	mh.target = "/a b";
	mh.tlen = 4;
	ok(head_refused(&mh, "target"), "head: target with a space refused");
	mh.target = "/a\x7f";
	mh.tlen = 3;
	ok(head_refused(&mh, "target"), "head: target with DEL refused");
	mh.target = "/a\xc3\xa9";
	mh.tlen = 4;
	ok(head_refused(&mh, "target"), "head: target with raw UTF-8 refused");
	mh.target = "/a\0b";
	mh.tlen = 4;
	ok(head_refused(&mh, "target"), "head: target with NUL refused");
	mh.target = "";
	mh.tlen = 0;
	ok(head_refused(&mh, "target"), "head: empty target refused");
	/* headers */
	{
		static const struct {
			struct exch_hdr	 h;
			const char	*want, *what;
		} bad[] = {
			{ H("X-A", "a\r\nInjected: 1"), "control", "CRLF in a value" },
			{ H("X-A", "a\nb"), "control", "LF in a value" },
			{ H("X-A", "a\0b"), "control", "NUL in a value" },
			{ H("X-A", "a\x7f"), "control", "DEL in a value" },
			{ H("X-A", "\x01"), "control", "SOH in a value" },
			{ H("X A", "1"), "not a token", "space in a name" },
			{ H("X:A", "1"), "not a token", "colon in a name" },
			{ H("", "1"), "not a token", "empty name" },
			{ H("Connection", "close"), "hop-by-hop", "Connection" },
			{ H("keep-alive", "1"), "hop-by-hop", "Keep-Alive" },
			{ H("TE", "trailers"), "hop-by-hop", "TE" },
			{ H("Trailer", "X"), "hop-by-hop", "Trailer" },
			{ H("TRANSFER-ENCODING", "chunked"), "hop-by-hop",
			    "Transfer-Encoding, upper case" },
			{ H("Upgrade", "websocket"), "hop-by-hop", "Upgrade" },
			{ H("Proxy-Authorization", "x"), "hop-by-hop",
			    "Proxy-Authorization" },
			{ H("Content-Length", "5"), "hop-by-hop",
			    "Content-Length" },
		};

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			head_default();
			mh.hdr[2] = bad[i].h;
			ok(head_refused(&mh, bad[i].want),
			    "head: %s refused (%s)", bad[i].what, why);
		}
	}
	head_default();
	mh.hdr[2] = (struct exch_hdr)H("host", "other.test");
	ok(head_refused(&mh, "more than one Host"), "head: two Host headers "
	    "refused");
	/* framing */
	head_default();
	mh.body = 3;
	ok(head_refused(&mh, "framing"), "head: body framing 3 refused");
	mh.body = EXCH_BODY_STREAM;
	ok(head_refused(&mh, "a length without"), "head: a length with body "
	    "until END refused");

	/* hand-made damage to a good payload */
	head_default();
	n = encode(buf, &mh);
	ok(exch_get_head(buf, n, &gh, why, sizeof(why)) == 0,
	    "head: the hand encoding decodes (%s)", why);
	for (i = 0, rc = 0; i < n; i++)
		rc += exch_get_head(buf, i, &gh, why, sizeof(why)) == -1;
	ok(rc == (int)n, "head: every shorter payload refused (%d of %zu)",
	    rc, n);
	buf[n] = 'x';
	ok(exch_get_head(buf, n + 1, &gh, why, sizeof(why)) == -1 &&
	    strstr(why, "after the headers") != NULL,
	    "head: a byte after the last header refused (%s)", why);
	memcpy(&m, &mh, sizeof(m));
	buf[6] = 1;	/* pad */
	ok(exch_get_head(buf, n, &gh, why, sizeof(why)) == -1 &&
	    strstr(why, "pad") != NULL, "head: pad not zero refused");
	buf[6] = 0;
	buf[9] = 1;	/* pad2 */
	ok(exch_get_head(buf, n, &gh, why, sizeof(why)) == -1 &&
	    strstr(why, "pad") != NULL, "head: pad2 not zero refused");
	buf[9] = 0;
	buf[4] = 5;	/* nhdr 5, four there */
	ok(exch_get_head(buf, n, &gh, why, sizeof(why)) == -1 &&
	    strstr(why, "cut short") != NULL,
	    "head: more headers counted than sent refused (%s)", why);
	buf[4] = 3;
	ok(exch_get_head(buf, n, &gh, why, sizeof(why)) == -1 &&
	    strstr(why, "after the headers") != NULL,
	    "head: fewer headers counted than sent refused (%s)", why);
	buf[4] = 4;
	buf[2] = 0xff;	/* tlen past the end */
	buf[3] = 0xff;
	ok(exch_get_head(buf, n, &gh, why, sizeof(why)) == -1,
	    "head: a target length past the end refused (%s)", why);
}

static void
resp_default(void)
{
	static const struct exch_hdr hdr[] = {
		H("Content-Type", "text/plain"),
		H("Set-Cookie", "a=b"),
	};

	memset(&mr, 0, sizeof(mr));
	mr.status = 200;
	mr.reason = "OK";
	mr.rlen = 2;
	mr.nhdr = 2;
	memcpy(mr.hdr, hdr, sizeof(hdr));
	mr.body = EXCH_BODY_STREAM;
}

static void
test_resp(void)
{
	struct imsg	 im;
	uint8_t		 buf[256];
	struct exch_resp h = { 0 };
	int		 rc;

	resp_default();
	rc = exch_put_resp(&a, &mr, why, sizeof(why)) == 0 &&
	    roundtrip(&im) == 0 && im.hdr.type == EXCH_RESP_HEAD &&
	    exch_get_resp(im.data, im.datalen, &gr, why, sizeof(why)) == 0;
	ok(rc && gr.status == 200 && strcmp(gr.reason, "OK") == 0 &&
	    gr.nhdr == 2 && strcmp(gr.hdr[1].name, "Set-Cookie") == 0 &&
	    strcmp(gr.hdr[1].value, "a=b") == 0 &&
	    gr.body == EXCH_BODY_STREAM, "resp: round trip (%s)",
	    rc ? "" : why);
	imsg_free(&im);
	resp_default();
	mr.reason = "";
	mr.rlen = 0;
	mr.body = EXCH_BODY_LENGTH;
	mr.length = 1ULL << 40;
	rc = exch_put_resp(&a, &mr, why, sizeof(why)) == 0 &&
	    roundtrip(&im) == 0 &&
	    exch_get_resp(im.data, im.datalen, &gr, why, sizeof(why)) == 0;
	ok(rc && gr.rlen == 0 && gr.length == 1ULL << 40,
	    "resp: empty reason, a 1 TiB length");
	imsg_free(&im);

	resp_default();
	mr.status = 101;
	ok(exch_put_resp(&a, &mr, why, sizeof(why)) == -1 &&
	    strstr(why, "status") != NULL, "resp: put of status 101 refused");
	mr.status = 600;
	ok(exch_put_resp(&a, &mr, why, sizeof(why)) == -1,
	    "resp: put of status 600 refused");
	resp_default();
	mr.reason = "OK\r\nX: 1";
	mr.rlen = 8;
	ok(exch_put_resp(&a, &mr, why, sizeof(why)) == -1 &&
	    strstr(why, "reason") != NULL, "resp: put of CRLF in the reason "
	    "refused");
	resp_default();
	mr.hdr[0] = (struct exch_hdr)H("Transfer-Encoding", "chunked");
	ok(exch_put_resp(&a, &mr, why, sizeof(why)) == -1 &&
	    strstr(why, "hop-by-hop") != NULL,
	    "resp: put of Transfer-Encoding refused");
	resp_default();
	mr.hdr[0] = (struct exch_hdr)H("Content-Length", "3");
	ok(exch_put_resp(&a, &mr, why, sizeof(why)) == -1,
	    "resp: put of Content-Length refused");

	/* hand-made */
	h.status = 204;
	memcpy(buf, &h, sizeof(h));
	ok(exch_get_resp(buf, sizeof(h), &gr, why, sizeof(why)) == 0 &&
	    gr.status == 204 && gr.nhdr == 0, "resp: the bare header decodes");
	ok(exch_get_resp(buf, sizeof(h) - 1, &gr, why, sizeof(why)) == -1,
	    "resp: a short header refused");
	h.status = 199;
	memcpy(buf, &h, sizeof(h));
	ok(exch_get_resp(buf, sizeof(h), &gr, why, sizeof(why)) == -1 &&
	    strstr(why, "status") != NULL, "resp: status 199 refused");
	h.status = 200;
	h.pad = 1;
	memcpy(buf, &h, sizeof(h));
	ok(exch_get_resp(buf, sizeof(h), &gr, why, sizeof(why)) == -1 &&
	    strstr(why, "pad") != NULL, "resp: pad refused");
	h.pad = 0;
	h.rlen = 3;
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), "O\nK", 3);
	ok(exch_get_resp(buf, sizeof(h) + 3, &gr, why, sizeof(why)) == -1 &&
	    strstr(why, "reason") != NULL, "resp: LF in the reason refused");
	ok(exch_get_resp(buf, sizeof(h) + 2, &gr, why, sizeof(why)) == -1,
	    "resp: a reason past the end refused");
	h.rlen = 0;
	h.body = EXCH_BODY_NONE;
	h.length = 7;
	memcpy(buf, &h, sizeof(h));
	ok(exch_get_resp(buf, sizeof(h), &gr, why, sizeof(why)) == -1 &&
	    strstr(why, "length") != NULL, "resp: a length without a body "
	    "refused");
	h.length = 0;
	h.nhdr = 1;
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), "\x0a\0\x03\0" "Keep-Alivex=1", 17);
	ok(exch_get_resp(buf, sizeof(h) + 17, &gr, why, sizeof(why)) == -1 &&
	    strstr(why, "hop-by-hop") != NULL,
	    "resp: decoder refuses Keep-Alive");
	memcpy(buf + sizeof(h), "\x04\0\x03\0" "Hostx=1", 11);
	ok(exch_get_resp(buf, sizeof(h) + 11, &gr, why, sizeof(why)) == 0,
	    "resp: a Host header in a response is no framing");
}

static void
test_body_end_error(void)
{
	struct imsg	 im;
	static uint8_t	 big[EXCH_BODY_MAX + 1];
	struct exch_error e;
	char		 msg[400];
	int		 rc;

	memset(big, 'b', sizeof(big));
	rc = exch_put_body(&a, EXCH_REQ_BODY, big, EXCH_BODY_MAX, why,
	    sizeof(why)) == 0 && roundtrip(&im) == 0 &&
	    im.hdr.type == EXCH_REQ_BODY &&
	    exch_get_body(im.data, im.datalen, why, sizeof(why)) == 0 &&
	    im.datalen == EXCH_BODY_MAX;
	ok(rc, "body: %d bytes", EXCH_BODY_MAX);
	imsg_free(&im);
	ok(exch_put_body(&a, EXCH_RESP_BODY, big, EXCH_BODY_MAX + 1, why,
	    sizeof(why)) == -1 && exch_get_body(big, EXCH_BODY_MAX + 1, why,
	    sizeof(why)) == -1, "body: %d bytes refused both ways",
	    EXCH_BODY_MAX + 1);
	ok(exch_put_body(&a, EXCH_RESP_BODY, big, 0, why, sizeof(why)) == -1 &&
	    exch_get_body(NULL, 0, why, sizeof(why)) == -1,
	    "body: empty refused both ways");
	ok(exch_put_body(&a, EXCH_RESP_END, big, 1, why, sizeof(why)) == -1,
	    "body: put with an END type refused");

	ok(exch_put_end(&a, EXCH_RESP_END, why, sizeof(why)) == 0 &&
	    roundtrip(&im) == 0 && im.hdr.type == EXCH_RESP_END &&
	    exch_get_end(im.data, im.datalen, why, sizeof(why)) == 0,
	    "end: round trip");
	imsg_free(&im);
	ok(exch_get_end(big, 1, why, sizeof(why)) == -1,
	    "end: a payload refused");
	ok(raw(EXCH_REQ_END, "x", 1, &im) == 0 &&
	    exch_get_end(im.data, im.datalen, why, sizeof(why)) == -1,
	    "end: a payload sent by a peer refused");
	imsg_free(&im);

	memset(msg, 'm', sizeof(msg));
	msg[sizeof(msg) - 1] = '\0';
	msg[3] = '\n';
	rc = exch_put_error(&a, 502, msg, why, sizeof(why)) == 0 &&
	    roundtrip(&im) == 0 && im.hdr.type == EXCH_ERROR &&
	    exch_get_error(im.data, im.datalen, &e, why, sizeof(why)) == 0;
	ok(rc && e.status == 502 && strlen(e.msg) == EXCH_MSG_SIZE - 1 &&
	    e.msg[3] == '?', "error: long text cut, control byte replaced");
	imsg_free(&im);
	ok(exch_put_error(&a, 500, "x", why, sizeof(why)) == -1 &&
	    exch_put_error(&a, 403, "", why, sizeof(why)) == -1,
	    "error: put of status 500 or an empty text refused");
	memset(&e, 0, sizeof(e));
	e.status = 504;
	strlcpy(e.msg, "upstream timed out", sizeof(e.msg));
	ok(exch_get_error(&e, sizeof(e), &e, why, sizeof(why)) == 0,
	    "error: a good one decodes");
	ok(exch_get_error(&e, sizeof(e) - 1, &e, why, sizeof(why)) == -1,
	    "error: a short one refused");
	e.status = 200;
	ok(exch_get_error(&e, sizeof(e), &e, why, sizeof(why)) == -1 &&
	    strstr(why, "status") != NULL, "error: status 200 refused");
	e.status = 502;
	memset(e.msg, 'x', sizeof(e.msg));
	ok(exch_get_error(&e, sizeof(e), &e, why, sizeof(why)) == -1 &&
	    strstr(why, "NUL") != NULL, "error: text without NUL refused");
	strlcpy(e.msg, "a\rb", sizeof(e.msg));
	ok(exch_get_error(&e, sizeof(e), &e, why, sizeof(why)) == -1,
	    "error: CR in the text refused");
	strlcpy(e.msg, "ok", sizeof(e.msg));
	e.pad[5] = 1;
	ok(exch_get_error(&e, sizeof(e), &e, why, sizeof(why)) == -1,
	    "error: pad refused");
}

static struct cred_exchange	 ce;
static uint8_t			 cbuf[sizeof(ce) + CRED_PEM_MAX + 1];

static void
ce_default(void)
{
	memset(&ce, 0, sizeof(ce));
	strlcpy(ce.sandbox, "sb1", sizeof(ce.sandbox));
	strlcpy(ce.cred, "api_key", sizeof(ce.cred));
	if (ph_make(ce.placeholder) == -1)
		abort();
	strlcpy(ce.host, "api.test", sizeof(ce.host));
	ce.port = 443;
	ce.family = AF_INET;
	inet_pton(AF_INET, "198.18.0.10", ce.addr);
	ce.inj_type = INJ_HEADER;
	strlcpy(ce.inj_name, "Authorization", sizeof(ce.inj_name));
	strlcpy(ce.inj_value, "Bearer {secret}", sizeof(ce.inj_value));
}

static int
ce_check(size_t calen, const char *pem)
{
	ce.calen = calen;
	memcpy(cbuf, &ce, sizeof(ce));
	if (pem != NULL)
		memcpy(cbuf + sizeof(ce), pem, calen);
	why[0] = '\0';
	return exch_cred_check(cbuf, sizeof(ce) + calen, why, sizeof(why));
}

static void
test_cred(void)
{
	static char	 pem[CRED_PEM_MAX + 1];

	ce_default();
	ok(ce_check(0, NULL) == 0, "cred: a good request (%s)", why);
	memset(pem, 'P', sizeof(pem));
	ok(ce_check(CRED_PEM_MAX, pem) == 0, "cred: with %d PEM bytes",
	    CRED_PEM_MAX);
	ok(ce_check(CRED_PEM_MAX + 1, pem) == -1 && strstr(why, "more than"),
	    "cred: %d PEM bytes refused", CRED_PEM_MAX + 1);
	ce.calen = 10;
	memcpy(cbuf, &ce, sizeof(ce));
	ok(exch_cred_check(cbuf, sizeof(ce) + 9, why, sizeof(why)) == -1 &&
	    exch_cred_check(cbuf, sizeof(ce) + 11, why, sizeof(why)) == -1,
	    "cred: calen not the bytes sent refused");
	ok(exch_cred_check(cbuf, sizeof(ce) - 1, why, sizeof(why)) == -1,
	    "cred: a short request refused");
	pem[3] = '\0';
	ok(ce_check(10, pem) == -1 && strstr(why, "NUL"),
	    "cred: a NUL in the PEM refused");
	ce_default();
	memset(ce.host, 0, sizeof(ce.host));
	strlcpy(ce.host, "::1", sizeof(ce.host));
	ok(ce_check(0, NULL) == 0, "cred: an IPv6 host in canonical form (%s)", why);
	memset(ce.host, 0, sizeof(ce.host));
	strlcpy(ce.host, "0:0::1", sizeof(ce.host));
	ok(ce_check(0, NULL) == -1, "cred: an IPv6 host not canonical refused");
	memset(ce.host, 0, sizeof(ce.host));
	strlcpy(ce.host, "api.test.", sizeof(ce.host));
	ok(ce_check(0, NULL) == -1 && strstr(why, "host"),
	    "cred: a host with a trailing dot refused (%s)", why);
	ce_default();
	strlcpy(ce.sandbox, "../x", sizeof(ce.sandbox));
	ok(ce_check(0, NULL) == -1 && strstr(why, "sandbox"),
	    "cred: a sandbox ../x refused (%s)", why);
	ce_default();
	strlcpy(ce.cred, "a/b", sizeof(ce.cred));
	ok(ce_check(0, NULL) == -1 && strstr(why, "cred"),
	    "cred: a credential a/b refused (%s)", why);
	ce_default();
	ce.placeholder[10] = 'A';
	ok(ce_check(0, NULL) == -1 && strstr(why, "placeholder"),
	    "cred: a placeholder with upper case refused");
	ce_default();
	memset(ce.cred, 'c', sizeof(ce.cred));
	ok(ce_check(0, NULL) == -1 && strstr(why, "NUL-terminated"),
	    "cred: a credential name without NUL refused");
	ce_default();
	ce.inj_name[20] = 'x';	/* after the NUL */
	ok(ce_check(0, NULL) == -1 && strstr(why, "inj_name"),
	    "cred: a byte after a string's NUL refused");
	ce_default();
	strlcpy(ce.inj_value, "Bearer {secret}\r\nX: 1", sizeof(ce.inj_value));
	ok(ce_check(0, NULL) == -1 && strstr(why, "inj_value"),
	    "cred: CRLF in the template refused");
	ce_default();
	ce.port = 0;
	ok(ce_check(0, NULL) == -1 && strstr(why, "port"), "cred: port 0 "
	    "refused");
	ce_default();
	ce.family = AF_UNIX;
	ok(ce_check(0, NULL) == -1 && strstr(why, "family"),
	    "cred: family AF_UNIX refused");
	ce_default();
	ce.addr[5] = 1;
	ok(ce_check(0, NULL) == -1, "cred: IPv4 with bytes past 4 refused");
	ce_default();
	memset(ce.addr, 0, sizeof(ce.addr));
	ok(ce_check(0, NULL) == -1, "cred: address 0.0.0.0 refused");
	ce_default();
	ce.inj_type = 200;
	ok(ce_check(0, NULL) == -1 && strstr(why, "injection type"),
	    "cred: injection type 200 refused");
	ce_default();
	ce.pad0 = 1;
	ok(ce_check(0, NULL) == -1 && strstr(why, "pad"), "cred: pad refused");
	ce_default();
	ce.token_port = 443;
	ok(ce_check(0, NULL) == -1 && strstr(why, "token"),
	    "cred: a token port without a family refused");
	ce.token_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::1", ce.token_addr);
	ok(ce_check(0, NULL) == 0, "cred: a token endpoint (%s)", why);
}

int
main(void)
{
	int	 sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		return 1;
	imsg_init(&a, sv[0]);
	imsg_init(&b, sv[1]);
	test_head();
	test_resp();
	test_body_end_error();
	test_cred();
	imsg_clear(&a);
	imsg_clear(&b);
	return tap_done();
}
