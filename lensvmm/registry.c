/*
 * Registries over the OCI distribution API (docker's "v2" API).
 *
 * In the parent: the reference checked and split (registry_source) and
 * the registry's credentials read from the credentials file
 * (registry_creds; root's, mode 0600, else refused), handed to the
 * fetch process for that registry only.
 *
 * In the fetch process (fetch.c), after it dropped to _lensfetch in
 * the empty directory: HTTPS with libcurl.  The trust store (the
 * system's, or --ca-file read as the caller) was read into memory
 * before the chroot.  Names are resolved by the resolver, a process
 * forked before the chroot as _lensfetch (no capabilities,
 * NO_NEW_PRIVS, its own seccomp filter) that answers getaddrinfo()
 * for one host at a time; libcurl gets the answer as CURLOPT_RESOLVE
 * and connects only there.  Redirects are followed here, not by
 * libcurl: only to https (http with --insecure-registry), at most
 * REG_REDIRS, and the Authorization header is sent only to the
 * registry's own scheme://host:port, never to another host a
 * redirect names.  Manifests are bounded (OCI_JSON_MAX) while they
 * stream; blobs stream into the store through imgstore's writer,
 * which refuses a byte beyond the manifest's size and a blob whose
 * content does not hash to its digest.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netdb.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "pull.h"
#include "registry.h"

#define REG_REDIRS	5
#define REG_JUNK	(64 * 1024)	/* error bodies read, then dropped */
#define REG_TOKEN_MAX	(64 * 1024)
#define REG_CREDS_MAX	(1024 * 1024)
#define REG_ACCEPT	"Accept: " MT_OCI_MANIFEST ", " MT_OCI_INDEX ", " \
			MT_DOCKER_MANIFEST ", " MT_DOCKER_LIST

static void __attribute__((format(printf, 3, 4)))
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* --- the parent --------------------------------------------------------- */

static int
host_ok(const char *h)
{
	const char	*c = strchr(h, ':');
	size_t		 n = c ? (size_t)(c - h) : strlen(h);

	if (n == 0 || n > 253 || strspn(h, "abcdefghijklmnopqrstuvwxyz"
	    "0123456789.-") != n || h[0] == '.' || h[0] == '-')
		return 0;
	if (c != NULL && (c[1] == '\0' || strlen(c + 1) > 5 ||
	    strspn(c + 1, "0123456789") != strlen(c + 1)))
		return 0;
	return 1;
}

int
registry_source(const char *src, struct fetch_conf *fc, char *err,
    size_t errlen)
{
	char		 s[CTL_PATH_SIZE], probe[IMG_REF_SIZE];
	char		*at, *slash, *c;
	const char	*repo;

	if (strlcpy(s, src, sizeof(s)) >= sizeof(s)) {
		seterr(err, errlen, "image reference too long");
		return -1;
	}
	fc->reference[0] = '\0';
	fc->tag[0] = '\0';
	if ((at = strchr(s, '@')) != NULL) {
		*at++ = '\0';
		if (!ocispec_digest_ok(at)) {
			seterr(err, errlen, "\"%.80s\": after @ comes sha256: "
			    "and 64 lowercase hex digits", at);
			return -1;
		}
		strlcpy(fc->reference, at, sizeof(fc->reference));
	}
	slash = strchr(s, '/');
	if ((c = strrchr(s, ':')) != NULL && (slash == NULL || c > slash)) {
		*c++ = '\0';
		snprintf(probe, sizeof(probe), "x:%s", c);
		if (!imgstore_ref_ok(probe)) {
			seterr(err, errlen, "tag \"%.64s\" is not [A-Za-z0-9_]"
			    "[A-Za-z0-9_.-]{0,127}", c);
			return -1;
		}
		strlcpy(fc->tag, c, sizeof(fc->tag));
	}
	if (slash == NULL || (memchr(s, '.', (size_t)(slash - s)) == NULL &&
	    memchr(s, ':', (size_t)(slash - s)) == NULL &&
	    strncmp(s, "localhost/", 10) != 0)) {
		seterr(err, errlen, "\"%.64s\" names no registry: write "
		    "REGISTRY/REPO[:TAG|@sha256:...] (e.g. docker.io/library/"
		    "busybox); no default registry is assumed", src);
		return -1;
	}
	*slash = '\0';
	repo = slash + 1;
	if (!host_ok(s)) {
		seterr(err, errlen, "registry \"%.64s\" is not HOST[:PORT] "
		    "(lowercase)", s);
		return -1;
	}
	if (strcmp(s, "docker.io") == 0) {
		strlcpy(fc->host, "registry-1.docker.io", sizeof(fc->host));
		if (strchr(repo, '/') == NULL)
			snprintf(fc->repo, sizeof(fc->repo), "library/%s",
			    repo);
		else
			strlcpy(fc->repo, repo, sizeof(fc->repo));
		snprintf(fc->name, sizeof(fc->name), "docker.io/%s",
		    fc->repo);
	} else {
		strlcpy(fc->host, s, sizeof(fc->host));
		strlcpy(fc->repo, repo, sizeof(fc->repo));
		if ((size_t)snprintf(fc->name, sizeof(fc->name), "%s/%s", s,
		    repo) >= sizeof(fc->name))
			fc->name[0] = '\0';
	}
	if (fc->reference[0] == '\0')
		strlcpy(fc->reference, fc->tag[0] ? fc->tag : "latest",
		    sizeof(fc->reference));
	if (fc->tag[0] == '\0' && strncmp(fc->reference, "sha256:", 7) == 0)
		snprintf(fc->tag, sizeof(fc->tag), "sha256-%s",
		    OCI_DIGEST_HEX(fc->reference));
	if ((size_t)snprintf(probe, sizeof(probe), "%s:latest", fc->name) >=
	    sizeof(probe) || fc->name[0] == '\0' || strchr(fc->repo, ':') != NULL ||
	    !imgstore_ref_ok(probe) || strlen(fc->repo) > 200) {
		seterr(err, errlen, "repository \"%.64s\" is not [a-z0-9._/-]"
		    " (lowercase, no \"//\" or \"..\")", repo);
		return -1;
	}
	fc->kind = FETCH_REGISTRY;
	return 0;
}

static int
auth_ok(const char *a)
{
	size_t	 n = strlen(a);

	return n > 0 && n < REG_AUTH_SIZE && strspn(a, "ABCDEFGHIJKLMNOPQRSTUV"
	    "WXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") == n;
}

int
registry_creds(const char *file, const char *host, char *auth,
    size_t authlen, char *err, size_t errlen)
{
	struct stat	 st;
	json_error_t	 je;
	json_t		*root = NULL, *auths, *e, *a;
	char		*buf = NULL, key[300];
	ssize_t		 n;
	size_t		 have = 0;
	int		 fd, rc = -1;

	auth[0] = '\0';
	if ((fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK)) == -1) {
		if (errno == ENOENT)
			return 0;
		seterr(err, errlen, "%s: %s", file, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		seterr(err, errlen, "%s: not a regular file", file);
		goto out;
	}
	if (st.st_uid != 0 || (st.st_mode & 077) != 0) {
		seterr(err, errlen, "%s: owner uid %u, mode %04o: refused (the "
		    "credentials file must be root's, mode 0600)", file,
		    (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_size > REG_CREDS_MAX || (buf = malloc((size_t)st.st_size +
	    1)) == NULL) {
		seterr(err, errlen, "%s: above %d bytes", file, REG_CREDS_MAX);
		goto out;
	}
	while (have < (size_t)st.st_size && (n = read(fd, buf + have,
	    (size_t)st.st_size - have)) > 0)
		have += (size_t)n;
	if ((root = json_loadb(buf, have, JSON_REJECT_DUPLICATES, &je)) ==
	    NULL) {
		seterr(err, errlen, "%s: line %d: %s", file, je.line, je.text);
		goto out;
	}
	auths = json_object_get(root, "auths");
	if (auths != NULL && !json_is_object(auths)) {
		seterr(err, errlen, "%s: auths is not an object", file);
		goto out;
	}
	rc = 0;
	if (auths == NULL)
		goto out;
	if ((e = json_object_get(auths, host)) == NULL) {
		snprintf(key, sizeof(key), "https://%s", host);
		e = json_object_get(auths, key);
	}
	if (e == NULL)
		goto out;
	if (!json_is_object(e) || (a = json_object_get(e, "auth")) == NULL ||
	    !json_is_string(a) || !auth_ok(json_string_value(a)) ||
	    strlcpy(auth, json_string_value(a), authlen) >= authlen) {
		seterr(err, errlen, "%s: auths.\"%s\".auth is not base64 of "
		    "USER:PASSWORD", file, host);
		auth[0] = '\0';
		rc = -1;
	}
 out:
	json_decref(root);
	free(buf);
	close(fd);
	return rc;
}

/* --- the resolver (forked by the fetch process) ------------------------- */

static const struct sandbox_syscall resolver_syscalls[] = {
	SB_ALLOW(recvmsg), SB_ALLOW(sendmsg), SB_ALLOW(recvfrom),
	SB_ALLOW(sendto), SB_ALLOW(sendmmsg), SB_ALLOW(openat),
	SB_ALLOW(read), SB_ALLOW(write), SB_ALLOW(close), SB_ALLOW(fstat),
	SB_ALLOW(newfstatat), SB_ALLOW(lseek), SB_ALLOW(poll),
	SB_ALLOW(ppoll), SB_ALLOW(brk), SB_ALLOW(mmap), SB_ALLOW(munmap),
	SB_ALLOW(mprotect), SB_ALLOW(futex), SB_ALLOW(getpid),
	SB_ALLOW(clock_gettime), SB_ALLOW(getrandom), SB_ALLOW(fcntl),
	SB_ALLOW(ioctl), SB_ALLOW(bind), SB_ALLOW(connect),
	SB_ALLOW(getsockname), SB_ALLOW(setsockopt), SB_ALLOW(uname),
	SB_ALLOW_ARG(socket, 0, AF_INET), SB_ALLOW_ARG(socket, 0, AF_INET6),
	SB_ALLOW_ARG(socket, 0, AF_UNIX),	/* nscd, refused by ENOENT */
	SB_ALLOW(exit_group), SB_ALLOW(exit),
};

void
registry_resolver(int s)
{
	struct addrinfo	 hints, *res, *ai;
	char		 host[256], out[1024], a[INET6_ADDRSTRLEN];
	size_t		 o;
	ssize_t		 n;
	int		 e;

	sandbox_apply("fetch-resolver", resolver_syscalls,
	    sizeof(resolver_syscalls) / sizeof(resolver_syscalls[0]));
	for (;;) {
		if ((n = recv(s, host, sizeof(host) - 1, 0)) <= 0)
			_exit(0);
		host[n] = '\0';
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		if ((e = getaddrinfo(host, NULL, &hints, &res)) != 0) {
			snprintf(out, sizeof(out), "E%s", gai_strerror(e));
			(void)!send(s, out, strlen(out), 0);
			continue;
		}
		o = 0;
		out[0] = '\0';
		for (ai = res; ai != NULL && o < sizeof(out) - 60;
		    ai = ai->ai_next) {
			if (ai->ai_family == AF_INET)
				inet_ntop(AF_INET, &((struct sockaddr_in *)
				    (void *)ai->ai_addr)->sin_addr, a,
				    sizeof(a));
			else if (ai->ai_family == AF_INET6)
				inet_ntop(AF_INET6, &((struct sockaddr_in6 *)
				    (void *)ai->ai_addr)->sin6_addr, a,
				    sizeof(a));
			else
				continue;
			if (strstr(out, a) != NULL)
				continue;
			o += (size_t)snprintf(out + o, sizeof(out) - o,
			    ai->ai_family == AF_INET6 ? "%s[%s]" : "%s%s",
			    o ? "," : "", a);
		}
		freeaddrinfo(res);
		if (o == 0)
			snprintf(out, sizeof(out), "Eno address");
		(void)!send(s, out, strlen(out), 0);
	}
}

/* --- the client (in the fetch process) ---------------------------------- */

struct reg {
	CURL			*h;
	const struct fetch_conf	*c;
	int			 resolver;
	struct curl_slist	*resolved;	/* CURLOPT_RESOLVE */
	char			 origin[300];	/* scheme://host:port */
	char			 authz[REG_TOKEN_MAX + 32];
	/* one request */
	int			 sink;		/* SINK_* */
	uint8_t			*buf;
	size_t			 len, max;
	struct img_writer	*w;
	size_t			 junk;
	void			(*progress)(void *, uint64_t);
	void			*arg;
	uint64_t		 reported;
	char			 wwwauth[1024];
	char			 ctype[128];
	char			 serr[400];
	char			 cerr[CURL_ERROR_SIZE];
};
#define SINK_NONE	0
#define SINK_MEM	1
#define SINK_BLOB	2

static struct reg	 reg;

static size_t
reg_write(char *p, size_t sz, size_t nmemb, void *arg)
{
	struct reg	*r = arg;
	size_t		 len = sz * nmemb;
	long		 code = 0;

	curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200 || r->sink == SINK_NONE) {
		r->junk += len;
		return r->junk > REG_JUNK ? 0 : len;
	}
	if (r->sink == SINK_MEM) {
		if (len > r->max - r->len) {
			seterr(r->serr, sizeof(r->serr), "above %zu bytes",
			    r->max);
			return 0;
		}
		memcpy(r->buf + r->len, p, len);
		r->len += len;
		return len;
	}
	if (imgstore_write(r->w, p, len, r->serr, sizeof(r->serr)) == -1)
		return 0;
	if (r->progress != NULL && r->w->have - r->reported >= 1024 * 1024) {
		r->reported = r->w->have;
		r->progress(r->arg, r->w->have);
	}
	return len;
}

static void
header_value(char *dst, size_t dstlen, const char *v, size_t n)
{
	while (n > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' ||
	    v[n - 1] == ' '))
		n--;
	if (n >= dstlen)
		n = dstlen - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static size_t
reg_header(char *p, size_t sz, size_t nmemb, void *arg)
{
	struct reg	*r = arg;
	size_t		 len = sz * nmemb;

	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		r->wwwauth[0] = '\0';
		r->ctype[0] = '\0';
	} else if (len > 17 && strncasecmp(p, "WWW-Authenticate:", 17) == 0)
		header_value(r->wwwauth, sizeof(r->wwwauth), p + 17, len - 17);
	else if (len > 13 && strncasecmp(p, "Content-Type:", 13) == 0)
		header_value(r->ctype, sizeof(r->ctype), p + 13, len - 13);
	return len;
}

/* host resolved by the resolver into CURLOPT_RESOLVE, once per host */
static int
reg_resolve(struct reg *r, const char *host, const char *port, char *err,
    size_t errlen)
{
	struct in6_addr	 a6;
	struct in_addr	 a4;
	struct curl_slist *l;
	char		 ans[1024], entry[1400];
	ssize_t		 n;
	size_t		 hl = strlen(host);

	if (inet_pton(AF_INET, host, &a4) == 1 ||
	    inet_pton(AF_INET6, host, &a6) == 1 || host[0] == '[')
		return 0;
	for (l = r->resolved; l != NULL; l = l->next)
		if (strncmp(l->data, host, hl) == 0 && l->data[hl] == ':' &&
		    strncmp(l->data + hl + 1, port, strlen(port)) == 0 &&
		    l->data[hl + 1 + strlen(port)] == ':')
			return 0;
	if (hl == 0 || hl > 253 || send(r->resolver, host, hl, 0) !=
	    (ssize_t)hl || (n = recv(r->resolver, ans, sizeof(ans) - 1, 0)) <=
	    0) {
		seterr(err, errlen, "%s: the resolver is gone", host);
		return -1;
	}
	ans[n] = '\0';
	if (ans[0] == 'E') {
		seterr(err, errlen, "%s: %s", host, ans + 1);
		return -1;
	}
	snprintf(entry, sizeof(entry), "%s:%s:%s", host, port, ans);
	if ((l = curl_slist_append(r->resolved, entry)) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	r->resolved = l;
	return curl_easy_setopt(r->h, CURLOPT_RESOLVE, r->resolved) ==
	    CURLE_OK ? 0 : -1;
}

/* scheme://host:port of url (the default port filled in), checked */
static int
reg_origin(const struct reg *r, const char *url, char *origin,
    size_t olen, char *host, size_t hlen, char *port, size_t plen,
    char *err, size_t errlen)
{
	CURLU	*u;
	char	*sc = NULL, *h = NULL, *p = NULL;
	int	 rc = -1;

	if ((u = curl_url()) == NULL)
		return -1;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &sc, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK) {
		seterr(err, errlen, "\"%.100s\" is not a URL", url);
		goto out;
	}
	if (strcmp(sc, "https") != 0 && !(strcmp(sc, "http") == 0 &&
	    r->c->insecure)) {
		seterr(err, errlen, "%.100s: only https is followed (http "
		    "with --insecure-registry)", url);
		goto out;
	}
	if (strlen(h) >= hlen || strlen(p) >= plen) {
		seterr(err, errlen, "%.100s: host name too long", url);
		goto out;
	}
	strlcpy(host, h, hlen);
	strlcpy(port, p, plen);
	for (char *q = host; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	snprintf(origin, olen, "%s://%s:%s", sc, host, port);
	rc = 0;
 out:
	curl_free(sc);
	curl_free(h);
	curl_free(p);
	curl_url_cleanup(u);
	return rc;
}

/*
 * GET url into the current sink, following redirects; authz is sent
 * to the origin it belongs to only.  The status, or -1 with err.
 */
static long
reg_get(struct reg *r, const char *url0, const char *accept,
    const char *authz, const char *authzorigin, long timeout, char *err,
    size_t errlen)
{
	struct curl_slist	*hd;
	char			 origin[300], host[256], port[8];
	char			*url, *loc, hbuf[REG_TOKEN_MAX + 64];
	long			 code = -1;
	CURLcode		 cc;
	int			 hop;

	if ((url = strdup(url0)) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	for (hop = 0; ; hop++) {
		if (reg_origin(r, url, origin, sizeof(origin), host,
		    sizeof(host), port, sizeof(port), err, errlen) == -1 ||
		    reg_resolve(r, host, port, err, errlen) == -1)
			break;
		hd = NULL;
		if (accept != NULL)
			hd = curl_slist_append(hd, accept);
		if (authz != NULL && authz[0] != '\0' &&
		    strcmp(origin, authzorigin) == 0) {
			snprintf(hbuf, sizeof(hbuf), "Authorization: %s",
			    authz);
			hd = curl_slist_append(hd, hbuf);
		}
		r->junk = 0;
		r->serr[0] = r->cerr[0] = '\0';
		curl_easy_setopt(r->h, CURLOPT_URL, url);
		curl_easy_setopt(r->h, CURLOPT_HTTPHEADER, hd);
		curl_easy_setopt(r->h, CURLOPT_TIMEOUT, timeout);
		cc = curl_easy_perform(r->h);
		curl_easy_setopt(r->h, CURLOPT_HTTPHEADER, NULL);
		curl_slist_free_all(hd);
		explicit_bzero(hbuf, sizeof(hbuf));
		if (cc != CURLE_OK) {
			if (r->serr[0] != '\0')
				seterr(err, errlen, "%s", r->serr);
			else
				seterr(err, errlen, "%s: %s", origin,
				    r->cerr[0] ? r->cerr :
				    curl_easy_strerror(cc));
			break;
		}
		curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &code);
		if (code < 300 || code > 399 || code == 304)
			break;
		loc = NULL;
		curl_easy_getinfo(r->h, CURLINFO_REDIRECT_URL, &loc);
		if (loc == NULL) {
			seterr(err, errlen, "%s: HTTP %ld without a Location",
			    origin, code);
			code = -1;
			break;
		}
		if (hop == REG_REDIRS) {
			seterr(err, errlen, "%s: more than %d redirects",
			    origin, REG_REDIRS);
			code = -1;
			break;
		}
		free(url);
		if ((url = strdup(loc)) == NULL) {
			seterr(err, errlen, "out of memory");
			return -1;
		}
		code = -1;
	}
	free(url);
	return code;
}

/* one auth-param of a challenge: name="value" */
static int
challenge_param(const char *ch, const char *name, char *out, size_t outlen)
{
	const char	*p = ch, *q;
	size_t		 n = strlen(name);

	while ((p = strcasestr(p, name)) != NULL) {
		if ((p == ch || p[-1] == ' ' || p[-1] == ',') &&
		    p[n] == '=' && p[n + 1] == '"') {
			p += n + 2;
			if ((q = strchr(p, '"')) == NULL ||
			    (size_t)(q - p) >= outlen)
				return -1;
			memcpy(out, p, (size_t)(q - p));
			out[q - p] = '\0';
			return 0;
		}
		p += n;
	}
	return -1;
}

static void
urlenc(char *out, size_t outlen, const char *s)
{
	size_t	 o = 0;

	for (; *s != '\0' && o + 4 < outlen; s++) {
		if (isalnum((unsigned char)*s) || strchr("-._~", *s) != NULL)
			out[o++] = *s;
		else
			o += (size_t)snprintf(out + o, outlen - o, "%%%02X",
			    (unsigned char)*s);
	}
	out[o] = '\0';
}

/* the token from the realm of a Bearer challenge, as r->authz */
static int
reg_token(struct reg *r, const char *challenge, char *err, size_t errlen)
{
	char		 realm[512], service[256], scope[400], url[1600];
	char		 es[800], esc[800], ro[300], rh[256], rp[8], basic[REG_AUTH_SIZE + 8];
	const char	*tok;
	json_t		*root, *t;
	json_error_t	 je;
	long		 code;

	if (challenge_param(challenge, "realm", realm, sizeof(realm)) == -1) {
		seterr(err, errlen, "%s: a Bearer challenge without a realm",
		    r->c->host);
		return -1;
	}
	if (challenge_param(challenge, "service", service, sizeof(service)) ==
	    -1)
		service[0] = '\0';
	snprintf(scope, sizeof(scope), "repository:%s:pull", r->c->repo);
	urlenc(es, sizeof(es), service);
	urlenc(esc, sizeof(esc), scope);
	if ((size_t)snprintf(url, sizeof(url), "%s%sservice=%s&scope=%s",
	    realm, strchr(realm, '?') ? "&" : "?", es, esc) >= sizeof(url)) {
		seterr(err, errlen, "%s: the token URL is too long",
		    r->c->host);
		return -1;
	}
	if (reg_origin(r, url, ro, sizeof(ro), rh, sizeof(rh), rp,
	    sizeof(rp), err, errlen) == -1)
		return -1;
	snprintf(basic, sizeof(basic), "Basic %s", r->c->auth);
	r->sink = SINK_MEM;
	r->max = REG_TOKEN_MAX;
	r->len = 0;
	if ((r->buf = malloc(r->max)) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	/* the credentials go to the realm the registry named (as docker's) */
	code = reg_get(r, url, NULL, r->c->auth[0] ? basic : NULL, ro, 60,
	    err, errlen);
	explicit_bzero(basic, sizeof(basic));
	if (code == 401 || code == 403) {
		seterr(err, errlen, "%s: the token service %s refused %s "
		    "(HTTP %ld)", r->c->host, rh, r->c->auth[0] ?
		    "the credentials of the credentials file" :
		    "an anonymous token: credentials needed", code);
		code = -1;
	} else if (code != -1 && code != 200) {
		seterr(err, errlen, "%s: the token service %s answered HTTP "
		    "%ld", r->c->host, rh, code);
		code = -1;
	}
	if (code == -1) {
		free(r->buf);
		return -1;
	}
	root = json_loadb((char *)r->buf, r->len, 0, &je);
	free(r->buf);
	r->buf = NULL;
	if (root == NULL || ((t = json_object_get(root, "token")) == NULL &&
	    (t = json_object_get(root, "access_token")) == NULL) ||
	    (tok = json_string_value(t)) == NULL || tok[0] == '\0' ||
	    strlen(tok) > REG_TOKEN_MAX - 1 || strspn(tok,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	    "-._~+/=") != strlen(tok)) {
		seterr(err, errlen, "%s: the token service %s sent no usable "
		    "token", r->c->host, rh);
		json_decref(root);
		return -1;
	}
	snprintf(r->authz, sizeof(r->authz), "Bearer %s", tok);
	json_decref(root);
	return 0;
}

int
registry_open(const struct fetch_conf *c, int resolver, const void *ca,
    size_t calen, char *err, size_t errlen)
{
	struct reg	*r = &reg;
	struct curl_blob blob;
	char		 url[400], host[256], port[8];
	long		 code;

	memset(r, 0, sizeof(*r));
	r->c = c;
	r->resolver = resolver;
	if ((r->h = curl_easy_init()) == NULL) {
		seterr(err, errlen, "curl_easy_init failed");
		return -1;
	}
	blob.data = (void *)(uintptr_t)ca;
	blob.len = calen;
	blob.flags = CURL_BLOB_COPY;
	curl_easy_setopt(r->h, CURLOPT_CAINFO, NULL);
	curl_easy_setopt(r->h, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(r->h, CURLOPT_CAINFO_BLOB, &blob);
	curl_easy_setopt(r->h, CURLOPT_PROXY, "");
	curl_easy_setopt(r->h, CURLOPT_PROTOCOLS_STR, c->insecure ?
	    "http,https" : "https");
	curl_easy_setopt(r->h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(r->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->h, CURLOPT_CONNECTTIMEOUT, 15L);
	curl_easy_setopt(r->h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(r->h, CURLOPT_LOW_SPEED_TIME, 30L);
	curl_easy_setopt(r->h, CURLOPT_USERAGENT, "lens");
	curl_easy_setopt(r->h, CURLOPT_ERRORBUFFER, r->cerr);
	curl_easy_setopt(r->h, CURLOPT_WRITEFUNCTION, reg_write);
	curl_easy_setopt(r->h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->h, CURLOPT_HEADERFUNCTION, reg_header);
	curl_easy_setopt(r->h, CURLOPT_HEADERDATA, r);
	snprintf(url, sizeof(url), "%s://%s/v2/", c->insecure ? "http" :
	    "https", c->host);
	if (reg_origin(r, url, r->origin, sizeof(r->origin), host,
	    sizeof(host), port, sizeof(port), err, errlen) == -1)
		return -1;
	/* the API's version check: 200, or 401 and how to authenticate */
	r->sink = SINK_NONE;
	code = reg_get(r, url, NULL, NULL, r->origin, 60, err, errlen);
	if (code == 200)
		return 0;
	if (code != 401) {
		if (code != -1)
			seterr(err, errlen, "%s: /v2/ answered HTTP %ld: not an "
			    "OCI registry", c->host, code);
		return -1;
	}
	if (strncasecmp(r->wwwauth, "Bearer ", 7) == 0)
		return reg_token(r, r->wwwauth + 7, err, errlen);
	if (strncasecmp(r->wwwauth, "Basic", 5) == 0) {
		if (c->auth[0] == '\0') {
			seterr(err, errlen, "%s asks for credentials: the "
			    "credentials file has none for it", c->host);
			return -1;
		}
		snprintf(r->authz, sizeof(r->authz), "Basic %s", c->auth);
		r->sink = SINK_NONE;
		code = reg_get(r, url, NULL, r->authz, r->origin, 60, err,
		    errlen);
		if (code == 200)
			return 0;
		if (code != -1)
			seterr(err, errlen, "%s refused the credentials of the "
			    "credentials file (HTTP %ld)", c->host, code);
		return -1;
	}
	seterr(err, errlen, "%s: HTTP 401 without a Bearer or Basic "
	    "challenge", c->host);
	return -1;
}

static const char *
status_why(long code)
{
	return code == 401 || code == 403 ? " (credentials refused)" :
	    code == 404 ? " (not found)" : "";
}

int
registry_manifest(const char *reference, void **bufp, size_t *lenp,
    char digest[OCI_DIGEST_SIZE], int *kind, char *err, size_t errlen)
{
	struct reg		*r = &reg;
	struct img_writer	 w;
	unsigned char		 h[crypto_hash_sha256_BYTES];
	char			 url[900], hex[65];
	long			 code;
	size_t			 i;
	int			 rc;

	if ((size_t)snprintf(url, sizeof(url), "%.300s/v2/%.256s/manifests/"
	    "%.80s", r->origin, r->c->repo, reference) >= sizeof(url))
		return -1;
	r->sink = SINK_MEM;
	r->max = OCI_JSON_MAX;
	r->len = 0;
	if ((r->buf = malloc(r->max)) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	code = reg_get(r, url, REG_ACCEPT, r->authz, r->origin, 120, err,
	    errlen);
	if (code == -1 && r->serr[0] != '\0')
		seterr(err, errlen, "manifest %s: %s", reference, r->serr);
	if (code != 200) {
		if (code != -1)
			seterr(err, errlen, "%s/%s: manifest %s: HTTP %ld%s",
			    r->c->host, r->c->repo, reference, code,
			    status_why(code));
		free(r->buf);
		return -1;
	}
	crypto_hash_sha256(h, r->buf, r->len);
	for (i = 0; i < sizeof(h); i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	snprintf(digest, OCI_DIGEST_SIZE, "sha256:%s", hex);
	if (strncmp(reference, "sha256:", 7) == 0 &&
	    strcmp(reference, digest) != 0) {
		seterr(err, errlen, "manifest %s: its content hashes to %s",
		    reference, digest);
		free(r->buf);
		return -1;
	}
	if (strcmp(r->ctype, MT_OCI_INDEX) == 0 ||
	    strcmp(r->ctype, MT_DOCKER_LIST) == 0)
		*kind = OCI_KIND_INDEX;
	else
		*kind = OCI_KIND_MANIFEST;
	if ((rc = imgstore_begin(r->c->blobsfd, digest, r->len, &w, err,
	    errlen)) == -1) {
		free(r->buf);
		return -1;
	}
	if (rc == 0 && (imgstore_write(&w, r->buf, r->len, err, errlen) ==
	    -1 || imgstore_commit(&w, err, errlen) == -1)) {
		imgstore_abort(&w);
		free(r->buf);
		return -1;
	}
	*bufp = r->buf;
	*lenp = r->len;
	r->buf = NULL;
	return 0;
}

int
registry_blob(const struct oci_descriptor *d,
    void (*progress)(void *, uint64_t), void *arg, char *err, size_t errlen)
{
	struct reg		*r = &reg;
	struct img_writer	 w;
	char			 url[900];
	long			 code;
	int			 rc;

	if ((rc = imgstore_begin(r->c->blobsfd, d->digest, d->size, &w, err,
	    errlen)) != 0)
		return rc;
	if ((size_t)snprintf(url, sizeof(url), "%.300s/v2/%.256s/blobs/%.72s",
	    r->origin, r->c->repo, d->digest) >= sizeof(url)) {
		imgstore_abort(&w);
		return -1;
	}
	r->sink = SINK_BLOB;
	r->w = &w;
	r->progress = progress;
	r->arg = arg;
	r->reported = 0;
	code = reg_get(r, url, NULL, r->authz, r->origin, 0, err, errlen);
	r->w = NULL;
	if (code != 200) {
		if (code != -1)
			seterr(err, errlen, "blob %s: HTTP %ld%s", d->digest,
			    code, status_why(code));
		imgstore_abort(&w);
		return -1;
	}
	if (imgstore_commit(&w, err, errlen) == -1)
		return -1;
	return 0;
}
