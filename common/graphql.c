/*
 * The GraphQL executable document parser of graphql.h: a lexer over
 * the bytes (GraphQL spec 2.1) and a recursive descent over its tokens
 * (2.2-2.9), recursion bounded by GQL_MAXDEPTH.  Time and memory are
 * linear in the document.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graphql.h"

#define NOITEM	UINT32_MAX

enum tok {
	T_EOF, T_NAME, T_INT, T_FLOAT, T_STRING, T_PUNCT, T_SPREAD,
};

struct gp {
	struct gql_doc	*d;
	const char	*s;
	size_t		 len, pos;
	/* the current token */
	enum tok	 t;
	size_t		 toff, tlen;
	char		 punct;
	char		*why;
	size_t		 whylen;
	int		 err;
};

static int
fail(struct gp *p, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct gp *p, size_t off, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (p->err)
		return -1;
	p->err = 1;
	n = snprintf(p->why, p->whylen, "offset %zu: ", off);
	if (n < 0 || (size_t)n >= p->whylen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(p->why + n, p->whylen - n, fmt, ap);
	va_end(ap);
	return -1;
}

static int
namestart(unsigned char c)
{
	return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int
namecont(unsigned char c)
{
	return namestart(c) || (c >= '0' && c <= '9');
}

static int
digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* a source character that may not appear (2.1.1): C0 controls but tab */
static int
badchar(unsigned char c)
{
	return (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f;
}

/* a quoted string at p->pos (after its '"'); the end past the quote */
static int
lex_string(struct gp *p)
{
	size_t		 i = p->pos + 1, k;
	unsigned char	 c;

	while (i < p->len) {
		c = p->s[i];
		if (c == '"') {
			p->pos = i + 1;
			return 0;
		}
		if (c == '\n' || c == '\r')
			return fail(p, i, "line break in a string");
		if (badchar(c))
			return fail(p, i, "control character 0x%02x in a "
			    "string", c);
		if (c != '\\') {
			i++;
			continue;
		}
		if (i + 1 >= p->len)
			break;
		c = p->s[i + 1];
		if (strchr("\"\\/bfnrt", c) != NULL && c != '\0') {
			i += 2;
			continue;
		}
		if (c != 'u')
			return fail(p, i, "bad escape \\%c in a string",
			    c >= 0x20 && c < 0x7f ? c : '?');
		i += 2;
		if (i < p->len && p->s[i] == '{') {
			/* \u{...}: 1 to 6 hex digits, at most U+10FFFF */
			unsigned long v = 0;

			for (k = i + 1; k < p->len && k < i + 8 &&
			    strchr("0123456789abcdefABCDEF", p->s[k]) != NULL &&
			    p->s[k] != '\0'; k++)
				v = v * 16 + (digit(p->s[k]) ? p->s[k] - '0' :
				    (p->s[k] | 0x20) - 'a' + 10);
			if (k == i + 1 || k >= p->len || p->s[k] != '}' ||
			    v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
				return fail(p, i - 2, "bad \\u{} escape in a "
				    "string");
			i = k + 1;
			continue;
		}
		for (k = 0; k < 4; k++)
			if (i + k >= p->len || p->s[i + k] == '\0' ||
			    strchr("0123456789abcdefABCDEF", p->s[i + k]) ==
			    NULL)
				return fail(p, i - 2, "bad \\u escape in a "
				    "string");
		i += 4;
	}
	return fail(p, p->pos, "unterminated string");
}

/* a block string at p->pos (after its '"""') */
static int
lex_block(struct gp *p)
{
	size_t		 i = p->pos + 3;
	unsigned char	 c;

	while (i < p->len) {
		c = p->s[i];
		if (c == '"' && i + 2 < p->len && p->s[i + 1] == '"' &&
		    p->s[i + 2] == '"') {
			p->pos = i + 3;
			return 0;
		}
		if (c == '\\' && i + 3 < p->len && p->s[i + 1] == '"' &&
		    p->s[i + 2] == '"' && p->s[i + 3] == '"') {
			i += 4;
			continue;
		}
		if (badchar(c))
			return fail(p, i, "control character 0x%02x in a "
			    "block string", c);
		i++;
	}
	return fail(p, p->pos, "unterminated block string");
}

/* a number at p->pos (2.9.1, 2.9.2) */
static int
lex_number(struct gp *p)
{
	size_t	 i = p->pos;
	int	 isfloat = 0;

	if (p->s[i] == '-')
		i++;
	if (i >= p->len || !digit(p->s[i]))
		return fail(p, p->pos, "bad number");
	if (p->s[i] == '0' && i + 1 < p->len && digit(p->s[i + 1]))
		return fail(p, p->pos, "number with a leading zero");
	while (i < p->len && digit(p->s[i]))
		i++;
	if (i < p->len && p->s[i] == '.') {
		isfloat = 1;
		if (++i >= p->len || !digit(p->s[i]))
			return fail(p, p->pos, "bad number");
		while (i < p->len && digit(p->s[i]))
			i++;
	}
	if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
		isfloat = 1;
		if (++i < p->len && (p->s[i] == '+' || p->s[i] == '-'))
			i++;
		if (i >= p->len || !digit(p->s[i]))
			return fail(p, p->pos, "bad number");
		while (i < p->len && digit(p->s[i]))
			i++;
	}
	if (i < p->len && (p->s[i] == '.' || namestart(p->s[i])))
		return fail(p, i, "bad number");
	p->t = isfloat ? T_FLOAT : T_INT;
	p->pos = i;
	return 0;
}

/* the next token into p->t */
static int
next(struct gp *p)
{
	unsigned char	 c;

	if (p->err)
		return -1;
	/* ignored tokens (2.1.2-2.1.7) */
	while (p->pos < p->len) {
		c = p->s[p->pos];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		    c == ',')
			p->pos++;
		else if (c == 0xef && p->pos + 2 < p->len &&
		    (unsigned char)p->s[p->pos + 1] == 0xbb &&
		    (unsigned char)p->s[p->pos + 2] == 0xbf)
			p->pos += 3;	/* a byte order mark */
		else if (c == '#') {
			while (p->pos < p->len && p->s[p->pos] != '\n' &&
			    p->s[p->pos] != '\r') {
				if (badchar(p->s[p->pos]) &&
				    p->s[p->pos] != '\t')
					return fail(p, p->pos, "control "
					    "character in a comment");
				p->pos++;
			}
		} else
			break;
	}
	p->toff = p->pos;
	if (p->pos >= p->len) {
		p->t = T_EOF;
		p->tlen = 0;
		return 0;
	}
	c = p->s[p->pos];
	if (namestart(c)) {
		while (p->pos < p->len && namecont(p->s[p->pos]))
			p->pos++;
		p->t = T_NAME;
	} else if (c == '-' || digit(c)) {
		if (lex_number(p) == -1)
			return -1;
	} else if (c == '"') {
		p->t = T_STRING;
		if (p->pos + 2 < p->len && p->s[p->pos + 1] == '"' &&
		    p->s[p->pos + 2] == '"') {
			if (lex_block(p) == -1)
				return -1;
		} else if (lex_string(p) == -1)
			return -1;
	} else if (c == '.') {
		if (p->pos + 2 >= p->len || p->s[p->pos + 1] != '.' ||
		    p->s[p->pos + 2] != '.')
			return fail(p, p->pos, "'.' other than \"...\"");
		p->pos += 3;
		p->t = T_SPREAD;
	} else if (c != '\0' && strchr("!$&():=@[]{|}", c) != NULL) {
		p->pos++;
		p->t = T_PUNCT;
		p->punct = c;
	} else
		return fail(p, p->pos, "unexpected character 0x%02x", c);
	p->tlen = p->pos - p->toff;
	return 0;
}

static int
is_punct(const struct gp *p, char c)
{
	return p->t == T_PUNCT && p->punct == c;
}

static int
is_name(const struct gp *p, const char *kw)
{
	return p->t == T_NAME && p->tlen == strlen(kw) &&
	    memcmp(p->s + p->toff, kw, p->tlen) == 0;
}

static const char *
tokname(const struct gp *p)
{
	switch (p->t) {
	case T_EOF:
		return "the end";
	case T_NAME:
		return "a name";
	case T_INT:
	case T_FLOAT:
		return "a number";
	case T_STRING:
		return "a string";
	case T_SPREAD:
		return "\"...\"";
	default:
		return "punctuation";
	}
}

static int
expect_punct(struct gp *p, char c)
{
	if (!is_punct(p, c))
		return fail(p, p->toff, "'%c' expected, not %s", c,
		    tokname(p));
	return next(p);
}

static int
expect_name(struct gp *p, const char *what)
{
	if (p->t != T_NAME)
		return fail(p, p->toff, "%s expected, not %s", what,
		    tokname(p));
	return 0;
}

/* Value (2.9); isconst: no variables */
static int
value(struct gp *p, int depth, int isconst)
{
	size_t	 off = p->toff;

	if (depth > GQL_MAXDEPTH)
		return fail(p, off, "values nested deeper than %d",
		    GQL_MAXDEPTH);
	if (is_punct(p, '$')) {
		if (isconst)
			return fail(p, off, "variable in a constant value");
		if (next(p) == -1 || expect_name(p, "variable name") == -1)
			return -1;
		return next(p);
	}
	if (p->t == T_INT || p->t == T_FLOAT || p->t == T_STRING ||
	    p->t == T_NAME)
		return next(p);		/* true, false, null, enum values */
	if (is_punct(p, '[')) {
		if (next(p) == -1)
			return -1;
		while (!is_punct(p, ']')) {
			if (p->t == T_EOF)
				return fail(p, off, "unterminated list");
			if (value(p, depth + 1, isconst) == -1)
				return -1;
		}
		return next(p);
	}
	if (is_punct(p, '{')) {
		if (next(p) == -1)
			return -1;
		while (!is_punct(p, '}')) {
			if (expect_name(p, "object field name") == -1 ||
			    next(p) == -1 || expect_punct(p, ':') == -1 ||
			    value(p, depth + 1, isconst) == -1)
				return -1;
		}
		return next(p);
	}
	return fail(p, off, "value expected, not %s", tokname(p));
}

/* Arguments (2.6), when there are */
static int
arguments(struct gp *p, int depth, int isconst)
{
	if (!is_punct(p, '('))
		return 0;
	if (next(p) == -1)
		return -1;
	do {
		if (expect_name(p, "argument name") == -1 || next(p) == -1 ||
		    expect_punct(p, ':') == -1 ||
		    value(p, depth + 1, isconst) == -1)
			return -1;
	} while (!is_punct(p, ')'));
	return next(p);
}

/* Directives (2.12), when there are */
static int
directives(struct gp *p, int depth, int isconst)
{
	while (is_punct(p, '@')) {
		if (next(p) == -1 || expect_name(p, "directive name") == -1 ||
		    next(p) == -1 || arguments(p, depth, isconst) == -1)
			return -1;
	}
	return 0;
}

/* Type (2.11) */
static int
type(struct gp *p, int depth)
{
	if (depth > GQL_MAXDEPTH)
		return fail(p, p->toff, "types nested deeper than %d",
		    GQL_MAXDEPTH);
	if (is_punct(p, '[')) {
		if (next(p) == -1 || type(p, depth + 1) == -1 ||
		    expect_punct(p, ']') == -1)
			return -1;
	} else if (expect_name(p, "type") == -1 || next(p) == -1)
		return -1;
	if (is_punct(p, '!'))
		return next(p);
	return 0;
}

static int
new_set(struct gp *p, uint32_t *set)
{
	struct gql_doc	*d = p->d;
	uint32_t	*n;

	if (d->nsets == d->setsz) {
		size_t sz = d->setsz ? d->setsz * 2 : 16;

		if ((n = reallocarray(d->sets, sz, sizeof(*n))) == NULL)
			return fail(p, p->toff, "out of memory");
		d->sets = n;
		d->setsz = sz;
	}
	d->sets[d->nsets] = NOITEM;
	*set = d->nsets++;
	return 0;
}

/* a selection of a kept set, in its order; *last: the set's last item */
static int
new_item(struct gp *p, uint32_t set, uint32_t *last, int kind, size_t off,
    size_t len, uint32_t child)
{
	struct gql_doc	*d = p->d;
	struct gql_item	*n, *it;

	if (d->nitems >= GQL_MAXITEMS)
		return fail(p, off, "more than %d top-level selections",
		    GQL_MAXITEMS);
	if (d->nitems == d->itemsz) {
		size_t sz = d->itemsz ? d->itemsz * 2 : 16;

		if ((n = reallocarray(d->items, sz, sizeof(*n))) == NULL)
			return fail(p, off, "out of memory");
		d->items = n;
		d->itemsz = sz;
	}
	it = &d->items[d->nitems];
	it->kind = kind;
	it->off = off;
	it->len = len;
	it->set = child;
	it->next = NOITEM;
	if (*last == NOITEM)
		d->sets[set] = d->nitems;
	else
		d->items[*last].next = d->nitems;
	*last = d->nitems++;
	return 0;
}

/*
 * SelectionSet (2.4) at '{'.  keep: its selections are top-level ones
 * (of an operation or fragment, or of an inline fragment in one), kept
 * in set; else only parsed.
 */
static int
selset(struct gp *p, int depth, int keep, uint32_t set)
{
	uint32_t	 last = NOITEM, child = 0;
	size_t		 off, len;

	if (depth > GQL_MAXDEPTH)
		return fail(p, p->toff, "selections nested deeper than %d",
		    GQL_MAXDEPTH);
	if (expect_punct(p, '{') == -1)
		return -1;
	if (is_punct(p, '}'))
		return fail(p, p->toff, "empty selection set");
	while (!is_punct(p, '}')) {
		if (p->t == T_SPREAD) {
			off = p->toff;
			if (next(p) == -1)
				return -1;
			if (p->t == T_NAME && !is_name(p, "on")) {
				/* FragmentSpread */
				if (keep && new_item(p, set, &last, GQL_SPREAD,
				    p->toff, p->tlen, 0) == -1)
					return -1;
				if (next(p) == -1 ||
				    directives(p, depth, 0) == -1)
					return -1;
				continue;
			}
			/* InlineFragment */
			if (is_name(p, "on")) {
				if (next(p) == -1 ||
				    expect_name(p, "type condition") == -1 ||
				    next(p) == -1)
					return -1;
			}
			if (directives(p, depth, 0) == -1)
				return -1;
			if (keep && (new_set(p, &child) == -1 ||
			    new_item(p, set, &last, GQL_INLINE, off, 3,
			    child) == -1))
				return -1;
			if (selset(p, depth + 1, keep, child) == -1)
				return -1;
			continue;
		}
		/* Field: Alias? Name */
		if (expect_name(p, "field name") == -1)
			return -1;
		off = p->toff;
		len = p->tlen;
		if (next(p) == -1)
			return -1;
		if (is_punct(p, ':')) {
			if (next(p) == -1 || expect_name(p, "field name "
			    "after an alias") == -1)
				return -1;
			off = p->toff;
			len = p->tlen;
			if (next(p) == -1)
				return -1;
		}
		if (keep && new_item(p, set, &last, GQL_FIELD, off, len, 0) ==
		    -1)
			return -1;
		if (arguments(p, depth, 0) == -1 ||
		    directives(p, depth, 0) == -1)
			return -1;
		if (is_punct(p, '{') && selset(p, depth + 1, 0, 0) == -1)
			return -1;
	}
	return next(p);
}

static int
same_name(const struct gql_doc *d, const struct gql_def *a,
    const struct gql_def *b)
{
	return a->len == b->len && memcmp(d->src + a->off, d->src + b->off,
	    a->len) == 0;
}

/* OperationDefinition or FragmentDefinition (2.3, 2.8) */
static int
definition(struct gp *p)
{
	struct gql_doc	*d = p->d;
	struct gql_def	*def;
	size_t		 off = p->toff, i;

	if (d->ndefs >= GQL_MAXDEFS)
		return fail(p, off, "more than %d definitions", GQL_MAXDEFS);
	def = &d->defs[d->ndefs];
	memset(def, 0, sizeof(*def));
	if (is_punct(p, '{'))
		def->op = GQL_QUERY;	/* the shorthand */
	else if (is_name(p, "query"))
		def->op = GQL_QUERY;
	else if (is_name(p, "mutation"))
		def->op = GQL_MUTATION;
	else if (is_name(p, "subscription"))
		def->op = GQL_SUBSCRIPTION;
	else if (is_name(p, "fragment"))
		def->op = 0;
	else if (p->t == T_NAME)
		return fail(p, off, "%.*s: not an executable definition",
		    (int)(p->tlen > 40 ? 40 : p->tlen), p->s + p->toff);
	else
		return fail(p, off, "definition expected, not %s",
		    tokname(p));
	if (!is_punct(p, '{')) {
		if (next(p) == -1)
			return -1;
		if (def->op == 0) {
			if (expect_name(p, "fragment name") == -1)
				return -1;
			if (is_name(p, "on"))
				return fail(p, p->toff, "fragment named "
				    "\"on\"");
		}
		if (p->t == T_NAME) {
			def->off = p->toff;
			def->len = p->tlen;
			if (next(p) == -1)
				return -1;
		}
		if (def->op == 0) {
			if (!is_name(p, "on"))
				return fail(p, p->toff, "\"on\" expected "
				    "after the fragment name");
			if (next(p) == -1 ||
			    expect_name(p, "type condition") == -1 ||
			    next(p) == -1)
				return -1;
		} else if (is_punct(p, '(')) {
			/* VariableDefinitions */
			if (next(p) == -1)
				return -1;
			do {
				if (expect_punct(p, '$') == -1 ||
				    expect_name(p, "variable name") == -1 ||
				    next(p) == -1 ||
				    expect_punct(p, ':') == -1 ||
				    type(p, 1) == -1)
					return -1;
				if (is_punct(p, '=') && (next(p) == -1 ||
				    value(p, 1, 1) == -1))
					return -1;
				if (directives(p, 1, 1) == -1)
					return -1;
			} while (!is_punct(p, ')'));
			if (next(p) == -1)
				return -1;
		}
		if (directives(p, 1, 0) == -1)
			return -1;
	}
	if (new_set(p, &def->set) == -1 || selset(p, 1, 1, def->set) == -1)
		return -1;
	for (i = 0; i < d->ndefs; i++) {
		const struct gql_def *o = &d->defs[i];

		if ((o->op == 0) != (def->op == 0))
			continue;
		if (def->op != 0 && (o->len == 0 || def->len == 0))
			return fail(p, off, "an anonymous operation beside "
			    "another operation");
		if (same_name(d, o, def))
			return fail(p, off, "%s %.*s defined twice",
			    def->op ? "operation" : "fragment",
			    (int)(def->len > 40 ? 40 : def->len),
			    d->src + def->off);
	}
	if (def->op != 0)
		d->nops++;
	d->ndefs++;
	return 0;
}

int
gql_parse(const char *src, size_t len, struct gql_doc *d, char *why,
    size_t whylen)
{
	struct gp	 p;

	memset(d, 0, sizeof(*d));
	d->src = src;
	d->srclen = len;
	memset(&p, 0, sizeof(p));
	p.d = d;
	p.s = src;
	p.len = len;
	p.why = why;
	p.whylen = whylen;
	if (len > UINT32_MAX)
		return fail(&p, 0, "document too long");
	if (next(&p) == -1)
		return -1;
	if (p.t == T_EOF)
		return fail(&p, 0, "empty document");
	while (p.t != T_EOF)
		if (definition(&p) == -1)
			return -1;
	return 0;
}

void
gql_free(struct gql_doc *d)
{
	free(d->items);
	free(d->sets);
	d->items = NULL;
	d->sets = NULL;
	d->nitems = d->itemsz = d->nsets = d->setsz = 0;
}

const char *
gql_opname(int op)
{
	switch (op) {
	case GQL_QUERY:
		return "query";
	case GQL_MUTATION:
		return "mutation";
	case GQL_SUBSCRIPTION:
		return "subscription";
	}
	return "fragment";
}

int
gql_operation(const struct gql_doc *d, const char *name, char *why,
    size_t whylen)
{
	size_t	 i, n;

	if (d->nops == 0) {
		snprintf(why, whylen, "no operation in the document");
		return -1;
	}
	if (name == NULL && d->nops > 1) {
		snprintf(why, whylen, "%zu operations and no operationName",
		    d->nops);
		return -1;
	}
	n = name != NULL ? strlen(name) : 0;
	for (i = 0; i < d->ndefs; i++) {
		const struct gql_def *def = &d->defs[i];

		if (def->op == 0)
			continue;
		if (name == NULL || (def->len == n && n > 0 &&
		    memcmp(d->src + def->off, name, n) == 0))
			return i;
	}
	snprintf(why, whylen, "operationName %.60s names no operation",
	    name);
	return -1;
}

struct walk {
	const struct gql_doc *d;
	uint8_t		 state[GQL_MAXDEFS];	/* 1 expanding, 2 done */
	int		 (*cb)(const char *, size_t, void *);
	void		*arg;
	char		*why;
	size_t		 whylen;
};

static int
walk_set(struct walk *w, uint32_t set, int depth)
{
	const struct gql_doc *d = w->d;
	uint32_t	 it;
	size_t		 i;
	int		 rv;

	if (depth > GQL_MAXDEPTH + GQL_MAXDEFS) {
		snprintf(w->why, w->whylen, "fragments nested too deep");
		return -1;
	}
	for (it = d->sets[set]; it != NOITEM; it = d->items[it].next) {
		const struct gql_item *x = &d->items[it];

		if (x->kind == GQL_FIELD) {
			if ((rv = w->cb(d->src + x->off, x->len, w->arg)) != 0)
				return rv;
			continue;
		}
		if (x->kind == GQL_INLINE) {
			if ((rv = walk_set(w, x->set, depth + 1)) != 0)
				return rv;
			continue;
		}
		for (i = 0; i < d->ndefs; i++)
			if (d->defs[i].op == 0 && d->defs[i].len == x->len &&
			    memcmp(d->src + d->defs[i].off, d->src + x->off,
			    x->len) == 0)
				break;
		if (i == d->ndefs) {
			snprintf(w->why, w->whylen, "offset %u: spread of an "
			    "unknown fragment %.*s", x->off,
			    (int)(x->len > 40 ? 40 : x->len), d->src + x->off);
			return -1;
		}
		if (w->state[i] == 2)
			continue;	/* its fields are in already */
		if (w->state[i] == 1) {
			snprintf(w->why, w->whylen, "offset %u: fragment %.*s "
			    "spreads itself", x->off,
			    (int)(x->len > 40 ? 40 : x->len), d->src + x->off);
			return -1;
		}
		w->state[i] = 1;
		if ((rv = walk_set(w, d->defs[i].set, depth + 1)) != 0)
			return rv;
		w->state[i] = 2;
	}
	return 0;
}

int
gql_fields(const struct gql_doc *d, int def,
    int (*cb)(const char *, size_t, void *), void *arg, char *why,
    size_t whylen)
{
	struct walk	 w;

	memset(&w, 0, sizeof(w));
	w.d = d;
	w.cb = cb;
	w.arg = arg;
	w.why = why;
	w.whylen = whylen;
	return walk_set(&w, d->defs[def].set, 0);
}
