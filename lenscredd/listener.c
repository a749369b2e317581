/*
 * lenscredd listener: the only process that reads clients' bytes.  It
 * accepts on the socket, lets in root and the -u users only (by
 * SO_PEERCRED; a member of group lens is not one of them: a leaf from
 * a sandbox CA would let its holder read that sandbox's TLS), checks
 * each request's type and size, and forwards it to the vault; the
 * vault's answer goes back to the client that asked.  An exchange
 * request (root's only) goes with its descriptor to the exchange child,
 * whose answer goes back likewise.  It holds no key and opens no file.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsgev.h"
#include "lenscredd.h"
#include "lensexch.h"
#include "log.h"
#include "privsep.h"
#include "proc.h"
#include "sockusers.h"
#include "seccomp_filter.h"

struct client {
	TAILQ_ENTRY(client)	 entry;
	struct proc_chan	 ch;
	uint32_t		 id;
	uid_t			 uid;
	pid_t			 pid;
	int			 inflight;	/* requests at the vault */
	char			 peer[64];	/* "client N (uid U, pid P)" */
};

static TAILQ_HEAD(, client) clients = TAILQ_HEAD_INITIALIZER(clients);
static int			 nclients;
static uint32_t			 next_id = 1;
static struct proc_chan		 vchan;	/* to the vault */
static struct proc_chan		 xchan;	/* to the exchange */
static struct event		 ev_accept;
static struct credd_conf	*conf;

static const struct sandbox_syscall listener_syscalls[] = {
	SB_ALLOW(read), SB_ALLOW(write), SB_ALLOW(close),
	SB_ALLOW(recvmsg), SB_ALLOW(sendmsg), SB_ALLOW(accept4),
	SB_ALLOW_ARG(getsockopt, 2, SO_PEERCRED),
	SB_ALLOW(epoll_wait), SB_ALLOW(epoll_pwait), SB_ALLOW(epoll_ctl),
	SB_ALLOW(poll), SB_ALLOW(rt_sigprocmask), SB_ALLOW(rt_sigaction),
	SB_ALLOW(clock_gettime), SB_ALLOW(gettimeofday), SB_ALLOW(getpid),
	SB_ALLOW(brk), SB_ALLOW(mmap), SB_ALLOW(munmap), SB_ALLOW(mremap),
	/* no socket, connect, sendto, open: it logs through the parent */
};

static void
client_close(struct client *c, const char *why)
{
	if (why != NULL && strcmp(why, "gone") != 0)
		log_warnx("%s: %s; disconnected", c->peer, why);
	else
		log_debug("%s disconnected", c->peer);
	TAILQ_REMOVE(&clients, c, entry);
	nclients--;
	imsgev_clear(&c->ch.iev);
	free(c);
	if (nclients < CRED_MAXCLIENTS)
		event_add(&ev_accept, NULL);
}

static void
client_lost(struct proc_chan *ch, const char *why)
{
	client_close(ch->arg, why);
}

static struct client *
client_find(uint32_t id)
{
	struct client	*c;

	TAILQ_FOREACH(c, &clients, entry)
		if (c->id == id)
			return c;
	return NULL;
}

static void
client_error(struct client *c, uint32_t request, const char *msg)
{
	struct cred_error	 e;

	memset(&e, 0, sizeof(e));
	e.request = request;
	strlcpy(e.msg, msg, sizeof(e.msg));
	/* a full queue: the client does not read; it is closed by the next */
	(void)imsgev_compose(&c->ch.iev, IMSG_CRED_ERROR, 0, 0, -1, &e,
	    sizeof(e));
}

/* a request of the right type and size: on to the vault */
static void
client_request(struct imsg *im, void *arg)
{
	struct client	*c = arg;

	/* the pid: for the audit events of the credential store */
	if (imsgev_compose(&vchan.iev, im->hdr.type, c->id, c->pid, -1,
	    im->data, im->datalen) == -1)
		fatal("queue for the vault");
	if (++c->inflight >= CRED_MAXINFLIGHT)
		imsgev_pause(&c->ch.iev, 1);
}

/*
 * A request that changes or lists the stored credentials: root's only
 * (by SO_PEERCRED at accept), _lensnet's and -u users' refused; a
 * value in it is zeroed once forwarded or refused.
 */
static void
client_admin(struct imsg *im, void *arg)
{
	struct client	*c = arg;
	char		 msg[CRED_ERR_SIZE];

	if (c->uid == 0)
		client_request(im, arg);
	else {
		log_warnx("%s: refused request %#x: the credential store is "
		    "root's only", c->peer, im->hdr.type);
		snprintf(msg, sizeof(msg), "only root may add, rotate, remove "
		    "or list stored credentials (this is uid %u)",
		    (unsigned)c->uid);
		client_error(c, im->hdr.type, msg);
	}
	if (im->data != NULL)	/* LS has none */
		explicit_bzero(im->data, im->datalen);
}

/*
 * IMSG_CRED_EXCHANGE: root's only (lensnetd's parent; the proxy's user
 * may ask for leaves, never for a credential's use); checked, then on
 * to the exchange with its descriptor.  Refused: the descriptor closed.
 */
static void
client_exchange(struct imsg *im, void *arg)
{
	struct client	*c = arg;
	char		 why[CRED_ERR_SIZE - 32], msg[CRED_ERR_SIZE];

	if (c->uid != 0) {
		log_warnx("%s: refused an exchange request: root's only",
		    c->peer);
		snprintf(msg, sizeof(msg), "only root may ask for a "
		    "credential exchange (this is uid %u)", (unsigned)c->uid);
		client_error(c, im->hdr.type, msg);
		return;
	}
	if (im->fd == -1) {
		client_error(c, im->hdr.type, "an exchange request without "
		    "its descriptor");
		return;
	}
	if (exch_cred_check(im->data, im->datalen, why, sizeof(why)) == -1) {
		log_warnx("%s: refused an exchange request: %s", c->peer, why);
		snprintf(msg, sizeof(msg), "bad exchange request: %s", why);
		client_error(c, im->hdr.type, msg);
		return;
	}
	if (imsgev_compose(&xchan.iev, im->hdr.type, c->id, c->pid, im->fd,
	    im->data, im->datalen) == -1)
		fatal("queue for the exchange");
	im->fd = -1;	/* the queue's now */
	if (++c->inflight >= CRED_MAXINFLIGHT)
		imsgev_pause(&c->ch.iev, 1);
}

static const struct proc_msg client_msgs[] = {
	PROC_MSG(IMSG_CRED_CA_CREATE, sizeof(struct cred_sandbox),
	    client_request),
	PROC_MSG(IMSG_CRED_CA_GET, sizeof(struct cred_sandbox), client_request),
	PROC_MSG(IMSG_CRED_CA_DESTROY, sizeof(struct cred_sandbox),
	    client_request),
	PROC_MSG(IMSG_CRED_LEAF_REQ, sizeof(struct cred_leaf_req),
	    client_request),
	PROC_MSGV(IMSG_CRED_STORE_ADD, sizeof(struct cred_store) + 1,
	    sizeof(struct cred_store) + CRED_SECRET_MAX, client_admin),
	PROC_MSGV(IMSG_CRED_STORE_ROTATE, sizeof(struct cred_store) + 1,
	    sizeof(struct cred_store) + CRED_SECRET_MAX, client_admin),
	PROC_MSG(IMSG_CRED_STORE_RM, sizeof(struct cred_id), client_admin),
	PROC_MSG(IMSG_CRED_STORE_LS, 0, client_admin),
	{ IMSG_CRED_EXCHANGE, sizeof(struct cred_exchange),
	    sizeof(struct cred_exchange) + CRED_PEM_MAX, client_exchange, 1 },
};

/* the wrong size or an unknown type: answered, dropped, read on */
static int
client_refused(struct imsg *im, void *arg)
{
	struct client	*c = arg;
	char		 msg[CRED_ERR_SIZE];
	size_t		 i, n = sizeof(client_msgs) / sizeof(client_msgs[0]);

	for (i = 0; i < n && client_msgs[i].type != im->hdr.type; i++)
		;
	if (i == n)
		snprintf(msg, sizeof(msg), "bad request %#x (%zu bytes): "
		    "unknown type", im->hdr.type, im->datalen);
	else if (im->fd != -1)
		snprintf(msg, sizeof(msg), "bad request %#x (%zu bytes): a "
		    "descriptor it does not carry", im->hdr.type, im->datalen);
	else if (client_msgs[i].min == client_msgs[i].max)
		snprintf(msg, sizeof(msg), "bad request %#x (%zu bytes): its "
		    "size is %zu", im->hdr.type, im->datalen,
		    client_msgs[i].min);
	else
		snprintf(msg, sizeof(msg), "bad request %#x (%zu bytes): its "
		    "size is %zu to %zu", im->hdr.type, im->datalen,
		    client_msgs[i].min, client_msgs[i].max);
	client_error(c, im->hdr.type, msg);
	return 1;
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
	if ((fd = sockusers_accept(&conf->users, lfd, "not root or a user "
	    "lenscredd serves (-u)", &uid, &gid, &pid)) == -1)
		return;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("calloc");
		close(fd);
		return;
	}
	c->id = next_id++;
	if (next_id == 0)
		next_id = 1;
	c->uid = uid;
	c->pid = pid;
	snprintf(c->peer, sizeof(c->peer), "client %u (uid %u, pid %d)",
	    c->id, (unsigned)uid, (int)pid);
	proc_chan_init(&c->ch, fd, c->peer, client_msgs,
	    sizeof(client_msgs) / sizeof(client_msgs[0]), c);
	c->ch.lost = client_lost;
	c->ch.refused = client_refused;
	TAILQ_INSERT_TAIL(&clients, c, entry);
	if (++nclients >= CRED_MAXCLIENTS) {
		log_warnx("%d clients connected, not accepting more until one "
		    "leaves", nclients);
		event_del(&ev_accept);
	}
	log_debug("%s connected", c->peer);
}

/* the vault's or exchange's answer: back to the client that asked */
static void
vault_reply(struct imsg *im, void *arg)
{
	struct client	*c;

	(void)arg;
	if ((c = client_find(im->hdr.peerid)) == NULL)
		return;
	if (--c->inflight < CRED_MAXINFLIGHT)
		imsgev_pause(&c->ch.iev, 0);
	if (imsgev_compose(&c->ch.iev, im->hdr.type, 0, 0, -1, im->data,
	    im->datalen) == -1)
		client_close(c, "send queue full");
}

static const struct proc_msg vault_msgs[] = {
	PROC_MSGV(IMSG_CRED_CA, sizeof(struct cred_ca),
	    sizeof(struct cred_ca) + CRED_PEM_MAX, vault_reply),
	PROC_MSGV(IMSG_CRED_LEAF, sizeof(struct cred_leaf),
	    sizeof(struct cred_leaf) + CRED_PEM_MAX, vault_reply),
	PROC_MSG(IMSG_CRED_DESTROYED, sizeof(struct cred_sandbox),
	    vault_reply),
	PROC_MSG(IMSG_CRED_ERROR, sizeof(struct cred_error), vault_reply),
	PROC_MSG(IMSG_CRED_STORED, sizeof(struct cred_entry), vault_reply),
	PROC_MSGV(IMSG_CRED_LIST, sizeof(struct cred_list),
	    sizeof(struct cred_list) + CRED_STORE_MAX *
	    sizeof(struct cred_entry), vault_reply),
};

static const struct proc_msg exchange_msgs[] = {
	PROC_MSG(IMSG_CRED_EXCHANGE_OK, sizeof(struct cred_exchange_ok),
	    vault_reply),
	PROC_MSG(IMSG_CRED_ERROR, sizeof(struct cred_error), vault_reply),
};

/*
 * The vault or the exchange went: on SIGTERM it may go before this one
 * stops (the parent stops all three), and when it died the parent sees
 * how and stops lenscredd with an error; either way, nothing to serve.
 */
static void
link_lost(struct proc_chan *ch, const char *why)
{
	if (strcmp(why, "gone") == 0)
		exit(0);
	fatalx("%s: %s", ch->peer, why);
}

static void
listener_init(void *arg)
{
	int	 parentfd = *(int *)arg;

	event_set(&ev_accept, conf->listen_fd, EV_READ | EV_PERSIST,
	    accept_cb, NULL);
	event_add(&ev_accept, NULL);
	proc_watch_parent(parentfd, NULL);
	/* a vault or exchange that sends what it should not: fatal */
	proc_chan_init(&vchan, conf->link[0], "vault", vault_msgs,
	    sizeof(vault_msgs) / sizeof(vault_msgs[0]), NULL);
	vchan.iev.ibuf.maxqueue = 16 * 1024 * 1024;
	vchan.lost = link_lost;
	proc_chan_init(&xchan, conf->xlink[0], "exchange", exchange_msgs,
	    sizeof(exchange_msgs) / sizeof(exchange_msgs[0]), NULL);
	xchan.lost = link_lost;
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
	return proc_start(&role, &conf->user, conf->parent, &parentfd);
}
