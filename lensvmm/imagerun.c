/*
 * lensctl run IMAGE: the parent's part (the image's layers unpacked by
 * the image child, its config applied to the request, from the meta
 * file: never image JSON) and the jail process's (the cached layers
 * mounted read-only as the overlay's lower layers).  See lensctl.8, run.
 *
 * The config: Entrypoint + Cmd (a COMMAND replaces Cmd; --entrypoint
 * replaces both, lensctl sends the whole command), Env (the run's -e
 * wins), WorkingDir (-w wins; made absolute; lens-init changes into it
 * inside the sandbox), User (-u wins; a name is resolved by lens-init in
 * the image's own /etc/passwd, inside the sandbox).
 */
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <linux/mount.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imgstore.h"
#include "layer.h"
#include "log.h"
#include "parent.h"
#include "privsep.h"

struct imgrun {
	struct reply	*r;
	uid_t		 by;
	char		 ref[CTL_PATH_SIZE];
	void		*data;
	size_t		 len;
};

static int
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* run env has NAME */
static int
env_has(const char *p, uint32_t n, const char *kv)
{
	size_t	 k = strcspn(kv, "=");
	uint32_t i;

	for (i = 0; i < n; i++, p += strlen(p) + 1)
		if (strncmp(p, kv, k) == 0 && (p[k] == '=' || p[k] == '\0'))
			return 1;
	return 0;
}

static void
put(char **o, const char *s)
{
	size_t	 n = strlen(s) + 1;

	memcpy(*o, s, n);
	*o += n;
}

/*
 * The request with the image's config applied: a new RUN payload in
 * *out (to free), or -1 with err.
 */
static int
image_apply(const struct imgrun *ir, const struct img_meta *mt, void **out,
    size_t *outlen, char *err, size_t errlen)
{
	struct ctl_run	 run;
	const char	*strs, *argv, *env, *rest, *end;
	char		*buf, *o;
	size_t		 need, i;
	uint32_t	 k, argc, envc;

	memcpy(&run, ir->data, sizeof(run));
	strs = (const char *)ir->data + sizeof(run);
	end = (const char *)ir->data + ir->len;
	argv = strs;
	for (env = argv, k = 0; k < run.argc; k++)
		env += strlen(env) + 1;
	for (rest = env, k = 0; k < run.envc; k++)
		rest += strlen(rest) + 1;
	need = ir->len;
	for (i = 0; i < mt->nentrypoint; i++)
		need += strlen(mt->entrypoint[i]) + 1;
	for (i = 0; i < mt->ncmd; i++)
		need += strlen(mt->cmd[i]) + 1;
	for (i = 0; i < mt->nenv; i++)
		need += strlen(mt->env[i]) + 1;
	if ((buf = malloc(need)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	o = buf + sizeof(run);
	argc = 0;
	if (!(run.flags & RUN_ENTRYPOINT))
		for (i = 0; i < mt->nentrypoint; i++, argc++)
			put(&o, mt->entrypoint[i]);
	if (run.argc > 0 || (run.flags & RUN_ENTRYPOINT)) {
		const char	*p = argv;

		for (k = 0; k < run.argc; k++, argc++, p += strlen(p) + 1)
			put(&o, p);
	} else
		for (i = 0; i < mt->ncmd; i++, argc++)
			put(&o, mt->cmd[i]);
	envc = 0;
	for (i = 0; i < mt->nenv; i++)
		if (!env_has(env, run.envc, mt->env[i])) {
			put(&o, mt->env[i]);
			envc++;
		}
	memcpy(o, env, (size_t)(rest - env));
	o += rest - env;
	envc += run.envc;
	memcpy(o, rest, (size_t)(end - rest));
	o += end - rest;
	if (argc == 0) {
		snprintf(err, errlen, "image %.200s has no Entrypoint or Cmd: give "
		    "a COMMAND", ir->ref);
		goto fail;
	}
	if ((uint64_t)argc + envc + run.nvolumes + run.npublish +
	    run.nlabels > CTL_MAXSTRINGS) {
		snprintf(err, errlen, "image %.200s: its Entrypoint, Cmd and Env "
		    "with the run's make more than %d strings", ir->ref,
		    CTL_MAXSTRINGS);
		goto fail;
	}
	if (run.user[0] == '\0' && mt->user != NULL && (!printable(mt->user) ||
	    strlcpy(run.user, mt->user, sizeof(run.user)) >=
	    sizeof(run.user))) {
		snprintf(err, errlen, "image %.200s: User \"%.64s\" is not a "
		    "printable user of fewer than %zu bytes", ir->ref,
		    mt->user, sizeof(run.user));
		goto fail;
	}
	if (run.cwd[0] == '\0' && mt->workdir != NULL &&
	    (!printable(mt->workdir) || (size_t)snprintf(run.cwd,
	    sizeof(run.cwd), "%s%s", mt->workdir[0] == '/' ? "" : "/",
	    mt->workdir) >= sizeof(run.cwd))) {
		snprintf(err, errlen, "image %.200s: WorkingDir \"%.64s\" is not a "
		    "printable path of fewer than %zu bytes", ir->ref,
		    mt->workdir, sizeof(run.cwd));
		goto fail;
	}
	run.argc = argc;
	run.envc = envc;
	memcpy(buf, &run, sizeof(run));
	*out = buf;
	*outlen = (size_t)(o - buf);
	return 0;
 fail:
	free(buf);
	return -1;
}

static void
image_unpacked(void *arg, const char *why)
{
	struct imgrun	*ir = arg;
	struct img_meta	 mt;
	struct imsg	 im;
	char		 err[1024], ref[IMG_REF_SIZE], *layers = NULL;
	void		*data = NULL;
	size_t		 len, i;

	imsgev_pause(&ir->r->iev, 0);
	memset(&mt, 0, sizeof(mt));
	if (why != NULL) {
		reply_error(ir->r, CTL_EXIT_LENS, "run %s: %s", ir->ref, why);
		goto done;
	}
	/* the meta the image child just checked against the blobs */
	if (imgstore_meta_find(statedir, ir->ref, ref, &mt, NULL, err,
	    sizeof(err)) == -1 || image_apply(ir, &mt, &data, &len, err,
	    sizeof(err)) == -1) {
		reply_error(ir->r, CTL_EXIT_LENS, "run %s: %s", ir->ref, err);
		goto done;
	}
	if (mt.nlayers == 0) {
		reply_error(ir->r, CTL_EXIT_LENS, "run %s: an image without "
		    "layers has no files to run", ir->ref);
		goto done;
	}
	if ((layers = calloc(mt.nlayers, OCI_DIGEST_SIZE)) == NULL) {
		reply_error(ir->r, CTL_EXIT_LENS, "out of memory");
		goto done;
	}
	for (i = 0; i < mt.nlayers; i++)
		memcpy(layers + i * OCI_DIGEST_SIZE, mt.layers[i].diffid,
		    OCI_DIGEST_SIZE);
	memset(&im, 0, sizeof(im));
	im.hdr.type = IMSG_CTL_RUN;
	im.data = data;
	im.datalen = len;
	im.fd = -1;
	run_start(ir->r, &im, ir->by, layers, (uint32_t)mt.nlayers);
 done:
	free(layers);
	free(data);
	img_meta_free(&mt);
	free(ir->data);
	free(ir);
}

void
image_run(struct reply *r, struct imsg *im, uid_t by)
{
	struct imgrun	*ir;
	struct ctl_run	 run;

	memcpy(&run, im->data, sizeof(run));
	if (strcmp(run.backend, "microvm") == 0) {
		reply_error(r, CTL_EXIT_LENS, "run IMAGE: microvm backend not "
		    "supported yet, use --backend jail");
		return;
	}
	if ((ir = calloc(1, sizeof(*ir))) == NULL ||
	    (ir->data = malloc(im->datalen)) == NULL) {
		free(ir);
		reply_error(r, CTL_EXIT_LENS, "out of memory");
		return;
	}
	memcpy(ir->data, im->data, im->datalen);
	ir->len = im->datalen;
	ir->r = r;
	ir->by = by;
	strlcpy(ir->ref, run.rootfs, sizeof(ir->ref));
	/* auto: the jail until the microVM takes images */
	strlcpy(run.backend, "jail", sizeof(run.backend));
	memcpy(ir->data, &run, sizeof(run));
	/* as a pull's: not read until the answer (pulled_unpack) */
	imsgev_pause(&r->iev, 1);
	image_unpack(run.rootfs, image_unpacked, ir);
}

/* --- the jail process ----------------------------------------------------- */

/*
 * A user namespace for idmapped layer mounts: the layers' owner
 * (_lensimg, who unpacked them) is the sandbox's root (base).  The fd,
 * or -1.
 */
static int
layers_userns(uid_t base)
{
	struct privsep_user	 u;
	char			 path[64], line[64], e[128];
	int			 p[2], fd = -1, mfd;
	pid_t			 pid;
	const char		*f[2] = { "uid_map", "gid_map" };
	unsigned		 id[2];
	int			 i;

	if (privsep_user(VMM_IMAGE_USER, &u, e, sizeof(e)) == -1) {
		errno = ENOENT;
		return -1;
	}
	id[0] = (unsigned)u.uid;
	id[1] = (unsigned)u.gid;
	if (pipe2(p, O_CLOEXEC) == -1)
		return -1;
	pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL,
	    NULL, NULL);
	if (pid == -1) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		char	 c;

		close(p[1]);
		(void)!read(p[0], &c, 1);
		_exit(0);
	}
	close(p[0]);
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, f[i]);
		snprintf(line, sizeof(line), "%u %u 1\n", id[i],
		    (unsigned)base);
		if ((mfd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
			goto out;
		if (write(mfd, line, strlen(line)) != (ssize_t)strlen(line)) {
			close(mfd);
			goto out;
		}
		close(mfd);
	}
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
 out:
	close(p[1]);
	while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
		;
	return fd;
}

int
image_lowers(const struct jail_conf *c, const char *lower, char *opt,
    size_t optlen, char *err, size_t errlen)
{
	struct mount_attr	 attr;
	char			 path[PATH_MAX], name[16];
	size_t			 off = 0;
	int			 userns, lfd, tree, i;

	if (mount("lens-lower", lower, "tmpfs", MS_NOSUID | MS_NODEV,
	    "mode=0755,size=1m") == -1 ||
	    (lfd = open(lower, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "tmpfs on %s: %s", lower,
		    strerror(errno));
		return -1;
	}
	if ((userns = layers_userns(c->base)) == -1) {
		snprintf(err, errlen, "the layers' user namespace: %s",
		    strerror(errno));
		close(lfd);
		return -1;
	}
	opt[0] = '\0';
	/* overlayfs: the first lowerdir is the top layer */
	for (i = (int)c->nlayers - 1; i >= 0; i--) {
		const char	*diffid = c->layers + (size_t)i *
				    OCI_DIGEST_SIZE;

		if (layer_path(statedir, diffid, path, sizeof(path)) == -1 ||
		    (tree = (int)syscall(SYS_open_tree, AT_FDCWD, path,
		    OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)) == -1) {
			snprintf(err, errlen, "layer %s: %s", diffid,
			    strerror(errno));
			goto fail;
		}
		memset(&attr, 0, sizeof(attr));
		attr.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY |
		    MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
		attr.userns_fd = (uint64_t)userns;
		snprintf(name, sizeof(name), "%d", i);
		if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr,
		    sizeof(attr)) == -1 || mkdirat(lfd, name, 0755) == -1 ||
		    syscall(SYS_move_mount, tree, "", lfd, name,
		    MOVE_MOUNT_F_EMPTY_PATH) == -1) {
			snprintf(err, errlen, "mount layer %s: %s", diffid,
			    strerror(errno));
			close(tree);
			goto fail;
		}
		close(tree);
		if ((size_t)snprintf(opt + off, optlen - off, "%s%s/%s",
		    off ? ":" : "", lower, name) >= optlen - off) {
			snprintf(err, errlen, "%u layers: too many for one "
			    "overlayfs mount", c->nlayers);
			goto fail;
		}
		off += strlen(opt + off);
	}
	close(userns);
	close(lfd);
	return 0;
 fail:
	close(userns);
	close(lfd);
	return -1;
}
