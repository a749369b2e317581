/*
 * lens-init: the lens.* keys of the kernel command line.
 *
 *	lens.ip=ADDR/PREFIX lens.gw=ADDR lens.mtu=N lens.hostname=NAME
 *	lens.timeout=SECONDS lens.rootfstype=ext4|erofs lens.verbose[=0|1]
 *	lens.mode=vm
 *
 * Words are split as the kernel splits them: on blanks outside double
 * quotes, the quotes removed; "--" ends the kernel's part.  Other words
 * are the kernel's and are skipped.  No system calls here.
 */
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm.h"

#define WORD_MAX	256

static int
num(const char *s, long lo, long hi, long *out)
{
	char	*ep;
	long	 l;

	if (*s == '\0' || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	l = strtol(s, &ep, 10);
	if (*ep != '\0' || errno != 0 || l < lo || l > hi)
		return -1;
	*out = l;
	return 0;
}

static int
addr4(const char *s, struct in_addr *a)
{
	/* inet_pton: exactly four decimal parts, no shorthand */
	return inet_pton(AF_INET, s, a) == 1 ? 0 : -1;
}

static int
hostname_ok(const char *s)
{
	size_t	 i, n = strlen(s);

	if (n == 0 || n >= VM_HOSTNAME_SIZE || s[0] == '-' || s[0] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '.')
			return 0;
	return 1;
}

/* one lens.* word: key (after "lens."), value or NULL */
static int
word(struct vmconf *vc, const char *key, const char *val, char *err,
    size_t errlen)
{
	char	 buf[WORD_MAX], *slash;
	long	 l;

	if (strcmp(key, "verbose") == 0) {
		if (val == NULL || strcmp(val, "1") == 0)
			vc->verbose = 1;
		else if (strcmp(val, "0") == 0)
			vc->verbose = 0;
		else
			goto bad;
		return 0;
	}
	if (val == NULL) {
		snprintf(err, errlen, "lens.%s: a value is needed", key);
		return -1;
	}
	if (strcmp(key, "ip") == 0) {
		snprintf(buf, sizeof(buf), "%s", val);
		if ((slash = strchr(buf, '/')) == NULL)
			goto bad;
		*slash++ = '\0';
		if (addr4(buf, &vc->ip) == -1 || num(slash, 1, 32, &l) == -1)
			goto bad;
		vc->prefix = (int)l;
		vc->has_ip = 1;
	} else if (strcmp(key, "gw") == 0) {
		if (addr4(val, &vc->gw) == -1)
			goto bad;
		vc->has_gw = 1;
	} else if (strcmp(key, "mtu") == 0) {
		if (num(val, 68, 65535, &l) == -1)
			goto bad;
		vc->mtu = (int)l;
	} else if (strcmp(key, "hostname") == 0) {
		if (!hostname_ok(val))
			goto bad;
		snprintf(vc->hostname, sizeof(vc->hostname), "%s", val);
	} else if (strcmp(key, "timeout") == 0) {
		if (num(val, 1, 600, &l) == -1)
			goto bad;
		vc->timeout_s = (int)l;
	} else if (strcmp(key, "rootfstype") == 0) {
		if (strcmp(val, "ext4") != 0 && strcmp(val, "erofs") != 0)
			goto bad;
		snprintf(vc->rootfstype, sizeof(vc->rootfstype), "%s", val);
	} else if (strcmp(key, "mode") == 0) {
		if (strcmp(val, "vm") != 0)
			goto bad;
	} else {
		snprintf(err, errlen, "unknown key lens.%s", key);
		return -1;
	}
	return 0;
 bad:
	snprintf(err, errlen, "lens.%s: bad value \"%.64s\"", key,
	    val == NULL ? "" : val);
	return -1;
}

int
vmconf_parse(struct vmconf *vc, const char *line, size_t len, char *err,
    size_t errlen)
{
	char	 w[WORD_MAX], *eq;
	size_t	 i = 0, n;
	int	 quote, toolong;

	memset(vc, 0, sizeof(*vc));
	vc->timeout_s = VM_TIMEOUT_S;
	if (errlen > 0)
		err[0] = '\0';
	if (len > VM_CMDLINE_MAX) {
		snprintf(err, errlen, "command line of %zu bytes, more than "
		    "%d", len, VM_CMDLINE_MAX);
		return -1;
	}
	for (;;) {
		while (i < len && (line[i] == ' ' || line[i] == '\t' ||
		    line[i] == '\n'))
			i++;
		if (i >= len || line[i] == '\0')
			break;
		n = 0;
		quote = toolong = 0;
		for (; i < len && line[i] != '\0'; i++) {
			if (line[i] == '"') {
				quote = !quote;
				continue;
			}
			if (!quote && (line[i] == ' ' || line[i] == '\t' ||
			    line[i] == '\n'))
				break;
			if (n + 1 < sizeof(w))
				w[n++] = line[i];
			else
				toolong = 1;
		}
		w[n] = '\0';
		if (strcmp(w, "--") == 0)
			break;
		if (strncmp(w, "lens.", 5) != 0)
			continue;
		if (toolong) {
			snprintf(err, errlen, "%.32s...: longer than %zu bytes",
			    w, sizeof(w) - 1);
			return -1;
		}
		if ((eq = strchr(w, '=')) != NULL)
			*eq++ = '\0';
		if (word(vc, w + 5, eq, err, errlen) == -1)
			return -1;
	}
	if (vc->has_gw && !vc->has_ip) {
		snprintf(err, errlen, "lens.gw without lens.ip");
		return -1;
	}
	if (vc->has_gw && vc->prefix < 32) {
		uint32_t m = htonl(~0U << (32 - vc->prefix));

		if ((vc->gw.s_addr & m) != (vc->ip.s_addr & m)) {
			snprintf(err, errlen, "lens.gw is not in the lens.ip "
			    "network");
			return -1;
		}
	}
	return 0;
}
