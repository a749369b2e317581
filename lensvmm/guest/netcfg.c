/*
 * lens-init in a microVM: lo and eth0 from lens.ip, lens.gw and
 * lens.mtu, over rtnetlink (address, default route) and ioctls (MTU,
 * link up).  The static binary has no libmnl: the few messages are
 * built by hand, each acknowledged.
 */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <arpa/inet.h>
#include <net/if.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "guest.h"
#include "vm.h"

#define NL_BUFSZ	512

struct nlreq {
	struct nlmsghdr	 nh;
	union {
		struct ifaddrmsg ifa;
		struct rtmsg	 rt;
	} u;
	char		 attrs[256];
};

static int
nl_attr(struct nlreq *r, unsigned short type, const void *data, size_t len)
{
	struct rtattr	*ra;
	size_t		 off = NLMSG_ALIGN(r->nh.nlmsg_len);

	if (off + RTA_SPACE(len) > sizeof(*r))
		return -1;
	ra = (struct rtattr *)((char *)r + off);
	ra->rta_type = type;
	ra->rta_len = RTA_LENGTH(len);
	memcpy(RTA_DATA(ra), data, len);
	r->nh.nlmsg_len = off + RTA_SPACE(len);
	return 0;
}

/* send one request, wait for its acknowledgement; errno on failure */
static int
nl_talk(int s, struct nlreq *r, uint32_t seq)
{
	struct sockaddr_nl	 sa;
	struct nlmsghdr		*nh;
	struct nlmsgerr		*e;
	char			 buf[NL_BUFSZ];
	ssize_t			 n;

	r->nh.nlmsg_seq = seq;
	r->nh.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	if (sendto(s, r, r->nh.nlmsg_len, 0, (struct sockaddr *)&sa,
	    sizeof(sa)) == -1)
		return -1;
	for (;;) {
		n = recv(s, buf, sizeof(buf), 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)n);
		    nh = NLMSG_NEXT(nh, n)) {
			if (nh->nlmsg_seq != seq ||
			    nh->nlmsg_type != NLMSG_ERROR)
				continue;
			if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*e))) {
				errno = EBADMSG;
				return -1;
			}
			e = NLMSG_DATA(nh);
			if (e->error == 0)
				return 0;
			errno = -e->error;
			return -1;
		}
	}
}

static int
link_up(const char *ifname, int mtu)
{
	struct ifreq	 ifr;
	int		 s, rv = -1;

	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		ilog_warn("socket");
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (mtu > 0) {
		ifr.ifr_mtu = mtu;
		if (ioctl(s, SIOCSIFMTU, &ifr) == -1) {
			ilog_warn("%s: mtu %d", ifname, mtu);
			goto out;
		}
	}
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == -1) {
		ilog_warn("%s: flags", ifname);
		goto out;
	}
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) == -1) {
		ilog_warn("%s: up", ifname);
		goto out;
	}
	rv = 0;
 out:
	close(s);
	return rv;
}

int
net_config(const struct vmconf *vc, int timeout_ms)
{
	struct sockaddr_nl	 sa;
	struct nlreq		 r;
	struct timespec		 ts = { 0, 50 * 1000000 };
	char			 a[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN];
	unsigned int		 idx;
	int			 s, waited = 0;

	if (link_up("lo", 0) == -1)
		return -1;
	if (!vc->has_ip)
		return 0;
	inet_ntop(AF_INET, &vc->ip, a, sizeof(a));
	while ((idx = if_nametoindex("eth0")) == 0) {
		if (waited >= timeout_ms) {
			ilog("lens.ip=%s/%d given but no eth0 after %d ms "
			    "(no virtio-net device?)", a, vc->prefix,
			    timeout_ms);
			return -1;
		}
		nanosleep(&ts, NULL);
		waited += 50;
	}
	if (link_up("eth0", vc->mtu) == -1)
		return -1;

	if ((s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC,
	    NETLINK_ROUTE)) == -1) {
		ilog_warn("netlink socket");
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		ilog_warn("netlink bind");
		goto fail;
	}

	memset(&r, 0, sizeof(r));
	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(r.u.ifa));
	r.nh.nlmsg_type = RTM_NEWADDR;
	r.nh.nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	r.u.ifa.ifa_family = AF_INET;
	r.u.ifa.ifa_prefixlen = vc->prefix;
	r.u.ifa.ifa_scope = RT_SCOPE_UNIVERSE;
	r.u.ifa.ifa_index = idx;
	if (nl_attr(&r, IFA_LOCAL, &vc->ip, 4) == -1 ||
	    nl_attr(&r, IFA_ADDRESS, &vc->ip, 4) == -1 ||
	    nl_talk(s, &r, 1) == -1) {
		ilog_warn("eth0: address %s/%d", a, vc->prefix);
		goto fail;
	}

	if (vc->has_gw) {
		inet_ntop(AF_INET, &vc->gw, g, sizeof(g));
		memset(&r, 0, sizeof(r));
		r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(r.u.rt));
		r.nh.nlmsg_type = RTM_NEWROUTE;
		r.nh.nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
		r.u.rt.rtm_family = AF_INET;
		r.u.rt.rtm_dst_len = 0;
		r.u.rt.rtm_table = RT_TABLE_MAIN;
		r.u.rt.rtm_protocol = RTPROT_BOOT;
		r.u.rt.rtm_scope = RT_SCOPE_UNIVERSE;
		r.u.rt.rtm_type = RTN_UNICAST;
		/* a /32 address still reaches its gateway */
		r.u.rt.rtm_flags = RTNH_F_ONLINK;
		if (nl_attr(&r, RTA_GATEWAY, &vc->gw, 4) == -1 ||
		    nl_attr(&r, RTA_OIF, &idx, sizeof(idx)) == -1 ||
		    nl_talk(s, &r, 2) == -1) {
			ilog_warn("eth0: default route via %s", g);
			goto fail;
		}
	}
	close(s);
	return 0;
 fail:
	close(s);
	return -1;
}
