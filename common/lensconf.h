/*
 * /etc/lens/lens.conf: one file for every Lens daemon (lens.conf(5)).
 *
 *	# comment
 *	[lensnetd]
 *	upstream 192.0.2.53
 *
 * A section per daemon; each key stands for one of that daemon's
 * command-line flags.  The daemon's argv is rebuilt as the file's flags
 * followed by the command line's, and a flag given on the command line
 * drops the file's key for it: flags override the file.
 */
#ifndef LENSCONF_H
#define LENSCONF_H

#include <stddef.h>

#define LENSCONF_PATH		"/etc/lens/lens.conf"
#define LENSCONF_MAXFILE	65536
#define LENSCONF_MAXLINE	1024

enum lensconf_type {
	LC_PATH,	/* absolute path, no blanks */
	LC_NUM,		/* decimal digits */
	LC_SIZE,	/* decimal digits, optional k, m or g */
	LC_WORD,	/* one word of printable characters */
	LC_TEXT,	/* the rest of the line, blanks included */
	LC_BOOL,	/* yes or no: the flag (no argument) or nothing */
};

struct lensconf_key {
	const char		*key;
	char			 flag;
	enum lensconf_type	 type;
	int			 repeat;	/* may be given more than once */
};

/* one entry found in the daemon's section */
typedef int (*lensconf_cb)(void *arg, const struct lensconf_key *k,
    const char *value, int line);

/* the keys of a daemon's section, NULL for an unknown daemon */
const struct lensconf_key *lensconf_keys(const char *section);

/*
 * Parse the whole text (every section is checked, so a typo anywhere is
 * reported by every daemon) and call cb for the entries of `section'.
 * -1 with "name:line: what" in err.
 */
int	lensconf_parse(const char *name, const char *buf, size_t len,
	    const char *section, lensconf_cb cb, void *arg, char *err,
	    size_t errlen);

/*
 * A daemon's entry: take -f FILE from the command line (default
 * LENSCONF_PATH, which may be missing; a FILE given must exist), read
 * the file's section and put its flags in front of the command line's,
 * but for the flags the command line gives itself.  optstring is the
 * daemon's getopt string without "f:".  The daemon's getopt then runs
 * on the new argv with "f:" added and ignores f.  -1 with err set.
 */
int	lensconf_args(const char *section, const char *optstring, int *argc,
	    char ***argv, char *err, size_t errlen);

/* free what lensconf_args made of an argv of oldargc, now newargc */
void	lensconf_args_free(char **argv, int oldargc, int newargc);

/*
 * lensconf_args() for a daemon's main: exits 2 with the error on
 * stderr.  The command line it was given stays in lensconf_argc and
 * lensconf_argv (proc_init() takes its memory for the process titles).
 */
extern int	  lensconf_argc;
extern char	**lensconf_argv;
void	lensconf_init(const char *section, const char *optstring, int *argc,
	    char ***argv);

/*
 * The first "nameserver ADDR" of a resolv.conf text for which skip()
 * returns 0 (skip may be NULL), copied to out.  -1 if there is none.
 */
int	lensconf_resolv(const char *buf, size_t len,
	    int (*skip)(const char *addr, void *arg), void *arg, char *out,
	    size_t outlen);

/* the same of a file (/etc/resolv.conf); -1 with err set */
int	lensconf_resolv_file(const char *path,
	    int (*skip)(const char *addr, void *arg), void *arg, char *out,
	    size_t outlen, char *err, size_t errlen);

#endif /* LENSCONF_H */
