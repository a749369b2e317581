/*
 * TEST ONLY: a stand-in for common/policy.c, linked into proxyharness
 * alone (see the Makefile), so that the proxy can be tested before the
 * real YAML policy exists.  It implements the decision functions the
 * proxy uses, with the evaluation order of DESIGN.md §8 (deny wins,
 * then allow, then ask, then the default), over a tiny line format:
 *
 *	# comment
 *	default allow|deny|ask
 *	http VERDICT PATTERN PORT|* [terminate]
 *	tcp  VERDICT PATTERN PORT|*
 *	cidr VERDICT ADDR/BITS PORT|*
 *
 * PATTERN is a name (case-insensitive, trailing dot ignored) or
 * "*.suffix" (strictly below suffix).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy.h"

#define FAKE_MAXRULES	64

enum fkind { F_HTTP, F_TCP, F_CIDR };

struct frule {
	enum fkind	 kind;
	enum verdict	 verdict;
	char		 match[256];
	char		 text[300];	/* for audit */
	int		 port;		/* 0: any */
	int		 terminate;
	int		 family, bits;
	uint8_t		 net[16];
};

struct policy {
	enum verdict	 def;
	int		 nrules;
	struct frule	 rules[FAKE_MAXRULES];
};

static int
parse_verdict(const char *s, enum verdict *v)
{
	if (strcmp(s, "allow") == 0)
		*v = VERDICT_ALLOW;
	else if (strcmp(s, "deny") == 0)
		*v = VERDICT_DENY;
	else if (strcmp(s, "ask") == 0)
		*v = VERDICT_ASK;
	else
		return -1;
	return 0;
}

static void
seterr(struct policy_error *err, const char *name, unsigned int line,
    const char *msg)
{
	memset(err, 0, sizeof(*err));
	strlcpy(err->file, name, sizeof(err->file));
	err->line = line;
	err->column = 1;
	strlcpy(err->msg, msg, sizeof(err->msg));
}

struct policy *
policy_parse(const char *name, const void *buf, size_t len,
    struct policy_error *err)
{
	struct policy	*p;
	char		*text, *line, *save = NULL, *w[6], *s2;
	unsigned int	 lineno = 0;
	int		 n;

	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (text = strndup(buf, len)) == NULL) {
		free(p);
		seterr(err, name, 0, "out of memory");
		return NULL;
	}
	p->def = VERDICT_DENY;
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		struct frule	*r;
		char		*slash;

		lineno++;
		for (n = 0, s2 = line; n < 6; n++) {
			while (*s2 == ' ' || *s2 == '\t')
				s2++;
			if (*s2 == '\0' || *s2 == '#')
				break;
			w[n] = s2;
			while (*s2 != '\0' && *s2 != ' ' && *s2 != '\t')
				s2++;
			if (*s2 != '\0')
				*s2++ = '\0';
		}
		if (n == 0)
			continue;
		if (strcmp(w[0], "default") == 0 && n == 2) {
			if (parse_verdict(w[1], &p->def) == -1)
				goto bad;
			continue;
		}
		if (n < 4 || p->nrules == FAKE_MAXRULES)
			goto bad;
		r = &p->rules[p->nrules++];
		if (strcmp(w[0], "http") == 0)
			r->kind = F_HTTP;
		else if (strcmp(w[0], "tcp") == 0)
			r->kind = F_TCP;
		else if (strcmp(w[0], "cidr") == 0)
			r->kind = F_CIDR;
		else
			goto bad;
		if (parse_verdict(w[1], &r->verdict) == -1)
			goto bad;
		strlcpy(r->match, w[2], sizeof(r->match));
		r->port = strcmp(w[3], "*") == 0 ? 0 : atoi(w[3]);
		r->terminate = n > 4 && strcmp(w[4], "terminate") == 0;
		snprintf(r->text, sizeof(r->text), "%s%s%s", w[2],
		    r->port ? ":" : "", r->port ? w[3] : "");
		if (r->kind == F_CIDR) {
			if ((slash = strchr(r->match, '/')) == NULL)
				goto bad;
			*slash = '\0';
			r->bits = atoi(slash + 1);
			if (inet_pton(AF_INET, r->match, r->net) == 1)
				r->family = AF_INET;
			else if (inet_pton(AF_INET6, r->match, r->net) == 1)
				r->family = AF_INET6;
			else
				goto bad;
		}
	}
	free(text);
	return p;
 bad:
	free(text);
	free(p);
	seterr(err, name, lineno, "bad fake policy line");
	return NULL;
}

struct policy *
policy_default(void)
{
	struct policy	*p;

	if ((p = calloc(1, sizeof(*p))) != NULL)
		p->def = VERDICT_DENY;
	return p;
}

void
policy_free(struct policy *p)
{
	free(p);
}

void
policy_strerror(const struct policy_error *e, char *buf, size_t len)
{
	snprintf(buf, len, "%s:%u:%u: %s", e->file, e->line, e->column,
	    e->msg);
}

const char *
verdict_name(enum verdict v)
{
	return v == VERDICT_ALLOW ? "allow" : v == VERDICT_ASK ? "ask" :
	    "deny";
}

static int
name_match(const char *pat, const char *name)
{
	size_t	 pl, nl = strlen(name);

	if (nl > 0 && name[nl - 1] == '.')
		nl--;
	if (pat[0] == '*' && pat[1] == '.') {
		pl = strlen(pat + 1);	/* ".suffix" */
		return nl > pl && strncasecmp(name + nl - pl, pat + 1, pl) == 0;
	}
	return strlen(pat) == nl && strncasecmp(pat, name, nl) == 0;
}

static int
cidr_match(const struct frule *r, const struct sockaddr *sa)
{
	const uint8_t	*a;
	int		 bits = r->bits, i;

	if (sa->sa_family != r->family)
		return 0;
	a = sa->sa_family == AF_INET ?
	    (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr :
	    (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
	for (i = 0; bits > 0; i++, bits -= 8) {
		uint8_t	 m = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));

		if ((a[i] & m) != (r->net[i] & m))
			return 0;
	}
	return 1;
}

/* deny wins, then allow, then ask, then the default */
static enum verdict
decide(const struct policy *p, enum fkind kind, const char *name,
    const struct sockaddr *sa, uint16_t port, const struct frule **which)
{
	static const enum verdict order[] = { VERDICT_DENY, VERDICT_ALLOW,
	    VERDICT_ASK };
	size_t		 o;
	int		 i;

	*which = NULL;
	for (o = 0; o < 3; o++)
		for (i = 0; i < p->nrules; i++) {
			const struct frule *r = &p->rules[i];

			if (r->kind != kind || r->verdict != order[o] ||
			    (r->port != 0 && r->port != port))
				continue;
			if (kind == F_CIDR ? !cidr_match(r, sa) :
			    !name_match(r->match, name))
				continue;
			*which = r;
			return r->verdict;
		}
	return p->def;
}

void
policy_http(const struct policy *p, const char *host, uint16_t port,
    struct policy_http_decision *d)
{
	const struct frule	*r;

	d->verdict = decide(p, F_HTTP, host, NULL, port, &r);
	d->tls_terminate = r != NULL && r->verdict == VERDICT_ALLOW &&
	    r->terminate;
	d->rule = r != NULL ? r->text : NULL;
}

enum verdict
policy_tcp_name(const struct policy *p, const char *name, uint16_t port,
    const char **rule)
{
	const struct frule	*r;
	enum verdict		 v = decide(p, F_TCP, name, NULL, port, &r);

	*rule = r != NULL ? r->text : NULL;
	return v;
}

enum verdict
policy_tcp_addr(const struct policy *p, const struct sockaddr *sa,
    uint16_t port, const char **rule)
{
	const struct frule	*r;
	enum verdict		 v = decide(p, F_CIDR, NULL, sa, port, &r);

	*rule = r != NULL ? r->text : NULL;
	return v;
}
