/*
 * The audit chain: record format, hashing, checkpoints, the head file,
 * key files, log names (chain.c).  Shared by lensauditd and lensctl;
 * the offline verifier is verify.h, what only lensauditd's writer does
 * (signing, writing the head file) lensauditd/chainwrite.h.
 * man/lens-audit.5 is the user-facing description of this format.
 *
 * One record is one line, bytes exactly as below (no whitespace, keys in
 * this order), terminated by '\n':
 *
 * {"seq":S,"time":"T","sandbox":"B","source":"R","id":I,"type":"Y",
 *  "details":D,"prev":"P","hash":"H"}
 *
 *   S  decimal uint64, no leading zero; 1 for the first record ever,
 *      +1 for every record, across rotated files
 *   T  RFC 3339 UTC with nanoseconds: 2026-11-23T08:08:10.123456789Z
 *      (always CHAIN_TIMELEN characters)
 *   B  sandbox id, 0..64 characters of [A-Za-z0-9._-]
 *   R  source, 1..31 characters of [a-z0-9_-]
 *   I  decimal uint64: the sender's event id, deduplicated per source;
 *      0 for lensauditd's own records
 *   Y  type, 1..63 characters of [a-z0-9_.-]
 *   D  a JSON object, compact, keys sorted (jansson JSON_COMPACT |
 *      JSON_SORT_KEYS | JSON_ENSURE_ASCII)
 *   P  64 lowercase hex: hash of the previous record, 64 zeros for seq 1
 *   H  64 lowercase hex: BLAKE2b-256 (crypto_generichash, no key) of
 *      the 32 raw bytes of P followed by the line's bytes from '{' up
 *      to, not including, the ',"hash":"' that introduces H.
 *
 * Checkpoint: a record with source "lensauditd", id 0, sandbox "",
 * type "audit.checkpoint" and details
 *   {"head":"P","head_seq":S-1,"key":"K","log":"L","next":"N","sig":"G",
 *    "sources":{...}}
 * where head/head_seq name the record just before the checkpoint (so
 * head equals the checkpoint's own prev), K is the signer's key id
 * (chain_keyid), L the log id (32 lowercase hex: 128 random bits made
 * when the chain was started, CHAIN_LOGIDFILE), N (64 hex) the public
 * key that signs the next checkpoint, and G is the 128-hex Ed25519
 * detached signature of chain_ckpt_msg_of(): "lens-audit-ckpt3" || L
 * (16 bytes) || be64(head_seq) || head || N (32 bytes).  Forward
 * security: the writer erases the secret key of each step once the
 * checkpoint naming the next one is durable; the first checkpoint is
 * signed with the key of CHAIN_PUBFILE (the pinned key), each later one
 * with the key its predecessor names.  Older formats: no "next" signs
 * "lens-audit-ckpt2" || L || be64(head_seq) || head with the pinned key
 * (one key for the log's life); no "log" either signs
 * "lens-audit-ckpt1" || be64(head_seq) || head (legacy).  Either may
 * only come before the first checkpoint with "next".  "sources" maps each source name to
 * the highest event id lensauditd has written for it (used for
 * deduplication after restart, not by verification).
 *
 * Record types "audit.*" are lensauditd's own (source "lensauditd",
 * id 0); clients may not send them.
 *
 * The head file (CHAIN_HEADFILE, beside the logs) holds the latest
 * checkpoint, one line:
 *   {"file":"lens-audit.000001.log","head":"P","head_seq":N,"key":"K",
 *    "log":"L","next":"N","sig":"G"}
 * ("log", "next" absent for older checkpoints).  It is replaced atomically
 * after the checkpoint is durable; a log that ends before head_seq has
 * been truncated.  A witness file (outside the log directory) gets the
 * same line appended for every checkpoint.
 *
 * Log files are CHAIN_LOGPREFIX NNNNNN CHAIN_LOGSUFFIX, numbered from
 * 000001; the first record of a file chains to the last of the file
 * before.  The public key is CHAIN_PUBFILE, one line
 * "ed25519 <64 hex>\n": the first step's, pinned for the log's life;
 * the secret key CHAIN_KEYFILE, one line "ed25519-secret <128 hex>\n"
 * (libsodium's 64-byte secret key): the current step's.  During a
 * step the next key is CHAIN_NEXTKEYFILE; which of the two is current
 * is decided by the log's last checkpoint (lensauditd/writer.c).
 */
#ifndef LENS_CHAIN_H
#define LENS_CHAIN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define CHAIN_HASHLEN		32
#define CHAIN_HEXLEN		64
#define CHAIN_TIMELEN		30
#define CHAIN_SIGHEXLEN		128
#define CHAIN_KEYIDLEN		16	/* hex characters */
#define CHAIN_SANDBOXMAX	64
#define CHAIN_SOURCEMAX		31
#define CHAIN_TYPEMAX		63
#define CHAIN_MAXLINE		(256 * 1024)	/* including '\n' */
#define CHAIN_CKPT_MSGLEN	56	/* legacy: no log id */
#define CHAIN_CKPT_MSGLOG	72	/* with the log id */
#define CHAIN_CKPT_MSGMAX	104	/* with the log id and the next key */
#define CHAIN_LOGIDLEN		16	/* bytes */
#define CHAIN_LOGIDHEXLEN	32
#define CHAIN_RESERVED_PREFIX	"audit."	/* types only lensauditd writes */
#define CHAIN_CKPT_TYPE		"audit.checkpoint"
#define CHAIN_SELF_SOURCE	"lensauditd"

#define CHAIN_LOGPREFIX		"lens-audit."
#define CHAIN_LOGSUFFIX		".log"
#define CHAIN_HEADFILE		"lens-audit.head"
#define CHAIN_PUBFILE		"audit.pub"
#define CHAIN_KEYFILE		"audit.key"
#define CHAIN_NEXTKEYFILE	"audit.key.next"
#define CHAIN_LOGIDFILE		"audit.logid"	/* "<32 hex>\n" */
#define CHAIN_TRUSTED_PUB	"/etc/lens/audit.pub"

enum chain_name { CHAIN_SANDBOX, CHAIN_SOURCE, CHAIN_TYPE };

struct chain_fields {
	uint64_t	 seq;
	struct timespec	 time;		/* CLOCK_REALTIME */
	const char	*sandbox;
	const char	*source;
	uint64_t	 id;
	const char	*type;
	const char	*details;	/* canonical JSON object */
	size_t		 detailslen;
};

/* A parsed line; pointers point into the caller's buffer. */
struct chain_rec {
	uint64_t	 seq;
	uint64_t	 id;
	const char	*time;			/* CHAIN_TIMELEN bytes */
	char		 sandbox[CHAIN_SANDBOXMAX + 1];
	char		 source[CHAIN_SOURCEMAX + 1];
	char		 type[CHAIN_TYPEMAX + 1];
	const char	*details;
	size_t		 detailslen;
	uint8_t		 prev[CHAIN_HASHLEN];
	uint8_t		 hash[CHAIN_HASHLEN];	/* as stored */
	size_t		 hashedlen;		/* bytes covered by hash */
};

struct chain_ckpt {
	uint64_t	 head_seq;
	uint8_t		 head[CHAIN_HASHLEN];
	char		 keyid[CHAIN_KEYIDLEN + 1];
	int		 haslog;	/* 0: legacy, no log id */
	uint8_t		 logid[CHAIN_LOGIDLEN];
	int		 hasnext;	/* 0: the key does not evolve */
	uint8_t		 next[32];	/* public key of the next step */
	uint8_t		 sig[64];
};

/* 1 if s is a valid name of that kind, else 0 */
int	chain_name_ok(const char *s, enum chain_name);

/*
 * Format a record into buf and compute its hash.  Returns the line's
 * length including '\n', or -1 (errno EINVAL for a bad field, ENOSPC if
 * it does not fit in bufsz or CHAIN_MAXLINE).
 */
int	chain_format(char *buf, size_t bufsz, const struct chain_fields *,
	    const uint8_t prev[CHAIN_HASHLEN], uint8_t hash[CHAIN_HASHLEN]);

/*
 * Parse the structure of one line (len excludes '\n').  Returns 0, or
 * -1 with *why set to a static description.  Does not check the hash.
 */
int	chain_parse(const char *line, size_t len, struct chain_rec *,
	    const char **why);

/* 0 if the stored hash matches prev + content, -1 otherwise */
int	chain_check_hash(const char *line, const struct chain_rec *);

void	chain_hash(const uint8_t prev[CHAIN_HASHLEN], const char *bytes,
	    size_t len, uint8_t out[CHAIN_HASHLEN]);

/* the 56 signed bytes: "lens-audit-ckpt1" || be64(head_seq) || head */
void	chain_ckpt_msg(uint64_t head_seq, const uint8_t head[CHAIN_HASHLEN],
	    uint8_t msg[CHAIN_CKPT_MSGLEN]);

/* the signed bytes of c (either version); returns their length */
size_t	chain_ckpt_msg_of(const struct chain_ckpt *c,
	    uint8_t msg[CHAIN_CKPT_MSGMAX]);

/* log id file text ("<32 hex>", optional '\n'); 0 or -1 */
int	chain_logid_parse(const char *text, size_t len,
	    uint8_t logid[CHAIN_LOGIDLEN]);

/* hex of the first 8 bytes of BLAKE2b-256(public key) */
void	chain_keyid(const uint8_t pk[32], char keyid[CHAIN_KEYIDLEN + 1]);

/* Parse a checkpoint record's details; 0 or -1 with *why. */
int	chain_ckpt_parse(const struct chain_rec *, struct chain_ckpt *,
	    const char **why);

/* 0 if the checkpoint's signature verifies with pk */
int	chain_ckpt_verify(const struct chain_ckpt *, const uint8_t pk[32]);

/* the public key file; on error -1 with a message naming it in err */
int	chain_pubkey_read(const char *path, uint8_t pk[32], char *err,
	    size_t errlen);

void	chain_tohex(const uint8_t *, size_t, char *out);   /* NUL-ends */
int	chain_fromhex(const char *hex, size_t hexlen, uint8_t *out);

/* RFC 3339 with nanoseconds, exactly CHAIN_TIMELEN chars + NUL */
void	chain_timefmt(const struct timespec *, char out[CHAIN_TIMELEN + 1]);
/* parse the same, or a shorter RFC 3339 form for --since; 0 or -1 */
int	chain_timeparse(const char *s, struct timespec *);

/*
 * The head file, log names.
 */

#define CHAIN_LOGNAMEMAX	64

/* the head file's contents: the checkpoint's fields and its log file */
struct chain_head {
	char		 file[CHAIN_LOGNAMEMAX + 1];
	struct chain_ckpt ckpt;
};

/* 1 if r is a checkpoint: source CHAIN_SELF_SOURCE, type CHAIN_CKPT_TYPE */
int	chain_is_ckpt(const struct chain_rec *);

/* exact layout, one trailing '\n' allowed; 0 or -1 with *why */
int	chain_head_parse(const char *text, size_t len, struct chain_head *,
	    const char **why);

/* "lens-audit.NNNNNN.log" (6 or more digits, canonical, >= 1): 0 or -1 */
int	chain_logname_num(const char *name, uint64_t *num);

/* key file text ("ed25519 <64 hex>", optional '\n'); 0 or -1 */
int	chain_pubkey_parse(const char *text, size_t len, uint8_t pk[32]);

/*
 * "sources" of a checkpoint: {} or {"name":id,...} with valid source
 * names in strictly increasing order and canonical uint64 ids, which is
 * what jansson's JSON_COMPACT | JSON_SORT_KEYS gives; 1 if so, else 0.
 */
int	chain_sources_ok(const char *, size_t);

/*
 * Full check of a record's details with jansson: a JSON object that
 * dumps to the same bytes with JSON_COMPACT | JSON_SORT_KEYS |
 * JSON_ENSURE_ASCII.  0, or -1 with *why.
 */
int	chain_details_canonical(const char *, size_t, const char **why);

/* the seq a line starts with, even if the rest is not a record; 0 none */
uint64_t chain_guess_seq(const char *line, size_t len);

#endif
