/*
 * libFuzzer target for the audit chain parsers: log lines, checkpoint
 * details, the head file, key files, times, and the verifier.
 *
 * Input: a log file.  If its first line starts with {"file": it is
 * taken as the head file instead, and also as a one-line witness.  Every line goes through chain_parse,
 * and one that parses must come out of chain_format byte for byte the
 * same (the layout is canonical), then through the hash check and, for
 * a checkpoint, chain_ckpt_parse and the signature check.  The whole
 * input also goes to the other parsers, and to the verifier as one log
 * file and again split into two files.
 *
 * The corpus was written with mkauditlog -e lens-fuzz, whose key is
 * derived here the same way, so that signatures verify and the
 * verifier gets past the first checkpoint.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chain.h"
#include "chainwrite.h"
#include "verify.h"

#define SEED	"lens-fuzz"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static uint8_t	 pk[32];

static void
init(void)
{
	uint8_t	 seed[32], sk[64];

	if (sodium_init() == -1)
		abort();
	crypto_generichash(seed, sizeof(seed), (const unsigned char *)SEED,
	    strlen(SEED), NULL, 0);
	crypto_sign_seed_keypair(pk, sk, seed);
}

/* a line that parses must be exactly what chain_format makes of it */
static void
reformat(const char *line, const struct chain_rec *r)
{
	static char	 buf[CHAIN_MAXLINE];
	struct chain_fields f;
	uint8_t		 hash[CHAIN_HASHLEN];
	char		 t[CHAIN_TIMELEN + 1];
	int		 n;

	memcpy(t, r->time, CHAIN_TIMELEN);
	t[CHAIN_TIMELEN] = '\0';
	if (t[17] == '6')	/* a leap second comes back as :00 */
		return;
	memset(&f, 0, sizeof(f));
	if (chain_timeparse(t, &f.time) == -1)
		abort();
	f.seq = r->seq;
	f.sandbox = r->sandbox;
	f.source = r->source;
	f.id = r->id;
	f.type = r->type;
	f.details = r->details;
	f.detailslen = r->detailslen;
	n = chain_format(buf, sizeof(buf), &f, r->prev, hash);
	if (n < 0 || (size_t)n < r->hashedlen ||
	    memcmp(buf, line, r->hashedlen) != 0)
		abort();
	if (chain_check_hash(line, r) == 0 &&
	    memcmp(hash, r->hash, CHAIN_HASHLEN) != 0)
		abort();
}

static void
lines(const char *buf, size_t len)
{
	struct chain_rec r;
	struct chain_ckpt c;
	const char	*p = buf, *end = buf + len, *nl, *why;

	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (chain_parse(p, (size_t)(nl - p), &r, &why) == 0) {
			reformat(p, &r);
			(void)chain_details_canonical(r.details, r.detailslen,
			    &why);
			/* the verifier checks signatures */
			if (chain_is_ckpt(&r))
				(void)chain_ckpt_parse(&r, &c, &why);
		} else if (why == NULL)
			abort();
		p = nl + 1;
	}
}

static void
others(const char *buf, size_t len)
{
	struct chain_head h;
	struct timespec	 ts;
	char		 s[128], out[512], t[CHAIN_TIMELEN + 1];
	const char	*why;
	uint8_t		 key[64];
	uint64_t	 num;
	size_t		 body;
	int		 n;

	if (chain_head_parse(buf, len, &h, &why) == 0) {
		body = len - (buf[len - 1] == '\n');
		n = chain_head_format(out, sizeof(out), h.file, &h.ckpt);
		if (n < 1 || (size_t)n - 1 != body || memcmp(out, buf, body) != 0)
			abort();
	}
	(void)chain_pubkey_parse(buf, len, key);
	(void)chain_logid_parse(buf, len, key);
	(void)chain_seckey_parse(buf, len, key);
	(void)chain_sources_ok(buf, len);
	if (len < sizeof(s)) {
		memcpy(s, buf, len);
		s[len] = '\0';
		if (chain_timeparse(s, &ts) == 0) {
			chain_timefmt(&ts, t);
			if (len == CHAIN_TIMELEN && s[17] != '6' &&
			    s[10] == 'T' && s[19] == '.' && s[29] == 'Z' &&
			    strcmp(s, t) != 0)
				abort();
		}
		(void)chain_logname_num(s, &num);
		(void)chain_type_reserved(s);
	}
}

static void
verify(const char *head, size_t headlen, const char *buf, size_t len)
{
	struct chain_verifier *v;
	struct chain_vresult res;
	const char	*mid;
	size_t		 half;

	if ((v = chain_verify_new(pk, 1, CHAIN_VSERIAL | CHAIN_VSTRICT)) ==
	    NULL)
		abort();
	if (head != NULL)
		(void)chain_verify_head(v, CHAIN_HEADFILE, head, headlen);
	(void)chain_verify_buf(v, "lens-audit.000001.log", buf, len);
	if (chain_verify_end(v, &res) == -1 && res.reason[0] == '\0')
		abort();
	chain_verify_free(v);

	/* split in two files at the newline nearest the middle */
	if ((mid = memchr(buf + len / 2, '\n', len - len / 2)) == NULL)
		return;
	half = (size_t)(mid - buf) + 1;
	if ((v = chain_verify_new(pk, 1, CHAIN_VSERIAL)) == NULL)
		abort();
	if (head != NULL)
		(void)chain_verify_head(v, CHAIN_HEADFILE, head, headlen);
	if (chain_verify_buf(v, "lens-audit.000001.log", buf, half) == 0)
		(void)chain_verify_buf(v, "lens-audit.000003.log", buf + half,
		    len - half);
	(void)chain_verify_end(v, &res);
	chain_verify_free(v);

	/* the head line as a witness, with the log id of audit.logid */
	if (head == NULL)
		return;
	if ((v = chain_verify_new(pk, 1, CHAIN_VSERIAL)) == NULL)
		abort();
	(void)chain_verify_witness(v, "witness", head, headlen);
	chain_verify_logid(v, CHAIN_LOGIDFILE, pk);
	(void)chain_verify_buf(v, "lens-audit.000001.log", buf, len);
	if (chain_verify_end(v, &res) == -1 && res.reason[0] == '\0')
		abort();
	chain_verify_free(v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int	 done;
	const char	*buf = (const char *)data, *head = NULL, *nl;
	size_t		 headlen = 0;

	if (!done) {
		init();
		done = 1;
	}
	if (size == 0)
		return 0;
	lines(buf, size);
	others(buf, size);
	if (size > 8 && memcmp(buf, "{\"file\":", 8) == 0 &&
	    (nl = memchr(buf, '\n', size)) != NULL) {
		head = buf;
		headlen = (size_t)(nl - buf) + 1;
		buf += headlen;
		size -= headlen;
	}
	verify(head, headlen, buf, size);
	return 0;
}
