/*
 * lensctl run, exec, ps, stop, rm, logs, inspect: sandboxes, through
 * lensvmm's control socket (common/lensvmm_imsg.h).
 *
 *	lensctl run [-d] [-i] [-t] [--name N] [--rm] [--rootfs DIR]
 *	    [--backend jail|microvm|auto] [-e K[=V]] [-w DIR] [-u USER]
 *	    [-v SRC:DST[:ro]] [-p [ADDR:]HOSTPORT:PORT[/tcp]] [--memory SIZE]
 *	    [--cpus N] [--pids N] [--policy FILE] [--read-only]
 *	    [--tmpfs PATH[:size=N,mode=M]] [--ulimit NAME=SOFT[:HARD]] -- CMD ...
 *	lensctl exec [-i] [-t] [-e K[=V]] [-u USER] [-w DIR] ID -- CMD ...
 *	lensctl ps [-a] [--json]
 *	lensctl stop [-t SECS] ID ...
 *	lensctl rm [-f] ID ...
 *	lensctl logs [-ft] [-n|--tail N] [--since TIME] ID
 *	lensctl inspect ID ...
 *
 * Every command takes -s SOCKET; without it LENS_VMM_SOCKET, then
 * /run/lens/lensvmm.sock.  Everything is validated here first, so that
 * a mistake is named before anything starts; lensvmm checks again.
 *
 * run and exec exit with the workload's status, or 125 (Lens could not
 * run it), 126 (not executable), 127 (not found), as docker does.  The
 * other commands exit 0, 1 (lensvmm refused or failed) or 2 (usage).
 */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "imsg.h"
#include "log.h"
#include "lensvmm_imsg.h"
#include "policy.h"
#include "grammar.h"
#include "chain.h"
#include "lensctl.h"
#include "unixsock.h"

#define VMM_SOCKET	"/run/lens/lensvmm.sock"
#define DEFAULT_ROOTFS	"/var/lib/lens/rootfs/default"
#define MAX_STOP_SECS	86400
#define STDIN_HIWAT	(1024 * 1024)		/* stop reading stdin above */

static int	sb_run(int, char **);
static int	sb_exec(int, char **);
static int	sb_ps(int, char **);
static int	sb_stop(int, char **);
static int	sb_rm(int, char **);
static int	sb_logs(int, char **);
static int	sb_inspect(int, char **);

static const struct lensctl_cmd sandbox_cmds[] = {
	{ "run", sb_run, "[-dit] [--name name] [--rm] [--rootfs dir] "
	    "[--backend jail|microvm|auto] [-e key[=value]] "
	    "[--env-file file] [-h hostname] [-w dir] [-u user] "
	    "[-v src:dst[:ro]] "
	    "[--mount type=bind,source=src,target=dst[,readonly]] "
	    "[-p [addr:]hostport:port[/tcp]] [--label key[=value]] "
	    "[-m size] [--memory size] "
	    "[--cpus n] [--pids n] [--policy file] [--read-only] "
	    "[--tmpfs path[:size=n,mode=m]] [--ulimit name=soft[:hard]] "
	    "[-s socket] [--entrypoint cmd] image | --rootfs dir | -- "
	    "[command [arg ...]]",
	    "run a command in a new sandbox" },
	{ "exec", sb_exec, "[-it] [-e key[=value]] [-u user] [-w dir] "
	    "[-s socket] id -- command [arg ...]",
	    "run another command in a running sandbox" },
	{ "ps", sb_ps, "[-a] [--filter label=key[=value]] [--json] "
	    "[-s socket]",
	    "list the running sandboxes (-a: and the stopped ones)" },
	{ "stop", sb_stop, "[-t secs] [-s socket] id ...",
	    "stop sandboxes: SIGTERM, then SIGKILL after secs" },
	{ "rm", sb_rm, "[-f] [-s socket] id ...",
	    "remove stopped sandboxes (-f: stop them first)" },
	{ "logs", sb_logs, "[-ft] [-n lines] [--tail lines] "
	    "[--since time] [-s socket] id",
	    "print a sandbox's output (-f: and follow it)" },
	{ "inspect", sb_inspect, "[-s socket] id ...",
	    "print what lensvmm knows of sandboxes as JSON" },
	{ NULL, NULL, NULL, NULL }
};

const struct lensctl_group sandbox_group = { "sandbox", sandbox_cmds,
    "sandboxes (also top-level commands: lensctl run, lensctl ps, ...)" };

/* a growing list of strings (not owned) */
struct strv {
	const char	**v;
	size_t		  n;
};

struct runopts {
	int		 detach, interactive, tty, rm, readonly;
	const char	*name, *backend, *user, *cwd, *socket, *hostname;
	char		 rootfs[PATH_MAX];
	int		 image;		/* the first operand is an image */
	const char	*entrypoint;	/* --entrypoint, NULL none */
	uint64_t	 memory;
	uint32_t	 cpu_millis, pids;
	struct strv	 env, vols, pubs, labels, tmpfs, ulimits;
	char		**heap;		/* "K=V" built from -e K */
	size_t		 nheap;
	/*
	 * --policy: validated here so that a bad file is named (with its
	 * path) before anything starts; lensvmm checks it again, takes
	 * its resources where no option set them, and carries the text
	 * to lensnetd.
	 */
	struct policy	*policy;
	char		*policytext;
	size_t		 policylen;
	char		*policypath;	/* absolute: reload, --always */
};

/* the connection to lensvmm */
struct conn {
	struct imsgbuf	 ib;
	const char	*path;
};

/*
 * small helpers
 */

static int
strv_add(struct strv *sv, const char *s)
{
	const char	**v;

	if ((v = reallocarray(sv->v, sv->n + 1, sizeof(*v))) == NULL)
		return -1;
	v[sv->n++] = s;
	sv->v = v;
	return 0;
}

static const char *
vmm_socket(const char *opt)
{
	const char	*s;

	if (opt != NULL)
		return opt;
	if ((s = getenv("LENS_VMM_SOCKET")) != NULL && *s != '\0')
		return s;
	return VMM_SOCKET;
}

/* copy with a length check; -1 if src does not fit */
static int
copystr(char *dst, size_t dstsz, const char *src)
{
	return strlcpy(dst, src, dstsz) >= dstsz ? -1 : 0;
}

/* printable copy of a fixed-size field from lensvmm */
static void
field(char *dst, size_t dstsz, const char *src, size_t srcsz)
{
	size_t	 i, n = strnlen(src, srcsz);

	if (n >= dstsz)
		n = dstsz - 1;
	for (i = 0; i < n; i++)
		dst[i] = isprint((unsigned char)src[i]) ? src[i] : '?';
	dst[n] = '\0';
}

static int
write_all(int fd, const void *buf, size_t len)
{
	const uint8_t	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd pfd = { fd, POLLOUT, 0 };

				(void)poll(&pfd, 1, -1);
				continue;
			}
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

/* id, name or unique id prefix: checked here only for form */
static int
check_ref(const char *ref, struct ctl_ref *r)
{
	char	 err[GR_ERRSIZE];

	if (gr_ref("sandbox", ref, err, sizeof(err)) == -1) {
		warnx("%s", err);
		return -1;
	}
	if (r != NULL) {
		memset(r, 0, sizeof(*r));
		(void)copystr(r->sandbox, sizeof(r->sandbox), ref);
	}
	return 0;
}

/*
 * option values
 */

/* 1.5 -> 1500 (grammar.h); at most the host's CPUs */
static int
parse_cpus(const char *s, uint32_t *out)
{
	char	 err[GR_ERRSIZE];
	long	 ncpu;

	if (gr_cpus("--cpus", s, out, err, sizeof(err)) == -1) {
		warnx("%s", err);
		return -1;
	}
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu > 0 && *out > (uint64_t)ncpu * 1000) {
		warnx("--cpus %s: more than the %ld CPUs of this host", s,
		    ncpu);
		return -1;
	}
	return 0;
}

/* a decimal in [min, max] */
static int
parse_uint(const char *opt, const char *s, uint64_t min, uint64_t max,
    uint64_t *out)
{
	char	 err[GR_ERRSIZE];

	if (gr_uint(opt, s, min, max, out, err, sizeof(err)) == -1) {
		warnx("%s", err);
		return -1;
	}
	return 0;
}

/*
 * An absolute path without "." and ".." components and repeated
 * slashes, in place, by its spelling alone (lensvmm follows no symbolic
 * link, so the spelling is what it opens)
 */
static void
path_lexical(char *p)
{
	char	*r = p, *w = p;
	size_t	 n;

	while (*r != '\0') {
		while (*r == '/')
			r++;
		n = strcspn(r, "/");
		if (n == 0)
			break;
		if (n == 1 && r[0] == '.')
			;
		else if (n == 2 && r[0] == '.' && r[1] == '.') {
			while (w > p && *--w != '/')
				;
		} else {
			*w++ = '/';
			memmove(w, r, n);
			w += n;
		}
		r += n;
	}
	if (w == p)
		*w++ = '/';
	*w = '\0';
}

/* -p [ADDR:]HOSTPORT:PORT[/tcp] (grammar.h) */
static int
check_publish(const char *spec)
{
	struct gr_publish	 pp;
	char			 err[GR_ERRSIZE];

	if (gr_publish("-p", spec, &pp, err, sizeof(err)) == -1) {
		warnx("%s", err);
		return -1;
	}
	return 0;
}

/* -v SRC:DST[:ro|:rw] (grammar.h), SRC existing */
static int
check_volume(const char *spec)
{
	struct gr_volume	 v;
	struct stat		 st;
	char			 err[GR_ERRSIZE];

	if (gr_volume("-v", spec, &v, err, sizeof(err)) == -1) {
		warnx("%s", err);
		return -1;
	}
	if (stat(v.src, &st) == -1) {
		warn("-v %s: %s", spec, v.src);
		return -1;
	}
	return 0;
}

/* K=V, or K alone: K's value here (docker's -e K) */
static int
add_env(struct runopts *o, const char *e)
{
	const char	*eq, *val;
	char		*kv, **heap;
	size_t		 klen;

	eq = strchr(e, '=');
	klen = eq != NULL ? (size_t)(eq - e) : strlen(e);
	if (klen == 0) {
		warnx("-e %s: empty variable name", e);
		return -1;
	}
	if (eq != NULL) {
		if (strv_add(&o->env, e) == -1) {
			warn(NULL);
			return -1;
		}
		return 0;
	}
	if ((val = getenv(e)) == NULL) {
		warnx("-e %s: no '=' and %s is not set here (use -e %s=VALUE)",
		    e, e, e);
		return -1;
	}
	if ((heap = reallocarray(o->heap, o->nheap + 1,
	    sizeof(*heap))) == NULL) {
		warn(NULL);
		return -1;
	}
	o->heap = heap;
	if (asprintf(&kv, "%s=%s", e, val) == -1) {
		warn(NULL);
		return -1;
	}
	o->heap[o->nheap++] = kv;
	if (strv_add(&o->env, kv) == -1) {
		warn(NULL);
		return -1;
	}
	return 0;
}

static int
check_name(const char *n)
{
	char	 err[GR_ERRSIZE];

	if (gr_name("--name", n, err, sizeof(err)) == -1) {
		warnx("%s", err);
		return -1;
	}
	return 0;
}

static int
is_root(const char *u)
{
	return u != NULL && (strcmp(u, "root") == 0 || strcmp(u, "0") == 0 ||
	    strcmp(u, "0:0") == 0);
}

enum {
	OPT_NAME = 256, OPT_RM, OPT_ROOTFS, OPT_BACKEND, OPT_MEMORY,
	OPT_CPUS, OPT_PIDS, OPT_JSON, OPT_POLICY, OPT_ENVFILE, OPT_MOUNT,
	OPT_PRIVILEGED, OPT_CAPADD, OPT_DEVICE, OPT_NETWORK, OPT_LABEL,
	OPT_FILTER, OPT_READONLY, OPT_TMPFS, OPT_ULIMIT, OPT_ENTRYPOINT
};

/* a string kept until runopts_free (o->heap) */
static const char *
keep_heap(struct runopts *o, char *s)
{
	char	**heap;

	if ((heap = reallocarray(o->heap, o->nheap + 1,
	    sizeof(*heap))) == NULL) {
		warn(NULL);
		free(s);
		return NULL;
	}
	o->heap = heap;
	o->heap[o->nheap++] = s;
	return s;
}

#define ENVFILE_MAX	(256 * 1024)

/*
 * --env-file FILE: docker's format.  Each line is K=V (V taken as it
 * is, quotes and all) or K alone (K's value here, as -e K); blank lines
 * and lines starting with '#' are skipped.  A bad line is named by
 * file and line number and nothing runs.
 */
static int
add_envfile(struct runopts *o, const char *path)
{
	FILE		*fp;
	char		*line = NULL, *k, *kv, *eq;
	size_t		 cap = 0, total = 0, len;
	ssize_t		 n;
	unsigned int	 lineno = 0;
	int		 rc = -1;

	if ((fp = fopen(path, "re")) == NULL) {
		warn("--env-file %s", path);
		return -1;
	}
	while ((n = getline(&line, &cap, fp)) != -1) {
		lineno++;
		if ((total += n) > ENVFILE_MAX) {
			warnx("--env-file %s: larger than %d bytes", path,
			    ENVFILE_MAX);
			goto done;
		}
		len = n;
		if (memchr(line, '\0', len) != NULL) {
			warnx("--env-file %s:%u: a NUL byte", path, lineno);
			goto done;
		}
		while (len > 0 && (line[len - 1] == '\n' ||
		    line[len - 1] == '\r'))
			line[--len] = '\0';
		k = line + strspn(line, " \t");
		if (*k == '\0' || *k == '#')
			continue;
		eq = strchr(k, '=');
		if (eq == k || strcspn(k, " \t") < (size_t)(eq != NULL ?
		    eq - k : (ssize_t)strlen(k))) {
			warnx("--env-file %s:%u: \"%.40s\" is not K=V or K "
			    "(a name without blanks)", path, lineno, k);
			goto done;
		}
		if (eq == NULL && getenv(k) == NULL) {
			warnx("--env-file %s:%u: no '=' and %s is not set here",
			    path, lineno, k);
			goto done;
		}
		if (eq == NULL) {
			if (asprintf(&kv, "%s=%s", k, getenv(k)) == -1)
				kv = NULL;
		} else
			kv = strdup(k);
		if (kv == NULL) {
			warn(NULL);
			goto done;
		}
		if (keep_heap(o, kv) == NULL || strv_add(&o->env, kv) == -1) {
			warn(NULL);
			goto done;
		}
	}
	if (ferror(fp)) {
		warn("--env-file %s", path);
		goto done;
	}
	rc = 0;
 done:
	free(line);
	fclose(fp);
	return rc;
}

/*
 * --mount type=bind,source=SRC,target=DST[,readonly]: the long form of
 * -v SRC:DST[:ro], made into that form and checked as -v is.
 */
static int
add_mount(struct runopts *o, const char *spec)
{
	char		*copy, *p, *kv, *val, *v;
	const char	*type = NULL, *src = NULL, *dst = NULL;
	int		 ro = 0, rc = -1;

	if ((copy = strdup(spec)) == NULL) {
		warn(NULL);
		return -1;
	}
	for (p = copy; (kv = strsep(&p, ",")) != NULL;) {
		if ((val = strchr(kv, '=')) != NULL)
			*val++ = '\0';
		if (strcmp(kv, "type") == 0 && val != NULL)
			type = val;
		else if ((strcmp(kv, "source") == 0 ||
		    strcmp(kv, "src") == 0) && val != NULL)
			src = val;
		else if ((strcmp(kv, "target") == 0 ||
		    strcmp(kv, "destination") == 0 ||
		    strcmp(kv, "dst") == 0) && val != NULL)
			dst = val;
		else if ((strcmp(kv, "readonly") == 0 ||
		    strcmp(kv, "ro") == 0) && (val == NULL ||
		    strcmp(val, "true") == 0 || strcmp(val, "1") == 0))
			ro = 1;
		else if ((strcmp(kv, "readonly") == 0 ||
		    strcmp(kv, "ro") == 0) && (strcmp(val, "false") == 0 ||
		    strcmp(val, "0") == 0))
			ro = 0;
		else {
			warnx("--mount %s: unknown or malformed field \"%s\" "
			    "(type=bind,source=SRC,target=DST[,readonly])",
			    spec, kv);
			goto done;
		}
	}
	if (type == NULL || strcmp(type, "bind") != 0) {
		warnx("--mount %s: type %s is not supported (only type=bind: "
		    "a host directory; Lens has no named volumes)", spec,
		    type != NULL ? type : "missing");
		goto done;
	}
	if (src == NULL || dst == NULL) {
		warnx("--mount %s: needs source= and target=", spec);
		goto done;
	}
	if (asprintf(&v, "%s:%s%s", src, dst, ro ? ":ro" : "") == -1) {
		warn(NULL);
		goto done;
	}
	if (keep_heap(o, v) == NULL)
		goto done;
	if (check_volume(v) == -1)
		goto done;
	if (strv_add(&o->vols, v) == -1) {
		warn(NULL);
		goto done;
	}
	rc = 0;
 done:
	free(copy);
	return rc;
}

/*
 * --tmpfs PATH[:size=N,mode=M] (grammar.h): one per path, at most
 * GR_MAXTMPFS; its size is checked against -m once all options are in
 */
static int
add_tmpfs(struct runopts *o, const char *spec)
{
	struct gr_tmpfs	 t, u;
	char		 err[GR_ERRSIZE];
	size_t		 i;

	if (gr_tmpfs("--tmpfs", spec, &t, err, sizeof(err)) == -1) {
		warnx("%s", err);
		return -1;
	}
	if (o->tmpfs.n == GR_MAXTMPFS) {
		warnx("--tmpfs %s: at most %d", spec, GR_MAXTMPFS);
		return -1;
	}
	for (i = 0; i < o->tmpfs.n; i++)
		if (gr_tmpfs("--tmpfs", o->tmpfs.v[i], &u, NULL, 0) == 0 &&
		    strcmp(u.path, t.path) == 0) {
			warnx("--tmpfs %s: %s given twice", spec, t.path);
			return -1;
		}
	if (strv_add(&o->tmpfs, spec) == -1) {
		warn(NULL);
		return -1;
	}
	return 0;
}

/* --ulimit NAME=SOFT[:HARD] (grammar.h): one per name */
static int
add_ulimit(struct runopts *o, const char *spec)
{
	struct gr_ulimit u, w;
	char		 err[GR_ERRSIZE];
	size_t		 i;

	if (gr_ulimit("--ulimit", spec, &u, err, sizeof(err)) == -1) {
		warnx("%s", err);
		return -1;
	}
	for (i = 0; i < o->ulimits.n; i++)
		if (gr_ulimit("--ulimit", o->ulimits.v[i], &w, NULL, 0) == 0 &&
		    w.resource == u.resource) {
			warnx("--ulimit %s: %s given twice", spec, u.name);
			return -1;
		}
	if (strv_add(&o->ulimits, spec) == -1) {
		warn(NULL);
		return -1;
	}
	return 0;
}

/*
 * docker options that would break the sandbox model: refused, saying
 * why, rather than ignored
 */
static int
refuse_opt(int ch, const char *arg)
{
	switch (ch) {
	case OPT_PRIVILEGED:
		warnx("--privileged: refused: a Lens sandbox never gets the "
		    "host's privileges (its root is an unprivileged user of "
		    "the host, under seccomp, without host devices)");
		break;
	case OPT_CAPADD:
		warnx("--cap-add %s: refused: the sandbox's capabilities are "
		    "fixed by lensvmm and hold only inside its own "
		    "namespaces; adding one would widen what a hostile "
		    "workload can reach", arg);
		break;
	case OPT_DEVICE:
		warnx("--device %s: refused: host devices are outside the "
		    "sandbox (it gets null, zero, full, random, urandom and "
		    "tty of its own)", arg);
		break;
	case OPT_NETWORK:
		if (strcmp(arg, "host") == 0)
			warnx("--network host: refused: a sandbox's traffic "
			    "goes through lensnetd and its policy; the "
			    "host's network would bypass both");
		else
			warnx("--network %s: refused: a sandbox has its own "
			    "network, mediated by lensnetd (see --policy); "
			    "there is no other to choose", arg);
		break;
	}
	return -1;
}

static const struct option run_longopts[] = {
	{ "detach",	no_argument,		NULL, 'd' },
	{ "interactive", no_argument,		NULL, 'i' },
	{ "tty",	no_argument,		NULL, 't' },
	{ "env",	required_argument,	NULL, 'e' },
	{ "workdir",	required_argument,	NULL, 'w' },
	{ "user",	required_argument,	NULL, 'u' },
	{ "volume",	required_argument,	NULL, 'v' },
	{ "publish",	required_argument,	NULL, 'p' },
	{ "socket",	required_argument,	NULL, 's' },
	{ "name",	required_argument,	NULL, OPT_NAME },
	{ "rm",		no_argument,		NULL, OPT_RM },
	{ "rootfs",	required_argument,	NULL, OPT_ROOTFS },
	{ "entrypoint",	required_argument,	NULL, OPT_ENTRYPOINT },
	{ "backend",	required_argument,	NULL, OPT_BACKEND },
	{ "memory",	required_argument,	NULL, 'm' },
	{ "cpus",	required_argument,	NULL, OPT_CPUS },
	{ "pids",	required_argument,	NULL, OPT_PIDS },
	{ "policy",	required_argument,	NULL, OPT_POLICY },
	{ "env-file",	required_argument,	NULL, OPT_ENVFILE },
	{ "hostname",	required_argument,	NULL, 'h' },
	{ "label",	required_argument,	NULL, OPT_LABEL },
	{ "mount",	required_argument,	NULL, OPT_MOUNT },
	{ "privileged",	no_argument,		NULL, OPT_PRIVILEGED },
	{ "cap-add",	required_argument,	NULL, OPT_CAPADD },
	{ "device",	required_argument,	NULL, OPT_DEVICE },
	{ "network",	required_argument,	NULL, OPT_NETWORK },
	{ "net",	required_argument,	NULL, OPT_NETWORK },
	{ "read-only",	no_argument,		NULL, OPT_READONLY },
	{ "tmpfs",	required_argument,	NULL, OPT_TMPFS },
	{ "ulimit",	required_argument,	NULL, OPT_ULIMIT },
	{ NULL, 0, NULL, 0 }
};

static const struct option exec_longopts[] = {
	{ "interactive", no_argument,		NULL, 'i' },
	{ "tty",	no_argument,		NULL, 't' },
	{ "env",	required_argument,	NULL, 'e' },
	{ "workdir",	required_argument,	NULL, 'w' },
	{ "user",	required_argument,	NULL, 'u' },
	{ "socket",	required_argument,	NULL, 's' },
	{ NULL, 0, NULL, 0 }
};

/*
 * options of run (isrun) or exec; optind is left at the operands.
 * -1 a bad value (said why), -2 a usage error.
 */
static int
parse_runopts(int argc, char *argv[], int isrun, struct runopts *o)
{
	const char	*rootfs = DEFAULT_ROOTFS;
	struct stat	 st;
	uint64_t	 v;
	char		 err[GR_ERRSIZE];
	int		 ch, rootfs_given = 0;

	memset(o, 0, sizeof(*o));
	while ((ch = getopt_long(argc, argv,
	    isrun ? "+de:h:im:p:s:tu:v:w:" : "+e:is:tu:w:",
	    isrun ? run_longopts : exec_longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			o->detach = 1;
			break;
		case 'i':
			o->interactive = 1;
			break;
		case 't':
			o->tty = 1;
			break;
		case 'e':
			if (add_env(o, optarg) == -1)
				return -1;
			break;
		case 'w':
			if (optarg[0] != '/' ||
			    strlen(optarg) >= CTL_CWD_SIZE) {
				warnx("-w %s: not an absolute path (of at most "
				    "%d characters)", optarg, CTL_CWD_SIZE - 1);
				return -1;
			}
			o->cwd = optarg;
			break;
		case 'u':
			if (*optarg == '\0' ||
			    strlen(optarg) >= CTL_USER_SIZE ||
			    strpbrk(optarg, "/\n") != NULL) {
				warnx("-u %s: not a user name or uid[:gid]",
				    optarg);
				return -1;
			}
			o->user = optarg;
			break;
		case 'v':
			if (check_volume(optarg) == -1)
				return -1;
			if (strv_add(&o->vols, optarg) == -1) {
				warn(NULL);
				return -1;
			}
			break;
		case 'p':
			if (check_publish(optarg) == -1)
				return -1;
			if (o->pubs.n == CTL_MAXPUBLISH) {
				warnx("-p %s: at most %d published ports",
				    optarg, CTL_MAXPUBLISH);
				return -1;
			}
			if (strv_add(&o->pubs, optarg) == -1) {
				warn(NULL);
				return -1;
			}
			break;
		case 's':
			o->socket = optarg;
			break;
		case OPT_NAME:
			if (check_name(optarg) == -1)
				return -1;
			o->name = optarg;
			break;
		case OPT_RM:
			o->rm = 1;
			break;
		case OPT_ROOTFS:
			rootfs = optarg;
			rootfs_given = 1;
			break;
		case OPT_ENTRYPOINT:
			o->entrypoint = optarg;
			break;
		case OPT_BACKEND:
			if (strcmp(optarg, "jail") != 0 &&
			    strcmp(optarg, "microvm") != 0 &&
			    strcmp(optarg, "auto") != 0) {
				warnx("--backend %s: unknown backend (jail, "
				    "microvm or auto)", optarg);
				return -1;
			}
			o->backend = optarg;
			break;
		case 'h':
			if (strlen(optarg) >= CTL_HOSTNAME_SIZE) {
				warnx("--hostname %s: longer than %d bytes",
				    optarg, CTL_HOSTNAME_SIZE - 1);
				return -1;
			}
			if (gr_hostname("--hostname", optarg, err,
			    sizeof(err)) == -1) {
				warnx("%s", err);
				return -1;
			}
			o->hostname = optarg;
			break;
		case OPT_LABEL: {
			char	*kv;

			if (*optarg == '=' || *optarg == '\0' ||
			    strlen(optarg) >= CTL_LABEL_SIZE - 1) {
				warnx("--label %s: not KEY[=VALUE] of at most "
				    "%d bytes", optarg, CTL_LABEL_SIZE - 2);
				return -1;
			}
			for (kv = optarg; *kv != '\0'; kv++)
				if (!isprint((unsigned char)*kv)) {
					warnx("--label: not printable");
					return -1;
				}
			if (o->labels.n == CTL_MAXLABELS) {
				warnx("--label %s: at most %d labels", optarg,
				    CTL_MAXLABELS);
				return -1;
			}
			if (asprintf(&kv, "%s%s", optarg,
			    strchr(optarg, '=') == NULL ? "=" : "") == -1 ||
			    keep_heap(o, kv) == NULL ||
			    strv_add(&o->labels, kv) == -1) {
				warn(NULL);
				return -1;
			}
			break;
		}
		case OPT_ENVFILE:
			if (add_envfile(o, optarg) == -1)
				return -1;
			break;
		case OPT_MOUNT:
			if (add_mount(o, optarg) == -1)
				return -1;
			break;
		case OPT_READONLY:
			o->readonly = 1;
			break;
		case OPT_TMPFS:
			if (add_tmpfs(o, optarg) == -1)
				return -1;
			break;
		case OPT_ULIMIT:
			if (add_ulimit(o, optarg) == -1)
				return -1;
			break;
		case OPT_PRIVILEGED:
		case OPT_CAPADD:
		case OPT_DEVICE:
		case OPT_NETWORK:
			return refuse_opt(ch, optarg);
		case 'm':
			if (gr_size("--memory", optarg, GR_MEMORY_MIN,
			    GR_MEMORY_MAX, &o->memory, err, sizeof(err)) == -1) {
				warnx("%s", err);
				return -1;
			}
			break;
		case OPT_CPUS:
			if (parse_cpus(optarg, &o->cpu_millis) == -1)
				return -1;
			break;
		case OPT_PIDS:
			if (parse_uint("--pids", optarg, 1, GR_PIDS_MAX, &v) == -1)
				return -1;
			o->pids = (uint32_t)v;
			break;
		case OPT_POLICY:
			if (o->policy != NULL) {
				warnx("--policy %s: only one --policy", optarg);
				return -1;
			}
			if (lensctl_policy_read(optarg, &o->policy,
			    &o->policytext, &o->policylen) == -1)
				return -1;
			if ((o->policypath = realpath(optarg, NULL)) == NULL) {
				warn("--policy %s", optarg);
				return -1;
			}
			break;
		default:
			return -2;	/* getopt said why */
		}
	}
	if (o->tty && o->interactive && !isatty(STDIN_FILENO)) {
		warnx("-t with -i: standard input is not a terminal");
		return -1;
	}
	if (!isrun)
		return 0;
	/* a tmpfs's pages are the sandbox's memory */
	for (v = 0; v < o->tmpfs.n; v++) {
		struct gr_tmpfs	 t;

		if (gr_tmpfs("--tmpfs", o->tmpfs.v[v], &t, NULL, 0) == 0 &&
		    o->memory != 0 && t.size > o->memory) {
			warnx("--tmpfs %s: size above the sandbox's memory "
			    "(--memory %" PRIu64 " bytes)", o->tmpfs.v[v],
			    o->memory);
			return -1;
		}
	}
	/*
	 * run IMAGE [COMMAND]: without --rootfs the first operand is the
	 * image, unless "--" came first (the default rootfs, COMMAND).
	 */
	o->image = !rootfs_given && optind < argc &&
	    strcmp(argv[optind - 1], "--") != 0;
	if (o->entrypoint != NULL && !o->image) {
		warnx("--entrypoint: only with an image");
		return -2;
	}
	if (o->image)
		return 0;
	if (stat(rootfs, &st) == -1) {
		warn("--rootfs %s", rootfs);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		warnx("--rootfs %s: not a directory", rootfs);
		return -1;
	}
	/*
	 * As given, made absolute, symbolic links not resolved here:
	 * lensvmm follows none (one planted in a shared directory must
	 * not choose what the sandbox gets), so naming one is refused.
	 */
	if (rootfs[0] == '/') {
		if (strlcpy(o->rootfs, rootfs, sizeof(o->rootfs)) >=
		    sizeof(o->rootfs)) {
			warnx("--rootfs %s: path too long", rootfs);
			return -1;
		}
	} else if (getcwd(o->rootfs, sizeof(o->rootfs)) == NULL ||
	    strlcat(o->rootfs, "/", sizeof(o->rootfs)) >= sizeof(o->rootfs) ||
	    strlcat(o->rootfs, rootfs, sizeof(o->rootfs)) >=
	    sizeof(o->rootfs)) {
		warn("--rootfs %s", rootfs);
		return -1;
	}
	path_lexical(o->rootfs);
	if (strlen(o->rootfs) >= CTL_PATH_SIZE) {
		warnx("--rootfs %s: path too long", rootfs);
		return -1;
	}
	return 0;
}

static void
runopts_free(struct runopts *o)
{
	size_t	 i;

	for (i = 0; i < o->nheap; i++)
		free(o->heap[i]);
	free(o->heap);
	free(o->env.v);
	free(o->vols.v);
	free(o->pubs.v);
	free(o->labels.v);
	free(o->tmpfs.v);
	free(o->ulimits.v);
	policy_free(o->policy);
	free(o->policytext);
	free(o->policypath);
}

/*
 * the connection
 */

static struct conn *
conn_open(const char *sockopt)
{
	struct conn		*c;
	const char		*path = vmm_socket(sockopt);
	int			 fd;

	if ((fd = unixsock_connect(path, SOCK_CLOEXEC)) == -1) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			warnx("lensvmm is not running: cannot connect to %s "
			    "(%s)", path, strerror(errno));
		else
			warn("cannot connect to lensvmm at %s", path);
		return NULL;
	}
	if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1) {
		warn("fcntl");
		close(fd);
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		warn(NULL);
		close(fd);
		return NULL;
	}
	imsg_init(&c->ib, fd);
	c->path = path;
	return c;
}

static void
conn_close(struct conn *c)
{
	if (c == NULL)
		return;
	imsg_clear(&c->ib);
	close(c->ib.fd);
	free(c);
}

static int
conn_send(struct conn *c, uint32_t type, const void *data, size_t len)
{
	if (imsg_compose(&c->ib, type, 0, 0, -1, data, len) == -1 ||
	    imsg_flush(&c->ib) == -1) {
		warn("lensvmm at %s", c->path);
		return -1;
	}
	return 0;
}

/* the next message: 1, or 0 when lensvmm closed, -1 on error */
static int
conn_recv(struct conn *c, struct imsg *im)
{
	int	 r;

	if ((r = imsg_recv_one(&c->ib, -1, im)) == -1)
		warn("lensvmm at %s", c->path);
	return r;
}

/* ERROR's message, printed; returns its code */
static int
print_error(const struct imsg *im)
{
	struct ctl_error	 e;
	char			 msg[sizeof(e.msg)];

	if (imsg_expect(im, sizeof(e)) == -1) {
		warnx("lensvmm sent an ERROR of the wrong size (%zu bytes)",
		    im->datalen);
		return CTL_EXIT_LENS;
	}
	memcpy(&e, im->data, sizeof(e));
	field(msg, sizeof(msg), e.msg, sizeof(e.msg));
	warnx("%s", msg[0] != '\0' ? msg : "lensvmm refused the request");
	if (e.code == CTL_EXIT_NOEXEC || e.code == CTL_EXIT_NOTFOUND)
		return e.code;
	return CTL_EXIT_LENS;
}

/*
 * run and exec: the attach loop
 */

static int		 sigpipe_fds[2] = { -1, -1 };
static struct termios	 saved_tio;
static int		 tio_saved;

static void
tty_restore(void)
{
	if (tio_saved) {
		(void)tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_tio);
		tio_saved = 0;
	}
}

static void
on_signal(int sig)
{
	int		 save = errno;
	unsigned char	 b = (unsigned char)sig;

	/* a full pipe already has a wakeup pending */
	if (write(sigpipe_fds[1], &b, 1) == -1) {
		errno = save;
		return;
	}
	errno = save;
}

static int
signals_setup(void)
{
	struct sigaction	 sa;
	const int		 sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT,
				    SIGWINCH };
	size_t			 i;

	if (pipe2(sigpipe_fds, O_NONBLOCK | O_CLOEXEC) == -1) {
		warn("pipe2");
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) == -1) {
			warn("sigaction");
			return -1;
		}
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static int
tty_raw(void)
{
	struct termios	 tio;

	if (!isatty(STDIN_FILENO))
		return 0;
	if (tcgetattr(STDIN_FILENO, &saved_tio) == -1) {
		warn("tcgetattr");
		return -1;
	}
	tio = saved_tio;
	cfmakeraw(&tio);
	tio_saved = 1;
	atexit(tty_restore);
	if (tcsetattr(STDIN_FILENO, TCSADRAIN, &tio) == -1) {
		warn("tcsetattr");
		tio_saved = 0;
		return -1;
	}
	return 0;
}

static void
winsize(uint16_t *rows, uint16_t *cols)
{
	struct winsize	 ws;

	*rows = 24;
	*cols = 80;
	if ((ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 ||
	    ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0) && ws.ws_row > 0 &&
	    ws.ws_col > 0) {
		*rows = ws.ws_row;
		*cols = ws.ws_col;
	}
}

struct attach {
	struct conn	*c;
	int		 tty;		/* -t: send RESIZE */
	int		 in_open;	/* forwarding stdin */
	int		 out_dead[3];	/* fd 1 or 2 gone: drop its output */
	int		 wdead;		/* lensvmm stopped reading */
};

static int
attach_queue(struct attach *a, uint32_t type, const void *data, size_t len)
{
	if (a->wdead)
		return 0;
	if (imsg_compose(&a->c->ib, type, 0, 0, -1, data, len) == -1) {
		warn("lensvmm at %s", a->c->path);
		return -1;
	}
	return 0;
}

static int
attach_signals(struct attach *a)
{
	struct ctl_winsize	 w;
	struct ctl_signal	 s;
	unsigned char		 b[32];
	ssize_t			 n, i;

	while ((n = read(sigpipe_fds[0], b, sizeof(b))) > 0)
		for (i = 0; i < n; i++) {
			if (b[i] == SIGWINCH) {
				if (!a->tty)
					continue;
				memset(&w, 0, sizeof(w));
				winsize(&w.rows, &w.cols);
				if (attach_queue(a, IMSG_CTL_RESIZE, &w,
				    sizeof(w)) == -1)
					return -1;
				continue;
			}
			memset(&s, 0, sizeof(s));
			s.sig = b[i];
			log_debug("forwarding signal %d", s.sig);
			if (attach_queue(a, IMSG_CTL_SIGNAL, &s,
			    sizeof(s)) == -1)
				return -1;
		}
	return 0;
}

static int
attach_stdin(struct attach *a)
{
	static uint8_t	 buf[IMSG_MAXPAYLOAD];
	ssize_t		 n;

	n = read(STDIN_FILENO, buf, sizeof(buf));
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n == -1)
		warn("standard input");
	if (n <= 0) {
		a->in_open = 0;
		return attach_queue(a, IMSG_CTL_STDIN_EOF, NULL, 0);
	}
	return attach_queue(a, IMSG_CTL_STDIN, buf, n);
}

static void
attach_output(struct attach *a, int fd, const struct imsg *im)
{
	if (a->out_dead[fd] || im->datalen == 0)
		return;
	if (write_all(fd, im->data, im->datalen) == -1) {
		/* keep going for the exit status; the output is lost */
		a->out_dead[fd] = 1;
		if (fd == STDOUT_FILENO)
			warn("standard output");
	}
}

/*
 * RUN's first answer: the backend and why.  Said on stderr with -v when
 * lensvmm chose it (auto): a fallback to the jail is visible there and
 * in ps and inspect, without a line on every run; quiet when --backend
 * named it (a --backend lensvmm cannot give is an ERROR instead).
 */
static int
backend_note(const struct imsg *im)
{
	struct ctl_backend	 b;
	char			 name[sizeof(b.backend) + 1];
	char			 why[sizeof(b.why) + 1];

	if (imsg_expect(im, sizeof(b)) == -1)
		return -1;
	memcpy(&b, im->data, sizeof(b));
	field(name, sizeof(name), b.backend, sizeof(b.backend));
	field(why, sizeof(why), b.why, sizeof(b.why));
	if (!b.chosen && log_getverbose() > 0) {
		fprintf(stderr, "lensctl: backend %s (%s)\n", name, why);
		fflush(stderr);
	}
	return 0;
}

/* -2 while running, else the exit status of lensctl */
static int
attach_msg(struct attach *a, const struct imsg *im)
{
	struct ctl_exit		 x;

	switch (im->hdr.type) {
	case IMSG_CTL_STDOUT:
		attach_output(a, STDOUT_FILENO, im);
		return -2;
	case IMSG_CTL_STDERR:
		attach_output(a, STDERR_FILENO, im);
		return -2;
	case IMSG_CTL_CREATED:
		if (imsg_expect(im, sizeof(struct ctl_created)) == -1)
			break;
		return -2;
	case IMSG_CTL_BACKEND:
		if (backend_note(im) == -1)
			break;
		return -2;
	case IMSG_CTL_EXIT:
		if (imsg_expect(im, sizeof(x)) == -1)
			break;
		memcpy(&x, im->data, sizeof(x));
		tty_restore();
		if (x.oom)
			warnx("the command was killed by the OOM killer "
			    "(out of memory in the sandbox)");
		log_debug("exit code %d signal %d oom %u", x.code, x.sig,
		    x.oom);
		if (x.code < 0 || x.code > 255)
			return CTL_EXIT_LENS;
		return x.code;
	case IMSG_CTL_ERROR:
		tty_restore();
		return print_error(im);
	default:
		tty_restore();
		warnx("lensvmm sent an unexpected message (type %#x)",
		    im->hdr.type);
		return CTL_EXIT_LENS;
	}
	tty_restore();
	warnx("lensvmm sent message type %#x of the wrong size (%zu bytes)",
	    im->hdr.type, im->datalen);
	return CTL_EXIT_LENS;
}

static int
attach_loop(struct attach *a)
{
	struct pollfd	 pfd[3];
	struct imsg	 im;
	ssize_t		 n;
	int		 r, nfd, rc;

	for (;;) {
		if (!a->wdead && a->c->ib.wqueued > 0 &&
		    (r = imsg_write(&a->c->ib)) == -1) {
			/* lensvmm may still have an EXIT or ERROR to read */
			if (errno != EPIPE && errno != ECONNRESET)
				warn("lensvmm at %s", a->c->path);
			a->wdead = 1;
		}
		pfd[0].fd = a->c->ib.fd;
		pfd[0].events = POLLIN;
		if (!a->wdead && a->c->ib.wqueued > 0)
			pfd[0].events |= POLLOUT;
		pfd[1].fd = sigpipe_fds[0];
		pfd[1].events = POLLIN;
		pfd[2].fd = -1;
		pfd[2].events = 0;
		pfd[2].revents = 0;
		nfd = 2;
		if (a->in_open && a->c->ib.wqueued < STDIN_HIWAT) {
			pfd[2].fd = STDIN_FILENO;
			pfd[2].events = POLLIN;
			nfd = 3;
		}
		if (poll(pfd, nfd, -1) == -1) {
			if (errno == EINTR)
				continue;
			warn("poll");
			return CTL_EXIT_LENS;
		}
		if ((pfd[1].revents & POLLIN) && attach_signals(a) == -1)
			return CTL_EXIT_LENS;
		if (nfd == 3 && (pfd[2].revents & (POLLIN | POLLHUP | POLLERR))
		    && attach_stdin(a) == -1)
			return CTL_EXIT_LENS;
		if (nfd == 3 && (pfd[2].revents & POLLNVAL))
			a->in_open = 0;
		if ((pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) == 0)
			continue;
		if ((n = imsg_read(&a->c->ib)) == -1 && errno == EAGAIN)
			continue;
		if (n == -1 && errno != ECONNRESET) {
			warn("lensvmm at %s", a->c->path);
			return CTL_EXIT_LENS;
		}
		for (;;) {
			if ((r = imsg_get(&a->c->ib, &im)) == 0)
				break;
			if (r == -1) {
				tty_restore();
				warn("lensvmm at %s", a->c->path);
				return CTL_EXIT_LENS;
			}
			rc = attach_msg(a, &im);
			imsg_free(&im);
			if (rc != -2)
				return rc;
		}
		if (n <= 0) {
			tty_restore();
			warnx("lensvmm closed the connection before the "
			    "command ended");
			return CTL_EXIT_LENS;
		}
	}
}

/* queue RUN or EXEC with its fixed part and strings */
static int
queue_request(struct conn *c, uint32_t type, const void *fixed,
    size_t fixedlen, const struct strv *lists, size_t nlists,
    const void *tail, size_t taillen)
{
	struct ibuf	*b;
	size_t		 len = fixedlen + taillen, i, j, nstr = 0;

	for (i = 0; i < nlists; i++)
		for (j = 0; j < lists[i].n; j++) {
			len += strlen(lists[i].v[j]) + 1;
			nstr++;
		}
	if (nstr > CTL_MAXSTRINGS) {
		warnx("too many arguments, variables and volumes (%zu, at "
		    "most %d)", nstr, CTL_MAXSTRINGS);
		return -1;
	}
	if (len > IMSG_MAXPAYLOAD) {
		warnx("command, environment, volumes%s too long (%zu bytes, "
		    "at most %d)", taillen ? " and policy" : "", len - fixedlen,
		    IMSG_MAXPAYLOAD - (int)fixedlen);
		return -1;
	}
	if ((b = imsg_create(&c->ib, type, 0, 0, len)) == NULL) {
		warn("lensvmm request");
		return -1;
	}
	if (imsg_add(b, fixed, fixedlen) == -1)
		goto fail;
	for (i = 0; i < nlists; i++)
		for (j = 0; j < lists[i].n; j++)
			if (imsg_add(b, lists[i].v[j],
			    strlen(lists[i].v[j]) + 1) == -1)
				goto fail;
	if (taillen > 0 && imsg_add(b, tail, taillen) == -1)
		goto fail;
	imsg_close(&c->ib, b);
	return 0;
 fail:
	warn("lensvmm request");
	imsg_abort(b);
	return -1;
}

static int
attach(struct conn *c, const struct runopts *o)
{
	struct attach	 a;
	int		 rc;

	memset(&a, 0, sizeof(a));
	a.c = c;
	a.in_open = o->interactive;
	if (signals_setup() == -1)
		return CTL_EXIT_LENS;
	/* window size changes are passed on even when stdin is no tty */
	a.tty = o->tty;
	if (o->tty && isatty(STDIN_FILENO) && tty_raw() == -1)
		return CTL_EXIT_LENS;
	rc = attach_loop(&a);
	tty_restore();
	return rc;
}

static int
sb_run(int argc, char *argv[])
{
	struct runopts	 o;
	struct ctl_run	 r;
	struct strv	 lists[7];
	struct conn	*c = NULL;
	struct imsg	 im;
	struct ctl_created cr;
	char		 id[CTL_ID_SIZE];
	int		 rc = CTL_EXIT_LENS, n;

	if ((rc = parse_runopts(argc, argv, 1, &o)) != 0) {
		runopts_free(&o);
		if (rc == -2)
			lensctl_usage(&sandbox_group, "run");
		return CTL_EXIT_LENS;
	}
	rc = CTL_EXIT_LENS;
	argc -= optind;
	argv += optind;
	memset(&r, 0, sizeof(r));
	if (o.image) {
		/* the image's Entrypoint and Cmd are lensvmm's to apply;
		 * --entrypoint E: E and COMMAND, the image's Cmd dropped */
		if (copystr(r.rootfs, sizeof(r.rootfs), argv[0]) == -1) {
			warnx("run: image reference %.64s too long", argv[0]);
			goto done;
		}
		r.flags |= RUN_IMAGE;
		argc--;
		argv++;
		if (o.entrypoint != NULL) {
			r.flags |= RUN_ENTRYPOINT;
			if (o.entrypoint[0] != '\0') {
				argc++;
				argv--;
				argv[0] = (char *)o.entrypoint;
			}
		}
	} else {
		if (argc < 1) {
			warnx("run: no command given");
			goto usage;
		}
		(void)copystr(r.rootfs, sizeof(r.rootfs), o.rootfs);
	}
	r.flags |= (o.detach ? RUN_DETACH : 0) |
	    (o.interactive ? RUN_STDIN : 0) | (o.tty ? RUN_TTY : 0) |
	    (o.rm ? RUN_RM : 0) | (is_root(o.user) ? RUN_ROOT : 0) |
	    (o.readonly ? RUN_READONLY : 0);
	if (o.tty)
		winsize(&r.rows, &r.cols);
	if (o.name != NULL)
		(void)copystr(r.name, sizeof(r.name), o.name);
	(void)copystr(r.backend, sizeof(r.backend),
	    o.backend != NULL ? o.backend : "auto");
	r.memory = o.memory;
	r.cpu_millis = o.cpu_millis;
	r.pids = o.pids;
	if (o.user != NULL)
		(void)copystr(r.user, sizeof(r.user), o.user);
	if (o.cwd != NULL)
		(void)copystr(r.cwd, sizeof(r.cwd), o.cwd);
	if (o.hostname != NULL)
		(void)copystr(r.hostname, sizeof(r.hostname), o.hostname);
	r.argc = argc;
	r.envc = o.env.n;
	r.nvolumes = o.vols.n;
	r.npublish = o.pubs.n;
	r.nlabels = o.labels.n;
	lists[0].v = (const char **)argv;
	lists[0].n = argc;
	lists[1] = o.env;
	lists[2] = o.vols;
	lists[3] = o.pubs;
	lists[4] = o.labels;
	r.ntmpfs = o.tmpfs.n;
	r.nulimits = o.ulimits.n;
	lists[5] = o.tmpfs;
	lists[6] = o.ulimits;

	if ((c = conn_open(o.socket)) == NULL)
		goto done;
	r.policylen = (uint32_t)o.policylen;
	if (o.policypath != NULL && strlcpy(r.policypath, o.policypath,
	    sizeof(r.policypath)) >= sizeof(r.policypath)) {
		warnx("--policy %s: path too long", o.policypath);
		goto done;
	}
	if (queue_request(c, IMSG_CTL_RUN, &r, sizeof(r), lists, 7,
	    o.policytext, o.policylen) == -1)
		goto done;
	if (!o.detach) {
		rc = attach(c, &o);
		goto done;
	}
	if (imsg_flush(&c->ib) == -1) {
		warn("lensvmm at %s", c->path);
		goto done;
	}
	if ((n = conn_recv(c, &im)) == 1 && im.hdr.type == IMSG_CTL_BACKEND) {
		if (backend_note(&im) == -1) {
			warnx("lensvmm sent a backend message of the wrong "
			    "size (%zu bytes)", im.datalen);
			imsg_free(&im);
			goto done;
		}
		imsg_free(&im);
		n = conn_recv(c, &im);
	}
	if (n == 0)
		warnx("lensvmm closed the connection without an answer");
	if (n != 1)
		goto done;
	if (im.hdr.type == IMSG_CTL_CREATED &&
	    imsg_expect(&im, sizeof(cr)) == 0) {
		memcpy(&cr, im.data, sizeof(cr));
		field(id, sizeof(id), cr.id, sizeof(cr.id));
		printf("%s\n", id);
		rc = fflush(stdout) == 0 ? 0 : CTL_EXIT_LENS;
	} else if (im.hdr.type == IMSG_CTL_ERROR)
		rc = print_error(&im);
	else
		warnx("lensvmm sent an unexpected answer (type %#x, %zu "
		    "bytes)", im.hdr.type, im.datalen);
	imsg_free(&im);
 done:
	conn_close(c);
	runopts_free(&o);
	return rc;
 usage:
	runopts_free(&o);
	lensctl_usage(&sandbox_group, "run");
	return CTL_EXIT_LENS;
}

static int
sb_exec(int argc, char *argv[])
{
	struct runopts	 o;
	struct ctl_exec	 x;
	struct strv	 lists[2];
	struct conn	*c = NULL;
	struct ctl_ref	 ref;
	int		 rc = CTL_EXIT_LENS;

	if ((rc = parse_runopts(argc, argv, 0, &o)) != 0) {
		runopts_free(&o);
		if (rc == -2)
			lensctl_usage(&sandbox_group, "exec");
		return CTL_EXIT_LENS;
	}
	rc = CTL_EXIT_LENS;
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		warnx("exec: no sandbox given");
		goto usage;
	}
	if (check_ref(argv[0], &ref) == -1) {
		runopts_free(&o);
		return CTL_EXIT_LENS;
	}
	argc--;
	argv++;
	if (argc > 0 && strcmp(argv[0], "--") == 0) {
		argc--;
		argv++;
	}
	if (argc < 1) {
		warnx("exec: no command given");
		goto usage;
	}
	memset(&x, 0, sizeof(x));
	memcpy(x.sandbox, ref.sandbox, sizeof(x.sandbox));
	x.flags = (o.interactive ? RUN_STDIN : 0) | (o.tty ? RUN_TTY : 0) |
	    (is_root(o.user) ? RUN_ROOT : 0);
	if (o.tty)
		winsize(&x.rows, &x.cols);
	if (o.user != NULL)
		(void)copystr(x.user, sizeof(x.user), o.user);
	if (o.cwd != NULL)
		(void)copystr(x.cwd, sizeof(x.cwd), o.cwd);
	x.argc = argc;
	x.envc = o.env.n;
	lists[0].v = (const char **)argv;
	lists[0].n = argc;
	lists[1] = o.env;
	if ((c = conn_open(o.socket)) == NULL)
		goto done;
	if (queue_request(c, IMSG_CTL_EXEC, &x, sizeof(x), lists, 2, NULL, 0)
	    == -1)
		goto done;
	rc = attach(c, &o);
 done:
	conn_close(c);
	runopts_free(&o);
	return rc;
 usage:
	runopts_free(&o);
	lensctl_usage(&sandbox_group, "exec");
	return CTL_EXIT_LENS;
}

/*
 * the request/answer commands
 */

/* send one request; hand each data message to fn until OK */
static int
request(const char *sock, uint32_t type, const void *data, size_t len,
    int (*fn)(const struct imsg *, void *), void *arg)
{
	struct conn	*c;
	struct imsg	 im;
	int		 rc = LENSCTL_FAIL, n;

	if ((c = conn_open(sock)) == NULL)
		return LENSCTL_FAIL;
	if (conn_send(c, type, data, len) == -1)
		goto done;
	for (;;) {
		if ((n = conn_recv(c, &im)) == 0)
			warnx("lensvmm closed the connection before answering");
		if (n != 1)
			break;
		if (im.hdr.type == IMSG_CTL_OK) {
			rc = LENSCTL_OK;
			imsg_free(&im);
			break;
		}
		if (im.hdr.type == IMSG_CTL_ERROR) {
			(void)print_error(&im);
			imsg_free(&im);
			break;
		}
		n = fn != NULL ? fn(&im, arg) : -1;
		if (n == -1)
			warnx("lensvmm sent an unexpected message (type %#x, "
			    "%zu bytes)", im.hdr.type, im.datalen);
		imsg_free(&im);
		if (n == -1)
			break;
	}
 done:
	conn_close(c);
	return rc;
}

/* the same for the other command files (lensctl.h) */
int
lensctl_vmm_request(const char *sock, uint32_t type, const void *data,
    size_t len, int (*fn)(const struct imsg *, void *), void *arg)
{
	return request(sock, type, data, len, fn, arg);
}

static const char *
state_name(uint32_t st)
{
	switch (st) {
	case SANDBOX_CREATED:
		return "created";
	case SANDBOX_RUNNING:
		return "running";
	case SANDBOX_STOPPED:
		return "exited";
	default:
		return "unknown";
	}
}

static void
ago(char *buf, size_t sz, int64_t created)
{
	int64_t	 d = (int64_t)time(NULL) - created;

	if (created <= 0)
		snprintf(buf, sz, "-");
	else if (d < 1)
		snprintf(buf, sz, "just now");
	else if (d < 60)
		snprintf(buf, sz, "%" PRId64 " second%s ago", d,
		    d == 1 ? "" : "s");
	else if (d < 3600)
		snprintf(buf, sz, "%" PRId64 " minute%s ago", d / 60,
		    d / 60 == 1 ? "" : "s");
	else if (d < 86400 * 2)
		snprintf(buf, sz, "%" PRId64 " hour%s ago", d / 3600,
		    d / 3600 == 1 ? "" : "s");
	else
		snprintf(buf, sz, "%" PRId64 " days ago", d / 86400);
}

struct psopts {
	int	 json;
	int	 header;
};

static int
ps_entry(const struct imsg *im, void *arg)
{
	struct psopts		*po = arg;
	struct ctl_sandbox	 s;
	char			 id[CTL_ID_SIZE], name[CTL_NAME_SIZE];
	char			 backend[17], cmd[sizeof(s.command) + 1];
	char			 status[32], when[64];
	struct tm		 tm;
	time_t			 t;
	json_t			*j;
	char			*str;

	if (im->hdr.type != IMSG_CTL_PS_ENTRY ||
	    imsg_expect(im, sizeof(s)) == -1)
		return -1;
	memcpy(&s, im->data, sizeof(s));
	field(id, sizeof(id), s.id, sizeof(s.id));
	field(name, sizeof(name), s.name, sizeof(s.name));
	field(backend, sizeof(backend), s.backend, sizeof(s.backend));
	field(cmd, sizeof(cmd), s.command, sizeof(s.command));
	if (po->json) {
		t = (time_t)s.created;
		if (gmtime_r(&t, &tm) == NULL ||
		    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
			snprintf(when, sizeof(when), "-");
		j = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:s}",
		    "id", id, "name", name, "backend", backend,
		    "status", state_name(s.state),
		    "exit_code", (json_int_t)s.exit_code,
		    "created", when, "created_unix", (json_int_t)s.created,
		    "command", cmd);
		if (j == NULL || (str = json_dumps(j, JSON_COMPACT)) == NULL) {
			json_decref(j);
			warnx("cannot make JSON for %s", id);
			return 0;
		}
		printf("%s\n", str);
		free(str);
		json_decref(j);
		return 0;
	}
	if (!po->header) {
		printf("%-12s  %-20s  %-8s  %-12s  %-16s  %s\n", "ID", "NAME",
		    "BACKEND", "STATUS", "CREATED", "COMMAND");
		po->header = 1;
	}
	if (s.state == SANDBOX_STOPPED)
		snprintf(status, sizeof(status), "exited (%d)",
		    (int)s.exit_code);
	else
		snprintf(status, sizeof(status), "%s%s", state_name(s.state),
		    s.net_lost ? " (network lost)" : "");
	ago(when, sizeof(when), s.created);
	printf("%-12.12s  %-20s  %-8s  %-12s  %-16s  %s\n", id, name,
	    backend, status, when, cmd);
	return 0;
}

static const struct option ps_longopts[] = {
	{ "all",	no_argument,		NULL, 'a' },
	{ "filter",	required_argument,	NULL, OPT_FILTER },
	{ "json",	no_argument,		NULL, OPT_JSON },
	{ "socket",	required_argument,	NULL, 's' },
	{ NULL, 0, NULL, 0 }
};

static int
sb_ps(int argc, char *argv[])
{
	struct psopts	 po;
	struct ctl_ps	 p;
	const char	*sock = NULL;
	int		 ch, rc;

	memset(&po, 0, sizeof(po));
	memset(&p, 0, sizeof(p));
	while ((ch = getopt_long(argc, argv, "as:", ps_longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			p.all = 1;
			break;
		case 's':
			sock = optarg;
			break;
		case OPT_JSON:
			po.json = 1;
			break;
		case OPT_FILTER:
			if (strncmp(optarg, "label=", 6) != 0 ||
			    optarg[6] == '\0' || optarg[6] == '=' ||
			    copystr(p.label, sizeof(p.label), optarg + 6) ==
			    -1) {
				warnx("--filter %s: only label=KEY or "
				    "label=KEY=VALUE", optarg);
				return LENSCTL_USAGE;
			}
			break;
		default:
			return lensctl_usage(&sandbox_group, "ps");
		}
	}
	if (optind != argc)
		return lensctl_usage(&sandbox_group, "ps");
	rc = request(sock, IMSG_CTL_PS, &p, sizeof(p), ps_entry, &po);
	if (rc == LENSCTL_OK && !po.json && !po.header)
		printf("%-12s  %-20s  %-8s  %-12s  %-16s  %s\n", "ID", "NAME",
		    "BACKEND", "STATUS", "CREATED", "COMMAND");
	if (fflush(stdout) != 0) {
		warn("standard output");
		rc = LENSCTL_FAIL;
	}
	return rc;
}

/* stop and rm: one request per sandbox named */
static int
sb_stop_rm(int argc, char *argv[], int isstop)
{
	struct ctl_stop	 st;
	struct ctl_rm	 rm;
	struct ctl_ref	 ref;
	const char	*sock = NULL;
	uint64_t	 v;
	uint32_t	 timeout = 10;
	int		 ch, force = 0, rc = LENSCTL_OK, i;

	while ((ch = getopt(argc, argv, isstop ? "s:t:" : "fs:")) != -1) {
		switch (ch) {
		case 'f':
			force = 1;
			break;
		case 's':
			sock = optarg;
			break;
		case 't':
			if (parse_uint("-t", optarg, 0, MAX_STOP_SECS, &v) == -1)
				return LENSCTL_USAGE;
			timeout = (uint32_t)v;
			break;
		default:
			return lensctl_usage(&sandbox_group,
			    isstop ? "stop" : "rm");
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return lensctl_usage(&sandbox_group, isstop ? "stop" : "rm");
	for (i = 0; i < argc; i++)
		if (check_ref(argv[i], NULL) == -1)
			return LENSCTL_USAGE;
	for (i = 0; i < argc; i++) {
		(void)check_ref(argv[i], &ref);
		if (isstop) {
			memset(&st, 0, sizeof(st));
			st.ref = ref;
			st.timeout_secs = timeout;
			ch = request(sock, IMSG_CTL_STOP, &st, sizeof(st),
			    NULL, NULL);
		} else {
			memset(&rm, 0, sizeof(rm));
			rm.ref = ref;
			rm.force = force;
			ch = request(sock, IMSG_CTL_RM, &rm, sizeof(rm),
			    NULL, NULL);
		}
		if (ch == LENSCTL_OK)
			printf("%s\n", argv[i]);
		else
			rc = LENSCTL_FAIL;
		fflush(stdout);
	}
	return rc;
}

static int
sb_stop(int argc, char *argv[])
{
	return sb_stop_rm(argc, argv, 1);
}

static int
sb_rm(int argc, char *argv[])
{
	return sb_stop_rm(argc, argv, 0);
}

struct logsopts {
	int	 dead[3];
	int	 timestamps;
	int	 midline[3];	/* fd 1 or 2: the last byte was no '\n' */
};

/* "2026-12-07T20:46:38.123Z " */
static void
logs_stamp(char *buf, size_t sz, int64_t ms)
{
	struct tm	 tm;
	time_t		 t = (time_t)(ms / 1000);

	if (ms <= 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, sz, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		snprintf(buf, sz, "-");
	else
		snprintf(buf + strlen(buf), sz - strlen(buf), ".%03dZ",
		    (int)(ms % 1000));
}

static int
logs_data(const struct imsg *im, void *arg)
{
	struct logsopts		*lo = arg;
	const unsigned char	*p = im->data, *nl;
	size_t			 len = im->datalen, n;
	char			 stamp[64];
	int64_t			 ms;
	int			 fd;

	if (im->hdr.type == IMSG_CTL_STDOUT)
		fd = STDOUT_FILENO;
	else if (im->hdr.type == IMSG_CTL_STDERR)
		fd = STDERR_FILENO;
	else
		return -1;
	if (lo->timestamps) {
		/* each message: when its record was written, then bytes */
		if (len < sizeof(ms))
			return -1;
		memcpy(&ms, p, sizeof(ms));
		p += sizeof(ms);
		len -= sizeof(ms);
		logs_stamp(stamp, sizeof(stamp), ms);
		strlcat(stamp, " ", sizeof(stamp));
	}
	if (lo->dead[fd] || len == 0)
		return 0;
	while (len > 0) {
		if (lo->timestamps && !lo->midline[fd] &&
		    write_all(fd, stamp, strlen(stamp)) == -1)
			goto fail;
		nl = memchr(p, '\n', len);
		n = nl != NULL ? (size_t)(nl + 1 - p) : len;
		if (write_all(fd, p, n) == -1)
			goto fail;
		lo->midline[fd] = nl == NULL;
		p += n;
		len -= n;
	}
	return 0;
 fail:
	lo->dead[fd] = 1;
	if (fd == STDOUT_FILENO) {
		warn("standard output");
		return -1;
	}
	return 0;
}

/*
 * --since: RFC 3339, seconds since the epoch, or a duration before now
 * (10s, 5m, 2h, 1d) as docker takes it
 */
static int
parse_since(const char *s, int64_t *ms)
{
	struct timespec	 ts;
	const char	*errstr;
	char		 num[32], unit;
	long long	 v, mult;
	size_t		 n = strlen(s);

	if (chain_timeparse(s, &ts) == 0) {
		*ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		return 0;
	}
	if (n >= 2 && n < sizeof(num) && strchr("smhd", s[n - 1]) != NULL) {
		unit = s[n - 1];
		memcpy(num, s, n - 1);
		num[n - 1] = '\0';
		v = strtonum(num, 0, 100LL * 365 * 86400, &errstr);
		if (errstr == NULL) {
			mult = unit == 's' ? 1 : unit == 'm' ? 60 :
			    unit == 'h' ? 3600 : 86400;
			if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
				return -1;
			*ms = ((int64_t)ts.tv_sec - v * mult) * 1000 +
			    ts.tv_nsec / 1000000;
			return 0;
		}
	}
	v = strtonum(s, 0, 1LL << 40, &errstr);
	if (errstr == NULL) {
		*ms = (int64_t)v * 1000;
		return 0;
	}
	warnx("--since %s: not an RFC 3339 time, seconds since the epoch, "
	    "or a duration like 10m (s, m, h, d)", s);
	return -1;
}

static int
sb_logs(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "follow",	no_argument,		NULL, 'f' },
		{ "timestamps",	no_argument,		NULL, 't' },
		{ "tail",	required_argument,	NULL, 'n' },
		{ "since",	required_argument,	NULL, 'S' },
		{ "socket",	required_argument,	NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	struct ctl_logs	 l;
	struct logsopts	 lo;
	const char	*sock = NULL;
	uint64_t	 v;
	int		 ch;

	memset(&l, 0, sizeof(l));
	memset(&lo, 0, sizeof(lo));
	while ((ch = getopt_long(argc, argv, "fn:s:t", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'f':
			l.follow = 1;
			break;
		case 't':
			l.flags |= LOGS_TIMESTAMPS;
			lo.timestamps = 1;
			break;
		case 'n':
			if (strcmp(optarg, "all") == 0) {
				l.flags &= ~LOGS_TAIL;
				break;
			}
			if (parse_uint("--tail", optarg, 0, UINT32_MAX,
			    &v) == -1)
				return LENSCTL_USAGE;
			l.flags |= LOGS_TAIL;
			l.tail = (uint32_t)v;
			break;
		case 'S':
			if (parse_since(optarg, &l.since_ms) == -1)
				return LENSCTL_USAGE;
			l.flags |= LOGS_SINCE;
			break;
		case 's':
			sock = optarg;
			break;
		default:
			return lensctl_usage(&sandbox_group, "logs");
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		return lensctl_usage(&sandbox_group, "logs");
	if (check_ref(argv[0], &l.ref) == -1)
		return LENSCTL_USAGE;
	signal(SIGPIPE, SIG_IGN);
	return request(sock, IMSG_CTL_LOGS, &l, sizeof(l), logs_data, &lo);
}

static int
inspect_json(const struct imsg *im, void *arg)
{
	json_t		*j;
	json_error_t	 jerr;

	(void)arg;
	if (im->hdr.type != IMSG_CTL_JSON)
		return -1;
	j = json_loadb(im->data, im->datalen, 0, &jerr);
	if (j == NULL) {
		warnx("lensvmm sent malformed JSON: %s", jerr.text);
		return -1;
	}
	if (json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == -1)
		warnx("cannot print the JSON");
	putchar('\n');
	json_decref(j);
	return 0;
}

struct policy_text {
	char	*text;
	size_t	 len;
};

static int
inspect_policy(const struct imsg *im, void *arg)
{
	struct policy_text	*pt = arg;
	json_t			*j, *p, *t;
	json_error_t		 jerr;
	int			 rc = -1;

	if (im->hdr.type != IMSG_CTL_JSON)
		return -1;
	if ((j = json_loadb(im->data, im->datalen, 0, &jerr)) == NULL) {
		warnx("lensvmm sent malformed JSON: %s", jerr.text);
		return -1;
	}
	p = json_object_get(j, "policy");
	if (json_is_string(p))			/* the default policy */
		rc = 0;
	else if ((t = json_object_get(p, "text")) != NULL &&
	    json_is_string(t)) {
		pt->len = json_string_length(t);
		if ((pt->text = malloc(pt->len + 1)) == NULL)
			warn(NULL);
		else {
			memcpy(pt->text, json_string_value(t), pt->len + 1);
			rc = 0;
		}
	} else
		warnx("lensvmm did not say which policy the sandbox has");
	json_decref(j);
	return rc;
}

static int
inspect_ca(const struct imsg *im, void *arg)
{
	struct policy_text	*pt = arg;
	json_t			*j, *c;
	json_error_t		 jerr;
	int			 rc = -1;

	if (im->hdr.type != IMSG_CTL_JSON)
		return -1;
	if ((j = json_loadb(im->data, im->datalen, 0, &jerr)) == NULL) {
		warnx("lensvmm sent malformed JSON: %s", jerr.text);
		return -1;
	}
	c = json_object_get(j, "ca");
	if (c == NULL)
		rc = 0;			/* none */
	else if (json_is_string(c) && json_string_length(c) > 0) {
		pt->len = json_string_length(c);
		if ((pt->text = malloc(pt->len + 1)) == NULL)
			warn(NULL);
		else {
			memcpy(pt->text, json_string_value(c), pt->len + 1);
			rc = 0;
		}
	} else
		warnx("lensvmm sent a malformed ca");
	json_decref(j);
	return rc;
}

/* one field of a sandbox's INSPECT answer, taken out by cb */
static int
inspect_text(const char *sock, const char *ref,
    int (*cb)(const struct imsg *, void *), char **text, size_t *len)
{
	struct ctl_ref		 r;
	struct policy_text	 pt = { NULL, 0 };

	if (check_ref(ref, &r) == -1)
		return -1;
	if (request(sock, IMSG_CTL_INSPECT, &r, sizeof(r), cb, &pt) !=
	    LENSCTL_OK) {
		free(pt.text);
		return -1;
	}
	*text = pt.text;
	*len = pt.len;
	return 0;
}

int
lensctl_sandbox_ca(const char *sock, const char *ref, char **pem,
    size_t *len)
{
	return inspect_text(sock, ref, inspect_ca, pem, len);
}

int
lensctl_sandbox_policy(const char *sock, const char *ref, char **text,
    size_t *len)
{
	return inspect_text(sock, ref, inspect_policy, text, len);
}

static int
inspect_whole(const struct imsg *im, void *arg)
{
	json_t		**jp = arg;
	json_error_t	 jerr;

	if (im->hdr.type != IMSG_CTL_JSON)
		return -1;
	if ((*jp = json_loadb(im->data, im->datalen, 0, &jerr)) == NULL) {
		warnx("lensvmm sent malformed JSON: %s", jerr.text);
		return -1;
	}
	return 0;
}

json_t *
lensctl_sandbox_inspect(const char *sock, const char *ref)
{
	struct ctl_ref	 r;
	json_t		*j = NULL;

	if (check_ref(ref, &r) == -1)
		return NULL;
	if (request(sock, IMSG_CTL_INSPECT, &r, sizeof(r), inspect_whole,
	    &j) != LENSCTL_OK) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static int
sb_inspect(int argc, char *argv[])
{
	struct ctl_ref	 ref;
	const char	*sock = NULL;
	int		 ch, i, rc = LENSCTL_OK;

	while ((ch = getopt(argc, argv, "s:")) != -1) {
		switch (ch) {
		case 's':
			sock = optarg;
			break;
		default:
			return lensctl_usage(&sandbox_group, "inspect");
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return lensctl_usage(&sandbox_group, "inspect");
	for (i = 0; i < argc; i++)
		if (check_ref(argv[i], NULL) == -1)
			return LENSCTL_USAGE;
	for (i = 0; i < argc; i++) {
		(void)check_ref(argv[i], &ref);
		if (request(sock, IMSG_CTL_INSPECT, &ref, sizeof(ref),
		    inspect_json, NULL) != LENSCTL_OK)
			rc = LENSCTL_FAIL;
		fflush(stdout);
	}
	return rc;
}

/*
 * lensctl cred ls: what the sandboxes lensvmm lists (ps) bind, read
 * from the policy each one got (INSPECT) as the policy's public model
 * (policy_json: ids, envVars, injection types and hosts; no values).
 */
static int
creds_entry(const struct imsg *im, void *arg)
{
	json_t			*a = arg;
	struct ctl_sandbox	 s;
	char			 id[CTL_ID_SIZE], name[CTL_NAME_SIZE];

	if (im->hdr.type != IMSG_CTL_PS_ENTRY ||
	    imsg_expect(im, sizeof(s)) == -1)
		return -1;
	memcpy(&s, im->data, sizeof(s));
	field(id, sizeof(id), s.id, sizeof(s.id));
	field(name, sizeof(name), s.name, sizeof(s.name));
	if (json_array_append_new(a, json_pack("{s:s, s:s, s:[]}", "id", id,
	    "name", name, "credentials")) == -1) {
		warnx("out of memory");
		return -1;
	}
	return 0;
}

/* sb's credentials: those of the policy lensvmm has for it */
static int
creds_of(const char *sock, json_t *sb)
{
	struct policy		*pol;
	struct policy_error	 perr;
	const char		*id = json_string_value(json_object_get(sb,
				    "id"));
	char			*text = NULL, *model, why[512];
	size_t			 len = 0;
	json_t			*j, *c;
	int			 rc = -1;

	if (lensctl_sandbox_policy(sock, id, &text, &len) == -1)
		return -1;
	if (text == NULL)			/* the default policy: none */
		return 0;
	if ((pol = policy_parse(id, text, len, &perr)) == NULL) {
		policy_strerror(&perr, why, sizeof(why));
		warnx("the policy lensvmm has for sandbox %s: %s", id, why);
		free(text);
		return -1;
	}
	free(text);
	if ((model = policy_json(pol)) != NULL &&
	    (j = json_loads(model, 0, NULL)) != NULL) {
		c = json_object_get(j, "credentials");
		if (c == NULL || json_is_array(c)) {
			if (c != NULL)
				json_object_set(sb, "credentials", c);
			rc = 0;
		}
		json_decref(j);
	}
	if (rc == -1)
		warnx("cannot read the credentials of sandbox %s's policy", id);
	free(model);
	policy_free(pol);
	return rc;
}

json_t *
lensctl_sandbox_creds(const char *sock)
{
	struct ctl_ps	 p;
	json_t		*a, *sb;
	size_t		 i;

	memset(&p, 0, sizeof(p));
	if ((a = json_array()) == NULL) {
		warnx("out of memory");
		return NULL;
	}
	if (request(sock, IMSG_CTL_PS, &p, sizeof(p), creds_entry, a) !=
	    LENSCTL_OK) {
		json_decref(a);
		return NULL;
	}
	json_array_foreach(a, i, sb)
		if (creds_of(sock, sb) == -1) {
			json_decref(a);
			return NULL;
		}
	return a;
}
