/*
 * auditstream: an audit client for tests and benchmarks.  Sends N
 * events through common/auditc.c, keeping at most W unacknowledged, and
 * exits once every one is acknowledged (through any number of lensauditd
 * restarts).  Each event's details are {"n":K,"pad":"..."} with K from
 * 1 to N, so a test can check that each is in the log exactly once.
 *
 * With -r, at most that many events per second are offered.
 *
 * Prints one line: events, seconds, events/s, p50 and p99 latency from
 * the moment an event was queued to its acknowledgement.
 */
#include <errno.h>
#include <event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auditc.h"
#include "log.h"

static struct auditc	*ac;
static uint64_t		 total, window = 1000, queued, done;
static size_t		 padlen;
static double		*sent_at, *lat;
static const char	*sandbox = "";
static const char	*type = "test.event";
static char		*pad;
static struct event	 ev_tick;
static time_t		 deadline;
static double		 rate, t0;	/* events/s to offer, 0: no limit */

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
fill(void)
{
	char	 buf[4096];
	int	 n;

	while (queued < total && queued - auditc_acked(ac) < window &&
	    (rate == 0 || queued < rate * (now() - t0))) {
		n = snprintf(buf, sizeof(buf), "{\"n\":%llu,\"pad\":\"%s\"}",
		    (unsigned long long)queued + 1, pad);
		if (auditc_event(ac, sandbox, type, buf, n) == -1) {
			if (errno == ENOBUFS)
				return;
			fatal("auditc_event");
		}
		sent_at[queued++] = now();
	}
}

static void
cb(struct auditc *a, enum auditc_note n, void *arg)
{
	uint64_t	 acked;
	double		 t;

	(void)arg;
	if (n != AUDITC_ACKED)
		return;
	acked = auditc_acked(a);
	t = now();
	for (; done < acked; done++)
		lat[done] = t - sent_at[done];
	if (done == total)
		event_loopexit(NULL);
	else
		fill();
}

static void
tick(int fd, short ev, void *arg)
{
	struct timeval	 tv = { 0, 10000 };

	(void)fd;
	(void)ev;
	(void)arg;
	if (deadline && time(NULL) > deadline)
		fatalx("timed out with %llu of %llu acknowledged",
		    (unsigned long long)done, (unsigned long long)total);
	fill();
	evtimer_add(&ev_tick, &tv);
}

static int
cmpd(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char *argv[])
{
	const char	*sock = "/run/lens/lensauditd.sock", *source = "test";
	struct timeval	 tv = { 0, 100000 };
	double		 el;
	int		 ch, timeout = 0;

	while ((ch = getopt(argc, argv, "b:n:p:r:S:s:t:T:w:")) != -1) {
		switch (ch) {
		case 'b':
			sandbox = optarg;
			break;
		case 'n':
			total = strtoull(optarg, NULL, 10);
			break;
		case 'p':
			padlen = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			rate = strtod(optarg, NULL);
			break;
		case 'S':
			source = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 't':
			timeout = atoi(optarg);
			break;
		case 'T':
			type = optarg;
			break;
		case 'w':
			window = strtoull(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: auditstream [-b sandbox] "
			    "[-n events] [-p padbytes] [-r rate] [-S source] "
			    "[-s socket] [-t timeout] [-T type] [-w window]\n");
			return 2;
		}
	}
	if (total == 0 || window == 0 || padlen > 3000)
		fatalx("need -n > 0, -w > 0, -p <= 3000");
	log_init(1, 0);
	log_procinit("auditstream");
	if ((pad = malloc(padlen + 1)) == NULL ||
	    (sent_at = calloc(total, sizeof(double))) == NULL ||
	    (lat = calloc(total, sizeof(double))) == NULL)
		fatal("malloc");
	memset(pad, 'x', padlen);
	pad[padlen] = '\0';
	if (timeout)
		deadline = time(NULL) + timeout;

	event_init();
	if ((ac = auditc_new(sock, source, cb, NULL)) == NULL)
		fatal("auditc_new");
	evtimer_set(&ev_tick, tick, NULL);
	evtimer_add(&ev_tick, &tv);
	t0 = now();
	fill();
	event_dispatch();
	el = now() - t0;
	qsort(lat, total, sizeof(double), cmpd);
	printf("events %llu seconds %.3f rate %.0f p50_us %.0f p99_us %.0f\n",
	    (unsigned long long)total, el, total / el,
	    lat[total / 2] * 1e6, lat[(size_t)(total * 0.99)] * 1e6);
	auditc_free(ac);
	return 0;
}
