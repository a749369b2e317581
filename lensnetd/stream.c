/*
 * Plain and TLS byte streams behind one interface (stream.h).
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <event.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "stream.h"

/* an SSL_read/SSL_write result as stream.h says */
static ssize_t
ssl_result(struct stream *s, int r)
{
	switch (SSL_get_error(s->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		s->want = EV_READ;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		s->want = EV_WRITE;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;		/* close_notify */
	case SSL_ERROR_SYSCALL:
		if (errno == 0 || errno == EAGAIN)
			errno = ECONNRESET;	/* EOF without close_notify */
		ERR_clear_error();
		return -1;
	default:
		ERR_clear_error();
		errno = EIO;
		return -1;
	}
}

ssize_t
stream_read(struct stream *s, void *buf, size_t len)
{
	ssize_t	 n;
	size_t	 got;
	int	 r;

	if (s->ssl == NULL) {
		s->want = EV_READ;
		do
			n = read(s->fd, buf, len);
		while (n == -1 && errno == EINTR);
		return n;
	}
	errno = 0;
	ERR_clear_error();
	if ((r = SSL_read_ex(s->ssl, buf, len, &got)) == 1)
		return got;
	return ssl_result(s, r);
}

ssize_t
stream_write(struct stream *s, const void *buf, size_t len)
{
	ssize_t	 n;
	size_t	 put;
	int	 r;

	if (s->ssl == NULL) {
		s->want = EV_WRITE;
		do
			n = write(s->fd, buf, len);
		while (n == -1 && errno == EINTR);
		return n;
	}
	errno = 0;
	ERR_clear_error();
	if ((r = SSL_write_ex(s->ssl, buf, len, &put)) == 1)
		return put;
	if (ssl_result(s, r) == 0) {
		errno = EPIPE;		/* the peer closed: no write */
		return -1;
	}
	return -1;
}

size_t
stream_pending(const struct stream *s)
{
	return s->ssl != NULL ? (size_t)SSL_pending(s->ssl) : 0;
}

void
stream_shutdown(struct stream *s)
{
	if (s->ssl != NULL) {
		ERR_clear_error();
		(void)SSL_shutdown(s->ssl);
		ERR_clear_error();
	}
	if (s->fd != -1)
		(void)shutdown(s->fd, SHUT_WR);
}

void
stream_close(struct stream *s)
{
	if (s->ssl != NULL) {
		SSL_free(s->ssl);
		s->ssl = NULL;
	}
	if (s->fd != -1) {
		close(s->fd);
		s->fd = -1;
	}
}
