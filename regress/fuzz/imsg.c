/*
 * libFuzzer target for the imsg reader: a hostile peer's byte stream.
 *
 * Input: byte 0 picks the size of the chunks written to the socket
 * (1 << (byte & 15), so 1 byte to 32 KiB), byte 1 is a mask: chunk k
 * carries a descriptor (of /dev/null) when bit k % 8 is set.  The rest
 * is the stream.  Chunks are written to one end of a non-blocking
 * socketpair, and after each one imsg_read()/imsg_get() run on the other
 * end until the stream is drained (EOF) or the reader gives up.
 *
 * Every message taken is composed again on a second socketpair and must
 * come back identical (imsg_compose/imsg_write/imsg_read/imsg_get).  At
 * the end no descriptor may be left open that was not open before.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"

#define FDSCAN	256

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct imsgbuf	 rd, echo_w, echo_r;
static int		 devnull = -1;

static void
fd_snapshot(uint8_t *open_fds)
{
	int	 fd;

	for (fd = 0; fd < FDSCAN; fd++)
		open_fds[fd] = fcntl(fd, F_GETFD) != -1;
}

static ssize_t
send_chunk(int s, const uint8_t *buf, size_t len, int fd)
{
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int))];
	} cbuf;
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cmsg;

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = (void *)buf;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
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
	return sendmsg(s, &msg, MSG_NOSIGNAL);
}

/* compose what was received again and check that it comes back as is */
static void
echo(struct imsg *im)
{
	struct imsg	 back;
	uint32_t	 pid = im->hdr.pid;
	int		 i, rv, hadfd = im->fd != -1;
	ssize_t		 n;

	if (imsg_compose(&echo_w, im->hdr.type, im->hdr.peerid,
	    (pid_t)im->hdr.pid, im->fd, im->data, im->datalen) == -1)
		abort();
	im->fd = -1;			/* the queue owns it now */
	if (pid == 0)
		pid = (uint32_t)echo_w.pid;
	for (i = 0; i < 1000; i++) {
		if ((rv = imsg_get(&echo_r, &back)) != 0)
			break;
		if (imsg_write(&echo_w) == -1)
			abort();
		n = imsg_read(&echo_r);
		if (n == 0 || (n == -1 && errno != EAGAIN))
			abort();
	}
	if (rv != 1 || back.hdr.type != im->hdr.type ||
	    back.hdr.peerid != im->hdr.peerid || back.hdr.pid != pid ||
	    back.hdr.len != im->hdr.len || back.hdr.flags != im->hdr.flags ||
	    back.hdr.reserved != 0 || back.datalen != im->datalen ||
	    (back.fd != -1) != hadfd || imsg_expect(&back, im->datalen) != 0 ||
	    (im->datalen > 0 &&
	    memcmp(back.data, im->data, im->datalen) != 0))
		abort();
	imsg_free(&back);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t	 before[FDSCAN], after[FDSCAN];
	struct imsg	 im;
	size_t		 chunk, off = 0, k = 0, n;
	ssize_t		 r;
	uint8_t		 mask;
	int		 sv[2], ev[2], fd, shut = 0, g;

	if (size < 2)
		return 0;
	if (devnull == -1 &&
	    (devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
		abort();
	chunk = (size_t)1 << (data[0] & 15);
	mask = data[1];
	data += 2;
	size -= 2;

	fd_snapshot(before);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sv) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    ev) == -1)
		abort();
	imsg_init(&rd, sv[1]);
	imsg_init(&echo_w, ev[0]);
	imsg_init(&echo_r, ev[1]);

	for (;;) {
		if (off < size) {
			n = size - off < chunk ? size - off : chunk;
			fd = (mask >> (k % 8)) & 1 ? devnull : -1;
			r = send_chunk(sv[0], data + off, n, fd);
			if (r > 0) {
				off += r;
				k++;
			} else if (r == -1 && errno != EAGAIN)
				abort();
		}
		if (off == size && !shut) {
			shutdown(sv[0], SHUT_WR);
			shut = 1;
		}
		r = imsg_read(&rd);
		if (r == 0)
			break;			/* drained */
		if (r == -1 && errno != EAGAIN)
			break;			/* EBADMSG, ENOBUFS */
		while ((g = imsg_get(&rd, &im)) == 1) {
			echo(&im);
			imsg_free(&im);
		}
		if (g == -1) {
			if (errno != EBADMSG)
				abort();
			break;
		}
	}

	imsg_clear(&rd);
	imsg_clear(&echo_w);
	imsg_clear(&echo_r);
	close(sv[0]);
	close(sv[1]);
	close(ev[0]);
	close(ev[1]);
	fd_snapshot(after);
	for (fd = 0; fd < FDSCAN; fd++)
		if (after[fd] && !before[fd])
			abort();	/* leaked descriptor */
	return 0;
}
