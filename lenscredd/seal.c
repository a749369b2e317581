/*
 * Records sealed with the master key (seal.h): the one format of the
 * CA files and the credential records, and their atomic write.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lenscredd.h"
#include "seal.h"

#define HDRLEN	(SEAL_MAGICLEN + crypto_secretbox_NONCEBYTES)

const struct seal_kind seal_ca = {
	.magic = "LENSCA1\n",
	.what = "CA file",
	.namesize = CRED_SANDBOX_SIZE,
	.minbody = CA_SCALAR_SIZE + 1,
	.maxbody = CA_SCALAR_SIZE + SEAL_MAXDER,
	.inner = 0,	/* the format CAs had before there were others */
};

const struct seal_kind seal_cred = {
	.magic = "LENSCR1\n",
	.what = "credential record",
	.namesize = CRED_ID_SIZE,
	.minbody = SEAL_TIMES + 1,
	.maxbody = SEAL_TIMES + CRED_SECRET_MAX,
	.inner = 1,
};

static size_t
prefix(const struct seal_kind *k)
{
	return (k->inner ? SEAL_MAGICLEN : 0) + k->namesize;
}

size_t
seal_maxfile(const struct seal_kind *k)
{
	return HDRLEN + crypto_secretbox_MACBYTES + prefix(k) + k->maxbody;
}

uint8_t *
seal_make(const struct seal_kind *k, const char *name, const uint8_t *body,
    size_t bodylen, const uint8_t *key, size_t *len)
{
	uint8_t	*plain, *file, *p;
	size_t	 plen = prefix(k) + bodylen;

	if (strlen(name) >= k->namesize || bodylen < k->minbody ||
	    bodylen > k->maxbody)
		return NULL;
	*len = HDRLEN + crypto_secretbox_MACBYTES + plen;
	if ((plain = sodium_malloc(plen)) == NULL)
		return NULL;
	if ((file = malloc(*len)) == NULL) {
		sodium_free(plain);
		return NULL;
	}
	p = plain;
	if (k->inner) {
		memcpy(p, k->magic, SEAL_MAGICLEN);
		p += SEAL_MAGICLEN;
	}
	memset(p, 0, k->namesize);
	memcpy(p, name, strlen(name));
	memcpy(p + k->namesize, body, bodylen);
	memcpy(file, k->magic, SEAL_MAGICLEN);
	randombytes_buf(file + SEAL_MAGICLEN, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(file + HDRLEN, plain, plen, file + SEAL_MAGICLEN,
	    key);
	sodium_free(plain);	/* zeroes it */
	return file;
}

int
seal_open(const struct seal_kind *k, const char *name, const uint8_t *file,
    size_t len, const uint8_t *key, uint8_t **body, size_t *bodylen,
    char *err, size_t errlen)
{
	uint8_t		*plain;
	const uint8_t	*p;
	size_t		 plen, min = HDRLEN + crypto_secretbox_MACBYTES +
			    prefix(k) + k->minbody;

	*body = NULL;
	*bodylen = 0;
	/* "LENSCR", a version this lenscredd does not read, "\n" */
	if (len >= SEAL_MAGICLEN && memcmp(file, k->magic,
	    SEAL_MAGICLEN - 2) == 0 && file[SEAL_MAGICLEN - 1] == '\n' &&
	    file[SEAL_MAGICLEN - 2] != k->magic[SEAL_MAGICLEN - 2]) {
		snprintf(err, errlen, "a %s of another version (%c; this "
		    "lenscredd reads %c)", k->what,
		    isprint(file[SEAL_MAGICLEN - 2]) ?
		    file[SEAL_MAGICLEN - 2] : '?', k->magic[SEAL_MAGICLEN - 2]);
		return -1;
	}
	if (len < SEAL_MAGICLEN || memcmp(file, k->magic, SEAL_MAGICLEN) != 0) {
		snprintf(err, errlen, "not a %s (no %.*s header)", k->what,
		    SEAL_MAGICLEN - 1, k->magic);
		return -1;
	}
	if (len < min) {
		snprintf(err, errlen, "truncated: %zu bytes, a %s has at least "
		    "%zu", len, k->what, min);
		return -1;
	}
	if (len > seal_maxfile(k)) {
		snprintf(err, errlen, "more than the %zu bytes a %s has at "
		    "most", seal_maxfile(k), k->what);
		return -1;
	}
	plen = len - HDRLEN - crypto_secretbox_MACBYTES;
	if ((plain = sodium_malloc(plen)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (crypto_secretbox_open_easy(plain, file + HDRLEN, len - HDRLEN,
	    file + SEAL_MAGICLEN, key) != 0) {
		sodium_free(plain);
		snprintf(err, errlen, "the master key does not open it "
		    "(damaged, or sealed with another master key)");
		return -1;
	}
	p = plain;
	if (k->inner) {
		if (memcmp(p, k->magic, SEAL_MAGICLEN) != 0) {
			sodium_free(plain);
			snprintf(err, errlen, "sealed as another kind of "
			    "record, not a %s", k->what);
			return -1;
		}
		p += SEAL_MAGICLEN;
	}
	if (memchr(p, '\0', k->namesize) == NULL ||
	    strcmp((const char *)p, name) != 0) {
		sodium_free(plain);
		snprintf(err, errlen, "sealed for another name, not %s "
		    "(a file renamed or copied)", name);
		return -1;
	}
	*bodylen = plen - prefix(k);
	if ((*body = sodium_malloc(*bodylen == 0 ? 1 : *bodylen)) == NULL) {
		sodium_free(plain);
		*bodylen = 0;
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(*body, plain + prefix(k), *bodylen);
	sodium_free(plain);
	return 0;
}

int
seal_write(int dirfd, const char *dirname, const char *tmp, const char *dst,
    const void *data, size_t len, char *err, size_t errlen)
{
	int	 fd;

	if ((fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1) {
		snprintf(err, errlen, "create %s/%s: %s", dirname, tmp,
		    strerror(errno));
		return -1;
	}
	if (write(fd, data, len) != (ssize_t)len || fsync(fd) == -1) {
		snprintf(err, errlen, "write %s/%s: %s", dirname, tmp,
		    errno != 0 ? strerror(errno) : "short write");
		close(fd);
		(void)unlinkat(dirfd, tmp, 0);
		return -1;
	}
	close(fd);
	if (renameat(dirfd, tmp, dirfd, dst) == -1 || fsync(dirfd) == -1) {
		snprintf(err, errlen, "rename to %s/%s: %s", dirname, dst,
		    strerror(errno));
		(void)unlinkat(dirfd, tmp, 0);
		return -1;
	}
	return 0;
}

ssize_t
seal_read(int dirfd, const char *dirname, const char *name, uint8_t *buf,
    size_t max, char *err, size_t errlen)
{
	struct stat	 st;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd;

	/* O_NONBLOCK: a FIFO put there does not hang the reader */
	if ((fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "open %s/%s: %s", dirname, name,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s/%s: not a regular file", dirname,
		    name);
		close(fd);
		return -1;
	}
	/* max + 1: a longer file is seen as one */
	while (len <= max && (n = read(fd, buf + len, max + 1 - len)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "read %s/%s: %s", dirname, name,
			    strerror(errno));
			close(fd);
			return -1;
		}
		len += (size_t)n;
	}
	close(fd);
	return (ssize_t)len;
}
