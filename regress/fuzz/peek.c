/*
 * libFuzzer target for common/peek.c: the ClientHello SNI parser,
 * the HTTP request head parser and host:port splitting, each on every
 * input.  Checks what a FOUND result promises: a valid lowercased name,
 * offsets inside the input.
 */
#include <sys/types.h>

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "peek.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_name(const char *s)
{
	size_t	 i, n = strlen(s);

	if (n == 0 || n >= NETD_NAME_SIZE)
		abort();
	for (i = 0; i < n; i++)
		if (isupper((unsigned char)s[i]))
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	char		 sni[NETD_NAME_SIZE], host[NETD_NAME_SIZE];
	struct peek_http h;
	const char	*why;
	enum peek_result r;
	uint16_t	 port;
	int		 isip;

	(void)peek_proto(buf, len);
	r = peek_tls(buf, len, sni, &why);
	if (r == PEEK_BAD && why == NULL)
		abort();
	if (r == PEEK_FOUND) {
		check_name(sni);
		if (!peek_valid_hostname(sni, strlen(sni)))
			abort();
	}
	r = peek_http(buf, len, &h, &why);
	if (r == PEEK_BAD && why == NULL)
		abort();
	if (r == PEEK_FOUND || r == PEEK_NONE) {
		if (h.headlen > len || h.target_off + h.target_len > len ||
		    h.host_off + h.host_len > len || h.method[0] == '\0')
			abort();
		if (r == PEEK_FOUND)
			check_name(h.host);
	}
	if (len < 300 && peek_hostport((const char *)buf, len, len & 1,
	    host, sizeof(host), &port, &isip, &why) == 0)
		check_name(host);
	return 0;
}
