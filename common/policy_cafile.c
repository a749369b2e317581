/*
 * The caFile names a policy's http rules give (policy.h): lensnetd's
 * parent reads each file at attach and hands it to the proxy.
 */
#include <stddef.h>
#include <string.h>

#include "policy.h"
#include "policy_int.h"

const char *
policy_cafile_at(const struct policy *pol, size_t i)
{
	size_t	 r, k, n = 0;

	for (r = 0; r < pol->nhttp; r++) {
		const char *f = pol->http[r].cafile;

		if (f == NULL)
			continue;
		for (k = 0; k < r; k++)	/* named by an earlier rule */
			if (pol->http[k].cafile != NULL &&
			    strcmp(pol->http[k].cafile, f) == 0)
				break;
		if (k < r)
			continue;
		if (n++ == i)
			return f;
	}
	return NULL;
}
