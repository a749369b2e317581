/*
 * Loading lns-policy.yaml(5) into the policy model (policy_int.h).
 *
 * policy_parse() validates the bytes (size, UTF-8), builds a small
 * document tree from libyaml's events (refusing anchors, aliases, tags,
 * several documents, deep nesting), then walks the tree against the
 * vocabulary, strictly: unknown keys, duplicate keys, wrong types and
 * bad values are errors naming file, line, column, field and value.
 * Plain scalars are typed as YAML 1.1 (and PyYAML) type them, so that
 * "on", "8080:30" or "1e3" are not taken for the string the writer may
 * have meant; the JSON Schema (etc/lns-policy.schema.json) sees the same
 * types.  The values themselves are checked by the model's builders
 * (policy_model.c), which the binary model's decoder shares.
 *
 * Only unprivileged processes call this (lensctl, lensvmm's policy
 * child): no root process parses YAML (doc/DESIGN.md, Processes).
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "grammar.h"
#include "policy.h"
#include "policy_int.h"

#define MAXDEPTH	32		/* nesting of collections */

/* ---- errors ---- */

#define seterr	pm_seterr

struct ynode;

struct pctx {
	struct policy_error	*err;
	const char		*name;
};

/* ---- the document tree ---- */

enum ytype { Y_SCALAR, Y_SEQ, Y_MAP };

struct ynode {
	enum ytype	 type;
	unsigned int	 line, col;		/* 1-based */
	char		*str;			/* scalar, NUL-terminated */
	size_t		 len;
	int		 plain;
	struct ynode	**kids;			/* map: key, value, ... */
	size_t		 nkids;
	struct ynode	*parent;
};

static void
ynode_free(struct ynode *n)
{
	size_t	 i;

	if (n == NULL)
		return;
	for (i = 0; i < n->nkids; i++)
		ynode_free(n->kids[i]);
	free(n->kids);
	free(n->str);
	free(n);
}

static int
ynode_add(struct ynode *p, struct ynode *k)
{
	struct ynode	**nk;

	if ((p->nkids & (p->nkids - 1)) == 0) {	/* 0, 1, 2, 4, ... */
		nk = reallocarray(p->kids, p->nkids == 0 ? 4 : p->nkids * 2,
		    sizeof(*nk));
		if (nk == NULL)
			return -1;
		p->kids = nk;
	}
	p->kids[p->nkids++] = k;
	k->parent = p;
	return 0;
}

/* line and column (1-based, in characters) of byte offset off */
static void
offset_pos(const unsigned char *buf, size_t len, size_t off,
    unsigned int *line, unsigned int *col)
{
	size_t	 i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if ((buf[i] & 0xc0) != 0x80)
			(*col)++;
	}
}

static const char *
event_name(yaml_event_type_t t)
{
	switch (t) {
	case YAML_SEQUENCE_START_EVENT:
		return "sequence";
	case YAML_MAPPING_START_EVENT:
		return "mapping";
	default:
		return "scalar";
	}
}

/*
 * The single document of buf as a tree, or NULL with the error set.
 * *empty is set when the stream holds no document at all.
 */
static struct ynode *
yload(struct pctx *c, const unsigned char *buf, size_t len, int *empty)
{
	yaml_parser_t	 parser;
	yaml_event_t	 ev;
	struct ynode	*root = NULL, *cur = NULL, *n;
	unsigned int	 depth = 0, line, col;
	int		 done = 0, ndocs = 0, ok = 0;

	*empty = 0;
	if (!yaml_parser_initialize(&parser)) {
		seterr(c->err, c->name, 0, 0, "out of memory");
		return NULL;
	}
	yaml_parser_set_input_string(&parser, buf, len);
	yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			if (parser.error == YAML_READER_ERROR)
				offset_pos(buf, len, parser.problem_offset,
				    &line, &col);
			else {
				line = parser.problem_mark.line + 1;
				col = parser.problem_mark.column + 1;
			}
			if (parser.context != NULL &&
			    parser.error != YAML_READER_ERROR)
				seterr(c->err, c->name, line, col,
				    "YAML syntax error: %s %s started at "
				    "%zu:%zu", parser.problem ? parser.problem :
				    "unknown", parser.context,
				    parser.context_mark.line + 1,
				    parser.context_mark.column + 1);
			else
				seterr(c->err, c->name, line, col,
				    "YAML syntax error: %s", parser.problem ?
				    parser.problem : "unknown");
			goto out;
		}
		line = ev.start_mark.line + 1;
		col = ev.start_mark.column + 1;
		switch (ev.type) {
		case YAML_STREAM_START_EVENT:
			break;
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++ndocs > 1) {
				seterr(c->err, c->name, line, col,
				    "only one YAML document is allowed");
				goto bad;
			}
			if (ev.data.document_start.tag_directives.start !=
			    ev.data.document_start.tag_directives.end) {
				seterr(c->err, c->name, line, col,
				    "%%TAG directives are not allowed");
				goto bad;
			}
			break;
		case YAML_DOCUMENT_END_EVENT:
			break;
		case YAML_ALIAS_EVENT:
			seterr(c->err, c->name, line, col,
			    "aliases (*%s) are not allowed",
			    (char *)ev.data.alias.anchor);
			goto bad;
		case YAML_SCALAR_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
		{
			yaml_char_t	*anchor, *tag;

			if (ev.type == YAML_SCALAR_EVENT) {
				anchor = ev.data.scalar.anchor;
				tag = ev.data.scalar.tag;
			} else if (ev.type == YAML_SEQUENCE_START_EVENT) {
				anchor = ev.data.sequence_start.anchor;
				tag = ev.data.sequence_start.tag;
			} else {
				anchor = ev.data.mapping_start.anchor;
				tag = ev.data.mapping_start.tag;
			}
			if (anchor != NULL) {
				seterr(c->err, c->name, line, col,
				    "anchors (&%s) are not allowed",
				    (char *)anchor);
				goto bad;
			}
			if (tag != NULL) {
				seterr(c->err, c->name, line, col,
				    "tags (%s) are not allowed", (char *)tag);
				goto bad;
			}
			if ((n = calloc(1, sizeof(*n))) == NULL)
				goto nomem;
			n->line = line;
			n->col = col;
			if (ev.type == YAML_SCALAR_EVENT) {
				n->type = Y_SCALAR;
				n->len = ev.data.scalar.length;
				if ((n->str = malloc(n->len + 1)) == NULL) {
					free(n);
					goto nomem;
				}
				memcpy(n->str, ev.data.scalar.value, n->len);
				n->str[n->len] = '\0';
				n->plain = ev.data.scalar.style ==
				    YAML_PLAIN_SCALAR_STYLE;
			} else {
				n->type = ev.type == YAML_SEQUENCE_START_EVENT ?
				    Y_SEQ : Y_MAP;
				if (depth >= MAXDEPTH) {
					free(n);
					seterr(c->err, c->name, line, col,
					    "%s nested deeper than %d levels",
					    event_name(ev.type), MAXDEPTH);
					goto bad;
				}
			}
			if (cur == NULL) {
				if (root != NULL) {	/* cannot happen */
					ynode_free(n);
					seterr(c->err, c->name, line, col,
					    "more than one root node");
					goto bad;
				}
				root = n;
			} else if (ynode_add(cur, n) == -1) {
				ynode_free(n);
				goto nomem;
			}
			if (n->type != Y_SCALAR) {
				cur = n;
				depth++;
			}
			break;
		}
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (cur == NULL) {
				seterr(c->err, c->name, line, col,
				    "unbalanced collection end");
				goto bad;
			}
			cur = cur->parent;
			depth--;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	if (root == NULL)
		*empty = 1;
	ok = 1;
	goto out;
 nomem:
	seterr(c->err, c->name, 0, 0, "out of memory");
 bad:
	yaml_event_delete(&ev);
 out:
	yaml_parser_delete(&parser);
	if (!ok) {
		ynode_free(root);
		return NULL;
	}
	return root;
}

/* ---- scalar types (YAML 1.1, as PyYAML resolves plain scalars) ---- */

enum stype { S_STR, S_NULL, S_BOOL, S_INT, S_FLOAT, S_TIME };

static const char *const stype_re[] = {
	[S_BOOL] = "^(yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|"
	    "on|On|ON|off|Off|OFF)$",
	[S_INT] = "^([-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(0|[1-9][0-9_]*)|"
	    "[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+)$",
	[S_FLOAT] = "^([-+]?([0-9][0-9_]*)\\.[0-9_]*([eE][-+][0-9]+)?|"
	    "\\.[0-9_]+([eE][-+][0-9]+)?|"
	    "[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\\.[0-9_]*|"
	    "[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN))$",
	[S_TIME] = "^([0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|"
	    "[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?"
	    "([Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](\\.[0-9]*)?"
	    "([ \t]*(Z|[-+][0-9][0-9]?(:[0-9][0-9])?))?)$",
};

/* compiled on first use and kept: not for several threads at once */
static int
stype_match(enum stype t, const char *s)
{
	static regex_t	 re[S_TIME + 1];
	static int	 compiled[S_TIME + 1];

	if (!compiled[t]) {
		if (regcomp(&re[t], stype_re[t], REG_EXTENDED | REG_NOSUB))
			abort();
		compiled[t] = 1;
	}
	return regexec(&re[t], s, 0, NULL, 0) == 0;
}

static enum stype
stype(const struct ynode *n)
{
	const char	*s = n->str;

	if (!n->plain)
		return S_STR;
	if (n->len == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
	    strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0)
		return S_NULL;
	if (strlen(s) != n->len)
		return S_STR;
	if (stype_match(S_BOOL, s))
		return S_BOOL;
	if (stype_match(S_INT, s))
		return S_INT;
	if (stype_match(S_FLOAT, s))
		return S_FLOAT;
	if (stype_match(S_TIME, s))
		return S_TIME;
	return S_STR;
}

static const char *
kind(const struct ynode *n)
{
	if (n->type == Y_MAP)
		return "a mapping";
	if (n->type == Y_SEQ)
		return "a sequence";
	switch (stype(n)) {
	case S_NULL:
		return "null";
	case S_BOOL:
		return "a boolean";
	case S_INT:
		return "an integer";
	case S_FLOAT:
		return "a float";
	case S_TIME:
		return "a timestamp";
	default:
		return "a string";
	}
}

/* ---- walking the tree ---- */

static const char *
qv(const struct ynode *n, char *buf, size_t size)
{
	if (n->type != Y_SCALAR) {
		snprintf(buf, size, "%s", kind(n));
		return buf;
	}
	return pm_quote(n->str, n->len, buf, size);
}

static int
perr(struct pctx *c, const struct ynode *n, const char *path,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
perr(struct pctx *c, const struct ynode *n, const char *path,
    const char *fmt, ...)
{
	char	 msg[sizeof(c->err->msg)];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	seterr(c->err, c->name, n ? n->line : 0, n ? n->col : 0, "%s%s%s",
	    path, *path ? ": " : "", msg);
	return -1;
}

/* a message of grammar.c, which names the field and value itself */
static int
gperr(struct pctx *c, const struct ynode *n, const char *msg)
{
	seterr(c->err, c->name, n->line, n->col, "%s", msg);
	return -1;
}

static int
want(struct pctx *c, const struct ynode *n, const char *path, enum ytype t)
{
	static const char *const names[] = { "a string", "a sequence",
	    "a mapping" };

	if (n->type == t && (t != Y_SCALAR || stype(n) == S_STR))
		return 0;
	if (n->type == Y_SCALAR && stype(n) != S_NULL) {
		char	 v[128];

		return perr(c, n, path, "expected %s, got %s %s", names[t],
		    kind(n), qv(n, v, sizeof(v)));
	}
	return perr(c, n, path, "expected %s, got %s", names[t], kind(n));
}

/* a string without NUL of at most max bytes */
static int
get_str(struct pctx *c, const struct ynode *n, const char *path,
    size_t max, const char **out)
{
	char	 v[128];

	if (want(c, n, path, Y_SCALAR) == -1)
		return -1;
	if (strlen(n->str) != n->len)
		return perr(c, n, path, "%s contains a NUL byte",
		    qv(n, v, sizeof(v)));
	if (n->len == 0)
		return perr(c, n, path, "must not be empty");
	if (n->len > max)
		return perr(c, n, path, "%s is longer than %zu bytes",
		    qv(n, v, sizeof(v)), max);
	*out = n->str;
	return 0;
}

static int
get_enum(struct pctx *c, const struct ynode *n, const char *path,
    const char *const names[], int *out)
{
	char		 v[128], list[128] = "";
	const char	*s;
	int		 i;

	if (want(c, n, path, Y_SCALAR) == -1)
		return -1;
	s = n->str;
	for (i = 0; names[i] != NULL; i++) {
		if (strlen(s) == n->len && strcmp(s, names[i]) == 0) {
			*out = i;
			return 0;
		}
		if (i > 0)
			strlcat(list, ", ", sizeof(list));
		strlcat(list, names[i], sizeof(list));
	}
	return perr(c, n, path, "%s is not one of %s", qv(n, v, sizeof(v)),
	    list);
}

static int
get_verdict(struct pctx *c, const struct ynode *n, const char *path,
    enum verdict *out)
{
	static const char *const order[] = { "allow", "deny", "ask", NULL };
	static const enum verdict map[] = { VERDICT_ALLOW, VERDICT_DENY,
	    VERDICT_ASK };
	int	 i;

	if (get_enum(c, n, path, order, &i) == -1)
		return -1;
	*out = map[i];
	return 0;
}

static int
get_bool(struct pctx *c, const struct ynode *n, const char *path, int *out)
{
	char		 v[128];
	const char	*s = n->str;

	if (n->type == Y_SCALAR && n->plain) {
		if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 ||
		    strcmp(s, "TRUE") == 0) {
			*out = 1;
			return 0;
		}
		if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 ||
		    strcmp(s, "FALSE") == 0) {
			*out = 0;
			return 0;
		}
		if (stype(n) == S_BOOL)
			return perr(c, n, path, "%s: write true or false",
			    qv(n, v, sizeof(v)));
	}
	if (n->type == Y_SCALAR && stype(n) != S_NULL)
		return perr(c, n, path, "expected true or false, got %s %s",
		    kind(n), qv(n, v, sizeof(v)));
	return perr(c, n, path, "expected true or false, got %s", kind(n));
}

/*
 * An unsigned decimal integer written as a plain scalar (no sign,
 * underscores, base prefixes or leading zeros), in 1..max.
 */
static int
get_uint(struct pctx *c, const struct ynode *n, const char *path,
    unsigned long long min, unsigned long long max, unsigned long long *out)
{
	char			 v[128];
	const char		*s = n->str;
	unsigned long long	 x = 0;
	size_t			 i;
	int			 over = 0;

	if (n->type != Y_SCALAR || !n->plain ||
	    (stype(n) != S_INT && stype(n) != S_FLOAT)) {
		if (n->type == Y_SCALAR && stype(n) != S_NULL)
			return perr(c, n, path, "expected an integer, got %s "
			    "%s", kind(n), qv(n, v, sizeof(v)));
		return perr(c, n, path, "expected an integer, got %s",
		    kind(n));
	}
	i = (s[0] == '-') ? 1 : 0;
	if (s[i] == '\0' || (s[i] == '0' && s[i + 1] != '\0'))
		goto bad;
	for (; s[i] != '\0'; i++) {
		if (!isdigit((unsigned char)s[i]))
			goto bad;
		if (x > (ULLONG_MAX - 9) / 10)
			over = 1;
		else
			x = x * 10 + (s[i] - '0');
	}
	if (s[0] == '-' || over || x < min || x > max)
		return perr(c, n, path, "%s is out of range (%llu to %llu)",
		    s, min, max);
	*out = x;
	return 0;
 bad:
	return perr(c, n, path, "%s is not a decimal integer", s);
}

/*
 * The keys of mapping n: each a string, none twice, all in allowed.
 */
static int
check_keys(struct pctx *c, const struct ynode *n, const char *path,
    const char *const allowed[])
{
	char			 v[128], list[160] = "";
	const struct ynode	*k;
	size_t			 i, j;
	int			 a;

	for (i = 0; i < n->nkids; i += 2) {
		k = n->kids[i];
		if (k->type != Y_SCALAR)
			return perr(c, k, path, "a key must be a string, not "
			    "%s", kind(k));
		for (a = 0; allowed[a] != NULL; a++)
			if (strlen(k->str) == k->len &&
			    strcmp(k->str, allowed[a]) == 0)
				break;
		if (allowed[a] == NULL) {
			for (a = 0; allowed[a] != NULL; a++) {
				if (a > 0)
					strlcat(list, ", ", sizeof(list));
				strlcat(list, allowed[a], sizeof(list));
			}
			return perr(c, k, path, "unknown key %s (expected %s)",
			    qv(k, v, sizeof(v)), list);
		}
		for (j = 0; j < i; j += 2)
			if (n->kids[j]->len == k->len &&
			    memcmp(n->kids[j]->str, k->str, k->len) == 0)
				return perr(c, k, path, "duplicate key %s "
				    "(first on line %u)", qv(k, v, sizeof(v)),
				    n->kids[j]->line);
	}
	return 0;
}

static const struct ynode *
mget(const struct ynode *n, const char *key)
{
	size_t	 i;

	for (i = 0; i < n->nkids; i += 2)
		if (strcmp(n->kids[i]->str, key) == 0)
			return n->kids[i + 1];
	return NULL;
}

static int
require(struct pctx *c, const struct ynode *n, const char *path,
    const char *key, const struct ynode **out)
{
	if ((*out = mget(n, key)) == NULL)
		return perr(c, n, path, "missing key \"%s\"", key);
	return 0;
}

/* ---- the sections ---- */

/* a field path ("network.egress.http[1].verdict") into buf */
static void
pathf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
pathf(char *buf, size_t size, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

static char *
xstrdup(struct pctx *c, const char *s)
{
	char	*d;

	if ((d = strdup(s)) == NULL)
		seterr(c->err, c->name, 0, 0, "out of memory");
	return d;
}

/* a builder's refusal of the value of n */
static int
berr(struct pctx *c, const struct ynode *n, const char *path, const char *why)
{
	char	 q[128];

	return perr(c, n, path, "%s%s", qv(n, q, sizeof(q)), why);
}

/* at most POLICY_MAXITEMS entries in the sequence n */
static int
want_seq(struct pctx *c, const struct ynode *n, const char *path)
{
	if (want(c, n, path, Y_SEQ) == -1)
		return -1;
	if (n->nkids > POLICY_MAXITEMS)
		return perr(c, n, path, "more than %d entries",
		    POLICY_MAXITEMS);
	return 0;
}

/* a glob of an mcp: entry (method, tool, uri, an argument's) */
static int
parse_mcp_glob(struct pctx *c, const struct ynode *v, const char *p,
    char **out)
{
	const char	*s;
	char		 why[PM_WHY];

	if (get_str(c, v, p, PM_MCP_GLOB, &s) == -1)
		return -1;
	if (pm_mcp_glob(s, why, sizeof(why)) == -1)
		return berr(c, v, p, why);
	return (*out = xstrdup(c, s)) == NULL ? -1 : 0;
}

static int
parse_mcp_entry(struct pctx *c, const struct ynode *n, const char *path,
    struct mcp_entry *e)
{
	static const char *const keys[] = { "method", "tool", "uri",
	    "arguments", NULL };
	static const char *const akeys[] = { "pointer", "glob", NULL };
	const struct ynode	*v, *a, *pv;
	const char		*s;
	char			 p[192], pp[192], why[PM_WHY];
	size_t			 i;

	if (want(c, n, path, Y_MAP) == -1 || check_keys(c, n, path, keys))
		return -1;
	pathf(p, sizeof(p), "%s.method", path);
	if (require(c, n, path, "method", &v) == -1 ||
	    parse_mcp_glob(c, v, p, &e->method) == -1)
		return -1;
	pathf(p, sizeof(p), "%s.tool", path);
	if ((v = mget(n, "tool")) != NULL &&
	    parse_mcp_glob(c, v, p, &e->tool) == -1)
		return -1;
	pathf(p, sizeof(p), "%s.uri", path);
	if ((v = mget(n, "uri")) != NULL &&
	    parse_mcp_glob(c, v, p, &e->uri) == -1)
		return -1;
	pathf(p, sizeof(p), "%s.arguments", path);
	if ((v = mget(n, "arguments")) == NULL)
		return 0;
	if (want_seq(c, v, p) == -1)
		return -1;
	if (v->nkids == 0)
		return perr(c, v, p, "needs at least one condition (leave "
		    "arguments out for any)");
	if ((e->args = calloc(v->nkids, sizeof(*e->args))) == NULL)
		return perr(c, NULL, "", "out of memory");
	for (i = 0; i < v->nkids; i++) {
		a = v->kids[i];
		pathf(p, sizeof(p), "%s.arguments[%zu]", path, i);
		e->nargs++;
		if (want(c, a, p, Y_MAP) == -1 || check_keys(c, a, p, akeys))
			return -1;
		pathf(pp, sizeof(pp), "%s.pointer", p);
		if (require(c, a, p, "pointer", &pv) == -1 ||
		    get_str(c, pv, pp, PM_MCP_POINTER, &s) == -1)
			return -1;
		if (pm_mcp_pointer(s, why, sizeof(why)) == -1)
			return berr(c, pv, pp, why);
		if ((e->args[i].pointer = xstrdup(c, s)) == NULL)
			return -1;
		pathf(pp, sizeof(pp), "%s.glob", p);
		if (require(c, a, p, "glob", &pv) == -1 ||
		    parse_mcp_glob(c, pv, pp, &e->args[i].glob) == -1)
			return -1;
	}
	return 0;
}

/* a list of GraphQL names or globs, none twice */
static int
parse_gql_list(struct pctx *c, const struct ynode *n, const char *path,
    int (*check)(const char *, char *, size_t), char ***out, size_t *nout)
{
	const struct ynode	*e;
	const char		*s;
	char			 p[224], why[PM_WHY];
	size_t			 i, j;

	if (want_seq(c, n, path) == -1)
		return -1;
	if (n->nkids == 0)
		return perr(c, n, path, "must not be empty (leave it out "
		    "for any)");
	if (n->nkids > PM_GQL_MAXLIST)
		return perr(c, n, path, "more than %d entries",
		    PM_GQL_MAXLIST);
	if ((*out = calloc(n->nkids, sizeof(**out))) == NULL) {
		seterr(c->err, c->name, 0, 0, "out of memory");
		return -1;
	}
	for (i = 0; i < n->nkids; i++) {
		e = n->kids[i];
		pathf(p, sizeof(p), "%s[%zu]", path, i);
		if (get_str(c, e, p, PM_GQL_NAME, &s) == -1)
			return -1;
		if (check(s, why, sizeof(why)) == -1)
			return berr(c, e, p, why);
		for (j = 0; j < i; j++)
			if (strcmp((*out)[j], s) == 0)
				return perr(c, e, p, "%s given twice", s);
		if (((*out)[i] = xstrdup(c, s)) == NULL)
			return -1;
		*nout = i + 1;
	}
	return 0;
}

/* mcp: a list of entries, each covering requests by itself */
static int
parse_mcp(struct pctx *c, const struct ynode *v, const char *path,
    struct http_sub *sub)
{
	char	 p[192];
	size_t	 i;

	if (want_seq(c, v, path) == -1)
		return -1;
	if (v->nkids == 0)
		return perr(c, v, path, "needs at least one entry");
	if ((sub->mcp = calloc(1, sizeof(*sub->mcp))) == NULL ||
	    (sub->mcp->e = calloc(v->nkids, sizeof(*sub->mcp->e))) == NULL)
		return perr(c, NULL, "", "out of memory");
	for (i = 0; i < v->nkids; i++) {
		pathf(p, sizeof(p), "%s[%zu]", path, i);
		sub->mcp->n++;
		if (parse_mcp_entry(c, v->kids[i], p, &sub->mcp->e[i]) == -1)
			return -1;
	}
	return 0;
}

/* graphql: under a request rule */
static int
parse_graphql(struct pctx *c, const struct ynode *n, const char *path,
    struct http_sub *sub)
{
	static const char *const keys[] = { "operations", "operationNames",
	    "fields", NULL };
	struct graphql_rule	*g;
	const struct ynode	*v;
	char			 p[200];
	size_t			 i;
	int			 op;

	if (n->type == Y_SCALAR && n->len == 0)
		return perr(c, n, path, "must not be empty (say operations:, "
		    "operationNames: or fields:)");
	if (want(c, n, path, Y_MAP) == -1 || check_keys(c, n, path, keys))
		return -1;
	if ((g = sub->graphql = calloc(1, sizeof(*g))) == NULL) {
		seterr(c->err, c->name, 0, 0, "out of memory");
		return -1;
	}
	if (n->nkids == 0)
		return perr(c, n, path, "must not be empty (say operations:, "
		    "operationNames: or fields:)");
	pathf(p, sizeof(p), "%s.operations", path);
	if ((v = mget(n, "operations")) != NULL) {
		if (want_seq(c, v, p) == -1)
			return -1;
		if (v->nkids == 0)
			return perr(c, v, p, "must not be empty (leave it "
			    "out for any)");
		for (i = 0; i < v->nkids; i++) {
			char pp[224];

			pathf(pp, sizeof(pp), "%s[%zu]", p, i);
			if (get_enum(c, v->kids[i], pp, pm_gql_ops, &op) == -1)
				return -1;
			if (g->ops & (1U << op))
				return perr(c, v->kids[i], pp, "%s given "
				    "twice", pm_gql_ops[op]);
			g->ops |= 1U << op;
		}
	}
	pathf(p, sizeof(p), "%s.operationNames", path);
	if ((v = mget(n, "operationNames")) != NULL &&
	    parse_gql_list(c, v, p, pm_gql_name, &g->names, &g->nnames) == -1)
		return -1;
	pathf(p, sizeof(p), "%s.fields", path);
	if ((v = mget(n, "fields")) != NULL &&
	    parse_gql_list(c, v, p, pm_gql_field, &g->fields, &g->nfields) ==
	    -1)
		return -1;
	return 0;
}

static int
parse_http_sub(struct pctx *c, const struct ynode *n, const char *path,
    struct http_sub *sub)
{
	static const char *const keys[] = { "method", "path", "query",
	    "websocket", "mcp", "verdict", "graphql", NULL };
	const struct ynode	*v;
	const char		*s;
	char			 p[192], why[PM_WHY];
	int			 m;

	if (want(c, n, path, Y_MAP) == -1 || check_keys(c, n, path, keys))
		return -1;
	pathf(p, sizeof(p), "%s.method", path);
	if (require(c, n, path, "method", &v) == -1 ||
	    get_enum(c, v, p, pm_methods, &m) == -1)
		return -1;
	pathf(p, sizeof(p), "%s.path", path);
	if (require(c, n, path, "path", &v) == -1 ||
	    get_str(c, v, p, PM_SUB_PATH, &s) == -1)
		return -1;
	if (pm_sub_path(s, why, sizeof(why)) == -1)
		return berr(c, v, p, why);
	if ((sub->path = xstrdup(c, s)) == NULL ||
	    (sub->method = xstrdup(c, pm_methods[m])) == NULL)
		return -1;
	pathf(p, sizeof(p), "%s.query", path);
	if ((v = mget(n, "query")) != NULL) {
		/* "" is a query pattern: no query at all */
		if (want(c, v, p, Y_SCALAR) == -1)
			return -1;
		if (v->len > 0 && get_str(c, v, p, PM_SUB_QUERY, &s) == -1)
			return -1;
		if (pm_sub_query(v->str, why, sizeof(why)) == -1)
			return berr(c, v, p, why);
		if ((sub->query = xstrdup(c, v->str)) == NULL)
			return -1;
	}
	pathf(p, sizeof(p), "%s.websocket", path);
	if ((v = mget(n, "websocket")) != NULL &&
	    get_bool(c, v, p, &sub->websocket) == -1)
		return -1;
	pathf(p, sizeof(p), "%s.mcp", path);
	if ((v = mget(n, "mcp")) != NULL) {
		if (pm_mcp_method(sub->method, why, sizeof(why)) == -1)
			return perr(c, v, p, "%s", why);
		if (parse_mcp(c, v, p, sub) == -1)
			return -1;
	}
	pathf(p, sizeof(p), "%s.verdict", path);
	if (require(c, n, path, "verdict", &v) == -1 ||
	    get_verdict(c, v, p, &sub->verdict) == -1)
		return -1;
	pathf(p, sizeof(p), "%s.graphql", path);
	if ((v = mget(n, "graphql")) != NULL) {
		if (parse_graphql(c, v, p, sub) == -1)
			return -1;
		if (pm_gql_check(sub, why, sizeof(why)) == -1)
			return perr(c, v, p, "%s", why);
	}
	if (sub->graphql != NULL && sub->mcp != NULL)
		return perr(c, n, path, "graphql: and mcp: cannot both judge "
		    "one request rule");
	return 0;
}

/* "host", "*.suffix", with optional ":port" (http rules, credentials) */
static int
parse_hostport(struct pctx *c, const struct ynode *v, const char *p,
    struct hostpat *hp, uint16_t *port)
{
	const char	*s;
	char		 why[PM_WHY];

	if (get_str(c, v, p, PM_HTTP_MATCH, &s) == -1)
		return -1;
	if (pm_hostport(s, hp, port, why, sizeof(why)) == -1)
		return berr(c, v, p, why);
	return 0;
}

static int
parse_http_rule(struct pctx *c, const struct ynode *n, const char *path,
    struct http_rule *r)
{
	static const char *const keys[] = { "match", "verdict",
	    "tlsTerminate", "caFile", "rules", NULL };
	const struct ynode	*v;
	const char		*s;
	char			 p[192], why[PM_WHY];
	size_t			 i;

	if (want(c, n, path, Y_MAP) == -1 || check_keys(c, n, path, keys))
		return -1;
	pathf(p, sizeof(p), "%s.match", path);
	if (require(c, n, path, "match", &v) == -1 ||
	    parse_hostport(c, v, p, &r->host, &r->port) == -1)
		return -1;
	if ((r->match = xstrdup(c, v->str)) == NULL)
		return -1;
	pathf(p, sizeof(p), "%s.verdict", path);
	if (require(c, n, path, "verdict", &v) == -1 ||
	    get_verdict(c, v, p, &r->verdict) == -1)
		return -1;
	pathf(p, sizeof(p), "%s.tlsTerminate", path);
	if ((v = mget(n, "tlsTerminate")) != NULL &&
	    get_bool(c, v, p, &r->tls) == -1)
		return -1;
	pathf(p, sizeof(p), "%s.caFile", path);
	if ((v = mget(n, "caFile")) != NULL) {
		if (get_str(c, v, p, PM_CAFILE, &s) == -1)
			return -1;
		if (pm_cafile(s, why, sizeof(why)) == -1)
			return berr(c, v, p, why);
		if ((r->cafile = xstrdup(c, s)) == NULL)
			return -1;
	}
	pathf(p, sizeof(p), "%s.rules", path);
	if ((v = mget(n, "rules")) != NULL) {
		if (want_seq(c, v, p) == -1)
			return -1;
		if (v->nkids > 0 && (r->subs = calloc(v->nkids,
		    sizeof(*r->subs))) == NULL)
			return perr(c, NULL, "", "out of memory");
		for (i = 0; i < v->nkids; i++) {
			pathf(p, sizeof(p), "%s.rules[%zu]", path, i);
			r->nsubs++;
			if (parse_http_sub(c, v->kids[i], p, &r->subs[i]) == -1)
				return -1;
		}
	}
	return 0;
}

/* "host:port", "*.suffix:port", "CIDR:port", "[v6CIDR]:port" */
static int
parse_net_rule(struct pctx *c, const struct ynode *n, const char *path,
    struct net_rule *r)
{
	static const char *const keys[] = { "match", "verdict", NULL };
	const struct ynode	*v;
	const char		*s;
	char			 p[192], why[PM_WHY];

	if (want(c, n, path, Y_MAP) == -1 || check_keys(c, n, path, keys))
		return -1;
	pathf(p, sizeof(p), "%s.match", path);
	if (require(c, n, path, "match", &v) == -1 ||
	    get_str(c, v, p, PM_NET_MATCH, &s) == -1)
		return -1;
	if ((r->match = xstrdup(c, s)) == NULL)
		return -1;
	if (pm_net_match(s, r, why, sizeof(why)) == -1)
		return berr(c, v, p, why);
	pathf(p, sizeof(p), "%s.verdict", path);
	if (require(c, n, path, "verdict", &v) == -1 ||
	    get_verdict(c, v, p, &r->verdict) == -1)
		return -1;
	return 0;
}

static int
parse_net_rules(struct pctx *c, const struct ynode *n, const char *path,
    struct net_rule **out, size_t *nout)
{
	char	 p[192];
	size_t	 i;

	if (want_seq(c, n, path) == -1)
		return -1;
	if (n->nkids > 0 && (*out = calloc(n->nkids, sizeof(**out))) == NULL)
		return perr(c, NULL, "", "out of memory");
	for (i = 0; i < n->nkids; i++) {
		pathf(p, sizeof(p), "%s[%zu]", path, i);
		(*nout)++;
		if (parse_net_rule(c, n->kids[i], p, &(*out)[i]) == -1)
			return -1;
	}
	return 0;
}

static int
parse_egress(struct pctx *c, struct policy *pol, const struct ynode *n)
{
	static const char *const keys[] = { "http", "tcp", "udp", NULL };
	const struct ynode	*v;
	char			 p[192];
	size_t			 i;

	if (want(c, n, "network.egress", Y_MAP) == -1 ||
	    check_keys(c, n, "network.egress", keys) == -1)
		return -1;
	if ((v = mget(n, "http")) != NULL) {
		if (want_seq(c, v, "network.egress.http") == -1)
			return -1;
		if (v->nkids > 0 && (pol->http = calloc(v->nkids,
		    sizeof(*pol->http))) == NULL)
			return perr(c, NULL, "", "out of memory");
		for (i = 0; i < v->nkids; i++) {
			pathf(p, sizeof(p), "network.egress.http[%zu]", i);
			pol->nhttp++;
			if (parse_http_rule(c, v->kids[i], p,
			    &pol->http[i]) == -1)
				return -1;
		}
	}
	if ((v = mget(n, "tcp")) != NULL &&
	    parse_net_rules(c, v, "network.egress.tcp", &pol->tcp,
	    &pol->ntcp) == -1)
		return -1;
	if ((v = mget(n, "udp")) != NULL &&
	    parse_net_rules(c, v, "network.egress.udp", &pol->udp,
	    &pol->nudp) == -1)
		return -1;
	return 0;
}

static int
parse_network(struct pctx *c, struct policy *pol, const struct ynode *n)
{
	static const char *const keys[] = { "defaultVerdict", "egress",
	    "publish", NULL };
	const struct ynode	*v, *e;
	const char		*s;
	char			 p[192], q[128], msg[GR_ERRSIZE];
	size_t			 i;
	long			 j;

	if (want(c, n, "network", Y_MAP) == -1 ||
	    check_keys(c, n, "network", keys) == -1)
		return -1;
	if ((v = mget(n, "defaultVerdict")) != NULL &&
	    get_verdict(c, v, "network.defaultVerdict", &pol->defverdict) == -1)
		return -1;
	if ((v = mget(n, "egress")) != NULL && parse_egress(c, pol, v) == -1)
		return -1;
	if ((v = mget(n, "publish")) == NULL)
		return 0;
	if (want_seq(c, v, "network.publish") == -1)
		return -1;
	if (v->nkids > 0 && (pol->publish = calloc(v->nkids,
	    sizeof(*pol->publish))) == NULL)
		return perr(c, NULL, "", "out of memory");
	for (i = 0; i < v->nkids; i++) {
		e = v->kids[i];
		pathf(p, sizeof(p), "network.publish[%zu]", i);
		if (get_str(c, e, p, PM_PUBLISH, &s) == -1)
			return -1;
		if (gr_publish(p, s, &pol->publish[i], msg, sizeof(msg)) == -1)
			return gperr(c, e, msg);
		if ((j = pm_publish_dup(pol, i)) != -1)
			return perr(c, e, p, "%s: %s port %u is already "
			    "published by network.publish[%ld]",
			    qv(e, q, sizeof(q)), pol->publish[i].addr,
			    pol->publish[i].hostport, j);
		pol->npublish++;
	}
	return 0;
}

static int
parse_injection(struct pctx *c, const struct ynode *n, const char *path,
    struct injection *in)
{
	static const char *const keys[] = { "type", "host", "name", "value",
	    "user", "region", "service", "tokenUrl", "clientId", NULL };
	const struct ynode	*v;
	const char		*s;
	char			 p[192], why[PM_WHY];
	struct hostpat		 hp;
	uint16_t		 port;
	int			 t, k;

	if (want(c, n, path, Y_MAP) == -1 || check_keys(c, n, path, keys))
		return -1;
	pathf(p, sizeof(p), "%s.type", path);
	if (require(c, n, path, "type", &v) == -1 ||
	    get_enum(c, v, p, gr_inj_names, &t) == -1)
		return -1;
	in->type = t;
	pathf(p, sizeof(p), "%s.host", path);
	if (require(c, n, path, "host", &v) == -1 ||
	    parse_hostport(c, v, p, &hp, &port) == -1 ||
	    (in->host = xstrdup(c, v->str)) == NULL)
		return -1;
	for (k = 0; k < IF_N; k++) {
		pathf(p, sizeof(p), "%s.%s", path, pm_inj_fields[k]);
		if ((v = mget(n, pm_inj_fields[k])) == NULL) {
			if (pm_inj_takes(t, k) == PM_INJ_REQ)
				return perr(c, n, path, "missing key \"%s\" "
				    "(needed by type %s)", pm_inj_fields[k],
				    gr_inj_names[t]);
			continue;
		}
		if (pm_inj_takes(t, k) == PM_INJ_NO)
			return perr(c, v, p, "type %s takes no %s",
			    gr_inj_names[t], pm_inj_fields[k]);
		if (get_str(c, v, p, pm_inj_max(k), &s) == -1)
			return -1;
		if (pm_inj_field(k, s, why, sizeof(why)) == -1)
			return berr(c, v, p, why);
		if ((in->f[k] = xstrdup(c, s)) == NULL)
			return -1;
	}
	return 0;
}

static int
parse_credentials(struct pctx *c, struct policy *pol, const struct ynode *n)
{
	static const char *const keys[] = { "id", "envVar", "injections",
	    NULL };
	const struct ynode	*e, *v;
	struct credential	*cr;
	const char		*s;
	char			 p[192], pp[192], q[128], why[PM_WHY];
	size_t			 i, j;
	long			 d;

	if (want_seq(c, n, "credentials") == -1)
		return -1;
	if (n->nkids > 0 && (pol->creds = calloc(n->nkids,
	    sizeof(*pol->creds))) == NULL)
		return perr(c, NULL, "", "out of memory");
	for (i = 0; i < n->nkids; i++) {
		e = n->kids[i];
		cr = &pol->creds[i];
		pol->ncreds++;
		pathf(p, sizeof(p), "credentials[%zu]", i);
		if (want(c, e, p, Y_MAP) == -1 ||
		    check_keys(c, e, p, keys) == -1)
			return -1;
		pathf(pp, sizeof(pp), "%s.id", p);
		if (require(c, e, p, "id", &v) == -1 ||
		    get_str(c, v, pp, PM_CRED_ID, &s) == -1)
			return -1;
		if (pm_cred_id(s, why, sizeof(why)) == -1)
			return berr(c, v, pp, why);
		if ((d = pm_cred_id_dup(pol, i, s)) != -1)
			return perr(c, v, pp, "%s is already the id of "
			    "credentials[%ld]", qv(v, q, sizeof(q)), d);
		if ((cr->id = xstrdup(c, s)) == NULL)
			return -1;
		pathf(pp, sizeof(pp), "%s.envVar", p);
		if (require(c, e, p, "envVar", &v) == -1 ||
		    get_str(c, v, pp, PM_ENVVAR, &s) == -1)
			return -1;
		if (pm_envvar(s, why, sizeof(why)) == -1)
			return berr(c, v, pp, why);
		if ((d = pm_envvar_dup(pol, i, s)) != -1)
			return perr(c, v, pp, "%s is already the envVar of "
			    "credentials[%ld]", qv(v, q, sizeof(q)), d);
		if ((cr->envvar = xstrdup(c, s)) == NULL)
			return -1;
		pathf(pp, sizeof(pp), "%s.injections", p);
		if (require(c, e, p, "injections", &v) == -1 ||
		    want_seq(c, v, pp) == -1)
			return -1;
		if (v->nkids == 0)
			return perr(c, v, pp, "needs at least one injection");
		if ((cr->inj = calloc(v->nkids, sizeof(*cr->inj))) == NULL)
			return perr(c, NULL, "", "out of memory");
		for (j = 0; j < v->nkids; j++) {
			pathf(pp, sizeof(pp), "%s.injections[%zu]", p, j);
			cr->ninj++;
			if (parse_injection(c, v->kids[j], pp,
			    &cr->inj[j]) == -1)
				return -1;
		}
	}
	return 0;
}

/* cpus: a plain decimal (grammar.h), kept in thousandths */
static int
parse_cpus(struct pctx *c, const struct ynode *n, uint32_t *out)
{
	char	 v[128], msg[GR_ERRSIZE];

	if (n->type != Y_SCALAR || !n->plain ||
	    (stype(n) != S_INT && stype(n) != S_FLOAT)) {
		if (n->type == Y_SCALAR && stype(n) != S_NULL)
			return perr(c, n, "resources.cpus", "expected a "
			    "number, got %s %s", kind(n), qv(n, v, sizeof(v)));
		return perr(c, n, "resources.cpus", "expected a number, got "
		    "%s", kind(n));
	}
	if (gr_cpus("resources.cpus", n->str, out, msg, sizeof(msg)) == -1)
		return gperr(c, n, msg);
	return 0;
}

/* memory: bytes (an integer) or a size like "512m" (grammar.h) */
static int
parse_memory(struct pctx *c, const struct ynode *n, uint64_t *out)
{
	char	 v[128], msg[GR_ERRSIZE];

	if (n->type != Y_SCALAR || (stype(n) != S_STR &&
	    (!n->plain || stype(n) != S_INT))) {
		if (n->type == Y_SCALAR && stype(n) != S_NULL)
			return perr(c, n, "resources.memory", "expected bytes "
			    "or a size like 512m, got %s %s", kind(n),
			    qv(n, v, sizeof(v)));
		return perr(c, n, "resources.memory", "expected bytes or a "
		    "size like 512m, got %s", kind(n));
	}
	if (strlen(n->str) != n->len)
		return perr(c, n, "resources.memory", "%s is not a size",
		    qv(n, v, sizeof(v)));
	if (gr_size("resources.memory", n->str, GR_MEMORY_MIN, GR_MEMORY_MAX,
	    out, msg, sizeof(msg)) == -1)
		return gperr(c, n, msg);
	return 0;
}

static int
parse_resources(struct pctx *c, struct policy *pol, const struct ynode *n)
{
	static const char *const keys[] = { "cpus", "memory", "pids", NULL };
	const struct ynode	*v;
	unsigned long long	 x;

	if (want(c, n, "resources", Y_MAP) == -1 ||
	    check_keys(c, n, "resources", keys) == -1)
		return -1;
	if ((v = mget(n, "cpus")) != NULL &&
	    parse_cpus(c, v, &pol->res.cpu_millis) == -1)
		return -1;
	if ((v = mget(n, "memory")) != NULL &&
	    parse_memory(c, v, &pol->res.memory) == -1)
		return -1;
	if ((v = mget(n, "pids")) != NULL) {
		if (get_uint(c, v, "resources.pids", 1, GR_PIDS_MAX, &x) == -1)
			return -1;
		pol->res.pids = x;
	}
	return 0;
}

/* ---- llm: ---- */

static int
parse_llm_str(struct pctx *c, const struct ynode *e, const char *p,
    const char *key, int (*check)(const char *, char *, size_t), size_t max,
    int required, char **out)
{
	const struct ynode	*v;
	const char		*s;
	char			 pp[192], why[PM_WHY];

	pathf(pp, sizeof(pp), "%s.%s", p, key);
	if ((v = mget(e, key)) == NULL) {
		if (required)
			return perr(c, e, p, "missing key \"%s\"", key);
		return 0;
	}
	if (get_str(c, v, pp, max, &s) == -1)
		return -1;
	if (check != NULL && check(s, why, sizeof(why)) == -1)
		return berr(c, v, pp, why);
	if ((*out = xstrdup(c, s)) == NULL)
		return -1;
	return 0;
}

static int
parse_llm_backend(struct pctx *c, struct policy *pol, size_t i,
    const struct ynode *e)
{
	static const char *const keys[] = { "name", "url", "api", "models",
	    "capabilities", NULL };
	static const char *const ckeys[] = { "tools", "images", NULL };
	struct llm_backend	*b = &pol->llmb[i];
	const struct ynode	*v, *m;
	char			 p[64], pp[192], why[PM_WHY], q[128];
	const char		*s;
	size_t			 j, k;
	long			 d;

	pathf(p, sizeof(p), "llm.backends[%zu]", i);
	if (want(c, e, p, Y_MAP) == -1 || check_keys(c, e, p, keys) == -1 ||
	    parse_llm_str(c, e, p, "name", pm_llm_name, PM_LLM_NAME, 1,
	    &b->name) == -1)
		return -1;
	if ((d = pm_llm_backend_dup(pol, i)) != -1)
		return perr(c, mget(e, "name"), p, "name \"%s\" is already "
		    "llm.backends[%ld]'s", b->name, d);
	if (parse_llm_str(c, e, p, "url", NULL, PM_LLM_URL, 1, &b->url) == -1)
		return -1;
	if (pm_llm_url(b->url, b, why, sizeof(why)) == -1)
		return berr(c, mget(e, "url"), p, why);
	pathf(pp, sizeof(pp), "%s.api", p);
	if (require(c, e, p, "api", &v) == -1 ||
	    get_enum(c, v, pp, pm_llm_apis, &b->api) == -1)
		return -1;
	if ((v = mget(e, "capabilities")) != NULL) {
		pathf(pp, sizeof(pp), "%s.capabilities", p);
		if (want(c, v, pp, Y_MAP) == -1 ||
		    check_keys(c, v, pp, ckeys) == -1)
			return -1;
		pathf(pp, sizeof(pp), "%s.capabilities.tools", p);
		if ((m = mget(v, "tools")) != NULL &&
		    get_bool(c, m, pp, &b->tools) == -1)
			return -1;
		pathf(pp, sizeof(pp), "%s.capabilities.images", p);
		if ((m = mget(v, "images")) != NULL &&
		    get_bool(c, m, pp, &b->images) == -1)
			return -1;
	}
	pathf(pp, sizeof(pp), "%s.models", p);
	if (require(c, e, p, "models", &v) == -1 ||
	    want(c, v, pp, Y_MAP) == -1)
		return -1;
	if (v->nkids == 0)
		return perr(c, v, pp, "needs at least one model");
	if (v->nkids / 2 > PM_LLM_MAXLIST)
		return perr(c, v, pp, "more than %d models", PM_LLM_MAXLIST);
	if ((b->models = calloc(v->nkids / 2, sizeof(*b->models))) == NULL)
		return perr(c, NULL, "", "out of memory");
	for (j = 0; j < v->nkids; j += 2) {
		m = v->kids[j];
		if (get_str(c, m, pp, PM_LLM_GLOB, &s) == -1)
			return -1;
		if (pm_llm_glob(s, why, sizeof(why)) == -1)
			return berr(c, m, pp, why);
		for (k = 0; k < j; k += 2)
			if (strcmp(v->kids[k]->str, s) == 0)
				return perr(c, m, pp, "duplicate model %s",
				    qv(m, q, sizeof(q)));
		if ((b->models[b->nmodels].glob = xstrdup(c, s)) == NULL)
			return -1;
		b->nmodels++;
		m = v->kids[j + 1];
		pathf(pp, sizeof(pp), "%s.models.%s", p, s);
		if (get_str(c, m, pp, PM_LLM_GLOB, &s) == -1)
			return -1;
		why[0] = '\0';
		if (pm_llm_glob(s, why, sizeof(why)) == -1 ||
		    strchr(s, '*') != NULL)
			return berr(c, m, pp, why[0] ? why : " is a glob, "
			    "not a model name");
		if ((b->models[b->nmodels - 1].served = xstrdup(c, s)) == NULL)
			return -1;
		pathf(pp, sizeof(pp), "%s.models", p);
	}
	return 0;
}

static int
parse_llm_route(struct pctx *c, struct policy *pol, size_t i,
    const struct ynode *e)
{
	static const char *const keys[] = { "domain", "path", "model",
	    "action", "backend", "translate", "api", NULL };
	struct llm_route	*r = &pol->llmr[i];
	const struct ynode	*v;
	char			 p[64], pp[192], why[PM_WHY];

	pathf(p, sizeof(p), "llm.routes[%zu]", i);
	if (want(c, e, p, Y_MAP) == -1 || check_keys(c, e, p, keys) == -1 ||
	    parse_llm_str(c, e, p, "domain", NULL, MAXNAME + 2, 1,
	    &r->domain) == -1)
		return -1;
	if (pm_llm_domain(r->domain, r, why, sizeof(why)) == -1)
		return berr(c, mget(e, "domain"), p, why);
	if (parse_llm_str(c, e, p, "path", pm_llm_glob, PM_LLM_GLOB, 1,
	    &r->path) == -1)
		return -1;
	if (r->path[0] != '/')
		return berr(c, mget(e, "path"), p, " does not start with /");
	if (parse_llm_str(c, e, p, "model", pm_llm_glob, PM_LLM_GLOB, 0,
	    &r->model) == -1)
		return -1;
	if (r->model == NULL && (r->model = xstrdup(c, "**")) == NULL)
		return -1;
	pathf(pp, sizeof(pp), "%s.action", p);
	if (require(c, e, p, "action", &v) == -1 ||
	    get_enum(c, v, pp, pm_llm_actions, &r->action) == -1)
		return -1;
	if (parse_llm_str(c, e, p, "backend", pm_llm_name, PM_LLM_NAME, 0,
	    &r->backend) == -1)
		return -1;
	pathf(pp, sizeof(pp), "%s.translate", p);
	if ((v = mget(e, "translate")) != NULL &&
	    get_bool(c, v, pp, &r->translate) == -1)
		return -1;
	r->api = pm_llm_path_api(r->path);
	pathf(pp, sizeof(pp), "%s.api", p);
	if ((v = mget(e, "api")) != NULL &&
	    get_enum(c, v, pp, pm_llm_apis, &r->api) == -1)
		return -1;
	if (pm_llm_route_check(pol, i, why, sizeof(why)) == -1) {
		if ((v = mget(e, "translate")) == NULL &&
		    (v = mget(e, "backend")) == NULL)
			v = e;
		return perr(c, v, p, "%s", why);
	}
	return 0;
}

static int
parse_llm(struct pctx *c, struct policy *pol, const struct ynode *n)
{
	static const char *const keys[] = { "backends", "routes", NULL };
	const struct ynode	*v;
	size_t			 i;

	if (want(c, n, "llm", Y_MAP) == -1 ||
	    check_keys(c, n, "llm", keys) == -1)
		return -1;
	if ((v = mget(n, "backends")) != NULL) {
		if (want_seq(c, v, "llm.backends") == -1)
			return -1;
		if (v->nkids > PM_LLM_MAXLIST)
			return perr(c, v, "llm.backends", "more than %d "
			    "entries", PM_LLM_MAXLIST);
		if (v->nkids > 0 && (pol->llmb = calloc(v->nkids,
		    sizeof(*pol->llmb))) == NULL)
			return perr(c, NULL, "", "out of memory");
		for (i = 0; i < v->nkids; i++) {
			pol->nllmb++;
			if (parse_llm_backend(c, pol, i, v->kids[i]) == -1)
				return -1;
		}
	}
	if ((v = mget(n, "routes")) != NULL) {
		if (want_seq(c, v, "llm.routes") == -1)
			return -1;
		if (v->nkids > PM_LLM_MAXLIST)
			return perr(c, v, "llm.routes", "more than %d "
			    "entries", PM_LLM_MAXLIST);
		if (v->nkids > 0 && (pol->llmr = calloc(v->nkids,
		    sizeof(*pol->llmr))) == NULL)
			return perr(c, NULL, "", "out of memory");
		for (i = 0; i < v->nkids; i++) {
			pol->nllmr++;
			if (parse_llm_route(c, pol, i, v->kids[i]) == -1)
				return -1;
		}
	}
	return 0;
}

static int
parse_top(struct pctx *c, struct policy *pol, const struct ynode *root)
{
	static const char *const keys[] = { "version", "network",
	    "credentials", "resources", "llm", NULL };
	const struct ynode	*v;
	unsigned long long	 ver;

	if (want(c, root, "", Y_MAP) == -1 ||
	    check_keys(c, root, "", keys) == -1)
		return -1;
	if ((v = mget(root, "version")) == NULL)
		return perr(c, root, "version", "missing (write version: 1)");
	if (get_uint(c, v, "version", 0, ULLONG_MAX, &ver) == -1)
		return -1;
	if (ver != 1)
		return perr(c, v, "version", "%llu is not supported (only 1)",
		    ver);
	if ((v = mget(root, "network")) != NULL &&
	    parse_network(c, pol, v) == -1)
		return -1;
	if ((v = mget(root, "credentials")) != NULL &&
	    parse_credentials(c, pol, v) == -1)
		return -1;
	if ((v = mget(root, "resources")) != NULL &&
	    parse_resources(c, pol, v) == -1)
		return -1;
	if ((v = mget(root, "llm")) != NULL && parse_llm(c, pol, v) == -1)
		return -1;
	return 0;
}

struct policy *
policy_parse(const char *name, const void *buf, size_t len,
    struct policy_error *err)
{
	struct pctx	 c = { err, name ? name : "(policy)" };
	struct policy	*pol;
	struct ynode	*root;
	unsigned int	 line, col;
	size_t		 bad, msize;
	int		 empty;

	if (len > POLICY_MAXSIZE) {
		seterr(err, c.name, 0, 0, "larger than %d bytes",
		    POLICY_MAXSIZE);
		return NULL;
	}
	if ((bad = pm_utf8_bad(buf, len)) < len) {
		offset_pos(buf, len, bad, &line, &col);
		seterr(err, c.name, line, col, "not UTF-8 (byte 0x%02x)",
		    ((const unsigned char *)buf)[bad]);
		return NULL;
	}
	if ((root = yload(&c, buf, len, &empty)) == NULL) {
		if (empty)
			seterr(err, c.name, 0, 0, "empty policy (write "
			    "version: 1)");
		return NULL;
	}
	if ((pol = pm_new()) == NULL) {
		ynode_free(root);
		seterr(err, c.name, 0, 0, "out of memory");
		return NULL;
	}
	if (parse_top(&c, pol, root) == -1) {
		ynode_free(root);
		policy_free(pol);
		return NULL;
	}
	ynode_free(root);
	/* what cannot travel as a binary model is not a policy */
	if ((msize = policy_encode(pol, NULL, 0)) > POLICY_MODEL_MAXSIZE) {
		seterr(err, c.name, 0, 0, "its model takes %zu bytes, more "
		    "than %d", msize, POLICY_MODEL_MAXSIZE);
		policy_free(pol);
		return NULL;
	}
	pm_hash_source(pol, buf, len);
	return pol;
}

struct policy *
policy_load(const char *path, struct policy_error *err)
{
	struct policy	*pol;
	char		*buf;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		seterr(err, path, 0, 0, "%s", strerror(errno));
		return NULL;
	}
	if ((buf = malloc(POLICY_MAXSIZE + 1)) == NULL) {
		close(fd);
		seterr(err, path, 0, 0, "out of memory");
		return NULL;
	}
	while (len < POLICY_MAXSIZE + 1) {
		n = read(fd, buf + len, POLICY_MAXSIZE + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			seterr(err, path, 0, 0, "%s", strerror(errno));
			close(fd);
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		len += n;
	}
	close(fd);
	pol = policy_parse(path, buf, len, err);
	free(buf);
	return pol;
}

