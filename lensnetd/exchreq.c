/*
 * lensnetd's parent on a proxy's IMSG_NETD_EXCH_REQ (lensnetd_imsg.h,
 * 5.): what the proxy says is checked against the parent's own copy of
 * the sandbox's policy, and lenscredd's IMSG_CRED_EXCHANGE is made from
 * the policy, not from the proxy's words.  The proxy chooses only
 * which credential (an index, which the policy must bind to the host
 * and port), where it connected and, for oauth2Refresh, where the
 * tokenUrl's host resolved (addresses: the exchange verifies each
 * certificate there, so a wrong one only fails).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdio.h>
#include <string.h>

#include "lensnetd.h"
#include "policy.h"

int
exch_req_build(const struct policy *pol, const char *sandbox,
    const struct phset *phs, const struct netd_exch_req *req,
    struct cred_exchange *ex, const char **cafile, char *why, size_t whylen)
{
	struct policy_injection		 pi;
	struct policy_http_decision	 d;
	char				 w[200];

	memset(ex, 0, sizeof(*ex));
	*cafile = NULL;
	if (pol == NULL) {
		snprintf(why, whylen, "no such sandbox");
		return -1;
	}
	if (memchr(req->host, '\0', sizeof(req->host)) == NULL) {
		snprintf(why, whylen, "host not NUL-terminated");
		return -1;
	}
	if (req->family != AF_INET && req->family != AF_INET6) {
		snprintf(why, whylen, "address family %u", req->family);
		return -1;
	}
	if (req->cred >= phs->n) {
		snprintf(why, whylen, "the sandbox has no credential %u",
		    req->cred);
		return -1;
	}
	if (policy_cred_injection(pol, req->cred, req->host, req->port, &pi, w,
	    sizeof(w)) == -1) {
		snprintf(why, whylen, "%s", w);
		return -1;
	}
	/* the request must be one the proxy could send at all */
	policy_http(pol, req->host, req->port, &d);
	if (d.verdict != VERDICT_ALLOW) {
		snprintf(why, whylen, "the policy does not allow %s:%u",
		    req->host, req->port);
		return -1;
	}
	if (pi.token_url != NULL && req->token_family != AF_INET &&
	    req->token_family != AF_INET6) {
		snprintf(why, whylen, "credential %s: %s without the token "
		    "endpoint's address", pi.cred, pi.type_name);
		return -1;
	}
	if (strlcpy(ex->sandbox, sandbox, sizeof(ex->sandbox)) >=
	    sizeof(ex->sandbox) ||
	    strlcpy(ex->cred, pi.cred, sizeof(ex->cred)) >= sizeof(ex->cred)) {
		snprintf(why, whylen, "sandbox or credential name too long");
		return -1;
	}
	snprintf(ex->placeholder, sizeof(ex->placeholder), "%s%.*s",
	    PH_PREFIX, PH_RANDLEN, phs->body[req->cred]);
	/* the name as the policy matched it: lower case, no final dot */
	if (strlcpy(ex->host, req->host, sizeof(ex->host)) >=
	    sizeof(ex->host)) {
		snprintf(why, whylen, "host too long");
		return -1;
	}
	for (char *p = ex->host; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p += 'a' - 'A';
	if (ex->host[0] != '\0' && ex->host[strlen(ex->host) - 1] == '.')
		ex->host[strlen(ex->host) - 1] = '\0';
	ex->port = req->port;
	ex->family = req->family;
	ex->inj_type = pi.type;
	memcpy(ex->addr, req->addr, sizeof(ex->addr));
	/* the policy's limits fit these (policy_int.h) */
	strlcpy(ex->inj_name, pi.name != NULL ? pi.name : pi.user != NULL ?
	    pi.user : "", sizeof(ex->inj_name));
	strlcpy(ex->inj_value, pi.value != NULL ? pi.value : "",
	    sizeof(ex->inj_value));
	strlcpy(ex->region, pi.region != NULL ? pi.region : "",
	    sizeof(ex->region));
	strlcpy(ex->service, pi.service != NULL ? pi.service : "",
	    sizeof(ex->service));
	if (pi.token_url != NULL) {
		strlcpy(ex->token_url, pi.token_url, sizeof(ex->token_url));
		strlcpy(ex->client_id, pi.client_id != NULL ? pi.client_id :
		    "", sizeof(ex->client_id));
		ex->token_family = req->token_family;
		memcpy(ex->token_addr, req->token_addr, sizeof(ex->token_addr));
		ex->token_port = pi.token_port;
	}
	*cafile = d.cafile;
	return 0;
}
