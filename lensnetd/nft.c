/*
 * The per-sandbox nftables table, built with libnftnl and sent as one
 * batch (all of it or nothing).  Runs in the gateway namespace: the
 * netlink socket is opened there.
 *
 *	table inet lens
 *	  counters: dropped, input_dropped, forward_dropped, ipv6_dropped
 *	  chain filter_pre (filter, prerouting, -150, accept)
 *	    meta nfproto ipv6 counter ipv6_dropped drop
 *	    iifname IF meta l4proto tcp accept
 *	    iifname IF udp dport 53 accept
 *	    iifname IF ip daddr GW meta l4proto icmp accept
 *	    iifname IF counter dropped drop
 *	  chain nat_pre (nat, prerouting, -100)
 *	    iifname IF udp dport 53 redirect to :DNS
 *	    iifname IF tcp dport 53 redirect to :DNS
 *	    iifname IF ip daddr GW tcp dport CONNECT accept
 *	    iifname IF meta l4proto tcp redirect to :TRANSPARENT
 *	  chain input (filter, input, 0, drop)
 *	    ct state established,related accept
 *	    iifname "lo" accept
 *	    iifname IF udp dport DNS accept
 *	    iifname IF tcp dport { DNS, TRANSPARENT, CONNECT } accept
 *	    iifname IF icmp type echo-request accept
 *	    counter input_dropped drop
 *	  chain forward (filter, forward, 0, drop)
 *	    counter forward_dropped drop
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <net/if.h>
#include <netinet/in.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>

#include "log.h"
#include "lensnetd.h"

#define BATCH_SIZE	(256 * 1024)
#define MAXMSGS		64

struct batch {
	struct mnl_nlmsg_batch	*b;
	uint8_t			*buf;
	uint32_t		 seq0, seq;
	const char		*what[MAXMSGS];	/* per message, for errors */
	int			 failed;	/* out of room */
};

static void
batch_init(struct batch *bt)
{
	memset(bt, 0, sizeof(*bt));
	if ((bt->buf = malloc(BATCH_SIZE)) == NULL)
		fatal("malloc");
	bt->b = mnl_nlmsg_batch_start(bt->buf, BATCH_SIZE);
	bt->seq0 = bt->seq = (uint32_t)time(NULL);
	nftnl_batch_begin(mnl_nlmsg_batch_current(bt->b), bt->seq++);
	mnl_nlmsg_batch_next(bt->b);
}

static struct nlmsghdr *
batch_msg(struct batch *bt, uint16_t type, uint16_t flags, const char *what)
{
	uint32_t	 i = bt->seq - bt->seq0;

	if (i < MAXMSGS)
		bt->what[i] = what;
	else
		bt->failed = 1;
	return nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(bt->b), type,
	    NFPROTO_INET, flags | NLM_F_ACK, bt->seq++);
}

static void
batch_next(struct batch *bt)
{
	if (!mnl_nlmsg_batch_next(bt->b))
		bt->failed = 1;
}

static void
batch_free(struct batch *bt)
{
	mnl_nlmsg_batch_stop(bt->b);
	free(bt->buf);
}

/* send the batch, read every answer; 0, or -1 naming the failed part */
static int
batch_send(struct batch *bt, char *err, size_t errlen)
{
	struct mnl_socket	*nl;
	struct pollfd		 pfd;
	uint8_t			 rbuf[32768];
	uint32_t		 last, i;
	ssize_t			 n;
	int			 rc = -1, done = 0, firsterr = 0;
	const char		*firstwhat = NULL;

	nftnl_batch_end(mnl_nlmsg_batch_current(bt->b), bt->seq);
	mnl_nlmsg_batch_next(bt->b);
	last = bt->seq - 1;
	if (bt->failed) {
		snprintf(err, errlen, "nft: batch too large");
		return -1;
	}
	if ((nl = mnl_socket_open(NETLINK_NETFILTER)) == NULL) {
		snprintf(err, errlen, "nft: netlink socket: %s",
		    strerror(errno));
		return -1;
	}
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) == -1) {
		snprintf(err, errlen, "nft: netlink bind: %s",
		    strerror(errno));
		goto out;
	}
	if (mnl_socket_sendto(nl, mnl_nlmsg_batch_head(bt->b),
	    mnl_nlmsg_batch_size(bt->b)) == -1) {
		snprintf(err, errlen, "nft: send batch: %s", strerror(errno));
		goto out;
	}
	/* every message asked for an ack; the last one's ends it */
	while (!done) {
		struct nlmsghdr	*nlh;
		size_t		 len;

		pfd.fd = mnl_socket_get_fd(nl);
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 5000) != 1) {
			snprintf(err, errlen, "nft: no answer from the kernel");
			goto out;
		}
		if ((n = mnl_socket_recvfrom(nl, rbuf, sizeof(rbuf))) <= 0) {
			snprintf(err, errlen, "nft: receive: %s",
			    strerror(errno));
			goto out;
		}
		len = (size_t)n;
		for (nlh = (struct nlmsghdr *)rbuf; mnl_nlmsg_ok(nlh, (int)len);
		    nlh = mnl_nlmsg_next(nlh, (int *)&len)) {
			const struct nlmsgerr *e;

			if (nlh->nlmsg_type != NLMSG_ERROR)
				continue;
			if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
				continue;
			e = mnl_nlmsg_get_payload(nlh);
			if (e->error != 0 && firsterr == 0) {
				firsterr = -e->error;
				i = nlh->nlmsg_seq - bt->seq0;
				firstwhat = i < MAXMSGS ? bt->what[i] : NULL;
			}
			if (nlh->nlmsg_seq == last)
				done = 1;
		}
	}
	if (firsterr != 0) {
		snprintf(err, errlen, "nft: %s: %s", firstwhat ? firstwhat :
		    "batch", strerror(firsterr));
		goto out;
	}
	rc = 0;
out:
	mnl_socket_close(nl);
	return rc;
}

/* --- expressions ------------------------------------------------------ */

static void
add(struct nftnl_rule *r, struct nftnl_expr *e)
{
	nftnl_rule_add_expr(r, e);
}

static struct nftnl_expr *
expr(const char *name)
{
	struct nftnl_expr	*e;

	if ((e = nftnl_expr_alloc(name)) == NULL)
		fatal("nftnl_expr_alloc %s", name);
	return e;
}

static void
x_meta(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr	*e = expr("meta");

	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	add(r, e);
}

static void
x_cmp(struct nftnl_rule *r, uint32_t op, const void *data, size_t len)
{
	struct nftnl_expr	*e = expr("cmp");

	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, (uint32_t)len);
	add(r, e);
}

static void
x_payload(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len)
{
	struct nftnl_expr	*e = expr("payload");

	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	add(r, e);
}

static void
x_verdict(struct nftnl_rule *r, int verdict)
{
	struct nftnl_expr	*e = expr("immediate");

	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
	add(r, e);
}

static void
x_counter(struct nftnl_rule *r, const char *name)
{
	struct nftnl_expr	*e = expr("objref");

	nftnl_expr_set_u32(e, NFTNL_EXPR_OBJREF_IMM_TYPE, NFT_OBJECT_COUNTER);
	nftnl_expr_set_str(e, NFTNL_EXPR_OBJREF_IMM_NAME, name);
	add(r, e);
}

static void
x_redir(struct nftnl_rule *r, uint16_t port)
{
	struct nftnl_expr	*e;
	uint16_t		 p = htons(port);

	e = expr("immediate");
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_1);
	nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, &p, sizeof(p));
	add(r, e);
	e = expr("redir");
	nftnl_expr_set_u32(e, NFTNL_EXPR_REDIR_REG_PROTO_MIN, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_REDIR_REG_PROTO_MAX, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_REDIR_FLAGS,
	    NF_NAT_RANGE_PROTO_SPECIFIED);
	add(r, e);
}

/* ct state established,related */
static void
x_ct_established(struct nftnl_rule *r)
{
	struct nftnl_expr	*e;
	uint32_t		 mask = NF_CT_STATE_BIT(IP_CT_ESTABLISHED) |
	    NF_CT_STATE_BIT(IP_CT_RELATED), zero = 0;

	e = expr("ct");
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	add(r, e);
	e = expr("bitwise");
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, sizeof(uint32_t));
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &mask, sizeof(mask));
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &zero, sizeof(zero));
	add(r, e);
	x_cmp(r, NFT_CMP_NEQ, &zero, sizeof(zero));
}

static void
x_iifname(struct nftnl_rule *r, const char *ifname)
{
	char	 name[IFNAMSIZ];

	memset(name, 0, sizeof(name));
	strlcpy(name, ifname, sizeof(name));
	x_meta(r, NFT_META_IIFNAME);
	x_cmp(r, NFT_CMP_EQ, name, sizeof(name));
}

static void
x_l4proto(struct nftnl_rule *r, uint8_t proto)
{
	x_meta(r, NFT_META_L4PROTO);
	x_cmp(r, NFT_CMP_EQ, &proto, sizeof(proto));
}

static void
x_dport(struct nftnl_rule *r, uint8_t proto, uint16_t port)
{
	uint16_t	 p = htons(port);

	x_l4proto(r, proto);
	x_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
	x_cmp(r, NFT_CMP_EQ, &p, sizeof(p));
}

static void
x_ip_daddr(struct nftnl_rule *r, struct in_addr a)
{
	uint8_t	 v4 = NFPROTO_IPV4;

	x_meta(r, NFT_META_NFPROTO);
	x_cmp(r, NFT_CMP_EQ, &v4, sizeof(v4));
	x_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 16, 4);
	x_cmp(r, NFT_CMP_EQ, &a.s_addr, sizeof(a.s_addr));
}

/* --- the table ---------------------------------------------------------- */

static struct nftnl_rule *
rule_new(const char *chain)
{
	struct nftnl_rule	*r;

	if ((r = nftnl_rule_alloc()) == NULL)
		fatal("nftnl_rule_alloc");
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NETD_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	return r;
}

static void
rule_put(struct batch *bt, struct nftnl_rule *r, const char *what)
{
	struct nlmsghdr	*nlh;

	nlh = batch_msg(bt, NFT_MSG_NEWRULE, NLM_F_APPEND | NLM_F_CREATE,
	    what);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	batch_next(bt);
}

static void
chain_put(struct batch *bt, const char *name, const char *type,
    uint32_t hook, int32_t prio, uint32_t policy)
{
	struct nftnl_chain	*c;
	struct nlmsghdr		*nlh;

	if ((c = nftnl_chain_alloc()) == NULL)
		fatal("nftnl_chain_alloc");
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, NETD_TABLE);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, type);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, policy);
	nlh = batch_msg(bt, NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_EXCL,
	    name);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	batch_next(bt);
}

static void
counter_put(struct batch *bt, const char *name)
{
	struct nftnl_obj	*o;
	struct nlmsghdr		*nlh;

	if ((o = nftnl_obj_alloc()) == NULL)
		fatal("nftnl_obj_alloc");
	nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, NETD_TABLE);
	nftnl_obj_set_str(o, NFTNL_OBJ_NAME, name);
	nftnl_obj_set_u32(o, NFTNL_OBJ_FAMILY, NFPROTO_INET);
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
	nlh = batch_msg(bt, NFT_MSG_NEWOBJ, NLM_F_CREATE | NLM_F_EXCL, name);
	nftnl_obj_nlmsg_build_payload(nlh, o);
	nftnl_obj_free(o);
	batch_next(bt);
}

static void
table_put(struct batch *bt, uint16_t type, uint16_t flags)
{
	struct nftnl_table	*t;
	struct nlmsghdr		*nlh;

	if ((t = nftnl_table_alloc()) == NULL)
		fatal("nftnl_table_alloc");
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, NETD_TABLE);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nlh = batch_msg(bt, type, flags, "table " NETD_TABLE);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	batch_next(bt);
}

int
nft_setup(const struct nft_conf *c, char *err, size_t errlen)
{
	struct batch		 bt;
	struct nftnl_rule	*r;
	uint8_t			 v6 = NFPROTO_IPV6, echo = 8;
	uint16_t		 tports[3];
	int			 rc;
	size_t			 i;

	batch_init(&bt);
	table_put(&bt, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL);
	counter_put(&bt, "dropped");
	counter_put(&bt, "input_dropped");
	counter_put(&bt, "forward_dropped");
	counter_put(&bt, "ipv6_dropped");
	chain_put(&bt, "filter_pre", "filter", NF_INET_PRE_ROUTING, -150,
	    NF_ACCEPT);
	chain_put(&bt, "nat_pre", "nat", NF_INET_PRE_ROUTING, -100,
	    NF_ACCEPT);
	chain_put(&bt, "input", "filter", NF_INET_LOCAL_IN, 0, NF_DROP);
	chain_put(&bt, "forward", "filter", NF_INET_FORWARD, 0, NF_DROP);

	/* filter_pre: what may enter the gateway at all */
	r = rule_new("filter_pre");
	x_meta(r, NFT_META_NFPROTO);
	x_cmp(r, NFT_CMP_EQ, &v6, sizeof(v6));
	x_counter(r, "ipv6_dropped");
	x_verdict(r, NF_DROP);
	rule_put(&bt, r, "rule: ipv6 drop");
	r = rule_new("filter_pre");
	x_iifname(r, c->ifname);
	x_l4proto(r, IPPROTO_TCP);
	x_verdict(r, NF_ACCEPT);
	rule_put(&bt, r, "rule: tcp accept");
	r = rule_new("filter_pre");
	x_iifname(r, c->ifname);
	x_dport(r, IPPROTO_UDP, 53);
	x_verdict(r, NF_ACCEPT);
	rule_put(&bt, r, "rule: udp 53 accept");
	r = rule_new("filter_pre");
	x_iifname(r, c->ifname);
	x_ip_daddr(r, c->gw);
	x_l4proto(r, IPPROTO_ICMP);
	x_verdict(r, NF_ACCEPT);
	rule_put(&bt, r, "rule: icmp to the gateway");
	r = rule_new("filter_pre");
	x_iifname(r, c->ifname);
	x_counter(r, "dropped");
	x_verdict(r, NF_DROP);
	rule_put(&bt, r, "rule: drop the rest");

	/* nat_pre: DNS and TCP to the listeners */
	r = rule_new("nat_pre");
	x_iifname(r, c->ifname);
	x_dport(r, IPPROTO_UDP, 53);
	x_redir(r, c->dnsport);
	rule_put(&bt, r, "rule: redirect udp 53");
	r = rule_new("nat_pre");
	x_iifname(r, c->ifname);
	x_dport(r, IPPROTO_TCP, 53);
	x_redir(r, c->dnsport);
	rule_put(&bt, r, "rule: redirect tcp 53");
	r = rule_new("nat_pre");
	x_iifname(r, c->ifname);
	x_ip_daddr(r, c->gw);
	x_dport(r, IPPROTO_TCP, c->proxyport);
	x_verdict(r, NF_ACCEPT);
	rule_put(&bt, r, "rule: explicit proxy port");
	r = rule_new("nat_pre");
	x_iifname(r, c->ifname);
	x_l4proto(r, IPPROTO_TCP);
	x_redir(r, c->tproxyport);
	rule_put(&bt, r, "rule: redirect tcp");

	/* input: the listeners only */
	r = rule_new("input");
	x_ct_established(r);
	x_verdict(r, NF_ACCEPT);
	rule_put(&bt, r, "rule: established");
	r = rule_new("input");
	x_iifname(r, "lo");
	x_verdict(r, NF_ACCEPT);
	rule_put(&bt, r, "rule: lo");
	r = rule_new("input");
	x_iifname(r, c->ifname);
	x_dport(r, IPPROTO_UDP, c->dnsport);
	x_verdict(r, NF_ACCEPT);
	rule_put(&bt, r, "rule: dns udp");
	tports[0] = c->dnsport;
	tports[1] = c->tproxyport;
	tports[2] = c->proxyport;
	for (i = 0; i < 3; i++) {
		r = rule_new("input");
		x_iifname(r, c->ifname);
		x_dport(r, IPPROTO_TCP, tports[i]);
		x_verdict(r, NF_ACCEPT);
		rule_put(&bt, r, "rule: listener tcp");
	}
	r = rule_new("input");
	x_iifname(r, c->ifname);
	x_l4proto(r, IPPROTO_ICMP);
	x_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1);
	x_cmp(r, NFT_CMP_EQ, &echo, sizeof(echo));
	x_verdict(r, NF_ACCEPT);
	rule_put(&bt, r, "rule: ping the gateway");
	r = rule_new("input");
	x_counter(r, "input_dropped");
	x_verdict(r, NF_DROP);
	rule_put(&bt, r, "rule: input drop");

	r = rule_new("forward");
	x_counter(r, "forward_dropped");
	x_verdict(r, NF_DROP);
	rule_put(&bt, r, "rule: forward drop");

	rc = batch_send(&bt, err, errlen);
	batch_free(&bt);
	return rc;
}

int
nft_teardown(char *err, size_t errlen)
{
	struct batch	 bt;
	int		 rc;

	batch_init(&bt);
	table_put(&bt, NFT_MSG_DELTABLE, 0);
	rc = batch_send(&bt, err, errlen);
	batch_free(&bt);
	return rc;
}
