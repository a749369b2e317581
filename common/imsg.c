/*
 * Framed messages over Unix stream sockets (see imsg.h).
 *
 * Reading: imsg_read() appends what recvmsg(2) returns to rbuf and the
 * descriptors that came with it to fds[]; imsg_get() cuts complete
 * messages off the front of rbuf.  The unread bytes are
 * rbuf[rpos, rpos + rlen); imsg_get() only moves rpos, imsg_read()
 * moves the remainder to the front before it reads, so every byte is
 * copied at most once however small the messages are.  What was taken
 * or moved is zeroed where it was, and so is a message's payload and
 * queued copy when freed: a secret that travels (lenscredd's credential
 * values) stays nowhere in a process's memory after it is handled.
 *
 * Writing: every message is one ibuf in wq holding header and payload.
 * imsg_write() hands as many as it can to one sendmsg(2).  A message's
 * descriptor travels with its first byte, so a sendmsg(2) carries at
 * most one descriptor and it always belongs to the first message of the
 * batch; the descriptor is closed as soon as that byte was accepted.
 *
 * Descriptors are matched to messages in the order they arrive: the
 * Linux stream socket code ends a recvmsg(2) right after the chunk that
 * carried descriptors, and a chunk carrying a descriptor starts with the
 * first byte of its message, so by the time a message flagged IMSG_F_FD
 * is complete its descriptor is the oldest one in fds[].
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "imsg.h"
#ifdef REGRESS
#include <stdio.h>
#include "log.h"
#endif

#define IMSG_IOVMAX	64	/* messages handed to one sendmsg(2) */

static void	ibuf_free(struct ibuf *);
static void	imsg_consume(struct imsgbuf *, size_t);

void
imsg_init(struct imsgbuf *ib, int fd)
{
	int	 i;

	ib->fd = fd;
	ib->pid = getpid();
	ib->rlen = 0;
	ib->rpos = 0;
	for (i = 0; i < IMSG_MAXFDS; i++)
		ib->fds[i] = -1;
	ib->nfds = 0;
	TAILQ_INIT(&ib->wq);
	ib->wqueued = 0;
	ib->maxqueue = IMSG_DEFAULT_MAXQUEUE;
	ib->nosock = 0;
}

/*
 * One recvmsg(2).  Descriptor policy: a well-behaved peer (imsg_write())
 * sends at most one descriptor per sendmsg(2) and the kernel never
 * merges two such chunks into one recvmsg(2), so a call may bring at
 * most one descriptor, and only while fds[] has room.  Anything else
 * (two or more descriptors, a truncated control message, fds[] full
 * because the peer sends descriptors no message claims) closes every
 * descriptor of this call, drops the bytes read with them and fails
 * with EBADMSG: the caller must drop the connection.
 *
 * rbuf holds two messages of the largest size, so after imsg_get()
 * returned 0 there is always room; if a caller reads without taking
 * messages out and fills rbuf, this fails with ENOBUFS.
 */
ssize_t
imsg_read(struct imsgbuf *ib)
{
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(IMSG_MAXFDS * sizeof(int)) +
				    CMSG_SPACE(sizeof(struct ucred))];
	} cbuf;
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cmsg;
	ssize_t		 n;
	size_t		 i, nfd;
	int		 fd, newfd = -1, bad = 0;

	if (ib->rpos > 0) {
		memmove(ib->rbuf, ib->rbuf + ib->rpos, ib->rlen);
		/* the part of the old place the move did not overwrite */
		explicit_bzero(ib->rbuf + (ib->rpos > ib->rlen ? ib->rpos :
		    ib->rlen), ib->rpos > ib->rlen ? ib->rlen : ib->rpos);
		ib->rpos = 0;
	}
	if (ib->rlen >= sizeof(ib->rbuf)) {
		errno = ENOBUFS;
		return -1;
	}

	memset(&cbuf, 0, sizeof(cbuf));
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = ib->rbuf + ib->rlen;
	iov.iov_len = sizeof(ib->rbuf) - ib->rlen;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf.buf;
	msg.msg_controllen = sizeof(cbuf.buf);

	if (ib->nosock) {
		/* a character device (a virtio console port): no descriptors */
		do {
			n = read(ib->fd, iov.iov_base, iov.iov_len);
		} while (n == -1 && errno == EINTR);
		if (n > 0)
			ib->rlen += n;
		return n;
	}
	do {
		n = recvmsg(ib->fd, &msg, MSG_CMSG_CLOEXEC);
	} while (n == -1 && errno == EINTR);
	if (n == -1 && errno == ENOTSOCK) {
		ib->nosock = 1;
		return imsg_read(ib);
	}
	if (n == -1)
		return -1;

	if (msg.msg_flags & MSG_CTRUNC)
		bad = 1;
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nfd; i++) {
			memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int),
			    sizeof(fd));
			if (newfd == -1 && ib->nfds < IMSG_MAXFDS)
				newfd = fd;
			else {
				close(fd);
				bad = 1;
			}
		}
	}
	if (bad) {
		if (newfd != -1)
			close(newfd);
		errno = EBADMSG;
		return -1;
	}
	if (newfd != -1)
		ib->fds[ib->nfds++] = newfd;
	ib->rlen += n;
	return n;
}

/*
 * A header is checked as soon as it is complete, before its payload
 * has arrived, so a bad length fails at once.  Besides EBADMSG this
 * can fail with ENOMEM, leaving the message in rbuf.
 */
int
imsg_get(struct imsgbuf *ib, struct imsg *im)
{
	struct imsg_hdr	 hdr;
	const uint8_t	*p = ib->rbuf + ib->rpos;
	void		*data = NULL;
	size_t		 datalen;

	if (ib->rlen < IMSG_HDRSZ)
		return 0;
	memcpy(&hdr, p, sizeof(hdr));
	if (hdr.len < IMSG_HDRSZ || hdr.len > IMSG_HDRSZ + IMSG_MAXPAYLOAD ||
	    (hdr.flags & ~IMSG_F_MASK) != 0 || hdr.reserved != 0) {
		errno = EBADMSG;
		return -1;
	}
	if (ib->rlen < hdr.len)
		return 0;
	if ((hdr.flags & IMSG_F_FD) && ib->nfds == 0) {
		errno = EBADMSG;
		return -1;
	}

	datalen = hdr.len - IMSG_HDRSZ;
	if (datalen > 0) {
		if ((data = malloc(datalen)) == NULL)
			return -1;
		memcpy(data, p + IMSG_HDRSZ, datalen);
	}
	im->hdr = hdr;
	im->data = data;
	im->datalen = datalen;
	im->fd = -1;
	if (hdr.flags & IMSG_F_FD) {
		im->fd = ib->fds[0];
		ib->nfds--;
		memmove(ib->fds, ib->fds + 1, ib->nfds * sizeof(ib->fds[0]));
		ib->fds[ib->nfds] = -1;
	}

	explicit_bzero(ib->rbuf + ib->rpos, hdr.len);
	ib->rpos += hdr.len;
	ib->rlen -= hdr.len;
	if (ib->rlen == 0)
		ib->rpos = 0;
	return 1;
}

int
imsg_compose(struct imsgbuf *ib, uint32_t type, uint32_t peerid, pid_t pid,
    int fd, const void *data, size_t datalen)
{
	struct ibuf	*b;

	if ((b = imsg_create(ib, type, peerid, pid, datalen)) == NULL)
		return -1;
	if (imsg_add(b, data, datalen) == -1) {
		imsg_abort(b);
		return -1;
	}
	b->fd = fd < 0 ? -1 : fd;
	imsg_close(ib, b);
	return 0;
}

/*
 * The queue limit is checked here against what is already queued; the
 * message counts once imsg_close() queued it.  pid 0 means ours.
 */
struct ibuf *
imsg_create(struct imsgbuf *ib, uint32_t type, uint32_t peerid, pid_t pid,
    size_t datalen)
{
	struct imsg_hdr	 hdr;
	struct ibuf	*b;
	size_t		 size;

	if (datalen > IMSG_MAXPAYLOAD) {
		errno = EMSGSIZE;
		return NULL;
	}
	size = IMSG_HDRSZ + datalen;
	if (ib->wqueued > ib->maxqueue || size > ib->maxqueue - ib->wqueued) {
		errno = ENOBUFS;
		return NULL;
	}

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	if ((b->buf = malloc(size)) == NULL) {
		free(b);
		return NULL;
	}
	b->size = size;
	b->fd = -1;

	memset(&hdr, 0, sizeof(hdr));
	hdr.type = type;
	hdr.peerid = peerid;
	hdr.pid = pid == 0 ? ib->pid : pid;
	memcpy(b->buf, &hdr, sizeof(hdr));
	b->wpos = IMSG_HDRSZ;
	return b;
}

/* -1 with ERANGE past the size given to imsg_create(); then imsg_abort() */
int
imsg_add(struct ibuf *b, const void *data, size_t datalen)
{
	if (b == NULL || (data == NULL && datalen > 0)) {
		errno = EINVAL;
		return -1;
	}
	if (datalen > b->size - b->wpos) {
		errno = ERANGE;
		return -1;
	}
	if (datalen > 0) {
		memcpy(b->buf + b->wpos, data, datalen);
		b->wpos += datalen;
	}
	return 0;
}

#ifdef REGRESS
/*
 * Test-only (-DREGRESS): LENS_REGRESS_MSGSIZE=ROLE:TYPE:short|long
 * makes the process whose role (log_procinit) is ROLE send every
 * message of TYPE (hexadecimal) one byte short or one byte long, as a
 * compromised child would: the receiver must refuse it by its size.
 */
static void
imsg_regress_size(struct ibuf *b, uint32_t type)
{
	const char	*want, *role;
	char		 how[8];
	unsigned int	 t;
	size_t		 len;
	uint8_t		*nb;

	if ((want = getenv("LENS_REGRESS_MSGSIZE")) == NULL)
		return;
	role = log_getprocname();
	len = strlen(role);
	if (strncmp(want, role, len) != 0 || want[len] != ':' ||
	    sscanf(want + len + 1, "%x:%7s", &t, how) != 2 || t != type)
		return;
	if (strcmp(how, "short") == 0 && b->wpos > IMSG_HDRSZ) {
		b->wpos--;
		log_info("regress: %s sends %#x one byte short (%zu bytes)",
		    role, type, b->wpos - IMSG_HDRSZ);
	} else if (strcmp(how, "long") == 0 &&
	    b->wpos - IMSG_HDRSZ < IMSG_MAXPAYLOAD) {
		if (b->wpos == b->size) {
			if ((nb = realloc(b->buf, b->size + 1)) == NULL)
				return;
			b->buf = nb;
			b->size++;
		}
		b->buf[b->wpos++] = 0;
		log_info("regress: %s sends %#x one byte long (%zu bytes)",
		    role, type, b->wpos - IMSG_HDRSZ);
	}
}
#endif

/* The length is what was added, which may be less than announced. */
void
imsg_close(struct imsgbuf *ib, struct ibuf *b)
{
	struct imsg_hdr	 hdr;

	if (b == NULL)
		return;
	memcpy(&hdr, b->buf, sizeof(hdr));
#ifdef REGRESS
	imsg_regress_size(b, hdr.type);
#endif
	hdr.len = b->wpos;
	hdr.flags = b->fd != -1 ? IMSG_F_FD : 0;
	memcpy(b->buf, &hdr, sizeof(hdr));
	b->rpos = 0;
	TAILQ_INSERT_TAIL(&ib->wq, b, entry);
	ib->wqueued += b->wpos;
}

void
imsg_abort(struct ibuf *b)
{
	ibuf_free(b);
}

static void
ibuf_free(struct ibuf *b)
{
	if (b == NULL)
		return;
	if (b->fd != -1)
		close(b->fd);
	explicit_bzero(b->buf, b->size);
	free(b->buf);
	free(b);
}

/* n bytes of the queue's head were sent */
static void
imsg_consume(struct imsgbuf *ib, size_t n)
{
	struct ibuf	*b;
	size_t		 left;

	ib->wqueued -= n;
	while (n > 0 && (b = TAILQ_FIRST(&ib->wq)) != NULL) {
		left = b->wpos - b->rpos;
		if (n < left) {
			b->rpos += n;
			return;
		}
		n -= left;
		TAILQ_REMOVE(&ib->wq, b, entry);
		ibuf_free(b);
	}
}

int
imsg_write(struct imsgbuf *ib)
{
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int))];
	} cbuf;
	struct iovec	 iov[IMSG_IOVMAX];
	struct msghdr	 msg;
	struct cmsghdr	*cmsg;
	struct ibuf	*b, *first;
	ssize_t		 n;
	int		 iovcnt, fd;

	while ((first = TAILQ_FIRST(&ib->wq)) != NULL) {
		memset(&msg, 0, sizeof(msg));
		iovcnt = 0;
		fd = first->fd;
		TAILQ_FOREACH(b, &ib->wq, entry) {
			/* a later descriptor waits for its own sendmsg */
			if (iovcnt == IMSG_IOVMAX || (b != first && b->fd != -1))
				break;
			iov[iovcnt].iov_base = b->buf + b->rpos;
			iov[iovcnt].iov_len = b->wpos - b->rpos;
			iovcnt++;
		}
		msg.msg_iov = iov;
		msg.msg_iovlen = iovcnt;
		if (fd != -1) {
			memset(&cbuf, 0, sizeof(cbuf));
			msg.msg_control = cbuf.buf;
			msg.msg_controllen = sizeof(cbuf.buf);
			cmsg = CMSG_FIRSTHDR(&msg);
			cmsg->cmsg_level = SOL_SOCKET;
			cmsg->cmsg_type = SCM_RIGHTS;
			cmsg->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cmsg), &fd, sizeof(fd));
		}

		if (ib->nosock && fd != -1) {
			/* no way to pass a descriptor */
			errno = ENOTSOCK;
			return -1;
		}
		if (ib->nosock)
			n = writev(ib->fd, iov, iovcnt);
		else
			n = sendmsg(ib->fd, &msg, MSG_NOSIGNAL);
		if (n == -1 && errno == ENOTSOCK && !ib->nosock) {
			ib->nosock = 1;
			continue;
		}
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		if (n == 0) {		/* cannot happen on a stream socket */
			errno = EIO;
			return -1;
		}
		if (fd != -1) {
			close(fd);
			first->fd = -1;
		}
		imsg_consume(ib, n);
	}
	return 1;
}

int
imsg_flush(struct imsgbuf *ib)
{
	struct pollfd	 pfd;
	int		 r;

	for (;;) {
		if ((r = imsg_write(ib)) == 1)
			return 0;
		if (r == -1)
			return -1;
		pfd.fd = ib->fd;
		pfd.events = POLLOUT;
		pfd.revents = 0;
		if (poll(&pfd, 1, -1) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (pfd.revents & POLLNVAL) {
			errno = EBADF;
			return -1;
		}
		/* POLLERR and POLLHUP: the next sendmsg(2) says why */
	}
}

int
imsg_recv_one(struct imsgbuf *ib, int timeout_ms, struct imsg *im)
{
	struct pollfd	 pfd;
	struct timespec	 end, now;
	long long	 left;
	ssize_t		 n;
	int		 r, wait = -1;

	if (timeout_ms >= 0) {
		clock_gettime(CLOCK_MONOTONIC, &end);
		end.tv_sec += timeout_ms / 1000;
		end.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		if (end.tv_nsec >= 1000000000L) {
			end.tv_sec++;
			end.tv_nsec -= 1000000000L;
		}
	}
	for (;;) {
		if ((r = imsg_get(ib, im)) != 0)
			return r;
		if (timeout_ms >= 0) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			left = (long long)(end.tv_sec - now.tv_sec) * 1000 +
			    (end.tv_nsec - now.tv_nsec) / 1000000;
			if (left <= 0) {
				errno = ETIMEDOUT;
				return -1;
			}
			wait = left > INT_MAX ? INT_MAX : (int)left;
		}
		pfd.fd = ib->fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if ((r = poll(&pfd, 1, wait)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if ((n = imsg_read(ib)) == 0)
			return 0;
		if (n == -1 && errno != EAGAIN)
			return -1;
	}
}

void
imsg_free(struct imsg *im)
{
	if (im->data != NULL)
		explicit_bzero(im->data, im->datalen);
	free(im->data);
	im->data = NULL;
	im->datalen = 0;
	if (im->fd != -1)
		close(im->fd);
	im->fd = -1;
}

void
imsg_clear(struct imsgbuf *ib)
{
	struct ibuf	*b;
	int		 i;

	while ((b = TAILQ_FIRST(&ib->wq)) != NULL) {
		TAILQ_REMOVE(&ib->wq, b, entry);
		ibuf_free(b);
	}
	ib->wqueued = 0;
	for (i = 0; i < ib->nfds; i++) {
		close(ib->fds[i]);
		ib->fds[i] = -1;
	}
	ib->nfds = 0;
	ib->rlen = 0;
	ib->rpos = 0;
}

int
imsg_expect(const struct imsg *im, size_t len)
{
	if (im->datalen != len) {
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

int
imsg_peercred(int fd, uid_t *uid, gid_t *gid, pid_t *pid)
{
	struct ucred	 cr;
	socklen_t	 len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == -1)
		return -1;
	if (len != sizeof(cr)) {
		errno = EINVAL;
		return -1;
	}
	if (uid != NULL)
		*uid = cr.uid;
	if (gid != NULL)
		*gid = cr.gid;
	if (pid != NULL)
		*pid = cr.pid;
	return 0;
}
