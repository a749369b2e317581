/*
 * lenscredd: the credential broker and sandbox CA.  Three processes:
 *
 *   parent    root, CAP_KILL only once the children run: checks or
 *             makes the state directory and the master key file (it
 *             never reads the key: it hands the vault the open file),
 *             the listening socket; supervises; sends the vault's
 *             audit events (cred.add, cred.rotate, cred.rm: names,
 *             never values) to lensauditd and tells the vault whether
 *             it is reachable: no change to the store without it.
 *   listener  _lenscred, chroot to the empty directory, no file or
 *             network calls but accept: takes connections, checks
 *             SO_PEERCRED (root and the -u users only), checks every
 *             request's type and size, forwards it to the vault and
 *             the answer back.  Holds no key.
 *   vault     _lenscred, chroot to the state directory, no socket,
 *             connect or accept in its seccomp table, not dumpable: the
 *             master key and the sandbox CA keys (sodium_malloc memory,
 *             PROT_NONE between uses), the CA files sealed with the
 *             master key, the signing of leaves; the credential store
 *             (CRED_SECDIR/NAME, sealed likewise, seal.h), whose values
 *             are in clear only there, in sodium_malloc memory, and
 *             given to the exchange alone (VALUE_REQ on its own link).
 *   exchange  _lenscred, chroot to the empty directory, not dumpable,
 *             TCP sockets and connect but no file: the credential
 *             exchange (common/lensexch.h).  Takes each request and
 *             its socketpair end from the listener, the value from the
 *             vault, opens its own verified TLS connection upstream
 *             (the trust store loaded before the chroot), writes the
 *             request with the value injected, relays the response with
 *             echoes of the value scrubbed; audits cred.use through the
 *             parent.  The value is zeroed when the exchange ends.
 */
#ifndef LENSCREDD_H
#define LENSCREDD_H

#include <sys/types.h>
#include <limits.h>
#include <stdint.h>
#include <time.h>

#include "lenscredd_imsg.h"
#include "privsep.h"
#include "sockusers.h"

#define CRED_SOCKET		LENSCREDD_SOCKET
#define CRED_AUDITSOCK		"/run/lens/lensauditd.sock"
#define CRED_AUDIT_SOURCE	"lenscred"
#define CRED_DIR		"/var/lib/lens/cred"
#define CRED_USER		"_lenscred"
#define CRED_CLIENTS		"_lensnet"
#define CRED_MASTERKEY		"master.key"	/* in the state directory */
#define CRED_CADIR		"ca"		/* ditto: one file a CA */
#define CRED_SECDIR		"secrets"	/* ditto: one a credential */
#define CRED_MASTERKEY_SIZE	32		/* crypto_secretbox key */
#define CRED_MAXUSERS		16	/* -u */
#define CRED_MAXCLIENTS		64
#define CRED_MAXINFLIGHT	16	/* requests of one client at the vault */
#define CRED_MAXCA		256	/* sandboxes with a CA */
#define CRED_LEAVES_HOUR	1000	/* leaves per sandbox and hour (-L) */
#define CRED_CA_DAYS		90	/* a CA's validity */
#define CRED_LEAF_SECS		(24 * 3600)	/* a leaf's, at most */
#define CRED_SKEW_SECS		300	/* not-before this far back */

struct credd_conf {
	char			 sock[108];
	char			 dir[PATH_MAX];
	struct privsep_user	 user;
	struct sockusers	 users;		/* -u */
	unsigned int		 leaves_hour;
	int			 listen_fd;
	int			 link[2];	/* listener <-> vault */
	int			 keyfd;		/* master key, the vault's */
	char			 auditsock[108];
	int			 alink[2];	/* parent <-> vault: audit */
	int			 xlink[2];	/* listener <-> exchange */
	int			 vxlink[2];	/* vault <-> exchange */
	int			 xalink[2];	/* parent <-> exchange: audit */
	char			 trust[PATH_MAX];	/* -T, "": the system's */
	pid_t			 parent;
};

/*
 * parent <-> vault over alink, parent <-> exchange over xalink (AUDIT
 * state, USE), vault <-> exchange over vxlink (VALUE_REQ, VALUE); the
 * listener forwards IMSG_CRED_EXCHANGE (with its descriptor) to the
 * exchange over xlink and relays EXCHANGE_OK or ERROR back.
 */
enum credd_imsg {
	IMSG_CREDD_AUDIT = 0x43100001,	/* vault: struct credd_audit */
	IMSG_CREDD_AUDIT_STATE,		/* parent: struct credd_audit_state */
	IMSG_CREDD_VALUE_REQ,		/* exchange: struct credd_value_req */
	IMSG_CREDD_VALUE,		/* vault: credd_value + len bytes */
	IMSG_CREDD_USE,			/* exchange: struct credd_use */
};

#define CREDD_USE_PATH	1024		/* a path audited, at most */

struct credd_value_req {
	uint32_t	 id;		/* the exchange's, echoed */
	char		 name[CRED_ID_SIZE];
	uint8_t		 pad[3];
};

struct credd_value {
	uint32_t	 id;
	uint32_t	 len;		/* the value's bytes that follow */
	char		 err[CRED_ERR_SIZE];	/* len 0: why there is none */
};

/* cred.use: never the value */
struct credd_use {
	char		 sandbox[CRED_SANDBOX_SIZE];
	char		 cred[CRED_ID_SIZE];
	char		 host[CRED_NAME_SIZE];
	char		 method[33];	/* EXCH_METHOD_MAX + 1 */
	uint8_t		 inj_type;
	uint16_t	 port;
	char		 path[CREDD_USE_PATH];	/* cut at a '?' or the size */
	uint8_t		 pad[2];
};

struct credd_audit {
	char		 type[16];	/* "cred.add", NUL-terminated */
	char		 name[CRED_ID_SIZE];
	uint8_t		 pad[3];
	uint32_t	 pid;		/* of the client that asked */
};

struct credd_audit_state {
	uint32_t	 ready;		/* lensauditd welcomed lenscredd */
};

int	listener_main(int parentfd, void *conf);
int	vault_main(int parentfd, void *conf);
int	exchange_main(int parentfd, void *conf);

/* ca.c: the X.509 work of the vault (OpenSSL) */
#define CA_SCALAR_SIZE	32		/* a P-256 private key */
struct x509_st;
void	ca_init(void);
/* the name a leaf is asked for: 0 (lowercased into out, *is_ip), or -1 */
int	ca_name_check(const char *name, char *out, size_t outlen, int *is_ip,
	    char *err, size_t errlen);
/* a new CA: its private scalar into key, its certificate */
int	ca_make(const char *sandbox, uint8_t key[CA_SCALAR_SIZE],
	    struct x509_st **cert, char *err, size_t errlen);
/* does key belong to cert (a CA file read back)? */
int	ca_check(const uint8_t key[CA_SCALAR_SIZE], struct x509_st *cert);
/* cert as PEM (malloc'd), its length in *len */
char	*ca_pem(struct x509_st *cert, size_t *len);
/*
 * A leaf for name signed with key/cert: chain PEM (leaf, CA) and the
 * leaf's key as PKCS#8 PEM, both malloc'd; the key's cleared by the
 * caller (freezero).  0, or -1 with err.
 */
int	ca_leaf(const uint8_t key[CA_SCALAR_SIZE], struct x509_st *cacert,
	    const char *name, int is_ip, char **chain, size_t *chainlen,
	    char **keypem, size_t *keylen, time_t *notafter, char *err,
	    size_t errlen);
time_t	ca_notafter(struct x509_st *cert);
/* DER in and out, for the sealed CA files */
unsigned char *ca_der(struct x509_st *cert, size_t *len);
struct x509_st *ca_from_der(const unsigned char *, size_t);

#endif
