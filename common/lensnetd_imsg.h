/*
 * lensnetd message types.  Framing is common/imsg.h; every receiver
 * checks the exact payload size of a type before use.
 *
 * 1. lensvmm -> lensnetd on /run/lens/lensnetd.sock (peer _lensvmm or
 *    root, SO_PEERCRED).  One connection per sandbox, held open for the
 *    sandbox's lifetime: when it closes, lensnetd tears the sandbox's
 *    network down.
 *
 *	lensvmm: NETD_ATTACH (struct netd_attach + policy model; fd: the
 *		 sandbox's network namespace for a jail, none for microvm)
 *	lensnetd: NETD_ATTACHED (struct netd_attached + the sandbox
 *		 CA's PEM; fd: the tap device
 *		 for microvm, none for a jail) or NETD_ERROR
 *		 (the tap is IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, in the
 *		 gateway namespace; it lives as long as that descriptor)
 *	lensvmm: NETD_DETACH (empty) or close
 *
 *    The socket's owner is checked too: lensvmm sends nothing to a
 *    listener whose SO_PEERCRED uid is not 0.  A lensnetd that died
 *    took its gateways with it; lensvmm re-attaches each running jail
 *    sandbox to the lensnetd it finds on the socket again: the same
 *    ATTACH with reattach (the address the sandbox keeps) and instance
 *    (the -n of the lensnetd it had) set.  lensnetd refuses it unless
 *    it is that instance and the address is a free sandbox address of
 *    its pool; it removes whatever link of the dead instance is left in
 *    the sandbox's namespace and builds a fresh gateway.
 *
 * 2. lensnetd parent <-> its children (socketpairs).  Sandboxes are
 *    named by a small integer `sbx` the parent assigns (hdr.peerid).
 *    The parent creates every socket inside the sandbox's gateway
 *    namespace and hands it over; children never change namespace.
 *
 * 3. dns <-> proxy, directly, on a socketpair the parent makes before
 *    it forks them and closes (struct netd_role link[]): RESOLVE,
 *    RESOLVED and DNSMAP, each receiver taking only these, of their
 *    exact size, without descriptors.  The parent relays none.
 *
 * 4. proxy -> parent -> lenscredd and back: a leaf certificate for an
 *    intercepted name (LEAF_REQ, hdr.peerid the sandbox).  The proxy
 *    cannot reach lenscredd itself (no AF_UNIX socket in its seccomp
 *    table); the parent asks it (credc) for the sandbox it knows by
 *    that sbx and answers LEAF: the chain and the leaf's key, or why
 *    none (lenscredd away, its ERROR).  The sandbox CA's key never
 *    leaves lenscredd.
 *
 * 5. proxy -> parent -> lenscredd and back: the credential exchange
 *    (doc/DESIGN.md, Network; common/lensexch.h).  A request to a host bound
 *    to the credential whose placeholder it carries: EXCH_REQ names the
 *    credential by its index in the sandbox's policy, the host, port
 *    and address the proxy connected to.  The parent checks it against
 *    its own copy of the policy (index, host:port bound to that
 *    credential; the injection is the first of the credential's whose
 *    host matches), makes a socketpair, hands one end to lenscredd
 *    (IMSG_CRED_EXCHANGE with the rule's caFile PEM) and, on its
 *    EXCHANGE_OK, the other to the proxy in EXCH; else EXCH_FAIL says
 *    why (the proxy answers 502 and sends nothing upstream).  A proxy
 *    that names a credential or host its policy does not bind gets
 *    EXCH_FAIL: it never reaches lenscredd.  For oauth2Refresh the
 *    proxy first resolves the tokenUrl's host (RESOLVE, as for an
 *    upstream) and sends the address along.
 */
#ifndef LENS_LENSNETD_IMSG_H
#define LENS_LENSNETD_IMSG_H

#include <sys/socket.h>
#include <netinet/in.h>
#include <stdint.h>

#include "lensvmm_imsg.h"	/* CTL_ID_SIZE */

#define NETD_NAME_SIZE	256		/* DNS name, NUL-terminated */
#define NETD_INSTANCE_SIZE 24		/* lensnetd -n, NUL-terminated */

enum lensnetd_imsg {
	/* lensvmm <-> lensnetd */
	IMSG_NETD_ATTACH = 0x4e000001,
	IMSG_NETD_ATTACHED,
	IMSG_NETD_DETACH,
	IMSG_NETD_ERROR,		/* struct netd_error */

	/* parent -> dns, proxy */
	IMSG_NETD_CONFIG = 0x4e000100,	/* struct netd_config, once at start */
	IMSG_NETD_SANDBOX,		/* struct netd_sandbox + policy model */
	IMSG_NETD_LISTENER,		/* struct netd_listener + fd */
	IMSG_NETD_SANDBOX_GONE,		/* empty: close everything of sbx */
	IMSG_NETD_INWARD_SOCKET,	/* parent -> proxy: struct netd_inward
					 * + fd: an unconnected TCP socket made
					 * in the gateway namespace */
	/* proxy -> parent */
	IMSG_NETD_INWARD_REQUEST,	/* struct netd_inward */
	/* dns -> proxy (3.): names the sandbox's DNS handed out */
	IMSG_NETD_DNSMAP,		/* struct netd_dnsmap */
	/* proxy -> dns (3.), and back: resolve a name for upstream */
	IMSG_NETD_RESOLVE,		/* struct netd_resolve */
	IMSG_NETD_RESOLVED,		/* struct netd_resolved */
	/* dns, proxy -> parent: an audit event to send (canonical JSON) */
	IMSG_NETD_AUDIT,		/* struct netd_audit + details JSON */

	/*
	 * parent -> dns, proxy: an address the host has now, or no more
	 * (every interface's, tracked live): refused as an answer and as a
	 * destination.  The whole set after CONFIG, then each change.
	 */
	IMSG_NETD_HOSTADDR_ADD = 0x4e000200,	/* struct netd_hostaddr */
	IMSG_NETD_HOSTADDR_DEL,			/* struct netd_hostaddr */
	/*
	 * dns -> parent: a TCP connection to the upstream, please (the dns
	 * child has neither socket(2) nor connect(2)); parent -> dns: the
	 * same, with the connecting socket, or without when it failed
	 */
	IMSG_NETD_UPSTREAM_TCP,			/* struct netd_upstream */

	/* proxy -> parent, and back (4.) */
	IMSG_NETD_LEAF_REQ = 0x4e000300,	/* struct netd_leaf_req */
	IMSG_NETD_LEAF,		/* struct netd_leaf + chainlen + keylen */
	/* parent -> proxy, after SANDBOX: a rule's caFile, read by root */
	IMSG_NETD_CAFILE,	/* struct netd_cafile + pemlen */
	/*
	 * parent -> proxy, after SANDBOX, before any LISTENER: the
	 * sandbox's credential placeholders, n * PH_SIZE bytes (0 to
	 * PHSCAN_MAXSET of them; each ph_valid, NUL-terminated)
	 */
	IMSG_NETD_PLACEHOLDERS,

	/* proxy -> parent, and back (5.) */
	IMSG_NETD_EXCH_REQ = 0x4e000400,	/* struct netd_exch_req */
	IMSG_NETD_EXCH,		/* struct netd_exch + fd: the stream */
	IMSG_NETD_EXCH_FAIL,	/* struct netd_exch_fail */

	/* proxy -> parent, and back (6.): a held ask, then its answer */
	IMSG_NETD_ASK = 0x4e000500,	/* struct netd_ask */
	IMSG_NETD_ANSWER,		/* struct netd_answer */
};

struct netd_error {
	char		msg[512];
};

#define NETD_BACKEND_JAIL	1	/* veth into the given netns */
#define NETD_BACKEND_MICROVM	2	/* tap in the gateway, fd returned */

struct netd_attach {
	char		sandbox[CTL_ID_SIZE];	/* 64 hex id */
	uint8_t		pad[3];
	uint32_t	backend;		/* NETD_BACKEND_* */
	uint32_t	npublish;		/* -p entries, after the policy */
	uint32_t	policylen;		/* bytes of policy model */
	uint32_t	nplaceholder;		/* one a credential */
	struct in_addr	reattach;		/* 0, or the address a running
						 * sandbox keeps (re-attach) */
	char		instance[NETD_INSTANCE_SIZE];	/* re-attach: the
						 * lensnetd instance it had;
						 * else empty, NUL-padded */
	/*
	 * followed by policylen bytes of the binary policy model
	 * (policy_encode, at most POLICY_MODEL_MAXSIZE; 0: the default
	 * policy), checked by policy_decode on receipt, npublish
	 * NUL-terminated "-p" strings, and nplaceholder placeholders of
	 * PH_SIZE bytes each (common/phscan.h: ph_valid, NUL-terminated,
	 * all different), one for each of the policy's credentials in
	 * its order (the parent checks the count against the policy)
	 */
};

struct netd_attached {
	struct in_addr	addr;		/* the sandbox's address */
	struct in_addr	gateway;	/* its gateway, DNS and proxy */
	uint8_t		prefixlen;
	uint8_t		pad[1];
	uint16_t	proxyport;	/* HTTP(S)_PROXY port on the gateway */
	uint32_t	mtu;
	char		ifname[16];	/* inside the sandbox (jail) */
	char		instance[NETD_INSTANCE_SIZE];	/* lensnetd -n */
	uint32_t	calen;		/* bytes of PEM that follow */
	uint32_t	pad2;
	/*
	 * followed by calen bytes (0 to PEMCERT_MAX): the sandbox CA's
	 * certificate from lenscredd, one PEM block (pemcert_check);
	 * none when lenscredd could not give one (logged and audited as
	 * net.ca): the sandbox runs, but no host is intercepted for it
	 */
};

struct netd_config {
	struct sockaddr_storage	upstream;	/* DNS upstream, port set */
};

struct netd_upstream {
	uint64_t	reqid;
};

struct netd_hostaddr {
	struct sockaddr_storage	addr;	/* AF_INET or AF_INET6, port 0 */
};

struct netd_sandbox {
	char		sandbox[CTL_ID_SIZE];
	uint8_t		pad[3];
	struct in_addr	addr, gateway;	/* as in netd_attached */
	uint32_t	policylen;
	/* followed by policylen bytes of the binary policy model, as
	 * received in NETD_ATTACH (0: the default policy) */
};

#define NETD_L_DNS_UDP		1
#define NETD_L_DNS_TCP		2
#define NETD_L_TRANSPARENT	3	/* redirected TCP, SO_ORIGINAL_DST */
#define NETD_L_CONNECT		4	/* explicit HTTP proxy port */
#define NETD_L_PUBLISH		5	/* host side of a published port */

struct netd_listener {
	uint32_t	kind;		/* NETD_L_* */
	uint16_t	port;		/* PUBLISH: sandbox-side port */
	uint16_t	pad;
};

struct netd_inward {
	uint64_t	reqid;
	uint16_t	port;		/* sandbox-side port */
	uint16_t	pad[3];
};

struct netd_dnsmap {
	char		name[NETD_NAME_SIZE];
	struct sockaddr_storage	addr;	/* port 0 */
	uint32_t	ttl;		/* seconds */
	uint32_t	pad;
};

struct netd_resolve {
	uint64_t	reqid;
	char		name[NETD_NAME_SIZE];
};

#define NETD_MAXADDRS	8
struct netd_resolved {
	uint64_t	reqid;
	int32_t		error;		/* 0, or an EAI_* / NXDOMAIN reason */
	uint32_t	naddrs;
	uint32_t	ttl;		/* seconds the answer holds (0: do
					 * not keep it) */
	uint32_t	nstripped;	/* addresses refused by their class */
	struct sockaddr_storage	addrs[NETD_MAXADDRS];	/* port 0 */
	/*
	 * the first address refused (addr_forbidden: private,
	 * documentation, ...) and its class, so that a name that resolves
	 * only to such addresses is refused saying so, not as unresolved
	 */
	struct sockaddr_storage	stripped;
	char		stripped_why[32];
};

struct netd_leaf_req {
	uint64_t	reqid;
	char		name[NETD_NAME_SIZE];	/* NUL-terminated */
};

/* at most this much PEM each way (lenscredd's CRED_PEM_MAX) */
#define NETD_LEAF_PEM_MAX	16384

struct netd_leaf {
	uint64_t	reqid;
	int64_t		notafter;	/* time_t of the leaf */
	uint32_t	chainlen;	/* leaf PEM then the CA's; 0: none */
	uint32_t	keylen;		/* PKCS#8 PEM of the leaf's key */
	char		error[256];	/* why none, when chainlen is 0 */
	/* followed by chainlen + keylen bytes */
};

/*
 * A caFile (lns-policy.yaml(5)) of the sandbox's policy, read from
 * /etc/lens/ca by the parent at attach: its certificates, each a PEM
 * block pemcert_check accepts, one after another.  The proxy trusts
 * them, besides the system's, for the upstreams of the rules naming
 * the file.
 */
#define NETD_CAFILE_NAME	132	/* NUL-terminated, PM_CAFILE at most */
#define NETD_CAFILE_MAX		32768	/* bytes of PEM */

struct netd_cafile {
	char		name[NETD_CAFILE_NAME];
	uint32_t	pemlen;
	/* followed by pemlen bytes */
};

struct netd_exch_req {
	uint64_t	reqid;		/* the proxy's, echoed */
	uint32_t	cred;		/* index in the policy's credentials */
	uint16_t	port;		/* the request's host and port */
	uint8_t		family;		/* AF_INET or AF_INET6 */
	uint8_t		pad;
	uint8_t		addr[16];	/* where the proxy connected */
	char		host[NETD_NAME_SIZE];	/* NUL-terminated */
	/*
	 * oauth2Refresh: where the tokenUrl's host resolved to, by the
	 * dns child as every upstream name (the parent has no resolver,
	 * the exchange is chrooted without one); family 0 otherwise.  The
	 * exchange verifies the token endpoint's certificate there.
	 */
	uint8_t		token_family;
	uint8_t		pad2[7];
	uint8_t		token_addr[16];
};

struct netd_exch {
	uint64_t	reqid;
};

struct netd_exch_fail {
	uint64_t	reqid;
	char		why[256];	/* NUL-terminated */
};

struct netd_audit {
	char		type[64];	/* "net.connect", "dns.deny", ... */
	uint32_t	detailslen;	/* the message's exact size, less this */
	/* followed by detailslen bytes of canonical JSON details */
};

/*
 * 6. proxy -> parent -> lensctl and back: a connection or request whose
 *    verdict is ask is held by the proxy (accepted, nothing forwarded)
 *    and named to the parent in ASK; the parent makes it a pending
 *    approval (lensnetd/approval.c, common/lensapprove_imsg.h) and
 *    ANSWERs it once an operator decided, it timed out, or the audit
 *    log could not take it (deny).
 */
#define NETD_ASK_TCP		1	/* raw TCP to name:port */
#define NETD_ASK_TLS		2	/* a TLS host (SNI) */
#define NETD_ASK_HTTP		3	/* an HTTP host */
#define NETD_ASK_REQUEST	4	/* an intercepted request: what */
#define NETD_ASK_DNS		5	/* a DNS name */
#define NETD_ASK_MAX		5
#define NETD_ASK_WHAT		512

struct netd_ask {
	uint64_t	reqid;		/* the proxy's, echoed */
	uint32_t	kind;		/* NETD_ASK_* */
	uint16_t	port;		/* 0 for DNS */
	uint16_t	pad;
	char		name[NETD_NAME_SIZE];	/* NUL-terminated */
	char		rule[NETD_NAME_SIZE];	/* the ask rule's match, or "" */
	char		what[NETD_ASK_WHAT];	/* "GET /path", or "" */
};

struct netd_answer {
	uint64_t	reqid;
	uint32_t	allow;		/* 1 allow, 0 deny */
	uint32_t	pad;
	char		why[128];	/* NUL-terminated */
};

#endif
