/*
 * DNS messages (RFC 1035) as the dns child sees them: queries from a
 * sandbox and answers from the upstream, both hostile.  Every read is
 * bounds-checked; names are decompressed with backward-only pointers,
 * at most 255 bytes on the wire and 63 per label.  Building is limited
 * to what the filtering resolver sends: error answers that echo the
 * question, a query for the upstream, and an answer rebuilt from the
 * upstream's records that survived the filter.
 */
#ifndef LENSNETD_DNSWIRE_H
#define LENSNETD_DNSWIRE_H

#include <sys/socket.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_HDRSZ	12
#define DNS_MAXWIRE	255		/* a name on the wire, root included */
#define DNS_MAXLABEL	63
#define DNS_TEXTSIZE	256		/* presentation form, NUL included */
#define DNS_MAXRR	64		/* answer records kept from a message */
#define DNS_MAXRDATA	4096		/* decompressed rdata kept per record */
#define DNS_MAXCHAIN	8		/* CNAME hops followed */
#define DNS_UDPMIN	512
#define DNS_UDPMAX	1232		/* what we accept to send over UDP */
#define DNS_TCPMAX	65535

/* header flags */
#define DNS_QR		0x8000
#define DNS_OPMASK	0x7800
#define DNS_AA		0x0400
#define DNS_TC		0x0200
#define DNS_RD		0x0100
#define DNS_RA		0x0080
#define DNS_RCMASK	0x000f

#define DNS_NOERROR	0
#define DNS_FORMERR	1
#define DNS_SERVFAIL	2
#define DNS_NXDOMAIN	3
#define DNS_NOTIMP	4
#define DNS_REFUSED	5

#define DNS_T_A		1
#define DNS_T_NS	2
#define DNS_T_CNAME	5
#define DNS_T_SOA	6
#define DNS_T_PTR	12
#define DNS_T_MX	15
#define DNS_T_TXT	16
#define DNS_T_AAAA	28
#define DNS_T_SRV	33
#define DNS_T_OPT	41
#define DNS_T_AXFR	252
#define DNS_T_MAILB	253
#define DNS_T_MAILA	254
#define DNS_T_ANY	255
#define DNS_C_IN	1

struct dns_question {
	uint8_t		wire[DNS_MAXWIRE];	/* as sent, case kept */
	size_t		wirelen;
	char		name[DNS_TEXTSIZE];	/* lower case, no final dot,
						 * "." for the root, other
						 * than [a-z0-9_-] as \DDD */
	uint16_t	qtype, qclass;
};

/* a query from a sandbox */
struct dns_query {
	uint16_t	id, flags;
	struct dns_question q;
	int		edns;		/* an OPT record came with it */
	uint16_t	udpsize;	/* what the client takes over UDP */
};

/* the verdict on a packet that is not a usable query */
enum dns_perr {
	DNS_P_OK = 0,
	DNS_P_DROP,		/* not even a header, or not a query: ignore */
	DNS_P_FORMERR,		/* answer FORMERR (question echoed if any) */
	DNS_P_NOTIMP,		/* an opcode other than QUERY */
};

struct dns_rr {
	char		name[DNS_TEXTSIZE];
	uint16_t	type, class;
	uint32_t	ttl;
	uint16_t	rdlen;			/* of rdata[], decompressed */
	uint8_t		rdata[DNS_MAXRDATA];
	char		target[DNS_TEXTSIZE];	/* CNAME: the target */
};

/* an upstream answer: the answer section, the rest only counted */
struct dns_msg {
	uint16_t	id, flags;
	uint16_t	qdcount, ancount, nscount, arcount;
	struct dns_question q;
	size_t		nrr;		/* answers kept (<= DNS_MAXRR) */
	struct dns_rr	rr[DNS_MAXRR];
	uint32_t	negttl;		/* SOA in authority: min(ttl, minimum),
					 * or 0 */
};

/* what dns_filter kept, for the caller's DNSMAP and cache */
struct dns_addr {
	struct sockaddr_storage	ss;
	uint32_t	ttl;
};

struct dns_filter {
	const struct sockaddr_storage *hostaddrs;
	size_t		nhostaddrs;
	/* may this CNAME target be resolved?  NULL: every name */
	int		(*name_ok)(void *, const char *);
	void		*arg;
	uint32_t	maxttl;		/* TTLs handed out are clamped to it */
	uint32_t	age;		/* seconds since the answer came */
};

struct dns_result {
	int		rcode;		/* what the client gets */
	size_t		nkept, nstripped;	/* records */
	char		why[128];	/* first reason a record was dropped */
	size_t		naddrstripped;	/* A/AAAA refused by class */
	struct sockaddr_storage stripped;	/* the first of them */
	const char	*stripped_why;	/* its class (addr_forbidden) */
	char		denied[DNS_TEXTSIZE];	/* CNAME target denied, or "" */
	size_t		naddrs;
	struct dns_addr	addrs[DNS_MAXRR];	/* A/AAAA kept */
	uint32_t	minttl;		/* of what was kept (negttl if none) */
};

enum dns_perr	dns_parse_query(const uint8_t *, size_t, struct dns_query *,
		    const char **why);
/* 0, or -1 with *why set: the whole message is unusable */
int		dns_parse_msg(const uint8_t *, size_t, struct dns_msg *,
		    const char **why);
/* does a message answer this question (case-insensitive name)? */
int		dns_same_question(const struct dns_question *,
		    const struct dns_question *);

/*
 * Answers.  Each writes into out (size outlen) and returns the length,
 * or 0 when it does not fit.
 */
/* an answer carrying only the header and the question, if any */
size_t	dns_build_error(uint8_t *out, size_t outlen, uint16_t id,
	    uint16_t qflags, const struct dns_question *, int rcode, int edns);
/* a recursive query for the upstream */
size_t	dns_build_query(uint8_t *out, size_t outlen, uint16_t id,
	    const struct dns_question *);
/*
 * Filter an upstream answer for question q (see dns_filter) into res,
 * then write the client's answer: header with id and the client's RD,
 * q echoed, the kept records.  When the records do not fit in outlen,
 * the answer is sent with TC and no records.
 */
size_t	dns_build_answer(uint8_t *out, size_t outlen, uint16_t id,
	    uint16_t qflags, const struct dns_question *q, int edns,
	    const struct dns_msg *, const struct dns_filter *,
	    struct dns_result *res);
/* the filter alone (used for NETD_RESOLVE) */
void	dns_filter_msg(const struct dns_question *q, const struct dns_msg *,
	    const struct dns_filter *, struct dns_result *res,
	    uint8_t *keep /* DNS_MAXRR flags, may be NULL */);

/* "A", "AAAA", ..., "TYPE65" into buf */
const char *dns_type_str(uint16_t, char *buf, size_t len);
/* a presentation name to wire form; -1 if it is not a name */
int	dns_name_towire(const char *, uint8_t *wire, size_t *wirelen);
/* wire form (uncompressed, from dns_name_towire) to the text form above */
int	dns_wire_totext(const uint8_t *wire, size_t wirelen, char *text);

#endif
