/*
 * libFuzzer target for mcp: request rules (common/policy_mcp.c) over
 * (rule, body, header): the input is RULE NUL BODY [NUL MCP-NAME], RULE
 * the YAML of an mcp: list (a policy author's), BODY a request body (a
 * hostile workload's) and MCP-NAME the value of its Mcp-Name header.
 *
 * Properties: a rule the loader takes survives the binary model with
 * the same JSON; the matcher says 1, 0 or -1, and -1 with a reason;
 * whatever it says, the audit detail is "" or a JSON object
 * {"mcp":{...}} of at most its buffer, with no "arguments" in it; a
 * body wrapped in an array (a batch) is always refused; what is
 * covered is a JSON-RPC 2.0 object with a string method, and with an
 * Mcp-Name header that is not the body's name, never covered.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jsonstrict.h"
#include "policy.h"
#include "policy_int.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char	*mcpname;

static const char *
header(void *arg, const char *name, size_t idx)
{
	(void)arg;
	if (idx == 0 && mcpname != NULL && strcasecmp(name, "Mcp-Name") == 0)
		return mcpname;
	return NULL;
}

static int
judge(const struct mcp_rule *m, const json_t *j, const char *body,
    size_t len)
{
	struct policy_body	 b = { "application/json", body, len, header,
				    NULL };
	char			 why[256] = "", audit[512] = "";
	json_t			*a;
	int			 rv;

	rv = pm_mcp_match(m, j, &b, audit, sizeof(audit), why, sizeof(why));
	if (rv < -1 || rv > 1)
		abort();
	if (rv == -1 && why[0] == '\0')
		abort();
	if (strlen(audit) >= sizeof(audit))
		abort();
	if (audit[0] != '\0') {
		if (strncmp(audit, "{\"mcp\":{", 8) != 0 ||
		    (a = json_loads(audit, 0, NULL)) == NULL)
			abort();
		if (json_object_get(json_object_get(a, "mcp"),
		    "arguments") != NULL)
			abort();
		json_decref(a);
	}
	if (rv == 1) {
		const json_t *method = json_object_get(j, "method");

		const json_t *ver = json_object_get(j, "jsonrpc");

		if (!json_is_object(j) || !json_is_string(method) ||
		    !json_is_string(ver) ||
		    strcmp(json_string_value(ver), "2.0") != 0)
			abort();
	}
	return rv;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_error	 err;
	struct policy		*pol, *pol2;
	const char		*rule, *body;
	char			*buf, *text, *j1, *j2, why[200];
	void			*model;
	json_t			*j, *batch;
	size_t			 rlen, blen;
	int			 rv;

	if (size > 64 * 1024)
		return 0;
	if ((buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	rule = buf;
	rlen = strlen(rule);
	if (rlen == size) {
		free(buf);
		return 0;
	}
	body = buf + rlen + 1;
	blen = strnlen(body, size - rlen - 1);
	mcpname = NULL;
	if (rlen + 1 + blen < size)
		mcpname = body + blen + 1;
	if (asprintf(&text, "version: 1\nnetwork:\n  egress:\n    http:\n"
	    "      - match: mcp.test\n        verdict: allow\n"
	    "        rules:\n          - method: POST\n            path: /mcp\n"
	    "            verdict: allow\n            mcp: %s\n", rule) == -1) {
		free(buf);
		return 0;
	}
	pol = policy_parse("fuzz", text, strlen(text), &err);
	free(text);
	if (pol == NULL) {
		free(buf);
		return 0;
	}
	/* the binary model: the same policy */
	model = policy_model(pol, &rlen);
	if (model == NULL ||
	    (pol2 = policy_decode("fuzz", model, rlen, &err)) == NULL)
		abort();
	j1 = policy_json(pol);
	j2 = policy_json(pol2);
	if (j1 == NULL || j2 == NULL || strcmp(j1, j2) != 0)
		abort();
	free(j1);
	free(j2);
	free(model);
	policy_free(pol2);

	if ((j = jsonstrict_parse(body, blen, JSONSTRICT_MAXDEPTH, why,
	    sizeof(why))) != NULL) {
		const struct mcp_rule *m = pol->http[0].subs[0].mcp;

		rv = judge(m, j, body, blen);
		if (rv == 1 && mcpname != NULL) {
			const json_t *p = json_object_get(j, "params");
			const json_t *n = json_object_get(p, "name");
			const json_t *u = json_object_get(p, "uri");

			/* a plain header value other than both: refused */
			if (strncmp(mcpname, "=?", 2) != 0 &&
			    strchr(mcpname, ' ') == NULL &&
			    strchr(mcpname, '\t') == NULL &&
			    !(json_is_string(n) &&
			    strcmp(json_string_value(n), mcpname) == 0) &&
			    !(json_is_string(u) &&
			    strcmp(json_string_value(u), mcpname) == 0))
				abort();
		}
		if ((batch = json_array()) == NULL ||
		    json_array_append(batch, j) == -1)
			abort();
		if (judge(m, batch, body, blen) != -1)
			abort();
		json_decref(batch);
		json_decref(j);
	}
	policy_free(pol);
	free(buf);
	return 0;
}
