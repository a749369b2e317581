/*
 * Unit test of the GraphQL parser (common/graphql.c) and of graphql:
 * request rules through policy_http_request()/policy_http_body()
 * (common/policy_graphql.c, policy_eval.c), TAP.  The attacker's cases:
 * a mutation behind an alias, a fragment (nested, inline, spread twice),
 * a second operation, a batch element, operationName picking another
 * operation, a persisted query's hash without its document, strings and
 * block strings holding braces and "mutation", comments, GraphQL
 * parameters in the URL, bodies that are not strict JSON, fragment
 * cycles, documents deep or wide enough to hurt a naive parser.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "graphql.h"
#include "policy.h"
#include "policy_int.h"
#include "tap.h"

/* the parser: doc, 1 parses / 0 refused, the reason's words */
struct pcase {
	const char	*doc;
	int		 ok;
	const char	*why;
	const char	*what;
};

static const struct pcase pcases[] = {
	{ "{ a }", 1, NULL, "shorthand query" },
	{ "query { a b { c } }", 1, NULL, "anonymous query" },
	{ "query Q($id: ID! = \"x\", $l: [Int!]! @d) @dir(a: 1) "
	    "{ a(id: $id, o: {x: [1, 2.5e3, -0, true, null, ENUM, \"s\"]}) "
	    "@include(if: $l) { b } }", 1, NULL, "variables, values, directives" },
	{ "{ a(s: \"}mutation { x }\\\"\\u00e9\\u{1F600}\") }", 1, NULL,
	    "a string holding braces and escapes" },
	{ "{ a(s: \"\"\"block } \\\"\"\" \"\" \"\"\") }", 1, NULL,
	    "a block string with an escaped triple quote" },
	{ "# comment { mutation\n{ a } # another\n", 1, NULL, "comments" },
	{ "\xef\xbb\xbf{ a },,,", 1, NULL, "a byte order mark, commas" },
	{ "fragment F on T { a } query { ...F ... on T { b } ... @d { c } }",
	    1, NULL, "fragments: spread, inline, inline without a type" },
	{ "", 0, "empty document", "empty" },
	{ "   # only a comment", 0, "empty document", "only a comment" },
	{ "{ }", 0, "empty selection set", "empty selection set" },
	{ "{ a", 0, "expected", "unterminated selection set" },
	{ "{ a(s: \"x) }", 0, "unterminated string", "unterminated string" },
	{ "{ a(s: \"\"\"x) }", 0, "unterminated block string",
	    "unterminated block string" },
	{ "{ a(s: \"a\nb\") }", 0, "line break in a string",
	    "line break in a string" },
	{ "{ a(s: \"\\q\") }", 0, "bad escape", "bad escape" },
	{ "{ a(s: \"\\u12\") }", 0, "bad \\u escape", "short \\u escape" },
	{ "{ a(s: \"\\u{D800}\") }", 0, "bad \\u{} escape", "a surrogate" },
	{ "{ a(n: 01) }", 0, "leading zero", "leading zero" },
	{ "{ a(n: 1.) }", 0, "bad number", "bad float" },
	{ "{ a(n: 1x) }", 0, "bad number", "a number then a name" },
	{ "{ a(n: $v) }", 1, NULL, "a variable in an argument" },
	{ "query ($v: Int = $w) { a }", 0, "variable in a constant",
	    "a variable in a default value" },
	{ "{ a .. }", 0, "'.' other than", "two dots" },
	{ "{ a \x01 }", 0, "unexpected character 0x01", "a control character" },
	{ "type Query { a: Int }", 0, "not an executable definition",
	    "a type system definition" },
	{ "schema { query: Q }", 0, "not an executable definition", "schema" },
	{ "{ a } { b }", 0, "anonymous operation beside",
	    "two anonymous operations" },
	{ "query A { a } { b }", 0, "anonymous operation beside",
	    "an anonymous operation beside a named one" },
	{ "query A { a } mutation A { b }", 0, "operation A defined twice",
	    "two operations of one name" },
	{ "fragment F on T { a } fragment F on T { b } { ...F }", 0,
	    "fragment F defined twice", "two fragments of one name" },
	{ "fragment on on T { a } { a }", 0, "fragment named \"on\"",
	    "a fragment named on" },
	{ "fragment F { a } { a }", 0, "\"on\" expected",
	    "a fragment without a type condition" },
	{ "{ a: }", 0, "field name after an alias", "an alias without a name" },
	{ "{ a(x) }", 0, "':' expected", "an argument without a value" },
	{ "{ a() }", 0, "argument name expected", "empty arguments" },
	{ "{ a @ }", 0, "directive name expected", "a bare @" },
	{ "query Q() { a }", 0, "'$' expected", "empty variable definitions" },
	{ "{ a(o: {x 1}) }", 0, "':' expected", "an object field without ':'" },
	{ "{ a(l: [1, 2) }", 0, "value expected", "an unterminated list" },
};

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

static const char policy_text[] =
    "version: 1\nnetwork:\n  egress:\n    http:\n"
    "      - match: gql.test\n"
    "        verdict: allow\n"
    "        rules:\n"
    "          - {method: POST, path: /graphql, verdict: allow,\n"
    "             graphql: {operations: [query], fields: [viewer, repo, "
    "\"search*\", __typename]}}\n"
    "          - {method: POST, path: /graphql, verdict: deny,\n"
    "             graphql: {operations: [mutation, subscription]}}\n"
    "          - {method: POST, path: /graphql, verdict: deny,\n"
    "             graphql: {fields: [secrets]}}\n"
    "          - {method: POST, path: /named, verdict: allow,\n"
    "             graphql: {operationNames: [\"Get*\"]}}\n"
    "          - {method: POST, path: /open, verdict: allow}\n"
    "          - {method: \"*\", path: /open, verdict: deny,\n"
    "             graphql: {operations: [mutation]}}\n"
    "          - {method: \"*\", path: /admin, verdict: deny}\n"
    "          - {method: POST, path: /admin, verdict: allow,\n"
    "             graphql: {operations: [query]}}\n"
    "          - {method: GET, path: /ws, verdict: allow, websocket: true,\n"
    "             graphql: {operations: [subscription]}}\n";

/* a request to the policy: body, verdict, reason's words (deny) */
struct rcase {
	const char	*path;
	const char	*query;
	const char	*ctype;
	const char	*body;
	enum verdict	 v;
	const char	*why;
	const char	*what;
};

#define J "application/json"
static const struct rcase rcases[] = {
	{ "/graphql", NULL, J, "{\"query\":\"{ viewer { login } }\"}",
	    VERDICT_ALLOW, NULL, "an allowed query" },
	{ "/graphql", NULL, J, "{\"query\":\"query Q { repo(n: 1) { id } "
	    "searchUsers { id } }\",\"variables\":{}}", VERDICT_ALLOW, NULL,
	    "a named query, a field by glob" },
	{ "/graphql", NULL, J, "{\"query\":\"mutation { deleteRepo(id: 1) "
	    "{ id } }\"}", VERDICT_DENY, "denied by a request rule",
	    "a mutation" },
	{ "/graphql", NULL, J, "{\"query\":\"query { viewer: deleteRepo { id }"
	    " }\"}", VERDICT_DENY, "no request rule matches",
	    "a field behind an alias named like an allowed one" },
	{ "/graphql", NULL, J, "{\"query\":\"query { ...F } fragment F on "
	    "Query { viewer ...G } fragment G on Query { deleteRepo }\"}",
	    VERDICT_DENY, "no request rule matches",
	    "a field behind nested fragments" },
	{ "/graphql", NULL, J, "{\"query\":\"query { viewer ... on Query { "
	    "... { secrets } } }\"}", VERDICT_DENY, "denied by a request rule",
	    "a denied field behind inline fragments" },
	{ "/graphql", NULL, J, "{\"query\":\"query { ...F ...F } fragment F "
	    "on Query { viewer }\"}", VERDICT_ALLOW, NULL,
	    "a fragment spread twice" },
	{ "/graphql", NULL, J, "{\"query\":\"query { ...F } fragment F on Q "
	    "{ ...G } fragment G on Q { ...F }\"}", VERDICT_DENY,
	    "spreads itself", "a fragment cycle" },
	{ "/graphql", NULL, J, "{\"query\":\"query { ...Nope }\"}",
	    VERDICT_DENY, "unknown fragment", "an unknown fragment" },
	{ "/graphql", NULL, J, "{\"query\":\"query A { viewer } mutation B "
	    "{ deleteRepo }\"}", VERDICT_DENY, "2 operations and no "
	    "operationName", "two operations, no operationName" },
	{ "/graphql", NULL, J, "{\"query\":\"query A { viewer } mutation B "
	    "{ deleteRepo }\",\"operationName\":\"A\"}", VERDICT_ALLOW, NULL,
	    "operationName picks the query" },
	{ "/graphql", NULL, J, "{\"query\":\"query A { viewer } mutation B "
	    "{ deleteRepo }\",\"operationName\":\"B\"}", VERDICT_DENY,
	    "denied by a request rule", "operationName picks the mutation" },
	{ "/graphql", NULL, J, "{\"query\":\"query A { viewer }\","
	    "\"operationName\":\"C\"}", VERDICT_DENY, "names no operation",
	    "operationName names no operation" },
	{ "/graphql", NULL, J, "{\"query\":\"query A { viewer }\","
	    "\"operationName\":1}", VERDICT_DENY, "not a string",
	    "operationName not a string" },
	{ "/graphql", NULL, J, "{\"query\":\"query A { viewer }\","
	    "\"operationName\":null}", VERDICT_ALLOW, NULL,
	    "operationName null, one operation" },
	{ "/graphql", NULL, J, "[{\"query\":\"{ viewer }\"},{\"query\":"
	    "\"{ repo }\"}]", VERDICT_ALLOW, NULL, "a batch of queries" },
	{ "/graphql", NULL, J, "[{\"query\":\"{ viewer }\"},{\"query\":"
	    "\"mutation { deleteRepo }\"}]", VERDICT_DENY,
	    "denied by a request rule", "a mutation in a batch" },
	{ "/graphql", NULL, J, "[]", VERDICT_DENY, "batch of 0",
	    "an empty batch" },
	{ "/graphql", NULL, J, "[{\"query\":\"{ viewer }\"}, 1]", VERDICT_DENY,
	    "not a JSON object", "a batch element not an object" },
	{ "/graphql", NULL, J, "{\"extensions\":{\"persistedQuery\":"
	    "{\"version\":1,\"sha256Hash\":\"ab\"}}}", VERDICT_DENY,
	    "persisted query without its document", "a persisted query" },
	{ "/graphql", NULL, J, "{\"variables\":{}}", VERDICT_DENY,
	    "no query document", "no query" },
	{ "/graphql", NULL, J, "{\"query\":5}", VERDICT_DENY,
	    "query is not a string", "query not a string" },
	{ "/graphql", NULL, J, "{\"query\":\"{ viewer }\",\"query\":"
	    "\"mutation { deleteRepo }\"}", VERDICT_DENY, "duplicate",
	    "a duplicate key" },
	{ "/graphql", NULL, J, "{\"query\":\"{ viewer }\"} x", VERDICT_DENY,
	    "not strict JSON", "trailing data" },
	{ "/graphql", NULL, J, "query { viewer }", VERDICT_DENY,
	    "not strict JSON", "a bare document" },
	{ "/graphql", NULL, J, "", VERDICT_DENY, "empty body",
	    "no body" },
	{ "/graphql", NULL, "application/graphql", "{\"query\":\"{ viewer }\"}",
	    VERDICT_DENY, "is not JSON", "another Content-Type" },
	{ "/graphql", NULL, "application/x-www-form-urlencoded",
	    "{\"query\":\"{ viewer }\"}", VERDICT_DENY, "is not JSON",
	    "a form" },
	{ "/graphql", NULL, NULL, "{\"query\":\"{ viewer }\"}",
	    VERDICT_ALLOW, NULL, "no Content-Type" },
	{ "/graphql", NULL, "application/json; charset=utf-8",
	    "{\"query\":\"{ viewer }\"}", VERDICT_ALLOW, NULL,
	    "JSON with a parameter" },
	{ "/graphql", NULL, "application/graphql-response+json",
	    "{\"query\":\"{ viewer }\"}", VERDICT_ALLOW, NULL, "+json" },
	{ "/graphql", "query=mutation%7Bx%7D", J, "{\"query\":\"{ viewer }\"}",
	    VERDICT_DENY, "parameters in the URL", "a query in the URL" },
	{ "/graphql", "a=1&operationName=B", J, "{\"query\":\"{ viewer }\"}",
	    VERDICT_DENY, "parameters in the URL", "operationName in the URL" },
	{ "/graphql", "%71uery=x", J, "{\"query\":\"{ viewer }\"}",
	    VERDICT_DENY, "parameters in the URL", "an escaped name in the "
	    "URL" },
	{ "/graphql", "a=1", J, "{\"query\":\"{ viewer }\"}", VERDICT_ALLOW,
	    NULL, "another parameter in the URL" },
	{ "/graphql", NULL, J, "{\"query\":\"{ viewer(s: \\\"} mutation "
	    "{ x }\\\") }\"}", VERDICT_ALLOW, NULL,
	    "\"mutation\" inside a string argument" },
	{ "/graphql", NULL, J, "{\"query\":\"{ __typename viewer }\"}",
	    VERDICT_ALLOW, NULL, "__typename listed" },
	{ "/graphql", NULL, J, "{\"query\":\"{ __schema { types { name } } }\"}",
	    VERDICT_DENY, "no request rule matches", "introspection not "
	    "listed" },
	{ "/named", NULL, J, "{\"query\":\"query GetX { anything }\"}",
	    VERDICT_ALLOW, NULL, "operationNames glob" },
	{ "/named", NULL, J, "{\"query\":\"mutation GetY { anything }\"}",
	    VERDICT_ALLOW, NULL, "operationNames alone: any type" },
	{ "/named", NULL, J, "{\"query\":\"{ anything }\"}", VERDICT_DENY,
	    "no request rule matches", "anonymous against a name glob" },
	{ "/named", NULL, J, "{\"query\":\"query PutX { anything }\"}",
	    VERDICT_DENY, "no request rule matches", "another name" },
	{ "/open", NULL, "text/plain", "not json", VERDICT_DENY, "is not JSON",
	    "a deny that reads the body refuses what it cannot read" },
	{ "/open", NULL, J, "{\"query\":\"{ a }\"}", VERDICT_ALLOW, NULL,
	    "a deny that does not match the body" },
	{ "/open", NULL, J, "{\"query\":\"mutation { a }\"}", VERDICT_DENY,
	    "denied by a request rule", "a deny that matches the body" },
};

static const char *
hdr_none(void *arg, const char *name, size_t idx)
{
	(void)arg;
	(void)name;
	(void)idx;
	return NULL;
}

int
main(void)
{
	struct policy_request_decision	 d;
	struct policy_body_decision	 bd;
	struct policy_body		 b;
	struct gql_doc			 doc;
	struct policy			*pol;
	struct timespec			 t0, t1;
	char				 why[256], *big;
	size_t				 i, n;
	int				 rv;

	/* the parser */
	for (i = 0; i < sizeof(pcases) / sizeof(pcases[0]); i++) {
		const struct pcase *c = &pcases[i];

		why[0] = '\0';
		rv = gql_parse(c->doc, strlen(c->doc), &doc, why, sizeof(why));
		gql_free(&doc);
		ok_detail((rv == 0) == c->ok && (c->ok || strstr(why,
		    c->why) != NULL), c->what, why);
	}
	/* depth and width */
	n = 200000;
	if ((big = malloc(n * 2 + 16)) == NULL)
		return 1;
	for (i = 0; i < 100; i++) {
		memcpy(big + i * 4, "{ a ", 4);
		big[400 + i] = '}';
	}
	rv = gql_parse(big, 500, &doc, why, sizeof(why));
	gql_free(&doc);
	ok_detail(rv == -1 && strstr(why, "deeper than 64") != NULL,
	    "100 nested selection sets refused", why);
	for (i = 0; i < 64; i++)
		memcpy(big + i * 4, "{ a ", 4);
	memset(big + 256, '}', 64);
	rv = gql_parse(big, 320, &doc, why, sizeof(why));
	gql_free(&doc);
	ok_detail(rv == 0, "64 nested selection sets parse", why);
	memset(big, '[', n);
	memcpy(big, "{ a(x: ", 7);
	rv = gql_parse(big, n, &doc, why, sizeof(why));
	gql_free(&doc);
	ok_detail(rv == -1 && strstr(why, "deeper than 64") != NULL,
	    "200000 nested lists refused", why);
	big[0] = '{';
	for (i = 1; i + 2 < 120000; i += 2)
		memcpy(big + i, " a", 2);
	big[i++] = '}';
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rv = gql_parse(big, i, &doc, why, sizeof(why));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ok_detail(rv == 0 && doc.nitems == (i - 2) / 2,
	    "60000 top-level fields parse", why);
	ok((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000
	    < 1000, "... in under a second");
	gql_free(&doc);
	big[0] = '{';
	for (i = 1; i + 2 < 2 * GQL_MAXITEMS + 10; i += 2)
		memcpy(big + i, " a", 2);
	big[i++] = '}';
	rv = gql_parse(big, i, &doc, why, sizeof(why));
	gql_free(&doc);
	ok_detail(rv == -1 && strstr(why, "top-level selections") != NULL,
	    "more than GQL_MAXITEMS selections refused", why);
	free(big);

	/* rules */
	pol = P(policy_text);
	policy_http_request(pol, "gql.test", 443, "POST", "/graphql", NULL,
	    &d);
	ok(d.needs_body, "a graphql rule: the body is needed");
	policy_http_request(pol, "gql.test", 443, "POST", "/admin", NULL, &d);
	ok(!d.needs_body && d.verdict == VERDICT_DENY,
	    "a deny that needs no body wins without it");
	policy_http_request(pol, "gql.test", 443, "GET", "/graphql", NULL, &d);
	ok(!d.needs_body && d.verdict == VERDICT_DENY,
	    "no graphql rule for GET: no body needed");
	policy_http_request(pol, "gql.test", 443, "POST", "/open", NULL, &d);
	ok(d.needs_body && d.verdict == VERDICT_ALLOW && !d.ws_body,
	    "an allow beside a deny that reads the body: the body is needed");
	policy_http_request(pol, "gql.test", 443, "GET", "/ws", NULL, &d);
	ok(d.needs_body && d.ws_body, "graphql: with websocket: true: the "
	    "upgrade is judged per message");
	memset(&b, 0, sizeof(b));
	b.ctype = J;
	b.data = "{\"query\":\"subscription { tick }\"}";
	b.len = strlen(b.data);
	b.header = hdr_none;
	policy_http_body(pol, "gql.test", 443, "GET", "/ws", NULL, &b, &bd);
	ok_detail(bd.verdict == VERDICT_ALLOW, "a subscribe's payload "
	    "allowed", bd.why != NULL ? bd.why : bd.audit);
	b.data = "{\"query\":\"mutation { x }\"}";
	b.len = strlen(b.data);
	policy_http_body(pol, "gql.test", 443, "GET", "/ws", NULL, &b, &bd);
	ok_detail(bd.verdict == VERDICT_DENY, "a mutation as a subscribe's "
	    "payload denied", bd.why != NULL ? bd.why : bd.audit);
	for (i = 0; i < sizeof(rcases) / sizeof(rcases[0]); i++) {
		const struct rcase *c = &rcases[i];

		memset(&b, 0, sizeof(b));
		b.ctype = c->ctype;
		b.data = c->body;
		b.len = strlen(c->body);
		b.header = hdr_none;
		policy_http_body(pol, "gql.test", 443, "POST", c->path,
		    c->query, &b, &bd);
		ok_detail(bd.verdict == c->v && (c->why == NULL ?
		    bd.why == NULL : bd.why != NULL && strstr(bd.why, c->why) !=
		    NULL), c->what, bd.why != NULL ? bd.why : bd.audit);
	}
	/* the audit detail: the field by name, not alias */
	memset(&b, 0, sizeof(b));
	b.data = "{\"query\":\"mutation Del { x: deleteRepo(id: 1) }\"}";
	b.len = strlen(b.data);
	policy_http_body(pol, "gql.test", 443, "POST", "/graphql", NULL, &b,
	    &bd);
	ok_detail(strcmp(bd.audit, "{\"graphql\":{\"fields\":[\"deleteRepo\"],"
	    "\"name\":\"Del\",\"op\":\"mutation\"}}") == 0,
	    "audit detail names the operation and its fields", bd.audit);
	b.data = "[{\"query\":\"{ viewer }\"},{\"query\":\"{ repo }\"}]";
	b.len = strlen(b.data);
	policy_http_body(pol, "gql.test", 443, "POST", "/graphql", NULL, &b,
	    &bd);
	ok_detail(strstr(bd.audit, "\"batch\":[{") != NULL,
	    "audit detail of a batch", bd.audit);
	policy_free(pol);
	return tap_done();
}
