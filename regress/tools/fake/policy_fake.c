/*
 * TEST-ONLY stand-in for common/policy.c, linked into the dns harness
 * (regress/tools/dnsharness) only while common/policy.c does not exist
 * in the tree (see the Makefile).  It implements just what dns.c calls
 * -- policy_parse, policy_free, policy_strerror, policy_dns -- over a
 * line-based reading of the lns-policy.yaml subset the regress tests
 * use: "defaultVerdict: V" and "match: M" followed by "verdict: V".
 * It is not a YAML parser and must never be linked into a daemon.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy.h"

#define FAKE_MAXRULES	64

struct fake_rule {
	char		match[256];
	int		hasport;
	enum verdict	verdict;
};

struct policy {
	enum verdict	 def;
	int		 nrules;
	struct fake_rule rules[FAKE_MAXRULES];
};

static int
fake_verdict(const char *s, enum verdict *v)
{
	if (strncmp(s, "allow", 5) == 0)
		*v = VERDICT_ALLOW;
	else if (strncmp(s, "deny", 4) == 0)
		*v = VERDICT_DENY;
	else if (strncmp(s, "ask", 3) == 0)
		*v = VERDICT_ASK;
	else
		return -1;
	return 0;
}

/* the value after "key:" on a line, unquoted, up to , } or end */
static void
fake_value(const char *p, char *out, size_t len)
{
	size_t	n = 0;

	while (*p == ' ' || *p == '"' || *p == '\'')
		p++;
	while (*p && *p != '"' && *p != '\'' && *p != ',' && *p != '}' &&
	    *p != '\n' && !isspace((unsigned char)*p) && n + 1 < len)
		out[n++] = *p++;
	out[n] = '\0';
}

struct policy *
policy_parse(const char *name, const void *buf, size_t len,
    struct policy_error *err)
{
	struct policy	*p;
	char		*text, *line, *save, *k, val[256];
	int		 pending = -1, lineno = 0;

	memset(err, 0, sizeof(*err));
	snprintf(err->file, sizeof(err->file), "%s", name);
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (text = malloc(len + 1)) == NULL) {
		free(p);
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return NULL;
	}
	memcpy(text, buf, len);
	text[len] = '\0';
	p->def = VERDICT_DENY;
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		if ((k = strstr(line, "defaultVerdict:")) != NULL) {
			fake_value(k + 15, val, sizeof(val));
			if (fake_verdict(val, &p->def) == -1)
				goto bad;
		}
		if ((k = strstr(line, "match:")) != NULL) {
			if (p->nrules == FAKE_MAXRULES)
				goto bad;
			fake_value(k + 6, val, sizeof(val));
			pending = p->nrules++;
			snprintf(p->rules[pending].match,
			    sizeof(p->rules[pending].match), "%s", val);
			p->rules[pending].verdict = VERDICT_DENY;
			if (strchr(val, ':') != NULL) {
				p->rules[pending].hasport = 1;
				*strchr(p->rules[pending].match, ':') = '\0';
			}
		}
		if ((k = strstr(line, "verdict:")) != NULL &&
		    (k == line || k[-1] != 't') && pending != -1) {
			fake_value(k + 8, val, sizeof(val));
			if (fake_verdict(val, &p->rules[pending].verdict) == -1)
				goto bad;
			pending = -1;
		}
	}
	free(text);
	return p;
 bad:
	err->line = lineno;
	snprintf(err->msg, sizeof(err->msg), "fake policy: bad value %.200s",
	    val);
	free(text);
	free(p);
	return NULL;
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

static int
fake_match(const char *rule, const char *name)
{
	size_t	rl, nl = strlen(name);

	if (strchr(rule, '/') != NULL)
		return 0;			/* a CIDR */
	if (nl > 0 && name[nl - 1] == '.')
		nl--;
	if (rule[0] == '*' && rule[1] == '.') {
		rl = strlen(rule + 1);		/* ".suffix" */
		return nl > rl && strncasecmp(name + nl - rl, rule + 1,
		    rl) == 0;
	}
	return strlen(rule) == nl && strncasecmp(rule, name, nl) == 0;
}

enum verdict
policy_dns(const struct policy *p, const char *name)
{
	int	i, allow = 0;

	for (i = 0; i < p->nrules; i++) {
		if (!fake_match(p->rules[i].match, name))
			continue;
		if (p->rules[i].verdict == VERDICT_DENY) {
			if (!p->rules[i].hasport)
				return VERDICT_DENY;
		} else
			allow = 1;
	}
	if (allow || p->def == VERDICT_ALLOW)
		return VERDICT_ALLOW;
	return VERDICT_DENY;
}
