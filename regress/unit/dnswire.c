/*
 * Unit test of lensnetd/dnswire.c (TAP): crafted queries and answers,
 * hostile ones first (compression loops, pointers forward, backward
 * and out of range, labels of 64, names of 256, counts that lie,
 * truncated records), then the filter (rebinding, CNAME to a denied
 * name) and the builders.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnswire.h"
#include "lensnetd.h"
#include "tap.h"


/* a packet under construction */
struct pkt {
	uint8_t	b[70000];
	size_t	n;
};

static void
u8(struct pkt *p, unsigned v)
{
	p->b[p->n++] = v;
}

static void
u16(struct pkt *p, unsigned v)
{
	u8(p, v >> 8);
	u8(p, v & 0xff);
}

static void
u32(struct pkt *p, uint32_t v)
{
	u16(p, v >> 16);
	u16(p, v & 0xffff);
}

static void
hdr(struct pkt *p, unsigned id, unsigned flags, unsigned qd, unsigned an,
    unsigned ns, unsigned ar)
{
	p->n = 0;
	u16(p, id);
	u16(p, flags);
	u16(p, qd);
	u16(p, an);
	u16(p, ns);
	u16(p, ar);
}

/* an uncompressed name from "a.b.c" */
static void
name(struct pkt *p, const char *s)
{
	const char	*dot;
	size_t		 l;

	while (*s != '\0') {
		dot = strchr(s, '.');
		l = dot ? (size_t)(dot - s) : strlen(s);
		u8(p, l);
		memcpy(p->b + p->n, s, l);
		p->n += l;
		s += l + (dot ? 1 : 0);
	}
	u8(p, 0);
}

static void
question(struct pkt *p, const char *n, unsigned type)
{
	name(p, n);
	u16(p, type);
	u16(p, DNS_C_IN);
}

static void
rr_a(struct pkt *p, const char *owner, const char *addr, uint32_t ttl)
{
	struct in_addr	a;

	if (owner == NULL) {
		u16(p, 0xc00c);
	} else
		name(p, owner);
	u16(p, DNS_T_A);
	u16(p, DNS_C_IN);
	u32(p, ttl);
	u16(p, 4);
	inet_pton(AF_INET, addr, &a);
	memcpy(p->b + p->n, &a, 4);
	p->n += 4;
}

static void
rr_aaaa(struct pkt *p, const char *addr, uint32_t ttl)
{
	struct in6_addr	a;

	u16(p, 0xc00c);
	u16(p, DNS_T_AAAA);
	u16(p, DNS_C_IN);
	u32(p, ttl);
	u16(p, 16);
	inet_pton(AF_INET6, addr, &a);
	memcpy(p->b + p->n, &a, 16);
	p->n += 16;
}

static void
rr_cname(struct pkt *p, const char *owner, const char *target)
{
	size_t	lenat;

	if (owner == NULL)
		u16(p, 0xc00c);
	else
		name(p, owner);
	u16(p, DNS_T_CNAME);
	u16(p, DNS_C_IN);
	u32(p, 300);
	lenat = p->n;
	u16(p, 0);
	name(p, target);
	p->b[lenat] = (p->n - lenat - 2) >> 8;
	p->b[lenat + 1] = (p->n - lenat - 2) & 0xff;
}

static enum dns_perr
pq(struct pkt *p, struct dns_query *q, const char **why)
{
	*why = "";
	return dns_parse_query(p->b, p->n, q, why);
}

static int
deny_denied(void *arg, const char *n)
{
	(void)arg;
	return strcmp(n, "denied.test") != 0 &&
	    strcmp(n, "sub.denied.test") != 0;
}

static struct dns_msg	msg;

/* parse p as an answer to q, filter and rebuild it, parse that */
static size_t
rebuild(struct pkt *p, const struct dns_question *q, struct dns_result *res,
    uint8_t *out, size_t outlen, struct dns_msg *back)
{
	struct sockaddr_storage	 host;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&host;
	struct dns_filter	 f;
	const char		*why;
	size_t			 n;

	memset(&host, 0, sizeof(host));
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, "198.18.9.9", &sin->sin_addr);
	memset(&f, 0, sizeof(f));
	f.hostaddrs = &host;
	f.nhostaddrs = 1;
	f.name_ok = deny_denied;
	f.maxttl = 3600;
	if (dns_parse_msg(p->b, p->n, &msg, &why) == -1) {
		printf("# parse: %s\n", why);
		return 0;
	}
	n = dns_build_answer(out, outlen, 0x4242, DNS_RD, q, 0, &msg, &f, res);
	if (n > 0 && back != NULL && dns_parse_msg(out, n, back, &why) == -1) {
		printf("# reparse: %s\n", why);
		return 0;
	}
	return n;
}

static void
test_query(void)
{
	struct pkt		 p;
	struct dns_query	 q;
	const char		*why;
	char			 big[400], lab[65];
	enum dns_perr		 r;
	int			 i;

	hdr(&p, 0x1234, DNS_RD, 1, 0, 0, 0);
	question(&p, "Ok.TEST", DNS_T_A);
	r = pq(&p, &q, &why);
	ok(r == DNS_P_OK && q.id == 0x1234 && q.q.qtype == DNS_T_A &&
	    strcmp(q.q.name, "ok.test") == 0 && q.q.wirelen == 9 &&
	    memcmp(q.q.wire, "\2Ok\4TEST", 9) == 0 && !q.edns &&
	    q.udpsize == 512, "a plain query: name lower-cased, wire kept");

	ok(dns_parse_query(p.b, 11, &q, &why) == DNS_P_DROP,
	    "11 bytes: dropped (%s)", why);
	hdr(&p, 1, DNS_QR, 1, 0, 0, 0);
	question(&p, "ok.test", DNS_T_A);
	ok(pq(&p, &q, &why) == DNS_P_DROP, "a response: dropped (%s)", why);
	hdr(&p, 1, 2 << 11, 1, 0, 0, 0);
	question(&p, "ok.test", DNS_T_A);
	ok(pq(&p, &q, &why) == DNS_P_NOTIMP, "opcode STATUS: NOTIMP (%s)",
	    why);
	hdr(&p, 1, 0, 0, 0, 0, 0);
	ok(pq(&p, &q, &why) == DNS_P_FORMERR, "no question: FORMERR (%s)",
	    why);
	hdr(&p, 1, 0, 2, 0, 0, 0);
	question(&p, "ok.test", DNS_T_A);
	question(&p, "ok.test", DNS_T_A);
	ok(pq(&p, &q, &why) == DNS_P_FORMERR, "two questions: FORMERR (%s)",
	    why);

	/* compression in the question */
	hdr(&p, 1, 0, 1, 0, 0, 0);
	u16(&p, 0xc00c);
	u16(&p, 1);
	u16(&p, 1);
	ok(pq(&p, &q, &why) == DNS_P_FORMERR && strstr(why, "backward"),
	    "a pointer to itself: FORMERR (%s)", why);
	hdr(&p, 1, 0, 1, 0, 0, 0);
	u16(&p, 0xc00e);
	u16(&p, 0xc00c);
	u16(&p, 1);
	u16(&p, 1);
	ok(pq(&p, &q, &why) == DNS_P_FORMERR && strstr(why, "backward"),
	    "a pointer forward (into a loop): FORMERR (%s)", why);
	hdr(&p, 1, 0, 1, 0, 0, 0);
	u16(&p, 0xc000 | 5000);
	u16(&p, 1);
	u16(&p, 1);
	ok(pq(&p, &q, &why) == DNS_P_FORMERR && strstr(why, "out of range"),
	    "a pointer out of range: FORMERR (%s)", why);
	hdr(&p, 1, 0, 1, 0, 0, 0);
	u8(&p, 0xc0);
	ok(pq(&p, &q, &why) == DNS_P_FORMERR && strstr(why, "truncated"),
	    "half a pointer: FORMERR (%s)", why);
	hdr(&p, 1, 0, 1, 0, 0, 0);
	u16(&p, 0xc004);		/* backward, into the header */
	u16(&p, 1);
	u16(&p, 1);
	r = pq(&p, &q, &why);
	ok(r == DNS_P_FORMERR || r == DNS_P_OK,
	    "a pointer backward into the header is bounded (%s)", why);

	/* labels and names */
	hdr(&p, 1, 0, 1, 0, 0, 0);
	memset(big, 'a', 63);
	big[63] = '\0';
	strlcat(big, ".test", sizeof(big));
	question(&p, big, DNS_T_A);
	ok(pq(&p, &q, &why) == DNS_P_OK, "a label of 63");
	hdr(&p, 1, 0, 1, 0, 0, 0);
	u8(&p, 64);
	memset(p.b + p.n, 'a', 64);
	p.n += 64;
	u8(&p, 0);
	u16(&p, 1);
	u16(&p, 1);
	ok(pq(&p, &q, &why) == DNS_P_FORMERR && strstr(why, "label type"),
	    "a label of 64: FORMERR (%s)", why);
	/* 255 bytes on the wire: 3 x (1+63) + (1+61) + 1 */
	big[0] = '\0';
	for (i = 0; i < 3; i++) {
		memset(lab, 'a', 63);
		lab[63] = '.';
		lab[64] = '\0';
		strlcat(big, lab, sizeof(big));
	}
	memset(lab, 'b', 61);
	lab[61] = '\0';
	strlcat(big, lab, sizeof(big));
	hdr(&p, 1, 0, 1, 0, 0, 0);
	question(&p, big, DNS_T_A);
	ok(pq(&p, &q, &why) == DNS_P_OK && q.q.wirelen == 255 &&
	    strlen(q.q.name) == 253, "a name of 255 bytes");
	strlcat(big, "b", sizeof(big));
	hdr(&p, 1, 0, 1, 0, 0, 0);
	question(&p, big, DNS_T_A);
	ok(pq(&p, &q, &why) == DNS_P_FORMERR && strstr(why, "255"),
	    "a name of 256 bytes: FORMERR (%s)", why);
	/* 256 through compression: a 254-byte name under a new label */
	hdr(&p, 1, DNS_QR, 1, 1, 0, 0);
	question(&p, big + 2, DNS_T_A);
	u8(&p, 1);
	u8(&p, 'x');
	u16(&p, 0xc00c);
	u16(&p, DNS_T_A);
	u16(&p, 1);
	u32(&p, 1);
	u16(&p, 4);
	u32(&p, 0xc6120101);
	ok(dns_parse_msg(p.b, p.n, &msg, &why) == -1 && strstr(why, "255"),
	    "a name of 256 bytes through a pointer: refused (%s)", why);
	hdr(&p, 1, 0, 1, 0, 0, 0);
	u8(&p, 3);
	memcpy(p.b + p.n, "abc", 3);
	p.n += 3;
	ok(pq(&p, &q, &why) == DNS_P_FORMERR,
	    "a name without its end: FORMERR (%s)", why);
	hdr(&p, 1, 0, 1, 0, 0, 0);
	u8(&p, 10);
	memcpy(p.b + p.n, "abc", 3);
	p.n += 3;
	ok(pq(&p, &q, &why) == DNS_P_FORMERR && strstr(why, "label runs"),
	    "a label past the end: FORMERR (%s)", why);
	hdr(&p, 1, 0, 1, 0, 0, 0);
	name(&p, "ok.test");
	u8(&p, 0);
	ok(pq(&p, &q, &why) == DNS_P_FORMERR && strstr(why, "truncated"),
	    "a question without its type: FORMERR (%s)", why);

	/* counts that lie */
	hdr(&p, 1, 0, 1, 0, 0, 3);
	question(&p, "ok.test", DNS_T_A);
	ok(pq(&p, &q, &why) == DNS_P_FORMERR && q.q.wirelen > 0,
	    "3 additional records announced, none there: FORMERR with the "
	    "question (%s)", why);
	hdr(&p, 1, 0, 1, 1, 0, 0);
	question(&p, "ok.test", DNS_T_A);
	rr_a(&p, NULL, "1.2.3.4", 1);
	ok(pq(&p, &q, &why) == DNS_P_FORMERR && q.q.wirelen > 0,
	    "a query with an answer: FORMERR (%s)", why);

	/* EDNS */
	hdr(&p, 1, 0, 1, 0, 0, 1);
	question(&p, "ok.test", DNS_T_A);
	u8(&p, 0);
	u16(&p, DNS_T_OPT);
	u16(&p, 4096);
	u32(&p, 0);
	u16(&p, 0);
	ok(pq(&p, &q, &why) == DNS_P_OK && q.edns && q.udpsize == DNS_UDPMAX,
	    "EDNS 4096: taken as %u", q.udpsize);
	hdr(&p, 1, 0, 1, 0, 0, 2);
	question(&p, "ok.test", DNS_T_A);
	for (i = 0; i < 2; i++) {
		u8(&p, 0);
		u16(&p, DNS_T_OPT);
		u16(&p, 100);
		u32(&p, 0);
		u16(&p, 0);
	}
	ok(pq(&p, &q, &why) == DNS_P_FORMERR, "two OPT records: FORMERR (%s)",
	    why);

	/* odd bytes in a label cannot change the name the policy sees */
	hdr(&p, 1, 0, 1, 0, 0, 0);
	u8(&p, 8);
	memcpy(p.b + p.n, "evil.com", 8);
	p.n += 8;
	name(&p, "ok.test");
	p.n--;				/* name() ended it; keep one end */
	u8(&p, 0);
	u16(&p, 1);
	u16(&p, 1);
	ok(pq(&p, &q, &why) == DNS_P_OK &&
	    strcmp(q.q.name, "evil\\046com.ok.test") == 0,
	    "a dot inside a label is escaped: %s", q.q.name);
}

static void
test_answers(void)
{
	struct pkt		 p;
	struct dns_query	 dq;
	struct dns_question	*q = &dq.q;
	struct dns_result	 res;
	static struct dns_msg	 back;
	uint8_t			 out[DNS_TCPMAX];
	const char		*why;
	char			 abuf[64];
	size_t			 n;
	int			 i;

	hdr(&p, 7, 0, 1, 0, 0, 0);
	question(&p, "ok.test", DNS_T_A);
	dns_parse_query(p.b, p.n, &dq, &why);

	/* rebinding */
	hdr(&p, 9, DNS_QR | DNS_RD | DNS_RA, 1, 5, 0, 0);
	question(&p, "ok.test", DNS_T_A);
	rr_a(&p, NULL, "127.0.0.1", 60);
	rr_a(&p, NULL, "10.1.2.3", 60);
	rr_a(&p, NULL, "198.18.1.10", 60);
	rr_a(&p, NULL, "169.254.169.254", 60);
	rr_a(&p, NULL, "198.18.9.9", 60);	/* the host's own */
	n = rebuild(&p, q, &res, out, sizeof(out), &back);
	ok(n > 0 && res.rcode == DNS_NOERROR && res.nkept == 1 &&
	    res.nstripped == 4 && back.nrr == 1 && back.id == 0x4242 &&
	    memcmp(back.rr[0].rdata, "\xc6\x12\x01\x0a", 4) == 0 &&
	    res.naddrs == 1, "rebinding: 4 of 5 stripped, 198.18.1.10 kept "
	    "(%s)", res.why);
	ok(strstr(res.why, "loopback") != NULL, "the reason names the "
	    "class: %s", res.why);

	hdr(&p, 9, DNS_QR, 1, 2, 0, 0);
	question(&p, "ok.test", DNS_T_A);
	rr_a(&p, NULL, "127.0.0.1", 60);
	rr_a(&p, NULL, "100.64.0.1", 60);
	n = rebuild(&p, q, &res, out, sizeof(out), &back);
	ok(n > 0 && res.rcode == DNS_NOERROR && back.nrr == 0 &&
	    (back.flags & DNS_RCMASK) == DNS_NOERROR && res.naddrs == 0,
	    "only private addresses: NOERROR with no answer");

	/* AAAA */
	hdr(&p, 7, 0, 1, 0, 0, 0);
	question(&p, "ok.test", DNS_T_AAAA);
	dns_parse_query(p.b, p.n, &dq, &why);
	hdr(&p, 9, DNS_QR, 1, 5, 0, 0);
	question(&p, "ok.test", DNS_T_AAAA);
	rr_aaaa(&p, "::1", 60);
	rr_aaaa(&p, "::ffff:10.0.0.1", 60);
	rr_aaaa(&p, "64:ff9b::7f00:1", 60);
	rr_aaaa(&p, "2606:4700::1111", 60);
	rr_a(&p, NULL, "198.18.1.10", 60);
	n = rebuild(&p, q, &res, out, sizeof(out), &back);
	ok(n > 0 && back.nrr == 1 && back.rr[0].type == DNS_T_AAAA &&
	    res.naddrs == 1 && strcmp(addr_str((struct sockaddr *)
	    &res.addrs[0].ss, abuf, sizeof(abuf)), "2606:4700::1111") == 0,
	    "AAAA: loopback, mapped 10/8, NAT64 127/8 stripped; an A for an "
	    "AAAA question dropped");

	/* CNAME */
	hdr(&p, 7, 0, 1, 0, 0, 0);
	question(&p, "cname.test", DNS_T_A);
	dns_parse_query(p.b, p.n, &dq, &why);
	hdr(&p, 9, DNS_QR, 1, 2, 0, 0);
	question(&p, "cname.test", DNS_T_A);
	rr_cname(&p, NULL, "denied.test");
	rr_a(&p, "denied.test", "198.18.1.30", 60);
	n = rebuild(&p, q, &res, out, sizeof(out), &back);
	ok(n > 0 && res.rcode == DNS_NXDOMAIN && back.nrr == 0 &&
	    (back.flags & DNS_RCMASK) == DNS_NXDOMAIN &&
	    strcmp(res.denied, "denied.test") == 0 && res.naddrs == 0,
	    "a CNAME to a denied name: NXDOMAIN, target named");

	hdr(&p, 9, DNS_QR, 1, 3, 0, 0);
	question(&p, "cname.test", DNS_T_A);
	rr_cname(&p, NULL, "mid.test");
	rr_cname(&p, "mid.test", "sub.denied.test");
	rr_a(&p, "sub.denied.test", "198.18.1.30", 60);
	n = rebuild(&p, q, &res, out, sizeof(out), &back);
	ok(n > 0 && res.rcode == DNS_NXDOMAIN &&
	    strcmp(res.denied, "sub.denied.test") == 0,
	    "a denied name two CNAMEs down: NXDOMAIN");

	hdr(&p, 9, DNS_QR, 1, 4, 0, 0);
	question(&p, "cname.test", DNS_T_A);
	rr_cname(&p, NULL, "ok2.test");
	rr_a(&p, "ok2.test", "198.18.1.40", 60);
	rr_a(&p, "elsewhere.test", "198.18.1.41", 60);	/* not in chain */
	rr_a(&p, "ok2.test", "10.0.0.1", 60);
	n = rebuild(&p, q, &res, out, sizeof(out), &back);
	ok(n > 0 && res.rcode == DNS_NOERROR && back.nrr == 2 &&
	    back.rr[0].type == DNS_T_CNAME &&
	    strcmp(back.rr[0].target, "ok2.test") == 0 &&
	    back.rr[1].type == DNS_T_A &&
	    strcmp(back.rr[1].name, "ok2.test") == 0 && res.naddrs == 1,
	    "an allowed CNAME chain kept; records outside the chain and "
	    "private addresses dropped");

	hdr(&p, 9, DNS_QR, 1, 2, 0, 0);
	question(&p, "cname.test", DNS_T_A);
	rr_cname(&p, NULL, "loop.test");
	rr_cname(&p, "loop.test", "cname.test");
	n = rebuild(&p, q, &res, out, sizeof(out), &back);
	ok(n > 0 && res.rcode == DNS_NOERROR && res.naddrs == 0,
	    "a CNAME loop ends");

	hdr(&p, 9, DNS_QR, 1, 20, 0, 0);
	question(&p, "cname.test", DNS_T_A);
	rr_cname(&p, NULL, "c0.test");
	for (i = 0; i < 19; i++) {
		char	a[16], b[16];

		snprintf(a, sizeof(a), "c%d.test", i);
		snprintf(b, sizeof(b), "c%d.test", i + 1);
		rr_cname(&p, a, b);
	}
	n = rebuild(&p, q, &res, out, sizeof(out), &back);
	ok(n > 0 && back.nrr == DNS_MAXCHAIN,
	    "a CNAME chain of 20 is cut at %d", DNS_MAXCHAIN);

	/* truncated and lying records */
	hdr(&p, 9, DNS_QR, 1, 1, 0, 0);
	question(&p, "ok.test", DNS_T_A);
	rr_a(&p, NULL, "198.18.1.10", 60);
	ok(dns_parse_msg(p.b, p.n - 1, &msg, &why) == -1,
	    "a record cut short: refused (%s)", why);
	ok(dns_parse_msg(p.b, p.n - 10, &msg, &why) == -1,
	    "a record header cut short: refused (%s)", why);
	p.b[p.n - 5] = 5;		/* rdlength 5 */
	ok(dns_parse_msg(p.b, p.n, &msg, &why) == -1,
	    "rdlength past the end: refused (%s)", why);
	hdr(&p, 9, DNS_QR, 1, 1, 0, 0);
	question(&p, "ok.test", DNS_T_A);
	rr_a(&p, NULL, "198.18.1.10", 60);
	p.b[p.n - 5] = 3;		/* rdlength 3 */
	p.n--;
	ok(dns_parse_msg(p.b, p.n, &msg, &why) == -1,
	    "an A record of 3 bytes: refused (%s)", why);
	hdr(&p, 9, DNS_QR, 1, 9, 0, 0);
	question(&p, "ok.test", DNS_T_A);
	rr_a(&p, NULL, "198.18.1.10", 60);
	ok(dns_parse_msg(p.b, p.n, &msg, &why) == -1,
	    "9 answers announced, one there: refused (%s)", why);
	hdr(&p, 9, DNS_QR, 1, 1, 0, 0);
	question(&p, "cname.test", DNS_T_A);
	u16(&p, 0xc00c);
	u16(&p, DNS_T_CNAME);
	u16(&p, 1);
	u32(&p, 1);
	u16(&p, 4);
	u16(&p, 0xc00c);
	u16(&p, 0);
	ok(dns_parse_msg(p.b, p.n, &msg, &why) == -1,
	    "a CNAME with bytes after its name: refused (%s)", why);
	hdr(&p, 9, DNS_QR, 1, 1, 0, 0);
	question(&p, "cname.test", DNS_T_A);
	u16(&p, 0xc00c);
	u16(&p, DNS_T_CNAME);
	u16(&p, 1);
	u32(&p, 1);
	u16(&p, 2);
	u16(&p, 0xc000 | p.n);	/* points at itself */
	ok(dns_parse_msg(p.b, p.n, &msg, &why) == -1 &&
	    strstr(why, "backward"), "a CNAME pointing at itself: refused (%s)",
	    why);

	/* MX: the name in the rdata is decompressed */
	hdr(&p, 9, DNS_QR, 1, 1, 0, 0);
	question(&p, "ok.test", DNS_T_MX);
	u16(&p, 0xc00c);
	u16(&p, DNS_T_MX);
	u16(&p, 1);
	u32(&p, 60);
	u16(&p, 7);
	u16(&p, 10);
	u8(&p, 2);
	u8(&p, 'm');
	u8(&p, 'x');
	u16(&p, 0xc00c);
	ok(dns_parse_msg(p.b, p.n, &msg, &why) == 0 && msg.nrr == 1 &&
	    msg.rr[0].rdlen == 2 + 12 &&
	    memcmp(msg.rr[0].rdata, "\0\12\2mx\2ok\4test", 14) == 0,
	    "MX rdata decompressed");

	/* other types for an allowed name: passed on, rdata as it is */
	hdr(&p, 7, 0, 1, 0, 0, 0);
	question(&p, "ok.test", DNS_T_TXT);
	dns_parse_query(p.b, p.n, &dq, &why);
	hdr(&p, 9, DNS_QR, 1, 2, 0, 0);
	question(&p, "ok.test", DNS_T_TXT);
	u16(&p, 0xc00c);
	u16(&p, DNS_T_TXT);
	u16(&p, 1);
	u32(&p, 60);
	u16(&p, 1004);
	for (i = 0; i < 4; i++) {
		u8(&p, 250);
		memset(p.b + p.n, 'a' + i, 250);
		p.n += 250;
	}
	rr_a(&p, NULL, "198.18.1.10", 60);
	n = rebuild(&p, q, &res, out, sizeof(out), &back);
	ok(n > 0 && back.nrr == 1 && back.rr[0].type == DNS_T_TXT &&
	    back.rr[0].rdlen == 1004 && back.rr[0].rdata[252] == 'b' &&
	    res.naddrs == 0, "a TXT record of 1004 bytes is passed on, the A "
	    "beside it is not");

	/* TTLs: clamped, aged, top bit, SOA for negative answers */
	hdr(&p, 7, 0, 1, 0, 0, 0);
	question(&p, "ok.test", DNS_T_A);
	dns_parse_query(p.b, p.n, &dq, &why);
	hdr(&p, 9, DNS_QR, 1, 2, 0, 0);
	question(&p, "ok.test", DNS_T_A);
	rr_a(&p, NULL, "198.18.1.10", 100000);
	rr_a(&p, NULL, "198.18.1.11", 0x80000001u);
	n = rebuild(&p, q, &res, out, sizeof(out), &back);
	ok(n > 0 && back.nrr == 2 && back.rr[0].ttl == 3600 &&
	    back.rr[1].ttl == 0 && res.minttl == 0,
	    "TTL 100000 clamped to 3600, a TTL above 2^31 read as 0");
	hdr(&p, 9, DNS_QR | DNS_NXDOMAIN, 1, 0, 1, 0);
	question(&p, "ok.test", DNS_T_A);
	u16(&p, 0xc00c + 3);		/* "test" */
	u16(&p, DNS_T_SOA);
	u16(&p, 1);
	u32(&p, 900);
	u16(&p, 2 + 2 + 20);
	u16(&p, 0xc00c);
	u16(&p, 0xc00c);
	u32(&p, 1);
	u32(&p, 2);
	u32(&p, 3);
	u32(&p, 4);
	u32(&p, 77);
	ok(dns_parse_msg(p.b, p.n, &msg, &why) == 0 && msg.negttl == 77,
	    "negative TTL from the SOA minimum (%u)", msg.negttl);

	/* the answer does not fit: TC, no records */
	hdr(&p, 9, DNS_QR, 1, 40, 0, 0);
	question(&p, "ok.test", DNS_T_A);
	for (i = 0; i < 40; i++) {
		char a[32];

		snprintf(a, sizeof(a), "198.18.2.%d", i + 1);
		rr_a(&p, NULL, a, 60);
	}
	n = rebuild(&p, q, &res, out, 512, &back);
	ok(n > 0 && n <= 512 && (back.flags & DNS_TC) && back.nrr == 0,
	    "40 records in 512 bytes: TC, question only (%zu bytes)", n);
	n = rebuild(&p, q, &res, out, sizeof(out), &back);
	ok(n > 0 && back.nrr == 40 && !(back.flags & DNS_TC),
	    "... and all of them in 64 KiB");

	/* errors echo the question */
	n = dns_build_error(out, sizeof(out), 0x5151, DNS_RD, q, DNS_NXDOMAIN,
	    1);
	ok(n > 0 && dns_parse_msg(out, n, &back, &why) == 0 &&
	    back.id == 0x5151 && (back.flags & DNS_RCMASK) == DNS_NXDOMAIN &&
	    (back.flags & DNS_RD) && back.arcount == 1 &&
	    dns_same_question(&back.q, q), "NXDOMAIN echoes the question and "
	    "the OPT record");
	n = dns_build_error(out, sizeof(out), 1, 0, NULL, DNS_FORMERR, 0);
	ok(n == DNS_HDRSZ && (out[3] & 0xf) == DNS_FORMERR && out[5] == 0,
	    "FORMERR without a question");
	ok(dns_build_error(out, 20, 1, 0, q, DNS_REFUSED, 0) == 0,
	    "an answer that does not fit is not written");
	n = dns_build_query(out, sizeof(out), 0x7777, q);
	ok(n > 0 && dns_parse_query(out, n, &dq, &why) == DNS_P_OK &&
	    dq.id == 0x7777 && (dq.flags & DNS_RD) &&
	    strcmp(dq.q.name, "ok.test") == 0, "an upstream query");
}

static void
test_names(void)
{
	uint8_t		 wire[DNS_MAXWIRE];
	char		 text[DNS_TEXTSIZE], big[400];
	size_t		 wl;

	ok(dns_name_towire("Ok.Test.", wire, &wl) == 0 && wl == 9 &&
	    dns_wire_totext(wire, wl, text) == 0 &&
	    strcmp(text, "ok.test") == 0, "towire/totext, final dot");
	ok(dns_name_towire("a\\046b.test", wire, &wl) == 0 && wire[0] == 3 &&
	    wire[2] == '.' && dns_wire_totext(wire, wl, text) == 0 &&
	    strcmp(text, "a\\046b.test") == 0, "\\DDD escapes round trip");
	ok(dns_name_towire(".", wire, &wl) == 0 && wl == 1 &&
	    dns_wire_totext(wire, wl, text) == 0 && strcmp(text, ".") == 0,
	    "the root");
	ok(dns_name_towire("a..b", wire, &wl) == -1 &&
	    dns_name_towire("", wire, &wl) == -1 &&
	    dns_name_towire("a\\", wire, &wl) == -1 &&
	    dns_name_towire("a\\999", wire, &wl) == -1,
	    "empty labels and bad escapes refused");
	memset(big, 'a', 64);
	big[64] = '\0';
	ok(dns_name_towire(big, wire, &wl) == -1, "a label of 64 refused");
	memset(big, 0, sizeof(big));
	while (strlen(big) < 260)
		strlcat(big, "abcdefghi.", sizeof(big));
	ok(dns_name_towire(big, wire, &wl) == -1, "a name of 260 refused");
	ok(dns_wire_totext((const uint8_t *)"\3abc", 4, text) == -1 &&
	    dns_wire_totext((const uint8_t *)"\5ab\0", 4, text) == -1,
	    "totext refuses wire names without their end");
}

int
main(void)
{
	test_query();
	test_answers();
	test_names();
	return tap_done();
}
