/*
 * lensvmm parent: what its files share.  One process role, split by
 * concern (doc/DESIGN.md, Layout):
 *
 *	lensvmm.c	options, start-up, signals, and the channels to
 *			control and to the jail processes (their message
 *			tables and handlers)
 *	reply.c		replies to lensctl clients
 *	audit.c		audit events
 *	run.c		run and exec: a new sandbox (backend, policy,
 *			volumes, state directory, cgroup), the fork of its
 *			jail process, its main command on READY
 *	state.c		the sandbox table, config.json, inspect and ps,
 *			recovery at start
 *	stop.c		stop and rm, and the end of a sandbox
 *	slots.c		uid slots (host-wide flocks)
 *	consolelog.c	logs: console.log records to a client
 *	reload.c	live policy reload: inotify, SIGHUP
 *
 * Not for the other roles (control.c, jailproc.c, ...): the parent's
 * globals live here only.
 */
#ifndef LENSVMM_PARENT_H
#define LENSVMM_PARENT_H

#include <sys/queue.h>
#include <sys/types.h>

#include <event.h>
#include <jansson.h>
#include <limits.h>
#include <stdint.h>

#include "auditc.h"
#include "credvars.h"
#include "imsgev.h"
#include "phscan.h"
#include "lensvmm.h"
#include "proc.h"

struct reply {
	TAILQ_ENTRY(reply)	 entry;
	struct imsgev		 iev;
	int			 closing;
	int			 logfd;		/* LOGS: the console log */
	off_t			 logoff;	/* of logbuf[0] in the file */
	size_t			 loghave;
	unsigned char		*logbuf;	/* a record and a read's worth */
	int			 follow;
	uint32_t		 logflags;	/* LOGS_* */
	int64_t			 since_ms;
	int			 counting;	/* LOGS_TAIL: first pass */
	uint32_t		 tail;
	uint64_t		 lines;		/* counted, or to skip */
	int			 partial;	/* the last line has no \n */
	char			 id[CTL_ID_SIZE];
	struct event		 ev_poll;
};

struct waiter {
	TAILQ_ENTRY(waiter)	 entry;
	struct reply		*r;
};

/* a credential's placeholder (placeholder.c) */
struct sbx_ph {
	char			 id[CREDVAR_ID_SIZE];
	char			 envvar[CREDVAR_ENV_SIZE];
	char			 ph[PH_SIZE];
};

struct sbx {
	json_t			*labels;	/* run --label: {KEY: VALUE} */
	TAILQ_ENTRY(sbx)	 entry;
	char			 id[CTL_ID_SIZE];
	char			 name[CTL_NAME_SIZE];
	int			 slot;
	int			 slotfd;	/* flock of the slot, or -1 */
	uid_t			 base;
	int			 state;
	int32_t			 exit_code, exit_sig;
	int			 oom;
	int			 net_lost;	/* J_NETLOST: lensnetd went */
	/* reattach.c: its network namespace (jail with a network, from
	 * READY), the connection of a re-attach */
	int			 netnsfd;	/* or -1 */
	struct proc_chan	 nch;
	int			 nch_open;
	int			 reattaching;	/* its answer awaited */
	char			 npeer[CTL_NAME_SIZE + 24];
	struct event		 ev_nto;
	int64_t			 lost_ms;
	char			 reattach_err[256];	/* the last failure */
	int64_t			 created, started, finished;
	struct ctl_run		 run;
	char			*strings;	/* argv, env, volumes */
	char			*policy;	/* --policy text, or NULL */
	size_t			 policylen;
	void			*model;		/* its binary model */
	size_t			 modellen;
	char			 policyhash[65];
	struct sbx_ph		*ph;		/* one a credential, in the */
	size_t			 nph;		/* policy's order */
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
	char			*ca;		/* its CA's PEM (lenscredd) */
	size_t			 calen;		/* 0: none */
	char			 backend[16];	/* "jail" or "microvm" */
	char			 backend_why[256];
	struct caller		 owner;		/* who ran it: reload.c */
	int			 owned;		/* owner known */
	int			 polwd;		/* inotify watch, or 0 */
	int			 reload_due;
	char			 polexposed[256];	/* why no reload */
};

TAILQ_HEAD(sbxlist, sbx);

/* placeholder.c: a sandbox's credential placeholders */
struct policy;
int	ph_take(struct sbx *, const struct policy *, char *err, size_t errlen);
int	ph_env_refuse(const struct sbx *, const char *strs, uint32_t argc,
	    uint32_t envc, char *err, size_t errlen);
json_t	*ph_json(const struct sbx *);
void	ph_restore(struct sbx *, json_t *);

/* state.c: the sandbox table */
extern struct sbxlist		 sandboxes;

/* lensvmm.c: the options, the event base, the audit client */
extern struct event_base	*evbase;
extern struct auditc		*audit;
extern char			 statedir[PATH_MAX];
extern char			 regcreds[PATH_MAX];	/* -R */
extern const char		*protect[4 + VMM_MAXPROTECT];
extern int			 nprotect;
extern char			 auditsock[108], initpath[PATH_MAX];
extern char			 emptydir[PATH_MAX];
extern char			 netdsock[108];
extern char			 guestdir[PATH_MAX];
extern char			 imagedir[PATH_MAX];
extern uint32_t			 boot_timeout;
extern char			 kernel_args[512];
extern uint64_t			 imagecache;
extern char			 defpolicy[256];
extern pid_t			 parent_pid;
void	jail_chan_init(struct sbx *, int);

/* reply.c */
struct reply *reply_new(int fd);
void	reply_free(struct reply *);
void	reply_send(struct reply *, uint32_t type, const void *data,
	    size_t len);
void	reply_last(struct reply *, uint32_t type, const void *data,
	    size_t len);
void	reply_error(struct reply *, int code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	reply_ok(struct reply *);

/* audit.c */
void	audit_event(const struct sbx *, const char *type, json_t *details);
json_t	*strings_json(const char *p, uint32_t n, const char **next);
void	audit_exec(struct sbx *, uint32_t id, uid_t by, const char *strs,
	    uint32_t argc, int main);
int	audit_refuses(struct reply *);

/* run.c */
size_t	strings_len(const char *p, uint32_t n);
/* the first --tmpfs string (the --ulimit ones follow): the last
 * ntmpfs + nulimits strings of sb->strings; NULL if there are fewer */
const char *runopt_strings(const struct sbx *);
/* --tmpfs and --ulimit as the jail takes them (sizes resolved against
 * the memory); -1 with err naming the value */
int	runopts_parse(const struct sbx *, struct gr_tmpfs *, int *,
	    struct gr_ulimit *, int *, char *err, size_t errlen);
int	policy_take(struct sbx *, const char *name, const char *text,
	    size_t len, char *err, size_t errlen);
void	req_run(struct reply *, struct imsg *, uid_t by);
void	run_start(struct reply *, struct imsg *, uid_t by, const char *layers,
	    uint32_t nlayers);
/* imagerun.c: run IMAGE's layers unpacked, its config applied, then
 * run_start */
void	image_run(struct reply *, struct imsg *, uid_t by);
void	req_exec(struct reply *, struct imsg *, uid_t by);
void	sbx_ready(struct sbx *, const struct j_ready *);

/* state.c */
json_t	*sbx_json(const struct sbx *);
int	sbx_save(const struct sbx *);
void	sbx_destroy_files(struct sbx *);
struct sbx *sbx_find(const char *ref, char *err, size_t errlen);
void	sbx_free(struct sbx *);
void	req_ps(struct reply *, struct imsg *);
void	req_inspect(struct reply *, struct imsg *);
void	recover(void);

/* reattach.c */
void	netd_lost(struct sbx *, const char *why);
int	netd_sbx_netns(struct sbx *, int fd, pid_t initpid);
void	netd_sbx_end(struct sbx *);

/* stop.c */
void	stop_sandbox(struct sbx *, uint32_t grace_ms);
void	req_stop(struct reply *, struct imsg *, uid_t by);
void	sbx_remove(struct sbx *, const char *why);
void	req_rm(struct reply *, struct imsg *, uid_t by);
void	sbx_stopped(struct sbx *);

/* slots.c */
int	slot_lock(int slot);
void	slot_unlock(struct sbx *);
int	slot_alloc(int *fd);

/* reload.c: live policy reload (inotify, SIGHUP) */
extern char			 apprsock[108];
void	reload_init(void);
void	reload_watch(struct sbx *, const struct volume *, int);
void	reload_unwatch(struct sbx *);
void	reload_sandbox(struct sbx *, const char *trigger, int force);
void	reload_all(const char *trigger);

/* consolelog.c */
void	req_logs(struct reply *, struct imsg *);

#endif
