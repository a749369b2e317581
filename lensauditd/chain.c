/*
 * The audit chain: record format, hashing, checkpoint signatures and
 * offline verification.  The format is described in chain.h and in
 * lens-audit(5).
 *
 * Records are parsed by a hand-written scanner of the fixed layout:
 * the verifier runs it on every line of every log, so it must be fast,
 * and it must be strict, because it reads files an intruder may have
 * written.
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
#include <sodium.h>

#include "chain.h"

#define TAILLEN		149	/* ,"prev":"<64>","hash":"<64>"} */
#define HASHTAILLEN	75	/* ,"hash":"<64>"} */
#define CKPT_MAGIC	"lens-audit-ckpt1"
#define CKPT_MAGIC2	"lens-audit-ckpt2"

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

static const uint8_t zerohash[CHAIN_HASHLEN];
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
	memcpy(msg, CKPT_MAGIC2, 16);
	memcpy(msg + 16, c->logid, CHAIN_LOGIDLEN);
	for (i = 0; i < 8; i++)
		msg[32 + i] = (uint8_t)(c->head_seq >> (56 - 8 * i));
	memcpy(msg + 40, c->head, CHAIN_HASHLEN);
	return CHAIN_CKPT_MSGMAX;
}

int
chain_type_reserved(const char *type)
{
	return strncmp(type, CHAIN_RESERVED_PREFIX,
	    sizeof(CHAIN_RESERVED_PREFIX) - 1) == 0;
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
	struct chain_ckpt c;
	uint8_t		 msg[CHAIN_CKPT_MSGMAX], pk[32];
	char		 headhex[CHAIN_HEXLEN + 1], sighex[CHAIN_SIGHEXLEN + 1];
	char		 loghex[CHAIN_LOGIDHEXLEN + 1];
	size_t		 mlen;
	int		 n;

	if (sources == NULL || !chain_sources_ok(sources, strlen(sources)) ||
	    head_seq == UINT64_MAX) {
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
		    "\"key\":\"%s\",\"log\":\"%s\",\"sig\":\"%s\","
		    "\"sources\":%s}", headhex, (unsigned long long)head_seq,
		    c.keyid, loghex, sighex, sources);
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
	char	 log[CHAIN_LOGIDHEXLEN + 10];
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

/*
 * Verification
 */

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
	uint8_t		 pk[32];
	char		 keyid[CHAIN_KEYIDLEN + 1];
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
	uint64_t	 line = 0;
	char		 from[300];

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
		if (!h.ckpt.haslog)
			wbad(v, "witness malformed (%s:%llu: no log id)", name,
			    (unsigned long long)line);
		else if (strcmp(h.ckpt.keyid, v->keyid) != 0)
			wbad(v, "wrong key (%s:%llu: signed by key %s, the "
			    "trusted key is %s)", name,
			    (unsigned long long)line, h.ckpt.keyid, v->keyid);
		else if (chain_ckpt_verify(&h.ckpt, v->pk) == -1)
			wbad(v, "bad signature (%s:%llu: does not verify with "
			    "key %s)", name, (unsigned long long)line,
			    v->keyid);
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
		if ((nw = reallocarray(v->wit, v->nwit + 1,
		    sizeof(*nw))) == NULL) {
			wbad(v, "%s: %s", name, strerror(errno));
			break;
		}
		v->wit = nw;
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
		    c->haslog != e->haslog ||
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
		if (strcmp(c.keyid, v->keyid) != 0) {
			vfail(v, CHAIN_VWRONGKEY, r->file, r->line, r->seq,
			    "wrong key (checkpoint signed by key %s, public "
			    "key is %s)", c.keyid, v->keyid);
			return -1;
		}
		if (chain_ckpt_verify(&c, v->pk) == -1) {
			vfail(v, CHAIN_VBADSIG, r->file, r->line, r->seq,
			    "bad signature (checkpoint signature does not "
			    "verify with key %s)", v->keyid);
			return -1;
		}
		if (vlogid(v, r, &c) == -1)
			return -1;
	}
	if (vwitness(v, r, ckpt ? &c : NULL) == -1)
		return -1;
	if (v->head_state == 1) {
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

/* the seq of a line that does not parse, if it starts like a record */
static uint64_t
vguess_seq(const char *line, size_t len)
{
	const char	*p = line + sizeof(K_SEQ) - 1;
	uint64_t	 seq;

	if (LIT(line, line + len, K_SEQ) &&
	    scan_u64(&p, line + len, &seq) == NUM_OK)
		return seq;
	return 0;
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
		    p->parsed ? r.seq : vguess_seq(p->line, p->len),
		    "log truncated (last line torn: no newline at the end "
		    "of the file)");
		return;
	}
	if (!p->parsed) {
		vfail(v, CHAIN_VMALFORMED, r.file, r.line,
		    vguess_seq(p->line, p->len), "malformed record (%s)",
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
			    vguess_seq(buf, have),
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
	if (!v->done && v->head_state == 1 && (!v->have_last ||
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
		    "seq %llu)",
		    (unsigned long long)(v->have_last ? v->last.seq : 0),
		    v->witname,
		    (unsigned long long)v->wit[v->nwit - 1].ckpt.head_seq);
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
	v->res.head = v->head_state == 1;
	v->res.head_seq = v->head_state == 1 ? v->head.ckpt.head_seq : 0;
	*res = v->res;
	return v->done ? -1 : 0;
}
