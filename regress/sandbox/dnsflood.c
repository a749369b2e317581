/*
 * dnsflood N PREFIX: from inside a sandbox, send N DNS queries (type A,
 * ids 1..N) for PREFIXi.flood.test (i = 1..N) to the nameserver of
 * /etc/resolv.conf from one UDP socket, three times over, without
 * waiting for answers, then count what comes back within 0.5 s of the
 * last and print "sent N answered M".
 * Built static by regress/attack/approval-dns.t (the sandbox has no
 * compiler nor Lens libraries).
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static size_t
query(unsigned char *b, unsigned int id, const char *name)
{
	size_t		 n = 12, l;
	const char	*p = name, *dot;

	memset(b, 0, 12);
	b[0] = id >> 8;
	b[1] = id & 0xff;
	b[2] = 0x01;			/* RD */
	b[5] = 1;			/* QDCOUNT */
	while (*p != '\0') {
		dot = strchr(p, '.');
		l = dot != NULL ? (size_t)(dot - p) : strlen(p);
		b[n++] = l;
		memcpy(b + n, p, l);
		n += l;
		p += l + (dot != NULL);
	}
	b[n++] = 0;
	b[n++] = 0;
	b[n++] = 1;			/* A */
	b[n++] = 0;
	b[n++] = 1;			/* IN */
	return n;
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in	 sin;
	struct pollfd		 pfd;
	unsigned char		 b[512];
	char			 line[256], ns[64] = "", name[200];
	FILE			*f;
	unsigned int		 i, n, r, answered = 0;
	int			 s;

	if (argc != 3 || (n = atoi(argv[1])) == 0 || n > 65535) {
		fprintf(stderr, "usage: dnsflood N PREFIX\n");
		return 2;
	}
	if ((f = fopen("/etc/resolv.conf", "r")) == NULL) {
		perror("/etc/resolv.conf");
		return 1;
	}
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "nameserver %63s", ns) == 1)
			break;
	fclose(f);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(53);
	if (inet_pton(AF_INET, ns, &sin.sin_addr) != 1) {
		fprintf(stderr, "no IPv4 nameserver in /etc/resolv.conf\n");
		return 1;
	}
	if ((s = socket(AF_INET, SOCK_DGRAM, 0)) == -1 ||
	    connect(s, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		perror("socket");
		return 1;
	}
	/*
	 * three rounds of the same queries (same ids, names and port): a
	 * query the resolver's socket buffer dropped is sent again, and
	 * one it has joins the held one (no new approval)
	 */
	for (r = 0; r < 3; r++) {
		for (i = 1; i <= n; i++) {
			snprintf(name, sizeof(name), "%s%u.flood.test",
			    argv[2], i);
			if (send(s, b, query(b, i, name), 0) == -1) {
				perror("send");
				return 1;
			}
			if (i % 32 == 0)
				usleep(1000);
		}
		usleep(200000);
	}
	pfd.fd = s;
	pfd.events = POLLIN;
	while (poll(&pfd, 1, 500) == 1 && recv(s, b, sizeof(b), 0) > 0)
		answered++;
	printf("sent %u answered %u\n", n, answered);
	return 0;
}
