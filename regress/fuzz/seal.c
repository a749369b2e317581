/*
 * libFuzzer target for lenscredd's sealed records (lenscredd/seal.c):
 * the parser of the CA files and the credential records.
 *
 * The input is opened as a file of each kind under a fixed key: it may
 * be refused (with a message) but never crash; what opens has a body
 * of the kind's size.  The box cannot be forged by the fuzzer, so the
 * input is also taken as a record to seal, [name length, name, body]:
 * the file made of it must open back to the same body under its name,
 * and never under another name, as the other kind, one byte shorter,
 * or with one byte (chosen by the input) flipped.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "seal.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static uint8_t	 key[crypto_secretbox_KEYBYTES];

static int
opens(const struct seal_kind *k, const char *name, const uint8_t *file,
    size_t len, uint8_t **body, size_t *blen)
{
	char	 err[256];
	int	 rc;

	memset(err, 0, sizeof(err));
	rc = seal_open(k, name, file, len, key, body, blen, err, sizeof(err));
	if (rc == -1 && (err[0] == '\0' || *body != NULL))
		abort();		/* a refusal says why, holds nothing */
	if (rc == 0 && (*blen < k->minbody || *blen > k->maxbody))
		abort();
	return rc;
}

static void
roundtrip(const struct seal_kind *k, const struct seal_kind *other,
    const uint8_t *data, size_t size)
{
	char		 name[80];
	const uint8_t	*body;
	uint8_t		*file, *got;
	size_t		 nl, blen, flen, glen, pos;

	if (size < 2)
		return;
	nl = data[0] % 70;
	if (nl + 1 > size)
		return;
	memcpy(name, data + 1, nl);
	name[nl] = '\0';
	body = data + 1 + nl;
	blen = size - 1 - nl;
	if ((file = seal_make(k, name, body, blen, key, &flen)) == NULL) {
		/* refused only for a name too long or a body out of bounds */
		if (strlen(name) < k->namesize && blen >= k->minbody &&
		    blen <= k->maxbody)
			abort();
		return;
	}
	if (opens(k, name, file, flen, &got, &glen) != 0 || glen != blen ||
	    memcmp(got, body, blen) != 0)
		abort();
	sodium_free(got);
	if (opens(k, "x-other-name", file, flen, &got, &glen) == 0 &&
	    strcmp(name, "x-other-name") != 0)
		abort();
	if (opens(k, name, file, flen - 1, &got, &glen) == 0)
		abort();
	/* the other kind's magic on this file */
	memcpy(file, other->magic, SEAL_MAGICLEN);
	if (opens(other, name, file, flen, &got, &glen) == 0)
		abort();
	memcpy(file, k->magic, SEAL_MAGICLEN);
	pos = (data[0] * 257u + blen) % flen;
	file[pos] ^= 1 << (data[size - 1] & 7);
	if (opens(k, name, file, flen, &got, &glen) == 0)
		abort();
	free(file);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int	 init;
	uint8_t		*body;
	size_t		 blen;

	if (!init) {
		if (sodium_init() < 0)
			abort();
		memset(key, 0x5a, sizeof(key));
		init = 1;
	}
	if (opens(&seal_ca, "sb1", data, size, &body, &blen) == 0)
		sodium_free(body);
	if (opens(&seal_cred, "api-token", data, size, &body, &blen) == 0)
		sodium_free(body);
	roundtrip(&seal_cred, &seal_ca, data, size);
	roundtrip(&seal_ca, &seal_cred, data, size);
	return 0;
}
