/*
 * lens.conf(5): the daemons' configuration file.  The grammar is lines;
 * a line is blank, a comment (first non-blank character '#'), a section
 * header "[daemon]" or "key value".  Every key is one flag of the
 * daemon the section names: the daemon's own flag parser still checks
 * the value, this file only checks its form and says where it is.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lensconf.h"

static const struct lensconf_key auditd_keys[] = {
	{ "checkpoint-interval", 't', LC_NUM, 0 },
	{ "checkpoint-records", 'n', LC_NUM, 0 },
	{ "keep-free", 'F', LC_SIZE, 0 },
	{ "log-dir", 'D', LC_PATH, 0 },
	{ "pubfile", 'P', LC_PATH, 0 },
	{ "rotate-size", 'r', LC_SIZE, 0 },
	{ "socket", 's', LC_PATH, 0 },
	{ "users", 'u', LC_WORD, 0 },
	{ "verbose", 'v', LC_BOOL, 0 },
	{ "witness", 'W', LC_PATH, 0 },
	{ "witness-ca", 'C', LC_PATH, 0 },
	{ "witness-collector", 'w', LC_WORD, 0 },
	{ NULL, 0, 0, 0 }
};

static const struct lensconf_key credd_keys[] = {
	{ "audit-socket", 'a', LC_PATH, 0 },
	{ "leaves-per-hour", 'L', LC_NUM, 0 },
	{ "socket", 's', LC_PATH, 0 },
	{ "state-dir", 'D', LC_PATH, 0 },
	{ "trust", 'T', LC_PATH, 0 },
	{ "users", 'u', LC_WORD, 0 },
	{ "verbose", 'v', LC_BOOL, 0 },
	{ NULL, 0, 0, 0 }
};

static const struct lensconf_key netd_keys[] = {
	{ "approval-socket", 'A', LC_PATH, 0 },
	{ "approval-timeout", 'w', LC_NUM, 0 },
	{ "audit-query-max", 'q', LC_NUM, 0 },
	{ "audit-socket", 'a', LC_PATH, 0 },
	{ "body-max", 'B', LC_NUM, 0 },
	{ "ca-dir", 'C', LC_PATH, 0 },
	{ "conns", 'c', LC_NUM, 0 },
	{ "cred-socket", 'k', LC_PATH, 0 },
	{ "held-max", 'b', LC_NUM, 0 },
	{ "instance", 'n', LC_WORD, 0 },
	{ "lookups", 'l', LC_NUM, 0 },
	{ "pool", 'p', LC_WORD, 0 },
	{ "rate", 'r', LC_WORD, 0 },
	{ "socket", 's', LC_PATH, 0 },
	{ "trust", 'T', LC_PATH, 0 },
	{ "upstream", 'u', LC_WORD, 0 },
	{ "verbose", 'v', LC_BOOL, 0 },
	{ NULL, 0, 0, 0 }
};

static const struct lensconf_key vmm_keys[] = {
	{ "approval-socket", 'A', LC_PATH, 0 },
	{ "audit-socket", 'a', LC_PATH, 0 },
	{ "boot-timeout", 'T', LC_NUM, 0 },
	{ "cgroup", 'c', LC_WORD, 0 },
	{ "guest-dir", 'g', LC_PATH, 0 },
	{ "image-cache", 'C', LC_SIZE, 0 },
	{ "kernel-args", 'k', LC_TEXT, 0 },
	{ "layer-entries", 'E', LC_NUM, 0 },
	{ "layer-file-size", 'F', LC_SIZE, 0 },
	{ "layer-size", 'L', LC_SIZE, 0 },
	{ "lens-init", 'i', LC_PATH, 0 },
	{ "netd-socket", 'n', LC_PATH, 0 },
	{ "policy", 'P', LC_PATH, 0 },
	{ "protect", 'x', LC_PATH, 1 },
	{ "socket", 's', LC_PATH, 0 },
	{ "state-dir", 'D', LC_PATH, 0 },
	{ "verbose", 'v', LC_BOOL, 0 },
	{ NULL, 0, 0, 0 }
};

static const struct {
	const char			*name;
	const struct lensconf_key	*keys;
} sections[] = {
	{ "lensauditd", auditd_keys },
	{ "lenscredd", credd_keys },
	{ "lensnetd", netd_keys },
	{ "lensvmm", vmm_keys },
};
#define NSECTIONS	(sizeof(sections) / sizeof(sections[0]))
#define MAXKEYS		32	/* of a section: lensconf_parse's seen[] */
#define NKEYS(k)	(sizeof(k) / sizeof((k)[0]) - 1)
_Static_assert(NKEYS(auditd_keys) <= MAXKEYS, "auditd_keys");
_Static_assert(NKEYS(credd_keys) <= MAXKEYS, "credd_keys");
_Static_assert(NKEYS(netd_keys) <= MAXKEYS, "netd_keys");
_Static_assert(NKEYS(vmm_keys) <= MAXKEYS, "vmm_keys");

const struct lensconf_key *
lensconf_keys(const char *section)
{
	size_t	 i;

	for (i = 0; i < NSECTIONS; i++)
		if (strcmp(sections[i].name, section) == 0)
			return sections[i].keys;
	return NULL;
}

static int
fail(char *err, size_t errlen, const char *name, int line,
    const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[256];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(err, errlen, "%s:%d: %s", name, line, msg);
	else
		snprintf(err, errlen, "%s: %s", name, msg);
	return -1;
}

static int
value_ok(const struct lensconf_key *k, const char *v, const char **why)
{
	size_t	 n;

	switch (k->type) {
	case LC_PATH:
		*why = "need an absolute path without blanks";
		return v[0] == '/' && strpbrk(v, " \t") == NULL;
	case LC_NUM:
		*why = "need a decimal number";
		n = strspn(v, "0123456789");
		return n > 0 && n <= 19 && v[n] == '\0';
	case LC_SIZE:
		*why = "need a decimal number, optionally followed by k, m "
		    "or g";
		n = strspn(v, "0123456789");
		return n > 0 && n <= 19 && (v[n] == '\0' ||
		    (strchr("kKmMgG", v[n]) != NULL && v[n + 1] == '\0'));
	case LC_WORD:
		*why = "need one word without blanks";
		return strpbrk(v, " \t") == NULL;
	case LC_TEXT:
		return 1;
	case LC_BOOL:
		*why = "need yes or no";
		return strcmp(v, "yes") == 0 || strcmp(v, "no") == 0;
	}
	*why = "bad key type";
	return 0;
}

int
lensconf_parse(const char *name, const char *buf, size_t len,
    const char *section, lensconf_cb cb, void *arg, char *err, size_t errlen)
{
	const struct lensconf_key	*keys = NULL, *k;
	char				 line[LENSCONF_MAXLINE + 1], *p, *e, *v;
	int				 lineno = 0, seen[MAXKEYS];
	int				 sect_seen[NSECTIONS], cur = -1;
	size_t				 off = 0, n, i;
	const char			*why;

	if (len > LENSCONF_MAXFILE)
		return fail(err, errlen, name, 0, "longer than %d bytes",
		    LENSCONF_MAXFILE);
	if (memchr(buf, '\0', len) != NULL)
		return fail(err, errlen, name, 0, "has a NUL byte");
	memset(sect_seen, 0, sizeof(sect_seen));
	while (off < len) {
		lineno++;
		e = memchr(buf + off, '\n', len - off);
		n = (e != NULL ? (size_t)(e - (buf + off)) : len - off);
		if (n > LENSCONF_MAXLINE)
			return fail(err, errlen, name, lineno,
			    "line longer than %d bytes", LENSCONF_MAXLINE);
		memcpy(line, buf + off, n);
		line[n] = '\0';
		off += n + (e != NULL);
		for (i = 0; i < n; i++)
			if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
				return fail(err, errlen, name, lineno,
				    "control character 0x%02x",
				    (unsigned char)line[i]);
			else if ((unsigned char)line[i] >= 0x7f)
				return fail(err, errlen, name, lineno,
				    "byte 0x%02x: only printable ASCII",
				    (unsigned char)line[i]);
		p = line + strspn(line, " \t");
		while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
			line[--n] = '\0';
		if (*p == '\0' || *p == '#')
			continue;
		if (*p == '[') {
			if ((e = strchr(p, ']')) == NULL || e[1] != '\0')
				return fail(err, errlen, name, lineno,
				    "need a section header [NAME]");
			*e = '\0';
			for (i = 0; i < NSECTIONS; i++)
				if (strcmp(sections[i].name, p + 1) == 0)
					break;
			if (i == NSECTIONS)
				return fail(err, errlen, name, lineno,
				    "unknown section [%s]: lensauditd, "
				    "lenscredd, lensnetd or lensvmm", p + 1);
			if (sect_seen[i])
				return fail(err, errlen, name, lineno,
				    "section [%s] already given at line %d",
				    p + 1, sect_seen[i]);
			sect_seen[i] = lineno;
			cur = (int)i;
			keys = sections[i].keys;
			memset(seen, 0, sizeof(seen));
			continue;
		}
		v = p + strcspn(p, " \t");
		if (*v != '\0') {
			*v++ = '\0';
			v += strspn(v, " \t");
		}
		if (keys == NULL)
			return fail(err, errlen, name, lineno,
			    "key %s before any [section]", p);
		for (i = 0, k = keys; k->key != NULL; i++, k++)
			if (strcmp(k->key, p) == 0)
				break;
		if (k->key == NULL)
			return fail(err, errlen, name, lineno,
			    "unknown key %s in [%s]", p, sections[cur].name);
		if (*v == '\0')
			return fail(err, errlen, name, lineno,
			    "key %s needs a value", p);
		if (!value_ok(k, v, &why))
			return fail(err, errlen, name, lineno, "%s %s: %s",
			    p, v, why);
		if (seen[i] && !k->repeat)
			return fail(err, errlen, name, lineno,
			    "key %s already given at line %d", p, seen[i]);
		seen[i] = lineno;
		if (section != NULL && cb != NULL &&
		    strcmp(section, sections[cur].name) == 0 &&
		    cb(arg, k, v, lineno) == -1)
			return fail(err, errlen, name, lineno,
			    "%s: out of memory", p);
	}
	return 0;
}

struct argbuild {
	char		**av;
	int		  ac;
	int		  max;
	const char	 *given;	/* flags on the command line */
};

static int
add_arg(struct argbuild *b, const char *s)
{
	if (b->ac + 1 >= b->max)
		return -1;
	if ((b->av[b->ac] = strdup(s)) == NULL)
		return -1;
	b->ac++;
	b->av[b->ac] = NULL;
	return 0;
}

static int
add_entry(void *arg, const struct lensconf_key *k, const char *value,
    int line)
{
	struct argbuild	*b = arg;
	char		 flag[3] = { '-', k->flag, '\0' };

	(void)line;
	if (strchr(b->given, k->flag) != NULL)
		return 0;
	if (k->type == LC_BOOL)
		return strcmp(value, "yes") == 0 ? add_arg(b, flag) : 0;
	if (add_arg(b, flag) == -1 || add_arg(b, value) == -1)
		return -1;
	return 0;
}

static int
read_file(const char *path, int must, char **out, size_t *outlen, char *err,
    size_t errlen)
{
	struct stat	 st;
	char		*buf;
	ssize_t		 r;
	size_t		 len = 0;
	int		 fd;

	*out = NULL;
	*outlen = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		if (errno == ENOENT && !must)
			return 0;
		return fail(err, errlen, path, 0, "%s", strerror(errno));
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(err, errlen, path, 0, "not a regular file");
	}
	if ((buf = malloc(LENSCONF_MAXFILE + 1)) == NULL) {
		close(fd);
		return fail(err, errlen, path, 0, "out of memory");
	}
	while (len <= LENSCONF_MAXFILE && (r = read(fd, buf + len,
	    LENSCONF_MAXFILE + 1 - len)) != 0) {
		if (r == -1) {
			if (errno == EINTR)
				continue;
			free(buf);
			close(fd);
			return fail(err, errlen, path, 0, "read: %s",
			    strerror(errno));
		}
		len += (size_t)r;
	}
	close(fd);
	*out = buf;
	*outlen = len;
	return 0;
}

int
lensconf_args(const char *section, const char *optstring, int *argc,
    char ***argv, char *err, size_t errlen)
{
	struct argbuild	 b;
	char		 opts[128], given[64], *buf;
	const char	*path = LENSCONF_PATH;
	size_t		 len, ng = 0;
	int		 ch, must = 0, i, rc, saved_opterr = opterr;

	if (snprintf(opts, sizeof(opts), ":%sf:", optstring) >=
	    (int)sizeof(opts))
		return fail(err, errlen, section, 0, "option string too long");
	/* which flags the command line gives (errors are getopt's later) */
	opterr = 0;
	optind = 0;
	while ((ch = getopt(*argc, *argv, opts)) != -1) {
		if (ch == 'f')
			path = optarg, must = 1;
		else if (ch != '?' && ch != ':' && ng + 1 < sizeof(given) &&
		    memchr(given, ch, ng) == NULL)
			given[ng++] = (char)ch;
	}
	given[ng] = '\0';
	opterr = saved_opterr;
	optind = 0;
	if (read_file(path, must, &buf, &len, err, errlen) == -1)
		return -1;
	b.max = *argc + 2 * LENSCONF_MAXFILE / 4 + 2;
	if ((b.av = calloc((size_t)b.max, sizeof(char *))) == NULL) {
		free(buf);
		return fail(err, errlen, path, 0, "out of memory");
	}
	b.ac = 0;
	b.given = given;
	b.av[b.ac++] = (*argv)[0];
	rc = buf == NULL ? 0 : lensconf_parse(path, buf, len, section,
	    add_entry, &b, err, errlen);
	free(buf);
	if (rc == -1) {
		for (i = 1; i < b.ac; i++)
			free(b.av[i]);
		free(b.av);
		return -1;
	}
	/* "--" ends the file's flags: an operand never follows them */
	for (i = 1; i < *argc; i++)
		b.av[b.ac++] = (*argv)[i];
	b.av[b.ac] = NULL;
	*argc = b.ac;
	*argv = b.av;
	return 0;
}

void
lensconf_args_free(char **argv, int oldargc, int newargc)
{
	int	 i;

	/* the file's flags, strdup'ed, come right after argv[0] */
	for (i = 1; i <= newargc - oldargc; i++)
		free(argv[i]);
	free(argv);
}

int	  lensconf_argc;
char	**lensconf_argv;

void
lensconf_init(const char *section, const char *optstring, int *argc,
    char ***argv)
{
	char	 err[512];

	lensconf_argc = *argc;
	lensconf_argv = *argv;
	if (lensconf_args(section, optstring, argc, argv, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "%s: %s\n", section, err);
		exit(2);
	}
}

int
lensconf_resolv(const char *buf, size_t len,
    int (*skip)(const char *addr, void *arg), void *arg, char *out,
    size_t outlen)
{
	char	 line[512], *p, *a, *e;
	size_t	 off = 0, n;

	while (off < len) {
		e = memchr(buf + off, '\n', len - off);
		n = (e != NULL ? (size_t)(e - (buf + off)) : len - off);
		if (n >= sizeof(line))
			n = sizeof(line) - 1;	/* no address is that long */
		memcpy(line, buf + off, n);
		line[n] = '\0';
		off += (e != NULL ? (size_t)(e - (buf + off)) + 1 : len - off);
		p = line + strspn(line, " \t");
		if (strncmp(p, "nameserver", 10) != 0 || (p[10] != ' ' &&
		    p[10] != '\t'))
			continue;
		a = p + 10 + strspn(p + 10, " \t");
		a[strcspn(a, " \t#;\r")] = '\0';
		if (*a == '\0' || strlen(a) >= outlen)
			continue;
		if (skip != NULL && skip(a, arg))
			continue;
		memcpy(out, a, strlen(a) + 1);
		return 0;
	}
	return -1;
}

int
lensconf_resolv_file(const char *path,
    int (*skip)(const char *addr, void *arg), void *arg, char *out,
    size_t outlen, char *err, size_t errlen)
{
	char	*buf;
	size_t	 len;
	int	 rc;

	if (read_file(path, 1, &buf, &len, err, errlen) == -1)
		return -1;
	rc = lensconf_resolv(buf, len, skip, arg, out, outlen);
	free(buf);
	if (rc == -1)
		return fail(err, errlen, path, 0, "no nameserver line with "
		    "an address outside the sandboxes' pool");
	return 0;
}
