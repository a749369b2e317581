/*
 * lensvmm's `image' child: unpacks image layers (layer.c) into the
 * layer cache, layers/sha256/<diff id>/ under the state directory.  It
 * runs as _lensimg, chrooted into layers/ (the only part of the store
 * it writes; it reads no other), without capabilities, under an
 * allow-list seccomp filter without socket or connect: no network.
 *
 * The parent sends one IMSG_IMG_UNPACK per layer, with the verified
 * blob opened as the descriptor; the child answers IMSG_IMG_DONE with
 * the counts or the error naming the entry.  The parent side (below the
 * child's) queues the layers of an image, one at a time, and checks
 * every answer against what it asked.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imgstore.h"
#include "imsgev.h"
#include "layer.h"
#include "log.h"
#include "lensvmm.h"
#include "parent.h"
#include "privsep.h"
#include "seccomp_filter.h"

enum image_imsg {
	IMSG_IMG_UNPACK = 0x49000001,	/* parent: struct img_unpack, fd blob */
	IMSG_IMG_DONE,			/* image: struct img_done */
	IMSG_IMG_MANIFEST,		/* parent: struct img_verify, fd */
	IMSG_IMG_CONFIG,		/* parent: struct img_verify, fd */
	IMSG_IMG_VERIFIED,		/* image: struct img_verified */
};

/*
 * Before its layers, an image's manifest and config blobs are read by
 * the child, checked against their digests and parsed; it answers the
 * SHA-256 of the meta text they make (imgstore_meta_make), which the
 * parent compares with its meta file's: the meta the fetch process
 * wrote is what the blobs say, and the parent parsed no JSON.
 */
struct img_verify {
	uint32_t		 id;
	char			 digest[OCI_DIGEST_SIZE];
};

struct img_verified {
	uint32_t		 id;
	int32_t			 ok;
	uint8_t			 hash[32];
	char			 msg[600];
};

struct img_unpack {
	char			 diffid[LAYER_DIGEST_LEN + 1];
	uint8_t			 pad;
	uint32_t		 id;
	struct layer_limits	 lim;
};

struct img_done {
	uint32_t		 id;
	int32_t			 ok;
	struct layer_stats	 st;
	char			 diffid[LAYER_DIGEST_LEN + 1];
	char			 msg[LAYER_PATHMAX + 512];
};

/* --- the child ------------------------------------------------------------ */

static const struct sandbox_syscall image_syscalls[] = {
	SB_ALLOW(read), SB_ALLOW(write), SB_ALLOW(close), SB_ALLOW(lseek),
	SB_ALLOW(pread64), SB_ALLOW(pwrite64),
	SB_ALLOW(recvmsg), SB_ALLOW(sendmsg),
	SB_ALLOW(epoll_wait), SB_ALLOW(epoll_pwait), SB_ALLOW(epoll_ctl),
	SB_ALLOW(poll), SB_ALLOW(rt_sigprocmask), SB_ALLOW(rt_sigaction),
	SB_ALLOW(clock_gettime), SB_ALLOW(gettimeofday), SB_ALLOW(getpid),
	SB_ALLOW(brk), SB_ALLOW(mmap), SB_ALLOW(munmap), SB_ALLOW(mremap),
	SB_ALLOW(madvise), SB_ALLOW(futex), SB_ALLOW(getrandom),
	SB_ALLOW(fcntl), SB_ALLOW(fstat), SB_ALLOW(newfstatat), SB_ALLOW(dup),
	/* the layer tree: no socket, connect, mknod, chown */
	SB_ALLOW(openat), SB_ALLOW(openat2), SB_ALLOW(mkdirat),
	SB_ALLOW(unlinkat), SB_ALLOW(symlinkat), SB_ALLOW(linkat),
	SB_ALLOW(renameat), SB_ALLOW(renameat2), SB_ALLOW(getdents64),
	SB_ALLOW(fchmod), SB_ALLOW(utimensat), SB_ALLOW(ftruncate),
	SB_ALLOW(fsetxattr), SB_ALLOW(fgetxattr), SB_ALLOW(syncfs),
};

static struct proc_chan	 pchan;
static int		 layersfd = -1;

static void
child_unpack(struct imsg *im, void *arg)
{
	struct img_unpack	 u;
	static struct img_done	 d;
	int			 fd = im->fd;

	(void)arg;
	im->fd = -1;
	memcpy(&u, im->data, sizeof(u));
	memset(&d, 0, sizeof(d));
	d.id = u.id;
	memcpy(d.diffid, u.diffid, sizeof(d.diffid));
	u.diffid[LAYER_DIGEST_LEN] = '\0';
	if (fd == -1)
		snprintf(d.msg, sizeof(d.msg), "no layer blob");
	else if (!layer_digest_ok(u.diffid))
		snprintf(d.msg, sizeof(d.msg), "bad diff id");
	else if (layer_unpack(fd, layersfd, u.diffid, &u.lim, &d.st, d.msg,
	    sizeof(d.msg)) == 0)
		d.ok = 1;
	if (fd != -1)
		close(fd);
	if (!d.ok)
		log_debug("layer %s: %s", u.diffid, d.msg);
	if (imsgev_compose(&pchan.iev, IMSG_IMG_DONE, 0, 0, -1, &d,
	    sizeof(d)) == -1)
		fatal("compose");
}

static struct oci_manifest	 vman;
static char			 vmdigest[OCI_DIGEST_SIZE];
static uint32_t			 vid;
static char			 verr[600];

static void
child_manifest(struct imsg *im, void *arg)
{
	struct img_verify	 v;
	void			*buf = NULL;
	size_t			 len;
	char			 e2[512];
	int			 fd = im->fd;

	(void)arg;
	im->fd = -1;
	memcpy(&v, im->data, sizeof(v));
	v.digest[sizeof(v.digest) - 1] = '\0';
	ocispec_manifest_free(&vman);
	memset(&vman, 0, sizeof(vman));
	vid = 0;
	strlcpy(vmdigest, v.digest, sizeof(vmdigest));
	if (fd == -1)
		snprintf(e2, sizeof(e2), "no manifest blob");
	else if (imgstore_read_fd(fd, v.digest, OCI_JSON_MAX, &buf, &len, e2,
	    sizeof(e2)) == 0) {
		if (ocispec_manifest_parse(buf, len, &vman, e2,
		    sizeof(e2)) == 0)
			vid = v.id;
	}
	free(buf);
	if (fd != -1)
		close(fd);
	if (vid == 0)
		snprintf(verr, sizeof(verr), "manifest %s: %s", v.digest, e2);
}

static void
child_config(struct imsg *im, void *arg)
{
	struct img_verify	 v;
	static struct img_verified vd;
	struct oci_config	 cfg;
	void			*buf = NULL;
	char			*text;
	size_t			 len;
	int			 fd = im->fd;

	(void)arg;
	im->fd = -1;
	memcpy(&v, im->data, sizeof(v));
	v.digest[sizeof(v.digest) - 1] = '\0';
	memset(&vd, 0, sizeof(vd));
	memset(&cfg, 0, sizeof(cfg));
	vd.id = v.id;
	if (vid != v.id || fd == -1)
		strlcpy(vd.msg, vid != v.id ? verr : "no config blob",
		    sizeof(vd.msg));
	else if (strcmp(v.digest, vman.config.digest) != 0)
		snprintf(vd.msg, sizeof(vd.msg), "manifest %s names config %s, "
		    "not %s", vmdigest, vman.config.digest, v.digest);
	else if (imgstore_read_fd(fd, v.digest, OCI_JSON_MAX, &buf, &len,
	    vd.msg, sizeof(vd.msg)) == 0) {
		char	 e2[512];

		if (ocispec_config_parse(buf, len, &cfg, e2, sizeof(e2)) ==
		    -1 || ocispec_config_matches(&vman, &cfg, e2,
		    sizeof(e2)) == -1)
			snprintf(vd.msg, sizeof(vd.msg), "config %s: %s",
			    v.digest, e2);
		else if (imgstore_meta_make(vmdigest, &vman, &cfg, &text, &len,
		    vd.msg, sizeof(vd.msg)) == 0) {
			crypto_hash_sha256(vd.hash, (uint8_t *)text, len);
			free(text);
			vd.ok = 1;
		}
	}
	free(buf);
	ocispec_config_free(&cfg);
	if (fd != -1)
		close(fd);
	if (imsgev_compose(&pchan.iev, IMSG_IMG_VERIFIED, 0, 0, -1, &vd,
	    sizeof(vd)) == -1)
		fatal("compose");
}

static void
child_lost(struct proc_chan *ch, const char *why)
{
	(void)ch;
	if (strcmp(why, "gone") == 0)
		exit(0);
	fatalx("parent: %s", why);
}

static const struct proc_msg child_msgs[] = {
	PROC_MSG_FD(IMSG_IMG_UNPACK, sizeof(struct img_unpack), child_unpack),
	PROC_MSG_FD(IMSG_IMG_MANIFEST, sizeof(struct img_verify),
	    child_manifest),
	PROC_MSG_FD(IMSG_IMG_CONFIG, sizeof(struct img_verify), child_config),
};

static void
image_preinit(void *arg)
{
	(void)arg;
	if (sodium_init() == -1)
		fatalx("sodium_init");
	json_object_seed(0);	/* /dev/urandom, before the chroot */
}

static void
image_init(void *arg)
{
	int	 fd = *(int *)arg;

	if ((layersfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		fatal("open the layer cache");
	layer_clean_tmp(layersfd);
	proc_chan_init(&pchan, fd, "parent", child_msgs,
	    sizeof(child_msgs) / sizeof(child_msgs[0]), NULL);
	pchan.lost = child_lost;
	imsgev_add(&pchan.iev);
}

struct image_conf {
	char		 root[PATH_MAX];
	pid_t		 parent;
};

static int
image_main(int fd, void *arg)
{
	struct image_conf		*c = arg;
	const struct proc_role		 role = {
		.name = "image",
		.root = c->root,
		PROC_SECCOMP(image_syscalls),
		.preinit = image_preinit,
		.init = image_init,
	};
	struct privsep_user		 u;
	char				 err[256];

	if (privsep_user(VMM_IMAGE_USER, &u, err, sizeof(err)) == -1)
		fatalx("%s", err);
	return proc_start(&role, &u, c->parent, &fd);
}

/* --- the parent ----------------------------------------------------------- */

struct image_job {
	TAILQ_ENTRY(image_job)	 entry;
	char			 ref[IMG_REF_SIZE];
	struct img_meta		 mt;		/* never image JSON */
	uint8_t			 raw[32];	/* its meta file's hash */
	int			 verified;	/* the child said so */
	size_t			 next;		/* layer in the child */
	uint32_t		 id;
	void			(*done)(void *, const char *);
	void			*arg;
};

static TAILQ_HEAD(, image_job)	 jobs = TAILQ_HEAD_INITIALIZER(jobs);
static struct proc_child	 imgproc = { .name = "image", .fd = -1 };
static struct proc_chan		 ichan;
static struct image_conf	 iconf;
static uint32_t			 nextid;
static int			 have_image;
struct layer_limits		 layer_limits = { LAYER_MAX_BYTES,
				    LAYER_MAX_ENTRIES, LAYER_MAX_FILE };

static void	job_next(void);
static void	image_fork(void);

static void
job_end(struct image_job *j, const char *err)
{
	TAILQ_REMOVE(&jobs, j, entry);
	j->done(j->arg, err);
	img_meta_free(&j->mt);
	free(j);
	job_next();
}

/* a blob of the store opened, or -1 with err */
static int
blob_open(const char *digest, char *err, size_t errlen)
{
	char	 path[PATH_MAX + 128];
	int	 fd;

	if (imgstore_blob_path(statedir, digest, path, sizeof(path)) == -1 ||
	    (fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "blob %s: %s", digest, strerror(errno));
		return -1;
	}
	return fd;
}

static uint32_t
job_id(struct image_job *j)
{
	if (++nextid == 0)
		nextid = 1;
	return j->id = nextid;
}

/* the first job's manifest and config to the child, to verify */
static void
job_verify(struct image_job *j)
{
	struct img_verify	 v;
	char			 err[600];
	int			 mfd, cfd;

	if ((mfd = blob_open(j->mt.manifest, err, sizeof(err))) == -1) {
		job_end(j, err);
		return;
	}
	if ((cfd = blob_open(j->mt.config, err, sizeof(err))) == -1) {
		close(mfd);
		job_end(j, err);
		return;
	}
	memset(&v, 0, sizeof(v));
	v.id = job_id(j);
	strlcpy(v.digest, j->mt.manifest, sizeof(v.digest));
	if (imsgev_compose(&ichan.iev, IMSG_IMG_MANIFEST, 0, 0, mfd, &v,
	    sizeof(v)) == -1)
		fatal("image: compose");
	strlcpy(v.digest, j->mt.config, sizeof(v.digest));
	if (imsgev_compose(&ichan.iev, IMSG_IMG_CONFIG, 0, 0, cfd, &v,
	    sizeof(v)) == -1)
		fatal("image: compose");
}

/* send the first job's next layer, or end it when all are unpacked */
static void
job_next(void)
{
	struct image_job	*j;
	struct img_unpack	 u;
	char			 err[600];
	int			 fd;

	if ((j = TAILQ_FIRST(&jobs)) == NULL || j->id != 0)
		return;		/* idle, or a request in the child */
	if (!j->verified) {
		job_verify(j);
		return;
	}
	if (j->next == j->mt.nlayers) {
		job_end(j, NULL);
		return;
	}
	if ((fd = blob_open(j->mt.layers[j->next].digest, err,
	    sizeof(err))) == -1) {
		job_end(j, err);
		return;
	}
	memset(&u, 0, sizeof(u));
	strlcpy(u.diffid, j->mt.layers[j->next].diffid, sizeof(u.diffid));
	u.lim = layer_limits;
	u.id = job_id(j);
	if (imsgev_compose(&ichan.iev, IMSG_IMG_UNPACK, 0, 0, fd, &u,
	    sizeof(u)) == -1)
		fatal("image: compose");
}

static void
parent_verified(struct imsg *im, void *arg)
{
	struct image_job	*j = TAILQ_FIRST(&jobs);
	static struct img_verified vd;
	char			 err[sizeof(vd.msg) + 200];

	(void)arg;
	memcpy(&vd, im->data, sizeof(vd));
	vd.msg[sizeof(vd.msg) - 1] = '\0';
	if (j == NULL || j->id == 0 || j->verified || vd.id != j->id) {
		proc_chan_fail(&ichan, "an answer to nothing it was asked");
		return;
	}
	j->id = 0;
	if (!vd.ok) {
		snprintf(err, sizeof(err), "image %s: %s", j->mt.manifest,
		    vd.msg);
		log_warnx("%s", err);
		job_end(j, err);
		return;
	}
	if (sodium_memcmp(vd.hash, j->raw, sizeof(j->raw)) != 0) {
		snprintf(err, sizeof(err), "image %s: its meta file "
		    "blobs/meta/%s is not what its manifest and config say "
		    "(pull it again)", j->mt.manifest,
		    OCI_DIGEST_HEX(j->mt.manifest));
		log_warnx("%s", err);
		job_end(j, err);
		return;
	}
	j->verified = 1;
	job_next();
}

static void
parent_done(struct imsg *im, void *arg)
{
	struct image_job	*j = TAILQ_FIRST(&jobs);
	static struct img_done	 d;
	char			 err[sizeof(d.msg) + 200];

	(void)arg;
	memcpy(&d, im->data, sizeof(d));
	d.diffid[sizeof(d.diffid) - 1] = '\0';
	d.msg[sizeof(d.msg) - 1] = '\0';
	if (j == NULL || j->id == 0 || !j->verified || d.id != j->id ||
	    strcmp(d.diffid, j->mt.layers[j->next].diffid) != 0) {
		proc_chan_fail(&ichan, "an answer to nothing it was asked");
		return;
	}
	j->id = 0;
	if (!d.ok) {
		snprintf(err, sizeof(err), "layer %s (diff id %s): %s",
		    j->mt.layers[j->next].digest, d.diffid, d.msg);
		log_warnx("image %s: %s", j->mt.manifest, err);
		job_end(j, err);
		return;
	}
	if (d.st.entries > 0)
		log_info("layer %s unpacked: %llu entries, %llu bytes",
		    d.diffid, (unsigned long long)d.st.entries,
		    (unsigned long long)d.st.bytes);
	j->next++;
	job_next();
}

static const struct proc_msg parent_msgs[] = {
	PROC_MSG(IMSG_IMG_DONE, sizeof(struct img_done), parent_done),
	PROC_MSG(IMSG_IMG_VERIFIED, sizeof(struct img_verified),
	    parent_verified),
};

static void
parent_lost(struct proc_chan *ch, const char *why)
{
	(void)ch;
	/* the child ended: SIGCHLD says why; anything else kills it */
	if (strcmp(why, "gone") != 0 && strcmp(why, "read failed") != 0) {
		log_warnx("image: %s; killing it", why);
		if (imgproc.pid > 0)
			kill(imgproc.pid, SIGKILL);
	}
}

static void
layers_dir(const char *sub, mode_t mode, const struct privsep_user *u)
{
	char	 path[PATH_MAX + 32];
	int	 fd;

	snprintf(path, sizeof(path), "%s/%s", statedir, sub);
	if (mkdir(path, mode) == -1 && errno != EEXIST)
		fatal("mkdir %s", path);
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		fatal("open %s", path);
	if ((u != NULL && fchown(fd, u->uid, u->gid) == -1) ||
	    fchmod(fd, mode) == -1)
		fatal("chown %s", path);
	close(fd);
}

void
image_start(void)
{
	struct privsep_user	 u;
	char			 err[256];

	if (privsep_user(VMM_IMAGE_USER, &u, err, sizeof(err)) == -1) {
		log_warnx("%s: no image is unpacked (make users)", err);
		return;
	}
	layers_dir(LAYER_DIR, 0755, NULL);
	layers_dir(LAYER_DIR "/sha256", 0755, &u);
	layers_dir(LAYER_DIR "/tmp", 0700, &u);
	if ((size_t)snprintf(iconf.root, sizeof(iconf.root), "%s/%s",
	    statedir, LAYER_DIR) >= sizeof(iconf.root))
		fatalx("state directory path too long");
	iconf.parent = getpid();
	image_fork();
	have_image = 1;
}

static void
image_fork(void)
{
	int	 keep[1] = { -1 };

	proc_fork(&imgproc, image_main, &iconf, keep);
	proc_chan_init(&ichan, imgproc.fd, "image", parent_msgs,
	    sizeof(parent_msgs) / sizeof(parent_msgs[0]), NULL);
	ichan.lost = parent_lost;
	proc_log_watch(&imgproc);
}

/*
 * The image child ended.  Idle, it is fatal (a daemon never goes on
 * half-working); in the middle of a layer, that layer killed it (a
 * libarchive crash, a syscall its filter forbids): that image fails,
 * naming the layer, and a new child takes the next one.
 */
int
image_reaped(pid_t pid, int status, int quiet)
{
	struct image_job	*j = TAILQ_FIRST(&jobs);
	char			 err[300];

	if (imgproc.pid == 0 || pid != imgproc.pid)
		return 0;
	proc_log_relay(&imgproc);
	proc_log_unwatch(&imgproc);
	imgproc.pid = 0;
	imgproc.status = status;
	imsgev_clear(&ichan.iev);
	if (quiet)
		return 1;
	if (j == NULL || j->id == 0)
		fatalx("image %s", proc_status(&imgproc));
	if (!j->verified)
		snprintf(err, sizeof(err), "image %s: the image child %s "
		    "reading its manifest and config", j->mt.manifest,
		    proc_status(&imgproc));
	else
		snprintf(err, sizeof(err), "layer %s: the image child %s",
		    j->mt.layers[j->next].digest, proc_status(&imgproc));
	log_warnx("%s; starting another", err);
	j->id = 0;
	image_fork();
	job_end(j, err);
	return 1;
}

void
image_stop(void)
{
	if (imgproc.pid > 0)
		kill(imgproc.pid, SIGTERM);
}

int
image_running(void)
{
	return imgproc.pid > 0;
}

void
image_unpack(const char *ref, void (*done)(void *, const char *), void *arg)
{
	struct image_job	*j;
	char			 err[600];

	if (!have_image) {
		snprintf(err, sizeof(err), "no user %s: lensvmm unpacks no "
		    "images (make users)", VMM_IMAGE_USER);
		done(arg, err);
		return;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		done(arg, "out of memory");
		return;
	}
	if (imgstore_meta_find(statedir, ref, j->ref, &j->mt, j->raw, err,
	    sizeof(err)) == -1) {
		free(j);
		done(arg, err);
		return;
	}
	j->done = done;
	j->arg = arg;
	TAILQ_INSERT_TAIL(&jobs, j, entry);
	job_next();
}
