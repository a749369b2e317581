/*
 * TLS interception, the OpenSSL side (tlsx.h).
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <errno.h>
#include <event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "pemcert.h"
#include "tlsx.h"

#define LEAF_CACHE_MAX	512	/* leaves kept, all sandboxes */
#define LEAF_MARGIN	600	/* seconds before notAfter: asked again */

struct tlsx_leaf {
	int		 refs;
	char		 name[256];
	SSL_CTX		*ctx;
	time_t		 notafter;
};

struct centry {
	TAILQ_ENTRY(centry)	 entry;		/* oldest first */
	uint32_t		 sbx;
	struct tlsx_leaf	*leaf;
};

static TAILQ_HEAD(, centry)	 cache = TAILQ_HEAD_INITIALIZER(cache);
static size_t			 ncache;
static SSL_CTX			*client_ctx;
static X509_STORE		*sys_store;

static void
ssl_err(char *err, size_t errlen, const char *what)
{
	unsigned long	 e = ERR_peek_last_error();
	char		 buf[200];

	if (e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(err, errlen, "%s: %s", what, buf);
	} else
		snprintf(err, errlen, "%s", what);
	ERR_clear_error();
}

int
tlsx_preinit(const char *trust, char *err, size_t errlen)
{
	const char	*file = trust;
	X509_STORE	*st;

	/*
	 * its configuration, providers and seed: all before the chroot;
	 * no cleanup at exit (its locks would want futex(2), which the
	 * seccomp filter does not allow: there is nothing to clean)
	 */
	if (OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG |
	    OPENSSL_INIT_NO_ATEXIT, NULL) != 1 ||
	    RAND_status() != 1) {
		ssl_err(err, errlen, "OpenSSL initialisation");
		return -1;
	}
	if ((client_ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(client_ctx, TLS1_2_VERSION) != 1) {
		ssl_err(err, errlen, "upstream TLS context");
		return -1;
	}
	SSL_CTX_set_verify(client_ctx, SSL_VERIFY_PEER, NULL);
	/* the relay retries a write from a buffer it may have compacted */
	SSL_CTX_set_mode(client_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_session_cache_mode(client_ctx, SSL_SESS_CACHE_OFF);
	if (file == NULL && (file = getenv(X509_get_default_cert_file_env()))
	    == NULL)
		file = X509_get_default_cert_file();
	/*
	 * loaded whole now: a hashed directory would be read at verify
	 * time, inside the empty chroot
	 */
	st = SSL_CTX_get_cert_store(client_ctx);
	if (X509_STORE_load_file(st, file) != 1) {
		ssl_err(err, errlen, file);
		if (trust != NULL)
			return -1;
		/* no system bundle: every upstream fails to verify */
		log_warnx("proxy: no trust store (%s): intercepted upstreams "
		    "cannot be verified", err);
		ERR_clear_error();
	}
	sys_store = st;
	return 0;
}

X509_STORE *
tlsx_store(const char *pem, size_t len, char *err, size_t errlen)
{
	STACK_OF(X509_OBJECT)	*objs;
	X509_STORE		*st;
	X509			*x;
	BIO			*b;
	int			 i, n = 0;

	if ((st = X509_STORE_new()) == NULL) {
		ssl_err(err, errlen, "X509_STORE_new");
		return NULL;
	}
	objs = X509_STORE_get0_objects(sys_store);
	for (i = 0; i < sk_X509_OBJECT_num(objs); i++)
		if ((x = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i)))
		    != NULL && X509_STORE_add_cert(st, x) != 1)
			ERR_clear_error();	/* a duplicate */
	if ((b = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		X509_STORE_free(st);
		ssl_err(err, errlen, "BIO_new_mem_buf");
		return NULL;
	}
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if (X509_STORE_add_cert(st, x) == 1)
			n++;
		X509_free(x);
	}
	ERR_clear_error();
	BIO_free(b);
	if (n == 0) {
		X509_STORE_free(st);
		snprintf(err, errlen, "no certificate in it");
		return NULL;
	}
	return st;
}

/* SNI: the name the decision was made on, nothing else, never none */
static int
leaf_servername(SSL *ssl, int *alert, void *arg)
{
	const char	*want = SSL_get_app_data(ssl);
	const char	*sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);

	(void)arg;
	if (want == NULL || sni == NULL || strcasecmp(sni, want) != 0) {
		*alert = SSL_AD_UNRECOGNIZED_NAME;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	return SSL_TLSEXT_ERR_OK;
}

/* HTTP/1.1 only: h2 is never offered to the sandbox */
static int
leaf_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char	 h11[] = "\x08http/1.1";
	unsigned char			*sel;

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto(&sel, outlen, h11, sizeof(h11) - 1, in,
	    inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

struct tlsx_leaf *
tlsx_leaf_new(const char *name, const char *chain, size_t chainlen,
    const char *key, size_t keylen, time_t notafter, char *err, size_t errlen)
{
	struct tlsx_leaf	*l;
	X509			*x = NULL, *ca = NULL;
	EVP_PKEY		*pk = NULL;
	BIO			*b = NULL;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->refs = 1;
	l->notafter = notafter;
	if (strlcpy(l->name, name, sizeof(l->name)) >= sizeof(l->name)) {
		snprintf(err, errlen, "name too long");
		goto fail;
	}
	if ((b = BIO_new_mem_buf(chain, (int)chainlen)) == NULL ||
	    (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL ||
	    (ca = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL) {
		ssl_err(err, errlen, "leaf chain");
		goto fail;
	}
	BIO_free(b);
	if ((b = BIO_new_mem_buf(key, (int)keylen)) == NULL ||
	    (pk = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)) == NULL) {
		ssl_err(err, errlen, "leaf key");
		goto fail;
	}
	/* the leaf must be for this name: lenscredd answered what was asked */
	if (X509_check_host(x, name, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
	    NULL) != 1) {
		snprintf(err, errlen, "the leaf is not for %s", name);
		goto fail;
	}
	if ((l->ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(l->ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_use_certificate(l->ctx, x) != 1 ||
	    SSL_CTX_add1_chain_cert(l->ctx, ca) != 1 ||
	    SSL_CTX_use_PrivateKey(l->ctx, pk) != 1 ||
	    SSL_CTX_check_private_key(l->ctx) != 1) {
		ssl_err(err, errlen, "leaf context");
		goto fail;
	}
	SSL_CTX_set_session_cache_mode(l->ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(l->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_options(l->ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
	(void)SSL_CTX_set_num_tickets(l->ctx, 0);
	SSL_CTX_set_tlsext_servername_callback(l->ctx, leaf_servername);
	SSL_CTX_set_alpn_select_cb(l->ctx, leaf_alpn, NULL);
	BIO_free(b);
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(pk);
	return l;
fail:
	BIO_free(b);
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(pk);
	SSL_CTX_free(l->ctx);
	free(l);
	ERR_clear_error();
	return NULL;
}

struct tlsx_leaf *
tlsx_leaf_ref(struct tlsx_leaf *l)
{
	l->refs++;
	return l;
}

void
tlsx_leaf_unref(struct tlsx_leaf *l)
{
	if (l == NULL || --l->refs > 0)
		return;
	SSL_CTX_free(l->ctx);
	free(l);
}

static void
centry_free(struct centry *e)
{
	TAILQ_REMOVE(&cache, e, entry);
	ncache--;
	tlsx_leaf_unref(e->leaf);
	free(e);
}

struct tlsx_leaf *
tlsx_cache_get(uint32_t sbx, const char *name, time_t now)
{
	struct centry	*e;

	TAILQ_FOREACH(e, &cache, entry)
		if (e->sbx == sbx && strcasecmp(e->leaf->name, name) == 0)
			break;
	if (e == NULL)
		return NULL;
	if (now >= e->leaf->notafter - LEAF_MARGIN) {
		centry_free(e);
		return NULL;
	}
	/* used: the last to go */
	TAILQ_REMOVE(&cache, e, entry);
	TAILQ_INSERT_TAIL(&cache, e, entry);
	e->leaf->refs++;
	return e->leaf;
}

void
tlsx_cache_put(uint32_t sbx, struct tlsx_leaf *l, time_t now)
{
	struct centry	*e, *t;

	TAILQ_FOREACH_SAFE(e, &cache, entry, t)
		if ((e->sbx == sbx && strcasecmp(e->leaf->name, l->name) ==
		    0) || now >= e->leaf->notafter - LEAF_MARGIN)
			centry_free(e);
	if (now >= l->notafter - LEAF_MARGIN)
		return;		/* too short-lived to keep */
	while (ncache >= LEAF_CACHE_MAX)
		centry_free(TAILQ_FIRST(&cache));
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return;
	e->sbx = sbx;
	e->leaf = l;
	l->refs++;
	TAILQ_INSERT_TAIL(&cache, e, entry);
	ncache++;
}

void
tlsx_cache_drop(uint32_t sbx)
{
	struct centry	*e, *t;

	TAILQ_FOREACH_SAFE(e, &cache, entry, t)
		if (e->sbx == sbx)
			centry_free(e);
}

size_t
tlsx_cache_count(void)
{
	return ncache;
}

SSL *
tlsx_accept(struct tlsx_leaf *l, int fd, const char *name, const void *pre,
    size_t prelen)
{
	SSL	*ssl;
	BIO	*rb, *wb;

	if ((ssl = SSL_new(l->ctx)) == NULL)
		goto fail;
	/* what was peeked first, then the socket (tlsx_handshake) */
	if ((rb = BIO_new(BIO_s_mem())) == NULL) {
		SSL_free(ssl);
		goto fail;
	}
	BIO_set_mem_eof_return(rb, -1);
	if ((wb = BIO_new_socket(fd, BIO_NOCLOSE)) == NULL ||
	    (prelen > 0 && BIO_write(rb, pre, (int)prelen) != (int)prelen)) {
		BIO_free(rb);
		BIO_free(wb);
		SSL_free(ssl);
		goto fail;
	}
	SSL_set_bio(ssl, rb, wb);
	SSL_set_app_data(ssl, (void *)name);
	SSL_set_accept_state(ssl);
	return ssl;
fail:
	ERR_clear_error();
	return NULL;
}

SSL *
tlsx_connect(int fd, const char *name, X509_STORE *store)
{
	static const unsigned char	 h11[] = "\x08http/1.1";
	SSL				*ssl;

	if ((ssl = SSL_new(client_ctx)) == NULL)
		goto fail;
	if (SSL_set_fd(ssl, fd) != 1 ||
	    SSL_set_tlsext_host_name(ssl, name) != 1 ||
	    SSL_set1_host(ssl, name) != 1 ||
	    SSL_set_alpn_protos(ssl, h11, sizeof(h11) - 1) != 0 ||
	    (store != NULL && SSL_set1_verify_cert_store(ssl, store) != 1)) {
		SSL_free(ssl);
		goto fail;
	}
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	SSL_set_connect_state(ssl);
	return ssl;
fail:
	ERR_clear_error();
	return NULL;
}

int
tlsx_handshake(SSL *ssl, short *want, char *err, size_t errlen)
{
	BIO	*rb;
	long	 vr;
	int	 r;

	for (;;) {
		ERR_clear_error();
		errno = 0;
		if ((r = SSL_do_handshake(ssl)) == 1)
			return 1;
		switch (SSL_get_error(ssl, r)) {
		case SSL_ERROR_WANT_READ:
			rb = SSL_get_rbio(ssl);
			if (BIO_method_type(rb) == BIO_TYPE_MEM &&
			    BIO_ctrl_pending(rb) == 0) {
				/* the peeked bytes are used up: the socket */
				if ((rb = BIO_new_socket(SSL_get_wfd(ssl),
				    BIO_NOCLOSE)) == NULL) {
					ssl_err(err, errlen, "BIO_new_socket");
					return -1;
				}
				SSL_set0_rbio(ssl, rb);
				continue;
			}
			*want = EV_READ;
			return 0;
		case SSL_ERROR_WANT_WRITE:
			*want = EV_WRITE;
			return 0;
		case SSL_ERROR_SYSCALL:
			if (ERR_peek_error() == 0) {
				snprintf(err, errlen, "%s", errno != 0 ?
				    strerror(errno) : "connection closed "
				    "during the handshake");
				return -1;
			}
			/* FALLTHROUGH */
		default:
			if (!SSL_is_server(ssl) && (vr =
			    SSL_get_verify_result(ssl)) != X509_V_OK) {
				snprintf(err, errlen, "certificate verify "
				    "failed: %s", X509_verify_cert_error_string(
				    vr));
				ERR_clear_error();
				return -1;
			}
			ssl_err(err, errlen, "handshake failed");
			return -1;
		}
	}
}
