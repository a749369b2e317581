/*
 * Client of lenscredd; see credc.h.  What lenscredd sends comes from
 * another daemon's unprivileged vault: every reply is held to its type
 * and size by proc_dispatch, to the request it answers (same type
 * family, same sandbox), and a CA's PEM to pemcert_check, as opaque
 * bytes; nothing here parses X.509.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <event.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "credc.h"
#include "imsgev.h"
#include "lenscredd_imsg.h"
#include "log.h"
#include "pemcert.h"
#include "proc.h"
#include "unixsock.h"

#define RETRY_MIN_MS	50
#define RETRY_MAX_MS	2000

struct creq {
	TAILQ_ENTRY(creq)	 entry;
	uint32_t		 type;
	struct cred_sandbox	 cs;
	char			 name[CRED_NAME_SIZE];	/* LEAF_REQ */
	struct cred_exchange	*ex;		/* EXCHANGE: then calen bytes */
	int			 exfd;		/* its end until sent, or -1 */
	int			 sent;
	credc_cb		 cb;
	void			*cbarg;
};

struct credc {
	char			 path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	credc_note		 note;
	void			*arg;
	int			 up;
	struct proc_chan	 ch;
	struct event		 ev_retry;
	int			 retry_ms;
	TAILQ_HEAD(, creq)	 queue;		/* sent first, in order */
};

static void	credc_connect(int, short, void *);
static int	credc_ask(struct credc *, uint32_t, const char *, const char *,
		    int, credc_cb, void *);

static void
credc_retry(struct credc *cc)
{
	struct timeval	 tv;

	tv.tv_sec = cc->retry_ms / 1000;
	tv.tv_usec = (cc->retry_ms % 1000) * 1000;
	evtimer_add(&cc->ev_retry, &tv);
	cc->retry_ms = cc->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS :
	    cc->retry_ms * 2;
}

static void
creq_free(struct creq *r)
{
	if (r->exfd != -1)
		close(r->exfd);
	free(r->ex);
	free(r);
}

static void
creq_done(struct credc *cc, struct creq *r, uint32_t type, const void *data,
    size_t len, const char *err)
{
	TAILQ_REMOVE(&cc->queue, r, entry);
	if (r->cb != NULL)
		r->cb(r->cbarg, type, data, len, err);
	creq_free(r);
}

static void
credc_down(struct credc *cc, const char *why)
{
	struct creq	*r, *t;

	if (!cc->up)
		return;
	log_warnx("lenscredd: %s: %s; reconnecting", cc->path, why);
	imsgev_clear(&cc->ch.iev);
	cc->up = 0;
	/* the sent ones will not be answered; kept ones go again */
	TAILQ_FOREACH_SAFE(r, &cc->queue, entry, t) {
		if (r->cb == NULL && r->type == IMSG_CRED_CA_DESTROY) {
			r->sent = 0;
			continue;
		}
		if (r->sent || r->cb != NULL)
			creq_done(cc, r, 0, NULL, 0, "lenscredd connection "
			    "lost before its answer");
	}
	credc_retry(cc);
	if (cc->note != NULL)
		cc->note(cc->arg, 0);
}

static int
creq_send(struct credc *cc, struct creq *r)
{
	struct cred_leaf_req	 lr;

	if (r->type == IMSG_CRED_EXCHANGE) {
		/* the descriptor goes with it (imsg closes it once sent) */
		if (imsgev_compose(&cc->ch.iev, r->type, 0, 0, r->exfd, r->ex,
		    sizeof(*r->ex) + r->ex->calen) == -1)
			return -1;
		r->exfd = -1;
	} else if (r->type == IMSG_CRED_LEAF_REQ) {
		memset(&lr, 0, sizeof(lr));
		memcpy(lr.sandbox, r->cs.sandbox, sizeof(lr.sandbox));
		memcpy(lr.name, r->name, sizeof(lr.name));
		if (imsgev_compose(&cc->ch.iev, r->type, 0, 0, -1, &lr,
		    sizeof(lr)) == -1)
			return -1;
	} else if (imsgev_compose(&cc->ch.iev, r->type, 0, 0, -1, &r->cs,
	    sizeof(r->cs)) == -1)
		return -1;
	r->sent = 1;
	return 0;
}

/* the oldest sent request: the one this reply answers */
static struct creq *
credc_head(struct credc *cc, const struct imsg *im)
{
	struct creq	*r = TAILQ_FIRST(&cc->queue);

	if (r == NULL || !r->sent) {
		proc_chan_fail(&cc->ch, "a reply to no request");
		return NULL;
	}
	(void)im;
	return r;
}

static int
sandbox_is(const char *got, size_t size, const struct creq *r)
{
	return memchr(got, '\0', size) != NULL &&
	    strcmp(got, r->cs.sandbox) == 0;
}

static void
msg_ca(struct imsg *im, void *arg)
{
	struct credc	*cc = arg;
	struct creq	*r;
	struct cred_ca	 ca;
	const char	*pem = (const char *)im->data + sizeof(ca);
	size_t		 pemlen = im->datalen - sizeof(ca);
	char		 err[160], msg[256];

	if ((r = credc_head(cc, im)) == NULL)
		return;
	memcpy(&ca, im->data, sizeof(ca));
	if (r->type != IMSG_CRED_CA_CREATE && r->type != IMSG_CRED_CA_GET)
		snprintf(msg, sizeof(msg), "CA in answer to request %#x",
		    r->type);
	else if (!sandbox_is(ca.sandbox, sizeof(ca.sandbox), r))
		snprintf(msg, sizeof(msg), "CA for another sandbox");
	else if (ca.pemlen != pemlen)
		snprintf(msg, sizeof(msg), "CA: pemlen %u, but %zu bytes "
		    "follow", ca.pemlen, pemlen);
	else if (pemcert_check(pem, pemlen, err, sizeof(err)) == -1)
		snprintf(msg, sizeof(msg), "CA: %s", err);
	else {
		creq_done(cc, r, IMSG_CRED_CA, pem, pemlen, NULL);
		return;
	}
	log_warnx("lenscredd: refused reply: %s", msg);
	creq_done(cc, r, 0, NULL, 0, msg);
	proc_chan_fail(&cc->ch, "a reply that failed its check");
}

/*
 * A leaf: the struct, then chainlen bytes of chain (two PEM blocks,
 * each checked by pemcert_check: the leaf, then the CA), then keylen
 * bytes of the key, which must look like one PKCS#8 PEM block.  What
 * they say is for the proxy's libssl to judge, not this process's.
 */
static const char *
leaf_check(const struct cred_leaf *l, const char *p, size_t len,
    char *err, size_t errlen)
{
	static const char kb[] = "-----BEGIN PRIVATE KEY-----\n";
	static const char ke[] = "-----END PRIVATE KEY-----\n";
	static const char ce[] = "-----END CERTIFICATE-----\n";
	const char	*end;
	char		 e[160];
	size_t		 first;

	if ((uint64_t)l->chainlen + l->keylen != len)
		return "LEAF: chainlen and keylen disagree with its size";
	if (l->chainlen > CRED_PEM_MAX || l->keylen > CRED_PEM_MAX)
		return "LEAF: PEM too long";
	if ((end = memmem(p, l->chainlen, ce, sizeof(ce) - 1)) == NULL)
		return "LEAF: no certificate in the chain";
	first = end - p + sizeof(ce) - 1;
	if (pemcert_check(p, first, e, sizeof(e)) == -1 ||
	    pemcert_check(p + first, l->chainlen - first, e, sizeof(e)) ==
	    -1) {
		snprintf(err, errlen, "LEAF chain: %s", e);
		return err;
	}
	p += l->chainlen;
	if (l->keylen < sizeof(kb) + sizeof(ke) ||
	    memcmp(p, kb, sizeof(kb) - 1) != 0 ||
	    memcmp(p + l->keylen - (sizeof(ke) - 1), ke, sizeof(ke) - 1) != 0 ||
	    memmem(p + sizeof(kb) - 1, l->keylen - (sizeof(kb) - 1) -
	    (sizeof(ke) - 1), "-----", 5) != NULL)
		return "LEAF: the key is not one PKCS#8 PEM block";
	return NULL;
}

static void
msg_leaf(struct imsg *im, void *arg)
{
	struct credc	*cc = arg;
	struct creq	*r;
	struct cred_leaf l;
	const char	*why;
	char		 err[200], msg[256];

	if ((r = credc_head(cc, im)) == NULL)
		return;
	memcpy(&l, im->data, sizeof(l));
	if (r->type != IMSG_CRED_LEAF_REQ)
		why = "LEAF in answer to another request";
	else if (!sandbox_is(l.sandbox, sizeof(l.sandbox), r))
		why = "LEAF for another sandbox";
	else if ((why = leaf_check(&l, (const char *)im->data + sizeof(l),
	    im->datalen - sizeof(l), err, sizeof(err))) == NULL) {
		creq_done(cc, r, IMSG_CRED_LEAF, im->data, im->datalen, NULL);
		return;
	}
	snprintf(msg, sizeof(msg), "%s", why);
	log_warnx("lenscredd: refused reply: %s", msg);
	creq_done(cc, r, 0, NULL, 0, msg);
	proc_chan_fail(&cc->ch, "a reply that failed its check");
}

static void
msg_destroyed(struct imsg *im, void *arg)
{
	struct credc		*cc = arg;
	struct creq		*r;
	struct cred_sandbox	 cs;

	if ((r = credc_head(cc, im)) == NULL)
		return;
	memcpy(&cs, im->data, sizeof(cs));
	if (r->type != IMSG_CRED_CA_DESTROY ||
	    !sandbox_is(cs.sandbox, sizeof(cs.sandbox), r)) {
		creq_done(cc, r, 0, NULL, 0, "DESTROYED not for this request");
		proc_chan_fail(&cc->ch, "DESTROYED not for the request");
		return;
	}
	creq_done(cc, r, IMSG_CRED_DESTROYED, NULL, 0, NULL);
}

static void
msg_exchange_ok(struct imsg *im, void *arg)
{
	struct credc		*cc = arg;
	struct creq		*r;
	struct cred_exchange_ok	 ok;

	if ((r = credc_head(cc, im)) == NULL)
		return;
	memcpy(&ok, im->data, sizeof(ok));
	if (r->type != IMSG_CRED_EXCHANGE || ok.exch_id != r->ex->exch_id ||
	    ok.pad != 0) {
		creq_done(cc, r, 0, NULL, 0, "EXCHANGE_OK not for this "
		    "request");
		proc_chan_fail(&cc->ch, "EXCHANGE_OK not for the request");
		return;
	}
	creq_done(cc, r, IMSG_CRED_EXCHANGE_OK, NULL, 0, NULL);
}

static void
msg_error(struct imsg *im, void *arg)
{
	struct credc		*cc = arg;
	struct creq		*r;
	struct cred_error	 e;
	char			 msg[CRED_ERR_SIZE + 16];
	size_t			 i;

	if ((r = credc_head(cc, im)) == NULL)
		return;
	memcpy(&e, im->data, sizeof(e));
	e.msg[sizeof(e.msg) - 1] = '\0';
	for (i = 0; e.msg[i] != '\0'; i++)	/* for logs: printable */
		if (e.msg[i] < 0x20 || e.msg[i] > 0x7e)
			e.msg[i] = '?';
	snprintf(msg, sizeof(msg), "lenscredd: %s", e.msg);
	creq_done(cc, r, 0, NULL, 0, msg);
}

static const struct proc_msg credd_msgs[] = {
	PROC_MSGV(IMSG_CRED_CA, sizeof(struct cred_ca),
	    sizeof(struct cred_ca) + PEMCERT_MAX, msg_ca),
	PROC_MSGV(IMSG_CRED_LEAF, sizeof(struct cred_leaf),
	    sizeof(struct cred_leaf) + 2 * CRED_PEM_MAX, msg_leaf),
	PROC_MSG(IMSG_CRED_DESTROYED, sizeof(struct cred_sandbox),
	    msg_destroyed),
	PROC_MSG(IMSG_CRED_ERROR, sizeof(struct cred_error), msg_error),
	PROC_MSG(IMSG_CRED_EXCHANGE_OK, sizeof(struct cred_exchange_ok),
	    msg_exchange_ok),
};

static void
credc_lost(struct proc_chan *ch, const char *why)
{
	credc_down(ch->arg, strcmp(why, "gone") == 0 ? "connection closed" :
	    why);
}

static void
credc_connect(int fd, short event, void *arg)
{
	struct credc	*cc = arg;
	struct creq	*r;
	int		 s;

	(void)fd;
	(void)event;
	if (cc->up)
		return;
	if ((s = unixsock_connect(cc->path, SOCK_NONBLOCK | SOCK_CLOEXEC))
	    == -1) {
		log_debug("lenscredd: connect %s: %s", cc->path,
		    strerror(errno));
		credc_retry(cc);
		return;
	}
	proc_chan_init(&cc->ch, s, "lenscredd", credd_msgs,
	    sizeof(credd_msgs) / sizeof(credd_msgs[0]), cc);
	cc->ch.lost = credc_lost;
	cc->up = 1;
	cc->retry_ms = RETRY_MIN_MS;
	log_info("lenscredd: connected to %s", cc->path);
	TAILQ_FOREACH(r, &cc->queue, entry)
		if (creq_send(cc, r) == -1)
			fatal("lenscredd: compose");
	if (cc->note != NULL)
		cc->note(cc->arg, 1);
}

struct credc *
credc_new(const char *sockpath, credc_note note, void *arg)
{
	struct credc	*cc;

	if ((cc = calloc(1, sizeof(*cc))) == NULL)
		return NULL;
	if (strlcpy(cc->path, sockpath, sizeof(cc->path)) >=
	    sizeof(cc->path)) {
		free(cc);
		errno = ENAMETOOLONG;
		return NULL;
	}
	cc->note = note;
	cc->arg = arg;
	cc->retry_ms = RETRY_MIN_MS;
	TAILQ_INIT(&cc->queue);
	evtimer_set(&cc->ev_retry, credc_connect, cc);
	credc_connect(-1, 0, cc);
	return cc;
}

int
credc_ready(const struct credc *cc)
{
	return cc->up;
}

int
credc_request(struct credc *cc, uint32_t type, const char *sandbox,
    int keep, credc_cb cb, void *cbarg)
{
	return credc_ask(cc, type, sandbox, NULL, keep, cb, cbarg);
}

int
credc_leaf(struct credc *cc, const char *sandbox, const char *name,
    credc_cb cb, void *cbarg)
{
	return credc_ask(cc, IMSG_CRED_LEAF_REQ, sandbox, name, 0, cb, cbarg);
}

static int
credc_ask(struct credc *cc, uint32_t type, const char *sandbox,
    const char *name, int keep, credc_cb cb, void *cbarg)
{
	struct creq	*r;

	if (!cc->up && !keep) {
		errno = ENOTCONN;
		return -1;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -1;
	r->exfd = -1;
	if (strlcpy(r->cs.sandbox, sandbox, sizeof(r->cs.sandbox)) >=
	    sizeof(r->cs.sandbox)) {
		free(r);
		errno = EINVAL;
		return -1;
	}
	if (name != NULL && strlcpy(r->name, name, sizeof(r->name)) >=
	    sizeof(r->name)) {
		free(r);
		errno = EINVAL;
		return -1;
	}
	r->type = type;
	r->cb = cb;
	r->cbarg = cbarg;
	if (cc->up && creq_send(cc, r) == -1) {
		free(r);
		return -1;
	}
	TAILQ_INSERT_TAIL(&cc->queue, r, entry);
	return 0;
}

int
credc_exchange(struct credc *cc, const struct cred_exchange *ex,
    const void *ca, size_t calen, int fd, credc_cb cb, void *cbarg)
{
	struct creq	*r;

	if (!cc->up) {
		errno = ENOTCONN;
		return -1;
	}
	if (calen > CRED_PEM_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -1;
	if ((r->ex = malloc(sizeof(*ex) + calen)) == NULL) {
		free(r);
		return -1;
	}
	memcpy(r->ex, ex, sizeof(*ex));
	r->ex->calen = calen;
	if (calen > 0)
		memcpy((char *)r->ex + sizeof(*ex), ca, calen);
	strlcpy(r->cs.sandbox, ex->sandbox, sizeof(r->cs.sandbox));
	r->type = IMSG_CRED_EXCHANGE;
	r->cb = cb;
	r->cbarg = cbarg;
	r->exfd = fd;
	if (creq_send(cc, r) == -1) {
		r->exfd = -1;		/* the caller's still */
		creq_free(r);
		return -1;
	}
	TAILQ_INSERT_TAIL(&cc->queue, r, entry);
	return 0;
}

void
credc_forget(struct credc *cc, void *cbarg)
{
	struct creq	*r;

	TAILQ_FOREACH(r, &cc->queue, entry)
		if (r->cb != NULL && r->cbarg == cbarg)
			r->cb = NULL;
}
