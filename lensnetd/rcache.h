/*
 * The proxy's cache of NETD_RESOLVED answers: name -> the addresses
 * lensnetd's dns resolved it to, for the TTL the dns gave (clamped to
 * RCACHE_MAXTTL), at most max entries (least recently used evicted).
 * Only what lensnetd itself resolved goes in: the proxy still judges
 * the name by policy and every address by class on every connection;
 * the cache saves only the round trip through the parent.  Names are
 * compared without regard to case.  Times are seconds of a monotonic
 * clock, passed in by the caller.
 */
#ifndef LENSNETD_RCACHE_H
#define LENSNETD_RCACHE_H

#include <sys/socket.h>
#include <sys/tree.h>
#include <sys/queue.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lensnetd_imsg.h"	/* NETD_NAME_SIZE, NETD_MAXADDRS */

#define RCACHE_MAXTTL	300	/* seconds, whatever the dns said */

struct rcache_entry {
	RB_ENTRY(rcache_entry)	 node;
	TAILQ_ENTRY(rcache_entry) lru;		/* most recent last */
	char			 name[NETD_NAME_SIZE];
	struct sockaddr_storage	 addrs[NETD_MAXADDRS];	/* port 0 */
	int			 naddrs;
	time_t			 expires;
};
RB_HEAD(rcache_tree, rcache_entry);

struct rcache {
	struct rcache_tree		 tree;
	TAILQ_HEAD(, rcache_entry)	 lru;
	size_t				 n, max;
	uint64_t			 hits, misses;
};

void	rcache_init(struct rcache *, size_t max);
/* the live entry for name, or NULL (an expired one is dropped) */
const struct rcache_entry *rcache_get(struct rcache *, const char *name,
	    time_t now);
/* remember an answer; ttl 0 or no address only forgets the name */
void	rcache_put(struct rcache *, const char *name,
	    const struct sockaddr_storage *addrs, int naddrs, uint32_t ttl,
	    time_t now);
void	rcache_del(struct rcache *, const char *name);
/* forget name unless addr is among its addresses (DNS said otherwise) */
void	rcache_check(struct rcache *, const char *name,
	    const struct sockaddr_storage *addr);
void	rcache_clear(struct rcache *);

#endif
