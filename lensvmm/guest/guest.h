/*
 * lens-init: what init.c (PID 1, the control channel, the event loop)
 * and exec.c (the processes it runs for the host) share.
 */
#ifndef LENS_INIT_GUEST_H
#define LENS_INIT_GUEST_H

#include <sys/types.h>
#include <sys/queue.h>
#include <poll.h>
#include <stdint.h>

#include "imsg.h"

struct child;
TAILQ_HEAD(childq, child);

struct initctx {
	struct imsgbuf	 ibuf;		/* the control channel */
	int		 ctl_dead;	/* closed: output is read and dropped */
	int		 shutting;	/* SHUTDOWN or channel closed */
	int		 verbose;
	int		 pid1;		/* we are PID 1 of a pid namespace */
	struct childq	 children;
};

/* a poll slot: init.c polls, exec.c says what for */
struct pslot {
	struct child	*c;
	int		 what;
};

/* init.c */
void	 ilog(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 ilog_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 ilog_debug(struct initctx *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* log (with errno, or without: x) and end: exit, or in a VM vm_end() */
void	 ifatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	 ifatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
uint64_t now_ms(void);
/* queue a message to the host; dropped when the channel is gone */
void	 ctl_send(struct initctx *, uint32_t type, uint32_t id,
	    const void *, size_t);
int	 ctl_backlogged(struct initctx *);

/* exec.c */
/* cacert.c: install the sandbox CA; -1 with err */
int	 ca_install(const void *pem, size_t len, char *err, size_t errlen);
void	 exec_start(struct initctx *, uint32_t id, const void *, size_t);
void	 exec_stdin(struct initctx *, uint32_t id, const void *, size_t);
void	 exec_stdin_eof(struct initctx *, uint32_t id);
void	 exec_signal(struct initctx *, uint32_t id, int sig);
void	 exec_resize(struct initctx *, uint32_t id, uint16_t rows,
	    uint16_t cols);
/* 1 when pid was one of ours (its status is kept), 0 for an orphan */
int	 exec_reaped(struct initctx *, pid_t, int status);
/* add poll slots; returns how many were added (at most 4 per child) */
size_t	 exec_pollfds(struct initctx *, struct pollfd *, struct pslot *,
	    size_t room);
size_t	 exec_count(struct initctx *);
void	 exec_event(struct initctx *, struct pslot *, short revents);
/* send EXIT for the finished ones; returns ms until the next timer or -1 */
int	 exec_finish(struct initctx *);
/* signal every process group we started that still runs */
void	 exec_killall(struct initctx *, int sig);
int	 exec_unreaped(struct initctx *);

#endif
