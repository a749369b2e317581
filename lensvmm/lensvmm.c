/*
 * lensvmm parent: options, the control socket, the sandbox table and
 * its state directory, cgroups, audit events, and the jail process of
 * every sandbox.
 *
 * Runs as root with only the capabilities sandbox setup needs (see
 * keep_caps below and lensvmm.8) and under a deny-list seccomp filter:
 * every sandbox is forked from the parent and inherits its filter, so an
 * allow-list with a kill action here would be the workload's too.
 */
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <grp.h>
#include <jansson.h>
#include <sodium.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "auditc.h"
#include "grammar.h"
#include "imsgev.h"
#include "log.h"
#include "lensvmm.h"
#include "policy.h"
#include "privsep.h"
#include "sandbox.h"
#include "unixsock.h"

struct reply {
	TAILQ_ENTRY(reply)	 entry;
	struct imsgev		 iev;
	int			 closing;
	int			 logfd;		/* LOGS: the console log */
	off_t			 logoff;	/* of logbuf[0] in the file */
	size_t			 loghave;
	unsigned char		*logbuf;	/* a record and a read's worth */
	int			 follow;
	char			 id[CTL_ID_SIZE];
	struct event		 ev_poll;
};

struct waiter {
	TAILQ_ENTRY(waiter)	 entry;
	struct reply		*r;
};

struct sbx {
	TAILQ_ENTRY(sbx)	 entry;
	char			 id[CTL_ID_SIZE];
	char			 name[CTL_NAME_SIZE];
	int			 slot;
	int			 slotfd;	/* flock of the slot, or -1 */
	uid_t			 base;
	int			 state;
	int32_t			 exit_code, exit_sig;
	int			 oom;
	int64_t			 created, started, finished;
	struct ctl_run		 run;
	char			*strings;	/* argv, env, volumes */
	char			*policy;	/* --policy text, or NULL */
	size_t			 policylen;
	void			*model;		/* its binary model */
	size_t			 modellen;
	char			 policyhash[65];
	size_t			 stringslen;
	char			 dir[PATH_MAX];
	struct cgroup		 cg;
	struct proc_child	 child;
	struct proc_chan	 jch;		/* to its jail process */
	char			 jpeer[CTL_NAME_SIZE + 8];
	int			 jail_open;
	struct reply		*starter;	/* RUN waiting for READY */
	uint32_t		 next_exec;
	int			 exited;	/* J_EXIT seen */
	int			 remove;	/* rm once stopped */
	int			 removed;
	int			 stop_pending;	/* stop asked before READY */
	uint32_t		 stop_grace;
	TAILQ_HEAD(, waiter)	 waiters;
	pid_t			 initpid;
	struct j_ready		 net;		/* net: attached to lensnetd */
	char			 backend[16];	/* "jail" or "microvm" */
	char			 backend_why[256];
};

static TAILQ_HEAD(, sbx)	 sandboxes = TAILQ_HEAD_INITIALIZER(sandboxes);
static TAILQ_HEAD(, reply)	 replies = TAILQ_HEAD_INITIALIZER(replies);
static struct proc_child	 control = { .name = "control", .fd = -1 };
static struct proc_chan		 ctl_chan;
static struct event_base	*evbase;
static struct auditc		*audit;
static char			 statedir[PATH_MAX], sockpath[108];
/* Lens state directories no rootfs or volume may be, hold or be in:
 * the fixed ones, -D, and the other daemons' (-x) */
static const char		*protect[4 + VMM_MAXPROTECT] = {
	"/var/lib/lens", "/etc/lens", "/run/lens", statedir };
static int			 nprotect = 4;
static char			 auditsock[108], initpath[PATH_MAX];
static char			 emptydir[PATH_MAX];
static char			 netdsock[108];	/* "" without lensnetd */
static char			 guestdir[PATH_MAX];	/* microvm: kernel, initramfs */
static char			 imagedir[PATH_MAX];	/* microvm: image cache */
static uint32_t			 boot_timeout = VMM_VM_BOOT_TIMEOUT;
static char			 kernel_args[512];	/* microvm: -k */
static uint64_t			 imagecache = VMM_IMAGECACHE;	/* -C */
static char			 defpolicy[256];	/* -P */
static pid_t			 parent_pid;
static int			 shutting_down;

static void	sbx_stopped(struct sbx *);
static void	sbx_free(struct sbx *);
static void	jail_chan_init(struct sbx *, int);
static void	slot_unlock(struct sbx *);
static void	reply_free(struct reply *);

/* capabilities the parent keeps (inherited by each jail process) */
static const cap_value_t keep_caps[] = {
	CAP_SYS_ADMIN,		/* namespaces, setns, mounts, idmapped rootfs */
	CAP_SETUID, CAP_SETGID,	/* uid/gid maps; jail process drops to its uid */
	CAP_CHOWN,		/* upper layer owned by the sandbox's root */
	CAP_DAC_OVERRIDE,	/* remove what sandboxes left in their upper */
	CAP_FOWNER,		/* ... owned by their uids */
	CAP_KILL,		/* stop sandboxes and jail processes */
	CAP_SYS_CHROOT,		/* setns(mnt), chroot of the jail process */
	CAP_SETPCAP,		/* the jail process empties its bounding set */
};

static __attribute__((noreturn)) void
usage(void)
{
	fprintf(stderr, "usage: lensvmm [-dv] [-a auditsock] [-C cachesize] "
	    "[-c cgroup] [-D statedir]\n"
	    "\t[-g guestdir] [-i lens-init] [-k kernel-args] [-n netdsock] "
	    "[-P policy]\n\t[-s socket] [-T boot-timeout] [-x statedir]\n");
	exit(2);
}

/* --- replies to lensctl ---------------------------------------------- */

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

static struct reply *
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

static void
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

static void
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

static void
reply_last(struct reply *r, uint32_t type, const void *data, size_t len)
{
	reply_send(r, type, data, len);
	r->closing = 1;
}

static void
reply_error(struct reply *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
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

static void
reply_ok(struct reply *r)
{
	reply_last(r, IMSG_CTL_OK, NULL, 0);
}

/* --- audit ------------------------------------------------------------ */

static void
audit_event(const struct sbx *sb, const char *type, json_t *details)
{
	char	*s;

	json_object_set_new(details, "backend", json_string(sb->backend));
	json_object_set_new(details, "name", json_string(sb->name));
	if ((s = json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		fatalx("audit: json_dumps");
	json_decref(details);
	if (auditc_event(audit, sb->id, type, s, strlen(s)) == -1)
		log_warn("audit: %s event for %s not queued", type, sb->id);
	free(s);
}

static json_t *
strings_json(const char *p, uint32_t n, const char **next)
{
	json_t		*a = json_array();
	uint32_t	 i;

	for (i = 0; i < n; i++) {
		json_array_append_new(a, json_string(p));
		p += strlen(p) + 1;
	}
	if (next != NULL)
		*next = p;
	return a;
}

static void
audit_cb(struct auditc *ac, enum auditc_note n, void *arg)
{
	(void)ac;
	(void)arg;
	if (n == AUDITC_READY)
		log_info("audit: connected to lensauditd");
	else if (n == AUDITC_LOST)
		log_warnx("audit: lost lensauditd; no sandbox starts until it "
		    "is back");
}

/* --- state ------------------------------------------------------------ */

static const char *
state_name(int st)
{
	switch (st) {
	case SANDBOX_CREATED:
		return "created";
	case SANDBOX_RUNNING:
		return "running";
	default:
		return "stopped";
	}
}

static json_t *
sbx_json(const struct sbx *sb)
{
	json_t		*j, *argv, *env, *vols, *res;
	const char	*p = sb->strings;

	argv = strings_json(p, sb->run.argc, &p);
	env = strings_json(p, sb->run.envc, &p);
	vols = strings_json(p, sb->run.nvolumes, &p);
	res = json_pack("{s:I, s:I, s:I}", "memory", (json_int_t)sb->run.memory,
	    "cpu_millis", (json_int_t)sb->run.cpu_millis, "pids",
	    (json_int_t)(sb->run.pids ? sb->run.pids : VMM_DEFAULT_PIDS));
	j = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:s, s:s,"
	    " s:b, s:b, s:b, s:b, s:b, s:I, s:I, s:s, s:I, s:I, s:I, s:i,"
	    " s:i, s:b, s:i}",
	    "id", sb->id, "name", sb->name, "backend", sb->backend,
	    "rootfs", sb->run.rootfs, "command", argv, "env", env,
	    "volumes", vols, "resources", res, "user",
	    (sb->run.flags & RUN_ROOT) ? "root" : (sb->run.user[0] ?
	    sb->run.user : "1000"), "cwd", sb->run.cwd,
	    "tty", (sb->run.flags & RUN_TTY) != 0,
	    "stdin", (sb->run.flags & RUN_STDIN) != 0,
	    "detach", (sb->run.flags & RUN_DETACH) != 0,
	    "autoremove", (sb->run.flags & RUN_RM) != 0,
	    "root", (sb->run.flags & RUN_ROOT) != 0,
	    "uid_base", (json_int_t)sb->base, "uid_count",
	    (json_int_t)VMM_UIDRANGE, "state", state_name(sb->state),
	    "created", (json_int_t)sb->created, "started",
	    (json_int_t)sb->started, "finished", (json_int_t)sb->finished,
	    "exit_code", sb->exit_code, "signal", sb->exit_sig,
	    "oom_killed", sb->oom, "pid", (int)sb->initpid);
	if (j == NULL)
		fatalx("json_pack");
	json_object_set_new(j, "cgroup", json_string(sb->cg.paths[0]));
	if (sb->backend_why[0] != '\0')
		json_object_set_new(j, "backend_reason",
		    json_string(sb->backend_why));
	if (sb->run.npublish > 0)
		json_object_set_new(j, "publish", strings_json(p,
		    sb->run.npublish, NULL));
	if (sb->net.net) {
		char	 a[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &sb->net.addr, a, sizeof(a));
		inet_ntop(AF_INET, &sb->net.gateway, g, sizeof(g));
		json_object_set_new(j, "network", json_pack("{s:s, s:s, s:i}",
		    "address", a, "gateway", g, "proxy_port",
		    (int)sb->net.proxyport));
	} else
		json_object_set_new(j, "network", json_string(
		    netdsock[0] ? "lensnetd" : "none (loopback only)"));
	json_object_set_new(j, "policy", sb->policy == NULL ?
	    json_string("none (deny everything)") : json_pack("{s:s, s:I, s:s%}",
	    "sha256", sb->policyhash, "bytes", (json_int_t)sb->policylen,
	    "text", sb->policy, sb->policylen));
	json_object_set_new(j, "state_dir", json_string(sb->dir));
	return j;
}

/* config.json: everything inspect shows; written atomically */
static int
sbx_save(const struct sbx *sb)
{
	char	 path[PATH_MAX + 32], tmp[PATH_MAX + 32];
	json_t	*j;
	json_t	*strs;
	int	 rc;

	if (sb->removed)
		return 0;
	j = sbx_json(sb);
	strs = json_stringn(sb->strings, sb->stringslen);
	json_object_set_new(j, "_strings", strs);
	if (sb->policy != NULL)
		json_object_set_new(j, "_policy", json_stringn(sb->policy,
		    sb->policylen));
	json_object_set_new(j, "_slot", json_integer(sb->slot));
	json_object_set_new(j, "_flags", json_integer(sb->run.flags));
	snprintf(path, sizeof(path), "%s/config.json", sb->dir);
	snprintf(tmp, sizeof(tmp), "%s/config.json.tmp", sb->dir);
	rc = json_dump_file(j, tmp, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(j);
	if (rc == -1 || rename(tmp, path) == -1) {
		log_warn("write %s", path);
		return -1;
	}
	return 0;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	if (flag == FTW_DP || flag == FTW_D)
		return rmdir(path) == -1 && errno != ENOENT ? -1 : 0;
	return unlink(path) == -1 && errno != ENOENT ? -1 : 0;
}

static int
rm_tree(const char *dir)
{
	if (access(dir, F_OK) == -1 && errno == ENOENT)
		return 0;
	return nftw(dir, rm_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

/* undo what creation did: cgroup, state directory; forget it */
static void
sbx_destroy_files(struct sbx *sb)
{
	if (sb->cg.n > 0) {
		(void)cgroup_kill(&sb->cg);
		(void)cgroup_destroy(&sb->cg);
	}
	if (sb->dir[0] != '\0' && rm_tree(sb->dir) == -1)
		log_warn("remove %s", sb->dir);
	sb->removed = 1;
	/* its uids own nothing any more */
	slot_unlock(sb);
}

static struct sbx *
sbx_find(const char *ref, char *err, size_t errlen)
{
	struct sbx	*sb, *found = NULL;
	size_t		 n = strlen(ref), hits = 0;

	TAILQ_FOREACH(sb, &sandboxes, entry)
		if (!sb->removed && (strcmp(sb->id, ref) == 0 ||
		    strcmp(sb->name, ref) == 0))
			return sb;
	TAILQ_FOREACH(sb, &sandboxes, entry)
		if (!sb->removed && strncmp(sb->id, ref, n) == 0) {
			found = sb;
			hits++;
		}
	if (hits == 1)
		return found;
	snprintf(err, errlen, hits ? "sandbox reference %s is ambiguous" :
	    "no such sandbox: %s", ref);
	return NULL;
}

static int
slot_used(int slot)
{
	struct sbx	*sb;

	TAILQ_FOREACH(sb, &sandboxes, entry)
		if (!sb->removed && sb->slot == slot)
			return 1;
	return 0;
}

/*
 * A slot (a host uid range) belongs to one sandbox on the whole host,
 * whichever lensvmm runs it: its holder keeps an flock on
 * VMM_SLOTDIR/N from the sandbox's creation to its removal (and loses
 * it when it dies).  The descriptor, or -1 when another holds it.
 */
static int
slot_lock(int slot)
{
	char	 path[sizeof(VMM_SLOTDIR) + 16];
	int	 fd;

	snprintf(path, sizeof(path), VMM_SLOTDIR "/%d", slot);
	if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600)) == -1) {
		log_warn("open %s", path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK)
			log_warn("flock %s", path);
		close(fd);
		return -1;
	}
	return fd;
}

static void
slot_unlock(struct sbx *sb)
{
	if (sb->slotfd != -1) {
		close(sb->slotfd);
		sb->slotfd = -1;
	}
}

static int
slot_alloc(int *fd)
{
	int	 slot;
	int	 n = 0;
	struct sbx *sb;

	*fd = -1;
	TAILQ_FOREACH(sb, &sandboxes, entry)
		if (!sb->removed)
			n++;
	if (n >= VMM_MAXSANDBOXES)
		return -1;
	for (slot = 0; slot < VMM_MAXSANDBOXES * 4; slot++) {
		if (slot_used(slot))
			continue;
		if (jail_user_collides(VMM_UIDBASE + VMM_UIDRANGE * slot,
		    VMM_UIDRANGE)) {
			log_info("uid range of slot %d is in use on the host; "
			    "skipped", slot);
			continue;
		}
		/* not taken by another lensvmm */
		if ((*fd = slot_lock(slot)) == -1)
			continue;
		return slot;
	}
	return -1;
}

/* --- fork of a jail process ---------------------------------------------- */

int
close_except(const int *keep, int nkeep)
{
	int	 i, j, lo = STDERR_FILENO + 1, hi, t;
	int	 sorted[16 + VMM_MAXVOLUMES];

	if (nkeep > (int)(sizeof(sorted) / sizeof(sorted[0]))) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < nkeep; i++)
		sorted[i] = keep[i];
	for (i = 0; i < nkeep; i++)
		for (j = i + 1; j < nkeep; j++)
			if (sorted[j] < sorted[i]) {
				t = sorted[i];
				sorted[i] = sorted[j];
				sorted[j] = t;
			}
	for (i = 0; i < nkeep; i++) {
		hi = sorted[i] - 1;
		if (sorted[i] < lo)
			continue;
		if (hi >= lo && close_range(lo, hi, 0) == -1)
			return -1;
		lo = sorted[i] + 1;
	}
	return close_range(lo, ~0U, 0);
}

static int
jail_fork(struct sbx *sb, struct jail_conf *jc)
{
	int	 sp[2], lp[2], keep[16 + VMM_MAXVOLUMES], n = 0, i;
	pid_t	 pid;
	void	*page;

	page = mmap(NULL, sizeof(int32_t), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		return -1;
	sb->child.sigsys = page;
	*sb->child.sigsys = -1;
	sb->child.name = "jail";
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sp) == -1) {
		munmap(page, sizeof(int32_t));
		sb->child.sigsys = NULL;
		return -1;
	}
	proc_logpair(lp);
	switch ((pid = fork())) {
	case -1:
		close(sp[0]);
		close(sp[1]);
		close(lp[0]);
		close(lp[1]);
		munmap(page, sizeof(int32_t));
		sb->child.sigsys = NULL;
		return -1;
	case 0:
		log_procinit("jail");
		/*
		 * The parent's event base is not the jail process's: give
		 * it a backend of its own (so nothing here touches the
		 * parent's epoll instance and signal pipe), then free it
		 * with all its events, which also gives back the signals;
		 * sandbox_main() makes a new base.
		 */
		if (event_reinit(evbase) == -1)
			fatalx("event_reinit");
		event_base_free(evbase);
		evbase = NULL;
		keep[n++] = sp[1];
		keep[n++] = lp[1];
		keep[n++] = jc->initfd;
		keep[n++] = jc->consolefd;
		if (jc->oomfd != -1)
			keep[n++] = jc->oomfd;
		for (i = 0; i < 4 && jc->cgprocs[i] != -1; i++)
			keep[n++] = jc->cgprocs[i];
		keep[n++] = jc->rootfd;
		for (i = 0; i < jc->nvolumes; i++)
			keep[n++] = jc->volumes[i].fd;
		if (close_except(keep, n) == -1)
			fatal("close_range");
		proc_child_stdio(lp[1]);
		sandbox_report_to(sb->child.sigsys);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_IGN);
		signal(SIGINT, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		_exit(sandbox_main(sp[1], jc));
	}
	close(sp[1]);
	close(lp[1]);
	sb->child.pid = pid;
	sb->child.fd = sp[0];
	sb->child.logfd = lp[0];
	proc_log_watch(&sb->child);
	jail_chan_init(sb, sp[0]);
	return 0;
}

/* --- requests ------------------------------------------------------------- */

static void
volumes_close(struct volume *vols, uint32_t n)
{
	uint32_t	 i;

	for (i = 0; i < n; i++)
		if (vols[i].fd != -1) {
			close(vols[i].fd);
			vols[i].fd = -1;
		}
}

/* milliseconds until deadline (CLOCK_MONOTONIC), 0 once it passed */
static int
ms_left(const struct timespec *deadline)
{
	struct timespec	 now;
	long long	 ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? (int)ms : 0;
}

/* each source opened as the caller and checked (hostpath.c) */
static int
parse_volumes(struct sbx *sb, const struct caller *who,
    const struct timespec *deadline, struct volume *vols, char *err,
    size_t errlen)
{
	const char		*p = sb->strings;
	struct gr_volume	 v;
	char			 why[256];
	uint32_t		 i;

	for (i = 0; i < sb->run.nvolumes; i++)
		vols[i].fd = -1;
	for (i = 0; i < sb->run.argc + sb->run.envc; i++)
		p += strlen(p) + 1;
	for (i = 0; i < sb->run.nvolumes; i++, p += strlen(p) + 1) {
		/* control checked them with the same parser */
		if (gr_volume("volume", p, &v, err, errlen) == -1) {
			volumes_close(vols, i);
			return -1;
		}
		strlcpy(vols[i].src, v.src, sizeof(vols[i].src));
		if ((vols[i].fd = hostpath_open(who, v.src, HOSTPATH_VOLUME,
		    ms_left(deadline), why, sizeof(why))) == -1 ||
		    hostpath_check(who,
		    vols[i].fd, HOSTPATH_VOLUME, protect, nprotect, why,
		    sizeof(why)) == -1) {
			snprintf(err, errlen, "volume %.200s: %.250s", v.src,
			    why);
			volumes_close(vols, i + 1);
			return -1;
		}
		strlcpy(vols[i].dst, v.dst, sizeof(vols[i].dst));
		vols[i].ro = v.ro;
	}
	return 0;
}

static void
init_exec_build(struct ibuf *b, uint32_t flags, uint16_t rows, uint16_t cols,
    const char *user, const char *cwd, uint32_t argc, uint32_t envc)
{
	struct init_exec	 ie;

	memset(&ie, 0, sizeof(ie));
	if (flags & RUN_TTY)
		ie.flags |= INIT_EXEC_TTY;
	if (flags & RUN_STDIN)
		ie.flags |= INIT_EXEC_STDIN;
	if (flags & RUN_ROOT)
		ie.flags |= INIT_EXEC_ROOT;
	ie.rows = rows;
	ie.cols = cols;
	ie.argc = argc;
	ie.envc = envc;
	strlcpy(ie.user, user, sizeof(ie.user));
	strlcpy(ie.cwd, cwd, sizeof(ie.cwd));
	if (imsg_add(b, &ie, sizeof(ie)) == -1)
		fatal("imsg_add");
}

static size_t
strings_len(const char *p, uint32_t n)
{
	const char	*s = p;
	uint32_t	 i;

	for (i = 0; i < n; i++)
		p += strlen(p) + 1;
	return (size_t)(p - s);
}

/* does the environment strs (after argc arguments) set key? */
static int
env_has(const char *strs, uint32_t argc, uint32_t envc, const char *key)
{
	const char	*p = strs + strings_len(strs, argc);
	size_t		 kl = strlen(key);
	uint32_t	 i;

	for (i = 0; i < envc; i++, p += strlen(p) + 1)
		if (strncmp(p, key, kl) == 0 && p[kl] == '=')
			return 1;
	return 0;
}

/*
 * The proxy settings of a sandbox attached to lensnetd, added to the
 * environment of every command unless the command sets them itself:
 * NUL-separated into buf; their count.
 */
static uint32_t
proxy_env(const struct sbx *sb, const char *strs, uint32_t argc,
    uint32_t envc, char *buf, size_t size, size_t *len)
{
	static const char *const keys[] = { "HTTP_PROXY", "HTTPS_PROXY",
	    "http_proxy", "https_proxy", "NO_PROXY", "no_proxy" };
	char		 gw[INET_ADDRSTRLEN];
	uint32_t	 n = 0;
	size_t		 i;
	int		 w;

	*len = 0;
	if (!sb->net.net || inet_ntop(AF_INET, &sb->net.gateway, gw,
	    sizeof(gw)) == NULL)
		return 0;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (env_has(strs, argc, envc, keys[i]))
			continue;
		if (i < 4)
			w = snprintf(buf + *len, size - *len, "%s=http://%s:%u",
			    keys[i], gw, sb->net.proxyport);
		else
			w = snprintf(buf + *len, size - *len,
			    "%s=localhost,127.0.0.1,::1", keys[i]);
		if (w < 0 || (size_t)w >= size - *len)
			break;
		*len += (size_t)w + 1;
		n++;
	}
	return n;
}

static int
send_exec(struct sbx *sb, uint32_t id, int fd, uint32_t flags, uint16_t rows,
    uint16_t cols, const char *user, const char *cwd, uint32_t argc,
    uint32_t envc, const char *strs)
{
	struct ibuf	*b;
	size_t		 len = strings_len(strs, argc + envc), xlen;
	char		 extra[512];
	uint32_t	 nx;

	nx = proxy_env(sb, strs, argc, envc, extra, sizeof(extra), &xlen);
	if (sizeof(struct init_exec) + len + xlen > IMSG_MAXPAYLOAD)
		return -1;
	if ((b = imsg_create(&sb->jch.iev.ibuf, IMSG_J_EXEC, id, 0,
	    sizeof(struct init_exec) + len + xlen)) == NULL)
		return -1;
	init_exec_build(b, flags, rows, cols, user, cwd, argc, envc + nx);
	if (imsg_add(b, strs, len) == -1 ||
	    (xlen > 0 && imsg_add(b, extra, xlen) == -1)) {
		imsg_abort(b);
		return -1;
	}
	b->fd = fd;
	imsg_close(&sb->jch.iev.ibuf, b);
	imsgev_add(&sb->jch.iev);
	return 0;
}

static void
audit_exec(struct sbx *sb, uint32_t id, uid_t by, const char *strs,
    uint32_t argc, int main)
{
	json_t	*d;

	d = json_pack("{s:o, s:i, s:b, s:I}", "command",
	    strings_json(strs, argc, NULL), "exec_id", (int)id, "main", main,
	    "uid", (json_int_t)by);
	audit_event(sb, "sandbox.exec", d);
}

static int
audit_refuses(struct reply *r)
{
	if (auditc_ready(audit))
		return 0;
	reply_error(r, CTL_EXIT_LENS, "lensauditd is not reachable at %s: no "
	    "sandbox starts without an audit log", auditsock);
	return 1;
}

/*
 * Keep the policy of a new sandbox: its text (for inspect and the state
 * file) and its binary model, which the policy process (policy.c) parsed
 * and this process checked (NAME is what an error names: "policy" for
 * --policy, the file for the default); take its resources where the run
 * request left them unset.  lensnetd gets the model at attach (without
 * lensnetd the sandbox has loopback only, less than any policy allows).
 * No root process parses the YAML.
 */
static int
policy_take(struct sbx *sb, const char *name, const char *text, size_t len,
    char *err, size_t errlen)
{
	const struct policy_resources *pr;
	struct policy		*pol;

	if (policy_model_parse(name, text, len, &pol, &sb->model,
	    &sb->modellen, err, errlen) == -1)
		return -1;
	strlcpy(sb->policyhash, policy_hash(pol), sizeof(sb->policyhash));
	pr = policy_resources(pol);	/* lensctl's options win */
	if (sb->run.memory == 0)
		sb->run.memory = pr->memory;
	if (sb->run.cpu_millis == 0)
		sb->run.cpu_millis = pr->cpu_millis;
	if (sb->run.pids == 0)
		sb->run.pids = pr->pids;
	policy_free(pol);
	if ((sb->policy = malloc(len)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(sb->policy, text, len);
	sb->policylen = len;
	return 0;
}

/*
 * The backend of a new sandbox: auto (the default) takes microvm where
 * the probe says a Linux guest can boot and jail elsewhere, with the
 * reason; microvm where it cannot boot is refused, never downgraded.
 * The client hears the choice first (IMSG_CTL_BACKEND).
 */
static int
choose_backend(const struct ctl_run *run, struct ctl_backend *cb,
    struct reply *r)
{
	char	 why[200];
	int	 ok;

	memset(cb, 0, sizeof(*cb));
	if (strcmp(run->backend, "jail") == 0) {
		strlcpy(cb->backend, "jail", sizeof(cb->backend));
		strlcpy(cb->why, "--backend jail", sizeof(cb->why));
		cb->chosen = 1;
		goto tell;
	}
	ok = microvm_probe(VMM_KVM, VMM_CPUINFO, guestdir, why,
	    sizeof(why)) == 0;
	/* what a microVM cannot give this request */
	if (ok && run->nvolumes > 0) {
		ok = 0;
		strlcpy(why, "-v volumes need the jail", sizeof(why));
	} else if (ok && run->memory != 0 && run->memory < VMM_VM_MIN_MEMORY) {
		ok = 0;
		snprintf(why, sizeof(why), "--memory %llu MiB is too small "
		    "for a Linux guest (at least %llu MiB)",
		    (unsigned long long)(run->memory >> 20),
		    (unsigned long long)(VMM_VM_MIN_MEMORY >> 20));
	}
	if (strcmp(run->backend, "microvm") == 0) {
		if (!ok) {
			reply_error(r, CTL_EXIT_LENS, "backend microvm "
			    "unavailable: %s", why);
			return -1;
		}
		strlcpy(cb->backend, "microvm", sizeof(cb->backend));
		snprintf(cb->why, sizeof(cb->why), "--backend microvm: %s",
		    why);
		cb->chosen = 1;
	} else if (ok) {
		strlcpy(cb->backend, "microvm", sizeof(cb->backend));
		snprintf(cb->why, sizeof(cb->why), "auto: %s", why);
	} else {
		strlcpy(cb->backend, "jail", sizeof(cb->backend));
		snprintf(cb->why, sizeof(cb->why), "microvm unavailable: %s",
		    why);
	}
tell:
	reply_send(r, IMSG_CTL_BACKEND, cb, sizeof(*cb));
	/* before the connection may go to the jail process */
	if (imsg_flush(&r->iev.ibuf) == -1 && errno != EAGAIN) {
		reply_error(r, CTL_EXIT_LENS, "client: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * A run without --policy gets the operator's default (-P), read anew
 * for each sandbox so that an edit needs no restart.  No file: no
 * policy, which lensnetd enforces as deny everything.  A file that is
 * there but unreadable, too big or wrong refuses the sandbox: a
 * default the operator wrote is never silently replaced by another.
 */
static int
policy_default_take(struct sbx *sb, char *err, size_t errlen)
{
	struct stat	 st;
	char		*text;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(defpolicy, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "default policy %s: %s", defpolicy,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1)
		snprintf(err, errlen, "default policy %s: %s", defpolicy,
		    strerror(errno));
	else if (!S_ISREG(st.st_mode))
		snprintf(err, errlen, "default policy %s: not a regular file",
		    defpolicy);
	else if (st.st_size > POLICY_MAXSIZE)
		snprintf(err, errlen, "default policy %s: larger than %d "
		    "bytes", defpolicy, POLICY_MAXSIZE);
	else
		err[0] = '\0';
	if (err[0] != '\0') {
		close(fd);
		return -1;
	}
	if ((text = malloc(st.st_size + 1)) == NULL) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	n = read(fd, text, st.st_size + 1);
	close(fd);
	if (n == -1 || n > st.st_size) {
		snprintf(err, errlen, "default policy %s: %s", defpolicy,
		    n == -1 ? strerror(errno) : "changed while read");
		free(text);
		return -1;
	}
	n = policy_take(sb, defpolicy, text, n, err, errlen);
	free(text);
	return n;
}

static void
req_run(struct reply *r, struct imsg *im, uid_t by)
{
	struct sbx		*sb;
	struct jail_conf	 jc;
	struct volume		 vols[VMM_MAXVOLUMES];
	struct caller		 who;
	struct timespec		 deadline;
	struct ctl_run		 run;
	struct ctl_backend	 cb;
	char			 err[512], path[PATH_MAX + 32], why[256];
	uint8_t			 rnd[32];
	int			 i, initfd = -1, consolefd = -1, oomfd = -1;
	int			 rootfd = -1;
	int			 cgprocs[4] = { -1, -1, -1, -1 };
	json_t			*d;

	memcpy(&run, im->data, sizeof(run));
	for (i = 0; i < VMM_MAXVOLUMES; i++)
		vols[i].fd = -1;
	if (audit_refuses(r))
		return;
	if (choose_backend(&run, &cb, r) == -1)
		return;
	if (run.npublish > 0 && netdsock[0] == '\0') {
		reply_error(r, CTL_EXIT_LENS, "-p needs lensnetd (lensvmm -n), "
		    "and this lensvmm runs sandboxes without a network");
		return;
	}
	if (run.name[0] != '\0' && sbx_find(run.name, err, sizeof(err)) !=
	    NULL) {
		reply_error(r, CTL_EXIT_LENS, "the name %s is already in use",
		    run.name);
		return;
	}
	/* the caller's own view of the host: group lens may run
	 * sandboxes, not read what it could not read itself */
	if (caller_get(r->iev.ibuf.fd, &who) == -1 || who.uid != by) {
		reply_error(r, CTL_EXIT_LENS, "cannot tell who is asking");
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += HOSTPATH_TIMEOUT;
	if ((rootfd = hostpath_open(&who, run.rootfs, HOSTPATH_DIR,
	    ms_left(&deadline), why, sizeof(why))) == -1 ||
	    hostpath_check(&who, rootfd, HOSTPATH_DIR,
	    protect, nprotect, why, sizeof(why)) == -1) {
		reply_error(r, CTL_EXIT_LENS, "rootfs %s: %s", run.rootfs, why);
		if (rootfd != -1)
			close(rootfd);
		return;
	}
	if ((sb = calloc(1, sizeof(*sb))) == NULL) {
		reply_error(r, CTL_EXIT_LENS, "out of memory");
		close(rootfd);
		return;
	}
	TAILQ_INIT(&sb->waiters);
	sb->run = run;
	strlcpy(sb->backend, cb.backend, sizeof(sb->backend));
	strlcpy(sb->backend_why, cb.why, sizeof(sb->backend_why));
	sb->child.fd = -1;
	sb->child.logfd = -1;
	sb->slotfd = -1;
	/* its lengths were checked on receipt (ctl_msgs[], ctl_request) */
	sb->stringslen = im->datalen - sizeof(run) - run.policylen;
	if ((sb->strings = malloc(sb->stringslen + 1)) == NULL) {
		free(sb);
		close(rootfd);
		reply_error(r, CTL_EXIT_LENS, "out of memory");
		return;
	}
	memcpy(sb->strings, (char *)im->data + sizeof(run), sb->stringslen);
	if ((run.policylen > 0 ? policy_take(sb, "policy", (char *)im->data +
	    sizeof(run) + sb->stringslen, run.policylen, err, sizeof(err)) :
	    policy_default_take(sb, err, sizeof(err))) == -1) {
		reply_error(r, CTL_EXIT_LENS, "%s", err);
		goto fail_mem;
	}
	if (parse_volumes(sb, &who, &deadline, vols, err, sizeof(err)) == -1) {
		reply_error(r, CTL_EXIT_LENS, "%s", err);
		goto fail_mem;
	}
	/* the policy's resources may have set the memory */
	if (strcmp(sb->backend, "microvm") == 0 && sb->run.memory != 0 &&
	    sb->run.memory < VMM_VM_MIN_MEMORY) {
		reply_error(r, CTL_EXIT_LENS, "backend microvm: memory %llu "
		    "MiB is too small for a Linux guest (at least %llu MiB)",
		    (unsigned long long)(sb->run.memory >> 20),
		    (unsigned long long)(VMM_VM_MIN_MEMORY >> 20));
		goto fail_mem;
	}
	arc4random_buf(rnd, sizeof(rnd));
	sodium_bin2hex(sb->id, sizeof(sb->id), rnd, sizeof(rnd));
	if (run.name[0] != '\0')
		strlcpy(sb->name, run.name, sizeof(sb->name));
	else
		snprintf(sb->name, sizeof(sb->name), "lens-%.12s", sb->id);
	if ((sb->slot = slot_alloc(&sb->slotfd)) == -1) {
		reply_error(r, CTL_EXIT_LENS, "no free sandbox slot (at most "
		    "%d sandboxes)", VMM_MAXSANDBOXES);
		goto fail_mem;
	}
	sb->base = VMM_UIDBASE + VMM_UIDRANGE * (uid_t)sb->slot;
	sb->created = time(NULL);
	sb->state = SANDBOX_CREATED;
	sb->next_exec = 1;
	TAILQ_INSERT_TAIL(&sandboxes, sb, entry);

	/* state directory: lower, root and (jail: its tmpfs writable
	 * layer) upper are mount points in the sandbox's namespace */
	if ((size_t)snprintf(sb->dir, sizeof(sb->dir), "%s/sandboxes/%s",
	    statedir, sb->id) >= sizeof(sb->dir))
		fatalx("state directory path too long");
	if (mkdir(sb->dir, 0711) == -1) {
		reply_error(r, CTL_EXIT_LENS, "mkdir %s: %s", sb->dir,
		    strerror(errno));
		sb->dir[0] = '\0';
		goto fail;
	}
	{
		static const char *const sub[] = { "lower", "root", "upper",
		    "work" };

		for (i = 0; i < 4; i++) {
			snprintf(path, sizeof(path), "%s/%s", sb->dir, sub[i]);
			if (mkdir(path, 0755) == -1 || (i >= 2 &&
			    chown(path, sb->base, sb->base) == -1)) {
				reply_error(r, CTL_EXIT_LENS, "create %s: %s",
				    path, strerror(errno));
				goto fail;
			}
		}
		snprintf(path, sizeof(path), "%s/work", sb->dir);
		(void)chmod(path, 0700);
	}
	snprintf(path, sizeof(path), "%s/console.log", sb->dir);
	if ((consolefd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND |
	    O_CLOEXEC, 0640)) == -1) {
		reply_error(r, CTL_EXIT_LENS, "create %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	if ((initfd = open(initpath, O_RDONLY | O_CLOEXEC)) == -1) {
		reply_error(r, CTL_EXIT_LENS, "lens-init %s: %s", initpath,
		    strerror(errno));
		goto fail;
	}
	if (cgroup_create(&sb->cg, sb->id, sb->run.memory == 0 ? 0 :
	    strcmp(sb->backend, "microvm") == 0 ? sb->run.memory +
	    VMM_VM_OVERHEAD : sb->run.memory, sb->run.cpu_millis,
	    sb->run.pids ? sb->run.pids : VMM_DEFAULT_PIDS, err,
	    sizeof(err)) == -1) {
		sb->cg.n = 0;
		reply_error(r, CTL_EXIT_LENS, "%s", err);
		goto fail;
	}
	if (cgroup_open_procs(&sb->cg, cgprocs) == -1 ||
	    (oomfd = cgroup_open_oom(&sb->cg)) == -1) {
		reply_error(r, CTL_EXIT_LENS, "cgroup %s: %s", sb->cg.paths[0],
		    strerror(errno));
		goto fail;
	}
	if (sbx_save(sb) == -1) {
		reply_error(r, CTL_EXIT_LENS, "cannot write the state of "
		    "sandbox %s", sb->id);
		goto fail;
	}
	d = sbx_json(sb);
	json_object_set_new(d, "uid", json_integer(by));
	json_object_del(d, "env");	/* may hold secrets */
	audit_event(sb, "sandbox.create", d);

	memset(&jc, 0, sizeof(jc));
	strlcpy(jc.id, sb->id, sizeof(jc.id));
	strlcpy(jc.name, sb->name, sizeof(jc.name));
	strlcpy(jc.dir, sb->dir, sizeof(jc.dir));
	strlcpy(jc.rootfs, run.rootfs, sizeof(jc.rootfs));
	jc.rootfd = rootfd;
	strlcpy(jc.emptydir, emptydir, sizeof(jc.emptydir));
	jc.base = sb->base;
	jc.flags = run.flags;
	jc.volumes = vols;
	jc.nvolumes = (int)run.nvolumes;
	jc.initfd = initfd;
	jc.consolefd = consolefd;
	for (i = 0; i < 4; i++)
		jc.cgprocs[i] = cgprocs[i];
	jc.oomfd = oomfd;
	jc.cgv2 = sb->cg.v2;
	jc.memory = sb->run.memory;	/* jail: bounds the writable layer */
	jc.parent = parent_pid;
	jc.netdfd = -1;
	strlcpy(jc.netdsock, netdsock, sizeof(jc.netdsock));
	jc.npublish = run.npublish;
	jc.model = sb->model;
	jc.modellen = sb->modellen;
	jc.publish = sb->strings + strings_len(sb->strings, run.argc +
	    run.envc + run.nvolumes);
	if (strcmp(sb->backend, "microvm") == 0) {
		jc.backend = BACKEND_MICROVM;
		strlcpy(jc.guestdir, guestdir, sizeof(jc.guestdir));
		strlcpy(jc.imagedir, imagedir, sizeof(jc.imagedir));
		jc.imagecache = imagecache;
		strlcpy(jc.fstype, diskimg_default_fstype(),
		    sizeof(jc.fstype));
		jc.ncpus = sb->run.cpu_millis == 0 ? 1 :
		    (sb->run.cpu_millis + 999) / 1000;
		jc.boot_timeout = boot_timeout;
		strlcpy(jc.kernel_args, kernel_args, sizeof(jc.kernel_args));
	}
	if (jail_fork(sb, &jc) == -1) {
		reply_error(r, CTL_EXIT_LENS, "fork the jail process: %s",
		    strerror(errno));
		audit_event(sb, "sandbox.destroy", json_pack("{s:s}",
		    "reason", "setup failed"));
		goto fail;
	}
	sb->starter = r;
	close(initfd);
	close(consolefd);
	close(oomfd);
	close(rootfd);
	volumes_close(vols, VMM_MAXVOLUMES);
	for (i = 0; i < 4; i++)
		if (cgprocs[i] != -1)
			close(cgprocs[i]);
	log_info("sandbox %s (%s): starting, backend %s (%s), uids %u-%u",
	    sb->name, sb->id, sb->backend, sb->backend_why,
	    (unsigned)sb->base, (unsigned)(sb->base + VMM_UIDRANGE - 1));
	return;
fail:
	if (initfd != -1)
		close(initfd);
	if (consolefd != -1)
		close(consolefd);
	if (oomfd != -1)
		close(oomfd);
	for (i = 0; i < 4; i++)
		if (cgprocs[i] != -1)
			close(cgprocs[i]);
	close(rootfd);
	volumes_close(vols, VMM_MAXVOLUMES);
	sbx_destroy_files(sb);
	sbx_free(sb);
	return;
fail_mem:
	close(rootfd);
	volumes_close(vols, VMM_MAXVOLUMES);
	free(sb->strings);
	free(sb->policy);
	free(sb->model);
	free(sb);
}

static void
req_exec(struct reply *r, struct imsg *im, uid_t by)
{
	struct ctl_exec	 x;
	struct sbx	*sb;
	char		 err[256];
	const char	*strs;
	uint32_t	 id;

	memcpy(&x, im->data, sizeof(x));
	if ((sb = sbx_find(x.sandbox, err, sizeof(err))) == NULL) {
		reply_error(r, CTL_EXIT_LENS, "%s", err);
		return;
	}
	if (sb->state != SANDBOX_RUNNING || sb->exited || !sb->jail_open) {
		reply_error(r, CTL_EXIT_LENS, "sandbox %s is not running",
		    sb->name);
		return;
	}
	if (audit_refuses(r))
		return;
	strs = (const char *)im->data + sizeof(x);
	id = ++sb->next_exec;
	if (send_exec(sb, id, r->iev.ibuf.fd, x.flags, x.rows, x.cols, x.user,
	    x.cwd, x.argc, x.envc, strs) == -1) {
		reply_error(r, CTL_EXIT_LENS, "command too long");
		return;
	}
	audit_exec(sb, id, by, strs, x.argc, 0);
	/* the connection now belongs to the jail process */
	event_del(&r->iev.ev);
	r->iev.events = 0;
	r->iev.ibuf.fd = -1;
	reply_free(r);
}

static void
req_ps(struct reply *r, struct imsg *im)
{
	struct ctl_ps		 ps;
	struct ctl_sandbox	 cs;
	struct sbx		*sb;
	const char		*p;
	uint32_t		 i;
	size_t			 n;

	memcpy(&ps, im->data, sizeof(ps));
	TAILQ_FOREACH(sb, &sandboxes, entry) {
		if (sb->removed || (!ps.all && sb->state == SANDBOX_STOPPED))
			continue;
		memset(&cs, 0, sizeof(cs));
		strlcpy(cs.id, sb->id, sizeof(cs.id));
		strlcpy(cs.name, sb->name, sizeof(cs.name));
		strlcpy(cs.backend, sb->backend, sizeof(cs.backend));
		cs.state = (uint32_t)sb->state;
		cs.exit_code = sb->exit_code;
		cs.created = sb->created;
		for (i = 0, p = sb->strings; i < sb->run.argc; i++) {
			n = strlen(cs.command);
			snprintf(cs.command + n, sizeof(cs.command) - n, "%s%s",
			    i ? " " : "", p);
			p += strlen(p) + 1;
		}
		reply_send(r, IMSG_CTL_PS_ENTRY, &cs, sizeof(cs));
	}
	reply_ok(r);
}

static void
stop_sandbox(struct sbx *sb, uint32_t grace_ms)
{
	struct j_stop	 js;

	if (!sb->jail_open || sb->exited)
		return;
	if (sb->state == SANDBOX_CREATED) {
		/*
		 * Still starting: the stop is for its command, which starts
		 * on READY and is then stopped like any other (an attached
		 * run sees 143 or 137, not a failed start).
		 */
		if (!sb->stop_pending || grace_ms < sb->stop_grace)
			sb->stop_grace = grace_ms;
		sb->stop_pending = 1;
		return;
	}
	memset(&js, 0, sizeof(js));
	js.grace_ms = grace_ms;
	if (imsgev_compose(&sb->jch.iev, IMSG_J_STOP, 0, 0, -1, &js,
	    sizeof(js)) == -1)
		fatal("compose for a jail process");
}

static void
add_waiter(struct sbx *sb, struct reply *r)
{
	struct waiter	*w;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		reply_error(r, CTL_EXIT_LENS, "out of memory");
		return;
	}
	w->r = r;
	TAILQ_INSERT_TAIL(&sb->waiters, w, entry);
}

static void
req_stop(struct reply *r, struct imsg *im, uid_t by)
{
	struct ctl_stop	 st;
	struct sbx	*sb;
	char		 err[256];

	memcpy(&st, im->data, sizeof(st));
	if ((sb = sbx_find(st.ref.sandbox, err, sizeof(err))) == NULL) {
		reply_error(r, CTL_EXIT_LENS, "%s", err);
		return;
	}
	if (sb->state == SANDBOX_STOPPED) {
		reply_ok(r);
		return;
	}
	audit_event(sb, "sandbox.stop", json_pack("{s:I, s:I}", "uid",
	    (json_int_t)by, "timeout", (json_int_t)st.timeout_secs));
	add_waiter(sb, r);
	stop_sandbox(sb, st.timeout_secs * 1000);
}

static void
sbx_remove(struct sbx *sb, const char *why)
{
	audit_event(sb, "sandbox.destroy", json_pack("{s:s}", "reason", why));
	sbx_destroy_files(sb);
	log_info("sandbox %s (%s) removed", sb->name, sb->id);
}

static void
req_rm(struct reply *r, struct imsg *im, uid_t by)
{
	struct ctl_rm	 rm;
	struct sbx	*sb;
	char		 err[256];

	memcpy(&rm, im->data, sizeof(rm));
	if ((sb = sbx_find(rm.ref.sandbox, err, sizeof(err))) == NULL) {
		reply_error(r, CTL_EXIT_LENS, "%s", err);
		return;
	}
	if (sb->state != SANDBOX_STOPPED) {
		if (!rm.force) {
			reply_error(r, CTL_EXIT_LENS, "sandbox %s is running: "
			    "stop it first or use rm -f", sb->name);
			return;
		}
		audit_event(sb, "sandbox.stop", json_pack("{s:I, s:I, s:b}",
		    "uid", (json_int_t)by, "timeout", (json_int_t)0, "force",
		    1));
		sb->remove = 1;
		add_waiter(sb, r);
		stop_sandbox(sb, 0);
		return;
	}
	sbx_remove(sb, "rm");
	if (sb->child.pid == 0)
		sbx_free(sb);
	reply_ok(r);
}

#define LOGBUF_SIZE	(sizeof(struct logrec) + LOG_RECMAX + 32768)

/*
 * Send every whole record of console.log read so far.  Returns 0, or
 * -1 after replying with an error when a record header is impossible.
 */
static int
logs_records(struct reply *r)
{
	struct logrec	 rec;
	size_t		 off = 0;

	while (r->loghave - off >= sizeof(rec)) {
		memcpy(&rec, r->logbuf + off, sizeof(rec));
		if ((rec.stream != LOG_STDOUT && rec.stream != LOG_STDERR) ||
		    rec.len == 0 || rec.len > LOG_RECMAX) {
			reply_error(r, CTL_EXIT_LENS, "console.log: bad record "
			    "at offset %lld (stream %u, length %u)",
			    (long long)(r->logoff + off), rec.stream, rec.len);
			return -1;
		}
		if (r->loghave - off - sizeof(rec) < rec.len)
			break;
		reply_send(r, rec.stream == LOG_STDOUT ? IMSG_CTL_STDOUT :
		    IMSG_CTL_STDERR, r->logbuf + off + sizeof(rec), rec.len);
		off += sizeof(rec) + rec.len;
	}
	memmove(r->logbuf, r->logbuf + off, r->loghave - off);
	r->loghave -= off;
	r->logoff += off;
	return 0;
}

/* read what is there; 1 at the end of the file, 0 to come back, -1 done */
static int
logs_read(struct reply *r)
{
	ssize_t	 n;

	while (r->iev.ibuf.wqueued < 1024 * 1024 && !r->closing) {
		n = read(r->logfd, r->logbuf + r->loghave,
		    LOGBUF_SIZE - r->loghave);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			reply_error(r, CTL_EXIT_LENS, "console.log: %s",
			    strerror(errno));
			return -1;
		}
		r->loghave += n;
		if (logs_records(r) == -1)
			return -1;
		if (n == 0)
			return 1;
	}
	return r->closing ? -1 : 0;
}

static void
logs_pump(int fd, short ev, void *arg)
{
	struct reply	*r = arg;
	struct sbx	*sb;
	char		 err[256];
	struct timeval	 tv;
	int		 end;

	(void)fd;
	(void)ev;
	if ((end = logs_read(r)) == -1)
		return;
	sb = sbx_find(r->id, err, sizeof(err));
	if (end && (!r->follow || sb == NULL ||
	    sb->state == SANDBOX_STOPPED)) {
		/* one last look after the end */
		if (logs_read(r) != 1)
			return;
		if (r->loghave != 0)
			reply_error(r, CTL_EXIT_LENS, "console.log: truncated "
			    "record at offset %lld", (long long)r->logoff);
		else
			reply_ok(r);
		return;
	}
	tv.tv_sec = 0;
	tv.tv_usec = end ? 200000 : 10000;
	evtimer_add(&r->ev_poll, &tv);
}

static void
req_logs(struct reply *r, struct imsg *im)
{
	struct ctl_logs	 lg;
	struct sbx	*sb;
	char		 err[256], path[PATH_MAX + 32];

	memcpy(&lg, im->data, sizeof(lg));
	if ((sb = sbx_find(lg.ref.sandbox, err, sizeof(err))) == NULL) {
		reply_error(r, CTL_EXIT_LENS, "%s", err);
		return;
	}
	snprintf(path, sizeof(path), "%s/console.log", sb->dir);
	if ((r->logfd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) ==
	    -1) {
		reply_error(r, CTL_EXIT_LENS, "%s: %s", path, strerror(errno));
		return;
	}
	if ((r->logbuf = malloc(LOGBUF_SIZE)) == NULL) {
		reply_error(r, CTL_EXIT_LENS, "out of memory");
		return;
	}
	r->follow = lg.follow;
	strlcpy(r->id, sb->id, sizeof(r->id));
	evtimer_set(&r->ev_poll, logs_pump, r);
	logs_pump(-1, 0, r);
}

static void
req_inspect(struct reply *r, struct imsg *im)
{
	struct ctl_ref	 rf;
	struct sbx	*sb;
	char		 err[256], *s;
	json_t		*j;

	memcpy(&rf, im->data, sizeof(rf));
	if ((sb = sbx_find(rf.sandbox, err, sizeof(err))) == NULL) {
		reply_error(r, CTL_EXIT_LENS, "%s", err);
		return;
	}
	j = sbx_json(sb);
	s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(j);
	if (s == NULL || strlen(s) > IMSG_MAXPAYLOAD) {
		free(s);
		reply_error(r, CTL_EXIT_LENS, "inspect: description too "
		    "large");
		return;
	}
	reply_send(r, IMSG_CTL_JSON, s, strlen(s));
	free(s);
	reply_ok(r);
}

/*
 * A request from control, its type and size checked against ctl_msgs[]
 * (proc_dispatch): the client's connection, or NULL when the request
 * was answered already.  Its contents are checked again: a parent
 * trusts no child.
 */
static struct reply *
ctl_request(struct imsg *im)
{
	struct reply	*r;
	const char	*why;
	int		 fd = im->fd;

	/* the fd is the client */
	if (fd == -1)
		fatalx("request from control without a connection");
	im->fd = -1;
	if ((r = reply_new(fd)) == NULL)
		return NULL;
	if ((why = control_request_check(im)) != NULL) {
		log_warnx("control: bad message %#x (%zu bytes): %s; dropped",
		    im->hdr.type, im->datalen, why);
		reply_error(r, CTL_EXIT_LENS, "lensvmm refused the request "
		    "from its control process");
		return NULL;
	}
	/* attach streams: their bytes are the jail's */
	if (im->hdr.type == IMSG_CTL_RUN || im->hdr.type == IMSG_CTL_EXEC)
		imsgev_pause(&r->iev, 1);
	if (shutting_down) {
		reply_error(r, CTL_EXIT_LENS, "lensvmm is shutting down");
		return NULL;
	}
	return r;
}

static void
ctl_run(struct imsg *im, void *arg)
{
	struct reply	*r;

	(void)arg;
	if ((r = ctl_request(im)) != NULL)
		req_run(r, im, im->hdr.peerid);
}

static void
ctl_exec(struct imsg *im, void *arg)
{
	struct reply	*r;

	(void)arg;
	if ((r = ctl_request(im)) != NULL)
		req_exec(r, im, im->hdr.peerid);
}

static void
ctl_ps(struct imsg *im, void *arg)
{
	struct reply	*r;

	(void)arg;
	if ((r = ctl_request(im)) != NULL)
		req_ps(r, im);
}

static void
ctl_stop(struct imsg *im, void *arg)
{
	struct reply	*r;

	(void)arg;
	if ((r = ctl_request(im)) != NULL)
		req_stop(r, im, im->hdr.peerid);
}

static void
ctl_rm(struct imsg *im, void *arg)
{
	struct reply	*r;

	(void)arg;
	if ((r = ctl_request(im)) != NULL)
		req_rm(r, im, im->hdr.peerid);
}

static void
ctl_logs(struct imsg *im, void *arg)
{
	struct reply	*r;

	(void)arg;
	if ((r = ctl_request(im)) != NULL)
		req_logs(r, im);
}

static void
ctl_inspect(struct imsg *im, void *arg)
{
	struct reply	*r;

	(void)arg;
	if ((r = ctl_request(im)) != NULL)
		req_inspect(r, im);
}

static const struct proc_msg ctl_msgs[] = {
	{ IMSG_CTL_RUN, sizeof(struct ctl_run), IMSG_MAXPAYLOAD, ctl_run, 1 },
	{ IMSG_CTL_EXEC, sizeof(struct ctl_exec), IMSG_MAXPAYLOAD, ctl_exec,
	    1 },
	PROC_MSG_FD(IMSG_CTL_PS, sizeof(struct ctl_ps), ctl_ps),
	PROC_MSG_FD(IMSG_CTL_STOP, sizeof(struct ctl_stop), ctl_stop),
	PROC_MSG_FD(IMSG_CTL_RM, sizeof(struct ctl_rm), ctl_rm),
	PROC_MSG_FD(IMSG_CTL_LOGS, sizeof(struct ctl_logs), ctl_logs),
	PROC_MSG_FD(IMSG_CTL_INSPECT, sizeof(struct ctl_ref), ctl_inspect),
};

/*
 * A request of the wrong type or size (proc_msg_check logged peer,
 * type and size): its client is told, the request dropped, and control
 * served on.
 */
static int
ctl_refused(struct imsg *im, void *arg)
{
	struct reply	*r;
	int		 fd = im->fd;

	(void)arg;
	if (fd == -1)
		return 1;	/* nobody to answer */
	im->fd = -1;
	if ((r = reply_new(fd)) != NULL)
		reply_error(r, CTL_EXIT_LENS, "lensvmm refused the request "
		    "from its control process");
	return 1;
}

static void
ctl_lost(struct proc_chan *ch, const char *why)
{
	(void)ch;
	/* control ended: SIGCHLD says why */
	if (strcmp(why, "gone") != 0 && strcmp(why, "read failed") != 0)
		fatalx("control: %s", why);
}

/* --- jail processes ----------------------------------------------------- */

static void
sbx_free(struct sbx *sb)
{
	struct waiter	*w;

	while ((w = TAILQ_FIRST(&sb->waiters)) != NULL) {
		TAILQ_REMOVE(&sb->waiters, w, entry);
		free(w);
	}
	if (sb->jail_open)
		imsgev_clear(&sb->jch.iev);
	if (sb->child.sigsys != NULL)
		munmap((void *)sb->child.sigsys, sizeof(int32_t));
	proc_log_unwatch(&sb->child);
	slot_unlock(sb);
	TAILQ_REMOVE(&sandboxes, sb, entry);
	free(sb->strings);
	free(sb->policy);
	free(sb->model);
	free(sb);
}

/* the jail process reported READY: start the main command */
static void
sbx_ready(struct sbx *sb, const struct j_ready *jr)
{
	pid_t			 initpid = jr->initpid;
	struct ctl_created	 cc;
	struct reply		*r = sb->starter;
	const char		*strs = sb->strings;
	int			 fd = -1;

	sb->state = SANDBOX_RUNNING;
	sb->started = time(NULL);
	sb->initpid = initpid;
	if (jr->net)
		sb->net = *jr;
	sbx_save(sb);
	if (r != NULL && !(sb->run.flags & RUN_DETACH))
		fd = r->iev.ibuf.fd;
	if (send_exec(sb, 1, fd, sb->run.flags, sb->run.rows, sb->run.cols,
	    sb->run.user, sb->run.cwd, sb->run.argc, sb->run.envc, strs) ==
	    -1) {
		if (r != NULL)
			reply_error(r, CTL_EXIT_LENS, "command too long");
		sb->starter = NULL;
		stop_sandbox(sb, 0);
		return;
	}
	audit_exec(sb, 1, 0, strs, sb->run.argc, 1);
	log_info("sandbox %s (%s): running, %s pid %d", sb->name,
	    sb->id, strcmp(sb->backend, "microvm") == 0 ? "vm process" :
	    "lens-init", (int)initpid);
	if (sb->stop_pending) {
		sb->stop_pending = 0;
		stop_sandbox(sb, sb->stop_grace);
	}
	sb->starter = NULL;
	if (r == NULL)
		return;
	if (fd != -1) {
		event_del(&r->iev.ev);
		r->iev.events = 0;
		r->iev.ibuf.fd = -1;
		reply_free(r);
		return;
	}
	memset(&cc, 0, sizeof(cc));
	strlcpy(cc.id, sb->id, sizeof(cc.id));
	strlcpy(cc.name, sb->name, sizeof(cc.name));
	strlcpy(cc.backend, sb->backend, sizeof(cc.backend));
	reply_last(r, IMSG_CTL_CREATED, &cc, sizeof(cc));
}

/* the sandbox ended (or never started): clean up, answer waiters */
static void
sbx_stopped(struct sbx *sb)
{
	struct waiter	*w;

	if (sb->state == SANDBOX_STOPPED)
		return;
	sb->state = SANDBOX_STOPPED;
	sb->finished = time(NULL);
	sb->initpid = 0;
	if (sb->cg.n > 0) {
		(void)cgroup_kill(&sb->cg);
		(void)cgroup_destroy(&sb->cg);
	}
	audit_event(sb, "sandbox.exit", json_pack("{s:i, s:i, s:b}",
	    "exit_code", sb->exit_code, "signal", sb->exit_sig, "oom_killed",
	    sb->oom));
	log_info("sandbox %s (%s): stopped, exit code %d%s", sb->name, sb->id,
	    sb->exit_code, sb->oom ? " (OOM killed)" : "");
	if (sb->remove || (sb->run.flags & RUN_RM))
		sbx_remove(sb, sb->remove ? "rm -f" : "--rm");
	else
		sbx_save(sb);
	while ((w = TAILQ_FIRST(&sb->waiters)) != NULL) {
		TAILQ_REMOVE(&sb->waiters, w, entry);
		reply_ok(w->r);
		free(w);
	}
	if (sb->jail_open && imsgev_compose(&sb->jch.iev, IMSG_J_FINISH, 0, 0,
	    -1, NULL, 0) == -1)
		fatal("compose for a jail process");
}

static void
jail_gone(struct sbx *sb, const char *why)
{
	struct waiter	*w;

	if (sb->jail_open) {
		imsgev_clear(&sb->jch.iev);
		sb->jail_open = 0;
	}
	if (sb->state == SANDBOX_STOPPED)
		return;
	if (sb->state == SANDBOX_CREATED) {
		/* setup failed: nothing ran; the sandbox goes */
		if (sb->starter != NULL)
			reply_error(sb->starter, CTL_EXIT_LENS, "%s", why);
		sb->starter = NULL;
		audit_event(sb, "sandbox.destroy", json_pack("{s:s, s:s}",
		    "reason", "setup failed", "error", why));
		sb->state = SANDBOX_STOPPED;
		sbx_destroy_files(sb);
		/* stop or rm -f waiting for it: it is gone */
		while ((w = TAILQ_FIRST(&sb->waiters)) != NULL) {
			TAILQ_REMOVE(&sb->waiters, w, entry);
			reply_ok(w->r);
			free(w);
		}
		return;
	}
	if (!sb->exited) {
		sb->exit_code = CTL_EXIT_LENS;
		sb->exit_sig = 0;
	}
	sbx_stopped(sb);
}

/*
 * A message from a jail process that its state does not allow: the
 * process parses what the workload's lens-init sends and may be
 * compromised; the sandbox ends, lensvmm does not.
 */
static void
jail_refuse(struct sbx *sb, const char *why)
{
	log_warnx("sandbox %s: %s; killing it", sb->name, why);
	if (sb->child.pid > 0)
		kill(sb->child.pid, SIGKILL);
	jail_gone(sb, why);
}

static void
jail_ready(struct imsg *im, void *arg)
{
	struct sbx	*sb = arg;
	struct j_ready	 jr;

	if (sb->state != SANDBOX_CREATED) {
		jail_refuse(sb, "READY twice");
		return;
	}
	memcpy(&jr, im->data, sizeof(jr));
	if (jr.net && netdsock[0] == '\0')
		jail_refuse(sb, "READY with a network nobody asked for");
	else if (!jr.net && netdsock[0] != '\0')
		jail_refuse(sb, "READY without the network of lensnetd");
	else
		sbx_ready(sb, &jr);
}

static void
jail_failed(struct imsg *im, void *arg)
{
	struct sbx		*sb = arg;
	struct ctl_error	 ce;
	static char		 msg[600];

	if (sb->state != SANDBOX_CREATED) {
		jail_refuse(sb, "FAILED after READY");
		return;
	}
	memcpy(&ce, im->data, sizeof(ce));
	ce.msg[sizeof(ce.msg) - 1] = '\0';
	log_warnx("sandbox %s: %s", sb->name, ce.msg);
	snprintf(msg, sizeof(msg), "sandbox setup failed: %s", ce.msg);
	jail_gone(sb, msg);
}

static void
jail_exec_exit(struct imsg *im, void *arg)
{
	struct sbx		*sb = arg;
	struct j_exec_exit	 je;

	memcpy(&je, im->data, sizeof(je));
	if (im->hdr.peerid != 1)
		audit_event(sb, "sandbox.exec_exit", json_pack(
		    "{s:i, s:i, s:i}", "exec_id", (int)im->hdr.peerid,
		    "exit_code", je.code, "signal", je.sig));
}

static void
jail_exit(struct imsg *im, void *arg)
{
	struct sbx	*sb = arg;
	struct ctl_exit	 ex;

	if (sb->state != SANDBOX_RUNNING || sb->exited) {
		jail_refuse(sb, "EXIT before READY or twice");
		return;
	}
	memcpy(&ex, im->data, sizeof(ex));
	sb->exited = 1;
	sb->exit_code = ex.code;
	sb->exit_sig = ex.sig;
	sb->oom = ex.oom != 0;
	sbx_stopped(sb);
}

static const struct proc_msg jail_msgs[] = {
	PROC_MSG(IMSG_J_READY, sizeof(struct j_ready), jail_ready),
	PROC_MSG(IMSG_J_FAILED, sizeof(struct ctl_error), jail_failed),
	PROC_MSG(IMSG_J_EXEC_EXIT, sizeof(struct j_exec_exit),
	    jail_exec_exit),
	PROC_MSG(IMSG_J_EXIT, sizeof(struct ctl_exit), jail_exit),
};

/*
 * The channel to a jail process ended: it closed it, or sent a message
 * of a type or size not in jail_msgs[] or a malformed frame
 * (proc_dispatch logged peer, type and size), and is killed.
 */
static void
jail_lost(struct proc_chan *ch, const char *why)
{
	struct sbx	*sb = ch->arg;

	if (strcmp(why, "gone") == 0 || strcmp(why, "read failed") == 0) {
		jail_gone(sb, "the jail process ended");
		return;
	}
	if (strcmp(why, "write failed") == 0) {
		jail_gone(sb, "lost the jail process");
		return;
	}
	jail_refuse(sb, why);
}

/* the channel to sb's jail process, fd the parent's end */
static void
jail_chan_init(struct sbx *sb, int fd)
{
	snprintf(sb->jpeer, sizeof(sb->jpeer), "jail %s", sb->name);
	proc_chan_init(&sb->jch, fd, sb->jpeer, jail_msgs,
	    sizeof(jail_msgs) / sizeof(jail_msgs[0]), sb);
	sb->jch.lost = jail_lost;
	sb->jail_open = 1;
}

/* --- recovery ----------------------------------------------------------- */

/* kill what is left in the cgroups of sandbox id and remove them */
static void
recover_cgroup_of(const char *id)
{
	struct cgroup	 cg;
	struct stat	 st;
	int		 n, i, found = 0;

	cgroup_path(&cg, id);
	for (i = 0; i < cg.n; i++)
		if (stat(cg.paths[i], &st) == 0)
			found = 1;
	if (!found)
		return;
	if ((n = cgroup_kill(&cg)) > 0)
		log_info("recovery: killed %d leftover processes of %s", n, id);
	if (cgroup_destroy(&cg) == 0)
		log_info("recovery: removed the cgroups of %s", id);
}

/*
 * A cgroup under this instance's parent: only those of sandboxes in our
 * state directory are ours.  Anything else belongs to another lensvmm
 * that was given the same -c name, and is left alone.
 */
static void
recover_cgroup(const char *id, void *arg)
{
	struct sbx	*sb;

	(void)arg;
	TAILQ_FOREACH(sb, &sandboxes, entry)
		if (strcmp(sb->id, id) == 0)
			break;
	if (sb == NULL) {
		log_warnx("recovery: cgroup %s/%s is not a sandbox of %s; "
		    "left alone", cgroup_parent(), id, statedir);
		return;
	}
	if (sb->state == SANDBOX_STOPPED)
		recover_cgroup_of(id);
}

static void
recover_mounts(void)
{
	FILE	*f;
	char	 line[4096], prefix[PATH_MAX + 16], *p, *mp;
	int	 i, found;
	size_t	 plen;

	snprintf(prefix, sizeof(prefix), "%s/sandboxes/", statedir);
	plen = strlen(prefix);
	/* deepest first: repeat while anything is found */
	for (i = 0; i < 16; i++) {
		found = 0;
		if ((f = fopen("/proc/self/mountinfo", "re")) == NULL)
			return;
		while (fgets(line, sizeof(line), f) != NULL) {
			p = line;
			/* 5th field is the mount point */
			strsep(&p, " ");
			strsep(&p, " ");
			strsep(&p, " ");
			strsep(&p, " ");
			if ((mp = strsep(&p, " ")) == NULL)
				continue;
			if (strncmp(mp, prefix, plen) == 0) {
				if (umount2(mp, MNT_DETACH) == 0)
					log_info("recovery: unmounted %s", mp);
				found = 1;
			}
		}
		fclose(f);
		if (!found)
			break;
	}
}

static void
recover(void)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[PATH_MAX + 300];
	json_t		*j;
	json_error_t	 je;
	struct sbx	*sb;
	const char	*s;
	size_t		 len;

	recover_mounts();
	snprintf(path, sizeof(path), "%s/sandboxes", statedir);
	if ((d = opendir(path)) == NULL)
		fatal("opendir %s", path);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/sandboxes/%s/config.json",
		    statedir, de->d_name);
		if (!gr_id(de->d_name) ||
		    (j = json_load_file(path, JSON_REJECT_DUPLICATES |
		    JSON_ALLOW_NUL, &je)) ==
		    NULL) {
			snprintf(path, sizeof(path), "%s/sandboxes/%s",
			    statedir, de->d_name);
			log_warnx("recovery: %s has no usable config.json; "
			    "removed", path);
			/* it may have died between its cgroup and its
			 * config.json: the cgroup goes too */
			if (gr_id(de->d_name))
				recover_cgroup_of(de->d_name);
			(void)rm_tree(path);
			continue;
		}
		if ((sb = calloc(1, sizeof(*sb))) == NULL)
			fatal("calloc");
		TAILQ_INIT(&sb->waiters);
		sb->child.fd = -1;
		sb->child.logfd = -1;
		sb->slotfd = -1;
		strlcpy(sb->id, de->d_name, sizeof(sb->id));
		if ((size_t)snprintf(sb->dir, sizeof(sb->dir),
		    "%s/sandboxes/%s", statedir, sb->id) >= sizeof(sb->dir))
			fatalx("state directory path too long");
		cgroup_path(&sb->cg, sb->id);
		s = json_string_value(json_object_get(j, "name"));
		strlcpy(sb->name, s ? s : sb->id, sizeof(sb->name));
		s = json_string_value(json_object_get(j, "rootfs"));
		strlcpy(sb->run.rootfs, s ? s : "", sizeof(sb->run.rootfs));
		s = json_string_value(json_object_get(j, "backend"));
		strlcpy(sb->backend, s != NULL && strcmp(s, "microvm") == 0 ?
		    "microvm" : "jail", sizeof(sb->backend));
		s = json_string_value(json_object_get(j, "backend_reason"));
		strlcpy(sb->backend_why, s ? s : "", sizeof(sb->backend_why));
		sb->slot = (int)json_integer_value(json_object_get(j, "_slot"));
		sb->base = VMM_UIDBASE + VMM_UIDRANGE * (uid_t)sb->slot;
		sb->run.flags = (uint32_t)json_integer_value(json_object_get(j,
		    "_flags"));
		sb->run.argc = (uint32_t)json_array_size(json_object_get(j,
		    "command"));
		sb->run.envc = (uint32_t)json_array_size(json_object_get(j,
		    "env"));
		sb->run.nvolumes = (uint32_t)json_array_size(json_object_get(j,
		    "volumes"));
		sb->run.memory = (uint64_t)json_integer_value(json_object_get(
		    json_object_get(j, "resources"), "memory"));
		sb->run.cpu_millis = (uint32_t)json_integer_value(
		    json_object_get(json_object_get(j, "resources"),
		    "cpu_millis"));
		sb->run.pids = (uint32_t)json_integer_value(json_object_get(
		    json_object_get(j, "resources"), "pids"));
		s = json_string_value(json_object_get(j, "cwd"));
		strlcpy(sb->run.cwd, s ? s : "", sizeof(sb->run.cwd));
		s = json_string_value(json_object_get(j, "_strings"));
		len = json_string_length(json_object_get(j, "_strings"));
		if ((sb->strings = malloc(len + 1)) == NULL)
			fatal("malloc");
		memcpy(sb->strings, s ? s : "", s ? len : 0);
		sb->stringslen = len;
		if ((s = json_string_value(json_object_get(j, "_policy"))) !=
		    NULL) {
			char	 perr[512];

			if (policy_take(sb, "policy", s, json_string_length(
			    json_object_get(j, "_policy")), perr,
			    sizeof(perr)) == -1)
				log_warnx("%s: policy: %s", sb->id, perr);
		}
		if (strings_len(sb->strings, 0) > len || s == NULL ||
		    sb->slot < 0 || sb->slot >= VMM_MAXSANDBOXES * 4) {
			sb->run.argc = sb->run.envc = sb->run.nvolumes = 0;
		} else {
			/* the strings must hold what the counts say */
			const char	*p = sb->strings, *end = p + len;
			uint32_t	 i, n = sb->run.argc + sb->run.envc +
			    sb->run.nvolumes;

			for (i = 0; i < n && p < end; i++) {
				const char *nul = memchr(p, '\0', end - p);

				if (nul == NULL)
					break;
				p = nul + 1;
			}
			if (i != n)
				sb->run.argc = sb->run.envc =
				    sb->run.nvolumes = 0;
		}
		sb->state = SANDBOX_STOPPED;
		sb->exit_code = (int32_t)json_integer_value(json_object_get(j,
		    "exit_code"));
		sb->exit_sig = (int32_t)json_integer_value(json_object_get(j,
		    "signal"));
		sb->oom = json_is_true(json_object_get(j, "oom_killed"));
		sb->created = json_integer_value(json_object_get(j, "created"));
		sb->started = json_integer_value(json_object_get(j, "started"));
		sb->finished = json_integer_value(json_object_get(j,
		    "finished"));
		s = json_string_value(json_object_get(j, "state"));
		/* its files in upper/ are owned by its uids: keep them */
		if (sb->slot >= 0 && sb->slot < VMM_MAXSANDBOXES * 4 &&
		    (sb->slotfd = slot_lock(sb->slot)) == -1)
			log_warnx("recovery: the uids of sandbox %s (slot %d) "
			    "are taken by another lensvmm", sb->name,
			    sb->slot);
		TAILQ_INSERT_TAIL(&sandboxes, sb, entry);
		if (s != NULL && strcmp(s, "stopped") != 0) {
			/* it was running when lensvmm died: it is gone now */
			log_info("recovery: sandbox %s (%s) was %s; marked "
			    "stopped", sb->name, sb->id, s);
			(void)cgroup_kill(&sb->cg);
			(void)cgroup_destroy(&sb->cg);
			sb->exit_code = 255;
			sb->finished = time(NULL);
			audit_event(sb, "sandbox.exit", json_pack("{s:i, s:b}",
			    "exit_code", 255, "recovered", 1));
			if (sb->run.flags & RUN_RM) {
				sbx_remove(sb, "--rm (recovered)");
				sbx_free(sb);
			} else
				sbx_save(sb);
		}
		json_decref(j);
	}
	closedir(d);
	cgroup_scan(recover_cgroup, NULL);
}

/* --- main --------------------------------------------------------------- */

static void
parent_sig(int sig, short ev, void *arg)
{
	struct sbx	*sb, *next;
	pid_t		 pid;
	int		 st, abnormal = 0;

	(void)ev;
	(void)arg;
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		log_info("shutting down on SIG%s", sigabbrev_np(sig));
		shutting_down = 1;
		TAILQ_FOREACH(sb, &sandboxes, entry)
			stop_sandbox(sb, 2000);
		if (control.pid > 0)
			kill(control.pid, SIGTERM);
		break;
	case SIGHUP:
		log_info("SIGHUP: nothing to reload");
		break;
	case SIGCHLD:
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
			if (pid == control.pid) {
				proc_log_relay(&control);
				control.pid = 0;
				control.status = st;
				if (!shutting_down)
					fatalx("control %s", proc_status(
					    &control));
				continue;
			}
			TAILQ_FOREACH_SAFE(sb, &sandboxes, entry, next) {
				if (sb->child.pid != pid)
					continue;
				/* its last words, then the jail gone */
				proc_log_relay(&sb->child);
				sb->child.pid = 0;
				sb->child.status = st;
				if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
					log_warnx("sandbox %s: jail process %s",
					    sb->name, proc_status(&sb->child));
				jail_gone(sb, proc_status(&sb->child));
				if (sb->removed)
					sbx_free(sb);
			}
		}
		(void)abnormal;
		if (shutting_down) {
			TAILQ_FOREACH(sb, &sandboxes, entry)
				if (sb->child.pid != 0)
					return;
			if (control.pid == 0)
				event_loopexit(NULL);
		}
		break;
	}
}

int
main(int argc, char *argv[])
{
	struct control_conf	 cc;
	struct event		 ev_term, ev_int, ev_hup, ev_chld;
	struct group		*gr;
	char			 path[PATH_MAX + 16];
	char			 cgname[CGROUP_NAME_MAX + 1];
	int			 ch, debug = 0, verbose = 0, keep[3], lockfd;

	strlcpy(sockpath, VMM_SOCKET, sizeof(sockpath));
	strlcpy(statedir, VMM_STATEDIR, sizeof(statedir));
	strlcpy(auditsock, VMM_AUDITSOCK, sizeof(auditsock));
	strlcpy(initpath, VMM_LENSINIT, sizeof(initpath));
	strlcpy(cgname, VMM_CGROUP, sizeof(cgname));
	strlcpy(guestdir, VMM_GUESTDIR, sizeof(guestdir));
	strlcpy(defpolicy, VMM_POLICY, sizeof(defpolicy));
	while ((ch = getopt(argc, argv, "a:C:c:dD:g:i:k:n:P:s:T:vx:")) != -1) {
		switch (ch) {
		case 'x':
			if (optarg[0] != '/' || nprotect == (int)(sizeof(protect) /
			    sizeof(protect[0])))
				errx(2, "-x %s: need an absolute path, at most "
				    "%d times", optarg, VMM_MAXPROTECT);
			/* a copy: setproctitle() reuses argv's memory */
			if ((protect[nprotect++] = strdup(optarg)) == NULL)
				err(1, "strdup");
			break;
		case 'g':
			if (optarg[0] != '/' || strlcpy(guestdir, optarg,
			    sizeof(guestdir)) >= sizeof(guestdir) - 32 ||
			    strpbrk(optarg, " \t\n") != NULL)
				errx(2, "-g %s: need an absolute path without "
				    "blanks", optarg);
			break;
		case 'k':
			if (strlcpy(kernel_args, optarg, sizeof(kernel_args)) >=
			    sizeof(kernel_args) || strpbrk(optarg, "\"\n") !=
			    NULL)
				errx(2, "-k: at most %zu bytes of kernel "
				    "arguments, without quotes or newlines",
				    sizeof(kernel_args) - 1);
			break;
		case 'T':
			{
				const char	*errstr;

				boot_timeout = strtonum(optarg, 1, 3600,
				    &errstr);
				if (errstr != NULL)
					errx(2, "-T %s: seconds %s", optarg,
					    errstr);
			}
			break;
		case 'a':
			if (strlcpy(auditsock, optarg, sizeof(auditsock)) >=
			    sizeof(auditsock))
				errx(2, "-a %s: path too long", optarg);
			break;
		case 'C':
			{
				char	 why[GR_ERRSIZE];

				if (gr_size("-C", optarg, 0, UINT64_MAX,
				    &imagecache, why, sizeof(why)) == -1)
					errx(2, "%s", why);
			}
			break;
		case 'c':
			if (!cgroup_name_ok(optarg))
				errx(2, "-c %s: need a name of at most %d "
				    "letters, digits, '.', '_' or '-'", optarg,
				    CGROUP_NAME_MAX);
			strlcpy(cgname, optarg, sizeof(cgname));
			break;
		case 'd':
			debug = 1;
			break;
		case 'D':
			if (optarg[0] != '/' || strlcpy(statedir, optarg,
			    sizeof(statedir)) >= sizeof(statedir) - 128 ||
			    strpbrk(optarg, ",:") != NULL)
				errx(2, "-D %s: need a short absolute path "
				    "without ',' or ':'", optarg);
			break;
		case 'i':
			if (optarg[0] != '/' || strlcpy(initpath, optarg,
			    sizeof(initpath)) >= sizeof(initpath))
				errx(2, "-i %s: need an absolute path", optarg);
			break;
		case 'n':
			if (optarg[0] != '/' || strlcpy(netdsock, optarg,
			    sizeof(netdsock)) >= sizeof(netdsock))
				errx(2, "-n %s: need an absolute path of at most "
				    "%zu bytes", optarg, sizeof(netdsock) - 1);
			break;
		case 'P':
			if (optarg[0] != '/' || strlcpy(defpolicy, optarg,
			    sizeof(defpolicy)) >= sizeof(defpolicy))
				errx(2, "-P %s: need an absolute path of at most "
				    "%zu bytes", optarg, sizeof(defpolicy) - 1);
			break;
		case 's':
			if (strlcpy(sockpath, optarg, sizeof(sockpath)) >=
			    sizeof(sockpath))
				errx(2, "-s %s: path too long", optarg);
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	log_init(1, LOG_DAEMON);
	log_setverbose(verbose);
	log_procinit("parent");
	if (geteuid() != 0)
		fatalx("must run as root");
	if (access(initpath, X_OK) == -1)
		fatal("lens-init %s", initpath);
	memset(&cc, 0, sizeof(cc));
	cc.lens_gid = (gr = getgrnam(VMM_GROUP)) != NULL ? gr->gr_gid :
	    (gid_t)-1;
	if (cc.lens_gid == (gid_t)-1)
		log_warnx("group %s does not exist: only root may use lensctl",
		    VMM_GROUP);
	{
		struct privsep_user	 u;
		char			 err[256];

		if (privsep_user(VMM_USER, &u, err, sizeof(err)) == -1)
			fatalx("%s", err);
	}
	privsep_emptydir(LENS_EMPTYDIR);
	strlcpy(emptydir, LENS_EMPTYDIR, sizeof(emptydir));
	if (mkdir(statedir, 0755) == -1 && errno != EEXIST)
		fatal("mkdir %s", statedir);
	/* one lensvmm per state directory: recovery would kill the other's
	 * sandboxes */
	snprintf(path, sizeof(path), "%s/lensvmm.lock", statedir);
	if ((lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
		fatal("open %s", path);
	if (flock(lockfd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			fatalx("another lensvmm uses the state directory %s",
			    statedir);
		fatal("lock %s", path);
	}
	if (cgroup_init(cgname) == -1)
		fatal("cgroups under %s", cgname);
	if ((mkdir("/run/lens", 0755) == -1 && errno != EEXIST) ||
	    (mkdir(VMM_SLOTDIR, 0700) == -1 && errno != EEXIST))
		fatal("mkdir %s", VMM_SLOTDIR);
	/* a descriptor per sandbox (its jail process, its slot) and client */
	{
		struct rlimit	 rl;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur <
		    rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
				log_warn("RLIMIT_NOFILE");
		}
	}
	snprintf(path, sizeof(path), "%s/sandboxes", statedir);
	if (mkdir(path, 0711) == -1 && errno != EEXIST)
		fatal("mkdir %s", path);
	if ((size_t)snprintf(imagedir, sizeof(imagedir), "%.*s/%s",
	    (int)(sizeof(imagedir) - sizeof(VMM_IMAGEDIR) - 1), statedir,
	    VMM_IMAGEDIR) >= sizeof(imagedir))
		fatalx("state directory path too long");
	if (mkdir(imagedir, 0700) == -1 && errno != EEXIST)
		fatal("mkdir %s", imagedir);
	(void)diskimg_cache_clean(imagedir, imagecache);

	/* the socket: group lens may connect */
	cc.listen_fd = unixsock_listen(sockpath, 0660,
	    cc.lens_gid == (gid_t)-1 ? 0 : cc.lens_gid);

	log_init(debug, LOG_DAEMON);
	if (!debug && daemon(0, 0) == -1)
		fatal("daemon");
	proc_init(argc, argv);
	parent_pid = getpid();
	cc.parent = parent_pid;
	keep[0] = cc.listen_fd;
	keep[1] = -1;
	proc_fork(&control, control_main, &cc, keep);
	close(cc.listen_fd);
	proc_title("parent");

	if ((evbase = event_init()) == NULL)
		fatalx("event_init");
	signal_set(&ev_term, SIGTERM, parent_sig, NULL);
	signal_set(&ev_int, SIGINT, parent_sig, NULL);
	signal_set(&ev_hup, SIGHUP, parent_sig, NULL);
	signal_set(&ev_chld, SIGCHLD, parent_sig, NULL);
	signal_add(&ev_term, NULL);
	signal_add(&ev_int, NULL);
	signal_add(&ev_hup, NULL);
	signal_add(&ev_chld, NULL);
	signal(SIGPIPE, SIG_IGN);
	proc_chan_init(&ctl_chan, control.fd, "control", ctl_msgs,
	    sizeof(ctl_msgs) / sizeof(ctl_msgs[0]), NULL);
	ctl_chan.refused = ctl_refused;
	ctl_chan.lost = ctl_lost;
	proc_log_watch(&control);
	if ((audit = auditc_new(auditsock, "lensvmm", audit_cb, NULL)) == NULL)
		fatal("audit client");
	recover();

	privsep_limit_caps(keep_caps, sizeof(keep_caps) / sizeof(keep_caps[0]));
	if (jail_seccomp_parent() == -1)
		fatalx("cannot load the parent's seccomp filter");
	log_info("started: socket %s, state %s, cgroup %s, lens-init %s, "
	    "audit %s, network %s", sockpath, statedir, cgroup_parent(),
	    initpath, auditsock, netdsock[0] ? netdsock : "none");
	{
		char	 why[200];

		if (microvm_probe(VMM_KVM, VMM_CPUINFO, guestdir, why,
		    sizeof(why)) == 0)
			log_info("backend auto: microvm (%s)", why);
		else
			log_info("backend auto: jail (microvm unavailable: "
			    "%s)", why);
	}
	event_dispatch();
	cgroup_fini();
	log_info("exiting");
	return 0;
}
