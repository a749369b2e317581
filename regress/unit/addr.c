/*
 * Unit test of lensnetd/addr.c (TAP): every range addr_forbidden()
 * knows, its edges, the IPv6 spellings of IPv4 addresses (mapped,
 * translated, compatible, NAT64, 6to4) of loopback and private ones,
 * public addresses that must stay allowed, and the host's own
 * addresses in both families.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <unistd.h>
#include <string.h>

#include "lensnetd.h"

struct example {
	const char	*addr;
	const char	*why;		/* NULL: allowed */
};

static const struct example examples[] = {
	/* IPv4, each range and its edges */
	{ "0.0.0.0", "this-network" },
	{ "0.255.255.255", "this-network" },
	{ "1.0.0.0", NULL },
	{ "9.255.255.255", NULL },
	{ "10.0.0.0", "private" },
	{ "10.1.2.3", "private" },
	{ "10.255.255.255", "private" },
	{ "11.0.0.0", NULL },
	{ "100.63.255.255", NULL },
	{ "100.64.0.0", "cgnat" },
	{ "100.127.255.255", "cgnat" },
	{ "100.128.0.0", NULL },
	{ "126.255.255.255", NULL },
	{ "127.0.0.1", "loopback" },
	{ "127.255.255.254", "loopback" },
	{ "128.0.0.0", NULL },
	{ "169.253.255.255", NULL },
	{ "169.254.0.1", "link-local" },
	{ "169.254.169.254", "metadata" },
	{ "169.254.169.253", "link-local" },
	{ "169.255.0.0", NULL },
	{ "172.15.255.255", NULL },
	{ "172.16.0.0", "private" },
	{ "172.31.255.255", "private" },
	{ "172.32.0.0", NULL },
	{ "192.0.0.1", "ietf-protocol" },
	{ "192.0.1.1", NULL },
	{ "192.0.2.1", "documentation" },
	{ "192.88.99.1", "6to4-relay" },
	{ "192.167.255.255", NULL },
	{ "192.168.0.1", "private" },
	{ "192.169.0.0", NULL },
	{ "198.18.0.1", NULL },		/* benchmarking: the test "internet" */
	{ "198.19.255.255", NULL },
	{ "198.51.100.7", "documentation" },
	{ "203.0.113.7", "documentation" },
	{ "8.8.8.8", NULL },
	{ "1.1.1.1", NULL },
	{ "223.255.255.255", NULL },
	{ "224.0.0.1", "multicast" },
	{ "239.255.255.255", "multicast" },
	{ "240.0.0.1", "reserved" },
	{ "255.255.255.255", "reserved" },

	/* IPv6 */
	{ "::", "this-network" },
	{ "::1", "loopback" },
	{ "fd00:ec2::254", "metadata" },
	{ "fd00:ec2::253", "private" },
	{ "fc00::1", "private" },
	{ "fdff:ffff::1", "private" },
	{ "fe80::1", "link-local" },
	{ "febf::1", "link-local" },
	{ "fec0::1", "site-local" },
	{ "ff02::1", "multicast" },
	{ "ff0e::1", "multicast" },
	{ "2001:db8::1", "documentation" },
	{ "3fff::1", "documentation" },
	{ "2001::1", "teredo" },
	{ "100::1", "discard" },
	{ "100:0:0:1::1", NULL },
	{ "2606:4700::1111", NULL },
	{ "2001:4860:4860::8888", NULL },
	{ "2a00:1450::1", NULL },
	{ "64:ff9b:1::a01:203", "nat64-local" },

	/* IPv4 in IPv6: 127.0.0.1 */
	{ "::ffff:127.0.0.1", "loopback" },
	{ "::ffff:0:127.0.0.1", "loopback" },
	{ "::127.0.0.1", "loopback" },
	{ "64:ff9b::127.0.0.1", "loopback" },
	{ "2002:7f00:1::1", "loopback" },
	/* ... 10.x */
	{ "::ffff:10.1.2.3", "private" },
	{ "::ffff:0:10.1.2.3", "private" },
	{ "::10.1.2.3", "private" },
	{ "64:ff9b::10.1.2.3", "private" },
	{ "2002:a01:203::1", "private" },
	/* ... metadata, link-local, CGNAT */
	{ "::ffff:169.254.169.254", "metadata" },
	{ "64:ff9b::169.254.1.1", "link-local" },
	{ "::ffff:100.64.1.1", "cgnat" },
	{ "::ffff:224.0.0.1", "multicast" },
	/* ... public ones: usable only as mapped or NAT64 */
	{ "::ffff:8.8.8.8", NULL },
	{ "64:ff9b::8.8.8.8", NULL },
	{ "::ffff:198.18.0.1", NULL },
	{ "::8.8.8.8", "ipv4-compatible" },
	{ "::ffff:0:8.8.8.8", "ipv4-translated" },
	{ "2002:808:808::1", "6to4" },
};

static int	n, failed;

static void
ok(int cond, const char *what, const char *got, const char *want)
{
	n++;
	if (!cond)
		failed++;
	printf("%sok %d - %s: %s%s%s\n", cond ? "" : "not ", n, what,
	    got ? got : "allowed", cond ? "" : ", wanted ",
	    cond ? "" : want ? want : "allowed");
}

static void
mk(const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1)
		sin6->sin6_family = AF_INET6;
	else {
		printf("Bail out! bad example %s\n", s);
		_exit(1);
	}
}

static void
expect(const char *s, const struct sockaddr_storage *host, size_t nhost,
    const char *want)
{
	struct sockaddr_storage	 ss;
	const char		*got;

	mk(s, &ss);
	got = addr_forbidden((struct sockaddr *)&ss, host, nhost);
	ok((got == NULL && want == NULL) ||
	    (got != NULL && want != NULL && strcmp(got, want) == 0), s, got,
	    want);
}

int
main(void)
{
	struct sockaddr_storage	 host[3], ss;
	char			 buf[INET6_ADDRSTRLEN];
	size_t			 i;

	for (i = 0; i < sizeof(examples) / sizeof(examples[0]); i++)
		expect(examples[i].addr, NULL, 0, examples[i].why);

	mk("198.18.5.5", &host[0]);
	mk("2606:4700::5", &host[1]);
	mk("8.8.4.4", &host[2]);
	expect("198.18.5.5", host, 3, "host");
	expect("198.18.5.6", host, 3, NULL);
	expect("2606:4700::5", host, 3, "host");
	expect("2606:4700::6", host, 3, NULL);
	expect("::ffff:198.18.5.5", host, 3, "host");
	expect("64:ff9b::8.8.4.4", host, 3, "host");
	expect("127.0.0.1", host, 3, "loopback");

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	{
		const char *got = addr_forbidden((struct sockaddr *)&ss,
		    NULL, 0);

		ok(got != NULL && strcmp(got, "family") == 0,
		    "AF_UNIX", got, "family");
	}
	mk("2606:4700::1111", &ss);
	ok(strcmp(addr_str((struct sockaddr *)&ss, buf, sizeof(buf)),
	    "2606:4700::1111") == 0, "addr_str IPv6", buf, "2606:4700::1111");
	mk("198.18.1.10", &ss);
	ok(strcmp(addr_str((struct sockaddr *)&ss, buf, sizeof(buf)),
	    "198.18.1.10") == 0, "addr_str IPv4", buf, "198.18.1.10");
	printf("1..%d\n", n);
	return failed != 0;
}
