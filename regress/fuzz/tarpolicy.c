/*
 * libFuzzer target for lensvmm/tarpolicy.c, the tar entry policy of
 * image layers.  The input: a mode word, a size, a hard-link flag,
 * then the path and the link target separated by a NUL.  Checks what
 * an accepted entry promises: a relative path without '.', '..' or
 * empty components, within the length limits; a hard link's target
 * likewise; no setuid or setgid bit; a file within the size limit.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lensvmm/layer.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_rel(const char *p, int may_be_empty)
{
	const char	*c = p, *q;
	size_t		 n;

	if (strlen(p) >= LAYER_PATHMAX)
		abort();
	if (*p == '\0') {
		if (!may_be_empty)
			abort();
		return;
	}
	if (*p == '/')
		abort();
	for (;;) {
		q = strchr(c, '/');
		n = q != NULL ? (size_t)(q - c) : strlen(c);
		if (n == 0 || n > LAYER_NAMEMAX || (n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.'))
			abort();
		if (q == NULL)
			break;
		c = q + 1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	struct layer_limits	 lim = { 1 << 20, 100, 4096 };
	static struct tp_verdict v;
	struct tp_entry		 e;
	char			 err[256], *s, *link;
	uint32_t		 mode;
	int64_t			 size;

	if (len < 13)
		return 0;
	memcpy(&mode, buf, 4);
	memcpy(&size, buf + 4, 8);
	if ((s = malloc(len - 13 + 2)) == NULL)
		abort();
	memcpy(s, buf + 13, len - 13);
	s[len - 13] = s[len - 12] = '\0';
	link = s + strlen(s) + 1;
	if (link > s + len - 13)
		link = s + len - 13;
	memset(&e, 0, sizeof(e));
	e.path = s;
	e.link = (buf[12] & 2) ? NULL : link;
	e.hardlink = buf[12] & 1;
	e.mode = mode;
	e.size = size;
	err[0] = '\0';
	if (tarpolicy_check(&e, &lim, &v, err, sizeof(err)) == -1) {
		if (err[0] == '\0')
			abort();
	} else {
		switch (v.type) {
		case TP_ROOT:
		case TP_OPAQUE:
			check_rel(v.path, 1);
			break;
		case TP_DROP:
			break;
		case TP_HARDLINK:
			check_rel(v.path, 0);
			check_rel(v.link, 0);
			break;
		case TP_FILE:
			if (size < 0 || (uint64_t)size > lim.max_file)
				abort();
			/* FALLTHROUGH */
		case TP_DIR:
		case TP_SYMLINK:
		case TP_WHITEOUT:
			check_rel(v.path, 0);
			if (v.perm & 06000)
				abort();
			break;
		default:
			abort();
		}
		if (v.type == TP_WHITEOUT) {
			const char *leaf = strrchr(v.path, '/');

			leaf = leaf ? leaf + 1 : v.path;
			if (strncmp(leaf, ".wh.", 4) == 0)
				abort();
		}
	}
	(void)tarpolicy_xattr_ok(s, len);
	if (tarpolicy_xattr_ok(s, 0) && strncmp(s, "user.overlay.", 13) == 0)
		abort();
	free(s);
	return 0;
}
