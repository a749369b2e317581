/*
 * lensctl image: pull, images, rmi, prune (also top-level commands, as
 * docker's).  The pull runs in lensvmm (its fetch process); lensctl
 * names the source and shows the progress lensvmm sends.
 */
#include <ctype.h>
#include <err.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "imsg.h"
#include "lensctl.h"
#include "lensvmm_imsg.h"

static int	im_pull(int, char **);
static int	im_images(int, char **);
static int	im_rmi(int, char **);
static int	im_prune(int, char **);

static const struct lensctl_cmd image_cmds[] = {
	{ "pull", im_pull, "[-q] [--platform OS/ARCH[/VARIANT]] [--ca-file FILE] "
	    "[--insecure-registry] [-s socket] oci:DIR[:TAG] | "
	    "docker-archive:FILE | REGISTRY/REPO[:TAG|@sha256:HEX]",
	    "fetch an image into the store, every blob checked by digest" },
	{ "images", im_images, "[--json] [-s socket]",
	    "list the images in the store" },
	{ "rmi", im_rmi, "[-s socket] NAME[:TAG] ...",
	    "remove image references" },
	{ "prune", im_prune, "[-s socket]",
	    "remove the blobs no image refers to" },
	{ NULL, NULL, NULL, NULL },
};
const struct lensctl_group image_group = { "image", image_cmds,
    "OCI images: pull, list, remove" };

enum { OPT_PLATFORM = 256, OPT_JSON, OPT_QUIET, OPT_CAFILE, OPT_INSECURE };

/* a printable copy of a fixed-size field from lensvmm */
static void
field(char *dst, size_t dstsz, const char *src, size_t srcsz)
{
	size_t	 i, n = strnlen(src, srcsz);

	if (n >= dstsz)
		n = dstsz - 1;
	for (i = 0; i < n; i++)
		dst[i] = isprint((unsigned char)src[i]) ? src[i] : '?';
	dst[n] = '\0';
}

static void
human(char *buf, size_t len, uint64_t n)
{
	if (n >= 10ULL << 30)
		snprintf(buf, len, "%.1f GiB", n / (double)(1ULL << 30));
	else if (n >= 10ULL << 20)
		snprintf(buf, len, "%.1f MiB", n / (double)(1ULL << 20));
	else if (n >= 10ULL << 10)
		snprintf(buf, len, "%.1f KiB", n / 1024.0);
	else
		snprintf(buf, len, "%llu B", (unsigned long long)n);
}

struct pullview {
	int		 quiet, tty;
	struct timespec	 t0;		/* of the current blob */
	char		 digest[CTL_DIGEST_SIZE];
	char		 ref[CTL_IMGREF_SIZE];
	char		 manifest[CTL_DIGEST_SIZE];
	int		 pulled;
};

static double
since(const struct timespec *t0)
{
	struct timespec	 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) + (now.tv_nsec - t0->tv_nsec) / 1e9;
}

static int
pull_msg(const struct imsg *im, void *arg)
{
	struct pullview		*v = arg;
	struct ctl_progress	 p;
	struct ctl_pulled	 pd;
	char			 d[CTL_DIGEST_SIZE], what[16], a[32], b[32];
	char			 rate[32], label[48];
	double			 s;
	int			 bar, i;

	if (im->hdr.type == IMSG_CTL_PULLED) {
		if (imsg_expect(im, sizeof(pd)) == -1)
			return -1;
		memcpy(&pd, im->data, sizeof(pd));
		field(v->ref, sizeof(v->ref), pd.ref, sizeof(pd.ref));
		field(v->manifest, sizeof(v->manifest), pd.digest,
		    sizeof(pd.digest));
		v->pulled = 1;
		return 0;
	}
	if (im->hdr.type != IMSG_CTL_PROGRESS ||
	    imsg_expect(im, sizeof(p)) == -1)
		return -1;
	if (v->quiet)
		return 0;
	memcpy(&p, im->data, sizeof(p));
	field(d, sizeof(d), p.digest, sizeof(p.digest));
	field(what, sizeof(what), p.what, sizeof(p.what));
	if (p.count > 0)
		snprintf(label, sizeof(label), "%s %u/%u", what, p.index + 1,
		    p.count);
	else
		snprintf(label, sizeof(label), "%s", what);
	if (p.state == PROGRESS_START) {
		clock_gettime(CLOCK_MONOTONIC, &v->t0);
		strlcpy(v->digest, d, sizeof(v->digest));
	}
	human(a, sizeof(a), p.done);
	human(b, sizeof(b), p.total);
	s = since(&v->t0);
	human(rate, sizeof(rate), s > 0.001 ? (uint64_t)(p.done / s) : 0);
	switch (p.state) {
	case PROGRESS_START:
	case PROGRESS_BYTES:
		if (!v->tty)
			return 0;
		bar = p.total ? (int)(30.0 * p.done / p.total) : 30;
		if (bar > 30)
			bar = 30;
		fprintf(stderr, "\r%-12s %.19s [", label, d + 7);
		for (i = 0; i < 30; i++)
			fputc(i < bar ? '=' : ' ', stderr);
		fprintf(stderr, "] %s/%s %s/s\033[K", a, b, rate);
		return 0;
	case PROGRESS_DONE:
	case PROGRESS_CACHED:
		if (p.state == PROGRESS_CACHED)
			fprintf(stderr, "%s%-12s %.19s already stored, %s%s\n",
			    v->tty ? "\r" : "", label, d + 7, b,
			    v->tty ? "\033[K" : "");
		else
			fprintf(stderr, "%s%-12s %.19s verified, %s at %s/s%s\n",
			    v->tty ? "\r" : "", label, d + 7, b, rate,
			    v->tty ? "\033[K" : "");
		return 0;
	default:
		return -1;
	}
}

static int
im_pull(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "platform", required_argument, NULL, OPT_PLATFORM },
		{ "quiet", no_argument, NULL, 'q' },
		{ "ca-file", required_argument, NULL, OPT_CAFILE },
		{ "insecure-registry", no_argument, NULL, OPT_INSECURE },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_pull		 cp;
	struct pullview		 v;
	const char		*sock = NULL, *src;
	char			 abs[PATH_MAX], cwd[PATH_MAX];
	int			 ch, rc;

	memset(&cp, 0, sizeof(cp));
	memset(&v, 0, sizeof(v));
	while ((ch = getopt_long(argc, argv, "qs:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'q':
			v.quiet = 1;
			break;
		case 's':
			sock = optarg;
			break;
		case OPT_CAFILE:
			if (optarg[0] != '/' && optarg[0] != '\0') {
				if (getcwd(cwd, sizeof(cwd)) == NULL)
					err(LENSCTL_FAIL, "getcwd");
				rc = snprintf(cp.cafile, sizeof(cp.cafile),
				    "%s/%s", cwd, optarg);
			} else
				rc = snprintf(cp.cafile, sizeof(cp.cafile),
				    "%s", optarg);
			if (rc < 0 || (size_t)rc >= sizeof(cp.cafile) ||
			    optarg[0] == '\0') {
				warnx("--ca-file: empty or too long");
				return LENSCTL_USAGE;
			}
			break;
		case OPT_INSECURE:
			cp.flags |= CTL_PULL_INSECURE;
			break;
		case OPT_PLATFORM:
			if (strlcpy(cp.platform, optarg, sizeof(cp.platform)) >=
			    sizeof(cp.platform)) {
				warnx("--platform: too long");
				return LENSCTL_USAGE;
			}
			break;
		default:
			return lensctl_usage(&image_group, "pull");
		}
	}
	if (optind + 1 != argc)
		return lensctl_usage(&image_group, "pull");
	src = argv[optind];
	if (strncmp(src, "oci:", 4) != 0 && strncmp(src, "docker-archive:",
	    15) != 0 && strchr(src, '/') == NULL) {
		warnx("%s: not an image source Lens pulls from: oci:DIR[:TAG], "
		    "docker-archive:FILE or REGISTRY/REPO[:TAG|@sha256:HEX] (no default registry "
		    "is assumed: docker.io/library/%s for Docker Hub's)", src,
		    src);
		return LENSCTL_USAGE;
	}
	if (cp.flags & CTL_PULL_INSECURE)
		fprintf(stderr, "lensctl: WARNING: --insecure-registry: plain "
		    "http, nothing authenticates the registry or protects "
		    "its credentials\n");
	/* a relative DIR is the caller's: lensvmm gets it absolute */
	if ((strncmp(src, "oci:", 4) == 0 && src[4] != '/') ||
	    (strncmp(src, "docker-archive:", 15) == 0 && src[15] != '/')) {
		size_t	 k = src[0] == 'o' ? 4 : 15;

		if (getcwd(cwd, sizeof(cwd)) == NULL)
			err(LENSCTL_FAIL, "getcwd");
		if ((size_t)snprintf(abs, sizeof(abs), "%.*s%s/%s", (int)k,
		    src, cwd, src + k) >= sizeof(abs)) {
			warnx("%s: path too long", src);
			return LENSCTL_USAGE;
		}
		src = abs;
	}
	if (strlcpy(cp.source, src, sizeof(cp.source)) >= sizeof(cp.source)) {
		warnx("%s: too long", src);
		return LENSCTL_USAGE;
	}
	v.tty = isatty(STDERR_FILENO);
	rc = lensctl_vmm_request(sock, IMSG_CTL_PULL, &cp, sizeof(cp),
	    pull_msg, &v);
	if (rc == LENSCTL_OK && !v.pulled) {
		warnx("lensvmm said OK without the image");
		rc = LENSCTL_FAIL;
	}
	if (rc == LENSCTL_OK)
		printf("%s %s\n", v.ref, v.manifest);
	if (fflush(stdout) != 0)
		rc = LENSCTL_FAIL;
	return rc;
}

struct imagesview {
	int	 json;
	json_t	*a;
	int	 header;
};

static int
image_msg(const struct imsg *im, void *arg)
{
	struct imagesview	*v = arg;
	struct ctl_image	 ci;
	char			 ref[CTL_IMGREF_SIZE], d[CTL_DIGEST_SIZE];
	char			 sz[32], when[32], name[CTL_IMGREF_SIZE], *c;
	time_t			 t;
	struct tm		 tm;

	if (im->hdr.type != IMSG_CTL_IMAGE_ENTRY ||
	    imsg_expect(im, sizeof(ci)) == -1)
		return -1;
	memcpy(&ci, im->data, sizeof(ci));
	field(ref, sizeof(ref), ci.ref, sizeof(ci.ref));
	field(d, sizeof(d), ci.digest, sizeof(ci.digest));
	if (v->json) {
		json_array_append_new(v->a, json_pack("{s:s, s:s, s:I, s:I, "
		    "s:i}", "reference", ref, "digest", d, "size",
		    (json_int_t)ci.size, "created", (json_int_t)ci.created,
		    "layers", (int)ci.nlayers));
		return 0;
	}
	if (!v->header) {
		printf("%-32s %-12s %-19s %4s %10s\n", "REPOSITORY:TAG",
		    "IMAGE ID", "CREATED", "LAYERS", "SIZE");
		v->header = 1;
	}
	strlcpy(name, ref, sizeof(name));
	(void)c;
	human(sz, sizeof(sz), ci.size);
	t = (time_t)ci.created;
	if (localtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm) == 0)
		strlcpy(when, "-", sizeof(when));
	printf("%-32s %-12.12s %-19s %4u %10s\n", name, d + 7, when,
	    ci.nlayers, sz);
	return 0;
}

static int
im_images(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_images	 ci;
	struct imagesview	 v;
	const char		*sock = NULL;
	int			 ch, rc;

	memset(&ci, 0, sizeof(ci));
	memset(&v, 0, sizeof(v));
	while ((ch = getopt_long(argc, argv, "s:", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			sock = optarg;
			break;
		case OPT_JSON:
			v.json = 1;
			break;
		default:
			return lensctl_usage(&image_group, "images");
		}
	}
	if (optind != argc)
		return lensctl_usage(&image_group, "images");
	v.a = json_array();
	rc = lensctl_vmm_request(sock, IMSG_CTL_IMAGES, &ci, sizeof(ci),
	    image_msg, &v);
	if (rc == LENSCTL_OK && v.json) {
		if (json_dumpf(v.a, stdout, JSON_INDENT(2)) == -1)
			rc = LENSCTL_FAIL;
		putchar('\n');
	} else if (rc == LENSCTL_OK && !v.header)
		printf("%-32s %-12s %-19s %4s %10s\n", "REPOSITORY:TAG",
		    "IMAGE ID", "CREATED", "LAYERS", "SIZE");
	json_decref(v.a);
	if (fflush(stdout) != 0)
		rc = LENSCTL_FAIL;
	return rc;
}

static int
removed_msg(const struct imsg *im, void *arg)
{
	struct ctl_removed	 cr;
	char			 what[16], name[CTL_IMGREF_SIZE];

	(void)arg;
	if (im->hdr.type != IMSG_CTL_IMAGE_REMOVED ||
	    imsg_expect(im, sizeof(cr)) == -1)
		return -1;
	memcpy(&cr, im->data, sizeof(cr));
	field(what, sizeof(what), cr.what, sizeof(cr.what));
	field(name, sizeof(name), cr.name, sizeof(cr.name));
	printf("removed %s %s\n", what, name);
	return 0;
}

static int
im_rmi(int argc, char *argv[])
{
	struct ctl_rmi	 cr;
	const char	*sock = NULL;
	int		 ch, i, rc = LENSCTL_OK;

	while ((ch = getopt(argc, argv, "s:")) != -1) {
		switch (ch) {
		case 's':
			sock = optarg;
			break;
		default:
			return lensctl_usage(&image_group, "rmi");
		}
	}
	if (optind == argc)
		return lensctl_usage(&image_group, "rmi");
	for (i = optind; i < argc; i++) {
		memset(&cr, 0, sizeof(cr));
		if (strlcpy(cr.ref, argv[i], sizeof(cr.ref)) >= sizeof(cr.ref)) {
			warnx("%s: too long", argv[i]);
			rc = LENSCTL_FAIL;
			continue;
		}
		if (lensctl_vmm_request(sock, IMSG_CTL_RMI, &cr, sizeof(cr),
		    removed_msg, NULL) != LENSCTL_OK)
			rc = LENSCTL_FAIL;
	}
	if (fflush(stdout) != 0)
		rc = LENSCTL_FAIL;
	return rc;
}

static int
im_prune(int argc, char *argv[])
{
	struct ctl_images	 ci;
	const char		*sock = NULL;
	int			 ch, rc;

	while ((ch = getopt(argc, argv, "s:")) != -1) {
		switch (ch) {
		case 's':
			sock = optarg;
			break;
		default:
			return lensctl_usage(&image_group, "prune");
		}
	}
	if (optind != argc)
		return lensctl_usage(&image_group, "prune");
	memset(&ci, 0, sizeof(ci));
	rc = lensctl_vmm_request(sock, IMSG_CTL_PRUNE, &ci, sizeof(ci),
	    removed_msg, NULL);
	if (fflush(stdout) != 0)
		rc = LENSCTL_FAIL;
	return rc;
}
