/*
 * The binary policy model: how a policy travels between processes
 * (lensvmm's policy child to lensvmm's parent, to lensnetd's parent, to
 * its dns and proxy children), so that no root process parses YAML.
 *
 * Every integer is big-endian; a string is a 16-bit length and that
 * many bytes (no NUL); a length of 0 is an absent optional string.
 *
 *	"LNSP" version:16 (2) flags:16 (0) sha256:32 defaultVerdict:8
 *	nhttp:16   { match verdict:8 tls:8 caFile nsubs:16
 *		     { method:8 path verdict:8 subflags:8 [query] [mcp] }... }...
 *	ntcp:16    { match verdict:8 }...
 *	nudp:16    { match verdict:8 }...
 *	npublish:16 { addr hostport:16 port:16 }...
 *	ncreds:16  { id envVar ninj:16 { type:8 host name value user region
 *		     service tokenUrl clientId }... }...
 *	cpuMillis:32 memory:64 pids:32
 *	nbackends:16 { name url api:8 caps:8 nmodels:16 { glob served }... }...
 *	nroutes:16 { domain path model action:8 backend api:8 translate:8 }...
 *
 * caps: 1 tools, 2 images; a route's api 255: its path does not say one,
 * backend empty: none.
 *
 * subflags: 1 websocket, 2 a query pattern follows (it may be empty,
 * which is a pattern too: no query), 4 a graphql: section follows (after
 * the query):  ops:8 nnames:16 { name }... nfields:16 { field }..., 8
 * an mcp: section follows (after those): nentries:16 { method tool uri
 * nargs:16 { pointer glob }... }... (tool, uri empty: absent); no other
 * bit.
 *
 * Only what the policy's author wrote travels; what is derived from it
 * (host patterns, CIDRs, port ranges) is derived again on receipt by
 * the builders of policy_model.c, which the YAML loader uses too.  The
 * decoder takes nothing on trust: a count is bounded by
 * POLICY_MAXITEMS and by the bytes left, a string by its field's
 * limit, every value is checked as the YAML loader checks it, nothing
 * may follow the model, and the model must encode back to exactly the
 * bytes received.
 */
#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "grammar.h"
#include "policy.h"
#include "policy_int.h"

#define WIRE_MAGIC	"LNSP"
#define WIRE_VERSION	4	/* 2: caFile, query, websocket; 3: user,
				   region, service, tokenUrl, clientId,
				   type uriPlaceholder; graphql, mcp;
				   4: llm */
#define HASHLEN		32
#define SUB_WEBSOCKET	0x01
#define SUB_QUERY	0x02
#define SUB_GRAPHQL	0x04
#define SUB_MCP		0x08

/* ---- encoding ---- */

struct wr {
	uint8_t		*buf;
	size_t		 size, off;
};

static void
put(struct wr *w, const void *p, size_t n)
{
	if (n > 0 && w->off <= w->size && n <= w->size - w->off)
		memcpy(w->buf + w->off, p, n);
	w->off += n;
}

static void
put8(struct wr *w, unsigned int v)
{
	uint8_t	 b = v;

	put(w, &b, 1);
}

static void
put16(struct wr *w, unsigned int v)
{
	uint8_t	 b[2] = { v >> 8, v };

	put(w, b, 2);
}

static void
put32(struct wr *w, uint32_t v)
{
	uint8_t	 b[4] = { v >> 24, v >> 16, v >> 8, v };

	put(w, b, 4);
}

static void
put64(struct wr *w, uint64_t v)
{
	put32(w, v >> 32);
	put32(w, (uint32_t)v);
}

/* the model's strings are at most MAXSTR bytes: a length fits in 16 */
static void
putstr(struct wr *w, const char *s)
{
	size_t	 n = s == NULL ? 0 : strlen(s);

	put16(w, n);
	put(w, s, n);
}

static void
put_mcp(struct wr *w, const struct mcp_rule *m)
{
	size_t	 i, j;

	put16(w, m->n);
	for (i = 0; i < m->n; i++) {
		putstr(w, m->e[i].method);
		putstr(w, m->e[i].tool);
		putstr(w, m->e[i].uri);
		put16(w, m->e[i].nargs);
		for (j = 0; j < m->e[i].nargs; j++) {
			putstr(w, m->e[i].args[j].pointer);
			putstr(w, m->e[i].args[j].glob);
		}
	}
}

static void
put_graphql(struct wr *w, const struct graphql_rule *g)
{
	size_t	 i;

	put8(w, g->ops);
	put16(w, g->nnames);
	for (i = 0; i < g->nnames; i++)
		putstr(w, g->names[i]);
	put16(w, g->nfields);
	for (i = 0; i < g->nfields; i++)
		putstr(w, g->fields[i]);
}

static void
put_net(struct wr *w, const struct net_rule *r, size_t n)
{
	size_t	 i;

	put16(w, n);
	for (i = 0; i < n; i++) {
		putstr(w, r[i].match);
		put8(w, r[i].verdict);
	}
}

size_t
policy_encode(const struct policy *pol, void *buf, size_t size)
{
	struct wr	 w = { buf, size, 0 };
	uint8_t		 md[HASHLEN];
	size_t		 i, j, k;

	memset(md, 0, sizeof(md));
	(void)sodium_hex2bin(md, sizeof(md), pol->hash, strlen(pol->hash),
	    NULL, NULL, NULL);
	put(&w, WIRE_MAGIC, 4);
	put16(&w, WIRE_VERSION);
	put16(&w, 0);
	put(&w, md, sizeof(md));
	put8(&w, pol->defverdict);
	put16(&w, pol->nhttp);
	for (i = 0; i < pol->nhttp; i++) {
		const struct http_rule *r = &pol->http[i];

		putstr(&w, r->match);
		put8(&w, r->verdict);
		put8(&w, r->tls ? 1 : 0);
		putstr(&w, r->cafile);
		put16(&w, r->nsubs);
		for (j = 0; j < r->nsubs; j++) {
			unsigned int m;

			for (m = 0; pm_methods[m] != NULL &&
			    strcmp(pm_methods[m], r->subs[j].method) != 0; m++)
				;
			put8(&w, m);
			putstr(&w, r->subs[j].path);
			put8(&w, r->subs[j].verdict);
			put8(&w, (r->subs[j].websocket ? SUB_WEBSOCKET : 0) |
			    (r->subs[j].query ? SUB_QUERY : 0) |
			    (r->subs[j].graphql ? SUB_GRAPHQL : 0) |
			    (r->subs[j].mcp ? SUB_MCP : 0));
			if (r->subs[j].query != NULL)
				putstr(&w, r->subs[j].query);
			if (r->subs[j].graphql != NULL)
				put_graphql(&w, r->subs[j].graphql);
			if (r->subs[j].mcp != NULL)
				put_mcp(&w, r->subs[j].mcp);
		}
	}
	put_net(&w, pol->tcp, pol->ntcp);
	put_net(&w, pol->udp, pol->nudp);
	put16(&w, pol->npublish);
	for (i = 0; i < pol->npublish; i++) {
		putstr(&w, pol->publish[i].addr);
		put16(&w, pol->publish[i].hostport);
		put16(&w, pol->publish[i].port);
	}
	put16(&w, pol->ncreds);
	for (i = 0; i < pol->ncreds; i++) {
		const struct credential *cr = &pol->creds[i];

		putstr(&w, cr->id);
		putstr(&w, cr->envvar);
		put16(&w, cr->ninj);
		for (j = 0; j < cr->ninj; j++) {
			put8(&w, cr->inj[j].type);
			putstr(&w, cr->inj[j].host);
			for (k = 0; k < IF_N; k++)
				putstr(&w, cr->inj[j].f[k]);
		}
	}
	put32(&w, pol->res.cpu_millis);
	put64(&w, pol->res.memory);
	put32(&w, pol->res.pids);
	put16(&w, pol->nllmb);
	for (i = 0; i < pol->nllmb; i++) {
		const struct llm_backend *b = &pol->llmb[i];

		putstr(&w, b->name);
		putstr(&w, b->url);
		put8(&w, b->api);
		put8(&w, (b->tools ? 1 : 0) | (b->images ? 2 : 0));
		put16(&w, b->nmodels);
		for (j = 0; j < b->nmodels; j++) {
			putstr(&w, b->models[j].glob);
			putstr(&w, b->models[j].served);
		}
	}
	put16(&w, pol->nllmr);
	for (i = 0; i < pol->nllmr; i++) {
		const struct llm_route *r = &pol->llmr[i];

		putstr(&w, r->domain);
		putstr(&w, r->path);
		putstr(&w, r->model);
		put8(&w, r->action);
		putstr(&w, r->backend);
		put8(&w, r->api < 0 ? 255 : r->api);
		put8(&w, r->translate ? 1 : 0);
	}
	return w.off;
}

void *
policy_model(const struct policy *pol, size_t *lenp)
{
	void	*b;

	*lenp = policy_encode(pol, NULL, 0);
	if ((b = malloc(*lenp)) == NULL)
		return NULL;
	(void)policy_encode(pol, b, *lenp);
	return b;
}

/* ---- decoding ---- */

struct rd {
	const uint8_t		*p;
	size_t			 len, off;
	struct policy_error	*err;
	const char		*name;
	char			 field[128];	/* what is being read */
};

static int
rerr(struct rd *r, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
rerr(struct rd *r, size_t at, const char *fmt, ...)
{
	char	 msg[200];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pm_seterr(r->err, r->name, 0, 0, "binary model, byte %zu, %s: %s",
	    at, r->field, msg);
	return -1;
}

static void
fieldf(struct rd *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
fieldf(struct rd *r, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(r->field, sizeof(r->field), fmt, ap);
	va_end(ap);
}

static int
need(struct rd *r, size_t n)
{
	if (n > r->len - r->off)
		return rerr(r, r->off, "truncated (%zu bytes needed, %zu "
		    "left)", n, r->len - r->off);
	return 0;
}

static int
get8(struct rd *r, unsigned int *v)
{
	if (need(r, 1) == -1)
		return -1;
	*v = r->p[r->off++];
	return 0;
}

static int
get16(struct rd *r, unsigned int *v)
{
	if (need(r, 2) == -1)
		return -1;
	*v = (unsigned int)r->p[r->off] << 8 | r->p[r->off + 1];
	r->off += 2;
	return 0;
}

static int
get32(struct rd *r, uint32_t *v)
{
	unsigned int	 hi, lo;

	if (need(r, 4) == -1 || get16(r, &hi) == -1 || get16(r, &lo) == -1)
		return -1;
	*v = (uint32_t)hi << 16 | lo;
	return 0;
}

static int
get64(struct rd *r, uint64_t *v)
{
	uint32_t	 hi, lo;

	if (need(r, 8) == -1 || get32(r, &hi) == -1 || get32(r, &lo) == -1)
		return -1;
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

static int
get_verdict(struct rd *r, enum verdict *v)
{
	unsigned int	 x;
	size_t		 at = r->off;

	if (get8(r, &x) == -1)
		return -1;
	if (x > VERDICT_ASK)
		return rerr(r, at, "verdict %u is not one of 0 (deny), "
		    "1 (allow), 2 (ask)", x);
	*v = x;
	return 0;
}

/*
 * A count of entries of at least min bytes each: at most
 * POLICY_MAXITEMS, and no more than the bytes left can hold.
 */
static int
get_count(struct rd *r, size_t min, size_t *n)
{
	unsigned int	 x;
	size_t		 at = r->off;

	if (get16(r, &x) == -1)
		return -1;
	if (x > POLICY_MAXITEMS)
		return rerr(r, at, "%u entries, more than %d", x,
		    POLICY_MAXITEMS);
	if ((size_t)x * min > r->len - r->off)
		return rerr(r, at, "%u entries cannot fit in the %zu bytes "
		    "left", x, r->len - r->off);
	*n = x;
	return 0;
}

/*
 * A string of at most max bytes, UTF-8 without NUL; empty only when
 * optional (*out NULL then).  *at: where its bytes start.
 */
static int
get_str(struct rd *r, size_t max, int optional, char **out, size_t *at)
{
	unsigned int	 n;
	size_t		 start = r->off;

	*out = NULL;
	if (get16(r, &n) == -1)
		return -1;
	*at = r->off;
	if (n == 0) {
		if (optional)
			return 0;
		return rerr(r, start, "must not be empty");
	}
	if (n > max)
		return rerr(r, start, "%u bytes, longer than %zu", n, max);
	if (need(r, n) == -1)
		return -1;
	if (memchr(r->p + r->off, '\0', n) != NULL)
		return rerr(r, r->off, "contains a NUL byte");
	if (pm_utf8_bad(r->p + r->off, n) < n)
		return rerr(r, r->off, "not UTF-8");
	if ((*out = malloc(n + 1)) == NULL)
		return rerr(r, r->off, "out of memory");
	memcpy(*out, r->p + r->off, n);
	(*out)[n] = '\0';
	r->off += n;
	return 0;
}

/* a builder's refusal of the string s */
static int
berr(struct rd *r, size_t at, const char *s, const char *why)
{
	char	 q[128];

	return rerr(r, at, "%s%s", pm_quote(s, strlen(s), q, sizeof(q)), why);
}

static int
get_net(struct rd *r, const char *list, struct net_rule **out, size_t *nout)
{
	char	 why[PM_WHY];
	size_t	 i, n, at;

	fieldf(r, "network.egress.%s", list);
	if (get_count(r, 4, &n) == -1)
		return -1;
	if (n > 0 && (*out = calloc(n, sizeof(**out))) == NULL)
		return rerr(r, r->off, "out of memory");
	for (i = 0; i < n; i++) {
		struct net_rule *nr = &(*out)[i];

		(*nout)++;
		fieldf(r, "network.egress.%s[%zu].match", list, i);
		if (get_str(r, PM_NET_MATCH, 0, &nr->match, &at) == -1)
			return -1;
		if (pm_net_match(nr->match, nr, why, sizeof(why)) == -1)
			return berr(r, at, nr->match, why);
		fieldf(r, "network.egress.%s[%zu].verdict", list, i);
		if (get_verdict(r, &nr->verdict) == -1)
			return -1;
	}
	return 0;
}

/* a glob of an mcp: entry; optional ones may be absent */
static int
get_mcp_glob(struct rd *r, int optional, char **out)
{
	char	 why[PM_WHY];
	size_t	 at;

	if (get_str(r, PM_MCP_GLOB, optional, out, &at) == -1)
		return -1;
	if (*out != NULL && pm_mcp_glob(*out, why, sizeof(why)) == -1)
		return berr(r, at, *out, why);
	return 0;
}

/* the mcp: section of request rule path (its method is checked) */
static int
get_mcp(struct rd *r, struct http_sub *s, const char *path)
{
	struct mcp_rule	*m;
	char		 why[PM_WHY];
	size_t		 i, j, at;

	fieldf(r, "%s.mcp", path);
	at = r->off;
	if (pm_mcp_method(s->method, why, sizeof(why)) == -1)
		return rerr(r, at, "%s", why);
	if ((s->mcp = m = calloc(1, sizeof(*m))) == NULL)
		return rerr(r, at, "out of memory");
	if (get_count(r, 9, &m->n) == -1)
		return -1;
	if (m->n == 0)
		return rerr(r, at, "needs at least one entry");
	if ((m->e = calloc(m->n, sizeof(*m->e))) == NULL) {
		m->n = 0;
		return rerr(r, at, "out of memory");
	}
	for (i = 0; i < m->n; i++) {
		struct mcp_entry *e = &m->e[i];

		fieldf(r, "%s.mcp[%zu].method", path, i);
		if (get_mcp_glob(r, 0, &e->method) == -1)
			return -1;
		fieldf(r, "%s.mcp[%zu].tool", path, i);
		if (get_mcp_glob(r, 1, &e->tool) == -1)
			return -1;
		fieldf(r, "%s.mcp[%zu].uri", path, i);
		if (get_mcp_glob(r, 1, &e->uri) == -1)
			return -1;
		fieldf(r, "%s.mcp[%zu].arguments", path, i);
		at = r->off;
		if (get_count(r, 6, &e->nargs) == -1)
			return -1;
		if (e->nargs == 0)
			continue;
		if ((e->args = calloc(e->nargs, sizeof(*e->args))) == NULL) {
			e->nargs = 0;
			return rerr(r, at, "out of memory");
		}
		for (j = 0; j < e->nargs; j++) {
			fieldf(r, "%s.mcp[%zu].arguments[%zu].pointer", path,
			    i, j);
			if (get_str(r, PM_MCP_POINTER, 0, &e->args[j].pointer,
			    &at) == -1)
				return -1;
			if (pm_mcp_pointer(e->args[j].pointer, why,
			    sizeof(why)) == -1)
				return berr(r, at, e->args[j].pointer, why);
			fieldf(r, "%s.mcp[%zu].arguments[%zu].glob", path, i,
			    j);
			if (get_mcp_glob(r, 0, &e->args[j].glob) == -1)
				return -1;
		}
	}
	return 0;
}

static unsigned int
nmethods(void)
{
	unsigned int	 n;

	for (n = 0; pm_methods[n] != NULL; n++)
		;
	return n;
}

static int	get_graphql(struct rd *, size_t, size_t, struct http_sub *);

static int
get_http(struct rd *r, struct policy *pol)
{
	char		 why[PM_WHY];
	size_t		 i, j, n, at;
	unsigned int	 x;

	fieldf(r, "network.egress.http");
	if (get_count(r, 9, &n) == -1)
		return -1;
	if (n > 0 && (pol->http = calloc(n, sizeof(*pol->http))) == NULL)
		return rerr(r, r->off, "out of memory");
	for (i = 0; i < n; i++) {
		struct http_rule *h = &pol->http[i];

		pol->nhttp++;
		fieldf(r, "network.egress.http[%zu].match", i);
		if (get_str(r, PM_HTTP_MATCH, 0, &h->match, &at) == -1)
			return -1;
		if (pm_hostport(h->match, &h->host, &h->port, why,
		    sizeof(why)) == -1)
			return berr(r, at, h->match, why);
		fieldf(r, "network.egress.http[%zu].verdict", i);
		if (get_verdict(r, &h->verdict) == -1)
			return -1;
		fieldf(r, "network.egress.http[%zu].tlsTerminate", i);
		at = r->off;
		if (get8(r, &x) == -1)
			return -1;
		if (x > 1)
			return rerr(r, at, "%u is not 0 or 1", x);
		h->tls = x;
		fieldf(r, "network.egress.http[%zu].caFile", i);
		if (get_str(r, PM_CAFILE, 1, &h->cafile, &at) == -1)
			return -1;
		if (h->cafile != NULL && pm_cafile(h->cafile, why,
		    sizeof(why)) == -1)
			return berr(r, at, h->cafile, why);
		fieldf(r, "network.egress.http[%zu].rules", i);
		if (get_count(r, 6, &h->nsubs) == -1)
			return -1;
		if (h->nsubs > 0 && (h->subs = calloc(h->nsubs,
		    sizeof(*h->subs))) == NULL) {
			h->nsubs = 0;
			return rerr(r, r->off, "out of memory");
		}
		for (j = 0; j < h->nsubs; j++) {
			struct http_sub *s = &h->subs[j];

			fieldf(r, "network.egress.http[%zu].rules[%zu].method",
			    i, j);
			at = r->off;
			if (get8(r, &x) == -1)
				return -1;
			if (x >= nmethods())
				return rerr(r, at, "method %u is not one of "
				    "the %u", x, nmethods());
			if ((s->method = strdup(pm_methods[x])) == NULL)
				return rerr(r, at, "out of memory");
			fieldf(r, "network.egress.http[%zu].rules[%zu].path",
			    i, j);
			if (get_str(r, PM_SUB_PATH, 0, &s->path, &at) == -1)
				return -1;
			if (pm_sub_path(s->path, why, sizeof(why)) == -1)
				return berr(r, at, s->path, why);
			fieldf(r, "network.egress.http[%zu].rules[%zu]."
			    "verdict", i, j);
			if (get_verdict(r, &s->verdict) == -1)
				return -1;
			fieldf(r, "network.egress.http[%zu].rules[%zu]."
			    "websocket", i, j);
			at = r->off;
			if (get8(r, &x) == -1)
				return -1;
			if (x & ~(SUB_WEBSOCKET | SUB_QUERY | SUB_GRAPHQL |
			    SUB_MCP))
				return rerr(r, at, "flags 0x%02x, only 0x01 "
				    "(websocket), 0x02 (query), 0x04 (graphql) "
				    "and 0x08 (mcp) are defined", x);
			if ((x & SUB_GRAPHQL) && (x & SUB_MCP))
				return rerr(r, at, "graphql and mcp in one "
				    "request rule");
			s->websocket = (x & SUB_WEBSOCKET) != 0;
			if (x & SUB_QUERY) {
				fieldf(r, "network.egress.http[%zu].rules[%zu]."
				    "query", i, j);
				if (get_str(r, PM_SUB_QUERY, 1, &s->query,
				    &at) == -1)
					return -1;
				if (s->query == NULL &&	/* "": no query */
				    (s->query = strdup("")) == NULL)
					return rerr(r, at, "out of memory");
				if (pm_sub_query(s->query, why, sizeof(why)) ==
				    -1)
					return berr(r, at, s->query, why);
			}
			if ((x & SUB_GRAPHQL) && get_graphql(r, i, j, s) == -1)
				return -1;
			if (x & SUB_MCP) {
				char sp[96];

				snprintf(sp, sizeof(sp), "network.egress.http"
				    "[%zu].rules[%zu]", i, j);
				if (get_mcp(r, s, sp) == -1)
					return -1;
			}
		}
	}
	return 0;
}

/* a list of graphql: names or fields, as parse_gql_list checks it */
static int
get_gql_list(struct rd *r, const char *fmt, size_t i, size_t j,
    int (*check)(const char *, char *, size_t), char ***out, size_t *nout)
{
	char	 why[PM_WHY];
	size_t	 n, k, l, at;

	fieldf(r, fmt, i, j);
	at = r->off;
	if (get_count(r, 3, &n) == -1)
		return -1;
	if (n > PM_GQL_MAXLIST)
		return rerr(r, at, "%zu entries, more than %d", n,
		    PM_GQL_MAXLIST);
	if (n == 0)
		return 0;
	if ((*out = calloc(n, sizeof(**out))) == NULL)
		return rerr(r, at, "out of memory");
	for (k = 0; k < n; k++) {
		if (get_str(r, PM_GQL_NAME, 0, &(*out)[k], &at) == -1)
			return -1;
		*nout = k + 1;
		if (check((*out)[k], why, sizeof(why)) == -1)
			return berr(r, at, (*out)[k], why);
		for (l = 0; l < k; l++)
			if (strcmp((*out)[l], (*out)[k]) == 0)
				return rerr(r, at, "%s given twice",
				    (*out)[k]);
	}
	return 0;
}

static int
get_graphql(struct rd *r, size_t i, size_t j, struct http_sub *s)
{
	struct graphql_rule	*g;
	char			 why[PM_WHY];
	unsigned int		 x;
	size_t			 at;

	fieldf(r, "network.egress.http[%zu].rules[%zu].graphql", i, j);
	if ((g = s->graphql = calloc(1, sizeof(*g))) == NULL)
		return rerr(r, r->off, "out of memory");
	at = r->off;
	if (get8(r, &x) == -1)
		return -1;
	g->ops = x;
	if (get_gql_list(r, "network.egress.http[%zu].rules[%zu].graphql."
	    "operationNames", i, j, pm_gql_name, &g->names, &g->nnames) ==
	    -1 || get_gql_list(r, "network.egress.http[%zu].rules[%zu]."
	    "graphql.fields", i, j, pm_gql_field, &g->fields, &g->nfields) ==
	    -1)
		return -1;
	fieldf(r, "network.egress.http[%zu].rules[%zu].graphql", i, j);
	if (pm_gql_check(s, why, sizeof(why)) == -1)
		return rerr(r, at, "%s", why);
	if (g->ops == 0 && g->nnames == 0 && g->nfields == 0)
		return rerr(r, at, "empty graphql: section");
	return 0;
}

static int
get_publish(struct rd *r, struct policy *pol)
{
	char		 spec[GR_SPEC_MAX + 1], p[48], msg[GR_ERRSIZE];
	char		*addr;
	unsigned int	 hp, port;
	size_t		 i, n, at;
	long		 j;

	fieldf(r, "network.publish");
	if (get_count(r, 7, &n) == -1)
		return -1;
	if (n > 0 && (pol->publish = calloc(n, sizeof(*pol->publish))) ==
	    NULL)
		return rerr(r, r->off, "out of memory");
	for (i = 0; i < n; i++) {
		fieldf(r, "network.publish[%zu]", i);
		if (get_str(r, INET6_ADDRSTRLEN - 1, 0, &addr, &at) == -1)
			return -1;
		if (get16(r, &hp) == -1 || get16(r, &port) == -1) {
			free(addr);
			return -1;
		}
		/* the entry as the YAML loader would have seen it */
		snprintf(p, sizeof(p), "network.publish[%zu]", i);
		snprintf(spec, sizeof(spec), strchr(addr, ':') ? "[%s]:%u:%u" :
		    "%s:%u:%u", addr, hp, port);
		if (gr_publish(p, spec, &pol->publish[i], msg,
		    sizeof(msg)) == -1) {
			free(addr);
			return rerr(r, at, "%s", msg);
		}
		if (strcmp(pol->publish[i].addr, addr) != 0) {
			rerr(r, at, "address \"%s\" is not written as %s",
			    addr, pol->publish[i].addr);
			free(addr);
			return -1;
		}
		free(addr);
		if ((j = pm_publish_dup(pol, i)) != -1)
			return rerr(r, at, "%s port %u is already published by "
			    "network.publish[%ld]", pol->publish[i].addr,
			    pol->publish[i].hostport, j);
		pol->npublish++;
	}
	return 0;
}

static int
get_inj(struct rd *r, struct injection *in, const char *path)
{
	char		 why[PM_WHY];
	struct hostpat	 hpat;
	uint16_t	 port;
	unsigned int	 t;
	size_t		 at;
	int		 k;

	fieldf(r, "%s.type", path);
	at = r->off;
	if (get8(r, &t) == -1)
		return -1;
	if (t > INJ_LAST)
		return rerr(r, at, "type %u is not one of the %d", t,
		    INJ_LAST + 1);
	in->type = t;
	fieldf(r, "%s.host", path);
	if (get_str(r, PM_INJ_HOST, 0, &in->host, &at) == -1)
		return -1;
	if (pm_hostport(in->host, &hpat, &port, why, sizeof(why)) == -1)
		return berr(r, at, in->host, why);
	for (k = 0; k < IF_N; k++) {
		fieldf(r, "%s.%s", path, pm_inj_fields[k]);
		if (get_str(r, pm_inj_max(k), 1, &in->f[k], &at) == -1)
			return -1;
		if (in->f[k] == NULL) {
			if (pm_inj_takes(in->type, k) == PM_INJ_REQ)
				return rerr(r, at, "missing (needed by type "
				    "%s)", gr_inj_names[in->type]);
			continue;
		}
		if (pm_inj_takes(in->type, k) == PM_INJ_NO)
			return rerr(r, at, "type %s takes no %s",
			    gr_inj_names[in->type], pm_inj_fields[k]);
		if (pm_inj_field(k, in->f[k], why, sizeof(why)) == -1)
			return berr(r, at, in->f[k], why);
	}
	return 0;
}

static int
get_creds(struct rd *r, struct policy *pol)
{
	char		 why[PM_WHY], path[80];
	size_t		 i, j, n, at;
	long		 d;

	fieldf(r, "credentials");
	if (get_count(r, 8, &n) == -1)
		return -1;
	if (n > 0 && (pol->creds = calloc(n, sizeof(*pol->creds))) == NULL)
		return rerr(r, r->off, "out of memory");
	for (i = 0; i < n; i++) {
		struct credential *cr = &pol->creds[i];

		pol->ncreds++;
		fieldf(r, "credentials[%zu].id", i);
		if (get_str(r, PM_CRED_ID, 0, &cr->id, &at) == -1)
			return -1;
		if (pm_cred_id(cr->id, why, sizeof(why)) == -1)
			return berr(r, at, cr->id, why);
		if ((d = pm_cred_id_dup(pol, i, cr->id)) != -1)
			return rerr(r, at, "already the id of credentials[%ld]",
			    d);
		fieldf(r, "credentials[%zu].envVar", i);
		if (get_str(r, PM_ENVVAR, 0, &cr->envvar, &at) == -1)
			return -1;
		if (pm_envvar(cr->envvar, why, sizeof(why)) == -1)
			return berr(r, at, cr->envvar, why);
		if ((d = pm_envvar_dup(pol, i, cr->envvar)) != -1)
			return rerr(r, at, "already the envVar of "
			    "credentials[%ld]", d);
		fieldf(r, "credentials[%zu].injections", i);
		at = r->off;
		if (get_count(r, 8, &cr->ninj) == -1)
			return -1;
		if (cr->ninj == 0)
			return rerr(r, at, "needs at least one injection");
		if ((cr->inj = calloc(cr->ninj, sizeof(*cr->inj))) == NULL) {
			cr->ninj = 0;
			return rerr(r, at, "out of memory");
		}
		for (j = 0; j < cr->ninj; j++) {
			snprintf(path, sizeof(path),
			    "credentials[%zu].injections[%zu]", i, j);
			if (get_inj(r, &cr->inj[j], path) == -1)
				return -1;
		}
	}
	return 0;
}

static int
get_resources(struct rd *r, struct policy *pol)
{
	size_t	 at;

	fieldf(r, "resources.cpus");
	at = r->off;
	if (get32(r, &pol->res.cpu_millis) == -1)
		return -1;
	if (pol->res.cpu_millis > GR_CPUS_MAX * 1000)
		return rerr(r, at, "%u thousandths, more than %d CPUs",
		    pol->res.cpu_millis, GR_CPUS_MAX);
	fieldf(r, "resources.memory");
	at = r->off;
	if (get64(r, &pol->res.memory) == -1)
		return -1;
	if (pol->res.memory != 0 && (pol->res.memory < GR_MEMORY_MIN ||
	    pol->res.memory > GR_MEMORY_MAX))
		return rerr(r, at, "%llu bytes is out of range (%llu to %llu)",
		    (unsigned long long)pol->res.memory,
		    (unsigned long long)GR_MEMORY_MIN,
		    (unsigned long long)GR_MEMORY_MAX);
	fieldf(r, "resources.pids");
	at = r->off;
	if (get32(r, &pol->res.pids) == -1)
		return -1;
	if (pol->res.pids > GR_PIDS_MAX)
		return rerr(r, at, "%u is out of range (1 to %d)",
		    pol->res.pids, GR_PIDS_MAX);
	return 0;
}

/* a string an llm: builder checks */
static int
get_llm_str(struct rd *r, size_t max, int optional, char **out,
    int (*check)(const char *, char *, size_t))
{
	char	 why[PM_WHY];
	size_t	 at;

	if (get_str(r, max, optional, out, &at) == -1)
		return -1;
	if (*out != NULL && check != NULL && check(*out, why,
	    sizeof(why)) == -1)
		return berr(r, at, *out, why);
	return 0;
}

static int
get_enum8(struct rd *r, unsigned int max, unsigned int *v)
{
	size_t	 at = r->off;

	if (get8(r, v) == -1)
		return -1;
	if (*v > max)
		return rerr(r, at, "%u is out of range (0 to %u)", *v, max);
	return 0;
}

static int
get_llm(struct rd *r, struct policy *pol)
{
	char		 why[PM_WHY];
	unsigned int	 x;
	size_t		 i, j, k, n, at;

	fieldf(r, "llm.backends");
	if (get_count(r, 8, &n) == -1)
		return -1;
	if (n > PM_LLM_MAXLIST)
		return rerr(r, r->off, "more than %d backends", PM_LLM_MAXLIST);
	if (n > 0 && (pol->llmb = calloc(n, sizeof(*pol->llmb))) == NULL)
		return rerr(r, r->off, "out of memory");
	for (i = 0; i < n; i++) {
		struct llm_backend *b = &pol->llmb[i];

		pol->nllmb++;
		fieldf(r, "llm.backends[%zu].name", i);
		at = r->off;
		if (get_llm_str(r, PM_LLM_NAME, 0, &b->name, pm_llm_name) == -1)
			return -1;
		if (pm_llm_backend_dup(pol, i) != -1)
			return rerr(r, at, "a second backend of that name");
		fieldf(r, "llm.backends[%zu].url", i);
		at = r->off;
		if (get_llm_str(r, PM_LLM_URL, 0, &b->url, NULL) == -1)
			return -1;
		if (pm_llm_url(b->url, b, why, sizeof(why)) == -1)
			return berr(r, at, b->url, why);
		fieldf(r, "llm.backends[%zu].api", i);
		if (get_enum8(r, POLICY_LLM_API_OPENAI, &x) == -1)
			return -1;
		b->api = x;
		fieldf(r, "llm.backends[%zu].capabilities", i);
		if (get_enum8(r, 3, &x) == -1)
			return -1;
		b->tools = (x & 1) != 0;
		b->images = (x & 2) != 0;
		fieldf(r, "llm.backends[%zu].models", i);
		at = r->off;
		if (get_count(r, 4, &b->nmodels) == -1)
			return -1;
		if (b->nmodels == 0 || b->nmodels > PM_LLM_MAXLIST)
			return rerr(r, at, "%zu models (1 to %d)", b->nmodels,
			    PM_LLM_MAXLIST);
		if ((b->models = calloc(b->nmodels, sizeof(*b->models))) ==
		    NULL) {
			b->nmodels = 0;
			return rerr(r, at, "out of memory");
		}
		for (j = 0; j < b->nmodels; j++) {
			fieldf(r, "llm.backends[%zu].models[%zu]", i, j);
			if (get_llm_str(r, PM_LLM_GLOB, 0, &b->models[j].glob,
			    pm_llm_glob) == -1 || get_llm_str(r, PM_LLM_GLOB,
			    0, &b->models[j].served, pm_llm_glob) == -1)
				return -1;
			if (strchr(b->models[j].served, '*') != NULL)
				return rerr(r, r->off, "a served model is a "
				    "glob");
			for (k = 0; k < j; k++)
				if (strcmp(b->models[k].glob,
				    b->models[j].glob) == 0)
					return rerr(r, r->off, "a duplicate "
					    "model glob");
		}
	}
	fieldf(r, "llm.routes");
	if (get_count(r, 13, &n) == -1)
		return -1;
	if (n > PM_LLM_MAXLIST)
		return rerr(r, r->off, "more than %d routes", PM_LLM_MAXLIST);
	if (n > 0 && (pol->llmr = calloc(n, sizeof(*pol->llmr))) == NULL)
		return rerr(r, r->off, "out of memory");
	for (i = 0; i < n; i++) {
		struct llm_route *rt = &pol->llmr[i];

		pol->nllmr++;
		fieldf(r, "llm.routes[%zu].domain", i);
		at = r->off;
		if (get_llm_str(r, MAXNAME + 2, 0, &rt->domain, NULL) == -1)
			return -1;
		if (pm_llm_domain(rt->domain, rt, why, sizeof(why)) == -1)
			return berr(r, at, rt->domain, why);
		fieldf(r, "llm.routes[%zu].path", i);
		at = r->off;
		if (get_llm_str(r, PM_LLM_GLOB, 0, &rt->path, pm_llm_glob) ==
		    -1)
			return -1;
		if (rt->path[0] != '/')
			return berr(r, at, rt->path, " does not start with /");
		fieldf(r, "llm.routes[%zu].model", i);
		if (get_llm_str(r, PM_LLM_GLOB, 0, &rt->model, pm_llm_glob) ==
		    -1)
			return -1;
		fieldf(r, "llm.routes[%zu].action", i);
		if (get_enum8(r, POLICY_LLM_DENY, &x) == -1)
			return -1;
		rt->action = x;
		fieldf(r, "llm.routes[%zu].backend", i);
		if (get_llm_str(r, PM_LLM_NAME, 1, &rt->backend,
		    pm_llm_name) == -1)
			return -1;
		fieldf(r, "llm.routes[%zu].api", i);
		at = r->off;
		if (get8(r, &x) == -1)
			return -1;
		if (x != 255 && x > POLICY_LLM_API_OPENAI)
			return rerr(r, at, "%u is not an API", x);
		rt->api = x == 255 ? -1 : (int)x;
		if (rt->api == -1 && pm_llm_path_api(rt->path) != -1)
			return rerr(r, at, "no API where the path says one");
		fieldf(r, "llm.routes[%zu].translate", i);
		if (get_enum8(r, 1, &x) == -1)
			return -1;
		rt->translate = x;
		at = r->off;
		if (pm_llm_route_check(pol, i, why, sizeof(why)) == -1)
			return rerr(r, at, "%s", why);
	}
	return 0;
}

static int
get_model(struct rd *r, struct policy *pol)
{
	unsigned int	 x;
	size_t		 at;

	fieldf(r, "header");
	if (need(r, 4) == -1)
		return -1;
	if (memcmp(r->p, WIRE_MAGIC, 4) != 0)
		return rerr(r, 0, "not a policy model (no \"%s\")",
		    WIRE_MAGIC);
	r->off = 4;
	fieldf(r, "version");
	at = r->off;
	if (get16(r, &x) == -1)
		return -1;
	if (x != WIRE_VERSION)
		return rerr(r, at, "%u is not supported (only %d)", x,
		    WIRE_VERSION);
	fieldf(r, "flags");
	at = r->off;
	if (get16(r, &x) == -1)
		return -1;
	if (x != 0)
		return rerr(r, at, "0x%04x, none is defined", x);
	fieldf(r, "sha256");
	if (need(r, HASHLEN) == -1)
		return -1;
	sodium_bin2hex(pol->hash, sizeof(pol->hash), r->p + r->off, HASHLEN);
	r->off += HASHLEN;
	fieldf(r, "network.defaultVerdict");
	if (get_verdict(r, &pol->defverdict) == -1 || get_http(r, pol) == -1 ||
	    get_net(r, "tcp", &pol->tcp, &pol->ntcp) == -1 ||
	    get_net(r, "udp", &pol->udp, &pol->nudp) == -1 ||
	    get_publish(r, pol) == -1 || get_creds(r, pol) == -1 ||
	    get_resources(r, pol) == -1 || get_llm(r, pol) == -1)
		return -1;
	fieldf(r, "end");
	if (r->off != r->len)
		return rerr(r, r->off, "%zu bytes after the model",
		    r->len - r->off);
	return 0;
}

struct policy *
policy_decode(const char *name, const void *buf, size_t len,
    struct policy_error *err)
{
	struct rd	 r;
	struct policy	*pol;
	uint8_t		*again;

	memset(&r, 0, sizeof(r));
	r.p = buf;
	r.len = len;
	r.err = err;
	r.name = name ? name : "(policy)";
	strlcpy(r.field, "model", sizeof(r.field));
	if (len > POLICY_MODEL_MAXSIZE) {
		rerr(&r, 0, "%zu bytes, more than %d", len,
		    POLICY_MODEL_MAXSIZE);
		return NULL;
	}
	if ((pol = pm_new()) == NULL) {
		rerr(&r, 0, "out of memory");
		return NULL;
	}
	if (get_model(&r, pol) == -1) {
		policy_free(pol);
		return NULL;
	}
	/* one model, one encoding: what was read is what it writes */
	if ((again = malloc(len)) == NULL) {
		rerr(&r, 0, "out of memory");
		policy_free(pol);
		return NULL;
	}
	if (policy_encode(pol, again, len) != len ||
	    memcmp(again, buf, len) != 0) {
		free(again);
		rerr(&r, 0, "not in its canonical encoding");
		policy_free(pol);
		return NULL;
	}
	free(again);
	return pol;
}
