/*
 * Unit test of lensvmm/ocispec.c and lensvmm/imgstore.c (TAP): what the
 * strict parse takes and refuses (each refusal naming the field), index
 * selection by tag and platform, references, and the store: a blob is
 * stored only when its bytes hash to its name and have its size, and a
 * refused blob leaves nothing behind.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
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
#define LAYER "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\"," \
	"\"digest\":\"" D2 "\",\"size\":10}"
#define CONFIG "{\"mediaType\":\"application/vnd.oci.image.config.v1+json\"," \
	"\"digest\":\"" D1 "\",\"size\":5}"

struct example {
	int		 kind;		/* 1 index, 2 manifest, 3 config */
	const char	*text;
	const char	*why;		/* NULL: accepted; else in the error */
	const char	*what;
};

static const struct example examples[] = {
	{ 2, "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image."
	    "manifest.v1+json\",\"config\":" CONFIG ",\"layers\":[" LAYER "]}",
	    NULL, "a manifest" },
	{ 2, "{\"schemaVersion\":1,\"config\":" CONFIG ",\"layers\":[]}",
	    "schemaVersion", "schema 1" },
	{ 2, "{\"schemaVersion\":2,\"config\":" CONFIG ",\"layers\":[],"
	    "\"layers\":[]}", "duplicate", "a duplicate key" },
	{ 2, "{\"schemaVersion\":2,\"config\":" CONFIG ",\"layers\":[]} x",
	    "not strict JSON", "bytes after the value" },
	{ 2, "{\"schemaVersion\":2,\"config\":" CONFIG ",\"layers\":[{\"media"
	    "Type\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":"
	    "\"sha256:ABCD\",\"size\":1}]}", "layers[0]: digest",
	    "a short uppercase digest" },
	{ 2, "{\"schemaVersion\":2,\"config\":" CONFIG ",\"layers\":[{\"media"
	    "Type\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":"
	    "\"sha512:" "11111111111111111111111111111111111111111111111111111111"
	    "11111111\",\"size\":1}]}", "layers[0]: digest", "sha512" },
	{ 2, "{\"schemaVersion\":2,\"config\":" CONFIG ",\"layers\":[{\"media"
	    "Type\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\""
	    D2 "\",\"size\":-1}]}", "layers[0]: size", "a negative size" },
	{ 2, "{\"schemaVersion\":2,\"config\":" CONFIG ",\"layers\":[{\"media"
	    "Type\":\"text/plain\",\"digest\":\"" D2 "\",\"size\":1}]}",
	    "not a layer type", "a foreign media type" },
	{ 2, "{\"schemaVersion\":2,\"config\":" CONFIG ",\"layers\":[{\"media"
	    "Type\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\""
	    D2 "\",\"size\":1,\"urls\":[\"http://x\"]}]}", "urls",
	    "a foreign layer with urls" },
	{ 2, "{\"schemaVersion\":2,\"manifests\":[],\"config\":" CONFIG
	    ",\"layers\":[]}", "an index", "an index given as a manifest" },
	{ 1, "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application"
	    "/vnd.oci.image.manifest.v1+json\",\"digest\":\"" D1 "\",\"size\":"
	    "9,\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}",
	    NULL, "an index" },
	{ 1, "{\"schemaVersion\":2,\"manifests\":[]}", "no manifests",
	    "an empty index" },
	{ 1, "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application"
	    "/vnd.oci.image.manifest.v1+json\",\"digest\":\"" D1 "\",\"size\":"
	    "99999999999}]}", "above the limit", "a huge manifest" },
	{ 1, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]"
	    "]]]]]]]]]]]]]]]", "nested deeper", "deep nesting" },
	{ 3, "{\"os\":\"linux\",\"architecture\":\"amd64\",\"config\":{\"Env\":"
	    "[\"A=1\"],\"Cmd\":[\"sh\"],\"User\":\"1000\",\"WorkingDir\":\"/w\","
	    "\"ExposedPorts\":{\"80/tcp\":{}}},\"rootfs\":{\"type\":\"layers\","
	    "\"diff_ids\":[\"" D2 "\"]}}", NULL, "a config" },
	{ 3, "{\"os\":\"linux\",\"architecture\":\"amd64\",\"config\":{\"Env\":"
	    "[\"NOEQUALS\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
	    "Env[0]", "an Env entry without =" },
	{ 3, "{\"os\":\"linux\",\"architecture\":\"amd64\",\"config\":{\"Cmd\":"
	    "[\"a\\u0000b\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
	    "\\u0000", "a NUL in Cmd" },
	{ 3, "{\"os\":\"linux\",\"architecture\":\"amd64\",\"rootfs\":{\"type\":"
	    "\"layers\",\"diff_ids\":[\"sha256:zz\"]}}", "diff_ids[0]",
	    "a bad diff id" },
	{ 3, "{\"os\":\"linux\",\"architecture\":\"amd64\",\"config\":{\"User\":"
	    "\"a\\nb\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
	    "User", "a control byte in User" },
};

/* a pipe's read end holding len bytes of data */
static int
feed(const void *data, size_t len)
{
	int	 p[2];

	if (pipe(p) == -1 || write(p[1], data, len) != (ssize_t)len)
		abort();
	close(p[1]);
	return p[0];
}

static int
store_count(const char *dir)
{
	DIR		*d = opendir(dir);
	struct dirent	*de;
	int		 n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

int
main(void)
{
	struct oci_index	 idx;
	struct oci_manifest	 m;
	struct oci_config	 c;
	struct img_entry	 e;
	char			 err[512], tmpl[] = "/tmp/ocispec.XXXXXX";
	char			 path[PATH_MAX], ref[IMG_REF_SIZE];
	char			 digest[OCI_DIGEST_SIZE];
	char			 os[OCI_PLATFORM_SIZE], arch[OCI_PLATFORM_SIZE];
	char			 var[OCI_PLATFORM_SIZE];
	const char		*man, *cfg;
	uint8_t			 h[32];
	char			 md[OCI_DIGEST_SIZE], cd[OCI_DIGEST_SIZE];
	size_t			 i;
	int			 rc, p[1], blobsfd, refsfd;

	for (i = 0; i < sizeof(examples) / sizeof(examples[0]); i++) {
		const struct example *x = &examples[i];

		err[0] = '\0';
		if (x->kind == 1) {
			rc = ocispec_index_parse(x->text, strlen(x->text),
			    &idx, err, sizeof(err));
			if (rc == 0)
				ocispec_index_free(&idx);
		} else if (x->kind == 2) {
			rc = ocispec_manifest_parse(x->text, strlen(x->text),
			    &m, err, sizeof(err));
			if (rc == 0)
				ocispec_manifest_free(&m);
		} else {
			rc = ocispec_config_parse(x->text, strlen(x->text), &c,
			    err, sizeof(err));
			if (rc == 0) {
				ok(c.nenv == 1 && strcmp(c.env[0], "A=1") ==
				    0 && c.ncmd == 1 && strcmp(c.user,
				    "1000") == 0 && strcmp(c.workingdir,
				    "/w") == 0 && c.nexposed == 1 &&
				    c.ndiffids == 1, "config fields read");
				ocispec_config_free(&c);
			}
		}
		if (x->why == NULL)
			ok(rc == 0, "%s: accepted (%s)", x->what, err);
		else
			ok(rc == -1 && strstr(err, x->why) != NULL,
			    "%s: refused naming '%s' (%s)", x->what, x->why,
			    err);
	}

	/* selection */
	{
		static const char multi[] = "{\"schemaVersion\":2,\"manifests\":["
		    "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\""
		    ",\"digest\":\"" D1 "\",\"size\":9,\"platform\":{\"os\":"
		    "\"linux\",\"architecture\":\"arm64\"}},"
		    "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\""
		    ",\"digest\":\"" D2 "\",\"size\":9,\"platform\":{\"os\":"
		    "\"linux\",\"architecture\":\"amd64\"}}]}";

		ok(ocispec_index_parse(multi, strlen(multi), &idx, err,
		    sizeof(err)) == 0, "a multi-platform index");
		ocispec_platform(NULL, os, arch, var, err, sizeof(err));
		ok(ocispec_select(&idx, NULL, os, arch, var, err,
		    sizeof(err)) == 1, "linux/amd64 by default");
		ocispec_platform("linux/arm64", os, arch, var, err,
		    sizeof(err));
		ok(ocispec_select(&idx, NULL, os, arch, var, err,
		    sizeof(err)) == 0, "linux/arm64 when asked");
		ocispec_platform("linux/ppc64le", os, arch, var, err,
		    sizeof(err));
		ok(ocispec_select(&idx, NULL, os, arch, var, err,
		    sizeof(err)) == -1 && strstr(err, "linux/ppc64le"),
		    "a missing platform is named (%s)", err);
		ok(ocispec_select(&idx, "v1", os, arch, var, err,
		    sizeof(err)) == -1 && strstr(err, "tagged \"v1\""),
		    "a missing tag is named (%s)", err);
		ok(ocispec_platform("Linux/../x", os, arch, var, err,
		    sizeof(err)) == -1, "a bad platform is refused (%s)", err);
		ocispec_index_free(&idx);
	}

	/* references */
	ok(imgstore_ref_ok("busybox:1.36") && imgstore_ref_ok(
	    "reg.test:5000/a/b:v1") && !imgstore_ref_ok("busybox") &&
	    !imgstore_ref_ok("../x:1") && !imgstore_ref_ok("a//b:1") &&
	    !imgstore_ref_ok("a:-x") && !imgstore_ref_ok("A:1") &&
	    !imgstore_ref_ok("a/:1"), "reference grammar");
	ok(imgstore_ref_norm("busybox", ref, sizeof(ref)) == 0 &&
	    strcmp(ref, "busybox:latest") == 0 &&
	    imgstore_ref_norm("reg.test:5000/a", ref, sizeof(ref)) == 0 &&
	    strcmp(ref, "reg.test:5000/a:latest") == 0, "refs get :latest");
	ok(imgstore_ref_file("reg.test:5000/a:v1", path, sizeof(path)) == 0 &&
	    strcmp(path, "reg.test%3A5000%2Fa%3Av1") == 0 &&
	    imgstore_ref_unfile(path, ref, sizeof(ref)) == 0 &&
	    strcmp(ref, "reg.test:5000/a:v1") == 0 &&
	    imgstore_ref_unfile("..", ref, sizeof(ref)) == -1 &&
	    imgstore_ref_unfile("a%2e:1", ref, sizeof(ref)) == -1,
	    "ref file names round-trip, nothing else decodes");

	/* the store */
	if (mkdtemp(tmpl) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/blobs", tmpl);
	mkdir(path, 0711);
	snprintf(path, sizeof(path), "%s/blobs/sha256", tmpl);
	mkdir(path, 0711);
	snprintf(path, sizeof(path), "%s/blobs/tmp", tmpl);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/refs", tmpl);
	mkdir(path, 0711);
	snprintf(path, sizeof(path), "%s/blobs", tmpl);
	blobsfd = open(path, O_RDONLY | O_DIRECTORY);
	snprintf(path, sizeof(path), "%s/refs", tmpl);
	refsfd = open(path, O_RDONLY | O_DIRECTORY);

	cfg = "{\"os\":\"linux\",\"architecture\":\"amd64\",\"rootfs\":{"
	    "\"type\":\"layers\",\"diff_ids\":[]}}";
	crypto_hash_sha256(h, (const uint8_t *)cfg, strlen(cfg));
	strlcpy(cd, "sha256:", sizeof(cd));
	hexstr(h, 32, cd + 7);
	p[0] = feed(cfg, strlen(cfg));
	ok(imgstore_put(blobsfd, cd, strlen(cfg), p[0], NULL, NULL, err,
	    sizeof(err)) == 0, "a blob that matches is stored (%s)", err);
	close(p[0]);
	p[0] = feed(cfg, strlen(cfg));
	ok(imgstore_put(blobsfd, cd, strlen(cfg), p[0], NULL, NULL, err,
	    sizeof(err)) == 1, "a stored blob is not written again");
	close(p[0]);
	p[0] = feed("tampered", 8);
	ok(imgstore_put(blobsfd, D1, 8, p[0], NULL, NULL, err,
	    sizeof(err)) == -1 && strstr(err, D1) && strstr(err, "hashes to"),
	    "a blob that does not match is refused, named (%s)", err);
	close(p[0]);
	p[0] = feed("tampered", 8);
	ok(imgstore_put(blobsfd, D1, 7, p[0], NULL, NULL, err,
	    sizeof(err)) == -1 && strstr(err, "more than its 7"),
	    "a blob longer than its size is refused (%s)", err);
	close(p[0]);
	p[0] = feed(cfg, strlen(cfg) - 1);
	ok(imgstore_put(blobsfd, cd, strlen(cfg), p[0], NULL, NULL, err,
	    sizeof(err)) == 1, "(stored already: no read)");
	close(p[0]);
	snprintf(path, sizeof(path), "%s/blobs/sha256", tmpl);
	ok(store_count(path) == 1, "only the good blob is in sha256/");
	snprintf(path, sizeof(path), "%s/blobs/tmp", tmpl);
	{
		DIR		*d = opendir(path);
		struct dirent	*de;
		int		 partial = 0;

		while (d != NULL && (de = readdir(d)) != NULL)
			if (strstr(de->d_name, ".partial") != NULL)
				partial++;
		if (d != NULL)
			closedir(d);
		ok(partial == 0, "no partial file left");
	}

	man = NULL;
	{
		static char	 mbuf[1024];

		snprintf(mbuf, sizeof(mbuf), "{\"schemaVersion\":2,\"config\":{"
		    "\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
		    "\"digest\":\"%s\",\"size\":%zu},\"layers\":[]}", cd,
		    strlen(cfg));
		man = mbuf;
	}
	crypto_hash_sha256(h, (const uint8_t *)man, strlen(man));
	strlcpy(md, "sha256:", sizeof(md));
	hexstr(h, 32, md + 7);
	p[0] = feed(man, strlen(man));
	imgstore_put(blobsfd, md, strlen(man), p[0], NULL, NULL, err,
	    sizeof(err));
	close(p[0]);
	{
		struct oci_manifest	 mm;
		struct oci_config	 mc;
		char			*mtext = NULL;
		size_t			 mlen;

		ok(ocispec_manifest_parse(man, strlen(man), &mm, err,
		    sizeof(err)) == 0 && ocispec_config_parse(cfg, strlen(cfg),
		    &mc, err, sizeof(err)) == 0 && imgstore_meta_make(md, &mm,
		    &mc, &mtext, &mlen, err, sizeof(err)) == 0 &&
		    imgstore_meta_set(blobsfd, md, mtext, mlen, err,
		    sizeof(err)) == 0 && imgstore_ref_set(refsfd, "t/img:v1",
		    md, err, sizeof(err)) == 0, "meta and ref set (%s)", err);
		free(mtext);
		ocispec_manifest_free(&mm);
		ocispec_config_free(&mc);
	}
	ok(imgstore_ref_get(refsfd, "t/img:v1", digest, err, sizeof(err)) ==
	    0 && strcmp(digest, md) == 0, "the ref reads back");
	ok(imgstore_lookup(tmpl, "t/img:v1", &e, err, sizeof(err)) == 0 &&
	    strcmp(e.digest, md) == 0 && e.manifest.nlayers == 0 &&
	    strcmp(e.config.os, "linux") == 0, "lookup by ref (%s)", err);
	img_entry_free(&e);
	ok(imgstore_lookup(tmpl, md, &e, err, sizeof(err)) == 0,
	    "lookup by digest (%s)", err);
	img_entry_free(&e);
	ok(imgstore_lookup(tmpl, "t/img:v2", &e, err, sizeof(err)) == -1 &&
	    strstr(err, "no image t/img:v2"), "a missing image is named (%s)",
	    err);
	/* a stored blob changed behind the store's back is caught */
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", tmpl, cd + 7);
	chmod(path, 0644);
	{
		FILE	*f = fopen(path, "r+");

		if (f != NULL) {
			fputc('[', f);
			fclose(f);
		}
	}
	ok(imgstore_lookup(tmpl, "t/img:v1", &e, err, sizeof(err)) == -1 &&
	    strstr(err, "hashes to"), "a changed blob is refused on lookup "
	    "(%s)", err);

	{
		char	 cmd[PATH_MAX + 16];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpl);
		(void)!system(cmd);
	}
	return tap_done();
}
