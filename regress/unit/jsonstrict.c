/*
 * Unit test of common/jsonstrict.c (TAP): what a rule may read and
 * what it must refuse, each with the reason the refusal names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jsonstrict.h"
#include "tap.h"

struct example {
	const char	*text;
	size_t		 len;		/* 0: strlen(text) */
	size_t		 depth;		/* the bound */
	const char	*why;		/* NULL: accepted; else in the reason */
	const char	*what;
};

static const struct example examples[] = {
	{ "{\"query\":\"{ a }\"}", 0, 64, NULL, "an object" },
	{ "[{\"query\":\"{ a }\"},{\"query\":\"{ b }\"}]", 0, 64, NULL,
	    "an array (a batch)" },
	{ " \r\n\t{\"a\":1} \n", 0, 64, NULL, "whitespace around the value" },
	{ "1", 0, 64, NULL, "a scalar (the matcher refuses it)" },
	{ "{\"a\":\"caf\xc3\xa9\"}", 0, 64, NULL, "UTF-8" },
	{ "{\"a\":\"\\u0000\"}", 0, 64, "\\u0000", "an escaped NUL" },
	{ "", 0, 64, "empty body", "nothing" },
	{ "   ", 0, 64, "not strict JSON", "only whitespace" },
	{ "{\"a\":1,\"a\":2}", 0, 64, "duplicate", "a duplicate key" },
	{ "{\"b\":{\"a\":1,\"a\":1}}", 0, 64, "duplicate",
	    "a duplicate key, nested, same value" },
	{ "{\"a\":1}x", 0, 64, "end of file expected", "trailing data" },
	{ "{\"a\":1}{\"a\":2}", 0, 64, "end of file expected",
	    "a second value" },
	{ "{\"a\":1}\0", 8, 64, "not strict JSON", "a NUL after the value" },
	{ "{\"a\":\"x\0y\"}", 11, 64, "not strict JSON", "a raw NUL in a string" },
	{ "{\"a\":\"\xff\"}", 0, 64, "not strict JSON", "invalid UTF-8" },
	{ "{'a':1}", 0, 64, "not strict JSON", "single quotes" },
	{ "{\"a\":1,}", 0, 64, "not strict JSON", "a trailing comma" },
	{ "{\"a\":NaN}", 0, 64, "not strict JSON", "NaN" },
	{ "{\"a\":99999999999999999999}", 0, 64, "not strict JSON",
	    "an integer jansson cannot hold" },
	{ "[[[]]]", 0, 3, NULL, "nesting at the bound" },
	{ "[[[[]]]]", 0, 3, "nested deeper than 3", "nesting past the bound" },
	{ "{\"a\":{\"b\":{\"c\":{}}}}", 0, 3, "nested deeper than 3",
	    "objects past the bound" },
	{ "[1,[2,[3,{\"x\":[4]}]]]", 0, 4, "nested deeper than 4",
	    "the deep branch is not the first" },
};

int
main(void)
{
	char	 why[256], big[5000];
	json_t	*v;
	size_t	 i, len;

	tap_plan(sizeof(examples) / sizeof(examples[0]) * 2 + 2);
	for (i = 0; i < sizeof(examples) / sizeof(examples[0]); i++) {
		const struct example *e = &examples[i];

		why[0] = '\0';
		len = e->len != 0 ? e->len : strlen(e->text);
		v = jsonstrict_parse(e->text, len, e->depth, why, sizeof(why));
		ok_detail((v != NULL) == (e->why == NULL), e->what, why);
		ok_detail(e->why == NULL ? why[0] == '\0' :
		    strstr(why, e->why) != NULL, "... its reason", why);
		json_decref(v);
	}
	/* jansson's own bound (2048) is not reached first: ours names it */
	for (i = 0; i < 2100; i++) {
		big[i] = '[';
		big[2100 + i] = ']';
	}
	v = jsonstrict_parse(big, 4200, JSONSTRICT_MAXDEPTH, why, sizeof(why));
	ok_detail(v == NULL, "2100 nested arrays refused", why);
	json_decref(v);
	v = jsonstrict_parse(big + 2100 - 64, 128, JSONSTRICT_MAXDEPTH, why,
	    sizeof(why));
	ok_detail(v != NULL, "64 nested arrays at the default bound", why);
	json_decref(v);
	return tap_done();
}
