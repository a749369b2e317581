/*
 * Unit test of lensnetd/rcache.c (TAP): the proxy's cache of what
 * lensnetd resolved.  Hits and misses, case-insensitive names, expiry
 * at the TTL, the RCACHE_MAXTTL clamp, TTL 0 and empty answers never
 * kept (and forgetting what was there), least-recently-used eviction
 * at the bound, invalidation by rcache_check (a DNS answer with an
 * address the entry lacks), rcache_del, rcache_clear, a name too long.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rcache.h"
#include "tap.h"

static struct sockaddr_storage
a4(const char *s)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof(ss));
	sin->sin_family = AF_INET;
	if (inet_pton(AF_INET, s, &sin->sin_addr) != 1)
		abort();
	return ss;
}

static struct sockaddr_storage
a6(const char *s)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	sin6->sin6_family = AF_INET6;
	if (inet_pton(AF_INET6, s, &sin6->sin6_addr) != 1)
		abort();
	return ss;
}

static int
has4(const struct rcache_entry *e, int i, const char *s)
{
	struct sockaddr_storage	 w = a4(s);

	return e != NULL && i < e->naddrs && e->addrs[i].ss_family == AF_INET &&
	    ((const struct sockaddr_in *)&e->addrs[i])->sin_addr.s_addr ==
	    ((struct sockaddr_in *)&w)->sin_addr.s_addr;
}

int
main(void)
{
	struct rcache		 rc;
	struct sockaddr_storage	 addrs[NETD_MAXADDRS + 2];
	const struct rcache_entry *e;
	char			 name[64], longname[NETD_NAME_SIZE + 10];
	int			 i, all;

	tap_plan(27);
	rcache_init(&rc, 4);

	ok(rcache_get(&rc, "ok.test", 100) == NULL, "empty cache: a miss");
	addrs[0] = a4("198.18.0.10");
	addrs[1] = a6("2001:db8::10");
	rcache_put(&rc, "ok.test", addrs, 2, 30, 100);
	e = rcache_get(&rc, "ok.test", 100);
	ok(e != NULL && e->naddrs == 2 && has4(e, 0, "198.18.0.10") &&
	    e->addrs[1].ss_family == AF_INET6, "a hit with both addresses");
	ok(rcache_get(&rc, "OK.Test", 110) != NULL, "names ignore case");
	ok(rcache_get(&rc, "ok.test", 129) != NULL, "alive one second "
	    "before the TTL");
	ok(rcache_get(&rc, "ok.test", 130) == NULL, "gone at the TTL");
	ok(rc.n == 0, "the expired entry was dropped");
	ok(rc.hits == 3 && rc.misses == 2, "hits and misses counted");

	rcache_put(&rc, "long.test", addrs, 1, 86400, 0);
	ok(rcache_get(&rc, "long.test", RCACHE_MAXTTL - 1) != NULL,
	    "a day's TTL holds below RCACHE_MAXTTL");
	ok(rcache_get(&rc, "long.test", RCACHE_MAXTTL) == NULL,
	    "and is clamped to RCACHE_MAXTTL");

	rcache_put(&rc, "zero.test", addrs, 1, 0, 0);
	ok(rcache_get(&rc, "zero.test", 0) == NULL, "TTL 0: not kept");
	rcache_put(&rc, "none.test", addrs, 0, 60, 0);
	ok(rcache_get(&rc, "none.test", 0) == NULL, "no address: not kept");
	rcache_put(&rc, "ok.test", addrs, 1, 60, 0);
	rcache_put(&rc, "ok.test", addrs, 1, 0, 1);
	ok(rcache_get(&rc, "ok.test", 1) == NULL, "a TTL 0 answer forgets "
	    "the name");
	rcache_put(&rc, "ok.test", addrs, 1, 60, 0);
	rcache_put(&rc, "ok.test", addrs, 0, 60, 1);
	ok(rcache_get(&rc, "ok.test", 1) == NULL, "an empty answer "
	    "forgets the name");

	addrs[0] = a4("198.18.0.1");
	rcache_put(&rc, "ok.test", addrs, 1, 60, 0);
	addrs[0] = a4("198.18.0.2");
	rcache_put(&rc, "ok.test", addrs, 1, 60, 0);
	e = rcache_get(&rc, "ok.test", 1);
	ok(has4(e, 0, "198.18.0.2") && e->naddrs == 1 && rc.n == 1,
	    "a new answer replaces the old one");

	/* LRU: 4 entries at most */
	rcache_clear(&rc);
	for (i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "n%d.test", i);
		addrs[0] = a4("198.18.0.1");
		rcache_put(&rc, name, addrs, 1, 60, 0);
	}
	ok(rc.n == 4, "4 entries");
	(void)rcache_get(&rc, "n0.test", 1);	/* n1 is now the oldest */
	rcache_put(&rc, "n4.test", addrs, 1, 60, 0);
	ok(rc.n == 4, "still 4 after a fifth");
	ok(rcache_get(&rc, "n1.test", 1) == NULL, "the least recently used "
	    "went");
	ok(rcache_get(&rc, "n0.test", 1) != NULL &&
	    rcache_get(&rc, "n4.test", 1) != NULL, "the recently used and "
	    "the new stay");

	/* invalidation by a DNS answer */
	rcache_clear(&rc);
	addrs[0] = a4("198.18.0.1");
	addrs[1] = a4("198.18.0.2");
	rcache_put(&rc, "ok.test", addrs, 2, 60, 0);
	addrs[2] = a4("198.18.0.2");
	rcache_check(&rc, "ok.test", &addrs[2]);
	ok(rcache_get(&rc, "ok.test", 1) != NULL, "a DNSMAP with a known "
	    "address keeps the entry");
	addrs[2] = a6("::ffff:198.18.0.2");
	rcache_check(&rc, "OK.TEST", &addrs[2]);
	ok(rcache_get(&rc, "ok.test", 1) == NULL, "one with an address it "
	    "lacks drops it");
	rcache_check(&rc, "absent.test", &addrs[0]);
	ok(rc.n == 0, "a DNSMAP for an unknown name adds nothing");

	rcache_put(&rc, "ok.test", addrs, 1, 60, 0);
	rcache_del(&rc, "Ok.Test");
	ok(rcache_get(&rc, "ok.test", 1) == NULL && rc.n == 0,
	    "rcache_del forgets");

	for (i = 0; i < NETD_MAXADDRS + 2; i++) {
		snprintf(name, sizeof(name), "198.18.1.%d", i + 1);
		addrs[i] = a4(name);
	}
	rcache_put(&rc, "many.test", addrs, NETD_MAXADDRS + 2, 60, 0);
	e = rcache_get(&rc, "many.test", 1);
	ok(e != NULL && e->naddrs == NETD_MAXADDRS, "at most NETD_MAXADDRS "
	    "addresses");
	for (all = 1, i = 0; e != NULL && i < e->naddrs; i++) {
		snprintf(name, sizeof(name), "198.18.1.%d", i + 1);
		all &= has4(e, i, name);
	}
	ok(all, "in their order");

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	rcache_put(&rc, longname, addrs, 1, 60, 0);
	ok(rc.n == 1 && rcache_get(&rc, longname, 1) == NULL,
	    "a name too long is neither kept nor found");

	rcache_clear(&rc);
	ok(rc.n == 0 && rcache_get(&rc, "many.test", 1) == NULL,
	    "rcache_clear empties it");
	rcache_init(&rc, 0);
	rcache_put(&rc, "ok.test", addrs, 1, 60, 0);
	ok(rc.n == 0, "a cache of size 0 keeps nothing");
	return tap_done();
}
