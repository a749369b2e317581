/*
 * policymodel FILE.yaml: the binary policy model (policy_encode) of a
 * policy file on stdout, or its error on stderr and exit 1.  For the
 * fuzz seed corpus (regress/fuzz/corpus/policy_wire) and tests that
 * send a model by hand.
 */
#include <stdio.h>
#include <stdlib.h>

#include "policy.h"

int
main(int argc, char *argv[])
{
	struct policy_error	 err;
	struct policy		*pol;
	char			 ebuf[600];
	void			*b;
	size_t			 len;

	if (argc != 2) {
		fprintf(stderr, "usage: policymodel file.yaml\n");
		return 2;
	}
	if ((pol = policy_load(argv[1], &err)) == NULL) {
		policy_strerror(&err, ebuf, sizeof(ebuf));
		fprintf(stderr, "policymodel: %s\n", ebuf);
		return 1;
	}
	len = policy_encode(pol, NULL, 0);
	if ((b = malloc(len)) == NULL || policy_encode(pol, b, len) != len ||
	    fwrite(b, 1, len, stdout) != len || fflush(stdout) == EOF) {
		fprintf(stderr, "policymodel: cannot write the model\n");
		return 1;
	}
	free(b);
	policy_free(pol);
	return 0;
}
