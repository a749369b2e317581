/*
 * One side of a proxied connection as a byte stream: a plain TCP
 * socket, or TLS over it once the proxy intercepts (lensnetd/tlsx.c
 * sets ssl after both handshakes).  The relay and the HTTP exchange
 * read and write through these calls only, so that one code path
 * serves plain HTTP and intercepted HTTPS.
 *
 * Non-blocking: -1 with errno EAGAIN means "not now"; want then says
 * which readiness of fd lets the call progress (TLS may need to write
 * while reading, or read while writing).  Any other -1 is the end of
 * the stream (reset, or a TLS error, reason in errno EIO).
 */
#ifndef LENSNETD_STREAM_H
#define LENSNETD_STREAM_H

#include <sys/types.h>

#include <openssl/ssl.h>

struct stream {
	int	 fd;
	SSL	*ssl;		/* NULL: plain TCP */
	short	 want;		/* after EAGAIN: EV_READ or EV_WRITE */
};

/* >0 bytes, 0 at EOF (TCP FIN, or TLS close_notify), -1 with errno */
ssize_t	stream_read(struct stream *, void *, size_t);
/* >0 bytes written, -1 with errno; never 0 */
ssize_t	stream_write(struct stream *, const void *, size_t);
/* bytes TLS has decrypted and not yet handed out (0 for TCP): they do
 * not make fd readable again */
size_t	stream_pending(const struct stream *);
/* no more bytes this way: TLS close_notify (best effort), then SHUT_WR */
void	stream_shutdown(struct stream *);
/* frees the TLS state and closes fd (if not -1) */
void	stream_close(struct stream *);

#endif
