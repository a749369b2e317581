/*
 * netbench: the load tool of the network benchmark (regress/bench/net.sh).
 * One subcommand per role; every client prints one line of key=value
 * figures on standard output and exits 0, or names what went wrong on
 * standard error and exits 1 (2 for a usage error).
 *
 *	netbench serve [-c CERT -k KEY] [-w WORKERS] ADDR:PORT
 *	    HTTP/1.1 server.  "GET /bytes/N" answers 200 with N bytes,
 *	    "GET /" a small body, anything else 404; keep-alive unless the
 *	    client asks to close.  Prints "listening ADDR:PORT" (and " tls")
 *	    when ready and serves until killed.  -c and -k: HTTPS with
 *	    that certificate chain and key (TLS 1.2 and up, no session
 *	    tickets or cache: every handshake a full one).  -w: that many
 *	    processes accepting on the one socket (they end with it).
 *	netbench get [-x PROXY:PORT] [-H HOST] ADDR PORT BYTES
 *	    one connection, "GET /bytes/BYTES", body read and discarded:
 *	    "bytes=N seconds=S mbps=M" (megabits per second, timed from the
 *	    request to the last byte).
 *	netbench conn [-x PROXY:PORT] [-H HOST] ADDR PORT N
 *	    N sequential new connections, each "GET /" read to its end and
 *	    closed (after 10 uncounted warm-up ones): "n=N p50_us=X
 *	    p99_us=Y mean_us=Z", times from connect() to the last byte.
 *	netbench idle [-p] [-x PROXY:PORT] [-H HOST] ADDR PORT N
 *	    opens N connections and keeps them: each does one keep-alive
 *	    "GET /" (with -p: sends an unfinished request head instead),
 *	    then stays idle.  Prints "established=N" and waits until killed.
 *	netbench dns SERVER[:PORT] NAME SECONDS [WINDOW]
 *	    UDP queries for NAME (type A, random ids), WINDOW of them
 *	    outstanding (default 64), for SECONDS: "queries=Q answers=A
 *	    errors=E lost=L seconds=S qps=X", where answers are NOERROR
 *	    replies with at least one record, errors the other replies,
 *	    lost the queries unanswered after a second, and qps is
 *	    answers per second.
 *	netbench tlsreq -C CAFILE [-S NAME] [-b BYTES] [-c CONNS]
 *	    [-x PROXY:PORT] [-H HOST] ADDR PORT SECONDS
 *	    CONNS (default 1) threads, each with one keep-alive HTTPS
 *	    connection sending "GET /bytes/BYTES" (default 1024) one after
 *	    the other for SECONDS (after 10 uncounted ones each):
 *	    "conns=C requests=N seconds=S rps=X p50_us=A p99_us=B
 *	    mean_us=M", times from the request to the last byte of its
 *	    answer.  The server's certificate must verify with CAFILE for
 *	    NAME (default HOST, else ADDR), the name also sent as SNI; a
 *	    certificate that does not is an error naming its subject and
 *	    issuer.
 *	    -P PREFIX: the path is PREFIX/bytes/BYTES (the server takes
 *	    any PREFIX of letters); -j: each request a POST with a 1 KiB
 *	    GraphQL request as its JSON body ({"query": ..., "pad": ...},
 *	    Content-Length), the body a graphql: rule reads.
 *	netbench tlsconn (the same options and operands)
 *	    the same with a new connection for every request: connect
 *	    (and CONNECT with -x), a full TLS handshake (no resumption),
 *	    one GET with "Connection: close", close: "conns=C
 *	    connections=N seconds=S cps=X p50_us=A p99_us=B mean_us=M".
 *
 * -x goes through an HTTP CONNECT proxy: the tunnel is asked for
 * HOST:PORT when -H is given (the proxy resolves the name), else for
 * ADDR:PORT.  -H also sets the Host header (default ADDR).  ADDR may be
 * a name, resolved once before anything is timed; PROXY, SERVER and the
 * serve address are numeric (IPv6 in brackets).
 */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define HEAD_MAX	8192		/* request or response head */
#define BODY_CHUNK	(1024 * 1024)	/* static body buffer, recv buffer */
#define IO_TIMEOUT	10		/* seconds, for every client socket */
#define CONN_WARMUP	10
#define MAX_BYTES	(1ULL << 40)
#define MAX_CONNS	1000000
#define SMALL_BODY	"netbench\n"

static char	 bodybuf[BODY_CHUNK];

static void	usage(void) __attribute__((noreturn));
static int	cmd_idle(int, char *[]) __attribute__((noreturn));
static int	cmd_serve(int, char *[]) __attribute__((noreturn));

static void
usage(void)
{
	fprintf(stderr,
	    "usage: netbench serve [-c CERT -k KEY] [-w WORKERS] ADDR:PORT\n"
	    "       netbench get [-x PROXY:PORT] [-H HOST] ADDR PORT BYTES\n"
	    "       netbench conn [-x PROXY:PORT] [-H HOST] ADDR PORT N\n"
	    "       netbench idle [-p] [-x PROXY:PORT] [-H HOST] ADDR PORT N\n"
	    "       netbench dns SERVER[:PORT] NAME SECONDS [WINDOW]\n"
	    "       netbench tlsreq|tlsconn -C CAFILE [-S NAME] [-b BYTES] "
	    "[-c CONNS]\n"
	    "                [-x PROXY:PORT] [-H HOST] ADDR PORT SECONDS\n");
	exit(2);
}

/* ---- helpers shared by the modes ------------------------------------ */

static uint64_t
num(const char *what, const char *s, uint64_t min, uint64_t max)
{
	char			*end;
	unsigned long long	 v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 ||
	    v < min || v > max)
		errx(2, "%s %s: need a number from %llu to %llu", what, s,
		    (unsigned long long)min, (unsigned long long)max);
	return v;
}

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * A numeric ADDR:PORT, [V6]:PORT or (with defport) a bare address into
 * ss; a missing port without a default is an error naming what.
 */
static socklen_t
parse_hostport(const char *what, const char *s, int defport,
    struct sockaddr_storage *ss)
{
	struct addrinfo	 hints, *res;
	char		 host[INET6_ADDRSTRLEN + 2], *colon, *port = NULL;
	char		 pbuf[8];
	socklen_t	 len;
	int		 e;

	if (strlcpy(host, s, sizeof(host)) >= sizeof(host))
		errx(2, "%s %s: too long for ADDR:PORT", what, s);
	if (host[0] == '[') {
		if ((colon = strchr(host, ']')) == NULL)
			errx(2, "%s %s: no ']' after an IPv6 address", what, s);
		*colon = '\0';
		if (colon[1] == ':')
			port = colon + 2;
		else if (colon[1] != '\0')
			errx(2, "%s %s: need [ADDR]:PORT", what, s);
		memmove(host, host + 1, strlen(host + 1) + 1);
	} else if ((colon = strrchr(host, ':')) != NULL) {
		if (strchr(host, ':') != colon)
			errx(2, "%s %s: put an IPv6 address in brackets", what,
			    s);
		*colon = '\0';
		port = colon + 1;
	}
	if (port == NULL) {
		if (defport == 0)
			errx(2, "%s %s: no port (need ADDR:PORT)", what, s);
		snprintf(pbuf, sizeof(pbuf), "%d", defport);
		port = pbuf;
	} else
		num(what, port, 1, 65535);
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if ((e = getaddrinfo(host, port, &hints, &res)) != 0)
		errx(2, "%s %s: not a numeric address: %s", what, s,
		    gai_strerror(e));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	len = res->ai_addrlen;
	freeaddrinfo(res);
	return len;
}

/* ADDR (a name or a number) and PORT of the clients, resolved once */
static socklen_t
resolve(const char *addr, const char *port, struct sockaddr_storage *ss)
{
	struct addrinfo	 hints, *res;
	socklen_t	 len;
	int		 e;

	num("PORT", port, 1, 65535);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((e = getaddrinfo(addr, port, &hints, &res)) != 0)
		errx(1, "%s: %s", addr, gai_strerror(e));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	len = res->ai_addrlen;
	freeaddrinfo(res);
	return len;
}

static const char *
sastr(const struct sockaddr_storage *ss)
{
	static char	 buf[INET6_ADDRSTRLEN + 8];
	char		 a[INET6_ADDRSTRLEN];
	const void	*p;
	int		 port;

	if (ss->ss_family == AF_INET6) {
		p = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	} else {
		p = &((const struct sockaddr_in *)ss)->sin_addr;
		port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
	}
	if (inet_ntop(ss->ss_family, p, a, sizeof(a)) == NULL)
		strlcpy(a, "?", sizeof(a));
	snprintf(buf, sizeof(buf), ss->ss_family == AF_INET6 ? "[%s]:%d" :
	    "%s:%d", a, port);
	return buf;
}

/*
 * RLIMIT_NOFILE up to want (root with CAP_SYS_RESOURCE may raise the
 * hard limit too); short of it is an error only when must is set.
 */
static void
raise_nofile(rlim_t want, int must)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		err(1, "getrlimit");
	if (rl.rlim_cur >= want)
		return;
	if (rl.rlim_max < want) {
		rl.rlim_max = want;
		rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
			return;
		if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
			err(1, "getrlimit");
	}
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		err(1, "setrlimit RLIMIT_NOFILE %llu",
		    (unsigned long long)rl.rlim_cur);
	if (rl.rlim_cur < want && must)
		errx(1, "need %llu open files, the hard limit is %llu",
		    (unsigned long long)want, (unsigned long long)rl.rlim_cur);
}

/* ---- client side ---------------------------------------------------- */

struct target {
	struct sockaddr_storage	 dst;		/* ADDR:PORT */
	socklen_t		 dstlen;
	struct sockaddr_storage	 proxy;		/* -x */
	socklen_t		 proxylen;	/* 0: no proxy */
	char			 tunnel[300];	/* CONNECT authority */
	char			 host[300];	/* Host header */
};

/* a client connection: plain TCP, or TLS over it when ssl is set */
struct cio {
	int	 fd;
	SSL	*ssl;
};

/* the reason of the last failed TLS call, for a message */
static const char *
tls_why(void)
{
	static char	 buf[256];
	unsigned long	 e;

	if ((e = ERR_peek_last_error()) == 0)
		return errno != 0 ? strerror(errno) : "connection closed";
	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return buf;
}

static void
send_all(struct cio *io, const char *what, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;
	int		 w;

	while (len > 0) {
		if (io->ssl != NULL) {
			errno = 0;
			if ((w = SSL_write(io->ssl, p, len)) <= 0)
				errx(1, "%s: TLS write: %s", what, tls_why());
			n = w;
		} else if ((n = send(io->fd, p, len, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "%s: send", what);
		}
		p += n;
		len -= n;
	}
}

/* recv(2) or SSL_read: bytes read, 0 at the end, -1 with errno set */
static ssize_t
cio_recv(struct cio *io, const char *what, void *buf, size_t len)
{
	int	 n;

	if (io->ssl == NULL)
		return recv(io->fd, buf, len, 0);
	errno = 0;
	if ((n = SSL_read(io->ssl, buf, len)) > 0)
		return n;
	switch (SSL_get_error(io->ssl, n)) {
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		if (errno == 0)
			return 0;	/* closed without close_notify */
		if (errno == EINTR)
			errno = EIO;	/* not restartable as recv is */
		return -1;
	default:
		errx(1, "%s: TLS read: %s", what, tls_why());
	}
}

/*
 * Read a response head into buf (NUL-terminated); returns the head's
 * length; *got is how many bytes were read in all (the rest is body).
 */
static size_t
read_head(struct cio *io, const char *what, char *buf, size_t size,
    size_t *got)
{
	char	*end;
	ssize_t	 n;
	size_t	 len = 0;

	for (;;) {
		if (len == size - 1)
			errx(1, "%s: response head longer than %zu bytes", what,
			    size - 1);
		n = cio_recv(io, what, buf + len, size - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			err(1, "%s: recv", what);
		if (n == 0)
			errx(1, "%s: connection closed before the end of the "
			    "response head (%zu bytes: \"%.*s\")", what, len,
			    (int)(len > 60 ? 60 : len), buf);
		len += n;
		buf[len] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) != NULL) {
			*got = len;
			return end + 4 - buf;
		}
	}
}

/* "HTTP/1.x 200 ..." */
static void
check_status(const char *what, const char *head)
{
	if (strncmp(head, "HTTP/1.", 7) != 0 || !isdigit((u_char)head[7]) ||
	    strncmp(head + 8, " 200", 4) != 0 ||
	    (head[12] != ' ' && head[12] != '\r'))
		errx(1, "%s: not a 200 answer: \"%.*s\"", what,
		    (int)strcspn(head, "\r\n"), head);
}

static uint64_t
content_length(const char *what, const char *head)
{
	const char	*p = head;
	char		*end;
	unsigned long long v;

	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, "Content-Length:", 15) != 0)
			continue;
		p += 15;
		p += strspn(p, " \t");
		errno = 0;
		v = strtoull(p, &end, 10);
		if (!isdigit((u_char)*p) || errno != 0 ||
		    (*end != '\r' && *end != ' '))
			errx(1, "%s: bad Content-Length: \"%.*s\"", what,
			    (int)strcspn(p, "\r\n"), p);
		return v;
	}
	errx(1, "%s: no Content-Length in the answer", what);
}

/* does the answer's head end the connection (Connection: close)? */
static int
says_close(const char *head)
{
	const char	*p = head;
	size_t		 n;

	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, "Connection:", 11) != 0)
			continue;
		for (p += 11; *p != '\r' && *p != '\0'; p += n) {
			p += strspn(p, " \t,");
			n = strcspn(p, " \t,\r");
			if (n == 5 && strncasecmp(p, "close", 5) == 0)
				return 1;
		}
	}
	return 0;
}

static int
dial(const struct target *t, const char *what)
{
	const struct sockaddr_storage *sa;
	struct timeval	 tv = { IO_TIMEOUT, 0 };
	struct cio	 io = { -1, NULL };
	char		 buf[HEAD_MAX], req[700];
	size_t		 hlen, got;
	socklen_t	 salen;
	int		 fd, one = 1;

	sa = t->proxylen ? &t->proxy : &t->dst;
	salen = t->proxylen ? t->proxylen : t->dstlen;
	if ((fd = socket(sa->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		err(1, "%s: socket", what);
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ==
	    -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1)
		err(1, "%s: setsockopt", what);
	if (connect(fd, (const struct sockaddr *)sa, salen) == -1)
		err(1, "%s: connect %s%s", what, sastr(sa),
		    t->proxylen ? " (the proxy)" : "");
	if (t->proxylen == 0)
		return fd;
	snprintf(req, sizeof(req), "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n",
	    t->tunnel, t->tunnel);
	io.fd = fd;
	send_all(&io, what, req, strlen(req));
	hlen = read_head(&io, what, buf, sizeof(buf), &got);
	check_status(what, buf);
	if (got != hlen)
		errx(1, "%s: the proxy sent %zu bytes after its CONNECT "
		    "answer", what, got - hlen);
	return fd;
}

/*
 * one request on fd: its head, the body read to its end; returns size;
 * *closing (when not NULL) says whether the server ends the connection
 */
static uint64_t
request(struct cio *io, const struct target *t, const char *what,
    const char *path, int keepalive, int *closing, const char *post)
{
	char		 buf[HEAD_MAX], req[2048], small[16384], *body;
	size_t		 hlen, got, bodylen;
	uint64_t	 cl, left;
	ssize_t		 n;

	/* threads of the TLS modes read small bodies into their stack */
	body = io->ssl != NULL ? small : bodybuf;
	bodylen = io->ssl != NULL ? sizeof(small) : sizeof(bodybuf);

	if (post != NULL)
		snprintf(req, sizeof(req), "POST %s HTTP/1.1\r\nHost: %s\r\n"
		    "User-Agent: netbench\r\nContent-Type: application/json\r\n"
		    "Content-Length: %zu\r\n%s\r\n%s", path, t->host,
		    strlen(post), keepalive ? "" : "Connection: close\r\n",
		    post);
	else
		snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n"
		    "User-Agent: netbench\r\n%s\r\n", path, t->host,
		    keepalive ? "" : "Connection: close\r\n");
	send_all(io, what, req, strlen(req));
	hlen = read_head(io, what, buf, sizeof(buf), &got);
	check_status(what, buf);
	if (closing != NULL)
		*closing = says_close(buf);
	cl = content_length(what, buf);
	if (got - hlen > cl)
		errx(1, "%s: %zu bytes after a body of %llu", what,
		    got - hlen - (size_t)cl, (unsigned long long)cl);
	left = cl - (got - hlen);
	while (left > 0) {
		n = cio_recv(io, what, body, left < bodylen ? left : bodylen);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			err(1, "%s: recv after %llu of %llu body bytes", what,
			    (unsigned long long)(cl - left),
			    (unsigned long long)cl);
		if (n == 0)
			errx(1, "%s: connection closed after %llu of %llu "
			    "body bytes", what, (unsigned long long)(cl - left),
			    (unsigned long long)cl);
		left -= n;
	}
	return cl;
}

/* the options of tlsreq and tlsconn */
struct tlsopt {
	const char	*cafile;	/* -C */
	const char	*sni;		/* -S, else -H, else ADDR */
	unsigned int	 conns;		/* -c */
	uint64_t	 bytes;		/* -b */
	const char	*prefix;	/* -P */
	int		 json;		/* -j */
};

#define JSON_BODY	1024		/* netbench tlsreq -j */
static char	 jsonbody[JSON_BODY + 1];

/*
 * The options and operands of get, conn, idle (partial set) and the
 * TLS modes (to set); returns the count.
 */
static uint64_t
client_args(int argc, char *argv[], struct target *t, const char *count,
    uint64_t max, int *partial, struct tlsopt *to)
{
	const char	*proxy = NULL, *host = NULL;
	int		 ch;

	memset(t, 0, sizeof(*t));
	while ((ch = getopt(argc, argv, partial ? "H:px:" : to != NULL ?
	    "C:H:P:S:b:c:jx:" : "H:x:")) != -1) {
		switch (ch) {
		case 'P':
			if (optarg[0] != '/' || strlen(optarg) > 32 ||
			    strspn(optarg + 1, "abcdefghijklmnopqrstuvwxyz") !=
			    strlen(optarg) - 1)
				errx(2, "-P %s: not /letters", optarg);
			to->prefix = optarg;
			break;
		case 'j':
			to->json = 1;
			break;
		case 'C':
			to->cafile = optarg;
			break;
		case 'S':
			if (*optarg == '\0' || strlen(optarg) > 253 ||
			    strpbrk(optarg, " \t\r\n/:[]") != NULL)
				errx(2, "-S %s: not a host name", optarg);
			to->sni = optarg;
			break;
		case 'b':
			to->bytes = num("-b", optarg, 0, 1 << 20);
			break;
		case 'c':
			to->conns = num("-c", optarg, 1, 1024);
			break;
		case 'H':
			if (host != NULL)
				errx(2, "-H given twice");
			if (*optarg == '\0' || strlen(optarg) > 253 ||
			    strpbrk(optarg, " \t\r\n/:[]") != NULL)
				errx(2, "-H %s: not a host name", optarg);
			host = optarg;
			break;
		case 'p':
			*partial = 1;
			break;
		case 'x':
			if (proxy != NULL)
				errx(2, "-x given twice");
			proxy = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 3)
		usage();
	if (proxy != NULL)
		t->proxylen = parse_hostport("-x", proxy, 0, &t->proxy);
	t->dstlen = resolve(argv[0], argv[1], &t->dst);
	if (host == NULL) {
		/* the Host header and tunnel of a numeric ADDR as given */
		if (strlen(argv[0]) > 253 ||
		    strpbrk(argv[0], " \t\r\n/[]") != NULL)
			errx(2, "ADDR %s: not a host name or address", argv[0]);
		host = argv[0];
	}
	if (to != NULL) {
		if (to->cafile == NULL)
			errx(2, "no -C CAFILE to verify the server with");
		if (to->sni == NULL)
			to->sni = host;
		if (strlen(to->sni) > 253 ||
		    strspn(to->sni, "0123456789.") == strlen(to->sni) ||
		    strchr(to->sni, ':') != NULL)
			errx(2, "%s: not a name to verify the server by "
			    "(give -S NAME)", to->sni);
	}
	if (strchr(host, ':') != NULL) {
		snprintf(t->host, sizeof(t->host), "[%s]:%s", host, argv[1]);
		snprintf(t->tunnel, sizeof(t->tunnel), "[%s]:%s", host,
		    argv[1]);
	} else {
		snprintf(t->host, sizeof(t->host), "%s:%s", host, argv[1]);
		snprintf(t->tunnel, sizeof(t->tunnel), "%s:%s", host, argv[1]);
	}
	/* as a browser says it: https's own port left out */
	if (to != NULL && strcmp(argv[1], "443") == 0)
		*strrchr(t->host, ':') = '\0';
	return num(count, argv[2], 1, max);
}

static int
cmd_get(int argc, char *argv[])
{
	struct target	 t;
	struct cio	 io = { -1, NULL };
	uint64_t	 bytes, got;
	char		 path[64];
	double		 t0, s;

	bytes = client_args(argc, argv, &t, "BYTES", MAX_BYTES, NULL,
	    NULL);
	snprintf(path, sizeof(path), "/bytes/%llu", (unsigned long long)bytes);
	io.fd = dial(&t, "get");
	t0 = now();
	got = request(&io, &t, "get", path, 0, NULL, NULL);
	s = now() - t0;
	close(io.fd);
	if (got != bytes)
		errx(1, "get: asked for %llu bytes, the answer had %llu",
		    (unsigned long long)bytes, (unsigned long long)got);
	printf("bytes=%llu seconds=%.3f mbps=%.1f\n", (unsigned long long)got,
	    s, s > 0 ? got * 8 / s / 1e6 : 0);
	return 0;
}

static int
cmpd(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
cmd_conn(int argc, char *argv[])
{
	struct target	 t;
	struct cio	 io = { -1, NULL };
	double		*us, t0, sum = 0;
	uint64_t	 n, i;
	size_t		 p50, p99;
	char		 what[64];

	n = client_args(argc, argv, &t, "N", MAX_CONNS, NULL, NULL);
	if ((us = calloc(n, sizeof(*us))) == NULL)
		err(1, NULL);
	for (i = 0; i < n + CONN_WARMUP; i++) {
		snprintf(what, sizeof(what), "connection %llu",
		    (unsigned long long)i + 1);
		t0 = now();
		io.fd = dial(&t, what);
		request(&io, &t, what, "/", 0, NULL, NULL);
		close(io.fd);
		if (i >= CONN_WARMUP)
			us[i - CONN_WARMUP] = (now() - t0) * 1e6;
	}
	for (i = 0; i < n; i++)
		sum += us[i];
	qsort(us, n, sizeof(*us), cmpd);
	p50 = (n * 50 + 99) / 100;
	p99 = (n * 99 + 99) / 100;
	printf("n=%llu p50_us=%.1f p99_us=%.1f mean_us=%.1f\n",
	    (unsigned long long)n, us[p50 - 1], us[p99 - 1], sum / n);
	free(us);
	return 0;
}

static int
cmd_idle(int argc, char *argv[])
{
	struct target	 t;
	struct cio	 io = { -1, NULL };
	uint64_t	 n, i;
	char		 what[64], req[400];
	int		 partial = 0;

	n = client_args(argc, argv, &t, "N", MAX_CONNS, &partial,
	    NULL);
	raise_nofile(n + 64, 1);
	snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: %s\r\n"
	    "User-Agent: netbench\r\n", t.host);
	for (i = 0; i < n; i++) {
		snprintf(what, sizeof(what), "connection %llu of %llu",
		    (unsigned long long)i + 1, (unsigned long long)n);
		io.fd = dial(&t, what);
		if (partial)
			send_all(&io, what, req, strlen(req));
		else
			request(&io, &t, what, "/", 1, NULL, NULL);
		/* fd stays open: that is the point */
	}
	printf("established=%llu\n", (unsigned long long)n);
	fflush(stdout);
	for (;;)
		pause();
}

/* ---- TLS clients ---------------------------------------------------- */

#define TLS_WARMUP	10	/* uncounted requests of each thread */

struct tlsrun {
	const struct target	*t;
	const struct tlsopt	*to;
	SSL_CTX			*ctx;
	pthread_barrier_t	*barrier;
	const char		*path;
	int			 newconn;	/* tlsconn */
	unsigned int		 id;
	pthread_t		 th;
	float			*us;		/* microseconds per request */
	size_t			 n, cap;
	double			 last;		/* when its last one ended */
};

static double	 run_end;		/* set between the two barriers */
/* the subject and issuer of the certificate that failed, per thread */
static __thread char	 bad_subject[256], bad_issuer[256];

static int
tls_verify_cb(int ok, X509_STORE_CTX *xs)
{
	X509	*x;

	if (!ok && bad_subject[0] == '\0' &&
	    (x = X509_STORE_CTX_get_current_cert(xs)) != NULL) {
		X509_NAME_oneline(X509_get_subject_name(x), bad_subject,
		    sizeof(bad_subject));
		X509_NAME_oneline(X509_get_issuer_name(x), bad_issuer,
		    sizeof(bad_issuer));
	}
	return ok;
}

/* dial (through the proxy of -x), then the TLS handshake, verified */
static void
tls_open(const struct tlsrun *r, struct cio *io, const char *what)
{
	long		 v;

	io->fd = dial(r->t, what);
	if ((io->ssl = SSL_new(r->ctx)) == NULL ||
	    SSL_set_fd(io->ssl, io->fd) != 1 ||
	    SSL_set_tlsext_host_name(io->ssl, r->to->sni) != 1 ||
	    SSL_set1_host(io->ssl, r->to->sni) != 1)
		errx(1, "%s: TLS setup: %s", what, tls_why());
	errno = 0;
	if (SSL_connect(io->ssl) == 1)
		return;
	if ((v = SSL_get_verify_result(io->ssl)) != X509_V_OK)
		errx(1, "%s: the certificate presented for %s does not "
		    "verify with %s: %s (subject %s, issuer %s)", what,
		    r->to->sni, r->to->cafile,
		    X509_verify_cert_error_string(v),
		    bad_subject[0] ? bad_subject : "?",
		    bad_issuer[0] ? bad_issuer : "?");
	errx(1, "%s: TLS handshake for %s: %s", what, r->to->sni, tls_why());
}

static void
tls_close(struct cio *io)
{
	SSL_free(io->ssl);
	close(io->fd);
	io->ssl = NULL;
	io->fd = -1;
}

/*
 * One GET of -b bytes: keep-alive, or a new connection closed after.
 * A keep-alive connection the server ends (Connection: close, as
 * lensnetd and nginx do after 1000 requests) is opened again as a
 * client would: the handshake counts in the next request's time.
 */
static void
tls_one(struct tlsrun *r, struct cio *io, const char *what)
{
	uint64_t	 got;
	int		 closing;

	if (r->newconn || io->ssl == NULL)
		tls_open(r, io, what);
	if ((got = request(io, r->t, what, r->path, !r->newconn,
	    &closing, r->to->json ? jsonbody : NULL)) != r->to->bytes)
		errx(1, "%s: asked for %llu bytes, the answer had %llu", what,
		    (unsigned long long)r->to->bytes, (unsigned long long)got);
	if (r->newconn || closing)
		tls_close(io);
}

static void *
tls_thread(void *arg)
{
	struct tlsrun	*r = arg;
	struct cio	 io = { -1, NULL };
	char		 what[64];
	double		 t0, t1;
	float		*p;
	unsigned int	 i;

	snprintf(what, sizeof(what), "thread %u", r->id + 1);
	if (!r->newconn)
		tls_open(r, &io, what);
	for (i = 0; i < TLS_WARMUP; i++)
		tls_one(r, &io, what);
	pthread_barrier_wait(r->barrier);	/* all warm */
	pthread_barrier_wait(r->barrier);	/* run_end is set */
	for (;;) {
		if ((t0 = now()) >= run_end)
			break;
		tls_one(r, &io, what);
		t1 = now();
		if (r->n == r->cap) {
			r->cap = r->cap ? r->cap * 2 : 65536;
			if ((p = reallocarray(r->us, r->cap, sizeof(*p))) ==
			    NULL)
				err(1, NULL);
			r->us = p;
		}
		r->us[r->n++] = (t1 - t0) * 1e6;
		r->last = t1;
	}
	if (io.ssl != NULL)
		tls_close(&io);
	return NULL;
}

static int
cmpf(const void *a, const void *b)
{
	float	 x = *(const float *)a, y = *(const float *)b;

	return x < y ? -1 : x > y;
}

/* tlsreq (newconn 0) and tlsconn (newconn 1) */
static int
cmd_tls(int argc, char *argv[], int newconn)
{
	static const unsigned char alpn[] = "\x08http/1.1";
	struct target	 t;
	struct tlsopt	 to = { NULL, NULL, 1, 1024, NULL, 0 };
	struct tlsrun	*r;
	pthread_barrier_t barrier;
	SSL_CTX		*ctx;
	char		 path[64];
	float		*all;
	double		 start, end = 0, sum = 0;
	size_t		 n = 0, i, k, p50, p99;
	uint64_t	 secs;
	int		 e;

	secs = client_args(argc, argv, &t, "SECONDS", 3600, NULL, &to);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile(to.conns * 2 + 64, 1);
	snprintf(path, sizeof(path), "%s/bytes/%llu",
	    to.prefix != NULL ? to.prefix : "", (unsigned long long)to.bytes);
	if (to.json) {
		/* a GraphQL query padded to JSON_BODY bytes */
		k = snprintf(jsonbody, sizeof(jsonbody), "{\"query\":\"query "
		    "Bench { viewer { login } }\",\"pad\":\"");
		memset(jsonbody + k, 'x', JSON_BODY - 2 - k);
		memcpy(jsonbody + JSON_BODY - 2, "\"}", 3);
	}
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1) != 0)
		errx(1, "TLS client setup: %s", tls_why());
	if (SSL_CTX_load_verify_locations(ctx, to.cafile, NULL) != 1)
		errx(1, "-C %s: %s", to.cafile, tls_why());
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, tls_verify_cb);
	/* every connection a full handshake: no resumption */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	if ((r = calloc(to.conns, sizeof(*r))) == NULL)
		err(1, NULL);
	if ((e = pthread_barrier_init(&barrier, NULL, to.conns + 1)) != 0)
		errc(1, e, "pthread_barrier_init");
	for (i = 0; i < to.conns; i++) {
		r[i].t = &t;
		r[i].to = &to;
		r[i].ctx = ctx;
		r[i].barrier = &barrier;
		r[i].path = path;
		r[i].newconn = newconn;
		r[i].id = i;
		if ((e = pthread_create(&r[i].th, NULL, tls_thread, &r[i])) !=
		    0)
			errc(1, e, "pthread_create");
	}
	pthread_barrier_wait(&barrier);
	start = now();
	run_end = start + secs;
	pthread_barrier_wait(&barrier);
	for (i = 0; i < to.conns; i++) {
		if ((e = pthread_join(r[i].th, NULL)) != 0)
			errc(1, e, "pthread_join");
		n += r[i].n;
		if (r[i].last > end)
			end = r[i].last;
	}
	if (n == 0)
		errx(1, "no request finished in %llu seconds",
		    (unsigned long long)secs);
	if ((all = calloc(n, sizeof(*all))) == NULL)
		err(1, NULL);
	for (i = 0, k = 0; i < to.conns; i++) {
		memcpy(all + k, r[i].us, r[i].n * sizeof(*all));
		k += r[i].n;
		free(r[i].us);
	}
	for (i = 0; i < n; i++)
		sum += all[i];
	qsort(all, n, sizeof(*all), cmpf);
	p50 = (n * 50 + 99) / 100;
	p99 = (n * 99 + 99) / 100;
	printf("conns=%u %s=%zu seconds=%.3f %s=%.0f p50_us=%.1f p99_us=%.1f "
	    "mean_us=%.1f\n", to.conns, newconn ? "connections" : "requests",
	    n, end - start, newconn ? "cps" : "rps", n / (end - start),
	    all[p50 - 1], all[p99 - 1], sum / n);
	free(all);
	free(r);
	pthread_barrier_destroy(&barrier);
	SSL_CTX_free(ctx);
	return 0;
}

/* ---- serve ---------------------------------------------------------- */

struct sconn {
	int		 fd;
	SSL		*ssl;		/* serve -c: TLS */
	short		 block;		/* what the last TLS call waits for */
	struct event	*ev;
	char		 in[HEAD_MAX];
	size_t		 inlen;
	char		 head[256];
	size_t		 headlen, headoff;
	char		 out[16384];	/* TLS: head and body in one record */
	size_t		 outlen;	/* being written (retried as it is) */
	const char	*small;		/* body from memory, NULL: bodybuf */
	uint64_t	 bodyleft;
	int		 keepalive;	/* parsing: -1 close, 1 keep-alive */
	int		 writing;
	short		 evmode;	/* EV_READ or EV_WRITE */
};

static struct event_base *sbase;
static SSL_CTX		*sctx;		/* serve -c */

static void	sconn_cb(int, short, void *);

static void
sconn_free(struct sconn *c)
{
	event_free(c->ev);
	SSL_free(c->ssl);
	close(c->fd);
	free(c);
}

static void
sconn_want(struct sconn *c, short what)
{
	if (c->evmode == what)
		return;
	c->evmode = what;
	event_free(c->ev);
	if ((c->ev = event_new(sbase, c->fd, what | EV_PERSIST, sconn_cb,
	    c)) == NULL || event_add(c->ev, NULL) == -1)
		errx(1, "serve: cannot add an event");
}

/*
 * A complete request head is in c->in (hlen bytes): set up the answer.
 * Returns -1 when the request is so broken that only closing is left.
 */
static int
sconn_request(struct sconn *c, size_t hlen)
{
	char		 head[HEAD_MAX], *eol, *path, *vers, *end, *h;
	const char	*status = "200 OK";
	unsigned long long n = 0, clen = 0;
	int		 closing;

	memcpy(head, c->in, hlen);
	head[hlen] = '\0';
	/* the headers: Connection, and Content-Length (a POST's body) */
	eol = strstr(head, "\r\n");
	for (h = eol; h != NULL; h = strstr(h, "\r\n")) {
		h += 2;
		if (strncasecmp(h, "Content-Length:", 15) == 0)
			clen = strtoull(h + 15, NULL, 10);
		if (strncasecmp(h, "Connection:", 11) != 0)
			continue;
		h += 11 + strspn(h + 11, " \t");
		if (strncasecmp(h, "close", 5) == 0)
			c->keepalive = -1;
		else if (strncasecmp(h, "keep-alive", 10) == 0)
			c->keepalive = 1;
	}
	/* the whole body buffered first (it is small: HEAD_MAX) */
	if (clen > sizeof(c->in) - 1 - hlen)
		return -1;
	if (c->inlen < hlen + clen)
		return 1;
	/* the request line: METHOD SP PATH SP VERSION */
	*eol = '\0';
	if ((path = strchr(head, ' ')) == NULL ||
	    (vers = strchr(path + 1, ' ')) == NULL)
		return -1;
	*path++ = '\0';
	*vers++ = '\0';
	if (strcmp(vers, "HTTP/1.1") == 0)
		closing = c->keepalive == -1;
	else if (strcmp(vers, "HTTP/1.0") == 0)
		closing = c->keepalive != 1;
	else
		return -1;
	c->keepalive = !closing;
	c->small = NULL;
	/* a prefix of letters: the same (tlsreq -P) */
	if (path[0] == '/' && (h = strchr(path + 1, '/')) != NULL &&
	    strncmp(h, "/bytes/", 7) == 0 &&
	    strspn(path + 1, "abcdefghijklmnopqrstuvwxyz") ==
	    (size_t)(h - path - 1))
		path = h;
	if (strcmp(head, "GET") != 0 && strcmp(head, "POST") != 0) {
		status = "405 Method Not Allowed";
		c->small = "GET or POST only\n";
	} else if (strcmp(path, "/") == 0)
		c->small = SMALL_BODY;
	else if (strncmp(path, "/bytes/", 7) == 0) {
		errno = 0;
		n = strtoull(path + 7, &end, 10);
		if (!isdigit((u_char)path[7]) || *end != '\0' || errno != 0 ||
		    n > MAX_BYTES) {
			status = "400 Bad Request";
			c->small = "bad byte count\n";
		}
	} else {
		status = "404 Not Found";
		c->small = "not found\n";
	}
	if (c->small != NULL)
		n = strlen(c->small);
	c->bodyleft = n;
	c->headlen = snprintf(c->head, sizeof(c->head), "HTTP/1.1 %s\r\n"
	    "Content-Type: application/octet-stream\r\n"
	    "Content-Length: %llu\r\n%s\r\n", status, n,
	    c->keepalive ? "" : "Connection: close\r\n");
	c->headoff = 0;
	/* the request and its body are consumed */
	hlen += clen;
	memmove(c->in, c->in + hlen, c->inlen - hlen);
	c->inlen -= hlen;
	return 0;
}

/* a failed TLS call: -1 with errno EAGAIN and c->block set, or EIO */
static int
sconn_tlserr(struct sconn *c, int n)
{
	switch (SSL_get_error(c->ssl, n)) {
	case SSL_ERROR_WANT_READ:
		c->block = EV_READ;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		c->block = EV_WRITE;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	default:
		ERR_clear_error();
		errno = EIO;
		return -1;
	}
}

/* the TLS side of sconn_write: the answer through c->out */
static int
sconn_write_tls(struct sconn *c)
{
	size_t		 k, b;
	int		 n;

	for (;;) {
		if (c->outlen == 0) {
			/* the rest of the head, then what fits of the body */
			k = c->headlen - c->headoff;
			memcpy(c->out, c->head + c->headoff, k);
			c->headoff = c->headlen;
			b = sizeof(c->out) - k;
			if (b > c->bodyleft)
				b = c->bodyleft;
			memcpy(c->out + k, c->small != NULL ? c->small +
			    strlen(c->small) - c->bodyleft : bodybuf, b);
			c->bodyleft -= b;
			if ((c->outlen = k + b) == 0)
				return 1;
		}
		if ((n = SSL_write(c->ssl, c->out, c->outlen)) <= 0)
			return sconn_tlserr(c, n) == -1 && errno == EAGAIN ?
			    0 : -1;
		c->outlen = 0;
	}
}

/* write what can be written; 1 when the answer is complete */
static int
sconn_write(struct sconn *c)
{
	struct iovec	 iov[2];
	size_t		 off;
	ssize_t		 n;
	int		 cnt;

	if (c->ssl != NULL)
		return sconn_write_tls(c);
	for (;;) {
		cnt = 0;
		if (c->headoff < c->headlen) {
			iov[cnt].iov_base = c->head + c->headoff;
			iov[cnt++].iov_len = c->headlen - c->headoff;
		}
		if (c->bodyleft > 0) {
			if (c->small != NULL) {
				off = strlen(c->small) - c->bodyleft;
				iov[cnt].iov_base = (char *)c->small + off;
				iov[cnt++].iov_len = c->bodyleft;
			} else {
				iov[cnt].iov_base = bodybuf;
				iov[cnt++].iov_len = c->bodyleft <
				    sizeof(bodybuf) ? c->bodyleft :
				    sizeof(bodybuf);
			}
		}
		if (cnt == 0)
			return 1;
		n = writev(c->fd, iov, cnt);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n == -1)
			return -1;
		if ((size_t)n <= c->headlen - c->headoff) {
			c->headoff += n;
			continue;
		}
		n -= c->headlen - c->headoff;
		c->headoff = c->headlen;
		c->bodyleft -= n;
	}
}

static void
sconn_cb(int fd, short what, void *arg)
{
	struct sconn	*c = arg;
	char		*end;
	ssize_t		 n;
	int		 r;

	(void)what;
	for (;;) {
		if (c->writing) {
			if ((r = sconn_write(c)) == -1) {
				sconn_free(c);
				return;
			}
			if (r == 0) {
				sconn_want(c, c->ssl != NULL ? c->block :
				    EV_WRITE);
				return;
			}
			if (!c->keepalive) {
				/* (best effort: the answer is complete) */
				if (c->ssl != NULL)
					SSL_shutdown(c->ssl);
				shutdown(fd, SHUT_WR);
				sconn_free(c);
				return;
			}
			c->writing = 0;
			c->keepalive = 0;
			sconn_want(c, EV_READ);
		}
		/* a complete request already buffered? */
		c->in[c->inlen] = '\0';
		if ((end = strstr(c->in, "\r\n\r\n")) != NULL) {
			if ((r = sconn_request(c, end + 4 - c->in)) == -1) {
				sconn_free(c);
				return;
			}
			if (r == 0) {
				c->writing = 1;
				continue;
			}
		}
		if (c->inlen >= sizeof(c->in) - 1) {
			sconn_free(c);		/* head too long */
			return;
		}
		if (c->ssl != NULL) {
			ERR_clear_error();
			if ((n = SSL_read(c->ssl, c->in + c->inlen,
			    sizeof(c->in) - 1 - c->inlen)) <= 0)
				n = sconn_tlserr(c, n);
		} else
			n = recv(fd, c->in + c->inlen,
			    sizeof(c->in) - 1 - c->inlen, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (c->ssl != NULL)
				sconn_want(c, c->block);
			return;
		}
		if (n <= 0 || memchr(c->in + c->inlen, '\0', n) != NULL) {
			sconn_free(c);
			return;
		}
		c->inlen += n;
	}
}

static void
accept_cb(int lfd, short what, void *arg)
{
	struct sconn	*c;
	int		 fd, one = 1;

	(void)what;
	(void)arg;
	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR || errno == ECONNABORTED)
				return;
			if (errno == EMFILE || errno == ENFILE) {
				warn("serve: accept");
				return;
			}
			err(1, "serve: accept");
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if ((c = calloc(1, sizeof(*c))) == NULL)
			err(1, NULL);
		c->fd = fd;
		if (sctx != NULL && ((c->ssl = SSL_new(sctx)) == NULL ||
		    SSL_set_fd(c->ssl, fd) != 1))
			errx(1, "serve: SSL_new: %s", tls_why());
		if (c->ssl != NULL)
			SSL_set_accept_state(c->ssl);
		c->evmode = EV_READ;
		if ((c->ev = event_new(sbase, fd, EV_READ | EV_PERSIST,
		    sconn_cb, c)) == NULL || event_add(c->ev, NULL) == -1)
			errx(1, "serve: cannot add an event");
	}
}

static int
cmd_serve(int argc, char *argv[])
{
	struct sockaddr_storage ss;
	struct event	*ev;
	const char	*cert = NULL, *key = NULL;
	socklen_t	 len;
	pid_t		 parent = getpid();
	int		 fd, one = 1, ch, workers = 1;

	while ((ch = getopt(argc, argv, "c:k:w:")) != -1) {
		switch (ch) {
		case 'c':
			cert = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 'w':
			workers = num("-w", optarg, 1, 64);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		usage();
	if ((cert == NULL) != (key == NULL))
		errx(2, "serve: -c and -k go together");
	if (cert != NULL) {
		if ((sctx = SSL_CTX_new(TLS_server_method())) == NULL ||
		    SSL_CTX_set_min_proto_version(sctx, TLS1_2_VERSION) != 1)
			errx(1, "serve: TLS setup: %s", tls_why());
		if (SSL_CTX_use_certificate_chain_file(sctx, cert) != 1)
			errx(1, "serve: -c %s: %s", cert, tls_why());
		if (SSL_CTX_use_PrivateKey_file(sctx, key, SSL_FILETYPE_PEM) !=
		    1 || SSL_CTX_check_private_key(sctx) != 1)
			errx(1, "serve: -k %s: %s", key, tls_why());
		/* no tickets: a client's handshakes stay full ones */
		SSL_CTX_set_options(sctx, SSL_OP_NO_TICKET);
		SSL_CTX_set_num_tickets(sctx, 0);
		SSL_CTX_set_session_cache_mode(sctx, SSL_SESS_CACHE_OFF);
	}
	len = parse_hostport("serve", argv[0], 0, &ss);
	raise_nofile(65536, 0);
	memset(bodybuf, 'x', sizeof(bodybuf));
	signal(SIGPIPE, SIG_IGN);
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		err(1, "socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
		err(1, "setsockopt SO_REUSEADDR");
	if (bind(fd, (struct sockaddr *)&ss, len) == -1)
		err(1, "bind %s", argv[0]);
	if (listen(fd, 4096) == -1)
		err(1, "listen %s", argv[0]);
	/* -w: more processes on the same socket, ending with this one */
	while (--workers > 0) {
		switch (fork()) {
		case -1:
			err(1, "fork");
		case 0:
			if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1)
				err(1, "prctl");
			if (getppid() != parent)
				_exit(0);
			workers = 0;
			break;
		}
		if (workers == 0)
			break;
	}
	if ((sbase = event_base_new()) == NULL)
		errx(1, "event_base_new");
	if ((ev = event_new(sbase, fd, EV_READ | EV_PERSIST, accept_cb,
	    NULL)) == NULL || event_add(ev, NULL) == -1)
		errx(1, "serve: cannot add the listener");
	if (getpid() == parent)
		printf("listening %s%s\n", sastr(&ss), sctx != NULL ?
		    " tls" : "");
	fflush(stdout);
	event_base_dispatch(sbase);
	errx(1, "serve: the event loop ended");
}

/* ---- dns ------------------------------------------------------------ */

struct dslot {
	int	 busy;
	uint16_t id;
	double	 sent;
};

static size_t
dns_query(const char *name, unsigned char *q, size_t size)
{
	const char	*p = name, *dot;
	size_t		 len = 12, l;

	if (strlen(name) > 253 || *name == '\0')
		errx(2, "NAME %s: not a DNS name (1 to 253 characters)", name);
	memset(q, 0, 12);
	q[2] = 0x01;				/* RD */
	q[5] = 1;				/* QDCOUNT */
	while (*p != '\0') {
		dot = strchr(p, '.');
		l = dot != NULL ? (size_t)(dot - p) : strlen(p);
		if (l == 0 || l > 63)
			errx(2, "NAME %s: a label is empty or longer than 63",
			    name);
		if (len + 1 + l + 5 > size)
			errx(2, "NAME %s: too long", name);
		q[len++] = l;
		memcpy(q + len, p, l);
		len += l;
		p += l;
		if (*p == '.')
			p++;
	}
	q[len++] = 0;
	q[len++] = 0; q[len++] = 1;		/* A */
	q[len++] = 0; q[len++] = 1;		/* IN */
	return len;
}

static int
cmd_dns(int argc, char *argv[])
{
	struct sockaddr_storage ss;
	struct dslot	*slot;
	static int	 idslot[65536];		/* slot + 1, 0: free */
	unsigned char	 q[300], a[4096];
	struct pollfd	 pfd;
	socklen_t	 len;
	uint64_t	 queries = 0, answers = 0, errors = 0, lost = 0;
	uint64_t	 refused = 0;
	double		 t0, tend, t, s;
	size_t		 qlen, i, window;
	ssize_t		 n;
	uint16_t	 id;
	int		 fd, secs, k;

	if (argc != 4 && argc != 5)
		usage();
	len = parse_hostport("SERVER", argv[1], 53, &ss);
	qlen = dns_query(argv[2], q, sizeof(q));
	secs = num("SECONDS", argv[3], 1, 3600);
	window = argc == 5 ? num("WINDOW", argv[4], 1, 4096) : 64;
	if ((slot = calloc(window, sizeof(*slot))) == NULL)
		err(1, NULL);
	if ((fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		err(1, "socket");
	if (connect(fd, (struct sockaddr *)&ss, len) == -1)
		err(1, "connect %s", argv[1]);
	t0 = now();
	tend = t0 + secs;
	pfd.fd = fd;
	pfd.events = POLLIN;
	for (;;) {
		t = now();
		if (t >= tend)
			break;
		/* refill the window; a query unanswered for 1 s is lost */
		for (i = 0; i < window; i++) {
			if (slot[i].busy && t - slot[i].sent < 1.0)
				continue;
			if (slot[i].busy) {
				lost++;
				idslot[slot[i].id] = 0;
			}
			do
				id = arc4random() & 0xffff;
			while (idslot[id] != 0);
			q[0] = id >> 8;
			q[1] = id & 0xff;
			if (send(fd, q, qlen, 0) == -1) {
				if (errno == EAGAIN || errno == ENOBUFS ||
				    errno == ECONNREFUSED) {
					refused += errno == ECONNREFUSED;
					slot[i].busy = 0;
					break;
				}
				err(1, "send to %s", argv[1]);
			}
			queries++;
			idslot[id] = i + 1;
			slot[i].busy = 1;
			slot[i].id = id;
			slot[i].sent = t;
		}
		k = poll(&pfd, 1, 10);
		if (k == -1 && errno != EINTR)
			err(1, "poll");
		if (k <= 0)
			continue;
		for (;;) {
			n = recv(fd, a, sizeof(a), 0);
			if (n == -1) {
				if (errno == EAGAIN || errno == EWOULDBLOCK ||
				    errno == EINTR)
					break;
				if (errno == ECONNREFUSED) {
					refused++;	/* ICMP port unreachable */
					continue;
				}
				err(1, "recv from %s", argv[1]);
			}
			/* a reply to one of ours, same question */
			if ((size_t)n < qlen || !(a[2] & 0x80) ||
			    memcmp(a + 12, q + 12, qlen - 12) != 0)
				continue;
			id = a[0] << 8 | a[1];
			if (idslot[id] == 0)
				continue;
			slot[idslot[id] - 1].busy = 0;
			idslot[id] = 0;
			if ((a[3] & 0x0f) == 0 && (a[6] != 0 || a[7] != 0))
				answers++;
			else
				errors++;
		}
	}
	s = now() - t0;
	printf("queries=%llu answers=%llu errors=%llu lost=%llu seconds=%.3f "
	    "qps=%.0f\n", (unsigned long long)queries,
	    (unsigned long long)answers, (unsigned long long)errors,
	    (unsigned long long)lost, s, answers / s);
	free(slot);
	if (answers == 0 && errors == 0 && refused > 0)
		errx(1, "no answer from %s: port unreachable (no DNS server "
		    "there)", argv[1]);
	if (answers == 0)
		errx(1, "no answer from %s for %s (%llu errors, %llu lost)",
		    argv[1], argv[2], (unsigned long long)errors,
		    (unsigned long long)lost);
	return 0;
}

int
main(int argc, char *argv[])
{
	if (argc < 2)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 1, argv + 1);
	if (strcmp(argv[1], "get") == 0)
		return cmd_get(argc - 1, argv + 1);
	if (strcmp(argv[1], "conn") == 0)
		return cmd_conn(argc - 1, argv + 1);
	if (strcmp(argv[1], "idle") == 0)
		return cmd_idle(argc - 1, argv + 1);
	if (strcmp(argv[1], "dns") == 0)
		return cmd_dns(argc - 1, argv + 1);
	if (strcmp(argv[1], "tlsreq") == 0)
		return cmd_tls(argc - 1, argv + 1, 0);
	if (strcmp(argv[1], "tlsconn") == 0)
		return cmd_tls(argc - 1, argv + 1, 1);
	warnx("%s: unknown mode", argv[1]);
	usage();
}
