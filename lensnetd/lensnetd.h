/*
 * lensnetd: the network gatekeeper.  Process roles, one file each:
 *
 *	lensnetd.c	parent (root, keeps CAP_NET_ADMIN and what namespace
 *			handling needs, seccomp; parses no network input):
 *			gateway namespaces, veth/tap, addresses, the
 *			/run/lens/lensnetd.sock socket for lensvmm, every
 *			listening socket, audit client
 *	netns.c		gateway namespace, veth/tap, addresses (netlink)
 *	nft.c		the per-sandbox nftables table (libnftnl, one batch)
 *	dns.c		dns child (_lensnet, empty chroot, seccomp): the
 *			filtering resolver
 *	dnswire.c	DNS message parsing and building (hostile input)
 *	proxy.c		proxy child (_lensnet, empty chroot, seccomp):
 *			transparent and CONNECT proxy, published ports
 *	peek.c		ClientHello SNI and HTTP request head parsing
 *	addr.c		address classes: private, loopback, metadata, ...
 */
#ifndef LENSNETD_H
#define LENSNETD_H

#include <sys/socket.h>
#include <stddef.h>

#include "lensnetd_imsg.h"

#define NETD_USER		"_lensnet"
#define NETD_SOCKET		"/run/lens/lensnetd.sock"
#define NETD_AUDITSOCK		"/run/lens/lensauditd.sock"

/* role entry points, run in the forked child with its socketpair */
int	dns_main(int fd, void *arg);
int	proxy_main(int fd, void *arg);

/*
 * addr.c.  Why an address must never be a DNS answer or a proxy
 * destination unless a rule names its CIDR: returns a short reason
 * ("loopback", "private", "metadata", ...) or NULL when it is public.
 * IPv4-mapped, IPv4-compatible, NAT64 (64:ff9b::/96), 6to4 and Teredo
 * IPv6 forms are judged by the IPv4 address they carry.  hostaddrs are
 * the host's own addresses (reason "host").
 */
const char *addr_forbidden(const struct sockaddr *,
	    const struct sockaddr_storage *hostaddrs, size_t nhostaddrs);
/* numeric text of an address without port, into buf (INET6_ADDRSTRLEN) */
const char *addr_str(const struct sockaddr *, char *buf, size_t len);

#endif
