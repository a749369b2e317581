/*
 * The credentials of a policy as the sandbox side sees them: each
 * one's id and environment variable, in the policy's order (the order
 * of the placeholders lensvmm makes and sends lensnetd at attach).
 * Read through policy_json(), the model's public view.
 */
#ifndef LENS_CREDVARS_H
#define LENS_CREDVARS_H

#include <stddef.h>

#define CREDVAR_ID_SIZE		65	/* policy id, at most 64 */
#define CREDVAR_ENV_SIZE	129	/* envVar, at most 128 */

struct credvar {
	char	 id[CREDVAR_ID_SIZE];
	char	 envvar[CREDVAR_ENV_SIZE];
};

struct policy;
/* 0 and *out (malloc'd, *n entries; NULL when none), or -1 */
int	policy_credvars(const struct policy *, struct credvar **out, size_t *n);

#endif
