/*
 * DNS wire format: parsing of hostile queries and upstream answers,
 * building of the few answers the resolver sends.  See dnswire.h.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dnswire.h"
#include "lensnetd.h"

#define MAXHOPS		64	/* compression pointers followed in a name */

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}

/* append one label to the presentation form; -1 if it does not fit */
static int
text_label(char *text, size_t *tl, const uint8_t *l, size_t n)
{
	size_t	i;
	uint8_t	c;

	if (*tl > 0) {
		if (*tl + 1 >= DNS_TEXTSIZE)
			return -1;
		text[(*tl)++] = '.';
	}
	for (i = 0; i < n; i++) {
		c = l[i];
		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_') {
			if (*tl + 1 >= DNS_TEXTSIZE)
				return -1;
			text[(*tl)++] = c;
		} else {
			if (*tl + 4 >= DNS_TEXTSIZE)
				return -1;
			snprintf(text + *tl, 5, "\\%03u", c);
			*tl += 4;
		}
	}
	text[*tl] = '\0';
	return 0;
}

/*
 * Read the name at *offp in m[0..len), following compression pointers
 * that point strictly before the labels being read (so no loop can
 * form).  wire gets the uncompressed name (case kept), text the
 * presentation form.  *offp moves past the name where it stood.
 */
static int
name_read(const uint8_t *m, size_t len, size_t *offp, uint8_t *wire,
    size_t *wlenp, char *text, const char **why)
{
	size_t	off = *offp, end = 0, limit = *offp, wl = 0, tl = 0, ptr;
	int	jumped = 0, hops = 0;
	uint8_t	c;

	text[0] = '\0';
	for (;;) {
		if (off >= len) {
			*why = "name runs past the end of the message";
			return -1;
		}
		c = m[off];
		if ((c & 0xc0) == 0xc0) {
			if (off + 1 >= len) {
				*why = "truncated compression pointer";
				return -1;
			}
			ptr = (size_t)(c & 0x3f) << 8 | m[off + 1];
			if (ptr >= len) {
				*why = "compression pointer out of range";
				return -1;
			}
			if (ptr >= limit) {
				*why = "compression pointer does not point "
				    "backward";
				return -1;
			}
			if (++hops > MAXHOPS) {
				*why = "too many compression pointers";
				return -1;
			}
			if (!jumped) {
				end = off + 2;
				jumped = 1;
			}
			off = limit = ptr;
			continue;
		}
		if (c & 0xc0) {
			*why = "unknown label type";
			return -1;
		}
		if (c == 0) {
			if (wl + 1 > DNS_MAXWIRE) {
				*why = "name longer than 255 bytes";
				return -1;
			}
			wire[wl++] = 0;
			off++;
			break;
		}
		/* c <= 63 here: 0x40 and 0x80 were refused above */
		if (c > len - off - 1) {
			*why = "label runs past the end of the message";
			return -1;
		}
		if (wl + 1 + c + 1 > DNS_MAXWIRE) {
			*why = "name longer than 255 bytes";
			return -1;
		}
		wire[wl] = c;
		memcpy(wire + wl + 1, m + off + 1, c);
		if (text_label(text, &tl, m + off + 1, c) == -1) {
			*why = "name too long in text form";
			return -1;
		}
		wl += 1 + c;
		off += 1 + c;
	}
	if (!jumped)
		end = off;
	if (wl == 1)
		strlcpy(text, ".", DNS_TEXTSIZE);
	*wlenp = wl;
	*offp = end;
	return 0;
}

static int
question_read(const uint8_t *m, size_t len, size_t *off,
    struct dns_question *q, const char **why)
{
	if (name_read(m, len, off, q->wire, &q->wirelen, q->name, why) == -1)
		goto bad;
	if (len - *off < 4) {
		*why = "truncated question";
		goto bad;
	}
	q->qtype = get16(m + *off);
	q->qclass = get16(m + *off + 2);
	*off += 4;
	return 0;
 bad:
	q->wirelen = 0;
	return -1;
}

/* a name inside rdata, appended uncompressed to rr->rdata */
static int
rdata_name(const uint8_t *m, size_t len, size_t *off, struct dns_rr *rr,
    char *text, const char **why)
{
	uint8_t	wire[DNS_MAXWIRE];
	char	tbuf[DNS_TEXTSIZE];
	size_t	wl;

	if (name_read(m, len, off, wire, &wl, text ? text : tbuf, why) == -1)
		return -1;
	if (rr->rdlen + wl > DNS_MAXRDATA) {
		*why = "record data too long";
		return -1;
	}
	memcpy(rr->rdata + rr->rdlen, wire, wl);
	rr->rdlen += wl;
	return 0;
}

static int
rdata_fixed(const uint8_t *m, size_t *off, size_t n, struct dns_rr *rr,
    const char **why)
{
	if (rr->rdlen + n > DNS_MAXRDATA) {
		*why = "record data too long";
		return -1;
	}
	memcpy(rr->rdata + rr->rdlen, m + *off, n);
	rr->rdlen += n;
	*off += n;
	return 0;
}

/*
 * One resource record at *off.  Names in the rdata of the types that
 * may carry compressed names are decompressed; the rdata must be used
 * up exactly.
 */
static int
rr_read(const uint8_t *m, size_t len, size_t *off, struct dns_rr *rr,
    const char **why)
{
	uint8_t	wire[DNS_MAXWIRE];
	size_t	wl, rdoff, rdend, rdlen;

	if (name_read(m, len, off, wire, &wl, rr->name, why) == -1)
		return -1;
	if (len - *off < 10) {
		*why = "truncated record header";
		return -1;
	}
	rr->type = get16(m + *off);
	rr->class = get16(m + *off + 2);
	rr->ttl = get32(m + *off + 4);
	if (rr->ttl > INT32_MAX)	/* RFC 2181 8 */
		rr->ttl = 0;
	rdlen = get16(m + *off + 8);
	*off += 10;
	if (rdlen > len - *off) {
		*why = "record data runs past the end of the message";
		return -1;
	}
	rdoff = *off;
	rdend = rdoff + rdlen;
	rr->rdlen = 0;
	rr->target[0] = '\0';
	switch (rr->type) {
	case DNS_T_A:
		if (rdlen != 4) {
			*why = "A record with a length other than 4";
			return -1;
		}
		break;
	case DNS_T_AAAA:
		if (rdlen != 16) {
			*why = "AAAA record with a length other than 16";
			return -1;
		}
		break;
	case DNS_T_CNAME:
	case DNS_T_NS:
	case DNS_T_PTR:
		if (rdata_name(m, rdend, &rdoff, rr,
		    rr->type == DNS_T_CNAME ? rr->target : NULL, why) == -1)
			return -1;
		break;
	case DNS_T_MX:
		if (rdlen < 3 || rdata_fixed(m, &rdoff, 2, rr, why) == -1 ||
		    rdata_name(m, rdend, &rdoff, rr, NULL, why) == -1) {
			*why = rdlen < 3 ? "MX record too short" : *why;
			return -1;
		}
		break;
	case DNS_T_SRV:
		if (rdlen < 7 || rdata_fixed(m, &rdoff, 6, rr, why) == -1 ||
		    rdata_name(m, rdend, &rdoff, rr, NULL, why) == -1) {
			*why = rdlen < 7 ? "SRV record too short" : *why;
			return -1;
		}
		break;
	case DNS_T_SOA:
		if (rdata_name(m, rdend, &rdoff, rr, NULL, why) == -1 ||
		    rdata_name(m, rdend, &rdoff, rr, NULL, why) == -1)
			return -1;
		if (rdend - rdoff != 20) {
			*why = "SOA record of the wrong length";
			return -1;
		}
		if (rdata_fixed(m, &rdoff, 20, rr, why) == -1)
			return -1;
		break;
	default:
		break;
	}
	if (rr->rdlen == 0 && rdoff == *off) {
		/* not decompressed: opaque, copied as it is */
		if (rdata_fixed(m, &rdoff, rdlen, rr, why) == -1)
			return -1;
	}
	if (rdoff != rdend) {
		*why = "record data longer than its contents";
		return -1;
	}
	*off = rdend;
	return 0;
}

enum dns_perr
dns_parse_query(const uint8_t *m, size_t len, struct dns_query *dq,
    const char **why)
{
	struct dns_rr	 rr;
	size_t		 off = DNS_HDRSZ;
	uint16_t	 qd, an, ns, ar, i;

	memset(&dq->q, 0, sizeof(dq->q));
	dq->edns = 0;
	dq->udpsize = DNS_UDPMIN;
	if (len < DNS_HDRSZ) {
		*why = "shorter than a DNS header";
		return DNS_P_DROP;
	}
	dq->id = get16(m);
	dq->flags = get16(m + 2);
	if (dq->flags & DNS_QR) {
		*why = "a response, not a query";
		return DNS_P_DROP;
	}
	if (len > DNS_TCPMAX) {
		*why = "longer than 65535 bytes";
		return DNS_P_FORMERR;
	}
	qd = get16(m + 4);
	an = get16(m + 6);
	ns = get16(m + 8);
	ar = get16(m + 10);
	if ((dq->flags & DNS_OPMASK) != 0) {
		*why = "opcode other than QUERY";
		return DNS_P_NOTIMP;
	}
	if (qd != 1) {
		*why = "question count other than 1";
		return DNS_P_FORMERR;
	}
	if (question_read(m, len, &off, &dq->q, why) == -1)
		return DNS_P_FORMERR;
	if (an != 0 || ns != 0) {
		*why = "a query with answer or authority records";
		return DNS_P_FORMERR;
	}
	for (i = 0; i < ar; i++) {
		if (rr_read(m, len, &off, &rr, why) == -1)
			return DNS_P_FORMERR;
		if (rr.type != DNS_T_OPT)
			continue;
		if (dq->edns || strcmp(rr.name, ".") != 0) {
			*why = dq->edns ? "more than one OPT record" :
			    "OPT record not owned by the root";
			return DNS_P_FORMERR;
		}
		dq->edns = 1;
		dq->udpsize = rr.class < DNS_UDPMIN ? DNS_UDPMIN :
		    rr.class > DNS_UDPMAX ? DNS_UDPMAX : rr.class;
	}
	return DNS_P_OK;
}

int
dns_parse_msg(const uint8_t *m, size_t len, struct dns_msg *msg,
    const char **why)
{
	struct dns_rr	 scratch;
	size_t		 off = DNS_HDRSZ;
	uint32_t	 neg;
	unsigned int	 i;

	msg->nrr = 0;
	msg->negttl = 0;
	if (len < DNS_HDRSZ) {
		*why = "shorter than a DNS header";
		return -1;
	}
	msg->id = get16(m);
	msg->flags = get16(m + 2);
	msg->qdcount = get16(m + 4);
	msg->ancount = get16(m + 6);
	msg->nscount = get16(m + 8);
	msg->arcount = get16(m + 10);
	if (!(msg->flags & DNS_QR)) {
		*why = "a query, not a response";
		return -1;
	}
	if (msg->qdcount != 1) {
		*why = "question count other than 1";
		return -1;
	}
	if (question_read(m, len, &off, &msg->q, why) == -1)
		return -1;
	for (i = 0; i < msg->ancount; i++) {
		struct dns_rr *rr = msg->nrr < DNS_MAXRR ?
		    &msg->rr[msg->nrr] : &scratch;

		if (rr_read(m, len, &off, rr, why) == -1)
			return -1;
		if (rr != &scratch)
			msg->nrr++;
	}
	for (i = 0; i < msg->nscount; i++) {
		if (rr_read(m, len, &off, &scratch, why) == -1)
			return -1;
		if (scratch.type != DNS_T_SOA || scratch.rdlen < 20)
			continue;
		neg = get32(scratch.rdata + scratch.rdlen - 4);
		if (neg > scratch.ttl)
			neg = scratch.ttl;
		if (msg->negttl == 0 || neg < msg->negttl)
			msg->negttl = neg;
	}
	/* the additional section is never used */
	return 0;
}

int
dns_same_question(const struct dns_question *a, const struct dns_question *b)
{
	return a->qtype == b->qtype && a->qclass == b->qclass &&
	    strcmp(a->name, b->name) == 0;
}

static size_t
put_header(uint8_t *out, uint16_t id, uint16_t flags, uint16_t qd,
    uint16_t an, uint16_t ar)
{
	put16(out, id);
	put16(out + 2, flags);
	put16(out + 4, qd);
	put16(out + 6, an);
	put16(out + 8, 0);
	put16(out + 10, ar);
	return DNS_HDRSZ;
}

static size_t
put_question(uint8_t *out, const struct dns_question *q)
{
	memcpy(out, q->wire, q->wirelen);
	put16(out + q->wirelen, q->qtype);
	put16(out + q->wirelen + 2, q->qclass);
	return q->wirelen + 4;
}

#define OPTSZ	11
static size_t
put_opt(uint8_t *out)
{
	out[0] = 0;
	put16(out + 1, DNS_T_OPT);
	put16(out + 3, DNS_UDPMAX);
	put32(out + 5, 0);
	put16(out + 9, 0);
	return OPTSZ;
}

static uint16_t
answer_flags(uint16_t qflags, int rcode)
{
	return DNS_QR | DNS_RA | (qflags & DNS_RD) | (rcode & DNS_RCMASK);
}

size_t
dns_build_error(uint8_t *out, size_t outlen, uint16_t id, uint16_t qflags,
    const struct dns_question *q, int rcode, int edns)
{
	size_t	n, need;
	int	hasq = q != NULL && q->wirelen > 0;

	need = DNS_HDRSZ + (hasq ? q->wirelen + 4 : 0) + (edns ? OPTSZ : 0);
	if (need > outlen)
		return 0;
	n = put_header(out, id, answer_flags(qflags, rcode) |
	    (qflags & DNS_OPMASK), hasq, 0, edns ? 1 : 0);
	if (hasq)
		n += put_question(out + n, q);
	if (edns)
		n += put_opt(out + n);
	return n;
}

size_t
dns_build_query(uint8_t *out, size_t outlen, uint16_t id,
    const struct dns_question *q)
{
	size_t	n;

	if (DNS_HDRSZ + q->wirelen + 4 > outlen || q->wirelen == 0)
		return 0;
	n = put_header(out, id, DNS_RD, 1, 0, 0);
	n += put_question(out + n, q);
	return n;
}

static int
in_chain(char chain[][DNS_TEXTSIZE], size_t n, const char *name)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(chain[i], name) == 0)
			return 1;
	return 0;
}

static void
note_strip(struct dns_result *res, const struct dns_rr *rr, const char *why)
{
	res->nstripped++;
	if (res->why[0] == '\0')
		snprintf(res->why, sizeof(res->why), "%s: %s", rr->name, why);
}

void
dns_filter_msg(const struct dns_question *q, const struct dns_msg *msg,
    const struct dns_filter *f, struct dns_result *res, uint8_t *keep)
{
	char		 chain[DNS_MAXCHAIN + 1][DNS_TEXTSIZE];
	uint8_t		 kept[DNS_MAXRR];
	size_t		 n, i;
	uint32_t	 ttl;
	const char	*why;
	int		 found;

	memset(res, 0, sizeof(*res));
	memset(kept, 0, sizeof(kept));
	switch (msg->flags & DNS_RCMASK) {
	case DNS_NOERROR:
		break;
	case DNS_NXDOMAIN:
		res->rcode = DNS_NXDOMAIN;
		res->minttl = msg->negttl;
		goto done;
	default:
		res->rcode = DNS_SERVFAIL;
		goto done;
	}
	res->rcode = DNS_NOERROR;

	/* the CNAME chain from the question; each target must be allowed */
	strlcpy(chain[0], q->name, sizeof(chain[0]));
	n = 1;
	do {
		found = 0;
		for (i = 0; i < msg->nrr; i++) {
			const struct dns_rr *rr = &msg->rr[i];

			if (rr->type != DNS_T_CNAME || rr->class != DNS_C_IN ||
			    strcmp(rr->name, chain[n - 1]) != 0)
				continue;
			if (f->name_ok != NULL &&
			    !f->name_ok(f->arg, rr->target)) {
				res->rcode = DNS_NXDOMAIN;
				strlcpy(res->denied, rr->target,
				    sizeof(res->denied));
				memset(kept, 0, sizeof(kept));
				res->nstripped = msg->nrr;
				snprintf(res->why, sizeof(res->why),
				    "%s: CNAME to %s, a name the policy does "
				    "not allow", rr->name, rr->target);
				goto done;
			}
			if (in_chain(chain, n, rr->target) ||
			    n == DNS_MAXCHAIN + 1)
				break;		/* a loop or too long: stop */
			kept[i] = 1;
			strlcpy(chain[n++], rr->target, sizeof(chain[0]));
			found = 1;
			break;
		}
	} while (found && q->qtype != DNS_T_CNAME);

	for (i = 0; i < msg->nrr; i++) {
		const struct dns_rr *rr = &msg->rr[i];
		struct sockaddr_storage ss;

		if (kept[i] || rr->class != DNS_C_IN ||
		    !in_chain(chain, n, rr->name))
			continue;
		if (rr->type != q->qtype || rr->type == DNS_T_CNAME)
			continue;
		memset(&ss, 0, sizeof(ss));
		if (rr->type == DNS_T_A) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

			sin->sin_family = AF_INET;
			memcpy(&sin->sin_addr, rr->rdata, 4);
		} else if (rr->type == DNS_T_AAAA) {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

			sin6->sin6_family = AF_INET6;
			memcpy(&sin6->sin6_addr, rr->rdata, 16);
		}
		if (ss.ss_family != 0) {
			why = addr_forbidden((struct sockaddr *)&ss,
			    f->hostaddrs, f->nhostaddrs);
			if (why != NULL) {
				note_strip(res, rr, why);
				if (res->naddrstripped++ == 0) {
					res->stripped = ss;
					res->stripped_why = why;
				}
				continue;
			}
		}
		kept[i] = 1;
	}

	for (i = 0; i < msg->nrr; i++) {
		const struct dns_rr *rr = &msg->rr[i];

		if (!kept[i])
			continue;
		ttl = rr->ttl < f->maxttl ? rr->ttl : f->maxttl;
		ttl = ttl > f->age ? ttl - f->age : 0;
		if (res->nkept == 0 || ttl < res->minttl)
			res->minttl = ttl;
		res->nkept++;
		if (rr->type == DNS_T_A || rr->type == DNS_T_AAAA) {
			struct dns_addr *a = &res->addrs[res->naddrs++];

			memset(a, 0, sizeof(*a));
			a->ttl = ttl;
			if (rr->type == DNS_T_A) {
				struct sockaddr_in *sin =
				    (struct sockaddr_in *)&a->ss;

				sin->sin_family = AF_INET;
				memcpy(&sin->sin_addr, rr->rdata, 4);
			} else {
				struct sockaddr_in6 *sin6 =
				    (struct sockaddr_in6 *)&a->ss;

				sin6->sin6_family = AF_INET6;
				memcpy(&sin6->sin6_addr, rr->rdata, 16);
			}
		}
	}
	if (res->nkept == 0)
		res->minttl = msg->negttl;
 done:
	if (keep != NULL)
		memcpy(keep, kept, sizeof(kept));
}

size_t
dns_build_answer(uint8_t *out, size_t outlen, uint16_t id, uint16_t qflags,
    const struct dns_question *q, int edns, const struct dns_msg *msg,
    const struct dns_filter *f, struct dns_result *res)
{
	uint8_t		 keep[DNS_MAXRR], wire[DNS_MAXWIRE];
	size_t		 n, wl, i, base;
	uint16_t	 an = 0;
	uint32_t	 ttl;

	dns_filter_msg(q, msg, f, res, keep);
	base = DNS_HDRSZ + q->wirelen + 4;
	if (base + (edns ? OPTSZ : 0) > outlen || q->wirelen == 0)
		return 0;
	n = base;
	for (i = 0; i < msg->nrr; i++) {
		const struct dns_rr *rr = &msg->rr[i];

		if (!keep[i])
			continue;
		if (strcmp(rr->name, q->name) == 0) {
			wire[0] = 0xc0;		/* the question's name */
			wire[1] = DNS_HDRSZ;
			wl = 2;
		} else if (dns_name_towire(rr->name, wire, &wl) == -1)
			continue;		/* cannot happen: we wrote it */
		if (n + wl + 10 + rr->rdlen + (edns ? OPTSZ : 0) > outlen) {
			/* does not fit: TC, question only */
			n = put_header(out, id, answer_flags(qflags,
			    res->rcode) | DNS_TC, 1, 0, edns ? 1 : 0);
			n += put_question(out + n, q);
			if (edns)
				n += put_opt(out + n);
			return n;
		}
		ttl = rr->ttl < f->maxttl ? rr->ttl : f->maxttl;
		ttl = ttl > f->age ? ttl - f->age : 0;
		memcpy(out + n, wire, wl);
		n += wl;
		put16(out + n, rr->type);
		put16(out + n + 2, rr->class);
		put32(out + n + 4, ttl);
		put16(out + n + 8, rr->rdlen);
		memcpy(out + n + 10, rr->rdata, rr->rdlen);
		n += 10 + rr->rdlen;
		an++;
	}
	put_header(out, id, answer_flags(qflags, res->rcode), 1, an,
	    edns ? 1 : 0);
	put_question(out + DNS_HDRSZ, q);
	if (edns)
		n += put_opt(out + n);
	return n;
}

int
dns_name_towire(const char *s, uint8_t *wire, size_t *wirelen)
{
	size_t	wl = 0, ll;
	int	v;

	if (strcmp(s, ".") == 0) {
		wire[0] = 0;
		*wirelen = 1;
		return 0;
	}
	if (*s == '\0' || *s == '.')
		return -1;
	while (*s != '\0') {
		ll = 0;
		if (wl + 1 >= DNS_MAXWIRE)
			return -1;
		while (*s != '\0' && *s != '.') {
			if (*s == '\\') {
				if (s[1] >= '0' && s[1] <= '9') {
					if (!(s[2] >= '0' && s[2] <= '9') ||
					    !(s[3] >= '0' && s[3] <= '9'))
						return -1;
					v = (s[1] - '0') * 100 +
					    (s[2] - '0') * 10 + (s[3] - '0');
					if (v > 255)
						return -1;
					s += 4;
				} else if (s[1] != '\0') {
					v = (unsigned char)s[1];
					s += 2;
				} else
					return -1;
			} else
				v = (unsigned char)*s++;
			if (++ll > DNS_MAXLABEL || wl + 1 + ll >= DNS_MAXWIRE)
				return -1;
			wire[wl + ll] = v;
		}
		if (ll == 0)
			return -1;		/* empty label */
		wire[wl] = ll;
		wl += 1 + ll;
		if (*s == '.')
			s++;
	}
	wire[wl++] = 0;
	*wirelen = wl;
	return 0;
}

int
dns_wire_totext(const uint8_t *wire, size_t wl, char *text)
{
	size_t	off = 0, tl = 0;

	text[0] = '\0';
	while (off < wl && wire[off] != 0) {
		if (wire[off] > DNS_MAXLABEL || wire[off] >= wl - off ||
		    text_label(text, &tl, wire + off + 1, wire[off]) == -1)
			return -1;
		off += 1 + wire[off];
	}
	if (off + 1 != wl)
		return -1;
	if (tl == 0)
		strlcpy(text, ".", DNS_TEXTSIZE);
	return 0;
}

const char *
dns_type_str(uint16_t t, char *buf, size_t len)
{
	static const struct {
		uint16_t	 t;
		const char	*s;
	} names[] = {
		{ DNS_T_A, "A" }, { DNS_T_NS, "NS" }, { DNS_T_CNAME, "CNAME" },
		{ DNS_T_SOA, "SOA" }, { DNS_T_PTR, "PTR" }, { DNS_T_MX, "MX" },
		{ DNS_T_TXT, "TXT" }, { DNS_T_AAAA, "AAAA" },
		{ DNS_T_SRV, "SRV" }, { DNS_T_OPT, "OPT" }, { 64, "SVCB" },
		{ 65, "HTTPS" }, { DNS_T_AXFR, "AXFR" }, { DNS_T_ANY, "ANY" },
	};
	size_t	i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].t == t) {
			strlcpy(buf, names[i].s, len);
			return buf;
		}
	snprintf(buf, len, "TYPE%u", t);
	return buf;
}
