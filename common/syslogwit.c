/*
 * RFC 5424 messages of the remote witness (see syslogwit.h): made by
 * lensauditd's witness child, parsed strictly by lensctl audit verify.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "syslogwit.h"

static int
printus(unsigned char c)
{
	return c >= 33 && c <= 126;
}

int
syslogwit_format(char *out, size_t len, const char *hostname, pid_t pid,
    const struct timespec *ts, const char *head, size_t headlen)
{
	struct tm	 tm;
	char		 host[256];
	size_t		 i;
	int		 n;

	while (headlen > 0 && head[headlen - 1] == '\n')
		headlen--;
	if (headlen == 0)
		return -1;
	for (i = 0; i < headlen; i++)
		if (head[i] < 32 || head[i] > 126)
			return -1;
	/* HOSTNAME: 1..255 printable characters, or the nil value */
	for (i = 0; hostname[i] != '\0' && i < sizeof(host) - 1; i++)
		host[i] = printus((unsigned char)hostname[i]) ? hostname[i] :
		    '_';
	host[i] = '\0';
	if (i == 0)
		strlcpy(host, "-", sizeof(host));
	if (gmtime_r(&ts->tv_sec, &tm) == NULL)
		return -1;
	n = snprintf(out, len, "<%d>1 %04d-%02d-%02dT%02d:%02d:%02d.%06ldZ "
	    "%s %s %ld %s - %.*s", SYSLOGWIT_PRI, tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    (long)(ts->tv_nsec / 1000), host, SYSLOGWIT_APP, (long)pid,
	    SYSLOGWIT_MSGID, (int)headlen, head);
	if (n < 0 || (size_t)n >= len)
		return -1;
	return n;
}

/* n digits at *p, advanced; their value in *v */
static int
digits(const char **p, const char *end, int n, int *v)
{
	*v = 0;
	while (n-- > 0) {
		if (*p >= end || **p < '0' || **p > '9')
			return -1;
		*v = *v * 10 + (**p - '0');
		(*p)++;
	}
	return 0;
}

static int
expect(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return -1;
	(*p)++;
	return 0;
}

/* TIMESTAMP: "-" or an RFC 3339 date-time as RFC 5424 restricts it */
static const char *
timestamp(const char **p, const char *end)
{
	int	 y, mo, d, h, mi, s, oh, om, n;

	if (*p < end && **p == '-') {
		(*p)++;
		return NULL;
	}
	if (digits(p, end, 4, &y) || expect(p, end, '-') ||
	    digits(p, end, 2, &mo) || expect(p, end, '-') ||
	    digits(p, end, 2, &d) || expect(p, end, 'T') ||
	    digits(p, end, 2, &h) || expect(p, end, ':') ||
	    digits(p, end, 2, &mi) || expect(p, end, ':') ||
	    digits(p, end, 2, &s))
		return "bad TIMESTAMP";
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    s > 60)
		return "TIMESTAMP out of range";
	if (*p < end && **p == '.') {
		(*p)++;
		for (n = 0; *p < end && **p >= '0' && **p <= '9'; n++)
			(*p)++;
		if (n < 1 || n > 6)
			return "TIMESTAMP: 1 to 6 digits of TIME-SECFRAC";
	}
	if (*p < end && **p == 'Z') {
		(*p)++;
		return NULL;
	}
	if (*p >= end || (**p != '+' && **p != '-'))
		return "TIMESTAMP without a time zone";
	(*p)++;
	if (digits(p, end, 2, &oh) || expect(p, end, ':') ||
	    digits(p, end, 2, &om) || oh > 23 || om > 59)
		return "bad TIMESTAMP offset";
	return NULL;
}

/* a field of 1..max printable characters up to the next space */
static const char *
field(const char **p, const char *end, size_t max, const char **f,
    size_t *flen, const char *name)
{
	static char	 why[64];

	*f = *p;
	while (*p < end && **p != ' ') {
		if (!printus((unsigned char)**p)) {
			snprintf(why, sizeof(why), "%s: a byte that is not "
			    "printable US-ASCII", name);
			return why;
		}
		(*p)++;
	}
	*flen = (size_t)(*p - *f);
	if (*flen == 0 || *flen > max) {
		snprintf(why, sizeof(why), "%s: empty or longer than %zu",
		    name, max);
		return why;
	}
	return NULL;
}

/* STRUCTURED-DATA: "-" or SD-ELEMENTs */
static const char *
structured(const char **p, const char *end)
{
	size_t	 n;

	if (*p < end && **p == '-') {
		(*p)++;
		return NULL;
	}
	if (*p >= end || **p != '[')
		return "bad STRUCTURED-DATA";
	while (*p < end && **p == '[') {
		(*p)++;
		/* SD-ID, then SP PARAM-NAME="PARAM-VALUE" */
		for (;;) {
			for (n = 0; *p < end && printus((unsigned char)**p) &&
			    **p != '=' && **p != ']' && **p != '"'; n++)
				(*p)++;
			if (n < 1 || n > 32)
				return "STRUCTURED-DATA: bad SD-NAME";
			if (*p < end && **p == '=') {
				(*p)++;
				if (expect(p, end, '"'))
					return "STRUCTURED-DATA: PARAM-VALUE "
					    "not quoted";
				while (*p < end && **p != '"') {
					if (**p == '\\' && *p + 1 < end)
						(*p)++;
					(*p)++;
				}
				if (expect(p, end, '"'))
					return "STRUCTURED-DATA: unterminated "
					    "PARAM-VALUE";
			}
			if (*p < end && **p == ']')
				break;
			if (expect(p, end, ' '))
				return "STRUCTURED-DATA: bad SD-ELEMENT";
		}
		(*p)++;
	}
	return NULL;
}

int
syslogwit_parse(const char *line, size_t len, const char **msg,
    size_t *msglen, const char **why)
{
	const char	*p = line, *end = line + len, *f;
	size_t		 flen, i;
	int		 pri = 0, n;

	*why = NULL;
	if (expect(&p, end, '<')) {
		*why = "no <PRI> at the start";
		return -1;
	}
	for (n = 0; p < end && *p >= '0' && *p <= '9' && n < 4; n++)
		pri = pri * 10 + (*p++ - '0');
	if (n < 1 || n > 3 || pri > 191 || (n > 1 && line[1] == '0') ||
	    expect(&p, end, '>')) {
		*why = "bad PRI (0 to 191, no leading zeros)";
		return -1;
	}
	if (expect(&p, end, '1') || expect(&p, end, ' ')) {
		*why = "not a syslog message of VERSION 1 (RFC 5424)";
		return -1;
	}
	if ((*why = timestamp(&p, end)) != NULL)
		return -1;
	if (expect(&p, end, ' ')) {
		*why = "no space after TIMESTAMP";
		return -1;
	}
	if ((*why = field(&p, end, 255, &f, &flen, "HOSTNAME")) != NULL ||
	    expect(&p, end, ' ') ||
	    (*why = field(&p, end, 48, &f, &flen, "APP-NAME")) != NULL)
		goto hdr;
	if (flen != strlen(SYSLOGWIT_APP) ||
	    memcmp(f, SYSLOGWIT_APP, flen) != 0) {
		*why = "APP-NAME is not " SYSLOGWIT_APP;
		return -1;
	}
	if (expect(&p, end, ' ') ||
	    (*why = field(&p, end, 128, &f, &flen, "PROCID")) != NULL ||
	    expect(&p, end, ' ') ||
	    (*why = field(&p, end, 32, &f, &flen, "MSGID")) != NULL)
		goto hdr;
	if (flen != strlen(SYSLOGWIT_MSGID) ||
	    memcmp(f, SYSLOGWIT_MSGID, flen) != 0) {
		*why = "MSGID is not " SYSLOGWIT_MSGID;
		return -1;
	}
	if (expect(&p, end, ' ')) {
		*why = "no space after MSGID";
		return -1;
	}
	if ((*why = structured(&p, end)) != NULL)
		return -1;
	if (expect(&p, end, ' ')) {
		*why = "no MSG (a checkpoint's head line)";
		return -1;
	}
	if (end - p >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	if (p >= end) {
		*why = "empty MSG";
		return -1;
	}
	for (i = 0; i < (size_t)(end - p); i++)
		if (p[i] < 32 || p[i] > 126) {
			*why = "MSG holds a control or non-ASCII byte";
			return -1;
		}
	*msg = p;
	*msglen = (size_t)(end - p);
	return 0;
hdr:
	if (*why == NULL)
		*why = "bad header (fields are separated by one space)";
	return -1;
}

int
syslogwit_is_syslog(const char *text, size_t len)
{
	return len > 0 && text[0] == '<';
}

int
syslogwit_extract(const char *text, size_t len, char **out, size_t *outlen,
    char *err, size_t errlen)
{
	const char	*p = text, *end = text + len, *nl, *msg, *why;
	size_t		 msglen, off = 0;
	unsigned long long line = 0;
	char		*buf;

	*out = NULL;
	*outlen = 0;
	if ((buf = malloc(len + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	while (p < end) {
		line++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			snprintf(err, errlen, "line %llu: no newline at the "
			    "end", line);
			goto bad;
		}
		if (syslogwit_parse(p, (size_t)(nl - p), &msg, &msglen,
		    &why) == -1) {
			snprintf(err, errlen, "line %llu: %s", line, why);
			goto bad;
		}
		memcpy(buf + off, msg, msglen);
		off += msglen;
		buf[off++] = '\n';
		p = nl + 1;
	}
	buf[off] = '\0';
	*out = buf;
	*outlen = off;
	return 0;
bad:
	free(buf);
	return -1;
}
