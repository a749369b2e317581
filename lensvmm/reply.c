/*
 * lensvmm parent: replies to lensctl clients.  A reply is the client's
 * connection, passed by control with its request; the parent answers on
 * it, or hands it to a jail process for an attach stream.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsgev.h"
#include "log.h"
#include "lensvmm.h"
#include "parent.h"

static TAILQ_HEAD(, reply)	 replies = TAILQ_HEAD_INITIALIZER(replies);

static void
reply_dispatch(int fd, short event, void *arg)
{
	struct reply	*r = arg;
	char		 buf[1];

	(void)fd;
	if (event & EV_READ) {
		/* nothing is read after the request; EOF: the client left */
		if (read(r->iev.ibuf.fd, buf, sizeof(buf)) <= 0 &&
		    errno != EAGAIN) {
			reply_free(r);
			return;
		}
	}
	if (event & EV_WRITE) {
		if (imsg_write(&r->iev.ibuf) == -1) {
			reply_free(r);
			return;
		}
		if (r->closing && TAILQ_EMPTY(&r->iev.ibuf.wq)) {
			reply_free(r);
			return;
		}
	}
	imsgev_add(&r->iev);
}

struct reply *
reply_new(int fd)
{
	struct reply	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		log_warn("calloc");
		close(fd);
		return NULL;
	}
	r->logfd = -1;
	imsgev_init(&r->iev, fd, reply_dispatch, r);
	TAILQ_INSERT_TAIL(&replies, r, entry);
	return r;
}

void
reply_free(struct reply *r)
{
	struct sbx	*sb;
	struct waiter	*w, *wn;

	TAILQ_REMOVE(&replies, r, entry);
	TAILQ_FOREACH(sb, &sandboxes, entry) {
		if (sb->starter == r)
			sb->starter = NULL;
		TAILQ_FOREACH_SAFE(w, &sb->waiters, entry, wn)
			if (w->r == r) {
				TAILQ_REMOVE(&sb->waiters, w, entry);
				free(w);
			}
	}
	free(r->logbuf);
	if (r->logfd != -1) {
		close(r->logfd);
		if (event_initialized(&r->ev_poll))
			evtimer_del(&r->ev_poll);
	}
	if (r->iev.ibuf.fd != -1)
		imsgev_clear(&r->iev);
	free(r);
}

void
reply_send(struct reply *r, uint32_t type, const void *data, size_t len)
{
	if (r->closing)
		return;
	if (imsgev_compose(&r->iev, type, 0, 0, -1, data, len) == -1) {
		/*
		 * The client does not read.  Not freed here: callers go on
		 * using r; the shut socket makes the event loop free it.
		 */
		log_warnx("client reply queue full");
		r->closing = 1;
		shutdown(r->iev.ibuf.fd, SHUT_RDWR);
		imsgev_add(&r->iev);
	}
}

void
reply_last(struct reply *r, uint32_t type, const void *data, size_t len)
{
	reply_send(r, type, data, len);
	r->closing = 1;
}

void
reply_error(struct reply *r, int code, const char *fmt, ...)
{
	struct ctl_error	 ce;
	va_list			 ap;

	memset(&ce, 0, sizeof(ce));
	ce.code = code;
	va_start(ap, fmt);
	vsnprintf(ce.msg, sizeof(ce.msg), fmt, ap);
	va_end(ap);
	log_debug("error: %s", ce.msg);
	reply_last(r, IMSG_CTL_ERROR, &ce, sizeof(ce));
}

void
reply_ok(struct reply *r)
{
	reply_last(r, IMSG_CTL_OK, NULL, 0);
}
