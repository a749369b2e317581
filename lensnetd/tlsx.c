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
		tlsx_ssl_err(err, errlen, "leaf chain");
		goto fail;
	}
	BIO_free(b);
	if ((b = BIO_new_mem_buf(key, (int)keylen)) == NULL ||
	    (pk = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)) == NULL) {
		tlsx_ssl_err(err, errlen, "leaf key");
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
		tlsx_ssl_err(err, errlen, "leaf context");
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
