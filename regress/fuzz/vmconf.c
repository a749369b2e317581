/*
 * libFuzzer target for the lens.* keys of a microVM's kernel command
 * line (lensvmm/guest/vmconf.c).  The VMM writes that line, but
 * lens-init parses it with bounds checks all the same.
 *
 * Input: the command line, as /proc/cmdline would give it.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lensvmm/guest/vm.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct vmconf	 vc;
	char		 err[256];
	size_t		 i, n;

	memset(err, 'x', sizeof(err));
	if (vmconf_parse(&vc, (const char *)data, len, err,
	    sizeof(err)) == -1) {
		if (memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0')
			abort();
		return 0;
	}
	if (err[0] != '\0')
		abort();
	if (vc.has_ip && (vc.prefix < 1 || vc.prefix > 32))
		abort();
	if (vc.has_gw && !vc.has_ip)
		abort();
	if (vc.mtu != 0 && (vc.mtu < 68 || vc.mtu > 65535))
		abort();
	if (vc.timeout_s < 1 || vc.timeout_s > 600)
		abort();
	if ((n = strnlen(vc.hostname, sizeof(vc.hostname))) ==
	    sizeof(vc.hostname))
		abort();
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)vc.hostname[i]) &&
		    vc.hostname[i] != '-' && vc.hostname[i] != '.')
			abort();
	if (vc.rootfstype[0] != '\0' && strcmp(vc.rootfstype, "ext4") != 0 &&
	    strcmp(vc.rootfstype, "erofs") != 0)
		abort();
	return 0;
}
