/*
 * Logging in the OpenBSD daemon style: to syslog normally, to stderr in
 * foreground debug mode.  fatal() appends strerror(errno), fatalx() does
 * not; both exit 1.
 */
#ifndef LENS_LOG_H
#define LENS_LOG_H

#include <stdarg.h>

void	log_init(int debug, int facility);
/*
 * A child of a daemon: every line goes to its parent over fd (a
 * seqpacket socket, common/proc.c), which writes it where the daemon's
 * log is (syslog, or stderr with -d) under the child's name and pid.
 * The child opens no log itself: no syslog socket, no writable stderr.
 */
void	log_tofd(int fd);
/*
 * The parent's side: read every line waiting on fd (from the child
 * name, pid) and log it.  Control characters are replaced.  0 when
 * all was read, -1 at the end (the child and its children are gone).
 */
int	log_relay(int fd, const char *name, int pid);
void	log_procinit(const char *procname);
/* the role name given to log_procinit() ("lens" before) */
const char *log_getprocname(void);
void	log_setverbose(int verbose);
int	log_getverbose(void);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	vlog(int pri, const char *, va_list) __attribute__((format(printf, 2, 0)));
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
