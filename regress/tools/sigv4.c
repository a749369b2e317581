/*
 * lenscredd/sign.c's SigV4 from the command line, for
 * regress/sign-botocore.t:
 *
 *	sigv4 AKID SECRET REGION SERVICE AMZDATE METHOD PATH QUERY PAYLOAD \
 *	    [NAME:VALUE ...]
 *
 * PAYLOAD is the body's hex SHA-256 or UNSIGNED-PAYLOAD, QUERY "-" for
 * none; prints the Authorization header's value, or the refusal on
 * stderr (exit 1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lenscredd/sign.c"

int
main(int argc, char *argv[])
{
	struct sign_aws	 a;
	struct sign_req	 r;
	struct sign_hdr	*h;
	char		*o, why[256], *c;
	int		 i;

	if (argc < 10) {
		fprintf(stderr, "usage: sigv4 AKID SECRET REGION SERVICE "
		    "AMZDATE METHOD PATH QUERY PAYLOAD [NAME:VALUE ...]\n");
		return 2;
	}
	a = (struct sign_aws){ argv[1], argv[2], argv[3], argv[4], argv[5] };
	if ((h = calloc(argc, sizeof(*h))) == NULL)
		return 2;
	for (i = 10; i < argc; i++) {
		if ((c = strchr(argv[i], ':')) == NULL) {
			fprintf(stderr, "sigv4: %s: no ':'\n", argv[i]);
			return 2;
		}
		*c = '\0';
		h[i - 10] = (struct sign_hdr){ argv[i], c + 1 };
	}
	r = (struct sign_req){ argv[6], argv[7],
	    strcmp(argv[8], "-") == 0 ? NULL : argv[8], h, argc - 10, argv[9] };
	if (sign_sigv4(&a, &r, &o, why, sizeof(why)) == -1) {
		fprintf(stderr, "sigv4: %s\n", why);
		return 1;
	}
	printf("%s\n", o);
	free(o);
	free(h);
	return 0;
}
