/*
 * Unit test of the split-virtqueue walker (lensvmm/vm/vm_virtq.c) against
 * a plain memory buffer standing in for guest RAM: address checks
 * (bounds, the MMIO hole, high memory, addr + len wraparound), ring
 * setup checks, loops and over-long chains, indirect tables, the
 * used ring, and EVENT_IDX arithmetic.  TAP output.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lensvmm/vm/vm_virtq.h"

#define MEMSZ		(1 << 20)
#define QS		16
#define DESC		0x1000
#define AVAIL		0x2000
#define USED		0x3000
#define BUF		0x10000

static int		 tests_run, tests_failed;
static uint8_t		*ram;
static struct gmem	 gm;
static struct virtq	 vq;
static struct vq_chain	 ch;
static char		 err[256];

static void
ok(int cond, const char *desc)
{
	tests_run++;
	if (!cond)
		tests_failed++;
	printf("%sok %d - %s\n", cond ? "" : "not ", tests_run, desc);
	if (!cond && err[0] != '\0')
		printf("# last error: %s\n", err);
}

static struct vring_desc *
desc(unsigned int i)
{
	return ((struct vring_desc *)(ram + DESC) + i);
}

static void
setd(unsigned int i, uint64_t addr, uint32_t len, uint16_t flags,
    uint16_t next)
{
	desc(i)->addr = addr;
	desc(i)->len = len;
	desc(i)->flags = flags;
	desc(i)->next = next;
}

static uint16_t *
avail(void)
{
	return ((uint16_t *)(ram + AVAIL));
}

static uint16_t *
used(void)
{
	return ((uint16_t *)(ram + USED));
}

/* Fresh memory and a started queue of QS entries. */
static void
reset(int event_idx)
{
	memset(ram, 0, MEMSZ);
	memset(&vq, 0, sizeof(vq));
	vq.size = QS;
	vq.desc_gpa = DESC;
	vq.avail_gpa = AVAIL;
	vq.used_gpa = USED;
	vq.event_idx = event_idx;
	err[0] = '\0';
	if (vq_start(&vq, &gm, err, sizeof(err)) == -1) {
		printf("Bail out! vq_start: %s\n", err);
		exit(1);
	}
}

/* Offer head as the next avail entry. */
static void
offer(uint16_t head)
{
	uint16_t	 idx = avail()[1];

	avail()[2 + idx % QS] = head;
	avail()[1] = idx + 1;
}

static int
pop(void)
{
	err[0] = '\0';
	return (vq_pop(&vq, &gm, &ch, err, sizeof(err)));
}

static void
test_gmem(void)
{
	struct gmem	 hi;
	uint8_t		*big;

	ok(gmem_ptr(&gm, 0, MEMSZ) == ram, "gmem: all of memory");
	ok(gmem_ptr(&gm, MEMSZ - 1, 1) == ram + MEMSZ - 1,
	    "gmem: last byte");
	ok(gmem_ptr(&gm, MEMSZ - 1, 2) == NULL, "gmem: one byte past the end");
	ok(gmem_ptr(&gm, MEMSZ, 0) != NULL, "gmem: empty range at the end");
	ok(gmem_ptr(&gm, MEMSZ, 1) == NULL, "gmem: start at the end");
	ok(gmem_ptr(&gm, UINT64_MAX - 10, 20) == NULL,
	    "gmem: addr + len wraps around 2^64");
	ok(gmem_ptr(&gm, 0x1000, UINT64_MAX) == NULL, "gmem: huge length");
	ok(gmem_ptr(&gm, GMEM_HIGH_START, 1) == NULL,
	    "gmem: no high memory configured");

	/* 3 GiB low + 64 KiB high, faked on a small buffer: only the
	 * pointer arithmetic is checked, nothing is dereferenced */
	big = malloc(16);
	hi.base = big;
	hi.lowsize = GMEM_HOLE_START;
	hi.size = GMEM_HOLE_START + 0x10000;
	ok(gmem_ptr(&hi, GMEM_HOLE_START, 1) == NULL,
	    "gmem: the MMIO hole is not memory");
	ok(gmem_ptr(&hi, 0xd0000000ULL, 4) == NULL,
	    "gmem: a device window is not memory");
	ok(gmem_ptr(&hi, GMEM_HOLE_START - 4, 8) == NULL,
	    "gmem: a range running into the hole");
	ok(gmem_ptr(&hi, GMEM_HIGH_START, 0x10000) ==
	    big + GMEM_HOLE_START, "gmem: high memory maps after low memory");
	ok(gmem_ptr(&hi, GMEM_HIGH_START + 0x8000, 0x8001) == NULL,
	    "gmem: past the end of high memory");
	free(big);
}

static void
test_setup(void)
{
	struct virtq	 q;

	ok(vq_size_ok(16, 256) && vq_size_ok(1, 1) && vq_size_ok(1024, 1024),
	    "size: powers of two within the maximum");
	ok(!vq_size_ok(0, 256) && !vq_size_ok(3, 256) && !vq_size_ok(512, 256)
	    && !vq_size_ok(2048, 4096) && !vq_size_ok(0xffffffffU, 256),
	    "size: 0, non-powers, above the maximum, above VQ_MAXSIZE");
	memset(&q, 0, sizeof(q));
	q.size = QS;
	q.desc_gpa = DESC + 8;
	q.avail_gpa = AVAIL;
	q.used_gpa = USED;
	ok(vq_start(&q, &gm, err, sizeof(err)) == -1 && !q.ready,
	    "setup: misaligned descriptor table refused");
	q.desc_gpa = DESC;
	q.used_gpa = USED + 2;
	ok(vq_start(&q, &gm, err, sizeof(err)) == -1,
	    "setup: misaligned used ring refused");
	q.used_gpa = MEMSZ - 16;
	ok(vq_start(&q, &gm, err, sizeof(err)) == -1 && q.desc == NULL,
	    "setup: used ring past the end refused");
	q.used_gpa = USED;
	q.desc_gpa = (uint64_t)-4096;
	ok(vq_start(&q, &gm, err, sizeof(err)) == -1,
	    "setup: descriptor table address near 2^64 refused");
	q.desc_gpa = DESC;
	q.size = 12;
	ok(vq_start(&q, &gm, err, sizeof(err)) == -1,
	    "setup: queue size 12 refused");
	q.size = QS;
	ok(vq_start(&q, &gm, err, sizeof(err)) == 0 && q.ready,
	    "setup: good rings accepted");
}

static void
test_chains(void)
{
	unsigned int	 i;

	reset(0);
	ok(pop() == 0, "pop: empty queue");
	setd(0, BUF, 16, VRING_DESC_F_NEXT, 1);
	setd(1, BUF + 16, 100, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	setd(2, BUF + 200, 1, VRING_DESC_F_WRITE, 0);
	offer(0);
	ok(pop() == 1 && ch.head == 0 && ch.niov == 3 && ch.rlen == 16 &&
	    ch.wlen == 101 && ch.iov[1].base == ram + BUF + 16 &&
	    ch.iov[1].write, "pop: three-descriptor chain");
	ok(pop() == 0 && vq.last_avail == 1, "pop: nothing more");

	reset(0);
	setd(0, BUF, 8, VRING_DESC_F_NEXT, 1);
	setd(1, BUF, 8, VRING_DESC_F_NEXT, 0);
	offer(0);
	ok(pop() == -1 && vq.broken, "pop: two-descriptor loop");
	offer(0);
	ok(pop() == 0, "pop: a broken queue is not used any more");

	reset(0);
	setd(3, BUF, 8, VRING_DESC_F_NEXT, 3);
	offer(3);
	ok(pop() == -1, "pop: descriptor pointing at itself");

	reset(0);
	for (i = 0; i < QS; i++)
		setd(i, BUF + 8 * i, 8, i + 1 < QS ? VRING_DESC_F_NEXT : 0,
		    i + 1);
	offer(0);
	ok(pop() == 1 && ch.niov == QS, "pop: a chain of exactly the queue "
	    "size");

	reset(0);
	setd(0, BUF, 8, VRING_DESC_F_NEXT, QS);
	offer(0);
	ok(pop() == -1, "pop: next beyond the queue size");

	reset(0);
	offer(QS + 3);
	ok(pop() == -1, "pop: avail head beyond the queue size");

	reset(0);
	avail()[1] = QS + 1;
	ok(pop() == -1, "pop: avail idx more than a queue ahead");

	reset(0);
	setd(0, MEMSZ - 4, 8, 0, 0);
	offer(0);
	ok(pop() == -1, "pop: buffer running past the end of memory");

	reset(0);
	setd(0, MEMSZ + 0x1000, 8, 0, 0);
	offer(0);
	ok(pop() == -1, "pop: buffer outside memory");

	reset(0);
	setd(0, UINT64_MAX - 0xfff, 0x2000, 0, 0);
	offer(0);
	ok(pop() == -1, "pop: addr + len wrapping around 2^64");

	reset(0);
	setd(0, BUF, 0xffffffffU, VRING_DESC_F_WRITE, 0);
	offer(0);
	ok(pop() == -1, "pop: length 2^32-1");

	reset(0);
	setd(0, BUF, 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	setd(1, BUF + 8, 8, 0, 0);
	offer(0);
	ok(pop() == -1, "pop: readable descriptor after a writable one");

	reset(0);
	setd(0, BUF, 0, 0, 0);
	offer(0);
	ok(pop() == 1 && ch.niov == 1 && ch.rlen == 0,
	    "pop: a zero-length descriptor is harmless");

	/* the avail index wraps at 2^16 */
	reset(0);
	vq.last_avail = 0xffff;
	avail()[1] = 0xffff;
	setd(0, BUF, 4, 0, 0);
	offer(0);
	ok(avail()[1] == 0 && pop() == 1 && vq.last_avail == 0,
	    "pop: avail idx wraps from 65535 to 0");
}

static void
test_indirect(void)
{
	struct vring_desc	*t = (struct vring_desc *)(ram + 0x20000);

	reset(0);
	t[0] = (struct vring_desc){ BUF, 16, VRING_DESC_F_NEXT, 1 };
	t[1] = (struct vring_desc){ BUF + 16, 32, VRING_DESC_F_WRITE, 0 };
	setd(0, 0x20000, 32, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	ok(pop() == 1 && ch.niov == 2 && ch.rlen == 16 && ch.wlen == 32,
	    "indirect: two-entry table");

	reset(0);
	setd(0, 0x20000, 15, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	ok(pop() == -1, "indirect: length not a multiple of 16");

	reset(0);
	setd(0, 0x20000, 0, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	ok(pop() == -1, "indirect: empty table");

	reset(0);
	setd(0, 0x20000, (VQ_MAXINDIRECT + 1) * 16, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	ok(pop() == -1, "indirect: more entries than allowed");

	reset(0);
	setd(0, MEMSZ - 16, 32, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	ok(pop() == -1, "indirect: table past the end of memory");

	reset(0);
	setd(0, 0x20008, 32, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	ok(pop() == -1, "indirect: misaligned table");

	reset(0);
	t[0] = (struct vring_desc){ 0x20100, 16, VRING_DESC_F_INDIRECT, 0 };
	setd(0, 0x20000, 16, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	ok(pop() == -1, "indirect: nested table");

	reset(0);
	t[0] = (struct vring_desc){ BUF, 8, VRING_DESC_F_NEXT, 1 };
	t[1] = (struct vring_desc){ BUF, 8, VRING_DESC_F_NEXT, 0 };
	setd(0, 0x20000, 32, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	ok(pop() == -1, "indirect: loop inside the table");

	reset(0);
	t[0] = (struct vring_desc){ BUF, 8, VRING_DESC_F_NEXT, 2 };
	setd(0, 0x20000, 32, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	ok(pop() == -1, "indirect: next beyond the table");

	reset(0);
	t[0] = (struct vring_desc){ MEMSZ, 8, 0, 0 };
	setd(0, 0x20000, 16, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	ok(pop() == -1, "indirect: entry outside memory");

	reset(0);
	t[0] = (struct vring_desc){ BUF, 8, 0, 0 };
	setd(0, 0x20000, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	setd(1, BUF, 8, 0, 0);
	offer(0);
	ok(pop() == -1, "indirect: INDIRECT together with NEXT");
}

static void
test_used_and_events(void)
{
	uint32_t	*elem;
	unsigned int	 i;

	reset(0);
	setd(0, BUF, 8, VRING_DESC_F_WRITE, 0);
	offer(0);
	pop();
	vq_push(&vq, ch.head, 8);
	elem = (uint32_t *)&used()[2];
	ok(used()[1] == 1 && elem[0] == 0 && elem[1] == 8,
	    "used: element and idx written");
	ok(vq_should_notify(&vq), "notify: without EVENT_IDX, by default");
	avail()[0] = VRING_AVAIL_F_NO_INTERRUPT;
	ok(!vq_should_notify(&vq), "notify: not with NO_INTERRUPT");

	vq.used_idx = 0xffff;
	vq_push(&vq, 0, 0);
	ok(used()[1] == 0, "used: idx wraps from 65535 to 0");

	ok(vq_need_event(5, 6, 5), "event idx: event == old");
	ok(!vq_need_event(4, 6, 5), "event idx: event before old");
	ok(vq_need_event(7, 10, 5), "event idx: event inside (old, new]");
	ok(!vq_need_event(10, 10, 5), "event idx: event == new is not yet");
	ok(vq_need_event(0xffff, 2, 0xfffe), "event idx: across the wrap");
	ok(!vq_need_event(3, 2, 0xfffe), "event idx: ahead across the wrap");

	reset(1);
	for (i = 0; i < 3; i++) {
		setd(i, BUF, 8, VRING_DESC_F_WRITE, 0);
		offer(i);
	}
	pop();
	ok(used()[2 + 4 * QS] == 1, "event idx: avail_event written after "
	    "a pop");
	vq_push(&vq, ch.head, 0);
	ok(vq_should_notify(&vq), "event idx: the first completion "
	    "notifies");
	avail()[2 + QS] = 5;		/* used_event */
	pop();
	vq_push(&vq, ch.head, 0);
	ok(!vq_should_notify(&vq), "event idx: no interrupt before "
	    "used_event");
	avail()[2 + QS] = 1;
	pop();
	vq_push(&vq, ch.head, 0);
	ok(!vq_should_notify(&vq), "event idx: used_event already passed");
	avail()[2 + QS] = 3;
	setd(0, BUF, 8, VRING_DESC_F_WRITE, 0);
	offer(0);
	pop();
	vq_push(&vq, ch.head, 0);
	ok(vq_should_notify(&vq), "event idx: interrupt when used_event is "
	    "crossed");
}

static void
test_copy(void)
{
	uint8_t		 buf[64];
	unsigned int	 i;

	reset(0);
	for (i = 0; i < 64; i++)
		ram[BUF + i] = i;
	setd(0, BUF, 5, VRING_DESC_F_NEXT, 1);
	setd(1, BUF + 5, 7, VRING_DESC_F_NEXT, 2);
	setd(2, BUF + 100, 10, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 3);
	setd(3, BUF + 200, 10, VRING_DESC_F_WRITE, 0);
	offer(0);
	pop();
	memset(buf, 0xee, sizeof(buf));
	ok(vq_copy_from(&ch, 3, buf, 64) == 9 && buf[0] == 3 && buf[8] == 11,
	    "copy: from readable bytes across descriptors, with an offset");
	ok(vq_copy_from(&ch, 12, buf, 4) == 0, "copy: offset past the "
	    "readable bytes");
	ok(vq_copy_to(&ch, 8, "abcdef", 6) == 6 && ram[BUF + 108] == 'a' &&
	    ram[BUF + 200] == 'c' && ram[BUF + 203] == 'f',
	    "copy: into writable bytes across descriptors");
	ok(vq_copy_to(&ch, 15, "abcdefgh", 8) == 5 && ram[BUF + 209] == 'e'
	    && ram[BUF + 210] == 0, "copy: never past the writable bytes");
}

int
main(void)
{
	if ((ram = calloc(1, MEMSZ)) == NULL)
		return (1);
	gm.base = ram;
	gm.size = gm.lowsize = MEMSZ;
	test_gmem();
	test_setup();
	test_chains();
	test_indirect();
	test_used_and_events();
	test_copy();
	printf("1..%d\n", tests_run);
	free(ram);
	return (tests_failed != 0);
}
