/*
 * libFuzzer target for common/canonjson.c against jansson.
 *
 * Whenever canonjson_check says 1, json_loadb(JSON_REJECT_DUPLICATES)
 * must give an object that json_dumps(JSON_COMPACT | JSON_SORT_KEYS |
 * JSON_ENSURE_ASCII) turns into exactly the input: the listener
 * forwards such details without jansson, so a wrong 1 would put
 * non-canonical bytes in the audit log.
 *
 * The other way, an input that jansson turns into itself must get 1
 * unless it holds one of what the check leaves to jansson on purpose: a
 * real, or nesting deeper than CANONJSON_MAXDEPTH.  Those are
 * counted; with CANONJSON_STATS set in the environment the counts are
 * printed at exit.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "canonjson.h"

#define DUMPFLAGS	(JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct {
	unsigned long	 runs;
	unsigned long	 fast;		/* canonjson_check said 1 */
	unsigned long	 canon;		/* jansson round trips the input */
	unsigned long	 missed;	/* canonical, check said 0 */
	unsigned long	 missed_real, missed_deep;
} st;

static void
stats(void)
{
	fprintf(stderr, "canonjson: %lu runs, %lu fast, %lu canonical by "
	    "jansson, %lu of those left to jansson (real %lu, deep %lu)\n",
	    st.runs, st.fast, st.canon, st.missed, st.missed_real,
	    st.missed_deep);
}

/* 1 if some value is a real; *depth gets the nesting of containers */
static int
has_real(json_t *j, int level, int *depth)
{
	json_t		*v;
	const char	*k;
	size_t		 i;
	int		 r = 0;

	switch (json_typeof(j)) {
	case JSON_REAL:
		return 1;
	case JSON_OBJECT:
	case JSON_ARRAY:
		if (level > *depth)
			*depth = level;
		break;
	default:
		return 0;
	}
	if (json_is_object(j)) {
		json_object_foreach(j, k, v)
			r |= has_real(v, level + 1, depth);
	} else {
		json_array_foreach(j, i, v)
			r |= has_real(v, level + 1, depth);
	}
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int	 done;
	const char	*buf = (const char *)data;
	json_t		*j;
	char		*out;
	int		 fast, canon, real, depth = 0;

	if (!done) {
		json_object_seed(1);
		if (getenv("CANONJSON_STATS") != NULL)
			atexit(stats);
		done = 1;
	}
	st.runs++;
	fast = canonjson_check(buf, size);
	j = json_loadb(buf, size, JSON_REJECT_DUPLICATES, NULL);
	if (j == NULL || !json_is_object(j)) {
		if (fast)
			abort();	/* not JSON, or not an object */
		json_decref(j);
		return 0;
	}
	if ((out = json_dumps(j, DUMPFLAGS)) == NULL)
		abort();
	canon = strlen(out) == size && memcmp(out, buf, size) == 0;
	free(out);
	if (fast && !canon)
		abort();	/* jansson would have changed it */
	st.fast += fast;
	st.canon += canon;
	if (canon && !fast) {
		real = has_real(j, 1, &depth);
		st.missed++;
		if (real)
			st.missed_real++;
		else if (depth > CANONJSON_MAXDEPTH)
			st.missed_deep++;
		else
			abort();	/* simple canonical text refused */
	}
	json_decref(j);
	return 0;
}
