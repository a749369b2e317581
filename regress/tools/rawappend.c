/*
 * rawappend: the raw limit of a disk for an append-only log, the peer
 * that `make bench` puts beside lensauditd's durable throughput.
 *
 *	rawappend -d dir [-b batch] [-n records] [-s size] [-k]
 *
 * Appends n records of exactly size bytes (size-1 bytes of text and a
 * '\n') to a new file in dir (opened O_APPEND, as lensauditd opens its
 * log), batch records at a time: one write(2) of the whole batch, then
 * one fdatasync(2).  Nothing else: no formatting, no hashing, no IPC.
 * The file is removed at the end unless -k is given.
 *
 * Prints one line:
 *	records N seconds S rate R batches B p50_us X p99_us Y
 * where R is records per second and X, Y are the percentiles of the
 * time one batch took (write + fdatasync), i.e. the best acknowledgement
 * latency a group commit of that batch size could offer.
 */
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void	usage(void) __attribute__((noreturn));

static void
usage(void)
{
	fprintf(stderr, "usage: rawappend -d dir [-k] [-b batch] "
	    "[-n records] [-s size]\n");
	exit(2);
}

static uint64_t
num(const char *s, const char *what, uint64_t min, uint64_t max)
{
	char			*end;
	unsigned long long	 v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 ||
	    v < min || v > max)
		errx(2, "%s: expected a number from %llu to %llu: %s", what,
		    (unsigned long long)min, (unsigned long long)max, s);
	return v;
}

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
cmpd(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
write_all(int fd, const char *buf, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "write");
		}
		buf += n;
		len -= n;
	}
}

int
main(int argc, char *argv[])
{
	const char	*dir = NULL;
	char		 path[PATH_MAX], *buf, *p;
	uint64_t	 nrec = 100000, batch = 1000, size = 300, done, i, k;
	uint64_t	 nbatch, b;
	double		 t0, t1, el, *lat;
	int		 ch, fd, keep = 0;

	while ((ch = getopt(argc, argv, "b:d:kn:s:")) != -1) {
		switch (ch) {
		case 'b':
			batch = num(optarg, "-b", 1, 10000000);
			break;
		case 'd':
			dir = optarg;
			break;
		case 'k':
			keep = 1;
			break;
		case 'n':
			nrec = num(optarg, "-n", 1, UINT32_MAX);
			break;
		case 's':
			size = num(optarg, "-s", 2, 1 << 20);
			break;
		default:
			usage();
		}
	}
	if (dir == NULL || optind != argc)
		usage();
	if (batch > nrec)
		batch = nrec;
	if (batch * size > (1ULL << 30))
		errx(2, "a batch of %llu records of %llu bytes is over 1 GiB",
		    (unsigned long long)batch, (unsigned long long)size);
	if (snprintf(path, sizeof(path), "%s/rawappend.%d.log", dir,
	    (int)getpid()) >= (int)sizeof(path))
		errx(2, "%s: path too long", dir);

	/* one batch of records, each size-1 bytes of text and '\n' */
	if ((buf = malloc(batch * size)) == NULL)
		err(1, "malloc");
	for (i = 0, p = buf; i < batch; i++, p += size) {
		memset(p, 'x', size - 1);
		p[size - 1] = '\n';
	}
	nbatch = (nrec + batch - 1) / batch;
	if ((lat = calloc(nbatch, sizeof(*lat))) == NULL)
		err(1, "calloc");

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND |
	    O_CLOEXEC, 0600)) == -1)
		err(1, "create %s", path);
	if (fsync(fd) == -1)
		err(1, "fsync %s", path);

	t0 = now();
	for (done = 0, b = 0; done < nrec; done += k, b++) {
		k = nrec - done < batch ? nrec - done : batch;
		t1 = now();
		write_all(fd, buf, k * size);
		if (fdatasync(fd) == -1)
			err(1, "fdatasync %s", path);
		lat[b] = now() - t1;
	}
	el = now() - t0;

	if (close(fd) == -1)
		err(1, "close %s", path);
	if (!keep && unlink(path) == -1)
		err(1, "unlink %s", path);
	qsort(lat, nbatch, sizeof(*lat), cmpd);
	printf("records %llu seconds %.3f rate %.0f batches %llu "
	    "p50_us %.0f p99_us %.0f\n", (unsigned long long)nrec, el,
	    nrec / el, (unsigned long long)nbatch, lat[nbatch / 2] * 1e6,
	    lat[(size_t)((nbatch - 1) * 0.99)] * 1e6);
	free(lat);
	free(buf);
	return 0;
}
