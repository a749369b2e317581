/*
 * LLM API translation (llm.h): Anthropic Messages <-> OpenAI Chat
 * Completions.
 *
 * Requests.  Every member of the request and every content block is
 * either translated or refused by name: nothing is dropped silently.
 * Anthropic -> OpenAI: system (a string or text blocks) becomes a
 * system message; a user message's text and image blocks become content
 * parts (an image as a data: or https URL), its tool_result blocks tool
 * messages (before the rest of it); an assistant message's text becomes
 * its content, its tool_use blocks tool_calls (input as the arguments'
 * JSON text); tools become functions, tool_choice auto/any/tool/none
 * auto/required/function/none, stop_sequences stop, max_tokens,
 * temperature, top_p, stream (with usage asked for), metadata.user_id
 * user.  OpenAI -> Anthropic: the reverse; system and developer messages
 * become system, tool messages tool_result blocks of a user message,
 * tool_calls' arguments (a JSON object's text) tool_use input; a
 * request without max_tokens gets 4096 (Anthropic needs one).
 * Capabilities: tools (tools, tool blocks, tool messages) to a backend
 * without tools, images to one without images, are refused.
 *
 * Responses: the whole JSON translated back (usage too); an error
 * status becomes the other API's error object with the backend's
 * message.  Streams: SSE events re-framed one by one (see llm_sse_*).
 */
#include <sys/types.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "jsonstrict.h"
#include "llm.h"
#include "policy.h"

#define A	POLICY_LLM_API_ANTHROPIC
#define O	POLICY_LLM_API_OPENAI
#define LLM_DEPTH	64
#define DEFAULT_MAX_TOKENS	4096

int
llm_buf_add(struct llm_buf *b, const void *p, size_t n)
{
	size_t	 ns;
	char	*nb;

	if (n == 0)
		return 0;
	if (b->len + n + 1 > b->size) {
		ns = b->size ? b->size : 4096;
		while (ns < b->len + n + 1)
			ns *= 2;
		if ((nb = realloc(b->b, ns)) == NULL)
			return -1;
		b->b = nb;
		b->size = ns;
	}
	memcpy(b->b + b->len, p, n);
	b->len += n;
	b->b[b->len] = '\0';
	return 0;
}

void
llm_buf_free(struct llm_buf *b)
{
	free(b->b);
	memset(b, 0, sizeof(*b));
}

static int
fail(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(char *why, size_t whylen, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -1;
}

/* a string member without NUL, NULL otherwise */
static const char *
str(const json_t *o, const char *key)
{
	const json_t	*v = json_object_get(o, key);

	if (!json_is_string(v) ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return json_string_value(v);
}

static int
set(json_t *o, const char *key, json_t *v)
{
	return v == NULL ? -1 : json_object_set_new(o, key, v);
}

static int
push(json_t *a, json_t *v)
{
	return v == NULL ? -1 : json_array_append_new(a, v);
}

/* the members of o must be in keys[]: -1 naming the first that is not */
static int
known(const json_t *o, const char *const keys[], const char *what,
    char *why, size_t whylen)
{
	const char	*k;
	json_t		*v;
	size_t		 i;

	json_object_foreach((json_t *)o, k, v) {
		for (i = 0; keys[i] != NULL; i++)
			if (strcmp(k, keys[i]) == 0)
				break;
		if (keys[i] == NULL)
			return fail(why, whylen, "llm: %s member \"%.40s\" has "
			    "no translation", what, k);
	}
	return 0;
}

/* copy member key of in to out as okey, when present */
static int
copy(const json_t *in, const char *key, json_t *out, const char *okey)
{
	json_t	*v = json_object_get(in, key);

	if (v == NULL)
		return 0;
	return json_object_set(out, okey, v);
}

/* ---- capabilities ---- */

static int
caps_check(const json_t *in, int api, const struct llm_caps *caps,
    char *why, size_t whylen)
{
	const json_t	*msgs, *m, *c, *b;
	const char	*t, *role;
	size_t		 i, j;
	int		 tools = 0, images = 0;

	if (json_array_size(json_object_get(in, "tools")) > 0 ||
	    json_object_get(in, "tool_choice") != NULL)
		tools = 1;
	msgs = json_object_get(in, "messages");
	json_array_foreach(msgs, i, m) {
		role = str(m, "role");
		if (role != NULL && (strcmp(role, "tool") == 0))
			tools = 1;
		if (json_object_get(m, "tool_calls") != NULL)
			tools = 1;
		c = json_object_get(m, "content");
		json_array_foreach(c, j, b) {
			if ((t = str(b, "type")) == NULL)
				continue;
			if (strcmp(t, "tool_use") == 0 ||
			    strcmp(t, "tool_result") == 0)
				tools = 1;
			if (strcmp(t, "image") == 0 ||
			    strcmp(t, "image_url") == 0)
				images = 1;
		}
	}
	(void)api;
	if (tools && !caps->tools)
		return fail(why, whylen, "llm: the request uses tools and the "
		    "backend has no tools capability");
	if (images && !caps->images)
		return fail(why, whylen, "llm: the request has an image and "
		    "the backend has no images capability");
	return 0;
}

/* ---- Anthropic -> OpenAI ---- */

/* a tool_result's content: a string or text blocks, as one string */
static json_t *
a_text_of(const json_t *c, const char *what, char *why, size_t whylen)
{
	struct llm_buf	 b = { NULL, 0, 0 };
	const json_t	*e;
	const char	*t, *s;
	json_t		*r;
	size_t		 i;

	if (c == NULL)
		return json_string("");
	if (json_is_string(c))
		return json_copy((json_t *)c);
	if (!json_is_array(c)) {
		fail(why, whylen, "llm: %s content is not a string or blocks",
		    what);
		return NULL;
	}
	json_array_foreach(c, i, e) {
		if ((t = str(e, "type")) == NULL || strcmp(t, "text") != 0 ||
		    (s = str(e, "text")) == NULL) {
			fail(why, whylen, "llm: %s content block \"%.40s\" has "
			    "no translation", what, t != NULL ? t : "?");
			llm_buf_free(&b);
			return NULL;
		}
		if (llm_buf_add(&b, s, strlen(s)) == -1) {
			llm_buf_free(&b);
			return NULL;
		}
	}
	r = json_string(b.b != NULL ? b.b : "");
	llm_buf_free(&b);
	return r;
}

static json_t *
a_image(const json_t *blk, char *why, size_t whylen)
{
	const json_t	*src = json_object_get(blk, "source");
	const char	*t = str(src, "type"), *mt, *d, *u;
	char		*url;
	json_t		*r;
	size_t		 n;

	if (t != NULL && strcmp(t, "base64") == 0 &&
	    (mt = str(src, "media_type")) != NULL &&
	    (d = str(src, "data")) != NULL) {
		n = strlen(mt) + strlen(d) + 16;
		if ((url = malloc(n)) == NULL)
			return NULL;
		snprintf(url, n, "data:%s;base64,%s", mt, d);
		r = json_pack("{s:s, s:{s:s}}", "type", "image_url",
		    "image_url", "url", url);
		free(url);
		return r;
	}
	if (t != NULL && strcmp(t, "url") == 0 && (u = str(src, "url")) !=
	    NULL)
		return json_pack("{s:s, s:{s:s}}", "type", "image_url",
		    "image_url", "url", u);
	fail(why, whylen, "llm: image source \"%.40s\" has no translation",
	    t != NULL ? t : "?");
	return NULL;
}

static int
a2o_message(const json_t *m, json_t *out, char *why, size_t whylen)
{
	static const char *const mkeys[] = { "role", "content", NULL };
	const char	*role = str(m, "role"), *t, *s;
	const json_t	*c = json_object_get(m, "content"), *b;
	json_t		*parts, *calls, *tm, *o;
	struct llm_buf	 text = { NULL, 0, 0 };
	size_t		 i;
	int		 user;

	if (!json_is_object(m) || role == NULL)
		return fail(why, whylen, "llm: a message without a role");
	if (known(m, mkeys, "message", why, whylen) == -1)
		return -1;
	if (strcmp(role, "user") == 0)
		user = 1;
	else if (strcmp(role, "assistant") == 0)
		user = 0;
	else
		return fail(why, whylen, "llm: message role \"%.40s\" has no "
		    "translation", role);
	if (json_is_string(c))
		return push(out, json_pack("{s:s, s:O}", "role", role,
		    "content", c));
	if (!json_is_array(c))
		return fail(why, whylen, "llm: message content is not a "
		    "string or blocks");
	parts = json_array();
	calls = json_array();
	json_array_foreach(c, i, b) {
		if ((t = str(b, "type")) == NULL) {
			fail(why, whylen, "llm: a content block without a "
			    "type");
			goto bad;
		}
		if (strcmp(t, "text") == 0 && (s = str(b, "text")) != NULL) {
			if (user) {
				if (push(parts, json_pack("{s:s, s:s}", "type",
				    "text", "text", s)) == -1)
					goto bad;
			} else if (llm_buf_add(&text, s, strlen(s)) == -1)
				goto bad;
		} else if (user && strcmp(t, "image") == 0) {
			if (push(parts, a_image(b, why, whylen)) == -1)
				goto bad;
		} else if (user && strcmp(t, "tool_result") == 0 &&
		    str(b, "tool_use_id") != NULL) {
			if ((o = a_text_of(json_object_get(b, "content"),
			    "tool_result", why, whylen)) == NULL)
				goto bad;
			tm = json_pack("{s:s, s:s, s:o}", "role", "tool",
			    "tool_call_id", str(b, "tool_use_id"), "content",
			    o);
			if (push(out, tm) == -1)
				goto bad;
		} else if (!user && strcmp(t, "tool_use") == 0 &&
		    str(b, "id") != NULL && str(b, "name") != NULL &&
		    json_is_object(json_object_get(b, "input"))) {
			char	*args = json_dumps(json_object_get(b, "input"),
			    JSON_COMPACT);

			if (args == NULL)
				goto bad;
			o = json_pack("{s:s, s:s, s:{s:s, s:s}}", "id",
			    str(b, "id"), "type", "function", "function",
			    "name", str(b, "name"), "arguments", args);
			free(args);
			if (push(calls, o) == -1)
				goto bad;
		} else {
			fail(why, whylen, "llm: content block \"%.40s\" has no "
			    "translation", t);
			goto bad;
		}
	}
	if (user) {
		if (json_array_size(parts) > 0 && push(out, json_pack(
		    "{s:s, s:O}", "role", "user", "content", parts)) == -1)
			goto bad;
	} else {
		o = json_pack("{s:s}", "role", "assistant");
		if (o == NULL || set(o, "content", text.b != NULL ?
		    json_string(text.b) : json_null()) == -1 ||
		    (json_array_size(calls) > 0 &&
		    json_object_set(o, "tool_calls", calls) == -1) ||
		    push(out, o) == -1)
			goto bad;
	}
	json_decref(parts);
	json_decref(calls);
	llm_buf_free(&text);
	return 0;
 bad:
	if (why[0] == '\0')
		fail(why, whylen, "llm: out of memory");
	json_decref(parts);
	json_decref(calls);
	llm_buf_free(&text);
	return -1;
}

static json_t *
a2o(const json_t *in, const char *served, char *why, size_t whylen)
{
	static const char *const keys[] = { "model", "messages", "system",
	    "max_tokens", "tools", "tool_choice", "stop_sequences",
	    "temperature", "top_p", "stream", "metadata", NULL };
	const json_t	*v, *e;
	const char	*t;
	json_t		*out, *msgs, *tools, *sys;
	size_t		 i;

	if (known(in, keys, "request", why, whylen) == -1)
		return NULL;
	if ((out = json_pack("{s:s, s:[]}", "model", served, "messages")) ==
	    NULL)
		return NULL;
	msgs = json_object_get(out, "messages");
	if ((v = json_object_get(in, "system")) != NULL) {
		if ((sys = a_text_of(v, "system", why, whylen)) == NULL ||
		    push(msgs, json_pack("{s:s, s:o}", "role", "system",
		    "content", sys)) == -1)
			goto bad;
	}
	if (!json_is_array(v = json_object_get(in, "messages"))) {
		fail(why, whylen, "llm: messages is not an array");
		goto bad;
	}
	json_array_foreach(v, i, e)
		if (a2o_message(e, msgs, why, whylen) == -1)
			goto bad;
	if ((v = json_object_get(in, "tools")) != NULL) {
		if (!json_is_array(v) || (tools = json_array()) == NULL ||
		    json_object_set_new(out, "tools", tools) == -1) {
			fail(why, whylen, "llm: tools is not an array");
			goto bad;
		}
		json_array_foreach(v, i, e) {
			if (str(e, "name") == NULL || (json_object_get(e,
			    "type") != NULL && (t = str(e, "type")) != NULL &&
			    strcmp(t, "custom") != 0)) {
				fail(why, whylen, "llm: tool %zu has no "
				    "translation (a server tool or no name)",
				    i);
				goto bad;
			}
			if (push(tools, json_pack("{s:s, s:{s:s, s:s, s:o}}",
			    "type", "function", "function", "name",
			    str(e, "name"), "description",
			    str(e, "description") ? str(e, "description") : "",
			    "parameters", json_object_get(e, "input_schema") ?
			    json_incref(json_object_get(e, "input_schema")) :
			    json_object())) == -1)
				goto bad;
		}
	}
	if ((v = json_object_get(in, "tool_choice")) != NULL) {
		t = str(v, "type");
		if (t != NULL && strcmp(t, "auto") == 0)
			e = json_string("auto");
		else if (t != NULL && strcmp(t, "any") == 0)
			e = json_string("required");
		else if (t != NULL && strcmp(t, "none") == 0)
			e = json_string("none");
		else if (t != NULL && strcmp(t, "tool") == 0 &&
		    str(v, "name") != NULL)
			e = json_pack("{s:s, s:{s:s}}", "type", "function",
			    "function", "name", str(v, "name"));
		else {
			fail(why, whylen, "llm: tool_choice has no "
			    "translation");
			goto bad;
		}
		if (set(out, "tool_choice", (json_t *)e) == -1)
			goto bad;
	}
	if (copy(in, "max_tokens", out, "max_tokens") == -1 ||
	    copy(in, "stop_sequences", out, "stop") == -1 ||
	    copy(in, "temperature", out, "temperature") == -1 ||
	    copy(in, "top_p", out, "top_p") == -1 ||
	    copy(in, "stream", out, "stream") == -1)
		goto bad;
	if (json_is_true(json_object_get(in, "stream")) &&
	    set(out, "stream_options", json_pack("{s:b}", "include_usage",
	    1)) == -1)
		goto bad;
	if ((v = json_object_get(in, "metadata")) != NULL) {
		if (!json_is_object(v) || json_object_size(v) > 1 ||
		    (json_object_size(v) == 1 && str(v, "user_id") == NULL)) {
			fail(why, whylen, "llm: metadata other than user_id "
			    "has no translation");
			goto bad;
		}
		if (str(v, "user_id") != NULL &&
		    set(out, "user", json_string(str(v, "user_id"))) == -1)
			goto bad;
	}
	return out;
 bad:
	json_decref(out);
	return NULL;
}

/* ---- OpenAI -> Anthropic ---- */

/* an OpenAI content (string or parts) as Anthropic blocks */
static json_t *
o_blocks(const json_t *c, int user, char *why, size_t whylen)
{
	const json_t	*p;
	const char	*t, *u, *semi, *comma;
	json_t		*out, *b;
	size_t		 i;
	char		 mt[128];

	if ((out = json_array()) == NULL)
		return NULL;
	if (c == NULL || json_is_null(c))
		return out;
	if (json_is_string(c)) {
		if (json_string_length(c) > 0 && push(out, json_pack(
		    "{s:s, s:O}", "type", "text", "text", c)) == -1)
			goto bad;
		return out;
	}
	if (!json_is_array(c)) {
		fail(why, whylen, "llm: content is not a string or parts");
		goto bad;
	}
	json_array_foreach(c, i, p) {
		t = str(p, "type");
		if (t != NULL && strcmp(t, "text") == 0 && str(p, "text")) {
			b = json_pack("{s:s, s:s}", "type", "text", "text",
			    str(p, "text"));
		} else if (user && t != NULL && strcmp(t, "image_url") == 0 &&
		    (u = str(json_object_get(p, "image_url"), "url")) != NULL) {
			if (strncmp(u, "data:", 5) == 0 &&
			    (semi = strchr(u, ';')) != NULL &&
			    (comma = strchr(semi, ',')) != NULL &&
			    strncmp(semi, ";base64,", 8) == 0 &&
			    (size_t)(semi - u - 5) < sizeof(mt)) {
				memcpy(mt, u + 5, semi - u - 5);
				mt[semi - u - 5] = '\0';
				b = json_pack("{s:s, s:{s:s, s:s, s:s}}",
				    "type", "image", "source", "type", "base64",
				    "media_type", mt, "data", comma + 1);
			} else if (strncmp(u, "https://", 8) == 0)
				b = json_pack("{s:s, s:{s:s, s:s}}", "type",
				    "image", "source", "type", "url", "url", u);
			else {
				fail(why, whylen, "llm: an image_url that is "
				    "neither base64 data nor https");
				goto bad;
			}
		} else {
			fail(why, whylen, "llm: content part \"%.40s\" has no "
			    "translation", t != NULL ? t : "?");
			goto bad;
		}
		if (push(out, b) == -1)
			goto bad;
	}
	return out;
 bad:
	json_decref(out);
	return NULL;
}

static int
o2a_tool_calls(const json_t *calls, json_t *blocks, char *why,
    size_t whylen)
{
	const json_t	*tc, *f;
	const char	*args;
	json_t		*input;
	size_t		 i;

	json_array_foreach(calls, i, tc) {
		f = json_object_get(tc, "function");
		if (str(tc, "id") == NULL || str(f, "name") == NULL ||
		    (args = str(f, "arguments")) == NULL)
			return fail(why, whylen, "llm: tool call %zu has no "
			    "translation", i);
		input = json_loads(args, JSON_REJECT_DUPLICATES, NULL);
		if (!json_is_object(input)) {
			json_decref(input);
			return fail(why, whylen, "llm: tool call %zu's "
			    "arguments are not a JSON object", i);
		}
		if (push(blocks, json_pack("{s:s, s:s, s:s, s:o}", "type",
		    "tool_use", "id", str(tc, "id"), "name", str(f, "name"),
		    "input", input)) == -1)
			return fail(why, whylen, "llm: out of memory");
	}
	return 0;
}

static json_t *
o2a(const json_t *in, const char *served, char *why, size_t whylen)
{
	static const char *const keys[] = { "model", "messages",
	    "max_tokens", "max_completion_tokens", "tools", "tool_choice",
	    "stop", "temperature", "top_p", "stream", "stream_options",
	    "user", "n", NULL };
	static const char *const mkeys[] = { "role", "content", "name",
	    "tool_calls", "tool_call_id", NULL };
	const json_t	*v, *m, *e, *f;
	const char	*role, *t;
	json_t		*out, *msgs, *blocks = NULL, *last = NULL, *tools, *o;
	struct llm_buf	 sys = { NULL, 0, 0 };
	size_t		 i, k;

	if (known(in, keys, "request", why, whylen) == -1)
		return NULL;
	if ((v = json_object_get(in, "n")) != NULL &&
	    !(json_is_integer(v) && json_integer_value(v) == 1)) {
		fail(why, whylen, "llm: n other than 1 has no translation");
		return NULL;
	}
	if ((out = json_pack("{s:s, s:[]}", "model", served, "messages")) ==
	    NULL)
		return NULL;
	msgs = json_object_get(out, "messages");
	if (!json_is_array(v = json_object_get(in, "messages"))) {
		fail(why, whylen, "llm: messages is not an array");
		goto bad;
	}
	json_array_foreach(v, i, m) {
		if (!json_is_object(m) || (role = str(m, "role")) == NULL) {
			fail(why, whylen, "llm: a message without a role");
			goto bad;
		}
		if (known(m, mkeys, "message", why, whylen) == -1)
			goto bad;
		if (strcmp(role, "system") == 0 ||
		    strcmp(role, "developer") == 0) {
			if ((o = o_blocks(json_object_get(m, "content"), 0,
			    why, whylen)) == NULL)
				goto bad;
			json_array_foreach(o, k, e) {
				if (sys.len > 0 && llm_buf_add(&sys, "\n", 1))
					goto bad;
				if (llm_buf_add(&sys, str(e, "text"),
				    strlen(str(e, "text"))) == -1)
					goto bad;
			}
			json_decref(o);
			continue;
		}
		if (strcmp(role, "tool") == 0) {
			if (str(m, "tool_call_id") == NULL) {
				fail(why, whylen, "llm: a tool message "
				    "without tool_call_id");
				goto bad;
			}
			if ((o = o_blocks(json_object_get(m, "content"), 0,
			    why, whylen)) == NULL)
				goto bad;
			e = json_pack("{s:s, s:s, s:o}", "type", "tool_result",
			    "tool_use_id", str(m, "tool_call_id"), "content",
			    o);
			/* consecutive tool results: one user message */
			if (last != NULL && strcmp(str(last, "role"), "user")
			    == 0 && json_is_array(json_object_get(last,
			    "content")) && json_array_size(json_object_get(last,
			    "content")) > 0 && strcmp(str(json_array_get(
			    json_object_get(last, "content"), 0), "type"),
			    "tool_result") == 0) {
				if (push(json_object_get(last, "content"),
				    (json_t *)e) == -1)
					goto bad;
				continue;
			}
			last = json_pack("{s:s, s:[o]}", "role", "user",
			    "content", e);
			if (push(msgs, last) == -1)
				goto bad;
			continue;
		}
		if (strcmp(role, "user") != 0 && strcmp(role, "assistant") !=
		    0) {
			fail(why, whylen, "llm: message role \"%.40s\" has no "
			    "translation", role);
			goto bad;
		}
		if ((blocks = o_blocks(json_object_get(m, "content"),
		    strcmp(role, "user") == 0, why, whylen)) == NULL)
			goto bad;
		if ((f = json_object_get(m, "tool_calls")) != NULL) {
			if (strcmp(role, "assistant") != 0 ||
			    !json_is_array(f)) {
				fail(why, whylen, "llm: tool_calls outside an "
				    "assistant message");
				goto bad;
			}
			if (o2a_tool_calls(f, blocks, why, whylen) == -1)
				goto bad;
		}
		last = json_pack("{s:s, s:o}", "role", role, "content",
		    blocks);
		blocks = NULL;
		if (push(msgs, last) == -1)
			goto bad;
	}
	if (sys.len > 0 && set(out, "system", json_string(sys.b)) == -1)
		goto bad;
	if ((v = json_object_get(in, "tools")) != NULL) {
		if (!json_is_array(v) || (tools = json_array()) == NULL ||
		    json_object_set_new(out, "tools", tools) == -1) {
			fail(why, whylen, "llm: tools is not an array");
			goto bad;
		}
		json_array_foreach(v, i, e) {
			f = json_object_get(e, "function");
			if ((t = str(e, "type")) == NULL ||
			    strcmp(t, "function") != 0 || str(f, "name") ==
			    NULL) {
				fail(why, whylen, "llm: tool %zu has no "
				    "translation", i);
				goto bad;
			}
			o = json_pack("{s:s, s:o}", "name", str(f, "name"),
			    "input_schema", json_object_get(f, "parameters") ?
			    json_incref(json_object_get(f, "parameters")) :
			    json_pack("{s:s}", "type", "object"));
			if (o != NULL && str(f, "description") != NULL &&
			    set(o, "description",
			    json_string(str(f, "description"))) == -1)
				goto bad;
			if (push(tools, o) == -1)
				goto bad;
		}
	}
	if ((v = json_object_get(in, "tool_choice")) != NULL) {
		t = json_is_string(v) ? json_string_value(v) : NULL;
		if (t != NULL && strcmp(t, "auto") == 0)
			o = json_pack("{s:s}", "type", "auto");
		else if (t != NULL && strcmp(t, "required") == 0)
			o = json_pack("{s:s}", "type", "any");
		else if (t != NULL && strcmp(t, "none") == 0)
			o = json_pack("{s:s}", "type", "none");
		else if (json_is_object(v) && str(json_object_get(v,
		    "function"), "name") != NULL)
			o = json_pack("{s:s, s:s}", "type", "tool", "name",
			    str(json_object_get(v, "function"), "name"));
		else {
			fail(why, whylen, "llm: tool_choice has no "
			    "translation");
			goto bad;
		}
		if (set(out, "tool_choice", o) == -1)
			goto bad;
	}
	if ((v = json_object_get(in, "max_tokens")) == NULL)
		v = json_object_get(in, "max_completion_tokens");
	if (set(out, "max_tokens", v != NULL ? json_copy((json_t *)v) :
	    json_integer(DEFAULT_MAX_TOKENS)) == -1)
		goto bad;
	if ((v = json_object_get(in, "stop")) != NULL) {
		if (json_is_string(v))
			o = json_pack("[O]", v);
		else if (json_is_array(v))
			o = json_copy((json_t *)v);
		else {
			fail(why, whylen, "llm: stop is not a string or an "
			    "array");
			goto bad;
		}
		if (set(out, "stop_sequences", o) == -1)
			goto bad;
	}
	if (copy(in, "temperature", out, "temperature") == -1 ||
	    copy(in, "top_p", out, "top_p") == -1 ||
	    copy(in, "stream", out, "stream") == -1)
		goto bad;
	if (str(in, "user") != NULL && set(out, "metadata", json_pack("{s:s}",
	    "user_id", str(in, "user"))) == -1)
		goto bad;
	llm_buf_free(&sys);
	return out;
 bad:
	if (why[0] == '\0')
		fail(why, whylen, "llm: out of memory");
	json_decref(blocks);
	llm_buf_free(&sys);
	json_decref(out);
	return NULL;
}

char *
llm_request(const json_t *in, int from, int to, const char *served,
    const struct llm_caps *caps, int *stream, size_t *len, char *why,
    size_t whylen)
{
	json_t	*out;
	char	*s;

	why[0] = '\0';
	*stream = 0;
	if (!json_is_object(in)) {
		fail(why, whylen, "llm: the request is not a JSON object");
		return NULL;
	}
	if (caps_check(in, from, caps, why, whylen) == -1)
		return NULL;
	*stream = json_is_true(json_object_get(in, "stream"));
	if (from == to) {
		if ((out = json_copy((json_t *)in)) == NULL ||
		    set(out, "model", json_string(served)) == -1) {
			json_decref(out);
			fail(why, whylen, "llm: out of memory");
			return NULL;
		}
	} else if (from == A)
		out = a2o(in, served, why, whylen);
	else
		out = o2a(in, served, why, whylen);
	if (out == NULL) {
		if (why[0] == '\0')
			fail(why, whylen, "llm: out of memory");
		return NULL;
	}
	s = json_dumps(out, JSON_COMPACT);
	json_decref(out);
	if (s == NULL) {
		fail(why, whylen, "llm: out of memory");
		return NULL;
	}
	*len = strlen(s);
	return s;
}

/* ---- whole responses ---- */

static const char *
stop_o2a(const char *r)
{
	if (r == NULL)
		return "end_turn";
	if (strcmp(r, "length") == 0)
		return "max_tokens";
	if (strcmp(r, "tool_calls") == 0 || strcmp(r, "function_call") == 0)
		return "tool_use";
	if (strcmp(r, "content_filter") == 0)
		return "refusal";
	return "end_turn";
}

static const char *
stop_a2o(const char *r)
{
	if (r == NULL)
		return "stop";
	if (strcmp(r, "max_tokens") == 0)
		return "length";
	if (strcmp(r, "tool_use") == 0)
		return "tool_calls";
	if (strcmp(r, "refusal") == 0)
		return "content_filter";
	return "stop";
}

static int64_t
int_at(const json_t *o, const char *k)
{
	const json_t	*v = json_object_get(o, k);

	return json_is_integer(v) && json_integer_value(v) >= 0 ?
	    json_integer_value(v) : -1;
}

static json_t *
err_json(int to, const char *msg)
{
	if (to == A)
		return json_pack("{s:s, s:{s:s, s:s}}", "type", "error",
		    "error", "type", "api_error", "message", msg);
	return json_pack("{s:{s:s, s:s}}", "error", "message", msg, "type",
	    "api_error");
}

static json_t *
resp_o2a(const json_t *in, const char *model, char *why, size_t whylen)
{
	const json_t	*ch, *msg, *u;
	json_t		*content, *out;
	const char	*id = str(in, "id");

	ch = json_array_get(json_object_get(in, "choices"), 0);
	msg = json_object_get(ch, "message");
	if (!json_is_object(msg)) {
		fail(why, whylen, "no choices[0].message");
		return NULL;
	}
	if ((content = o_blocks(json_object_get(msg, "content"), 0, why,
	    whylen)) == NULL)
		return NULL;
	if (json_object_get(msg, "tool_calls") != NULL &&
	    !json_is_null(json_object_get(msg, "tool_calls")) &&
	    o2a_tool_calls(json_object_get(msg, "tool_calls"), content, why,
	    whylen) == -1) {
		json_decref(content);
		return NULL;
	}
	u = json_object_get(in, "usage");
	out = json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:n, s:{s:I, s:I}}",
	    "id", id != NULL ? id : "msg_lens", "type", "message", "role",
	    "assistant", "model", model, "content", content, "stop_reason",
	    stop_o2a(str(ch, "finish_reason")), "stop_sequence",
	    "usage", "input_tokens", (json_int_t)(int_at(u, "prompt_tokens") <
	    0 ? 0 : int_at(u, "prompt_tokens")), "output_tokens",
	    (json_int_t)(int_at(u, "completion_tokens") < 0 ? 0 :
	    int_at(u, "completion_tokens")));
	return out;
}

static json_t *
resp_a2o(const json_t *in, const char *model, char *why, size_t whylen)
{
	const json_t	*c, *b, *u;
	json_t		*calls, *out, *msg;
	struct llm_buf	 text = { NULL, 0, 0 };
	const char	*t, *id = str(in, "id");
	char		*args;
	size_t		 i;
	int64_t		 pi, po;

	if (!json_is_array(c = json_object_get(in, "content"))) {
		fail(why, whylen, "no content");
		return NULL;
	}
	if ((calls = json_array()) == NULL)
		return NULL;
	json_array_foreach(c, i, b) {
		t = str(b, "type");
		if (t != NULL && strcmp(t, "text") == 0 && str(b, "text")) {
			if (llm_buf_add(&text, str(b, "text"),
			    strlen(str(b, "text"))) == -1)
				goto bad;
		} else if (t != NULL && strcmp(t, "tool_use") == 0 &&
		    str(b, "id") && str(b, "name")) {
			if ((args = json_dumps(json_object_get(b, "input"),
			    JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
				goto bad;
			if (push(calls, json_pack("{s:s, s:s, s:{s:s, s:s}}",
			    "id", str(b, "id"), "type", "function", "function",
			    "name", str(b, "name"), "arguments", args)) == -1) {
				free(args);
				goto bad;
			}
			free(args);
		} else {
			fail(why, whylen, "content block \"%.40s\" has no "
			    "translation", t != NULL ? t : "?");
			goto bad;
		}
	}
	msg = json_pack("{s:s, s:o}", "role", "assistant", "content",
	    text.b != NULL ? json_string(text.b) : json_null());
	if (msg == NULL || (json_array_size(calls) > 0 &&
	    json_object_set(msg, "tool_calls", calls) == -1))
		goto bad;
	u = json_object_get(in, "usage");
	pi = int_at(u, "input_tokens");
	po = int_at(u, "output_tokens");
	pi = pi < 0 ? 0 : pi;
	po = po < 0 ? 0 : po;
	out = json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:o, s:s}], "
	    "s:{s:I, s:I, s:I}}", "id", id != NULL ? id : "chatcmpl-lens",
	    "object", "chat.completion", "created", (json_int_t)time(NULL),
	    "model", model, "choices", "index", 0, "message", msg,
	    "finish_reason", stop_a2o(str(in, "stop_reason")), "usage",
	    "prompt_tokens", (json_int_t)pi, "completion_tokens",
	    (json_int_t)po, "total_tokens", (json_int_t)(pi + po));
	json_decref(calls);
	llm_buf_free(&text);
	return out;
 bad:
	json_decref(calls);
	llm_buf_free(&text);
	return NULL;
}

static void
usage_of(const json_t *j, int api, int64_t *in, int64_t *out)
{
	const json_t	*u = json_object_get(j, "usage");

	if (!json_is_object(u))
		return;
	if (api == A) {
		if (int_at(u, "input_tokens") >= 0)
			*in = int_at(u, "input_tokens");
		if (int_at(u, "output_tokens") >= 0)
			*out = int_at(u, "output_tokens");
	} else {
		if (int_at(u, "prompt_tokens") >= 0)
			*in = int_at(u, "prompt_tokens");
		if (int_at(u, "completion_tokens") >= 0)
			*out = int_at(u, "completion_tokens");
	}
}

char *
llm_response(const char *body, size_t blen, int status, int from, int to,
    const char *model, size_t *len, int64_t *in_tokens, int64_t *out_tokens)
{
	json_t		*j, *out = NULL;
	const json_t	*e;
	char		 why[300], msg[400], *s;
	const char	*m;

	*in_tokens = *out_tokens = -1;
	j = jsonstrict_parse(body, blen, LLM_DEPTH, why, sizeof(why));
	if (j != NULL)
		usage_of(j, from, in_tokens, out_tokens);
	if (status < 200 || status > 299) {
		e = json_object_get(j, "error");
		m = json_is_object(e) ? str(e, "message") : str(j, "message");
		snprintf(msg, sizeof(msg), "backend status %d: %.300s", status,
		    m != NULL ? m : "no message");
		out = err_json(to, msg);
	} else if (j == NULL) {
		snprintf(msg, sizeof(msg), "lens proxy: the backend's response "
		    "is not JSON: %s", why);
		out = err_json(to, msg);
	} else if (from == to) {
		out = json_incref(j);
	} else {
		why[0] = '\0';
		out = from == O ? resp_o2a(j, model, why, sizeof(why)) :
		    resp_a2o(j, model, why, sizeof(why));
		if (out == NULL) {
			snprintf(msg, sizeof(msg), "lens proxy: the backend's "
			    "response has no translation: %s", why[0] ? why :
			    "out of memory");
			out = err_json(to, msg);
		}
	}
	json_decref(j);
	if (out == NULL)
		return NULL;
	s = json_dumps(out, JSON_COMPACT);
	json_decref(out);
	if (s != NULL)
		*len = strlen(s);
	return s;
}

/* ---- streams ---- */

struct llm_sse {
	int		 from, to;
	char		 model[LLM_MODEL_MAX + 1];
	struct llm_buf	 line;		/* the line under way */
	struct llm_buf	 data;		/* the event's data lines */
	char		 event[64];	/* its event: field */
	int		 started;	/* message_start / first chunk sent */
	int		 block;		/* open Anthropic block index, -1 */
	int		 nblocks;
	int		 btool;		/* the open block is a tool_use */
	int		 ntools;	/* OpenAI tool calls seen */
	int		 toolblock[64];	/* A -> O: block index -> tool + 1 */
	char		 id[128];
	char		 stop[32];
	int		 finished;	/* [DONE] / message_stop */
	int		 failed;
	char		 why[200];
	int64_t		 in, out;
};

struct llm_sse *
llm_sse_new(int from, int to, const char *model)
{
	struct llm_sse	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->from = from;
	s->to = to;
	s->block = -1;
	s->in = s->out = -1;
	strlcpy(s->model, model, sizeof(s->model));
	strlcpy(s->id, from == O ? "msg_lens" : "chatcmpl-lens",
	    sizeof(s->id));
	return s;
}

void
llm_sse_free(struct llm_sse *s)
{
	if (s == NULL)
		return;
	llm_buf_free(&s->line);
	llm_buf_free(&s->data);
	free(s);
}

void
llm_sse_usage(const struct llm_sse *s, int64_t *in, int64_t *out)
{
	*in = s->in;
	*out = s->out;
}

int
llm_sse_failed(const struct llm_sse *s, const char **why)
{
	*why = s->why;
	return s->failed;
}

/* an event of API to: "event: name\n" (Anthropic) "data: json\n\n" */
static int
emit(struct llm_sse *s, struct llm_buf *o, const char *name, json_t *j)
{
	char	*t;
	int	 rv = -1;

	if (j == NULL)
		return -1;
	if ((t = json_dumps(j, JSON_COMPACT)) == NULL)
		goto out;
	if (s->to == A && (llm_buf_add(o, "event: ", 7) == -1 ||
	    llm_buf_add(o, name, strlen(name)) == -1 ||
	    llm_buf_add(o, "\n", 1) == -1))
		goto out;
	if (llm_buf_add(o, "data: ", 6) == -1 ||
	    llm_buf_add(o, t, strlen(t)) == -1 ||
	    llm_buf_add(o, "\n\n", 2) == -1)
		goto out;
	rv = 0;
 out:
	free(t);
	json_decref(j);
	return rv;
}

/* the stream is malformed: one error event, nothing after it */
static int
sse_fail(struct llm_sse *s, struct llm_buf *o, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
sse_fail(struct llm_sse *s, struct llm_buf *o, const char *fmt, ...)
{
	char	 msg[240];
	va_list	 ap;

	if (s->failed || s->finished)
		return 0;
	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
	s->failed = 1;
	snprintf(msg, sizeof(msg), "lens proxy: the backend's stream: %s",
	    s->why);
	if (s->from == s->to) {
		/* identity: the event under way may be cut; start afresh */
		if (llm_buf_add(o, "\n\n", 2) == -1)
			return -1;
	}
	if (emit(s, o, "error", err_json(s->to, msg)) == -1)
		return -1;
	if (s->to == O && llm_buf_add(o, "data: [DONE]\n\n", 14) == -1)
		return -1;
	return 0;
}

static int
a_start(struct llm_sse *s, struct llm_buf *o)
{
	if (s->started)
		return 0;
	s->started = 1;
	return emit(s, o, "message_start", json_pack("{s:s, s:{s:s, s:s, "
	    "s:s, s:s, s:[], s:n, s:n, s:{s:I, s:i}}}", "type",
	    "message_start", "message", "id", s->id, "type", "message",
	    "role", "assistant", "model", s->model, "content", "stop_reason",
	    "stop_sequence", "usage", "input_tokens",
	    (json_int_t)(s->in < 0 ? 0 : s->in), "output_tokens", 0));
}

static int
a_close_block(struct llm_sse *s, struct llm_buf *o)
{
	int	 b = s->block;

	if (b < 0)
		return 0;
	s->block = -1;
	return emit(s, o, "content_block_stop", json_pack("{s:s, s:i}",
	    "type", "content_block_stop", "index", b));
}

static int
a_open_block(struct llm_sse *s, struct llm_buf *o, json_t *cb, int tool)
{
	if (a_close_block(s, o) == -1) {
		json_decref(cb);
		return -1;
	}
	s->block = s->nblocks++;
	s->btool = tool;
	return emit(s, o, "content_block_start", json_pack("{s:s, s:i, s:o}",
	    "type", "content_block_start", "index", s->block,
	    "content_block", cb));
}

static int
a_finish(struct llm_sse *s, struct llm_buf *o)
{
	if (s->finished || s->failed)
		return 0;
	if (a_start(s, o) == -1 || a_close_block(s, o) == -1 ||
	    emit(s, o, "message_delta", json_pack("{s:s, s:{s:s, s:n}, "
	    "s:{s:I}}", "type", "message_delta", "delta", "stop_reason",
	    s->stop[0] ? s->stop : "end_turn", "stop_sequence", "usage",
	    "output_tokens", (json_int_t)(s->out < 0 ? 0 : s->out))) == -1 ||
	    emit(s, o, "message_stop", json_pack("{s:s}", "type",
	    "message_stop")) == -1)
		return -1;
	s->finished = 1;
	return 0;
}

/* an OpenAI chunk re-framed as Anthropic events */
static int
o2a_chunk(struct llm_sse *s, const json_t *j, struct llm_buf *o)
{
	const json_t	*ch, *d, *tcs, *tc, *f, *e;
	const char	*t, *fr;
	size_t		 i;

	if ((e = json_object_get(j, "error")) != NULL)
		return sse_fail(s, o, "an error event: %.120s",
		    str(e, "message") != NULL ? str(e, "message") : "?");
	if (str(j, "id") != NULL && !s->started)
		strlcpy(s->id, str(j, "id"), sizeof(s->id));
	usage_of(j, O, &s->in, &s->out);
	if (a_start(s, o) == -1)
		return -1;
	if (!json_is_array(json_object_get(j, "choices")))
		return sse_fail(s, o, "a chunk without choices");
	ch = json_array_get(json_object_get(j, "choices"), 0);
	if (ch == NULL)
		return 0;	/* the usage chunk */
	d = json_object_get(ch, "delta");
	if ((t = str(d, "content")) != NULL && *t != '\0') {
		if ((s->block < 0 || s->btool) && a_open_block(s, o,
		    json_pack("{s:s, s:s}", "type", "text", "text", ""), 0) ==
		    -1)
			return -1;
		if (emit(s, o, "content_block_delta", json_pack("{s:s, s:i, "
		    "s:{s:s, s:s}}", "type", "content_block_delta", "index",
		    s->block, "delta", "type", "text_delta", "text", t)) == -1)
			return -1;
	}
	if ((tcs = json_object_get(d, "tool_calls")) != NULL) {
		if (!json_is_array(tcs))
			return sse_fail(s, o, "tool_calls is not an array");
		json_array_foreach(tcs, i, tc) {
			f = json_object_get(tc, "function");
			if (str(tc, "id") != NULL) {
				if (str(f, "name") == NULL)
					return sse_fail(s, o, "a tool call "
					    "without a name");
				if (a_open_block(s, o, json_pack("{s:s, s:s, "
				    "s:s, s:{}}", "type", "tool_use", "id",
				    str(tc, "id"), "name", str(f, "name"),
				    "input"), 1) == -1)
					return -1;
				s->ntools++;
			} else if (s->block < 0 || !s->btool)
				return sse_fail(s, o, "tool call arguments "
				    "before the call");
			if ((t = str(f, "arguments")) != NULL && *t != '\0' &&
			    emit(s, o, "content_block_delta", json_pack(
			    "{s:s, s:i, s:{s:s, s:s}}", "type",
			    "content_block_delta", "index", s->block, "delta",
			    "type", "input_json_delta", "partial_json", t)) ==
			    -1)
				return -1;
		}
	}
	if ((fr = str(ch, "finish_reason")) != NULL)
		strlcpy(s->stop, stop_o2a(fr), sizeof(s->stop));
	return 0;
}

static int
o_chunk(struct llm_sse *s, struct llm_buf *o, json_t *delta,
    const char *finish)
{
	json_t	*j;

	j = json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:o, s:o}]}", "id",
	    s->id, "object", "chat.completion.chunk", "created",
	    (json_int_t)time(NULL), "model", s->model, "choices", "index", 0,
	    "delta", delta, "finish_reason", finish != NULL ?
	    json_string(finish) : json_null());
	return emit(s, o, "", j);
}

/* an Anthropic event re-framed as OpenAI chunks */
static int
a2o_event(struct llm_sse *s, const char *name, const json_t *j,
    struct llm_buf *o)
{
	const char	*t = str(j, "type"), *bt;
	const json_t	*cb, *d;
	json_int_t	 idx;
	int		 tool;

	(void)name;
	if (t == NULL)
		return sse_fail(s, o, "an event without a type");
	if (strcmp(t, "ping") == 0 || strcmp(t, "content_block_stop") == 0)
		return 0;
	if (strcmp(t, "error") == 0)
		return sse_fail(s, o, "an error event: %.120s",
		    str(json_object_get(j, "error"), "message") ?
		    str(json_object_get(j, "error"), "message") : "?");
	if (strcmp(t, "message_start") == 0) {
		d = json_object_get(j, "message");
		if (str(d, "id") != NULL)
			strlcpy(s->id, str(d, "id"), sizeof(s->id));
		usage_of(d, A, &s->in, &s->out);
		s->started = 1;
		return o_chunk(s, o, json_pack("{s:s, s:s}", "role",
		    "assistant", "content", ""), NULL);
	}
	if (!s->started)
		return sse_fail(s, o, "\"%.40s\" before message_start", t);
	idx = json_integer_value(json_object_get(j, "index"));
	if (strcmp(t, "content_block_start") == 0) {
		cb = json_object_get(j, "content_block");
		bt = str(cb, "type");
		if (idx < 0 || idx >= 64)
			return sse_fail(s, o, "block index %lld",
			    (long long)idx);
		if (bt != NULL && strcmp(bt, "text") == 0)
			return 0;
		if (bt == NULL || strcmp(bt, "tool_use") != 0 ||
		    str(cb, "id") == NULL || str(cb, "name") == NULL)
			return sse_fail(s, o, "content block \"%.40s\" has no "
			    "translation", bt != NULL ? bt : "?");
		s->toolblock[idx] = ++s->ntools;
		return o_chunk(s, o, json_pack("{s:[{s:i, s:s, s:s, s:{s:s, "
		    "s:s}}]}", "tool_calls", "index", s->ntools - 1, "id",
		    str(cb, "id"), "type", "function", "function", "name",
		    str(cb, "name"), "arguments", ""), NULL);
	}
	if (strcmp(t, "content_block_delta") == 0) {
		d = json_object_get(j, "delta");
		bt = str(d, "type");
		if (idx < 0 || idx >= 64)
			return sse_fail(s, o, "block index %lld",
			    (long long)idx);
		tool = s->toolblock[idx];
		if (bt != NULL && strcmp(bt, "text_delta") == 0 &&
		    str(d, "text") != NULL && !tool)
			return o_chunk(s, o, json_pack("{s:s}", "content",
			    str(d, "text")), NULL);
		if (bt != NULL && strcmp(bt, "input_json_delta") == 0 &&
		    str(d, "partial_json") != NULL && tool)
			return o_chunk(s, o, json_pack("{s:[{s:i, s:{s:s}}]}",
			    "tool_calls", "index", tool - 1, "function",
			    "arguments", str(d, "partial_json")), NULL);
		return sse_fail(s, o, "delta \"%.40s\" has no translation",
		    bt != NULL ? bt : "?");
	}
	if (strcmp(t, "message_delta") == 0) {
		d = json_object_get(j, "delta");
		if (str(d, "stop_reason") != NULL)
			strlcpy(s->stop, stop_a2o(str(d, "stop_reason")),
			    sizeof(s->stop));
		usage_of(j, A, &s->in, &s->out);
		return 0;
	}
	if (strcmp(t, "message_stop") == 0) {
		if (o_chunk(s, o, json_object(), s->stop[0] ? s->stop :
		    "stop") == -1 || emit(s, o, "", json_pack("{s:s, s:s, "
		    "s:I, s:s, s:[], s:{s:I, s:I, s:I}}", "id", s->id, "object",
		    "chat.completion.chunk", "created", (json_int_t)time(NULL),
		    "model", s->model, "choices", "usage", "prompt_tokens",
		    (json_int_t)(s->in < 0 ? 0 : s->in), "completion_tokens",
		    (json_int_t)(s->out < 0 ? 0 : s->out), "total_tokens",
		    (json_int_t)((s->in < 0 ? 0 : s->in) +
		    (s->out < 0 ? 0 : s->out)))) == -1 ||
		    llm_buf_add(o, "data: [DONE]\n\n", 14) == -1)
			return -1;
		s->finished = 1;
		return 0;
	}
	return sse_fail(s, o, "event \"%.40s\" has no translation", t);
}

/* one whole event: its data lines in s->data */
static int
sse_dispatch(struct llm_sse *s, struct llm_buf *o)
{
	json_t	*j;
	char	 why[200];
	int	 rv;

	if (s->data.len == 0) {
		s->event[0] = '\0';
		return 0;
	}
	if (s->finished)
		return sse_fail(s, o, "an event after the end");
	if (s->from == O && strcmp(s->data.b, "[DONE]") == 0) {
		llm_buf_free(&s->data);
		if (s->to == A)
			return a_finish(s, o);
		s->finished = 1;
		return 0;
	}
	j = jsonstrict_parse(s->data.b, s->data.len, LLM_DEPTH, why,
	    sizeof(why));
	llm_buf_free(&s->data);
	if (j == NULL || !json_is_object(j)) {
		json_decref(j);
		return sse_fail(s, o, "data that is not a JSON object");
	}
	if (s->from == s->to) {
		usage_of(j, s->from, &s->in, &s->out);
		if (s->from == A) {
			usage_of(json_object_get(j, "message"), A, &s->in,
			    &s->out);
			if (str(j, "type") != NULL &&
			    strcmp(str(j, "type"), "message_stop") == 0)
				s->finished = 1;
		}
		rv = 0;
	} else if (s->from == O)
		rv = o2a_chunk(s, j, o);
	else
		rv = a2o_event(s, s->event, j, o);
	json_decref(j);
	s->event[0] = '\0';
	return rv;
}

static int
sse_line(struct llm_sse *s, const char *l, size_t n, struct llm_buf *o)
{
	const char	*v;
	size_t		 vl;

	if (n > 0 && l[n - 1] == '\r')
		n--;
	if (n == 0)
		return sse_dispatch(s, o);
	if (l[0] == ':')
		return 0;
	v = memchr(l, ':', n);
	vl = v != NULL ? n - (v + 1 - l) : 0;
	if (v != NULL) {
		v++;
		if (vl > 0 && *v == ' ') {
			v++;
			vl--;
		}
	}
	if (n >= 5 && memcmp(l, "data:", 5) == 0) {
		if (s->data.len > 0 && llm_buf_add(&s->data, "\n", 1) == -1)
			return -1;
		if (s->data.len + vl > LLM_EVENT_MAX)
			return sse_fail(s, o, "an event over %d bytes",
			    LLM_EVENT_MAX);
		if (memchr(v, '\0', vl) != NULL)
			return sse_fail(s, o, "a NUL byte");
		if (vl > 0 && llm_buf_add(&s->data, v, vl) == -1)
			return -1;
		if (s->data.b == NULL && llm_buf_add(&s->data, "", 0) == -1)
			return -1;
		return 0;
	}
	if (n >= 6 && memcmp(l, "event:", 6) == 0) {
		if (vl >= sizeof(s->event))
			return sse_fail(s, o, "an event name too long");
		memcpy(s->event, v, vl);
		s->event[vl] = '\0';
		return 0;
	}
	return 0;	/* id:, retry:, other fields: not ours */
}

int
llm_sse_feed(struct llm_sse *s, const void *p, size_t n, struct llm_buf *o)
{
	const char	*b = p, *nl;
	size_t		 k;

	if (s->failed)
		return 0;
	if (s->from == s->to && llm_buf_add(o, p, n) == -1)
		return -1;
	while (n > 0 && !s->failed) {
		nl = memchr(b, '\n', n);
		k = nl != NULL ? (size_t)(nl - b) : n;
		if (s->line.len + k > LLM_EVENT_MAX)
			return sse_fail(s, o, "a line over %d bytes",
			    LLM_EVENT_MAX);
		if (llm_buf_add(&s->line, b, k) == -1)
			return -1;
		if (nl == NULL)
			break;
		if (sse_line(s, s->line.b != NULL ? s->line.b : "",
		    s->line.len, o) == -1)
			return -1;
		s->line.len = 0;
		b += k + 1;
		n -= k + 1;
	}
	return 0;
}

int
llm_sse_end(struct llm_sse *s, struct llm_buf *o)
{
	if (s->failed)
		return 0;
	if (s->line.len > 0 || s->data.len > 0)
		return sse_fail(s, o, "it ended inside an event");
	if (!s->finished) {
		/* OpenAI backends that end without [DONE] after a finish */
		if (s->from == O && s->to == A && s->stop[0] != '\0')
			return a_finish(s, o);
		return sse_fail(s, o, "it ended before its end");
	}
	return 0;
}
