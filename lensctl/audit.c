/*
 * lensctl audit: read and verify the audit logs offline.
 *
 *	lensctl audit show [--dir dir] [--sandbox id] [--type type]
 *	    [--since time] [--json] [log ...]
 *	lensctl audit verify [--dir dir] [--pubkey file] [--witness file]
 *	    [--lenient] [--interval seconds] [--quiet] [--strict]
 *	    [--first-seq seq] [--no-head] [log ...]
 *
 * The public key is the trusted one, outside the log directory
 * (CHAIN_TRUSTED_PUB or --pubkey), never the audit.pub beside the log,
 * which must be the same key.  By default a missing head file, a head
 * file that is not the last checkpoint, a last checkpoint without a log
 * id and unsigned records older than the checkpoint interval fail;
 * --lenient makes them warnings.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "chain.h"
#include "lensctl.h"
#include "log.h"
#include "syslogwit.h"
#include "verify.h"

#define AUDIT_DIR	"/var/lib/lens/audit"
#define UNSIGNED_GRACE	10	/* seconds past the checkpoint interval */

static int	audit_show(int, char **);
static int	audit_verify(int, char **);

static const struct lensctl_cmd audit_cmds[] = {
	{ "show", audit_show, "[--dir dir] [--sandbox id] [--type type] "
	    "[--since time] [--json] [log ...]",
	    "print the audit records, or only those of a sandbox or type" },
	{ "verify", audit_verify, "[--dir dir] [--pubkey file] "
	    "[--witness file] [--lenient]\n\t[--interval seconds] [--quiet] "
	    "[--strict] [--first-seq seq] [--no-head] [log ...]",
	    "check the audit log's hash chain and signatures" },
	{ NULL, NULL, NULL, NULL }
};

const struct lensctl_group audit_group = { "audit", audit_cmds,
    "the signed audit log of lensauditd" };

/* the logs to read: paths to open, names for messages */
struct logs {
	char		**path;
	char		**name;
	size_t		  n;
};

struct logent {
	uint64_t	 num;
	char		*name;
};

static int
logent_cmp(const void *a, const void *b)
{
	const struct logent *x = a, *y = b;

	return x->num < y->num ? -1 : x->num > y->num;
}

static void
logs_free(struct logs *l)
{
	size_t	 i;

	for (i = 0; i < l->n; i++) {
		free(l->path[i]);
		free(l->name[i]);
	}
	free(l->path);
	free(l->name);
	memset(l, 0, sizeof(*l));
}

static int
logs_add(struct logs *l, const char *path, const char *name)
{
	char	**p, **n;

	if ((p = reallocarray(l->path, l->n + 1, sizeof(*p))) == NULL)
		return -1;
	l->path = p;
	if ((n = reallocarray(l->name, l->n + 1, sizeof(*n))) == NULL)
		return -1;
	l->name = n;
	if ((p[l->n] = strdup(path)) == NULL)
		return -1;
	if ((n[l->n] = strdup(name)) == NULL) {
		free(p[l->n]);
		return -1;
	}
	l->n++;
	return 0;
}

/* the command line's logs, or every log file of dir in numeric order */
static int
logs_get(struct logs *l, const char *dir, int argc, char *argv[])
{
	struct logent	*ents = NULL, *e;
	struct dirent	*de;
	DIR		*d;
	char		 path[PATH_MAX];
	size_t		 n = 0, i;
	uint64_t	 num;
	int		 rc = -1;

	memset(l, 0, sizeof(*l));
	if (argc > 0) {
		for (i = 0; i < (size_t)argc; i++)
			if (logs_add(l, argv[i], argv[i]) == -1) {
				warn(NULL);
				logs_free(l);
				return -1;
			}
		return 0;
	}
	if ((d = opendir(dir)) == NULL) {
		warn("%s", dir);
		return -1;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (chain_logname_num(de->d_name, &num) == -1)
			continue;
		if ((e = reallocarray(ents, n + 1, sizeof(*e))) == NULL) {
			warn(NULL);
			goto done;
		}
		ents = e;
		if ((ents[n].name = strdup(de->d_name)) == NULL) {
			warn(NULL);
			goto done;
		}
		ents[n++].num = num;
	}
	if (errno != 0) {
		warn("%s", dir);
		goto done;
	}
	if (n > 0)
		qsort(ents, n, sizeof(*ents), logent_cmp);
	for (i = 0; i < n; i++) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, ents[i].name) >=
		    (int)sizeof(path)) {
			warnx("%s/%s: path too long", dir, ents[i].name);
			goto done;
		}
		if (logs_add(l, path, ents[i].name) == -1) {
			warn(NULL);
			goto done;
		}
	}
	rc = 0;
 done:
	for (i = 0; i < n; i++)
		free(ents[i].name);
	free(ents);
	closedir(d);
	if (rc == -1)
		logs_free(l);
	return rc;
}

/* the directory of the last log on the command line, or dir */
static const char *
logs_dir(const char *dir, int argc, char *argv[], char *buf, size_t bufsz)
{
	const char	*slash;

	if (dir != NULL)
		return dir;
	if (argc == 0)
		return AUDIT_DIR;
	if ((slash = strrchr(argv[argc - 1], '/')) == NULL)
		return ".";
	if (slash == argv[argc - 1])
		return "/";
	if ((size_t)(slash - argv[argc - 1]) >= bufsz)
		return ".";
	memcpy(buf, argv[argc - 1], (size_t)(slash - argv[argc - 1]));
	buf[slash - argv[argc - 1]] = '\0';
	return buf;
}

/*
 * show
 */

struct filter {
	const char	*sandbox;
	const char	*type;
	int		 since;
	char		 sincestr[CHAIN_TIMELEN + 1];
	int		 json;
};

static int
match(const struct filter *f, const struct chain_rec *r)
{
	if (f->sandbox != NULL && fnmatch(f->sandbox, r->sandbox, 0) != 0)
		return 0;
	if (f->type != NULL && fnmatch(f->type, r->type, 0) != 0)
		return 0;
	/* same fixed-width UTC layout: byte order is time order */
	if (f->since && memcmp(r->time, f->sincestr, CHAIN_TIMELEN) < 0)
		return 0;
	return 1;
}

/* details must be a JSON object (canonical form is for verify --strict) */
static const char *
details_why(const struct chain_rec *r)
{
	json_t		*j;
	json_error_t	 e;
	const char	*why = NULL;

	if ((j = json_loadb(r->details, r->detailslen, JSON_REJECT_DUPLICATES,
	    &e)) == NULL)
		return "details: not valid JSON";
	if (!json_is_object(j))
		why = "details: not a JSON object";
	json_decref(j);
	return why;
}

/* 0, 1 if some line was malformed, 2 if the file could not be read */
static int
show_file(const struct filter *f, const char *path, const char *name)
{
	struct chain_rec r;
	FILE		*fp;
	char		*line = NULL;
	const char	*why;
	size_t		 linesz = 0, len;
	ssize_t		 n;
	uint64_t	 lineno = 0;
	int		 rc = 0;

	if ((fp = fopen(path, "r")) == NULL) {
		warn("%s", path);
		return 2;
	}
	while ((n = getline(&line, &linesz, fp)) != -1) {
		lineno++;
		len = (size_t)n;
		if (len > 0 && line[len - 1] == '\n')
			len--;
		if (chain_parse(line, len, &r, &why) == -1 ||
		    (why = details_why(&r)) != NULL) {
			warnx("%s:%llu: malformed record (%s)", name,
			    (unsigned long long)lineno,
			    len == 0 ? "empty line" : why);
			rc = 1;
			continue;
		}
		if (!match(f, &r))
			continue;
		if (f->json)
			printf("%.*s\n", (int)len, line);
		else
			printf("%.*s %llu %s %s %s %.*s\n", CHAIN_TIMELEN,
			    r.time, (unsigned long long)r.seq, r.source,
			    r.sandbox[0] != '\0' ? r.sandbox : "-", r.type,
			    (int)r.detailslen, r.details);
	}
	if (ferror(fp)) {
		warn("%s", path);
		rc = 2;
	}
	free(line);
	fclose(fp);
	return rc;
}

static int
audit_show(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "dir",	required_argument,	NULL, 'd' },
		{ "json",	no_argument,		NULL, 'j' },
		{ "sandbox",	required_argument,	NULL, 'b' },
		{ "since",	required_argument,	NULL, 's' },
		{ "type",	required_argument,	NULL, 't' },
		{ NULL,		0,			NULL, 0 }
	};
	struct filter	 f;
	struct timespec	 ts;
	struct logs	 l;
	const char	*dir = NULL;
	size_t		 i;
	int		 ch, rc = LENSCTL_OK, r;

	memset(&f, 0, sizeof(f));
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			dir = optarg;
			break;
		case 'j':
			f.json = 1;
			break;
		case 'b':
			f.sandbox = optarg;
			break;
		case 's':
			if (chain_timeparse(optarg, &ts) == -1) {
				warnx("--since: not an RFC 3339 time: %s "
				    "(e.g. 2026-01-01T12:00:00Z or "
				    "2026-01-01T13:00:00.5+01:00)", optarg);
				return lensctl_usage(&audit_group, "show");
			}
			chain_timefmt(&ts, f.sincestr);
			f.since = 1;
			break;
		case 't':
			f.type = optarg;
			break;
		default:
			return lensctl_usage(&audit_group, "show");
		}
	}
	argc -= optind;
	argv += optind;
	if (dir != NULL && argc > 0) {
		warnx("--dir and log files are exclusive");
		return lensctl_usage(&audit_group, "show");
	}
	if (logs_get(&l, dir != NULL ? dir : AUDIT_DIR, argc, argv) == -1)
		return LENSCTL_USAGE;
	if (l.n == 0) {
		warnx("%s: no audit log files", dir != NULL ? dir : AUDIT_DIR);
		return LENSCTL_USAGE;
	}
	for (i = 0; i < l.n; i++) {
		r = show_file(&f, l.path[i], l.name[i]);
		if (r > rc)
			rc = r;
	}
	logs_free(&l);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		warn("stdout");
		rc = LENSCTL_USAGE;
	}
	return rc;
}

/*
 * verify
 */

static int
parse_seq(const char *s, uint64_t *v)
{
	char			*end;
	unsigned long long	 n;

	if (s[0] < '1' || s[0] > '9')
		return -1;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (*end != '\0' || errno != 0)
		return -1;
	*v = n;
	return 0;
}

/* a small file's text; 1 read, 0 absent, -1 error (warned) */
static int
read_small(const char *path, char *buf, size_t bufsz, size_t *len)
{
	ssize_t	 n;
	int	 fd;

	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		warn("%s", path);
		return -1;
	}
	while (*len < bufsz) {
		n = read(fd, buf + *len, bufsz - *len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			warn("%s", path);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	close(fd);
	if (*len == bufsz) {
		warnx("%s: too large", path);
		return -1;
	}
	return 1;
}

/* a whole file in memory; NULL (warned) on error */
static char *
read_all(const char *path, size_t *len)
{
	char	*buf = NULL, *nb;
	size_t	 cap = 0;
	ssize_t	 n;
	int	 fd;

	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		warn("%s", path);
		return NULL;
	}
	for (;;) {
		if (*len == cap) {
			cap = cap ? cap * 2 : 65536;
			if ((nb = realloc(buf, cap)) == NULL) {
				warn(NULL);
				goto fail;
			}
			buf = nb;
		}
		n = read(fd, buf + *len, cap - *len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			warn("%s", path);
			goto fail;
		}
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	close(fd);
	return buf;
 fail:
	free(buf);
	close(fd);
	return NULL;
}

/*
 * The trusted key, and the audit.pub beside the log, which must be the
 * same key when it is there.  LENSCTL_OK, or an exit status (warned).
 */
static int
trusted_key(const char *pubkey, int given, const char *ldir, uint8_t pk[32],
    char keyid[CHAIN_KEYIDLEN + 1])
{
	char	 path[PATH_MAX], err[PATH_MAX + 128], sideid[CHAIN_KEYIDLEN + 1];
	uint8_t	 side[32];
	struct stat st;

	if (chain_pubkey_read(pubkey, pk, err, sizeof(err)) == -1) {
		warnx("%s", err);
		warnx("verify needs the trusted public key: %s, which "
		    "lensauditd installs (its -P), or --pubkey FILE; the %s "
		    "beside the log is not trusted", CHAIN_TRUSTED_PUB,
		    CHAIN_PUBFILE);
		return given ? LENSCTL_USAGE : LENSCTL_FAIL;
	}
	chain_keyid(pk, keyid);
	if (snprintf(path, sizeof(path), "%s/%s", ldir, CHAIN_PUBFILE) >=
	    (int)sizeof(path)) {
		warnx("%s: path too long", ldir);
		return LENSCTL_USAGE;
	}
	if (stat(path, &st) == -1 && errno == ENOENT)
		return LENSCTL_OK;
	if (chain_pubkey_read(path, side, err, sizeof(err)) == -1) {
		warnx("%s", err);
		return LENSCTL_FAIL;
	}
	if (sodium_memcmp(side, pk, sizeof(side)) != 0) {
		chain_keyid(side, sideid);
		warnx("%s: key fingerprint mismatch: %s beside the log is key "
		    "%s, the trusted key %s is key %s (a log signed with "
		    "another key, or forged)", path, CHAIN_PUBFILE, sideid,
		    pubkey, keyid);
		return LENSCTL_FAIL;
	}
	return LENSCTL_OK;
}

static void
report(const struct chain_vresult *res)
{
	if (res->line == 0)
		warnx("%s: %s", res->file, res->reason);
	else if (res->seq == 0)
		warnx("%s:%llu: %s", res->file,
		    (unsigned long long)res->line, res->reason);
	else
		warnx("%s:%llu: seq %llu: %s", res->file,
		    (unsigned long long)res->line,
		    (unsigned long long)res->seq, res->reason);
}

/* a completeness problem: a warning with --lenient, else a failure */
static int strictness(int, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static int
strictness(int lenient, const char *fmt, ...)
{
	char	 buf[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	warnx("%s%s", lenient ? "warning: " : "", buf);
	return !lenient;
}

static double
elapsed(const struct timespec *t0)
{
	struct timespec	 t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static int
audit_verify(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "dir",	required_argument,	NULL, 'd' },
		{ "first-seq",	required_argument,	NULL, 'f' },
		{ "interval",	required_argument,	NULL, 'i' },
		{ "lenient",	no_argument,		NULL, 'l' },
		{ "no-head",	no_argument,		NULL, 'H' },
		{ "pubkey",	required_argument,	NULL, 'p' },
		{ "quiet",	no_argument,		NULL, 'q' },
		{ "strict",	no_argument,		NULL, 's' },
		{ "witness",	required_argument,	NULL, 'w' },
		{ NULL,		0,			NULL, 0 }
	};
	struct chain_verifier *v = NULL;
	struct chain_vresult res;
	struct timespec	 t0, now;
	struct logs	 l;
	const char	*dir = NULL, *pubkey = CHAIN_TRUSTED_PUB, *ldir;
	const char	*witness = NULL;
	char		 dirbuf[PATH_MAX], path[PATH_MAX], idpath[PATH_MAX];
	char		 headbuf[1024], idbuf[128], *wbuf = NULL;
	char		 keyid[CHAIN_KEYIDLEN + 1], hex[CHAIN_LOGIDHEXLEN + 1];
	uint8_t		 pk[32], logid[CHAIN_LOGIDLEN];
	uint64_t	 first_seq = 1, interval = 60, age = 0;
	size_t		 i, headlen, idlen, wlen = 0;
	double		 secs;
	int		 ch, quiet = 0, strict = 0, nohead = 0, head = 0;
	int		 lenient = 0, pkgiven = 0, hasid = 0, rc, bad = 0;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			dir = optarg;
			break;
		case 'f':
			if (parse_seq(optarg, &first_seq) == -1) {
				warnx("--first-seq: not a seq (1 or above): "
				    "%s", optarg);
				return lensctl_usage(&audit_group, "verify");
			}
			break;
		case 'H':
			nohead = 1;
			break;
		case 'i':
			if (parse_seq(optarg, &interval) == -1 ||
			    interval > 86400) {
				warnx("--interval: not a number of seconds "
				    "from 1 to 86400: %s", optarg);
				return lensctl_usage(&audit_group, "verify");
			}
			break;
		case 'l':
			lenient = 1;
			break;
		case 'p':
			pubkey = optarg;
			pkgiven = 1;
			break;
		case 'w':
			witness = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		case 's':
			strict = 1;
			break;
		default:
			return lensctl_usage(&audit_group, "verify");
		}
	}
	argc -= optind;
	argv += optind;
	if (dir != NULL && argc > 0) {
		warnx("--dir and log files are exclusive");
		return lensctl_usage(&audit_group, "verify");
	}
	if (sodium_init() == -1) {
		warnx("sodium_init failed");
		return LENSCTL_USAGE;
	}
	ldir = logs_dir(dir, argc, argv, dirbuf, sizeof(dirbuf));
	if ((rc = trusted_key(pubkey, pkgiven, ldir, pk, keyid)) != LENSCTL_OK)
		return rc;
	if (!nohead) {
		if (snprintf(path, sizeof(path), "%s/%s", ldir,
		    CHAIN_HEADFILE) >= (int)sizeof(path)) {
			warnx("%s: path too long", ldir);
			return LENSCTL_USAGE;
		}
		if ((head = read_small(path, headbuf, sizeof(headbuf),
		    &headlen)) == -1)
			return LENSCTL_USAGE;
	}
	if (snprintf(idpath, sizeof(idpath), "%s/%s", ldir,
	    CHAIN_LOGIDFILE) >= (int)sizeof(idpath)) {
		warnx("%s: path too long", ldir);
		return LENSCTL_USAGE;
	}
	if ((hasid = read_small(idpath, idbuf, sizeof(idbuf), &idlen)) == -1)
		return LENSCTL_USAGE;
	if (hasid && chain_logid_parse(idbuf, idlen, logid) == -1) {
		warnx("%s: not a log id (32 lowercase hex digits)", idpath);
		return LENSCTL_FAIL;
	}
	if (witness != NULL && (wbuf = read_all(witness, &wlen)) == NULL)
		return LENSCTL_USAGE;
	/* a remote collector's file: its messages' head lines */
	if (witness != NULL && syslogwit_is_syslog(wbuf, wlen)) {
		char	*heads, why[256];
		size_t	 hlen;

		if (syslogwit_extract(wbuf, wlen, &heads, &hlen, why,
		    sizeof(why)) == -1) {
			warnx("%s: witness malformed (%s)", witness, why);
			free(wbuf);
			return LENSCTL_FAIL;
		}
		free(wbuf);
		wbuf = heads;
		wlen = hlen;
	}
	if (logs_get(&l, ldir, argc, argv) == -1) {
		free(wbuf);
		return LENSCTL_USAGE;
	}
	if (l.n == 0 && !head && wlen == 0) {
		warnx("%s: no audit log files", ldir);
		free(wbuf);
		return LENSCTL_USAGE;
	}
	if ((v = chain_verify_new(pk, first_seq,
	    strict ? CHAIN_VSTRICT : 0)) == NULL) {
		warn(NULL);
		logs_free(&l);
		free(wbuf);
		return LENSCTL_USAGE;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* the witness first: the log id others must match is its */
	if (witness != NULL)
		(void)chain_verify_witness(v, witness, wbuf, wlen);
	free(wbuf);
	if (head)
		(void)chain_verify_head(v, path, headbuf, headlen);
	if (hasid)
		chain_verify_logid(v, CHAIN_LOGIDFILE, logid);
	for (i = 0; i < l.n; i++)
		if (chain_verify_file(v, l.path[i], l.name[i]) == -1)
			break;
	rc = chain_verify_end(v, &res);
	secs = elapsed(&t0);
	chain_verify_free(v);
	logs_free(&l);

	if (rc == -1 && res.err == CHAIN_VIO) {
		warnx("%s: %s", res.file, strerror(res.errnum));
		return LENSCTL_USAGE;
	}
	if (rc == -1) {
		report(&res);
		warnx("trusted key %s: fingerprint %s", pubkey, keyid);
		if (log_getverbose() > 0)
			fprintf(stderr, "%llu records verified before it\n",
			    (unsigned long long)res.records);
		return LENSCTL_FAIL;
	}
	/* what the chain alone cannot prove: strict unless --lenient */
	clock_gettime(CLOCK_REALTIME, &now);
	if (res.unsigned_tail > 0 && res.unsigned_time_ok &&
	    now.tv_sec > res.unsigned_time.tv_sec)
		age = (uint64_t)(now.tv_sec - res.unsigned_time.tv_sec);
	if (!nohead && !res.head && res.checkpoints > 0) {
		bad |= strictness(lenient, "no %s: truncation after the last "
		    "checkpoint cannot be detected", CHAIN_HEADFILE);
	} else if (res.head && res.head_seq != res.last_signed_seq) {
		bad |= strictness(lenient, "%s names the checkpoint after seq "
		    "%llu, but the last checkpoint in the log is after seq "
		    "%llu", CHAIN_HEADFILE, (unsigned long long)res.head_seq,
		    (unsigned long long)res.last_signed_seq);
	}
	if (res.unsigned_tail > 0 && age > interval + UNSIGNED_GRACE)
		bad |= strictness(lenient, "%llu record%s after seq %llu not "
		    "covered by a signature, the oldest %llu s old (more than "
		    "the checkpoint interval, %llu s)",
		    (unsigned long long)res.unsigned_tail,
		    res.unsigned_tail == 1 ? "" : "s",
		    (unsigned long long)(res.last_seq - res.unsigned_tail),
		    (unsigned long long)age, (unsigned long long)interval);
	if (res.checkpoints > 0 && !res.last_ckpt_haslog)
		bad |= strictness(lenient, "the last checkpoint (after seq "
		    "%llu) signs no log id: it predates log ids, and could "
		    "be another log's", (unsigned long long)
		    res.last_signed_seq);
	if (bad) {
		warnx("audit log not proven complete (--lenient to accept "
		    "this); trusted key %s: fingerprint %s", pubkey, keyid);
		return LENSCTL_FAIL;
	}
	if (quiet)
		return LENSCTL_OK;
	printf("audit chain intact: %llu record%s", (unsigned long long)
	    res.records, res.records == 1 ? "" : "s");
	if (res.records > 0)
		printf(" (seq %llu to %llu)", (unsigned long long)res.first_seq,
		    (unsigned long long)res.last_seq);
	printf(" in %llu file%s, %llu checkpoint%s\n",
	    (unsigned long long)res.files, res.files == 1 ? "" : "s",
	    (unsigned long long)res.checkpoints,
	    res.checkpoints == 1 ? "" : "s");
	if (res.checkpoints > 0)
		printf("last signed seq %llu, %llu unsigned record%s after "
		    "the last checkpoint\n",
		    (unsigned long long)res.last_signed_seq,
		    (unsigned long long)res.unsigned_tail,
		    res.unsigned_tail == 1 ? "" : "s");
	if (res.head)
		printf("head file matches: checkpoint after seq %llu\n",
		    (unsigned long long)res.head_seq);
	printf("trusted key %s: fingerprint %s\n", pubkey, keyid);
	if (res.key_steps > 0)
		printf("forward-secure: %llu key step%s from it; the next "
		    "checkpoint's key is %s\n",
		    (unsigned long long)res.key_steps,
		    res.key_steps == 1 ? "" : "s", res.keyid_now);
	if (res.haslogid) {
		chain_tohex(res.logid, CHAIN_LOGIDLEN, hex);
		printf("log id %s\n", hex);
	}
	if (witness != NULL)
		printf("witness %s: %llu checkpoint%s in the log, the last "
		    "after seq %llu\n", witness,
		    (unsigned long long)res.witnessed,
		    res.witnessed == 1 ? "" : "s",
		    (unsigned long long)res.witness_seq);
	if (res.legacy_ckpts > 0)
		printf("note: %llu checkpoint%s without a log id (written "
		    "before log ids)\n", (unsigned long long)res.legacy_ckpts,
		    res.legacy_ckpts == 1 ? "" : "s");
	if (res.checkpoints == 0 && res.records > 0)
		warnx("warning: no checkpoint: none of the %llu records is "
		    "signed", (unsigned long long)res.records);
	else if (res.unsigned_tail > 0)
		warnx("warning: %llu record%s after seq %llu %s not covered "
		    "by a signature", (unsigned long long)res.unsigned_tail,
		    res.unsigned_tail == 1 ? "" : "s",
		    (unsigned long long)(res.last_seq - res.unsigned_tail),
		    res.unsigned_tail == 1 ? "is" : "are");
	if (log_getverbose() > 0 && secs > 0)
		fprintf(stderr, "verified in %.3f s, %.0f records/s\n", secs,
		    (double)res.records / secs);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		warn("stdout");
		return LENSCTL_USAGE;
	}
	return LENSCTL_OK;
}
