/*
 * libFuzzer target for common/jsonstrict.c: the strict parse of request
 * bodies that rules read.  Whatever the bytes, an accepted body must be
 * what a lenient parser reads too (jansson without duplicate-key
 * rejection, the way many upstreams parse): the same value, so no
 * duplicate key or trailing byte slipped through to be read another way;
 * it must nest no deeper than the bound; and its own serialisation must
 * be accepted again as the same value.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jsonstrict.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define DEPTH	8

static size_t
depth(const json_t *v)
{
	const char	*k;
	json_t		*e;
	size_t		 i, d, m = 0;

	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			if ((d = depth(e)) > m)
				m = d;
		return m + 1;
	}
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, e)
			if ((d = depth(e)) > m)
				m = d;
		return m + 1;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	json_t	*v, *lax, *again;
	char	 why[200], *s;

	if ((v = jsonstrict_parse(data, len, DEPTH, why, sizeof(why))) ==
	    NULL) {
		if (why[0] == '\0')
			abort();	/* a refusal always says why */
		return 0;
	}
	if (depth(v) > DEPTH)
		abort();
	lax = json_loadb((const char *)data, len, JSON_DECODE_ANY, NULL);
	if (lax == NULL || !json_equal(v, lax))
		abort();
	if ((s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
		abort();
	again = jsonstrict_parse(s, strlen(s), DEPTH, why, sizeof(why));
	if (again == NULL || !json_equal(v, again))
		abort();
	free(s);
	json_decref(again);
	json_decref(lax);
	json_decref(v);
	return 0;
}
