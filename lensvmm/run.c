/*
 * lensvmm parent: the run path.  A run request becomes a sandbox
 * (backend, policy, volumes opened as the caller, uid slot, state
 * directory, cgroup), its jail process is forked, and on READY its main
 * command starts; exec starts another command in a running sandbox.
 */
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <signal.h>
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
#include "policy.h"
#include "seccomp_filter.h"

int
close_except(const int *keep, int nkeep)
{
	int	 i, j, lo = STDERR_FILENO + 1, hi, t;
	int	 sorted[16 + VMM_MAXVOLUMES];

	if (nkeep > (int)(sizeof(sorted) / sizeof(sorted[0]))) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < nkeep; i++)
		sorted[i] = keep[i];
	for (i = 0; i < nkeep; i++)
		for (j = i + 1; j < nkeep; j++)
			if (sorted[j] < sorted[i]) {
				t = sorted[i];
				sorted[i] = sorted[j];
				sorted[j] = t;
			}
	for (i = 0; i < nkeep; i++) {
		hi = sorted[i] - 1;
		if (sorted[i] < lo)
			continue;
		if (hi >= lo && close_range(lo, hi, 0) == -1)
			return -1;
		lo = sorted[i] + 1;
	}
	return close_range(lo, ~0U, 0);
}

static int
jail_fork(struct sbx *sb, struct jail_conf *jc)
{
	int	 sp[2], lp[2], keep[16 + VMM_MAXVOLUMES], n = 0, i;
	pid_t	 pid;
	void	*page;

	page = mmap(NULL, sizeof(int32_t), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		return -1;
	sb->child.sigsys = page;
	*sb->child.sigsys = -1;
	sb->child.name = "jail";
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sp) == -1) {
		munmap(page, sizeof(int32_t));
		sb->child.sigsys = NULL;
		return -1;
	}
	proc_logpair(lp);
	switch ((pid = fork())) {
	case -1:
		close(sp[0]);
		close(sp[1]);
		close(lp[0]);
		close(lp[1]);
		munmap(page, sizeof(int32_t));
		sb->child.sigsys = NULL;
		return -1;
	case 0:
		log_procinit("jail");
		/*
		 * The parent's event base is not the jail process's: give
		 * it a backend of its own (so nothing here touches the
		 * parent's epoll instance and signal pipe), then free it
		 * with all its events, which also gives back the signals;
		 * sandbox_main() makes a new base.
		 */
		if (event_reinit(evbase) == -1)
			fatalx("event_reinit");
		event_base_free(evbase);
		evbase = NULL;
		keep[n++] = sp[1];
		keep[n++] = lp[1];
		keep[n++] = jc->initfd;
		keep[n++] = jc->consolefd;
		if (jc->oomfd != -1)
			keep[n++] = jc->oomfd;
		for (i = 0; i < 4 && jc->cgprocs[i] != -1; i++)
			keep[n++] = jc->cgprocs[i];
		keep[n++] = jc->rootfd;
		for (i = 0; i < jc->nvolumes; i++)
			keep[n++] = jc->volumes[i].fd;
		if (close_except(keep, n) == -1)
			fatal("close_range");
		proc_child_stdio(lp[1]);
		sandbox_report_to(sb->child.sigsys);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_IGN);
		signal(SIGINT, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		_exit(sandbox_main(sp[1], jc));
	}
	close(sp[1]);
	close(lp[1]);
	sb->child.pid = pid;
	sb->child.fd = sp[0];
	sb->child.logfd = lp[0];
	proc_log_watch(&sb->child);
	jail_chan_init(sb, sp[0]);
	return 0;
}

static void
volumes_close(struct volume *vols, uint32_t n)
{
	uint32_t	 i;

	for (i = 0; i < n; i++)
		if (vols[i].fd != -1) {
			close(vols[i].fd);
			vols[i].fd = -1;
		}
}

/* milliseconds until deadline (CLOCK_MONOTONIC), 0 once it passed */
static int
ms_left(const struct timespec *deadline)
{
	struct timespec	 now;
	long long	 ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? (int)ms : 0;
}

/* each source opened as the caller and checked (hostpath.c) */
static int
parse_volumes(struct sbx *sb, const struct caller *who,
    const struct timespec *deadline, struct volume *vols, char *err,
    size_t errlen)
{
	const char		*p = sb->strings;
	struct gr_volume	 v;
	char			 why[256];
	uint32_t		 i;

	for (i = 0; i < sb->run.nvolumes; i++)
		vols[i].fd = -1;
	for (i = 0; i < sb->run.argc + sb->run.envc; i++)
		p += strlen(p) + 1;
	for (i = 0; i < sb->run.nvolumes; i++, p += strlen(p) + 1) {
		/* control checked them with the same parser */
		if (gr_volume("volume", p, &v, err, errlen) == -1) {
			volumes_close(vols, i);
			return -1;
		}
		strlcpy(vols[i].src, v.src, sizeof(vols[i].src));
		if ((vols[i].fd = hostpath_open(who, v.src, HOSTPATH_VOLUME,
		    ms_left(deadline), why, sizeof(why))) == -1 ||
		    hostpath_check(who,
		    vols[i].fd, HOSTPATH_VOLUME, protect, nprotect, why,
		    sizeof(why)) == -1) {
			snprintf(err, errlen, "volume %.200s: %.250s", v.src,
			    why);
			volumes_close(vols, i + 1);
			return -1;
		}
		strlcpy(vols[i].dst, v.dst, sizeof(vols[i].dst));
		vols[i].ro = v.ro;
	}
	return 0;
}

static void
init_exec_build(struct ibuf *b, uint32_t flags, uint16_t rows, uint16_t cols,
    const char *user, const char *cwd, uint32_t argc, uint32_t envc)
{
	struct init_exec	 ie;

	memset(&ie, 0, sizeof(ie));
	if (flags & RUN_TTY)
		ie.flags |= INIT_EXEC_TTY;
	if (flags & RUN_STDIN)
		ie.flags |= INIT_EXEC_STDIN;
	if (flags & RUN_ROOT)
		ie.flags |= INIT_EXEC_ROOT;
	ie.rows = rows;
	ie.cols = cols;
	ie.argc = argc;
	ie.envc = envc;
	strlcpy(ie.user, user, sizeof(ie.user));
	strlcpy(ie.cwd, cwd, sizeof(ie.cwd));
	if (imsg_add(b, &ie, sizeof(ie)) == -1)
		fatal("imsg_add");
}

size_t
strings_len(const char *p, uint32_t n)
{
	const char	*s = p;
	uint32_t	 i;

	for (i = 0; i < n; i++)
		p += strlen(p) + 1;
	return (size_t)(p - s);
}

const char *
runopt_strings(const struct sbx *sb)
{
	const char	*p = sb->strings, *end = sb->strings + sb->stringslen;
	uint32_t	 n = 0, skip;

	for (; p < end; p += strlen(p) + 1)
		n++;
	if ((uint64_t)sb->run.ntmpfs + sb->run.nulimits > n)
		return NULL;
	skip = n - (sb->run.ntmpfs + sb->run.nulimits);
	return sb->strings + strings_len(sb->strings, skip);
}

int
runopts_parse(const struct sbx *sb, struct gr_tmpfs *tm, int *ntm,
    struct gr_ulimit *ul, int *nul, char *err, size_t errlen)
{
	const char	*p = runopt_strings(sb);
	struct rlimit	 own;
	uint64_t	 mem = sb->run.memory;
	uint32_t	 i;
	int		 k;

	*ntm = *nul = 0;
	if (p == NULL) {
		snprintf(err, errlen, "fewer strings than --tmpfs and --ulimit");
		return -1;
	}
	for (i = 0; i < sb->run.ntmpfs; i++, p += strlen(p) + 1) {
		if (gr_tmpfs("--tmpfs", p, &tm[i], err, errlen) == -1)
			return -1;
		for (k = 0; k < (int)i; k++)
			if (strcmp(tm[k].path, tm[i].path) == 0) {
				snprintf(err, errlen, "--tmpfs %s: %s given "
				    "twice", p, tm[i].path);
				return -1;
			}
		/* its pages are the sandbox's memory */
		if (tm[i].size == 0)
			tm[i].size = mem != 0 && mem < GR_TMPFS_SIZE ? mem :
			    GR_TMPFS_SIZE;
		else if (mem != 0 && tm[i].size > mem) {
			snprintf(err, errlen, "--tmpfs %s: size above the "
			    "sandbox's memory (%llu bytes)", p,
			    (unsigned long long)mem);
			return -1;
		}
		(*ntm)++;
	}
	for (i = 0; i < sb->run.nulimits; i++, p += strlen(p) + 1) {
		if (gr_ulimit("--ulimit", p, &ul[i], err, errlen) == -1)
			return -1;
		for (k = 0; k < (int)i; k++)
			if (ul[k].resource == ul[i].resource) {
				snprintf(err, errlen, "--ulimit %s: %s given "
				    "twice", p, ul[i].name);
				return -1;
			}
		/* the sandbox cannot raise a hard limit above lensvmm's */
		if (getrlimit(ul[i].resource, &own) == -1) {
			snprintf(err, errlen, "--ulimit %s: getrlimit: %s", p,
			    strerror(errno));
			return -1;
		}
		if (own.rlim_max != RLIM_INFINITY && ul[i].hard >
		    (uint64_t)own.rlim_max) {
			snprintf(err, errlen, "--ulimit %s: hard limit above "
			    "lensvmm's own hard limit of %s (%llu)", p,
			    ul[i].name, (unsigned long long)own.rlim_max);
			return -1;
		}
		(*nul)++;
	}
	return 0;
}

/* does the environment strs (after argc arguments) set key? */
static int
env_has(const char *strs, uint32_t argc, uint32_t envc, const char *key)
{
	const char	*p = strs + strings_len(strs, argc);
	size_t		 kl = strlen(key);
	uint32_t	 i;

	for (i = 0; i < envc; i++, p += strlen(p) + 1)
		if (strncmp(p, key, kl) == 0 && p[kl] == '=')
			return 1;
	return 0;
}

/*
 * The proxy settings of a sandbox attached to lensnetd, and the files
 * of its CA (SSL_CERT_FILE, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE: the
 * bundle with the CA; NODE_EXTRA_CA_CERTS: the CA alone, node adds it
 * to its own), added to the environment of every command unless the
 * command sets them itself (the user's -e wins):
 * NUL-separated into buf; their count.
 */
static uint32_t
proxy_env(const struct sbx *sb, const char *strs, uint32_t argc,
    uint32_t envc, char *buf, size_t size, size_t *len)
{
	static const char *const keys[] = { "HTTP_PROXY", "HTTPS_PROXY",
	    "http_proxy", "https_proxy", "NO_PROXY", "no_proxy" };
	static const char *const cakeys[] = { "SSL_CERT_FILE",
	    "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS" };
	char		 gw[INET_ADDRSTRLEN];
	uint32_t	 n = 0;
	size_t		 i;
	int		 w;

	*len = 0;
	/* the credentials' placeholders (their -e refused before) */
	for (i = 0; i < sb->nph; i++) {
		w = snprintf(buf + *len, size - *len, "%s=%s",
		    sb->ph[i].envvar, sb->ph[i].ph);
		if (w < 0 || (size_t)w >= size - *len)
			return n;
		*len += (size_t)w + 1;
		n++;
	}
	if (!sb->net.net || inet_ntop(AF_INET, &sb->net.gateway, gw,
	    sizeof(gw)) == NULL)
		return n;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (env_has(strs, argc, envc, keys[i]))
			continue;
		if (i < 4)
			w = snprintf(buf + *len, size - *len, "%s=http://%s:%u",
			    keys[i], gw, sb->net.proxyport);
		else
			w = snprintf(buf + *len, size - *len,
			    "%s=localhost,127.0.0.1,::1", keys[i]);
		if (w < 0 || (size_t)w >= size - *len)
			break;
		*len += (size_t)w + 1;
		n++;
	}
	/* the sandbox CA lens-init installed (IMSG_INIT_CA) */
	for (i = 0; sb->calen > 0 && i < sizeof(cakeys) / sizeof(cakeys[0]);
	    i++) {
		if (env_has(strs, argc, envc, cakeys[i]))
			continue;
		w = snprintf(buf + *len, size - *len, "%s=%s", cakeys[i],
		    i < 3 ? INIT_CA_BUNDLE : INIT_CA_FILE);
		if (w < 0 || (size_t)w >= size - *len)
			break;
		*len += (size_t)w + 1;
		n++;
	}
	return n;
}

static int
send_exec(struct sbx *sb, uint32_t id, int fd, uint32_t flags, uint16_t rows,
    uint16_t cols, const char *user, const char *cwd, uint32_t argc,
    uint32_t envc, const char *strs)
{
	struct ibuf	*b;
	size_t		 len = strings_len(strs, argc + envc), xlen, xsize;
	char		*extra;
	uint32_t	 nx;

	/* the proxy's and the CA's variables, and the placeholders */
	xsize = 1024 + sb->nph * (CREDVAR_ENV_SIZE + PH_SIZE + 1);
	if ((extra = malloc(xsize)) == NULL)
		return -1;
	nx = proxy_env(sb, strs, argc, envc, extra, xsize, &xlen);
	if (sizeof(struct init_exec) + len + xlen > IMSG_MAXPAYLOAD ||
	    (b = imsg_create(&sb->jch.iev.ibuf, IMSG_J_EXEC, id, 0,
	    sizeof(struct init_exec) + len + xlen)) == NULL) {
		free(extra);
		return -1;
	}
	init_exec_build(b, flags, rows, cols, user, cwd, argc, envc + nx);
	if (imsg_add(b, strs, len) == -1 ||
	    (xlen > 0 && imsg_add(b, extra, xlen) == -1)) {
		free(extra);
		imsg_abort(b);
		return -1;
	}
	free(extra);
	b->fd = fd;
	imsg_close(&sb->jch.iev.ibuf, b);
	imsgev_add(&sb->jch.iev);
	return 0;
}

/*
 * Keep the policy of a new sandbox: its text (for inspect and the state
 * file) and its binary model, which the policy process (policy.c) parsed
 * and this process checked (NAME is what an error names: "policy" for
 * --policy, the file for the default); take its resources where the run
 * request left them unset.  lensnetd gets the model at attach (without
 * lensnetd the sandbox has loopback only, less than any policy allows).
 * No root process parses the YAML.
 */
int
policy_take(struct sbx *sb, const char *name, const char *text, size_t len,
    char *err, size_t errlen)
{
	const struct policy_resources *pr;
	struct policy		*pol;

	if (policy_model_parse(name, text, len, &pol, &sb->model,
	    &sb->modellen, err, errlen) == -1)
		return -1;
	strlcpy(sb->policyhash, policy_hash(pol), sizeof(sb->policyhash));
	if (ph_take(sb, pol, err, errlen) == -1) {
		policy_free(pol);
		free(sb->model);
		sb->model = NULL;
		return -1;
	}
	pr = policy_resources(pol);	/* lensctl's options win */
	if (sb->run.memory == 0)
		sb->run.memory = pr->memory;
	if (sb->run.cpu_millis == 0)
		sb->run.cpu_millis = pr->cpu_millis;
	if (sb->run.pids == 0)
		sb->run.pids = pr->pids;
	policy_free(pol);
	if ((sb->policy = malloc(len)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(sb->policy, text, len);
	sb->policylen = len;
	return 0;
}

/*
 * The backend of a new sandbox: auto (the default) takes microvm where
 * the probe says a Linux guest can boot and jail elsewhere, with the
 * reason; microvm where it cannot boot is refused, never downgraded.
 * The client hears the choice first (IMSG_CTL_BACKEND).
 */
static int
choose_backend(const struct ctl_run *run, struct ctl_backend *cb,
    struct reply *r)
{
	char	 why[200];
	int	 ok;

	memset(cb, 0, sizeof(*cb));
	if (strcmp(run->backend, "jail") == 0) {
		strlcpy(cb->backend, "jail", sizeof(cb->backend));
		strlcpy(cb->why, "--backend jail", sizeof(cb->why));
		cb->chosen = 1;
		goto tell;
	}
	ok = microvm_probe(VMM_KVM, VMM_CPUINFO, guestdir, why,
	    sizeof(why)) == 0;
	/* what a microVM cannot give this request */
	if (ok && run->nvolumes > 0) {
		ok = 0;
		strlcpy(why, "-v volumes need the jail", sizeof(why));
	} else if (ok && ((run->flags & RUN_READONLY) || run->ntmpfs > 0 ||
	    run->nulimits > 0)) {
		/* the guest's lens-init does not take them yet */
		ok = 0;
		strlcpy(why, "--read-only, --tmpfs and --ulimit need the jail",
		    sizeof(why));
	} else if (ok && run->memory != 0 && run->memory < VMM_VM_MIN_MEMORY) {
		ok = 0;
		snprintf(why, sizeof(why), "--memory %llu MiB is too small "
		    "for a Linux guest (at least %llu MiB)",
		    (unsigned long long)(run->memory >> 20),
		    (unsigned long long)(VMM_VM_MIN_MEMORY >> 20));
	}
	if (strcmp(run->backend, "microvm") == 0) {
		if (!ok) {
			reply_error(r, CTL_EXIT_LENS, "backend microvm "
			    "unavailable: %s", why);
			return -1;
		}
		strlcpy(cb->backend, "microvm", sizeof(cb->backend));
		snprintf(cb->why, sizeof(cb->why), "--backend microvm: %s",
		    why);
		cb->chosen = 1;
	} else if (ok) {
		strlcpy(cb->backend, "microvm", sizeof(cb->backend));
		snprintf(cb->why, sizeof(cb->why), "auto: %s", why);
	} else {
		strlcpy(cb->backend, "jail", sizeof(cb->backend));
		snprintf(cb->why, sizeof(cb->why), "microvm unavailable: %s",
		    why);
	}
tell:
	reply_send(r, IMSG_CTL_BACKEND, cb, sizeof(*cb));
	/* before the connection may go to the jail process */
	if (imsg_flush(&r->iev.ibuf) == -1 && errno != EAGAIN) {
		reply_error(r, CTL_EXIT_LENS, "client: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * A run without --policy gets the operator's default (-P), read anew
 * for each sandbox so that an edit needs no restart.  No file: no
 * policy, which lensnetd enforces as deny everything.  A file that is
 * there but unreadable, too big or wrong refuses the sandbox: a
 * default the operator wrote is never silently replaced by another.
 */
static int
policy_default_take(struct sbx *sb, char *err, size_t errlen)
{
	struct stat	 st;
	char		*text;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(defpolicy, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "default policy %s: %s", defpolicy,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1)
		snprintf(err, errlen, "default policy %s: %s", defpolicy,
		    strerror(errno));
	else if (!S_ISREG(st.st_mode))
		snprintf(err, errlen, "default policy %s: not a regular file",
		    defpolicy);
	else if (st.st_size > POLICY_MAXSIZE)
		snprintf(err, errlen, "default policy %s: larger than %d "
		    "bytes", defpolicy, POLICY_MAXSIZE);
	else
		err[0] = '\0';
	if (err[0] != '\0') {
		close(fd);
		return -1;
	}
	if ((text = malloc(st.st_size + 1)) == NULL) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	n = read(fd, text, st.st_size + 1);
	close(fd);
	if (n == -1 || n > st.st_size) {
		snprintf(err, errlen, "default policy %s: %s", defpolicy,
		    n == -1 ? strerror(errno) : "changed while read");
		free(text);
		return -1;
	}
	n = policy_take(sb, defpolicy, text, n, err, errlen);
	strlcpy(sb->run.policypath, defpolicy, sizeof(sb->run.policypath));
	free(text);
	return n;
}

void
req_run(struct reply *r, struct imsg *im, uid_t by)
{
	struct ctl_run	 run;

	memcpy(&run, im->data, sizeof(run));
	if (run.flags & RUN_IMAGE) {
		if (audit_refuses(r))
			return;
		image_run(r, im, by);	/* then run_start (imagerun.c) */
	} else
		run_start(r, im, by, NULL, 0);
}

/* layers: run IMAGE, nlayers diff ids (OCI_DIGEST_SIZE apart) */
void
run_start(struct reply *r, struct imsg *im, uid_t by, const char *layers,
    uint32_t nlayers)
{
	struct sbx		*sb;
	struct jail_conf	 jc;
	struct volume		 vols[VMM_MAXVOLUMES];
	struct gr_tmpfs		 tmpfs[GR_MAXTMPFS];
	struct gr_ulimit	 ulimits[GR_MAXULIMITS];
	int			 ntmpfs, nulimits;
	struct caller		 who;
	struct timespec		 deadline;
	struct ctl_run		 run;
	struct ctl_backend	 cb;
	char			 err[512], path[PATH_MAX + 32], why[256];
	uint8_t			 rnd[32];
	int			 i, initfd = -1, consolefd = -1, oomfd = -1;
	int			 rootfd = -1, rc;
	int			 cgprocs[4] = { -1, -1, -1, -1 };
	char			*phwire = NULL;
	json_t			*d;

	memcpy(&run, im->data, sizeof(run));
	for (i = 0; i < VMM_MAXVOLUMES; i++)
		vols[i].fd = -1;
	if (audit_refuses(r))
		return;
	if (choose_backend(&run, &cb, r) == -1)
		return;
	if (run.npublish > 0 && netdsock[0] == '\0') {
		reply_error(r, CTL_EXIT_LENS, "-p needs lensnetd (lensvmm -n), "
		    "and this lensvmm runs sandboxes without a network");
		return;
	}
	if (run.name[0] != '\0' && sbx_find(run.name, err, sizeof(err)) !=
	    NULL) {
		reply_error(r, CTL_EXIT_LENS, "the name %s is already in use",
		    run.name);
		return;
	}
	/* the caller's own view of the host: group lens may run
	 * sandboxes, not read what it could not read itself */
	if (caller_get(r->iev.ibuf.fd, &who) == -1 || who.uid != by) {
		reply_error(r, CTL_EXIT_LENS, "cannot tell who is asking");
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += HOSTPATH_TIMEOUT;
	if (layers != NULL)
		rootfd = -1;		/* the image's layers instead */
	else if ((rootfd = hostpath_open(&who, run.rootfs, HOSTPATH_DIR,
	    ms_left(&deadline), why, sizeof(why))) == -1 ||
	    hostpath_check(&who, rootfd, HOSTPATH_DIR,
	    protect, nprotect, why, sizeof(why)) == -1) {
		reply_error(r, CTL_EXIT_LENS, "rootfs %s: %s", run.rootfs, why);
		if (rootfd != -1)
			close(rootfd);
		return;
	}
	if ((sb = calloc(1, sizeof(*sb))) == NULL) {
		reply_error(r, CTL_EXIT_LENS, "out of memory");
		close(rootfd);
		return;
	}
	TAILQ_INIT(&sb->waiters);
	sb->run = run;
	strlcpy(sb->backend, cb.backend, sizeof(sb->backend));
	strlcpy(sb->backend_why, cb.why, sizeof(sb->backend_why));
	sb->child.fd = -1;
	sb->child.logfd = -1;
	sb->slotfd = -1;
	sb->netnsfd = -1;
	/* its lengths were checked on receipt (ctl_msgs[], ctl_request) */
	sb->stringslen = im->datalen - sizeof(run) - run.policylen;
	if ((sb->strings = malloc(sb->stringslen + 1)) == NULL) {
		free(sb);
		close(rootfd);
		reply_error(r, CTL_EXIT_LENS, "out of memory");
		return;
	}
	memcpy(sb->strings, (char *)im->data + sizeof(run), sb->stringslen);
	if ((sb->labels = json_object()) == NULL) {
		reply_error(r, CTL_EXIT_LENS, "out of memory");
		goto fail_mem;
	}
	{
		/* control checked them: KEY=VALUE, after the -p strings */
		const char	*p = sb->strings + strings_len(sb->strings,
				    run.argc + run.envc + run.nvolumes +
				    run.npublish), *eq;
		char		 key[CTL_LABEL_SIZE];
		uint32_t	 k;

		for (k = 0; k < run.nlabels; k++, p += strlen(p) + 1) {
			eq = strchr(p, '=');
			memcpy(key, p, eq - p);
			key[eq - p] = '\0';
			if (json_object_set_new(sb->labels, key,
			    json_string(eq + 1)) == -1) {
				reply_error(r, CTL_EXIT_LENS, "out of memory");
				goto fail_mem;
			}
		}
	}
	if ((run.policylen > 0 ? policy_take(sb, "policy", (char *)im->data +
	    sizeof(run) + sb->stringslen, run.policylen, err, sizeof(err)) :
	    policy_default_take(sb, err, sizeof(err))) == -1) {
		reply_error(r, CTL_EXIT_LENS, "%s", err);
		goto fail_mem;
	}
	if (ph_env_refuse(sb, sb->strings, run.argc, run.envc, err,
	    sizeof(err)) == -1) {
		reply_error(r, CTL_EXIT_LENS, "%s", err);
		goto fail_mem;
	}
	if (parse_volumes(sb, &who, &deadline, vols, err, sizeof(err)) == -1) {
		reply_error(r, CTL_EXIT_LENS, "%s", err);
		goto fail_mem;
	}
	/* the policy's resources may have set the memory */
	if (strcmp(sb->backend, "microvm") == 0 && sb->run.memory != 0 &&
	    sb->run.memory < VMM_VM_MIN_MEMORY) {
		reply_error(r, CTL_EXIT_LENS, "backend microvm: memory %llu "
		    "MiB is too small for a Linux guest (at least %llu MiB)",
		    (unsigned long long)(sb->run.memory >> 20),
		    (unsigned long long)(VMM_VM_MIN_MEMORY >> 20));
		goto fail_mem;
	}
	if (runopts_parse(sb, tmpfs, &ntmpfs, ulimits, &nulimits, err,
	    sizeof(err)) == -1) {
		reply_error(r, CTL_EXIT_LENS, "%s", err);
		goto fail_mem;
	}
	arc4random_buf(rnd, sizeof(rnd));
	sodium_bin2hex(sb->id, sizeof(sb->id), rnd, sizeof(rnd));
	if (run.name[0] != '\0')
		strlcpy(sb->name, run.name, sizeof(sb->name));
	else
		snprintf(sb->name, sizeof(sb->name), "lens-%.12s", sb->id);
	if ((sb->slot = slot_alloc(&sb->slotfd)) == -1) {
		reply_error(r, CTL_EXIT_LENS, "no free sandbox slot (at most "
		    "%d sandboxes)", VMM_MAXSANDBOXES);
		goto fail_mem;
	}
	sb->base = VMM_UIDBASE + VMM_UIDRANGE * (uid_t)sb->slot;
	sb->created = time(NULL);
	sb->state = SANDBOX_CREATED;
	sb->next_exec = 1;
	sb->owner = who;
	sb->owned = 1;
	TAILQ_INSERT_TAIL(&sandboxes, sb, entry);
	reload_watch(sb, vols, (int)run.nvolumes);

	/* state directory: lower, root and (jail: its tmpfs writable
	 * layer) upper are mount points in the sandbox's namespace */
	if ((size_t)snprintf(sb->dir, sizeof(sb->dir), "%s/sandboxes/%s",
	    statedir, sb->id) >= sizeof(sb->dir))
		fatalx("state directory path too long");
	if (mkdir(sb->dir, 0711) == -1) {
		reply_error(r, CTL_EXIT_LENS, "mkdir %s: %s", sb->dir,
		    strerror(errno));
		sb->dir[0] = '\0';
		goto fail;
	}
	{
		static const char *const sub[] = { "lower", "root", "upper",
		    "work" };

		for (i = 0; i < 4; i++) {
			snprintf(path, sizeof(path), "%s/%s", sb->dir, sub[i]);
			if (mkdir(path, 0755) == -1 || (i >= 2 &&
			    chown(path, sb->base, sb->base) == -1)) {
				reply_error(r, CTL_EXIT_LENS, "create %s: %s",
				    path, strerror(errno));
				goto fail;
			}
		}
		snprintf(path, sizeof(path), "%s/work", sb->dir);
		(void)chmod(path, 0700);
	}
	snprintf(path, sizeof(path), "%s/console.log", sb->dir);
	if ((consolefd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND |
	    O_CLOEXEC, 0640)) == -1) {
		reply_error(r, CTL_EXIT_LENS, "create %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	if ((initfd = open(initpath, O_RDONLY | O_CLOEXEC)) == -1) {
		reply_error(r, CTL_EXIT_LENS, "lens-init %s: %s", initpath,
		    strerror(errno));
		goto fail;
	}
	if (cgroup_create(&sb->cg, sb->id, sb->run.memory == 0 ? 0 :
	    strcmp(sb->backend, "microvm") == 0 ? sb->run.memory +
	    VMM_VM_OVERHEAD : sb->run.memory, sb->run.cpu_millis,
	    sb->run.pids ? sb->run.pids : VMM_DEFAULT_PIDS, err,
	    sizeof(err)) == -1) {
		sb->cg.n = 0;
		reply_error(r, CTL_EXIT_LENS, "%s", err);
		goto fail;
	}
	if (cgroup_open_procs(&sb->cg, cgprocs) == -1 ||
	    (oomfd = cgroup_open_oom(&sb->cg)) == -1) {
		reply_error(r, CTL_EXIT_LENS, "cgroup %s: %s", sb->cg.paths[0],
		    strerror(errno));
		goto fail;
	}
	if (sbx_save(sb) == -1) {
		reply_error(r, CTL_EXIT_LENS, "cannot write the state of "
		    "sandbox %s", sb->id);
		goto fail;
	}
	d = sbx_json(sb);
	json_object_set_new(d, "uid", json_integer(by));
	json_object_del(d, "env");	/* may hold secrets */
	audit_event(sb, "sandbox.create", d);

	memset(&jc, 0, sizeof(jc));
	strlcpy(jc.id, sb->id, sizeof(jc.id));
	strlcpy(jc.name, sb->name, sizeof(jc.name));
	strlcpy(jc.hostname, run.hostname[0] != '\0' ? run.hostname :
	    sb->name, sizeof(jc.hostname));
	strlcpy(jc.dir, sb->dir, sizeof(jc.dir));
	strlcpy(jc.rootfs, run.rootfs, sizeof(jc.rootfs));
	jc.rootfd = rootfd;
	jc.layers = layers;
	jc.nlayers = nlayers;
	strlcpy(jc.emptydir, emptydir, sizeof(jc.emptydir));
	jc.base = sb->base;
	jc.flags = run.flags;
	jc.volumes = vols;
	jc.nvolumes = (int)run.nvolumes;
	jc.initfd = initfd;
	jc.consolefd = consolefd;
	for (i = 0; i < 4; i++)
		jc.cgprocs[i] = cgprocs[i];
	jc.oomfd = oomfd;
	jc.cgv2 = sb->cg.v2;
	jc.memory = sb->run.memory;	/* jail: bounds the writable layer */
	jc.readonly = (run.flags & RUN_READONLY) != 0;
	memcpy(jc.tmpfs, tmpfs, sizeof(jc.tmpfs));
	jc.ntmpfs = ntmpfs;
	memcpy(jc.ulimits, ulimits, sizeof(jc.ulimits));
	jc.nulimits = nulimits;
	jc.parent = parent_pid;
	jc.netdfd = jc.netnsfd = -1;
	strlcpy(jc.netdsock, netdsock, sizeof(jc.netdsock));
	jc.npublish = run.npublish;
	jc.model = sb->model;
	jc.modellen = sb->modellen;
	jc.publish = sb->strings + strings_len(sb->strings, run.argc +
	    run.envc + run.nvolumes);
	/* the placeholders as lensnetd takes them (PH_SIZE each) */
	if (sb->nph > 0 && (phwire = calloc(sb->nph, PH_SIZE)) == NULL) {
		reply_error(r, CTL_EXIT_LENS, "out of memory");
		goto fail;
	}
	for (i = 0; i < (int)sb->nph; i++)
		memcpy(phwire + (size_t)i * PH_SIZE, sb->ph[i].ph, PH_SIZE);
	jc.ph = phwire;
	jc.nph = (uint32_t)sb->nph;
	if (strcmp(sb->backend, "microvm") == 0) {
		jc.backend = BACKEND_MICROVM;
		strlcpy(jc.guestdir, guestdir, sizeof(jc.guestdir));
		strlcpy(jc.imagedir, imagedir, sizeof(jc.imagedir));
		jc.imagecache = imagecache;
		strlcpy(jc.fstype, diskimg_default_fstype(),
		    sizeof(jc.fstype));
		jc.ncpus = sb->run.cpu_millis == 0 ? 1 :
		    (sb->run.cpu_millis + 999) / 1000;
		jc.boot_timeout = boot_timeout;
		strlcpy(jc.kernel_args, kernel_args, sizeof(jc.kernel_args));
	}
	rc = jail_fork(sb, &jc);
	free(phwire);			/* the jail process has its copy */
	if (rc == -1) {
		reply_error(r, CTL_EXIT_LENS, "fork the jail process: %s",
		    strerror(errno));
		audit_event(sb, "sandbox.destroy", json_pack("{s:s}",
		    "reason", "setup failed"));
		goto fail;
	}
	sb->starter = r;
	close(initfd);
	close(consolefd);
	close(oomfd);
	close(rootfd);
	volumes_close(vols, VMM_MAXVOLUMES);
	for (i = 0; i < 4; i++)
		if (cgprocs[i] != -1)
			close(cgprocs[i]);
	log_info("sandbox %s (%s): starting, backend %s (%s), uids %u-%u",
	    sb->name, sb->id, sb->backend, sb->backend_why,
	    (unsigned)sb->base, (unsigned)(sb->base + VMM_UIDRANGE - 1));
	return;
fail:
	if (initfd != -1)
		close(initfd);
	if (consolefd != -1)
		close(consolefd);
	if (oomfd != -1)
		close(oomfd);
	for (i = 0; i < 4; i++)
		if (cgprocs[i] != -1)
			close(cgprocs[i]);
	close(rootfd);
	volumes_close(vols, VMM_MAXVOLUMES);
	sbx_destroy_files(sb);
	sbx_free(sb);
	return;
fail_mem:
	close(rootfd);
	volumes_close(vols, VMM_MAXVOLUMES);
	free(sb->strings);
	json_decref(sb->labels);
	free(sb->policy);
	free(sb->model);
	free(sb->ph);
	free(sb);
}

/*
 * exec's strings as docker makes them: its arguments, then the
 * variables of run's -e that exec's own -e does not set, then exec's.
 * Malloc'ed; *envc their count.  NULL when out of memory.
 */
static char *
exec_strings(const struct sbx *sb, const char *strs, uint32_t argc,
    uint32_t envc, uint32_t *nenv, size_t *lenp)
{
	const char	*renv = sb->strings + strings_len(sb->strings,
			    sb->run.argc), *p;
	size_t		 alen = strings_len(strs, argc + envc);
	size_t		 rlen = strings_len(renv, sb->run.envc), len = 0, n;
	char		*out, key[256];
	uint32_t	 i;

	if ((out = malloc(alen + rlen + 1)) == NULL)
		return NULL;
	n = strings_len(strs, argc);
	memcpy(out, strs, n);
	len = n;
	*nenv = 0;
	for (i = 0, p = renv; i < sb->run.envc; i++, p += strlen(p) + 1) {
		n = strcspn(p, "=");
		if (n < sizeof(key)) {
			memcpy(key, p, n);
			key[n] = '\0';
			if (env_has(strs, argc, envc, key))
				continue;	/* exec's -e wins */
		}
		memcpy(out + len, p, strlen(p) + 1);
		len += strlen(p) + 1;
		(*nenv)++;
	}
	n = alen - strings_len(strs, argc);
	memcpy(out + len, strs + strings_len(strs, argc), n);
	len += n;
	*nenv += envc;
	*lenp = len;
	return out;
}

void
req_exec(struct reply *r, struct imsg *im, uid_t by)
{
	struct ctl_exec	 x;
	struct sbx	*sb;
	char		 err[256], *merged;
	const char	*strs, *user, *cwd;
	uint32_t	 id, flags, nenv;
	size_t		 mlen;

	memcpy(&x, im->data, sizeof(x));
	if ((sb = sbx_find(x.sandbox, err, sizeof(err))) == NULL) {
		reply_error(r, CTL_EXIT_LENS, "%s", err);
		return;
	}
	if (sb->state != SANDBOX_RUNNING || sb->exited || !sb->jail_open) {
		reply_error(r, CTL_EXIT_LENS, "sandbox %s is not running",
		    sb->name);
		return;
	}
	strs = (const char *)im->data + sizeof(x);
	if (ph_env_refuse(sb, strs, x.argc, x.envc, err, sizeof(err)) == -1) {
		reply_error(r, CTL_EXIT_LENS, "%s", err);
		return;
	}
	if (audit_refuses(r))
		return;
	/* run's -u, -w and -e unless exec gives its own (docker's way) */
	flags = x.flags;
	user = x.user;
	if (x.user[0] == '\0') {
		user = sb->run.user;
		flags = (flags & ~RUN_ROOT) | (sb->run.flags & RUN_ROOT);
	}
	cwd = x.cwd[0] != '\0' ? x.cwd : sb->run.cwd;
	if ((merged = exec_strings(sb, strs, x.argc, x.envc, &nenv,
	    &mlen)) == NULL) {
		reply_error(r, CTL_EXIT_LENS, "out of memory");
		return;
	}
	id = ++sb->next_exec;
	if (send_exec(sb, id, r->iev.ibuf.fd, flags, x.rows, x.cols, user,
	    cwd, x.argc, nenv, merged) == -1) {
		free(merged);
		reply_error(r, CTL_EXIT_LENS, "command too long");
		return;
	}
	free(merged);
	audit_exec(sb, id, by, strs, x.argc, 0);
	/* the connection now belongs to the jail process */
	event_del(&r->iev.ev);
	r->iev.events = 0;
	r->iev.ibuf.fd = -1;
	reply_free(r);
}

/* the jail process reported READY: start the main command */
void
sbx_ready(struct sbx *sb, const struct j_ready *jr)
{
	pid_t			 initpid = jr->initpid;
	struct ctl_created	 cc;
	struct reply		*r = sb->starter;
	const char		*strs = sb->strings;
	int			 fd = -1;

	sb->state = SANDBOX_RUNNING;
	sb->started = time(NULL);
	sb->initpid = initpid;
	if (jr->net)
		sb->net = *jr;
	sbx_save(sb);
	if (r != NULL && !(sb->run.flags & RUN_DETACH))
		fd = r->iev.ibuf.fd;
	if (send_exec(sb, 1, fd, sb->run.flags, sb->run.rows, sb->run.cols,
	    sb->run.user, sb->run.cwd, sb->run.argc, sb->run.envc, strs) ==
	    -1) {
		if (r != NULL)
			reply_error(r, CTL_EXIT_LENS, "command too long");
		sb->starter = NULL;
		stop_sandbox(sb, 0);
		return;
	}
	audit_exec(sb, 1, 0, strs, sb->run.argc, 1);
	log_info("sandbox %s (%s): running, %s pid %d", sb->name,
	    sb->id, strcmp(sb->backend, "microvm") == 0 ? "vm process" :
	    "lens-init", (int)initpid);
	if (sb->stop_pending) {
		sb->stop_pending = 0;
		stop_sandbox(sb, sb->stop_grace);
	}
	sb->starter = NULL;
	if (r == NULL)
		return;
	if (fd != -1) {
		event_del(&r->iev.ev);
		r->iev.events = 0;
		r->iev.ibuf.fd = -1;
		reply_free(r);
		return;
	}
	memset(&cc, 0, sizeof(cc));
	strlcpy(cc.id, sb->id, sizeof(cc.id));
	strlcpy(cc.name, sb->name, sizeof(cc.name));
	strlcpy(cc.backend, sb->backend, sizeof(cc.backend));
	reply_last(r, IMSG_CTL_CREATED, &cc, sizeof(cc));
}
