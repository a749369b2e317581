/*
 * Unit test of common/phscan.c (TAP): placeholders (form, entropy,
 * uniqueness) and the scanner against what a workload would try to get
 * a placeholder past the proxy with: plain, upper case, the random part
 * alone, percent-encoded (all, some, lower hex, twice), base64 and
 * base64url of a string holding it at each offset, Basic credentials,
 * MIME-wrapped base64, base64 of percent-encoding, hex, JSON \u and
 * HTML &#; escapes, split over two header lines or folded, a body split
 * at every offset into two chunks; and what it must not find (another
 * sandbox's placeholder, one character changed, a megabyte of random
 * base64).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "phscan.h"
#include "tap.h"

static struct phset set;
static char	 ph[PH_SIZE], other[PH_SIZE];

static void
b64(const char *s, size_t n, int variant, char *out, size_t outlen)
{
	sodium_bin2base64(out, outlen, (const unsigned char *)s, n, variant);
}

static int
found(const char *s)
{
	return phscan_buf(&set, s, strlen(s), NULL) == 1;
}

static int
headfound(const char *s)
{
	return phscan_head(&set, s, strlen(s), NULL) == 1;
}

int
main(void)
{
	char		 buf[4096], s[1024], t[1024], *big;
	struct phset	 o = { .n = 0 };
	struct phstream	 st;
	size_t		 i, k, which = 99, misses;
	int		 all, variants[2] = { sodium_base64_VARIANT_ORIGINAL,
			    sodium_base64_VARIANT_URLSAFE_NO_PADDING };

	if (sodium_init() == -1)
		return 1;
	/* placeholders */
	ok(ph_make(ph) == 0 && ph_make(other) == 0, "ph_make");
	ok(strlen(ph) == PH_LEN && strncmp(ph, "lens-ph-", 8) == 0 &&
	    ph_valid(ph, strlen(ph)), "placeholder form: %s", ph);
	ok(strcmp(ph, other) != 0, "two placeholders differ: %s", other);
	all = 1;
	{
		static char	 many[2000][PH_SIZE];
		unsigned int	 seen[PH_RANDLEN] = { 0 };

		for (i = 0; i < 2000; i++) {
			all &= ph_make(many[i]) == 0 && ph_valid(many[i], PH_LEN);
			for (k = 0; k < PH_RANDLEN; k++)
				seen[k] |= 1U << (strchr("abcdefghijklmnopqrstu"
				    "vwxyz234567", many[i][PH_PREFIXLEN + k]) -
				    "abcdefghijklmnopqrstuvwxyz234567");
		}
		qsort(many, 2000, PH_SIZE, (int (*)(const void *,
		    const void *))strcmp);
		for (i = 1; i < 2000; i++)
			all &= strcmp(many[i - 1], many[i]) != 0;
		for (k = 0; k < PH_RANDLEN; k++)
			all &= seen[k] == 0xffffffffU;
	}
	ok(all, "2000 placeholders: valid, distinct, each of the 32 letters "
	    "seen at each place");
	ok(!ph_valid("lens-ph-ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 40) &&
	    !ph_valid("lens-ph-abcdefghijklmnopqrstuvwxyz23456", 39) &&
	    !ph_valid("lens-ph-abcdefghijklmnopqrstuvwxyz23456!", 40) &&
	    !ph_valid("lens-px-abcdefghijklmnopqrstuvwxyz234567", 40),
	    "ph_valid refuses upper case, short, other bytes, other prefix");
	ok(phset_add(&set, ph) == 0 && phset_add(&set, "lens-ph-x") == -1,
	    "phset_add takes a placeholder, refuses junk");
	phset_add(&o, other);

	/* plain and case */
	snprintf(s, sizeof(s), "GET /x?a=%s HTTP/1.1", ph);
	ok(phscan_buf(&set, s, strlen(s), &which) == 1 && which == 0,
	    "plain, in a URL");
	for (i = 0; ph[i]; i++)
		t[i] = (char)toupper((unsigned char)ph[i]);
	t[i] = '\0';
	ok(found(t), "upper case: %s", t);
	ok(found(ph + PH_PREFIXLEN), "the random part alone");
	ok(phscan_buf(&o, s, strlen(s), NULL) == 0,
	    "another sandbox's set does not see it");
	memcpy(t, ph, PH_SIZE);
	t[20] = t[20] == 'a' ? 'b' : 'a';
	ok(!found(t), "one character changed: not found");

	/* percent */
	for (i = 0, k = 0; ph[i]; i++)
		k += (size_t)sprintf(s + k, "%%%02X", (unsigned char)ph[i]);
	ok(found(s), "percent-encoded, every byte, upper hex");
	for (i = 0, k = 0; ph[i]; i++)
		k += (size_t)(i % 3 ? sprintf(s + k, "%c", ph[i]) :
		    sprintf(s + k, "%%%02x", (unsigned char)ph[i]));
	ok(found(s), "percent-encoded, a mix, lower hex: %s", s);
	for (i = 0, k = 0; ph[i]; i++)
		k += (size_t)sprintf(s + k, "%%25%02x", (unsigned char)ph[i]);
	ok(found(s), "percent-encoded twice");

	/* base64 at each offset, both alphabets */
	all = 1;
	for (k = 0; k < 2; k++)
		for (i = 0; i < 6; i++) {
			snprintf(t, sizeof(t), "%.*s{\"key\":\"%s\"}", (int)i,
			    "xxxxx", ph);
			b64(t, strlen(t), variants[k], s, sizeof(s));
			snprintf(buf, sizeof(buf), "X-Data: %s\r\n", s);
			if (!found(buf)) {
				all = 0;
				printf("# missed: base64 %zu offset %zu: %s",
				    k, i, buf);
			}
		}
	ok(all, "base64 and base64url of a string holding it, 6 offsets");
	snprintf(t, sizeof(t), "user:%s", ph);
	b64(t, strlen(t), variants[0], s, sizeof(s));
	snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nAuthorization: Basic %s"
	    "\r\n\r\n", s);
	ok(headfound(buf), "Basic credentials: %s", s);
	/* MIME: lines of 16 */
	snprintf(t, sizeof(t), "--%s--", ph);
	b64(t, strlen(t), variants[0], s, sizeof(s));
	for (i = 0, k = 0; s[i]; i++) {
		buf[k++] = s[i];
		if (i % 16 == 15) {
			buf[k++] = '\r';
			buf[k++] = '\n';
		}
	}
	buf[k] = '\0';
	ok(found(buf), "base64 in MIME lines");
	/* base64 of percent-encoding */
	for (i = 0, k = 0; ph[i]; i++)
		k += (size_t)sprintf(t + k, "%%%02X", (unsigned char)ph[i]);
	b64(t, strlen(t), variants[1], s, sizeof(s));
	ok(found(s), "base64url of percent-encoding");
	/* percent-encoded base64 (its + / =) */
	b64(ph, strlen(ph), variants[0], t, sizeof(t));
	for (i = 0, k = 0; t[i]; i++)
		k += (size_t)sprintf(s + k, "%%%02x", (unsigned char)t[i]);
	ok(found(s), "percent-encoded base64");

	/* hex, escapes */
	for (i = 0, k = 0; ph[i]; i++)
		k += (size_t)sprintf(s + k, "%02X", (unsigned char)ph[i]);
	snprintf(buf, sizeof(buf), "id=f%s", s);
	ok(found(buf), "hex, odd offset");
	for (i = 0, k = 0; ph[i]; i++)
		k += (size_t)sprintf(s + k, "\\u%04x", (unsigned char)ph[i]);
	ok(found(s), "JSON \\u escapes");
	for (i = 0, k = 0; ph[i]; i++)
		k += (size_t)(i % 2 ? sprintf(s + k, "&#%d;",
		    (unsigned char)ph[i]) : sprintf(s + k, "&#x%x;",
		    (unsigned char)ph[i]));
	ok(found(s), "HTML &#; escapes");

	/* the head as a whole */
	snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a.test\r\n"
	    "X-A: %.17s\r\nX-B: %s\r\n\r\n", ph, ph + 17);
	ok(!found(buf) && headfound(buf), "split over two header lines");
	snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nX-A: %.20s\r\n"
	    "\t%s\r\n\r\n", ph, ph + 20);
	ok(headfound(buf), "folded header");
	snprintf(buf, sizeof(buf), "GET /a?k=%.24s HTTP/1.1\r\nX-A: %s\r\n\r\n",
	    ph, ph + 24);
	ok(headfound(buf), "split between the URL and a header");

	/* a body in two chunks split at every offset, every encoding */
	snprintf(t, sizeof(t), "{\"a\":\"%s\"}", ph);
	b64(t, strlen(t), variants[0], s, sizeof(s));
	snprintf(buf, sizeof(buf), "%s&b64=%s&pct=", ph, s);
	for (i = 0, k = strlen(buf); ph[i]; i++)
		k += (size_t)sprintf(buf + k, "%%%02x", (unsigned char)ph[i]);
	misses = 0;
	for (i = 0; i < strlen(buf); i++) {
		/* each form alone, split at i of the whole */
		static const char *starts[] = { "", "&b64=", "&pct=" };
		size_t	 f;

		for (f = 0; f < 3; f++) {
			const char *from = f == 0 ? buf : strstr(buf, starts[f]);
			const char *to = f == 2 ? buf + strlen(buf) :
			    strstr(from + 1, "&");
			size_t	 len = (size_t)(to - from), cut = i % (len + 1);
			int	 r1, r2;

			memset(&st, 0, sizeof(st));
			r1 = phscan_chunk(&set, &st, from, cut, NULL);
			r2 = phscan_chunk(&set, &st, from + cut, len - cut,
			    NULL);
			if (r1 != 1 && r2 != 1)
				misses++;
		}
	}
	ok(misses == 0, "body in two chunks, plain/base64/percent, split at "
	    "every offset (%zu missed)", misses);
	memset(&st, 0, sizeof(st));
	for (i = 0, k = 0; ph[i]; i++)	/* one byte a chunk */
		k |= (size_t)phscan_chunk(&set, &st, ph + i, 1, NULL) == 1;
	ok(k == 1, "body one byte a chunk");
	memset(&st, 0, sizeof(st));
	memset(s, 'z', 1000);
	k = 0;
	k |= phscan_chunk(&set, &st, ph, 20, NULL) == 1;
	for (i = 0; i < 3; i++)
		k |= phscan_chunk(&set, &st, s, 1000, NULL) == 1;
	k |= phscan_chunk(&set, &st, ph + 20, PH_LEN - 20, NULL) == 1;
	ok(k == 0, "halves 3000 bytes apart are not one placeholder");

	/* what it must not find */
	if ((big = malloc(1 << 20)) == NULL)
		return 1;
	randombytes_buf(big, 3 << 18);
	sodium_bin2base64(big + (3 << 18), (1 << 20) - (3 << 18), 
	    (unsigned char *)big, 150000, variants[0]);
	ok(phscan_buf(&set, big + (3 << 18), strlen(big + (3 << 18)), NULL)
	    == 0 && phscan_buf(&set, big, 1 << 20, NULL) == 0,
	    "a megabyte of random bytes and of base64: nothing");
	free(big);
	return tap_done();
}
