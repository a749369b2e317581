/*
 * LLM API translation for llm: routes (lns-policy.yaml(5), lensnetd(8)
 * LLM ROUTING): Anthropic Messages <-> OpenAI Chat Completions, the
 * request, the whole response, and a streamed response's SSE events
 * re-framed one by one.  Pure functions over jansson values and byte
 * buffers: no I/O, every input hostile, every buffer bounded.
 */
#ifndef LENS_LLM_H
#define LENS_LLM_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define LLM_RESP_MAX	(4 * 1024 * 1024)	/* a whole response read */
#define LLM_EVENT_MAX	(256 * 1024)		/* one SSE event */
#define LLM_MODEL_MAX	256

struct llm_buf {
	char		*b;
	size_t		 len, size;
};
int	llm_buf_add(struct llm_buf *, const void *, size_t);
void	llm_buf_free(struct llm_buf *);

/* what a backend can take (policy_llm_backend's capabilities) */
struct llm_caps {
	int	 tools, images;
};

/*
 * The request body in (a JSON object of API from, POLICY_LLM_API_*) as
 * API to would take it, with the model served: the JSON text in a new
 * buffer (*len bytes, NUL after them), or NULL with why (what the
 * request needs that the backend lacks, what has no translation: the
 * request is refused with it, 400).  from == to: only the model and
 * the capability checks.  *stream: the request asks for a stream.
 */
char	*llm_request(const json_t *in, int from, int to, const char *served,
	    const struct llm_caps *, int *stream, size_t *len, char *why,
	    size_t whylen);

/*
 * A whole response body (status from the backend, API from) as API to
 * would answer it: a new JSON text (*len bytes).  A body that is not
 * the JSON it should be becomes an error of API to naming that.  The
 * usage the response reports is kept in *in_tokens, *out_tokens (-1:
 * not reported).
 */
char	*llm_response(const char *body, size_t blen, int status, int from,
	    int to, const char *model, size_t *len, int64_t *in_tokens,
	    int64_t *out_tokens);

/*
 * A streamed response's SSE, re-framed: feed it the bytes as they come,
 * take the output from out (the caller drains it), end it when the
 * stream ended.  A malformed stream (an event over LLM_EVENT_MAX, data
 * that is not the JSON it should be, an event with no translation, an
 * end before the stream's end) ends the output with one clean error
 * event of API to; what follows is ignored.  from == to: the bytes pass
 * as they are, read for usage only.
 */
struct llm_sse;
struct llm_sse	*llm_sse_new(int from, int to, const char *model);
void	 llm_sse_free(struct llm_sse *);
/* 0, or -1 out of memory */
int	 llm_sse_feed(struct llm_sse *, const void *, size_t,
	    struct llm_buf *out);
int	 llm_sse_end(struct llm_sse *, struct llm_buf *out);
/* the usage the stream reported, -1 none; 1 when it was malformed */
void	 llm_sse_usage(const struct llm_sse *, int64_t *in, int64_t *out);
int	 llm_sse_failed(const struct llm_sse *, const char **why);

#endif
