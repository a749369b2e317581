/*
 * lens.conf(5): common/lensconf.c.  The grammar, every error with its
 * file:line, the rebuilt argv (the file's flags first, a command-line
 * flag dropping the file's key), and resolv.conf's first nameserver.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lensconf.h"
#include "tap.h"

struct got {
	char	 flags[64];
	char	 vals[16][128];
	int	 n;
};

static int
collect(void *arg, const struct lensconf_key *k, const char *v, int line)
{
	struct got	*g = arg;

	(void)line;
	if (g->n == 16)
		return -1;
	g->flags[g->n] = k->flag;
	snprintf(g->vals[g->n], sizeof(g->vals[0]), "%s", v);
	g->n++;
	g->flags[g->n] = '\0';
	return 0;
}

static int
parse(const char *text, const char *section, struct got *g, char *err,
    size_t errlen)
{
	memset(g, 0, sizeof(*g));
	err[0] = '\0';
	return lensconf_parse("t.conf", text, strlen(text), section, collect,
	    g, err, errlen);
}

static void
bad(const char *text, const char *want, const char *what)
{
	struct got	 g;
	char		 err[256];
	int		 rc;

	rc = parse(text, "lensnetd", &g, err, sizeof(err));
	ok(rc == -1 && strstr(err, want) != NULL, "%s: %s", what, err);
}

static int
skip_10(const char *a, void *arg)
{
	(void)arg;
	return strncmp(a, "10.", 3) == 0;
}

int
main(void)
{
	struct got	 g;
	char		 err[256], path[] = "/tmp/lensconf.XXXXXX", ns[64];
	char		 big[LENSCONF_MAXFILE + 2], line[LENSCONF_MAXLINE + 64];
	char		*av0[] = { "lensnetd", "-d", "-u", "192.0.2.9", NULL };
	char		**av = av0;
	int		 ac = 4, fd, rc;
	FILE		*f;

	rc = parse("# all four\n\n[lensauditd]\ncheckpoint-interval 30\n"
	    "  [lensnetd]  \n\tupstream   198.18.0.53:5353\t\n"
	    "# comment\nverbose yes\nsocket /run/lens/x.sock\n"
	    "[lensvmm]\nkernel-args console=ttyS0 quiet\nprotect /a\n"
	    "protect /b\n[lenscredd]\nleaves-per-hour 7\n", "lensnetd", &g,
	    err, sizeof(err));
	ok(rc == 0 && strcmp(g.flags, "uvs") == 0 &&
	    strcmp(g.vals[0], "198.18.0.53:5353") == 0 &&
	    strcmp(g.vals[2], "/run/lens/x.sock") == 0,
	    "lensnetd's section, values trimmed (%s %s)", err, g.flags);
	rc = parse("[lensvmm]\nkernel-args console=ttyS0 quiet\nprotect /a\n"
	    "protect /b\n", "lensvmm", &g, err, sizeof(err));
	ok(rc == 0 && g.n == 3 && strcmp(g.vals[0], "console=ttyS0 quiet") ==
	    0 && strcmp(g.vals[2], "/b") == 0,
	    "text value keeps its blanks; a repeatable key twice");
	ok(parse("", "lensvmm", &g, err, sizeof(err)) == 0 && g.n == 0,
	    "an empty file is no entry");
	ok(parse("[lensnetd]\nupstream 192.0.2.1", "lensnetd", &g, err,
	    sizeof(err)) == 0 && g.n == 1, "last line without a newline");

	bad("[lensnetd]\nupstream 1.2.3.4\nfrobnicate 1\n",
	    "t.conf:3: unknown key frobnicate in [lensnetd]", "unknown key");
	bad("\n[lensnetd]\n[lensfoo]\n", "t.conf:3: unknown section [lensfoo]",
	    "unknown section");
	bad("# c\nupstream 1.2.3.4\n", "t.conf:2: key upstream before any",
	    "key before a section");
	bad("[lensnetd]\nupstream 1.2.3.4\nupstream 1.2.3.5\n",
	    "t.conf:3: key upstream already given at line 2", "duplicate key");
	bad("[lensnetd]\n[lensvmm]\n[lensnetd]\n",
	    "t.conf:3: section [lensnetd] already given at line 1",
	    "duplicate section");
	bad("[lensvmm]\nsocket run/x\n", "t.conf:2: socket run/x: need an "
	    "absolute path", "relative path");
	bad("[lensvmm]\nboot-timeout 12s\n", "t.conf:2: boot-timeout 12s: "
	    "need a decimal number", "number with a unit");
	bad("[lensvmm]\nimage-cache 12t\n", "t.conf:2: image-cache 12t",
	    "size with a bad unit");
	bad("[lensvmm]\nverbose 1\n", "t.conf:2: verbose 1: need yes or no",
	    "boolean");
	bad("[lensnetd]\nupstream\n", "t.conf:2: key upstream needs a value",
	    "key without a value");
	bad("[lensnetd]\nupstream 1.2.3.4 5\n", "t.conf:2: upstream 1.2.3.4 5:"
	    " need one word", "two words");
	bad("[lensnetd\n", "t.conf:1: need a section header", "open header");
	bad("[lensnetd] x\n", "t.conf:1: need a section header",
	    "text after a header");
	bad("[lensnetd]\nupstream 1.2.3.4\r\n", "t.conf:2: control character "
	    "0x0d", "carriage return");
	bad("[lensnetd]\npool \xc3\xa9\n", "t.conf:2: byte 0xc3", "non-ASCII");
	memset(line, 'a', sizeof(line));
	memcpy(line, "[lensnetd]\npool ", 16);
	line[sizeof(line) - 1] = '\0';
	bad(line, "t.conf:2: line longer than", "line too long");
	memset(big, '#', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	bad(big, "t.conf: longer than", "file too long");
	rc = lensconf_parse("t.conf", "[lensnetd]\n\0x", 13, "lensnetd",
	    collect, &g, err, sizeof(err));
	ok(rc == -1 && strstr(err, "NUL") != NULL, "NUL byte: %s", err);
	bad("[lensvmm]\nverbose 1\n[lensnetd]\n", "t.conf:2:",
	    "an error in another daemon's section is still an error");

	/* the argv: the file's flags first, but for the command line's */
	if ((fd = mkstemp(path)) == -1 || (f = fdopen(fd, "w")) == NULL)
		return 1;
	fprintf(f, "[lensnetd]\nupstream 198.18.0.1\nsocket /run/x.sock\n"
	    "verbose no\ninstance t1\n[lensvmm]\nverbose yes\n");
	fclose(f);
	av0[1] = "-f";
	av0[2] = path;
	av0[3] = "-d";
	rc = lensconf_args("lensnetd", "a:B:C:c:dk:l:n:p:q:r:s:T:u:v", &ac,
	    &av, err, sizeof(err));
	ok(rc == 0 && ac == 10 && strcmp(av[1], "-u") == 0 &&
	    strcmp(av[2], "198.18.0.1") == 0 && strcmp(av[3], "-s") == 0 &&
	    strcmp(av[5], "-n") == 0 && strcmp(av[7], "-f") == 0 &&
	    strcmp(av[9], "-d") == 0 && av[10] == NULL,
	    "file's flags, then the command line's (%d args)", ac);
	if (rc == 0)
		lensconf_args_free(av, 4, ac);
	av = av0;
	ac = 4;
	av0[1] = "-s/other.sock";
	av0[2] = "-f";
	av0[3] = path;
	rc = lensconf_args("lensnetd", "a:B:C:c:dk:l:n:p:q:r:s:T:u:v", &ac,
	    &av, err, sizeof(err));
	ok(rc == 0 && ac == 8 && strcmp(av[3], "-n") == 0 &&
	    strcmp(av[5], "-s/other.sock") == 0,
	    "-s on the command line drops the file's socket (%d args)", ac);
	if (rc == 0)
		lensconf_args_free(av, 4, ac);
	av = av0;
	ac = 4;
	rc = lensconf_args("lensvmm", "a:C:c:dD:g:i:k:n:P:s:T:vx:", &ac, &av,
	    err, sizeof(err));
	ok(rc == 0 && ac == 5 && strcmp(av[1], "-v") == 0,
	    "verbose yes is -v");
	if (rc == 0)
		lensconf_args_free(av, 4, ac);
	unlink(path);
	av = av0;
	ac = 4;
	rc = lensconf_args("lensnetd", "a:B:C:c:dk:l:n:p:q:r:s:T:u:v", &ac,
	    &av, err, sizeof(err));
	ok(rc == -1 && strstr(err, path) != NULL &&
	    strstr(err, "No such file") != NULL,
	    "-f of a missing file: %s", err);

	rc = lensconf_resolv("# x\nsearch test\nnameserver 10.200.0.1\n"
	    "nameserverX 1.1.1.1\n nameserver\t198.18.0.53  # r\n"
	    "nameserver 198.18.0.54\n", 93, skip_10, NULL, ns, sizeof(ns));
	ok(rc == 0 && strcmp(ns, "198.18.0.53") == 0,
	    "resolv.conf: the first nameserver not skipped (%s)", ns);
	rc = lensconf_resolv("nameserver 10.0.0.1\noptions ndots:1\n", 35,
	    skip_10, NULL, ns, sizeof(ns));
	ok(rc == -1, "resolv.conf: only skipped nameservers is none");
	return tap_done();
}
