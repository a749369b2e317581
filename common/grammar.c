/*
 * The small input grammars: see grammar.h.
 */
#include <sys/resource.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grammar.h"

/* "FIELD VALUE: reason" into err; -1 */
static int
gerr(char *err, size_t errlen, const char *field, const char *val,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int
gerr(char *err, size_t errlen, const char *field, const char *val,
    const char *fmt, ...)
{
	char		 v[80], why[200];
	size_t		 i, o = 0;
	unsigned char	 ch;
	int		 plain = *val != '\0';
	va_list		 ap;

	for (i = 0; val[i] != '\0' && plain; i++)
		plain = (unsigned char)val[i] > ' ' &&
		    (unsigned char)val[i] < 0x7f && val[i] != '"' &&
		    val[i] != '\\';
	if (!plain)
		v[o++] = '"';
	for (i = 0; val[i] != '\0' && o + 8 < sizeof(v); i++) {
		if (i >= 64) {
			memcpy(v + o, "...", 3);
			o += 3;
			break;
		}
		ch = val[i];
		if (ch == '"' || ch == '\\')
			o += snprintf(v + o, sizeof(v) - o, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			o += snprintf(v + o, sizeof(v) - o, "\\x%02x", ch);
		else
			v[o++] = ch;
	}
	if (!plain)
		v[o++] = '"';
	v[o] = '\0';
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (errlen > 0)
		snprintf(err, errlen, "%s %s: %s", field, v, why);
	return -1;
}

/* does s have a control character (which no message shows raw)? */
static int
has_ctrl(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* ---- numbers ---- */

static const char units[] = "bkmgt";

/* a size for messages: in the largest unit that divides it */
static void
size_str(uint64_t v, char *buf, size_t size)
{
	int	 u = 0;

	while (u < 4 && v != 0 && v % 1024 == 0) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%llu", (unsigned long long)v);
	else
		snprintf(buf, size, "%llu%c", (unsigned long long)v, units[u]);
}

/*
 * decimal digits from *p, no leading zero, into *out; 0, -1 if there
 * is none or a leading zero, -2 on overflow (all digits consumed)
 */
static int
digits(const char **p, uint64_t *out)
{
	const char	*s = *p;
	uint64_t	 v = 0;
	int		 over = 0;

	if (!isdigit((unsigned char)*s))
		return -1;
	if (s[0] == '0' && isdigit((unsigned char)s[1]))
		return -1;
	for (; isdigit((unsigned char)*s); s++) {
		if (v > UINT64_MAX / 10 || (v == UINT64_MAX / 10 &&
		    (uint64_t)(*s - '0') > UINT64_MAX % 10))
			over = 1;
		else
			v = v * 10 + (*s - '0');
	}
	*p = s;
	*out = v;
	return over ? -2 : 0;
}

int
gr_size(const char *field, const char *s, uint64_t min, uint64_t max,
    uint64_t *out, char *err, size_t errlen)
{
	const char	*p = s, *u;
	uint64_t	 v, mul = 1;
	char		 lim[32];
	int		 r;

	if ((r = digits(&p, &v)) == -1) {
		if (s[0] == '0' && isdigit((unsigned char)s[1]))
			return gerr(err, errlen, field, s, "leading zero");
		return gerr(err, errlen, field, s, "not a size (like 512m "
		    "or 2g)");
	}
	if (*p != '\0' && (u = strchr(units + 1,
	    tolower((unsigned char)*p))) != NULL) {
		mul = 1ULL << (10 * (u - units));
		p++;
		if (tolower((unsigned char)p[0]) == 'i' &&
		    tolower((unsigned char)p[1]) == 'b')
			p += 2;
		else if (tolower((unsigned char)p[0]) == 'b')
			p++;
	} else if (tolower((unsigned char)*p) == 'b')
		p++;
	if (*p != '\0')
		return gerr(err, errlen, field, s, "unknown unit (b, k, m, g "
		    "or t)");
	if (r == -2 || v > UINT64_MAX / mul || v * mul > max) {
		if (max == UINT64_MAX)
			return gerr(err, errlen, field, s, "too large");
		size_str(max, lim, sizeof(lim));
		return gerr(err, errlen, field, s, "too large (at most %s)",
		    lim);
	}
	if (v * mul < min) {
		size_str(min, lim, sizeof(lim));
		return gerr(err, errlen, field, s, "too small (at least %s)",
		    lim);
	}
	*out = v * mul;
	return 0;
}

int
gr_cpus(const char *field, const char *s, uint32_t *millis, char *err,
    size_t errlen)
{
	const char	*p = s;
	uint64_t	 whole = 0, frac = 0;
	int		 r = 0, fdigits = 0;

	if (*p != '.' && (r = digits(&p, &whole)) == -1)
		goto bad;
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++) {
			if (++fdigits > 3)
				return gerr(err, errlen, field, s, "at most 3 "
				    "decimals");
			frac = frac * 10 + (*p - '0');
		}
		if (fdigits == 0 && p == s + 1)
			goto bad;	/* "." */
	}
	if (*p != '\0')
		goto bad;
	while (fdigits++ < 3)
		frac *= 10;
	if (r == -2 || whole > GR_CPUS_MAX ||
	    whole * 1000 + frac > GR_CPUS_MAX * 1000 ||
	    whole * 1000 + frac == 0)
		return gerr(err, errlen, field, s, "out of range (0.001 to "
		    "%d)", GR_CPUS_MAX);
	*millis = (uint32_t)(whole * 1000 + frac);
	return 0;
 bad:
	return gerr(err, errlen, field, s, "not a number of CPUs (like 1 or "
	    "1.5)");
}

int
gr_uint(const char *field, const char *s, uint64_t min, uint64_t max,
    uint64_t *out, char *err, size_t errlen)
{
	const char	*p = s;
	uint64_t	 v;
	int		 r;

	if ((r = digits(&p, &v)) == -1 || *p != '\0')
		return gerr(err, errlen, field, s, "not a number");
	if (r == -2 || v < min || v > max)
		return gerr(err, errlen, field, s, "out of range (%llu to "
		    "%llu)", (unsigned long long)min, (unsigned long long)max);
	*out = v;
	return 0;
}

int
gr_port(const char *s, size_t len)
{
	unsigned int	 p = 0;
	size_t		 i;

	if (len == 0 || len > 5 || s[0] == '0')
		return -1;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		p = p * 10 + (s[i] - '0');
	}
	return p <= 65535 ? (int)p : -1;
}

/* ---- published ports ---- */

int
gr_publish(const char *field, const char *spec, struct gr_publish *pp,
    char *err, size_t errlen)
{
	char		 buf[GR_SPEC_MAX + 1], *s, *slash, *hp, *p, *colon;
	unsigned char	 a[16];
	int		 hport, port, af = AF_INET;

	memset(pp, 0, sizeof(*pp));
	if (strlen(spec) > GR_SPEC_MAX)
		return gerr(err, errlen, field, spec, "longer than %d "
		    "characters", GR_SPEC_MAX);
	if (has_ctrl(spec))
		return gerr(err, errlen, field, spec, "a control character");
	strlcpy(buf, spec, sizeof(buf));
	s = buf;
	if ((slash = strchr(s, '/')) != NULL) {
		*slash++ = '\0';
		if (strcmp(slash, "tcp") != 0)
			return gerr(err, errlen, field, spec, "protocol "
			    "\"%.32s\" is not supported (only tcp)", slash);
	}
	strlcpy(pp->addr, "127.0.0.1", sizeof(pp->addr));
	if (s[0] == '[') {
		char *rb = strchr(s, ']');

		if (rb == NULL || rb[1] != ':')
			return gerr(err, errlen, field, spec, "expected "
			    "[IPv6]:HOSTPORT:PORT");
		*rb = '\0';
		if (inet_pton(AF_INET6, s + 1, a) != 1)
			return gerr(err, errlen, field, spec, "\"%.64s\" is "
			    "not an IPv6 address", s + 1);
		af = AF_INET6;
		hp = rb + 2;
	} else if ((colon = strchr(s, ':')) != NULL &&
	    strchr(colon + 1, ':') != NULL) {
		*colon = '\0';
		if (strchr(colon + 1, ':') != strrchr(colon + 1, ':'))
			return gerr(err, errlen, field, spec, "expected "
			    "[ADDR:]HOSTPORT:PORT[/tcp] (IPv6 addresses in "
			    "brackets)");
		if (inet_pton(AF_INET, s, a) != 1)
			return gerr(err, errlen, field, spec, "\"%.64s\" is "
			    "not an IPv4 address (IPv6 in brackets)", s);
		hp = colon + 1;
	} else {
		hp = s;
		af = 0;
	}
	if ((p = strchr(hp, ':')) == NULL || strchr(p + 1, ':') != NULL)
		return gerr(err, errlen, field, spec, "expected "
		    "[ADDR:]HOSTPORT:PORT[/tcp]");
	*p++ = '\0';
	if ((hport = gr_port(hp, strlen(hp))) == -1)
		return gerr(err, errlen, field, spec, "host port \"%.16s\" is "
		    "not a number from 1 to 65535", hp);
	if ((port = gr_port(p, strlen(p))) == -1)
		return gerr(err, errlen, field, spec, "sandbox port \"%.16s\" "
		    "is not a number from 1 to 65535", p);
	if (af != 0 && inet_ntop(af, a, pp->addr, sizeof(pp->addr)) == NULL)
		return gerr(err, errlen, field, spec, "bad address");
	pp->hostport = hport;
	pp->port = port;
	pp->proto = IPPROTO_TCP;
	return 0;
}

/* ---- volumes ---- */

/*
 * the absolute path s[0..len) into out (size CTL_PATH_SIZE) without
 * repeated and trailing slashes; NULL or why not
 */
static const char *
abspath(const char *s, size_t len, char *out)
{
	size_t	 i, o = 0, n;

	if (len == 0 || s[0] != '/')
		return "is not absolute";
	for (i = 0; i < len; ) {
		while (i < len && s[i] == '/')
			i++;
		if (i == len)
			break;
		for (n = 0; i + n < len && s[i + n] != '/'; n++)
			;
		if ((n == 1 && s[i] == '.') ||
		    (n == 2 && s[i] == '.' && s[i + 1] == '.'))
			return "has a . or .. component";
		if (o + 1 + n >= CTL_PATH_SIZE)
			return "is too long";
		out[o++] = '/';
		memcpy(out + o, s + i, n);
		o += n;
		i += n;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return NULL;
}

/* is path (clean) top or below it? */
static int
under(const char *path, const char *top)
{
	size_t	 n = strlen(top);

	return strncmp(path, top, n) == 0 &&
	    (path[n] == '\0' || path[n] == '/');
}

int
gr_volume(const char *field, const char *spec, struct gr_volume *v,
    char *err, size_t errlen)
{
	const char	*c1, *c2, *why;

	memset(v, 0, sizeof(*v));
	if (has_ctrl(spec))
		return gerr(err, errlen, field, spec, "a control character");
	if ((c1 = strchr(spec, ':')) == NULL)
		return gerr(err, errlen, field, spec, "not SRC:DST[:ro|:rw]");
	if ((c2 = strchr(c1 + 1, ':')) != NULL) {
		if (strcmp(c2 + 1, "ro") == 0)
			v->ro = 1;
		else if (strcmp(c2 + 1, "rw") != 0)
			return gerr(err, errlen, field, spec, "unknown mode "
			    "\"%.32s\" (ro or rw)", c2 + 1);
	} else
		c2 = c1 + strlen(c1);
	if ((why = abspath(spec, c1 - spec, v->src)) != NULL)
		return gerr(err, errlen, field, spec, "host path \"%.*s\" %s",
		    (int)(c1 - spec > 64 ? 64 : c1 - spec), spec, why);
	if ((why = abspath(c1 + 1, c2 - c1 - 1, v->dst)) != NULL)
		return gerr(err, errlen, field, spec, "sandbox path \"%.*s\" "
		    "%s", (int)(c2 - c1 - 1 > 64 ? 64 : c2 - c1 - 1), c1 + 1,
		    why);
	if (strcmp(v->dst, "/") == 0 || under(v->dst, "/proc") ||
	    under(v->dst, "/dev"))
		return gerr(err, errlen, field, spec, "sandbox path \"%.64s\" "
		    "is /, or in /proc or /dev", v->dst);
	return 0;
}

/* ---- run --tmpfs and --ulimit ---- */

int
gr_tmpfs(const char *field, const char *spec, struct gr_tmpfs *t,
    char *err, size_t errlen)
{
	const char	*colon, *why, *o, *next;
	char		 opt[64], *end;
	size_t		 plen, n;
	unsigned long	 mode;

	memset(t, 0, sizeof(*t));
	t->mode = 01777;
	if (has_ctrl(spec))
		return gerr(err, errlen, field, spec, "a control character");
	colon = strchr(spec, ':');
	plen = colon != NULL ? (size_t)(colon - spec) : strlen(spec);
	if ((why = abspath(spec, plen, t->path)) != NULL)
		return gerr(err, errlen, field, spec, "path %s", why);
	if (strlen(t->path) != plen || strncmp(t->path, spec, plen) != 0)
		return gerr(err, errlen, field, spec, "path is not in normal "
		    "form (%.64s)", t->path);
	if (strcmp(t->path, "/") == 0 || under(t->path, "/proc") ||
	    under(t->path, "/sys"))
		return gerr(err, errlen, field, spec, "path is /, or in /proc "
		    "or /sys");
	for (o = colon != NULL ? colon + 1 : NULL; o != NULL; o = next) {
		n = strcspn(o, ",");
		next = o[n] == ',' ? o + n + 1 : NULL;
		if (n >= sizeof(opt))
			return gerr(err, errlen, field, spec, "option too "
			    "long");
		memcpy(opt, o, n);
		opt[n] = '\0';
		if (strncmp(opt, "size=", 5) == 0) {
			char	 e2[GR_ERRSIZE];

			if (gr_size("size", opt + 5, 4096, GR_MEMORY_MAX,
			    &t->size, e2, sizeof(e2)) == -1)
				return gerr(err, errlen, field, spec, "%s", e2);
		} else if (strncmp(opt, "mode=", 5) == 0) {
			errno = 0;
			mode = strtoul(opt + 5, &end, 8);
			if (opt[5] < '0' || opt[5] > '7' || *end != '\0' ||
			    errno != 0 || mode > 07777)
				return gerr(err, errlen, field, spec, "mode "
				    "\"%s\" is not octal up to 7777", opt + 5);
			t->mode = (unsigned int)mode;
		} else
			return gerr(err, errlen, field, spec, "unknown option "
			    "\"%s\" (size=SIZE, mode=OCTAL)", opt);
	}
	return 0;
}

static const struct {
	const char	*name;
	int		 resource;
} ulimit_names[] = {
	{ "nofile", RLIMIT_NOFILE }, { "nproc", RLIMIT_NPROC },
	{ "core", RLIMIT_CORE }, { "stack", RLIMIT_STACK },
	{ "fsize", RLIMIT_FSIZE }, { "memlock", RLIMIT_MEMLOCK },
	{ "as", RLIMIT_AS }, { "cpu", RLIMIT_CPU },
};

/* a limit: decimal, "unlimited" or -1 */
static int
ulimit_value(const char *s, size_t len, uint64_t *out)
{
	const char	*p;
	char		 buf[24];

	if ((len == 9 && strncmp(s, "unlimited", 9) == 0) ||
	    (len == 2 && strncmp(s, "-1", 2) == 0)) {
		*out = RLIM_INFINITY;
		return 0;
	}
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	p = buf;
	if (digits(&p, out) != 0 || *p != '\0' || *out == RLIM_INFINITY)
		return -1;
	return 0;
}

int
gr_ulimit(const char *field, const char *spec, struct gr_ulimit *u,
    char *err, size_t errlen)
{
	const char	*eq, *colon;
	size_t		 i, n;

	memset(u, 0, sizeof(*u));
	if (has_ctrl(spec))
		return gerr(err, errlen, field, spec, "a control character");
	if ((eq = strchr(spec, '=')) == NULL)
		return gerr(err, errlen, field, spec, "not NAME=SOFT[:HARD]");
	n = eq - spec;
	for (i = 0; i < sizeof(ulimit_names) / sizeof(ulimit_names[0]); i++)
		if (strlen(ulimit_names[i].name) == n &&
		    strncmp(ulimit_names[i].name, spec, n) == 0)
			break;
	if (i == sizeof(ulimit_names) / sizeof(ulimit_names[0]))
		return gerr(err, errlen, field, spec, "unknown limit \"%.*s\" "
		    "(nofile, nproc, core, stack, fsize, memlock, as, cpu)",
		    (int)(n > 32 ? 32 : n), spec);
	u->name = ulimit_names[i].name;
	u->resource = ulimit_names[i].resource;
	colon = strchr(eq + 1, ':');
	if (ulimit_value(eq + 1, colon != NULL ? (size_t)(colon - eq - 1) :
	    strlen(eq + 1), &u->soft) == -1 || (colon != NULL &&
	    ulimit_value(colon + 1, strlen(colon + 1), &u->hard) == -1))
		return gerr(err, errlen, field, spec, "a value is not a number, "
		    "unlimited or -1");
	if (colon == NULL)
		u->hard = u->soft;
	if (u->soft > u->hard)
		return gerr(err, errlen, field, spec, "the soft limit is above "
		    "the hard one");
	return 0;
}

/* ---- names ---- */

/* 1 to max letters, digits, '_', '-' and '.', the first a letter or digit */
static int
namechars(const char *field, const char *s, size_t max, const char *what,
    char *err, size_t errlen)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++)
		if (i >= max || !(isalnum((unsigned char)s[i]) ||
		    (i > 0 && (s[i] == '_' || s[i] == '-' || s[i] == '.'))))
			break;
	if (i == 0 || s[i] != '\0')
		return gerr(err, errlen, field, s, "not a %s (1 to %zu "
		    "letters, digits, '_', '-' or '.', starting with a letter "
		    "or digit)", what, max);
	return 0;
}

int
gr_name(const char *field, const char *s, char *err, size_t errlen)
{
	return namechars(field, s, CTL_NAME_SIZE - 1, "sandbox name", err,
	    errlen);
}

int
gr_ref(const char *field, const char *s, char *err, size_t errlen)
{
	return namechars(field, s, CTL_ID_SIZE - 1, "sandbox id or name", err,
	    errlen);
}

int
gr_cred(const char *field, const char *s, char *err, size_t errlen)
{
	return namechars(field, s, GR_CRED_MAX, "credential name", err,
	    errlen);
}

int
gr_hostname(const char *field, const char *s, char *err, size_t errlen)
{
	struct in_addr	 in;
	const char	*last;
	size_t		 i, label = 0;

	for (i = 0; s[i] != '\0'; i++) {
		if (i >= GR_HOSTNAME_MAX)
			return gerr(err, errlen, field, s, "longer than %d "
			    "bytes", GR_HOSTNAME_MAX);
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return gerr(err, errlen, field, s, "empty "
				    "label or a label ending in '-'");
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_')
			return gerr(err, errlen, field, s, "not a host name "
			    "(letters, digits, '-', '_' and dots)");
		if (s[i] == '-' && label == 0)
			return gerr(err, errlen, field, s, "a label starts "
			    "with '-'");
		if (++label > 63)
			return gerr(err, errlen, field, s, "a label longer "
			    "than 63 bytes");
	}
	if (i == 0 || label == 0 || s[i - 1] == '-')
		return gerr(err, errlen, field, s, "empty, or an empty last "
		    "label, or a label ending in '-'");
	last = strrchr(s, '.');
	last = last == NULL ? s : last + 1;
	for (i = 0; isdigit((unsigned char)last[i]); i++)
		;
	if (inet_aton(s, &in) || last[i] == '\0')
		return gerr(err, errlen, field, s, "an IP address, not a host "
		    "name");
	return 0;
}

int
gr_hexdigit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
gr_id(const char *s)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return i == CTL_ID_SIZE - 1;
}

const char *const gr_inj_names[] = {
	"header", "query", "basic", "hmac", "awsSigv4", "oauth2Refresh",
	"uriPlaceholder", NULL
};
