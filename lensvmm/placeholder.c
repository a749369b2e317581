/*
 * The credential placeholders of a sandbox (issue 13, common/phscan.h):
 * one per credential of its policy, made with the sandbox, kept in its
 * state (config.json: a stopped sandbox started again, or one lensvmm
 * recovers, keeps them), shown by inspect (they are not secrets: only
 * lenscredd's exchange turns one into a value, and only for the hosts
 * its credential is bound to), put in the environment of every command
 * under the credential's envVar and sent to lensnetd at attach.
 * A command's own -e for one of these variables is refused: the sandbox
 * must see the placeholder there, never a value someone typed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "credvars.h"
#include "log.h"
#include "parent.h"
#include "phscan.h"
#include "policy.h"

int
ph_take(struct sbx *sb, const struct policy *pol, char *err, size_t errlen)
{
	struct credvar	*cv;
	size_t		 n, i, j;

	if (policy_credvars(pol, &cv, &n) == -1) {
		snprintf(err, errlen, "policy: cannot list its credentials");
		return -1;
	}
	if (n > PHSCAN_MAXSET) {
		free(cv);
		snprintf(err, errlen, "policy: %zu credentials, at most %d", n,
		    PHSCAN_MAXSET);
		return -1;
	}
	free(sb->ph);
	sb->ph = NULL;
	sb->nph = 0;
	if (n == 0)
		return 0;
	if ((sb->ph = calloc(n, sizeof(*sb->ph))) == NULL) {
		free(cv);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		strlcpy(sb->ph[i].id, cv[i].id, sizeof(sb->ph[i].id));
		strlcpy(sb->ph[i].envvar, cv[i].envvar,
		    sizeof(sb->ph[i].envvar));
		do {
			if (ph_make(sb->ph[i].ph) == -1) {
				free(cv);
				snprintf(err, errlen, "getrandom: %m");
				return -1;
			}
			for (j = 0; j < i; j++)	/* 2^-160, but unique */
				if (strcmp(sb->ph[j].ph, sb->ph[i].ph) == 0)
					break;
		} while (j < i);
	}
	sb->nph = n;
	free(cv);
	return 0;
}

int
ph_env_refuse(const struct sbx *sb, const char *strs, uint32_t argc,
    uint32_t envc, char *err, size_t errlen)
{
	const char	*p = strs;
	size_t		 i, kl;
	uint32_t	 k;

	for (k = 0; k < argc; k++)
		p += strlen(p) + 1;
	for (k = 0; k < envc; k++, p += strlen(p) + 1)
		for (i = 0; i < sb->nph; i++) {
			kl = strlen(sb->ph[i].envvar);
			if (strncmp(p, sb->ph[i].envvar, kl) == 0 &&
			    p[kl] == '=') {
				snprintf(err, errlen, "-e %s: the variable of "
				    "credential %s, which holds its "
				    "placeholder; the sandbox never gets a "
				    "credential's value", sb->ph[i].envvar,
				    sb->ph[i].id);
				return -1;
			}
		}
	return 0;
}

json_t *
ph_json(const struct sbx *sb)
{
	json_t	*a;
	size_t	 i;

	if ((a = json_array()) == NULL)
		fatalx("json_array");
	for (i = 0; i < sb->nph; i++)
		if (json_array_append_new(a, json_pack("{s:s, s:s, s:s}",
		    "credential", sb->ph[i].id, "envVar", sb->ph[i].envvar,
		    "placeholder", sb->ph[i].ph)) == -1)
			fatalx("json_pack");
	return a;
}

/*
 * The placeholders saved with the sandbox replace the ones its policy
 * just made, if they are for the same credentials in the same order and
 * well formed; otherwise the new ones stay (and are saved).
 */
void
ph_restore(struct sbx *sb, json_t *a)
{
	json_t		*e;
	const char	*id, *env, *ph;
	size_t		 i;

	if (!json_is_array(a) || json_array_size(a) != sb->nph) {
		if (sb->nph > 0)
			log_warnx("%s: saved placeholders do not match the "
			    "policy; new ones made", sb->id);
		return;
	}
	json_array_foreach(a, i, e) {
		id = json_string_value(json_object_get(e, "credential"));
		env = json_string_value(json_object_get(e, "envVar"));
		ph = json_string_value(json_object_get(e, "placeholder"));
		if (id == NULL || env == NULL || ph == NULL ||
		    strcmp(id, sb->ph[i].id) != 0 ||
		    strcmp(env, sb->ph[i].envvar) != 0 ||
		    !ph_valid(ph, strlen(ph))) {
			log_warnx("%s: saved placeholder %zu does not match "
			    "the policy; new ones made", sb->id, i + 1);
			return;
		}
	}
	json_array_foreach(a, i, e)
		strlcpy(sb->ph[i].ph, json_string_value(json_object_get(e,
		    "placeholder")), sizeof(sb->ph[i].ph));
}
