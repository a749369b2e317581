/*
 * Messages between audit clients (the Lens daemons, lensctl, tests) and
 * lensauditd on /run/lens/lensauditd.sock.
 *
 * A client sends HELLO once and waits for WELCOME, which carries the
 * highest event id lensauditd has written for that source; the client
 * numbers its new events above it.  Then it sends APPEND for every event
 * with strictly increasing ids from 1 to 2^63-1.  Only one connection
 * per source is accepted at a time, and a daemon user may only use its
 * own source name (user _lensnet: source "lensnet"); root may use any.
 *
 * lensauditd answers ACK with the highest id of this connection that is
 * durable (fdatasync'd): every event sent before it on this connection
 * is durable too.  Ids are deduplicated per source: an APPEND whose id
 * is not above the highest id already written for its source is
 * acknowledged without being written again, so a client can resend
 * everything unacknowledged after a reconnect.
 *
 * Anything else (unknown type, wrong size, APPEND before HELLO, a source
 * the peer may not use) is logged and the connection is closed.
 */
#ifndef LENS_LENSAUDITD_IMSG_H
#define LENS_LENSAUDITD_IMSG_H

#include <stdint.h>

#define AUDIT_PROTO_VERSION	1
#define AUDIT_SOURCE_SIZE	32	/* NUL-padded, at most 31 chars */
#define AUDIT_SANDBOX_SIZE	65
#define AUDIT_TYPE_SIZE		64
#define AUDIT_DETAILS_MAX	60000	/* JSON object, not NUL-ended */

enum lensauditd_imsg {
	IMSG_AUDIT_HELLO = 0x41000001,	/* client: struct audit_hello */
	IMSG_AUDIT_APPEND,		/* client: struct audit_append, details */
	IMSG_AUDIT_ACK,			/* lensauditd: struct audit_ack */
	IMSG_AUDIT_WELCOME,		/* lensauditd: struct audit_welcome */
};

struct audit_hello {
	uint32_t	version;
	char		source[AUDIT_SOURCE_SIZE];
};

struct audit_append {
	uint64_t	id;
	char		sandbox[AUDIT_SANDBOX_SIZE];
	char		type[AUDIT_TYPE_SIZE];
	uint8_t		pad[7];
	/* followed by 2..AUDIT_DETAILS_MAX bytes of JSON object */
};

struct audit_ack {
	uint64_t	id;
};

struct audit_welcome {
	uint64_t	last_id;	/* highest id written for the source */
};

#endif
