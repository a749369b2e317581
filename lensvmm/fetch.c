/*
 * The fetch process: one per pull, forked by the parent (pull.c).
 *
 * It holds the store's blobs/ and refs/ directories (owned by
 * _lensfetch), the lensctl client's socket (for PROGRESS) and, for an
 * OCI layout, the O_PATH descriptor of the layout directory that the
 * parent opened as the caller.  First it forks the reader: a process
 * with the caller's uid, gid and groups, NO_NEW_PRIVS, non-dumpable and
 * an allow-list seccomp filter, that opens the layout's files beneath
 * that directory (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS: no
 * file the caller could not read, nothing outside the layout) and
 * passes each descriptor back.  Then it becomes _lensfetch in the empty
 * directory with no capabilities, NO_NEW_PRIVS and its own allow-list
 * filter, parses the JSON (ocispec.c), copies every blob into the store
 * verifying its digest while it streams (imgstore.c), sets the ref and
 * writes the meta file (imgstore.h: all the parent ever reads of an
 * image) and the result for the parent (fetch_finish), or "E" and the
 * error.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <linux/openat2.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <jansson.h>

#include "imsg.h"
#include "log.h"
#include "privsep.h"
#include "pull.h"
#include "registry.h"
#include "seccomp_filter.h"

/* the reader's answer for a file that is not a regular one */
#define EFTYPE_NOTREG	10000

static const struct sandbox_syscall reader_syscalls[] = {
	SB_ALLOW(recvmsg), SB_ALLOW(sendmsg), SB_ALLOW(openat2),
	SB_ALLOW(fstat), SB_ALLOW(newfstatat), SB_ALLOW(close),
	SB_ALLOW(exit_group), SB_ALLOW(exit), SB_ALLOW(write),
};

static const struct sandbox_syscall fetch_syscalls[] = {
	SB_ALLOW(read), SB_ALLOW(write), SB_ALLOW(openat), SB_ALLOW(close),
	SB_ALLOW(fstat), SB_ALLOW(newfstatat), SB_ALLOW(flock),
	SB_ALLOW(fsync), SB_ALLOW(fchmod), SB_ALLOW(renameat),
	SB_ALLOW(renameat2), SB_ALLOW(unlinkat), SB_ALLOW(mkdirat), SB_ALLOW(sendmsg),
	SB_ALLOW(recvmsg), SB_ALLOW(sendto), SB_ALLOW(poll), SB_ALLOW(ppoll),
	SB_ALLOW(lseek),
	SB_ALLOW(brk), SB_ALLOW(mmap), SB_ALLOW(munmap), SB_ALLOW(mremap),
	SB_ALLOW(madvise), SB_ALLOW(futex), SB_ALLOW(rt_sigprocmask),
	SB_ALLOW(clock_gettime), SB_ALLOW(getrandom), SB_ALLOW(getpid),
	SB_ALLOW(gettid), SB_ALLOW(tgkill), SB_ALLOW(exit_group),
	SB_ALLOW(exit),
};

struct fetch {
	struct fetch_conf	*c;
	int			 rd;		/* to the reader */
	struct ctl_progress	 pr;
	char			 err[512];
};

static void __attribute__((noreturn, format(printf, 2, 3)))
fail(struct fetch *f, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[600];
	int	 n;

	msg[0] = 'E';
	va_start(ap, fmt);
	n = vsnprintf(msg + 1, sizeof(msg) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(msg) - 2)
		n = (int)sizeof(msg) - 2;
	(void)!write(f->c->resfd, msg, (size_t)n + 1);
	_exit(1);
}

/* --- the reader: opens as the caller ------------------------------------ */

static int
layout_name_ok(const char *n)
{
	if (strcmp(n, "index.json") == 0 || strcmp(n, "oci-layout") == 0)
		return 1;
	return strncmp(n, "blobs/sha256/", 13) == 0 &&
	    strlen(n) == 13 + 64 && strspn(n + 13, "0123456789abcdef") == 64;
}

static void __attribute__((noreturn))
reader(int s, int dirfd, const struct caller *c)
{
	struct open_how	 how;
	struct msghdr	 msg;
	struct cmsghdr	*cm;
	struct iovec	 iov;
	struct stat	 st;
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int))];
	}		 cmsgbuf;
	char		 name[128];
	int		 keep[2] = { s, dirfd }, fd, e;
	ssize_t		 n;

	if (close_except(keep, 2) == -1 || prctl(PR_SET_DUMPABLE, 0) == -1 ||
	    setgroups((size_t)c->ngroups, c->groups) == -1 ||
	    setresgid(c->gid, c->gid, c->gid) == -1 ||
	    setresuid(c->uid, c->uid, c->uid) == -1 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		_exit(1);
	sandbox_apply("fetch-reader", reader_syscalls,
	    sizeof(reader_syscalls) / sizeof(reader_syscalls[0]));
	for (;;) {
		memset(&msg, 0, sizeof(msg));
		iov.iov_base = name;
		iov.iov_len = sizeof(name) - 1;
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		if ((n = recvmsg(s, &msg, 0)) <= 0)
			_exit(0);
		name[n] = '\0';
		fd = -1;
		e = 0;
		memset(&how, 0, sizeof(how));
		how.flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC;
		how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
		    RESOLVE_NO_MAGICLINKS;
		if (strcmp(name, "self") == 0) {
			/* --ca-file or docker-archive:FILE: the
			 * parent's O_PATH descriptor reopened for
			 * reading, as the caller */
			snprintf(name, sizeof(name), "/proc/self/fd/%d", dirfd);
			how.flags = O_RDONLY | O_CLOEXEC;
			how.resolve = 0;
			if ((fd = (int)syscall(SYS_openat2, AT_FDCWD, name,
			    &how, sizeof(how))) == -1)
				e = errno;
			else if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
				e = EFTYPE_NOTREG;
				close(fd);
				fd = -1;
			}
		} else if (!layout_name_ok(name))
			e = EINVAL;
		else if ((fd = (int)syscall(SYS_openat2, dirfd, name, &how,
		    sizeof(how))) == -1)
			e = errno;
		else if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
			e = EFTYPE_NOTREG;
			close(fd);
			fd = -1;
		}
		memset(&msg, 0, sizeof(msg));
		iov.iov_base = &e;
		iov.iov_len = sizeof(e);
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		if (fd != -1) {
			msg.msg_control = cmsgbuf.buf;
			msg.msg_controllen = sizeof(cmsgbuf.buf);
			cm = CMSG_FIRSTHDR(&msg);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cm), &fd, sizeof(int));
		}
		if (sendmsg(s, &msg, 0) != (ssize_t)sizeof(e))
			_exit(1);
		if (fd != -1)
			close(fd);
	}
}

/* a layout file from the reader: its descriptor, or fail */
static int
layout_open(struct fetch *f, const char *name)
{
	struct msghdr	 msg;
	struct cmsghdr	*cm;
	struct iovec	 iov;
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int))];
	}		 cmsgbuf;
	int		 e = 0, fd = -1;
	ssize_t		 n;

	if (send(f->rd, name, strlen(name), 0) != (ssize_t)strlen(name))
		fail(f, "the layout reader is gone");
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = &e;
	iov.iov_len = sizeof(e);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cmsgbuf.buf;
	msg.msg_controllen = sizeof(cmsgbuf.buf);
	if ((n = recvmsg(f->rd, &msg, MSG_CMSG_CLOEXEC)) != (ssize_t)sizeof(e))
		fail(f, "the layout reader is gone");
	if ((cm = CMSG_FIRSTHDR(&msg)) != NULL &&
	    cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
	    cm->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	if (e == 0 && fd != -1)
		return fd;
	if (fd != -1)
		close(fd);
	if (e == ELOOP)
		fail(f, "layout: %s: a symbolic link (none is followed)", name);
	if (e == EXDEV)
		fail(f, "layout: %s: outside the layout directory", name);
	if (e == EFTYPE_NOTREG)
		fail(f, "layout: %s: not a regular file", name);
	fail(f, "layout: %s: %s", name, e ? strerror(e) : "no descriptor");
}

/* --- progress to lensctl ------------------------------------------------ */

static void
send_client(struct fetch *f, uint32_t type, const void *data, size_t len)
{
	struct imsg_hdr	 hdr;
	uint8_t		 buf[IMSG_HDRSZ + sizeof(struct ctl_progress)];
	size_t		 off = 0, tot = IMSG_HDRSZ + len;
	ssize_t		 n;

	if (f->c->clientfd == -1 || len > sizeof(buf) - IMSG_HDRSZ)
		return;
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = type;
	hdr.len = (uint32_t)tot;
	hdr.pid = (uint32_t)getpid();
	memcpy(buf, &hdr, sizeof(hdr));
	memcpy(buf + IMSG_HDRSZ, data, len);
	while (off < tot) {
		if ((n = send(f->c->clientfd, buf + off, tot - off,
		    MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd pfd = { f->c->clientfd, POLLOUT,
				    0 };

				/* a client that stops reading stops
				 * getting progress, not the pull */
				if (poll(&pfd, 1, 5000) == 1)
					continue;
			}
			close(f->c->clientfd);
			f->c->clientfd = -1;
			return;
		}
		off += (size_t)n;
	}
}

static void
progress(struct fetch *f, const struct oci_descriptor *d, const char *what,
    uint32_t state, uint64_t done, uint32_t index, uint32_t count)
{
	memset(&f->pr, 0, sizeof(f->pr));
	strlcpy(f->pr.digest, d->digest, sizeof(f->pr.digest));
	strlcpy(f->pr.what, what, sizeof(f->pr.what));
	f->pr.total = d->size;
	f->pr.done = done;
	f->pr.state = state;
	f->pr.index = index;
	f->pr.count = count;
	send_client(f, IMSG_CTL_PROGRESS, &f->pr, sizeof(f->pr));
}

static void
progress_bytes(void *arg, uint64_t done)
{
	struct fetch	*f = arg;

	f->pr.done = done;
	f->pr.state = PROGRESS_BYTES;
	send_client(f, IMSG_CTL_PROGRESS, &f->pr, sizeof(f->pr));
}

/* --- the pull ----------------------------------------------------------- */

/* one blob of the layout into the store, verified */
static void
store_blob(struct fetch *f, const struct oci_descriptor *d, const char *what,
    uint32_t index, uint32_t count)
{
	char	 name[96];
	int	 fd, rc;

	if (f->c->kind == FETCH_DARCHIVE) {
		/* stored while the archive was read (pull_docker_archive) */
		struct img_writer	 w;

		if ((rc = imgstore_begin(f->c->blobsfd, d->digest, d->size,
		    &w, f->err, sizeof(f->err))) == 0) {
			imgstore_abort(&w);
			fail(f, "%s %s: not stored", what, d->digest);
		}
		if (rc == -1)
			fail(f, "%s %s", what, f->err);
		return;
	}
	progress(f, d, what, PROGRESS_START, 0, index, count);
	if (f->c->kind == FETCH_REGISTRY)
		rc = registry_blob(d, progress_bytes, f, f->err,
		    sizeof(f->err));
	else {
		snprintf(name, sizeof(name), "blobs/sha256/%s",
		    OCI_DIGEST_HEX(d->digest));
		fd = layout_open(f, name);
		rc = imgstore_put(f->c->blobsfd, d->digest, d->size, fd,
		    progress_bytes, f, f->err, sizeof(f->err));
		close(fd);
	}
	if (rc == -1)
		fail(f, "%s %s", what, f->err);
	progress(f, d, what, rc == 1 ? PROGRESS_CACHED : PROGRESS_DONE,
	    d->size, index, count);
}

/* a small JSON blob stored, then read back from the store */
static void
json_blob(struct fetch *f, const struct oci_descriptor *d, const char *what,
    void **buf, size_t *len)
{
	store_blob(f, d, what, 0, 0);
	if (imgstore_read(f->c->blobsfd, d->digest, OCI_JSON_MAX, buf, len,
	    f->err, sizeof(f->err)) == -1)
		fail(f, "%s", f->err);
}

static void
read_small(struct fetch *f, int fd, const char *name, void **bufp,
    size_t *lenp)
{
	uint8_t	*buf;
	size_t	 have = 0;
	ssize_t	 n;

	if ((buf = malloc(OCI_JSON_MAX + 1)) == NULL)
		fail(f, "out of memory");
	for (;;) {
		if ((n = read(fd, buf + have, OCI_JSON_MAX + 1 - have)) == -1 &&
		    errno == EINTR)
			continue;
		if (n == -1)
			fail(f, "layout: %s: %s", name, strerror(errno));
		if (n == 0)
			break;
		have += (size_t)n;
		if (have > OCI_JSON_MAX)
			fail(f, "layout: %s: above %u bytes", name,
			    OCI_JSON_MAX);
	}
	*bufp = buf;
	*lenp = have;
}

/*
 * The end of every pull, its blobs stored and its JSON checked: the
 * meta file (what the parent needs, so that it parses no JSON), the ref,
 * and the result for the parent: "OK\n" MANIFEST "\n" REF "\n" CONFIG
 * "\n" and "LAYER DIFFID\n" a layer.
 */
static void __attribute__((noreturn))
fetch_finish(struct fetch *f, const char *ref, const char *manifest,
    const struct oci_manifest *m, const struct oci_config *cfg)
{
	struct fetch_conf	*c = f->c;
	char			*out, *meta;
	size_t			 i, len, olen, mlen;

	if (imgstore_meta_make(manifest, m, cfg, &meta, &mlen, f->err,
	    sizeof(f->err)) == -1 ||
	    imgstore_meta_set(c->blobsfd, manifest, meta, mlen, f->err,
	    sizeof(f->err)) == -1 ||
	    imgstore_ref_set(c->refsfd, ref, manifest, f->err,
	    sizeof(f->err)) == -1)
		fail(f, "%s", f->err);
	free(meta);
	olen = 3 + 2 * OCI_DIGEST_SIZE + strlen(ref) + 2 +
	    m->nlayers * 2 * OCI_DIGEST_SIZE;
	if ((out = malloc(olen)) == NULL)
		fail(f, "out of memory");
	len = (size_t)snprintf(out, olen, "OK\n%s\n%s\n%s\n", manifest,
	    ref, m->config.digest);
	for (i = 0; i < m->nlayers; i++)
		len += (size_t)snprintf(out + len, olen - len, "%s %s\n",
		    m->layers[i].digest, cfg->diffids[i]);
	for (i = 0; i < len; ) {
		ssize_t n = write(c->resfd, out + i, len - i);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(1);
		i += (size_t)n;
	}
	_exit(0);
}

static void __attribute__((noreturn)) pull_manifest(struct fetch *,
    const char *, void *, size_t, const char *, int, const char *,
    const char *);

static void __attribute__((noreturn))
pull_oci(struct fetch *f)
{
	struct fetch_conf	*c = f->c;
	struct oci_index	 idx, sub;
	struct oci_descriptor	 md;
	char			 os[OCI_PLATFORM_SIZE], arch[OCI_PLATFORM_SIZE];
	char			 variant[OCI_PLATFORM_SIZE];
	char			 ref[IMG_REF_SIZE], e2[400];
	void			*buf;
	size_t			 len;
	int			 fd, k, byplatform;

	if (ocispec_platform(c->platform, os, arch, variant, e2,
	    sizeof(e2)) == -1)
		fail(f, "%s", e2);
	fd = layout_open(f, "index.json");
	read_small(f, fd, "index.json", &buf, &len);
	close(fd);
	if (ocispec_index_parse(buf, len, &idx, e2, sizeof(e2)) == -1)
		fail(f, "layout: index.json: %s", e2);
	free(buf);
	if ((k = ocispec_select(&idx, c->tag[0] ? c->tag : NULL, os, arch,
	    variant, e2, sizeof(e2))) == -1)
		fail(f, "layout: index.json: %s", e2);
	md = idx.manifests[k];
	byplatform = idx.n > 1 && md.has_platform;
	if (c->tag[0] == '\0' && md.refname[0] != '\0' &&
	    strlen(md.refname) <= IMG_TAG_MAX)
		strlcpy(c->tag, md.refname, sizeof(c->tag));
	ocispec_index_free(&idx);
	if (md.kind == OCI_KIND_INDEX) {
		json_blob(f, &md, "index", &buf, &len);
		if (ocispec_index_parse(buf, len, &sub, e2, sizeof(e2)) == -1)
			fail(f, "index %s: %s", md.digest, e2);
		free(buf);
		if ((k = ocispec_select(&sub, NULL, os, arch, variant, e2,
		    sizeof(e2))) == -1)
			fail(f, "index %s: %s", md.digest, e2);
		md = sub.manifests[k];
		byplatform = 1;
		ocispec_index_free(&sub);
		if (md.kind != OCI_KIND_MANIFEST)
			fail(f, "index %s: an index inside an index inside "
			    "the layout (two levels at most)", md.digest);
	}
	if ((size_t)snprintf(ref, sizeof(ref), "%s:%s", c->name,
	    c->tag[0] ? c->tag : "latest") >= sizeof(ref) ||
	    !imgstore_ref_ok(ref))
		fail(f, "\"%s\" is not a reference the store takes: name the "
		    "tag (oci:DIR:TAG; letters, digits, _ . -)", ref);
	json_blob(f, &md, "manifest", &buf, &len);
	pull_manifest(f, md.digest, buf, len, ref, byplatform, os, arch);
}

/* the manifest stored (buf, freed here): its config and layers, the
 * meta file, the ref, the result; never returns */
static void __attribute__((noreturn))
pull_manifest(struct fetch *f, const char *mdigest, void *buf, size_t len,
    const char *ref, int byplatform, const char *os, const char *arch)
{
	struct oci_manifest	 m;
	struct oci_config	 cfg;
	char			 e2[400];
	size_t			 i;

	if (ocispec_manifest_parse(buf, len, &m, e2, sizeof(e2)) == -1)
		fail(f, "manifest %s: %s", mdigest, e2);
	free(buf);
	json_blob(f, &m.config, "config", &buf, &len);
	if (ocispec_config_parse(buf, len, &cfg, e2, sizeof(e2)) == -1 ||
	    ocispec_config_matches(&m, &cfg, e2, sizeof(e2)) == -1)
		fail(f, "config %s: %s", m.config.digest, e2);
	free(buf);
	if (byplatform && (strcmp(cfg.os, os) != 0 ||
	    strcmp(cfg.arch, arch) != 0))
		fail(f, "config %s: %s/%s, not the %s/%s its index says",
		    m.config.digest, cfg.os, cfg.arch, os, arch);
	for (i = 0; i < m.nlayers; i++)
		store_blob(f, &m.layers[i], "layer", (uint32_t)i,
		    (uint32_t)m.nlayers);
	fetch_finish(f, ref, mdigest, &m, &cfg);
}


/* --- docker-archive:FILE (a `docker save` tar) --------------------------- */

static struct archive *
da_open(struct fetch *f, int fd)
{
	struct archive	*a;

	if (lseek(fd, 0, SEEK_SET) == -1)
		fail(f, "docker-archive: seek: %s", strerror(errno));
	if ((a = archive_read_new()) == NULL)
		fail(f, "out of memory");
	archive_read_support_format_tar(a);
	if (archive_read_open_fd(a, fd, 64 * 1024) != ARCHIVE_OK)
		fail(f, "docker-archive: %s", archive_error_string(a));
	return a;
}

static const char *
da_path(struct archive_entry *e)
{
	const char	*p = archive_entry_pathname(e);

	if (p == NULL)
		return "";
	while (strncmp(p, "./", 2) == 0)
		p += 2;
	return p;
}

/* the regular file name of the archive into memory (at most max bytes) */
static void
da_read(struct fetch *f, int fd, const char *name, void **bufp, size_t *lenp)
{
	struct archive		*a = da_open(f, fd);
	struct archive_entry	*e;
	uint8_t			*buf;
	la_ssize_t		 n;
	size_t			 have = 0;
	int			 r;

	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK)
		if (archive_entry_filetype(e) == AE_IFREG &&
		    strcmp(da_path(e), name) == 0)
			break;
	if (r == ARCHIVE_EOF)
		fail(f, "docker-archive: no %s in it", name);
	if (r != ARCHIVE_OK)
		fail(f, "docker-archive: %s", archive_error_string(a));
	if ((buf = malloc(OCI_JSON_MAX)) == NULL)
		fail(f, "out of memory");
	while ((n = archive_read_data(a, buf + have, OCI_JSON_MAX - have)) >
	    0)
		if ((have += (size_t)n) == OCI_JSON_MAX)
			fail(f, "docker-archive: %s: %u bytes or more", name,
			    OCI_JSON_MAX);
	if (n < 0)
		fail(f, "docker-archive: %s: %s", name, archive_error_string(a));
	archive_read_free(a);
	*bufp = buf;
	*lenp = have;
}

/* bytes into the store as digest: fail unless they hash to it */
static void
da_store_mem(struct fetch *f, const void *buf, size_t len, char *digest)
{
	struct img_writer	 w;
	uint8_t			 h[crypto_hash_sha256_BYTES];
	size_t			 i;
	int			 rc;

	crypto_hash_sha256(h, buf, len);
	memcpy(digest, "sha256:", 7);
	for (i = 0; i < sizeof(h); i++)
		snprintf(digest + 7 + 2 * i, 3, "%02x", h[i]);
	if ((rc = imgstore_begin(f->c->blobsfd, digest, len, &w, f->err,
	    sizeof(f->err))) == -1)
		fail(f, "%s", f->err);
	if (rc == 0 && (imgstore_write(&w, buf, len, f->err,
	    sizeof(f->err)) == -1 || imgstore_commit(&w, f->err,
	    sizeof(f->err)) == -1)) {
		imgstore_abort(&w);
		fail(f, "%s", f->err);
	}
}

static void __attribute__((noreturn))
pull_docker_archive(struct fetch *f, int fd)
{
	struct fetch_conf	*c = f->c;
	struct oci_config	 cfg;
	struct oci_descriptor	 d;
	struct archive		*a;
	struct archive_entry	*e;
	struct img_writer	 w;
	json_t			*root, *img, *v, *layers, *ml;
	json_error_t		 je;
	const char		*cfgname;
	char			 cdigest[OCI_DIGEST_SIZE], mdigest[OCI_DIGEST_SIZE];
	char			 ref[IMG_REF_SIZE], e2[400], *mj;
	uint8_t			*buf;
	void			*b;
	size_t			 len, i, nl, ndone = 0, cfglen;
	uint64_t		*sizes;
	la_ssize_t		 n;
	int			 r, rc, *done;

	da_read(f, fd, "manifest.json", &b, &len);
	if ((root = json_loadb(b, len, JSON_REJECT_DUPLICATES, &je)) == NULL)
		fail(f, "docker-archive: manifest.json: line %d: %s", je.line,
		    je.text);
	free(b);
	if (!json_is_array(root) || json_array_size(root) != 1)
		fail(f, "docker-archive: manifest.json holds %zu images, not "
		    "one", json_is_array(root) ? json_array_size(root) : 0);
	img = json_array_get(root, 0);
	if ((v = json_object_get(img, "Config")) == NULL ||
	    (cfgname = json_string_value(v)) == NULL)
		fail(f, "docker-archive: manifest.json: no Config");
	layers = json_object_get(img, "Layers");
	if (!json_is_array(layers) || (nl = json_array_size(layers)) == 0 ||
	    nl > OCI_MAXLAYERS)
		fail(f, "docker-archive: manifest.json: Layers is not a list "
		    "of 1 to %d names", OCI_MAXLAYERS);
	for (i = 0; i < nl; i++)
		if (json_string_value(json_array_get(layers, i)) == NULL)
			fail(f, "docker-archive: manifest.json: Layers[%zu] is "
			    "not a name", i);
	v = json_array_get(json_object_get(img, "RepoTags"), 0);
	if (json_string_value(v) == NULL || imgstore_ref_norm(
	    json_string_value(v), ref, sizeof(ref)) == -1)
		fail(f, "docker-archive: manifest.json: RepoTags[0] is not a "
		    "reference the store takes (NAME:TAG)");

	/* the config: into memory, hashed, stored, parsed */
	da_read(f, fd, cfgname, &b, &len);
	if (ocispec_config_parse(b, len, &cfg, e2, sizeof(e2)) == -1)
		fail(f, "docker-archive: %s: %s", cfgname, e2);
	if (cfg.ndiffids != nl)
		fail(f, "docker-archive: %s: %zu diff_ids for %zu layers",
		    cfgname, cfg.ndiffids, nl);
	da_store_mem(f, b, len, cdigest);
	cfglen = len;
	memset(&d, 0, sizeof(d));
	strlcpy(d.digest, cdigest, sizeof(d.digest));
	d.size = len;
	progress(f, &d, "config", PROGRESS_DONE, len, 0, 0);
	free(b);

	/* the layers, in archive order: layer i is its diff_id */
	if ((done = calloc(nl, sizeof(*done))) == NULL ||
	    (sizes = calloc(nl, sizeof(*sizes))) == NULL ||
	    (buf = malloc(256 * 1024)) == NULL)
		fail(f, "out of memory");
	a = da_open(f, fd);
	while (ndone < nl && (r = archive_read_next_header(a, &e)) ==
	    ARCHIVE_OK) {
		if (archive_entry_filetype(e) != AE_IFREG)
			continue;
		for (i = 0; i < nl; i++)
			if (!done[i] && strcmp(da_path(e), json_string_value(
			    json_array_get(layers, i))) == 0)
				break;
		if (i == nl)
			continue;
		memset(&d, 0, sizeof(d));
		strlcpy(d.digest, cfg.diffids[i], sizeof(d.digest));
		d.size = (uint64_t)archive_entry_size(e);
		progress(f, &d, "layer", PROGRESS_START, 0, (uint32_t)i,
		    (uint32_t)nl);
		if ((rc = imgstore_begin(c->blobsfd, d.digest, d.size, &w,
		    f->err, sizeof(f->err))) == -1)
			fail(f, "layer %s", f->err);
		while (rc == 0 && (n = archive_read_data(a, buf, 256 * 1024)) >
		    0) {
			if (imgstore_write(&w, buf, (size_t)n, f->err,
			    sizeof(f->err)) == -1) {
				imgstore_abort(&w);
				fail(f, "layer %s", f->err);
			}
			progress_bytes(f, w.have);
		}
		if (rc == 0 && n < 0) {
			imgstore_abort(&w);
			fail(f, "docker-archive: %s: %s", da_path(e),
			    archive_error_string(a));
		}
		if (rc == 0 && imgstore_commit(&w, f->err, sizeof(f->err)) ==
		    -1)
			fail(f, "docker-archive: %s: layer %s", da_path(e),
			    f->err);
		progress(f, &d, "layer", rc == 1 ? PROGRESS_CACHED :
		    PROGRESS_DONE, d.size, (uint32_t)i, (uint32_t)nl);
		done[i] = 1;
		sizes[i] = d.size;
		ndone++;
	}
	if (ndone < nl && r != ARCHIVE_EOF)
		fail(f, "docker-archive: %s", archive_error_string(a));
	for (i = 0; i < nl; i++)
		if (!done[i])
			fail(f, "docker-archive: layer %s is not in it",
			    json_string_value(json_array_get(layers, i)));
	archive_read_free(a);
	free(buf);
	free(done);

	/* the OCI manifest of what was stored (uncompressed layers) */
	ml = json_array();
	for (i = 0; i < nl; i++)
		json_array_append_new(ml, json_pack("{s:s, s:s, s:I}",
		    "mediaType", "application/vnd.oci.image.layer.v1.tar",
		    "digest", cfg.diffids[i], "size", (json_int_t)sizes[i]));
	v = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:o}", "schemaVersion",
	    2, "mediaType", MT_OCI_MANIFEST, "config", "mediaType",
	    MT_OCI_CONFIG, "digest", cdigest, "size", (json_int_t)cfglen,
	    "layers", ml);
	if (v == NULL || (mj = json_dumps(v, JSON_COMPACT |
	    JSON_SORT_KEYS)) == NULL)
		fail(f, "out of memory");
	json_decref(v);
	json_decref(root);
	free(sizes);
	ocispec_config_free(&cfg);
	da_store_mem(f, mj, strlen(mj), mdigest);
	memset(&d, 0, sizeof(d));
	strlcpy(d.digest, mdigest, sizeof(d.digest));
	d.size = strlen(mj);
	progress(f, &d, "manifest", PROGRESS_DONE, d.size, 0, 0);
	pull_manifest(f, mdigest, mj, strlen(mj), ref, 0, "", "");
}

/* a registry: the manifest (or the index, then the manifest for the
 * platform) fetched by reference, then as a layout's */
static void __attribute__((noreturn))
pull_registry(struct fetch *f, int resolver, void *ca, size_t calen)
{
	struct fetch_conf	*c = f->c;
	struct oci_index	 idx;
	struct oci_descriptor	 md;
	char			 os[OCI_PLATFORM_SIZE], arch[OCI_PLATFORM_SIZE];
	char			 variant[OCI_PLATFORM_SIZE];
	char			 ref[IMG_REF_SIZE], e2[400];
	char			 digest[OCI_DIGEST_SIZE];
	void			*buf;
	size_t			 len;
	int			 k, kind, byplatform = 0;

	if (ocispec_platform(c->platform, os, arch, variant, e2,
	    sizeof(e2)) == -1)
		fail(f, "%s", e2);
	if ((size_t)snprintf(ref, sizeof(ref), "%s:%s", c->name, c->tag[0] ?
	    c->tag : "latest") >= sizeof(ref) || !imgstore_ref_ok(ref))
		fail(f, "\"%s\" is not a reference the store takes", ref);
	if (registry_open(c, resolver, ca, calen, f->err, sizeof(f->err)) ==
	    -1)
		fail(f, "%s", f->err);
	explicit_bzero(c->auth, sizeof(c->auth));
	free(ca);
	if (registry_manifest(c->reference, &buf, &len, digest, &kind,
	    f->err, sizeof(f->err)) == -1)
		fail(f, "%s", f->err);
	memset(&md, 0, sizeof(md));
	strlcpy(md.digest, digest, sizeof(md.digest));
	md.size = len;
	if (kind == OCI_KIND_INDEX) {
		progress(f, &md, "index", PROGRESS_DONE, len, 0, 0);
		if (ocispec_index_parse(buf, len, &idx, e2, sizeof(e2)) == -1)
			fail(f, "index %s: %s", digest, e2);
		free(buf);
		if ((k = ocispec_select(&idx, NULL, os, arch, variant, e2,
		    sizeof(e2))) == -1)
			fail(f, "index %s: %s", digest, e2);
		md = idx.manifests[k];
		ocispec_index_free(&idx);
		if (md.kind != OCI_KIND_MANIFEST)
			fail(f, "index %s: an index inside the index", digest);
		byplatform = 1;
		if (registry_manifest(md.digest, &buf, &len, digest, &kind,
		    f->err, sizeof(f->err)) == -1)
			fail(f, "%s", f->err);
		if (kind != OCI_KIND_MANIFEST || len != md.size)
			fail(f, "manifest %s: not the image manifest of %llu "
			    "bytes its index says", md.digest,
			    (unsigned long long)md.size);
	}
	progress(f, &md, "manifest", PROGRESS_DONE, len, 0, 0);
	pull_manifest(f, digest, buf, len, ref, byplatform, os, arch);
}

/* the fetch process's network: TCP over IPv4 and IPv6 (libcurl), the
 * socketpair libcurl wakes itself with; no other socket family */
static const struct sandbox_syscall fetch_net_syscalls[] = {
	SB_ALLOW_ARG(socket, 0, AF_INET), SB_ALLOW_ARG(socket, 0, AF_INET6),
	SB_ALLOW_ARG(socketpair, 0, AF_UNIX),
	SB_ALLOW(connect), SB_ALLOW(getsockopt), SB_ALLOW(setsockopt),
	SB_ALLOW(getsockname), SB_ALLOW(getpeername), SB_ALLOW(recvfrom),
	SB_ALLOW(fcntl), SB_ALLOW(ioctl), SB_ALLOW(pipe2), SB_ALLOW(mprotect),
	SB_ALLOW(shutdown), SB_ALLOW(epoll_create1),
};

/* a trust store into memory: *buf to free; fail */
static void
read_ca(struct fetch *f, int fd, const char *name, void **bufp,
    size_t *lenp)
{
	uint8_t	*buf;
	size_t	 have = 0;
	ssize_t	 n;

	if ((buf = malloc(REG_CA_MAX + 1)) == NULL)
		fail(f, "out of memory");
	while ((n = read(fd, buf + have, REG_CA_MAX + 1 - have)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			fail(f, "%s: %s", name, strerror(errno));
		if ((have += (size_t)n) > REG_CA_MAX)
			fail(f, "%s: above %u bytes", name, REG_CA_MAX);
	}
	*bufp = buf;
	*lenp = have;
}

static void __attribute__((noreturn))
fetch_registry(struct fetch *f)
{
	struct fetch_conf	*c = f->c;
	struct privsep_user	 u;
	void			*ca;
	size_t			 calen;
	int			 sp[2], fd;
	pid_t			 pid;

	if (f->rd != -1) {
		/* --ca-file, read as the caller by the reader */
		fd = layout_open(f, "self");
		read_ca(f, fd, "--ca-file", &ca, &calen);
		close(fd);
		close(f->rd);
		f->rd = -1;
	} else {
		if ((fd = open("/etc/ssl/certs/ca-certificates.crt", O_RDONLY |
		    O_CLOEXEC)) == -1)
			fail(f, "/etc/ssl/certs/ca-certificates.crt: %s",
			    strerror(errno));
		read_ca(f, fd, "/etc/ssl/certs/ca-certificates.crt", &ca,
		    &calen);
		close(fd);
	}
	if (privsep_user(VMM_FETCH_USER, &u, f->err, sizeof(f->err)) == -1)
		fail(f, "%s", f->err);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == -1)
		fail(f, "socketpair: %s", strerror(errno));
	if ((pid = fork()) == -1)
		fail(f, "fork the resolver: %s", strerror(errno));
	if (pid == 0) {
		/* the resolver: _lensfetch, not chrooted (it reads the
		 * resolver configuration), nothing but its socket */
		close(sp[0]);
		if (close_except(&sp[1], 1) == -1 ||
		    prctl(PR_SET_DUMPABLE, 0) == -1 ||
		    setgroups(1, &u.gid) == -1 ||
		    setresgid(u.gid, u.gid, u.gid) == -1 ||
		    setresuid(u.uid, u.uid, u.uid) == -1 ||
		    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
			_exit(1);
		privsep_pdeathsig(getppid());
		registry_resolver(sp[1]);
	}
	close(sp[1]);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		fail(f, "curl_global_init failed");
	privsep_drop(NULL, &u, NULL, 0);
	privsep_pdeathsig(c->parent);
	sandbox_apply2("fetch", fetch_syscalls,
	    sizeof(fetch_syscalls) / sizeof(fetch_syscalls[0]),
	    fetch_net_syscalls,
	    sizeof(fetch_net_syscalls) / sizeof(fetch_net_syscalls[0]));
	pull_registry(f, sp[0], ca, calen);
}

void
fetch_main(struct fetch_conf *c)
{
	struct privsep_user	 u;
	struct fetch		 f;
	int			 sp[2], keep[6], nkeep = 0;
	pid_t			 pid;

	memset(&f, 0, sizeof(f));
	f.c = c;
	proc_title("fetch");
	keep[nkeep++] = c->resfd;
	keep[nkeep++] = c->clientfd;
	keep[nkeep++] = c->srcfd;
	keep[nkeep++] = c->blobsfd;
	keep[nkeep++] = c->refsfd;
	if (close_except(keep, nkeep) == -1)
		_exit(1);
	f.rd = -1;
	if (c->kind == FETCH_REGISTRY && c->srcfd == -1)
		fetch_registry(&f);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == -1)
		fail(&f, "socketpair: %s", strerror(errno));
	if ((pid = fork()) == -1)
		fail(&f, "fork the layout reader: %s", strerror(errno));
	if (pid == 0) {
		close(sp[0]);
		reader(sp[1], c->srcfd, &c->caller);
	}
	close(sp[1]);
	close(c->srcfd);
	c->srcfd = -1;
	f.rd = sp[0];
	if (c->kind == FETCH_REGISTRY)
		fetch_registry(&f);
	if (c->kind == FETCH_DARCHIVE) {
		/* the archive, opened by the reader as the caller */
		int	 afd = layout_open(&f, "self");

		close(f.rd);
		f.rd = -1;
		if (privsep_user(VMM_FETCH_USER, &u, f.err,
		    sizeof(f.err)) == -1)
			fail(&f, "%s", f.err);
		privsep_drop(NULL, &u, NULL, 0);
		privsep_pdeathsig(c->parent);
		sandbox_apply("fetch", fetch_syscalls,
		    sizeof(fetch_syscalls) / sizeof(fetch_syscalls[0]));
		pull_docker_archive(&f, afd);
	}
	if (privsep_user(VMM_FETCH_USER, &u, f.err, sizeof(f.err)) == -1)
		fail(&f, "%s", f.err);
	privsep_drop(NULL, &u, NULL, 0);
	privsep_pdeathsig(c->parent);
	sandbox_apply("fetch", fetch_syscalls,
	    sizeof(fetch_syscalls) / sizeof(fetch_syscalls[0]));
	pull_oci(&f);
}
