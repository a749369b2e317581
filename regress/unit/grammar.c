/*
 * Unit test of common/grammar.c (TAP): every parser with the values it
 * must take and the ones it must refuse, each refusal with the exact
 * message (field, value, reason): sizes (units, overflow, leading zero,
 * junk after the unit, the bounds), CPUs, counts, ports (0, 65535,
 * 65536), published ports (IPv4, IPv6, /udp), volumes (modes, paths
 * into /proc and /dev however spelt) and names, references and ids.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "grammar.h"
#include "tap.h"

#define NSIZE	(sizeof(sizes) / sizeof(sizes[0]))
#define NCPU	(sizeof(cpus) / sizeof(cpus[0]))
#define NUINT	(sizeof(uints) / sizeof(uints[0]))
#define NPORT	(sizeof(ports) / sizeof(ports[0]))
#define NPUB	(sizeof(pubs) / sizeof(pubs[0]))
#define NVOL	(sizeof(vols) / sizeof(vols[0]))
#define NNAME	(sizeof(names) / sizeof(names[0]))

#define MEM	GR_MEMORY_MIN, GR_MEMORY_MAX
#define ANY	0, UINT64_MAX

/* ok if err is NULL and the parser took it, or it refused with err */
static int
check(char *what, int r, const char *got, const char *err)
{
	char	*p, d[512];

	for (p = what; *p != '\0'; p++)	/* one line of TAP */
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	if (err == NULL) {
		snprintf(d, sizeof(d), "refused: %s", got);
		return ok_detail(r == 0, what, r == 0 ? NULL : d);
	}
	snprintf(d, sizeof(d), "got %s: \"%s\"", r == 0 ? "accepted" : "-1",
	    r == 0 ? "" : got);
	return ok_detail(r == -1 && strcmp(got, err) == 0, what, d);
}

static const struct {
	const char	*s;
	uint64_t	 min, max, v;
	const char	*err;
} sizes[] = {
	{ "4G", ANY, 4ULL << 30, NULL },
	{ "512M", ANY, 512ULL << 20, NULL },
	{ "100", ANY, 100, NULL },
	{ "1k", ANY, 1024, NULL },
	{ "2GiB", ANY, 2ULL << 30, NULL },
	{ "3gb", ANY, 3ULL << 30, NULL },
	{ "7B", ANY, 7, NULL },
	{ "0", ANY, 0, NULL },
	{ "18446744073709551615", ANY, UINT64_MAX, NULL },
	{ "16777215t", ANY, 16777215ULL << 40, NULL },
	{ "2t", MEM, 2ULL << 40, NULL },
	{ "1024t", MEM, 1ULL << 50, NULL },
	{ "4m", MEM, 4ULL << 20, NULL },
	{ "4194304", MEM, 4ULL << 20, NULL },
	{ "", MEM, 0, "f \"\": not a size (like 512m or 2g)" },
	{ "G", MEM, 0, "f G: not a size (like 512m or 2g)" },
	{ "-1", MEM, 0, "f -1: not a size (like 512m or 2g)" },
	{ "+4m", MEM, 0, "f +4m: not a size (like 512m or 2g)" },
	{ " 4G", MEM, 0, "f \" 4G\": not a size (like 512m or 2g)" },
	{ "0512m", MEM, 0, "f 0512m: leading zero" },
	{ "00", ANY, 0, "f 00: leading zero" },
	{ "4X", MEM, 0, "f 4X: unknown unit (b, k, m, g or t)" },
	{ "4GB1", MEM, 0, "f 4GB1: unknown unit (b, k, m, g or t)" },
	{ "4kbb", MEM, 0, "f 4kbb: unknown unit (b, k, m, g or t)" },
	{ "4ki", MEM, 0, "f 4ki: unknown unit (b, k, m, g or t)" },
	{ "4.5g", MEM, 0, "f 4.5g: unknown unit (b, k, m, g or t)" },
	{ "4g ", MEM, 0, "f \"4g \": unknown unit (b, k, m, g or t)" },
	{ "4p", MEM, 0, "f 4p: unknown unit (b, k, m, g or t)" },
	{ "18446744073709551616", ANY, 0, "f 18446744073709551616: too "
	    "large" },
	{ "99999999999999999999999", ANY, 0, "f 99999999999999999999999: "
	    "too large" },
	{ "16777216t", ANY, 0, "f 16777216t: too large" },
	{ "17179869184G", ANY, 0, "f 17179869184G: too large" },
	{ "1025t", MEM, 0, "f 1025t: too large (at most 1024t)" },
	{ "99999999999999g", MEM, 0, "f 99999999999999g: too large (at most "
	    "1024t)" },
	{ "0", MEM, 0, "f 0: too small (at least 4m)" },
	{ "4194303", MEM, 0, "f 4194303: too small (at least 4m)" },
	{ "4095k", MEM, 0, "f 4095k: too small (at least 4m)" },
};

static const struct {
	const char	*s;
	uint32_t	 v;
	const char	*err;
} cpus[] = {
	{ "1", 1000, NULL },
	{ "1.5", 1500, NULL },
	{ ".25", 250, NULL },
	{ "2.", 2000, NULL },
	{ "0.001", 1, NULL },
	{ "0.5", 500, NULL },
	{ "1024", 1024000, NULL },
	{ "1024.000", 1024000, NULL },
	{ "", 0, "c \"\": not a number of CPUs (like 1 or 1.5)" },
	{ ".", 0, "c .: not a number of CPUs (like 1 or 1.5)" },
	{ "-1", 0, "c -1: not a number of CPUs (like 1 or 1.5)" },
	{ "01", 0, "c 01: not a number of CPUs (like 1 or 1.5)" },
	{ "1e3", 0, "c 1e3: not a number of CPUs (like 1 or 1.5)" },
	{ "1.5x", 0, "c 1.5x: not a number of CPUs (like 1 or 1.5)" },
	{ "1..5", 0, "c 1..5: not a number of CPUs (like 1 or 1.5)" },
	{ " 1", 0, "c \" 1\": not a number of CPUs (like 1 or 1.5)" },
	{ "1.2345", 0, "c 1.2345: at most 3 decimals" },
	{ "0.0005", 0, "c 0.0005: at most 3 decimals" },
	{ "0", 0, "c 0: out of range (0.001 to 1024)" },
	{ "0.000", 0, "c 0.000: out of range (0.001 to 1024)" },
	{ "1024.001", 0, "c 1024.001: out of range (0.001 to 1024)" },
	{ "1025", 0, "c 1025: out of range (0.001 to 1024)" },
	{ "99999999999999999999999", 0, "c 99999999999999999999999: out of "
	    "range (0.001 to 1024)" },
};

static const struct {
	const char	*s;
	uint64_t	 v;
	const char	*err;
} uints[] = {
	{ "1", 1, NULL },
	{ "4194304", 4194304, NULL },
	{ "0", 0, "n 0: out of range (1 to 4194304)" },
	{ "4194305", 0, "n 4194305: out of range (1 to 4194304)" },
	{ "99999999999999999999999", 0, "n 99999999999999999999999: out of "
	    "range (1 to 4194304)" },
	{ "", 0, "n \"\": not a number" },
	{ "01", 0, "n 01: not a number" },
	{ "+1", 0, "n +1: not a number" },
	{ "1 ", 0, "n \"1 \": not a number" },
	{ "0x10", 0, "n 0x10: not a number" },
};

static const struct {
	const char	*s;
	size_t		 len;
	int		 v;
} ports[] = {
	{ "1", 1, 1 }, { "80", 2, 80 }, { "65535", 5, 65535 },
	{ "80x", 2, 80 },
	{ "0", 1, -1 }, { "65536", 5, -1 }, { "99999", 5, -1 },
	{ "123456", 6, -1 }, { "", 0, -1 }, { "08", 2, -1 }, { "8a", 2, -1 },
	{ "-1", 2, -1 }, { "+1", 2, -1 }, { " 1", 2, -1 },
};

static const struct {
	const char	*spec, *addr;
	uint16_t	 hostport, port;
	const char	*err;
} pubs[] = {
	{ "8080:80", "127.0.0.1", 8080, 80, NULL },
	{ "8080:80/tcp", "127.0.0.1", 8080, 80, NULL },
	{ "0.0.0.0:8443:443/tcp", "0.0.0.0", 8443, 443, NULL },
	{ "10.1.2.3:1:65535", "10.1.2.3", 1, 65535, NULL },
	{ "[::1]:9000:90", "::1", 9000, 90, NULL },
	{ "[2001:DB8:0::1]:80:80", "2001:db8::1", 80, 80, NULL },
	{ "[::ffff:1.2.3.4]:80:80/tcp", "::ffff:1.2.3.4", 80, 80, NULL },
	{ "70000:80", NULL, 0, 0, "-p 70000:80: host port \"70000\" is not "
	    "a number from 1 to 65535" },
	{ "65536:80", NULL, 0, 0, "-p 65536:80: host port \"65536\" is not "
	    "a number from 1 to 65535" },
	{ "8080:65536", NULL, 0, 0, "-p 8080:65536: sandbox port \"65536\" "
	    "is not a number from 1 to 65535" },
	{ "a:b:c:d", NULL, 0, 0, "-p a:b:c:d: expected [ADDR:]HOSTPORT:PORT"
	    "[/tcp] (IPv6 addresses in brackets)" },
	{ "8080:80/udp", NULL, 0, 0, "-p 8080:80/udp: protocol \"udp\" is "
	    "not supported (only tcp)" },
	{ "8080:80/TCP", NULL, 0, 0, "-p 8080:80/TCP: protocol \"TCP\" is "
	    "not supported (only tcp)" },
	{ "8080:80/tcp/tcp", NULL, 0, 0, "-p 8080:80/tcp/tcp: protocol "
	    "\"tcp/tcp\" is not supported (only tcp)" },
	{ "8080:80/", NULL, 0, 0, "-p 8080:80/: protocol \"\" is not "
	    "supported (only tcp)" },
	{ "80", NULL, 0, 0, "-p 80: expected [ADDR:]HOSTPORT:PORT[/tcp]" },
	{ "", NULL, 0, 0, "-p \"\": expected [ADDR:]HOSTPORT:PORT[/tcp]" },
	{ ":80", NULL, 0, 0, "-p :80: host port \"\" is not a number from 1 "
	    "to 65535" },
	{ "80:", NULL, 0, 0, "-p 80:: sandbox port \"\" is not a number "
	    "from 1 to 65535" },
	{ "0:80", NULL, 0, 0, "-p 0:80: host port \"0\" is not a number "
	    "from 1 to 65535" },
	{ "80:0", NULL, 0, 0, "-p 80:0: sandbox port \"0\" is not a number "
	    "from 1 to 65535" },
	{ "080:80", NULL, 0, 0, "-p 080:80: host port \"080\" is not a "
	    "number from 1 to 65535" },
	{ "-1:80", NULL, 0, 0, "-p -1:80: host port \"-1\" is not a number "
	    "from 1 to 65535" },
	{ "1.2.3:80:80", NULL, 0, 0, "-p 1.2.3:80:80: \"1.2.3\" is not an "
	    "IPv4 address (IPv6 in brackets)" },
	{ "localhost:80:80", NULL, 0, 0, "-p localhost:80:80: \"localhost\" "
	    "is not an IPv4 address (IPv6 in brackets)" },
	{ "::1:80:80", NULL, 0, 0, "-p ::1:80:80: expected [ADDR:]HOSTPORT:"
	    "PORT[/tcp] (IPv6 addresses in brackets)" },
	{ "[::1:80:80", NULL, 0, 0, "-p [::1:80:80: expected [IPv6]:"
	    "HOSTPORT:PORT" },
	{ "[1.2.3.4]:80:80", NULL, 0, 0, "-p [1.2.3.4]:80:80: \"1.2.3.4\" "
	    "is not an IPv6 address" },
	{ "[fe80::1%eth0]:80:80", NULL, 0, 0, "-p [fe80::1%eth0]:80:80: "
	    "\"fe80::1%eth0\" is not an IPv6 address" },
	{ "[::1]:80", NULL, 0, 0, "-p [::1]:80: expected [ADDR:]HOSTPORT:"
	    "PORT[/tcp]" },
	{ "8080:80/\001", NULL, 0, 0, "-p \"8080:80/\\x01\": a control "
	    "character" },
	{ "1.2.3.4:80:80:80", NULL, 0, 0, "-p 1.2.3.4:80:80:80: expected "
	    "[ADDR:]HOSTPORT:PORT[/tcp] (IPv6 addresses in brackets)" },
};

static const struct {
	const char	*spec, *src, *dst;
	int		 ro;
	const char	*err;
} vols[] = {
	{ "/a:/b", "/a", "/b", 0, NULL },
	{ "/a:/b:ro", "/a", "/b", 1, NULL },
	{ "/a:/b:rw", "/a", "/b", 0, NULL },
	{ "//a//b/:/c//d/", "/a/b", "/c/d", 0, NULL },
	{ "/:/mnt", "/", "/mnt", 0, NULL },
	{ "/a:/procfs", "/a", "/procfs", 0, NULL },
	{ "/a:/devices/x", "/a", "/devices/x", 0, NULL },
	{ "/a:/b/proc", "/a", "/b/proc", 0, NULL },
	{ "/a:/.x/..y", "/a", "/.x/..y", 0, NULL },
	{ "/tmp", NULL, NULL, 0, "-v /tmp: not SRC:DST[:ro|:rw]" },
	{ "", NULL, NULL, 0, "-v \"\": not SRC:DST[:ro|:rw]" },
	{ "tmp:/x", NULL, NULL, 0, "-v tmp:/x: host path \"tmp\" is not "
	    "absolute" },
	{ ":/x", NULL, NULL, 0, "-v :/x: host path \"\" is not absolute" },
	{ "/tmp:x", NULL, NULL, 0, "-v /tmp:x: sandbox path \"x\" is not "
	    "absolute" },
	{ "/tmp:", NULL, NULL, 0, "-v /tmp:: sandbox path \"\" is not "
	    "absolute" },
	{ "/tmp:/x:rx", NULL, NULL, 0, "-v /tmp:/x:rx: unknown mode \"rx\" "
	    "(ro or rw)" },
	{ "/tmp:/x:", NULL, NULL, 0, "-v /tmp:/x:: unknown mode \"\" (ro or "
	    "rw)" },
	{ "/tmp:/x:RO", NULL, NULL, 0, "-v /tmp:/x:RO: unknown mode \"RO\" "
	    "(ro or rw)" },
	{ "/tmp:/x:ro:rw", NULL, NULL, 0, "-v /tmp:/x:ro:rw: unknown mode "
	    "\"ro:rw\" (ro or rw)" },
	{ "/tmp:/", NULL, NULL, 0, "-v /tmp:/: sandbox path \"/\" is /, or "
	    "in /proc or /dev" },
	{ "/tmp:///", NULL, NULL, 0, "-v /tmp:///: sandbox path \"/\" is /, "
	    "or in /proc or /dev" },
	{ "/tmp:/proc", NULL, NULL, 0, "-v /tmp:/proc: sandbox path "
	    "\"/proc\" is /, or in /proc or /dev" },
	{ "/tmp://proc", NULL, NULL, 0, "-v /tmp://proc: sandbox path "
	    "\"/proc\" is /, or in /proc or /dev" },
	{ "/tmp:/proc/sys/", NULL, NULL, 0, "-v /tmp:/proc/sys/: sandbox "
	    "path \"/proc/sys\" is /, or in /proc or /dev" },
	{ "/tmp:/dev", NULL, NULL, 0, "-v /tmp:/dev: sandbox path \"/dev\" "
	    "is /, or in /proc or /dev" },
	{ "/tmp://dev//", NULL, NULL, 0, "-v /tmp://dev//: sandbox path "
	    "\"/dev\" is /, or in /proc or /dev" },
	{ "/tmp:/a/../proc", NULL, NULL, 0, "-v /tmp:/a/../proc: sandbox "
	    "path \"/a/../proc\" has a . or .. component" },
	{ "/tmp:/a/./b", NULL, NULL, 0, "-v /tmp:/a/./b: sandbox path "
	    "\"/a/./b\" has a . or .. component" },
	{ "/tmp:/a/..", NULL, NULL, 0, "-v /tmp:/a/..: sandbox path "
	    "\"/a/..\" has a . or .. component" },
	{ "/..:/a", NULL, NULL, 0, "-v /..:/a: host path \"/..\" has a . or "
	    ".. component" },
	{ "/tmp:/a\nb", NULL, NULL, 0, "-v \"/tmp:/a\\x0ab\": a control "
	    "character" },
	{ "/a\x7f:/b", NULL, NULL, 0, "-v \"/a\\x7f:/b\": a control "
	    "character" },
};

static const struct {
	int		 ref;	/* 0 gr_name, 1 gr_ref */
	const char	*s, *err;
} names[] = {
	{ 0, "a", NULL },
	{ 0, "ok-1", NULL },
	{ 0, "A.b_c-", NULL },
	{ 0, "", "--name \"\": not a sandbox name (1 to 63 letters, digits, "
	    "'_', '-' or '.', starting with a letter or digit)" },
	{ 0, "-a", "--name -a: not a sandbox name (1 to 63 letters, digits, "
	    "'_', '-' or '.', starting with a letter or digit)" },
	{ 0, ".a", "--name .a: not a sandbox name (1 to 63 letters, digits, "
	    "'_', '-' or '.', starting with a letter or digit)" },
	{ 0, "a/b", "--name a/b: not a sandbox name (1 to 63 letters, "
	    "digits, '_', '-' or '.', starting with a letter or digit)" },
	{ 0, "a b", "--name \"a b\": not a sandbox name (1 to 63 letters, "
	    "digits, '_', '-' or '.', starting with a letter or digit)" },
	{ 0, "caf\xc3\xa9", "--name \"caf\\xc3\\xa9\": not a sandbox name (1 "
	    "to 63 letters, digits, '_', '-' or '.', starting with a letter "
	    "or digit)" },
	{ 1, "a", NULL },
	{ 1, "", "--name \"\": not a sandbox id or name (1 to 64 letters, "
	    "digits, '_', '-' or '.', starting with a letter or digit)" },
	{ 1, "..", "--name ..: not a sandbox id or name (1 to 64 letters, "
	    "digits, '_', '-' or '.', starting with a letter or digit)" },
};

static void
test_sizes(void)
{
	char		 err[GR_ERRSIZE], what[128];
	uint64_t	 v;
	size_t		 i;
	int		 r;

	for (i = 0; i < NSIZE; i++) {
		v = 12345;
		err[0] = '\0';
		r = gr_size("f", sizes[i].s, sizes[i].min, sizes[i].max, &v,
		    err, sizeof(err));
		snprintf(what, sizeof(what), "size \"%s\" %s", sizes[i].s,
		    sizes[i].err ? "refused" : "taken");
		if (sizes[i].err == NULL && r == 0 && v != sizes[i].v)
			r = -1;
		check(what, r, err, sizes[i].err);
	}
}

static void
test_cpus(void)
{
	char		 err[GR_ERRSIZE], what[128];
	uint32_t	 v;
	size_t		 i;
	int		 r;

	for (i = 0; i < NCPU; i++) {
		v = 12345;
		err[0] = '\0';
		r = gr_cpus("c", cpus[i].s, &v, err, sizeof(err));
		snprintf(what, sizeof(what), "cpus \"%s\" %s", cpus[i].s,
		    cpus[i].err ? "refused" : "taken");
		if (cpus[i].err == NULL && r == 0 && v != cpus[i].v)
			r = -1;
		check(what, r, err, cpus[i].err);
	}
}

static void
test_uints(void)
{
	char		 err[GR_ERRSIZE], what[128];
	uint64_t	 v;
	size_t		 i;
	int		 r;

	for (i = 0; i < NUINT; i++) {
		v = 12345;
		err[0] = '\0';
		r = gr_uint("n", uints[i].s, 1, GR_PIDS_MAX, &v, err,
		    sizeof(err));
		snprintf(what, sizeof(what), "count \"%s\" %s", uints[i].s,
		    uints[i].err ? "refused" : "taken");
		if (uints[i].err == NULL && r == 0 && v != uints[i].v)
			r = -1;
		check(what, r, err, uints[i].err);
	}
}

static void
test_ports(void)
{
	size_t	 i;
	int	 r;

	for (i = 0; i < NPORT; i++) {
		r = gr_port(ports[i].s, ports[i].len);
		ok(r == ports[i].v, "port \"%.*s\" is %d (got %d)",
		    (int)ports[i].len, ports[i].s, ports[i].v, r);
	}
}

static void
test_publish(void)
{
	struct gr_publish	 pp;
	char			 err[GR_ERRSIZE], what[128], spec[200];
	size_t			 i;
	int			 r;

	for (i = 0; i < NPUB; i++) {
		err[0] = '\0';
		r = gr_publish("-p", pubs[i].spec, &pp, err, sizeof(err));
		snprintf(what, sizeof(what), "publish \"%s\" %s", pubs[i].spec,
		    pubs[i].err ? "refused" : "taken");
		if (pubs[i].err == NULL && r == 0 &&
		    (strcmp(pp.addr, pubs[i].addr) != 0 ||
		    pp.hostport != pubs[i].hostport ||
		    pp.port != pubs[i].port || pp.proto != IPPROTO_TCP)) {
			snprintf(err, sizeof(err), "%s %u %u", pp.addr,
			    pp.hostport, pp.port);
			r = -1;
		}
		check(what, r, err, pubs[i].err);
	}
	memset(spec, '1', sizeof(spec));
	spec[GR_SPEC_MAX] = '\0';
	r = gr_publish("-p", spec, &pp, err, sizeof(err));
	ok_detail(r == -1 && strstr(err, "longer than") == NULL,
	    "publish: 127 characters are judged by their form", err);
	spec[GR_SPEC_MAX] = '1';
	spec[GR_SPEC_MAX + 1] = '\0';
	r = gr_publish("-p", spec, &pp, err, sizeof(err));
	ok_detail(r == -1 && strstr(err, "longer than 127 characters") != NULL,
	    "publish: 128 characters are refused as too long", err);
}

static void
test_volumes(void)
{
	struct gr_volume	 v;
	char			 err[GR_ERRSIZE], what[128];
	char			 big[CTL_PATH_SIZE + 16];
	size_t			 i;
	int			 r;

	for (i = 0; i < NVOL; i++) {
		err[0] = '\0';
		r = gr_volume("-v", vols[i].spec, &v, err, sizeof(err));
		snprintf(what, sizeof(what), "volume \"%s\" %s", vols[i].spec,
		    vols[i].err ? "refused" : "taken");
		if (vols[i].err == NULL && r == 0 &&
		    (strcmp(v.src, vols[i].src) != 0 ||
		    strcmp(v.dst, vols[i].dst) != 0 || v.ro != vols[i].ro)) {
			snprintf(err, sizeof(err), "%.100s %.100s %d", v.src, v.dst,
			    v.ro);
			r = -1;
		}
		check(what, r, err, vols[i].err);
	}
	/* a sandbox path of CTL_PATH_SIZE - 1 characters fits, one more not */
	big[0] = '/';
	big[1] = ':';
	big[2] = '/';
	memset(big + 3, 'x', CTL_PATH_SIZE - 2);
	big[3 + CTL_PATH_SIZE - 2] = '\0';
	r = gr_volume("-v", big, &v, err, sizeof(err));
	ok_detail(r == 0 && strlen(v.dst) == CTL_PATH_SIZE - 1,
	    "volume: a sandbox path of 1023 characters is taken", err);
	big[3 + CTL_PATH_SIZE - 2] = 'x';
	big[3 + CTL_PATH_SIZE - 1] = '\0';
	r = gr_volume("-v", big, &v, err, sizeof(err));
	ok_detail(r == -1 && strstr(err, "is too long") != NULL &&
	    strstr(err, "...") != NULL && strlen(err) < 200,
	    "volume: 1024 characters are too long, the message shortened",
	    err);
}

static void
test_names(void)
{
	char		 err[GR_ERRSIZE], what[128], s[CTL_ID_SIZE + 2];
	size_t		 i;
	int		 r;

	for (i = 0; i < NNAME; i++) {
		err[0] = '\0';
		r = names[i].ref ? gr_ref("--name", names[i].s, err,
		    sizeof(err)) : gr_name("--name", names[i].s, err,
		    sizeof(err));
		snprintf(what, sizeof(what), "%s \"%s\" %s", names[i].ref ?
		    "reference" : "name", names[i].s, names[i].err ?
		    "refused" : "taken");
		check(what, r, err, names[i].err);
	}
	memset(s, 'a', sizeof(s));
	s[CTL_NAME_SIZE - 1] = '\0';
	ok(gr_name("n", s, NULL, 0) == 0, "name: 63 characters are taken");
	s[CTL_NAME_SIZE - 1] = 'a';
	s[CTL_NAME_SIZE] = '\0';
	ok(gr_name("n", s, NULL, 0) == -1 && gr_ref("r", s, NULL, 0) == 0,
	    "64 characters: not a name, but a reference (a full id)");
	s[CTL_NAME_SIZE] = 'a';
	s[CTL_NAME_SIZE + 1] = '\0';
	ok(gr_ref("r", s, NULL, 0) == -1, "reference: 65 characters refused");

	memset(s, 'f', sizeof(s));
	s[CTL_ID_SIZE - 1] = '\0';
	s[0] = '0';
	ok(gr_id(s), "id: 64 lowercase hex digits");
	s[5] = 'A';
	ok(!gr_id(s), "id: an upper case digit is refused");
	s[5] = 'g';
	ok(!gr_id(s), "id: g is refused");
	s[5] = 'f';
	s[CTL_ID_SIZE - 2] = '\0';
	ok(!gr_id(s), "id: 63 digits are refused");
	s[CTL_ID_SIZE - 2] = 'f';
	s[CTL_ID_SIZE - 1] = 'f';
	s[CTL_ID_SIZE] = '\0';
	ok(!gr_id(s), "id: 65 digits are refused");
	ok(!gr_id(""), "id: empty is refused");
}

int
main(void)
{
	tap_plan(NSIZE + NCPU + NUINT + NPORT + NPUB + 2 + NVOL + 2 + NNAME +
	    3 + 6);
	test_sizes();
	test_cpus();
	test_uints();
	test_ports();
	test_publish();
	test_volumes();
	test_names();
	return tap_done();
}
