/*
 * Unit test of common/grammar.c (TAP): every parser with the values it
 * must take and the ones it must refuse, each refusal with the exact
 * message (field, value, reason): sizes (units, overflow, leading zero,
 * junk after the unit, the bounds), CPUs, counts, ports (0, 65535,
 * 65536), published ports (IPv4, IPv6, /udp), volumes (modes, paths
 * into /proc and /dev however spelt) and names, references and ids.
 */
#include <sys/resource.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "grammar.h"
#include "tap.h"

#define NNUM	(sizeof(nums) / sizeof(nums[0]))
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

/* gr_size, gr_cpus (min, max unused) and gr_uint */
enum { SZ, CPU, NUM };
static const struct {
	int		 kind;
	const char	*s;
	uint64_t	 min, max, v;
	const char	*err;
} nums[] = {
	{ SZ, "4G", ANY, 4ULL << 30, NULL },
	{ SZ, "512M", ANY, 512ULL << 20, NULL },
	{ SZ, "100", ANY, 100, NULL },
	{ SZ, "1k", ANY, 1024, NULL },
	{ SZ, "2GiB", ANY, 2ULL << 30, NULL },
	{ SZ, "3gb", ANY, 3ULL << 30, NULL },
	{ SZ, "7B", ANY, 7, NULL },
	{ SZ, "0", ANY, 0, NULL },
	{ SZ, "18446744073709551615", ANY, UINT64_MAX, NULL },
	{ SZ, "16777215t", ANY, 16777215ULL << 40, NULL },
	{ SZ, "2t", MEM, 2ULL << 40, NULL },
	{ SZ, "1024t", MEM, 1ULL << 50, NULL },
	{ SZ, "4m", MEM, 4ULL << 20, NULL },
	{ SZ, "4194304", MEM, 4ULL << 20, NULL },
	{ SZ, "", MEM, 0, "f \"\": not a size (like 512m or 2g)" },
	{ SZ, "G", MEM, 0, "f G: not a size (like 512m or 2g)" },
	{ SZ, "-1", MEM, 0, "f -1: not a size (like 512m or 2g)" },
	{ SZ, "+4m", MEM, 0, "f +4m: not a size (like 512m or 2g)" },
	{ SZ, " 4G", MEM, 0, "f \" 4G\": not a size (like 512m or 2g)" },
	{ SZ, "0512m", MEM, 0, "f 0512m: leading zero" },
	{ SZ, "00", ANY, 0, "f 00: leading zero" },
	{ SZ, "4X", MEM, 0, "f 4X: unknown unit (b, k, m, g or t)" },
	{ SZ, "4GB1", MEM, 0, "f 4GB1: unknown unit (b, k, m, g or t)" },
	{ SZ, "4kbb", MEM, 0, "f 4kbb: unknown unit (b, k, m, g or t)" },
	{ SZ, "4ki", MEM, 0, "f 4ki: unknown unit (b, k, m, g or t)" },
	{ SZ, "4.5g", MEM, 0, "f 4.5g: unknown unit (b, k, m, g or t)" },
	{ SZ, "4g ", MEM, 0, "f \"4g \": unknown unit (b, k, m, g or t)" },
	{ SZ, "4p", MEM, 0, "f 4p: unknown unit (b, k, m, g or t)" },
	{ SZ, "18446744073709551616", ANY, 0, "f 18446744073709551616: too "
	    "large" },
	{ SZ, "99999999999999999999999", ANY, 0, "f 99999999999999999999999: "
	    "too large" },
	{ SZ, "16777216t", ANY, 0, "f 16777216t: too large" },
	{ SZ, "17179869184G", ANY, 0, "f 17179869184G: too large" },
	{ SZ, "1025t", MEM, 0, "f 1025t: too large (at most 1024t)" },
	{ SZ, "99999999999999g", MEM, 0,
	    "f 99999999999999g: too large (at most 1024t)" },
	{ SZ, "0", MEM, 0, "f 0: too small (at least 4m)" },
	{ SZ, "4194303", MEM, 0, "f 4194303: too small (at least 4m)" },
	{ SZ, "4095k", MEM, 0, "f 4095k: too small (at least 4m)" },
	{ CPU, "1", 0, 0, 1000, NULL },
	{ CPU, "1.5", 0, 0, 1500, NULL },
	{ CPU, ".25", 0, 0, 250, NULL },
	{ CPU, "2.", 0, 0, 2000, NULL },
	{ CPU, "0.001", 0, 0, 1, NULL },
	{ CPU, "0.5", 0, 0, 500, NULL },
	{ CPU, "1024", 0, 0, 1024000, NULL },
	{ CPU, "1024.000", 0, 0, 1024000, NULL },
	{ CPU, "", 0, 0, 0, "c \"\": not a number of CPUs (like 1 or 1.5)" },
	{ CPU, ".", 0, 0, 0, "c .: not a number of CPUs (like 1 or 1.5)" },
	{ CPU, "-1", 0, 0, 0, "c -1: not a number of CPUs (like 1 or 1.5)" },
	{ CPU, "01", 0, 0, 0, "c 01: not a number of CPUs (like 1 or 1.5)" },
	{ CPU, "1e3", 0, 0, 0, "c 1e3: not a number of CPUs (like 1 or 1.5)" },
	{ CPU, "1.5x", 0, 0, 0,
	    "c 1.5x: not a number of CPUs (like 1 or 1.5)" },
	{ CPU, "1..5", 0, 0, 0,
	    "c 1..5: not a number of CPUs (like 1 or 1.5)" },
	{ CPU, " 1", 0, 0, 0,
	    "c \" 1\": not a number of CPUs (like 1 or 1.5)" },
	{ CPU, "1.2345", 0, 0, 0, "c 1.2345: at most 3 decimals" },
	{ CPU, "0.0005", 0, 0, 0, "c 0.0005: at most 3 decimals" },
	{ CPU, "0", 0, 0, 0, "c 0: out of range (0.001 to 1024)" },
	{ CPU, "0.000", 0, 0, 0, "c 0.000: out of range (0.001 to 1024)" },
	{ CPU, "1024.001", 0, 0, 0,
	    "c 1024.001: out of range (0.001 to 1024)" },
	{ CPU, "1025", 0, 0, 0, "c 1025: out of range (0.001 to 1024)" },
	{ CPU, "99999999999999999999999", 0, 0, 0,
	    "c 99999999999999999999999: out of range (0.001 to 1024)" },
	{ NUM, "1", 1, GR_PIDS_MAX, 1, NULL },
	{ NUM, "4194304", 1, GR_PIDS_MAX, 4194304, NULL },
	{ NUM, "0", 1, GR_PIDS_MAX, 0, "n 0: out of range (1 to 4194304)" },
	{ NUM, "4194305", 1, GR_PIDS_MAX, 0,
	    "n 4194305: out of range (1 to 4194304)" },
	{ NUM, "99999999999999999999999", 1, GR_PIDS_MAX, 0,
	    "n 99999999999999999999999: out of range (1 to 4194304)" },
	{ NUM, "", 1, GR_PIDS_MAX, 0, "n \"\": not a number" },
	{ NUM, "01", 1, GR_PIDS_MAX, 0, "n 01: not a number" },
	{ NUM, "+1", 1, GR_PIDS_MAX, 0, "n +1: not a number" },
	{ NUM, "1 ", 1, GR_PIDS_MAX, 0, "n \"1 \": not a number" },
	{ NUM, "0x10", 1, GR_PIDS_MAX, 0, "n 0x10: not a number" },
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

/* the parsers of strings with a result: what they make of spec, printed */
struct spec {
	const char	*spec, *want, *err;
};

static const struct spec pubs[] = {
	{ "8080:80", "127.0.0.1 8080 80", NULL },
	{ "8080:80/tcp", "127.0.0.1 8080 80", NULL },
	{ "0.0.0.0:8443:443/tcp", "0.0.0.0 8443 443", NULL },
	{ "10.1.2.3:1:65535", "10.1.2.3 1 65535", NULL },
	{ "[::1]:9000:90", "::1 9000 90", NULL },
	{ "[2001:DB8:0::1]:80:80", "2001:db8::1 80 80", NULL },
	{ "[::ffff:1.2.3.4]:80:80/tcp", "::ffff:1.2.3.4 80 80", NULL },
	{ "70000:80", NULL, "-p 70000:80: host port \"70000\" is not "
	    "a number from 1 to 65535" },
	{ "65536:80", NULL, "-p 65536:80: host port \"65536\" is not "
	    "a number from 1 to 65535" },
	{ "8080:65536", NULL, "-p 8080:65536: sandbox port \"65536\" "
	    "is not a number from 1 to 65535" },
	{ "a:b:c:d", NULL, "-p a:b:c:d: expected [ADDR:]HOSTPORT:PORT"
	    "[/tcp] (IPv6 addresses in brackets)" },
	{ "8080:80/udp", NULL, "-p 8080:80/udp: protocol \"udp\" is "
	    "not supported (only tcp)" },
	{ "8080:80/TCP", NULL, "-p 8080:80/TCP: protocol \"TCP\" is "
	    "not supported (only tcp)" },
	{ "8080:80/tcp/tcp", NULL, "-p 8080:80/tcp/tcp: protocol "
	    "\"tcp/tcp\" is not supported (only tcp)" },
	{ "8080:80/", NULL, "-p 8080:80/: protocol \"\" is not "
	    "supported (only tcp)" },
	{ "80", NULL, "-p 80: expected [ADDR:]HOSTPORT:PORT[/tcp]" },
	{ "", NULL, "-p \"\": expected [ADDR:]HOSTPORT:PORT[/tcp]" },
	{ ":80", NULL, "-p :80: host port \"\" is not a number from 1 "
	    "to 65535" },
	{ "80:", NULL, "-p 80:: sandbox port \"\" is not a number "
	    "from 1 to 65535" },
	{ "0:80", NULL, "-p 0:80: host port \"0\" is not a number "
	    "from 1 to 65535" },
	{ "80:0", NULL, "-p 80:0: sandbox port \"0\" is not a number "
	    "from 1 to 65535" },
	{ "080:80", NULL, "-p 080:80: host port \"080\" is not a "
	    "number from 1 to 65535" },
	{ "-1:80", NULL, "-p -1:80: host port \"-1\" is not a number "
	    "from 1 to 65535" },
	{ "1.2.3:80:80", NULL, "-p 1.2.3:80:80: \"1.2.3\" is not an "
	    "IPv4 address (IPv6 in brackets)" },
	{ "localhost:80:80", NULL, "-p localhost:80:80: \"localhost\" "
	    "is not an IPv4 address (IPv6 in brackets)" },
	{ "::1:80:80", NULL, "-p ::1:80:80: expected [ADDR:]HOSTPORT:"
	    "PORT[/tcp] (IPv6 addresses in brackets)" },
	{ "[::1:80:80", NULL, "-p [::1:80:80: expected [IPv6]:"
	    "HOSTPORT:PORT" },
	{ "[1.2.3.4]:80:80", NULL, "-p [1.2.3.4]:80:80: \"1.2.3.4\" "
	    "is not an IPv6 address" },
	{ "[fe80::1%eth0]:80:80", NULL, "-p [fe80::1%eth0]:80:80: "
	    "\"fe80::1%eth0\" is not an IPv6 address" },
	{ "[::1]:80", NULL, "-p [::1]:80: expected [ADDR:]HOSTPORT:"
	    "PORT[/tcp]" },
	{ "8080:80/\001", NULL, "-p \"8080:80/\\x01\": a control "
	    "character" },
	{ "1.2.3.4:80:80:80", NULL, "-p 1.2.3.4:80:80:80: expected "
	    "[ADDR:]HOSTPORT:PORT[/tcp] (IPv6 addresses in brackets)" },
};

static const struct spec vols[] = {
	{ "/a:/b", "/a /b rw", NULL },
	{ "/a:/b:ro", "/a /b ro", NULL },
	{ "/a:/b:rw", "/a /b rw", NULL },
	{ "//a//b/:/c//d/", "/a/b /c/d rw", NULL },
	{ "/:/mnt", "/ /mnt rw", NULL },
	{ "/a:/procfs", "/a /procfs rw", NULL },
	{ "/a:/devices/x", "/a /devices/x rw", NULL },
	{ "/a:/b/proc", "/a /b/proc rw", NULL },
	{ "/a:/.x/..y", "/a /.x/..y rw", NULL },
	{ "/tmp", NULL, "-v /tmp: not SRC:DST[:ro|:rw]" },
	{ "", NULL, "-v \"\": not SRC:DST[:ro|:rw]" },
	{ "tmp:/x", NULL, "-v tmp:/x: host path \"tmp\" is not "
	    "absolute" },
	{ ":/x", NULL, "-v :/x: host path \"\" is not absolute" },
	{ "/tmp:x", NULL, "-v /tmp:x: sandbox path \"x\" is not "
	    "absolute" },
	{ "/tmp:", NULL, "-v /tmp:: sandbox path \"\" is not "
	    "absolute" },
	{ "/tmp:/x:rx", NULL, "-v /tmp:/x:rx: unknown mode \"rx\" "
	    "(ro or rw)" },
	{ "/tmp:/x:", NULL, "-v /tmp:/x:: unknown mode \"\" (ro or "
	    "rw)" },
	{ "/tmp:/x:RO", NULL, "-v /tmp:/x:RO: unknown mode \"RO\" "
	    "(ro or rw)" },
	{ "/tmp:/x:ro:rw", NULL, "-v /tmp:/x:ro:rw: unknown mode "
	    "\"ro:rw\" (ro or rw)" },
	{ "/tmp:/", NULL, "-v /tmp:/: sandbox path \"/\" is /, or "
	    "in /proc or /dev" },
	{ "/tmp:///", NULL, "-v /tmp:///: sandbox path \"/\" is /, "
	    "or in /proc or /dev" },
	{ "/tmp:/proc", NULL, "-v /tmp:/proc: sandbox path "
	    "\"/proc\" is /, or in /proc or /dev" },
	{ "/tmp://proc", NULL, "-v /tmp://proc: sandbox path "
	    "\"/proc\" is /, or in /proc or /dev" },
	{ "/tmp:/proc/sys/", NULL, "-v /tmp:/proc/sys/: sandbox "
	    "path \"/proc/sys\" is /, or in /proc or /dev" },
	{ "/tmp:/dev", NULL, "-v /tmp:/dev: sandbox path \"/dev\" "
	    "is /, or in /proc or /dev" },
	{ "/tmp://dev//", NULL, "-v /tmp://dev//: sandbox path "
	    "\"/dev\" is /, or in /proc or /dev" },
	{ "/tmp:/a/../proc", NULL, "-v /tmp:/a/../proc: sandbox "
	    "path \"/a/../proc\" has a . or .. component" },
	{ "/tmp:/a/./b", NULL, "-v /tmp:/a/./b: sandbox path "
	    "\"/a/./b\" has a . or .. component" },
	{ "/tmp:/a/..", NULL, "-v /tmp:/a/..: sandbox path "
	    "\"/a/..\" has a . or .. component" },
	{ "/..:/a", NULL, "-v /..:/a: host path \"/..\" has a . or "
	    ".. component" },
	{ "/tmp:/a\nb", NULL, "-v \"/tmp:/a\\x0ab\": a control "
	    "character" },
	{ "/a\x7f:/b", NULL, "-v \"/a\\x7f:/b\": a control "
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

/* gr_hostname: the names a leaf certificate is made for */
static const struct {
	const char	*s, *err;
} hosts[] = {
	{ "api.example.test", NULL },
	{ "a", NULL },
	{ "x-1.y_z.Test", NULL },
	{ "1.example.test", NULL },	/* a digit label, not the last */
	{ "", "name \"\": empty, or an empty last label, or a label "
	    "ending in '-'" },
	{ "a.", "name a.: empty, or an empty last label, or a label ending "
	    "in '-'" },
	{ ".a", "name .a: empty label or a label ending in '-'" },
	{ "a..b", "name a..b: empty label or a label ending in '-'" },
	{ "a-.b", "name a-.b: empty label or a label ending in '-'" },
	{ "b.a-", "name b.a-: empty, or an empty last label, or a label "
	    "ending in '-'" },
	{ "-a.b", "name -a.b: a label starts with '-'" },
	{ "a b", "name \"a b\": not a host name (letters, digits, '-', '_' "
	    "and dots)" },
	{ "a*.b", "name a*.b: not a host name (letters, digits, '-', '_' "
	    "and dots)" },
	{ "caf\xc3\xa9.test", "name \"caf\\xc3\\xa9.test\": not a host "
	    "name (letters, digits, '-', '_' and dots)" },
	{ "1.2.3.4", "name 1.2.3.4: an IP address, not a host name" },
	{ "0x7f.1", "name 0x7f.1: an IP address, not a host name" },
	{ "2130706433", "name 2130706433: an IP address, not a host name" },
	{ "a.b.123", "name a.b.123: an IP address, not a host name" },
	{ "::1", "name ::1: not a host name (letters, digits, '-', '_' and "
	    "dots)" },
};
#define NHOST	(sizeof(hosts) / sizeof(hosts[0]))

static void
test_hostnames(void)
{
	char	 err[GR_ERRSIZE], what[128], s[300];
	size_t	 i;
	int	 r;

	for (i = 0; i < NHOST; i++) {
		err[0] = '\0';
		r = gr_hostname("name", hosts[i].s, err, sizeof(err));
		snprintf(what, sizeof(what), "host name \"%s\" %s",
		    hosts[i].s, hosts[i].err ? "refused" : "taken");
		check(what, r, err, hosts[i].err);
	}
	memset(s, 'a', 63);
	s[63] = '\0';
	ok(gr_hostname("n", s, NULL, 0) == 0, "host name: a label of 63");
	s[63] = 'a';
	s[64] = '\0';
	ok(gr_hostname("n", s, NULL, 0) == -1, "host name: a label of 64 "
	    "refused");
	/* 4 labels of 63 and one of 1: 253 */
	for (i = 0; i < 4; i++) {
		memset(s + i * 64, 'b', 63);
		s[i * 64 + 63] = '.';
	}
	s[252] = '\0';
	ok(gr_hostname("n", s, NULL, 0) == 0, "host name: 252 bytes");
	s[252] = 'c';
	s[253] = '\0';
	ok(gr_hostname("n", s, NULL, 0) == 0, "host name: 253 bytes");
	s[253] = 'c';
	s[254] = '\0';
	ok(gr_hostname("n", s, err, sizeof(err)) == -1 &&
	    strstr(err, "longer than 253 bytes") != NULL,
	    "host name: 254 bytes refused");
}

static void
test_numbers(void)
{
	static const char *const kinds[] = { "size", "cpus", "count" };
	char		 err[GR_ERRSIZE], what[128];
	uint64_t	 v;
	uint32_t	 m;
	size_t		 i;
	int		 r;

	for (i = 0; i < NNUM; i++) {
		v = m = 12345;
		err[0] = '\0';
		if (nums[i].kind == SZ)
			r = gr_size("f", nums[i].s, nums[i].min, nums[i].max,
			    &v, err, sizeof(err));
		else if (nums[i].kind == CPU) {
			r = gr_cpus("c", nums[i].s, &m, err, sizeof(err));
			v = m;
		} else
			r = gr_uint("n", nums[i].s, nums[i].min, nums[i].max,
			    &v, err, sizeof(err));
		snprintf(what, sizeof(what), "%s \"%s\" %s",
		    kinds[nums[i].kind], nums[i].s, nums[i].err ? "refused" :
		    "taken");
		if (nums[i].err == NULL && r == 0 && v != nums[i].v) {
			snprintf(err, sizeof(err), "%llu",
			    (unsigned long long)v);
			r = -1;
		}
		check(what, r, err, nums[i].err);
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

/* gr_publish, its result printed into out */
static int
publish(const char *spec, char *out, size_t outlen, char *err,
    size_t errlen)
{
	struct gr_publish	 pp;

	if (gr_publish("-p", spec, &pp, err, errlen) == -1)
		return -1;
	snprintf(out, outlen, "%s %u %u%s", pp.addr, pp.hostport, pp.port,
	    pp.proto == IPPROTO_TCP ? "" : " not tcp");
	return 0;
}

/* gr_volume, its result printed into out */
static int
volume(const char *spec, char *out, size_t outlen, char *err,
    size_t errlen)
{
	struct gr_volume	 v;

	if (gr_volume("-v", spec, &v, err, errlen) == -1)
		return -1;
	snprintf(out, outlen, "%.100s %.100s %s", v.src, v.dst, v.ro ? "ro" :
	    "rw");
	return 0;
}

static const struct spec tmpfss[] = {
	{ "/data", "/data 0 1777", NULL },
	{ "/var/cache:size=1m,mode=0700", "/var/cache 1048576 700", NULL },
	{ "/x:mode=755,size=4k", "/x 4096 755", NULL },
	{ "data", NULL, "--tmpfs data: path is not absolute" },
	{ "/", NULL, "--tmpfs /: path is /, or in /proc or /sys" },
	{ "/proc", NULL, "--tmpfs /proc: path is /, or in /proc or /sys" },
	{ "/sys/fs", NULL, "--tmpfs /sys/fs: path is /, or in /proc or /sys" },
	{ "/procx", "/procx 0 1777", NULL },
	{ "/a/../b", NULL, "--tmpfs /a/../b: path has a . or .. component" },
	{ "/a//b", NULL, "--tmpfs /a//b: path is not in normal form (/a/b)" },
	{ "/a/", NULL, "--tmpfs /a/: path is not in normal form (/a)" },
	{ "/x:size=1k", NULL, "--tmpfs /x:size=1k: size 1k: too small (at "
	    "least 4k)" },
	{ "/x:mode=8", NULL, "--tmpfs /x:mode=8: mode \"8\" is not octal up "
	    "to 7777" },
	{ "/x:mode=17777", NULL, "--tmpfs /x:mode=17777: mode \"17777\" is "
	    "not octal up to 7777" },
	{ "/x:ro", NULL, "--tmpfs /x:ro: unknown option \"ro\" (size=SIZE, "
	    "mode=OCTAL)" },
	{ "/x:", NULL, "--tmpfs /x:: unknown option \"\" (size=SIZE, "
	    "mode=OCTAL)" },
};
#define NTMPFS	(sizeof(tmpfss) / sizeof(tmpfss[0]))

static int
tmpfs(const char *spec, char *out, size_t outlen, char *err, size_t errlen)
{
	struct gr_tmpfs	 t;

	if (gr_tmpfs("--tmpfs", spec, &t, err, errlen) == -1)
		return -1;
	snprintf(out, outlen, "%.100s %llu %o", t.path,
	    (unsigned long long)t.size, t.mode);
	return 0;
}

static const struct spec ulimits[] = {
	{ "nofile=512:1024", "nofile 512 1024", NULL },
	{ "core=0", "core 0 0", NULL },
	{ "cpu=unlimited", "cpu -1 -1", NULL },
	{ "stack=8388608:-1", "stack 8388608 -1", NULL },
	{ "foo=1", NULL, "--ulimit foo=1: unknown limit \"foo\" (nofile, "
	    "nproc, core, stack, fsize, memlock, as, cpu)" },
	{ "nofile", NULL, "--ulimit nofile: not NAME=SOFT[:HARD]" },
	{ "nofile=10:5", NULL, "--ulimit nofile=10:5: the soft limit is above "
	    "the hard one" },
	{ "nofile=unlimited:5", NULL, "--ulimit nofile=unlimited:5: the soft "
	    "limit is above the hard one" },
	{ "nofile=", NULL, "--ulimit nofile=: a value is not a number, "
	    "unlimited or -1" },
	{ "nofile=01", NULL, "--ulimit nofile=01: a value is not a number, "
	    "unlimited or -1" },
	{ "nofile=1:2:3", NULL, "--ulimit nofile=1:2:3: a value is not a "
	    "number, unlimited or -1" },
	{ "nofile=18446744073709551616", NULL, "--ulimit "
	    "nofile=18446744073709551616: a value is not a number, unlimited "
	    "or -1" },
	{ "nofile=18446744073709551615", NULL, "--ulimit "
	    "nofile=18446744073709551615: a value is not a number, unlimited "
	    "or -1" },
};
#define NULIMIT	(sizeof(ulimits) / sizeof(ulimits[0]))

static int
ulimit(const char *spec, char *out, size_t outlen, char *err, size_t errlen)
{
	struct gr_ulimit u;

	if (gr_ulimit("--ulimit", spec, &u, err, errlen) == -1)
		return -1;
	snprintf(out, outlen, "%s %lld %lld", u.name, u.soft == RLIM_INFINITY ?
	    -1LL : (long long)u.soft, u.hard == RLIM_INFINITY ? -1LL :
	    (long long)u.hard);
	return 0;
}

static void
test_specs(const char *kind, const struct spec *t, size_t n,
    int (*parse)(const char *, char *, size_t, char *, size_t))
{
	char	 err[GR_ERRSIZE], out[256], what[128];
	size_t	 i;
	int	 r;

	for (i = 0; i < n; i++) {
		err[0] = out[0] = '\0';
		r = parse(t[i].spec, out, sizeof(out), err, sizeof(err));
		snprintf(what, sizeof(what), "%s \"%s\" %s", kind, t[i].spec,
		    t[i].err ? "refused" : "taken");
		if (t[i].err == NULL && r == 0 && strcmp(out, t[i].want)) {
			snprintf(err, sizeof(err), "%s", out);
			r = -1;
		}
		check(what, r, err, t[i].err);
	}
}

static void
test_publish(void)
{
	struct gr_publish	 pp;
	char			 err[GR_ERRSIZE], spec[200];
	int			 r;

	test_specs("publish", pubs, NPUB, publish);
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
	char			 err[GR_ERRSIZE], big[CTL_PATH_SIZE + 16];
	int			 r;

	test_specs("volume", vols, NVOL, volume);
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
	ok(gr_cred("c", s, NULL, 0) == -1 && (s[GR_CRED_MAX] = '\0',
	    gr_cred("c", s, NULL, 0) == 0), "credential name: 64 characters "
	    "taken, 65 refused");
	ok(gr_cred("c", "api.token_2-x", NULL, 0) == 0 &&
	    gr_cred("c", "_x", NULL, 0) == -1 &&
	    gr_cred("c", "a/b", NULL, 0) == -1 &&
	    gr_cred("c", "", NULL, 0) == -1, "credential name: the grammar "
	    "of a sandbox name");

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

/* every byte: its hex value, or -1; a negative char too */
static void
test_hexdigit(void)
{
	const char	*digits = "0123456789abcdef", *d;
	int		 c, want, bad = -1000;

	for (c = 0; c < 256; c++) {
		d = c != 0 ? strchr(digits, tolower(c)) : NULL;
		want = d != NULL ? d - digits : -1;
		if (gr_hexdigit(c) != want && bad == -1000)
			bad = c;
	}
	for (c = -128; c < 0; c++)
		if (gr_hexdigit(c) != -1 && bad == -1000)
			bad = c;
	ok(bad == -1000, "hex digit: 0-9, a-f and A-F have their values, "
	    "every other byte (negative too) -1 (first wrong: %d)", bad);
}

int
main(void)
{
	tap_plan(NNUM + NPORT + NPUB + 2 + NVOL + 2 + NNAME +
	    3 + 2 + 6 + NHOST + 5 + 1 + NTMPFS + NULIMIT);
	test_numbers();
	test_ports();
	test_publish();
	test_volumes();
	test_names();
	test_hostnames();
	test_hexdigit();
	test_specs("tmpfs", tmpfss, NTMPFS, tmpfs);
	test_specs("ulimit", ulimits, NULIMIT, ulimit);
	return tap_done();
}
