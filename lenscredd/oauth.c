/*
 * oauth2Refresh: the token URL, the stored value, the token request,
 * the token response parser and the access token cache (oauth.h).
 */
#include <sys/queue.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <sodium.h>

#include "grammar.h"
#include "oauth.h"

static void
setwhy(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
setwhy(char *why, size_t whylen, const char *fmt, ...)
{
	va_list	 ap;

	if (whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

int
oauth_url(const char *url, struct oauth_url *u, char *why, size_t whylen)
{
	const char	*p, *auth, *end, *colon = NULL;
	char		 err[256];
	size_t		 hlen, i;
	int		 port;
	unsigned char	 a[16];

	memset(u, 0, sizeof(*u));
	if (strlen(url) > OAUTH_URL_MAX) {
		setwhy(why, whylen, "longer than %d bytes", OAUTH_URL_MAX);
		return -1;
	}
	for (p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    *p == '#') {
			setwhy(why, whylen, "a space, control, non-ASCII or "
			    "'#' byte at offset %zu", (size_t)(p - url));
			return -1;
		}
	if (strncasecmp(url, "https://", 8) != 0) {
		setwhy(why, whylen, "not an https:// URL");
		return -1;
	}
	auth = url + 8;
	end = auth + strcspn(auth, "/?");
	if (memchr(auth, '@', end - auth) != NULL) {
		setwhy(why, whylen, "user information in the URL");
		return -1;
	}
	if (*auth == '[') {
		if ((p = memchr(auth, ']', end - auth)) == NULL) {
			setwhy(why, whylen, "an IPv6 address without ']'");
			return -1;
		}
		hlen = p - auth - 1;
		if (hlen == 0 || hlen >= sizeof(u->host)) {
			setwhy(why, whylen, "a bad IPv6 address");
			return -1;
		}
		memcpy(u->host, auth + 1, hlen);
		if (inet_pton(AF_INET6, u->host, a) != 1) {
			setwhy(why, whylen, "a bad IPv6 address");
			return -1;
		}
		u->is_ip = u->is_v6 = 1;
		p++;
		if (p != end && *p != ':') {
			setwhy(why, whylen, "bytes after the IPv6 address");
			return -1;
		}
		if (p != end)
			colon = p;
	} else {
		colon = memchr(auth, ':', end - auth);
		hlen = (colon != NULL ? colon : end) - auth;
		if (hlen == 0 || hlen >= sizeof(u->host)) {
			setwhy(why, whylen, "no host, or a host too long");
			return -1;
		}
		for (i = 0; i < hlen; i++)
			u->host[i] = tolower((unsigned char)auth[i]);
		if (inet_pton(AF_INET, u->host, a) == 1)
			u->is_ip = 1;
		else if (gr_hostname("host", u->host, err, sizeof(err)) == -1) {
			setwhy(why, whylen, "%s", err);
			return -1;
		}
	}
	u->port = 443;
	if (colon != NULL) {
		if ((port = gr_port(colon + 1, end - colon - 1)) == -1) {
			setwhy(why, whylen, "a bad port");
			return -1;
		}
		u->port = (uint16_t)port;
	}
	if (*end == '\0')
		strlcpy(u->target, "/", sizeof(u->target));
	else
		snprintf(u->target, sizeof(u->target), "%s%s",
		    *end == '?' ? "/" : "", end);
	for (p = u->target; *p != '\0'; p++)
		if (*p == '%' && (gr_hexdigit(p[1]) == -1 ||
		    gr_hexdigit(p[2]) == -1)) {
			setwhy(why, whylen, "a '%%' not followed by two hex "
			    "digits");
			return -1;
		}
	return 0;
}

/* printable ASCII, no space: a token as a header or form carries it */
static int
vschar_ok(const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

int
oauth_value(const void *value, size_t len, struct oauth_value *v,
    char *why, size_t whylen)
{
	const char	*s = value, *lf;

	memset(v, 0, sizeof(*v));
	lf = memchr(s, '\n', len);
	v->refresh = s;
	v->rlen = lf != NULL ? (size_t)(lf - s) : len;
	if (v->rlen == 0 || v->rlen > OAUTH_TOKEN_MAX ||
	    !vschar_ok(v->refresh, v->rlen)) {
		setwhy(why, whylen, "the stored refresh token is not 1 to %d "
		    "printable ASCII bytes without space", OAUTH_TOKEN_MAX);
		return -1;
	}
	if (lf == NULL)
		return 0;
	v->secret = lf + 1;
	v->slen = len - v->rlen - 1;
	if (v->slen == 0 || v->slen > OAUTH_SECRET_MAX ||
	    !vschar_ok(v->secret, v->slen)) {
		setwhy(why, whylen, "the stored client secret (after the "
		    "line break) is not 1 to %d printable ASCII bytes "
		    "without space", OAUTH_SECRET_MAX);
		return -1;
	}
	return 0;
}

/* form-urlencoded: all but ALPHA DIGIT - . _ ~ as %XX */
static size_t
form_enc(char *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t		 i, n = 0;
	unsigned char	 c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			if (out != NULL)
				out[n] = c;
			n++;
		} else {
			if (out != NULL) {
				out[n] = '%';
				out[n + 1] = hex[c >> 4];
				out[n + 2] = hex[c & 15];
			}
			n += 3;
		}
	}
	return n;
}

char *
oauth_request(const struct oauth_url *u, const struct oauth_value *v,
    const char *client_id, size_t *len, char *why, size_t whylen)
{
	char	 head[1024], hostport[300], *out, *b;
	size_t	 cidlen = strlen(client_id), blen, hlen;
	int	 n;

	if (cidlen > OAUTH_CLIENTID_MAX || !vschar_ok(client_id, cidlen)) {
		setwhy(why, whylen, "clientId is not printable ASCII without "
		    "space, at most %d bytes", OAUTH_CLIENTID_MAX);
		return NULL;
	}
	blen = strlen("grant_type=refresh_token&refresh_token=") +
	    form_enc(NULL, v->refresh, v->rlen);
	if (cidlen > 0)
		blen += strlen("&client_id=") + form_enc(NULL, client_id,
		    cidlen);
	if (v->secret != NULL)
		blen += strlen("&client_secret=") + form_enc(NULL, v->secret,
		    v->slen);
	if (u->is_v6)
		snprintf(hostport, sizeof(hostport), "[%s]", u->host);
	else
		strlcpy(hostport, u->host, sizeof(hostport));
	if (u->port != 443)
		snprintf(hostport + strlen(hostport), sizeof(hostport) -
		    strlen(hostport), ":%u", (unsigned)u->port);
	n = snprintf(head, sizeof(head), "POST %s HTTP/1.1\r\n"
	    "Host: %s\r\n"
	    "Content-Type: application/x-www-form-urlencoded\r\n"
	    "Accept: application/json\r\n"
	    "Content-Length: %zu\r\n"
	    "Connection: close\r\n\r\n", u->target, hostport, blen);
	if (n < 0 || (size_t)n >= sizeof(head)) {
		setwhy(why, whylen, "the request head is too long");
		return NULL;
	}
	hlen = n;
	if ((out = malloc(hlen + blen + 1)) == NULL) {
		setwhy(why, whylen, "out of memory");
		return NULL;
	}
	memcpy(out, head, hlen);
	b = out + hlen;
	b += sprintf(b, "grant_type=refresh_token&refresh_token=");
	b += form_enc(b, v->refresh, v->rlen);
	if (cidlen > 0) {
		b += sprintf(b, "&client_id=");
		b += form_enc(b, client_id, cidlen);
	}
	if (v->secret != NULL) {
		b += sprintf(b, "&client_secret=");
		b += form_enc(b, v->secret, v->slen);
	}
	*b = '\0';
	*len = hlen + blen;
	return out;
}

/* an OAuth error code: 1 to 64 of NQSCHAR without space or quote */
static int
errcode_ok(const char *s)
{
	size_t	 n = strlen(s);

	return n > 0 && n <= 64 && vschar_ok(s, n) && strchr(s, '"') == NULL &&
	    strchr(s, '\\') == NULL;
}

/* a token member: NULL when missing, "" (and why) when bad */
static int
tokstr(json_t *o, const char *name, int required, char *out,
    char *why, size_t whylen)
{
	json_t		*j;
	const char	*s;
	size_t		 n;

	out[0] = '\0';
	if ((j = json_object_get(o, name)) == NULL) {
		if (!required)
			return 0;
		setwhy(why, whylen, "no %s in the token response", name);
		return -1;
	}
	if (!json_is_string(j)) {
		setwhy(why, whylen, "%s is not a string", name);
		return -1;
	}
	s = json_string_value(j);
	n = json_string_length(j);
	if (n == 0 || n > OAUTH_TOKEN_MAX || !vschar_ok(s, n)) {
		setwhy(why, whylen, "%s is not 1 to %d printable ASCII bytes "
		    "without space", name, OAUTH_TOKEN_MAX);
		return -1;
	}
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

/* jansson keeps copies of the strings it read: zero them */
static void
json_zero(json_t *j)
{
	const char	*k;
	json_t		*v;

	if (json_is_object(j)) {
		json_object_foreach(j, k, v)
			json_zero(v);
	} else if (json_is_array(j)) {
		size_t	 i;

		json_array_foreach(j, i, v)
			json_zero(v);
	} else if (json_is_string(j)) {
		sodium_memzero((char *)json_string_value(j),
		    json_string_length(j));
	}
}

int
oauth_parse(int status, const void *body, size_t len, struct oauth_token *tok,
    char *why, size_t whylen)
{
	json_t		*o, *j;
	json_error_t	 jerr;
	const char	*s;
	json_int_t	 e;
	int		 rc = -1;

	memset(tok, 0, sizeof(*tok));
	if (len > OAUTH_RESP_MAX) {
		setwhy(why, whylen, "HTTP %d, a body over %d bytes", status,
		    OAUTH_RESP_MAX);
		return -1;
	}
	o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (status != 200) {
		j = o != NULL && json_is_object(o) ? json_object_get(o,
		    "error") : NULL;
		s = j != NULL && json_is_string(j) ? json_string_value(j) :
		    NULL;
		if (s != NULL && strlen(s) == json_string_length(j) &&
		    errcode_ok(s))
			setwhy(why, whylen, "the token endpoint answered "
			    "HTTP %d %s", status, s);
		else
			setwhy(why, whylen, "the token endpoint answered "
			    "HTTP %d", status);
		goto done;
	}
	if (o == NULL) {
		setwhy(why, whylen, "the token response is not JSON: %s at "
		    "byte %d", jerr.text, jerr.position);
		goto done;
	}
	if (!json_is_object(o)) {
		setwhy(why, whylen, "the token response is not a JSON object");
		goto done;
	}
	if (tokstr(o, "access_token", 1, tok->access, why, whylen) == -1 ||
	    tokstr(o, "refresh_token", 0, tok->refresh, why, whylen) == -1)
		goto done;
	if ((j = json_object_get(o, "token_type")) == NULL ||
	    !json_is_string(j)) {
		setwhy(why, whylen, "token_type missing or not a string");
		goto done;
	}
	if (json_string_length(j) != 6 ||
	    strcasecmp(json_string_value(j), "bearer") != 0) {
		setwhy(why, whylen, "token_type is not Bearer");
		goto done;
	}
	if ((j = json_object_get(o, "expires_in")) == NULL)
		tok->expires_in = OAUTH_EXPIRY_DEFAULT;
	else if (!json_is_integer(j) || (e = json_integer_value(j)) < 1 ||
	    e > OAUTH_EXPIRY_MAX) {
		setwhy(why, whylen, "expires_in is not an integer from 1 to "
		    "%d", OAUTH_EXPIRY_MAX);
		goto done;
	} else
		tok->expires_in = (uint32_t)e;
	rc = 0;
 done:
	if (o != NULL) {
		json_zero(o);
		json_decref(o);
	}
	if (rc == -1)
		sodium_memzero(tok, sizeof(*tok));
	return rc;
}

/* the cache */

struct oauth_waiter {
	TAILQ_ENTRY(oauth_waiter)	 entry;
	struct oauth_entry		*e;
	oauth_cb			 cb;
	void				*arg;
};
TAILQ_HEAD(waitq, oauth_waiter);

enum entry_state { E_EMPTY, E_FETCHING, E_VALID, E_FAILED };

struct oauth_entry {
	TAILQ_ENTRY(oauth_entry)	 entry;
	struct oauth_key		 key;
	enum entry_state		 state;
	int64_t				 started;	/* the refresh */
	int64_t				 usable;	/* E_VALID: until */
	int64_t				 retry;		/* E_FAILED: from */
	char				*access;	/* sodium_malloc */
	char				 why[256];	/* E_FAILED */
	struct waitq			 waiters;
	int				 busy;		/* calling back */
};
TAILQ_HEAD(entryq, oauth_entry);

struct oauth_cache {
	struct oauth_ops	 ops;
	struct entryq		 entries;
	size_t			 n;
};

struct oauth_cache *
oauth_cache_new(const struct oauth_ops *ops)
{
	struct oauth_cache	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->ops = *ops;
	TAILQ_INIT(&c->entries);
	return c;
}

static void
entry_free(struct oauth_cache *c, struct oauth_entry *e)
{
	struct oauth_waiter	*w;

	while ((w = TAILQ_FIRST(&e->waiters)) != NULL) {
		TAILQ_REMOVE(&e->waiters, w, entry);
		free(w);
	}
	TAILQ_REMOVE(&c->entries, e, entry);
	c->n--;
	sodium_free(e->access);
	free(e);
}

void
oauth_cache_free(struct oauth_cache *c)
{
	struct oauth_entry	*e;

	if (c == NULL)
		return;
	while ((e = TAILQ_FIRST(&c->entries)) != NULL)
		entry_free(c, e);
	free(c);
}

const struct oauth_key *
oauth_entry_key(const struct oauth_entry *e)
{
	return &e->key;
}

static struct oauth_entry *
entry_find(struct oauth_cache *c, const struct oauth_key *k)
{
	struct oauth_entry	*e;

	TAILQ_FOREACH(e, &c->entries, entry)
		if (strcmp(e->key.cred, k->cred) == 0 &&
		    strcmp(e->key.token_url, k->token_url) == 0 &&
		    strcmp(e->key.client_id, k->client_id) == 0)
			return e;
	return NULL;
}

/* room for one more: an idle entry whose token is no longer usable
 * goes first, else the oldest idle one */
static int
entry_room(struct oauth_cache *c, int64_t now)
{
	struct oauth_entry	*e, *victim = NULL;

	if (c->n < OAUTH_MAXENTRY)
		return 0;
	TAILQ_FOREACH(e, &c->entries, entry) {
		if (e->state == E_FETCHING || e->busy ||
		    !TAILQ_EMPTY(&e->waiters))
			continue;
		if (e->state != E_VALID || now >= e->usable) {
			victim = e;
			break;
		}
		if (victim == NULL)
			victim = e;
	}
	if (victim == NULL)
		return -1;
	entry_free(c, victim);
	return 0;
}

static int
key_ok(const struct oauth_key *k)
{
	return memchr(k->cred, '\0', sizeof(k->cred)) != NULL &&
	    k->cred[0] != '\0' &&
	    memchr(k->token_url, '\0', sizeof(k->token_url)) != NULL &&
	    k->token_url[0] != '\0' &&
	    memchr(k->client_id, '\0', sizeof(k->client_id)) != NULL;
}

enum oauth_state
oauth_get(struct oauth_cache *c, const struct oauth_key *k, char *tok,
    oauth_cb cb, void *cbarg, struct oauth_waiter **wp, char *why,
    size_t whylen)
{
	struct oauth_entry	*e;
	struct oauth_waiter	*w;
	int64_t			 now = c->ops.now(c->ops.arg);

	*wp = NULL;
	if (!key_ok(k)) {
		setwhy(why, whylen, "a bad credential key");
		return OAUTH_FAILED;
	}
	if ((e = entry_find(c, k)) == NULL) {
		if (entry_room(c, now) == -1) {
			setwhy(why, whylen, "%d OAuth tokens are being "
			    "refreshed or waited for", OAUTH_MAXENTRY);
			return OAUTH_FAILED;
		}
		if ((e = calloc(1, sizeof(*e))) == NULL ||
		    (e->access = sodium_malloc(OAUTH_TOKEN_MAX + 1)) == NULL) {
			free(e);
			setwhy(why, whylen, "out of memory");
			return OAUTH_FAILED;
		}
		e->key = *k;
		e->state = E_EMPTY;
		TAILQ_INIT(&e->waiters);
		TAILQ_INSERT_TAIL(&c->entries, e, entry);
		c->n++;
	}
	/* while its waiters are told, an entry stays as its refresh left
	 * it: one of them asking again gets the same answer */
	if (e->state == E_VALID && (now < e->usable || e->busy)) {
		strlcpy(tok, e->access, OAUTH_TOKEN_MAX + 1);
		return OAUTH_HAVE;
	}
	if (e->state == E_FAILED && (now < e->retry || e->busy)) {
		setwhy(why, whylen, "%s (not retried for %d s)", e->why,
		    OAUTH_RETRY_SECS);
		return OAUTH_FAILED;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		setwhy(why, whylen, "out of memory");
		return OAUTH_FAILED;
	}
	w->e = e;
	w->cb = cb;
	w->arg = cbarg;
	if (e->state != E_FETCHING) {
		/* the old token goes now: it is not usable any more */
		sodium_memzero(e->access, OAUTH_TOKEN_MAX + 1);
		e->started = now;
		if (c->ops.fetch(c->ops.arg, e, &e->key, e->why,
		    sizeof(e->why)) == -1) {
			e->state = E_FAILED;
			e->retry = now + OAUTH_RETRY_SECS;
			setwhy(why, whylen, "%s", e->why);
			free(w);
			return OAUTH_FAILED;
		}
		e->state = E_FETCHING;
	}
	TAILQ_INSERT_TAIL(&e->waiters, w, entry);
	*wp = w;
	return OAUTH_WAIT;
}

void
oauth_cancel(struct oauth_cache *c, struct oauth_waiter *w)
{
	(void)c;
	if (w == NULL)
		return;
	TAILQ_REMOVE(&w->e->waiters, w, entry);
	free(w);
}

void
oauth_fetched(struct oauth_cache *c, struct oauth_entry *e,
    const struct oauth_token *tok, const char *why)
{
	struct oauth_waiter	*w;
	int64_t			 now = c->ops.now(c->ops.arg), skew;
	oauth_cb		 cb;
	void			*arg;

	if (e->state != E_FETCHING)
		return;
	if (tok != NULL) {
		skew = tok->expires_in >= 4 * OAUTH_SKEW ? OAUTH_SKEW :
		    tok->expires_in / 4;
		strlcpy(e->access, tok->access, OAUTH_TOKEN_MAX + 1);
		e->usable = e->started + tok->expires_in - skew;
		e->state = E_VALID;
		e->why[0] = '\0';
	} else {
		setwhy(e->why, sizeof(e->why), "%s", why != NULL ? why :
		    "the refresh failed");
		e->state = E_FAILED;
		e->retry = now + OAUTH_RETRY_SECS;
	}
	/* a waiter may cancel others or ask again: take each off first */
	e->busy = 1;
	while ((w = TAILQ_FIRST(&e->waiters)) != NULL) {
		TAILQ_REMOVE(&e->waiters, w, entry);
		cb = w->cb;
		arg = w->arg;
		free(w);
		if (e->state == E_VALID)
			cb(arg, e->access, NULL);
		else
			cb(arg, NULL, e->why);
	}
	e->busy = 0;
}
