/*
 * Unit test of lenscredd/oauth.c (TAP): the token URL, the stored value
 * (refresh token, client secret), the token request byte for byte, the
 * strict token response parser and its edge cases, and the access
 * token cache under an injected clock and fetcher: expiry with its
 * skew, single-flight (one refresh for any number of waiters), a failed
 * refresh failing every waiter and not retried for 5 s, cancelled
 * waiters, the table's bound.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lenscredd/oauth.c"
#include "tap.h"

/* s for a test line: control bytes as '?' (static buffer) */
static const char *
vis(const char *s)
{
	static char	 b[128];
	size_t		 i;

	for (i = 0; s[i] != '\0' && i < sizeof(b) - 1; i++)
		b[i] = (unsigned char)s[i] < 0x20 ? '?' : s[i];
	b[i] = '\0';
	return b;
}

/* url */

static void
url_good(const char *s, const char *host, unsigned port, const char *target,
    int v6)
{
	struct oauth_url u;
	char		 why[256] = "";
	int		 rc;

	rc = oauth_url(s, &u, why, sizeof(why));
	ok(rc == 0 && strcmp(u.host, host) == 0 && u.port == port &&
	    strcmp(u.target, target) == 0 && u.is_v6 == v6,
	    "url %s: host %s port %u target %s (%s)", s, rc == 0 ? u.host :
	    "-", rc == 0 ? u.port : 0, rc == 0 ? u.target : "-", why);
}

static void
url_bad(const char *s, const char *want)
{
	struct oauth_url u;
	char		 why[256] = "";
	int		 rc;

	rc = oauth_url(s, &u, why, sizeof(why));
	ok(rc == -1 && strstr(why, want) != NULL, "url %s refused: %s",
	    vis(s), why);
}

/* the stored value */

static void
value_good(const char *v, size_t len, const char *rt, const char *sec)
{
	struct oauth_value ov;
	char		 why[256] = "";
	int		 rc;

	rc = oauth_value(v, len, &ov, why, sizeof(why));
	ok(rc == 0 && ov.rlen == strlen(rt) &&
	    memcmp(ov.refresh, rt, ov.rlen) == 0 &&
	    (sec == NULL ? ov.secret == NULL : (ov.secret != NULL &&
	    ov.slen == strlen(sec) && memcmp(ov.secret, sec, ov.slen) == 0)),
	    "value of %zu bytes: refresh token%s (%s)", len,
	    sec != NULL ? " and client secret" : "", why);
}

static void
value_bad(const char *what, const char *v, size_t len, const char *want)
{
	struct oauth_value ov;
	char		 why[256] = "";

	ok(oauth_value(v, len, &ov, why, sizeof(why)) == -1 &&
	    strstr(why, want) != NULL, "value %s refused: %s", what, why);
}

/* the response parser */

static struct oauth_token tok;

static int
parse(int status, const char *body, char *why, size_t whylen)
{
	why[0] = '\0';
	return oauth_parse(status, body, strlen(body), &tok, why, whylen);
}

static void
parse_good(const char *body, const char *access, const char *refresh,
    uint32_t exp)
{
	char	 why[256];
	int	 rc;

	rc = parse(200, body, why, sizeof(why));
	ok(rc == 0 && strcmp(tok.access, access) == 0 &&
	    strcmp(tok.refresh, refresh) == 0 && tok.expires_in == exp,
	    "parse %.70s: access %.20s refresh %.20s expires %u (%s)", body,
	    tok.access, tok.refresh, tok.expires_in, why);
}

static void
parse_bad(int status, const char *body, const char *want)
{
	char	 why[256];
	int	 rc;

	rc = parse(status, body, why, sizeof(why));
	ok(rc == -1 && strstr(why, want) != NULL && tok.access[0] == '\0',
	    "parse %d %.60s refused: %s", status, body, why);
}

/* the cache: a clock and a fetcher the test drives */

static int64_t		 clk;
static int		 nfetch, fetch_fail;
static struct oauth_entry *fetched_e[8];

static int64_t
tnow(void *arg)
{
	(void)arg;
	return clk;
}

static int
tfetch(void *arg, struct oauth_entry *e, const struct oauth_key *k,
    char *why, size_t whylen)
{
	(void)arg;
	(void)k;
	if (fetch_fail) {
		snprintf(why, whylen, "cannot connect to the token endpoint");
		return -1;
	}
	fetched_e[nfetch++ % 8] = e;
	return 0;
}

struct waiter {
	int		 called;
	char		 token[64];
	char		 why[256];
	struct oauth_cache *c;		/* reenter: ask again from the cb */
	struct oauth_key *k;
	enum oauth_state again;
	struct oauth_waiter *cancel;	/* cancel this one from the cb */
};

static void
tcb(void *arg, const char *access, const char *why)
{
	struct waiter		*w = arg;
	struct oauth_waiter	*ow;
	char			 t[OAUTH_TOKEN_MAX + 1], wh[256];

	w->called++;
	snprintf(w->token, sizeof(w->token), "%s", access ? access : "");
	snprintf(w->why, sizeof(w->why), "%s", why ? why : "");
	if (w->cancel != NULL) {
		oauth_cancel(w->c, w->cancel);
		w->cancel = NULL;
	}
	if (w->k != NULL)
		w->again = oauth_get(w->c, w->k, t, tcb, w, &ow, wh,
		    sizeof(wh));
}

static struct oauth_key
key(const char *cred, const char *url, const char *cid)
{
	struct oauth_key k;

	memset(&k, 0, sizeof(k));
	strlcpy(k.cred, cred, sizeof(k.cred));
	strlcpy(k.token_url, url, sizeof(k.token_url));
	strlcpy(k.client_id, cid, sizeof(k.client_id));
	return k;
}

static struct oauth_token
mktok(const char *access, uint32_t exp)
{
	struct oauth_token t;

	memset(&t, 0, sizeof(t));
	strlcpy(t.access, access, sizeof(t.access));
	t.expires_in = exp;
	return t;
}

static void
test_cache(void)
{
	struct oauth_ops	 ops = { tnow, tfetch, NULL };
	struct oauth_cache	*c = oauth_cache_new(&ops);
	struct oauth_key	 ka = key("api", "https://auth.test/token", ""),
				 kb = key("api", "https://auth.test/token", "cli"),
				 kc = key("other", "https://auth.test/token", "");
	struct oauth_waiter	*w1, *w2, *w3, *wx;
	struct waiter		 a = { 0 }, b = { 0 }, d = { 0 }, x = { 0 };
	struct oauth_token	 t;
	char			 tk[OAUTH_TOKEN_MAX + 1], why[256];
	enum oauth_state	 s1, s2, s3;
	int			 i, nfull;

	clk = 1000;
	nfetch = 0;
	s1 = oauth_get(c, &ka, tk, tcb, &a, &w1, why, sizeof(why));
	s2 = oauth_get(c, &ka, tk, tcb, &b, &w2, why, sizeof(why));
	s3 = oauth_get(c, &ka, tk, tcb, &d, &w3, why, sizeof(why));
	ok(s1 == OAUTH_WAIT && s2 == OAUTH_WAIT && s3 == OAUTH_WAIT &&
	    nfetch == 1, "single-flight: three waiters, one refresh "
	    "(%d started)", nfetch);
	clk = 1020;		/* the answer came 20 s later */
	t = mktok("AT-1", 60);
	oauth_fetched(c, fetched_e[0], &t, NULL);
	ok(a.called == 1 && b.called == 1 && d.called == 1 &&
	    strcmp(a.token, "AT-1") == 0 && strcmp(b.token, "AT-1") == 0 &&
	    strcmp(d.token, "AT-1") == 0, "every waiter got the one token, "
	    "once");
	oauth_fetched(c, fetched_e[0], &t, NULL);
	ok(a.called == 1, "a second fetched() for the same refresh calls "
	    "nobody");
	/* 60 s from the request (1000), a quarter (15) early: until 1045 */
	clk = 1044;
	memset(tk, 0, sizeof(tk));
	s1 = oauth_get(c, &ka, tk, tcb, &a, &w1, why, sizeof(why));
	ok(s1 == OAUTH_HAVE && strcmp(tk, "AT-1") == 0 && nfetch == 1,
	    "cached until expiry less skew, counted from the request (t+44)");
	clk = 1045;
	s1 = oauth_get(c, &ka, tk, tcb, &a, &w1, why, sizeof(why));
	ok(s1 == OAUTH_WAIT && nfetch == 2, "refreshed once the skew is "
	    "reached (t+45)");
	t = mktok("AT-2", 3600);
	oauth_fetched(c, fetched_e[1], &t, NULL);
	ok(a.called == 2 && strcmp(a.token, "AT-2") == 0, "the new token "
	    "goes to the waiter");
	clk = 1045 + 3600 - 31;
	s1 = oauth_get(c, &ka, tk, tcb, &a, &w1, why, sizeof(why));
	ok(s1 == OAUTH_HAVE && strcmp(tk, "AT-2") == 0, "expires_in 3600: "
	    "kept until 30 s before");
	clk++;
	s1 = oauth_get(c, &ka, tk, tcb, &a, &w1, why, sizeof(why));
	ok(s1 == OAUTH_WAIT && nfetch == 3, "expires_in 3600: refreshed 30 s "
	    "before");

	/* another client id or credential: a refresh of its own */
	s2 = oauth_get(c, &kb, tk, tcb, &x, &wx, why, sizeof(why));
	s3 = oauth_get(c, &kc, tk, tcb, &x, &wx, why, sizeof(why));
	ok(s2 == OAUTH_WAIT && s3 == OAUTH_WAIT && nfetch == 5 &&
	    fetched_e[3] != fetched_e[2] && fetched_e[4] != fetched_e[3],
	    "another clientId, another credential: their own refreshes");
	ok(strcmp(oauth_entry_key(fetched_e[3])->client_id, "cli") == 0 &&
	    strcmp(oauth_entry_key(fetched_e[4])->cred, "other") == 0,
	    "the fetcher is told the key");

	/* refresh 3 fails: every waiter fails, nothing for 5 s */
	s2 = oauth_get(c, &ka, tk, tcb, &b, &w2, why, sizeof(why));
	oauth_fetched(c, fetched_e[2], NULL,
	    "the token endpoint answered HTTP 400 invalid_grant");
	ok(a.called == 3 && b.called == 2 && a.token[0] == '\0' &&
	    b.token[0] == '\0' && strstr(a.why, "invalid_grant") != NULL &&
	    strstr(b.why, "invalid_grant") != NULL, "a failed refresh fails "
	    "every waiter with its reason (%s)", a.why);
	clk += 4;
	s1 = oauth_get(c, &ka, tk, tcb, &a, &w1, why, sizeof(why));
	ok(s1 == OAUTH_FAILED && nfetch == 5 && strstr(why,
	    "invalid_grant") != NULL, "within 5 s: failed at once, not "
	    "retried (%s)", why);
	clk += 1;
	s1 = oauth_get(c, &ka, tk, tcb, &a, &w1, why, sizeof(why));
	ok(s1 == OAUTH_WAIT && nfetch == 6, "after 5 s: retried");

	/* cancel: a waiter whose exchange ended is not called */
	s2 = oauth_get(c, &ka, tk, tcb, &b, &w2, why, sizeof(why));
	oauth_cancel(c, w2);
	t = mktok("AT-3", 100);
	oauth_fetched(c, fetched_e[5], &t, NULL);
	ok(a.called == 4 && strcmp(a.token, "AT-3") == 0 && b.called == 2,
	    "a cancelled waiter is not called, the other is");

	/* waiters that ask again or cancel another from their callback */
	clk += 1000;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	s1 = oauth_get(c, &ka, tk, tcb, &a, &w1, why, sizeof(why));
	s2 = oauth_get(c, &ka, tk, tcb, &b, &w2, why, sizeof(why));
	s3 = oauth_get(c, &ka, tk, tcb, &d, &w3, why, sizeof(why));
	a.c = c;
	a.cancel = w3;
	b.c = c;
	b.k = &ka;
	d.called = 0;
	t = mktok("AT-4", 1);	/* usable for no time at all */
	clk += 2;
	oauth_fetched(c, fetched_e[6], &t, NULL);
	ok(a.called == 1 && b.called == 1 && d.called == 0 &&
	    b.again == OAUTH_HAVE && nfetch == 7, "from a callback: cancel "
	    "another waiter, ask again (the same answer, no new refresh)");
	s1 = oauth_get(c, &ka, tk, tcb, &a, &w1, why, sizeof(why));
	ok(s1 == OAUTH_WAIT && nfetch == 8, "an already expired token is "
	    "refreshed on the next request");

	/* a refresh that cannot start fails, and counts as one */
	fetch_fail = 1;
	memset(&x, 0, sizeof(x));
	{
		struct oauth_key kd = key("third", "https://auth.test/t", "");

		s1 = oauth_get(c, &kd, tk, tcb, &x, &wx, why, sizeof(why));
		ok(s1 == OAUTH_FAILED && wx == NULL && strstr(why,
		    "cannot connect") != NULL && x.called == 0,
		    "a refresh that cannot start: failed at once (%s)", why);
		fetch_fail = 0;
		s1 = oauth_get(c, &kd, tk, tcb, &x, &wx, why, sizeof(why));
		ok(s1 == OAUTH_FAILED && strstr(why, "not retried") != NULL,
		    "and not retried for 5 s either (%s)", why);
	}
	oauth_cache_free(c);

	/* the bound: OAUTH_MAXENTRY keys waiting, one more refused */
	c = oauth_cache_new(&ops);
	nfull = 0;
	for (i = 0; i < OAUTH_MAXENTRY; i++) {
		char	 n[16];
		struct oauth_key k;

		snprintf(n, sizeof(n), "c%d", i);
		k = key(n, "https://auth.test/t", "");
		if (oauth_get(c, &k, tk, tcb, &x, &wx, why, sizeof(why)) ==
		    OAUTH_WAIT)
			nfull++;
	}
	{
		struct oauth_key k = key("one-more", "https://auth.test/t", "");

		s1 = oauth_get(c, &k, tk, tcb, &x, &wx, why, sizeof(why));
		ok(nfull == OAUTH_MAXENTRY && s1 == OAUTH_FAILED &&
		    strstr(why, "being refreshed") != NULL, "%d keys "
		    "refreshing: one more refused (%s)", nfull, why);
	}
	/* one finished and idle: its place is taken */
	t = mktok("AT-5", 1);
	oauth_fetched(c, fetched_e[(nfetch - 1) % 8], &t, NULL);
	clk += 10;
	{
		struct oauth_key k = key("one-more", "https://auth.test/t", "");

		s1 = oauth_get(c, &k, tk, tcb, &x, &wx, why, sizeof(why));
		ok(s1 == OAUTH_WAIT, "an idle expired entry makes room (%s)",
		    why);
	}
	{
		struct oauth_key k = key("", "https://auth.test/t", "");

		s1 = oauth_get(c, &k, tk, tcb, &x, &wx, why, sizeof(why));
		ok(s1 == OAUTH_FAILED, "an empty credential name refused");
	}
	oauth_cache_free(c);
}

int
main(void)
{
	struct oauth_url	 u;
	struct oauth_value	 v;
	char			 why[256], big[OAUTH_TOKEN_MAX + 200], *req;
	char			 body[OAUTH_TOKEN_MAX + 200], *p;
	size_t			 len;
	const char		*want;

	if (sodium_init() < 0)
		return 1;
	/* the token URL */
	url_good("https://auth.test/oauth/token", "auth.test", 443,
	    "/oauth/token", 0);
	url_good("HTTPS://AUTH.Test:8443", "auth.test", 8443, "/", 0);
	url_good("https://auth.test?x=1", "auth.test", 443, "/?x=1", 0);
	url_good("https://[2001:db8::1]:444/t?a=%41", "2001:db8::1", 444,
	    "/t?a=%41", 1);
	url_good("https://198.18.0.5/tok", "198.18.0.5", 443, "/tok", 0);
	url_bad("http://auth.test/token", "https://");
	url_bad("https://user:pw@auth.test/token", "user information");
	url_bad("https://auth.test:0/t", "port");
	url_bad("https://auth.test:65536/t", "port");
	url_bad("https://auth.test:/t", "port");
	url_bad("https://auth.test/a#frag", "'#'");
	url_bad("https://auth.test/a b", "space");
	url_bad("https://auth.test/a\r\nX: y", "control");
	url_bad("https://auth.test/%zz", "hex");
	url_bad("https://auth.test/%4", "hex");
	url_bad("https:///token", "host");
	url_bad("https://[2001:db8::1/t", "']'");
	url_bad("https://[nonsense]/t", "IPv6");
	url_bad("https://[::1]x/t", "after the IPv6");
	url_bad("https://a..b/t", "label");
	memset(big, 'a', 600);
	memcpy(big, "https://a.test/", 15);
	big[600] = '\0';
	url_bad(big, "longer than");

	/* the stored value */
	value_good("rt-1", 4, "rt-1", NULL);
	value_good("rt-1\nsecret~x", 13, "rt-1", "secret~x");
	value_bad("empty", "", 0, "refresh token");
	value_bad("only a line break", "\n", 1, "refresh token");
	value_bad("with an empty secret", "rt\n", 3, "client secret");
	value_bad("with a space", "r t", 3, "refresh token");
	value_bad("with a NUL", "r\0t", 3, "refresh token");
	value_bad("with CR", "rt\r", 3, "refresh token");
	value_bad("secret with a second line", "rt\nsec\nmore", 11,
	    "client secret");
	memset(big, 'r', OAUTH_TOKEN_MAX + 1);
	value_bad("of 4097 bytes", big, OAUTH_TOKEN_MAX + 1, "refresh token");
	big[OAUTH_TOKEN_MAX] = '\0';
	value_good(big, OAUTH_TOKEN_MAX, big, NULL);

	/* the request, byte for byte */
	oauth_url("https://auth.test/oauth/token?tenant=t1", &u, why,
	    sizeof(why));
	oauth_value("a+b/c=~.\ns&e", 12, &v, why, sizeof(why));
	req = oauth_request(&u, &v, "cli-1", &len, why, sizeof(why));
	want = "POST /oauth/token?tenant=t1 HTTP/1.1\r\n"
	    "Host: auth.test\r\n"
	    "Content-Type: application/x-www-form-urlencoded\r\n"
	    "Accept: application/json\r\n"
	    "Content-Length: 89\r\n"
	    "Connection: close\r\n\r\n"
	    "grant_type=refresh_token&refresh_token=a%2Bb%2Fc%3D~."
	    "&client_id=cli-1&client_secret=s%26e";
	ok(req != NULL && len == strlen(want) && memcmp(req, want, len) == 0,
	    "the token request: head and form body, encoded (%s)",
	    req ? vis(req) : why);
	p = req != NULL ? strstr(req, "\r\n\r\n") : NULL;
	ok(p != NULL && strlen(p + 4) == 89, "Content-Length is the body's");
	free(req);
	oauth_url("https://[2001:db8::1]:444/t", &u, why, sizeof(why));
	oauth_value("rt", 2, &v, why, sizeof(why));
	req = oauth_request(&u, &v, "", &len, why, sizeof(why));
	ok(req != NULL && strstr(req, "Host: [2001:db8::1]:444\r\n") != NULL &&
	    strstr(req, "client_id") == NULL && strstr(req,
	    "client_secret") == NULL && len > 16 &&
	    strcmp(req + len - 16, "refresh_token=rt") == 0,
	    "no clientId, no secret: neither sent; IPv6 Host with its port");
	free(req);
	req = oauth_request(&u, &v, "a b", &len, why, sizeof(why));
	ok(req == NULL && strstr(why, "clientId") != NULL, "a clientId with "
	    "a space refused (%s)", why);
	req = oauth_request(&u, &v, "a\r\nX: y", &len, why, sizeof(why));
	ok(req == NULL, "a clientId with CR/LF refused");

	/* the response parser */
	parse_good("{\"access_token\":\"AT.x-y_z~+/=\",\"token_type\":"
	    "\"Bearer\",\"expires_in\":60}", "AT.x-y_z~+/=", "", 60);
	parse_good("{\"token_type\":\"bearer\",\"access_token\":\"a\"}",
	    "a", "", OAUTH_EXPIRY_DEFAULT);
	parse_good(" {\"access_token\":\"a\",\"token_type\":\"BEARER\","
	    "\"expires_in\":86400,\"refresh_token\":\"rt-2\",\"scope\":"
	    "\"read write\",\"id_token\":{\"x\":[1,2]}} \n", "a", "rt-2",
	    86400);
	parse_good("{\"access_token\":\"a\",\"token_type\":\"Bearer\","
	    "\"expires_in\":1}", "a", "", 1);
	parse_bad(200, "{\"access_token\":\"a\",\"access_token\":\"b\","
	    "\"token_type\":\"Bearer\"}", "duplicate");
	parse_bad(200, "{\"access_token\":\"a\",\"token_type\":\"Bearer\"} x",
	    "not JSON");
	parse_bad(200, "{\"access_token\":\"a\",\"token_type\":\"Bearer\"}{}",
	    "not JSON");
	parse_bad(200, "[{\"access_token\":\"a\",\"token_type\":\"Bearer\"}]",
	    "not a JSON object");
	parse_bad(200, "\"a\"", "not JSON");
	parse_bad(200, "", "not JSON");
	parse_bad(200, "{\"access_token\":\"a\",\"token_type\":\"Bearer\","
	    "\"expires_in\":0}", "expires_in");
	parse_bad(200, "{\"access_token\":\"a\",\"token_type\":\"Bearer\","
	    "\"expires_in\":-5}", "expires_in");
	parse_bad(200, "{\"access_token\":\"a\",\"token_type\":\"Bearer\","
	    "\"expires_in\":86401}", "expires_in");
	parse_bad(200, "{\"access_token\":\"a\",\"token_type\":\"Bearer\","
	    "\"expires_in\":\"60\"}", "expires_in");
	parse_bad(200, "{\"access_token\":\"a\",\"token_type\":\"Bearer\","
	    "\"expires_in\":60.5}", "expires_in");
	parse_bad(200, "{\"access_token\":\"a\",\"token_type\":\"Bearer\","
	    "\"expires_in\":null}", "expires_in");
	parse_bad(200, "{\"access_token\":\"a\",\"token_type\":\"Bearer\","
	    "\"expires_in\":99999999999999999999999}", "not JSON");
	parse_bad(200, "{\"access_token\":\"a\",\"token_type\":\"mac\"}",
	    "not Bearer");
	parse_bad(200, "{\"access_token\":\"a\",\"token_type\":\"Bearerx\"}",
	    "not Bearer");
	parse_bad(200, "{\"access_token\":\"a\"}", "token_type");
	parse_bad(200, "{\"access_token\":\"a\",\"token_type\":1}",
	    "token_type");
	parse_bad(200, "{\"token_type\":\"Bearer\"}", "no access_token");
	parse_bad(200, "{\"access_token\":7,\"token_type\":\"Bearer\"}",
	    "not a string");
	parse_bad(200, "{\"access_token\":\"\",\"token_type\":\"Bearer\"}",
	    "access_token is not");
	parse_bad(200, "{\"access_token\":\"a\\r\\nX-Evil: 1\",\"token_type\":"
	    "\"Bearer\"}", "access_token is not");
	parse_bad(200, "{\"access_token\":\"a b\",\"token_type\":\"Bearer\"}",
	    "access_token is not");
	parse_bad(200, "{\"access_token\":\"a\\u0000b\",\"token_type\":"
	    "\"Bearer\"}", "not JSON");
	parse_bad(200, "{\"access_token\":\"\\u00e9\",\"token_type\":"
	    "\"Bearer\"}", "access_token is not");
	parse_bad(200, "{\"access_token\":\"a\\u007f\",\"token_type\":"
	    "\"Bearer\"}", "access_token is not");
	parse_bad(200, "{\"access_token\":\"a\",\"token_type\":\"Bearer\","
	    "\"refresh_token\":\"x\\ny\"}", "refresh_token is not");
	parse_bad(200, "{\"access_token\":\"a\",\"token_type\":\"Bearer\","
	    "\"refresh_token\":\"\"}", "refresh_token is not");
	parse_bad(200, "{\"access_token\":\"a\xff\",\"token_type\":"
	    "\"Bearer\"}", "not JSON");
	snprintf(body, sizeof(body), "{\"access_token\":\"%0*d\","
	    "\"token_type\":\"Bearer\"}", OAUTH_TOKEN_MAX, 0);
	snprintf(big, sizeof(big), "%0*d", OAUTH_TOKEN_MAX, 0);
	parse_good(body, big, "", OAUTH_EXPIRY_DEFAULT);
	/* the same, one byte more */
	snprintf(body, sizeof(body), "{\"access_token\":\"%0*d\","
	    "\"token_type\":\"Bearer\"}", OAUTH_TOKEN_MAX + 1, 0);
	parse_bad(200, body, "access_token is not");
	parse_bad(400, "{\"error\":\"invalid_grant\",\"error_description\":"
	    "\"revoked\"}", "HTTP 400 invalid_grant");
	parse_bad(401, "<html>no</html>", "HTTP 401");
	parse_bad(400, "{\"error\":\"a\\r\\nb\"}", "HTTP 400");
	{
		char	 w[256];

		parse(400, "{\"error\":\"bad\\\"quote\"}", w, sizeof(w));
		ok(strchr(w, '"') == NULL, "an error code with a quote is not "
		    "repeated (%s)", w);
	}
	parse_bad(500, "{\"access_token\":\"a\",\"token_type\":\"Bearer\"}",
	    "HTTP 500");
	parse_bad(302, "", "HTTP 302");
	{
		char		*huge = calloc(1, OAUTH_RESP_MAX + 2), w[256];
		const char	*j = "{\"access_token\":\"a\",\"token_type\":"
				    "\"Bearer\"}";

		memset(huge, ' ', OAUTH_RESP_MAX + 1);
		memcpy(huge, j, strlen(j));
		ok(oauth_parse(200, huge, OAUTH_RESP_MAX + 1, &tok, w,
		    sizeof(w)) == -1 && strstr(w, "over") != NULL,
		    "a body over 64 KiB refused (%s)", w);
		ok(oauth_parse(200, huge, OAUTH_RESP_MAX, &tok, w,
		    sizeof(w)) == 0, "64 KiB with trailing white space taken");
		free(huge);
	}

	test_cache();
	return tap_done();
}
