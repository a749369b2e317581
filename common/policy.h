/*
 * The sandbox policy (lns-policy.yaml, see lns-policy.yaml(5) and
 * etc/lns-policy.schema.json): parsed with libyaml into an immutable
 * model (policy_yaml.c, only in unprivileged processes: lensctl and
 * lensvmm's policy child), which travels between processes as a fixed
 * binary model (policy_wire.c) that every receiver decodes and checks
 * completely, then asked for verdicts (policy_eval.c).  Evaluation: a
 * matching deny always wins, then a matching allow, then a matching
 * ask, then defaultVerdict; rule order never matters.
 */
#ifndef LENS_POLICY_H
#define LENS_POLICY_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#include "grammar.h"

#define POLICY_MAXSIZE	(60 * 1024)	/* fits one imsg with a header */
#define POLICY_MODEL_MAXSIZE POLICY_MAXSIZE	/* the binary model, too */
#define POLICY_MAXITEMS	4096		/* entries of any one list */

enum verdict {
	VERDICT_DENY = 0,
	VERDICT_ALLOW,
	VERDICT_ASK,			/* behaves as deny until approvals */
};

struct policy_error {
	char		file[256];
	unsigned int	line, column;	/* 1-based; 0 when not positional */
	char		msg[256];	/* names the field and the bad value */
};

struct policy;

/* NULL on error with *err filled ("file:line:column: msg") */
struct policy	*policy_load(const char *path, struct policy_error *err);
struct policy	*policy_parse(const char *name, const void *buf, size_t len,
		    struct policy_error *err);
void		 policy_free(struct policy *);
/* "file:line:column: msg" (or "file: msg") into buf */
void		 policy_strerror(const struct policy_error *, char *buf,
		    size_t len);
/*
 * The binary model: policy_encode writes it into buf (at most size
 * bytes; buf may be NULL with size 0) and returns its length, like
 * snprintf.  policy_decode checks every byte of it (version, counts,
 * lengths, every value as the YAML loader would) and returns the same
 * model, policy_hash included, or NULL with *err filled ("name: ...",
 * naming the byte offset and the field).
 */
size_t		 policy_encode(const struct policy *, void *buf, size_t size);
struct policy	*policy_decode(const char *name, const void *buf, size_t len,
		    struct policy_error *err);
/* the binary model in a new buffer (to free), NULL when out of memory */
void		*policy_model(const struct policy *, size_t *len);
/* the built-in policy when none is given: deny everything */
struct policy	*policy_default(void);
/* sha256 of the source (YAML) bytes, hex (for audit records); a
 * decoded model has the hash of the source it was parsed from */
const char	*policy_hash(const struct policy *);
/* canonical JSON of the model (lensctl policy show, inspect) */
char		*policy_json(const struct policy *);

const char	*verdict_name(enum verdict);

/*
 * Decisions.  Names are compared case-insensitively without a trailing
 * dot; a rule "*.suffix" matches names strictly below suffix; an http
 * allow or ask rule without ":port" matches ports 80 and 443 only, an
 * http deny rule without one, and a tcp or udp rule with "*", every
 * port.
 */
struct policy_http_decision {
	enum verdict	verdict;
	int		tls_terminate;	/* a matching allow rule says so, or
					   has request rules (rules:) */
	const char	*rule;		/* the rule's match text, for audit */
	const char	*cafile;	/* file name under /etc/lens/ca, NULL:
					   none (most specific allow rule
					   naming one) */
};
/*
 * Is host:port bound to a credential (a credentials[].injections[].host
 * matches it; one without ":port" every port)?  policy_http says
 * tls_terminate for an allowed bound host: it is always intercepted.
 */
int	policy_cred_bound(const struct policy *, const char *host,
	    uint16_t port);
/*
 * What a request to host:port carrying the placeholder of the policy's
 * i-th credential gets: the first of that credential's injections whose
 * host matches (the strings are the policy's; NULL when not given;
 * type is enum inj_type of policy_int.h).  -1 with why when there is
 * no credential i, or it is not bound to host:port.
 */
struct policy_injection {
	const char	*cred;		/* the credential's id */
	int		 type;
	const char	*type_name;	/* as lns-policy.yaml(5) spells it */
	const char	*name, *value, *user, *region, *service;
	const char	*token_url, *client_id;
	char		 token_host[256];	/* token_url's, lower case */
	uint16_t	 token_port;		/* token_url's, 443 if none */
};
int	policy_cred_injection(const struct policy *, size_t i,
	    const char *host, uint16_t port, struct policy_injection *,
	    char *why, size_t whylen);
/* HTTP(S) by SNI or Host */
void	policy_http(const struct policy *, const char *host, uint16_t port,
	    struct policy_http_decision *);

/*
 * One HTTP request on a connection to host:port: method as sent (case
 * matters), path as sent without the query ("/a/b", origin-form,
 * escapes not decoded), query the bytes after '?' ("" or NULL: none).
 *
 * The host is decided as policy_http() does; a deny or ask there is the
 * answer.  When allow won and a matching allow rule has request rules
 * (rules:), the request rules of every matching allow rule are asked:
 * a matching deny wins, then a matching allow, then a matching ask; a
 * matching allow rule without request rules allows every request; when
 * nothing matches, deny ("no request rule matches").  A path or query
 * that is not normal (lns-policy.yaml(5): "//", "." or ".." segments,
 * escapes of unreserved characters, of / or \, of NUL, '#', ...) or
 * longer than POLICY_MAXTARGET bytes is denied then, as it could be
 * read differently upstream.  Ask behaves as deny until approvals
 * exist.  websocket: the request may carry Upgrade: websocket, only
 * ever set by an allow request rule with websocket: true.
 */
#define POLICY_MAXTARGET	8192	/* bytes of a path, of a query */
struct policy_request_decision {
	enum verdict	verdict;
	const char	*rule;		/* the host rule's match text; NULL:
					   defaultVerdict decided */
	int		sub;		/* index of the request rule (in
					   rule's rules:) that decided; -1:
					   none did */
	int		websocket;	/* the deciding request rule allows
					   Upgrade: websocket */
	const char	*why;		/* short static reason when the
					   verdict is deny or ask */
	int		needs_body;	/* some candidate request rule reads
					   the body (graphql:, mcp:): the
					   caller must read it (bounded) and
					   call policy_http_body(), whose
					   verdict is the answer (verdict
					   here is not) */
	int		ws_body;	/* with needs_body: an allow request
					   rule that reads the body (graphql:)
					   allows Upgrade: websocket; each
					   message is judged as a body
					   (lensnetd/wsframe.h) */
};
void	policy_http_request(const struct policy *, const char *host,
	    uint16_t port, const char *method, const char *path,
	    const char *query, struct policy_request_decision *);

/*
 * The body of a request policy_http_request said needs_body for, as the
 * proxy read it (whole, de-chunked, within its bound): the request is
 * decided again with the request rules that read bodies judging it.
 * The body is parsed once, strictly (jsonstrict.h); a rule that must
 * read it but cannot (not JSON, duplicate keys, trailing data, too
 * deep, the wrong Content-Type, a batch its kind refuses, a persisted
 * query without its document, ...) refuses the request: deny with that
 * reason, never passed unread.  A matching deny wins, then allow, then
 * ask, as for requests.
 */
struct policy_body {			/* what the proxy read */
	const char	*ctype;		/* Content-Type, NULL: none */
	const char	*data;		/* the whole body, NUL after it */
	size_t		 len;
	/* header lookup for rules that check headers (MCP: Mcp-Method,
	   Mcp-Name): the idx-th value of name, NULL past the last */
	const char	*(*header)(void *arg, const char *name, size_t idx);
	void		*arg;
};
struct policy_body_decision {
	enum verdict	 verdict;
	int		 sub;		/* deciding request rule, -1 none */
	const char	*why;		/* static or in whybuf */
	char		 whybuf[256];
	char		 audit[512];	/* kind-specific detail for the audit
					   event, a JSON object's text
					   ({"graphql":{...}}), "" none */
};
void	policy_http_body(const struct policy *, const char *host,
	    uint16_t port, const char *method, const char *path,
	    const char *query, const struct policy_body *,
	    struct policy_body_decision *);

/* raw TCP to a name lensnetd resolved (tcp rules, then http rules do not apply) */
enum verdict	policy_tcp_name(const struct policy *, const char *name,
		    uint16_t port, const char **rule);
/* raw TCP/UDP to an address: only CIDR rules (tcp: or udp:) can match */
enum verdict	policy_tcp_addr(const struct policy *, const struct sockaddr *,
		    uint16_t port, const char **rule);
enum verdict	policy_udp_addr(const struct policy *, const struct sockaddr *,
		    uint16_t port, const char **rule);
/*
 * DNS: may this name be resolved?  ALLOW when any http or tcp rule
 * with verdict allow or ask could match the name on some port and no
 * port-less deny rule matches it; with defaultVerdict allow, every name
 * not denied.  A name no rule matches under defaultVerdict ask is ASK
 * (lensnetd holds the query until an operator answers).  Otherwise DENY
 * (answered NXDOMAIN).
 */
enum verdict	policy_dns(const struct policy *, const char *name);

/*
 * LLM routing (the llm: section, lns-policy.yaml(5)).  A request whose
 * host matches a route's domain and whose path its path glob is an LLM
 * request: policy_llm_applies says so (the proxy then reads its body,
 * and the host is intercepted); policy_llm_decide takes the body's
 * model and picks the route: a matching deny wins, then the first
 * matching route or passthrough in the order written; no route
 * matching the model is a deny.  For a route, the backend (a view of
 * the policy's strings) and the model it serves (the first glob of its
 * models: matching the model asked; none: the request is refused).
 */
#define POLICY_LLM_API_ANTHROPIC	0	/* Messages, /v1/messages */
#define POLICY_LLM_API_OPENAI		1	/* Chat Completions */
#define POLICY_LLM_PASSTHROUGH		0
#define POLICY_LLM_ROUTE		1
#define POLICY_LLM_DENY			2
struct policy_llm_backend {
	const char	*name, *url, *host, *base;
	uint16_t	 port;
	int		 api;			/* POLICY_LLM_API_* */
	int		 tools, images;
};
struct policy_llm_decision {
	int		 action;		/* POLICY_LLM_* */
	int		 route;			/* index, -1 none matched */
	int		 api;			/* the request's API */
	int		 translate;
	struct policy_llm_backend be;		/* route */
	const char	*served;		/* route: the model sent */
	char		 why[256];		/* deny, or a refused route */
};
int	policy_llm_applies(const struct policy *, const char *host,
	    uint16_t port, const char *method, const char *path);
/* -1: the request is refused (why), also for a deny; 0 decided */
int	policy_llm_decide(const struct policy *, const char *host,
	    uint16_t port, const char *path, const char *model,
	    struct policy_llm_decision *);
/* "passthrough", "route", "deny" */
const char *policy_llm_action_name(int action);
/* the first credential bound to host:port (an llm backend's), -1 none */
long	policy_llm_cred(const struct policy *, const char *host,
	    uint16_t port);
/*
 * is host:port an llm backend's?  A request of the sandbox's own to it
 * that no llm route covers is denied: the backend's credential serves
 * the routes, never a way around them.
 */
int	policy_llm_backend_at(const struct policy *, const char *host,
	    uint16_t port);
/* is host the domain of some llm route (it is intercepted then)? */
int	policy_llm_host(const struct policy *, const char *host);

size_t	policy_npublish(const struct policy *);
/* the publish: entries, parsed by gr_publish() (grammar.h) */
const struct gr_publish *policy_publish_at(const struct policy *,
	    size_t);
/* the i-th distinct caFile its http rules name, or NULL past the last */
const char	*policy_cafile_at(const struct policy *, size_t);

struct policy_resources {
	uint32_t	cpu_millis;	/* 0 = not set */
	uint64_t	memory;		/* bytes, 0 = not set */
	uint32_t	pids;		/* 0 = not set */
};
const struct policy_resources *policy_resources(const struct policy *);

#endif
