/*
 * exchpeer: lensnetd's two sides of a credential exchange, for the
 * regress suite.  As lensnetd's parent it sends IMSG_CRED_EXCHANGE with
 * one end of a socketpair to lenscredd; as the proxy it speaks
 * common/lensexch.h on the other end: the request head, the body, END;
 * then it prints what comes back, one line each:
 *
 *	ok EXCH_ID		lenscredd took the request
 *	error MESSAGE		lenscredd refused it (IMSG_CRED_ERROR)
 *	status N REASON		RESP_HEAD
 *	header NAME: VALUE	each of its headers
 *	body N			RESP_BODY bytes in all (written to -o)
 *	end			RESP_END
 *	exch-error N MESSAGE	EXCH_ERROR
 *	closed			the exchange closed the stream
 *
 *   exchpeer [-b body] [-c cafile] [-H 'Name: value']... [-m method]
 *	[-n nhold] [-o out] [-r region] [-s service] [-S] [-t target]
 *	SOCKET SANDBOX CRED PLACEHOLDER HOST PORT ADDR INJECTION NAME VALUE
 *
 * INJECTION is a name of gr_inj_names (header, query, basic, ...); NAME
 * and VALUE its name and template ("" for none).  -b sends the body
 * (a length body; -S: until END, in messages of at most 7 bytes, so
 * that every split is tried, or -C bytes); -n N sends N requests on
 * one connection, holding every stream open without a head, and prints
 * "N ok" and the
 * first error.  oauth2Refresh: -u the tokenUrl, -i the clientId, -a the
 * address the token endpoint's host resolves to, ADDR:PORT.
 */
#include <sys/socket.h>

#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"
#include "lenscredd_imsg.h"
#include "lensexch.h"
#include "policy_int.h"
#include "unixsock.h"

/* kept in statics: reachable to the end, whichever way main returns */
static struct exch_msg_head	*h;
static struct exch_msg_resp	*r;
static uint8_t			*msg;
static char			*ca, *bd;
static struct imsgbuf		 cb, xb;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: exchpeer [-b body] [-C piece] [-c cafile] "
	    "[-H hdr]... [-m method] [-n nhold] [-o out] [-r region] "
	    "[-s service] [-S] [-t target] [-u tokenurl -a tokenaddr:port "
	    "[-i clientid]] SOCKET SANDBOX CRED PLACEHOLDER HOST PORT ADDR "
	    "INJECTION NAME VALUE\n");
	exit(2);
}

static char *
slurp(const char *path, size_t *len)
{
	FILE	*f;
	char	*b;
	long	 n;

	if ((f = fopen(path, "r")) == NULL || fseek(f, 0, SEEK_END) == -1 ||
	    (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) == -1 ||
	    (b = malloc(n + 1)) == NULL || fread(b, 1, n, f) != (size_t)n) {
		fprintf(stderr, "exchpeer: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	fclose(f);
	b[n] = '\0';
	*len = n;
	return b;
}

/* one answer of lenscredd: 0 OK, 1 ERROR (printed), -1 closed */
static int
answer(struct imsgbuf *ib, int quiet)
{
	struct imsg			 im;
	struct cred_error		 e;
	struct cred_exchange_ok		 ok;

	if (imsg_recv_one(ib, 10000, &im) != 1) {
		printf("closed\n");
		return -1;
	}
	if (im.hdr.type == IMSG_CRED_EXCHANGE_OK &&
	    imsg_expect(&im, sizeof(ok)) == 0) {
		memcpy(&ok, im.data, sizeof(ok));
		if (!quiet)
			printf("ok %u\n", ok.exch_id);
		imsg_free(&im);
		return 0;
	}
	if (im.hdr.type == IMSG_CRED_ERROR && imsg_expect(&im, sizeof(e)) == 0) {
		memcpy(&e, im.data, sizeof(e));
		e.msg[sizeof(e.msg) - 1] = '\0';
		printf("error %s\n", e.msg);
		imsg_free(&im);
		return 1;
	}
	printf("unexpected %#x\n", im.hdr.type);
	exit(1);
}

int
main(int argc, char *argv[])
{
	struct cred_exchange	 req;
	struct exch_error	 ee;
	struct imsg		 im;
	const char		*body = NULL, *cafile = NULL, *out = NULL;
	const char		*method = "GET", *target = "/", *region = "";
	const char		*service = "", *turl = "", *tcid = "";
	char			*taddr = NULL, *tport;
	char			*hv[EXCH_MAXHDR];
	char			 why[256];
	size_t			 nh = 0, calen = 0, blen = 0, i, got = 0;
	int			 ch, fd, sv[2], stream = 0, nhold = 0, t, ofd = -1;
	size_t			 piece = 7;

	while ((ch = getopt(argc, argv, "a:b:C:c:H:i:m:n:o:r:s:St:u:")) != -1) {
		switch (ch) {
		case 'a':
			taddr = optarg;
			break;
		case 'C':
			piece = strtoul(optarg, NULL, 10);
			if (piece == 0 || piece > EXCH_BODY_MAX)
				usage();
			break;
		case 'b':
			body = optarg;
			break;
		case 'i':
			tcid = optarg;
			break;
		case 'u':
			turl = optarg;
			break;
		case 'c':
			cafile = optarg;
			break;
		case 'H':
			if (nh == EXCH_MAXHDR)
				usage();
			hv[nh++] = optarg;
			break;
		case 'm':
			method = optarg;
			break;
		case 'n':
			nhold = atoi(optarg);
			break;
		case 'o':
			out = optarg;
			break;
		case 'r':
			region = optarg;
			break;
		case 's':
			service = optarg;
			break;
		case 'S':
			stream = 1;
			break;
		case 't':
			target = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 10)
		usage();

	memset(&req, 0, sizeof(req));
	strlcpy(req.sandbox, argv[1], sizeof(req.sandbox));
	strlcpy(req.cred, argv[2], sizeof(req.cred));
	strlcpy(req.placeholder, argv[3], sizeof(req.placeholder));
	strlcpy(req.host, argv[4], sizeof(req.host));
	req.port = atoi(argv[5]);
	if (inet_pton(AF_INET, argv[6], req.addr) == 1)
		req.family = AF_INET;
	else if (inet_pton(AF_INET6, argv[6], req.addr) == 1)
		req.family = AF_INET6;
	else
		usage();
	for (t = 0; gr_inj_names[t] != NULL &&
	    strcmp(gr_inj_names[t], argv[7]) != 0; t++)
		;
	/* the policy model's spelling, before or after it changed */
	if (gr_inj_names[t] == NULL && strcmp(argv[7], "awsSigv4") == 0)
		for (t = 0; gr_inj_names[t] != NULL &&
		    strcmp(gr_inj_names[t], "sigv4") != 0; t++)
			;
	req.inj_type = gr_inj_names[t] != NULL ? t : 255;
	strlcpy(req.inj_name, argv[8], sizeof(req.inj_name));
	strlcpy(req.inj_value, argv[9], sizeof(req.inj_value));
	strlcpy(req.region, region, sizeof(req.region));
	strlcpy(req.service, service, sizeof(req.service));
	req.exch_id = 4242;
	strlcpy(req.token_url, turl, sizeof(req.token_url));
	strlcpy(req.client_id, tcid, sizeof(req.client_id));
	if (taddr != NULL) {
		if ((tport = strrchr(taddr, ':')) == NULL)
			usage();
		*tport++ = '\0';
		req.token_port = atoi(tport);
		if (inet_pton(AF_INET, taddr, req.token_addr) == 1)
			req.token_family = AF_INET;
		else if (inet_pton(AF_INET6, taddr, req.token_addr) == 1)
			req.token_family = AF_INET6;
		else
			usage();
	}
	if (cafile != NULL)
		ca = slurp(cafile, &calen);
	req.calen = calen;
	if ((msg = malloc(sizeof(req) + calen + 1)) == NULL)
		return 1;
	memcpy(msg, &req, sizeof(req));
	if (calen > 0)
		memcpy(msg + sizeof(req), ca, calen);

	if ((fd = unixsock_connect(argv[0], 0)) == -1) {
		fprintf(stderr, "exchpeer: %s: %s\n", argv[0], strerror(errno));
		return 1;
	}
	imsg_init(&cb, fd);

	if (nhold > 0) {
		int	 first = 1, n = 0, rc;

		for (i = 0; i < (size_t)nhold; i++) {
			if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
				return 1;
			if (imsg_compose(&cb, IMSG_CRED_EXCHANGE, 0, 0, sv[0],
			    msg, sizeof(req) + calen) == -1 ||
			    imsg_flush(&cb) == -1)
				return 1;
			/* sv[1] kept open: the stream waits for its head */
			if ((rc = answer(&cb, 1)) == 0)
				n++;
			else if (rc == -1)
				break;
			else if (first)
				first = 0;
		}
		printf("%d ok\n", n);
		return 0;
	}

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		return 1;
	if (imsg_compose(&cb, IMSG_CRED_EXCHANGE, 0, 0, sv[0], msg,
	    sizeof(req) + calen) == -1 || imsg_flush(&cb) == -1) {
		fprintf(stderr, "exchpeer: send: %s\n", strerror(errno));
		return 1;
	}
	if (answer(&cb, 0) != 0)
		return 0;

	imsg_init(&xb, sv[1]);
	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (r = calloc(1, sizeof(*r))) == NULL)
		return 1;
	h->method = method;
	h->mlen = strlen(method);
	h->target = target;
	h->tlen = strlen(target);
	for (i = 0; i < nh; i++) {
		char *c = strchr(hv[i], ':');

		if (c == NULL)
			usage();
		h->hdr[i].name = hv[i];
		h->hdr[i].nlen = c - hv[i];
		c++;
		while (*c == ' ')
			c++;
		h->hdr[i].value = c;
		h->hdr[i].vlen = strlen(c);
	}
	h->nhdr = nh;
	if (body != NULL) {
		bd = slurp(body, &blen);
		h->body = stream ? EXCH_BODY_STREAM : EXCH_BODY_LENGTH;
		h->length = stream ? 0 : blen;
	}
	if (exch_put_head(&xb, h, why, sizeof(why)) == -1) {
		fprintf(stderr, "exchpeer: head: %s\n", why);
		return 1;
	}
	for (i = 0; i < blen; i += got) {
		got = blen - i;
		if (stream && got > piece)
			got = piece;
		if (got > EXCH_BODY_MAX)
			got = EXCH_BODY_MAX;
		if (exch_put_body(&xb, EXCH_REQ_BODY, bd + i, got, why,
		    sizeof(why)) == -1 || imsg_flush(&xb) == -1) {
			fprintf(stderr, "exchpeer: body: %s\n", why);
			return 1;
		}
	}
	if (exch_put_end(&xb, EXCH_REQ_END, why, sizeof(why)) == -1 ||
	    imsg_flush(&xb) == -1) {
		/* the exchange may have answered and closed already */
		if (errno != EPIPE) {
			fprintf(stderr, "exchpeer: end: %s\n", why);
			return 1;
		}
	}
	if (out != NULL && (ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC,
	    0600)) == -1)
		return 1;
	for (got = 0;;) {
		if ((t = imsg_recv_one(&xb, 30000, &im)) != 1) {
			printf("closed\n");
			if (t == -1)
				fprintf(stderr, "exchpeer: %s\n",
				    strerror(errno));
			return 0;
		}
		switch (im.hdr.type) {
		case EXCH_RESP_HEAD:
			if (exch_get_resp(im.data, im.datalen, r, why,
			    sizeof(why)) == -1) {
				printf("bad-head %s\n", why);
				return 1;
			}
			printf("status %d %s\n", r->status, r->reason);
			for (i = 0; i < r->nhdr; i++)
				printf("header %s: %s\n", r->hdr[i].name,
				    r->hdr[i].value);
			break;
		case EXCH_RESP_BODY:
			if (exch_get_body(im.data, im.datalen, why,
			    sizeof(why)) == -1) {
				printf("bad-body %s\n", why);
				return 1;
			}
			got += im.datalen;
			if (ofd != -1 && write(ofd, im.data, im.datalen) !=
			    (ssize_t)im.datalen)
				return 1;
			break;
		case EXCH_RESP_END:
			printf("body %zu\nend\n", got);
			imsg_free(&im);
			return 0;
		case EXCH_ERROR:
			if (exch_get_error(im.data, im.datalen, &ee, why,
			    sizeof(why)) == -1) {
				printf("bad-error %s\n", why);
				return 1;
			}
			printf("exch-error %u %s\n", ee.status, ee.msg);
			imsg_free(&im);
			return 0;
		default:
			printf("unexpected %#x\n", im.hdr.type);
			return 1;
		}
		imsg_free(&im);
	}
}
