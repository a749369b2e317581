/*
 * Unit test of the binary policy model (common/policy_wire.c), run from
 * the top of the tree: every example policy (etc/, regress/policy/good/,
 * the policy fuzz corpus) survives parse -> encode -> decode -> encode
 * byte for byte with the same canonical JSON, and the policy hash is
 * the same whichever way the model came (the sha256 of the YAML source);
 * every truncation, an extra byte, hostile counts and every value the
 * YAML loader refuses are refused with an error naming the byte and the
 * field.
 */
#include <sys/stat.h>

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "policy.h"
#include "tap.h"

static char *
slurp(const char *path, size_t *len)
{
	FILE	*f;
	char	*buf;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	if ((buf = malloc(POLICY_MAXSIZE + 1)) == NULL)
		abort();
	*len = fread(buf, 1, POLICY_MAXSIZE + 1, f);
	fclose(f);
	return buf;
}

static uint8_t *
encode(const struct policy *pol, size_t *len)
{
	uint8_t	*b;

	*len = policy_encode(pol, NULL, 0);
	if ((b = malloc(*len)) == NULL)
		abort();
	if (policy_encode(pol, b, *len) != *len)
		abort();
	return b;
}

static int
sha256_is(const char *hex, const void *buf, size_t len)
{
	unsigned char	 md[32];
	char		 want[65];

	crypto_hash_sha256(md, buf, len);
	sodium_bin2hex(want, sizeof(want), md, sizeof(md));
	return strcmp(hex, want) == 0;
}

/* one example: the round trip; returns its encoding for later tests */
static int
roundtrip(const char *path)
{
	struct policy_error	 err;
	struct policy		*p1, *p2;
	uint8_t			*b1, *b2;
	size_t			 tlen, l1, l2;
	char			*text, *j1, *j2, ebuf[600];
	int			 same;

	if ((text = slurp(path, &tlen)) == NULL)
		return ok(0, "%s: cannot read", path);
	if ((p1 = policy_parse(path, text, tlen, &err)) == NULL) {
		free(text);
		return -1;		/* a bad example: not ours */
	}
	b1 = encode(p1, &l1);
	if ((p2 = policy_decode("t", b1, l1, &err)) == NULL) {
		policy_strerror(&err, ebuf, sizeof(ebuf));
		ok(0, "%s: decode of its encoding: %s", path, ebuf);
		goto out1;
	}
	b2 = encode(p2, &l2);
	ok(l1 == l2 && memcmp(b1, b2, l1) == 0, "%s: parse, encode, decode, "
	    "encode: the same %zu bytes", path, l1);
	j1 = policy_json(p1);
	j2 = policy_json(p2);
	same = j1 != NULL && j2 != NULL && strcmp(j1, j2) == 0;
	ok(same, "%s: the same policy_json", path);
	ok(strcmp(policy_hash(p1), policy_hash(p2)) == 0 &&
	    sha256_is(policy_hash(p2), text, tlen), "%s: policy_hash is the "
	    "sha256 of the YAML source whichever way the model came", path);
	free(j1);
	free(j2);
	free(b2);
	policy_free(p2);
 out1:
	free(b1);
	policy_free(p1);
	free(text);
	return 0;
}

/* buf must be refused with a message containing want */
static void
refused(const void *buf, size_t len, const char *want, const char *what)
{
	struct policy_error	 err;
	struct policy		*pol;
	char			 ebuf[600];

	memset(&err, 0, sizeof(err));
	if ((pol = policy_decode("m", buf, len, &err)) != NULL) {
		policy_free(pol);
		ok(0, "%s: refused", what);
		return;
	}
	policy_strerror(&err, ebuf, sizeof(ebuf));
	if (!ok(strstr(ebuf, want) != NULL, "%s: refused: %s", what, ebuf))
		printf("#   wanted: %s\n", want);
}

/* the encoding of a policy text, for the hostile-model tests */
static uint8_t *
model(const char *text, size_t *len)
{
	struct policy_error	 err;
	struct policy		*pol;
	uint8_t			*b;
	char			 ebuf[600];

	if ((pol = policy_parse("t.yaml", text, strlen(text), &err)) == NULL) {
		policy_strerror(&err, ebuf, sizeof(ebuf));
		printf("Bail out! test policy: %s\n", ebuf);
		exit(1);
	}
	b = encode(pol, len);
	policy_free(pol);
	return b;
}

/* the offset of the first occurrence of s in b, or abort */
static size_t
at(const uint8_t *b, size_t len, const char *s)
{
	size_t	 i, n = strlen(s);

	for (i = 0; i + n <= len; i++)
		if (memcmp(b + i, s, n) == 0)
			return i;
	abort();
}

/* replace the string s (same length) in a copy of b and expect want */
static void
swap(const uint8_t *b, size_t len, const char *s, const char *with,
    const char *want)
{
	uint8_t	*c;

	if ((c = malloc(len)) == NULL)
		abort();
	memcpy(c, b, len);
	memcpy(c + at(b, len, s), with, strlen(s));	/* with may hold NUL */
	refused(c, len, want, s);
	free(c);
}

/* set the byte at off in a copy of b and expect want */
static void
poke(const uint8_t *b, size_t len, size_t off, uint8_t v, const char *want,
    const char *what)
{
	uint8_t	*c;

	if ((c = malloc(len)) == NULL)
		abort();
	memcpy(c, b, len);
	c[off] = v;
	refused(c, len, want, what);
	free(c);
}

static const char full[] =
    "version: 1\n"
    "network:\n"
    "  defaultVerdict: ask\n"
    "  egress:\n"
    "    http:\n"
    "      - match: api.github.com\n"
    "        verdict: allow\n"
    "        tlsTerminate: true\n"
    "        caFile: ca-bundle.pem\n"
    "        rules:\n"
    "          - {method: GET, path: /repos/**, verdict: allow}\n"
    "          - {method: GET, path: /ws, websocket: true, verdict: allow}\n"
    "          - {method: GET, path: /search, query: \"page=*\", "
    "verdict: allow}\n"
    "          - {method: GET, path: /empty, query: \"\", verdict: deny}\n"
    "    tcp:\n"
    "      - {match: \"10.0.5.0/24:5432\", verdict: allow}\n"
    "    udp:\n"
    "      - {match: \"[2001:db8::/32]:53\", verdict: deny}\n"
    "  publish: [\"127.0.0.1:8080:80\", \"[::1]:8443:443\"]\n"
    "credentials:\n"
    "  - id: github\n"
    "    envVar: GITHUB_TOKEN\n"
    "    injections:\n"
    "      - {type: header, host: api.github.com, name: Authorization,"
    " value: \"Bearer {secret}\"}\n"
    "resources: {cpus: 1.5, memory: 512m, pids: 256}\n";

static void
hostile(void)
{
	struct policy_error	 err;
	struct policy		*pol;
	uint8_t			*b, *c;
	size_t			 len, i, n, off;

	int			 all;

	b = model(full, &len);
	/* every proper prefix */
	for (all = 1, i = 0; i < len; i++) {
		memset(&err, 0, sizeof(err));
		if ((pol = policy_decode("m", b, i, &err)) != NULL) {
			policy_free(pol);
			all = 0;
			printf("# the first %zu bytes were taken\n", i);
		} else if (strstr(err.msg, "truncated") == NULL &&
		    strstr(err.msg, "cannot fit") == NULL) {
			all = 0;
			printf("# %zu bytes: %s\n", i, err.msg);
		}
	}
	ok(all, "each of the %zu truncations is refused as truncated", len);
	refused(b, 3, "byte 0, header: truncated", "3 bytes");
	if ((c = malloc(len + 1)) == NULL)
		abort();
	memcpy(c, b, len);
	c[len] = 0;
	refused(c, len + 1, "1 bytes after the model", "one byte more");
	free(c);

	/* header */
	poke(b, len, 0, 'X', "not a policy model", "magic");
	poke(b, len, 5, 3, "version: 3 is not supported (only 4)", "version 3 "
	    "(before llm)");
	poke(b, len, 5, 2, "version: 2 is not supported (only 4)", "version 2 "
	    "(before the injection fields, uriPlaceholder, graphql, mcp)");
	poke(b, len, 5, 1, "version: 1 is not supported (only 4)", "version 1 "
	    "(before caFile, query, websocket)");
	poke(b, len, 5, 5, "version: 5 is not supported", "version 5");
	poke(b, len, 7, 1, "flags: 0x0001", "a flag");
	/* 4 + 2 + 2 + 32: defaultVerdict */
	poke(b, len, 40, 3, "network.defaultVerdict: verdict 3", "verdict 3");

	/* hostile counts: nhttp at 41 */
	poke(b, len, 41, 0xff, "65281 entries, more than 4096", "nhttp 65281");
	c = malloc(len);
	memcpy(c, b, len);
	c[41] = 0x10;
	c[42] = 0x00;			/* 4096: allowed, but cannot fit */
	refused(c, len, "4096 entries cannot fit", "nhttp 4096");
	free(c);
	off = at(b, len, "/repos/**") - 2 - 1 - 2;	/* nsubs */
	poke(b, len, off, 0xff, "http[0].rules: 65284 entries, more than",
	    "nsubs 65284");

	/* strings */
	swap(b, len, "api.github.com", "api.gith\0" "b.com",
	    "http[0].match: contains a NUL byte");
	swap(b, len, "api.github.com", "api.gith\xff" "b.com",
	    "http[0].match: not UTF-8");
	swap(b, len, "api.github.com", "api.git hub.co",
	    "http[0].match: \"api.git hub.co\" is not a host name");
	swap(b, len, "/repos/**", "/rep os**", "rules[0].path: \"/rep os**\"");
	swap(b, len, "/repos/**", "/repos***", "not ***");
	swap(b, len, "/repos/**", "/r/../x**", "rules[0].path: \"/r/../x**\": "
	    "has a . or .. segment");
	swap(b, len, "/repos/**", "/r%2e/x**", "rules[0].path: \"/r%2e/x**\": "
	    "has a percent-escape in lower case");
	swap(b, len, "/repos/**", "/r%2E/x**", "rules[0].path: \"/r%2E/x**\": "
	    "escapes an unreserved character");
	swap(b, len, "/repos/**", "/r?x=1/**", "write the query under query:");

	/* caFile: a file name under /etc/lens/ca, nothing else */
	swap(b, len, "ca-bundle.pem", "../bundle.pem", "http[0].caFile: "
	    "\"../bundle.pem\" is not a file name in /etc/lens/ca");
	swap(b, len, "ca-bundle.pem", "/etc/shadow.x", "http[0].caFile: "
	    "\"/etc/shadow.x\" is not a file name");
	swap(b, len, "ca-bundle.pem", "ca/bundle.pem", "is not a file name");
	swap(b, len, "ca-bundle.pem", ".a-bundle.pem", "is not a file name");
	swap(b, len, "ca-bundle.pem", "ca-bundle..em", "is not a file name");
	swap(b, len, "ca-bundle.pem", "ca-bundle.pe\0", "http[0].caFile: "
	    "contains a NUL byte");
	swap(b, len, "ca-bundle.pem", "ca bundle.pem", "is not a file name");
	off = at(b, len, "ca-bundle.pem") - 2;		/* its length */
	poke(b, len, off, 0x01, "http[0].caFile: 269 bytes, longer than 128",
	    "caFile of 269 bytes");

	/* the request rules' flags and queries */
	off = at(b, len, "/ws") + 3 + 1;		/* after verdict */
	poke(b, len, off, 0x10, "rules[1].websocket: flags 0x10, only 0x01 "
	    "(websocket), 0x02 (query), 0x04 (graphql) and 0x08 (mcp) are "
	    "defined", "flag 0x10");
	poke(b, len, off, 0x81, "rules[1].websocket: flags 0x81", "flag 0x81");
	swap(b, len, "page=*", "pa#e=*", "rules[2].query: \"pa#e=*\": has a #");
	swap(b, len, "page=*", "pa e=*", "rules[2].query: \"pa e=*\": has a "
	    "control character, space");
	swap(b, len, "page=*", "p%61=*", "rules[2].query: \"p%61=*\": escapes "
	    "an unreserved character");
	swap(b, len, "page=*", "p%zz=*", "not followed by two hex digits");
	swap(b, len, "page=*", "p***=x", "not ***");
	swap(b, len, "page=*", "pag\0=*", "rules[2].query: contains a NUL byte");
	off = at(b, len, "page=*") - 2 - 1;		/* flags of rules[2] */
	poke(b, len, off, 0x00, "", "query flag cleared: its bytes are left "
	    "over");
	off = at(b, len, "/empty") + 6 + 1;		/* flags of rules[3] */
	poke(b, len, off, 0x00, "", "empty query flag cleared: refused");
	swap(b, len, "10.0.5.0/24:5432", "10.0.5.1/24:5432",
	    "host bits set beyond the prefix length");
	swap(b, len, "10.0.5.0/24:5432", "10.0.5.0/24:99x9",
	    "tcp[0].match: \"10.0.5.0/24:99x9\": port \"99x9\" is not");
	swap(b, len, "[2001:db8::/32]:53", "2001:db8::/32:53xx",
	    "write IPv6 addresses in brackets");
	swap(b, len, "127.0.0.1", "127.0.0.x", "publish[0]");
	swap(b, len, "GITHUB_TOKEN", "GITHUB-TOKEN",
	    "envVar: \"GITHUB-TOKEN\" is not an environment variable name");
	swap(b, len, "Bearer {secret}", "Bearer {secre}}",
	    "does not contain {secret}");
	swap(b, len, "Bearer {secret}", "Bearer\n{secret}",
	    "contains a line break");
	swap(b, len, "Authorization", "Author:zation",
	    "is not a header or parameter name");
	free(b);

	/* the same address twice */
	b = model("version: 1\nnetwork:\n  publish: [\"1.2.3.4:80:80\", "
	    "\"1.2.3.5:80:80\"]\n", &len);
	swap(b, len, "1.2.3.5", "1.2.3.4", "already published by "
	    "network.publish[0]");
	free(b);
	/* a non-canonical address */
	b = model("version: 1\nnetwork:\n  publish: [\"[::20]:80:80\"]\n",
	    &len);
	swap(b, len, "::20", "0::2", "address \"0::2\" is not written as ::2");
	free(b);

	/* credentials: a header without a name, an id twice */
	b = model("version: 1\ncredentials:\n  - {id: aa, envVar: AA, "
	    "injections: [{type: basic, host: h.test, user: robot}]}\n"
	    "  - {id: bb, envVar: BB, injections: [{type: basic, host: "
	    "h.test, user: robot}]}\n", &len);
	poke(b, len, at(b, len, "h.test") - 3, 0, "injections[0].name: "
	    "missing (needed by type header)", "type header without name");
	poke(b, len, at(b, len, "h.test") - 3, 7, "type 7 is not one of "
	    "the 7", "type 7");
	poke(b, len, at(b, len, "h.test") - 3, 6, "injections[0].user: type "
	    "uriPlaceholder takes no user", "a field the type does not take");
	swap(b, len, "robot", "ro:ot", "no ':', space or control character "
	    "in a basic user");
	swap(b, len, "bb", "aa", "credentials[1].id: already the id of "
	    "credentials[0]");
	swap(b, len, "BB", "AA", "credentials[1].envVar: already the envVar "
	    "of credentials[0]");
	n = at(b, len, "h.test") - 2 - 1 - 2;		/* ninj of [0] */
	c = malloc(len);
	memcpy(c, b, len);
	c[n] = 0;
	c[n + 1] = 0;
	refused(c, len, "injections: needs at least one injection",
	    "no injection");
	free(c);
	free(b);

	/* awsSigv4 and oauth2Refresh fields, checked as the YAML is */
	b = model("version: 1\ncredentials:\n  - {id: aws, envVar: AK, "
	    "injections: [{type: awsSigv4, host: s3.test, region: us-east-1, "
	    "service: s3}]}\n  - {id: g, envVar: G, injections: [{type: "
	    "oauth2Refresh, host: api.test, tokenUrl: \"https://t.test/tok\","
	    " clientId: cid}]}\n", &len);
	swap(b, len, "us-east-1", "US-east-1", "injections[0].region: "
	    "\"US-east-1\": lower-case letters, digits and - only");
	swap(b, len, "https://", "httpx://", "injections[0].tokenUrl: "
	    "\"httpx://t.test/tok\" is not an https:// URL");
	swap(b, len, "t.test/tok", "t.test/t k", "a space or control "
	    "character in the path");
	swap(b, len, "cid", "c d", "injections[0].clientId: \"c d\": no space");
	n = at(b, len, "us-east-1") - 2;	/* region's length */
	c = malloc(len);
	memcpy(c, b, len);
	c[n] = 0;
	c[n + 1] = 0;
	refused(c, len, "injections[0].region: missing (needed by type "
	    "awsSigv4)", "awsSigv4 without a region");
	free(c);
	free(b);

	/* resources: cpus 4, memory 8, pids 4 bytes, then llm: two counts */
	b = model("version: 1\nresources: {cpus: 1, memory: 4m, pids: 1}\n",
	    &len);
	poke(b, len, len - 20, 0x10, "resources.cpus: ", "cpus too many");
	poke(b, len, len - 11, 1, "resources.memory: 65536 bytes is out of "
	    "range", "memory 64k");
	poke(b, len, len - 8, 0x7f, "resources.pids: ", "pids too many");
	free(b);

	/* llm: every value checked as the YAML loader checks it */
	b = model("version: 1\nllm:\n  backends:\n    - {name: bk, url: "
	    "\"https://b.test/v1\", api: openai, capabilities: {tools: true},"
	    " models: {\"claude-*\": gpt-x}}\n  routes:\n    - {domain: "
	    "a.test, path: /v1/messages, model: \"claude-*\", action: route, "
	    "backend: bk, translate: true}\n", &len);
	swap(b, len, "https://b", "http://bb", "llm.backends[0].url: "
	    "\"http://bb.test/v1\" is not an https:// url");
	swap(b, len, "gpt-x", "gpt-*", "a served model is a glob");
	swap(b, len, "bk", "b ", "llm.backends[0].name: ");
	swap(b, len, "/v1/messages", "v1/messages/", "does not start with /");
	n = at(b, len, "https://b.test/v1") + 17;	/* api, caps */
	poke(b, len, n, 2, "llm.backends[0].api: 2 is out of range", "api 2");
	poke(b, len, n + 1, 4, "llm.backends[0].capabilities: 4 is out of "
	    "range", "a capability bit");
	poke(b, len, n, 0, "translate: true between the same API",
	    "translate between the same API");
	/* the route's backend name: "bk" again after its model glob */
	c = malloc(len);
	memcpy(c, b, len);
	memcpy(c + len - 4, "bz", 2);	/* backend:16 "bk" api:8 tr:8 */
	refused(c, len, "backend \"bz\" is not one of llm.backends",
	    "a route to no backend");
	c[len - 1] = 0;
	memcpy(c + len - 4, "bk", 2);
	refused(c, len, "speaks openai, the route anthropic: write translate",
	    "translate: false between different APIs");
	c[len - 1] = 2;
	refused(c, len, "llm.routes[0].translate: 2 is out of range",
	    "translate 2");
	c[len - 1] = 1;
	c[len - 2] = 7;
	refused(c, len, "llm.routes[0].api: 7 is not an API", "api 7");
	c[len - 2] = 255;
	refused(c, len, "no API where the path says one", "no api");
	free(c);
	free(b);
}

int
main(void)
{
	static const char *const pats[] = { "etc/*.yaml",
	    "etc/policy-examples/*.yaml", "regress/policy/good/*.yaml",
	    "regress/fuzz/corpus/policy/*" };
	glob_t	 g;
	size_t	 i, j, n = 0;

	if (sodium_init() == -1)
		abort();
	for (i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
		if (glob(pats[i], 0, NULL, &g) != 0) {
			printf("Bail out! no %s (run from the top of the "
			    "tree)\n", pats[i]);
			return 1;
		}
		for (j = 0; j < g.gl_pathc; j++)
			if (roundtrip(g.gl_pathv[j]) == 0)
				n++;
		globfree(&g);
	}
	ok(n >= 10, "%zu example policies made the round trip", n);
	hostile();
	return tap_done();
}
