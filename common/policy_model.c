/*
 * The policy model (policy_int.h): its construction, its checks and
 * its accessors.  Every value that reaches the model goes through a
 * builder here, whether it came from lns-policy.yaml (policy_yaml.c) or
 * from a binary model received by imsg (policy_wire.c): the two can
 * only build the same models.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "grammar.h"
#include "policy.h"
#include "policy_int.h"

const char *const pm_inj_fields[] = {
	"name", "value", "user", "region", "service", "tokenUrl", "clientId",
	NULL
};

/* by type, by field: what each injection form takes */
static const unsigned char inj_takes[INJ_LAST + 1][IF_N] = {
#define N	PM_INJ_NO
#define O	PM_INJ_OPT
#define R	PM_INJ_REQ
	/*		name value user region service tokenUrl clientId */
	[INJ_HEADER] =	{ R,   R,    N,   N,     N,      N,       N },
	[INJ_QUERY] =	{ R,   R,    N,   N,     N,      N,       N },
	[INJ_BASIC] =	{ N,   N,    R,   N,     N,      N,       N },
	[INJ_HMAC] =	{ R,   N,    N,   N,     N,      N,       N },
	[INJ_SIGV4] =	{ N,   N,    N,   R,     R,      N,       N },
	[INJ_OAUTH2] =	{ N,   N,    N,   N,     N,      R,       O },
	[INJ_URIPH] =	{ N,   N,    N,   N,     N,      N,       N },
#undef N
#undef O
#undef R
};

const char *const pm_methods[] = {
	"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT",
	"TRACE", "*", NULL
};

const char *
verdict_name(enum verdict v)
{
	switch (v) {
	case VERDICT_DENY:
		return "deny";
	case VERDICT_ALLOW:
		return "allow";
	case VERDICT_ASK:
		return "ask";
	}
	return "deny";
}

/* ---- errors ---- */

void
pm_seterr(struct policy_error *err, const char *file, unsigned int line,
    unsigned int col, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL)
		return;
	memset(err, 0, sizeof(*err));
	strlcpy(err->file, file, sizeof(err->file));
	err->line = line;
	err->column = col;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

void
policy_strerror(const struct policy_error *err, char *buf, size_t len)
{
	if (err->line > 0)
		snprintf(buf, len, "%s:%u:%u: %s", err->file, err->line,
		    err->column, err->msg);
	else
		snprintf(buf, len, "%s: %s", err->file, err->msg);
}

const char *
pm_quote(const char *s, size_t len, char *buf, size_t size)
{
	size_t		 i, o = 0;
	unsigned char	 ch;

	buf[o++] = '"';
	for (i = 0; i < len && o + 8 < size; i++) {
		ch = s[i];
		if (i >= 64) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (ch == '"' || ch == '\\') {
			buf[o++] = '\\';
			buf[o++] = ch;
		} else if (ch < 0x20 || ch == 0x7f)
			o += snprintf(buf + o, size - o, "\\x%02x", ch);
		else
			buf[o++] = ch;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

/* offset of the first byte that is not well-formed UTF-8, or len */
size_t
pm_utf8_bad(const unsigned char *s, size_t len)
{
	size_t		 i = 0, n, k;
	uint32_t	 c, min;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			n = 1; c = s[i] & 0x1f; min = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			n = 2; c = s[i] & 0x0f; min = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			n = 3; c = s[i] & 0x07; min = 0x10000;
		} else
			return i;
		if (len - i <= n)
			return i;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return i;
			c = c << 6 | (s[i + k] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return i;
		i += n + 1;
	}
	return len;
}

/* pm_why: the reason into why (when given), for the parsers' "return -1" */
int
pm_why(char *why, size_t size, const char *fmt, ...)
{
	va_list	 ap;

	if (why != NULL && size > 0) {
		va_start(ap, fmt);
		vsnprintf(why, size, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* ---- the model ---- */

struct policy *
pm_new(void)
{
	struct policy	*pol;

	if ((pol = calloc(1, sizeof(*pol))) == NULL)
		return NULL;
	pol->defverdict = VERDICT_DENY;
	return pol;
}

/* libsodium's SHA-256: no library configuration to load, no locks */
void
pm_hash_source(struct policy *pol, const void *buf, size_t len)
{
	unsigned char	 md[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(md, buf, len);
	sodium_bin2hex(pol->hash, sizeof(pol->hash), md, sizeof(md));
}

struct policy *
policy_default(void)
{
	struct policy	*pol;

	if ((pol = pm_new()) == NULL)
		return NULL;
	pm_hash_source(pol, "", 0);
	return pol;
}

static void
free_rules(struct net_rule *r, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(r[i].match);
	free(r);
}

void
policy_free(struct policy *pol)
{
	size_t	 i, j, k;

	if (pol == NULL)
		return;
	for (i = 0; i < pol->nhttp; i++) {
		for (j = 0; j < pol->http[i].nsubs; j++) {
			free(pol->http[i].subs[j].method);
			free(pol->http[i].subs[j].path);
			free(pol->http[i].subs[j].query);
			pm_mcp_free(pol->http[i].subs[j].mcp);
			pm_graphql_free(pol->http[i].subs[j].graphql);
		}
		free(pol->http[i].subs);
		free(pol->http[i].match);
		free(pol->http[i].cafile);
	}
	free(pol->http);
	free_rules(pol->tcp, pol->ntcp);
	free_rules(pol->udp, pol->nudp);
	free(pol->publish);
	for (i = 0; i < pol->ncreds; i++) {
		for (j = 0; j < pol->creds[i].ninj; j++) {
			free(pol->creds[i].inj[j].host);
			for (k = 0; k < IF_N; k++)
				free(pol->creds[i].inj[j].f[k]);
		}
		free(pol->creds[i].inj);
		free(pol->creds[i].id);
		free(pol->creds[i].envvar);
	}
	free(pol->creds);
	pm_llm_free(pol);
	free(pol);
}

const char *
policy_hash(const struct policy *pol)
{
	return pol->hash;
}

size_t
policy_npublish(const struct policy *pol)
{
	return pol->npublish;
}

const struct gr_publish *
policy_publish_at(const struct policy *pol, size_t i)
{
	return i < pol->npublish ? &pol->publish[i] : NULL;
}

const struct policy_resources *
policy_resources(const struct policy *pol)
{
	return &pol->res;
}

/* ---- names and addresses ---- */

/* a host pattern: name or "*.name" */
int
hostpat_parse(const char *s, size_t len, struct hostpat *hp)
{
	memset(hp, 0, sizeof(*hp));
	if (len >= 2 && s[0] == '*' && s[1] == '.') {
		hp->wildcard = 1;
		s += 2;
		len -= 2;
	}
	return norm_name(s, len, hp->name);
}

int
cidr_parse(const char *s, size_t len, struct cidr *cd, const char **why)
{
	char		 buf[INET6_ADDRSTRLEN + 8], *slash;
	unsigned int	 max, i, bits;
	int		 pl;

	memset(cd, 0, sizeof(*cd));
	*why = "is not an address or CIDR";
	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, cd->addr) == 1) {
		cd->af = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, cd->addr) == 1) {
		cd->af = AF_INET6;
		max = 128;
	} else
		return -1;
	cd->plen = max;
	if (slash != NULL) {
		if (*slash == '\0' || strlen(slash) > 3 ||
		    (slash[0] == '0' && slash[1] != '\0'))
			return -1;
		for (pl = 0, i = 0; slash[i] != '\0'; i++) {
			if (!isdigit((unsigned char)slash[i]))
				return -1;
			pl = pl * 10 + slash[i] - '0';
		}
		if ((unsigned int)pl > max) {
			*why = "has a prefix length out of range";
			return -1;
		}
		cd->plen = pl;
	}
	for (bits = cd->plen; bits < max; bits++)
		if (cd->addr[bits / 8] & (0x80 >> (bits % 8))) {
			*why = "has host bits set beyond the prefix length";
			return -1;
		}
	return 0;
}

/* ---- the builders ---- */

/* "host", "*.suffix", with optional ":port" (http rules, credentials) */
int
pm_hostport(const char *s, struct hostpat *hp, uint16_t *port, char *why,
    size_t whylen)
{
	const char	*colon;
	int		 pt;
	size_t		 hl;

	*port = 0;
	hl = strlen(s);
	if ((colon = strrchr(s, ':')) != NULL) {
		hl = colon - s;
		if ((pt = gr_port(colon + 1, strlen(colon + 1))) == -1)
			return pm_why(why, whylen, ": port \"%s\" is not a "
			    "number from 1 to 65535", colon + 1);
		*port = pt;
	}
	if (hl == 1 && s[0] == '*')
		return pm_why(why, whylen, ": a bare * is not a rule, use "
		    "defaultVerdict");
	if (hostpat_parse(s, hl, hp) == -1)
		return pm_why(why, whylen, " is not a host name or *.suffix");
	return 0;
}

/* "host:port", "*.suffix:port", "CIDR:port", "[v6CIDR]:port" */
int
pm_net_match(const char *s, struct net_rule *r, char *why, size_t whylen)
{
	const char	*colon, *dash, *w, *hs, *ps;
	size_t		 hl;
	int		 lo, hi;

	r->is_cidr = 0;
	memset(&r->host, 0, sizeof(r->host));
	memset(&r->cidr, 0, sizeof(r->cidr));
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL || rb[1] != ':')
			return pm_why(why, whylen, ": expected "
			    "[IPv6/len]:port");
		hs = s + 1;
		hl = rb - hs;
		ps = rb + 2;
		if (cidr_parse(hs, hl, &r->cidr, &w) == -1 ||
		    r->cidr.af != AF_INET6)
			return pm_why(why, whylen, ": \"%.*s\" %s", (int)hl,
			    hs, r->cidr.af == AF_INET ?
			    "is not an IPv6 address" : w);
		r->is_cidr = 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return pm_why(why, whylen, ": expected HOST:PORT, "
			    "CIDR:PORT or [IPv6/len]:PORT (PORT may be N, "
			    "N-M or *)");
		hs = s;
		hl = colon - s;
		ps = colon + 1;
		if (memchr(hs, ':', hl) != NULL)
			return pm_why(why, whylen, ": write IPv6 addresses "
			    "in brackets: [2001:db8::/32]:443");
		if (hl > 0 && (isdigit((unsigned char)hs[hl - 1]) ||
		    memchr(hs, '/', hl) != NULL) &&
		    strspn(hs, "0123456789./") >= hl) {
			if (cidr_parse(hs, hl, &r->cidr, &w) == -1)
				return pm_why(why, whylen, ": \"%.*s\" %s",
				    (int)hl, hs, w);
			r->is_cidr = 1;
		} else if (hl == 1 && hs[0] == '*')
			return pm_why(why, whylen, ": a bare * is not a "
			    "rule, use defaultVerdict");
		else if (hostpat_parse(hs, hl, &r->host) == -1)
			return pm_why(why, whylen, ": \"%.*s\" is not a host "
			    "name, *.suffix or CIDR", (int)hl, hs);
	}
	if (strcmp(ps, "*") == 0) {
		lo = 1;
		hi = 65535;
	} else if ((dash = strchr(ps, '-')) != NULL) {
		lo = gr_port(ps, dash - ps);
		hi = gr_port(dash + 1, strlen(dash + 1));
		if (lo == -1 || hi == -1 || lo > hi)
			return pm_why(why, whylen, ": port range \"%s\" is "
			    "not LOW-HIGH with 1 <= LOW <= HIGH <= 65535", ps);
	} else if ((lo = hi = gr_port(ps, strlen(ps))) == -1)
		return pm_why(why, whylen, ": port \"%s\" is not a number "
		    "from 1 to 65535, a range N-M or *", ps);
	r->lo = lo;
	r->hi = hi;
	return 0;
}

/*
 * A request rule's path pattern: a normal path (path_abnormal, the
 * same test a request's path must pass) with * and ** in it.
 */
int
pm_sub_path(const char *s, char *why, size_t whylen)
{
	const char	*w;

	if ((w = path_abnormal(s, strlen(s), 1)) != NULL)
		return pm_why(why, whylen, ": %s", w);
	if (strstr(s, "***") != NULL)
		return pm_why(why, whylen, ": use * (one segment) or ** (any "
		    "depth), not ***");
	return 0;
}

/* a request rule's query pattern: may be "" (no query at all) */
int
pm_sub_query(const char *s, char *why, size_t whylen)
{
	const char	*w;

	if ((w = pm_query_abnormal(s, strlen(s))) != NULL)
		return pm_why(why, whylen, ": %s", w);
	if (strstr(s, "***") != NULL)
		return pm_why(why, whylen, ": use * (one parameter) or ** "
		    "(anything), not ***");
	return 0;
}

/* a file name (not a path) under /etc/lens/ca */
int
pm_cafile(const char *s, char *why, size_t whylen)
{
	size_t	 i;

	if (!isalnum((unsigned char)s[0]))
		goto bad;
	for (i = 1; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) &&
		    strchr("._-", s[i]) == NULL)
			goto bad;
	if (i > PM_CAFILE || strstr(s, "..") != NULL)
		goto bad;
	return 0;
 bad:
	return pm_why(why, whylen, " is not a file name in /etc/lens/ca "
	    "(letters, digits, . _ -, starting with a letter or digit, no "
	    "\"..\", at most %d bytes)", PM_CAFILE);
}

static int
valid_ident(const char *s, int envvar)
{
	size_t	 i;

	if (envvar ? !(isalpha((unsigned char)s[0]) || s[0] == '_') :
	    !isalnum((unsigned char)s[0]))
		return 0;
	for (i = 1; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' &&
		    (envvar || (s[i] != '-' && s[i] != '.')))
			return 0;
	return 1;
}

int
pm_cred_id(const char *s, char *why, size_t whylen)
{
	if (!valid_ident(s, 0))
		return pm_why(why, whylen, ": letters, digits, _ - . only, "
		    "starting with a letter or digit");
	return 0;
}

int
pm_envvar(const char *s, char *why, size_t whylen)
{
	if (!valid_ident(s, 1))
		return pm_why(why, whylen, " is not an environment variable "
		    "name ([A-Za-z_][A-Za-z0-9_]*)");
	return 0;
}

/* an HTTP token (header or query parameter name) */
static int
inj_name(const char *s, char *why, size_t whylen)
{
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) &&
		    strchr("!#$%&'*+.^_`|~-", *s) == NULL)
			return pm_why(why, whylen, " is not a header or "
			    "parameter name");
	return 0;
}

static int
inj_value(const char *s, char *why, size_t whylen)
{
	if (strpbrk(s, "\r\n") != NULL)
		return pm_why(why, whylen, " contains a line break");
	if (strstr(s, "{secret}") == NULL)
		return pm_why(why, whylen, " does not contain {secret}");
	return 0;
}

/* printable ASCII, no space; none of the bytes of refuse */
static int
inj_visible(const char *s, const char *refuse)
{
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s >= 0x7f || strchr(refuse, *s) != NULL)
			return 0;
	return 1;
}

/* an AWS region or service: lower-case letters, digits and '-' */
static int
inj_aws(const char *s, char *why, size_t whylen)
{
	if (strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(s))
		return pm_why(why, whylen, ": lower-case letters, digits "
		    "and - only");
	return 0;
}

int
pm_token_url(const char *s, char host[MAXNAME + 1], uint16_t *port,
    char *why, size_t whylen)
{
	const char	*a, *e, *colon;
	int		 pt;

	if (strncmp(s, "https://", 8) != 0)
		return pm_why(why, whylen, " is not an https:// URL");
	a = s + 8;
	e = a + strcspn(a, "/?#");
	if (*e == '#' || strchr(e, '#') != NULL)
		return pm_why(why, whylen, ": a fragment is not sent");
	if (memchr(a, '@', e - a) != NULL)
		return pm_why(why, whylen, ": no user information in a "
		    "token URL");
	*port = 443;
	if ((colon = memchr(a, ':', e - a)) != NULL) {
		if ((pt = gr_port(colon + 1, e - colon - 1)) == -1)
			return pm_why(why, whylen, ": port \"%.*s\" is not a "
			    "number from 1 to 65535", (int)(e - colon - 1),
			    colon + 1);
		*port = pt;
	} else
		colon = e;
	if (norm_name(a, colon - a, host) == -1)
		return pm_why(why, whylen, ": \"%.*s\" is not a host name",
		    (int)(colon - a), a);
	if (*e != '\0' && *e != '/')
		return pm_why(why, whylen, ": the path must start with /");
	if (!inj_visible(e, ""))
		return pm_why(why, whylen, ": a space or control character "
		    "in the path");
	return 0;
}

int
pm_inj_takes(enum inj_type t, enum inj_field k)
{
	if ((unsigned int)t > INJ_LAST || (unsigned int)k >= IF_N)
		return PM_INJ_NO;
	return inj_takes[t][k];
}

size_t
pm_inj_max(enum inj_field k)
{
	switch (k) {
	case IF_VALUE:
		return PM_INJ_VALUE;
	case IF_REGION:
	case IF_SERVICE:
		return PM_INJ_AWS;
	case IF_TOKENURL:
		return PM_INJ_URL;
	default:
		return PM_INJ_NAME;
	}
}

int
pm_inj_field(enum inj_field k, const char *s, char *why, size_t whylen)
{
	char		 host[MAXNAME + 1];
	uint16_t	 port;

	switch (k) {
	case IF_NAME:
		return inj_name(s, why, whylen);
	case IF_VALUE:
		return inj_value(s, why, whylen);
	case IF_USER:
		if (!inj_visible(s, ":"))
			return pm_why(why, whylen, ": no ':', space or "
			    "control character in a basic user");
		return 0;
	case IF_REGION:
	case IF_SERVICE:
		return inj_aws(s, why, whylen);
	case IF_TOKENURL:
		return pm_token_url(s, host, &port, why, whylen);
	case IF_CLIENTID:
		if (!inj_visible(s, ""))
			return pm_why(why, whylen, ": no space or control "
			    "character in a client id");
		return 0;
	case IF_N:
		break;
	}
	return pm_why(why, whylen, ": no such field");
}

long
pm_publish_dup(const struct policy *pol, size_t i)
{
	size_t	 j;

	for (j = 0; j < i; j++)
		if (pol->publish[j].hostport == pol->publish[i].hostport &&
		    strcmp(pol->publish[j].addr, pol->publish[i].addr) == 0)
			return (long)j;
	return -1;
}

long
pm_cred_id_dup(const struct policy *pol, size_t i, const char *id)
{
	size_t	 j;

	for (j = 0; j < i; j++)
		if (strcmp(pol->creds[j].id, id) == 0)
			return (long)j;
	return -1;
}

long
pm_envvar_dup(const struct policy *pol, size_t i, const char *envvar)
{
	size_t	 j;

	for (j = 0; j < i; j++)
		if (strcmp(pol->creds[j].envvar, envvar) == 0)
			return (long)j;
	return -1;
}

/* graphql: (policy_graphql.c) */

const char *const pm_gql_ops[] = { "query", "mutation", "subscription",
    NULL };

/* a GraphQL name (spec 2.1.9) with '*' for globs */
static int
gql_glob(const char *s, size_t max, const char *what, char *why,
    size_t whylen)
{
	size_t	 i, n = strlen(s);

	if (n == 0 || n > max) {
		pm_why(why, whylen, ": %s must be 1 to %zu bytes", what, max);
		return -1;
	}
	for (i = 0; i < n; i++) {
		unsigned char ch = s[i];

		if (ch != '_' && ch != '*' && !(ch >= 'a' && ch <= 'z') &&
		    !(ch >= 'A' && ch <= 'Z') && !(i > 0 && ch >= '0' &&
		    ch <= '9')) {
			pm_why(why, whylen, ": not a GraphQL %s (letters, "
			    "digits, '_', not a digit first, '*' as a glob)",
			    what);
			return -1;
		}
	}
	return 0;
}

int
pm_gql_name(const char *s, char *why, size_t whylen)
{
	return gql_glob(s, PM_GQL_NAME, "operation name", why, whylen);
}

int
pm_gql_field(const char *s, char *why, size_t whylen)
{
	return gql_glob(s, PM_GQL_FIELD, "field name", why, whylen);
}

int
pm_gql_check(const struct http_sub *sb, char *why, size_t whylen)
{
	const struct graphql_rule *g = sb->graphql;

	if (g == NULL)
		return 0;
	if (g->ops & ~(unsigned int)(PM_GQL_QUERY | PM_GQL_MUTATION |
	    PM_GQL_SUBSCRIPTION)) {
		pm_why(why, whylen, "unknown operation type bits");
		return -1;
	}
	return 0;
}
