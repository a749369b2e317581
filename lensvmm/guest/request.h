/*
 * lens-init: checking what the host sends, and finding users in the
 * sandbox's /etc/passwd and /etc/group.  Pure functions on memory, so
 * that regress/fuzz/initproto.c can call them without a PID 1.
 */
#ifndef LENS_INIT_REQUEST_H
#define LENS_INIT_REQUEST_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#include "lensinit_proto.h"

/*
 * Bytes of STDIN kept for one process that does not read them.  Past
 * this its stdin is closed (the process sees EOF, later STDIN for it is
 * dropped): the protocol has no way to slow the host down.
 */
#define INIT_MAXSTDIN		(4 * 1024 * 1024)
#define INIT_MAXGROUPS		64
#define INIT_NAMESIZE		LENSINIT_USER_SIZE
#define INIT_HOMESIZE		256
#define INIT_MAXDBSIZE		(4 * 1024 * 1024)	/* passwd, group */
#define INIT_DEFAULT_UID	1000
#define INIT_DEFAULT_PATH \
	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct exec_req {
	uint32_t	 flags;
	uint16_t	 rows, cols;
	char		 user[LENSINIT_USER_SIZE];
	char		 cwd[LENSINIT_CWD_SIZE];
	uint32_t	 argc, envc;
	char		**argv;		/* argc entries + NULL */
	char		**envp;		/* envc entries + NULL */
	char		*strings;	/* what argv and envp point into */
	char		*added[2];	/* HOME=, USER= added by defaults */
};

/*
 * Check an EXEC payload and copy it out.  0, or -1 with a reason in
 * err (and nothing to free).
 */
int	 exec_req_parse(const void *, size_t, struct exec_req *,
	    char *err, size_t errlen);
void	 exec_req_free(struct exec_req *);
/*
 * Add HOME, USER (when name is not empty) and PATH unless the request
 * sets them; replaces envp.  0 or -1 (ENOMEM).
 */
int	 exec_req_env_defaults(struct exec_req *, const char *home,
	    const char *name);
/* the value of K in a NULL-terminated K=V array, or NULL */
const char *env_get(char *const *, const char *key);

/*
 * Check the size of a message from the host: NULL when it is right for
 * its type, else why not.  EXEC is checked by exec_req_parse().
 */
const char *init_msg_check(uint32_t type, size_t len);

struct init_user {
	uid_t		 uid;
	gid_t		 gid;
	char		 name[INIT_NAMESIZE];	/* "" when unknown */
	char		 home[INIT_HOMESIZE];	/* "/" when unknown */
	gid_t		 groups[INIT_MAXGROUPS];
	int		 ngroups;
};

/*
 * Resolve a user spec ("", "root", NAME, UID, NAME:GROUP, UID:GID) with
 * the sandbox's passwd and group files (either may be NULL).  0, or -1
 * with errno ENOENT (unknown user or group) or EINVAL (malformed).
 */
int	 user_resolve(const char *spec, int asroot, const char *passwd,
	    size_t passwdlen, const char *group, size_t grouplen,
	    struct init_user *);

#endif
