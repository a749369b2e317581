/*
 * Decisions on the policy model: a matching deny wins, then a matching
 * allow, then a matching ask, then defaultVerdict; the rule reported
 * for audit is the most specific one of the winning verdict, so rule
 * order never changes anything.
 *
 * policy_tcp_addr/policy_udp_addr consult only CIDR rules (an address
 * literal in a rule is a /32 or /128).  When none matches they return
 * defaultVerdict with *rule NULL: the caller refuses a private, loopback,
 * metadata, ... destination (lensnetd/addr.c) unless *rule is set and the
 * verdict is allow.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <ctype.h>
#include <string.h>

#include "policy.h"
#include "policy_int.h"

/*
 * A DNS name into out: lower case, without the final dot.  -1 when it
 * is empty, too long, has an empty or too long label or a character
 * outside [A-Za-z0-9_-].
 */
int
norm_name(const char *s, size_t len, char *out)
{
	size_t	 i, label = 0;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > MAXNAME)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char ch = s[i];

		if (ch == '.') {
			if (label == 0)
				return -1;
			label = 0;
		} else if (isalnum(ch) || ch == '-' || ch == '_') {
			if (++label > 63)
				return -1;
		} else
			return -1;
		out[i] = tolower(ch);
	}
	if (label == 0)
		return -1;
	out[len] = '\0';
	return 0;
}

/* does name (normalized) match the pattern? */
static int
hostpat_match(const struct hostpat *hp, const char *name)
{
	size_t	 nl, pl;

	if (!hp->wildcard)
		return strcmp(hp->name, name) == 0;
	nl = strlen(name);
	pl = strlen(hp->name);
	return nl > pl + 1 && name[nl - pl - 1] == '.' &&
	    strcmp(name + nl - pl, hp->name) == 0;
}

static int
cidr_match(const struct cidr *cd, const struct sockaddr *sa)
{
	static const uint8_t v4mapped[12] =
	    { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const uint8_t	*a;
	unsigned int	 full, rest;

	if (sa == NULL)
		return 0;
	if (sa->sa_family == AF_INET)
		a = (const uint8_t *)
		    &((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
	else
		return 0;
	if (sa->sa_family == AF_INET6 && cd->af == AF_INET &&
	    memcmp(a, v4mapped, sizeof(v4mapped)) == 0)
		a += sizeof(v4mapped);		/* ::ffff:a.b.c.d */
	else if (sa->sa_family != cd->af)
		return 0;
	full = cd->plen / 8;
	rest = cd->plen % 8;
	if (memcmp(a, cd->addr, full) != 0)
		return 0;
	if (rest && ((a[full] ^ cd->addr[full]) & (0xff00 >> rest) & 0xff))
		return 0;
	return 1;
}

/* ---- decisions ---- */

/*
 * Among the matching rules, the verdict: deny, then allow, then ask.
 * best[v] is the most specific matching rule of verdict v so far.
 */
struct pick {
	int		 any[3];
	const char	*rule[3];
	long		 score[3];
	int		 tls[3];
};

static void
pick_add(struct pick *pk, enum verdict v, const char *match, long score,
    int tls)
{
	if (!pk->any[v] || score > pk->score[v] ||
	    (score == pk->score[v] && strcmp(match, pk->rule[v]) < 0)) {
		pk->rule[v] = match;
		pk->score[v] = score;
	}
	pk->any[v] = 1;
	pk->tls[v] |= tls;
}

static enum verdict
pick_result(const struct policy *pol, const struct pick *pk,
    const char **rule, int *tls)
{
	static const enum verdict order[] = { VERDICT_DENY, VERDICT_ALLOW,
	    VERDICT_ASK };
	size_t	 i;

	for (i = 0; i < 3; i++)
		if (pk->any[order[i]]) {
			if (rule)
				*rule = pk->rule[order[i]];
			if (tls)
				*tls = pk->tls[order[i]];
			return order[i];
		}
	if (rule)
		*rule = NULL;
	if (tls)
		*tls = 0;
	return pol->defverdict;
}

/* exact names first, then longer suffixes; port-specific first */
static long
name_score(const struct hostpat *hp, unsigned int portspan)
{
	return ((long)(!hp->wildcard) << 40) |
	    ((long)strlen(hp->name) << 20) | (65536 - portspan);
}

/*
 * The ports an http rule covers: the one it names; without one, 80 and
 * 443 for allow and ask (an HTTP service elsewhere is named, raw TCP
 * belongs under tcp), every port for deny (a deny never narrows).
 */
static int
http_port_covers(const struct http_rule *r, uint16_t port)
{
	if (r->port != 0)
		return r->port == port;
	return r->verdict == VERDICT_DENY || port == 80 || port == 443;
}

void
policy_http(const struct policy *pol, const char *host, uint16_t port,
    struct policy_http_decision *d)
{
	char		 name[MAXNAME + 1];
	struct pick	 pk;
	size_t		 i;

	memset(d, 0, sizeof(*d));
	memset(&pk, 0, sizeof(pk));
	if (host == NULL || norm_name(host, strlen(host), name) == -1) {
		d->verdict = VERDICT_DENY;
		return;
	}
	for (i = 0; i < pol->nhttp; i++) {
		const struct http_rule *r = &pol->http[i];

		if (!http_port_covers(r, port) ||
		    !hostpat_match(&r->host, name))
			continue;
		pick_add(&pk, r->verdict, r->match,
		    name_score(&r->host, r->port ? 1 : 65535), r->tls);
	}
	d->verdict = pick_result(pol, &pk, &d->rule, &d->tls_terminate);
}

static enum verdict
net_name(const struct policy *pol, const struct net_rule *rules, size_t n,
    const char *name, uint16_t port, const char **rule)
{
	char		 nm[MAXNAME + 1];
	struct pick	 pk;
	size_t		 i;

	if (rule)
		*rule = NULL;
	if (name == NULL || norm_name(name, strlen(name), nm) == -1)
		return VERDICT_DENY;
	memset(&pk, 0, sizeof(pk));
	for (i = 0; i < n; i++) {
		const struct net_rule *r = &rules[i];

		if (r->is_cidr || port < r->lo || port > r->hi ||
		    !hostpat_match(&r->host, nm))
			continue;
		pick_add(&pk, r->verdict, r->match,
		    name_score(&r->host, r->hi - r->lo + 1), 0);
	}
	return pick_result(pol, &pk, rule, NULL);
}

enum verdict
policy_tcp_name(const struct policy *pol, const char *name, uint16_t port,
    const char **rule)
{
	return net_name(pol, pol->tcp, pol->ntcp, name, port, rule);
}

static enum verdict
net_addr(const struct policy *pol, const struct net_rule *rules, size_t n,
    const struct sockaddr *sa, uint16_t port, const char **rule)
{
	struct pick	 pk;
	size_t		 i;

	memset(&pk, 0, sizeof(pk));
	for (i = 0; i < n; i++) {
		const struct net_rule *r = &rules[i];

		if (!r->is_cidr || port < r->lo || port > r->hi ||
		    !cidr_match(&r->cidr, sa))
			continue;
		pick_add(&pk, r->verdict, r->match,
		    ((long)r->cidr.plen << 20) | (65536 - (r->hi - r->lo + 1)),
		    0);
	}
	return pick_result(pol, &pk, rule, NULL);
}

enum verdict
policy_tcp_addr(const struct policy *pol, const struct sockaddr *sa,
    uint16_t port, const char **rule)
{
	return net_addr(pol, pol->tcp, pol->ntcp, sa, port, rule);
}

enum verdict
policy_udp_addr(const struct policy *pol, const struct sockaddr *sa,
    uint16_t port, const char **rule)
{
	return net_addr(pol, pol->udp, pol->nudp, sa, port, rule);
}

/*
 * Names: a port-less deny (an http rule without :port, a tcp or udp
 * rule with every port) that matches refuses the name; otherwise it
 * resolves when defaultVerdict is allow or ask (asking needs the
 * connection, hence the name) or some allow or ask rule of http, tcp or
 * udp matches it on some port.
 */
static void
dns_scan(const struct net_rule *rules, size_t n, const char *name,
    int *deny, int *allow)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		const struct net_rule *r = &rules[i];

		if (r->is_cidr || !hostpat_match(&r->host, name))
			continue;
		if (r->verdict == VERDICT_DENY) {
			if (r->lo == 1 && r->hi == 65535)
				*deny = 1;
		} else
			*allow = 1;
	}
}

enum verdict
policy_dns(const struct policy *pol, const char *name)
{
	char	 nm[MAXNAME + 1];
	size_t	 i;
	int	 deny = 0, allow = 0;

	if (name == NULL || norm_name(name, strlen(name), nm) == -1)
		return VERDICT_DENY;
	for (i = 0; i < pol->nhttp; i++) {
		const struct http_rule *r = &pol->http[i];

		if (!hostpat_match(&r->host, nm))
			continue;
		if (r->verdict == VERDICT_DENY) {
			if (r->port == 0)
				deny = 1;
		} else
			allow = 1;
	}
	dns_scan(pol->tcp, pol->ntcp, nm, &deny, &allow);
	dns_scan(pol->udp, pol->nudp, nm, &deny, &allow);
	if (deny)
		return VERDICT_DENY;
	if (allow || pol->defverdict != VERDICT_DENY)
		return VERDICT_ALLOW;
	return VERDICT_DENY;
}

