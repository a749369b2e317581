/*
 * Credential placeholders (issue 13): what a sandbox sees in the
 * environment variable of a credential instead of its value, and the
 * scanner that finds one in bytes on their way out.
 *
 * A placeholder is PH_PREFIX and PH_RANDLEN characters of lower-case
 * base32 (RFC 4648 alphabet a-z 2-7) from getrandom(2): 160 bits, so
 * that no two sandboxes ever share one and none can be guessed.  It is
 * not a secret: the exchange only ever replaces it for the hosts its
 * credential is bound to.
 *
 * The scanner looks for the random part of any placeholder of a set
 * (the prefix is not needed: it is the part a workload can drop),
 * compared without regard to case, in the bytes as they are and in what
 * they decode to, layer after layer up to PHSCAN_DEPTH layers deep:
 *
 *	percent-encoding	%XX, upper or lower hex, any mix of encoded
 *				and plain bytes, %25 taken again a layer down
 *	base64, base64url	any run of 43 or more characters of either
 *				alphabet (whitespace inside a run, as in
 *				MIME lines, is skipped), decoded at each of
 *				the four alignments: a placeholder anywhere
 *				in the encoded string, as in "Basic
 *				base64(user:placeholder)"
 *	hex			runs of 64 or more hex digits, both
 *				alignments
 *	escapes			\uXXXX, \xXX (JSON, JavaScript) and &#N;,
 *				&#xN; (HTML)
 *
 * A request head is also scanned as the concatenation of its
 * request-target and all its header values, so that a placeholder split
 * over two header lines (or folded) is found.  A body is scanned chunk
 * by chunk with the last PHSCAN_WINDOW bytes of the one before: any of
 * the forms above up to that long is found wherever the chunks split it.
 *
 * What this cannot find: a placeholder the workload encrypts, or sends
 * a part per request.  It is the tripwire that audits cred.leak_attempt
 * and refuses what is found; what keeps the secret is that it is never
 * in the sandbox and is only ever put in for a bound host.
 */
#ifndef LENS_PHSCAN_H
#define LENS_PHSCAN_H

#include <stddef.h>

#define PH_PREFIX	"lens-ph-"
#define PH_PREFIXLEN	8
#define PH_RANDLEN	32
#define PH_LEN		(PH_PREFIXLEN + PH_RANDLEN)
#define PH_SIZE		(PH_LEN + 1)

#define PHSCAN_DEPTH	3
#define PHSCAN_WINDOW	1024
#define PHSCAN_MAXSET	64		/* placeholders of one sandbox */

struct phset {
	char	 body[PHSCAN_MAXSET][PH_RANDLEN];	/* lower case */
	size_t	 n;
};

/* a new placeholder from getrandom(2); -1 (errno) if there is none */
int	ph_make(char out[PH_SIZE]);
/* s is a placeholder as ph_make writes them (exactly PH_LEN bytes) */
int	ph_valid(const char *s, size_t len);

/* add placeholder s (ph_valid) to set: -1 if not valid or set full */
int	phset_add(struct phset *, const char *s);

/*
 * 1 if bytes hold a placeholder of set (*which its index, if which is
 * not NULL), 0 if not, -1 when out of memory (to be taken as found).
 */
int	phscan_buf(const struct phset *, const void *, size_t, size_t *which);
/* a request head: request line and header lines, as a whole */
int	phscan_head(const struct phset *, const void *, size_t,
	    size_t *which);

/* a body, chunk after chunk: zero the state before the first */
struct phstream {
	unsigned char	 tail[PHSCAN_WINDOW];
	size_t		 ntail;
};
int	phscan_chunk(const struct phset *, struct phstream *, const void *,
	    size_t, size_t *which);

#endif
