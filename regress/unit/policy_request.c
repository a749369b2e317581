/*
 * Unit test of policy_http_request() (common/policy_eval.c, TAP): the
 * per-request decision the proxy asks for every HTTP request on an
 * intercepted or plain-HTTP connection, and the caFile and implied
 * interception of policy_http().  Every case is run on the policy and
 * on the same policy with all its lists reversed: order never matters.
 * The attacker's cases: paths that a server reads as another path
 * (dot segments, "//", escapes of '.', '/', letters, NUL, '#', ";"),
 * case tricks in the method and in escapes, '&' smuggled through a
 * query glob, websocket where no rule allows it, huge targets and
 * patterns that would make a backtracking glob take forever.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy.h"
#include "policy_int.h"
#include "tap.h"

static struct policy *
P(const char *text)
{
	struct policy_error	 err;
	struct policy		*pol;
	char			 buf[600];

	if ((pol = policy_parse("t.yaml", text, strlen(text), &err)) == NULL) {
		policy_strerror(&err, buf, sizeof(buf));
		printf("# unexpected error: %s\n", buf);
		printf("Bail out! a test policy does not parse\n");
		exit(1);
	}
	return pol;
}

/* the policy below, in two orders: rules, and the rules of each rule */
static const char *const texts[2] = {
    "version: 1\nnetwork:\n  egress:\n    http:\n"
    "      - match: api.test\n"
    "        verdict: allow\n"
    "        tlsTerminate: true\n"
    "        caFile: private-ca.pem\n"
    "        rules:\n"
    "          - {method: GET, path: \"/v1/**\", verdict: allow}\n"
    "          - {method: \"*\", path: \"/v1/admin/**\", verdict: deny}\n"
    "          - {method: POST, path: /v1/items, verdict: allow}\n"
    "          - {method: GET, path: /search, query: \"q=*\", "
    "verdict: allow}\n"
    "          - {method: GET, path: /search, query: \"\", verdict: allow}\n"
    "          - {method: GET, path: \"/ws/*\", websocket: true, "
    "verdict: allow}\n"
    "          - {method: DELETE, path: \"/v1/**\", verdict: ask}\n"
    "          - {method: GET, path: \"/files/*/raw\", verdict: allow}\n"
    "          - {method: GET, path: /list, query: \"**\", verdict: allow}\n"
    "          - {method: GET, path: /secret, query: \"**token=**\", "
    "verdict: deny}\n"
    "          - {method: GET, path: /secret, verdict: allow}\n"
    "          - {method: GET, path: \"/enc/*\", verdict: allow}\n"
    "          - {method: GET, path: \"/enc/a%3Fb\", verdict: deny}\n"
    "          - {method: GET, path: \"/both\", websocket: true, "
    "verdict: allow}\n"
    "          - {method: GET, path: \"/both\", verdict: allow}\n"
    "      - {match: \"*.wild.test\", verdict: allow}\n"
    "      - match: x.wild.test\n"
    "        verdict: allow\n"
    "        rules:\n"
    "          - {method: \"*\", path: \"/private/**\", verdict: deny}\n"
    "      - {match: plain.test, verdict: allow, caFile: other.pem}\n"
    "      - {match: denied.test, verdict: deny}\n"
    "      - {match: asked.test, verdict: ask}\n"
    "      - match: \"api.test:8443\"\n"
    "        verdict: allow\n"
    "        rules: [{method: GET, path: /other, verdict: allow}]\n"
    "      - {match: \"*.ca.test\", verdict: allow, caFile: wide.pem}\n"
    "      - {match: \"a.ca.test\", verdict: allow, caFile: narrow.pem}\n"
    "      - {match: \"b.ca.test\", verdict: allow}\n"
    "      - {match: \"b.ca.test\", verdict: ask, caFile: ask.pem}\n",

    "version: 1\nnetwork:\n  egress:\n    http:\n"
    "      - {match: \"b.ca.test\", verdict: ask, caFile: ask.pem}\n"
    "      - {match: \"b.ca.test\", verdict: allow}\n"
    "      - {match: \"a.ca.test\", verdict: allow, caFile: narrow.pem}\n"
    "      - {match: \"*.ca.test\", verdict: allow, caFile: wide.pem}\n"
    "      - match: \"api.test:8443\"\n"
    "        verdict: allow\n"
    "        rules: [{method: GET, path: /other, verdict: allow}]\n"
    "      - {match: asked.test, verdict: ask}\n"
    "      - {match: denied.test, verdict: deny}\n"
    "      - {match: plain.test, verdict: allow, caFile: other.pem}\n"
    "      - match: x.wild.test\n"
    "        verdict: allow\n"
    "        rules:\n"
    "          - {method: \"*\", path: \"/private/**\", verdict: deny}\n"
    "      - {match: \"*.wild.test\", verdict: allow}\n"
    "      - match: api.test\n"
    "        verdict: allow\n"
    "        tlsTerminate: true\n"
    "        caFile: private-ca.pem\n"
    "        rules:\n"
    "          - {method: GET, path: \"/both\", verdict: allow}\n"
    "          - {method: GET, path: \"/both\", websocket: true, "
    "verdict: allow}\n"
    "          - {method: GET, path: \"/enc/a%3Fb\", verdict: deny}\n"
    "          - {method: GET, path: \"/enc/*\", verdict: allow}\n"
    "          - {method: GET, path: /secret, verdict: allow}\n"
    "          - {method: GET, path: /secret, query: \"**token=**\", "
    "verdict: deny}\n"
    "          - {method: GET, path: /list, query: \"**\", verdict: allow}\n"
    "          - {method: GET, path: \"/files/*/raw\", verdict: allow}\n"
    "          - {method: DELETE, path: \"/v1/**\", verdict: ask}\n"
    "          - {method: GET, path: \"/ws/*\", websocket: true, "
    "verdict: allow}\n"
    "          - {method: GET, path: /search, query: \"\", verdict: allow}\n"
    "          - {method: GET, path: /search, query: \"q=*\", "
    "verdict: allow}\n"
    "          - {method: POST, path: /v1/items, verdict: allow}\n"
    "          - {method: \"*\", path: \"/v1/admin/**\", verdict: deny}\n"
    "          - {method: GET, path: \"/v1/**\", verdict: allow}\n",
};

#define A	VERDICT_ALLOW
#define D	VERDICT_DENY
#define K	VERDICT_ASK

static const struct rcase {
	const char	*host;
	uint16_t	 port;
	const char	*method, *path, *query;
	enum verdict	 verdict;
	const char	*rule;		/* the host rule reported */
	const char	*sub;		/* "METHOD path [query]" that decided */
	int		 websocket;
	const char	*why;
	const char	*name;
} cases[] = {
	/* plain decisions */
	{ "api.test", 443, "GET", "/v1/items", NULL, A, "api.test",
	    "GET /v1/**", 0, NULL, "GET under /v1/**: allowed" },
	{ "API.Test.", 443, "GET", "/v1/items", "", A, "api.test",
	    "GET /v1/**", 0, NULL, "the host as policy_http reads it" },
	{ "api.test", 443, "GET", "/v1/", NULL, A, "api.test", "GET /v1/**",
	    0, NULL, "** matches an empty rest" },
	{ "api.test", 443, "GET", "/v1", NULL, D, "api.test", NULL, 0,
	    "no request rule matches", "/v1/** does not match /v1" },
	{ "api.test", 443, "GET", "/v1/a/b/c/", NULL, A, "api.test",
	    "GET /v1/**", 0, NULL, "** crosses segments" },
	{ "api.test", 443, "POST", "/v1/items", NULL, A, "api.test",
	    "POST /v1/items", 0, NULL, "POST on its exact path" },
	{ "api.test", 443, "POST", "/v1/items/1", NULL, D, "api.test", NULL,
	    0, "no request rule matches", "POST elsewhere: no rule, deny" },
	{ "api.test", 443, "GET", "/v1/admin/users", NULL, D, "api.test",
	    "* /v1/admin/**", 0, "denied by a request rule",
	    "a matching deny wins over a matching allow" },
	{ "api.test", 443, "PUT", "/v1/admin/", NULL, D, "api.test",
	    "* /v1/admin/**", 0, "denied by a request rule",
	    "method * matches every method" },
	{ "api.test", 443, "DELETE", "/v1/items", NULL, K, "api.test",
	    "DELETE /v1/**", 0, "ask: no approval channel yet",
	    "a request rule's ask: ask (denied until approvals)" },
	{ "api.test", 443, "DELETE", "/v1/admin/x", NULL, D, "api.test",
	    "* /v1/admin/**", 0, "denied by a request rule",
	    "deny wins over ask" },
	{ "api.test", 443, "GET", "/files/x/raw", NULL, A, "api.test",
	    "GET /files/*/raw", 0, NULL, "* matches one segment" },
	{ "api.test", 443, "GET", "/files/x/y/raw", NULL, D, "api.test",
	    NULL, 0, "no request rule matches", "* does not cross /" },
	{ "api.test", 443, "GET", "/files/raw", NULL, D, "api.test", NULL, 0,
	    "no request rule matches", "* needs its segment" },
	{ "api.test", 443, "GET", "/v1/...", NULL, A, "api.test",
	    "GET /v1/**", 0, NULL, "\"...\" is a name, not a dot segment" },
	{ "api.test", 443, "GET", "/v1/a%20b", NULL, A, "api.test",
	    "GET /v1/**", 0, NULL, "an escaped space is normal" },
	{ "api.test", 443, "GET", "/v1/admin;x/users", NULL, D, "api.test",
	    NULL, 0, "path not normal",
	    "/v1/admin;x/users (read as /v1/admin/users by some)" },
	{ "api.test", 443, "GET", "/v1/admin%3Bx/users", NULL, D, "api.test",
	    NULL, 0, "path not normal", "an escaped ; (%3B)" },

	/* the method is case-sensitive */
	{ "api.test", 443, "get", "/v1/items", NULL, D, "api.test", NULL, 0,
	    "no request rule matches", "method get is not GET" },
	{ "api.test", 443, "Get", "/v1/items", NULL, D, "api.test", NULL, 0,
	    "no request rule matches", "method Get is not GET" },
	{ "api.test", 443, "post", "/v1/admin/x", NULL, D, "api.test",
	    "* /v1/admin/**", 0, "denied by a request rule",
	    "an odd method is still caught by a * deny" },
	{ "api.test", 443, "", "/v1/items", NULL, D, "api.test", NULL, 0,
	    "no method or path", "empty method" },
	{ "api.test", 443, NULL, "/v1/items", NULL, D, "api.test", NULL, 0,
	    "no method or path", "no method" },
	{ "api.test", 443, "GET", NULL, NULL, D, "api.test", NULL, 0,
	    "no method or path", "no path" },

	/* paths a server reads otherwise: refused when rules apply */
	{ "api.test", 443, "GET", "/v1/../admin", NULL, D, "api.test", NULL,
	    0, "path not normal", "/v1/../admin" },
	{ "api.test", 443, "GET", "/v1/..", NULL, D, "api.test", NULL, 0,
	    "path not normal", "/v1/.. at the end" },
	{ "api.test", 443, "GET", "/v1/./x", NULL, D, "api.test", NULL, 0,
	    "path not normal", "/v1/./x" },
	{ "api.test", 443, "GET", "/v1/.", NULL, D, "api.test", NULL, 0,
	    "path not normal", "/v1/. at the end" },
	{ "api.test", 443, "GET", "/v1/%2e%2e/admin", NULL, D, "api.test",
	    NULL, 0, "path not normal", "/v1/%2e%2e/admin" },
	{ "api.test", 443, "GET", "/v1/%2E%2E/admin", NULL, D, "api.test",
	    NULL, 0, "path not normal", "/v1/%2E%2E/admin" },
	{ "api.test", 443, "GET", "/v1/.%2e/admin", NULL, D, "api.test",
	    NULL, 0, "path not normal", "/v1/.%2e/admin" },
	{ "api.test", 443, "GET", "/v1/%252e%252e/admin", NULL, D,
	    "api.test", NULL, 0, "path not normal",
	    "double escape /v1/%252e%252e/admin" },
	{ "api.test", 443, "GET", "/v1/%c0%ae%c0%ae/admin", NULL, D,
	    "api.test", NULL, 0, "path not normal",
	    "overlong UTF-8 dots /v1/%c0%ae%c0%ae/admin" },
	{ "api.test", 443, "GET", "/v1/..;/admin", NULL, D, "api.test", NULL,
	    0, "path not normal", "/v1/..;/admin (read as .. by some)" },
	{ "api.test", 443, "GET", "//admin", NULL, D, "api.test", NULL, 0,
	    "path not normal", "//admin" },
	{ "api.test", 443, "GET", "/v1//admin", NULL, D, "api.test", NULL, 0,
	    "path not normal", "/v1//admin" },
	{ "api.test", 443, "GET", "/v1/a%2fadmin", NULL, D, "api.test",
	    NULL, 0, "path not normal", "an escaped / (%2f)" },
	{ "api.test", 443, "GET", "/v1/a%5Cadmin", NULL, D, "api.test",
	    NULL, 0, "path not normal", "an escaped \\ (%5C)" },
	{ "api.test", 443, "GET", "/v1\\admin", NULL, D, "api.test", NULL, 0,
	    "path not normal", "a backslash" },
	{ "api.test", 443, "GET", "/v1/%61dmin", NULL, D, "api.test", NULL,
	    0, "path not normal", "an escaped letter (%61)" },
	{ "api.test", 443, "GET", "/v1/a%00", NULL, D, "api.test", NULL, 0,
	    "path not normal", "%00" },
	{ "api.test", 443, "GET", "/v1/a#frag", NULL, D, "api.test", NULL, 0,
	    "path not normal", "a #" },
	{ "api.test", 443, "GET", "/v1/a?b", NULL, D, "api.test", NULL, 0,
	    "path not normal", "a ? in the path" },
	{ "api.test", 443, "GET", "/v1/a b", NULL, D, "api.test", NULL, 0,
	    "path not normal", "a space" },
	{ "api.test", 443, "GET", "/v1/\xc3\xa4", NULL, D, "api.test", NULL,
	    0, "path not normal", "raw UTF-8" },
	{ "api.test", 443, "GET", "/v1/a\tb", NULL, D, "api.test", NULL, 0,
	    "path not normal", "a tab" },
	{ "api.test", 443, "GET", "/v1/%zz", NULL, D, "api.test", NULL, 0,
	    "path not normal", "a bad escape" },
	{ "api.test", 443, "GET", "/v1/%2", NULL, D, "api.test", NULL, 0,
	    "path not normal", "a cut escape" },
	{ "api.test", 443, "GET", "v1/items", NULL, D, "api.test", NULL, 0,
	    "path not normal", "no leading /" },
	{ "api.test", 443, "OPTIONS", "*", NULL, D, "api.test", NULL, 0,
	    "path not normal", "OPTIONS *" },
	{ "api.test", 443, "GET", "", NULL, D, "api.test", NULL, 0,
	    "path not normal", "an empty path" },
	{ "api.test", 443, "GET", "http://api.test/v1/x", NULL, D,
	    "api.test", NULL, 0, "path not normal",
	    "absolute form (the proxy passes the path)" },

	/* escapes: compared as sent, hex digits in any case */
	{ "api.test", 443, "GET", "/enc/a%3Fb", NULL, D, "api.test",
	    "GET /enc/a%3Fb", 0, "denied by a request rule",
	    "an escaped ? as the deny rule writes it" },
	{ "api.test", 443, "GET", "/enc/a%3fb", NULL, D, "api.test",
	    "GET /enc/a%3Fb", 0, "denied by a request rule",
	    "the same escape in lower case: still denied" },
	{ "api.test", 443, "GET", "/enc/a%3Fc", NULL, A, "api.test",
	    "GET /enc/*", 0, NULL, "another escape: allowed by /enc/*" },

	/* queries */
	{ "api.test", 443, "GET", "/search", "q=cats", A, "api.test",
	    "GET /search q=*", 0, NULL, "q=* matches q=cats" },
	{ "api.test", 443, "GET", "/search", "q=", A, "api.test",
	    "GET /search q=*", 0, NULL, "q=* matches q=" },
	{ "api.test", 443, "GET", "/search", "q=cats&admin=1", D, "api.test",
	    NULL, 0, "no request rule matches",
	    "* in a query does not cross &" },
	{ "api.test", 443, "GET", "/search", "q=cats;admin=1", D, "api.test",
	    NULL, 0, "no request rule matches",
	    "* in a query does not cross ; (a separator to some)" },
	{ "api.test", 443, "GET", "/search", "admin=1&q=x", D, "api.test",
	    NULL, 0, "no request rule matches", "q=* is the whole query" },
	{ "api.test", 443, "GET", "/search", "", A, "api.test",
	    "GET /search \"\"", 0, NULL, "query \"\": no query" },
	{ "api.test", 443, "GET", "/search", NULL, A, "api.test",
	    "GET /search \"\"", 0, NULL, "query NULL is \"\"" },
	{ "api.test", 443, "GET", "/search", "x=1", D, "api.test", NULL, 0,
	    "no request rule matches", "a query no pattern takes" },
	{ "api.test", 443, "GET", "/search", "q=a%20b", A, "api.test",
	    "GET /search q=*", 0, NULL, "an escaped space in a query" },
	{ "api.test", 443, "GET", "/search", "q=a%2Fb%3A", A, "api.test",
	    "GET /search q=*", 0, NULL, "escaped / and : in a query are fine" },
	{ "api.test", 443, "GET", "/list", "a=1&b=2", A, "api.test",
	    "GET /list **", 0, NULL, "** takes any query" },
	{ "api.test", 443, "GET", "/list", NULL, A, "api.test",
	    "GET /list **", 0, NULL, "** takes no query" },
	{ "api.test", 443, "GET", "/secret", NULL, A, "api.test",
	    "GET /secret", 0, NULL, "a rule without query: any query" },
	{ "api.test", 443, "GET", "/secret", "x=1", A, "api.test",
	    "GET /secret", 0, NULL, "... also x=1" },
	{ "api.test", 443, "GET", "/secret", "token=abc", D, "api.test",
	    "GET /secret **token=**", 0, "denied by a request rule",
	    "a query deny wins" },
	{ "api.test", 443, "GET", "/secret", "a=1&token=abc&b", D,
	    "api.test", "GET /secret **token=**", 0,
	    "denied by a request rule", "** crosses &" },
	{ "api.test", 443, "GET", "/secret", "%74oken=abc", D, "api.test",
	    NULL, 0, "query not normal",
	    "an escaped letter in the query cannot dodge the deny" },
	{ "api.test", 443, "GET", "/secret", "a#token=x", D, "api.test",
	    NULL, 0, "query not normal", "a # in the query" },
	{ "api.test", 443, "GET", "/secret", "a=%00", D, "api.test", NULL,
	    0, "query not normal", "%00 in the query" },
	{ "api.test", 443, "GET", "/secret", "a b", D, "api.test", NULL, 0,
	    "query not normal", "a space in the query" },
	{ "api.test", 443, "GET", "/v1/items", "%00#", A, "api.test",
	    "GET /v1/**", 0, NULL,
	    "rules without a query pattern do not read the query" },

	/* websocket */
	{ "api.test", 443, "GET", "/ws/chat", NULL, A, "api.test",
	    "GET /ws/* ws", 1, NULL, "websocket: true" },
	{ "api.test", 443, "POST", "/ws/chat", NULL, D, "api.test", NULL, 0,
	    "no request rule matches", "websocket rule for GET only" },
	{ "api.test", 443, "GET", "/both", NULL, A, "api.test",
	    "GET /both ws", 1, NULL,
	    "two allow rules, one with websocket: websocket" },

	/* host decisions */
	{ "denied.test", 443, "GET", "/", NULL, D, "denied.test", NULL, 0,
	    "name not allowed", "host deny" },
	{ "asked.test", 443, "GET", "/", NULL, K, "asked.test", NULL, 0,
	    "ask: no approval channel yet", "host ask" },
	{ "none.test", 443, "GET", "/", NULL, D, NULL, NULL, 0,
	    "name not allowed", "no host rule: defaultVerdict deny" },
	{ "api.test", 2222, "GET", "/v1/items", NULL, D, NULL, NULL, 0,
	    "name not allowed", "a port-less rule does not cover 2222" },
	{ "a..test", 443, "GET", "/", NULL, D, NULL, NULL, 0,
	    "name not allowed", "a bad name" },
	{ NULL, 443, "GET", "/", NULL, D, NULL, NULL, 0, "name not allowed",
	    "no name" },
	{ "plain.test", 443, "GET", "/a/../b//c", "%00", A, "plain.test",
	    NULL, 0, NULL, "no request rules: every request, as sent" },
	{ "plain.test", 80, "get", "*", NULL, A, "plain.test", NULL, 0, NULL,
	    "no request rules, port 80" },
	{ "plain.test", 80, "GET", "/chat", NULL, A, "plain.test", NULL, 0,
	    NULL, "no request rules: no websocket either" },
	{ "api.test", 80, "GET", "/v1/items", NULL, A, "api.test",
	    "GET /v1/**", 0, NULL, "port 80: the same rules" },
	{ "api.test", 8443, "GET", "/other", NULL, A, "api.test:8443",
	    "GET /other", 0, NULL, "port 8443: its own rule and rules" },
	{ "api.test", 8443, "GET", "/v1/items", NULL, D, "api.test:8443",
	    NULL, 0, "no request rule matches",
	    "port 8443: not the rules of the port-less rule" },

	/* several allow rules: the rules of all of them */
	{ "x.wild.test", 443, "GET", "/private/a", NULL, D, "x.wild.test",
	    "* /private/**", 0, "denied by a request rule",
	    "the deny of x.wild.test wins over *.wild.test's allow-all" },
	{ "x.wild.test", 443, "GET", "/public", NULL, A, "*.wild.test", NULL,
	    0, NULL, "*.wild.test without rules allows the rest" },
	{ "x.wild.test", 443, "GET", "//private/a", NULL, D, "x.wild.test",
	    NULL, 0, "path not normal",
	    "// cannot dodge the deny through the allow-all" },
	{ "x.wild.test", 443, "GET", "/%70rivate/a", NULL, D, "x.wild.test",
	    NULL, 0, "path not normal", "nor an escaped letter" },
	{ "y.wild.test", 443, "GET", "//private/a", NULL, A, "*.wild.test",
	    NULL, 0, NULL, "y.wild.test: no request rules at all" },
};

/* "METHOD path [query|\"\"] [ws]" of the request rule that decided */
static void
describe(const struct policy *pol, const struct policy_request_decision *d,
    char *buf, size_t size)
{
	const struct http_sub	*s = NULL;
	size_t			 i;

	buf[0] = '\0';
	for (i = 0; i < pol->nhttp && d->sub >= 0; i++)
		if (d->rule != NULL && strcmp(pol->http[i].match, d->rule) ==
		    0 && (size_t)d->sub < pol->http[i].nsubs)
			s = &pol->http[i].subs[d->sub];
	if (s == NULL)
		return;
	snprintf(buf, size, "%s %s%s%s%s%s", s->method, s->path,
	    s->query ? " " : "", s->query ? (*s->query ? s->query : "\"\"") :
	    "", s->websocket ? " " : "", s->websocket ? "ws" : "");
}

static int
streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static void
test_cases(void)
{
	struct policy_request_decision	 d;
	struct policy			*pol;
	const struct rcase		*c;
	char				 sub[300];
	size_t				 i;
	int				 o, good;

	for (o = 0; o < 2; o++) {
		pol = P(texts[o]);
		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			c = &cases[i];
			memset(&d, 0xa5, sizeof(d));
			policy_http_request(pol, c->host, c->port, c->method,
			    c->path, c->query, &d);
			describe(pol, &d, sub, sizeof(sub));
			good = d.verdict == c->verdict &&
			    streq(d.rule, c->rule) &&
			    (c->sub ? strcmp(sub, c->sub) == 0 : d.sub == -1) &&
			    d.websocket == c->websocket &&
			    streq(d.why, c->why);
			if (!ok(good, "order %d: %s", o, c->name))
				printf("#   got %s rule %s sub %d (%s) ws %d "
				    "why %s\n", verdict_name(d.verdict),
				    d.rule ? d.rule : "NULL", d.sub, sub,
				    d.websocket, d.why ? d.why : "NULL");
		}
		policy_free(pol);
	}
}

static void
test_http(void)
{
	struct policy_http_decision	 d;
	struct policy			*pol;
	int				 o;

	for (o = 0; o < 2; o++) {
		pol = P(texts[o]);
		policy_http(pol, "api.test", 443, &d);
		ok(d.verdict == A && d.tls_terminate &&
		    streq(d.cafile, "private-ca.pem"), "order %d: policy_http "
		    "reports caFile", o);
		policy_http(pol, "plain.test", 443, &d);
		ok(d.verdict == A && !d.tls_terminate &&
		    streq(d.cafile, "other.pem"), "order %d: caFile without "
		    "tlsTerminate is reported, interception is not implied", o);
		policy_http(pol, "x.wild.test", 443, &d);
		ok(d.verdict == A && d.tls_terminate && d.cafile == NULL &&
		    streq(d.rule, "x.wild.test"), "order %d: request rules "
		    "imply interception (they cannot be judged otherwise)", o);
		policy_http(pol, "y.wild.test", 443, &d);
		ok(d.verdict == A && !d.tls_terminate && d.cafile == NULL,
		    "order %d: no rules, no tlsTerminate: passthrough", o);
		policy_http(pol, "a.ca.test", 443, &d);
		ok(d.verdict == A && streq(d.cafile, "narrow.pem"),
		    "order %d: the most specific rule's caFile", o);
		policy_http(pol, "c.ca.test", 443, &d);
		ok(d.verdict == A && streq(d.cafile, "wide.pem"),
		    "order %d: the wildcard's caFile", o);
		policy_http(pol, "b.ca.test", 443, &d);
		ok(d.verdict == A && streq(d.cafile, "wide.pem"),
		    "order %d: an exact rule without caFile takes the "
		    "wildcard's; an ask rule's caFile is not used", o);
		policy_http(pol, "denied.test", 443, &d);
		ok(d.verdict == D && d.cafile == NULL, "order %d: no caFile "
		    "on deny", o);
		policy_http(pol, "api.test", 8443, &d);
		ok(d.verdict == A && d.tls_terminate && d.cafile == NULL,
		    "order %d: api.test:8443: its own rule, no caFile", o);
		policy_free(pol);
	}
}

static void
test_default_allow(void)
{
	struct policy_request_decision	 d;
	struct policy			*pol;

	pol = P("version: 1\nnetwork:\n  defaultVerdict: allow\n"
	    "  egress:\n    http:\n"
	    "      - {match: no.test, verdict: deny}\n"
	    "      - match: r.test\n        verdict: allow\n"
	    "        rules: [{method: GET, path: /ok, verdict: allow}]\n"
	    "      - match: d.test\n        verdict: deny\n"
	    "        rules: [{method: GET, path: /ok, verdict: allow}]\n");
	policy_http_request(pol, "any.test", 443, "FOO", "/../x", "#", &d);
	ok(d.verdict == A && d.rule == NULL && d.sub == -1 && !d.websocket &&
	    d.why == NULL, "defaultVerdict allow: every request, no rule");
	policy_http_request(pol, "no.test", 443, "GET", "/", NULL, &d);
	ok(d.verdict == D && streq(d.rule, "no.test") &&
	    streq(d.why, "name not allowed"), "defaultVerdict allow: a deny");
	policy_http_request(pol, "r.test", 443, "GET", "/no", NULL, &d);
	ok(d.verdict == D && streq(d.rule, "r.test") &&
	    streq(d.why, "no request rule matches"),
	    "defaultVerdict allow does not open what request rules close");
	policy_http_request(pol, "d.test", 443, "GET", "/ok", NULL, &d);
	ok(d.verdict == D && streq(d.why, "name not allowed"),
	    "an allow request rule under a deny host rule allows nothing");
	policy_free(pol);

	pol = P("version: 1\nnetwork:\n  defaultVerdict: ask\n");
	policy_http_request(pol, "any.test", 443, "GET", "/", NULL, &d);
	ok(d.verdict == K && d.rule == NULL &&
	    streq(d.why, "ask: no approval channel yet"),
	    "defaultVerdict ask: ask");
	policy_free(pol);
}

static void
test_limits(void)
{
	struct policy_request_decision	 d;
	struct policy			*pol;
	char				*path, *pat, *text;
	clock_t				 t0;
	double				 secs;
	size_t				 i;

	path = malloc(POLICY_MAXTARGET + 2);
	pat = malloc(1100);
	text = malloc(4000);
	if (path == NULL || pat == NULL || text == NULL)
		abort();

	/* a pattern of 1017 bytes, "/" and "**a" x 338 and "b" */
	strlcpy(pat, "/", 1100);
	for (i = 0; i < 338; i++)
		strlcat(pat, "**a", 1100);
	strlcat(pat, "b", 1100);
	snprintf(text, 4000, "version: 1\nnetwork:\n  egress:\n    http:\n"
	    "      - match: big.test\n        verdict: allow\n"
	    "        rules:\n"
	    "          - {method: GET, path: \"%s\", verdict: allow}\n"
	    "          - {method: GET, path: \"/**\", query: \"%s\", "
	    "verdict: allow}\n"
	    "          - {method: GET, path: \"/a/**\", verdict: allow}\n",
	    pat, pat + 1);
	pol = P(text);

	path[0] = '/';
	memset(path + 1, 'a', POLICY_MAXTARGET - 1);
	path[POLICY_MAXTARGET] = '\0';
	t0 = clock();
	policy_http_request(pol, "big.test", 443, "GET", path, path + 1, &d);
	secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	ok(d.verdict == D && streq(d.why, "no request rule matches"),
	    "a path and a query of %d bytes against a pattern of %zu bytes "
	    "with 338 ** (%.3f s)", POLICY_MAXTARGET, strlen(pat), secs);
	ok(secs < 2.0, "no backtracking: it took %.3f s", secs);

	path[POLICY_MAXTARGET - 1] = 'b';
	policy_http_request(pol, "big.test", 443, "GET", path, NULL, &d);
	ok(d.verdict == A && d.sub == 0, "a %d-byte path that matches it",
	    POLICY_MAXTARGET);

	memcpy(path, "/a/", 3);
	policy_http_request(pol, "big.test", 443, "GET", path, NULL, &d);
	ok(d.verdict == A, "a path of exactly %d bytes is judged",
	    POLICY_MAXTARGET);
	path[POLICY_MAXTARGET] = 'a';
	path[POLICY_MAXTARGET + 1] = '\0';
	policy_http_request(pol, "big.test", 443, "GET", path, NULL, &d);
	ok(d.verdict == D && streq(d.why, "path too long"),
	    "%d bytes: path too long", POLICY_MAXTARGET + 1);

	policy_http_request(pol, "big.test", 443, "GET", "/x", path + 1, &d);
	ok(d.verdict == D && streq(d.why, "no request rule matches"),
	    "a query of %d bytes is judged", POLICY_MAXTARGET);
	policy_http_request(pol, "big.test", 443, "GET", "/x", path, &d);
	ok(d.verdict == D && streq(d.why, "query not normal"),
	    "a query of %d bytes where a rule reads it: refused",
	    POLICY_MAXTARGET + 1);
	policy_free(pol);
	free(path);
	free(pat);
	free(text);
}

int
main(void)
{
	test_cases();
	test_http();
	test_default_allow();
	test_limits();
	return tap_done();
}
