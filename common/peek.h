/*
 * What the proxy learns from the first bytes a sandbox sends on a
 * connection (hostile input): the SNI of a TLS ClientHello, or the head
 * of an HTTP/1.x request.  Nothing here allocates or keeps state; the
 * caller accumulates at most PEEK_MAX bytes and asks again after every
 * read.
 */
#ifndef LENSNETD_PEEK_H
#define LENSNETD_PEEK_H

#include <stddef.h>
#include <stdint.h>

#include "lensnetd_imsg.h"	/* NETD_NAME_SIZE */

#define PEEK_MAX		(16 * 1024)	/* never look further */
#define PEEK_HTTP_MAXLINE	8192		/* request line or header */
#define PEEK_HTTP_MAXHEADERS	100
#define PEEK_HTTP_MAXCONNOPT	16		/* Connection options */

enum peek_result {
	PEEK_NEED_MORE,		/* consistent so far, not complete */
	PEEK_FOUND,		/* complete, a name was found */
	PEEK_NONE,		/* complete (or not this protocol), no name */
	PEEK_BAD,		/* malformed: refuse the connection */
};

enum peek_proto {
	PEEK_P_UNKNOWN,		/* need more bytes to tell */
	PEEK_P_TLS,		/* a TLS handshake record */
	PEEK_P_HTTP,		/* an HTTP/1.x request line starts */
	PEEK_P_OTHER,		/* something else: raw TCP */
};

/* which parser applies to the first len bytes */
enum peek_proto	peek_proto(const uint8_t *buf, size_t len);

/*
 * TLS: the host_name of the server_name extension, lowercased, into
 * sni (NETD_NAME_SIZE).  FOUND with a name, NONE for a ClientHello
 * without server_name, BAD with *why for anything malformed or
 * suspicious (several names, another name type, an IP literal, invalid
 * characters, a handshake longer than PEEK_MAX).
 */
enum peek_result peek_tls(const uint8_t *buf, size_t len, char *sni,
	    const char **why);

#define PEEK_METHOD_SIZE	24

struct peek_http {
	char		method[PEEK_METHOD_SIZE];
	size_t		target_off, target_len;	/* into the buffer */
	int		minor;			/* HTTP/1.minor */
	size_t		headlen;		/* through the empty line */
	/* the Host header (exactly one), split into name and port */
	int		has_host;
	char		host[NETD_NAME_SIZE];	/* lowercased, [] removed */
	int		host_is_ip;		/* v4 or v6 literal */
	uint16_t	host_port;		/* 0 when not given */
	size_t		host_off, host_len;	/* the value, into the buffer */
	/* how the body is framed (refused: both, several, not chunked) */
	int		chunked;		/* Transfer-Encoding: chunked */
	int		has_clen;
	uint64_t	clen;			/* Content-Length */
	/* what the proxy answers for or decides on */
	int		expect_continue;	/* Expect: 100-continue */
	int		conn_close;		/* Connection: close */
	int		conn_keepalive;		/* Connection: keep-alive */
	int		conn_upgrade;		/* Connection: upgrade */
	int		nconnopt;		/* Connection options */
	int		upgrade;		/* an Upgrade header */
	int		upgrade_websocket;	/* ... naming only websocket */
};

/*
 * HTTP: the request head.  FOUND when complete with a Host header,
 * NONE when complete without one (HTTP/1.0), BAD with *why.  Strict
 * (RFC 9112 without its leniencies): CRLF only (bare LF or CR, NUL,
 * obs-fold refused), one Host, at most one Content-Length (digits) and
 * one Transfer-Encoding (exactly "chunked", HTTP/1.1 only), never both,
 * Expect only 100-continue, at most one Upgrade, Connection options
 * that are tokens, at most PEEK_HTTP_MAXCONNOPT, none of them
 * Content-Length, Transfer-Encoding or Host (the next hop would drop
 * the field and frame the message otherwise).
 */
enum peek_result peek_http(const uint8_t *buf, size_t len,
	    struct peek_http *, const char **why);

/*
 * The request target: 1 in absolute form "http://authority[/...]"
 * (case-insensitive scheme), with the authority's host, port (0 when
 * not given) and *is_ip, and in *cut the length of "http://authority";
 * 0 in origin form ("/..." or "*"); -1 with *why for anything else
 * (another scheme, user information, a bad authority).
 */
int	peek_http_target(const uint8_t *buf, const struct peek_http *,
	    char *host, uint16_t *port, int *is_ip, size_t *cut,
	    const char **why);

/*
 * The head as the proxy sends it upstream: the first cut bytes of the
 * target removed (absolute to origin form, "/" when no path is left),
 * the hop-by-hop headers dropped (Connection, Keep-Alive,
 * Proxy-Connection, TE, Upgrade, and every field a Connection header
 * names), then "Connection: " connection when not NULL; with
 * connection "upgrade" the Upgrade header stays.  Its length, or 0
 * when out is too small.
 */
size_t	peek_http_rewrite(const uint8_t *buf, const struct peek_http *,
	    size_t cut, const char *connection, uint8_t *out, size_t outsize);

/* an upstream's response head (hostile input as much as a request) */
struct peek_response {
	int		minor;			/* HTTP/1.minor */
	int		status;			/* 100-599 */
	size_t		headlen;		/* through the empty line */
	int		chunked;		/* Transfer-Encoding: chunked */
	int		has_clen;
	uint64_t	clen;			/* Content-Length */
	int		conn_close, conn_keepalive, conn_upgrade, nconnopt;
	int		upgrade, upgrade_websocket;
};

/*
 * The status line "HTTP/1.x NNN[ reason]" and the headers, as strict
 * as peek_http: CRLF only, no NUL, obs-fold or control characters, at
 * most PEEK_MAX bytes and PEEK_HTTP_MAXHEADERS headers, one
 * Content-Length (digits), one Transfer-Encoding (exactly "chunked",
 * not in HTTP/1.0), never both, at most one Upgrade, Connection options
 * as in requests.  FOUND when complete, NEED_MORE, BAD with *why.
 * How the body is framed (1xx, 204, 304 and answers to HEAD have none;
 * otherwise chunked, Content-Length, or until the upstream closes) is
 * the caller's: it knows the request.
 */
enum peek_result peek_http_response(const uint8_t *buf, size_t len,
	    struct peek_response *, const char **why);
/* the response head as the proxy sends it on: as peek_http_rewrite */
size_t	peek_response_rewrite(const uint8_t *buf, const struct peek_response *,
	    const char *connection, uint8_t *out, size_t outsize);

/*
 * Where a request's body ends, fed as its bytes arrive: a
 * Content-Length body, or chunked to its last chunk and trailers
 * (strict: CRLF only, no obs-fold, no bare CR or LF, sizes in hex
 * below 2^60, extensions as ;name[=token|"quoted"] without
 * whitespace, trailers as "name: value" and never a framing or Host
 * field).  A request with neither has no body.
 */
struct peek_body {
	int		state;
	uint64_t	left;		/* of the body or of the chunk */
	size_t		line;		/* bytes of the current line */
	int		ntrailers;
	char		name[20];	/* the trailer field's name so far */
};

void	peek_body_init(struct peek_body *, const struct peek_http *);
/* how many of the next bytes are the body's data (not chunk framing) */
uint64_t peek_body_data(const struct peek_body *);
/* a response's body: chunked or Content-Length (else none) */
void	peek_body_init_response(struct peek_body *,
	    const struct peek_response *);
/*
 * NEED_MORE: all len bytes belong to the body, which goes on; FOUND:
 * the body ended after the first *used bytes (what follows is another
 * request); BAD with *why.
 */
enum peek_result peek_body(struct peek_body *, const uint8_t *buf,
	    size_t len, size_t *used, const char **why);

/*
 * "name:port", "1.2.3.4:port", "[v6]:port" (port required when
 * needport, else optional: port 0).  The name is validated as a DNS
 * host name and lowercased.  0, or -1 with *why.
 */
int	peek_hostport(const char *s, size_t len, int needport, char *host,
	    size_t hostsize, uint16_t *port, int *is_ip, const char **why);

/* a DNS host name as gr_hostname() (grammar.h) takes it, of len bytes */
int	peek_valid_hostname(const char *, size_t len);

#endif
