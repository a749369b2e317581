/*
 * lensctl approvals, approve, deny; lensctl policy reload.
 *
 *	lensctl approvals [-f] [--json] [-A apprsock]
 *	lensctl approve [-A apprsock] [-s socket] [--always] id
 *	lensctl deny [-A apprsock] [-s socket] [--always] id
 *	lensctl policy reload [-A apprsock] [-s socket] sandbox
 *
 * They talk to lensnetd's approvals socket (common/lensapprove_imsg.h;
 * -A, else $LENS_APPROVE_SOCKET, else /run/lens/lensapprove.sock) and,
 * for the policy file a sandbox was started with, to lensvmm (-s).
 *
 * --always and reload read the sandbox's policy file as the user who
 * runs lensctl (the file is theirs to change, or not), validate it here
 * (an error names file:line:column and nothing changes) and hand
 * lensnetd its binary model, which lensnetd checks byte by byte.
 * --always edits the file: the rule is inserted as text where libyaml's
 * events say the section ends (comments and order are kept), the result
 * is parsed again and must give the decided verdict, and it replaces
 * the file atomically (temporary file in the same directory, its mode
 * and owner, fsync, rename, fsync of the directory).  A deny always
 * wins: allowing what an explicit deny rule covers is refused.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

#include "imsg.h"
#include "lensapprove_imsg.h"
#include "lensctl.h"
#include "policy.h"
#include "unixsock.h"

#define APPR_WAIT_MS	10000	/* for lensnetd's answer */

static int	appr_list(int, char **);
static int	appr_approve(int, char **);
static int	appr_deny(int, char **);

static const struct lensctl_cmd approval_cmds[] = {
	{ "approvals", appr_list, "[-f] [--json] [-A apprsock]",
	    "list (-f: and follow) the pending approvals" },
	{ "approve", appr_approve,
	    "[-A apprsock] [-s socket] [--always] id",
	    "allow a held connection (--always: add the rule to its policy)" },
	{ "deny", appr_deny, "[-A apprsock] [-s socket] [--always] id",
	    "deny a held connection (--always: add the rule to its policy)" },
	{ NULL, NULL, NULL, NULL }
};

const struct lensctl_group approval_group = { "approval", approval_cmds,
    "answer the connections a policy's ask holds" };

static const char *
appr_path(const char *opt)
{
	const char	*e;

	if (opt != NULL)
		return opt;
	if ((e = getenv("LENS_APPROVE_SOCKET")) != NULL && *e != '\0')
		return e;
	return APPR_SOCKET;
}

static struct imsgbuf *
appr_open(const char *path)
{
	struct imsgbuf	*ib;
	int		 s;

	if ((s = unixsock_connect(path, SOCK_CLOEXEC)) == -1) {
		warn("lensnetd's approvals socket %s", path);
		return NULL;
	}
	if ((ib = malloc(sizeof(*ib))) == NULL) {
		warn(NULL);
		close(s);
		return NULL;
	}
	imsg_init(ib, s);
	return ib;
}

static void
appr_close(struct imsgbuf *ib)
{
	if (ib == NULL)
		return;
	close(ib->fd);
	imsg_clear(ib);
	free(ib);
}

/* send one request (data, then more) and flush; -1 with a warning */
static int
appr_send(struct imsgbuf *ib, uint32_t type, const void *data, size_t len,
    const void *more, size_t morelen)
{
	struct ibuf	*b;

	if ((b = imsg_create(ib, type, 0, 0, len + morelen)) == NULL ||
	    imsg_add(b, data, len) == -1 ||
	    (morelen > 0 && imsg_add(b, more, morelen) == -1)) {
		warnx("request too large");
		return -1;
	}
	imsg_close(ib, b);
	if (imsg_flush(ib) == -1) {
		warn("send to lensnetd");
		return -1;
	}
	return 0;
}

/*
 * One answer: 1 an ENTRY (copied to *e), 0 OK, -1 ERROR or trouble
 * (printed).  timeout -1: wait for ever.
 */
static int
appr_recv(struct imsgbuf *ib, int timeout, struct appr_entry *e)
{
	struct appr_error	 ae;
	struct imsg		 im;
	int			 rc;

	if ((rc = imsg_recv_one(ib, timeout, &im)) != 1) {
		if (rc == -1 && errno == ETIMEDOUT)
			warnx("lensnetd did not answer");
		else
			warnx("lensnetd closed the connection");
		return -1;
	}
	rc = -1;
	if (im.hdr.type == IMSG_APPR_OK && imsg_expect(&im, 0) == 0)
		rc = 0;
	else if (im.hdr.type == IMSG_APPR_ENTRY &&
	    imsg_expect(&im, sizeof(*e)) == 0) {
		memcpy(e, im.data, sizeof(*e));
		e->id[sizeof(e->id) - 1] = '\0';
		e->sandbox[sizeof(e->sandbox) - 1] = '\0';
		e->name[sizeof(e->name) - 1] = '\0';
		e->rule[sizeof(e->rule) - 1] = '\0';
		e->what[sizeof(e->what) - 1] = '\0';
		rc = 1;
	} else if (im.hdr.type == IMSG_APPR_ERROR &&
	    imsg_expect(&im, sizeof(ae)) == 0) {
		memcpy(&ae, im.data, sizeof(ae));
		ae.msg[sizeof(ae.msg) - 1] = '\0';
		warnx("lensnetd: %s", ae.msg);
	} else
		warnx("lensnetd sent an unexpected message %#x", im.hdr.type);
	imsg_free(&im);
	return rc;
}

static const char *const state_names[] = { "pending", "allowed", "denied",
    "timed out" };

static json_t *
entry_json(const struct appr_entry *e)
{
	json_t	*o;

	o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:I, s:I}", "id", e->id,
	    "sandbox", e->sandbox, "kind", appr_kind_name(e->kind), "name",
	    e->name, "port", (int)e->port, "state", e->state <= APPR_TIMEDOUT ?
	    state_names[e->state] : "?", "created", (json_int_t)e->created,
	    "expires", (json_int_t)e->expires);
	if (o == NULL)
		errx(LENSCTL_FAIL, "json_pack");
	json_object_set_new(o, "rule", json_string(e->rule));
	if (e->what[0] != '\0')
		json_object_set_new(o, "request", json_string(e->what));
	return o;
}

static void
entry_print(const struct appr_entry *e, int follow)
{
	long	 left = (long)(e->expires - time(NULL));

	if (follow)
		printf("%-9s ", e->state <= APPR_TIMEDOUT ?
		    state_names[e->state] : "?");
	printf("%s %-7s %.12s %s:%u%s%s rule=%s %lds\n", e->id,
	    appr_kind_name(e->kind), e->sandbox, e->name, e->port,
	    e->what[0] ? " " : "", e->what, e->rule[0] ? e->rule :
	    "(defaultVerdict)", left > 0 ? left : 0);
}

static int
appr_list(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	struct appr_list	 l;
	struct appr_entry	 e;
	struct imsgbuf		*ib;
	const char		*sock = NULL;
	json_t			*arr = NULL;
	int			 ch, json = 0, rc;

	memset(&l, 0, sizeof(l));
	while ((ch = getopt_long(argc, argv, "A:f", longopts, NULL)) != -1) {
		switch (ch) {
		case 'A':
			sock = optarg;
			break;
		case 'f':
			l.follow = 1;
			break;
		case 'j':
			json = 1;
			break;
		default:
			return lensctl_usage(&approval_group, "approvals");
		}
	}
	if (optind != argc)
		return lensctl_usage(&approval_group, "approvals");
	if ((ib = appr_open(appr_path(sock))) == NULL)
		return LENSCTL_FAIL;
	if (appr_send(ib, IMSG_APPR_LIST, &l, sizeof(l), NULL, 0) == -1) {
		appr_close(ib);
		return LENSCTL_FAIL;
	}
	if (json && !l.follow && (arr = json_array()) == NULL)
		errx(LENSCTL_FAIL, "json_array");
	while ((rc = appr_recv(ib, APPR_WAIT_MS, &e)) == 1) {
		if (arr != NULL)
			json_array_append_new(arr, entry_json(&e));
		else if (json) {
			json_t *o = entry_json(&e);

			json_dumpf(o, stdout, JSON_COMPACT);
			json_decref(o);
			putchar('\n');
		} else
			entry_print(&e, l.follow);
	}
	if (rc == 0 && arr != NULL) {
		json_dumpf(arr, stdout, JSON_INDENT(2));
		putchar('\n');
	}
	json_decref(arr);
	if (fflush(stdout) == EOF)
		err(LENSCTL_FAIL, "stdout");
	/* -f: every new approval and every decision, until interrupted */
	while (rc == 0 && l.follow) {
		if ((rc = appr_recv(ib, -1, &e)) != 1)
			break;
		if (json) {
			json_t *o = entry_json(&e);

			json_dumpf(o, stdout, JSON_COMPACT);
			json_decref(o);
			putchar('\n');
		} else
			entry_print(&e, 1);
		if (fflush(stdout) == EOF)
			err(LENSCTL_FAIL, "stdout");
		rc = 0;
	}
	appr_close(ib);
	return rc == 0 ? LENSCTL_OK : LENSCTL_FAIL;
}

/* --- the policy file ---------------------------------------------------- */

struct pfile {
	char		 path[PATH_MAX];
	char		 id[CTL_ID_SIZE];
	char		*text;
	size_t		 len;
	struct stat	 st;
	struct policy	*pol;
};

static void
pfile_free(struct pfile *pf)
{
	free(pf->text);
	policy_free(pf->pol);
	memset(pf, 0, sizeof(*pf));
}

/* read and parse; -1 with the error printed (file:line:col: msg) */
static int
pfile_read(struct pfile *pf)
{
	struct policy_error	 perr;
	char			 buf[1024];
	ssize_t			 n;
	int			 fd;

	if ((fd = open(pf->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		warn("%s", pf->path);
		return -1;
	}
	if (fstat(fd, &pf->st) == -1 || !S_ISREG(pf->st.st_mode)) {
		warnx("%s: not a regular file", pf->path);
		close(fd);
		return -1;
	}
	if ((pf->text = malloc(POLICY_MAXSIZE + 1)) == NULL)
		err(LENSCTL_FAIL, NULL);
	pf->len = 0;
	while (pf->len <= POLICY_MAXSIZE) {
		n = read(fd, pf->text + pf->len, POLICY_MAXSIZE + 1 - pf->len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			warn("%s", pf->path);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		pf->len += n;
	}
	close(fd);
	if (pf->len > POLICY_MAXSIZE) {
		warnx("%s: larger than %d bytes", pf->path, POLICY_MAXSIZE);
		return -1;
	}
	if ((pf->pol = policy_parse(pf->path, pf->text, pf->len, &perr)) ==
	    NULL) {
		policy_strerror(&perr, buf, sizeof(buf));
		fprintf(stderr, "%s\n", buf);
		return -1;
	}
	return 0;
}

/* the policy file and full id of a sandbox, from lensvmm */
static int
sandbox_pfile(const char *vsock, const char *ref, struct pfile *pf)
{
	json_t		*j;
	const char	*id, *path;

	memset(pf, 0, sizeof(*pf));
	if ((j = lensctl_sandbox_inspect(vsock, ref)) == NULL)
		return -1;
	id = json_string_value(json_object_get(j, "id"));
	path = json_string_value(json_object_get(json_object_get(j,
	    "policy"), "path"));
	if (id == NULL || strlen(id) >= sizeof(pf->id)) {
		warnx("lensvmm did not say the sandbox's id");
		json_decref(j);
		return -1;
	}
	strlcpy(pf->id, id, sizeof(pf->id));
	if (path == NULL || path[0] == '\0') {
		warnx("sandbox %s has no policy file (started without "
		    "--policy and without lensvmm's default policy)", ref);
		json_decref(j);
		return -1;
	}
	if (strlcpy(pf->path, path, sizeof(pf->path)) >= sizeof(pf->path)) {
		warnx("policy path too long");
		json_decref(j);
		return -1;
	}
	json_decref(j);
	return 0;
}

/* hand lensnetd the model of pf's policy; -1 printed */
static int
policy_push(const char *asock, const struct pfile *pf)
{
	struct appr_policy	 ap;
	struct imsgbuf		*ib;
	struct appr_entry	 e;
	uint8_t			*model;
	size_t			 mlen;
	int			 rc;

	memset(&ap, 0, sizeof(ap));
	strlcpy(ap.sandbox, pf->id, sizeof(ap.sandbox));
	strlcpy(ap.sha256, policy_hash(pf->pol), sizeof(ap.sha256));
	strlcpy(ap.path, pf->path, sizeof(ap.path));
	mlen = policy_encode(pf->pol, NULL, 0);
	if (mlen == 0 || mlen > POLICY_MODEL_MAXSIZE) {
		warnx("%s: the policy's model is too large", pf->path);
		return -1;
	}
	if ((model = malloc(mlen)) == NULL)
		err(LENSCTL_FAIL, NULL);
	(void)policy_encode(pf->pol, model, mlen);
	ap.modellen = (uint32_t)mlen;
	if ((ib = appr_open(asock)) == NULL) {
		free(model);
		return -1;
	}
	rc = appr_send(ib, IMSG_APPR_POLICY, &ap, sizeof(ap), model, mlen);
	free(model);
	if (rc == 0)
		rc = appr_recv(ib, APPR_WAIT_MS, &e) == 0 ? 0 : -1;
	appr_close(ib);
	return rc;
}

int
lensctl_policy_reload(int argc, char *argv[])
{
	struct pfile	 pf;
	const char	*asock = NULL, *vsock = NULL;
	int		 ch, rc;

	while ((ch = getopt(argc, argv, "A:s:")) != -1) {
		switch (ch) {
		case 'A':
			asock = optarg;
			break;
		case 's':
			vsock = optarg;
			break;
		default:
			return lensctl_usage(&policy_group, "reload");
		}
	}
	if (optind + 1 != argc)
		return lensctl_usage(&policy_group, "reload");
	if (sandbox_pfile(vsock, argv[optind], &pf) == -1)
		return LENSCTL_FAIL;
	if (pfile_read(&pf) == -1) {
		fprintf(stderr, "%s: policy not reloaded; the old one stays\n",
		    pf.path);
		pfile_free(&pf);
		return LENSCTL_FAIL;
	}
	rc = policy_push(appr_path(asock), &pf);
	if (rc == 0)
		printf("%s: %s reloaded (%s)\n", pf.id, pf.path,
		    policy_hash(pf.pol));
	pfile_free(&pf);
	return rc == 0 ? LENSCTL_OK : LENSCTL_FAIL;
}

/* --- --always: the rule into the file ----------------------------------- */

/*
 * Where a rule goes, from libyaml's events: the node at network.egress.
 * SECTION, or the deepest mapping of that path that exists.
 */
struct spot {
	int	 exists;	/* node at this depth of the path */
	int	 seq;		/* a sequence (only the last depth) */
	int	 flow;
	size_t	 col;		/* block: first key's (mapping) or '-' column */
	size_t	 lastend;	/* end of its last content */
	size_t	 endidx;	/* flow: its closing bracket */
	int	 nitems;
};

struct walk {
	yaml_parser_t	 p;
	const char	*want[3];
	struct spot	 s[4];		/* [0] root mapping ... [3] section */
	size_t		 lastend;	/* of any content so far */
	int		 error;
};

static int	walk_node(struct walk *, yaml_event_t *, int depth);

static int
next_event(struct walk *w, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&w->p, ev)) {
		w->error = 1;
		return -1;
	}
	return 0;
}

/* consume the node that starts with ev; depth: its place on the path
 * (-1: off the path) */
static int
walk_node(struct walk *w, yaml_event_t *ev, int depth)
{
	yaml_event_t	 k, v;
	struct spot	*sp = depth >= 0 ? &w->s[depth] : NULL;
	int		 child;

	switch (ev->type) {
	case YAML_SCALAR_EVENT:
	case YAML_ALIAS_EVENT:
		w->lastend = ev->end_mark.index;
		return 0;
	case YAML_SEQUENCE_START_EVENT:
		if (sp != NULL && depth == 3) {
			sp->exists = sp->seq = 1;
			sp->flow = ev->data.sequence_start.style ==
			    YAML_FLOW_SEQUENCE_STYLE;
			sp->col = ev->start_mark.column;
		}
		for (;;) {
			if (next_event(w, &v) == -1)
				return -1;
			if (v.type == YAML_SEQUENCE_END_EVENT) {
				if (sp != NULL && depth == 3) {
					sp->endidx = v.start_mark.index;
					sp->lastend = w->lastend;
				}
				if (sp != NULL && sp->flow)
					w->lastend = v.end_mark.index;
				yaml_event_delete(&v);
				return 0;
			}
			if (sp != NULL && depth == 3)
				sp->nitems++;
			if (walk_node(w, &v, -1) == -1) {
				yaml_event_delete(&v);
				return -1;
			}
			yaml_event_delete(&v);
		}
	case YAML_MAPPING_START_EVENT:
		if (sp != NULL && depth < 3) {
			sp->exists = 1;
			sp->flow = ev->data.mapping_start.style ==
			    YAML_FLOW_MAPPING_STYLE;
		}
		for (;;) {
			if (next_event(w, &k) == -1)
				return -1;
			if (k.type == YAML_MAPPING_END_EVENT) {
				if (sp != NULL && depth < 3) {
					sp->endidx = k.start_mark.index;
					sp->lastend = w->lastend;
				}
				if (sp != NULL && sp->flow)
					w->lastend = k.end_mark.index;
				yaml_event_delete(&k);
				return 0;
			}
			child = -1;
			if (sp != NULL && depth < 3) {
				if (sp->nitems++ == 0)
					sp->col = k.start_mark.column;
				if (k.type == YAML_SCALAR_EVENT && strcmp(
				    (char *)k.data.scalar.value,
				    w->want[depth]) == 0)
					child = depth + 1;
			}
			if (walk_node(w, &k, -1) == -1 ||
			    next_event(w, &v) == -1) {
				yaml_event_delete(&k);
				return -1;
			}
			yaml_event_delete(&k);
			/* a key present without a mapping (or sequence) under
			 * it: there is no place to insert */
			if (child > 0 && v.type != (child == 3 ?
			    YAML_SEQUENCE_START_EVENT :
			    YAML_MAPPING_START_EVENT))
				w->s[child].exists = -1;
			if (walk_node(w, &v, child) == -1) {
				yaml_event_delete(&v);
				return -1;
			}
			yaml_event_delete(&v);
		}
	default:
		w->error = 1;
		return -1;
	}
}

/*
 * text with the rule inserted under network.egress.SECTION; NULL with
 * why when the file's shape leaves no place for it
 */
static char *
insert_rule(const char *text, size_t len, const char *section,
    const char *rule, char *why, size_t whylen)
{
	struct walk	 w;
	yaml_event_t	 ev;
	struct spot	*sp;
	char		*ins = NULL, *out = NULL;
	size_t		 at, i;
	int		 d, k, rc = -1;

	memset(&w, 0, sizeof(w));
	w.want[0] = "network";
	w.want[1] = "egress";
	w.want[2] = section;
	if (!yaml_parser_initialize(&w.p)) {
		snprintf(why, whylen, "libyaml: out of memory");
		return NULL;
	}
	yaml_parser_set_input_string(&w.p, (const unsigned char *)text, len);
	/* stream start, document start, the root */
	for (k = 0; k < 3; k++) {
		if (next_event(&w, &ev) == -1)
			break;
		if (ev.type == YAML_STREAM_START_EVENT ||
		    ev.type == YAML_DOCUMENT_START_EVENT) {
			yaml_event_delete(&ev);
			continue;
		}
		rc = walk_node(&w, &ev, ev.type == YAML_MAPPING_START_EVENT ?
		    0 : -1);
		yaml_event_delete(&ev);
		break;
	}
	yaml_parser_delete(&w.p);
	if (rc == -1 || w.error || w.s[0].exists != 1) {
		snprintf(why, whylen, "not a YAML mapping libyaml reads");
		return NULL;
	}
	for (d = 3; d > 0 && w.s[d].exists == 0; d--)
		;
	if (w.s[d].exists == -1) {
		snprintf(why, whylen, "%s%s%s has no %s under it to add "
		    "the rule to", d >= 1 ? "network" : "", d >= 2 ?
		    ".egress" : "", d >= 3 ? "." : "", d == 3 ? "sequence" :
		    "mapping");
		return NULL;
	}
	sp = &w.s[d];
	if (sp->flow) {
		/* before the closing bracket: ", rule" nested as needed */
		at = sp->endidx;
		if (d == 3)
			k = asprintf(&ins, "%s%s", sp->nitems ? ", " : "", rule);
		else if (d == 2)
			k = asprintf(&ins, "%s%s: [%s]", sp->nitems ? ", " : "",
			    section, rule);
		else if (d == 1)
			k = asprintf(&ins, "%segress: {%s: [%s]}", sp->nitems ?
			    ", " : "", section, rule);
		else
			k = asprintf(&ins, "%snetwork: {egress: {%s: [%s]}}",
			    sp->nitems ? ", " : "", section, rule);
	} else {
		/* a new line after the line of its last content */
		for (at = sp->lastend; at < len && text[at] != '\n'; at++)
			;
		if (d == 3)
			k = asprintf(&ins, "\n%*s- %s", (int)sp->col, "", rule);
		else {
			char	 keys[256] = "";
			size_t	 ind = sp->col;

			for (i = d; i < 3; i++) {
				size_t	 o = strlen(keys);

				snprintf(keys + o, sizeof(keys) - o, "\n%*s%s:",
				    (int)ind, "", w.want[i]);
				ind += 2;
			}
			k = asprintf(&ins, "%s\n%*s- %s", keys, (int)ind, "",
			    rule);
		}
	}
	if (k == -1)
		err(LENSCTL_FAIL, NULL);
	if (asprintf(&out, "%.*s%s%.*s%s", (int)at, text, ins,
	    (int)(len - at), text + at, at == len && !sp->flow ? "\n" : "") ==
	    -1)
		err(LENSCTL_FAIL, NULL);
	free(ins);
	return out;
}

/*
 * A request rule goes into the rules: sequence of the http rule whose
 * match: is the host rule that decided (network.egress.http[i].rules).
 * Depths on that path: 0 the root, 1 network, 2 egress (mappings), 3
 * the http sequence, 4 one of its rules (a mapping), 5 its rules:.
 */
struct rwalk {
	yaml_parser_t	 p;
	const char	*host;		/* the host rule's match: */
	struct spot	 cur;		/* rules: of the rule being read */
	struct spot	 s;		/* ... of the one whose match: is host */
	int		 found;		/* how many rules say match: host */
	size_t		 lastend;
	int		 error;
};

static int
rnext(struct rwalk *w, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&w->p, ev)) {
		w->error = 1;
		return -1;
	}
	return 0;
}

static int
rwalk_node(struct rwalk *w, yaml_event_t *ev, int depth)
{
	static const char *const keys[] = { "network", "egress", "http" };
	yaml_event_t	 k, v;
	int		 child, matched = 0;

	switch (ev->type) {
	case YAML_SCALAR_EVENT:
	case YAML_ALIAS_EVENT:
		w->lastend = ev->end_mark.index;
		return 0;
	case YAML_SEQUENCE_START_EVENT:
		if (depth == 5) {
			memset(&w->cur, 0, sizeof(w->cur));
			w->cur.exists = w->cur.seq = 1;
			w->cur.flow = ev->data.sequence_start.style ==
			    YAML_FLOW_SEQUENCE_STYLE;
			w->cur.col = ev->start_mark.column;
		}
		for (;;) {
			if (rnext(w, &v) == -1)
				return -1;
			if (v.type == YAML_SEQUENCE_END_EVENT) {
				if (depth == 5) {
					w->cur.endidx = v.start_mark.index;
					w->cur.lastend = w->lastend;
				}
				if (v.start_mark.index != v.end_mark.index &&
				    ev->data.sequence_start.style ==
				    YAML_FLOW_SEQUENCE_STYLE)
					w->lastend = v.end_mark.index;
				yaml_event_delete(&v);
				return 0;
			}
			if (depth == 5)
				w->cur.nitems++;
			if (rwalk_node(w, &v, depth == 3 ? 4 : -1) == -1) {
				yaml_event_delete(&v);
				return -1;
			}
			yaml_event_delete(&v);
		}
	case YAML_MAPPING_START_EVENT:
		if (depth == 4)
			memset(&w->cur, 0, sizeof(w->cur));
		for (;;) {
			if (rnext(w, &k) == -1)
				return -1;
			if (k.type == YAML_MAPPING_END_EVENT) {
				if (ev->data.mapping_start.style ==
				    YAML_FLOW_MAPPING_STYLE)
					w->lastend = k.end_mark.index;
				yaml_event_delete(&k);
				if (depth == 4 && matched && w->cur.exists) {
					w->s = w->cur;
					w->found++;
				}
				return 0;
			}
			child = -1;
			if (k.type == YAML_SCALAR_EVENT && depth >= 0 &&
			    depth < 3 && strcmp((char *)k.data.scalar.value,
			    keys[depth]) == 0)
				child = depth + 1;
			else if (k.type == YAML_SCALAR_EVENT && depth == 4 &&
			    strcmp((char *)k.data.scalar.value, "rules") == 0)
				child = 5;
			if (rwalk_node(w, &k, -1) == -1 || rnext(w, &v) == -1) {
				if (k.type == YAML_SCALAR_EVENT)
					yaml_event_delete(&k);
				return -1;
			}
			if (depth == 4 && k.type == YAML_SCALAR_EVENT &&
			    strcmp((char *)k.data.scalar.value, "match") == 0 &&
			    v.type == YAML_SCALAR_EVENT &&
			    strcmp((char *)v.data.scalar.value, w->host) == 0)
				matched = 1;
			yaml_event_delete(&k);
			if (child > 0 && v.type != (child >= 3 ?
			    YAML_SEQUENCE_START_EVENT :
			    YAML_MAPPING_START_EVENT))
				child = -1;
			if (rwalk_node(w, &v, child) == -1) {
				yaml_event_delete(&v);
				return -1;
			}
			yaml_event_delete(&v);
		}
	default:
		w->error = 1;
		return -1;
	}
}

/*
 * text with the request rule inserted at the end of the rules: of the
 * http rule whose match: is host; NULL with why when there is not
 * exactly one such place
 */
static char *
insert_request_rule(const char *text, size_t len, const char *host,
    const char *rule, char *why, size_t whylen)
{
	struct rwalk	 w;
	yaml_event_t	 ev;
	char		*out = NULL;
	size_t		 at;
	int		 k, rc = -1;

	memset(&w, 0, sizeof(w));
	w.host = host;
	if (!yaml_parser_initialize(&w.p)) {
		snprintf(why, whylen, "libyaml: out of memory");
		return NULL;
	}
	yaml_parser_set_input_string(&w.p, (const unsigned char *)text, len);
	for (k = 0; k < 3; k++) {
		if (rnext(&w, &ev) == -1)
			break;
		if (ev.type == YAML_STREAM_START_EVENT ||
		    ev.type == YAML_DOCUMENT_START_EVENT) {
			yaml_event_delete(&ev);
			continue;
		}
		rc = rwalk_node(&w, &ev, ev.type == YAML_MAPPING_START_EVENT ?
		    0 : -1);
		yaml_event_delete(&ev);
		break;
	}
	yaml_parser_delete(&w.p);
	if (rc == -1 || w.error) {
		snprintf(why, whylen, "not a YAML mapping libyaml reads");
		return NULL;
	}
	if (w.found != 1) {
		snprintf(why, whylen, "%s http rules with match: %.128s and "
		    "rules: (one is needed)", w.found == 0 ? "no" : "several",
		    host);
		return NULL;
	}
	if (w.s.flow) {
		at = w.s.endidx;
		k = asprintf(&out, "%.*s%s%s%.*s", (int)at, text,
		    w.s.nitems ? ", " : "", rule, (int)(len - at), text + at);
	} else {
		for (at = w.s.lastend; at < len && text[at] != '\n'; at++)
			;
		k = asprintf(&out, "%.*s\n%*s- %s%.*s%s", (int)at, text,
		    (int)w.s.col, "", rule, (int)(len - at), text + at,
		    at == len ? "\n" : "");
	}
	if (k == -1)
		err(LENSCTL_FAIL, NULL);
	return out;
}

/* replace path by text atomically, keeping mode and owner; -1 printed */
static int
write_atomic(const struct pfile *pf, const char *text, size_t len)
{
	char	 dir[PATH_MAX], tmp[PATH_MAX + 32];
	ssize_t	 n;
	size_t	 off = 0;
	int	 fd, dfd;

	strlcpy(dir, pf->path, sizeof(dir));
	snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dirname(dir),
	    strrchr(pf->path, '/') != NULL ? strrchr(pf->path, '/') + 1 :
	    pf->path);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		warn("%s", tmp);
		return -1;
	}
	while (off < len) {
		if ((n = write(fd, text + off, len - off)) == -1 &&
		    errno == EINTR)
			continue;
		if (n <= 0) {
			warn("write %s", tmp);
			goto fail;
		}
		off += n;
	}
	if (fchmod(fd, pf->st.st_mode & 07777) == -1) {
		warn("chmod %s", tmp);
		goto fail;
	}
	if ((pf->st.st_uid != geteuid() || pf->st.st_gid != getegid()) &&
	    fchown(fd, pf->st.st_uid, pf->st.st_gid) == -1) {
		warn("%s: cannot keep its owner %u:%u", pf->path,
		    (unsigned)pf->st.st_uid, (unsigned)pf->st.st_gid);
		goto fail;
	}
	if (fsync(fd) == -1) {
		warn("fsync %s", tmp);
		goto fail;
	}
	close(fd);
	if (rename(tmp, pf->path) == -1) {
		warn("rename %s to %s", tmp, pf->path);
		unlink(tmp);
		return -1;
	}
	strlcpy(dir, pf->path, sizeof(dir));
	if ((dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1 || fsync(dfd) == -1) {
		warn("fsync of %s's directory", pf->path);
		if (dfd != -1)
			close(dfd);
		return -1;
	}
	close(dfd);
	return 0;
fail:
	close(fd);
	unlink(tmp);
	return -1;
}

/* the verdict pol gives e's name and port, and the rule that decided */
static enum verdict
entry_verdict(const struct policy *pol, const struct appr_entry *e,
    const char **rule)
{
	struct policy_http_decision	 d;
	struct policy_request_decision	 rd;
	char				 method[32], *path, *q;

	if (e->kind == NETD_ASK_TCP)
		return policy_tcp_name(pol, e->name, e->port, rule);
	if (e->kind == NETD_ASK_REQUEST) {
		/* "METHOD /path?query" */
		if ((path = strchr(e->what, ' ')) == NULL ||
		    (size_t)(path - e->what) >= sizeof(method))
			return VERDICT_DENY;
		memcpy(method, e->what, path - e->what);
		method[path - e->what] = '\0';
		if ((path = strdup(path + 1)) == NULL)
			err(LENSCTL_FAIL, NULL);
		if ((q = strchr(path, '?')) != NULL)
			*q++ = '\0';
		policy_http_request(pol, e->name, e->port, method, path, q,
		    &rd);
		free(path);
		*rule = rd.sub >= 0 ? rd.rule : NULL;
		return rd.verdict;
	}
	memset(&d, 0, sizeof(d));
	policy_http(pol, e->name, e->port, &d);
	*rule = d.rule;
	return d.verdict;
}

static int
always(const char *asock, const char *vsock, const struct appr_entry *e,
    int allow, char *before, char *after)
{
	struct pfile	 pf, np;
	struct policy_error perr;
	const char	*rule = NULL, *sp;
	char		 ytext[NETD_NAME_SIZE + NETD_ASK_WHAT + 64], why[256];
	char		*out;
	int		 rc = -1, req = e->kind == NETD_ASK_REQUEST;
	size_t		 ml;

	if (e->kind == NETD_ASK_DNS) {
		warnx("approval %s: a DNS name has no rule of its own to "
		    "add; answer it once", e->id);
		return -1;
	}
	if (strspn(e->name, "abcdefghijklmnopqrstuvwxyz0123456789-.") !=
	    strlen(e->name) || e->name[0] == '\0') {
		warnx("approval %s: %s is no name a rule can match", e->id,
		    e->name);
		return -1;
	}
	/* a request: "METHOD /path" as matched, nothing YAML would read
	   otherwise; the query is not part of a rule */
	if (req && ((sp = strchr(e->what, ' ')) == NULL ||
	    (ml = sp - e->what) == 0 || ml > 16 ||
	    strspn(e->what, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != ml ||
	    sp[1] != '/' || strcspn(sp + 1, "\"\\?#*") != strlen(sp + 1) ||
	    strlen(e->what) >= NETD_ASK_WHAT - 1 || e->rule[0] == '\0')) {
		warnx("approval %s: \"%s\" is no request a rule can be "
		    "written for; answer it once", e->id, e->what);
		return -1;
	}
	if (sandbox_pfile(vsock, e->sandbox, &pf) == -1)
		return -1;
	if (pfile_read(&pf) == -1)
		goto done;
	strlcpy(before, policy_hash(pf.pol), APPR_HASH_SIZE);
	/* deny always wins: no allow shadows an operator's deny */
	if (allow && entry_verdict(pf.pol, e, &rule) == VERDICT_DENY &&
	    rule != NULL) {
		warnx("%s: refused: the deny rule \"%s\" covers %s:%u, and a "
		    "deny always wins", pf.path, rule, e->name, e->port);
		goto done;
	}
	if (req) {
		sp = strchr(e->what, ' ');
		snprintf(ytext, sizeof(ytext), "{method: %.*s, path: \"%s\", "
		    "verdict: %s}", (int)(sp - e->what), e->what, sp + 1,
		    allow ? "allow" : "deny");
		out = insert_request_rule(pf.text, pf.len, e->rule, ytext, why,
		    sizeof(why));
	} else {
		snprintf(ytext, sizeof(ytext), "{match: \"%s:%u\", "
		    "verdict: %s}", e->name, e->port, allow ? "allow" :
		    "deny");
		out = insert_rule(pf.text, pf.len, e->kind == NETD_ASK_TCP ?
		    "tcp" : "http", ytext, why, sizeof(why));
	}
	if (out == NULL) {
		warnx("%s: cannot add the rule: %s", pf.path, why);
		goto done;
	}
	/* what is written must parse and decide as answered */
	np = pf;
	np.text = out;
	np.len = strlen(out);
	if (np.len > POLICY_MAXSIZE ||
	    (np.pol = policy_parse(pf.path, out, np.len, &perr)) == NULL) {
		warnx("%s: the edited policy does not validate", pf.path);
		free(out);
		goto done;
	}
	if (entry_verdict(np.pol, e, &rule) != (allow ? VERDICT_ALLOW :
	    VERDICT_DENY)) {
		warnx("%s: the edited policy would not %s %s:%u", pf.path,
		    allow ? "allow" : "deny", e->name, e->port);
		policy_free(np.pol);
		free(out);
		goto done;
	}
	if (write_atomic(&pf, out, np.len) == -1) {
		policy_free(np.pol);
		free(out);
		goto done;
	}
	strlcpy(after, policy_hash(np.pol), APPR_HASH_SIZE);
	if (policy_push(asock, &np) == -1) {
		/* the file and what runs agree, or the file goes back */
		warnx("%s: lensnetd did not take it; the file is put back",
		    pf.path);
		(void)write_atomic(&pf, pf.text, pf.len);
		policy_free(np.pol);
		free(out);
		goto done;
	}
	printf("%s: %s %s:%u%s%s always (%s -> %s)\n", pf.path, allow ?
	    "allow" : "deny", e->name, e->port, req ? " " : "", req ? e->what :
	    "", before, after);
	policy_free(np.pol);
	free(out);
	rc = 0;
done:
	pfile_free(&pf);
	return rc;
}

static int
decide(int argc, char *argv[], int allow)
{
	static const struct option longopts[] = {
		{ "always", no_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 }
	};
	struct appr_decide	 d;
	struct appr_list	 l;
	struct appr_entry	 e, found;
	struct imsgbuf		*ib;
	const char		*asock = NULL, *vsock = NULL, *cmd;
	int			 ch, all = 0, rc, have = 0;

	cmd = allow ? "approve" : "deny";
	while ((ch = getopt_long(argc, argv, "A:s:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'A':
			asock = optarg;
			break;
		case 's':
			vsock = optarg;
			break;
		case 'a':
			all = 1;
			break;
		default:
			return lensctl_usage(&approval_group, cmd);
		}
	}
	if (optind + 1 != argc)
		return lensctl_usage(&approval_group, cmd);
	memset(&d, 0, sizeof(d));
	if (strlcpy(d.id, argv[optind], sizeof(d.id)) >= sizeof(d.id) ||
	    strlen(d.id) != 32 || strspn(d.id, "0123456789abcdef") != 32) {
		warnx("%s: not an approval id (32 hex digits)", argv[optind]);
		return LENSCTL_USAGE;
	}
	d.allow = allow;
	d.always = all;
	asock = appr_path(asock);
	if (all) {
		/* what the approval is about: its sandbox, name, port */
		memset(&l, 0, sizeof(l));
		if ((ib = appr_open(asock)) == NULL)
			return LENSCTL_FAIL;
		if (appr_send(ib, IMSG_APPR_LIST, &l, sizeof(l), NULL, 0) ==
		    -1) {
			appr_close(ib);
			return LENSCTL_FAIL;
		}
		while ((rc = appr_recv(ib, APPR_WAIT_MS, &e)) == 1)
			if (strcmp(e.id, d.id) == 0) {
				found = e;
				have = 1;
			}
		appr_close(ib);
		if (rc == -1)
			return LENSCTL_FAIL;
		if (!have) {
			warnx("no pending approval %s", d.id);
			return LENSCTL_FAIL;
		}
		if (always(asock, vsock, &found, allow, d.before, d.after) ==
		    -1)
			return LENSCTL_FAIL;
	}
	if ((ib = appr_open(asock)) == NULL)
		return LENSCTL_FAIL;
	rc = appr_send(ib, IMSG_APPR_DECIDE, &d, sizeof(d), NULL, 0);
	if (rc == 0)
		rc = appr_recv(ib, APPR_WAIT_MS, &e) == 0 ? 0 : -1;
	appr_close(ib);
	return rc == 0 ? LENSCTL_OK : LENSCTL_FAIL;
}

static int
appr_approve(int argc, char *argv[])
{
	return decide(argc, argv, 1);
}

static int
appr_deny(int argc, char *argv[])
{
	return decide(argc, argv, 0);
}
