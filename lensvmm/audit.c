/*
 * lensvmm parent: audit events of sandboxes, sent to lensauditd
 * (common/auditc.c); no sandbox starts while it cannot be reached.
 */
#include <sys/types.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "auditc.h"
#include "log.h"
#include "lensvmm.h"
#include "parent.h"

void
audit_event(const struct sbx *sb, const char *type, json_t *details)
{
	char	*s;

	json_object_set_new(details, "backend", json_string(sb->backend));
	json_object_set_new(details, "name", json_string(sb->name));
	if ((s = json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		fatalx("audit: json_dumps");
	json_decref(details);
	if (auditc_event(audit, sb->id, type, s, strlen(s)) == -1)
		log_warn("audit: %s event for %s not queued", type, sb->id);
	free(s);
}

json_t *
strings_json(const char *p, uint32_t n, const char **next)
{
	json_t		*a = json_array();
	uint32_t	 i;

	for (i = 0; i < n; i++) {
		json_array_append_new(a, json_string(p));
		p += strlen(p) + 1;
	}
	if (next != NULL)
		*next = p;
	return a;
}

void
audit_exec(struct sbx *sb, uint32_t id, uid_t by, const char *strs,
    uint32_t argc, int main)
{
	json_t	*d;

	d = json_pack("{s:o, s:i, s:b, s:I}", "command",
	    strings_json(strs, argc, NULL), "exec_id", (int)id, "main", main,
	    "uid", (json_int_t)by);
	audit_event(sb, "sandbox.exec", d);
}

int
audit_refuses(struct reply *r)
{
	if (auditc_ready(audit))
		return 0;
	reply_error(r, CTL_EXIT_LENS, "lensauditd is not reachable at %s: no "
	    "sandbox starts without an audit log", auditsock);
	return 1;
}
