/*
 * Dropping privileges, in the order doc/DESIGN.md (Processes)
 * prescribes: chroot, setgroups/setresgid/setresuid, capabilities,
 * PR_SET_NO_NEW_PRIVS.
 * The seccomp filter (seccomp_filter.h) comes last, loaded by the caller.
 */
#ifndef LENS_PRIVSEP_H
#define LENS_PRIVSEP_H

#include <sys/types.h>
#include <sys/capability.h>

#define LENS_EMPTYDIR	"/var/lib/lens/empty"

struct privsep_user {
	char	 name[64];
	uid_t	 uid;
	gid_t	 gid;
};

/* look a system user up; -1 with a message in err if it does not exist */
int	privsep_user(const char *name, struct privsep_user *, char *err,
	    size_t errlen);
/* make sure dir exists, is owned by root, mode 0755 and empty */
void	privsep_emptydir(const char *dir);
/*
 * chroot into root (NULL: LENS_EMPTYDIR), become user, keep only the
 * capabilities in keep[] (effective and permitted), drop the rest from
 * every set including the bounding set, set NO_NEW_PRIVS.  fatal() on
 * any failure: a process never goes on half-dropped.
 */
void	privsep_drop(const char *root, const struct privsep_user *,
	    const cap_value_t *keep, int nkeep);
/* parent processes: stay who they are but keep only keep[] */
void	privsep_limit_caps(const cap_value_t *keep, int nkeep);
/* kill this process when its parent dies (call after privsep_drop) */
void	privsep_pdeathsig(pid_t expected_parent);

#endif
