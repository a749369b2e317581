/*
 * cgroups of the sandboxes, run in the parent.  Version 2 (the unified
 * hierarchy) when /sys/fs/cgroup/cgroup.controllers exists, otherwise
 * version 1 with the memory, pids and cpu hierarchies.  Every sandbox
 * gets NAME/ID in each hierarchy (v1) or /sys/fs/cgroup/NAME/ID (v2),
 * NAME being this instance's parent cgroup (-c, by default "lens").
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "lensvmm.h"

#define CGROOT	"/sys/fs/cgroup"

static int	 v2 = -1;
static char	 cgname[CGROUP_NAME_MAX + 1] = "lens";
static const char *const v1ctl[] = { "memory", "pids", "cpu" };
#define NV1	3

/* a parent cgroup name: one path component, [A-Za-z0-9._-] */
int
cgroup_name_ok(const char *name)
{
	size_t	 i, len = strlen(name);

	if (len == 0 || len > CGROUP_NAME_MAX || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0 || strncmp(name, "cgroup.", 7) == 0)
		return 0;
	for (i = 0; i < len; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		    (name[i] >= 'A' && name[i] <= 'Z') ||
		    (name[i] >= '0' && name[i] <= '9') ||
		    name[i] == '.' || name[i] == '_' || name[i] == '-'))
			return 0;
	return 1;
}

/* the parent cgroup of this instance in hierarchy i */
static void
parent_path(char *path, size_t len, size_t i)
{
	if (v2 == 1)
		snprintf(path, len, CGROOT "/%s", cgname);
	else
		snprintf(path, len, CGROOT "/%s/%s", v1ctl[i], cgname);
}

int
cgroup_init(const char *name)
{
	struct stat	 st;
	size_t		 i;
	char		 path[PATH_MAX], ctl[PATH_MAX + 32];

	if (!cgroup_name_ok(name)) {
		errno = EINVAL;
		return -1;
	}
	strlcpy(cgname, name, sizeof(cgname));
	v2 = stat(CGROOT "/cgroup.controllers", &st) == 0;
	if (v2) {
		/* controllers for NAME/ and below */
		parent_path(path, sizeof(path), 0);
		if (mkdir(path, 0755) == -1 && errno != EEXIST) {
			log_warn("mkdir %s", path);
			return -1;
		}
		(void)cgroup_write_str(CGROOT "/cgroup.subtree_control",
		    "+memory +pids +cpu");
		snprintf(ctl, sizeof(ctl), "%s/cgroup.subtree_control", path);
		if (cgroup_write_str(ctl, "+memory +pids +cpu") == -1)
			log_warn("enable controllers in %s", path);
		return 0;
	}
	for (i = 0; i < NV1; i++) {
		parent_path(path, sizeof(path), i);
		if (mkdir(path, 0755) == -1 && errno != EEXIST) {
			log_warn("mkdir %s", path);
			return -1;
		}
	}
	return 0;
}

/* at exit: remove this instance's parent cgroups if they are empty */
void
cgroup_fini(void)
{
	size_t	 i, n = v2 == 1 ? 1 : NV1;
	char	 path[PATH_MAX];

	if (v2 == -1)
		return;
	for (i = 0; i < n; i++) {
		parent_path(path, sizeof(path), i);
		if (rmdir(path) == -1 && errno != ENOENT && errno != EBUSY &&
		    errno != ENOTEMPTY)
			log_warn("rmdir %s", path);
	}
}

const char *
cgroup_parent(void)
{
	return cgname;
}

int
cgroup_is_v2(void)
{
	return v2 == 1;
}

int
cgroup_write_str(const char *path, const char *s)
{
	int	 fd;
	ssize_t	 n;
	size_t	 len = strlen(s);

	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	n = write(fd, s, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

static int
write_in(const char *dir, const char *file, const char *fmt,
    unsigned long long v, char *err, size_t errlen)
{
	char	 path[PATH_MAX], buf[64];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	snprintf(buf, sizeof(buf), fmt, v);
	if (cgroup_write_str(path, buf) == -1) {
		snprintf(err, errlen, "cgroup: write %s to %s: %s", buf, path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

void
cgroup_path(struct cgroup *cg, const char *id)
{
	size_t	 i;

	memset(cg, 0, sizeof(*cg));
	cg->v2 = cgroup_is_v2();
	if (cg->v2) {
		snprintf(cg->paths[0], sizeof(cg->paths[0]), CGROOT "/%s/%s",
		    cgname, id);
		cg->n = 1;
		return;
	}
	for (i = 0; i < NV1; i++)
		snprintf(cg->paths[i], sizeof(cg->paths[i]), CGROOT
		    "/%s/%s/%s", v1ctl[i], cgname, id);
	cg->n = NV1;
}

int
cgroup_create(struct cgroup *cg, const char *id, uint64_t memory,
    uint32_t cpu_millis, uint32_t pids, char *err, size_t errlen)
{
	int	 i;
	char	 path[PATH_MAX + 32];

	cgroup_path(cg, id);
	for (i = 0; i < cg->n; i++) {
		if (mkdir(cg->paths[i], 0755) == -1) {
			snprintf(err, errlen, "cgroup: mkdir %s: %s",
			    cg->paths[i], strerror(errno));
			goto fail;
		}
	}
	if (cg->v2) {
		if (memory && (write_in(cg->paths[0], "memory.max", "%llu",
		    memory, err, errlen) == -1 ||
		    write_in(cg->paths[0], "memory.swap.max", "%llu", 0, err,
		    errlen) == -1))
			goto fail;
		if (write_in(cg->paths[0], "pids.max", "%llu", pids, err,
		    errlen) == -1)
			goto fail;
		if (cpu_millis && write_in(cg->paths[0], "cpu.max",
		    "%llu 100000", (unsigned long long)cpu_millis * 100, err,
		    errlen) == -1)
			goto fail;
		return 0;
	}
	/* v1: memory, pids, cpu */
	if (memory) {
		if (write_in(cg->paths[0], "memory.limit_in_bytes", "%llu",
		    memory, err, errlen) == -1)
			goto fail;
		snprintf(path, sizeof(path), "%s/memory.memsw.limit_in_bytes",
		    cg->paths[0]);
		if (access(path, F_OK) == 0 && write_in(cg->paths[0],
		    "memory.memsw.limit_in_bytes", "%llu", memory, err,
		    errlen) == -1)
			goto fail;
		(void)write_in(cg->paths[0], "memory.swappiness", "%llu", 0,
		    err, errlen);
	}
	if (write_in(cg->paths[1], "pids.max", "%llu", pids, err, errlen) ==
	    -1)
		goto fail;
	if (cpu_millis && (write_in(cg->paths[2], "cpu.cfs_period_us", "%llu",
	    100000, err, errlen) == -1 ||
	    write_in(cg->paths[2], "cpu.cfs_quota_us", "%llu",
	    (unsigned long long)cpu_millis * 100, err, errlen) == -1))
		goto fail;
	return 0;
fail:
	(void)cgroup_destroy(cg);
	return -1;
}

int
cgroup_open_procs(const struct cgroup *cg, int fds[4])
{
	char	 path[PATH_MAX + 32];
	int	 i;

	for (i = 0; i < 4; i++)
		fds[i] = -1;
	for (i = 0; i < cg->n; i++) {
		snprintf(path, sizeof(path), "%s/cgroup.procs", cg->paths[i]);
		if ((fds[i] = open(path, O_WRONLY | O_CLOEXEC)) == -1) {
			while (--i >= 0)
				close(fds[i]);
			return -1;
		}
	}
	return 0;
}

/*
 * Move pid (0: the caller) into the sandbox's cgroups through the
 * cgroup.procs descriptors of cgroup_open_procs(), then close them all,
 * written or not, and mark them -1: nothing that runs after this (the
 * sandbox's jail process, its vm process) keeps a root-opened handle
 * that could move any host process into the cgroup teardown kills.
 */
int
cgroup_join(int fds[4], pid_t pid)
{
	char	 buf[32];
	int	 i, n, rc = 0, saved = 0;

	n = snprintf(buf, sizeof(buf), "%d", (int)pid);
	for (i = 0; i < 4 && fds[i] != -1; i++)
		if (rc == 0 && write(fds[i], buf, (size_t)n) != n) {
			saved = errno;
			rc = -1;
		}
	for (i = 0; i < 4; i++)
		if (fds[i] != -1) {
			close(fds[i]);
			fds[i] = -1;
		}
	errno = saved;
	return rc;
}

int
cgroup_open_oom(const struct cgroup *cg)
{
	char	 path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/%s", cg->paths[0],
	    cg->v2 ? "memory.events" : "memory.oom_control");
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* the oom_kill counter (v2 memory.events, v1 memory.oom_control) */
uint64_t
cgroup_oom_count(int fd)
{
	char		 buf[1024], *p;
	ssize_t		 n;

	if (fd == -1 || (n = pread(fd, buf, sizeof(buf) - 1, 0)) <= 0)
		return 0;
	buf[n] = '\0';
	for (p = buf; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 :
	    NULL) {
		if (strncmp(p, "oom_kill ", 9) == 0)
			return strtoull(p + 9, NULL, 10);
	}
	return 0;
}

static int
kill_procs(const char *dir)
{
	char	 path[PATH_MAX + 32], buf[8192], *p, *end;
	int	 fd, n = 0;
	ssize_t	 len;
	long	 pid;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return 0;
	buf[len] = '\0';
	for (p = buf; *p; p = end) {
		pid = strtol(p, &end, 10);
		if (end == p)
			break;
		while (*end == '\n')
			end++;
		if (pid > 1 && kill((pid_t)pid, SIGKILL) == 0)
			n++;
	}
	return n;
}

int
cgroup_kill(const struct cgroup *cg)
{
	char	 path[PATH_MAX + 32];
	int	 i, n = 0;

	if (cg->v2) {
		snprintf(path, sizeof(path), "%s/cgroup.kill", cg->paths[0]);
		if (cgroup_write_str(path, "1") == 0)
			return 0;
	}
	for (i = 0; i < cg->n; i++)
		n += kill_procs(cg->paths[i]);
	return n;
}

int
cgroup_destroy(const struct cgroup *cg)
{
	int	 i, tries, rc = 0;

	for (i = 0; i < cg->n; i++) {
		if (cg->paths[i][0] == '\0')
			continue;
		for (tries = 0; tries < 100; tries++) {
			if (rmdir(cg->paths[i]) == 0 || errno == ENOENT)
				break;
			if (errno != EBUSY)
				break;
			(void)kill_procs(cg->paths[i]);
			usleep(10000);
		}
		if (access(cg->paths[i], F_OK) == 0) {
			log_warn("cgroup: rmdir %s", cg->paths[i]);
			rc = -1;
		}
	}
	return rc;
}

void
cgroup_scan(void (*cb)(const char *, void *), void *arg)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[PATH_MAX];
	size_t		 i, n = cgroup_is_v2() ? 1 : NV1;

	for (i = 0; i < n; i++) {
		parent_path(path, sizeof(path), i);
		if ((d = opendir(path)) == NULL)
			continue;
		while ((de = readdir(d)) != NULL) {
			if (de->d_type == DT_DIR && de->d_name[0] != '.')
				cb(de->d_name, arg);
		}
		closedir(d);
	}
}
