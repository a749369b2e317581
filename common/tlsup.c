/*
 * The upstream side of TLS (tlsup.h).
 */
#include <sys/types.h>

#include <errno.h>
#include <event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "tlsup.h"

static SSL_CTX		*client_ctx;
static X509_STORE	*sys_store;

void
tlsx_ssl_err(char *err, size_t errlen, const char *what)
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
		tlsx_ssl_err(err, errlen, "OpenSSL initialisation");
		return -1;
	}
	if ((client_ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(client_ctx, TLS1_2_VERSION) != 1) {
		tlsx_ssl_err(err, errlen, "upstream TLS context");
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
		tlsx_ssl_err(err, errlen, file);
		if (trust != NULL)
			return -1;
		/* no system bundle: every upstream fails to verify */
		log_warnx("no trust store (%s): no upstream can be "
		    "verified", err);
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
		tlsx_ssl_err(err, errlen, "X509_STORE_new");
		return NULL;
	}
	objs = X509_STORE_get0_objects(sys_store);
	for (i = 0; i < sk_X509_OBJECT_num(objs); i++)
		if ((x = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i)))
		    != NULL && X509_STORE_add_cert(st, x) != 1)
			ERR_clear_error();	/* a duplicate */
	if ((b = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		X509_STORE_free(st);
		tlsx_ssl_err(err, errlen, "BIO_new_mem_buf");
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
					tlsx_ssl_err(err, errlen, "BIO_new_socket");
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
			tlsx_ssl_err(err, errlen, "handshake failed");
			return -1;
		}
	}
}
