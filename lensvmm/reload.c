/*
 * Live policy reload in lensvmm's parent (lensvmm(8), RELOAD): the
 * policy file of every sandbox that has one is watched with inotify,
 * and SIGHUP reloads all of them.
 *
 * The directory of each file is watched (IN_CLOSE_WRITE, IN_MOVED_TO,
 * IN_ATTRIB for the file's name), so an in-place write, an editor's or
 * approve --always's rename into place and a chmod are all seen; events
 * are debounced (RELOAD_DEBOUNCE_MS after the last one) and each
 * sandbox named is reloaded once.
 *
 * A reload does what `lensctl policy reload` does, with the same
 * privilege separation:
 *
 *	- the file is opened and read in a short-lived child with the
 *	  credentials of the user who started the sandbox (uid, gid and
 *	  groups, kept in its state; root's default policy -P as root),
 *	  without any capability, by openat2(2) with RESOLVE_NO_SYMLINKS:
 *	  a file replaced by a symbolic link, made unreadable, or not a
 *	  regular file is refused.  This process only carries the bytes;
 *	- the YAML is parsed by the policy process (policy.c, _lensvmm,
 *	  seccomp), whose binary model is checked here byte by byte;
 *	- the model goes to lensnetd on its approvals socket (-A), exactly
 *	  as lensctl sends it: lensnetd checks it again, audits
 *	  policy.reload with the sha256s before and after and hands it to
 *	  its children (and lenscredd's exchanges are built from it).
 *
 * Any failure leaves the old policy in force everywhere and is logged
 * and audited as policy.reload_failed with the reason (a file that does
 * not validate: file:line:column).
 */
#include <sys/capability.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <linux/openat2.h>

#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "imsg.h"
#include "lensapprove_imsg.h"
#include "log.h"
#include "parent.h"
#include "policy.h"
#include "unixsock.h"

#define RELOAD_DEBOUNCE_MS	150
#define RELOAD_READ_MS		5000	/* the file, as its user */
#define RELOAD_NETD_MS		5000	/* lensnetd's answer */
#define RELOAD_MASK	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_ATTRIB | \
			    IN_ONLYDIR | IN_DONT_FOLLOW)

char			 apprsock[108];	/* -A */

struct watch {
	int	 wd;
	int	 refs;
};

static int		 ino_fd = -1;
static struct event	 ev_ino, ev_debounce;
static struct watch	*watches;
static size_t		 nwatches;

static const char *
base_name(const char *path)
{
	const char	*s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

/* --- reading the file as the sandbox's user ----------------------------- */

static void __attribute__((noreturn))
read_as(int fd, const struct caller *c, const char *path)
{
	struct open_how	 how;
	struct stat	 st;
	cap_t		 none;
	char		*buf, why[256];
	ssize_t		 n;
	size_t		 have = 0;
	int		 f;

	why[0] = '\0';
	/* nothing of lensvmm's for that uid to take (hostpath.c) */
	if (close_except(&fd, 1) == -1 || prctl(PR_SET_DUMPABLE, 0) == -1 ||
	    setgroups((size_t)c->ngroups, c->groups) == -1 ||
	    setresgid(c->gid, c->gid, c->gid) == -1 ||
	    setresuid(c->uid, c->uid, c->uid) == -1 ||
	    (none = cap_init()) == NULL || cap_set_proc(none) == -1 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		snprintf(why, sizeof(why), "cannot take the credentials of "
		    "uid %u: %s", (unsigned)c->uid, strerror(errno));
		goto fail;
	}
	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
	how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
	if ((f = (int)syscall(SYS_openat2, AT_FDCWD, path, &how,
	    sizeof(how))) == -1) {
		if (errno == ELOOP)
			snprintf(why, sizeof(why), "a symbolic link in the "
			    "path (none is followed)");
		else
			snprintf(why, sizeof(why), "not readable by uid %u: "
			    "%s", (unsigned)c->uid, strerror(errno));
		goto fail;
	}
	if (fstat(f, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(why, sizeof(why), "not a regular file");
		goto fail;
	}
	if ((buf = malloc(1 + POLICY_MAXSIZE + 1)) == NULL) {
		snprintf(why, sizeof(why), "out of memory");
		goto fail;
	}
	buf[0] = 'T';
	while (have <= POLICY_MAXSIZE) {
		n = read(f, buf + 1 + have, POLICY_MAXSIZE + 1 - have);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(why, sizeof(why), "%s", strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		have += n;
	}
	if (have > POLICY_MAXSIZE) {
		snprintf(why, sizeof(why), "larger than %d bytes",
		    POLICY_MAXSIZE);
		goto fail;
	}
	for (size_t off = 0; off < have + 1; off += n)
		if ((n = write(fd, buf + off, have + 1 - off)) <= 0)
			_exit(1);
	_exit(0);
fail:
	{
		char	 m[1 + sizeof(why)];

		m[0] = 'E';
		memcpy(m + 1, why, strlen(why));
		(void)!write(fd, m, 1 + strlen(why));
	}
	_exit(1);
}

/* the file's text (malloc'd), or -1 with why */
static int
policy_read(const struct caller *c, const char *path, char **text,
    size_t *len, char *why, size_t whylen)
{
	struct timespec	 t0, now;
	struct pollfd	 pfd;
	char		*buf;
	size_t		 have = 0, max = 1 + POLICY_MAXSIZE;
	ssize_t		 n;
	long		 left;
	pid_t		 pid;
	int		 p[2], st, timedout = 0;

	*text = NULL;
	if ((buf = malloc(max + 2)) == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	if (pipe2(p, O_CLOEXEC) == -1 || (pid = fork()) == -1) {
		snprintf(why, whylen, "pipe or fork: %s", strerror(errno));
		free(buf);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		read_as(p[1], c, path);
	}
	close(p[1]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pfd.fd = p[0];
	pfd.events = POLLIN;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = RELOAD_READ_MS - ((now.tv_sec - t0.tv_sec) * 1000 +
		    (now.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0 || (n = poll(&pfd, 1, (int)left)) == 0) {
			timedout = 1;
			break;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if ((n = read(p[0], buf + have, max + 1 - have)) == -1 &&
		    errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if ((have += n) > max)
			break;
	}
	close(p[0]);
	if (timedout)
		kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	if (timedout)
		snprintf(why, whylen, "no answer from the file system in %d ms",
		    RELOAD_READ_MS);
	else if (have > 0 && buf[0] == 'E') {
		buf[have] = '\0';
		snprintf(why, whylen, "%s", buf + 1);
	} else if (have == 0 || have > max || buf[0] != 'T' ||
	    !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		snprintf(why, whylen, "the reading process failed");
	else {
		memmove(buf, buf + 1, have - 1);
		buf[have - 1] = '\0';
		*text = buf;
		*len = have - 1;
		return 0;
	}
	free(buf);
	return -1;
}

/* --- lensnetd ------------------------------------------------------------ */

/* hand lensnetd the model, as lensctl policy reload does; -1 with why */
static int
netd_push(const struct sbx *sb, const void *model, size_t mlen,
    const char *sha256, char *why, size_t whylen)
{
	struct appr_policy	 ap;
	struct appr_error	 ae;
	struct imsgbuf		 ib;
	struct ibuf		*b;
	struct imsg		 im;
	int			 s, rc = -1;

	if ((s = unixsock_connect(apprsock, SOCK_CLOEXEC)) == -1) {
		snprintf(why, whylen, "lensnetd's approvals socket %s: %s",
		    apprsock, strerror(errno));
		return -1;
	}
	imsg_init(&ib, s);
	memset(&ap, 0, sizeof(ap));
	strlcpy(ap.sandbox, sb->id, sizeof(ap.sandbox));
	strlcpy(ap.sha256, sha256, sizeof(ap.sha256));
	strlcpy(ap.path, sb->run.policypath, sizeof(ap.path));
	ap.modellen = (uint32_t)mlen;
	if ((b = imsg_create(&ib, IMSG_APPR_POLICY, 0, 0, sizeof(ap) +
	    mlen)) == NULL || imsg_add(b, &ap, sizeof(ap)) == -1 ||
	    imsg_add(b, model, mlen) == -1) {
		snprintf(why, whylen, "lensnetd: request too large");
		goto out;
	}
	imsg_close(&ib, b);
	if (imsg_flush(&ib) == -1) {
		snprintf(why, whylen, "lensnetd: send: %s", strerror(errno));
		goto out;
	}
	if (imsg_recv_one(&ib, RELOAD_NETD_MS, &im) != 1) {
		snprintf(why, whylen, "lensnetd did not answer in %d ms",
		    RELOAD_NETD_MS);
		goto out;
	}
	if (im.hdr.type == IMSG_APPR_OK && IMSG_DATA_SIZE(&im) == 0)
		rc = 0;
	else if (im.hdr.type == IMSG_APPR_ERROR &&
	    IMSG_DATA_SIZE(&im) == sizeof(ae)) {
		memcpy(&ae, im.data, sizeof(ae));
		ae.msg[sizeof(ae.msg) - 1] = '\0';
		snprintf(why, whylen, "lensnetd: %s", ae.msg);
	} else
		snprintf(why, whylen, "lensnetd: unexpected answer %#x",
		    im.hdr.type);
	imsg_free(&im);
out:
	imsg_clear(&ib);
	close(s);
	return rc;
}

/* --- a reload ------------------------------------------------------------- */

static void
reload_failed(struct sbx *sb, const char *trigger, const char *why)
{
	log_warnx("sandbox %s: policy %s not reloaded (%s): %s; the old one "
	    "stays", sb->name, sb->run.policypath, trigger, why);
	audit_event(sb, "policy.reload_failed", json_pack("{s:s, s:s, s:s}",
	    "file", sb->run.policypath, "trigger", trigger, "error", why));
}

void
reload_sandbox(struct sbx *sb, const char *trigger, int force)
{
	struct caller	 root;
	struct policy	*pol;
	const struct caller *c = &sb->owner;
	char		*text;
	void		*model;
	size_t		 len, mlen;
	char		 why[600], hash[65];

	if (sb->state != SANDBOX_RUNNING || sb->run.policypath[0] == '\0' ||
	    sb->policy == NULL)
		return;
	if (sb->polexposed[0] != '\0') {
		reload_failed(sb, trigger, sb->polexposed);
		return;
	}
	/* the operator's default is root's, as when it was taken */
	if (strcmp(sb->run.policypath, defpolicy) == 0) {
		memset(&root, 0, sizeof(root));
		c = &root;
	} else if (!sb->owned) {
		reload_failed(sb, trigger, "who started the sandbox is not "
		    "known: use lensctl policy reload");
		return;
	}
	if (policy_read(c, sb->run.policypath, &text, &len, why,
	    sizeof(why)) == -1) {
		char	 w[sizeof(sb->run.policypath) + sizeof(why) + 2];

		snprintf(w, sizeof(w), "%s: %s", sb->run.policypath, why);
		reload_failed(sb, trigger, w);
		return;
	}
	if (policy_model_parse(sb->run.policypath, text, len, &pol, &model,
	    &mlen, why, sizeof(why)) == -1) {
		reload_failed(sb, trigger, why);
		free(text);
		return;
	}
	strlcpy(hash, policy_hash(pol), sizeof(hash));
	policy_free(pol);
	if (!force && strcmp(hash, sb->policyhash) == 0) {
		log_debug("sandbox %s: policy %s unchanged (%s)", sb->name,
		    sb->run.policypath, trigger);
		free(text);
		free(model);
		return;
	}
	if (netdsock[0] != '\0' && netd_push(sb, model, mlen, hash, why,
	    sizeof(why)) == -1) {
		reload_failed(sb, trigger, why);
		free(text);
		free(model);
		return;
	}
	free(sb->policy);
	free(sb->model);
	sb->policy = text;
	sb->policylen = len;
	sb->model = model;
	sb->modellen = mlen;
	strlcpy(sb->policyhash, hash, sizeof(sb->policyhash));
	(void)sbx_save(sb);
	log_info("sandbox %s: policy reloaded from %s (%s): %s", sb->name,
	    sb->run.policypath, trigger, hash);
}

void
reload_all(const char *trigger)
{
	struct sbx	*sb;
	int		 n = 0;

	TAILQ_FOREACH(sb, &sandboxes, entry)
		if (sb->state == SANDBOX_RUNNING &&
		    sb->run.policypath[0] != '\0' && sb->policy != NULL)
			n++;
	log_info("%s: reloading the policy of %d sandbox%s", trigger, n,
	    n == 1 ? "" : "es");
	TAILQ_FOREACH(sb, &sandboxes, entry)
		reload_sandbox(sb, trigger, 1);
}

/* --- inotify --------------------------------------------------------------- */

static void
debounce_cb(int fd, short ev, void *arg)
{
	struct sbx	*sb;

	(void)fd;
	(void)ev;
	(void)arg;
	TAILQ_FOREACH(sb, &sandboxes, entry)
		if (sb->reload_due) {
			sb->reload_due = 0;
			reload_sandbox(sb, "file changed", 0);
		}
}

static void
ino_cb(int fd, short ev, void *arg)
{
	struct timeval		 tv = { 0, RELOAD_DEBOUNCE_MS * 1000 };
	const struct inotify_event *e;
	struct sbx		*sb;
	char			 buf[8192]
				    __attribute__((aligned(__alignof__(
				    struct inotify_event))));
	ssize_t			 n;
	size_t			 i;
	int			 due = 0;

	(void)ev;
	(void)arg;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n; p += sizeof(*e) + e->len) {
			e = (const struct inotify_event *)p;
			if (e->mask & IN_Q_OVERFLOW) {
				TAILQ_FOREACH(sb, &sandboxes, entry)
					sb->reload_due = due = 1;
				continue;
			}
			if (e->mask & IN_IGNORED) {	/* the directory went */
				for (i = 0; i < nwatches; i++)
					if (watches[i].wd == e->wd)
						watches[i] = watches[--nwatches];
				TAILQ_FOREACH(sb, &sandboxes, entry)
					if (sb->polwd == e->wd) {
						sb->polwd = 0;
						log_warnx("sandbox %s: the "
						    "directory of %s is gone: no "
						    "more reloads on change",
						    sb->name,
						    sb->run.policypath);
					}
				continue;
			}
			if (e->len == 0)
				continue;
			TAILQ_FOREACH(sb, &sandboxes, entry)
				if (sb->polwd == e->wd && strcmp(e->name,
				    base_name(sb->run.policypath)) == 0)
					sb->reload_due = due = 1;
		}
	}
	if (due)
		evtimer_add(&ev_debounce, &tv);
}

void
reload_init(void)
{
	if (apprsock[0] == '\0')
		strlcpy(apprsock, APPR_SOCKET, sizeof(apprsock));
	if ((ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1)
		fatal("inotify_init1");
	event_set(&ev_ino, ino_fd, EV_READ | EV_PERSIST, ino_cb, NULL);
	event_add(&ev_ino, NULL);
	evtimer_set(&ev_debounce, debounce_cb, NULL);
}

static int
same(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/*
 * Is the policy file (its directory dir) writable by the sandbox through
 * one of its volumes: a writable volume that is the file, or holds it
 * (walking up from dir through ".."), or a file with other hard links
 * (which could be in one)?  Its source, or NULL.
 */
static const char *
exposed_by(const char *path, const char *dir, const struct volume *vols,
    int nvols)
{
	struct stat	 st, vst[VMM_MAXVOLUMES], cur, up;
	const char	*hit = NULL;
	int		 i, fd, next, n = 0, idx[VMM_MAXVOLUMES];

	if (lstat(path, &st) == -1 || !S_ISREG(st.st_mode) || st.st_nlink != 1)
		return "(the file has other hard links)";
	for (i = 0; i < nvols && i < VMM_MAXVOLUMES; i++) {
		if (vols[i].ro || vols[i].fd == -1 ||
		    fstat(vols[i].fd, &vst[n]) == -1)
			continue;
		if (same(&st, &vst[n]))
			return vols[i].src;
		idx[n++] = i;
	}
	if (n == 0 || (fd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return n == 0 ? NULL : dir;
	while (hit == NULL && fstat(fd, &cur) == 0) {
		for (i = 0; i < n; i++)
			if (same(&cur, &vst[i]))
				hit = vols[idx[i]].src;
		if ((next = openat(fd, "..", O_PATH | O_DIRECTORY |
		    O_CLOEXEC)) == -1)
			break;
		if (fstat(next, &up) == -1 || same(&cur, &up)) {
			close(next);
			break;
		}
		close(fd);
		fd = next;
	}
	close(fd);
	return hit;
}

/*
 * Watch the directory of sb's policy file (a sandbox that has one),
 * unless the sandbox could write that file through a volume: then
 * nothing reloads it but lensctl policy reload.
 */
void
reload_watch(struct sbx *sb, const struct volume *vols, int nvols)
{
	struct watch	*w;
	const char	*v;
	char		 dir[sizeof(sb->run.policypath)];
	char		*s;
	size_t		 i;
	int		 wd;

	if (ino_fd == -1 || sb->polwd != 0 || sb->run.policypath[0] != '/')
		return;
	strlcpy(dir, sb->run.policypath, sizeof(dir));
	s = strrchr(dir, '/');
	if (s == dir)
		s[1] = '\0';
	else
		*s = '\0';
	if ((v = exposed_by(sb->run.policypath, dir, vols, nvols)) != NULL) {
		snprintf(sb->polexposed, sizeof(sb->polexposed), "the sandbox "
		    "may write it through its volume %.150s: only lensctl "
		    "policy reload reloads it", v);
		log_warnx("sandbox %s: policy %s: %s", sb->name,
		    sb->run.policypath, sb->polexposed);
		return;
	}
	if ((wd = inotify_add_watch(ino_fd, dir, RELOAD_MASK)) == -1) {
		log_warn("sandbox %s: cannot watch %s (no reload on change; "
		    "SIGHUP or lensctl policy reload still work)", sb->name,
		    dir);
		return;
	}
	sb->polwd = wd;
	for (i = 0; i < nwatches; i++)
		if (watches[i].wd == wd) {
			watches[i].refs++;
			return;
		}
	if ((w = reallocarray(watches, nwatches + 1, sizeof(*w))) == NULL)
		fatal("watches");
	watches = w;
	watches[nwatches].wd = wd;
	watches[nwatches++].refs = 1;
}

void
reload_unwatch(struct sbx *sb)
{
	size_t	 i;

	if (sb->polwd == 0)
		return;
	for (i = 0; i < nwatches; i++)
		if (watches[i].wd == sb->polwd && --watches[i].refs == 0) {
			(void)inotify_rm_watch(ino_fd, watches[i].wd);
			watches[i] = watches[--nwatches];
			break;
		}
	sb->polwd = 0;
}
