/*
 * Unpacking an image layer: libarchive reads the blob (gzip, zstd or a
 * plain tar) twice over, nested: a raw reader undoes the compression,
 * its bytes are hashed (the diff id is the sha256 of the uncompressed
 * tar), counted (-L) and fed to a tar reader.  Each entry goes through
 * tarpolicy_check(), then is made relative to the new layer directory
 * with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS |
 * RESOLVE_NO_XDEV): no path, symbolic link or hard link reaches out of
 * it.  Whiteouts become overlayfs's xattr whiteouts (a zero-size file
 * with user.overlay.whiteout in a directory with user.overlay.opaque
 * "x"), opaque directories user.overlay.opaque "y": the jail mounts
 * the layers with userxattr; the unprivileged image child can set
 * neither a 0/0 device nor trusted.* xattrs.
 *
 * Runs in the image child (imagechild.c) and in regress/tools/layerunpack.
 */
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/xattr.h>

#include <linux/openat2.h>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layer.h"

#define RAW_BLOCK	(128 * 1024)
#define RESOLVE		(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | \
			 RESOLVE_NO_XDEV)

struct dirmode {
	char		*path;
	uint32_t	 perm;
	struct timespec	 mtime;
};

struct unpack {
	struct archive		*raw, *tar;
	const struct layer_limits *lim;
	struct layer_stats	*st;
	crypto_hash_sha256_state sha;
	int			 root;		/* the new layer directory */
	uint64_t		 budget;	/* file bytes left (max_bytes) */
	int			 overflow;	/* the stream passed max_bytes */
	int			 rawerr;
	char			 rawmsg[160];
	struct dirmode		*dirs;
	size_t			 ndirs, dirscap;
	char			 buf[RAW_BLOCK];
};

static int
lerr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
lerr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int
openat2_beneath(int dirfd, const char *path, int flags)
{
	struct open_how	 how;

	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)flags | O_CLOEXEC;
	how.resolve = RESOLVE;
	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

/* errno of a failed resolution, in words */
static const char *
resolve_why(int e)
{
	switch (e) {
	case EXDEV:
		return "its path leaves the layer (through a symbolic link "
		    "or a mount)";
	case ELOOP:
		return "too many symbolic links in its path";
	case ENOTDIR:
		return "a non-directory in its path";
	default:
		return strerror(e);
	}
}

/* --- the raw stream: decompressed, hashed, counted ----------------------- */

static la_ssize_t
raw_read(struct archive *a, void *arg, const void **buf)
{
	struct unpack	*u = arg;
	la_ssize_t	 n;

	(void)a;
	*buf = u->buf;
	if (u->overflow || u->rawerr)
		return -1;
	if ((n = archive_read_data(u->raw, u->buf, sizeof(u->buf))) < 0) {
		u->rawerr = 1;
		snprintf(u->rawmsg, sizeof(u->rawmsg), "%s",
		    archive_error_string(u->raw) ? archive_error_string(u->raw)
		    : "read error");
		return -1;
	}
	u->st->bytes += (uint64_t)n;
	if (u->st->bytes > u->lim->max_bytes) {
		u->overflow = 1;
		if (a != NULL)
			archive_set_error(a, EFBIG, "over the size limit");
		return -1;
	}
	crypto_hash_sha256_update(&u->sha, (const unsigned char *)u->buf,
	    (unsigned long long)n);
	return n;
}

/* the rest of the stream after the tar's end, for the digest */
static int
raw_drain(struct unpack *u)
{
	const void	*b;
	la_ssize_t	 n;

	while ((n = raw_read(NULL, u, &b)) > 0)
		;
	return n == 0 ? 0 : -1;
}

/* --- paths --------------------------------------------------------------- */

/*
 * The directory that holds path (relative, normalized), opened O_RDONLY
 * beneath the layer; missing directories are made when create is set.
 * *leaf points into path.
 */
static int
open_parent(struct unpack *u, const char *path, int create, const char **leaf,
    char *err, size_t errlen)
{
	char		 dir[LAYER_PATHMAX];
	const char	*slash;
	char		*p;
	int		 fd, pfd;

	if ((slash = strrchr(path, '/')) == NULL) {
		*leaf = path;
		if ((fd = dup(u->root)) == -1)
			return lerr(err, errlen, "dup: %s", strerror(errno));
		return fd;
	}
	*leaf = slash + 1;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	if ((fd = openat2_beneath(u->root, dir, O_RDONLY | O_DIRECTORY)) != -1)
		return fd;
	if (errno != ENOENT || !create)
		return lerr(err, errlen, "%s", resolve_why(errno));
	/* make what is missing, one component at a time */
	for (p = dir;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		{
			char	 c = *p;
			char	*name;

			*p = '\0';
			fd = openat2_beneath(u->root, dir, O_RDONLY |
			    O_DIRECTORY);
			if (fd == -1 && errno == ENOENT) {
				name = strrchr(dir, '/');
				if (name != NULL) {
					*name = '\0';
					pfd = openat2_beneath(u->root, dir,
					    O_RDONLY | O_DIRECTORY);
					*name = '/';
					name++;
				} else {
					pfd = dup(u->root);
					name = dir;
				}
				if (pfd == -1)
					return lerr(err, errlen, "%s",
					    resolve_why(errno));
				if (mkdirat(pfd, name, 0755) == -1 &&
				    errno != EEXIST) {
					close(pfd);
					return lerr(err, errlen, "mkdir %s: %s",
					    dir, strerror(errno));
				}
				close(pfd);
				fd = openat2_beneath(u->root, dir, O_RDONLY |
				    O_DIRECTORY);
			}
			*p = c;
			if (fd == -1)
				return lerr(err, errlen, "%s",
				    resolve_why(errno));
			if (c == '\0')
				return fd;
			close(fd);
		}
	}
}

/*
 * Make room for a new entry leaf in pfd: a non-directory there goes (a
 * later entry replaces an earlier one); a directory is refused.
 */
static int
replace(int pfd, const char *leaf, char *err, size_t errlen)
{
	struct stat	 sb;

	if (fstatat(pfd, leaf, &sb, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? 0 : lerr(err, errlen, "stat: %s",
		    strerror(errno));
	if (S_ISDIR(sb.st_mode))
		return lerr(err, errlen, "it replaces a directory");
	if (unlinkat(pfd, leaf, 0) == -1)
		return lerr(err, errlen, "unlink: %s", strerror(errno));
	return 0;
}

/* --- entries ------------------------------------------------------------- */

static void
set_xattrs(struct unpack *u, struct archive_entry *ae, int fd)
{
	const char	*name;
	const void	*val;
	size_t		 size;

	archive_entry_xattr_reset(ae);
	while (archive_entry_xattr_next(ae, &name, &val, &size) ==
	    ARCHIVE_OK) {
		if (!tarpolicy_xattr_ok(name, size) ||
		    fsetxattr(fd, name, val, size, 0) == -1)
			u->st->xattrs_dropped++;
	}
}

static int
write_file(struct unpack *u, struct archive_entry *ae,
    const struct tp_verdict *v, int pfd, const char *leaf, char *err,
    size_t errlen)
{
	struct timespec	 ts[2];
	const void	*buf;
	size_t		 len;
	la_int64_t	 off;
	int64_t		 size = archive_entry_size(ae);
	int		 fd, r;

	if ((uint64_t)size > u->budget)
		return lerr(err, errlen, "a file of %lld bytes, over what the "
		    "size limit leaves (%llu)", (long long)size,
		    (unsigned long long)u->budget);
	u->budget -= (uint64_t)size;
	if (replace(pfd, leaf, err, errlen) == -1)
		return -1;
	if ((fd = openat(pfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1)
		return lerr(err, errlen, "create: %s", strerror(errno));
	while ((r = archive_read_data_block(u->tar, &buf, &len, &off)) ==
	    ARCHIVE_OK) {
		if (off < 0 || (uint64_t)off + len > (uint64_t)size) {
			close(fd);
			return lerr(err, errlen, "data past its size");
		}
		while (len > 0) {
			ssize_t	 n = pwrite(fd, buf, len, off);

			if (n <= 0) {
				close(fd);
				return lerr(err, errlen, "write: %s",
				    n == 0 ? "no progress" : strerror(errno));
			}
			buf = (const char *)buf + n;
			len -= (size_t)n;
			off += n;
		}
	}
	if (r != ARCHIVE_EOF) {
		close(fd);
		return lerr(err, errlen, "its data: %s", u->overflow ?
		    "the layer is over its size limit" :
		    archive_error_string(u->tar));
	}
	/* sparse files: their holes at the end */
	if (ftruncate(fd, size) == -1) {
		close(fd);
		return lerr(err, errlen, "truncate: %s", strerror(errno));
	}
	set_xattrs(u, ae, fd);
	ts[0].tv_sec = ts[1].tv_sec = archive_entry_mtime(ae);
	ts[0].tv_nsec = ts[1].tv_nsec = archive_entry_mtime_nsec(ae);
	if (fchmod(fd, v->perm) == -1 || futimens(fd, ts) == -1) {
		close(fd);
		return lerr(err, errlen, "chmod: %s", strerror(errno));
	}
	close(fd);
	u->st->files++;
	return 0;
}

static int
make_dir(struct unpack *u, struct archive_entry *ae, const struct tp_verdict *v,
    int pfd, const char *leaf, char *err, size_t errlen)
{
	struct dirmode	*dm;
	struct stat	 sb;
	int		 fd;

	if (fstatat(pfd, leaf, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	    !S_ISDIR(sb.st_mode) && unlinkat(pfd, leaf, 0) == -1)
		return lerr(err, errlen, "unlink: %s", strerror(errno));
	/* owner rwx until the end: entries go in there */
	if (mkdirat(pfd, leaf, 0700) == -1 && errno != EEXIST)
		return lerr(err, errlen, "mkdir: %s", strerror(errno));
	if ((fd = openat(pfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return lerr(err, errlen, "open: %s", strerror(errno));
	if (fchmod(fd, 0700 | v->perm) == -1) {
		close(fd);
		return lerr(err, errlen, "chmod: %s", strerror(errno));
	}
	set_xattrs(u, ae, fd);
	close(fd);
	if (u->ndirs == u->dirscap) {
		size_t	 n = u->dirscap ? u->dirscap * 2 : 256;

		if ((dm = reallocarray(u->dirs, n, sizeof(*dm))) == NULL)
			return lerr(err, errlen, "out of memory");
		u->dirs = dm;
		u->dirscap = n;
	}
	dm = &u->dirs[u->ndirs];
	if ((dm->path = strdup(v->path)) == NULL)
		return lerr(err, errlen, "out of memory");
	dm->perm = v->perm;
	dm->mtime.tv_sec = archive_entry_mtime(ae);
	dm->mtime.tv_nsec = archive_entry_mtime_nsec(ae);
	u->ndirs++;
	u->st->dirs++;
	return 0;
}

static int
make_symlink(struct unpack *u, struct archive_entry *ae,
    const struct tp_verdict *v, int pfd, const char *leaf, char *err,
    size_t errlen)
{
	struct timespec	 ts[2];

	if (replace(pfd, leaf, err, errlen) == -1)
		return -1;
	if (symlinkat(v->link, pfd, leaf) == -1)
		return lerr(err, errlen, "symlink: %s", strerror(errno));
	ts[0].tv_sec = ts[1].tv_sec = archive_entry_mtime(ae);
	ts[0].tv_nsec = ts[1].tv_nsec = archive_entry_mtime_nsec(ae);
	(void)utimensat(pfd, leaf, ts, AT_SYMLINK_NOFOLLOW);
	u->st->symlinks++;
	return 0;
}

static int
make_hardlink(struct unpack *u, const struct tp_verdict *v, int pfd,
    const char *leaf, char *err, size_t errlen)
{
	struct stat	 sb;
	const char	*tleaf;
	char		 why[200];
	int		 tfd;

	if ((tfd = open_parent(u, v->link, 0, &tleaf, why, sizeof(why))) ==
	    -1)
		return lerr(err, errlen, "hard link target %s: %s", v->link,
		    why);
	if (fstatat(tfd, tleaf, &sb, AT_SYMLINK_NOFOLLOW) == -1) {
		close(tfd);
		return lerr(err, errlen, "hard link target %s: %s", v->link,
		    errno == ENOENT ? "not in this layer" : strerror(errno));
	}
	if (S_ISDIR(sb.st_mode)) {
		close(tfd);
		return lerr(err, errlen, "hard link to the directory %s",
		    v->link);
	}
	if (replace(pfd, leaf, err, errlen) == -1 ||
	    linkat(tfd, tleaf, pfd, leaf, 0) == -1) {
		if (errno != 0 && err[0] == '\0')
			lerr(err, errlen, "link: %s", strerror(errno));
		close(tfd);
		return -1;
	}
	close(tfd);
	u->st->hardlinks++;
	return 0;
}

/* mark dir opaque ("y"), or as holding xattr whiteouts ("x") */
static int
mark_dir(int fd, const char *how, char *err, size_t errlen)
{
	char	 cur[4];
	ssize_t	 n;

	n = fgetxattr(fd, LAYER_XATTR_OPAQUE, cur, sizeof(cur));
	if (n == 1 && cur[0] == 'y')
		return 0;
	if (fsetxattr(fd, LAYER_XATTR_OPAQUE, how, 1, 0) == -1)
		return lerr(err, errlen, "set %s: %s", LAYER_XATTR_OPAQUE,
		    strerror(errno));
	return 0;
}

static int
make_whiteout(struct unpack *u, int pfd, const char *leaf, char *err,
    size_t errlen)
{
	int	 fd;

	if (replace(pfd, leaf, err, errlen) == -1)
		return -1;
	/* user.* xattrs need write permission, even the owner's */
	if ((fd = openat(pfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1)
		return lerr(err, errlen, "create: %s", strerror(errno));
	if (fsetxattr(fd, LAYER_XATTR_WHITEOUT, "", 0, 0) == -1 ||
	    fchmod(fd, 0) == -1) {
		close(fd);
		return lerr(err, errlen, "set %s: %s", LAYER_XATTR_WHITEOUT,
		    strerror(errno));
	}
	close(fd);
	u->st->whiteouts++;
	return mark_dir(pfd, "x", err, errlen);
}

static int
make_opaque(struct unpack *u, const char *path, char *err, size_t errlen)
{
	char	 sub[LAYER_PATHMAX + 4];
	const char *leaf;
	int	 fd, r;

	if (path[0] == '\0')
		return mark_dir(u->root, "y", err, errlen);
	/* open_parent of path/x is path itself, made if missing */
	snprintf(sub, sizeof(sub), "%s/x", path);
	if ((fd = open_parent(u, sub, 1, &leaf, err, errlen)) == -1)
		return -1;
	r = mark_dir(fd, "y", err, errlen);
	close(fd);
	return r;
}

static int
entry(struct unpack *u, struct archive_entry *ae, char *err, size_t errlen)
{
	struct tp_entry		 e;
	static struct tp_verdict v;
	const char		*leaf;
	int			 pfd, r = -1;

	memset(&e, 0, sizeof(e));
	e.path = archive_entry_pathname(ae);
	if ((e.link = archive_entry_hardlink(ae)) != NULL)
		e.hardlink = 1;
	else
		e.link = archive_entry_symlink(ae);
	e.mode = archive_entry_mode(ae);
	e.size = archive_entry_size(ae);
	if (tarpolicy_check(&e, u->lim, &v, err, errlen) == -1)
		return -1;
	if (v.setid)
		u->st->setid++;
	switch (v.type) {
	case TP_ROOT:
		return 0;
	case TP_DROP:
		u->st->dropped++;
		return 0;
	case TP_OPAQUE:
		return make_opaque(u, v.path, err, errlen);
	default:
		break;
	}
	if ((pfd = open_parent(u, v.path, 1, &leaf, err, errlen)) == -1)
		return -1;
	switch (v.type) {
	case TP_FILE:
		r = write_file(u, ae, &v, pfd, leaf, err, errlen);
		break;
	case TP_DIR:
		r = make_dir(u, ae, &v, pfd, leaf, err, errlen);
		break;
	case TP_SYMLINK:
		r = make_symlink(u, ae, &v, pfd, leaf, err, errlen);
		break;
	case TP_HARDLINK:
		err[0] = '\0';
		r = make_hardlink(u, &v, pfd, leaf, err, errlen);
		break;
	case TP_WHITEOUT:
		r = make_whiteout(u, pfd, leaf, err, errlen);
		break;
	default:
		r = lerr(err, errlen, "unhandled entry type %d", v.type);
		break;
	}
	close(pfd);
	return r;
}

/* directories' own modes and times, deepest first (sorted: reverse) */
static int
finish_dirs(struct unpack *u, char *err, size_t errlen)
{
	struct timespec	 ts[2];
	size_t		 i;
	int		 fd;

	for (i = u->ndirs; i-- > 0;) {
		struct dirmode	*dm = &u->dirs[i];

		if ((fd = openat2_beneath(u->root, dm->path, O_RDONLY |
		    O_DIRECTORY | O_NOFOLLOW)) == -1) {
			if (errno == ENOENT || errno == ENOTDIR ||
			    errno == ELOOP)
				continue;	/* replaced by a later entry */
			return lerr(err, errlen, "entry %s: %s", dm->path,
			    resolve_why(errno));
		}
		ts[0] = ts[1] = dm->mtime;
		if (fchmod(fd, dm->perm) == -1 || futimens(fd, ts) == -1) {
			close(fd);
			return lerr(err, errlen, "entry %s: chmod: %s",
			    dm->path, strerror(errno));
		}
		close(fd);
	}
	return 0;
}

static int
cmp_dirs(const void *a, const void *b)
{
	return strcmp(((const struct dirmode *)a)->path,
	    ((const struct dirmode *)b)->path);
}

static int
unpack_stream(struct unpack *u, int blobfd, const char *diffid, char *err,
    size_t errlen)
{
	struct archive_entry	*ae;
	unsigned char		 md[crypto_hash_sha256_BYTES];
	char			 hex[2 * crypto_hash_sha256_BYTES + 1];
	char			 why[LAYER_PATHMAX + 256];
	int			 r;

	if ((u->raw = archive_read_new()) == NULL ||
	    (u->tar = archive_read_new()) == NULL)
		return lerr(err, errlen, "out of memory");
	archive_read_support_filter_gzip(u->raw);
	archive_read_support_filter_zstd(u->raw);
	archive_read_support_format_raw(u->raw);
	archive_read_support_format_tar(u->tar);
	if (archive_read_open_fd(u->raw, blobfd, RAW_BLOCK) != ARCHIVE_OK ||
	    archive_read_next_header(u->raw, &ae) != ARCHIVE_OK)
		return lerr(err, errlen, "layer blob: %s",
		    archive_error_string(u->raw));
	if (archive_filter_code(u->raw, 0) != ARCHIVE_FILTER_NONE &&
	    archive_filter_code(u->raw, 0) != ARCHIVE_FILTER_GZIP &&
	    archive_filter_code(u->raw, 0) != ARCHIVE_FILTER_ZSTD)
		return lerr(err, errlen, "layer blob: compressed with %s, "
		    "not gzip or zstd", archive_filter_name(u->raw, 0));
	crypto_hash_sha256_init(&u->sha);
	if (archive_read_open(u->tar, u, NULL, raw_read, NULL) != ARCHIVE_OK)
		goto bad;
	for (;;) {
		r = archive_read_next_header(u->tar, &ae);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
			goto bad;
		if (++u->st->entries > u->lim->max_entries)
			return lerr(err, errlen, "layer has more than %llu "
			    "entries (at %s)", (unsigned long long)
			    u->lim->max_entries, archive_entry_pathname(ae));
		if (entry(u, ae, why, sizeof(why)) == -1)
			return lerr(err, errlen, "entry %s: %s",
			    archive_entry_pathname(ae) ?
			    archive_entry_pathname(ae) : "(no name)", why);
	}
	if (raw_drain(u) == -1)
		goto bad;
	crypto_hash_sha256_final(&u->sha, md);
	sodium_bin2hex(hex, sizeof(hex), md, sizeof(md));
	if (strcmp(hex, diffid + 7) != 0)
		return lerr(err, errlen, "layer content is sha256:%s, not %s",
		    hex, diffid);
	if (u->ndirs > 0)
		qsort(u->dirs, u->ndirs, sizeof(*u->dirs), cmp_dirs);
	return finish_dirs(u, err, errlen);
bad:
	if (u->overflow)
		return lerr(err, errlen, "layer is over the size limit of %llu "
		    "bytes uncompressed", (unsigned long long)u->lim->max_bytes);
	if (u->rawerr)
		return lerr(err, errlen, "layer blob: %s", u->rawmsg);
	return lerr(err, errlen, "layer tar: %s",
	    archive_error_string(u->tar) ? archive_error_string(u->tar) :
	    "unreadable");
}

int
layer_rmtree(int dfd, const char *name)
{
	DIR		*d;
	struct dirent	*de;
	int		 fd, r = 0;

	if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -1;
	if ((fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return -1;
	(void)fchmod(fd, 0700);	/* ours, maybe 0555 from the layer */
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (layer_rmtree(dirfd(d), de->d_name) == -1)
			r = -1;
	}
	closedir(d);
	if (unlinkat(dfd, name, AT_REMOVEDIR) == -1 && errno != ENOENT)
		r = -1;
	return r;
}

void
layer_clean_tmp(int layersfd)
{
	DIR		*d;
	struct dirent	*de;
	int		 fd;

	if ((fd = openat(layersfd, "tmp", O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			(void)layer_rmtree(dirfd(d), de->d_name);
	closedir(d);
}

int
layer_unpack(int blobfd, int layersfd, const char *diffid,
    const struct layer_limits *lim, struct layer_stats *st, char *err,
    size_t errlen)
{
	struct unpack	*u;
	struct stat	 sb;
	char		 tmp[128], final[128];
	size_t		 i;
	int		 r = -1;

	memset(st, 0, sizeof(*st));
	if (!layer_digest_ok(diffid))
		return lerr(err, errlen, "bad diff id");
	snprintf(final, sizeof(final), "sha256/%s", diffid + 7);
	if (fstatat(layersfd, final, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(sb.st_mode))
		return 0;
	snprintf(tmp, sizeof(tmp), "tmp/%s.%ld", diffid + 7, (long)getpid());
	(void)layer_rmtree(layersfd, tmp);
	if (mkdirat(layersfd, tmp, 0700) == -1)
		return lerr(err, errlen, "mkdir %s: %s", tmp, strerror(errno));
	if ((u = calloc(1, sizeof(*u))) == NULL) {
		(void)layer_rmtree(layersfd, tmp);
		return lerr(err, errlen, "out of memory");
	}
	u->lim = lim;
	u->st = st;
	u->budget = lim->max_bytes;
	if ((u->root = openat(layersfd, tmp, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1)
		lerr(err, errlen, "open %s: %s", tmp, strerror(errno));
	else if (unpack_stream(u, blobfd, diffid, err, errlen) == 0) {
		if (fchmod(u->root, 0755) == -1 || syncfs(u->root) == -1)
			lerr(err, errlen, "%s: %s", tmp, strerror(errno));
		else if (renameat(layersfd, tmp, layersfd, final) == 0)
			r = 0;
		else if (errno == EEXIST || errno == ENOTEMPTY)
			r = 0;	/* another unpack of it won */
		else
			lerr(err, errlen, "rename to %s: %s", final,
			    strerror(errno));
	}
	if (u->tar != NULL)
		archive_read_free(u->tar);
	if (u->raw != NULL)
		archive_read_free(u->raw);
	if (u->root != -1)
		close(u->root);
	for (i = 0; i < u->ndirs; i++)
		free(u->dirs[i].path);
	free(u->dirs);
	free(u);
	(void)layer_rmtree(layersfd, tmp);	/* gone when renamed */
	return r;
}
