/*
 * lensctl <-> lensnetd on its approvals socket (lensnetd -A, default
 * /run/lens/lensapprove.sock, mode 0660 root:lens; peers are root or
 * members of group lens by SO_PEERCRED and SO_PEERGROUPS).  Nothing of
 * a sandbox reaches it: the socket lives on the host, in no sandbox's
 * mount namespace.  Framing is common/imsg.h; one request per
 * connection.
 *
 *	LIST (struct appr_list): the pending approvals, one ENTRY each,
 *	    then OK; with follow set, the connection stays and ENTRY
 *	    comes for every new one and every decision (state set).
 *	DECIDE (struct appr_decide): allow or deny one pending approval;
 *	    OK or ERROR.  The decision is audited (approval.decision) with
 *	    the peer's uid and user, once or always, and the policy
 *	    file's sha256 before and after (what lensctl wrote).
 *	POLICY (struct appr_policy + model): a sandbox's new policy, the
 *	    binary model (policy_encode) of the file lensctl read and
 *	    validated; lensnetd checks it (policy_decode), keeps it and
 *	    hands it to its children: new connections, queries and
 *	    requests are judged by it, established ones keep going.  OK or
 *	    ERROR.
 */
#ifndef LENS_LENSAPPROVE_IMSG_H
#define LENS_LENSAPPROVE_IMSG_H

#include <stdint.h>

#include "lensnetd_imsg.h"

#define APPR_SOCKET	"/run/lens/lensapprove.sock"
#define APPR_ID_SIZE	33		/* 32 hex + NUL */
#define APPR_HASH_SIZE	65		/* sha256 hex + NUL, or "" */
#define APPR_MAX	1024		/* pending, per lensnetd */
#define APPR_TIMEOUT	60		/* seconds, lensnetd -w */

enum lensapprove_imsg {
	IMSG_APPR_LIST = 0x41000001,	/* struct appr_list */
	IMSG_APPR_DECIDE,		/* struct appr_decide */
	IMSG_APPR_POLICY,		/* struct appr_policy + model */
	IMSG_APPR_ENTRY,		/* struct appr_entry */
	IMSG_APPR_OK,			/* empty */
	IMSG_APPR_ERROR,		/* struct appr_error */
};

struct appr_list {
	uint32_t	follow;
	uint32_t	pad;
};

#define APPR_PENDING	0
#define APPR_ALLOWED	1
#define APPR_DENIED	2
#define APPR_TIMEDOUT	3

struct appr_entry {
	char		id[APPR_ID_SIZE];
	char		sandbox[CTL_ID_SIZE];
	uint8_t		pad[6];
	uint32_t	kind;		/* NETD_ASK_* */
	uint32_t	state;		/* APPR_* */
	uint16_t	port;
	uint16_t	pad2[3];
	int64_t		created;	/* time_t */
	int64_t		expires;	/* time_t: denied then */
	char		name[NETD_NAME_SIZE];
	char		rule[NETD_NAME_SIZE];
	char		what[NETD_ASK_WHAT];
};

struct appr_decide {
	char		id[APPR_ID_SIZE];
	uint8_t		pad[7];
	uint32_t	allow;		/* 1 allow, 0 deny */
	uint32_t	always;		/* the policy file was changed */
	char		before[APPR_HASH_SIZE];	/* policy file sha256 */
	char		after[APPR_HASH_SIZE];
	uint8_t		pad2[6];
};

struct appr_policy {
	char		sandbox[CTL_ID_SIZE];
	char		sha256[APPR_HASH_SIZE];	/* of the file's text */
	uint8_t		pad[6];
	char		path[1024];		/* the file, for the log */
	uint32_t	modellen;
	uint32_t	pad2;
	/* followed by modellen bytes (1..POLICY_MODEL_MAXSIZE) */
};

struct appr_error {
	char		msg[512];
};

static inline const char *
appr_kind_name(uint32_t k)
{
	static const char *const n[] = { "?", "tcp", "tls", "http",
	    "request", "dns" };

	return k <= NETD_ASK_MAX ? n[k] : "?";
}

#endif
