/*
 * Unit test of mcp: request rules (common/policy_mcp.c): a policy
 * with mcp: entries is loaded from YAML, survives the binary model,
 * and pm_mcp_match judges JSON-RPC bodies and their Mcp-Method and
 * Mcp-Name headers the way lns-policy.yaml(5) says: one entry covers a
 * request by itself, what is not one JSON-RPC 2.0 request is refused,
 * headers that disagree with the body are refused, and the audit detail
 * carries the arguments only as the SHA-256 of their canonical JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <sodium.h>

#include "policy.h"
#include "policy_int.h"
#include "tap.h"

static const char text[] =
    "version: 1\nnetwork:\n  egress:\n    http:\n"
    "      - match: mcp.test\n        verdict: allow\n"
    "        rules:\n"
    "          - method: POST\n            path: /mcp\n"
    "            verdict: allow\n            mcp:\n"
    "              - {method: initialize}\n"
    "              - {method: \"notifications/*\"}\n"
    "              - method: tools/call\n                tool: read_file\n"
    "                arguments:\n"
    "                  - {pointer: /path, glob: \"/repo/**\"}\n"
    "              - method: tools/call\n                tool: list_dir\n"
    "                arguments:\n"
    "                  - {pointer: /path, glob: \"/tmp/**\"}\n"
    "              - method: tools/call\n                tool: \"ns/*\"\n"
    "              - method: tools/call\n                tool: count\n"
    "                arguments:\n"
    "                  - {pointer: /n, glob: \"5\"}\n"
    "                  - {pointer: /force, glob: \"false\"}\n"
    "              - method: tools/call\n                tool: esc\n"
    "                arguments:\n"
    "                  - {pointer: \"/a~1b/~0c\", glob: x}\n"
    "                  - {pointer: /files/1, glob: \"*.txt\"}\n"
    "              - {method: resources/read, uri: \"file:///repo/**\"}\n"
    "              - {method: \"**\", tool: \"t\\u00f6\\u00f6l\"}\n";

/* the request's headers: name, value pairs, NULL-terminated */
static const char *const *hdrs;

static const char *
header(void *arg, const char *name, size_t idx)
{
	size_t	 i;

	(void)arg;
	for (i = 0; hdrs != NULL && hdrs[i] != NULL; i += 2)
		if (strcasecmp(hdrs[i], name) == 0 && idx-- == 0)
			return hdrs[i + 1];
	return NULL;
}

static const struct mcp_rule	*rule;
static char			 why[PM_WHY], audit[512];

/* pm_mcp_match of body (JSON text) with headers h */
static int
judge(const char *body, const char *const *h)
{
	struct policy_body	 b;
	json_error_t		 e;
	json_t			*j;
	int			 rv;

	if ((j = json_loads(body, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
	    &e)) == NULL) {
		printf("# bad test body %s: %s\n", body, e.text);
		return -2;
	}
	memset(&b, 0, sizeof(b));
	b.data = body;
	b.len = strlen(body);
	b.header = header;
	hdrs = h;
	why[0] = '\0';
	audit[0] = '\0';
	rv = pm_mcp_match(rule, j, &b, audit, sizeof(audit), why,
	    sizeof(why));
	json_decref(j);
	return rv;
}

#define CALL(tool, args) "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":" \
	"\"tools/call\",\"params\":{\"name\":\"" tool "\",\"arguments\":" \
	args "}}"

static void
expect(const char *what, const char *body, const char *const *h, int want,
    const char *whypart)
{
	int	 rv = judge(body, h);

	if (!ok(rv == want && (whypart == NULL ||
	    strstr(why, whypart) != NULL), "%s", what))
		printf("# got %d (want %d), why \"%s\"\n", rv, want, why);
}

static int
sha256_of(const char *canon, const char *hex)
{
	unsigned char	 md[32];
	char		 want[65];

	crypto_hash_sha256(md, (const unsigned char *)canon, strlen(canon));
	sodium_bin2hex(want, sizeof(want), md, sizeof(md));
	return strstr(hex, want) != NULL;
}

int
main(void)
{
	static const char *const mm_ok[] = { "Mcp-Method", "tools/call",
	    "Mcp-Name", "read_file", NULL };
	static const char *const mm_bad[] = { "Mcp-Method", "tools/list",
	    NULL };
	static const char *const mm_twice[] = { "Mcp-Method", "tools/call",
	    "mcp-method", "tools/call", NULL };
	static const char *const mn_bad[] = { "Mcp-Name", "list_dir", NULL };
	/* base64 of "tools/call", of "read_file", of "delete_repo" */
	static const char *const b64_ok[] = {
	    "Mcp-Method", " =?base64?dG9vbHMvY2FsbA==?= ",
	    "Mcp-Name", "=?base64?cmVhZF9maWxl?=", NULL };
	static const char *const b64_bad[] = {
	    "Mcp-Name", "=?base64?ZGVsZXRlX3JlcG8=?=", NULL };
	static const char *const b64_garbage[] = {
	    "Mcp-Name", "=?base64?cmVhZF9maWxl*?=", NULL };
	static const char *const b64_upper[] = {
	    "Mcp-Name", "=?BASE64?cmVhZF9maWxl?=", NULL };
	/* "tööl" as UTF-8, in base64 */
	static const char *const b64_utf8[] = {
	    "Mcp-Name", "=?base64?dMO2w7Zs?=", NULL };
	static const char *const mn_init[] = { "Mcp-Name", "x", NULL };
	static const char *const mn_uri[] = { "Mcp-Name",
	    "file:///repo/a", NULL };
	struct policy_error	 err;
	struct policy		*pol, *pol2;
	char			 big[POLICY_MAXTARGET + 200], *j1, *j2;
	void			*model;
	size_t			 len;

	tap_plan(56);
	if ((pol = policy_parse("mcp", text, strlen(text), &err)) == NULL) {
		printf("Bail out! %s\n", err.msg);
		return 1;
	}
	rule = pol->http[0].subs[0].mcp;
	ok(rule != NULL && rule->n == 9, "mcp: loaded, 9 entries");

	/* the binary model carries it, the JSON shows it */
	model = policy_model(pol, &len);
	pol2 = policy_decode("model", model, len, &err);
	j1 = policy_json(pol);
	j2 = pol2 ? policy_json(pol2) : NULL;
	ok(pol2 != NULL && j1 != NULL && j2 != NULL && strcmp(j1, j2) == 0 &&
	    strstr(j1, "\"mcp\":[{\"method\":\"initialize\"}") != NULL &&
	    strstr(j1, "{\"glob\":\"/repo/**\",\"pointer\":\"/path\"}") !=
	    NULL, "mcp: through the binary model, the same JSON");
	free(j1);
	free(j2);
	policy_free(pol2);
	/* a mcp: section on a GET request rule cannot come by the model */
	pol->http[0].subs[0].method[0] = 'G';
	pol->http[0].subs[0].method[1] = 'E';
	pol->http[0].subs[0].method[2] = 'T';
	pol->http[0].subs[0].method[3] = '\0';
	free(model);
	model = policy_model(pol, &len);
	pol2 = policy_decode("model", model, len, &err);
	ok(pol2 == NULL && strstr(err.msg, "rules[0].mcp") != NULL &&
	    strstr(err.msg, "needs method POST") != NULL,
	    "model: mcp: on a GET rule refused (%s)", err.msg);
	policy_free(pol2);
	free(model);
	strlcpy(pol->http[0].subs[0].method, "POST", 5);

	/* covered */
	expect("read_file under /repo: covered",
	    CALL("read_file", "{\"path\":\"/repo/src/a.c\"}"), NULL, 1, NULL);
	expect("initialize: covered",
	    "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"initialize\","
	    "\"params\":{}}", NULL, 1, NULL);
	expect("a notification (no id): covered",
	    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}",
	    NULL, 1, NULL);
	expect("resources/read inside the uri glob: covered",
	    "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"resources/read\","
	    "\"params\":{\"uri\":\"file:///repo/README\"}}", NULL, 1, NULL);

	/* not covered */
	expect("another tool: not covered",
	    CALL("delete_repo", "{\"path\":\"/repo\"}"), NULL, 0,
	    "\"delete_repo\"");
	expect("read_file outside its glob: not covered",
	    CALL("read_file", "{\"path\":\"/etc/passwd\"}"), NULL, 0, NULL);
	expect("read_file without the argument: not covered",
	    CALL("read_file", "{}"), NULL, 0, NULL);
	expect("read_file without arguments at all: not covered",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
	    "\"params\":{\"name\":\"read_file\"}}", NULL, 0, NULL);
	expect("read_file with the path as an array: not covered",
	    CALL("read_file", "{\"path\":[\"/repo/a\"]}"), NULL, 0, NULL);
	expect("entries never combine: read_file with list_dir's path",
	    CALL("read_file", "{\"path\":\"/tmp/x\"}"), NULL, 0, NULL);
	expect("resources/read outside the uri glob: not covered",
	    "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"resources/read\","
	    "\"params\":{\"uri\":\"file:///etc/shadow\"}}", NULL, 0,
	    "file:///etc/shadow");
	expect("tools/list: no entry for it",
	    "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/list\"}", NULL,
	    0, "tools/list");
	expect("* does not cross /: ns/* against ns/a/b",
	    CALL("ns/a/b", "{}"), NULL, 0, NULL);
	expect("ns/* against ns/a", CALL("ns/a", "{}"), NULL, 1, NULL);

	/* scalars, pointers */
	expect("an integer and false as their JSON text",
	    CALL("count", "{\"n\":5,\"force\":false}"), NULL, 1, NULL);
	expect("5.0 is not the integer 5",
	    CALL("count", "{\"n\":5.0,\"force\":false}"), NULL, 0, NULL);
	expect("\"5\" as a string matches too (the glob sees text)",
	    CALL("count", "{\"n\":\"5\",\"force\":\"false\"}"), NULL, 1, NULL);
	expect("~1 and ~0, an array index",
	    CALL("esc", "{\"a/b\":{\"~c\":\"x\"},\"files\":[\"a\",\"b.txt\"]}"),
	    NULL, 1, NULL);
	expect("the array index past the end: not covered",
	    CALL("esc", "{\"a/b\":{\"~c\":\"x\"},\"files\":[\"b.txt\"]}"),
	    NULL, 0, NULL);
	expect("a key that is the unescaped pointer: not covered",
	    CALL("esc", "{\"a\":{\"b\":{\"~c\":\"x\"}},\"a~1b\":{\"~0c\":"
	    "\"x\"},\"files\":[\"a\",\"b.txt\"]}"), NULL, 0, NULL);

	/* what is not one JSON-RPC request is refused */
	expect("a batch: refused",
	    "[" CALL("read_file", "{\"path\":\"/repo/a\"}") "]", NULL, -1,
	    "batch");
	expect("a response: refused",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}", NULL, -1,
	    "response");
	expect("jsonrpc 1.0: refused",
	    "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"initialize\"}", NULL,
	    -1, "jsonrpc");
	expect("no jsonrpc: refused",
	    "{\"id\":1,\"method\":\"initialize\"}", NULL, -1, "jsonrpc");
	expect("method a number: refused",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":7}", NULL, -1, "method");
	expect("id null: refused",
	    "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"initialize\"}",
	    NULL, -1, "id");
	expect("id a real: refused",
	    "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"initialize\"}",
	    NULL, -1, "id");
	expect("params an array: refused",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\","
	    "\"params\":[]}", NULL, -1, "params");
	expect("a stray member: refused",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\","
	    "\"name\":\"x\"}", NULL, -1, "\"name\"");
	expect("params.name a number: refused",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
	    "\"params\":{\"name\":1}}", NULL, -1, "params.name");
	expect("arguments an array: refused",
	    CALL("read_file", "[\"/repo/a\"]"), NULL, -1, "arguments");
	expect("a string, not an object: refused", "\"tools/call\"", NULL, -1,
	    "not a JSON-RPC object");

	/* the headers */
	expect("Mcp-Method and Mcp-Name agreeing: covered",
	    CALL("read_file", "{\"path\":\"/repo/a\"}"), mm_ok, 1, NULL);
	expect("Mcp-Method disagreeing: refused",
	    CALL("read_file", "{\"path\":\"/repo/a\"}"), mm_bad, -1,
	    "Mcp-Method header does not agree");
	expect("Mcp-Method twice: refused",
	    CALL("read_file", "{\"path\":\"/repo/a\"}"), mm_twice, -1,
	    "more than one Mcp-Method");
	expect("Mcp-Name disagreeing: refused",
	    CALL("read_file", "{\"path\":\"/repo/a\"}"), mn_bad, -1,
	    "Mcp-Name header does not agree with params.name");
	expect("base64 forms agreeing: covered",
	    CALL("read_file", "{\"path\":\"/repo/a\"}"), b64_ok, 1, NULL);
	expect("base64 Mcp-Name of another tool: refused",
	    CALL("read_file", "{\"path\":\"/repo/a\"}"), b64_bad, -1,
	    "does not agree");
	expect("bad base64: refused",
	    CALL("read_file", "{\"path\":\"/repo/a\"}"), b64_garbage, -1,
	    "bad base64");
	expect("=?BASE64? is a literal value (the sentinel is lower case)",
	    CALL("read_file", "{\"path\":\"/repo/a\"}"), b64_upper, -1,
	    "does not agree");
	expect("base64 of a UTF-8 name agreeing: covered",
	    CALL("t\\u00f6\\u00f6l", "{}"), b64_utf8, 1, NULL);
	expect("Mcp-Name on initialize: refused",
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\"}",
	    mn_init, -1, "no params.name or params.uri");
	expect("Mcp-Name is params.uri for resources/read",
	    "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"resources/read\","
	    "\"params\":{\"uri\":\"file:///repo/a\"}}", mn_uri, 1, NULL);
	expect("Mcp-Name absent from a body that has a name: fine",
	    CALL("read_file", "{\"path\":\"/repo/a\"}"), NULL, 1, NULL);

	/* too long to judge is refused, not passed */
	memset(big, 'a', sizeof(big));
	memcpy(big, "{\"path\":\"/repo/", 15);
	strcpy(big + POLICY_MAXTARGET + 100, "\"}");
	{
		char *body;

		if (asprintf(&body, CALL("read_file", "%s"), big) == -1)
			abort();
		expect("an argument longer than the glob bound: refused",
		    body, NULL, -1, "cannot be judged");
		free(body);
	}

	/* audit: the arguments only as a hash of their canonical JSON */
	judge(CALL("read_file", "{\"path\":\"/repo/secret-token\","
	    "\"b\":[1,{\"y\":2,\"x\":\"\\u00e9\"}]}"), NULL);
	ok(strncmp(audit, "{\"mcp\":{", 8) == 0 &&
	    strstr(audit, "\"tool\":\"read_file\"") != NULL &&
	    strstr(audit, "\"method\":\"tools/call\"") != NULL &&
	    strstr(audit, "secret-token") == NULL &&
	    sha256_of("{\"b\":[1,{\"x\":\"\\u00E9\",\"y\":2}],\"path\":"
	    "\"/repo/secret-token\"}", audit),
	    "audit: tool, method, args_sha256 of canonical JSON, no argument");
	printf("# %s\n", audit);
	judge(CALL("read_file", "{\"b\":[1,{\"x\":\"\\u00e9\",\"y\":2}],"
	    "\"path\":\"/repo/secret-token\"}"), NULL);
	ok(sha256_of("{\"b\":[1,{\"x\":\"\\u00E9\",\"y\":2}],\"path\":"
	    "\"/repo/secret-token\"}", audit),
	    "audit: the same hash whatever the order of keys");
	{
		char *body, name[2000];

		memset(name, 'n', sizeof(name) - 1);
		name[sizeof(name) - 1] = '\0';
		if (asprintf(&body, CALL("%s", "{}"), name) == -1)
			abort();
		judge(body, NULL);
		free(body);
		ok(strlen(audit) > 0 && strlen(audit) < sizeof(audit) &&
		    strstr(audit, "\"tool\":\"nnnn") != NULL,
		    "audit: a long tool name is shortened to fit (%zu bytes)",
		    strlen(audit));
	}
	judge("[1]", NULL);
	ok(audit[0] == '\0', "audit: nothing for what is not JSON-RPC");

	/* through the policy's decisions */
	{
		struct policy_request_decision	 d;
		struct policy_body_decision	 bd;
		struct policy_body		 b;
		static const char init[] = "{\"jsonrpc\":\"2.0\",\"id\":1,"
		    "\"method\":\"initialize\"}";
		static const char list[] = "{\"jsonrpc\":\"2.0\",\"id\":1,"
		    "\"method\":\"tools/list\"}";

		policy_http_request(pol, "mcp.test", 443, "GET", "/mcp", NULL,
		    &d);
		ok(d.verdict == VERDICT_DENY && d.why != NULL &&
		    strstr(d.why, "mcp: GET") != NULL && d.sub == 0,
		    "GET on the endpoint: refused (%s)", d.why);
		policy_http_request(pol, "mcp.test", 443, "POST", "/mcp", NULL,
		    &d);
		ok(d.needs_body, "POST on the endpoint: the body is needed");
		memset(&b, 0, sizeof(b));
		b.ctype = "application/json";
		b.data = init;
		b.len = strlen(init);
		b.header = header;
		hdrs = NULL;
		policy_http_body(pol, "mcp.test", 443, "POST", "/mcp", NULL, &b,
		    &bd);
		ok(bd.verdict == VERDICT_ALLOW && bd.sub == 0 &&
		    strcmp(bd.audit, "{\"mcp\":{\"method\":\"initialize\"}}") ==
		    0, "policy_http_body: initialize allowed, audited (%s)",
		    bd.audit);
		b.data = list;
		b.len = strlen(list);
		policy_http_body(pol, "mcp.test", 443, "POST", "/mcp", NULL, &b,
		    &bd);
		ok(bd.verdict == VERDICT_DENY && bd.why != NULL &&
		    strcmp(bd.why, "mcp: no entry covers tools/list") == 0,
		    "policy_http_body: tools/list denied, the reason says why "
		    "(%s)", bd.why);
	}

	policy_free(pol);
	return tap_done();
}
