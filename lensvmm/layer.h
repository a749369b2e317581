/*
 * Image layers: the cache of unpacked layers under the store
 * (layers/sha256/<diffid hex>/, made as layers/tmp/<hex>.<pid> and
 * renamed), the tar entry policy, and the unpacker the `image' child
 * runs (imagechild.c).  See lensvmm.8, IMAGE LAYERS.
 */
#ifndef LENSVMM_LAYER_H
#define LENSVMM_LAYER_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#define LAYER_DIR		"layers"	/* under the state directory */
#define LAYER_DIGEST_LEN	71		/* "sha256:" + 64 hex */
#define LAYER_PATHMAX		4096		/* an entry's path, with NUL */
#define LAYER_NAMEMAX		255		/* one component */
#define LAYER_XATTRMAX		65536		/* one xattr's value */

/* the defaults of lensvmm -L, -E and -F */
#define LAYER_MAX_BYTES		(8ULL << 30)	/* uncompressed layer */
#define LAYER_MAX_ENTRIES	500000ULL
#define LAYER_MAX_FILE		(4ULL << 30)	/* one file */

/* overlayfs (mounted with userxattr) reads these */
#define LAYER_XATTR_OPAQUE	"user.overlay.opaque"
#define LAYER_XATTR_WHITEOUT	"user.overlay.whiteout"

struct layer_limits {
	uint64_t	 max_bytes;	/* the uncompressed tar stream */
	uint64_t	 max_entries;
	uint64_t	 max_file;	/* one file's size, sparse or not */
};

struct layer_stats {
	uint64_t	 entries;
	uint64_t	 bytes;		/* of the uncompressed tar stream */
	uint64_t	 files, dirs, symlinks, hardlinks, whiteouts;
	uint64_t	 dropped;	/* devices, fifos, sockets */
	uint64_t	 setid;		/* setuid/setgid/sticky bits cleared */
	uint64_t	 xattrs_dropped;
};

/* --- the tar entry policy (tarpolicy.c: no I/O, fuzzed) ---------------- */

enum tp_type {
	TP_FILE = 1,
	TP_DIR,
	TP_SYMLINK,
	TP_HARDLINK,
	TP_WHITEOUT,	/* path: what the whiteout hides */
	TP_OPAQUE,	/* path: the opaque directory ("" the layer root) */
	TP_ROOT,	/* the layer root's own entry ("./"): nothing to do */
	TP_DROP,	/* a device, fifo or socket, or aufs metadata */
};

struct tp_entry {
	const char	*path;		/* as the tar header has it */
	const char	*link;		/* hard link or symlink target, or NULL */
	int		 hardlink;	/* link is a hard link's target */
	uint32_t	 mode;		/* st_mode: type and permissions */
	int64_t		 size;		/* the file's (real) size */
};

struct tp_verdict {
	enum tp_type	 type;
	char		 path[LAYER_PATHMAX];	/* relative, normalized */
	char		 link[LAYER_PATHMAX];	/* hard link: normalized */
	uint32_t	 perm;			/* permissions to set */
	int		 setid;			/* bits were cleared */
};

/*
 * Decide what an entry becomes.  0 and *v filled, or -1 and why in err
 * (the caller names the entry).  Refused: absolute paths, '..'
 * components, over-long paths or components, whiteouts of '.', '..' or
 * a whiteout name, hard links that leave the layer, files over
 * lim->max_file, unknown types.
 */
int	tarpolicy_check(const struct tp_entry *, const struct layer_limits *,
	    struct tp_verdict *, char *err, size_t errlen);
/* an xattr kept: user.* but not user.overlay.* (overlayfs's own) */
int	tarpolicy_xattr_ok(const char *name, size_t size);
/* "sha256:" and 64 lowercase hex digits */
int	layer_digest_ok(const char *);

/* --- the cache ----------------------------------------------------------- */

/* statedir/layers/sha256/<hex> of diffid; -1 for a bad diffid or size */
int	layer_path(const char *statedir, const char *diffid, char *buf,
	    size_t size);

/*
 * Unpack the layer blob (gzip, zstd or plain tar) read from blobfd into
 * layersfd's sha256/<hex of diffid>, through tmp/ and a rename, checking
 * the uncompressed stream against diffid.  Already there: 0 at once.
 * -1 with err naming the entry and what was wrong; nothing is left
 * behind.  Every path is resolved beneath the new layer directory.
 */
int	layer_unpack(int blobfd, int layersfd, const char *diffid,
	    const struct layer_limits *, struct layer_stats *, char *err,
	    size_t errlen);
/* remove what earlier unpacks left in layersfd's tmp/ (a crash) */
void	layer_clean_tmp(int layersfd);
/* remove the tree name under dirfd without following symbolic links */
int	layer_rmtree(int dirfd, const char *name);

/* --- the image child (imagechild.c), from the parent -------------------- */

#define VMM_IMAGE_USER		"_lensimg"

extern struct layer_limits layer_limits;	/* -L, -E, -F */
/* the layer cache's directories, the image child forked (event_init done) */
void	image_start(void);
/* SIGCHLD: 1 if pid was the image child (fatal unless quiet) */
int	image_reaped(pid_t pid, int status, int quiet);
void	image_stop(void);
int	image_running(void);
/*
 * Unpack every layer of the stored image ref (NAME[:TAG] or manifest
 * digest) not yet in the cache, one after another in the image child;
 * then done(arg, NULL), or done(arg, why) at the first that fails.
 */
void	image_unpack(const char *ref, void (*done)(void *, const char *),
	    void *arg);

/* imagerun.c, the jail process: the layers of c mounted (idmapped,
 * read-only) under lower; opt the overlayfs lowerdir list, top first */
struct jail_conf;
int	image_lowers(const struct jail_conf *c, const char *lower, char *opt,
	    size_t optlen, char *err, size_t errlen);

#endif
