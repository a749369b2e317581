/*
 * The policy model as canonical JSON (lensctl policy show, inspect):
 * keys sorted, compact, every derived field spelled out, so that two
 * models are the same policy exactly when their JSON is the same.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "policy.h"
#include "policy_int.h"

static json_t *
json_rules(const struct net_rule *rules, size_t n)
{
	char		 cidr[INET6_ADDRSTRLEN + 8];
	json_t		*a, *o;
	size_t		 i;

	if ((a = json_array()) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		const struct net_rule *r = &rules[i];

		o = json_pack("{s:s, s:s, s:i, s:i}", "match", r->match,
		    "verdict", verdict_name(r->verdict), "portMin", r->lo,
		    "portMax", r->hi);
		if (o == NULL)
			goto fail;
		if (r->is_cidr) {
			if (inet_ntop(r->cidr.af, r->cidr.addr, cidr,
			    sizeof(cidr)) == NULL)
				goto fail2;
			snprintf(cidr + strlen(cidr), sizeof(cidr) -
			    strlen(cidr), "/%u", r->cidr.plen);
			if (json_object_set_new(o, "cidr",
			    json_string(cidr)) == -1)
				goto fail2;
		} else if (json_object_set_new(o, "host",
		    json_string(r->host.name)) == -1 ||
		    json_object_set_new(o, "wildcard",
		    json_boolean(r->host.wildcard)) == -1)
			goto fail2;
		if (json_array_append_new(a, o) == -1)
			goto fail;
	}
	return a;
 fail2:
	json_decref(o);
 fail:
	json_decref(a);
	return NULL;
}

/* mcp: as written, optional fields only when given */
static json_t *
json_mcp(const struct mcp_rule *m)
{
	json_t	*a, *o, *args, *x;
	size_t	 i, j;

	if ((a = json_array()) == NULL)
		return NULL;
	for (i = 0; i < m->n; i++) {
		const struct mcp_entry *e = &m->e[i];

		if ((o = json_pack("{s:s}", "method", e->method)) == NULL ||
		    json_array_append_new(a, o) == -1)
			goto fail;
		if ((e->tool != NULL && json_object_set_new(o, "tool",
		    json_string(e->tool)) == -1) || (e->uri != NULL &&
		    json_object_set_new(o, "uri", json_string(e->uri)) == -1))
			goto fail;
		if (e->nargs == 0)
			continue;
		if ((args = json_array()) == NULL ||
		    json_object_set_new(o, "arguments", args) == -1)
			goto fail;
		for (j = 0; j < e->nargs; j++)
			if ((x = json_pack("{s:s, s:s}", "pointer",
			    e->args[j].pointer, "glob", e->args[j].glob)) ==
			    NULL || json_array_append_new(args, x) == -1)
				goto fail;
	}
	return a;
 fail:
	json_decref(a);
	return NULL;
}

static json_t *
json_strlist(char **v, size_t n)
{
	json_t	*a;
	size_t	 i;

	if ((a = json_array()) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (json_array_append_new(a, json_string(v[i])) == -1) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* graphql: as written, each list only when given */
static json_t *
json_graphql(const struct graphql_rule *g)
{
	json_t	*o, *ops;
	size_t	 i;

	if ((o = json_object()) == NULL)
		return NULL;
	if (g->ops != 0) {
		ops = json_array();
		for (i = 0; pm_gql_ops[i] != NULL; i++)
			if (g->ops & (1U << i))
				json_array_append_new(ops,
				    json_string(pm_gql_ops[i]));
		json_object_set_new(o, "operations", ops);
	}
	if (g->nnames > 0)
		json_object_set_new(o, "operationNames",
		    json_strlist(g->names, g->nnames));
	if (g->nfields > 0)
		json_object_set_new(o, "fields",
		    json_strlist(g->fields, g->nfields));
	return o;
}

static json_t *
json_llm(const struct policy *pol)
{
	json_t	*o, *bs, *rs, *m, *e;
	size_t	 i, j;

	if ((o = json_pack("{s:[], s:[]}", "backends", "routes")) == NULL)
		return NULL;
	bs = json_object_get(o, "backends");
	rs = json_object_get(o, "routes");
	for (i = 0; i < pol->nllmb; i++) {
		const struct llm_backend *b = &pol->llmb[i];

		if ((m = json_object()) == NULL)
			goto fail;
		for (j = 0; j < b->nmodels; j++)
			if (json_object_set_new(m, b->models[j].glob,
			    json_string(b->models[j].served)) == -1) {
				json_decref(m);
				goto fail;
			}
		e = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:{s:b, s:b}, "
		    "s:o}", "name", b->name, "url", b->url, "api",
		    pm_llm_apis[b->api], "host", b->host, "port", b->port,
		    "base", b->base, "capabilities", "tools", b->tools,
		    "images", b->images, "models", m);
		if (e == NULL || json_array_append_new(bs, e) == -1)
			goto fail;
	}
	for (i = 0; i < pol->nllmr; i++) {
		const struct llm_route *r = &pol->llmr[i];

		e = json_pack("{s:s, s:s, s:s, s:s, s:b}", "domain", r->domain,
		    "path", r->path, "model", r->model, "action",
		    pm_llm_actions[r->action], "translate", r->translate);
		if (e == NULL || (r->backend != NULL && json_object_set_new(e,
		    "backend", json_string(r->backend)) == -1) ||
		    (r->api >= 0 && json_object_set_new(e, "api",
		    json_string(pm_llm_apis[r->api])) == -1) ||
		    json_array_append_new(rs, e) == -1)
			goto fail;
	}
	return o;
 fail:
	json_decref(o);
	return NULL;
}

static json_t *
json_model(const struct policy *pol)
{
	json_t	*top, *http, *o, *subs, *s, *pub, *creds, *inj, *res;
	size_t	 i, j, k;

	top = json_pack("{s:i, s:{s:s, s:{s:[], s:o*, s:o*}, s:[]}, "
	    "s:[], s:{}}",
	    "version", 1,
	    "network",
		"defaultVerdict", verdict_name(pol->defverdict),
		"egress",
		    "http",
		    "tcp", json_rules(pol->tcp, pol->ntcp),
		    "udp", json_rules(pol->udp, pol->nudp),
		"publish",
	    "credentials",
	    "resources");
	if (top == NULL)
		return NULL;
	http = json_object_get(json_object_get(json_object_get(top,
	    "network"), "egress"), "http");
	pub = json_object_get(json_object_get(top, "network"), "publish");
	creds = json_object_get(top, "credentials");
	res = json_object_get(top, "resources");
	if (json_object_size(json_object_get(json_object_get(top, "network"),
	    "egress")) != 3)
		goto fail;
	for (i = 0; i < pol->nhttp; i++) {
		const struct http_rule *r = &pol->http[i];

		if ((subs = json_array()) == NULL)
			goto fail;
		for (j = 0; j < r->nsubs; j++) {
			s = json_pack("{s:s, s:s, s:b, s:s}", "method",
			    r->subs[j].method, "path", r->subs[j].path,
			    "websocket", r->subs[j].websocket,
			    "verdict", verdict_name(r->subs[j].verdict));
			if (s == NULL || (r->subs[j].query != NULL &&
			    json_object_set_new(s, "query",
			    json_string(r->subs[j].query)) == -1) ||
			    (r->subs[j].mcp != NULL &&
			    json_object_set_new(s, "mcp",
			    json_mcp(r->subs[j].mcp)) == -1) ||
			    (r->subs[j].graphql != NULL &&
			    json_object_set_new(s, "graphql",
			    json_graphql(r->subs[j].graphql)) == -1) ||
			    json_array_append_new(subs, s) == -1) {
				json_decref(subs);
				goto fail;
			}
		}
		o = json_pack("{s:s, s:s, s:b, s:o, s:s, s:b, s:i}",
		    "match", r->match, "verdict", verdict_name(r->verdict),
		    "tlsTerminate", r->tls, "rules", subs,
		    "host", r->host.name, "wildcard", r->host.wildcard,
		    "port", r->port);
		if (o == NULL || (r->cafile != NULL && json_object_set_new(o,
		    "caFile", json_string(r->cafile)) == -1) ||
		    json_array_append_new(http, o) == -1)
			goto fail;
	}
	for (i = 0; i < pol->npublish; i++) {
		o = json_pack("{s:s, s:i, s:i, s:s}", "addr",
		    pol->publish[i].addr, "hostPort", pol->publish[i].hostport,
		    "port", pol->publish[i].port, "proto", "tcp");
		if (o == NULL || json_array_append_new(pub, o) == -1)
			goto fail;
	}
	for (i = 0; i < pol->ncreds; i++) {
		const struct credential *cr = &pol->creds[i];

		if ((inj = json_array()) == NULL)
			goto fail;
		for (j = 0; j < cr->ninj; j++) {
			const struct injection *in = &cr->inj[j];

			s = json_pack("{s:s, s:s}", "type",
			    gr_inj_names[in->type], "host", in->host);
			for (k = 0; s != NULL && k < IF_N; k++)
				if (in->f[k] != NULL && json_object_set_new(s,
				    pm_inj_fields[k],
				    json_string(in->f[k])) == -1) {
					json_decref(s);
					s = NULL;
				}
			if (s == NULL || json_array_append_new(inj, s) == -1) {
				json_decref(inj);
				goto fail;
			}
		}
		o = json_pack("{s:s, s:s, s:o}", "id", cr->id, "envVar",
		    cr->envvar, "injections", inj);
		if (o == NULL || json_array_append_new(creds, o) == -1)
			goto fail;
	}
	if ((pol->res.cpu_millis && json_object_set_new(res, "cpuMillis",
	    json_integer(pol->res.cpu_millis)) == -1) ||
	    (pol->res.memory && json_object_set_new(res, "memory",
	    json_integer(pol->res.memory)) == -1) ||
	    (pol->res.pids && json_object_set_new(res, "pids",
	    json_integer(pol->res.pids)) == -1))
		goto fail;
	if ((pol->nllmb > 0 || pol->nllmr > 0) &&
	    json_object_set_new(top, "llm", json_llm(pol)) == -1)
		goto fail;
	return top;
 fail:
	json_decref(top);
	return NULL;
}

char *
policy_json(const struct policy *pol)
{
	json_t	*j;
	char	*s;

	if ((j = json_model(pol)) == NULL)
		return NULL;
	s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(j);
	return s;
}
