/*
 * auditpeer: a deliberately misbehaving (or well-behaved) lensauditd
 * client for the regress suite.  It plays one scenario and prints what
 * the daemon did: "closed" when it dropped the connection, "welcome N"
 * and "ack N" for its answers.
 *
 *   auditpeer SOCKET SCENARIO [SOURCE [TYPE]]
 *
 * Scenario "typed" sends HELLO and one APPEND (id 5) of type TYPE,
 * e.g. a forged audit.checkpoint.  "hello-short", "hello-long",
 * "append-short" and "append-long" send a HELLO or an APPEND one byte
 * below or above the sizes lensauditd accepts, otherwise well-formed.
 * "held" sends HELLO, prints the WELCOME, waits for end of file on its
 * standard input, then sends one good APPEND (id 2000000): a client
 * that stays connected while others misbehave.
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
#include "lensauditd_imsg.h"

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
raw(int fd, uint32_t type, uint32_t len, uint16_t flags, uint16_t reserved,
    const void *data, size_t dlen)
{
	struct imsg_hdr	 h;

	memset(&h, 0, sizeof(h));
	h.type = type;
	h.len = len;
	h.flags = flags;
	h.reserved = reserved;
	/* a closed peer is an answer too: ignore EPIPE here */
	if (send(fd, &h, sizeof(h), MSG_NOSIGNAL) == -1 ||
	    (dlen > 0 && send(fd, data, dlen, MSG_NOSIGNAL) == -1))
		return;
}

static void
msg(int fd, uint32_t type, const void *data, size_t dlen)
{
	raw(fd, type, IMSG_HDRSZ + dlen, 0, 0, data, dlen);
}

static void
hello(int fd, const char *source, uint32_t version)
{
	struct audit_hello	 h;

	memset(&h, 0, sizeof(h));
	h.version = version;
	strlcpy(h.source, source, sizeof(h.source));
	msg(fd, IMSG_AUDIT_HELLO, &h, sizeof(h));
}

static void
append(int fd, uint64_t id, const char *sandbox, const char *type,
    const char *details)
{
	uint8_t			 buf[sizeof(struct audit_append) + 4096];
	struct audit_append	 a;
	size_t			 dlen = strlen(details);

	memset(&a, 0, sizeof(a));
	a.id = id;
	strlcpy(a.sandbox, sandbox, sizeof(a.sandbox));
	strlcpy(a.type, type, sizeof(a.type));
	memcpy(buf, &a, sizeof(a));
	memcpy(buf + sizeof(a), details, dlen);
	msg(fd, IMSG_AUDIT_APPEND, buf, sizeof(a) + dlen);
}

/* an APPEND of id 5 whose details are a JSON object of dlen bytes */
static void
append_sized(int fd, size_t dlen)
{
	static uint8_t		 buf[sizeof(struct audit_append) +
				    AUDIT_DETAILS_MAX + 1];
	struct audit_append	 a;
	uint8_t			*d = buf + sizeof(a);

	if (dlen < 1 || dlen > AUDIT_DETAILS_MAX + 1)
		abort();
	memset(&a, 0, sizeof(a));
	a.id = 5;
	strlcpy(a.type, "test.sized", sizeof(a.type));
	memcpy(buf, &a, sizeof(a));
	/* "{" alone, or {"p":"xxx..."} */
	memset(d, 'x', dlen);
	d[0] = '{';
	if (dlen >= 8) {
		memcpy(d, "{\"p\":\"", 6);
		memcpy(d + dlen - 2, "\"}", 2);
	}
	msg(fd, IMSG_AUDIT_APPEND, buf, sizeof(a) + dlen);
}

/*
 * Print every answer until the daemon closes or goes quiet for 1.5 s;
 * with first, only the first one (waiting up to 10 s for it).  -1 if
 * the daemon closed or said nothing.
 */
static int
answers(int fd, int first)
{
	struct imsgbuf	 ib;
	struct imsg	 im;
	struct pollfd	 pfd = { fd, POLLIN, 0 };
	ssize_t		 n;
	uint64_t	 v;

	imsg_init(&ib, fd);
	for (;;) {
		if (poll(&pfd, 1, first ? 10000 : 1500) <= 0) {
			printf("open\n");
			return first ? -1 : 0;
		}
		if ((n = imsg_read(&ib)) == 0 || (n == -1 && errno != EAGAIN)) {
			printf("closed\n");
			return -1;
		}
		while (imsg_get(&ib, &im) == 1) {
			memcpy(&v, im.data, im.datalen >= 8 ? 8 : 0);
			if (im.hdr.type == IMSG_AUDIT_WELCOME)
				printf("welcome %llu\n", (unsigned long long)v);
			else if (im.hdr.type == IMSG_AUDIT_ACK)
				printf("ack %llu\n", (unsigned long long)v);
			else
				printf("type %#x\n", im.hdr.type);
			imsg_free(&im);
			if (first) {
				fflush(stdout);
				return 0;
			}
		}
		fflush(stdout);
	}
}

int
main(int argc, char *argv[])
{
	const char	*sc, *source;
	char		 big[IMSG_MAXPAYLOAD + 64];
	int		 fd, fd2;
	size_t		 i;

	if (argc < 3) {
		fprintf(stderr, "usage: auditpeer socket scenario [source]\n");
		return 2;
	}
	sc = argv[2];
	source = argc > 3 ? argv[3] : "peer";
	fd = dial(argv[1]);
	srandom(getpid());

	if (strcmp(sc, "good") == 0) {
		hello(fd, source, AUDIT_PROTO_VERSION);
		usleep(200000);
		append(fd, 1000000, "sb-1", "test.good", "{\"b\":2,\"a\":[1]}");
	} else if (strcmp(sc, "hello") == 0) {
		hello(fd, source, AUDIT_PROTO_VERSION);
	} else if (strcmp(sc, "garbage") == 0) {
		for (i = 0; i < 4096; i++)
			big[i] = random();
		(void)!write(fd, big, 4096);
	} else if (strcmp(sc, "oversized") == 0) {
		raw(fd, IMSG_AUDIT_APPEND, IMSG_HDRSZ + IMSG_MAXPAYLOAD + 1,
		    0, 0, NULL, 0);
	} else if (strcmp(sc, "short-header") == 0) {
		raw(fd, IMSG_AUDIT_HELLO, IMSG_HDRSZ - 1, 0, 0, NULL, 0);
	} else if (strcmp(sc, "bad-flags") == 0) {
		raw(fd, IMSG_AUDIT_HELLO, IMSG_HDRSZ, 0x8000, 0, NULL, 0);
	} else if (strcmp(sc, "fd-flag-no-fd") == 0) {
		raw(fd, IMSG_AUDIT_HELLO, IMSG_HDRSZ, IMSG_F_FD, 0, NULL, 0);
	} else if (strcmp(sc, "hello-short") == 0 ||
	    strcmp(sc, "hello-long") == 0) {
		struct audit_hello	 h;
		uint8_t			 hb[sizeof(h) + 1];

		memset(hb, 0, sizeof(hb));
		memset(&h, 0, sizeof(h));
		h.version = AUDIT_PROTO_VERSION;
		strlcpy(h.source, source, sizeof(h.source));
		memcpy(hb, &h, sizeof(h));
		msg(fd, IMSG_AUDIT_HELLO, hb,
		    strcmp(sc, "hello-short") == 0 ? sizeof(h) - 1 :
		    sizeof(h) + 1);
	} else if (strcmp(sc, "append-short") == 0) {
		hello(fd, source, AUDIT_PROTO_VERSION);
		if (answers(fd, 1) == -1)
			return 1;
		append_sized(fd, 1);
	} else if (strcmp(sc, "append-long") == 0) {
		hello(fd, source, AUDIT_PROTO_VERSION);
		if (answers(fd, 1) == -1)
			return 1;
		append_sized(fd, AUDIT_DETAILS_MAX + 1);
	} else if (strcmp(sc, "held") == 0) {
		hello(fd, source, AUDIT_PROTO_VERSION);
		if (answers(fd, 1) == -1)
			return 1;
		while (read(STDIN_FILENO, big, sizeof(big)) > 0)
			;
		append(fd, 2000000, "sb-1", "test.held", "{}");
	} else if (strcmp(sc, "hello-size") == 0) {
		msg(fd, IMSG_AUDIT_HELLO, "lensvmm", 7);
	} else if (strcmp(sc, "bad-version") == 0) {
		hello(fd, source, 99);
	} else if (strcmp(sc, "bad-source") == 0) {
		hello(fd, "Bad Source!", AUDIT_PROTO_VERSION);
	} else if (strcmp(sc, "unknown-type") == 0) {
		msg(fd, 0x12345678, "x", 1);
	} else if (strcmp(sc, "append-first") == 0) {
		append(fd, 1, "", "test.x", "{}");
	} else if (strcmp(sc, "append-size") == 0) {
		hello(fd, source, AUDIT_PROTO_VERSION);
		usleep(200000);
		msg(fd, IMSG_AUDIT_APPEND, "short", 5);
	} else if (strcmp(sc, "bad-json") == 0 ||
	    strcmp(sc, "not-object") == 0 || strcmp(sc, "bad-type") == 0 ||
	    strcmp(sc, "bad-sandbox") == 0 || strcmp(sc, "id-order") == 0) {
		hello(fd, source, AUDIT_PROTO_VERSION);
		usleep(200000);
		if (strcmp(sc, "bad-json") == 0)
			append(fd, 5, "", "test.x", "{\"a\":");
		else if (strcmp(sc, "not-object") == 0)
			append(fd, 5, "", "test.x", "[1,2]");
		else if (strcmp(sc, "bad-type") == 0)
			append(fd, 5, "", "Test Type", "{}");
		else if (strcmp(sc, "bad-sandbox") == 0)
			append(fd, 5, "../etc", "test.x", "{}");
		else {
			append(fd, 7, "", "test.x", "{}");
			append(fd, 7, "", "test.x", "{}");
		}
	} else if (strcmp(sc, "typed") == 0 && argc > 4) {
		hello(fd, source, AUDIT_PROTO_VERSION);
		usleep(200000);
		append(fd, 5, "", argv[4], "{\"forged\":true}");
	} else if (strcmp(sc, "dup-source") == 0) {
		fd2 = dial(argv[1]);
		hello(fd2, source, AUDIT_PROTO_VERSION);
		usleep(200000);
		hello(fd, source, AUDIT_PROTO_VERSION);
		(void)answers(fd, 0);
		close(fd2);
		return 0;
	} else {
		fprintf(stderr, "auditpeer: unknown scenario %s\n", sc);
		return 2;
	}
	(void)answers(fd, 0);
	return 0;
}
