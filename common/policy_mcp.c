/*
 * mcp: request rules (lns-policy.yaml(5)): which JSON-RPC requests of
 * MCP's Streamable HTTP transport (one JSON-RPC message per POST) a
 * request rule covers.
 *
 * The body, already parsed strictly (jsonstrict.h: no duplicate key, no
 * trailing data), must be one JSON-RPC 2.0 request or notification: an
 * object with jsonrpc "2.0", a string method, an id that is a string or
 * an integer (absent: a notification), params an object, nothing else.
 * A batch (an array) is refused, and so is a response: neither is a
 * request a rule can judge.  The Mcp-Method and Mcp-Name headers
 * (MCP SEP-2243), when present, must say what the body says, read in
 * their "=?base64?...?=" form where they use it: an intermediary that
 * routes on them must not see another request than the one judged.
 *
 * An entry of the rule covers a request when each of its conditions
 * holds: method glob, tool glob over params.name, uri glob over
 * params.uri, and each argument condition (a JSON pointer into
 * params.arguments and a glob over the scalar found there).  Entries
 * never combine: one covers the request by itself, or none does.  The
 * globs are those of paths ('*' not across '/', '**' across); a value
 * too long for them (POLICY_MAXTARGET) that an entry must judge makes
 * the request refused rather than not matched.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "policy.h"
#include "policy_int.h"

#define MCP_SEPS	"/"		/* what '*' does not cross */

/* ---- the builders ---- */

int
pm_mcp_glob(const char *s, char *why, size_t whylen)
{
	if (strstr(s, "***") != NULL)
		return pm_why(why, whylen, ": use * (not across /) or ** "
		    "(anything), not ***");
	return 0;
}

/* RFC 6901: "" or "/" tokens, "~" only as ~0 or ~1; here never "" */
int
pm_mcp_pointer(const char *s, char *why, size_t whylen)
{
	const char	*t;

	if (s[0] != '/')
		return pm_why(why, whylen, " is not a JSON pointer (it "
		    "starts with /, RFC 6901)");
	for (t = s; (t = strchr(t, '~')) != NULL; t++)
		if (t[1] != '0' && t[1] != '1')
			return pm_why(why, whylen, ": ~ is written ~0 and / "
			    "~1 in a JSON pointer");
	return 0;
}

/* MCP's requests are POSTs: GET is refused where mcp: rules apply */
int
pm_mcp_method(const char *method, char *why, size_t whylen)
{
	if (strcmp(method, "POST") != 0 && strcmp(method, "*") != 0)
		return pm_why(why, whylen, "needs method POST or *, not %s "
		    "(MCP's requests are POSTs)", method);
	return 0;
}

void
pm_mcp_free(struct mcp_rule *m)
{
	size_t	 i, j;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++) {
		for (j = 0; j < m->e[i].nargs; j++) {
			free(m->e[i].args[j].pointer);
			free(m->e[i].args[j].glob);
		}
		free(m->e[i].args);
		free(m->e[i].method);
		free(m->e[i].tool);
		free(m->e[i].uri);
	}
	free(m->e);
	free(m);
}

/* ---- the request ---- */

struct mcp_req {
	const char	*method;
	const json_t	*id;		/* NULL: a notification */
	const char	*name;		/* params.name, NULL: none */
	const char	*uri;		/* params.uri, NULL: none */
	const json_t	*args;		/* params.arguments, NULL: none */
};

/* a string member: 0 absent, 1 a string without NUL, -1 otherwise */
static int
member_str(const json_t *o, const char *key, const char **out)
{
	const json_t	*v;

	*out = NULL;
	if ((v = json_object_get(o, key)) == NULL)
		return 0;
	if (!json_is_string(v) ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return -1;
	*out = json_string_value(v);
	return 1;
}

/* the body as one JSON-RPC 2.0 request, or -1 with why */
static int
mcp_request(const json_t *body, struct mcp_req *rq, char *why,
    size_t whylen)
{
	const json_t	*params, *v;
	const char	*key, *s;
	void		*it;

	memset(rq, 0, sizeof(*rq));
	if (json_is_array(body))
		return pm_why(why, whylen, "mcp: a JSON-RPC batch is "
		    "refused (one message per request)");
	if (!json_is_object(body))
		return pm_why(why, whylen, "mcp: the body is not a JSON-RPC "
		    "object");
	for (it = json_object_iter((json_t *)body); it != NULL;
	    it = json_object_iter_next((json_t *)body, it)) {
		key = json_object_iter_key(it);
		if (strcmp(key, "jsonrpc") != 0 && strcmp(key, "method") != 0 &&
		    strcmp(key, "id") != 0 && strcmp(key, "params") != 0) {
			if (strcmp(key, "result") == 0 ||
			    strcmp(key, "error") == 0)
				return pm_why(why, whylen, "mcp: a JSON-RPC "
				    "response, not a request");
			return pm_why(why, whylen, "mcp: member \"%.40s\" is "
			    "not one of a JSON-RPC request", key);
		}
	}
	if (member_str(body, "jsonrpc", &s) != 1 || strcmp(s, "2.0") != 0)
		return pm_why(why, whylen, "mcp: jsonrpc is not \"2.0\"");
	switch (member_str(body, "method", &rq->method)) {
	case 0:
		return pm_why(why, whylen, "mcp: no method");
	case -1:
		return pm_why(why, whylen, "mcp: method is not a string");
	}
	if ((v = json_object_get(body, "id")) != NULL) {
		if (!json_is_integer(v) && !(json_is_string(v) &&
		    strlen(json_string_value(v)) == json_string_length(v)))
			return pm_why(why, whylen, "mcp: id is not a string "
			    "or an integer");
		rq->id = v;
	}
	if ((params = json_object_get(body, "params")) == NULL)
		return 0;
	if (!json_is_object(params))
		return pm_why(why, whylen, "mcp: params is not an object");
	if (member_str(params, "name", &rq->name) == -1)
		return pm_why(why, whylen, "mcp: params.name is not a "
		    "string");
	if (member_str(params, "uri", &rq->uri) == -1)
		return pm_why(why, whylen, "mcp: params.uri is not a string");
	if ((v = json_object_get(params, "arguments")) != NULL) {
		if (!json_is_object(v))
			return pm_why(why, whylen, "mcp: params.arguments is "
			    "not an object");
		rq->args = v;
	}
	return 0;
}

/* ---- the headers ---- */

/*
 * A header value as meant: without the spaces around it, and decoded
 * when it is exactly "=?base64?B64?=" (lower case, SEP-2243), into buf.
 * NULL when the base64 is bad or decodes to something that is not
 * UTF-8 without NUL.
 */
static const char *
header_value(const char *v, char *buf, size_t size, size_t *lenp)
{
	static const char	 pre[] = "=?base64?", suf[] = "?=";
	const char		*end;
	size_t			 len, n;

	while (*v == ' ' || *v == '\t')
		v++;
	len = strlen(v);
	while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	if (len < sizeof(pre) - 1 + sizeof(suf) - 1 ||
	    strncmp(v, pre, sizeof(pre) - 1) != 0 ||
	    strncmp(v + len - 2, suf, 2) != 0) {
		if (len >= size)
			return NULL;
		memcpy(buf, v, len);
		buf[len] = '\0';
		*lenp = len;
		return buf;
	}
	v += sizeof(pre) - 1;
	len -= sizeof(pre) - 1 + sizeof(suf) - 1;
	if (sodium_base642bin((unsigned char *)buf, size - 1, v, len, NULL,
	    &n, &end, sodium_base64_VARIANT_ORIGINAL) != 0 || end != v + len)
		return NULL;
	if (memchr(buf, '\0', n) != NULL ||
	    pm_utf8_bad((unsigned char *)buf, n) != n)
		return NULL;
	buf[n] = '\0';
	*lenp = n;
	return buf;
}

/* what Mcp-Name stands for with this method (SEP-2243), NULL: nothing */
static const char *
name_field(const char *method)
{
	if (strcmp(method, "tools/call") == 0 ||
	    strcmp(method, "prompts/get") == 0)
		return "name";
	if (strcmp(method, "resources/read") == 0 ||
	    strcmp(method, "resources/subscribe") == 0 ||
	    strcmp(method, "resources/unsubscribe") == 0)
		return "uri";
	return NULL;
}

/* header hname, at most once, equal to want (NULL: must be absent) */
static int
header_agrees(const struct policy_body *b, const char *hname,
    const char *field, const char *want, char *why, size_t whylen)
{
	char		 buf[POLICY_MAXTARGET + 1];
	const char	*v, *d;
	size_t		 len;

	if (b == NULL || b->header == NULL ||
	    (v = b->header(b->arg, hname, 0)) == NULL)
		return 0;
	if (b->header(b->arg, hname, 1) != NULL)
		return pm_why(why, whylen, "mcp: more than one %s header",
		    hname);
	if ((d = header_value(v, buf, sizeof(buf), &len)) == NULL)
		return pm_why(why, whylen, "mcp: %s header: bad base64 or "
		    "too long", hname);
	if (want == NULL)
		return pm_why(why, whylen, "mcp: %s header but the body has "
		    "no %s", hname, field);
	if (strlen(want) != len || memcmp(want, d, len) != 0)
		return pm_why(why, whylen, "mcp: %s header does not agree "
		    "with %s", hname, field);
	return 0;
}

static int
headers_agree(const struct policy_body *b, const struct mcp_req *rq,
    char *why, size_t whylen)
{
	const char	*f;

	if (header_agrees(b, "Mcp-Method", "method", rq->method, why,
	    whylen) == -1)
		return -1;
	if ((f = name_field(rq->method)) == NULL)
		return header_agrees(b, "Mcp-Name", "params.name or "
		    "params.uri", NULL, why, whylen);
	if (strcmp(f, "name") == 0)
		return header_agrees(b, "Mcp-Name", "params.name", rq->name,
		    why, whylen);
	return header_agrees(b, "Mcp-Name", "params.uri", rq->uri, why,
	    whylen);
}

/* ---- matching ---- */

/* glob over a value: 1, 0, or -1 when it is too long to judge */
static int
vglob(const char *pat, const char *s, size_t len, const char *what,
    char *why, size_t whylen)
{
	if (len > POLICY_MAXTARGET)
		return pm_why(why, whylen, "mcp: %s longer than %d bytes "
		    "cannot be judged", what, POLICY_MAXTARGET);
	return pm_glob(pat, s, len, MCP_SEPS);
}

/* RFC 6901 from args: NULL when nothing is there */
static const json_t *
pointer_get(const json_t *v, const char *p)
{
	char		 tok[PM_MCP_POINTER + 1];
	size_t		 n, o, i, idx;

	while (v != NULL && *p == '/') {
		p++;
		n = strcspn(p, "/");
		for (i = 0, o = 0; i < n; i++) {
			if (p[i] == '~') {	/* ~0 or ~1: the builder says */
				tok[o++] = p[i + 1] == '1' ? '/' : '~';
				i++;
			} else
				tok[o++] = p[i];
		}
		tok[o] = '\0';
		p += n;
		if (json_is_object(v))
			v = json_object_getn(v, tok, o);
		else if (json_is_array(v)) {
			if (o == 0 || o > 9 || (tok[0] == '0' && o > 1) ||
			    strspn(tok, "0123456789") != o)
				return NULL;
			idx = strtoul(tok, NULL, 10);
			v = json_array_get(v, idx);
		} else
			return NULL;
	}
	return v;
}

/* an argument condition: the scalar at the pointer matches the glob */
static int
arg_match(const struct mcp_arg *a, const json_t *args, char *why,
    size_t whylen)
{
	const json_t	*v;
	char		 num[64], what[80];
	const char	*s;
	size_t		 len;

	if (args == NULL || (v = pointer_get(args, a->pointer)) == NULL)
		return 0;
	switch (json_typeof(v)) {
	case JSON_STRING:
		s = json_string_value(v);
		len = json_string_length(v);
		if (strlen(s) != len)
			return 0;
		break;
	case JSON_INTEGER:
		len = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		s = num;
		break;
	case JSON_TRUE:
	case JSON_FALSE:
	case JSON_NULL:
		s = json_is_true(v) ? "true" : json_is_false(v) ? "false" :
		    "null";
		len = strlen(s);
		break;
	default:		/* a real, an object, an array: no scalar */
		return 0;
	}
	snprintf(what, sizeof(what), "argument %.60s", a->pointer);
	return vglob(a->glob, s, len, what, why, whylen);
}

/* does entry e cover the request?  1, 0 or -1 (why) */
static int
entry_match(const struct mcp_entry *e, const struct mcp_req *rq, char *why,
    size_t whylen)
{
	size_t	 i;
	int	 rv;

	if ((rv = vglob(e->method, rq->method, strlen(rq->method), "method",
	    why, whylen)) != 1)
		return rv;
	if (e->tool != NULL && (rq->name == NULL ||
	    (rv = vglob(e->tool, rq->name, strlen(rq->name), "params.name",
	    why, whylen)) != 1))
		return rq->name == NULL ? 0 : rv;
	if (e->uri != NULL && (rq->uri == NULL ||
	    (rv = vglob(e->uri, rq->uri, strlen(rq->uri), "params.uri", why,
	    whylen)) != 1))
		return rq->uri == NULL ? 0 : rv;
	for (i = 0; i < e->nargs; i++)
		if ((rv = arg_match(&e->args[i], rq->args, why, whylen)) != 1)
			return rv;
	return 1;
}

/* ---- audit ---- */

/* at most max bytes of s, not cutting a UTF-8 sequence */
static json_t *
short_string(const char *s, size_t max)
{
	size_t	 len = strlen(s);

	if (len > max) {
		len = max;
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
	}
	return json_stringn(s, len);
}

/*
 * {"mcp":{"method":..,"tool":..,"uri":..,"args_sha256":..}}: the
 * arguments only as the SHA-256 of their canonical JSON (keys sorted,
 * compact, ASCII: what canonjson.h calls canonical), never themselves;
 * strings shortened until it fits.
 */
static void
mcp_audit(const struct mcp_req *rq, char *audit, size_t size)
{
	static const size_t	 max[] = { 200, 64, 16 };
	unsigned char		 md[crypto_hash_sha256_BYTES];
	char			 hex[2 * sizeof(md) + 1], *s, *canon = NULL;
	json_t			*o, *m;
	size_t			 i;

	audit[0] = '\0';
	if (rq->args != NULL) {
		if ((canon = json_dumps(rq->args, JSON_COMPACT |
		    JSON_SORT_KEYS | JSON_ENSURE_ASCII)) == NULL)
			return;
		crypto_hash_sha256(md, (unsigned char *)canon, strlen(canon));
		sodium_bin2hex(hex, sizeof(hex), md, sizeof(md));
		free(canon);
	}
	for (i = 0; i < sizeof(max) / sizeof(max[0]); i++) {
		if ((m = json_object()) == NULL)
			return;
		if ((o = json_pack("{s:o}", "mcp", m)) == NULL)
			return;
		if (json_object_set_new(m, "method", short_string(rq->method,
		    max[i])) == -1 || (rq->name != NULL &&
		    json_object_set_new(m, "tool", short_string(rq->name,
		    max[i])) == -1) || (rq->uri != NULL &&
		    json_object_set_new(m, "uri", short_string(rq->uri,
		    max[i])) == -1) || (rq->args != NULL &&
		    json_object_set_new(m, "args_sha256",
		    json_string(hex)) == -1)) {
			json_decref(o);
			return;
		}
		s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(o);
		if (s == NULL)
			return;
		if (strlen(s) < size) {
			strlcpy(audit, s, size);
			free(s);
			return;
		}
		free(s);
	}
}

int
pm_mcp_match(const struct mcp_rule *m, const json_t *body,
    const struct policy_body *b, char *audit, size_t auditlen, char *why,
    size_t whylen)
{
	struct mcp_req	 rq;
	char		 w[PM_WHY];
	size_t		 i;
	int		 rv, refused = 0;

	if (mcp_request(body, &rq, why, whylen) == -1)
		return -1;
	/* the same body for every mcp: rule: its detail made once */
	if (audit != NULL && auditlen > 0 &&
	    strncmp(audit, "{\"mcp\":", 7) != 0)
		mcp_audit(&rq, audit, auditlen);
	if (headers_agree(b, &rq, why, whylen) == -1)
		return -1;
	/* order does not matter: one entry covering it is enough */
	for (i = 0; i < m->n; i++) {
		if ((rv = entry_match(&m->e[i], &rq, w, sizeof(w))) == 1)
			return 1;
		if (rv == -1 && !refused) {
			refused = 1;
			if (why != NULL && whylen > 0)
				strlcpy(why, w, whylen);
		}
	}
	if (refused)
		return -1;
	if (rq.name != NULL)
		pm_why(why, whylen, "mcp: no entry covers %.40s \"%.60s\"",
		    rq.method, rq.name);
	else if (rq.uri != NULL)
		pm_why(why, whylen, "mcp: no entry covers %.40s \"%.60s\"",
		    rq.method, rq.uri);
	else
		pm_why(why, whylen, "mcp: no entry covers %.60s", rq.method);
	return 0;
}
