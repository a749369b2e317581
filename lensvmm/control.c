/*
 * lensvmm control child: the only process that reads lensctl's bytes
 * before they are checked.  Runs as _lensvmm in an empty chroot under
 * an allow-list seccomp filter.
 *
 * Peers are authenticated with SO_PEERCRED (uid 0, or a primary gid
 * equal to the lens group's) and SO_PEERGROUPS (the lens group among
 * the supplementary groups the peer had when it connected), so nothing
 * has to be looked up in the chroot.  Each connection carries one
 * request; once it is complete and valid, it goes to the parent with
 * the connection itself attached (the parent answers, or passes the
 * connection on to the sandbox's jail process for an attach stream).
 * A bad request is answered with ERROR here and never reaches the parent.
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

#include "grammar.h"
#include "imsgev.h"
#include "log.h"
#include "lensvmm.h"
#include "pull.h"
#include "policy.h"
#include "privsep.h"
#include "seccomp_filter.h"

#define MAXCLIENTS	256
#define REQ_TIMEOUT	10

struct client {
	TAILQ_ENTRY(client)	 entry;
	struct imsgev		 iev;
	struct event		 ev_timeout;
	uid_t			 uid;
	int			 answered;
	size_t			 have;		/* bytes of the request read */
	uint8_t			 buf[IMSG_HDRSZ + IMSG_MAXPAYLOAD];
};

static TAILQ_HEAD(, client) clients = TAILQ_HEAD_INITIALIZER(clients);
static int		 nclients;
static struct proc_chan	 pchan;	/* to the parent: nothing comes back */
static struct event	 ev_accept;
static struct control_conf *conf;

static const struct sandbox_syscall control_syscalls[] = {
	SB_ALLOW(read), SB_ALLOW(write), SB_ALLOW(close),
	SB_ALLOW(recvmsg), SB_ALLOW(sendmsg), SB_ALLOW(accept4),
	SB_ALLOW(recvfrom),
	SB_ALLOW_ARG(getsockopt, 2, SO_PEERCRED),
	SB_ALLOW_ARG(getsockopt, 2, SO_PEERGROUPS),
	SB_ALLOW(epoll_wait), SB_ALLOW(epoll_pwait), SB_ALLOW(epoll_ctl),
	SB_ALLOW(poll), SB_ALLOW(rt_sigprocmask), SB_ALLOW(rt_sigaction),
	SB_ALLOW(clock_gettime), SB_ALLOW(gettimeofday), SB_ALLOW(getpid),
	SB_ALLOW(brk), SB_ALLOW(mmap), SB_ALLOW(munmap), SB_ALLOW(mremap),
	/* no socket, connect, sendto: it logs through the parent */
	SB_ALLOW(fcntl), SB_ALLOW(fstat), SB_ALLOW(newfstatat),
};

static void	client_dispatch(int, short, void *);

static void
client_free(struct client *c)
{
	TAILQ_REMOVE(&clients, c, entry);
	nclients--;
	evtimer_del(&c->ev_timeout);
	if (c->iev.ibuf.fd != -1)
		imsgev_clear(&c->iev);
	free(c);
	if (nclients < MAXCLIENTS)
		event_add(&ev_accept, NULL);
}

/* answer ERROR and close once it is written */
static void
client_error(struct client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
client_error(struct client *c, const char *fmt, ...)
{
	struct ctl_error	 ce;
	va_list			 ap;

	memset(&ce, 0, sizeof(ce));
	ce.code = CTL_EXIT_LENS;
	va_start(ap, fmt);
	vsnprintf(ce.msg, sizeof(ce.msg), fmt, ap);
	va_end(ap);
	log_debug("client uid %u: %s", (unsigned)c->uid, ce.msg);
	imsg_clear(&c->iev.ibuf);
	if (imsgev_compose(&c->iev, IMSG_CTL_ERROR, 0, 0, -1, &ce,
	    sizeof(ce)) == -1) {
		client_free(c);
		return;
	}
	c->answered = 1;
	imsgev_pause(&c->iev, 1);
}

static int
field(const char *f, size_t size)
{
	return memchr(f, '\0', size) != NULL;
}

static int
printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* an absolute path without "..", ".", empty components or ':' */
static int
path_ok(const char *p, int colon_ok)
{
	const char	*c;

	if (p[0] != '/' || !printable(p))
		return 0;
	if (!colon_ok && strchr(p, ':') != NULL)
		return 0;
	for (c = p; *c; ) {
		while (*c == '/')
			c++;
		if ((c[0] == '.' && (c[1] == '/' || c[1] == '\0')) ||
		    (c[0] == '.' && c[1] == '.' && (c[2] == '/' ||
		    c[2] == '\0')))
			return 0;
		while (*c && *c != '/')
			c++;
	}
	return 1;
}

/*
 * n NUL-terminated strings exactly filling [p, end); returns the
 * message of the first problem or NULL.  kind: 0 argv, 1 env, 2 volume,
 * 3 published port, 4 label, 5 tmpfs, 6 ulimit (grammar.h)
 */
static const char *
strings_ok(const char *p, const char *end, uint32_t n, int kind,
    const char **next)
{
	static char		 why[GR_ERRSIZE];
	struct gr_volume	 vol;
	struct gr_publish	 pub;
	struct gr_tmpfs		 tmp;
	struct gr_ulimit	 ul;
	const char		*nul, *eq;
	uint32_t		 i;

	for (i = 0; i < n; i++) {
		if (p >= end || (nul = memchr(p, '\0', end - p)) == NULL)
			return "strings do not fill the request";
		if (kind == 0 && i == 0 && *p == '\0')
			return "empty command";
		if (kind == 1 && ((eq = strchr(p, '=')) == NULL || eq == p)) {
			snprintf(why, sizeof(why), "bad environment entry "
			    "\"%.64s\": not KEY=VALUE", p);
			return why;
		}
		if (kind == 2 && gr_volume("volume", p, &vol, why,
		    sizeof(why)) == -1)
			return why;
		if (kind == 3 && gr_publish("-p", p, &pub, why,
		    sizeof(why)) == -1)
			return why;
		if (kind == 5 && gr_tmpfs("--tmpfs", p, &tmp, why,
		    sizeof(why)) == -1)
			return why;
		if (kind == 6 && gr_ulimit("--ulimit", p, &ul, why,
		    sizeof(why)) == -1)
			return why;
		if (kind == 4 && ((eq = strchr(p, '=')) == NULL || eq == p ||
		    nul - p >= CTL_LABEL_SIZE || !printable(p))) {
			snprintf(why, sizeof(why), "bad label \"%.64s\": not "
			    "KEY=VALUE of printable characters", p);
			return why;
		}
		p = nul + 1;
	}
	*next = p;
	return NULL;
}

static const char *
check_run(struct imsg *im)
{
	static char	 namewhy[GR_ERRSIZE];
	struct ctl_run	 r;
	const char	*p, *end, *why;
	uint64_t	 nstr;

	if (im->datalen < sizeof(r))
		return "RUN request too short";
	memcpy(&r, im->data, sizeof(r));
	if (r.flags & ~(RUN_DETACH | RUN_STDIN | RUN_TTY | RUN_RM | RUN_ROOT |
	    RUN_READONLY | RUN_IMAGE | RUN_ENTRYPOINT) ||
	    ((r.flags & RUN_ENTRYPOINT) && !(r.flags & RUN_IMAGE)))
		return "unknown RUN flags";
	if (!field(r.name, sizeof(r.name)) || !field(r.rootfs,
	    sizeof(r.rootfs)) || !field(r.backend, sizeof(r.backend)) ||
	    !field(r.user, sizeof(r.user)) || !field(r.cwd, sizeof(r.cwd)) ||
	    !field(r.hostname, sizeof(r.hostname)))
		return "RUN fields not NUL-terminated";
	if (r.hostname[0] != '\0' && gr_hostname("hostname", r.hostname,
	    namewhy, sizeof(namewhy)) == -1)
		return namewhy;
	if (r.name[0] != '\0' && gr_name("name", r.name, namewhy,
	    sizeof(namewhy)) == -1)
		return namewhy;
	if (r.flags & RUN_IMAGE) {
		char	 ref[IMG_REF_SIZE];

		if (!ocispec_digest_ok(r.rootfs) && imgstore_ref_norm(r.rootfs,
		    ref, sizeof(ref)) == -1)
			return "the image is neither NAME[:TAG] nor "
			    "sha256:<64 hex>";
	} else if (r.rootfs[0] == '\0')
		return "no rootfs given (--rootfs DIR)";
	else if (!path_ok(r.rootfs, 0) || strcmp(r.rootfs, "/") == 0)
		return "rootfs must be an absolute path (not /, no \"..\")";
	if (r.backend[0] != '\0' && strcmp(r.backend, "jail") &&
	    strcmp(r.backend, "auto") && strcmp(r.backend, "microvm"))
		return "unknown backend (jail, microvm, auto)";
	if (r.memory != 0 && (r.memory < GR_MEMORY_MIN ||
	    r.memory > GR_MEMORY_MAX))
		return "memory limit below 4m or above 1024t";
	if (r.cpu_millis > GR_CPUS_MAX * 1000)
		return "cpu limit above 1024 cpus";
	if (r.pids > GR_PIDS_MAX)
		return "pids limit above 4194304";
	if (!printable(r.user) || !printable(r.cwd) ||
	    (r.cwd[0] != '\0' && r.cwd[0] != '/'))
		return "bad user or working directory";
	nstr = (uint64_t)r.argc + r.envc + r.nvolumes + r.npublish +
	    r.nlabels + r.ntmpfs + r.nulimits;
	if ((r.argc < 1 && !(r.flags & RUN_IMAGE)) || nstr > CTL_MAXSTRINGS ||
	    r.nvolumes > VMM_MAXVOLUMES || r.npublish > CTL_MAXPUBLISH ||
	    r.nlabels > CTL_MAXLABELS || r.ntmpfs > GR_MAXTMPFS ||
	    r.nulimits > GR_MAXULIMITS)
		return "bad argument, environment, volume, -p, label, tmpfs or "
		    "ulimit counts";
	if (r.policylen > POLICY_MAXSIZE ||
	    r.policylen > im->datalen - sizeof(r))
		return "bad policy length";
	if (memchr(r.policypath, '\0', sizeof(r.policypath)) == NULL ||
	    !printable(r.policypath) || (r.policypath[0] != '\0' &&
	    (r.policypath[0] != '/' || r.policylen == 0)))
		return "bad policy path";
	p = (const char *)im->data + sizeof(r);
	end = (const char *)im->data + im->datalen - r.policylen;
	if ((why = strings_ok(p, end, r.argc, 0, &p)) != NULL ||
	    (why = strings_ok(p, end, r.envc, 1, &p)) != NULL ||
	    (why = strings_ok(p, end, r.nvolumes, 2, &p)) != NULL ||
	    (why = strings_ok(p, end, r.npublish, 3, &p)) != NULL ||
	    (why = strings_ok(p, end, r.nlabels, 4, &p)) != NULL ||
	    (why = strings_ok(p, end, r.ntmpfs, 5, &p)) != NULL ||
	    (why = strings_ok(p, end, r.nulimits, 6, &p)) != NULL)
		return why;
	if (p != end)
		return "bytes after the last string";
	return NULL;
}

static int
ref_ok(const struct ctl_ref *r)
{
	return field(r->sandbox, sizeof(r->sandbox)) &&
	    gr_ref("sandbox", r->sandbox, NULL, 0) == 0;
}

static const char *
check_exec(struct imsg *im)
{
	struct ctl_exec	 x;
	const char	*p, *end, *why;

	if (im->datalen < sizeof(x))
		return "EXEC request too short";
	memcpy(&x, im->data, sizeof(x));
	if (!field(x.sandbox, sizeof(x.sandbox)) ||
	    gr_ref("sandbox", x.sandbox, NULL, 0) == -1)
		return "bad sandbox reference";
	if (x.flags & ~(RUN_STDIN | RUN_TTY | RUN_ROOT))
		return "unknown EXEC flags";
	if (!field(x.user, sizeof(x.user)) || !field(x.cwd, sizeof(x.cwd)) ||
	    !printable(x.user) || !printable(x.cwd) ||
	    (x.cwd[0] != '\0' && x.cwd[0] != '/'))
		return "bad user or working directory";
	if (x.argc < 1 || (uint64_t)x.argc + x.envc > CTL_MAXSTRINGS)
		return "bad argument or environment counts";
	p = (const char *)im->data + sizeof(x);
	end = (const char *)im->data + im->datalen;
	if ((why = strings_ok(p, end, x.argc, 0, &p)) != NULL ||
	    (why = strings_ok(p, end, x.envc, 1, &p)) != NULL)
		return why;
	if (p != end)
		return "bytes after the last string";
	return NULL;
}

static const char *
check_request(struct imsg *im)
{
	struct ctl_ps	 ps;
	struct ctl_stop	 st;
	struct ctl_rm	 rm;
	struct ctl_logs	 lg;
	struct ctl_ref	 rf;

	switch (im->hdr.type) {
	case IMSG_CTL_RUN:
		return check_run(im);
	case IMSG_CTL_EXEC:
		return check_exec(im);
	case IMSG_CTL_PS:
		if (imsg_expect(im, sizeof(ps)) == -1)
			return "PS of the wrong size";
		memcpy(&ps, im->data, sizeof(ps));
		if (!field(ps.label, sizeof(ps.label)) ||
		    !printable(ps.label))
			return "bad PS label filter";
		return ps.all > 1 ? "bad PS flag" : NULL;
	case IMSG_CTL_STOP:
		if (imsg_expect(im, sizeof(st)) == -1)
			return "STOP of the wrong size";
		memcpy(&st, im->data, sizeof(st));
		if (!ref_ok(&st.ref))
			return "bad sandbox reference";
		return st.timeout_secs > 3600 ? "stop timeout above 3600 s" :
		    NULL;
	case IMSG_CTL_RM:
		if (imsg_expect(im, sizeof(rm)) == -1)
			return "RM of the wrong size";
		memcpy(&rm, im->data, sizeof(rm));
		if (!ref_ok(&rm.ref))
			return "bad sandbox reference";
		return rm.force > 1 ? "bad RM flag" : NULL;
	case IMSG_CTL_LOGS:
		if (imsg_expect(im, sizeof(lg)) == -1)
			return "LOGS of the wrong size";
		memcpy(&lg, im->data, sizeof(lg));
		if (!ref_ok(&lg.ref))
			return "bad sandbox reference";
		return lg.follow > 1 ? "bad LOGS flag" : NULL;
	case IMSG_CTL_INSPECT:
		if (imsg_expect(im, sizeof(rf)) == -1)
			return "INSPECT of the wrong size";
		memcpy(&rf, im->data, sizeof(rf));
		return ref_ok(&rf) ? NULL : "bad sandbox reference";
	default:
		return image_request_check(im);
	}
}

/*
 * The same checks, made again by the parent on what this child sent
 * it: the parent trusts no child (doc/DESIGN.md, IPC).
 */
const char *
control_request_check(struct imsg *im)
{
	return check_request(im);
}

static void
client_dispatch(int fd, short event, void *arg)
{
	struct client	*c = arg;
	struct imsg	 im;
	const char	*why;
	ssize_t		 n;
	int		 rc;

	(void)fd;
	if (event & EV_WRITE) {
		if ((rc = imsg_write(&c->iev.ibuf)) == -1 ||
		    (rc == 1 && c->answered)) {
			client_free(c);
			return;
		}
	}
	if ((event & EV_READ) && !c->answered) {
		struct imsg_hdr	 hdr;
		size_t		 want;

		/*
		 * Read exactly one frame and nothing after it: what follows
		 * (stdin of run -i) is for the jail process.
		 */
		want = IMSG_HDRSZ;
		if (c->have >= IMSG_HDRSZ) {
			memcpy(&hdr, c->buf, sizeof(hdr));
			want = hdr.len;
		}
		n = recv(c->iev.ibuf.fd, c->buf + c->have, want - c->have, 0);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
			client_free(c);
			return;
		}
		if (n > 0)
			c->have += (size_t)n;
		if (c->have == IMSG_HDRSZ) {
			memcpy(&hdr, c->buf, sizeof(hdr));
			if (hdr.len < IMSG_HDRSZ || hdr.len > sizeof(c->buf) ||
			    hdr.flags != 0 || hdr.reserved != 0) {
				client_error(c, "malformed frame");
				return;
			}
		}
		if (c->have >= IMSG_HDRSZ) {
			memcpy(&hdr, c->buf, sizeof(hdr));
			if (c->have == hdr.len) {
				memset(&im, 0, sizeof(im));
				im.hdr = hdr;
				im.fd = -1;
				im.datalen = hdr.len - IMSG_HDRSZ;
				im.data = im.datalen ? c->buf + IMSG_HDRSZ :
				    NULL;
				if ((why = check_request(&im)) != NULL) {
					client_error(c, "%s", why);
					return;
				}
				/* the request and the connection to the parent */
				event_del(&c->iev.ev);
				c->iev.events = 0;
				if (imsgev_compose(&pchan.iev, im.hdr.type,
				    c->uid, 0, c->iev.ibuf.fd, im.data,
				    im.datalen) == -1)
					fatal("queue for the parent");
				c->iev.ibuf.fd = -1;
				client_free(c);
				return;
			}
		}
	}
	imsgev_add(&c->iev);
}

static void
client_timeout(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	client_free(arg);
}

static int
peer_allowed(int s, uid_t *uidp)
{
	uid_t		 uid;
	gid_t		 gid, groups[VMM_MAXGROUPMEMBERS];
	pid_t		 pid;
	socklen_t	 len = sizeof(groups);
	size_t		 i;

	if (imsg_peercred(s, &uid, &gid, &pid) == -1)
		return 0;
	*uidp = uid;
	if (uid == 0 || gid == conf->lens_gid)
		return 1;
	if (conf->lens_gid == (gid_t)-1)
		return 0;
	if (getsockopt(s, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == -1)
		return 0;
	for (i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == conf->lens_gid)
			return 1;
	return 0;
}

static void
control_accept(int fd, short ev, void *arg)
{
	struct client	*c;
	struct timeval	 tv;
	uid_t		 uid = (uid_t)-1;
	int		 s;

	(void)ev;
	(void)arg;
	if ((s = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) ==
	    -1) {
		if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("accept");
		return;
	}
	if (!peer_allowed(s, &uid)) {
		log_warnx("connection from uid %d refused: not root nor in "
		    "group %s", (int)uid, VMM_GROUP);
		close(s);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("calloc");
		close(s);
		return;
	}
	c->uid = uid;
	TAILQ_INSERT_TAIL(&clients, c, entry);
	if (++nclients >= MAXCLIENTS)
		event_del(&ev_accept);
	imsgev_init(&c->iev, s, client_dispatch, c);
	evtimer_set(&c->ev_timeout, client_timeout, c);
	tv.tv_sec = REQ_TIMEOUT;
	tv.tv_usec = 0;
	evtimer_add(&c->ev_timeout, &tv);
}

/* the parent closed the channel, or sent something (it never does) */
static void
parent_lost(struct proc_chan *ch, const char *why)
{
	(void)ch;
	if (strcmp(why, "gone") == 0)
		exit(0);
	fatalx("parent: %s", why);
}

static void
control_init(void *arg)
{
	int	 fd = *(int *)arg;

	proc_chan_init(&pchan, fd, "parent", NULL, 0, NULL);
	pchan.lost = parent_lost;
	imsgev_add(&pchan.iev);
	event_set(&ev_accept, conf->listen_fd, EV_READ | EV_PERSIST,
	    control_accept, NULL);
	event_add(&ev_accept, NULL);
}

int
control_main(int fd, void *arg)
{
	static const struct proc_role	 role = {
		.name = "control",
		PROC_SECCOMP(control_syscalls),
		.init = control_init,
	};
	struct privsep_user		 u;
	char				 err[256];

	conf = arg;
	if (privsep_user(VMM_USER, &u, err, sizeof(err)) == -1)
		fatalx("%s", err);
	return proc_start(&role, &u, conf->parent, &fd);
}
