/*
 * lensnetd/llm.c: Anthropic Messages <-> OpenAI Chat Completions, the
 * request both ways (every field the translation names, refusals by
 * capability and by block), whole responses both ways (usage, errors),
 * and SSE re-framing both ways, fed whole and byte by byte, and
 * malformed streams ending in one error event.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "llm.h"
#include "policy.h"
#include "tap.h"

#define A	POLICY_LLM_API_ANTHROPIC
#define O	POLICY_LLM_API_OPENAI

static const struct llm_caps all = { 1, 1 }, none = { 0, 0 };

static json_t *
req(const char *in, int from, int to, const struct llm_caps *c, char *why,
    size_t wl, int *stream)
{
	json_t	*j = json_loads(in, 0, NULL), *r = NULL;
	char	*s;
	size_t	 len;

	if (j == NULL) {
		snprintf(why, wl, "test JSON bad");
		return NULL;
	}
	s = llm_request(j, from, to, "served-1", c, stream, &len, why, wl);
	json_decref(j);
	if (s != NULL) {
		r = json_loadb(s, len, 0, NULL);
		free(s);
	}
	return r;
}

/* the value at a dotted path ("messages.0.content"), for checks */
static const json_t *
at(const json_t *j, const char *path)
{
	char	 buf[256], *p, *tok;

	strlcpy(buf, path, sizeof(buf));
	for (p = buf; j != NULL && (tok = strsep(&p, ".")) != NULL;) {
		if (json_is_array(j))
			j = json_array_get(j, strtoul(tok, NULL, 10));
		else
			j = json_object_get(j, tok);
	}
	return j;
}

static int
is(const json_t *j, const char *path, const char *want)
{
	const json_t *v = at(j, path);

	if (!json_is_string(v) || strcmp(json_string_value(v), want) != 0) {
		char *d = v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;

		printf("# %s: got %s, want %s\n", path, d ? d : "(none)", want);
		free(d);
		return 0;
	}
	return 1;
}

static int
num(const json_t *j, const char *path, long long want)
{
	const json_t *v = at(j, path);

	return json_is_integer(v) && json_integer_value(v) == want;
}

static void
requests(void)
{
	json_t	*r;
	char	 why[256];
	int	 st;

	/* Anthropic -> OpenAI, the whole vocabulary */
	r = req("{\"model\":\"claude-x\",\"max_tokens\":100,\"system\":"
	    "[{\"type\":\"text\",\"text\":\"be brief\"}],\"stream\":true,"
	    "\"temperature\":0.5,\"stop_sequences\":[\"END\"],\"messages\":["
	    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":"
	    "\"hi\"},{\"type\":\"image\",\"source\":{\"type\":\"base64\","
	    "\"media_type\":\"image/png\",\"data\":\"AAAA\"}}]},"
	    "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":"
	    "\"calling\"},{\"type\":\"tool_use\",\"id\":\"tu1\",\"name\":"
	    "\"get\",\"input\":{\"a\":1}}]},"
	    "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
	    "\"tool_use_id\":\"tu1\",\"content\":\"42\"},{\"type\":\"text\","
	    "\"text\":\"thanks\"}]}],\"tools\":[{\"name\":\"get\","
	    "\"description\":\"d\",\"input_schema\":{\"type\":\"object\"}}],"
	    "\"tool_choice\":{\"type\":\"tool\",\"name\":\"get\"}}",
	    A, O, &all, why, sizeof(why), &st);
	ok(r != NULL, "a2o: translated%s%s", r ? "" : ": ", r ? "" : why);
	ok(r && is(r, "model", "served-1") && st == 1 &&
	    num(r, "max_tokens", 100) &&
	    json_is_true(at(r, "stream_options.include_usage")),
	    "a2o: model served, max_tokens, stream with usage");
	ok(r && is(r, "messages.0.role", "system") &&
	    is(r, "messages.0.content", "be brief"), "a2o: system message");
	ok(r && is(r, "messages.1.content.0.text", "hi") &&
	    is(r, "messages.1.content.1.image_url.url",
	    "data:image/png;base64,AAAA"), "a2o: text and image parts");
	ok(r && is(r, "messages.2.content", "calling") &&
	    is(r, "messages.2.tool_calls.0.id", "tu1") &&
	    is(r, "messages.2.tool_calls.0.function.arguments", "{\"a\":1}"),
	    "a2o: assistant text and tool_calls");
	ok(r && is(r, "messages.3.role", "tool") &&
	    is(r, "messages.3.tool_call_id", "tu1") &&
	    is(r, "messages.3.content", "42") &&
	    is(r, "messages.4.content.0.text", "thanks"),
	    "a2o: tool_result becomes a tool message before the user's text");
	ok(r && is(r, "tools.0.function.name", "get") &&
	    is(r, "tool_choice.function.name", "get") &&
	    is(r, "stop.0", "END"), "a2o: tools, tool_choice, stop");
	json_decref(r);

	/* refusals, by name */
	r = req("{\"model\":\"m\",\"max_tokens\":1,\"messages\":[],\"tools\":"
	    "[{\"name\":\"t\",\"input_schema\":{}}]}", A, O, &none, why,
	    sizeof(why), &st);
	ok(r == NULL && strstr(why, "tools") != NULL,
	    "a2o: tools to a backend without tools refused: %s", why);
	r = req("{\"model\":\"m\",\"max_tokens\":1,\"messages\":[{\"role\":"
	    "\"user\",\"content\":[{\"type\":\"image\",\"source\":{\"type\":"
	    "\"base64\",\"media_type\":\"image/png\",\"data\":\"A\"}}]}]}",
	    A, O, &none, why, sizeof(why), &st);
	ok(r == NULL && strstr(why, "image") != NULL,
	    "a2o: an image to a backend without images refused: %s", why);
	r = req("{\"model\":\"m\",\"max_tokens\":1,\"messages\":[{\"role\":"
	    "\"user\",\"content\":[{\"type\":\"document\",\"source\":{}}]}]}",
	    A, O, &all, why, sizeof(why), &st);
	ok(r == NULL && strstr(why, "\"document\"") != NULL,
	    "a2o: an unknown block refused by name: %s", why);
	r = req("{\"model\":\"m\",\"max_tokens\":1,\"messages\":[],"
	    "\"thinking\":{\"type\":\"enabled\"}}", A, O, &all, why,
	    sizeof(why), &st);
	ok(r == NULL && strstr(why, "\"thinking\"") != NULL,
	    "a2o: an unknown member refused by name: %s", why);
	r = req("{\"model\":\"m\",\"messages\":[{\"role\":\"tool\","
	    "\"tool_call_id\":\"x\",\"content\":\"r\"}]}", O, O, &none, why,
	    sizeof(why), &st);
	ok(r == NULL && strstr(why, "tools") != NULL,
	    "same API: capabilities still checked: %s", why);
	r = req("{\"model\":\"m\",\"messages\":[],\"x\":1}", O, O, &all, why,
	    sizeof(why), &st);
	ok(r != NULL && is(r, "model", "served-1") && num(r, "x", 1),
	    "same API: only the model changes");
	json_decref(r);

	/* OpenAI -> Anthropic */
	r = req("{\"model\":\"gpt\",\"messages\":[{\"role\":\"system\","
	    "\"content\":\"sys\"},{\"role\":\"user\",\"content\":[{\"type\":"
	    "\"text\",\"text\":\"q\"},{\"type\":\"image_url\",\"image_url\":"
	    "{\"url\":\"data:image/jpeg;base64,BBBB\"}}]},{\"role\":"
	    "\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\","
	    "\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":"
	    "\"{\\\"k\\\":2}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"c1\","
	    "\"content\":\"res\"}],\"tools\":[{\"type\":\"function\","
	    "\"function\":{\"name\":\"f\",\"parameters\":{\"type\":"
	    "\"object\"}}}],\"tool_choice\":\"required\",\"stop\":\"X\"}",
	    O, A, &all, why, sizeof(why), &st);
	ok(r != NULL, "o2a: translated%s%s", r ? "" : ": ", r ? "" : why);
	ok(r && is(r, "system", "sys") && num(r, "max_tokens", 4096) &&
	    is(r, "messages.0.content.1.source.media_type", "image/jpeg") &&
	    is(r, "messages.0.content.1.source.data", "BBBB"),
	    "o2a: system, default max_tokens, image");
	ok(r && is(r, "messages.1.content.0.type", "tool_use") &&
	    num(at(r, "messages.1.content.0.input"), "k", 2) &&
	    is(r, "messages.2.content.0.type", "tool_result") &&
	    is(r, "messages.2.content.0.tool_use_id", "c1"),
	    "o2a: tool_calls and tool results");
	ok(r && is(r, "tool_choice.type", "any") &&
	    is(r, "stop_sequences.0", "X") && is(r, "tools.0.name", "f"),
	    "o2a: tool_choice, stop, tools");
	json_decref(r);
	r = req("{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\","
	    "\"tool_calls\":[{\"id\":\"c\",\"function\":{\"name\":\"f\","
	    "\"arguments\":\"[1]\"}}]}]}", O, A, &all, why, sizeof(why), &st);
	ok(r == NULL && strstr(why, "not a JSON object") != NULL,
	    "o2a: tool arguments that are not an object refused: %s", why);
	r = req("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
	    "[{\"type\":\"input_audio\"}]}]}", O, A, &all, why, sizeof(why),
	    &st);
	ok(r == NULL && strstr(why, "\"input_audio\"") != NULL,
	    "o2a: an unknown part refused by name: %s", why);
}

static json_t *
resp(const char *body, int status, int from, int to, int64_t *in,
    int64_t *out)
{
	size_t	 len;
	char	*s;
	json_t	*j;

	s = llm_response(body, strlen(body), status, from, to, "served-1",
	    &len, in, out);
	if (s == NULL)
		return NULL;
	j = json_loadb(s, len, 0, NULL);
	free(s);
	return j;
}

static void
responses(void)
{
	json_t	*r;
	int64_t	 in, out;

	r = resp("{\"id\":\"c\",\"choices\":[{\"message\":{\"role\":"
	    "\"assistant\",\"content\":\"hello\",\"tool_calls\":[{\"id\":\"t\","
	    "\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":"
	    "\"{}\"}}]},\"finish_reason\":\"tool_calls\"}],\"usage\":{"
	    "\"prompt_tokens\":11,\"completion_tokens\":7}}", 200, O, A, &in,
	    &out);
	ok(r && is(r, "type", "message") && is(r, "content.0.text", "hello") &&
	    is(r, "content.1.type", "tool_use") &&
	    is(r, "stop_reason", "tool_use") && num(r, "usage.input_tokens",
	    11) && num(r, "usage.output_tokens", 7) && in == 11 && out == 7,
	    "response o2a: content, tool_use, stop_reason, usage");
	json_decref(r);
	r = resp("{\"id\":\"m\",\"type\":\"message\",\"content\":[{\"type\":"
	    "\"text\",\"text\":\"yo\"}],\"stop_reason\":\"max_tokens\","
	    "\"usage\":{\"input_tokens\":3,\"output_tokens\":4}}", 200, A, O,
	    &in, &out);
	ok(r && is(r, "choices.0.message.content", "yo") &&
	    is(r, "choices.0.finish_reason", "length") &&
	    num(r, "usage.total_tokens", 7) && in == 3 && out == 4,
	    "response a2o: content, finish_reason, usage");
	json_decref(r);
	r = resp("{\"error\":{\"message\":\"bad key\"}}", 401, O, A, &in, &out);
	ok(r && is(r, "type", "error") && strstr(json_string_value(at(r,
	    "error.message")), "bad key") != NULL,
	    "response: an error status becomes an Anthropic error");
	json_decref(r);
	r = resp("not json", 200, O, A, &in, &out);
	ok(r && is(r, "type", "error") && in == -1,
	    "response: a body that is not JSON becomes an error");
	json_decref(r);
}

/* feed whole or byte by byte; the output */
static char *
sse(int from, int to, const char *in, int bytewise)
{
	struct llm_sse	*s = llm_sse_new(from, to, "served-1");
	struct llm_buf	 o = { NULL, 0, 0 };
	size_t		 i, n = strlen(in);
	char		*r;

	if (bytewise) {
		for (i = 0; i < n; i++)
			(void)llm_sse_feed(s, in + i, 1, &o);
	} else
		(void)llm_sse_feed(s, in, n, &o);
	(void)llm_sse_end(s, &o);
	llm_sse_free(s);
	r = strdup(o.b != NULL ? o.b : "");
	llm_buf_free(&o);
	return r;
}

static int
count(const char *s, const char *t)
{
	int	 n = 0;

	while ((s = strstr(s, t)) != NULL) {
		n++;
		s += strlen(t);
	}
	return n;
}

static void
streams(void)
{
	static const char oai[] =
	    "data: {\"id\":\"c1\",\"choices\":[{\"delta\":{\"role\":"
	    "\"assistant\",\"content\":\"Hel\"}}]}\n\n"
	    "data: {\"id\":\"c1\",\"choices\":[{\"delta\":{\"content\":"
	    "\"lo\"}}]}\r\n\r\n"
	    ": keep-alive\n\n"
	    "data: {\"id\":\"c1\",\"choices\":[{\"delta\":{\"tool_calls\":[{"
	    "\"index\":0,\"id\":\"t1\",\"function\":{\"name\":\"f\","
	    "\"arguments\":\"{\\\"a\\\"\"}}]}}]}\n\n"
	    "data: {\"id\":\"c1\",\"choices\":[{\"delta\":{\"tool_calls\":[{"
	    "\"index\":0,\"function\":{\"arguments\":\":1}\"}}]},"
	    "\"finish_reason\":\"tool_calls\"}]}\n\n"
	    "data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":"
	    "5,\"completion_tokens\":9}}\n\n"
	    "data: [DONE]\n\n";
	static const char ant[] =
	    "event: message_start\ndata: {\"type\":\"message_start\","
	    "\"message\":{\"id\":\"m1\",\"usage\":{\"input_tokens\":5}}}\n\n"
	    "event: content_block_start\ndata: {\"type\":"
	    "\"content_block_start\",\"index\":0,\"content_block\":{\"type\":"
	    "\"text\",\"text\":\"\"}}\n\n"
	    "event: ping\ndata: {\"type\":\"ping\"}\n\n"
	    "event: content_block_delta\ndata: {\"type\":"
	    "\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
	    "\"text_delta\",\"text\":\"Hi\"}}\n\n"
	    "event: content_block_stop\ndata: {\"type\":"
	    "\"content_block_stop\",\"index\":0}\n\n"
	    "event: message_delta\ndata: {\"type\":\"message_delta\","
	    "\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{"
	    "\"output_tokens\":2}}\n\n"
	    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
	char	*a, *b;

	a = sse(O, A, oai, 0);
	b = sse(O, A, oai, 1);
	ok(strcmp(a, b) == 0, "sse o2a: whole and byte by byte the same");
	ok(count(a, "event: message_start\n") == 1 &&
	    count(a, "event: content_block_start\n") == 2 &&
	    count(a, "event: content_block_stop\n") == 2 &&
	    count(a, "\"text_delta\"") == 2 &&
	    count(a, "\"input_json_delta\"") == 2 &&
	    count(a, "\"stop_reason\":\"tool_use\"") == 1 &&
	    count(a, "\"output_tokens\":9") == 1 &&
	    count(a, "event: message_stop\n") == 1 &&
	    count(a, "event: error") == 0, "sse o2a: the Anthropic events");
	if (count(a, "event: error"))
		printf("# %s\n", a);
	free(a);
	free(b);

	a = sse(A, O, ant, 0);
	b = sse(A, O, ant, 1);
	ok(count(b, "\"content\":\"Hi\"") == 1 &&
	    count(b, "data: [DONE]\n\n") == 1 && count(b, "error") == 0,
	    "sse a2o: fed byte by byte");
	ok(count(a, "\"content\":\"Hi\"") == 1 &&
	    count(a, "\"finish_reason\":\"stop\"") == 1 &&
	    count(a, "\"total_tokens\":7") == 1 &&
	    count(a, "data: [DONE]\n\n") == 1 && count(a, "error") == 0,
	    "sse a2o: the OpenAI chunks, usage, [DONE]");
	free(a);
	free(b);

	a = sse(O, A, "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}"
	    "\n\ndata: {nope}\n\ndata: {\"choices\":[]}\n\n", 0);
	ok(count(a, "event: error\n") == 1 && count(a, "message_stop") == 0 &&
	    count(a, "not a JSON object") == 1,
	    "sse: malformed data ends in one error event");
	free(a);
	a = sse(O, A, "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}"
	    "\n\n", 0);
	ok(count(a, "event: error\n") == 1 && count(a, "ended before") == 1,
	    "sse: a stream cut short ends in an error event");
	free(a);
	a = malloc(LLM_EVENT_MAX + 64);
	memcpy(a, "data: ", 6);
	memset(a + 6, 'x', LLM_EVENT_MAX + 10);
	a[LLM_EVENT_MAX + 16] = '\0';
	b = sse(O, A, a, 0);
	ok(count(b, "event: error\n") == 1 && strlen(b) < 1024,
	    "sse: a line over the bound: one error, nothing kept");
	free(a);
	free(b);
	a = sse(A, O, "event: content_block_start\ndata: {\"type\":"
	    "\"message_start\",\"message\":{}}\n\ndata: {\"type\":"
	    "\"content_block_start\",\"index\":0,\"content_block\":{\"type\":"
	    "\"thinking\"}}\n\n", 0);
	ok(count(a, "\"thinking\\\" has no translation") == 1 ||
	    count(a, "thinking") == 1, "sse a2o: a thinking block refused");
	ok(count(a, "[DONE]") == 1, "sse a2o: the error chunk then [DONE]");
	free(a);
	a = sse(O, O, oai, 1);
	ok(strcmp(a, oai) == 0, "sse same API: the bytes as they came");
	free(a);
}

int
main(void)
{
	requests();
	responses();
	streams();
	return tap_done();
}
