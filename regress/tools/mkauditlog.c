/*
 * mkauditlog: write a valid, signed audit log exactly as lensauditd
 * would (records, checkpoints, rotation, head file, keys), for the
 * tamper tests and the verification benchmark.  The content is
 * deterministic: the same options give the same bytes (with -e).
 *
 *	mkauditlog -d DIR [-kFHL] [-e SEED] [-n RECORDS] [-c INTERVAL]
 *	    [-f FILES] [-s DETAILSIZE] [-u UNSIGNED] [-t START]
 *	    [-l LOGID] [-W WITNESS]
 *	mkauditlog -K -d DIR [-e SEED]
 *	mkauditlog -R FIRST[-LAST] FILE
 *
 * -R is a tamper helper: it recomputes prev and hash of lines
 * FIRST..LAST of FILE (1-based, LAST defaults to the end), each
 * chained to the line before it, as a forger without the key would.
 *
 * The log id is -l (32 hex), else the one in DIR/audit.logid, else one
 * derived from SEED (random without -e), written to DIR/audit.logid;
 * -L writes legacy checkpoints without a log id; -F forward-secure
 * ones: each names the next key (derived from the current one:
 * BLAKE2b-256 of its seed) and the next is signed with it.  -W appends every
 * checkpoint's head line to WITNESS, as lensauditd -W does.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "chain.h"
#include "chainwrite.h"

#define NSOURCES	3

struct gen {
	const char	*dir;
	uint8_t		 sk[64];
	uint64_t	 seq;
	uint8_t		 prev[CHAIN_HASHLEN];
	struct timespec	 now;
	/* sorted by name, as the checkpoint's "sources" must be */
	const char	*srcname[NSOURCES];
	uint64_t	 srcid[NSOURCES];
	FILE		*fp;
	uint64_t	 filenum;
	char		 file[CHAIN_LOGNAMEMAX + 1];
	uint64_t	 lines, perfile;	/* in this file, per file */
	int		 have_ckpt;
	char		 ckptfile[CHAIN_LOGNAMEMAX + 1];
	struct chain_ckpt ckpt;
	char		*line;
	size_t		 linesz;
	const uint8_t	*logid;		/* NULL: legacy */
	int		 evolve;	/* -F: forward-secure checkpoints */
	FILE		*witness;
};

static void	usage(void) __attribute__((noreturn));

static void
usage(void)
{
	fprintf(stderr, "usage: mkauditlog -d dir [-kHL] [-e seed] "
	    "[-n records] [-c interval]\n"
	    "\t[-f files] [-s detailsize] [-u unsigned] [-t start]\n"
	    "\t[-l logid] [-W witness]\n"
	    "       mkauditlog -K -d dir [-e seed]\n"
	    "       mkauditlog -R first[-last] file\n");
	exit(2);
}

static uint64_t
num(const char *s, const char *what)
{
	char			*end;
	unsigned long long	 v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0)
		errx(2, "%s: bad number: %s", what, s);
	return v;
}

static void
writefile(const char *dir, const char *name, const char *data, size_t len,
    mode_t mode)
{
	char	 path[PATH_MAX], tmp[PATH_MAX];
	int	 fd;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >=
	    (int)sizeof(tmp))
		errx(1, "%s/%s: path too long", dir, name);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    mode)) == -1)
		err(1, "%s", tmp);
	if (write(fd, data, len) != (ssize_t)len || fsync(fd) == -1 ||
	    close(fd) == -1)
		err(1, "%s", tmp);
	if (rename(tmp, path) == -1)
		err(1, "rename %s", path);
}

static void
genkey(const char *dir, const char *seedstr, uint8_t sk[64])
{
	uint8_t	 pk[32], seed[32];
	char	 hex[129], buf[160];
	int	 n;

	if (seedstr != NULL) {
		crypto_generichash(seed, sizeof(seed),
		    (const unsigned char *)seedstr, strlen(seedstr), NULL, 0);
		crypto_sign_seed_keypair(pk, sk, seed);
		explicit_bzero(seed, sizeof(seed));
	} else
		crypto_sign_keypair(pk, sk);
	chain_tohex(pk, sizeof(pk), hex);
	n = snprintf(buf, sizeof(buf), "ed25519 %s\n", hex);
	writefile(dir, CHAIN_PUBFILE, buf, (size_t)n, 0644);
	chain_tohex(sk, 64, hex);
	n = snprintf(buf, sizeof(buf), "ed25519-secret %s\n", hex);
	writefile(dir, CHAIN_KEYFILE, buf, (size_t)n, 0600);
	explicit_bzero(hex, sizeof(hex));
	explicit_bzero(buf, sizeof(buf));
}

static void
readkey(const char *dir, uint8_t sk[64])
{
	char	 path[PATH_MAX], buf[256];
	ssize_t	 n;
	int	 fd;

	if (snprintf(path, sizeof(path), "%s/%s", dir, CHAIN_KEYFILE) >=
	    (int)sizeof(path))
		errx(1, "%s: path too long", dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		err(1, "%s (use -k to make a key)", path);
	if ((n = read(fd, buf, sizeof(buf))) == -1)
		err(1, "%s", path);
	close(fd);
	if (chain_seckey_parse(buf, (size_t)n, sk) == -1)
		errx(1, "%s: not an ed25519 secret key", path);
	explicit_bzero(buf, sizeof(buf));
}

static void
newfile(struct gen *g)
{
	char	 path[PATH_MAX];
	int	 fd;

	if (g->fp != NULL && fclose(g->fp) == EOF)
		err(1, "%s", g->file);
	g->filenum++;
	if (chain_logname(g->file, sizeof(g->file), g->filenum) == -1)
		err(1, "log name");
	if (snprintf(path, sizeof(path), "%s/%s", g->dir, g->file) >=
	    (int)sizeof(path))
		errx(1, "%s: path too long", g->dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0640)) == -1)
		err(1, "%s", path);
	if ((g->fp = fdopen(fd, "w")) == NULL)
		err(1, "%s", path);
	setvbuf(g->fp, NULL, _IOFBF, 1 << 20);
	g->lines = 0;
}

static void
emit(struct gen *g, const char *sandbox, const char *source, uint64_t id,
    const char *type, const char *details)
{
	struct chain_fields f;
	uint8_t		 hash[CHAIN_HASHLEN];
	int		 n;

	if (g->fp == NULL || (g->lines >= g->perfile && g->perfile > 0))
		newfile(g);
	memset(&f, 0, sizeof(f));
	f.seq = ++g->seq;
	f.time = g->now;
	f.sandbox = sandbox;
	f.source = source;
	f.id = id;
	f.type = type;
	f.details = details;
	f.detailslen = strlen(details);
	if ((n = chain_format(g->line, g->linesz, &f, g->prev, hash)) == -1)
		err(1, "chain_format seq %llu", (unsigned long long)f.seq);
	if (fwrite(g->line, 1, (size_t)n, g->fp) != (size_t)n)
		err(1, "%s", g->file);
	memcpy(g->prev, hash, sizeof(hash));
	g->lines++;
	g->now.tv_nsec += 1000000;
	if (g->now.tv_nsec >= 1000000000) {
		g->now.tv_nsec -= 1000000000;
		g->now.tv_sec++;
	}
}

static void
event(struct gen *g, uint64_t i, size_t detailsize)
{
	static const struct { const char *source, *type; } kinds[] = {
		{ "lensvmm", "sandbox.start" },
		{ "lensnetd", "net.allow" },
		{ "lensnetd", "net.deny" },
		{ "lenscredd", "cred.inject" },
		{ "lensvmm", "exec" },
	};
	char		 sandbox[16], details[4096];
	size_t		 k = i % 5, s, len;
	int		 n;

	if (i % 7 == 6)
		sandbox[0] = '\0';
	else
		snprintf(sandbox, sizeof(sandbox), "sb-%llu",
		    (unsigned long long)(1 + (i / 5) % 3));
	for (s = 0; s < NSOURCES; s++)
		if (strcmp(g->srcname[s], kinds[k].source) == 0)
			break;
	n = snprintf(details, sizeof(details), "{\"i\":%llu,\"pad\":\"",
	    (unsigned long long)i);
	len = (size_t)n;
	while (len + 2 < detailsize && len + 2 < sizeof(details) - 1) {
		details[len] = (char)('a' + len % 26);
		len++;
	}
	details[len++] = '"';
	details[len++] = '}';
	details[len] = '\0';
	emit(g, sandbox, kinds[k].source, ++g->srcid[s], kinds[k].type,
	    details);
}

static void
checkpoint(struct gen *g)
{
	char		 sources[256], details[1024];
	const char	*why;
	struct chain_rec r;
	size_t		 s, len;
	int		 n;

	len = strlcpy(sources, "{", sizeof(sources));
	for (s = 0; s < NSOURCES; s++) {
		if (g->srcid[s] == 0)
			continue;
		len += (size_t)snprintf(sources + len, sizeof(sources) - len,
		    "%s\"%s\":%llu", len > 1 ? "," : "", g->srcname[s],
		    (unsigned long long)g->srcid[s]);
	}
	strlcat(sources, "}", sizeof(sources));
	if (g->evolve && g->logid != NULL) {
		uint8_t	 seed[32], npk[32], nsk[64];

		/* the next key, derived from this one: deterministic */
		crypto_generichash(seed, sizeof(seed), g->sk, 32, NULL, 0);
		crypto_sign_seed_keypair(npk, nsk, seed);
		if (chain_ckpt_details_next(details, sizeof(details), g->seq,
		    g->prev, g->logid, npk, g->sk, sources, NULL) == -1)
			err(1, "chain_ckpt_details");
		memcpy(g->sk, nsk, sizeof(g->sk));
		explicit_bzero(nsk, sizeof(nsk));
	} else if (chain_ckpt_details_log(details, sizeof(details), g->seq,
	    g->prev, g->logid, g->sk, sources, NULL) == -1)
		err(1, "chain_ckpt_details");
	emit(g, "", CHAIN_SELF_SOURCE, 0, CHAIN_CKPT_TYPE, details);
	/* what the head file will say */
	n = (int)strlen(g->line) - 1;
	if (chain_parse(g->line, (size_t)n, &r, &why) == -1 ||
	    chain_ckpt_parse(&r, &g->ckpt, &why) == -1)
		errx(1, "checkpoint does not parse: %s", why);
	strlcpy(g->ckptfile, g->file, sizeof(g->ckptfile));
	g->have_ckpt = 1;
	if (g->witness != NULL) {
		char	 head[512];

		if ((n = chain_head_format(head, sizeof(head), g->ckptfile,
		    &g->ckpt)) == -1 ||
		    fwrite(head, 1, (size_t)n, g->witness) != (size_t)n)
			err(1, "witness");
	}
}

/* the log id (see the top); NULL for -L */
static const uint8_t *
getlogid(const char *dir, const char *hex, const char *seed, int legacy,
    uint8_t id[CHAIN_LOGIDLEN])
{
	char	 path[PATH_MAX], buf[128];
	ssize_t	 n;
	int	 fd;

	if (legacy)
		return NULL;
	if (hex != NULL) {
		if (chain_logid_parse(hex, strlen(hex), id) == -1)
			errx(2, "-l: not 32 lowercase hex digits: %s", hex);
	} else {
		snprintf(path, sizeof(path), "%s/%s", dir, CHAIN_LOGIDFILE);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
			n = read(fd, buf, sizeof(buf));
			close(fd);
			if (n < 0 || chain_logid_parse(buf, (size_t)n, id) ==
			    -1)
				errx(1, "%s: not a log id", path);
			return id;
		}
		if (seed != NULL)
			crypto_generichash(id, CHAIN_LOGIDLEN,
			    (const unsigned char *)seed, strlen(seed),
			    (const unsigned char *)"lens-logid", 10);
		else
			randombytes_buf(id, CHAIN_LOGIDLEN);
	}
	chain_tohex(id, CHAIN_LOGIDLEN, buf);
	strlcat(buf, "\n", sizeof(buf));
	writefile(dir, CHAIN_LOGIDFILE, buf, strlen(buf), 0444);
	return id;
}

/* recompute prev and hash of lines first..last of path */
static int
rehash(const char *range, const char *path)
{
	struct chain_rec r;
	struct stat	 st;
	const char	*why, *dash;
	char		*buf, *p, *nl, *tail;
	uint8_t		 prev[CHAIN_HASHLEN], hash[CHAIN_HASHLEN];
	uint64_t	 first, last = UINT64_MAX, lineno = 0;
	size_t		 len;
	ssize_t		 n;
	int		 fd, have_prev = 0;

	if ((dash = strchr(range, '-')) != NULL) {
		char tmp[32];

		if ((size_t)(dash - range) >= sizeof(tmp))
			errx(2, "bad range: %s", range);
		memcpy(tmp, range, (size_t)(dash - range));
		tmp[dash - range] = '\0';
		first = num(tmp, "first");
		last = num(dash + 1, "last");
	} else
		first = num(range, "first");
	if (first == 0 || last < first)
		errx(2, "bad range: %s", range);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1)
		err(1, "%s", path);
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		err(1, NULL);
	if ((n = read(fd, buf, (size_t)st.st_size)) != st.st_size)
		err(1, "%s: short read", path);
	close(fd);
	for (p = buf; p < buf + n; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(buf + n - p))) == NULL)
			errx(1, "%s: last line has no newline", path);
		len = (size_t)(nl - p);
		lineno++;
		if (chain_parse(p, len, &r, &why) == -1)
			errx(1, "%s:%llu: %s", path,
			    (unsigned long long)lineno, why);
		if (lineno >= first && lineno <= last) {
			tail = p + len - 149;
			if (have_prev) {
				chain_tohex(prev, CHAIN_HASHLEN, tail + 9);
				tail[9 + CHAIN_HEXLEN] = '"';
				memcpy(r.prev, prev, CHAIN_HASHLEN);
			}
			chain_hash(r.prev, p, r.hashedlen, hash);
			chain_tohex(hash, CHAIN_HASHLEN, tail + 83);
			tail[83 + CHAIN_HEXLEN] = '"';
			memcpy(r.hash, hash, CHAIN_HASHLEN);
		}
		memcpy(prev, r.hash, CHAIN_HASHLEN);
		have_prev = 1;
	}
	if ((fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)) == -1 ||
	    write(fd, buf, (size_t)n) != n || close(fd) == -1)
		err(1, "%s", path);
	free(buf);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct gen	 g;
	const char	*seed = NULL, *start = NULL, *range = NULL;
	const char	*logidhex = NULL, *witness = NULL;
	uint8_t		 logid[CHAIN_LOGIDLEN];
	int		 legacy = 0;
	uint64_t	 nrec = 100, interval = 10, nfiles = 1, unsig = 0, i;
	uint64_t	 total, nckpt;
	size_t		 detailsize = 64;
	char		 head[512];
	int		 ch, keygen = 0, keyonly = 0, nohead = 0, n;

	if (sodium_init() == -1)
		errx(1, "sodium_init");
	memset(&g, 0, sizeof(g));
	while ((ch = getopt(argc, argv, "c:d:e:Ff:HKkLl:n:R:s:t:u:W:")) != -1) {
		switch (ch) {
		case 'c':
			interval = num(optarg, "-c");
			break;
		case 'd':
			g.dir = optarg;
			break;
		case 'e':
			seed = optarg;
			break;
		case 'f':
			if ((nfiles = num(optarg, "-f")) == 0)
				errx(2, "-f: at least one file");
			break;
		case 'H':
			nohead = 1;
			break;
		case 'K':
			keyonly = keygen = 1;
			break;
		case 'F':
			g.evolve = 1;
			break;
		case 'k':
			keygen = 1;
			break;
		case 'L':
			legacy = 1;
			break;
		case 'l':
			logidhex = optarg;
			break;
		case 'n':
			nrec = num(optarg, "-n");
			break;
		case 'W':
			witness = optarg;
			break;
		case 'R':
			range = optarg;
			break;
		case 's':
			detailsize = num(optarg, "-s");
			if (detailsize > 4000)
				errx(2, "-s: at most 4000");
			break;
		case 't':
			start = optarg;
			break;
		case 'u':
			unsig = num(optarg, "-u");
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (range != NULL) {
		if (argc != 1)
			usage();
		return rehash(range, argv[0]);
	}
	if (argc != 0 || g.dir == NULL)
		usage();
	if (mkdir(g.dir, 0755) == -1 && errno != EEXIST)
		err(1, "%s", g.dir);
	if (keygen)
		genkey(g.dir, seed, g.sk);
	else
		readkey(g.dir, g.sk);
	if (keyonly)
		return 0;
	g.logid = getlogid(g.dir, logidhex, seed, legacy, logid);
	if (witness != NULL && (g.witness = fopen(witness, "a")) == NULL)
		err(1, "%s", witness);

	if (start == NULL)
		start = "2026-01-01T00:00:00Z";
	if (chain_timeparse(start, &g.now) == -1)
		errx(2, "-t: not an RFC 3339 time: %s", start);
	g.srcname[0] = "lenscredd";
	g.srcname[1] = "lensnetd";
	g.srcname[2] = "lensvmm";
	g.linesz = CHAIN_MAXLINE;
	if ((g.line = malloc(g.linesz)) == NULL)
		err(1, NULL);
	nckpt = interval == 0 ? 0 : (nrec + interval - 1) / interval;
	total = nrec + nckpt + unsig;
	g.perfile = (total + nfiles - 1) / nfiles;

	for (i = 0; i < nrec; i++) {
		event(&g, i, detailsize);
		if (interval != 0 && ((i + 1) % interval == 0 ||
		    i + 1 == nrec))
			checkpoint(&g);
	}
	for (; i < nrec + unsig; i++)
		event(&g, i, detailsize);
	if (g.fp != NULL && fclose(g.fp) == EOF)
		err(1, "%s", g.file);
	if (g.witness != NULL && fclose(g.witness) == EOF)
		err(1, "%s", witness);
	if (g.have_ckpt && !nohead) {
		if ((n = chain_head_format(head, sizeof(head), g.ckptfile,
		    &g.ckpt)) == -1)
			err(1, "chain_head_format");
		writefile(g.dir, CHAIN_HEADFILE, head, (size_t)n, 0644);
	}
	explicit_bzero(g.sk, sizeof(g.sk));
	free(g.line);
	return 0;
}
