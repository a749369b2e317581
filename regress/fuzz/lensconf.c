/*
 * libFuzzer target for lens.conf(5)'s parser (common/lensconf.c).
 *
 * The input is parsed as a lens.conf for each daemon and as a
 * resolv.conf.  Never a crash or a leak, and these must hold: an error
 * names the file and is NUL-terminated in its buffer; every entry's key
 * belongs to the section asked for and its value is non-empty, free of
 * control characters and found in the input; a nameserver found is a
 * piece of the input without blanks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lensconf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct ctx {
	const struct lensconf_key	*keys;
	const uint8_t			*in;
	size_t				 len;
};

static int
check(void *arg, const struct lensconf_key *k, const char *v, int line)
{
	struct ctx			*c = arg;
	const struct lensconf_key	*p;
	size_t				 n = strlen(v), i;

	for (p = c->keys; p->key != NULL && p != k; p++)
		;
	if (p != k || n == 0 || line < 1)
		abort();
	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 && v[i] != '\t')
			abort();
	if (memmem(c->in, c->len, v, n) == NULL)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char	*names[] = { "lensauditd", "lenscredd",
				    "lensnetd", "lensvmm" };
	struct ctx		 c;
	char			 err[256], ns[64];
	size_t			 i;

	c.in = data;
	c.len = size;
	for (i = 0; i < 4; i++) {
		c.keys = lensconf_keys(names[i]);
		memset(err, 'x', sizeof(err));
		if (lensconf_parse("f", (const char *)data, size, names[i],
		    check, &c, err, sizeof(err)) == -1 &&
		    (memchr(err, '\0', sizeof(err)) == NULL ||
		    strncmp(err, "f:", 2) != 0))
			abort();
	}
	if (lensconf_resolv((const char *)data, size, NULL, NULL, ns,
	    sizeof(ns)) == 0 && (ns[0] == '\0' || strpbrk(ns, " \t\n") !=
	    NULL || memmem(data, size, ns, strlen(ns)) == NULL))
		abort();
	return 0;
}
