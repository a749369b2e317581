/*
 * The strict parse of OCI (and Docker v2.2) image JSON: image index,
 * image manifest, image config.  Hostile input: every document comes
 * from an image source nobody vouches for.  What is refused, never
 * guessed: bytes after the JSON value, duplicate keys, nesting deeper
 * than OCI_JSON_DEPTH, documents above OCI_JSON_MAX, a media type not
 * in the lists below, a digest other than "sha256:" and 64 lowercase
 * hex digits, a size that is not a non-negative integer, strings with
 * NUL or control bytes, more than OCI_MAXLAYERS layers or
 * OCI_MAXMANIFESTS index entries, a config whose rootfs.diff_ids do not
 * pair with the manifest's layers (checked by ocispec_config_matches).
 * The error names the field ("manifest: layers[2].digest: ...").
 */
#ifndef LENS_OCISPEC_H
#define LENS_OCISPEC_H

#include <stddef.h>
#include <stdint.h>

#define OCI_DIGEST_SIZE		72	/* "sha256:" + 64 hex + NUL */
#define OCI_JSON_MAX		(4u << 20)
#define OCI_JSON_DEPTH		16
#define OCI_MAXLAYERS		256
#define OCI_MAXMANIFESTS	256
#define OCI_MAXSTRINGS		1024	/* Entrypoint, Cmd, Env, ports */
#define OCI_MAXSTRING		8192	/* one of them, bytes */
#define OCI_PLATFORM_SIZE	32	/* os, architecture, variant */
#define OCI_REFNAME_SIZE	256	/* org.opencontainers.image.ref.name */

#define MT_OCI_INDEX	"application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST	"application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_CONFIG	"application/vnd.oci.image.config.v1+json"
#define MT_DOCKER_LIST	"application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"

/* layer compression, from the layer's media type */
#define OCI_LAYER_TAR	0
#define OCI_LAYER_GZIP	1
#define OCI_LAYER_ZSTD	2

#define OCI_KIND_INDEX		1
#define OCI_KIND_MANIFEST	2

struct oci_descriptor {
	char		 mediatype[96];
	char		 digest[OCI_DIGEST_SIZE];
	uint64_t	 size;
	int		 kind;		/* index entries: OCI_KIND_* */
	int		 compression;	/* layers: OCI_LAYER_* */
	int		 has_platform;
	char		 os[OCI_PLATFORM_SIZE];
	char		 arch[OCI_PLATFORM_SIZE];
	char		 variant[OCI_PLATFORM_SIZE];
	char		 refname[OCI_REFNAME_SIZE];	/* "" none */
};

struct oci_index {
	struct oci_descriptor	*manifests;
	size_t			 n;
};

struct oci_manifest {
	struct oci_descriptor	 config;
	struct oci_descriptor	*layers;
	size_t			 nlayers;
};

struct oci_config {
	char		 os[OCI_PLATFORM_SIZE];
	char		 arch[OCI_PLATFORM_SIZE];
	char		 variant[OCI_PLATFORM_SIZE];
	char		**entrypoint;	/* NULL-terminated; NULL: none */
	size_t		 nentrypoint;
	char		**cmd;
	size_t		 ncmd;
	char		**env;		/* "K=V" each */
	size_t		 nenv;
	char		**exposed;	/* "80/tcp", documentation only */
	size_t		 nexposed;
	char		*workingdir;	/* NULL: none */
	char		*user;		/* NULL: none */
	char		(*diffids)[OCI_DIGEST_SIZE];
	size_t		 ndiffids;
};

/* "sha256:" and 64 lowercase hex digits, nothing else */
int	ocispec_digest_ok(const char *);
/* the hex part of a digest that ocispec_digest_ok accepted */
#define OCI_DIGEST_HEX(d)	((d) + 7)

int	ocispec_index_parse(const void *buf, size_t len, struct oci_index *,
	    char *err, size_t errlen);
void	ocispec_index_free(struct oci_index *);
int	ocispec_manifest_parse(const void *buf, size_t len,
	    struct oci_manifest *, char *err, size_t errlen);
void	ocispec_manifest_free(struct oci_manifest *);
int	ocispec_config_parse(const void *buf, size_t len, struct oci_config *,
	    char *err, size_t errlen);
void	ocispec_config_free(struct oci_config *);
/* 0 if c's diff_ids pair with m's layers, else -1 with err */
int	ocispec_config_matches(const struct oci_manifest *,
	    const struct oci_config *, char *err, size_t errlen);

/*
 * "os/arch[/variant]" checked and split (platform NULL or "": the
 * default linux/amd64); -1 with err.
 */
int	ocispec_platform(const char *platform, char *os, char *arch,
	    char *variant, char *err, size_t errlen);
/*
 * The entry of an index to pull: with tag, the one whose ref.name is
 * tag (an error if none or several); without, the single manifest, or
 * among several the one for os/arch[/variant] (an entry without a
 * platform matches none).  Returns its position, or -1 with err.
 */
int	ocispec_select(const struct oci_index *, const char *tag,
	    const char *os, const char *arch, const char *variant,
	    char *err, size_t errlen);

#endif
