/*
 * oauth2Refresh in lenscredd's exchange: the stored credential's value
 * is an OAuth 2.0 refresh token (RFC 6749 section 6), optionally
 * followed by one LF and the client's secret; the exchange trades it at
 * the policy's tokenUrl for short-lived access tokens, caches each until
 * shortly before it expires, and injects the access token.  The refresh
 * token and the client secret never leave lenscredd: they go only to the
 * token endpoint, over the exchange's verified TLS.
 *
 * Pure parts (no I/O; the clock and the fetch are the caller's, so that
 * each is tested alone: regress/unit/oauth.c, regress/fuzz/oauth_token.c):
 *   - the token URL (oauth_url), the stored value (oauth_value),
 *   - the token request, head and form body (oauth_request),
 *   - the strict token response parser (oauth_parse),
 *   - the cache with single-flight (oauth_get, oauth_fetched).
 * lenscredd(8) is the reference of the rules.
 */
#ifndef LENSCREDD_OAUTH_H
#define LENSCREDD_OAUTH_H

#include <stddef.h>
#include <stdint.h>

#define OAUTH_TOKEN_MAX		4096	/* an access or refresh token */
#define OAUTH_SECRET_MAX	1024	/* a client secret */
#define OAUTH_CLIENTID_MAX	127	/* a policy's clientId */
#define OAUTH_URL_MAX		511	/* a policy's tokenUrl */
#define OAUTH_RESP_MAX		65536	/* a token response body */
#define OAUTH_EXPIRY_DEFAULT	3600	/* expires_in left out */
#define OAUTH_EXPIRY_MAX	86400	/* expires_in, at most */
#define OAUTH_SKEW		30	/* a token is dropped this early */
#define OAUTH_RETRY_SECS	5	/* a failed refresh is not retried
					   sooner */
#define OAUTH_MAXENTRY		256	/* tokens cached */

/* a tokenUrl: https://HOST[:PORT][/PATH][?QUERY] */
struct oauth_url {
	char		 host[256];	/* lowercased; an IPv6 without [] */
	int		 is_ip;
	int		 is_v6;
	uint16_t	 port;		/* 443 unless given */
	char		 target[OAUTH_URL_MAX + 2];	/* "/PATH?QUERY" */
};
int	oauth_url(const char *url, struct oauth_url *, char *why,
	    size_t whylen);

/* the stored value: REFRESH [LF CLIENT_SECRET], both printable ASCII */
struct oauth_value {
	const char	*refresh;	/* into the value, not terminated */
	size_t		 rlen;
	const char	*secret;	/* NULL: none */
	size_t		 slen;
};
int	oauth_value(const void *value, size_t len, struct oauth_value *,
	    char *why, size_t whylen);

/*
 * The token request as written to the endpoint: an HTTP/1.1 POST head
 * (Host, Content-Type application/x-www-form-urlencoded, Accept,
 * Content-Length, Connection: close) and its form body, grant_type=
 * refresh_token, refresh_token, client_id (if not "") and client_secret
 * (if the value has one).  malloc'd, *len bytes; the caller zeroes it
 * before it frees it (it holds the refresh token).
 */
char	*oauth_request(const struct oauth_url *, const struct oauth_value *,
	    const char *client_id, size_t *len, char *why, size_t whylen);

/* a token response, read */
struct oauth_token {
	char		 access[OAUTH_TOKEN_MAX + 1];
	char		 refresh[OAUTH_TOKEN_MAX + 1];	/* "": none given */
	uint32_t	 expires_in;	/* seconds, 1 to OAUTH_EXPIRY_MAX */
};

/*
 * The endpoint's answer: status and body (the body decoded of its
 * framing).  0 and tok filled when status is 200 and the body is one
 * JSON object (no duplicate member, nothing after it) with access_token
 * (1 to OAUTH_TOKEN_MAX bytes from '!' to '~'), token_type "Bearer" (any
 * case), expires_in an integer 1 to OAUTH_EXPIRY_MAX (left out:
 * OAUTH_EXPIRY_DEFAULT) and optionally refresh_token (as access_token);
 * other members are ignored.  Else -1 and why (for an error answer its
 * "error" code, when it is a plain one).  The caller zeroes tok.
 */
int	oauth_parse(int status, const void *body, size_t len,
	    struct oauth_token *tok, char *why, size_t whylen);

/*
 * The cache: one access token per (credential, tokenUrl, clientId),
 * usable until OAUTH_SKEW seconds (a quarter of expires_in when that is
 * under 120) before it expires, counted from when its request started.
 * One refresh at a time for a key: whoever asks meanwhile waits for it.
 * A failed refresh fails every waiter, and every request for the next
 * OAUTH_RETRY_SECS, with its reason; no refresh is started for the key
 * before then.
 */
struct oauth_key {
	char		 cred[65];
	char		 token_url[OAUTH_URL_MAX + 1];
	char		 client_id[OAUTH_CLIENTID_MAX + 1];
};

struct oauth_cache;
struct oauth_entry;
struct oauth_waiter;

struct oauth_ops {
	/* seconds of a monotonic clock */
	int64_t	(*now)(void *arg);
	/*
	 * Start one refresh for key: 0, and later exactly one
	 * oauth_fetched(e) (never from inside this call), unless the
	 * cache is freed first; or -1 with why, nothing started.
	 */
	int	(*fetch)(void *arg, struct oauth_entry *e,
		    const struct oauth_key *key, char *why, size_t whylen);
	void	*arg;
};

/*
 * A refresh ended: the access token (NULL: it failed, why says why; the
 * why of a success may be NULL).  Each waiter is called once, with the
 * token (valid only during the call) or NULL and the reason.
 */
typedef void	(*oauth_cb)(void *arg, const char *access, const char *why);

struct oauth_cache *oauth_cache_new(const struct oauth_ops *);
void	oauth_cache_free(struct oauth_cache *);	/* waiters not called */

enum oauth_state { OAUTH_HAVE, OAUTH_WAIT, OAUTH_FAILED };
/*
 * The access token for key: OAUTH_HAVE with it copied into tok (a
 * buffer of OAUTH_TOKEN_MAX + 1), OAUTH_WAIT (cb will be called; *w
 * cancels it), or OAUTH_FAILED with why (a refresh failed less than
 * OAUTH_RETRY_SECS ago, or could not start, or the cache is full).
 */
enum oauth_state oauth_get(struct oauth_cache *, const struct oauth_key *,
	    char *tok, oauth_cb cb, void *cbarg, struct oauth_waiter **w,
	    char *why, size_t whylen);
/* a waiter that no longer wants its token (its exchange ended) */
void	oauth_cancel(struct oauth_cache *, struct oauth_waiter *);
/* the refresh of e ended: tok read (its refresh_token is not kept) or
 * NULL and why; every waiter is called */
void	oauth_fetched(struct oauth_cache *, struct oauth_entry *,
	    const struct oauth_token *tok, const char *why);
/* the key of an entry (for the fetcher) */
const struct oauth_key *oauth_entry_key(const struct oauth_entry *);

#endif
