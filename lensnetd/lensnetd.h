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
 *			filtering resolver; talks to proxy directly
 *	dnswire.c	DNS message parsing and building (hostile input)
 *	proxy.c		proxy child (_lensnet, empty chroot, seccomp):
 *			transparent and CONNECT proxy, published ports
 *	peek.c		ClientHello SNI and HTTP request head parsing
 *	addr.c		address classes: private, loopback, metadata, ...
 */
#ifndef LENSNETD_H
#define LENSNETD_H

#include <sys/socket.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "lenscredd_imsg.h"
#include "lensnetd_imsg.h"
#include "phscan.h"
#include "privsep.h"

#define NETD_USER		"_lensnet"
#define NETD_SOCKET		"/run/lens/lensnetd.sock"
#define NETD_RESOLVCONF		"/etc/resolv.conf"	/* the upstream without -u */
#define NETD_AUDITSOCK		"/run/lens/lensauditd.sock"
#define NETD_CREDSOCK		"/run/lens/lenscredd.sock"
#define NETD_CADIR		"/etc/lens/ca"	/* the policies' caFiles */

/*
 * role entry points, run in the forked child with its socketpair; arg
 * is a struct netd_role.  Each starts with proc_start() (common/proc.h):
 * privileges dropped to role->user, the parent-death signal checked
 * against role->parent, its seccomp filter last.
 */
struct netd_role {
	pid_t			 parent;	/* the lensnetd parent */
	struct privsep_user	 user;		/* NETD_USER */
	int			 debug, verbose;
	/*
	 * The channel between dns and proxy (proc_socketpair): link[0]
	 * the dns's end, link[1] the proxy's; each child keeps only its
	 * own, the parent neither.  Carried: RESOLVE (proxy -> dns),
	 * RESOLVED and DNSMAP (dns -> proxy).
	 */
	int			 link[2];
	/* the proxy's trust store for intercepted upstreams (-T), a PEM
	 * file read before its chroot; NULL: the system's bundle */
	const char		*trust;
};
int	dns_main(int fd, void *arg);
int	proxy_main(int fd, void *arg);

/*
 * limits.c: what one sandbox may take of lensnetd, so that it cannot
 * deny service to another (lensnetd -c, -l, -r).  The parent sets
 * netd_limits before it forks the children.
 */
#define NETD_LIM_CONNS		256	/* open proxy connections */
#define NETD_LIM_CONNS_MAX	65536
#define NETD_LIM_LOOKUPS	64	/* DNS lookups in flight or waiting */
#define NETD_LIM_LOOKUPS_MAX	256	/* half the dns child's 512 */
#define NETD_LIM_RATE		100	/* new connections each second */
#define NETD_LIM_RATE_MAX	100000
#define NETD_LIM_BURST		200	/* ... and at once */
#define NETD_LIM_BURST_MAX	1000000
struct netd_limits {
	unsigned int	 conns, lookups, rate, burst;
};
extern struct netd_limits netd_limits;
/* option opt ('c', 'l', 'r') with its argument; -1 with a message */
int	limits_option(struct netd_limits *, int opt, const char *arg,
	    char *err, size_t errlen);
/* a token bucket: 0 when a token was there (and is taken), else -1 */
struct tbucket {
	uint64_t	 last_ms;	/* 0: not used yet (full) */
	uint64_t	 milli;		/* thousandths of a token */
};
int	tbucket_take(struct tbucket *, unsigned int rate, unsigned int burst,
	    uint64_t now_ms);
/* the details of a net.limit summary event (a jansson json_t *) */
struct json_t;
struct json_t *limit_event(const char *sandbox, const char *limit,
	    unsigned int max, uint64_t refused);

/* ports of the listeners in every gateway namespace (on the gateway) */
#define NETD_PORT_DNS		53	/* udp and tcp */
#define NETD_PORT_TRANSPARENT	15001	/* redirected tcp */
#define NETD_PORT_CONNECT	3128	/* HTTP_PROXY, HTTPS_PROXY */
#define NETD_MTU		1500
#define NETD_GW_IFNAME		"lens0"	/* gateway side, in the gateway */
#define NETD_SBX_IFNAME		"eth0"	/* sandbox side (jail) */
#define NETD_TAP_IFNAME		"tap0"	/* microvm: tap in the gateway */
#define NETD_TABLE		"lens"	/* nft table (inet) in the gateway */
#define NETD_MAXPUBLISH		32

/*
 * netns.c.  The parent moves its only thread between namespaces: every
 * function that works in a namespace enters it and leaves it again
 * before it returns; netns_leave() is fatal when it cannot return to the
 * host's namespace (the daemon never goes on in the wrong one).
 */
struct netns_gw {
	int		 nsfd;		/* the gateway namespace, or -1 */
	int		 tapfd;		/* microvm: the tap device, or -1 */
	struct in_addr	 addr, gw;	/* sandbox .2, gateway .1 of a /30 */
	char		 ifname[16];	/* the gateway's interface */
	unsigned long	 inode;		/* of the namespace, for logs */
};
void	netns_init(void);		/* remember the host namespace */
int	netns_enter(int nsfd);
void	netns_leave(void);
/* a new gateway for a sandbox: sbxnsfd the sandbox's netns (jail) or -1
 * (microvm: a tap); -1 with a message in err, nothing left behind */
int	netns_gateway(struct netns_gw *, int sbxnsfd, char *err,
	    size_t errlen);
/* re-attach: remove a stale sandbox-side link (NETD_SBX_IFNAME) */
int	netns_sandbox_clean(int sbxnsfd, char *err, size_t errlen);
/* listening sockets in the gateway (kind NETD_L_*), -1 on error */
int	netns_listener(const struct netns_gw *, int kind, char *err,
	    size_t errlen);
/* an unconnected tcp socket in the gateway (inward connections) */
int	netns_socket(const struct netns_gw *);
/* remove the table, the interface and the namespace */
void	netns_teardown(struct netns_gw *);

/* nft.c: called inside the gateway namespace */
struct nft_conf {
	char		 ifname[16];	/* the sandbox's side in the gateway */
	struct in_addr	 gw;
	uint16_t	 dnsport, tproxyport, proxyport;
};
int	nft_setup(const struct nft_conf *, char *err, size_t errlen);
int	nft_teardown(char *err, size_t errlen);

/* attach.c: a NETD_ATTACH payload, checked; pointers into data */
struct attach_req {
	struct netd_attach	 a;
	const char		*policy;	/* policylen bytes, not NUL-ended */
	size_t			 policylen;
	const char		*publish[NETD_MAXPUBLISH];
	uint32_t		 npublish;
	const char		*placeholder[PHSCAN_MAXSET];
	uint32_t		 nplaceholder;
};
int	attach_parse(const void *data, size_t len, int has_fd,
	    struct attach_req *, char *err, size_t errlen);

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
/* the same IPv4 or IPv6 address (ports and scopes not compared) */
int	addr_same(const struct sockaddr *, const struct sockaddr *);
/*
 * A set of host addresses (addr.c), grown as needed: add returns 1 when
 * the address is new, 0 when it was there, -1 on a bad family or no
 * memory; del returns 1 when it was there.
 */
struct addrset {
	struct sockaddr_storage	*v;
	size_t			 n, cap;
};
int	addrset_add(struct addrset *, const struct sockaddr *);
int	addrset_del(struct addrset *, const struct sockaddr *);
struct imsg;
/* a NETD_HOSTADDR_ADD or _DEL applied: NULL, or what was wrong */
const char *addrset_imsg(struct addrset *, const struct imsg *);
/*
 * hostaddr.c, in the parent: the host's addresses, tracked live with
 * rtnetlink (RTM_NEWADDR, RTM_DELADDR).  hostaddr_init() reads them all
 * and subscribes; each address that appears on the host or leaves it
 * for good (on no interface any more) is passed to cb (add 1 or 0).
 * hostaddr_event() reads the notifications (non-blocking fd).
 */
int	hostaddr_init(void (*cb)(const struct sockaddr *, int add));
void	hostaddr_event(int fd, short ev, void *arg);
/* every address the host has now, to cb(…, 1) */
void	hostaddr_replay(void (*cb)(const struct sockaddr *, int add));

/* numeric text of an address without port, into buf (INET6_ADDRSTRLEN) */
const char *addr_str(const struct sockaddr *, char *buf, size_t len);

/*
 * exchreq.c: lenscredd's IMSG_CRED_EXCHANGE for the proxy's req, from
 * the parent's policy of the sandbox (NULL: no such sandbox) and its
 * placeholders; *cafile the name of the caFile the host's rule names
 * (or NULL).  -1 with why when the policy does not bind the request's
 * credential to its host and port, or does not allow it.
 */
struct policy;
int	exch_req_build(const struct policy *, const char *sandbox,
	    const struct phset *, const struct netd_exch_req *,
	    struct cred_exchange *, const char **cafile, char *why, size_t);

/*
 * approval.c: pending approvals and the approvals socket
 * (common/lensapprove_imsg.h), in the parent.  approval_listen() before
 * the daemon drops anything (its socket, 0660 root:lens), then
 * approval_start() in the event loop with the seconds an approval waits.
 */
struct netd_ask;
struct netd_answer;
int	approval_listen(const char *path);
void	approval_start(unsigned int timeout);
void	approval_ask(uint32_t sbx, const char *sandbox, const struct netd_ask *);
void	approval_sbx_gone(uint32_t sbx);
/* lensnetd.c, for approval.c */
void	netd_answer(uint32_t sbx, uint32_t kind, const struct netd_answer *);
struct json_t;
int	netd_audit(const char *sandbox, const char *type, struct json_t *);
int	netd_audit_ready(void);
int	netd_policy_set(const char *sandbox, const void *model, size_t len,
	    const char *path, const char *sha256, uid_t uid, char *err,
	    size_t errlen);

#endif
