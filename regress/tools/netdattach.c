/*
 * netdattach: plays lensvmm towards lensnetd for the regress suite.
 * Sends NETD_ATTACH with a network namespace (a path such as
 * /run/netns/NAME) and holds the connection until stdin reaches EOF or
 * the tool is killed.  Prints one line: "attached ADDR GATEWAY/PLEN
 * IFNAME PROXYPORT MTU [tapfd]", "error MESSAGE", or "closed" when
 * lensnetd dropped the connection without a word, then "detached" when
 * it lets go.
 *
 *   netdattach [-dm] [-b bad] [-H placeholder]... [-i id]
 *       [-I instance -R address] [-M model | -P policyfile] [-p spec]...
 *       socket netns|-
 *
 *   -m		microvm: no namespace, expect a tap descriptor back
 *   -d		send DETACH (instead of closing) on stdin EOF
 *   -P file	the policy (lns-policy.yaml), sent as its binary model
 *   -M file	these bytes as the binary model, unchecked
 *   -H ph	a credential placeholder (PH_SIZE bytes on the wire)
 *   -R addr	a re-attach keeping this address, of lensnetd -n instance
 *		-I (either may be given alone, as a bad request)
 *   -b bad	a bad request: short, nofd, fd-microvm, id, pad, trailing,
 *		policylen, frame, twice, type, notns, phcount (one more
 *		placeholder counted than sent), instpad (bytes after the
 *		instance's NUL)
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "imsg.h"
#include "lensnetd_imsg.h"
#include "phscan.h"
#include "policy.h"

static int
dial(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		perror(path);
		exit(1);
	}
	return fd;
}

static __attribute__((noreturn)) void
usage(void)
{
	fprintf(stderr, "usage: netdattach [-dm] [-b bad] [-H ph]... [-i id] "
	    "[-I instance] [-R address] [-M model | -P policyfile] "
	    "[-p spec]... socket netns|-\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct imsgbuf		 ibuf;
	struct imsg		 im;
	struct netd_attach	 a;
	struct netd_attached	 na;
	struct netd_error	 ne;
	struct pollfd		 pfd[2];
	char			 gw[INET_ADDRSTRLEN], addr[INET_ADDRSTRLEN];
	char			*pubs[32], policy[65536], *phs[8];
	size_t			 nph = 0;
	const char		*bad = "", *id = NULL, *policyfile = NULL;
	const char		*modelfile = NULL, *inst = NULL;
	struct in_addr		 reattach = { 0 };
	uint8_t			 buf[sizeof(a) + sizeof(policy) + 4096];
	size_t			 len, plen = 0;
	int			 ch, fd, nsfd = -1, micro = 0, detach = 0;
	int			 npub = 0, i, rc, got = 0;
	ssize_t			 n;

	while ((ch = getopt(argc, argv, "b:dH:I:i:M:mP:p:R:")) != -1) {
		switch (ch) {
		case 'b':
			bad = optarg;
			break;
		case 'H':
			if (nph == 8 || strlen(optarg) >= PH_SIZE)
				usage();
			phs[nph++] = optarg;
			break;
		case 'd':
			detach = 1;
			break;
		case 'i':
			id = optarg;
			break;
		case 'I':
			inst = optarg;
			break;
		case 'R':
			if (inet_pton(AF_INET, optarg, &reattach) != 1)
				usage();
			break;
		case 'M':
			modelfile = optarg;
			break;
		case 'm':
			micro = 1;
			break;
		case 'P':
			policyfile = optarg;
			break;
		case 'p':
			if (npub == 32)
				usage();
			pubs[npub++] = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2)
		usage();
	if (strcmp(argv[1], "-") != 0 && (nsfd = open(argv[1], O_RDONLY |
	    O_CLOEXEC)) == -1) {
		perror(argv[1]);
		return 1;
	}
	if (policyfile != NULL) {
		struct policy_error	 perr;
		struct policy		*pol;
		char			 ebuf[600];
		void			*m;

		if ((pol = policy_load(policyfile, &perr)) == NULL) {
			policy_strerror(&perr, ebuf, sizeof(ebuf));
			fprintf(stderr, "netdattach: %s\n", ebuf);
			return 1;
		}
		if ((m = policy_model(pol, &plen)) == NULL ||
		    plen > sizeof(policy))
			return 1;
		memcpy(policy, m, plen);
		free(m);
		policy_free(pol);
	}
	if (modelfile != NULL) {
		if ((fd = open(modelfile, O_RDONLY)) == -1 ||
		    (n = read(fd, policy, sizeof(policy))) < 0) {
			perror(modelfile);
			return 1;
		}
		plen = (size_t)n;
		close(fd);
	}
	fd = dial(argv[0]);
	imsg_init(&ibuf, fd);

	memset(&a, 0, sizeof(a));
	strlcpy(a.sandbox, id != NULL ? id : "0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef", sizeof(a.sandbox));
	a.backend = micro ? NETD_BACKEND_MICROVM : NETD_BACKEND_JAIL;
	a.npublish = (uint32_t)npub;
	a.policylen = (uint32_t)plen;
	if (strcmp(bad, "id") == 0)
		memcpy(a.sandbox, "../../etc", 10);
	a.nplaceholder = (uint32_t)nph;
	if (strcmp(bad, "pad") == 0)
		a.pad[1] = 7;
	a.reattach = reattach;
	if (inst != NULL)
		strlcpy(a.instance, inst, sizeof(a.instance));
	if (strcmp(bad, "instpad") == 0)
		a.instance[sizeof(a.instance) - 1] = 'x';
	if (strcmp(bad, "phcount") == 0)
		a.nplaceholder++;
	if (strcmp(bad, "policylen") == 0)
		a.policylen = 1000000;
	if (strcmp(bad, "nofd") == 0 && nsfd != -1) {
		close(nsfd);
		nsfd = -1;
	}
	if (strcmp(bad, "fd-microvm") == 0)
		a.backend = NETD_BACKEND_MICROVM;
	if (strcmp(bad, "notns") == 0) {
		if (nsfd != -1)
			close(nsfd);
		if ((nsfd = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1)
			return 1;
	}
	memcpy(buf, &a, sizeof(a));
	len = sizeof(a);
	memcpy(buf + len, policy, plen);
	len += plen;
	for (i = 0; i < npub; i++) {
		memcpy(buf + len, pubs[i], strlen(pubs[i]) + 1);
		len += strlen(pubs[i]) + 1;
	}
	for (i = 0; i < (int)nph; i++) {
		memset(buf + len, 0, PH_SIZE);
		memcpy(buf + len, phs[i], strlen(phs[i]));
		len += PH_SIZE;
	}
	if (strcmp(bad, "short") == 0)
		len = sizeof(a) - 8;
	if (strcmp(bad, "trailing") == 0) {
		memcpy(buf + len, "junk", 4);
		len += 4;
	}
	if (strcmp(bad, "frame") == 0) {
		struct imsg_hdr	 h;

		memset(&h, 0, sizeof(h));
		h.type = IMSG_NETD_ATTACH;
		h.len = 3;		/* shorter than a header */
		if (write(fd, &h, sizeof(h)) == -1)
			return 1;
	} else {
		if (imsg_compose(&ibuf, strcmp(bad, "type") == 0 ?
		    IMSG_NETD_DETACH : IMSG_NETD_ATTACH, 0, 0, nsfd, buf,
		    len) == -1 || imsg_flush(&ibuf) == -1) {
			imsg_clear(&ibuf);
			/* lensnetd hung up first (a refused peer) */
			if (errno == EPIPE || errno == ECONNRESET) {
				printf("closed\n");
				return 3;
			}
			perror("send ATTACH");
			return 1;
		}
		if (strcmp(bad, "twice") == 0 && (imsg_compose(&ibuf,
		    IMSG_NETD_ATTACH, 0, 0, -1, buf, len) == -1 ||
		    imsg_flush(&ibuf) == -1)) {
			perror("send ATTACH");
			return 1;
		}
	}

	setvbuf(stdout, NULL, _IOLBF, 0);
	pfd[0].fd = fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = STDIN_FILENO;
	pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, got ? 2 : 1, -1) == -1) {
			if (errno == EINTR)
				continue;
			perror("poll");
			return 1;
		}
		if (got && (pfd[1].revents & (POLLIN | POLLHUP))) {
			char	 c[256];

			if (read(STDIN_FILENO, c, sizeof(c)) <= 0) {
				if (detach) {
					imsg_compose(&ibuf, IMSG_NETD_DETACH, 0,
					    0, -1, NULL, 0);
					imsg_flush(&ibuf);
				}
				printf("detached\n");
				return 0;
			}
		}
		if (!(pfd[0].revents & (POLLIN | POLLHUP)))
			continue;
		n = imsg_read(&ibuf);
		if (n == 0 || (n == -1 && errno != EAGAIN)) {
			printf("closed\n");
			return got ? 0 : 3;
		}
		while ((rc = imsg_get(&ibuf, &im)) == 1) {
			switch (im.hdr.type) {
			case IMSG_NETD_ATTACHED:
				if (im.datalen < sizeof(na)) {
					printf("bad ATTACHED\n");
					return 1;
				}
				memcpy(&na, im.data, sizeof(na));
				inet_ntop(AF_INET, &na.addr, addr,
				    sizeof(addr));
				inet_ntop(AF_INET, &na.gateway, gw,
				    sizeof(gw));
				na.ifname[sizeof(na.ifname) - 1] = '\0';
				printf("attached %s %s/%u %s %u %u%s\n", addr,
				    gw, na.prefixlen, na.ifname, na.proxyport,
				    na.mtu, im.fd != -1 ? " tapfd" : "");
				if (na.calen != im.datalen - sizeof(na))
					printf("bad CA length %u\n", na.calen);
				else if (na.calen > 0)
					printf("ca %u\n%.*s", na.calen,
					    (int)na.calen,
					    (char *)im.data + sizeof(na));
				else
					printf("no ca\n");
				got = 1;
				/* the tap lives as long as its descriptor */
				im.fd = -1;
				break;
			case IMSG_NETD_ERROR:
				if (imsg_expect(&im, sizeof(ne)) == -1) {
					printf("bad ERROR\n");
					return 1;
				}
				memcpy(&ne, im.data, sizeof(ne));
				imsg_free(&im);
				ne.msg[sizeof(ne.msg) - 1] = '\0';
				printf("error %s\n", ne.msg);
				return 2;
			default:
				printf("unexpected %#x\n", im.hdr.type);
				return 1;
			}
			imsg_free(&im);
		}
		if (rc == -1) {
			printf("bad frame\n");
			return 1;
		}
	}
}
