/*
 * Framed messages over Unix stream sockets, in the style of OpenBSD's
 * imsg(3), written for Lens.
 *
 * A message is a fixed header followed by at most IMSG_MAXPAYLOAD bytes
 * of payload.  At most one file descriptor travels with a message
 * (SCM_RIGHTS); the header flag IMSG_F_FD says the sender attached one.
 * Reads and writes are non-blocking and buffered: imsg_read() fills the
 * read buffer, imsg_get() takes complete messages out of it,
 * imsg_compose() queues a message and imsg_write() sends what is
 * queued.  A peer that sends a malformed header (bad length, unknown
 * flags, a descriptor flag with no descriptor) makes imsg_get() fail
 * with EBADMSG: the caller must drop the connection.
 *
 * Every receiver checks the payload size for the message type before
 * it looks at the payload (IMSG_DATA_SIZE, imsg_expect()).
 *
 * The channel may also be a character device with stream semantics (the
 * virtio console port of lens-init in a microVM): the first ENOTSOCK
 * switches the imsgbuf to read(2)/writev(2), and composing a message with
 * a descriptor then makes imsg_write() fail with ENOTSOCK.
 */
#ifndef LENS_IMSG_H
#define LENS_IMSG_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#define IMSG_MAXPAYLOAD	65536
#define IMSG_F_FD	0x0001		/* a descriptor travels with it */
#define IMSG_F_MASK	(IMSG_F_FD)
#define IMSG_MAXFDS	16		/* received, not yet taken */
#define IMSG_DEFAULT_MAXQUEUE (4 * 1024 * 1024)	/* bytes queued to send */

struct imsg_hdr {
	uint32_t	type;
	uint32_t	len;		/* header + payload */
	uint16_t	flags;
	uint16_t	reserved;	/* must be 0 */
	uint32_t	peerid;
	uint32_t	pid;
};
#define IMSG_HDRSZ	sizeof(struct imsg_hdr)
#define IMSG_RBUFSZ	(2 * (IMSG_HDRSZ + IMSG_MAXPAYLOAD))

struct ibuf {
	TAILQ_ENTRY(ibuf) entry;
	uint8_t		*buf;
	size_t		 size;		/* allocated */
	size_t		 wpos;		/* bytes composed */
	size_t		 rpos;		/* bytes already sent */
	int		 fd;		/* to send with the first byte, or -1 */
};

struct imsgbuf {
	int		 fd;
	pid_t		 pid;			/* put in composed headers */
	uint8_t		 rbuf[IMSG_RBUFSZ];
	size_t		 rlen;			/* bytes in rbuf */
	size_t		 rpos;			/* where those bytes start */
	int		 fds[IMSG_MAXFDS];	/* received, in order */
	int		 nfds;
	TAILQ_HEAD(, ibuf) wq;
	size_t		 wqueued;		/* bytes waiting in wq */
	size_t		 maxqueue;		/* compose fails past this */
	int		 nosock;	/* fd is no socket: read(2)/writev(2) */
};

struct imsg {
	struct imsg_hdr	 hdr;
	int		 fd;		/* -1 unless IMSG_F_FD */
	void		*data;		/* payload, NULL if none */
	size_t		 datalen;
};

#define IMSG_DATA_SIZE(im)	((im)->datalen)

void	 imsg_init(struct imsgbuf *, int fd);
/* > 0 bytes read, 0 on EOF, -1 on error (errno EAGAIN when nothing to read) */
ssize_t	 imsg_read(struct imsgbuf *);
/* 1 a message was taken, 0 none is complete yet, -1 bad frame (EBADMSG) */
int	 imsg_get(struct imsgbuf *, struct imsg *);
/*
 * 0 queued, -1 with errno: EMSGSIZE too large, ENOBUFS queue full.
 * On success a passed fd belongs to the queue and is closed once sent;
 * on failure it is still the caller's.
 */
int	 imsg_compose(struct imsgbuf *, uint32_t type, uint32_t peerid,
	    pid_t pid, int fd, const void *data, size_t datalen);
/* multi-part messages: create, add the parts, close to queue it */
struct ibuf *imsg_create(struct imsgbuf *, uint32_t type, uint32_t peerid,
	    pid_t pid, size_t datalen);
int	 imsg_add(struct ibuf *, const void *data, size_t datalen);
void	 imsg_close(struct imsgbuf *, struct ibuf *);
void	 imsg_abort(struct ibuf *);	/* discard one never closed */
/* 1 everything sent, 0 more is queued (EAGAIN), -1 error (EPIPE...) */
int	 imsg_write(struct imsgbuf *);
/* blocking: write until the queue is empty; 0 or -1 */
int	 imsg_flush(struct imsgbuf *);
/*
 * Blocking: the next message, waiting at most timeout_ms in all (-1:
 * no limit).  1 with *im filled, 0 when the peer closed first, -1 with
 * errno: ETIMEDOUT, EBADMSG (a bad frame), or what poll(2) or
 * recvmsg(2) failed with.
 */
int	 imsg_recv_one(struct imsgbuf *, int timeout_ms, struct imsg *);
void	 imsg_free(struct imsg *);	/* closes an untaken fd */
void	 imsg_clear(struct imsgbuf *);	/* drops queues, closes fds */
/* -1 with EBADMSG unless the payload is exactly len bytes */
int	 imsg_expect(const struct imsg *, size_t len);

/* peer credentials of a connected Unix socket */
int	 imsg_peercred(int fd, uid_t *, gid_t *, pid_t *);

#endif
