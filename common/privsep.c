/*
 * Privilege dropping shared by every Lens daemon.  Each step is checked
 * and each failure is fatal; afterwards the result is verified (the
 * uids cannot be changed back, no capability is left that was not asked
 * for).
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "privsep.h"

int
privsep_user(const char *name, struct privsep_user *u, char *err,
    size_t errlen)
{
	struct passwd	*pw;

	errno = 0;
	if ((pw = getpwnam(name)) == NULL) {
		snprintf(err, errlen, "user %s does not exist%s%s "
		    "(etc/lens-users.sh creates the Lens users)", name,
		    errno ? ": " : "", errno ? strerror(errno) : "");
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "user %s has uid 0", name);
		return -1;
	}
	strlcpy(u->name, name, sizeof(u->name));
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	return 0;
}

void
privsep_emptydir(const char *dir)
{
	struct stat	 st;
	DIR		*d;
	struct dirent	*de;

	char		 path[PATH_MAX], *p;

	if (strlcpy(path, dir, sizeof(path)) >= sizeof(path))
		fatalx("path too long: %s", dir);
	for (p = path + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(path, 0755) == -1 && errno != EEXIST)
			fatal("mkdir %s", path);
		*p = '/';
	}
	if (mkdir(dir, 0755) == -1 && errno != EEXIST)
		fatal("mkdir %s", dir);
	if (lstat(dir, &st) == -1)
		fatal("stat %s", dir);
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & 022) != 0)
		fatalx("%s must be a directory owned by root and writable "
		    "only by it", dir);
	if ((d = opendir(dir)) == NULL)
		fatal("opendir %s", dir);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			fatalx("%s must be empty, it holds %s", dir,
			    de->d_name);
	}
	closedir(d);
}

static int
cap_kept(cap_value_t c, const cap_value_t *keep, int nkeep)
{
	int	 i;

	for (i = 0; i < nkeep; i++)
		if (keep[i] == c)
			return 1;
	return 0;
}

static void
set_caps(const cap_value_t *keep, int nkeep)
{
	cap_t	 caps;
	int	 i;

	if ((caps = cap_init()) == NULL)
		fatal("cap_init");
	if (nkeep > 0 &&
	    (cap_set_flag(caps, CAP_EFFECTIVE, nkeep, keep, CAP_SET) == -1 ||
	    cap_set_flag(caps, CAP_PERMITTED, nkeep, keep, CAP_SET) == -1))
		fatal("cap_set_flag");
	if (cap_set_proc(caps) == -1)
		fatal("cap_set_proc");
	cap_free(caps);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1)
		fatal("clear ambient capabilities");

	/* verify: nothing beyond keep[] is left in any set */
	for (i = 0; i <= CAP_LAST_CAP; i++) {
		cap_flag_value_t	 v;

		if (cap_kept(i, keep, nkeep))
			continue;
		if ((caps = cap_get_proc()) == NULL)
			fatal("cap_get_proc");
		if (cap_get_flag(caps, i, CAP_EFFECTIVE, &v) == -1 ||
		    v != CAP_CLEAR ||
		    cap_get_flag(caps, i, CAP_PERMITTED, &v) == -1 ||
		    v != CAP_CLEAR)
			fatalx("capability %d still held", i);
		cap_free(caps);
	}
}

static void
drop_bounding(const cap_value_t *keep, int nkeep)
{
	int	 i;

	for (i = 0; i <= CAP_LAST_CAP; i++) {
		if (cap_kept(i, keep, nkeep))
			continue;
		if (prctl(PR_CAPBSET_DROP, i, 0, 0, 0) == -1 && errno != EINVAL)
			fatal("drop capability %d from the bounding set", i);
	}
}

void
privsep_limit_caps(const cap_value_t *keep, int nkeep)
{
	drop_bounding(keep, nkeep);
	set_caps(keep, nkeep);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("PR_SET_NO_NEW_PRIVS");
}

void
privsep_drop(const char *root, const struct privsep_user *u,
    const cap_value_t *keep, int nkeep)
{
	uid_t	 r, e, s;
	gid_t	 rg, eg, sg;

	if (root == NULL)
		root = LENS_EMPTYDIR;
	if (chroot(root) == -1)
		fatal("chroot %s", root);
	if (chdir("/") == -1)
		fatal("chdir /");

	drop_bounding(keep, nkeep);
	if (nkeep > 0 && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == -1)
		fatal("PR_SET_KEEPCAPS");
	if (setgroups(1, &u->gid) == -1)
		fatal("setgroups");
	if (setresgid(u->gid, u->gid, u->gid) == -1)
		fatal("setresgid %u", (unsigned)u->gid);
	if (setresuid(u->uid, u->uid, u->uid) == -1)
		fatal("setresuid %u", (unsigned)u->uid);
	if (getresuid(&r, &e, &s) == -1 || r != u->uid || e != u->uid ||
	    s != u->uid)
		fatalx("uids not changed to %u", (unsigned)u->uid);
	if (getresgid(&rg, &eg, &sg) == -1 || rg != u->gid ||
	    eg != u->gid || sg != u->gid)
		fatalx("gids not changed to %u", (unsigned)u->gid);
	if (setuid(0) != -1 || seteuid(0) != -1)
		fatalx("could regain uid 0 after dropping privileges");
	if (nkeep > 0 && prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) == -1)
		fatal("PR_SET_KEEPCAPS");
	set_caps(keep, nkeep);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("PR_SET_NO_NEW_PRIVS");
}

void
privsep_pdeathsig(pid_t expected_parent)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == -1)
		fatal("PR_SET_PDEATHSIG");
	/* the parent may have died before the signal was armed */
	if (getppid() != expected_parent)
		_exit(1);
}
