/*
 * The audit chain as only its writer needs it: checkpoints signed with
 * the secret key, the head file's line, the names of new log files,
 * the record types reserved to lensauditd.  Reading and checking all
 * of these is common/chain.c, shared with lensctl.
 */
#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chainwrite.h"

int
chain_type_reserved(const char *type)
{
	return strncmp(type, CHAIN_RESERVED_PREFIX,
	    sizeof(CHAIN_RESERVED_PREFIX) - 1) == 0;
}

int
chain_ckpt_details(char *buf, size_t bufsz, uint64_t head_seq,
    const uint8_t head[CHAIN_HASHLEN], const uint8_t sk[64],
    const char *sources)
{
	return chain_ckpt_details_log(buf, bufsz, head_seq, head, NULL, sk,
	    sources, NULL);
}

int
chain_ckpt_details_log(char *buf, size_t bufsz, uint64_t head_seq,
    const uint8_t head[CHAIN_HASHLEN], const uint8_t *logid,
    const uint8_t sk[64], const char *sources, struct chain_ckpt *out)
{
	return chain_ckpt_details_next(buf, bufsz, head_seq, head, logid,
	    NULL, sk, sources, out);
}

int
chain_ckpt_details_next(char *buf, size_t bufsz, uint64_t head_seq,
    const uint8_t head[CHAIN_HASHLEN], const uint8_t *logid,
    const uint8_t *next, const uint8_t sk[64], const char *sources,
    struct chain_ckpt *out)
{
	struct chain_ckpt c;
	uint8_t		 msg[CHAIN_CKPT_MSGMAX], pk[32];
	char		 headhex[CHAIN_HEXLEN + 1], sighex[CHAIN_SIGHEXLEN + 1];
	char		 loghex[CHAIN_LOGIDHEXLEN + 1];
	char		 nexthex[CHAIN_HEXLEN + 16];
	size_t		 mlen;
	int		 n;

	if (sources == NULL || !chain_sources_ok(sources, strlen(sources)) ||
	    head_seq == UINT64_MAX || (next != NULL && logid == NULL)) {
		errno = EINVAL;
		return -1;
	}
	memset(&c, 0, sizeof(c));
	c.head_seq = head_seq;
	memcpy(c.head, head, CHAIN_HASHLEN);
	if (logid != NULL) {
		c.haslog = 1;
		memcpy(c.logid, logid, CHAIN_LOGIDLEN);
	}
	nexthex[0] = '\0';
	if (next != NULL) {
		c.hasnext = 1;
		memcpy(c.next, next, 32);
		memcpy(nexthex, ",\"next\":\"", 9);
		chain_tohex(next, 32, nexthex + 9);
		strlcat(nexthex, "\"", sizeof(nexthex));
	}
	mlen = chain_ckpt_msg_of(&c, msg);
	if (crypto_sign_detached(c.sig, NULL, msg, mlen, sk) != 0 ||
	    crypto_sign_ed25519_sk_to_pk(pk, sk) != 0) {
		errno = EINVAL;
		return -1;
	}
	chain_keyid(pk, c.keyid);
	chain_tohex(head, CHAIN_HASHLEN, headhex);
	chain_tohex(c.sig, sizeof(c.sig), sighex);
	if (c.haslog) {
		chain_tohex(c.logid, CHAIN_LOGIDLEN, loghex);
		n = snprintf(buf, bufsz, "{\"head\":\"%s\",\"head_seq\":%llu,"
		    "\"key\":\"%s\",\"log\":\"%s\"%s,\"sig\":\"%s\","
		    "\"sources\":%s}", headhex, (unsigned long long)head_seq,
		    c.keyid, loghex, nexthex, sighex, sources);
	} else
		n = snprintf(buf, bufsz, "{\"head\":\"%s\",\"head_seq\":%llu,"
		    "\"key\":\"%s\",\"sig\":\"%s\",\"sources\":%s}",
		    headhex, (unsigned long long)head_seq, c.keyid, sighex,
		    sources);
	if (n < 0 || (size_t)n >= bufsz) {
		errno = ENOSPC;
		return -1;
	}
	if (out != NULL)
		*out = c;
	return n;
}

int
chain_logname(char *buf, size_t bufsz, uint64_t num)
{
	int	 n;

	if (num == 0) {
		errno = EINVAL;
		return -1;
	}
	n = snprintf(buf, bufsz, "%s%06llu%s", CHAIN_LOGPREFIX,
	    (unsigned long long)num, CHAIN_LOGSUFFIX);
	if (n < 0 || (size_t)n >= bufsz) {
		errno = ENOSPC;
		return -1;
	}
	return n;
}

int
chain_head_format(char *buf, size_t bufsz, const char *file,
    const struct chain_ckpt *c)
{
	char	 headhex[CHAIN_HEXLEN + 1], sighex[CHAIN_SIGHEXLEN + 1];
	char	 log[CHAIN_LOGIDHEXLEN + CHAIN_HEXLEN + 24];
	uint64_t num;
	int	 n;

	if (chain_logname_num(file, &num) == -1 ||
	    c->head_seq == UINT64_MAX ||
	    strlen(c->keyid) != CHAIN_KEYIDLEN) {
		errno = EINVAL;
		return -1;
	}
	chain_tohex(c->head, CHAIN_HASHLEN, headhex);
	chain_tohex(c->sig, sizeof(c->sig), sighex);
	log[0] = '\0';
	if (c->haslog) {
		memcpy(log, ",\"log\":\"", 8);
		chain_tohex(c->logid, CHAIN_LOGIDLEN, log + 8);
		strlcat(log, "\"", sizeof(log));
		if (c->hasnext) {
			strlcat(log, ",\"next\":\"", sizeof(log));
			chain_tohex(c->next, 32, log + strlen(log));
			strlcat(log, "\"", sizeof(log));
		}
	}
	n = snprintf(buf, bufsz, "{\"file\":\"%s\",\"head\":\"%s\","
	    "\"head_seq\":%llu,\"key\":\"%s\"%s,\"sig\":\"%s\"}\n", file,
	    headhex, (unsigned long long)c->head_seq, c->keyid, log, sighex);
	if (n < 0 || (size_t)n >= bufsz) {
		errno = ENOSPC;
		return -1;
	}
	return n;
}

int
chain_seckey_parse(const char *text, size_t len, uint8_t sk[64])
{
	uint8_t	 pk[32], sk2[64];
	int	 rc = -1;

	if (len > 0 && text[len - 1] == '\n')
		len--;
	if (len != 15 + 128 || memcmp(text, "ed25519-secret ", 15) != 0 ||
	    chain_fromhex(text + 15, 128, sk) == -1)
		goto done;
	/* the second half must be the public key of the seed */
	if (crypto_sign_seed_keypair(pk, sk2, sk) != 0 ||
	    sodium_memcmp(sk2, sk, 64) != 0)
		goto done;
	rc = 0;
 done:
	if (rc == -1)
		explicit_bzero(sk, 64);
	explicit_bzero(sk2, sizeof(sk2));
	return rc;
}
