/*
 * Process helpers shared by the daemons: fork a child role with its
 * socketpair, set process titles, handle SIGCHLD/SIGTERM/SIGHUP the same
 * way everywhere, and report how a child died (by signal, and for
 * SIGSYS with the name of the forbidden syscall).
 */
#ifndef LENS_PROC_H
#define LENS_PROC_H

#include <sys/types.h>
#include <sys/capability.h>
#include <stddef.h>
#include <stdint.h>

#include "imsgev.h"

struct event_base;
struct privsep_user;
struct sandbox_syscall;

struct proc_child {
	const char		*name;		/* role, e.g. "writer" */
	pid_t			 pid;		/* 0 once reaped */
	int			 fd;		/* parent's end, or -1 */
	int			 status;	/* from waitpid once reaped */
	volatile int32_t	*sigsys;	/* shared: trapped syscall */
	int			 logfd;		/* its log lines, or -1 */
	void			*logev;		/* proc_log_watch() */
};

/*
 * Fork a child.  The parent keeps one end of a new socketpair in
 * child->fd; the child runs run(fd, arg) with the other end, and exits
 * with what run returns.  keepfds[] (-1 terminated, may be NULL) are
 * the other descriptors the child keeps; every other descriptor above
 * stderr is closed in the child.
 */
void	proc_fork(struct proc_child *, int (*run)(int fd, void *arg),
	    void *arg, const int *keepfds);
/*
 * The log channel of a child forked by other means than proc_fork():
 * proc_logpair() before fork(2); in the child proc_child_stdio(lp[1])
 * (its log goes to the parent; stdin, stdout and stderr become
 * /dev/null, stderr stays in sanitizer builds for their reports); in
 * the parent c->logfd = lp[0], lp[1] closed.
 */
void	proc_logpair(int lp[2]);
void	proc_child_stdio(int logfd);
/* relay c's log lines from the event loop (event_init() done) */
void	proc_log_watch(struct proc_child *);
/* read what c logged so far (before saying how it ended) */
void	proc_log_relay(struct proc_child *);
/* programs without an event loop: relay in a process of their own */
void	proc_log_fork(struct proc_child *);
/* stop relaying, close c->logfd */
void	proc_log_unwatch(struct proc_child *);
/* socketpair for two children; both ends close-on-exec, non-blocking */
void	proc_socketpair(int fds[2]);
void	proc_init(int argc, char **argv);
void	proc_title(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * Reap every dead child of the list, logging how each ended.  Returns
 * the number reaped; *abnormal is set when any did not exit with 0.
 */
int	proc_reap(struct proc_child *, size_t n, int *abnormal);
/* describe a wait status (static buffer), e.g. "killed by SIGSYS (ptrace)" */
const char *proc_status(const struct proc_child *);
/* signal every live child */
void	proc_kill_all(struct proc_child *, size_t n, int sig);

/*
 * A parent's signals, from the event loop (event_init() done): SIGTERM,
 * SIGINT, SIGHUP and SIGCHLD go to cb(sig, 0, arg); SIGPIPE is ignored.
 */
void	proc_signals(void (*cb)(int, short, void *), void *arg);
/*
 * A child whose parent channel carries nothing (lensauditd's and
 * lenscredd's children): on SIGTERM it calls stop (may be NULL) and
 * exits 0; when the parent's end closes it calls stop and ends fatally
 * ("parent went away").  From the role's init (event_init() done).
 */
void	proc_watch_parent(int parentfd, void (*stop)(void));
/*
 * A parent that only supervises its children (lensauditd, lenscredd):
 * relays their logs and watches their channels (a child sends its parent
 * nothing; end of file waits for SIGCHLD).  SIGTERM or SIGINT sends
 * SIGTERM to the first nstop children (the others end on their own once
 * those are gone), and so does a child that exits 0.  A child that ends
 * otherwise takes every other one with it and makes the exit status 1:
 * a daemon never goes on half-working (doc/DESIGN.md, Processes).  ready(arg)
 * runs before the loop (caps, seccomp).  Returns once every child is
 * reaped: the parent's exit status.
 */
int	proc_supervise(struct proc_child *, size_t n, size_t nstop,
	    void (*ready)(void *), void *arg);

/*
 * A child role, as a daemon declares it (doc/DESIGN.md, Processes).
 * proc_start() runs it, in this order: preinit (as root: what must be
 * read or warmed up before the chroot), chroot to root (NULL: the empty
 * directory), setgroups/setresgid/setresuid to user, only caps[] kept,
 * NO_NEW_PRIVS; then the parent-death signal checked against parent
 * (recorded before fork: the kernel clears it on the uid change, and
 * getppid() after the fork proves nothing), the title, event_init(),
 * init (its events and channels), the seccomp table last, then the
 * event loop.  Returns the exit status of the child.
 */
struct proc_role {
	const char			*name;
	const char			*title;		/* NULL: name */
	const char			*root;
	const cap_value_t		*caps;
	int				 ncaps;
	const struct sandbox_syscall	*syscalls;
	size_t				 nsyscalls;
	void				(*preinit)(void *arg);
	void				(*init)(void *arg);
	/* instead of syscalls[]: a filter with values known only now */
	void				(*filter)(void *arg);
};
/* .syscalls and .nsyscalls of a role from one static table */
#define PROC_SECCOMP(t)	.syscalls = (t), .nsyscalls = sizeof(t) / sizeof((t)[0])
int	proc_start(const struct proc_role *, const struct privsep_user *,
	    pid_t parent, void *arg);

/*
 * One message type a channel accepts: its payload is min..max bytes
 * (exact when min == max), and it carries a descriptor only if fd says
 * it may; checked before handler runs.
 */
struct proc_msg {
	uint32_t	 type;
	size_t		 min, max;
	void		(*handler)(struct imsg *, void *arg);
	int		 fd;		/* may carry a descriptor */
};
#define PROC_MSG(t, size, h)		{ (t), (size), (size), (h), 0 }
#define PROC_MSGV(t, lo, hi, h)		{ (t), (lo), (hi), (h), 0 }
#define PROC_MSG_FD(t, size, h)		{ (t), (size), (size), (h), 1 }

/*
 * A channel to one peer, driven by proc_dispatch(): writes what is
 * queued, reads, checks every message's type and size against msgs[]
 * and only then calls its handler.  An unknown type or a bad size is
 * logged naming peer, type and size, and ends the channel: lost() is
 * called with why (as when the peer closes it or an I/O error
 * happens); lost NULL means fatal.  refused(), if set, is given a
 * message that failed the check instead: it returns 1 to drop that
 * message and read on (a request of its own, answered by the
 * receiver), 0 to end the channel as above.  more(), if set, is asked after
 * each read whether to read again at once (batching); done(), if set,
 * runs after the messages of one event were handled, wrote() after a
 * write.  A handler may close the channel (imsgev_clear): the dispatch
 * then ends at once.  A handler that refuses what a message says calls
 * proc_chan_fail(): once it returns, the channel ends as for a bad
 * message, lost() given why (a string that outlives the call), which
 * may free the channel.
 */
struct proc_chan {
	struct imsgev		 iev;
	const char		*peer;
	const struct proc_msg	*msgs;
	size_t			 nmsgs;
	void			*arg;
	int			 (*more)(void *arg);
	void			 (*done)(void *arg);
	void			 (*wrote)(void *arg);
	void			 (*lost)(struct proc_chan *, const char *why);
	int			 (*refused)(struct imsg *, void *arg);
	const char		*failed;	/* proc_chan_fail() */
};
void	proc_chan_init(struct proc_chan *, int fd, const char *peer,
	    const struct proc_msg *, size_t nmsgs, void *arg);
/* from a handler of ch: end ch once the handler returns (see above) */
void	proc_chan_fail(struct proc_chan *ch, const char *why);
/* the message's entry in msgs[], or NULL after logging why not */
const struct proc_msg *proc_msg_check(const char *peer,
	    const struct proc_msg *, size_t nmsgs, const struct imsg *);

#endif
