/*
 * What lenscredd's exchange writes into a request in place of the
 * sandbox's placeholder: pure functions of the request, the secret and
 * the injection (no I/O, no clock, no logging), so that each is tested
 * alone (regress/unit/sign.c, regress/sign-botocore.t).
 *
 * Every result is malloc'd (or a fixed buffer the caller gives) and
 * every intermediate that held the secret is zeroed before it is freed;
 * a result is refused (-1, why says what) rather than written when it
 * would carry CR, LF or NUL into a request head.  lenscredd(8) is the
 * reference of the hmac canonical string and of the SigV4 rules.
 */
#ifndef LENSCREDD_SIGN_H
#define LENSCREDD_SIGN_H

#include <stddef.h>

#define SIGN_HEX256	(2 * 32 + 1)	/* a SHA-256 in hex, NUL */
#define SIGN_UNSIGNED	"UNSIGNED-PAYLOAD"
#define SIGN_HMAC_ALGO	"LENS-HMAC-SHA256"
#define SIGN_HMAC_TSHDR	"X-Lens-Timestamp"
#define SIGN_MAXOUT	8192		/* the longest value made */

struct sign_hdr {
	const char	*name;
	const char	*value;
};

/* a request as the proxy parsed it: the wire's path and query */
struct sign_req {
	const char	*method;
	const char	*path;		/* from '/' to before '?' */
	const char	*query;		/* after '?', NULL or "" if none */
	const struct sign_hdr *hdr;	/* in order, repeats allowed */
	size_t		 nhdr;
	const char	*payload;	/* hex SHA-256 of the body or
					   SIGN_UNSIGNED (sigv4) */
};

struct sign_aws {
	const char	*akid;		/* the access key id */
	const char	*secret;	/* the secret access key */
	const char	*region;
	const char	*service;
	const char	*amzdate;	/* YYYYMMDDTHHMMSSZ */
};

/* hex SHA-256 of len bytes (for the body hash of sigv4 and hmac) */
void	sign_sha256_hex(const void *, size_t, char out[SIGN_HEX256]);

/*
 * The template tmpl with {secret} replaced by the secret (slen bytes):
 * "{{" and "}}" are a literal brace, any other brace is refused, as is
 * a result with a control character other than HTAB.
 */
int	sign_template(const char *tmpl, const char *secret, size_t slen,
	    char **out, char *why, size_t whylen);

/*
 * The query (after '?', NULL for none) with every parameter named param
 * taken out and param=VALUE appended, VALUE percent-encoded (all but
 * A-Z a-z 0-9 - . _ ~).  "" when the result is empty is impossible.
 */
int	sign_query(const char *query, const char *param, const char *value,
	    size_t vlen, char **out, char *why, size_t whylen);

/* "Basic " base64(user ":" secret); user: no ':' and no control */
int	sign_basic(const char *user, const char *secret, size_t slen,
	    char **out, char *why, size_t whylen);

/*
 * hmac: the canonical string of req at timestamp (decimal seconds) and
 * its HMAC-SHA256 under key in hex.  req->payload is the body's hash.
 */
char	*sign_hmac_string(const struct sign_req *, const char *timestamp,
	    char *why, size_t whylen);
int	sign_hmac(const void *key, size_t klen, const struct sign_req *,
	    const char *timestamp, char out[SIGN_HEX256], char *why,
	    size_t whylen);

/*
 * AWS Signature Version 4: the canonical request of req (its headers
 * must hold host and x-amz-date equal to aws->amzdate), and the value
 * of the Authorization header.  Service "s3" takes the path decoded and
 * encoded once, any other service the path as sent, dot segments and
 * empty segments removed, encoded again.
 */
char	*sign_sigv4_creq(const struct sign_aws *, const struct sign_req *,
	    char **signedhdrs, char *why, size_t whylen);
int	sign_sigv4(const struct sign_aws *, const struct sign_req *,
	    char **authz, char *why, size_t whylen);

#endif
