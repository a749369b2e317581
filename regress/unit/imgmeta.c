/*
 * Unit test of the image meta files (lensvmm/imgstore.c): what the fetch
 * process writes reads back the same, strings with any byte survive the
 * escaping, and every hostile meta file (written by a compromised fetch
 * process) is refused naming the file and line: bad digest characters,
 * overlong lines, too many layers, keys out of order, a missing "end",
 * bad escapes, sizes with leading zeros, and a file above the limit.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lensvmm/ocispec.c"
#include "../../lensvmm/imgstore.c"
#include "tap.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"
#define HEAD "lens-image-meta 1\nmanifest " D1 "\nconfig " D2 "\n"
#define LAYER "layer " D3 " 10 " D1 "\n"

struct bad {
	const char	*text;
	const char	*why;	/* "LINE: what" in the error */
};

static const struct bad bads[] = {
	{ "", "1: no \"end\" line" },
	{ "lens-image-meta 2\n", "1: not version 1" },
	{ HEAD "end", "4: no newline at the end" },
	{ "lens-image-meta 1\nmanifest sha256:1111111111111111111111111111111"
	    "11111111111111111111111111111111G\nend\n", "2: not sha256:" },
	{ "lens-image-meta 1\nmanifest sha256:../../../../../../etc/passwd\n"
	    "end\n", "2: not sha256:" },
	{ "lens-image-meta 1\nmanifest " D1 "\nconfig " D2 "x\nend\n",
	    "3: not sha256:" },
	{ "lens-image-meta 1\nconfig " D2 "\nend\n", "2: a line missing" },
	{ HEAD "end\nend\n", "5: a line after \"end\"" },
	{ HEAD "cmd a\n" LAYER "end\n", "5: a key out of order" },
	{ HEAD "user a\nuser b\nend\n", "5: a key out of order or repeated" },
	{ HEAD "layer " D3 " 010 " D1 "\nend\n", "4: not \"layer DIGEST" },
	{ HEAD "layer " D3 " 10 " D1 " x\nend\n", "4: not \"layer DIGEST" },
	{ HEAD "layer " D3 " 99999999999999999999 " D1 "\nend\n",
	    "4: not \"layer DIGEST" },
	{ HEAD "layer " D3 " 10\nend\n", "4: not \"layer DIGEST" },
	{ HEAD "cmd a b\nend\n", "4: not an escaped string" },
	{ HEAD "cmd a%0a\nend\n", "4: not an escaped string" },
	{ HEAD "cmd a%00\nend\n", "4: not an escaped string" },
	{ HEAD "cmd %41\nend\n", "4: not an escaped string" },
	{ HEAD "cmd a%2\nend\n", "4: not an escaped string" },
	{ HEAD "cmd\nend\n", "4: not an escaped string" },
	{ HEAD "cmd a\tb\nend\n", "4: not an escaped string" },
	{ HEAD "env =x\nend\n", "4: env is not NAME=VALUE" },
	{ HEAD "env PATH\nend\n", "4: env is not NAME=VALUE" },
	{ HEAD "rootfs /\nend\n", "4: unknown key" },
	{ HEAD "end x\n", "4: \"end\" with a value" },
};

int
main(void)
{
	struct oci_manifest	 m;
	struct oci_config	 c;
	struct img_meta		 mt;
	char			 err[512], *text, *big, *p;
	size_t			 len, i;
	const char		*man = "{\"schemaVersion\":2,\"config\":{"
	    "\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
	    "\"digest\":\"" D2 "\",\"size\":5},\"layers\":[{\"mediaType\":"
	    "\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\""
	    D3 "\",\"size\":10}]}";
	const char		*cfg = "{\"os\":\"linux\",\"architecture\":"
	    "\"amd64\",\"config\":{\"Entrypoint\":[\"/bin/sh\",\"-c\"],"
	    "\"Cmd\":[\"echo 100% \\\"x\\\"\\n\\tdone\",\"\"],\"Env\":["
	    "\"PATH=/bin\",\"A=b c\"],\"WorkingDir\":\"/w d\",\"User\":"
	    "\"nobody\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\""
	    D1 "\"]}}";

	ok(ocispec_manifest_parse(man, strlen(man), &m, err, sizeof(err)) ==
	    0 && ocispec_config_parse(cfg, strlen(cfg), &c, err,
	    sizeof(err)) == 0, "manifest and config parse (%s)", err);
	ok(imgstore_meta_make(D1, &m, &c, &text, &len, err, sizeof(err)) == 0,
	    "meta made (%s)", err);
	ok(imgstore_meta_parse(text, len, "m", &mt, err, sizeof(err)) == 0,
	    "and parsed back (%s)", err);
	ok(strcmp(mt.manifest, D1) == 0 && strcmp(mt.config, D2) == 0 &&
	    mt.nlayers == 1 && strcmp(mt.layers[0].digest, D3) == 0 &&
	    mt.layers[0].size == 10 && strcmp(mt.layers[0].diffid, D1) == 0,
	    "digests, size and diff id as they were");
	ok(mt.nentrypoint == 2 && strcmp(mt.entrypoint[1], "-c") == 0 &&
	    mt.entrypoint[2] == NULL && mt.ncmd == 2 &&
	    strcmp(mt.cmd[0], "echo 100% \"x\"\n\tdone") == 0 &&
	    strcmp(mt.cmd[1], "") == 0 && mt.nenv == 2 &&
	    strcmp(mt.env[1], "A=b c") == 0 && strcmp(mt.workdir, "/w d") ==
	    0 && strcmp(mt.user, "nobody") == 0,
	    "strings with spaces, %%, newlines and tabs as they were");
	ok(strstr(text, "cmd echo%20100%25%20\"x\"%0A%09done\n") != NULL,
	    "escaped on one line");
	img_meta_free(&mt);
	free(text);
	ocispec_config_free(&c);
	cfg = "{\"os\":\"linux\",\"architecture\":\"amd64\",\"rootfs\":{"
	    "\"type\":\"layers\",\"diff_ids\":[\"" D1 "\"]}}";
	ok(ocispec_config_parse(cfg, strlen(cfg), &c, err, sizeof(err)) ==
	    0 && imgstore_meta_make(D1, &m, &c, &text, &len, err,
	    sizeof(err)) == 0 && imgstore_meta_parse(text, len, "m", &mt, err,
	    sizeof(err)) == 0 && mt.nentrypoint == 0 &&
	    mt.entrypoint[0] == NULL && mt.cmd[0] == NULL &&
	    mt.env[0] == NULL && mt.workdir == NULL && mt.user == NULL,
	    "no Entrypoint, Cmd, Env, WorkingDir, User: empty (%s)", err);
	img_meta_free(&mt);
	free(text);
	ocispec_config_free(&c);
	ocispec_manifest_free(&m);

	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		char	 want[128];

		snprintf(want, sizeof(want), "blobs/meta/x:%s", bads[i].why);
		ok(imgstore_meta_parse(bads[i].text, strlen(bads[i].text),
		    "blobs/meta/x", &mt, err, sizeof(err)) == -1 &&
		    strstr(err, want) != NULL, "refused: %s (%s)", bads[i].why,
		    err);
	}

	/* an overlong line, too many layers, too many strings, too big */
	big = malloc(IMG_META_MAX + 4096);
	len = (size_t)snprintf(big, IMG_META_MAX, HEAD "cmd ");
	memset(big + len, 'a', IMG_META_LINE);
	len += IMG_META_LINE;
	memcpy(big + len, "\nend\n", 6);
	len += 5;
	ok(imgstore_meta_parse(big, len, "M", &mt, err, sizeof(err)) == -1 &&
	    strstr(err, "M:4: line too long"), "an overlong line (%s)", err);
	len = (size_t)snprintf(big, IMG_META_MAX, HEAD "cmd ");
	memset(big + len, 'a', OCI_MAXSTRING + 1);
	len += OCI_MAXSTRING + 1;
	memcpy(big + len, "\nend\n", 6);
	len += 5;
	ok(imgstore_meta_parse(big, len, "M", &mt, err, sizeof(err)) == -1 &&
	    strstr(err, "M:4: not an escaped string"), "a string above %d "
	    "bytes (%s)", OCI_MAXSTRING, err);
	p = big + snprintf(big, IMG_META_MAX, HEAD);
	for (i = 0; i <= OCI_MAXLAYERS; i++)
		p += snprintf(p, 256, LAYER);
	p += snprintf(p, 16, "end\n");
	ok(imgstore_meta_parse(big, (size_t)(p - big), "M", &mt, err,
	    sizeof(err)) == -1 && strstr(err, "M:260: too many layers"),
	    "%d layers (%s)", OCI_MAXLAYERS + 1, err);
	p = big + snprintf(big, IMG_META_MAX, HEAD);
	for (i = 0; i <= OCI_MAXSTRINGS; i++)
		p += snprintf(p, 256, "env A=%zu\n", i);
	p += snprintf(p, 16, "end\n");
	ok(imgstore_meta_parse(big, (size_t)(p - big), "M", &mt, err,
	    sizeof(err)) == -1 && strstr(err, "M:1028: too many strings"),
	    "%d strings (%s)", OCI_MAXSTRINGS + 1, err);
	ok(imgstore_meta_parse(big, IMG_META_MAX + 1, "M", &mt, err,
	    sizeof(err)) == -1 && strstr(err, "M: above"),
	    "above %u bytes (%s)", IMG_META_MAX, err);
	free(big);
	return tap_done();
}
