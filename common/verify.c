/*
 * Offline verification of the audit chain (lensctl audit verify): the
 * log files, the head file, the witness, checked against a trusted
 * public key.  How a bad record is classified is described in verify.h.
 */
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "verify.h"

static const uint8_t zerohash[CHAIN_HASHLEN];


struct vrec {
	uint64_t	 seq;
	uint8_t		 prev[CHAIN_HASHLEN];
	uint8_t		 hash[CHAIN_HASHLEN];
	size_t		 file;		/* index in v->files */
	uint64_t	 line;
};

enum vpend { PEND_NONE, PEND_SIBLING, PEND_BADPREV, PEND_JUMP };

/*
 * What can be found out about a line on its own (structure, hash,
 * details), computed by several threads for a batch of lines before
 * the chain is followed through the batch in order.
 */
struct vpre {
	const char	*line;
	size_t		 len;
	const char	*why;		/* it does not parse, or strict */
	uint64_t	 seq;
	uint8_t		 prev[CHAIN_HASHLEN];
	uint8_t		 hash[CHAIN_HASHLEN];
	unsigned char	 parsed;
	unsigned char	 hashok;
	unsigned char	 ckpt;		/* chain_is_ckpt */
};

#define VBATCH		8192	/* lines */
#define VPARMIN		1024	/* fewer lines are done by one thread */
#define VMAXTHREADS	8

struct chain_verifier {
	uint8_t		 pk[32];		/* the key of the next checkpoint */
	char		 keyid[CHAIN_KEYIDLEN + 1];
	uint8_t		 pk0[32];		/* the trusted (pinned) key */
	char		 keyid0[CHAIN_KEYIDLEN + 1];
	int		 evolving;	/* pk was named by a checkpoint ... */
	uint64_t	 keyfrom;	/* ... at this seq */
	uint64_t	 steps;		/* checkpoints that named a next key */
	uint64_t	 first_seq;
	int		 flags;

	char		**files;
	uint64_t	*filenum;	/* 0: not a log file name */
	size_t		 nfiles;
	uint64_t	 curline;	/* in the last file */

	int		 have_last;
	struct vrec	 last;		/* the last record that verified */
	enum vpend	 pend;		/* a bad record waits for the next */
	struct vrec	 pr;

	int		 done;		/* an error was found */
	struct chain_vresult res;

	int		 head_state;	/* 0 none, 1 good, -1 bad */
	struct chain_head head;
	char		 headname[256];
	enum chain_verr	 head_err;
	char		 head_reason[256];
	size_t		 headrec_file;

	uint64_t	 records, ckpts, last_ckpt_seq, last_signed;
	uint64_t	 legacy;		/* checkpoints without a log id */
	int		 last_haslog;
	int		 need_time;	/* the next record is the first unsigned */

	int		 haslogid;	/* the log id the checkpoints carry */
	uint8_t		 logid[CHAIN_LOGIDLEN];
	char		 logid_from[200];
	int		 logid_bad;	/* two sources disagree */
	char		 logid_badfrom[200];	/* the second one */
	char		 logid_reason[512];

	struct chain_head *wit;		/* witness entries */
	unsigned char	*witok;		/* its signature verified */
	size_t		 nwit, wnext;
	char		 witname[256];
	int		 wit_bad;
	char		 wit_reason[512];

	struct vpre	*pre;		/* grows up to VBATCH */
	size_t		 precap;
	int		 nworkers;	/* threads besides the caller */
};

const char *
chain_verr_str(enum chain_verr e)
{
	static const char *const s[] = {
		"intact", "malformed", "edited", "deleted", "inserted",
		"reordered", "truncated", "bad signature", "wrong key",
		"bad checkpoint", "bad head file", "unreadable",
		"log id mismatch", "witness mismatch"
	};

	if ((size_t)e >= sizeof(s) / sizeof(s[0]))
		return "unknown";
	return s[e];
}

static const char *
basename_of(const char *path)
{
	const char	*s = strrchr(path, '/');

	return s == NULL ? path : s + 1;
}

static void vfail(struct chain_verifier *, enum chain_verr, size_t,
    uint64_t, uint64_t, const char *, ...)
    __attribute__((format(printf, 6, 7)));

static void
vfail(struct chain_verifier *v, enum chain_verr err, size_t file,
    uint64_t line, uint64_t seq, const char *fmt, ...)
{
	va_list	 ap;

	v->done = 1;
	v->res.err = err;
	if (file < v->nfiles)
		strlcpy(v->res.file, v->files[file], sizeof(v->res.file));
	v->res.line = line;
	v->res.seq = seq;
	va_start(ap, fmt);
	vsnprintf(v->res.reason, sizeof(v->res.reason), fmt, ap);
	va_end(ap);
}

struct chain_verifier *
chain_verify_new(const uint8_t pk[32], uint64_t first_seq, int flags)
{
	struct chain_verifier	*v;
	long			 n;

	if (first_seq == 0) {
		errno = EINVAL;
		return NULL;
	}
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return NULL;
	memcpy(v->pk, pk, sizeof(v->pk));
	chain_keyid(pk, v->keyid);
	memcpy(v->pk0, pk, sizeof(v->pk0));
	memcpy(v->keyid0, v->keyid, sizeof(v->keyid0));
	v->first_seq = first_seq;
	v->flags = flags;
	v->headrec_file = SIZE_MAX;
	v->need_time = 1;
	if (!(flags & CHAIN_VSERIAL)) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		v->nworkers = n < 2 ? 0 : n > VMAXTHREADS ? VMAXTHREADS - 1 :
		    (int)n - 1;
	}
	/* jansson seeds its hash tables once; do it before any thread */
	json_object_seed(0);
	return v;
}

void
chain_verify_free(struct chain_verifier *v)
{
	size_t	 i;

	if (v == NULL)
		return;
	for (i = 0; i < v->nfiles; i++)
		free(v->files[i]);
	free(v->files);
	free(v->filenum);
	free(v->pre);
	free(v->wit);
	free(v->witok);
	free(v);
}

int
chain_verify_head(struct chain_verifier *v, const char *name,
    const char *text, size_t len)
{
	const char	*why;

	strlcpy(v->headname, basename_of(name), sizeof(v->headname));
	v->head_state = -1;
	if (chain_head_parse(text, len, &v->head, &why) == -1) {
		v->head_err = CHAIN_VBADHEAD;
		snprintf(v->head_reason, sizeof(v->head_reason),
		    "malformed head file (%s)", why);
		return -1;
	}
	if (v->head.ckpt.hasnext &&
	    strcmp(v->head.ckpt.keyid, v->keyid0) != 0) {
		/*
		 * Signed with an evolved key: only the chain names it.  The
		 * checkpoint it names must be in the log, signed alike.
		 */
		v->head_state = 2;
		chain_verify_logid(v, v->headname, v->head.ckpt.logid);
		return 0;
	}
	if (strcmp(v->head.ckpt.keyid, v->keyid) != 0) {
		v->head_err = CHAIN_VWRONGKEY;
		snprintf(v->head_reason, sizeof(v->head_reason),
		    "wrong key (head file signed by key %s, public key is %s)",
		    v->head.ckpt.keyid, v->keyid);
		return -1;
	}
	if (chain_ckpt_verify(&v->head.ckpt, v->pk) == -1) {
		v->head_err = CHAIN_VBADSIG;
		snprintf(v->head_reason, sizeof(v->head_reason),
		    "bad signature (head file signature does not verify "
		    "with key %s)", v->keyid);
		return -1;
	}
	v->head_state = 1;
	if (v->head.ckpt.haslog)
		chain_verify_logid(v, v->headname, v->head.ckpt.logid);
	return 0;
}

void
chain_verify_logid(struct chain_verifier *v, const char *from,
    const uint8_t logid[CHAIN_LOGIDLEN])
{
	char	 a[CHAIN_LOGIDHEXLEN + 1], b[CHAIN_LOGIDHEXLEN + 1];

	if (!v->haslogid) {
		v->haslogid = 1;
		memcpy(v->logid, logid, CHAIN_LOGIDLEN);
		strlcpy(v->logid_from, from, sizeof(v->logid_from));
		return;
	}
	if (v->logid_bad || memcmp(v->logid, logid, CHAIN_LOGIDLEN) == 0)
		return;
	v->logid_bad = 1;
	strlcpy(v->logid_badfrom, from, sizeof(v->logid_badfrom));
	chain_tohex(v->logid, CHAIN_LOGIDLEN, a);
	chain_tohex(logid, CHAIN_LOGIDLEN, b);
	snprintf(v->logid_reason, sizeof(v->logid_reason), "log id mismatch "
	    "(%s names log %s, %s names log %s)", v->logid_from, a, from, b);
}

static void wbad(struct chain_verifier *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
wbad(struct chain_verifier *v, const char *fmt, ...)
{
	va_list	 ap;

	if (v->wit_bad)
		return;
	v->wit_bad = 1;
	va_start(ap, fmt);
	vsnprintf(v->wit_reason, sizeof(v->wit_reason), fmt, ap);
	va_end(ap);
}

int
chain_verify_witness(struct chain_verifier *v, const char *name,
    const char *text, size_t len)
{
	const char	*p = text, *end = text + len, *nl, *why;
	struct chain_head h, *nw;
	unsigned char	*nok;
	uint64_t	 line = 0;
	char		 from[300], wkeyid[CHAIN_KEYIDLEN + 1];
	uint8_t		 wpk[32];
	int		 known = 1, okay;

	/* the witness is a key chain of its own from the trusted key */
	memcpy(wpk, v->pk0, sizeof(wpk));
	memcpy(wkeyid, v->keyid0, sizeof(wkeyid));

	strlcpy(v->witname, name, sizeof(v->witname));
	while (p < end && !v->wit_bad) {
		line++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			wbad(v, "witness malformed (%s:%llu: no newline at "
			    "the end)", name, (unsigned long long)line);
			break;
		}
		if (chain_head_parse(p, (size_t)(nl - p), &h, &why) == -1) {
			wbad(v, "witness malformed (%s:%llu: %s)", name,
			    (unsigned long long)line, why);
			break;
		}
		okay = 0;
		if (known && strcmp(h.ckpt.keyid, wkeyid) != 0 &&
		    h.ckpt.hasnext)
			known = 0;	/* a gap: checked against the log */
		if (!h.ckpt.haslog)
			wbad(v, "witness malformed (%s:%llu: no log id)", name,
			    (unsigned long long)line);
		else if (known && strcmp(h.ckpt.keyid, wkeyid) != 0)
			wbad(v, "wrong key (%s:%llu: signed by key %s, %s %s)",
			    name, (unsigned long long)line, h.ckpt.keyid,
			    v->nwit == 0 ? "the trusted key is" :
			    "the line before names key", wkeyid);
		else if (known && chain_ckpt_verify(&h.ckpt, wpk) == -1)
			wbad(v, "bad signature (%s:%llu: does not verify with "
			    "key %s)", name, (unsigned long long)line,
			    wkeyid);
		else if (known && v->nwit > 0 && v->wit[v->nwit - 1].ckpt.hasnext
		    && !h.ckpt.hasnext)
			wbad(v, "witness malformed (%s:%llu: no next key after "
			    "a line with one)", name, (unsigned long long)line);
		else if (v->nwit > 0 &&
		    h.ckpt.head_seq <= v->wit[v->nwit - 1].ckpt.head_seq)
			wbad(v, "witness malformed (%s:%llu: seq %llu after "
			    "seq %llu; the log was rolled back)", name,
			    (unsigned long long)line,
			    (unsigned long long)h.ckpt.head_seq,
			    (unsigned long long)
			    v->wit[v->nwit - 1].ckpt.head_seq);
		if (v->wit_bad)
			break;
		if (known) {
			okay = 1;
			if (h.ckpt.hasnext) {
				memcpy(wpk, h.ckpt.next, sizeof(wpk));
				chain_keyid(wpk, wkeyid);
			}
		}
		if ((nw = reallocarray(v->wit, v->nwit + 1,
		    sizeof(*nw))) == NULL) {
			wbad(v, "%s: %s", name, strerror(errno));
			break;
		}
		v->wit = nw;
		if ((nok = realloc(v->witok, v->nwit + 1)) == NULL) {
			wbad(v, "%s: %s", name, strerror(errno));
			break;
		}
		v->witok = nok;
		v->witok[v->nwit] = (unsigned char)okay;
		v->wit[v->nwit++] = h;
		snprintf(from, sizeof(from), "witness %s", name);
		chain_verify_logid(v, from, h.ckpt.logid);
		p = nl + 1;
	}
	return v->wit_bad ? -1 : 0;
}

/* the witness entries up to record r (c: its checkpoint, or NULL) */
static int
vwitness(struct chain_verifier *v, const struct vrec *r,
    const struct chain_ckpt *c)
{
	const struct chain_ckpt *e;

	while (v->wnext < v->nwit) {
		e = &v->wit[v->wnext].ckpt;
		if (e->head_seq + 1 > r->seq)
			return 0;
		if (e->head_seq + 1 < r->seq) {
			/* before the first record verified */
			v->wnext++;
			continue;
		}
		if (c == NULL) {
			vfail(v, CHAIN_VWITNESS, r->file, r->line, r->seq,
			    "witness mismatch (%s names a checkpoint after "
			    "seq %llu; this record is not one: the log was "
			    "rewritten)", v->witname,
			    (unsigned long long)e->head_seq);
			return -1;
		}
		if (memcmp(c->head, e->head, CHAIN_HASHLEN) != 0 ||
		    c->haslog != e->haslog || c->hasnext != e->hasnext ||
		    memcmp(c->next, e->next, sizeof(c->next)) != 0 ||
		    memcmp(c->logid, e->logid, CHAIN_LOGIDLEN) != 0 ||
		    memcmp(c->sig, e->sig, sizeof(c->sig)) != 0) {
			vfail(v, CHAIN_VWITNESS, r->file, r->line, r->seq,
			    "witness mismatch (this checkpoint is not the one "
			    "%s names after seq %llu: the log was rewritten)",
			    v->witname, (unsigned long long)e->head_seq);
			return -1;
		}
		v->wnext++;
		v->res.witnessed++;
	}
	return 0;
}

static int
vaddfile(struct chain_verifier *v, const char *name)
{
	char		**f;
	uint64_t	 *n, num;

	if ((f = reallocarray(v->files, v->nfiles + 1, sizeof(*f))) == NULL)
		return -1;
	v->files = f;
	if ((n = reallocarray(v->filenum, v->nfiles + 1, sizeof(*n))) == NULL)
		return -1;
	v->filenum = n;
	if ((f[v->nfiles] = strdup(name)) == NULL)
		return -1;
	n[v->nfiles] = chain_logname_num(basename_of(name), &num) == 0 ?
	    num : 0;
	v->nfiles++;
	v->curline = 0;
	return 0;
}

/* the seq and prev the next record must have; prev NULL: any */
static uint64_t
vexpect(const struct chain_verifier *v, const uint8_t **prev)
{
	if (v->have_last) {
		*prev = v->last.hash;
		return v->last.seq + 1;
	}
	*prev = v->first_seq == 1 ? zerohash : NULL;
	return v->first_seq;
}

/* decide what the pending bad record was, with n the one after it */
static void
vresolve(struct chain_verifier *v, const struct vrec *n)
{
	const struct vrec *r = &v->pr;
	const uint8_t	*eprev;
	uint64_t	 eseq = vexpect(v, &eprev), a, b;
	char		 note[128] = "";

	switch (v->pend) {
	case PEND_SIBLING:
		if (n != NULL && n->seq == r->seq + 1 &&
		    memcmp(n->prev, r->hash, CHAIN_HASHLEN) == 0)
			vfail(v, CHAIN_VINSERTED, v->last.file, v->last.line,
			    v->last.seq, "record inserted (the records after "
			    "it chain to the record before it)");
		else
			vfail(v, CHAIN_VINSERTED, r->file, r->line, r->seq,
			    "record inserted (it repeats seq %llu and chains "
			    "to the same record as the one before it)",
			    (unsigned long long)r->seq);
		break;
	case PEND_BADPREV:
		if (n != NULL && eprev != NULL && n->seq == eseq &&
		    memcmp(n->prev, eprev, CHAIN_HASHLEN) == 0)
			vfail(v, CHAIN_VINSERTED, r->file, r->line, r->seq,
			    "record inserted (it does not chain to the record "
			    "before it; the next one does)");
		else
			vfail(v, CHAIN_VEDITED, r->file, r->line, r->seq,
			    "record edited or replaced (prev does not match "
			    "the hash of the record before it)");
		break;
	case PEND_JUMP:
		if (n != NULL && n->seq == eseq) {
			if (eprev != NULL &&
			    memcmp(r->prev, eprev, CHAIN_HASHLEN) == 0 &&
			    memcmp(n->prev, eprev, CHAIN_HASHLEN) == 0)
				vfail(v, CHAIN_VINSERTED, r->file, r->line,
				    r->seq, "record inserted (seq out of "
				    "place; the next record chains to the "
				    "record before it)");
			else
				vfail(v, CHAIN_VREORDERED, r->file, r->line,
				    r->seq, "records reordered (seq %llu "
				    "comes after it)",
				    (unsigned long long)eseq);
			break;
		}
		/* a gap in the file numbers right before this record */
		if (r->line == 1 && v->filenum[r->file] != 0) {
			a = r->file > 0 ? v->filenum[r->file - 1] : 0;
			b = v->filenum[r->file];
			if ((r->file == 0 || a != 0) && b > a + 1) {
				if (b == a + 2)
					snprintf(note, sizeof(note), "; "
					    CHAIN_LOGPREFIX "%06llu"
					    CHAIN_LOGSUFFIX " is missing",
					    (unsigned long long)(a + 1));
				else
					snprintf(note, sizeof(note), "; log "
					    "files %06llu to %06llu are "
					    "missing", (unsigned long long)
					    (a + 1), (unsigned long long)
					    (b - 1));
			}
		}
		if (r->seq - eseq == 1)
			vfail(v, CHAIN_VDELETED, r->file, r->line, r->seq,
			    "record deleted (seq %llu is missing%s)",
			    (unsigned long long)eseq, note);
		else
			vfail(v, CHAIN_VDELETED, r->file, r->line, r->seq,
			    "records deleted (seq %llu to %llu are missing%s)",
			    (unsigned long long)eseq,
			    (unsigned long long)(r->seq - 1), note);
		break;
	case PEND_NONE:
		break;
	}
	v->pend = PEND_NONE;
}

/* the log id of a checkpoint that verified */
static int
vlogid(struct chain_verifier *v, const struct vrec *r,
    const struct chain_ckpt *c)
{
	char	 a[CHAIN_LOGIDHEXLEN + 1], b[CHAIN_LOGIDHEXLEN + 1];

	if (!c->haslog) {
		if (v->last_haslog) {
			vfail(v, CHAIN_VLOGID, r->file, r->line, r->seq,
			    "log id mismatch (checkpoint without a log id "
			    "after checkpoints with one)");
			return -1;
		}
		v->legacy++;
		return 0;
	}
	if (!v->haslogid) {
		v->haslogid = 1;
		memcpy(v->logid, c->logid, CHAIN_LOGIDLEN);
		snprintf(v->logid_from, sizeof(v->logid_from), "the "
		    "checkpoint at seq %llu", (unsigned long long)r->seq);
	} else if (memcmp(v->logid, c->logid, CHAIN_LOGIDLEN) != 0) {
		chain_tohex(c->logid, CHAIN_LOGIDLEN, a);
		chain_tohex(v->logid, CHAIN_LOGIDLEN, b);
		vfail(v, CHAIN_VLOGID, r->file, r->line, r->seq,
		    "log id mismatch (checkpoint signed for log %s; %s names "
		    "log %s: a checkpoint of another log)", a, v->logid_from,
		    b);
		return -1;
	}
	v->last_haslog = 1;
	return 0;
}

/* the time of a record that parsed */
static int
vtime(const struct vpre *p, struct timespec *ts)
{
	struct chain_rec r;
	const char	*why;
	char		 t[CHAIN_TIMELEN + 1];

	if (chain_parse(p->line, p->len, &r, &why) == -1)
		return -1;
	memcpy(t, r.time, CHAIN_TIMELEN);
	t[CHAIN_TIMELEN] = '\0';
	return chain_timeparse(t, ts);
}

/*
 * A log that starts after seq 1 (older files removed): the key of its
 * first checkpoint is named by a witness line before it whose own
 * signature was verified from the trusted key.
 */
static void
vwitkey(struct chain_verifier *v, const struct vrec *r, const char *keyid)
{
	char	 id[CHAIN_KEYIDLEN + 1];
	size_t	 i;

	for (i = v->nwit; i > 0; i--) {
		const struct chain_ckpt *e = &v->wit[i - 1].ckpt;

		if (!v->witok[i - 1] || !e->hasnext || e->head_seq + 1 >= r->seq)
			continue;
		chain_keyid(e->next, id);
		if (strcmp(id, keyid) != 0)
			continue;
		memcpy(v->pk, e->next, sizeof(v->pk));
		memcpy(v->keyid, id, sizeof(v->keyid));
		v->evolving = 1;
		v->keyfrom = e->head_seq + 1;
		return;
	}
}

/* checks of a record that chains; 0 or -1 (v->done) */
static int
vaccept(struct chain_verifier *v, const struct vrec *r,
    const struct vpre *p)
{
	struct chain_rec cr;
	struct chain_ckpt c;
	const char	*why;
	int		 ckpt = p->ckpt;

	if (ckpt) {
		/* parsed before, so this cannot fail */
		if (chain_parse(p->line, p->len, &cr, &why) == -1 ||
		    chain_ckpt_parse(&cr, &c, &why) == -1) {
			vfail(v, CHAIN_VBADCKPT, r->file, r->line, r->seq,
			    "bad checkpoint (%s)", why);
			return -1;
		}
		if (c.head_seq != r->seq - 1 ||
		    memcmp(c.head, r->prev, CHAIN_HASHLEN) != 0) {
			vfail(v, CHAIN_VBADCKPT, r->file, r->line, r->seq,
			    "bad checkpoint (head does not name the record "
			    "before it)");
			return -1;
		}
		if (strcmp(c.keyid, v->keyid) != 0 && v->ckpts == 0)
			vwitkey(v, r, c.keyid);
		if (strcmp(c.keyid, v->keyid) != 0) {
			if (v->evolving)
				vfail(v, CHAIN_VWRONGKEY, r->file, r->line,
				    r->seq, "wrong key (checkpoint signed by "
				    "key %s; the checkpoint at seq %llu named "
				    "key %s for it)", c.keyid,
				    (unsigned long long)v->keyfrom, v->keyid);
			else
				vfail(v, CHAIN_VWRONGKEY, r->file, r->line,
				    r->seq, "wrong key (checkpoint signed by "
				    "key %s, public key is %s)", c.keyid,
				    v->keyid);
			return -1;
		}
		if (chain_ckpt_verify(&c, v->pk) == -1) {
			if (v->evolving)
				vfail(v, CHAIN_VBADSIG, r->file, r->line,
				    r->seq, "bad signature (checkpoint "
				    "signature does not verify with key %s, "
				    "named by the checkpoint at seq %llu)",
				    v->keyid, (unsigned long long)v->keyfrom);
			else
				vfail(v, CHAIN_VBADSIG, r->file, r->line,
				    r->seq, "bad signature (checkpoint "
				    "signature does not verify with key %s)",
				    v->keyid);
			return -1;
		}
		if (vlogid(v, r, &c) == -1)
			return -1;
		if (!c.hasnext && v->steps > 0) {
			vfail(v, CHAIN_VBADCKPT, r->file, r->line, r->seq,
			    "bad checkpoint (no next key, after the "
			    "checkpoint at seq %llu began key evolution)",
			    (unsigned long long)v->keyfrom);
			return -1;
		}
	}
	if (vwitness(v, r, ckpt ? &c : NULL) == -1)
		return -1;
	if (v->head_state >= 1) {
		if (r->seq == v->head.ckpt.head_seq) {
			if (memcmp(r->hash, v->head.ckpt.head,
			    CHAIN_HASHLEN) != 0) {
				vfail(v, CHAIN_VEDITED, r->file, r->line,
				    r->seq, "record edited or replaced (its "
				    "hash is not the one signed in %s)",
				    v->headname);
				return -1;
			}
			v->headrec_file = r->file;
		} else if (r->seq == v->head.ckpt.head_seq + 1) {
			if (!ckpt) {
				vfail(v, CHAIN_VTRUNCATED, r->file, r->line,
				    r->seq, "log truncated (this should be "
				    "the checkpoint named by %s; the log was "
				    "cut and written again)", v->headname);
				return -1;
			}
			if (v->head_state == 2 && (!c.hasnext ||
			    memcmp(c.next, v->head.ckpt.next, 32) != 0 ||
			    memcmp(c.sig, v->head.ckpt.sig, 64) != 0 ||
			    strcmp(c.keyid, v->head.ckpt.keyid) != 0)) {
				vfail(v, CHAIN_VBADHEAD, r->file, r->line,
				    r->seq, "head file mismatch (%s is not "
				    "signed as this checkpoint is)",
				    v->headname);
				return -1;
			}
			if (strcmp(basename_of(v->files[r->file]),
			    v->head.file) != 0 &&
			    (v->headrec_file == SIZE_MAX ||
			    strcmp(basename_of(v->files[v->headrec_file]),
			    v->head.file) != 0)) {
				vfail(v, CHAIN_VBADHEAD, r->file, r->line,
				    r->seq, "head file mismatch (%s names %s "
				    "for this checkpoint)", v->headname,
				    v->head.file);
				return -1;
			}
		}
	}
	if (ckpt) {
		if (c.hasnext) {
			/* the key of the next step, whose secret is live */
			memcpy(v->pk, c.next, sizeof(v->pk));
			chain_keyid(v->pk, v->keyid);
			v->evolving = 1;
			v->keyfrom = r->seq;
			v->steps++;
		}
		v->ckpts++;
		v->last_ckpt_seq = r->seq;
		v->last_signed = r->seq - 1;
		v->res.unsigned_time_ok = 0;
		v->need_time = 1;
	} else if (v->need_time) {
		/* the oldest record no checkpoint covers (yet) */
		v->need_time = 0;
		v->res.unsigned_time_ok = vtime(p, &v->res.unsigned_time) == 0;
	}
	if (v->records++ == 0)
		v->res.first_seq = r->seq;
	v->last = *r;
	v->have_last = 1;
	return 0;
}

/* structure and hash of lines, each on its own: any thread */
static void
vprep(int flags, struct vpre *pre, size_t n)
{
	struct chain_rec r;
	size_t		 i;

	for (i = 0; i < n; i++) {
		pre[i].parsed = pre[i].hashok = 0;
		if (chain_parse(pre[i].line, pre[i].len, &r, &pre[i].why) == -1)
			continue;
		pre[i].parsed = 1;
		pre[i].seq = r.seq;
		memcpy(pre[i].prev, r.prev, CHAIN_HASHLEN);
		memcpy(pre[i].hash, r.hash, CHAIN_HASHLEN);
		pre[i].hashok = chain_check_hash(pre[i].line, &r) == 0;
		pre[i].ckpt = (unsigned char)chain_is_ckpt(&r);
		pre[i].why = NULL;
		if (pre[i].hashok && (flags & CHAIN_VSTRICT))
			(void)chain_details_canonical(r.details, r.detailslen,
			    &pre[i].why);
	}
}

struct vwork {
	pthread_t	 t;
	int		 flags;
	struct vpre	*pre;
	size_t		 n;
	int		 started;
};

static void *
vwork_main(void *arg)
{
	struct vwork	*w = arg;

	vprep(w->flags, w->pre, w->n);
	return NULL;
}

static void
vprep_batch(struct chain_verifier *v, struct vpre *pre, size_t n)
{
	struct vwork	 w[VMAXTHREADS];
	size_t		 per, off = 0;
	int		 i, nw = v->nworkers;

	if (nw == 0 || n < VPARMIN) {
		vprep(v->flags, pre, n);
		return;
	}
	per = n / (size_t)(nw + 1);
	for (i = 0; i < nw; i++, off += per) {
		w[i].flags = v->flags;
		w[i].pre = pre + off;
		w[i].n = per;
		w[i].started = pthread_create(&w[i].t, NULL, vwork_main,
		    &w[i]) == 0;
	}
	vprep(v->flags, pre + off, n - off);
	for (i = 0; i < nw; i++) {
		if (w[i].started)
			pthread_join(w[i].t, NULL);
		else
			vprep(v->flags, w[i].pre, w[i].n);
	}
}

/* follow the chain to one more line */
static void
vline(struct chain_verifier *v, const struct vpre *p, int torn)
{
	struct vrec	 r;
	const uint8_t	*eprev;
	uint64_t	 eseq;

	v->curline++;
	if (p->parsed) {
		r.seq = p->seq;
		memcpy(r.prev, p->prev, CHAIN_HASHLEN);
		memcpy(r.hash, p->hash, CHAIN_HASHLEN);
	}
	r.file = v->nfiles - 1;
	r.line = v->curline;
	if (v->pend != PEND_NONE) {
		vresolve(v, p->parsed ? &r : NULL);
		return;
	}
	if (torn) {
		vfail(v, CHAIN_VTRUNCATED, r.file, r.line,
		    p->parsed ? r.seq : chain_guess_seq(p->line, p->len),
		    "log truncated (last line torn: no newline at the end "
		    "of the file)");
		return;
	}
	if (!p->parsed) {
		vfail(v, CHAIN_VMALFORMED, r.file, r.line,
		    chain_guess_seq(p->line, p->len), "malformed record (%s)",
		    p->len == 0 ? "empty line" : p->why);
		return;
	}
	if (!p->hashok) {
		vfail(v, CHAIN_VEDITED, r.file, r.line, r.seq,
		    "record edited (content does not match its hash)");
		return;
	}
	if (p->why != NULL) {
		vfail(v, CHAIN_VMALFORMED, r.file, r.line, r.seq,
		    "malformed record (%s)", p->why);
		return;
	}
	/* r.seq is never 0, so eseq 0 (last.seq was UINT64_MAX) fails */
	eseq = vexpect(v, &eprev);
	if (r.seq == eseq &&
	    (eprev == NULL || memcmp(r.prev, eprev, CHAIN_HASHLEN) == 0)) {
		(void)vaccept(v, &r, p);
		return;
	}
	v->pr = r;
	if (v->have_last && r.seq == v->last.seq) {
		if (memcmp(r.hash, v->last.hash, CHAIN_HASHLEN) == 0)
			vfail(v, CHAIN_VINSERTED, r.file, r.line, r.seq,
			    "record inserted (a copy of the record before it)");
		else if (memcmp(r.prev, v->last.prev, CHAIN_HASHLEN) == 0)
			v->pend = PEND_SIBLING;
		else
			vfail(v, CHAIN_VINSERTED, r.file, r.line, r.seq,
			    "record inserted (seq %llu again)",
			    (unsigned long long)r.seq);
	} else if (v->have_last && r.seq < v->last.seq)
		vfail(v, CHAIN_VINSERTED, r.file, r.line, r.seq,
		    "record inserted (seq %llu is not above the previous "
		    "record's seq %llu)", (unsigned long long)r.seq,
		    (unsigned long long)v->last.seq);
	else if (!v->have_last && r.seq < eseq)
		vfail(v, CHAIN_VINSERTED, r.file, r.line, r.seq,
		    "record inserted (seq %llu is below the first seq "
		    "expected, %llu)", (unsigned long long)r.seq,
		    (unsigned long long)eseq);
	else if (r.seq == eseq)
		v->pend = PEND_BADPREV;
	else
		v->pend = PEND_JUMP;
}

/* complete lines of buf, in batches; returns the bytes used */
static size_t
vfeed(struct chain_verifier *v, const char *buf, size_t len)
{
	const char	*p = buf, *end = buf + len, *nl;
	struct vpre	*np;
	size_t		 n, i, cap;

	while (!v->done) {
		for (n = 0; p < end &&
		    (nl = memchr(p, '\n', (size_t)(end - p))) != NULL; n++) {
			if (n == v->precap) {
				if (v->precap == VBATCH)
					break;
				cap = v->precap == 0 ? 64 : v->precap * 2;
				if ((np = reallocarray(v->pre, cap,
				    sizeof(*np))) == NULL) {
					vfail(v, CHAIN_VIO, SIZE_MAX, 0, 0,
					    "%s", strerror(errno));
					v->res.errnum = errno;
					return 0;
				}
				v->pre = np;
				v->precap = cap;
			}
			v->pre[n].line = p;
			v->pre[n].len = (size_t)(nl - p);
			p = nl + 1;
		}
		if (n == 0)
			break;
		vprep_batch(v, v->pre, n);
		for (i = 0; i < n && !v->done; i++)
			vline(v, &v->pre[i], 0);
	}
	return (size_t)(p - buf);
}

/* the end of a file: bytes after the last newline are a torn line */
static int
vfile_end(struct chain_verifier *v, const char *rest, size_t len)
{
	struct vpre	 p;

	if (!v->done && len > 0) {
		p.line = rest;
		p.len = len;
		vprep(v->flags, &p, 1);
		vline(v, &p, 1);
	}
	return v->done ? -1 : 0;
}

int
chain_verify_buf(struct chain_verifier *v, const char *name, const char *buf,
    size_t len)
{
	size_t	 used;

	if (v->done)
		return -1;
	if (vaddfile(v, name) == -1) {
		vfail(v, CHAIN_VIO, SIZE_MAX, 0, 0, "%s", strerror(errno));
		v->res.errnum = errno;
		strlcpy(v->res.file, name, sizeof(v->res.file));
		return -1;
	}
	used = vfeed(v, buf, len);
	return vfile_end(v, buf + used, len - used);
}

#define VBUFSZ	(8 * 1024 * 1024)

int
chain_verify_file(struct chain_verifier *v, const char *path,
    const char *name)
{
	char	*buf = NULL;
	size_t	 have = 0, used;
	ssize_t	 n;
	int	 fd = -1, saved;

	if (v->done)
		return -1;
	if (name == NULL)
		name = path;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    (buf = malloc(VBUFSZ)) == NULL || vaddfile(v, name) == -1)
		goto ioerr;
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	for (;;) {
		n = read(fd, buf + have, VBUFSZ - have);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto ioerr;
		if (n == 0)
			break;
		have += (size_t)n;
		if (have < VBUFSZ)
			continue;	/* fill the buffer: larger batches */
		used = vfeed(v, buf, have);
		if (v->done)
			break;
		memmove(buf, buf + used, have - used);
		have -= used;
		if (have > CHAIN_MAXLINE - 1) {
			v->curline++;
			vfail(v, CHAIN_VMALFORMED, v->nfiles - 1, v->curline,
			    chain_guess_seq(buf, have),
			    "malformed record (line too long)");
			break;
		}
	}
	if (!v->done) {
		used = vfeed(v, buf, have);
		(void)vfile_end(v, buf + used, have - used);
	}
	free(buf);
	close(fd);
	return v->done ? -1 : 0;
 ioerr:
	saved = errno;
	free(buf);
	if (fd != -1)
		close(fd);
	vfail(v, CHAIN_VIO, SIZE_MAX, 0, 0, "%s", strerror(saved));
	v->res.errnum = saved;
	strlcpy(v->res.file, name, sizeof(v->res.file));
	return -1;
}

int
chain_verify_end(struct chain_verifier *v, struct chain_vresult *res)
{
	size_t	 f;

	if (!v->done && v->pend != PEND_NONE)
		vresolve(v, NULL);
	if (!v->done && v->head_state == -1) {
		vfail(v, v->head_err, SIZE_MAX, 1, 0, "%s", v->head_reason);
		strlcpy(v->res.file, v->headname, sizeof(v->res.file));
	}
	if (!v->done && v->wit_bad) {
		vfail(v, CHAIN_VWITNESS, SIZE_MAX, 0, 0, "%s", v->wit_reason);
		strlcpy(v->res.file, v->witname, sizeof(v->res.file));
	}
	if (!v->done && v->logid_bad) {
		vfail(v, CHAIN_VLOGID, SIZE_MAX, 0, 0, "%s", v->logid_reason);
		strlcpy(v->res.file, v->logid_badfrom, sizeof(v->res.file));
	}
	if (!v->done && v->head_state >= 1 && (!v->have_last ||
	    v->last.seq < v->head.ckpt.head_seq + 1)) {
		f = v->have_last ? v->last.file : v->nfiles - 1;
		vfail(v, CHAIN_VTRUNCATED, f, v->have_last ? v->last.line : 0,
		    v->have_last ? v->last.seq : 0, "log truncated (it ends "
		    "at seq %llu; %s names the checkpoint at seq %llu)",
		    (unsigned long long)(v->have_last ? v->last.seq : 0),
		    v->headname,
		    (unsigned long long)(v->head.ckpt.head_seq + 1));
		if (!v->have_last && v->nfiles == 0)
			strlcpy(v->res.file, v->headname, sizeof(v->res.file));
	}
	if (!v->done && v->wnext < v->nwit) {
		f = v->have_last ? v->last.file : v->nfiles - 1;
		vfail(v, CHAIN_VTRUNCATED, f, v->have_last ? v->last.line : 0,
		    v->have_last ? v->last.seq : 0, "log truncated (it ends "
		    "at seq %llu; the witness %s names the checkpoint after "
		    "seq %llu; the first witnessed checkpoint missing is the "
		    "one after seq %llu)",
		    (unsigned long long)(v->have_last ? v->last.seq : 0),
		    v->witname,
		    (unsigned long long)v->wit[v->nwit - 1].ckpt.head_seq,
		    (unsigned long long)v->wit[v->wnext].ckpt.head_seq);
		if (!v->have_last && v->nfiles == 0)
			strlcpy(v->res.file, v->witname, sizeof(v->res.file));
	}
	v->res.haslogid = v->haslogid;
	memcpy(v->res.logid, v->logid, CHAIN_LOGIDLEN);
	v->res.legacy_ckpts = v->legacy;
	v->res.last_ckpt_haslog = v->last_haslog;
	v->res.witness_seq = v->nwit > 0 ? v->wit[v->nwit - 1].ckpt.head_seq :
	    0;
	v->res.records = v->records;
	v->res.checkpoints = v->ckpts;
	v->res.files = v->nfiles;
	v->res.last_seq = v->have_last ? v->last.seq : 0;
	v->res.last_signed_seq = v->last_signed;
	v->res.unsigned_tail = !v->have_last ? 0 : v->ckpts == 0 ?
	    v->records : v->last.seq - v->last_ckpt_seq;
	v->res.head = v->head_state >= 1;
	v->res.head_seq = v->head_state >= 1 ? v->head.ckpt.head_seq : 0;
	v->res.key_steps = v->steps;
	memcpy(v->res.keyid_now, v->keyid, sizeof(v->res.keyid_now));
	*res = v->res;
	return v->done ? -1 : 0;
}
