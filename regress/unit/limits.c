/*
 * Unit test of lensnetd/limits.c (TAP): the per-sandbox limits'
 * options (-c, -l, -r: ranges, garbage, the burst's default and
 * bounds, messages naming option and value), the token bucket (a full
 * burst at first, then the rate, never above the burst, a clock that
 * goes back) and the net.limit details.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lensnetd.h"
#include "tap.h"

static int
bad(int opt, const char *arg, const char *want)
{
	struct netd_limits	 l = netd_limits, before = netd_limits;
	char			 err[256] = "";

	return limits_option(&l, opt, arg, err, sizeof(err)) == -1 &&
	    strncmp(err, want, strlen(want)) == 0 &&
	    memcmp(&l, &before, sizeof(l)) == 0;
}

int
main(void)
{
	struct netd_limits	 l = netd_limits;
	struct tbucket		 tb;
	char			 err[256];
	json_t			*j;
	char			*s;
	int			 i, n;

	tap_plan(21);
	ok(l.conns == 256 && l.lookups == 64 && l.rate == 100 &&
	    l.burst == 200, "defaults: 256 connections, 64 lookups, 100/s "
	    "with a burst of 200");
	ok(limits_option(&l, 'c', "1", err, sizeof(err)) == 0 &&
	    l.conns == 1, "-c 1");
	ok(limits_option(&l, 'c', "65536", err, sizeof(err)) == 0 &&
	    l.conns == 65536, "-c 65536");
	ok(bad('c', "0", "-c 0: need the connections"), "-c 0 refused");
	ok(bad('c', "65537", "-c 65537: need"), "-c 65537 refused");
	ok(bad('c', "", "-c : need"), "-c '' refused");
	ok(bad('c', "+5", "-c +5: need") && bad('c', " 5", "-c  5: need") &&
	    bad('c', "5 ", "-c 5 : need") && bad('c', "-5", "-c -5: need") &&
	    bad('c', "0x10", "-c 0x10: need"),
	    "-c with a sign, blanks or hex refused");
	ok(bad('c', "99999999999999999999999", "-c 9"), "-c overflowing refused");
	ok(limits_option(&l, 'l', "256", err, sizeof(err)) == 0 &&
	    l.lookups == 256, "-l 256");
	ok(bad('l', "257", "-l 257: need the DNS lookups"), "-l 257 refused");
	ok(limits_option(&l, 'r', "7", err, sizeof(err)) == 0 &&
	    l.rate == 7 && l.burst == 14, "-r 7: burst 14");
	ok(limits_option(&l, 'r', "7:7", err, sizeof(err)) == 0 &&
	    l.rate == 7 && l.burst == 7, "-r 7:7");
	ok(limits_option(&l, 'r', "100000", err, sizeof(err)) == 0 &&
	    l.rate == 100000 && l.burst == 200000, "-r 100000");
	ok(bad('r', "7:6", "-r 7:6: need RATE[:BURST]") &&
	    bad('r', "7:", "-r 7:: need") && bad('r', ":7", "-r :7: need") &&
	    bad('r', "0", "-r 0: need") && bad('r', "7:8:9", "-r 7:8:9: need") &&
	    bad('r', "7:1000001", "-r 7:1000001: need"),
	    "-r with a burst under the rate, empty parts, 0, too much refused");
	ok(bad('x', "1", "-x: not a limit"), "another option is not a limit");

	memset(&tb, 0, sizeof(tb));
	for (n = 0, i = 0; i < 50; i++)
		n += tbucket_take(&tb, 10, 20, 1000) == 0;
	ok(n == 20, "a fresh bucket gives its burst at once (%d of 50)", n);
	ok(tbucket_take(&tb, 10, 20, 1099) == -1 &&
	    tbucket_take(&tb, 10, 20, 1100) == 0 &&
	    tbucket_take(&tb, 10, 20, 1100) == -1,
	    "then one token each 100 ms at 10/s");
	for (n = 0, i = 0; i < 50; i++)
		n += tbucket_take(&tb, 10, 20, 100000) == 0;
	ok(n == 20, "a long pause refills no more than the burst (%d)", n);
	ok(tbucket_take(&tb, 10, 20, 5000) == 0,
	    "a clock that goes back starts over, full");
	memset(&tb, 0, sizeof(tb));
	for (n = 0, i = 0; i < 10000; i++)
		n += tbucket_take(&tb, 100, 200, 1000 + i) == 0;
	ok(n >= 200 + 998 && n <= 200 + 1000,
	    "100/s with a burst of 200 over 10 s: %d", n);

	j = limit_event("abc", "dns-lookups", 64, 12345);
	s = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	ok(s != NULL && strstr(s, "\"limit\":\"dns-lookups\"") != NULL &&
	    strstr(s, "\"max\":64") != NULL &&
	    strstr(s, "\"refused\":12345") != NULL &&
	    strstr(s, "\"sandbox\":\"abc\"") != NULL &&
	    strstr(s, "\"interval_s\":1") != NULL,
	    "net.limit details: %s", s != NULL ? s : "(none)");
	free(s);
	json_decref(j);
	return tap_done();
}
