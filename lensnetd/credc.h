/*
 * lensnetd's client of lenscredd (common/lenscredd_imsg.h): one
 * connection, reconnected with backoff (50 ms doubling to 2 s) while
 * lenscredd is away.  Requests are answered in order; each reply is
 * checked by type and size (proc_dispatch), and a CA's fields and PEM
 * framing (pemcert_check) before the caller sees it.  The parent uses
 * it at attach and detach; the proxy will for leaves.
 */
#ifndef LENS_CREDC_H
#define LENS_CREDC_H

#include <stddef.h>
#include <stdint.h>

struct credc;

/*
 * The answer to one request: type IMSG_CRED_CA (data: the PEM, len its
 * size, checked), IMSG_CRED_LEAF (data: the whole message, struct
 * cred_leaf then chain and key, their lengths and PEM framing checked),
 * IMSG_CRED_DESTROYED (no data), IMSG_CRED_EXCHANGE_OK (no data: its
 * exch_id was the request's), or 0 with err set:
 * lenscredd's ERROR, a reply that failed a check, or the connection
 * lost before the answer came.
 */
typedef void (*credc_cb)(void *arg, uint32_t type, const void *data,
    size_t len, const char *err);
/* READY (connected) or LOST */
typedef void (*credc_note)(void *arg, int ready);

struct credc	*credc_new(const char *sockpath, credc_note, void *arg);
int		 credc_ready(const struct credc *);
/*
 * Ask lenscredd (type IMSG_CRED_CA_CREATE, _GET or _DESTROY) about
 * sandbox; cb(cbarg, ...) gets the answer.  -1 with errno ENOTCONN
 * when not connected, unless keep is set: then the request waits for
 * the next connection (a DESTROY must reach lenscredd).
 */
int		 credc_request(struct credc *, uint32_t type,
		    const char *sandbox, int keep, credc_cb cb, void *cbarg);
/* a leaf for name from sandbox's CA; -1 with errno ENOTCONN when not
 * connected (never kept for later: the proxy's connection waits) */
int		 credc_leaf(struct credc *, const char *sandbox,
		    const char *name, credc_cb cb, void *cbarg);
/*
 * An exchange (lenscredd_imsg.h): ex (its calen ignored) with calen
 * bytes of caFile PEM, and fd, one end of the stream socketpair, which
 * is credc's from then on (closed once sent, or when the connection is
 * lost first) unless -1 is returned: -1 with errno ENOTCONN when not
 * connected (never kept for later).
 */
struct cred_exchange;
int		 credc_exchange(struct credc *, const struct cred_exchange *,
		    const void *ca, size_t calen, int fd, credc_cb cb,
		    void *cbarg);
/* cbarg is going away: its pending requests get no callback */
void		 credc_forget(struct credc *, void *cbarg);

#endif
