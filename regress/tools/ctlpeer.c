/*
 * ctlpeer: a deliberately misbehaving (or well-behaved) lensctl for the
 * regress suite: speaks raw frames to lensvmm's control socket, plays
 * one scenario and prints what lensvmm did: "error CODE" for an ERROR,
 * "entry" for each PS_ENTRY, "ok" for OK, "closed" when it dropped the
 * connection, "timeout" when it said nothing for 10 seconds.
 *
 *   ctlpeer SOCKET SCENARIO [ROOTFS]
 *   ctlpeer SOCKET exec-stream SANDBOX TYPE LEN
 *
 * exec-stream: an exec of `sleep 30' with stdin attached in SANDBOX,
 * then on its stream a message of TYPE (hexadecimal) with LEN zero
 * bytes, as a hostile client would send it to the jail process.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"
#include "unixsock.h"
#include "lensvmm_imsg.h"

static int
dial(const char *path)
{
	int	 fd;

	if ((fd = unixsock_connect(path, 0)) == -1) {
		perror(path);
		exit(1);
	}
	return fd;
}

static void
raw(int fd, uint32_t type, uint32_t len, uint16_t flags, const void *data,
    size_t dlen)
{
	struct imsg_hdr	 h;

	memset(&h, 0, sizeof(h));
	h.type = type;
	h.len = len;
	h.flags = flags;
	if (send(fd, &h, sizeof(h), MSG_NOSIGNAL) == -1 ||
	    (dlen > 0 && send(fd, data, dlen, MSG_NOSIGNAL) == -1))
		return;
}

static void
msg(int fd, uint32_t type, const void *data, size_t dlen)
{
	raw(fd, type, IMSG_HDRSZ + dlen, 0, data, dlen);
}

/* print lensvmm's answers until it closes */
static void
answers(int fd)
{
	struct imsgbuf	 ib;
	struct imsg	 im;
	struct pollfd	 pfd;
	struct ctl_error e;
	ssize_t		 n;
	int		 r;

	imsg_init(&ib, fd);
	for (;;) {
		while ((r = imsg_get(&ib, &im)) == 1) {
			switch (im.hdr.type) {
			case IMSG_CTL_ERROR:
				if (im.datalen == sizeof(e)) {
					memcpy(&e, im.data, sizeof(e));
					e.msg[sizeof(e.msg) - 1] = '\0';
					printf("error %d\n", e.code);
					fprintf(stderr, "ctlpeer: %s\n", e.msg);
				} else
					printf("error-size %zu\n", im.datalen);
				break;
			case IMSG_CTL_PS_ENTRY:
				printf("entry\n");
				break;
			case IMSG_CTL_OK:
				printf("ok\n");
				break;
			default:
				printf("type %#x\n", im.hdr.type);
			}
			imsg_free(&im);
		}
		if (r == -1) {
			printf("bad-frame\n");
			return;
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 10000) == 0) {
			printf("timeout\n");
			return;
		}
		if ((n = imsg_read(&ib)) == 0 || (n == -1 && errno != EAGAIN)) {
			printf("closed\n");
			return;
		}
	}
}

/* a RUN of /bin/true with the strings given, argc/envc/nvolumes as said */
static void
run(int fd, const char *rootfs, uint32_t argc, uint32_t envc,
    uint32_t nvol, const char *strs, size_t slen, size_t cut)
{
	static uint8_t	 buf[IMSG_MAXPAYLOAD];
	struct ctl_run	 r;

	memset(&r, 0, sizeof(r));
	strlcpy(r.rootfs, rootfs, sizeof(r.rootfs));
	strlcpy(r.backend, "jail", sizeof(r.backend));
	r.argc = argc;
	r.envc = envc;
	r.nvolumes = nvol;
	memcpy(buf, &r, sizeof(r));
	memcpy(buf + sizeof(r), strs, slen);
	msg(fd, IMSG_CTL_RUN, buf, sizeof(r) + slen - cut);
}

int
main(int argc, char *argv[])
{
	const char	*sc, *rootfs;
	uint8_t		 junk[512];
	struct ctl_ref	 ref;
	struct ctl_ps	 ps;
	int		 fd;
	size_t		 i;

	if (argc < 3) {
		fprintf(stderr, "usage: ctlpeer socket scenario [rootfs]\n");
		return 2;
	}
	sc = argv[2];
	rootfs = argc > 3 ? argv[3] : "/";
	fd = dial(argv[1]);
	memset(&ps, 0, sizeof(ps));
	if (strcmp(sc, "exec-stream") == 0 && argc == 6) {
		static uint8_t	 buf[sizeof(struct ctl_exec) + 16];
		struct ctl_exec	 x;
		size_t		 len = strtoul(argv[5], NULL, 10);
		uint8_t		*zero;

		memset(&x, 0, sizeof(x));
		strlcpy(x.sandbox, argv[3], sizeof(x.sandbox));
		x.flags = RUN_STDIN;
		x.argc = 2;
		memcpy(buf, &x, sizeof(x));
		memcpy(buf + sizeof(x), "sleep\0" "30", 9);
		msg(fd, IMSG_CTL_EXEC, buf, sizeof(x) + 9);
		if ((zero = calloc(1, len + 1)) == NULL)
			return 1;
		msg(fd, strtoul(argv[4], NULL, 16), zero, len);
		free(zero);
	} else if (strcmp(sc, "garbage") == 0) {
		for (i = 0; i < sizeof(junk); i++)
			junk[i] = (uint8_t)(i * 37 + 11);
		if (send(fd, junk, sizeof(junk), MSG_NOSIGNAL) == -1)
			perror("send");
	} else if (strcmp(sc, "oversized") == 0)
		raw(fd, IMSG_CTL_PS, IMSG_HDRSZ + IMSG_MAXPAYLOAD + 1, 0,
		    NULL, 0);
	else if (strcmp(sc, "short-header") == 0) {
		if (send(fd, "\x01\x00\x00\x56", 4, MSG_NOSIGNAL) == -1)
			perror("send");
		shutdown(fd, SHUT_WR);
	} else if (strcmp(sc, "bad-flags") == 0)
		raw(fd, IMSG_CTL_PS, IMSG_HDRSZ + sizeof(ps), 0x8000, &ps,
		    sizeof(ps));
	else if (strcmp(sc, "fd-flag-no-fd") == 0)
		raw(fd, IMSG_CTL_PS, IMSG_HDRSZ + sizeof(ps), IMSG_F_FD, &ps,
		    sizeof(ps));
	else if (strcmp(sc, "unknown-type") == 0)
		msg(fd, 0x56000fff, &ps, sizeof(ps));
	else if (strcmp(sc, "reply-type") == 0)
		msg(fd, IMSG_CTL_EXIT, junk, sizeof(struct ctl_exit));
	else if (strcmp(sc, "stdin-first") == 0)
		msg(fd, IMSG_CTL_STDIN, "x", 1);
	else if (strcmp(sc, "ps-size") == 0)
		msg(fd, IMSG_CTL_PS, &ps, sizeof(ps) - 1);
	else if (strcmp(sc, "inspect-unterminated") == 0) {
		memset(&ref, 'a', sizeof(ref));
		msg(fd, IMSG_CTL_INSPECT, &ref, sizeof(ref));
	} else if (strcmp(sc, "run-short") == 0)
		msg(fd, IMSG_CTL_RUN, junk, 100);
	else if (strcmp(sc, "run-argc0") == 0)
		run(fd, rootfs, 0, 0, 0, "", 0, 0);
	else if (strcmp(sc, "run-argc-mismatch") == 0)
		run(fd, rootfs, 3, 0, 0, "/bin/true", 10, 0);
	else if (strcmp(sc, "run-unterminated") == 0)
		run(fd, rootfs, 1, 0, 0, "/bin/true", 10, 1);
	else if (strcmp(sc, "run-extra") == 0)
		run(fd, rootfs, 1, 0, 0, "/bin/true\0extra", 16, 0);
	else if (strcmp(sc, "run-bad-env") == 0)
		run(fd, rootfs, 1, 1, 0, "/bin/true\0NOEQUALS", 19, 0);
	else if (strcmp(sc, "run-bad-volume") == 0)
		run(fd, rootfs, 1, 0, 1, "/bin/true\0../etc:/x", 20, 0);
	else if (strcmp(sc, "run-volume-dev") == 0)
		run(fd, rootfs, 1, 0, 1, "/bin/true\0/tmp://dev", 21, 0);
	else if (strcmp(sc, "run-volume-proc") == 0)
		run(fd, rootfs, 1, 0, 1, "/bin/true\0/tmp://proc", 22, 0);
	else if (strcmp(sc, "run-relative-rootfs") == 0)
		run(fd, "rootfs", 1, 0, 0, "/bin/true", 10, 0);
	else if (strcmp(sc, "two-requests") == 0) {
		msg(fd, IMSG_CTL_PS, &ps, sizeof(ps));
		msg(fd, IMSG_CTL_PS, &ps, sizeof(ps));
	} else if (strcmp(sc, "good") == 0)
		msg(fd, IMSG_CTL_PS, &ps, sizeof(ps));
	else {
		fprintf(stderr, "ctlpeer: unknown scenario %s\n", sc);
		return 2;
	}
	answers(fd);
	return 0;
}
