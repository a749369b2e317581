/*
 * The budget of request bytes the proxy holds for rules to read
 * (bodies held until judged, WebSocket messages reassembled), across
 * all its connections: pconf.held_max bytes (lensnetd -b).
 */
#ifndef LENSNETD_HELD_H
#define LENSNETD_HELD_H

#include <stdint.h>

/* *mine made want bytes (grown or given back): 0, or -1 (nothing
   changed) when growing it goes over the budget */
int		held_set(uint64_t *mine, uint64_t want);
/* all of *mine given back */
void		held_drop(uint64_t *mine);
uint64_t	held_total(void);

#endif
