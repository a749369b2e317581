/*
 * Records sealed with lenscredd's master key, one file each: the
 * sandbox CAs (ca/SANDBOX.ca) and the stored credentials
 * (secrets/NAME).  A file is
 *
 *	magic	8 bytes, "LENS" KIND VERSION "\n": "LENSCA1\n", "LENSCR1\n"
 *	nonce	crypto_secretbox_NONCEBYTES random bytes, new at each write
 *	box	crypto_secretbox_easy (XSalsa20-Poly1305) under the master
 *		key of:
 *		  the magic again (kinds with .inner): a record of one kind
 *		    never opens as one of another
 *		  the record's name, NUL-padded to .namesize: it must be the
 *		    name of the file, so that files cannot be swapped
 *		  the body, .minbody to .maxbody bytes
 *
 * The plaintext is only ever in sodium_malloc memory, zeroed when
 * freed.  Nothing here logs or dies: the parser takes any bytes
 * (regress/fuzz/seal.c) and says what is wrong.
 */
#ifndef LENSCREDD_SEAL_H
#define LENSCREDD_SEAL_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#define SEAL_MAGICLEN	8

struct seal_kind {
	const char	*magic;		/* SEAL_MAGICLEN bytes */
	const char	*what;		/* "CA file", "credential record" */
	size_t		 namesize;	/* the name field, NUL included */
	size_t		 minbody, maxbody;
	int		 inner;		/* the magic is in the box too */
};

/* the two kinds lenscredd keeps */
#define SEAL_MAXDER	4096	/* a CA certificate, DER */
#define SEAL_TIMES	16	/* a credential's created and rotated */
/* "LENSCA1": SANDBOX.ca, body: the CA key's scalar, its certificate */
extern const struct seal_kind seal_ca;
/* "LENSCR1": NAME, body: created, rotated (big-endian), the value */
extern const struct seal_kind seal_cred;

/* the most a file of kind k is */
size_t	seal_maxfile(const struct seal_kind *k);

/*
 * The file of a record named name with body: malloc'd, its length in
 * *len (the caller frees it; it holds nothing in clear but the magic).
 * NULL when out of memory or name does not fit.
 */
uint8_t	*seal_make(const struct seal_kind *, const char *name,
	    const uint8_t *body, size_t bodylen, const uint8_t *key,
	    size_t *len);

/*
 * Open file (len bytes) as the record of kind k named name: 0 with its
 * body in sodium_malloc memory (*body, *bodylen; sodium_free it), or
 * -1 with err saying what is wrong with it (the caller names the file).
 */
int	seal_open(const struct seal_kind *, const char *name,
	    const uint8_t *file, size_t len, const uint8_t *key,
	    uint8_t **body, size_t *bodylen, char *err, size_t errlen);

/*
 * Replace dir/dst with data atomically: written to dir/tmp, fsync,
 * renamed over dst, the directory fsynced.  dirfd is dir, dirname
 * names it in errors.  0, or -1 with err (tmp removed, dst as it was).
 */
int	seal_write(int dirfd, const char *dirname, const char *tmp,
	    const char *dst, const void *data, size_t len, char *err,
	    size_t errlen);

/*
 * Read dir/name (not a symbolic link) into buf of max + 1 bytes: its
 * length, or -1 with err.  A file longer than max reads as max + 1
 * bytes (seal_open then says it is too long).
 */
ssize_t	seal_read(int dirfd, const char *dirname, const char *name,
	    uint8_t *buf, size_t max, char *err, size_t errlen);

#endif
