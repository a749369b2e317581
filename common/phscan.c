/*
 * Credential placeholders and the scanner that finds them in any of the
 * encodings phscan.h lists.  Pure but for ph_make's getrandom(2):
 * nothing here logs or dies, every input is taken (regress/fuzz/phscan.c).
 * Every scratch copy is zeroed when freed: lenscredd's exchange scans
 * the request it writes, the credential's value in it.
 */
#include <sys/random.h>

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "grammar.h"
#include "phscan.h"

static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";

int
ph_make(char out[PH_SIZE])
{
	unsigned char	 r[PH_RANDLEN];
	size_t		 got = 0;
	ssize_t		 n;
	int		 i;

	while (got < sizeof(r)) {
		if ((n = getrandom(r + got, sizeof(r) - got, 0)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)n;
	}
	memcpy(out, PH_PREFIX, PH_PREFIXLEN);
	for (i = 0; i < PH_RANDLEN; i++)
		out[PH_PREFIXLEN + i] = b32[r[i] & 31];
	out[PH_LEN] = '\0';
	explicit_bzero(r, sizeof(r));
	return 0;
}

int
ph_valid(const char *s, size_t len)
{
	size_t	 i;

	if (len != PH_LEN || memcmp(s, PH_PREFIX, PH_PREFIXLEN) != 0)
		return 0;
	for (i = PH_PREFIXLEN; i < PH_LEN; i++)
		if (s[i] == '\0' || strchr(b32, s[i]) == NULL)
			return 0;
	return 1;
}

int
phset_add(struct phset *set, const char *s)
{
	if (s == NULL || !ph_valid(s, strlen(s)) || set->n >= PHSCAN_MAXSET)
		return -1;
	memcpy(set->body[set->n++], s + PH_PREFIXLEN, PH_RANDLEN);
	return 0;
}

/* the random part of a placeholder of set at p (n bytes left)? */
static int
match(const struct phset *set, const unsigned char *p, size_t n,
    size_t *which)
{
	unsigned char	 first[256];
	size_t		 i, j, k;
	int		 c0;

	/* the bytes a placeholder's random part starts with, any case */
	memset(first, 0, sizeof(first));
	for (k = 0; k < set->n; k++) {
		first[(unsigned char)set->body[k][0]] = 1;
		first[toupper((unsigned char)set->body[k][0])] = 1;
	}
	for (i = 0; i + PH_RANDLEN <= n; i++) {
		if (!first[p[i]])
			continue;
		c0 = tolower(p[i]);
		for (k = 0; k < set->n; k++) {
			if (set->body[k][0] != c0)
				continue;
			for (j = 1; j < PH_RANDLEN; j++)
				if (tolower(p[i + j]) != set->body[k][j])
					break;
			if (j == PH_RANDLEN) {
				if (which != NULL)
					*which = k;
				return 1;
			}
		}
	}
	return 0;
}

static int	scan(const struct phset *, const unsigned char *, size_t, int,
		    size_t *);


/* %XX decoded (other bytes as they are): the layer below, if any */
static int
layer_percent(const struct phset *set, const unsigned char *p, size_t n,
    int depth, size_t *which)
{
	unsigned char	*d;
	size_t		 i, m = 0;
	int		 h, l, rc;

	if (memchr(p, '%', n) == NULL)
		return 0;
	if ((d = malloc(n)) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (p[i] == '%' && i + 2 < n &&
		    (h = gr_hexdigit(p[i + 1])) >= 0 &&
		    (l = gr_hexdigit(p[i + 2])) >= 0) {
			d[m++] = (unsigned char)(h << 4 | l);
			i += 2;
		} else
			d[m++] = p[i];
	}
	rc = m < n ? scan(set, d, m, depth, which) : 0;
	freezero(d, n);
	return rc;
}

/* \uXXXX, \xXX, &#N; and &#xN; decoded */
static size_t
utf8(unsigned char *d, unsigned long c)
{
	if (c < 0x80) {
		d[0] = (unsigned char)c;
		return 1;
	}
	if (c < 0x800) {
		d[0] = (unsigned char)(0xc0 | c >> 6);
		d[1] = (unsigned char)(0x80 | (c & 0x3f));
		return 2;
	}
	d[0] = (unsigned char)(0xe0 | (c >> 12 & 0x0f));
	d[1] = (unsigned char)(0x80 | (c >> 6 & 0x3f));
	d[2] = (unsigned char)(0x80 | (c & 0x3f));
	return 3;
}

static int
layer_escape(const struct phset *set, const unsigned char *p, size_t n,
    int depth, size_t *which)
{
	unsigned char	*d;
	unsigned long	 c;
	size_t		 i, j, m = 0, k, base;
	int		 v, rc, any = 0;

	if (memchr(p, '\\', n) == NULL && memchr(p, '&', n) == NULL)
		return 0;
	if ((d = malloc(n)) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		k = 0;
		c = 0;
		if (p[i] == '\\' && i + 1 < n && (p[i + 1] == 'u' ||
		    p[i + 1] == 'x')) {
			k = p[i + 1] == 'u' ? 4 : 2;
			for (j = 0; j < k && i + 2 + j < n &&
			    (v = gr_hexdigit(p[i + 2 + j])) >= 0; j++)
				c = c << 4 | (unsigned long)v;
			if (j == k) {
				m += utf8(d + m, c);	/* <= 3 < 6 bytes in */
				i += 1 + k;
				any = 1;
				continue;
			}
		} else if (p[i] == '&' && i + 3 < n && p[i + 1] == '#') {
			j = i + 2;
			base = 10;
			if (p[j] == 'x' || p[j] == 'X') {
				base = 16;
				j++;
			}
			for (k = 0; j < n && k < 7 &&
			    (v = gr_hexdigit(p[j])) >= 0 &&
			    (unsigned long)v < base; j++, k++)
				c = c * base + (unsigned long)v;
			if (k > 0 && j < n && p[j] == ';' && c < 0x10000 &&
			    j + 1 - i >= 4) {
				m += utf8(d + m, c);	/* <= 3, >= 4 in */
				i = j;
				any = 1;
				continue;
			}
		}
		d[m++] = p[i];
	}
	rc = any ? scan(set, d, m, depth, which) : 0;
	freezero(d, n);
	return rc;
}

/* base64 and base64url as one alphabet: a run decoded at 4 alignments */
static int
b64v(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

#define B64_MINRUN	(((PH_RANDLEN + 2) / 3) * 4 - 1)	/* 43 */

static int
b64_run(const struct phset *set, const unsigned char *v, size_t nv,
    unsigned char *d, int depth, size_t *which)
{
	size_t	 j, i, m;
	int	 rc;

	for (j = 0; j < 4 && nv - j >= B64_MINRUN; j++) {
		m = 0;
		for (i = j; i + 4 <= nv; i += 4) {
			d[m++] = (unsigned char)(v[i] << 2 | v[i + 1] >> 4);
			d[m++] = (unsigned char)(v[i + 1] << 4 | v[i + 2] >> 2);
			d[m++] = (unsigned char)(v[i + 2] << 6 | v[i + 3]);
		}
		if (nv - i >= 2)
			d[m++] = (unsigned char)(v[i] << 2 | v[i + 1] >> 4);
		if (nv - i >= 3)
			d[m++] = (unsigned char)(v[i + 1] << 4 | v[i + 2] >> 2);
		if ((rc = scan(set, d, m, depth, which)) != 0)
			return rc;
	}
	return 0;
}

static int
layer_base64(const struct phset *set, const unsigned char *p, size_t n,
    int depth, size_t *which)
{
	unsigned char	*v, *d;
	size_t		 i, nv = 0;
	int		 x, rc = 0;

	if (n < B64_MINRUN)
		return 0;
	if ((v = malloc(n)) == NULL)
		return -1;
	if ((d = malloc(n)) == NULL) {
		freezero(v, n);
		return -1;
	}
	for (i = 0; i <= n && rc == 0; i++) {
		if (i < n && (x = b64v(p[i])) >= 0) {
			v[nv++] = (unsigned char)x;
			continue;
		}
		if (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' ||
		    p[i] == '\n'))
			continue;		/* MIME's lines, one run */
		if (nv >= B64_MINRUN)
			rc = b64_run(set, v, nv, d, depth, which);
		nv = 0;
	}
	freezero(v, n);
	freezero(d, n);
	return rc;
}

/* runs of 64 or more hex digits, both alignments */
static int
layer_hex(const struct phset *set, const unsigned char *p, size_t n,
    int depth, size_t *which)
{
	unsigned char	*d;
	size_t		 i, s, j, k, m;
	int		 rc = 0;

	if ((d = malloc(n / 2 + 1)) == NULL)
		return -1;
	for (i = 0; i < n && rc == 0; i = s + 1) {
		for (s = i; s < n && gr_hexdigit(p[s]) >= 0; s++)
			;
		if (s - i < 2 * PH_RANDLEN)
			continue;
		for (j = 0; j < 2 && rc == 0; j++) {
			m = 0;
			for (k = i + j; k + 1 < s; k += 2)
				d[m++] = (unsigned char)(gr_hexdigit(p[k]) << 4 |
				    gr_hexdigit(p[k + 1]));
			rc = scan(set, d, m, depth, which);
		}
	}
	freezero(d, n / 2 + 1);
	return rc;
}

static int
scan(const struct phset *set, const unsigned char *p, size_t n, int depth,
    size_t *which)
{
	int	 rc;

	if (n < PH_RANDLEN)
		return 0;
	if (match(set, p, n, which))
		return 1;
	if (depth-- == 0)
		return 0;
	if ((rc = layer_percent(set, p, n, depth, which)) != 0 ||
	    (rc = layer_escape(set, p, n, depth, which)) != 0 ||
	    (rc = layer_base64(set, p, n, depth, which)) != 0 ||
	    (rc = layer_hex(set, p, n, depth, which)) != 0)
		return rc;
	return 0;
}

int
phscan_buf(const struct phset *set, const void *p, size_t n, size_t *which)
{
	if (set->n == 0)
		return 0;
	return scan(set, p, n, PHSCAN_DEPTH, which);
}

/* the request-target and every header value, joined with nothing */
int
phscan_head(const struct phset *set, const void *head, size_t n,
    size_t *which)
{
	const unsigned char *p = head, *line, *end, *e, *v, *sp;
	unsigned char	*d;
	size_t		 m = 0;
	int		 rc, first = 1;

	if ((rc = phscan_buf(set, head, n, which)) != 0 || set->n == 0)
		return rc;
	if ((d = malloc(n + 1)) == NULL)
		return -1;
	for (line = p; line < p + n; line = end + 1) {
		if ((end = memchr(line, '\n', (size_t)(p + n - line))) == NULL)
			end = p + n;
		e = end;
		if (e > line && e[-1] == '\r')
			e--;
		if (e == line && !first)
			break;			/* the end of the head */
		v = line;
		if (first) {
			/* METHOD SP target SP version: the target */
			if ((v = memchr(line, ' ', (size_t)(e - line))) != NULL) {
				v++;
				for (sp = e; sp > v && sp[-1] != ' '; sp--)
					;
				if (sp > v)
					e = sp - 1;
			} else
				v = line;
			first = 0;
		} else if (*v != ' ' && *v != '\t') {
			/* NAME: value (a line without ':' taken whole) */
			if ((sp = memchr(line, ':', (size_t)(e - line))) != NULL)
				v = sp + 1;
		}
		while (v < e && (*v == ' ' || *v == '\t'))
			v++;
		while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		memcpy(d + m, v, (size_t)(e - v));
		m += (size_t)(e - v);
	}
	rc = scan(set, d, m, PHSCAN_DEPTH, which);
	freezero(d, n + 1);
	return rc;
}

int
phscan_chunk(const struct phset *set, struct phstream *st, const void *p,
    size_t n, size_t *which)
{
	unsigned char	*d;
	size_t		 m, keep;
	int		 rc;

	if (set->n == 0)
		return 0;
	m = st->ntail + n;
	if ((d = malloc(m ? m : 1)) == NULL)
		return -1;
	memcpy(d, st->tail, st->ntail);
	memcpy(d + st->ntail, p, n);
	rc = scan(set, d, m, PHSCAN_DEPTH, which);
	keep = m < PHSCAN_WINDOW ? m : PHSCAN_WINDOW;
	memcpy(st->tail, d + m - keep, keep);
	st->ntail = keep;
	freezero(d, m ? m : 1);
	return rc;
}
