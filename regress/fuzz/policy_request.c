/*
 * libFuzzer target for policy_http_request() (common/policy_eval.c):
 * the request target a hostile workload sends ("PATH" or "PATH?QUERY")
 * against a fixed policy that allows GET under /v1 but denies
 * /v1/admin and below, and allows GET /s unless its query has
 * "token" in it (escapes of letters being refused, that is every query
 * with a parameter token).
 *
 * The property is the attacker's: whatever the bytes, an allowed
 * request must not reach, on a server that reads paths loosely, what
 * the deny rules close.  Such a server here decodes every escape twice
 * (also overlong UTF-8 dots and slashes), takes '\' for '/', drops
 * ";parameters", merges "//" and resolves "." and ".."; and splits a
 * query at '&' and ';' and decodes each name twice.  An allowed /v1/
 * request must still be under /v1/ and not under /v1/admin for it; an
 * allowed /s request must carry no parameter token.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grammar.h"
#include "policy.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char text[] =
    "version: 1\nnetwork:\n  egress:\n    http:\n"
    "      - match: api.test\n        verdict: allow\n"
    "        rules:\n"
    "          - {method: GET, path: \"/v1/**\", verdict: allow}\n"
    "          - {method: \"*\", path: \"/v1/admin/**\", verdict: deny}\n"
    "          - {method: \"*\", path: /v1/admin, verdict: deny}\n"
    "          - {method: GET, path: \"/s\", query: \"**token**\", "
    "verdict: deny}\n"
    "          - {method: GET, path: \"/s\", verdict: allow}\n";


/* every %XX decoded, in place; overlong UTF-8 '.' and '/' too */
static void
decode(char *s)
{
	char	*o = s;
	int	 h, l;

	while (*s != '\0') {
		if (s[0] == '%' && (h = gr_hexdigit(s[1])) != -1 &&
		    (l = gr_hexdigit(s[2])) != -1) {
			*o++ = (char)(h << 4 | l);
			s += 3;
		} else
			*o++ = *s++;
	}
	*o = '\0';
}

static void
overlong(char *s)
{
	char	*o = s;

	while (*s != '\0') {
		if ((unsigned char)s[0] == 0xc0 &&
		    ((unsigned char)s[1] == 0xae || (unsigned char)s[1] == 0xaf)) {
			*o++ = (unsigned char)s[1] == 0xae ? '.' : '/';
			s += 2;
		} else
			*o++ = *s++;
	}
	*o = '\0';
}

/* the path as a loose server reads it, into out */
static void
loose_path(const char *in, char *out, size_t size)
{
	char	*buf, *segs[4096], *p, *q;
	size_t	 n = 0, i, o;

	if ((buf = strdup(in)) == NULL)
		abort();
	decode(buf);
	decode(buf);
	overlong(buf);
	for (p = buf; *p != '\0'; p++)
		if (*p == '\\')
			*p = '/';
	for (p = buf; p != NULL; p = q) {
		if ((q = strchr(p, '/')) != NULL)
			*q++ = '\0';
		if (strchr(p, ';') != NULL)
			*strchr(p, ';') = '\0';
		if (*p == '\0' || strcmp(p, ".") == 0)
			continue;
		if (strcmp(p, "..") == 0) {
			if (n > 0)
				n--;
			continue;
		}
		if (n < sizeof(segs) / sizeof(segs[0]))
			segs[n++] = p;
	}
	o = 0;
	out[0] = '\0';
	for (i = 0; i < n && o + 1 < size; i++)
		o += snprintf(out + o, size - o, "/%s", segs[i]);
	if (n == 0)
		snprintf(out, size, "/");
	free(buf);
}

/* does the query carry a parameter named token, to a loose server? */
static int
has_token(const char *query)
{
	char	*buf, *p, *q, *eq;
	int	 found = 0;

	if ((buf = strdup(query)) == NULL)
		abort();
	for (p = buf; p != NULL && !found; p = q) {
		if ((q = strpbrk(p, "&;")) != NULL)
			*q++ = '\0';
		if ((eq = strchr(p, '=')) != NULL)
			*eq = '\0';
		decode(p);
		decode(p);
		found = strcmp(p, "token") == 0;
	}
	free(buf);
	return found;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct policy		*pol;
	struct policy_request_decision	 d;
	char				*target, *query, loose[POLICY_MAXTARGET * 2];

	if (pol == NULL && (pol = policy_parse("t.yaml", text, strlen(text),
	    NULL)) == NULL)
		abort();
	if ((target = malloc(size + 1)) == NULL)
		abort();
	memcpy(target, data, size);
	target[size] = '\0';		/* the path ends at a NUL, as in C */
	if ((query = strchr(target, '?')) != NULL)
		*query++ = '\0';
	policy_http_request(pol, "api.test", 443, "GET", target, query, &d);
	if (d.verdict > VERDICT_ASK || d.websocket ||
	    (d.verdict != VERDICT_ALLOW && d.why == NULL))
		abort();
	if (d.verdict == VERDICT_ALLOW) {
		loose_path(target, loose, sizeof(loose));
		if (strncmp(target, "/v1/", 4) == 0 &&
		    ((strncmp(loose, "/v1/", 4) != 0 &&
		    strcmp(loose, "/v1") != 0) ||
		    strcmp(loose, "/v1/admin") == 0 ||
		    strncmp(loose, "/v1/admin/", 10) == 0)) {
			fprintf(stderr, "allowed %s, a loose server reads %s\n",
			    target, loose);
			abort();
		}
		if (strcmp(target, "/s") == 0 && query != NULL &&
		    has_token(query)) {
			fprintf(stderr, "allowed /s?%s with a token\n", query);
			abort();
		}
		if (strncmp(target, "/v1/", 4) != 0 && strcmp(target, "/s") != 0)
			abort();	/* no rule allows anything else */
	}
	free(target);
	return 0;
}
