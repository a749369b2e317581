/*
 * Inside the proxy child: what proxy.c (listeners, decisions,
 * connecting, the byte relay) shares with httpx.c (the per-request
 * HTTP/1.1 exchange) and, for TLS interception, tlsx.c.  Nothing else
 * includes it.
 *
 * A connection is a struct conn.  Once it is decided and connected, it
 * is either relayed as bytes (S_RELAY: struct dir, splice) or, for
 * HTTP, handed to http_start() (S_HTTP): from then on httpx.c owns its
 * events (conn_setev on cfd and ufd, the timer tev) and its bytes, all
 * through the two streams cs and us.  conn_close() ends either.
 */
#ifndef LENSNETD_PROXY_INT_H
#define LENSNETD_PROXY_INT_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event.h>
#include <jansson.h>
#include <stdint.h>
#include <time.h>

#include "lensnetd.h"
#include "peek.h"
#include "proxy.h"
#include "rcache.h"
#include "stream.h"
#include "tlsx.h"

enum cstate {
	S_PEEK,			/* reading the first bytes */
	S_RESOLVE,		/* waiting for NETD_RESOLVED */
	S_INWARD,		/* waiting for NETD_INWARD_SOCKET */
	S_CONNECT,		/* non-blocking connect upstream */
	S_TLS,			/* interception: leaf, both handshakes */
	S_RELAY,		/* bytes both ways (struct dir) */
	S_HTTP,			/* the HTTP exchange (httpx.c) */
	S_ASK,			/* held: NETD_ASK sent, NETD_ANSWER awaited */
	S_DONE,
};

/*
 * One way of a relay.  Its bytes are held either in buf (the userspace
 * path: peeking, rewriting, a tunnel's SNI check, TLS interception
 * later) or in a pipe (the splice(2) path, once the connection is
 * decided and buf is empty), never both: len counts what is held in
 * the one in use.  Both are taken on the first data and given back
 * when empty: an idle connection holds neither (pipes go back to a
 * small pool, so a busy one does not make a pipe per chunk).
 */
struct dir {
	uint8_t		*buf;		/* PROXY_BUFSZ, while holding data */
	size_t		 off, len;
	int		 pipe[2];	/* splice path, or -1 */
	size_t		 cap;		/* of the pipe */
	int		 full;		/* the pipe took nothing: its slots
					 * are used up before cap bytes */
	int		 eof;		/* source said EOF */
	int		 shut;		/* shutdown(SHUT_WR) sent to dest */
	uint64_t	 bytes;
};

struct sbx;
struct httpx;

struct conn {
	TAILQ_ENTRY(conn)	 entry;		/* in conns */
	TAILQ_ENTRY(conn)	 sentry;	/* in sbx->conns */
	struct sbx		*sbx;
	uint32_t		 kind;		/* NETD_L_* */
	enum cstate		 state;
	uint64_t		 reqid;		/* RESOLVE or INWARD */
	int			 cfd, ufd;	/* client, upstream */
	/*
	 * the same two sockets as streams, for S_HTTP (and TLS: ssl set
	 * by the interception before http_start); conn_close closes
	 * through them
	 */
	struct stream		 cs, us;
	struct event		 cev, uev, tev;
	short			 cflags, uflags;
	struct sockaddr_storage	 peer;		/* who connected */
	struct sockaddr_storage	 orig;		/* where it meant to go */
	uint16_t		 port;		/* destination port */
	char			 name[NETD_NAME_SIZE];
	const char		*proto;		/* "tls", "http", "tcp" */
	const char		*rule;
	int			 tls_terminate;
	struct sockaddr_storage	 addrs[NETD_MAXADDRS];
	int			 naddrs, curaddr;
	struct sockaddr_storage	 dst;		/* connected to */
	int			 have_dst;
	struct dir		 up, down;	/* up: client to upstream */
	size_t			 consumed;	/* CONNECT head, not forwarded */
	int			 forward;	/* plain HTTP through the proxy port */
	int			 sni_check;	/* tunnel: hold bytes until the SNI is seen */
	int			 http;		/* the exchange once connected */
	struct httpx		*hx;		/* S_HTTP */
	int			 splice;	/* relay may use pipes */
	int			 cached;	/* addresses from the rcache */
	struct timespec		 start, peekstart;
	int			 timedout;
	const char		*verdict;	/* set by conn_fail */
	/* interception (tls_start): the SSLs are cs.ssl and us.ssl */
	const char		*cafile;	/* the rule's, or NULL */
	struct tlsx_leaf	*leaf;
	int			 intercept;	/* tls_start took it */
	int			 leaf_wait;	/* a LEAF_REQ for c->name */
	int			 cdone, udone;	/* handshakes finished */
	short			 cwant, uwant;
	char			*ufail;		/* the upstream refused: why */
	int			 approved;	/* an ask answered allow once */
	int			 ask_tcp;	/* decide_name's tcp_too */
	uint64_t		 polgen;	/* sbx->polgen when accepted */
};

/* a policy replaced by a reload, kept while connections of its time
 * live: their rule and caFile strings point into it */
struct oldpol {
	TAILQ_ENTRY(oldpol)	 entry;
	struct policy		*pol;
	uint64_t		 gen;
};

/* a caFile of the sandbox's policy (NETD_CAFILE): the system's trust
 * and its certificates; st NULL when they did not load (why in err) */
struct sbxca {
	TAILQ_ENTRY(sbxca)	 entry;
	char			 name[NETD_CAFILE_NAME];
	X509_STORE		*st;
	char			 err[200];
};

/* a leaf asked of the parent for one name of a sandbox */
struct leafwait {
	TAILQ_ENTRY(leafwait)	 entry;
	uint64_t		 reqid;
	char			 name[NETD_NAME_SIZE];
};

struct auditagg {
	time_t		 window;		/* second of the window */
	unsigned int	 sent;			/* events sent in it */
	uint64_t	 allow, deny, bytes_out, bytes_in;	/* not sent */
	uint64_t	 req_allow, req_deny;	/* net.http not sent */
};

/* the limits a sandbox's new connection may be refused by */
enum { LIM_CONNS, LIM_PUBLISHED, LIM_RATE, LIM_N };

struct sbx {
	TAILQ_ENTRY(sbx)	 entry;
	uint32_t		 id;
	char			 sandbox[CTL_ID_SIZE + 1];
	struct in_addr		 addr, gateway;
	struct policy		*pol;
	uint64_t		 polgen;	/* reloads so far */
	TAILQ_HEAD(, oldpol)	 oldpols;
	TAILQ_HEAD(, listener)	 listeners;
	TAILQ_HEAD(, conn)	 conns;
	TAILQ_HEAD(, dnsmap)	 dnsmap;
	int			 ndnsmap;
	struct rcache		 rc;		/* NETD_RESOLVED answers */
	struct auditagg		 agg;
	/* per-sandbox limits (netd_limits): [0] egress, [1] published */
	int			 nconns[2];
	struct tbucket		 rate;		/* new egress connections */
	uint64_t		 refused[LIM_N];	/* this second */
	TAILQ_HEAD(, leafwait)	 leafwaits;	/* one per name at most */
	TAILQ_HEAD(, sbxca)	 cafiles;
	int			 nleafwaits;
	struct phset		 phs;		/* NETD_PLACEHOLDERS */
};

extern struct proxy_conf	 pconf;

/* proxy.c */
void		 conn_close(struct conn *, const char *reason);
void		 conn_timer(struct conn *, unsigned int ms);
void		 conn_setev(struct conn *, int fd, struct event *, short *cur,
		    short want);
uint64_t	 ms_since(const struct timespec *);
/*
 * One audit event of the sandbox, within its burst per second; beyond
 * it, counted into the next net.connect.summary instead (request: a
 * net.http event; deny: its verdict was not allow).  Takes o.
 */
void		 proxy_audit(struct sbx *, const char *type, json_t *o,
		    int request, int deny, uint64_t out, uint64_t in);

/*
 * Ask the parent for a credential exchange of c's request (NETD_EXCH_REQ:
 * the policy's credential cred, c's name, port and upstream address,
 * the token endpoint's address or NULL);
 * the answer comes to httpx_exch by id.  -1 when it cannot be queued.
 */
int		 proxy_exch_req(struct conn *, size_t cred, uint64_t id,
		    const struct sockaddr_storage *token);
/* the same for another host, port and address (an llm: backend) */
int		 proxy_exch_req_to(struct conn *, const char *host,
		    uint16_t port, const struct sockaddr_storage *dst,
		    size_t cred, uint64_t id,
		    const struct sockaddr_storage *token);
/* a name resolved for c's sandbox by the dns child: NETD_RESOLVED
 * with reqid comes to httpx_exch_resolved; -1 when not queued */
int		 proxy_resolve(struct conn *, const char *name, uint64_t reqid);

/*
 * NETD_ASK to the parent for c (its name and port): kind, the rule that
 * asked, what ("GET /path" or ""); c->reqid is the answer's.  -1 when
 * it cannot be queued.
 */
int		 proxy_ask(struct conn *, uint32_t kind, const char *rule,
		    const char *what);

/* httpx.c */
/*
 * The per-request exchange on a decided, connected HTTP connection:
 * c->cs and c->us ready (plain: their fd is taken from cfd/ufd; TLS:
 * ssl set, handshakes done), c->up's held bytes the client's first,
 * c->down's held bytes due to the client first (a CONNECT's 200).
 * May close c.  For TLS, the SSLs need SSL_MODE_ENABLE_PARTIAL_WRITE
 * and SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER: a write retried after
 * EAGAIN may come from a moved (compacted) buffer with more bytes.
 */
void		 http_start(struct conn *);
void		 httpx_event(struct conn *, int fd, short ev);
void		 httpx_timeout(struct conn *);
void		 httpx_free(struct conn *);
/* the parent's answer to the request c holds for an approval */
void		 httpx_answer(struct conn *, int allow, const char *why);
/* the parent's answer to proxy_exch_req: the stream fd, or -1 and why */
void		 httpx_exch(struct sbx *, uint64_t id, int fd, const char *why);
/* 1 when reqid was an exchange's (token endpoint) lookup, else 0 */
int		 httpx_exch_resolved(struct sbx *, uint64_t reqid,
		    const struct netd_resolved *);
/* what the per-connection event says of the exchange (requests, ...) */
void		 httpx_audit_conn(struct conn *, json_t *);
/*
 * A request names one host: its absolute-form target (http:// only)
 * and its Host header must agree, host and port (80 when not given);
 * in origin form without Host it names deflt (NULL: refused).  The
 * name in host, its port in *port (0: none given), 4 or 6 when it is
 * an address in *isip; *cut as peek_http_target.  -1 with *why.
 */
int		 http_host(const uint8_t *, const struct peek_http *,
		    const char *deflt, char *host, uint16_t *port, int *isip,
		    size_t *cut, const char **why);

#endif
