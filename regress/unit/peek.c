/*
 * Unit test of common/peek.c: ClientHellos made by real OpenSSL
 * (SSL_connect into a memory BIO), re-framed and hand-broken ones, and
 * HTTP request heads good and bad.  TAP output.
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>
#include <openssl/err.h>

#include "peek.h"
#include "tap.h"

/* the first flight of a real OpenSSL client */
static size_t
openssl_hello(const char *sni, int maxver, uint8_t *out, size_t outsize)
{
	SSL_CTX	*ctx;
	SSL	*ssl;
	BIO	*rb, *wb;
	int	 n;

	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL)
		abort();
	if (maxver)
		SSL_CTX_set_max_proto_version(ctx, maxver);
	ssl = SSL_new(ctx);
	rb = BIO_new(BIO_s_mem());
	wb = BIO_new(BIO_s_mem());
	SSL_set_bio(ssl, rb, wb);
	if (sni != NULL)
		SSL_set_tlsext_host_name(ssl, sni);
	SSL_set_connect_state(ssl);
	if (SSL_do_handshake(ssl) == 1)
		abort();
	n = BIO_read(wb, out, outsize);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	return n > 0 ? (size_t)n : 0;
}

/* split the handshake of a one-record hello into records of chunk bytes */
static size_t
reframe(const uint8_t *in, size_t inlen, size_t chunk, uint8_t *out,
    size_t outsize)
{
	size_t	 hslen = (size_t)in[3] << 8 | in[4], pos = 0, o = 0, n;

	if (hslen + 5 != inlen)
		abort();
	while (pos < hslen) {
		n = hslen - pos < chunk ? hslen - pos : chunk;
		if (o + 5 + n > outsize)
			abort();
		out[o] = 22;
		out[o + 1] = 3;
		out[o + 2] = 1;
		out[o + 3] = n >> 8;
		out[o + 4] = n;
		memcpy(out + o + 5, in + 5 + pos, n);
		o += 5 + n;
		pos += n;
	}
	return o;
}

/* a hand-made ClientHello; exts are raw extension bytes */
static size_t
craft(const uint8_t *exts, size_t extlen, int withexts, uint8_t *out)
{
	uint8_t	 body[PEEK_MAX];
	size_t	 b = 0, hs;

	body[b++] = 3;
	body[b++] = 3;
	memset(body + b, 0xab, 32);
	b += 32;
	body[b++] = 0;			/* session id */
	body[b++] = 0;
	body[b++] = 2;			/* one cipher suite */
	body[b++] = 0x13;
	body[b++] = 0x01;
	body[b++] = 1;			/* compression: null */
	body[b++] = 0;
	if (withexts) {
		body[b++] = extlen >> 8;
		body[b++] = extlen;
		memcpy(body + b, exts, extlen);
		b += extlen;
	}
	hs = b + 4;
	out[0] = 22;
	out[1] = 3;
	out[2] = 1;
	out[3] = hs >> 8;
	out[4] = hs;
	out[5] = 1;
	out[6] = b >> 16;
	out[7] = b >> 8;
	out[8] = b;
	memcpy(out + 9, body, b);
	return 9 + b;
}

/* a server_name extension with one entry of type t */
static size_t
sni_ext(uint8_t *p, int t, const char *name)
{
	size_t	 n = strlen(name);

	p[0] = 0;
	p[1] = 0;
	p[2] = (n + 5) >> 8;
	p[3] = n + 5;
	p[4] = (n + 3) >> 8;
	p[5] = n + 3;
	p[6] = t;
	p[7] = n >> 8;
	p[8] = n;
	memcpy(p + 9, name, n);
	return 9 + n;
}

static enum peek_result
tls(const uint8_t *b, size_t n, char *sni)
{
	const char	*why;
	enum peek_result r = peek_tls(b, n, sni, &why);

	if (r == PEEK_BAD && why == NULL)
		return (enum peek_result)-1;
	if (r == PEEK_BAD)
		printf("# BAD: %s\n", why);
	return r;
}

static void
test_tls(void)
{
	uint8_t		 h[PEEK_MAX], r[PEEK_MAX * 2], e[PEEK_MAX];
	char		 sni[NETD_NAME_SIZE];
	size_t		 n, m, i, el;
	int		 allmore;

	n = openssl_hello("ok.test", 0, h, sizeof(h));
	ok(n > 100 && peek_proto(h, n) == PEEK_P_TLS,
	    "OpenSSL TLS 1.3 hello (%zu bytes) is TLS", n);
	ok(tls(h, n, sni) == PEEK_FOUND && strcmp(sni, "ok.test") == 0,
	    "SNI ok.test found (%s)", sni);
	allmore = 1;
	for (i = 0; i < n; i++)
		if (tls(h, i, sni) != PEEK_NEED_MORE)
			allmore = 0;
	ok(allmore, "every proper prefix needs more");
	ok(tls(h, n + 0, sni) == PEEK_FOUND, "found again");

	n = openssl_hello("Mixed.Case.EXAMPLE", TLS1_2_VERSION, h, sizeof(h));
	ok(tls(h, n, sni) == PEEK_FOUND &&
	    strcmp(sni, "mixed.case.example") == 0,
	    "TLS 1.2 hello, SNI lowercased (%s)", sni);

	n = openssl_hello(NULL, 0, h, sizeof(h));
	ok(tls(h, n, sni) == PEEK_NONE, "hello without SNI: none");

	n = openssl_hello("split.test", 0, h, sizeof(h));
	m = reframe(h, n, 100, r, sizeof(r));
	ok(tls(r, m, sni) == PEEK_FOUND && strcmp(sni, "split.test") == 0,
	    "hello split into 100-byte records");
	m = reframe(h, n, 1, r, sizeof(r));
	ok(tls(r, m, sni) == PEEK_FOUND && strcmp(sni, "split.test") == 0,
	    "hello split into 1-byte records (%zu bytes)", m);
	ok(tls(r, m - 1, sni) == PEEK_NEED_MORE, "...minus one byte: more");
	memcpy(r + m, "\x17\x03\x03\x00\x01x", 6);
	r[5 + 5] = 0;	/* nothing */
	m = reframe(h, n, 100, r, sizeof(r));
	r[105] = 23;	/* second record is application data */
	ok(tls(r, m, sni) == PEEK_BAD, "application data before hello end");

	/* hand-made */
	el = sni_ext(e, 0, "hand.test");
	n = craft(e, el, 1, h);
	ok(tls(h, n, sni) == PEEK_FOUND && strcmp(sni, "hand.test") == 0,
	    "crafted hello found");
	n = craft(e, 0, 0, h);
	ok(tls(h, n, sni) == PEEK_NONE, "crafted hello without extensions");
	el = sni_ext(e, 1, "hand.test");
	n = craft(e, el, 1, h);
	ok(tls(h, n, sni) == PEEK_BAD, "name type 1 refused");
	el = sni_ext(e, 0, "1.2.3.4");
	n = craft(e, el, 1, h);
	ok(tls(h, n, sni) == PEEK_BAD, "IPv4 literal SNI refused");
	el = sni_ext(e, 0, "0x7f.1");
	n = craft(e, el, 1, h);
	ok(tls(h, n, sni) == PEEK_BAD, "inet_aton spelling refused");
	el = sni_ext(e, 0, "a b.test");
	n = craft(e, el, 1, h);
	ok(tls(h, n, sni) == PEEK_BAD, "space in SNI refused");
	el = sni_ext(e, 0, "ok.test.");
	n = craft(e, el, 1, h);
	ok(tls(h, n, sni) == PEEK_BAD, "trailing dot refused");
	el = sni_ext(e, 0, "ok..test");
	n = craft(e, el, 1, h);
	ok(tls(h, n, sni) == PEEK_BAD, "empty label refused");
	el = sni_ext(e, 0, "a\x00""b");
	e[8] = 3;
	memcpy(e + 9, "a\0b", 3);
	e[3] = 8; e[5] = 6;
	el = 12;
	n = craft(e, el, 1, h);
	ok(tls(h, n, sni) == PEEK_BAD, "NUL in SNI refused");
	/* two names in one list */
	el = sni_ext(e, 0, "one.test");
	memcpy(e + el, "\x00\x00\x08two.test", 11);
	e[3] += 11;
	e[5] += 11;
	el += 11;
	n = craft(e, el, 1, h);
	ok(tls(h, n, sni) == PEEK_BAD, "two names refused");
	/* two server_name extensions */
	el = sni_ext(e, 0, "one.test");
	el += sni_ext(e + el, 0, "two.test");
	n = craft(e, el, 1, h);
	ok(tls(h, n, sni) == PEEK_BAD, "duplicate extension refused");
	/* an extension overrunning */
	el = sni_ext(e, 0, "one.test");
	e[3] += 1;
	n = craft(e, el, 1, h);
	ok(tls(h, n, sni) == PEEK_BAD, "extension overrun refused");
	/* empty server_name (what servers send) */
	memcpy(e, "\x00\x00\x00\x00", 4);
	n = craft(e, 4, 1, h);
	ok(tls(h, n, sni) == PEEK_BAD, "empty server_name refused");
	/* extensions length wrong */
	el = sni_ext(e, 0, "one.test");
	n = craft(e, el, 1, h);
	h[9 + 2 + 32 + 1 + 2 + 2 + 2 + 1] ^= 1;
	ok(tls(h, n, sni) == PEEK_BAD, "extensions total wrong refused");
	/* session id of 33 */
	n = craft(e, el, 1, h);
	h[9 + 34] = 33;
	ok(tls(h, n, sni) == PEEK_BAD, "session id of 33 refused");
	/* odd cipher suites length */
	n = craft(e, el, 1, h);
	h[9 + 36] = 3;
	ok(tls(h, n, sni) == PEEK_BAD, "odd cipher suites length refused");
	/* not a ClientHello */
	n = craft(e, el, 1, h);
	h[5] = 2;
	ok(tls(h, n, sni) == PEEK_BAD, "ServerHello refused");
	/* a handshake claiming 1 MiB */
	n = craft(e, el, 1, h);
	h[6] = 0x10;
	ok(tls(h, n, sni) == PEEK_BAD, "1 MiB handshake refused early");
	/* record length 0 */
	n = craft(e, el, 1, h);
	h[3] = h[4] = 0;
	ok(tls(h, n, sni) == PEEK_BAD, "empty record refused");
	/* a big padding extension: 12 KiB in one record */
	el = sni_ext(e, 0, "big.test");
	e[el] = 0;
	e[el + 1] = 21;
	e[el + 2] = 12000 >> 8;
	e[el + 3] = 12000 & 0xff;
	memset(e + el + 4, 0, 12000);
	n = craft(e, el + 12004, 1, h);
	ok(tls(h, n, sni) == PEEK_FOUND && strcmp(sni, "big.test") == 0,
	    "12 KiB ClientHello found");
	/* 300 extensions */
	el = 0;
	for (i = 0; i < 300; i++) {
		e[el++] = 0x10 + i / 256;
		e[el++] = i;
		e[el++] = 0;
		e[el++] = 0;
	}
	n = craft(e, el, 1, h);
	ok(tls(h, n, sni) == PEEK_BAD, "300 extensions refused");
	/* a 16 KiB stream that never completes */
	memset(r, 0, sizeof(r));
	n = craft(e, 0, 0, h);
	r[0] = 22; r[1] = 3; r[2] = 1; r[3] = 0x40; r[4] = 0;
	r[5] = 1; r[6] = 0; r[7] = 0x3f; r[8] = 0xf0;
	ok(tls(r, PEEK_MAX, sni) == PEEK_BAD, "ClientHello over the peek limit");
	ok(peek_proto((const uint8_t *)"\x16\x02", 2) == PEEK_P_OTHER &&
	    peek_proto((const uint8_t *)"SSH-2.0", 7) == PEEK_P_OTHER &&
	    peek_proto((const uint8_t *)"GE", 2) == PEEK_P_UNKNOWN &&
	    peek_proto((const uint8_t *)"GET /", 5) == PEEK_P_HTTP,
	    "protocol guesses");
}

static enum peek_result
http(const char *s, struct peek_http *h)
{
	const char	*why;
	enum peek_result r = peek_http((const uint8_t *)s, strlen(s), h, &why);

	if (r == PEEK_BAD) {
		if (why == NULL)
			return (enum peek_result)-1;
		printf("# BAD: %s\n", why);
	}
	return r;
}

static void
test_http(void)
{
	struct peek_http h;
	char		 big[PEEK_MAX + 100], host[NETD_NAME_SIZE];
	const char	*why;
	uint16_t	 port;
	int		 isip, i;
	size_t		 n;

	ok(http("GET / HTTP/1.1\r\nHost: Ok.Test\r\nAccept: */*\r\n\r\n", &h)
	    == PEEK_FOUND && strcmp(h.host, "ok.test") == 0 &&
	    h.host_port == 0 && strcmp(h.method, "GET") == 0 &&
	    h.headlen == 46 && h.minor == 1, "GET with Host (%s)", h.host);
	ok(http("GET / HTTP/1.1\r\nHost: ok.test:8080\r\n\r\nBODY", &h) ==
	    PEEK_FOUND && h.host_port == 8080 && h.headlen == 38,
	    "Host with port, body not in head");
	ok(http("GET / HTTP/1.1\r\nHost: ok.test\r\n", &h) == PEEK_NEED_MORE,
	    "incomplete head needs more");
	ok(http("GET / HTTP/1.1\r", &h) == PEEK_NEED_MORE, "CR at end: more");
	ok(http("GET / HTTP/1.0\r\n\r\n", &h) == PEEK_NONE,
	    "HTTP/1.0 without Host: none");
	ok(http("GET / HTTP/1.1\r\n\r\n", &h) == PEEK_BAD,
	    "HTTP/1.1 without Host: bad");
	ok(http("GET / HTTP/1.1\r\nHost: [2001:db8::1]:81\r\n\r\n", &h) ==
	    PEEK_FOUND && h.host_is_ip == 6 && h.host_port == 81 &&
	    strcmp(h.host, "2001:db8::1") == 0, "IPv6 literal Host");
	ok(http("GET / HTTP/1.1\r\nHost: 198.18.0.1\r\n\r\n", &h) ==
	    PEEK_FOUND && h.host_is_ip == 4, "IPv4 literal Host");
	ok(http("GET / HTTP/1.1\r\nHost: a.test\r\nhost: b.test\r\n\r\n", &h)
	    == PEEK_BAD, "two Host headers");
	ok(http("GET / HTTP/1.1\r\nHost: a.test\r\nX: 1\r\n  folded\r\n\r\n",
	    &h) == PEEK_BAD, "obsolete line folding");
	ok(peek_http((const uint8_t *)"GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n",
	    28, &h, &why) == PEEK_BAD && why != NULL, "NUL in head");
	ok(http("GET / HTTP/1.1\r\nHost: a.test\rX: 1\r\n\r\n", &h) ==
	    PEEK_BAD, "bare CR");
	ok(http("GET / HTTP/1.1\nHost: a.test\n\n", &h) == PEEK_BAD,
	    "bare LF");
	ok(http("GET / HTTP/1.1\r\nHost : a.test\r\n\r\n", &h) == PEEK_BAD,
	    "space before colon");
	ok(http("GET / HTTP/2.0\r\nHost: a.test\r\n\r\n", &h) == PEEK_BAD,
	    "HTTP/2.0 request line");
	ok(http("GET  / HTTP/1.1\r\nHost: a.test\r\n\r\n", &h) == PEEK_BAD,
	    "two spaces");
	ok(http("GET / HTTP/1.1\r\nHost: a.test\r\nX: a\x01\r\n\r\n", &h) ==
	    PEEK_BAD, "control byte in a value");
	ok(http("GET / HTTP/1.1\r\nHost: bad_host!\r\n\r\n", &h) == PEEK_BAD,
	    "invalid Host");
	ok(http("GET / HTTP/1.1\r\nHost: a.test:99999\r\n\r\n", &h) ==
	    PEEK_BAD, "Host port out of range");
	n = snprintf(big, sizeof(big), "GET /");
	memset(big + n, 'a', PEEK_HTTP_MAXLINE + 10);
	big[n + PEEK_HTTP_MAXLINE + 10] = '\0';
	ok(http(big, &h) == PEEK_BAD, "over-long line (incomplete)");
	n = snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: a.test\r\n");
	for (i = 0; i < 101; i++)
		n += snprintf(big + n, sizeof(big) - n, "X-%d: y\r\n", i);
	snprintf(big + n, sizeof(big) - n, "\r\n");
	ok(http(big, &h) == PEEK_BAD, "101 headers");
	n = snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: a.test\r\n");
	while (n < PEEK_MAX + 50)
		n += snprintf(big + n, sizeof(big) - n, "X: 0123456789\r\n");
	ok(peek_http((const uint8_t *)big, PEEK_MAX, &h, &why) == PEEK_BAD,
	    "head over 16 KiB: bad");
	ok(http("CONNECT ok.test:443 HTTP/1.1\r\n\r\n", &h) == PEEK_NONE &&
	    strcmp(h.method, "CONNECT") == 0 && h.target_len == 11,
	    "CONNECT without Host");

	ok(peek_hostport("ok.test:443", 11, 1, host, sizeof(host), &port,
	    &isip, &why) == 0 && port == 443 && !isip &&
	    strcmp(host, "ok.test") == 0, "hostport name:port");
	ok(peek_hostport("[::ffff:127.0.0.1]:443", 22, 1, host, sizeof(host),
	    &port, &isip, &why) == 0 && isip == 6 && port == 443 &&
	    strcmp(host, "::ffff:127.0.0.1") == 0, "hostport [v6]:port");
	ok(peek_hostport("10.1.2.3:22", 11, 1, host, sizeof(host), &port,
	    &isip, &why) == 0 && isip == 4 && port == 22, "hostport v4:port");
	ok(peek_hostport("ok.test", 7, 1, host, sizeof(host), &port, &isip,
	    &why) == -1, "hostport without port when needed");
	ok(peek_hostport("ok.test:0", 9, 1, host, sizeof(host), &port, &isip,
	    &why) == -1, "port 0");
	ok(peek_hostport("[::1]x:1", 8, 1, host, sizeof(host), &port, &isip,
	    &why) == -1, "junk after ]");
	ok(peek_hostport("[zz]:1", 6, 1, host, sizeof(host), &port, &isip,
	    &why) == -1, "bad v6");
	ok(peek_hostport("ok.test.:80", 11, 1, host, sizeof(host), &port,
	    &isip, &why) == 0 && strcmp(host, "ok.test") == 0,
	    "trailing dot stripped in Host");
	ok(peek_hostport("-x.test:80", 10, 1, host, sizeof(host), &port,
	    &isip, &why) == -1, "leading hyphen");
}

/* the body of request head+body fed in pieces of step bytes */
static enum peek_result
body(const char *req, size_t step, size_t *end)
{
	struct peek_http h;
	struct peek_body b;
	const char	*why;
	size_t		 len = strlen(req), pos, n, used;
	enum peek_result r;

	if (peek_http((const uint8_t *)req, len, &h, &why) == PEEK_BAD) {
		printf("# head BAD: %s\n", why);
		return PEEK_BAD;
	}
	peek_body_init(&b, &h);
	for (pos = h.headlen; ; pos += n) {
		n = len - pos < step ? len - pos : step;
		r = peek_body(&b, (const uint8_t *)req + pos, n, &used, &why);
		if (r == PEEK_BAD)
			printf("# body BAD: %s\n", why);
		if (r != PEEK_NEED_MORE) {
			*end = pos + used;
			return r;
		}
		if (used != n || pos + n == len) {
			*end = pos + n;
			return r;
		}
	}
}

static void
test_framing(void)
{
	struct peek_http h;
	const char	*why, *r;
	char		 host[NETD_NAME_SIZE];
	uint8_t		 out[PEEK_MAX + 64];
	uint16_t	 port;
	size_t		 end, cut, n, step;
	int		 isip, good;

	ok(http("POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 3\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", &h) == PEEK_BAD,
	    "Transfer-Encoding with Content-Length");
	ok(http("POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 3\r\n"
	    "Content-Length: 3\r\n\r\n", &h) == PEEK_BAD,
	    "two Content-Length headers, even equal");
	ok(http("POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: +3\r\n\r\n",
	    &h) == PEEK_BAD, "Content-Length with a sign");
	ok(http("POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: "
	    "1234567890123456789\r\n\r\n", &h) == PEEK_BAD,
	    "Content-Length of 19 digits");
	ok(http("POST / HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: "
	    "gzip, chunked\r\n\r\n", &h) == PEEK_BAD,
	    "Transfer-Encoding other than chunked");
	ok(http("POST / HTTP/1.0\r\nHost: a.test\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n", &h) == PEEK_BAD, "Transfer-Encoding in HTTP/1.0");
	ok(http("GET / HTTP/1.1\r\nHost: u@a.test\r\n\r\n", &h) == PEEK_BAD,
	    "Host with user information");
	ok(http("GET / HTTP/1.1\r\nHost: a.test b.test\r\n\r\n", &h) ==
	    PEEK_BAD, "Host with whitespace inside");

	/* where bodies end, whole and a byte at a time */
	for (step = 1, good = 1; step <= 4096; step *= 4096) {
		r = "POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\n"
		    "\r\nhelloGET";
		good &= body(r, step, &end) == PEEK_FOUND &&
		    end == strlen(r) - 3;
		r = "POST / HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: "
		    "chunked\r\n\r\n3;ext=1\r\nabc\r\nA\r\n0123456789\r\n"
		    "0\r\nT: 1\r\n\r\nGET";
		good &= body(r, step, &end) == PEEK_FOUND &&
		    end == strlen(r) - 3;
		r = "GET / HTTP/1.1\r\nHost: a.test\r\n\r\nGET";
		good &= body(r, step, &end) == PEEK_FOUND &&
		    end == strlen(r) - 3;
		r = "POST / HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: "
		    "chunked\r\n\r\n5\r\nab";
		good &= body(r, step, &end) == PEEK_NEED_MORE &&
		    end == strlen(r);
	}
	ok(good, "body ends: Content-Length, chunked with extension and "
	    "trailer, none; in one piece and byte by byte");
#define CHUNKED "POST / HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: " \
	    "chunked\r\n\r\n"
	ok(body(CHUNKED "3\nabc\r\n0\r\n\r\n", 1, &end) == PEEK_BAD,
	    "chunk size line ended by a bare LF");
	ok(body(CHUNKED "3\r\nabcd\r\n0\r\n\r\n", 1, &end) == PEEK_BAD,
	    "chunk longer than its size");
	ok(body(CHUNKED "x\r\n", 1, &end) == PEEK_BAD, "chunk size not hex");
	ok(body(CHUNKED "3 \r\nabc\r\n", 1, &end) == PEEK_BAD,
	    "whitespace after the chunk size");
	ok(body(CHUNKED "10000000000000000\r\n", 1, &end) == PEEK_BAD,
	    "chunk size of 2^64");
	ok(body(CHUNKED "0\r\n folded\r\n\r\n", 1, &end) == PEEK_BAD,
	    "obsolete line folding in the trailer");
	ok(body(CHUNKED "0\r\nT: 1\rX\r\n\r\n", 1, &end) == PEEK_BAD,
	    "bare CR in the trailer");
	good = body(CHUNKED "3;a;b=\"x\\\"y\";c=t\r\nabc\r\n0;z\r\n"
	    "X-Sum: 1 2\r\nY:\r\n\r\n", 1, &end) == PEEK_FOUND;
	ok(good, "chunk extensions: bare, token, quoted with escape; "
	    "trailers with and without a value");
	ok(body(CHUNKED "3;\r\nabc\r\n0\r\n\r\n", 1, &end) == PEEK_BAD,
	    "empty chunk extension");
	ok(body(CHUNKED "3; a\r\nabc\r\n0\r\n\r\n", 1, &end) == PEEK_BAD,
	    "whitespace in a chunk extension");
	ok(body(CHUNKED "3;a=\r\nabc\r\n0\r\n\r\n", 1, &end) == PEEK_BAD,
	    "chunk extension without a value after =");
	ok(body(CHUNKED "3;a=\"x\r\nabc\r\n0\r\n\r\n", 1, &end) ==
	    PEEK_BAD, "unterminated quoted chunk extension");
	ok(body(CHUNKED "3;a=\"x\"y\r\nabc\r\n0\r\n\r\n", 1, &end) ==
	    PEEK_BAD, "junk after a quoted chunk extension");
	ok(body(CHUNKED "3;a\nabc\r\n0\r\n\r\n", 1, &end) == PEEK_BAD,
	    "chunk extension ended by a bare LF");
	ok(body(CHUNKED "0\r\nnocolon\r\n\r\n", 1, &end) == PEEK_BAD,
	    "trailer without a colon");
	ok(body(CHUNKED "0\r\n: v\r\n\r\n", 1, &end) == PEEK_BAD,
	    "trailer without a name");
	ok(body(CHUNKED "0\r\nContent-Length: 5\r\n\r\n", 1, &end) ==
	    PEEK_BAD, "Content-Length in the trailer");
	ok(body(CHUNKED "0\r\ntransfer-encoding: chunked\r\n\r\n", 1,
	    &end) == PEEK_BAD, "Transfer-Encoding in the trailer");
	ok(body(CHUNKED "0\r\nHost: b.test\r\n\r\n", 1, &end) == PEEK_BAD,
	    "Host in the trailer");
	ok(body(CHUNKED "0\r\nT: a\x01\r\n\r\n", 1, &end) == PEEK_BAD,
	    "control byte in a trailer value");
	ok(body(CHUNKED "0\r\nT: 1\n\r\n", 1, &end) == PEEK_BAD,
	    "trailer ended by a bare LF");
	ok(body(CHUNKED "fffffffffffffff\r\n", 1, &end) == PEEK_NEED_MORE &&
	    body(CHUNKED "1fffffffffffffff\r\n", 1, &end) == PEEK_BAD,
	    "chunk size: 2^60-1 taken, 2^61-1 refused");
#undef CHUNKED

	/* Expect, Upgrade, Connection */
	ok(http("POST / HTTP/1.1\r\nHost: a.test\r\nExpect: 100-Continue\r\n"
	    "Content-Length: 1\r\n\r\n", &h) == PEEK_FOUND &&
	    h.expect_continue, "Expect: 100-continue noted");
	ok(http("POST / HTTP/1.1\r\nHost: a.test\r\nExpect: 200-ok\r\n\r\n",
	    &h) == PEEK_BAD, "other Expect refused");
	ok(http("POST / HTTP/1.1\r\nHost: a.test\r\nExpect: 100-continue\r\n"
	    "Expect: 100-continue\r\n\r\n", &h) == PEEK_BAD,
	    "two Expect headers refused");
	ok(http("GET / HTTP/1.1\r\nHost: a.test\r\nConnection: keep-alive, "
	    "Upgrade\r\nUpgrade: WebSocket\r\n\r\n", &h) == PEEK_FOUND &&
	    h.conn_upgrade && h.upgrade && h.upgrade_websocket &&
	    !h.conn_close, "websocket upgrade noted");
	ok(http("GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n"
	    "Upgrade: h2c\r\n\r\n", &h) == PEEK_FOUND && h.conn_close &&
	    h.upgrade && !h.upgrade_websocket && !h.conn_upgrade,
	    "other upgrade and Connection: close noted");
	ok(http("GET / HTTP/1.1\r\nHost: a.test\r\nUpgrade: websocket\r\n"
	    "Upgrade: websocket\r\n\r\n", &h) == PEEK_BAD,
	    "two Upgrade headers refused");

	/* the target */
	r = "GET http://A.Test:8080/p?q HTTP/1.1\r\nHost: a.test:8080\r\n\r\n";
	ok(http(r, &h) == PEEK_FOUND && peek_http_target((const uint8_t *)r,
	    &h, host, &port, &isip, &cut, &why) == 1 &&
	    strcmp(host, "a.test") == 0 && port == 8080 && cut == 18,
	    "absolute form: host, port and what is cut");
	r = "GET HTTP://b.test HTTP/1.1\r\nHost: a.test\r\n\r\n";
	ok(http(r, &h) == PEEK_FOUND && peek_http_target((const uint8_t *)r,
	    &h, host, &port, &isip, &cut, &why) == 1 &&
	    strcmp(host, "b.test") == 0 && port == 0,
	    "absolute form without path names its host");
	r = "GET http://u@b.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n";
	ok(http(r, &h) == PEEK_FOUND && peek_http_target((const uint8_t *)r,
	    &h, host, &port, &isip, &cut, &why) == -1,
	    "absolute form with user information");
	r = "GET https://b.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n";
	ok(http(r, &h) == PEEK_FOUND && peek_http_target((const uint8_t *)r,
	    &h, host, &port, &isip, &cut, &why) == -1,
	    "another scheme");
	r = "OPTIONS * HTTP/1.1\r\nHost: a.test\r\n\r\n";
	ok(http(r, &h) == PEEK_FOUND && peek_http_target((const uint8_t *)r,
	    &h, host, &port, &isip, &cut, &why) == 0, "asterisk form");

	/* the head sent upstream */
	r = "GET http://a.test?x HTTP/1.1\r\nConnection: keep-alive\r\n"
	    "Host: a.test\r\nProxy-Connection: keep-alive\r\nKeep-Alive: 30"
	    "\r\nConnectionX: 1\r\n\r\nBODY";
	ok(http(r, &h) == PEEK_FOUND && peek_http_target((const uint8_t *)r,
	    &h, host, &port, &isip, &cut, &why) == 1 &&
	    (n = peek_http_rewrite((const uint8_t *)r, &h, cut, "close", out,
	    sizeof(out))) > 0 && n == strlen("GET /?x HTTP/1.1\r\nHost: "
	    "a.test\r\nConnectionX: 1\r\nConnection: close\r\n\r\n") &&
	    memcmp(out, "GET /?x HTTP/1.1\r\nHost: a.test\r\nConnectionX: 1\r\n"
	    "Connection: close\r\n\r\n", n) == 0,
	    "rewrite: origin form, hop-by-hop headers replaced");
	ok(peek_http_rewrite((const uint8_t *)r, &h, cut, "close", out, 20) ==
	    0, "rewrite: too small an output");
	r = "GET / HTTP/1.1\r\nHost: a.test\r\nConnection: X-Hop, keep-alive"
	    "\r\nX-Hop: 1\r\nX-Hop2: 2\r\nTE: trailers\r\nUpgrade: h2c\r\n\r\n";
	ok(http(r, &h) == PEEK_FOUND && (n = peek_http_rewrite((const uint8_t *)
	    r, &h, 0, NULL, out, sizeof(out))) > 0 && n == strlen(
	    "GET / HTTP/1.1\r\nHost: a.test\r\nX-Hop2: 2\r\n\r\n") &&
	    memcmp(out, "GET / HTTP/1.1\r\nHost: a.test\r\nX-Hop2: 2\r\n\r\n",
	    n) == 0, "rewrite: keep-alive, Connection-listed, TE, Upgrade "
	    "dropped, no Connection added");
	r = "GET /ws HTTP/1.1\r\nHost: a.test\r\nConnection: Upgrade\r\n"
	    "Upgrade: websocket\r\n\r\n";
	ok(http(r, &h) == PEEK_FOUND && (n = peek_http_rewrite((const uint8_t *)
	    r, &h, 0, "upgrade", out, sizeof(out))) > 0 && n == strlen(
	    "GET /ws HTTP/1.1\r\nHost: a.test\r\nUpgrade: websocket\r\n"
	    "Connection: upgrade\r\n\r\n") && memcmp(out, "GET /ws HTTP/1.1"
	    "\r\nHost: a.test\r\nUpgrade: websocket\r\nConnection: upgrade"
	    "\r\n\r\n", n) == 0, "rewrite: an allowed upgrade keeps Upgrade");
	r = "POST / HTTP/1.1\r\nHost: a.test\r\nConnection: content-length\r\n"
	    "Content-Length: 5\r\n\r\n";
	ok(http(r, &h) == PEEK_BAD, "Connection naming Content-Length refused");
	r = "POST / HTTP/1.1\r\nHost: a.test\r\nConnection: close, "
	    "Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n";
	ok(http(r, &h) == PEEK_BAD, "Connection naming Transfer-Encoding "
	    "refused");
	r = "GET / HTTP/1.1\r\nHost: a.test\r\nConnection: host\r\n\r\n";
	ok(http(r, &h) == PEEK_BAD, "Connection naming Host refused");
}

static enum peek_result
resp(const char *s, struct peek_response *r)
{
	const char	*why;
	enum peek_result rv = peek_http_response((const uint8_t *)s, strlen(s),
	    r, &why);

	if (rv == PEEK_BAD) {
		if (why == NULL)
			return (enum peek_result)-1;
		printf("# BAD: %s\n", why);
	}
	return rv;
}

static void
test_response(void)
{
	struct peek_response r;
	uint8_t		 out[512];
	const char	*s;
	size_t		 n;

	s = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
	ok(resp(s, &r) == PEEK_FOUND && r.status == 200 && r.minor == 1 &&
	    r.has_clen && r.clen == 3 && r.headlen == strlen(s) - 3,
	    "response: status, Content-Length, head length");
	ok(resp("HTTP/1.1 204\r\n\r\n", &r) == PEEK_FOUND && r.status == 204,
	    "response: no reason phrase");
	ok(resp("HTTP/1.1 200 OK\r\nContent-Le", &r) == PEEK_NEED_MORE,
	    "response: incomplete head");
	ok(resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
	    "Content-Length: 3\r\n\r\n", &r) == PEEK_BAD,
	    "response: chunked and Content-Length refused");
	ok(resp("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
	    "Content-Length: 3\r\n\r\n", &r) == PEEK_BAD,
	    "response: two Content-Length refused");
	ok(resp("HTTP/1.1 200 OK\r\nContent-Length: 3\n\r\n", &r) ==
	    PEEK_BAD, "response: bare LF refused");
	ok(resp("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", &r) == PEEK_BAD,
	    "response: obs-fold refused");
	ok(resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n"
	    "\r\n", &r) == PEEK_BAD, "response: other codings refused");
	ok(resp("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
	    &r) == PEEK_BAD, "response: chunked in HTTP/1.0 refused");
	ok(resp("HTTP/1.1 99 Low\r\n\r\n", &r) == PEEK_BAD &&
	    resp("HTTP/1.1 600 High\r\n\r\n", &r) == PEEK_BAD &&
	    resp("HTTP/2 200 OK\r\n\r\n", &r) == PEEK_BAD &&
	    resp("HTTP/1.1 2000 OK\r\n\r\n", &r) == PEEK_BAD &&
	    resp("HTTP/1.1 200 O\x01K\r\n\r\n", &r) == PEEK_BAD,
	    "response: bad status lines refused");
	ok(resp("HTTP/1.1 200 OK\r\nConnection: content-length\r\n"
	    "Content-Length: 3\r\n\r\n", &r) == PEEK_BAD,
	    "response: Connection naming Content-Length refused");
	s = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nKeep-Alive: 5\r\n\r\n";
	ok(resp(s, &r) == PEEK_FOUND && r.status == 101 && r.upgrade_websocket &&
	    r.conn_upgrade && (n = peek_response_rewrite((const uint8_t *)s, &r,
	    "upgrade", out, sizeof(out))) > 0 && n == strlen(
	    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: upgrade\r\n\r\n"), "response: 101 rewritten");
	s = "HTTP/1.1 200 OK\r\nConnection: keep-alive, X-A\r\nX-A: 1\r\n"
	    "Content-Length: 0\r\n\r\n";
	ok(resp(s, &r) == PEEK_FOUND && r.conn_keepalive &&
	    (n = peek_response_rewrite((const uint8_t *)s, &r, "close", out,
	    sizeof(out))) > 0 && n == strlen("HTTP/1.1 200 OK\r\n"
	    "Content-Length: 0\r\nConnection: close\r\n\r\n") &&
	    memcmp(out, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
	    "Connection: close\r\n\r\n", n) == 0,
	    "response: hop-by-hop dropped, Connection: close added");
}

int
main(void)
{
	test_tls();
	test_http();
	test_framing();
	test_response();
	return tap_done();
}
