/*
 * TEMPORARY (branch netcore only; delete at merge): weak stand-ins for
 * the part of common/policy.h lensnetd's parent uses, until
 * common/policy.c is merged.  Only the empty policy (no text, or only
 * blanks and comments) is accepted; it publishes nothing.
 * policy_parse_publish is complete.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

struct policy {
	int	 empty;
};

static struct policy	 empty_policy = { 1 };

__attribute__((weak)) struct policy *
policy_parse(const char *name, const void *buf, size_t len,
    struct policy_error *err)
{
	const char	*p = buf, *end = p + len;
	int		 comment = 0;

	for (; p < end; p++) {
		if (*p == '\n')
			comment = 0;
		else if (*p == '#')
			comment = 1;
		else if (!comment && !isspace((unsigned char)*p)) {
			memset(err, 0, sizeof(*err));
			snprintf(err->file, sizeof(err->file), "%s", name);
			snprintf(err->msg, sizeof(err->msg), "this build "
			    "accepts only the empty policy");
			return NULL;
		}
	}
	return &empty_policy;
}

__attribute__((weak)) struct policy *
policy_default(void)
{
	return &empty_policy;
}

__attribute__((weak)) void
policy_free(struct policy *p)
{
	(void)p;
}

__attribute__((weak)) void
policy_strerror(const struct policy_error *e, char *buf, size_t len)
{
	if (e->line > 0)
		snprintf(buf, len, "%s:%u:%u: %s", e->file, e->line,
		    e->column, e->msg);
	else
		snprintf(buf, len, "%s: %s", e->file, e->msg);
}

__attribute__((weak)) size_t
policy_npublish(const struct policy *p)
{
	(void)p;
	return 0;
}

__attribute__((weak)) const struct policy_publish *
policy_publish_at(const struct policy *p, size_t i)
{
	(void)p;
	(void)i;
	return NULL;
}

static int
port_parse(const char *s, uint16_t *port)
{
	char		*e;
	unsigned long	 v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &e, 10);
	if (*e != '\0' || errno != 0 || v < 1 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* "[ADDR:]HOSTPORT:PORT[/tcp]", ADDR an IPv4 or [IPv6] address */
__attribute__((weak)) int
policy_parse_publish(const char *s, struct policy_publish *pp, char *err,
    size_t errlen)
{
	char		 buf[128], *p, *slash, *colon, *addr = NULL;
	struct in6_addr	 a6;
	struct in_addr	 a4;

	memset(pp, 0, sizeof(*pp));
	pp->proto = IPPROTO_TCP;
	if (strlcpy(buf, s, sizeof(buf)) >= sizeof(buf)) {
		snprintf(err, errlen, "too long");
		return -1;
	}
	if ((slash = strchr(buf, '/')) != NULL) {
		*slash++ = '\0';
		if (strcmp(slash, "tcp") != 0) {
			snprintf(err, errlen, "protocol %s: only tcp", slash);
			return -1;
		}
	}
	p = buf;
	if (*p == '[') {
		if ((colon = strstr(p, "]:")) == NULL) {
			snprintf(err, errlen, "unterminated [address]");
			return -1;
		}
		*colon = '\0';
		addr = p + 1;
		p = colon + 2;
		if (inet_pton(AF_INET6, addr, &a6) != 1) {
			snprintf(err, errlen, "bad IPv6 address %s", addr);
			return -1;
		}
	} else if ((colon = strrchr(p, ':')) != NULL &&
	    strchr(p, ':') != colon) {
		/* two colons: ADDR:HOSTPORT:PORT */
		addr = p;
		colon = strchr(p, ':');
		*colon = '\0';
		p = colon + 1;
		if (inet_pton(AF_INET, addr, &a4) != 1) {
			snprintf(err, errlen, "bad IPv4 address %s", addr);
			return -1;
		}
	}
	if ((colon = strchr(p, ':')) == NULL) {
		snprintf(err, errlen, "need [ADDR:]HOSTPORT:PORT[/tcp]");
		return -1;
	}
	*colon = '\0';
	if (port_parse(p, &pp->hostport) == -1) {
		snprintf(err, errlen, "bad host port %s", p);
		return -1;
	}
	if (port_parse(colon + 1, &pp->port) == -1) {
		snprintf(err, errlen, "bad sandbox port %s", colon + 1);
		return -1;
	}
	strlcpy(pp->addr, addr != NULL ? addr : "127.0.0.1", sizeof(pp->addr));
	return 0;
}
