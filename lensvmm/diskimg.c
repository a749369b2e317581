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
 *		is reused.  Built into a temporary name and renamed; a
 *		lock file per key keeps two sandboxes from building it
 *		twice.
 *	vdb	a sparse ext4 image per sandbox: the overlay's upper layer
 *		inside the guest.
 *
 * The tools run as root with a closed stdin, their output kept for the
 * error message (its last line).
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	size_t		 i;
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
	for (i = 0; i < sizeof(md); i++)
		snprintf(key + 2 * i, 3, "%02x", md[i]);
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
	if (src != NULL) {
		argv[n++] = (char *)"-d";
		argv[n++] = (char *)src;
	}
	argv[n++] = (char *)img;
	argv[n] = NULL;
	return run(argv, err, errlen);
}

/*
 * The image of rootfs in cachedir (created 0700 if missing): its path
 * in path, whether it was already there in *cached.
 */
int
diskimg_rootfs(const char *cachedir, const char *rootfs, const char *fstype,
    char *path, size_t pathlen, int *cached, char *err, size_t errlen)
{
	char		 key[65], lock[PATH_MAX], tmp[PATH_MAX];
	uint64_t	 bytes;
	struct stat	 st;
	int		 lfd, rc;

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
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
		*cached = 1;
		return 0;
	}
	if ((lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1) {
		snprintf(err, errlen, "%s: %s", lock, strerror(errno));
		return -1;
	}
	while (flock(lfd, LOCK_EX) == -1)
		if (errno != EINTR) {
			snprintf(err, errlen, "lock %s: %s", lock,
			    strerror(errno));
			close(lfd);
			return -1;
		}
	/* another sandbox may have built it while we waited */
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
		*cached = 1;
		rc = 0;
		goto out;
	}
	/* ext4: room for the tree, its metadata and the journal */
	rc = mkfs(fstype, rootfs, tmp, bytes + bytes / 4 + (32ULL << 20),
	    err, errlen);
	if (rc == 0 && rename(tmp, path) == -1) {
		snprintf(err, errlen, "rename %s: %s", tmp, strerror(errno));
		rc = -1;
	}
	if (rc == -1) {
		char	 e2[512];

		snprintf(e2, sizeof(e2), "rootfs %s: %s image: %s", rootfs,
		    fstype, err);
		strlcpy(err, e2, errlen);
		(void)unlink(tmp);
	}
out:
	(void)unlink(lock);
	close(lfd);
	return rc;
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
