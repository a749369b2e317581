/*
 * The audit client every daemon uses to send events to lensauditd.
 *
 * Events are queued in order and kept until lensauditd acknowledges
 * them as durable; after a lost connection the client reconnects with
 * backoff and resends every unacknowledged event (lensauditd drops the
 * duplicates by source and id).  Nothing is dropped: when the queue is
 * full, auditc_event() fails and the caller must refuse the work that
 * wanted auditing (fail closed).  Uses the current libevent base.
 */
#ifndef LENS_AUDITC_H
#define LENS_AUDITC_H

#include <stddef.h>
#include <stdint.h>

struct auditc;

enum auditc_note {
	AUDITC_READY,		/* connected and welcomed */
	AUDITC_LOST,		/* connection lost, reconnecting */
	AUDITC_ACKED,		/* some events became durable */
};

typedef void (*auditc_cb)(struct auditc *, enum auditc_note, void *arg);

struct auditc	*auditc_new(const char *sockpath, const char *source,
		    auditc_cb cb, void *arg);
void		 auditc_free(struct auditc *);
/* 0 queued; -1 with EINVAL (bad name or details) or ENOBUFS (full) */
int		 auditc_event(struct auditc *, const char *sandbox,
		    const char *type, const char *details_json, size_t len);
size_t		 auditc_pending(const struct auditc *);	/* not yet acked */
uint64_t	 auditc_acked(const struct auditc *);	/* total acked */
int		 auditc_ready(const struct auditc *);
void		 auditc_set_maxqueue(struct auditc *, size_t bytes);

#endif
