/*
 * The remote witness's wire and file format: one RFC 5424 syslog
 * message per checkpoint, whose MSG is the checkpoint's head line
 * (chain.h), sent octet-counted (RFC 6587) by lensauditd's witness
 * child and stored one message a line by the collector:
 *
 *   <PRI>1 TIMESTAMP HOSTNAME lensauditd PROCID checkpoint SD MSG
 *
 * lensctl audit verify --witness reads such a file: every line must be
 * exactly that (strict RFC 5424 header, APP-NAME lensauditd, MSGID
 * checkpoint, MSG a head line, an optional UTF-8 BOM before it).
 */
#ifndef LENS_SYSLOGWIT_H
#define LENS_SYSLOGWIT_H

#include <sys/types.h>
#include <stddef.h>
#include <time.h>

#define SYSLOGWIT_APP		"lensauditd"
#define SYSLOGWIT_MSGID		"checkpoint"
#define SYSLOGWIT_PRI		85	/* authpriv.notice */
#define SYSLOGWIT_MAX		2048	/* one message, unframed */

/*
 * The message for one head line (its trailing newline, if any, left
 * out).  Returns its length, or -1 if it does not fit or the head line
 * holds a byte a syslog line cannot carry.
 */
int	syslogwit_format(char *out, size_t len, const char *hostname,
	    pid_t pid, const struct timespec *, const char *head,
	    size_t headlen);
/*
 * One stored line (without its newline): 0 with msg and msglen the head
 * line inside, or -1 with *why saying what is wrong.
 */
int	syslogwit_parse(const char *line, size_t len, const char **msg,
	    size_t *msglen, const char **why);
/*
 * A collected file: the head lines of its messages, one per line in
 * the same order (so line numbers stay those of the file), in a new
 * buffer *out (free it).  0, or -1 with err naming the first bad line.
 */
int	syslogwit_extract(const char *text, size_t len, char **out,
	    size_t *outlen, char *err, size_t errlen);
/* a file of syslog lines (the first byte is '<'), not of head lines */
int	syslogwit_is_syslog(const char *text, size_t len);

#endif
