/*
 * libFuzzer target for lensnetd/llm.c: the request translation and the
 * SSE re-framer fed arbitrary bytes.  The first byte picks the way
 * (bit 0: from OpenAI, bit 1: to the other API, bits 2-3: the
 * backend's capabilities, bit 4: the SSE re-framer, bit 5: a whole
 * response) and, for the re-framer, where the input is split.
 * Whatever the bytes: a translated request is one JSON object naming
 * the served model; a refusal has a reason; the re-framer's output is
 * whole events each of whose data is a JSON object (or [DONE]), at most
 * one error event and nothing after it, bounded by the input; a whole
 * response translates to a JSON object.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jsonstrict.h"
#include "llm.h"
#include "policy.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_request(int from, int to, const struct llm_caps *caps,
    const uint8_t *p, size_t n)
{
	json_t	*in, *out;
	char	 why[256], *s;
	size_t	 len;
	int	 stream;

	if ((in = jsonstrict_parse(p, n, 64, why, sizeof(why))) == NULL)
		return;
	s = llm_request(in, from, to, "served", caps, &stream, &len, why,
	    sizeof(why));
	if (s == NULL) {
		if (why[0] == '\0')
			abort();
	} else {
		out = json_loadb(s, len, 0, NULL);
		if (!json_is_object(out) || !json_is_string(json_object_get(
		    out, "model")) || strcmp(json_string_value(json_object_get(
		    out, "model")), "served") != 0)
			abort();
		json_decref(out);
		free(s);
	}
	json_decref(in);
}

/* the output: events, each data a JSON object or [DONE] */
static void
check_events(const struct llm_buf *o, int to, size_t inlen)
{
	const char	*p = o->b, *end, *ln, *nl;
	int		 errors = 0, after = 0;
	json_t		*j;

	if (o->len > 64 * inlen + 8192)
		abort();
	if (p == NULL)
		return;
	end = p + o->len;
	if (o->len < 2 || memcmp(end - 2, "\n\n", 2) != 0)
		abort();
	for (ln = p; ln < end; ln = nl + 1) {
		nl = memchr(ln, '\n', end - ln);
		if (nl == NULL)
			abort();
		if (nl == ln)
			continue;
		if (errors)
			after = 1;
		if (to == POLICY_LLM_API_ANTHROPIC && nl - ln >= 7 &&
		    memcmp(ln, "event: ", 7) == 0) {
			if (nl - ln == 12 && memcmp(ln + 7, "error", 5) == 0)
				errors++;
			continue;
		}
		if (nl - ln < 6 || memcmp(ln, "data: ", 6) != 0)
			abort();
		if (nl - ln == 12 && memcmp(ln + 6, "[DONE]", 6) == 0)
			continue;
		j = json_loadb(ln + 6, nl - ln - 6, 0, NULL);
		if (!json_is_object(j))
			abort();
		if (to == POLICY_LLM_API_OPENAI &&
		    json_object_get(j, "error") != NULL)
			errors++;
		json_decref(j);
	}
	/* an OpenAI error chunk is followed by its [DONE] only */
	if (errors > 1 || (after && to == POLICY_LLM_API_ANTHROPIC &&
	    errors && !strstr(p, "event: error\ndata: ")))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct llm_caps	 caps;
	struct llm_sse	*s;
	struct llm_buf	 o = { NULL, 0, 0 };
	int		 from, to;
	size_t		 cut, len;
	int64_t		 ti, to_;
	char		*r;
	json_t		*j;

	if (size < 2)
		return 0;
	from = data[0] & 1;
	to = data[0] & 2 ? !from : from;
	caps.tools = (data[0] & 4) != 0;
	caps.images = (data[0] & 8) != 0;
	if (data[0] & 0x20) {
		r = llm_response((const char *)data + 1, size - 1,
		    data[1] & 1 ? 400 : 200, from, to, "served", &len, &ti,
		    &to_);
		if (r != NULL) {
			j = json_loadb(r, len, 0, NULL);
			if (!json_is_object(j))
				abort();
			json_decref(j);
			free(r);
		}
		return 0;
	}
	if (!(data[0] & 0x10)) {
		check_request(from, to, &caps, data + 1, size - 1);
		return 0;
	}
	if ((s = llm_sse_new(from, to, "served")) == NULL)
		return 0;
	cut = data[1] % (size - 1);
	if (llm_sse_feed(s, data + 2, cut > 0 ? cut - 1 : 0, &o) == 0 &&
	    llm_sse_feed(s, data + 1 + cut, size - 1 - cut, &o) == 0 &&
	    llm_sse_end(s, &o) == 0 && from != to)
		check_events(&o, to, size);
	llm_sse_free(s);
	llm_buf_free(&o);
	return 0;
}
