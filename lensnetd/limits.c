/*
 * lensnetd's per-sandbox limits: one sandbox must not deny service to
 * another.  The parent sets netd_limits from its options before it
 * forks the children, which read it: the proxy caps each sandbox's
 * open connections and the rate of its new ones (a token bucket), the
 * dns child the upstream lookups each sandbox has in flight or waiting
 * (the proxy's own resolves counted to the sandbox that caused them).
 * A refusal is counted, and the counts go out as one net.limit event
 * per sandbox and limit each second (limit_event()).
 */
#include <sys/types.h>

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lensnetd.h"

struct netd_limits	 netd_limits = {
	.conns = NETD_LIM_CONNS,
	.lookups = NETD_LIM_LOOKUPS,
	.rate = NETD_LIM_RATE,
	.burst = NETD_LIM_BURST,
};

/* a decimal number in [min, max], nothing else; -1 otherwise */
static long long
number(const char *s, long long min, long long max)
{
	char		*end;
	long long	 v;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	return v;
}

int
limits_option(struct netd_limits *lim, int opt, const char *arg, char *err,
    size_t errlen)
{
	long long	 v, b;
	char		 buf[64], *colon;

	switch (opt) {
	case 'c':
		if ((v = number(arg, 1, NETD_LIM_CONNS_MAX)) == -1) {
			snprintf(err, errlen, "-c %s: need the connections one "
			    "sandbox may hold open, 1 to %d", arg,
			    NETD_LIM_CONNS_MAX);
			return -1;
		}
		lim->conns = v;
		return 0;
	case 'l':
		if ((v = number(arg, 1, NETD_LIM_LOOKUPS_MAX)) == -1) {
			snprintf(err, errlen, "-l %s: need the DNS lookups one "
			    "sandbox may have in flight, 1 to %d", arg,
			    NETD_LIM_LOOKUPS_MAX);
			return -1;
		}
		lim->lookups = v;
		return 0;
	case 'r':
		if (strlcpy(buf, arg, sizeof(buf)) >= sizeof(buf))
			goto badrate;
		if ((colon = strchr(buf, ':')) != NULL)
			*colon++ = '\0';
		if ((v = number(buf, 1, NETD_LIM_RATE_MAX)) == -1)
			goto badrate;
		b = v * 2 > NETD_LIM_BURST_MAX ? NETD_LIM_BURST_MAX : v * 2;
		if (colon != NULL &&
		    (b = number(colon, v, NETD_LIM_BURST_MAX)) == -1)
			goto badrate;
		lim->rate = v;
		lim->burst = b;
		return 0;
 badrate:
		snprintf(err, errlen, "-r %s: need RATE[:BURST], the new "
		    "connections one sandbox may open each second (1 to %d) "
		    "and at once (RATE to %d)", arg, NETD_LIM_RATE_MAX,
		    NETD_LIM_BURST_MAX);
		return -1;
	}
	snprintf(err, errlen, "-%c: not a limit", opt);
	return -1;
}

int
tbucket_take(struct tbucket *tb, unsigned int rate, unsigned int burst,
    uint64_t now_ms)
{
	uint64_t	 full = (uint64_t)burst * 1000;

	if (tb->last_ms == 0 || now_ms < tb->last_ms)
		tb->milli = full;
	else if (tb->milli < full) {
		/* ms times tokens/s: thousandths of a token */
		tb->milli += (now_ms - tb->last_ms) * rate;
		if (tb->milli > full)
			tb->milli = full;
	}
	tb->last_ms = now_ms;
	if (tb->milli < 1000)
		return -1;
	tb->milli -= 1000;
	return 0;
}

json_t *
limit_event(const char *sandbox, const char *limit, unsigned int max,
    uint64_t refused)
{
	return json_pack("{s:s,s:s,s:I,s:I,s:i,s:s}", "sandbox", sandbox,
	    "limit", limit, "max", (json_int_t)max,
	    "refused", (json_int_t)refused, "interval_s", 1,
	    "reason", "per-sandbox limit reached: refused at once");
}
