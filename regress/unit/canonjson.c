/*
 * Unit test of common/canonjson.c (TAP).  Every example has an exact
 * expectation for canonjson_check and, checked in the same test, for
 * jansson itself: whether json_loadb(JSON_REJECT_DUPLICATES) gives an
 * object that json_dumps(JSON_COMPACT | JSON_SORT_KEYS |
 * JSON_ENSURE_ASCII) turns back into the same bytes.  The fast check
 * may say 0 for a canonical text (a real, deep nesting) but
 * never 1 for one that is not.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "canonjson.h"
#include "tap.h"

#define DUMPFLAGS	(JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII)

struct example {
	const char	*text;
	size_t		 len;		/* 0: strlen(text) */
	int		 fast;		/* canonjson_check's answer */
	int		 canon;		/* jansson round trips it */
	const char	*what;
};

static const struct example examples[] = {
	/* accepted */
	{ "{}", 0, 1, 1, "empty object" },
	{ "{\"n\":1,\"pad\":\"xx\"}", 0, 1, 1, "the bench's details" },
	{ "{\"a\":{\"b\":[1,2,{\"c\":null}]},\"d\":true,\"e\":false}", 0,
	    1, 1, "nested objects and arrays" },
	{ "{\"a\":[],\"b\":{},\"c\":[[]],\"d\":[{}]}", 0, 1, 1,
	    "empty containers" },
	{ "{\"a\":[\"x\",1,true,false,null,[2],{\"y\":-3}]}", 0, 1, 1,
	    "every kind of value in an array" },
	{ "{\"s\":\"a\\\"b\\\\c\\b\\f\\n\\r\\t\"}", 0, 1, 1,
	    "the short escapes" },
	{ "{\"s\":\"\\u0001\\u000B\\u001F\"}", 0, 1, 1,
	    "control characters as \\u00XX, upper case" },
	{ "{\"s\":\" !#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}~\"}", 0, 1, 1,
	    "printable ASCII as it is, '/' unescaped" },
	{ "{\"s\":\"caf\\u00E9 \\u20AC \\uFFFF\"}", 0, 1, 1,
	    "BMP code points as \\uXXXX" },
	{ "{\"s\":\"\\uD83D\\uDE00\\uDBFF\\uDFFF\"}", 0, 1, 1,
	    "surrogate pairs" },
	{ "{\"a\":0,\"b\":-1,\"c\":9223372036854775807,"
	    "\"d\":-9223372036854775808,\"e\":1000000}", 0, 1, 1,
	    "integers, long long limits" },
	{ "{\"a\":\"\x7f\",\"\x7f\":1}", 0, 1, 1,
	    "a raw DEL, as jansson writes it" },
	{ "{\"A\":1,\"B\":2,\"_\":3,\"a\":4}", 0, 1, 1,
	    "keys in byte order (upper case first)" },
	{ "{\"a\":1,\"aa\":2,\"ab\":3,\"b\":4}", 0, 1, 1,
	    "a key before its extensions" },
	{ "{\"\":1,\"a\":2}", 0, 1, 1, "empty key first" },
	{ "{\"\\t\":1,\" \":2}", 0, 1, 1,
	    "keys compared decoded: TAB before space" },
	{ "{\"z\":1,\"\\u00E9\":2}", 0, 1, 1,
	    "keys compared decoded: z before U+00E9" },
	{ "{\"\\uFFFF\":1,\"\\uD800\\uDC00\":2}", 0, 1, 1,
	    "keys compared as UTF-8, not UTF-16" },
	{ "{\"a\":1,\"a\\\"\":2,\"a\\\\\":3}", 0, 1, 1,
	    "escaped quote and backslash in keys" },
	{ "{\"k\":{\"b\":1,\"c\":2},\"l\":{\"a\":1}}", 0, 1, 1,
	    "key order is per object" },
	/* canonical, but left to jansson */
	{ "{\"a\":1.5}", 0, 0, 1, "a real" },
	{ "{\"a\":1.0}", 0, 0, 1, "a real with a zero fraction" },
	{ "{\"a\":0.10000000000000001}", 0, 0, 1, "a real, 17 digits" },
	/* not canonical or not JSON */
	{ "", 0, 0, 0, "empty input" },
	{ "{", 0, 0, 0, "lone brace" },
	{ "[]", 0, 0, 0, "array at the top" },
	{ "\"a\"", 0, 0, 0, "string at the top" },
	{ "1", 0, 0, 0, "number at the top" },
	{ "null", 0, 0, 0, "null at the top" },
	{ "{\"b\":1,\"a\":2}", 0, 0, 0, "unsorted keys" },
	{ "{\"aa\":1,\"a\":2}", 0, 0, 0, "extension before its prefix" },
	{ "{\"a\":1,\"a\":2}", 0, 0, 0, "duplicate keys" },
	{ "{\"a\":{\"x\":1,\"x\":2}}", 0, 0, 0, "nested duplicate keys" },
	{ "{\"\\u0061\":1,\"a\":2}", 0, 0, 0,
	    "duplicate keys, one escaped" },
	{ "{\" \":1,\"\\t\":2}", 0, 0, 0,
	    "keys in raw order, not decoded order" },
	{ "{\"\\uD800\\uDC00\":1,\"\\uFFFF\":2}", 0, 0, 0,
	    "keys in UTF-16 order" },
	{ "{ }", 0, 0, 0, "space in an empty object" },
	{ "{\"a\":1, \"b\":2}", 0, 0, 0, "space after a comma" },
	{ "{\"a\": 1}", 0, 0, 0, "space after a colon" },
	{ "{\"a\" :1}", 0, 0, 0, "space before a colon" },
	{ " {\"a\":1}", 0, 0, 0, "leading space" },
	{ "{\"a\":1}\n", 0, 0, 0, "trailing newline" },
	{ "{\"a\":[1, 2]}", 0, 0, 0, "space in an array" },
	{ "{\"a\":01}", 0, 0, 0, "leading zero" },
	{ "{\"a\":00}", 0, 0, 0, "two zeros" },
	{ "{\"a\":-0}", 0, 0, 0, "-0" },
	{ "{\"a\":-01}", 0, 0, 0, "-01" },
	{ "{\"a\":+1}", 0, 0, 0, "plus sign" },
	{ "{\"a\":-}", 0, 0, 0, "lone minus" },
	{ "{\"a\":9223372036854775808}", 0, 0, 0, "2^63" },
	{ "{\"a\":-9223372036854775809}", 0, 0, 0, "-2^63-1" },
	{ "{\"a\":12345678901234567890}", 0, 0, 0, "20 digits" },
	{ "{\"a\":0.1}", 0, 0, 0, "a real jansson prints longer" },
	{ "{\"a\":1e3}", 0, 0, 0, "exponent" },
	{ "{\"a\":1E3}", 0, 0, 0, "upper case exponent" },
	{ "{\"a\":\"\t\"}", 0, 0, 0, "raw TAB in a string" },
	{ "{\"a\":\"\x1f\"}", 0, 0, 0, "raw 0x1f in a string" },
	{ "{\"a\":\"b\0\"}", 8, 0, 0, "raw NUL in a string" },
	{ "{\"a\":\"\\u0000\"}", 0, 0, 0, "\\u0000" },
	{ "{\"\\u0000\":1}", 0, 0, 0, "\\u0000 in a key" },
	{ "{\"a\":\"\\u0009\"}", 0, 0, 0, "\\u0009 for \\t" },
	{ "{\"a\":\"\\u000a\"}", 0, 0, 0, "\\u000a for \\n" },
	{ "{\"a\":\"\\u0041\"}", 0, 0, 0, "\\u0041 for A" },
	{ "{\"a\":\"\\u007F\"}", 0, 0, 0, "\\u007F for DEL" },
	{ "{\"a\":\"\\u001f\"}", 0, 0, 0, "lower case hex, control" },
	{ "{\"a\":\"\\u00e9\"}", 0, 0, 0, "lower case hex, non-ASCII" },
	{ "{\"a\":\"\\/\"}", 0, 0, 0, "\\/" },
	{ "{\"a\":\"\\x\"}", 0, 0, 0, "bad escape \\x" },
	{ "{\"a\":\"\\'\"}", 0, 0, 0, "bad escape \\'" },
	{ "{\"a\":\"\\u12\"}", 0, 0, 0, "short \\u escape" },
	{ "{\"a\":\"\\uDE00\"}", 0, 0, 0, "lone low surrogate" },
	{ "{\"a\":\"\\uD83D\"}", 0, 0, 0, "lone high surrogate" },
	{ "{\"a\":\"\\uD83Dx\"}", 0, 0, 0, "high surrogate, then ASCII" },
	{ "{\"a\":\"\\uD83D\\u0041\"}", 0, 0, 0,
	    "high surrogate, then not a low one" },
	{ "{\"a\":\"\\uD83D\\uD83D\"}", 0, 0, 0, "two high surrogates" },
	{ "{\"a\":\"\xc3\xa9\"}", 0, 0, 0, "raw UTF-8" },
	{ "{\"a\":\"\xff\"}", 0, 0, 0, "invalid UTF-8" },
	{ "{\"a\":\"\\\"}", 0, 0, 0, "escaped closing quote" },
	{ "{\"a\":\"x}", 0, 0, 0, "unterminated string" },
	{ "{a:1}", 0, 0, 0, "unquoted key" },
	{ "{\"a\":'x'}", 0, 0, 0, "single quotes" },
	{ "{\"a\":1,}", 0, 0, 0, "trailing comma in an object" },
	{ "{\"a\":[1,]}", 0, 0, 0, "trailing comma in an array" },
	{ "{\"a\":[,1]}", 0, 0, 0, "leading comma in an array" },
	{ "{,}", 0, 0, 0, "lone comma" },
	{ "{\"a\"}", 0, 0, 0, "key without a value" },
	{ "{\"a\":}", 0, 0, 0, "colon without a value" },
	{ "{\"a\"::1}", 0, 0, 0, "two colons" },
	{ "{\"a\":1\"b\":2}", 0, 0, 0, "missing comma" },
	{ "{\"a\":tru}", 0, 0, 0, "truncated true" },
	{ "{\"a\":True}", 0, 0, 0, "True" },
	{ "{\"a\":nulls}", 0, 0, 0, "nulls" },
	{ "{\"a\":NaN}", 0, 0, 0, "NaN" },
	{ "{\"a\":[1}", 0, 0, 0, "mismatched brackets" },
	{ "{\"a\":{]}", 0, 0, 0, "mismatched braces" },
	{ "{}{}", 0, 0, 0, "two objects" },
	{ "{\"a\":1}x", 0, 0, 0, "trailing byte" },
	{ "{\"a\":1}}", 0, 0, 0, "trailing brace" },
	{ "{\"a\":1}\0", 9, 0, 0, "trailing NUL" },
};



/* 1 if jansson loads buf as an object and dumps it to the same bytes */
static int
jansson_canon(const char *buf, size_t len)
{
	json_t	*j;
	char	*out;
	int	 same;

	if ((j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return 0;
	if (!json_is_object(j)) {
		json_decref(j);
		return 0;
	}
	out = json_dumps(j, DUMPFLAGS);
	json_decref(j);
	if (out == NULL)
		return 0;
	same = strlen(out) == len && memcmp(out, buf, len) == 0;
	free(out);
	return same;
}

static void
test_examples(void)
{
	const struct example *e;
	size_t		 i, len;
	int		 fast, canon;

	for (i = 0; i < sizeof(examples) / sizeof(examples[0]); i++) {
		e = &examples[i];
		len = e->len != 0 ? e->len : strlen(e->text);
		fast = canonjson_check(e->text, len);
		canon = jansson_canon(e->text, len);
		ok(fast == e->fast && canon == e->canon,
		    "%s: check %d (want %d), jansson %s", e->what, fast,
		    e->fast, canon ? "canonical" : "not canonical");
	}
}

/* every proper prefix of an accepted text is refused, by both */
static void
test_prefixes(void)
{
	static const char *full[] = {
		"{\"a\":{\"b\":[1,-2,{\"c\":null}]},\"d\":true,\"e\":\"x\\n\"}",
		"{\"s\":\"\\uD83D\\uDE00\",\"t\":false,\"u\":-123}",
	};
	size_t		 i, n, len, bad;

	for (i = 0; i < sizeof(full) / sizeof(full[0]); i++) {
		len = strlen(full[i]);
		bad = 0;
		for (n = 0; n < len; n++)
			if (canonjson_check(full[i], n) ||
			    jansson_canon(full[i], n))
				bad++;
		ok(canonjson_check(full[i], len) == 1 && bad == 0,
		    "example %zu accepted whole, none of its %zu prefixes "
		    "(%zu accepted)", i + 1, len, bad);
	}
}

/*
 * n nested containers, outermost an object: {"a":{"a":...1...}} or,
 * with arrays, objects and arrays in turn: {"a":[{"a":[...1...]}]}.
 */
static char *
nested(int n, int arrays, size_t *lenp)
{
	char	*s, *p, *close;
	int	 i;

	if ((s = malloc((size_t)n * 6 + 2)) == NULL ||
	    (close = malloc((size_t)n)) == NULL)
		abort();
	p = s;
	for (i = 0; i < n; i++) {
		if (!arrays || i % 2 == 0) {
			memcpy(p, "{\"a\":", 5);
			p += 5;
			close[i] = '}';
		} else {
			*p++ = '[';
			close[i] = ']';
		}
	}
	*p++ = '1';
	while (i > 0)
		*p++ = close[--i];
	free(close);
	*lenp = (size_t)(p - s);
	return s;
}

static void
test_depth(void)
{
	char	*s;
	size_t	 len;
	int	 arrays;

	for (arrays = 0; arrays <= 1; arrays++) {
		s = nested(CANONJSON_MAXDEPTH, arrays, &len);
		ok(canonjson_check(s, len) == 1 && jansson_canon(s, len),
		    "%d nested %s: accepted", CANONJSON_MAXDEPTH,
		    arrays ? "objects and arrays" : "objects");
		free(s);
		s = nested(CANONJSON_MAXDEPTH + 1, arrays, &len);
		ok(canonjson_check(s, len) == 0 && jansson_canon(s, len),
		    "%d nested %s: left to jansson", CANONJSON_MAXDEPTH + 1,
		    arrays ? "objects and arrays" : "objects");
		free(s);
	}
	/* far deeper than jansson's own limit: no stack overflow */
	len = 100000;
	if ((s = malloc(len * 2)) == NULL)
		abort();
	memset(s, '[', len * 2);
	s[0] = '{';
	memcpy(s + 1, "\"a\":", 4);
	ok(canonjson_check(s, len * 2) == 0, "200000 bytes of nesting: 0");
	free(s);
}

/* a long string of every printable character, and a big object */
static void
test_long(void)
{
	char	*s, *p;
	size_t	 i, len;

	len = 200000;
	if ((s = malloc(len + 64)) == NULL)
		abort();
	p = s + sprintf(s, "{\"pad\":\"");
	for (i = 0; i < len; i++) {
		*p = (char)(0x20 + i % 95);
		if (*p == '"' || *p == '\\')
			*p = 'x';
		p++;
	}
	p += sprintf(p, "\"}");
	ok(canonjson_check(s, (size_t)(p - s)) == 1 &&
	    jansson_canon(s, (size_t)(p - s)), "200000-byte string");
	free(s);

	if ((s = malloc(100000 * 16 + 16)) == NULL)
		abort();
	p = s;
	*p++ = '{';
	for (i = 0; i < 100000; i++)
		p += sprintf(p, "%s\"k%06zu\":%zu", i ? "," : "", i, i);
	*p++ = '}';
	ok(canonjson_check(s, (size_t)(p - s)) == 1 &&
	    jansson_canon(s, (size_t)(p - s)), "object of 100000 keys");
	memcpy(s + 2, "k000010", 7);	/* was "k000000" */
	ok(canonjson_check(s, (size_t)(p - s)) == 0 &&
	    !jansson_canon(s, (size_t)(p - s)),
	    "object of 100000 keys, first key out of order");
	free(s);
}

int
main(void)
{
	int	 plan;

	plan = (int)(sizeof(examples) / sizeof(examples[0])) + 2 + 5 + 3;
	tap_plan(plan);
	test_examples();
	test_prefixes();
	test_depth();
	test_long();
	return tap_done();
}
