/*
 * Unit test of common/imsg.c over real socketpairs.  TAP output; exits
 * non-zero when a test failed or the run did not reach the plan.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "imsg.h"
#include "tap.h"

#define NTESTS		72
#define PUMP_TRIES	200000

struct pair {
	int		 sv[2];		/* sv[0] is w's, sv[1] is r's */
	struct imsgbuf	*w;
	struct imsgbuf	*r;
};


static void
diag(const char *what, int rv)
{
	printf("# %s: returned %d, errno %d (%s)\n", what, rv, errno,
	    strerror(errno));
}

static void
pair_open(struct pair *p, int nonblock)
{
	int	 type = SOCK_STREAM | SOCK_CLOEXEC;

	if (nonblock)
		type |= SOCK_NONBLOCK;
	if (socketpair(AF_UNIX, type, 0, p->sv) == -1)
		err(2, "socketpair");
	if ((p->w = malloc(sizeof(*p->w))) == NULL ||
	    (p->r = malloc(sizeof(*p->r))) == NULL)
		err(2, "malloc");
	imsg_init(p->w, p->sv[0]);
	imsg_init(p->r, p->sv[1]);
}

static void
pair_close(struct pair *p)
{
	imsg_clear(p->w);
	imsg_clear(p->r);
	if (p->sv[0] != -1)
		close(p->sv[0]);
	if (p->sv[1] != -1)
		close(p->sv[1]);
	free(p->w);
	free(p->r);
}

static void
small_sndbuf(int fd)
{
	int	 sz = 1024;

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)) == -1)
		err(2, "SO_SNDBUF");
}

/* write what w has queued and read on r until r yields a message */
static int
pump(struct pair *p, struct imsg *im)
{
	ssize_t	 n;
	int	 i, rv;

	for (i = 0; i < PUMP_TRIES; i++) {
		if ((rv = imsg_get(p->r, im)) != 0)
			return rv;
		if (imsg_write(p->w) == -1)
			return -1;
		n = imsg_read(p->r);
		if (n == 0) {
			errno = ECONNRESET;
			return -1;
		}
		if (n == -1 && errno != EAGAIN)
			return -1;
	}
	errno = ETIMEDOUT;
	return -1;
}

/* non-blocking: a descriptor passed wrongly fails a test, not hangs it */
static int
xpipe(int pp[2])
{
	return pipe2(pp, O_NONBLOCK | O_CLOEXEC);
}

static int
fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

static int
count_fds(void)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		err(2, "opendir");
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;		/* the directory's own descriptor */
}

static void
put_hdr(uint8_t *buf, uint32_t type, uint32_t len, uint16_t flags,
    uint16_t reserved)
{
	struct imsg_hdr	 hdr;

	memset(&hdr, 0, sizeof(hdr));
	hdr.type = type;
	hdr.len = len;
	hdr.flags = flags;
	hdr.reserved = reserved;
	hdr.peerid = 77;
	hdr.pid = 88;
	memcpy(buf, &hdr, sizeof(hdr));
}

/* sendmsg(2) len bytes with nfd descriptors (all fd) */
static ssize_t
send_fds(int s, const void *buf, size_t len, int fd, int nfd)
{
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(4 * sizeof(int))];
	} cbuf;
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cmsg;
	int		 i;

	memset(&cbuf, 0, sizeof(cbuf));
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = (void *)buf;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (nfd > 0) {
		msg.msg_control = cbuf.buf;
		msg.msg_controllen = CMSG_SPACE(nfd * sizeof(int));
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(nfd * sizeof(int));
		for (i = 0; i < nfd; i++)
			memcpy(CMSG_DATA(cmsg) + i * sizeof(int), &fd,
			    sizeof(fd));
	}
	return sendmsg(s, &msg, MSG_NOSIGNAL);
}

static void
fill(uint8_t *buf, size_t len, int seed)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed * 31 + i * 7);
}

static int
check_fill(const struct imsg *im, size_t len, int seed)
{
	const uint8_t	*d = im->data;
	size_t		 i;

	if (im->datalen != len || (len == 0) != (d == NULL))
		return 0;
	for (i = 0; i < len; i++)
		if (d[i] != (uint8_t)(seed * 31 + i * 7))
			return 0;
	return 1;
}

static void
test_init(void)
{
	struct imsgbuf	*ib;

	if ((ib = malloc(sizeof(*ib))) == NULL)
		err(2, "malloc");
	imsg_init(ib, 42);
	ok(ib->fd == 42 && ib->pid == getpid() && ib->rlen == 0 &&
	    ib->nfds == 0 && TAILQ_EMPTY(&ib->wq) && ib->wqueued == 0 &&
	    ib->maxqueue == IMSG_DEFAULT_MAXQUEUE,
	    "imsg_init sets fd, pid, empty buffers, default queue limit");
	free(ib);
}

#define RT_NMSG	1000

static size_t
rt_len(int i)
{
	if (i % 100 == 50)
		return IMSG_MAXPAYLOAD;
	return ((size_t)i * 7919) % 6000;
}

static void
test_roundtrip(void)
{
	struct pair	 p;
	struct imsg	 im;
	struct ibuf	*b;
	uint8_t		*buf;
	int		 i, rv, iter, next = 0, bad = 0, partial = 0;

	pair_open(&p, 1);
	small_sndbuf(p.sv[0]);
	if ((buf = malloc(IMSG_MAXPAYLOAD)) == NULL)
		err(2, "malloc");
	for (i = 0; i < RT_NMSG; i++) {
		fill(buf, rt_len(i), i);
		if (imsg_compose(p.w, 1000 + i, 3 * i, 0, -1, buf,
		    rt_len(i)) == -1) {
			diag("compose", -1);
			bad++;
		}
	}
	for (iter = 0; next < RT_NMSG && !bad && iter < PUMP_TRIES; iter++) {
		if ((rv = imsg_write(p.w)) == -1) {
			diag("imsg_write", rv);
			bad++;
			break;
		}
		if (rv == 0 && (b = TAILQ_FIRST(&p.w->wq)) != NULL &&
		    b->rpos > 0)
			partial++;
		if (imsg_read(p.r) == -1 && errno != EAGAIN) {
			diag("imsg_read", -1);
			bad++;
			break;
		}
		while ((rv = imsg_get(p.r, &im)) == 1) {
			if (im.hdr.type != (uint32_t)(1000 + next) ||
			    im.hdr.peerid != (uint32_t)(3 * next) ||
			    im.hdr.pid != (uint32_t)getpid() || im.fd != -1 ||
			    !check_fill(&im, rt_len(next), next))
				bad++;
			next++;
			imsg_free(&im);
		}
		if (rv == -1) {
			diag("imsg_get", rv);
			bad++;
		}
	}
	ok(!bad && next == RT_NMSG,
	    "round trip: 1000 messages arrive intact and in order");
	ok(partial > 0, "round trip: tiny SO_SNDBUF split messages "
	    "across writes");
	ok(imsg_write(p.w) == 1 && TAILQ_EMPTY(&p.w->wq) &&
	    p.w->wqueued == 0 && p.r->rlen == 0,
	    "round trip: queues empty afterwards, imsg_write returns 1");
	free(buf);
	pair_close(&p);
}

static void
test_multipart(void)
{
	struct pair	 p;
	struct imsg	 im;
	struct ibuf	*b;
	int		 rv;

	pair_open(&p, 1);
	b = imsg_create(p.w, 7, 9, 0, 10);
	rv = b != NULL && imsg_add(b, "abc", 3) == 0 &&
	    imsg_add(b, "defg", 4) == 0 && imsg_add(b, "hij", 3) == 0 &&
	    imsg_add(b, NULL, 0) == 0;
	imsg_close(p.w, b);
	rv = rv && pump(&p, &im) == 1;
	ok(rv && im.hdr.type == 7 && im.hdr.peerid == 9 &&
	    im.datalen == 10 && memcmp(im.data, "abcdefghij", 10) == 0 &&
	    im.hdr.len == IMSG_HDRSZ + 10 && im.hdr.flags == 0,
	    "multi-part: create, three adds, close arrive as one message");
	ok(rv && im.hdr.pid == (uint32_t)getpid(),
	    "multi-part: pid 0 is replaced by ours");
	if (rv)
		imsg_free(&im);

	/* less than announced: the length is what was added */
	b = imsg_create(p.w, 8, 0, 4242, 100);
	rv = b != NULL && imsg_add(b, "xyzw", 4) == 0;
	imsg_close(p.w, b);
	rv = rv && pump(&p, &im) == 1;
	ok(rv && im.hdr.type == 8 && im.hdr.pid == 4242 &&
	    im.datalen == 4 && memcmp(im.data, "xyzw", 4) == 0,
	    "multi-part: shorter than announced, explicit pid kept");
	if (rv)
		imsg_free(&im);

	b = imsg_create(p.w, 9, 0, 0, 4);
	rv = b != NULL && imsg_add(b, "abc", 3) == 0;
	errno = 0;
	rv = rv && imsg_add(b, "de", 2) == -1 && errno == ERANGE;
	imsg_abort(b);
	ok(rv && TAILQ_EMPTY(&p.w->wq) && p.w->wqueued == 0,
	    "multi-part: add past the size fails with ERANGE, abort "
	    "queues nothing");
	pair_close(&p);
}

static void
test_sizes(void)
{
	struct pair	 p;
	struct imsg	 im;
	uint8_t		*buf;
	int		 rv;

	if ((buf = malloc(IMSG_MAXPAYLOAD + 1)) == NULL)
		err(2, "malloc");
	pair_open(&p, 1);

	rv = imsg_compose(p.w, 1, 0, 0, -1, NULL, 0) == 0 &&
	    pump(&p, &im) == 1;
	ok(rv && im.datalen == 0 && im.data == NULL &&
	    im.hdr.len == IMSG_HDRSZ && imsg_expect(&im, 0) == 0,
	    "payload 0: arrives with no data");
	if (rv)
		imsg_free(&im);

	rv = imsg_compose(p.w, 2, 0, 0, -1, "Z", 1) == 0 &&
	    pump(&p, &im) == 1;
	ok(rv && im.datalen == 1 && ((uint8_t *)im.data)[0] == 'Z',
	    "payload 1: arrives");
	if (rv)
		imsg_free(&im);

	fill(buf, IMSG_MAXPAYLOAD, 5);
	rv = imsg_compose(p.w, 3, 0, 0, -1, buf, IMSG_MAXPAYLOAD) == 0 &&
	    pump(&p, &im) == 1;
	ok(rv && im.hdr.type == 3 && check_fill(&im, IMSG_MAXPAYLOAD, 5),
	    "payload IMSG_MAXPAYLOAD: arrives intact");
	if (rv)
		imsg_free(&im);

	errno = 0;
	rv = imsg_compose(p.w, 4, 0, 0, -1, buf, IMSG_MAXPAYLOAD + 1);
	ok(rv == -1 && errno == EMSGSIZE && TAILQ_EMPTY(&p.w->wq),
	    "payload IMSG_MAXPAYLOAD+1: imsg_compose fails with EMSGSIZE");
	errno = 0;
	ok(imsg_create(p.w, 4, 0, 0, IMSG_MAXPAYLOAD + 1) == NULL &&
	    errno == EMSGSIZE,
	    "payload IMSG_MAXPAYLOAD+1: imsg_create fails with EMSGSIZE");
	free(buf);
	pair_close(&p);
}

static void
test_fd(void)
{
	struct pair	 p;
	struct imsg	 im;
	char		 got[8];
	int		 pp[2], rv, fl, wrote;

	pair_open(&p, 1);
	if (xpipe(pp) == -1)
		err(2, "pipe");
	rv = imsg_compose(p.w, 5, 0, 0, pp[1], "fd", 2);
	rv = rv == 0 && imsg_write(p.w) == 1;
	ok(rv && !fd_is_open(pp[1]) && errno == EBADF,
	    "fd passing: sender's descriptor closed once sent");
	rv = rv && pump(&p, &im) == 1;
	ok(rv && im.fd >= 0 && (im.hdr.flags & IMSG_F_FD) &&
	    im.datalen == 2 && p.r->nfds == 0,
	    "fd passing: message carries the flag and a descriptor");
	fl = rv ? fcntl(im.fd, F_GETFD) : -1;
	ok(fl != -1 && (fl & FD_CLOEXEC), "fd passing: received close-on-exec");
	wrote = rv && write(im.fd, "pong", 4) == 4;
	memset(got, 0, sizeof(got));
	ok(wrote && read(pp[0], got, sizeof(got)) == 4 &&
	    memcmp(got, "pong", 4) == 0,
	    "fd passing: bytes written to the passed pipe come out");
	if (rv) {
		fl = im.fd;
		imsg_free(&im);
		ok(!fd_is_open(fl) && im.fd == -1 && im.data == NULL,
		    "imsg_free closes an untaken descriptor");
	} else
		ok(0, "imsg_free closes an untaken descriptor");

	close(pp[0]);

	/* a caller that takes the descriptor keeps it */
	if (xpipe(pp) == -1)
		err(2, "pipe");
	close(pp[0]);
	rv = imsg_compose(p.w, 6, 0, 0, pp[1], NULL, 0) == 0 &&
	    pump(&p, &im) == 1;
	fl = rv ? im.fd : -1;
	if (rv) {
		im.fd = -1;
		imsg_free(&im);
	}
	ok(fl != -1 && fd_is_open(fl), "imsg_free leaves a taken descriptor");
	if (fl != -1)
		close(fl);
	pair_close(&p);
}

#define FD_NMSG	16

static void
test_fd_order(void)
{
	struct pair	 p;
	struct imsg	 im;
	uint8_t		*buf, c;
	int		 pipes[FD_NMSG / 2][2], i, n, rv, bad = 0;

	if ((buf = malloc(20000)) == NULL)
		err(2, "malloc");
	pair_open(&p, 1);
	small_sndbuf(p.sv[0]);
	for (i = 0; i < FD_NMSG / 2; i++)
		if (xpipe(pipes[i]) == -1)
			err(2, "pipe");
	/* even messages carry a pipe, odd ones none; all are split */
	for (i = 0; i < FD_NMSG; i++) {
		fill(buf, 20000 - i, i);
		if (imsg_compose(p.w, i, 0, 0, i % 2 ? -1 : pipes[i / 2][1],
		    buf, 20000 - i) == -1)
			bad++;
	}
	for (n = 0; n < FD_NMSG && !bad; n++) {
		if ((rv = pump(&p, &im)) != 1) {
			diag("pump", rv);
			bad++;
			break;
		}
		if (im.hdr.type != (uint32_t)n ||
		    !check_fill(&im, 20000 - n, n))
			bad++;
		if (n % 2) {
			if (im.fd != -1 || (im.hdr.flags & IMSG_F_FD))
				bad++;
		} else {
			c = n;
			if (im.fd == -1 || write(im.fd, &c, 1) != 1 ||
			    read(pipes[n / 2][0], &c, 1) != 1 || c != n)
				bad++;
		}
		imsg_free(&im);
	}
	ok(!bad && n == FD_NMSG && p.r->nfds == 0,
	    "fd passing: descriptors of split messages matched in order");
	for (i = 0; i < FD_NMSG / 2; i++)
		close(pipes[i][0]);
	pair_close(&p);

	/* all read before any is taken: several descriptors pending */
	pair_open(&p, 1);
	bad = 0;
	for (i = 0; i < FD_NMSG / 2; i++) {
		if (xpipe(pipes[i]) == -1)
			err(2, "pipe");
		if (imsg_compose(p.w, i, 0, 0, pipes[i][1], "abcd", 4) == -1)
			bad++;
	}
	if (imsg_write(p.w) != 1)
		bad++;
	while (imsg_read(p.r) > 0)
		;
	if (p.r->nfds != FD_NMSG / 2)
		bad++;
	for (n = 0; !bad && imsg_get(p.r, &im) == 1; n++) {
		c = n;
		if (im.hdr.type != (uint32_t)n || im.fd == -1 ||
		    write(im.fd, &c, 1) != 1 ||
		    read(pipes[n][0], &c, 1) != 1 || c != n)
			bad++;
		imsg_free(&im);
	}
	ok(!bad && n == FD_NMSG / 2 && p.r->nfds == 0,
	    "fd passing: several pending descriptors taken in order");
	for (i = 0; i < FD_NMSG / 2; i++)
		close(pipes[i][0]);
	free(buf);
	pair_close(&p);
}

static void
test_bytewise(void)
{
	struct pair	 p;
	struct imsg	 im;
	uint8_t		 raw[2 * IMSG_HDRSZ + 5];
	size_t		 k, at1 = 0, at2 = 0;
	int		 rv, bad = 0, n = 0;

	pair_open(&p, 1);
	put_hdr(raw, 1, IMSG_HDRSZ + 5, 0, 0);
	memcpy(raw + IMSG_HDRSZ, "hello", 5);
	put_hdr(raw + IMSG_HDRSZ + 5, 2, IMSG_HDRSZ, 0, 0);
	for (k = 0; k < sizeof(raw); k++) {
		if (write(p.sv[0], raw + k, 1) != 1)
			err(2, "write");
		if (imsg_read(p.r) != 1)
			bad++;
		while ((rv = imsg_get(p.r, &im)) == 1) {
			if (++n == 1) {
				at1 = k;
				if (im.hdr.type != 1 || im.datalen != 5 ||
				    memcmp(im.data, "hello", 5) != 0 ||
				    im.hdr.peerid != 77 || im.hdr.pid != 88)
					bad++;
			} else {
				at2 = k;
				if (im.hdr.type != 2 || im.datalen != 0)
					bad++;
			}
			imsg_free(&im);
		}
		if (rv == -1)
			bad++;
	}
	ok(!bad && n == 2 && at1 == IMSG_HDRSZ + 4 && at2 == sizeof(raw) - 1,
	    "one byte per read: messages complete exactly at their last byte");
	pair_close(&p);
}

/* send a raw frame of sendlen bytes, return imsg_get()'s result */
static int
raw_frame(uint32_t len, uint16_t flags, uint16_t reserved, size_t sendlen,
    int withfd, int *errp)
{
	struct pair	 p;
	struct imsg	 im;
	uint8_t		*raw;
	int		 rv, pp[2] = { -1, -1 };

	if ((raw = calloc(1, sendlen)) == NULL)
		err(2, "calloc");
	pair_open(&p, 1);
	put_hdr(raw, 99, len, flags, reserved);
	if (withfd && xpipe(pp) == -1)
		err(2, "pipe");
	if (send_fds(p.sv[0], raw, sendlen, pp[0], withfd) != (ssize_t)sendlen)
		err(2, "send");
	if (imsg_read(p.r) != (ssize_t)sendlen)
		err(2, "imsg_read");
	errno = 0;
	rv = imsg_get(p.r, &im);
	*errp = errno;
	if (rv == 1) {
		/* the passed descriptor must be the pipe */
		if (withfd && (im.fd == -1 || write(pp[1], "q", 1) != 1 ||
		    read(im.fd, raw, 1) != 1 || raw[0] != 'q'))
			rv = 100;
		imsg_free(&im);
	}
	if (withfd) {
		close(pp[0]);
		close(pp[1]);
	}
	free(raw);
	pair_close(&p);
	return rv;
}

static void
test_bad_frames(void)
{
	int	 e, rv;

	rv = raw_frame(IMSG_HDRSZ + 4, 0, 0, IMSG_HDRSZ + 4, 0, &e);
	ok(rv == 1, "raw frame: a valid frame is accepted (control)");
	rv = raw_frame(IMSG_HDRSZ + 4, IMSG_F_FD, 0, IMSG_HDRSZ + 4, 1, &e);
	ok(rv == 1, "raw frame: fd flag with a descriptor is accepted");
	rv = raw_frame(IMSG_HDRSZ - 1, 0, 0, IMSG_HDRSZ, 0, &e);
	ok(rv == -1 && e == EBADMSG, "bad frame: len < header -> EBADMSG");
	rv = raw_frame(0, 0, 0, IMSG_HDRSZ, 0, &e);
	ok(rv == -1 && e == EBADMSG, "bad frame: len 0 -> EBADMSG");
	rv = raw_frame(IMSG_HDRSZ + IMSG_MAXPAYLOAD, 0, 0, IMSG_HDRSZ, 0, &e);
	ok(rv == 0, "raw frame: header of a maximal message alone is "
	    "incomplete, not bad");
	rv = raw_frame(IMSG_HDRSZ + IMSG_MAXPAYLOAD + 1, 0, 0, IMSG_HDRSZ, 0,
	    &e);
	ok(rv == -1 && e == EBADMSG,
	    "bad frame: len > max -> EBADMSG at once from the header");
	rv = raw_frame(UINT32_MAX, 0, 0, IMSG_HDRSZ, 0, &e);
	ok(rv == -1 && e == EBADMSG, "bad frame: len 0xffffffff -> EBADMSG");
	rv = raw_frame(IMSG_HDRSZ, 0x0002, 0, IMSG_HDRSZ, 0, &e);
	ok(rv == -1 && e == EBADMSG, "bad frame: unknown flag 0x2 -> EBADMSG");
	rv = raw_frame(IMSG_HDRSZ, 0x8000, 0, IMSG_HDRSZ, 0, &e);
	ok(rv == -1 && e == EBADMSG,
	    "bad frame: unknown flag 0x8000 -> EBADMSG");
	rv = raw_frame(IMSG_HDRSZ, 0, 1, IMSG_HDRSZ, 0, &e);
	ok(rv == -1 && e == EBADMSG, "bad frame: reserved != 0 -> EBADMSG");
	rv = raw_frame(IMSG_HDRSZ + 4, IMSG_F_FD, 0, IMSG_HDRSZ + 4, 0, &e);
	ok(rv == -1 && e == EBADMSG,
	    "bad frame: fd flag without a descriptor -> EBADMSG");
}

static void
test_bad_fds(void)
{
	struct pair	 p;
	int		 pp[2], base, i, rv, bad = 0;

	if (xpipe(pp) == -1)
		err(2, "pipe");

	pair_open(&p, 1);
	base = count_fds();
	if (send_fds(p.sv[0], "x", 1, pp[0], 2) != 1)
		err(2, "send_fds");
	errno = 0;
	rv = imsg_read(p.r);
	ok(rv == -1 && errno == EBADMSG && p.r->nfds == 0 &&
	    count_fds() == base,
	    "two descriptors in one read: EBADMSG, both closed");
	pair_close(&p);

	pair_open(&p, 1);
	base = count_fds();
	for (i = 0; i < IMSG_MAXFDS; i++) {
		if (send_fds(p.sv[0], "x", 1, pp[0], 1) != 1)
			err(2, "send_fds");
		if (imsg_read(p.r) != 1)
			bad++;
	}
	if (send_fds(p.sv[0], "x", 1, pp[0], 1) != 1)
		err(2, "send_fds");
	errno = 0;
	rv = imsg_read(p.r);
	ok(!bad && rv == -1 && errno == EBADMSG &&
	    p.r->nfds == IMSG_MAXFDS && count_fds() == base + IMSG_MAXFDS,
	    "unclaimed descriptors past IMSG_MAXFDS: EBADMSG, extra closed");
	imsg_clear(p.r);
	ok(p.r->nfds == 0 && count_fds() == base,
	    "imsg_clear closes received descriptors");
	pair_close(&p);
	close(pp[0]);
	close(pp[1]);
}

static void
test_queue_limit(void)
{
	struct pair	 p;
	uint8_t		*buf;
	int		 n, rv, pp[2];

	if ((buf = calloc(1, IMSG_MAXPAYLOAD)) == NULL)
		err(2, "calloc");
	if (xpipe(pp) == -1)
		err(2, "pipe");
	pair_open(&p, 1);

	for (n = 0; n < 1000; n++)
		if (imsg_compose(p.w, 1, 0, 0, -1, buf,
		    IMSG_MAXPAYLOAD) == -1)
			break;
	ok(n == IMSG_DEFAULT_MAXQUEUE / (IMSG_HDRSZ + IMSG_MAXPAYLOAD) &&
	    errno == ENOBUFS,
	    "queue limit: default limit holds 4 MiB of messages, then ENOBUFS");
	imsg_clear(p.w);

	p.w->maxqueue = 1000;
	for (n = 0; n < 1000; n++)
		if (imsg_compose(p.w, 1, 0, 0, -1, buf, 100) == -1)
			break;
	ok(n == 1000 / (IMSG_HDRSZ + 100) && errno == ENOBUFS &&
	    p.w->wqueued == n * (IMSG_HDRSZ + 100),
	    "queue limit: small limit, ENOBUFS past it");
	errno = 0;
	rv = imsg_compose(p.w, 1, 0, 0, pp[1], buf, 100);
	ok(rv == -1 && errno == ENOBUFS && fd_is_open(pp[1]),
	    "queue limit: a refused descriptor stays the caller's");
	errno = 0;
	ok(imsg_create(p.w, 1, 0, 0, 100) == NULL && errno == ENOBUFS,
	    "queue limit: imsg_create fails with ENOBUFS too");
	rv = imsg_write(p.w);
	ok(rv == 1 && imsg_compose(p.w, 1, 0, 0, -1, buf, 100) == 0,
	    "queue limit: room again once written");

	imsg_clear(p.w);
	rv = imsg_compose(p.w, 1, 0, 0, pp[1], NULL, 0);
	imsg_clear(p.w);
	ok(rv == 0 && !fd_is_open(pp[1]) && p.w->wqueued == 0 &&
	    TAILQ_EMPTY(&p.w->wq),
	    "imsg_clear drops the write queue and closes its descriptors");
	close(pp[0]);
	free(buf);
	pair_close(&p);
}

static void
test_rbuf_full(void)
{
	struct pair	 p;
	struct imsg	 im;
	uint8_t		*buf;
	int		 i, n = 0, full = 0, bad = 0;
	ssize_t		 r;

	if ((buf = malloc(IMSG_MAXPAYLOAD)) == NULL)
		err(2, "malloc");
	pair_open(&p, 1);
	for (i = 0; i < 3; i++) {
		fill(buf, IMSG_MAXPAYLOAD, i);
		if (imsg_compose(p.w, i, 0, 0, -1, buf, IMSG_MAXPAYLOAD) == -1)
			bad++;
	}
	/* read without taking messages out until rbuf is full */
	for (i = 0; i < PUMP_TRIES && !full && !bad; i++) {
		if (imsg_write(p.w) == -1)
			bad++;
		r = imsg_read(p.r);
		if (r == -1 && errno == ENOBUFS)
			full = 1;
		else if (r == 0 || (r == -1 && errno != EAGAIN))
			bad++;
	}
	ok(full && !bad && p.r->rlen == IMSG_RBUFSZ,
	    "caller that never takes messages: ENOBUFS when rbuf is full");
	while (!bad && n < 3 && pump(&p, &im) == 1) {
		if (im.hdr.type != (uint32_t)n ||
		    !check_fill(&im, IMSG_MAXPAYLOAD, n))
			bad++;
		n++;
		imsg_free(&im);
	}
	ok(!bad && n == 3, "after ENOBUFS every message still arrives");
	free(buf);
	pair_close(&p);
}

static void
test_eof_errors(void)
{
	struct pair	 p;
	struct imsg	 im;
	ssize_t		 r;
	int		 rv;

	pair_open(&p, 1);
	errno = 0;
	r = imsg_read(p.r);
	ok(r == -1 && errno == EAGAIN, "nothing to read: -1 with EAGAIN");
	rv = imsg_compose(p.w, 1, 0, 0, -1, "last", 4) == 0 &&
	    imsg_write(p.w) == 1;
	close(p.sv[0]);
	p.sv[0] = -1;
	r = imsg_read(p.r);
	rv = rv && r == (ssize_t)IMSG_HDRSZ + 4 && imsg_get(p.r, &im) == 1;
	if (rv)
		imsg_free(&im);
	r = imsg_read(p.r);
	ok(rv && r == 0, "peer closed: pending message read, then 0 (EOF)");
	pair_close(&p);

	pair_open(&p, 1);
	close(p.sv[1]);
	p.sv[1] = -1;
	rv = imsg_compose(p.w, 1, 0, 0, -1, "x", 1);
	errno = 0;
	rv = rv == 0 ? imsg_write(p.w) : 2;
	ok(rv == -1 && errno == EPIPE,
	    "write to a closed peer: -1 with EPIPE, no SIGPIPE");
	pair_close(&p);
}

static void
test_flush(void)
{
	struct pair	 p;
	struct imsg	 im;
	uint8_t		*buf;
	pid_t		 pid;
	int		 i, st, rv, bad = 0, nonblock;

	pair_open(&p, 0);
	fflush(stdout);
	if ((pid = fork()) == -1)
		err(2, "fork");
	if (pid == 0) {
		close(p.sv[0]);
		for (i = 0; i < 200; i++) {
			while ((rv = imsg_get(p.r, &im)) == 0)
				if (imsg_read(p.r) <= 0)
					_exit(1);
			if (rv != 1 || im.hdr.type != (uint32_t)i ||
			    !check_fill(&im, 8000, i))
				_exit(1);
			imsg_free(&im);
		}
		_exit(imsg_read(p.r) == 0 ? 0 : 1);
	}
	close(p.sv[1]);
	p.sv[1] = -1;
	small_sndbuf(p.sv[0]);
	/* non-blocking, so imsg_flush() has to poll */
	nonblock = fcntl(p.sv[0], F_SETFL, O_NONBLOCK) != -1;
	if ((buf = malloc(8000)) == NULL)
		err(2, "malloc");
	for (i = 0; i < 200; i++) {
		fill(buf, 8000, i);
		if (imsg_compose(p.w, i, 0, 0, -1, buf, 8000) == -1)
			bad++;
	}
	rv = imsg_flush(p.w);
	ok(nonblock && !bad && rv == 0 && TAILQ_EMPTY(&p.w->wq) &&
	    p.w->wqueued == 0, "imsg_flush: 1.6 MB through a tiny buffer");
	close(p.sv[0]);
	p.sv[0] = -1;
	ok(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0, "imsg_flush: the reader got every message");
	free(buf);
	pair_close(&p);
}

static void
test_peercred(void)
{
	struct pair	 p;
	uid_t		 uid = (uid_t)-1;
	gid_t		 gid = (gid_t)-1;
	pid_t		 pid = -1;
	int		 pp[2];

	pair_open(&p, 1);
	ok(imsg_peercred(p.sv[1], &uid, &gid, &pid) == 0 &&
	    uid == getuid() && gid == getgid() && pid == getpid(),
	    "imsg_peercred: our own uid, gid, pid");
	ok(imsg_peercred(p.sv[0], NULL, NULL, NULL) == 0,
	    "imsg_peercred: NULL out pointers accepted");
	if (xpipe(pp) == -1)
		err(2, "pipe");
	ok(imsg_peercred(pp[0], &uid, NULL, NULL) == -1,
	    "imsg_peercred: fails on a pipe");
	close(pp[0]);
	close(pp[1]);
	pair_close(&p);
}

static void
test_expect(void)
{
	struct imsg	 im;

	memset(&im, 0, sizeof(im));
	im.fd = -1;
	im.datalen = 4;
	ok(imsg_expect(&im, 4) == 0, "imsg_expect: exact size accepted");
	errno = 0;
	ok(imsg_expect(&im, 3) == -1 && errno == EBADMSG,
	    "imsg_expect: smaller size refused with EBADMSG");
	errno = 0;
	ok(imsg_expect(&im, 5) == -1 && errno == EBADMSG,
	    "imsg_expect: larger size refused with EBADMSG");
	ok(IMSG_DATA_SIZE(&im) == 4, "IMSG_DATA_SIZE is the payload size");
}

static void
test_bad_args(void)
{
	struct pair	 p;
	struct ibuf	*b;
	int		 rv;

	pair_open(&p, 1);
	errno = 0;
	rv = imsg_compose(p.w, 1, 0, 0, -1, NULL, 5);
	ok(rv == -1 && errno == EINVAL && TAILQ_EMPTY(&p.w->wq) &&
	    p.w->wqueued == 0, "imsg_compose: NULL data with a size refused");
	b = imsg_create(p.w, 1, 0, 0, 0);
	errno = 0;
	ok(b != NULL && imsg_add(b, "a", 1) == -1 && errno == ERANGE,
	    "imsg_add: any byte into a 0-byte message is ERANGE");
	imsg_abort(b);
	imsg_abort(NULL);
	imsg_close(p.w, NULL);
	ok(TAILQ_EMPTY(&p.w->wq), "imsg_abort/imsg_close accept NULL");
	pair_close(&p);
}

/* a descriptor that is no socket (a pipe, as a virtio console port) */
static void
test_nosock(void)
{
	struct imsgbuf	*w, *r;
	struct imsg	 im;
	char		 payload[3000];
	int		 pp[2], rv, i, got = 0;

	if (pipe2(pp, O_CLOEXEC) == -1)
		err(1, "pipe2");
	if ((w = malloc(sizeof(*w))) == NULL ||
	    (r = malloc(sizeof(*r))) == NULL)
		err(1, "malloc");
	imsg_init(w, pp[1]);
	imsg_init(r, pp[0]);
	memset(payload, 'p', sizeof(payload));
	for (i = 0; i < 5; i++)
		if (imsg_compose(w, 20 + i, i, 0, -1, payload,
		    sizeof(payload)) == -1)
			err(1, "compose");
	rv = imsg_write(w);
	ok(rv == 1 && w->nosock && w->wqueued == 0,
	    "not a socket: imsg_write falls back to writev");
	while (got < 5 && imsg_read(r) > 0)
		while (imsg_get(r, &im) == 1) {
			if (im.hdr.type == (uint32_t)(20 + got) &&
			    im.datalen == sizeof(payload) &&
			    memcmp(im.data, payload, sizeof(payload)) == 0)
				got++;
			imsg_free(&im);
		}
	ok(got == 5 && r->nosock, "not a socket: imsg_read falls back to read");
	rv = imsg_compose(w, 30, 0, 0, dup(0), "x", 1);
	ok(rv == 0 && imsg_write(w) == -1 && errno == ENOTSOCK,
	    "not a socket: a descriptor cannot travel (ENOTSOCK)");
	imsg_clear(w);
	imsg_clear(r);
	close(pp[0]);
	close(pp[1]);
	free(w);
	free(r);
}

/* imsg_recv_one: a message split in two writes, a timeout, EOF, a bad
 * frame */
static void
test_recv_one(void)
{
	struct pair	 p;
	struct imsg	 im;
	struct timespec	 t0, t1;
	char		 payload[5000];
	long		 ms;
	int		 rv;

	memset(payload, 'q', sizeof(payload));
	pair_open(&p, 1);
	if (imsg_compose(p.w, 42, 7, 0, -1, payload, sizeof(payload)) == -1)
		err(1, "compose");
	/* a message whose first part is there: the rest comes later */
	if (write(p.sv[0], TAILQ_FIRST(&p.w->wq)->buf, 100) != 100)
		err(1, "write");
	if (fork() == 0) {
		usleep(100000);
		if (write(p.sv[0], TAILQ_FIRST(&p.w->wq)->buf + 100,
		    IMSG_HDRSZ + sizeof(payload) - 100) !=
		    (ssize_t)(IMSG_HDRSZ + sizeof(payload) - 100))
			_exit(1);
		_exit(0);
	}
	rv = imsg_recv_one(p.r, 5000, &im);
	ok(rv == 1 && im.hdr.type == 42 && im.hdr.peerid == 7 &&
	    im.datalen == sizeof(payload) &&
	    memcmp(im.data, payload, sizeof(payload)) == 0,
	    "recv_one: waits for the whole message");
	if (rv == 1)
		imsg_free(&im);
	else
		diag("imsg_recv_one", rv);
	wait(NULL);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rv = imsg_recv_one(p.r, 200, &im);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) /
	    1000000;
	ok(rv == -1 && errno == ETIMEDOUT && ms >= 190 && ms < 2000,
	    "recv_one: nothing in 200 ms is ETIMEDOUT (%ld ms)", ms);

	/* half a header, then EOF */
	if (write(p.sv[0], "abc", 3) != 3)
		err(1, "write");
	close(p.sv[0]);
	p.sv[0] = -1;
	rv = imsg_recv_one(p.r, -1, &im);
	ok(rv == 0, "recv_one: the peer closed first: 0");
	pair_close(&p);

	pair_open(&p, 1);
	{
		struct imsg_hdr	 h;

		memset(&h, 0, sizeof(h));
		h.type = 1;
		h.len = IMSG_HDRSZ + IMSG_MAXPAYLOAD + 1;
		if (write(p.sv[0], &h, sizeof(h)) != sizeof(h))
			err(1, "write");
	}
	rv = imsg_recv_one(p.r, -1, &im);
	ok(rv == -1 && errno == EBADMSG, "recv_one: a bad frame is EBADMSG");
	pair_close(&p);

	/* a message already read: no wait at all, timeout 0 */
	pair_open(&p, 1);
	if (imsg_compose(p.w, 43, 0, 0, -1, NULL, 0) == -1 ||
	    imsg_flush(p.w) == -1 || imsg_read(p.r) <= 0)
		err(1, "send");
	rv = imsg_recv_one(p.r, 0, &im);
	ok(rv == 1 && im.hdr.type == 43, "recv_one: a message read already "
	    "comes back with timeout 0");
	if (rv == 1)
		imsg_free(&im);
	pair_close(&p);
}

/* how often mark is in the read buffer of ib */
static int
rbuf_count(const struct imsgbuf *ib, const char *mark)
{
	const uint8_t	*p = ib->rbuf, *end = ib->rbuf + sizeof(ib->rbuf);
	size_t		 n = strlen(mark);
	int		 found = 0;

	while (p < end && (p = memmem(p, end - p, mark, n)) != NULL) {
		found++;
		p += n;
	}
	return found;
}

/*
 * What was taken from the read buffer, or moved within it, is zeroed
 * where it was: a secret that travelled stays nowhere once handled.
 */
static void
test_wipe(void)
{
	static const char	 a[] = "mark-A-0123456789", b[] = "mark-B-9876543210";
	struct pair		 p;
	struct imsg_hdr		 h;
	struct imsg		 im;
	int			 rv, ra, rb;

	pair_open(&p, 0);
	/* A whole, then B's header and the first half of its payload */
	if (imsg_compose(p.w, 1, 0, 0, -1, a, sizeof(a)) == -1 ||
	    imsg_flush(p.w) == -1)
		err(2, "compose");
	memset(&h, 0, sizeof(h));
	h.type = 2;
	h.len = IMSG_HDRSZ + sizeof(b);
	if (write(p.sv[0], &h, sizeof(h)) != sizeof(h) ||
	    write(p.sv[0], b, 10) != 10)
		err(2, "write");
	while (p.r->rlen < 2 * IMSG_HDRSZ + sizeof(a) + 10)
		if (imsg_read(p.r) <= 0)
			err(2, "imsg_read");
	rv = imsg_get(p.r, &im);
	ok(rv == 1 && im.datalen == sizeof(a) && memcmp(im.data, a,
	    sizeof(a)) == 0 && rbuf_count(p.r, a) == 0,
	    "wipe: a message taken is no longer in the read buffer");
	if (rv == 1)
		imsg_free(&im);
	ok(imsg_get(p.r, &im) == 0, "wipe: the half message waits");
	if (write(p.sv[0], b + 10, sizeof(b) - 10) != (ssize_t)sizeof(b) - 10)
		err(2, "write");
	/* imsg_read moves B's first half to the front, then reads on */
	if (imsg_read(p.r) <= 0)
		err(2, "imsg_read");
	ra = rbuf_count(p.r, "mark-B-987");
	rv = imsg_get(p.r, &im);
	rb = rbuf_count(p.r, "mark-B-987");
	ok(ra == 1, "wipe: a moved message is in the read buffer once "
	    "(%d), not also where it was", ra);
	ok(rv == 1 && memcmp(im.data, b, sizeof(b)) == 0 && rb == 0,
	    "wipe: ... and gone once taken (%d)", rb);
	if (rv == 1)
		imsg_free(&im);
	pair_close(&p);
}

int
main(void)
{
	int	 base;

	signal(SIGPIPE, SIG_DFL);	/* MSG_NOSIGNAL must protect us */
	alarm(300);
	tap_plan(NTESTS);
	fflush(stdout);
	base = count_fds();

	test_init();
	test_roundtrip();
	test_multipart();
	test_sizes();
	test_fd();
	test_fd_order();
	test_bytewise();
	test_bad_frames();
	test_bad_fds();
	test_queue_limit();
	test_rbuf_full();
	test_eof_errors();
	test_flush();
	test_peercred();
	test_expect();
	test_bad_args();
	test_nosock();
	test_recv_one();
	test_wipe();
	ok(count_fds() == base, "no descriptor leaked by the whole run");

	return tap_done();
}
