/*
 * A fast check that a JSON text is already canonical: exactly what
 * jansson 2.14 makes of it with json_loadb(JSON_REJECT_DUPLICATES) and
 * json_dumps(JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII), so
 * that it can be used as it is, without a round trip through jansson.
 */
#ifndef LENS_CANONJSON_H
#define LENS_CANONJSON_H

#include <stddef.h>

/* objects and arrays nested deeper than this are not checked */
#define CANONJSON_MAXDEPTH	32

/*
 * 1 if buf (len bytes, no NUL needed) is a JSON object that jansson
 * loads with JSON_REJECT_DUPLICATES and dumps back to the same bytes
 * with JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII; else 0.
 *
 * 0 is always safe: it means "use jansson".  Some canonical texts get 0
 * too: those with a real number or nesting deeper than
 * CANONJSON_MAXDEPTH.  No allocation; the stack use is bounded by
 * CANONJSON_MAXDEPTH.
 */
int	canonjson_check(const char *buf, size_t len);

#endif
