/*
 * Requests to lenscredd on /run/lens/lenscredd.sock: the sandbox CAs.
 *
 * Only root and the users lenscredd is told to serve (-u, default
 * _lensnet, the proxy) may connect; anyone else, a member of group
 * lens too, is refused by SO_PEERCRED at accept.  Each request gets
 * one reply, in the order sent: the one asked for, or ERROR naming
 * what was wrong.  A request of an unknown type or a wrong size is
 * answered by ERROR and dropped; the connection stays.  A frame that
 * is not one (bad header) ends the connection.
 *
 *	CA_CREATE (cred_sandbox)  -> CA (cred_ca + PEM): the sandbox's CA,
 *		made if missing (created 1), else the one it has (created
 *		0: a sandbox re-attached after its proxy or lenscredd
 *		restarted keeps the CA its guest already trusts)
 *	CA_GET (cred_sandbox)     -> CA (created 0)
 *	CA_DESTROY (cred_sandbox) -> DESTROYED (cred_sandbox): key zeroed,
 *		its file removed
 *	LEAF (cred_leaf_req)      -> LEAF (cred_leaf + chain PEM + key PEM):
 *		a certificate for one name signed by the sandbox's CA, the
 *		chain (leaf, then CA) and the leaf's own key (PKCS#8 PEM),
 *		which the caller may hold.  The CA's key never leaves
 *		lenscredd's vault.
 *
 * The credential store (root only: any other peer, _lensnet too, gets
 * ERROR and the connection stays; the value of a credential is never
 * in an answer; ADD, ROTATE and RM are audited, and refused with ERROR
 * while lensauditd is not reachable):
 *
 *	STORE_ADD (cred_store + secretlen bytes)  -> STORED (cred_entry):
 *		a new credential NAME with that value; ERROR if NAME exists
 *	STORE_ROTATE (cred_store + secretlen)     -> STORED: a new value
 *		for an existing NAME, created kept, rotated now
 *	STORE_RM (cred_id)                        -> STORED (the times
 *		zero): NAME removed; ERROR if there is none
 *	STORE_LS (no payload)                     -> LIST (cred_list +
 *		n cred_entry, by name): every credential, and for a record
 *		the vault cannot open (damaged, truncated, renamed, another
 *		master key) why, in damaged
 *
 * The credential exchange (root only, lensnetd's parent: any other
 * peer gets ERROR and the passed descriptor is closed):
 *
 *	EXCHANGE (cred_exchange + calen PEM bytes, with one end of a
 *		socketpair)  -> EXCHANGE_OK (cred_exchange_ok, exch_id
 *		echoed): lenscredd's exchange child has the descriptor and
 *		speaks common/lensexch.h on it; what fails from then on (the
 *		credential not stored, lensauditd not reachable, the
 *		upstream, its certificate) is an EXCH_ERROR on the stream.
 *		ERROR (request EXCHANGE) when the request is malformed
 *		(exch_cred_check), has no descriptor, or EXCHANGE_MAX
 *		exchanges are running; the descriptor is closed.  The
 *		exchange connects to addr:port itself (lenscredd resolves
 *		no names), verifies host (SNI) against its trust store and
 *		the caFile PEM that came with the request, and audits
 *		cred.use.  The value of a credential never leaves
 *		lenscredd's vault and exchange.
 *
 * Credential name: 1 to 64 letters, digits, '_', '-', '.', the first a
 * letter or digit (the id of a policy's credentials: entry, common/
 * grammar.c gr_cred).  Value: 1 to CRED_SECRET_MAX bytes, any bytes
 * (NUL too: an HMAC key may be binary).
 *
 * Sandbox: 1 to 64 letters, digits, '_', '-', '.', the first a letter
 * or digit (a sandbox id or name, common/grammar.c gr_ref).  Name: a
 * DNS host name (LDH labels, at most 253 bytes, lowercased by the
 * vault; gr_hostname) or an IPv4/IPv6 address in its canonical form,
 * which goes into the certificate as an iPAddress.
 */
#ifndef LENS_LENSCREDD_IMSG_H
#define LENS_LENSCREDD_IMSG_H

#include <stdint.h>

#define LENSCREDD_SOCKET	"/run/lens/lenscredd.sock"
#define CRED_SANDBOX_SIZE	65	/* NUL-padded, at most 64 chars */
#define CRED_NAME_SIZE		256	/* NUL-padded, at most 253 chars */
#define CRED_ERR_SIZE		256
#define CRED_PEM_MAX		16384	/* every reply's PEM, bounded */
#define CRED_ID_SIZE		65	/* NUL-padded, at most 64 chars */
#define CRED_SECRET_MAX		32768	/* a credential's value, bytes */
#define CRED_STORE_MAX		256	/* credentials in the store */
#define CRED_DAMAGED_SIZE	160

enum lenscredd_imsg {
	IMSG_CRED_CA_CREATE = 0x43000001,	/* struct cred_sandbox */
	IMSG_CRED_CA_GET,			/* struct cred_sandbox */
	IMSG_CRED_CA_DESTROY,			/* struct cred_sandbox */
	IMSG_CRED_LEAF_REQ,			/* struct cred_leaf_req */
	IMSG_CRED_CA,		/* struct cred_ca + pemlen bytes */
	IMSG_CRED_LEAF,		/* struct cred_leaf + chainlen + keylen */
	IMSG_CRED_DESTROYED,	/* struct cred_sandbox */
	IMSG_CRED_ERROR,	/* struct cred_error */
	IMSG_CRED_STORE_ADD,	/* struct cred_store + secretlen bytes */
	IMSG_CRED_STORE_ROTATE,	/* struct cred_store + secretlen bytes */
	IMSG_CRED_STORE_RM,	/* struct cred_id */
	IMSG_CRED_STORE_LS,	/* nothing */
	IMSG_CRED_STORED,	/* struct cred_entry */
	IMSG_CRED_LIST,		/* struct cred_list + n struct cred_entry */
	IMSG_CRED_EXCHANGE,	/* struct cred_exchange + calen PEM, fd */
	IMSG_CRED_EXCHANGE_OK,	/* struct cred_exchange_ok */
};

#define CRED_INJ_NAME		128
#define CRED_INJ_VALUE		512
#define CRED_INJ_URL		512
#define CRED_INJ_SIGV4		64
#define CRED_PH_SIZE		41	/* common/phscan.h PH_SIZE */
#define EXCHANGE_MAX		64	/* exchanges running at once */

struct cred_exchange {
	char		sandbox[CRED_SANDBOX_SIZE];	/* gr_ref */
	char		cred[CRED_ID_SIZE];	/* stored credential, gr_cred */
	char		placeholder[CRED_PH_SIZE];	/* ph_valid */
	char		host[CRED_NAME_SIZE];	/* SNI, the name verified */
	uint8_t		pad0;
	uint16_t	port;
	uint8_t		family;		/* AF_INET or AF_INET6 */
	uint8_t		inj_type;	/* enum inj_type (grammar.h) */
	uint8_t		addr[16];	/* upstream address, network order */
	/* header, query parameter, basic user, hmac header name */
	char		inj_name[CRED_INJ_NAME];
	char		inj_value[CRED_INJ_VALUE];	/* "Bearer {secret}" */
	char		region[CRED_INJ_SIGV4];		/* sigv4 */
	char		service[CRED_INJ_SIGV4];	/* sigv4 */
	char		token_url[CRED_INJ_URL];	/* oauth2: https URL */
	char		client_id[CRED_INJ_NAME];	/* oauth2, may be "" */
	/* oauth2: token_url's host as lensnetd's parent resolved it */
	uint8_t		token_family;
	uint8_t		token_addr[16];
	uint8_t		pad1;
	uint16_t	token_port;
	uint32_t	calen;		/* caFile PEM after the struct, 0 none */
	uint32_t	exch_id;	/* the sender's, echoed in OK */
	uint8_t		pad2[4];
};

struct cred_exchange_ok {
	uint32_t	exch_id;
	uint32_t	pad;
};

struct cred_sandbox {
	char		sandbox[CRED_SANDBOX_SIZE];
	uint8_t		pad[7];
};

struct cred_leaf_req {
	char		sandbox[CRED_SANDBOX_SIZE];
	char		name[CRED_NAME_SIZE];
	uint8_t		pad[7];
};

struct cred_ca {
	char		sandbox[CRED_SANDBOX_SIZE];
	uint8_t		created;	/* 1 made now, 0 it existed */
	uint8_t		pad[2];
	uint32_t	pemlen;		/* the message's size less this */
	int64_t		notafter;	/* time_t */
};

struct cred_leaf {
	char		sandbox[CRED_SANDBOX_SIZE];
	uint8_t		pad[3];
	uint32_t	chainlen;	/* leaf PEM, then the CA's */
	uint32_t	keylen;		/* then PKCS#8 PEM of the leaf key */
	uint8_t		pad2[4];
	int64_t		notafter;
};

struct cred_error {
	uint32_t	request;	/* the type it answers */
	char		msg[CRED_ERR_SIZE];	/* NUL-terminated */
	uint8_t		pad[4];
};

struct cred_id {
	char		name[CRED_ID_SIZE];
	uint8_t		pad[7];
};

struct cred_store {
	char		name[CRED_ID_SIZE];
	uint8_t		pad[3];
	uint32_t	secretlen;	/* the message's size less this */
};

struct cred_entry {
	char		name[CRED_ID_SIZE];
	uint8_t		pad[7];
	int64_t		created;	/* time_t */
	int64_t		rotated;	/* 0: never */
	char		damaged[CRED_DAMAGED_SIZE];	/* "": sound */
};

struct cred_list {
	uint32_t	n;
	uint32_t	pad;
};

#endif
