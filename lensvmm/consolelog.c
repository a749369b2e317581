/*
 * lensvmm parent: lensctl logs.  console.log is written by the jail
 * process as the sandbox's host uid: every record header is checked
 * before its bytes go to the client as stdout or stderr.
 */
#include <sys/types.h>

#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsgev.h"
#include "log.h"
#include "lensvmm.h"
#include "parent.h"

#define LOGBUF_SIZE	(sizeof(struct logrec) + sizeof(int64_t) + LOG_RECMAX + \
			    32768)

/* one record's bytes to the client, with its time if asked for */
static void
logs_send(struct reply *r, uint32_t type, int64_t ms, const unsigned char *p,
    size_t len)
{
	unsigned char	 buf[IMSG_MAXPAYLOAD];
	size_t		 n;

	if (!(r->logflags & LOGS_TIMESTAMPS)) {
		reply_send(r, type, p, len);
		return;
	}
	while (len > 0) {
		n = len < sizeof(buf) - sizeof(ms) ? len :
		    sizeof(buf) - sizeof(ms);
		memcpy(buf, &ms, sizeof(ms));
		memcpy(buf + sizeof(ms), p, n);
		reply_send(r, type, buf, sizeof(ms) + n);
		p += n;
		len -= n;
	}
}

/*
 * One record: counted (the first pass of --tail), or sent past the
 * lines --tail skips
 */
static void
logs_record(struct reply *r, const struct logrec *rec, int64_t ms,
    const unsigned char *p)
{
	const unsigned char	*nl;
	size_t			 len = rec->len;

	if ((r->logflags & LOGS_SINCE) && ms < r->since_ms)
		return;
	if (r->counting) {
		for (nl = p; (nl = memchr(nl, '\n', p + len - nl)) != NULL;
		    nl++)
			r->lines++;
		r->partial = p[len - 1] != '\n';
		return;
	}
	while (r->lines > 0 && len > 0) {
		if ((nl = memchr(p, '\n', len)) == NULL)
			return;			/* all of it skipped */
		len -= nl + 1 - p;
		p = nl + 1;
		r->lines--;
	}
	if (len > 0)
		logs_send(r, rec->stream == LOG_STDOUT ? IMSG_CTL_STDOUT :
		    IMSG_CTL_STDERR, ms, p, len);
}

/*
 * Handle every whole record of console.log read so far.  Returns 0, or
 * -1 after replying with an error when a record header is impossible.
 */
static int
logs_records(struct reply *r)
{
	struct logrec	 rec;
	int64_t		 ms;
	size_t		 off = 0, hlen;

	while (r->loghave - off >= sizeof(rec)) {
		memcpy(&rec, r->logbuf + off, sizeof(rec));
		if ((rec.stream != LOG_STDOUT && rec.stream != LOG_STDERR) ||
		    (rec.timed != 0 && rec.timed != LOGREC_TIMED) ||
		    rec.pad[0] != 0 || rec.pad[1] != 0 ||
		    rec.len == 0 || rec.len > LOG_RECMAX) {
			reply_error(r, CTL_EXIT_LENS, "console.log: bad record "
			    "at offset %lld (stream %u, length %u)",
			    (long long)(r->logoff + off), rec.stream, rec.len);
			return -1;
		}
		hlen = sizeof(rec) + (rec.timed ? sizeof(ms) : 0);
		if (r->loghave - off < hlen ||
		    r->loghave - off - hlen < rec.len)
			break;
		ms = 0;
		if (rec.timed)
			memcpy(&ms, r->logbuf + off + sizeof(rec), sizeof(ms));
		logs_record(r, &rec, ms, r->logbuf + off + hlen);
		off += hlen + rec.len;
	}
	memmove(r->logbuf, r->logbuf + off, r->loghave - off);
	r->loghave -= off;
	r->logoff += off;
	return 0;
}

/* read what is there; 1 at the end of the file, 0 to come back, -1 done */
static int
logs_read(struct reply *r)
{
	ssize_t	 n;

	while (r->iev.ibuf.wqueued < 1024 * 1024 && !r->closing) {
		n = read(r->logfd, r->logbuf + r->loghave,
		    LOGBUF_SIZE - r->loghave);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			reply_error(r, CTL_EXIT_LENS, "console.log: %s",
			    strerror(errno));
			return -1;
		}
		r->loghave += n;
		if (logs_records(r) == -1)
			return -1;
		if (n == 0)
			return 1;
	}
	return r->closing ? -1 : 0;
}

static void
logs_pump(int fd, short ev, void *arg)
{
	struct reply	*r = arg;
	struct sbx	*sb;
	char		 err[256];
	struct timeval	 tv;
	int		 end;

	(void)fd;
	(void)ev;
	if ((end = logs_read(r)) == -1)
		return;
	if (end && r->counting) {
		/* --tail: counted; now from the start, past all but tail */
		if (r->loghave != 0) {
			reply_error(r, CTL_EXIT_LENS, "console.log: truncated "
			    "record at offset %lld", (long long)r->logoff);
			return;
		}
		r->lines += r->partial;
		r->lines = r->lines > r->tail ? r->lines - r->tail : 0;
		r->counting = 0;
		if (lseek(r->logfd, 0, SEEK_SET) == -1) {
			reply_error(r, CTL_EXIT_LENS, "console.log: %s",
			    strerror(errno));
			return;
		}
		r->logoff = 0;
		if ((end = logs_read(r)) == -1)
			return;
	}
	sb = sbx_find(r->id, err, sizeof(err));
	if (end && (!r->follow || sb == NULL ||
	    sb->state == SANDBOX_STOPPED)) {
		/* one last look after the end */
		if (logs_read(r) != 1)
			return;
		if (r->loghave != 0)
			reply_error(r, CTL_EXIT_LENS, "console.log: truncated "
			    "record at offset %lld", (long long)r->logoff);
		else
			reply_ok(r);
		return;
	}
	tv.tv_sec = 0;
	tv.tv_usec = end ? 200000 : 10000;
	evtimer_add(&r->ev_poll, &tv);
}

void
req_logs(struct reply *r, struct imsg *im)
{
	struct ctl_logs	 lg;
	struct sbx	*sb;
	char		 err[256], path[PATH_MAX + 32];

	memcpy(&lg, im->data, sizeof(lg));
	if ((sb = sbx_find(lg.ref.sandbox, err, sizeof(err))) == NULL) {
		reply_error(r, CTL_EXIT_LENS, "%s", err);
		return;
	}
	snprintf(path, sizeof(path), "%s/console.log", sb->dir);
	if ((r->logfd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) ==
	    -1) {
		reply_error(r, CTL_EXIT_LENS, "%s: %s", path, strerror(errno));
		return;
	}
	if ((r->logbuf = malloc(LOGBUF_SIZE)) == NULL) {
		reply_error(r, CTL_EXIT_LENS, "out of memory");
		return;
	}
	r->follow = lg.follow;
	r->logflags = lg.flags;
	r->since_ms = lg.since_ms;
	r->tail = lg.tail;
	r->counting = (lg.flags & LOGS_TAIL) != 0;
	strlcpy(r->id, sb->id, sizeof(r->id));
	evtimer_set(&r->ev_poll, logs_pump, r);
	logs_pump(-1, 0, r);
}
