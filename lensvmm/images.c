/*
 * lensvmm parent: images, rmi and image prune on the store (imgstore.h).
 * images, rmi and prune read only ref files and meta files (the strict
 * line parser of imgstore.c; never image JSON).  A blob is needed while
 * a ref names its manifest, or the manifest's meta names it; prune
 * removes every other blob, meta file and abandoned partial download,
 * and every unpacked layer whose diff id no ref's meta names.  Prune waits
 * for no pull: it refuses to run while one is in progress (the blobs
 * of a pull have no ref until its end).
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>	/* audit details only */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"
#include "layer.h"
#include "log.h"
#include "parent.h"
#include "pull.h"

struct need {
	char	(*d)[OCI_DIGEST_SIZE];
	size_t	 n, cap;
};

static int
need_add(struct need *nd, const char *digest)
{
	void	*p;

	if (nd->n == nd->cap) {
		if ((p = reallocarray(nd->d, nd->cap ? nd->cap * 2 : 64,
		    sizeof(*nd->d))) == NULL)
			return -1;
		nd->d = p;
		nd->cap = nd->cap ? nd->cap * 2 : 64;
	}
	memcpy(nd->d[nd->n++], digest, OCI_DIGEST_SIZE);
	return 0;
}

static int
need_has(const struct need *nd, const char *hex)
{
	size_t	 i;

	for (i = 0; i < nd->n; i++)
		if (strcmp(OCI_DIGEST_HEX(nd->d[i]), hex) == 0)
			return 1;
	return 0;
}

static uint64_t
blob_size(int blobsfd, const char *digest)
{
	struct stat	 st;
	char		 path[96 + OCI_DIGEST_SIZE * 2];

	snprintf(path, sizeof(path), "sha256/%s", OCI_DIGEST_HEX(digest));
	if (fstatat(blobsfd, path, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return 0;
	return (uint64_t)st.st_size;
}

/*
 * fn for every ref: its name, manifest digest, the ref file's mtime;
 * -1 from fn stops.  -1 with err if refs/ cannot be read.
 */
static int
refs_each(int refsfd, int (*fn)(const char *, const char *, int64_t,
    void *), void *arg, char *err, size_t errlen)
{
	DIR		*dir;
	struct dirent	*de;
	struct stat	 st;
	char		 ref[IMG_REF_SIZE], digest[OCI_DIGEST_SIZE];
	int		 fd, rc = 0;

	if ((fd = dup(refsfd)) == -1 || (dir = fdopendir(fd)) == NULL) {
		snprintf(err, errlen, "refs: %s", strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	rewinddir(dir);
	while (rc == 0 && (de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (imgstore_ref_unfile(de->d_name, ref, sizeof(ref)) == -1 ||
		    imgstore_ref_get(refsfd, ref, digest, err, errlen) != 0) {
			log_warnx("image store: refs/%s is not a ref; "
			    "ignored", de->d_name);
			continue;
		}
		if (fstatat(refsfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
		    -1)
			st.st_mtime = 0;
		rc = fn(ref, digest, (int64_t)st.st_mtime, arg);
	}
	closedir(dir);
	return rc;
}

struct images_arg {
	struct reply	*r;
	int		 blobsfd;
};

static int
image_entry(const char *ref, const char *digest, int64_t mtime, void *a)
{
	struct images_arg	*ia = a;
	struct ctl_image	 ci;
	struct img_meta		 mt;
	char			 err[256];
	size_t			 i;

	memset(&ci, 0, sizeof(ci));
	strlcpy(ci.ref, ref, sizeof(ci.ref));
	strlcpy(ci.digest, digest, sizeof(ci.digest));
	ci.created = mtime;
	ci.size = blob_size(ia->blobsfd, digest);
	if (imgstore_meta_get(ia->blobsfd, digest, &mt, NULL, err,
	    sizeof(err)) == 0) {
		ci.size += blob_size(ia->blobsfd, mt.config);
		for (i = 0; i < mt.nlayers; i++)
			ci.size += blob_size(ia->blobsfd, mt.layers[i].digest);
		ci.nlayers = (uint32_t)mt.nlayers;
		img_meta_free(&mt);
	} else
		log_warnx("image %s: %s", ref, err);
	reply_send(ia->r, IMSG_CTL_IMAGE_ENTRY, &ci, sizeof(ci));
	return 0;
}

void
req_images(struct reply *r, struct imsg *im)
{
	struct images_arg	 ia;
	char			 err[256];
	int			 refsfd;

	(void)im;
	ia.r = r;
	if ((ia.blobsfd = pull_open_store(IMG_BLOBDIR)) == -1 ||
	    (refsfd = pull_open_store(IMG_REFDIR)) == -1) {
		if (ia.blobsfd != -1)
			close(ia.blobsfd);
		reply_error(r, CTL_EXIT_LENS, "the image store: %s",
		    strerror(errno));
		return;
	}
	if (refs_each(refsfd, image_entry, &ia, err, sizeof(err)) == -1)
		reply_error(r, CTL_EXIT_LENS, "%s", err);
	else
		reply_ok(r);
	close(ia.blobsfd);
	close(refsfd);
}

struct need_arg {
	struct need	*nd;
	struct need	*layers;	/* diff ids of unpacked layers */
	int		 blobsfd;
	char		*err;
	size_t		 errlen;
};

static int
need_ref(const char *ref, const char *digest, int64_t mtime, void *a)
{
	struct need_arg	*na = a;
	struct img_meta	 mt;
	char		 e2[512];
	size_t		 i;

	(void)mtime;
	/* what it needs is unknown: remove nothing */
	if (imgstore_meta_get(na->blobsfd, digest, &mt, NULL, e2,
	    sizeof(e2)) == -1) {
		snprintf(na->err, na->errlen, "image %s: %s: nothing pruned",
		    ref, e2);
		return -1;
	}
	if (need_add(na->nd, digest) == -1 || need_add(na->nd, mt.config) ==
	    -1)
		goto oom;
	for (i = 0; i < mt.nlayers; i++)
		if (need_add(na->nd, mt.layers[i].digest) == -1 ||
		    need_add(na->layers, mt.layers[i].diffid) == -1)
			goto oom;
	img_meta_free(&mt);
	return 0;
 oom:
	img_meta_free(&mt);
	snprintf(na->err, na->errlen, "out of memory");
	return -1;
}

static void
removed(struct reply *r, const char *what, const char *name)
{
	struct ctl_removed	 cr;

	memset(&cr, 0, sizeof(cr));
	strlcpy(cr.what, what, sizeof(cr.what));
	strlcpy(cr.name, name, sizeof(cr.name));
	reply_send(r, IMSG_CTL_IMAGE_REMOVED, &cr, sizeof(cr));
}

static int
hex64(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/*
 * Remove the unpacked layers (layers/sha256/<hex>) no ref needs: each
 * first renamed to layers/tmp/<hex>.prune.<pid>, then its tree removed,
 * so that a crash in the middle leaves no partial layer under its name
 * (the image child empties tmp/ when it starts).  The count removed.
 */
static unsigned
prune_layers(struct reply *r, const struct need *layers)
{
	DIR		*dir;
	struct dirent	*de;
	char		 path[PATH_MAX], from[128], to[128];
	int		 lfd, fd;
	unsigned	 n = 0;

	if (snprintf(path, sizeof(path), "%s/" LAYER_DIR, statedir) >=
	    (int)sizeof(path) ||
	    (lfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return 0;	/* no layer cache: nothing unpacked */
	if ((fd = openat(lfd, "sha256", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1 || (dir = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		close(lfd);
		return 0;
	}
	while ((de = readdir(dir)) != NULL) {
		if (!hex64(de->d_name) || need_has(layers, de->d_name))
			continue;
		snprintf(from, sizeof(from), "sha256/%s", de->d_name);
		snprintf(to, sizeof(to), "tmp/%s.prune.%ld", de->d_name,
		    (long)getpid());
		(void)layer_rmtree(lfd, to);
		if (renameat(lfd, from, lfd, to) == -1) {
			log_warn("prune: rename layer %s", de->d_name);
			continue;
		}
		if (layer_rmtree(lfd, to) == -1)
			log_warn("prune: remove layer %s (in layers/tmp)",
			    de->d_name);
		snprintf(path, sizeof(path), "sha256:%s", de->d_name);
		removed(r, "layer", path);
		n++;
	}
	closedir(dir);
	(void)fsync(lfd);
	close(lfd);
	return n;
}

/*
 * Remove what no ref needs: blobs, meta files, abandoned partials and
 * unpacked layers (*nlayers of them); -1 with err (then nothing was
 * removed).
 */
static int
prune(struct reply *r, int blobsfd, int refsfd, unsigned *nlayers,
    char *err, size_t errlen)
{
	struct need	 nd = { NULL, 0, 0 }, ld = { NULL, 0, 0 };
	struct need_arg	 na = { &nd, &ld, blobsfd, err, errlen };
	DIR		*dir;
	struct dirent	*de;
	char		 path[300], name[256];
	int		 fd, lfd;
	static const char *const subs[] = { "sha256", "meta", "tmp" };
	size_t		 k;

	if (pull_active() > 0) {
		snprintf(err, errlen, "a pull is in progress: nothing pruned");
		return -1;
	}
	*nlayers = 0;
	if (refs_each(refsfd, need_ref, &na, err, errlen) == -1) {
		free(nd.d);
		free(ld.d);
		return -1;
	}
	*nlayers = prune_layers(r, &ld);
	free(ld.d);
	for (k = 0; k < sizeof(subs) / sizeof(subs[0]); k++) {
		if ((fd = openat(blobsfd, subs[k], O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC)) == -1 ||
		    (dir = fdopendir(fd)) == NULL) {
			if (fd != -1)
				close(fd);
			continue;
		}
		while ((de = readdir(dir)) != NULL) {
			const char	*n = de->d_name;
			char		*dot;

			if (n[0] == '.' && strncmp(n, ".tmp.", 5) != 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", subs[k], n);
			if (k < 2) {
				if (hex64(n) && need_has(&nd, n))
					continue;
				if (unlinkat(blobsfd, path, 0) == 0 && k == 0) {
					snprintf(name, sizeof(name),
					    "sha256:%s", n);
					removed(r, "blob", name);
				}
				continue;
			}
			/* tmp: a partial or lock nobody holds */
			strlcpy(name, n, sizeof(name));
			if ((dot = strchr(name, '.')) == NULL)
				continue;
			*dot = '\0';
			if (!hex64(name))
				continue;
			snprintf(path, sizeof(path), "tmp/%s.lock", name);
			if ((lfd = openat(blobsfd, path, O_RDWR | O_NOFOLLOW |
			    O_CLOEXEC)) != -1 &&
			    flock(lfd, LOCK_EX | LOCK_NB) == -1) {
				close(lfd);
				continue;	/* a writer holds it */
			}
			snprintf(path, sizeof(path), "tmp/%s.partial", name);
			if (unlinkat(blobsfd, path, 0) == 0)
				removed(r, "partial", name);
			snprintf(path, sizeof(path), "tmp/%s.lock", name);
			(void)unlinkat(blobsfd, path, 0);
			if (lfd != -1)
				close(lfd);
		}
		closedir(dir);
	}
	free(nd.d);
	(void)fsync(blobsfd);
	return 0;
}

static int
open_both(struct reply *r, int *blobsfd, int *refsfd)
{
	*refsfd = -1;
	if ((*blobsfd = pull_open_store(IMG_BLOBDIR)) == -1 ||
	    (*refsfd = pull_open_store(IMG_REFDIR)) == -1) {
		reply_error(r, CTL_EXIT_LENS, "the image store: %s",
		    strerror(errno));
		if (*blobsfd != -1)
			close(*blobsfd);
		return -1;
	}
	return 0;
}

void
req_prune(struct reply *r, struct imsg *im, uid_t by)
{
	char		 err[512];
	int		 blobsfd, refsfd;
	unsigned	 nlayers;

	(void)im;
	if (open_both(r, &blobsfd, &refsfd) == -1)
		return;
	if (prune(r, blobsfd, refsfd, &nlayers, err, sizeof(err)) == -1)
		reply_error(r, CTL_EXIT_LENS, "%s", err);
	else {
		pull_audit("image.prune", json_pack("{s:I, s:I}", "uid",
		    (json_int_t)by, "layers", (json_int_t)nlayers));
		reply_ok(r);
	}
	close(blobsfd);
	close(refsfd);
}

void
req_rmi(struct reply *r, struct imsg *im, uid_t by)
{
	struct ctl_rmi	 cr;
	char		 ref[IMG_REF_SIZE], file[IMG_REF_SIZE * 3];
	char		 digest[OCI_DIGEST_SIZE], err[512];
	int		 blobsfd, refsfd, rc;
	unsigned	 nlayers;

	memcpy(&cr, im->data, sizeof(cr));
	if (imgstore_ref_norm(cr.ref, ref, sizeof(ref)) == -1 ||
	    imgstore_ref_file(ref, file, sizeof(file)) == -1) {
		reply_error(r, CTL_EXIT_LENS, "\"%.64s\" is not NAME[:TAG]",
		    cr.ref);
		return;
	}
	if (open_both(r, &blobsfd, &refsfd) == -1)
		return;
	if ((rc = imgstore_ref_get(refsfd, ref, digest, err, sizeof(err))) !=
	    0) {
		if (rc == 1)
			reply_error(r, CTL_EXIT_LENS, "no image %s", ref);
		else
			reply_error(r, CTL_EXIT_LENS, "%s", err);
		goto done;
	}
	if (unlinkat(refsfd, file, 0) == -1 || fsync(refsfd) == -1) {
		reply_error(r, CTL_EXIT_LENS, "remove %s: %s", ref,
		    strerror(errno));
		goto done;
	}
	pull_audit("image.rm", json_pack("{s:s, s:s, s:I}", "reference", ref,
	    "digest", digest, "uid", (json_int_t)by));
	log_info("image %s (%s) removed", ref, digest);
	removed(r, "ref", ref);
	/* the blobs it alone needed: a prune that cannot run is no error
	 * of the rmi (prune says why) */
	if (prune(r, blobsfd, refsfd, &nlayers, err, sizeof(err)) == -1)
		log_warnx("rmi %s: %s", ref, err);
	else if (nlayers > 0)
		pull_audit("image.prune", json_pack("{s:I, s:I}", "uid",
		    (json_int_t)by, "layers", (json_int_t)nlayers));
	reply_ok(r);
 done:
	close(blobsfd);
	close(refsfd);
}
