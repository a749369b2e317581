/*
 * Canonical JSON check, see canonjson.h.  One pass, recursive descent
 * bounded by CANONJSON_MAXDEPTH, no allocation.
 *
 * What jansson 2.14 produces with JSON_COMPACT | JSON_SORT_KEYS |
 * JSON_ENSURE_ASCII (dump.c), and so what is accepted here:
 *   - no whitespace anywhere;
 *   - object keys sorted by memcmp of their decoded UTF-8 bytes, a
 *     shorter key first when it is a prefix of a longer one
 *     (compare_keys); with JSON_REJECT_DUPLICATES that means strictly
 *     increasing;
 *   - strings: bytes 0x20-0x7f other than '"' and '\' as they are
 *     (DEL included: it is not a control character to JSON);
 *     '"' '\' BS FF LF CR TAB as \" \\ \b \f \n \r \t; other control
 *     characters as \u00XX and code points above 0x7f as \uXXXX, upper
 *     case hex, a surrogate pair above 0xffff; '/' is not escaped.
 *     U+0000 is refused by json_loadb (no JSON_ALLOW_NUL), and so are
 *     unpaired surrogates;
 *   - integers as printf("%lld"), which json_loadb reads with strtoll:
 *     no leading zero, no "-0", within long long;
 *   - true, false, null, arrays.
 * Not accepted although canonical (the caller falls back to jansson):
 * reals, whose canonical form is jansson's dtoa, and deeper nesting than
 * CANONJSON_MAXDEPTH.
 */
#include <stdint.h>
#include <string.h>

#include "canonjson.h"

struct cj {
	const unsigned char	*p, *end;
};

/* bytes that stand for themselves inside a canonical string */
static const unsigned char plain[256] = {
	[0x20 ... 0x21] = 1,	/* not '"' */
	[0x23 ... 0x5b] = 1,	/* not '\\' */
	[0x5d ... 0x7f] = 1,	/* DEL too (jansson writes it raw) */
};

static int	cj_value(struct cj *, int);

#define ONES	0x0101010101010101ULL
#define HIGHS	0x8080808080808080ULL

/*
 * Nonzero if one of the 8 bytes at p is not plain: above 0x7f, below
 * 0x20 (Hacker's Delight "has less than"), '"' or '\' ("has zero" of
 * the XOR).  Each test is exact as to whether some byte matches.
 */
static inline uint64_t
special8(const unsigned char *p)
{
	uint64_t	 w, q, b;

	memcpy(&w, p, sizeof(w));
	q = w ^ (ONES * '"');
	b = w ^ (ONES * '\\');
	return (w | ((w - ONES * 0x20) & ~w) | ((q - ONES) & ~q) |
	    ((b - ONES) & ~b)) & HIGHS;
}

/* four upper case hex digits (as jansson's "%04X"), or -1 */
static long
hex4(const unsigned char *p)
{
	long	 v = 0;
	int	 i;

	for (i = 0; i < 4; i++) {
		if (p[i] >= '0' && p[i] <= '9')
			v = v * 16 + (p[i] - '0');
		else if (p[i] >= 'A' && p[i] <= 'F')
			v = v * 16 + (p[i] - 'A' + 10);
		else
			return -1;
	}
	return v;
}

/*
 * A string at c->p (the opening quote).  On success c->p is just past
 * the closing quote and *esc says whether there was any escape.
 */
static int
cj_string(struct cj *c, int *esc)
{
	const unsigned char	*p = c->p + 1, *end = c->end;
	long			 u, lo;

	*esc = 0;
	for (;;) {
		while (end - p >= 8 && !special8(p))
			p += 8;
		while (p < end && plain[*p])
			p++;
		if (p >= end)
			return 0;
		if (*p == '"')
			break;
		if (*p != '\\' || end - p < 2)
			return 0;	/* control, non-ASCII, or cut */
		*esc = 1;
		switch (p[1]) {
		case '"':
		case '\\':
		case 'b':
		case 'f':
		case 'n':
		case 'r':
		case 't':
			p += 2;
			continue;
		case 'u':
			break;
		default:
			return 0;	/* "\/" too: jansson writes '/' */
		}
		if (end - p < 6 || (u = hex4(p + 2)) == -1)
			return 0;
		p += 6;
		/* U+0000; what has a short form; what is plain ASCII */
		if (u == 0 || u == '\b' || u == '\t' || u == '\n' ||
		    u == '\f' || u == '\r' || (u >= 0x20 && u <= 0x7f))
			return 0;
		if (u >= 0xdc00 && u <= 0xdfff)
			return 0;	/* a low surrogate first */
		if (u >= 0xd800 && u <= 0xdbff) {
			if (end - p < 6 || p[0] != '\\' || p[1] != 'u' ||
			    (lo = hex4(p + 2)) < 0xdc00 || lo > 0xdfff)
				return 0;
			p += 6;
		}
	}
	c->p = p + 1;
	return 1;
}

/* integers only, in the form "%lld" gives; reals are not checked */
static int
cj_number(struct cj *c)
{
	const unsigned char	*p = c->p, *end = c->end, *d;
	int			 neg = 0;

	if (*p == '-') {
		neg = 1;
		p++;
	}
	d = p;
	if (p >= end || *p < '0' || *p > '9')
		return 0;
	if (*p == '0') {
		if (neg)
			return 0;	/* "-0" dumps as "0" */
		p++;
	} else {
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	/* "01", or a real: '.', 'e', 'E' */
	if (p < end && ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' ||
	    *p == 'E'))
		return 0;
	if (p - d > 19)
		return 0;
	if (p - d == 19 && memcmp(d, neg ? "9223372036854775808" :
	    "9223372036854775807", 19) > 0)
		return 0;	/* strtoll: ERANGE */
	c->p = p;
	return 1;
}

/* a cursor over the contents [p, end) of a string cj_string accepted */
struct cj_dec {
	const unsigned char	*p, *end;
	unsigned char		 b[4];	/* the rest of a UTF-8 sequence */
	int			 i, n;
};

/*
 * The next byte of the decoded string, or -1 at the end.  Escapes are
 * decoded to UTF-8, which is how jansson stores keys.
 */
static int
dec_next(struct cj_dec *d)
{
	long	 u;

	if (d->i < d->n)
		return d->b[d->i++];
	if (d->p >= d->end)
		return -1;
	if (*d->p != '\\')
		return *d->p++;
	d->p += 2;
	switch (d->p[-1]) {
	case 'b':
		return '\b';
	case 'f':
		return '\f';
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 't':
		return '\t';
	case 'u':
		break;
	default:
		return d->p[-1];	/* '"' or '\\' */
	}
	u = hex4(d->p);
	d->p += 4;
	if (u >= 0xd800 && u <= 0xdbff) {
		u = 0x10000 + ((u - 0xd800) << 10) + (hex4(d->p + 2) - 0xdc00);
		d->p += 6;
	}
	d->i = 1;
	if (u < 0x80) {
		d->n = 0;
		return (int)u;
	} else if (u < 0x800) {
		d->b[0] = 0xc0 | (u >> 6);
		d->b[1] = 0x80 | (u & 0x3f);
		d->n = 2;
	} else if (u < 0x10000) {
		d->b[0] = 0xe0 | (u >> 12);
		d->b[1] = 0x80 | ((u >> 6) & 0x3f);
		d->b[2] = 0x80 | (u & 0x3f);
		d->n = 3;
	} else {
		d->b[0] = 0xf0 | (u >> 18);
		d->b[1] = 0x80 | ((u >> 12) & 0x3f);
		d->b[2] = 0x80 | ((u >> 6) & 0x3f);
		d->b[3] = 0x80 | (u & 0x3f);
		d->n = 4;
	}
	return d->b[0];
}

/* jansson's compare_keys on the decoded keys; a and b are contents */
static int
keycmp(const unsigned char *a, size_t alen, int aesc,
    const unsigned char *b, size_t blen, int besc)
{
	struct cj_dec	 da, db;
	int		 x, y, r;

	if (!aesc && !besc) {
		if ((r = memcmp(a, b, alen < blen ? alen : blen)) != 0)
			return r;
		return alen < blen ? -1 : alen > blen;
	}
	memset(&da, 0, sizeof(da));
	memset(&db, 0, sizeof(db));
	da.p = a;
	da.end = a + alen;
	db.p = b;
	db.end = b + blen;
	do {
		x = dec_next(&da);
		y = dec_next(&db);
		if (x != y)
			return x < y ? -1 : 1;
	} while (x != -1);
	return 0;
}

static int
cj_object(struct cj *c, int depth)
{
	const unsigned char	*key, *prev = NULL;
	size_t			 keylen, prevlen = 0;
	int			 esc, prevesc = 0;

	if (depth >= CANONJSON_MAXDEPTH)
		return 0;
	c->p++;
	if (c->p < c->end && *c->p == '}') {
		c->p++;
		return 1;
	}
	for (;;) {
		if (c->p >= c->end || *c->p != '"')
			return 0;
		key = c->p + 1;
		if (!cj_string(c, &esc))
			return 0;
		keylen = (size_t)(c->p - 1 - key);
		if (prev != NULL &&
		    keycmp(prev, prevlen, prevesc, key, keylen, esc) >= 0)
			return 0;	/* unsorted, or a duplicate */
		prev = key;
		prevlen = keylen;
		prevesc = esc;
		if (c->p >= c->end || *c->p != ':')
			return 0;
		c->p++;
		if (!cj_value(c, depth + 1))
			return 0;
		if (c->p >= c->end)
			return 0;
		if (*c->p == '}') {
			c->p++;
			return 1;
		}
		if (*c->p != ',')
			return 0;
		c->p++;
	}
}

static int
cj_array(struct cj *c, int depth)
{
	if (depth >= CANONJSON_MAXDEPTH)
		return 0;
	c->p++;
	if (c->p < c->end && *c->p == ']') {
		c->p++;
		return 1;
	}
	for (;;) {
		if (!cj_value(c, depth + 1))
			return 0;
		if (c->p >= c->end)
			return 0;
		if (*c->p == ']') {
			c->p++;
			return 1;
		}
		if (*c->p != ',')
			return 0;
		c->p++;
	}
}

static int
cj_literal(struct cj *c, const char *lit, size_t len)
{
	if ((size_t)(c->end - c->p) < len || memcmp(c->p, lit, len) != 0)
		return 0;
	c->p += len;
	return 1;
}

/* a value at c->p; depth is the number of enclosing objects and arrays */
static int
cj_value(struct cj *c, int depth)
{
	int	 esc;

	if (c->p >= c->end)
		return 0;
	switch (*c->p) {
	case '{':
		return cj_object(c, depth);
	case '[':
		return cj_array(c, depth);
	case '"':
		return cj_string(c, &esc);
	case 't':
		return cj_literal(c, "true", 4);
	case 'f':
		return cj_literal(c, "false", 5);
	case 'n':
		return cj_literal(c, "null", 4);
	case '-':
	case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		return cj_number(c);
	default:
		return 0;
	}
}

int
canonjson_check(const char *buf, size_t len)
{
	struct cj	 c;

	if (buf == NULL || len < 2 || buf[0] != '{')
		return 0;
	c.p = (const unsigned char *)buf;
	c.end = c.p + len;
	if (!cj_object(&c, 0))
		return 0;
	return c.p == c.end;
}
