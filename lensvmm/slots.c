/*
 * lensvmm parent: uid slots.  Slot N is the host uid range
 * VMM_UIDBASE + N * VMM_UIDRANGE, given to one sandbox on the whole
 * host.
 */
#include <sys/file.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "log.h"
#include "lensvmm.h"
#include "parent.h"

static int
slot_used(int slot)
{
	struct sbx	*sb;

	TAILQ_FOREACH(sb, &sandboxes, entry)
		if (!sb->removed && sb->slot == slot)
			return 1;
	return 0;
}

/*
 * A slot (a host uid range) belongs to one sandbox on the whole host,
 * whichever lensvmm runs it: its holder keeps an flock on
 * VMM_SLOTDIR/N from the sandbox's creation to its removal (and loses
 * it when it dies).  The descriptor, or -1 when another holds it.
 */
int
slot_lock(int slot)
{
	char	 path[sizeof(VMM_SLOTDIR) + 16];
	int	 fd;

	snprintf(path, sizeof(path), VMM_SLOTDIR "/%d", slot);
	if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600)) == -1) {
		log_warn("open %s", path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK)
			log_warn("flock %s", path);
		close(fd);
		return -1;
	}
	return fd;
}

void
slot_unlock(struct sbx *sb)
{
	if (sb->slotfd != -1) {
		close(sb->slotfd);
		sb->slotfd = -1;
	}
}

int
slot_alloc(int *fd)
{
	int	 slot;
	int	 n = 0;
	struct sbx *sb;

	*fd = -1;
	TAILQ_FOREACH(sb, &sandboxes, entry)
		if (!sb->removed)
			n++;
	if (n >= VMM_MAXSANDBOXES)
		return -1;
	for (slot = 0; slot < VMM_MAXSANDBOXES * 4; slot++) {
		if (slot_used(slot))
			continue;
		if (jail_user_collides(VMM_UIDBASE + VMM_UIDRANGE * slot,
		    VMM_UIDRANGE)) {
			log_info("uid range of slot %d is in use on the host; "
			    "skipped", slot);
			continue;
		}
		/* not taken by another lensvmm */
		if ((*fd = slot_lock(slot)) == -1)
			continue;
		return slot;
	}
	return -1;
}
