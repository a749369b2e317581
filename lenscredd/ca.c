/*
 * The certificates of the sandbox CAs, made in the vault with
 * libcrypto: ECDSA P-256 keys, SHA-256 signatures.
 *
 * A CA's private key lives, between uses, as its 32-byte scalar in the
 * vault's sodium_malloc memory.  For one signature it becomes an
 * EVP_PKEY whose private part OpenSSL keeps in its secure heap (set up
 * by ca_init: locked, guarded, not dumped, cleared on free) and which
 * is freed at once.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "grammar.h"
#include "lenscredd.h"
#include "log.h"

static void
ssl_err(char *err, size_t errlen, const char *what)
{
	unsigned long	 e = ERR_get_error();
	char		 buf[160];

	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	snprintf(err, errlen, "%s: %s", what, e != 0 ? buf : "failed");
}

void
ca_init(void)
{
	uint8_t		 key[CA_SCALAR_SIZE];
	X509		*ca;
	char		*chain, *kp, err[256];
	size_t		 cl, kl;
	time_t		 na;

	/* before anything that allocates secure memory */
	if (CRYPTO_secure_malloc_init(64 * 1024, 32) == 0)
		fatalx("OpenSSL secure heap: cannot set it up");
	if (OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL) != 1)
		fatalx("OpenSSL: cannot initialize");
	/*
	 * Warm up: seed the RNG and fetch every algorithm once, while
	 * the files they may need are still in sight (before chroot).
	 */
	if (ca_make("warmup", key, &ca, err, sizeof(err)) == -1 ||
	    ca_leaf(key, ca, "warmup.test", 0, &chain, &cl, &kp, &kl, &na,
	    err, sizeof(err)) == -1)
		fatalx("OpenSSL self-test: %s", err);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_clear_free(kp, kl);
	free(chain);
	X509_free(ca);
}

int
ca_name_check(const char *name, char *out, size_t outlen, int *is_ip,
    char *err, size_t errlen)
{
	unsigned char	 addr[sizeof(struct in6_addr)];
	char		 back[INET6_ADDRSTRLEN];
	size_t		 i;
	int		 af;

	back[0] = '\0';
	for (af = AF_INET; ; af = AF_INET6) {
		if (inet_pton(af, name, addr) == 1) {
			/* one spelling per address: the canonical one */
			if (inet_ntop(af, addr, back, sizeof(back)) == NULL ||
			    strcmp(back, name) != 0) {
				snprintf(err, errlen, "name %s: an IP address "
				    "not in its canonical form (%s)", name,
				    back);
				return -1;
			}
			*is_ip = 1;
			return strlcpy(out, name, outlen) < outlen ? 0 : -1;
		}
		if (af == AF_INET6)
			break;
	}
	if (gr_hostname("name", name, err, errlen) == -1)
		return -1;
	if (strlen(name) >= outlen) {
		snprintf(err, errlen, "name too long");
		return -1;
	}
	for (i = 0; name[i] != '\0'; i++)
		out[i] = tolower((unsigned char)name[i]);
	out[i] = '\0';
	*is_ip = 0;
	return 0;
}

/* a random positive 128-bit serial */
static int
set_serial(X509 *x)
{
	unsigned char	 r[16];
	BIGNUM		*bn;
	int		 ok;

	if (RAND_bytes(r, sizeof(r)) != 1)
		return 0;
	r[0] &= 0x7f;
	r[0] |= 0x40;	/* positive, and all 16 bytes significant */
	if ((bn = BN_bin2bn(r, sizeof(r), NULL)) == NULL)
		return 0;
	ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok;
}

static int
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX	 ctx;
	X509_EXTENSION	*e;
	int		 ok;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if ((e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return 0;
	ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok;
}

/* the scalar of a key pair, into key */
static int
get_scalar(EVP_PKEY *pk, uint8_t key[CA_SCALAR_SIZE])
{
	BIGNUM	*d = NULL;
	int	 ok;

	if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1)
		return 0;
	ok = BN_bn2binpad(d, key, CA_SCALAR_SIZE) == CA_SCALAR_SIZE;
	BN_clear_free(d);
	return ok;
}

/* the key pair of key and the public key in cert, for one signature */
static EVP_PKEY *
pkey_of(const uint8_t key[CA_SCALAR_SIZE], X509 *cert)
{
	unsigned char	 pub[133];
	size_t		 publen;
	OSSL_PARAM_BLD	*bld;
	OSSL_PARAM	*params = NULL;
	EVP_PKEY_CTX	*ctx = NULL;
	EVP_PKEY	*pk = NULL;
	BIGNUM		*d;

	if (EVP_PKEY_get_octet_string_param(X509_get0_pubkey(cert),
	    OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &publen) != 1)
		return NULL;
	if ((d = BN_secure_new()) == NULL)
		return NULL;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    BN_bin2bn(key, CA_SCALAR_SIZE, d) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    "prime256v1", 0) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    pub, publen) != 1 ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_KEYPAIR, params) != 1)
		pk = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(d);
	return pk;
}

static int
set_validity(X509 *x, time_t from, time_t to)
{
	return ASN1_TIME_set(X509_getm_notBefore(x), from) != NULL &&
	    ASN1_TIME_set(X509_getm_notAfter(x), to) != NULL;
}

int
ca_make(const char *sandbox, uint8_t key[CA_SCALAR_SIZE], X509 **out,
    char *err, size_t errlen)
{
	EVP_PKEY	*pk;
	X509		*x;
	X509_NAME	*n;
	char		 cn[128];
	time_t		 now = time(NULL);

	*out = NULL;
	if ((pk = EVP_EC_gen("P-256")) == NULL) {
		ssl_err(err, errlen, "CA key");
		return -1;
	}
	/* a CN holds 64 characters: the sandbox (a 64-digit id fits) */
	snprintf(cn, sizeof(cn), "%s", sandbox);
	if ((x = X509_new()) == NULL || X509_set_version(x, X509_VERSION_3)
	    != 1 || !set_serial(x) ||
	    !set_validity(x, now - CRED_SKEW_SECS,
	    now + (time_t)CRED_CA_DAYS * 86400) ||
	    (n = X509_get_subject_name(x)) == NULL ||
	    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
	    (const unsigned char *)"Lens sandbox CA", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, n) != 1 || X509_set_pubkey(x, pk) != 1 ||
	    !add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0")
	    || !add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    !add_ext(x, x, NID_subject_key_identifier, "hash") ||
	    X509_sign(x, pk, EVP_sha256()) == 0 || !get_scalar(pk, key)) {
		ssl_err(err, errlen, "CA certificate");
		X509_free(x);
		EVP_PKEY_free(pk);
		OPENSSL_cleanse(key, CA_SCALAR_SIZE);
		return -1;
	}
	EVP_PKEY_free(pk);
	*out = x;
	return 0;
}

int
ca_check(const uint8_t key[CA_SCALAR_SIZE], X509 *cert)
{
	EVP_PKEY	*pk;
	int		 ok;

	if ((pk = pkey_of(key, cert)) == NULL)
		return 0;
	ok = X509_check_private_key(cert, pk) == 1 &&
	    X509_check_ca(cert) == 1;
	EVP_PKEY_free(pk);
	ERR_clear_error();
	return ok;
}

static char *
bio_take(BIO *b, size_t *len)
{
	char	*p, *out;
	long	 n;

	if ((n = BIO_get_mem_data(b, &p)) <= 0 ||
	    (out = malloc((size_t)n + 1)) == NULL)
		return NULL;
	memcpy(out, p, (size_t)n);
	out[n] = '\0';
	*len = (size_t)n;
	return out;
}

char *
ca_pem(X509 *cert, size_t *len)
{
	BIO	*b;
	char	*out = NULL;

	if ((b = BIO_new(BIO_s_mem())) != NULL &&
	    PEM_write_bio_X509(b, cert) == 1)
		out = bio_take(b, len);
	BIO_free(b);
	return out;
}

time_t
ca_notafter(X509 *cert)
{
	struct tm	 tm;

	if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1)
		return 0;
	return timegm(&tm);
}

unsigned char *
ca_der(X509 *cert, size_t *len)
{
	unsigned char	*der = NULL;
	int		 n;

	if ((n = i2d_X509(cert, &der)) <= 0)
		return NULL;
	*len = (size_t)n;
	return der;
}

X509 *
ca_from_der(const unsigned char *der, size_t len)
{
	const unsigned char	*p = der;
	X509			*x;

	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL ||
	    p != der + len) {
		X509_free(x);
		return NULL;
	}
	return x;
}

int
ca_leaf(const uint8_t key[CA_SCALAR_SIZE], X509 *ca, const char *name,
    int is_ip, char **chain, size_t *chainlen, char **keypem,
    size_t *keylen, time_t *notafter, char *err, size_t errlen)
{
	EVP_PKEY	*capk = NULL, *pk = NULL;
	X509		*x = NULL;
	X509_NAME	*n;
	BIO		*b = NULL, *kb = NULL;
	char		 san[300];
	time_t		 now = time(NULL), from, to, caend;
	int		 rc = -1;

	*chain = *keypem = NULL;
	from = now - CRED_SKEW_SECS;
	to = from + CRED_LEAF_SECS;
	caend = ca_notafter(ca);
	if (caend <= now + 60) {
		snprintf(err, errlen, "the sandbox CA expired (or is about "
		    "to); destroy it and create a new one");
		return -1;
	}
	if (to > caend)
		to = caend;
	snprintf(san, sizeof(san), "%s:%s", is_ip ? "IP" : "DNS", name);
	if ((pk = EVP_EC_gen("P-256")) == NULL ||
	    (capk = pkey_of(key, ca)) == NULL ||
	    (x = X509_new()) == NULL ||
	    X509_set_version(x, X509_VERSION_3) != 1 || !set_serial(x) ||
	    !set_validity(x, from, to) ||
	    (n = X509_get_subject_name(x)) == NULL ||
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)name, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, X509_get_subject_name(ca)) != 1 ||
	    X509_set_pubkey(x, pk) != 1 ||
	    !add_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE") ||
	    !add_ext(x, ca, NID_key_usage, "critical,digitalSignature") ||
	    !add_ext(x, ca, NID_ext_key_usage, "serverAuth") ||
	    !add_ext(x, ca, NID_subject_alt_name, san) ||
	    !add_ext(x, ca, NID_subject_key_identifier, "hash") ||
	    !add_ext(x, ca, NID_authority_key_identifier, "keyid:always") ||
	    X509_sign(x, capk, EVP_sha256()) == 0) {
		ssl_err(err, errlen, "leaf certificate");
		goto done;
	}
	EVP_PKEY_free(capk);
	capk = NULL;
	if ((b = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509(b, x) != 1 || PEM_write_bio_X509(b, ca) != 1 ||
	    (*chain = bio_take(b, chainlen)) == NULL ||
	    (kb = BIO_new(BIO_s_secmem())) == NULL ||
	    PEM_write_bio_PrivateKey(kb, pk, NULL, NULL, 0, NULL, NULL) != 1 ||
	    (*keypem = bio_take(kb, keylen)) == NULL) {
		ssl_err(err, errlen, "leaf PEM");
		free(*chain);
		*chain = NULL;
		goto done;
	}
	*notafter = to;
	rc = 0;
done:
	BIO_free(b);
	BIO_free(kb);
	X509_free(x);
	EVP_PKEY_free(capk);
	EVP_PKEY_free(pk);
	return rc;
}
