/*
 * TLS interception in the proxy child: the OpenSSL side of it.
 *
 *  - the upstream context (client): common/tlsup.h, shared with
 *    lenscredd's exchange; SNI and host name verification for the
 *    name the decision was made on;
 *  - leaves (server): one context per (sandbox, name) from the chain
 *    and key lenscredd signed (NETD_LEAF), kept in a bounded cache
 *    until shortly before the leaf's notAfter.  A ClientHello whose
 *    SNI is missing or another name is refused with an alert; ALPN
 *    selects http/1.1 or nothing, never h2; TLS 1.2+; no tickets.
 *
 * The caller (proxy.c) drives the handshakes on its non-blocking
 * sockets; nothing here touches the event loop.
 */
#ifndef LENSNETD_TLSX_H
#define LENSNETD_TLSX_H

#include <sys/types.h>

#include <stdint.h>
#include <time.h>

#include <openssl/ssl.h>

#include "tlsup.h"	/* the upstream side */

struct tlsx_leaf;

/* a leaf for name from lenscredd's chain and key; NULL with err */
struct tlsx_leaf *tlsx_leaf_new(const char *name, const char *chain,
		    size_t chainlen, const char *key, size_t keylen,
		    time_t notafter, char *err, size_t errlen);
struct tlsx_leaf *tlsx_leaf_ref(struct tlsx_leaf *);
void		 tlsx_leaf_unref(struct tlsx_leaf *);

/* the cache: (sbx, name), taken with a reference, or NULL */
struct tlsx_leaf *tlsx_cache_get(uint32_t sbx, const char *name, time_t now);
/* kept (the cache takes its own reference), the oldest evicted */
void		 tlsx_cache_put(uint32_t sbx, struct tlsx_leaf *, time_t now);
void		 tlsx_cache_drop(uint32_t sbx);
/* in the cache now */
size_t		 tlsx_cache_count(void);

/*
 * The sandbox's side: a server SSL on fd with leaf, fed first the
 * bytes the proxy has already read (pre, the ClientHello it peeked);
 * name is what the SNI must be (kept by pointer: it must outlive the
 * SSL).
 */
SSL		*tlsx_accept(struct tlsx_leaf *, int fd, const char *name,
		    const void *pre, size_t prelen);
#endif
