/*
 * Strict JSON for the rules that read request bodies: jansson with
 * JSON_REJECT_DUPLICATES (a duplicate key is an error, not the last
 * one winning), its end-of-input check (trailing data refused), no
 * JSON_ALLOW_NUL, then a nesting bound of our own (jansson's is 2048).
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "jsonstrict.h"

/* is v deeper than max (arrays and objects)? */
static int
too_deep(const json_t *v, size_t max)
{
	const char	*k;
	json_t		*e;
	size_t		 i;

	if (!json_is_array(v) && !json_is_object(v))
		return 0;
	if (max == 0)
		return 1;
	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			if (too_deep(e, max - 1))
				return 1;
	} else {
		json_object_foreach((json_t *)v, k, e)
			if (too_deep(e, max - 1))
				return 1;
	}
	return 0;
}

json_t *
jsonstrict_parse(const void *buf, size_t len, size_t maxdepth, char *why,
    size_t whylen)
{
	json_error_t	 err;
	json_t		*v;

	if (len == 0) {
		snprintf(why, whylen, "empty body, not JSON");
		return NULL;
	}
	v = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
	    &err);
	if (v == NULL) {
		snprintf(why, whylen, "not strict JSON: byte %d: %s",
		    err.position, err.text);
		return NULL;
	}
	if (too_deep(v, maxdepth)) {
		json_decref(v);
		snprintf(why, whylen, "JSON nested deeper than %zu", maxdepth);
		return NULL;
	}
	return v;
}
