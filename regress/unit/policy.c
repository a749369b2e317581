/*
 * Unit test of common/policy_*.c (TAP): parsing, errors with their exact
 * position and wording, and every decision function.  Decisions are
 * checked with the rules in both orders, since order must never
 * matter.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "tap.h"



static struct policy *
P(const char *text)
{
	struct policy_error	 err;
	struct policy		*pol;
	char			 buf[600];

	if ((pol = policy_parse("t.yaml", text, strlen(text), &err)) == NULL) {
		policy_strerror(&err, buf, sizeof(buf));
		printf("# unexpected error: %s\n", buf);
		printf("Bail out! a test policy does not parse\n");
		exit(1);
	}
	return pol;
}

/* text must be refused with exactly want ("t.yaml:L:C: ...") */
static void
bad(const char *text, const char *want)
{
	struct policy_error	 err;
	struct policy		*pol;
	char			 buf[600];

	pol = policy_parse("t.yaml", text, strlen(text), &err);
	if (pol != NULL) {
		ok(0, "refused: %s", want);
		policy_free(pol);
		return;
	}
	policy_strerror(&err, buf, sizeof(buf));
	if (!ok(strcmp(buf, want) == 0, "refused: %s", want))
		printf("#   got: %s\n", buf);
}

static struct sockaddr_storage ss;

static const struct sockaddr *
A(const char *addr)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1)
		sin6->sin6_family = AF_INET6;
	else
		abort();
	return (struct sockaddr *)&ss;
}

static enum verdict
H(const struct policy *pol, const char *host, uint16_t port, const char **rule)
{
	struct policy_http_decision	 d;

	policy_http(pol, host, port, &d);
	if (rule)
		*rule = d.rule;
	return d.verdict;
}

static int
streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

#define HEAD	"version: 1\nnetwork:\n"

/* the same rules in two orders: every check is run on both */
static void
test_order(void)
{
	static const char *const texts[2] = {
	    HEAD "  egress:\n    http:\n"
	    "      - {match: x.test, verdict: allow}\n"
	    "      - {match: x.test, verdict: deny}\n"
	    "      - {match: y.test, verdict: ask}\n"
	    "      - {match: y.test, verdict: allow}\n"
	    "      - {match: z.test, verdict: ask}\n"
	    "      - {match: \"*.w.test\", verdict: allow}\n"
	    "      - {match: \"a.w.test\", verdict: allow, tlsTerminate: true}\n"
	    "      - {match: \"*.w.test:8443\", verdict: deny}\n"
	    "    tcp:\n"
	    "      - {match: \"10.0.0.0/16:*\", verdict: allow}\n"
	    "      - {match: \"10.0.5.0/24:*\", verdict: deny}\n"
	    "      - {match: \"db.test:5432\", verdict: allow}\n"
	    "      - {match: \"db.test:1-65535\", verdict: ask}\n",
	    HEAD "  egress:\n    tcp:\n"
	    "      - {match: \"db.test:1-65535\", verdict: ask}\n"
	    "      - {match: \"db.test:5432\", verdict: allow}\n"
	    "      - {match: \"10.0.5.0/24:*\", verdict: deny}\n"
	    "      - {match: \"10.0.0.0/16:*\", verdict: allow}\n"
	    "    http:\n"
	    "      - {match: \"*.w.test:8443\", verdict: deny}\n"
	    "      - {match: \"a.w.test\", verdict: allow, tlsTerminate: true}\n"
	    "      - {match: \"*.w.test\", verdict: allow}\n"
	    "      - {match: z.test, verdict: ask}\n"
	    "      - {match: y.test, verdict: allow}\n"
	    "      - {match: y.test, verdict: ask}\n"
	    "      - {match: x.test, verdict: deny}\n"
	    "      - {match: x.test, verdict: allow}\n",
	};
	struct policy_http_decision	 d;
	struct policy			*pol;
	const char			*rule;
	int				 i;

	for (i = 0; i < 2; i++) {
		pol = P(texts[i]);
		ok(H(pol, "x.test", 443, NULL) == VERDICT_DENY,
		    "order %d: allow and deny: deny wins", i);
		ok(H(pol, "y.test", 443, NULL) == VERDICT_ALLOW,
		    "order %d: ask and allow: allow", i);
		ok(H(pol, "z.test", 443, &rule) == VERDICT_ASK &&
		    streq(rule, "z.test"), "order %d: ask alone: ask", i);
		ok(H(pol, "y.test", 80, NULL) == VERDICT_ALLOW &&
		    H(pol, "y.test", 2222, &rule) == VERDICT_DENY &&
		    rule == NULL && H(pol, "y.test", 8443, NULL) ==
		    VERDICT_DENY && H(pol, "z.test", 22, NULL) == VERDICT_DENY,
		    "order %d: a port-less allow or ask covers 80 and 443 "
		    "only", i);
		ok(H(pol, "x.test", 2222, &rule) == VERDICT_DENY &&
		    streq(rule, "x.test"), "order %d: a port-less deny covers "
		    "every port", i);
		ok(H(pol, "v.test", 443, &rule) == VERDICT_DENY &&
		    rule == NULL, "order %d: nothing: defaultVerdict", i);
		policy_http(pol, "a.w.test", 443, &d);
		ok(d.verdict == VERDICT_ALLOW && d.tls_terminate &&
		    streq(d.rule, "a.w.test"), "order %d: exact rule reported "
		    "over *.w.test, with its tlsTerminate", i);
		policy_http(pol, "b.w.test", 443, &d);
		ok(d.verdict == VERDICT_ALLOW && !d.tls_terminate &&
		    streq(d.rule, "*.w.test"), "order %d: b.w.test by *.w.test",
		    i);
		policy_http(pol, "a.w.test", 8443, &d);
		ok(d.verdict == VERDICT_DENY && !d.tls_terminate &&
		    streq(d.rule, "*.w.test:8443"), "order %d: a port-specific "
		    "deny on a wildcard beats an exact allow", i);
		ok(policy_tcp_name(pol, "db.test", 5432, &rule) ==
		    VERDICT_ALLOW && streq(rule, "db.test:5432"),
		    "order %d: tcp allow over ask", i);
		ok(policy_tcp_name(pol, "db.test", 22, &rule) == VERDICT_ASK &&
		    streq(rule, "db.test:1-65535"), "order %d: tcp ask", i);
		ok(policy_tcp_addr(pol, A("10.0.5.9"), 80, &rule) ==
		    VERDICT_DENY && streq(rule, "10.0.5.0/24:*"),
		    "order %d: CIDR deny inside a wider allow", i);
		ok(policy_tcp_addr(pol, A("10.0.6.9"), 80, &rule) ==
		    VERDICT_ALLOW && streq(rule, "10.0.0.0/16:*"),
		    "order %d: CIDR allow outside the deny", i);
		policy_free(pol);
	}
}

/* a host a credential is bound to is always intercepted (issue 13) */
static void
test_cred_bound(void)
{
	struct policy_http_decision	 d;
	struct policy			*pol;

	pol = P(HEAD "  egress:\n    http:\n"
	    "      - {match: api.test, verdict: allow}\n"
	    "      - {match: \"*.s3.test\", verdict: allow}\n"
	    "      - {match: other.test, verdict: allow}\n"
	    "      - {match: gone.test, verdict: deny}\n"
	    "credentials:\n"
	    "  - id: k\n    envVar: K\n    injections:\n"
	    "      - {type: header, host: api.test, name: Authorization, "
	    "value: \"Bearer {secret}\"}\n"
	    "      - {type: query, host: \"*.s3.test:8443\", name: key, value: \"{secret}\"}\n"
	    "      - {type: query, host: gone.test, name: key, value: \"{secret}\"}\n");
	policy_http(pol, "API.test.", 443, &d);
	ok(d.verdict == VERDICT_ALLOW && d.tls_terminate &&
	    policy_cred_bound(pol, "api.test", 443),
	    "bound host: allowed and intercepted without tlsTerminate");
	policy_http(pol, "other.test", 443, &d);
	ok(d.verdict == VERDICT_ALLOW && !d.tls_terminate &&
	    !policy_cred_bound(pol, "other.test", 443),
	    "an unbound host: not intercepted");
	policy_http(pol, "b.s3.test", 443, &d);
	ok(!d.tls_terminate && !policy_cred_bound(pol, "b.s3.test", 443) &&
	    policy_cred_bound(pol, "b.s3.test", 8443) &&
	    !policy_cred_bound(pol, "s3.test", 8443),
	    "a bound host:port binds that port, *.suffix strictly below");
	policy_http(pol, "gone.test", 443, &d);
	ok(d.verdict == VERDICT_DENY && !d.tls_terminate &&
	    policy_cred_bound(pol, "gone.test", 443),
	    "a denied bound host stays denied");
	policy_free(pol);

	/*
	 * lensnetd's parent asks which injection a request gets before it
	 * asks lenscredd for an exchange: the proxy's word (credential
	 * index, host, port) is checked against the policy
	 */
	pol = P("version: 1\ncredentials:\n"
	    "  - id: k\n    envVar: K\n    injections:\n"
	    "      - {type: header, host: \"*.api.test\", name: X-Key, "
	    "value: \"{secret}\"}\n"
	    "      - {type: basic, host: \"a.api.test:8443\", user: robot}\n"
	    "  - id: aws\n    envVar: AWS\n    injections:\n"
	    "      - {type: awsSigv4, host: \"s3.test\", region: eu-west-1, "
	    "service: s3}\n"
	    "  - id: g\n    envVar: G\n    injections:\n"
	    "      - {type: oauth2Refresh, host: g.test, tokenUrl: "
	    "\"https://tok.test:8443/t\"}\n");
	{
		struct policy_injection	 pi;
		char			 w[200];

		ok(policy_cred_injection(pol, 0, "A.api.test.", 8443, &pi, w,
		    sizeof(w)) == 0 && strcmp(pi.cred, "k") == 0 &&
		    strcmp(pi.type_name, "header") == 0 &&
		    strcmp(pi.name, "X-Key") == 0 && pi.user == NULL,
		    "exchange: the first matching injection (header before "
		    "basic)");
		ok(policy_cred_injection(pol, 1, "s3.test", 443, &pi, w,
		    sizeof(w)) == 0 && strcmp(pi.type_name, "awsSigv4") == 0 &&
		    strcmp(pi.region, "eu-west-1") == 0 &&
		    strcmp(pi.service, "s3") == 0,
		    "exchange: awsSigv4 with its region and service");
		ok(policy_cred_injection(pol, 2, "g.test", 443, &pi, w,
		    sizeof(w)) == 0 && strcmp(pi.token_url,
		    "https://tok.test:8443/t") == 0 && pi.client_id == NULL,
		    "exchange: oauth2Refresh with its tokenUrl");
		ok(policy_cred_injection(pol, 3, "s3.test", 443, &pi, w,
		    sizeof(w)) == -1 && strcmp(w, "the policy has no "
		    "credential 3 (it has 3)") == 0,
		    "exchange: a credential index past the policy's: %s", w);
		ok(policy_cred_injection(pol, 1, "a.api.test", 443, &pi, w,
		    sizeof(w)) == -1 && strcmp(w, "credential aws is not "
		    "bound to a.api.test:443") == 0,
		    "exchange: a host bound to another credential: %s", w);
		ok(policy_cred_injection(pol, 0, "api.test", 443, &pi, w,
		    sizeof(w)) == -1,
		    "exchange: *.api.test does not bind api.test");
		ok(policy_cred_injection(pol, 2, "g.test", 0, &pi, w,
		    sizeof(w)) == -1 && policy_cred_injection(pol, 2,
		    "g test", 443, &pi, w, sizeof(w)) == -1,
		    "exchange: port 0, a host that is not a name");
		ok(policy_cred_injection(pol, 2, "tok.test", 8443, &pi, w,
		    sizeof(w)) == -1,
		    "exchange: the token endpoint is not a bound host");
	}
	policy_free(pol);
}

static void
test_names(void)
{
	struct policy	*pol;
	const char	*rule;
	char		 longname[300];

	pol = P(HEAD "  defaultVerdict: allow\n  egress:\n    http:\n"
	    "      - {match: \"*.pypi.org\", verdict: deny}\n"
	    "      - {match: \"API.Test.\", verdict: deny}\n"
	    "      - {match: \"port.test:8080\", verdict: deny}\n");
	ok(H(pol, "files.pypi.org", 443, &rule) == VERDICT_DENY &&
	    streq(rule, "*.pypi.org"), "*.pypi.org matches files.pypi.org");
	ok(H(pol, "a.b.c.pypi.org", 443, NULL) == VERDICT_DENY,
	    "*.pypi.org matches a.b.c.pypi.org");
	ok(H(pol, "pypi.org", 443, NULL) == VERDICT_ALLOW,
	    "*.pypi.org does not match pypi.org itself");
	ok(H(pol, "xpypi.org", 443, NULL) == VERDICT_ALLOW,
	    "*.pypi.org does not match xpypi.org");
	ok(H(pol, "pypi.org.evil.test", 443, NULL) == VERDICT_ALLOW,
	    "*.pypi.org does not match pypi.org.evil.test");
	ok(H(pol, "FILES.PyPI.Org.", 443, NULL) == VERDICT_DENY,
	    "case and a trailing dot in the name are ignored");
	ok(H(pol, "api.test", 443, NULL) == VERDICT_DENY &&
	    H(pol, "API.TEST.", 443, NULL) == VERDICT_DENY,
	    "case and a trailing dot in the rule are ignored");
	ok(H(pol, "api.test..", 443, NULL) == VERDICT_DENY &&
	    H(pol, "x.api.test", 443, NULL) == VERDICT_ALLOW,
	    "two trailing dots are no name; a subdomain is not the name");
	ok(H(pol, "port.test", 8080, NULL) == VERDICT_DENY &&
	    H(pol, "port.test", 80, NULL) == VERDICT_ALLOW,
	    "a rule with :port matches only that port");
	ok(H(pol, "", 443, &rule) == VERDICT_DENY && rule == NULL,
	    "empty name: deny even with defaultVerdict allow");
	ok(H(pol, "a..b", 443, NULL) == VERDICT_DENY &&
	    H(pol, "a b", 443, NULL) == VERDICT_DENY &&
	    H(pol, ".", 443, NULL) == VERDICT_DENY &&
	    H(pol, "a/b", 443, NULL) == VERDICT_DENY &&
	    H(pol, NULL, 443, NULL) == VERDICT_DENY,
	    "malformed names are denied");
	memset(longname, 'a', sizeof(longname));
	memcpy(longname, "a.", 2);
	longname[63 + 2] = '\0';
	ok(H(pol, longname + 2, 443, NULL) == VERDICT_ALLOW &&
	    H(pol, longname, 443, NULL) == VERDICT_ALLOW,
	    "a 63-byte label is a name");
	longname[63 + 2] = 'a';
	longname[64 + 2] = '\0';
	ok(H(pol, longname, 443, NULL) == VERDICT_DENY,
	    "a 64-byte label is not");
	ok(policy_dns(pol, "files.pypi.org.") == VERDICT_DENY &&
	    policy_dns(pol, "pypi.org") == VERDICT_ALLOW &&
	    policy_dns(pol, "port.test") == VERDICT_ALLOW,
	    "dns with defaultVerdict allow: only port-less denies refuse");
	policy_free(pol);
}

static void
test_ports(void)
{
	struct policy	*pol;
	const char	*rule;

	pol = P(HEAD "  egress:\n    tcp:\n"
	    "      - {match: \"db.test:1000-2000\", verdict: allow}\n"
	    "      - {match: \"one.test:22\", verdict: allow}\n"
	    "      - {match: \"*.all.test:*\", verdict: allow}\n"
	    "      - {match: \"edge.test:65535\", verdict: allow}\n"
	    "    http:\n"
	    "      - {match: \"web.test\", verdict: allow}\n");
	ok(policy_tcp_name(pol, "db.test", 999, &rule) == VERDICT_DENY &&
	    rule == NULL, "range: 999 is below 1000-2000");
	ok(policy_tcp_name(pol, "db.test", 1000, NULL) == VERDICT_ALLOW &&
	    policy_tcp_name(pol, "db.test", 2000, NULL) == VERDICT_ALLOW,
	    "range: both ends included");
	ok(policy_tcp_name(pol, "db.test", 2001, NULL) == VERDICT_DENY,
	    "range: 2001 is above");
	ok(policy_tcp_name(pol, "one.test", 22, NULL) == VERDICT_ALLOW &&
	    policy_tcp_name(pol, "one.test", 23, NULL) == VERDICT_DENY,
	    "single port");
	ok(policy_tcp_name(pol, "x.all.test", 1, NULL) == VERDICT_ALLOW &&
	    policy_tcp_name(pol, "x.all.test", 65535, NULL) ==
	    VERDICT_ALLOW && policy_tcp_name(pol, "all.test", 80, NULL) ==
	    VERDICT_DENY, "*: every port, wildcard strictly below");
	ok(policy_tcp_name(pol, "edge.test", 65535, NULL) == VERDICT_ALLOW,
	    "port 65535");
	ok(policy_tcp_name(pol, "web.test", 443, NULL) == VERDICT_DENY,
	    "tcp names: http rules do not apply");
	ok(H(pol, "db.test", 1500, NULL) == VERDICT_DENY,
	    "http: tcp rules do not apply");
	ok(policy_tcp_addr(pol, A("198.18.0.1"), 1500, &rule) ==
	    VERDICT_DENY && rule == NULL, "addresses: name rules do not apply");
	policy_free(pol);
}

static void
test_cidr(void)
{
	struct policy	*pol;
	const char	*rule;

	pol = P(HEAD "  defaultVerdict: allow\n  egress:\n    tcp:\n"
	    "      - {match: \"10.0.5.0/24:5432\", verdict: allow}\n"
	    "      - {match: \"192.168.1.10:6379\", verdict: allow}\n"
	    "      - {match: \"172.16.0.0/23:*\", verdict: ask}\n"
	    "      - {match: \"[2001:db8::/32]:443\", verdict: allow}\n"
	    "      - {match: \"[fd00::2/127]:22\", verdict: deny}\n"
	    "      - {match: \"[2001:db8:1::/48]:443\", verdict: deny}\n"
	    "    udp:\n"
	    "      - {match: \"10.0.5.53:53\", verdict: allow}\n"
	    "      - {match: \"0.0.0.0/0:123\", verdict: deny}\n");
	ok(policy_tcp_addr(pol, A("10.0.5.7"), 5432, &rule) ==
	    VERDICT_ALLOW && streq(rule, "10.0.5.0/24:5432"),
	    "v4 CIDR: inside, the rule is named");
	ok(policy_tcp_addr(pol, A("10.0.5.0"), 5432, NULL) == VERDICT_ALLOW &&
	    policy_tcp_addr(pol, A("10.0.5.255"), 5432, NULL) ==
	    VERDICT_ALLOW, "v4 CIDR: both ends");
	ok(policy_tcp_addr(pol, A("10.0.6.1"), 5432, &rule) == VERDICT_ALLOW &&
	    rule == NULL, "v4 CIDR: outside gives defaultVerdict and no "
	    "rule (the caller refuses private addresses then)");
	ok(policy_tcp_addr(pol, A("10.0.5.7"), 5433, &rule) == VERDICT_ALLOW &&
	    rule == NULL, "v4 CIDR: other port, no rule");
	ok(policy_tcp_addr(pol, A("192.168.1.10"), 6379, &rule) ==
	    VERDICT_ALLOW && rule != NULL &&
	    policy_tcp_addr(pol, A("192.168.1.11"), 6379, &rule) ==
	    VERDICT_ALLOW && rule == NULL, "a plain address is a /32");
	ok(policy_tcp_addr(pol, A("172.16.1.255"), 1, NULL) == VERDICT_ASK &&
	    policy_tcp_addr(pol, A("172.16.2.0"), 1, &rule) ==
	    VERDICT_ALLOW && rule == NULL, "/23 boundary");
	ok(policy_tcp_addr(pol, A("::ffff:10.0.5.7"), 5432, &rule) ==
	    VERDICT_ALLOW && streq(rule, "10.0.5.0/24:5432"),
	    "IPv4-mapped IPv6 matches the IPv4 rule");
	ok(policy_tcp_addr(pol, A("2001:db8:ffff::1"), 443, &rule) ==
	    VERDICT_ALLOW && streq(rule, "[2001:db8::/32]:443"),
	    "v6 CIDR: inside");
	ok(policy_tcp_addr(pol, A("2001:db8:1::5"), 443, &rule) ==
	    VERDICT_DENY && streq(rule, "[2001:db8:1::/48]:443"),
	    "v6 CIDR: a narrower deny wins");
	ok(policy_tcp_addr(pol, A("2001:db9::1"), 443, &rule) ==
	    VERDICT_ALLOW && rule == NULL, "v6 CIDR: outside");
	ok(policy_tcp_addr(pol, A("fd00::3"), 22, NULL) == VERDICT_DENY &&
	    policy_tcp_addr(pol, A("fd00::2"), 22, NULL) == VERDICT_DENY &&
	    policy_tcp_addr(pol, A("fd00::4"), 22, &rule) == VERDICT_ALLOW &&
	    rule == NULL, "/127");
	ok(policy_tcp_addr(pol, A("10.0.5.53"), 53, &rule) == VERDICT_ALLOW &&
	    rule == NULL, "tcp: udp rules do not apply");
	ok(policy_udp_addr(pol, A("10.0.5.53"), 53, &rule) == VERDICT_ALLOW &&
	    streq(rule, "10.0.5.53:53"), "udp: the udp rule");
	ok(policy_udp_addr(pol, A("10.0.5.7"), 5432, &rule) ==
	    VERDICT_ALLOW && rule == NULL, "udp: tcp rules do not apply");
	ok(policy_udp_addr(pol, A("198.18.3.4"), 123, &rule) ==
	    VERDICT_DENY && streq(rule, "0.0.0.0/0:123"),
	    "udp: 0.0.0.0/0 matches every IPv4 address");
	ok(policy_udp_addr(pol, A("2001:db8::1"), 123, &rule) ==
	    VERDICT_ALLOW && rule == NULL, "0.0.0.0/0 is no IPv6 rule");
	ok(policy_tcp_addr(pol, NULL, 1, &rule) == VERDICT_ALLOW &&
	    rule == NULL, "no address: no rule");
	ok(policy_dns(pol, "10.0.5.7") == VERDICT_ALLOW,
	    "dns: CIDR rules are not names (default allow)");
	policy_free(pol);
}

static void
test_dns(void)
{
	struct policy	*pol;

	pol = P(HEAD "  egress:\n    http:\n"
	    "      - {match: \"*.pypi.org\", verdict: allow}\n"
	    "      - {match: \"ask.test\", verdict: ask}\n"
	    "      - {match: \"both.test\", verdict: allow}\n"
	    "      - {match: \"both.test:8443\", verdict: deny}\n"
	    "      - {match: \"gone.test\", verdict: allow}\n"
	    "      - {match: \"gone.test\", verdict: deny}\n"
	    "      - {match: \"*.evil.test\", verdict: deny}\n"
	    "      - {match: \"ok.evil.test\", verdict: allow}\n"
	    "    tcp:\n"
	    "      - {match: \"git.test:22\", verdict: allow}\n"
	    "      - {match: \"tcpdeny.test:*\", verdict: deny}\n"
	    "      - {match: \"both.test:1-65535\", verdict: ask}\n"
	    "      - {match: \"10.0.0.0/8:*\", verdict: allow}\n"
	    "      - {match: \"part.test:1-1000\", verdict: deny}\n"
	    "      - {match: \"part.test:443\", verdict: allow}\n"
	    "    udp:\n"
	    "      - {match: \"ntp.test:123\", verdict: allow}\n"
	    "      - {match: \"udpdeny.test:*\", verdict: deny}\n"
	    "      - {match: \"tcpdeny.test:53\", verdict: allow}\n");
	ok(policy_dns(pol, "files.pypi.org") == VERDICT_ALLOW &&
	    policy_dns(pol, "pypi.org") == VERDICT_DENY,
	    "dns: wildcard allow, not the suffix itself");
	ok(policy_dns(pol, "ASK.test.") == VERDICT_ALLOW,
	    "dns: an ask rule resolves");
	ok(policy_dns(pol, "both.test") == VERDICT_ALLOW,
	    "dns: a deny with a port does not refuse the name");
	ok(policy_dns(pol, "gone.test") == VERDICT_DENY,
	    "dns: a port-less deny refuses, whatever else allows");
	ok(policy_dns(pol, "ok.evil.test") == VERDICT_DENY &&
	    policy_dns(pol, "evil.test") == VERDICT_DENY,
	    "dns: *.evil.test deny refuses below it; evil.test has no rule");
	ok(policy_dns(pol, "git.test") == VERDICT_ALLOW &&
	    policy_dns(pol, "ntp.test") == VERDICT_ALLOW,
	    "dns: tcp and udp name rules resolve");
	ok(policy_dns(pol, "tcpdeny.test") == VERDICT_DENY &&
	    policy_dns(pol, "udpdeny.test") == VERDICT_DENY,
	    "dns: a tcp/udp deny on every port refuses");
	ok(policy_dns(pol, "part.test") == VERDICT_ALLOW,
	    "dns: a deny on some ports does not refuse");
	ok(policy_dns(pol, "other.test") == VERDICT_DENY &&
	    policy_dns(pol, "") == VERDICT_DENY &&
	    policy_dns(pol, "a..test") == VERDICT_DENY &&
	    policy_dns(pol, NULL) == VERDICT_DENY,
	    "dns: no rule, empty and malformed names: NXDOMAIN");
	policy_free(pol);

	pol = P(HEAD "  defaultVerdict: ask\n  egress:\n    http:\n"
	    "      - {match: no.test, verdict: deny}\n"
	    "      - {match: \"asked.test:8080\", verdict: ask}\n");
	ok(policy_dns(pol, "any.test") == VERDICT_ASK &&
	    policy_dns(pol, "no.test") == VERDICT_DENY &&
	    policy_dns(pol, "asked.test") == VERDICT_ALLOW,
	    "dns with defaultVerdict ask: a name no rule matches is asked "
	    "(held), a name a rule names resolves (its connection asks)");
	ok(H(pol, "any.test", 443, NULL) == VERDICT_ASK,
	    "http with defaultVerdict ask: ask");
	policy_free(pol);
}

static void
test_publish(void)
{
	struct policy	*pol;

	/* the grammar itself: regress/unit/grammar.c */
	pol = P(HEAD "  publish: [\"8080:80\", \"[::1]:8080:80\"]\n");
	ok(policy_npublish(pol) == 2 &&
	    policy_publish_at(pol, 0)->hostport == 8080 &&
	    strcmp(policy_publish_at(pol, 1)->addr, "::1") == 0 &&
	    policy_publish_at(pol, 2) == NULL,
	    "publish entries of a policy");
	policy_free(pol);
}

static void
test_resources(void)
{
	static const struct {
		const char	*text;
		uint32_t	 cpu;
		uint64_t	 mem;
		uint32_t	 pids;
	} r[] = {
		{ "resources: {cpus: 1, memory: 512m, pids: 256}", 1000,
		    512ULL << 20, 256 },
		{ "resources: {cpus: 1.5, memory: 2g}", 1500, 2ULL << 30, 0 },
		{ "resources: {cpus: 0.001, memory: 4096k}", 1, 4 << 20, 0 },
		{ "resources: {cpus: .25, memory: 5M}", 250, 5 << 20, 0 },
		{ "resources: {cpus: 2., memory: 4194304}", 2000, 4 << 20, 0 },
		{ "resources: {cpus: 0.002, memory: \"6291456\"}", 2, 6 << 20,
		    0 },
		{ "resources: {cpus: 1024.000, memory: 1024G, pids: 4194304}",
		    1024000, 1ULL << 40, 4194304 },
		{ "resources: {memory: 2t}", 0, 2ULL << 40, 0 },
		{ "resources: {memory: 1024TiB}", 0, 1ULL << 50, 0 },
		{ "resources: {}", 0, 0, 0 },
		{ "network: {}", 0, 0, 0 },
	};
	const struct policy_resources	*res;
	struct policy			*pol;
	char				 text[200];
	size_t				 i;

	for (i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		snprintf(text, sizeof(text), "version: 1\n%s\n", r[i].text);
		pol = P(text);
		res = policy_resources(pol);
		ok(res->cpu_millis == r[i].cpu && res->memory == r[i].mem &&
		    res->pids == r[i].pids, "%s: %u millis, %llu bytes, %u "
		    "pids", r[i].text, r[i].cpu, (unsigned long long)r[i].mem,
		    r[i].pids);
		policy_free(pol);
	}
}

static void
test_errors(void)
{
	bad("version: 1\nnetwork:\n  egress:\n    http:\n"
	    "      - {match: a.test, verdict: allow}\n"
	    "      - match: b.test\n"
	    "        verdict: alow\n",
	    "t.yaml:7:18: network.egress.http[1].verdict: \"alow\" is not "
	    "one of allow, deny, ask");
	bad("version: 1\nversion: 1\n",
	    "t.yaml:2:1: duplicate key \"version\" (first on line 1)");
	bad("version: 1\nnetwork: {egress: {tcp: [{match: \"a.test:1\", "
	    "verdict: deny, verdict: allow}]}}\n",
	    "t.yaml:2:61: network.egress.tcp[0]: duplicate key \"verdict\" "
	    "(first on line 2)");
	bad("version: 1\nnetwork: {egress: {tcp: [{match: \"a.test:0\", "
	    "verdict: deny}]}}\n",
	    "t.yaml:2:34: network.egress.tcp[0].match: \"a.test:0\": port "
	    "\"0\" is not a number from 1 to 65535, a range N-M or *");
	bad("version: 1\nnetwork: {egress: {tcp: [{match: \"a.test:1-\", "
	    "verdict: deny}]}}\n",
	    "t.yaml:2:34: network.egress.tcp[0].match: \"a.test:1-\": port "
	    "range \"1-\" is not LOW-HIGH with 1 <= LOW <= HIGH <= 65535");
	bad("version: 1\nnetwork: {egress: {tcp: [{match: \"10.0.0.0/33:1\", "
	    "verdict: deny}]}}\n",
	    "t.yaml:2:34: network.egress.tcp[0].match: \"10.0.0.0/33:1\": "
	    "\"10.0.0.0/33\" has a prefix length out of range");
	bad("version: 1\nnetwork: {egress: {tcp: [{match: \"[10.0.0.0/8]:1\", "
	    "verdict: deny}]}}\n",
	    "t.yaml:2:34: network.egress.tcp[0].match: \"[10.0.0.0/8]:1\": "
	    "\"10.0.0.0/8\" is not an IPv6 address");
	bad("version: 1\nnetwork: {egress: {udp: [{match: \"[2001:db8::1/64]:1\", "
	    "verdict: deny}]}}\n",
	    "t.yaml:2:34: network.egress.udp[0].match: \"[2001:db8::1/64]:1\": "
	    "\"2001:db8::1/64\" has host bits set beyond the prefix length");
	bad("version: 1\nnetwork: {egress: {http: [{match: \"a.test\"}]}}\n",
	    "t.yaml:2:27: network.egress.http[0]: missing key \"verdict\"");
	bad("version: 1\nnetwork: {egress: {http: [{match: a.test, verdict: "
	    "allow, tlsTerminate: 1}]}}\n",
	    "t.yaml:2:73: network.egress.http[0].tlsTerminate: expected true "
	    "or false, got an integer \"1\"");
	bad("version: 1\nnetwork: {egress: {http: [{match: a.test, verdict: "
	    "[allow]}]}}\n",
	    "t.yaml:2:52: network.egress.http[0].verdict: expected a string, "
	    "got a sequence");
	bad("version: 1\nnetwork: {egress: {http: [{match: \"x.test:\", "
	    "verdict: allow}]}}\n",
	    "t.yaml:2:35: network.egress.http[0].match: \"x.test:\": port "
	    "\"\" is not a number from 1 to 65535");
	bad("version: 1\nresources: {memory: 99999999999999g}\n",
	    "t.yaml:2:21: resources.memory 99999999999999g: too large (at "
	    "most 1024t)");
	bad("version: 1\nresources: {memory: 1025t}\n",
	    "t.yaml:2:21: resources.memory 1025t: too large (at most 1024t)");
	bad("version: 1\nresources: {memory: 4194303}\n",
	    "t.yaml:2:21: resources.memory 4194303: too small (at least 4m)");
	bad("version: 1\nresources: {memory: 1024k}\n",
	    "t.yaml:2:21: resources.memory 1024k: too small (at least 4m)");
	bad("version: 1\nresources: {memory: 48x}\n",
	    "t.yaml:2:21: resources.memory 48x: unknown unit (b, k, m, g or "
	    "t)");
	bad("version: 1\nresources: {memory: \"\"}\n",
	    "t.yaml:2:21: resources.memory \"\": not a size (like 512m or "
	    "2g)");
	bad("version: 1\nresources: {cpus: 0.0015}\n",
	    "t.yaml:2:19: resources.cpus 0.0015: at most 3 decimals");
	bad("version: 1\nresources: {cpus: 1024.001}\n",
	    "t.yaml:2:19: resources.cpus 1024.001: out of range (0.001 to "
	    "1024)");
	bad("version: 1\nnetwork: {publish: [\"8080:80\", \"70000:80\"]}\n",
	    "t.yaml:2:32: network.publish[1] 70000:80: host port \"70000\" is "
	    "not a number from 1 to 65535");
	bad("version: 1\nnetwork: {publish: [\"8080:80\", \"8080:81\"]}\n",
	    "t.yaml:2:32: network.publish[1]: \"8080:81\": 127.0.0.1 port "
	    "8080 is already published by network.publish[0]");
	bad("version: 1\nresources: {cpus: 1e3}\n",
	    "t.yaml:2:19: resources.cpus: expected a number, got a string "
	    "\"1e3\"");
	bad("version: 1\nresources: {cpus: \"1\"}\n",
	    "t.yaml:2:19: resources.cpus: expected a number, got a string "
	    "\"1\"");
	bad("version: 1\nresources: {pids: 99999999999999999999999}\n",
	    "t.yaml:2:19: resources.pids: 99999999999999999999999 is out of "
	    "range (1 to 4194304)");
	bad("version: 1\nresources: {pids: 0x10}\n",
	    "t.yaml:2:19: resources.pids: 0x10 is not a decimal integer");
	bad("version: 1\nnetwork: {defaultVerdict: on}\n",
	    "t.yaml:2:27: network.defaultVerdict: expected a string, got a "
	    "boolean \"on\"");
	bad("version: 1\n[a]: 1\n",
	    "t.yaml:2:1: a key must be a string, not a sequence");
	bad("version: 1\n!!str x: 1\n",
	    "t.yaml:2:1: tags (tag:yaml.org,2002:str) are not allowed");
	bad("version: 1\na: *x\n",
	    "t.yaml:2:4: aliases (*x) are not allowed");
	bad("%TAG !e! tag:example.com,2000:\n---\nversion: 1\n",
	    "t.yaml:1:1: %TAG directives are not allowed");
	bad("version: 1\n  bad: indent\n",
	    "t.yaml:2:6: YAML syntax error: mapping values are not allowed "
	    "in this context");
	bad("version: 1\ncredentials:\n  - id: a\n    envVar: A\n"
	    "    injections: []\n",
	    "t.yaml:5:17: credentials[0].injections: needs at least one "
	    "injection");
	bad("version: 1\ncredentials:\n  - {id: a, envVar: A, injections: "
	    "[{type: query, host: q.test, name: \"k=v\", value: \"{secret}\"}]}"
	    "\n",
	    "t.yaml:3:71: credentials[0].injections[0].name: \"k=v\" is not a "
	    "header or parameter name");
	bad("version: 1\ncredentials:\n  - {id: a, envVar: A, injections: "
	    "[{type: query, host: q.test, name: k, value: \"a\\n{secret}\"}]}"
	    "\n",
	    "t.yaml:3:81: credentials[0].injections[0].value: \"a\\x0a{secret}\" "
	    "contains a line break");
	/* each injection form takes its own fields and no other */
	bad("version: 1\ncredentials:\n  - {id: a, envVar: A, injections: "
	    "[{type: basic, host: q.test, value: \"u:{secret}\"}]}\n",
	    "t.yaml:3:72: credentials[0].injections[0].value: type basic "
	    "takes no value");
	bad("version: 1\ncredentials:\n  - {id: a, envVar: A, injections: "
	    "[{type: basic, host: q.test, user: \"a:b\"}]}\n",
	    "t.yaml:3:71: credentials[0].injections[0].user: \"a:b\": no "
	    "':', space or control character in a basic user");
	bad("version: 1\ncredentials:\n  - {id: a, envVar: A, injections: "
	    "[{type: awsSigv4, host: s3.test, region: us-east-1}]}\n",
	    "t.yaml:3:37: credentials[0].injections[0]: missing key "
	    "\"service\" (needed by type awsSigv4)");
	bad("version: 1\ncredentials:\n  - {id: a, envVar: A, injections: "
	    "[{type: awsSigv4, host: s3.test, region: us-east-1, service: "
	    "S3}]}\n",
	    "t.yaml:3:97: credentials[0].injections[0].service: \"S3\": "
	    "lower-case letters, digits and - only");
	bad("version: 1\ncredentials:\n  - {id: a, envVar: A, injections: "
	    "[{type: oauth2Refresh, host: api.test}]}\n",
	    "t.yaml:3:37: credentials[0].injections[0]: missing key "
	    "\"tokenUrl\" (needed by type oauth2Refresh)");
	bad("version: 1\ncredentials:\n  - {id: a, envVar: A, injections: "
	    "[{type: oauth2Refresh, host: api.test, tokenUrl: "
	    "\"http://t.test/token\"}]}\n",
	    "t.yaml:3:85: credentials[0].injections[0].tokenUrl: "
	    "\"http://t.test/token\" is not an https:// URL");
	bad("version: 1\ncredentials:\n  - {id: a, envVar: A, injections: "
	    "[{type: oauth2Refresh, host: api.test, tokenUrl: "
	    "\"https://t.test:99999/token\"}]}\n",
	    "t.yaml:3:85: credentials[0].injections[0].tokenUrl: "
	    "\"https://t.test:99999/token\": port \"99999\" is not a "
	    "number from 1 to 65535");
	bad("version: 1\ncredentials:\n  - {id: a, envVar: A, injections: "
	    "[{type: oauth2Refresh, host: api.test, tokenUrl: "
	    "\"https://me@t.test/token\"}]}\n",
	    "t.yaml:3:85: credentials[0].injections[0].tokenUrl: "
	    "\"https://me@t.test/token\": no user information in a token "
	    "URL");
	bad("version: 1\ncredentials:\n  - {id: a, envVar: A, injections: "
	    "[{type: uriPlaceholder, host: api.test, name: X}]}\n",
	    "t.yaml:3:82: credentials[0].injections[0].name: type "
	    "uriPlaceholder takes no name");
	bad("version: 1\nnetwork: {egress: {http: [{match: a.test, verdict: "
	    "allow, rules: [{method: GET, path: \"/a/***\", verdict: deny}]}]}}"
	    "\n",
	    "t.yaml:2:87: network.egress.http[0].rules[0].path: \"/a/***\": use "
	    "* (one segment) or ** (any depth), not ***");
	bad("", "t.yaml: empty policy (write version: 1)");
	bad("---\n", "t.yaml:2:1: expected a mapping, got null");
}

static void
test_misc(void)
{
	struct policy_error	 err;
	struct policy		*pol;
	char			*j1, *j2, buf[600];
	const char		*rule = "x";

	pol = P("version: 1\n");
	ok(strcmp(policy_hash(pol), "09bfcc6a14b83e2192b8673677725c84883ee9c"
	    "d0c70e45c9ec09daa8f2b2847") == 0, "policy_hash is the sha256 of "
	    "the source");
	j1 = policy_json(pol);
	ok(j1 != NULL && strcmp(j1, "{\"credentials\":[],\"network\":{"
	    "\"defaultVerdict\":\"deny\",\"egress\":{\"http\":[],\"tcp\":[],"
	    "\"udp\":[]},\"publish\":[]},\"resources\":{},\"version\":1}") == 0,
	    "policy_json of the smallest policy: %s", j1 ? j1 : "NULL");
	policy_free(pol);
	pol = policy_default();
	j2 = policy_json(pol);
	ok(j1 != NULL && j2 != NULL && strcmp(j1, j2) == 0,
	    "policy_default has the same model");
	ok(strcmp(policy_hash(pol), "e3b0c44298fc1c149afbf4c8996fb92427ae41e"
	    "4649b934ca495991b7852b855") == 0, "policy_default hashes no "
	    "bytes");
	ok(H(pol, "a.test", 443, NULL) == VERDICT_DENY &&
	    policy_tcp_name(pol, "a.test", 22, &rule) == VERDICT_DENY &&
	    rule == NULL && policy_tcp_addr(pol, A("1.1.1.1"), 1, NULL) ==
	    VERDICT_DENY && policy_udp_addr(pol, A("::1"), 1, NULL) ==
	    VERDICT_DENY && policy_dns(pol, "a.test") == VERDICT_DENY &&
	    policy_npublish(pol) == 0, "policy_default denies everything");
	free(j1);
	free(j2);
	policy_free(pol);

	ok(strcmp(verdict_name(VERDICT_ALLOW), "allow") == 0 &&
	    strcmp(verdict_name(VERDICT_DENY), "deny") == 0 &&
	    strcmp(verdict_name(VERDICT_ASK), "ask") == 0, "verdict_name");

	ok(policy_parse(NULL, "x: 1\n", 5, &err) == NULL &&
	    strcmp(err.file, "(policy)") == 0 && err.line == 1 &&
	    err.column == 1, "no name: \"(policy)\"");
	policy_strerror(&err, buf, sizeof(buf));
	ok(strcmp(buf, "(policy):1:1: unknown key \"x\" (expected version, "
	    "network, credentials, resources, llm)") == 0, "policy_strerror: %s",
	    buf);
	ok(policy_parse("n", "version: 2\n", 11, NULL) == NULL &&
	    policy_parse("n", "\xff", 1, NULL) == NULL,
	    "errors without an error structure");
	ok(policy_load("/nonexistent/p.yaml", &err) == NULL &&
	    err.line == 0 && strcmp(err.msg, "No such file or directory") == 0,
	    "policy_load of a missing file");
}

int
main(void)
{
	test_order();
	test_cred_bound();
	test_names();
	test_ports();
	test_cidr();
	test_dns();
	test_publish();
	test_resources();
	test_errors();
	test_misc();
	return tap_done();
}
