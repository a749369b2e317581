/*
 * Unit tests of the audit chain (TAP): common/chain.c, common/verify.c,
 * lensauditd/chainwrite.c.  Known answers were computed with independent
 * tools: b2sum -l 256 for BLAKE2b-256 and OpenSSL for Ed25519 with the
 * RFC 8032 test key.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "chain.h"
#include "chainwrite.h"
#include "verify.h"
#include "tap.h"



static const char ZERO64[] =
    "0000000000000000000000000000000000000000000000000000000000000000";

/* RFC 8032 test 1 */
static const char RFC_SEED[] =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
static const char RFC_PK[] =
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

static const char KAT_LINE_HASH[] =
    "ea14366938156599f4b9af5da999f02ce6215cd59429314808626fb3d0e067a0";
static const char KAT_ABC[] =
    "5db827e5e925e6b933a86596a0446c345c0d74d77f55a751ade5d7c7162eead8";
static const char KAT_KEYID[] = "7849ac3049680be1";
static const char KAT_SIG[] =
    "250361fc5886e639a68252c8f814296282a8514a9466fc86b4c483b463182623"
    "bc29988714a580c809d860934bec6f86a07f789d68c89cd1b25b3d0e0f5b920f";

static char	 base[1024];	/* a valid line without '\n' */
static size_t	 baselen;

static void
fields_init(struct chain_fields *f)
{
	memset(f, 0, sizeof(*f));
	f->seq = 1;
	f->time.tv_sec = 1700000000;
	f->time.tv_nsec = 123456789;
	f->sandbox = "sb-1";
	f->source = "lensnetd";
	f->id = 7;
	f->type = "net.allow";
	f->details = "{\"host\":\"example.com\"}";
	f->detailslen = strlen(f->details);
}

static int
format_errno(const struct chain_fields *f)
{
	char	 buf[2048];
	uint8_t	 prev[CHAIN_HASHLEN] = { 0 }, hash[CHAIN_HASHLEN];

	errno = 0;
	if (chain_format(buf, sizeof(buf), f, prev, hash) != -1)
		return 0;
	return errno;
}

/* parse base with the first "from" replaced by "to"; the why or NULL */
static const char *
parse_mut(const char *from, const char *to)
{
	static char	 line[CHAIN_MAXLINE + 16];
	struct chain_rec r;
	const char	*p, *why;
	size_t		 pre, fl = strlen(from), tl = strlen(to);

	if ((p = strstr(base, from)) == NULL)
		return "test error: pattern not found";
	pre = (size_t)(p - base);
	memcpy(line, base, pre);
	memcpy(line + pre, to, tl);
	memcpy(line + pre + tl, p + fl, baselen - pre - fl);
	if (chain_parse(line, baselen - fl + tl, &r, &why) == 0)
		return NULL;
	return why;
}

static void
rejects(const char *from, const char *to, const char *want, const char *desc)
{
	const char	*why = parse_mut(from, to);

	ok(why != NULL && strstr(why, want) != NULL,
	    "parse rejects %s (%s)", desc, why == NULL ? "accepted" : why);
}

static void
test_format_parse(void)
{
	struct chain_fields f;
	struct chain_rec r;
	uint8_t		 prev[CHAIN_HASHLEN] = { 0 }, hash[CHAIN_HASHLEN];
	char		 hex[CHAIN_HEXLEN + 1], buf[2048];
	char		 sb[CHAIN_SANDBOXMAX + 1], src[CHAIN_SOURCEMAX + 1];
	char		 ty[CHAIN_TYPEMAX + 1];
	const char	*why;
	int		 n;

	fields_init(&f);
	n = chain_format(base, sizeof(base), &f, prev, hash);
	ok(n > 0 && base[n - 1] == '\n' && memchr(base, '\n', (size_t)n - 1)
	    == NULL, "format gives one line ending in newline");
	baselen = (size_t)n - 1;
	chain_tohex(hash, sizeof(hash), hex);
	ok(strcmp(hex, KAT_LINE_HASH) == 0, "record hash matches b2sum");
	snprintf(buf, sizeof(buf), "{\"seq\":1,\"time\":"
	    "\"2023-11-14T22:13:20.123456789Z\",\"sandbox\":\"sb-1\","
	    "\"source\":\"lensnetd\",\"id\":7,\"type\":\"net.allow\","
	    "\"details\":{\"host\":\"example.com\"},\"prev\":\"%s\","
	    "\"hash\":\"%s\"}\n", ZERO64, KAT_LINE_HASH);
	ok(strcmp(base, buf) == 0, "format gives exactly the documented bytes");

	ok(chain_parse(base, baselen, &r, &why) == 0, "parse the formatted line");
	ok(r.seq == 1 && r.id == 7 && strcmp(r.sandbox, "sb-1") == 0 &&
	    strcmp(r.source, "lensnetd") == 0 &&
	    strcmp(r.type, "net.allow") == 0 &&
	    memcmp(r.time, "2023-11-14T22:13:20.123456789Z", CHAIN_TIMELEN)
	    == 0 && r.detailslen == f.detailslen &&
	    memcmp(r.details, f.details, f.detailslen) == 0 &&
	    memcmp(r.prev, prev, CHAIN_HASHLEN) == 0 &&
	    memcmp(r.hash, hash, CHAIN_HASHLEN) == 0,
	    "round trip: every field");
	ok(r.hashedlen == baselen - 75 &&
	    memcmp(base + r.hashedlen, ",\"hash\":\"", 9) == 0,
	    "hashedlen ends before ,\"hash\"");
	ok(chain_check_hash(base, &r) == 0, "hash check passes");
	base[40] ^= 1;
	ok(chain_check_hash(base, &r) == -1, "hash check fails on a changed byte");
	base[40] ^= 1;
	r.prev[0] ^= 1;
	ok(chain_check_hash(base, &r) == -1, "hash check fails with another prev");

	/* maximum sizes and uint64 limits round trip */
	f.seq = UINT64_MAX;
	f.id = UINT64_MAX;
	memset(sb, 'A', CHAIN_SANDBOXMAX);
	sb[CHAIN_SANDBOXMAX] = '\0';
	memset(src, 'z', CHAIN_SOURCEMAX);
	src[CHAIN_SOURCEMAX] = '\0';
	memset(ty, '.', CHAIN_TYPEMAX);
	ty[CHAIN_TYPEMAX] = '\0';
	f.sandbox = sb;
	f.source = src;
	f.type = ty;
	n = chain_format(buf, sizeof(buf), &f, prev, hash);
	ok(n > 0 && chain_parse(buf, (size_t)n - 1, &r, &why) == 0 &&
	    r.seq == UINT64_MAX && r.id == UINT64_MAX &&
	    strlen(r.sandbox) == CHAIN_SANDBOXMAX &&
	    strlen(r.source) == CHAIN_SOURCEMAX &&
	    strlen(r.type) == CHAIN_TYPEMAX, "round trip at the limits");
	fields_init(&f);
	f.sandbox = "";
	f.id = 0;
	n = chain_format(buf, sizeof(buf), &f, prev, hash);
	ok(n > 0 && chain_parse(buf, (size_t)n - 1, &r, &why) == 0 &&
	    r.sandbox[0] == '\0' && r.id == 0, "empty sandbox and id 0");
}

static void
test_format_rejects(void)
{
	struct chain_fields f;
	char		 small[100], big[CHAIN_MAXLINE + 1024], *d;
	uint8_t		 prev[CHAIN_HASHLEN] = { 0 }, hash[CHAIN_HASHLEN];
	static const struct {
		int		 which;
		const char	*val;
		const char	*desc;
	} bad[] = {
		{ 0, "sb 1", "sandbox with a space" },
		{ 0, "sb\"1", "sandbox with a quote" },
		{ 0, "0123456789012345678901234567890123456789012345678901234567"
		    "8901234", "sandbox of 65" },
		{ 1, "", "empty source" },
		{ 1, "Lensnetd", "source with upper case" },
		{ 1, "lens.netd", "source with a dot" },
		{ 1, "abcdefghijklmnopqrstuvwxyz012345", "source of 32" },
		{ 2, "", "empty type" },
		{ 2, "net/allow", "type with a slash" },
		{ 2, "Net.allow", "type with upper case" },
		{ 2, "a123456789012345678901234567890123456789012345678901234567"
		    "890123", "type of 64" },
		{ 3, "", "empty details" },
		{ 3, "[]", "details an array" },
		{ 3, "{", "details {" },
		{ 3, "\"{}\"", "details a string" },
		{ 3, "{\"a\":\"\n\"}", "details with a newline" },
		{ 3, "{\"a\":\"\xc3\xa9\"}", "details not ASCII" },
	};
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fields_init(&f);
		switch (bad[i].which) {
		case 0:
			f.sandbox = bad[i].val;
			break;
		case 1:
			f.source = bad[i].val;
			break;
		case 2:
			f.type = bad[i].val;
			break;
		default:
			f.details = bad[i].val;
			f.detailslen = strlen(bad[i].val);
			break;
		}
		ok(format_errno(&f) == EINVAL, "format rejects %s", bad[i].desc);
	}
	fields_init(&f);
	f.seq = 0;
	ok(format_errno(&f) == EINVAL, "format rejects seq 0");
	fields_init(&f);
	f.time.tv_nsec = 1000000000;
	ok(format_errno(&f) == EINVAL, "format rejects nsec 1e9");
	fields_init(&f);
	f.time.tv_sec = 253402300800LL;
	ok(format_errno(&f) == EINVAL, "format rejects year 10000");
	fields_init(&f);
	errno = 0;
	ok(chain_format(small, sizeof(small), &f, prev, hash) == -1 &&
	    errno == ENOSPC, "format: ENOSPC for a small buffer");
	/* details that would make the line longer than CHAIN_MAXLINE */
	if ((d = malloc(CHAIN_MAXLINE)) == NULL)
		abort();
	memset(d, 'a', CHAIN_MAXLINE);
	memcpy(d, "{\"a\":\"", 6);
	memcpy(d + CHAIN_MAXLINE - 400 - 2, "\"}", 2);
	f.details = d;
	f.detailslen = CHAIN_MAXLINE - 400;
	ok(chain_format(big, sizeof(big), &f, prev, hash) > 0,
	    "format: a line just under CHAIN_MAXLINE");
	memcpy(d + CHAIN_MAXLINE - 2, "\"}", 2);
	f.detailslen = CHAIN_MAXLINE;
	errno = 0;
	ok(chain_format(big, sizeof(big), &f, prev, hash) == -1 &&
	    errno == ENOSPC, "format: ENOSPC past CHAIN_MAXLINE");
	free(d);
}

static void
test_parse_rejects(void)
{
	struct chain_rec r;
	char		 line[CHAIN_MAXLINE + 8];
	const char	*why;
	size_t		 i;

	rejects("{\"seq\":1,", "{\"seq\":01,", "leading zero", "seq 01");
	rejects("{\"seq\":1,", "{\"seq\":,", "not a number", "empty seq");
	rejects("{\"seq\":1,", "{\"seq\":-1,", "not a number", "seq -1");
	rejects("{\"seq\":1,", "{\"seq\":0,", "zero", "seq 0");
	rejects("{\"seq\":1,", "{\"seq\":18446744073709551616,", "overflow",
	    "seq 2^64");
	rejects("{\"seq\":1,", "{\"seq\":99999999999999999999,", "overflow",
	    "seq 20 nines");
	rejects("{\"seq\":1,", "{\"seq\":1 ,", "\"time\"", "seq then space");
	rejects("{\"seq\":1,", "{\"Seq\":1,", "does not start", "key Seq");
	rejects("{\"seq\":1,", " {\"seq\":1,", "does not start",
	    "leading space");
	rejects("\"id\":7,", "\"id\":07,", "leading zero", "id 07");
	rejects("\"id\":7,", "\"id\":18446744073709551616,", "overflow",
	    "id 2^64");
	rejects("\"id\":7,", "\"id\":x,", "not a number", "id x");
	rejects("2023-11-14T", "2023-13-14T", "time", "month 13");
	rejects("2023-11-14T", "2023-11-31T", "time", "November 31");
	rejects("2023-11-14T", "2023-02-29T", "time", "February 29, 2023");
	rejects("T22:13:20", "T24:13:20", "time", "hour 24");
	rejects("T22:13:20", "t22:13:20", "time", "lower-case t");
	rejects("T22:13:20", "T22:60:20", "time", "minute 60");
	rejects(".123456789Z", ".12345678Z\"", "time", "8-digit fraction");
	rejects(".123456789Z", ".123456789+", "time", "offset for Z");
	rejects("\"2023", "\"20x3", "time", "letter in the year");
	rejects("\"sandbox\":\"sb-1\"", "\"sandbox\":\"sb 1\"", "sandbox",
	    "sandbox with a space");
	rejects("\"sandbox\":\"sb-1\"", "\"sandbox\":\"sb\\u00201\"",
	    "sandbox", "sandbox with an escape");
	rejects("\"sandbox\":\"sb-1\"", "\"sandbox\":\"0123456789012345678901"
	    "2345678901234567890123456789012345678901234\"", "too long",
	    "sandbox of 65");
	rejects("\"source\":\"lensnetd\"", "\"source\":\"\"", "empty",
	    "empty source");
	rejects("\"source\":\"lensnetd\"", "\"source\":\"LENSNETD\"",
	    "bad character", "upper-case source");
	rejects("\"source\":\"lensnetd\"", "\"source\":\"abcdefghijklmnopqrst"
	    "uvwxyz012345\"", "too long", "source of 32");
	rejects("\"type\":\"net.allow\"", "\"type\":\"\"", "empty",
	    "empty type");
	rejects("\"type\":\"net.allow\"", "\"type\":\"net allow\"",
	    "bad character", "type with a space");
	rejects("\"type\":\"net.allow\"", "\"type\":\"a1234567890123456789012"
	    "345678901234567890123456789012345678901234\"", "too long",
	    "type of 64");
	rejects("\"details\":{", "\"details\":[", "object", "details [");
	rejects("\"example.com\"}", "\"example.com\"]", "object",
	    "details ending in ]");
	rejects("example.com", "example\tcom", "control", "tab in details");
	rejects("example.com", "example\xff" "com", "non-ASCII",
	    "byte 0xff in details");
	rejects("\"details\":{\"host\":\"example.com\"}", "\"details\":",
	    "object", "empty details");
	rejects("\"prev\":\"0", "\"prev\":\"A", "prev", "upper-case prev");
	rejects("\"prev\":\"0", "\"prev\":\"g", "prev", "prev with g");
	rejects("\"hash\":\"e", "\"hash\":\"E", "hash", "upper-case hash");
	rejects("\"hash\":\"e", "\"hash\":\"g", "hash", "hash with g");
	/* the tail is found by its place: other lengths fail elsewhere too */
	rejects("\"prev\":\"0", "\"prev\":\"", "", "prev of 63");
	rejects("\"hash\":\"e", "\"hash\":\"", "", "hash of 63");
	rejects("\"hash\":\"e", "\"hash\":\"ee", "", "hash of 65");
	rejects("\"hash\":\"", "\"hash\" :\"", "", "space in the tail");
	rejects("\"prev\":", "\"prevv\":", "", "prev key misspelt");
	rejects("\"prev\":", "\"Prev\":", "prev", "prev key in upper case");
	rejects(",\"hash\":", ";\"hash\":", "hash", "; for , in the tail");
	memcpy(line, base, baselen);
	line[baselen - 1] = ' ';
	line[baselen] = '}';
	ok(chain_parse(line, baselen + 1, &r, &why) == -1,
	    "parse rejects a space before the last }");
	line[baselen - 1] = '}';
	line[baselen] = '}';
	ok(chain_parse(line, baselen + 1, &r, &why) == -1,
	    "parse rejects }} at the end");

	ok(chain_parse(base, baselen - 1, &r, &why) == -1,
	    "parse rejects a line without its last }");
	ok(chain_parse(base, baselen + 1, &r, &why) == -1,
	    "parse rejects a line with its newline");
	for (i = 0; i < baselen; i++)
		if (chain_parse(base, i, &r, &why) == 0)
			break;
	ok(i == baselen, "parse rejects every prefix of a line");
	ok(chain_parse("{\"seq\":1}", 9, &r, &why) == -1 &&
	    strcmp(why, "line too short") == 0, "parse rejects a short line");
	ok(chain_parse(base + 149, baselen - 149, &r, &why) == -1,
	    "parse rejects the tail alone");
	memset(line, 'x', sizeof(line));
	ok(chain_parse(line, CHAIN_MAXLINE, &r, &why) == -1 &&
	    strcmp(why, "line too long") == 0, "parse rejects a long line");
}

static void
test_hash_keys(void)
{
	uint8_t		 zero[CHAIN_HASHLEN] = { 0 }, h[CHAIN_HASHLEN];
	uint8_t		 seed[32], pk[32], sk[64], sk2[64], pk2[32];
	char		 hex[200], keyid[CHAIN_KEYIDLEN + 1], text[256];

	chain_hash(zero, "abc", 3, h);
	chain_tohex(h, sizeof(h), hex);
	ok(strcmp(hex, KAT_ABC) == 0, "chain_hash(zeros, \"abc\") matches b2sum");

	ok(chain_fromhex(RFC_PK, 64, pk) == 0, "fromhex of a public key");
	chain_tohex(pk, 32, hex);
	ok(strcmp(hex, RFC_PK) == 0, "tohex(fromhex(x)) == x");
	ok(chain_fromhex("0g", 2, h) == -1 && chain_fromhex("0A", 2, h) == -1 &&
	    chain_fromhex("000", 3, h) == -1, "fromhex rejects g, A, odd length");
	chain_keyid(pk, keyid);
	ok(strcmp(keyid, KAT_KEYID) == 0, "key id of the RFC 8032 key");

	snprintf(text, sizeof(text), "ed25519 %s\n", RFC_PK);
	ok(chain_pubkey_parse(text, strlen(text), pk2) == 0 &&
	    memcmp(pk, pk2, 32) == 0, "public key file parses");
	ok(chain_pubkey_parse(text, strlen(text) - 2, pk2) == -1,
	    "public key: short hex rejected");
	text[0] = 'E';
	ok(chain_pubkey_parse(text, strlen(text), pk2) == -1,
	    "public key: wrong label rejected");

	chain_fromhex(RFC_SEED, 64, seed);
	crypto_sign_seed_keypair(pk2, sk, seed);
	chain_tohex(sk, 64, hex);
	snprintf(text, sizeof(text), "ed25519-secret %s\n", hex);
	ok(chain_seckey_parse(text, strlen(text), sk2) == 0 &&
	    memcmp(sk, sk2, 64) == 0, "secret key file parses");
	text[15 + 127] = text[15 + 127] == '0' ? '1' : '0';
	ok(chain_seckey_parse(text, strlen(text), sk2) == -1,
	    "secret key whose public half does not match is rejected");
	ok(chain_seckey_parse("ed25519-secret 00", 17, sk2) == -1,
	    "short secret key rejected");

	ok(chain_name_ok("", CHAIN_SANDBOX) && !chain_name_ok("", CHAIN_SOURCE)
	    && !chain_name_ok("", CHAIN_TYPE) && chain_name_ok("A.b_c-1",
	    CHAIN_SANDBOX) && !chain_name_ok("A", CHAIN_SOURCE) &&
	    !chain_name_ok("a.b", CHAIN_SOURCE) && chain_name_ok("a.b",
	    CHAIN_TYPE) && !chain_name_ok(NULL, CHAIN_TYPE),
	    "name charsets");
}

static void
test_ckpt(void)
{
	struct chain_fields f;
	struct chain_rec r;
	struct chain_ckpt c;
	struct chain_head h;
	uint8_t		 seed[32], pk[32], sk[64], pk2[32], sk2[64];
	uint8_t		 head[CHAIN_HASHLEN], msg[CHAIN_CKPT_MSGLEN];
	uint8_t		 hash[CHAIN_HASHLEN];
	char		 d[1024], want[1024], line[2048], hexh[65], *dump;
	const char	*why;
	json_t		*j;
	int		 n;

	chain_fromhex(RFC_SEED, 64, seed);
	crypto_sign_seed_keypair(pk, sk, seed);
	memset(head, 0x11, sizeof(head));
	chain_ckpt_msg(5, head, msg);
	ok(memcmp(msg, "lens-audit-ckpt1", 16) == 0 && msg[16] == 0 &&
	    msg[23] == 5 && msg[24] == 0x11 && msg[55] == 0x11,
	    "checkpoint message layout");

	n = chain_ckpt_details(d, sizeof(d), 5, head, sk, "{}");
	chain_tohex(head, 32, hexh);
	snprintf(want, sizeof(want), "{\"head\":\"%s\",\"head_seq\":5,"
	    "\"key\":\"%s\",\"sig\":\"%s\",\"sources\":{}}", hexh, KAT_KEYID,
	    KAT_SIG);
	ok(n > 0 && strcmp(d, want) == 0,
	    "checkpoint details: exact bytes, signature matches OpenSSL");
	n = chain_ckpt_details(d, sizeof(d), 5, head, sk,
	    "{\"lensnetd\":9223372036854775807,\"lensvmm\":3}");
	j = json_loads(d, 0, NULL);
	dump = j == NULL ? NULL : json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS |
	    JSON_ENSURE_ASCII);
	ok(n > 0 && dump != NULL && strcmp(dump, d) == 0,
	    "checkpoint details are what jansson's canonical dump gives");
	free(dump);
	json_decref(j);

	ok(chain_ckpt_details(d, sizeof(d), 5, head, sk,
	    "{\"a\":18446744073709551615}") > 0,
	    "sources: ids up to 2^64-1 (beyond jansson)");
	ok(chain_ckpt_details(d, sizeof(d), 5, head, sk,
	    "{\"a\":18446744073709551616}") == -1, "sources: id overflow");
	ok(chain_ckpt_details(d, sizeof(d), 5, head, sk, "{\"b\":1,\"a\":2}")
	    == -1 && errno == EINVAL, "sources: unsorted keys rejected");
	ok(chain_ckpt_details(d, sizeof(d), 5, head, sk, "{\"a\":01}") == -1,
	    "sources: leading zero rejected");
	ok(chain_ckpt_details(d, sizeof(d), 5, head, sk, "{\"A\":1}") == -1,
	    "sources: bad source name rejected");
	ok(chain_ckpt_details(d, sizeof(d), 5, head, sk, "{\"a\":1,}") == -1 &&
	    chain_ckpt_details(d, sizeof(d), 5, head, sk, "[]") == -1 &&
	    chain_ckpt_details(d, sizeof(d), 5, head, sk, "{\"a\":1 }") == -1,
	    "sources: trailing comma, array, space rejected");
	ok(chain_ckpt_details(d, 100, 5, head, sk, "{}") == -1 &&
	    errno == ENOSPC, "checkpoint details: ENOSPC");

	/* a checkpoint record as lensauditd writes it */
	n = chain_ckpt_details(d, sizeof(d), 5, head, sk, "{\"lensnetd\":4}");
	memset(&f, 0, sizeof(f));
	f.seq = 6;
	f.sandbox = "";
	f.source = CHAIN_SELF_SOURCE;
	f.type = CHAIN_CKPT_TYPE;
	f.details = d;
	f.detailslen = (size_t)n;
	n = chain_format(line, sizeof(line), &f, head, hash);
	ok(n > 0 && chain_parse(line, (size_t)n - 1, &r, &why) == 0 &&
	    chain_is_ckpt(&r) && chain_ckpt_parse(&r, &c, &why) == 0,
	    "checkpoint record parses");
	ok(c.head_seq == 5 && memcmp(c.head, head, 32) == 0 &&
	    strcmp(c.keyid, KAT_KEYID) == 0, "checkpoint fields");
	ok(chain_ckpt_verify(&c, pk) == 0, "checkpoint signature verifies");
	c.sig[10] ^= 1;
	ok(chain_ckpt_verify(&c, pk) == -1, "changed signature fails");
	c.sig[10] ^= 1;
	c.head_seq = 4;
	ok(chain_ckpt_verify(&c, pk) == -1, "changed head_seq fails");
	c.head_seq = 5;
	crypto_sign_keypair(pk2, sk2);
	ok(chain_ckpt_verify(&c, pk2) == -1, "another key fails");

	r.id = 1;
	ok(chain_ckpt_parse(&r, &c, &why) == -1, "checkpoint with an id rejected");
	r.id = 0;
	strlcpy(r.sandbox, "x", sizeof(r.sandbox));
	ok(chain_ckpt_parse(&r, &c, &why) == -1,
	    "checkpoint with a sandbox rejected");
	r.sandbox[0] = '\0';
	strlcpy(r.type, "audit.other", sizeof(r.type));
	ok(!chain_is_ckpt(&r) && chain_ckpt_parse(&r, &c, &why) == -1,
	    "other type is not a checkpoint");
	strlcpy(r.type, CHAIN_CKPT_TYPE, sizeof(r.type));
	strlcpy(r.source, "lensnetd", sizeof(r.source));
	ok(!chain_is_ckpt(&r), "checkpoint type from another source is not one");
	strlcpy(r.source, CHAIN_SELF_SOURCE, sizeof(r.source));
	r.details = "{\"head\":\"x\"}";
	r.detailslen = strlen(r.details);
	ok(chain_ckpt_parse(&r, &c, &why) == -1, "bad checkpoint details");
	n = chain_ckpt_details(d, sizeof(d), 5, head, sk, "{}");
	d[n - 3] = ' ';		/* {"sources":{ } */
	r.details = d;
	r.detailslen = (size_t)n;
	ok(chain_ckpt_parse(&r, &c, &why) == -1,
	    "checkpoint details with a space rejected");

	/* head file */
	n = chain_ckpt_details(d, sizeof(d), 5, head, sk, "{}");
	r.details = d;
	r.detailslen = (size_t)n;
	chain_ckpt_parse(&r, &c, &why);
	n = chain_head_format(line, sizeof(line), "lens-audit.000002.log", &c);
	ok(n > 0 && line[n - 1] == '\n' &&
	    chain_head_parse(line, (size_t)n, &h, &why) == 0 &&
	    strcmp(h.file, "lens-audit.000002.log") == 0 &&
	    h.ckpt.head_seq == 5 && memcmp(h.ckpt.head, c.head, 32) == 0 &&
	    strcmp(h.ckpt.keyid, c.keyid) == 0 &&
	    memcmp(h.ckpt.sig, c.sig, 64) == 0,
	    "head file round trip");
	snprintf(want, sizeof(want), "{\"file\":\"lens-audit.000002.log\","
	    "\"head\":\"%s\",\"head_seq\":5,\"key\":\"%s\",\"sig\":\"%s\"}\n",
	    hexh, KAT_KEYID, KAT_SIG);
	ok(strcmp(line, want) == 0, "head file: exact bytes");
	ok(chain_head_format(line, sizeof(line), "x.log", &c) == -1,
	    "head file: bad file name rejected");
	ok(chain_head_parse(want, strlen(want) - 2, &h, &why) == -1,
	    "head file: missing } rejected");
	want[strlen(want) - 1] = ' ';
	ok(chain_head_parse(want, strlen(want), &h, &why) == -1,
	    "head file: trailing space rejected");
}

static void
test_names(void)
{
	uint64_t	 num;
	char		 buf[CHAIN_LOGNAMEMAX + 1];

	ok(chain_logname_num("lens-audit.000001.log", &num) == 0 && num == 1,
	    "log name 000001");
	ok(chain_logname_num("lens-audit.1234567.log", &num) == 0 &&
	    num == 1234567, "log name with 7 digits");
	ok(chain_logname_num("lens-audit.00001.log", &num) == -1 &&
	    chain_logname_num("lens-audit.0000001.log", &num) == -1 &&
	    chain_logname_num("lens-audit.000000.log", &num) == -1 &&
	    chain_logname_num("lens-audit.00000a.log", &num) == -1 &&
	    chain_logname_num("lens-audit.000001.log.gz", &num) == -1 &&
	    chain_logname_num("lens-audit.head", &num) == -1,
	    "bad log names rejected");
	ok(chain_logname(buf, sizeof(buf), 42) > 0 &&
	    strcmp(buf, "lens-audit.000042.log") == 0, "log name of 42");
}

static void
test_time(void)
{
	static const struct {
		time_t		 sec;
		long		 nsec;
		const char	*s;
	} fmt[] = {
		{ 0, 0, "1970-01-01T00:00:00.000000000Z" },
		{ 1700000000, 123456789, "2023-11-14T22:13:20.123456789Z" },
		{ 1709164800, 1, "2024-02-29T00:00:00.000000001Z" },
		{ -1, 999999999, "1969-12-31T23:59:59.999999999Z" },
		{ 951782400, 0, "2000-02-29T00:00:00.000000000Z" },
		{ 253402300799LL, 999999999, "9999-12-31T23:59:59.999999999Z" },
		{ -62167219200LL, 0, "0000-01-01T00:00:00.000000000Z" },
	};
	static const struct {
		const char	*s;
		time_t		 sec;
		long		 nsec;
	} parse[] = {
		{ "2023-11-14T22:13:20Z", 1700000000, 0 },
		{ "2023-11-14T22:13:20.5Z", 1700000000, 500000000 },
		{ "2023-11-14T23:13:20.5+01:00", 1700000000, 500000000 },
		{ "2023-11-14T17:43:20-04:30", 1700000000, 0 },
		{ "2023-11-14t22:13:20z", 1700000000, 0 },
		{ "2023-11-14 22:13:20Z", 1700000000, 0 },
		{ "2023-11-14T22:13:20.1234567891234Z", 1700000000, 123456789 },
		{ "2023-11-14", 1699920000, 0 },
		{ "2023-11-14T22:13:20-00:00", 1700000000, 0 },
	};
	static const char *const badparse[] = {
		"", "2023", "2023-11-14T22:13:20", "2023-11-14T22:13Z",
		"2023-11-14T22:13:20.Z", "2023-11-14T22:13:20+0100",
		"2023-11-14T22:13:20+24:00", "2023-02-29", "2023-11-14T25:00:00Z",
		"2023-11-14T22:13:20Zjunk", "2023-11-14x", "yesterday",
		"2023-11-14T22:13:20 Z", "+2023-11-14",
	};
	struct timespec	 ts;
	char		 out[CHAIN_TIMELEN + 1];
	size_t		 i;

	for (i = 0; i < sizeof(fmt) / sizeof(fmt[0]); i++) {
		ts.tv_sec = fmt[i].sec;
		ts.tv_nsec = fmt[i].nsec;
		chain_timefmt(&ts, out);
		ok(strcmp(out, fmt[i].s) == 0, "timefmt %s (%s)", fmt[i].s, out);
		ok(chain_timeparse(out, &ts) == 0 && ts.tv_sec == fmt[i].sec &&
		    ts.tv_nsec == fmt[i].nsec, "timeparse %s", fmt[i].s);
	}
	ts.tv_sec = 253402300800LL;
	ts.tv_nsec = 0;
	chain_timefmt(&ts, out);
	ok(strcmp(out, "9999-12-31T23:59:59.999999999Z") == 0,
	    "timefmt clamps past year 9999");
	for (i = 0; i < sizeof(parse) / sizeof(parse[0]); i++)
		ok(chain_timeparse(parse[i].s, &ts) == 0 &&
		    ts.tv_sec == parse[i].sec && ts.tv_nsec == parse[i].nsec,
		    "timeparse %s", parse[i].s);
	for (i = 0; i < sizeof(badparse) / sizeof(badparse[0]); i++)
		ok(chain_timeparse(badparse[i], &ts) == -1,
		    "timeparse rejects \"%s\"", badparse[i]);
}

static void
test_details(void)
{
	const char	*why, *good = "{\"a\":1,\"b\":[true,null,\"x\"]}";
	const char	*esc = "{\"a\":\"\\u00E9\"}";
	const char	*lesc = "{\"a\":\"\\u00e9\"}";

	ok(chain_details_canonical(good, strlen(good), &why) == 0,
	    "canonical details accepted");
	ok(chain_details_canonical("{\"b\":1,\"a\":2}", 13, &why) == -1,
	    "unsorted keys rejected");
	ok(chain_details_canonical("{\"a\": 1}", 8, &why) == -1,
	    "space rejected");
	ok(chain_details_canonical("{\"a\":1,\"a\":2}", 13, &why) == -1,
	    "duplicate keys rejected");
	ok(chain_details_canonical("{\"a\":}", 6, &why) == -1,
	    "invalid JSON rejected");
	ok(chain_details_canonical(esc, strlen(esc), &why) == 0,
	    "escaped non-ASCII accepted");
	ok(chain_details_canonical(lesc, strlen(lesc), &why) == -1,
	    "lower-case \\u escape is not jansson's: rejected");
}

/*
 * mkchain's checkpoints: with this log id (NULL: legacy), legacy up to
 * seq mk_legacy_until; their head lines appended to mk_witness
 */
static const uint8_t	*mk_logid;
static uint64_t		 mk_legacy_until;
static uint64_t		 mk_logid_until;	/* legacy after it; 0 none */
static char		 mk_witness[64 * 1024];
static size_t		 mk_witlen;

/* a chain of n records in buf; returns its length */
static size_t
mkchain(char *buf, size_t bufsz, uint64_t n, const uint8_t sk[64],
    uint64_t ckevery)
{
	struct chain_fields f;
	struct chain_ckpt c;
	uint8_t		 prev[CHAIN_HASHLEN] = { 0 }, hash[CHAIN_HASHLEN];
	char		 d[1024];
	size_t		 len = 0;
	uint64_t	 seq;
	int		 k;

	mk_witlen = 0;
	for (seq = 1; seq <= n; seq++) {
		fields_init(&f);
		f.seq = seq;
		f.time.tv_sec += (time_t)seq;
		if (ckevery != 0 && seq % ckevery == 0) {
			k = chain_ckpt_details_log(d, sizeof(d), seq - 1, prev,
			    seq <= mk_legacy_until || (mk_logid_until != 0 &&
			    seq > mk_logid_until) ? NULL : mk_logid, sk, "{}",
			    &c);
			if (k > 0 && mk_witlen + 512 < sizeof(mk_witness))
				mk_witlen += (size_t)chain_head_format(
				    mk_witness + mk_witlen,
				    sizeof(mk_witness) - mk_witlen,
				    "lens-audit.000001.log", &c);
			f.sandbox = "";
			f.source = CHAIN_SELF_SOURCE;
			f.type = CHAIN_CKPT_TYPE;
			f.id = 0;
			f.details = d;
			f.detailslen = (size_t)k;
		}
		k = chain_format(buf + len, bufsz - len, &f, prev, hash);
		if (k < 0)
			abort();
		len += (size_t)k;
		memcpy(prev, hash, sizeof(hash));
	}
	return len;
}

/* verify buf, split into files of nper lines; the result */
static int
verify(const char *buf, size_t len, const uint8_t pk[32], int flags,
    struct chain_vresult *res)
{
	struct chain_verifier *v;
	int		 rc;

	if ((v = chain_verify_new(pk, 1, flags)) == NULL)
		abort();
	(void)chain_verify_buf(v, "log", buf, len);
	rc = chain_verify_end(v, res);
	chain_verify_free(v);
	return rc;
}

/* the offset of line n (1-based) */
static size_t
line_off(const char *buf, uint64_t n)
{
	const char	*p = buf;

	while (--n > 0)
		p = strchr(p, '\n') + 1;
	return (size_t)(p - buf);
}

static void
test_verify(void)
{
	struct chain_vresult res, res2;
	uint8_t		 pk[32], sk[64];
	char		*buf, *b2;
	size_t		 len, o, o2, o3;
	const size_t	 bufsz = 5000 * 700;

	crypto_sign_keypair(pk, sk);
	if ((buf = malloc(bufsz)) == NULL || (b2 = malloc(bufsz)) == NULL)
		abort();
	len = mkchain(buf, bufsz, 4000, sk, 100);
	ok(verify(buf, len, pk, 0, &res) == 0 && res.records == 4000 &&
	    res.checkpoints == 40 && res.last_signed_seq == 3999 &&
	    res.unsigned_tail == 0, "buffer API: intact chain of 4000");
	ok(verify(buf, len, pk, CHAIN_VSERIAL | CHAIN_VSTRICT, &res) == 0,
	    "serial and strict: intact");

	/* edited deep in a batch: same answer with and without threads */
	memcpy(b2, buf, len);
	o = line_off(b2, 3001);
	b2[strstr(b2 + o, "example") - b2 + 1] ^= 1;	/* x to y */
	ok(verify(b2, len, pk, 0, &res) == -1 && res.err == CHAIN_VEDITED &&
	    res.line == 3001 && res.seq == 3001, "edited at 3001 (threads)");
	ok(verify(b2, len, pk, CHAIN_VSERIAL, &res2) == -1 &&
	    res.err == res2.err && res.line == res2.line &&
	    res.seq == res2.seq && strcmp(res.reason, res2.reason) == 0 &&
	    res.records == res2.records, "the same result serially");

	/* deleted: drop line 2500 */
	o = line_off(buf, 2500);
	o2 = line_off(buf, 2501);
	memcpy(b2, buf, o);
	memcpy(b2 + o, buf + o2, len - o2);
	ok(verify(b2, len - (o2 - o), pk, 0, &res) == -1 &&
	    res.err == CHAIN_VDELETED && res.line == 2500 && res.seq == 2501,
	    "deleted 2500");

	/* reordered: swap 10 and 11 */
	o = line_off(buf, 10);
	o2 = line_off(buf, 11);
	o3 = line_off(buf, 12);
	memcpy(b2, buf, len);
	memcpy(b2 + o, buf + o2, o3 - o2);
	memcpy(b2 + o + (o3 - o2), buf + o, o2 - o);
	ok(verify(b2, len, pk, 0, &res) == -1 &&
	    res.err == CHAIN_VREORDERED && res.line == 10 && res.seq == 11,
	    "swapped 10 and 11: reordered");

	/* torn */
	ok(verify(buf, len - 1, pk, 0, &res) == -1 &&
	    res.err == CHAIN_VTRUNCATED && res.line == 4000,
	    "no final newline: truncated");

	/* a chain that does not start at 1 */
	o = line_off(buf, 101);
	ok(verify(buf + o, len - o, pk, 0, &res) == -1 &&
	    res.err == CHAIN_VDELETED && res.seq == 101,
	    "starting at 101 without first_seq: deleted");

	/* the head file */
	{
		struct chain_verifier *v;
		struct chain_rec r;
		struct chain_ckpt c;
		const char	*why;
		char		 head[512];
		int		 n;

		o = line_off(buf, 4000);
		chain_parse(buf + o, len - o - 1, &r, &why);
		chain_ckpt_parse(&r, &c, &why);
		n = chain_head_format(head, sizeof(head),
		    "lens-audit.000001.log", &c);
		v = chain_verify_new(pk, 1, 0);
		ok(chain_verify_head(v, "lens-audit.head", head, (size_t)n) ==
		    0, "head file accepted");
		chain_verify_buf(v, "lens-audit.000001.log", buf, o);
		ok(chain_verify_end(v, &res) == -1 &&
		    res.err == CHAIN_VTRUNCATED && res.seq == 3999,
		    "log without the head's checkpoint: truncated");
		chain_verify_free(v);
	}
	free(buf);
	free(b2);
}

static void
test_logid(void)
{
	struct chain_rec r;
	struct chain_ckpt c;
	struct chain_head h;
	struct chain_fields f;
	struct chain_verifier *v;
	struct chain_vresult res;
	uint8_t		 seed[32], pk[32], sk[64], head[CHAIN_HASHLEN];
	uint8_t		 id[CHAIN_LOGIDLEN], id2[CHAIN_LOGIDLEN];
	uint8_t		 msg[CHAIN_CKPT_MSGMAX], hash[CHAIN_HASHLEN];
	char		 d[1024], line[2048], idhex[CHAIN_LOGIDHEXLEN + 1];
	char		*buf, *dump, wit[64 * 1024];
	const char	*why, *p;
	json_t		*j;
	size_t		 len, o, wl;
	int		 n;

	chain_fromhex(RFC_SEED, 64, seed);
	crypto_sign_seed_keypair(pk, sk, seed);
	memset(head, 0x11, sizeof(head));
	memset(id, 0xab, sizeof(id));
	memset(id2, 0xcd, sizeof(id2));
	chain_tohex(id, sizeof(id), idhex);

	memset(&c, 0, sizeof(c));
	c.head_seq = 5;
	memcpy(c.head, head, sizeof(head));
	ok(chain_ckpt_msg_of(&c, msg) == CHAIN_CKPT_MSGLEN &&
	    memcmp(msg, "lens-audit-ckpt1", 16) == 0,
	    "legacy checkpoint message: 56 bytes, ckpt1");
	c.haslog = 1;
	memcpy(c.logid, id, sizeof(id));
	ok(chain_ckpt_msg_of(&c, msg) == CHAIN_CKPT_MSGLOG &&
	    memcmp(msg, "lens-audit-ckpt2", 16) == 0 && msg[16] == 0xab &&
	    msg[31] == 0xab && msg[32] == 0 && msg[39] == 5 &&
	    msg[40] == 0x11 && msg[71] == 0x11,
	    "checkpoint message with a log id: ckpt2, log id, seq, head");

	n = chain_ckpt_details_log(d, sizeof(d), 5, head, id, sk, "{}", &c);
	j = json_loads(d, 0, NULL);
	dump = j == NULL ? NULL : json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS |
	    JSON_ENSURE_ASCII);
	ok(n > 0 && dump != NULL && strcmp(dump, d) == 0 &&
	    strstr(d, idhex) != NULL && c.haslog,
	    "details with a log id: canonical, the log id in them");
	free(dump);
	json_decref(j);
	fields_init(&f);
	f.seq = 6;
	f.sandbox = "";
	f.source = CHAIN_SELF_SOURCE;
	f.id = 0;
	f.type = CHAIN_CKPT_TYPE;
	f.details = d;
	f.detailslen = (size_t)n;
	n = chain_format(line, sizeof(line), &f, head, hash);
	ok(n > 0 && chain_parse(line, (size_t)n - 1, &r, &why) == 0 &&
	    chain_ckpt_parse(&r, &c, &why) == 0 && c.haslog &&
	    memcmp(c.logid, id, sizeof(id)) == 0 &&
	    chain_ckpt_verify(&c, pk) == 0,
	    "checkpoint with a log id parses and verifies");
	c.logid[3] ^= 1;
	ok(chain_ckpt_verify(&c, pk) == -1, "another log id: signature fails");
	c.logid[3] ^= 1;
	c.haslog = 0;
	ok(chain_ckpt_verify(&c, pk) == -1,
	    "the same signature as a legacy checkpoint fails");
	c.haslog = 1;
	n = chain_head_format(line, sizeof(line), "lens-audit.000001.log", &c);
	ok(n > 0 && chain_head_parse(line, (size_t)n, &h, &why) == 0 &&
	    h.ckpt.haslog && memcmp(h.ckpt.logid, id, sizeof(id)) == 0 &&
	    strstr(line, ",\"log\":\"") != NULL &&
	    strstr(line, "\"key\":\"") < strstr(line, "\"log\":\"") &&
	    strstr(line, "\"log\":\"") < strstr(line, "\"sig\":\""),
	    "head line with a log id: round trip, key < log < sig");
	p = strstr(line, idhex);
	line[p - line + 31] = '"';	/* 31 hex digits */
	ok(chain_head_parse(line, (size_t)n, &h, &why) == -1,
	    "head line with a short log id rejected");

	ok(chain_type_reserved("audit.checkpoint") &&
	    chain_type_reserved("audit.x") && !chain_type_reserved("audit") &&
	    !chain_type_reserved("auditx.y") &&
	    !chain_type_reserved("net.audit.x"), "audit.* types are reserved");
	ok(chain_logid_parse(idhex, 32, id2) == 0 &&
	    memcmp(id, id2, sizeof(id)) == 0 &&
	    chain_logid_parse("ABABABABABABABABABABABABABABABAB", 32, id2) ==
	    -1 && chain_logid_parse(idhex, 31, id2) == -1,
	    "log id file: 32 lower-case hex digits");

	/* the verifier */
	memset(id2, 0xcd, sizeof(id2));
	if ((buf = malloc(1 << 20)) == NULL)
		abort();
	mk_logid = id;
	mk_legacy_until = 0;
	len = mkchain(buf, 1 << 20, 100, sk, 10);
	memcpy(wit, mk_witness, mk_witlen);
	wl = mk_witlen;
	ok(verify(buf, len, pk, 0, &res) == 0 && res.haslogid &&
	    memcmp(res.logid, id, sizeof(id)) == 0 && res.last_ckpt_haslog &&
	    res.legacy_ckpts == 0, "chain with log ids verifies, log id known");
	v = chain_verify_new(pk, 1, 0);
	chain_verify_logid(v, "audit.logid", id2);
	(void)chain_verify_buf(v, "log", buf, len);
	ok(chain_verify_end(v, &res) == -1 && res.err == CHAIN_VLOGID &&
	    res.seq == 10, "a checkpoint of another log id: log id mismatch");
	chain_verify_free(v);
	v = chain_verify_new(pk, 1, 0);
	chain_verify_witness(v, "w", wit, wl);
	(void)chain_verify_buf(v, "log", buf, len);
	ok(chain_verify_end(v, &res) == 0 && res.witnessed == 10 &&
	    res.witness_seq == 99, "witness: every checkpoint found");
	chain_verify_free(v);
	o = line_off(buf, 90);
	v = chain_verify_new(pk, 1, 0);
	chain_verify_witness(v, "w", wit, wl);
	(void)chain_verify_buf(v, "log", buf, o);
	ok(chain_verify_end(v, &res) == -1 && res.err == CHAIN_VTRUNCATED &&
	    res.seq == 89, "log cut behind the witness: truncated");
	chain_verify_free(v);
	o = line_off(wit, 2);
	memcpy(line, wit, o);		/* first line */
	memmove(wit, wit + o, wl - o);	/* lines 2.., then line 1 */
	memcpy(wit + wl - o, line, o);
	v = chain_verify_new(pk, 1, 0);
	chain_verify_witness(v, "w", wit, wl);
	(void)chain_verify_buf(v, "log", buf, len);
	ok(chain_verify_end(v, &res) == -1 && res.err == CHAIN_VWITNESS,
	    "witness out of order: refused");
	chain_verify_free(v);

	/* legacy checkpoints: before the first with a log id only */
	mk_legacy_until = 50;
	len = mkchain(buf, 1 << 20, 100, sk, 10);
	ok(verify(buf, len, pk, 0, &res) == 0 && res.legacy_ckpts == 5 &&
	    res.last_ckpt_haslog, "legacy checkpoints, then log ids: intact");
	mk_logid = NULL;
	len = mkchain(buf, 1 << 20, 100, sk, 10);
	ok(verify(buf, len, pk, 0, &res) == 0 && res.legacy_ckpts == 10 &&
	    !res.last_ckpt_haslog && !res.haslogid,
	    "legacy chain: intact, no log id (verify's strictness decides)");
	mk_logid = id;
	mk_legacy_until = 0;
	mk_logid_until = 40;
	len = mkchain(buf, 1 << 20, 100, sk, 10);
	ok(verify(buf, len, pk, 0, &res) == -1 && res.err == CHAIN_VLOGID &&
	    res.seq == 50, "a legacy checkpoint after ones with a log id: "
	    "log id mismatch");
	mk_logid_until = 0;
	mk_logid = NULL;
	mk_legacy_until = 0;
	free(buf);
}

int
main(void)
{
	if (sodium_init() == -1) {
		printf("Bail out! sodium_init\n");
		return 1;
	}
	tap_plan(186 + 18);
	test_format_parse();
	test_format_rejects();
	test_parse_rejects();
	test_hash_keys();
	test_ckpt();
	test_names();
	test_time();
	test_details();
	test_verify();
	test_logid();
	return tap_done();
}
