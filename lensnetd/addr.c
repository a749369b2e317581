/*
 * Address classes that a sandbox must never reach through lensnetd
 * unless a policy rule names the range: the host itself, private
 * networks, link-local and metadata services, and every IPv6 spelling
 * of an IPv4 address in those ranges.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imsg.h"
#include "lensnetd.h"
#include "log.h"

struct v4range {
	uint32_t	 net;
	int		 bits;
	const char	*why;
};

/* RFC 6890 special-purpose IPv4 ranges that are not the internet */
static const struct v4range v4ranges[] = {
	{ 0x00000000, 8,  "this-network" },	/* 0/8 */
	{ 0x0a000000, 8,  "private" },		/* 10/8 */
	{ 0x64400000, 10, "cgnat" },		/* 100.64/10 */
	{ 0x7f000000, 8,  "loopback" },		/* 127/8 */
	{ 0xa9fea9fe, 32, "metadata" },		/* 169.254.169.254 */
	{ 0xa9fe0000, 16, "link-local" },	/* 169.254/16 */
	{ 0xac100000, 12, "private" },		/* 172.16/12 */
	{ 0xc0000000, 24, "ietf-protocol" },	/* 192.0.0/24 */
	{ 0xc0000200, 24, "documentation" },	/* 192.0.2/24 */
	{ 0xc0586300, 24, "6to4-relay" },	/* 192.88.99/24 */
	{ 0xc0a80000, 16, "private" },		/* 192.168/16 */
	{ 0xc6336400, 24, "documentation" },	/* 198.51.100/24 */
	{ 0xcb007100, 24, "documentation" },	/* 203.0.113/24 */
	{ 0xe0000000, 4,  "multicast" },	/* 224/4 */
	{ 0xf0000000, 4,  "reserved" },		/* 240/4, broadcast */
};

static const char *
v4_forbidden(uint32_t a)
{
	size_t	i;

	/* the most specific first: metadata before link-local */
	for (i = 0; i < sizeof(v4ranges) / sizeof(v4ranges[0]); i++) {
		const struct v4range *r = &v4ranges[i];
		uint32_t mask = r->bits == 0 ? 0 : ~0u << (32 - r->bits);

		if ((a & mask) == r->net)
			return r->why;
	}
	return NULL;
}

static uint32_t
be32at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static int
prefix_is(const uint8_t *a, const uint8_t *p, int bytes)
{
	return memcmp(a, p, bytes) == 0;
}

/*
 * The IPv4 address an IPv6 address carries, if it is one of the forms
 * that do: IPv4-mapped ::ffff:0:0/96, IPv4-translated ::ffff:0:0:0/96
 * (SIIT), IPv4-compatible ::/96, NAT64 64:ff9b::/96, 6to4 2002::/16.
 * Returns the form's name, or NULL.
 */
static const char *
v6_embedded_v4(const struct in6_addr *in6, uint32_t *v4)
{
	static const uint8_t nat64[12] =
	    { 0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t mapped[12] =
	    { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	static const uint8_t translated[12] =
	    { 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0 };
	static const uint8_t compat[12] = { 0 };
	const uint8_t	*a = in6->s6_addr;

	if (prefix_is(a, mapped, 12)) {
		*v4 = be32at(a + 12);
		return "ipv4-mapped";
	}
	if (prefix_is(a, translated, 12)) {
		*v4 = be32at(a + 12);
		return "ipv4-translated";
	}
	if (prefix_is(a, nat64, 12)) {
		*v4 = be32at(a + 12);
		return "nat64";
	}
	if (prefix_is(a, compat, 12)) {
		*v4 = be32at(a + 12);
		return "ipv4-compatible";
	}
	if (a[0] == 0x20 && a[1] == 0x02) {
		*v4 = be32at(a + 2);
		return "6to4";
	}
	return NULL;
}

static const char *
v6_forbidden(const struct in6_addr *in6)
{
	static const uint8_t metadata[16] = {
	    0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54 };
	static const uint8_t zero6[6] = { 0 };
	const uint8_t	*a = in6->s6_addr;
	const char	*why, *form;
	uint32_t	 v4;

	if (IN6_IS_ADDR_UNSPECIFIED(in6))
		return "this-network";
	if (IN6_IS_ADDR_LOOPBACK(in6))
		return "loopback";
	if (memcmp(a, metadata, 16) == 0)
		return "metadata";
	/* IPv6 forms that carry an IPv4 address: judge that address */
	if ((form = v6_embedded_v4(in6, &v4)) != NULL) {
		why = v4_forbidden(v4);
		if (why != NULL)
			return why;
		/* only the mapped and NAT64 forms are usable as they are */
		if (strcmp(form, "ipv4-mapped") == 0 ||
		    strcmp(form, "nat64") == 0)
			return NULL;
		return form;
	}
	if (a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b &&
	    a[4] == 0x00 && a[5] == 0x01)
		return "nat64-local";			/* 64:ff9b:1::/48 */
	if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0)
		return "teredo";			/* 2001::/32 */
	if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8)
		return "documentation";			/* 2001:db8::/32 */
	if (a[0] == 0x3f && a[1] == 0xff && (a[2] & 0xf0) == 0)
		return "documentation";			/* 3fff::/20 */
	if ((a[0] & 0xfe) == 0xfc)
		return "private";			/* fc00::/7 */
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return "link-local";			/* fe80::/10 */
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0)
		return "site-local";			/* fec0::/10 */
	if (a[0] == 0xff)
		return "multicast";
	if (a[0] == 0x01 && a[1] == 0 && prefix_is(a + 2, zero6, 6))
		return "discard";			/* 100::/64 */
	return NULL;
}

int
addr_same(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return 0;
	if (a->sa_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		    ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (a->sa_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		    &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
	return 0;
}

const char *
addr_forbidden(const struct sockaddr *sa,
    const struct sockaddr_storage *hostaddrs, size_t nhostaddrs)
{
	struct sockaddr_in	 sin;
	size_t			 i;
	uint32_t		 v4;

	for (i = 0; i < nhostaddrs; i++)
		if (addr_same(sa, (const struct sockaddr *)&hostaddrs[i]))
			return "host";
	/* the host's IPv4 addresses in an IPv6 spelling are the host too */
	if (sa->sa_family == AF_INET6 && v6_embedded_v4(
	    &((const struct sockaddr_in6 *)sa)->sin6_addr, &v4) != NULL) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(v4);
		for (i = 0; i < nhostaddrs; i++)
			if (addr_same((struct sockaddr *)&sin,
			    (const struct sockaddr *)&hostaddrs[i]))
				return "host";
	}
	switch (sa->sa_family) {
	case AF_INET:
		return v4_forbidden(ntohl(
		    ((const struct sockaddr_in *)sa)->sin_addr.s_addr));
	case AF_INET6:
		return v6_forbidden(
		    &((const struct sockaddr_in6 *)sa)->sin6_addr);
	default:
		return "family";
	}
}

const char *
addr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	const void	*a;

	if (sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	else
		return strlcpy(buf, "?", len), buf;
	if (inet_ntop(sa->sa_family, a, buf, len) == NULL)
		return strlcpy(buf, "?", len), buf;
	return buf;
}

/*
 * The host's own addresses as the dns and proxy children keep them:
 * the parent tells each change (NETD_HOSTADDR_ADD, _DEL), there is no
 * upper bound.  Lookups go through addr_forbidden() with the array.
 */
static ssize_t
addrset_find(const struct addrset *s, const struct sockaddr *sa)
{
	size_t	 i;

	for (i = 0; i < s->n; i++)
		if (addr_same((const struct sockaddr *)&s->v[i], sa))
			return (ssize_t)i;
	return -1;
}

int
addrset_add(struct addrset *s, const struct sockaddr *sa)
{
	struct sockaddr_storage	*v;
	size_t			 cap;

	if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)
		return -1;
	if (addrset_find(s, sa) != -1)
		return 0;
	if (s->n == s->cap) {
		cap = s->cap == 0 ? 32 : s->cap * 2;
		if ((v = reallocarray(s->v, cap, sizeof(*v))) == NULL)
			return -1;
		s->v = v;
		s->cap = cap;
	}
	memset(&s->v[s->n], 0, sizeof(s->v[s->n]));
	memcpy(&s->v[s->n], sa, sa->sa_family == AF_INET ?
	    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
	s->n++;
	return 1;
}

int
addrset_del(struct addrset *s, const struct sockaddr *sa)
{
	ssize_t	 i;

	if ((i = addrset_find(s, sa)) == -1)
		return 0;
	s->v[i] = s->v[--s->n];
	return 1;
}

/* a NETD_HOSTADDR_ADD or _DEL applied to s; NULL, or what was wrong */
const char *
addrset_imsg(struct addrset *s, const struct imsg *im)
{
	struct netd_hostaddr	 h;
	char			 buf[INET6_ADDRSTRLEN];
	int			 add = im->hdr.type == IMSG_NETD_HOSTADDR_ADD;

	if (imsg_expect(im, sizeof(h)) == -1)
		return "NETD_HOSTADDR of the wrong size";
	memcpy(&h, im->data, sizeof(h));
	if (h.addr.ss_family != AF_INET && h.addr.ss_family != AF_INET6)
		return "NETD_HOSTADDR of another family";
	if (add && addrset_add(s, (struct sockaddr *)&h.addr) == -1)
		fatal("host addresses");
	if (!add)
		(void)addrset_del(s, (struct sockaddr *)&h.addr);
	log_debug("host address %s %s (%zu now)", addr_str(
	    (struct sockaddr *)&h.addr, buf, sizeof(buf)), add ? "refused" :
	    "no longer refused", s->n);
	return NULL;
}
