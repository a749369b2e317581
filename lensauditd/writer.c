/*
 * lensauditd writer: the only process that writes the audit log.
 *
 * Events arrive from the listener already validated and canonical.  The
 * writer chains them (chain.c), appends everything that is available in
 * one batch, fdatasyncs, and only then acknowledges the batch (group
 * commit).  It signs a checkpoint every N records, every T seconds and
 * at clean shutdown, rotates by size (a file always ends with a
 * checkpoint before the next one starts), and on start recovers the
 * tail: a torn last line is reported and cut off, anything else that
 * does not verify stops the writer.
 *
 * Forward security: every checkpoint is signed with the current key
 * k_i and names the public key of a fresh k_{i+1}.  The step is
 *   1. k_{i+1} written to CHAIN_NEXTKEYFILE (file and directory fsync);
 *   2. the checkpoint naming it appended and fdatasync'd with its batch
 *      (acknowledgements wait for the end of the step);
 *   3. CHAIN_KEYFILE (k_i) overwritten with zeros and fsync'd;
 *   4. CHAIN_NEXTKEYFILE renamed onto CHAIN_KEYFILE, directory fsync'd,
 *      k_i zeroed in memory.
 * After a crash anywhere in it, recovery reads the log's last
 * checkpoint: the key file whose public half it names (the pinned key
 * if there is none) is the one usable key, the other is erased.
 */
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/tree.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <poll.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef __unused
#define __unused __attribute__((unused))
#endif

#include "chainwrite.h"
#include "imsgev.h"
#include "lensauditd.h"
#include "log.h"
#include "privsep.h"
#include "proc.h"
#include "seccomp_filter.h"

#define BATCH_MAX	(4 * 1024 * 1024)	/* stop reading, commit */
#define HEADTMP		CHAIN_HEADFILE ".tmp"
#define LOCKFILE	"lens-audit.lock"
/*
 * Free space a retry waits for beyond the held batch (and keepFree):
 * the key step's file, the head file, the audit.disk_full record.
 */
#define RESUME_MARGIN	(2 * CHAIN_MAXLINE)	/* above what stops it */
#define POLL_MIN_MS	10
#define POLL_MAX_MS	1000

struct source {
	RB_ENTRY(source)	 entry;
	char			 name[AUDIT_SOURCE_SIZE];
	uint64_t		 max_id;
};

static int
source_cmp(struct source *a, struct source *b)
{
	return strcmp(a->name, b->name);
}

RB_HEAD(sources, source);
RB_GENERATE_STATIC(sources, source, entry, source_cmp)

struct ack {
	uint32_t	 peerid;
	uint64_t	 id;
};

static struct {
	struct auditd_conf	*conf;
	int			 parentfd;
	char			 torn[256];	/* what recovery cut off */
	int			 dirfd;
	int			 logfd;
	unsigned int		 fileno;
	uint64_t		 filesize;	/* durable bytes */
	uint64_t		 seq;		/* last record formatted */
	uint8_t			 last[CHAIN_HASHLEN];
	uint64_t		 since_ckpt;	/* records since checkpoint */
	char			*buf;		/* the batch */
	size_t			 len, cap;
	struct ack		*acks;
	size_t			 nacks, capacks;
	char			 headline[512];	/* head file, once durable */
	int			 headpending;
	char			*witbuf;	/* witness lines, once durable */
	size_t			 witlen, witcap;
	struct sources		 sources;
	int			 nsources;
	uint8_t			*sk;		/* sodium_malloc'd: k_i */
	uint8_t			*nsk;		/* the next, during a step */
	char			 keyid[CHAIN_KEYIDLEN + 1];
	uint64_t		 steps;		/* key steps since start */
	int			 steppending;	/* k_i erased at the commit */
	uint8_t			 logid[CHAIN_LOGIDLEN];
	struct chain_ckpt	 lastck;	/* recovery: the last checkpoint */
	unsigned int		 lastck_file;	/* 0: none */
	int			 stopping;
	uint64_t		 ncommits, nrecords;	/* for the stop line */
	uint64_t		 wit_lost;	/* not handed to the witness */
	/* disk full: nothing acknowledged, nothing read, space polled */
	int			 full;		/* since the failed write */
	int			 full_recorded;	/* audit.disk_full is held */
	int			 nospace;	/* this batch hit ENOSPC */
	const char		*full_why;	/* "ENOSPC", "keepFree" */
	uint64_t		 full_free;	/* free bytes then */
	uint64_t		 full_need;	/* free bytes it waits for */
	uint64_t		 full_held;	/* records held */
	uint64_t		 durable_seq;	/* last record on disk */
	struct timespec		 full_since;
	unsigned int		 poll_ms;
	uint64_t		 budget;	/* bytes a batch may take */
} w;

static struct proc_chan	 lchan;	/* to the listener */
static struct proc_chan	 wchan;	/* to the witness child (-w) */
#define listener	lchan.iev
static struct event	 ev_parent, ev_term, ev_timer, ev_space;

static const struct sandbox_syscall writer_syscalls[] = {
	SB_ALLOW(read), SB_ALLOW(write), SB_ALLOW(pread64), SB_ALLOW(close),
	SB_ALLOW(openat), SB_ALLOW(fstat), SB_ALLOW(newfstatat),
	SB_ALLOW(fdatasync), SB_ALLOW(fsync), SB_ALLOW(ftruncate),
	SB_ALLOW(rename), SB_ALLOW(renameat), SB_ALLOW(lseek),
	SB_ALLOW(recvmsg), SB_ALLOW(sendmsg), SB_ALLOW(poll),
	SB_ALLOW(epoll_wait), SB_ALLOW(epoll_pwait), SB_ALLOW(epoll_ctl),
	SB_ALLOW(rt_sigprocmask), SB_ALLOW(rt_sigaction),
	SB_ALLOW(clock_gettime), SB_ALLOW(gettimeofday), SB_ALLOW(getpid),
	SB_ALLOW(brk), SB_ALLOW(mmap), SB_ALLOW(munmap), SB_ALLOW(mremap),
	SB_ALLOW(getrandom), SB_ALLOW(unlinkat),	/* key steps */
	SB_ALLOW(fstatfs),				/* disk full */
	/* no socket, connect, sendto: it logs through the parent */
};

static int	writer_commit(void);
static void	write_all(int, const char *, size_t, const char *);
static int	write_some(int, const char *, size_t);
static int	batch_flush(void);
static void	key_step_finish(void);
static void	writer_stop(const char *);
static int	space_budget(void);
static int	space_budget(void);

#ifdef REGRESS
/* test-only: die (as a crash would) at one point of the first key step */
static void
regress_crash(int step)
{
	if (w.conf->regress_keycrash == step && w.steps == 0 && !w.stopping) {
		log_warnx("regress: crash at key step %d", step);
		_exit(99);
	}
}
#else
#define regress_crash(step)	do { } while (0)
#endif

static struct source *
source_get(const char *name, int create)
{
	struct source	 key, *s;

	strlcpy(key.name, name, sizeof(key.name));
	if ((s = RB_FIND(sources, &w.sources, &key)) != NULL || !create)
		return s;
	if (w.nsources >= AUDITD_MAXSOURCES)
		return NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		fatal("calloc");
	strlcpy(s->name, name, sizeof(s->name));
	RB_INSERT(sources, &w.sources, s);
	w.nsources++;
	return s;
}

static void
source_seen(const char *name, uint64_t id)
{
	struct source	*s;

	if (strcmp(name, CHAIN_SELF_SOURCE) == 0)
		return;
	/* recovery must know every source it finds, whatever the limit */
	if ((s = source_get(name, 0)) == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			fatal("calloc");
		strlcpy(s->name, name, sizeof(s->name));
		RB_INSERT(sources, &w.sources, s);
		w.nsources++;
	}
	if (id > s->max_id)
		s->max_id = id;
}

/* {"name":id,...} in strcmp order, which is the order jansson sorts in */
static int
sources_json(char *out, size_t len)
{
	struct source	*s;
	size_t		 off = 0;
	int		 n;

	out[off++] = '{';
	RB_FOREACH(s, sources, &w.sources) {
		n = snprintf(out + off, len - off, "%s\"%s\":%llu",
		    off > 1 ? "," : "", s->name,
		    (unsigned long long)s->max_id);
		if (n < 0 || (size_t)n >= len - off - 1)
			return -1;
		off += n;
	}
	out[off++] = '}';
	out[off] = '\0';
	return (int)off;
}

static void
batch_reserve(size_t need)
{
	size_t	 ncap;
	char	*nbuf;

	if (w.cap - w.len >= need)
		return;
	ncap = w.cap ? w.cap : 1024 * 1024;
	while (ncap - w.len < need)
		ncap *= 2;
	if ((nbuf = realloc(w.buf, ncap)) == NULL)
		fatal("batch buffer");
	w.buf = nbuf;
	w.cap = ncap;
}

static void
ack_add(uint32_t peerid, uint64_t id)
{
	if (w.nacks > 0 && w.acks[w.nacks - 1].peerid == peerid) {
		w.acks[w.nacks - 1].id = id;
		return;
	}
	if (w.nacks == w.capacks) {
		size_t		 n = w.capacks ? 2 * w.capacks : 64;
		struct ack	*a;

		if ((a = reallocarray(w.acks, n, sizeof(*a))) == NULL)
			fatal("acks");
		w.acks = a;
		w.capacks = n;
	}
	w.acks[w.nacks].peerid = peerid;
	w.acks[w.nacks].id = id;
	w.nacks++;
}

static int	writer_checkpoint(void);

/* format one record onto the batch and advance the chain */
static void
writer_record(const char *sandbox, const char *source, uint64_t id,
    const char *type, const char *details, size_t dlen)
{
	struct chain_fields	 f;
	uint8_t			 hash[CHAIN_HASHLEN];
	int			 n;

	memset(&f, 0, sizeof(f));
	f.seq = w.seq + 1;
	clock_gettime(CLOCK_REALTIME, &f.time);
	f.sandbox = sandbox;
	f.source = source;
	f.id = id;
	f.type = type;
	f.details = details;
	f.detailslen = dlen;
	batch_reserve(CHAIN_MAXLINE);
	if ((n = chain_format(w.buf + w.len, w.cap - w.len, &f, w.last,
	    hash)) == -1)
		fatal("format record %llu (type %s, source %s)",
		    (unsigned long long)f.seq, type, source);
	w.len += n;
	w.seq = f.seq;
	w.nrecords++;
	memcpy(w.last, hash, sizeof(hash));
	if (strcmp(type, CHAIN_CKPT_TYPE) == 0 &&
	    strcmp(source, CHAIN_SELF_SOURCE) == 0)
		w.since_ckpt = 0;
	else if (++w.since_ckpt >= w.conf->ckpt_records && !w.nospace &&
	    writer_checkpoint() == -1)
		w.nospace = 1;	/* the checkpoint waits for space */
}

/* every checkpoint goes to the witness, not only a batch's last */
static void
witness_add(const char *line)
{
	size_t	 len = strlen(line), ncap;
	char	*nbuf;

	log_info("checkpoint %.*s", (int)len - 1, line);
	if (w.conf->witness_fd == -1 && w.conf->collector[0] == '\0')
		return;
	if (w.witcap - w.witlen < len) {
		ncap = w.witcap ? w.witcap : 4096;
		while (ncap - w.witlen < len)
			ncap *= 2;
		if ((nbuf = realloc(w.witbuf, ncap)) == NULL)
			fatal("witness buffer");
		w.witbuf = nbuf;
		w.witcap = ncap;
	}
	memcpy(w.witbuf + w.witlen, line, len);
	w.witlen += len;
}

static int
nospace(int err)
{
	return err == ENOSPC || err == EDQUOT;
}

/*
 * a secret key file, durably: file and directory fsync'd; 0, or -1
 * (nothing left of it) when the disk is full
 */
static int
key_write(const char *name, const uint8_t sk[64])
{
	char	 hex[129], line[160];
	int	 fd, rc = 0, err;

	/*
	 * No temporary file: a torn one is not a key, and recovery
	 * erases it, as nothing can name it before this returns.
	 */
	if ((fd = openat(w.dirfd, name, O_WRONLY | O_CREAT | O_TRUNC |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1) {
		if (nospace(errno))
			return -1;
		fatal("create %s", name);
	}
	chain_tohex(sk, 64, hex);
	snprintf(line, sizeof(line), "ed25519-secret %s\n", hex);
	if (write_some(fd, line, strlen(line)) == -1 || fsync(fd) == -1) {
		if (!nospace(errno))
			fatal("write %s", name);
		rc = -1;
	}
	sodium_memzero(hex, sizeof(hex));
	sodium_memzero(line, sizeof(line));
	close(fd);
	if (rc == -1) {
		/* the torn key is no key: recovery would erase it too */
		err = errno;
		if (unlinkat(w.dirfd, name, 0) == -1)
			fatal("remove %s", name);
		errno = err;
	}
	if (fsync(w.dirfd) == -1)
		fatal("fsync log directory");
	return rc;
}

/* overwrite a key file's bytes with zeros on disk; 0, or -1 if none */
static int
key_zero(const char *name)
{
	static const char zeros[256];
	struct stat	 st;
	int		 fd;

	if ((fd = openat(w.dirfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC))
	    == -1) {
		if (errno == ENOENT)
			return -1;
		fatal("open %s", name);
	}
	if (fstat(fd, &st) == -1)
		fatal("stat %s", name);
	if (st.st_size > (off_t)sizeof(zeros))
		st.st_size = sizeof(zeros);
	write_all(fd, zeros, (size_t)st.st_size, name);
	if (fsync(fd) == -1)
		fatal("fsync %s", name);
	close(fd);
	return 0;
}

/* overwritten and removed */
static void
key_erase(const char *name)
{
	if (key_zero(name) == -1)
		return;
	if (unlinkat(w.dirfd, name, 0) == -1)
		fatal("remove %s", name);
	if (fsync(w.dirfd) == -1)
		fatal("fsync log directory");
}

static void
set_keyid(void)
{
	uint8_t	 pk[crypto_sign_PUBLICKEYBYTES];

	crypto_sign_ed25519_sk_to_pk(pk, w.sk);
	chain_keyid(pk, w.keyid);
}

/* 0, or -1 when the disk is full: nothing written, the step not begun */
static int
writer_checkpoint(void)
{
	static char	 sources[AUDITD_MAXSOURCES * 64 + 16];
	static char	 details[sizeof(sources) + 1024];
	struct chain_ckpt ck;
	char		 file[CHAIN_LOGNAMEMAX + 1];
	uint8_t		 npk[crypto_sign_PUBLICKEYBYTES];
	int		 n;

	if (sources_json(sources, sizeof(sources)) == -1)
		fatalx("sources do not fit in a checkpoint");
	/* two steps in one batch: the first must be durable and done */
	if (w.steppending) {
		if (batch_flush() == -1)
			return -1;
		key_step_finish();
	}
	/* 1: k_{i+1} durable before anything names it */
	crypto_sign_keypair(npk, w.nsk);
	if (key_write(CHAIN_NEXTKEYFILE, w.nsk) == -1) {
		sodium_memzero(w.nsk, crypto_sign_SECRETKEYBYTES);
		return -1;
	}
	regress_crash(1);
	/* the head file and the witness carry the same signature */
	if ((n = chain_ckpt_details_next(details, sizeof(details), w.seq,
	    w.last, w.logid, npk, w.sk, sources, &ck)) == -1)
		fatalx("cannot build checkpoint details");
	chain_logname(file, sizeof(file), w.fileno);
	if (chain_head_format(w.headline, sizeof(w.headline), file, &ck) == -1)
		fatalx("cannot build the head file");
	w.headpending = 1;
	witness_add(w.headline);
	writer_record("", CHAIN_SELF_SOURCE, 0, CHAIN_CKPT_TYPE, details, n);
	w.steppending = 1;
	return 0;
}

/* after the commit that made the checkpoint naming k_{i+1} durable */
static void
key_step_finish(void)
{
	uint8_t	*t;

	if (!w.steppending)
		return;
	w.steppending = 0;
	regress_crash(2);
	/* 3, 4: k_i erased from disk, then from memory */
	if (key_zero(CHAIN_KEYFILE) == -1)
		fatalx("%s vanished during a key step", CHAIN_KEYFILE);
	regress_crash(3);
	if (renameat(w.dirfd, CHAIN_NEXTKEYFILE, w.dirfd, CHAIN_KEYFILE) == -1)
		fatal("rename %s to %s", CHAIN_NEXTKEYFILE, CHAIN_KEYFILE);
	if (fsync(w.dirfd) == -1)
		fatal("fsync log directory");
	sodium_memzero(w.sk, crypto_sign_SECRETKEYBYTES);
	t = w.sk;
	w.sk = w.nsk;
	w.nsk = t;
	set_keyid();
	regress_crash(4);
	w.steps++;
}

/* 0, or -1 with errno; a short write goes on until one fails */
static int
write_some(int fd, const char *buf, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= n;
	}
	return 0;
}

static void
write_all(int fd, const char *buf, size_t len, const char *what)
{
	if (write_some(fd, buf, len) == -1)
		fatal("write %s", what);
}

/*
 * The witness outside the log directory (the parent opened it): every
 * checkpoint's head line, appended and fsync'd before the checkpoint
 * counts as durable.  Also logged, for syslog or the journal.
 */
static void
write_witness(void)
{
	const char	*p, *end, *nl;

	if (w.witlen == 0)
		return;
	if (w.conf->witness_fd != -1) {
		write_all(w.conf->witness_fd, w.witbuf, w.witlen, "witness");
		if (fsync(w.conf->witness_fd) == -1)
			fatal("fsync witness");
	}
	/* the remote witness (witness.c): handed over, never waited for */
	for (p = w.witbuf, end = p + w.witlen; w.conf->collector[0] != '\0' &&
	    p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (imsgev_compose(&wchan.iev, IMSG_WIT_CKPT, 0, 0, -1, p,
		    (size_t)(nl - p)) == -1)
			w.wit_lost++;	/* audited by writer_timer */
	}
	w.witlen = 0;
}

/* checkpoints the witness could not keep, on the record */
static void
witness_audit(uint64_t dropped, uint64_t total, const char *where)
{
	char	 details[512];

	/* lensauditd.c allows only [A-Za-z0-9.:_[]-] in the collector */
	snprintf(details, sizeof(details), "{\"collector\":\"%s\","
	    "\"dropped\":%llu,\"total\":%llu,\"where\":\"%s\"}",
	    w.conf->collector, (unsigned long long)dropped,
	    (unsigned long long)total, where);
	log_warnx("witness: %llu checkpoint%s for %s dropped (%s)",
	    (unsigned long long)dropped, dropped == 1 ? "" : "s",
	    w.conf->collector, where);
	writer_record("", CHAIN_SELF_SOURCE, 0, "audit.witness", details,
	    strlen(details));
	/* a full disk holds it with the rest of the batch */
	if (!w.full && writer_commit() == 0)
		(void)space_budget();
	imsgev_add(&listener);
}

static void
msg_wdropped(struct imsg *im, void *arg)
{
	struct wit_dropped	 d;

	(void)arg;
	memcpy(&d, im->data, sizeof(d));
	witness_audit(d.dropped, d.total, "queue");
}

static const struct proc_msg wit_msgs[] = {
	PROC_MSG(IMSG_WIT_DROPPED, sizeof(struct wit_dropped), msg_wdropped),
};

/* 0, or -1 when the disk is full (the old head file stays) */
static int
write_head(void)
{
	int	 fd;

	write_witness();
	if ((fd = openat(w.dirfd, HEADTMP, O_WRONLY | O_CREAT | O_TRUNC |
	    O_NOFOLLOW | O_CLOEXEC, 0640)) == -1) {
		if (nospace(errno))
			return -1;
		fatal("create %s", HEADTMP);
	}
	if (write_some(fd, w.headline, strlen(w.headline)) == -1 ||
	    fsync(fd) == -1) {
		if (!nospace(errno))
			fatal("write %s", HEADTMP);
		close(fd);
		if (unlinkat(w.dirfd, HEADTMP, 0) == -1)
			fatal("remove %s", HEADTMP);
		return -1;
	}
	close(fd);
	if (renameat(w.dirfd, HEADTMP, w.dirfd, CHAIN_HEADFILE) == -1)
		fatal("rename %s", HEADTMP);
	if (fsync(w.dirfd) == -1)
		fatal("fsync log directory");
	w.headpending = 0;
	return 0;
}

static void
open_log(unsigned int n, int create)
{
	char	 name[CHAIN_LOGNAMEMAX + 1];
	int	 flags = O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC;

	chain_logname(name, sizeof(name), n);
	if (create)
		flags |= O_CREAT | O_EXCL;
	if ((w.logfd = openat(w.dirfd, name, flags, 0640)) == -1)
		fatal("open %s", name);
	if (create && fsync(w.dirfd) == -1)
		fatal("fsync log directory");
	w.fileno = n;
}

static void
rotate(void)
{
	char	 name[CHAIN_LOGNAMEMAX + 1];
	int	 fd;

	chain_logname(name, sizeof(name), w.fileno + 1);
	if ((fd = openat(w.dirfd, name, O_RDWR | O_APPEND | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0640)) == -1) {
		/* no room for a new file: this one grows until there is */
		if (nospace(errno))
			return;
		fatal("open %s", name);
	}
	if (fsync(w.dirfd) == -1)
		fatal("fsync log directory");
	close(w.logfd);
	w.logfd = fd;
	w.fileno++;
	w.filesize = 0;
	log_info("rotated to %s at seq %llu", name,
	    (unsigned long long)w.seq);
}

/* free bytes for the writer on the log's filesystem */
static uint64_t
space_free(void)
{
	struct statvfs	 sv;

	if (fstatvfs(w.dirfd, &sv) == -1)
		fatal("statvfs log directory");
	return (uint64_t)sv.f_bavail * sv.f_frsize;
}

static void
space_poll_arm(void)
{
	struct timeval	 tv;

	tv.tv_sec = w.poll_ms / 1000;
	tv.tv_usec = (w.poll_ms % 1000) * 1000;
	evtimer_add(&ev_space, &tv);
}

/*
 * Stop: read nothing more from the listener (it stops reading its
 * clients once its queue to us is full; they keep their events), hold
 * the batch and its acknowledgements, and poll for space.  Logged once
 * per episode; audited once, when space is back (writer_resumed).
 */
static void
disk_full(const char *why)
{
	uint64_t	 free = space_free();

	w.nospace = 1;
	if (w.full) {	/* a retry found it full again: back off */
		w.poll_ms = w.poll_ms * 2 > POLL_MAX_MS ? POLL_MAX_MS :
		    w.poll_ms * 2;
		space_poll_arm();
		return;
	}
	w.full = 1;
	w.full_why = why;
	w.full_free = free;
	w.full_need = w.len + RESUME_MARGIN + w.conf->keep_free;
	w.full_held = w.seq - w.durable_seq;
	clock_gettime(CLOCK_MONOTONIC, &w.full_since);
	imsgev_pause(&listener, 1);
	log_warnx("disk full (%s): %llu bytes free, waiting for %llu; "
	    "%llu records (%zu bytes) held unacknowledged, clients keep "
	    "theirs", why, (unsigned long long)free,
	    (unsigned long long)w.full_need,
	    (unsigned long long)w.full_held, w.len);
	w.poll_ms = POLL_MIN_MS;
	space_poll_arm();
}

/*
 * The batch so far onto the log, durably (acknowledged by the commit);
 * 0, or -1 when the disk is full: then the file is cut back to its last
 * complete record and the batch stays to be written again.
 */
static int
batch_flush(void)
{
	int	 err;

	if (w.len == 0)
		return 0;
	if (write_some(w.logfd, w.buf, w.len) == -1 ||
	    fdatasync(w.logfd) == -1) {
		if (!nospace(err = errno))
			fatal("write audit log");
		if (ftruncate(w.logfd, (off_t)w.filesize) == -1 ||
		    fsync(w.logfd) == -1)
			fatal("cut the audit log back to its last complete "
			    "record (%llu bytes)",
			    (unsigned long long)w.filesize);
		errno = err;
		return -1;
	}
	w.filesize += w.len;
	w.len = 0;
	w.ncommits++;
	w.durable_seq = w.seq;
	return 0;
}

/* 0 when all is durable and acknowledged, -1 when the disk is full */
static int
writer_commit(void)
{
	struct audit_ack	 ack;
	size_t			 i;
	int			 rotating = 0;

	if (w.filesize + w.len >= w.conf->rotate_size && w.len > 0) {
		/* a file ends with a checkpoint before the next begins */
		rotating = w.since_ckpt == 0 || writer_checkpoint() == 0;
	}
	if (batch_flush() == -1) {
		disk_full("ENOSPC");
		return -1;
	}
	key_step_finish();
	if (w.headpending && write_head() == -1) {
		disk_full("ENOSPC");
		return -1;
	}
	/* only now is the batch durable: acknowledge it */
	for (i = 0; i < w.nacks; i++) {
		ack.id = w.acks[i].id;
		if (imsgev_compose(&listener, IMSG_W_ACK, w.acks[i].peerid, 0, -1,
		    &ack, sizeof(ack)) == -1)
			fatal("queue ack");
	}
	w.nacks = 0;
	if (rotating)
		rotate();
	if (w.cap > 4 * BATCH_MAX) {	/* one huge batch: give it back */
		free(w.buf);
		w.buf = NULL;
		w.cap = 0;
	}
	w.nospace = 0;
	return 0;
}

/*
 * After a commit: with keepFree, what the next batch may take; below
 * it, stop as for a full disk.  0, or -1 when stopped.
 */
static int
space_budget(void)
{
	uint64_t	 free;

	w.budget = UINT64_MAX;
	if (w.conf->keep_free == 0)
		return 0;
	free = space_free();
	if (free < w.conf->keep_free + CHAIN_MAXLINE) {
		disk_full("keepFree");
		return -1;
	}
	w.budget = free - w.conf->keep_free - CHAIN_MAXLINE;
	return 0;
}

/* space is back and everything held is durable: on the record, go on */
static void
writer_resumed(void)
{
	struct timespec	 now;
	char		 details[512];
	uint64_t	 ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (uint64_t)(now.tv_sec - w.full_since.tv_sec) * 1000 +
	    (now.tv_nsec - w.full_since.tv_nsec) / 1000000;
	if (w.full_recorded)
		goto commit;
	snprintf(details, sizeof(details), "{\"free\":%llu,\"held\":%llu,"
	    "\"keep_free\":%llu,\"ms\":%llu,\"needed\":%llu,"
	    "\"reason\":\"%s\"}", (unsigned long long)w.full_free,
	    (unsigned long long)w.full_held,
	    (unsigned long long)w.conf->keep_free, (unsigned long long)ms,
	    (unsigned long long)w.full_need, w.full_why);
	writer_record("", CHAIN_SELF_SOURCE, 0, "audit.disk_full", details,
	    strlen(details));
	w.full_recorded = 1;
 commit:
	/* if this fails the episode goes on, its record held with the rest */
	w.nospace = 0;
	if (writer_commit() == -1 || space_budget() == -1)
		return;
	w.full = w.full_recorded = 0;
	log_info("disk space back after %llu ms: %llu bytes free; "
	    "accepting again at seq %llu", (unsigned long long)ms,
	    (unsigned long long)space_free(), (unsigned long long)w.seq);
	imsgev_pause(&listener, 0);
}

/* the disk-full poll: backoff up to POLL_MAX_MS, then try again */
static void
space_poll(int fd, short event, void *arg)
{
	struct pollfd	 pfd;

	(void)fd;
	(void)event;
	(void)arg;
	if (!w.full)
		return;
	/* not reading the listener: its end is seen here */
	pfd.fd = listener.ibuf.fd;
	pfd.events = POLLRDHUP;
	if (poll(&pfd, 1, 0) == 1 &&
	    (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)))
		writer_stop("the listener is gone");
	if (space_free() >= w.len + RESUME_MARGIN + w.conf->keep_free) {
		/* the held batch first, then the record of the episode */
		w.nospace = 0;
		if (writer_commit() == 0 && space_budget() == 0)
			writer_resumed();
		/* else disk_full() backed off and polls again */
		return;
	}
	w.poll_ms = w.poll_ms * 2 > POLL_MAX_MS ? POLL_MAX_MS : w.poll_ms * 2;
	space_poll_arm();
}

static void
writer_stop(const char *why)
{
	if (w.stopping)
		return;
	w.stopping = 1;
	log_debug("stopping: %s", why);
	/* a full disk: what is held was never acknowledged */
	if (!w.full && (w.since_ckpt == 0 || writer_checkpoint() == 0))
		(void)writer_commit();
	log_info("stopped at seq %llu (%s): %llu records in %llu commits, "
	    "%.1f records per fdatasync", (unsigned long long)w.seq, why,
	    (unsigned long long)w.nrecords, (unsigned long long)w.ncommits,
	    w.ncommits ? (double)w.nrecords / w.ncommits : 0.0);
	exit(0);
}

/* sizes are checked by proc_dispatch() before these run */
static void
msg_hello(struct imsg *im, void *arg)
{
	struct w_hello		 h;
	struct w_welcome	 wel;
	struct source		*s;

	(void)arg;
	memcpy(&h, im->data, sizeof(h));
	h.source[sizeof(h.source) - 1] = '\0';
	if (strcmp(h.source, CHAIN_SELF_SOURCE) == 0)
		fatalx("the listener sent HELLO for source %s, which "
		    "is lensauditd's own: refused", h.source);
	memset(&wel, 0, sizeof(wel));
	if ((s = source_get(h.source, 1)) == NULL) {
		log_warnx("source %s refused: %d sources known",
		    h.source, w.nsources);
		wel.refused = 1;
	} else
		wel.last_id = s->max_id;
	if (imsgev_compose(&listener, IMSG_W_WELCOME, im->hdr.peerid, 0,
	    -1, &wel, sizeof(wel)) == -1)
		fatal("queue welcome");
}

static void
msg_append(struct imsg *im, void *arg)
{
	struct w_append		 a;
	struct source		*s;

	(void)arg;
	memcpy(&a, im->data, sizeof(a));
	/* the exact size: what the message announces */
	if (im->datalen - sizeof(a) != a.detailslen)
		fatalx("listener: bad message %#x (%zu bytes): APPEND "
		    "announces %u bytes of details", im->hdr.type,
		    im->datalen, a.detailslen);
	a.source[sizeof(a.source) - 1] = '\0';
	a.sandbox[sizeof(a.sandbox) - 1] = '\0';
	a.type[sizeof(a.type) - 1] = '\0';
	if ((s = source_get(a.source, 0)) == NULL)
		fatalx("APPEND for source %s without HELLO", a.source);
	/* only lensauditd writes audit.* (checkpoints, starts) */
	if (chain_type_reserved(a.type) ||
	    strcmp(a.source, CHAIN_SELF_SOURCE) == 0)
		fatalx("the listener sent a record of reserved type "
		    "%s (source %s): refused", a.type, a.source);
	if (a.id > s->max_id) {
		s->max_id = a.id;
		writer_record(a.sandbox, a.source, a.id, a.type,
		    (const char *)im->data + sizeof(a),
		    im->datalen - sizeof(a));
	}
	/* a duplicate is acknowledged, not written again */
	ack_add(im->hdr.peerid, a.id);
}

static const struct proc_msg link_msgs[] = {
	PROC_MSG(IMSG_W_HELLO, sizeof(struct w_hello), msg_hello),
	PROC_MSGV(IMSG_W_APPEND, sizeof(struct w_append) + 2,
	    sizeof(struct w_append) + AUDIT_DETAILS_MAX, msg_append),
};

/* take everything there is, then commit it as one batch */
static int
link_more(void *arg)
{
	(void)arg;
	return !w.full && !w.nospace && w.len < BATCH_MAX && w.len < w.budget;
}

static void
link_done(void *arg)
{
	(void)arg;
	if (!w.full && writer_commit() == 0)
		(void)space_budget();
}

static void
link_lost(struct proc_chan *ch, const char *why)
{
	(void)ch;
	if (strcmp(why, "gone") == 0)
		writer_stop("the listener is gone");
	fatalx("listener link: %s", why);
}

static void
writer_timer(int fd, short event, void *arg)
{
	struct timeval	 tv;

	(void)fd;
	(void)event;
	(void)arg;
	if (w.wit_lost > 0) {
		static uint64_t	 lost;
		uint64_t	 n = w.wit_lost;

		lost += n;
		w.wit_lost = 0;
		witness_audit(n, lost, "writer");
	}
	if (w.since_ckpt > 0 && !w.full) {
		if (writer_checkpoint() == -1)
			disk_full("ENOSPC");
		else if (writer_commit() == 0)
			(void)space_budget();
		imsgev_add(&listener);
	}
	tv.tv_sec = w.conf->ckpt_secs;
	tv.tv_usec = 0;
	evtimer_add(&ev_timer, &tv);
}

static void
writer_parent(int fd, short event, void *arg)
{
	char	 buf[64];

	(void)event;
	(void)arg;
	if (read(fd, buf, sizeof(buf)) == -1 && errno == EAGAIN)
		return;
	writer_stop("the parent is gone");
}

static void
writer_term(int sig, short event, void *arg)
{
	(void)sig;
	(void)event;
	(void)arg;
	writer_stop("SIGTERM");
}

/* a secret key file into sk; 0, or -1 if missing or not a key */
static int
key_read(const char *name, uint8_t sk[64])
{
	char	 text[512];
	ssize_t	 n;
	int	 fd, rc;

	if ((fd = openat(w.dirfd, name, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return -1;
		fatal("open %s", name);
	}
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 0)
		fatal("read %s", name);
	rc = chain_seckey_parse(text, n, sk);
	sodium_memzero(text, sizeof(text));
	return rc;
}

/*
 * The one usable key: the one the log's last checkpoint names (the
 * pinned key of CHAIN_PUBFILE before any names one).  A key step cut
 * short by a crash is finished or undone here.
 */
static void
load_key(void)
{
	char	 text[512], want[CHAIN_KEYIDLEN + 1], have[CHAIN_KEYIDLEN + 1];
	char	 nhave[CHAIN_KEYIDLEN + 1];
	uint8_t	 pk[crypto_sign_PUBLICKEYBYTES], npk[crypto_sign_PUBLICKEYBYTES];
	ssize_t	 n;
	int	 fd, cur, next;

	if ((w.sk = sodium_malloc(crypto_sign_SECRETKEYBYTES)) == NULL ||
	    (w.nsk = sodium_malloc(crypto_sign_SECRETKEYBYTES)) == NULL)
		fatal("sodium_malloc");
	if (w.lastck_file != 0 && w.lastck.hasnext)
		memcpy(pk, w.lastck.next, sizeof(pk));
	else {
		if ((fd = openat(w.dirfd, CHAIN_PUBFILE, O_RDONLY |
		    O_NOFOLLOW | O_CLOEXEC)) == -1)
			fatal("open %s", CHAIN_PUBFILE);
		n = read(fd, text, sizeof(text));
		close(fd);
		if (n < 0 || chain_pubkey_parse(text, (size_t)n, pk) == -1)
			fatalx("%s: not a public key", CHAIN_PUBFILE);
	}
	chain_keyid(pk, want);
	cur = key_read(CHAIN_KEYFILE, w.sk) == 0;
	next = key_read(CHAIN_NEXTKEYFILE, w.nsk) == 0;
	strlcpy(have, "none", sizeof(have));
	strlcpy(nhave, "none", sizeof(nhave));
	if (cur) {
		set_keyid();
		strlcpy(have, w.keyid, sizeof(have));
	}
	if (next) {
		crypto_sign_ed25519_sk_to_pk(npk, w.nsk);
		chain_keyid(npk, nhave);
	}
	if (cur && strcmp(have, want) == 0) {
		/* a step that never reached its checkpoint: undone */
		if (next || faccessat(w.dirfd, CHAIN_NEXTKEYFILE, F_OK,
		    AT_SYMLINK_NOFOLLOW) == 0) {
			key_erase(CHAIN_NEXTKEYFILE);
			log_warnx("key step at seq %llu not reached: %s "
			    "(key %s) erased", (unsigned long long)
			    (w.seq + 1), CHAIN_NEXTKEYFILE, nhave);
		}
	} else if (next && strcmp(nhave, want) == 0) {
		/* the checkpoint naming it is durable: finish the step */
		(void)key_zero(CHAIN_KEYFILE);
		if (renameat(w.dirfd, CHAIN_NEXTKEYFILE, w.dirfd,
		    CHAIN_KEYFILE) == -1)
			fatal("rename %s to %s", CHAIN_NEXTKEYFILE,
			    CHAIN_KEYFILE);
		if (fsync(w.dirfd) == -1)
			fatal("fsync log directory");
		memcpy(w.sk, w.nsk, crypto_sign_SECRETKEYBYTES);
		set_keyid();
		log_warnx("key step at seq %llu finished: key %s erased, "
		    "key %s current", (unsigned long long)
		    (w.lastck.head_seq + 1), have, w.keyid);
	} else
		fatalx("no secret key for the next checkpoint: the log's last "
		    "checkpoint %s key %s, but %s holds key %s and %s key %s: "
		    "the key files were replaced or lost; the log cannot be "
		    "continued (move it aside to start a new chain)",
		    w.lastck_file && w.lastck.hasnext ? "names" :
		    "is older than key evolution; " CHAIN_PUBFILE " has",
		    want, CHAIN_KEYFILE, have, CHAIN_NEXTKEYFILE, nhave);
	sodium_memzero(w.nsk, crypto_sign_SECRETKEYBYTES);
	sodium_memzero(text, sizeof(text));
}

static void
load_logid(void)
{
	char	 text[128];
	ssize_t	 n;
	int	 fd;

	if ((fd = openat(w.dirfd, CHAIN_LOGIDFILE, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		fatal("open %s", CHAIN_LOGIDFILE);
	n = read(fd, text, sizeof(text));
	close(fd);
	if (n < 0 || chain_logid_parse(text, (size_t)n, w.logid) == -1)
		fatalx("%s: not a log id", CHAIN_LOGIDFILE);
}

/* lensauditd's own record: the only kind that may be of type audit.* */
static int
own_record(const struct chain_rec *r)
{
	return strcmp(r->source, CHAIN_SELF_SOURCE) == 0 && r->id == 0 &&
	    r->sandbox[0] == '\0';
}

/* recovery: a client's record of a reserved type is not lensauditd's */
static void
recover_client_record(const struct chain_rec *r, const char *where)
{
	if (chain_type_reserved(r->type) && !own_record(r))
		log_warnx("%s: seq %llu: record of reserved type %s from "
		    "source %s (id %llu) was not written by lensauditd: "
		    "not a checkpoint", where, (unsigned long long)r->seq,
		    r->type, r->source, (unsigned long long)r->id);
	source_seen(r->source, r->id);
}

/* merge the "sources" of a checkpoint record into the table */
static void
merge_ckpt_sources(const struct chain_rec *r, const char *where)
{
	json_t		*d, *srcs, *v;
	const char	*k;

	if ((d = json_loadb(r->details, r->detailslen, 0, NULL)) == NULL ||
	    (srcs = json_object_get(d, "sources")) == NULL ||
	    !json_is_object(srcs))
		fatalx("%s: checkpoint seq %llu has no sources", where,
		    (unsigned long long)r->seq);
	json_object_foreach(srcs, k, v) {
		if (!chain_name_ok(k, CHAIN_SOURCE) || !json_is_integer(v) ||
		    json_integer_value(v) < 0)
			fatalx("%s: checkpoint seq %llu: bad source entry",
			    where, (unsigned long long)r->seq);
		source_seen(k, (uint64_t)json_integer_value(v));
	}
	json_decref(d);
}

/* recovery: a checkpoint of lensauditd's, in log file n */
static void
recover_ckpt(const struct chain_rec *r, const char *where, unsigned int n)
{
	const char	*why;

	merge_ckpt_sources(r, where);
	if (chain_ckpt_parse(r, &w.lastck, &why) == -1)
		fatalx("%s: checkpoint seq %llu: %s", where,
		    (unsigned long long)r->seq, why);
	w.lastck_file = n;
}

/* the last line of the file before the current one: its checkpoint */
static void
recover_previous(unsigned int n)
{
	char		 name[CHAIN_LOGNAMEMAX + 1], *buf, *start;
	struct chain_rec r;
	struct stat	 st;
	const char	*why;
	size_t		 want;
	ssize_t		 got;
	int		 fd;

	chain_logname(name, sizeof(name), n);
	if ((fd = openat(w.dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC))
	    == -1)
		fatal("open %s", name);
	if (fstat(fd, &st) == -1)
		fatal("stat %s", name);
	want = st.st_size < CHAIN_MAXLINE + 1 ? (size_t)st.st_size :
	    CHAIN_MAXLINE + 1;
	if (want < 2 || (buf = malloc(want + 1)) == NULL)
		fatalx("%s: empty or unreadable, but a later file exists",
		    name);
	if ((got = pread(fd, buf, want, st.st_size - want)) != (ssize_t)want)
		fatal("read %s", name);
	close(fd);
	if (buf[want - 1] != '\n')
		fatalx("%s: does not end with a complete record", name);
	buf[want - 1] = '\0';
	start = (start = strrchr(buf, '\n')) ? start + 1 : buf;
	if (chain_parse(start, strlen(start), &r, &why) == -1 ||
	    chain_check_hash(start, &r) == -1 ||
	    strcmp(r.type, CHAIN_CKPT_TYPE) != 0 || !own_record(&r))
		fatalx("%s: the last record is not a valid checkpoint%s%s",
		    name, why ? ": " : "", why ? why : "");
	recover_ckpt(&r, name, n);
	w.seq = r.seq;
	memcpy(w.last, r.hash, CHAIN_HASHLEN);
	free(buf);
}

/*
 * Find the newest file, check its chain from its first record, and cut
 * off a torn last line.  Returns the number of bytes cut.
 */
static size_t
recover(char *torn_at, size_t len)
{
	DIR		*d;
	struct dirent	*de;
	uint64_t	 n;
	unsigned int	 max = 0;
	char		 name[CHAIN_LOGNAMEMAX + 1];
	struct stat	 st;
	struct chain_rec r;
	const char	*p, *nl, *why;
	size_t		 off = 0, cut = 0;
	uint64_t	 line = 0;

	if ((d = fdopendir(dup(w.dirfd))) == NULL)
		fatal("opendir log directory");
	while ((de = readdir(d)) != NULL) {
		if (chain_logname_num(de->d_name, &n) == 0 && n > max) {
			if (n >= UINT_MAX)
				fatalx("%s: file number too large", de->d_name);
			max = n;
		}
	}
	closedir(d);

	memset(w.last, 0, sizeof(w.last));
	w.seq = 0;
	if (max == 0) {
		open_log(1, 1);
		log_info("new audit chain in %s", w.conf->dir);
		return 0;
	}
	if (max > 1)
		recover_previous(max - 1);
	open_log(max, 0);
	chain_logname(name, sizeof(name), max);
	if (fstat(w.logfd, &st) == -1)
		fatal("stat %s", name);
	if (st.st_size == 0) {
		w.filesize = 0;
		return 0;
	}
	if ((p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, w.logfd, 0))
	    == MAP_FAILED)
		fatal("mmap %s", name);
	while (off < (size_t)st.st_size) {
		line++;
		if ((nl = memchr(p + off, '\n', st.st_size - off)) == NULL) {
			cut = st.st_size - off;
			break;
		}
		if (chain_parse(p + off, nl - (p + off), &r, &why) == -1)
			fatalx("%s line %llu: %s; the log was damaged or "
			    "modified (see lensctl audit verify)", name,
			    (unsigned long long)line, why);
		if (chain_check_hash(p + off, &r) == -1 ||
		    r.seq != w.seq + 1 ||
		    memcmp(r.prev, w.last, CHAIN_HASHLEN) != 0)
			fatalx("%s line %llu: seq %llu does not continue the "
			    "chain; the log was damaged or modified (see "
			    "lensctl audit verify)", name,
			    (unsigned long long)line,
			    (unsigned long long)r.seq);
		if (strcmp(r.type, CHAIN_CKPT_TYPE) == 0 && own_record(&r)) {
			recover_ckpt(&r, name, max);
			w.since_ckpt = 0;
		} else {
			recover_client_record(&r, name);
			w.since_ckpt++;
		}
		w.seq = r.seq;
		memcpy(w.last, r.hash, CHAIN_HASHLEN);
		off = nl - p + 1;
	}
	munmap((void *)p, st.st_size);
	if (cut > 0) {
		if (ftruncate(w.logfd, off) == -1 || fsync(w.logfd) == -1)
			fatal("truncate %s", name);
		log_warnx("%s: torn last record (%zu bytes at offset %zu) "
		    "removed: it was never acknowledged", name, cut, off);
		snprintf(torn_at, len, "{\"bytes\":%zu,\"file\":\"%s\","
		    "\"offset\":%zu}", cut, name, off);
	}
	w.filesize = off;
	return cut;
}

/*
 * The head file against the log just recovered.  Behind the last
 * checkpoint (a crash between the log's fdatasync and the head's
 * rename) or missing, it is written again from that checkpoint; ahead
 * of it, or without any log, the log was cut: refuse to go on writing
 * (and so to overwrite the evidence).
 */
static void
recover_head(void)
{
	struct chain_head h;
	const char	*why;
	char		 text[1024], file[CHAIN_LOGNAMEMAX + 1];
	ssize_t		 n;
	int		 fd;

	if ((fd = openat(w.dirfd, CHAIN_HEADFILE, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		if (errno != ENOENT)
			fatal("open %s", CHAIN_HEADFILE);
		if (w.lastck_file == 0)
			return;
		log_warnx("%s is missing: written again from the last "
		    "checkpoint (after seq %llu)", CHAIN_HEADFILE,
		    (unsigned long long)w.lastck.head_seq);
	} else {
		n = read(fd, text, sizeof(text));
		close(fd);
		if (n < 0)
			fatal("read %s", CHAIN_HEADFILE);
		if (chain_head_parse(text, (size_t)n, &h, &why) == -1)
			fatalx("%s: %s; see lensctl audit verify",
			    CHAIN_HEADFILE, why);
		if (w.lastck_file == 0 ||
		    h.ckpt.head_seq > w.lastck.head_seq)
			fatalx("%s names the checkpoint after seq %llu, but "
			    "the log's last checkpoint is %s%llu: the log was "
			    "truncated (see lensctl audit verify)",
			    CHAIN_HEADFILE, (unsigned long long)h.ckpt.head_seq,
			    w.lastck_file == 0 ? "none, seq " : "after seq ",
			    (unsigned long long)(w.lastck_file == 0 ? w.seq :
			    w.lastck.head_seq));
		if (h.ckpt.head_seq == w.lastck.head_seq)
			return;
		log_warnx("%s names the checkpoint after seq %llu, the log "
		    "has one after seq %llu: written again", CHAIN_HEADFILE,
		    (unsigned long long)h.ckpt.head_seq,
		    (unsigned long long)w.lastck.head_seq);
	}
	chain_logname(file, sizeof(file), w.lastck_file);
	if (chain_head_format(w.headline, sizeof(w.headline), file,
	    &w.lastck) == -1)
		fatalx("cannot build the head file");
	w.headpending = 1;
}

/*
 * The witness's last checkpoint must be of this log and in it: a log cut
 * back behind its witness is not written on.
 */
static void
witness_check(int fd, off_t end)
{
	struct chain_head h;
	const char	*why, *line;
	char		 buf[1024], a[CHAIN_LOGIDHEXLEN + 1];
	char		 b[CHAIN_LOGIDHEXLEN + 1];
	size_t		 n;

	n = end > (off_t)sizeof(buf) - 1 ? sizeof(buf) - 1 : (size_t)end;
	if (pread(fd, buf, n, end - (off_t)n) != (ssize_t)n)
		fatal("read witness");
	buf[n - 1] = '\0';	/* its newline */
	line = (line = strrchr(buf, '\n')) != NULL ? line + 1 : buf;
	if (chain_head_parse(line, strlen(line), &h, &why) == -1)
		fatalx("witness %s: last line: %s", w.conf->witness, why);
	if (!h.ckpt.haslog ||
	    memcmp(h.ckpt.logid, w.logid, CHAIN_LOGIDLEN) != 0) {
		chain_tohex(h.ckpt.logid, CHAIN_LOGIDLEN, a);
		chain_tohex(w.logid, CHAIN_LOGIDLEN, b);
		fatalx("witness %s is of log %s, this log is %s: a witness "
		    "belongs to one log; move it aside for a new chain",
		    w.conf->witness, h.ckpt.haslog ? a : "(none)", b);
	}
	if (w.lastck_file == 0 || h.ckpt.head_seq > w.lastck.head_seq)
		fatalx("witness %s names the checkpoint after seq %llu, but "
		    "the log's last checkpoint is %s%llu: the log was "
		    "truncated (see lensctl audit verify --witness)",
		    w.conf->witness, (unsigned long long)h.ckpt.head_seq,
		    w.lastck_file == 0 ? "none, seq " : "after seq ",
		    (unsigned long long)(w.lastck_file == 0 ? w.seq :
		    w.lastck.head_seq));
}

/*
 * A witness line torn by a crash (never fsync'd, so never counted as
 * durable) is cut off, so the next one starts on a line of its own.
 */
static void
recover_witness(void)
{
	char	 buf[1024];
	off_t	 end, off;
	ssize_t	 n;
	int	 fd = w.conf->witness_fd;

	if (fd == -1 || (end = lseek(fd, 0, SEEK_END)) <= 0)
		return;
	for (off = end; off > 0; ) {
		n = off > (off_t)sizeof(buf) ? (ssize_t)sizeof(buf) :
		    (ssize_t)off;
		if (pread(fd, buf, n, off - n) != n)
			fatal("read witness");
		while (n > 0 && buf[n - 1] != '\n')
			n--;
		if (n > 0) {
			off = off - (off > (off_t)sizeof(buf) ?
			    (off_t)sizeof(buf) : off) + n;
			break;
		}
		off -= off > (off_t)sizeof(buf) ? (off_t)sizeof(buf) : off;
	}
	if (off != end) {
		if (ftruncate(fd, off) == -1 || fsync(fd) == -1)
			fatal("truncate witness");
		log_warnx("witness: torn last line (%lld bytes) removed",
		    (long long)(end - off));
	}
	if (off > 0)
		witness_check(fd, off);
}

static void	writer_started(int, short, void *);

static void
writer_init(void *arg)
{
	static struct event	 ev_start;
	struct timeval		 tv, now = { 0, 0 };
	int			 lockfd;

	(void)arg;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("PR_SET_DUMPABLE");
	if ((w.dirfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		fatal("open log directory");
	/* a writer killed with its parent may still be exiting: wait */
	if ((lockfd = openat(w.dirfd, LOCKFILE, O_RDWR | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1)
		fatal("open %s", LOCKFILE);
	if (flock(lockfd, LOCK_EX) == -1)
		fatal("lock %s", LOCKFILE);
	load_logid();
	recover(w.torn, sizeof(w.torn));
	w.durable_seq = w.seq;
	recover_head();
	recover_witness();
	/* after those: a log cut back is named as such, not as a key */
	load_key();

	signal_set(&ev_term, SIGTERM, writer_term, NULL);
	signal_add(&ev_term, NULL);
	event_set(&ev_parent, w.parentfd, EV_READ | EV_PERSIST, writer_parent,
	    NULL);
	event_add(&ev_parent, NULL);
	evtimer_set(&ev_timer, writer_timer, NULL);
	evtimer_set(&ev_space, space_poll, NULL);
	tv.tv_sec = w.conf->ckpt_secs;
	tv.tv_usec = 0;
	evtimer_add(&ev_timer, &tv);
	proc_chan_init(&lchan, w.conf->link[1], "listener", link_msgs,
	    sizeof(link_msgs) / sizeof(link_msgs[0]), NULL);
	lchan.more = link_more;
	lchan.done = link_done;
	lchan.lost = link_lost;
	listener.ibuf.maxqueue = 64 * 1024 * 1024;
	if (w.conf->collector[0] != '\0') {
		proc_chan_init(&wchan, w.conf->wlink[0], "witness", wit_msgs,
		    sizeof(wit_msgs) / sizeof(wit_msgs[0]), NULL);
		/* bounded: a stuck witness costs checkpoints, not the log */
		wchan.iev.ibuf.maxqueue = 4 * 1024 * 1024;
	}
	/* under the syscall filter, from the event loop */
	evtimer_set(&ev_start, writer_started, NULL);
	evtimer_add(&ev_start, &now);
}

static void
writer_started(int fd, short event, void *arg)
{
	char	 details[512];

	(void)fd;
	(void)event;
	(void)arg;
	/* every start is on the record, with what recovery cut off */
	snprintf(details, sizeof(details), "{\"key\":\"%s\",\"pid\":%d%s%s}",
	    w.keyid, (int)getpid(), w.torn[0] ? ",\"torn\":" : "",
	    w.torn[0] ? w.torn : "");
	writer_record("", CHAIN_SELF_SOURCE, 0, "audit.start", details,
	    strlen(details));
	if (writer_commit() == 0)
		(void)space_budget();
	log_info("ready at seq %llu, file %06u", (unsigned long long)w.seq,
	    w.fileno);
}

int
writer_main(int parentfd, void *arg)
{
	static const struct proc_role	 role = {
		.name = "writer",
		PROC_SECCOMP(writer_syscalls),
		.init = writer_init,
	};
	struct proc_role		 r = role;

	w.conf = arg;
	w.parentfd = parentfd;
	RB_INIT(&w.sources);
	umask(027);
	json_object_seed(randombytes_random() | 1);
	r.root = w.conf->dir;
	return proc_start(&r, &w.conf->user, w.conf->parent, NULL);
}
