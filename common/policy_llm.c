/*
 * llm: (lns-policy.yaml(5)): LLM backends and the routes that send an
 * agent's LLM API requests to them.
 *
 * A backend is a name, an https url (host, port, base path), the API
 * it speaks (anthropic: Messages at base/messages; openai: Chat
 * Completions at base/chat/completions), its capabilities (tools,
 * images) and a map of model globs to the model names it serves.  A
 * route matches a domain (host or *.suffix), a path glob and a model
 * glob and says passthrough, deny or route (to a backend, translating
 * between the two APIs when translate: true, which only makes sense
 * between different APIs; translate: false only between the same).
 *
 * Deciding: a matching deny wins; else the first matching route or
 * passthrough as written; no match is a deny.  The model map is asked
 * the same way: first glob that matches.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "grammar.h"
#include "policy.h"
#include "policy_int.h"

#define LLM_SEPS	"/"

const char *const pm_llm_apis[] = { "anthropic", "openai", NULL };
const char *const pm_llm_actions[] = { "passthrough", "route", "deny",
    NULL };

/* ---- builders ---- */

int
pm_llm_name(const char *s, char *why, size_t whylen)
{
	char	 e[GR_ERRSIZE];

	if (gr_cred("name", s, e, sizeof(e)) == -1)
		return pm_why(why, whylen, " is not a name (1 to 64 letters, "
		    "digits, '_', '-', '.', the first a letter or digit)");
	return 0;
}

int
pm_llm_glob(const char *s, char *why, size_t whylen)
{
	const unsigned char *p;

	if (*s == '\0')
		return pm_why(why, whylen, " is empty");
	if (strlen(s) > PM_LLM_GLOB)
		return pm_why(why, whylen, " is longer than %d bytes",
		    PM_LLM_GLOB);
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x21 || *p == 0x7f)
			return pm_why(why, whylen, " holds a space or a "
			    "control character");
	if (strstr(s, "***") != NULL)
		return pm_why(why, whylen, ": use * (not across /) or ** "
		    "(anything), not ***");
	return 0;
}

int
pm_llm_domain(const char *s, struct llm_route *r, char *why, size_t whylen)
{
	if (hostpat_parse(s, strlen(s), &r->host) == -1)
		return pm_why(why, whylen, " is not a host name or "
		    "*.suffix");
	return 0;
}

int
pm_llm_url(const char *s, struct llm_backend *b, char *why, size_t whylen)
{
	const char	*h, *e, *slash, *colon;
	char		*end;
	unsigned long	 port = 443;
	size_t		 hl;

	if (strlen(s) > PM_LLM_URL)
		return pm_why(why, whylen, " is longer than %d bytes",
		    PM_LLM_URL);
	if (strncmp(s, "https://", 8) != 0)
		return pm_why(why, whylen, " is not an https:// url (the "
		    "backend's key must not travel in clear)");
	h = s + 8;
	slash = strchr(h, '/');
	e = slash != NULL ? slash : h + strlen(h);
	if ((colon = memchr(h, ':', e - h)) != NULL) {
		port = strtoul(colon + 1, &end, 10);
		if (end != e || colon + 1 == e || port == 0 || port > 65535 ||
		    colon[1] == '0')
			return pm_why(why, whylen, " has a bad port");
		hl = colon - h;
	} else
		hl = e - h;
	if (hl == 0 || hl > MAXNAME || norm_name(h, hl, b->host) == -1)
		return pm_why(why, whylen, " has no host name");
	b->port = port;
	if (slash == NULL)
		slash = "";
	if (strpbrk(slash, "?#%\\ ") != NULL || strstr(slash, "//") != NULL ||
	    strstr(slash, "/./") != NULL || strstr(slash, "/../") != NULL)
		return pm_why(why, whylen, ": its path must be plain (no "
		    "query, fragment, escapes, empty or dot segments)");
	strlcpy(b->base, slash, sizeof(b->base));
	hl = strlen(b->base);
	while (hl > 0 && b->base[hl - 1] == '/')
		b->base[--hl] = '\0';
	if (hl >= 2 && strcmp(b->base + hl - 2, "/.") == 0)
		return pm_why(why, whylen, ": its path must be plain");
	if (hl >= 3 && strcmp(b->base + hl - 3, "/..") == 0)
		return pm_why(why, whylen, ": its path must be plain");
	return 0;
}

static int
ends_with(const char *s, const char *t)
{
	size_t	 a = strlen(s), b = strlen(t);

	return a >= b && strcmp(s + a - b, t) == 0;
}

int
pm_llm_path_api(const char *path)
{
	if (ends_with(path, "/messages"))
		return POLICY_LLM_API_ANTHROPIC;
	if (ends_with(path, "/chat/completions"))
		return POLICY_LLM_API_OPENAI;
	return -1;
}

long
pm_llm_backend_dup(const struct policy *pol, size_t i)
{
	size_t	 j;

	for (j = 0; j < i; j++)
		if (strcmp(pol->llmb[j].name, pol->llmb[i].name) == 0)
			return j;
	return -1;
}

static const struct llm_backend *
backend_named(const struct policy *pol, const char *name)
{
	size_t	 i;

	for (i = 0; name != NULL && i < pol->nllmb; i++)
		if (strcmp(pol->llmb[i].name, name) == 0)
			return &pol->llmb[i];
	return NULL;
}

int
pm_llm_route_check(const struct policy *pol, size_t i, char *why,
    size_t whylen)
{
	const struct llm_route	 *r = &pol->llmr[i];
	const struct llm_backend *b;

	if (r->action != POLICY_LLM_ROUTE) {
		if (r->backend != NULL)
			return pm_why(why, whylen, "backend is only for "
			    "action route");
		if (r->translate)
			return pm_why(why, whylen, "translate is only for "
			    "action route");
		return 0;
	}
	if (r->backend == NULL)
		return pm_why(why, whylen, "action route needs a backend");
	if ((b = backend_named(pol, r->backend)) == NULL)
		return pm_why(why, whylen, "backend \"%.64s\" is not one of "
		    "llm.backends", r->backend);
	if (r->api < 0)
		return pm_why(why, whylen, "path \"%.64s\" does not say the "
		    "API (.../messages or .../chat/completions): write api",
		    r->path);
	if (r->translate && b->api == r->api)
		return pm_why(why, whylen, "translate: true between the same "
		    "API (%s)", pm_llm_apis[b->api]);
	if (!r->translate && b->api != r->api)
		return pm_why(why, whylen, "backend \"%.64s\" speaks %s, the "
		    "route %s: write translate: true", b->name,
		    pm_llm_apis[b->api], pm_llm_apis[r->api]);
	return 0;
}

void
pm_llm_free(struct policy *pol)
{
	size_t	 i, j;

	for (i = 0; i < pol->nllmb; i++) {
		for (j = 0; j < pol->llmb[i].nmodels; j++) {
			free(pol->llmb[i].models[j].glob);
			free(pol->llmb[i].models[j].served);
		}
		free(pol->llmb[i].models);
		free(pol->llmb[i].name);
		free(pol->llmb[i].url);
	}
	free(pol->llmb);
	for (i = 0; i < pol->nllmr; i++) {
		free(pol->llmr[i].domain);
		free(pol->llmr[i].path);
		free(pol->llmr[i].model);
		free(pol->llmr[i].backend);
	}
	free(pol->llmr);
	pol->llmb = NULL;
	pol->llmr = NULL;
	pol->nllmb = pol->nllmr = 0;
}

/* ---- decisions ---- */

static int
host_matches(const struct hostpat *hp, const char *name)
{
	size_t	 n = strlen(name), m = strlen(hp->name);

	if (!hp->wildcard)
		return strcmp(hp->name, name) == 0;
	return n > m + 1 && name[n - m - 1] == '.' &&
	    strcmp(name + n - m, hp->name) == 0;
}

static int
norm(const char *host, char out[MAXNAME + 1])
{
	return host != NULL && norm_name(host, strlen(host), out) == 0;
}

int
policy_llm_host(const struct policy *pol, const char *host)
{
	char	 name[MAXNAME + 1];
	size_t	 i;

	if (pol->nllmr == 0 || !norm(host, name))
		return 0;
	for (i = 0; i < pol->nllmr; i++)
		if (host_matches(&pol->llmr[i].host, name))
			return 1;
	return 0;
}

int
policy_llm_backend_at(const struct policy *pol, const char *host,
    uint16_t port)
{
	char	 name[MAXNAME + 1];
	size_t	 i;

	if (pol->nllmb == 0 || !norm(host, name))
		return 0;
	for (i = 0; i < pol->nllmb; i++)
		if (pol->llmb[i].port == port &&
		    strcmp(pol->llmb[i].host, name) == 0)
			return 1;
	return 0;
}

int
policy_llm_applies(const struct policy *pol, const char *host,
    uint16_t port, const char *method, const char *path)
{
	char	 name[MAXNAME + 1];
	size_t	 i;

	(void)port;
	if (pol->nllmr == 0 || strcmp(method, "POST") != 0 ||
	    !norm(host, name))
		return 0;
	for (i = 0; i < pol->nllmr; i++)
		if (host_matches(&pol->llmr[i].host, name) &&
		    pm_glob(pol->llmr[i].path, path, strlen(path), LLM_SEPS))
			return 1;
	return 0;
}

int
policy_llm_decide(const struct policy *pol, const char *host, uint16_t port,
    const char *path, const char *model, struct policy_llm_decision *d)
{
	const struct llm_route	 *r, *first = NULL;
	const struct llm_backend *b;
	char			  name[MAXNAME + 1];
	size_t			  i;

	(void)port;
	memset(d, 0, sizeof(*d));
	d->action = POLICY_LLM_DENY;
	d->route = -1;
	d->api = pm_llm_path_api(path);
	if (!norm(host, name))
		return pm_why(d->why, sizeof(d->why), "llm: not a host name");
	for (i = 0; i < pol->nllmr; i++) {
		r = &pol->llmr[i];
		if (!host_matches(&r->host, name) ||
		    !pm_glob(r->path, path, strlen(path), LLM_SEPS) ||
		    !pm_glob(r->model, model, strlen(model), ""))
			continue;
		if (r->action == POLICY_LLM_DENY) {
			d->route = i;
			return pm_why(d->why, sizeof(d->why), "llm: model "
			    "\"%.64s\" denied by route %zu", model, i);
		}
		if (first == NULL) {
			first = r;
			d->route = i;
		}
	}
	if (first == NULL)
		return pm_why(d->why, sizeof(d->why), "llm: no route covers "
		    "model \"%.64s\"", model);
	d->action = first->action;
	d->api = first->api;
	d->translate = first->translate;
	if (first->action == POLICY_LLM_PASSTHROUGH)
		return 0;
	if ((b = backend_named(pol, first->backend)) == NULL)
		return pm_why(d->why, sizeof(d->why), "llm: no backend");
	d->be.name = b->name;
	d->be.url = b->url;
	d->be.host = b->host;
	d->be.base = b->base;
	d->be.port = b->port;
	d->be.api = b->api;
	d->be.tools = b->tools;
	d->be.images = b->images;
	for (i = 0; i < b->nmodels; i++)
		if (pm_glob(b->models[i].glob, model, strlen(model), "")) {
			d->served = b->models[i].served;
			return 0;
		}
	return pm_why(d->why, sizeof(d->why), "llm: backend %s serves no "
	    "model for \"%.64s\"", b->name, model);
}

long
policy_llm_cred(const struct policy *pol, const char *host, uint16_t port)
{
	struct policy_injection	 pi;
	char			 w[PM_WHY];
	size_t			 i;

	for (i = 0; i < pol->ncreds; i++)
		if (policy_cred_injection(pol, i, host, port, &pi, w,
		    sizeof(w)) == 0)
			return i;
	return -1;
}

const char *
policy_llm_action_name(int action)
{
	if (action < 0 || action > POLICY_LLM_DENY)
		return "?";
	return pm_llm_actions[action];
}
