/*
 * lensvmm parent: the image requests.  A pull is done by a fetch
 * process (fetch.c) the parent forks per request; the parent checks
 * the request, opens an OCI layout directory as the caller (hostpath.c)
 * and hands the fetch process the store's directories, then reads its
 * result, checks it, audits image.pull and answers the client.  The
 * parent never parses an image's JSON (doc/DESIGN.md, Processes).
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auditc.h"
#include "imsg.h"
#include "log.h"
#include "parent.h"
#include "privsep.h"
#include "layer.h"
#include "pull.h"
#include "registry.h"

#define PULL_MAX	8	/* fetch processes at once */

struct pull {
	TAILQ_ENTRY(pull)	 entry;
	struct reply		*r;
	uid_t			 by;
	pid_t			 pid;
	int			 status, reaped;
	int			 resfd;
	struct event		 ev;
	char			*buf;
	size_t			 have;
	int			 eof;
	char			 source[CTL_PATH_SIZE];
};
static TAILQ_HEAD(, pull)	 pulls = TAILQ_HEAD_INITIALIZER(pulls);
static int			 npulls;
static struct privsep_user	 fetchuser;
static int			 have_fetchuser;

/* --- checks (control and parent) ---------------------------------------- */

static int
cfield(const char *f, size_t size)
{
	size_t	 n = strnlen(f, size), i;

	if (n == size)
		return 0;
	for (i = 0; i < n; i++)
		if (!isprint((unsigned char)f[i]))
			return 0;
	for (; i < size; i++)
		if (f[i] != '\0')
			return 0;
	return 1;
}

const char *
image_request_check(struct imsg *im)
{
	struct ctl_pull		 p;
	struct ctl_images	 ims;
	struct ctl_rmi		 rmi;

	switch (im->hdr.type) {
	case IMSG_CTL_PULL:
		if (imsg_expect(im, sizeof(p)) == -1)
			return "PULL of the wrong size";
		memcpy(&p, im->data, sizeof(p));
		if (!cfield(p.source, sizeof(p.source)) || p.source[0] == '\0')
			return "bad image source";
		if (!cfield(p.platform, sizeof(p.platform)))
			return "bad platform";
		if (!cfield(p.cafile, sizeof(p.cafile)))
			return "bad CA file";
		return (p.flags & ~CTL_PULL_INSECURE) != 0 || p.pad != 0 ?
		    "bad PULL flags" : NULL;
	case IMSG_CTL_IMAGES:
	case IMSG_CTL_PRUNE:
		if (imsg_expect(im, sizeof(ims)) == -1)
			return "IMAGES of the wrong size";
		memcpy(&ims, im->data, sizeof(ims));
		return ims.flags != 0 || ims.pad != 0 ? "bad flags" : NULL;
	case IMSG_CTL_RMI:
		if (imsg_expect(im, sizeof(rmi)) == -1)
			return "RMI of the wrong size";
		memcpy(&rmi, im->data, sizeof(rmi));
		if (!cfield(rmi.ref, sizeof(rmi.ref)) || rmi.ref[0] == '\0')
			return "bad image reference";
		return NULL;
	default:
		return "not a request";
	}
}

int
pull_source_oci(const char *source, char *dir, size_t dirlen, char *tag,
    size_t taglen, char *name, size_t namelen, char *err, size_t errlen)
{
	const char	*s, *c, *b;
	char		 probe[IMG_REF_SIZE];
	size_t		 i, n;

	if (strncmp(source, "oci:", 4) != 0) {
		snprintf(err, errlen, "image source \"%.64s\" is not "
		    "oci:DIR[:TAG]", source);
		return -1;
	}
	s = source + 4;
	tag[0] = '\0';
	if ((c = strrchr(s, ':')) != NULL && strchr(c, '/') == NULL) {
		snprintf(probe, sizeof(probe), "x:%s", c + 1);
		if (!imgstore_ref_ok(probe)) {
			snprintf(err, errlen, "tag \"%.64s\" is not [A-Za-z0-9_]"
			    "[A-Za-z0-9_.-]{0,127}", c + 1);
			return -1;
		}
		strlcpy(tag, c + 1, taglen);
		n = (size_t)(c - s);
	} else
		n = strlen(s);
	if (n == 0 || n >= dirlen || s[0] != '/') {
		snprintf(err, errlen, "oci:DIR: DIR must be an absolute path");
		return -1;
	}
	memcpy(dir, s, n);
	dir[n] = '\0';
	while (n > 1 && dir[n - 1] == '/')
		dir[--n] = '\0';
	b = strrchr(dir, '/') + 1;
	if (*b == '\0' || strlen(b) >= namelen) {
		snprintf(err, errlen, "oci:DIR: DIR has no last component to "
		    "name the image by");
		return -1;
	}
	for (i = 0; b[i] != '\0'; i++)
		name[i] = (char)tolower((unsigned char)b[i]);
	name[i] = '\0';
	snprintf(probe, sizeof(probe), "%s:latest", name);
	if (!imgstore_ref_ok(probe) || strchr(name, ':') != NULL) {
		snprintf(err, errlen, "the image name \"%.64s\" (DIR's last "
		    "component) is not [a-z0-9][a-z0-9._-]*", name);
		return -1;
	}
	return 0;
}

/* --- the store ---------------------------------------------------------- */

static int
store_dir(const char *sub, mode_t mode)
{
	char	 path[PATH_MAX + 32];
	int	 fd;

	snprintf(path, sizeof(path), "%s/%s", statedir, sub);
	if (mkdir(path, mode) == -1 && errno != EEXIST)
		fatal("mkdir %s", path);
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		fatal("open %s", path);
	if (have_fetchuser && (fchown(fd, fetchuser.uid, fetchuser.gid) ==
	    -1 || fchmod(fd, mode) == -1))
		fatal("chown %s", path);
	close(fd);
	return 0;
}

void
pull_init(void)
{
	char	 err[256];

	if (privsep_user(VMM_FETCH_USER, &fetchuser, err, sizeof(err)) == -1)
		log_warnx("%s: no image pulls (make users)", err);
	else
		have_fetchuser = 1;
	store_dir(IMG_BLOBDIR, 0711);
	store_dir(IMG_BLOBDIR "/sha256", 0711);
	store_dir(IMG_BLOBDIR "/tmp", 0700);
	store_dir(IMG_BLOBDIR "/meta", 0711);
	store_dir(IMG_REFDIR, 0711);
}

int
pull_open_store(const char *sub)
{
	char	 path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/%s", statedir, sub);
	return open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* --- pull --------------------------------------------------------------- */

static void
pull_free(struct pull *p)
{
	TAILQ_REMOVE(&pulls, p, entry);
	npulls--;
	if (p->resfd != -1) {
		event_del(&p->ev);
		close(p->resfd);
	}
	free(p->buf);
	free(p);
}

void
pull_audit(const char *type, json_t *d)
{
	char	*s;

	if ((s = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		fatalx("audit: json_dumps");
	json_decref(d);
	if (auditc_event(audit, "", type, s, strlen(s)) == -1)
		log_warn("audit: %s event not queued", type);
	free(s);
}

/* the layers of a pull unpacked (or not): the answer */
struct pulled {
	struct reply		*r;
	struct ctl_pulled	 pd;
};

static void
pulled_done(void *arg, const char *err)
{
	struct pulled	*pp = arg;

	imsgev_pause(&pp->r->iev, 0);
	if (err != NULL)
		reply_error(pp->r, CTL_EXIT_LENS, "pull %s: %s", pp->pd.ref,
		    err);
	else {
		reply_send(pp->r, IMSG_CTL_PULLED, &pp->pd, sizeof(pp->pd));
		reply_ok(pp->r);
	}
	free(pp);
}

static void
pulled_unpack(struct reply *r, const struct ctl_pulled *pd)
{
	struct pulled	*pp;

	if ((pp = calloc(1, sizeof(*pp))) == NULL) {
		reply_error(r, CTL_EXIT_LENS, "out of memory");
		return;
	}
	pp->r = r;
	pp->pd = *pd;
	/*
	 * Not read until the answer: a client that leaves would have r
	 * freed under the unpack (reply_dispatch); nothing is queued to
	 * it meanwhile, so no write can fail and free it either.
	 */
	imsgev_pause(&r->iev, 1);
	image_unpack(pd->digest, pulled_done, pp);
}

/* the fetch process ended and said all: check its result, answer */
static void
pull_done(struct pull *p)
{
	struct ctl_pulled	 pd;
	char			*line, *next, *digest, *ref, *config, *sp;
	json_t			*layers, *diffids;
	struct reply		*r = p->r;

	imsgev_pause(&r->iev, 0);
	p->buf[p->have] = '\0';
	if (p->have > 0 && p->buf[0] == 'E' && strlen(p->buf) == p->have) {
		reply_error(r, CTL_EXIT_LENS, "pull %s: %s", p->source,
		    p->buf + 1);
		goto out;
	}
	if (!WIFEXITED(p->status) || WEXITSTATUS(p->status) != 0 ||
	    strncmp(p->buf, "OK\n", 3) != 0 || strlen(p->buf) != p->have) {
		if (WIFSIGNALED(p->status))
			log_warnx("pull %s: the fetch process was killed by "
			    "SIG%s", p->source,
			    sigabbrev_np(WTERMSIG(p->status)));
		else
			log_warnx("pull %s: the fetch process failed",
			    p->source);
		reply_error(r, CTL_EXIT_LENS, "pull %s: the fetch process "
		    "failed%s", p->source, WIFSIGNALED(p->status) ?
		    " (killed by a signal)" : "");
		goto out;
	}
	digest = p->buf + 3;
	if ((next = strchr(digest, '\n')) == NULL)
		goto bad;
	*next++ = '\0';
	ref = next;
	if ((next = strchr(ref, '\n')) == NULL)
		goto bad;
	*next++ = '\0';
	config = next;
	if ((next = strchr(config, '\n')) == NULL)
		goto bad;
	*next++ = '\0';
	if (!ocispec_digest_ok(digest) || !imgstore_ref_ok(ref) ||
	    !ocispec_digest_ok(config))
		goto bad;
	layers = json_array();
	diffids = json_array();
	for (line = next; *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) == NULL ||
		    (sp = strchr(line, ' ')) == NULL || sp > next ||
		    json_array_size(layers) >= OCI_MAXLAYERS) {
			json_decref(layers);
			json_decref(diffids);
			goto bad;
		}
		*next++ = '\0';
		*sp++ = '\0';
		if (!ocispec_digest_ok(line) || !ocispec_digest_ok(sp)) {
			json_decref(layers);
			json_decref(diffids);
			goto bad;
		}
		json_array_append_new(layers, json_string(line));
		json_array_append_new(diffids, json_string(sp));
	}
	memset(&pd, 0, sizeof(pd));
	strlcpy(pd.ref, ref, sizeof(pd.ref));
	strlcpy(pd.digest, digest, sizeof(pd.digest));
	pd.nlayers = (uint32_t)json_array_size(layers);
	pull_audit("image.pull", json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, "
	    "s:I}", "source", p->source, "reference", ref, "digest", digest,
	    "config", config, "layers", layers, "diff_ids", diffids, "uid",
	    (json_int_t)p->by));
	log_info("pulled %s as %s (%s, %u layers)", p->source, ref, digest,
	    pd.nlayers);
	/* its layers unpacked (the image child) before the answer */
	pulled_unpack(r, &pd);
	goto out;
 bad:
	log_warnx("pull %s: the fetch process sent a malformed result",
	    p->source);
	reply_error(r, CTL_EXIT_LENS, "pull %s: the fetch process failed",
	    p->source);
 out:
	pull_free(p);
}

static void
pull_read(int fd, short ev, void *arg)
{
	struct pull	*p = arg;
	ssize_t		 n;

	(void)ev;
	n = read(fd, p->buf + p->have, PULL_RESULT_MAX - p->have);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n > 0) {
		p->have += (size_t)n;
		if (p->have < PULL_RESULT_MAX)
			return;
		kill(p->pid, SIGKILL);	/* too much: refused below */
		p->have = 0;
	}
	event_del(&p->ev);
	close(p->resfd);
	p->resfd = -1;
	p->eof = 1;
	if (p->reaped)
		pull_done(p);
}

int
pull_active(void)
{
	return npulls;
}

int
pull_reaped(pid_t pid, int status)
{
	struct pull	*p;

	TAILQ_FOREACH(p, &pulls, entry)
		if (p->pid == pid) {
			p->reaped = 1;
			p->status = status;
			if (p->eof)
				pull_done(p);
			return 1;
		}
	return 0;
}

void
req_pull(struct reply *r, struct imsg *im, uid_t by)
{
	struct ctl_pull		 cp;
	struct fetch_conf	 fc;
	struct stat		 st;
	struct pull		*p;
	char			 dir[CTL_PATH_SIZE], err[512];
	int			 rp[2] = { -1, -1 };
	pid_t			 pid;

	memcpy(&cp, im->data, sizeof(cp));
	memset(&fc, 0, sizeof(fc));
	fc.srcfd = fc.blobsfd = fc.refsfd = -1;
	if (!have_fetchuser) {
		reply_error(r, CTL_EXIT_LENS, "no user %s: lensvmm pulls no "
		    "images (make users)", VMM_FETCH_USER);
		return;
	}
	if (!auditc_ready(audit)) {
		reply_error(r, CTL_EXIT_LENS, "lensauditd is not reachable at "
		    "%s: no image is pulled without an audit log", auditsock);
		return;
	}
	if (npulls >= PULL_MAX) {
		reply_error(r, CTL_EXIT_LENS, "%d pulls in progress: try "
		    "again later", PULL_MAX);
		return;
	}
	if (strncmp(cp.source, "docker-archive:", 15) == 0) {
		if (cp.cafile[0] != '\0' || cp.flags != 0 ||
		    cp.source[15] != '/') {
			reply_error(r, CTL_EXIT_LENS, "docker-archive:FILE: "
			    "FILE must be an absolute path (and --ca-file, "
			    "--insecure-registry are for registries)");
			return;
		}
		strlcpy(dir, cp.source + 15, sizeof(dir));
		fc.kind = FETCH_DARCHIVE;
	} else if (strncmp(cp.source, "oci:", 4) != 0) {
		/* a registry (registry.c) */
		if (registry_source(cp.source, &fc, err, sizeof(err)) == -1 ||
		    registry_creds(regcreds, fc.host, fc.auth,
		    sizeof(fc.auth), err, sizeof(err)) == -1) {
			reply_error(r, CTL_EXIT_LENS, "%s", err);
			return;
		}
		fc.insecure = (cp.flags & CTL_PULL_INSECURE) != 0;
		if (fc.insecure)
			log_warnx("pull %s: --insecure-registry: plain http, "
			    "nothing authenticates the registry", cp.source);
	} else if (cp.cafile[0] != '\0' || cp.flags != 0) {
		reply_error(r, CTL_EXIT_LENS, "--ca-file and "
		    "--insecure-registry are for registries, not oci:DIR");
		return;
	} else if (pull_source_oci(cp.source, dir, sizeof(dir), fc.tag,
	    sizeof(fc.tag), fc.name, sizeof(fc.name), err, sizeof(err)) ==
	    -1) {
		reply_error(r, CTL_EXIT_LENS, "%s", err);
		return;
	}
	if (cp.platform[0] != '\0') {
		char	 os[OCI_PLATFORM_SIZE], a[OCI_PLATFORM_SIZE];
		char	 v[OCI_PLATFORM_SIZE];

		if (ocispec_platform(cp.platform, os, a, v, err,
		    sizeof(err)) == -1) {
			reply_error(r, CTL_EXIT_LENS, "%s", err);
			return;
		}
	}
	strlcpy(fc.platform, cp.platform, sizeof(fc.platform));
	if (caller_get(r->iev.ibuf.fd, &fc.caller) == -1) {
		reply_error(r, CTL_EXIT_LENS, "who is asking: %s",
		    strerror(errno));
		return;
	}
	if (fc.kind == FETCH_REGISTRY) {
		/* --ca-file: reached as the caller here, read as the
		 * caller by the fetch process's reader */
		if (cp.cafile[0] != '\0' && ((fc.srcfd = hostpath_open(
		    &fc.caller, cp.cafile, HOSTPATH_VOLUME, HOSTPATH_TIMEOUT *
		    1000, err, sizeof(err))) == -1 || fstat(fc.srcfd, &st) ==
		    -1 || !S_ISREG(st.st_mode))) {
			reply_error(r, CTL_EXIT_LENS, "--ca-file %s: %s",
			    cp.cafile, fc.srcfd == -1 ? err :
			    "not a regular file");
			goto fail;
		}
	} else if (fc.kind == FETCH_DARCHIVE) {
		if ((fc.srcfd = hostpath_open(&fc.caller, dir,
		    HOSTPATH_VOLUME, HOSTPATH_TIMEOUT * 1000, err,
		    sizeof(err))) == -1 || hostpath_check(&fc.caller,
		    fc.srcfd, HOSTPATH_VOLUME, protect, nprotect, err,
		    sizeof(err)) == -1) {
			reply_error(r, CTL_EXIT_LENS, "docker-archive:%s: %s",
			    dir, err);
			goto fail;
		}
		if (fstat(fc.srcfd, &st) == -1 || !S_ISREG(st.st_mode)) {
			reply_error(r, CTL_EXIT_LENS, "docker-archive:%s: not "
			    "a regular file", dir);
			goto fail;
		}
	} else if ((fc.srcfd = hostpath_open(&fc.caller, dir, HOSTPATH_VOLUME,
	    HOSTPATH_TIMEOUT * 1000, err, sizeof(err))) == -1 ||
	    hostpath_check(&fc.caller, fc.srcfd, HOSTPATH_VOLUME, protect,
	    nprotect, err, sizeof(err)) == -1) {
		reply_error(r, CTL_EXIT_LENS, "oci:%s: %s", dir, err);
		goto fail;
	} else if (fstat(fc.srcfd, &st) == -1 || !S_ISDIR(st.st_mode)) {
		reply_error(r, CTL_EXIT_LENS, "oci:%s: not a directory", dir);
		goto fail;
	}
	if ((fc.blobsfd = pull_open_store(IMG_BLOBDIR)) == -1 ||
	    (fc.refsfd = pull_open_store(IMG_REFDIR)) == -1) {
		reply_error(r, CTL_EXIT_LENS, "the image store in %s: %s",
		    statedir, strerror(errno));
		goto fail;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->buf = malloc(PULL_RESULT_MAX + 1)) == NULL) {
		free(p);
		reply_error(r, CTL_EXIT_LENS, "out of memory");
		goto fail;
	}
	if (pipe2(rp, O_CLOEXEC | O_NONBLOCK) == -1 ||
	    (pid = fork()) == -1) {
		reply_error(r, CTL_EXIT_LENS, "fork the fetch process: %s",
		    strerror(errno));
		free(p->buf);
		free(p);
		goto fail;
	}
	if (pid == 0) {
		close(rp[0]);
		fc.resfd = rp[1];
		fc.clientfd = r->iev.ibuf.fd;
		fc.parent = parent_pid;
		fetch_main(&fc);
	}
	close(rp[1]);
	rp[1] = -1;
	p->r = r;
	p->by = by;
	p->pid = pid;
	p->resfd = rp[0];
	strlcpy(p->source, cp.source, sizeof(p->source));
	TAILQ_INSERT_TAIL(&pulls, p, entry);
	npulls++;
	/* the fetch process talks to the client until it is done */
	imsgev_pause(&r->iev, 1);
	event_set(&p->ev, p->resfd, EV_READ | EV_PERSIST, pull_read, p);
	event_add(&p->ev, NULL);
	if (fc.srcfd != -1)
		close(fc.srcfd);
	close(fc.blobsfd);
	close(fc.refsfd);
	explicit_bzero(fc.auth, sizeof(fc.auth));
	return;
 fail:
	if (rp[0] != -1)
		close(rp[0]);
	if (rp[1] != -1)
		close(rp[1]);
	if (fc.srcfd != -1)
		close(fc.srcfd);
	if (fc.blobsfd != -1)
		close(fc.blobsfd);
	if (fc.refsfd != -1)
		close(fc.refsfd);
	explicit_bzero(fc.auth, sizeof(fc.auth));
}
