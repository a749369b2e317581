/*
 * The upstream side of TLS, shared by lensnetd's proxy (interception)
 * and lenscredd's exchange (credentialed requests): one client context,
 * TLS 1.2+, peer verification on, the trust store loaded whole before
 * the chroot (the system's bundle, or the file the daemon's -T names),
 * optionally plus a rule's caFile (tlsx_store); SNI and host name
 * verification (no partial wildcards) for the name asked for; ALPN
 * http/1.1 only.  The caller drives the handshake on its non-blocking
 * socket; nothing here touches the event loop.
 */
#ifndef LENS_TLSUP_H
#define LENS_TLSUP_H

#include <stddef.h>

#include <openssl/ssl.h>

/* as root, before the chroot; trust NULL: the system's bundle */
int		 tlsx_preinit(const char *trust, char *err, size_t errlen);

/*
 * The system's trust plus the certificates of a caFile (PEM, already
 * read; checked again here), for SSL_set1_verify_cert_store; NULL
 * with err.  Free with X509_STORE_free.
 */
X509_STORE	*tlsx_store(const char *pem, size_t len, char *err,
		    size_t errlen);

/* the upstream side: a client SSL on fd for name; store NULL: system */
SSL		*tlsx_connect(int fd, const char *name, X509_STORE *store);

/*
 * One step of a handshake: 1 done, 0 in progress (*want EV_READ or
 * EV_WRITE of the SSL's fd), -1 failed with err (for an upstream, the
 * certificate's verification error when that was why).
 */
int		 tlsx_handshake(SSL *, short *want, char *err, size_t errlen);

/* err: what, and OpenSSL's last error if there is one (then cleared) */
void		 tlsx_ssl_err(char *err, size_t errlen, const char *what);

#endif
