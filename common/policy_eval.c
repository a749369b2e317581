/*
 * Decisions on the policy model: a matching deny wins, then a matching
 * allow, then a matching ask, then defaultVerdict; the rule reported
 * for audit is the most specific one of the winning verdict, so rule
 * order never changes anything.  Requests (policy_http_request) are
 * decided the same way by the request rules of the allow rules that
 * decided their host, on normal targets only.
 *
 * policy_tcp_addr/policy_udp_addr consult only CIDR rules (an address
 * literal in a rule is a /32 or /128).  When none matches they return
 * defaultVerdict with *rule NULL: the caller refuses a private, loopback,
 * metadata, ... destination (lensnetd/addr.c) unless *rule is set and the
 * verdict is allow.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <stdio.h>

#include <jansson.h>

#include "grammar.h"
#include "jsonstrict.h"
#include "policy.h"
#include "policy_int.h"

/*
 * A DNS name into out: lower case, without the final dot.  -1 when it
 * is empty, too long, has an empty or too long label or a character
 * outside [A-Za-z0-9_-].
 */
int
norm_name(const char *s, size_t len, char *out)
{
	size_t	 i, label = 0;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > MAXNAME)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char ch = s[i];

		if (ch == '.') {
			if (label == 0)
				return -1;
			label = 0;
		} else if (isalnum(ch) || ch == '-' || ch == '_') {
			if (++label > 63)
				return -1;
		} else
			return -1;
		out[i] = tolower(ch);
	}
	if (label == 0)
		return -1;
	out[len] = '\0';
	return 0;
}

/* does name (normalized) match the pattern? */
static int
hostpat_match(const struct hostpat *hp, const char *name)
{
	size_t	 nl, pl;

	if (!hp->wildcard)
		return strcmp(hp->name, name) == 0;
	nl = strlen(name);
	pl = strlen(hp->name);
	return nl > pl + 1 && name[nl - pl - 1] == '.' &&
	    strcmp(name + nl - pl, hp->name) == 0;
}

static int
cidr_match(const struct cidr *cd, const struct sockaddr *sa)
{
	static const uint8_t v4mapped[12] =
	    { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const uint8_t	*a;
	unsigned int	 full, rest;

	if (sa == NULL)
		return 0;
	if (sa->sa_family == AF_INET)
		a = (const uint8_t *)
		    &((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
	else
		return 0;
	if (sa->sa_family == AF_INET6 && cd->af == AF_INET &&
	    memcmp(a, v4mapped, sizeof(v4mapped)) == 0)
		a += sizeof(v4mapped);		/* ::ffff:a.b.c.d */
	else if (sa->sa_family != cd->af)
		return 0;
	full = cd->plen / 8;
	rest = cd->plen % 8;
	if (memcmp(a, cd->addr, full) != 0)
		return 0;
	if (rest && ((a[full] ^ cd->addr[full]) & (0xff00 >> rest) & 0xff))
		return 0;
	return 1;
}

/* ---- decisions ---- */

/*
 * Among the matching rules, the verdict: deny, then allow, then ask.
 * best[v] is the most specific matching rule of verdict v so far.
 */
struct pick {
	int		 any[3];
	const char	*rule[3];
	long		 score[3];
	int		 tls[3];
};

static void
pick_add(struct pick *pk, enum verdict v, const char *match, long score,
    int tls)
{
	if (!pk->any[v] || score > pk->score[v] ||
	    (score == pk->score[v] && strcmp(match, pk->rule[v]) < 0)) {
		pk->rule[v] = match;
		pk->score[v] = score;
	}
	pk->any[v] = 1;
	pk->tls[v] |= tls;
}

static enum verdict
pick_result(const struct policy *pol, const struct pick *pk,
    const char **rule, int *tls)
{
	static const enum verdict order[] = { VERDICT_DENY, VERDICT_ALLOW,
	    VERDICT_ASK };
	size_t	 i;

	for (i = 0; i < 3; i++)
		if (pk->any[order[i]]) {
			if (rule)
				*rule = pk->rule[order[i]];
			if (tls)
				*tls = pk->tls[order[i]];
			return order[i];
		}
	if (rule)
		*rule = NULL;
	if (tls)
		*tls = 0;
	return pol->defverdict;
}

/* exact names first, then longer suffixes; port-specific first */
static long
name_score(const struct hostpat *hp, unsigned int portspan)
{
	return ((long)(!hp->wildcard) << 40) |
	    ((long)strlen(hp->name) << 20) | (65536 - portspan);
}

/*
 * The ports an http rule covers: the one it names; without one, 80 and
 * 443 for allow and ask (an HTTP service elsewhere is named, raw TCP
 * belongs under tcp), every port for deny (a deny never narrows).
 */
static int
http_port_covers(const struct http_rule *r, uint16_t port)
{
	if (r->port != 0)
		return r->port == port;
	return r->verdict == VERDICT_DENY || port == 80 || port == 443;
}

/* is r an http rule of verdict v that covers name (normalized) and port? */
static int
http_rule_matches(const struct http_rule *r, enum verdict v, const char *name,
    uint16_t port)
{
	return r->verdict == v && http_port_covers(r, port) &&
	    hostpat_match(&r->host, name);
}

/*
 * The caFile of the most specific matching allow rule that names one
 * (the same order as the reported rule: exact names, longer suffixes,
 * a named port, then the smaller match text), NULL when none does.
 */
static const char *
http_cafile(const struct policy *pol, const char *name, uint16_t port)
{
	const struct http_rule	*best = NULL;
	long			 score, bscore = 0;
	size_t			 i;

	for (i = 0; i < pol->nhttp; i++) {
		const struct http_rule *r = &pol->http[i];

		if (r->cafile == NULL ||
		    !http_rule_matches(r, VERDICT_ALLOW, name, port))
			continue;
		score = name_score(&r->host, r->port ? 1 : 65535);
		if (best == NULL || score > bscore || (score == bscore &&
		    strcmp(r->match, best->match) < 0)) {
			best = r;
			bscore = score;
		}
	}
	return best ? best->cafile : NULL;
}

/* the first injection of credential i binding name:port, or NULL */
static const struct injection *
cred_inj(const struct policy *pol, size_t i, const char *name, uint16_t port)
{
	char		 why[64];
	struct hostpat	 hp;
	uint16_t	 ip;
	size_t		 j;

	for (j = 0; j < pol->creds[i].ninj; j++) {
		/* checked by the loader: a bad one binds nothing */
		if (pm_hostport(pol->creds[i].inj[j].host, &hp, &ip, why,
		    sizeof(why)) == -1)
			continue;
		if ((ip == 0 || ip == port) && hostpat_match(&hp, name))
			return &pol->creds[i].inj[j];
	}
	return NULL;
}

int
policy_cred_bound(const struct policy *pol, const char *host, uint16_t port)
{
	char		 name[MAXNAME + 1];
	size_t		 i;

	if (host == NULL || norm_name(host, strlen(host), name) == -1)
		return 0;
	for (i = 0; i < pol->ncreds; i++)
		if (cred_inj(pol, i, name, port) != NULL)
			return 1;
	return 0;
}

int
policy_cred_injection(const struct policy *pol, size_t i, const char *host,
    uint16_t port, struct policy_injection *pi, char *why, size_t whylen)
{
	const struct injection	*in;
	char			 name[MAXNAME + 1], w[PM_WHY];

	memset(pi, 0, sizeof(*pi));
	if (i >= pol->ncreds) {
		snprintf(why, whylen, "the policy has no credential %zu (it "
		    "has %zu)", i, pol->ncreds);
		return -1;
	}
	if (host == NULL || norm_name(host, strlen(host), name) == -1) {
		snprintf(why, whylen, "not a host name");
		return -1;
	}
	if (port == 0 || (in = cred_inj(pol, i, name, port)) == NULL) {
		snprintf(why, whylen, "credential %s is not bound to %s:%u",
		    pol->creds[i].id, name, port);
		return -1;
	}
	pi->cred = pol->creds[i].id;
	pi->type = in->type;
	pi->type_name = gr_inj_names[in->type];
	pi->name = in->f[IF_NAME];
	pi->value = in->f[IF_VALUE];
	pi->user = in->f[IF_USER];
	pi->region = in->f[IF_REGION];
	pi->service = in->f[IF_SERVICE];
	pi->token_url = in->f[IF_TOKENURL];
	pi->client_id = in->f[IF_CLIENTID];
	if (pi->token_url != NULL && pm_token_url(pi->token_url,
	    pi->token_host, &pi->token_port, w, sizeof(w)) == -1) {
		snprintf(why, whylen, "tokenUrl: %s", w);	/* checked */
		return -1;
	}
	return 0;
}

void
policy_http(const struct policy *pol, const char *host, uint16_t port,
    struct policy_http_decision *d)
{
	char		 name[MAXNAME + 1];
	struct pick	 pk;
	size_t		 i;

	memset(d, 0, sizeof(*d));
	memset(&pk, 0, sizeof(pk));
	if (host == NULL || norm_name(host, strlen(host), name) == -1) {
		d->verdict = VERDICT_DENY;
		return;
	}
	for (i = 0; i < pol->nhttp; i++) {
		const struct http_rule *r = &pol->http[i];

		if (!http_rule_matches(r, r->verdict, name, port))
			continue;
		/* request rules can only be enforced on an intercepted host */
		pick_add(&pk, r->verdict, r->match,
		    name_score(&r->host, r->port ? 1 : 65535),
		    r->tls || r->nsubs > 0);
	}
	d->verdict = pick_result(pol, &pk, &d->rule, &d->tls_terminate);
	if (d->verdict == VERDICT_ALLOW && d->rule != NULL)
		d->cafile = http_cafile(pol, name, port);
	/* a host a credential is bound to is always intercepted */
	if (d->verdict == VERDICT_ALLOW && policy_cred_bound(pol, name, port))
		d->tls_terminate = 1;
	/* so is the domain of an llm: route: its requests are read */
	if (d->verdict == VERDICT_ALLOW && policy_llm_host(pol, name))
		d->tls_terminate = 1;
}

/* ---- requests ---- */


int
pct_byte(const char *s)
{
	int	 hi, lo;

	if (s[0] != '%' || (hi = gr_hexdigit(s[1])) == -1 ||
	    (lo = gr_hexdigit(s[2])) == -1)
		return -1;
	return hi << 4 | lo;
}

/*
 * An escape a server may decode into something a rule did not see: an
 * unreserved character (%41 for 'A', %2E for '.'), NUL, an overlong
 * UTF-8 lead (%C0%AE), an escaped escape (%252E), and in a path the
 * separators / and \ and the parameter mark ;.  None of them is needed: RFC 3986 says not to
 * escape unreserved characters, and the others are not in a normal
 * target.
 */
int
pct_abnormal(const char *s, char sep)
{
	int	 b = pct_byte(s);

	if (b <= 0 || b == 0xc0 || b == 0xc1)
		return 1;
	if (isalnum(b) || strchr("-._~", b) != NULL)
		return 1;
	if (b == '%' && gr_hexdigit(s[3]) != -1 && gr_hexdigit(s[4]) != -1)
		return 1;
	return sep == '/' && (b == '/' || b == '\\' || b == ';');
}

/*
 * Is s (a request's path, or a rule's path pattern) a normal path?
 * It starts with '/', holds printable ASCII only without space, '?',
 * '#', '\' or ';' (servers that strip ";parameters" read
 * "/admin;x/" as "/admin/" and "/..;/" as "/../"), has only the escapes
 * pct_abnormal accepts (in upper case in a pattern), no empty segment
 * but the last (no "//") and no segment "." or "..".  A normal path reaches the resource it names on any
 * server; others may be read differently upstream than here.
 */
const char *
path_abnormal(const char *s, size_t len, int pattern)
{
	size_t		 i, seg = 1, sl;
	unsigned char	 ch;

	if (len == 0 || s[0] != '/')
		return "does not start with /";
	for (i = 0; i < len; i++) {
		ch = s[i];
		if (ch <= ' ' || ch >= 0x7f)
			return "has a control character, space or non-ASCII "
			    "byte";
		if (ch == '?' || ch == '#')
			return pattern ? "has a ? or # (write the query "
			    "under query:)" : "has a ? or #";
		if (ch == '\\')
			return "has a backslash";
		if (ch == ';')
			return "has a ; (a path parameter)";
		if (ch == '%') {
			if (i + 2 >= len || pct_byte(s + i) == -1)
				return "has a % not followed by two hex digits";
			if (pattern && (islower((unsigned char)s[i + 1]) ||
			    islower((unsigned char)s[i + 2])))
				return "has a percent-escape in lower case "
				    "(write %2F, not %2f)";
			if (pct_abnormal(s + i, '/'))
				return "escapes an unreserved character, / \\ "
				    "or ;, NUL or %";
		}
	}
	for (i = 1; i <= len; i++) {
		if (i < len && s[i] != '/')
			continue;
		sl = i - seg;
		if (sl == 0 && i < len)
			return "has an empty segment (//)";
		if ((sl == 1 && s[seg] == '.') ||
		    (sl == 2 && s[seg] == '.' && s[seg + 1] == '.'))
			return "has a . or .. segment";
		seg = i + 1;
	}
	return NULL;
}

/* a query (pattern) as path_abnormal judges a path; "" is normal */
static const char *
query_abnormal(const char *s, size_t len, int pattern)
{
	size_t		 i;
	unsigned char	 ch;

	for (i = 0; i < len; i++) {
		ch = s[i];
		if (ch <= ' ' || ch >= 0x7f)
			return "has a control character, space or non-ASCII "
			    "byte";
		if (ch == '#')
			return "has a #";
		if (ch == '\\')
			return "has a backslash";
		if (ch == '%') {
			if (i + 2 >= len || pct_byte(s + i) == -1)
				return "has a % not followed by two hex digits";
			if (pattern && (islower((unsigned char)s[i + 1]) ||
			    islower((unsigned char)s[i + 2])))
				return "has a percent-escape in lower case "
				    "(write %2F, not %2f)";
			if (pct_abnormal(s + i, '&'))
				return "escapes an unreserved character, NUL or "
				    "%";
		}
	}
	return NULL;
}

const char *
pm_query_abnormal(const char *s, size_t len)
{
	return query_abnormal(s, len, 1);
}

/*
 * Does s (len bytes) match the glob pat?  '*' matches any bytes but
 * the separators in seps (a path segment: "/"; a query parameter: "&;",
 * as some servers split at ';' too), "**" any bytes at all,
 * every other byte itself.  Over the rows of a table: time
 * strlen(pat) * len, whatever the pattern; no backtracking.
 */
static int
glob_match(const char *pat, const char *s, size_t len, const char *seps)
{
	uint8_t		 row[POLICY_MAXTARGET + 1];
	size_t		 j;
	int		 any;

	if (len > POLICY_MAXTARGET)
		return 0;
	memset(row, 0, len + 1);
	row[0] = 1;
	while (*pat != '\0') {
		if (pat[0] == '*' && pat[1] == '*') {
			for (j = 1; j <= len; j++)
				row[j] |= row[j - 1];
			pat += 2;
		} else if (pat[0] == '*') {
			for (j = 1; j <= len; j++)
				if (row[j - 1] &&
				    strchr(seps, s[j - 1]) == NULL)
					row[j] = 1;
			pat++;
		} else {
			for (any = 0, j = len; j > 0; j--)
				any |= row[j] = row[j - 1] &&
				    s[j - 1] == *pat;
			row[0] = 0;
			if (!any)
				return 0;
			pat++;
		}
	}
	return row[len];
}

/* a target into out with the hex digits of its escapes in upper case */
static void
upper_escapes(const char *s, size_t len, char *out)
{
	size_t	 i;

	memcpy(out, s, len);
	out[len] = '\0';
	for (i = 0; i + 2 < len; i++)
		if (out[i] == '%') {
			out[i + 1] = toupper((unsigned char)out[i + 1]);
			out[i + 2] = toupper((unsigned char)out[i + 2]);
			i += 2;
		}
}

struct rpick {
	int			 any;
	const struct http_rule	*r;
	int			 sub;
	long			 score;
};

/* an order of request rules for ties: host rule, path, method, query */
static int
sub_cmp(const struct http_rule *ra, int a, const struct http_rule *rb, int b)
{
	const struct http_sub	*sa, *sb;
	int			 c;

	if ((c = strcmp(ra->match, rb->match)) != 0 || a < 0 || b < 0)
		return c != 0 ? c : (a < 0) - (b < 0);
	sa = &ra->subs[a];
	sb = &rb->subs[b];
	if ((c = strcmp(sa->path, sb->path)) != 0 ||
	    (c = strcmp(sa->method, sb->method)) != 0)
		return c;
	return strcmp(sa->query ? sa->query : "", sb->query ? sb->query : "");
}

/* the most specific request rule of a verdict, whatever the order */
static void
rpick_add(struct rpick *rp, const struct http_rule *r, int sub, long score)
{
	if (!rp->any || score > rp->score || (score == rp->score &&
	    sub_cmp(r, sub, rp->r, rp->sub) < 0)) {
		rp->r = r;
		rp->sub = sub;
		rp->score = score;
	}
	rp->any = 1;
}

/*
 * The body, read once for every request rule that reads it: Content-
 * Type absent or JSON (application/json, application/...+json, with
 * parameters), then the strict parse.  NULL with why set when it cannot
 * be read.
 */
struct bodyctx {
	const struct policy_body *b;
	json_t			*json;
	int			 tried;
	char			 why[200];
};

static int
ctype_json(const char *ct)
{
	size_t	 n;

	if (ct == NULL)
		return 1;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	n = strcspn(ct, "; \t");
	if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
		return 1;
	return n > 17 && strncasecmp(ct, "application/", 12) == 0 &&
	    strncasecmp(ct + n - 5, "+json", 5) == 0 &&
	    memchr(ct + 12, '/', n - 12) == NULL;
}

static const json_t *
body_json(struct bodyctx *bc)
{
	char	 w[160];

	if (bc->tried)
		return bc->json;
	bc->tried = 1;
	if (!ctype_json(bc->b->ctype)) {
		snprintf(bc->why, sizeof(bc->why), "request body: Content-"
		    "Type %.60s is not JSON", bc->b->ctype);
		return NULL;
	}
	if ((bc->json = jsonstrict_parse(bc->b->data, bc->b->len,
	    JSONSTRICT_MAXDEPTH, w, sizeof(w))) == NULL)
		snprintf(bc->why, sizeof(bc->why), "request body: %s", w);
	return bc->json;
}

/* does this request rule read the body? */
static int
sub_reads_body(const struct http_sub *sb)
{
	return sb->graphql != NULL || sb->mcp != NULL;
}

/*
 * A request rule that reads the body, its method and path matched: 1
 * it matches the body, 0 it does not, -1 the body cannot be judged
 * (why set).  Each kind in its own matcher.
 */
static int
sub_body_match(const struct http_sub *sb, const char *query,
    struct bodyctx *bc, struct policy_body_decision *bd)
{
	const json_t	*j;

	if ((j = body_json(bc)) == NULL) {
		strlcpy(bd->whybuf, bc->why, sizeof(bd->whybuf));
		return -1;
	}
	if (sb->graphql != NULL)
		return pm_graphql_match(sb->graphql, sb->verdict ==
		    VERDICT_DENY, j, query, bd->audit,
		    sizeof(bd->audit), bd->whybuf, sizeof(bd->whybuf));
	if (sb->mcp != NULL)
		return pm_mcp_match(sb->mcp, j, bc->b, bd->audit,
		    sizeof(bd->audit), bd->whybuf, sizeof(bd->whybuf));
	return 0;
}

/*
 * policy_http_request, and with bc (the body) policy_http_body: the
 * request rules that read the body match only when it matches them;
 * without bc they are left out and needs_body says one matched.
 */
static void
http_request_eval(const struct policy *pol, const char *host,
    uint16_t port, const char *method, const char *path, const char *query,
    struct bodyctx *bc, struct policy_request_decision *d,
    struct policy_body_decision *bd)
{
	static const enum verdict order[] = { VERDICT_DENY, VERDICT_ALLOW,
	    VERDICT_ASK };
	struct policy_http_decision	 hd;
	struct rpick			 rp[3];
	char				 name[MAXNAME + 1];
	char				 cpath[POLICY_MAXTARGET + 1];
	char				 cquery[POLICY_MAXTARGET + 1];
	size_t				 i, j, plen, qlen, nsubs = 0;
	int				 qstate = 0;	/* 1 normal, -1 not */
	int				 rv;

	memset(d, 0, sizeof(*d));
	d->sub = -1;
	policy_http(pol, host, port, &hd);
	d->rule = hd.rule;
	d->verdict = hd.verdict;
	if (hd.verdict == VERDICT_DENY) {
		d->why = "name not allowed";
		return;
	}
	if (hd.verdict == VERDICT_ASK) {
		d->why = "ask: no approval channel yet";
		return;
	}
	if (policy_llm_backend_at(pol, host, port) && (method == NULL ||
	    path == NULL || !policy_llm_applies(pol, host, port, method,
	    path))) {
		d->verdict = VERDICT_DENY;
		d->why = "an llm backend is reached only through llm routes";
		return;
	}
	if (hd.rule == NULL)		/* defaultVerdict allow */
		return;
	(void)norm_name(host, strlen(host), name);	/* policy_http did */

	/* the allow rules that decided: a rule without rules allows all */
	memset(rp, 0, sizeof(rp));
	for (i = 0; i < pol->nhttp; i++) {
		const struct http_rule *r = &pol->http[i];

		if (!http_rule_matches(r, VERDICT_ALLOW, name, port))
			continue;
		if (r->nsubs == 0)
			rpick_add(&rp[VERDICT_ALLOW], r, -1,
			    name_score(&r->host, r->port ? 1 : 65535) -
			    (1L << 50));
		nsubs += r->nsubs;
	}
	if (nsubs == 0) {
		d->rule = rp[VERDICT_ALLOW].r->match;
		return;
	}

	/* request rules apply: only a normal target can be judged */
	d->verdict = VERDICT_DENY;
	if (method == NULL || *method == '\0' || path == NULL) {
		d->why = "no method or path";
		return;
	}
	if (query == NULL)
		query = "";
	if ((plen = strlen(path)) > POLICY_MAXTARGET) {
		d->why = "path too long";
		return;
	}
	if (path_abnormal(path, plen, 0) != NULL) {
		d->why = "path not normal";
		return;
	}
	upper_escapes(path, plen, cpath);
	qlen = strlen(query);
	for (i = 0; i < pol->nhttp; i++) {
		const struct http_rule *r = &pol->http[i];

		if (r->nsubs == 0 ||
		    !http_rule_matches(r, VERDICT_ALLOW, name, port))
			continue;
		for (j = 0; j < r->nsubs; j++) {
			const struct http_sub *sb = &r->subs[j];
			long score;

			if (sb->mcp != NULL && strcmp(method, "GET") == 0 &&
			    glob_match(sb->path, cpath, plen, "/")) {
				/* the old server-to-client stream: unjudged */
				d->rule = r->match;
				d->sub = j;
				d->why = "mcp: GET (a server-to-client stream) "
				    "is refused on an MCP endpoint";
				return;
			}
			if (strcmp(sb->method, "*") != 0 &&
			    strcmp(sb->method, method) != 0)
				continue;
			if (!glob_match(sb->path, cpath, plen, "/"))
				continue;
			if (sb->query != NULL) {
				if (qstate == 0) {
					qstate = qlen <= POLICY_MAXTARGET &&
					    query_abnormal(query, qlen, 0) ==
					    NULL ? 1 : -1;
					if (qstate == 1)
						upper_escapes(query, qlen,
						    cquery);
				}
				if (qstate == -1) {
					d->why = "query not normal";
					return;
				}
				if (!glob_match(sb->query, cquery, qlen, "&;"))
					continue;
			}
			if (sub_reads_body(sb)) {
				if (bc == NULL) {
					d->needs_body = 1;
					if (sb->graphql != NULL &&
					    sb->websocket &&
					    sb->verdict == VERDICT_ALLOW)
						d->ws_body = 1;
					continue;
				}
				if ((rv = sub_body_match(sb, query, bc,
				    bd)) == -1) {
					/* refused: never passed unread */
					d->rule = r->match;
					d->sub = j;
					d->why = bd->whybuf;
					return;
				}
				if (rv == 0)
					continue;
			}
			/* websocket first, then the longer patterns, then
			   a rule that read the body */
			score = (long)(sb->verdict == VERDICT_ALLOW &&
			    sb->websocket) << 40 |
			    (long)(strlen(sb->path) + (sb->query ?
			    strlen(sb->query) + 1 : 0)) << 8 |
			    (long)sub_reads_body(sb) << 1 |
			    (strcmp(sb->method, "*") != 0);
			rpick_add(&rp[sb->verdict], r, j, score);
		}
	}
	/* a deny that needs no body wins whatever the body says */
	if (rp[VERDICT_DENY].any)
		d->needs_body = d->ws_body = 0;
	for (i = 0; i < 3; i++) {
		const struct rpick *w = &rp[order[i]];

		if (!w->any)
			continue;
		d->verdict = order[i];
		d->rule = w->r->match;
		d->sub = w->sub;
		if (order[i] == VERDICT_ALLOW)
			d->websocket = w->sub >= 0 &&
			    w->r->subs[w->sub].websocket;
		else
			d->why = order[i] == VERDICT_DENY ?
			    "denied by a request rule" :
			    "ask: no approval channel yet";
		return;
	}
	/* a body rule that did not match says what it read */
	d->why = bd != NULL && bd->whybuf[0] != '\0' ? bd->whybuf :
	    "no request rule matches";
}

void
policy_http_request(const struct policy *pol, const char *host,
    uint16_t port, const char *method, const char *path, const char *query,
    struct policy_request_decision *d)
{
	http_request_eval(pol, host, port, method, path, query, NULL, d,
	    NULL);
}

void
policy_http_body(const struct policy *pol, const char *host, uint16_t port,
    const char *method, const char *path, const char *query,
    const struct policy_body *body, struct policy_body_decision *bd)
{
	struct policy_request_decision	 d;
	struct bodyctx			 bc;

	memset(bd, 0, sizeof(*bd));
	memset(&bc, 0, sizeof(bc));
	bc.b = body;
	http_request_eval(pol, host, port, method, path, query, &bc, &d, bd);
	json_decref(bc.json);
	bd->verdict = d.verdict;
	bd->sub = d.sub;
	if (d.verdict == VERDICT_ALLOW)
		bd->why = NULL;
	else if (d.why == bd->whybuf)
		bd->why = bd->whybuf;
	else {
		strlcpy(bd->whybuf, d.why != NULL ? d.why : "denied",
		    sizeof(bd->whybuf));
		bd->why = bd->whybuf;
	}
}

int
pm_glob(const char *pat, const char *s, size_t len, const char *seps)
{
	return glob_match(pat, s, len, seps);
}

static enum verdict
net_name(const struct policy *pol, const struct net_rule *rules, size_t n,
    const char *name, uint16_t port, const char **rule)
{
	char		 nm[MAXNAME + 1];
	struct pick	 pk;
	size_t		 i;

	if (rule)
		*rule = NULL;
	if (name == NULL || norm_name(name, strlen(name), nm) == -1)
		return VERDICT_DENY;
	memset(&pk, 0, sizeof(pk));
	for (i = 0; i < n; i++) {
		const struct net_rule *r = &rules[i];

		if (r->is_cidr || port < r->lo || port > r->hi ||
		    !hostpat_match(&r->host, nm))
			continue;
		pick_add(&pk, r->verdict, r->match,
		    name_score(&r->host, r->hi - r->lo + 1), 0);
	}
	return pick_result(pol, &pk, rule, NULL);
}

enum verdict
policy_tcp_name(const struct policy *pol, const char *name, uint16_t port,
    const char **rule)
{
	return net_name(pol, pol->tcp, pol->ntcp, name, port, rule);
}

static enum verdict
net_addr(const struct policy *pol, const struct net_rule *rules, size_t n,
    const struct sockaddr *sa, uint16_t port, const char **rule)
{
	struct pick	 pk;
	size_t		 i;

	memset(&pk, 0, sizeof(pk));
	for (i = 0; i < n; i++) {
		const struct net_rule *r = &rules[i];

		if (!r->is_cidr || port < r->lo || port > r->hi ||
		    !cidr_match(&r->cidr, sa))
			continue;
		pick_add(&pk, r->verdict, r->match,
		    ((long)r->cidr.plen << 20) | (65536 - (r->hi - r->lo + 1)),
		    0);
	}
	return pick_result(pol, &pk, rule, NULL);
}

enum verdict
policy_tcp_addr(const struct policy *pol, const struct sockaddr *sa,
    uint16_t port, const char **rule)
{
	return net_addr(pol, pol->tcp, pol->ntcp, sa, port, rule);
}

enum verdict
policy_udp_addr(const struct policy *pol, const struct sockaddr *sa,
    uint16_t port, const char **rule)
{
	return net_addr(pol, pol->udp, pol->nudp, sa, port, rule);
}

/*
 * Names: a port-less deny (an http rule without :port, a tcp or udp
 * rule with every port) that matches refuses the name; otherwise it
 * resolves when defaultVerdict is allow or ask (asking needs the
 * connection, hence the name) or some allow or ask rule of http, tcp or
 * udp matches it on some port.
 */
static void
dns_scan(const struct net_rule *rules, size_t n, const char *name,
    int *deny, int *allow)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		const struct net_rule *r = &rules[i];

		if (r->is_cidr || !hostpat_match(&r->host, name))
			continue;
		if (r->verdict == VERDICT_DENY) {
			if (r->lo == 1 && r->hi == 65535)
				*deny = 1;
		} else
			*allow = 1;
	}
}

enum verdict
policy_dns(const struct policy *pol, const char *name)
{
	char	 nm[MAXNAME + 1];
	size_t	 i;
	int	 deny = 0, allow = 0;

	if (name == NULL || norm_name(name, strlen(name), nm) == -1)
		return VERDICT_DENY;
	for (i = 0; i < pol->nhttp; i++) {
		const struct http_rule *r = &pol->http[i];

		if (!hostpat_match(&r->host, nm))
			continue;
		if (r->verdict == VERDICT_DENY) {
			if (r->port == 0)
				deny = 1;
		} else
			allow = 1;
	}
	dns_scan(pol->tcp, pol->ntcp, nm, &deny, &allow);
	dns_scan(pol->udp, pol->nudp, nm, &deny, &allow);
	if (deny)
		return VERDICT_DENY;
	if (allow || pol->defverdict == VERDICT_ALLOW)
		return VERDICT_ALLOW;
	return pol->defverdict;
}

