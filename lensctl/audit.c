/*
 * lensctl audit: read and verify the audit logs offline.
 *
 *	lensctl audit show [--dir dir] [--sandbox id] [--type type]
 *	    [--since time] [--json] [log ...]
 *	lensctl audit verify [--dir dir] [--pubkey file] [--quiet]
 *	    [--strict] [--first-seq seq] [--no-head] [log ...]
 */
#include <sys/types.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "log.h"
#include "../lensauditd/chain.h"
#include "lensctl.h"

#define AUDIT_DIR	"/var/lib/lens/audit"

static int	audit_show(int, char **);
static int	audit_verify(int, char **);

static const struct lensctl_cmd audit_cmds[] = {
	{ "show", audit_show, "[--dir dir] [--sandbox id] [--type type] "
	    "[--since time] [--json] [log ...]" },
	{ "verify", audit_verify, "[--dir dir] [--pubkey file] [--quiet] "
	    "[--strict] [--first-seq seq] [--no-head] [log ...]" },
	{ NULL, NULL, NULL }
};

const struct lensctl_group audit_group = { "audit", audit_cmds };

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

/* the head file's text; 1 read, 0 absent, -1 error (warned) */
static int
read_head(const char *path, char *buf, size_t bufsz, size_t *len)
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
	return 1;
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
		{ "no-head",	no_argument,		NULL, 'H' },
		{ "pubkey",	required_argument,	NULL, 'p' },
		{ "quiet",	no_argument,		NULL, 'q' },
		{ "strict",	no_argument,		NULL, 's' },
		{ NULL,		0,			NULL, 0 }
	};
	struct chain_verifier *v = NULL;
	struct chain_vresult res;
	struct timespec	 t0;
	struct logs	 l;
	const char	*dir = NULL, *pubkey = NULL, *ldir;
	char		 dirbuf[PATH_MAX], keypath[PATH_MAX], path[PATH_MAX];
	char		 err[PATH_MAX + 128];
	char		 headbuf[1024];
	uint8_t		 pk[32];
	uint64_t	 first_seq = 1;
	size_t		 i, headlen;
	double		 secs;
	int		 ch, quiet = 0, strict = 0, nohead = 0, head = 0;
	int		 rc;

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
		case 'p':
			pubkey = optarg;
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
	if (pubkey == NULL) {
		if (snprintf(keypath, sizeof(keypath), "%s/%s", ldir,
		    CHAIN_PUBFILE) >= (int)sizeof(keypath)) {
			warnx("%s: path too long", ldir);
			return LENSCTL_USAGE;
		}
		pubkey = keypath;
	}
	if (chain_pubkey_read(pubkey, pk, err, sizeof(err)) == -1) {
		warnx("%s", err);
		return LENSCTL_USAGE;
	}
	if (!nohead) {
		if (snprintf(path, sizeof(path), "%s/%s", ldir,
		    CHAIN_HEADFILE) >= (int)sizeof(path)) {
			warnx("%s: path too long", ldir);
			return LENSCTL_USAGE;
		}
		if ((head = read_head(path, headbuf, sizeof(headbuf),
		    &headlen)) == -1)
			return LENSCTL_USAGE;
	}
	if (logs_get(&l, ldir, argc, argv) == -1)
		return LENSCTL_USAGE;
	if (l.n == 0 && !head) {
		warnx("%s: no audit log files", ldir);
		return LENSCTL_USAGE;
	}
	if ((v = chain_verify_new(pk, first_seq,
	    strict ? CHAIN_VSTRICT : 0)) == NULL) {
		warn(NULL);
		logs_free(&l);
		return LENSCTL_USAGE;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (head)
		(void)chain_verify_head(v, path, headbuf, headlen);
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
		if (log_getverbose() > 0)
			fprintf(stderr, "%llu records verified before it\n",
			    (unsigned long long)res.records);
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
	if (res.checkpoints == 0 && res.records > 0)
		warnx("warning: no checkpoint: none of the %llu records is "
		    "signed", (unsigned long long)res.records);
	else if (res.unsigned_tail > 0)
		warnx("warning: %llu record%s after seq %llu %s not covered "
		    "by a signature", (unsigned long long)res.unsigned_tail,
		    res.unsigned_tail == 1 ? "" : "s",
		    (unsigned long long)(res.last_seq - res.unsigned_tail),
		    res.unsigned_tail == 1 ? "is" : "are");
	if (!res.head && !nohead)
		warnx("warning: no %s: truncation after the last checkpoint "
		    "cannot be detected", CHAIN_HEADFILE);
	if (log_getverbose() > 0 && secs > 0)
		fprintf(stderr, "verified in %.3f s, %.0f records/s\n", secs,
		    (double)res.records / secs);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		warn("stdout");
		return LENSCTL_USAGE;
	}
	return LENSCTL_OK;
}
