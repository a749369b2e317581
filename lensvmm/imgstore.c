/*
 * The content-addressed image store (imgstore.h).  Used by the fetch
 * process (writes blobs and refs) and by whoever looks an image up.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imgstore.h"

#define IMG_COPYBUF	(256 * 1024)
#define IMG_PROGRESS	(1024 * 1024)	/* report every MiB */

static void __attribute__((format(printf, 3, 4)))
store_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * References.  NAME is 1..255 bytes of [a-z0-9._/-] and ':' (a
 * registry's port), starting with a letter or digit, without "//",
 * "..", or a '/' at its end; TAG is [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 * after the last ':' that no '/' follows.
 */
static int
tag_ok(const char *t)
{
	size_t	 n = strlen(t);

	if (n == 0 || n > IMG_TAG_MAX || t[0] == '.' || t[0] == '-')
		return 0;
	return strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_.-") == n;
}

static int
name_ok(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0 || n > 255)
		return 0;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return 0;
	for (i = 0; i < n; i++) {
		char	 c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-' || c == '/' || c == ':'))
			return 0;
		if (i > 0 && ((c == '/' && s[i - 1] == '/') ||
		    (c == '.' && s[i - 1] == '.')))
			return 0;
	}
	return s[n - 1] != '/' && s[n - 1] != ':';
}

int
imgstore_ref_ok(const char *ref)
{
	const char	*c = strrchr(ref, ':');

	if (c == NULL || strchr(c, '/') != NULL)
		return 0;
	return name_ok(ref, (size_t)(c - ref)) && tag_ok(c + 1);
}

int
imgstore_ref_norm(const char *ref, char *out, size_t outlen)
{
	const char	*c = strrchr(ref, ':');

	if (c != NULL && strchr(c, '/') == NULL) {
		if (strlcpy(out, ref, outlen) >= outlen)
			return -1;
	} else if ((size_t)snprintf(out, outlen, "%s:latest", ref) >= outlen)
		return -1;
	return imgstore_ref_ok(out) ? 0 : -1;
}

int
imgstore_ref_file(const char *ref, char *out, size_t outlen)
{
	size_t	 o = 0;

	if (!imgstore_ref_ok(ref))
		return -1;
	for (; *ref != '\0'; ref++) {
		const char	*enc = *ref == '/' ? "%2F" : *ref == ':' ?
		    "%3A" : NULL;

		if (o + 4 > outlen)
			return -1;
		if (enc != NULL) {
			memcpy(out + o, enc, 3);
			o += 3;
		} else
			out[o++] = *ref;
	}
	out[o] = '\0';
	return 0;
}

int
imgstore_ref_unfile(const char *name, char *out, size_t outlen)
{
	size_t	 o = 0;

	for (; *name != '\0'; name++) {
		if (o + 1 >= outlen)
			return -1;
		if (*name == '%') {
			if (strncmp(name, "%2F", 3) == 0)
				out[o++] = '/';
			else if (strncmp(name, "%3A", 3) == 0)
				out[o++] = ':';
			else
				return -1;
			name += 2;
		} else if (*name == '/' || *name == ':')
			return -1;
		else
			out[o++] = *name;
	}
	out[o] = '\0';
	return imgstore_ref_ok(out) ? 0 : -1;
}

int
imgstore_blob_path(const char *statedir, const char *digest, char *buf,
    size_t len)
{
	if (!ocispec_digest_ok(digest))
		return -1;
	return (size_t)snprintf(buf, len, "%s/" IMG_BLOBDIR "/sha256/%s",
	    statedir, OCI_DIGEST_HEX(digest)) >= len ? -1 : 0;
}

static int
fsync_dir(int dirfd, const char *sub)
{
	int	 fd, rc;

	if ((fd = openat(dirfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* blobs/sha256/<hex> exists as a regular file */
static int
blob_exists(int blobsfd, const char *hex)
{
	char		 path[96];
	struct stat	 st;

	snprintf(path, sizeof(path), "sha256/%s", hex);
	return fstatat(blobsfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode);
}

int
imgstore_begin(int blobsfd, const char *digest, uint64_t size,
    struct img_writer *w, char *err, size_t errlen)
{
	char		 path[96];
	const char	*hex;

	memset(w, 0, sizeof(*w));
	w->fd = w->lockfd = -1;
	if (!ocispec_digest_ok(digest)) {
		store_err(err, errlen, "not a sha256 digest");
		return -1;
	}
	hex = OCI_DIGEST_HEX(digest);
	w->blobsfd = blobsfd;
	strlcpy(w->digest, digest, sizeof(w->digest));
	w->size = size;
	snprintf(path, sizeof(path), "tmp/%s.lock", hex);
	if ((w->lockfd = openat(blobsfd, path, O_RDWR | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1) {
		store_err(err, errlen, "blob %s: lock: %s", digest,
		    strerror(errno));
		return -1;
	}
	while (flock(w->lockfd, LOCK_EX) == -1)
		if (errno != EINTR) {
			store_err(err, errlen, "blob %s: lock: %s", digest,
			    strerror(errno));
			imgstore_abort(w);
			return -1;
		}
	if (blob_exists(blobsfd, hex)) {
		imgstore_abort(w);
		return 1;
	}
	/* what a writer killed before us left (maybe read-only already:
	 * killed between its fchmod and its rename) goes first */
	snprintf(path, sizeof(path), "tmp/%s.partial", hex);
	if (unlinkat(blobsfd, path, 0) == -1 && errno != ENOENT) {
		store_err(err, errlen, "blob %s: %s: %s", digest, path,
		    strerror(errno));
		imgstore_abort(w);
		return -1;
	}
	if ((w->fd = openat(blobsfd, path, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1) {
		store_err(err, errlen, "blob %s: %s: %s", digest, path,
		    strerror(errno));
		imgstore_abort(w);
		return -1;
	}
	crypto_hash_sha256_init(&w->st);
	return 0;
}

int
imgstore_write(struct img_writer *w, const void *buf, size_t len, char *err,
    size_t errlen)
{
	const uint8_t	*p = buf;
	ssize_t		 n;

	if (len > w->size - w->have) {
		store_err(err, errlen, "blob %s: more than its %llu bytes",
		    w->digest, (unsigned long long)w->size);
		return -1;
	}
	crypto_hash_sha256_update(&w->st, buf, len);
	w->have += len;
	while (len > 0) {
		if ((n = write(w->fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			store_err(err, errlen, "blob %s: write: %s", w->digest,
			    strerror(errno));
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void
hexstr(const uint8_t *h, size_t n, char *out)
{
	static const char	 x[] = "0123456789abcdef";
	size_t			 i;

	for (i = 0; i < n; i++) {
		out[2 * i] = x[h[i] >> 4];
		out[2 * i + 1] = x[h[i] & 15];
	}
	out[2 * n] = '\0';
}

int
imgstore_commit(struct img_writer *w, char *err, size_t errlen)
{
	uint8_t		 h[crypto_hash_sha256_BYTES];
	char		 got[65], tmp[96], dst[96];
	const char	*hex = OCI_DIGEST_HEX(w->digest);

	if (w->have != w->size) {
		store_err(err, errlen, "blob %s: %llu bytes, not the %llu its "
		    "descriptor says", w->digest, (unsigned long long)w->have,
		    (unsigned long long)w->size);
		goto fail;
	}
	crypto_hash_sha256_final(&w->st, h);
	hexstr(h, sizeof(h), got);
	if (strcmp(got, hex) != 0) {
		store_err(err, errlen, "blob %s: its content hashes to sha256:%s",
		    w->digest, got);
		goto fail;
	}
	if (fchmod(w->fd, 0444) == -1 || fsync(w->fd) == -1) {
		store_err(err, errlen, "blob %s: %s", w->digest, strerror(errno));
		goto fail;
	}
	snprintf(tmp, sizeof(tmp), "tmp/%s.partial", hex);
	snprintf(dst, sizeof(dst), "sha256/%s", hex);
	if (renameat(w->blobsfd, tmp, w->blobsfd, dst) == -1 ||
	    fsync_dir(w->blobsfd, "sha256") == -1) {
		store_err(err, errlen, "blob %s: store: %s", w->digest,
		    strerror(errno));
		goto fail;
	}
	imgstore_abort(w);
	return 0;
 fail:
	imgstore_abort(w);
	return -1;
}

void
imgstore_abort(struct img_writer *w)
{
	char	 tmp[96];

	if (w->fd != -1) {
		close(w->fd);
		w->fd = -1;
		snprintf(tmp, sizeof(tmp), "tmp/%s.partial",
		    OCI_DIGEST_HEX(w->digest));
		(void)unlinkat(w->blobsfd, tmp, 0);
	}
	if (w->lockfd != -1) {
		close(w->lockfd);	/* releases the flock */
		w->lockfd = -1;
	}
}

int
imgstore_put(int blobsfd, const char *digest, uint64_t size, int fd,
    void (*progress)(void *, uint64_t), void *arg, char *err, size_t errlen)
{
	struct img_writer	 w;
	uint8_t			*buf;
	uint64_t		 last = 0;
	ssize_t			 n;
	int			 rc;

	if ((rc = imgstore_begin(blobsfd, digest, size, &w, err, errlen)) !=
	    0)
		return rc;
	if ((buf = malloc(IMG_COPYBUF)) == NULL) {
		store_err(err, errlen, "out of memory");
		imgstore_abort(&w);
		return -1;
	}
	for (;;) {
		if ((n = read(fd, buf, IMG_COPYBUF)) == -1) {
			if (errno == EINTR)
				continue;
			store_err(err, errlen, "blob %s: read: %s", digest,
			    strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		if (imgstore_write(&w, buf, (size_t)n, err, errlen) == -1)
			goto fail;
		if (progress != NULL && w.have - last >= IMG_PROGRESS) {
			last = w.have;
			progress(arg, w.have);
		}
	}
	free(buf);
	if (imgstore_commit(&w, err, errlen) == -1)
		return -1;
	if (progress != NULL)
		progress(arg, size);
	return 0;
 fail:
	free(buf);
	imgstore_abort(&w);
	return -1;
}

int
imgstore_read(int blobsfd, const char *digest, uint64_t max, void **bufp,
    size_t *lenp, char *err, size_t errlen)
{
	uint8_t		 h[crypto_hash_sha256_BYTES];
	struct stat	 st;
	char		 path[96], got[65];
	uint8_t		*buf = NULL;
	size_t		 have = 0;
	ssize_t		 n;
	int		 fd;

	*bufp = NULL;
	*lenp = 0;
	if (!ocispec_digest_ok(digest)) {
		store_err(err, errlen, "not a sha256 digest");
		return -1;
	}
	snprintf(path, sizeof(path), "sha256/%s", OCI_DIGEST_HEX(digest));
	if ((fd = openat(blobsfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) ==
	    -1) {
		store_err(err, errlen, "blob %s: %s", digest, errno == ENOENT ?
		    "not in the store" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > max) {
		store_err(err, errlen, "blob %s: not a regular file of at most "
		    "%llu bytes", digest, (unsigned long long)max);
		goto fail;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		store_err(err, errlen, "out of memory");
		goto fail;
	}
	while (have < (size_t)st.st_size) {
		if ((n = read(fd, buf + have, (size_t)st.st_size - have)) ==
		    -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			store_err(err, errlen, "blob %s: read: %s", digest,
			    n == 0 ? "short" : strerror(errno));
			goto fail;
		}
		have += (size_t)n;
	}
	crypto_hash_sha256(h, buf, have);
	hexstr(h, sizeof(h), got);
	if (strcmp(got, OCI_DIGEST_HEX(digest)) != 0) {
		store_err(err, errlen, "blob %s: the stored file hashes to "
		    "sha256:%s", digest, got);
		goto fail;
	}
	close(fd);
	buf[have] = '\0';
	*bufp = buf;
	*lenp = have;
	return 0;
 fail:
	free(buf);
	close(fd);
	return -1;
}

/* a small file written whole: temporary, fsync, rename, fsync dir */
static int
write_atomic(int dirfd, const char *sub, const char *name, const char *data,
    size_t len)
{
	char	 tmp[IMG_REF_SIZE * 3 + 64], dst[IMG_REF_SIZE * 3 + 32];
	int	 fd;

	snprintf(tmp, sizeof(tmp), "%s/.tmp.%ld.%s", sub, (long)getpid(),
	    name);
	snprintf(dst, sizeof(dst), "%s/%s", sub, name);
	if ((fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC |
	    O_NOFOLLOW | O_CLOEXEC, 0644)) == -1)
		return -1;
	if (write(fd, data, len) != (ssize_t)len || fsync(fd) == -1) {
		close(fd);
		(void)unlinkat(dirfd, tmp, 0);
		return -1;
	}
	close(fd);
	if (renameat(dirfd, tmp, dirfd, dst) == -1 ||
	    fsync_dir(dirfd, sub) == -1) {
		(void)unlinkat(dirfd, tmp, 0);
		return -1;
	}
	return 0;
}

int
imgstore_meta_set(int blobsfd, const char *digest, const char *config,
    const struct oci_descriptor *layers, size_t nlayers, char *err,
    size_t errlen)
{
	char	*buf;
	size_t	 i, len = 0, max = (nlayers + 1) * OCI_DIGEST_SIZE + 1;
	int	 rc;

	if (!ocispec_digest_ok(digest) || !ocispec_digest_ok(config)) {
		store_err(err, errlen, "meta: not a digest");
		return -1;
	}
	if ((buf = malloc(max)) == NULL) {
		store_err(err, errlen, "out of memory");
		return -1;
	}
	len += (size_t)snprintf(buf, max, "%s\n", config);
	for (i = 0; i < nlayers; i++)
		len += (size_t)snprintf(buf + len, max - len, "%s\n",
		    layers[i].digest);
	if (mkdirat(blobsfd, "meta", 0711) == -1 && errno != EEXIST)
		rc = -1;
	else
		rc = write_atomic(blobsfd, "meta", OCI_DIGEST_HEX(digest),
		    buf, len);
	if (rc == -1)
		store_err(err, errlen, "meta of %s: %s", digest, strerror(errno));
	free(buf);
	return rc;
}

int
imgstore_meta_get(int blobsfd, const char *digest,
    char (**dp)[OCI_DIGEST_SIZE], size_t *np, char *err, size_t errlen)
{
	char	 path[96], (*d)[OCI_DIGEST_SIZE] = NULL;
	char	*buf, *line, *nl;
	size_t	 max = (OCI_MAXLAYERS + 1) * OCI_DIGEST_SIZE, have = 0, n = 0;
	ssize_t	 r;
	int	 fd;

	*dp = NULL;
	*np = 0;
	if (!ocispec_digest_ok(digest)) {
		store_err(err, errlen, "meta: not a digest");
		return -1;
	}
	snprintf(path, sizeof(path), "meta/%s", OCI_DIGEST_HEX(digest));
	if ((fd = openat(blobsfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) ==
	    -1) {
		store_err(err, errlen, "meta of %s: %s", digest, strerror(errno));
		return -1;
	}
	if ((buf = malloc(max + 1)) == NULL ||
	    (d = calloc(OCI_MAXLAYERS + 1, sizeof(*d))) == NULL) {
		store_err(err, errlen, "out of memory");
		goto fail;
	}
	while ((r = read(fd, buf + have, max + 1 - have)) > 0)
		if ((have += (size_t)r) > max)
			break;
	if (r == -1 || have > max || have == 0 || buf[have - 1] != '\n')
		goto bad;
	buf[have] = '\0';
	for (line = buf; *line != '\0'; line = nl + 1) {
		nl = strchr(line, '\n');
		*nl = '\0';
		if (!ocispec_digest_ok(line) || n > OCI_MAXLAYERS)
			goto bad;
		memcpy(d[n++], line, OCI_DIGEST_SIZE);
	}
	close(fd);
	free(buf);
	*dp = d;
	*np = n - 1;
	return 0;
 bad:
	store_err(err, errlen, "meta of %s: not digest lines", digest);
 fail:
	close(fd);
	free(buf);
	free(d);
	return -1;
}

int
imgstore_ref_set(int refsfd, const char *ref, const char *digest, char *err,
    size_t errlen)
{
	char	 name[IMG_REF_SIZE * 3], tmp[IMG_REF_SIZE * 3 + 32];
	char	 line[OCI_DIGEST_SIZE + 1];
	int	 fd, len;

	if (imgstore_ref_file(ref, name, sizeof(name)) == -1 ||
	    !ocispec_digest_ok(digest)) {
		store_err(err, errlen, "bad reference or digest");
		return -1;
	}
	snprintf(tmp, sizeof(tmp), ".tmp.%ld.%s", (long)getpid(), name);
	len = snprintf(line, sizeof(line), "%s\n", digest);
	if ((fd = openat(refsfd, tmp, O_WRONLY | O_CREAT | O_TRUNC |
	    O_NOFOLLOW | O_CLOEXEC, 0644)) == -1) {
		store_err(err, errlen, "ref %s: %s", ref, strerror(errno));
		return -1;
	}
	if (write(fd, line, (size_t)len) != len || fsync(fd) == -1) {
		store_err(err, errlen, "ref %s: write: %s", ref, strerror(errno));
		close(fd);
		(void)unlinkat(refsfd, tmp, 0);
		return -1;
	}
	close(fd);
	if (renameat(refsfd, tmp, refsfd, name) == -1 ||
	    fsync_dir(refsfd, ".") == -1) {
		store_err(err, errlen, "ref %s: %s", ref, strerror(errno));
		(void)unlinkat(refsfd, tmp, 0);
		return -1;
	}
	return 0;
}

int
imgstore_ref_get(int refsfd, const char *ref, char digest[OCI_DIGEST_SIZE],
    char *err, size_t errlen)
{
	char	 name[IMG_REF_SIZE * 3], line[OCI_DIGEST_SIZE + 2];
	ssize_t	 n;
	int	 fd;

	if (imgstore_ref_file(ref, name, sizeof(name)) == -1) {
		store_err(err, errlen, "\"%.64s\" is not NAME[:TAG]", ref);
		return -1;
	}
	if ((fd = openat(refsfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) ==
	    -1) {
		if (errno == ENOENT)
			return 1;
		store_err(err, errlen, "ref %s: %s", ref, strerror(errno));
		return -1;
	}
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n != OCI_DIGEST_SIZE) {	/* 71 + '\n' */
		store_err(err, errlen, "ref %s: not a digest line", ref);
		return -1;
	}
	line[n - 1] = '\0';
	if (!ocispec_digest_ok(line)) {
		store_err(err, errlen, "ref %s: not a digest line", ref);
		return -1;
	}
	memcpy(digest, line, OCI_DIGEST_SIZE);
	return 0;
}

int
imgstore_lookup(const char *statedir, const char *ref, struct img_entry *e,
    char *err, size_t errlen)
{
	char	 path[PATH_MAX], e2[256];
	void	*buf = NULL;
	size_t	 len;
	int	 blobsfd = -1, refsfd = -1, rc = -1, r;

	memset(e, 0, sizeof(*e));
	if (snprintf(path, sizeof(path), "%s/" IMG_BLOBDIR, statedir) >=
	    (int)sizeof(path) ||
	    (blobsfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1) {
		store_err(err, errlen, "the image store %s: %s", path,
		    strerror(errno));
		goto done;
	}
	if (ocispec_digest_ok(ref))
		strlcpy(e->digest, ref, sizeof(e->digest));
	else {
		if (imgstore_ref_norm(ref, e->ref, sizeof(e->ref)) == -1) {
			store_err(err, errlen, "\"%.64s\" is neither NAME[:TAG] "
			    "nor sha256:<64 hex>", ref);
			goto done;
		}
		snprintf(path, sizeof(path), "%s/" IMG_REFDIR, statedir);
		if ((refsfd = open(path, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC)) == -1) {
			store_err(err, errlen, "the image store %s: %s", path,
			    strerror(errno));
			goto done;
		}
		if ((r = imgstore_ref_get(refsfd, e->ref, e->digest, err,
		    errlen)) == 1)
			store_err(err, errlen, "no image %s (lensctl pull it)",
			    e->ref);
		if (r != 0)
			goto done;
	}
	if (imgstore_read(blobsfd, e->digest, OCI_JSON_MAX, &buf, &len, err,
	    errlen) == -1)
		goto done;
	if (ocispec_manifest_parse(buf, len, &e->manifest, e2, sizeof(e2)) ==
	    -1) {
		store_err(err, errlen, "image %s: %s", e->digest, e2);
		goto done;
	}
	free(buf);
	buf = NULL;
	if (imgstore_read(blobsfd, e->manifest.config.digest, OCI_JSON_MAX,
	    &buf, &len, err, errlen) == -1)
		goto done;
	if (ocispec_config_parse(buf, len, &e->config, e2, sizeof(e2)) ==
	    -1 || ocispec_config_matches(&e->manifest, &e->config, e2,
	    sizeof(e2)) == -1) {
		store_err(err, errlen, "image %s: %s", e->digest, e2);
		goto done;
	}
	rc = 0;
 done:
	free(buf);
	if (blobsfd != -1)
		close(blobsfd);
	if (refsfd != -1)
		close(refsfd);
	if (rc == -1)
		img_entry_free(e);
	return rc;
}

void
img_entry_free(struct img_entry *e)
{
	ocispec_manifest_free(&e->manifest);
	ocispec_config_free(&e->config);
}
