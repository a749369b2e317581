/*
 * Test roles for lensnetd's parent (linked instead of dns.c and proxy.c
 * into $(OBJ)/regress/lensnetd-routes): they prove the parent routes
 * the children's messages, links dns and proxy by a channel of their
 * own (role->link) and makes inward sockets in the right namespace.  Each logs one line per message it gets ("dns: got ..." /
 * "proxy: got ..."), which regress/netd-routes.t reads.
 *
 * On a new sandbox, dns sends a DNSMAP (example.test -> 198.18.0.7) to
 * the proxy and an AUDIT event to the parent; proxy sends a RESOLVE
 * (reqid 42) to dns and an INWARD_REQUEST (port 8080) to the parent.
 * dns answers a RESOLVE with RESOLVED (198.18.0.8).  Each line says
 * which channel a message came on ("from dns", "from proxy"; none: the
 * parent).  proxy connects the inward socket it gets to the
 * sandbox's address and port and writes "hello-inward\n".  With
 * LENS_ROUTES_BAD=dns (or proxy) in the environment, that child sends
 * the parent a DNSMAP of the wrong size first (a type the parent no
 * longer takes at all), which must end the daemon.
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

static struct imsgbuf	 ibuf, lbuf;	/* the parent, the other child */
static struct sbinfo	 sbs[64];

static void
send_to(struct imsgbuf *ib, uint32_t type, uint32_t peerid,
    const void *data, size_t len)
{
	if (imsg_compose(ib, type, peerid, 0, -1, data, len) == -1 ||
	    imsg_flush(ib) == -1)
		fatal("send %#x", type);
}

static void
send_msg(uint32_t type, uint32_t peerid, const void *data, size_t len)
{
	send_to(&ibuf, type, peerid, data, len);
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
		send_to(&lbuf, IMSG_NETD_DNSMAP, im->hdr.peerid, &dm,
		    sizeof(dm));
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
		send_to(&lbuf, IMSG_NETD_RESOLVE, im->hdr.peerid, &rs,
		    sizeof(rs));
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

/* one message from the parent (link 0) or from the other child */
static void
on_msg(int dns, int link, struct imsg *im)
{
	struct netd_resolved	 rd;
	struct netd_resolve	 rs;
	struct netd_dnsmap	 dm;
	struct sockaddr_in	*sin;
	const char		*name = dns ? "dns" : "proxy";
	const char		*from = !link ? "" : dns ? " from proxy" :
	    " from dns";

	switch (im->hdr.type) {
	case IMSG_NETD_SANDBOX:
		on_sandbox(dns, im);
		break;
	case IMSG_NETD_RESOLVE:
		if (!dns || imsg_expect(im, sizeof(rs)) == -1)
			fatalx("bad RESOLVE");
		memcpy(&rs, im->data, sizeof(rs));
		log_info("dns: got RESOLVE %llu %.255s%s",
		    (unsigned long long)rs.reqid, rs.name, from);
		memset(&rd, 0, sizeof(rd));
		rd.reqid = rs.reqid;
		rd.naddrs = 1;
		sin = (struct sockaddr_in *)&rd.addrs[0];
		sin->sin_family = AF_INET;
		inet_pton(AF_INET, "198.18.0.8", &sin->sin_addr);
		send_to(&lbuf, IMSG_NETD_RESOLVED, im->hdr.peerid, &rd,
		    sizeof(rd));
		break;
	case IMSG_NETD_RESOLVED:
		if (dns || imsg_expect(im, sizeof(rd)) == -1)
			fatalx("bad RESOLVED");
		memcpy(&rd, im->data, sizeof(rd));
		sin = (struct sockaddr_in *)&rd.addrs[0];
		log_info("proxy: got RESOLVED %llu %u %s%s",
		    (unsigned long long)rd.reqid, rd.naddrs,
		    inet_ntoa(sin->sin_addr), from);
		break;
	case IMSG_NETD_DNSMAP:
		if (dns || imsg_expect(im, sizeof(dm)) == -1)
			fatalx("bad DNSMAP");
		memcpy(&dm, im->data, sizeof(dm));
		sin = (struct sockaddr_in *)&dm.addr;
		log_info("proxy: got DNSMAP %.255s %s%s", dm.name,
		    inet_ntoa(sin->sin_addr), from);
		break;
	case IMSG_NETD_INWARD_SOCKET:
		on_inward(im);
		break;
	default:
		log_info("%s: got %#x for %u, %zu bytes%s%s", name,
		    im->hdr.type, im->hdr.peerid, im->datalen,
		    im->fd != -1 ? ", fd" : "", from);
	}
}

static int
role(int fd, void *arg, int dns)
{
	struct netd_role	*r = arg;
	struct imsgbuf		*ib;
	struct imsg		 im;
	struct pollfd		 pfd[2];
	const char		*name = dns ? "dns" : "proxy", *bad;
	ssize_t			 n;
	int			 rc, i;

	privsep_drop(NULL, &r->user, NULL, 0);
	privsep_pdeathsig(r->parent);
	imsg_init(&ibuf, fd);
	imsg_init(&lbuf, r->link[dns ? 0 : 1]);
	if ((bad = getenv("LENS_ROUTES_BAD")) != NULL &&
	    strcmp(bad, name) == 0) {
		log_info("%s: sending a DNSMAP of the wrong size", name);
		send_msg(IMSG_NETD_DNSMAP, 1, "x", 1);
	}
	for (;;) {
		pfd[0].fd = fd;
		pfd[1].fd = lbuf.fd;
		pfd[0].events = pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1 && errno != EINTR)
			return 1;
		for (i = 0; i < 2; i++) {
			if (pfd[i].revents == 0)
				continue;
			ib = i == 0 ? &ibuf : &lbuf;
			if ((n = imsg_read(ib)) == 0)
				return 0;
			if (n == -1 && errno != EAGAIN)
				return 1;
			while ((rc = imsg_get(ib, &im)) == 1) {
				on_msg(dns, i, &im);
				imsg_free(&im);
			}
			if (rc == -1)
				return 1;
		}
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
