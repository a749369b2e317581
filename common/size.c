/*
 * Sizes on command lines: see size.h.
 */
#include <ctype.h>
#include <stdint.h>

#include "size.h"

int
size_parse(const char *s, uint64_t *out, const char **why)
{
	const char	*p = s;
	uint64_t	 v = 0, mul = 1;

	if (!isdigit((unsigned char)*p)) {
		*why = "not a size";
		return -1;
	}
	for (; isdigit((unsigned char)*p); p++) {
		if (v > (UINT64_MAX - 9) / 10)
			goto toolarge;
		v = v * 10 + (*p - '0');
	}
	switch (tolower((unsigned char)*p)) {
	case 'k':
		mul = 1ULL << 10;
		break;
	case 'm':
		mul = 1ULL << 20;
		break;
	case 'g':
		mul = 1ULL << 30;
		break;
	case 't':
		mul = 1ULL << 40;
		break;
	}
	if (mul > 1) {		/* k, kb, kib */
		p++;
		if (tolower((unsigned char)p[0]) == 'i' &&
		    tolower((unsigned char)p[1]) == 'b')
			p += 2;
	}
	if (tolower((unsigned char)*p) == 'b')
		p++;
	if (*p != '\0') {
		*why = "unknown unit";
		return -1;
	}
	if (v > UINT64_MAX / mul)
		goto toolarge;
	*out = v * mul;
	return 0;
 toolarge:
	*why = "too large";
	return -1;
}
