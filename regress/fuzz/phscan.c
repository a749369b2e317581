/*
 * libFuzzer target for the placeholder scanner (common/phscan.c).
 *
 * The input is scanned as bytes, as a request head and as a body cut
 * in two chunks where its first byte says, for a set of two fixed
 * placeholders.  Never a crash or a leak, and these must hold: bytes
 * that hold the random part of a placeholder are found; what the bytes
 * scan finds the head scan finds too; and when the whole is no longer
 * than the carried window, the two chunks find what the whole does.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "phscan.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define PH1	"lens-ph-abcdefghijklmnopqrstuvwxyz234567"
#define PH2	"lens-ph-zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"

static int
has_plain(const uint8_t *p, size_t n, const char *ph)
{
	size_t	 i;

	for (i = 0; i + PH_RANDLEN <= n; i++)
		if (strncasecmp((const char *)p + i, ph + PH_PREFIXLEN,
		    PH_RANDLEN) == 0 && memchr(p + i, '\0', PH_RANDLEN) == NULL)
			return 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct phset set;
	struct phstream	 st;
	size_t		 cut, w;
	int		 b, h, c1, c2;

	if (set.n == 0 && (phset_add(&set, PH1) == -1 ||
	    phset_add(&set, PH2) == -1))
		abort();
	if (size > 65536)
		return 0;
	b = phscan_buf(&set, data, size, &w);
	if (b == 1 && w >= set.n)
		abort();
	if (b != 1 && (has_plain(data, size, PH1) || has_plain(data, size, PH2)))
		abort();
	h = phscan_head(&set, data, size, NULL);
	if (b == 1 && h != 1)
		abort();
	cut = size > 0 ? data[0] % (size + 1) : 0;
	memset(&st, 0, sizeof(st));
	c1 = phscan_chunk(&set, &st, data, cut, NULL);
	c2 = phscan_chunk(&set, &st, data + cut, size - cut, NULL);
	if (b == 1 && size <= PHSCAN_WINDOW && c1 != 1 && c2 != 1)
		abort();
	return 0;
}
