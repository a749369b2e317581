/*
 * ClientHello SNI and HTTP/1.x request head parsing for the proxy.
 * Everything here reads hostile bytes: every length is checked against
 * what is left before it is used, and nothing past PEEK_MAX is read.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "grammar.h"
#include "peek.h"

#define TLS_REC_HANDSHAKE	22
#define TLS_HS_CLIENT_HELLO	1
#define TLS_EXT_SERVER_NAME	0
#define TLS_SNI_HOST_NAME	0
#define TLS_MAXRECORD		(16384 + 256)	/* plaintext, with slack */
#define TLS_MAXEXTS		128

enum peek_proto
peek_proto(const uint8_t *buf, size_t len)
{
	size_t	 i;

	if (len == 0)
		return PEEK_P_UNKNOWN;
	if (buf[0] == TLS_REC_HANDSHAKE) {
		if (len < 2)
			return PEEK_P_UNKNOWN;
		return buf[1] == 3 ? PEEK_P_TLS : PEEK_P_OTHER;
	}
	/* a method: upper-case letters then a space */
	for (i = 0; i < len && i < PEEK_METHOD_SIZE; i++) {
		if (buf[i] == ' ')
			return i > 0 ? PEEK_P_HTTP : PEEK_P_OTHER;
		if (buf[i] < 'A' || buf[i] > 'Z')
			return PEEK_P_OTHER;
	}
	return i < PEEK_METHOD_SIZE ? PEEK_P_UNKNOWN : PEEK_P_OTHER;
}

/* grammar.c's gr_hostname (a name a certificate is made for), on len bytes */
int
peek_valid_hostname(const char *s, size_t len)
{
	char	 tmp[NETD_NAME_SIZE];

	if (len == 0 || len >= sizeof(tmp) || memchr(s, '\0', len) != NULL)
		return 0;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	return gr_hostname("host", tmp, NULL, 0) == 0;
}

static void
lower_copy(char *dst, const char *src, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		dst[i] = tolower((unsigned char)src[i]);
	dst[len] = '\0';
}

/* big-endian reads; the caller has checked the bounds */
static unsigned int
be16(const uint8_t *p)
{
	return (unsigned int)p[0] << 8 | p[1];
}

static unsigned int
be24(const uint8_t *p)
{
	return (unsigned int)p[0] << 16 | (unsigned int)p[1] << 8 | p[2];
}

static enum peek_result
tls_sni_ext(const uint8_t *p, size_t len, char *sni, const char **why)
{
	size_t	 list, nlen;

	if (len < 2) {
		*why = "server_name extension too short";
		return PEEK_BAD;
	}
	list = be16(p);
	if (list != len - 2) {
		*why = "server_name list length disagrees with the extension";
		return PEEK_BAD;
	}
	p += 2;
	if (list < 3) {
		*why = "empty server_name list";
		return PEEK_BAD;
	}
	if (p[0] != TLS_SNI_HOST_NAME) {
		*why = "server_name entry is not a host_name";
		return PEEK_BAD;
	}
	nlen = be16(p + 1);
	if (nlen > list - 3) {
		*why = "host_name runs past the server_name list";
		return PEEK_BAD;
	}
	if (nlen < list - 3) {
		*why = "several server_name entries";
		return PEEK_BAD;
	}
	if (nlen == 0 || nlen >= NETD_NAME_SIZE) {
		*why = "host_name length out of range";
		return PEEK_BAD;
	}
	if (memchr(p + 3, '\0', nlen) != NULL ||
	    !peek_valid_hostname((const char *)p + 3, nlen)) {
		*why = "host_name is not a valid DNS name (or is an IP literal)";
		return PEEK_BAD;
	}
	lower_copy(sni, (const char *)p + 3, nlen);
	return PEEK_FOUND;
}

static enum peek_result
tls_client_hello(const uint8_t *p, size_t len, char *sni, const char **why)
{
	uint16_t	 seen[TLS_MAXEXTS];
	size_t		 pos = 0, n, extlen, nseen = 0, i;
	enum peek_result rv = PEEK_NONE;

	if (len < 2 + 32 + 1) {
		*why = "ClientHello too short";
		return PEEK_BAD;
	}
	if (p[0] != 3) {
		*why = "ClientHello version is not 3.x";
		return PEEK_BAD;
	}
	pos = 2 + 32;
	n = p[pos++];			/* session id */
	if (n > 32 || n > len - pos) {
		*why = "bad session id length";
		return PEEK_BAD;
	}
	pos += n;
	if (len - pos < 2) {
		*why = "ClientHello ends before the cipher suites";
		return PEEK_BAD;
	}
	n = be16(p + pos);
	pos += 2;
	if (n < 2 || n % 2 != 0 || n > len - pos) {
		*why = "bad cipher suites length";
		return PEEK_BAD;
	}
	pos += n;
	if (len - pos < 1) {
		*why = "ClientHello ends before the compression methods";
		return PEEK_BAD;
	}
	n = p[pos++];
	if (n < 1 || n > len - pos) {
		*why = "bad compression methods length";
		return PEEK_BAD;
	}
	pos += n;
	if (pos == len)
		return PEEK_NONE;	/* no extensions at all */
	if (len - pos < 2) {
		*why = "truncated extensions length";
		return PEEK_BAD;
	}
	extlen = be16(p + pos);
	pos += 2;
	if (extlen != len - pos) {
		*why = "extensions length disagrees with the ClientHello";
		return PEEK_BAD;
	}
	while (pos < len) {
		unsigned int	 type;

		if (len - pos < 4) {
			*why = "truncated extension header";
			return PEEK_BAD;
		}
		type = be16(p + pos);
		n = be16(p + pos + 2);
		pos += 4;
		if (n > len - pos) {
			*why = "extension runs past the ClientHello";
			return PEEK_BAD;
		}
		for (i = 0; i < nseen; i++)
			if (seen[i] == type) {
				*why = "duplicate extension";
				return PEEK_BAD;
			}
		if (nseen == TLS_MAXEXTS) {
			*why = "too many extensions";
			return PEEK_BAD;
		}
		seen[nseen++] = type;
		if (type == TLS_EXT_SERVER_NAME) {
			rv = tls_sni_ext(p + pos, n, sni, why);
			if (rv == PEEK_BAD)
				return rv;
		}
		pos += n;
	}
	return rv;
}

enum peek_result
peek_tls(const uint8_t *buf, size_t len, char *sni, const char **why)
{
	uint8_t		 hs[PEEK_MAX];
	size_t		 hslen = 0, pos = 0, rlen, need;

	*why = NULL;
	sni[0] = '\0';
	if (len > PEEK_MAX)
		len = PEEK_MAX;
	/* reassemble the handshake from as many records as it takes */
	for (;;) {
		if (hslen >= 4) {
			if (hs[0] != TLS_HS_CLIENT_HELLO) {
				*why = "first handshake message is not a ClientHello";
				return PEEK_BAD;
			}
			need = be24(hs + 1);
			if (need > PEEK_MAX - 4 - 5) {
				*why = "ClientHello longer than the proxy reads";
				return PEEK_BAD;
			}
			if (hslen >= need + 4) {
				if (hslen > need + 4) {
					*why = "data after the ClientHello in its record";
					return PEEK_BAD;
				}
				return tls_client_hello(hs + 4, need, sni, why);
			}
		}
		if (len - pos < 5)
			break;
		if (buf[pos] != TLS_REC_HANDSHAKE) {
			*why = "non-handshake record before the ClientHello ended";
			return PEEK_BAD;
		}
		if (buf[pos + 1] != 3) {
			*why = "record version is not 3.x";
			return PEEK_BAD;
		}
		rlen = be16(buf + pos + 3);
		if (rlen == 0 || rlen > TLS_MAXRECORD) {
			*why = "bad record length";
			return PEEK_BAD;
		}
		if (rlen > len - pos - 5)
			break;
		if (rlen > sizeof(hs) - hslen) {
			*why = "ClientHello longer than the proxy reads";
			return PEEK_BAD;
		}
		memcpy(hs + hslen, buf + pos + 5, rlen);
		hslen += rlen;
		pos += 5 + rlen;
	}
	if (len >= PEEK_MAX) {
		*why = "ClientHello longer than the proxy reads";
		return PEEK_BAD;
	}
	return PEEK_NEED_MORE;
}

static int
is_tchar(unsigned char c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

static int
parse_port(const char *s, size_t len, uint16_t *port)
{
	unsigned long	 v = 0;
	size_t		 i;

	if (len == 0 || len > 5)
		return -1;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*port = v;
	return 0;
}

int
peek_hostport(const char *s, size_t len, int needport, char *host,
    size_t hostsize, uint16_t *port, int *is_ip, const char **why)
{
	const char	*colon, *hend;
	char		 tmp[NETD_NAME_SIZE];
	struct in6_addr	 in6;
	struct in_addr	 in4;
	size_t		 hlen;

	*port = 0;
	*is_ip = 0;
	if (len == 0) {
		*why = "empty host";
		return -1;
	}
	if (s[0] == '[') {
		hend = memchr(s, ']', len);
		if (hend == NULL) {
			*why = "IPv6 literal without ']'";
			return -1;
		}
		hlen = hend - s - 1;
		if (hlen == 0 || hlen >= sizeof(tmp) || hlen >= hostsize) {
			*why = "bad IPv6 literal length";
			return -1;
		}
		memcpy(tmp, s + 1, hlen);
		tmp[hlen] = '\0';
		if (inet_pton(AF_INET6, tmp, &in6) != 1) {
			*why = "bad IPv6 literal";
			return -1;
		}
		*is_ip = 6;
		colon = hend + 1 < s + len ? hend + 1 : NULL;
		if (colon != NULL && *colon != ':') {
			*why = "junk after the IPv6 literal";
			return -1;
		}
	} else {
		colon = memchr(s, ':', len);
		hlen = colon != NULL ? (size_t)(colon - s) : len;
		if (hlen == 0 || hlen >= sizeof(tmp) || hlen >= hostsize) {
			*why = "bad host length";
			return -1;
		}
		memcpy(tmp, s, hlen);
		tmp[hlen] = '\0';
		if (memchr(tmp, '\0', hlen) != NULL) {
			*why = "NUL in host";
			return -1;
		}
		/* one trailing dot names the same host */
		if (hlen > 1 && tmp[hlen - 1] == '.')
			tmp[--hlen] = '\0';
		if (inet_pton(AF_INET, tmp, &in4) == 1)
			*is_ip = 4;
		else if (!peek_valid_hostname(tmp, hlen)) {
			*why = "host is not a valid DNS name or address";
			return -1;
		}
	}
	if (colon != NULL) {
		if (parse_port(colon + 1, s + len - colon - 1, port) == -1) {
			*why = "bad port";
			return -1;
		}
	} else if (needport) {
		*why = "port missing";
		return -1;
	}
	lower_copy(host, tmp, strlen(tmp));
	return 0;
}

/*
 * The next line of the head at pos: its length without CRLF in *llen.
 * 1 found, 0 need more, -1 bad.
 */
static int
next_line(const uint8_t *buf, size_t len, size_t pos, size_t *llen,
    const char **why)
{
	size_t	 i;

	for (i = pos; i < len; i++) {
		if (i - pos > PEEK_HTTP_MAXLINE) {
			*why = "line too long";
			return -1;
		}
		if (buf[i] == '\0') {
			*why = "NUL in the head";
			return -1;
		}
		if (buf[i] == '\n') {
			*why = "bare LF in the head";
			return -1;
		}
		if (buf[i] == '\r') {
			if (i + 1 == len)
				return 0;
			if (buf[i + 1] != '\n') {
				*why = "bare CR in the head";
				return -1;
			}
			*llen = i - pos;
			return 1;
		}
	}
	if (len - pos > PEEK_HTTP_MAXLINE) {
		*why = "line too long";
		return -1;
	}
	return 0;
}

static int
parse_request_line(const uint8_t *p, size_t len, struct peek_http *h,
    size_t base, const char **why)
{
	size_t	 i = 0, t;

	while (i < len && is_tchar(p[i]))
		i++;
	if (i == 0 || i >= PEEK_METHOD_SIZE || i == len || p[i] != ' ') {
		*why = "bad method";
		return -1;
	}
	memcpy(h->method, p, i);
	h->method[i] = '\0';
	t = ++i;
	while (i < len && p[i] > 0x20 && p[i] < 0x7f)
		i++;
	if (i == t || i == len || p[i] != ' ') {
		*why = "bad request target";
		return -1;
	}
	h->target_off = base + t;
	h->target_len = i - t;
	i++;
	if (len - i != 8 || memcmp(p + i, "HTTP/1.", 7) != 0 ||
	    !isdigit(p[i + 7])) {
		*why = "not an HTTP/1.x request";
		return -1;
	}
	h->minor = p[i + 7] - '0';
	return 0;
}

/*
 * The Connection options: close, keep-alive and upgrade noted; a
 * header it names is dropped on the way (hop-by-hop), so naming one
 * that frames or routes the message (the next hop would frame it
 * otherwise than the proxy did) is refused, and so are more than
 * PEEK_HTTP_MAXCONNOPT options.  -1 with *why.
 */
static int
conn_tokens(const uint8_t *p, size_t len, int *nopt, int *close_,
    int *keepalive, int *upgrade, const char **why)
{
	static const char *const framing[] = {
		"content-length", "transfer-encoding", "host",
	};
	size_t	 s, e, i = 0, k;

	while (i < len) {
		while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == ','))
			i++;
		s = i;
		while (i < len && p[i] != ',')
			i++;
		e = i;
		while (e > s && (p[e - 1] == ' ' || p[e - 1] == '\t'))
			e--;
		if (e == s)
			continue;
		for (k = s; k < e; k++)
			if (!is_tchar(p[k])) {
				*why = "bad Connection option";
				return -1;
			}
		if (++*nopt > PEEK_HTTP_MAXCONNOPT) {
			*why = "too many Connection options";
			return -1;
		}
		for (k = 0; k < sizeof(framing) / sizeof(framing[0]); k++)
			if (e - s == strlen(framing[k]) && strncasecmp(
			    (const char *)p + s, framing[k], e - s) == 0) {
				*why = "Connection names a framing or routing "
				    "field";
				return -1;
			}
		if (e - s == 5 && strncasecmp((const char *)p + s, "close", 5)
		    == 0)
			*close_ = 1;
		if (e - s == 10 && strncasecmp((const char *)p + s,
		    "keep-alive", 10) == 0)
			*keepalive = 1;
		if (e - s == 7 && strncasecmp((const char *)p + s, "upgrade",
		    7) == 0)
			*upgrade = 1;
	}
	return 0;
}

/*
 * A header line (len bytes without CRLF): its name is p[0..*nlen),
 * its value p[*vs..*ve) without the surrounding whitespace.  -1 with
 * *why for obs-fold, a bad name or a control character in the value.
 */
static int
split_header(const uint8_t *p, size_t len, size_t *nlen, size_t *vs,
    size_t *ve, const char **why)
{
	size_t	 i = 0;

	if (p[0] == ' ' || p[0] == '\t') {
		*why = "obsolete line folding";
		return -1;
	}
	while (i < len && is_tchar(p[i]))
		i++;
	if (i == 0 || i == len || p[i] != ':') {
		*why = "bad header name";
		return -1;
	}
	*nlen = i;
	*vs = i + 1;
	while (*vs < len && (p[*vs] == ' ' || p[*vs] == '\t'))
		(*vs)++;
	*ve = len;
	while (*ve > *vs && (p[*ve - 1] == ' ' || p[*ve - 1] == '\t'))
		(*ve)--;
	for (i = *vs; i < *ve; i++)
		if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f) {
			*why = "control character in a header value";
			return -1;
		}
	return 0;
}

/* Content-Length: one, digits only, below 10^18 */
static int
parse_clen(const uint8_t *p, size_t vs, size_t ve, int *has, uint64_t *clen,
    const char **why)
{
	size_t	 i;

	if (*has) {
		*why = "several Content-Length headers";
		return -1;
	}
	*has = 1;
	if (ve == vs || ve - vs > 18) {
		*why = "bad Content-Length";
		return -1;
	}
	for (i = vs; i < ve; i++) {
		if (!isdigit(p[i])) {
			*why = "bad Content-Length";
			return -1;
		}
		*clen = *clen * 10 + (p[i] - '0');
	}
	return 0;
}

/* Transfer-Encoding: one, exactly "chunked" */
static int
parse_te(const uint8_t *p, size_t vs, size_t ve, int *chunked,
    const char **why)
{
	if (*chunked) {
		*why = "several Transfer-Encoding headers";
		return -1;
	}
	if (ve - vs != 7 || strncasecmp((const char *)p + vs, "chunked", 7)
	    != 0) {
		*why = "Transfer-Encoding other than chunked";
		return -1;
	}
	*chunked = 1;
	return 0;
}

static int
is_header(const uint8_t *p, size_t nlen, const char *name)
{
	return nlen == strlen(name) && strncasecmp((const char *)p, name,
	    nlen) == 0;
}

static int
parse_header(const uint8_t *p, size_t len, struct peek_http *h,
    size_t base, const char **why)
{
	size_t	 vs, ve, nlen;

	if (split_header(p, len, &nlen, &vs, &ve, why) == -1)
		return -1;
	if (is_header(p, nlen, "host")) {
		if (h->has_host) {
			*why = "several Host headers";
			return -1;
		}
		h->has_host = 1;
		h->host_off = base + vs;
		h->host_len = ve - vs;
		if (memchr(p + vs, '@', ve - vs) != NULL) {
			*why = "user information in Host";
			return -1;
		}
		if (memchr(p + vs, ' ', ve - vs) != NULL ||
		    memchr(p + vs, '\t', ve - vs) != NULL) {
			*why = "whitespace in Host";
			return -1;
		}
		if (peek_hostport((const char *)p + vs, ve - vs, 0, h->host,
		    sizeof(h->host), &h->host_port, &h->host_is_ip, why) == -1)
			return -1;
	}
	if (is_header(p, nlen, "content-length") &&
	    parse_clen(p, vs, ve, &h->has_clen, &h->clen, why) == -1)
		return -1;
	if (is_header(p, nlen, "transfer-encoding") &&
	    parse_te(p, vs, ve, &h->chunked, why) == -1)
		return -1;
	if (is_header(p, nlen, "expect")) {
		if (h->expect_continue || ve - vs != 12 ||
		    strncasecmp((const char *)p + vs, "100-continue", 12) != 0) {
			*why = "Expect other than one 100-continue";
			return -1;
		}
		h->expect_continue = 1;
	}
	if (is_header(p, nlen, "upgrade")) {
		if (h->upgrade) {
			*why = "several Upgrade headers";
			return -1;
		}
		h->upgrade = 1;
		h->upgrade_websocket = ve - vs == 9 &&
		    strncasecmp((const char *)p + vs, "websocket", 9) == 0;
	}
	if (is_header(p, nlen, "connection") &&
	    conn_tokens(p + vs, ve - vs, &h->nconnopt, &h->conn_close,
	    &h->conn_keepalive, &h->conn_upgrade, why) == -1)
		return -1;
	return 0;
}

enum peek_result
peek_http(const uint8_t *buf, size_t len, struct peek_http *h,
    const char **why)
{
	size_t	 pos = 0, llen = 0;
	int	 nheaders = 0, r;

	*why = NULL;
	memset(h, 0, sizeof(*h));
	if (len > PEEK_MAX)
		len = PEEK_MAX;
	r = next_line(buf, len, 0, &llen, why);
	if (r == 0)
		goto more;
	if (r == -1)
		return PEEK_BAD;
	if (parse_request_line(buf, llen, h, 0, why) == -1)
		return PEEK_BAD;
	pos = llen + 2;
	for (;;) {
		r = next_line(buf, len, pos, &llen, why);
		if (r == 0)
			goto more;
		if (r == -1)
			return PEEK_BAD;
		if (llen == 0)
			break;
		if (++nheaders > PEEK_HTTP_MAXHEADERS) {
			*why = "too many headers";
			return PEEK_BAD;
		}
		if (parse_header(buf + pos, llen, h, pos, why) == -1)
			return PEEK_BAD;
		pos += llen + 2;
	}
	h->headlen = pos + 2;
	if (h->chunked && h->has_clen) {
		*why = "Transfer-Encoding with Content-Length";
		return PEEK_BAD;
	}
	if (h->chunked && h->minor == 0) {
		*why = "Transfer-Encoding in HTTP/1.0";
		return PEEK_BAD;
	}
	if (!h->has_host) {
		/* CONNECT names its host in the target */
		if (h->minor >= 1 && strcmp(h->method, "CONNECT") != 0) {
			*why = "HTTP/1.1 request without Host";
			return PEEK_BAD;
		}
		return PEEK_NONE;
	}
	return PEEK_FOUND;
 more:
	if (len >= PEEK_MAX) {
		*why = "request head longer than the proxy reads";
		return PEEK_BAD;
	}
	return PEEK_NEED_MORE;
}

int
peek_http_target(const uint8_t *buf, const struct peek_http *h, char *host,
    uint16_t *port, int *is_ip, size_t *cut, const char **why)
{
	const char	*tgt = (const char *)buf + h->target_off;
	size_t		 alen = 0;

	*port = 0;
	*is_ip = 0;
	*cut = 0;
	if (tgt[0] == '/' || (h->target_len == 1 && tgt[0] == '*'))
		return 0;
	if (h->target_len < 7 || strncasecmp(tgt, "http://", 7) != 0) {
		*why = "request target is neither origin form nor http://";
		return -1;
	}
	while (7 + alen < h->target_len && tgt[7 + alen] != '/' &&
	    tgt[7 + alen] != '?' && tgt[7 + alen] != '#')
		alen++;
	if (memchr(tgt + 7, '@', alen) != NULL) {
		*why = "user information in the URL";
		return -1;
	}
	if (peek_hostport(tgt + 7, alen, 0, host, NETD_NAME_SIZE, port,
	    is_ip, why) == -1)
		return -1;
	*cut = 7 + alen;
	return 1;
}

/*
 * Is the header line p (n bytes with its CRLF) one that ends at this
 * hop: Connection, Keep-Alive, Proxy-Connection, TE, Upgrade (unless
 * keep_upgrade), or a field a Connection header of the head names?
 */
static int
is_hop_header(const uint8_t *head, size_t first, size_t headlen,
    const uint8_t *p, size_t n, int keep_upgrade)
{
	static const char *const hop[] = {
		"connection", "keep-alive", "proxy-connection", "te",
	};
	size_t	 i, nlen, vs, ve, pos, eol, s, e, cn, cvs, cve;
	const char *why;

	for (nlen = 0; nlen < n && p[nlen] != ':'; nlen++)
		;
	for (i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
		if (is_header(p, nlen, hop[i]))
			return 1;
	if (is_header(p, nlen, "upgrade"))
		return !keep_upgrade;
	/* named by a Connection header (already checked by the parser) */
	for (pos = first; pos < headlen - 2; pos = eol + 2) {
		for (eol = pos; head[eol] != '\r'; eol++)
			;
		if (split_header(head + pos, eol - pos, &cn, &cvs, &cve,
		    &why) == -1 || !is_header(head + pos, cn, "connection"))
			continue;
		vs = pos + cvs;
		ve = pos + cve;
		for (i = vs; i < ve; ) {
			while (i < ve && (head[i] == ' ' || head[i] == '\t' ||
			    head[i] == ','))
				i++;
			s = i;
			while (i < ve && head[i] != ',')
				i++;
			e = i;
			while (e > s && (head[e - 1] == ' ' ||
			    head[e - 1] == '\t'))
				e--;
			if (e > s &&
			    e - s == nlen && strncasecmp((const char *)head + s,
			    (const char *)p, nlen) == 0)
				return !(keep_upgrade && nlen == 7 &&
				    strncasecmp((const char *)p, "upgrade", 7)
				    == 0);
		}
	}
	return 0;
}

/*
 * Copy the head's first line (from 0, or from the target's first cut
 * bytes removed) and its headers but the hop-by-hop ones, then
 * "Connection: connection" when given, then the empty line.  Its
 * length, or 0 when out is too small.
 */
static size_t
rewrite_head(const uint8_t *buf, size_t first, size_t headlen,
    int keep_upgrade, const char *connection, uint8_t *out, size_t outsize,
    size_t o)
{
	size_t	 pos, eol, n;

#define PUT(src, len) do {						\
	if ((len) > outsize - o)					\
		return 0;						\
	memcpy(out + o, (src), (len));					\
	o += (len);							\
} while (0)
	for (pos = first; pos < headlen - 2; pos = eol + 2) {
		for (eol = pos; buf[eol] != '\r'; eol++)
			;
		n = eol + 2 - pos;
		if (!is_hop_header(buf, first, headlen, buf + pos, n,
		    keep_upgrade))
			PUT(buf + pos, n);
	}
	if (connection != NULL) {
		PUT("Connection: ", 12);
		PUT(connection, strlen(connection));
		PUT("\r\n", 2);
	}
	PUT("\r\n", 2);
#undef PUT
	return o;
}

size_t
peek_http_rewrite(const uint8_t *buf, const struct peek_http *h, size_t cut,
    const char *connection, uint8_t *out, size_t outsize)
{
	size_t	 o = 0, tend = h->target_off + h->target_len, eol;
	int	 up = connection != NULL && strcmp(connection, "upgrade") == 0;

	if (cut > h->target_len || h->headlen < 4 || outsize < h->target_off)
		return 0;
	memcpy(out, buf, h->target_off);
	o = h->target_off;
	if (cut > 0 && (cut == h->target_len || buf[h->target_off + cut] != '/')) {
		if (o == outsize)
			return 0;
		out[o++] = '/';
	}
	if (h->target_len - cut > outsize - o)
		return 0;
	memcpy(out + o, buf + h->target_off + cut, h->target_len - cut);
	o += h->target_len - cut;
	/* the rest of the request line: " HTTP/1.x\r\n" */
	for (eol = tend; buf[eol] != '\r'; eol++)
		;
	if (eol + 2 - tend > outsize - o)
		return 0;
	memcpy(out + o, buf + tend, eol + 2 - tend);
	o += eol + 2 - tend;
	return rewrite_head(buf, eol + 2, h->headlen, up, connection, out,
	    outsize, o);
}

static int
parse_status_line(const uint8_t *p, size_t len, struct peek_response *r,
    const char **why)
{
	size_t	 i;

	if (len < 12 || memcmp(p, "HTTP/1.", 7) != 0 || !isdigit(p[7]) ||
	    p[8] != ' ' || !isdigit(p[9]) || !isdigit(p[10]) ||
	    !isdigit(p[11]) || (len > 12 && p[12] != ' ')) {
		*why = "bad status line";
		return -1;
	}
	r->minor = p[7] - '0';
	r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	if (r->status < 100 || r->status > 599) {
		*why = "status code out of range";
		return -1;
	}
	for (i = 13; i < len; i++)
		if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f) {
			*why = "control character in the reason phrase";
			return -1;
		}
	return 0;
}

static int
parse_resp_header(const uint8_t *p, size_t len, struct peek_response *r,
    const char **why)
{
	size_t	 vs, ve, nlen;

	if (split_header(p, len, &nlen, &vs, &ve, why) == -1)
		return -1;
	if (is_header(p, nlen, "content-length") &&
	    parse_clen(p, vs, ve, &r->has_clen, &r->clen, why) == -1)
		return -1;
	if (is_header(p, nlen, "transfer-encoding") &&
	    parse_te(p, vs, ve, &r->chunked, why) == -1)
		return -1;
	if (is_header(p, nlen, "upgrade")) {
		if (r->upgrade) {
			*why = "several Upgrade headers";
			return -1;
		}
		r->upgrade = 1;
		r->upgrade_websocket = ve - vs == 9 &&
		    strncasecmp((const char *)p + vs, "websocket", 9) == 0;
	}
	if (is_header(p, nlen, "connection") &&
	    conn_tokens(p + vs, ve - vs, &r->nconnopt, &r->conn_close,
	    &r->conn_keepalive, &r->conn_upgrade, why) == -1)
		return -1;
	return 0;
}

enum peek_result
peek_http_response(const uint8_t *buf, size_t len, struct peek_response *r,
    const char **why)
{
	size_t	 pos, llen = 0;
	int	 nheaders = 0, rv;

	*why = NULL;
	memset(r, 0, sizeof(*r));
	if (len > PEEK_MAX)
		len = PEEK_MAX;
	rv = next_line(buf, len, 0, &llen, why);
	if (rv == 0)
		goto more;
	if (rv == -1)
		return PEEK_BAD;
	if (parse_status_line(buf, llen, r, why) == -1)
		return PEEK_BAD;
	pos = llen + 2;
	for (;;) {
		rv = next_line(buf, len, pos, &llen, why);
		if (rv == 0)
			goto more;
		if (rv == -1)
			return PEEK_BAD;
		if (llen == 0)
			break;
		if (++nheaders > PEEK_HTTP_MAXHEADERS) {
			*why = "too many headers";
			return PEEK_BAD;
		}
		if (parse_resp_header(buf + pos, llen, r, why) == -1)
			return PEEK_BAD;
		pos += llen + 2;
	}
	r->headlen = pos + 2;
	if (r->chunked && r->has_clen) {
		*why = "Transfer-Encoding with Content-Length";
		return PEEK_BAD;
	}
	if (r->chunked && r->minor == 0) {
		*why = "Transfer-Encoding in HTTP/1.0";
		return PEEK_BAD;
	}
	return PEEK_FOUND;
 more:
	if (len >= PEEK_MAX) {
		*why = "response head longer than the proxy reads";
		return PEEK_BAD;
	}
	return PEEK_NEED_MORE;
}

size_t
peek_response_rewrite(const uint8_t *buf, const struct peek_response *r,
    const char *connection, uint8_t *out, size_t outsize)
{
	size_t	 eol;
	int	 up = connection != NULL && strcmp(connection, "upgrade") == 0;

	if (r->headlen < 4)
		return 0;
	for (eol = 0; buf[eol] != '\r'; eol++)
		;
	if (eol + 2 > outsize)
		return 0;
	memcpy(out, buf, eol + 2);
	return rewrite_head(buf, eol + 2, r->headlen, up, connection, out,
	    outsize, eol + 2);
}

/* a response's body as peek_body frames it (the caller knows when none) */
void
peek_body_init_response(struct peek_body *b, const struct peek_response *r)
{
	struct peek_http h;

	memset(&h, 0, sizeof(h));
	h.chunked = r->chunked;
	h.has_clen = r->has_clen;
	h.clen = r->clen;
	peek_body_init(b, &h);
}

enum {
	B_DONE, B_FIXED, B_SIZE, B_SIZE_MORE, B_EXT, B_SIZE_LF, B_DATA,
	B_DATA_CR, B_DATA_LF, B_TRAILER_START, B_TRAILER, B_TRAILER_LF,
	B_END_LF, B_EXT_NAME, B_EXT_VAL, B_EXT_TOKEN, B_EXT_QUOTED,
	B_EXT_QESC, B_EXT_QEND, B_TRAILER_VALUE,
};

/* trailer fields that would change framing or routing if merged */
static int
forbidden_trailer(const char *name)
{
	static const char *const bad[] = {
		"content-length", "transfer-encoding", "host", "connection",
		"upgrade", "expect",
	};
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (strcasecmp(name, bad[i]) == 0)
			return 1;
	return 0;
}

void
peek_body_init(struct peek_body *b, const struct peek_http *h)
{
	memset(b, 0, sizeof(*b));
	if (h->chunked)
		b->state = B_SIZE;
	else if (h->has_clen && h->clen > 0) {
		b->state = B_FIXED;
		b->left = h->clen;
	} else
		b->state = B_DONE;
}


uint64_t
peek_body_data(const struct peek_body *b)
{
	return b->state == B_FIXED || b->state == B_DATA ? b->left : 0;
}

enum peek_result
peek_body(struct peek_body *b, const uint8_t *buf, size_t len, size_t *used,
    const char **why)
{
	size_t	 i = 0, n;
	uint8_t	 c;
	int	 v;

	*why = NULL;
	while (i < len && b->state != B_DONE) {
		c = buf[i];
		switch (b->state) {
		case B_FIXED:
		case B_DATA:
			n = len - i < b->left ? len - i : (size_t)b->left;
			b->left -= n;
			i += n;
			if (b->left == 0)
				b->state = b->state == B_FIXED ? B_DONE :
				    B_DATA_CR;
			continue;
		case B_SIZE:
		case B_SIZE_MORE:
			if ((v = gr_hexdigit(c)) != -1) {
				if (b->left >> 56 != 0) {
					*why = "chunk size too large";
					return PEEK_BAD;
				}
				b->left = b->left << 4 | v;
				b->state = B_SIZE_MORE;
				break;
			}
			if (b->state == B_SIZE) {
				*why = "bad chunk size";
				return PEEK_BAD;
			}
			if (c == ';') {
				b->state = B_EXT;
				b->line = 0;
			} else if (c == '\r')
				b->state = B_SIZE_LF;
			else {
				*why = "bad chunk size";
				return PEEK_BAD;
			}
			break;
		case B_EXT:		/* after ';': a name */
		case B_EXT_NAME:
		case B_EXT_VAL:		/* after '=': a token or "..." */
		case B_EXT_TOKEN:
		case B_EXT_QUOTED:
		case B_EXT_QESC:
		case B_EXT_QEND:
			if (++b->line > PEEK_HTTP_MAXLINE) {
				*why = "chunk line too long";
				return PEEK_BAD;
			}
			if (b->state == B_EXT_QUOTED) {
				if (c == '"')
					b->state = B_EXT_QEND;
				else if (c == '\\')
					b->state = B_EXT_QESC;
				else if ((c < 0x20 && c != '\t') || c == 0x7f) {
					*why = "control character in a chunk "
					    "extension";
					return PEEK_BAD;
				}
				break;
			}
			if (b->state == B_EXT_QESC) {
				if ((c < 0x20 && c != '\t') || c == 0x7f) {
					*why = "control character in a chunk "
					    "extension";
					return PEEK_BAD;
				}
				b->state = B_EXT_QUOTED;
				break;
			}
			if (is_tchar(c) && b->state != B_EXT_QEND) {
				b->state = b->state == B_EXT ? B_EXT_NAME :
				    b->state == B_EXT_VAL ? B_EXT_TOKEN :
				    b->state;
				break;
			}
			if (c == '"' && b->state == B_EXT_VAL) {
				b->state = B_EXT_QUOTED;
				break;
			}
			if (c == '=' && b->state == B_EXT_NAME) {
				b->state = B_EXT_VAL;
				break;
			}
			if (c == ';' && (b->state == B_EXT_NAME ||
			    b->state == B_EXT_TOKEN || b->state == B_EXT_QEND)) {
				b->state = B_EXT;
				break;
			}
			if (c == '\r' && (b->state == B_EXT_NAME ||
			    b->state == B_EXT_TOKEN || b->state == B_EXT_QEND)) {
				b->state = B_SIZE_LF;
				break;
			}
			*why = c == '\n' ? "bare LF in the chunked body" :
			    "bad chunk extension";
			return PEEK_BAD;
		case B_TRAILER:		/* the field name */
			if (++b->line > PEEK_HTTP_MAXLINE) {
				*why = "chunk line too long";
				return PEEK_BAD;
			}
			if (is_tchar(c)) {
				if (b->line < sizeof(b->name))
					b->name[b->line - 1] = c;
				break;
			}
			if (c != ':' || b->line == 1) {
				*why = "bad trailer field name";
				return PEEK_BAD;
			}
			b->name[b->line - 1 < sizeof(b->name) ? b->line - 1 :
			    sizeof(b->name) - 1] = '\0';
			if (b->line - 1 < sizeof(b->name) &&
			    forbidden_trailer(b->name)) {
				*why = "framing or routing field in the trailer";
				return PEEK_BAD;
			}
			b->state = B_TRAILER_VALUE;
			break;
		case B_TRAILER_VALUE:
			if (c == '\r') {
				b->state = B_TRAILER_LF;
				break;
			}
			if ((c < 0x20 && c != '\t') || c == 0x7f ||
			    ++b->line > PEEK_HTTP_MAXLINE) {
				*why = c == '\n' ? "bare LF in the chunked body" :
				    c == '\0' ? "NUL in the chunked body" :
				    c < 0x20 || c == 0x7f ?
				    "control character in the trailer" :
				    "chunk line too long";
				return PEEK_BAD;
			}
			break;
		case B_SIZE_LF:
		case B_DATA_LF:
		case B_TRAILER_LF:
		case B_END_LF:
			if (c != '\n') {
				*why = "bare CR in the chunked body";
				return PEEK_BAD;
			}
			if (b->state == B_SIZE_LF)
				b->state = b->left > 0 ? B_DATA :
				    B_TRAILER_START;
			else if (b->state == B_DATA_LF) {
				b->state = B_SIZE;
				b->left = 0;
			} else if (b->state == B_TRAILER_LF)
				b->state = B_TRAILER_START;
			else
				b->state = B_DONE;
			break;
		case B_DATA_CR:
			if (c != '\r') {
				*why = "chunk data longer than its size";
				return PEEK_BAD;
			}
			b->state = B_DATA_LF;
			break;
		case B_TRAILER_START:
			if (c == '\r')
				b->state = B_END_LF;
			else if (c == ' ' || c == '\t') {
				*why = "obsolete line folding in the trailer";
				return PEEK_BAD;
			} else {
				if (++b->ntrailers > PEEK_HTTP_MAXHEADERS) {
					*why = "too many trailer fields";
					return PEEK_BAD;
				}
				b->state = B_TRAILER;
				b->line = 0;
				memset(b->name, 0, sizeof(b->name));
				continue;	/* the same byte, as a trailer's */
			}
			break;
		}
		i++;
	}
	*used = i;
	return b->state == B_DONE ? PEEK_FOUND : PEEK_NEED_MORE;
}
