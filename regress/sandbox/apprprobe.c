/*
 * apprprobe ID PATH...: from inside a sandbox, try to answer approval ID
 * through every Unix socket PATH: connect, send lensnetd's DECIDE (allow,
 * common/lensapprove_imsg.h) and a LIST, and say what came back.  One
 * line a path: "PATH: connect: ERROR", "PATH: answer TYPE" or "PATH:
 * closed".  Built static by regress/attack/approval-self.t (the sandbox
 * has no Lens libraries).
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../common/imsg.h"
#include "../../common/lensapprove_imsg.h"

static void
probe(const char *id, const char *path)
{
	struct sockaddr_un	 sun;
	struct {
		struct imsg_hdr		 h;
		struct appr_decide	 d;
	} m;
	struct {
		struct imsg_hdr		 h;
		struct appr_list	 l;
	} l;
	struct imsg_hdr		 ah;
	struct pollfd		 pfd;
	int			 s;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((s = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    connect(s, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		printf("%s: connect: %s\n", path, strerror(errno));
		if (s != -1)
			close(s);
		return;
	}
	memset(&m, 0, sizeof(m));
	m.h.type = IMSG_APPR_DECIDE;
	m.h.len = sizeof(m);
	snprintf(m.d.id, sizeof(m.d.id), "%s", id);
	m.d.allow = 1;
	memset(&l, 0, sizeof(l));
	l.h.type = IMSG_APPR_LIST;
	l.h.len = sizeof(l);
	if (write(s, &m, sizeof(m)) != (ssize_t)sizeof(m) ||
	    write(s, &l, sizeof(l)) != (ssize_t)sizeof(l)) {
		printf("%s: closed (write: %s)\n", path, strerror(errno));
		close(s);
		return;
	}
	pfd.fd = s;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 3000) == 1 && read(s, &ah, sizeof(ah)) ==
	    (ssize_t)sizeof(ah))
		printf("%s: answer %#x\n", path, ah.type);
	else
		printf("%s: closed\n", path);
	close(s);
}

int
main(int argc, char *argv[])
{
	int	 i;

	if (argc < 3) {
		fprintf(stderr, "usage: apprprobe id path ...\n");
		return 2;
	}
	for (i = 2; i < argc; i++)
		probe(argv[1], argv[i]);
	return 0;
}
