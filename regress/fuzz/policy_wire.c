/*
 * libFuzzer target for common/policy_wire.c: policy_decode on arbitrary
 * bytes (the binary model reaches lensnetd's parent from lensvmm's jail
 * processes, and its dns and proxy children from the parent).
 *
 * Every input is refused with a message, or decodes to a model that
 * (1) encodes back to exactly the input, (2) can be asked for every
 * decision, and (3) is one the YAML loader builds too: the model
 * written out as YAML parses to the same canonical JSON.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "policy_int.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct out {
	char	*buf;
	size_t	 len, size;
};

static void
emit(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void	q(struct out *, const char *);

static void
emit(struct out *o, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			abort();
		if ((size_t)n < o->size - o->len)
			break;
		o->size = 2 * o->size + n;
		if ((o->buf = realloc(o->buf, o->size)) == NULL)
			abort();
	}
	o->len += n;
}

/* a YAML double-quoted scalar */
static void
q(struct out *o, const char *s)
{
	emit(o, "\"");
	for (; *s != '\0'; s++) {
		unsigned char ch = *s;

		if (ch == '"' || ch == '\\')
			emit(o, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			emit(o, "\\x%02x", ch);
		else
			emit(o, "%c", ch);
	}
	emit(o, "\"");
}

static void
net(struct out *o, const char *name, const struct net_rule *r, size_t n)
{
	size_t	 i;

	emit(o, "    %s:\n", name);
	for (i = 0; i < n; i++) {
		emit(o, "      - match: ");
		q(o, r[i].match);
		emit(o, "\n        verdict: %s\n", verdict_name(r[i].verdict));
	}
	if (n == 0)
		emit(o, "      []\n");
}

/* graphql: as YAML, each list only when there is one */
static void
graphql(struct out *o, const struct graphql_rule *g)
{
	size_t	 i;

	emit(o, "            graphql:\n");
	if (g->ops != 0) {
		emit(o, "              operations:\n");
		for (i = 0; pm_gql_ops[i] != NULL; i++)
			if (g->ops & (1U << i))
				emit(o, "                - %s\n", pm_gql_ops[i]);
	}
	if (g->nnames > 0) {
		emit(o, "              operationNames:\n");
		for (i = 0; i < g->nnames; i++) {
			emit(o, "                - ");
			q(o, g->names[i]);
			emit(o, "\n");
		}
	}
	if (g->nfields > 0) {
		emit(o, "              fields:\n");
		for (i = 0; i < g->nfields; i++) {
			emit(o, "                - ");
			q(o, g->fields[i]);
			emit(o, "\n");
		}
	}
	if (g->ops == 0 && g->nnames == 0 && g->nfields == 0)
		emit(o, "              {}\n");
}

/* mcp: as YAML, optional keys only when given */
static void
mcp(struct out *o, const struct mcp_rule *m)
{
	size_t	 i, j;

	emit(o, "            mcp:\n");
	for (i = 0; i < m->n; i++) {
		emit(o, "              - method: ");
		q(o, m->e[i].method);
		if (m->e[i].tool != NULL) {
			emit(o, "\n                tool: ");
			q(o, m->e[i].tool);
		}
		if (m->e[i].uri != NULL) {
			emit(o, "\n                uri: ");
			q(o, m->e[i].uri);
		}
		emit(o, "\n");
		if (m->e[i].nargs > 0)
			emit(o, "                arguments:\n");
		for (j = 0; j < m->e[i].nargs; j++) {
			emit(o, "                  - pointer: ");
			q(o, m->e[i].args[j].pointer);
			emit(o, "\n                    glob: ");
			q(o, m->e[i].args[j].glob);
			emit(o, "\n");
		}
	}
}

static char *
yaml(const struct policy *pol)
{
	struct out	 o = { NULL, 0, 4096 };
	size_t		 i, j, k;

	if ((o.buf = malloc(o.size)) == NULL)
		abort();
	emit(&o, "version: 1\nnetwork:\n  defaultVerdict: %s\n  egress:\n"
	    "    http:\n", verdict_name(pol->defverdict));
	for (i = 0; i < pol->nhttp; i++) {
		const struct http_rule *r = &pol->http[i];

		emit(&o, "      - match: ");
		q(&o, r->match);
		emit(&o, "\n        verdict: %s\n        tlsTerminate: %s\n",
		    verdict_name(r->verdict), r->tls ? "true" : "false");
		if (r->cafile) {
			emit(&o, "        caFile: ");
			q(&o, r->cafile);
			emit(&o, "\n");
		}
		emit(&o, "        rules:\n");
		for (j = 0; j < r->nsubs; j++) {
			emit(&o, "          - method: ");
			q(&o, r->subs[j].method);
			emit(&o, "\n            path: ");
			q(&o, r->subs[j].path);
			if (r->subs[j].query) {
				emit(&o, "\n            query: ");
				q(&o, r->subs[j].query);
			}
			emit(&o, "\n            websocket: %s",
			    r->subs[j].websocket ? "true" : "false");
			emit(&o, "\n            verdict: %s\n",
			    verdict_name(r->subs[j].verdict));
			if (r->subs[j].graphql != NULL)
				graphql(&o, r->subs[j].graphql);
			if (r->subs[j].mcp != NULL)
				mcp(&o, r->subs[j].mcp);
		}
		if (r->nsubs == 0)
			emit(&o, "          []\n");
	}
	if (pol->nhttp == 0)
		emit(&o, "      []\n");
	net(&o, "tcp", pol->tcp, pol->ntcp);
	net(&o, "udp", pol->udp, pol->nudp);
	emit(&o, "  publish:\n");
	for (i = 0; i < pol->npublish; i++)
		emit(&o, strchr(pol->publish[i].addr, ':') ?
		    "    - \"[%s]:%u:%u\"\n" : "    - \"%s:%u:%u\"\n",
		    pol->publish[i].addr, pol->publish[i].hostport,
		    pol->publish[i].port);
	if (pol->npublish == 0)
		emit(&o, "    []\n");
	emit(&o, "credentials:\n");
	for (i = 0; i < pol->ncreds; i++) {
		const struct credential *cr = &pol->creds[i];

		emit(&o, "  - id: ");
		q(&o, cr->id);
		emit(&o, "\n    envVar: ");
		q(&o, cr->envvar);
		emit(&o, "\n    injections:\n");
		for (j = 0; j < cr->ninj; j++) {
			emit(&o, "      - type: %s\n        host: ",
			    gr_inj_names[cr->inj[j].type]);
			q(&o, cr->inj[j].host);
			for (k = 0; k < IF_N; k++) {
				if (cr->inj[j].f[k] == NULL)
					continue;
				emit(&o, "\n        %s: ", pm_inj_fields[k]);
				q(&o, cr->inj[j].f[k]);
			}
			emit(&o, "\n");
		}
	}
	if (pol->ncreds == 0)
		emit(&o, "  []\n");
	emit(&o, "resources:\n");
	if (pol->res.cpu_millis)
		emit(&o, "  cpus: %u.%03u\n", pol->res.cpu_millis / 1000,
		    pol->res.cpu_millis % 1000);
	if (pol->res.memory)
		emit(&o, "  memory: %llu\n",
		    (unsigned long long)pol->res.memory);
	if (pol->res.pids)
		emit(&o, "  pids: %u\n", pol->res.pids);
	if (!pol->res.cpu_millis && !pol->res.memory && !pol->res.pids)
		emit(&o, "  {}\n");
	emit(&o, "llm:\n  backends:\n");
	for (i = 0; i < pol->nllmb; i++) {
		const struct llm_backend *b = &pol->llmb[i];

		emit(&o, "    - name: ");
		q(&o, b->name);
		emit(&o, "\n      url: ");
		q(&o, b->url);
		emit(&o, "\n      api: %s\n      capabilities: {tools: %s, "
		    "images: %s}\n      models:\n", pm_llm_apis[b->api],
		    b->tools ? "true" : "false", b->images ? "true" : "false");
		for (j = 0; j < b->nmodels; j++) {
			emit(&o, "        ");
			q(&o, b->models[j].glob);
			emit(&o, ": ");
			q(&o, b->models[j].served);
			emit(&o, "\n");
		}
	}
	if (pol->nllmb == 0)
		emit(&o, "    []\n");
	emit(&o, "  routes:\n");
	for (i = 0; i < pol->nllmr; i++) {
		const struct llm_route *r = &pol->llmr[i];

		emit(&o, "    - domain: ");
		q(&o, r->domain);
		emit(&o, "\n      path: ");
		q(&o, r->path);
		emit(&o, "\n      model: ");
		q(&o, r->model);
		emit(&o, "\n      action: %s\n      translate: %s\n",
		    pm_llm_actions[r->action], r->translate ? "true" : "false");
		if (r->api >= 0)
			emit(&o, "      api: %s\n", pm_llm_apis[r->api]);
		if (r->backend != NULL) {
			emit(&o, "      backend: ");
			q(&o, r->backend);
			emit(&o, "\n");
		}
	}
	if (pol->nllmr == 0)
		emit(&o, "    []\n");
	return o.buf;
}

static void
decisions(const struct policy *pol)
{
	static const char *const names[] = { "api.github.com",
	    "a.b.pypi.org", "pypi.org", "GitHub.COM.", "", "x..y" };
	static const char *const paths[] = { "/", "/repos/a/b", "/v1/../x",
	    "/a%2Fb", "//x", "/search" };
	static const char *const queries[] = { NULL, "", "q=1&page=2",
	    "%00", "a=%41" };
	static const char *const methods[] = { "GET", "POST", "get", "" };
	struct policy_http_decision	 d;
	struct policy_request_decision	 rd;
	struct sockaddr_in		 sin;
	const char			*rule;
	size_t				 i, j;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, "10.0.5.7", &sin.sin_addr);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		policy_http(pol, names[i], 443, &d);
		if (d.verdict > VERDICT_ASK ||
		    policy_tcp_name(pol, names[i], 22, &rule) > VERDICT_ASK ||
		    policy_dns(pol, names[i]) > VERDICT_ASK)
			abort();
		/* a request decision never allows more than its host's */
		for (j = 0; j < sizeof(paths) / sizeof(paths[0]); j++) {
			policy_http_request(pol, names[i], 443,
			    methods[(i + j) % 4], paths[j], queries[j % 5],
			    &rd);
			if (rd.verdict > VERDICT_ASK ||
			    (rd.verdict == VERDICT_ALLOW &&
			    d.verdict != VERDICT_ALLOW) ||
			    (rd.verdict != VERDICT_ALLOW && rd.why == NULL) ||
			    (rd.websocket && rd.sub < 0))
				abort();
		}
	}
	if (policy_tcp_addr(pol, (struct sockaddr *)&sin, 5432, &rule) >
	    VERDICT_ASK)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_error	 err;
	struct policy		*pol, *again;
	uint8_t			*enc;
	char			*j1, *j2, *text, ebuf[600];

	memset(&err, 0, sizeof(err));
	if ((pol = policy_decode("fuzz", data, size, &err)) == NULL) {
		if (err.msg[0] == '\0' || err.line != 0)
			abort();
		policy_strerror(&err, ebuf, sizeof(ebuf));
		return 0;
	}
	if (policy_encode(pol, NULL, 0) != size ||
	    (enc = malloc(size)) == NULL)
		abort();
	if (policy_encode(pol, enc, size) != size ||
	    memcmp(enc, data, size) != 0)
		abort();
	free(enc);
	if (strlen(policy_hash(pol)) != 64)
		abort();
	decisions(pol);
	/* the YAML loader builds the same model */
	text = yaml(pol);
	if ((again = policy_parse("fuzz.yaml", text, strlen(text), &err)) ==
	    NULL) {
		policy_strerror(&err, ebuf, sizeof(ebuf));
		fprintf(stderr, "decoded, but as YAML refused: %s\n%s", ebuf,
		    text);
		abort();
	}
	j1 = policy_json(pol);
	j2 = policy_json(again);
	if (j1 == NULL || j2 == NULL || strcmp(j1, j2) != 0) {
		fprintf(stderr, "decoded %s\nYAML    %s\n", j1, j2);
		abort();
	}
	free(j1);
	free(j2);
	free(text);
	policy_free(again);
	policy_free(pol);
	return 0;
}
