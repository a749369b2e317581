/*
 * The disks of a microvm sandbox, built in its jail process while it is
 * still root (before the VM process forks):
 *
 *	vda	the rootfs directory as a read-only file system image,
 *		erofs where mkfs.erofs is installed, else ext4
 *		(mkfs.ext4 -d), cached as CACHE/KEY.erofs or .ext4.  KEY
 *		is the sha256 of the tree: every entry's relative path,
 *		type, mode, owner, size, mtime, ctime and symlink target,
 *		so a changed file means a new image and an unchanged tree
 *		is reused.  Built into a temporary name (KEY.TYPE.PID)
 *		and renamed.
 *	vdb	a sparse ext4 image per sandbox: the overlay's upper layer
 *		inside the guest.
 *
 * The cache is bounded (lensvmm -C): after a build, and at lensvmm's
 * start, the least recently used images go until the images' disk
 * usage (st_blocks, ext4 images are sparse) is within the limit.  The
 * eviction after a build never removes the image just built, even alone
 * over the limit.  A cache hit sets the image's mtime to now: the mtime is the time of
 * last use (atime would depend on the mount's relatime).
 *
 * Locking: CACHE/KEY.lock, flock(2)ed exclusively around everything
 * done to KEY: lookup and open, build and rename, eviction (which only
 * tries, LOCK_NB, and skips a busy key).  So an image is never removed
 * between "it is there" and "it is open".  Once open, removing it is
 * harmless: the descriptor keeps the data, so an image a running VM
 * uses may be evicted.  A lock file is removed with its image (or when
 * a build fails), always by the process holding its lock; so whoever
 * gets the lock checks that its descriptor is still the file at the
 * lock's name and starts over if not (it waited on a removed file while
 * a newcomer locks a new one).  Keeping lock files forever instead
 * would leave one per key ever built.
 *
 * The tools run as root with a closed stdin, their output kept for the
 * error message (its last line).
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "lensvmm.h"

static const char *const erofs_tools[] = { "/usr/bin/mkfs.erofs",
    "/usr/sbin/mkfs.erofs", "/sbin/mkfs.erofs", "/bin/mkfs.erofs" };
static const char *const ext4_tools[] = { "/usr/sbin/mkfs.ext4",
    "/sbin/mkfs.ext4", "/usr/bin/mkfs.ext4", "/bin/mkfs.ext4" };

static const char *
tool(const char *const *list, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (access(list[i], X_OK) == 0)
			return list[i];
	return NULL;
}

const char *
diskimg_default_fstype(void)
{
	return tool(erofs_tools, 4) != NULL ? "erofs" : "ext4";
}

/* --- the key ------------------------------------------------------- */

static crypto_hash_sha256_state	 walk_hash;
static size_t			 walk_root;	/* strlen of the root */
static uint64_t			 walk_bytes, walk_files;
static int			 walk_errno;
static char			 walk_bad[PATH_MAX];

static void
hash_u64(uint64_t v)
{
	crypto_hash_sha256_update(&walk_hash, (unsigned char *)&v, sizeof(v));
}

static int
walk_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	char	 target[PATH_MAX];
	ssize_t	 n;

	(void)f;
	if (flag == FTW_NS || flag == FTW_DNR) {
		walk_errno = errno ? errno : EACCES;
		strlcpy(walk_bad, path, sizeof(walk_bad));
		return 1;
	}
	crypto_hash_sha256_update(&walk_hash, (const unsigned char *)path +
	    walk_root, strlen(path + walk_root) + 1);
	hash_u64(st->st_mode);
	hash_u64(st->st_uid);
	hash_u64(st->st_gid);
	hash_u64(st->st_size);
	hash_u64(st->st_rdev);
	hash_u64(st->st_mtim.tv_sec);
	hash_u64(st->st_mtim.tv_nsec);
	hash_u64(st->st_ctim.tv_sec);
	hash_u64(st->st_ctim.tv_nsec);
	if (S_ISLNK(st->st_mode)) {
		if ((n = readlink(path, target, sizeof(target))) == -1) {
			walk_errno = errno;
			strlcpy(walk_bad, path, sizeof(walk_bad));
			return 1;
		}
		crypto_hash_sha256_update(&walk_hash,
		    (unsigned char *)target, n);
	}
	walk_bytes += (uint64_t)st->st_blocks * 512 + 4096;
	walk_files++;
	return 0;
}

int
diskimg_key(const char *rootfs, const char *fstype, char key[65],
    uint64_t *bytes, char *err, size_t errlen)
{
	unsigned char	 md[crypto_hash_sha256_BYTES];
	struct stat	 st;
	int		 rc;

	if (stat(rootfs, &st) == -1) {
		snprintf(err, errlen, "rootfs %s: %s", rootfs,
		    strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "rootfs %s: not a directory", rootfs);
		return -1;
	}
	crypto_hash_sha256_init(&walk_hash);
	crypto_hash_sha256_update(&walk_hash, (const unsigned char *)fstype,
	    strlen(fstype) + 1);
	walk_root = strlen(rootfs);
	walk_bytes = walk_files = 0;
	walk_errno = 0;
	walk_bad[0] = '\0';
	rc = nftw(rootfs, walk_entry, 64, FTW_PHYS | FTW_MOUNT);
	if (rc != 0) {
		snprintf(err, errlen, "rootfs %s: %s", walk_bad[0] ? walk_bad :
		    rootfs, strerror(walk_errno ? walk_errno : errno));
		return -1;
	}
	crypto_hash_sha256_final(&walk_hash, md);
	sodium_bin2hex(key, 65, md, sizeof(md));
	if (bytes != NULL)
		*bytes = walk_bytes;
	return 0;
}

/* --- running the tools ------------------------------------------- */

/* run argv; 0 if it exited 0, else -1 with its last output line */
static int
run(char *const argv[], char *err, size_t errlen)
{
	char	 out[4096], *line, *nl;
	size_t	 have = 0;
	ssize_t	 n;
	pid_t	 pid;
	int	 p[2], st, fd;

	if (pipe2(p, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		if ((fd = open("/dev/null", O_RDONLY)) == -1 ||
		    dup2(fd, STDIN_FILENO) == -1 ||
		    dup2(p[1], STDOUT_FILENO) == -1 ||
		    dup2(p[1], STDERR_FILENO) == -1)
			_exit(127);
		execv(argv[0], argv);
		dprintf(STDERR_FILENO, "exec %s: %s\n", argv[0],
		    strerror(errno));
		_exit(127);
	}
	close(p[1]);
	/* keep the last sizeof(out) bytes */
	for (;;) {
		if (have == sizeof(out) - 1) {
			memmove(out, out + sizeof(out) / 2,
			    sizeof(out) - 1 - sizeof(out) / 2);
			have -= sizeof(out) / 2;
		}
		n = read(p[0], out + have, sizeof(out) - 1 - have);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += n;
	}
	close(p[0]);
	out[have] = '\0';
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR) {
			snprintf(err, errlen, "waitpid: %s", strerror(errno));
			return -1;
		}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	/* the last non-empty line */
	while (have > 0 && (out[have - 1] == '\n' || out[have - 1] == ' '))
		out[--have] = '\0';
	line = (nl = strrchr(out, '\n')) != NULL ? nl + 1 : out;
	if (WIFEXITED(st))
		snprintf(err, errlen, "%s failed (status %d)%s%s", argv[0],
		    WEXITSTATUS(st), *line ? ": " : "", line);
	else
		snprintf(err, errlen, "%s killed by signal %d", argv[0],
		    WTERMSIG(st));
	return -1;
}

static int
sparse_file(const char *path, uint64_t size, char *err, size_t errlen)
{
	int	 fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1) {
		snprintf(err, errlen, "create %s: %s", path, strerror(errno));
		return -1;
	}
	if (ftruncate(fd, (off_t)size) == -1) {
		snprintf(err, errlen, "%s: size %llu: %s", path,
		    (unsigned long long)size, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* erofs from src; ext4 of bytes (from src, or empty) */
static int
mkfs(const char *fstype, const char *src, const char *img, uint64_t bytes,
    char *err, size_t errlen)
{
	const char	*t;
	char		*argv[12];
	int		 n = 0;

	if (strcmp(fstype, "erofs") == 0) {
		if ((t = tool(erofs_tools, 4)) == NULL) {
			snprintf(err, errlen, "mkfs.erofs is not installed "
			    "(erofs-utils)");
			return -1;
		}
		argv[n++] = (char *)t;
		argv[n++] = (char *)img;
		argv[n++] = (char *)src;
		argv[n] = NULL;
		return run(argv, err, errlen);
	}
	if ((t = tool(ext4_tools, 4)) == NULL) {
		snprintf(err, errlen, "mkfs.ext4 is not installed "
		    "(e2fsprogs)");
		return -1;
	}
	bytes = (bytes + 4095) & ~4095ULL;
	if (sparse_file(img, bytes, err, errlen) == -1)
		return -1;
	argv[n++] = (char *)t;
	argv[n++] = (char *)"-q";
	argv[n++] = (char *)"-F";
	argv[n++] = (char *)"-E";
	argv[n++] = (char *)"nodiscard";
	/*
	 * No journal: the rootfs image is read-only, and the writable
	 * layer lives and dies with its sandbox.  A 2 GiB layer with a
	 * journal costs 66 MiB of disk per sandbox, without one 1 MiB.
	 */
	argv[n++] = (char *)"-O";
	argv[n++] = (char *)"^has_journal";
	if (src != NULL) {
		argv[n++] = (char *)"-d";
		argv[n++] = (char *)src;
	}
	argv[n++] = (char *)img;
	argv[n] = NULL;
	return run(argv, err, errlen);
}

/* --- the cache ----------------------------------------------------- */

enum { NAME_OTHER, NAME_IMAGE, NAME_LOCK, NAME_TMP };

/* what a cache entry is: KEY.TYPE, KEY.lock or KEY.TYPE.PID (*pid) */
static int
name_kind(const char *name, pid_t *pid)
{
	const char	*p, *errstr;
	size_t		 i;

	for (i = 0; i < 64; i++)
		if (!isxdigit((unsigned char)name[i]) ||
		    isupper((unsigned char)name[i]))
			return NAME_OTHER;
	p = name + 64;
	if (strcmp(p, ".lock") == 0)
		return NAME_LOCK;
	if (strncmp(p, ".erofs", 6) == 0)
		p += 6;
	else if (strncmp(p, ".ext4", 5) == 0)
		p += 5;
	else
		return NAME_OTHER;
	if (*p == '\0')
		return NAME_IMAGE;
	if (*p != '.' || !isdigit((unsigned char)p[1]))
		return NAME_OTHER;
	*pid = (pid_t)strtonum(p + 1, 1, INT_MAX, &errstr);
	return errstr == NULL ? NAME_TMP : NAME_OTHER;
}

/*
 * Lock the key of lock file path (how: LOCK_EX, or with LOCK_NB): the
 * descriptor, or -1 and errno (EWOULDBLOCK: busy).  Starts over when
 * the file it locked is no longer the one at path (see above).
 */
static int
lock_key(const char *path, int how)
{
	struct stat	 fst, pst;
	int		 fd, e;

	for (;;) {
		if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW |
		    O_CLOEXEC, 0600)) == -1)
			return -1;
		while (flock(fd, how) == -1)
			if (errno != EINTR) {
				e = errno;
				close(fd);
				errno = e;
				return -1;
			}
		if (fstat(fd, &fst) == -1) {
			e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (stat(path, &pst) == 0 && pst.st_dev == fst.st_dev &&
		    pst.st_ino == fst.st_ino)
			return fd;
		close(fd);
	}
}

/* is there an image of the key name starts with in directory dfd */
static int
has_image(int dfd, const char *name)
{
	struct stat	 st;
	char		 img[80];

	snprintf(img, sizeof(img), "%.64s.erofs", name);
	if (fstatat(dfd, img, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 1;
	snprintf(img, sizeof(img), "%.64s.ext4", name);
	return fstatat(dfd, img, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

struct cached {
	char		 name[72];	/* KEY.TYPE */
	struct timespec	 used;		/* mtime: built or last hit */
	uint64_t	 bytes;		/* st_blocks * 512 */
};

static int
cached_cmp(const void *va, const void *vb)
{
	const struct cached	*a = va, *b = vb;

	if (a->used.tv_sec != b->used.tv_sec)
		return a->used.tv_sec < b->used.tv_sec ? -1 : 1;
	if (a->used.tv_nsec != b->used.tv_nsec)
		return a->used.tv_nsec < b->used.tv_nsec ? -1 : 1;
	return strcmp(a->name, b->name);
}

/*
 * Remove the least recently used images of cachedir until they use at
 * most limit bytes; never keep (an image's name, or NULL), nor an image
 * whose key is locked.  Each removal is logged.  The number removed, or
 * -1 (logged) if cachedir cannot be read.
 */
int
diskimg_evict(const char *cachedir, uint64_t limit, const char *keep)
{
	struct cached	*c = NULL, *t;
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	char		 lock[PATH_MAX];
	uint64_t	 total = 0, kept = 0;
	size_t		 n = 0, max = 0, i;
	pid_t		 pid;
	int		 dfd, lfd, removed = 0;

	if ((d = opendir(cachedir)) == NULL) {
		log_warn("image cache %s", cachedir);
		return -1;
	}
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		if (name_kind(de->d_name, &pid) != NAME_IMAGE ||
		    fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISREG(st.st_mode))
			continue;
		total += (uint64_t)st.st_blocks * 512;
		if (keep != NULL && strcmp(de->d_name, keep) == 0) {
			kept = (uint64_t)st.st_blocks * 512;
			continue;
		}
		if (n == max) {
			if ((t = reallocarray(c, max + 64, sizeof(*c))) ==
			    NULL) {
				log_warn("image cache %s", cachedir);
				break;
			}
			c = t;
			max += 64;
		}
		strlcpy(c[n].name, de->d_name, sizeof(c[n].name));
		c[n].used = st.st_mtim;
		c[n].bytes = (uint64_t)st.st_blocks * 512;
		n++;
	}
	if (n > 0)
		qsort(c, n, sizeof(*c), cached_cmp);
	for (i = 0; i < n && total > limit; i++) {
		snprintf(lock, sizeof(lock), "%s/%.64s.lock", cachedir,
		    c[i].name);
		if ((lfd = lock_key(lock, LOCK_EX | LOCK_NB)) == -1) {
			if (errno == EWOULDBLOCK)
				log_info("image cache: %s is busy, kept",
				    c[i].name);
			else
				log_warn("image cache: lock %s", lock);
			continue;
		}
		if (fstatat(dfd, c[i].name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
			if (errno != ENOENT) {
				log_warn("image cache: %s/%s", cachedir,
				    c[i].name);
				close(lfd);
				continue;
			}
			total -= c[i].bytes;	/* another one removed it */
		} else if (st.st_mtim.tv_sec != c[i].used.tv_sec ||
		    st.st_mtim.tv_nsec != c[i].used.tv_nsec) {
			/* used since: no longer the least recent */
			close(lfd);
			continue;
		} else if (unlinkat(dfd, c[i].name, 0) == -1) {
			log_warn("image cache: remove %s/%s", cachedir,
			    c[i].name);
			close(lfd);
			continue;
		} else {
			total -= c[i].bytes;
			removed++;
			log_info("image cache: removed %s (%llu KiB, least "
			    "recently used)", c[i].name,
			    (unsigned long long)(c[i].bytes >> 10));
		}
		/* no image: its lock file goes too, while locked */
		(void)unlink(lock);
		close(lfd);
	}
	if (kept > limit)
		log_warnx("image cache: %s alone uses %llu KiB, over the "
		    "limit of %llu KiB; kept, it is in use", keep,
		    (unsigned long long)(kept >> 10),
		    (unsigned long long)(limit >> 10));
	else if (total > limit)
		log_warnx("image cache: %llu KiB, over the limit of %llu KiB: "
		    "the rest is in use", (unsigned long long)(total >> 10),
		    (unsigned long long)(limit >> 10));
	free(c);
	closedir(d);
	return removed;
}

/*
 * At lensvmm's start: remove what interrupted builds left (temporary
 * images of processes that are gone, lock files of keys without an
 * image that nobody holds), then evict down to limit.
 */
int
diskimg_cache_clean(const char *cachedir, uint64_t limit)
{
	struct dirent	*de;
	DIR		*d;
	char		 path[PATH_MAX];
	pid_t		 pid;
	int		 lfd;

	if ((d = opendir(cachedir)) == NULL) {
		log_warn("image cache %s", cachedir);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		switch (name_kind(de->d_name, &pid)) {
		case NAME_TMP:
			if (kill(pid, 0) == 0 || errno != ESRCH)
				break;
			if (unlinkat(dirfd(d), de->d_name, 0) == -1)
				log_warn("image cache: remove %s/%s",
				    cachedir, de->d_name);
			else
				log_info("image cache: removed %s, left by "
				    "process %d", de->d_name, (int)pid);
			break;
		case NAME_LOCK:
			snprintf(path, sizeof(path), "%s/%s", cachedir,
			    de->d_name);
			if ((lfd = lock_key(path, LOCK_EX | LOCK_NB)) == -1)
				break;		/* busy: a build */
			if (!has_image(dirfd(d), de->d_name)) {
				if (unlink(path) == -1)
					log_warn("image cache: remove %s",
					    path);
				else
					log_info("image cache: removed %s, "
					    "a lock without an image",
					    de->d_name);
			}
			close(lfd);
			break;
		}
	}
	closedir(d);
	return diskimg_evict(cachedir, limit, NULL);
}

/*
 * The image of rootfs in cachedir (created 0700 if missing), open
 * read-only: the descriptor, its path in path, whether it was already
 * there in *cached.  After a build the cache is evicted down to limit
 * bytes.  -1 with err on failure.
 */
int
diskimg_rootfs(const char *cachedir, uint64_t limit, const char *rootfs,
    const char *fstype, char *path, size_t pathlen, int *cached, char *err,
    size_t errlen)
{
	static const struct timespec used[2] = { { 0, UTIME_OMIT },
	    { 0, UTIME_NOW } };
	char		 key[65], lock[PATH_MAX], tmp[PATH_MAX];
	uint64_t	 bytes;
	struct stat	 st;
	int		 fd, lfd, rc;

	*cached = 0;
	if (strcmp(fstype, "erofs") != 0 && strcmp(fstype, "ext4") != 0) {
		snprintf(err, errlen, "image type %s: want erofs or ext4",
		    fstype);
		return -1;
	}
	if (diskimg_key(rootfs, fstype, key, &bytes, err, errlen) == -1)
		return -1;
	if (mkdir(cachedir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "mkdir %s: %s", cachedir,
		    strerror(errno));
		return -1;
	}
	if ((size_t)snprintf(path, pathlen, "%s/%s.%s", cachedir, key,
	    fstype) >= pathlen ||
	    (size_t)snprintf(lock, sizeof(lock), "%s/%s.lock", cachedir, key)
	    >= sizeof(lock) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/%s.%s.%d", cachedir, key,
	    fstype, (int)getpid()) >= sizeof(tmp)) {
		snprintf(err, errlen, "image cache %s: path too long",
		    cachedir);
		return -1;
	}
	if ((lfd = lock_key(lock, LOCK_EX)) == -1) {
		snprintf(err, errlen, "lock %s: %s", lock, strerror(errno));
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) != -1) {
		if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
			snprintf(err, errlen, "%s: not a regular file", path);
			close(fd);
			close(lfd);
			return -1;
		}
		/* a use: least recently used goes first */
		if (futimens(fd, used) == -1)
			log_warn("image cache: %s: set mtime", path);
		*cached = 1;
		close(lfd);
		return fd;
	}
	if (errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(lfd);
		return -1;
	}
	/* ext4: room for the tree and its metadata */
	rc = mkfs(fstype, rootfs, tmp, bytes + bytes / 4 + (32ULL << 20),
	    err, errlen);
	if (rc == 0 && rename(tmp, path) == -1) {
		snprintf(err, errlen, "rename %s: %s", tmp, strerror(errno));
		rc = -1;
	}
	if (rc == 0 && (fd = open(path, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		(void)unlink(path);
		rc = -1;
	}
	if (rc == -1) {
		char	 e2[512];

		snprintf(e2, sizeof(e2), "rootfs %s: %s image: %s", rootfs,
		    fstype, err);
		strlcpy(err, e2, errlen);
		(void)unlink(tmp);
		(void)unlink(lock);	/* no image: see above */
		close(lfd);
		return -1;
	}
	close(lfd);
	(void)diskimg_evict(cachedir, limit, strrchr(path, '/') + 1);
	return fd;
}

/* a fresh, empty, sparse ext4 image of size bytes at path */
int
diskimg_scratch(const char *path, uint64_t size, char *err, size_t errlen)
{
	char	 e2[512];

	if (size < (8ULL << 20)) {
		snprintf(err, errlen, "writable layer %s: %llu bytes is too "
		    "small", path, (unsigned long long)size);
		return -1;
	}
	if (mkfs("ext4", NULL, path, size, err, errlen) == -1) {
		snprintf(e2, sizeof(e2), "writable layer %s: %s", path, err);
		strlcpy(err, e2, errlen);
		(void)unlink(path);
		return -1;
	}
	return 0;
}
