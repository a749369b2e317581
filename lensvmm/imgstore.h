/*
 * The image store under lensvmm's state directory (-D):
 *
 *	blobs/sha256/<hex>	verified blobs, mode 0444: a file there
 *				always holds the bytes its name hashes to
 *	blobs/tmp/<hex>.partial	a download in progress (one writer: the
 *	blobs/tmp/<hex>.lock	holder of this flock)
 *	blobs/meta/<hex>	what the parent knows of manifest <hex>
 *				(below; written before any ref names it)
 *	refs/<name>		"sha256:<hex>\n", the manifest digest of
 *				reference NAME:TAG (name: the reference
 *				with '%', '/' and ':' percent-encoded)
 *
 * A blob is written to its .partial file while its SHA-256 is computed,
 * checked against the digest and size it was asked for, fsynced, made
 * read-only, renamed into blobs/sha256 and the directory fsynced: a
 * crash at any point leaves no blob that does not match its name.  A
 * ref is written to a temporary file and renamed the same way.
 */
#ifndef LENS_IMGSTORE_H
#define LENS_IMGSTORE_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "ocispec.h"

#define IMG_BLOBDIR	"blobs"
#define IMG_REFDIR	"refs"
#define IMG_REF_SIZE	384	/* NAME:TAG + NUL */
#define IMG_TAG_MAX	128

/* NAME:TAG (ocispec's reference grammar, see imgstore.c) */
int	imgstore_ref_ok(const char *ref);
/* ref completed with ":latest" when it has no tag; -1 if not a ref */
int	imgstore_ref_norm(const char *ref, char *out, size_t outlen);
/* the file name of ref under refs/ (percent-encoded) */
int	imgstore_ref_file(const char *ref, char *out, size_t outlen);
/* the inverse; -1 for a name that no ref encodes to */
int	imgstore_ref_unfile(const char *name, char *out, size_t outlen);

/* STATEDIR/blobs/sha256/<hex> */
int	imgstore_blob_path(const char *statedir, const char *digest,
	    char *buf, size_t len);

/*
 * Writing one blob into the store whose blobs/ directory is blobsfd.
 * imgstore_begin takes the blob's lock (waiting for another writer of
 * the same blob) and returns 1 if the blob is stored already (nothing
 * to write; the lock released), 0 with w ready for the bytes, -1 with
 * err.  imgstore_write fails once more than size bytes came;
 * imgstore_commit checks size and digest and stores the blob, or
 * removes what was written and fails naming the blob; imgstore_abort
 * drops it.  Every path releases the lock.
 */
struct img_writer {
	int				 blobsfd;
	int				 fd;
	int				 lockfd;
	char				 digest[OCI_DIGEST_SIZE];
	uint64_t			 size, have;
	crypto_hash_sha256_state	 st;
};
int	imgstore_begin(int blobsfd, const char *digest, uint64_t size,
	    struct img_writer *, char *err, size_t errlen);
int	imgstore_write(struct img_writer *, const void *, size_t, char *err,
	    size_t errlen);
int	imgstore_commit(struct img_writer *, char *err, size_t errlen);
void	imgstore_abort(struct img_writer *);
/*
 * The whole blob from fd (a file or a pipe); progress(arg, bytes) now
 * and then.  1 when it was stored already, 0 stored now, -1 with err.
 */
int	imgstore_put(int blobsfd, const char *digest, uint64_t size, int fd,
	    void (*progress)(void *, uint64_t), void *arg, char *err,
	    size_t errlen);
/* a stored blob of at most max bytes read and its digest checked
 * again; *buf to free; -1 with err */
int	imgstore_read(int blobsfd, const char *digest, uint64_t max,
	    void **buf, size_t *len, char *err, size_t errlen);
/* the same from an open blob */
int	imgstore_read_fd(int fd, const char *digest, uint64_t max,
	    void **buf, size_t *len, char *err, size_t errlen);

/*
 * The meta file of a manifest, blobs/meta/<hex>: what the parent needs
 * of an image, written by the fetch process (which parsed and verified
 * the JSON) so that the root parent never parses image JSON.  Lines,
 * in this order, each at most IMG_META_LINE bytes, the file at most
 * IMG_META_MAX:
 *
 *	lens-image-meta 1
 *	manifest sha256:<hex>
 *	config sha256:<hex>
 *	layer sha256:<blob hex> <size> sha256:<diff id hex>	(0..256)
 *	entrypoint STRING	(each element of Entrypoint, in order)
 *	cmd STRING		(Cmd)
 *	env STRING		(Env, NAME=VALUE)
 *	workdir STRING		(WorkingDir, at most once)
 *	user STRING		(User, at most once)
 *	end
 *
 * STRING has every byte below 0x21, 0x7f and '%' written %XX (upper
 * case hex); NUL is never one.  imgstore_meta_parse refuses anything
 * else naming the file and line.
 */
#define IMG_META_MAX	(1u << 20)
#define IMG_META_LINE	(3 * OCI_MAXSTRING + 16)

struct img_layer {
	char		 digest[OCI_DIGEST_SIZE];	/* the blob */
	uint64_t	 size;
	char		 diffid[OCI_DIGEST_SIZE];	/* the tar stream */
};

struct img_meta {
	char		 manifest[OCI_DIGEST_SIZE];
	char		 config[OCI_DIGEST_SIZE];
	struct img_layer *layers;
	size_t		 nlayers;
	char		**entrypoint;	/* NULL-terminated, never NULL */
	size_t		 nentrypoint;
	char		**cmd;
	size_t		 ncmd;
	char		**env;
	size_t		 nenv;
	char		*workdir;	/* NULL: none */
	char		*user;		/* NULL: none */
};

/* the meta text of a parsed manifest and config (*text to free) */
int	imgstore_meta_make(const char *manifest, const struct oci_manifest *,
	    const struct oci_config *, char **text, size_t *len, char *err,
	    size_t errlen);
/* written as blobs/meta/<hex of manifest> (temporary, fsync, rename) */
int	imgstore_meta_set(int blobsfd, const char *manifest, const char *text,
	    size_t len, char *err, size_t errlen);
/* the strict parse; name for errors ("NAME:LINE: what") */
int	imgstore_meta_parse(const char *buf, size_t len, const char *name,
	    struct img_meta *, char *err, size_t errlen);
/*
 * blobs/meta/<hex> read and parsed; *raw (if not NULL) the SHA-256 of
 * its bytes.  -1 with err
 */
int	imgstore_meta_get(int blobsfd, const char *manifest, struct img_meta *,
	    uint8_t raw[32], char *err, size_t errlen);
void	img_meta_free(struct img_meta *);
/*
 * An image by reference (NAME[:TAG], ":latest" when no tag) or manifest
 * digest, from its ref and meta file only (no JSON): for the parent.
 * ref (IMG_REF_SIZE, "" by digest) filled.  -1 with err.
 */
int	imgstore_meta_find(const char *statedir, const char *ref,
	    char *refout, struct img_meta *, uint8_t raw[32], char *err,
	    size_t errlen);

/* refs: refsfd is STATEDIR/refs */
int	imgstore_ref_set(int refsfd, const char *ref, const char *digest,
	    char *err, size_t errlen);
/* 0, 1 when ref does not exist, -1 with err */
int	imgstore_ref_get(int refsfd, const char *ref,
	    char digest[OCI_DIGEST_SIZE], char *err, size_t errlen);

/*
 * For unprivileged processes only (the parent parses no image JSON):
 * an image by reference (NAME[:TAG], ":latest" when no tag) or by its
 * manifest digest (sha256:<hex>): the manifest digest and the parsed
 * manifest and config, both read from the store and checked against
 * their digests again.  -1 with err ("no image NAME:TAG").
 */
struct img_entry {
	char			 ref[IMG_REF_SIZE];	/* "" by digest */
	char			 digest[OCI_DIGEST_SIZE];
	struct oci_manifest	 manifest;
	struct oci_config	 config;
};
int	imgstore_lookup(const char *statedir, const char *ref,
	    struct img_entry *out, char *err, size_t errlen);
void	img_entry_free(struct img_entry *);

#endif
