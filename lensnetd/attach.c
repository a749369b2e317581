/*
 * The NETD_ATTACH request lensvmm sends (common/lensnetd_imsg.h):
 * checked here, field by field, before the parent acts on any of it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "grammar.h"
#include "phscan.h"
#include "lensnetd.h"
#include "policy.h"

static int
aerr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
aerr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int
zero(const uint8_t *p, size_t n)
{
	while (n-- > 0)
		if (*p++ != 0)
			return 0;
	return 1;
}

int
attach_parse(const void *data, size_t len, int has_fd,
    struct attach_req *req, char *err, size_t errlen)
{
	const char	*p, *end, *nul;
	size_t		 i;

	memset(req, 0, sizeof(*req));
	if (data == NULL || len < sizeof(req->a))
		return aerr(err, errlen, "ATTACH: %zu bytes, need at least %zu",
		    len, sizeof(req->a));
	memcpy(&req->a, data, sizeof(req->a));
	if (memchr(req->a.sandbox, '\0', sizeof(req->a.sandbox)) == NULL)
		return aerr(err, errlen, "ATTACH: sandbox id not "
		    "NUL-terminated");
	if (!gr_id(req->a.sandbox))
		return aerr(err, errlen, "ATTACH: sandbox id is not 64 "
		    "lowercase hex digits");
	if (!zero(req->a.pad, sizeof(req->a.pad)))
		return aerr(err, errlen, "ATTACH: padding not zero");
	if (memchr(req->a.instance, '\0', sizeof(req->a.instance)) == NULL ||
	    !zero((const uint8_t *)req->a.instance +
	    strlen(req->a.instance), sizeof(req->a.instance) -
	    strlen(req->a.instance)))
		return aerr(err, errlen, "ATTACH: instance not NUL-padded");
	if ((req->a.reattach.s_addr != 0) != (req->a.instance[0] != '\0'))
		return aerr(err, errlen, "ATTACH: a re-attach names both its "
		    "address and its lensnetd instance, a new sandbox neither");
	if (req->a.reattach.s_addr != 0 &&
	    req->a.backend != NETD_BACKEND_JAIL)
		return aerr(err, errlen, "ATTACH: only a jail is re-attached");
	if (req->a.nplaceholder > PHSCAN_MAXSET)
		return aerr(err, errlen, "ATTACH: %u placeholders, at most %d",
		    req->a.nplaceholder, PHSCAN_MAXSET);
	switch (req->a.backend) {
	case NETD_BACKEND_JAIL:
		if (!has_fd)
			return aerr(err, errlen, "ATTACH: backend jail needs "
			    "the sandbox's network namespace as descriptor");
		break;
	case NETD_BACKEND_MICROVM:
		if (has_fd)
			return aerr(err, errlen, "ATTACH: backend microvm "
			    "takes no descriptor");
		break;
	default:
		return aerr(err, errlen, "ATTACH: unknown backend %u",
		    req->a.backend);
	}
	if (req->a.policylen > POLICY_MODEL_MAXSIZE)
		return aerr(err, errlen, "ATTACH: policy model of %u bytes, at "
		    "most %u", req->a.policylen,
		    (unsigned)POLICY_MODEL_MAXSIZE);
	if (req->a.npublish > NETD_MAXPUBLISH)
		return aerr(err, errlen, "ATTACH: %u published ports, at most "
		    "%d", req->a.npublish, NETD_MAXPUBLISH);
	p = (const char *)data + sizeof(req->a);
	end = (const char *)data + len;
	if ((size_t)(end - p) < req->a.policylen)
		return aerr(err, errlen, "ATTACH: policy length %u beyond the "
		    "message", req->a.policylen);
	req->policy = p;
	req->policylen = req->a.policylen;
	p += req->a.policylen;
	for (i = 0; i < req->a.npublish; i++) {
		if (p >= end || (nul = memchr(p, '\0', end - p)) == NULL)
			return aerr(err, errlen, "ATTACH: published port %zu "
			    "missing or not NUL-terminated", i + 1);
		if (nul == p || nul - p > GR_SPEC_MAX)
			return aerr(err, errlen, "ATTACH: published port %zu: "
			    "length %zu", i + 1, (size_t)(nul - p));
		req->publish[i] = p;
		p = nul + 1;
	}
	req->npublish = req->a.npublish;
	if ((size_t)(end - p) < (size_t)req->a.nplaceholder * PH_SIZE)
		return aerr(err, errlen, "ATTACH: %u placeholders beyond the "
		    "message", req->a.nplaceholder);
	for (i = 0; i < req->a.nplaceholder; i++, p += PH_SIZE) {
		size_t	 j;

		if (p[PH_LEN] != '\0' || !ph_valid(p, strnlen(p, PH_LEN)))
			return aerr(err, errlen, "ATTACH: placeholder %zu is "
			    "not lens-ph- and %d base32 characters", i + 1,
			    PH_RANDLEN);
		for (j = 0; j < i; j++)
			if (memcmp(req->placeholder[j], p, PH_LEN) == 0)
				return aerr(err, errlen, "ATTACH: placeholder "
				    "%zu repeats %zu", i + 1, j + 1);
		req->placeholder[i] = p;
	}
	req->nplaceholder = req->a.nplaceholder;
	if (p != end)
		return aerr(err, errlen, "ATTACH: %zu bytes after the last "
		    "field", (size_t)(end - p));
	return 0;
}
