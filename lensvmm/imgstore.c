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
imgstore_read_fd(int fd, const char *digest, uint64_t max, void **bufp,
    size_t *lenp, char *err, size_t errlen)
{
	uint8_t		 h[crypto_hash_sha256_BYTES];
	struct stat	 st;
	char		 got[65];
	uint8_t		*buf = NULL;
	size_t		 have = 0;
	ssize_t		 n;

	*bufp = NULL;
	*lenp = 0;
	if (!ocispec_digest_ok(digest)) {
		store_err(err, errlen, "not a sha256 digest");
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > max) {
		store_err(err, errlen, "blob %s: not a regular file of at most "
		    "%llu bytes", digest, (unsigned long long)max);
		return -1;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		store_err(err, errlen, "out of memory");
		return -1;
	}
	while (have < (size_t)st.st_size) {
		if ((n = read(fd, buf + have, (size_t)st.st_size - have)) ==
		    -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			store_err(err, errlen, "blob %s: read: %s", digest,
			    n == 0 ? "short" : strerror(errno));
			free(buf);
			return -1;
		}
		have += (size_t)n;
	}
	crypto_hash_sha256(h, buf, have);
	hexstr(h, sizeof(h), got);
	if (strcmp(got, OCI_DIGEST_HEX(digest)) != 0) {
		store_err(err, errlen, "blob %s: the stored file hashes to "
		    "sha256:%s", digest, got);
		free(buf);
		return -1;
	}
	buf[have] = '\0';
	*bufp = buf;
	*lenp = have;
	return 0;
}

int
imgstore_read(int blobsfd, const char *digest, uint64_t max, void **bufp,
    size_t *lenp, char *err, size_t errlen)
{
	char	 path[96];
	int	 fd, rc;

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
	rc = imgstore_read_fd(fd, digest, max, bufp, lenp, err, errlen);
	close(fd);
	return rc;
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

/* --- meta files (imgstore.h) ---------------------------------------------- */

struct sbuf {
	char	*b;
	size_t	 len, cap;
	int	 full;
};

static void __attribute__((format(printf, 2, 3)))
sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (sb->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(sb->b + sb->len, sb->cap - sb->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sb->cap - sb->len)
		sb->full = 1;
	else
		sb->len += (size_t)n;
}

/* "KEY STRING\n", STRING escaped */
static void
sb_string(struct sbuf *sb, const char *key, const char *v)
{
	const unsigned char	*p;

	sb_printf(sb, "%s ", key);
	for (p = (const unsigned char *)v; *p != '\0' && !sb->full; p++)
		if (*p < 0x21 || *p == 0x7f || *p == '%')
			sb_printf(sb, "%%%02X", *p);
		else
			sb_printf(sb, "%c", *p);
	sb_printf(sb, "\n");
}

int
imgstore_meta_make(const char *manifest, const struct oci_manifest *m,
    const struct oci_config *c, char **text, size_t *len, char *err,
    size_t errlen)
{
	struct sbuf	 sb;
	size_t		 i;

	*text = NULL;
	*len = 0;
	if (!ocispec_digest_ok(manifest) || m->nlayers > OCI_MAXLAYERS ||
	    c->ndiffids != m->nlayers) {
		store_err(err, errlen, "meta: not a checked manifest");
		return -1;
	}
	memset(&sb, 0, sizeof(sb));
	sb.cap = IMG_META_MAX + 1;
	if ((sb.b = malloc(sb.cap)) == NULL) {
		store_err(err, errlen, "out of memory");
		return -1;
	}
	sb_printf(&sb, "lens-image-meta 1\nmanifest %s\nconfig %s\n",
	    manifest, m->config.digest);
	for (i = 0; i < m->nlayers; i++)
		sb_printf(&sb, "layer %s %llu %s\n", m->layers[i].digest,
		    (unsigned long long)m->layers[i].size, c->diffids[i]);
	for (i = 0; i < c->nentrypoint; i++)
		sb_string(&sb, "entrypoint", c->entrypoint[i]);
	for (i = 0; i < c->ncmd; i++)
		sb_string(&sb, "cmd", c->cmd[i]);
	for (i = 0; i < c->nenv; i++)
		sb_string(&sb, "env", c->env[i]);
	if (c->workingdir != NULL)
		sb_string(&sb, "workdir", c->workingdir);
	if (c->user != NULL)
		sb_string(&sb, "user", c->user);
	sb_printf(&sb, "end\n");
	if (sb.full || sb.len > IMG_META_MAX) {
		free(sb.b);
		store_err(err, errlen, "config %s: Entrypoint, Cmd, Env, "
		    "WorkingDir and User take more than %u bytes",
		    m->config.digest, IMG_META_MAX);
		return -1;
	}
	*text = sb.b;
	*len = sb.len;
	return 0;
}

int
imgstore_meta_set(int blobsfd, const char *manifest, const char *text,
    size_t len, char *err, size_t errlen)
{
	int	 rc;

	if (!ocispec_digest_ok(manifest)) {
		store_err(err, errlen, "meta: not a digest");
		return -1;
	}
	if (mkdirat(blobsfd, "meta", 0711) == -1 && errno != EEXIST)
		rc = -1;
	else
		rc = write_atomic(blobsfd, "meta", OCI_DIGEST_HEX(manifest),
		    text, len);
	if (rc == -1)
		store_err(err, errlen, "meta of %s: %s", manifest,
		    strerror(errno));
	return rc;
}

static int
metav_add(char ***v, size_t *n, char *s)
{
	char	**nv;

	if ((nv = reallocarray(*v, *n + 2, sizeof(**v))) == NULL)
		return -1;
	nv[(*n)++] = s;
	nv[*n] = NULL;
	*v = nv;
	return 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* STRING unescaped; NULL if not one (or out of memory: *oom) */
static char *
meta_string(const char *v, size_t n, int *oom)
{
	char	*out, *o;
	size_t	 i;
	int	 hi, lo;

	if ((out = malloc(n + 1)) == NULL) {
		*oom = 1;
		return NULL;
	}
	for (i = 0, o = out; i < n; i++) {
		unsigned char	 c = (unsigned char)v[i];

		if (c < 0x21 || c == 0x7f)
			goto bad;
		if (c == '%') {
			if (i + 2 >= n)
				goto bad;
			if ((hi = hexval(v[i + 1])) == -1 ||
			    (lo = hexval(v[i + 2])) == -1)
				goto bad;
			c = (unsigned char)(hi << 4 | lo);
			if (c == '\0' || !(c < 0x21 || c == 0x7f || c == '%'))
				goto bad;	/* one way to write each */
			i += 2;
		}
		*o++ = (char)c;
	}
	*o = '\0';
	if ((size_t)(o - out) > OCI_MAXSTRING)
		goto bad;
	return out;
 bad:
	free(out);
	return NULL;
}

static int
meta_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t	 v = 0;
	size_t		 i;

	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' ||
		    v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* a digest of exactly n bytes into d */
static int
meta_digest(const char *s, size_t n, char d[OCI_DIGEST_SIZE])
{
	if (n != OCI_DIGEST_SIZE - 1)
		return -1;
	memcpy(d, s, n);
	d[n] = '\0';
	return ocispec_digest_ok(d) ? 0 : -1;
}

int
imgstore_meta_parse(const char *buf, size_t len, const char *name,
    struct img_meta *mt, char *err, size_t errlen)
{
	/* the order of the keys; a key's state may repeat for lists */
	static const char *const keys[] = { "lens-image-meta", "manifest",
	    "config", "layer", "entrypoint", "cmd", "env", "workdir",
	    "user", "end" };
	enum { K_MAGIC, K_MANIFEST, K_CONFIG, K_LAYER, K_EP, K_CMD, K_ENV,
	    K_WORKDIR, K_USER, K_END, K_N };
	const char	*line = buf, *nl, *sp, *v;
	size_t		 ln = 0, n, vn, nstr = 0, k;
	int		 state = -1, oom = 0;
	char		*str, *why = "not a meta line";
	struct img_layer *l;

	memset(mt, 0, sizeof(*mt));
	if (len > IMG_META_MAX) {
		store_err(err, errlen, "%s: above %u bytes", name,
		    IMG_META_MAX);
		return -1;
	}
	while ((size_t)(line - buf) < len) {
		ln++;
		n = len - (size_t)(line - buf);
		if ((nl = memchr(line, '\n', n)) == NULL) {
			why = "no newline at the end";
			goto bad;
		}
		n = (size_t)(nl - line);
		if (n > IMG_META_LINE) {
			why = "line too long";
			goto bad;
		}
		if (state == K_END) {
			why = "a line after \"end\"";
			goto bad;
		}
		if ((sp = memchr(line, ' ', n)) == NULL)
			sp = nl;
		for (k = 0; k < K_N; k++)
			if (strlen(keys[k]) == (size_t)(sp - line) &&
			    memcmp(keys[k], line, (size_t)(sp - line)) == 0)
				break;
		v = sp < nl ? sp + 1 : nl;
		vn = (size_t)(nl - v);
		if (k == K_N) {
			why = "unknown key";
			goto bad;
		}
		if ((int)k < state || ((int)k == state && k != K_LAYER &&
		    k != K_EP && k != K_CMD && k != K_ENV)) {
			why = "a key out of order or repeated";
			goto bad;
		}
		if ((int)k > state + 1 && (state < K_CONFIG || k <= K_CONFIG)) {
			why = "a line missing before it";
			goto bad;
		}
		state = (int)k;
		switch (k) {
		case K_MAGIC:
			if (vn != 1 || v[0] != '1') {
				why = "not version 1";
				goto bad;
			}
			break;
		case K_END:
			if (sp != nl) {
				why = "\"end\" with a value";
				goto bad;
			}
			break;
		case K_MANIFEST:
		case K_CONFIG:
			if (meta_digest(v, vn, k == K_MANIFEST ? mt->manifest :
			    mt->config) == -1) {
				why = "not sha256:<64 lowercase hex>";
				goto bad;
			}
			break;
		case K_LAYER: {
			const char	*s1, *s2;
			void		*p;

			if (mt->nlayers >= OCI_MAXLAYERS) {
				why = "too many layers";
				goto bad;
			}
			if ((p = reallocarray(mt->layers, mt->nlayers + 1,
			    sizeof(*mt->layers))) == NULL) {
				oom = 1;
				goto bad;
			}
			mt->layers = p;
			l = &mt->layers[mt->nlayers];
			why = "not \"layer DIGEST SIZE DIFFID\"";
			if ((s1 = memchr(v, ' ', vn)) == NULL ||
			    (s2 = memchr(s1 + 1, ' ', (size_t)(nl - s1 - 1))) ==
			    NULL ||
			    meta_digest(v, (size_t)(s1 - v), l->digest) == -1 ||
			    meta_u64(s1 + 1, (size_t)(s2 - s1 - 1), &l->size) ==
			    -1 ||
			    meta_digest(s2 + 1, (size_t)(nl - s2 - 1),
			    l->diffid) == -1)
				goto bad;
			mt->nlayers++;
			break;
		}
		default:
			if (++nstr > OCI_MAXSTRINGS) {
				why = "too many strings";
				goto bad;
			}
			if (sp == nl || (str = meta_string(v, vn, &oom)) ==
			    NULL) {
				why = "not an escaped string of at most 8192 "
				    "bytes";
				goto bad;
			}
			if (k == K_ENV && (str[0] == '=' ||
			    strchr(str, '=') == NULL)) {
				free(str);
				why = "env is not NAME=VALUE";
				goto bad;
			}
			if (k == K_WORKDIR)
				mt->workdir = str;
			else if (k == K_USER)
				mt->user = str;
			else if (metav_add(k == K_EP ? &mt->entrypoint :
			    k == K_CMD ? &mt->cmd : &mt->env, k == K_EP ?
			    &mt->nentrypoint : k == K_CMD ? &mt->ncmd :
			    &mt->nenv, str) == -1) {
				free(str);
				oom = 1;
				goto bad;
			}
			break;
		}
		line = nl + 1;
	}
	if (state != K_END) {
		ln++;
		why = "no \"end\" line (truncated)";
		goto bad;
	}
	/* empty vectors: NULL-terminated all the same */
	if ((mt->entrypoint == NULL && (mt->entrypoint = calloc(1,
	    sizeof(char *))) == NULL) || (mt->cmd == NULL && (mt->cmd =
	    calloc(1, sizeof(char *))) == NULL) || (mt->env == NULL &&
	    (mt->env = calloc(1, sizeof(char *))) == NULL)) {
		oom = 1;
		goto bad;
	}
	return 0;
 bad:
	if (oom)
		store_err(err, errlen, "%s: out of memory", name);
	else
		store_err(err, errlen, "%s:%zu: %s", name, ln, why);
	img_meta_free(mt);
	return -1;
}

static void
metav_free(char **v, size_t n)
{
	size_t	 i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
img_meta_free(struct img_meta *mt)
{
	free(mt->layers);
	metav_free(mt->entrypoint, mt->nentrypoint);
	metav_free(mt->cmd, mt->ncmd);
	metav_free(mt->env, mt->nenv);
	free(mt->workdir);
	free(mt->user);
	memset(mt, 0, sizeof(*mt));
}

int
imgstore_meta_get(int blobsfd, const char *digest, struct img_meta *mt,
    uint8_t raw[32], char *err, size_t errlen)
{
	struct stat	 st;
	char		 path[96], name[96];
	char		*buf;
	size_t		 have = 0;
	ssize_t		 r;
	int		 fd, rc;

	memset(mt, 0, sizeof(*mt));
	if (!ocispec_digest_ok(digest)) {
		store_err(err, errlen, "meta: not a digest");
		return -1;
	}
	snprintf(path, sizeof(path), "meta/%s", OCI_DIGEST_HEX(digest));
	snprintf(name, sizeof(name), "blobs/meta/%s",
	    OCI_DIGEST_HEX(digest));
	if ((fd = openat(blobsfd, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1) {
		store_err(err, errlen, "meta of %s: %s", digest,
		    errno == ENOENT ? "none (pull the image again)" :
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > IMG_META_MAX) {
		store_err(err, errlen, "%s: not a regular file of at most %u "
		    "bytes", name, IMG_META_MAX);
		close(fd);
		return -1;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		store_err(err, errlen, "out of memory");
		close(fd);
		return -1;
	}
	while (have <= (size_t)st.st_size && (r = read(fd, buf + have,
	    (size_t)st.st_size + 1 - have)) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			store_err(err, errlen, "%s: %s", name,
			    strerror(errno));
			free(buf);
			close(fd);
			return -1;
		}
		have += (size_t)r;
	}
	close(fd);
	if (have != (size_t)st.st_size) {
		store_err(err, errlen, "%s: changed while read", name);
		free(buf);
		return -1;
	}
	if (raw != NULL)
		crypto_hash_sha256(raw, (uint8_t *)buf, have);
	rc = imgstore_meta_parse(buf, have, name, mt, err, errlen);
	free(buf);
	if (rc == 0 && strcmp(mt->manifest, digest) != 0) {
		store_err(err, errlen, "%s:2: names manifest %s", name,
		    mt->manifest);
		img_meta_free(mt);
		return -1;
	}
	return rc;
}

int
imgstore_meta_find(const char *statedir, const char *ref, char *refout,
    struct img_meta *mt, uint8_t raw[32], char *err, size_t errlen)
{
	char	 path[PATH_MAX], digest[OCI_DIGEST_SIZE];
	int	 blobsfd = -1, refsfd = -1, rc = -1, r;

	memset(mt, 0, sizeof(*mt));
	refout[0] = '\0';
	if (ocispec_digest_ok(ref))
		strlcpy(digest, ref, sizeof(digest));
	else {
		if (imgstore_ref_norm(ref, refout, IMG_REF_SIZE) == -1) {
			store_err(err, errlen, "\"%.64s\" is neither NAME[:TAG] "
			    "nor sha256:<64 hex>", ref);
			goto done;
		}
		if (snprintf(path, sizeof(path), "%s/" IMG_REFDIR, statedir) >=
		    (int)sizeof(path) || (refsfd = open(path, O_RDONLY |
		    O_DIRECTORY | O_CLOEXEC)) == -1) {
			store_err(err, errlen, "the image store %s: %s", path,
			    strerror(errno));
			goto done;
		}
		if ((r = imgstore_ref_get(refsfd, refout, digest, err,
		    errlen)) == 1)
			store_err(err, errlen, "no image %s (lensctl pull it)",
			    refout);
		if (r != 0)
			goto done;
	}
	if (snprintf(path, sizeof(path), "%s/" IMG_BLOBDIR, statedir) >=
	    (int)sizeof(path) || (blobsfd = open(path, O_RDONLY |
	    O_DIRECTORY | O_CLOEXEC)) == -1) {
		store_err(err, errlen, "the image store %s: %s", path,
		    strerror(errno));
		goto done;
	}
	rc = imgstore_meta_get(blobsfd, digest, mt, raw, err, errlen);
 done:
	if (blobsfd != -1)
		close(blobsfd);
	if (refsfd != -1)
		close(refsfd);
	return rc;
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
