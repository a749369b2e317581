/*
 * Unit test of lensnetd/exchreq.c (TAP): what lensnetd's parent makes
 * of a proxy's IMSG_NETD_EXCH_REQ.  A proxy that names a credential the
 * policy does not have, a host:port the credential is not bound to, a
 * host the policy denies, a sandbox that is gone, or sends a host
 * without its NUL is refused with a reason, and nothing for lenscredd
 * is made; a sound request becomes an IMSG_CRED_EXCHANGE that
 * lenscredd's own check (exch_cred_check) takes, carrying the
 * policy's injection, never the proxy's words.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lensexch.h"
#include "lensnetd.h"
#include "policy.h"
#include "tap.h"

static const char text[] =
    "version: 1\n"
    "network:\n"
    "  egress:\n"
    "    http:\n"
    "      - {match: api.test, verdict: allow, caFile: test-ca.pem}\n"
    "      - {match: blocked.test, verdict: deny}\n"
    "      - {match: \"reg.test:5000\", verdict: allow}\n"
    "      - {match: g.test, verdict: allow}\n"
    "credentials:\n"
    "  - id: key\n"
    "    envVar: KEY\n"
    "    injections:\n"
    "      - {type: header, host: api.test, name: Authorization, "
    "value: \"Bearer {secret}\"}\n"
    "      - {type: header, host: blocked.test, name: X-K, "
    "value: \"{secret}\"}\n"
    "  - id: reg\n"
    "    envVar: REG\n"
    "    injections:\n"
    "      - {type: basic, host: \"reg.test:5000\", user: robot}\n"
    "  - id: tok\n"
    "    envVar: TOK\n"
    "    injections:\n"
    "      - {type: oauth2Refresh, host: g.test, "
    "tokenUrl: \"https://t.test/token\"}\n";

static struct netd_exch_req
req(uint32_t cred, const char *host, uint16_t port)
{
	struct netd_exch_req	 r;

	memset(&r, 0, sizeof(r));
	r.reqid = 7;
	r.cred = cred;
	r.port = port;
	r.family = AF_INET;
	r.addr[0] = 198;
	r.addr[1] = 18;
	r.addr[3] = 9;
	strlcpy(r.host, host, sizeof(r.host));
	return r;
}

static void
refused(const struct policy *pol, const struct phset *phs,
    struct netd_exch_req r, const char *want, const char *what)
{
	struct cred_exchange	 ex;
	const char		*ca;
	char			 why[300];

	memset(why, 0, sizeof(why));
	if (!ok(exch_req_build(pol, "sbx1", phs, &r, &ex, &ca, why,
	    sizeof(why)) == -1 && strstr(why, want) != NULL &&
	    ex.cred[0] == '\0', "%s: refused (%s)", what, why))
		printf("#   wanted: %s\n", want);
}

int
main(void)
{
	struct policy_error	 err;
	struct policy		*pol;
	struct phset		 phs;
	struct netd_exch_req	 r;
	struct cred_exchange	 ex;
	const char		*ca;
	char			 why[300], ph[3][PH_SIZE];
	int			 i;

	if ((pol = policy_parse("t.yaml", text, strlen(text), &err)) == NULL) {
		printf("Bail out! the test policy: %s\n", err.msg);
		return 1;
	}
	memset(&phs, 0, sizeof(phs));
	for (i = 0; i < 3; i++)
		if (ph_make(ph[i]) == -1 || phset_add(&phs, ph[i]) == -1) {
			printf("Bail out! placeholders\n");
			return 1;
		}

	r = req(0, "API.test.", 443);
	ok(exch_req_build(pol, "sbx1", &phs, &r, &ex, &ca, why,
	    sizeof(why)) == 0, "a bound credential and host: %s",
	    "an exchange");
	ok(strcmp(ex.sandbox, "sbx1") == 0 && strcmp(ex.cred, "key") == 0 &&
	    strcmp(ex.placeholder, ph[0]) == 0 &&
	    strcmp(ex.host, "api.test") == 0 && ex.port == 443 &&
	    ex.family == AF_INET && ex.addr[0] == 198 && ex.addr[3] == 9,
	    "the sandbox, credential, its placeholder, the host as the "
	    "policy matched it, port and address");
	ok(strcmp(ex.inj_name, "Authorization") == 0 &&
	    strcmp(ex.inj_value, "Bearer {secret}") == 0 &&
	    ex.inj_type == 0 && ca != NULL && strcmp(ca, "test-ca.pem") == 0,
	    "the policy's injection and the rule's caFile");
	ex.exch_id = 1;
	ok(exch_cred_check(&ex, sizeof(ex), why, sizeof(why)) == 0,
	    "lenscredd's check takes it (%s)", why);

	r = req(1, "reg.test", 5000);
	ok(exch_req_build(pol, "sbx1", &phs, &r, &ex, &ca, why,
	    sizeof(why)) == 0 && strcmp(ex.inj_name, "robot") == 0 &&
	    strcmp(ex.placeholder, ph[1]) == 0 && ca == NULL,
	    "basic: the user travels as the injection's name");

	refused(NULL, NULL, req(0, "api.test", 443), "no such sandbox",
	    "a sandbox the parent does not know");
	refused(pol, &phs, req(3, "api.test", 443), "no credential 3",
	    "a credential index past the sandbox's");
	refused(pol, &phs, req(0xffffffff, "api.test", 443),
	    "no credential 4294967295", "a huge credential index");
	refused(pol, &phs, req(1, "api.test", 443),
	    "credential reg is not bound to api.test:443",
	    "a credential not bound to the host");
	refused(pol, &phs, req(1, "reg.test", 443),
	    "credential reg is not bound to reg.test:443",
	    "a credential bound to another port");
	refused(pol, &phs, req(0, "evil.test", 443),
	    "not bound to evil.test:443", "an unbound host");
	refused(pol, &phs, req(0, "blocked.test", 443),
	    "the policy does not allow blocked.test:443",
	    "a bound host the policy denies");
	refused(pol, &phs, req(2, "g.test", 443),
	    "oauth2Refresh without the token endpoint's address",
	    "oauth2Refresh: no token address, no exchange");
	r = req(2, "g.test", 443);
	r.token_family = AF_INET;
	r.token_addr[0] = 198;
	r.token_addr[3] = 7;
	ok(exch_req_build(pol, "sbx1", &phs, &r, &ex, &ca, why,
	    sizeof(why)) == 0 && strcmp(ex.token_url,
	    "https://t.test/token") == 0 && ex.client_id[0] == '\0' &&
	    ex.token_family == AF_INET && ex.token_addr[0] == 198 &&
	    ex.token_addr[3] == 7 && ex.token_port == 443 &&
	    ex.inj_type == 5,
	    "oauth2Refresh: the tokenUrl, its port and the address the "
	    "proxy resolved");
	ex.exch_id = 2;
	ok(exch_cred_check(&ex, sizeof(ex), why, sizeof(why)) == 0,
	    "lenscredd's check takes it (%s)", why);
	r = req(0, "api.test", 443);
	memset(r.host, 'a', sizeof(r.host));
	refused(pol, &phs, r, "host not NUL-terminated", "a host without NUL");
	r = req(0, "api.test", 443);
	r.family = AF_UNIX;
	refused(pol, &phs, r, "address family", "an address family");
	phs.n = 1;
	refused(pol, &phs, req(1, "reg.test", 5000), "no credential 1",
	    "a credential without a placeholder");

	policy_free(pol);
	return tap_done();
}
