/*
 * Logging for every Lens program: syslog when daemonized, stderr when
 * running in the foreground (-d).  Each line carries the process role
 * set with log_procinit() so that the parent and its children can be
 * told apart.  Children send their lines to the parent (log_tofd(),
 * log_relay()), which names them by what it knows: their role and pid.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int	 log_debug_mode;
static int	 log_fd = -1;
static int	 log_verbose;
static const char *log_procname = "lens";

void
log_init(int debug, int facility)
{
	log_debug_mode = debug;
	if (!debug)
		openlog(NULL, LOG_PID | LOG_NDELAY, facility);
	tzset();
}

void
log_procinit(const char *procname)
{
	if (procname != NULL)
		log_procname = procname;
}

const char *
log_getprocname(void)
{
	return log_procname;
}

void
log_setverbose(int verbose)
{
	log_verbose = verbose;
}

int
log_getverbose(void)
{
	return log_verbose;
}

void
log_tofd(int fd)
{
	log_fd = fd;
}

/*
 * A line of this process (pid -1) or, relayed, of a child (the role the
 * parent knows it by, its pid, and the name it gave itself in sep when
 * that differs, else ""): to syslog, or to stderr in one write(2), so
 * that lines of several processes don't mix.
 */
static void
log_line(int pri, const char *procname, int pid, const char *sep,
    const char *msg)
{
	char	 line[2400];
	int	 n;

	if (!log_debug_mode) {
		/* syslog adds our own pid (LOG_PID) */
		if (pid == -1)
			syslog(pri, "%s: %s%s%s", procname, sep,
			    sep[0] ? ": " : "", msg);
		else
			syslog(pri, "%s[%d]: %s%s%s", procname, pid, sep,
			    sep[0] ? ": " : "", msg);
		return;
	}
	n = snprintf(line, sizeof(line), "%s[%d]: %s%s%s\n", procname,
	    pid != -1 ? pid : (int)getpid(), sep, sep[0] ? ": " : "", msg);
	if (n <= 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	(void)!write(STDERR_FILENO, line, n);
}

int
log_relay(int fd, const char *name, int pid)
{
	char		 buf[2400], *claimed, *msg, *p;
	ssize_t		 n;
	size_t		 clen;
	int		 pri;

	/* read(2): one datagram, one line */
	while ((n = read(fd, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		pri = (unsigned char)buf[0] <= LOG_DEBUG ?
		    (unsigned char)buf[0] : LOG_ERR;
		claimed = buf + 1;
		clen = strnlen(claimed, (size_t)n - 1);
		msg = clen + 1 < (size_t)n - 1 ? claimed + clen + 1 : "";
		for (p = buf + 1; p < buf + n; p++)
			if (*p != '\0' && ((unsigned char)*p < 0x20 ||
			    *p == 0x7f))
				*p = '?';
		/* the role is the parent's word; a child's own name follows */
		log_line(pri, name, pid, strcmp(claimed, name) == 0 ? "" :
		    claimed, msg);
	}
	return n == -1 && (errno == EAGAIN || errno == EINTR) ? 0 : -1;
}

static void
log_str(int pri, const char *msg)
{
	char	 line[2300];
	int	 n;

	if (log_fd != -1) {
		/* priority, our name, NUL, the message: one datagram */
		n = snprintf(line, sizeof(line), "%c%s%c%s", (char)pri,
		    log_procname, '\0', msg);
		if (n > 0)
			(void)!write(log_fd, line, (size_t)n < sizeof(line) ?
			    (size_t)n : sizeof(line) - 1);
		return;
	}
	log_line(pri, log_procname, -1, "", msg);
}

void
vlog(int pri, const char *fmt, va_list ap)
{
	char	 msg[2048];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_str(pri, msg);
}

static void
vlog_errno(int pri, int saved, const char *fmt, va_list ap)
{
	char	 msg[1800], full[2048];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	snprintf(full, sizeof(full), "%s: %s", msg, strerror(saved));
	log_str(pri, full);
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	vlog_errno(LOG_ERR, saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	if (log_verbose < 1)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	vlog_errno(LOG_CRIT, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}
