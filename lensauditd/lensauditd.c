/*
 * lensauditd parent: configuration, state directory, signing key,
 * listening socket, and supervision of the listener and the writer.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/syscall.h>

#include <dirent.h>
#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <netdb.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "chainwrite.h"
#include "lensauditd.h"
#include "lensconf.h"
#include "log.h"
#include "privsep.h"
#include "proc.h"
#include "seccomp_filter.h"
#include "unixsock.h"
#include "version.h"

enum { LISTENER, WRITER, WITNESS, NCHILD };

static struct proc_child children[NCHILD] = {
	{ .name = "listener", .fd = -1 },
	{ .name = "writer", .fd = -1 },
	{ .name = "witness", .fd = -1 },	/* with -w only */
};

static const struct sandbox_syscall parent_syscalls[] = {
	SB_ALLOW(read), SB_ALLOW(write), SB_ALLOW(close), SB_ALLOW(wait4),
	SB_ALLOW(kill), SB_ALLOW(epoll_wait), SB_ALLOW(epoll_pwait),
	SB_ALLOW(epoll_ctl), SB_ALLOW(rt_sigprocmask), SB_ALLOW(rt_sigaction),
	SB_ALLOW(clock_gettime), SB_ALLOW(gettimeofday), SB_ALLOW(getpid),
	SB_ALLOW(sendto), SB_ALLOW(connect), SB_ALLOW(socket),
	SB_ALLOW(unlink), SB_ALLOW(brk), SB_ALLOW(mmap), SB_ALLOW(munmap),
	SB_ALLOW(fstat), SB_ALLOW(newfstatat), SB_ALLOW(lseek),
};

static __attribute__((noreturn)) void
usage(void)
{
	fprintf(stderr, "usage: lensauditd [-dVv] [-C cafile] [-D dir] "
	    "[-F keepfree] [-n records] [-P pubfile] [-r size] [-s socket] "
	    "[-t seconds] [-u user,...] [-W witness] [-w host:port]\n");
	exit(2);
}

static uint64_t
parse_number(const char *opt, const char *s, uint64_t min, uint64_t max,
    int sizes)
{
	char			*end;
	unsigned long long	 v;
	uint64_t		 mult = 1;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || errno != 0)
		goto bad;
	if (sizes && *end != '\0') {
		switch (*end) {
		case 'k': case 'K': mult = 1ULL << 10; break;
		case 'm': case 'M': mult = 1ULL << 20; break;
		case 'g': case 'G': mult = 1ULL << 30; break;
		default: goto bad;
		}
		end++;
	}
	if (*end != '\0' || v > max / mult || v * mult < min)
		goto bad;
	return v * mult;
bad:
	fprintf(stderr, "lensauditd: -%s %s: expected a number from %llu to "
	    "%llu%s\n", opt, s, (unsigned long long)min,
	    (unsigned long long)max, sizes ? " (k, m, g suffixes allowed)" :
	    "");
	exit(2);
}

/*
 * -w host:port ([v6 address]:port): the collector, resolved once here
 * (the witness child has no resolver in its empty directory)
 */
static void
parse_collector(struct auditd_conf *conf, const char *arg)
{
	struct addrinfo	 hints, *res;
	char		 host[256], *port;
	int		 e;

	/* it goes into audit records as is: no quotes, no escapes */
	if (strspn(arg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789.:_[]-") != strlen(arg) ||
	    strlcpy(conf->collector, arg, sizeof(conf->collector)) >=
	    sizeof(conf->collector) || strlcpy(host, arg, sizeof(host)) >=
	    sizeof(host))
		goto bad;
	if (host[0] == '[') {
		if ((port = strchr(host, ']')) == NULL || port[1] != ':')
			goto bad;
		*port = '\0';
		port += 2;
		memmove(host, host + 1, strlen(host + 1) + 1);
	} else {
		if ((port = strrchr(host, ':')) == NULL ||
		    strchr(host, ':') != port)
			goto bad;
		*port++ = '\0';
	}
	if (host[0] == '\0' || port[0] == '\0' ||
	    strspn(port, "0123456789") != strlen(port) || atoi(port) < 1 ||
	    atoi(port) > 65535)
		goto bad;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((e = getaddrinfo(host, port, &hints, &res)) != 0) {
		fprintf(stderr, "lensauditd: -w %s: %s\n", arg,
		    gai_strerror(e));
		exit(2);
	}
	memcpy(&conf->coll_addr, res->ai_addr, res->ai_addrlen);
	conf->coll_len = res->ai_addrlen;
	freeaddrinfo(res);
	strlcpy(conf->coll_host, host, sizeof(conf->coll_host));
	return;
bad:
	fprintf(stderr, "lensauditd: -w %s: expected host:port or "
	    "[address]:port\n", arg);
	exit(2);
}

/* -u: the users, each with the source name it may use */
static void
parse_users(struct auditd_conf *conf, const char *list)
{
	const char	*name;
	int		 i;

	sockusers_parse(&conf->users, AUDITD_MAXUSERS, list);
	for (i = 0; i < conf->users.n; i++) {
		/* _lensnet may append as source "lensnet" */
		name = conf->users.u[i].name;
		strlcpy(conf->sources[i], name[0] == '_' ? name + 1 : name,
		    sizeof(conf->sources[i]));
		if (!chain_name_ok(conf->sources[i], CHAIN_SOURCE))
			fatalx("-u: user %s does not make a valid source name "
			    "(%s)", name, conf->sources[i]);
	}
}

static void
write_file(int dirfd, const char *name, mode_t mode, const char *data,
    size_t len)
{
	int	 fd;

	if ((fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    mode)) == -1)
		fatal("create %s", name);
	if (write(fd, data, len) != (ssize_t)len)
		fatal("write %s", name);
	if (fsync(fd) == -1)
		fatal("fsync %s", name);
	close(fd);
}

static int
has_logs(int dirfd)
{
	DIR		*d;
	struct dirent	*de;
	uint64_t	 n;
	int		 found = 0, fd;

	if ((fd = dup(dirfd)) == -1 || (d = fdopendir(fd)) == NULL)
		fatal("read log directory");
	while (!found && (de = readdir(d)) != NULL)
		found = chain_logname_num(de->d_name, &n) == 0;
	closedir(d);
	return found;
}

/* "dir" or under it, comparing resolved paths (path itself may not exist) */
static int
inside_dir(const char *dir, const char *path)
{
	char	 rdir[PATH_MAX], rpar[PATH_MAX], par[PATH_MAX], *slash;
	size_t	 n;

	if (realpath(dir, rdir) == NULL)
		fatal("%s", dir);
	strlcpy(par, path, sizeof(par));
	if ((slash = strrchr(par, '/')) == NULL)
		return 0;
	if (slash == par)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (realpath(par, rpar) == NULL)
		return 0;	/* reported when it is opened */
	n = strlen(rdir);
	return strncmp(rpar, rdir, n) == 0 &&
	    (rpar[n] == '\0' || rpar[n] == '/' || strcmp(rdir, "/") == 0);
}

/*
 * The trusted copy of the public key, outside the log directory, for
 * lensctl audit verify: written when missing (at key creation, or the
 * first start after an upgrade), and never silently replaced: a copy
 * that differs from the signing key stops lensauditd.
 */
static void
publish_trusted(const struct auditd_conf *conf, const char *line)
{
	char	 text[256], dir[PATH_MAX], *slash;
	ssize_t	 n;
	int	 fd;

	if ((fd = open(conf->pubfile, O_RDONLY | O_NOFOLLOW | O_CLOEXEC))
	    != -1) {
		n = read(fd, text, sizeof(text));
		close(fd);
		if (n != (ssize_t)strlen(line) || memcmp(text, line, n) != 0)
			fatalx("%s does not match %s/%s (the log's first "
			    "public key): the log directory or the trusted "
			    "key was replaced; find out which, and move the "
			    "wrong one aside", conf->pubfile, conf->dir,
			    CHAIN_PUBFILE);
		return;
	}
	if (errno != ENOENT)
		fatal("open %s", conf->pubfile);
	strlcpy(dir, conf->pubfile, sizeof(dir));
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) == -1 && errno != EEXIST)
			fatal("mkdir %s", dir);
	}
	if ((fd = open(conf->pubfile, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0444)) == -1)
		fatal("create %s", conf->pubfile);
	if (write(fd, line, strlen(line)) != (ssize_t)strlen(line) ||
	    fsync(fd) == -1)
		fatal("write %s", conf->pubfile);
	close(fd);
	log_info("published the trusted audit public key in %s",
	    conf->pubfile);
}

/*
 * The log id: 128 random bits, made with the key and whenever a new
 * chain starts (no log yet), kept while the chain lives.
 */
static void
setup_logid(int dirfd, const struct auditd_conf *conf, int newchain)
{
	uint8_t	 id[CHAIN_LOGIDLEN];
	char	 hex[CHAIN_LOGIDHEXLEN + 2], text[64];
	ssize_t	 n;
	int	 fd;

	if (!newchain && (fd = openat(dirfd, CHAIN_LOGIDFILE, O_RDONLY |
	    O_NOFOLLOW | O_CLOEXEC)) != -1) {
		n = read(fd, text, sizeof(text));
		close(fd);
		if (n < 0 || chain_logid_parse(text, (size_t)n, id) == -1)
			fatalx("%s/%s: not a log id (32 lowercase hex digits)",
			    conf->dir, CHAIN_LOGIDFILE);
		return;
	}
	if (!newchain && errno != ENOENT)
		fatal("open %s/%s", conf->dir, CHAIN_LOGIDFILE);
	randombytes_buf(id, sizeof(id));
	chain_tohex(id, sizeof(id), hex);
	strlcat(hex, "\n", sizeof(hex));
	(void)unlinkat(dirfd, CHAIN_LOGIDFILE, 0);
	write_file(dirfd, CHAIN_LOGIDFILE, 0444, hex, strlen(hex));
	if (fsync(dirfd) == -1)
		fatal("fsync %s", conf->dir);
	log_info("%s log id %.32s in %s/%s", newchain ? "new chain:" :
	    "existing chain without one:", hex, conf->dir, CHAIN_LOGIDFILE);
}

/* the state directory, and the key pair on first start */
static void
setup_dir(struct auditd_conf *conf)
{
	struct group	*gr;
	struct stat	 st;
	gid_t		 gid;
	int		 dirfd, fd;
	uint8_t		 pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t		 sk[crypto_sign_SECRETKEYBYTES];
	char		 hex[2 * crypto_sign_SECRETKEYBYTES + 1];
	char		 line[2 * crypto_sign_SECRETKEYBYTES + 32];
	char		 keytext[512];
	ssize_t		 n;
	int		 restore = 0;

	gid = (gr = getgrnam(AUDITD_GROUP)) != NULL ? gr->gr_gid :
	    conf->user.gid;
	if (mkdir(conf->dir, 02750) == -1 && errno != EEXIST)
		fatal("mkdir %s", conf->dir);
	if ((dirfd = open(conf->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		fatal("open %s", conf->dir);
	if (fstat(dirfd, &st) == -1)
		fatal("stat %s", conf->dir);
	if (fchown(dirfd, conf->user.uid, gid) == -1 ||
	    fchmod(dirfd, 02750) == -1)
		fatal("chown/chmod %s", conf->dir);

	if ((fd = openat(dirfd, CHAIN_KEYFILE, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		if (errno != ENOENT)
			fatal("open %s/%s", conf->dir, CHAIN_KEYFILE);
		/* a new key for an existing log would orphan its signatures */
		if (faccessat(dirfd, CHAIN_PUBFILE, F_OK, AT_SYMLINK_NOFOLLOW)
		    == 0 || has_logs(dirfd))
			fatalx("%s/%s is missing but the directory already "
			    "holds a log or %s; restore the key, or move the "
			    "log aside to start a new chain", conf->dir,
			    CHAIN_KEYFILE, CHAIN_PUBFILE);
		crypto_sign_keypair(pk, sk);
		chain_tohex(sk, sizeof(sk), hex);
		snprintf(line, sizeof(line), "ed25519-secret %s\n", hex);
		(void)unlinkat(dirfd, CHAIN_PUBFILE, 0);
		write_file(dirfd, CHAIN_KEYFILE, 0600, line, strlen(line));
		if (fchownat(dirfd, CHAIN_KEYFILE, conf->user.uid,
		    conf->user.gid, AT_SYMLINK_NOFOLLOW) == -1)
			fatal("chown %s", CHAIN_KEYFILE);
		explicit_bzero(line, sizeof(line));
		explicit_bzero(hex, sizeof(hex));
		log_info("generated the audit signing key in %s/%s",
		    conf->dir, CHAIN_KEYFILE);
		chain_tohex(pk, sizeof(pk), hex);
		snprintf(line, sizeof(line), "ed25519 %s\n", hex);
		write_file(dirfd, CHAIN_PUBFILE, 0444, line, strlen(line));
		if (fsync(dirfd) == -1)
			fatal("fsync %s", conf->dir);
	} else {
		/*
		 * The key evolves (writer.c): audit.key is the current
		 * step's, audit.pub the first step's, pinned for the log's
		 * life.  The parent never reads the secret key again.
		 */
		close(fd);
		if (fchmod(dirfd, 02750) == -1)
			fatal("chmod %s", conf->dir);
		if ((fd = openat(dirfd, CHAIN_PUBFILE, O_RDONLY | O_NOFOLLOW |
		    O_CLOEXEC)) == -1) {
			if (errno != ENOENT)
				fatal("open %s/%s", conf->dir, CHAIN_PUBFILE);
			/* lost beside the log: the trusted copy is the same */
			if ((fd = open(conf->pubfile, O_RDONLY | O_NOFOLLOW |
			    O_CLOEXEC)) == -1)
				fatal("%s/%s is missing (the log's first "
				    "public key) and so is the trusted copy %s",
				    conf->dir, CHAIN_PUBFILE, conf->pubfile);
			restore = 1;
		}
		n = read(fd, keytext, sizeof(keytext) - 1);
		close(fd);
		if (n < 0 || chain_pubkey_parse(keytext, (size_t)n, pk) == -1)
			fatalx("%s: not an \"ed25519 <64 hex>\" line",
			    restore ? conf->pubfile : CHAIN_PUBFILE);
		chain_tohex(pk, sizeof(pk), hex);
		snprintf(line, sizeof(line), "ed25519 %s\n", hex);
		if (restore) {
			write_file(dirfd, CHAIN_PUBFILE, 0444, line,
			    strlen(line));
			if (fsync(dirfd) == -1)
				fatal("fsync %s", conf->dir);
			log_warnx("%s/%s was missing: restored from the "
			    "trusted key %s", conf->dir, CHAIN_PUBFILE,
			    conf->pubfile);
		}
	}
	explicit_bzero(sk, sizeof(sk));
	publish_trusted(conf, line);
	setup_logid(dirfd, conf, !has_logs(dirfd));
	close(dirfd);
}

/* supervising takes only signalling children of another uid */
static void
parent_ready(void *arg)
{
	const struct auditd_conf	*conf = arg;

	privsep_limit_caps((cap_value_t[]){ CAP_KILL }, 1);
	sandbox_apply("parent", parent_syscalls,
	    sizeof(parent_syscalls) / sizeof(parent_syscalls[0]));
	regress_hook(conf, "parent");
	log_info("started: socket %s, log directory %s", conf->sock,
	    conf->dir);
}

int
main(int argc, char *argv[])
{
	struct auditd_conf	 conf;
	const char		*users = AUDITD_CLIENTS;
	char			 err[256];
	int			 ch, debug = 0, verbose = 0, keep[4], rc;

	memset(&conf, 0, sizeof(conf));
	strlcpy(conf.sock, AUDITD_SOCKET, sizeof(conf.sock));
	strlcpy(conf.dir, AUDITD_DIR, sizeof(conf.dir));
	strlcpy(conf.pubfile, CHAIN_TRUSTED_PUB, sizeof(conf.pubfile));
	conf.witness_fd = -1;
	conf.ckpt_records = 10000;
	conf.ckpt_secs = 5;
	conf.rotate_size = 64ULL << 20;

	lensconf_init("lensauditd", "C:dD:F:n:P:r:s:t:u:vW:w:", &argc, &argv);
	while ((ch = getopt(argc, argv, "C:dD:F:n:P:r:s:t:u:vW:w:f:V")) != -1) {
		switch (ch) {
		case 'f':	/* lensconf_init's */
			break;
		case 'C':
			if (optarg[0] != '/' || strlcpy(conf.coll_ca, optarg,
			    sizeof(conf.coll_ca)) >= sizeof(conf.coll_ca)) {
				fprintf(stderr, "lensauditd: -C %s: need an "
				    "absolute path\n", optarg);
				exit(2);
			}
			break;
		case 'w':
			parse_collector(&conf, optarg);
			break;
		case 'd':
			debug = 1;
			break;
		case 'D':
			if (optarg[0] != '/' || strlcpy(conf.dir, optarg,
			    sizeof(conf.dir)) >= sizeof(conf.dir)) {
				fprintf(stderr, "lensauditd: -D %s: need an "
				    "absolute path\n", optarg);
				exit(2);
			}
			break;
		case 'F':
			conf.keep_free = parse_number("F", optarg, 0,
			    1ULL << 50, 1);
			break;
		case 'n':
			conf.ckpt_records = parse_number("n", optarg, 1,
			    100000000, 0);
			break;
		case 'P':
		case 'W':
			if (optarg[0] != '/' || strlcpy(ch == 'P' ?
			    conf.pubfile : conf.witness, optarg, PATH_MAX) >=
			    PATH_MAX) {
				fprintf(stderr, "lensauditd: -%c %s: need an "
				    "absolute path\n", ch, optarg);
				exit(2);
			}
			break;
		case 'r':
			conf.rotate_size = parse_number("r", optarg, 65536,
			    1ULL << 40, 1);
			break;
		case 's':
			if (strlcpy(conf.sock, optarg, sizeof(conf.sock)) >=
			    sizeof(conf.sock)) {
				fprintf(stderr, "lensauditd: -s %s: path too "
				    "long\n", optarg);
				exit(2);
			}
			break;
		case 't':
			conf.ckpt_secs = parse_number("t", optarg, 1, 86400, 0);
			break;
		case 'u':
			users = optarg;
			break;
		case 'v':
			verbose++;
			break;
		case 'V':	/* lensctl doctor asks the binary */
			printf("%s %s\n", "lensauditd", LENS_VERSION);
			exit(0);
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (conf.coll_ca[0] != '\0' && conf.collector[0] == '\0') {
		fprintf(stderr, "lensauditd: -C needs -w (the collector it "
		    "authenticates)\n");
		exit(2);
	}

	/* errors before daemonizing go to stderr */
	log_init(1, LOG_DAEMON);
	log_setverbose(verbose);
	log_procinit("parent");
	if (geteuid() != 0)
		fatalx("must run as root");
	if (sodium_init() < 0)
		fatalx("sodium_init failed");
	if (privsep_user(AUDITD_USER, &conf.user, err, sizeof(err)) == -1)
		fatalx("%s", err);
	parse_users(&conf, users);
	privsep_emptydir(LENS_EMPTYDIR);
	/* what an intruder in the log directory could replace is no witness */
	if (mkdir(conf.dir, 02750) == -1 && errno != EEXIST)
		fatal("mkdir %s", conf.dir);
	if (inside_dir(conf.dir, conf.pubfile))
		fatalx("-P %s: must be outside the log directory %s",
		    conf.pubfile, conf.dir);
	if (conf.witness[0] != '\0' && inside_dir(conf.dir, conf.witness))
		fatalx("-W %s: must be outside the log directory %s",
		    conf.witness, conf.dir);
	setup_dir(&conf);
	if (conf.witness[0] != '\0' && (conf.witness_fd = open(conf.witness,
	    O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644)) == -1)
		fatal("open witness %s", conf.witness);
#ifdef REGRESS
	/* copied: setproctitle() reuses the environment's memory */
	if (getenv("LENS_REGRESS_SIGSYS") != NULL &&
	    (conf.regress_sigsys = strdup(getenv("LENS_REGRESS_SIGSYS"))) ==
	    NULL)
		fatal("strdup");
	if (getenv("LENS_REGRESS_KEYCRASH") != NULL)
		conf.regress_keycrash = atoi(getenv("LENS_REGRESS_KEYCRASH"));
#endif
	log_init(debug, LOG_DAEMON);
	if (!debug && daemon(0, 0) == -1)
		fatal("daemon");
	proc_init(lensconf_argc, lensconf_argv);
	conf.parent = getpid();
	conf.listen_fd = unixsock_listen(conf.sock, 0666, (gid_t)-1);
	proc_socketpair(conf.link);
	conf.wlink[0] = conf.wlink[1] = -1;
	if (conf.collector[0] != '\0')
		proc_socketpair(conf.wlink);

	keep[0] = conf.listen_fd;
	keep[1] = conf.link[0];
	keep[2] = -1;
	proc_fork(&children[LISTENER], listener_main, &conf, keep);
	keep[0] = conf.link[1];
	keep[1] = conf.wlink[0];
	keep[2] = conf.witness_fd;
	keep[3] = -1;
	if (keep[1] == -1) {
		keep[1] = keep[2];
		keep[2] = -1;
	}
	proc_fork(&children[WRITER], writer_main, &conf, keep);
	if (conf.collector[0] != '\0') {
		keep[0] = conf.wlink[1];
		keep[1] = -1;
		proc_fork(&children[WITNESS], witness_main, &conf, keep);
		close(conf.wlink[0]);
		close(conf.wlink[1]);
	}
	if (conf.witness_fd != -1)
		close(conf.witness_fd);
	close(conf.listen_fd);
	close(conf.link[0]);
	close(conf.link[1]);
	proc_title("parent");

	/* the writer checkpoints and exits once the listener is gone */
	rc = proc_supervise(children, conf.collector[0] != '\0' ? NCHILD :
	    NCHILD - 1, 1, parent_ready, &conf);
	if (unlink(conf.sock) == -1 && errno != ENOENT)
		log_warn("unlink %s", conf.sock);
	log_info("exiting");
	return rc;
}

void
regress_hook(const struct auditd_conf *conf, const char *role)
{
#ifdef REGRESS
	/* test-only: make a forbidden syscall to prove the filter kills */
	if (conf->regress_sigsys != NULL &&
	    strcmp(conf->regress_sigsys, role) == 0) {
		log_info("regress: calling ptrace(2) under seccomp");
		(void)syscall(SYS_ptrace, 0, 0, 0, 0);
	}
#else
	(void)conf;
	(void)role;
#endif
}
