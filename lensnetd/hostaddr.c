/*
 * The host's own addresses, tracked live in the lensnetd parent: an
 * rtnetlink socket in the host's namespace subscribed to the IPv4 and
 * IPv6 address groups, read once in full at start (RTM_GETADDR dump)
 * and again whenever the kernel says notifications were lost
 * (ENOBUFS).  An address counts while any interface has it; its first
 * appearance and its last removal are told to the caller, who tells
 * the dns and proxy children (NETD_HOSTADDR_ADD, _DEL).  No upper
 * bound: a host with a docker bridge, a VPN and many containers has
 * them all refused.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>

#include "log.h"
#include "lensnetd.h"

struct inst {
	struct sockaddr_storage	 a;
	uint32_t		 ifindex;
};

struct instlist {
	struct inst	*v;
	size_t		 n, cap;
};

static struct mnl_socket	*nl;
static uint32_t			 portid, seq;
static struct instlist		 cur;
static void			(*notify)(const struct sockaddr *, int);

static ssize_t
inst_find(const struct instlist *l, const struct sockaddr *a,
    uint32_t ifindex)
{
	size_t	 i;

	for (i = 0; i < l->n; i++)
		if (l->v[i].ifindex == ifindex &&
		    addr_same((const struct sockaddr *)&l->v[i].a, a))
			return (ssize_t)i;
	return -1;
}

static int
inst_has_addr(const struct instlist *l, const struct sockaddr *a)
{
	size_t	 i;

	for (i = 0; i < l->n; i++)
		if (addr_same((const struct sockaddr *)&l->v[i].a, a))
			return 1;
	return 0;
}

/* whether entry i is the first in l with its address */
static int
first_of(const struct instlist *l, size_t i)
{
	size_t	 j;

	for (j = 0; j < i; j++)
		if (addr_same((const struct sockaddr *)&l->v[j].a,
		    (const struct sockaddr *)&l->v[i].a))
			return 0;
	return 1;
}

static void
inst_add(struct instlist *l, const struct sockaddr_storage *a,
    uint32_t ifindex)
{
	struct inst	*v;
	size_t		 cap;

	if (l->n == l->cap) {
		cap = l->cap == 0 ? 32 : l->cap * 2;
		if ((v = reallocarray(l->v, cap, sizeof(*v))) == NULL)
			fatal("host addresses");
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n].a = *a;
	l->v[l->n].ifindex = ifindex;
	l->n++;
}

/* the address of an RTM_NEWADDR/RTM_DELADDR message, or -1 */
static int
msg_addr(const struct nlmsghdr *nlh, struct sockaddr_storage *ss,
    uint32_t *ifindex)
{
	const struct ifaddrmsg	*ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr	*attr, *local = NULL, *address = NULL;
	const struct nlattr	*use;
	size_t			 alen;

	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(*ifa))
		return -1;
	mnl_attr_for_each(attr, nlh, sizeof(*ifa)) {
		if (mnl_attr_get_type(attr) == IFA_LOCAL)
			local = attr;
		else if (mnl_attr_get_type(attr) == IFA_ADDRESS)
			address = attr;
	}
	/* point-to-point: IFA_ADDRESS is the peer, IFA_LOCAL ours */
	if ((use = local != NULL ? local : address) == NULL)
		return -1;
	memset(ss, 0, sizeof(*ss));
	alen = mnl_attr_get_payload_len(use);
	if (ifa->ifa_family == AF_INET && alen == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, mnl_attr_get_payload(use), 4);
	} else if (ifa->ifa_family == AF_INET6 && alen == 16) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, mnl_attr_get_payload(use), 16);
	} else
		return -1;
	*ifindex = ifa->ifa_index;
	return 0;
}

static void
tell(const struct sockaddr_storage *a, int add)
{
	char	 buf[INET6_ADDRSTRLEN];

	log_debug("host address %s %s", addr_str((const struct sockaddr *)a,
	    buf, sizeof(buf)), add ? "added" : "removed");
	notify((const struct sockaddr *)a, add);
}

/* apply one message to l; tell the caller when l is cur */
static int
msg_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct instlist		*l = arg;
	struct sockaddr_storage	 ss;
	uint32_t		 ifindex;
	ssize_t			 i;
	int			 had;

	if (nlh->nlmsg_type != RTM_NEWADDR && nlh->nlmsg_type != RTM_DELADDR)
		return MNL_CB_OK;
	if (msg_addr(nlh, &ss, &ifindex) == -1)
		return MNL_CB_OK;
	i = inst_find(l, (struct sockaddr *)&ss, ifindex);
	if (nlh->nlmsg_type == RTM_NEWADDR) {
		if (i != -1)
			return MNL_CB_OK;	/* a change of flags only */
		had = inst_has_addr(l, (struct sockaddr *)&ss);
		inst_add(l, &ss, ifindex);
		if (l == &cur && !had)
			tell(&ss, 1);
	} else {
		if (i == -1)
			return MNL_CB_OK;
		l->v[i] = l->v[--l->n];
		if (l == &cur && !inst_has_addr(l, (struct sockaddr *)&ss))
			tell(&ss, 0);
	}
	return MNL_CB_OK;
}

/*
 * Read every address of the host again (blocking) and tell what
 * changed against cur; notifications read meanwhile go into the new
 * list as well.
 */
static void
resync(void)
{
	char			 buf[MNL_SOCKET_BUFFER_SIZE];
	struct instlist		 fresh = { NULL, 0, 0 };
	struct nlmsghdr		*nlh;
	struct rtgenmsg		*rt;
	ssize_t			 n;
	size_t			 i;
	int			 fd = mnl_socket_get_fd(nl), fl, rc;


	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1)
		fatal("host addresses: fcntl");
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = ++seq;
	rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));
	rt->rtgen_family = AF_UNSPEC;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) == -1)
		fatal("host addresses: RTM_GETADDR");
	for (;;) {
		if ((n = mnl_socket_recvfrom(nl, buf, sizeof(buf))) == -1) {
			if (errno == EINTR || errno == ENOBUFS)
				continue;	/* the dump's answer follows */
			fatal("host addresses: read the dump");
		}
		rc = mnl_cb_run(buf, (size_t)n, 0, portid, msg_cb, &fresh);
		if (rc == MNL_CB_ERROR)
			fatal("host addresses: dump");
		/* NLMSG_DONE: only a dump has it, never a notification */
		if (rc == MNL_CB_STOP)
			break;
	}
	if (fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		fatal("host addresses: fcntl");
	/* gone: in cur, not in fresh; new: the other way (each once) */
	for (i = 0; i < cur.n; i++)
		if (!inst_has_addr(&fresh, (struct sockaddr *)&cur.v[i].a) &&
		    first_of(&cur, i))
			tell(&cur.v[i].a, 0);
	for (i = 0; i < fresh.n; i++)
		if (!inst_has_addr(&cur, (struct sockaddr *)&fresh.v[i].a) &&
		    first_of(&fresh, i))
			tell(&fresh.v[i].a, 1);
	free(cur.v);
	cur = fresh;
}

int
hostaddr_init(void (*cb)(const struct sockaddr *, int))
{
	notify = cb;
	if ((nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC |
	    SOCK_NONBLOCK)) == NULL)
		fatal("host addresses: netlink socket");
	/* subscribed before the dump: nothing falls between the two */
	if (mnl_socket_bind(nl, RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR,
	    MNL_SOCKET_AUTOPID) == -1)
		fatal("host addresses: netlink bind");
	portid = mnl_socket_get_portid(nl);
	seq = (uint32_t)time(NULL);
	resync();
	log_info("host addresses: %zu, tracked live", cur.n);
	return mnl_socket_get_fd(nl);
}

void
hostaddr_replay(void (*cb)(const struct sockaddr *, int))
{
	size_t	 i;

	for (i = 0; i < cur.n; i++)
		if (first_of(&cur, i))
			cb((const struct sockaddr *)&cur.v[i].a, 1);
}

void
hostaddr_event(int fd, short ev, void *arg)
{
	char	 buf[MNL_SOCKET_BUFFER_SIZE];
	ssize_t	 n;

	(void)fd;
	(void)ev;
	(void)arg;
	for (;;) {
		if ((n = mnl_socket_recvfrom(nl, buf, sizeof(buf))) == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			if (errno == ENOBUFS) {
				log_warnx("host addresses: notifications "
				    "lost; reading them all again");
				resync();
				continue;
			}
			fatal("host addresses: netlink");
		}
		if (mnl_cb_run(buf, (size_t)n, 0, 0, msg_cb, &cur) ==
		    MNL_CB_ERROR)
			fatal("host addresses: netlink message");
	}
}
