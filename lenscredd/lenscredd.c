/*
 * lenscredd parent: the state directory, the master key file, the
 * listening socket, and supervision of the listener and the vault.
 * It never holds the master key (but for the instant it makes one on
 * first start): it checks the file and hands the vault the open file.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <jansson.h>

#include "auditc.h"
#include "grammar.h"
#include "lenscredd.h"
#include "lensconf.h"
#include "log.h"
#include "privsep.h"
#include "proc.h"
#include "seccomp_filter.h"
#include "unixsock.h"
#include "version.h"

enum { LISTENER, VAULT, EXCHANGE, NCHILD };

static struct proc_child children[NCHILD] = {
	{ .name = "listener", .fd = -1 },
	{ .name = "vault", .fd = -1 },
	{ .name = "exchange", .fd = -1 },
};

static const struct sandbox_syscall parent_syscalls[] = {
	SB_ALLOW(read), SB_ALLOW(write), SB_ALLOW(close), SB_ALLOW(wait4),
	SB_ALLOW(kill), SB_ALLOW(epoll_wait), SB_ALLOW(epoll_pwait),
	SB_ALLOW(epoll_ctl), SB_ALLOW(rt_sigprocmask), SB_ALLOW(rt_sigaction),
	SB_ALLOW(clock_gettime), SB_ALLOW(gettimeofday), SB_ALLOW(getpid),
	SB_ALLOW(sendto), SB_ALLOW(connect), SB_ALLOW(socket),
	SB_ALLOW(unlink), SB_ALLOW(brk), SB_ALLOW(mmap), SB_ALLOW(munmap),
	SB_ALLOW(fstat), SB_ALLOW(newfstatat), SB_ALLOW(lseek),
	/* lensauditd (common/auditc.c) and the vault's audit link */
	SB_ALLOW(sendmsg), SB_ALLOW(recvmsg), SB_ALLOW(poll),
	SB_ALLOW(mremap),
};

static struct auditc	*audit;
static struct proc_chan	 achan;		/* the vault's audit link */
static struct proc_chan	 xchan;		/* the exchange's audit link */

static __attribute__((noreturn)) void
usage(void)
{
	fprintf(stderr, "usage: lenscredd [-dVv] [-a auditsock] [-D dir] "
	    "[-L leaves] [-s socket] [-T trustfile] [-u user,...]\n");
	exit(2);
}

/* a directory of the state, owned by the vault's user, 0700 */
static int
own_dir(int at, const char *name, const char *path,
    const struct privsep_user *u)
{
	struct stat	 st;
	int		 fd;

	if (mkdirat(at, name, 0700) == -1 && errno != EEXIST)
		fatal("mkdir %s", path);
	if ((fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		fatal("open %s (a directory, not a symbolic link)", path);
	if (fstat(fd, &st) == -1)
		fatal("stat %s", path);
	if (fchown(fd, u->uid, u->gid) == -1 || fchmod(fd, 0700) == -1)
		fatal("chown/chmod %s", path);
	return fd;
}

static int
dir_empty(int dirfd)
{
	DIR		*d;
	struct dirent	*de;
	int		 fd, empty = 1;

	if ((fd = dup(dirfd)) == -1 || (d = fdopendir(fd)) == NULL)
		fatal("read a state directory");
	while (empty && (de = readdir(d)) != NULL)
		empty = strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0;
	closedir(d);
	return empty;
}

/* a new master key: 32 random bytes, 0400 _lenscred */
static void
make_key(int dirfd, const char *path, const struct privsep_user *u)
{
	uint8_t	*key;
	int	 fd;

	if ((key = sodium_malloc(CRED_MASTERKEY_SIZE)) == NULL)
		fatal("sodium_malloc");
	randombytes_buf(key, CRED_MASTERKEY_SIZE);
	if ((fd = openat(dirfd, CRED_MASTERKEY, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0400)) == -1)
		fatal("create %s", path);
	if (fchown(fd, u->uid, u->gid) == -1 || fchmod(fd, 0400) == -1)
		fatal("chown/chmod %s", path);
	if (write(fd, key, CRED_MASTERKEY_SIZE) != CRED_MASTERKEY_SIZE ||
	    fsync(fd) == -1 || fsync(dirfd) == -1)
		fatal("write %s", path);
	close(fd);
	sodium_free(key);
	log_info("generated the master key in %s", path);
}

/*
 * The state directory and its master key: made on first start; a key
 * that is missing beside existing CAs or credentials, or not a 32-byte regular file
 * 0400 owned by the vault's user, stops lenscredd.  Returns the key
 * file, open for the vault.
 */
static int
setup_state(struct credd_conf *conf)
{
	char		 path[PATH_MAX + 16], capath[PATH_MAX + 16];
	char		 secpath[PATH_MAX + 16];
	struct stat	 st;
	int		 dirfd, cafd, secfd, fd;

	if (conf->dir[0] != '/')
		fatalx("-D %s: need an absolute path", conf->dir);
	dirfd = own_dir(AT_FDCWD, conf->dir, conf->dir, &conf->user);
	snprintf(path, sizeof(path), "%s/%s", conf->dir, CRED_MASTERKEY);
	snprintf(capath, sizeof(capath), "%s/%s", conf->dir, CRED_CADIR);
	cafd = own_dir(dirfd, CRED_CADIR, capath, &conf->user);
	snprintf(secpath, sizeof(secpath), "%s/%s", conf->dir, CRED_SECDIR);
	secfd = own_dir(dirfd, CRED_SECDIR, secpath, &conf->user);

	if ((fd = openat(dirfd, CRED_MASTERKEY, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		if (errno != ENOENT)
			fatal("open %s", path);
		/* a new key would not open the CAs sealed with the old one */
		if (!dir_empty(cafd))
			fatalx("%s is missing but %s holds sealed CAs; restore "
			    "the master key, or move %s aside to start without "
			    "them", path, capath, capath);
		if (!dir_empty(secfd))
			fatalx("%s is missing but %s holds sealed credentials; "
			    "restore the master key, or move %s aside to start "
			    "without them", path, secpath, secpath);
		make_key(dirfd, path, &conf->user);
		if ((fd = openat(dirfd, CRED_MASTERKEY, O_RDONLY |
		    O_NOFOLLOW | O_CLOEXEC)) == -1)
			fatal("open %s", path);
	}
	if (fstat(fd, &st) == -1)
		fatal("stat %s", path);
	if (!S_ISREG(st.st_mode))
		fatalx("%s: not a regular file", path);
	if (st.st_uid != conf->user.uid)
		fatalx("%s: owned by uid %u, not %s (uid %u)", path,
		    (unsigned)st.st_uid, conf->user.name,
		    (unsigned)conf->user.uid);
	if ((st.st_mode & 07777) != 0400)
		fatalx("%s: mode %04o, not 0400", path,
		    (unsigned)(st.st_mode & 07777));
	if (st.st_size != CRED_MASTERKEY_SIZE)
		fatalx("%s: %lld bytes, not %d", path,
		    (long long)st.st_size, CRED_MASTERKEY_SIZE);
	close(cafd);
	close(secfd);
	close(dirfd);
	return fd;
}

/* the vault learns whether its changes can be audited */
static void
audit_cb(struct auditc *ac, enum auditc_note n, void *arg)
{
	struct credd_audit_state	 st;

	(void)arg;
	if (n == AUDITC_ACKED)
		return;
	if (n == AUDITC_READY)
		log_info("audit: connected to lensauditd");
	else
		log_warnx("audit: lost lensauditd; the credential store is "
		    "read-only until it is back");
	st.ready = auditc_ready(ac);
	if (imsgev_compose(&achan.iev, IMSG_CREDD_AUDIT_STATE, 0, 0, -1, &st,
	    sizeof(st)) == -1)
		fatal("queue for the vault");
	if (imsgev_compose(&xchan.iev, IMSG_CREDD_AUDIT_STATE, 0, 0, -1, &st,
	    sizeof(st)) == -1)
		fatal("queue for the exchange");
}

/* a change the vault made: to lensauditd, kept until acknowledged */
static void
vault_audit(struct imsg *im, void *arg)
{
	struct credd_audit	 a;
	char			 details[160], err[GR_ERRSIZE];

	(void)arg;
	memcpy(&a, im->data, sizeof(a));
	if (memchr(a.type, '\0', sizeof(a.type)) == NULL ||
	    strncmp(a.type, "cred.", 5) != 0 ||
	    memchr(a.name, '\0', sizeof(a.name)) == NULL ||
	    gr_cred("credential", a.name, err, sizeof(err)) == -1)
		fatalx("vault: a bad AUDIT message");
	/* the name's grammar needs no JSON escaping */
	snprintf(details, sizeof(details), "{\"credential\":\"%s\","
	    "\"pid\":%u,\"uid\":0}", a.name, a.pid);
	if (auditc_event(audit, "", a.type, details, strlen(details)) == -1)
		log_warn("audit: %s of credential %s not queued", a.type,
		    a.name);
}

static const struct proc_msg vault_msgs[] = {
	PROC_MSG(IMSG_CREDD_AUDIT, sizeof(struct credd_audit), vault_audit),
};

/* a NUL-terminated field of size bytes, or why not */
static int
field(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

/*
 * cred.use from the exchange: sandbox, credential, host, port, method,
 * path, injection; never a value.  Built here with jansson from fields
 * checked again (the exchange talks to upstreams: it is not trusted
 * with the log's JSON).
 */
static void
exchange_use(struct imsg *im, void *arg)
{
	struct credd_use	 u;
	json_t			*o;
	char			*details, err[GR_ERRSIZE];
	size_t			 ntypes;

	(void)arg;
	memcpy(&u, im->data, sizeof(u));
	for (ntypes = 0; gr_inj_names[ntypes] != NULL; ntypes++)
		;
	if (!field(u.sandbox, sizeof(u.sandbox)) ||
	    !field(u.cred, sizeof(u.cred)) || !field(u.host, sizeof(u.host)) ||
	    !field(u.method, sizeof(u.method)) ||
	    !field(u.path, sizeof(u.path)) || u.inj_type >= ntypes ||
	    gr_ref("sandbox", u.sandbox, err, sizeof(err)) == -1 ||
	    gr_cred("credential", u.cred, err, sizeof(err)) == -1)
		fatalx("exchange: a bad USE message");
	o = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "credential", u.cred,
	    "host", u.host, "port", (int)u.port, "method", u.method,
	    "path", u.path, "injection", gr_inj_names[u.inj_type]);
	if (o == NULL || (details = json_dumps(o, JSON_COMPACT |
	    JSON_ENSURE_ASCII | JSON_SORT_KEYS)) == NULL)
		fatalx("cred.use: cannot make its details");
	json_decref(o);
	if (auditc_event(audit, u.sandbox, "cred.use", details,
	    strlen(details)) == -1)
		log_warn("audit: cred.use of credential %s by sandbox %s not "
		    "queued", u.cred, u.sandbox);
	free(details);
}

/*
 * cred.refresh from the exchange: an oauth2Refresh credential's access
 * token renewed (expires_in, whether the refresh token rotated) or not
 * (why); never a token.  The why is the exchange's (it read a hostile
 * endpoint): jansson escapes it.
 */
static void
exchange_refresh(struct imsg *im, void *arg)
{
	struct credd_refresh	 r;
	json_t			*o;
	char			*details, err[GR_ERRSIZE];

	(void)arg;
	memcpy(&r, im->data, sizeof(r));
	if (!field(r.sandbox, sizeof(r.sandbox)) ||
	    !field(r.cred, sizeof(r.cred)) || !field(r.why, sizeof(r.why)) ||
	    r.ok > 1 || r.rotated > 1 ||
	    gr_ref("sandbox", r.sandbox, err, sizeof(err)) == -1 ||
	    gr_cred("credential", r.cred, err, sizeof(err)) == -1)
		fatalx("exchange: a bad REFRESH message");
	if (r.ok)
		o = json_pack("{s:s, s:s, s:i, s:b}", "credential", r.cred,
		    "result", "ok", "expires_in", (int)r.expires_in,
		    "rotated", (int)r.rotated);
	else
		o = json_pack("{s:s, s:s, s:s%}", "credential", r.cred,
		    "result", "failed", "why", r.why, strlen(r.why));
	if (o == NULL || (details = json_dumps(o, JSON_COMPACT |
	    JSON_ENSURE_ASCII)) == NULL)
		fatalx("cred.refresh: cannot make its details");
	json_decref(o);
	if (auditc_event(audit, r.sandbox, "cred.refresh", details,
	    strlen(details)) == -1)
		log_warn("audit: cred.refresh of credential %s not queued",
		    r.cred);
	free(details);
}

static const struct proc_msg exchange_msgs[] = {
	PROC_MSG(IMSG_CREDD_USE, sizeof(struct credd_use), exchange_use),
	PROC_MSG(IMSG_CREDD_REFRESH, sizeof(struct credd_refresh),
	    exchange_refresh),
};

/* the vault ended: SIGCHLD says how, and proc_supervise acts */
static void
vault_lost(struct proc_chan *ch, const char *why)
{
	log_debug("vault audit link: %s", why);
	imsgev_clear(&ch->iev);
}

/* supervising takes only signalling children of another uid */
static void
parent_ready(void *arg)
{
	const struct credd_conf	*conf = arg;

	proc_chan_init(&achan, conf->alink[0], "vault", vault_msgs,
	    sizeof(vault_msgs) / sizeof(vault_msgs[0]), NULL);
	achan.lost = vault_lost;
	proc_chan_init(&xchan, conf->xalink[0], "exchange", exchange_msgs,
	    sizeof(exchange_msgs) / sizeof(exchange_msgs[0]), NULL);
	xchan.lost = vault_lost;
	if ((audit = auditc_new(conf->auditsock, CRED_AUDIT_SOURCE, audit_cb,
	    NULL)) == NULL)
		fatal("audit client");

	/* jansson seeds its hash once, from /dev/urandom: before seccomp */
	json_object_seed(0);
	privsep_limit_caps((cap_value_t[]){ CAP_KILL }, 1);
	sandbox_apply("parent", parent_syscalls,
	    sizeof(parent_syscalls) / sizeof(parent_syscalls[0]));
	log_info("started: socket %s, state directory %s, audit %s",
	    conf->sock, conf->dir, conf->auditsock);
}

int
main(int argc, char *argv[])
{
	struct credd_conf	 conf;
	const char		*users = CRED_CLIENTS, *errstr;
	char			 err[256];
	int			 ch, debug = 0, verbose = 0, keep[5], rc;

	memset(&conf, 0, sizeof(conf));
	strlcpy(conf.sock, CRED_SOCKET, sizeof(conf.sock));
	strlcpy(conf.dir, CRED_DIR, sizeof(conf.dir));
	strlcpy(conf.auditsock, CRED_AUDITSOCK, sizeof(conf.auditsock));
	conf.leaves_hour = CRED_LEAVES_HOUR;
	conf.keyfd = -1;

	lensconf_init("lenscredd", "a:dD:L:s:T:u:v", &argc, &argv);
	while ((ch = getopt(argc, argv, "a:dD:L:s:T:u:vf:V")) != -1) {
		switch (ch) {
		case 'f':	/* lensconf_init's */
			break;
		case 'a':
			if (strlcpy(conf.auditsock, optarg,
			    sizeof(conf.auditsock)) >= sizeof(conf.auditsock)) {
				fprintf(stderr, "lenscredd: -a %s: path too "
				    "long\n", optarg);
				exit(2);
			}
			break;
		case 'd':
			debug = 1;
			break;
		case 'D':
			if (optarg[0] != '/' || strlcpy(conf.dir, optarg,
			    sizeof(conf.dir)) >= sizeof(conf.dir)) {
				fprintf(stderr, "lenscredd: -D %s: need an "
				    "absolute path\n", optarg);
				exit(2);
			}
			break;
		case 'L':
			conf.leaves_hour = strtonum(optarg, 1, 1000000,
			    &errstr);
			if (errstr != NULL) {
				fprintf(stderr, "lenscredd: -L %s: %s (1 to "
				    "1000000 leaves per sandbox and hour)\n",
				    optarg, errstr);
				exit(2);
			}
			break;
		case 's':
			if (strlcpy(conf.sock, optarg, sizeof(conf.sock)) >=
			    sizeof(conf.sock)) {
				fprintf(stderr, "lenscredd: -s %s: path too "
				    "long\n", optarg);
				exit(2);
			}
			break;
		case 'T':
			if (optarg[0] != '/') {
				fprintf(stderr, "lenscredd: -T %s: need an "
				    "absolute path\n", optarg);
				exit(2);
			}
			if (strlcpy(conf.trust, optarg, sizeof(conf.trust)) >=
			    sizeof(conf.trust)) {
				fprintf(stderr, "lenscredd: -T %s: path too "
				    "long\n", optarg);
				exit(2);
			}
			break;
		case 'u':
			users = optarg;
			break;
		case 'v':
			verbose++;
			break;
		case 'V':	/* lensctl doctor asks the binary */
			printf("%s %s\n", "lenscredd", LENS_VERSION);
			exit(0);
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	/* errors before daemonizing go to stderr */
	log_init(1, LOG_DAEMON);
	log_setverbose(verbose);
	log_procinit("parent");
	if (geteuid() != 0)
		fatalx("must run as root");
	if (sodium_init() < 0)
		fatalx("sodium_init failed");
	if (privsep_user(CRED_USER, &conf.user, err, sizeof(err)) == -1)
		fatalx("%s", err);
	sockusers_parse(&conf.users, CRED_MAXUSERS, users);
	privsep_emptydir(LENS_EMPTYDIR);
	conf.keyfd = setup_state(&conf);

	log_init(debug, LOG_DAEMON);
	if (!debug && daemon(0, 0) == -1)
		fatal("daemon");
	proc_init(lensconf_argc, lensconf_argv);
	conf.parent = getpid();
	conf.listen_fd = unixsock_listen(conf.sock, 0666, (gid_t)-1);
	proc_socketpair(conf.link);
	proc_socketpair(conf.alink);
	proc_socketpair(conf.xlink);
	proc_socketpair(conf.vxlink);
	proc_socketpair(conf.xalink);

	/*
	 * the listener never sees the key file, the vault never the
	 * socket, the exchange neither (it gets values one at a time)
	 */
	keep[0] = conf.listen_fd;
	keep[1] = conf.link[0];
	keep[2] = conf.xlink[0];
	keep[3] = -1;
	proc_fork(&children[LISTENER], listener_main, &conf, keep);
	keep[0] = conf.link[1];
	keep[1] = conf.keyfd;
	keep[2] = conf.alink[1];
	keep[3] = conf.vxlink[0];
	keep[4] = -1;
	proc_fork(&children[VAULT], vault_main, &conf, keep);
	keep[0] = conf.xlink[1];
	keep[1] = conf.vxlink[1];
	keep[2] = conf.xalink[1];
	keep[3] = -1;
	proc_fork(&children[EXCHANGE], exchange_main, &conf, keep);
	close(conf.alink[1]);
	close(conf.xalink[1]);
	close(conf.keyfd);
	close(conf.listen_fd);
	close(conf.link[0]);
	close(conf.link[1]);
	close(conf.xlink[0]);
	close(conf.xlink[1]);
	close(conf.vxlink[0]);
	close(conf.vxlink[1]);
	proc_title("parent");

	/* SIGTERM stops both; either one failing stops the other */
	rc = proc_supervise(children, NCHILD, NCHILD, parent_ready, &conf);
	if (unlink(conf.sock) == -1 && errno != ENOENT)
		log_warn("unlink %s", conf.sock);
	log_info("exiting");
	return rc;
}
