/*
 * libFuzzer target for lensvmm/ocispec.c: the strict parse of image
 * index, manifest and config JSON.  The first byte picks the parser.
 * Whatever the bytes: no crash, no leak; every digest accepted is
 * "sha256:" and 64 lowercase hex digits; sizes within the limits the
 * header states; config strings without NUL; and the selection of an
 * accepted index returns an entry inside it or -1.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lensvmm/ocispec.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_desc(const struct oci_descriptor *d)
{
	if (!ocispec_digest_ok(d->digest) || strlen(d->mediatype) >=
	    sizeof(d->mediatype))
		abort();
}

static void
check_strv(char **v, size_t n)
{
	size_t	 i;

	if (v == NULL) {
		if (n != 0)
			abort();
		return;
	}
	for (i = 0; i < n; i++)
		if (v[i] == NULL)
			abort();
	if (v[n] != NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oci_index	 idx;
	struct oci_manifest	 m;
	struct oci_config	 c;
	char			 err[512];
	size_t			 i;
	int			 k;

	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		if (ocispec_index_parse(data + 1, size - 1, &idx, err,
		    sizeof(err)) == -1)
			break;
		if (idx.n == 0 || idx.n > OCI_MAXMANIFESTS)
			abort();
		for (i = 0; i < idx.n; i++) {
			check_desc(&idx.manifests[i]);
			if (idx.manifests[i].size > OCI_JSON_MAX)
				abort();
		}
		k = ocispec_select(&idx, NULL, "linux", "amd64", "", err,
		    sizeof(err));
		if (k < -1 || k >= (int)idx.n)
			abort();
		k = ocispec_select(&idx, "latest", "linux", "arm64", "v8",
		    err, sizeof(err));
		if (k < -1 || k >= (int)idx.n)
			abort();
		ocispec_index_free(&idx);
		break;
	case 1:
		if (ocispec_manifest_parse(data + 1, size - 1, &m, err,
		    sizeof(err)) == -1)
			break;
		check_desc(&m.config);
		if (m.nlayers > OCI_MAXLAYERS)
			abort();
		for (i = 0; i < m.nlayers; i++)
			check_desc(&m.layers[i]);
		ocispec_manifest_free(&m);
		break;
	default:
		if (ocispec_config_parse(data + 1, size - 1, &c, err,
		    sizeof(err)) == -1)
			break;
		check_strv(c.entrypoint, c.nentrypoint);
		check_strv(c.cmd, c.ncmd);
		check_strv(c.env, c.nenv);
		check_strv(c.exposed, c.nexposed);
		for (i = 0; i < c.ndiffids; i++)
			if (!ocispec_digest_ok(c.diffids[i]))
				abort();
		ocispec_config_free(&c);
		break;
	}
	return 0;
}
