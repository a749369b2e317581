/*
 * The lensvmm side of lensnetd (common/lensnetd_imsg.h), run in a
 * sandbox's jail process while it is still root: one connection per
 * sandbox, NETD_ATTACH with the sandbox's network namespace, then the
 * connection is held until the jail process ends, which makes lensnetd
 * tear the sandbox's network down.  Any failure stops the sandbox from
 * starting (fail closed).  The namespace's descriptor goes to the
 * parent with READY; when lensnetd dies, the parent re-attaches the
 * sandbox to the next one on the socket (reattach.c) with the same
 * request and netd_answer's checks.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"
#include "pemcert.h"
#include "phscan.h"
#include "lensvmm.h"

#define NETD_TIMEOUT	10	/* seconds for lensnetd's answer */

int
netd_dial(const char *sockpath, char *err, size_t errlen)
{
	struct sockaddr_un	 sun;
	uid_t			 uid;
	pid_t			 pid;
	int			 s;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, sockpath, sizeof(sun.sun_path));
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(s, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		snprintf(err, errlen, "lensnetd is not reachable at %s (%s): "
		    "no sandbox starts without its network gatekeeper",
		    sockpath, strerror(errno));
		if (s != -1)
			close(s);
		return -1;
	}
	/* the listener's credentials: only root may be lensnetd */
	if (imsg_peercred(s, &uid, NULL, &pid) == -1) {
		snprintf(err, errlen, "lensnetd at %s: SO_PEERCRED: %s",
		    sockpath, strerror(errno));
		close(s);
		return -1;
	}
	if (uid != 0) {
		snprintf(err, errlen, "%s is served by uid %u (pid %d), not "
		    "root: not lensnetd, nothing sent to it", sockpath,
		    (unsigned)uid, (int)pid);
		close(s);
		return -1;
	}
	return s;
}

int
netd_request(struct imsgbuf *ibuf, const char *id, uint32_t backend,
    int nsfd, const void *model, size_t modellen, const char *publish,
    uint32_t npublish, const char *ph, uint32_t nph,
    struct in_addr reattach, const char *instance, char *err,
    size_t errlen)
{
	struct netd_attach	 a;
	struct ibuf		*b;
	size_t			 plen;
	uint32_t		 i;
	const char		*p;
	int			 fd = -1;

	if ((backend == NETD_BACKEND_JAIL) != (nsfd != -1)) {
		snprintf(err, errlen, "lensnetd: a jail needs its network "
		    "namespace, a microvm none");
		return -1;
	}
	if (nsfd != -1 && (fd = fcntl(nsfd, F_DUPFD_CLOEXEC, 3)) == -1) {
		snprintf(err, errlen, "dup: %s", strerror(errno));
		return -1;
	}
	memset(&a, 0, sizeof(a));
	strlcpy(a.sandbox, id, sizeof(a.sandbox));
	a.backend = backend;
	a.npublish = npublish;
	a.policylen = (uint32_t)modellen;	/* 0: the default policy */
	a.nplaceholder = nph;
	a.reattach = reattach;
	if (instance != NULL)
		strlcpy(a.instance, instance, sizeof(a.instance));
	for (i = 0, p = publish, plen = 0; i < npublish; i++) {
		plen += strlen(p) + 1;
		p += strlen(p) + 1;
	}
	if ((b = imsg_create(ibuf, IMSG_NETD_ATTACH, 0, 0, sizeof(a) +
	    modellen + plen + (size_t)nph * PH_SIZE)) == NULL ||
	    imsg_add(b, &a, sizeof(a)) == -1 ||
	    (modellen > 0 && imsg_add(b, model, modellen) == -1) ||
	    (plen > 0 && imsg_add(b, publish, plen) == -1) ||
	    (nph > 0 && imsg_add(b, ph, (size_t)nph * PH_SIZE) == -1)) {
		snprintf(err, errlen, "lensnetd: request too large");
		if (fd != -1)
			close(fd);
		return -1;
	}
	b->fd = fd;
	imsg_close(ibuf, b);
	return 0;
}

int
netd_answer(struct imsg *im, uint32_t backend, struct netd_attached *na,
    int *tapfd, char *ca, size_t *calen, char *err, size_t errlen)
{
	char			 perr[160];
	struct netd_error	 ne;

	if (tapfd != NULL)
		*tapfd = -1;
	*calen = 0;
	if (im->hdr.type == IMSG_NETD_ERROR &&
	    imsg_expect(im, sizeof(ne)) == 0) {
		memcpy(&ne, im->data, sizeof(ne));
		ne.msg[sizeof(ne.msg) - 1] = '\0';
		snprintf(err, errlen, "lensnetd: %s", ne.msg);
		return -1;
	}
	if (im->hdr.type != IMSG_NETD_ATTACHED ||
	    (im->fd != -1) != (backend == NETD_BACKEND_MICROVM) ||
	    IMSG_DATA_SIZE(im) < sizeof(*na) ||
	    IMSG_DATA_SIZE(im) > sizeof(*na) + PEMCERT_MAX) {
		snprintf(err, errlen, "lensnetd: unexpected answer %#x",
		    im->hdr.type);
		return -1;
	}
	memcpy(na, im->data, sizeof(*na));
	/* the sandbox CA: opaque bytes from lenscredd, framing checked */
	if (na->calen != IMSG_DATA_SIZE(im) - sizeof(*na) || (na->calen > 0 &&
	    pemcert_check((char *)im->data + sizeof(*na), na->calen, perr,
	    sizeof(perr)) == -1)) {
		snprintf(err, errlen, "lensnetd: ATTACHED with a bad CA "
		    "certificate (%u bytes): %s", na->calen, na->calen !=
		    IMSG_DATA_SIZE(im) - sizeof(*na) ? "length mismatch" :
		    perr);
		return -1;
	}
	if (na->prefixlen < 1 || na->prefixlen > 30 ||
	    na->gateway.s_addr == INADDR_ANY || na->proxyport == 0 ||
	    memchr(na->instance, '\0', sizeof(na->instance)) == NULL) {
		snprintf(err, errlen, "lensnetd: ATTACHED with a bad address");
		return -1;
	}
	memcpy(ca, (char *)im->data + sizeof(*na), na->calen);
	*calen = na->calen;
	if (tapfd != NULL) {
		*tapfd = im->fd;
		im->fd = -1;
	}
	return 0;
}

int
netd_connect(const char *sockpath, const char *id, uint32_t backend,
    int nsfd, const void *model, size_t modellen, const char *publish,
    uint32_t npublish, const char *ph, uint32_t nph,
    struct netd_attached *na, int *tapfd, char *ca,
    size_t *calen, char *err, size_t errlen)
{
	struct imsgbuf		*ibuf = NULL;
	struct imsg		 im;
	int			 s, rc;

	if (tapfd != NULL)
		*tapfd = -1;
	*calen = 0;
	if ((s = netd_dial(sockpath, err, errlen)) == -1)
		return -1;
	if ((ibuf = malloc(sizeof(*ibuf))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	imsg_init(ibuf, s);
	if (netd_request(ibuf, id, backend, nsfd, model, modellen, publish,
	    npublish, ph, nph, (struct in_addr){ 0 }, NULL, err, errlen) == -1)
		goto fail;
	if (imsg_flush(ibuf) == -1) {
		snprintf(err, errlen, "lensnetd: send: %s", strerror(errno));
		goto fail;
	}
	if ((rc = imsg_recv_one(ibuf, NETD_TIMEOUT * 1000, &im)) != 1) {
		if (rc == -1 && errno == ETIMEDOUT)
			snprintf(err, errlen, "lensnetd did not answer in %d "
			    "seconds", NETD_TIMEOUT);
		else if (rc == -1 && errno == EBADMSG)
			snprintf(err, errlen, "lensnetd: malformed answer");
		else
			snprintf(err, errlen, "lensnetd closed the connection "
			    "without an answer");
		goto fail;
	}
	rc = netd_answer(&im, backend, na, tapfd, ca, calen, err, errlen);
	imsg_free(&im);
	if (rc == -1)
		goto fail;
	imsg_clear(ibuf);
	free(ibuf);
	return s;
fail:
	if (ibuf != NULL) {
		imsg_clear(ibuf);
		free(ibuf);
	}
	close(s);
	return -1;
}

int
netd_attach(struct jail_conf *c, pid_t pid, char *err, size_t errlen)
{
	char	 path[64];
	int	 nsfd;

	c->netdfd = c->netnsfd = -1;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	if ((nsfd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "open %s: %s", path, strerror(errno));
		return -1;
	}
	c->netdfd = netd_connect(c->netdsock, c->id, NETD_BACKEND_JAIL, nsfd,
	    c->model, c->modellen, c->publish, c->npublish, c->ph, c->nph,
	    &c->net, NULL,
	    c->ca, &c->calen, err, errlen);
	if (c->netdfd == -1) {
		close(nsfd);
		return -1;
	}
	/* for the parent: a restarted lensnetd re-attaches this one */
	c->netnsfd = nsfd;
	return 0;
}
