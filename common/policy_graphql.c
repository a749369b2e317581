/*
 * graphql: request rules (lns-policy.yaml(5)): a GraphQL request's
 * body ({"query": document, "operationName": ..., ...}, or a batch, an
 * array of them) against one rule.  The operation judged is the one
 * the server runs: operationName's, or the document's only one.  Its
 * top-level fields are taken by name after fragments (spreads and
 * inline) are expanded: an alias or a fragment never hides a field.
 *
 * An allow (or ask) rule matches an operation whose type is one of
 * operations:, whose name matches one of operationNames: and whose
 * every top-level field is one of fields:; a deny rule one whose type
 * and name match and that has at least one of fields:.  An empty list
 * matches anything.  A batch: an allow rule must match every element,
 * a deny rule matches when one element does.  What cannot be judged is
 * refused (-1): not an object, no document (a persisted query's hash
 * alone), a document that does not parse, several operations and no
 * operationName, GraphQL parameters in the URL of the request (a
 * server may take those over the body's).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "graphql.h"
#include "policy.h"
#include "policy_int.h"

#define GQL_BATCH_MAX	64	/* elements of a batch */
#define GQL_AUDIT_FIELDS 16	/* field names in the audit */

struct fieldscan {
	const struct graphql_rule *g;
	int		 deny;
	int		 outside;	/* a field not in fields: */
	int		 inside;	/* a field in fields: */
	json_t		*names;		/* for the audit, NULL none */
};

static int
field_listed(const struct graphql_rule *g, const char *name, size_t len)
{
	size_t	 i;

	for (i = 0; i < g->nfields; i++)
		if (pm_glob(g->fields[i], name, len, ""))
			return 1;
	return 0;
}

static int
field_cb(const char *name, size_t len, void *arg)
{
	struct fieldscan *fs = arg;

	if (field_listed(fs->g, name, len))
		fs->inside = 1;
	else
		fs->outside = 1;
	if (fs->names != NULL && json_array_size(fs->names) <
	    GQL_AUDIT_FIELDS)
		json_array_append_new(fs->names, json_stringn(name, len));
	return 0;
}

/* GraphQL parameters in the URL: a server may read them first */
static int
url_params(const char *q)
{
	static const char *const names[] = { "query", "operationName",
	    "variables", "extensions", NULL };
	size_t	 n, i;

	while (q != NULL && *q != '\0') {
		n = strcspn(q, "=&;");
		if (memchr(q, '%', n) != NULL || memchr(q, '+', n) != NULL)
			return 1;
		for (i = 0; names[i] != NULL; i++)
			if (strlen(names[i]) == n &&
			    strncasecmp(q, names[i], n) == 0)
				return 1;
		q += strcspn(q, "&;");
		if (*q != '\0')
			q++;
	}
	return 0;
}

/* one request object: 1, 0, -1 (why); its detail into *det */
static int
one(const struct graphql_rule *g, int deny, const json_t *o, json_t **det,
    char *why, size_t whylen)
{
	struct gql_doc	 doc;
	struct fieldscan fs;
	const json_t	*q, *on, *ext;
	const char	*name = NULL, *nm;
	char		 w[200];
	size_t		 i, nlen;
	int		 op, rv, ok;

	*det = NULL;
	if (!json_is_object(o)) {
		snprintf(why, whylen, "graphql: request is not a JSON object");
		return -1;
	}
	q = json_object_get(o, "query");
	if (q == NULL || json_is_null(q)) {
		ext = json_object_get(o, "extensions");
		snprintf(why, whylen, "graphql: %s",
		    json_is_object(ext) && json_object_get(ext,
		    "persistedQuery") != NULL ? "persisted query without "
		    "its document" : "no query document");
		return -1;
	}
	if (!json_is_string(q)) {
		snprintf(why, whylen, "graphql: query is not a string");
		return -1;
	}
	on = json_object_get(o, "operationName");
	if (on != NULL && !json_is_null(on)) {
		if (!json_is_string(on)) {
			snprintf(why, whylen, "graphql: operationName is not "
			    "a string");
			return -1;
		}
		name = json_string_value(on);
	}
	if (gql_parse(json_string_value(q), json_string_length(q), &doc, w,
	    sizeof(w)) == -1 ||
	    (op = gql_operation(&doc, name, w, sizeof(w))) == -1) {
		gql_free(&doc);
		snprintf(why, whylen, "graphql: %s", w);
		return -1;
	}
	memset(&fs, 0, sizeof(fs));
	fs.g = g;
	fs.deny = deny;
	fs.names = json_array();
	if (gql_fields(&doc, op, field_cb, &fs, w, sizeof(w)) != 0) {
		json_decref(fs.names);
		gql_free(&doc);
		snprintf(why, whylen, "graphql: %s", w);
		return -1;
	}
	nm = doc.src + doc.defs[op].off;
	nlen = doc.defs[op].len;
	ok = g->ops == 0 || (g->ops & doc.defs[op].op) != 0;
	if (ok && g->nnames > 0) {
		for (i = 0; i < g->nnames; i++)
			if (pm_glob(g->names[i], nm, nlen, ""))
				break;
		ok = i < g->nnames;
	}
	if (ok && g->nfields > 0)
		ok = deny ? fs.inside : !fs.outside;
	rv = ok;
	*det = json_pack("{s:s,s:s%,s:o}", "op",
	    gql_opname(doc.defs[op].op), "name", nm, nlen, "fields",
	    fs.names != NULL ? fs.names : json_null());
	gql_free(&doc);
	return rv;
}

static void
audit_set(char *audit, size_t auditlen, json_t *det)
{
	json_t	*o;
	char	*s;

	if (auditlen == 0)
		return;
	audit[0] = '\0';
	if (det == NULL)
		return;
	o = json_pack("{s:O}", "graphql", det);
	s = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	if (s != NULL && strlen(s) < auditlen)
		strlcpy(audit, s, auditlen);
	else if (s != NULL)
		snprintf(audit, auditlen, "{\"graphql\":{\"cut\":true}}");
	free(s);
	json_decref(o);
}

int
pm_graphql_match(const struct graphql_rule *g, int deny, const json_t *body,
    const char *urlquery, char *audit, size_t auditlen, char *why,
    size_t whylen)
{
	json_t	*det, *all;
	size_t	 i, n;
	int	 rv, any = 0, every = 1;

	if (auditlen > 0)
		audit[0] = '\0';
	if (url_params(urlquery)) {
		snprintf(why, whylen, "graphql: GraphQL parameters in the URL");
		return -1;
	}
	if (!json_is_array(body)) {
		rv = one(g, deny, body, &det, why, whylen);
		audit_set(audit, auditlen, det);
		json_decref(det);
		return rv;
	}
	if ((n = json_array_size(body)) == 0 || n > GQL_BATCH_MAX) {
		snprintf(why, whylen, "graphql: batch of %zu requests (1 to "
		    "%d)", n, GQL_BATCH_MAX);
		return -1;
	}
	all = json_array();
	for (i = 0; i < n; i++) {
		if ((rv = one(g, deny, json_array_get(body, i), &det, why,
		    whylen)) == -1) {
			json_decref(all);
			json_decref(det);
			return -1;
		}
		any |= rv;
		every &= rv;
		if (all != NULL && det != NULL)
			json_array_append(all, det);
		json_decref(det);
	}
	det = json_pack("{s:o}", "batch", all != NULL ? all : json_null());
	audit_set(audit, auditlen, det);
	json_decref(det);
	return deny ? any : every;
}

void
pm_graphql_free(struct graphql_rule *g)
{
	size_t	 i;

	if (g == NULL)
		return;
	for (i = 0; i < g->nnames; i++)
		free(g->names[i]);
	for (i = 0; i < g->nfields; i++)
		free(g->fields[i]);
	free(g->names);
	free(g->fields);
	free(g);
}
