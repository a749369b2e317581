/*
 * Unit test of lensnetd/wsframe.c: client frame headers by RFC 6455
 * (good and each kind of bad), UTF-8, the client stream fed whole and
 * byte by byte (the same messages, the same verdicts), fragmented
 * messages with a control frame between, the bound, the server side's
 * boundaries, the graphql-transport-ws and graphql-ws messages, the
 * judged connection (error, then 4403), the header strip and the
 * subprotocol list.  TAP output.
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsframe.h"
#include "tap.h"

static const uint8_t	 K[4] = { 0x12, 0x34, 0x56, 0x78 };

/* a client frame: op, fin, payload, into out (masked with K) */
static size_t
cf(uint8_t *out, int op, int fin, const char *p, size_t n)
{
	size_t	 k = wsf_build(out, 1 << 20, op, p, n, K);

	if (!fin)
		out[0] &= 0x7f;
	return k;
}

struct hcase {
	const uint8_t	*b;
	size_t		 n;
	int		 rv, code;
	const char	*what;
};

static int
hdr(const uint8_t *b, size_t n, int *code, const char **why)
{
	struct wsf	 f;

	*why = "";
	return wsf_header(b, n, 1, &f, why, code);
}

/* feed a whole stream, step bytes at a time; the events in ev */
static int
feed(struct wsin *w, const uint8_t *p, size_t n, size_t step, char *ev,
    size_t evlen)
{
	char	 why[200], one[300];
	size_t	 i = 0, have = 0, used;
	int	 rv;

	ev[0] = '\0';
	memset(w, 0, sizeof(*w));
	w->max = 64;
	/* bytes come in step at a time and wait (as in cin) until taken */
	while (i < n) {
		have = have + step > n - i ? n - i : have + step;
		rv = wsin_feed(w, p + i, have, &used, why, sizeof(why));
		if (rv == WSI_BAD) {
			snprintf(one, sizeof(one), "bad %d %s;", w->code, why);
			strlcat(ev, one, evlen);
			wsin_free(w);
			return -1;
		}
		if (rv == WSI_CONTROL) {
			snprintf(one, sizeof(one), "ctl %d;", w->ctlop);
			strlcat(ev, one, evlen);
		} else if (rv == WSI_MESSAGE) {
			snprintf(one, sizeof(one), "msg %.*s raw %zu;",
			    (int)w->data.len, w->data.b + w->data.off,
			    w->raw.len);
			strlcat(ev, one, evlen);
			wsin_taken(w);
		}
		i += used;
		have -= used;
		if (used == 0 && rv == WSI_MORE && have == n - i)
			break;
	}
	wsin_free(w);
	return 0;
}

static int
msg(const char *m, unsigned int proto, char **id, char **pl, char *why,
    size_t whylen)
{
	return wsg_message((const uint8_t *)m, strlen(m), proto, id, pl, why,
	    whylen);
}

static int	 verdict_calls;
static int
judge(void *arg, const char *id, const char *payload, char *why,
    size_t whylen)
{
	(void)arg;
	verdict_calls++;
	snprintf(why, whylen, "denied %s", id);
	return strstr(payload, "mutation") == NULL;
}

int
main(void)
{
	static uint8_t	 s[1 << 16], t[1 << 16];
	char		 ev[2048], why[300], *id, *pl;
	const char	*w;
	struct wsin	 in;
	struct wsout	 o;
	struct wsj	 j;
	struct wsbuf	 b;
	size_t		 n, k, used, step;
	unsigned int	 bits;
	int		 code, rv, same;

	/* headers */
	{
		static const uint8_t unmasked[] = { 0x81, 0x05 };
		static const uint8_t rsv[] = { 0xc1, 0x85, 1, 2, 3, 4 };
		static const uint8_t op3[] = { 0x83, 0x80, 1, 2, 3, 4 };
		static const uint8_t frag_ping[] = { 0x09, 0x80, 1, 2, 3, 4 };
		static const uint8_t big_ping[] = { 0x89, 0xfe, 0, 126 };
		static const uint8_t short16[] = { 0x81, 0xfe, 0, 125, 1, 2,
		    3, 4 };
		static const uint8_t short64[] = { 0x81, 0xff, 0, 0, 0, 0, 0,
		    0, 0xff, 0xff, 1, 2, 3, 4 };
		static const uint8_t top64[] = { 0x81, 0xff, 0x80, 0, 0, 0, 0,
		    1, 0, 0, 1, 2, 3, 4 };
		static const uint8_t good64[] = { 0x82, 0xff, 0, 0, 0, 0, 0,
		    1, 0, 0, 1, 2, 3, 4 };
		static const uint8_t part[] = { 0x81, 0xfe, 0x01 };
		const struct hcase hc[] = {
			{ unmasked, sizeof(unmasked), -1, 1002, "unmasked" },
			{ rsv, sizeof(rsv), -1, 1002, "reserved bits" },
			{ op3, sizeof(op3), -1, 1002, "unknown opcode" },
			{ frag_ping, sizeof(frag_ping), -1, 1002,
			    "fragmented control" },
			{ big_ping, sizeof(big_ping), -1, 1002,
			    "control frame over 125" },
			{ short16, sizeof(short16), -1, 1002,
			    "not in its shortest form" },
			{ short64, sizeof(short64), -1, 1002,
			    "not in its shortest form" },
			{ top64, sizeof(top64), -1, 1002, "top bit" },
			{ good64, sizeof(good64), 1, 0, "" },
			{ part, sizeof(part), 0, 0, "" },
		};
		size_t	 i;

		for (i = 0; i < sizeof(hc) / sizeof(hc[0]); i++) {
			rv = hdr(hc[i].b, hc[i].n, &code, &w);
			ok(rv == hc[i].rv && (rv != -1 || (code ==
			    hc[i].code && strstr(w, hc[i].what) != NULL)),
			    "header %zu: %d %s (want %d %s)", i, rv, w,
			    hc[i].rv, hc[i].what);
		}
	}

	/* UTF-8 */
	ok(wsf_utf8((const uint8_t *)"a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
	    10), "UTF-8: 1 to 4 byte characters");
	ok(!wsf_utf8((const uint8_t *)"\xc0\xaf", 2), "UTF-8: overlong /");
	ok(!wsf_utf8((const uint8_t *)"\xed\xa0\x80", 3), "UTF-8: surrogate");
	ok(!wsf_utf8((const uint8_t *)"\xf4\x90\x80\x80", 4),
	    "UTF-8: past U+10FFFF");
	ok(!wsf_utf8((const uint8_t *)"\xe2\x82", 2), "UTF-8: cut short");

	/* a stream: a message in 3 frames with a ping between, a close */
	n = cf(s, WS_TEXT, 0, "hel", 3);
	n += cf(s + n, WS_CONT, 0, "lo ", 3);
	n += cf(s + n, WS_PING, 1, "p", 1);
	n += cf(s + n, WS_CONT, 1, "world", 5);
	n += cf(s + n, WS_TEXT, 1, "", 0);
	n += cf(s + n, WS_CLOSE, 1, "\x03\xe8", 2);
	same = 1;
	for (step = 1; step <= n; step++) {
		char	 e2[2048];

		feed(&in, s, n, step, e2, sizeof(e2));
		if (step == 1)
			memcpy(ev, e2, sizeof(ev));
		else if (strcmp(ev, e2) != 0)
			same = 0;
	}
	ok(strcmp(ev, "ctl 9;msg hello world raw 29;msg  raw 6;ctl 8;") == 0,
	    "fragments and a ping between: %s", ev);
	ok(same, "the same events fed 1 to %zu bytes at a time", n);

	/* bad streams */
	n = cf(s, WS_CONT, 1, "x", 1);
	feed(&in, s, n, n, ev, sizeof(ev));
	ok(strstr(ev, "bad 1002 a continuation frame and no message") != NULL,
	    "a continuation first: %s", ev);
	n = cf(s, WS_TEXT, 0, "x", 1);
	n += cf(s + n, WS_TEXT, 1, "y", 1);
	feed(&in, s, n, n, ev, sizeof(ev));
	ok(strstr(ev, "bad 1002 a new message inside") != NULL,
	    "a new message inside a fragmented one: %s", ev);
	n = cf(s, WS_BINARY, 1, "x", 1);
	feed(&in, s, n, n, ev, sizeof(ev));
	ok(strstr(ev, "bad 1003") != NULL, "binary: %s", ev);
	n = cf(s, WS_TEXT, 1, "\xff", 1);
	feed(&in, s, n, n, ev, sizeof(ev));
	ok(strstr(ev, "bad 1007") != NULL, "not UTF-8: %s", ev);
	memset(t, 'a', 65);
	n = cf(s, WS_TEXT, 0, (char *)t, 40);
	n += cf(s + n, WS_CONT, 1, (char *)t, 25);
	feed(&in, s, n, n, ev, sizeof(ev));
	ok(strstr(ev, "bad 1009 a message over the 64 bytes") != NULL,
	    "over the bound in two frames: %s", ev);
	n = cf(s, WS_CLOSE, 1, "\x03", 1);
	feed(&in, s, n, n, ev, sizeof(ev));
	ok(strstr(ev, "bad 1002 a close frame of 1 byte") != NULL,
	    "a 1-byte close: %s", ev);
	n = cf(s, WS_CLOSE, 1, "\x03\xed", 2);
	feed(&in, s, n, n, ev, sizeof(ev));
	ok(strstr(ev, "bad 1002 a close code") != NULL, "close 1005: %s", ev);
	n = cf(s, WS_CLOSE, 1, "\x03\xe8", 2);
	n += cf(s + n, WS_PING, 1, "", 0);
	feed(&in, s, n, n, ev, sizeof(ev));
	ok(strstr(ev, "ctl 8;bad 1002 a frame after the client's close") !=
	    NULL, "a frame after the close: %s", ev);

	/* the server's side: boundaries */
	memset(&o, 0, sizeof(o));
	n = wsf_build(s, sizeof(s), WS_TEXT, "abcdef", 6, NULL);
	s[0] &= 0x7f;				/* FIN 0 */
	k = n;
	n += wsf_build(s + n, sizeof(s) - n, WS_PING, "", 0, NULL);
	n += wsf_build(s + n, sizeof(s) - n, WS_CONT, "gh", 2, NULL);
	ok(wsout_pass(&o, s, 3, 0) == 3 && !wsout_between(&o),
	    "server: inside a frame, nothing may go between");
	ok(wsout_pass(&o, s + 3, n - 3, 1) == n - 3 && wsout_between(&o),
	    "server: stop waits for the fragmented message's end (%zu)", k);
	memset(&o, 0, sizeof(o));
	ok(wsout_pass(&o, s, k + 1, 0) == k && !wsout_between(&o),
	    "server: a header cut short waits");

	/* messages */
	rv = msg("{\"type\":\"subscribe\",\"id\":\"1\","
	    "\"payload\":{\"query\":\"{ a }\"}}", WSG_TRANSPORT, &id, &pl,
	    why, sizeof(why));
	ok(rv == WSG_JUDGE && strcmp(id, "1") == 0 &&
	    strcmp(pl, "{\"query\":\"{ a }\"}") == 0, "subscribe: %d %s",
	    rv, rv == WSG_JUDGE ? pl : why);
	if (rv == WSG_JUDGE) {
		free(id);
		free(pl);
	}
	rv = msg("{\"type\":\"start\",\"id\":\"1\","
	    "\"payload\":{}}", WSG_TRANSPORT, &id, &pl, why, sizeof(why));
	ok(rv == -1 && strstr(why, "type start") != NULL,
	    "start under graphql-transport-ws: %s", why);
	rv = msg("{\"type\":\"start\",\"id\":\"1\","
	    "\"payload\":{}}", WSG_LEGACY, &id, &pl, why, sizeof(why));
	ok(rv == WSG_JUDGE, "start under graphql-ws");
	if (rv == WSG_JUDGE) {
		free(id);
		free(pl);
	}
	rv = msg("{\"type\":\"subscribe\",\"id\":1,"
	    "\"payload\":{}}", WSG_TRANSPORT, &id, &pl, why, sizeof(why));
	ok(rv == -1 && strstr(why, "string id") != NULL,
	    "a number as id: %s", why);
	rv = msg("{\"type\":\"ping\",\"type\":\"subscri"
	    "be\"}", WSG_TRANSPORT, &id, &pl, why, sizeof(why));
	ok(rv == -1 && strstr(why, "duplicate") != NULL,
	    "a duplicate type: %s", why);
	rv = msg("{\"type\":\"ping\"}",
	    WSG_TRANSPORT, &id, &pl, why, sizeof(why));
	ok(rv == WSG_PASS, "ping passes");

	/* the judged connection: allowed, denied (error), denied (4403) */
	memset(&j, 0, sizeof(j));
	j.in.max = 4096;
	j.proto = WSG_TRANSPORT;
	j.judge = judge;
#define SUB(i, q) "{\"type\":\"subscribe\",\"id\":\"" i "\",\"payload\":" \
	    "{\"query\":\"" q "\"}}"
	n = cf(s, WS_TEXT, 1, SUB("1", "subscription { a }"),
	    strlen(SUB("1", "subscription { a }")));
	k = n;
	n += cf(s + n, WS_TEXT, 1, SUB("2", "mutation { a }"),
	    strlen(SUB("2", "mutation { a }")));
	rv = wsj_client(&j, s, n, &used);
	ok(rv == 0 && used == n && j.up.len == k && memcmp(j.up.b + j.up.off,
	    s, k) == 0 && j.down.len > 0 && strstr((char *)j.down.b +
	    j.down.off, "\"id\":\"2\",\"type\":\"error\"") != NULL &&
	    strstr((char *)j.down.b + j.down.off, "lens proxy: denied 2") !=
	    NULL, "allowed one forwarded unchanged, denied one an error");
	wsbuf_free(&j.up);
	wsbuf_free(&j.down);
	n = cf(s, WS_TEXT, 1, SUB("3", "mutation { b }"),
	    strlen(SUB("3", "mutation { b }")));
	rv = wsj_client(&j, s, n, &used);
	ok(rv == -1 && j.dead && j.up.len == 0 && j.down.len >= 4 &&
	    j.down.b[j.down.off] == 0x88 && j.down.b[j.down.off + 2] ==
	    (WS_CLOSE_POLICY >> 8) && j.down.b[j.down.off + 3] ==
	    (WS_CLOSE_POLICY & 0xff), "a second denial: close 4403, "
	    "nothing forwarded");
	ok(verdict_calls == 3, "each subscribe judged once (%d)",
	    verdict_calls);
	wsj_free(&j);

	/* the upgrade's header strip, the subprotocols */
	strlcpy((char *)s, "GET / HTTP/1.1\r\nHost: x\r\nsec-websocket-"
	    "extensions: permessage-deflate\r\nA: b\r\nSec-WebSocket-Extensions:"
	    " x\r\n\r\n", sizeof(s));
	n = ws_strip_field(s, strlen((char *)s), "Sec-WebSocket-Extensions");
	ok(n == 33 && memcmp(s, "GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n\r\n",
	    n) == 0, "Sec-WebSocket-Extensions stripped, every line of it");
	bits = 0;
	ok(ws_subprotocols("graphql-ws , graphql-transport-ws", 33, &bits,
	    why, sizeof(why)) == 0 && bits == (WSG_LEGACY | WSG_TRANSPORT),
	    "both subprotocols");
	ok(ws_subprotocols("graphql-ws, chat", 16, &bits, why,
	    sizeof(why)) == -1 && strstr(why, "chat") != NULL,
	    "another subprotocol: %s", why);
	ok(ws_subprotocols("graphql-ws,,", 12, &bits, why, sizeof(why)) ==
	    -1, "an empty element: %s", why);
	memset(&b, 0, sizeof(b));
	ok(ws_close(&b, 4403, "x") == 0 && b.len == 5 && b.b[0] == 0x88 &&
	    b.b[1] == 3, "the proxy's close frame");
	wsbuf_free(&b);
	return tap_done();
}
