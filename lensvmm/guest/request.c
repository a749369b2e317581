/*
 * lens-init: checking requests from the host and looking users up in
 * the sandbox's own /etc/passwd and /etc/group (a static binary has no
 * NSS, and the host's databases are not the sandbox's).
 *
 * The host is trusted, but everything here is strict anyway: a request
 * that is not exactly well-formed is refused, never half-used.
 */
#include <sys/types.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imsg.h"
#include "pemcert.h"
#include "request.h"

static int
fail(char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "%s", why);
	return -1;
}

int
exec_req_parse(const void *data, size_t len, struct exec_req *req,
    char *err, size_t errlen)
{
	struct init_exec	 ie;
	const char		*s, *end, *p;
	size_t			 slen, n, nstr, i;
	char			*copy;

	memset(req, 0, sizeof(*req));
	if (data == NULL || len < sizeof(ie))
		return fail(err, errlen, "EXEC too short");
	if (len > IMSG_MAXPAYLOAD)
		return fail(err, errlen, "EXEC too long");
	memcpy(&ie, data, sizeof(ie));
	if (ie.flags & ~(uint32_t)(INIT_EXEC_TTY | INIT_EXEC_STDIN |
	    INIT_EXEC_ROOT))
		return fail(err, errlen, "EXEC with unknown flags");
	if (memchr(ie.user, '\0', sizeof(ie.user)) == NULL)
		return fail(err, errlen, "EXEC user not NUL-terminated");
	if (memchr(ie.cwd, '\0', sizeof(ie.cwd)) == NULL)
		return fail(err, errlen, "EXEC cwd not NUL-terminated");
	if (ie.cwd[0] != '\0' && ie.cwd[0] != '/')
		return fail(err, errlen, "EXEC cwd is not absolute");
	if (ie.argc < 1)
		return fail(err, errlen, "EXEC without argv");
	if ((uint64_t)ie.argc + ie.envc > LENSINIT_MAXARGS)
		return fail(err, errlen, "EXEC with too many strings");
	nstr = (size_t)ie.argc + ie.envc;

	s = (const char *)data + sizeof(ie);
	slen = len - sizeof(ie);
	end = s + slen;
	if (slen == 0 || s[slen - 1] != '\0')
		return fail(err, errlen, "EXEC strings not NUL-terminated");
	/* exactly nstr strings fill the rest */
	for (n = 0, p = s; p < end; n++) {
		size_t	 l = strnlen(p, end - p);

		if (n < ie.argc && n == 0 && l == 0)
			return fail(err, errlen, "EXEC with an empty argv[0]");
		if (n >= ie.argc && n < nstr) {
			const char *eq = memchr(p, '=', l);

			if (eq == NULL || eq == p)
				return fail(err, errlen,
				    "EXEC environment entry is not K=V");
		}
		p += l + 1;
	}
	if (n != nstr)
		return fail(err, errlen,
		    "EXEC strings do not match argc and envc");

	if ((copy = malloc(slen)) == NULL)
		return fail(err, errlen, "out of memory");
	memcpy(copy, s, slen);
	req->argv = calloc(ie.argc + 1, sizeof(char *));
	req->envp = calloc(ie.envc + 1, sizeof(char *));
	if (req->argv == NULL || req->envp == NULL) {
		free(req->argv);
		free(req->envp);
		free(copy);
		memset(req, 0, sizeof(*req));
		return fail(err, errlen, "out of memory");
	}
	for (i = 0, p = copy; i < nstr; i++) {
		if (i < ie.argc)
			req->argv[i] = (char *)p;
		else
			req->envp[i - ie.argc] = (char *)p;
		p += strlen(p) + 1;
	}
	req->strings = copy;
	req->flags = ie.flags;
	req->rows = ie.rows;
	req->cols = ie.cols;
	req->argc = ie.argc;
	req->envc = ie.envc;
	memcpy(req->user, ie.user, sizeof(req->user));
	memcpy(req->cwd, ie.cwd, sizeof(req->cwd));
	return 0;
}

void
exec_req_free(struct exec_req *req)
{
	free(req->argv);
	free(req->envp);
	free(req->strings);
	free(req->added[0]);
	free(req->added[1]);
	memset(req, 0, sizeof(*req));
}

const char *
env_get(char *const *envp, const char *key)
{
	size_t	 kl = strlen(key);

	for (; envp != NULL && *envp != NULL; envp++)
		if (strncmp(*envp, key, kl) == 0 && (*envp)[kl] == '=')
			return *envp + kl + 1;
	return NULL;
}

int
exec_req_env_defaults(struct exec_req *req, const char *home,
    const char *name)
{
	static char	 defpath[] = "PATH=" INIT_DEFAULT_PATH;
	char		**ne, *h = NULL, *u = NULL;
	size_t		 n = req->envc;

	if ((ne = calloc(n + 4, sizeof(char *))) == NULL)
		return -1;
	memcpy(ne, req->envp, n * sizeof(char *));
	if (env_get(req->envp, "HOME") == NULL) {
		if (asprintf(&h, "HOME=%s", home) == -1)
			goto nomem;
		ne[n++] = h;
	}
	if (name[0] != '\0' && env_get(req->envp, "USER") == NULL) {
		if (asprintf(&u, "USER=%s", name) == -1)
			goto nomem;
		ne[n++] = u;
	}
	if (env_get(req->envp, "PATH") == NULL)
		ne[n++] = defpath;
	ne[n] = NULL;
	free(req->added[0]);
	free(req->added[1]);
	req->added[0] = h;
	req->added[1] = u;
	free(req->envp);
	req->envp = ne;
	req->envc = n;
	return 0;
 nomem:
	free(h);
	free(ne);
	errno = ENOMEM;
	return -1;
}

const char *
init_msg_check(uint32_t type, size_t len)
{
	switch (type) {
	case IMSG_INIT_EXEC:
		return len >= sizeof(struct init_exec) ? NULL :
		    "EXEC too short";
	case IMSG_INIT_STDIN:
		return len >= 1 && len <= IMSG_MAXPAYLOAD ? NULL :
		    "STDIN of the wrong size";
	case IMSG_INIT_STDIN_EOF:
		return len == 0 ? NULL : "STDIN_EOF with a payload";
	case IMSG_INIT_SIGNAL:
		return len == sizeof(struct init_signal) ? NULL :
		    "SIGNAL of the wrong size";
	case IMSG_INIT_RESIZE:
		return len == sizeof(struct init_winsize) ? NULL :
		    "RESIZE of the wrong size";
	case IMSG_INIT_SHUTDOWN:
		return len == sizeof(struct init_shutdown) ? NULL :
		    "SHUTDOWN of the wrong size";
	case IMSG_INIT_CA:
		return len >= 1 && len <= PEMCERT_MAX ? NULL :
		    "CA of the wrong size";
	default:
		return "unexpected message type";
	}
}

/* user database parsing */

#define PW_FIELDS	7
#define GR_FIELDS	4

struct field {
	const char	*p;
	size_t		 len;
};

/* a decimal id below 2^32 - 1 ((uid_t)-1 is "no change") */
static int
parse_id(const char *p, size_t len, uint32_t *out)
{
	uint64_t	 v = 0;
	size_t		 i;

	if (len == 0 || len > 10)
		return -1;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	if (v >= UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int
field_eq(const struct field *f, const char *s)
{
	return strlen(s) == f->len && memcmp(f->p, s, f->len) == 0;
}

/*
 * Split the next line of buf into exactly nf ':'-separated fields.
 * Returns 1 with the fields, 0 for a line to skip, -1 at the end.
 */
static int
next_line(const char **pos, const char *end, struct field *f, int nf)
{
	const char	*line = *pos, *eol, *p;
	int		 i;

	if (line == NULL || line >= end)
		return -1;
	if ((eol = memchr(line, '\n', end - line)) == NULL)
		eol = end;
	*pos = eol < end ? eol + 1 : end;
	if (eol > line && line[0] == '#')
		return 0;
	for (i = 0, p = line; i < nf; i++) {
		const char *c = memchr(p, ':', eol - p);

		if (i == nf - 1) {
			if (c != NULL)
				return 0;
			c = eol;
		} else if (c == NULL)
			return 0;
		f[i].p = p;
		f[i].len = c - p;
		if (memchr(p, '\0', c - p) != NULL)
			return 0;
		p = c + 1;
	}
	return 1;
}

struct pwent {
	uint32_t	 uid, gid;
	struct field	 name, home;
};

/* by name when name != NULL, else by uid */
static int
pw_find(const char *buf, size_t len, const char *name, uint32_t uid,
    struct pwent *pw)
{
	const char	*pos = buf, *end = buf + len;
	struct field	 f[PW_FIELDS];
	int		 r;

	if (buf == NULL)
		return -1;
	while ((r = next_line(&pos, end, f, PW_FIELDS)) != -1) {
		if (r == 0 || f[0].len == 0)
			continue;
		if (parse_id(f[2].p, f[2].len, &pw->uid) == -1 ||
		    parse_id(f[3].p, f[3].len, &pw->gid) == -1)
			continue;
		if (name != NULL ? !field_eq(&f[0], name) : pw->uid != uid)
			continue;
		pw->name = f[0];
		pw->home = f[5];
		return 0;
	}
	return -1;
}

static int
gr_find(const char *buf, size_t len, const char *name, uint32_t *gid)
{
	const char	*pos = buf, *end = buf + len;
	struct field	 f[GR_FIELDS];
	int		 r;

	if (buf == NULL)
		return -1;
	while ((r = next_line(&pos, end, f, GR_FIELDS)) != -1) {
		if (r == 1 && field_eq(&f[0], name) &&
		    parse_id(f[2].p, f[2].len, gid) == 0)
			return 0;
	}
	return -1;
}

static void
add_group(struct init_user *u, gid_t g)
{
	int	 i;

	for (i = 0; i < u->ngroups; i++)
		if (u->groups[i] == g)
			return;
	if (u->ngroups < INIT_MAXGROUPS)
		u->groups[u->ngroups++] = g;
}

static void
gr_members(const char *buf, size_t len, struct init_user *u)
{
	const char	*pos = buf, *end = buf + len, *m, *me, *c;
	struct field	 f[GR_FIELDS], mf;
	uint32_t	 gid;
	int		 r;

	if (buf == NULL || u->name[0] == '\0')
		return;
	while ((r = next_line(&pos, end, f, GR_FIELDS)) != -1) {
		if (r == 0 || parse_id(f[2].p, f[2].len, &gid) == -1)
			continue;
		for (m = f[3].p, me = m + f[3].len; m < me; m = c + 1) {
			if ((c = memchr(m, ',', me - m)) == NULL)
				c = me;
			mf.p = m;
			mf.len = c - m;
			if (field_eq(&mf, u->name)) {
				add_group(u, gid);
				break;
			}
		}
	}
}

static void
copy_field(char *dst, size_t size, const struct field *f, const char *dflt)
{
	if (f->len == 0 || f->len >= size)
		snprintf(dst, size, "%s", dflt);
	else {
		memcpy(dst, f->p, f->len);
		dst[f->len] = '\0';
	}
}

static int
all_digits(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

int
user_resolve(const char *spec, int asroot, const char *passwd,
    size_t passwdlen, const char *group, size_t grouplen,
    struct init_user *u)
{
	char		 ubuf[LENSINIT_USER_SIZE], *gpart = NULL;
	struct pwent	 pw;
	uint32_t	 id;
	int		 found, explicit_gid = 0, isroot = 0;

	memset(u, 0, sizeof(*u));
	if (strlen(spec) >= sizeof(ubuf)) {
		errno = EINVAL;
		return -1;
	}
	if (asroot)
		spec = "root";
	snprintf(ubuf, sizeof(ubuf), "%s", spec);
	if ((gpart = strchr(ubuf, ':')) != NULL)
		*gpart++ = '\0';

	if (strcmp(ubuf, "root") == 0) {
		/* uid and gid 0 whatever the sandbox's passwd says */
		isroot = 1;
		u->uid = u->gid = 0;
		found = pw_find(passwd, passwdlen, NULL, 0, &pw) == 0;
		if (!found)
			snprintf(u->name, sizeof(u->name), "root");
	} else if (ubuf[0] == '\0' && gpart == NULL) {
		u->uid = u->gid = INIT_DEFAULT_UID;
		found = pw_find(passwd, passwdlen, NULL, u->uid, &pw) == 0;
	} else if (ubuf[0] == '\0') {
		errno = EINVAL;
		return -1;
	} else if (all_digits(ubuf)) {
		if (parse_id(ubuf, strlen(ubuf), &id) == -1) {
			errno = EINVAL;
			return -1;
		}
		u->uid = u->gid = id;
		found = pw_find(passwd, passwdlen, NULL, u->uid, &pw) == 0;
	} else {
		if (pw_find(passwd, passwdlen, ubuf, 0, &pw) == -1) {
			errno = ENOENT;
			return -1;
		}
		found = 1;
	}
	if (found) {
		u->uid = pw.uid;
		u->gid = isroot ? 0 : pw.gid;
		copy_field(u->name, sizeof(u->name), &pw.name, "");
		copy_field(u->home, sizeof(u->home), &pw.home, "/");
	} else
		snprintf(u->home, sizeof(u->home), "%s",
		    u->uid == 0 ? "/root" : "/");

	if (gpart != NULL) {
		if (all_digits(gpart)) {
			if (parse_id(gpart, strlen(gpart), &id) == -1) {
				errno = EINVAL;
				return -1;
			}
		} else if (gpart[0] == '\0') {
			errno = EINVAL;
			return -1;
		} else if (gr_find(group, grouplen, gpart, &id) == -1) {
			errno = ENOENT;
			return -1;
		}
		u->gid = id;
		explicit_gid = 1;
	}
	add_group(u, u->gid);
	if (!explicit_gid)
		gr_members(group, grouplen, u);
	return 0;
}
