/*
 * lensnetd dns child: the filtering resolver every sandbox's DNS is
 * redirected to.  It runs as _lensnet in an empty chroot under seccomp
 * and holds nothing but the listening sockets the parent made in each
 * gateway namespace (hdr.peerid names the sandbox).
 *
 * A query for a name the sandbox's policy does not allow is answered
 * NXDOMAIN and audited ("dns.deny", at most one event per name and
 * sandbox each second, counts carried).  An allowed one is answered
 * from the cache or forwarded to the upstream (UDP from a socket picked
 * at random per try out of a pool connected to the upstream before the
 * filter, with a random id; TCP when the answer is truncated, over a
 * connection the parent makes), and the
 * answer is rebuilt with only what may be handed out: no private,
 * loopback, link-local, metadata or host addresses (DNS rebinding), no
 * CNAME to a name the policy denies ("dns.strip" events say what was
 * dropped).  Every address handed out is told to the proxy
 * (NETD_DNSMAP, on the channel between the two), again only once the
 * proxy's copy may have expired.  ANY, AXFR, IXFR, MAILA, MAILB and classes other than
 * IN are REFUSED; other types for an allowed name are forwarded.
 * NETD_RESOLVE (the proxy's own lookups) gets A and AAAA with the same
 * stripping; its name is not checked against the DNS policy (the proxy
 * decided), CNAME targets are when the sandbox is known.
 *
 * A name whose verdict is ask (defaultVerdict: ask, no rule names it)
 * is held: no answer until an operator decided (lensnetd/approval.c,
 * NETD_ASK to the parent, NETD_ANSWER back).  Allowed once, that query
 * is resolved as an allowed one; denied or timed out, it is answered as
 * a denied name.  A retransmit (same id, type, name and client: UDP
 * address and port, or TCP connection) joins the held query: no answer
 * of its own, no new approval, even when the sandbox is at its limit.  A held query counts as one of the sandbox's client
 * queries in flight; they go with the sandbox.
 *
 * Limits: 2 tries of 2 s upstream (then SERVFAIL), 512 lookups in
 * flight, 256 client queries in flight and 32 TCP connections (10 s
 * idle) per sandbox, a cache of 8192 answers or 8 MiB with TTLs held
 * between 5 s and 1 h (negative answers: the SOA minimum, else 30 s).
 *
 * Fairness: each upstream lookup belongs to the sandbox whose query
 * (or whose proxied connection's NETD_RESOLVE) started it; another
 * sandbox asking the same question meanwhile waits on it for free.  A
 * sandbox has at most netd_limits.lookups lookups in flight or waiting
 * for a slot: past that its new ones are answered SERVFAIL at once and
 * counted (one "net.limit" event per second).  When all 512 slots are
 * taken, a sandbox that holds fewer than another (by two or more)
 * takes the slot of that one's oldest lookup (lookup_preempt()); else
 * its new lookups wait in its queue, and a slot that frees goes to the
 * queues in turn, one sandbox after the other.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/tree.h>
#include <sys/queue.h>
#include <sys/types.h>
#include <netinet/in.h>

#include <errno.h>
#include <poll.h>
#include <event.h>
#include <fcntl.h>
#include <jansson.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dnswire.h"
#include "imsgev.h"
#include "lensnetd.h"
#include "log.h"
#include "policy.h"
#include "privsep.h"
#include "proc.h"
#include "seccomp_filter.h"

/* libbsd's tree.h wants __unused, its cdefs.h does not define it */
#ifndef __unused
#define __unused __attribute__((unused))
#endif

#define TRY_TIMEOUT	2		/* seconds per upstream try */
#define TRIES		2		/* UDP tries before SERVFAIL */
#define TCP_IDLE	10		/* client TCP connection idle, s */
#define MAX_CONNS	32		/* client TCP connections per sandbox */
#define MAX_PENDING	256		/* client queries in flight, sandbox */
#define MAX_LOOKUPS	512		/* upstream queries in flight */
#define UDP_POOL	MAX_LOOKUPS	/* upstream UDP sockets, one a lookup */
#define FD_TOP		65536		/* the pool ends below this */
#define MAX_WAITERS	64		/* one sandbox's waiting on a lookup */
#define CACHE_ENTRIES	8192
#define CACHE_BYTES	(8 * 1024 * 1024)
#define TTL_MIN		5		/* cache at least this long */
#define TTL_MAX		3600		/* ... at most, and hand out no more */
#define TTL_NEG		30		/* a negative answer without SOA */
#define DENY_ENTRIES	1024		/* rate-limited names per sandbox */
#define DENY_GAP_MS	1000
#define DENY_RATE	20		/* dns.deny events a sandbox a second */
#define MAP_SLOTS	256		/* DNSMAPs remembered per sandbox */
#define PEER_HIGH	(8 * 1024 * 1024)	/* stop reading sandboxes */
#define PEER_LOW	(1 * 1024 * 1024)	/* ... until this */

struct sandbox;
struct waiter;

struct tconn {
	TAILQ_ENTRY(tconn)	 entry;
	struct sandbox		*sb;
	uint64_t		 id;
	int			 fd;
	struct event		 ev, ev_idle;
	uint8_t			*rbuf;		/* 2 + DNS_TCPMAX */
	size_t			 rlen;
	uint8_t			*wbuf;
	size_t			 wlen, wpos;
	int			 busy;		/* a query is being answered */
};

struct denyent {
	RB_ENTRY(denyent)	 node;
	char			 type[16];
	char			 name[DNS_TEXTSIZE];
	char			 qtype[16];
	char			 reason[128];
	uint64_t		 last;		/* ms, monotonic */
	uint32_t		 pending;	/* not yet in an event */
};
RB_HEAD(denytree, denyent);

/* a DNSMAP sent lately: not sent again while the proxy surely has it */
struct mapslot {
	char			 name[DNS_TEXTSIZE];
	struct sockaddr_storage	 addr;
	time_t			 sent;
	uint32_t		 ttl;
};

struct sandbox {
	TAILQ_ENTRY(sandbox)	 entry;
	uint32_t		 sbx;
	char			 id[CTL_ID_SIZE];
	struct policy		*pol;		/* NULL: every name denied */
	int			 udpfd, tcpfd;
	struct event		 ev_udp, ev_tcp, ev_flush;
	int			 tcp_paused;
	TAILQ_HEAD(, tconn)	 conns;
	int			 nconns;
	int			 npending;
	struct denytree		 denies;
	int			 ndenies;
	struct mapslot		 maps[MAP_SLOTS];
	/* fairness: lookups it started, waiting ones, refusals */
	int			 nlookups;
	TAILQ_HEAD(, waiter)	 queued;	/* wait for a slot */
	int			 nqueued;
	TAILQ_ENTRY(sandbox)	 rrentry;	/* in rrq while queued */
	uint64_t		 refused;	/* this second */
	uint64_t		 preempted;	/* ... and given up */
	/* dns.deny events this second; beyond DENY_RATE, summed */
	uint64_t		 deny_window;	/* ms, start of the second */
	uint32_t		 deny_sent;
	/* queries whose name is asked about, in NETD_ASK order */
	TAILQ_HEAD(, dhold)	 holds;
	uint64_t		 flood_count;	/* refusals not in an event */
	uint64_t		 flood_events;	/* events they would have been */
	char			 flood_last[DNS_TEXTSIZE];
};

/* a query held for an approval (NETD_ASK reqid) */
struct dhold {
	TAILQ_ENTRY(dhold)	 entry;
	uint64_t		 reqid;
	struct waiter		*w;
};

struct resolve {
	uint64_t		 reqid;
	uint32_t		 peerid;
	int			 left;		/* lookups not yet back */
	struct netd_resolved	 out;
	int			 rcode;		/* worst seen */
};

enum wkind { W_UDP, W_TCP, W_RESOLVE };

struct waiter {
	TAILQ_ENTRY(waiter)	 entry;
	enum wkind		 kind;
	uint32_t		 sbx;
	uint64_t		 connid;	/* W_TCP */
	struct sockaddr_storage	 from;		/* W_UDP */
	socklen_t		 fromlen;
	uint16_t		 id, flags, udpsize;
	int			 edns;
	struct dns_question	 q;		/* as the client asked */
	struct resolve		*res;		/* W_RESOLVE */
};
TAILQ_HEAD(waitq, waiter);

struct lookup {
	TAILQ_ENTRY(lookup)	 entry;
	uint32_t		 owner;		/* the sandbox, or 0 */
	struct dns_question	 q;		/* lower case */
	uint16_t		 id;
	int			 fd, tcp, tries;
	uint64_t		 tcpreq;	/* waiting for a TCP socket */
	struct event		 ev, ev_to;
	uint8_t			 qbuf[2 + DNS_HDRSZ + DNS_MAXWIRE + 4];
	size_t			 qlen;
	uint8_t			*tbuf;		/* TCP answer */
	size_t			 tlen, twpos;
	struct waitq		 waiters;
};

struct centry {
	RB_ENTRY(centry)	 node;
	TAILQ_ENTRY(centry)	 lru;
	char			 name[DNS_TEXTSIZE];
	uint16_t		 qtype;
	time_t			 stored, expires;
	uint8_t			*pkt;
	size_t			 len;
};
RB_HEAD(ctree, centry);

static struct proc_chan		 pchan;	/* to the parent */
static struct proc_chan		 xchan;	/* to the proxy (role.link) */
/* what dns_main() hands proc_start(): the parent's channel, the proxy's */
struct dns_start {
	int	 fd, link;
};
static struct netd_config	 conf;
static int			 configured;
static struct addrset		 hostaddrs;
/*
 * The upstream UDP sockets: connected to the upstream before the
 * filter, at descriptors udp_base and up, where RLIMIT_NOFILE (lowered
 * to udp_base, for good) puts no other descriptor.  The filter lets
 * only descriptors below udp_base name a destination (sendto, sendmsg)
 * and has no socket(2) nor connect(2): a compromised dns can send to
 * the upstream and to its sandboxes' gateway sockets, nowhere else.
 */
static int			 udp_base = -1;
static int			 udp_free[UDP_POOL];
static int			 nudp_free;
static uint64_t			 next_tcpreq = 1;
static TAILQ_HEAD(, sandbox)	 sandboxes = TAILQ_HEAD_INITIALIZER(sandboxes);
static TAILQ_HEAD(, lookup)	 lookups = TAILQ_HEAD_INITIALIZER(lookups);
static int			 nlookups;
/* sandboxes with lookups waiting for a slot, served in turn */
static TAILQ_HEAD(, sandbox)	 rrq = TAILQ_HEAD_INITIALIZER(rrq);
static int			 dequeue_busy;
static int			 peer_slow;	/* a queue is too long */
static struct ctree		 cache = RB_INITIALIZER(&cache);
static TAILQ_HEAD(centryq, centry) cache_lru =
				 TAILQ_HEAD_INITIALIZER(cache_lru);
static size_t			 cache_n, cache_bytes;
static uint64_t			 next_connid = 1;
static uint64_t			 next_askid = 1;
static struct dns_msg		 scratch_msg;	/* one parse at a time */
static uint8_t			 pktbuf[2 + DNS_TCPMAX];

static const struct sandbox_syscall dns_syscalls[] = {
	SB_ALLOW(read), SB_ALLOW(write), SB_ALLOW(close),
	SB_ALLOW(recvmsg), SB_ALLOW(recvfrom), SB_ALLOW(accept4),
	/* to the upstream: a connected socket, no destination named */
	SB_ALLOW_ARG(sendto, 4, 0),
	/* sendto and sendmsg naming one: below udp_base (dns_filter()) */
	SB_ALLOW_ARG(getsockopt, 2, SO_ERROR),
	/* no F_DUPFD: a pool socket never gets a number below udp_base */
	SB_ALLOW_ARG(fcntl, 1, F_GETFL), SB_ALLOW_ARG(fcntl, 1, F_SETFL),
	SB_ALLOW_ARG(fcntl, 1, F_GETFD), SB_ALLOW_ARG(fcntl, 1, F_SETFD),
	SB_ALLOW(epoll_wait), SB_ALLOW(epoll_pwait),
	SB_ALLOW(epoll_ctl), SB_ALLOW(poll), SB_ALLOW(clock_gettime),
	SB_ALLOW(gettimeofday), SB_ALLOW(getpid), SB_ALLOW(brk),
	SB_ALLOW(mmap), SB_ALLOW(munmap), SB_ALLOW(mremap),
	SB_ALLOW(madvise), SB_ALLOW(getrandom), SB_ALLOW(rt_sigprocmask),
	SB_ALLOW(rt_sigaction),
	SB_ALLOW(futex),	/* libc locks */
};

static void	lookup_read(int, short, void *);
static void	lookup_timeout(int, short, void *);
static void	tconn_io(int, short, void *);
static void	tconn_close(struct tconn *);
static void	lookup_dequeue(void);
static void	lookup_preempt(struct sandbox *);

static int
denycmp(struct denyent *a, struct denyent *b)
{
	int	c;

	if ((c = strcmp(a->type, b->type)) != 0)
		return c;
	return strcmp(a->name, b->name);
}
RB_GENERATE_STATIC(denytree, denyent, node, denycmp)

static int
centrycmp(struct centry *a, struct centry *b)
{
	if (a->qtype != b->qtype)
		return a->qtype < b->qtype ? -1 : 1;
	return strcmp(a->name, b->name);
}
RB_GENERATE_STATIC(ctree, centry, node, centrycmp)

static time_t
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static uint64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct sandbox *
sandbox_find(uint32_t sbx)
{
	struct sandbox	*sb;

	TAILQ_FOREACH(sb, &sandboxes, entry)
		if (sb->sbx == sbx)
			return sb;
	return NULL;
}

/* read a sandbox's listeners, unless told to wait */
static void
sandbox_listen(struct sandbox *sb)
{
	if (peer_slow)
		return;
	if (sb->udpfd != -1)
		event_add(&sb->ev_udp, NULL);
	if (sb->tcpfd != -1 && !sb->tcp_paused)
		event_add(&sb->ev_tcp, NULL);
}

/*
 * Backpressure: while the parent (audit) or the proxy (DNSMAP) does not
 * take what is queued for it, no new query is read from any sandbox.
 */
static void
peer_queued(void)
{
	struct sandbox	*sb;
	struct proc_chan *ch;

	imsgev_add(&pchan.iev);
	imsgev_add(&xchan.iev);
	if (peer_slow)
		return;
	if (pchan.iev.ibuf.wqueued > PEER_HIGH)
		ch = &pchan;
	else if (xchan.iev.ibuf.wqueued > PEER_HIGH)
		ch = &xchan;
	else
		return;
	log_warnx("the %s is %zu bytes behind: queries wait", ch->peer,
	    ch->iev.ibuf.wqueued);
	peer_slow = 1;
	TAILQ_FOREACH(sb, &sandboxes, entry) {
		if (sb->udpfd != -1)
			event_del(&sb->ev_udp);
		if (sb->tcpfd != -1)
			event_del(&sb->ev_tcp);
	}
}

static void
peer_drained(void)
{
	struct sandbox	*sb;

	if (!peer_slow || pchan.iev.ibuf.wqueued >= PEER_LOW ||
	    xchan.iev.ibuf.wqueued >= PEER_LOW)
		return;
	peer_slow = 0;
	TAILQ_FOREACH(sb, &sandboxes, entry)
		sandbox_listen(sb);
}

/* send what is queued now (a connection waits), not on the next turn */
static void
proxy_push(void)
{
	/* an error shows in the dispatch */
	(void)imsg_write(&xchan.iev.ibuf);
	imsgev_add(&xchan.iev);
	peer_drained();
}

static void
to_proxy(uint32_t type, uint32_t peerid, const void *data, size_t len)
{
	if (imsg_compose(&xchan.iev.ibuf, type, peerid, 0, -1, data, len) ==
	    -1)
		fatal("queue for the proxy");
	peer_queued();
}

/* audit */

/* an event of type with details j (taken) for the parent to send */
static void
audit_json(struct sandbox *sb, const char *type, json_t *j)
{
	struct netd_audit	 a;
	struct ibuf		*b;
	char			*s;

	if (j == NULL)
		fatalx("audit details for %s", type);
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	json_decref(j);
	if (s == NULL)
		fatalx("audit details for %s", type);
	memset(&a, 0, sizeof(a));
	strlcpy(a.type, type, sizeof(a.type));
	a.detailslen = (uint32_t)strlen(s);
	if ((b = imsg_create(&pchan.iev.ibuf, IMSG_NETD_AUDIT, sb->sbx, 0,
	    sizeof(a) + strlen(s))) == NULL ||
	    imsg_add(b, &a, sizeof(a)) == -1 ||
	    imsg_add(b, s, strlen(s)) == -1)
		fatal("queue an audit event");
	imsg_close(&pchan.iev.ibuf, b);
	peer_queued();
	free(s);
}

static void
audit_emit(struct sandbox *sb, const char *type, const char *name,
    const char *qtype, const char *reason, uint32_t count)
{
	audit_json(sb, type, json_pack("{s:I,s:s,s:s,s:s,s:s}", "count",
	    (json_int_t)count, "name", name, "qtype", qtype,
	    "reason", reason, "sandbox", sb->id));
}

static void
deny_arm(struct sandbox *sb)
{
	struct timeval	tv = { 1, 0 };

	if (!evtimer_pending(&sb->ev_flush, NULL))
		evtimer_add(&sb->ev_flush, &tv);
}

/*
 * May one more event for this sandbox go out this second?  A sandbox
 * asking for a new name each time would otherwise make one audit event
 * per query (the per-name limit below never sees a name twice).
 */
static int
deny_budget(struct sandbox *sb, uint64_t now)
{
	if (now - sb->deny_window >= DENY_GAP_MS) {
		sb->deny_window = now;
		sb->deny_sent = 0;
	}
	if (sb->deny_sent >= DENY_RATE)
		return 0;
	sb->deny_sent++;
	return 1;
}

/* an event of count refusals, or, over the budget, into the summary */
static void
deny_out(struct sandbox *sb, const char *type, const char *name,
    const char *qtype, const char *reason, uint32_t count, uint64_t now)
{
	if (deny_budget(sb, now)) {
		audit_emit(sb, type, name, qtype, reason, count);
		return;
	}
	sb->flood_count += count;
	sb->flood_events++;
	strlcpy(sb->flood_last, name, sizeof(sb->flood_last));
	deny_arm(sb);
}

/*
 * An event of this type for this name, rate-limited: the first goes
 * out at once, the next ones within a second are counted and carried
 * by the next event or the flush timer.  Over the sandbox's budget of
 * DENY_RATE events a second, they are summed into one
 * dns.deny.summary event a second (deny_flush).
 */
static void
deny_note(struct sandbox *sb, const char *type, const char *name,
    uint16_t qtype, const char *reason)
{
	struct denyent	 key, *e;
	char		 tbuf[16];
	uint64_t	 now = now_ms();

	dns_type_str(qtype, tbuf, sizeof(tbuf));
	strlcpy(key.type, type, sizeof(key.type));
	strlcpy(key.name, name, sizeof(key.name));
	if ((e = RB_FIND(denytree, &sb->denies, &key)) == NULL) {
		if (sb->ndenies >= DENY_ENTRIES ||
		    (e = calloc(1, sizeof(*e))) == NULL) {
			/* no room to rate-limit it: the event goes now */
			deny_out(sb, type, name, tbuf, reason, 1, now);
			return;
		}
		strlcpy(e->type, type, sizeof(e->type));
		strlcpy(e->name, name, sizeof(e->name));
		RB_INSERT(denytree, &sb->denies, e);
		sb->ndenies++;
	} else if (now - e->last < DENY_GAP_MS) {
		e->pending++;
		strlcpy(e->qtype, tbuf, sizeof(e->qtype));
		strlcpy(e->reason, reason, sizeof(e->reason));
		deny_arm(sb);
		return;
	}
	deny_out(sb, type, name, tbuf, reason, e->pending + 1, now);
	e->pending = 0;
	e->last = now;
	deny_arm(sb);
}

/* a lookup refused by the sandbox's limit: counted, in the next event */
static void
limit_note(struct sandbox *sb)
{
	sb->refused++;
	deny_arm(sb);
}

/* flush counts whose second is over; forget names quiet for a while */
static void
deny_flush(struct sandbox *sb, int all)
{
	struct denyent	*e, *next;
	uint64_t	 now = now_ms();

	if (sb->refused > 0) {
		audit_json(sb, "net.limit", limit_event(sb->id, "dns-lookups",
		    netd_limits.lookups, sb->refused));
		sb->refused = 0;
	}
	if (sb->preempted > 0) {
		audit_json(sb, "net.limit", limit_event(sb->id, "dns-share",
		    MAX_LOOKUPS, sb->preempted));
		sb->preempted = 0;
	}

	RB_FOREACH_SAFE(e, denytree, &sb->denies, next) {
		if (e->pending > 0 && (all || now - e->last >= DENY_GAP_MS)) {
			deny_out(sb, e->type, e->name, e->qtype, e->reason,
			    e->pending, now);
			e->pending = 0;
			e->last = now;
		}
		if (all || (e->pending == 0 && now - e->last > 10000)) {
			RB_REMOVE(denytree, &sb->denies, e);
			sb->ndenies--;
			free(e);
		}
	}
	if (sb->flood_count > 0) {
		audit_json(sb, "dns.deny.summary", json_pack(
		    "{s:I,s:I,s:s,s:s,s:s}", "count",
		    (json_int_t)sb->flood_count, "events",
		    (json_int_t)sb->flood_events, "last", sb->flood_last,
		    "reason", "flood: events aggregated", "sandbox", sb->id));
		sb->flood_count = sb->flood_events = 0;
	}
	if (!all && !RB_EMPTY(&sb->denies))
		deny_arm(sb);
}

static void
deny_timer(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	deny_flush(arg, 0);
}

/* cache */

static void
cache_remove(struct centry *c)
{
	RB_REMOVE(ctree, &cache, c);
	TAILQ_REMOVE(&cache_lru, c, lru);
	cache_n--;
	cache_bytes -= c->len + sizeof(*c);
	free(c->pkt);
	free(c);
}

static struct centry *
cache_get(const struct dns_question *q)
{
	struct centry	 key, *c;

	strlcpy(key.name, q->name, sizeof(key.name));
	key.qtype = q->qtype;
	if ((c = RB_FIND(ctree, &cache, &key)) == NULL)
		return NULL;
	if (now_s() >= c->expires) {
		cache_remove(c);
		return NULL;
	}
	TAILQ_REMOVE(&cache_lru, c, lru);
	TAILQ_INSERT_HEAD(&cache_lru, c, lru);
	return c;
}

static void
cache_put(const struct dns_question *q, const struct dns_msg *msg,
    const uint8_t *pkt, size_t len)
{
	struct centry	*c, *old;
	uint32_t	 ttl = 0;
	size_t		 i;
	int		 rcode = msg->flags & DNS_RCMASK;

	if (rcode != DNS_NOERROR && rcode != DNS_NXDOMAIN)
		return;
	for (i = 0; i < msg->nrr; i++)
		if (i == 0 || msg->rr[i].ttl < ttl)
			ttl = msg->rr[i].ttl;
	if (msg->nrr == 0 || rcode == DNS_NXDOMAIN)
		ttl = msg->negttl ? msg->negttl : TTL_NEG;
	ttl = ttl < TTL_MIN ? TTL_MIN : ttl > TTL_MAX ? TTL_MAX : ttl;
	if (len > CACHE_BYTES / 16)
		return;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->pkt = malloc(len)) == NULL) {
		free(c);
		return;
	}
	strlcpy(c->name, q->name, sizeof(c->name));
	c->qtype = q->qtype;
	memcpy(c->pkt, pkt, len);
	c->len = len;
	c->stored = now_s();
	c->expires = c->stored + ttl;
	if ((old = RB_FIND(ctree, &cache, c)) != NULL)
		cache_remove(old);
	while (!TAILQ_EMPTY(&cache_lru) && (cache_n + 1 > CACHE_ENTRIES ||
	    cache_bytes + len + sizeof(*c) > CACHE_BYTES))
		cache_remove(TAILQ_LAST(&cache_lru, centryq));
	RB_INSERT(ctree, &cache, c);
	TAILQ_INSERT_HEAD(&cache_lru, c, lru);
	cache_n++;
	cache_bytes += len + sizeof(*c);
}

/* answers */

static int
name_allowed(void *arg, const char *name)
{
	struct sandbox	*sb = arg;

	return sb != NULL && sb->pol != NULL &&
	    policy_dns(sb->pol, name) == VERDICT_ALLOW;
}

static struct tconn *
tconn_find(struct sandbox *sb, uint64_t id)
{
	struct tconn	*c;

	TAILQ_FOREACH(c, &sb->conns, entry)
		if (c->id == id)
			return c;
	return NULL;
}

static void
tconn_send(struct tconn *c, const uint8_t *pkt, size_t len)
{
	struct timeval	 tv = { TCP_IDLE, 0 };

	free(c->wbuf);
	if ((c->wbuf = malloc(len + 2)) == NULL) {
		tconn_close(c);
		return;
	}
	c->wbuf[0] = len >> 8;
	c->wbuf[1] = len & 0xff;
	memcpy(c->wbuf + 2, pkt, len);
	c->wlen = len + 2;
	c->wpos = 0;
	event_del(&c->ev);
	event_set(&c->ev, c->fd, EV_WRITE | EV_PERSIST, tconn_io, c);
	event_add(&c->ev, NULL);
	evtimer_add(&c->ev_idle, &tv);
}

/* send pkt to the client of w */
static void
client_send(struct sandbox *sb, struct waiter *w, const uint8_t *pkt,
    size_t len)
{
	struct tconn	*c;

	if (w->kind == W_UDP) {
		if (sb->udpfd != -1 && sendto(sb->udpfd, pkt, len, 0,
		    (struct sockaddr *)&w->from, w->fromlen) == -1)
			log_debug("sandbox %u: send answer: %s", sb->sbx,
			    strerror(errno));
	} else if ((c = tconn_find(sb, w->connid)) != NULL) {
		c->busy = 0;
		tconn_send(c, pkt, len);
	}
}

static void
dnsmap_send(struct sandbox *sb, const char *name, const struct dns_result *r)
{
	struct netd_dnsmap	 m;
	struct mapslot		*ms;
	const uint8_t		*k;
	size_t			 i, j, klen;
	uint32_t		 h;
	time_t			 now = now_s();

	for (i = 0; i < r->naddrs; i++) {
		/* FNV-1a of name and address picks the slot */
		h = 2166136261u;
		for (j = 0; name[j] != '\0'; j++)
			h = (h ^ (uint8_t)name[j]) * 16777619u;
		if (r->addrs[i].ss.ss_family == AF_INET) {
			k = (const uint8_t *)&((const struct sockaddr_in *)
			    &r->addrs[i].ss)->sin_addr;
			klen = 4;
		} else {
			k = (const uint8_t *)&((const struct sockaddr_in6 *)
			    &r->addrs[i].ss)->sin6_addr;
			klen = 16;
		}
		for (j = 0; j < klen; j++)
			h = (h ^ k[j]) * 16777619u;
		ms = &sb->maps[h % MAP_SLOTS];
		if (strcmp(ms->name, name) == 0 &&
		    memcmp(&ms->addr, &r->addrs[i].ss, sizeof(ms->addr)) == 0 &&
		    now - ms->sent < (time_t)(ms->ttl / 2) &&
		    r->addrs[i].ttl <= ms->ttl - (now - ms->sent))
			continue;	/* the proxy has it, for longer */
		strlcpy(ms->name, name, sizeof(ms->name));
		ms->addr = r->addrs[i].ss;
		ms->sent = now;
		ms->ttl = r->addrs[i].ttl;
		memset(&m, 0, sizeof(m));
		strlcpy(m.name, name, sizeof(m.name));
		m.addr = r->addrs[i].ss;
		m.ttl = r->addrs[i].ttl;
		to_proxy(IMSG_NETD_DNSMAP, sb->sbx, &m, sizeof(m));
	}
}

static void
resolve_done(struct resolve *r)
{
	if (r->out.naddrs == 0 && r->out.error == 0)
		r->out.error = r->rcode == DNS_NXDOMAIN ? EAI_NONAME :
		    r->rcode == DNS_NOERROR ? EAI_NODATA : EAI_AGAIN;
	if (r->out.naddrs > 0)
		r->out.error = 0;
	if (r->out.error != 0 || r->out.ttl == UINT32_MAX)
		r->out.ttl = 0;
	r->out.reqid = r->reqid;
	to_proxy(IMSG_NETD_RESOLVED, r->peerid, &r->out, sizeof(r->out));
	/* a connection waits for it: sent now, not on the next loop turn */
	proxy_push();
	free(r);
}

/* a lookup is over: answer one waiter from msg (NULL: SERVFAIL) */
static void
waiter_answer(struct waiter *w, const struct dns_msg *msg, uint32_t age)
{
	struct sandbox		*sb = sandbox_find(w->sbx);
	struct dns_filter	 f;
	struct dns_result	 res;
	uint8_t			 out[DNS_TCPMAX];
	size_t			 len, i;

	if (sb != NULL && w->kind != W_RESOLVE)
		sb->npending--;
	memset(&f, 0, sizeof(f));
	f.hostaddrs = hostaddrs.v;
	f.nhostaddrs = hostaddrs.n;
	f.name_ok = sb != NULL || w->kind != W_RESOLVE ? name_allowed : NULL;
	f.arg = sb;
	f.maxttl = TTL_MAX;
	f.age = age;

	if (w->kind == W_RESOLVE) {
		struct resolve *r = w->res;

		if (msg != NULL) {
			dns_filter_msg(&w->q, msg, &f, &res, NULL);
			/*
			 * the proxy keeps the addresses as long as they all
			 * hold (an empty answer, NODATA, bounds nothing)
			 */
			if (res.naddrs > 0 && res.minttl < r->out.ttl)
				r->out.ttl = res.minttl;
			for (i = 0; i < res.naddrs &&
			    r->out.naddrs < NETD_MAXADDRS; i++)
				r->out.addrs[r->out.naddrs++] =
				    res.addrs[i].ss;
			if (res.denied[0] != '\0')
				r->out.error = EAI_NONAME;
			if (res.naddrstripped > 0 &&
			    r->out.stripped.ss_family == 0) {
				r->out.stripped = res.stripped;
				strlcpy(r->out.stripped_why, res.stripped_why,
				    sizeof(r->out.stripped_why));
			}
			r->out.nstripped += res.naddrstripped;
			if (r->rcode == -1 || res.rcode == DNS_NOERROR)
				r->rcode = res.rcode;
		} else {
			r->out.ttl = 0;
			if (r->rcode == -1)
				r->rcode = DNS_SERVFAIL;
		}
		if (--r->left == 0)
			resolve_done(r);
		return;
	}
	if (sb == NULL)
		return;
	if (msg == NULL) {
		len = dns_build_error(out, sizeof(out), w->id, w->flags, &w->q,
		    DNS_SERVFAIL, w->edns);
	} else {
		len = dns_build_answer(out, w->kind == W_UDP ? w->udpsize :
		    sizeof(out), w->id, w->flags, &w->q, w->edns, msg, &f,
		    &res);
		if (res.denied[0] != '\0')
			deny_note(sb, "dns.deny", res.denied, w->q.qtype,
			    "cname target not allowed");
		else if (res.nstripped > 0)
			deny_note(sb, "dns.strip", w->q.name, w->q.qtype,
			    res.why);
		if (len > 0)
			dnsmap_send(sb, w->q.name, &res);
	}
	if (len > 0)
		client_send(sb, w, out, len);
}

/* upstream */

/* a pool socket picked at random, or -1 when all are in use */
static int
udp_take(void)
{
	uint32_t	 i;
	int		 fd;

	if (nudp_free == 0)
		return -1;
	i = arc4random_uniform(nudp_free);
	fd = udp_free[i];
	udp_free[i] = udp_free[--nudp_free];
	return fd;
}

/* back to the pool, with nothing left to read from the last lookup */
static void
udp_put(int fd)
{
	while (recv(fd, pktbuf, sizeof(pktbuf), 0) != -1 || errno == EINTR ||
	    errno == ECONNREFUSED)
		;
	udp_free[nudp_free++] = fd;
}

/* the lookup's socket: a pool one goes back, a TCP one is closed */
static void
lookup_release(struct lookup *l)
{
	if (l->fd == -1)
		return;
	event_del(&l->ev);
	if (l->fd >= udp_base)
		udp_put(l->fd);
	else
		close(l->fd);
	l->fd = -1;
}

static void
lookup_free(struct lookup *l)
{
	struct waiter	*w;
	struct sandbox	*sb;

	while ((w = TAILQ_FIRST(&l->waiters)) != NULL) {
		TAILQ_REMOVE(&l->waiters, w, entry);
		free(w);
	}
	lookup_release(l);
	evtimer_del(&l->ev_to);
	free(l->tbuf);
	TAILQ_REMOVE(&lookups, l, entry);
	nlookups--;
	if (l->owner != 0 && (sb = sandbox_find(l->owner)) != NULL)
		sb->nlookups--;
	free(l);
	lookup_dequeue();
}

static void
lookup_finish(struct lookup *l, const uint8_t *pkt, size_t len)
{
	struct waiter	*w;
	const char	*why;
	struct dns_msg	*msg = NULL;

	if (pkt != NULL) {
		if (dns_parse_msg(pkt, len, &scratch_msg, &why) == -1)
			log_warnx("upstream answer for %s: %s", l->q.name, why);
		else {
			msg = &scratch_msg;
			cache_put(&l->q, msg, pkt, len);
		}
	}
	TAILQ_FOREACH(w, &l->waiters, entry)
		waiter_answer(w, msg, 0);
	lookup_free(l);
}

static int
lookup_send(struct lookup *l)
{
	struct timeval		 tv = { TRY_TIMEOUT, 0 };
	struct netd_upstream	 u;
	uint8_t			*q = l->qbuf + 2;

	lookup_release(l);
	l->tcpreq = 0;
	l->id = arc4random_uniform(65536);
	if ((l->qlen = dns_build_query(q, sizeof(l->qbuf) - 2, l->id,
	    &l->q)) == 0)
		return -1;
	l->qbuf[0] = l->qlen >> 8;
	l->qbuf[1] = l->qlen & 0xff;
	if (l->tcp) {
		/* the parent connects it (lookup_tcp_socket()) */
		memset(&u, 0, sizeof(u));
		u.reqid = l->tcpreq = next_tcpreq++;
		if (imsgev_compose(&pchan.iev, IMSG_NETD_UPSTREAM_TCP, 0, 0, -1,
		    &u, sizeof(u)) == -1) {
			log_warn("upstream over TCP for %s", l->q.name);
			return -1;
		}
		evtimer_add(&l->ev_to, &tv);
		return 0;
	}
	/* a socket of the pool, at random: a random source port */
	if ((l->fd = udp_take()) == -1) {
		log_warnx("upstream for %s: every pool socket is in use",
		    l->q.name);
		return -1;
	}
	if (send(l->fd, q, l->qlen, 0) == -1)
		log_debug("send to the upstream: %s", strerror(errno));
	event_set(&l->ev, l->fd, EV_READ | EV_PERSIST, lookup_read, l);
	event_add(&l->ev, NULL);
	evtimer_add(&l->ev_to, &tv);
	return 0;
}

/* the parent's answer to an UPSTREAM_TCP: a connecting socket, or none */
static void
lookup_tcp_socket(struct imsg *im, void *arg)
{
	struct netd_upstream	 u;
	struct lookup		*l;

	(void)arg;
	if (imsg_expect(im, sizeof(u)) == -1)
		fatalx("NETD_UPSTREAM_TCP of the wrong size");
	memcpy(&u, im->data, sizeof(u));
	TAILQ_FOREACH(l, &lookups, entry)
		if (l->tcp && l->tcpreq == u.reqid && l->fd == -1)
			break;
	if (l == NULL) {		/* a try that has timed out */
		if (im->fd != -1)
			close(im->fd);
		return;
	}
	l->tcpreq = 0;
	if (im->fd == -1) {
		log_debug("upstream over TCP for %s: the parent has no "
		    "socket", l->q.name);
		lookup_finish(l, NULL, 0);
		return;
	}
	l->fd = im->fd;
	im->fd = -1;
	l->twpos = 0;
	l->tlen = 0;
	event_set(&l->ev, l->fd, EV_WRITE | EV_PERSIST, lookup_read, l);
	event_add(&l->ev, NULL);
}

static void
lookup_timeout(int fd, short ev, void *arg)
{
	struct lookup	*l = arg;

	(void)fd;
	(void)ev;
	if (++l->tries < TRIES && lookup_send(l) == 0)
		return;
	log_debug("upstream: no answer for %s", l->q.name);
	lookup_finish(l, NULL, 0);
}

static void
lookup_tcp(struct lookup *l, short ev)
{
	ssize_t		 n;
	int		 err;
	socklen_t	 elen = sizeof(err);
	const char	*why = "connection failed";

	if (ev & EV_WRITE) {
		if (l->twpos == 0 && (getsockopt(l->fd, SOL_SOCKET, SO_ERROR,
		    &err, &elen) == -1 || err != 0))
			goto fail;
		n = write(l->fd, l->qbuf + l->twpos, l->qlen + 2 - l->twpos);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			goto fail;
		}
		l->twpos += n;
		if (l->twpos == l->qlen + 2) {
			event_del(&l->ev);
			event_set(&l->ev, l->fd, EV_READ | EV_PERSIST,
			    lookup_read, l);
			event_add(&l->ev, NULL);
		}
		return;
	}
	if (l->tbuf == NULL && (l->tbuf = malloc(2 + DNS_TCPMAX)) == NULL)
		goto fail;
	n = read(l->fd, l->tbuf + l->tlen, 2 + DNS_TCPMAX - l->tlen);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0)
		goto fail;
	l->tlen += n;
	if (l->tlen < 2 ||
	    l->tlen < 2 + (size_t)(l->tbuf[0] << 8 | l->tbuf[1]))
		return;
	n = l->tbuf[0] << 8 | l->tbuf[1];
	if (dns_parse_msg(l->tbuf + 2, n, &scratch_msg, &why) == -1)
		goto fail;
	if (scratch_msg.id != l->id ||
	    !dns_same_question(&scratch_msg.q, &l->q)) {
		why = "answer does not match the query";
		goto fail;
	}
	lookup_finish(l, l->tbuf + 2, n);
	return;
 fail:
	log_debug("upstream over TCP for %s failed: %s", l->q.name, why);
	lookup_finish(l, NULL, 0);
}

static void
lookup_read(int fd, short ev, void *arg)
{
	struct lookup	*l = arg;
	const char	*why;
	ssize_t		 n;

	if (l->tcp) {
		lookup_tcp(l, ev);
		return;
	}
	if ((n = recv(fd, pktbuf, sizeof(pktbuf), 0)) == -1) {
		if (errno != EAGAIN && errno != EINTR)
			log_debug("upstream for %s: %s", l->q.name,
			    strerror(errno));
		return;			/* ICMP errors: wait for the timer */
	}
	if (dns_parse_msg(pktbuf, n, &scratch_msg, &why) == -1 &&
	    (n < DNS_HDRSZ || !(pktbuf[2] & (DNS_TC >> 8)))) {
		log_debug("upstream answer for %s ignored: %s", l->q.name,
		    why);
		return;
	}
	if (n >= DNS_HDRSZ && (pktbuf[2] & (DNS_TC >> 8))) {
		/* truncated: the question must still match */
		if ((pktbuf[0] << 8 | pktbuf[1]) != l->id)
			return;
		l->tcp = 1;
		if (lookup_send(l) == -1)
			lookup_finish(l, NULL, 0);
		return;
	}
	if (scratch_msg.id != l->id ||
	    !dns_same_question(&scratch_msg.q, &l->q)) {
		log_debug("upstream answer for %s does not match the query",
		    l->q.name);
		return;
	}
	lookup_finish(l, pktbuf, n);
}

/* the lookup asking cq already, or NULL */
static struct lookup *
lookup_find(const struct dns_question *cq)
{
	struct lookup	*l;

	TAILQ_FOREACH(l, &lookups, entry)
		if (l->q.qtype == cq->qtype && strcmp(l->q.name, cq->name) == 0)
			return l;
	return NULL;
}

/* how many of l's waiters are sandbox sbx's */
static int
lookup_waiters(const struct lookup *l, uint32_t sbx)
{
	const struct waiter	*w;
	int			 n = 0;

	TAILQ_FOREACH(w, &l->waiters, entry)
		if (w->sbx == sbx)
			n++;
	return n;
}

/* a lookup for cq started by sb (NULL: nobody's), under the 512 */
static struct lookup *
lookup_new(const struct dns_question *cq, struct sandbox *sb)
{
	struct lookup	*l;

	if (nlookups >= MAX_LOOKUPS || (l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	strlcpy(l->q.name, cq->name, sizeof(l->q.name));
	if (dns_name_towire(l->q.name, l->q.wire, &l->q.wirelen) == -1) {
		free(l);
		return NULL;
	}
	l->q.qtype = cq->qtype;
	l->q.qclass = DNS_C_IN;
	l->fd = -1;
	TAILQ_INIT(&l->waiters);
	evtimer_set(&l->ev_to, lookup_timeout, l);
	TAILQ_INSERT_TAIL(&lookups, l, entry);
	nlookups++;
	if (sb != NULL) {
		l->owner = sb->sbx;
		sb->nlookups++;
	}
	if (lookup_send(l) == -1) {
		lookup_free(l);
		return NULL;
	}
	return l;
}

/* answer w from the cache or through a lookup; w is taken */
static void
resolve(struct waiter *w)
{
	struct centry	*c;
	struct lookup	*l;
	struct sandbox	*sb;
	const char	*why;

	if ((c = cache_get(&w->q)) != NULL) {
		if (dns_parse_msg(c->pkt, c->len, &scratch_msg, &why) == 0) {
			waiter_answer(w, &scratch_msg, now_s() - c->stored);
			free(w);
			return;
		}
		cache_remove(c);
	}
	/* the same question asked already: no slot taken */
	if ((l = lookup_find(&w->q)) != NULL) {
		if (lookup_waiters(l, w->sbx) >= MAX_WAITERS)
			goto fail;
		goto wait;
	}
	sb = sandbox_find(w->sbx);
	if (sb != NULL &&
	    sb->nlookups + sb->nqueued >= (int)netd_limits.lookups) {
		log_debug("sandbox %u: %s: %d lookups in flight, refused",
		    sb->sbx, w->q.name, sb->nlookups + sb->nqueued);
		limit_note(sb);
		goto fail;
	}
	if (nlookups >= MAX_LOOKUPS && sb != NULL)
		lookup_preempt(sb);
	if (nlookups >= MAX_LOOKUPS) {
		if (sb == NULL)
			goto fail;
		/* lookup_dequeue() starts it when its turn comes */
		TAILQ_INSERT_TAIL(&sb->queued, w, entry);
		if (sb->nqueued++ == 0)
			TAILQ_INSERT_TAIL(&rrq, sb, rrentry);
		return;
	}
	if ((l = lookup_new(&w->q, sb)) == NULL)
		goto fail;
 wait:
	TAILQ_INSERT_TAIL(&l->waiters, w, entry);
	return;
 fail:
	waiter_answer(w, NULL, 0);
	free(w);
}

/*
 * All slots are taken and sb wants one: when another sandbox holds
 * more than sb's share and one more, its oldest lookup that only it
 * waits on is given up (SERVFAIL to its clients) and the slot is sb's.
 * So many sandboxes at their limit cannot make another wait for their
 * lookups to time out: each gets an equal share of the 512.
 */
static void
lookup_preempt(struct sandbox *sb)
{
	struct sandbox	*h = NULL, *s;
	struct lookup	*l;
	struct waiter	*w;

	TAILQ_FOREACH(s, &sandboxes, entry)
		if (h == NULL || s->nlookups > h->nlookups)
			h = s;
	if (h == NULL || h == sb || h->nlookups <= sb->nlookups + 1)
		return;
	TAILQ_FOREACH(l, &lookups, entry) {	/* oldest first */
		if (l->owner != h->sbx)
			continue;
		TAILQ_FOREACH(w, &l->waiters, entry)
			if (w->sbx != h->sbx)
				break;
		if (w == NULL)
			break;
	}
	if (l == NULL)
		return;
	log_debug("sandbox %u: %s given up for sandbox %u (%d lookups "
	    "against %d)", h->sbx, l->q.name, sb->sbx, h->nlookups,
	    sb->nlookups);
	h->preempted++;
	deny_arm(h);
	dequeue_busy++;		/* the slot is sb's, not the queues' */
	lookup_finish(l, NULL, 0);
	dequeue_busy--;
}

/*
 * Slots are free: the sandboxes with waiting lookups take them in
 * turn, one each, the one served going to the end of the line.
 */
static void
lookup_dequeue(void)
{
	struct sandbox	*sb;
	struct waiter	*w;

	if (dequeue_busy)	/* resolve() may come back here */
		return;
	dequeue_busy++;
	while (nlookups < MAX_LOOKUPS && (sb = TAILQ_FIRST(&rrq)) != NULL) {
		w = TAILQ_FIRST(&sb->queued);
		TAILQ_REMOVE(&sb->queued, w, entry);
		TAILQ_REMOVE(&rrq, sb, rrentry);
		if (--sb->nqueued > 0)
			TAILQ_INSERT_TAIL(&rrq, sb, rrentry);
		resolve(w);
	}
	dequeue_busy--;
}

/* queries from sandboxes */

/* answer w as a denied name is answered, and free it */
static void
hold_deny(struct sandbox *sb, struct waiter *w, const char *why)
{
	uint8_t	 out[DNS_UDPMIN];
	size_t	 len;

	sb->npending--;
	deny_note(sb, "dns.deny", w->q.name, w->q.qtype, why);
	len = dns_build_error(out, sizeof(out), w->id, w->flags, &w->q,
	    DNS_NXDOMAIN, w->edns);
	if (len > 0)
		client_send(sb, w, out, len);
	free(w);
}

static int
hold_same(const struct waiter *a, const struct waiter *b)
{
	if (a->kind != b->kind || a->id != b->id ||
	    a->q.qtype != b->q.qtype || a->q.qclass != b->q.qclass ||
	    strcmp(a->q.name, b->q.name) != 0)
		return 0;
	if (a->kind == W_TCP)
		return a->connid == b->connid;
	return a->fromlen == b->fromlen &&
	    memcmp(&a->from, &b->from, a->fromlen) == 0;
}

/* the held query w (its client set, not yet its query) repeats */
static struct dhold *
hold_find(struct sandbox *sb, struct waiter *w, const struct dns_query *dq)
{
	struct dhold	*h;

	w->id = dq->id;
	w->q = dq->q;
	TAILQ_FOREACH(h, &sb->holds, entry)
		if (hold_same(h->w, w))
			return h;
	return NULL;
}

/* w's name is asked about: held, and the parent told (NETD_ASK) */
static void
hold(struct sandbox *sb, struct waiter *w)
{
	struct netd_ask	 a;
	struct dhold	*h;
	char		 tbuf[16];

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		hold_deny(sb, w, "ask: out of memory");
		return;
	}
	memset(&a, 0, sizeof(a));
	a.reqid = h->reqid = next_askid++;
	a.kind = NETD_ASK_DNS;
	strlcpy(a.name, w->q.name, sizeof(a.name));
	strlcpy(a.rule, "defaultVerdict", sizeof(a.rule));
	strlcpy(a.what, dns_type_str(w->q.qtype, tbuf, sizeof(tbuf)),
	    sizeof(a.what));
	if (imsg_compose(&pchan.iev.ibuf, IMSG_NETD_ASK, sb->sbx, 0, -1, &a,
	    sizeof(a)) == -1) {
		free(h);
		hold_deny(sb, w, "ask, and the parent cannot take it");
		return;
	}
	peer_queued();
	h->w = w;
	TAILQ_INSERT_TAIL(&sb->holds, h, entry);
	log_debug("sandbox %u: %s %s held for an approval", sb->sbx,
	    w->q.name, a.what);
}

/* the parent's answer to a held query */
static void
msg_answer(struct imsg *im, void *arg)
{
	struct netd_answer	 a;
	struct sandbox		*sb;
	struct dhold		*h;
	struct waiter		*w;

	(void)arg;
	memcpy(&a, im->data, sizeof(a));
	if (a.allow > 1 || memchr(a.why, '\0', sizeof(a.why)) == NULL)
		fatalx("NETD_ANSWER malformed");
	if ((sb = sandbox_find(im->hdr.peerid)) == NULL)
		return;
	TAILQ_FOREACH(h, &sb->holds, entry)
		if (h->reqid == a.reqid)
			break;
	if (h == NULL)
		return;
	TAILQ_REMOVE(&sb->holds, h, entry);
	w = h->w;
	free(h);
	if (a.allow) {
		log_debug("sandbox %u: %s approved once", sb->sbx, w->q.name);
		resolve(w);
	} else
		hold_deny(sb, w, a.why);
}

/*
 * The answer to pkt, or 0 when it is dropped or forwarded; *taken says
 * whether w went to resolve() (which frees it).
 */
static size_t
query(struct sandbox *sb, const uint8_t *pkt, size_t len, struct waiter *w,
    uint8_t *out, size_t outlen, int *taken)
{
	struct dns_query	 dq;
	const char		*why;
	enum dns_perr		 perr;
	char			 tbuf[16];
	int			 rcode;
	enum verdict		 v = VERDICT_DENY;

	*taken = 0;
	perr = dns_parse_query(pkt, len, &dq, &why);
	switch (perr) {
	case DNS_P_OK:
		break;
	case DNS_P_DROP:
		log_debug("sandbox %u: packet dropped: %s", sb->sbx, why);
		return 0;
	default:
		log_debug("sandbox %u: bad query: %s", sb->sbx, why);
		return dns_build_error(out, outlen, dq.id, dq.flags, &dq.q,
		    perr == DNS_P_NOTIMP ? DNS_NOTIMP : DNS_FORMERR, 0);
	}
	rcode = -1;
	if (dq.q.qclass != DNS_C_IN)
		rcode = DNS_REFUSED;
	else if (dq.q.qtype == DNS_T_ANY || dq.q.qtype == DNS_T_AXFR ||
	    dq.q.qtype == 251 || dq.q.qtype == DNS_T_MAILA ||
	    dq.q.qtype == DNS_T_MAILB || dq.q.qtype == DNS_T_OPT)
		rcode = DNS_REFUSED;
	else if (sb->pol == NULL || (v = policy_dns(sb->pol, dq.q.name)) ==
	    VERDICT_DENY) {
		deny_note(sb, "dns.deny", dq.q.name, dq.q.qtype,
		    sb->pol == NULL ? "no policy" : "policy");
		rcode = DNS_NXDOMAIN;
	} else if (v == VERDICT_ASK && hold_find(sb, w, &dq) != NULL) {
		/* a retransmit: the held one's answer is its own */
		log_debug("sandbox %u: %s: a retransmit of a held query",
		    sb->sbx, dq.q.name);
		return 0;
	} else if (!configured || sb->npending >= MAX_PENDING)
		rcode = DNS_SERVFAIL;
	if (rcode != -1) {
		log_debug("sandbox %u: %s %s: rcode %d", sb->sbx, dq.q.name,
		    dns_type_str(dq.q.qtype, tbuf, sizeof(tbuf)), rcode);
		return dns_build_error(out, outlen, dq.id, dq.flags, &dq.q,
		    rcode, dq.edns);
	}
	w->sbx = sb->sbx;
	w->id = dq.id;
	w->flags = dq.flags;
	w->edns = dq.edns;
	w->udpsize = w->kind == W_UDP ? dq.udpsize : DNS_TCPMAX;
	w->q = dq.q;
	sb->npending++;
	*taken = 1;
	if (v == VERDICT_ASK)
		hold(sb, w);
	else
		resolve(w);
	return 0;
}

static void
udp_read(int fd, short ev, void *arg)
{
	struct sandbox	*sb = arg;
	struct waiter	*w;
	uint8_t		 out[DNS_UDPMIN];
	ssize_t		 n;
	size_t		 olen;
	int		 i, taken;

	(void)ev;
	for (i = 0; i < 64; i++) {
		if ((w = calloc(1, sizeof(*w))) == NULL)
			return;
		w->kind = W_UDP;
		w->fromlen = sizeof(w->from);
		n = recvfrom(fd, pktbuf, sizeof(pktbuf), 0,
		    (struct sockaddr *)&w->from, &w->fromlen);
		if (n == -1) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("sandbox %u: udp", sb->sbx);
			free(w);
			return;
		}
		olen = query(sb, pktbuf, n, w, out, sizeof(out), &taken);
		if (taken)
			continue;
		if (olen > 0)
			(void)sendto(fd, out, olen, 0,
			    (struct sockaddr *)&w->from, w->fromlen);
		free(w);
	}
}

static void
tconn_close(struct tconn *c)
{
	struct sandbox	*sb = c->sb;

	event_del(&c->ev);
	evtimer_del(&c->ev_idle);
	close(c->fd);
	free(c->rbuf);
	free(c->wbuf);
	TAILQ_REMOVE(&sb->conns, c, entry);
	sb->nconns--;
	free(c);
	if (sb->tcp_paused && sb->tcpfd != -1) {
		sb->tcp_paused = 0;
		sandbox_listen(sb);
	}
}

static void
tconn_idle(int fd, short ev, void *arg)
{
	struct tconn	*c = arg;
	struct timeval	 tv = { TCP_IDLE, 0 };

	(void)fd;
	(void)ev;
	/* a query of it is held or resolving: not idle */
	if (c->busy) {
		evtimer_add(&c->ev_idle, &tv);
		return;
	}
	tconn_close(c);
}

static void
tconn_wait_read(struct tconn *c)
{
	event_del(&c->ev);
	event_set(&c->ev, c->fd, EV_READ | EV_PERSIST, tconn_io, c);
	event_add(&c->ev, NULL);
}

/* one complete framed query in c->rbuf? handle it */
static void
tconn_query(struct tconn *c)
{
	struct waiter	*w;
	uint8_t		 out[DNS_UDPMIN];
	size_t		 qlen, olen;
	uint64_t	 id = c->id;
	struct sandbox	*sb = c->sb;
	int		 taken;

	if (c->rlen < 2)
		return;
	qlen = c->rbuf[0] << 8 | c->rbuf[1];
	if (c->rlen < 2 + qlen)
		return;
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		tconn_close(c);
		return;
	}
	w->kind = W_TCP;
	w->connid = c->id;
	c->busy = 1;
	event_del(&c->ev);
	olen = query(sb, c->rbuf + 2, qlen, w, out, sizeof(out), &taken);
	if (!taken)
		free(w);
	/* c may be gone now if the answer came from the cache */
	if ((c = tconn_find(sb, id)) == NULL)
		return;
	memmove(c->rbuf, c->rbuf + 2 + qlen, c->rlen - 2 - qlen);
	c->rlen -= 2 + qlen;
	if (!taken) {
		if (olen == 0) {	/* not a query at all */
			tconn_close(c);
			return;
		}
		c->busy = 0;
		tconn_send(c, out, olen);
	}
}

static void
tconn_io(int fd, short ev, void *arg)
{
	struct tconn	*c = arg;
	struct timeval	 tv = { TCP_IDLE, 0 };
	ssize_t		 n;

	if (ev & EV_WRITE) {
		n = write(fd, c->wbuf + c->wpos, c->wlen - c->wpos);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			tconn_close(c);
			return;
		}
		c->wpos += n;
		if (c->wpos < c->wlen)
			return;
		free(c->wbuf);
		c->wbuf = NULL;
		c->wlen = c->wpos = 0;
		tconn_wait_read(c);
		tconn_query(c);		/* a pipelined one already read */
		return;
	}
	n = read(fd, c->rbuf + c->rlen, 2 + DNS_TCPMAX - c->rlen);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		tconn_close(c);
		return;
	}
	c->rlen += n;
	evtimer_add(&c->ev_idle, &tv);
	tconn_query(c);
}

static void
tcp_accept(int fd, short ev, void *arg)
{
	struct sandbox	*sb = arg;
	struct tconn	*c;
	struct timeval	 tv = { TCP_IDLE, 0 };
	int		 s;

	(void)ev;
	if ((s = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1) {
		if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("sandbox %u: accept", sb->sbx);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->rbuf = malloc(2 + DNS_TCPMAX)) == NULL) {
		free(c);
		close(s);
		return;
	}
	c->sb = sb;
	c->fd = s;
	c->id = next_connid++;
	TAILQ_INSERT_TAIL(&sb->conns, c, entry);
	if (++sb->nconns >= MAX_CONNS) {
		sb->tcp_paused = 1;
		event_del(&sb->ev_tcp);
	}
	evtimer_set(&c->ev_idle, tconn_idle, c);
	evtimer_add(&c->ev_idle, &tv);
	event_set(&c->ev, s, EV_READ | EV_PERSIST, tconn_io, c);
	event_add(&c->ev, NULL);
}

/* the parent */

static void
sandbox_close_listeners(struct sandbox *sb, int kind)
{
	if ((kind == 0 || kind == NETD_L_DNS_UDP) && sb->udpfd != -1) {
		event_del(&sb->ev_udp);
		close(sb->udpfd);
		sb->udpfd = -1;
	}
	if ((kind == 0 || kind == NETD_L_DNS_TCP) && sb->tcpfd != -1) {
		event_del(&sb->ev_tcp);
		close(sb->tcpfd);
		sb->tcpfd = -1;
	}
}

static void
sandbox_gone(struct sandbox *sb)
{
	struct tconn	*c;
	struct lookup	*l;
	struct waiter	*w, *wn;
	struct dhold	*h;

	/* its clients get no answer; RESOLVE requests do */
	TAILQ_FOREACH(l, &lookups, entry) {
		if (l->owner == sb->sbx)
			l->owner = 0;
		TAILQ_FOREACH_SAFE(w, &l->waiters, entry, wn)
			if (w->kind != W_RESOLVE && w->sbx == sb->sbx) {
				TAILQ_REMOVE(&l->waiters, w, entry);
				free(w);
			}
	}
	if (sb->nqueued > 0)
		TAILQ_REMOVE(&rrq, sb, rrentry);
	while ((w = TAILQ_FIRST(&sb->queued)) != NULL) {
		TAILQ_REMOVE(&sb->queued, w, entry);
		if (w->kind == W_RESOLVE)
			waiter_answer(w, NULL, 0);
		free(w);
	}
	sb->nqueued = 0;
	while ((h = TAILQ_FIRST(&sb->holds)) != NULL) {
		TAILQ_REMOVE(&sb->holds, h, entry);
		free(h->w);
		free(h);
	}
	deny_flush(sb, 1);
	evtimer_del(&sb->ev_flush);
	sandbox_close_listeners(sb, 0);
	while ((c = TAILQ_FIRST(&sb->conns)) != NULL)
		tconn_close(c);
	policy_free(sb->pol);
	TAILQ_REMOVE(&sandboxes, sb, entry);
	log_debug("sandbox %u (%s) gone", sb->sbx, sb->id);
	free(sb);
}

static void
msg_sandbox(struct imsg *im, void *arg)
{
	struct netd_sandbox	 ns;
	struct policy_error	 err;
	struct sandbox		*sb;
	struct policy		*pol = NULL;
	char			 ebuf[600], name[CTL_ID_SIZE + 16];

	(void)arg;
	if (im->datalen < sizeof(ns))
		fatalx("NETD_SANDBOX of the wrong size");
	memcpy(&ns, im->data, sizeof(ns));
	if (ns.policylen > POLICY_MODEL_MAXSIZE ||
	    im->datalen != sizeof(ns) + ns.policylen)
		fatalx("NETD_SANDBOX of the wrong size");
	if (memchr(ns.sandbox, '\0', sizeof(ns.sandbox)) == NULL)
		fatalx("NETD_SANDBOX: sandbox id not terminated");
	if (im->hdr.peerid == 0)
		fatalx("NETD_SANDBOX for sandbox 0");
	if (ns.policylen > 0) {
		snprintf(name, sizeof(name), "sandbox %s", ns.sandbox);
		pol = policy_decode(name, (const char *)im->data + sizeof(ns),
		    ns.policylen, &err);
		if (pol == NULL) {
			policy_strerror(&err, ebuf, sizeof(ebuf));
			log_warnx("sandbox %u: policy refused, every name "
			    "denied: %s", im->hdr.peerid, ebuf);
		}
	}
	if ((sb = sandbox_find(im->hdr.peerid)) != NULL) {
		policy_free(sb->pol);	/* a reload */
		sb->pol = pol;
		return;
	}
	if ((sb = calloc(1, sizeof(*sb))) == NULL)
		fatal("sandbox");
	sb->sbx = im->hdr.peerid;
	strlcpy(sb->id, ns.sandbox, sizeof(sb->id));
	sb->pol = pol;
	sb->udpfd = sb->tcpfd = -1;
	TAILQ_INIT(&sb->conns);
	TAILQ_INIT(&sb->queued);
	TAILQ_INIT(&sb->holds);
	RB_INIT(&sb->denies);
	evtimer_set(&sb->ev_flush, deny_timer, sb);
	TAILQ_INSERT_TAIL(&sandboxes, sb, entry);
	log_debug("sandbox %u (%s) added", sb->sbx, sb->id);
}

static void
msg_listener(struct imsg *im, void *arg)
{
	struct netd_listener	 nl;
	struct sandbox		*sb;
	int			 fd;

	(void)arg;
	if (imsg_expect(im, sizeof(nl)) == -1 || im->fd == -1)
		fatalx("NETD_LISTENER of the wrong size or without a socket");
	memcpy(&nl, im->data, sizeof(nl));
	fd = im->fd;
	im->fd = -1;
	if ((sb = sandbox_find(im->hdr.peerid)) == NULL ||
	    (nl.kind != NETD_L_DNS_UDP && nl.kind != NETD_L_DNS_TCP)) {
		log_warnx("listener of kind %u for sandbox %u: not mine",
		    nl.kind, im->hdr.peerid);
		close(fd);
		return;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1)
		fatal("listener O_NONBLOCK");
	sandbox_close_listeners(sb, nl.kind);
	if (nl.kind == NETD_L_DNS_UDP) {
		sb->udpfd = fd;
		event_set(&sb->ev_udp, fd, EV_READ | EV_PERSIST, udp_read, sb);
	} else {
		sb->tcpfd = fd;
		event_set(&sb->ev_tcp, fd, EV_READ | EV_PERSIST, tcp_accept,
		    sb);
	}
	sandbox_listen(sb);
}

static void
msg_resolve(struct imsg *im, void *arg)
{
	struct netd_resolve	 nr;
	struct resolve		*r;
	struct waiter		*w;
	uint16_t		 types[2] = { DNS_T_A, DNS_T_AAAA };
	struct dns_question	 q;
	int			 i;

	(void)arg;
	if (imsg_expect(im, sizeof(nr)) == -1)
		fatalx("NETD_RESOLVE of the wrong size");
	memcpy(&nr, im->data, sizeof(nr));
	if ((r = calloc(1, sizeof(*r))) == NULL)
		fatal("resolve");
	r->reqid = nr.reqid;
	r->peerid = im->hdr.peerid;
	r->rcode = -1;
	r->out.ttl = UINT32_MAX;
	memset(&q, 0, sizeof(q));
	if (memchr(nr.name, '\0', sizeof(nr.name)) == NULL ||
	    dns_name_towire(nr.name, q.wire, &q.wirelen) == -1 ||
	    dns_wire_totext(q.wire, q.wirelen, q.name) == -1 ||
	    !configured) {
		r->out.error = configured ? EAI_NONAME : EAI_AGAIN;
		resolve_done(r);
		return;
	}
	r->left = 2;
	for (i = 0; i < 2; i++) {
		if ((w = calloc(1, sizeof(*w))) == NULL)
			fatal("resolve");
		w->kind = W_RESOLVE;
		w->sbx = im->hdr.peerid;
		w->res = r;
		w->q = q;
		w->q.qtype = types[i];
		w->q.qclass = DNS_C_IN;
		resolve(w);
	}
}

static void
msg_config_again(struct imsg *im, void *arg)
{
	(void)im;
	(void)arg;
	fatalx("a second NETD_CONFIG");
}

static void
msg_hostaddr(struct imsg *im, void *arg)
{
	const char	*why;

	(void)arg;
	if ((why = addrset_imsg(&hostaddrs, im)) != NULL)
		fatalx("from the parent: %s", why);
}

static void
msg_sandbox_gone(struct imsg *im, void *arg)
{
	struct sandbox	*sb;

	(void)arg;
	if ((sb = sandbox_find(im->hdr.peerid)) != NULL)
		sandbox_gone(sb);
}

/* what the parent sends, checked by proc_dispatch() before the handler */
static const struct proc_msg parent_msgs[] = {
	PROC_MSG(IMSG_NETD_CONFIG, sizeof(struct netd_config),
	    msg_config_again),
	PROC_MSG(IMSG_NETD_HOSTADDR_ADD, sizeof(struct netd_hostaddr),
	    msg_hostaddr),
	PROC_MSG(IMSG_NETD_HOSTADDR_DEL, sizeof(struct netd_hostaddr),
	    msg_hostaddr),
	PROC_MSG_FD(IMSG_NETD_UPSTREAM_TCP, sizeof(struct netd_upstream),
	    lookup_tcp_socket),
	PROC_MSGV(IMSG_NETD_SANDBOX, sizeof(struct netd_sandbox),
	    sizeof(struct netd_sandbox) + POLICY_MODEL_MAXSIZE, msg_sandbox),
	PROC_MSG_FD(IMSG_NETD_LISTENER, sizeof(struct netd_listener),
	    msg_listener),
	PROC_MSG(IMSG_NETD_SANDBOX_GONE, 0, msg_sandbox_gone),
	PROC_MSG(IMSG_NETD_ANSWER, sizeof(struct netd_answer), msg_answer),
};

/*
 * What the proxy sends on the channel between the two (role.link):
 * only its own lookups.  Anything else, a bad size or a descriptor
 * ends it, and this child with it (the parent then stops lensnetd).
 */
static const struct proc_msg proxy_msgs[] = {
	PROC_MSG(IMSG_NETD_RESOLVE, sizeof(struct netd_resolve), msg_resolve),
};

static void
peer_wrote(void *arg)
{
	(void)arg;
	peer_drained();
}

static void
parent_lost(struct proc_chan *ch, const char *why)
{
	(void)ch;
	if (strcmp(why, "gone") == 0) {
		log_debug("parent went away");
		exit(0);
	}
	fatalx("parent link: %s", why);
}

static void
proxy_lost(struct proc_chan *ch, const char *why)
{
	(void)ch;
	/* it died (the parent stops lensnetd) or broke the protocol */
	if (strcmp(why, "gone") == 0) {
		log_debug("the proxy went away");
		exit(0);
	}
	fatalx("proxy link: %s", why);
}

/* NETD_CONFIG, the parent's first message; then the whole table */
static void
msg_config(struct imsg *im, void *arg)
{
	(void)arg;
	memcpy(&conf, im->data, sizeof(conf));
	if (conf.upstream.ss_family != AF_INET &&
	    conf.upstream.ss_family != AF_INET6)
		fatalx("NETD_CONFIG: upstream of family %d",
		    conf.upstream.ss_family);
	configured = 1;
	pchan.msgs = parent_msgs;
	pchan.nmsgs = sizeof(parent_msgs) / sizeof(parent_msgs[0]);
}

static const struct proc_msg config_msgs[] = {
	PROC_MSG(IMSG_NETD_CONFIG, sizeof(struct netd_config), msg_config),
};

/* the parent's channel, read until NETD_CONFIG came: before the filter */
static void
config_wait(int fd)
{
	proc_chan_init(&pchan, fd, "parent", config_msgs,
	    sizeof(config_msgs) / sizeof(config_msgs[0]), NULL);
	pchan.wrote = peer_wrote;
	pchan.lost = parent_lost;
	pchan.iev.ibuf.maxqueue = 64 * 1024 * 1024;
	while (!configured)
		if (event_loop(EVLOOP_ONCE) == -1)
			fatalx("event_loop");
}

/*
 * The upstream UDP sockets, connected now, moved to descriptors
 * udp_base and up; then RLIMIT_NOFILE goes down to udp_base for good
 * (no capability raises it again), so that no other descriptor ever
 * has a number from udp_base up.
 */
static void
udp_pool(void)
{
	struct rlimit	 rl;
	socklen_t	 slen;
	rlim_t		 top;
	int		 i, s;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal("getrlimit");
	top = rl.rlim_max < FD_TOP ? rl.rlim_max : FD_TOP;
	if (top < 1024 + UDP_POOL)
		fatalx("RLIMIT_NOFILE's hard limit %lu is too low: the dns "
		    "child needs %d", (unsigned long)rl.rlim_max,
		    1024 + UDP_POOL);
	udp_base = (int)(top - UDP_POOL);
	rl.rlim_cur = top;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal("setrlimit NOFILE %lu", (unsigned long)top);
	slen = conf.upstream.ss_family == AF_INET ?
	    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	for (i = 0; i < UDP_POOL; i++) {
		/* each bound to a port of its own, at random */
		if ((s = socket(conf.upstream.ss_family, SOCK_DGRAM |
		    SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
			fatal("upstream socket");
		if (connect(s, (struct sockaddr *)&conf.upstream, slen) == -1)
			fatal("connect to the upstream");
		if (dup3(s, udp_base + i, O_CLOEXEC) == -1)
			fatal("dup3 to %d", udp_base + i);
		close(s);
		udp_free[nudp_free++] = udp_base + i;
	}
	rl.rlim_cur = rl.rlim_max = (rlim_t)udp_base;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal("setrlimit NOFILE %d", udp_base);
	sandbox_regress_fd(udp_base);
	log_debug("%d upstream sockets at descriptors %d to %d", UDP_POOL,
	    udp_base, udp_base + UDP_POOL - 1);
}

static void
dns_filter(void *arg)
{
	/* naming a destination: only below the pool (the sandboxes') */
	const struct sandbox_syscall extra[] = {
		SB_ALLOW_LT(sendto, 0, udp_base),
		SB_ALLOW_LT(sendmsg, 0, udp_base),
	};

	(void)arg;
	sandbox_apply2("dns", dns_syscalls,
	    sizeof(dns_syscalls) / sizeof(dns_syscalls[0]), extra,
	    sizeof(extra) / sizeof(extra[0]));
}

/*
 * As root, before the chroot: jansson's seed (it would read
 * /dev/urandom).  The policy needs nothing: it comes as a binary model
 * (policy_decode), never as YAML.
 */
static void
dns_preinit(void *arg)
{
	(void)arg;
	json_object_seed(arc4random() | 1);
}

/* the upstream, and the sockets to it, before the filter */
static void
dns_init(void *arg)
{
	const struct dns_start	*ds = arg;

	config_wait(ds->fd);
	udp_pool();
	proc_chan_init(&xchan, ds->link, "proxy", proxy_msgs,
	    sizeof(proxy_msgs) / sizeof(proxy_msgs[0]), NULL);
	xchan.wrote = peer_wrote;
	xchan.lost = proxy_lost;
	xchan.iev.ibuf.maxqueue = 64 * 1024 * 1024;
}

/*
 * Runs as NETD_USER in LENS_EMPTYDIR, which the parent must have
 * checked (privsep_emptydir).  arg is the struct netd_role; everything
 * else comes over fd (NETD_CONFIG first).
 */
int
dns_main(int fd, void *arg)
{
	static const struct proc_role	 role = {
		.name = "dns",
		.preinit = dns_preinit,
		.init = dns_init,
		.filter = dns_filter,
	};
	const struct netd_role		*nr = arg;
	struct dns_start		 ds = { fd, nr->link[0] };

	return proc_start(&role, &nr->user, nr->parent, &ds);
}
