/*
 * A GraphQL executable document (GraphQL spec, October 2021, 2 and
 * 5.2-5.5 where they fix what an operation is), parsed only as far as
 * rules need (common/policy_graphql.c): its operations (type, name),
 * its fragments, and for each the top-level selections: fields by
 * their NAME (an alias never hides one), fragment spreads, inline
 * fragments.  Everything else (arguments and their values, variables,
 * directives, nested selections) is parsed to the grammar and skipped.
 *
 * Refused, with the byte offset in the document: anything outside the
 * executable grammar (type system definitions, bad tokens, control
 * characters, unterminated strings), nesting deeper than
 * GQL_MAXDEPTH, more than GQL_MAXITEMS selections or GQL_MAXDEFS
 * definitions, two operations or two fragments of one name, an
 * anonymous operation beside another.
 */
#ifndef LENS_GRAPHQL_H
#define LENS_GRAPHQL_H

#include <stddef.h>
#include <stdint.h>

#define GQL_MAXDEPTH	64		/* selection sets, lists, objects */
#define GQL_MAXDEFS	256		/* operations and fragments */
#define GQL_MAXITEMS	65536		/* top-level selections kept */

enum gql_optype { GQL_QUERY = 1, GQL_MUTATION = 2, GQL_SUBSCRIPTION = 4 };
enum gql_kind { GQL_FIELD, GQL_SPREAD, GQL_INLINE };

struct gql_item {			/* one selection */
	uint8_t		 kind;		/* enum gql_kind */
	uint32_t	 off, len;	/* field or fragment name */
	uint32_t	 set;		/* GQL_INLINE: its selection set */
	uint32_t	 next;		/* in its set, UINT32_MAX: last */
};

struct gql_def {
	int		 op;		/* enum gql_optype, 0: a fragment */
	uint32_t	 off, len;	/* its name; len 0: anonymous */
	uint32_t	 set;		/* its selection set */
};

struct gql_doc {
	const char	*src;
	size_t		 srclen;
	struct gql_def	 defs[GQL_MAXDEFS];
	size_t		 ndefs, nops;
	struct gql_item	*items;
	size_t		 nitems, itemsz;
	uint32_t	*sets;		/* the first item of each set */
	size_t		 nsets, setsz;
};

/* 0, or -1 with why ("offset N: ..."); gql_free() either way */
int	gql_parse(const char *src, size_t len, struct gql_doc *, char *why,
	    size_t whylen);
void	gql_free(struct gql_doc *);
/*
 * The operation a request runs: the one named name (NULL: the only
 * one).  Its index in defs, or -1 with why.
 */
int	gql_operation(const struct gql_doc *, const char *name, char *why,
	    size_t whylen);
/*
 * Every top-level field of operation def, fragments expanded (each
 * once), by name: cb returns 0 to go on, else that ends the walk and is
 * returned.  -1 with why for a spread of an unknown fragment or a
 * fragment cycle.
 */
int	gql_fields(const struct gql_doc *, int def,
	    int (*cb)(const char *name, size_t len, void *), void *arg,
	    char *why, size_t whylen);
const char *gql_opname(int op);

#endif
