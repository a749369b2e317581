/*
 * The users a daemon serves on its socket (sockusers.h).
 */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sockusers.h"
#include "unixsock.h"

void
sockusers_parse(struct sockusers *s, int max, const char *list)
{
	char	*dup, *p, *name, err[256];

	if (max > SOCKUSERS_MAX)
		fatalx("sockusers_parse: %d users", max);
	if ((dup = strdup(list)) == NULL)
		fatal("strdup");
	p = dup;
	s->n = 0;
	while ((name = strsep(&p, ",")) != NULL) {
		if (*name == '\0')
			continue;
		if (s->n == max)
			fatalx("-u: more than %d users", max);
		if (privsep_user(name, &s->u[s->n], err, sizeof(err)) == -1)
			fatalx("-u: %s", err);
		s->n++;
	}
	free(dup);
}

int
sockusers_allowed(const struct sockusers *s, uid_t uid)
{
	int	 i;

	if (uid == 0)
		return 1;
	for (i = 0; i < s->n; i++)
		if (s->u[i].uid == uid)
			return 1;
	return 0;
}

int
sockusers_accept(const struct sockusers *s, int lfd, const char *why,
    uid_t *uid, gid_t *gid, pid_t *pid)
{
	int	 fd;

	if ((fd = unixsock_accept(lfd, uid, gid, pid)) == -1)
		return -1;
	if (!sockusers_allowed(s, *uid)) {
		log_warnx("refused connection from uid %u gid %u (pid %d): %s",
		    (unsigned)*uid, (unsigned)*gid, (int)*pid, why);
		close(fd);
		return -1;
	}
	return fd;
}
