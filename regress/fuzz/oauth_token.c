/*
 * libFuzzer target for lenscredd's OAuth 2.0 token response parser
 * (lenscredd/oauth.c oauth_parse): the first byte picks the HTTP status
 * (200 most of the time), the rest is the body.  A response is refused
 * (and then says why) or read; a token read never carries a byte a
 * request head must not (only '!' to '~'), its lifetime is 1 to
 * OAUTH_EXPIRY_MAX, and parsing the same body twice agrees.  The token
 * URL and the stored value (oauth_url, oauth_value, oauth_request) get
 * the same bytes: a request made from what they accept has a head
 * without a bare CR or LF and a body of printable ASCII.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "oauth.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int	 st[] = { 200, 200, 200, 400, 401, 500 };
	static struct oauth_token t1, t2;
	struct oauth_url	 u;
	struct oauth_value	 v;
	char			 why[256], url[OAUTH_URL_MAX + 2], *req, *p;
	size_t			 len, n;
	int			 status, rc;

	if (size < 1 || size > OAUTH_RESP_MAX + 2)
		return 0;
	status = st[data[0] % (sizeof(st) / sizeof(st[0]))];
	why[0] = '\0';
	rc = oauth_parse(status, data + 1, size - 1, &t1, why, sizeof(why));
	if (rc == -1) {
		if (why[0] == '\0' || t1.access[0] != '\0')
			abort();
	} else {
		if (status != 200 || t1.expires_in < 1 ||
		    t1.expires_in > OAUTH_EXPIRY_MAX || t1.access[0] == '\0')
			abort();
		printable(t1.access);
		printable(t1.refresh);
		if (oauth_parse(status, data + 1, size - 1, &t2, why,
		    sizeof(why)) != 0 || memcmp(&t1, &t2, sizeof(t1)) != 0)
			abort();
	}

	/* the URL, the value and the request from the same bytes */
	n = size - 1 < OAUTH_URL_MAX + 1 ? size - 1 : OAUTH_URL_MAX + 1;
	memcpy(url, data + 1, n);
	url[n] = '\0';
	if (oauth_url(url, &u, why, sizeof(why)) == -1 ||
	    oauth_value(data + 1, size - 1, &v, why, sizeof(why)) == -1)
		return 0;
	if (u.target[0] != '/' || u.port == 0)
		abort();
	if ((req = oauth_request(&u, &v, "client", &len, why,
	    sizeof(why))) == NULL)
		return 0;
	if ((p = strstr(req, "\r\n\r\n")) == NULL || strlen(req) != len)
		abort();
	for (n = 0; req + n < p; n++)
		if ((req[n] == '\r') != (req[n + 1] == '\n'))
			abort();
	printable(p + 4);
	sodium_memzero(req, len);
	free(req);
	return 0;
}
