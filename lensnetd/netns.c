/*
 * Gateway network namespaces: one per sandbox, made by unshare(2) in
 * the parent's only thread and kept alive by a descriptor the parent
 * holds (no bind mount: when lensnetd dies, every gateway dies with
 * it, and the veth pair with it, so the sandbox has no network left).
 *
 * In the gateway: lo, the gateway's end of a veth pair (jail) or a tap
 * device (microvm) with the .1 of a /30, no IPv6 address, no forwarding, the
 * nft table (nft.c) and the listening sockets.  In the sandbox's
 * namespace: the other end of the veth with the .2 and a default route
 * through the gateway, no IPv6.  Everything is done over rtnetlink
 * (libmnl) from inside the namespace concerned.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <linux/if_tun.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>

#include "log.h"
#include "lensnetd.h"

static int	hostns = -1;

static int
nerr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;
	size_t	 n;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	n = strlen(err);
	if (saved != 0)
		snprintf(err + n, errlen - n, ": %s", strerror(saved));
	errno = saved;
	return -1;
}

void
netns_init(void)
{
	if ((hostns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) == -1)
		fatal("open /proc/self/ns/net");
}

int
netns_enter(int nsfd)
{
	return setns(nsfd, CLONE_NEWNET);
}

void
netns_leave(void)
{
	if (setns(hostns, CLONE_NEWNET) == -1)
		fatal("return to the host's network namespace");
}

/* --- rtnetlink ------------------------------------------------------- */

struct rtnl {
	struct mnl_socket	*nl;
	uint32_t		 seq, portid;
	uint8_t			 buf[16384];
};

static int
rtnl_open(struct rtnl *r)
{
	if ((r->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC)) == NULL)
		return -1;
	if (mnl_socket_bind(r->nl, 0, MNL_SOCKET_AUTOPID) == -1) {
		mnl_socket_close(r->nl);
		r->nl = NULL;
		return -1;
	}
	r->portid = mnl_socket_get_portid(r->nl);
	r->seq = (uint32_t)time(NULL);
	return 0;
}

static void
rtnl_close(struct rtnl *r)
{
	if (r->nl != NULL)
		mnl_socket_close(r->nl);
	r->nl = NULL;
}

static struct nlmsghdr *
rtnl_msg(struct rtnl *r, uint16_t type, uint16_t flags)
{
	struct nlmsghdr	*nlh;

	memset(r->buf, 0, sizeof(r->buf));
	nlh = mnl_nlmsg_put_header(r->buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = ++r->seq;
	return nlh;
}

/* send and wait for the ack; -1 with errno from the kernel */
static int
rtnl_talk(struct rtnl *r, struct nlmsghdr *nlh)
{
	ssize_t	 n;
	int	 rc;

	if (mnl_socket_sendto(r->nl, nlh, nlh->nlmsg_len) == -1)
		return -1;
	for (;;) {
		if ((n = mnl_socket_recvfrom(r->nl, r->buf, sizeof(r->buf))) ==
		    -1)
			return -1;
		rc = mnl_cb_run(r->buf, (size_t)n, r->seq, r->portid, NULL,
		    NULL);
		if (rc == -1)
			return -1;
		if (rc == MNL_CB_STOP)
			return 0;
	}
}

static int
link_up(struct rtnl *r, const char *ifname)
{
	struct nlmsghdr		*nlh;
	struct ifinfomsg	*ifm;

	nlh = rtnl_msg(r, RTM_NEWLINK, 0);
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_change = IFF_UP;
	ifm->ifi_flags = IFF_UP;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	return rtnl_talk(r, nlh);
}

static int
link_del(struct rtnl *r, const char *ifname)
{
	struct nlmsghdr		*nlh;
	struct ifinfomsg	*ifm;

	nlh = rtnl_msg(r, RTM_DELLINK, 0);
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	return rtnl_talk(r, nlh);
}

/* a veth pair: ifname here, peer in the namespace peerns */
static int
veth_add(struct rtnl *r, const char *ifname, const char *peer, int peerns)
{
	struct nlmsghdr		*nlh;
	struct ifinfomsg	*ifm;
	struct nlattr		*linkinfo, *data, *pe;

	nlh = rtnl_msg(r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	mnl_attr_put_u32(nlh, IFLA_MTU, NETD_MTU);
	linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	pe = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	mnl_attr_put_u32(nlh, IFLA_MTU, NETD_MTU);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peerns);
	mnl_attr_nest_end(nlh, pe);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, linkinfo);
	return rtnl_talk(r, nlh);
}

static int
addr_add(struct rtnl *r, const char *ifname, struct in_addr a, int plen)
{
	struct nlmsghdr		*nlh;
	struct ifaddrmsg	*ifa;
	unsigned int		 idx;
	struct in_addr		 bcast;

	if ((idx = if_nametoindex(ifname)) == 0)
		return -1;
	nlh = rtnl_msg(r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (uint8_t)plen;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = idx;
	bcast.s_addr = a.s_addr | htonl(0xffffffffu >> plen);
	mnl_attr_put_u32(nlh, IFA_LOCAL, a.s_addr);
	mnl_attr_put_u32(nlh, IFA_ADDRESS, a.s_addr);
	mnl_attr_put_u32(nlh, IFA_BROADCAST, bcast.s_addr);
	return rtnl_talk(r, nlh);
}

static int
route_default(struct rtnl *r, const char *ifname, struct in_addr gw)
{
	struct nlmsghdr	*nlh;
	struct rtmsg	*rtm;
	unsigned int	 idx;

	if ((idx = if_nametoindex(ifname)) == 0)
		return -1;
	nlh = rtnl_msg(r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = 0;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put_u32(nlh, RTA_GATEWAY, gw.s_addr);
	mnl_attr_put_u32(nlh, RTA_OIF, idx);
	return rtnl_talk(r, nlh);
}

/* a net sysctl of the current namespace; ENOENT (no IPv6) is fine */
static int
sysctl_set(const char *path, const char *value, int optional)
{
	int	 fd;
	ssize_t	 n;

	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return optional && errno == ENOENT ? 0 : -1;
	n = write(fd, value, strlen(value));
	close(fd);
	return n == (ssize_t)strlen(value) ? 0 : -1;
}

/* --- the sandbox's side -------------------------------------------------- */

static int
sandbox_side(const struct netns_gw *gw, int sbxnsfd, char *err,
    size_t errlen)
{
	struct rtnl	 r;
	char		 path[128];
	int		 rc = -1;

	memset(&r, 0, sizeof(r));
	if (netns_enter(sbxnsfd) == -1)
		return nerr(err, errlen, "enter the sandbox's namespace");
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
	    NETD_SBX_IFNAME);
	if (sysctl_set(path, "1", 1) == -1) {
		nerr(err, errlen, "sandbox: %s", path);
		goto out;
	}
	if (rtnl_open(&r) == -1) {
		nerr(err, errlen, "sandbox: rtnetlink");
		goto out;
	}
	if (link_up(&r, "lo") == -1) {
		nerr(err, errlen, "sandbox: lo up");
		goto out;
	}
	if (addr_add(&r, NETD_SBX_IFNAME, gw->addr, 30) == -1) {
		nerr(err, errlen, "sandbox: address on %s", NETD_SBX_IFNAME);
		goto out;
	}
	if (link_up(&r, NETD_SBX_IFNAME) == -1) {
		nerr(err, errlen, "sandbox: %s up", NETD_SBX_IFNAME);
		goto out;
	}
	if (route_default(&r, NETD_SBX_IFNAME, gw->gw) == -1) {
		nerr(err, errlen, "sandbox: default route");
		goto out;
	}
	rc = 0;
out:
	rtnl_close(&r);
	netns_leave();
	return rc;
}

/*
 * Before a re-attach: a link of a dead lensnetd's veth pair may still
 * be in the sandbox's namespace (the kernel frees a namespace, and its
 * veth pairs, after the last reference goes, not at once), or one the
 * workload made under that name.  Removed; none is fine.
 */
int
netns_sandbox_clean(int sbxnsfd, char *err, size_t errlen)
{
	struct rtnl	 r;
	int		 rc = 0;

	memset(&r, 0, sizeof(r));
	if (netns_enter(sbxnsfd) == -1)
		return nerr(err, errlen, "enter the sandbox's namespace");
	if (rtnl_open(&r) == -1)
		rc = nerr(err, errlen, "sandbox: rtnetlink");
	else if (link_del(&r, NETD_SBX_IFNAME) == 0)
		log_info("removed a stale %s from the sandbox's namespace",
		    NETD_SBX_IFNAME);
	else if (errno != ENODEV)
		rc = nerr(err, errlen, "sandbox: delete a stale %s",
		    NETD_SBX_IFNAME);
	rtnl_close(&r);
	netns_leave();
	return rc;
}

/* --- the gateway ------------------------------------------------------- */

static int
tap_open(const char *ifname)
{
	struct ifreq	 ifr;
	int		 fd;

	if ((fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC)) == -1)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	/* as lensvmm's virtio-net expects (it sets the header size) */
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	strlcpy(ifr.ifr_name, ifname, sizeof(ifr.ifr_name));
	if (ioctl(fd, TUNSETIFF, &ifr) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

int
netns_gateway(struct netns_gw *gw, int sbxnsfd, char *err, size_t errlen)
{
	struct rtnl	 r;
	struct nft_conf	 nc;
	struct stat	 st;

	memset(&r, 0, sizeof(r));
	gw->nsfd = gw->tapfd = -1;
	strlcpy(gw->ifname, sbxnsfd == -1 ? NETD_TAP_IFNAME : NETD_GW_IFNAME,
	    sizeof(gw->ifname));
	if (unshare(CLONE_NEWNET) == -1)
		return nerr(err, errlen, "new network namespace");
	if ((gw->nsfd = open("/proc/thread-self/ns/net", O_RDONLY |
	    O_CLOEXEC)) == -1) {
		nerr(err, errlen, "open the gateway namespace");
		goto fail;
	}
	if (fstat(gw->nsfd, &st) == 0)
		gw->inode = (unsigned long)st.st_ino;
	/*
	 * No forwarding.  IPv6 stays on in the gateway but its interfaces
	 * get no address (addr_gen_mode none): IPv6 from the sandbox then
	 * reaches the nft table, which counts and drops it (with
	 * disable_ipv6 the stack would drop it uncounted).
	 */
	if (sysctl_set("/proc/sys/net/ipv4/ip_forward", "0", 0) == -1 ||
	    sysctl_set("/proc/sys/net/ipv6/conf/all/forwarding", "0", 1) ==
	    -1 ||
	    sysctl_set("/proc/sys/net/ipv6/conf/default/addr_gen_mode", "1",
	    1) == -1 ||
	    sysctl_set("/proc/sys/net/ipv6/conf/default/accept_ra", "0", 1) ==
	    -1) {
		nerr(err, errlen, "gateway: sysctl");
		goto fail;
	}
	if (rtnl_open(&r) == -1) {
		nerr(err, errlen, "gateway: rtnetlink");
		goto fail;
	}
	if (link_up(&r, "lo") == -1) {
		nerr(err, errlen, "gateway: lo up");
		goto fail;
	}
	if (sbxnsfd != -1) {
		if (veth_add(&r, gw->ifname, NETD_SBX_IFNAME, sbxnsfd) == -1) {
			nerr(err, errlen, "veth pair %s/%s", gw->ifname,
			    NETD_SBX_IFNAME);
			goto fail;
		}
	} else if ((gw->tapfd = tap_open(gw->ifname)) == -1) {
		nerr(err, errlen, "tap device %s", gw->ifname);
		goto fail;
	}
	if (addr_add(&r, gw->ifname, gw->gw, 30) == -1) {
		nerr(err, errlen, "gateway: address on %s", gw->ifname);
		goto fail;
	}
	if (link_up(&r, gw->ifname) == -1) {
		nerr(err, errlen, "gateway: %s up", gw->ifname);
		goto fail;
	}
	rtnl_close(&r);
	memset(&nc, 0, sizeof(nc));
	strlcpy(nc.ifname, gw->ifname, sizeof(nc.ifname));
	nc.gw = gw->gw;
	nc.dnsport = NETD_PORT_DNS;
	nc.tproxyport = NETD_PORT_TRANSPARENT;
	nc.proxyport = NETD_PORT_CONNECT;
	errno = 0;
	if (nft_setup(&nc, err, errlen) == -1)
		goto fail;
	netns_leave();
	if (sbxnsfd != -1 && sandbox_side(gw, sbxnsfd, err, errlen) == -1)
		goto fail_out;
	return 0;
fail:
	rtnl_close(&r);
	netns_leave();
fail_out:
	/* the namespace, and the veth pair with it, goes with the fd */
	if (gw->tapfd != -1)
		close(gw->tapfd);
	if (gw->nsfd != -1)
		close(gw->nsfd);
	gw->nsfd = gw->tapfd = -1;
	return -1;
}

int
netns_listener(const struct netns_gw *gw, int kind, char *err,
    size_t errlen)
{
	struct sockaddr_in	 sin;
	int			 s, type, one = 1;
	uint16_t		 port;

	switch (kind) {
	case NETD_L_DNS_UDP:
		type = SOCK_DGRAM;
		port = NETD_PORT_DNS;
		break;
	case NETD_L_DNS_TCP:
		type = SOCK_STREAM;
		port = NETD_PORT_DNS;
		break;
	case NETD_L_TRANSPARENT:
		type = SOCK_STREAM;
		port = NETD_PORT_TRANSPARENT;
		break;
	case NETD_L_CONNECT:
		type = SOCK_STREAM;
		port = NETD_PORT_CONNECT;
		break;
	default:
		errno = EINVAL;
		return nerr(err, errlen, "listener kind %d", kind);
	}
	if (netns_enter(gw->nsfd) == -1)
		return nerr(err, errlen, "enter the gateway namespace");
	s = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	netns_leave();
	if (s == -1)
		return nerr(err, errlen, "socket");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr = gw->gw;
	sin.sin_port = htons(port);
	if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(s, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    (type == SOCK_STREAM && listen(s, 128) == -1)) {
		nerr(err, errlen, "listener on port %u", port);
		close(s);
		return -1;
	}
	return s;
}

int
netns_socket(const struct netns_gw *gw)
{
	int	 s;

	if (netns_enter(gw->nsfd) == -1)
		return -1;
	s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	netns_leave();
	return s;
}

void
netns_teardown(struct netns_gw *gw)
{
	struct rtnl	 r;
	char		 err[256];

	if (gw->nsfd == -1)
		return;
	memset(&r, 0, sizeof(r));
	if (netns_enter(gw->nsfd) == -1)
		log_warn("teardown: enter the gateway namespace");
	else {
		if (nft_teardown(err, sizeof(err)) == -1)
			log_warnx("teardown: %s", err);
		/* ENODEV: the sandbox's namespace went first and took the
		 * veth pair with it, the normal end of a sandbox */
		if ((rtnl_open(&r) == -1 || link_del(&r, gw->ifname) == -1) &&
		    errno != ENODEV)
			log_warn("teardown: delete %s", gw->ifname);
		rtnl_close(&r);
		netns_leave();
	}
	if (gw->tapfd != -1)
		close(gw->tapfd);
	close(gw->nsfd);
	gw->nsfd = gw->tapfd = -1;
}
