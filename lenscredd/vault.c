/*
 * lenscredd vault: the only process that holds the master key and the
 * sandbox CA keys.  Chrooted to the state directory as _lenscred, not
 * dumpable, and its seccomp table has no socket, connect or accept: it
 * talks to the listener over the socketpair the parent made, and to
 * nobody else.
 *
 * Keys live in sodium_malloc memory (guard pages, MADV_DONTDUMP,
 * locked as far as RLIMIT_MEMLOCK allows, zeroed on free), PROT_NONE
 * except while one is used.  Each CA is kept in CRED_CADIR/SANDBOX.ca,
 * sealed with the master key (seal.h, "LENSCA1"): the box of the
 * sandbox name, the key's scalar and the certificate (DER).  A file the
 * master key does not open stops the vault: it is never replaced by a
 * new CA behind the guest's back.
 *
 * Each stored credential is CRED_SECDIR/NAME, sealed likewise
 * ("LENSCR1", the kind and the name inside the box): its created and
 * rotated times (8 bytes each, big-endian) and its value.  The value is
 * in clear only here, in sodium_malloc memory, and only while a
 * request needs it; the message that brought it is zeroed.  Only the
 * exchange child asks for a value (VALUE_REQ on its own link: the
 * listener has no such message), and gets it for a name that exists and
 * opens, else why not.  A record
 * that does not open is an error of the requests that read it (ls
 * shows why, naming the file); lenscredd serves on.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "grammar.h"
#include "imsgev.h"
#include "lenscredd.h"
#include "log.h"
#include "privsep.h"
#include "proc.h"
#include "seal.h"
#include "seccomp_filter.h"

struct vca {
	char		 sandbox[CRED_SANDBOX_SIZE];
	uint8_t		*key;		/* sodium_malloc, PROT_NONE */
	X509		*cert;
	char		*pem;
	size_t		 pemlen;
	time_t		 notafter;
	time_t		 window;	/* leaves counted since */
	unsigned int	 nleaves;
};

static struct credd_conf	*conf;
static uint8_t			*master;	/* sodium_malloc, PROT_NONE */
static struct vca		*cas[CRED_MAXCA];
static int			 ncas;
static int			 cadirfd = -1;
static int			 secdirfd = -1;
static char			 cadir[PATH_MAX + 16], secdir[PATH_MAX + 16];
static struct proc_chan		 lchan;	/* to the listener */
static struct proc_chan		 achan;	/* to the parent: audit */
static struct proc_chan		 xchan;	/* to the exchange: values */
static int			 audit_ready;	/* lensauditd reachable */

static const struct sandbox_syscall vault_syscalls[] = {
	SB_ALLOW(read), SB_ALLOW(write), SB_ALLOW(close),
	SB_ALLOW(recvmsg), SB_ALLOW(sendmsg),
	SB_ALLOW(epoll_wait), SB_ALLOW(epoll_pwait), SB_ALLOW(epoll_ctl),
	SB_ALLOW(poll), SB_ALLOW(rt_sigprocmask), SB_ALLOW(rt_sigaction),
	SB_ALLOW(clock_gettime), SB_ALLOW(gettimeofday), SB_ALLOW(getpid),
	SB_ALLOW(brk), SB_ALLOW(mmap), SB_ALLOW(munmap), SB_ALLOW(mremap),
	/* sodium_malloc, sodium_mprotect_*, sodium_free */
	SB_ALLOW(mprotect), SB_ALLOW(madvise), SB_ALLOW(mlock),
	SB_ALLOW(munlock), SB_ALLOW(getrandom), SB_ALLOW(futex),
	/* the sealed CA files, relative to the CA directory */
	SB_ALLOW(openat), SB_ALLOW(fsync), SB_ALLOW(renameat),
	SB_ALLOW(unlinkat), SB_ALLOW(fstat), SB_ALLOW(newfstatat),
	/* and the credential records: cred ls reads their directory */
	SB_ALLOW(getdents64), SB_ALLOW(fcntl),
	/* no socket, connect, accept: it reaches nobody */
};

static void	vault_stop(void);

static struct vca *
vca_find(const char *sandbox)
{
	int	 i;

	for (i = 0; i < ncas; i++)
		if (strcmp(cas[i]->sandbox, sandbox) == 0)
			return cas[i];
	return NULL;
}

static void
vca_free(struct vca *v)
{
	if (v->key != NULL)
		sodium_free(v->key);	/* zeroes it */
	X509_free(v->cert);
	free(v->pem);
	free(v);
}

static void
vca_remove(struct vca *v)
{
	int	 i;

	for (i = 0; i < ncas; i++)
		if (cas[i] == v) {
			cas[i] = cas[--ncas];
			cas[ncas] = NULL;
			break;
		}
	vca_free(v);
}

/* a new entry owning key and cert; NULL with err if it cannot be */
static struct vca *
vca_add(const char *sandbox, uint8_t *key, X509 *cert, char *err,
    size_t errlen)
{
	struct vca	*v;

	if ((v = calloc(1, sizeof(*v))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	strlcpy(v->sandbox, sandbox, sizeof(v->sandbox));
	v->key = key;
	v->cert = cert;
	if ((v->pem = ca_pem(cert, &v->pemlen)) == NULL ||
	    v->pemlen > CRED_PEM_MAX) {
		snprintf(err, errlen, "cannot write the CA certificate");
		v->key = NULL;
		v->cert = NULL;
		vca_free(v);
		return NULL;
	}
	v->notafter = ca_notafter(cert);
	sodium_mprotect_noaccess(v->key);
	cas[ncas++] = v;
	return v;
}

static void
fname(char *buf, size_t len, const char *sandbox, const char *ext)
{
	snprintf(buf, len, "%s.%s", sandbox, ext);
}

/* the file of a record of kind k, sealed with the master key */
static uint8_t *
seal_master(const struct seal_kind *k, const char *name, const uint8_t *body,
    size_t bodylen, size_t *len)
{
	uint8_t	*file;

	sodium_mprotect_readonly(master);
	file = seal_make(k, name, body, bodylen, master, len);
	sodium_mprotect_noaccess(master);
	if (file == NULL)
		fatal("seal a %s", k->what);
	return file;
}

/*
 * dir/file (dirfd, dirname) opened as the record name of kind k: 0 with
 * its body (sodium_malloc; the caller frees it), or -1 with err naming
 * the file and what is wrong with it.
 */
static int
open_master(const struct seal_kind *k, int dirfd, const char *dirname,
    const char *file, const char *name, uint8_t **body, size_t *bodylen,
    char *err, size_t errlen)
{
	uint8_t	*buf;
	char	 why[256];
	ssize_t	 n;
	int	 rc;

	if ((buf = malloc(seal_maxfile(k) + 1)) == NULL)
		fatal("malloc");
	if ((n = seal_read(dirfd, dirname, file, buf, seal_maxfile(k), err,
	    errlen)) == -1) {
		free(buf);
		return -1;
	}
	sodium_mprotect_readonly(master);
	rc = seal_open(k, name, buf, (size_t)n, master, body, bodylen, why,
	    sizeof(why));
	sodium_mprotect_noaccess(master);
	free(buf);
	if (rc == -1)
		snprintf(err, errlen, "%s/%s: %s", dirname, file, why);
	return rc;
}

/* seal key and cert into CRED_CADIR/SANDBOX.ca, atomically */
static int
seal(const char *sandbox, const uint8_t *key, X509 *cert, char *err,
    size_t errlen)
{
	unsigned char	*der, *body, *file;
	size_t		 derlen, blen, flen;
	char		 tmp[CRED_SANDBOX_SIZE + 8], dst[CRED_SANDBOX_SIZE + 8];
	int		 rc;

	if ((der = ca_der(cert, &derlen)) == NULL || derlen > SEAL_MAXDER) {
		snprintf(err, errlen, "cannot encode the CA certificate");
		OPENSSL_free(der);
		return -1;
	}
	blen = CA_SCALAR_SIZE + derlen;
	if ((body = sodium_malloc(blen)) == NULL)
		fatal("sodium_malloc");
	memcpy(body, key, CA_SCALAR_SIZE);
	memcpy(body + CA_SCALAR_SIZE, der, derlen);
	OPENSSL_free(der);
	file = seal_master(&seal_ca, sandbox, body, blen, &flen);
	sodium_free(body);
	fname(tmp, sizeof(tmp), sandbox, "tmp");
	fname(dst, sizeof(dst), sandbox, "ca");
	rc = seal_write(cadirfd, cadir, tmp, dst, file, flen, err, errlen);
	free(file);
	return rc;
}

/* open CRED_CADIR/name (SANDBOX.ca); fatal if it does not open */
static void
unseal(const char *name)
{
	uint8_t		*body, *key;
	char		 sandbox[CRED_SANDBOX_SIZE], err[512];
	size_t		 blen, nl = strlen(name) - 3;
	X509		*cert;

	if (nl >= sizeof(sandbox))
		fatalx("%s/%s: not a CA file name", cadir, name);
	memcpy(sandbox, name, nl);
	sandbox[nl] = '\0';
	if (gr_ref("sandbox", sandbox, err, sizeof(err)) == -1)
		fatalx("%s/%s: %s", cadir, name, err);
	if (open_master(&seal_ca, cadirfd, cadir, name, sandbox, &body, &blen,
	    err, sizeof(err)) == -1)
		fatalx("%s; restore the master key of this state, or move the "
		    "file aside (sandbox %s then has no CA)", err, sandbox);
	if ((key = sodium_malloc(CA_SCALAR_SIZE)) == NULL)
		fatal("sodium_malloc");
	memcpy(key, body, CA_SCALAR_SIZE);
	if ((cert = ca_from_der(body + CA_SCALAR_SIZE, blen -
	    CA_SCALAR_SIZE)) == NULL || !ca_check(key, cert))
		fatalx("%s/%s: its certificate is not a CA of its key", cadir,
		    name);
	sodium_free(body);
	if (ncas == CRED_MAXCA)
		fatalx("%s: more than %d CA files", cadir, CRED_MAXCA);
	if (vca_add(sandbox, key, cert, err, sizeof(err)) == NULL)
		fatalx("%s/%s: %s", cadir, name, err);
}

/* a directory of the state (dirfd) to read, fatal if it cannot be */
static DIR *
dir_read(int dirfd, const char *dirname)
{
	DIR	*d;
	int	 fd;

	if ((fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1 || (d = fdopendir(fd)) == NULL)
		fatal("read %s", dirname);
	return d;
}

static int
has_suffix(const char *s, const char *suffix)
{
	size_t	 len = strlen(s), slen = strlen(suffix);

	return len > slen && strcmp(s + len - slen, suffix) == 0;
}

static void
load_all(void)
{
	DIR		*d;
	struct dirent	*de;

	if ((cadirfd = open("/" CRED_CADIR, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1)
		fatal("open %s", cadir);
	d = dir_read(cadirfd, cadir);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (has_suffix(de->d_name, ".tmp")) {
			/* a CA that was never made: its sealing was torn */
			log_warnx("removing %s/%s, left by an interrupted "
			    "CA_CREATE", cadir, de->d_name);
			(void)unlinkat(cadirfd, de->d_name, 0);
			continue;
		}
		if (has_suffix(de->d_name, ".ca")) {
			unseal(de->d_name);
			continue;
		}
		fatalx("%s/%s: not a CA file (SANDBOX.ca); move it aside",
		    cadir, de->d_name);
	}
	closedir(d);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/*
 * The names of the credential records, sorted, into names (at most
 * CRED_STORE_MAX); how many.  What an interrupted write left
 * (.NAME.tmp) is removed; a file that is not named as a credential is
 * logged and passed over.
 */
static int
crec_names(char (*names)[CRED_ID_SIZE])
{
	DIR		*d;
	struct dirent	*de;
	char		 err[GR_ERRSIZE];
	int		 n = 0;

	d = dir_read(secdirfd, secdir);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (de->d_name[0] == '.' && has_suffix(de->d_name, ".tmp")) {
			log_warnx("removing %s/%s, left by an interrupted "
			    "write", secdir, de->d_name);
			(void)unlinkat(secdirfd, de->d_name, 0);
			continue;
		}
		if (gr_cred("credential", de->d_name, err, sizeof(err)) ==
		    -1) {
			log_warnx("%s/%s: passed over: %s", secdir,
			    de->d_name, err);
			continue;
		}
		if (n == CRED_STORE_MAX) {
			log_warnx("%s: more than %d credentials; %s and "
			    "others passed over", secdir, CRED_STORE_MAX,
			    de->d_name);
			break;
		}
		strlcpy(names[n++], de->d_name, CRED_ID_SIZE);
	}
	closedir(d);
	qsort(names, n, CRED_ID_SIZE, name_cmp);
	return n;
}

/*
 * The record of credential name: 0 with its times in e and, if body
 * is not NULL, the record's body (sodium_malloc: the times, then the
 * value; the caller frees it); -1 with err naming the file and what is
 * wrong with it.
 */
static int
crec_open(const char *name, struct cred_entry *e, uint8_t **body,
    size_t *bodylen, char *err, size_t errlen)
{
	uint8_t		*b;
	uint64_t	 t[2];
	size_t		 blen;

	memset(e, 0, sizeof(*e));
	strlcpy(e->name, name, sizeof(e->name));
	if (open_master(&seal_cred, secdirfd, secdir, name, name, &b, &blen,
	    err, errlen) == -1)
		return -1;
	memcpy(t, b, sizeof(t));
	e->created = (int64_t)be64toh(t[0]);
	e->rotated = (int64_t)be64toh(t[1]);
	if (body != NULL) {
		*body = b;
		*bodylen = blen;
	} else
		sodium_free(b);
	return 0;
}

/* seal e's times and value (len bytes) into CRED_SECDIR/NAME */
static int
crec_write(const struct cred_entry *e, const uint8_t *value, size_t len,
    char *err, size_t errlen)
{
	uint8_t		*body, *file;
	uint64_t	 t[2];
	size_t		 flen;
	char		 tmp[CRED_ID_SIZE + 8];
	int		 rc;

	if ((body = sodium_malloc(SEAL_TIMES + len)) == NULL)
		fatal("sodium_malloc");
	t[0] = htobe64((uint64_t)e->created);
	t[1] = htobe64((uint64_t)e->rotated);
	memcpy(body, t, sizeof(t));
	memcpy(body + SEAL_TIMES, value, len);
	file = seal_master(&seal_cred, e->name, body, SEAL_TIMES + len,
	    &flen);
	sodium_free(body);
	/* a leading dot: never a credential's name */
	snprintf(tmp, sizeof(tmp), ".%s.tmp", e->name);
	rc = seal_write(secdirfd, secdir, tmp, e->name, file, flen, err,
	    errlen);
	free(file);
	return rc;
}

static void
check_store(void)
{
	char			(*names)[CRED_ID_SIZE], err[512];
	struct cred_entry	 e;
	int			 i, n, bad = 0;

	if ((secdirfd = open("/" CRED_SECDIR, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1)
		fatal("open %s", secdir);
	if ((names = calloc(CRED_STORE_MAX, CRED_ID_SIZE)) == NULL)
		fatal("calloc");
	n = crec_names(names);
	for (i = 0; i < n; i++)
		if (crec_open(names[i], &e, NULL, NULL, err, sizeof(err)) ==
		    -1) {
			/* lenscredd serves on: the others are sound */
			log_warnx("%s", err);
			bad++;
		}
	free(names);
	if (bad)
		log_warnx("%d credential%s in %s, %d of them damaged (above)",
		    n, n == 1 ? "" : "s", secdir, bad);
	else
		log_info("%d credential%s in %s", n, n == 1 ? "" : "s", secdir);
}

static void
reply_error(uint32_t peerid, uint32_t request, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
reply_error(uint32_t peerid, uint32_t request, const char *fmt, ...)
{
	struct cred_error	 e;
	va_list			 ap;

	memset(&e, 0, sizeof(e));
	e.request = request;
	va_start(ap, fmt);
	vsnprintf(e.msg, sizeof(e.msg), fmt, ap);
	va_end(ap);
	log_info("request %#x refused: %s", request, e.msg);
	if (imsgev_compose(&lchan.iev, IMSG_CRED_ERROR, peerid, 0, -1, &e,
	    sizeof(e)) == -1)
		fatal("queue for the listener");
}

static void
reply_ca(uint32_t peerid, const struct vca *v, int created)
{
	struct cred_ca	 c;
	struct ibuf	*b;

	memset(&c, 0, sizeof(c));
	strlcpy(c.sandbox, v->sandbox, sizeof(c.sandbox));
	c.created = created;
	c.pemlen = (uint32_t)v->pemlen;
	c.notafter = v->notafter;
	if ((b = imsg_create(&lchan.iev.ibuf, IMSG_CRED_CA, peerid, 0,
	    sizeof(c) + v->pemlen)) == NULL ||
	    imsg_add(b, &c, sizeof(c)) == -1 ||
	    imsg_add(b, v->pem, v->pemlen) == -1)
		fatal("queue for the listener");
	imsg_close(&lchan.iev.ibuf, b);
	imsgev_add(&lchan.iev);
}

/* a name field of a request (size bytes): NUL-terminated, and check()s */
static int
field_ok(const char *f, size_t size, const char *what,
    int (*check)(const char *, const char *, char *, size_t),
    uint32_t peerid, uint32_t type)
{
	char	 err[GR_ERRSIZE];

	if (memchr(f, '\0', size) == NULL) {
		reply_error(peerid, type, "%s: not NUL-terminated", what);
		return 0;
	}
	if (check(what, f, err, sizeof(err)) == -1) {
		reply_error(peerid, type, "%s", err);
		return 0;
	}
	return 1;
}

static int
sandbox_ok(const char *f, uint32_t peerid, uint32_t type)
{
	return field_ok(f, CRED_SANDBOX_SIZE, "sandbox", gr_ref, peerid, type);
}

static void
msg_create(struct imsg *im, void *arg)
{
	struct cred_sandbox	 r;
	struct vca		*v;
	uint8_t			*key;
	X509			*cert;
	char			 err[GR_ERRSIZE];

	(void)arg;
	memcpy(&r, im->data, sizeof(r));
	if (!sandbox_ok(r.sandbox, im->hdr.peerid, im->hdr.type))
		return;
	if ((v = vca_find(r.sandbox)) != NULL) {
		reply_ca(im->hdr.peerid, v, 0);
		return;
	}
	if (ncas == CRED_MAXCA) {
		reply_error(im->hdr.peerid, im->hdr.type, "sandbox %s: %d "
		    "sandboxes have a CA, the most lenscredd keeps",
		    r.sandbox, CRED_MAXCA);
		return;
	}
	if ((key = sodium_malloc(CA_SCALAR_SIZE)) == NULL)
		fatal("sodium_malloc");
	if (ca_make(r.sandbox, key, &cert, err, sizeof(err)) == -1 ||
	    seal(r.sandbox, key, cert, err, sizeof(err)) == -1) {
		sodium_free(key);
		X509_free(cert);
		reply_error(im->hdr.peerid, im->hdr.type, "sandbox %s: %s",
		    r.sandbox, err);
		return;
	}
	if ((v = vca_add(r.sandbox, key, cert, err, sizeof(err))) == NULL) {
		reply_error(im->hdr.peerid, im->hdr.type, "sandbox %s: %s",
		    r.sandbox, err);
		return;
	}
	log_info("sandbox %s: CA created", r.sandbox);
	reply_ca(im->hdr.peerid, v, 1);
}

static struct vca *
known(const char *sandbox, uint32_t peerid, uint32_t type)
{
	struct vca	*v;

	if ((v = vca_find(sandbox)) == NULL)
		reply_error(peerid, type, "sandbox %s has no CA", sandbox);
	return v;
}

static void
msg_get(struct imsg *im, void *arg)
{
	struct cred_sandbox	 r;
	struct vca		*v;

	(void)arg;
	memcpy(&r, im->data, sizeof(r));
	if (sandbox_ok(r.sandbox, im->hdr.peerid, im->hdr.type) &&
	    (v = known(r.sandbox, im->hdr.peerid, im->hdr.type)) != NULL)
		reply_ca(im->hdr.peerid, v, 0);
}

static void
msg_destroy(struct imsg *im, void *arg)
{
	struct cred_sandbox	 r, d;
	struct vca		*v;
	char			 fn[CRED_SANDBOX_SIZE + 8];

	(void)arg;
	memcpy(&r, im->data, sizeof(r));
	if (!sandbox_ok(r.sandbox, im->hdr.peerid, im->hdr.type) ||
	    (v = known(r.sandbox, im->hdr.peerid, im->hdr.type)) == NULL)
		return;
	fname(fn, sizeof(fn), r.sandbox, "ca");
	if (unlinkat(cadirfd, fn, 0) == -1 && errno != ENOENT) {
		reply_error(im->hdr.peerid, im->hdr.type, "sandbox %s: "
		    "remove %s/%s: %s", r.sandbox, CRED_CADIR, fn,
		    strerror(errno));
		return;
	}
	(void)fsync(cadirfd);
	vca_remove(v);
	log_info("sandbox %s: CA destroyed", r.sandbox);
	memset(&d, 0, sizeof(d));
	strlcpy(d.sandbox, r.sandbox, sizeof(d.sandbox));
	if (imsgev_compose(&lchan.iev, IMSG_CRED_DESTROYED, im->hdr.peerid,
	    0, -1, &d, sizeof(d)) == -1)
		fatal("queue for the listener");
}

static void
msg_leaf(struct imsg *im, void *arg)
{
	struct cred_leaf_req	 r;
	struct cred_leaf	 l;
	struct vca		*v;
	struct ibuf		*b;
	char			 name[CRED_NAME_SIZE], err[GR_ERRSIZE];
	char			*chain, *keypem;
	size_t			 chainlen, keylen;
	time_t			 now = time(NULL), notafter;
	int			 is_ip, rc;

	(void)arg;
	memcpy(&r, im->data, sizeof(r));
	if (!sandbox_ok(r.sandbox, im->hdr.peerid, im->hdr.type))
		return;
	if (memchr(r.name, '\0', sizeof(r.name)) == NULL) {
		reply_error(im->hdr.peerid, im->hdr.type, "name: not "
		    "NUL-terminated");
		return;
	}
	if (ca_name_check(r.name, name, sizeof(name), &is_ip, err,
	    sizeof(err)) == -1) {
		reply_error(im->hdr.peerid, im->hdr.type, "sandbox %s: %s",
		    r.sandbox, err);
		return;
	}
	if ((v = known(r.sandbox, im->hdr.peerid, im->hdr.type)) == NULL)
		return;
	if (now - v->window >= 3600 || now < v->window) {
		v->window = now;
		v->nleaves = 0;
	}
	if (v->nleaves >= conf->leaves_hour) {
		reply_error(im->hdr.peerid, im->hdr.type, "sandbox %s: %u "
		    "leaves this hour, the most it may have (-L)", r.sandbox,
		    conf->leaves_hour);
		return;
	}
	sodium_mprotect_readonly(v->key);
	rc = ca_leaf(v->key, v->cert, name, is_ip, &chain, &chainlen,
	    &keypem, &keylen, &notafter, err, sizeof(err));
	sodium_mprotect_noaccess(v->key);
	if (rc == -1) {
		reply_error(im->hdr.peerid, im->hdr.type, "sandbox %s, name "
		    "%s: %s", r.sandbox, name, err);
		return;
	}
	if (chainlen + keylen > CRED_PEM_MAX)
		fatalx("a leaf of %zu bytes", chainlen + keylen);
	v->nleaves++;
	memset(&l, 0, sizeof(l));
	strlcpy(l.sandbox, v->sandbox, sizeof(l.sandbox));
	l.chainlen = (uint32_t)chainlen;
	l.keylen = (uint32_t)keylen;
	l.notafter = notafter;
	if ((b = imsg_create(&lchan.iev.ibuf, IMSG_CRED_LEAF, im->hdr.peerid,
	    0, sizeof(l) + chainlen + keylen)) == NULL ||
	    imsg_add(b, &l, sizeof(l)) == -1 ||
	    imsg_add(b, chain, chainlen) == -1 ||
	    imsg_add(b, keypem, keylen) == -1)
		fatal("queue for the listener");
	imsg_close(&lchan.iev.ibuf, b);
	imsgev_add(&lchan.iev);
	free(chain);
	freezero(keypem, keylen);
	log_debug("sandbox %s: leaf for %s", v->sandbox, name);
}

static void
reply_stored(uint32_t peerid, const struct cred_entry *e)
{
	if (imsgev_compose(&lchan.iev, IMSG_CRED_STORED, peerid, 0, -1, e,
	    sizeof(*e)) == -1)
		fatal("queue for the listener");
}

/* no change to the store that cannot be audited */
static int
can_audit(uint32_t peerid, uint32_t type, const char *name)
{
	if (!audit_ready)
		reply_error(peerid, type, "credential %s: lensauditd is not "
		    "reachable: no change to the credential store without an "
		    "audit log", name);
	return audit_ready;
}

/* type ("cred.add") of name, asked by pid: to lensauditd via the parent */
static void
audit(const char *type, const char *name, pid_t pid)
{
	struct credd_audit	 a;

	memset(&a, 0, sizeof(a));
	strlcpy(a.type, type, sizeof(a.type));
	strlcpy(a.name, name, sizeof(a.name));
	a.pid = (uint32_t)pid;
	if (imsgev_compose(&achan.iev, IMSG_CREDD_AUDIT, 0, 0, -1, &a,
	    sizeof(a)) == -1)
		fatal("queue for the parent");
}

static int
crec_exists(const char *name)
{
	struct stat	 st;

	return fstatat(secdirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* STORE_ADD, STORE_ROTATE: a value for name; the message is zeroed */
static void
msg_store(struct imsg *im, void *arg)
{
	struct cred_store	 r;
	struct cred_entry	 e;
	char			(*names)[CRED_ID_SIZE], err[512];
	const uint8_t		*value = (uint8_t *)im->data + sizeof(r);
	size_t			 len = im->datalen - sizeof(r);
	int			 rotate = im->hdr.type == IMSG_CRED_STORE_ROTATE;
	uint32_t		 id = im->hdr.peerid, type = im->hdr.type;

	(void)arg;
	memcpy(&r, im->data, sizeof(r));
	if (!field_ok(r.name, sizeof(r.name), "credential", gr_cred, id, type))
		goto done;
	if (r.secretlen != len) {
		reply_error(id, type, "credential %s: secretlen %u, but %zu "
		    "bytes follow", r.name, r.secretlen, len);
		goto done;
	}
	if (!can_audit(id, type, r.name))
		goto done;
	if (rotate) {
		if (!crec_exists(r.name)) {
			reply_error(id, type, "credential %s does not exist",
			    r.name);
			goto done;
		}
		if (crec_open(r.name, &e, NULL, NULL, err, sizeof(err)) ==
		    -1) {
			reply_error(id, type, "%s; remove it (cred rm) and "
			    "add it again", err);
			goto done;
		}
		e.rotated = time(NULL);
	} else {
		if (crec_exists(r.name)) {
			reply_error(id, type, "credential %s exists (cred "
			    "rotate gives it a new value)", r.name);
			goto done;
		}
		if ((names = calloc(CRED_STORE_MAX, CRED_ID_SIZE)) == NULL)
			fatal("calloc");
		if (crec_names(names) >= CRED_STORE_MAX) {
			free(names);
			reply_error(id, type, "credential %s: the store holds "
			    "%d, the most it may", r.name, CRED_STORE_MAX);
			goto done;
		}
		free(names);
		memset(&e, 0, sizeof(e));
		strlcpy(e.name, r.name, sizeof(e.name));
		e.created = time(NULL);
	}
	if (crec_write(&e, value, len, err, sizeof(err)) == -1) {
		reply_error(id, type, "credential %s: %s", r.name, err);
		goto done;
	}
	log_info("credential %s %s", e.name, rotate ? "rotated" : "added");
	audit(rotate ? "cred.rotate" : "cred.add", e.name, im->hdr.pid);
	reply_stored(id, &e);
done:
	explicit_bzero(im->data, im->datalen);
}

static void
msg_rm(struct imsg *im, void *arg)
{
	struct cred_id		 r;
	struct cred_entry	 e;
	uint32_t		 id = im->hdr.peerid, type = im->hdr.type;

	(void)arg;
	memcpy(&r, im->data, sizeof(r));
	if (!field_ok(r.name, sizeof(r.name), "credential", gr_cred, id,
	    type) || !can_audit(id, type, r.name))
		return;
	if (unlinkat(secdirfd, r.name, 0) == -1) {
		if (errno == ENOENT)
			reply_error(id, type, "credential %s does not exist",
			    r.name);
		else
			reply_error(id, type, "credential %s: remove %s/%s: %s",
			    r.name, secdir, r.name, strerror(errno));
		return;
	}
	(void)fsync(secdirfd);
	log_info("credential %s removed", r.name);
	audit("cred.rm", r.name, im->hdr.pid);
	memset(&e, 0, sizeof(e));
	strlcpy(e.name, r.name, sizeof(e.name));
	reply_stored(id, &e);
}

/* STORE_LS: every record's name and times, or why it does not open */
static void
msg_ls(struct imsg *im, void *arg)
{
	struct cred_list	 l;
	struct cred_entry	*e;
	struct ibuf		*b;
	char			(*names)[CRED_ID_SIZE], err[512];
	int			 i, n;

	(void)arg;
	if ((names = calloc(CRED_STORE_MAX, CRED_ID_SIZE)) == NULL ||
	    (e = calloc(CRED_STORE_MAX, sizeof(*e))) == NULL)
		fatal("calloc");
	n = crec_names(names);
	for (i = 0; i < n; i++)
		if (crec_open(names[i], &e[i], NULL, NULL, err, sizeof(err)) ==
		    -1)
			strlcpy(e[i].damaged, err, sizeof(e[i].damaged));
	memset(&l, 0, sizeof(l));
	l.n = (uint32_t)n;
	if ((b = imsg_create(&lchan.iev.ibuf, IMSG_CRED_LIST, im->hdr.peerid,
	    0, sizeof(l) + n * sizeof(*e))) == NULL ||
	    imsg_add(b, &l, sizeof(l)) == -1 ||
	    imsg_add(b, e, n * sizeof(*e)) == -1)
		fatal("queue for the listener");
	imsg_close(&lchan.iev.ibuf, b);
	imsgev_add(&lchan.iev);
	free(names);
	free(e);
}

/* the exchange asks for the value of a credential it injects */
static void
msg_value_req(struct imsg *im, void *arg)
{
	struct credd_value_req	 r;
	struct credd_value	 v;
	struct cred_entry	 e;
	struct ibuf		*b;
	uint8_t			*body = NULL;
	size_t			 blen = 0;
	char			 err[GR_ERRSIZE + 256];

	(void)arg;
	memcpy(&r, im->data, sizeof(r));
	memset(&v, 0, sizeof(v));
	v.id = r.id;
	if (memchr(r.name, '\0', sizeof(r.name)) == NULL ||
	    gr_cred("credential", r.name, err, sizeof(err)) == -1) {
		fatalx("exchange: a VALUE_REQ for a bad name");
	} else if (!crec_exists(r.name))
		snprintf(v.err, sizeof(v.err), "credential %s is not stored",
		    r.name);
	else if (crec_open(r.name, &e, &body, &blen, err, sizeof(err)) == -1)
		strlcpy(v.err, err, sizeof(v.err));
	else if (blen <= SEAL_TIMES)
		snprintf(v.err, sizeof(v.err), "credential %s: no value",
		    r.name);
	else
		v.len = (uint32_t)(blen - SEAL_TIMES);
	if ((b = imsg_create(&xchan.iev.ibuf, IMSG_CREDD_VALUE, 0, 0,
	    sizeof(v) + v.len)) == NULL || imsg_add(b, &v, sizeof(v)) == -1 ||
	    (v.len > 0 && imsg_add(b, body + SEAL_TIMES, v.len) == -1))
		fatal("queue for the exchange");
	imsg_close(&xchan.iev.ibuf, b);	/* zeroed by imsg once sent */
	imsgev_add(&xchan.iev);
	if (body != NULL)
		sodium_free(body);
	log_debug("credential %s: value to the exchange%s", r.name,
	    v.len == 0 ? " refused" : "");
}

/*
 * oauth2Refresh: the token endpoint rotated the refresh token; the
 * exchange sends the new value ([LF client secret] kept) for the
 * credential it just used.  Written like cred rotate (created kept,
 * rotated now); audited by the exchange's cred.refresh ("rotated").
 * A name that is not stored is refused: the exchange never makes one.
 */
static void
msg_rotate(struct imsg *im, void *arg)
{
	struct credd_rotate	 r;
	struct cred_entry	 e;
	char			 err[GR_ERRSIZE + 256];
	size_t			 len = im->datalen - sizeof(r);

	(void)arg;
	memcpy(&r, im->data, sizeof(r));
	if (memchr(r.name, '\0', sizeof(r.name)) == NULL ||
	    gr_cred("credential", r.name, err, sizeof(err)) == -1 ||
	    r.len != len || len == 0)
		fatalx("exchange: a bad ROTATE message");
	if (!crec_exists(r.name))
		log_warnx("credential %s: the refresh token it rotated to is "
		    "dropped: the credential was removed", r.name);
	else if (crec_open(r.name, &e, NULL, NULL, err, sizeof(err)) == -1)
		log_warnx("credential %s: the rotated refresh token is not "
		    "stored: %s", r.name, err);
	else {
		e.rotated = time(NULL);
		if (crec_write(&e, (uint8_t *)im->data + sizeof(r), len, err,
		    sizeof(err)) == -1)
			log_warnx("credential %s: the rotated refresh token "
			    "is not stored: %s", r.name, err);
		else
			log_info("credential %s: refresh token rotated by its "
			    "token endpoint", r.name);
	}
	explicit_bzero(im->data, im->datalen);
}

static const struct proc_msg exchange_msgs[] = {
	PROC_MSG(IMSG_CREDD_VALUE_REQ, sizeof(struct credd_value_req),
	    msg_value_req),
	PROC_MSGV(IMSG_CREDD_ROTATE, sizeof(struct credd_rotate) + 1,
	    sizeof(struct credd_rotate) + CRED_SECRET_MAX, msg_rotate),
};

static void
exchange_lost(struct proc_chan *ch, const char *why)
{
	(void)ch;
	vault_stop();
	if (strcmp(why, "gone") == 0)
		exit(0);
	fatalx("exchange: %s", why);
}

/* sizes are checked by proc_dispatch() before these run */
static const struct proc_msg listener_msgs[] = {
	PROC_MSG(IMSG_CRED_CA_CREATE, sizeof(struct cred_sandbox), msg_create),
	PROC_MSG(IMSG_CRED_CA_GET, sizeof(struct cred_sandbox), msg_get),
	PROC_MSG(IMSG_CRED_CA_DESTROY, sizeof(struct cred_sandbox),
	    msg_destroy),
	PROC_MSG(IMSG_CRED_LEAF_REQ, sizeof(struct cred_leaf_req), msg_leaf),
	PROC_MSGV(IMSG_CRED_STORE_ADD, sizeof(struct cred_store) + 1,
	    sizeof(struct cred_store) + CRED_SECRET_MAX, msg_store),
	PROC_MSGV(IMSG_CRED_STORE_ROTATE, sizeof(struct cred_store) + 1,
	    sizeof(struct cred_store) + CRED_SECRET_MAX, msg_store),
	PROC_MSG(IMSG_CRED_STORE_RM, sizeof(struct cred_id), msg_rm),
	PROC_MSG(IMSG_CRED_STORE_LS, 0, msg_ls),
};

static void
vault_stop(void)
{
	while (ncas > 0)
		vca_remove(cas[0]);
	if (master != NULL)
		sodium_free(master);
	master = NULL;
}

static void
vault_lost(struct proc_chan *ch, const char *why)
{
	(void)ch;
	vault_stop();
	/* the listener stopped (SIGTERM): nothing left to serve */
	if (strcmp(why, "gone") == 0)
		exit(0);
	fatalx("listener: %s", why);
}

static void
msg_audit_state(struct imsg *im, void *arg)
{
	struct credd_audit_state	 st;

	(void)arg;
	memcpy(&st, im->data, sizeof(st));
	audit_ready = st.ready != 0;
}

static const struct proc_msg parent_msgs[] = {
	PROC_MSG(IMSG_CREDD_AUDIT_STATE, sizeof(struct credd_audit_state),
	    msg_audit_state),
};

static void
parent_lost(struct proc_chan *ch, const char *why)
{
	(void)ch;
	vault_stop();
	fatalx("parent went away (audit link: %s)", why);
}

static void
vault_preinit(void *arg)
{
	uint8_t	 extra;
	ssize_t	 n;

	(void)arg;
	ca_init();
	if ((master = sodium_malloc(CRED_MASTERKEY_SIZE)) == NULL)
		fatal("sodium_malloc");
	n = pread(conf->keyfd, master, CRED_MASTERKEY_SIZE, 0);
	if (n != CRED_MASTERKEY_SIZE ||
	    pread(conf->keyfd, &extra, 1, CRED_MASTERKEY_SIZE) != 0)
		fatalx("%s/%s: cannot read %d bytes", conf->dir,
		    CRED_MASTERKEY, CRED_MASTERKEY_SIZE);
	close(conf->keyfd);
	conf->keyfd = -1;
	sodium_mprotect_noaccess(master);
}

static void
vault_init(void *arg)
{
	int	 parentfd = *(int *)arg;

	/* no core, no ptrace by its own uid, /proc/PID owned by root */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("PR_SET_DUMPABLE");
	snprintf(cadir, sizeof(cadir), "%s/%s", conf->dir, CRED_CADIR);
	snprintf(secdir, sizeof(secdir), "%s/%s", conf->dir, CRED_SECDIR);
	load_all();
	check_store();
	/* keys zeroed on SIGTERM and when the parent is gone */
	proc_watch_parent(parentfd, vault_stop);
	proc_chan_init(&lchan, conf->link[1], "listener", listener_msgs,
	    sizeof(listener_msgs) / sizeof(listener_msgs[0]), NULL);
	lchan.lost = vault_lost;
	proc_chan_init(&achan, conf->alink[1], "parent", parent_msgs,
	    sizeof(parent_msgs) / sizeof(parent_msgs[0]), NULL);
	achan.lost = parent_lost;
	proc_chan_init(&xchan, conf->vxlink[0], "exchange", exchange_msgs,
	    sizeof(exchange_msgs) / sizeof(exchange_msgs[0]), NULL);
	xchan.lost = exchange_lost;
	log_info("ready: %d sandbox CA%s in %s", ncas, ncas == 1 ? "" : "s",
	    cadir);
}

int
vault_main(int parentfd, void *arg)
{
	const struct proc_role	 role = {
		.name = "vault",
		.root = ((struct credd_conf *)arg)->dir,
		PROC_SECCOMP(vault_syscalls),
		.preinit = vault_preinit,
		.init = vault_init,
	};

	conf = arg;
	return proc_start(&role, &conf->user, conf->parent, &parentfd);
}
