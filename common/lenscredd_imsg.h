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
 * Sandbox: 1 to 64 letters, digits, '_', '-', '.', the first a letter
 * or digit (a sandbox id or name, common/grammar.c gr_ref).  Name: a
 * DNS host name (LDH labels, at most 253 bytes, lowercased by the
 * vault; gr_hostname) or an IPv4/IPv6 address in its canonical form,
 * which goes into the certificate as an iPAddress.
 */
#ifndef LENS_LENSCREDD_IMSG_H
#define LENS_LENSCREDD_IMSG_H

#include <stdint.h>

#define CRED_SANDBOX_SIZE	65	/* NUL-padded, at most 64 chars */
#define CRED_NAME_SIZE		256	/* NUL-padded, at most 253 chars */
#define CRED_ERR_SIZE		256
#define CRED_PEM_MAX		16384	/* every reply's PEM, bounded */

enum lenscredd_imsg {
	IMSG_CRED_CA_CREATE = 0x43000001,	/* struct cred_sandbox */
	IMSG_CRED_CA_GET,			/* struct cred_sandbox */
	IMSG_CRED_CA_DESTROY,			/* struct cred_sandbox */
	IMSG_CRED_LEAF_REQ,			/* struct cred_leaf_req */
	IMSG_CRED_CA,		/* struct cred_ca + pemlen bytes */
	IMSG_CRED_LEAF,		/* struct cred_leaf + chainlen + keylen */
	IMSG_CRED_DESTROYED,	/* struct cred_sandbox */
	IMSG_CRED_ERROR,	/* struct cred_error */
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

#endif
