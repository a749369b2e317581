/*
 * Process helpers shared by the daemons: fork a child role with its
 * socketpair, set process titles, handle SIGCHLD/SIGTERM/SIGHUP the same
 * way everywhere, and report how a child died (by signal, and for
 * SIGSYS with the name of the forbidden syscall).
 */
#ifndef LENS_PROC_H
#define LENS_PROC_H

#include <sys/types.h>
#include <stdint.h>

struct event_base;

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

#endif
