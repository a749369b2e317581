/*
 * netbench: the load tool of the network benchmark (regress/bench/net.sh).
 * One subcommand per role; every client prints one line of key=value
 * figures on standard output and exits 0, or names what went wrong on
 * standard error and exits 1 (2 for a usage error).
 *
 *	netbench serve ADDR:PORT
 *	    HTTP/1.1 server.  "GET /bytes/N" answers 200 with N bytes,
 *	    "GET /" a small body, anything else 404; keep-alive unless the
 *	    client asks to close.  Prints "listening ADDR:PORT" when ready
 *	    and serves until killed.
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
 *
 * -x goes through an HTTP CONNECT proxy: the tunnel is asked for
 * HOST:PORT when -H is given (the proxy resolves the name), else for
 * ADDR:PORT.  -H also sets the Host header (default ADDR).  ADDR may be
 * a name, resolved once before anything is timed; PROXY, SERVER and the
 * serve address are numeric (IPv6 in brackets).
 */
#include <sys/types.h>
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
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

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
	    "usage: netbench serve ADDR:PORT\n"
	    "       netbench get [-x PROXY:PORT] [-H HOST] ADDR PORT BYTES\n"
	    "       netbench conn [-x PROXY:PORT] [-H HOST] ADDR PORT N\n"
	    "       netbench idle [-p] [-x PROXY:PORT] [-H HOST] ADDR PORT N\n"
	    "       netbench dns SERVER[:PORT] NAME SECONDS [WINDOW]\n");
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

static void
send_all(int fd, const char *what, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if ((n = send(fd, p, len, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "%s: send", what);
		}
		p += n;
		len -= n;
	}
}

/*
 * Read a response head into buf (NUL-terminated); returns the head's
 * length; *got is how many bytes were read in all (the rest is body).
 */
static size_t
read_head(int fd, const char *what, char *buf, size_t size, size_t *got)
{
	char	*end;
	ssize_t	 n;
	size_t	 len = 0;

	for (;;) {
		if (len == size - 1)
			errx(1, "%s: response head longer than %zu bytes", what,
			    size - 1);
		n = recv(fd, buf + len, size - 1 - len, 0);
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

static int
dial(const struct target *t, const char *what)
{
	const struct sockaddr_storage *sa;
	struct timeval	 tv = { IO_TIMEOUT, 0 };
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
	send_all(fd, what, req, strlen(req));
	hlen = read_head(fd, what, buf, sizeof(buf), &got);
	check_status(what, buf);
	if (got != hlen)
		errx(1, "%s: the proxy sent %zu bytes after its CONNECT "
		    "answer", what, got - hlen);
	return fd;
}

/* one request on fd: its head, the body read to its end; returns size */
static uint64_t
request(int fd, const struct target *t, const char *what, const char *path,
    int keepalive)
{
	char		 buf[HEAD_MAX], req[700];
	size_t		 hlen, got;
	uint64_t	 cl, left;
	ssize_t		 n;

	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n"
	    "User-Agent: netbench\r\n%s\r\n", path, t->host,
	    keepalive ? "" : "Connection: close\r\n");
	send_all(fd, what, req, strlen(req));
	hlen = read_head(fd, what, buf, sizeof(buf), &got);
	check_status(what, buf);
	cl = content_length(what, buf);
	if (got - hlen > cl)
		errx(1, "%s: %zu bytes after a body of %llu", what,
		    got - hlen - (size_t)cl, (unsigned long long)cl);
	left = cl - (got - hlen);
	while (left > 0) {
		n = recv(fd, bodybuf, left < sizeof(bodybuf) ? left :
		    sizeof(bodybuf), 0);
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

/* the options and operands of get, conn and idle; returns the count */
static uint64_t
client_args(int argc, char *argv[], struct target *t, const char *count,
    uint64_t max, int *partial)
{
	const char	*proxy = NULL, *host = NULL;
	int		 ch;

	memset(t, 0, sizeof(*t));
	while ((ch = getopt(argc, argv, partial ? "H:px:" : "H:x:")) != -1) {
		switch (ch) {
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
	if (strchr(host, ':') != NULL) {
		snprintf(t->host, sizeof(t->host), "[%s]:%s", host, argv[1]);
		snprintf(t->tunnel, sizeof(t->tunnel), "[%s]:%s", host,
		    argv[1]);
	} else {
		snprintf(t->host, sizeof(t->host), "%s:%s", host, argv[1]);
		snprintf(t->tunnel, sizeof(t->tunnel), "%s:%s", host, argv[1]);
	}
	return num(count, argv[2], 1, max);
}

static int
cmd_get(int argc, char *argv[])
{
	struct target	 t;
	uint64_t	 bytes, got;
	char		 path[64];
	double		 t0, s;
	int		 fd;

	bytes = client_args(argc, argv, &t, "BYTES", MAX_BYTES, NULL);
	snprintf(path, sizeof(path), "/bytes/%llu", (unsigned long long)bytes);
	fd = dial(&t, "get");
	t0 = now();
	got = request(fd, &t, "get", path, 0);
	s = now() - t0;
	close(fd);
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
	double		*us, t0, sum = 0;
	uint64_t	 n, i;
	size_t		 p50, p99;
	char		 what[64];
	int		 fd;

	n = client_args(argc, argv, &t, "N", MAX_CONNS, NULL);
	if ((us = calloc(n, sizeof(*us))) == NULL)
		err(1, NULL);
	for (i = 0; i < n + CONN_WARMUP; i++) {
		snprintf(what, sizeof(what), "connection %llu",
		    (unsigned long long)i + 1);
		t0 = now();
		fd = dial(&t, what);
		request(fd, &t, what, "/", 0);
		close(fd);
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
	uint64_t	 n, i;
	char		 what[64], req[400];
	int		 fd, partial = 0;

	n = client_args(argc, argv, &t, "N", MAX_CONNS, &partial);
	raise_nofile(n + 64, 1);
	snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: %s\r\n"
	    "User-Agent: netbench\r\n", t.host);
	for (i = 0; i < n; i++) {
		snprintf(what, sizeof(what), "connection %llu of %llu",
		    (unsigned long long)i + 1, (unsigned long long)n);
		fd = dial(&t, what);
		if (partial)
			send_all(fd, what, req, strlen(req));
		else
			request(fd, &t, what, "/", 1);
		/* fd stays open: that is the point */
	}
	printf("established=%llu\n", (unsigned long long)n);
	fflush(stdout);
	for (;;)
		pause();
}

/* ---- serve ---------------------------------------------------------- */

struct sconn {
	int		 fd;
	struct event	*ev;
	char		 in[HEAD_MAX];
	size_t		 inlen;
	char		 head[256];
	size_t		 headlen, headoff;
	const char	*small;		/* body from memory, NULL: bodybuf */
	uint64_t	 bodyleft;
	int		 keepalive;	/* parsing: -1 close, 1 keep-alive */
	int		 writing;
	short		 evmode;	/* EV_READ or EV_WRITE */
};

static struct event_base *sbase;

static void	sconn_cb(int, short, void *);

static void
sconn_free(struct sconn *c)
{
	event_free(c->ev);
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
	unsigned long long n = 0;
	int		 closing;

	memcpy(head, c->in, hlen);
	head[hlen] = '\0';
	/* the headers: only Connection matters */
	eol = strstr(head, "\r\n");
	for (h = eol; h != NULL; h = strstr(h, "\r\n")) {
		h += 2;
		if (strncasecmp(h, "Connection:", 11) != 0)
			continue;
		h += 11 + strspn(h + 11, " \t");
		if (strncasecmp(h, "close", 5) == 0)
			c->keepalive = -1;
		else if (strncasecmp(h, "keep-alive", 10) == 0)
			c->keepalive = 1;
	}
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
	if (strcmp(head, "GET") != 0) {
		status = "405 Method Not Allowed";
		c->small = "GET only\n";
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
	/* the request is consumed */
	memmove(c->in, c->in + hlen, c->inlen - hlen);
	c->inlen -= hlen;
	return 0;
}

/* write what can be written; 1 when the answer is complete */
static int
sconn_write(struct sconn *c)
{
	struct iovec	 iov[2];
	size_t		 off;
	ssize_t		 n;
	int		 cnt;

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
				sconn_want(c, EV_WRITE);
				return;
			}
			if (!c->keepalive) {
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
			if (sconn_request(c, end + 4 - c->in) == -1) {
				sconn_free(c);
				return;
			}
			c->writing = 1;
			continue;
		}
		if (c->inlen >= sizeof(c->in) - 1) {
			sconn_free(c);		/* head too long */
			return;
		}
		n = recv(fd, c->in + c->inlen, sizeof(c->in) - 1 - c->inlen,
		    0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
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
	socklen_t	 len;
	int		 fd, one = 1;

	if (argc != 2)
		usage();
	len = parse_hostport("serve", argv[1], 0, &ss);
	raise_nofile(65536, 0);
	memset(bodybuf, 'x', sizeof(bodybuf));
	signal(SIGPIPE, SIG_IGN);
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		err(1, "socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
		err(1, "setsockopt SO_REUSEADDR");
	if (bind(fd, (struct sockaddr *)&ss, len) == -1)
		err(1, "bind %s", argv[1]);
	if (listen(fd, 4096) == -1)
		err(1, "listen %s", argv[1]);
	if ((sbase = event_base_new()) == NULL)
		errx(1, "event_base_new");
	if ((ev = event_new(sbase, fd, EV_READ | EV_PERSIST, accept_cb,
	    NULL)) == NULL || event_add(ev, NULL) == -1)
		errx(1, "serve: cannot add the listener");
	printf("listening %s\n", sastr(&ss));
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
	warnx("%s: unknown mode", argv[1]);
	usage();
}
