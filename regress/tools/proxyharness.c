/*
 * Test harness for the lensnetd proxy child.
 *
 *   proxyharness run [options]
 *	Plays the lensnetd parent and its dns child: forks proxy_main()
 *	with a socketpair and the dns's channel (role.link), sends
 *	NETD_CONFIG, NETD_SANDBOX (sandbox 1: struct netd_sandbox
 *	then the binary model of the policy read from -P, as lensnetd.c sends
 *	it; none means the built-in deny-all policy), the listeners it
 *	creates in its own network namespace, and (as dns) DNSMAP
 *	entries; answers NETD_RESOLVE (as dns) from a static table and
 *	NETD_INWARD_REQUEST with a fresh socket; prints every audit event
 *	as one line:
 *		audit TYPE {json}
 *	and "ready PID" once the proxy has everything.
 *	-P file		policy, lns-policy.yaml(5)
 *	-S addr		the sandbox address (published ports connect to it)
 *	-t addr:port	transparent listener
 *	-c addr:port	CONNECT listener
 *	-p addr:port:sbxport  published port
 *	-r name=addr	resolver entry (repeatable, several per name)
 *	-m name=addr	DNSMAP entry
 *	-H addr		a host address (refused as destination)
 *	-T ms		peek-first timeout; -I ms idle timeout; -B n audit burst
 *	-K ms		HTTP keep-alive idle timeout between requests
 *	-Q n		query bytes in a net.http event (lensnetd -q)
 *	-D n		request body bytes rules read (lensnetd -B)
 *	-C ms		connect timeout
 *	-L s		TTL of the RESOLVED answers (default 0: the proxy
 *			keeps none); each RESOLVE is logged to stderr as
 *			"harness: resolve NAME: N addresses"
 *	-M name=addr	DNSMAP entry sent on SIGUSR1 (repeatable)
 *	-b		the proxy never splices (struct proxy_conf buffered)
 *	-k sock		answer NETD_LEAF_REQ as lensnetd's parent does: ask
 *			the lenscredd on sock (a connection per request,
 *			for the sandbox of the id below), "lenscredd is not
 *			connected" when it cannot be reached; each answer
 *			is logged to stderr as "harness: leaf NAME: ok|ERR"
 *			It answers NETD_EXCH_REQ as lensnetd's parent does
 *			too (exch_req_build against the -P policy and the
 *			-x placeholders, the rule's caFile from -F, then
 *			IMSG_CRED_EXCHANGE with one end of a socketpair to
 *			that lenscredd, kept connected); each answer is
 *			logged as "harness: exchange HOST: ok|ERR"
 *	-E stub		answer NETD_EXCH_REQ (after the parent's check) with a
 *			stub exchange instead of lenscredd, by the target:
 *			200 with a streamed body "method M target T", a line
 *			"h NAME: VALUE" per header, "body " and the body as
 *			received; for /length... the same with its length
 *			known; /error... EXCH_ERROR 504 after the head;
 *			/bad... a body before any head
 *	-A file		the proxy's upstream trust store (-T of lensnetd)
 *	-G ms		the TLS handshake timeout (proxy_conf tls_ms)
 *	-F dir		where the policy's caFiles are (default
 *			/etc/lens/ca): each is sent after NETD_SANDBOX as
 *			NETD_CAFILE, as lensnetd's parent does
 *	The sandbox's id is 0123456789abcdef four times.
 *	-O X=VALUE	a per-sandbox limit, as lensnetd -X VALUE (c, l, r)
 *	-x PH		a credential placeholder of the sandbox (repeatable):
 *			all sent after NETD_SANDBOX (and its CAFILEs) as
 *			NETD_PLACEHOLDERS, PH_SIZE bytes each, as
 *			lensnetd's parent does
 *	SIGUSR2 sends NETD_SANDBOX with the same policy again (a reload).
 *   proxyharness echo addr:port
 *	An echo server (poll, non-blocking); on EOF it flushes and shuts
 *	its side down.
 *   proxyharness send addr:port DATA [wait-ms [pre-ms]]
 *	Connects, waits pre-ms, sends DATA (\r \n escapes), waits
 *	wait-ms, shuts down its write side, prints everything until EOF.
 *   proxyharness hold N proxy:port target:port [linger-s]
 *	Opens N CONNECT tunnels at once, waits for every 200, then sends
 *	one line through each and checks its echo; prints "held N", then
 *	keeps them open linger-s seconds.
 *   proxyharness blast addr:port BYTES
 *	Sends BYTES of a position-dependent pattern while reading what
 *	comes back, shuts its write side down after the last byte, reads
 *	to EOF and prints "blast sent=N got=M same=0|1" (same: what came
 *	back is exactly what was sent, as from an echo server).
 *   proxyharness stall addr:port DATA
 *	Connects with a small receive buffer, sends DATA, prints
 *	"flowing" once the first byte of the answer came, then reads no
 *	more; on SIGUSR1 resets the connection (SO_LINGER 0) and prints
 *	"reset".
 *   proxyharness httpd addr:port LOG
 *	A keep-alive HTTP/1.1 server (a process per connection) that
 *	records everything it receives in LOG (appended) and answers every
 *	request, framed by its Content-Length or chunked body, whatever it
 *	says about Connection (an upstream that keeps connections open):
 *	a 200 "ok\n"; to HEAD the same head without body; to a request
 *	with a body, the sha256 of the body (chunked decoded) in hex; to
 *	GET /big/N, N bytes of the blast pattern, chunked; 100 Continue
 *	first when the request expects it; to an Upgrade: websocket, a 101
 *	and then an echo of every byte.
 *   proxyharness badhttpd addr:port MODE
 *	A hostile upstream: answers each request head with what MODE says
 *	(extra: a response then a second one no request asked for; clcl,
 *	tecl, barelf, chunkbad: a response framed ambiguously or wrongly
 *	with an "injected" response behind it; flood: 1000 102 Processing
 *	then a 200; switch: a 101 nobody asked for; bighead: a head longer
 *	than the proxy reads).
 *   proxyharness seq addr:port REQ...
 *	One keep-alive connection: each request (\r \n escapes) sent after
 *	the response to the one before ended (framed as the proxy frames
 *	it); prints "status N" and the body of each, "[eof]" when the
 *	connection ended early, "[done]" after the last.
 *   proxyharness pattern N
 *	Writes N bytes of the blast pattern to stdout.
 *   proxyharness converse addr:port DATA1 DATA2
 *	Sends DATA1, waits for the first byte of the answer, sends DATA2
 *	(when the connection still takes it), shuts its write side down
 *	and prints everything until EOF.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "imsg.h"
#include "lenscredd_imsg.h"
#include "lensexch.h"
#include "lensnetd.h"
#include "log.h"
#include "peek.h"
#include "policy.h"
#include "proc.h"
#include "pemcert.h"
#include "proxy.h"
#include "unixsock.h"

#define MAXENT	64

struct ent {
	char			 name[NETD_NAME_SIZE];
	struct sockaddr_storage	 addr;
};

static struct ent	 resolv[MAXENT], dnsmap[MAXENT], dnsmap2[MAXENT];
static int		 nresolv, ndnsmap, ndnsmap2;
static uint32_t		 resolve_ttl;
static const char	*credsock;
static const char	*cadir = NETD_CADIR;
static char		*cafiles[16];
static int		 ncafiles;
static char		 sandbox_id[CTL_ID_SIZE + 1];
static volatile sig_atomic_t quit, usr1, usr2;

static void
on_usr(int sig)
{
	if (sig == SIGUSR1)
		usr1 = 1;
	else
		usr2 = 1;
}

static void
on_term(int sig)
{
	(void)sig;
	quit = 1;
}

static int
parse_addr(const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		return 0;
	}
	return -1;
}

/* "addr:port" or "[v6]:port" */
static void
parse_addrport(const char *s, struct sockaddr_storage *ss)
{
	char		 buf[128], *p;
	const char	*a;

	strlcpy(buf, s, sizeof(buf));
	if ((p = strrchr(buf, ':')) == NULL)
		errx(1, "%s: no port", s);
	*p++ = '\0';
	a = buf;
	if (buf[0] == '[') {
		a = buf + 1;
		if (p - buf < 3 || p[-2] != ']')
			errx(1, "%s: bad [v6]", s);
		p[-2] = '\0';
	}
	if (parse_addr(a, ss) == -1)
		errx(1, "%s: bad address", s);
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(atoi(p));
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(atoi(p));
}

static socklen_t
sslen(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6);
}

static int
listen_on(const char *s)
{
	struct sockaddr_storage	 ss;
	int			 fd, one = 1;

	parse_addrport(s, &ss);
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		err(1, "socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sslen(&ss)) == -1)
		err(1, "bind %s", s);
	if (listen(fd, 4096) == -1)
		err(1, "listen");
	return fd;
}

static void
add_ent(struct ent *t, int *n, const char *s)
{
	const char	*eq = strchr(s, '=');

	if (eq == NULL || *n == MAXENT || (size_t)(eq - s) >= NETD_NAME_SIZE)
		errx(1, "%s: want name=addr", s);
	memcpy(t[*n].name, s, eq - s);
	t[*n].name[eq - s] = '\0';
	if (parse_addr(eq + 1, &t[*n].addr) == -1)
		errx(1, "%s: bad address", s);
	(*n)++;
}

static void
send_msg(struct imsgbuf *ib, uint32_t type, uint32_t peerid, int fd,
    const void *data, size_t len)
{
	if (imsg_compose(ib, type, peerid, 0, fd, data, len) == -1)
		err(1, "imsg_compose");
	if (imsg_flush(ib) == -1)
		err(1, "imsg_flush");
}

/*
 * A leaf from lenscredd, as lensnetd's parent asks for it (credc):
 * the answer for the proxy, its error set when there is none.
 */
static void
leaf_answer(struct imsgbuf *ib, struct imsg *im)
{
	struct netd_leaf_req	 lr;
	struct netd_leaf	 nl;
	struct cred_leaf_req	 cr;
	struct cred_leaf	 cl;
	struct cred_error	 ce;
	struct imsgbuf		 cb;
	struct imsg		 cm;
	struct ibuf		*b;
	ssize_t			 n;
	int			 fd, r = 0, got = 0;

	if (imsg_expect(im, sizeof(lr)) == -1)
		errx(1, "bad LEAF_REQ");
	memcpy(&lr, im->data, sizeof(lr));
	if (memchr(lr.name, '\0', sizeof(lr.name)) == NULL)
		errx(1, "LEAF_REQ name not terminated");
	memset(&nl, 0, sizeof(nl));
	nl.reqid = lr.reqid;
	memset(&cm, 0, sizeof(cm));
	if (credsock == NULL || (fd = unixsock_connect(credsock, 0)) == -1) {
		strlcpy(nl.error, "lenscredd is not connected",
		    sizeof(nl.error));
		goto reply;
	}
	memset(&cr, 0, sizeof(cr));
	strlcpy(cr.sandbox, sandbox_id, sizeof(cr.sandbox));
	strlcpy(cr.name, lr.name, sizeof(cr.name));
	imsg_init(&cb, fd);
	if (imsg_compose(&cb, IMSG_CRED_LEAF_REQ, 0, 0, -1, &cr,
	    sizeof(cr)) == -1 || imsg_flush(&cb) == -1)
		err(1, "to lenscredd");
	while ((r = imsg_get(&cb, &cm)) == 0)
		if ((n = imsg_read(&cb)) == 0 || (n == -1 && errno != EAGAIN))
			break;
	if (r == 1)
		got = 1;
	if (got && cm.hdr.type == IMSG_CRED_LEAF && cm.datalen >= sizeof(cl)) {
		memcpy(&cl, cm.data, sizeof(cl));
		if (cm.datalen != sizeof(cl) + (size_t)cl.chainlen + cl.keylen)
			errx(1, "bad LEAF from lenscredd");
		nl.notafter = cl.notafter;
		nl.chainlen = cl.chainlen;
		nl.keylen = cl.keylen;
	} else if (got && cm.hdr.type == IMSG_CRED_ERROR &&
	    cm.datalen == sizeof(ce)) {
		memcpy(&ce, cm.data, sizeof(ce));
		ce.msg[sizeof(ce.msg) - 1] = '\0';
		snprintf(nl.error, sizeof(nl.error), "lenscredd: %.200s",
		    ce.msg);
	} else
		strlcpy(nl.error, "lenscredd connection lost before its "
		    "answer", sizeof(nl.error));
	imsg_clear(&cb);
	close(fd);
 reply:
	fprintf(stderr, "harness: leaf %s: %s\n", lr.name,
	    nl.chainlen > 0 ? "ok" : nl.error);
	if ((b = imsg_create(ib, IMSG_NETD_LEAF, im->hdr.peerid, 0,
	    sizeof(nl) + nl.chainlen + nl.keylen)) == NULL ||
	    imsg_add(b, &nl, sizeof(nl)) == -1 ||
	    (nl.chainlen + nl.keylen > 0 && imsg_add(b, (char *)cm.data +
	    sizeof(cl), nl.chainlen + nl.keylen) == -1))
		err(1, "LEAF");
	imsg_close(ib, b);
	if (imsg_flush(ib) == -1)
		err(1, "imsg_flush");
	if (got)
		imsg_free(&cm);
}

static struct policy	*hpol;		/* -P, for the exchange */
static const char	*stub;		/* -E */

/* the stub exchange on fd (a grandchild of the harness) */
static void __attribute__((noreturn))
stub_exchange(int fd)
{
	struct imsgbuf		 xb;
	struct imsg		 im;
	struct exch_msg_head	*h;
	struct exch_msg_resp	*r;
	char			*out, why[300];
	const char		*mode = "echo";
	size_t			 len = 0, i, max = 1 << 20;
	int			 n, done = 0;

	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (r = calloc(1, sizeof(*r))) == NULL ||
	    (out = malloc(max)) == NULL)
		err(1, "stub");
	imsg_init(&xb, fd);
	while (!done) {
		if ((n = imsg_recv_one(&xb, 10000, &im)) != 1)
			err(1, "stub: the stream ended (%d)", n);
		switch (im.hdr.type) {
		case EXCH_REQ_HEAD:
			if (exch_get_head(im.data, im.datalen, h, why,
			    sizeof(why)) == -1)
				errx(1, "stub: head: %s", why);
			len += snprintf(out + len, max - len, "method %s "
			    "target %s\n", h->method, h->target);
			for (i = 0; i < h->nhdr; i++)
				len += snprintf(out + len, max - len, "h %s: "
				    "%s\n", h->hdr[i].name, h->hdr[i].value);
			len += snprintf(out + len, max - len, "body ");
			if (strncmp(h->target, "/error", 6) == 0)
				mode = "error";
			else if (strncmp(h->target, "/bad", 4) == 0)
				mode = "bad";
			else if (strncmp(h->target, "/length", 7) == 0)
				mode = "length";
			if (strcmp(mode, "error") == 0) {
				if (exch_put_error(&xb, 504, "stub timed out",
				    why, sizeof(why)) == -1)
					errx(1, "stub: %s", why);
				(void)imsg_flush(&xb);
				_exit(0);
			}
			break;
		case EXCH_REQ_BODY:
			if (im.datalen > max - len)
				errx(1, "stub: too much body");
			memcpy(out + len, im.data, im.datalen);
			len += im.datalen;
			break;
		case EXCH_REQ_END:
			done = 1;
			break;
		default:
			errx(1, "stub: type %#x", im.hdr.type);
		}
		imsg_free(&im);
	}
	if (strcmp(mode, "bad") == 0) {
		(void)exch_put_body(&xb, EXCH_RESP_BODY, "x", 1, why,
		    sizeof(why));
		(void)imsg_flush(&xb);
		_exit(0);
	}
	r->status = 200;
	r->reason = "OK";
	r->rlen = 2;
	r->hdr[0].name = "X-Stub";
	r->hdr[0].nlen = 6;
	r->hdr[0].value = mode;
	r->hdr[0].vlen = strlen(mode);
	r->nhdr = 1;
	r->body = strcmp(mode, "length") == 0 ? EXCH_BODY_LENGTH :
	    EXCH_BODY_STREAM;
	r->length = r->body == EXCH_BODY_LENGTH ? len : 0;
	if (exch_put_resp(&xb, r, why, sizeof(why)) == -1)
		errx(1, "stub: resp: %s", why);
	/* in pieces of at most 1000 bytes: the framing is the proxy's */
	for (i = 0; i < len; i += 1000)
		if (exch_put_body(&xb, EXCH_RESP_BODY, out + i, len - i > 1000 ?
		    1000 : len - i, why, sizeof(why)) == -1 ||
		    imsg_flush(&xb) == -1)
			errx(1, "stub: body: %s", why);
	if (exch_put_end(&xb, EXCH_RESP_END, why, sizeof(why)) == -1 ||
	    imsg_flush(&xb) == -1)
		errx(1, "stub: end");
	_exit(0);
}

/* a stub exchange on one end of sv; the other is the proxy's */
static void
stub_start(int sv[2])
{
	pid_t	 pid;
	int	 st;

	if ((pid = fork()) == -1)
		err(1, "fork");
	if (pid == 0) {
		if (fork() == 0) {
			close(sv[1]);
			stub_exchange(sv[0]);
		}
		_exit(0);
	}
	(void)waitpid(pid, &st, 0);
	close(sv[0]);
	sv[0] = -1;
}
static struct phset	 hphs;		/* -x, in order */

/*
 * A credential exchange, as lensnetd's parent makes it (exchreq.c):
 * the stream's other end for the proxy, or why none.
 */
static void
exch_answer(struct imsgbuf *ib, struct imsg *im)
{
	struct netd_exch_req	 req;
	struct netd_exch	 ne;
	struct netd_exch_fail	 nf;
	struct cred_exchange	 ex;
	struct cred_error	 ce;
	struct imsgbuf		 cb;
	struct imsg		 cm;
	const char		*cafile;
	char			 path[1024], *buf = NULL;
	size_t			 pemlen = 0;
	ssize_t			 n;
	int			 fd = -1, sv[2] = { -1, -1 }, r = 0, pfd;

	if (imsg_expect(im, sizeof(req)) == -1)
		errx(1, "bad EXCH_REQ");
	memcpy(&req, im->data, sizeof(req));
	memset(&nf, 0, sizeof(nf));
	nf.reqid = req.reqid;
	if (hpol == NULL || exch_req_build(hpol, sandbox_id, &hphs, &req, &ex,
	    &cafile, nf.why, sizeof(nf.why)) == -1) {
		if (hpol == NULL)
			strlcpy(nf.why, "no policy", sizeof(nf.why));
		goto fail;
	}
	if ((buf = calloc(1, sizeof(ex) + CRED_PEM_MAX)) == NULL)
		err(1, "calloc");
	if (cafile != NULL) {
		snprintf(path, sizeof(path), "%s/%s", cadir, cafile);
		if ((pfd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
		    (n = read(pfd, buf + sizeof(ex), CRED_PEM_MAX)) <= 0)
			err(1, "%s", path);
		pemlen = n;
		close(pfd);
	}
	if (stub != NULL) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) ==
		    -1)
			err(1, "socketpair");
		/* blocking: the proxy makes its end non-blocking itself */
		stub_start(sv);
		memset(&ne, 0, sizeof(ne));
		ne.reqid = req.reqid;
		if (ex.token_family == AF_INET)
			fprintf(stderr, "harness: exchange %s: stub, token "
			    "%u.%u.%u.%u:%u\n", req.host, ex.token_addr[0],
			    ex.token_addr[1], ex.token_addr[2],
			    ex.token_addr[3], ex.token_port);
		else
			fprintf(stderr, "harness: exchange %s: stub\n",
			    req.host);
		send_msg(ib, IMSG_NETD_EXCH, im->hdr.peerid, sv[1], &ne,
		    sizeof(ne));
		free(buf);
		return;
	}
	if (credsock == NULL || (fd = unixsock_connect(credsock, 0)) == -1) {
		strlcpy(nf.why, "lenscredd is not connected", sizeof(nf.why));
		goto fail;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sv) == -1)
		err(1, "socketpair");
	ex.exch_id = 1;
	ex.calen = pemlen;
	memcpy(buf, &ex, sizeof(ex));
	imsg_init(&cb, fd);
	if (imsg_compose(&cb, IMSG_CRED_EXCHANGE, 0, 0, sv[0], buf,
	    sizeof(ex) + pemlen) == -1 || imsg_flush(&cb) == -1)
		err(1, "to lenscredd");
	sv[0] = -1;
	while ((r = imsg_get(&cb, &cm)) == 0)
		if ((n = imsg_read(&cb)) == 0 || (n == -1 && errno != EAGAIN))
			break;
	if (r == 1 && cm.hdr.type == IMSG_CRED_EXCHANGE_OK) {
		imsg_free(&cm);
		/* lenscredd's connection stays: the exchange runs on */
		memset(&ne, 0, sizeof(ne));
		ne.reqid = req.reqid;
		fprintf(stderr, "harness: exchange %s: ok\n", req.host);
		send_msg(ib, IMSG_NETD_EXCH, im->hdr.peerid, sv[1], &ne,
		    sizeof(ne));
		free(buf);
		return;
	}
	if (r == 1 && cm.hdr.type == IMSG_CRED_ERROR &&
	    cm.datalen == sizeof(ce)) {
		memcpy(&ce, cm.data, sizeof(ce));
		ce.msg[sizeof(ce.msg) - 1] = '\0';
		snprintf(nf.why, sizeof(nf.why), "lenscredd: %.200s", ce.msg);
	} else
		strlcpy(nf.why, "lenscredd connection lost before its answer",
		    sizeof(nf.why));
	if (r == 1)
		imsg_free(&cm);
	imsg_clear(&cb);
 fail:
	if (fd != -1)
		close(fd);
	if (sv[1] != -1)
		close(sv[1]);
	free(buf);
	fprintf(stderr, "harness: exchange %s: %s\n", req.host, nf.why);
	send_msg(ib, IMSG_NETD_EXCH_FAIL, im->hdr.peerid, -1, &nf, sizeof(nf));
}

/* im came on ib: the parent's channel, or lb, the dns's */
static void
answer(struct imsgbuf *ib, struct imsgbuf *lb, struct imsg *im)
{
	struct netd_resolve	 rq;
	struct netd_resolved	 rs;
	struct netd_inward	 in;
	struct netd_audit	 a;
	int			 i, fd;

	/* the dns's channel carries RESOLVE only, the parent's never */
	if ((im->hdr.type == IMSG_NETD_RESOLVE) != (ib == lb))
		errx(1, "message %#x from the proxy on the %s channel",
		    im->hdr.type, ib == lb ? "dns's" : "parent's");
	switch (im->hdr.type) {
	case IMSG_NETD_AUDIT:
		if (im->datalen < sizeof(a))
			errx(1, "short audit");
		memcpy(&a, im->data, sizeof(a));
		printf("audit %.*s %.*s\n", (int)strnlen(a.type,
		    sizeof(a.type)), a.type, (int)(im->datalen - sizeof(a)),
		    (char *)im->data + sizeof(a));
		fflush(stdout);
		break;
	case IMSG_NETD_RESOLVE:
		if (imsg_expect(im, sizeof(rq)) == -1)
			errx(1, "bad RESOLVE");
		memcpy(&rq, im->data, sizeof(rq));
		rq.name[sizeof(rq.name) - 1] = '\0';
		memset(&rs, 0, sizeof(rs));
		rs.reqid = rq.reqid;
		for (i = 0; i < nresolv && rs.naddrs < NETD_MAXADDRS; i++)
			if (strcasecmp(resolv[i].name, rq.name) == 0)
				rs.addrs[rs.naddrs++] = resolv[i].addr;
		rs.error = rs.naddrs == 0 ? EAI_NONAME : 0;
		rs.ttl = rs.naddrs > 0 ? resolve_ttl : 0;
		fprintf(stderr, "harness: resolve %s: %u addresses\n",
		    rq.name, rs.naddrs);
		send_msg(ib, IMSG_NETD_RESOLVED, im->hdr.peerid, -1, &rs,
		    sizeof(rs));
		break;
	case IMSG_NETD_LEAF_REQ:
		leaf_answer(ib, im);
		break;
	case IMSG_NETD_EXCH_REQ:
		exch_answer(ib, im);
		break;
	case IMSG_NETD_INWARD_REQUEST:
		if (imsg_expect(im, sizeof(in)) == -1)
			errx(1, "bad INWARD_REQUEST");
		memcpy(&in, im->data, sizeof(in));
		if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
			err(1, "socket");
		send_msg(ib, IMSG_NETD_INWARD_SOCKET, im->hdr.peerid, fd, &in,
		    sizeof(in));
		break;
	default:
		errx(1, "unexpected message %#x from the proxy", im->hdr.type);
	}
}

/* a caFile as lensnetd's parent reads and sends it */
static void
send_cafile(struct imsgbuf *ib, const char *name)
{
	struct netd_cafile	 nc;
	char			 path[1024], e[200];
	uint8_t			 buf[sizeof(nc) + NETD_CAFILE_MAX];
	ssize_t			 n;
	int			 fd;

	snprintf(path, sizeof(path), "%s/%s", cadir, name);
	if ((fd = open(path, O_RDONLY)) == -1)
		err(1, "caFile %s", path);
	if ((n = read(fd, buf + sizeof(nc), NETD_CAFILE_MAX)) == -1)
		err(1, "caFile %s", path);
	close(fd);
	if (pemcert_bundle_check(buf + sizeof(nc), n, e, sizeof(e)) == -1)
		errx(1, "caFile %s: %s", path, e);
	memset(&nc, 0, sizeof(nc));
	strlcpy(nc.name, name, sizeof(nc.name));
	nc.pemlen = n;
	memcpy(buf, &nc, sizeof(nc));
	send_msg(ib, IMSG_NETD_CAFILE, 1, -1, buf, sizeof(nc) + n);
}

static int
run(int argc, char **argv)
{
	struct netd_config	 cfg;
	struct netd_hostaddr	 hosts[32];
	struct netd_sandbox	 sb;
	struct netd_listener	 nl;
	struct netd_dnsmap	 dm;
	struct proxy_conf	 pc;
	struct netd_role	 role;
	struct proc_child	 child = { .name = "proxy" };
	struct imsgbuf		*ib, *lb, *rb;
	struct imsg		 im;
	struct sockaddr_storage	 ss;
	char			 policy[POLICY_MODEL_MAXSIZE], err_[256];
	struct policy_error	 perr;
	struct policy		*pol;
	void			*m;
	const char		*tlisten[8], *clisten[8], *publish[8];
	int			 nt = 0, nc = 0, np = 0, ch, i, fd, r;
	int			 verbose = 0;
	int			 nhosts = 0, link[2], keep[2], eof = 0;
	size_t			 plen = 0;
	struct pollfd		 pfd, pfds[2];
	uint8_t			*msg;
	static char		 ph[PHSCAN_MAXSET][PH_SIZE];
	size_t			 nph = 0;

	memset(&cfg, 0, sizeof(cfg));
	memset(&sb, 0, sizeof(sb));
	memset(&pc, 0, sizeof(pc));
	memset(&role, 0, sizeof(role));
	strlcpy(sb.sandbox, "0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef", sizeof(sb.sandbox));
	while ((ch = getopt(argc, argv,
	    "A:B:bC:c:D:E:F:G:H:I:J:K:k:L:M:m:O:P:p:Q:r:S:T:t:Vx:")) != -1) {
		switch (ch) {
		case 'x':
			if (nph >= PHSCAN_MAXSET)
				errx(1, "-x: too many placeholders");
			/* as given: the proxy checks them */
			strncpy(ph[nph++], optarg, PH_SIZE - 1);
			(void)phset_add(&hphs, optarg);
			break;
		case 'A':
			pc.trust = optarg;
			break;
		case 'b':
			pc.buffered = 1;
			break;
		case 'F':
			cadir = optarg;
			break;
		case 'G':
			pc.tls_ms = atoi(optarg);
			break;
		case 'k':
			credsock = optarg;
			break;
		case 'E':
			stub = optarg;
			break;
		case 'L':
			resolve_ttl = atoi(optarg);
			break;
		case 'M':
			add_ent(dnsmap2, &ndnsmap2, optarg);
			break;
		case 'B':
			pc.audit_burst = atoi(optarg);
			break;
		case 'D':
			pc.body_max = atoi(optarg);
			break;
		case 'J':
			pc.held_max = strtoull(optarg, NULL, 10);
			break;
		case 'V':
			verbose = 1;
			break;
		case 'C':
			pc.connect_ms = atoi(optarg);
			break;
		case 'c':
			if (nc < 8)
				clisten[nc++] = optarg;
			break;
		case 'H':
			memset(&hosts[nhosts], 0, sizeof(hosts[nhosts]));
			if (nhosts == 32 || parse_addr(optarg,
			    &hosts[nhosts].addr) == -1)
				errx(1, "-H %s", optarg);
			nhosts++;
			break;
		case 'I':
			pc.idle_ms = atoi(optarg);
			break;
		case 'K':
			pc.http_idle_ms = atoi(optarg);
			break;
		case 'Q':
			pc.audit_query_max = atoi(optarg);
			break;
		case 'm':
			add_ent(dnsmap, &ndnsmap, optarg);
			break;
		case 'O':
			if (optarg[0] == '\0' || optarg[1] != '=' ||
			    limits_option(&netd_limits, optarg[0], optarg + 2,
			    err_, sizeof(err_)) == -1)
				errx(1, "-O %s: %s", optarg, optarg[0] != '\0' &&
				    optarg[1] == '=' ? err_ : "need X=VALUE");
			break;
		case 'P':	/* sent as lensnetd's parent does: the model */
			if ((pol = policy_load(optarg, &perr)) == NULL) {
				policy_strerror(&perr, err_, sizeof(err_));
				errx(1, "%s", err_);
			}
			if ((m = policy_model(pol, &plen)) == NULL ||
			    plen > sizeof(policy))
				errx(1, "%s: no model", optarg);
			memcpy(policy, m, plen);
			free(m);
			for (i = 0; i < 16 && policy_cafile_at(pol, i) != NULL;
			    i++)
				if ((cafiles[ncafiles++] = strdup(
				    policy_cafile_at(pol, i))) == NULL)
					err(1, "strdup");
			policy_free(hpol);
			hpol = pol;	/* the parent's copy */
			break;
		case 'p':
			if (np < 8)
				publish[np++] = optarg;
			break;
		case 'r':
			add_ent(resolv, &nresolv, optarg);
			break;
		case 'S':
			if (inet_pton(AF_INET, optarg, &sb.addr) != 1)
				errx(1, "-S %s", optarg);
			break;
		case 'T':
			pc.peek_first_ms = atoi(optarg);
			break;
		case 't':
			if (nt < 8)
				tlisten[nt++] = optarg;
			break;
		default:
			errx(1, "bad option");
		}
	}
	if (privsep_user(NETD_USER, &role.user, err_, sizeof(err_)) == -1)
		errx(1, "%s", err_);
	role.parent = getpid();
	strlcpy(sandbox_id, sb.sandbox, sizeof(sandbox_id));
	proxy_tune(&pc);
	sb.policylen = plen;

	log_init(1, 0);
	log_setverbose(verbose);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	signal(SIGPIPE, SIG_IGN);
	proc_socketpair(link);
	role.link[0] = -1;
	role.link[1] = keep[0] = link[1];
	keep[1] = -1;
	proc_fork(&child, proxy_main, &role, keep);
	close(link[1]);
	proc_log_fork(&child);
	signal(SIGUSR1, on_usr);
	signal(SIGUSR2, on_usr);
	if ((ib = malloc(sizeof(*ib))) == NULL ||
	    (lb = malloc(sizeof(*lb))) == NULL)
		err(1, "malloc");
	imsg_init(ib, child.fd);
	imsg_init(lb, link[0]);

	send_msg(ib, IMSG_NETD_CONFIG, 0, -1, &cfg, sizeof(cfg));
	for (i = 0; i < nhosts; i++)
		send_msg(ib, IMSG_NETD_HOSTADDR_ADD, 0, -1, &hosts[i],
		    sizeof(hosts[i]));
	if ((msg = malloc(sizeof(sb) + plen)) == NULL)
		err(1, "malloc");
	memcpy(msg, &sb, sizeof(sb));
	memcpy(msg + sizeof(sb), policy, plen);
	send_msg(ib, IMSG_NETD_SANDBOX, 1, -1, msg, sizeof(sb) + plen);
	free(msg);
	for (i = 0; i < ncafiles; i++)
		send_cafile(ib, cafiles[i]);
	if (nph > 0)
		send_msg(ib, IMSG_NETD_PLACEHOLDERS, 1, -1, ph, nph * PH_SIZE);
	for (i = 0; i < ndnsmap; i++) {
		memset(&dm, 0, sizeof(dm));
		strlcpy(dm.name, dnsmap[i].name, sizeof(dm.name));
		dm.addr = dnsmap[i].addr;
		dm.ttl = 300;
		send_msg(lb, IMSG_NETD_DNSMAP, 1, -1, &dm, sizeof(dm));
	}
	for (i = 0; i < nt + nc + np; i++) {
		memset(&nl, 0, sizeof(nl));
		if (i < nt) {
			nl.kind = NETD_L_TRANSPARENT;
			fd = listen_on(tlisten[i]);
		} else if (i < nt + nc) {
			nl.kind = NETD_L_CONNECT;
			fd = listen_on(clisten[i - nt]);
		} else {
			char	 buf[128], *p;

			strlcpy(buf, publish[i - nt - nc], sizeof(buf));
			if ((p = strrchr(buf, ':')) == NULL)
				errx(1, "-p %s", buf);
			*p++ = '\0';
			nl.kind = NETD_L_PUBLISH;
			nl.port = atoi(p);
			fd = listen_on(buf);
		}
		send_msg(ib, IMSG_NETD_LISTENER, 1, fd, &nl, sizeof(nl));
	}
	printf("ready %d\n", (int)child.pid);
	fflush(stdout);

	while (!quit) {
		if (usr1) {
			usr1 = 0;
			for (i = 0; i < ndnsmap2; i++) {
				memset(&dm, 0, sizeof(dm));
				strlcpy(dm.name, dnsmap2[i].name,
				    sizeof(dm.name));
				dm.addr = dnsmap2[i].addr;
				dm.ttl = 300;
				send_msg(lb, IMSG_NETD_DNSMAP, 1, -1, &dm,
				    sizeof(dm));
			}
			fprintf(stderr, "harness: %d DNSMAP sent\n", ndnsmap2);
		}
		if (usr2) {
			usr2 = 0;
			if ((msg = malloc(sizeof(sb) + plen)) == NULL)
				err(1, "malloc");
			memcpy(msg, &sb, sizeof(sb));
			memcpy(msg + sizeof(sb), policy, plen);
			send_msg(ib, IMSG_NETD_SANDBOX, 1, -1, msg,
			    sizeof(sb) + plen);
			free(msg);
			fprintf(stderr, "harness: policy sent again\n");
		}
		pfds[0].fd = child.fd;
		pfds[1].fd = lb->fd;
		pfds[0].events = pfds[1].events = POLLIN;
		if (poll(pfds, 2, 500) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "poll");
		}
		for (i = 0; i < 2 && !eof; i++) {
			if (!(pfds[i].revents & (POLLIN | POLLHUP)))
				continue;
			rb = i == 0 ? ib : lb;
			if (imsg_read(rb) == 0) {
				eof = 1;
				break;
			}
			while ((r = imsg_get(rb, &im)) == 1) {
				answer(rb, lb, &im);
				imsg_free(&im);
			}
			if (r == -1)
				errx(1, "bad frame from the proxy");
		}
		if (eof)
			break;
	}
	/* a last look for audit events, then stop the child */
	kill(child.pid, SIGTERM);
	for (i = 0; i < 40; i++) {
		pfd.fd = child.fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if (imsg_read(ib) <= 0)
			break;
		while (imsg_get(ib, &im) == 1) {
			if (im.hdr.type == IMSG_NETD_AUDIT)
				answer(ib, lb, &im);
			imsg_free(&im);
		}
	}
	if (waitpid(child.pid, &child.status, 0) == -1)
		err(1, "waitpid");
	printf("proxy %s\n", proc_status(&child));
	imsg_clear(ib);
	imsg_clear(lb);
	close(lb->fd);
	free(ib);
	free(lb);
	(void)ss;
	return WIFEXITED(child.status) && WEXITSTATUS(child.status) == 0 ?
	    0 : 1;
}

/* echo server */

struct echo {
	int	 fd;
	char	 buf[65536];
	size_t	 len;
	int	 eof;
};

static int
echo(const char *where)
{
	struct echo	**cl = NULL;
	struct pollfd	*pf = NULL;
	struct rlimit	 rl;
	int		 lfd, n = 0, i, fd;
	ssize_t		 r;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	lfd = listen_on(where);
	printf("echo listening\n");
	fflush(stdout);
	for (;;) {
		if ((pf = reallocarray(pf, n + 1, sizeof(*pf))) == NULL)
			err(1, NULL);
		pf[0].fd = lfd;
		pf[0].events = POLLIN;
		for (i = 0; i < n; i++) {
			pf[i + 1].fd = cl[i]->fd;
			pf[i + 1].events = cl[i]->len > 0 ? POLLOUT :
			    cl[i]->eof ? 0 : POLLIN;
		}
		if (poll(pf, n + 1, -1) == -1)
			err(1, "poll");
		for (i = n - 1; i >= 0; i--) {
			struct echo *e = cl[i];
			short rev = pf[i + 1].revents;

			if (rev & POLLOUT) {
				r = write(e->fd, e->buf, e->len);
				if (r > 0) {
					memmove(e->buf, e->buf + r, e->len - r);
					e->len -= r;
				} else
					goto drop;
				if (e->len == 0 && e->eof)
					goto drop;
			} else if (rev & (POLLIN | POLLHUP | POLLERR)) {
				r = read(e->fd, e->buf, sizeof(e->buf));
				if (r <= 0) {
					if (r == 0 && e->len > 0) {
						e->eof = 1;
						continue;
					}
					goto drop;
				}
				e->len = r;
			}
			continue;
 drop:
			shutdown(e->fd, SHUT_WR);
			close(e->fd);
			free(e);
			cl[i] = cl[--n];
		}
		if (pf[0].revents & POLLIN) {
			if ((fd = accept(lfd, NULL, NULL)) == -1)
				continue;
			if ((cl = reallocarray(cl, n + 1, sizeof(*cl))) == NULL ||
			    (cl[n] = calloc(1, sizeof(**cl))) == NULL)
				err(1, NULL);
			cl[n++]->fd = fd;
		}
	}
}

static size_t
unescape(const char *s, char *out, size_t size)
{
	size_t	 n = 0;

	for (; *s != '\0' && n < size; s++) {
		if (s[0] == '\\' && s[1] == 'r') {
			out[n++] = '\r';
			s++;
		} else if (s[0] == '\\' && s[1] == 'n') {
			out[n++] = '\n';
			s++;
		} else
			out[n++] = *s;
	}
	return n;
}

static int
tcp_connect(const char *where)
{
	struct sockaddr_storage	 ss;
	int			 fd;

	parse_addrport(where, &ss);
	if ((fd = socket(ss.ss_family, SOCK_STREAM, 0)) == -1)
		err(1, "socket");
	if (connect(fd, (struct sockaddr *)&ss, sslen(&ss)) == -1)
		err(1, "connect %s", where);
	return fd;
}

static int
sendrecv(const char *where, const char *data, int waitms, int prems)
{
	char	 buf[65536];
	size_t	 n;
	ssize_t	 r;
	int	 fd;

	n = unescape(data, buf, sizeof(buf));
	fd = tcp_connect(where);
	if (prems > 0)
		usleep(prems * 1000);
	if (write(fd, buf, n) != (ssize_t)n)
		err(1, "write");
	if (waitms > 0)
		usleep(waitms * 1000);
	shutdown(fd, SHUT_WR);
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, r, stdout);
	if (r == -1)
		printf("\n[read error: %s]\n", strerror(errno));
	else
		printf("\n[eof]\n");
	return 0;
}

static int
stall(const char *where, const char *data)
{
	struct sockaddr_storage	 ss;
	struct linger		 lg = { 1, 0 };
	struct pollfd		 pfd;
	sigset_t		 set;
	char			 buf[4096];
	size_t			 n;
	int			 fd, small = 4096, sig;

	n = unescape(data, buf, sizeof(buf));
	parse_addrport(where, &ss);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if ((fd = socket(ss.ss_family, SOCK_STREAM, 0)) == -1)
		err(1, "socket");
	/* before connect: the window it announces stays small */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)) == -1)
		err(1, "SO_RCVBUF");
	if (connect(fd, (struct sockaddr *)&ss, sslen(&ss)) == -1)
		err(1, "connect %s", where);
	if (write(fd, buf, n) != (ssize_t)n)
		err(1, "write");
	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 10000) != 1 || read(fd, buf, 1) != 1)
		errx(1, "stall: no answer");
	printf("flowing\n");
	fflush(stdout);
	if (sigwait(&set, &sig) != 0)
		errx(1, "sigwait");
	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == -1)
		err(1, "SO_LINGER");
	close(fd);
	printf("reset\n");
	return 0;
}

static uint8_t	pattern(uint64_t);

static void
writeall(int fd, const void *p, size_t n)
{
	const uint8_t	*b = p;
	ssize_t		 r;

	while (n > 0) {
		if ((r = write(fd, b, n)) <= 0)
			exit(0);	/* the proxy went away */
		b += r;
		n -= r;
	}
}

/* a connection's input: bytes read and not yet used */
struct hin {
	int	 fd, logfd;
	int	 timeout;	/* ms a read may wait, 0: no limit */
	uint8_t	*b;
	size_t	 len, size;
};

/* more bytes; 0 at EOF */
static int
hin_more(struct hin *in)
{
	ssize_t	 r;

	if (in->len == in->size) {
		in->size = in->size ? in->size * 2 : 65536;
		if ((in->b = realloc(in->b, in->size)) == NULL)
			err(1, NULL);
	}
	if (in->timeout > 0) {
		struct pollfd	 pfd = { .fd = in->fd, .events = POLLIN };

		if (poll(&pfd, 1, in->timeout) != 1) {
			printf("\n[timeout]\n");
			exit(1);
		}
	}
	if ((r = read(in->fd, in->b + in->len, in->size - in->len)) <= 0)
		return 0;
	if (in->logfd != -1 && write(in->logfd, in->b + in->len, r) != r)
		err(1, "log");
	in->len += r;
	return 1;
}

static void
hin_drop(struct hin *in, size_t n)
{
	memmove(in->b, in->b + n, in->len - n);
	in->len -= n;
}

/* a request head at the start of in (0: EOF or a bad head) */
static int
hin_head(struct hin *in, struct peek_http *h)
{
	const char	*why;

	for (;;) {
		switch (peek_http(in->b, in->len, h, &why)) {
		case PEEK_FOUND:
		case PEEK_NONE:
			return 1;
		case PEEK_BAD:
			warnx("httpd: bad request: %s", why);
			return 0;
		default:
			if (!hin_more(in))
				return 0;
		}
	}
}

/* the body of h, decoded, into its sha256 (hex in out) */
static int
hin_body(struct hin *in, const struct peek_http *h, char *out)
{
	struct peek_body pb;
	EVP_MD_CTX	*md;
	uint8_t		 dig[32];
	const char	*why;
	size_t		 used, pos, i;
	unsigned int	 dl;
	uint64_t	 left = 0;
	int		 st = 0;	/* 0 size, 1 data, 2 crlf, 3 trailers */
	enum peek_result r;

	peek_body_init(&pb, h);
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		errx(1, "sha256");
	for (;;) {
		if (in->len == 0 && !hin_more(in))
			return 0;
		r = peek_body(&pb, in->b, in->len, &used, &why);
		if (r == PEEK_BAD) {
			warnx("httpd: bad body: %s", why);
			return 0;
		}
		if (r == PEEK_NEED_MORE)
			used = in->len;
		if (!h->chunked)
			EVP_DigestUpdate(md, in->b, used);
		else {
			/* decode what peek_body accepted */
			for (pos = 0; pos < used; ) {
				if (st == 1) {
					size_t n = used - pos < left ?
					    used - pos : left;
					EVP_DigestUpdate(md, in->b + pos, n);
					pos += n;
					if ((left -= n) == 0)
						st = 2;
					continue;
				}
				if (st == 0) {
					int c = in->b[pos++];
					if (c >= '0' && c <= '9')
						left = left * 16 + c - '0';
					else if (c >= 'a' && c <= 'f')
						left = left * 16 + c - 'a' + 10;
					else if (c >= 'A' && c <= 'F')
						left = left * 16 + c - 'A' + 10;
					else if (c == '\n')
						st = left > 0 ? 1 : 3;
					else
						st = st == 0 ? 4 : st;
					continue;
				}
				if (st == 4) {		/* extension */
					if (in->b[pos++] == '\n')
						st = left > 0 ? 1 : 3;
					continue;
				}
				if (st == 2) {		/* CRLF after data */
					if (in->b[pos++] == '\n') {
						st = 0;
						left = 0;
					}
					continue;
				}
				pos++;			/* trailers */
			}
		}
		hin_drop(in, used);
		if (r == PEEK_FOUND)
			break;
	}
	EVP_DigestFinal_ex(md, dig, &dl);
	EVP_MD_CTX_free(md);
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", dig[i]);
	return 1;
}

static void
httpd_big(int fd, uint64_t n, int head)
{
	static const char hd[] = "HTTP/1.1 200 OK\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n";
	uint8_t		 buf[70000];
	uint64_t	 sent = 0, i;
	size_t		 c, k = 0;
	int		 l;

	writeall(fd, hd, sizeof(hd) - 1);
	if (head)
		return;
	while (sent < n) {
		c = 1 + (k++ * 7919) % 65000;
		if (c > n - sent)
			c = n - sent;
		l = snprintf((char *)buf, 32, "%zx\r\n", c);
		for (i = 0; i < c; i++)
			buf[l + i] = pattern(sent + i);
		memcpy(buf + l + c, "\r\n", 2);
		writeall(fd, buf, l + c + 2);
		sent += c;
	}
	writeall(fd, "0\r\n\r\n", 5);
}

static void
httpd_conn(int fd, int logfd)
{
	static const char	 ok[] = "HTTP/1.1 200 OK\r\n"
	    "Content-Length: 3\r\n\r\nok\n";
	struct hin		 in = { .fd = fd, .logfd = logfd };
	struct peek_http	 h;
	char			 hex[65], resp[256], tgt[64];
	uint8_t			 buf[65536];
	ssize_t			 r;
	int			 head, n;

	while (hin_head(&in, &h)) {
		head = strcmp(h.method, "HEAD") == 0;
		n = h.target_len < sizeof(tgt) ? (int)h.target_len : 0;
		memcpy(tgt, in.b + h.target_off, n);
		tgt[n] = '\0';
		if (h.upgrade_websocket && h.conn_upgrade) {
			static const char sw[] = "HTTP/1.1 101 Switching "
			    "Protocols\r\nUpgrade: websocket\r\n"
			    "Connection: Upgrade\r\n\r\n";

			hin_drop(&in, h.headlen);
			writeall(fd, sw, sizeof(sw) - 1);
			if (in.len > 0)
				writeall(fd, in.b, in.len);
			while ((r = read(fd, buf, sizeof(buf))) > 0)
				writeall(fd, buf, r);
			exit(0);
		}
		hin_drop(&in, h.headlen);
		if (h.expect_continue)
			writeall(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25);
		if (h.chunked || (h.has_clen && h.clen > 0)) {
			if (!hin_body(&in, &h, hex))
				break;
			n = snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\n"
			    "Content-Length: 65\r\n\r\n%s\n", hex);
			writeall(fd, resp, n);
		} else if (strncmp(tgt, "/big/", 5) == 0)
			httpd_big(fd, strtoull(tgt + 5, NULL, 10), head);
		else
			writeall(fd, ok, sizeof(ok) - 1 - (head ? 3 : 0));
	}
	exit(0);
}

/* accept, a process per connection */
static int
serve(const char *where, const char *what, void (*fn)(int, int),
    int logfd)
{
	int	 lfd, fd;

	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_IGN);
	lfd = listen_on(where);
	printf("%s listening\n", what);
	fflush(stdout);
	for (;;) {
		if ((fd = accept(lfd, NULL, NULL)) == -1)
			continue;
		switch (fork()) {
		case -1:
			err(1, "fork");
		case 0:
			close(lfd);
			fn(fd, logfd);
			exit(0);
		default:
			close(fd);
		}
	}
}

static int
httpd(const char *where, const char *logpath)
{
	int	 logfd;

	if ((logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0644)) == -1)
		err(1, "%s", logpath);
	return serve(where, "httpd", httpd_conn, logfd);
}

static const char	*badmode;

static void
badhttpd_conn(int fd, int logfd)
{
	static const char inj[] = "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n"
	    "\r\ninjected\n";
	static const char pad[] = "X-Pad: 0123456789012345678901234567890"
	    "123456789012345678901234567890\r\n";
	struct hin	 in = { .fd = fd, .logfd = logfd };
	struct peek_http h;
	char		 buf[32768];
	int		 i, n = 0;

	while (hin_head(&in, &h)) {
		hin_drop(&in, h.headlen);
		if (n++ > 0) {
			/* a request after the first (if the proxy sends one) */
			writeall(fd, "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n"
			    "\r\nsecond\n", 45);
			continue;
		}
		if (strcmp(badmode, "extra") == 0)
			snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\n"
			    "Content-Length: 3\r\n\r\nok\n%s", inj);
		else if (strcmp(badmode, "clcl") == 0)
			snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\n"
			    "Content-Length: 3\r\nContent-Length: 48\r\n\r\n"
			    "ok\n%s", inj);
		else if (strcmp(badmode, "tecl") == 0)
			snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\n"
			    "Content-Length: 48\r\nTransfer-Encoding: chunked"
			    "\r\n\r\n3\r\nok\n\r\n0\r\n\r\n%s", inj);
		else if (strcmp(badmode, "barelf") == 0)
			snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\n"
			    "Content-Length: 3\n\nok\n%s", inj);
		else if (strcmp(badmode, "chunkbad") == 0)
			snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\n"
			    "Transfer-Encoding: chunked\r\n\r\n2\r\nok\n"
			    "\r\n0\r\n\r\n%s", inj);
		else if (strcmp(badmode, "switch") == 0)
			snprintf(buf, sizeof(buf), "HTTP/1.1 101 Switching "
			    "Protocols\r\nUpgrade: websocket\r\nConnection: "
			    "Upgrade\r\n\r\n%s", inj);
		else if (strcmp(badmode, "flood") == 0) {
			for (i = 0; i < 1000; i++)
				writeall(fd, "HTTP/1.1 102 Processing\r\n\r\n",
				    27);
			snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\n"
			    "Content-Length: 3\r\n\r\nok\n");
		} else if (strcmp(badmode, "bighead") == 0) {
			writeall(fd, "HTTP/1.1 200 OK\r\n", 17);
			for (i = 0; i < 400; i++)
				writeall(fd, pad, sizeof(pad) - 1);
			snprintf(buf, sizeof(buf), "Content-Length: 3\r\n\r\n"
			    "ok\n%s", inj);
		} else
			errx(1, "badhttpd: mode %s", badmode);
		writeall(fd, buf, strlen(buf));
	}
	exit(0);
}

static int
badhttpd(const char *where, const char *mode)
{
	badmode = mode;
	return serve(where, "badhttpd", badhttpd_conn, -1);
}

/* keep-alive client: each request after the response before it */
static int
seq(const char *where, int n, char **reqs)
{
	struct peek_response resp;
	struct peek_body pb;
	struct hin	 in;
	char		 req[65536];
	const char	*why;
	size_t		 len, used;
	int		 i, head, r;

	signal(SIGPIPE, SIG_IGN);
	memset(&in, 0, sizeof(in));
	in.fd = tcp_connect(where);
	in.logfd = -1;
	in.timeout = 10000;
	for (i = 0; i < n; i++) {
		len = unescape(reqs[i], req, sizeof(req));
		head = strncmp(req, "HEAD ", 5) == 0;
		if (write(in.fd, req, len) != (ssize_t)len) {
			printf("[write: %s]\n", strerror(errno));
			break;
		}
 again:
		while ((r = peek_http_response(in.b, in.len, &resp, &why)) ==
		    PEEK_NEED_MORE)
			if (!hin_more(&in))
				goto eof;
		if (r == PEEK_BAD) {
			printf("[bad response: %s]\n", why);
			free(in.b);
			return 1;
		}
		printf("status %d\n", resp.status);
		fwrite(in.b, 1, resp.headlen, stdout);
		hin_drop(&in, resp.headlen);
		if (resp.status < 200 && resp.status != 101)
			goto again;
		if (head || resp.status == 204 || resp.status == 304 ||
		    resp.status == 101)
			continue;
		if (!resp.chunked && !resp.has_clen) {
			for (;;) {
				fwrite(in.b, 1, in.len, stdout);
				in.len = 0;
				if (!hin_more(&in))
					goto eof;
			}
		}
		peek_body_init_response(&pb, &resp);
		for (;;) {
			if (in.len == 0 && !hin_more(&in))
				goto eof;
			if ((r = peek_body(&pb, in.b, in.len, &used, &why)) ==
			    PEEK_BAD) {
				printf("[bad body: %s]\n", why);
				free(in.b);
				return 1;
			}
			if (r == PEEK_NEED_MORE)
				used = in.len;
			fwrite(in.b, 1, used, stdout);
			hin_drop(&in, used);
			if (r == PEEK_FOUND)
				break;
		}
		printf("\n");
		fflush(stdout);
	}
	printf("[done]\n");
	free(in.b);
	return 0;
 eof:
	printf("\n[eof]\n");
	free(in.b);
	return 0;
}

static int
patternout(uint64_t n)
{
	uint8_t		 buf[65536];
	uint64_t	 i, off = 0;
	size_t		 c;

	while (off < n) {
		c = n - off < sizeof(buf) ? n - off : sizeof(buf);
		for (i = 0; i < c; i++)
			buf[i] = pattern(off + i);
		if (fwrite(buf, 1, c, stdout) != c)
			err(1, "stdout");
		off += c;
	}
	return 0;
}

static int
converse(const char *where, const char *d1, const char *d2)
{
	struct pollfd	 pfd;
	char		 buf[65536];
	size_t		 n;
	ssize_t		 r;
	int		 fd;

	signal(SIGPIPE, SIG_IGN);
	fd = tcp_connect(where);
	n = unescape(d1, buf, sizeof(buf));
	if (write(fd, buf, n) != (ssize_t)n)
		err(1, "write");
	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 10000) != 1)
		errx(1, "converse: no answer to the first request");
	if ((r = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, r, stdout);
	if (r > 0) {
		n = unescape(d2, buf, sizeof(buf));
		if (write(fd, buf, n) != (ssize_t)n)
			printf("\n[second write: %s]\n", strerror(errno));
		shutdown(fd, SHUT_WR);
		while (poll(&pfd, 1, 10000) == 1 &&
		    (r = read(fd, buf, sizeof(buf))) > 0)
			fwrite(buf, 1, r, stdout);
	}
	if (r == -1)
		printf("\n[read error: %s]\n", strerror(errno));
	else
		printf("\n[eof]\n");
	return 0;
}

static uint8_t
pattern(uint64_t i)
{
	return (uint8_t)((i * 131) ^ (i >> 11) ^ (i >> 19));
}

static int
blast(const char *where, uint64_t total)
{
	struct pollfd	 pfd;
	uint8_t		 buf[65536];
	uint64_t	 sent = 0, got = 0, i;
	ssize_t		 r;
	size_t		 len;
	int		 fd, same = 1, eof = 0;

	signal(SIGPIPE, SIG_IGN);
	fd = tcp_connect(where);
	if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1)
		err(1, "fcntl");
	if (total == 0)
		shutdown(fd, SHUT_WR);
	while (!eof) {
		pfd.fd = fd;
		pfd.events = POLLIN | (sent < total ? POLLOUT : 0);
		if (poll(&pfd, 1, 30000) <= 0)
			errx(1, "blast: stalled at sent=%llu got=%llu",
			    (unsigned long long)sent, (unsigned long long)got);
		if (pfd.revents & POLLOUT) {
			len = total - sent < sizeof(buf) ? total - sent :
			    sizeof(buf);
			for (i = 0; i < len; i++)
				buf[i] = pattern(sent + i);
			if ((r = write(fd, buf, len)) == -1 && errno != EAGAIN)
				err(1, "blast: write");
			if (r > 0 && (sent += r) == total)
				shutdown(fd, SHUT_WR);
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			if ((r = read(fd, buf, sizeof(buf))) == -1) {
				if (errno == EAGAIN)
					continue;
				err(1, "blast: read");
			}
			if (r == 0)
				eof = 1;
			for (i = 0; i < (uint64_t)r; i++)
				if (buf[i] != pattern(got + i))
					same = 0;
			got += r;
		}
	}
	close(fd);
	printf("blast sent=%llu got=%llu same=%d\n", (unsigned long long)sent,
	    (unsigned long long)got, same && got == sent);
	return 0;
}

static int
hold(int n, const char *proxy, const char *target, int linger)
{
	struct rlimit	 rl;
	char		 req[256], buf[512];
	int		*fds, i, good = 0;
	ssize_t		 r;
	size_t		 len;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if ((fds = calloc(n, sizeof(int))) == NULL)
		err(1, NULL);
	len = snprintf(req, sizeof(req), "CONNECT %s HTTP/1.1\r\n"
	    "Host: %s\r\n\r\n", target, target);
	for (i = 0; i < n; i++) {
		fds[i] = tcp_connect(proxy);
		if (write(fds[i], req, len) != (ssize_t)len)
			err(1, "write");
	}
	for (i = 0; i < n; i++) {
		r = read(fds[i], buf, 39);	/* "HTTP/1.1 200 Connection established\r\n\r\n" */
		if (r != 39 || strncmp(buf, "HTTP/1.1 200 ", 13) != 0)
			errx(1, "tunnel %d: %.*s", i, (int)(r > 0 ? r : 0), buf);
	}
	printf("established %d\n", n);
	fflush(stdout);
	sleep(1);
	for (i = 0; i < n; i++) {
		len = snprintf(req, sizeof(req), "line %d\n", i);
		if (write(fds[i], req, len) != (ssize_t)len)
			err(1, "write %d", i);
	}
	for (i = 0; i < n; i++) {
		len = snprintf(req, sizeof(req), "line %d\n", i);
		r = read(fds[i], buf, sizeof(buf));
		if (r == (ssize_t)len && memcmp(buf, req, len) == 0)
			good++;
	}
	printf("held %d\n", good);
	fflush(stdout);
	if (linger > 0)
		sleep(linger);
	for (i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
	return good == n ? 0 : 1;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		errx(1, "usage: proxyharness run|echo|send|hold|blast ...");
	if (strcmp(argv[1], "run") == 0) {
		proc_init(argc, argv);
		return run(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "echo") == 0 && argc == 3)
		return echo(argv[2]);
	if (strcmp(argv[1], "send") == 0 && argc >= 4 && argc <= 6)
		return sendrecv(argv[2], argv[3], argc >= 5 ? atoi(argv[4]) : 0,
		    argc == 6 ? atoi(argv[5]) : 0);
	if (strcmp(argv[1], "hold") == 0 && (argc == 5 || argc == 6))
		return hold(atoi(argv[2]), argv[3], argv[4],
		    argc == 6 ? atoi(argv[5]) : 0);
	if (strcmp(argv[1], "stall") == 0 && argc == 4)
		return stall(argv[2], argv[3]);
	if (strcmp(argv[1], "httpd") == 0 && argc == 4)
		return httpd(argv[2], argv[3]);
	if (strcmp(argv[1], "badhttpd") == 0 && argc == 4)
		return badhttpd(argv[2], argv[3]);
	if (strcmp(argv[1], "seq") == 0 && argc >= 4)
		return seq(argv[2], argc - 3, argv + 3);
	if (strcmp(argv[1], "pattern") == 0 && argc == 3)
		return patternout(strtoull(argv[2], NULL, 10));
	if (strcmp(argv[1], "converse") == 0 && argc == 5)
		return converse(argv[2], argv[3], argv[4]);
	if (strcmp(argv[1], "blast") == 0 && argc == 4)
		return blast(argv[2], strtoull(argv[3], NULL, 10));
	errx(1, "bad usage");
}
