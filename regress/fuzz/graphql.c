/*
 * libFuzzer target for common/graphql.c, the GraphQL document parser
 * that graphql: rules judge requests by.  Whatever the bytes: no fault
 * (ASan, UBSan), linear work; a parsed document's names all lie inside
 * it and are GraphQL names; its operations are unique by name, an
 * anonymous one alone; and the rules' view of it is stable: the same
 * document with every comma made a space and a comment appended parses
 * the same way, to the same operations and the same top-level fields
 * (commas and comments are ignored tokens, so a judge that reads them
 * differently from a server could be fooled).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graphql.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
isname(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!(s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') || (i > 0 && s[i] >= '0' &&
		    s[i] <= '9')))
			return 0;
	return 1;
}

struct acc {
	char	 buf[4096];
	size_t	 len;
};

static int
collect(const char *name, size_t len, void *arg)
{
	struct acc	*a = arg;

	if (!isname(name, len))
		abort();
	if (a->len + len + 1 < sizeof(a->buf)) {
		memcpy(a->buf + a->len, name, len);
		a->len += len;
		a->buf[a->len++] = ' ';
	}
	return 0;
}

/* the operations and their fields, as text */
static int
view(const char *s, size_t len, struct acc *a)
{
	struct gql_doc	 d;
	char		 why[200];
	size_t		 i, j;
	int		 rv;

	memset(a, 0, sizeof(*a));
	if (gql_parse(s, len, &d, why, sizeof(why)) == -1) {
		if (strncmp(why, "offset ", 7) != 0)
			abort();
		gql_free(&d);
		return -1;
	}
	for (i = 0; i < d.ndefs; i++) {
		const struct gql_def *f = &d.defs[i];

		if ((size_t)f->off + f->len > len ||
		    (f->len > 0 && !isname(s + f->off, f->len)) ||
		    (f->op == 0 && f->len == 0))
			abort();
		for (j = 0; j < i; j++)
			if ((d.defs[j].op == 0) == (f->op == 0) &&
			    d.defs[j].len == f->len && (f->op == 0 ||
			    f->len > 0) && memcmp(s + d.defs[j].off,
			    s + f->off, f->len) == 0)
				abort();
		if (f->op != 0 && f->len == 0 && d.nops != 1)
			abort();
	}
	for (i = 0; i < d.nitems; i++)
		if ((size_t)d.items[i].off + d.items[i].len > len)
			abort();
	for (i = 0; i < d.ndefs; i++) {
		if (d.defs[i].op == 0)
			continue;
		if (a->len + 16 < sizeof(a->buf))
			a->len += snprintf(a->buf + a->len, 16, "%s:",
			    gql_opname(d.defs[i].op));
		rv = gql_fields(&d, i, collect, a, why, sizeof(why));
		if (rv == -1 && a->len + 2 < sizeof(a->buf))
			a->len += snprintf(a->buf + a->len, 3, "!;");
	}
	gql_free(&d);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct acc a, b;
	char		*s;
	size_t		 i;
	int		 r1, r2, instr = 0;

	if (len > 65536)
		return 0;
	r1 = view((const char *)data, len, &a);
	if (r1 == -1)
		return 0;
	/* commas outside strings as spaces, a comment after */
	if ((s = malloc(len + 16)) == NULL)
		return 0;
	memcpy(s, data, len);
	for (i = 0; i < len; i++) {
		if (s[i] == '"')
			instr = 1;	/* leave documents with strings be */
		if (s[i] == '#')
			instr = 1;
	}
	if (!instr)
		for (i = 0; i < len; i++)
			if (s[i] == ',')
				s[i] = ' ';
	memcpy(s + len, "\n# } mutation", 13);
	r2 = view(s, len + 13, &b);
	if (r2 != 0 || a.len != b.len || memcmp(a.buf, b.buf, a.len) != 0)
		abort();
	free(s);
	return 0;
}
