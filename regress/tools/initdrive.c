/*
 * initdrive: the host side of the lens-init agent protocol, for tests.
 *
 *   initdrive [-irtv] [-u user] [-w cwd] [-e K=V]... [-s SIG@MS]...
 *	[-S GRACE_MS[@MS]] [-z ROWSxCOLS] [-R ROWSxCOLS@MS]... [-x SHCMD]...
 *	[-b BADKIND]... [-T SECS] -- INIT-COMMAND... -- CMD ARGS...
 *   initdrive -c SOCKET [same options] -- CMD ARGS...
 *
 * It runs INIT-COMMAND with one end of a socketpair on fd 3, waits for
 * READY, sends the bad requests of -b (each must get ERROR stage
 * SETUP), then EXEC of CMD (exec id 1) and of every -x as `sh -c SHCMD`
 * (ids 2...).  With -i its stdin goes to exec 1 (EOF -> STDIN_EOF).
 * STDOUT and STDERR of every exec go to its stdout and stderr.  -s
 * sends SIGNAL SIG to exec 1 MS ms after STARTED, -R a RESIZE, -S a
 * SHUTDOWN.  When every exec has ended it closes the channel and waits
 * for INIT-COMMAND.
 *
 * With -c the channel is a connection to the Unix socket SOCKET (the
 * QEMU chardev of a microVM's lens.control port), retried until it is
 * there; no INIT-COMMAND is run.
 *
 * Exit: the EXIT code of exec 1; for an ERROR: 127 (exec, ENOENT), 126
 * (exec, other errno), 125 (user, cwd, setup), with the message on
 * stderr; 124 on timeout (-T, default 60 s).  -v reports READY,
 * STARTED, the end of the -x execs and of lens-init on stderr.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "imsg.h"
#include "lensinit_proto.h"

#define MAXTIMERS	16
#define MAXEXTRA	8
#define MAXBAD		16

struct timer {
	int		 kind;	/* 's' signal, 'R' resize, 'S' shutdown */
	uint64_t	 ms;
	int		 a, b;
	int		 done;
};

static struct imsgbuf	 ib;
static pid_t		 initpid = -1;
static int		 verbose;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: initdrive [-irtv] [-c SOCKET] [-u user] "
	    "[-w cwd] [-e K=V] [-s SIG@MS]\n"
	    "\t[-S GRACE[@MS]] [-z RxC] [-R RxC@MS] [-x SHCMD] [-b BAD] "
	    "[-T SECS] -- [INIT... --] CMD...\n");
	exit(125);
}

static uint64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
on_alarm(int sig)
{
	(void)sig;
	if (initpid > 0)
		kill(-initpid, SIGKILL);
	(void)!write(2, "initdrive: timeout\n", 19);
	_exit(124);
}

static void
die(const char *what)
{
	perror(what);
	if (initpid > 0)
		kill(-initpid, SIGKILL);
	exit(125);
}

static void
send_exec(uint32_t id, uint32_t flags, const char *user, const char *cwd,
    int rows, int cols, char **argv, int argc, char **envp, int envc)
{
	struct init_exec	 ie;
	struct ibuf		*b;
	size_t			 len = sizeof(ie);
	int			 i;

	for (i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	for (i = 0; i < envc; i++)
		len += strlen(envp[i]) + 1;
	memset(&ie, 0, sizeof(ie));
	ie.flags = flags;
	ie.rows = rows;
	ie.cols = cols;
	ie.argc = argc;
	ie.envc = envc;
	snprintf(ie.user, sizeof(ie.user), "%s", user);
	snprintf(ie.cwd, sizeof(ie.cwd), "%s", cwd);
	if ((b = imsg_create(&ib, IMSG_INIT_EXEC, id, 0, len)) == NULL ||
	    imsg_add(b, &ie, sizeof(ie)) == -1)
		die("EXEC");
	for (i = 0; i < argc; i++)
		if (imsg_add(b, argv[i], strlen(argv[i]) + 1) == -1)
			die("EXEC");
	for (i = 0; i < envc; i++)
		if (imsg_add(b, envp[i], strlen(envp[i]) + 1) == -1)
			die("EXEC");
	imsg_close(&ib, b);
}

/* malformed EXECs: each must be refused with ERROR stage SETUP */
static void
send_bad(uint32_t id, const char *kind)
{
	struct init_exec	 ie;
	char			 buf[sizeof(ie) + 64];
	size_t			 len = sizeof(ie);

	memset(&ie, 0, sizeof(ie));
	memset(buf, 0, sizeof(buf));
	ie.argc = 1;
	memcpy(buf + sizeof(ie), "true", 5);
	len += 5;
	if (strcmp(kind, "short") == 0)
		len = sizeof(ie) - 1;
	else if (strcmp(kind, "argc0") == 0)
		ie.argc = 0;
	else if (strcmp(kind, "argc2") == 0)
		ie.argc = 2;
	else if (strcmp(kind, "toomany") == 0) {
		ie.argc = LENSINIT_MAXARGS;
		ie.envc = UINT32_MAX;
	} else if (strcmp(kind, "nostrings") == 0)
		len = sizeof(ie);
	else if (strcmp(kind, "nonul") == 0)
		buf[len - 1] = 'x';
	else if (strcmp(kind, "extra") == 0)
		len += 3;	/* "\0\0\0": three more empty strings */
	else if (strcmp(kind, "flags") == 0)
		ie.flags = 0x80;
	else if (strcmp(kind, "user") == 0)
		memset(ie.user, 'a', sizeof(ie.user));
	else if (strcmp(kind, "cwd") == 0)
		memset(ie.cwd, '/', sizeof(ie.cwd));
	else if (strcmp(kind, "relcwd") == 0)
		memcpy(ie.cwd, "tmp", 4);
	else if (strcmp(kind, "env") == 0) {
		ie.envc = 1;
		memcpy(buf + len, "NOEQUALS", 9);
		len += 9;
	} else if (strcmp(kind, "id0") == 0)
		id = 0;
	else {
		fprintf(stderr, "initdrive: unknown -b %s\n", kind);
		exit(125);
	}
	memcpy(buf, &ie, sizeof(ie));
	if (imsg_compose(&ib, IMSG_INIT_EXEC, id, 0, -1, buf, len) == -1)
		die("EXEC");
}

static void
writeall(int fd, const void *p, size_t n)
{
	const char	*c = p;
	ssize_t		 w;

	while (n > 0) {
		w = write(fd, c, n);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			die("write");
		c += w;
		n -= w;
	}
}

/* the listening end may not be there yet: retry until the alarm */
static int
connect_unix(const char *path)
{
	struct sockaddr_un	 sun;
	struct timespec		 ts = { 0, 50 * 1000000 };
	int			 s;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "initdrive: %s: path too long\n", path);
		exit(125);
	}
	memcpy(sun.sun_path, path, strlen(path));
	for (;;) {
		if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
			die("socket");
		if (connect(s, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			return s;
		if (errno != ENOENT && errno != ECONNREFUSED)
			die(path);
		close(s);
		nanosleep(&ts, NULL);
	}
}

static int
parse_rc(const char *s, int *r, int *c, uint64_t *ms)
{
	char	*ep;

	*r = (int)strtol(s, &ep, 10);
	if (*ep != 'x')
		return -1;
	*c = (int)strtol(ep + 1, &ep, 10);
	if (ms == NULL)
		return *ep == '\0' ? 0 : -1;
	if (*ep != '@')
		return -1;
	*ms = strtoull(ep + 1, &ep, 10);
	return *ep == '\0' ? 0 : -1;
}

int
main(int argc, char *argv[])
{
	struct timer	 timers[MAXTIMERS];
	char		*envs[64], *extra[MAXEXTRA], *bad[MAXBAD];
	char		**initcmd, **cmd, *ep;
	const char	*user = "", *cwd = "", *sockpath = NULL;
	int		 ntimers = 0, nenv = 0, nextra = 0, nbad = 0;
	int		 tty = 0, in = 0, root = 0, rows = 24, cols = 80;
	int		 ch, sv[2], i, ncmd, ninit, timeout_s = 60;
	int		 ready = 0, started = 0, done = 0, code = 125;
	int		 extra_left, bad_left, stdin_open = 0, st;
	uint64_t	 t0 = 0;
	struct pollfd	 pfd[2];
	struct imsg	 im;
	ssize_t		 n;
	static char	 buf[IMSG_MAXPAYLOAD];

	while ((ch = getopt(argc, argv, "b:c:e:irR:s:S:tT:u:vw:x:z:")) != -1) {
		switch (ch) {
		case 'b':
			if (nbad == MAXBAD)
				usage();
			bad[nbad++] = optarg;
			break;
		case 'c':
			sockpath = optarg;
			break;
		case 'e':
			if (nenv == 64)
				usage();
			envs[nenv++] = optarg;
			break;
		case 'i':
			in = 1;
			break;
		case 'r':
			root = 1;
			break;
		case 'R':
		case 's':
		case 'S':
			if (ntimers == MAXTIMERS)
				usage();
			memset(&timers[ntimers], 0, sizeof(timers[0]));
			timers[ntimers].kind = ch;
			if (ch == 'R') {
				if (parse_rc(optarg, &timers[ntimers].a,
				    &timers[ntimers].b,
				    &timers[ntimers].ms) == -1)
					usage();
			} else {
				timers[ntimers].a = (int)strtol(optarg, &ep,
				    10);
				if (*ep == '@')
					timers[ntimers].ms = strtoull(ep + 1,
					    &ep, 10);
				if (*ep != '\0')
					usage();
			}
			ntimers++;
			break;
		case 't':
			tty = 1;
			break;
		case 'T':
			timeout_s = atoi(optarg);
			break;
		case 'u':
			user = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'w':
			cwd = optarg;
			break;
		case 'x':
			if (nextra == MAXEXTRA)
				usage();
			extra[nextra++] = optarg;
			break;
		case 'z':
			if (parse_rc(optarg, &rows, &cols, NULL) == -1)
				usage();
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	initcmd = argv;
	if (sockpath != NULL) {
		if (argc < 1)
			usage();
		cmd = argv;
		ncmd = argc;
		goto parsed;
	}
	for (ninit = 0; ninit < argc && strcmp(argv[ninit], "--") != 0;
	    ninit++)
		;
	if (ninit == 0 || ninit >= argc - 1)
		usage();
	argv[ninit] = NULL;
	cmd = argv + ninit + 1;
	ncmd = argc - ninit - 1;
 parsed:
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	alarm(timeout_s);

	if (sockpath != NULL) {
		sv[0] = connect_unix(sockpath);
		if (verbose)
			fprintf(stderr, "initdrive: connected to %s\n",
			    sockpath);
		goto connected;
	}

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		die("socketpair");
	if ((initpid = fork()) == -1)
		die("fork");
	if (initpid == 0) {
		setpgid(0, 0);
		if (dup2(sv[1], 3) == -1)
			_exit(125);
		if (sv[0] != 3)
			close(sv[0]);
		if (sv[1] != 3)
			close(sv[1]);
		/* lens-init must not read the test's stdin */
		if ((i = open("/dev/null", O_RDONLY)) != -1)
			dup2(i, 0);
		execvp(initcmd[0], initcmd);
		perror(initcmd[0]);
		_exit(125);
	}
	setpgid(initpid, initpid);
	close(sv[1]);
 connected:
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	imsg_init(&ib, sv[0]);
	extra_left = nextra;
	bad_left = nbad;

	while (!done) {
		int	 timeout = -1, np = 1;
		uint64_t now = now_ms();

		if (started) {
			for (i = 0; i < ntimers; i++) {
				struct timer	*t = &timers[i];

				if (t->done)
					continue;
				if (now < t0 + t->ms) {
					int left = (int)(t0 + t->ms - now);

					if (timeout == -1 || left < timeout)
						timeout = left;
					continue;
				}
				t->done = 1;
				if (t->kind == 's') {
					struct init_signal s = { t->a, 0 };

					imsg_compose(&ib, IMSG_INIT_SIGNAL, 1,
					    0, -1, &s, sizeof(s));
				} else if (t->kind == 'R') {
					struct init_winsize w;

					memset(&w, 0, sizeof(w));
					w.rows = t->a;
					w.cols = t->b;
					imsg_compose(&ib, IMSG_INIT_RESIZE, 1,
					    0, -1, &w, sizeof(w));
				} else {
					struct init_shutdown s = { t->a, 0 };

					imsg_compose(&ib, IMSG_INIT_SHUTDOWN,
					    0, 0, -1, &s, sizeof(s));
				}
			}
		}
		pfd[0].fd = sv[0];
		pfd[0].events = POLLIN | (ib.wqueued > 0 ? POLLOUT : 0);
		if (stdin_open && ib.wqueued < 1024 * 1024) {
			pfd[1].fd = 0;
			pfd[1].events = POLLIN;
			np = 2;
		}
		if (poll(pfd, np, timeout) == -1) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		if (pfd[0].revents & POLLOUT && imsg_write(&ib) == -1)
			die("write to lens-init");
		if (np == 2 && pfd[1].revents) {
			n = read(0, buf, sizeof(buf));
			if (n > 0)
				imsg_compose(&ib, IMSG_INIT_STDIN, 1, 0, -1,
				    buf, n);
			else if (n == 0 || (errno != EINTR &&
			    errno != EAGAIN)) {
				imsg_compose(&ib, IMSG_INIT_STDIN_EOF, 1, 0,
				    -1, NULL, 0);
				stdin_open = 0;
			}
		}
		if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = imsg_read(&ib);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0) {
			fprintf(stderr, "initdrive: lens-init closed the "
			    "channel\n");
			code = 125;
			break;
		}
		for (;;) {
			int r = imsg_get(&ib, &im);
			struct init_error ie;
			struct init_exit ex;
			struct init_started is;
			struct init_ready rd;
			uint32_t id = im.hdr.peerid;

			if (r == 0)
				break;
			if (r == -1)
				die("bad frame from lens-init");
			switch (im.hdr.type) {
			case IMSG_INIT_READY:
				if (imsg_expect(&im, sizeof(rd)) == -1)
					die("READY");
				memcpy(&rd, im.data, sizeof(rd));
				if (verbose)
					fprintf(stderr, "initdrive: ready, "
					    "version %u\n", rd.version);
				if (ready++)
					die("second READY");
				for (i = 0; i < nbad; i++)
					send_bad(100 + i, bad[i]);
				{
					uint32_t fl = 0;

					if (tty)
						fl |= INIT_EXEC_TTY;
					if (in)
						fl |= INIT_EXEC_STDIN;
					if (root)
						fl |= INIT_EXEC_ROOT;
					send_exec(1, fl, user, cwd, rows,
					    cols, cmd, ncmd, envs, nenv);
				}
				for (i = 0; i < nextra; i++) {
					char *a[] = { "sh", "-c", extra[i] };

					send_exec(2 + i, 0, user, cwd, 0, 0,
					    a, 3, envs, nenv);
				}
				break;
			case IMSG_INIT_STARTED:
				if (imsg_expect(&im, sizeof(is)) == -1)
					die("STARTED");
				memcpy(&is, im.data, sizeof(is));
				if (verbose)
					fprintf(stderr, "initdrive: exec %u "
					    "started, pid %d\n", id, is.pid);
				if (id == 1) {
					started = 1;
					t0 = now_ms();
					stdin_open = in;
				}
				break;
			case IMSG_INIT_ERROR:
				if (imsg_expect(&im, sizeof(ie)) == -1)
					die("ERROR");
				memcpy(&ie, im.data, sizeof(ie));
				ie.msg[sizeof(ie.msg) - 1] = '\0';
				if (id >= 100 || id == 0) {
					fprintf(stderr, "initdrive: bad %s: "
					    "stage %u: %s\n", id >= 100 ?
					    bad[id - 100] : "id0", ie.stage,
					    ie.msg);
					bad_left--;
					break;
				}
				fprintf(stderr, "initdrive: exec %u: error "
				    "stage %u errno %d: %s\n", id, ie.stage,
				    ie.err, ie.msg);
				if (id == 1) {
					if (ie.stage != INIT_ERR_EXEC)
						code = 125;
					else
						code = ie.err == ENOENT ?
						    127 : 126;
					started = -1;
				} else
					extra_left--;
				break;
			case IMSG_INIT_STDOUT:
			case IMSG_INIT_STDERR:
				if (im.datalen == 0)
					die("empty output");
				writeall(im.hdr.type == IMSG_INIT_STDOUT ?
				    1 : 2, im.data, im.datalen);
				break;
			case IMSG_INIT_EXIT:
				if (imsg_expect(&im, sizeof(ex)) == -1)
					die("EXIT");
				memcpy(&ex, im.data, sizeof(ex));
				if (id == 1) {
					code = ex.code;
					started = -1;
					if (verbose)
						fprintf(stderr, "initdrive: "
						    "exit %d sig %d core %u\n",
						    ex.code, ex.sig, ex.core);
				} else {
					extra_left--;
					if (verbose)
						fprintf(stderr, "initdrive: "
						    "exec %u: exit %d sig %d\n",
						    id, ex.code, ex.sig);
				}
				break;
			default:
				fprintf(stderr, "initdrive: unexpected "
				    "message %#x\n", im.hdr.type);
				code = 125;
				break;
			}
			imsg_free(&im);
		}
		if (started == -1 && extra_left <= 0 && bad_left <= 0)
			done = 1;
	}
	if (bad_left > 0)
		fprintf(stderr, "initdrive: %d bad requests not refused\n",
		    bad_left);
	imsg_flush(&ib);
	if (sockpath != NULL) {
		/* lens-init ends the machine when the channel closes */
		shutdown(sv[0], SHUT_WR);
		close(sv[0]);
		return code;
	}
	close(sv[0]);
	while (waitpid(initpid, &st, 0) == -1 && errno == EINTR)
		;
	if (verbose)
		fprintf(stderr, "initdrive: lens-init ended, status %d\n",
		    WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return code;
}
