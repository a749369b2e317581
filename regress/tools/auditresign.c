/*
 * auditresign: the intruder of regress/attack/audit-fs-stolen-key.t.
 * With a stolen secret key (the writer's current audit.key), rewrite
 * record SEQ of the log in DIR (FROM replaced by TO in its details) and
 * re-sign everything that can be re-signed: every record from SEQ on is
 * chained again, every checkpoint after it signed again with the stolen
 * key (keeping the next key it names), the head file likewise.
 *
 *	auditresign -k KEYFILE -s SEQ -f FROM -t TO DIR
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <err.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "chain.h"
#include "chainwrite.h"

static char *
slurp(const char *path, size_t *len)
{
	struct stat	 st;
	char		*buf;
	int		 fd;

	if ((fd = open(path, O_RDONLY)) == -1 || fstat(fd, &st) == -1)
		err(1, "%s", path);
	if ((buf = malloc(st.st_size + 1)) == NULL)
		err(1, NULL);
	if (read(fd, buf, st.st_size) != st.st_size)
		err(1, "read %s", path);
	close(fd);
	buf[st.st_size] = '\0';
	*len = st.st_size;
	return buf;
}

static void
spit(const char *path, const char *buf, size_t len)
{
	int	 fd;

	if ((fd = open(path, O_WRONLY | O_TRUNC)) == -1 ||
	    write(fd, buf, len) != (ssize_t)len)
		err(1, "write %s", path);
	close(fd);
}

static int
numcmp(const void *a, const void *b)
{
	uint64_t	 x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char *argv[])
{
	static char	 line[CHAIN_MAXLINE + 1], det[CHAIN_MAXLINE];
	static char	 det2[CHAIN_MAXLINE], path[4096], name[128];
	const char	*keyfile = NULL, *from = NULL, *to = NULL, *dir, *why;
	uint64_t	 seq = 0, nums[1000], hseq = UINT64_MAX;
	uint8_t		 sk[64], prev[CHAIN_HASHLEN], hash[CHAIN_HASHLEN];
	struct chain_head head;
	struct chain_ckpt ck, nck;
	struct chain_rec r;
	struct chain_fields f;
	char		*buf, *out, *p, *nl, *hp, *s, t[CHAIN_TIMELEN + 1];
	char		 hline[512];
	size_t		 len, olen, n = 0, i, dl;
	int		 ch, started = 0, resigned = 0, hdone = 0;
	DIR		*d;
	struct dirent	*de;

	while ((ch = getopt(argc, argv, "f:k:s:t:")) != -1) {
		switch (ch) {
		case 'f': from = optarg; break;
		case 'k': keyfile = optarg; break;
		case 's': seq = strtoull(optarg, NULL, 10); break;
		case 't': to = optarg; break;
		default: goto usage;
		}
	}
	if (argc - optind != 1 || !keyfile || !from || !to || seq == 0)
		goto usage;
	dir = argv[optind];
	if (sodium_init() == -1)
		errx(1, "sodium_init");
	buf = slurp(keyfile, &len);
	if (chain_seckey_parse(buf, len, sk) == -1)
		errx(1, "%s: not a secret key", keyfile);
	free(buf);

	snprintf(path, sizeof(path), "%s/%s", dir, CHAIN_HEADFILE);
	if (access(path, F_OK) == 0) {
		buf = slurp(path, &len);
		if (chain_head_parse(buf, len, &head, &why) == -1)
			errx(1, "%s: %s", path, why);
		hseq = head.ckpt.head_seq;
		free(buf);
	}
	if ((d = opendir(dir)) == NULL)
		err(1, "%s", dir);
	while ((de = readdir(d)) != NULL && n < 1000)
		if (chain_logname_num(de->d_name, &nums[n]) == 0)
			n++;
	closedir(d);
	qsort(nums, n, sizeof(nums[0]), numcmp);

	for (i = 0; i < n; i++) {
		chain_logname(name, sizeof(name), nums[i]);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		buf = slurp(path, &len);
		if ((out = malloc(2 * len + CHAIN_MAXLINE)) == NULL)
			err(1, NULL);
		olen = 0;
		for (p = buf; (nl = memchr(p, '\n', buf + len - p)) != NULL;
		    p = nl + 1) {
			memcpy(line, p, nl - p);
			line[nl - p] = '\0';
			if (chain_parse(line, nl - p, &r, &why) == -1)
				errx(1, "%s: %s", name, why);
			if (r.seq < seq) {
				memcpy(out + olen, p, nl - p + 1);
				olen += nl - p + 1;
				memcpy(prev, r.hash, sizeof(prev));
				continue;
			}
			memcpy(det, r.details, r.detailslen);
			det[r.detailslen] = '\0';
			dl = r.detailslen;
			if (r.seq == seq) {
				if ((s = strstr(det, from)) == NULL)
					errx(1, "seq %llu: \"%s\" not in its "
					    "details", (unsigned long long)seq,
					    from);
				snprintf(det2, sizeof(det2), "%.*s%s%s",
				    (int)(s - det), det, to, s + strlen(from));
				strlcpy(det, det2, sizeof(det));
				dl = strlen(det);
				started = 1;
			} else if (started && chain_is_ckpt(&r)) {
				if (chain_ckpt_parse(&r, &ck, &why) == -1 ||
				    (hp = strstr(det, ",\"sources\":")) == NULL)
					errx(1, "seq %llu: %s",
					    (unsigned long long)r.seq, why);
				hp += 11;
				det[dl - 1] = '\0';
				if (chain_ckpt_details_next(det2, sizeof(det2),
				    r.seq - 1, prev, ck.haslog ? ck.logid :
				    NULL, ck.hasnext ? ck.next : NULL, sk, hp,
				    &nck) == -1)
					errx(1, "seq %llu: cannot sign",
					    (unsigned long long)r.seq);
				strlcpy(det, det2, sizeof(det));
				dl = strlen(det);
				resigned++;
				if (r.seq - 1 == hseq) {
					chain_head_format(hline, sizeof(hline),
					    name, &nck);
					hdone = 1;
				}
			}
			memset(&f, 0, sizeof(f));
			f.seq = r.seq;
			memcpy(t, r.time, CHAIN_TIMELEN);
			t[CHAIN_TIMELEN] = '\0';
			chain_timeparse(t, &f.time);
			f.sandbox = r.sandbox;
			f.source = r.source;
			f.id = r.id;
			f.type = r.type;
			f.details = det;
			f.detailslen = dl;
			if ((ch = chain_format(out + olen, CHAIN_MAXLINE, &f,
			    prev, hash)) == -1)
				err(1, "format seq %llu",
				    (unsigned long long)r.seq);
			olen += ch;
			memcpy(prev, hash, sizeof(prev));
		}
		spit(path, out, olen);
		free(out);
		free(buf);
	}
	if (!started)
		errx(1, "seq %llu not found", (unsigned long long)seq);
	if (hdone) {
		snprintf(path, sizeof(path), "%s/%s", dir, CHAIN_HEADFILE);
		spit(path, hline, strlen(hline));
	}
	printf("rewrote seq %llu, re-signed %d checkpoints%s\n",
	    (unsigned long long)seq, resigned, hdone ? " and the head" : "");
	return 0;
 usage:
	fprintf(stderr, "usage: auditresign -k keyfile -s seq -f from -t to "
	    "dir\n");
	return 2;
}
