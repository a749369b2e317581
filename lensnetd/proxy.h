/*
 * The proxy child's start-up argument (proxy_main(fd, arg)): who to
 * become and the timeouts.  arg may be NULL: the child then looks
 * NETD_USER up itself, takes getppid() as its parent and uses the
 * default timeouts.
 */
#ifndef LENSNETD_PROXY_H
#define LENSNETD_PROXY_H

#include <sys/types.h>

#include "privsep.h"

#define PROXY_PEEK_FIRST_MS	2000	/* no byte yet: raw TCP */
#define PROXY_PEEK_MS		10000	/* a whole hello or head */
#define PROXY_RESOLVE_MS	10000
#define PROXY_CONNECT_MS	10000
#define PROXY_IDLE_MS		(15 * 60 * 1000)
#define PROXY_BUFSZ		(64 * 1024)	/* each way */

struct proxy_conf {
	struct privsep_user	 user;
	pid_t			 parent;
	unsigned int		 peek_first_ms, peek_ms, resolve_ms;
	unsigned int		 connect_ms, idle_ms;	/* 0: default */
	unsigned int		 audit_burst;	/* events/s per sandbox */
};

#endif
