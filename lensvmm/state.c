/*
 * lensvmm parent: the sandbox table and its state directory:
 * config.json (written atomically, what inspect shows), ps and inspect,
 * removal of a sandbox's files, and recovery at start from what a
 * previous lensvmm left (state directories, cgroups, mounts).
 */
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "grammar.h"
#include "imsgev.h"
#include "log.h"
#include "lensvmm.h"
#include "parent.h"

struct sbxlist			 sandboxes = TAILQ_HEAD_INITIALIZER(sandboxes);

static const char *
state_name(int st)
{
	switch (st) {
	case SANDBOX_CREATED:
		return "created";
	case SANDBOX_RUNNING:
		return "running";
	default:
		return "stopped";
	}
}

json_t *
sbx_json(const struct sbx *sb)
{
	json_t		*j, *argv, *env, *vols, *res;
	const char	*p = sb->strings;

	argv = strings_json(p, sb->run.argc, &p);
	env = strings_json(p, sb->run.envc, &p);
	vols = strings_json(p, sb->run.nvolumes, &p);
	res = json_pack("{s:I, s:I, s:I}", "memory", (json_int_t)sb->run.memory,
	    "cpu_millis", (json_int_t)sb->run.cpu_millis, "pids",
	    (json_int_t)(sb->run.pids ? sb->run.pids : VMM_DEFAULT_PIDS));
	j = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:s, s:s,"
	    " s:b, s:b, s:b, s:b, s:b, s:I, s:I, s:s, s:I, s:I, s:I, s:i,"
	    " s:i, s:b, s:i}",
	    "id", sb->id, "name", sb->name, "backend", sb->backend,
	    "rootfs", sb->run.rootfs, "command", argv, "env", env,
	    "volumes", vols, "resources", res, "user",
	    (sb->run.flags & RUN_ROOT) ? "root" : (sb->run.user[0] ?
	    sb->run.user : "1000"), "cwd", sb->run.cwd,
	    "tty", (sb->run.flags & RUN_TTY) != 0,
	    "stdin", (sb->run.flags & RUN_STDIN) != 0,
	    "detach", (sb->run.flags & RUN_DETACH) != 0,
	    "autoremove", (sb->run.flags & RUN_RM) != 0,
	    "root", (sb->run.flags & RUN_ROOT) != 0,
	    "uid_base", (json_int_t)sb->base, "uid_count",
	    (json_int_t)VMM_UIDRANGE, "state", state_name(sb->state),
	    "created", (json_int_t)sb->created, "started",
	    (json_int_t)sb->started, "finished", (json_int_t)sb->finished,
	    "exit_code", sb->exit_code, "signal", sb->exit_sig,
	    "oom_killed", sb->oom, "pid", (int)sb->initpid);
	if (j == NULL)
		fatalx("json_pack");
	json_object_set_new(j, "cgroup", json_string(sb->cg.paths[0]));
	json_object_set_new(j, "labels", sb->labels != NULL ?
	    json_incref(sb->labels) : json_object());
	json_object_set_new(j, "read_only", json_boolean(sb->run.flags &
	    RUN_READONLY));
	{
		/* --tmpfs and --ulimit as the sandbox got them */
		struct gr_tmpfs	 tm[GR_MAXTMPFS];
		struct gr_ulimit ul[GR_MAXULIMITS];
		char		 err[GR_ERRSIZE], mode[8];
		json_t		*a, *u;
		int		 ntm, nul, k;

		a = json_array();
		u = json_array();
		if (runopts_parse(sb, tm, &ntm, ul, &nul, err,
		    sizeof(err)) == -1)
			ntm = nul = 0;
		for (k = 0; k < ntm; k++) {
			snprintf(mode, sizeof(mode), "%04o", tm[k].mode);
			json_array_append_new(a, json_pack("{s:s, s:I, s:s}",
			    "path", tm[k].path, "size",
			    (json_int_t)tm[k].size, "mode", mode));
		}
		for (k = 0; k < nul; k++)
			json_array_append_new(u, json_pack("{s:s, s:I, s:I}",
			    "name", ul[k].name, "soft", ul[k].soft ==
			    RLIM_INFINITY ? (json_int_t)-1 :
			    (json_int_t)ul[k].soft, "hard", ul[k].hard ==
			    RLIM_INFINITY ? (json_int_t)-1 :
			    (json_int_t)ul[k].hard));
		json_object_set_new(j, "tmpfs", a);
		json_object_set_new(j, "ulimits", u);
	}
	if (sb->backend_why[0] != '\0')
		json_object_set_new(j, "backend_reason",
		    json_string(sb->backend_why));
	if (sb->run.npublish > 0)
		json_object_set_new(j, "publish", strings_json(p,
		    sb->run.npublish, NULL));
	if (sb->net.net) {
		char	 a[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &sb->net.addr, a, sizeof(a));
		inet_ntop(AF_INET, &sb->net.gateway, g, sizeof(g));
		json_object_set_new(j, "network", json_pack(
		    "{s:s, s:s, s:i, s:s, s:s}", "address", a, "gateway", g,
		    "proxy_port", (int)sb->net.proxyport, "state", sb->net_lost ?
		    "lost" : "attached", "lensnetd", sb->net.instance));
		if (sb->net_lost && sb->reattach_err[0] != '\0')
			json_object_set_new(json_object_get(j, "network"),
			    "reattach_error", json_string(sb->reattach_err));
	} else
		json_object_set_new(j, "network", json_string(
		    netdsock[0] ? "lensnetd" : "none (loopback only)"));
	json_object_set_new(j, "policy", sb->policy == NULL ?
	    json_string("none (deny everything)") : json_pack("{s:s, s:I, s:s%, "
	    "s:s}", "sha256", sb->policyhash, "bytes",
	    (json_int_t)sb->policylen, "text", sb->policy, sb->policylen,
	    "path", sb->run.policypath));
	/* the sandbox CA's certificate (lenscredd, via lensnetd) */
	if (sb->calen > 0)
		json_object_set_new(j, "ca", json_stringn(sb->ca, sb->calen));
	json_object_set_new(j, "state_dir", json_string(sb->dir));
	/* not secrets (placeholder.c): inspect shows them */
	json_object_set_new(j, "placeholders", ph_json(sb));
	return j;
}

/* config.json: everything inspect shows; written atomically */
int
sbx_save(const struct sbx *sb)
{
	char	 path[PATH_MAX + 32], tmp[PATH_MAX + 32];
	json_t	*j;
	json_t	*strs;
	int	 rc;

	if (sb->removed)
		return 0;
	j = sbx_json(sb);
	strs = json_stringn(sb->strings, sb->stringslen);
	json_object_set_new(j, "_strings", strs);
	if (sb->policy != NULL)
		json_object_set_new(j, "_policy", json_stringn(sb->policy,
		    sb->policylen));
	json_object_set_new(j, "_slot", json_integer(sb->slot));
	json_object_set_new(j, "_flags", json_integer(sb->run.flags));
	snprintf(path, sizeof(path), "%s/config.json", sb->dir);
	snprintf(tmp, sizeof(tmp), "%s/config.json.tmp", sb->dir);
	rc = json_dump_file(j, tmp, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(j);
	if (rc == -1 || rename(tmp, path) == -1) {
		log_warn("write %s", path);
		return -1;
	}
	return 0;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	if (flag == FTW_DP || flag == FTW_D)
		return rmdir(path) == -1 && errno != ENOENT ? -1 : 0;
	return unlink(path) == -1 && errno != ENOENT ? -1 : 0;
}

static int
rm_tree(const char *dir)
{
	if (access(dir, F_OK) == -1 && errno == ENOENT)
		return 0;
	return nftw(dir, rm_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

/* undo what creation did: cgroup, state directory; forget it */
void
sbx_destroy_files(struct sbx *sb)
{
	if (sb->cg.n > 0) {
		(void)cgroup_kill(&sb->cg);
		(void)cgroup_destroy(&sb->cg);
	}
	if (sb->dir[0] != '\0' && rm_tree(sb->dir) == -1)
		log_warn("remove %s", sb->dir);
	sb->removed = 1;
	/* its uids own nothing any more */
	slot_unlock(sb);
}

struct sbx *
sbx_find(const char *ref, char *err, size_t errlen)
{
	struct sbx	*sb, *found = NULL;
	size_t		 n = strlen(ref), hits = 0;

	TAILQ_FOREACH(sb, &sandboxes, entry)
		if (!sb->removed && (strcmp(sb->id, ref) == 0 ||
		    strcmp(sb->name, ref) == 0))
			return sb;
	TAILQ_FOREACH(sb, &sandboxes, entry)
		if (!sb->removed && strncmp(sb->id, ref, n) == 0) {
			found = sb;
			hits++;
		}
	if (hits == 1)
		return found;
	snprintf(err, errlen, hits ? "sandbox reference %s is ambiguous" :
	    "no such sandbox: %s", ref);
	return NULL;
}

void
req_ps(struct reply *r, struct imsg *im)
{
	struct ctl_ps		 ps;
	struct ctl_sandbox	 cs;
	struct sbx		*sb;
	const char		*p;
	uint32_t		 i;
	size_t			 n;

	memcpy(&ps, im->data, sizeof(ps));
	TAILQ_FOREACH(sb, &sandboxes, entry) {
		if (sb->removed || (!ps.all && sb->state == SANDBOX_STOPPED))
			continue;
		if (ps.label[0] != '\0') {
			/* --filter label=KEY or label=KEY=VALUE */
			char		 key[CTL_LABEL_SIZE], *eq;
			const char	*v;

			strlcpy(key, ps.label, sizeof(key));
			if ((eq = strchr(key, '=')) != NULL)
				*eq++ = '\0';
			v = json_string_value(json_object_get(sb->labels,
			    key));
			if (v == NULL || (eq != NULL && strcmp(v, eq) != 0))
				continue;
		}
		memset(&cs, 0, sizeof(cs));
		strlcpy(cs.id, sb->id, sizeof(cs.id));
		strlcpy(cs.name, sb->name, sizeof(cs.name));
		strlcpy(cs.backend, sb->backend, sizeof(cs.backend));
		cs.state = (uint32_t)sb->state;
		cs.net_lost = sb->net_lost != 0;
		cs.exit_code = sb->exit_code;
		cs.created = sb->created;
		for (i = 0, p = sb->strings; i < sb->run.argc; i++) {
			n = strlen(cs.command);
			snprintf(cs.command + n, sizeof(cs.command) - n, "%s%s",
			    i ? " " : "", p);
			p += strlen(p) + 1;
		}
		reply_send(r, IMSG_CTL_PS_ENTRY, &cs, sizeof(cs));
	}
	reply_ok(r);
}

void
req_inspect(struct reply *r, struct imsg *im)
{
	struct ctl_ref	 rf;
	struct sbx	*sb;
	char		 err[256], *s;
	json_t		*j;

	memcpy(&rf, im->data, sizeof(rf));
	if ((sb = sbx_find(rf.sandbox, err, sizeof(err))) == NULL) {
		reply_error(r, CTL_EXIT_LENS, "%s", err);
		return;
	}
	j = sbx_json(sb);
	s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(j);
	if (s == NULL || strlen(s) > IMSG_MAXPAYLOAD) {
		free(s);
		reply_error(r, CTL_EXIT_LENS, "inspect: description too "
		    "large");
		return;
	}
	reply_send(r, IMSG_CTL_JSON, s, strlen(s));
	free(s);
	reply_ok(r);
}

void
sbx_free(struct sbx *sb)
{
	struct waiter	*w;

	while ((w = TAILQ_FIRST(&sb->waiters)) != NULL) {
		TAILQ_REMOVE(&sb->waiters, w, entry);
		free(w);
	}
	if (sb->jail_open)
		imsgev_clear(&sb->jch.iev);
	netd_sbx_end(sb);
	if (sb->child.sigsys != NULL)
		munmap((void *)sb->child.sigsys, sizeof(int32_t));
	proc_log_unwatch(&sb->child);
	slot_unlock(sb);
	reload_unwatch(sb);
	TAILQ_REMOVE(&sandboxes, sb, entry);
	free(sb->strings);
	json_decref(sb->labels);
	free(sb->policy);
	free(sb->model);
	free(sb->ph);
	free(sb->ca);
	free(sb);
}

/* kill what is left in the cgroups of sandbox id and remove them */
static void
recover_cgroup_of(const char *id)
{
	struct cgroup	 cg;
	struct stat	 st;
	int		 n, i, found = 0;

	cgroup_path(&cg, id);
	for (i = 0; i < cg.n; i++)
		if (stat(cg.paths[i], &st) == 0)
			found = 1;
	if (!found)
		return;
	if ((n = cgroup_kill(&cg)) > 0)
		log_info("recovery: killed %d leftover processes of %s", n, id);
	if (cgroup_destroy(&cg) == 0)
		log_info("recovery: removed the cgroups of %s", id);
}

/*
 * A cgroup under this instance's parent: only those of sandboxes in our
 * state directory are ours.  Anything else belongs to another lensvmm
 * that was given the same -c name, and is left alone.
 */
static void
recover_cgroup(const char *id, void *arg)
{
	struct sbx	*sb;

	(void)arg;
	TAILQ_FOREACH(sb, &sandboxes, entry)
		if (strcmp(sb->id, id) == 0)
			break;
	if (sb == NULL) {
		log_warnx("recovery: cgroup %s/%s is not a sandbox of %s; "
		    "left alone", cgroup_parent(), id, statedir);
		return;
	}
	if (sb->state == SANDBOX_STOPPED)
		recover_cgroup_of(id);
}

static void
recover_mounts(void)
{
	FILE	*f;
	char	 line[4096], prefix[PATH_MAX + 16], *p, *mp;
	int	 i, found;
	size_t	 plen;

	snprintf(prefix, sizeof(prefix), "%s/sandboxes/", statedir);
	plen = strlen(prefix);
	/* deepest first: repeat while anything is found */
	for (i = 0; i < 16; i++) {
		found = 0;
		if ((f = fopen("/proc/self/mountinfo", "re")) == NULL)
			return;
		while (fgets(line, sizeof(line), f) != NULL) {
			p = line;
			/* 5th field is the mount point */
			strsep(&p, " ");
			strsep(&p, " ");
			strsep(&p, " ");
			strsep(&p, " ");
			if ((mp = strsep(&p, " ")) == NULL)
				continue;
			if (strncmp(mp, prefix, plen) == 0) {
				if (umount2(mp, MNT_DETACH) == 0)
					log_info("recovery: unmounted %s", mp);
				found = 1;
			}
		}
		fclose(f);
		if (!found)
			break;
	}
}

void
recover(void)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[PATH_MAX + 300];
	json_t		*j;
	json_error_t	 je;
	struct sbx	*sb;
	const char	*s, *cs;
	size_t		 len;

	recover_mounts();
	snprintf(path, sizeof(path), "%s/sandboxes", statedir);
	if ((d = opendir(path)) == NULL)
		fatal("opendir %s", path);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/sandboxes/%s/config.json",
		    statedir, de->d_name);
		if (!gr_id(de->d_name) ||
		    (j = json_load_file(path, JSON_REJECT_DUPLICATES |
		    JSON_ALLOW_NUL, &je)) ==
		    NULL) {
			snprintf(path, sizeof(path), "%s/sandboxes/%s",
			    statedir, de->d_name);
			log_warnx("recovery: %s has no usable config.json; "
			    "removed", path);
			/* it may have died between its cgroup and its
			 * config.json: the cgroup goes too */
			if (gr_id(de->d_name))
				recover_cgroup_of(de->d_name);
			(void)rm_tree(path);
			continue;
		}
		if ((sb = calloc(1, sizeof(*sb))) == NULL)
			fatal("calloc");
		TAILQ_INIT(&sb->waiters);
		sb->child.fd = -1;
		sb->child.logfd = -1;
		sb->slotfd = -1;
		sb->netnsfd = -1;
		strlcpy(sb->id, de->d_name, sizeof(sb->id));
		if ((size_t)snprintf(sb->dir, sizeof(sb->dir),
		    "%s/sandboxes/%s", statedir, sb->id) >= sizeof(sb->dir))
			fatalx("state directory path too long");
		cgroup_path(&sb->cg, sb->id);
		s = json_string_value(json_object_get(j, "name"));
		strlcpy(sb->name, s ? s : sb->id, sizeof(sb->name));
		s = json_string_value(json_object_get(j, "rootfs"));
		strlcpy(sb->run.rootfs, s ? s : "", sizeof(sb->run.rootfs));
		s = json_string_value(json_object_get(j, "backend"));
		strlcpy(sb->backend, s != NULL && strcmp(s, "microvm") == 0 ?
		    "microvm" : "jail", sizeof(sb->backend));
		s = json_string_value(json_object_get(j, "backend_reason"));
		strlcpy(sb->backend_why, s ? s : "", sizeof(sb->backend_why));
		sb->slot = (int)json_integer_value(json_object_get(j, "_slot"));
		sb->base = VMM_UIDBASE + VMM_UIDRANGE * (uid_t)sb->slot;
		sb->run.flags = (uint32_t)json_integer_value(json_object_get(j,
		    "_flags"));
		sb->run.argc = (uint32_t)json_array_size(json_object_get(j,
		    "command"));
		sb->run.envc = (uint32_t)json_array_size(json_object_get(j,
		    "env"));
		sb->run.nvolumes = (uint32_t)json_array_size(json_object_get(j,
		    "volumes"));
		sb->run.ntmpfs = (uint32_t)json_array_size(json_object_get(j,
		    "tmpfs"));
		sb->run.nulimits = (uint32_t)json_array_size(json_object_get(j,
		    "ulimits"));
		sb->run.memory = (uint64_t)json_integer_value(json_object_get(
		    json_object_get(j, "resources"), "memory"));
		sb->run.cpu_millis = (uint32_t)json_integer_value(
		    json_object_get(json_object_get(j, "resources"),
		    "cpu_millis"));
		sb->run.pids = (uint32_t)json_integer_value(json_object_get(
		    json_object_get(j, "resources"), "pids"));
		s = json_string_value(json_object_get(j, "cwd"));
		strlcpy(sb->run.cwd, s ? s : "", sizeof(sb->run.cwd));
		{
			json_t		*l = json_object_get(j, "labels"), *v;
			const char	*k;

			if ((sb->labels = json_object()) == NULL)
				fatalx("json_object");
			json_object_foreach(l, k, v)
				if (json_is_string(v))
					json_object_set(sb->labels, k, v);
		}
		s = json_string_value(json_object_get(j, "_strings"));
		len = json_string_length(json_object_get(j, "_strings"));
		if ((sb->strings = malloc(len + 1)) == NULL)
			fatal("malloc");
		memcpy(sb->strings, s ? s : "", s ? len : 0);
		sb->stringslen = len;
		if ((s = json_string_value(json_object_get(j, "_policy"))) !=
		    NULL) {
			char	 perr[512];

			s = json_string_value(json_object_get(json_object_get(
			    j, "policy"), "path"));
			strlcpy(sb->run.policypath, s != NULL ? s : "",
			    sizeof(sb->run.policypath));
			s = json_string_value(json_object_get(j, "_policy"));
			if (policy_take(sb, "policy", s, json_string_length(
			    json_object_get(j, "_policy")), perr,
			    sizeof(perr)) == -1)
				log_warnx("%s: policy: %s", sb->id, perr);
			else
				ph_restore(sb, json_object_get(j,
				    "placeholders"));
		}
		if ((cs = json_string_value(json_object_get(j, "ca"))) !=
		    NULL) {
			char	 cerr[160];
			size_t	 clen = json_string_length(json_object_get(j,
			    "ca"));

			if (pemcert_check(cs, clen, cerr, sizeof(cerr)) == -1)
				log_warnx("%s: ca: %s; dropped", sb->id, cerr);
			else if ((sb->ca = malloc(clen)) == NULL)
				fatal("malloc");
			else {
				memcpy(sb->ca, cs, clen);
				sb->calen = clen;
			}
		}
		if (strings_len(sb->strings, 0) > len || s == NULL ||
		    sb->slot < 0 || sb->slot >= VMM_MAXSANDBOXES * 4) {
			sb->run.argc = sb->run.envc = sb->run.nvolumes = 0;
		} else {
			/* the strings must hold what the counts say */
			const char	*p = sb->strings, *end = p + len;
			uint32_t	 i, n = sb->run.argc + sb->run.envc +
			    sb->run.nvolumes;

			for (i = 0; i < n && p < end; i++) {
				const char *nul = memchr(p, '\0', end - p);

				if (nul == NULL)
					break;
				p = nul + 1;
			}
			if (i != n)
				sb->run.argc = sb->run.envc =
				    sb->run.nvolumes = 0;
		}
		sb->state = SANDBOX_STOPPED;
		sb->exit_code = (int32_t)json_integer_value(json_object_get(j,
		    "exit_code"));
		sb->exit_sig = (int32_t)json_integer_value(json_object_get(j,
		    "signal"));
		sb->oom = json_is_true(json_object_get(j, "oom_killed"));
		sb->created = json_integer_value(json_object_get(j, "created"));
		sb->started = json_integer_value(json_object_get(j, "started"));
		sb->finished = json_integer_value(json_object_get(j,
		    "finished"));
		s = json_string_value(json_object_get(j, "state"));
		/* its files in upper/ are owned by its uids: keep them */
		if (sb->slot >= 0 && sb->slot < VMM_MAXSANDBOXES * 4 &&
		    (sb->slotfd = slot_lock(sb->slot)) == -1)
			log_warnx("recovery: the uids of sandbox %s (slot %d) "
			    "are taken by another lensvmm", sb->name,
			    sb->slot);
		TAILQ_INSERT_TAIL(&sandboxes, sb, entry);
		if (s != NULL && strcmp(s, "stopped") != 0) {
			/* it was running when lensvmm died: it is gone now */
			log_info("recovery: sandbox %s (%s) was %s; marked "
			    "stopped", sb->name, sb->id, s);
			(void)cgroup_kill(&sb->cg);
			(void)cgroup_destroy(&sb->cg);
			sb->exit_code = 255;
			sb->finished = time(NULL);
			audit_event(sb, "sandbox.exit", json_pack("{s:i, s:b}",
			    "exit_code", 255, "recovered", 1));
			if (sb->run.flags & RUN_RM) {
				sbx_remove(sb, "--rm (recovered)");
				sbx_free(sb);
			} else
				sbx_save(sb);
		}
		json_decref(j);
	}
	closedir(d);
	cgroup_scan(recover_cgroup, NULL);
}
