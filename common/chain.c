/*
 * The audit chain: record format, hashing, checkpoint messages and
 * their verification, the head file, key files and log names.  Used by
 * lensauditd and by lensctl; the format is described in chain.h and in
 * lens-audit(5).  The offline verifier is verify.c, the writer's own
 * part (signing, writing the head file) lensauditd/chainwrite.c.
 *
 * Records are parsed by a hand-written scanner of the fixed layout:
 * the verifier runs it on every line of every log, so it must be fast,
 * and it must be strict, because it reads files an intruder may have
 * written.
 */
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "chain.h"

#define TAILLEN		149	/* ,"prev":"<64>","hash":"<64>"} */
#define HASHTAILLEN	75	/* ,"hash":"<64>"} */
#define CKPT_MAGIC	"lens-audit-ckpt1"
#define CKPT_MAGIC2	"lens-audit-ckpt2"
#define CKPT_MAGIC3	"lens-audit-ckpt3"

#define LIT(p, end, s)	((size_t)((end) - (p)) >= sizeof(s) - 1 && \
			    memcmp((p), (s), sizeof(s) - 1) == 0)

static const char K_SEQ[] = "{\"seq\":";
static const char K_TIME[] = ",\"time\":\"";
static const char K_SANDBOX[] = "\",\"sandbox\":\"";
static const char K_SOURCE[] = "\",\"source\":\"";
static const char K_ID[] = "\",\"id\":";
static const char K_TYPE[] = ",\"type\":\"";
static const char K_DETAILS[] = "\",\"details\":";
static const char K_PREV[] = ",\"prev\":\"";
static const char K_HASH[] = "\",\"hash\":\"";

static const char hexdigits[] = "0123456789abcdef";

/* value + 1 of a lowercase hex digit, 0 for anything else */
static const uint8_t unhex[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5,
	['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
	['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15,
	['f'] = 16
};

/*
 * Helpers
 */

void
chain_tohex(const uint8_t *in, size_t len, char *out)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hexdigits[in[i] >> 4];
		out[2 * i + 1] = hexdigits[in[i] & 0xf];
	}
	out[2 * len] = '\0';
}

int
chain_fromhex(const char *hex, size_t hexlen, uint8_t *out)
{
	const unsigned char *h = (const unsigned char *)hex;
	size_t	 i;
	unsigned int bad = 0;
	uint8_t	 hi, lo;

	if (hexlen % 2 != 0)
		return -1;
	for (i = 0; i < hexlen / 2; i++) {
		hi = unhex[h[2 * i]];
		lo = unhex[h[2 * i + 1]];
		bad |= (hi == 0) | (lo == 0);
		out[i] = (uint8_t)(((hi - 1u) << 4) | ((lo - 1u) & 0xf));
	}
	return bad ? -1 : 0;
}

enum { NUM_OK, NUM_NONE, NUM_LEADZERO, NUM_OVERFLOW };

/* canonical decimal uint64 at *pp, before end */
static int
scan_u64(const char **pp, const char *end, uint64_t *v)
{
	const char	*p = *pp;
	uint64_t	 n = 0;
	unsigned int	 d;

	if (p >= end || *p < '0' || *p > '9')
		return NUM_NONE;
	if (*p == '0') {
		p++;
		if (p < end && *p >= '0' && *p <= '9')
			return NUM_LEADZERO;
		*v = 0;
		*pp = p;
		return NUM_OK;
	}
	while (p < end && *p >= '0' && *p <= '9') {
		d = (unsigned int)(*p - '0');
		if (n > (UINT64_MAX - d) / 10)
			return NUM_OVERFLOW;
		n = n * 10 + d;
		p++;
	}
	*v = n;
	*pp = p;
	return NUM_OK;
}

static int
name_char(unsigned char c, enum chain_name kind)
{
	if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '_')
		return 1;
	switch (kind) {
	case CHAIN_SANDBOX:
		return (c >= 'A' && c <= 'Z') || c == '.';
	case CHAIN_TYPE:
		return c == '.';
	default:
		return 0;
	}
}

static size_t
name_max(enum chain_name kind)
{
	switch (kind) {
	case CHAIN_SANDBOX:
		return CHAIN_SANDBOXMAX;
	case CHAIN_SOURCE:
		return CHAIN_SOURCEMAX;
	default:
		return CHAIN_TYPEMAX;
	}
}

enum { NAME_OK, NAME_BADCHAR, NAME_LONG, NAME_EMPTY, NAME_UNTERM };

/* a name up to the '"' that ends it (not consumed), copied to out */
static int
scan_name(const char **pp, const char *end, char *out, enum chain_name kind)
{
	const char	*p = *pp;
	size_t		 n = 0, max = name_max(kind);

	while (p < end && *p != '"') {
		if (!name_char((unsigned char)*p, kind))
			return NAME_BADCHAR;
		if (n == max)
			return NAME_LONG;
		out[n++] = *p++;
	}
	if (p >= end)
		return NAME_UNTERM;
	if (n == 0 && kind != CHAIN_SANDBOX)
		return NAME_EMPTY;
	out[n] = '\0';
	*pp = p;
	return NAME_OK;
}

int
chain_name_ok(const char *s, enum chain_name kind)
{
	size_t	 n;

	if (s == NULL)
		return 0;
	for (n = 0; s[n] != '\0'; n++) {
		if (n == name_max(kind) ||
		    !name_char((unsigned char)s[n], kind))
			return 0;
	}
	return n > 0 || kind == CHAIN_SANDBOX;
}

/*
 * Time
 */

/* days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant) */
static int64_t
days_from_civil(int64_t y, unsigned int m, unsigned int d)
{
	int64_t		 era;
	unsigned int	 yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned int)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void
civil_from_days(int64_t z, int *yp, unsigned int *mp, unsigned int *dp)
{
	int64_t		 era, y;
	unsigned int	 doe, yoe, doy, mp5, m;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned int)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp5 = (5 * doy + 2) / 153;
	*dp = doy - (153 * mp5 + 2) / 5 + 1;
	m = mp5 < 10 ? mp5 + 3 : mp5 - 9;
	*mp = m;
	*yp = (int)(y + (m <= 2));
}

static unsigned int
mdays(unsigned int y, unsigned int m)
{
	static const unsigned char md[12] =
	    { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return 29;
	return md[m - 1];
}

/* n digits at s, or -1 */
static int
digits(const char *s, int n)
{
	int	 v = 0;

	while (n-- > 0) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s++ - '0');
	}
	return v;
}

#define TIME_MIN	(-62167219200LL)	/* 0000-01-01T00:00:00Z */
#define TIME_MAX	(253402300799LL)	/* 9999-12-31T23:59:59Z */

/* date and time of day at s: "YYYY-MM-DD?HH:MM:SS"; 0 or -1 */
static int
datetime(const char *s, size_t len, int64_t *secs)
{
	int	 y, mo, d, h, mi, sec;

	if (len < 10)
		return -1;
	if ((y = digits(s, 4)) < 0 || s[4] != '-' ||
	    (mo = digits(s + 5, 2)) < 1 || mo > 12 || s[7] != '-' ||
	    (d = digits(s + 8, 2)) < 1 ||
	    d > (int)mdays((unsigned int)y, (unsigned int)mo))
		return -1;
	*secs = days_from_civil(y, (unsigned int)mo, (unsigned int)d) * 86400;
	if (len == 10)
		return 0;
	if (len < 19 || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    (h = digits(s + 11, 2)) < 0 || h > 23 || s[13] != ':' ||
	    (mi = digits(s + 14, 2)) < 0 || mi > 59 || s[16] != ':' ||
	    (sec = digits(s + 17, 2)) < 0 || sec > 60)
		return -1;
	*secs += h * 3600 + mi * 60 + sec;
	return 0;
}

/* exactly the chain_timefmt layout */
static int
time_valid(const char *s)
{
	int64_t	 secs;

	return datetime(s, 19, &secs) == 0 && s[10] == 'T' && s[19] == '.' &&
	    digits(s + 20, 9) >= 0 && s[29] == 'Z';
}

static char *
put_digits(char *p, unsigned long v, int n)
{
	int	 i;

	for (i = n - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + n;
}

void
chain_timefmt(const struct timespec *ts, char out[CHAIN_TIMELEN + 1])
{
	int64_t		 secs = ts->tv_sec, days, rem;
	long		 nsec = ts->tv_nsec;
	int		 y;
	unsigned int	 m, d;
	char		*p = out;

	if (nsec < 0)
		nsec = 0;
	else if (nsec > 999999999)
		nsec = 999999999;
	if (secs < TIME_MIN) {
		secs = TIME_MIN;
		nsec = 0;
	} else if (secs > TIME_MAX) {
		secs = TIME_MAX;
		nsec = 999999999;
	}
	days = secs / 86400;
	rem = secs % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	p = put_digits(p, (unsigned long)y, 4);
	*p++ = '-';
	p = put_digits(p, m, 2);
	*p++ = '-';
	p = put_digits(p, d, 2);
	*p++ = 'T';
	p = put_digits(p, (unsigned long)(rem / 3600), 2);
	*p++ = ':';
	p = put_digits(p, (unsigned long)(rem / 60 % 60), 2);
	*p++ = ':';
	p = put_digits(p, (unsigned long)(rem % 60), 2);
	*p++ = '.';
	p = put_digits(p, (unsigned long)nsec, 9);
	*p++ = 'Z';
	*p = '\0';
}

/*
 * RFC 3339: full-date, or full-date "T" time with an optional fraction
 * and a "Z" or +hh:mm/-hh:mm offset ("t", "z" and a space for "T" are
 * accepted too).  Digits of the fraction past nanoseconds are dropped.
 */
int
chain_timeparse(const char *s, struct timespec *ts)
{
	size_t	 len = strlen(s), i;
	int64_t	 secs;
	long	 nsec = 0, scale = 100000000;
	int	 oh, om, sign;

	if (datetime(s, len < 19 ? len : 19, &secs) == -1)
		return -1;
	if (len == 10)
		goto done;
	i = 19;
	if (s[i] == '.') {
		if (s[++i] < '0' || s[i] > '9')
			return -1;
		for (; s[i] >= '0' && s[i] <= '9'; i++) {
			nsec += (s[i] - '0') * scale;
			scale /= 10;
		}
	}
	if ((s[i] == 'Z' || s[i] == 'z') && s[i + 1] == '\0')
		goto done;
	if (s[i] != '+' && s[i] != '-')
		return -1;
	sign = s[i] == '+' ? 1 : -1;
	if (len - i != 6 || (oh = digits(s + i + 1, 2)) < 0 || oh > 23 ||
	    s[i + 3] != ':' || (om = digits(s + i + 4, 2)) < 0 || om > 59)
		return -1;
	secs -= sign * (oh * 3600 + om * 60);
 done:
	ts->tv_sec = (time_t)secs;
	ts->tv_nsec = nsec;
	return 0;
}

/*
 * Records
 */

void
chain_hash(const uint8_t prev[CHAIN_HASHLEN], const char *bytes, size_t len,
    uint8_t out[CHAIN_HASHLEN])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, CHAIN_HASHLEN);
	crypto_generichash_update(&st, prev, CHAIN_HASHLEN);
	crypto_generichash_update(&st, (const unsigned char *)bytes, len);
	crypto_generichash_final(&st, out, CHAIN_HASHLEN);
}

int
chain_check_hash(const char *line, const struct chain_rec *r)
{
	uint8_t	 h[CHAIN_HASHLEN];

	chain_hash(r->prev, line, r->hashedlen, h);
	return memcmp(h, r->hash, CHAIN_HASHLEN) == 0 ? 0 : -1;
}

/* details: looks like an object and holds only what canonical JSON may */
static const char *
details_why(const char *d, size_t len)
{
	size_t	 i;
	unsigned int bad = 0;

	if (len < 2 || d[0] != '{' || d[len - 1] != '}')
		return "details: not a JSON object";
	for (i = 0; i < len; i++)
		bad |= (unsigned char)d[i] < 0x20 || (unsigned char)d[i] > 0x7f;
	if (bad)
		return "details: control or non-ASCII byte";
	return NULL;
}

enum { F_SEQ, F_ID, F_HEADSEQ };

static const char *
num_why(int rc, int field)
{
	static const char *const w[][3] = {
		{ "seq: not a number", "seq: leading zero", "seq: overflow" },
		{ "id: not a number", "id: leading zero", "id: overflow" },
		{ "head_seq: not a number", "head_seq: leading zero",
		    "head_seq: overflow" },
	};
	return w[field][rc == NUM_NONE ? 0 : rc == NUM_LEADZERO ? 1 : 2];
}

static const char *
name_why(int rc, enum chain_name kind)
{
	static const char *const w[][4] = {
		{ "sandbox: bad character", "sandbox: too long",
		    "sandbox: empty", "sandbox: unterminated" },
		{ "source: bad character", "source: too long",
		    "source: empty", "source: unterminated" },
		{ "type: bad character", "type: too long",
		    "type: empty", "type: unterminated" },
	};

	return w[kind][rc - 1];
}

int
chain_parse(const char *line, size_t len, struct chain_rec *r,
    const char **why)
{
	const char	*p = line, *end, *t;
	int		 rc;

	if (len < TAILLEN + sizeof(K_SEQ) - 1) {
		*why = "line too short";
		return -1;
	}
	if (len > CHAIN_MAXLINE - 1) {
		*why = "line too long";
		return -1;
	}
	end = t = line + len - TAILLEN;
	if (!LIT(p, end, K_SEQ)) {
		*why = "does not start with {\"seq\":";
		return -1;
	}
	p += sizeof(K_SEQ) - 1;
	if ((rc = scan_u64(&p, end, &r->seq)) != NUM_OK) {
		*why = num_why(rc, F_SEQ);
		return -1;
	}
	if (r->seq == 0) {
		*why = "seq: zero";
		return -1;
	}
	if (!LIT(p, end, K_TIME)) {
		*why = "\"time\" missing or misplaced";
		return -1;
	}
	p += sizeof(K_TIME) - 1;
	if (end - p < CHAIN_TIMELEN || !time_valid(p)) {
		*why = "time: not YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ";
		return -1;
	}
	r->time = p;
	p += CHAIN_TIMELEN;
	if (!LIT(p, end, K_SANDBOX)) {
		*why = "\"sandbox\" missing or misplaced";
		return -1;
	}
	p += sizeof(K_SANDBOX) - 1;
	if ((rc = scan_name(&p, end, r->sandbox, CHAIN_SANDBOX)) != NAME_OK) {
		*why = name_why(rc, CHAIN_SANDBOX);
		return -1;
	}
	if (!LIT(p, end, K_SOURCE)) {
		*why = "\"source\" missing or misplaced";
		return -1;
	}
	p += sizeof(K_SOURCE) - 1;
	if ((rc = scan_name(&p, end, r->source, CHAIN_SOURCE)) != NAME_OK) {
		*why = name_why(rc, CHAIN_SOURCE);
		return -1;
	}
	if (!LIT(p, end, K_ID)) {
		*why = "\"id\" missing or misplaced";
		return -1;
	}
	p += sizeof(K_ID) - 1;
	if ((rc = scan_u64(&p, end, &r->id)) != NUM_OK) {
		*why = num_why(rc, F_ID);
		return -1;
	}
	if (!LIT(p, end, K_TYPE)) {
		*why = "\"type\" missing or misplaced";
		return -1;
	}
	p += sizeof(K_TYPE) - 1;
	if ((rc = scan_name(&p, end, r->type, CHAIN_TYPE)) != NAME_OK) {
		*why = name_why(rc, CHAIN_TYPE);
		return -1;
	}
	if (!LIT(p, end, K_DETAILS)) {
		*why = "\"details\" missing or misplaced";
		return -1;
	}
	p += sizeof(K_DETAILS) - 1;
	if ((*why = details_why(p, (size_t)(end - p))) != NULL)
		return -1;
	r->details = p;
	r->detailslen = (size_t)(end - p);

	/* the fixed tail */
	if (memcmp(t, K_PREV, sizeof(K_PREV) - 1) != 0) {
		*why = "\"prev\" missing or misplaced";
		return -1;
	}
	t += sizeof(K_PREV) - 1;
	if (chain_fromhex(t, CHAIN_HEXLEN, r->prev) == -1) {
		*why = "prev: not 64 lowercase hex digits";
		return -1;
	}
	t += CHAIN_HEXLEN;
	if (memcmp(t, K_HASH, sizeof(K_HASH) - 1) != 0) {
		*why = "\"hash\" missing or misplaced";
		return -1;
	}
	t += sizeof(K_HASH) - 1;
	if (chain_fromhex(t, CHAIN_HEXLEN, r->hash) == -1) {
		*why = "hash: not 64 lowercase hex digits";
		return -1;
	}
	t += CHAIN_HEXLEN;
	if (t[0] != '"' || t[1] != '}') {
		*why = "line does not end with \"}";
		return -1;
	}
	r->hashedlen = len - HASHTAILLEN;
	return 0;
}

static char *
put_str(char *p, const char *s, size_t len)
{
	memcpy(p, s, len);
	return p + len;
}

#define PUT_LIT(p, s)	put_str((p), (s), sizeof(s) - 1)

static char *
put_u64(char *p, uint64_t v)
{
	char	 tmp[20];
	size_t	 n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

static size_t
u64_len(uint64_t v)
{
	size_t	 n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

int
chain_format(char *buf, size_t bufsz, const struct chain_fields *f,
    const uint8_t prev[CHAIN_HASHLEN], uint8_t hash[CHAIN_HASHLEN])
{
	size_t	 sblen, solen, tylen, len;
	char	*p;

	if (f->seq == 0 || f->details == NULL ||
	    !chain_name_ok(f->sandbox, CHAIN_SANDBOX) ||
	    !chain_name_ok(f->source, CHAIN_SOURCE) ||
	    !chain_name_ok(f->type, CHAIN_TYPE) ||
	    details_why(f->details, f->detailslen) != NULL ||
	    f->time.tv_nsec < 0 || f->time.tv_nsec > 999999999 ||
	    f->time.tv_sec < TIME_MIN || f->time.tv_sec > TIME_MAX) {
		errno = EINVAL;
		return -1;
	}
	sblen = strlen(f->sandbox);
	solen = strlen(f->source);
	tylen = strlen(f->type);
	if (f->detailslen > CHAIN_MAXLINE) {
		errno = ENOSPC;
		return -1;
	}
	len = sizeof(K_SEQ) - 1 + u64_len(f->seq) + sizeof(K_TIME) - 1 +
	    CHAIN_TIMELEN + sizeof(K_SANDBOX) - 1 + sblen +
	    sizeof(K_SOURCE) - 1 + solen + sizeof(K_ID) - 1 + u64_len(f->id) +
	    sizeof(K_TYPE) - 1 + tylen + sizeof(K_DETAILS) - 1 +
	    f->detailslen + TAILLEN + 1;
	if (len > bufsz || len > CHAIN_MAXLINE) {
		errno = ENOSPC;
		return -1;
	}
	p = buf;
	p = PUT_LIT(p, K_SEQ);
	p = put_u64(p, f->seq);
	p = PUT_LIT(p, K_TIME);
	chain_timefmt(&f->time, p);	/* its NUL is overwritten next */
	p += CHAIN_TIMELEN;
	p = PUT_LIT(p, K_SANDBOX);
	p = put_str(p, f->sandbox, sblen);
	p = PUT_LIT(p, K_SOURCE);
	p = put_str(p, f->source, solen);
	p = PUT_LIT(p, K_ID);
	p = put_u64(p, f->id);
	p = PUT_LIT(p, K_TYPE);
	p = put_str(p, f->type, tylen);
	p = PUT_LIT(p, K_DETAILS);
	p = put_str(p, f->details, f->detailslen);
	p = PUT_LIT(p, K_PREV);
	chain_tohex(prev, CHAIN_HASHLEN, p);
	p += CHAIN_HEXLEN;
	*p++ = '"';
	chain_hash(prev, buf, (size_t)(p - buf), hash);
	p = PUT_LIT(p, ",\"hash\":\"");
	chain_tohex(hash, CHAIN_HASHLEN, p);
	p += CHAIN_HEXLEN;
	p = PUT_LIT(p, "\"}\n");
	if ((size_t)(p - buf) < bufsz)
		*p = '\0';
	return (int)(p - buf);
}

/*
 * Checkpoints
 */

void
chain_ckpt_msg(uint64_t head_seq, const uint8_t head[CHAIN_HASHLEN],
    uint8_t msg[CHAIN_CKPT_MSGLEN])
{
	int	 i;

	memcpy(msg, CKPT_MAGIC, 16);
	for (i = 0; i < 8; i++)
		msg[16 + i] = (uint8_t)(head_seq >> (56 - 8 * i));
	memcpy(msg + 24, head, CHAIN_HASHLEN);
}

size_t
chain_ckpt_msg_of(const struct chain_ckpt *c, uint8_t msg[CHAIN_CKPT_MSGMAX])
{
	int	 i;

	if (!c->haslog) {
		chain_ckpt_msg(c->head_seq, c->head, msg);
		return CHAIN_CKPT_MSGLEN;
	}
	memcpy(msg, c->hasnext ? CKPT_MAGIC3 : CKPT_MAGIC2, 16);
	memcpy(msg + 16, c->logid, CHAIN_LOGIDLEN);
	for (i = 0; i < 8; i++)
		msg[32 + i] = (uint8_t)(c->head_seq >> (56 - 8 * i));
	memcpy(msg + 40, c->head, CHAIN_HASHLEN);
	if (!c->hasnext)
		return CHAIN_CKPT_MSGLOG;
	memcpy(msg + 72, c->next, 32);
	return CHAIN_CKPT_MSGMAX;
}

int
chain_logid_parse(const char *text, size_t len, uint8_t logid[CHAIN_LOGIDLEN])
{
	if (len > 0 && text[len - 1] == '\n')
		len--;
	if (len != CHAIN_LOGIDHEXLEN ||
	    chain_fromhex(text, CHAIN_LOGIDHEXLEN, logid) == -1)
		return -1;
	return 0;
}

void
chain_keyid(const uint8_t pk[32], char keyid[CHAIN_KEYIDLEN + 1])
{
	uint8_t	 h[CHAIN_HASHLEN];

	crypto_generichash(h, sizeof(h), pk, 32, NULL, 0);
	chain_tohex(h, CHAIN_KEYIDLEN / 2, keyid);
}

int
chain_is_ckpt(const struct chain_rec *r)
{
	return strcmp(r->type, CHAIN_CKPT_TYPE) == 0 &&
	    strcmp(r->source, CHAIN_SELF_SOURCE) == 0;
}

int
chain_sources_ok(const char *s, size_t len)
{
	const char	*p = s, *end = s + len;
	char		 name[CHAIN_SOURCEMAX + 1], last[CHAIN_SOURCEMAX + 1];
	uint64_t	 id;

	if (len < 2 || s[0] != '{' || s[len - 1] != '}')
		return 0;
	p++;
	end--;
	if (p == end)
		return 1;
	last[0] = '\0';
	for (;;) {
		if (p >= end || *p++ != '"')
			return 0;
		if (scan_name(&p, end, name, CHAIN_SOURCE) != NAME_OK)
			return 0;
		if (!LIT(p, end, "\":"))
			return 0;
		p += 2;
		if (scan_u64(&p, end, &id) != NUM_OK)
			return 0;
		if (last[0] != '\0' && strcmp(last, name) >= 0)
			return 0;
		memcpy(last, name, sizeof(last));
		if (p == end)
			return 1;
		if (*p++ != ',')
			return 0;
	}
}

/* head, head_seq, key, sig of a checkpoint or head file at *pp */
static const char *
scan_ckpt_fields(const char **pp, const char *end, struct chain_ckpt *c)
{
	const char	*p = *pp;
	uint8_t		 id[CHAIN_KEYIDLEN / 2];
	int		 rc;

	if (!LIT(p, end, "\"head\":\""))
		return "\"head\" missing or misplaced";
	p += 8;
	if (end - p < CHAIN_HEXLEN ||
	    chain_fromhex(p, CHAIN_HEXLEN, c->head) == -1)
		return "head: not 64 lowercase hex digits";
	p += CHAIN_HEXLEN;
	if (!LIT(p, end, "\",\"head_seq\":"))
		return "\"head_seq\" missing or misplaced";
	p += 13;
	if ((rc = scan_u64(&p, end, &c->head_seq)) != NUM_OK)
		return num_why(rc, F_HEADSEQ);
	if (c->head_seq == UINT64_MAX)
		return "head_seq: out of range";
	if (!LIT(p, end, ",\"key\":\""))
		return "\"key\" missing or misplaced";
	p += 8;
	if (end - p < CHAIN_KEYIDLEN ||
	    chain_fromhex(p, CHAIN_KEYIDLEN, id) == -1)
		return "key: not 16 lowercase hex digits";
	memcpy(c->keyid, p, CHAIN_KEYIDLEN);
	c->keyid[CHAIN_KEYIDLEN] = '\0';
	p += CHAIN_KEYIDLEN;
	c->haslog = 0;
	memset(c->logid, 0, sizeof(c->logid));
	if (LIT(p, end, "\",\"log\":\"")) {
		p += 9;
		if (end - p < CHAIN_LOGIDHEXLEN ||
		    chain_fromhex(p, CHAIN_LOGIDHEXLEN, c->logid) == -1)
			return "log: not 32 lowercase hex digits";
		c->haslog = 1;
		p += CHAIN_LOGIDHEXLEN;
	}
	c->hasnext = 0;
	memset(c->next, 0, sizeof(c->next));
	if (c->haslog && LIT(p, end, "\",\"next\":\"")) {
		p += 10;
		if (end - p < CHAIN_HEXLEN ||
		    chain_fromhex(p, CHAIN_HEXLEN, c->next) == -1)
			return "next: not 64 lowercase hex digits";
		c->hasnext = 1;
		p += CHAIN_HEXLEN;
	}
	if (!LIT(p, end, "\",\"sig\":\""))
		return "\"sig\" missing or misplaced";
	p += 9;
	if (end - p < CHAIN_SIGHEXLEN ||
	    chain_fromhex(p, CHAIN_SIGHEXLEN, c->sig) == -1)
		return "sig: not 128 lowercase hex digits";
	p += CHAIN_SIGHEXLEN;
	if (p >= end || *p != '"')
		return "sig: unterminated";
	*pp = p + 1;
	return NULL;
}

int
chain_ckpt_parse(const struct chain_rec *r, struct chain_ckpt *c,
    const char **why)
{
	const char	*p = r->details, *end = r->details + r->detailslen;

	if (!chain_is_ckpt(r)) {
		*why = "not a checkpoint record";
		return -1;
	}
	if (r->id != 0 || r->sandbox[0] != '\0') {
		*why = "checkpoint with an id or a sandbox";
		return -1;
	}
	if (p >= end || *p++ != '{') {
		*why = "details: not a JSON object";
		return -1;
	}
	if ((*why = scan_ckpt_fields(&p, end, c)) != NULL)
		return -1;
	if (!LIT(p, end, ",\"sources\":")) {
		*why = "\"sources\" missing or misplaced";
		return -1;
	}
	p += 11;
	if (end - p < 1 || end[-1] != '}' ||
	    !chain_sources_ok(p, (size_t)(end - 1 - p))) {
		*why = "sources: not a canonical object of source ids";
		return -1;
	}
	return 0;
}

int
chain_ckpt_verify(const struct chain_ckpt *c, const uint8_t pk[32])
{
	uint8_t	 msg[CHAIN_CKPT_MSGMAX];
	size_t	 len;

	len = chain_ckpt_msg_of(c, msg);
	return crypto_sign_verify_detached(c->sig, msg, len, pk) == 0 ?
	    0 : -1;
}

/*
 * Head file, log names, keys
 */

int
chain_logname_num(const char *name, uint64_t *num)
{
	const char	*p, *end;
	size_t		 len = strlen(name);

	if (len < sizeof(CHAIN_LOGPREFIX) - 1 + 6 + sizeof(CHAIN_LOGSUFFIX) - 1
	    || len > CHAIN_LOGNAMEMAX ||
	    strncmp(name, CHAIN_LOGPREFIX, sizeof(CHAIN_LOGPREFIX) - 1) != 0 ||
	    strcmp(name + len - (sizeof(CHAIN_LOGSUFFIX) - 1),
	    CHAIN_LOGSUFFIX) != 0)
		return -1;
	p = name + sizeof(CHAIN_LOGPREFIX) - 1;
	end = name + len - (sizeof(CHAIN_LOGSUFFIX) - 1);
	if (end - p > 6 && *p == '0')
		return -1;	/* not canonical: more than 6 digits */
	while (end - p > 1 && *p == '0')
		p++;
	if (scan_u64(&p, end, num) != NUM_OK || p != end || *num == 0)
		return -1;
	return 0;
}

int
chain_head_parse(const char *text, size_t len, struct chain_head *h,
    const char **why)
{
	const char	*p = text, *end, *q;
	uint64_t	 num;

	if (len > 0 && text[len - 1] == '\n')
		len--;
	end = text + len;
	if (!LIT(p, end, "{\"file\":\"")) {
		*why = "does not start with {\"file\":";
		return -1;
	}
	p += 9;
	for (q = p; q < end && *q != '"'; q++)
		;
	if (q >= end || (size_t)(q - p) > CHAIN_LOGNAMEMAX) {
		*why = "file: not a log file name";
		return -1;
	}
	memcpy(h->file, p, (size_t)(q - p));
	h->file[q - p] = '\0';
	if (chain_logname_num(h->file, &num) == -1) {
		*why = "file: not a log file name";
		return -1;
	}
	p = q;
	if (!LIT(p, end, "\",")) {
		*why = "\"head\" missing or misplaced";
		return -1;
	}
	p += 2;
	if ((*why = scan_ckpt_fields(&p, end, &h->ckpt)) != NULL)
		return -1;
	if (end - p != 1 || *p != '}') {
		*why = "does not end with } after \"sig\"";
		return -1;
	}
	return 0;
}

int
chain_pubkey_parse(const char *text, size_t len, uint8_t pk[32])
{
	if (len > 0 && text[len - 1] == '\n')
		len--;
	if (len != 8 + 64 || memcmp(text, "ed25519 ", 8) != 0 ||
	    chain_fromhex(text + 8, 64, pk) == -1)
		return -1;
	return 0;
}

int
chain_pubkey_read(const char *path, uint8_t pk[32], char *err,
    size_t errlen)
{
	char	 buf[256];
	ssize_t	 n;
	size_t	 len = 0;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		if (n == 0 || (len += (size_t)n) == sizeof(buf))
			break;
	}
	close(fd);
	if (chain_pubkey_parse(buf, len, pk) == -1) {
		snprintf(err, errlen, "%s: not an ed25519 public key "
		    "(expected \"ed25519 <64 hex digits>\")", path);
		return -1;
	}
	return 0;
}

int
chain_details_canonical(const char *d, size_t len, const char **why)
{
	json_t		*j;
	json_error_t	 e;
	char		*s;
	int		 rc = -1;

	if ((*why = details_why(d, len)) != NULL)
		return -1;
	if ((j = json_loadb(d, len, JSON_REJECT_DUPLICATES, &e)) == NULL) {
		*why = "details: not valid JSON";
		return -1;
	}
	if (!json_is_object(j)) {
		*why = "details: not a JSON object";
		goto done;
	}
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	if (s == NULL) {
		*why = "details: cannot be dumped";
		goto done;
	}
	if (strlen(s) != len || memcmp(s, d, len) != 0)
		*why = "details: not canonical (compact, sorted keys, ASCII)";
	else
		rc = 0;
	free(s);
 done:
	json_decref(j);
	return rc;
}

uint64_t
chain_guess_seq(const char *line, size_t len)
{
	const char	*p = line + sizeof(K_SEQ) - 1;
	uint64_t	 seq;

	if (LIT(line, line + len, K_SEQ) &&
	    scan_u64(&p, line + len, &seq) == NUM_OK)
		return seq;
	return 0;
}
