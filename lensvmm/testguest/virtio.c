/*
 * A virtio-mmio driver in the guest, done the way Linux's virtio_mmio
 * and virtio_ring do it: reset, ACKNOWLEDGE, DRIVER, read and write
 * features, FEATURES_OK (read back), queues, DRIVER_OK; split rings in
 * guest memory; notify through QueueNotify; completion by polling the
 * used ring.
 */
#include "tg.h"

#define SPIN_LIMIT	40000000UL

uint32_t
rd32(struct gdev *d, uint32_t off)
{
	return (*(volatile uint32_t *)(d->base + off));
}

void
wr32(struct gdev *d, uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)(d->base + off) = v;
}

/* The nth device of a type the VMM listed. */
int
gdev_find(struct gdev *d, uint32_t type, int nth)
{
	uint32_t	 i;

	memset(d, 0, sizeof(*d));
	for (i = 0; i < ti->ndevs && i < TESTINFO_MAXDEVS; i++) {
		if (ti->dev[i].type != type || nth-- > 0)
			continue;
		d->base = (volatile uint8_t *)ti->dev[i].base;
		d->type = type;
		d->gsi = ti->dev[i].gsi;
		d->flags = ti->dev[i].flags;
		return (0);
	}
	return (-1);
}

/* Reset and negotiate; returns -1 when FEATURES_OK did not stick. */
int
gdev_init(struct gdev *d, uint64_t want)
{
	wr32(d, 0x70, 0);
	wr32(d, 0x70, ST_ACK);
	wr32(d, 0x70, ST_ACK | ST_DRIVER);
	wr32(d, 0x14, 0);
	d->offered = rd32(d, 0x10);
	wr32(d, 0x14, 1);
	d->offered |= (uint64_t)rd32(d, 0x10) << 32;
	d->features = want & d->offered;
	wr32(d, 0x24, 0);
	wr32(d, 0x20, (uint32_t)d->features);
	wr32(d, 0x24, 1);
	wr32(d, 0x20, (uint32_t)(d->features >> 32));
	wr32(d, 0x70, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	if (!(rd32(d, 0x70) & ST_FEATURES_OK))
		return (-1);
	return (0);
}

int
gdev_queue(struct gdev *d, unsigned int q, uint16_t size)
{
	struct gq	*gq = &d->q[q];
	uint64_t	 a;

	wr32(d, 0x30, q);
	if (rd32(d, 0x44) != 0 || rd32(d, 0x34) < size)
		return (-1);
	gq->size = size;
	gq->desc = palloc(16 * size);
	gq->avail = palloc(6 + 2 * size);
	gq->used = palloc(6 + 8 * size);
	gq->avail_idx = gq->last_used = 0;
	wr32(d, 0x38, size);
	a = (uint64_t)gq->desc;
	wr32(d, 0x80, (uint32_t)a);
	wr32(d, 0x84, a >> 32);
	a = (uint64_t)gq->avail;
	wr32(d, 0x90, (uint32_t)a);
	wr32(d, 0x94, a >> 32);
	a = (uint64_t)gq->used;
	wr32(d, 0xa0, (uint32_t)a);
	wr32(d, 0xa4, a >> 32);
	wr32(d, 0x44, 1);
	return (rd32(d, 0x44) == 1 ? 0 : -1);
}

int
gdev_ready(struct gdev *d)
{
	wr32(d, 0x70, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
	return ((rd32(d, 0x70) & (ST_DRIVER_OK | ST_NEEDS_RESET)) ==
	    ST_DRIVER_OK ? 0 : -1);
}

/* Make chain `head' available and notify. */
void
gq_submit(struct gdev *d, unsigned int q, uint16_t head)
{
	struct gq	*gq = &d->q[q];

	gq->avail[2 + (gq->avail_idx % gq->size)] = head;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	gq->avail_idx++;
	gq->avail[1] = gq->avail_idx;
	if (d->features & F_EVENT_IDX)	/* used_event: every completion */
		gq->avail[2 + gq->size] = gq->last_used;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	wr32(d, 0x50, q);
}

/* One completion if there is one: 1, else 0. */
int
gq_poll(struct gdev *d, unsigned int q, uint32_t *id, uint32_t *len)
{
	struct gq		*gq = &d->q[q];
	volatile uint32_t	*e;

	if (gq->used[1] == gq->last_used)
		return (0);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	e = (volatile uint32_t *)&gq->used[2];
	e += 2 * (gq->last_used % gq->size);
	if (id != NULL)
		*id = e[0];
	if (len != NULL)
		*len = e[1];
	gq->last_used++;
	return (1);
}

/* Wait for one completion: its id, or -1 on timeout / NEEDS_RESET. */
int
gq_wait(struct gdev *d, unsigned int q, uint32_t *len)
{
	unsigned long	 i;
	uint32_t	 id;

	for (i = 0; i < SPIN_LIMIT; i++) {
		if (gq_poll(d, q, &id, len))
			return (id);
		if ((i & 0xffff) == 0xffff &&
		    (rd32(d, 0x70) & ST_NEEDS_RESET))
			return (-1);
		__asm__ volatile("pause");
	}
	return (-1);
}

/* Wait until the status register shows bit; 0 when it does. */
int
gdev_wait_status(struct gdev *d, uint32_t bit)
{
	unsigned long	 i;

	for (i = 0; i < SPIN_LIMIT / 1024; i++) {
		if (rd32(d, 0x70) & bit)
			return (0);
		__asm__ volatile("pause");
	}
	return (-1);
}
