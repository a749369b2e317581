/*
 * Registries over the OCI distribution API (registry.c): the parent's
 * side (the reference, the credentials) and the fetch process's (the
 * resolver, the HTTPS client).
 */
#ifndef LENSVMM_REGISTRY_H
#define LENSVMM_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "ocispec.h"
#include "seccomp_filter.h"

#define REG_CREDS_FILE	"/etc/lens/registries.json"
#define REG_CA_MAX	(4u << 20)	/* a trust store, bytes */

struct fetch_conf;

/* parent: HOST/REPO[:TAG][@sha256:HEX] into fc (host, repo, reference,
 * name, tag); -1 with err naming the full form */
int	registry_source(const char *source, struct fetch_conf *fc,
	    char *err, size_t errlen);
/* parent: the base64 USER:PASSWORD for host from file into auth ("" if
 * none); -1 with err if file is not root's with mode 0600 or malformed */
int	registry_creds(const char *file, const char *host, char *auth,
	    size_t authlen, char *err, size_t errlen);

/* fetch process: the resolver's loop on socket s (never returns) */
void	registry_resolver(int s) __attribute__((noreturn));
/* the client: the API version check and the authentication */
int	registry_open(const struct fetch_conf *, int resolver,
	    const void *ca, size_t calen, char *err, size_t errlen);
/* the manifest or index of reference (tag or digest), verified and
 * stored; *buf to free; *kind OCI_KIND_* by its Content-Type */
int	registry_manifest(const char *reference, void **buf, size_t *len,
	    char digest[OCI_DIGEST_SIZE], int *kind, char *err,
	    size_t errlen);
/* a blob streamed into the store: 1 stored already, 0 now, -1 err */
int	registry_blob(const struct oci_descriptor *,
	    void (*progress)(void *, uint64_t), void *arg, char *err,
	    size_t errlen);

#endif
