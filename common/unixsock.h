/*
 * Unix stream sockets of the daemons: the listening socket under
 * /run/lens/ (peers are judged by SO_PEERCRED after accept) and the
 * client side.
 */
#ifndef LENS_UNIXSOCK_H
#define LENS_UNIXSOCK_H

#include <sys/types.h>

/*
 * Listen on path, replacing a stale socket there and creating its
 * directory (0755) if missing.  The socket gets mode and, unless gid is
 * (gid_t)-1, owner root and group gid.  Non-blocking, close-on-exec.
 * Fatal on error: this runs while a daemon starts.
 */
int	unixsock_listen(const char *path, mode_t mode, gid_t gid);
/*
 * Connect to path; flags are SOCK_NONBLOCK and SOCK_CLOEXEC as for
 * socket(2).  -1 with errno set on error (ENAMETOOLONG for a long path).
 */
int	unixsock_connect(const char *path, int flags);
/*
 * Accept a connection on the listening socket lfd (non-blocking,
 * close-on-exec) and tell its peer's credentials (SO_PEERCRED).  -1
 * when there is none to accept, or the credentials cannot be read
 * (logged, the connection closed).
 */
int	unixsock_accept(int lfd, uid_t *, gid_t *, pid_t *);

#endif
