/*
 * A PEM certificate handed from one daemon to another (a sandbox CA
 * from lenscredd's vault, through lensnetd and lensvmm, to lens-init):
 * opaque bytes to everyone on the way, checked only for its framing.
 */
#ifndef LENS_PEMCERT_H
#define LENS_PEMCERT_H

#include <stddef.h>

#define PEMCERT_MAX	8192	/* one P-256 CA is about 700 bytes */

/*
 * 0 when buf[0..len) is exactly one "-----BEGIN CERTIFICATE-----"
 * block: that line, lines of base64 (at most 76 characters each), the
 * END line, each ending in "\n", at most PEMCERT_MAX bytes, nothing
 * before or after.  -1 with err naming what was wrong.
 */
int	pemcert_check(const void *buf, size_t len, char *err, size_t errlen);
/*
 * 0 when buf[0..len) is one or more such blocks one after another (a
 * caFile's certificates), nothing else; -1 with err naming the first
 * bad one.
 */
int	pemcert_bundle_check(const void *buf, size_t len, char *err,
	    size_t errlen);

#endif
