/*
 * libFuzzer target for common/grammar.c: every parser on every input
 * (as a C string: what lensctl gets in argv, the policy as a scalar,
 * lensvmm's control and lensnetd in NUL-terminated request strings).
 *
 * A refusal has a message that starts with the field and holds no
 * control character; a result is in range and survives a round trip:
 * printed again the way the parser reads it, it parses to the same.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grammar.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
refused(const char *field, const char *err)
{
	size_t	 i, n = strlen(field);

	if (strncmp(err, field, n) != 0 || err[n] != ' ' ||
	    strlen(err) >= GR_ERRSIZE - 1)
		abort();
	for (i = 0; err[i] != '\0'; i++)
		if ((unsigned char)err[i] < 0x20 || err[i] == 0x7f)
			abort();
}

/* a clean absolute path: no empty, "." or ".." component, no trailing / */
static void
clean(const char *p)
{
	if (p[0] != '/' || strstr(p, "//") != NULL || strstr(p, "/./") ||
	    strstr(p, "/../") != NULL)
		abort();
	if (strcmp(p, "/") != 0 && (p[strlen(p) - 1] == '/' ||
	    strcmp(p + strlen(p) - 2, "/.") == 0 ||
	    (strlen(p) >= 3 && strcmp(p + strlen(p) - 3, "/..") == 0)))
		abort();
}

static void
sizes(const char *s)
{
	char		 err[GR_ERRSIZE], buf[32];
	uint64_t	 v, w;

	if (gr_size("f", s, 0, UINT64_MAX, &v, err, sizeof(err)) == -1)
		refused("f", err);
	else {
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
		if (gr_size("f", buf, 0, UINT64_MAX, &w, err,
		    sizeof(err)) == -1 || w != v)
			abort();
	}
	if (gr_size("m", s, GR_MEMORY_MIN, GR_MEMORY_MAX, &v, err,
	    sizeof(err)) == -1)
		refused("m", err);
	else if (v < GR_MEMORY_MIN || v > GR_MEMORY_MAX)
		abort();
}

static void
cpus(const char *s)
{
	char		 err[GR_ERRSIZE], buf[32];
	uint32_t	 v, w;

	if (gr_cpus("c", s, &v, err, sizeof(err)) == -1) {
		refused("c", err);
		return;
	}
	if (v < 1 || v > GR_CPUS_MAX * 1000)
		abort();
	snprintf(buf, sizeof(buf), "%u.%03u", v / 1000, v % 1000);
	if (gr_cpus("c", buf, &w, err, sizeof(err)) == -1 || w != v)
		abort();
}

static void
uints(const char *s)
{
	char		 err[GR_ERRSIZE];
	uint64_t	 v;

	if (gr_uint("n", s, 1, GR_PIDS_MAX, &v, err, sizeof(err)) == -1)
		refused("n", err);
	else if (v < 1 || v > GR_PIDS_MAX)
		abort();
}

static void
ports(const char *s, size_t len)
{
	int	 p = gr_port(s, len);

	if (p != -1 && (p < 1 || p > 65535 || len == 0 || len > 5))
		abort();
}

static void
publish(const char *s)
{
	struct gr_publish	 pp, pq;
	char			 err[GR_ERRSIZE], buf[128];

	if (gr_publish("-p", s, &pp, err, sizeof(err)) == -1) {
		refused("-p", err);
		return;
	}
	if (pp.hostport == 0 || pp.port == 0 || pp.addr[0] == '\0')
		abort();
	snprintf(buf, sizeof(buf), strchr(pp.addr, ':') ? "[%s]:%u:%u/tcp" :
	    "%s:%u:%u/tcp", pp.addr, pp.hostport, pp.port);
	if (gr_publish("-p", buf, &pq, err, sizeof(err)) == -1 ||
	    memcmp(&pp, &pq, sizeof(pp)) != 0)
		abort();
}

static void
volume(const char *s)
{
	struct gr_volume	 v, w;
	char			 err[GR_ERRSIZE], buf[2 * CTL_PATH_SIZE + 8];

	if (gr_volume("-v", s, &v, err, sizeof(err)) == -1) {
		refused("-v", err);
		return;
	}
	clean(v.src);
	clean(v.dst);
	if (strcmp(v.dst, "/") == 0 || strncmp(v.dst, "/proc", 5) == 0 ||
	    strncmp(v.dst, "/dev", 4) == 0) {
		/* only /procX..., /devX... */
		if (v.dst[1] == '\0' || v.dst[strncmp(v.dst, "/proc", 5) ?
		    4 : 5] == '/' || v.dst[strncmp(v.dst, "/proc", 5) ? 4 :
		    5] == '\0')
			abort();
	}
	snprintf(buf, sizeof(buf), "%s:%s:%s", v.src, v.dst, v.ro ? "ro" :
	    "rw");
	if (gr_volume("-v", buf, &w, err, sizeof(err)) == -1 ||
	    memcmp(&v, &w, sizeof(v)) != 0)
		abort();
}

static void
names(const char *s)
{
	char	 err[GR_ERRSIZE];
	int	 id = gr_id(s);

	if (gr_name("--name", s, err, sizeof(err)) == -1)
		refused("--name", err);
	else if (gr_ref("r", s, NULL, 0) == -1)
		abort();		/* every name is a reference */
	if (gr_ref("r", s, err, sizeof(err)) == -1) {
		refused("r", err);
		if (id)
			abort();	/* every id is a reference */
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*s;

	if (size > 4096 || (s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	sizes(s);
	cpus(s);
	uints(s);
	ports(s, strnlen(s, 8));
	publish(s);
	volume(s);
	names(s);
	free(s);
	return 0;
}
