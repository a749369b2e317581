/*
 * dnsharness: plays the lensnetd parent for the dns child, for the
 * regress suite (regress/netd-dns.t) while the real parent is written.
 * It binds a UDP and a TCP socket on ADDR:PORT, forks dns_main, sends
 * NETD_CONFIG (upstream), NETD_SANDBOX (the policy file's model) and
 * both listeners, plays the proxy on the channel between dns and proxy
 * (role.link: RESOLVE to the child, DNSMAP and RESOLVED from it), then
 * prints what the child sends, one line each:
 *
 *	ready pid=PID
 *	dnsmap sbx=N name=NAME addr=ADDR ttl=TTL
 *	audit sbx=N type=TYPE details=JSON
 *	resolved reqid=N error=E addrs=A,B,...
 *	child PID STATUS		(and exit 1 when it ends)
 *
 * Commands on stdin, one a line: "resolve NAME" (as the proxy), "gone"
 * (the sandbox goes away), "policy FILE" (reload), "garbage" (a message
 * of the wrong size to the child: it must die, fail closed), "xgarbage"
 * (the same as the proxy: a RESOLVE one byte short).
 *
 *   dnsharness [-H hostaddr] ... -u UPSTREAM[:PORT] -l ADDR:PORT -p POLICY
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "imsg.h"
#include "lensnetd.h"
#include "log.h"
#include "policy.h"
#include "privsep.h"
#include "proc.h"

#define SBX	1

static struct imsgbuf	 ibuf, lbuf;	/* as the parent, as the proxy */
static struct proc_child child = { .name = "dns" };

static void
parse_addr(const char *s, uint16_t defport, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	char			 buf[128], *port = NULL, *a = buf;

	memset(ss, 0, sizeof(*ss));
	strlcpy(buf, s, sizeof(buf));
	if (buf[0] == '[') {
		a = buf + 1;
		if ((port = strchr(a, ']')) == NULL)
			errx(1, "%s: no ]", s);
		*port++ = '\0';
		port = *port == ':' ? port + 1 : NULL;
	} else if (strchr(buf, ':') == strrchr(buf, ':') &&
	    (port = strchr(buf, ':')) != NULL)
		*port++ = '\0';
	if (inet_pton(AF_INET, a, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port ? atoi(port) : defport);
	} else if (inet_pton(AF_INET6, a, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port ? atoi(port) : defport);
	} else
		errx(1, "%s: not an address", s);
}

static void
send_msg(uint32_t type, int fd, const void *data, size_t len)
{
	if (imsg_compose(&ibuf, type, SBX, 0, fd, data, len) == -1 ||
	    imsg_flush(&ibuf) == -1)
		err(1, "send to the child");
}

/* the policy file as lensnetd's parent sends it: its binary model */
static void
send_policy(const char *path)
{
	struct netd_sandbox	 ns;
	struct policy_error	 perr;
	struct policy		*pol;
	struct ibuf		*b;
	char			 ebuf[600];
	void			*buf;
	size_t			 len;

	if ((pol = policy_load(path, &perr)) == NULL) {
		policy_strerror(&perr, ebuf, sizeof(ebuf));
		errx(1, "%s", ebuf);
	}
	if ((buf = policy_model(pol, &len)) == NULL)
		err(1, NULL);
	policy_free(pol);
	memset(&ns, 0, sizeof(ns));
	strlcpy(ns.sandbox, "dnsharness", sizeof(ns.sandbox));
	ns.policylen = len;
	if ((b = imsg_create(&ibuf, IMSG_NETD_SANDBOX, SBX, 0,
	    sizeof(ns) + len)) == NULL || imsg_add(b, &ns, sizeof(ns)) == -1 ||
	    imsg_add(b, buf, len) == -1)
		err(1, "compose NETD_SANDBOX");
	imsg_close(&ibuf, b);
	if (imsg_flush(&ibuf) == -1)
		err(1, "send to the child");
	free(buf);
}

static struct sockaddr_storage	 upstream_ss;

/* what the lensnetd parent does for the dns child: a TCP connection */
static void
upstream_tcp(struct imsg *im)
{
	socklen_t	 slen;
	int		 s;

	if (imsg_expect(im, sizeof(struct netd_upstream)) == -1)
		errx(1, "UPSTREAM_TCP of the wrong size");
	slen = upstream_ss.ss_family == AF_INET ?
	    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	if ((s = socket(upstream_ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		err(1, "socket");
	if (connect(s, (struct sockaddr *)&upstream_ss, slen) == -1 &&
	    errno != EINPROGRESS) {
		close(s);
		s = -1;
	}
	send_msg(IMSG_NETD_UPSTREAM_TCP, s, im->data, im->datalen);
}

static void
print_msg(struct imsg *im)
{
	struct netd_dnsmap	 m;
	struct netd_resolved	 r;
	struct netd_audit	 a;
	char			 abuf[INET6_ADDRSTRLEN];
	uint32_t		 i;

	switch (im->hdr.type) {
	case IMSG_NETD_UPSTREAM_TCP:
		upstream_tcp(im);
		return;
	case IMSG_NETD_DNSMAP:
		if (imsg_expect(im, sizeof(m)) == -1)
			errx(1, "DNSMAP of the wrong size");
		memcpy(&m, im->data, sizeof(m));
		if (memchr(m.name, '\0', sizeof(m.name)) == NULL)
			errx(1, "DNSMAP name not terminated");
		printf("dnsmap sbx=%u name=%s addr=%s ttl=%u\n",
		    im->hdr.peerid, m.name, addr_str((struct sockaddr *)&m.addr,
		    abuf, sizeof(abuf)), m.ttl);
		break;
	case IMSG_NETD_AUDIT:
		if (im->datalen < sizeof(a))
			errx(1, "AUDIT of the wrong size");
		memcpy(&a, im->data, sizeof(a));
		if (memchr(a.type, '\0', sizeof(a.type)) == NULL)
			errx(1, "AUDIT type not terminated");
		printf("audit sbx=%u type=%s details=%.*s\n", im->hdr.peerid,
		    a.type, (int)(im->datalen - sizeof(a)),
		    (char *)im->data + sizeof(a));
		break;
	case IMSG_NETD_RESOLVED:
		if (imsg_expect(im, sizeof(r)) == -1)
			errx(1, "RESOLVED of the wrong size");
		memcpy(&r, im->data, sizeof(r));
		if (r.naddrs > NETD_MAXADDRS)
			errx(1, "RESOLVED with %u addresses", r.naddrs);
		printf("resolved reqid=%llu error=%d addrs=",
		    (unsigned long long)r.reqid, r.error);
		for (i = 0; i < r.naddrs; i++)
			printf("%s%s", i ? "," : "", addr_str(
			    (struct sockaddr *)&r.addrs[i], abuf,
			    sizeof(abuf)));
		printf("\n");
		break;
	default:
		errx(1, "the child sent message type %#x", im->hdr.type);
	}
	fflush(stdout);
}

static void
command(char *line)
{
	static uint64_t		 reqid;
	struct netd_resolve	 r;
	uint8_t			 junk[3] = { 1, 2, 3 };

	line[strcspn(line, "\r\n")] = '\0';
	if (strncmp(line, "resolve ", 8) == 0) {
		memset(&r, 0, sizeof(r));
		r.reqid = ++reqid;
		strlcpy(r.name, line + 8, sizeof(r.name));
		if (imsg_compose(&lbuf, IMSG_NETD_RESOLVE, SBX, 0, -1, &r,
		    sizeof(r)) == -1 || imsg_flush(&lbuf) == -1)
			err(1, "send to the child as the proxy");
	} else if (strcmp(line, "gone") == 0)
		send_msg(IMSG_NETD_SANDBOX_GONE, -1, NULL, 0);
	else if (strncmp(line, "policy ", 7) == 0)
		send_policy(line + 7);
	else if (strcmp(line, "garbage") == 0)
		send_msg(IMSG_NETD_CONFIG, -1, junk, sizeof(junk));
	else if (strcmp(line, "xgarbage") == 0) {
		memset(&r, 0, sizeof(r));
		if (imsg_compose(&lbuf, IMSG_NETD_RESOLVE, SBX, 0, -1, &r,
		    sizeof(r) - 1) == -1 || imsg_flush(&lbuf) == -1)
			err(1, "send to the child as the proxy");
	}
	else if (line[0] != '\0')
		warnx("unknown command: %s", line);
}

static void
usage(void)
{
	fprintf(stderr, "usage: dnsharness [-H hostaddr] -u upstream[:port] "
	    "-l addr:port -p policy\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct netd_config	 conf;
	struct netd_hostaddr	 hosts[32];
	struct netd_listener	 nl;
	struct sockaddr_storage	 la;
	struct pollfd		 pfd[3];
	struct imsgbuf		*ib;
	struct imsg		 im;
	const char		*upstream = NULL, *listen_at = NULL;
	const char		*policy = NULL;
	char			 line[512], *eol;
	char			 why[256];
	struct netd_role	 role;
	size_t			 llen = 0;
	socklen_t		 slen;
	ssize_t			 n;
	int			 ch, us, ts, one = 1, st, stdin_open = 1;
	int			 nhosts = 0, i, link[2], keep[2];

	proc_init(argc, argv);
	memset(&conf, 0, sizeof(conf));
	while ((ch = getopt(argc, argv, "H:l:p:u:")) != -1) {
		switch (ch) {
		case 'H':
			if (nhosts == 32)
				errx(1, "too many -H");
			memset(&hosts[nhosts], 0, sizeof(hosts[nhosts]));
			parse_addr(optarg, 0, &hosts[nhosts++].addr);
			break;
		case 'l':
			listen_at = optarg;
			break;
		case 'p':
			policy = optarg;
			break;
		case 'u':
			upstream = optarg;
			break;
		default:
			usage();
		}
	}
	if (upstream == NULL || listen_at == NULL || policy == NULL)
		usage();
	parse_addr(upstream, 53, &conf.upstream);
	parse_addr(listen_at, 53, &la);
	slen = la.ss_family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6);

	log_init(1, LOG_DAEMON);
	log_setverbose(getenv("DNSHARNESS_VERBOSE") != NULL);
	privsep_emptydir(LENS_EMPTYDIR);

	if ((us = socket(la.ss_family, SOCK_DGRAM, 0)) == -1 ||
	    bind(us, (struct sockaddr *)&la, slen) == -1)
		err(1, "udp %s", listen_at);
	if ((ts = socket(la.ss_family, SOCK_STREAM, 0)) == -1 ||
	    setsockopt(ts, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(ts, (struct sockaddr *)&la, slen) == -1 ||
	    listen(ts, 64) == -1)
		err(1, "tcp %s", listen_at);

	if (privsep_user(NETD_USER, &role.user, why, sizeof(why)) == -1)
		errx(1, "%s", why);
	role.parent = getpid();
	proc_socketpair(link);
	role.link[0] = keep[0] = link[0];
	role.link[1] = -1;
	keep[1] = -1;
	proc_fork(&child, dns_main, &role, keep);
	close(link[0]);
	proc_log_fork(&child);
	imsg_init(&ibuf, child.fd);
	imsg_init(&lbuf, link[1]);
	send_msg(IMSG_NETD_CONFIG, -1, &conf, sizeof(conf));
	for (i = 0; i < nhosts; i++)
		send_msg(IMSG_NETD_HOSTADDR_ADD, -1, &hosts[i],
		    sizeof(hosts[i]));
	upstream_ss = conf.upstream;
	send_policy(policy);
	memset(&nl, 0, sizeof(nl));
	nl.kind = NETD_L_DNS_UDP;
	send_msg(IMSG_NETD_LISTENER, us, &nl, sizeof(nl));
	nl.kind = NETD_L_DNS_TCP;
	send_msg(IMSG_NETD_LISTENER, ts, &nl, sizeof(nl));
	close(us);
	close(ts);
	printf("ready pid=%d\n", (int)child.pid);
	fflush(stdout);

	for (;;) {
		pfd[0].fd = child.fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = stdin_open ? STDIN_FILENO : -1;
		pfd[1].events = POLLIN;
		pfd[2].fd = lbuf.fd;
		pfd[2].events = POLLIN;
		if (poll(pfd, 3, -1) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "poll");
		}
		if (pfd[1].revents & (POLLIN | POLLHUP)) {
			/* read(2), not stdio: poll must see what is left */
			n = read(STDIN_FILENO, line + llen,
			    sizeof(line) - 1 - llen);
			if (n <= 0)
				stdin_open = 0;
			else
				llen += n;
			while ((eol = memchr(line, '\n', llen)) != NULL ||
			    llen == sizeof(line) - 1) {
				size_t	 k = eol ?
				    (size_t)(eol - line) + 1 : llen;
				char	 cmd[sizeof(line)];

				memcpy(cmd, line, k);
				cmd[k] = '\0';
				memmove(line, line + k, llen - k);
				llen -= k;
				command(cmd);
			}
		}
		if (pfd[2].revents & (POLLIN | POLLHUP))
			ib = &lbuf;
		else if (pfd[0].revents & (POLLIN | POLLHUP))
			ib = &ibuf;
		else
			continue;
		if ((n = imsg_read(ib)) == -1 && errno != EAGAIN &&
		    errno != ECONNRESET)
			err(1, "read from the child");
		if (n == 0 || (n == -1 && errno == ECONNRESET)) {
			if (waitpid(child.pid, &st, 0) == -1)
				err(1, "waitpid");
			child.status = st;
			printf("child %d %s\n", (int)child.pid,
			    proc_status(&child));
			fflush(stdout);
			exit(1);
		}
		while ((ch = imsg_get(ib, &im)) == 1) {
			/* the proxy's channel: DNSMAP and RESOLVED, only */
			if ((im.hdr.type == IMSG_NETD_DNSMAP ||
			    im.hdr.type == IMSG_NETD_RESOLVED) != (ib == &lbuf))
				errx(1, "message %#x on the %s channel",
				    im.hdr.type, ib == &lbuf ? "proxy's" :
				    "parent's");
			print_msg(&im);
			imsg_free(&im);
		}
		if (ch == -1)
			err(1, "bad message from the child");
	}
}
