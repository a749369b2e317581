/*
 * imsgbuf + libevent glue shared by the daemons.
 */
#include <unistd.h>

#include "imsgev.h"
#include "log.h"

void
imsgev_init(struct imsgev *iev, int fd, void (*handler)(int, short, void *),
    void *data)
{
	imsg_init(&iev->ibuf, fd);
	iev->handler = handler;
	iev->data = data;
	iev->events = 0;
	iev->rpaused = 0;
	imsgev_add(iev);
}

void
imsgev_add(struct imsgev *iev)
{
	short	 events = 0;

	if (!iev->rpaused)
		events |= EV_READ;
	if (iev->ibuf.wqueued > 0 || !TAILQ_EMPTY(&iev->ibuf.wq))
		events |= EV_WRITE;
	if (events == iev->events && event_initialized(&iev->ev))
		return;
	if (iev->events != 0)
		event_del(&iev->ev);
	iev->events = events;
	if (events == 0)
		return;
	event_set(&iev->ev, iev->ibuf.fd, events | EV_PERSIST, iev->handler,
	    iev->data);
	if (event_add(&iev->ev, NULL) == -1)
		fatal("event_add");
}

void
imsgev_pause(struct imsgev *iev, int paused)
{
	if (iev->rpaused == paused)
		return;
	iev->rpaused = paused;
	imsgev_add(iev);
}

void
imsgev_clear(struct imsgev *iev)
{
	if (iev->events != 0)
		event_del(&iev->ev);
	iev->events = 0;
	imsg_clear(&iev->ibuf);
	close(iev->ibuf.fd);
	iev->ibuf.fd = -1;
}

int
imsgev_compose(struct imsgev *iev, uint32_t type, uint32_t peerid, pid_t pid,
    int fd, const void *data, size_t datalen)
{
	if (imsg_compose(&iev->ibuf, type, peerid, pid, fd, data, datalen) ==
	    -1)
		return -1;
	imsgev_add(iev);
	return 0;
}
