/*
 * dnsflood SERVER COUNT SUFFIX: send COUNT DNS queries (A, over UDP to
 * SERVER port 53) for COUNT different names "qN.SUFFIX", as fast as the
 * socket takes them, reading answers as they come; then wait up to 3 s
 * for the rest.  Prints "sent N", "answers N", "nxdomain N".  Built
 * static into a sandbox's rootfs by regress/attack/netd-audit-flood.t.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static size_t
query(unsigned char *b, unsigned id, unsigned n, const char *suffix)
{
	char	 name[300], *lab, *dot;
	size_t	 len = 12, l;

	memset(b, 0, 12);
	b[0] = id >> 8;
	b[1] = id & 0xff;
	b[2] = 0x01;		/* RD */
	b[5] = 1;		/* QDCOUNT */
	snprintf(name, sizeof(name), "q%u.%s", n, suffix);
	for (lab = name; lab != NULL; lab = dot) {
		if ((dot = strchr(lab, '.')) != NULL)
			*dot++ = '\0';
		l = strlen(lab);
		b[len++] = (unsigned char)l;
		memcpy(b + len, lab, l);
		len += l;
	}
	b[len++] = 0;
	b[len++] = 0; b[len++] = 1;	/* A */
	b[len++] = 0; b[len++] = 1;	/* IN */
	return len;
}

static void
drain(int s, unsigned *answers, unsigned *nx, int ms)
{
	unsigned char	 r[1500];
	struct pollfd	 p = { s, POLLIN, 0 };
	ssize_t		 n;

	while (poll(&p, 1, ms) == 1) {
		if ((n = recv(s, r, sizeof(r), MSG_DONTWAIT)) < 12)
			continue;
		(*answers)++;
		if ((r[3] & 0x0f) == 3)
			(*nx)++;
		ms = ms > 0 ? ms : 0;
	}
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in	 sin;
	unsigned char		 b[512];
	unsigned		 count, i, sent = 0, answers = 0, nx = 0;
	size_t			 len;
	int			 s;

	if (argc != 4) {
		fprintf(stderr, "usage: dnsflood server count suffix\n");
		return 2;
	}
	count = (unsigned)strtoul(argv[2], NULL, 10);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(53);
	if (inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1 ||
	    (s = socket(AF_INET, SOCK_DGRAM, 0)) == -1 ||
	    connect(s, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		perror("dnsflood");
		return 1;
	}
	for (i = 0; i < count; i++) {
		len = query(b, i & 0xffff, i, argv[3]);
		while (send(s, b, len, 0) == -1) {
			if (errno != ENOBUFS && errno != EAGAIN &&
			    errno != ECONNREFUSED) {
				perror("send");
				return 1;
			}
			drain(s, &answers, &nx, 1);
		}
		sent++;
		/* keep the socket's receive buffer from overflowing */
		if (sent - answers > 256)
			drain(s, &answers, &nx, 50);
		else
			drain(s, &answers, &nx, 0);
	}
	drain(s, &answers, &nx, 3000);
	printf("sent %u\nanswers %u\nnxdomain %u\n", sent, answers, nx);
	return 0;
}
