/*
 * Unit test of lensvmm/guest/vmconf.c, the lens.* words of a microVM's
 * kernel command line (TAP).  lens-init is built apart (static, no
 * libcommon), so the source is compiled in here.
 */
#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>

#include "../../lensvmm/guest/vmconf.c"

struct example {
	const char	*line;
	const char	*err;	/* NULL: accepted; else a part of the message */
	const char	*ip;	/* accepted: lens.ip, or NULL */
	int		 prefix;
	const char	*gw;
	int		 mtu;
	const char	*host;
	int		 timeout;
	int		 verbose;
	const char	*what;
};

static const struct example examples[] = {
	{ "console=ttyS0 panic=-1 reboot=t", NULL, NULL, 0, NULL, 0, "",
	    VM_TIMEOUT_S, 0, "no lens words: defaults" },
	{ "console=ttyS0 lens.ip=198.18.0.2/30 lens.gw=198.18.0.1 "
	    "lens.mtu=1400 lens.hostname=box lens.timeout=3 lens.verbose\n",
	    NULL, "198.18.0.2", 30, "198.18.0.1", 1400, "box", 3, 1,
	    "every key, /proc/cmdline's newline" },
	{ "\"lens.hostname=a-b.c\" lens.verbose=0", NULL, NULL, 0, NULL, 0,
	    "a-b.c", VM_TIMEOUT_S, 0, "a quoted word, verbose=0" },
	{ "lens.ip=10.0.0.2/32 lens.gw=10.9.9.9", NULL, "10.0.0.2", 32,
	    "10.9.9.9", 0, "", VM_TIMEOUT_S, 0, "a /32 with any gateway" },
	{ "lens.mode=vm lens.rootfstype=erofs -- lens.ip=bad", NULL, NULL, 0,
	    NULL, 0, "", VM_TIMEOUT_S, 0, "-- ends the kernel's words" },
	{ "lensip=1 xlens.ip=bad", NULL, NULL, 0, NULL, 0, "", VM_TIMEOUT_S,
	    0, "other words that only look alike" },

	{ "lens.ip=198.18.0.300/24", "lens.ip: bad value \"198.18.0.300/24\"",
	    NULL, 0, NULL, 0, NULL, 0, 0, "address out of range" },
	{ "lens.ip=198.18.0.2", "lens.ip: bad value", NULL, 0, NULL, 0, NULL,
	    0, 0, "address without a prefix" },
	{ "lens.ip=198.18.0.2/33", "lens.ip: bad value", NULL, 0, NULL, 0,
	    NULL, 0, 0, "prefix 33" },
	{ "lens.ip=198.18.0.2/0", "lens.ip: bad value", NULL, 0, NULL, 0,
	    NULL, 0, 0, "prefix 0" },
	{ "lens.ip=198.18.0.2/+8", "lens.ip: bad value", NULL, 0, NULL, 0,
	    NULL, 0, 0, "a signed prefix" },
	{ "lens.ip=1.2.3/8", "lens.ip: bad value", NULL, 0, NULL, 0, NULL, 0,
	    0, "three parts" },
	{ "lens.gw=198.18.0.1", "lens.gw without lens.ip", NULL, 0, NULL, 0,
	    NULL, 0, 0, "gateway alone" },
	{ "lens.ip=198.18.0.2/30 lens.gw=198.18.0.9",
	    "lens.gw is not in the lens.ip network", NULL, 0, NULL, 0, NULL, 0,
	    0, "gateway outside the network" },
	{ "lens.mtu=67", "lens.mtu: bad value \"67\"", NULL, 0, NULL, 0, NULL,
	    0, 0, "mtu too small" },
	{ "lens.mtu=65536", "lens.mtu: bad value", NULL, 0, NULL, 0, NULL, 0,
	    0, "mtu too large" },
	{ "lens.mtu=1500x", "lens.mtu: bad value", NULL, 0, NULL, 0, NULL, 0,
	    0, "mtu with a suffix" },
	{ "lens.hostname=-x", "lens.hostname: bad value", NULL, 0, NULL, 0,
	    NULL, 0, 0, "hostname starting with a dash" },
	{ "lens.hostname=a_b", "lens.hostname: bad value", NULL, 0, NULL, 0,
	    NULL, 0, 0, "hostname with an underscore" },
	{ "lens.hostname=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaa", "lens.hostname: bad value", NULL, 0, NULL, 0,
	    NULL, 0, 0, "hostname of 65 bytes" },
	{ "lens.timeout=0", "lens.timeout: bad value", NULL, 0, NULL, 0, NULL,
	    0, 0, "timeout 0" },
	{ "lens.rootfstype=xfs", "lens.rootfstype: bad value \"xfs\"", NULL,
	    0, NULL, 0, NULL, 0, 0, "rootfs type xfs" },
	{ "lens.mode=jail", "lens.mode: bad value", NULL, 0, NULL, 0, NULL, 0,
	    0, "mode other than vm" },
	{ "lens.verbose=2", "lens.verbose: bad value", NULL, 0, NULL, 0,
	    NULL, 0, 0, "verbose=2" },
	{ "lens.ip", "lens.ip: a value is needed", NULL, 0, NULL, 0, NULL, 0,
	    0, "a key without a value" },
	{ "lens.nosuch=1", "unknown key lens.nosuch", NULL, 0, NULL, 0, NULL,
	    0, 0, "an unknown key" },
};

static int	 tests_run, tests_failed;

static void
ok(int cond, const char *desc, const char *got)
{
	tests_run++;
	if (!cond)
		tests_failed++;
	printf("%sok %d - %s%s%s%s\n", cond ? "" : "not ", tests_run, desc,
	    got[0] ? " (" : "", got, got[0] ? ")" : "");
}

static int
addr_is(int has, struct in_addr a, const char *want)
{
	char	 buf[INET_ADDRSTRLEN];

	if (want == NULL)
		return !has;
	return has && inet_ntop(AF_INET, &a, buf, sizeof(buf)) != NULL &&
	    strcmp(buf, want) == 0;
}

int
main(void)
{
	const struct example	*e;
	struct vmconf		 vc;
	char			 err[256], big[VM_CMDLINE_MAX + 2];
	size_t			 i, n = sizeof(examples) / sizeof(examples[0]);
	int			 r, good;

	printf("1..%zu\n", n + 2);
	for (i = 0; i < n; i++) {
		e = &examples[i];
		r = vmconf_parse(&vc, e->line, strlen(e->line), err,
		    sizeof(err));
		if (e->err != NULL)
			good = r == -1 && strstr(err, e->err) != NULL;
		else
			good = r == 0 && err[0] == '\0' &&
			    addr_is(vc.has_ip, vc.ip, e->ip) &&
			    (e->ip == NULL || vc.prefix == e->prefix) &&
			    addr_is(vc.has_gw, vc.gw, e->gw) &&
			    vc.mtu == e->mtu &&
			    strcmp(vc.hostname, e->host) == 0 &&
			    vc.timeout_s == e->timeout &&
			    vc.verbose == e->verbose;
		ok(good, e->what, err);
	}

	/* a word longer than the parser's buffer: named, refused */
	memset(big, 'x', 300);
	memcpy(big, "lens.hostname=", 14);
	r = vmconf_parse(&vc, big, 300, err, sizeof(err));
	ok(r == -1 && strstr(err, "longer than") != NULL,
	    "an overlong lens word", err);
	memset(big, ' ', sizeof(big));
	r = vmconf_parse(&vc, big, sizeof(big), err, sizeof(err));
	ok(r == -1 && strstr(err, "more than") != NULL,
	    "a command line longer than the kernel's", err);
	return tests_failed != 0 || tests_run != (int)n + 2;
}
