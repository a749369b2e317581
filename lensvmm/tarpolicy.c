/*
 * The tar entry policy of image layers: what a header may ask for and
 * what it becomes.  No I/O: layer.c acts on the verdict, and
 * regress/fuzz/tarpolicy.c fuzzes it.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "layer.h"

#define WH_PREFIX	".wh."
#define WH_META		".wh..wh."
#define WH_OPAQUE	".wh..wh..opq"

static int
tperr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
tperr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

int
layer_digest_ok(const char *d)
{
	size_t	 i;

	if (strncmp(d, "sha256:", 7) != 0)
		return 0;
	for (i = 7; i < LAYER_DIGEST_LEN; i++)
		if (!((d[i] >= '0' && d[i] <= '9') || (d[i] >= 'a' &&
		    d[i] <= 'f')))
			return 0;
	return d[LAYER_DIGEST_LEN] == '\0';
}

/*
 * in, a tar path, as a relative path without '.', empty or trailing
 * components: "./a//b/" is "a/b", "./" is "".  Absolute paths and '..'
 * components are refused, not rewritten: no well-formed layer has them.
 */
static int
normalize(const char *in, char *out, size_t outsize, const char *what,
    char *err, size_t errlen)
{
	const char	*p = in, *q;
	size_t		 n, len = 0;

	if (in[0] == '\0')
		return tperr(err, errlen, "empty %s", what);
	if (in[0] == '/')
		return tperr(err, errlen, "absolute %s", what);
	if (strlen(in) >= LAYER_PATHMAX)
		return tperr(err, errlen, "%s longer than %d bytes", what,
		    LAYER_PATHMAX - 1);
	while (*p != '\0') {
		if ((q = strchr(p, '/')) == NULL)
			q = p + strlen(p);
		n = (size_t)(q - p);
		if (n == 0 || (n == 1 && p[0] == '.'))
			;
		else if (n == 2 && p[0] == '.' && p[1] == '.')
			return tperr(err, errlen, "a '..' component in the %s",
			    what);
		else if (n > LAYER_NAMEMAX)
			return tperr(err, errlen, "a component of the %s "
			    "longer than %d bytes", what, LAYER_NAMEMAX);
		else {
			if (len + (len > 0) + n >= outsize)
				return tperr(err, errlen, "%s too long", what);
			if (len > 0)
				out[len++] = '/';
			memcpy(out + len, p, n);
			len += n;
		}
		p = *q == '/' ? q + 1 : q;
	}
	out[len] = '\0';
	return 0;
}

int
tarpolicy_check(const struct tp_entry *e, const struct layer_limits *lim,
    struct tp_verdict *v, char *err, size_t errlen)
{
	const char	*leaf;
	char		*slash;
	size_t		 plen;
	uint32_t	 fmt = e->mode & S_IFMT;

	memset(v, 0, sizeof(*v));
	if (e->path == NULL)
		return tperr(err, errlen, "no path");
	if (normalize(e->path, v->path, sizeof(v->path), "path", err,
	    errlen) == -1)
		return -1;
	leaf = (slash = strrchr(v->path, '/')) != NULL ? slash + 1 : v->path;
	plen = slash != NULL ? (size_t)(slash - v->path) : 0;

	/* whiteouts: what the name says, whatever the entry's type */
	if (strncmp(leaf, WH_PREFIX, strlen(WH_PREFIX)) == 0) {
		const char	*hid = leaf + strlen(WH_PREFIX);

		if (strcmp(leaf, WH_OPAQUE) == 0) {
			v->type = TP_OPAQUE;
			v->path[plen] = '\0';
			return 0;
		}
		if (strncmp(leaf, WH_META, strlen(WH_META)) == 0) {
			/* aufs's own files (.wh..wh.plnk, ...): not content */
			v->type = TP_DROP;
			return 0;
		}
		if (hid[0] == '\0' || strcmp(hid, ".") == 0 ||
		    strcmp(hid, "..") == 0 || strchr(hid, '/') != NULL)
			return tperr(err, errlen, "a whiteout of '%s'", hid);
		v->type = TP_WHITEOUT;
		memmove(v->path + plen + (plen > 0), hid, strlen(hid) + 1);
		return 0;
	}

	if (e->hardlink) {
		if (e->link == NULL)
			return tperr(err, errlen, "a hard link without a "
			    "target");
		if (normalize(e->link, v->link, sizeof(v->link),
		    "hard link target", err, errlen) == -1)
			return -1;
		if (v->link[0] == '\0')
			return tperr(err, errlen, "a hard link to the layer "
			    "root");
		if (v->path[0] == '\0')
			return tperr(err, errlen, "a hard link as the layer "
			    "root");
		if (strcmp(v->link, v->path) == 0)
			return tperr(err, errlen, "a hard link to itself");
		v->type = TP_HARDLINK;
		return 0;
	}

	switch (fmt) {
	case S_IFREG:
		if (e->size < 0 || (uint64_t)e->size > lim->max_file)
			return tperr(err, errlen, "a file of %lld bytes, over "
			    "the limit of %llu", (long long)e->size,
			    (unsigned long long)lim->max_file);
		v->type = TP_FILE;
		break;
	case S_IFDIR:
		v->type = v->path[0] == '\0' ? TP_ROOT : TP_DIR;
		break;
	case S_IFLNK:
		if (e->link == NULL || e->link[0] == '\0')
			return tperr(err, errlen, "a symbolic link without a "
			    "target");
		if (strlen(e->link) >= LAYER_PATHMAX)
			return tperr(err, errlen, "a symbolic link target "
			    "longer than %d bytes", LAYER_PATHMAX - 1);
		/* copied as it is: never followed out of the layer */
		memcpy(v->link, e->link, strlen(e->link) + 1);
		v->type = TP_SYMLINK;
		break;
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
	case S_IFSOCK:
		v->type = TP_DROP;
		return 0;
	default:
		return tperr(err, errlen, "an entry of unknown type %#o",
		    (unsigned)fmt);
	}
	if (v->type != TP_ROOT && v->path[0] == '\0')
		return tperr(err, errlen, "a non-directory as the layer root");
	/* setuid and setgid never; the sticky bit on directories only */
	v->perm = e->mode & (v->type == TP_DIR ? 01777 : 0777);
	v->setid = (e->mode & (v->type == TP_DIR ? 06000 : 07000)) != 0 &&
	    v->type != TP_SYMLINK;
	return 0;
}

int
tarpolicy_xattr_ok(const char *name, size_t size)
{
	if (size > LAYER_XATTRMAX)
		return 0;
	if (strncmp(name, "user.", 5) != 0 || name[5] == '\0')
		return 0;
	/* overlayfs reads user.overlay.* (whiteouts, opaque, redirects) */
	return strncmp(name, "user.overlay.", 13) != 0;
}

int
layer_path(const char *statedir, const char *diffid, char *buf, size_t size)
{
	int	 n;

	if (!layer_digest_ok(diffid))
		return -1;
	n = snprintf(buf, size, "%s/%s/sha256/%s", statedir, LAYER_DIR,
	    diffid + 7);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}
