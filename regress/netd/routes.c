/*
 * Test roles for lensnetd's parent (linked instead of dns.c and proxy.c
 * into $(OBJ)/regress/lensnetd-routes): they prove the parent routes
 * the children's messages and makes inward sockets in the right
 * namespace.  Each logs one line per message it gets ("dns: got ..." /
 * "proxy: got ..."), which regress/netd-routes.t reads.
 *
 * On a new sandbox, dns sends a DNSMAP (example.test -> 198.18.0.7) and
 * an AUDIT event; proxy sends a RESOLVE (reqid 42) and an
 * INWARD_REQUEST (port 8080).  dns answers a RESOLVE with RESOLVED
 * (198.18.0.8).  proxy connects the inward socket it gets to the
 * sandbox's address and port and writes "hello-inward\n".  With
 * LENS_ROUTES_BAD=dns (or proxy) in the environment, that child sends a
 * message of the wrong size first, which must end the daemon.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"
#include "log.h"
#include "lensnetd.h"
#include "privsep.h"

struct sbinfo {
	uint32_t	 id;
	struct in_addr	 addr;
};

static struct imsgbuf	 ibuf;
static struct sbinfo	 sbs[64];

static void
send_msg(uint32_t type, uint32_t peerid, const void *data, size_t len)
{
	if (imsg_compose(&ibuf, type, peerid, 0, -1, data, len) == -1 ||
	    imsg_flush(&ibuf) == -1)
		fatal("send %#x", type);
}

static void
on_sandbox(int dns, struct imsg *im)
{
	struct netd_sandbox	 ns;
	struct netd_dnsmap	 dm;
	struct netd_resolve	 rs;
	struct netd_inward	 in;
	struct sockaddr_in	*sin;
	uint8_t			 buf[sizeof(struct netd_audit) + 64];
	struct netd_audit	*na = (struct netd_audit *)buf;
	const char		*details = "{\"name\":\"example.test\"}";
	size_t			 i;

	if (im->datalen < sizeof(ns))
		fatalx("short SANDBOX");
	memcpy(&ns, im->data, sizeof(ns));
	log_info("%s: got SANDBOX %u %.64s addr %s policy %u bytes",
	    dns ? "dns" : "proxy", im->hdr.peerid, ns.sandbox,
	    inet_ntoa(ns.addr), ns.policylen);
	for (i = 0; i < 64; i++)
		if (sbs[i].id == 0) {
			sbs[i].id = im->hdr.peerid;
			sbs[i].addr = ns.addr;
			break;
		}
	if (dns) {
		memset(&dm, 0, sizeof(dm));
		strlcpy(dm.name, "example.test", sizeof(dm.name));
		sin = (struct sockaddr_in *)&dm.addr;
		sin->sin_family = AF_INET;
		inet_pton(AF_INET, "198.18.0.7", &sin->sin_addr);
		dm.ttl = 60;
		send_msg(IMSG_NETD_DNSMAP, im->hdr.peerid, &dm, sizeof(dm));
		memset(buf, 0, sizeof(buf));
		strlcpy(na->type, "dns.test", sizeof(na->type));
		na->detailslen = (uint32_t)strlen(details);
		memcpy(buf + sizeof(*na), details, strlen(details));
		send_msg(IMSG_NETD_AUDIT, im->hdr.peerid, buf,
		    sizeof(*na) + strlen(details));
	} else {
		memset(&rs, 0, sizeof(rs));
		rs.reqid = 42;
		strlcpy(rs.name, "example.test", sizeof(rs.name));
		send_msg(IMSG_NETD_RESOLVE, im->hdr.peerid, &rs, sizeof(rs));
		memset(&in, 0, sizeof(in));
		in.reqid = 7;
		in.port = 8080;
		send_msg(IMSG_NETD_INWARD_REQUEST, im->hdr.peerid, &in,
		    sizeof(in));
	}
}

static void
on_inward(struct imsg *im)
{
	struct netd_inward	 in;
	struct sockaddr_in	 sin;
	struct pollfd		 pfd;
	socklen_t		 sl = sizeof(int);
	int			 e = 0;
	size_t			 i;

	if (imsg_expect(im, sizeof(in)) == -1)
		fatalx("bad INWARD_SOCKET");
	memcpy(&in, im->data, sizeof(in));
	if (im->fd == -1) {
		log_info("proxy: got INWARD_SOCKET %llu without a socket",
		    (unsigned long long)in.reqid);
		return;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(in.port);
	for (i = 0; i < 64; i++)
		if (sbs[i].id == im->hdr.peerid)
			sin.sin_addr = sbs[i].addr;
	if (connect(im->fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 &&
	    errno != EINPROGRESS) {
		log_warn("proxy: inward connect");
		return;
	}
	pfd.fd = im->fd;
	pfd.events = POLLOUT;
	if (poll(&pfd, 1, 5000) != 1 || getsockopt(im->fd, SOL_SOCKET,
	    SO_ERROR, &e, &sl) == -1 || e != 0) {
		log_warnx("proxy: inward connect to %s:%u failed: %s",
		    inet_ntoa(sin.sin_addr), in.port, strerror(e));
		return;
	}
	if (write(im->fd, "hello-inward\n", 13) != 13)
		log_warn("proxy: inward write");
	log_info("proxy: got INWARD_SOCKET %llu, connected to %s:%u",
	    (unsigned long long)in.reqid, inet_ntoa(sin.sin_addr), in.port);
}

static int
role(int fd, void *arg, int dns)
{
	struct netd_role	*r = arg;
	struct netd_resolved	 rd;
	struct netd_resolve	 rs;
	struct netd_dnsmap	 dm;
	struct sockaddr_in	*sin;
	struct imsg		 im;
	struct pollfd		 pfd;
	const char		*name = dns ? "dns" : "proxy", *bad;
	ssize_t			 n;
	int			 rc;

	privsep_drop(NULL, &r->user, NULL, 0);
	privsep_pdeathsig(r->parent);
	imsg_init(&ibuf, fd);
	if ((bad = getenv("LENS_ROUTES_BAD")) != NULL &&
	    strcmp(bad, name) == 0) {
		log_info("%s: sending a DNSMAP of the wrong size", name);
		send_msg(IMSG_NETD_DNSMAP, 1, "x", 1);
	}
	for (;;) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, -1) == -1 && errno != EINTR)
			return 1;
		if ((n = imsg_read(&ibuf)) == 0)
			return 0;
		if (n == -1 && errno != EAGAIN)
			return 1;
		while ((rc = imsg_get(&ibuf, &im)) == 1) {
			switch (im.hdr.type) {
			case IMSG_NETD_SANDBOX:
				on_sandbox(dns, &im);
				break;
			case IMSG_NETD_RESOLVE:
				if (!dns || imsg_expect(&im, sizeof(rs)) == -1)
					fatalx("bad RESOLVE");
				memcpy(&rs, im.data, sizeof(rs));
				log_info("dns: got RESOLVE %llu %.255s",
				    (unsigned long long)rs.reqid, rs.name);
				memset(&rd, 0, sizeof(rd));
				rd.reqid = rs.reqid;
				rd.naddrs = 1;
				sin = (struct sockaddr_in *)&rd.addrs[0];
				sin->sin_family = AF_INET;
				inet_pton(AF_INET, "198.18.0.8", &sin->sin_addr);
				send_msg(IMSG_NETD_RESOLVED, im.hdr.peerid,
				    &rd, sizeof(rd));
				break;
			case IMSG_NETD_RESOLVED:
				if (dns || imsg_expect(&im, sizeof(rd)) == -1)
					fatalx("bad RESOLVED");
				memcpy(&rd, im.data, sizeof(rd));
				sin = (struct sockaddr_in *)&rd.addrs[0];
				log_info("proxy: got RESOLVED %llu %u %s",
				    (unsigned long long)rd.reqid, rd.naddrs,
				    inet_ntoa(sin->sin_addr));
				break;
			case IMSG_NETD_DNSMAP:
				if (dns || imsg_expect(&im, sizeof(dm)) == -1)
					fatalx("bad DNSMAP");
				memcpy(&dm, im.data, sizeof(dm));
				sin = (struct sockaddr_in *)&dm.addr;
				log_info("proxy: got DNSMAP %.255s %s",
				    dm.name, inet_ntoa(sin->sin_addr));
				break;
			case IMSG_NETD_INWARD_SOCKET:
				on_inward(&im);
				break;
			default:
				log_info("%s: got %#x for %u, %zu bytes%s",
				    name, im.hdr.type, im.hdr.peerid,
				    im.datalen, im.fd != -1 ? ", fd" : "");
			}
			imsg_free(&im);
		}
		if (rc == -1)
			return 1;
	}
}

int
dns_main(int fd, void *arg)
{
	return role(fd, arg, 1);
}

int
proxy_main(int fd, void *arg)
{
	return role(fd, arg, 0);
}
