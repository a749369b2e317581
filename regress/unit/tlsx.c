/*
 * lensnetd/tlsx.c: leaves (built from a chain and key as lenscredd
 * sends them, refused for another name), the leaf cache (per sandbox
 * and name, kept until 10 minutes before notAfter, at most 512, least
 * recently used out first, dropped with its sandbox), and the server
 * side's SNI and ALPN rules, over a real in-memory handshake.
 */
#include <sys/socket.h>

#include <errno.h>
#include <event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tap.h"
#include "tlsx.h"

static EVP_PKEY	*cakey;
static X509	*cacert;

static X509 *
mkcert(EVP_PKEY *key, const char *cn, const char *san, int ca)
{
	X509		*x = X509_new();
	X509V3_CTX	 ctx;
	X509_EXTENSION	*e;
	char		 buf[300];

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), rand() + 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -300);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, ca ? X509_get_subject_name(x) :
	    X509_get_subject_name(cacert));
	X509V3_set_ctx(&ctx, ca ? x : cacert, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
	    ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	if (san != NULL) {
		snprintf(buf, sizeof(buf), "DNS:%s", san);
		e = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, buf);
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	X509_sign(x, ca ? key : cakey, EVP_sha256());
	return x;
}

static char *
pem_of(X509 *a, X509 *b, EVP_PKEY *k, size_t *len)
{
	BIO	*bio = BIO_new(BIO_s_mem());
	char	*p, *out;
	long	 n;

	if (a != NULL)
		PEM_write_bio_X509(bio, a);
	if (b != NULL)
		PEM_write_bio_X509(bio, b);
	if (k != NULL)
		PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL);
	n = BIO_get_mem_data(bio, &p);
	out = malloc(n);
	memcpy(out, p, n);
	*len = n;
	BIO_free(bio);
	return out;
}

/* a leaf as lenscredd would send it, for name (cert for certname) */
static struct tlsx_leaf *
leaf(const char *name, const char *certname, time_t notafter, char *err)
{
	EVP_PKEY		*k = EVP_EC_gen("P-256");
	X509			*x = mkcert(k, certname, certname, 0);
	struct tlsx_leaf	*l;
	char			*chain, *key;
	size_t			 clen, klen;

	chain = pem_of(x, cacert, NULL, &clen);
	key = pem_of(NULL, NULL, k, &klen);
	l = tlsx_leaf_new(name, chain, clen, key, klen, notafter, err, 200);
	free(chain);
	free(key);
	X509_free(x);
	EVP_PKEY_free(k);
	return l;
}

/*
 * A handshake between a client offering sni and alpn (NULL: none) and
 * the server side of l for want: 1 when it completes, with the ALPN
 * chosen in *chosen.
 */
static int
handshake(struct tlsx_leaf *l, const char *want, const char *sni,
    const unsigned char *alpn, size_t alpnlen, char *chosen, size_t chlen)
{
	SSL_CTX			*cctx = SSL_CTX_new(TLS_client_method());
	SSL			*c, *s;
	int			 sv[2], i, cr = 0, sr = 0;
	short			 w;
	char			 err[300];
	const unsigned char	*p;
	unsigned int		 plen;

	socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv);
	c = SSL_new(cctx);
	SSL_set_fd(c, sv[0]);
	if (sni != NULL)
		SSL_set_tlsext_host_name(c, sni);
	if (alpn != NULL)
		SSL_set_alpn_protos(c, alpn, alpnlen);
	SSL_set_connect_state(c);
	/* the ClientHello is read before: tlsx_accept gets it as peeked */
	(void)SSL_do_handshake(c);
	{
		char	 pre[4096];
		ssize_t	 n = read(sv[1], pre, sizeof(pre));

		s = tlsx_accept(l, sv[1], want, pre, n > 0 ? n : 0);
	}
	for (i = 0; i < 50 && !(cr == 1 && sr == 1); i++) {
		if (sr != 1 && (sr = tlsx_handshake(s, &w, err, sizeof(err))) ==
		    -1)
			break;
		if (cr != 1 && (cr = SSL_do_handshake(c)) != 1) {
			int e = SSL_get_error(c, cr);

			if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
				break;
		}
	}
	chosen[0] = '\0';
	SSL_get0_alpn_selected(c, &p, &plen);
	if (plen > 0 && plen < chlen) {
		memcpy(chosen, p, plen);
		chosen[plen] = '\0';
	}
	i = cr == 1 && sr == 1;
	SSL_free(c);
	SSL_free(s);
	SSL_CTX_free(cctx);
	close(sv[0]);
	close(sv[1]);
	return i;
}

int
main(void)
{
	struct tlsx_leaf	*l, *l2, *got;
	char			 err[300], alpn[32];
	time_t			 now = time(NULL);
	int			 i, n;

	tap_plan(17);
	if (tlsx_preinit(NULL, err, sizeof(err)) == -1)
		ok(0, "tlsx_preinit: %s", err);
	cakey = EVP_EC_gen("P-256");
	cacert = mkcert(cakey, "unit CA", NULL, 1);

	l = leaf("api.test", "api.test", now + 86400, err);
	ok(l != NULL, "a leaf from a chain and PKCS#8 key (%s)",
	    l == NULL ? err : "ok");
	l2 = leaf("api.test", "other.test", now + 86400, err);
	ok(l2 == NULL && strstr(err, "not for api.test") != NULL,
	    "a leaf for another name is refused (%s)", err);
	ok(tlsx_leaf_new("x.test", "junk", 4, "junk", 4, now, err,
	    sizeof(err)) == NULL, "junk PEM is refused (%s)", err);

	/* the server side */
	ok(handshake(l, "api.test", "api.test", (const unsigned char *)
	    "\x02h2\x08http/1.1", 12, alpn, sizeof(alpn)) &&
	    strcmp(alpn, "http/1.1") == 0,
	    "SNI api.test, ALPN h2,http/1.1: handshake, http/1.1 (%s)", alpn);
	ok(handshake(l, "api.test", "api.test", (const unsigned char *)
	    "\x02h2", 3, alpn, sizeof(alpn)) && alpn[0] == '\0',
	    "ALPN h2 only: handshake, no ALPN (never h2)");
	ok(!handshake(l, "api.test", NULL, NULL, 0, alpn, sizeof(alpn)),
	    "no SNI: refused");
	ok(!handshake(l, "api.test", "evil.test", NULL, 0, alpn,
	    sizeof(alpn)), "SNI evil.test for api.test: refused");
	ok(handshake(l, "api.test", "API.test", NULL, 0, alpn, sizeof(alpn)),
	    "SNI in another case: the same name");

	/* the cache */
	tlsx_cache_put(1, l, now);
	got = tlsx_cache_get(1, "api.test", now);
	ok(got == l, "kept for sandbox 1");
	tlsx_leaf_unref(got);
	ok(tlsx_cache_get(2, "api.test", now) == NULL,
	    "not for sandbox 2");
	ok(tlsx_cache_get(1, "api.test", now + 86400 - 599) == NULL &&
	    tlsx_cache_count() == 0,
	    "gone 10 minutes before notAfter (and dropped)");
	tlsx_cache_put(1, l, now);
	tlsx_cache_drop(1);
	ok(tlsx_cache_count() == 0, "dropped with its sandbox");
	tlsx_cache_put(1, l, now + 86400 - 500);
	ok(tlsx_cache_count() == 0, "a leaf about to expire is not kept");
	tlsx_leaf_unref(l);

	/* 600 names for 513..: at most 512, the least recently used out */
	n = 0;
	for (i = 0; i < 600; i++) {
		char	 name[32];

		snprintf(name, sizeof(name), "h%d.test", i);
		if ((l = leaf(name, name, now + 86400, err)) == NULL)
			break;
		tlsx_cache_put(3, l, now);
		tlsx_leaf_unref(l);
		if (i == 500) {	/* h0 used again: kept */
			got = tlsx_cache_get(3, "h0.test", now);
			n = got != NULL;
			tlsx_leaf_unref(got);
		}
	}
	ok(i == 600 && tlsx_cache_count() == 512, "600 leaves: 512 kept (%zu)",
	    tlsx_cache_count());
	got = tlsx_cache_get(3, "h0.test", now);
	ok(n && got != NULL, "h0, used after it was put, is still there");
	tlsx_leaf_unref(got);
	got = tlsx_cache_get(3, "h1.test", now);
	ok(got == NULL, "h1, not used since, went first");
	tlsx_leaf_unref(got);
	got = tlsx_cache_get(3, "h599.test", now);
	ok(got != NULL, "the newest is there");
	tlsx_leaf_unref(got);
	tlsx_cache_drop(3);
	X509_free(cacert);
	EVP_PKEY_free(cakey);
	return tap_done();
}
