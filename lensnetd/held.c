/*
 * The proxy's budget of held request bytes (held.h).  One counter for
 * the proxy child (one process, one thread); each holder keeps what it
 * took and gives all of it back on its every end (httpx.c: the
 * request's end, the connection's).  Each change is a debug log line.
 */
#include <sys/types.h>

#include <stdint.h>

#include "held.h"
#include "log.h"
#include "proxy.h"

extern struct proxy_conf pconf;

static uint64_t	 held;

int
held_set(uint64_t *mine, uint64_t want)
{
	uint64_t	 more;

	if (want == *mine)
		return 0;
	if (want < *mine) {
		held -= *mine - want;
		*mine = want;
		if (want == 0)
			log_debug("proxy: held bytes %llu",
			    (unsigned long long)held);
		return 0;
	}
	more = want - *mine;
	if (more > pconf.held_max || held > pconf.held_max - more) {
		log_debug("proxy: held bytes %llu, %llu more refused "
		    "(budget %llu)", (unsigned long long)held,
		    (unsigned long long)more,
		    (unsigned long long)pconf.held_max);
		return -1;
	}
	held += more;
	*mine = want;
	return 0;
}

void
held_drop(uint64_t *mine)
{
	(void)held_set(mine, 0);
}

uint64_t
held_total(void)
{
	return held;
}
