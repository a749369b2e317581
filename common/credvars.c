/*
 * The ids and environment variables of a policy's credentials
 * (credvars.h).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "credvars.h"
#include "policy.h"

int
policy_credvars(const struct policy *pol, struct credvar **out, size_t *n)
{
	json_t		*j, *cr, *c;
	char		*s;
	const char	*id, *env;
	size_t		 i;

	*out = NULL;
	*n = 0;
	if ((s = policy_json(pol)) == NULL)
		return -1;
	j = json_loads(s, 0, NULL);
	free(s);
	if (j == NULL)
		return -1;
	cr = json_object_get(j, "credentials");
	if (!json_is_array(cr) || json_array_size(cr) == 0) {
		json_decref(j);
		return 0;
	}
	if ((*out = calloc(json_array_size(cr), sizeof(**out))) == NULL) {
		json_decref(j);
		return -1;
	}
	json_array_foreach(cr, i, c) {
		id = json_string_value(json_object_get(c, "id"));
		env = json_string_value(json_object_get(c, "envVar"));
		if (id == NULL || env == NULL ||
		    strlen(id) >= CREDVAR_ID_SIZE ||
		    strlen(env) >= CREDVAR_ENV_SIZE) {
			free(*out);
			*out = NULL;
			json_decref(j);
			return -1;
		}
		strlcpy((*out)[i].id, id, CREDVAR_ID_SIZE);
		strlcpy((*out)[i].envvar, env, CREDVAR_ENV_SIZE);
	}
	*n = json_array_size(cr);
	json_decref(j);
	return 0;
}
