/*
 * The proxy child's timeouts, audit burst and HTTP bounds.  proxy_main(fd, arg)
 * takes a struct netd_role like every lensnetd role; a test harness
 * may call proxy_tune() before it forks the child to shorten the
 * timeouts.  0 in a field keeps the default.
 */
#ifndef LENSNETD_PROXY_H
#define LENSNETD_PROXY_H

#include <sys/types.h>


#define PROXY_PEEK_FIRST_MS	2000	/* no byte yet: raw TCP */
#define PROXY_PEEK_MS		10000	/* a whole hello or head */
#define PROXY_RESOLVE_MS	10000
#define PROXY_CONNECT_MS	10000
#define PROXY_IDLE_MS		(15 * 60 * 1000)
#define PROXY_TLS_MS		10000	/* leaf and both handshakes */
#define PROXY_BUFSZ		(256 * 1024)	/* each way */
#define PROXY_HTTP_IDLE_MS	(120 * 1000)	/* between HTTP requests */
#define PROXY_HTTP_MAXREQ	1000		/* per HTTP connection */
#define PROXY_QUERY_MAX		128		/* query bytes in net.http */
#define PROXY_BODY_MAX		(1024 * 1024)	/* a body rules read */
#define PROXY_BODY_LIMIT	(64 * 1024 * 1024)	/* -B at most */
#define PROXY_HELD_MAX		(64ULL * 1024 * 1024)	/* held, all
							   connections */
#define PROXY_HELD_LIMIT	(16ULL * 1024 * 1024 * 1024)	/* -b */

struct proxy_conf {
	unsigned int		 peek_first_ms, peek_ms, resolve_ms;
	unsigned int		 connect_ms, idle_ms;	/* 0: default */
	unsigned int		 audit_burst;	/* events/s per sandbox */
	int			 buffered;	/* 1: never splice(2) */
	unsigned int		 http_idle_ms;	/* keep-alive between requests */
	unsigned int		 http_max_requests;	/* per connection */
	unsigned int		 audit_query_max;	/* of a query audited */
	unsigned int		 body_max;	/* bytes of a request body
						   that rules read */
	unsigned int		 tls_ms;	/* 0: default */
	unsigned long long	 held_max;	/* request bytes held for
						   rules, all connections */
	const char		*trust;		/* upstream trust store
						 * (PEM file); NULL: the
						 * system's bundle */
};

void	proxy_tune(const struct proxy_conf *);

#endif
