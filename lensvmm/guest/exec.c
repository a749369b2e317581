/*
 * lens-init: the processes it runs for the host.
 *
 * EXEC -> resolve the user in the sandbox's databases, open a pty or
 * pipes, fork; the child makes a session, takes the pty as its
 * controlling terminal, drops to the user, changes directory, resets
 * signals, closes every other descriptor and searches PATH itself.  A
 * failure in the child travels back through a close-on-exec status
 * pipe (stage and errno), so the host gets ERROR instead of a made-up
 * exit; EOF on that pipe means execve() worked and STARTED is sent.
 * Output is read only after STARTED, so nothing overtakes it; EXIT is
 * sent only once the process was reaped and its output read to EOF.
 */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "guest.h"
#include "lensinit_proto.h"
#include "request.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER	_IO('T', 0x41)
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC	(1U << 2)
#endif

#define DRAIN_MS	250	/* output read after the process was reaped */

enum { P_STATUS = 1, P_OUT, P_ERR, P_IN };

struct child {
	TAILQ_ENTRY(child) entry;
	uint32_t	 id;
	pid_t		 pid;
	int		 tty;
	int		 master;	/* pty, or -1 */
	int		 status;	/* status pipe, -1 once closed */
	int		 in, out, err;	/* -1 once closed */
	int		 started, failed, reaped, wstatus;
	int		 eof_pending, in_dropped;
	uint64_t	 drain_at;	/* stop waiting for output */
	char		*ibuf;		/* stdin not yet written */
	size_t		 ioff, ilen;
	char		*argv0, *cwd;
};

struct spawn {
	struct exec_req	*req;
	struct init_user *u;
	int		 master, in, out, err, status;
};

struct startfail {
	int32_t		 stage;
	int32_t		 err;
};

static struct child *
child_find(struct initctx *ctx, uint32_t id)
{
	struct child	*c;

	TAILQ_FOREACH(c, &ctx->children, entry)
		if (c->id == id)
			return c;
	return NULL;
}

static void
closefd(int *fd)
{
	if (*fd != -1) {
		close(*fd);
		*fd = -1;
	}
}

static void
send_error(struct initctx *ctx, uint32_t id, int err, uint32_t stage,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
send_error(struct initctx *ctx, uint32_t id, int err, uint32_t stage,
    const char *fmt, ...)
{
	struct init_error	 ie;
	va_list			 ap;

	memset(&ie, 0, sizeof(ie));
	ie.err = err;
	ie.stage = stage;
	va_start(ap, fmt);
	vsnprintf(ie.msg, sizeof(ie.msg), fmt, ap);
	va_end(ap);
	ilog("exec %u: %s", id, ie.msg);
	ctl_send(ctx, IMSG_INIT_ERROR, id, &ie, sizeof(ie));
}

/* a regular file of the sandbox, bounded; NULL when it is not there */
static char *
load_db(const char *path, size_t *lenp)
{
	struct stat	 st;
	char		*buf;
	ssize_t		 n;
	size_t		 len = 0;
	int		 fd;

	*lenp = 0;
	/* O_NONBLOCK: a FIFO put there must not block PID 1 */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1)
		return NULL;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > INIT_MAXDBSIZE ||
	    (buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	while (len < (size_t)st.st_size) {
		n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

/* child side */

static void __attribute__((noreturn))
child_fail(struct spawn *sp, uint32_t stage, int err)
{
	struct startfail sf;
	ssize_t		 n;

	sf.stage = stage;
	sf.err = err;
	do {
		n = write(sp->status, &sf, sizeof(sf));
	} while (n == -1 && errno == EINTR);
	_exit(127);
}

/* execvpe(3) semantics, but with the PATH of the request's env */
static int
exec_search(char *const argv[], char *const envp[])
{
	const char	*path, *p, *e;
	char		 buf[PATH_MAX];
	size_t		 dl, fl;
	int		 eacces = 0;

	if (strchr(argv[0], '/') != NULL) {
		execve(argv[0], argv, envp);
		return errno;
	}
	if ((path = env_get(envp, "PATH")) == NULL)
		path = INIT_DEFAULT_PATH;
	fl = strlen(argv[0]);
	for (p = path;; p = e + 1) {
		if ((e = strchr(p, ':')) == NULL)
			e = p + strlen(p);
		dl = e - p;
		if (dl + 1 + fl + 1 <= sizeof(buf)) {
			if (dl == 0)	/* empty entry: the current directory */
				memcpy(buf, argv[0], fl + 1);
			else {
				memcpy(buf, p, dl);
				buf[dl] = '/';
				memcpy(buf + dl + 1, argv[0], fl + 1);
			}
			execve(buf, argv, envp);
			switch (errno) {
			case EACCES:
				eacces = 1;
				break;
			case ENOENT:
			case ENOTDIR:
			case ESTALE:
			case ENODEV:
			case ETIMEDOUT:
			case ENAMETOOLONG:
				break;
			default:
				return errno;
			}
		}
		if (*e == '\0')
			break;
	}
	return eacces ? EACCES : ENOENT;
}

static void __attribute__((noreturn))
child_main(struct spawn *sp)
{
	struct exec_req	*req = sp->req;
	struct init_user *u = sp->u;
	sigset_t	 all;
	int		 fd, in, out, err, sig, pp[2];
	char		 name[64];

	if (setsid() == -1)
		child_fail(sp, INIT_ERR_SETUP, errno);
	if (sp->master != -1) {
		fd = ioctl(sp->master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
		if (fd == -1) {
			if (ptsname_r(sp->master, name, sizeof(name)) != 0 ||
			    (fd = open(name, O_RDWR | O_NOCTTY)) == -1)
				child_fail(sp, INIT_ERR_SETUP, errno);
		}
		if (ioctl(fd, TIOCSCTTY, 0) == -1)
			child_fail(sp, INIT_ERR_SETUP, errno);
		/* as login(1) does; the pty is theirs */
		if (fchown(fd, u->uid, (gid_t)-1) == 0)
			(void)fchmod(fd, 0620);
		in = out = err = fd;
	} else {
		if ((in = sp->in) == -1 &&
		    (in = open("/dev/null", O_RDONLY)) == -1) {
			/* no /dev/null: an empty pipe reads as EOF too */
			if (pipe(pp) == -1)
				child_fail(sp, INIT_ERR_SETUP, errno);
			close(pp[1]);
			in = pp[0];
		}
		out = sp->out;
		err = sp->err;
	}
	/* every descriptor of ours is >= 3 (init.c makes sure) */
	if (dup2(in, 0) == -1 || dup2(out, 1) == -1 || dup2(err, 2) == -1)
		child_fail(sp, INIT_ERR_SETUP, errno);

	if (setgroups(u->ngroups, u->groups) == -1 ||
	    setresgid(u->gid, u->gid, u->gid) == -1 ||
	    setresuid(u->uid, u->uid, u->uid) == -1)
		child_fail(sp, INIT_ERR_SETUP, errno);

	if (req->cwd[0] != '\0') {
		if (chdir(req->cwd) == -1)
			child_fail(sp, INIT_ERR_CWD, errno);
	} else if (chdir(u->home) == -1 && chdir("/") == -1)
		child_fail(sp, INIT_ERR_CWD, errno);

	for (sig = 1; sig < NSIG; sig++)
		(void)signal(sig, SIG_DFL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);

	/* the status pipe is close-on-exec already, so is everything else */
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == -1) {
		for (fd = 3; fd < 4096; fd++)
			if (fd != sp->status)
				(void)close(fd);
	}
	child_fail(sp, INIT_ERR_EXEC, exec_search(req->argv, req->envp));
}

/* host requests */

static void
child_closeio(struct child *c)
{
	if (c->out == c->master)
		c->out = -1;
	closefd(&c->in);
	closefd(&c->out);
	closefd(&c->err);
	closefd(&c->master);
}

static void
child_free(struct initctx *ctx, struct child *c)
{
	TAILQ_REMOVE(&ctx->children, c, entry);
	closefd(&c->status);
	child_closeio(c);
	free(c->ibuf);
	free(c->argv0);
	free(c->cwd);
	free(c);
}

static int
nonblock(int fd)
{
	int	 fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return -1;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

void
exec_start(struct initctx *ctx, uint32_t id, const void *data, size_t len)
{
	struct exec_req	 req;
	struct init_user u;
	struct spawn	 sp;
	struct winsize	 ws;
	struct child	*c = NULL;
	char		 why[128], *pw, *gr;
	size_t		 pwlen, grlen;
	int		 p_in[2] = { -1, -1 }, p_out[2] = { -1, -1 };
	int		 p_err[2] = { -1, -1 }, p_st[2] = { -1, -1 };
	int		 master = -1, zero = 0, r, e;
	pid_t		 pid;

	if (id == 0) {
		send_error(ctx, id, EINVAL, INIT_ERR_SETUP, "exec id 0");
		return;
	}
	if (child_find(ctx, id) != NULL) {
		send_error(ctx, id, EEXIST, INIT_ERR_SETUP,
		    "exec id %u is in use", id);
		return;
	}
	if (ctx->shutting) {
		send_error(ctx, id, ECANCELED, INIT_ERR_SETUP,
		    "the sandbox is shutting down");
		return;
	}
	if (exec_req_parse(data, len, &req, why, sizeof(why)) == -1) {
		send_error(ctx, id, EINVAL, INIT_ERR_SETUP,
		    "bad request: %s", why);
		return;
	}

	pw = load_db("/etc/passwd", &pwlen);
	gr = load_db("/etc/group", &grlen);
	r = user_resolve(req.user, req.flags & INIT_EXEC_ROOT, pw, pwlen,
	    gr, grlen, &u);
	e = errno;
	free(pw);
	free(gr);
	if (r == -1) {
		send_error(ctx, id, e, INIT_ERR_USER, e == ENOENT ?
		    "unable to find user %s: no matching entries in passwd "
		    "or group file" : "invalid user %s", req.user);
		goto done;
	}
	if (exec_req_env_defaults(&req, u.home, u.name) == -1) {
		send_error(ctx, id, errno, INIT_ERR_SETUP, "environment: %s",
		    strerror(errno));
		goto done;
	}

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->argv0 = strdup(req.argv[0])) == NULL ||
	    (c->cwd = strdup(req.cwd)) == NULL)
		goto setupfail;
	c->id = id;
	c->master = c->status = c->in = c->out = c->err = -1;

	if (req.flags & INIT_EXEC_TTY) {
		c->tty = 1;
		/*
		 * No grantpt(): it stats /dev/pts/N, which need not be
		 * where this devpts is.  The child gets its end with
		 * TIOCGPTPEER.
		 */
		if ((master = open("/dev/ptmx",
		    O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1 ||
		    ioctl(master, TIOCSPTLCK, &zero) == -1)
			goto setupfail;
		if (req.rows != 0 && req.cols != 0) {
			memset(&ws, 0, sizeof(ws));
			ws.ws_row = req.rows;
			ws.ws_col = req.cols;
			if (ioctl(master, TIOCSWINSZ, &ws) == -1)
				goto setupfail;
		}
	} else {
		if (((req.flags & INIT_EXEC_STDIN) &&
		    pipe2(p_in, O_CLOEXEC) == -1) ||
		    pipe2(p_out, O_CLOEXEC) == -1 ||
		    pipe2(p_err, O_CLOEXEC) == -1)
			goto setupfail;
	}
	if (pipe2(p_st, O_CLOEXEC) == -1)
		goto setupfail;

	memset(&sp, 0, sizeof(sp));
	sp.req = &req;
	sp.u = &u;
	sp.master = master;
	sp.in = p_in[0];
	sp.out = p_out[1];
	sp.err = p_err[1];
	sp.status = p_st[1];
	if ((pid = fork()) == -1)
		goto setupfail;
	if (pid == 0)
		child_main(&sp);

	c->pid = pid;
	c->status = p_st[0];
	closefd(&p_st[1]);
	if (c->tty) {
		c->master = master;
		c->out = master;
		if ((c->in = fcntl(master, F_DUPFD_CLOEXEC, 3)) == -1)
			ilog_warn("exec %u: dup", id);
		master = -1;
	} else {
		c->in = p_in[1];
		c->out = p_out[0];
		c->err = p_err[0];
		closefd(&p_in[0]);
		closefd(&p_out[1]);
		closefd(&p_err[1]);
	}
	if ((c->in != -1 && nonblock(c->in) == -1) ||
	    (c->out != -1 && nonblock(c->out) == -1) ||
	    (c->err != -1 && nonblock(c->err) == -1) ||
	    nonblock(c->status) == -1)
		ilog_warn("exec %u: O_NONBLOCK", id);
	TAILQ_INSERT_TAIL(&ctx->children, c, entry);
	ilog_debug(ctx, "exec %u: %s as uid %u gid %u, pid %d%s", id,
	    c->argv0, (unsigned)u.uid, (unsigned)u.gid, (int)pid,
	    c->tty ? ", on a pty" : "");
	exec_req_free(&req);
	return;

 setupfail:
	e = errno;
	send_error(ctx, id, e, INIT_ERR_SETUP, "cannot start %s: %s",
	    req.argv[0], strerror(e));
	if (master != -1)
		close(master);
	closefd(&p_in[0]);
	closefd(&p_in[1]);
	closefd(&p_out[0]);
	closefd(&p_out[1]);
	closefd(&p_err[0]);
	closefd(&p_err[1]);
	closefd(&p_st[0]);
	closefd(&p_st[1]);
	if (c != NULL) {
		free(c->argv0);
		free(c->cwd);
		free(c);
	}
 done:
	exec_req_free(&req);
}

static void
drop_stdin(struct child *c)
{
	free(c->ibuf);
	c->ibuf = NULL;
	c->ioff = c->ilen = 0;
	c->eof_pending = 0;
	c->in_dropped = 1;
	if (!c->tty)
		closefd(&c->in);
}

/* write what is buffered; then the pending EOF */
static void
child_write(struct initctx *ctx, struct child *c)
{
	struct termios	 t;
	ssize_t		 n;
	char		 eofc;

	while (c->in != -1 && c->ilen > 0) {
		n = write(c->in, c->ibuf + c->ioff, c->ilen);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			ilog_debug(ctx, "exec %u: stdin: %s", c->id,
			    strerror(errno));
			drop_stdin(c);
			return;
		}
		c->ioff += n;
		c->ilen -= n;
	}
	if (c->ilen == 0) {
		free(c->ibuf);
		c->ibuf = NULL;
		c->ioff = 0;
	}
	if (!c->eof_pending || c->in == -1)
		return;
	if (c->tty) {
		eofc = 4;	/* ^D */
		if (tcgetattr(c->master, &t) == 0 &&
		    t.c_cc[VEOF] != _POSIX_VDISABLE)
			eofc = t.c_cc[VEOF];
		n = write(c->in, &eofc, 1);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
	} else
		closefd(&c->in);
	c->eof_pending = 0;
}

void
exec_stdin(struct initctx *ctx, uint32_t id, const void *data, size_t len)
{
	struct child	*c;
	char		*nb;

	if ((c = child_find(ctx, id)) == NULL || c->failed) {
		ilog_debug(ctx, "STDIN for unknown exec %u", id);
		return;
	}
	if (c->in == -1 || c->in_dropped || (c->eof_pending && !c->tty))
		return;
	if (c->ilen + len > INIT_MAXSTDIN) {
		ilog("exec %u: more than %d bytes of stdin unread, "
		    "closing its stdin", id, INIT_MAXSTDIN);
		drop_stdin(c);
		return;
	}
	if (c->ioff > 0 && c->ilen > 0) {
		memmove(c->ibuf, c->ibuf + c->ioff, c->ilen);
		c->ioff = 0;
	}
	if ((nb = realloc(c->ibuf, c->ilen + len)) == NULL) {
		ilog_warn("exec %u: stdin", id);
		drop_stdin(c);
		return;
	}
	c->ibuf = nb;
	c->ioff = 0;
	memcpy(c->ibuf + c->ilen, data, len);
	c->ilen += len;
	child_write(ctx, c);
}

void
exec_stdin_eof(struct initctx *ctx, uint32_t id)
{
	struct child	*c;

	if ((c = child_find(ctx, id)) == NULL || c->failed)
		return;
	if (c->in == -1)
		return;
	c->eof_pending = 1;
	child_write(ctx, c);
}

void
exec_signal(struct initctx *ctx, uint32_t id, int sig)
{
	struct child	*c;

	if (sig < 1 || sig >= NSIG) {
		ilog("exec %u: SIGNAL %d is not a signal", id, sig);
		return;
	}
	if ((c = child_find(ctx, id)) == NULL || c->reaped || c->failed) {
		ilog_debug(ctx, "SIGNAL for exec %u, which has ended", id);
		return;
	}
	/* its process group; the leader alone if it left its group */
	if (kill(-c->pid, sig) == -1 && kill(c->pid, sig) == -1)
		ilog_warn("exec %u: kill %d", id, sig);
}

void
exec_resize(struct initctx *ctx, uint32_t id, uint16_t rows, uint16_t cols)
{
	struct child	*c;
	struct winsize	 ws;

	if ((c = child_find(ctx, id)) == NULL || c->master == -1)
		return;
	memset(&ws, 0, sizeof(ws));
	ws.ws_row = rows;
	ws.ws_col = cols;
	if (ioctl(c->master, TIOCSWINSZ, &ws) == -1)
		ilog_warn("exec %u: TIOCSWINSZ", id);
}

int
exec_reaped(struct initctx *ctx, pid_t pid, int wstatus)
{
	struct child	*c;

	TAILQ_FOREACH(c, &ctx->children, entry) {
		if (c->pid != pid || c->reaped)
			continue;
		c->reaped = 1;
		c->wstatus = wstatus;
		c->drain_at = now_ms() + DRAIN_MS;
		return 1;
	}
	return 0;
}

int
exec_unreaped(struct initctx *ctx)
{
	struct child	*c;
	int		 n = 0;

	TAILQ_FOREACH(c, &ctx->children, entry)
		if (!c->reaped)
			n++;
	return n;
}

void
exec_killall(struct initctx *ctx, int sig)
{
	struct child	*c;

	TAILQ_FOREACH(c, &ctx->children, entry)
		if (!c->reaped && kill(-c->pid, sig) == -1)
			(void)kill(c->pid, sig);
}

size_t
exec_count(struct initctx *ctx)
{
	struct child	*c;
	size_t		 n = 0;

	TAILQ_FOREACH(c, &ctx->children, entry)
		n++;
	return n;
}

static size_t
slot(struct pollfd *pfd, struct pslot *ps, size_t i, struct child *c,
    int fd, short events, int what)
{
	pfd[i].fd = fd;
	pfd[i].events = events;
	pfd[i].revents = 0;
	ps[i].c = c;
	ps[i].what = what;
	return i + 1;
}

size_t
exec_pollfds(struct initctx *ctx, struct pollfd *pfd, struct pslot *ps,
    size_t room)
{
	struct child	*c;
	size_t		 n = 0;
	int		 readout = !ctl_backlogged(ctx);

	TAILQ_FOREACH(c, &ctx->children, entry) {
		if (n + 4 > room)
			break;
		if (c->status != -1)
			n = slot(pfd, ps, n, c, c->status, POLLIN, P_STATUS);
		if (!c->started)
			continue;
		if (c->out != -1 && readout)
			n = slot(pfd, ps, n, c, c->out, POLLIN, P_OUT);
		if (c->err != -1 && readout)
			n = slot(pfd, ps, n, c, c->err, POLLIN, P_ERR);
		if (c->in != -1 && (c->ilen > 0 || c->eof_pending))
			n = slot(pfd, ps, n, c, c->in, POLLOUT, P_IN);
	}
	return n;
}

/* 1 at EOF (the descriptor is closed), 0 after data, -1 nothing yet */
static int
child_read(struct initctx *ctx, struct child *c, int *fd, uint32_t type)
{
	static char	 buf[IMSG_MAXPAYLOAD];
	ssize_t		 n;

	do {
		n = read(*fd, buf, sizeof(buf));
	} while (n == -1 && errno == EINTR);
	if (n > 0) {
		ctl_send(ctx, type, c->id, buf, n);
		return 0;
	}
	if (n == -1 && errno == EAGAIN)
		return -1;
	/* EIO: the pty's other side is closed everywhere */
	if (n == -1 && errno != EIO)
		ilog_warn("exec %u: read", c->id);
	if (*fd == c->master)
		c->master = -1;
	closefd(fd);
	return 1;
}

static void
child_status(struct initctx *ctx, struct child *c)
{
	struct startfail sf;
	ssize_t		 n;

	do {
		n = read(c->status, &sf, sizeof(sf));
	} while (n == -1 && errno == EINTR);
	if (n == -1 && errno == EAGAIN)
		return;
	closefd(&c->status);
	if (n == 0) {
		struct init_started st;

		memset(&st, 0, sizeof(st));
		st.pid = c->pid;
		c->started = 1;
		ctl_send(ctx, IMSG_INIT_STARTED, c->id, &st, sizeof(st));
		return;
	}
	c->failed = 1;
	if (n != sizeof(sf)) {
		send_error(ctx, c->id, EIO, INIT_ERR_SETUP,
		    "cannot start %s: lost its status", c->argv0);
	} else if (sf.stage == INIT_ERR_EXEC) {
		if (sf.err == ENOENT && strchr(c->argv0, '/') == NULL)
			send_error(ctx, c->id, sf.err, sf.stage,
			    "%s: command not found", c->argv0);
		else
			send_error(ctx, c->id, sf.err, sf.stage, "%s: %s",
			    c->argv0, strerror(sf.err));
	} else if (sf.stage == INIT_ERR_CWD)
		send_error(ctx, c->id, sf.err, sf.stage, "chdir %s: %s",
		    c->cwd[0] != '\0' ? c->cwd : "(home)", strerror(sf.err));
	else
		send_error(ctx, c->id, sf.err, INIT_ERR_SETUP,
		    "cannot start %s: %s", c->argv0, strerror(sf.err));
	/* it never ran: nothing of it is sent but the ERROR */
	child_closeio(c);
}

void
exec_event(struct initctx *ctx, struct pslot *ps, short revents)
{
	struct child	*c = ps->c;

	switch (ps->what) {
	case P_STATUS:
		child_status(ctx, c);
		break;
	/* checked again: this round may have queued enough already */
	case P_OUT:
		if (c->out != -1 && !ctl_backlogged(ctx))
			child_read(ctx, c, &c->out, IMSG_INIT_STDOUT);
		break;
	case P_ERR:
		if (c->err != -1 && !ctl_backlogged(ctx))
			child_read(ctx, c, &c->err, IMSG_INIT_STDERR);
		break;
	case P_IN:
		if (revents & (POLLERR | POLLHUP) && !c->tty && c->ilen > 0) {
			drop_stdin(c);	/* the reader is gone */
			break;
		}
		child_write(ctx, c);
		break;
	}
}

int
exec_finish(struct initctx *ctx)
{
	struct child	*c, *next;
	struct init_exit ex;
	uint64_t	 now = now_ms();
	int		 timeout = -1, left;

	for (c = TAILQ_FIRST(&ctx->children); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (!c->reaped || c->status != -1)
			continue;
		if (c->failed) {
			child_free(ctx, c);
			continue;
		}
		/*
		 * Output ends at EOF (pipes) or EIO (a pty) once nobody holds
		 * the other side.  A leftover background process that still
		 * holds it must not hold back the exit: a little after the
		 * reap, take what is there and stop waiting (as docker does).
		 */
		if (c->out != -1 || c->err != -1) {
			if (now < c->drain_at || ctl_backlogged(ctx)) {
				left = c->drain_at > now ?
				    (int)(c->drain_at - now) : 50;
				if (timeout == -1 || left < timeout)
					timeout = left;
				continue;
			}
			while (c->out != -1 && !ctl_backlogged(ctx))
				if (child_read(ctx, c, &c->out,
				    IMSG_INIT_STDOUT) == -1)
					break;
			while (c->err != -1 && !ctl_backlogged(ctx))
				if (child_read(ctx, c, &c->err,
				    IMSG_INIT_STDERR) == -1)
					break;
			if (ctl_backlogged(ctx))
				continue;
			if (c->tty)
				c->master = -1;
			closefd(&c->out);
			closefd(&c->err);
		}
		if (c->out != -1 || c->err != -1)
			continue;
		memset(&ex, 0, sizeof(ex));
		if (WIFSIGNALED(c->wstatus)) {
			ex.sig = WTERMSIG(c->wstatus);
			ex.code = 128 + ex.sig;
			ex.core = WCOREDUMP(c->wstatus) ? 1 : 0;
		} else
			ex.code = WEXITSTATUS(c->wstatus);
		ilog_debug(ctx, "exec %u: pid %d exited, code %d", c->id,
		    (int)c->pid, ex.code);
		ctl_send(ctx, IMSG_INIT_EXIT, c->id, &ex, sizeof(ex));
		child_free(ctx, c);
	}
	return timeout;
}
