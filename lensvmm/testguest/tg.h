/*
 * The freestanding test guest: no libc, identity-mapped long mode.
 * lib.c: port I/O, the UART, a small printf, TAP helpers, interrupts.
 * virtio.c: a virtio-mmio driver the way Linux's does it.
 * main.c: the test cases.
 */
#ifndef TG_H
#define TG_H

#include <stddef.h>
#include <stdint.h>

#include "../vm/vm_testinfo.h"

#define TG_QSIZE	16

/* lib.c */
void	*memset(void *, int, size_t);
void	*memcpy(void *, const void *, size_t);
int	 memcmp(const void *, const void *, size_t);
size_t	 strlen(const char *);
void	 outb(uint16_t, uint8_t);
uint8_t	 inb(uint16_t);
void	 tg_printf(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 ok(int, const char *, ...) __attribute__((format(printf, 2, 3)));
void	 diag(const char *, ...) __attribute__((format(printf, 1, 2)));
int	 tg_ntests(void);
int	 tg_nfailed(void);
void	 tg_reset(void) __attribute__((noreturn));
void	 tg_finish(void) __attribute__((noreturn));
void	*palloc(size_t);
void	 irq_setup(void);
void	 irq_route(uint32_t gsi);
uint32_t irq_count(uint32_t gsi);
uint32_t tg_rand(void);
void	 tg_isr(uint64_t, uint64_t, uint64_t);

/* virtio.c */
struct vring_desc {
	uint64_t	addr;
	uint32_t	len;
	uint16_t	flags;
	uint16_t	next;
};

struct gq {
	uint16_t		 size;
	struct vring_desc	*desc;
	volatile uint16_t	*avail;
	volatile uint16_t	*used;
	uint16_t		 avail_idx;
	uint16_t		 last_used;
};

struct gdev {
	volatile uint8_t	*base;
	uint32_t		 type;
	uint32_t		 gsi;
	uint32_t		 flags;
	uint64_t		 offered;
	uint64_t		 features;
	struct gq		 q[8];
};

#define F_VERSION_1	(1ULL << 32)
#define F_EVENT_IDX	(1ULL << 29)
#define F_INDIRECT	(1ULL << 28)
#define D_NEXT		1
#define D_WRITE		2
#define D_INDIRECT	4
#define ST_ACK		1
#define ST_DRIVER	2
#define ST_DRIVER_OK	4
#define ST_FEATURES_OK	8
#define ST_NEEDS_RESET	0x40

uint32_t rd32(struct gdev *, uint32_t);
void	 wr32(struct gdev *, uint32_t, uint32_t);
int	 gdev_find(struct gdev *, uint32_t type, int nth);
int	 gdev_init(struct gdev *, uint64_t want);
int	 gdev_queue(struct gdev *, unsigned int q, uint16_t size);
int	 gdev_ready(struct gdev *);
void	 gq_submit(struct gdev *, unsigned int q, uint16_t head);
int	 gq_wait(struct gdev *, unsigned int q, uint32_t *len);
int	 gq_poll(struct gdev *, unsigned int q, uint32_t *id, uint32_t *len);
int	 gdev_wait_status(struct gdev *, uint32_t bit);

extern struct testinfo *ti;

#endif
