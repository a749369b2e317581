/*
 * Offline verification of the audit chain: lensctl audit verify, the
 * unit tests, the fuzz target.  The format is described in chain.h.
 */
#ifndef LENS_VERIFY_H
#define LENS_VERIFY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "chain.h"

/*
 * Offline verification of a chain of log files, fed in order.  Lines
 * are parsed and hashed in batches by one thread per CPU (unless
 * CHAIN_VSERIAL); the chain itself is followed in order.
 *
 *	v = chain_verify_new(pk, 1, 0);
 *	chain_verify_head(v, "lens-audit.head", text, len);	(optional)
 *	chain_verify_file(v, path, name) for every log, in order;
 *	    stop when it returns -1
 *	chain_verify_end(v, &result);	0 intact, -1 see result.err
 *	chain_verify_free(v);
 *
 * Verification stops at the first bad record.  How a record that does
 * not follow its predecessor L (seq s, hash h) is classified, looking
 * at most one record N ahead:
 *   - its content does not match its hash: edited;
 *   - it has seq s and the same prev as L (two records claim the same
 *     place): if N chains to it, L was inserted, else it was;
 *   - its seq is not above s: inserted (e.g. a copy of an earlier one);
 *   - its seq is s+1 but prev is not h: inserted if N has seq s+1 and
 *     prev h (the chain goes on without it), else edited (rewritten);
 *   - its seq is above s+1: if N has seq s+1, reordered (or inserted
 *     when both it and N claim prev h), else deleted.
 */
enum chain_verr {
	CHAIN_VOK = 0,
	CHAIN_VMALFORMED,	/* a line is not a record */
	CHAIN_VEDITED,
	CHAIN_VDELETED,
	CHAIN_VINSERTED,
	CHAIN_VREORDERED,
	CHAIN_VTRUNCATED,	/* torn last line, or ends before the head */
	CHAIN_VBADSIG,
	CHAIN_VWRONGKEY,
	CHAIN_VBADCKPT,		/* checkpoint details bad or inconsistent */
	CHAIN_VBADHEAD,		/* head file malformed or inconsistent */
	CHAIN_VIO,		/* a file could not be read: errnum */
	CHAIN_VLOGID,		/* a checkpoint or head of another log */
	CHAIN_VWITNESS		/* witness malformed, or the log differs */
};

#define CHAIN_VSTRICT	0x01	/* chain_details_canonical every record */
#define CHAIN_VSERIAL	0x02	/* no worker threads */

struct chain_vresult {
	enum chain_verr	 err;
	char		 file[256];	/* where, as named by the caller */
	uint64_t	 line;		/* 1-based; 0: not about one line */
	uint64_t	 seq;		/* the record's seq there; 0 unknown */
	int		 errnum;	/* CHAIN_VIO */
	char		 reason[512];	/* "record edited (...)" */
	uint64_t	 records;	/* records that verified */
	uint64_t	 checkpoints;
	uint64_t	 files;
	uint64_t	 first_seq, last_seq;	/* 0 if no record */
	uint64_t	 last_signed_seq;	/* head_seq of the last checkpoint */
	uint64_t	 unsigned_tail;		/* records after that checkpoint */
	int		 head;		/* 1 a head file was checked */
	uint64_t	 head_seq;
	int		 haslogid;	/* logid is known */
	uint8_t		 logid[CHAIN_LOGIDLEN];
	uint64_t	 legacy_ckpts;	/* checkpoints without a log id */
	int		 last_ckpt_haslog;	/* the last one has a log id */
	int		 unsigned_time_ok;	/* unsigned_time is set */
	struct timespec	 unsigned_time;	/* of the first unsigned record */
	uint64_t	 witnessed;	/* witness entries matched */
	uint64_t	 witness_seq;	/* head_seq of the last entry */
	uint64_t	 key_steps;	/* checkpoints that named a next key */
	char		 keyid_now[CHAIN_KEYIDLEN + 1];	/* the live key */
};

struct chain_verifier;

/* first_seq: the first record's seq; 1 means prev must be zeros too */
struct chain_verifier *chain_verify_new(const uint8_t pk[32],
	    uint64_t first_seq, int flags);
/* the head file's contents; its errors are reported by chain_verify_end */
int	chain_verify_head(struct chain_verifier *, const char *name,
	    const char *text, size_t len);
/*
 * The log id the checkpoints must carry, and where it comes from (for
 * messages); a second call with another id is a failure reported by
 * chain_verify_end.  Checkpoints without a log id are legacy: they may
 * come only before the first one with a log id.
 */
void	chain_verify_logid(struct chain_verifier *, const char *from,
	    const uint8_t logid[CHAIN_LOGIDLEN]);
/*
 * A witness file: head lines (see chain.h), in increasing head_seq,
 * each signed with the key.  Every checkpoint it names at or after the
 * first record verified must be in the log, and the log must reach the
 * last one.  Errors are reported by chain_verify_end.
 */
int	chain_verify_witness(struct chain_verifier *, const char *name,
	    const char *text, size_t len);
/* one whole log file in memory; 0, or -1 once the chain is bad */
int	chain_verify_buf(struct chain_verifier *, const char *name,
	    const char *buf, size_t len);
/* the same, read from path (name for messages, NULL: path) */
int	chain_verify_file(struct chain_verifier *, const char *path,
	    const char *name);
int	chain_verify_end(struct chain_verifier *, struct chain_vresult *);
void	chain_verify_free(struct chain_verifier *);
/* "edited", "deleted", ... */
const char *chain_verr_str(enum chain_verr);

#endif
