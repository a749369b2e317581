/*
 * The policy model, shared by the files of common/policy*.c and by
 * nothing else: policy_model.c builds and checks it, policy_yaml.c
 * fills it from lns-policy.yaml (libyaml), policy_wire.c from the
 * binary model (policy_encode/policy_decode), policy_eval.c asks it for
 * verdicts, policy_json.c exports it.  Both ways in go through the
 * checks of policy_model.c, so a decoded model is always one the YAML
 * path could have built.
 */
#ifndef LENS_POLICY_INT_H
#define LENS_POLICY_INT_H

#include <stddef.h>
#include <stdint.h>

#include "grammar.h"
#include "policy.h"

#define MAXNAME		253		/* a DNS name without the dot */
#define MAXSTR		1024		/* paths, header values */

/* the longest string of each field, in bytes */
#define PM_HTTP_MATCH	(MAXNAME + 8)
#define PM_NET_MATCH	(MAXNAME + 16)
#define PM_SUB_PATH	MAXSTR
#define PM_SUB_QUERY	MAXSTR
#define PM_CAFILE	128		/* a file name under /etc/lens/ca */
#define PM_PUBLISH	128
#define PM_CRED_ID	64
#define PM_ENVVAR	128
#define PM_INJ_HOST	(MAXNAME + 8)
/* an injection's fields fit the exchange's request (lenscredd_imsg.h) */
#define PM_INJ_NAME	127
#define PM_INJ_VALUE	511
#define PM_INJ_AWS	63		/* region, service */
#define PM_INJ_URL	511

#define PM_MCP_GLOB	MAXSTR		/* mcp: method, tool, uri, glob */
#define PM_MCP_POINTER	MAXSTR		/* mcp: arguments[].pointer */

#define PM_WHY		256		/* a builder's reason */

struct hostpat {
	char		 name[MAXNAME + 1];	/* lower case, no final dot */
	int		 wildcard;		/* "*.name": strictly below */
};

struct cidr {
	int		 af;
	uint8_t		 addr[16];
	unsigned int	 plen;
};

/*
 * mcp: under a request rule (policy_mcp.c): the JSON-RPC requests of
 * MCP's Streamable HTTP transport it covers.  An entry covers a request
 * by itself (its conditions all hold); entries never combine.
 */
struct mcp_arg {
	char		*pointer;		/* RFC 6901, into params.arguments */
	char		*glob;			/* over the scalar found there */
};

struct mcp_entry {
	char		*method;		/* glob over method */
	char		*tool;			/* glob over params.name, NULL: any */
	char		*uri;			/* glob over params.uri, NULL: any */
	struct mcp_arg	*args;
	size_t		 nargs;
};

struct mcp_rule {
	struct mcp_entry *e;
	size_t		 n;			/* at least 1 */
};

/*
 * graphql: under a request rule (policy_graphql.c): which operations of
 * a GraphQL request's document it covers.  Each list empty: any.
 */
#define PM_GQL_QUERY		0x01
#define PM_GQL_MUTATION		0x02
#define PM_GQL_SUBSCRIPTION	0x04
#define PM_GQL_NAME		128	/* an operationNames glob */
#define PM_GQL_FIELD		128	/* a field name */
#define PM_GQL_MAXLIST		256	/* entries of each list */
struct graphql_rule {
	unsigned int	 ops;			/* PM_GQL_*, 0: any */
	char		**names;		/* operationNames globs */
	size_t		 nnames;
	char		**fields;		/* top-level fields */
	size_t		 nfields;
};

struct http_sub {
	char		*method;
	char		*path;
	char		*query;			/* NULL: any query; may be "" */
	int		 websocket;		/* may carry Upgrade: websocket */
	enum verdict	 verdict;
	struct graphql_rule *graphql;		/* NULL: none */
	struct mcp_rule	*mcp;			/* NULL: no mcp: section */
};

struct http_rule {
	char		*match;			/* as written */
	struct hostpat	 host;
	uint16_t	 port;			/* 0: every port */
	enum verdict	 verdict;
	int		 tls;
	char		*cafile;		/* NULL when not given */
	struct http_sub	*subs;
	size_t		 nsubs;
};

struct net_rule {				/* tcp: and udp: */
	char		*match;
	int		 is_cidr;
	struct hostpat	 host;
	struct cidr	 cidr;
	uint16_t	 lo, hi;		/* 1-65535 for "*" */
	enum verdict	 verdict;
};

/* the numbers travel (policy_wire.c, struct cred_exchange): append only */
/* enum inj_type and its names (gr_inj_names): common/grammar.h */
extern const char *const pm_methods[];		/* the rules' methods, NULL */

/* an injection's fields besides type and host, in wire order */
enum inj_field {
	IF_NAME, IF_VALUE, IF_USER, IF_REGION, IF_SERVICE, IF_TOKENURL,
	IF_CLIENTID, IF_N
};
extern const char *const pm_inj_fields[];	/* their keys, NULL */

struct injection {
	enum inj_type	 type;
	char		*host;
	char		*f[IF_N];		/* NULL when not given */
};

struct credential {
	char		*id;
	char		*envvar;
	struct injection *inj;
	size_t		 ninj;
};

/*
 * llm: (policy_llm.c): backends an LLM request may be sent to, and the
 * routes that decide which requests go where.
 */
#define PM_LLM_NAME	64		/* a backend's name */
#define PM_LLM_URL	512		/* a backend's url */
#define PM_LLM_GLOB	256		/* model and path globs, served names */
#define PM_LLM_MAXLIST	256		/* backends, routes, models each */
struct llm_model {
	char		*glob;			/* over the model asked */
	char		*served;		/* the backend's name for it */
};

struct llm_backend {
	char		*name;
	char		*url;			/* as written */
	char		 host[MAXNAME + 1];	/* derived from url */
	uint16_t	 port;
	char		 base[PM_LLM_URL + 1];	/* url's path, no final / */
	int		 api;			/* POLICY_LLM_API_* */
	int		 tools, images;		/* capabilities */
	struct llm_model *models;
	size_t		 nmodels;
};

struct llm_route {
	char		*domain;		/* as written: host or *.suffix */
	struct hostpat	 host;
	char		*path;			/* glob, '*' not across / */
	char		*model;			/* glob */
	int		 action;		/* POLICY_LLM_* */
	char		*backend;		/* route: a backend's name */
	int		 api;			/* what the agent speaks */
	int		 translate;
};

struct policy {
	char		 hash[2 * 32 + 1];
	enum verdict	 defverdict;
	struct http_rule *http;
	size_t		 nhttp;
	struct net_rule	*tcp, *udp;
	size_t		 ntcp, nudp;
	struct gr_publish *publish;
	size_t		 npublish;
	struct credential *creds;
	size_t		 ncreds;
	struct policy_resources res;
	struct llm_backend *llmb;
	size_t		 nllmb;
	struct llm_route *llmr;
	size_t		 nllmr;
};

/* errors: "file:line:column: msg" (line 0: "file: msg") */
void	pm_seterr(struct policy_error *, const char *file, unsigned int line,
	    unsigned int col, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));
/* s as a quoted, escaped, shortened string for messages */
const char *pm_quote(const char *s, size_t len, char *buf, size_t size);

/* the offset of the first byte that is not well-formed UTF-8, or len */
size_t	pm_utf8_bad(const unsigned char *, size_t);

/* a new empty model (defaultVerdict deny), NULL when out of memory */
struct policy *pm_new(void);
/* the hash of the source bytes */
void	pm_hash_source(struct policy *, const void *, size_t);

/*
 * The builders: each checks one value the way lns-policy.yaml(5) says
 * and fills the model, or returns -1 with why set to the reason, which
 * follows the quoted value in a message (it starts with ": " or " ").
 */
int	pm_hostport(const char *s, struct hostpat *, uint16_t *port,
	    char *why, size_t);
int	pm_why(char *why, size_t, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
int	pm_net_match(const char *s, struct net_rule *, char *why, size_t);
int	pm_sub_path(const char *s, char *why, size_t);
int	pm_sub_query(const char *s, char *why, size_t);
int	pm_cafile(const char *s, char *why, size_t);
int	pm_cred_id(const char *s, char *why, size_t);
int	pm_envvar(const char *s, char *why, size_t);
/*
 * An injection's field k: what type t makes of it (PM_INJ_NO: the type
 * takes no such key, PM_INJ_OPT, PM_INJ_REQ), its longest value, and
 * its check.
 */
#define PM_INJ_NO	0
#define PM_INJ_OPT	1
#define PM_INJ_REQ	2
int	pm_inj_takes(enum inj_type t, enum inj_field k);
size_t	pm_inj_max(enum inj_field k);
int	pm_inj_field(enum inj_field k, const char *s, char *why, size_t);
/*
 * A tokenUrl split: host (lower case, no final dot, a name or an
 * address), port (443 unless given); -1 when s is not one.
 */
int	pm_token_url(const char *s, char host[MAXNAME + 1], uint16_t *port,
	    char *why, size_t);
/* the index of an earlier entry this one repeats, or -1 */
long	pm_publish_dup(const struct policy *, size_t i);
long	pm_cred_id_dup(const struct policy *, size_t i, const char *id);
long	pm_envvar_dup(const struct policy *, size_t i, const char *envvar);

/*
 * mcp: builders (policy_mcp.c): a glob (method, tool, uri or an
 * argument's) and a JSON pointer.  pm_mcp_free frees a rule.
 */
int	pm_mcp_glob(const char *s, char *why, size_t);
int	pm_mcp_pointer(const char *s, char *why, size_t);
/* the method of a request rule with mcp: (POST or *) */
int	pm_mcp_method(const char *method, char *why, size_t);
void	pm_mcp_free(struct mcp_rule *);

/* evaluation's name helpers (policy_eval.c), also used by builders */
int	norm_name(const char *s, size_t len, char *out);
int	hostpat_parse(const char *s, size_t len, struct hostpat *);
int	cidr_parse(const char *s, size_t len, struct cidr *, const char **);
/*
 * Request targets (policy_eval.c), also used by the builders: the byte
 * a percent-escape at s stands for (s[0] is '%'), -1 when s does not
 * start with '%' and two hex digits; and whether it is one that no
 * normal target carries (an unreserved character, RFC 3986 2.3, a
 * separator, NUL, '%' followed by hex digits, an overlong UTF-8 lead).
 * path_abnormal: NULL when path is normal, else what is wrong with it.
 */
int	pct_byte(const char *s);
int	pct_abnormal(const char *s, char sep);
const char *path_abnormal(const char *s, size_t len, int pattern);
const char *pm_query_abnormal(const char *s, size_t len);	/* a pattern */

/* glob_match of policy_eval.c: '*' not over seps, "**" over all */
int	pm_glob(const char *pat, const char *s, size_t len, const char *seps);

/*
 * The matchers of request rules that read bodies, each given the body's
 * strict JSON: 1 the body matches the rule, 0 it does not, -1 it cannot
 * be judged (why set).  deny: the rule's verdict is deny (a batch
 * matches when one element does, else when every one does).  audit: the request's detail for the audit
 * event, a JSON object's text ("" none).
 */
struct json_t;
int	pm_graphql_match(const struct graphql_rule *, int deny,
	    const struct json_t *, const char *urlquery, char *audit,
	    size_t auditlen, char *why, size_t whylen);
void	pm_graphql_free(struct graphql_rule *);
/* builders of graphql: (policy_model.c) */
extern const char *const pm_gql_ops[];	/* "query", ... by bit, NULL */
int	pm_gql_name(const char *s, char *why, size_t);	/* a glob */
int	pm_gql_field(const char *s, char *why, size_t);	/* a glob */
/* the graphql: of a request rule as a whole (websocket, empty) */
int	pm_gql_check(const struct http_sub *, char *why, size_t);

/*
 * MCP (policy_mcp.c): body is the request's strict JSON, b what the
 * proxy read (its Mcp-Method and Mcp-Name headers are checked against
 * the body).  1 one entry of the rule covers the request, 0 none does,
 * -1 it cannot be judged (why set: not one JSON-RPC 2.0 request, a
 * batch, a header that disagrees, a value too long to judge).  audit:
 * the request's detail, {"mcp":{...}}, made only when audit does not
 * hold one already (the same body judged by another mcp: rule).
 */
struct policy_body;
int	pm_mcp_match(const struct mcp_rule *, const struct json_t *body,
	    const struct policy_body *b, char *audit, size_t auditlen,
	    char *why, size_t whylen);

/*
 * llm: builders (policy_llm.c).  pm_llm_url splits a backend's url
 * (https://host[:port][/base]) into b; pm_llm_name checks a backend's
 * name, pm_llm_glob a model or path glob or a served model name.
 * pm_llm_route_check: route i against the backends (named backend
 * exists, translate between different APIs only), -1 with why.
 * pm_llm_free frees the section.
 */
int	pm_llm_url(const char *s, struct llm_backend *b, char *why, size_t);
int	pm_llm_name(const char *s, char *why, size_t);
int	pm_llm_glob(const char *s, char *why, size_t);
int	pm_llm_domain(const char *s, struct llm_route *, char *why, size_t);
/* the API a path implies (.../messages, .../chat/completions), -1 none */
int	pm_llm_path_api(const char *path);
long	pm_llm_backend_dup(const struct policy *, size_t i);
int	pm_llm_route_check(const struct policy *, size_t i, char *why,
	    size_t);
void	pm_llm_free(struct policy *);
extern const char *const pm_llm_apis[];		/* by POLICY_LLM_API_* */
extern const char *const pm_llm_actions[];	/* by POLICY_LLM_* */

#endif
