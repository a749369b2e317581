/*
 * TEMPORARY (branch netcore only; delete at merge): stand-ins for the
 * dns and proxy roles, which are written in lensnetd/dns.c and
 * lensnetd/proxy.c.  Weak, so the real ones win if both are linked.
 *
 * A stand-in drops privileges as a real role does, then reads and
 * discards the parent's messages (closing every descriptor it gets)
 * until the parent goes away.  It never answers DNS nor proxies: the
 * daemon runs, sandboxes get their gateway, but no traffic passes.
 * (It cannot just exit: lensnetd ends when a child ends.)
 */
#include <sys/types.h>

#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "imsg.h"
#include "log.h"
#include "lensnetd.h"
#include "privsep.h"
#include "sandbox.h"

static const struct sandbox_syscall standin_syscalls[] = {
	SB_ALLOW(read), SB_ALLOW(recvmsg), SB_ALLOW(close), SB_ALLOW(poll),
	SB_ALLOW(write), SB_ALLOW(sendto), SB_ALLOW(getpid),
	SB_ALLOW(clock_gettime), SB_ALLOW(brk), SB_ALLOW(mmap),
	SB_ALLOW(munmap), SB_ALLOW(fstat), SB_ALLOW(newfstatat),
	SB_ALLOW(connect), SB_ALLOW(socket), SB_ALLOW(rt_sigprocmask),
};

static int
standin(int fd, void *arg, const char *name)
{
	struct netd_role	*r = arg;
	static struct imsgbuf	 ibuf;
	struct imsg		 im;
	struct pollfd		 pfd;
	ssize_t			 n;

	privsep_drop(NULL, &r->user, NULL, 0);
	privsep_pdeathsig(r->parent);
	sandbox_apply(name, standin_syscalls,
	    sizeof(standin_syscalls) / sizeof(standin_syscalls[0]));
	log_warnx("%s: temporary stand-in role: no %s service", name, name);
	imsg_init(&ibuf, fd);
	for (;;) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, -1) == -1 && errno != EINTR)
			return 1;
		n = imsg_read(&ibuf);
		if (n == 0)
			return 0;
		if (n == -1 && errno != EAGAIN)
			return 1;
		while ((n = imsg_get(&ibuf, &im)) == 1) {
			log_debug("%s: message %#x for sandbox %u, %zu bytes%s",
			    name, im.hdr.type, im.hdr.peerid, im.datalen,
			    im.fd != -1 ? ", fd" : "");
			imsg_free(&im);
		}
		if (n == -1)
			return 1;
	}
}

__attribute__((weak)) int
dns_main(int fd, void *arg)
{
	return standin(fd, arg, "dns");
}

__attribute__((weak)) int
proxy_main(int fd, void *arg)
{
	return standin(fd, arg, "proxy");
}
