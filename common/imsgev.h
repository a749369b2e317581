/*
 * An imsgbuf driven by a libevent event: EV_READ unless reading is
 * paused, EV_WRITE while anything is queued.
 */
#ifndef LENS_IMSGEV_H
#define LENS_IMSGEV_H

#include <event.h>

#include "imsg.h"

struct imsgev {
	struct imsgbuf	 ibuf;
	struct event	 ev;
	void		(*handler)(int, short, void *);
	void		*data;
	short		 events;
	int		 rpaused;
};

void	imsgev_init(struct imsgev *, int fd,
	    void (*handler)(int, short, void *), void *data);
void	imsgev_add(struct imsgev *);
void	imsgev_pause(struct imsgev *, int paused);
void	imsgev_clear(struct imsgev *);	/* event removed, fd closed */
int	imsgev_compose(struct imsgev *, uint32_t type, uint32_t peerid,
	    pid_t pid, int fd, const void *data, size_t datalen);

#endif
