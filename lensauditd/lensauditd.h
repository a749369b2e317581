/*
 * lensauditd: the audit writer.  Three processes:
 *
 *   parent    root, no capabilities left once the children run: creates
 *             the state directory, the signing key on first start, the
 *             listening socket; supervises.
 *   listener  _lensaudit, chroot to an empty directory: accepts
 *             clients, checks SO_PEERCRED, parses and canonicalizes
 *             their events, forwards them to the writer.  Holds no key.
 *   writer    _lensaudit, chroot to the state directory: the hash chain,
 *             checkpoint signatures, group commit with fdatasync,
 *             rotation, recovery.  Never sees a client's bytes.
 */
#ifndef LENSAUDITD_H
#define LENSAUDITD_H

#include <sys/socket.h>
#include <sys/types.h>
#include <limits.h>
#include <stdint.h>

#include "lensauditd_imsg.h"
#include "privsep.h"
#include "sockusers.h"

#define AUDITD_SOCKET		"/run/lens/lensauditd.sock"
#define AUDITD_DIR		"/var/lib/lens/audit"
#define AUDITD_USER		"_lensaudit"
#define AUDITD_GROUP		"lens"
#define AUDITD_CLIENTS		"_lensvmm,_lensnet,_lenscred"
#define AUDITD_MAXUSERS		32	/* -u */
#define AUDITD_MAXCLIENTS	256
#define AUDITD_MAXSOURCES	1024

struct auditd_conf {
	char			 sock[108];
	char			 dir[PATH_MAX];
	char			 pubfile[PATH_MAX];	/* trusted copy (-P) */
	char			 witness[PATH_MAX];	/* -W, "" none */
	int			 witness_fd;		/* the writer's */
	/* the remote witness (-w, -C): "" none */
	char			 collector[300];	/* host:port */
	char			 coll_host[256];	/* TLS name */
	char			 coll_ca[PATH_MAX];	/* "" plain TCP */
	struct sockaddr_storage	 coll_addr;
	socklen_t		 coll_len;
	int			 wlink[2];	/* writer <-> witness */
	uint64_t		 ckpt_records;	/* checkpoint every N ... */
	unsigned int		 ckpt_secs;	/* ... or T seconds */
	uint64_t		 rotate_size;	/* bytes */
	uint64_t		 keep_free;	/* -F: bytes left free, 0 none */
	struct privsep_user	 user;
	struct sockusers	 users;		/* -u */
	/* the source each of users may use: its name less a leading _ */
	char			 sources[AUDITD_MAXUSERS][AUDIT_SOURCE_SIZE];
	int			 listen_fd;
	int			 link[2];	/* listener <-> writer */
	pid_t			 parent;
	const char		*regress_sigsys;	/* -DREGRESS only */
	int			 regress_keycrash;	/* -DREGRESS only */
};

/* listener <-> writer; peerid is the listener's connection number */
enum auditd_imsg {
	IMSG_W_HELLO = 0x41100001,	/* struct w_hello */
	IMSG_W_WELCOME,			/* struct w_welcome */
	IMSG_W_APPEND,			/* struct w_append + details */
	IMSG_W_ACK,			/* struct audit_ack */
};

/* writer <-> witness */
enum witness_imsg {
	IMSG_WIT_CKPT = 0x41100011,	/* a durable checkpoint's head line */
	IMSG_WIT_DROPPED,		/* struct wit_dropped */
};
#define WITNESS_LINEMAX		1024

struct wit_dropped {
	uint64_t	 dropped;	/* since the last report */
	uint64_t	 total;		/* since the witness started */
};

struct w_hello {
	char		 source[AUDIT_SOURCE_SIZE];
};

struct w_welcome {
	uint64_t	 last_id;
	uint32_t	 refused;	/* too many sources */
	uint32_t	 pad;
};

struct w_append {
	uint64_t	 id;
	char		 source[AUDIT_SOURCE_SIZE];
	char		 sandbox[AUDIT_SANDBOX_SIZE];
	char		 type[AUDIT_TYPE_SIZE];
	uint8_t		 pad[3];
	uint32_t	 detailslen;	/* the message's exact size, less this */
	/* followed by detailslen bytes of canonical JSON details */
};

int	listener_main(int parentfd, void *conf);
int	writer_main(int parentfd, void *conf);
int	witness_main(int parentfd, void *conf);
void	regress_hook(const struct auditd_conf *, const char *role);

#endif
