/*
 * lensnetd parent: options, the dns and proxy children, the control
 * socket for lensvmm, one gateway namespace per attached sandbox
 * (netns.c, nft.c), every listening socket, the channel between the
 * children (a socketpair it makes before forking them: dns and proxy
 * talk to each other directly, nothing of theirs passes here), and the
 * audit client.
 *
 * Runs as root with CAP_NET_ADMIN, CAP_SYS_ADMIN (setns, unshare),
 * CAP_NET_BIND_SERVICE and CAP_KILL only, under a deny-list seccomp
 * filter.  It reads no network traffic: only lensvmm's requests (a peer
 * of uid 0 or _lensvmm) and its children's messages, both checked for
 * size and content before use.  A child that dies or breaks the
 * protocol ends the daemon (fail closed: every gateway goes with it).
 */
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <linux/nsfs.h>
#include <netinet/in.h>

#include <err.h>
#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <limits.h>
#include <jansson.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "auditc.h"
#include "lensapprove_imsg.h"
#include "credc.h"
#include "pemcert.h"
#include "lenscredd_imsg.h"
#include "imsgev.h"
#include "lensconf.h"
#include "log.h"
#include "credvars.h"
#include "lensnetd.h"
#include "policy.h"
#include "privsep.h"
#include "proc.h"
#include "unixsock.h"
#include "proxy.h"
#include "seccomp_filter.h"
#include "version.h"

#define ATTACH_TIMEOUT	10		/* seconds for the ATTACH message */
#define MAXCONNS	4096
#define CA_TIMEOUT	5		/* seconds for lenscredd's CA */

enum { DNS, PROXY, NCHILD };

/* a caFile of the sandbox's policy, read from cadir */
struct cafile {
	char		 name[NETD_CAFILE_NAME];
	char		*pem;
	size_t		 len;
};
#define NETD_MAXCAFILES	16

struct sbx {
	TAILQ_ENTRY(sbx)	 entry;
	uint32_t		 id;		/* peerid towards the children */
	char			 sandbox[CTL_ID_SIZE];
	struct proc_chan	 ch;		/* lensvmm's connection */
	char			 peer[CTL_ID_SIZE + 32];	/* ch.peer */
	struct event		 ev_timeout;
	uid_t			 uid;
	int			 attached;
	int			 reattach;	/* a running sandbox's again */
	int			 ca_wait;	/* ATTACHED waits for the CA */
	size_t			 npubs;		/* published ports */
	struct event		 ev_ca;
	int			 slot;		/* in the pool, or -1 */
	uint32_t		 backend;
	struct netns_gw		 gw;
	struct phset		 phs;		/* its credentials' placeholders */
	struct cafile		*cafs;		/* read at attach, kept for */
	size_t			 ncafs;		/* the exchange */
	struct policy		*pol;		/* its policy: exchanges */
};

static TAILQ_HEAD(, sbx)	 sbxs = TAILQ_HEAD_INITIALIZER(sbxs);
static struct proc_child	 children[NCHILD] = {
	{ .name = "dns", .fd = -1 },
	{ .name = "proxy", .fd = -1 },
};
static struct proc_chan		 child_ch[NCHILD];
static struct netd_role		 role;
static struct netd_config	 config;
static struct auditc		*audit;
static struct credc		*cred;
static char			 credsock[108];
static const char		*cadir = NETD_CADIR;
static struct event		 ev_accept;
static int			 listen_fd = -1;
static uid_t			 vmm_uid = (uid_t)-1;
static char			 sockpath[sizeof(((struct sockaddr_un *)0)->sun_path)];
static char			 auditsock[sizeof(sockpath)];
static char			 apprsock[sizeof(sockpath)];
static unsigned int		 appr_timeout = APPR_TIMEOUT;
static char			 instance[NETD_INSTANCE_SIZE] = "lensnetd";
static uint32_t			 pool_base;	/* host order */
static int			 pool_bits;
static uint8_t			*pool_used;
static size_t			 pool_slots;
static uint32_t			 next_id = 1;
static int			 nconns, shutting_down, exit_status;

/* capabilities the parent keeps */
static const cap_value_t keep_caps[] = {
	CAP_NET_ADMIN,		/* veth, tap, addresses, routes, nftables */
	CAP_SYS_ADMIN,		/* unshare and setns of network namespaces */
	CAP_NET_BIND_SERVICE,	/* DNS on port 53, published ports < 1024 */
	CAP_KILL,		/* stop the children (_lensnet) */
};

static void	sbx_free(struct sbx *, const char *why);
static void	to_child(int, uint32_t, uint32_t, int, const void *, size_t);
static void	sbx_cafs_free(struct sbx *);
static int	sbx_cafs_read(struct sbx *, const struct policy *, char *,
		    size_t);
static void	child_push(int);

static __attribute__((noreturn)) void
usage(void)
{
	fprintf(stderr, "usage: lensnetd [-dVv] [-a auditsock] [-B bodymax] [-b heldmax] "
	    "[-C cadir] [-c conns] "
	    "[-k credsock] [-l lookups]\n\t[-A apprsock] [-w seconds] "
	    "[-n instance]"
	    " [-p pool] [-q qlen] [-r rate[:burst]] [-s socket] [-T trustfile]\n"
	    "\t-u upstream[:port]\n");
	exit(2);
}

/* --- options ----------------------------------------------------------- */

static void
parse_upstream(const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	char			 buf[INET6_ADDRSTRLEN + 16], *port = NULL, *e;
	unsigned long		 p = 53;

	memset(ss, 0, sizeof(*ss));
	if (strlcpy(buf, s, sizeof(buf)) >= sizeof(buf))
		goto bad;
	if (buf[0] == '[') {
		if ((e = strchr(buf, ']')) == NULL)
			goto bad;
		*e = '\0';
		if (e[1] == ':')
			port = e + 2;
		else if (e[1] != '\0')
			goto bad;
		memmove(buf, buf + 1, strlen(buf + 1) + 1);
	} else if ((e = strchr(buf, ':')) != NULL && strchr(e + 1, ':') ==
	    NULL) {
		*e = '\0';
		port = e + 1;
	}
	if (port != NULL) {
		errno = 0;
		p = strtoul(port, &e, 10);
		if (*port < '0' || *port > '9' || *e != '\0' || errno != 0 ||
		    p < 1 || p > 65535)
			goto bad;
	}
	if (inet_pton(AF_INET, buf, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
		return;
	}
	if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		return;
	}
bad:
	errx(2, "-u %s: need ADDRESS, ADDRESS:PORT or [IPV6]:PORT", s);
}

static void
parse_pool(const char *s)
{
	char		 buf[32], *slash, *e;
	struct in_addr	 a;
	unsigned long	 bits;

	if (strlcpy(buf, s, sizeof(buf)) >= sizeof(buf) ||
	    (slash = strchr(buf, '/')) == NULL)
		goto bad;
	*slash = '\0';
	errno = 0;
	bits = strtoul(slash + 1, &e, 10);
	if (slash[1] < '0' || slash[1] > '9' || *e != '\0' || errno != 0 ||
	    bits < 14 || bits > 30 || inet_pton(AF_INET, buf, &a) != 1)
		goto bad;
	pool_base = ntohl(a.s_addr);
	pool_bits = (int)bits;
	if ((pool_base & (0xffffffffu >> bits)) != 0)
		errx(2, "-p %s: host bits set in the network address", s);
	pool_slots = (size_t)1 << (30 - bits);
	if ((pool_used = calloc(pool_slots, 1)) == NULL)
		err(1, "calloc");
	return;
bad:
	errx(2, "-p %s: need an IPv4 network A.B.C.D/LEN with LEN from 14 "
	    "to 30", s);
}

/* resolv.conf's nameservers lensnetd may not forward to: its own side */
static int
in_pool(const char *addr, void *arg)
{
	struct in_addr	 a;
	uint32_t	 mask = 0xffffffffu << (32 - pool_bits);

	(void)arg;
	if (strchr(addr, '%') != NULL)
		return 1;	/* a link-local scope parse_upstream refuses */
	if (inet_pton(AF_INET, addr, &a) != 1)
		return 0;
	return (ntohl(a.s_addr) & mask) == pool_base;
}

static int
pool_alloc(struct in_addr *net)
{
	size_t	 i;

	for (i = 0; i < pool_slots; i++)
		if (!pool_used[i]) {
			pool_used[i] = 1;
			net->s_addr = htonl(pool_base + 4 * (uint32_t)i);
			return (int)i;
		}
	return -1;
}

/*
 * A re-attach's address, taken if it is a free sandbox address (.2 of
 * a /30) of the pool: its slot, or -1 with why not.
 */
static int
pool_take(struct in_addr addr, struct in_addr *net, char *err,
    size_t errlen)
{
	uint32_t	 h = ntohl(addr.s_addr), off;
	char		 a[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &addr, a, sizeof(a));
	off = h - pool_base;
	if ((h & (0xffffffffu << (32 - pool_bits))) != pool_base) {
		snprintf(err, errlen, "address %s is not in this lensnetd's "
		    "pool %s/%d", a, inet_ntoa((struct in_addr){
		    htonl(pool_base) }), pool_bits);
		return -1;
	}
	if (off % 4 != 2) {
		snprintf(err, errlen, "address %s is not a sandbox's (.2 of "
		    "a /30)", a);
		return -1;
	}
	if (pool_used[off / 4]) {
		snprintf(err, errlen, "address %s is another sandbox's", a);
		return -1;
	}
	pool_used[off / 4] = 1;
	net->s_addr = htonl(h - 2);
	return (int)(off / 4);
}

/* the host's own addresses, to both children: refused as DNS answers
 * and as destinations (before the children exist: sent by
 * hostaddr_replay() after CONFIG) */
static int	 children_configured;

static void
hostaddr_changed(const struct sockaddr *sa, int add)
{
	struct netd_hostaddr	 h;
	int			 i;

	if (!children_configured)
		return;
	memset(&h, 0, sizeof(h));
	memcpy(&h.addr, sa, sa->sa_family == AF_INET ?
	    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
	for (i = 0; i < NCHILD; i++) {
		to_child(i, add ? IMSG_NETD_HOSTADDR_ADD :
		    IMSG_NETD_HOSTADDR_DEL, 0, -1, &h, sizeof(h));
		child_push(i);
	}
}

/* --- audit ---------------------------------------------------------------- */

static void
audit_cb(struct auditc *ac, enum auditc_note n, void *arg)
{
	(void)ac;
	(void)arg;
	if (n == AUDITC_READY)
		log_info("audit: connected to lensauditd");
	else if (n == AUDITC_LOST)
		log_warnx("audit: lost lensauditd; events are kept until it "
		    "is back");
}

static int
audit_json(const char *sandbox, const char *type, json_t *details)
{
	char	*s;
	int	 rc;

	if ((s = json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		fatalx("audit: json_dumps");
	json_decref(details);
	if ((rc = auditc_event(audit, sandbox, type, s, strlen(s))) == -1)
		log_warn("audit: %s event for %s not queued", type, sandbox);
	free(s);
	return rc;
}

int
netd_audit(const char *sandbox, const char *type, json_t *details)
{
	return audit_json(sandbox, type, details);
}

int
netd_audit_ready(void)
{
	return auditc_ready(audit);
}

/* --- the children ------------------------------------------------------ */

static void
to_child(int c, uint32_t type, uint32_t peerid, int fd, const void *data,
    size_t len)
{
	if (imsgev_compose(&child_ch[c].iev, type, peerid, 0, fd, data, len) ==
	    -1) {
		log_warn("message %#x to %s", type, children[c].name);
		if (fd != -1)
			close(fd);
		/* a child that cannot keep up is as good as dead */
		fatalx("%s does not read its messages", children[c].name);
	}
}

/* a connection waits for this one: sent now, not on the next loop turn */
static void
child_push(int c)
{
	/* errors: in the dispatch */
	(void)imsg_write(&child_ch[c].iev.ibuf);
	imsgev_add(&child_ch[c].iev);
}

static struct sbx *
sbx_by_id(uint32_t id)
{
	struct sbx	*sb;

	TAILQ_FOREACH(sb, &sbxs, entry)
		if (sb->attached && sb->id == id)
			return sb;
	return NULL;
}

static void
child_bad(int c, const struct imsg *im, const char *why)
{
	log_warnx("%s: bad message %#x (%zu bytes): %s; exiting",
	    children[c].name, im->hdr.type, im->datalen, why);
	exit(1);
}

static void
child_audit(int c, struct imsg *im)
{
	struct netd_audit	 na;
	struct sbx		*sb;
	const char		*details;
	size_t			 dlen;

	if (im->datalen < sizeof(na) + 2)
		child_bad(c, im, "AUDIT too short");
	memcpy(&na, im->data, sizeof(na));
	if (na.detailslen < 2 || im->datalen - sizeof(na) != na.detailslen)
		child_bad(c, im, "AUDIT of another size than it announces");
	if (memchr(na.type, '\0', sizeof(na.type)) == NULL)
		child_bad(c, im, "AUDIT type not NUL-terminated");
	details = (const char *)im->data + sizeof(na);
	dlen = im->datalen - sizeof(na);
	sb = im->hdr.peerid != 0 ? sbx_by_id(im->hdr.peerid) : NULL;
	if (auditc_event(audit, sb != NULL ? sb->sandbox : "", na.type,
	    details, dlen) == -1)
		log_warn("audit: %s event from %s refused", na.type,
		    children[c].name);
}

static void
child_inward(struct imsg *im)
{
	struct netd_inward	 in;
	struct sbx		*sb;
	int			 s = -1;

	if (imsg_expect(im, sizeof(in)) == -1)
		child_bad(PROXY, im, "INWARD_REQUEST size");
	memcpy(&in, im->data, sizeof(in));
	if ((sb = sbx_by_id(im->hdr.peerid)) == NULL)
		log_debug("inward request for gone sandbox %u",
		    im->hdr.peerid);
	else if ((s = netns_socket(&sb->gw)) == -1)
		log_warn("sandbox %s: inward socket", sb->sandbox);
	/* without a descriptor: refused */
	to_child(PROXY, IMSG_NETD_INWARD_SOCKET, im->hdr.peerid, s, &in,
	    sizeof(in));
}

/*
 * A TCP connection to the DNS upstream, connecting, for the dns child
 * (which may not make one itself), or -1.  Made here, in the host's
 * namespace.
 */
static int
upstream_tcp(void)
{
	socklen_t	 slen;
	int		 s;

	slen = config.upstream.ss_family == AF_INET ?
	    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	if ((s = socket(config.upstream.ss_family, SOCK_STREAM |
	    SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("upstream socket for dns");
		return -1;
	}
	if (connect(s, (struct sockaddr *)&config.upstream, slen) == -1 &&
	    errno != EINPROGRESS) {
		log_warn("connect to the DNS upstream");
		close(s);
		return -1;
	}
	return s;
}

/*
 * What the children send; sizes and descriptors are checked by
 * proc_dispatch() from the tables below before these run.  DNSMAP,
 * RESOLVE and RESOLVED are not among them: dns and proxy send those to
 * each other on a channel of their own (role.link), and a child that
 * sends one here is refused as any unknown type.
 */
static void
msg_audit(struct imsg *im, void *arg)
{
	child_audit((int)(intptr_t)arg, im);
}

static void
msg_inward(struct imsg *im, void *arg)
{
	(void)arg;
	child_inward(im);
}

static void
msg_upstream(struct imsg *im, void *arg)
{
	(void)arg;
	to_child(DNS, im->hdr.type, 0, upstream_tcp(), im->data, im->datalen);
	child_push(DNS);
}

/*
 * A leaf for the proxy (lensnetd_imsg.h, 4.): asked of lenscredd for
 * the sandbox the proxy names by its sbx, answered by sbx and reqid.
 * A bounded number wait at once: the proxy asks once per name and
 * sandbox, so more means a proxy gone wrong.
 */
#define LEAF_PENDING_MAX	1024

struct leafq {
	uint32_t	 sbx;
	uint64_t	 reqid;
};
static int		 nleafq;

static void
leaf_reply(uint32_t sbx, uint64_t reqid, const struct cred_leaf *cl,
    const char *chain, const char *key, const char *err)
{
	struct netd_leaf	 nl;
	struct ibuf		*b;

	memset(&nl, 0, sizeof(nl));
	nl.reqid = reqid;
	if (cl != NULL) {
		nl.notafter = cl->notafter;
		nl.chainlen = cl->chainlen;
		nl.keylen = cl->keylen;
	} else
		strlcpy(nl.error, err, sizeof(nl.error));
	if ((b = imsg_create(&child_ch[PROXY].iev.ibuf, IMSG_NETD_LEAF, sbx, 0,
	    sizeof(nl) + nl.chainlen + nl.keylen)) == NULL ||
	    imsg_add(b, &nl, sizeof(nl)) == -1 ||
	    (nl.chainlen > 0 && imsg_add(b, chain, nl.chainlen) == -1) ||
	    (nl.keylen > 0 && imsg_add(b, key, nl.keylen) == -1))
		fatalx("proxy does not read its messages (LEAF)");
	imsg_close(&child_ch[PROXY].iev.ibuf, b);
	child_push(PROXY);
}

/* lenscredd's answer (credc checked its framing) */
static void
leaf_answer(void *arg, uint32_t type, const void *data, size_t len,
    const char *err)
{
	struct leafq		*q = arg;
	struct cred_leaf	 cl;
	const char		*p = data;

	nleafq--;
	if (type == IMSG_CRED_LEAF && len >= sizeof(cl)) {
		memcpy(&cl, data, sizeof(cl));
		leaf_reply(q->sbx, q->reqid, &cl, p + sizeof(cl),
		    p + sizeof(cl) + cl.chainlen, NULL);
	} else
		leaf_reply(q->sbx, q->reqid, NULL, NULL, NULL,
		    err != NULL ? err : "lenscredd gave no leaf");
	free(q);
}

static void
msg_leafreq(struct imsg *im, void *arg)
{
	struct netd_leaf_req	 lr;
	struct leafq		*q;
	struct sbx		*sb;

	(void)arg;
	memcpy(&lr, im->data, sizeof(lr));
	if (memchr(lr.name, '\0', sizeof(lr.name)) == NULL)
		child_bad(PROXY, im, "LEAF_REQ name not NUL-terminated");
	if ((sb = sbx_by_id(im->hdr.peerid)) == NULL) {
		leaf_reply(im->hdr.peerid, lr.reqid, NULL, NULL, NULL,
		    "no such sandbox");
		return;
	}
	if (nleafq >= LEAF_PENDING_MAX) {
		leaf_reply(im->hdr.peerid, lr.reqid, NULL, NULL, NULL,
		    "too many leaf requests waiting for lenscredd");
		return;
	}
	if ((q = calloc(1, sizeof(*q))) == NULL)
		fatal("calloc");
	q->sbx = im->hdr.peerid;
	q->reqid = lr.reqid;
	if (credc_leaf(cred, sb->sandbox, lr.name, leaf_answer, q) == -1) {
		leaf_reply(q->sbx, q->reqid, NULL, NULL, NULL, errno ==
		    ENOTCONN ? "lenscredd is not connected" :
		    "cannot ask lenscredd");
		free(q);
		return;
	}
	nleafq++;
}

/*
 * The credential exchange for the proxy (lensnetd_imsg.h, 5.): checked
 * against this process's policy of the sandbox (exchreq.c), then one
 * end of a new socketpair to lenscredd, the other to the proxy once
 * lenscredd took it.  A bounded number wait for lenscredd at once.
 */
#define EXCH_PENDING_MAX	256

struct exchq {
	uint32_t	 sbx;
	uint64_t	 reqid;
	int		 fd;		/* the proxy's end */
};
static int		 nexchq;
static uint32_t		 next_exch_id = 1;

static void
exch_fail(uint32_t sbx, uint64_t reqid, const char *why)
{
	struct netd_exch_fail	 nf;

	memset(&nf, 0, sizeof(nf));
	nf.reqid = reqid;
	strlcpy(nf.why, why, sizeof(nf.why));
	to_child(PROXY, IMSG_NETD_EXCH_FAIL, sbx, -1, &nf, sizeof(nf));
	child_push(PROXY);
}

/* lenscredd's answer: EXCHANGE_OK (credc checked its exch_id) or why not */
static void
exch_answer(void *arg, uint32_t type, const void *data, size_t len,
    const char *err)
{
	struct exchq		*q = arg;
	struct netd_exch	 ne;

	(void)data;
	(void)len;
	nexchq--;
	if (type == IMSG_CRED_EXCHANGE_OK) {
		memset(&ne, 0, sizeof(ne));
		ne.reqid = q->reqid;
		to_child(PROXY, IMSG_NETD_EXCH, q->sbx, q->fd, &ne,
		    sizeof(ne));
		child_push(PROXY);
	} else {
		close(q->fd);
		exch_fail(q->sbx, q->reqid, err != NULL ? err :
		    "lenscredd refused the exchange");
	}
	free(q);
}

static void
msg_exchreq(struct imsg *im, void *arg)
{
	struct netd_exch_req	 req;
	struct cred_exchange	 ex;
	struct exchq		*q;
	struct sbx		*sb;
	const char		*cafile;
	const char		*pem = NULL;
	size_t			 pemlen = 0, k;
	char			 why[300];
	int			 sv[2];

	(void)arg;
	memcpy(&req, im->data, sizeof(req));
	sb = sbx_by_id(im->hdr.peerid);
	if (exch_req_build(sb != NULL ? sb->pol : NULL, sb != NULL ?
	    sb->sandbox : "", sb != NULL ? &sb->phs : NULL, &req, &ex,
	    &cafile, why, sizeof(why)) == -1) {
		/* what a sound proxy never asks: said loudly */
		log_warnx("proxy: exchange refused for sandbox %s: %s",
		    sb != NULL ? sb->sandbox : "(none)", why);
		exch_fail(im->hdr.peerid, req.reqid, why);
		return;
	}
	for (k = 0; cafile != NULL && k < sb->ncafs; k++)
		if (strcmp(sb->cafs[k].name, cafile) == 0) {
			pem = sb->cafs[k].pem;
			pemlen = sb->cafs[k].len;
		}
	if (cafile != NULL && pem == NULL) {
		exch_fail(im->hdr.peerid, req.reqid, "the rule's caFile was "
		    "not read at attach");
		return;
	}
	if (pemlen > CRED_PEM_MAX) {
		snprintf(why, sizeof(why), "caFile %s: more than the %d bytes "
		    "of PEM an exchange carries", cafile, CRED_PEM_MAX);
		exch_fail(im->hdr.peerid, req.reqid, why);
		return;
	}
	if (nexchq >= EXCH_PENDING_MAX) {
		exch_fail(im->hdr.peerid, req.reqid, "too many exchanges "
		    "waiting for lenscredd");
		return;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sv) == -1) {
		log_warn("socketpair for an exchange");
		exch_fail(im->hdr.peerid, req.reqid, "no socketpair");
		return;
	}
	if ((q = calloc(1, sizeof(*q))) == NULL)
		fatal("calloc");
	q->sbx = im->hdr.peerid;
	q->reqid = req.reqid;
	q->fd = sv[1];
	ex.exch_id = next_exch_id++;
	if (credc_exchange(cred, &ex, pem, pemlen, sv[0], exch_answer, q) ==
	    -1) {
		close(sv[0]);
		close(sv[1]);
		exch_fail(q->sbx, q->reqid, errno == ENOTCONN ? "lenscredd is "
		    "not connected" : "cannot ask lenscredd");
		free(q);
		return;
	}
	explicit_bzero(&ex, sizeof(ex));
	nexchq++;
}

/*
 * a held ask of the proxy or the dns (lensnetd_imsg.h, 6.): approval.c
 * takes it.  The dns asks for DNS names only, the proxy for the rest:
 * the answer goes back to the child that asked by the kind.
 */
static void
msg_ask(struct imsg *im, void *arg)
{
	struct netd_ask		 ask;
	struct netd_answer	 a;
	struct sbx		*sb;

	memcpy(&ask, im->data, sizeof(ask));
	if (memchr(ask.name, '\0', sizeof(ask.name)) == NULL ||
	    memchr(ask.rule, '\0', sizeof(ask.rule)) == NULL ||
	    memchr(ask.what, '\0', sizeof(ask.what)) == NULL ||
	    ask.kind == 0 || ask.kind > NETD_ASK_MAX ||
	    ((ask.kind == NETD_ASK_DNS) != ((int)(intptr_t)arg == DNS)))
		child_bad((int)(intptr_t)arg, im, "ASK malformed");
	if ((sb = sbx_by_id(im->hdr.peerid)) == NULL) {
		memset(&a, 0, sizeof(a));
		a.reqid = ask.reqid;
		strlcpy(a.why, "sandbox gone", sizeof(a.why));
		netd_answer(im->hdr.peerid, ask.kind, &a);
		return;
	}
	approval_ask(sb->id, sb->sandbox, &ask);
}

void
netd_answer(uint32_t sbx, uint32_t kind, const struct netd_answer *a)
{
	int	c = kind == NETD_ASK_DNS ? DNS : PROXY;

	to_child(c, IMSG_NETD_ANSWER, sbx, -1, a, sizeof(*a));
	child_push(c);
}

/*
 * A sandbox's new policy from the approvals socket (lensctl policy
 * reload, approve --always): checked as at attach, then kept and handed
 * to both children, which judge new connections, queries and requests
 * by it.  Its credentials must stay those the sandbox was started with
 * (their placeholders are in its environment).
 */
int
netd_policy_set(const char *sandbox, const void *model, size_t len,
    const char *path, const char *sha256, uid_t uid, char *err,
    size_t errlen)
{
	struct policy_error	 pe;
	struct netd_sandbox	 ns;
	struct policy		*pol;
	struct credvar		*cv;
	struct ibuf		*b;
	struct sbx		*sb;
	size_t			 ncv, k;
	char			 perr[256];
	int			 i;

	TAILQ_FOREACH(sb, &sbxs, entry)
		if (sb->attached && strcmp(sb->sandbox, sandbox) == 0)
			break;
	if (sb == NULL) {
		snprintf(err, errlen, "sandbox %s is not attached to this "
		    "lensnetd", sandbox);
		return -1;
	}
	if ((pol = policy_decode(path, model, len, &pe)) == NULL) {
		policy_strerror(&pe, perr, sizeof(perr));
		snprintf(err, errlen, "policy refused: %s", perr);
		return -1;
	}
	if (policy_credvars(pol, &cv, &ncv) == -1) {
		policy_free(pol);
		snprintf(err, errlen, "policy: cannot list its credentials");
		return -1;
	}
	free(cv);
	for (k = 0; policy_cafile_at(pol, k) != NULL; k++)
		if (k >= sb->ncafs || strcmp(policy_cafile_at(pol, k),
		    sb->cafs[k].name) != 0)
			break;
	if (ncv != sb->phs.n || policy_cafile_at(pol, k) != NULL ||
	    k != sb->ncafs) {
		policy_free(pol);
		snprintf(err, errlen, "policy refused: its credentials or "
		    "caFiles differ from those sandbox %s started with "
		    "(restart it for those)", sandbox);
		return -1;
	}
	if (audit_json(sandbox, "policy.reload", json_pack("{s:s, s:s, s:s, "
	    "s:s, s:i}", "file", path, "sha256", sha256, "before",
	    policy_hash(sb->pol), "after", policy_hash(pol), "uid",
	    (int)uid)) == -1) {
		policy_free(pol);
		snprintf(err, errlen, "the audit log refused the event: "
		    "policy not changed");
		return -1;
	}
	policy_free(sb->pol);
	sb->pol = pol;
	memset(&ns, 0, sizeof(ns));
	strlcpy(ns.sandbox, sb->sandbox, sizeof(ns.sandbox));
	ns.addr = sb->gw.addr;
	ns.gateway = sb->gw.gw;
	ns.policylen = (uint32_t)len;
	for (i = 0; i < NCHILD; i++) {
		if ((b = imsg_create(&child_ch[i].iev.ibuf, IMSG_NETD_SANDBOX,
		    sb->id, 0, sizeof(ns) + len)) == NULL ||
		    imsg_add(b, &ns, sizeof(ns)) == -1 ||
		    imsg_add(b, model, len) == -1)
			fatal("SANDBOX for %s", children[i].name);
		imsg_close(&child_ch[i].iev.ibuf, b);
		child_push(i);
	}
	log_info("sandbox %s: policy reloaded from %s (%s) by uid %u",
	    sandbox, path, sha256, (unsigned)uid);
	return 0;
}

#define AUDIT_MSG	PROC_MSGV(IMSG_NETD_AUDIT, \
	    sizeof(struct netd_audit) + 2, IMSG_MAXPAYLOAD, msg_audit)
static const struct proc_msg dns_msgs[] = {
	AUDIT_MSG,
	PROC_MSG(IMSG_NETD_UPSTREAM_TCP, sizeof(struct netd_upstream),
	    msg_upstream),
	PROC_MSG(IMSG_NETD_ASK, sizeof(struct netd_ask), msg_ask),
};
static const struct proc_msg proxy_msgs[] = {
	AUDIT_MSG,
	PROC_MSG(IMSG_NETD_INWARD_REQUEST, sizeof(struct netd_inward),
	    msg_inward),
	PROC_MSG(IMSG_NETD_LEAF_REQ, sizeof(struct netd_leaf_req),
	    msg_leafreq),
	PROC_MSG(IMSG_NETD_EXCH_REQ, sizeof(struct netd_exch_req),
	    msg_exchreq),
	PROC_MSG(IMSG_NETD_ASK, sizeof(struct netd_ask), msg_ask),
};

/* a child gone (SIGCHLD says how), or what it sent: the end */
static void
child_lost(struct proc_chan *ch, const char *why)
{
	if (strcmp(why, "gone") == 0 || strcmp(why, "read failed") == 0 ||
	    strcmp(why, "write failed") == 0)
		return;
	log_warnx("%s: %s; exiting", ch->peer, why);
	exit(1);
}

/* --- sandboxes ------------------------------------------------------------- */

static void
conn_send_error(struct sbx *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
conn_send_error(struct sbx *sb, const char *fmt, ...)
{
	struct netd_error	 ne;
	va_list			 ap;

	memset(&ne, 0, sizeof(ne));
	va_start(ap, fmt);
	vsnprintf(ne.msg, sizeof(ne.msg), fmt, ap);
	va_end(ap);
	log_warnx("attach from uid %u refused: %s", (unsigned)sb->uid,
	    ne.msg);
	/* the first and only thing sent: it fits the socket's buffer */
	if (imsg_compose(&sb->ch.iev.ibuf, IMSG_NETD_ERROR, 0, 0, -1, &ne,
	    sizeof(ne)) == 0)
		(void)imsg_write(&sb->ch.iev.ibuf);
}

/* a host listener for a published port */
static int
publish_listener(const struct gr_publish *pp, char *err, size_t errlen)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 slen;
	int			 s, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, pp->addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(pp->hostport);
		slen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, pp->addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(pp->hostport);
		slen = sizeof(*sin6);
	} else {
		snprintf(err, errlen, "published port: bad address %.63s",
		    pp->addr);
		return -1;
	}
	if ((s = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(s, (struct sockaddr *)&ss, slen) == -1 ||
	    listen(s, 128) == -1) {
		snprintf(err, errlen, "published port %.63s:%u: %s", pp->addr,
		    pp->hostport, strerror(errno));
		if (s != -1)
			close(s);
		return -1;
	}
	return s;
}

/*
 * ATTACHED to lensvmm, with the sandbox's CA certificate (PEM, checked
 * by credc) or without one: then the sandbox runs, its passthrough
 * hosts reachable, but no host can be intercepted for it.
 */
static void
sbx_attached(struct sbx *sb, const void *pem, size_t pemlen,
    const char *why)
{
	struct netd_attached	 na;
	struct ibuf		*b;

	sb->ca_wait = 0;
	evtimer_del(&sb->ev_ca);
	if (pem == NULL) {
		log_warnx("sandbox %s: no sandbox CA: %s; it runs without "
		    "one, no host is intercepted for it", sb->sandbox, why);
		(void)audit_json(sb->sandbox, "net.ca", json_pack(
		    "{s:b, s:s}", "ca", 0, "reason", why));
		pemlen = 0;
	} else
		(void)audit_json(sb->sandbox, "net.ca", json_pack(
		    "{s:b, s:I}", "ca", 1, "bytes", (json_int_t)pemlen));
	memset(&na, 0, sizeof(na));
	na.addr = sb->gw.addr;
	na.gateway = sb->gw.gw;
	na.prefixlen = 30;
	na.proxyport = NETD_PORT_CONNECT;
	na.mtu = NETD_MTU;
	strlcpy(na.ifname, sb->backend == NETD_BACKEND_JAIL ?
	    NETD_SBX_IFNAME : NETD_TAP_IFNAME, sizeof(na.ifname));
	strlcpy(na.instance, instance, sizeof(na.instance));
	na.calen = (uint32_t)pemlen;
	if ((b = imsg_create(&sb->ch.iev.ibuf, IMSG_NETD_ATTACHED, 0, 0,
	    sizeof(na) + pemlen)) == NULL || imsg_add(b, &na, sizeof(na)) ==
	    -1 || (pemlen > 0 && imsg_add(b, pem, pemlen) == -1))
		fatal("compose ATTACHED");
	b->fd = sb->gw.tapfd;
	imsg_close(&sb->ch.iev.ibuf, b);
	imsgev_add(&sb->ch.iev);
	sb->gw.tapfd = -1;	/* lensvmm's now */
	log_info("sandbox %s %sattached (uid %u): %s, address %s, gateway "
	    "netns net:[%lu], %zu published, %zu credential placeholders, %s",
	    sb->sandbox, sb->reattach ? "re-" : "", (unsigned)sb->uid,
	    sb->backend == NETD_BACKEND_JAIL ? "jail" : "microvm",
	    inet_ntoa(sb->gw.addr), sb->gw.inode, sb->npubs, sb->phs.n,
	    pem != NULL ? "with its CA" : "without a CA");
}

/* lenscredd's answer to CA_CREATE (credc checked it), or why none */
static void
sbx_ca(void *arg, uint32_t type, const void *pem, size_t len,
    const char *err)
{
	struct sbx	*sb = arg;

	if (!sb->ca_wait)
		return;
	if (type == IMSG_CRED_CA)
		sbx_attached(sb, pem, len, NULL);
	else
		sbx_attached(sb, NULL, 0, err);
}

static void
sbx_ca_timeout(int fd, short ev, void *arg)
{
	struct sbx	*sb = arg;

	(void)fd;
	(void)ev;
	credc_forget(cred, sb);
	sbx_attached(sb, NULL, 0, "lenscredd did not answer in time");
}

static int
sbx_attach(struct sbx *sb, struct imsg *im)
{
	struct attach_req	 req;
	struct netd_sandbox	 ns;
	struct netd_listener	 nl;
	struct gr_publish	 pubs[2 * NETD_MAXPUBLISH];
	struct policy_error	 pe;
	struct policy		*pol;
	struct credvar		*cv;
	size_t			 ncv;
	struct in_addr		 net;
	struct timeval		 tv;
	struct ibuf		*b;
	char			 err[512], perr[256];
	int			 fds[4 + 2 * NETD_MAXPUBLISH], nfds = 0, i;
	size_t			 npubs = 0, k;
	static const int	 kinds[4] = { NETD_L_DNS_UDP, NETD_L_DNS_TCP,
	    NETD_L_TRANSPARENT, NETD_L_CONNECT };

	struct sbx		*o;

	if (attach_parse(im->data, im->datalen, im->fd != -1, &req, err,
	    sizeof(err)) == -1) {
		conn_send_error(sb, "%s", err);
		return -1;
	}
	TAILQ_FOREACH(o, &sbxs, entry)
		if (o->attached && strcmp(o->sandbox, req.a.sandbox) == 0) {
			conn_send_error(sb, "sandbox %s is already attached",
			    req.a.sandbox);
			return -1;
		}
	/* fail closed: no network without an audit log */
	if (!auditc_ready(audit)) {
		conn_send_error(sb, "lensauditd is not reachable at %s: no "
		    "sandbox gets a network without an audit log", auditsock);
		return -1;
	}
	/* the policy (from lensvmm, the operator's) and the -p strings */
	memset(&pe, 0, sizeof(pe));
	strlcpy(pe.msg, "cannot make the default policy", sizeof(pe.msg));
	if (req.policylen == 0)
		pol = policy_default();
	else
		pol = policy_decode("attach", req.policy, req.policylen, &pe);
	if (pol == NULL) {
		policy_strerror(&pe, perr, sizeof(perr));
		conn_send_error(sb, "policy: %s", perr);
		return -1;
	}
	for (k = 0; k < policy_npublish(pol) && npubs < NETD_MAXPUBLISH; k++)
		pubs[npubs++] = *policy_publish_at(pol, k);
	/* a placeholder for each credential, none for anything else */
	if (policy_credvars(pol, &cv, &ncv) == -1) {
		policy_free(pol);
		conn_send_error(sb, "policy: cannot list its credentials");
		return -1;
	}
	free(cv);
	if (sbx_cafs_read(sb, pol, err, sizeof(err)) == -1) {
		policy_free(pol);
		conn_send_error(sb, "%s", err);
		return -1;
	}
	/* kept: the proxy's exchange requests are checked against it */
	sb->pol = pol;
	if (ncv != req.nplaceholder) {
		conn_send_error(sb, "ATTACH: %u placeholders for a policy of "
		    "%zu credentials", req.nplaceholder, ncv);
		return -1;
	}
	memset(&sb->phs, 0, sizeof(sb->phs));
	for (k = 0; k < req.nplaceholder; k++)
		if (phset_add(&sb->phs, req.placeholder[k]) == -1)
			fatalx("placeholder %zu passed attach_parse", k);
	for (k = 0; k < req.npublish; k++)
		if (gr_publish("-p", req.publish[k], &pubs[npubs++], perr,
		    sizeof(perr)) == -1) {
			conn_send_error(sb, "%s", perr);
			return -1;
		}
	if (im->fd != -1 && ioctl(im->fd, NS_GET_NSTYPE) != CLONE_NEWNET) {
		conn_send_error(sb, "ATTACH: the descriptor is not a network "
		    "namespace");
		return -1;
	}
	if (req.a.reattach.s_addr != 0) {
		/* a running sandbox keeps its address, from its lensnetd */
		if (strcmp(req.a.instance, instance) != 0) {
			conn_send_error(sb, "sandbox %s was attached to "
			    "lensnetd instance %s, this is instance %s",
			    req.a.sandbox, req.a.instance, instance);
			return -1;
		}
		if ((sb->slot = pool_take(req.a.reattach, &net, err,
		    sizeof(err))) == -1) {
			conn_send_error(sb, "re-attach of sandbox %s: %s",
			    req.a.sandbox, err);
			return -1;
		}
		if (netns_sandbox_clean(im->fd, err, sizeof(err)) == -1) {
			conn_send_error(sb, "re-attach of sandbox %s: %s",
			    req.a.sandbox, err);
			return -1;
		}
	} else if ((sb->slot = pool_alloc(&net)) == -1) {
		conn_send_error(sb, "address pool exhausted");
		return -1;
	}
	strlcpy(sb->sandbox, req.a.sandbox, sizeof(sb->sandbox));
	sb->backend = req.a.backend;
	sb->gw.gw.s_addr = htonl(ntohl(net.s_addr) + 1);
	sb->gw.addr.s_addr = htonl(ntohl(net.s_addr) + 2);
	if (netns_gateway(&sb->gw, im->fd, err, sizeof(err)) == -1) {
		conn_send_error(sb, "sandbox %s: %s", sb->sandbox, err);
		return -1;
	}
	for (i = 0; i < 4; i++)
		if ((fds[nfds++] = netns_listener(&sb->gw, kinds[i], err,
		    sizeof(err))) == -1) {
			nfds--;
			goto fail;
		}
	for (k = 0; k < npubs; k++)
		if ((fds[nfds++] = publish_listener(&pubs[k], err,
		    sizeof(err))) == -1) {
			nfds--;
			goto fail;
		}
	/* audited before anything is handed out (fail closed) */
	if (audit_json(sb->sandbox, "net.attach", json_pack(
	    "{s:s, s:s, s:s, s:s, s:I, s:b}", "backend",
	    sb->backend == NETD_BACKEND_JAIL ? "jail" : "microvm",
	    "address", inet_ntoa(sb->gw.addr), "gateway",
	    inet_ntop(AF_INET, &sb->gw.gw, perr, sizeof(perr)) ? perr : "?",
	    "interface", sb->gw.ifname, "published", (json_int_t)npubs,
	    "reattach", req.a.reattach.s_addr != 0)) ==
	    -1) {
		snprintf(err, sizeof(err), "the audit queue refused the event");
		goto fail;
	}

	sb->id = next_id++;
	sb->attached = 1;
	sb->reattach = req.a.reattach.s_addr != 0;
	sb->npubs = npubs;
	memset(&ns, 0, sizeof(ns));
	strlcpy(ns.sandbox, sb->sandbox, sizeof(ns.sandbox));
	ns.addr = sb->gw.addr;
	ns.gateway = sb->gw.gw;
	ns.policylen = (uint32_t)req.policylen;
	for (i = 0; i < NCHILD; i++) {
		if ((b = imsg_create(&child_ch[i].iev.ibuf, IMSG_NETD_SANDBOX,
		    sb->id, 0, sizeof(ns) + req.policylen)) == NULL ||
		    imsg_add(b, &ns, sizeof(ns)) == -1 ||
		    imsg_add(b, req.policy, req.policylen) == -1)
			fatal("SANDBOX for %s", children[i].name);
		imsg_close(&child_ch[i].iev.ibuf, b);
		imsgev_add(&child_ch[i].iev);
	}
	for (k = 0; k < sb->ncafs; k++) {
		struct netd_cafile	 nc;

		memset(&nc, 0, sizeof(nc));
		strlcpy(nc.name, sb->cafs[k].name, sizeof(nc.name));
		nc.pemlen = sb->cafs[k].len;
		if ((b = imsg_create(&child_ch[PROXY].iev.ibuf,
		    IMSG_NETD_CAFILE, sb->id, 0, sizeof(nc) + nc.pemlen)) ==
		    NULL || imsg_add(b, &nc, sizeof(nc)) == -1 ||
		    imsg_add(b, sb->cafs[k].pem, nc.pemlen) == -1)
			fatal("CAFILE for the proxy");
		imsg_close(&child_ch[PROXY].iev.ibuf, b);
		imsgev_add(&child_ch[PROXY].iev);
	}
	{
		char	 ph[PHSCAN_MAXSET][PH_SIZE];

		memset(ph, 0, sizeof(ph));
		for (k = 0; k < sb->phs.n; k++)
			snprintf(ph[k], PH_SIZE, "%s%.*s", PH_PREFIX,
			    PH_RANDLEN, sb->phs.body[k]);
		to_child(PROXY, IMSG_NETD_PLACEHOLDERS, sb->id, -1, ph,
		    sb->phs.n * PH_SIZE);
	}
	for (i = 0; i < nfds; i++) {
		memset(&nl, 0, sizeof(nl));
		nl.kind = i < 4 ? (uint32_t)kinds[i] : NETD_L_PUBLISH;
		nl.port = i < 4 ? 0 : pubs[i - 4].port;
		to_child(i < 2 ? DNS : PROXY, IMSG_NETD_LISTENER, sb->id,
		    fds[i], &nl, sizeof(nl));
	}
	sb->ca_wait = 1;
	if (credc_request(cred, IMSG_CRED_CA_CREATE, sb->sandbox, 0, sbx_ca,
	    sb) == -1) {
		sbx_ca(sb, 0, NULL, 0, "lenscredd is not connected");
		return 0;
	}
	tv.tv_sec = CA_TIMEOUT;
	tv.tv_usec = 0;
	evtimer_add(&sb->ev_ca, &tv);
	return 0;
fail:
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	conn_send_error(sb, "sandbox %s: %s", sb->sandbox, err);
	netns_teardown(&sb->gw);
	return -1;
}

static void
sbx_cafs_free(struct sbx *sb)
{
	size_t	 i;

	for (i = 0; i < sb->ncafs; i++)
		free(sb->cafs[i].pem);
	free(sb->cafs);
	sb->cafs = NULL;
	sb->ncafs = 0;
}

/*
 * The caFiles pol names, read from cadir as root, each checked to be
 * PEM certificates and nothing else (pemcert_bundle_check): into sb,
 * for the proxy.  -1 with err naming the file and what was wrong.
 */
static int
sbx_cafs_read(struct sbx *sb, const struct policy *pol, char *err,
    size_t errlen)
{
	struct cafile	*cf;
	struct stat	 st;
	const char	*f;
	char		 path[PATH_MAX], why[200];
	ssize_t		 n;
	size_t		 k;
	int		 fd;

	for (k = 0; (f = policy_cafile_at(pol, k)) != NULL; k++)
		;
	if (k == 0)
		return 0;
	if (k > NETD_MAXCAFILES) {
		snprintf(err, errlen, "policy: %zu caFiles, at most %d", k,
		    NETD_MAXCAFILES);
		return -1;
	}
	if ((sb->cafs = calloc(k, sizeof(*sb->cafs))) == NULL)
		fatal("calloc");
	for (k = 0; (f = policy_cafile_at(pol, k)) != NULL; k++) {
		cf = &sb->cafs[sb->ncafs++];
		strlcpy(cf->name, f, sizeof(cf->name));
		snprintf(path, sizeof(path), "%s/%s", cadir, f);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) ==
		    -1 || fstat(fd, &st) == -1) {
			snprintf(why, sizeof(why), "%s", strerror(errno));
			goto bad;
		}
		if (!S_ISREG(st.st_mode) || st.st_size > NETD_CAFILE_MAX) {
			snprintf(why, sizeof(why), "not a regular file of at "
			    "most %d bytes", NETD_CAFILE_MAX);
			goto bad;
		}
		if ((cf->pem = malloc(st.st_size + 1)) == NULL)
			fatal("malloc");
		if ((n = read(fd, cf->pem, st.st_size + 1)) != st.st_size) {
			snprintf(why, sizeof(why), "%s", n == -1 ?
			    strerror(errno) : "changed while read");
			goto bad;
		}
		cf->len = n;
		close(fd);
		fd = -1;
		if (pemcert_bundle_check(cf->pem, cf->len, why, sizeof(why)) ==
		    -1)
			goto bad;
	}
	return 0;
 bad:
	if (fd != -1)
		close(fd);
	snprintf(err, errlen, "caFile %.128s (%.200s): %.150s", f, path, why);
	sbx_cafs_free(sb);
	return -1;
}

/* everything of sb but its memory; its channel closed */
static void
sbx_close(struct sbx *sb, const char *why)
{
	int	 i;

	TAILQ_REMOVE(&sbxs, sb, entry);
	nconns--;
	evtimer_del(&sb->ev_timeout);
	evtimer_del(&sb->ev_ca);
	credc_forget(cred, sb);
	if (sb->attached) {
		/* kept until lenscredd takes it: no CA outlives its sandbox */
		if (credc_request(cred, IMSG_CRED_CA_DESTROY, sb->sandbox, 1,
		    NULL, NULL) == -1)
			log_warn("sandbox %s: CA_DESTROY not queued",
			    sb->sandbox);
		for (i = 0; i < NCHILD; i++)
			if (children[i].pid > 0)
				to_child(i, IMSG_NETD_SANDBOX_GONE, sb->id, -1,
				    NULL, 0);
		approval_sbx_gone(sb->id);
		netns_teardown(&sb->gw);
		log_info("sandbox %s detached: %s", sb->sandbox, why);
		(void)audit_json(sb->sandbox, "net.detach", json_pack("{s:s}",
		    "reason", why));
	} else if (sb->gw.nsfd != -1)
		netns_teardown(&sb->gw);
	sbx_cafs_free(sb);
	policy_free(sb->pol);
	sb->pol = NULL;
	if (sb->slot != -1)
		pool_used[sb->slot] = 0;
	if (sb->ch.iev.ibuf.fd != -1)
		imsgev_clear(&sb->ch.iev);
	if (!shutting_down && nconns < MAXCONNS)
		event_add(&ev_accept, NULL);
}

static void
sbx_free(struct sbx *sb, const char *why)
{
	sbx_close(sb, why);
	free(sb);
}

static void
sbx_release(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	free(arg);
}

/*
 * From a handler of sb's channel: proc_dispatch() looks at the channel
 * once the handler returns (closed: it stops), so the memory goes on
 * the next turn of the loop.
 */
static void
sbx_end(struct sbx *sb, const char *why)
{
	struct timeval	 now = { 0, 0 };

	sbx_close(sb, why);
	if (event_once(-1, EV_TIMEOUT, sbx_release, sb, &now) == -1)
		fatal("event_once");
}

static void
conn_timeout(int fd, short ev, void *arg)
{
	struct sbx	*sb = arg;

	(void)fd;
	(void)ev;
	log_warnx("connection from uid %u: no ATTACH within %d s; closed",
	    (unsigned)sb->uid, ATTACH_TIMEOUT);
	sbx_free(sb, "timeout");
}

/*
 * lensvmm's messages, checked by proc_dispatch() against conn_msgs[]
 * before these run: one ATTACH, then DETACH (or the connection closes).
 */
static void
conn_attach(struct imsg *im, void *arg)
{
	struct sbx	*sb = arg;

	if (sb->attached) {
		log_warnx("%s: ATTACH again; detached", sb->peer);
		sbx_end(sb, "protocol error");
		return;
	}
	evtimer_del(&sb->ev_timeout);
	if (sbx_attach(sb, im) == -1) {
		sbx_end(sb, "attach failed");
		return;
	}
	snprintf(sb->peer, sizeof(sb->peer), "sandbox %s", sb->sandbox);
}

static void
conn_detach(struct imsg *im, void *arg)
{
	struct sbx	*sb = arg;

	if (!sb->attached) {
		conn_send_error(sb, "expected ATTACH, got message %#x (%zu "
		    "bytes)", im->hdr.type, im->datalen);
		sbx_end(sb, "protocol error");
		return;
	}
	sbx_end(sb, "detach");
}

static const struct proc_msg conn_msgs[] = {
	/* its fields and the policy: attach_parse() */
	{ IMSG_NETD_ATTACH, sizeof(struct netd_attach), IMSG_MAXPAYLOAD,
	    conn_attach, 1 },
	PROC_MSG(IMSG_NETD_DETACH, 0, conn_detach),
};

/* not in conn_msgs[] (logged, peer, type and size): lensvmm is told */
static int
conn_refused(struct imsg *im, void *arg)
{
	struct sbx	*sb = arg;

	if (sb->attached)
		return 0;
	if (im->hdr.type == IMSG_NETD_ATTACH)
		conn_send_error(sb, "ATTACH: %zu bytes, need at least %zu",
		    im->datalen, sizeof(struct netd_attach));
	else
		conn_send_error(sb, "expected ATTACH, got message %#x (%zu "
		    "bytes)", im->hdr.type, im->datalen);
	return 0;
}

static void
conn_lost(struct proc_chan *ch, const char *why)
{
	struct sbx	*sb = ch->arg;

	if (strcmp(why, "gone") == 0 || strcmp(why, "read failed") == 0) {
		sbx_free(sb, "connection closed");
		return;
	}
	if (strcmp(why, "write failed") == 0) {
		sbx_free(sb, "connection lost");
		return;
	}
	log_warnx("%s: %s; closed", ch->peer, why);
	sbx_free(sb, strcmp(why, "malformed frame") == 0 ? why :
	    "protocol error");
}

static void
conn_accept(int fd, short event, void *arg)
{
	struct sbx	*sb;
	struct timeval	 tv;
	uid_t		 uid;
	gid_t		 gid;
	pid_t		 pid;
	int		 s;

	(void)event;
	(void)arg;
	if ((s = unixsock_accept(fd, &uid, &gid, &pid)) == -1)
		return;
	if (uid != 0 && uid != vmm_uid) {
		log_warnx("connection from uid %u (pid %d) refused: only root "
		    "and %s may attach sandboxes", (unsigned)uid, (int)pid,
		    "_lensvmm");
		close(s);
		return;
	}
	if ((sb = calloc(1, sizeof(*sb))) == NULL) {
		log_warn("calloc");
		close(s);
		return;
	}
	sb->uid = uid;
	sb->slot = -1;
	sb->gw.nsfd = sb->gw.tapfd = -1;
	TAILQ_INSERT_TAIL(&sbxs, sb, entry);
	if (++nconns >= MAXCONNS)
		event_del(&ev_accept);
	snprintf(sb->peer, sizeof(sb->peer), "connection from uid %u",
	    (unsigned)uid);
	proc_chan_init(&sb->ch, s, sb->peer, conn_msgs,
	    sizeof(conn_msgs) / sizeof(conn_msgs[0]), sb);
	sb->ch.refused = conn_refused;
	sb->ch.lost = conn_lost;
	evtimer_set(&sb->ev_timeout, conn_timeout, sb);
	evtimer_set(&sb->ev_ca, sbx_ca_timeout, sb);
	tv.tv_sec = ATTACH_TIMEOUT;
	tv.tv_usec = 0;
	evtimer_add(&sb->ev_timeout, &tv);
}

/* --- seccomp ------------------------------------------------------------ */

/*
 * A deny-list, as lensvmm's parent: the parent runs libnftnl, libmnl,
 * getifaddrs and libevent, whose exact syscalls vary with the libc; it
 * never executes, forks, traces, mounts or loads anything.
 */
static const int parent_deny[] = {
	SCMP_SYS(execve), SCMP_SYS(execveat), SCMP_SYS(fork), SCMP_SYS(vfork),
	SCMP_SYS(clone), SCMP_SYS(clone3), SCMP_SYS(ptrace),
	SCMP_SYS(process_vm_readv), SCMP_SYS(process_vm_writev),
	SCMP_SYS(mount), SCMP_SYS(umount2), SCMP_SYS(pivot_root),
	SCMP_SYS(chroot), SCMP_SYS(open_tree), SCMP_SYS(move_mount),
	SCMP_SYS(mount_setattr), SCMP_SYS(fsopen), SCMP_SYS(fsconfig),
	SCMP_SYS(fsmount), SCMP_SYS(fspick), SCMP_SYS(keyctl),
	SCMP_SYS(add_key), SCMP_SYS(request_key), SCMP_SYS(bpf),
	SCMP_SYS(userfaultfd), SCMP_SYS(perf_event_open),
	SCMP_SYS(kexec_load), SCMP_SYS(kexec_file_load),
	SCMP_SYS(open_by_handle_at), SCMP_SYS(name_to_handle_at),
	SCMP_SYS(init_module), SCMP_SYS(finit_module),
	SCMP_SYS(delete_module), SCMP_SYS(iopl), SCMP_SYS(ioperm),
	SCMP_SYS(swapon), SCMP_SYS(swapoff), SCMP_SYS(reboot),
	SCMP_SYS(syslog), SCMP_SYS(acct), SCMP_SYS(settimeofday),
	SCMP_SYS(clock_settime), SCMP_SYS(clock_adjtime), SCMP_SYS(adjtimex),
	SCMP_SYS(quotactl), SCMP_SYS(uselib), SCMP_SYS(vhangup),
	SCMP_SYS(setuid), SCMP_SYS(setgid), SCMP_SYS(setreuid),
	SCMP_SYS(setregid), SCMP_SYS(setresuid), SCMP_SYS(setresgid),
	SCMP_SYS(setgroups), SCMP_SYS(capset), SCMP_SYS(io_uring_setup),
	SCMP_SYS(io_uring_enter), SCMP_SYS(io_uring_register),
};

static const uint64_t unshare_deny[] = {
	CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUTS, CLONE_NEWIPC,
	CLONE_NEWCGROUP, CLONE_FS, CLONE_FILES, CLONE_SYSVSEM,
};

static void
seccomp_parent(void)
{
	scmp_filter_ctx	 ctx;
	size_t		 i;

	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL)
		fatalx("seccomp_init");
	sandbox_filtered();
	for (i = 0; i < sizeof(parent_deny) / sizeof(parent_deny[0]); i++)
		if (parent_deny[i] >= 0 && seccomp_rule_add(ctx,
		    SCMP_ACT_ERRNO(EPERM), parent_deny[i], 0) < 0)
			fatalx("seccomp rule for %s",
			    sandbox_syscall_name(parent_deny[i]));
	/* network namespaces only (a user namespace would give
	 * capabilities back) */
	for (i = 0; i < sizeof(unshare_deny) / sizeof(unshare_deny[0]); i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
		    SCMP_SYS(unshare), 1, SCMP_A0(SCMP_CMP_MASKED_EQ,
		    unshare_deny[i], unshare_deny[i])) < 0)
			fatalx("seccomp rules for unshare");
	if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(setns), 1,
	    SCMP_A1(SCMP_CMP_NE, CLONE_NEWNET)) < 0)
		fatalx("seccomp rule for setns");
	if (seccomp_load(ctx) < 0)
		fatalx("seccomp_load");
	seccomp_release(ctx);
}

/* --- main -------------------------------------------------------------- */

static void
shutdown_all(const char *why)
{
	struct sbx	*sb;

	shutting_down = 1;
	event_del(&ev_accept);
	while ((sb = TAILQ_FIRST(&sbxs)) != NULL)
		sbx_free(sb, why);
	proc_kill_all(children, NCHILD, SIGTERM);
}

static void
parent_sig(int sig, short ev, void *arg)
{
	int	 abnormal = 0, i;

	(void)ev;
	(void)arg;
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		log_info("shutting down on SIG%s", sigabbrev_np(sig));
		shutdown_all("lensnetd stopping");
		break;
	case SIGHUP:
		log_info("SIGHUP: nothing to reload");
		break;
	case SIGCHLD:
		proc_reap(children, NCHILD, &abnormal);
		if (!shutting_down) {
			log_warnx("a child ended; every sandbox loses its "
			    "network");
			exit_status = 1;
			shutdown_all("lensnetd child died");
		}
		for (i = 0; i < NCHILD; i++)
			if (children[i].pid != 0)
				return;
		event_loopexit(NULL);
		break;
	}
}

static int
setup_socket(const char *path)
{
	struct sockaddr_un	 sun;
	char			 dir[sizeof(sun.sun_path)], *slash;
	int			 fd;
	mode_t			 old;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	strlcpy(dir, path, sizeof(dir));
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) == -1 && errno != EEXIST)
			fatal("mkdir %s", dir);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		fatal("socket");
	/* a socket left by a lensnetd that died: ours now */
	if (unlink(path) == -1 && errno != ENOENT)
		fatal("unlink %s", path);
	/* anyone may connect: peers are judged by SO_PEERCRED */
	old = umask(0111);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		fatal("bind %s", path);
	umask(old);
	if (listen(fd, 128) == -1)
		fatal("listen %s", path);
	return fd;
}

int
main(int argc, char *argv[])
{
	struct event	 ev_hostaddr;
	struct passwd	*pw;
	char		 err[256], lockpath[sizeof(sockpath) + 64];
	int		 ch, debug = 0, verbose = 0, keep[2], lockfd, i;
	int		 have_upstream = 0, hostaddr_fd;
	struct proxy_conf pc;
	const char	*errstr;

	memset(&pc, 0, sizeof(pc));
	strlcpy(sockpath, NETD_SOCKET, sizeof(sockpath));
	strlcpy(auditsock, NETD_AUDITSOCK, sizeof(auditsock));
	strlcpy(apprsock, APPR_SOCKET, sizeof(apprsock));
	strlcpy(credsock, NETD_CREDSOCK, sizeof(credsock));
	parse_pool("10.200.0.0/16");
	lensconf_init("lensnetd", "A:a:B:b:C:c:dk:l:n:p:q:r:s:T:u:vw:", &argc,
	    &argv);
	while ((ch = getopt(argc, argv, "A:a:B:b:C:c:dk:l:n:p:q:r:s:T:u:vw:f:V")) != -1) {
		switch (ch) {
		case 'f':	/* lensconf_init's */
			break;
		case 'A':
			if (strlcpy(apprsock, optarg, sizeof(apprsock)) >=
			    sizeof(apprsock))
				errx(2, "-A %s: path too long", optarg);
			break;
		case 'w':
			appr_timeout = strtonum(optarg, 1, 86400, &errstr);
			if (errstr != NULL)
				errx(2, "-w %s: seconds an approval waits: %s "
				    "(1 to 86400)", optarg, errstr);
			break;
		case 'a':
			if (strlcpy(auditsock, optarg, sizeof(auditsock)) >=
			    sizeof(auditsock))
				errx(2, "-a %s: path too long", optarg);
			break;
		case 'B':
			pc.body_max = strtonum(optarg, 1, PROXY_BODY_LIMIT,
			    &errstr);
			if (errstr != NULL)
				errx(2, "-B %s: request body bytes rules read: "
				    "%s (1 to %d)", optarg, errstr,
				    PROXY_BODY_LIMIT);
			break;
		case 'b':
			pc.held_max = strtonum(optarg, 1, PROXY_HELD_LIMIT,
			    &errstr);
			if (errstr != NULL)
				errx(2, "-b %s: request bytes held for rules, "
				    "all connections: %s (1 to %llu)", optarg,
				    errstr, (unsigned long long)PROXY_HELD_LIMIT);
			break;
		case 'C':
			/* argv is the process title's later */
			if ((cadir = strdup(optarg)) == NULL)
				errx(2, "out of memory");
			break;
		case 'c':
		case 'l':
		case 'r':
			if (limits_option(&netd_limits, ch, optarg, err,
			    sizeof(err)) == -1)
				errx(2, "%s", err);
			break;
		case 'd':
			debug = 1;
			break;
		case 'k':
			if (strlcpy(credsock, optarg, sizeof(credsock)) >=
			    sizeof(credsock))
				errx(2, "-k %s: path too long", optarg);
			break;
		case 'n':
			if (optarg[0] == '\0' || strlen(optarg) >= 24 ||
			    strspn(optarg, "abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") !=
			    strlen(optarg))
				errx(2, "-n %s: need at most 23 letters, "
				    "digits, '-', '_' or '.'", optarg);
			strlcpy(instance, optarg, sizeof(instance));
			break;
		case 'p':
			free(pool_used);
			parse_pool(optarg);
			break;
		case 'q':
			pc.audit_query_max = strtonum(optarg, 1, 8192, &errstr);
			if (errstr != NULL)
				errx(2, "-q %s: query bytes audited: %s (1 to "
				    "8192)", optarg, errstr);
			break;
		case 's':
			if (strlcpy(sockpath, optarg, sizeof(sockpath)) >=
			    sizeof(sockpath))
				errx(2, "-s %s: path too long", optarg);
			break;
		case 'T':
			if (access(optarg, R_OK) == -1)
				errx(2, "-T %s: %s", optarg, strerror(errno));
			if ((role.trust = strdup(optarg)) == NULL)
				errx(2, "out of memory");
			break;
		case 'u':
			parse_upstream(optarg, &config.upstream);
			have_upstream = 1;
			break;
		case 'v':
			verbose++;
			break;
		case 'V':	/* lensctl doctor asks the binary */
			printf("%s %s\n", "lensnetd", LENS_VERSION);
			exit(0);
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	/* the proxy child's defaults, but for what was given */
	proxy_tune(&pc);
	if (!have_upstream) {
		char	 ns[INET6_ADDRSTRLEN + 16];

		/* the host's resolver, unless it is a sandbox's side */
		if (lensconf_resolv_file(NETD_RESOLVCONF, in_pool, NULL, ns,
		    sizeof(ns), err, sizeof(err)) == -1)
			errx(2, "no -u upstream and %s", err);
		parse_upstream(ns, &config.upstream);
	}

	log_init(1, LOG_DAEMON);
	log_setverbose(verbose);
	log_procinit("parent");
	if (geteuid() != 0)
		fatalx("must run as root");
	if (privsep_user(NETD_USER, &role.user, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if ((pw = getpwnam("_lensvmm")) != NULL)
		vmm_uid = pw->pw_uid;
	else
		log_warnx("user _lensvmm does not exist: only root may "
		    "attach sandboxes");
	privsep_emptydir(LENS_EMPTYDIR);
	/* one lensnetd per instance name */
	if (mkdir("/run/lens", 0755) == -1 && errno != EEXIST)
		fatal("mkdir /run/lens");
	snprintf(lockpath, sizeof(lockpath), "/run/lens/%s.lock", instance);
	if ((lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) ==
	    -1)
		fatal("open %s", lockpath);
	if (flock(lockfd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			fatalx("another lensnetd runs as instance %s",
			    instance);
		fatal("lock %s", lockpath);
	}
	hostaddr_fd = hostaddr_init(hostaddr_changed);
	listen_fd = setup_socket(sockpath);
	(void)approval_listen(apprsock);

	log_init(debug, LOG_DAEMON);
	if (!debug && daemon(0, 0) == -1)
		fatal("daemon");
	proc_init(lensconf_argc, lensconf_argv);
	netns_init();
	role.parent = getpid();
	role.debug = debug;
	role.verbose = verbose;
	/* dns <-> proxy: each keeps its end, the parent neither, so that
	 * one sees the end of the channel when the other dies */
	proc_socketpair(role.link);
	keep[0] = role.link[0];
	keep[1] = -1;
	proc_fork(&children[DNS], dns_main, &role, keep);
	keep[0] = role.link[1];
	proc_fork(&children[PROXY], proxy_main, &role, keep);
	close(role.link[0]);
	close(role.link[1]);
	role.link[0] = role.link[1] = -1;
	proc_title("parent");

	if (event_init() == NULL)
		fatalx("event_init");
	proc_signals(parent_sig, NULL);
	for (i = 0; i < NCHILD; i++) {
		proc_log_watch(&children[i]);
		if (i == DNS)
			proc_chan_init(&child_ch[i], children[i].fd, "dns",
			    dns_msgs, sizeof(dns_msgs) / sizeof(dns_msgs[0]),
			    (void *)(intptr_t)i);
		else
			proc_chan_init(&child_ch[i], children[i].fd, "proxy",
			    proxy_msgs, sizeof(proxy_msgs) /
			    sizeof(proxy_msgs[0]), (void *)(intptr_t)i);
		child_ch[i].lost = child_lost;
		imsgev_add(&child_ch[i].iev);
		to_child(i, IMSG_NETD_CONFIG, 0, -1, &config, sizeof(config));
	}
	children_configured = 1;
	hostaddr_replay(hostaddr_changed);
	event_set(&ev_hostaddr, hostaddr_fd, EV_READ | EV_PERSIST,
	    hostaddr_event, NULL);
	event_add(&ev_hostaddr, NULL);
	if ((audit = auditc_new(auditsock, "lensnet", audit_cb, NULL)) ==
	    NULL)
		fatal("audit client");
	if ((cred = credc_new(credsock, NULL, NULL)) == NULL)
		fatal("lenscredd client");
	event_set(&ev_accept, listen_fd, EV_READ | EV_PERSIST, conn_accept,
	    NULL);
	event_add(&ev_accept, NULL);
	approval_start(appr_timeout);

	privsep_limit_caps(keep_caps, sizeof(keep_caps) / sizeof(keep_caps[0]));
	seccomp_parent();
	log_info("started: instance %s, socket %s, pool %s/%d, audit %s, "
	    "lenscredd %s", instance, sockpath,
	    inet_ntoa((struct in_addr){ htonl(pool_base) }), pool_bits,
	    auditsock, credsock);
	log_info("per sandbox: %u connections, %u new each second (%u at "
	    "once), %u DNS lookups in flight", netd_limits.conns,
	    netd_limits.rate, netd_limits.burst, netd_limits.lookups);
	event_dispatch();
	if (unlink(sockpath) == -1 && errno != ENOENT)
		log_warn("unlink %s", sockpath);
	if (unlink(apprsock) == -1 && errno != ENOENT)
		log_warn("unlink %s", apprsock);
	/* still locked: a lensnetd starting now waits for no stale file */
	if (unlink(lockpath) == -1 && errno != ENOENT)
		log_warn("unlink %s", lockpath);
	log_info("exiting");
	return exit_status;
}
