/*
 * libFuzzer target for common/policy_yaml.c: policy_parse on arbitrary bytes
 * (a policy file is operator input, but it also travels to lensnetd
 * over a socket and may come from a policy server).
 *
 * Every input either gives an error with a message and, when
 * positional, a line and column inside the input, or a policy whose
 * canonical JSON exists and whose decisions can be asked for.  The
 * publish entries' grammar has its own target (grammar.c).
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
decisions(const struct policy *pol)
{
	static const char *const names[] = { "api.github.com",
	    "a.b.pypi.org", "pypi.org", "GitHub.COM.", "", "x..y",
	    "localhost", "example.test" };
	struct policy_http_decision	 d;
	struct policy_request_decision	 rd;
	struct sockaddr_in		 sin;
	struct sockaddr_in6		 sin6;
	const char			*rule;
	size_t				 i;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, "10.0.5.7", &sin.sin_addr);
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		policy_http(pol, names[i], 443, &d);
		if (d.verdict > VERDICT_ASK)
			abort();
		policy_http_request(pol, names[i], 443, "GET", "/v1/x",
		    "q=1&page=2", &rd);
		if (rd.verdict > VERDICT_ASK || (rd.verdict == VERDICT_ALLOW &&
		    d.verdict != VERDICT_ALLOW) || (rd.websocket &&
		    rd.sub < 0))
			abort();
		if (policy_tcp_name(pol, names[i], 22, &rule) > VERDICT_ASK ||
		    policy_dns(pol, names[i]) > VERDICT_ASK)
			abort();
	}
	if (policy_tcp_addr(pol, (struct sockaddr *)&sin, 5432, &rule) >
	    VERDICT_ASK || policy_udp_addr(pol, (struct sockaddr *)&sin6,
	    53, &rule) > VERDICT_ASK)
		abort();
	for (i = 0; i < policy_npublish(pol); i++)
		if (policy_publish_at(pol, i)->hostport == 0)
			abort();
	(void)policy_resources(pol);
}

static unsigned int
lines(const uint8_t *data, size_t size)
{
	unsigned int	 n = 1;
	size_t		 i;

	for (i = 0; i < size; i++)
		if (data[i] == '\n' || (data[i] == '\r' &&
		    (i + 1 == size || data[i + 1] != '\n')))
			n++;
		else if (data[i] == 0x85)	/* NEL, LS, PS in UTF-8 */
			n++;
		else if (data[i] == 0xe2 && i + 2 < size &&
		    data[i + 1] == 0x80 && (data[i + 2] & 0xfe) == 0xa8)
			n++;
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_error	 err;
	struct policy		*pol;
	char			*json, ebuf[600];

	if ((pol = policy_parse("fuzz.yaml", data, size, &err)) == NULL) {
		if (err.msg[0] == '\0')
			abort();
		if (err.line > 0 && err.line > lines(data, size) + 1)
			abort();	/* a position outside the input */
		policy_strerror(&err, ebuf, sizeof(ebuf));
	} else {
		if ((json = policy_json(pol)) == NULL)
			abort();
		if (strlen(policy_hash(pol)) != 64)
			abort();
		decisions(pol);
		free(json);
		policy_free(pol);
	}
	return 0;
}
