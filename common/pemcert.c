/*
 * The framing of one PEM certificate; see pemcert.h.
 */
#include <stdio.h>
#include <string.h>

#include "pemcert.h"

#define PEM_BEGIN	"-----BEGIN CERTIFICATE-----\n"
#define PEM_END		"-----END CERTIFICATE-----\n"

static int
b64(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
}

int
pemcert_check(const void *buf, size_t len, char *err, size_t errlen)
{
	const unsigned char	*p = buf, *end, *nl;
	size_t			 blen = strlen(PEM_BEGIN), elen = strlen(PEM_END);
	size_t			 i, lines = 0;

	if (len > PEMCERT_MAX) {
		snprintf(err, errlen, "certificate of %zu bytes, at most %d",
		    len, PEMCERT_MAX);
		return -1;
	}
	if (len < blen + elen || memcmp(p, PEM_BEGIN, blen) != 0) {
		snprintf(err, errlen, "not a PEM certificate: no BEGIN "
		    "CERTIFICATE line at its start");
		return -1;
	}
	if (memcmp(p + len - elen, PEM_END, elen) != 0) {
		snprintf(err, errlen, "not a PEM certificate: no END "
		    "CERTIFICATE line at its end");
		return -1;
	}
	end = p + len - elen;
	for (p += blen; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', end - p)) == NULL ||
		    nl == p || nl - p > 76) {
			snprintf(err, errlen, "PEM certificate: line %zu is "
			    "empty, too long or unterminated", lines + 2);
			return -1;
		}
		for (i = 0; p + i < nl; i++)
			if (!b64(p[i])) {
				snprintf(err, errlen, "PEM certificate: line "
				    "%zu: byte %#x is not base64", lines + 2,
				    p[i]);
				return -1;
			}
		lines++;
	}
	if (lines == 0) {
		snprintf(err, errlen, "PEM certificate: empty");
		return -1;
	}
	return 0;
}

int
pemcert_bundle_check(const void *buf, size_t len, char *err, size_t errlen)
{
	const unsigned char	*p = buf, *e;
	size_t			 elen = strlen(PEM_END), n = 0, one;
	char			 why[160];

	while (len > 0) {
		n++;
		e = memmem(p, len, PEM_END, elen);
		one = e == NULL ? len : (size_t)(e - p) + elen;
		if (pemcert_check(p, one, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "certificate %zu: %s", n, why);
			return -1;
		}
		p += one;
		len -= one;
	}
	if (n == 0) {
		snprintf(err, errlen, "no certificate in it");
		return -1;
	}
	return 0;
}
