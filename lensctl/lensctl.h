/*
 * lensctl: one command group per file (audit.c, ...), each exporting a
 * struct lensctl_group that lensctl.c lists in its dispatch table.
 *
 * A command's main gets argv[0] set to its full name ("lensctl audit
 * show") so that getopt's messages name it, and returns the exit
 * status: 0 success, 1 failure (e.g. a log that does not verify),
 * 2 usage errors and unusable input.  run and exec are the exception:
 * they exit with the workload's status, or 125/126/127 (lensvmm_imsg.h).
 */
#ifndef LENSCTL_H
#define LENSCTL_H

#include <stdint.h>
#include <stdio.h>

#define LENSCTL_OK	0
#define LENSCTL_FAIL	1
#define LENSCTL_USAGE	2

struct lensctl_cmd {
	const char	*name;
	int		(*main)(int argc, char *argv[]);
	const char	*synopsis;	/* options and arguments, for usage */
	const char	*descr;		/* one line for help, or NULL */
};

struct lensctl_group {
	const char			*name;
	const struct lensctl_cmd	*cmds;	/* ends with a NULL name */
	const char			*descr;	/* one line, or NULL */
};

extern const struct lensctl_group audit_group;
extern const struct lensctl_group policy_group;
extern const struct lensctl_group sandbox_group;	/* also top-level */
extern const struct lensctl_group system_group;		/* also top-level */

struct policy;
/* lensctl run --policy: read and validate; -1 with the error printed */
int	lensctl_policy_read(const char *path, struct policy **,
	    char **text, size_t *len);

/*
 * lensctl policy show ID: the policy text a running sandbox got, from
 * lensvmm on sock (NULL: the default socket).  *text is NULL for a
 * sandbox with the default policy.  -1 with the error printed.
 */
int	lensctl_sandbox_policy(const char *sock, const char *ref,
	    char **text, size_t *len);

/*
 * lensctl cred ca ID: the sandbox CA's certificate (PEM) lensvmm got
 * for the sandbox; *pem NULL when it has none.  -1 with the error
 * printed.
 */
int	lensctl_sandbox_ca(const char *sock, const char *ref, char **pem,
	    size_t *len);
/*
 * lensctl cred ls: the sandboxes lensvmm on sock lists (as ps does),
 * each {id, name, credentials} with credentials the public model of its
 * policy's (policy_json: [{id, envVar, injections: [{type, host}]}]).
 * NULL with the error printed.
 */
struct json_t;
struct json_t	*lensctl_sandbox_creds(const char *sock);
/* lensctl inspect's JSON of one sandbox; NULL with the error printed */
struct json_t	*lensctl_sandbox_inspect(const char *sock, const char *ref);
/* approval.c: approvals, approve, deny; policy reload */
extern const struct lensctl_group approval_group;
int	lensctl_policy_reload(int argc, char *argv[]);
extern const struct lensctl_group cred_group;

/*
 * One request to lensvmm on sock (NULL: the default): each data message
 * to fn (returns 0, or -1: unexpected) until OK; LENSCTL_OK, or
 * LENSCTL_FAIL with the error printed.
 */
struct imsg;
int	lensctl_vmm_request(const char *sock, uint32_t type, const void *data,
	    size_t len, int (*fn)(const struct imsg *, void *), void *arg);
extern const struct lensctl_group image_group;	/* also top-level */

/* usage of one command (or the whole group if cmd is NULL); returns 2 */
int	lensctl_usage(const struct lensctl_group *, const char *cmd);

#endif
