/*
 * The values lenscredd's exchange writes in place of a placeholder:
 * header templates, query parameters, basic, hmac and AWS SigV4
 * (sign.h; lenscredd(8) documents the canonical strings).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "grammar.h"
#include "sign.h"

/* a growing buffer: what it drops is zeroed, an error sticks */
struct sb {
	char	*p;
	size_t	 len, cap;
	int	 err;
};

static void
sb_addn(struct sb *b, const void *s, size_t n)
{
	char	*np;
	size_t	 ncap;

	if (b->err)
		return;
	if (b->len + n + 1 > SIGN_MAXOUT * 8) {
		b->err = 1;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		ncap = b->cap ? b->cap : 128;
		while (ncap < b->len + n + 1)
			ncap *= 2;
		if ((np = malloc(ncap)) == NULL) {
			b->err = 1;
			return;
		}
		if (b->p != NULL) {
			memcpy(np, b->p, b->len);
			explicit_bzero(b->p, b->cap);
			free(b->p);
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
sb_adds(struct sb *b, const char *s)
{
	sb_addn(b, s, strlen(s));
}

static void
sb_addc(struct sb *b, char c)
{
	sb_addn(b, &c, 1);
}

static void
sb_free(struct sb *b)
{
	if (b->p != NULL) {
		explicit_bzero(b->p, b->cap);
		free(b->p);
	}
	memset(b, 0, sizeof(*b));
}

static int
why_set(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
why_set(char *why, size_t whylen, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -1;
}

/* the buffer's string (never NULL on success), or -1 */
static int
sb_take(struct sb *b, char **out, char *why, size_t whylen)
{
	if (b->err || b->len > SIGN_MAXOUT) {
		sb_free(b);
		return why_set(why, whylen, "result too long or out of memory");
	}
	if (b->p == NULL)
		sb_addn(b, "", 0);
	if (b->err) {
		sb_free(b);
		return why_set(why, whylen, "out of memory");
	}
	*out = b->p;
	memset(b, 0, sizeof(*b));
	return 0;
}

static const char hexd[] = "0123456789abcdef";

static void
tohex(const unsigned char *in, size_t n, char *out)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hexd[in[i] >> 4];
		out[2 * i + 1] = hexd[in[i] & 15];
	}
	out[2 * n] = '\0';
}

void
sign_sha256_hex(const void *p, size_t n, char out[SIGN_HEX256])
{
	unsigned char	 h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, p, n);
	tohex(h, sizeof(h), out);
}

static void
hmac256(const void *key, size_t klen, const void *msg, size_t n,
    unsigned char out[crypto_auth_hmacsha256_BYTES])
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, klen);
	crypto_auth_hmacsha256_update(&st, msg, n);
	crypto_auth_hmacsha256_final(&st, out);
	explicit_bzero(&st, sizeof(st));
}

static int
is_tchar(int c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

static int
is_token(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!is_tchar((unsigned char)*s))
			return 0;
	return 1;
}

/* a control character a header value may not hold (HTAB may) */
static int
is_ctl(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}


/* n bytes of s percent-decoded into b; -1 on a '%' without two hex */
static int
pct_decode(struct sb *b, const char *s, size_t n)
{
	size_t	 i;
	int	 h, l;

	for (i = 0; i < n; i++) {
		if (s[i] != '%') {
			sb_addc(b, s[i]);
			continue;
		}
		if (i + 2 >= n)
			return -1;
		if ((h = gr_hexdigit((unsigned char)s[i + 1])) < 0 ||
		    (l = gr_hexdigit((unsigned char)s[i + 2])) < 0)
			return -1;
		sb_addc(b, (char)(h << 4 | l));
		i += 2;
	}
	return 0;
}

/* AWS's (and RFC 3986's) encoding: all but unreserved, '/' if slash */
static void
aws_encode(struct sb *b, const char *s, size_t n, int slash)
{
	static const char up[] = "0123456789ABCDEF";
	unsigned char	 c;
	size_t		 i;
	char		 e[3];

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (isalnum(c) || c == '-' || c == '.' || c == '_' ||
		    c == '~' || (slash && c == '/')) {
			sb_addc(b, (char)c);
			continue;
		}
		e[0] = '%';
		e[1] = up[c >> 4];
		e[2] = up[c & 15];
		sb_addn(b, e, 3);
	}
}

int
sign_template(const char *tmpl, const char *secret, size_t slen, char **out,
    char *why, size_t whylen)
{
	struct sb	 b = { 0 };
	const char	*t;
	size_t		 i;
	int		 used = 0;

	for (t = tmpl; *t != '\0'; t++) {
		if (strncmp(t, "{secret}", 8) == 0) {
			sb_addn(&b, secret, slen);
			used = 1;
			t += 7;
		} else if ((t[0] == '{' && t[1] == '{') ||
		    (t[0] == '}' && t[1] == '}')) {
			sb_addc(&b, *t);
			t++;
		} else if (*t == '{' || *t == '}') {
			sb_free(&b);
			return why_set(why, whylen, "template: '%c' at %zu is "
			    "not part of {secret}, {{ or }}", *t,
			    (size_t)(t - tmpl));
		} else
			sb_addc(&b, *t);
	}
	if (!used) {
		sb_free(&b);
		return why_set(why, whylen, "template: no {secret}");
	}
	for (i = 0; i < b.len; i++)
		if (is_ctl((unsigned char)b.p[i]))
			break;
	if (i < b.len) {
		/* say where from, never which byte of the secret */
		for (t = tmpl; *t != '\0' && !is_ctl((unsigned char)*t); t++)
			;
		sb_free(&b);
		return why_set(why, whylen, "template: the value would hold a "
		    "control character (CR, LF, NUL or another) from the %s",
		    *t != '\0' ? "template" : "secret");
	}
	return sb_take(&b, out, why, whylen);
}

int
sign_query(const char *query, const char *param, const char *value,
    size_t vlen, char **out, char *why, size_t whylen)
{
	struct sb	 b = { 0 }, key = { 0 };
	const char	*p, *amp, *eq;
	size_t		 n;

	if (!is_token(param))
		return why_set(why, whylen, "query: parameter name is not a "
		    "token");
	for (p = query != NULL ? query : ""; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '#')
			return why_set(why, whylen, "query: a space, control "
			    "character or '#' in the query");
	for (p = query != NULL ? query : ""; *p != '\0'; p = amp + (*amp != 0)) {
		if ((amp = strchr(p, '&')) == NULL)
			amp = p + strlen(p);
		n = (size_t)(amp - p);
		if (n == 0)
			continue;
		eq = memchr(p, '=', n);
		sb_free(&key);
		if (pct_decode(&key, p, eq != NULL ? (size_t)(eq - p) : n)
		    == -1) {
			sb_free(&key);
			sb_free(&b);
			return why_set(why, whylen, "query: malformed "
			    "percent-encoding");
		}
		if (key.p != NULL && strcmp(key.p, param) == 0 &&
		    key.len == strlen(param))
			continue;	/* the sandbox's own, replaced */
		if (b.len > 0)
			sb_addc(&b, '&');
		sb_addn(&b, p, n);
	}
	sb_free(&key);
	if (b.len > 0)
		sb_addc(&b, '&');
	sb_adds(&b, param);
	sb_addc(&b, '=');
	aws_encode(&b, value, vlen, 0);
	return sb_take(&b, out, why, whylen);
}

int
sign_basic(const char *user, const char *secret, size_t slen, char **out,
    char *why, size_t whylen)
{
	struct sb	 b = { 0 }, r = { 0 };
	const char	*u;
	char		*e;
	size_t		 b64len;

	for (u = user; *u != '\0'; u++)
		if (*u == ':' || is_ctl((unsigned char)*u) || *u == '\t')
			return why_set(why, whylen, "basic: the user holds "
			    "':' or a control character");
	sb_adds(&b, user);
	sb_addc(&b, ':');
	sb_addn(&b, secret, slen);
	if (b.err || b.len > SIGN_MAXOUT / 2) {
		sb_free(&b);
		return why_set(why, whylen, "basic: too long");
	}
	b64len = sodium_base64_encoded_len(b.len,
	    sodium_base64_VARIANT_ORIGINAL);
	if ((e = malloc(b64len)) == NULL) {
		sb_free(&b);
		return why_set(why, whylen, "basic: out of memory");
	}
	sodium_bin2base64(e, b64len, (unsigned char *)b.p, b.len,
	    sodium_base64_VARIANT_ORIGINAL);
	sb_free(&b);
	sb_adds(&r, "Basic ");
	sb_adds(&r, e);
	explicit_bzero(e, b64len);
	free(e);
	return sb_take(&r, out, why, whylen);
}

static int
is_hex256(const char *s)
{
	size_t	 i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[64] == '\0';
}

/* the pieces of q split on '&', empty ones left out, sorted bytewise */
static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char *
sign_hmac_string(const struct sign_req *r, const char *ts, char *why,
    size_t whylen)
{
	struct sb	 b = { 0 }, q = { 0 };
	char		**v = NULL, *out, *p;
	size_t		 nv = 0, i;
	const char	*c;

	if (!is_token(r->method) || r->path == NULL || r->path[0] != '/') {
		why_set(why, whylen, "hmac: bad method or path");
		return NULL;
	}
	for (c = r->path; *c != '\0'; c++)
		if ((unsigned char)*c <= 0x20 || *c == 0x7f || *c == '?') {
			why_set(why, whylen, "hmac: bad path");
			return NULL;
		}
	if (*ts == '\0' || strspn(ts, "0123456789") != strlen(ts) ||
	    strlen(ts) > 20) {
		why_set(why, whylen, "hmac: bad timestamp");
		return NULL;
	}
	if (r->payload == NULL || !is_hex256(r->payload)) {
		why_set(why, whylen, "hmac: no body hash");
		return NULL;
	}
	/* the query's parameters sorted, as sent */
	sb_adds(&q, r->query != NULL ? r->query : "");
	if (q.err) {
		why_set(why, whylen, "hmac: out of memory");
		return NULL;
	}
	if (q.p != NULL) {
		for (c = q.p; *c != '\0'; c++)
			if ((unsigned char)*c <= 0x20 || *c == 0x7f) {
				sb_free(&q);
				why_set(why, whylen, "hmac: bad query");
				return NULL;
			}
		if ((v = calloc(q.len / 2 + 1, sizeof(*v))) == NULL) {
			sb_free(&q);
			why_set(why, whylen, "hmac: out of memory");
			return NULL;
		}
		for (p = strtok(q.p, "&"); p != NULL; p = strtok(NULL, "&"))
			v[nv++] = p;
		qsort(v, nv, sizeof(*v), cmpstr);
	}
	sb_adds(&b, SIGN_HMAC_ALGO "\n");
	sb_adds(&b, r->method);
	sb_addc(&b, '\n');
	sb_adds(&b, r->path);
	sb_addc(&b, '\n');
	for (i = 0; i < nv; i++) {
		if (i > 0)
			sb_addc(&b, '&');
		sb_adds(&b, v[i]);
	}
	sb_addc(&b, '\n');
	sb_adds(&b, ts);
	sb_addc(&b, '\n');
	sb_adds(&b, r->payload);
	free(v);
	sb_free(&q);
	if (sb_take(&b, &out, why, whylen) == -1)
		return NULL;
	return out;
}

int
sign_hmac(const void *key, size_t klen, const struct sign_req *r,
    const char *ts, char out[SIGN_HEX256], char *why, size_t whylen)
{
	unsigned char	 mac[crypto_auth_hmacsha256_BYTES];
	char		*s;

	if ((s = sign_hmac_string(r, ts, why, whylen)) == NULL)
		return -1;
	hmac256(key, klen, s, strlen(s), mac);
	free(s);
	tohex(mac, sizeof(mac), out);
	explicit_bzero(mac, sizeof(mac));
	return 0;
}

/* SigV4 */

/* headers the exchange or a hop may change: never signed */
static const char *const aws_nosign[] = {
	"authorization", "user-agent", "expect", "x-amzn-trace-id",
	"connection", "keep-alive", "proxy-authorization", "proxy-connection",
	"te", "trailer", "transfer-encoding", "upgrade", NULL
};

struct canhdr {
	char	*name;		/* lower case */
	size_t	 first;		/* index of its first appearance */
};

static int
cmphdr(const void *a, const void *b)
{
	const struct canhdr *x = a, *y = b;
	int		 c;

	if ((c = strcmp(x->name, y->name)) != 0)
		return c;
	return x->first < y->first ? -1 : x->first > y->first;
}

static int
aws_label(const char *s, size_t max)
{
	size_t	 n = strlen(s);

	return n > 0 && n <= max && strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == n;
}

static int
aws_date(const char *d)
{
	return strlen(d) == 16 && strspn(d, "0123456789") == 8 &&
	    d[8] == 'T' && strspn(d + 9, "0123456789") == 6 && d[15] == 'Z';
}

/* value trimmed, runs of SP/HTAB as one space */
static void
trimall(struct sb *b, const char *v)
{
	int	 sp = 0, any = 0;

	for (; *v != '\0'; v++) {
		if (*v == ' ' || *v == '\t') {
			sp = any;
			continue;
		}
		if (sp)
			sb_addc(b, ' ');
		sb_addc(b, *v);
		sp = 0;
		any = 1;
	}
}

static int
aws_path(struct sb *b, const struct sign_aws *a, const char *path)
{
	struct sb	 d = { 0 };
	const char	**seg = NULL, *p, *e;
	size_t		 nseg = 0, i, n;
	int		 rc = 0;

	if (strcmp(a->service, "s3") == 0) {
		/* S3: the key as it is, encoded once */
		if (pct_decode(&d, path, strlen(path)) == -1)
			rc = -1;
		else if (d.len == 0)
			sb_addc(b, '/');
		else
			aws_encode(b, d.p, d.len, 1);
		sb_free(&d);
		return rc;
	}
	/* any other: dot segments and empty ones out, encoded again */
	n = strlen(path);
	if ((seg = calloc(n / 2 + 2, sizeof(*seg))) == NULL)
		return -1;
	for (p = path; *p != '\0'; p = e + (*e != '\0')) {
		e = strchrnul(p, '/');
		if (e == p || (e - p == 1 && p[0] == '.'))
			continue;
		if (e - p == 2 && p[0] == '.' && p[1] == '.') {
			if (nseg > 0)
				nseg--;
			continue;
		}
		seg[nseg++] = p;
	}
	sb_addc(b, '/');
	for (i = 0; i < nseg; i++) {
		if (i > 0)
			sb_addc(b, '/');
		aws_encode(b, seg[i], strchrnul(seg[i], '/') - seg[i], 0);
	}
	if (nseg > 0 && n > 0 && path[n - 1] == '/')
		sb_addc(b, '/');
	free(seg);
	return 0;
}

struct qpair {
	char	*k, *v;
};

static int
cmpq(const void *a, const void *b)
{
	const struct qpair *x = a, *y = b;
	int		 c;

	if ((c = strcmp(x->k, y->k)) != 0)
		return c;
	return strcmp(x->v, y->v);
}

static int
aws_query(struct sb *b, const char *q)
{
	struct qpair	*v = NULL;
	struct sb	 d = { 0 }, e = { 0 };
	const char	*p, *amp, *eq;
	size_t		 nv = 0, i, n, kn;
	int		 rc = -1;

	if (q == NULL || *q == '\0')
		return 0;
	if ((v = calloc(strlen(q) / 2 + 1, sizeof(*v))) == NULL)
		return -1;
	for (p = q; *p != '\0'; p = amp + (*amp != '\0')) {
		amp = strchrnul(p, '&');
		if ((n = (size_t)(amp - p)) == 0)
			continue;
		eq = memchr(p, '=', n);
		kn = eq != NULL ? (size_t)(eq - p) : n;
		/* decoded, then encoded the AWS way */
		sb_free(&d);
		if (pct_decode(&d, p, kn) == -1)
			goto out;
		sb_free(&e);
		aws_encode(&e, d.p != NULL ? d.p : "", d.len, 0);
		sb_addn(&e, "", 0);
		if (e.err || (v[nv].k = strdup(e.p)) == NULL)
			goto out;
		nv++;			/* its v freed at out, if any */
		sb_free(&d);
		if (eq != NULL && pct_decode(&d, eq + 1, n - kn - 1) == -1)
			goto out;
		sb_free(&e);
		aws_encode(&e, d.p != NULL ? d.p : "", d.len, 0);
		sb_addn(&e, "", 0);
		if (e.err || (v[nv - 1].v = strdup(e.p)) == NULL)
			goto out;
	}
	qsort(v, nv, sizeof(*v), cmpq);
	for (i = 0; i < nv; i++) {
		if (i > 0)
			sb_addc(b, '&');
		sb_adds(b, v[i].k);
		sb_addc(b, '=');
		sb_adds(b, v[i].v);
	}
	rc = 0;
 out:
	for (i = 0; i < nv; i++) {
		free(v[i].k);
		free(v[i].v);
	}
	free(v);
	sb_free(&d);
	sb_free(&e);
	return rc;
}

char *
sign_sigv4_creq(const struct sign_aws *a, const struct sign_req *r,
    char **signedhdrs, char *why, size_t whylen)
{
	struct sb	 b = { 0 }, sh = { 0 };
	struct canhdr	*h = NULL;
	size_t		 nh = 0, i, j, k;
	const char	*c;
	char		*out = NULL;
	int		 host = 0, date = 0;

	*signedhdrs = NULL;
	if (!aws_label(a->region, 64) || !aws_label(a->service, 64) ||
	    !aws_label(a->akid, 128) || !aws_date(a->amzdate)) {
		why_set(why, whylen, "sigv4: bad region, service, key id or "
		    "date");
		return NULL;
	}
	if (!is_token(r->method) || r->path == NULL || r->path[0] != '/') {
		why_set(why, whylen, "sigv4: bad method or path");
		return NULL;
	}
	for (c = r->path; *c != '\0'; c++)
		if ((unsigned char)*c <= 0x20 || *c == 0x7f || *c == '?') {
			why_set(why, whylen, "sigv4: bad path");
			return NULL;
		}
	if (r->payload == NULL || (strcmp(r->payload, SIGN_UNSIGNED) != 0 &&
	    !is_hex256(r->payload))) {
		why_set(why, whylen, "sigv4: no body hash");
		return NULL;
	}
	if ((h = calloc(r->nhdr + 1, sizeof(*h))) == NULL) {
		why_set(why, whylen, "sigv4: out of memory");
		return NULL;
	}
	for (i = 0; i < r->nhdr; i++) {
		if (!is_token(r->hdr[i].name)) {
			why_set(why, whylen, "sigv4: bad header name");
			goto out;
		}
		for (c = r->hdr[i].value; *c != '\0'; c++)
			if (is_ctl((unsigned char)*c)) {
				why_set(why, whylen, "sigv4: control character "
				    "in header %s", r->hdr[i].name);
				goto out;
			}
		if ((h[nh].name = strdup(r->hdr[i].name)) == NULL) {
			why_set(why, whylen, "sigv4: out of memory");
			goto out;
		}
		for (k = 0; h[nh].name[k] != '\0'; k++)
			h[nh].name[k] = tolower((unsigned char)h[nh].name[k]);
		h[nh].first = i;
		for (k = 0; aws_nosign[k] != NULL; k++)
			if (strcmp(h[nh].name, aws_nosign[k]) == 0)
				break;
		if (aws_nosign[k] != NULL) {
			free(h[nh].name);
			continue;
		}
		if (strcmp(h[nh].name, "host") == 0)
			host++;
		if (strcmp(h[nh].name, "x-amz-date") == 0) {
			if (strcmp(r->hdr[i].value, a->amzdate) != 0) {
				free(h[nh].name);
				why_set(why, whylen, "sigv4: x-amz-date is not "
				    "the signing date");
				goto out;
			}
			date++;
		}
		nh++;
	}
	if (host != 1 || date != 1) {
		why_set(why, whylen, "sigv4: the request needs one host and one "
		    "x-amz-date header");
		goto out;
	}
	qsort(h, nh, sizeof(*h), cmphdr);

	sb_adds(&b, r->method);
	sb_addc(&b, '\n');
	if (aws_path(&b, a, r->path) == -1) {
		why_set(why, whylen, "sigv4: malformed percent-encoding in the "
		    "path");
		goto out;
	}
	sb_addc(&b, '\n');
	if (aws_query(&b, r->query) == -1) {
		why_set(why, whylen, "sigv4: malformed percent-encoding in the "
		    "query");
		goto out;
	}
	sb_addc(&b, '\n');
	for (i = 0; i < nh; i = j) {
		sb_adds(&b, h[i].name);
		sb_addc(&b, ':');
		if (sh.len > 0)
			sb_addc(&sh, ';');
		sb_adds(&sh, h[i].name);
		for (j = i; j < nh && strcmp(h[j].name, h[i].name) == 0; j++) {
			if (j > i)
				sb_addc(&b, ',');
			trimall(&b, r->hdr[h[j].first].value);
		}
		sb_addc(&b, '\n');
	}
	sb_addc(&b, '\n');
	sb_adds(&b, sh.p != NULL ? sh.p : "");
	sb_addc(&b, '\n');
	sb_adds(&b, r->payload);
	if (sb_take(&sh, signedhdrs, why, whylen) == -1)
		goto out;
	if (sb_take(&b, &out, why, whylen) == -1) {
		free(*signedhdrs);
		*signedhdrs = NULL;
	}
 out:
	for (i = 0; i < nh; i++)
		free(h[i].name);
	free(h);
	sb_free(&b);
	sb_free(&sh);
	return out;
}

int
sign_sigv4(const struct sign_aws *a, const struct sign_req *r, char **authz,
    char *why, size_t whylen)
{
	unsigned char	 k[crypto_auth_hmacsha256_BYTES];
	char		*creq, *sh, hash[SIGN_HEX256], sig[SIGN_HEX256];
	char		 date[9];
	struct sb	 s = { 0 }, o = { 0 };
	int		 rc;

	*authz = NULL;
	if ((creq = sign_sigv4_creq(a, r, &sh, why, whylen)) == NULL)
		return -1;
	sign_sha256_hex(creq, strlen(creq), hash);
	free(creq);
	memcpy(date, a->amzdate, 8);
	date[8] = '\0';

	/* the string to sign */
	sb_adds(&s, "AWS4-HMAC-SHA256\n");
	sb_adds(&s, a->amzdate);
	sb_addc(&s, '\n');
	sb_adds(&s, date);
	sb_addc(&s, '/');
	sb_adds(&s, a->region);
	sb_addc(&s, '/');
	sb_adds(&s, a->service);
	sb_adds(&s, "/aws4_request\n");
	sb_adds(&s, hash);

	/* the signing key: kDate, kRegion, kService, kSigning */
	sb_adds(&o, "AWS4");
	sb_adds(&o, a->secret);
	if (s.err || o.err) {
		sb_free(&s);
		sb_free(&o);
		free(sh);
		return why_set(why, whylen, "sigv4: out of memory");
	}
	hmac256(o.p, o.len, date, 8, k);
	sb_free(&o);
	hmac256(k, sizeof(k), a->region, strlen(a->region), k);
	hmac256(k, sizeof(k), a->service, strlen(a->service), k);
	hmac256(k, sizeof(k), "aws4_request", 12, k);
	hmac256(k, sizeof(k), s.p, s.len, k);
	tohex(k, sizeof(k), sig);
	explicit_bzero(k, sizeof(k));
	sb_free(&s);

	sb_adds(&o, "AWS4-HMAC-SHA256 Credential=");
	sb_adds(&o, a->akid);
	sb_addc(&o, '/');
	sb_adds(&o, date);
	sb_addc(&o, '/');
	sb_adds(&o, a->region);
	sb_addc(&o, '/');
	sb_adds(&o, a->service);
	sb_adds(&o, "/aws4_request, SignedHeaders=");
	sb_adds(&o, sh);
	sb_adds(&o, ", Signature=");
	sb_adds(&o, sig);
	free(sh);
	rc = sb_take(&o, authz, why, whylen);
	return rc;
}
