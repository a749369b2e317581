/*
 * The small input grammars shared by the command line (lensctl),
 * the policy file (common/policy_yaml.c, policy_wire.c) and the daemons that check what
 * they are sent (lensvmm's control, lensnetd): sizes, CPUs, counts,
 * ports, published ports, volumes, sandbox names, references and ids.
 * One parser each, so that every place accepts the same spellings.
 *
 * A parser given a field ("--memory", "resources.memory", "-v") fills
 * err with "FIELD VALUE: reason" when it refuses, the value shown as
 * given (quoted and escaped when it is empty or not plain printable),
 * and returns -1; 0 and the result otherwise.
 */
#ifndef LENS_GRAMMAR_H
#define LENS_GRAMMAR_H

#include <netinet/in.h>

#include <stddef.h>
#include <stdint.h>

#include "lensvmm_imsg.h"

#define GR_MEMORY_MIN	(4ULL << 20)	/* lens-init and a shell */
#define GR_MEMORY_MAX	(1ULL << 50)	/* 1024t */
#define GR_CPUS_MAX	1024		/* whole CPUs */
#define GR_PIDS_MAX	4194304		/* the kernel's PID_MAX_LIMIT */
#define GR_SPEC_MAX	127		/* a -p or publish entry */
#define GR_ERRSIZE	384		/* enough for every message */

/*
 * A size: decimal digits (no leading zero) and an optional unit b, k,
 * m, g or t in either case, k to t optionally followed by b or ib;
 * powers of 1024.  In [min, max].
 */
int	gr_size(const char *field, const char *s, uint64_t min, uint64_t max,
	    uint64_t *out, char *err, size_t errlen);

/* CPUs: a plain decimal with at most 3 decimals, 0.001 to GR_CPUS_MAX,
 * in thousandths ("1.5" is 1500) */
int	gr_cpus(const char *field, const char *s, uint32_t *millis,
	    char *err, size_t errlen);

/* a decimal without sign or leading zero in [min, max] */
int	gr_uint(const char *field, const char *s, uint64_t min, uint64_t max,
	    uint64_t *out, char *err, size_t errlen);

/* a port: len decimal digits, 1 to 65535, no leading zero; -1 if not */
int	gr_port(const char *s, size_t len);

/* "[ADDR:]HOSTPORT:PORT[/tcp]", ADDR IPv4 or [IPv6] */
struct gr_publish {
	char		addr[INET6_ADDRSTRLEN]; /* default 127.0.0.1 */
	uint16_t	hostport, port;	/* host side, sandbox side */
	int		proto;			/* IPPROTO_TCP */
};
int	gr_publish(const char *field, const char *spec, struct gr_publish *,
	    char *err, size_t errlen);

/*
 * "SRC:DST[:ro|:rw]": both absolute, printable, without "." or ".."
 * components, shorter than CTL_PATH_SIZE; DST not / and not in /proc
 * or /dev.  The paths come out with repeated and trailing slashes
 * removed.
 */
struct gr_volume {
	char		src[CTL_PATH_SIZE];
	char		dst[CTL_PATH_SIZE];
	int		ro;
};
int	gr_volume(const char *field, const char *spec, struct gr_volume *,
	    char *err, size_t errlen);

/*
 * "PATH[:OPT,...]" (run --tmpfs): PATH absolute and in normal form (no
 * ".", "..", repeated or trailing slash), printable, not / and not in
 * /proc or /sys; OPT size=SIZE (gr_size, 4k to GR_MEMORY_MAX) or
 * mode=OCTAL (at most 07777).  size 0 when not given (the default is
 * lensvmm's: GR_TMPFS_SIZE, at most the sandbox's memory); mode 01777
 * when not given.
 */
#define GR_TMPFS_SIZE	(64ULL << 20)
#define GR_MAXTMPFS	16
struct gr_tmpfs {
	char		path[CTL_PATH_SIZE];
	uint64_t	size;		/* 0: the default */
	unsigned int	mode;
};
int	gr_tmpfs(const char *field, const char *spec, struct gr_tmpfs *,
	    char *err, size_t errlen);

/*
 * "NAME=SOFT[:HARD]" (run --ulimit), docker's names: nofile, nproc,
 * core, stack, fsize, memlock, as, cpu; each value a decimal or
 * "unlimited" (or -1), HARD defaults to SOFT and is not below it.
 * resource is the RLIMIT_* number, RLIM_INFINITY for unlimited.
 */
#define GR_MAXULIMITS	8
struct gr_ulimit {
	const char	*name;		/* static */
	int		 resource;
	uint64_t	 soft, hard;
};
int	gr_ulimit(const char *field, const char *spec, struct gr_ulimit *,
	    char *err, size_t errlen);

/* a sandbox name: 1 to CTL_NAME_SIZE - 1 letters, digits, '_', '-' and
 * '.', the first a letter or digit */
int	gr_name(const char *field, const char *s, char *err, size_t errlen);

/* a reference to a sandbox: a name, an id or an id prefix (the same
 * characters, up to CTL_ID_SIZE - 1) */
int	gr_ref(const char *field, const char *s, char *err, size_t errlen);

/* the name of a stored credential (lenscredd's store, a policy's
 * credentials: id): 1 to GR_CRED_MAX of the same characters */
/*
 * A credential injection's type (policy credentials: injections[].type,
 * lenscredd's exchange), and its name in policies and audit events.
 */
enum inj_type {
	INJ_HEADER, INJ_QUERY, INJ_BASIC, INJ_HMAC, INJ_SIGV4, INJ_OAUTH2,
	INJ_URIPH
};
#define INJ_LAST	INJ_URIPH
extern const char *const gr_inj_names[];	/* by enum inj_type, NULL */

#define GR_CRED_MAX	64
int	gr_cred(const char *field, const char *s, char *err, size_t errlen);

/*
 * A DNS host name as a certificate or a TLS server name carries it:
 * labels of 1 to 63 letters, digits, '-' (not first or last) and '_',
 * separated by single dots, 1 to GR_HOSTNAME_MAX bytes in all, no
 * trailing dot; never an IP literal (whatever inet_aton(3) takes, or a
 * numeric last label).
 */
#define GR_HOSTNAME_MAX	253
int	gr_hostname(const char *field, const char *s, char *err,
	    size_t errlen);

/* the value of a hex digit (either case), -1 for any other byte */
int	gr_hexdigit(int c);

/* a sandbox id: exactly CTL_ID_SIZE - 1 lowercase hex digits; 1 if so */
int	gr_id(const char *s);

#endif
