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
 * sealed with the master key (crypto_secretbox): "LENSCA1\n", a
 * random nonce, and the box of the sandbox name (NUL-padded to
 * CRED_SANDBOX_SIZE), the key's scalar and the certificate (DER).  A
 * file the master key does not open stops the vault: it is never
 * replaced by a new CA behind the guest's back.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
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
#include "seccomp_filter.h"

#define SEAL_MAGIC	"LENSCA1\n"
#define SEAL_MAGICLEN	8
#define SEAL_MAXDER	4096
#define SEAL_PLAIN	(CRED_SANDBOX_SIZE + CA_SCALAR_SIZE)
#define SEAL_MAXFILE	(SEAL_MAGICLEN + crypto_secretbox_NONCEBYTES + \
			    crypto_secretbox_MACBYTES + SEAL_PLAIN + SEAL_MAXDER)

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
static struct proc_chan		 lchan;	/* to the listener */

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
	/* no socket, connect, accept: it reaches nobody */
};

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

/* seal key and cert into CRED_CADIR/SANDBOX.ca, atomically */
static int
seal(const char *sandbox, const uint8_t *key, X509 *cert, char *err,
    size_t errlen)
{
	unsigned char	*der, *plain, *file;
	size_t		 derlen, plen, flen;
	char		 tmp[CRED_SANDBOX_SIZE + 8], dst[CRED_SANDBOX_SIZE + 8];
	int		 fd, rc = -1;

	if ((der = ca_der(cert, &derlen)) == NULL || derlen > SEAL_MAXDER) {
		snprintf(err, errlen, "cannot encode the CA certificate");
		OPENSSL_free(der);
		return -1;
	}
	plen = SEAL_PLAIN + derlen;
	flen = SEAL_MAGICLEN + crypto_secretbox_NONCEBYTES +
	    crypto_secretbox_MACBYTES + plen;
	if ((plain = sodium_malloc(plen)) == NULL ||
	    (file = malloc(flen)) == NULL)
		fatal("seal buffers");
	memset(plain, 0, CRED_SANDBOX_SIZE);
	strlcpy((char *)plain, sandbox, CRED_SANDBOX_SIZE);
	memcpy(plain + CRED_SANDBOX_SIZE, key, CA_SCALAR_SIZE);
	memcpy(plain + SEAL_PLAIN, der, derlen);
	OPENSSL_free(der);
	memcpy(file, SEAL_MAGIC, SEAL_MAGICLEN);
	randombytes_buf(file + SEAL_MAGICLEN, crypto_secretbox_NONCEBYTES);
	sodium_mprotect_readonly(master);
	crypto_secretbox_easy(file + SEAL_MAGICLEN +
	    crypto_secretbox_NONCEBYTES, plain, plen, file + SEAL_MAGICLEN,
	    master);
	sodium_mprotect_noaccess(master);
	sodium_free(plain);

	fname(tmp, sizeof(tmp), sandbox, "tmp");
	fname(dst, sizeof(dst), sandbox, "ca");
	if ((fd = openat(cadirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1) {
		snprintf(err, errlen, "create %s/%s: %s", CRED_CADIR, tmp,
		    strerror(errno));
		goto done;
	}
	if (write(fd, file, flen) != (ssize_t)flen || fsync(fd) == -1) {
		snprintf(err, errlen, "write %s/%s: %s", CRED_CADIR, tmp,
		    strerror(errno));
		close(fd);
		(void)unlinkat(cadirfd, tmp, 0);
		goto done;
	}
	close(fd);
	if (renameat(cadirfd, tmp, cadirfd, dst) == -1 ||
	    fsync(cadirfd) == -1) {
		snprintf(err, errlen, "rename to %s/%s: %s", CRED_CADIR, dst,
		    strerror(errno));
		(void)unlinkat(cadirfd, tmp, 0);
		goto done;
	}
	rc = 0;
done:
	free(file);
	return rc;
}

/* open CRED_CADIR/name (SANDBOX.ca); fatal if it does not open */
static void
unseal(const char *name)
{
	unsigned char	 file[SEAL_MAXFILE + 1], *plain, *key;
	char		 sandbox[CRED_SANDBOX_SIZE], err[GR_ERRSIZE];
	size_t		 plen, nl = strlen(name) - 3;
	ssize_t		 n;
	X509		*cert;
	int		 fd;

	if (nl >= sizeof(sandbox))
		fatalx("%s/%s/%s: not a CA file name", conf->dir, CRED_CADIR,
		    name);
	memcpy(sandbox, name, nl);
	sandbox[nl] = '\0';
	if (gr_ref("sandbox", sandbox, err, sizeof(err)) == -1)
		fatalx("%s/%s/%s: %s", conf->dir, CRED_CADIR, name, err);
	if ((fd = openat(cadirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) ==
	    -1)
		fatal("open %s/%s/%s", conf->dir, CRED_CADIR, name);
	n = read(fd, file, sizeof(file));
	close(fd);
	if (n < (ssize_t)(SEAL_MAGICLEN + crypto_secretbox_NONCEBYTES +
	    crypto_secretbox_MACBYTES + SEAL_PLAIN + 1) ||
	    n > SEAL_MAXFILE || memcmp(file, SEAL_MAGIC, SEAL_MAGICLEN) != 0)
		fatalx("%s/%s/%s: not a sealed CA file (size %zd)", conf->dir,
		    CRED_CADIR, name, n);
	plen = (size_t)n - SEAL_MAGICLEN - crypto_secretbox_NONCEBYTES -
	    crypto_secretbox_MACBYTES;
	if ((plain = sodium_malloc(plen)) == NULL ||
	    (key = sodium_malloc(CA_SCALAR_SIZE)) == NULL)
		fatal("sodium_malloc");
	sodium_mprotect_readonly(master);
	if (crypto_secretbox_open_easy(plain, file + SEAL_MAGICLEN +
	    crypto_secretbox_NONCEBYTES, (size_t)n - SEAL_MAGICLEN -
	    crypto_secretbox_NONCEBYTES, file + SEAL_MAGICLEN, master) != 0)
		fatalx("%s/%s/%s: the master key does not open it (another "
		    "master key, or a damaged file); restore the master key "
		    "of this state, or move the file aside (sandbox %s then "
		    "has no CA)", conf->dir, CRED_CADIR, name, sandbox);
	sodium_mprotect_noaccess(master);
	if (memchr(plain, '\0', CRED_SANDBOX_SIZE) == NULL ||
	    strcmp((char *)plain, sandbox) != 0)
		fatalx("%s/%s/%s: sealed for another sandbox", conf->dir,
		    CRED_CADIR, name);
	memcpy(key, plain + CRED_SANDBOX_SIZE, CA_SCALAR_SIZE);
	if ((cert = ca_from_der(plain + SEAL_PLAIN, plen - SEAL_PLAIN)) ==
	    NULL || !ca_check(key, cert))
		fatalx("%s/%s/%s: its certificate is not a CA of its key",
		    conf->dir, CRED_CADIR, name);
	sodium_free(plain);
	if (ncas == CRED_MAXCA)
		fatalx("%s/%s: more than %d CA files", conf->dir, CRED_CADIR,
		    CRED_MAXCA);
	if (vca_add(sandbox, key, cert, err, sizeof(err)) == NULL)
		fatalx("%s/%s/%s: %s", conf->dir, CRED_CADIR, name, err);
}

static void
load_all(void)
{
	DIR		*d;
	struct dirent	*de;
	size_t		 len;
	int		 fd;

	if ((cadirfd = open("/" CRED_CADIR, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1)
		fatal("open %s/%s", conf->dir, CRED_CADIR);
	if ((fd = dup(cadirfd)) == -1 || (d = fdopendir(fd)) == NULL)
		fatal("read %s/%s", conf->dir, CRED_CADIR);
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (de->d_name[0] == '.')
			continue;
		if (len > 4 && strcmp(de->d_name + len - 4, ".tmp") == 0) {
			/* a CA that was never made: its sealing was torn */
			log_warnx("removing %s/%s/%s, left by an interrupted "
			    "CA_CREATE", conf->dir, CRED_CADIR, de->d_name);
			(void)unlinkat(cadirfd, de->d_name, 0);
			continue;
		}
		if (len > 3 && strcmp(de->d_name + len - 3, ".ca") == 0) {
			unseal(de->d_name);
			continue;
		}
		fatalx("%s/%s/%s: not a CA file (SANDBOX.ca); move it aside",
		    conf->dir, CRED_CADIR, de->d_name);
	}
	closedir(d);
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

/* the sandbox field of a request: NUL-terminated and a sandbox name */
static int
sandbox_ok(const char *f, uint32_t peerid, uint32_t type)
{
	char	 err[GR_ERRSIZE];

	if (memchr(f, '\0', CRED_SANDBOX_SIZE) == NULL) {
		reply_error(peerid, type, "sandbox: not NUL-terminated");
		return 0;
	}
	if (gr_ref("sandbox", f, err, sizeof(err)) == -1) {
		reply_error(peerid, type, "%s", err);
		return 0;
	}
	return 1;
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

/* sizes are checked by proc_dispatch() before these run */
static const struct proc_msg listener_msgs[] = {
	PROC_MSG(IMSG_CRED_CA_CREATE, sizeof(struct cred_sandbox), msg_create),
	PROC_MSG(IMSG_CRED_CA_GET, sizeof(struct cred_sandbox), msg_get),
	PROC_MSG(IMSG_CRED_CA_DESTROY, sizeof(struct cred_sandbox),
	    msg_destroy),
	PROC_MSG(IMSG_CRED_LEAF_REQ, sizeof(struct cred_leaf_req), msg_leaf),
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
	load_all();
	/* keys zeroed on SIGTERM and when the parent is gone */
	proc_watch_parent(parentfd, vault_stop);
	proc_chan_init(&lchan, conf->link[1], "listener", listener_msgs,
	    sizeof(listener_msgs) / sizeof(listener_msgs[0]), NULL);
	lchan.lost = vault_lost;
	log_info("ready: %d sandbox CA%s in %s/%s", ncas, ncas == 1 ? "" :
	    "s", conf->dir, CRED_CADIR);
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
