/*
 * libFuzzer target for lensnetd's check of a NETD_ATTACH request
 * (lensnetd/attach.c), which comes from lensvmm over the control
 * socket.  Byte 0 says whether a descriptor came with it (bit 0); the
 * rest is the payload.  An accepted request must have every pointer
 * inside the payload and every string NUL-terminated there; a refused
 * one must say why.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lensnetd.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct attach_req	 req;
	char			 err[256];
	const char		*p, *end;
	uint32_t		 i;

	if (len < 1)
		return 0;
	err[0] = '\0';
	p = (const char *)data + 1;
	end = p + (len - 1);
	if (attach_parse(p, len - 1, data[0] & 1, &req, err,
	    sizeof(err)) == -1) {
		if (err[0] == '\0' || strlen(err) >= sizeof(err))
			abort();
		return 0;
	}
	if (strlen(req.a.sandbox) != CTL_ID_SIZE - 1 ||
	    req.npublish > NETD_MAXPUBLISH ||
	    (req.a.backend == NETD_BACKEND_JAIL) != (data[0] & 1) ||
	    req.policy < p || req.policy + req.policylen > end ||
	    req.nplaceholder > PHSCAN_MAXSET)
		abort();
	for (i = 0; i < req.nplaceholder; i++)	/* in the message, valid */
		if (req.placeholder[i] < p ||
		    req.placeholder[i] + PH_SIZE > end ||
		    !ph_valid(req.placeholder[i], strlen(req.placeholder[i])))
			abort();
	for (i = 0; i < req.npublish; i++) {
		if (req.publish[i] < p || req.publish[i] >= end ||
		    memchr(req.publish[i], '\0', end - req.publish[i]) == NULL ||
		    strlen(req.publish[i]) == 0)
			abort();
	}
	return 0;
}
