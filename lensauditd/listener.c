/*
 * lensauditd listener: the only process that reads clients' bytes.
 * It authenticates each peer by SO_PEERCRED, checks every frame's type
 * and size (proc_dispatch, client_msgs[]), validates names,
 * canonicalizes the details JSON, and hands well-formed events to the
 * writer.  It holds no key and cannot open files.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <stdint.h>
#include <event.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "canonjson.h"
#include "chainwrite.h"
#include "imsgev.h"
#include "lensauditd.h"
#include "log.h"
#include "privsep.h"
#include "proc.h"
#include "sockusers.h"
#include "seccomp_filter.h"

#define WRITER_HIGHWATER	(8 * 1024 * 1024)
#define WRITER_LOWWATER		(1 * 1024 * 1024)

enum cstate { C_NEW, C_WAIT_WELCOME, C_READY };

struct client {
	TAILQ_ENTRY(client)	 entry;
	struct proc_chan	 ch;
	char			 name[96];	/* for log lines */
	uint32_t		 peerid;
	uid_t			 uid;
	pid_t			 pid;
	enum cstate		 state;
	char			 source[AUDIT_SOURCE_SIZE];
	uint64_t		 last_id;
};

static TAILQ_HEAD(, client) clients = TAILQ_HEAD_INITIALIZER(clients);
static int			 nclients;
static uint32_t			 next_peerid = 1;
static struct proc_chan		 wchan;	/* to the writer */
#define writer	wchan.iev
static struct event		 ev_accept;
static int			 writer_paused;
static struct auditd_conf	*conf;

static const struct sandbox_syscall listener_syscalls[] = {
	SB_ALLOW(read), SB_ALLOW(write), SB_ALLOW(close),
	SB_ALLOW(recvmsg), SB_ALLOW(sendmsg), SB_ALLOW(accept4),
	SB_ALLOW_ARG(getsockopt, 2, SO_PEERCRED),
	SB_ALLOW(epoll_wait), SB_ALLOW(epoll_pwait), SB_ALLOW(epoll_ctl),
	SB_ALLOW(poll), SB_ALLOW(rt_sigprocmask), SB_ALLOW(rt_sigaction),
	SB_ALLOW(clock_gettime), SB_ALLOW(gettimeofday), SB_ALLOW(getpid),
	SB_ALLOW(brk), SB_ALLOW(mmap), SB_ALLOW(munmap), SB_ALLOW(mremap),
	/* no socket, connect, sendto: it logs through the parent */
	SB_ALLOW(fcntl),
};

/* "client 3 (uid 0, pid 42, source lensnet)" */
static void
client_name(struct client *c)
{
	snprintf(c->name, sizeof(c->name), "client %u (uid %u, pid %d%s%s)",
	    c->peerid, (unsigned)c->uid, (int)c->pid,
	    c->source[0] ? ", source " : "", c->source);
}

static void
client_close(struct client *c, const char *why)
{
	if (why != NULL)
		log_warnx("%s: %s; disconnected", c->name, why);
	else
		log_debug("client %u (pid %d) disconnected", c->peerid,
		    (int)c->pid);
	TAILQ_REMOVE(&clients, c, entry);
	nclients--;
	imsgev_clear(&c->ch.iev);
	free(c);
	if (nclients < AUDITD_MAXCLIENTS)
		event_add(&ev_accept, NULL);
}

static struct client *
client_find(uint32_t peerid)
{
	struct client	*c;

	TAILQ_FOREACH(c, &clients, entry)
		if (c->peerid == peerid)
			return c;
	return NULL;
}

static int
allowed_source(uid_t uid, const char *source)
{
	int	 i;

	if (uid == 0)
		return 1;
	for (i = 0; i < conf->users.n; i++)
		if (conf->users.u[i].uid == uid &&
		    strcmp(conf->sources[i], source) == 0)
			return 1;
	return 0;
}

/* a NUL-terminated string inside a fixed-size field */
static int
field_str(const char *f, size_t size)
{
	return memchr(f, '\0', size) != NULL;
}

/* backpressure: stop reading clients while the writer is behind */
static void
writer_queued(void)
{
	imsgev_add(&writer);
	if (!writer_paused && writer.ibuf.wqueued > WRITER_HIGHWATER) {
		struct client	*c;

		writer_paused = 1;
		TAILQ_FOREACH(c, &clients, entry)
			imsgev_pause(&c->ch.iev, 1);
	}
}

/* sizes are checked by proc_dispatch() before these run */
static const char *
hello(struct client *c, struct imsg *im)
{
	struct audit_hello	 h;
	struct w_hello		 wh;
	struct client		*o;

	if (c->state != C_NEW)
		return "HELLO sent twice";
	memcpy(&h, im->data, sizeof(h));
	if (h.version != AUDIT_PROTO_VERSION)
		return "unsupported protocol version";
	if (!field_str(h.source, sizeof(h.source)) ||
	    !chain_name_ok(h.source, CHAIN_SOURCE))
		return "invalid source name";
	if (strcmp(h.source, CHAIN_SELF_SOURCE) == 0)
		return "source " CHAIN_SELF_SOURCE " is reserved to lensauditd";
	if (!allowed_source(c->uid, h.source))
		return "source name not allowed for this user";
	TAILQ_FOREACH(o, &clients, entry)
		if (o != c && o->state != C_NEW &&
		    strcmp(o->source, h.source) == 0)
			return "another connection already uses this source";
	strlcpy(c->source, h.source, sizeof(c->source));
	client_name(c);
	memset(&wh, 0, sizeof(wh));
	strlcpy(wh.source, h.source, sizeof(wh.source));
	if (imsg_compose(&writer.ibuf, IMSG_W_HELLO, c->peerid, 0, -1, &wh,
	    sizeof(wh)) == -1)
		fatal("queue for the writer");
	writer_queued();
	c->state = C_WAIT_WELCOME;
	return NULL;
}

static const char *
append(struct client *c, struct imsg *im)
{
	struct audit_append	 a;
	struct w_append		 wa;
	json_t			*details;
	json_error_t		 jerr;
	struct ibuf		*buf;
	const char		*dp;
	char			*canon;
	size_t			 dlen, clen;
	static char		 why[256];

	if (c->state != C_READY)
		return "APPEND before WELCOME";
	memcpy(&a, im->data, sizeof(a));
	dlen = im->datalen - sizeof(a);
	if (a.id <= c->last_id)
		return "event ids not increasing";
	if (a.id > INT64_MAX)
		return "event id above 2^63-1";
	if (!field_str(a.sandbox, sizeof(a.sandbox)) ||
	    !chain_name_ok(a.sandbox, CHAIN_SANDBOX))
		return "invalid sandbox name";
	if (!field_str(a.type, sizeof(a.type)) ||
	    !chain_name_ok(a.type, CHAIN_TYPE))
		return "invalid event type";
	if (chain_type_reserved(a.type)) {
		snprintf(why, sizeof(why), "event %llu: type %s refused: "
		    CHAIN_RESERVED_PREFIX "* types are reserved to lensauditd",
		    (unsigned long long)a.id, a.type);
		return why;
	}
	dp = (const char *)im->data + sizeof(a);
	if (canonjson_check(dp, dlen)) {
		/* already what jansson would make of it: use it as it is */
		canon = NULL;
		clen = dlen;
	} else {
		details = json_loadb(dp, dlen, JSON_REJECT_DUPLICATES, &jerr);
		if (details == NULL) {
			snprintf(why, sizeof(why), "details are not JSON: %s "
			    "(column %d)", jerr.text, jerr.column);
			return why;
		}
		if (!json_is_object(details)) {
			json_decref(details);
			return "details are not a JSON object";
		}
		canon = json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS |
		    JSON_ENSURE_ASCII);
		json_decref(details);
		if (canon == NULL)
			return "details cannot be serialized";
		dp = canon;
		clen = strlen(canon);
	}
	if (clen > IMSG_MAXPAYLOAD - sizeof(wa) ||
	    clen > CHAIN_MAXLINE - 1024) {
		free(canon);
		return "details too long once canonical";
	}
	memset(&wa, 0, sizeof(wa));
	wa.id = a.id;
	strlcpy(wa.source, c->source, sizeof(wa.source));
	strlcpy(wa.sandbox, a.sandbox, sizeof(wa.sandbox));
	strlcpy(wa.type, a.type, sizeof(wa.type));
	wa.detailslen = (uint32_t)clen;
	if ((buf = imsg_create(&writer.ibuf, IMSG_W_APPEND, c->peerid, 0,
	    sizeof(wa) + clen)) == NULL ||
	    imsg_add(buf, &wa, sizeof(wa)) == -1 ||
	    imsg_add(buf, dp, clen) == -1)
		fatal("queue for the writer");
	imsg_close(&writer.ibuf, buf);
	free(canon);
	writer_queued();
	c->last_id = a.id;
	return NULL;
}

/* what hello() or append() refuses ends the client's channel */
static void
client_msg(struct imsg *im, void *arg)
{
	struct client	*c = arg;
	const char	*why;

	why = im->hdr.type == IMSG_AUDIT_HELLO ? hello(c, im) : append(c, im);
	if (why != NULL)
		proc_chan_fail(&c->ch, why);
}

/* a client is any member of the allowed uids: it may send anything */
static const struct proc_msg client_msgs[] = {
	PROC_MSG(IMSG_AUDIT_HELLO, sizeof(struct audit_hello), client_msg),
	PROC_MSGV(IMSG_AUDIT_APPEND, sizeof(struct audit_append) + 2,
	    sizeof(struct audit_append) + AUDIT_DETAILS_MAX, client_msg),
};

/*
 * The client closed, or its channel ended: a bad frame, a message of a
 * type or size not in client_msgs[] (proc_dispatch logged peer, type
 * and size), or one its handler refused.
 */
static void
client_lost(struct proc_chan *ch, const char *why)
{
	struct client	*c = ch->arg;

	if (strcmp(why, "gone") == 0 ||
	    (strcmp(why, "read failed") == 0 && errno == ECONNRESET))
		why = NULL;
	else if (strcmp(why, "malformed frame") == 0)
		why = "malformed frame (bad length, flags or descriptor)";
	client_close(c, why);
}

static void
accept_cb(int lfd, short event, void *arg)
{
	struct client	*c;
	uid_t		 uid;
	gid_t		 gid;
	pid_t		 pid;
	int		 fd;

	(void)event;
	(void)arg;
	if ((fd = sockusers_accept(&conf->users, lfd, "not root or an audit "
	    "client user", &uid, &gid, &pid)) == -1)
		return;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("calloc");
		close(fd);
		return;
	}
	c->peerid = next_peerid++;
	if (next_peerid == 0)
		next_peerid = 1;
	c->uid = uid;
	c->pid = pid;
	c->state = C_NEW;
	client_name(c);
	proc_chan_init(&c->ch, fd, c->name, client_msgs,
	    sizeof(client_msgs) / sizeof(client_msgs[0]), c);
	c->ch.lost = client_lost;
	if (writer_paused)
		imsgev_pause(&c->ch.iev, 1);
	TAILQ_INSERT_TAIL(&clients, c, entry);
	if (++nclients >= AUDITD_MAXCLIENTS) {
		log_warnx("%d clients connected, not accepting more until one "
		    "leaves", nclients);
		event_del(&ev_accept);
	}
	log_debug("client %u: uid %u pid %d connected", c->peerid,
	    (unsigned)uid, (int)pid);
}

static void
msg_welcome(struct imsg *im, void *arg)
{
	struct client		*c;
	struct w_welcome	 w;
	struct audit_welcome	 aw;

	(void)arg;
	memcpy(&w, im->data, sizeof(w));
	if ((c = client_find(im->hdr.peerid)) == NULL)
		return;
	if (w.refused) {
		client_close(c, "too many sources");
		return;
	}
	aw.last_id = w.last_id;
	c->state = C_READY;
	if (imsgev_compose(&c->ch.iev, IMSG_AUDIT_WELCOME, 0, 0, -1, &aw,
	    sizeof(aw)) == -1)
		client_close(c, "send queue full");
}

static void
msg_ack(struct imsg *im, void *arg)
{
	struct client		*c;
	struct audit_ack	 ack;

	(void)arg;
	memcpy(&ack, im->data, sizeof(ack));
	if ((c = client_find(im->hdr.peerid)) == NULL)
		return;
	if (imsgev_compose(&c->ch.iev, IMSG_AUDIT_ACK, 0, 0, -1, &ack,
	    sizeof(ack)) == -1)
		client_close(c, "send queue full");
}

static const struct proc_msg writer_msgs[] = {
	PROC_MSG(IMSG_W_WELCOME, sizeof(struct w_welcome), msg_welcome),
	PROC_MSG(IMSG_W_ACK, sizeof(struct audit_ack), msg_ack),
};

/* the writer took what was queued: the clients may send again */
static void
writer_wrote(void *arg)
{
	struct client	*c;

	(void)arg;
	if (writer_paused && writer.ibuf.wqueued < WRITER_LOWWATER) {
		writer_paused = 0;
		TAILQ_FOREACH(c, &clients, entry)
			imsgev_pause(&c->ch.iev, 0);
	}
}

static void
listener_init(void *arg)
{
	int	 parentfd = *(int *)arg;

	event_set(&ev_accept, conf->listen_fd, EV_READ | EV_PERSIST,
	    accept_cb, NULL);
	event_add(&ev_accept, NULL);
	/* its exit closes the writer link: the writer checkpoints, stops */
	proc_watch_parent(parentfd, NULL);
	proc_chan_init(&wchan, conf->link[0], "writer", writer_msgs,
	    sizeof(writer_msgs) / sizeof(writer_msgs[0]), NULL);
	wchan.wrote = writer_wrote;
	writer.ibuf.maxqueue = 64 * 1024 * 1024;
}

int
listener_main(int parentfd, void *arg)
{
	static const struct proc_role	 role = {
		.name = "listener",
		PROC_SECCOMP(listener_syscalls),
		.init = listener_init,
	};

	conf = arg;
	/* jansson would read /dev/urandom on first use, inside the chroot */
	json_object_seed(randombytes_random() | 1);
	return proc_start(&role, &conf->user, conf->parent, &parentfd);
}
