/*
 * A sandbox whose lensnetd went (J_NETLOST from its jail process, or
 * the parent's own connection of an earlier re-attach closing) stays
 * fail closed: its gateway died with lensnetd and took the sandbox's
 * side of the veth pair with it.  The parent retries, 100 ms doubling
 * to 2 s, to re-attach every such jail sandbox to the lensnetd it finds
 * on its socket again (netd_dial: the listener must be root): the same
 * ATTACH as at start (policy model, -p strings, placeholders) with
 * the network namespace the jail process handed over at READY, the
 * address the sandbox keeps and the lensnetd instance it had.  The
 * answer must give that address, gateway and proxy port back (the
 * sandbox's resolv.conf and proxy variables name them).  Until then
 * ps says "running (network lost)"; then sandbox.network_restored is
 * audited and the parent holds the new connection for the sandbox's
 * life.  A microvm is not re-attached (its tap lives in the vm
 * process): it stays without network.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>

#include <errno.h>
#include <event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "lensvmm.h"
#include "parent.h"

#define REATTACH_MIN_MS		100
#define REATTACH_MAX_MS		2000
#define REATTACH_TIMEOUT	10	/* seconds for lensnetd's answer */

static struct event	 ev_retry;
static int		 retry_ms = REATTACH_MIN_MS, retry_set;
static char		 dial_err[256];	/* said once while it lasts */

static void	reattach_retry(int, short, void *);

static int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
schedule(void)
{
	struct timeval	 tv;

	if (!retry_set) {
		evtimer_set(&ev_retry, reattach_retry, NULL);
		retry_set = 1;
	}
	if (evtimer_pending(&ev_retry, NULL))
		return;
	tv.tv_sec = retry_ms / 1000;
	tv.tv_usec = (retry_ms % 1000) * 1000;
	evtimer_add(&ev_retry, &tv);
	retry_ms = retry_ms * 2 > REATTACH_MAX_MS ? REATTACH_MAX_MS :
	    retry_ms * 2;
}

/* the connection of a re-attach, if any, closed */
static void
nch_close(struct sbx *sb)
{
	if (!sb->nch_open)
		return;
	evtimer_del(&sb->ev_nto);
	imsgev_clear(&sb->nch.iev);
	sb->nch_open = 0;
	sb->reattaching = 0;
}

static int
reattachable(const struct sbx *sb)
{
	return sb->net_lost && sb->state == SANDBOX_RUNNING && !sb->exited &&
	    sb->netnsfd != -1 && !sb->nch_open;
}

void
netd_lost(struct sbx *sb, const char *why)
{
	if (sb->state != SANDBOX_RUNNING || sb->exited || sb->net_lost)
		return;
	sb->net_lost = 1;
	sb->lost_ms = now_ms();
	log_warnx("sandbox %s: network lost (%s)%s", sb->name, why,
	    sb->netnsfd != -1 ? "; re-attached when lensnetd is back" : "");
	audit_event(sb, "sandbox.network_lost", json_pack("{s:s}", "reason",
	    why));
	if (sb->netnsfd != -1) {
		retry_ms = REATTACH_MIN_MS;
		schedule();
	}
}

/* the re-attach failed: why logged, the sandbox stays lost */
static void
failed(struct sbx *sb, const char *why)
{
	if (strcmp(sb->reattach_err, why) != 0)
		log_warnx("sandbox %s: not re-attached: %s", sb->name, why);
	strlcpy(sb->reattach_err, why, sizeof(sb->reattach_err));
	nch_close(sb);
	schedule();
}

static void
nch_answer(struct imsg *im, void *arg)
{
	struct sbx		*sb = arg;
	struct netd_attached	 na;
	char			*ca, err[600], a[INET_ADDRSTRLEN];
	size_t			 calen;

	if (!sb->reattaching) {
		proc_chan_fail(&sb->nch, "a second answer");
		return;
	}
	if ((ca = malloc(PEMCERT_MAX)) == NULL)
		fatal("malloc");
	if (netd_answer(im, NETD_BACKEND_JAIL, &na, NULL, ca, &calen, err,
	    sizeof(err)) == -1) {
		free(ca);
		failed(sb, err);
		return;
	}
	if (na.addr.s_addr != sb->net.addr.s_addr ||
	    na.gateway.s_addr != sb->net.gateway.s_addr ||
	    na.proxyport != sb->net.proxyport) {
		free(ca);
		failed(sb, "lensnetd answered with another address, gateway "
		    "or proxy port");
		return;
	}
	/* lenscredd keeps a sandbox's CA: the one its trust store has */
	if (calen != sb->calen || (calen > 0 && memcmp(ca, sb->ca, calen) !=
	    0))
		log_warnx("sandbox %s: lensnetd re-attached it with %s; "
		    "interception for it fails until it ends", sb->name,
		    calen > 0 ? "another sandbox CA" : "no sandbox CA");
	free(ca);
	evtimer_del(&sb->ev_nto);
	sb->reattaching = 0;
	sb->net_lost = 0;
	sb->reattach_err[0] = '\0';
	strlcpy(sb->net.instance, na.instance, sizeof(sb->net.instance));
	inet_ntop(AF_INET, &na.addr, a, sizeof(a));
	log_info("sandbox %s: network restored (address %s, lensnetd "
	    "instance %s)", sb->name, a, na.instance);
	audit_event(sb, "sandbox.network_restored", json_pack("{s:s, s:s, "
	    "s:I}", "address", a, "instance", na.instance, "lost_ms",
	    (json_int_t)(now_ms() - sb->lost_ms)));
}

static void
nch_lost(struct proc_chan *ch, const char *why)
{
	struct sbx	*sb = ch->arg;

	if (sb->reattaching) {
		failed(sb, strcmp(why, "gone") == 0 ? "lensnetd closed the "
		    "connection without an answer" : why);
		return;
	}
	nch_close(sb);
	netd_lost(sb, "lensnetd closed the connection");
}

static void
nch_timeout(int fd, short ev, void *arg)
{
	char	 why[64];

	(void)fd;
	(void)ev;
	snprintf(why, sizeof(why), "lensnetd did not answer in %d seconds",
	    REATTACH_TIMEOUT);
	failed(arg, why);
}

static const struct proc_msg nch_msgs[] = {
	/* netd_answer() checks them */
	PROC_MSGV(IMSG_NETD_ATTACHED, sizeof(struct netd_attached),
	    sizeof(struct netd_attached) + PEMCERT_MAX, nch_answer),
	PROC_MSG(IMSG_NETD_ERROR, sizeof(struct netd_error), nch_answer),
};

/* 0: the request is on its way; -1: lensnetd is not there (err) */
static int
reattach_start(struct sbx *sb, char *err, size_t errlen)
{
	const char	*publish;
	char		*phwire = NULL;
	struct timeval	 tv;
	size_t		 i;
	int		 s;

	if ((s = netd_dial(netdsock, err, errlen)) == -1)
		return -1;
	if (sb->nph > 0 && (phwire = calloc(sb->nph, PH_SIZE)) == NULL)
		fatal("calloc");
	for (i = 0; i < sb->nph; i++)
		memcpy(phwire + i * PH_SIZE, sb->ph[i].ph, PH_SIZE);
	publish = sb->strings + strings_len(sb->strings, sb->run.argc +
	    sb->run.envc + sb->run.nvolumes);
	snprintf(sb->npeer, sizeof(sb->npeer), "lensnetd (sandbox %s)",
	    sb->name);
	proc_chan_init(&sb->nch, s, sb->npeer, nch_msgs,
	    sizeof(nch_msgs) / sizeof(nch_msgs[0]), sb);
	sb->nch.lost = nch_lost;
	sb->nch_open = 1;
	sb->reattaching = 1;
	if (netd_request(&sb->nch.iev.ibuf, sb->id, NETD_BACKEND_JAIL,
	    sb->netnsfd, sb->model, sb->modellen, publish, sb->run.npublish,
	    phwire, (uint32_t)sb->nph, sb->net.addr, sb->net.instance, err,
	    errlen) == -1) {
		free(phwire);
		nch_close(sb);
		return 1;
	}
	free(phwire);
	imsgev_add(&sb->nch.iev);
	evtimer_set(&sb->ev_nto, nch_timeout, sb);
	tv.tv_sec = REATTACH_TIMEOUT;
	tv.tv_usec = 0;
	evtimer_add(&sb->ev_nto, &tv);
	return 0;
}

static void
reattach_retry(int fd, short ev, void *arg)
{
	struct sbx	*sb;
	char		 err[256];
	int		 left = 0, rc;

	(void)fd;
	(void)ev;
	(void)arg;
	TAILQ_FOREACH(sb, &sandboxes, entry) {
		if (!reattachable(sb))
			continue;
		if ((rc = reattach_start(sb, err, sizeof(err))) == -1) {
			/* the socket: the same for the others */
			if (strcmp(err, dial_err) != 0)
				log_warnx("re-attach: %s", err);
			strlcpy(dial_err, err, sizeof(dial_err));
			left = 1;
			break;
		}
		dial_err[0] = '\0';
		if (rc == 1) {
			failed(sb, err);
			left = 1;
		}
	}
	if (left)
		schedule();
	else if (!evtimer_pending(&ev_retry, NULL))
		retry_ms = REATTACH_MIN_MS;
}

/* the sandbox ended: its connection and namespace go */
void
netd_sbx_end(struct sbx *sb)
{
	nch_close(sb);
	if (sb->netnsfd != -1) {
		close(sb->netnsfd);
		sb->netnsfd = -1;
	}
}

/* READY's descriptor: the sandbox's network namespace, that of initpid */
int
netd_sbx_netns(struct sbx *sb, int fd, pid_t initpid)
{
	struct stat	 a, b;
	char		 path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)initpid);
	if (fstat(fd, &a) == -1 || stat(path, &b) == -1 ||
	    a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return -1;
	sb->netnsfd = fd;
	return 0;
}
