/*
 * The audit chain as only lensauditd writes it: checkpoints signed with
 * the secret key, the head file, new log names, reserved types.  The
 * format is described in common/chain.h.
 */
#ifndef LENS_CHAINWRITE_H
#define LENS_CHAINWRITE_H

#include <stddef.h>
#include <stdint.h>

#include "chain.h"

/* 1 if type is reserved to lensauditd ("audit.*") */
int	chain_type_reserved(const char *type);

/*
 * Checkpoint details object (see chain.h), signed with sk.  sources is a
 * canonical JSON object ("{}" when empty).  Returns length or -1.
 */
int	chain_ckpt_details(char *buf, size_t bufsz, uint64_t head_seq,
	    const uint8_t head[CHAIN_HASHLEN], const uint8_t sk[64],
	    const char *sources);
/* the same with a log id (NULL: legacy); fills *c unless c is NULL */
int	chain_ckpt_details_log(char *buf, size_t bufsz, uint64_t head_seq,
	    const uint8_t head[CHAIN_HASHLEN], const uint8_t *logid,
	    const uint8_t sk[64], const char *sources, struct chain_ckpt *c);

/*
 * the same with the public key of the next step (NULL: none, the key
 * does not evolve); next needs a log id
 */
int	chain_ckpt_details_next(char *buf, size_t bufsz, uint64_t head_seq,
	    const uint8_t head[CHAIN_HASHLEN], const uint8_t *logid,
	    const uint8_t *next, const uint8_t sk[64], const char *sources,
	    struct chain_ckpt *c);

/*
 * The head file line, keys sorted as described in chain.h, with
 * '\n'.  file is the log file that holds the checkpoint record.
 * Returns the length or -1 (EINVAL bad file name, ENOSPC).
 */
int	chain_head_format(char *buf, size_t bufsz, const char *file,
	    const struct chain_ckpt *);

/* the name of log file num: "lens-audit.NNNNNN.log"; length or -1 */
int	chain_logname(char *buf, size_t bufsz, uint64_t num);

/*
 * secret key file text ("ed25519-secret <128 hex>", optional '\n'),
 * its public half checked; 0, or -1 with sk zeroed
 */
int	chain_seckey_parse(const char *text, size_t len, uint8_t sk[64]);

#endif
