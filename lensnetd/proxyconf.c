/*
 * The proxy child's tunables (proxy.h), set by lensnetd's parent or a
 * test harness before the child is forked; apart from proxy.c so that
 * setting them does not link the proxy itself (regress/netd/routes.c
 * brings its own proxy role).
 */
#include <sys/types.h>

#include "proxy.h"

struct proxy_conf	 pconf;

void
proxy_tune(const struct proxy_conf *pc)
{
	pconf = *pc;
}
