/*
 * The proxy's resolve cache (rcache.h).
 */
#include <sys/socket.h>
#include <sys/tree.h>
#include <sys/queue.h>
#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lensnetd.h"
#include "rcache.h"

/* libbsd's tree.h wants __unused, its cdefs.h does not define it */
#ifndef __unused
#define __unused __attribute__((unused))
#endif

static int
rcache_cmp(struct rcache_entry *a, struct rcache_entry *b)
{
	return strcasecmp(a->name, b->name);
}

RB_GENERATE_STATIC(rcache_tree, rcache_entry, node, rcache_cmp)

void
rcache_init(struct rcache *rc, size_t max)
{
	memset(rc, 0, sizeof(*rc));
	RB_INIT(&rc->tree);
	TAILQ_INIT(&rc->lru);
	rc->max = max;
}

static void
rcache_remove(struct rcache *rc, struct rcache_entry *e)
{
	RB_REMOVE(rcache_tree, &rc->tree, e);
	TAILQ_REMOVE(&rc->lru, e, lru);
	rc->n--;
	free(e);
}

static struct rcache_entry *
rcache_find(struct rcache *rc, const char *name)
{
	static struct rcache_entry	 key;

	if (strlcpy(key.name, name, sizeof(key.name)) >= sizeof(key.name))
		return NULL;
	return RB_FIND(rcache_tree, &rc->tree, &key);
}

const struct rcache_entry *
rcache_get(struct rcache *rc, const char *name, time_t now)
{
	struct rcache_entry	*e;

	if ((e = rcache_find(rc, name)) == NULL) {
		rc->misses++;
		return NULL;
	}
	if (e->expires <= now) {
		rcache_remove(rc, e);
		rc->misses++;
		return NULL;
	}
	TAILQ_REMOVE(&rc->lru, e, lru);
	TAILQ_INSERT_TAIL(&rc->lru, e, lru);
	rc->hits++;
	return e;
}

void
rcache_put(struct rcache *rc, const char *name,
    const struct sockaddr_storage *addrs, int naddrs, uint32_t ttl,
    time_t now)
{
	struct rcache_entry	*e;

	if (strlen(name) >= NETD_NAME_SIZE || rc->max == 0)
		return;
	if ((e = rcache_find(rc, name)) != NULL)
		rcache_remove(rc, e);
	if (ttl == 0 || naddrs <= 0)
		return;
	if (naddrs > NETD_MAXADDRS)
		naddrs = NETD_MAXADDRS;
	if (ttl > RCACHE_MAXTTL)
		ttl = RCACHE_MAXTTL;
	while (rc->n >= rc->max)
		rcache_remove(rc, TAILQ_FIRST(&rc->lru));
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return;		/* a cache: nothing lost but time */
	strlcpy(e->name, name, sizeof(e->name));
	memcpy(e->addrs, addrs, naddrs * sizeof(addrs[0]));
	e->naddrs = naddrs;
	e->expires = now + ttl;
	RB_INSERT(rcache_tree, &rc->tree, e);
	TAILQ_INSERT_TAIL(&rc->lru, e, lru);
	rc->n++;
}

void
rcache_del(struct rcache *rc, const char *name)
{
	struct rcache_entry	*e;

	if ((e = rcache_find(rc, name)) != NULL)
		rcache_remove(rc, e);
}

void
rcache_check(struct rcache *rc, const char *name,
    const struct sockaddr_storage *addr)
{
	struct rcache_entry	*e;
	int			 i;

	if ((e = rcache_find(rc, name)) == NULL)
		return;
	for (i = 0; i < e->naddrs; i++)
		if (addr_same((const struct sockaddr *)&e->addrs[i],
		    (const struct sockaddr *)addr))
			return;
	rcache_remove(rc, e);
}

void
rcache_clear(struct rcache *rc)
{
	struct rcache_entry	*e;

	while ((e = TAILQ_FIRST(&rc->lru)) != NULL)
		rcache_remove(rc, e);
}
