/*
 * Pending approvals and the approvals socket (common/lensapprove_imsg.h),
 * in lensnetd's parent.
 *
 * The proxy holds a connection whose verdict is ask and names it in
 * NETD_ASK; here it becomes a pending approval with a random id (128
 * bits from getrandom: not guessable), audited as approval.request
 * before anyone may see it.  At most APPR_MAX are pending per daemon
 * (more: denied and audited), each is denied after the -w timeout
 * (approval.timeout), and one whose event the audit log cannot take is
 * denied at once: nothing is allowed that is not on record.
 *
 * Answers come from lensctl on the approvals socket, whose peers are
 * root or members of group lens (SO_PEERCRED, SO_PEERGROUPS), never a
 * sandbox: the socket lives on the host, in no sandbox's mount
 * namespace, and its mode is 0660 root:lens.  A decision names who took
 * it (uid and user name) in approval.decision.  --always is lensctl's
 * work (it edits the policy file as the operator, who must be able to
 * write it) followed by POLICY here: the new model replaces the
 * sandbox's in the parent and both children.
 */
#include <sys/types.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <errno.h>
#include <event.h>
#include <grp.h>
#include <stdarg.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "imsg.h"
#include "lensapprove_imsg.h"
#include "lensnetd.h"
#include "log.h"
#include "policy.h"
#include "proc.h"
#include "unixsock.h"

#define APPR_CLIENTS	64		/* lensctl connections at once */
#define APPR_MAXGROUPS	256

struct pending {
	TAILQ_ENTRY(pending)	 entry;
	uint32_t		 sbx;
	uint64_t		 reqid;
	struct appr_entry	 e;
	struct event		 ev;
};

struct aclient {
	TAILQ_ENTRY(aclient)	 entry;
	struct proc_chan	 ch;
	char			 peer[64];
	uid_t			 uid;
	int			 follow;
};

static TAILQ_HEAD(, pending)	 pendings = TAILQ_HEAD_INITIALIZER(pendings);
static TAILQ_HEAD(, aclient)	 aclients = TAILQ_HEAD_INITIALIZER(aclients);
static int			 npending, naclients;
static unsigned int		 appr_timeout = APPR_TIMEOUT;
static gid_t			 lens_gid = (gid_t)-1;
static int			 appr_fd = -1;
static struct event		 ev_appr;

static void	aclient_free(struct aclient *);

static json_t *
entry_json(const struct appr_entry *e)
{
	json_t	*o;

	o = json_pack("{s:s, s:s, s:s, s:i}", "id", e->id, "kind",
	    appr_kind_name(e->kind), "name", e->name, "port", (int)e->port);
	if (o == NULL)
		fatalx("approval: json_pack");
	if (e->rule[0] != '\0')
		json_object_set_new(o, "rule", json_string(e->rule));
	if (e->what[0] != '\0')
		json_object_set_new(o, "request", json_string(e->what));
	return o;
}

static void
tell_followers(const struct appr_entry *e)
{
	struct aclient	*cl;

	TAILQ_FOREACH(cl, &aclients, entry)
		if (cl->follow && imsgev_compose(&cl->ch.iev, IMSG_APPR_ENTRY,
		    0, 0, -1, e, sizeof(*e)) == -1)
			log_warn("approvals: %s", cl->peer);
}

/* answer the proxy and forget p */
static void
pending_end(struct pending *p, int allow, const char *why, uint32_t state)
{
	struct netd_answer	 a;

	memset(&a, 0, sizeof(a));
	a.reqid = p->reqid;
	a.allow = allow;
	strlcpy(a.why, why, sizeof(a.why));
	netd_answer(p->sbx, p->e.kind, &a);
	p->e.state = state;
	tell_followers(&p->e);
	evtimer_del(&p->ev);
	TAILQ_REMOVE(&pendings, p, entry);
	npending--;
	free(p);
}

static void
pending_timeout(int fd, short ev, void *arg)
{
	struct pending	*p = arg;
	json_t		*o;

	(void)fd;
	(void)ev;
	o = entry_json(&p->e);
	json_object_set_new(o, "seconds", json_integer(appr_timeout));
	(void)netd_audit(p->e.sandbox, "approval.timeout", o);
	log_info("approval %s (%s %s) unanswered after %u s: denied",
	    p->e.id, appr_kind_name(p->e.kind), p->e.name, appr_timeout);
	pending_end(p, 0, "approval timed out", APPR_TIMEDOUT);
}

static struct pending *
pending_find(const char *id)
{
	struct pending	*p;

	TAILQ_FOREACH(p, &pendings, entry)
		if (strcmp(p->e.id, id) == 0)
			return p;
	return NULL;
}

void
approval_ask(uint32_t sbx, const char *sandbox, const struct netd_ask *ask)
{
	struct netd_answer	 a;
	struct pending		*p;
	struct timeval		 tv;
	uint8_t			 rnd[16];
	json_t			*o;
	size_t			 i;

	memset(&a, 0, sizeof(a));
	a.reqid = ask->reqid;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		strlcpy(a.why, "out of memory", sizeof(a.why));
		netd_answer(sbx, ask->kind, &a);
		return;
	}
	p->sbx = sbx;
	p->reqid = ask->reqid;
	strlcpy(p->e.sandbox, sandbox, sizeof(p->e.sandbox));
	p->e.kind = ask->kind;
	p->e.port = ask->port;
	strlcpy(p->e.name, ask->name, sizeof(p->e.name));
	strlcpy(p->e.rule, ask->rule, sizeof(p->e.rule));
	strlcpy(p->e.what, ask->what, sizeof(p->e.what));
	p->e.created = time(NULL);
	p->e.expires = p->e.created + appr_timeout;
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		fatal("getrandom");
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(p->e.id + 2 * i, 3, "%02x", rnd[i]);
	o = entry_json(&p->e);
	if (npending >= APPR_MAX) {
		json_object_set_new(o, "verdict", json_string("deny"));
		json_object_set_new(o, "reason", json_string("too many "
		    "pending approvals"));
		(void)netd_audit(sandbox, "approval.request", o);
		log_warnx("sandbox %s: %s %s: %d approvals pending already: "
		    "denied", sandbox, appr_kind_name(ask->kind), ask->name,
		    APPR_MAX);
		snprintf(a.why, sizeof(a.why), "ask: %d approvals pending "
		    "already", APPR_MAX);
		netd_answer(sbx, ask->kind, &a);
		free(p);
		return;
	}
	json_object_set_new(o, "timeout", json_integer(appr_timeout));
	/* nothing pending that is not on record: the audit decides first */
	if (!netd_audit_ready() || netd_audit(sandbox, "approval.request",
	    o) == -1) {
		log_warnx("sandbox %s: %s %s: the audit log is unreachable: "
		    "ask denied", sandbox, appr_kind_name(ask->kind),
		    ask->name);
		strlcpy(a.why, "ask: the audit log is unreachable",
		    sizeof(a.why));
		netd_answer(sbx, ask->kind, &a);
		free(p);
		return;
	}
	TAILQ_INSERT_TAIL(&pendings, p, entry);
	npending++;
	evtimer_set(&p->ev, pending_timeout, p);
	tv.tv_sec = appr_timeout;
	tv.tv_usec = 0;
	evtimer_add(&p->ev, &tv);
	log_info("approval %s: sandbox %s asks for %s %s:%u%s%s", p->e.id,
	    sandbox, appr_kind_name(ask->kind), ask->name, ask->port,
	    ask->what[0] ? " " : "", ask->what);
	tell_followers(&p->e);
}

/* its connections are closed by the proxy: nothing to answer */
void
approval_sbx_gone(uint32_t sbx)
{
	struct pending	*p, *n;

	for (p = TAILQ_FIRST(&pendings); p != NULL; p = n) {
		n = TAILQ_NEXT(p, entry);
		if (p->sbx != sbx)
			continue;
		evtimer_del(&p->ev);
		TAILQ_REMOVE(&pendings, p, entry);
		npending--;
		free(p);
	}
}

/* --- the approvals socket ----------------------------------------------- */

static void
client_error(struct aclient *cl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
client_error(struct aclient *cl, const char *fmt, ...)
{
	struct appr_error	 e;
	va_list			 ap;

	memset(&e, 0, sizeof(e));
	va_start(ap, fmt);
	vsnprintf(e.msg, sizeof(e.msg), fmt, ap);
	va_end(ap);
	log_warnx("approvals: %s: %s", cl->peer, e.msg);
	(void)imsgev_compose(&cl->ch.iev, IMSG_APPR_ERROR, 0, 0, -1, &e,
	    sizeof(e));
}

static void
client_ok(struct aclient *cl)
{
	(void)imsgev_compose(&cl->ch.iev, IMSG_APPR_OK, 0, 0, -1, NULL, 0);
}

static void
msg_list(struct imsg *im, void *arg)
{
	struct aclient		*cl = arg;
	struct appr_list	 l;
	struct pending		*p;

	memcpy(&l, im->data, sizeof(l));
	TAILQ_FOREACH(p, &pendings, entry)
		(void)imsgev_compose(&cl->ch.iev, IMSG_APPR_ENTRY, 0, 0, -1,
		    &p->e, sizeof(p->e));
	client_ok(cl);
	cl->follow = l.follow != 0;
}

static int
hash_ok(const char *h)
{
	return h[0] == '\0' || (strlen(h) == 64 &&
	    strspn(h, "0123456789abcdef") == 64);
}

static void
msg_decide(struct imsg *im, void *arg)
{
	struct aclient		*cl = arg;
	struct appr_decide	 d;
	struct pending		*p;
	struct passwd		*pw;
	json_t			*o;
	int			 allow;

	memcpy(&d, im->data, sizeof(d));
	if (memchr(d.id, '\0', sizeof(d.id)) == NULL ||
	    memchr(d.before, '\0', sizeof(d.before)) == NULL ||
	    memchr(d.after, '\0', sizeof(d.after)) == NULL ||
	    !hash_ok(d.before) || !hash_ok(d.after) || d.allow > 1 ||
	    d.always > 1) {
		client_error(cl, "DECIDE: malformed");
		return;
	}
	if ((p = pending_find(d.id)) == NULL) {
		client_error(cl, "no pending approval %s (decided, timed out "
		    "or never asked)", d.id);
		return;
	}
	allow = d.allow == 1;
	o = entry_json(&p->e);
	pw = getpwuid(cl->uid);
	json_object_set_new(o, "decision", json_string(allow ? "allow" :
	    "deny"));
	json_object_set_new(o, "scope", json_string(d.always ? "always" :
	    "once"));
	json_object_set_new(o, "uid", json_integer(cl->uid));
	json_object_set_new(o, "user", json_string(pw != NULL ?
	    pw->pw_name : "?"));
	if (d.always) {
		json_object_set_new(o, "policy_before", json_string(d.before));
		json_object_set_new(o, "policy_after", json_string(d.after));
	}
	/* an allow that is not on record is no allow */
	if (netd_audit(p->e.sandbox, "approval.decision", o) == -1 && allow) {
		client_error(cl, "the audit log refused the decision: %s "
		    "denied", d.id);
		pending_end(p, 0, "ask: the audit log is unreachable",
		    APPR_DENIED);
		return;
	}
	log_info("approval %s: %s %s by uid %u", p->e.id, allow ? "allowed" :
	    "denied", d.always ? "always" : "once", (unsigned)cl->uid);
	pending_end(p, allow, allow ? "approved" : "ask denied by the "
	    "operator", allow ? APPR_ALLOWED : APPR_DENIED);
	client_ok(cl);
}

static void
msg_policy(struct imsg *im, void *arg)
{
	struct aclient		*cl = arg;
	struct appr_policy	 ap;
	char			 err[512];

	memcpy(&ap, im->data, sizeof(ap));
	if (memchr(ap.sandbox, '\0', sizeof(ap.sandbox)) == NULL ||
	    memchr(ap.sha256, '\0', sizeof(ap.sha256)) == NULL ||
	    memchr(ap.path, '\0', sizeof(ap.path)) == NULL ||
	    !hash_ok(ap.sha256) || ap.modellen == 0 ||
	    ap.modellen != im->datalen - sizeof(ap)) {
		client_error(cl, "POLICY: malformed");
		return;
	}
	if (netd_policy_set(ap.sandbox, (const char *)im->data + sizeof(ap),
	    ap.modellen, ap.path, ap.sha256, cl->uid, err, sizeof(err)) ==
	    -1) {
		client_error(cl, "%s", err);
		return;
	}
	client_ok(cl);
}

static const struct proc_msg client_msgs[] = {
	PROC_MSG(IMSG_APPR_LIST, sizeof(struct appr_list), msg_list),
	PROC_MSG(IMSG_APPR_DECIDE, sizeof(struct appr_decide), msg_decide),
	PROC_MSGV(IMSG_APPR_POLICY, sizeof(struct appr_policy),
	    sizeof(struct appr_policy) + POLICY_MODEL_MAXSIZE, msg_policy),
};

static void
client_lost(struct proc_chan *ch, const char *why)
{
	struct aclient	*cl = ch->arg;

	if (strcmp(why, "gone") != 0)
		log_warnx("approvals: %s: %s; closed", cl->peer, why);
	aclient_free(cl);
}

static void
aclient_free(struct aclient *cl)
{
	TAILQ_REMOVE(&aclients, cl, entry);
	if (cl->ch.iev.ibuf.fd != -1)
		imsgev_clear(&cl->ch.iev);
	free(cl);
	if (naclients-- == APPR_CLIENTS)
		event_add(&ev_appr, NULL);
}

static int
peer_allowed(int s, uid_t uid, gid_t gid)
{
	gid_t		 groups[APPR_MAXGROUPS];
	socklen_t	 len = sizeof(groups);
	size_t		 i;

	if (uid == 0 || (lens_gid != (gid_t)-1 && gid == lens_gid))
		return 1;
	if (lens_gid == (gid_t)-1 || getsockopt(s, SOL_SOCKET, SO_PEERGROUPS,
	    groups, &len) == -1)
		return 0;
	for (i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == lens_gid)
			return 1;
	return 0;
}

static void
appr_accept(int fd, short ev, void *arg)
{
	struct aclient	*cl;
	uid_t		 uid;
	gid_t		 gid;
	pid_t		 pid;
	int		 s;

	(void)ev;
	(void)arg;
	if ((s = unixsock_accept(fd, &uid, &gid, &pid)) == -1)
		return;
	if (!peer_allowed(s, uid, gid)) {
		log_warnx("approvals: connection from uid %u gid %u (pid %d) "
		    "refused: not root nor in group lens", (unsigned)uid,
		    (unsigned)gid, (int)pid);
		close(s);
		return;
	}
	if ((cl = calloc(1, sizeof(*cl))) == NULL) {
		log_warn("calloc");
		close(s);
		return;
	}
	cl->uid = uid;
	snprintf(cl->peer, sizeof(cl->peer), "uid %u pid %d", (unsigned)uid,
	    (int)pid);
	proc_chan_init(&cl->ch, s, cl->peer, client_msgs,
	    sizeof(client_msgs) / sizeof(client_msgs[0]), cl);
	cl->ch.lost = client_lost;
	imsgev_add(&cl->ch.iev);
	TAILQ_INSERT_TAIL(&aclients, cl, entry);
	if (++naclients == APPR_CLIENTS)
		event_del(&ev_appr);
}

int
approval_listen(const char *path)
{
	struct group	*gr;

	if ((gr = getgrnam("lens")) != NULL)
		lens_gid = gr->gr_gid;
	else
		log_warnx("group lens does not exist: only root may answer "
		    "approvals");
	appr_fd = unixsock_listen(path, 0660, lens_gid == (gid_t)-1 ? 0 :
	    lens_gid);
	return appr_fd;
}

void
approval_start(unsigned int timeout)
{
	appr_timeout = timeout;
	event_set(&ev_appr, appr_fd, EV_READ | EV_PERSIST, appr_accept, NULL);
	event_add(&ev_appr, NULL);
}
