/*
 * Audit client: queue, send, keep until acknowledged, resend after a
 * reconnect.  See auditc.h and lensauditd_imsg.h.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include <errno.h>
#include <event.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auditc.h"
#include "canonjson.h"
#include "imsgev.h"
#include "lensauditd_imsg.h"
#include "log.h"
#include "proc.h"
#include "unixsock.h"

#define RETRY_MIN_MS	50
#define RETRY_MAX_MS	2000
#define DEFAULT_MAXQUEUE (64 * 1024 * 1024)

struct qevent {
	TAILQ_ENTRY(qevent)	 entry;
	uint64_t		 id;		/* 0 until first sent */
	size_t			 len;		/* of data */
	uint8_t			 data[];	/* audit_append + details */
};

enum { AC_DOWN, AC_HELLO, AC_READY };

struct auditc {
	char			 path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char			 source[AUDIT_SOURCE_SIZE];
	auditc_cb		 cb;
	void			*arg;
	int			 state;
	struct proc_chan	 ch;		/* to lensauditd */
	struct event		 ev_retry;
	int			 retry_ms;
	TAILQ_HEAD(, qevent)	 queue;		/* unacknowledged, in order */
	struct qevent		*next;		/* first not sent on this link */
	size_t			 npending;
	size_t			 queued_bytes, maxqueue;
	uint64_t		 next_id;
	uint64_t		 acked;
};

static void	auditc_connect(int, short, void *);

static void
note(struct auditc *ac, enum auditc_note n)
{
	if (ac->cb != NULL)
		ac->cb(ac, n, ac->arg);
}

static void
schedule_retry(struct auditc *ac)
{
	struct timeval	 tv;

	tv.tv_sec = ac->retry_ms / 1000;
	tv.tv_usec = (ac->retry_ms % 1000) * 1000;
	evtimer_add(&ac->ev_retry, &tv);
	ac->retry_ms = ac->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS :
	    ac->retry_ms * 2;
}

static void
auditc_down(struct auditc *ac, const char *why)
{
	int	 was = ac->state;

	if (ac->state == AC_DOWN)
		return;
	if (why != NULL)
		log_warnx("audit: %s: %s; reconnecting", ac->path, why);
	imsgev_clear(&ac->ch.iev);
	ac->state = AC_DOWN;
	ac->next = NULL;
	schedule_retry(ac);
	if (was == AC_READY)
		note(ac, AUDITC_LOST);
}

/* send what has not been sent on this connection, as far as it fits */
static void
auditc_send(struct auditc *ac)
{
	struct audit_append	*a;

	if (ac->state != AC_READY)
		return;
	while (ac->next != NULL &&
	    ac->ch.iev.ibuf.wqueued < ac->ch.iev.ibuf.maxqueue / 2) {
		if (ac->next->id == 0)
			ac->next->id = ac->next_id++;
		a = (struct audit_append *)ac->next->data;
		a->id = ac->next->id;
		if (imsg_compose(&ac->ch.iev.ibuf, IMSG_AUDIT_APPEND, 0, 0, -1,
		    ac->next->data, ac->next->len) == -1) {
			if (errno == ENOBUFS)
				break;
			fatal("audit: compose");
		}
		ac->next = TAILQ_NEXT(ac->next, entry);
	}
	imsgev_add(&ac->ch.iev);
}

static void
auditc_ack(struct auditc *ac, uint64_t id)
{
	struct qevent	*q;
	uint64_t	 n = 0;

	while ((q = TAILQ_FIRST(&ac->queue)) != NULL && q->id != 0 &&
	    q->id <= id) {
		if (q == ac->next)	/* cannot happen: acked before sent */
			break;
		TAILQ_REMOVE(&ac->queue, q, entry);
		ac->queued_bytes -= q->len;
		ac->npending--;
		free(q);
		n++;
	}
	ac->acked += n;
	if (n > 0)
		note(ac, AUDITC_ACKED);
}

/* sizes are checked by proc_dispatch() before these run */
static void
msg_welcome(struct imsg *im, void *arg)
{
	struct auditc		*ac = arg;
	struct audit_welcome	 wel;

	if (ac->state != AC_HELLO) {
		auditc_down(ac, "WELCOME out of turn from lensauditd");
		return;
	}
	memcpy(&wel, im->data, sizeof(wel));
	if (wel.last_id >= ac->next_id)
		ac->next_id = wel.last_id + 1;
	ac->state = AC_READY;
	ac->retry_ms = RETRY_MIN_MS;
	ac->next = TAILQ_FIRST(&ac->queue);
	note(ac, AUDITC_READY);
}

static void
msg_ack(struct imsg *im, void *arg)
{
	struct auditc		*ac = arg;
	struct audit_ack	 ack;

	if (ac->state != AC_READY) {
		auditc_down(ac, "ACK out of turn from lensauditd");
		return;
	}
	memcpy(&ack, im->data, sizeof(ack));
	auditc_ack(ac, ack.id);
}

static const struct proc_msg auditd_msgs[] = {
	PROC_MSG(IMSG_AUDIT_WELCOME, sizeof(struct audit_welcome),
	    msg_welcome),
	PROC_MSG(IMSG_AUDIT_ACK, sizeof(struct audit_ack), msg_ack),
};

static void
auditc_sendmore(void *arg)
{
	auditc_send(arg);
}

static void
auditc_lost(struct proc_chan *ch, const char *why)
{
	struct auditc	*ac = ch->arg;

	auditc_down(ac, strcmp(why, "gone") == 0 ? "connection closed" : why);
}

static void
auditc_connect(int fd, short event, void *arg)
{
	struct auditc		*ac = arg;
	struct audit_hello	 h;
	int			 s;

	(void)fd;
	(void)event;
	if (ac->state != AC_DOWN)
		return;
	if ((s = unixsock_connect(ac->path, SOCK_NONBLOCK | SOCK_CLOEXEC))
	    == -1) {
		log_debug("audit: connect %s: %s", ac->path, strerror(errno));
		schedule_retry(ac);
		return;
	}
	memset(&h, 0, sizeof(h));
	h.version = AUDIT_PROTO_VERSION;
	strlcpy(h.source, ac->source, sizeof(h.source));
	proc_chan_init(&ac->ch, s, "lensauditd", auditd_msgs,
	    sizeof(auditd_msgs) / sizeof(auditd_msgs[0]), ac);
	ac->ch.done = auditc_sendmore;
	ac->ch.wrote = auditc_sendmore;
	ac->ch.lost = auditc_lost;
	ac->state = AC_HELLO;
	if (imsgev_compose(&ac->ch.iev, IMSG_AUDIT_HELLO, 0, 0, -1, &h,
	    sizeof(h)) == -1)
		fatal("audit: compose hello");
}

struct auditc *
auditc_new(const char *sockpath, const char *source, auditc_cb cb,
    void *arg)
{
	struct auditc	*ac;

	if ((ac = calloc(1, sizeof(*ac))) == NULL)
		return NULL;
	if (strlcpy(ac->path, sockpath, sizeof(ac->path)) >=
	    sizeof(ac->path) ||
	    strlcpy(ac->source, source, sizeof(ac->source)) >=
	    sizeof(ac->source)) {
		free(ac);
		errno = ENAMETOOLONG;
		return NULL;
	}
	ac->cb = cb;
	ac->arg = arg;
	ac->state = AC_DOWN;
	ac->retry_ms = RETRY_MIN_MS;
	ac->maxqueue = DEFAULT_MAXQUEUE;
	ac->next_id = 1;
	TAILQ_INIT(&ac->queue);
	evtimer_set(&ac->ev_retry, auditc_connect, ac);
	auditc_connect(-1, 0, ac);
	return ac;
}

void
auditc_free(struct auditc *ac)
{
	struct qevent	*q;

	if (ac == NULL)
		return;
	if (ac->state != AC_DOWN)
		imsgev_clear(&ac->ch.iev);
	evtimer_del(&ac->ev_retry);
	while ((q = TAILQ_FIRST(&ac->queue)) != NULL) {
		TAILQ_REMOVE(&ac->queue, q, entry);
		free(q);
	}
	free(ac);
}

static int
name_ok(const char *s, size_t size, int lower_only, int empty_ok)
{
	size_t	 i, n = strlen(s);

	if (n >= size || (n == 0 && !empty_ok))
		return 0;
	for (i = 0; i < n; i++) {
		char	 c = s[i];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '-' || c == '.')
			continue;
		if (!lower_only && c >= 'A' && c <= 'Z')
			continue;
		return 0;
	}
	return 1;
}

int
auditc_event(struct auditc *ac, const char *sandbox, const char *type,
    const char *details, size_t len)
{
	struct qevent		*q;
	struct audit_append	*a;
	json_t			*j;

	if (!name_ok(sandbox, AUDIT_SANDBOX_SIZE, 0, 1) ||
	    !name_ok(type, AUDIT_TYPE_SIZE, 1, 0) ||
	    len < 2 || len > AUDIT_DETAILS_MAX) {
		errno = EINVAL;
		return -1;
	}
	/*
	 * A bad event would be refused forever: refuse it here instead.
	 * Canonical details (the usual case) are good without jansson.
	 */
	if (!canonjson_check(details, len)) {
		if ((j = json_loadb(details, len, JSON_REJECT_DUPLICATES,
		    NULL)) == NULL || !json_is_object(j)) {
			json_decref(j);
			errno = EINVAL;
			return -1;
		}
		json_decref(j);
	}
	if (ac->queued_bytes + sizeof(*a) + len > ac->maxqueue) {
		errno = ENOBUFS;
		return -1;
	}
	if ((q = calloc(1, sizeof(*q) + sizeof(*a) + len)) == NULL)
		return -1;
	q->len = sizeof(*a) + len;
	a = (struct audit_append *)q->data;
	strlcpy(a->sandbox, sandbox, sizeof(a->sandbox));
	strlcpy(a->type, type, sizeof(a->type));
	memcpy(q->data + sizeof(*a), details, len);
	TAILQ_INSERT_TAIL(&ac->queue, q, entry);
	ac->queued_bytes += q->len;
	ac->npending++;
	if (ac->next == NULL && ac->state == AC_READY)
		ac->next = q;
	auditc_send(ac);
	return 0;
}

size_t
auditc_pending(const struct auditc *ac)
{
	return ac->npending;
}

uint64_t
auditc_acked(const struct auditc *ac)
{
	return ac->acked;
}

int
auditc_ready(const struct auditc *ac)
{
	return ac->state == AC_READY;
}

void
auditc_set_maxqueue(struct auditc *ac, size_t bytes)
{
	ac->maxqueue = bytes;
}
