/*
 * The users a daemon serves on its socket besides root: its -u
 * user,... list, and the SO_PEERCRED check of each connection against
 * it (lensauditd, lenscredd).  A peer is judged by its uid alone: its
 * groups (group lens too) let nobody in.
 */
#ifndef LENS_SOCKUSERS_H
#define LENS_SOCKUSERS_H

#include <sys/types.h>

#include "privsep.h"

#define SOCKUSERS_MAX	32

struct sockusers {
	struct privsep_user	 u[SOCKUSERS_MAX];
	int			 n;
};

/*
 * list: user names separated by commas (empty names skipped), each a
 * system user; at most max.  Fatal ("-u: ...") otherwise: this runs
 * while a daemon starts.
 */
void	sockusers_parse(struct sockusers *, int max, const char *list);
/* root or one of the users */
int	sockusers_allowed(const struct sockusers *, uid_t);
/*
 * Accept on lfd a connection of root or one of the users, telling its
 * credentials.  -1 when there is none to accept, or it is of another
 * user: refused, logged with uid, gid and pid and why ("not root or
 * ..."), closed.
 */
int	sockusers_accept(const struct sockusers *, int lfd, const char *why,
	    uid_t *, gid_t *, pid_t *);

#endif
