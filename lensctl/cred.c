/*
 * lensctl cred: credentials.
 *
 * `ca' prints the certificate of a sandbox's CA (made by lenscredd when
 * the sandbox attached to lensnetd), for tools that want to trust what
 * lensnetd intercepts for that sandbox.
 *
 * `add', `rotate', `rm' and `ls' work on lenscredd's credential store
 * (root only, lenscredd_imsg.h).  A value is read from standard input
 * (with echo off from a terminal) or from the file of --from-file,
 * never from the command line or the environment: the command line of
 * any process is public (ps), the environment of a root process is not
 * much less.  It is sent as read, byte for byte, from memory that is
 * locked and zeroed when freed (sodium_malloc), with no copy in
 * between.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <readpassphrase.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "grammar.h"
#include "imsg.h"
#include "lenscredd_imsg.h"
#include "lensctl.h"
#include "unixsock.h"

static int	cred_ca(int, char **);
static int	cred_add(int, char **);
static int	cred_rotate(int, char **);
static int	cred_rm(int, char **);
static int	cred_ls(int, char **);

static const struct lensctl_cmd cred_cmds[] = {
	{ "ca", cred_ca, "[-s socket] sandbox",
	    "print the CA certificate a sandbox trusts" },
	{ "add", cred_add, "[-k socket] [--from-file path] name",
	    "store a credential in lenscredd (value from stdin or a file)" },
	{ "rotate", cred_rotate, "[-k socket] [--from-file path] name",
	    "replace a stored credential's value" },
	{ "rm", cred_rm, "[-k socket] name",
	    "remove a stored credential" },
	{ "ls", cred_ls, "[--json] [-k socket] [-s socket]",
	    "list stored credentials and the sandboxes that bind them" },
	{ NULL, NULL, NULL, NULL }
};

const struct lensctl_group cred_group = { "cred", cred_cmds,
    "credentials kept by lenscredd" };

static int
cred_ca(int argc, char *argv[])
{
	const char	*sock = NULL;
	char		*pem = NULL;
	size_t		 len = 0;
	int		 ch;

	while ((ch = getopt(argc, argv, "s:")) != -1) {
		switch (ch) {
		case 's':
			sock = optarg;
			break;
		default:
			return lensctl_usage(&cred_group, "ca");
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		return lensctl_usage(&cred_group, "ca");
	if (lensctl_sandbox_ca(sock, argv[0], &pem, &len) == -1)
		return LENSCTL_FAIL;
	if (pem == NULL) {
		warnx("sandbox %s has no CA (no lensnetd, or lenscredd gave "
		    "none when it started)", argv[0]);
		return LENSCTL_FAIL;
	}
	if (fwrite(pem, 1, len, stdout) != len || fflush(stdout) == EOF) {
		warn("stdout");
		free(pem);
		return LENSCTL_FAIL;
	}
	free(pem);
	return LENSCTL_OK;
}

/* the options of the store commands: -k socket, --from-file (if file) */
static int
store_opts(int argc, char *argv[], const char *cmd, const char **sock,
    const char **file, const char **name)
{
	static const struct option longopts[] = {
		{ "from-file", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	char	 err[GR_ERRSIZE];
	int	 ch;

	*sock = LENSCREDD_SOCKET;
	while ((ch = getopt_long(argc, argv, "k:", file != NULL ? longopts :
	    longopts + 1, NULL)) != -1) {
		switch (ch) {
		case 'k':
			*sock = optarg;
			break;
		case 'f':
			*file = optarg;
			break;
		default:
			return lensctl_usage(&cred_group, cmd);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != (name != NULL ? 1 : 0))
		return lensctl_usage(&cred_group, cmd);
	if (name != NULL) {
		if (gr_cred("credential", argv[0], err, sizeof(err)) == -1) {
			warnx("%s", err);
			return LENSCTL_USAGE;
		}
		*name = argv[0];
	}
	return LENSCTL_OK;
}

/*
 * One request to lenscredd (hdr, then data) and its answer in *im,
 * which is want or ERROR (printed: LENSCTL_FAIL).  The message is
 * written as it is, so that the value is copied nowhere.
 */
static int
store_request(const char *sock, uint32_t type, const void *hdr, size_t hlen,
    const void *data, size_t dlen, uint32_t want, struct imsg *im)
{
	struct imsg_hdr		 h;
	struct imsgbuf		 ib;
	struct cred_error	 e;
	struct iovec		 iov[3];
	struct msghdr		 msg;
	int			 fd, rc = LENSCTL_FAIL, n;

	if ((fd = unixsock_connect(sock, SOCK_CLOEXEC)) == -1) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			warnx("lenscredd is not running: cannot connect to %s "
			    "(%s)", sock, strerror(errno));
		else
			warn("cannot connect to lenscredd at %s", sock);
		return LENSCTL_FAIL;
	}
	memset(&h, 0, sizeof(h));
	h.type = type;
	h.len = IMSG_HDRSZ + hlen + dlen;
	iov[0] = (struct iovec){ &h, sizeof(h) };
	iov[1] = (struct iovec){ (void *)hdr, hlen };
	iov[2] = (struct iovec){ (void *)data, dlen };
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = iov;
	msg.msg_iovlen = 3;
	imsg_init(&ib, fd);
	if (sendmsg(fd, &msg, MSG_NOSIGNAL) != (ssize_t)h.len)
		n = errno == EPIPE || errno == ECONNRESET ? 0 : -1;
	else if ((n = imsg_recv_one(&ib, -1, im)) == -1 && errno == ECONNRESET)
		n = 0;
	if (n == 0)
		warnx("lenscredd at %s closed the connection: it serves root "
		    "and its -u users only, and the store to root only", sock);
	else if (n == -1)
		warn("lenscredd at %s", sock);
	else if (im->hdr.type == IMSG_CRED_ERROR &&
	    imsg_expect(im, sizeof(e)) == 0) {
		memcpy(&e, im->data, sizeof(e));
		e.msg[sizeof(e.msg) - 1] = '\0';
		warnx("%s", e.msg);
		imsg_free(im);
	} else if (im->hdr.type != want) {
		warnx("lenscredd sent an unexpected answer (type %#x, %zu "
		    "bytes)", im->hdr.type, im->datalen);
		imsg_free(im);
	} else
		rc = LENSCTL_OK;
	imsg_clear(&ib);
	close(fd);
	return rc;
}

/*
 * The value: file's bytes, or standard input's (a terminal: one line,
 * echo off).  In buf (sodium_malloc, CRED_SECRET_MAX + 1 bytes), its
 * length in *len; LENSCTL_OK, or an error printed.
 */
static int
read_value(const char *file, const char *name, uint8_t *buf, size_t *len)
{
	char	 prompt[128];
	ssize_t	 n;
	int	 fd = STDIN_FILENO;

	*len = 0;
	if (file == NULL && isatty(STDIN_FILENO)) {
		snprintf(prompt, sizeof(prompt), "value of %s: ", name);
		if (readpassphrase(prompt, (char *)buf, CRED_SECRET_MAX + 1,
		    RPP_REQUIRE_TTY) == NULL) {
			warn("read the value from the terminal");
			return LENSCTL_FAIL;
		}
		*len = strlen((char *)buf);
	} else {
		if (file != NULL && (fd = open(file, O_RDONLY | O_CLOEXEC)) ==
		    -1) {
			warn("%s", file);
			return LENSCTL_USAGE;
		}
		while (*len <= CRED_SECRET_MAX && (n = read(fd, buf + *len,
		    CRED_SECRET_MAX + 1 - *len)) != 0) {
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1) {
				warn("read %s", file != NULL ? file :
				    "standard input");
				if (fd != STDIN_FILENO)
					close(fd);
				return LENSCTL_FAIL;
			}
			*len += (size_t)n;
		}
		if (fd != STDIN_FILENO)
			close(fd);
	}
	if (*len == 0) {
		warnx("%s: the value is empty", file != NULL ? file :
		    "standard input");
		return LENSCTL_USAGE;
	}
	if (*len > CRED_SECRET_MAX) {
		warnx("%s: the value is longer than %d bytes, the most a "
		    "credential holds", file != NULL ? file : "standard input",
		    CRED_SECRET_MAX);
		return LENSCTL_USAGE;
	}
	return LENSCTL_OK;
}

static int
cred_store(int argc, char *argv[], const char *cmd, uint32_t type)
{
	struct cred_store	 r;
	struct imsg		 im;
	const char		*sock, *file = NULL, *name;
	uint8_t			*buf;
	size_t			 len;
	int			 rc;

	if ((rc = store_opts(argc, argv, cmd, &sock, &file, &name)) !=
	    LENSCTL_OK)
		return rc;
	if (sodium_init() < 0)
		errx(LENSCTL_FAIL, "sodium_init failed");
	if ((buf = sodium_malloc(CRED_SECRET_MAX + 1)) == NULL)
		err(LENSCTL_FAIL, "sodium_malloc");
	if ((rc = read_value(file, name, buf, &len)) == LENSCTL_OK) {
		memset(&r, 0, sizeof(r));
		strlcpy(r.name, name, sizeof(r.name));
		r.secretlen = (uint32_t)len;
		rc = store_request(sock, type, &r, sizeof(r), buf, len,
		    IMSG_CRED_STORED, &im);
		if (rc == LENSCTL_OK)
			imsg_free(&im);
	}
	sodium_free(buf);	/* zeroes it */
	return rc;
}

static int
cred_add(int argc, char *argv[])
{
	return cred_store(argc, argv, "add", IMSG_CRED_STORE_ADD);
}

static int
cred_rotate(int argc, char *argv[])
{
	return cred_store(argc, argv, "rotate", IMSG_CRED_STORE_ROTATE);
}

static int
cred_rm(int argc, char *argv[])
{
	struct cred_id	 r;
	struct imsg	 im;
	const char	*sock, *name;
	int		 rc;

	if ((rc = store_opts(argc, argv, "rm", &sock, NULL, &name)) !=
	    LENSCTL_OK)
		return rc;
	memset(&r, 0, sizeof(r));
	strlcpy(r.name, name, sizeof(r.name));
	if ((rc = store_request(sock, IMSG_CRED_STORE_RM, &r, sizeof(r), NULL,
	    0, IMSG_CRED_STORED, &im)) == LENSCTL_OK)
		imsg_free(&im);
	return rc;
}

static void
utc(char *buf, size_t len, int64_t t)
{
	time_t		 tt = (time_t)t;
	struct tm	 tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL)
		strlcpy(buf, "-", len);
	else
		strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/*
 * A binding: a sandbox lensvmm lists whose policy names credential
 * NAME.  Text: "  SANDBOX (ID) ENVVAR: TYPE HOST, ..." under the
 * credential's row; JSON: {sandbox_id, sandbox_name, envVar,
 * injections}.  bindings NULL: lensvmm did not answer.
 */
static int
ls_bindings(json_t *bindings, const char *name, int json, json_t *out)
{
	json_t		*sb, *cr, *in, *crs, *inj, *b;
	const char	*id;
	size_t		 i, k, m;
	int		 n = 0;

	json_array_foreach(bindings, i, sb) {
		crs = json_object_get(sb, "credentials");
		json_array_foreach(crs, k, cr) {
			if ((id = json_string_value(json_object_get(cr,
			    "id"))) == NULL || strcmp(id, name) != 0)
				continue;
			n++;
			inj = json_object_get(cr, "injections");
			if (json) {
				b = json_pack("{s:O, s:O, s:O, s:[]}",
				    "sandbox_id", json_object_get(sb, "id"),
				    "sandbox_name", json_object_get(sb, "name"),
				    "envVar", json_object_get(cr, "envVar"),
				    "injections");
				if (b == NULL || json_array_append_new(out,
				    b) == -1)
					return -1;
				json_array_foreach(inj, m, in)	/* type, host */
					if (json_array_append_new(
					    json_object_get(b, "injections"),
					    json_pack("{s:O, s:O}", "type",
					    json_object_get(in, "type"), "host",
					    json_object_get(in, "host"))) == -1)
						return -1;
				continue;
			}
			printf("  %s (%.12s) %s:",
			    json_string_value(json_object_get(sb, "name")),
			    json_string_value(json_object_get(sb, "id")),
			    json_string_value(json_object_get(cr, "envVar")));
			json_array_foreach(inj, m, in)
				printf("%s %s %s", m > 0 ? "," : "",
				    json_string_value(json_object_get(in,
				    "type")),
				    json_string_value(json_object_get(in,
				    "host")));
			printf("\n");
		}
	}
	return n;
}

/* one credential: its row (or JSON line) and its bindings */
static int
ls_one(const char *name, const char *status, int64_t created,
    int64_t rotated, const char *damaged, json_t *bindings, int json)
{
	char	 c[32], r[32], *str;
	json_t	*j, *b = NULL;
	int	 rc = -1;

	utc(c, sizeof(c), created);
	utc(r, sizeof(r), rotated);
	if (!json) {
		printf("%-32s %-20s %-20s %s\n", name, c, r, status);
		if (bindings != NULL)
			(void)ls_bindings(bindings, name, 0, NULL);
		return 0;
	}
	if (bindings != NULL && ((b = json_array()) == NULL ||
	    ls_bindings(bindings, name, 1, b) == -1)) {
		json_decref(b);
		warnx("cannot make JSON for %s", name);
		return -1;
	}
	j = json_pack("{s:s, s:s, s:s, s:I, s:s, s:I, s:o}", "name", name,
	    "status", status, "created", c, "created_unix",
	    (json_int_t)created, "rotated", r, "rotated_unix",
	    (json_int_t)rotated, "bindings", b != NULL ? b : json_null());
	if (j != NULL && damaged != NULL)
		json_object_set_new(j, "damaged", json_string(damaged));
	if (j != NULL && (str = json_dumps(j, JSON_COMPACT)) != NULL) {
		printf("%s\n", str);
		free(str);
		rc = 0;
	} else
		warnx("cannot make JSON for %s", name);
	json_decref(j);
	return rc;
}

/*
 * NAME CREATED ROTATED STATUS, each credential's bindings under it; a
 * record that does not open: why, and exit 1; a credential a sandbox's
 * policy names that is not in the store: "missing", and exit 1
 */
static int
cred_ls(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	struct cred_list	 l;
	struct cred_entry	*e = NULL;
	struct imsg		 im;
	const char		*sock = LENSCREDD_SOCKET, *vsock = NULL;
	const char		*id;
	json_t			*b, *sb, *cr, *seen = NULL;
	uint32_t		 i;
	size_t			 k, m;
	int			 rc = LENSCTL_OK, json = 0, ch;

	while ((ch = getopt_long(argc, argv, "k:s:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'k':
			sock = optarg;
			break;
		case 's':
			vsock = optarg;
			break;
		case 'j':
			json = 1;
			break;
		default:
			return lensctl_usage(&cred_group, "ls");
		}
	}
	if (optind != argc)
		return lensctl_usage(&cred_group, "ls");
	if ((rc = store_request(sock, IMSG_CRED_STORE_LS, NULL, 0, NULL, 0,
	    IMSG_CRED_LIST, &im)) != LENSCTL_OK)
		return rc;
	memcpy(&l, im.data, sizeof(l));
	if (im.datalen < sizeof(l) || l.n > CRED_STORE_MAX ||
	    im.datalen != sizeof(l) + l.n * sizeof(*e)) {
		warnx("lenscredd sent a LIST of %zu bytes", im.datalen);
		imsg_free(&im);
		return LENSCTL_FAIL;
	}
	if (l.n > 0 && (e = calloc(l.n, sizeof(*e))) == NULL) {
		imsg_free(&im);
		warn(NULL);
		return LENSCTL_FAIL;
	}
	if (l.n > 0)
		memcpy(e, (uint8_t *)im.data + sizeof(l), l.n * sizeof(*e));
	imsg_free(&im);
	if ((b = lensctl_sandbox_creds(vsock)) == NULL)
		warnx("bindings not shown: lensvmm did not answer (the store "
		    "is listed without them)");
	if (!json)
		printf("%-32s %-20s %-20s %s\n", "NAME", "CREATED", "ROTATED",
		    "STATUS");
	if ((seen = json_object()) == NULL)
		err(LENSCTL_FAIL, NULL);
	for (i = 0; i < l.n; i++) {
		e[i].name[sizeof(e[i].name) - 1] = '\0';
		e[i].damaged[sizeof(e[i].damaged) - 1] = '\0';
		json_object_set_new(seen, e[i].name, json_true());
		if (e[i].damaged[0] != '\0') {
			warnx("credential %s cannot be used: %s", e[i].name,
			    e[i].damaged);
			rc = LENSCTL_FAIL;
		}
		if (ls_one(e[i].name, e[i].damaged[0] != '\0' ? "damaged" :
		    "stored", e[i].damaged[0] != '\0' ? 0 : e[i].created,
		    e[i].damaged[0] != '\0' ? 0 : e[i].rotated,
		    e[i].damaged[0] != '\0' ? e[i].damaged : NULL, b,
		    json) == -1)
			rc = LENSCTL_FAIL;
	}
	/* what running policies name but the store does not hold */
	json_array_foreach(b, k, sb)
		json_array_foreach(json_object_get(sb, "credentials"), m, cr) {
			id = json_string_value(json_object_get(cr, "id"));
			if (id == NULL || json_object_get(seen, id) != NULL)
				continue;
			json_object_set_new(seen, id, json_true());
			warnx("credential %s is named by a sandbox's policy "
			    "but is not in the store", id);
			rc = LENSCTL_FAIL;
			if (ls_one(id, "missing", 0, 0, NULL, b, json) == -1)
				rc = LENSCTL_FAIL;
		}
	json_decref(seen);
	json_decref(b);
	free(e);
	if (fflush(stdout) == EOF) {
		warn("stdout");
		return LENSCTL_FAIL;
	}
	return rc;
}
