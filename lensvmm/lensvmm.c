/*
 * lensvmm parent: options, start-up, signals, and the channels to the
 * control child and to the jail process of every sandbox (their message
 * tables and handlers).  What the requests do is in the files parent.h
 * lists (run.c, state.c, stop.c, ...).
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
#include <sys/resource.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "auditc.h"
#include "grammar.h"
#include "imsgev.h"
#include "lensconf.h"
#include "log.h"
#include "layer.h"
#include "lensvmm.h"
#include "parent.h"
#include "privsep.h"
#include "pull.h"
#include "registry.h"
#include "seccomp_filter.h"
#include "unixsock.h"
#include "version.h"

static struct proc_child	 control = { .name = "control", .fd = -1 };
static struct proc_chan		 ctl_chan;
struct event_base		*evbase;
struct auditc			*audit;
char				 statedir[PATH_MAX];
static char			 sockpath[108];
/* Lens state directories no rootfs or volume may be, hold or be in:
 * the fixed ones, -D, and the other daemons' (-x) */
const char			*protect[4 + VMM_MAXPROTECT] = {
	"/var/lib/lens", "/etc/lens", "/run/lens", statedir };
int				 nprotect = 4;
char				 auditsock[108], initpath[PATH_MAX];
char				 emptydir[PATH_MAX];
char				 regcreds[PATH_MAX] = REG_CREDS_FILE;
char				 netdsock[108];	/* "" without lensnetd */
char				 guestdir[PATH_MAX];	/* microvm: kernel, initramfs */
char				 imagedir[PATH_MAX];	/* microvm: image cache */
uint32_t			 boot_timeout = VMM_VM_BOOT_TIMEOUT;
char				 kernel_args[512];	/* microvm: -k */
uint64_t			 imagecache = VMM_IMAGECACHE;	/* -C */
char				 defpolicy[256];	/* -P */
pid_t				 parent_pid;
static int			 shutting_down;

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
	fprintf(stderr, "usage: lensvmm [-dVv] [-A apprsock] [-a auditsock] "
	    "[-C cachesize]\n\t[-c cgroup] [-D statedir] "
	    "[-E layer-entries] [-F layer-file-size]\n\t[-g guestdir] "
	    "[-i lens-init] [-k kernel-args] [-L layer-size] "
	    "[-n netdsock] [-P policy]\n\t[-R registries.json] [-s socket] "
	    "[-T boot-timeout] [-x statedir]\n");
	exit(2);
}

/* --- audit ------------------------------------------------------------ */

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

/* --- requests from control ---------------------------------------------- */

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

static void
ctl_image(struct imsg *im, void *arg)
{
	struct reply	*r;

	(void)arg;
	if ((r = ctl_request(im)) == NULL)
		return;
	switch (im->hdr.type) {
	case IMSG_CTL_PULL:
		req_pull(r, im, im->hdr.peerid);
		break;
	case IMSG_CTL_IMAGES:
		req_images(r, im);
		break;
	case IMSG_CTL_RMI:
		req_rmi(r, im, im->hdr.peerid);
		break;
	case IMSG_CTL_PRUNE:
		req_prune(r, im, im->hdr.peerid);
		break;
	}
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
	PROC_MSG_FD(IMSG_CTL_PULL, sizeof(struct ctl_pull), ctl_image),
	PROC_MSG_FD(IMSG_CTL_IMAGES, sizeof(struct ctl_images), ctl_image),
	PROC_MSG_FD(IMSG_CTL_RMI, sizeof(struct ctl_rmi), ctl_image),
	PROC_MSG_FD(IMSG_CTL_PRUNE, sizeof(struct ctl_images), ctl_image),
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
	char		 err[160];

	if (sb->state != SANDBOX_CREATED) {
		jail_refuse(sb, "READY twice");
		return;
	}
	memcpy(&jr, im->data, sizeof(jr));
	if (jr.calen != im->datalen - sizeof(jr)) {
		/* as proc_msg_check words it: the size is the CA's */
		log_warnx("%s: bad message %#x (%zu bytes): its size is %zu",
		    sb->jpeer, im->hdr.type, im->datalen,
		    sizeof(jr) + (size_t)jr.calen);
		jail_refuse(sb, "READY of the wrong size");
	} else if (jr.calen > 0 && (!jr.net || pemcert_check((char *)im->data
	    + sizeof(jr), jr.calen, err, sizeof(err)) == -1))
		jail_refuse(sb, "READY with a bad sandbox CA");
	else if (jr.net && netdsock[0] == '\0')
		jail_refuse(sb, "READY with a network nobody asked for");
	else if (!jr.net && netdsock[0] != '\0')
		jail_refuse(sb, "READY without the network of lensnetd");
	else if ((im->fd != -1) != (jr.net && strcmp(sb->backend, "jail") ==
	    0) || memchr(jr.instance, '\0', sizeof(jr.instance)) == NULL)
		jail_refuse(sb, "READY without the sandbox's network "
		    "namespace, or with one not asked for");
	else if (im->fd != -1 && netd_sbx_netns(sb, im->fd, jr.initpid) == -1)
		jail_refuse(sb, "READY with a descriptor that is not the "
		    "sandbox's network namespace");
	else {
		im->fd = -1;		/* sb->netnsfd */
		free(sb->ca);
		sb->ca = NULL;
		sb->calen = 0;
		if (jr.calen > 0) {
			if ((sb->ca = malloc(jr.calen)) == NULL)
				fatal("malloc");
			memcpy(sb->ca, (char *)im->data + sizeof(jr), jr.calen);
			sb->calen = jr.calen;
		}
		sbx_ready(sb, &jr);
	}
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

/*
 * lensnetd closed the sandbox's connection (it stopped or died): the
 * sandbox runs on with loopback only, fail closed, until the parent
 * re-attaches it (reattach.c).  ps and inspect say so, and the audit
 * has it.
 */
static void
jail_netlost(struct imsg *im, void *arg)
{
	struct sbx	*sb = arg;

	(void)im;
	netd_lost(sb, "lensnetd closed the connection");
}

static const struct proc_msg jail_msgs[] = {
	PROC_MSG(IMSG_J_NETLOST, 0, jail_netlost),
	{ IMSG_J_READY, sizeof(struct j_ready), sizeof(struct j_ready) +
	    PEMCERT_MAX, jail_ready, 1 },
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
void
jail_chan_init(struct sbx *sb, int fd)
{
	snprintf(sb->jpeer, sizeof(sb->jpeer), "jail %s", sb->name);
	proc_chan_init(&sb->jch, fd, sb->jpeer, jail_msgs,
	    sizeof(jail_msgs) / sizeof(jail_msgs[0]), sb);
	sb->jch.lost = jail_lost;
	sb->jail_open = 1;
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
		image_stop();
		break;
	case SIGHUP:
		if (!shutting_down)
			reload_all("SIGHUP");
		break;
	case SIGCHLD:
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
			if (pull_reaped(pid, st))
				continue;
			if (image_reaped(pid, st, shutting_down))
				continue;
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
			if (control.pid == 0 && !image_running())
				event_loopexit(NULL);
		}
		break;
	}
}

int
main(int argc, char *argv[])
{
	struct control_conf	 cc;
	struct stat		 sock_st;
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
	lensconf_init("lensvmm", "A:a:C:c:dD:E:F:g:i:k:L:n:P:R:s:T:vx:", &argc, &argv);
	while ((ch = getopt(argc, argv, "A:a:C:c:dD:E:F:g:i:k:L:n:P:R:s:T:vx:f:V")) != -1) {
		switch (ch) {
		case 'f':	/* lensconf_init's */
			break;
		case 'R':
			if (optarg[0] != '/' || strlcpy(regcreds, optarg,
			    sizeof(regcreds)) >= sizeof(regcreds))
				errx(2, "-R %s: need an absolute path", optarg);
			break;
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
		case 'A':
			if (optarg[0] != '/' || strlcpy(apprsock, optarg,
			    sizeof(apprsock)) >= sizeof(apprsock))
				errx(2, "-A %s: need an absolute path of at most "
				    "%zu bytes", optarg, sizeof(apprsock) - 1);
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
		case 'L':
		case 'E':
		case 'F':
			{
				char	 why[GR_ERRSIZE];
				char	 flag[3] = { '-', (char)ch, '\0' };

				if (gr_size(flag, optarg, 1, UINT64_MAX, ch == 'L' ?
				    &layer_limits.max_bytes : ch == 'E' ?
				    &layer_limits.max_entries :
				    &layer_limits.max_file, why,
				    sizeof(why)) == -1)
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
		case 'V':	/* lensctl doctor asks the binary */
			printf("%s %s\n", "lensvmm", LENS_VERSION);
			exit(0);
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
	pull_init();

	/* the socket: group lens may connect */
	cc.listen_fd = unixsock_listen(sockpath, 0660,
	    cc.lens_gid == (gid_t)-1 ? 0 : cc.lens_gid);
	if (stat(sockpath, &sock_st) == -1)
		fatal("stat %s", sockpath);

	log_init(debug, LOG_DAEMON);
	if (!debug && daemon(0, 0) == -1)
		fatal("daemon");
	proc_init(lensconf_argc, lensconf_argv);
	parent_pid = getpid();
	cc.parent = parent_pid;
	keep[0] = cc.listen_fd;
	keep[1] = -1;
	proc_fork(&control, control_main, &cc, keep);
	close(cc.listen_fd);
	proc_title("parent");

	if ((evbase = event_init()) == NULL)
		fatalx("event_init");
	proc_signals(parent_sig, NULL);
	proc_chan_init(&ctl_chan, control.fd, "control", ctl_msgs,
	    sizeof(ctl_msgs) / sizeof(ctl_msgs[0]), NULL);
	ctl_chan.refused = ctl_refused;
	ctl_chan.lost = ctl_lost;
	proc_log_watch(&control);
	reload_init();
	image_start();
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
	/* the socket, if it is still ours: the next lensctl is told that
	 * lensvmm is not running, not "Connection refused" */
	{
		struct stat	 st;

		if (stat(sockpath, &st) == 0 && st.st_dev == sock_st.st_dev &&
		    st.st_ino == sock_st.st_ino && unlink(sockpath) == -1)
			log_warn("unlink %s", sockpath);
	}
	log_info("exiting");
	return 0;
}
