/*
 * The strict JSON parse of request bodies that rules read (issue 21):
 * one JSON text (any value) and nothing after it but whitespace, UTF-8
 * only, no NUL, no duplicate object key, nesting at most maxdepth deep.
 * What a lenient upstream parser could read differently (the last of
 * two equal keys, bytes after the value) is refused, never guessed.
 */
#ifndef LENS_JSONSTRICT_H
#define LENS_JSONSTRICT_H

#include <stddef.h>

#include <jansson.h>

#define JSONSTRICT_MAXDEPTH	64	/* the default nesting bound */

/*
 * The value (to json_decref), or NULL with why set ("byte N: what",
 * "nesting deeper than N").  maxdepth counts arrays and objects: "1"
 * is 0 deep, "[]" 1, "[{}]" 2.
 */
json_t	*jsonstrict_parse(const void *buf, size_t len, size_t maxdepth,
	    char *why, size_t whylen);

#endif
