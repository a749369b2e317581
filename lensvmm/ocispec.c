/*
 * The strict parse of OCI image index, manifest and config JSON
 * (ocispec.h says what is refused).  Runs in unprivileged processes
 * only (the fetch process, the image child, lensctl) and under the
 * fuzzer (regress/fuzz/ocispec.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jsonstrict.h"
#include "ocispec.h"

static const char *const layer_types[] = {
	"application/vnd.oci.image.layer.v1.tar",
	"application/vnd.oci.image.layer.v1.tar+gzip",
	"application/vnd.oci.image.layer.v1.tar+zstd",
	"application/vnd.docker.image.rootfs.diff.tar.gzip",
	"application/vnd.docker.image.rootfs.diff.tar.zstd",
};
static const int layer_compression[] = {
	OCI_LAYER_TAR, OCI_LAYER_GZIP, OCI_LAYER_ZSTD, OCI_LAYER_GZIP,
	OCI_LAYER_ZSTD,
};

static void __attribute__((format(printf, 3, 4)))
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int
ocispec_digest_ok(const char *d)
{
	size_t	 i;

	if (d == NULL || strncmp(d, "sha256:", 7) != 0)
		return 0;
	for (i = 7; i < 7 + 64; i++)
		if (!((d[i] >= '0' && d[i] <= '9') ||
		    (d[i] >= 'a' && d[i] <= 'f')))
			return 0;
	return d[i] == '\0';
}

/* printable ASCII and UTF-8 bytes; no NUL (json_string_length), no
 * control characters */
static int
text_ok(json_t *v, size_t max)
{
	const unsigned char	*s;
	size_t			 n, i;

	if (!json_is_string(v))
		return 0;
	s = (const unsigned char *)json_string_value(v);
	n = json_string_length(v);
	if (n > max || strlen((const char *)s) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/* a string field into a fixed buffer: 0, 1 when absent and optional,
 * -1 with err */
static int
get_str(json_t *o, const char *where, const char *key, char *dst,
    size_t dstsz, int optional, char *err, size_t errlen)
{
	json_t	*v = json_object_get(o, key);

	if (v == NULL) {
		if (optional)
			return 1;
		seterr(err, errlen, "%s: no %s", where, key);
		return -1;
	}
	if (!text_ok(v, dstsz - 1)) {
		seterr(err, errlen, "%s: %s is not a string of at most %zu "
		    "printable bytes", where, key, dstsz - 1);
		return -1;
	}
	memcpy(dst, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

static int
check_schema(json_t *root, const char *what, char *err, size_t errlen)
{
	json_t	*v;

	if (!json_is_object(root)) {
		seterr(err, errlen, "%s: not a JSON object", what);
		return -1;
	}
	v = json_object_get(root, "schemaVersion");
	if (!json_is_integer(v) || json_integer_value(v) != 2) {
		seterr(err, errlen, "%s: schemaVersion is not 2", what);
		return -1;
	}
	return 0;
}

static json_t *
parse(const void *buf, size_t len, const char *what, char *err,
    size_t errlen)
{
	char	 why[160];
	json_t	*root;

	if (len > OCI_JSON_MAX) {
		seterr(err, errlen, "%s: %zu bytes, above the limit of %u",
		    what, len, OCI_JSON_MAX);
		return NULL;
	}
	if ((root = jsonstrict_parse(buf, len, OCI_JSON_DEPTH, why,
	    sizeof(why))) == NULL)
		seterr(err, errlen, "%s: %s", what, why);
	return root;
}

static int
get_platform(json_t *p, const char *where, struct oci_descriptor *d,
    char *err, size_t errlen)
{
	char	 w[96];

	snprintf(w, sizeof(w), "%s.platform", where);
	if (!json_is_object(p)) {
		seterr(err, errlen, "%s: not an object", w);
		return -1;
	}
	if (get_str(p, w, "os", d->os, sizeof(d->os), 0, err, errlen) == -1 ||
	    get_str(p, w, "architecture", d->arch, sizeof(d->arch), 0, err,
	    errlen) == -1 ||
	    get_str(p, w, "variant", d->variant, sizeof(d->variant), 1, err,
	    errlen) == -1)
		return -1;
	d->has_platform = 1;
	return 0;
}

/* one descriptor; its media type is the caller's to check */
static int
get_desc(json_t *o, const char *where, struct oci_descriptor *d, char *err,
    size_t errlen)
{
	json_t		*v, *a;

	memset(d, 0, sizeof(*d));
	if (!json_is_object(o)) {
		seterr(err, errlen, "%s: not an object", where);
		return -1;
	}
	if (get_str(o, where, "mediaType", d->mediatype, sizeof(d->mediatype),
	    0, err, errlen) == -1 ||
	    get_str(o, where, "digest", d->digest, sizeof(d->digest), 0, err,
	    errlen) == -1)
		return -1;
	if (!ocispec_digest_ok(d->digest)) {
		seterr(err, errlen, "%s: digest is not sha256: and 64 "
		    "lowercase hex digits", where);
		return -1;
	}
	v = json_object_get(o, "size");
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		seterr(err, errlen, "%s: size is not a non-negative integer",
		    where);
		return -1;
	}
	d->size = (uint64_t)json_integer_value(v);
	if ((v = json_object_get(o, "urls")) != NULL) {
		seterr(err, errlen, "%s: urls (foreign layers are not "
		    "fetched)", where);
		return -1;
	}
	if ((v = json_object_get(o, "platform")) != NULL &&
	    get_platform(v, where, d, err, errlen) == -1)
		return -1;
	if ((a = json_object_get(o, "annotations")) != NULL) {
		if (!json_is_object(a)) {
			seterr(err, errlen, "%s: annotations is not an object",
			    where);
			return -1;
		}
		if (get_str(a, where, "org.opencontainers.image.ref.name",
		    d->refname, sizeof(d->refname), 1, err, errlen) == -1)
			return -1;
	}
	return 0;
}

int
ocispec_index_parse(const void *buf, size_t len, struct oci_index *idx,
    char *err, size_t errlen)
{
	json_t	*root, *m, *v;
	size_t	 i;
	char	 where[64];
	const char *mt;

	memset(idx, 0, sizeof(*idx));
	if ((root = parse(buf, len, "index", err, errlen)) == NULL)
		return -1;
	if (check_schema(root, "index", err, errlen) == -1)
		goto fail;
	if ((v = json_object_get(root, "mediaType")) != NULL &&
	    (!json_is_string(v) ||
	    (strcmp(json_string_value(v), MT_OCI_INDEX) != 0 &&
	    strcmp(json_string_value(v), MT_DOCKER_LIST) != 0))) {
		seterr(err, errlen, "index: mediaType is not an image index");
		goto fail;
	}
	m = json_object_get(root, "manifests");
	if (!json_is_array(m)) {
		seterr(err, errlen, "index: manifests is not an array");
		goto fail;
	}
	if (json_array_size(m) > OCI_MAXMANIFESTS) {
		seterr(err, errlen, "index: more than %d manifests",
		    OCI_MAXMANIFESTS);
		goto fail;
	}
	if ((idx->n = json_array_size(m)) == 0) {
		seterr(err, errlen, "index: no manifests");
		goto fail;
	}
	if ((idx->manifests = calloc(idx->n, sizeof(*idx->manifests))) ==
	    NULL) {
		seterr(err, errlen, "index: out of memory");
		goto fail;
	}
	for (i = 0; i < idx->n; i++) {
		struct oci_descriptor *d = &idx->manifests[i];

		snprintf(where, sizeof(where), "index: manifests[%zu]", i);
		if (get_desc(json_array_get(m, i), where, d, err, errlen) ==
		    -1)
			goto fail;
		mt = d->mediatype;
		if (strcmp(mt, MT_OCI_MANIFEST) == 0 ||
		    strcmp(mt, MT_DOCKER_MANIFEST) == 0)
			d->kind = OCI_KIND_MANIFEST;
		else if (strcmp(mt, MT_OCI_INDEX) == 0 ||
		    strcmp(mt, MT_DOCKER_LIST) == 0)
			d->kind = OCI_KIND_INDEX;
		else {
			seterr(err, errlen, "%s: mediaType \"%s\" is neither "
			    "a manifest nor an index", where, mt);
			goto fail;
		}
		if (d->size > OCI_JSON_MAX) {
			seterr(err, errlen, "%s: size %llu above the limit of "
			    "%u", where, (unsigned long long)d->size,
			    OCI_JSON_MAX);
			goto fail;
		}
	}
	json_decref(root);
	return 0;
 fail:
	json_decref(root);
	ocispec_index_free(idx);
	return -1;
}

void
ocispec_index_free(struct oci_index *idx)
{
	free(idx->manifests);
	memset(idx, 0, sizeof(*idx));
}

int
ocispec_manifest_parse(const void *buf, size_t len, struct oci_manifest *m,
    char *err, size_t errlen)
{
	json_t	*root, *l, *v;
	size_t	 i, j;
	char	 where[64];
	int	 docker;

	memset(m, 0, sizeof(*m));
	if ((root = parse(buf, len, "manifest", err, errlen)) == NULL)
		return -1;
	if (check_schema(root, "manifest", err, errlen) == -1)
		goto fail;
	v = json_object_get(root, "mediaType");
	if (v != NULL && (!json_is_string(v) ||
	    (strcmp(json_string_value(v), MT_OCI_MANIFEST) != 0 &&
	    strcmp(json_string_value(v), MT_DOCKER_MANIFEST) != 0))) {
		seterr(err, errlen, "manifest: mediaType is not an image "
		    "manifest");
		goto fail;
	}
	docker = v != NULL && strcmp(json_string_value(v),
	    MT_DOCKER_MANIFEST) == 0;
	if (json_object_get(root, "manifests") != NULL) {
		seterr(err, errlen, "manifest: has manifests (an index, not "
		    "a manifest)");
		goto fail;
	}
	if (get_desc(json_object_get(root, "config"), "manifest: config",
	    &m->config, err, errlen) == -1)
		goto fail;
	if (strcmp(m->config.mediatype, docker ? MT_DOCKER_CONFIG :
	    MT_OCI_CONFIG) != 0) {
		seterr(err, errlen, "manifest: config: mediaType \"%s\" is "
		    "not %s", m->config.mediatype, docker ? MT_DOCKER_CONFIG :
		    MT_OCI_CONFIG);
		goto fail;
	}
	if (m->config.size > OCI_JSON_MAX) {
		seterr(err, errlen, "manifest: config: size %llu above the "
		    "limit of %u", (unsigned long long)m->config.size,
		    OCI_JSON_MAX);
		goto fail;
	}
	l = json_object_get(root, "layers");
	if (!json_is_array(l)) {
		seterr(err, errlen, "manifest: layers is not an array");
		goto fail;
	}
	if (json_array_size(l) > OCI_MAXLAYERS) {
		seterr(err, errlen, "manifest: more than %d layers",
		    OCI_MAXLAYERS);
		goto fail;
	}
	m->nlayers = json_array_size(l);
	if (m->nlayers > 0 && (m->layers = calloc(m->nlayers,
	    sizeof(*m->layers))) == NULL) {
		seterr(err, errlen, "manifest: out of memory");
		goto fail;
	}
	for (i = 0; i < m->nlayers; i++) {
		struct oci_descriptor *d = &m->layers[i];

		snprintf(where, sizeof(where), "manifest: layers[%zu]", i);
		if (get_desc(json_array_get(l, i), where, d, err, errlen) ==
		    -1)
			goto fail;
		for (j = 0; j < sizeof(layer_types) / sizeof(layer_types[0]);
		    j++)
			if (strcmp(d->mediatype, layer_types[j]) == 0)
				break;
		if (j == sizeof(layer_types) / sizeof(layer_types[0])) {
			seterr(err, errlen, "%s: mediaType \"%s\" is not a "
			    "layer type Lens takes", where, d->mediatype);
			goto fail;
		}
		d->compression = layer_compression[j];
	}
	json_decref(root);
	return 0;
 fail:
	json_decref(root);
	ocispec_manifest_free(m);
	return -1;
}

void
ocispec_manifest_free(struct oci_manifest *m)
{
	free(m->layers);
	memset(m, 0, sizeof(*m));
}

static void
strv_free(char **v)
{
	size_t	 i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* an array of strings (or null: none) into a NULL-terminated vector */
static int
get_strv(json_t *o, const char *key, char ***out, size_t *nout,
    int isenv, char *err, size_t errlen)
{
	json_t	*a = json_object_get(o, key);
	size_t	 i, n;
	char	**v;

	*out = NULL;
	*nout = 0;
	if (a == NULL || json_is_null(a))
		return 0;
	if (!json_is_array(a) || (n = json_array_size(a)) > OCI_MAXSTRINGS) {
		seterr(err, errlen, "config: %s is not an array of at most %d "
		    "strings", key, OCI_MAXSTRINGS);
		return -1;
	}
	if ((v = calloc(n + 1, sizeof(*v))) == NULL) {
		seterr(err, errlen, "config: out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		json_t	*s = json_array_get(a, i);

		if (!json_is_string(s) || json_string_length(s) >
		    OCI_MAXSTRING || strlen(json_string_value(s)) !=
		    json_string_length(s)) {
			seterr(err, errlen, "config: %s[%zu] is not a string "
			    "of at most %d bytes without NUL", key, i,
			    OCI_MAXSTRING);
			goto fail;
		}
		if (isenv && (strchr(json_string_value(s), '=') == NULL ||
		    json_string_value(s)[0] == '=')) {
			seterr(err, errlen, "config: %s[%zu] is not NAME=VALUE",
			    key, i);
			goto fail;
		}
		if ((v[i] = strdup(json_string_value(s))) == NULL) {
			seterr(err, errlen, "config: out of memory");
			goto fail;
		}
	}
	*out = v;
	*nout = n;
	return 0;
 fail:
	strv_free(v);
	return -1;
}

static int
get_dupstr(json_t *o, const char *key, char **out, char *err, size_t errlen)
{
	json_t	*v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!text_ok(v, OCI_MAXSTRING)) {
		seterr(err, errlen, "config: %s is not a string of at most %d "
		    "printable bytes", key, OCI_MAXSTRING);
		return -1;
	}
	if (json_string_length(v) == 0)
		return 0;
	if ((*out = strdup(json_string_value(v))) == NULL) {
		seterr(err, errlen, "config: out of memory");
		return -1;
	}
	return 0;
}

int
ocispec_config_parse(const void *buf, size_t len, struct oci_config *c,
    char *err, size_t errlen)
{
	json_t		*root, *cfg, *rootfs, *v, *ports;
	const char	*k;
	size_t		 i, n;

	memset(c, 0, sizeof(*c));
	if ((root = parse(buf, len, "config", err, errlen)) == NULL)
		return -1;
	if (!json_is_object(root)) {
		seterr(err, errlen, "config: not a JSON object");
		goto fail;
	}
	if (get_str(root, "config", "os", c->os, sizeof(c->os), 0, err,
	    errlen) == -1 ||
	    get_str(root, "config", "architecture", c->arch, sizeof(c->arch),
	    0, err, errlen) == -1 ||
	    get_str(root, "config", "variant", c->variant, sizeof(c->variant),
	    1, err, errlen) == -1)
		goto fail;
	cfg = json_object_get(root, "config");
	if (cfg != NULL && !json_is_null(cfg)) {
		if (!json_is_object(cfg)) {
			seterr(err, errlen, "config: config is not an object");
			goto fail;
		}
		if (get_strv(cfg, "Entrypoint", &c->entrypoint,
		    &c->nentrypoint, 0, err, errlen) == -1 ||
		    get_strv(cfg, "Cmd", &c->cmd, &c->ncmd, 0, err,
		    errlen) == -1 ||
		    get_strv(cfg, "Env", &c->env, &c->nenv, 1, err,
		    errlen) == -1 ||
		    get_dupstr(cfg, "WorkingDir", &c->workingdir, err,
		    errlen) == -1 ||
		    get_dupstr(cfg, "User", &c->user, err, errlen) == -1)
			goto fail;
		ports = json_object_get(cfg, "ExposedPorts");
		if (ports != NULL && !json_is_null(ports)) {
			if (!json_is_object(ports) || (n =
			    json_object_size(ports)) > OCI_MAXSTRINGS) {
				seterr(err, errlen, "config: ExposedPorts is "
				    "not an object of at most %d ports",
				    OCI_MAXSTRINGS);
				goto fail;
			}
			if ((c->exposed = calloc(n + 1, sizeof(char *))) ==
			    NULL) {
				seterr(err, errlen, "config: out of memory");
				goto fail;
			}
			i = 0;
			json_object_foreach(ports, k, v) {
				if (strlen(k) > 32 || strspn(k,
				    "0123456789/tcpud") != strlen(k)) {
					seterr(err, errlen, "config: "
					    "ExposedPorts: \"%.32s\" is not "
					    "PORT[/tcp|/udp]", k);
					goto fail;
				}
				if ((c->exposed[i] = strdup(k)) == NULL) {
					seterr(err, errlen, "config: out of "
					    "memory");
					goto fail;
				}
				c->nexposed = ++i;
			}
		}
	}
	rootfs = json_object_get(root, "rootfs");
	if (!json_is_object(rootfs)) {
		seterr(err, errlen, "config: rootfs is not an object");
		goto fail;
	}
	v = json_object_get(rootfs, "type");
	if (!json_is_string(v) || strcmp(json_string_value(v), "layers") !=
	    0) {
		seterr(err, errlen, "config: rootfs.type is not \"layers\"");
		goto fail;
	}
	v = json_object_get(rootfs, "diff_ids");
	if (!json_is_array(v) || json_array_size(v) > OCI_MAXLAYERS) {
		seterr(err, errlen, "config: rootfs.diff_ids is not an array "
		    "of at most %d digests", OCI_MAXLAYERS);
		goto fail;
	}
	c->ndiffids = json_array_size(v);
	if (c->ndiffids > 0 && (c->diffids = calloc(c->ndiffids,
	    sizeof(*c->diffids))) == NULL) {
		seterr(err, errlen, "config: out of memory");
		goto fail;
	}
	for (i = 0; i < c->ndiffids; i++) {
		json_t	*d = json_array_get(v, i);

		if (!json_is_string(d) ||
		    !ocispec_digest_ok(json_string_value(d))) {
			seterr(err, errlen, "config: rootfs.diff_ids[%zu] is "
			    "not sha256: and 64 lowercase hex digits", i);
			goto fail;
		}
		memcpy(c->diffids[i], json_string_value(d), OCI_DIGEST_SIZE);
	}
	json_decref(root);
	return 0;
 fail:
	json_decref(root);
	ocispec_config_free(c);
	return -1;
}

void
ocispec_config_free(struct oci_config *c)
{
	strv_free(c->entrypoint);
	strv_free(c->cmd);
	strv_free(c->env);
	strv_free(c->exposed);
	free(c->workingdir);
	free(c->user);
	free(c->diffids);
	memset(c, 0, sizeof(*c));
}

int
ocispec_config_matches(const struct oci_manifest *m,
    const struct oci_config *c, char *err, size_t errlen)
{
	if (m->nlayers != c->ndiffids) {
		seterr(err, errlen, "config: %zu diff_ids for %zu layers",
		    c->ndiffids, m->nlayers);
		return -1;
	}
	if (strcmp(c->os, "linux") != 0) {
		seterr(err, errlen, "config: os \"%s\" is not linux", c->os);
		return -1;
	}
	return 0;
}

static int
platform_word_ok(const char *s)
{
	return *s != '\0' && strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "0123456789_.-") == strlen(s);
}

int
ocispec_platform(const char *platform, char *os, char *arch, char *variant,
    char *err, size_t errlen)
{
	char	 buf[3 * OCI_PLATFORM_SIZE], *p, *q;

	if (platform == NULL || *platform == '\0')
		platform = "linux/amd64";
	if (strlcpy(buf, platform, sizeof(buf)) >= sizeof(buf))
		goto bad;
	if ((p = strchr(buf, '/')) == NULL)
		goto bad;
	*p++ = '\0';
	if ((q = strchr(p, '/')) != NULL)
		*q++ = '\0';
	if (!platform_word_ok(buf) || !platform_word_ok(p) ||
	    (q != NULL && !platform_word_ok(q)) ||
	    strlen(buf) >= OCI_PLATFORM_SIZE || strlen(p) >= OCI_PLATFORM_SIZE ||
	    (q != NULL && strlen(q) >= OCI_PLATFORM_SIZE))
		goto bad;
	strlcpy(os, buf, OCI_PLATFORM_SIZE);
	strlcpy(arch, p, OCI_PLATFORM_SIZE);
	strlcpy(variant, q != NULL ? q : "", OCI_PLATFORM_SIZE);
	return 0;
 bad:
	seterr(err, errlen, "platform \"%.64s\" is not OS/ARCH[/VARIANT] "
	    "(lowercase letters, digits, _ . -)", platform);
	return -1;
}

int
ocispec_select(const struct oci_index *idx, const char *tag, const char *os,
    const char *arch, const char *variant, char *err, size_t errlen)
{
	size_t	 i, ncand = 0, nmatch = 0;
	int	 cand = -1, match = -1;

	for (i = 0; i < idx->n; i++) {
		const struct oci_descriptor *d = &idx->manifests[i];

		if (tag != NULL && strcmp(d->refname, tag) != 0)
			continue;
		ncand++;
		cand = (int)i;
		if (d->has_platform && strcmp(d->os, os) == 0 &&
		    strcmp(d->arch, arch) == 0 && (*variant == '\0' ||
		    strcmp(d->variant, variant) == 0)) {
			nmatch++;
			match = (int)i;
		}
	}
	if (ncand == 0) {
		seterr(err, errlen, "index: no manifest tagged \"%s\"",
		    tag != NULL ? tag : "");
		return -1;
	}
	if (ncand == 1)
		return cand;
	if (nmatch == 1)
		return match;
	if (nmatch == 0)
		seterr(err, errlen, "index: no manifest%s%s%s for %s/%s%s%s "
		    "among %zu", tag ? " tagged \"" : "", tag ? tag : "",
		    tag ? "\"" : "", os, arch, *variant ? "/" : "", variant,
		    ncand);
	else
		seterr(err, errlen, "index: %zu manifests for %s/%s%s%s: name "
		    "the variant", nmatch, os, arch, *variant ? "/" : "",
		    variant);
	return -1;
}
