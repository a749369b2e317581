/*
 * lensvmm parent: stop and rm, and the end of a sandbox (its cgroup
 * killed, its exit audited and saved, its waiters answered).
 */
#include <sys/types.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imsgev.h"
#include "log.h"
#include "lensvmm.h"
#include "parent.h"

void
stop_sandbox(struct sbx *sb, uint32_t grace_ms)
{
	struct j_stop	 js;

	if (!sb->jail_open || sb->exited)
		return;
	if (sb->state == SANDBOX_CREATED) {
		/*
		 * Still starting: the stop is for its command, which starts
		 * on READY and is then stopped like any other (an attached
		 * run sees 143 or 137, not a failed start).
		 */
		if (!sb->stop_pending || grace_ms < sb->stop_grace)
			sb->stop_grace = grace_ms;
		sb->stop_pending = 1;
		return;
	}
	memset(&js, 0, sizeof(js));
	js.grace_ms = grace_ms;
	if (imsgev_compose(&sb->jch.iev, IMSG_J_STOP, 0, 0, -1, &js,
	    sizeof(js)) == -1)
		fatal("compose for a jail process");
}

static void
add_waiter(struct sbx *sb, struct reply *r)
{
	struct waiter	*w;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		reply_error(r, CTL_EXIT_LENS, "out of memory");
		return;
	}
	w->r = r;
	TAILQ_INSERT_TAIL(&sb->waiters, w, entry);
}

void
req_stop(struct reply *r, struct imsg *im, uid_t by)
{
	struct ctl_stop	 st;
	struct sbx	*sb;
	char		 err[256];

	memcpy(&st, im->data, sizeof(st));
	if ((sb = sbx_find(st.ref.sandbox, err, sizeof(err))) == NULL) {
		reply_error(r, CTL_EXIT_LENS, "%s", err);
		return;
	}
	if (sb->state == SANDBOX_STOPPED) {
		reply_ok(r);
		return;
	}
	audit_event(sb, "sandbox.stop", json_pack("{s:I, s:I}", "uid",
	    (json_int_t)by, "timeout", (json_int_t)st.timeout_secs));
	add_waiter(sb, r);
	stop_sandbox(sb, st.timeout_secs * 1000);
}

void
sbx_remove(struct sbx *sb, const char *why)
{
	audit_event(sb, "sandbox.destroy", json_pack("{s:s}", "reason", why));
	sbx_destroy_files(sb);
	log_info("sandbox %s (%s) removed", sb->name, sb->id);
}

void
req_rm(struct reply *r, struct imsg *im, uid_t by)
{
	struct ctl_rm	 rm;
	struct sbx	*sb;
	char		 err[256];

	memcpy(&rm, im->data, sizeof(rm));
	if ((sb = sbx_find(rm.ref.sandbox, err, sizeof(err))) == NULL) {
		reply_error(r, CTL_EXIT_LENS, "%s", err);
		return;
	}
	if (sb->state != SANDBOX_STOPPED) {
		if (!rm.force) {
			reply_error(r, CTL_EXIT_LENS, "sandbox %s is running: "
			    "stop it first or use rm -f", sb->name);
			return;
		}
		audit_event(sb, "sandbox.stop", json_pack("{s:I, s:I, s:b}",
		    "uid", (json_int_t)by, "timeout", (json_int_t)0, "force",
		    1));
		sb->remove = 1;
		add_waiter(sb, r);
		stop_sandbox(sb, 0);
		return;
	}
	sbx_remove(sb, "rm");
	if (sb->child.pid == 0)
		sbx_free(sb);
	reply_ok(r);
}

/* the sandbox ended (or never started): clean up, answer waiters */
void
sbx_stopped(struct sbx *sb)
{
	struct waiter	*w;

	if (sb->state == SANDBOX_STOPPED)
		return;
	sb->state = SANDBOX_STOPPED;
	sb->finished = time(NULL);
	sb->initpid = 0;
	netd_sbx_end(sb);
	if (sb->cg.n > 0) {
		(void)cgroup_kill(&sb->cg);
		(void)cgroup_destroy(&sb->cg);
	}
	audit_event(sb, "sandbox.exit", json_pack("{s:i, s:i, s:b}",
	    "exit_code", sb->exit_code, "signal", sb->exit_sig, "oom_killed",
	    sb->oom));
	log_info("sandbox %s (%s): stopped, exit code %d%s", sb->name, sb->id,
	    sb->exit_code, sb->oom ? " (OOM killed)" : "");
	if (sb->remove || (sb->run.flags & RUN_RM))
		sbx_remove(sb, sb->remove ? "rm -f" : "--rm");
	else
		sbx_save(sb);
	while ((w = TAILQ_FIRST(&sb->waiters)) != NULL) {
		TAILQ_REMOVE(&sb->waiters, w, entry);
		reply_ok(w->r);
		free(w);
	}
	if (sb->jail_open && imsgev_compose(&sb->jch.iev, IMSG_J_FINISH, 0, 0,
	    -1, NULL, 0) == -1)
		fatal("compose for a jail process");
}
