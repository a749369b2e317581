/*
 * libFuzzer target for lensnetd/dnswire.c: the whole input is a DNS
 * message, parsed both as a sandbox's query and as an upstream answer.
 * What the parsers accept must be consistent, and what the builders
 * make from it must parse back: an error answer echoes the question,
 * a rebuilt answer fits its buffer, keeps no forbidden address, and
 * is itself a valid message for the same question.  The input read as
 * a presentation name must round-trip through the wire form.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dnswire.h"
#include "lensnetd.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct dns_msg	msg, back;
static uint8_t		out[DNS_TCPMAX];

static int
name_ok(void *arg, const char *name)
{
	(void)arg;
	/* deny a deterministic half of the names */
	return (strlen(name) & 1) == 0;
}

static void
check_query(const uint8_t *p, size_t len)
{
	struct dns_query	 q;
	const char		*why = NULL;
	enum dns_perr		 r;
	size_t			 n;

	r = dns_parse_query(p, len, &q, &why);
	if (r != DNS_P_OK && why == NULL)
		abort();
	if (r == DNS_P_DROP)
		return;
	if (q.q.wirelen > DNS_MAXWIRE ||
	    memchr(q.q.name, '\0', sizeof(q.q.name)) == NULL)
		abort();
	n = dns_build_error(out, sizeof(out), q.id, q.flags, &q.q,
	    DNS_FORMERR, q.edns);
	if (n == 0)
		abort();
	if (q.q.wirelen > 0) {
		if (dns_parse_msg(out, n, &back, &why) == -1 ||
		    !dns_same_question(&back.q, &q.q) || back.id != q.id)
			abort();
	}
	if (r == DNS_P_OK && (q.udpsize < DNS_UDPMIN ||
	    q.udpsize > DNS_UDPMAX))
		abort();
}

static void
check_msg(const uint8_t *p, size_t len)
{
	struct sockaddr_storage	 host;
	struct dns_filter	 f;
	struct dns_result	 res;
	const char		*why = NULL;
	size_t			 n, i, outlen;

	if (dns_parse_msg(p, len, &msg, &why) == -1) {
		if (why == NULL)
			abort();
		return;
	}
	if (msg.nrr > DNS_MAXRR)
		abort();
	memset(&host, 0, sizeof(host));
	host.ss_family = AF_INET;
	memset(&f, 0, sizeof(f));
	f.hostaddrs = &host;
	f.nhostaddrs = 1;
	f.name_ok = name_ok;
	f.maxttl = 3600;
	f.age = len & 7;
	outlen = len > 1 ? 512 + (p[len - 1] << 8 | p[len - 2]) % 65024 : 512;
	n = dns_build_answer(out, outlen, 1, DNS_RD, &msg.q, len & 1, &msg,
	    &f, &res);
	if (n == 0 || n > outlen)
		abort();
	if (dns_parse_msg(out, n, &back, &why) == -1 ||
	    !dns_same_question(&back.q, &msg.q))
		abort();
	if (res.naddrs > DNS_MAXRR || back.nrr > res.nkept)
		abort();
	for (i = 0; i < res.naddrs; i++) {
		if (addr_forbidden((struct sockaddr *)&res.addrs[i].ss,
		    &host, 1) != NULL || res.addrs[i].ttl > 3600)
			abort();
	}
	if (res.denied[0] != '\0' && (res.rcode != DNS_NXDOMAIN ||
	    res.naddrs != 0 || back.nrr != 0))
		abort();
}

static void
check_name(const uint8_t *p, size_t len)
{
	char		 s[600], text[DNS_TEXTSIZE];
	uint8_t		 wire[DNS_MAXWIRE], wire2[DNS_MAXWIRE];
	size_t		 wl, wl2, i;

	if (len >= sizeof(s))
		len = sizeof(s) - 1;
	memcpy(s, p, len);
	s[len] = '\0';
	if (dns_name_towire(s, wire, &wl) == -1)
		return;
	if (wl > DNS_MAXWIRE)
		abort();
	if (dns_wire_totext(wire, wl, text) == -1)
		return;			/* too long as text */
	if (dns_name_towire(text, wire2, &wl2) == -1 || wl2 != wl)
		abort();
	for (i = 0; i < wl; i++)	/* equal but for case */
		if (wire[i] != wire2[i] && !(wire[i] >= 'A' &&
		    wire[i] <= 'Z' && wire2[i] == wire[i] + 32))
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t	*copy;

	/* exact size, so reads past the end are caught */
	if ((copy = malloc(size ? size : 1)) == NULL)
		abort();
	memcpy(copy, data, size);
	check_query(copy, size);
	check_msg(copy, size);
	check_name(copy, size);
	free(copy);
	return 0;
}
