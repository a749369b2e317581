/*
 * libFuzzer target for lenscredd's signing library (lenscredd/sign.c):
 * the request pieces (method, path, query, header names and values)
 * and the template, secret and user come from the input, split at NUL
 * bytes.  Each function may refuse (and then says why) but never
 * crashes, and nothing it makes holds a control character other than
 * HTAB: a result is written into a request head.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sign.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
clean(int rc, const char *out, const char *why)
{
	const unsigned char *p;

	if (rc == -1) {
		if (why[0] == '\0')
			abort();
		return;
	}
	for (p = (const unsigned char *)out; *p != '\0'; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*buf, *f[12], *out, why[256], hex[SIGN_HEX256];
	struct sign_hdr	 h[4];
	struct sign_req	 r;
	struct sign_aws	 a = { "AKIDEXAMPLE", "secret", "us-east-1",
			    "service", "20150830T123600Z" };
	size_t		 nf = 0, i;
	int		 rc;

	if (size > 8192 || (buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	f[nf++] = buf;
	for (i = 0; i < size && nf < 12; i++)
		if (buf[i] == '\0')
			f[nf++] = buf + i + 1;
	while (nf < 12)
		f[nf++] = (char *)"";
	/* method path query h0 v0 h1 v1 template secret user */
	h[0] = (struct sign_hdr){ "Host", "example.amazonaws.com" };
	h[1] = (struct sign_hdr){ "X-Amz-Date", a.amzdate };
	h[2] = (struct sign_hdr){ f[3], f[4] };
	h[3] = (struct sign_hdr){ f[5], f[6] };
	r = (struct sign_req){ f[0], f[1], f[2], h, 4,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" };
	if (size > 0 && data[0] & 1)
		a.service = "s3";
	why[0] = '\0';
	rc = sign_sigv4(&a, &r, &out, why, sizeof(why));
	clean(rc, out, why);
	if (rc == 0)
		free(out);
	why[0] = '\0';
	rc = sign_hmac("k", 1, &r, "1700000000", hex, why, sizeof(why));
	clean(rc, hex, why);
	why[0] = '\0';
	rc = sign_template(f[7], f[8], strlen(f[8]) + (f[9] > f[8]), &out,
	    why, sizeof(why));
	clean(rc, out, why);
	if (rc == 0)
		free(out);
	why[0] = '\0';
	rc = sign_query(f[2], f[3], f[8], strlen(f[8]), &out, why, sizeof(why));
	clean(rc, out, why);
	if (rc == 0)
		free(out);
	why[0] = '\0';
	rc = sign_basic(f[9], f[8], strlen(f[8]), &out, why, sizeof(why));
	clean(rc, out, why);
	if (rc == 0)
		free(out);
	free(buf);
	return 0;
}
