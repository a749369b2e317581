/*
 * The sandbox policy: lns-policy.yaml(5).
 *
 * policy_parse() validates the bytes (size, UTF-8), builds a small
 * document tree from libyaml's events (refusing anchors, aliases, tags,
 * several documents, deep nesting), then walks the tree against the
 * vocabulary, strictly: unknown keys, duplicate keys, wrong types and
 * bad values are errors naming file, line, column, field and value.
 * Plain scalars are typed as YAML 1.1 (and PyYAML) type them, so that
 * "on", "8080:30" or "1e3" are not taken for the string the writer may
 * have meant; the JSON Schema (etc/lns-policy.schema.json) sees the same
 * types.
 *
 * The model is immutable after parsing.  Decisions: a matching deny
 * wins, then a matching allow, then a matching ask, then
 * defaultVerdict; the rule reported for audit is the most specific one
 * of the winning verdict, so rule order never changes anything.
 *
 * policy_tcp_addr/policy_udp_addr consult only CIDR rules (an address
 * literal in a rule is a /32 or /128).  When none matches they return
 * defaultVerdict with *rule NULL: the caller refuses a private, loopback,
 * metadata, ... destination (lensnetd/addr.c) unless *rule is set and the
 * verdict is allow.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

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

#include <jansson.h>
#include <sodium.h>
#include <yaml.h>

#include "grammar.h"
#include "policy.h"

#define MAXDEPTH	32		/* nesting of collections */
#define MAXNAME		253		/* a DNS name without the dot */
#define MAXSTR		1024		/* paths, header values */

/* ---- the model ---- */

struct hostpat {
	char		 name[MAXNAME + 1];	/* lower case, no final dot */
	int		 wildcard;		/* "*.name": strictly below */
};

struct cidr {
	int		 af;
	uint8_t		 addr[16];
	unsigned int	 plen;
};

struct http_sub {
	char		*method;
	char		*path;
	enum verdict	 verdict;
};

struct http_rule {
	char		*match;			/* as written */
	struct hostpat	 host;
	uint16_t	 port;			/* 0: every port */
	enum verdict	 verdict;
	int		 tls;
	struct http_sub	*subs;
	size_t		 nsubs;
};

struct net_rule {				/* tcp: and udp: */
	char		*match;
	int		 is_cidr;
	struct hostpat	 host;
	struct cidr	 cidr;
	uint16_t	 lo, hi;		/* 1-65535 for "*" */
	enum verdict	 verdict;
};

enum inj_type {
	INJ_HEADER, INJ_QUERY, INJ_BASIC, INJ_HMAC, INJ_SIGV4, INJ_OAUTH2
};
static const char *const inj_names[] = {
	"header", "query", "basic", "hmac", "sigv4", "oauth2", NULL
};

struct injection {
	enum inj_type	 type;
	char		*host;
	char		*name;			/* NULL when not given */
	char		*value;
};

struct credential {
	char		*id;
	char		*envvar;
	struct injection *inj;
	size_t		 ninj;
};

struct policy {
	char		 hash[2 * 32 + 1];
	enum verdict	 defverdict;
	struct http_rule *http;
	size_t		 nhttp;
	struct net_rule	*tcp, *udp;
	size_t		 ntcp, nudp;
	struct gr_publish *publish;
	size_t		 npublish;
	struct credential *creds;
	size_t		 ncreds;
	struct policy_resources res;
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

struct ynode;

struct pctx {
	struct policy_error	*err;
	const char		*name;
};

static void
seterr(struct policy_error *err, const char *file, unsigned int line,
    unsigned int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
seterr(struct policy_error *err, const char *file, unsigned int line,
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

/* offset of the first byte that is not well-formed UTF-8, or len */
static size_t
utf8_bad(const unsigned char *s, size_t len)
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

/* the scalar as a quoted, escaped, shortened string for messages */
static const char *
qv(const struct ynode *n, char *buf, size_t size)
{
	size_t		 i, o = 0;
	unsigned char	 ch;

	if (n->type != Y_SCALAR) {
		snprintf(buf, size, "%s", kind(n));
		return buf;
	}
	buf[o++] = '"';
	for (i = 0; i < n->len && o + 8 < size; i++) {
		ch = n->str[i];
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

/* ---- names, ports, addresses ---- */

/*
 * A DNS name into out: lower case, without the final dot.  -1 when it
 * is empty, too long, has an empty or too long label or a character
 * outside [A-Za-z0-9_-].
 */
static int
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

/* a host pattern: name or "*.name" */
static int
parse_hostpat(const char *s, size_t len, struct hostpat *hp)
{
	memset(hp, 0, sizeof(*hp));
	if (len >= 2 && s[0] == '*' && s[1] == '.') {
		hp->wildcard = 1;
		s += 2;
		len -= 2;
	}
	return norm_name(s, len, hp->name);
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

static int
parse_http_sub(struct pctx *c, const struct ynode *n, const char *path,
    struct http_sub *sub)
{
	static const char *const keys[] = { "method", "path", "verdict",
	    NULL };
	static const char *const methods[] = { "GET", "HEAD", "POST", "PUT",
	    "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE", "*", NULL };
	const struct ynode	*v;
	const char		*s;
	char			 p[192], q[128];
	int			 m;
	size_t			 i;

	if (want(c, n, path, Y_MAP) == -1 || check_keys(c, n, path, keys))
		return -1;
	pathf(p, sizeof(p), "%s.method", path);
	if (require(c, n, path, "method", &v) == -1 ||
	    get_enum(c, v, p, methods, &m) == -1)
		return -1;
	pathf(p, sizeof(p), "%s.path", path);
	if (require(c, n, path, "path", &v) == -1 ||
	    get_str(c, v, p, MAXSTR, &s) == -1)
		return -1;
	if (s[0] != '/')
		return perr(c, v, p, "%s does not start with /",
		    qv(v, q, sizeof(q)));
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return perr(c, v, p, "%s: only printable ASCII "
			    "without spaces", qv(v, q, sizeof(q)));
	if (strstr(s, "***") != NULL)
		return perr(c, v, p, "%s: use * (one segment) or ** (any "
		    "depth), not ***", qv(v, q, sizeof(q)));
	if ((sub->path = xstrdup(c, s)) == NULL ||
	    (sub->method = xstrdup(c, methods[m])) == NULL)
		return -1;
	pathf(p, sizeof(p), "%s.verdict", path);
	if (require(c, n, path, "verdict", &v) == -1 ||
	    get_verdict(c, v, p, &sub->verdict) == -1)
		return -1;
	return 0;
}

/* "host", "*.suffix", with optional ":port" (http rules, credentials) */
static int
parse_hostport(struct pctx *c, const struct ynode *v, const char *p,
    struct hostpat *hp, uint16_t *port)
{
	const char	*s, *colon;
	char		 q[128];
	int		 pt;
	size_t		 hl;

	if (get_str(c, v, p, MAXNAME + 8, &s) == -1)
		return -1;
	*port = 0;
	hl = v->len;
	if ((colon = strrchr(s, ':')) != NULL) {
		hl = colon - s;
		if ((pt = gr_port(colon + 1, strlen(colon + 1))) == -1)
			return perr(c, v, p, "%s: port \"%s\" is not a number "
			    "from 1 to 65535", qv(v, q, sizeof(q)), colon + 1);
		*port = pt;
	}
	if (hl == 1 && s[0] == '*')
		return perr(c, v, p, "%s: a bare * is not a rule, use "
		    "defaultVerdict", qv(v, q, sizeof(q)));
	if (parse_hostpat(s, hl, hp) == -1)
		return perr(c, v, p, "%s is not a host name or *.suffix",
		    qv(v, q, sizeof(q)));
	return 0;
}

static int
parse_http_rule(struct pctx *c, const struct ynode *n, const char *path,
    struct http_rule *r)
{
	static const char *const keys[] = { "match", "verdict",
	    "tlsTerminate", "rules", NULL };
	const struct ynode	*v;
	char			 p[192];
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
	pathf(p, sizeof(p), "%s.rules", path);
	if ((v = mget(n, "rules")) != NULL) {
		if (want(c, v, p, Y_SEQ) == -1)
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
	const char		*s, *colon, *dash, *why, *hs, *ps;
	char			 p[192], q[128];
	size_t			 hl;
	int			 lo, hi;

	if (want(c, n, path, Y_MAP) == -1 || check_keys(c, n, path, keys))
		return -1;
	pathf(p, sizeof(p), "%s.match", path);
	if (require(c, n, path, "match", &v) == -1 ||
	    get_str(c, v, p, MAXNAME + 16, &s) == -1)
		return -1;
	if ((r->match = xstrdup(c, s)) == NULL)
		return -1;
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL || rb[1] != ':')
			return perr(c, v, p, "%s: expected [IPv6/len]:port",
			    qv(v, q, sizeof(q)));
		hs = s + 1;
		hl = rb - hs;
		ps = rb + 2;
		if (cidr_parse(hs, hl, &r->cidr, &why) == -1 ||
		    r->cidr.af != AF_INET6)
			return perr(c, v, p, "%s: \"%.*s\" %s", qv(v, q,
			    sizeof(q)), (int)hl, hs, r->cidr.af == AF_INET ?
			    "is not an IPv6 address" : why);
		r->is_cidr = 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return perr(c, v, p, "%s: expected HOST:PORT, "
			    "CIDR:PORT or [IPv6/len]:PORT (PORT may be N, "
			    "N-M or *)", qv(v, q, sizeof(q)));
		hs = s;
		hl = colon - s;
		ps = colon + 1;
		if (memchr(hs, ':', hl) != NULL)
			return perr(c, v, p, "%s: write IPv6 addresses in "
			    "brackets: [2001:db8::/32]:443",
			    qv(v, q, sizeof(q)));
		if (hl > 0 && (isdigit((unsigned char)hs[hl - 1]) ||
		    memchr(hs, '/', hl) != NULL) &&
		    strspn(hs, "0123456789./") >= hl) {
			if (cidr_parse(hs, hl, &r->cidr, &why) == -1)
				return perr(c, v, p, "%s: \"%.*s\" %s",
				    qv(v, q, sizeof(q)), (int)hl, hs, why);
			r->is_cidr = 1;
		} else if (hl == 1 && hs[0] == '*')
			return perr(c, v, p, "%s: a bare * is not a rule, "
			    "use defaultVerdict", qv(v, q, sizeof(q)));
		else if (parse_hostpat(hs, hl, &r->host) == -1)
			return perr(c, v, p, "%s: \"%.*s\" is not a host "
			    "name, *.suffix or CIDR", qv(v, q, sizeof(q)),
			    (int)hl, hs);
	}
	if (strcmp(ps, "*") == 0) {
		lo = 1;
		hi = 65535;
	} else if ((dash = strchr(ps, '-')) != NULL) {
		lo = gr_port(ps, dash - ps);
		hi = gr_port(dash + 1, strlen(dash + 1));
		if (lo == -1 || hi == -1 || lo > hi)
			return perr(c, v, p, "%s: port range \"%s\" is not "
			    "LOW-HIGH with 1 <= LOW <= HIGH <= 65535",
			    qv(v, q, sizeof(q)), ps);
	} else if ((lo = hi = gr_port(ps, strlen(ps))) == -1)
		return perr(c, v, p, "%s: port \"%s\" is not a number from 1 "
		    "to 65535, a range N-M or *", qv(v, q, sizeof(q)), ps);
	r->lo = lo;
	r->hi = hi;
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

	if (want(c, n, path, Y_SEQ) == -1)
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
		if (want(c, v, "network.egress.http", Y_SEQ) == -1)
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
	size_t			 i, j;

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
	if (want(c, v, "network.publish", Y_SEQ) == -1)
		return -1;
	if (v->nkids > 0 && (pol->publish = calloc(v->nkids,
	    sizeof(*pol->publish))) == NULL)
		return perr(c, NULL, "", "out of memory");
	for (i = 0; i < v->nkids; i++) {
		e = v->kids[i];
		pathf(p, sizeof(p), "network.publish[%zu]", i);
		if (get_str(c, e, p, 128, &s) == -1)
			return -1;
		if (gr_publish(p, s, &pol->publish[i], msg, sizeof(msg)) == -1)
			return gperr(c, e, msg);
		for (j = 0; j < i; j++)
			if (pol->publish[j].hostport ==
			    pol->publish[i].hostport &&
			    strcmp(pol->publish[j].addr,
			    pol->publish[i].addr) == 0)
				return perr(c, e, p, "%s: %s port %u is "
				    "already published by network.publish[%zu]",
				    qv(e, q, sizeof(q)), pol->publish[i].addr,
				    pol->publish[i].hostport, j);
		pol->npublish++;
	}
	return 0;
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

/* an HTTP token (header or query parameter name) */
static int
valid_token(const char *s)
{
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) &&
		    strchr("!#$%&'*+.^_`|~-", *s) == NULL)
			return 0;
	return 1;
}

static int
parse_injection(struct pctx *c, const struct ynode *n, const char *path,
    struct injection *in)
{
	static const char *const keys[] = { "type", "host", "name", "value",
	    NULL };
	const struct ynode	*v;
	const char		*s;
	char			 p[192], q[128];
	struct hostpat		 hp;
	uint16_t		 port;
	int			 t;
	size_t			 i;

	if (want(c, n, path, Y_MAP) == -1 || check_keys(c, n, path, keys))
		return -1;
	pathf(p, sizeof(p), "%s.type", path);
	if (require(c, n, path, "type", &v) == -1 ||
	    get_enum(c, v, p, inj_names, &t) == -1)
		return -1;
	in->type = t;
	pathf(p, sizeof(p), "%s.host", path);
	if (require(c, n, path, "host", &v) == -1 ||
	    parse_hostport(c, v, p, &hp, &port) == -1 ||
	    (in->host = xstrdup(c, v->str)) == NULL)
		return -1;
	pathf(p, sizeof(p), "%s.name", path);
	if ((v = mget(n, "name")) != NULL) {
		if (get_str(c, v, p, 128, &s) == -1)
			return -1;
		if (!valid_token(s))
			return perr(c, v, p, "%s is not a header or parameter "
			    "name", qv(v, q, sizeof(q)));
		if ((in->name = xstrdup(c, s)) == NULL)
			return -1;
	} else if (t == INJ_HEADER || t == INJ_QUERY || t == INJ_HMAC)
		return perr(c, n, path, "missing key \"name\" (needed by "
		    "type %s)", inj_names[t]);
	pathf(p, sizeof(p), "%s.value", path);
	if ((v = mget(n, "value")) != NULL) {
		if (get_str(c, v, p, MAXSTR, &s) == -1)
			return -1;
		for (i = 0; s[i] != '\0'; i++)
			if (s[i] == '\r' || s[i] == '\n')
				return perr(c, v, p, "%s contains a line "
				    "break", qv(v, q, sizeof(q)));
		if (strstr(s, "{secret}") == NULL)
			return perr(c, v, p, "%s does not contain {secret}",
			    qv(v, q, sizeof(q)));
		if ((in->value = xstrdup(c, s)) == NULL)
			return -1;
	} else if (t == INJ_HEADER || t == INJ_QUERY)
		return perr(c, n, path, "missing key \"value\" (needed by "
		    "type %s)", inj_names[t]);
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
	char			 p[192], pp[192], q[128];
	size_t			 i, j;

	if (want(c, n, "credentials", Y_SEQ) == -1)
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
		    get_str(c, v, pp, 64, &s) == -1)
			return -1;
		if (!valid_ident(s, 0))
			return perr(c, v, pp, "%s: letters, digits, _ - . "
			    "only, starting with a letter or digit",
			    qv(v, q, sizeof(q)));
		for (j = 0; j < i; j++)
			if (strcmp(pol->creds[j].id, s) == 0)
				return perr(c, v, pp, "%s is already the id "
				    "of credentials[%zu]", qv(v, q, sizeof(q)),
				    j);
		if ((cr->id = xstrdup(c, s)) == NULL)
			return -1;
		pathf(pp, sizeof(pp), "%s.envVar", p);
		if (require(c, e, p, "envVar", &v) == -1 ||
		    get_str(c, v, pp, 128, &s) == -1)
			return -1;
		if (!valid_ident(s, 1))
			return perr(c, v, pp, "%s is not an environment "
			    "variable name ([A-Za-z_][A-Za-z0-9_]*)",
			    qv(v, q, sizeof(q)));
		for (j = 0; j < i; j++)
			if (strcmp(pol->creds[j].envvar, s) == 0)
				return perr(c, v, pp, "%s is already the "
				    "envVar of credentials[%zu]",
				    qv(v, q, sizeof(q)), j);
		if ((cr->envvar = xstrdup(c, s)) == NULL)
			return -1;
		pathf(pp, sizeof(pp), "%s.injections", p);
		if (require(c, e, p, "injections", &v) == -1 ||
		    want(c, v, pp, Y_SEQ) == -1)
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

static int
parse_top(struct pctx *c, struct policy *pol, const struct ynode *root)
{
	static const char *const keys[] = { "version", "network",
	    "credentials", "resources", NULL };
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
	return 0;
}

/* libsodium's SHA-256: no library configuration to load, no locks */
static void
set_hash(struct policy *pol, const void *buf, size_t len)
{
	unsigned char	 md[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(md, buf, len);
	sodium_bin2hex(pol->hash, sizeof(pol->hash), md, sizeof(md));
}

struct policy *
policy_parse(const char *name, const void *buf, size_t len,
    struct policy_error *err)
{
	struct pctx	 c = { err, name ? name : "(policy)" };
	struct policy	*pol;
	struct ynode	*root;
	unsigned int	 line, col;
	size_t		 bad;
	int		 empty;

	if (len > POLICY_MAXSIZE) {
		seterr(err, c.name, 0, 0, "larger than %d bytes",
		    POLICY_MAXSIZE);
		return NULL;
	}
	if ((bad = utf8_bad(buf, len)) < len) {
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
	if ((pol = calloc(1, sizeof(*pol))) == NULL) {
		ynode_free(root);
		seterr(err, c.name, 0, 0, "out of memory");
		return NULL;
	}
	pol->defverdict = VERDICT_DENY;
	if (parse_top(&c, pol, root) == -1) {
		ynode_free(root);
		policy_free(pol);
		return NULL;
	}
	ynode_free(root);
	set_hash(pol, buf, len);
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

struct policy *
policy_default(void)
{
	struct policy	*pol;

	if ((pol = calloc(1, sizeof(*pol))) == NULL)
		return NULL;
	pol->defverdict = VERDICT_DENY;
	set_hash(pol, "", 0);
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
	size_t	 i, j;

	if (pol == NULL)
		return;
	for (i = 0; i < pol->nhttp; i++) {
		for (j = 0; j < pol->http[i].nsubs; j++) {
			free(pol->http[i].subs[j].method);
			free(pol->http[i].subs[j].path);
		}
		free(pol->http[i].subs);
		free(pol->http[i].match);
	}
	free(pol->http);
	free_rules(pol->tcp, pol->ntcp);
	free_rules(pol->udp, pol->nudp);
	free(pol->publish);
	for (i = 0; i < pol->ncreds; i++) {
		for (j = 0; j < pol->creds[i].ninj; j++) {
			free(pol->creds[i].inj[j].host);
			free(pol->creds[i].inj[j].name);
			free(pol->creds[i].inj[j].value);
		}
		free(pol->creds[i].inj);
		free(pol->creds[i].id);
		free(pol->creds[i].envvar);
	}
	free(pol->creds);
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

		if ((r->port != 0 && r->port != port) ||
		    !hostpat_match(&r->host, name))
			continue;
		pick_add(&pk, r->verdict, r->match,
		    name_score(&r->host, r->port ? 1 : 65535), r->tls);
	}
	d->verdict = pick_result(pol, &pk, &d->rule, &d->tls_terminate);
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
	if (allow || pol->defverdict != VERDICT_DENY)
		return VERDICT_ALLOW;
	return VERDICT_DENY;
}

/* ---- JSON ---- */

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

static json_t *
json_model(const struct policy *pol)
{
	json_t	*top, *http, *o, *subs, *s, *pub, *creds, *inj, *res;
	size_t	 i, j;

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
			s = json_pack("{s:s, s:s, s:s}", "method",
			    r->subs[j].method, "path", r->subs[j].path,
			    "verdict", verdict_name(r->subs[j].verdict));
			if (s == NULL || json_array_append_new(subs, s) == -1) {
				json_decref(subs);
				goto fail;
			}
		}
		o = json_pack("{s:s, s:s, s:b, s:o, s:s, s:b, s:i}",
		    "match", r->match, "verdict", verdict_name(r->verdict),
		    "tlsTerminate", r->tls, "rules", subs,
		    "host", r->host.name, "wildcard", r->host.wildcard,
		    "port", r->port);
		if (o == NULL || json_array_append_new(http, o) == -1)
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
			    inj_names[in->type], "host", in->host);
			if (s == NULL || (in->name && json_object_set_new(s,
			    "name", json_string(in->name)) == -1) ||
			    (in->value && json_object_set_new(s, "value",
			    json_string(in->value)) == -1) ||
			    json_array_append_new(inj, s) == -1) {
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
