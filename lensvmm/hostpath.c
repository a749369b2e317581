/*
 * Host paths a lensctl caller names (--rootfs, -v sources), run in the
 * parent.  Group lens is trusted to run sandboxes, not to read the host:
 *
 *	- the path is resolved and opened once, in a short-lived child
 *	  with the caller's uid, gid and groups (SO_PEERCRED and
 *	  SO_PEERGROUPS of the control connection), by openat2(2) with
 *	  RESOLVE_NO_SYMLINKS: a symbolic link anywhere in it is refused,
 *	  whoever planted it and whenever, and every directory on the way
 *	  must be searchable by the caller; the opened file must be
 *	  readable (a directory also searchable) by the caller by
 *	  ordinary permissions.  The child passes the O_PATH descriptor
 *	  back; that descriptor is what the jail mounts (open_tree(2)
 *	  with AT_EMPTY_PATH), the path is never looked up again;
 *	- a rootfs must belong to the caller (a root-owned one is also
 *	  taken from anybody under the operator's rootfs library,
 *	  VMM_ROOTFSLIB): it is idmapped into the sandbox, where its
 *	  files are the sandbox's and root there reads them all;
 *	- neither may be, contain, or lie inside a Lens state directory
 *	  (VMM_ROOTFSLIB and below excepted), compared by device and
 *	  inode, walking "..": no spelling of a path gets around it.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <linux/openat2.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"
#include "log.h"
#include "lensvmm.h"


int
caller_get(int sock, struct caller *c)
{
	socklen_t	 len = sizeof(c->groups);

	memset(c, 0, sizeof(*c));
	if (imsg_peercred(sock, &c->uid, &c->gid, NULL) == -1)
		return -1;
	if (getsockopt(sock, SOL_SOCKET, SO_PEERGROUPS, c->groups, &len) ==
	    -1)
		return -1;
	c->ngroups = (int)(len / sizeof(gid_t));
	return 0;
}

/* in the child: the caller's open, the answer on s */
static void __attribute__((noreturn))
open_as_caller(int s, const struct caller *c, const char *path, int kind)
{
	struct open_how	 how;
	struct msghdr	 msg;
	struct cmsghdr	*cm;
	struct iovec	 iov;
	struct stat	 st;
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int))];
	}		 cmsgbuf;
	char		 why[256];
	int		 fd, mode;

	why[0] = '\0';
	/*
	 * Nothing of lensvmm's for the caller's uid to take: none of its
	 * descriptors, and non-dumpable (no ptrace, no /proc/PID/mem, no
	 * pidfd_getfd by that uid) whatever fs.suid_dumpable says
	 */
	if (close_except(&s, 1) == -1 || prctl(PR_SET_DUMPABLE, 0) == -1) {
		snprintf(why, sizeof(why), "cannot drop lensvmm's "
		    "descriptors: %s", strerror(errno));
		goto fail;
	}
	if (setgroups((size_t)c->ngroups, c->groups) == -1 ||
	    setresgid(c->gid, c->gid, c->gid) == -1 ||
	    setresuid(c->uid, c->uid, c->uid) == -1) {
		snprintf(why, sizeof(why), "cannot take the caller's "
		    "credentials: %s", strerror(errno));
		goto fail;
	}
	memset(&how, 0, sizeof(how));
	how.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
	how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
	if ((fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how,
	    sizeof(how))) == -1) {
		if (errno == ELOOP)
			snprintf(why, sizeof(why), "a symbolic link in the "
			    "path (none is followed: name the directory it "
			    "points to)");
		else if (errno == EACCES)
			snprintf(why, sizeof(why), "not reachable by uid %u "
			    "(a directory on the way is not searchable: %s)",
			    (unsigned)c->uid, strerror(errno));
		else
			snprintf(why, sizeof(why), "%s", strerror(errno));
		goto fail;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(why, sizeof(why), "%s", strerror(errno));
		goto fail;
	}
	if (S_ISLNK(st.st_mode)) {
		snprintf(why, sizeof(why), "a symbolic link (none is "
		    "followed: name the directory it points to)");
		goto fail;
	}
	if (kind == HOSTPATH_DIR ? !S_ISDIR(st.st_mode) :
	    !S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
		snprintf(why, sizeof(why), kind == HOSTPATH_DIR ?
		    "not a directory" : "not a directory or regular file");
		goto fail;
	}
	mode = R_OK | (S_ISDIR(st.st_mode) ? X_OK : 0);
	if (syscall(SYS_faccessat2, fd, "", mode, AT_EMPTY_PATH |
	    AT_EACCESS) == -1) {
		snprintf(why, sizeof(why), "not readable by uid %u (%s)",
		    (unsigned)c->uid, strerror(errno));
		goto fail;
	}
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = (void *)"";
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cmsgbuf.buf;
	msg.msg_controllen = sizeof(cmsgbuf.buf);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	_exit(sendmsg(s, &msg, 0) == 1 ? 0 : 1);
fail:
	(void)!write(s, why, strlen(why));
	_exit(1);
}

int
hostpath_open(const struct caller *c, const char *path, int kind,
    int timeout_ms, char *why, size_t whylen)
{
	struct msghdr	 msg;
	struct cmsghdr	*cm;
	struct iovec	 iov;
	struct pollfd	 pfd;
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int))];
	}		 cmsgbuf;
	char		 buf[256];
	int		 sp[2], fd = -1, st;
	ssize_t		 n;
	pid_t		 pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == -1) {
		snprintf(why, whylen, "socketpair: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) == -1) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		close(sp[0]);
		close(sp[1]);
		return -1;
	}
	if (pid == 0) {
		close(sp[0]);
		open_as_caller(sp[1], c, path, kind);
	}
	close(sp[1]);
	pfd.fd = sp[0];
	pfd.events = POLLIN;
	while ((n = poll(&pfd, 1, timeout_ms > 0 ? timeout_ms : 0)) == -1 &&
	    errno == EINTR)
		;
	if (n != 1) {
		/* a hung file system (FUSE, NFS) must not hang lensvmm */
		kill(pid, SIGKILL);
		snprintf(why, whylen, "no answer from the file system in "
		    "time (%d s for all paths of a request)",
		    HOSTPATH_TIMEOUT);
		n = -2;
	} else {
		memset(&msg, 0, sizeof(msg));
		iov.iov_base = buf;
		iov.iov_len = sizeof(buf) - 1;
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cmsgbuf.buf;
		msg.msg_controllen = sizeof(cmsgbuf.buf);
		n = recvmsg(sp[0], &msg, MSG_CMSG_CLOEXEC);
		for (cm = CMSG_FIRSTHDR(&msg); n >= 0 && cm != NULL;
		    cm = CMSG_NXTHDR(&msg, cm))
			if (cm->cmsg_level == SOL_SOCKET &&
			    cm->cmsg_type == SCM_RIGHTS &&
			    cm->cmsg_len == CMSG_LEN(sizeof(int)))
				memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	}
	close(sp[0]);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	if (fd != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return fd;
	if (fd != -1)
		close(fd);
	if (n >= 0) {
		buf[n > 0 ? n : 0] = '\0';
		snprintf(why, whylen, "%s", n > 0 ? buf : "the check failed");
	}
	return -1;
}

static int
same(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/*
 * Walk up from fd (itself included) through "..", up to /, and return
 * the index of the first of dirs[0..n) met, or -1.
 */
static int
walk_up(int fd, const struct stat *dirs, int n)
{
	struct stat	 st, up;
	int		 cur, next, i, hit = -1;

	if ((cur = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1)
		return -1;
	for (;;) {
		if (fstat(cur, &st) == -1)
			break;
		for (i = 0; i < n; i++)
			if (same(&st, &dirs[i])) {
				hit = i;
				goto out;
			}
		if ((next = openat(cur, "..", O_PATH | O_DIRECTORY |
		    O_CLOEXEC)) == -1)
			break;
		if (fstat(next, &up) == -1 || same(&st, &up)) {
			close(next);
			break;
		}
		close(cur);
		cur = next;
	}
out:
	close(cur);
	return hit;
}

int
hostpath_check(const struct caller *c, int fd, int kind,
    const char *const *state, int nstate, char *why, size_t whylen)
{
	struct stat	 st, dirs[2], sst;	/* the library, a state dir */
	int		 i, sfd;

	if (fstat(fd, &st) == -1) {
		snprintf(why, whylen, "%s", strerror(errno));
		return -1;
	}
	/* the child checked the type as the caller; again, as root */
	if (!S_ISDIR(st.st_mode) && (kind == HOSTPATH_DIR ||
	    !S_ISREG(st.st_mode))) {
		snprintf(why, whylen, "not a directory%s", kind ==
		    HOSTPATH_DIR ? "" : " or regular file");
		return -1;
	}
	/* the nearest of the rootfs library and each state directory
	 * above (or at) fd decides: inside the library is fine */
	if (stat(VMM_ROOTFSLIB, &dirs[0]) == -1 || !S_ISDIR(dirs[0].st_mode))
		memset(&dirs[0], 0xff, sizeof(dirs[0]));	/* no match */
	for (i = 0; i < nstate; i++) {
		if ((sfd = open(state[i], O_PATH | O_DIRECTORY | O_CLOEXEC)) ==
		    -1)
			continue;
		if (fstat(sfd, &sst) == -1) {
			close(sfd);
			continue;
		}
		/* fd is the state directory, or one of its ancestors */
		if (walk_up(sfd, &st, 1) == 0) {
			close(sfd);
			snprintf(why, whylen, same(&st, &sst) ? "is the Lens "
			    "state directory %s" : "contains the Lens state "
			    "directory %s", state[i]);
			return -1;
		}
		close(sfd);
		/* fd is inside it, and not inside the library first */
		dirs[1] = sst;
		if (walk_up(fd, dirs, 2) == 1) {
			snprintf(why, whylen, "lies inside the Lens state "
			    "directory %s", state[i]);
			return -1;
		}
	}
	if (kind != HOSTPATH_DIR)
		return 0;
	/* a rootfs: the caller's own, or root's in the library */
	if (st.st_uid == c->uid)
		return 0;
	if (st.st_uid == 0 && walk_up(fd, &dirs[0], 1) == 0)
		return 0;
	snprintf(why, whylen, "owned by uid %u, not by the caller (uid %u)%s",
	    (unsigned)st.st_uid, (unsigned)c->uid, st.st_uid == 0 ? "; a "
	    "shared rootfs owned by root belongs under " VMM_ROOTFSLIB : "");
	return -1;
}
