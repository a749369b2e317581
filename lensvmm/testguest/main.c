/*
 * The test cases.  The VMM passes "case=NAME" in struct testinfo; the
 * guest runs that case, reports TAP lines on the UART and ends with an
 * i8042 reset.  Cases:
 *	basic		uart, device discovery, feature negotiation, blk
 *			read/write/flush/get-id (vda read-only, vdb
 *			writable), indirect descriptors, rng, console
 *			multiport handshake and echo on port 1, net ARP
 *			through the tap, interrupts and EVENT_IDX
 *	loop oob hole hugelen wrap nextoob availidx headoob qsize ringoob
 *	indirect rowrite blkbad garbage
 *			hostile drivers: the VMM must mark the device
 *			NEEDS_RESET (or fail the request) and keep running;
 *			the device must work again after a reset
 *	bench n=N	N MMIO reads of a virtio register and N port reads
 *			of the uart, each a round trip to the VMM (make bench)
 * Network addresses: guest 198.18.0.2, host side of the tap 198.18.0.1.
 */
#include "tg.h"

#define BLK_IN		0
#define BLK_OUT		1
#define BLK_FLUSH	4
#define BLK_GET_ID	8
#define BLK_F_RO	(1ULL << 5)
#define NET_F_MAC	(1ULL << 5)
#define CONS_F_MULTIPORT (1ULL << 1)

struct blk_hdr {
	uint32_t	type;
	uint32_t	reserved;
	uint64_t	sector;
};

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t guest_ip[4] = { 198, 18, 0, 2 };
static const uint8_t host_ip[4] = { 198, 18, 0, 1 };

static int
streq(const char *a, const char *b)
{
	while (*a != '\0' && *a == *b) {
		a++;
		b++;
	}
	return (*a == *b);
}

/* The value of key=... in the test command line, copied to buf. */
static int
cmdline_get(const char *key, char *buf, size_t len)
{
	const char	*p = ti->cmdline;
	size_t		 klen = strlen(key), n;

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if (memcmp(p, key, klen) == 0 && p[klen] == '=') {
			p += klen + 1;
			for (n = 0; n + 1 < len && p[n] != '\0' && p[n] != ' ';
			    n++)
				buf[n] = p[n];
			buf[n] = '\0';
			return (0);
		}
		while (*p != '\0' && *p != ' ')
			p++;
	}
	return (-1);
}

/* Bring a device up with its queues; 0 when it reached DRIVER_OK. */
static int
dev_up(struct gdev *d, uint64_t want, unsigned int nq)
{
	unsigned int	 q;

	if (gdev_init(d, want | F_VERSION_1) == -1)
		return (-1);
	for (q = 0; q < nq; q++)
		if (gdev_queue(d, q, TG_QSIZE) == -1)
			return (-1);
	return (gdev_ready(d));
}

static void
set_desc(struct gq *q, uint16_t i, void *addr, uint32_t len, uint16_t flags,
    uint16_t next)
{
	q->desc[i].addr = (uint64_t)addr;
	q->desc[i].len = len;
	q->desc[i].flags = flags;
	q->desc[i].next = next;
}

/* One block request through descriptors 0..2; returns the status byte
 * or -1 when it did not complete. */
static int
blk_req(struct gdev *d, uint32_t type, uint64_t sector, void *buf,
    uint32_t len, uint32_t *usedlen)
{
	struct gq	*q = &d->q[0];
	struct blk_hdr	*h = palloc(4096);
	uint8_t		*st = (uint8_t *)h + 512;
	uint32_t	 ul;
	int		 id;

	h->type = type;
	h->sector = sector;
	*st = 0xee;
	if (len > 0) {
		set_desc(q, 0, h, sizeof(*h), D_NEXT, 1);
		set_desc(q, 1, buf, len, D_NEXT |
		    (type == BLK_IN || type == BLK_GET_ID ? D_WRITE : 0), 2);
		set_desc(q, 2, st, 1, D_WRITE, 0);
	} else {
		set_desc(q, 0, h, sizeof(*h), D_NEXT, 2);
		set_desc(q, 2, st, 1, D_WRITE, 0);
	}
	gq_submit(d, 0, 0);
	if ((id = gq_wait(d, 0, &ul)) != 0)
		return (-1);
	if (usedlen != NULL)
		*usedlen = ul;
	return (*st);
}

static int
vda_pattern_ok(const uint8_t *p, uint64_t sector, unsigned int nsec)
{
	unsigned int	 s, j;

	for (s = 0; s < nsec; s++)
		for (j = 0; j < 512; j++)
			if (p[s * 512 + j] != (uint8_t)((sector + s) * 7 + j))
				return (0);
	return (1);
}

static uint64_t
blk_capacity(struct gdev *d)
{
	return ((uint64_t)rd32(d, 0x100) | (uint64_t)rd32(d, 0x104) << 32);
}

static void
test_uart(void)
{
	uint8_t	 v;

	outb(0x3ff, 0xa5);
	ok(inb(0x3ff) == 0xa5, "uart: scratch register keeps a value");
	ok((inb(0x3fd) & 0x60) == 0x60, "uart: LSR says THR empty");
	outb(0x3fb, 0x83);		/* DLAB, 8N1 */
	outb(0x3f8, 0x01);
	outb(0x3f9, 0x00);
	v = inb(0x3f8);
	outb(0x3fb, 0x03);
	ok(v == 0x01, "uart: DLAB divisor latch reads back (%x)", v);
	outb(0x3fc, 0x10 | 0x08);	/* loopback */
	outb(0x3f8, 'Q');
	v = (inb(0x3fd) & 1) && inb(0x3f8) == 'Q';
	outb(0x3fc, 0x08);
	ok(v, "uart: loopback byte arrives in RBR");
	ok((inb(0x3fa) & 0x0f) == 0x01, "uart: IIR says no interrupt "
	    "pending with IER 0");
}

/* Input the host gave the uart (vmrun -I): IRQ 4, then RBR. */
static void
test_uart_input(void)
{
	static const char want[] = "lens uart input\n";
	char		 got[sizeof(want)];
	uint32_t	 i, before, n = 0;

	irq_setup();
	irq_route(4);
	before = irq_count(4);
	outb(0x3f9, 0x01);		/* IER: received data available */
	for (i = 0; i < 40000000 && irq_count(4) == before; i++)
		__asm__ volatile("pause");
	__asm__ volatile("cli");
	ok(irq_count(4) > before, "uart: receive interrupt on IRQ 4 through "
	    "KVM_IRQ_LINE and the IOAPIC");
	for (i = 0; i < 4000000 && n < sizeof(want) - 1; i++)
		if (inb(0x3fd) & 1)
			got[n++] = inb(0x3f8);
	got[n] = '\0';
	outb(0x3f9, 0x00);
	ok(n == sizeof(want) - 1 && memcmp(got, want, n) == 0,
	    "uart: %u input bytes from the host read through RBR", n);
	ok(!(inb(0x3fd) & 1) && (inb(0x3fa) & 0x0f) == 0x01,
	    "uart: no data and no interrupt pending once drained");
}

static void
test_discovery(void)
{
	struct gdev	 d;
	uint32_t	 i;
	int		 good = 1;

	ok(ti->magic == TESTINFO_MAGIC, "testinfo magic from the VMM");
	for (i = 0; i < ti->ndevs && i < TESTINFO_MAXDEVS; i++) {
		d.base = (volatile uint8_t *)ti->dev[i].base;
		if (rd32(&d, 0) != 0x74726976 || rd32(&d, 4) != 2 ||
		    rd32(&d, 8) != ti->dev[i].type) {
			diag("device %u at %lx: magic %x version %u id %u", i,
			    ti->dev[i].base, rd32(&d, 0), rd32(&d, 4),
			    rd32(&d, 8));
			good = 0;
		}
	}
	ok(good && ti->ndevs >= 4, "%u virtio-mmio devices: magic, version "
	    "2, device ids", ti->ndevs);
}

static void
test_features(void)
{
	struct gdev	 d;

	if (gdev_find(&d, 4, 0) == -1) {
		ok(0, "features: no rng device");
		return;
	}
	ok(gdev_init(&d, 0) == -1, "features: FEATURES_OK refused without "
	    "VERSION_1");
	ok(gdev_init(&d, F_VERSION_1 | F_EVENT_IDX | F_INDIRECT) == 0 &&
	    (d.offered & F_EVENT_IDX) && (d.offered & F_INDIRECT),
	    "features: VERSION_1 accepted, EVENT_IDX and INDIRECT offered");
	ok(gdev_init(&d, F_VERSION_1 | (1ULL << 40)) == -1 ||
	    !(d.features & (1ULL << 40)),
	    "features: a feature that was not offered is not accepted");
	wr32(&d, 0x70, 0);
	ok(rd32(&d, 0x70) == 0, "features: status 0 resets the device");
}

static void
test_blk(void)
{
	struct gdev	 a, b;
	uint8_t		*buf = palloc(8192), *rb = palloc(8192);
	uint64_t	 cap;
	uint32_t	 ul, i;
	int		 st;
	struct gq	*q;
	struct vring_desc *ind;
	struct blk_hdr	*h;
	uint8_t		*stp;

	if (gdev_find(&a, 2, 0) == -1 || gdev_find(&b, 2, 1) == -1) {
		ok(0, "blk: two disks expected");
		return;
	}
	ok(dev_up(&a, BLK_F_RO | F_INDIRECT, 1) == 0, "blk vda: driver ok");
	ok((a.offered & BLK_F_RO) && (a.flags & TESTDEV_RO),
	    "blk vda: VIRTIO_BLK_F_RO offered");
	cap = blk_capacity(&a);
	ok(cap >= 16, "blk vda: capacity %lu sectors", cap);
	st = blk_req(&a, BLK_IN, 3, buf, 4096, &ul);
	ok(st == 0 && ul == 4097 && vda_pattern_ok(buf, 3, 8),
	    "blk vda: read 8 sectors at 3 matches the backing file "
	    "(status %d, used %u)", st, ul);
	st = blk_req(&a, BLK_IN, cap - 1, buf, 1024, NULL);
	ok(st == 1, "blk vda: read across the end fails with IOERR (%d)",
	    st);
	st = blk_req(&a, BLK_OUT, 0, buf, 512, NULL);
	ok(st == 1, "blk vda: write to the read-only disk fails with "
	    "IOERR (%d)", st);
	memset(buf, 0, 64);
	st = blk_req(&a, BLK_GET_ID, 0, buf, 20, NULL);
	ok(st == 0 && memcmp(buf, "lens-vd", 7) == 0,
	    "blk vda: GET_ID returns \"%s\"", buf);

	ok(dev_up(&b, F_INDIRECT, 1) == 0 && !(b.offered & BLK_F_RO),
	    "blk vdb: driver ok, writable");
	for (i = 0; i < 4; i++) {
		memset(buf + 512 * i, 'x', 512);
		memcpy(buf + 512 * i, "lens vdb sector ", 16);
		buf[512 * i + 16] = '2' + i;
		buf[512 * i + 17] = '\n';
	}
	st = blk_req(&b, BLK_OUT, 2, buf, 2048, NULL);
	ok(st == 0, "blk vdb: write 4 sectors at 2 (%d)", st);
	st = blk_req(&b, BLK_FLUSH, 0, NULL, 0, NULL);
	ok(st == 0, "blk vdb: flush (%d)", st);
	memset(rb, 0, 2048);
	st = blk_req(&b, BLK_IN, 2, rb, 2048, NULL);
	ok(st == 0 && memcmp(buf, rb, 2048) == 0,
	    "blk vdb: read back what was written");
	st = blk_req(&b, 99, 0, rb, 512, NULL);
	ok(st == 2, "blk vdb: unknown request type gets UNSUPP (%d)", st);

	/* the same read through an indirect table */
	q = &a.q[0];
	ind = palloc(4096);
	h = palloc(4096);
	stp = (uint8_t *)h + 64;
	h->type = BLK_IN;
	h->sector = 5;
	*stp = 0xee;
	memset(rb, 0, 1024);
	ind[0].addr = (uint64_t)h; ind[0].len = 16;
	ind[0].flags = D_NEXT; ind[0].next = 1;
	ind[1].addr = (uint64_t)rb; ind[1].len = 512;
	ind[1].flags = D_NEXT | D_WRITE; ind[1].next = 2;
	ind[2].addr = (uint64_t)rb + 512; ind[2].len = 512;
	ind[2].flags = D_NEXT | D_WRITE; ind[2].next = 3;
	ind[3].addr = (uint64_t)stp; ind[3].len = 1;
	ind[3].flags = D_WRITE; ind[3].next = 0;
	set_desc(q, 5, ind, 4 * 16, D_INDIRECT, 0);
	gq_submit(&a, 0, 5);
	ok(gq_wait(&a, 0, &ul) == 5 && *stp == 0 &&
	    vda_pattern_ok(rb, 5, 2), "blk vda: read through an indirect "
	    "descriptor table");
}

static int
rng_req(struct gdev *d, uint8_t *buf, uint32_t len)
{
	uint32_t	 ul;

	set_desc(&d->q[0], 0, buf, len, D_WRITE, 0);
	gq_submit(d, 0, 0);
	if (gq_wait(d, 0, &ul) != 0)
		return (-1);
	return (ul);
}

static void
test_rng_irq(void)
{
	struct gdev	 d;
	uint8_t		*a = palloc(4096), *b = a + 1024;
	uint32_t	 before, i, zeros = 0;
	struct gq	*q;
	int		 n;

	if (gdev_find(&d, 4, 0) == -1 || dev_up(&d, F_EVENT_IDX, 1) == -1) {
		ok(0, "rng: device up");
		return;
	}
	irq_setup();
	irq_route(d.gsi);
	before = irq_count(d.gsi);
	n = rng_req(&d, a, 64);
	for (i = 0; i < 64; i++)
		zeros += a[i] == 0;
	ok(n == 64 && zeros < 16, "rng: 64 random bytes (%d, %u zeros)", n,
	    zeros);
	ok(rng_req(&d, b, 64) == 64 && memcmp(a, b, 64) != 0,
	    "rng: a second request returns different bytes");
	for (i = 0; i < 40000000 && irq_count(d.gsi) < before + 2; i++)
		__asm__ volatile("pause");
	ok(irq_count(d.gsi) >= before + 1, "irq: used-buffer interrupt on "
	    "GSI %u through irqfd and the IOAPIC (%u)", d.gsi,
	    irq_count(d.gsi) - before);
	ok(rd32(&d, 0x60) & 1, "irq: InterruptStatus has the used bit");
	wr32(&d, 0x64, rd32(&d, 0x60));
	ok(rd32(&d, 0x60) == 0, "irq: InterruptACK clears it");

	/* EVENT_IDX: used_event ahead of us, so no interrupt expected */
	q = &d.q[0];
	before = irq_count(d.gsi);
	set_desc(q, 0, a, 32, D_WRITE, 0);
	q->avail[2 + (q->avail_idx % q->size)] = 0;
	q->avail[2 + q->size] = q->last_used + 5;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	q->avail_idx++;
	q->avail[1] = q->avail_idx;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	wr32(&d, 0x50, 0);
	n = gq_wait(&d, 0, NULL);
	for (i = 0; i < 2000000; i++)
		__asm__ volatile("pause");
	ok(n == 0 && irq_count(d.gsi) == before, "event idx: no interrupt "
	    "while used_event is ahead (%u)", irq_count(d.gsi) - before);
	n = rng_req(&d, a, 16);
	for (i = 0; i < 40000000 && irq_count(d.gsi) == before; i++)
		__asm__ volatile("pause");
	ok(n == 16 && irq_count(d.gsi) > before, "event idx: interrupt once "
	    "used_event is reached");
	__asm__ volatile("cli");
}

struct cctl {
	uint32_t	id;
	uint16_t	event;
	uint16_t	value;
};

static uint8_t	*crx_buf;

static void
cons_post_crx(struct gdev *d, uint16_t i)
{
	set_desc(&d->q[2], i, crx_buf + 64 * i, 64, D_WRITE, 0);
	gq_submit(d, 2, i);
}

static int
cons_send(struct gdev *d, unsigned int qn, const void *msg, uint32_t len)
{
	uint8_t		*p = palloc(len);

	memcpy(p, msg, len);
	set_desc(&d->q[qn], 0, p, len, 0, 0);
	gq_submit(d, qn, 0);
	return (gq_wait(d, qn, NULL));
}

static void
test_console(void)
{
	struct gdev	 d;
	struct cctl	 m, *r;
	uint32_t	 id, len, i, seen = 0;
	uint8_t		*rx;
	char		 name[32];
	static const char ping[] = "lens.control echo 0123456789";
	static const char hello[] = "hvc0: hello from the test guest\n";

	if (gdev_find(&d, 3, 0) == -1 ||
	    dev_up(&d, CONS_F_MULTIPORT, 6) == -1 ||
	    !(d.features & CONS_F_MULTIPORT)) {
		ok(0, "console: device up with MULTIPORT");
		return;
	}
	ok(rd32(&d, 0x104) == 2, "console: max_nr_ports %u",
	    rd32(&d, 0x104));
	crx_buf = palloc(4096);
	for (i = 0; i < 8; i++)
		cons_post_crx(&d, i);
	m.id = 0; m.event = 0; m.value = 1;		/* DEVICE_READY */
	cons_send(&d, 3, &m, 8);
	name[0] = '\0';
	/* bits: 1,2 DEVICE_ADD 0,1; 4 CONSOLE_PORT; 8 NAME; 16,32 OPEN */
	for (i = 0; i < 2000000 && seen != 63; i++) {
		if (!gq_poll(&d, 2, &id, &len)) {
			__asm__ volatile("pause");
			continue;
		}
		r = (struct cctl *)(crx_buf + 64 * id);
		if (r->event == 1 && r->id < 2) {
			seen |= 1 << r->id;
			m.id = r->id; m.event = 3; m.value = 1;
			cons_send(&d, 3, &m, 8);	/* PORT_READY */
		} else if (r->event == 4 && r->id == 0)
			seen |= 4;
		else if (r->event == 7 && r->id == 1 && len > 8 &&
		    len - 8 < sizeof(name)) {
			memcpy(name, (uint8_t *)r + 8, len - 8);
			name[len - 8] = '\0';
			seen |= 8;
		} else if (r->event == 6 && r->id < 2 && r->value == 1)
			seen |= 16 << r->id;
		cons_post_crx(&d, id);
	}
	ok((seen & 3) == 3, "console: DEVICE_ADD for ports 0 and 1");
	ok(seen & 4, "console: port 0 is the console port");
	ok((seen & 8) && streq(name, "lens.control"),
	    "console: port 1 is named \"%s\"", name);
	ok((seen & 48) == 48, "console: host opened both ports");
	m.id = 1; m.event = 6; m.value = 1;		/* PORT_OPEN */
	cons_send(&d, 3, &m, 8);
	m.id = 0;
	cons_send(&d, 3, &m, 8);

	ok(cons_send(&d, 1, hello, sizeof(hello) - 1) == 0,
	    "console: wrote a line to hvc0 (the host checks the log)");

	rx = palloc(4096);
	set_desc(&d.q[4], 0, rx, 4096, D_WRITE, 0);
	gq_submit(&d, 4, 0);
	cons_send(&d, 5, ping, sizeof(ping) - 1);
	len = 0;
	id = gq_wait(&d, 4, &len);
	ok(id == 0 && len == sizeof(ping) - 1 &&
	    memcmp(rx, ping, len) == 0, "console: port 1 echo came back "
	    "(%u bytes)", len);
}

static uint16_t
be16(const uint8_t *p)
{
	return ((uint16_t)(p[0] << 8 | p[1]));
}

static void
test_net(void)
{
	struct gdev	 d;
	uint8_t		*tx, *rx, mac[6];
	uint32_t	 i, id, len, frames = 0;
	int		 got = 0;
	const uint8_t	*e;

	if (gdev_find(&d, 1, 0) == -1) {
		ok(1, "# SKIP net: no tap given to the VMM");
		return;
	}
	ok(dev_up(&d, NET_F_MAC, 2) == 0, "net: driver ok");
	for (i = 0; i < 6; i++)
		mac[i] = *(volatile uint8_t *)(d.base + 0x100 + i);
	ok(memcmp(mac, guest_mac, 6) == 0, "net: MAC from config space "
	    "%x:%x:%x:%x:%x:%x", mac[0], mac[1], mac[2], mac[3], mac[4],
	    mac[5]);
	rx = palloc(8 * 2048);
	for (i = 0; i < 8; i++) {
		set_desc(&d.q[0], i, rx + 2048 * i, 2048, D_WRITE, 0);
		gq_submit(&d, 0, i);
	}
	tx = palloc(4096);
	memset(tx, 0, 12 + 42);
	e = tx + 12;
	memset(tx + 12, 0xff, 6);			/* broadcast */
	memcpy(tx + 18, guest_mac, 6);
	tx[24] = 0x08; tx[25] = 0x06;			/* ARP */
	tx[26] = 0; tx[27] = 1; tx[28] = 0x08; tx[29] = 0;
	tx[30] = 6; tx[31] = 4; tx[32] = 0; tx[33] = 1;	/* request */
	memcpy(tx + 34, guest_mac, 6);
	memcpy(tx + 40, guest_ip, 4);
	memcpy(tx + 50, host_ip, 4);
	set_desc(&d.q[1], 0, tx, 12 + 42, 0, 0);
	gq_submit(&d, 1, 0);
	ok(gq_wait(&d, 1, NULL) == 0, "net: ARP request sent");
	for (i = 0; i < 40000000 && !got; i++) {
		if (!gq_poll(&d, 0, &id, &len)) {
			__asm__ volatile("pause");
			continue;
		}
		frames++;
		e = rx + 2048 * id + 12;
		if (len >= 12 + 42 && be16(e + 12) == 0x0806 &&
		    be16(e + 20) == 2 && memcmp(e + 28, host_ip, 4) == 0 &&
		    memcmp(e + 32, guest_mac, 6) == 0)
			got = 1;
		set_desc(&d.q[0], id, rx + 2048 * id, 2048, D_WRITE, 0);
		gq_submit(&d, 0, id);
	}
	ok(got, "net: ARP reply from the host side of the tap (%u frames "
	    "seen)", frames);
}

/* ---- hostile drivers ---- */

static int
rng_up(struct gdev *d)
{
	return (gdev_find(d, 4, 0) == -1 || dev_up(d, F_INDIRECT, 1) == -1 ?
	    -1 : 0);
}

/* Submit head 0 of a bad chain on rng and expect NEEDS_RESET. */
static void
expect_reset(struct gdev *d, const char *what)
{
	int	 r;

	gq_submit(d, 0, 0);
	r = gdev_wait_status(d, ST_NEEDS_RESET);
	ok(r == 0, "%s: device says NEEDS_RESET", what);
	ok(d->q[0].used[1] == 0, "%s: nothing was completed", what);
}

static void
expect_recovers(const char *what)
{
	struct gdev	 d;
	uint8_t		*b = palloc(4096);

	ok(rng_up(&d) == 0 && rng_req(&d, b, 32) == 32,
	    "%s: device works again after a reset", what);
}

static void
hostile_chain(const char *name)
{
	struct gdev	 d;
	struct gq	*q;
	uint8_t		*buf = palloc(4096);
	struct vring_desc *ind = palloc(4096);

	if (rng_up(&d) == -1) {
		ok(0, "%s: rng up", name);
		return;
	}
	q = &d.q[0];
	if (streq(name, "loop")) {
		set_desc(q, 0, buf, 64, D_WRITE | D_NEXT, 1);
		set_desc(q, 1, buf + 64, 64, D_WRITE | D_NEXT, 0);
	} else if (streq(name, "oob"))
		set_desc(q, 0, (void *)(ti->memsize + 4096), 64, D_WRITE, 0);
	else if (streq(name, "hole"))
		set_desc(q, 0, (void *)0xd0000000UL, 64, D_WRITE, 0);
	else if (streq(name, "hugelen"))
		set_desc(q, 0, buf, 0xffffffffU, D_WRITE, 0);
	else if (streq(name, "wrap"))
		set_desc(q, 0, (void *)0xfffffffffffff000UL, 0x2000, D_WRITE,
		    0);
	else if (streq(name, "nextoob"))
		set_desc(q, 0, buf, 64, D_WRITE | D_NEXT, 200);
	else if (streq(name, "availidx")) {
		q->avail[1] = 100;		/* 100 entries, queue of 16 */
		q->avail_idx = 99;
		set_desc(q, 0, buf, 64, D_WRITE, 0);
	} else if (streq(name, "headoob")) {
		q->avail[2] = 500;
		q->avail[1] = 1;
		q->avail_idx = 0;
		wr32(&d, 0x50, 0);
		ok(gdev_wait_status(&d, ST_NEEDS_RESET) == 0,
		    "%s: device says NEEDS_RESET", name);
		ok(q->used[1] == 0, "%s: nothing was completed", name);
		expect_recovers(name);
		return;
	}
	expect_reset(&d, name);
	ok(rng_req(&d, buf, 16) == -1, "%s: a good request is ignored "
	    "until the reset", name);
	expect_recovers(name);
	(void)ind;
}

static void
hostile_indirect(void)
{
	struct gdev	 d;
	struct gq	*q;
	uint8_t		*buf = palloc(4096);
	struct vring_desc *ind = palloc(4096);
	uint32_t	 ul;

	/* length not a multiple of 16 */
	rng_up(&d);
	q = &d.q[0];
	ind[0].addr = (uint64_t)buf; ind[0].len = 64; ind[0].flags = D_WRITE;
	set_desc(q, 0, ind, 15, D_INDIRECT, 0);
	expect_reset(&d, "indirect length 15");
	/* nested */
	rng_up(&d);
	q = &d.q[0];
	ind[0].addr = (uint64_t)(ind + 8); ind[0].len = 16;
	ind[0].flags = D_INDIRECT;
	set_desc(q, 0, ind, 16, D_INDIRECT, 0);
	expect_reset(&d, "nested indirect");
	/* loop inside the table */
	rng_up(&d);
	q = &d.q[0];
	ind[0].addr = (uint64_t)buf; ind[0].len = 8;
	ind[0].flags = D_WRITE | D_NEXT; ind[0].next = 1;
	ind[1].addr = (uint64_t)buf; ind[1].len = 8;
	ind[1].flags = D_WRITE | D_NEXT; ind[1].next = 0;
	set_desc(q, 0, ind, 32, D_INDIRECT, 0);
	expect_reset(&d, "indirect loop");
	/* table outside memory */
	rng_up(&d);
	q = &d.q[0];
	set_desc(q, 0, (void *)(ti->memsize - 16), 64, D_INDIRECT, 0);
	expect_reset(&d, "indirect table past the end of memory");
	/* and a good one */
	rng_up(&d);
	q = &d.q[0];
	ind[0].addr = (uint64_t)buf; ind[0].len = 8;
	ind[0].flags = D_WRITE | D_NEXT; ind[0].next = 1;
	ind[1].addr = (uint64_t)buf + 8; ind[1].len = 8;
	ind[1].flags = D_WRITE; ind[1].next = 0;
	set_desc(q, 0, ind, 32, D_INDIRECT, 0);
	gq_submit(&d, 0, 0);
	ok(gq_wait(&d, 0, &ul) == 0 && ul == 16, "indirect: a valid table "
	    "works after the resets (%u bytes)", ul);
}

static void
hostile_qsize(void)
{
	struct gdev	 d;
	uint32_t	 max;

	gdev_find(&d, 4, 0);
	gdev_init(&d, F_VERSION_1);
	wr32(&d, 0x30, 0);
	max = rd32(&d, 0x34);
	wr32(&d, 0x38, 3);
	wr32(&d, 0x44, 1);
	ok(rd32(&d, 0x44) == 0 && (rd32(&d, 0x70) & ST_NEEDS_RESET),
	    "qsize: QueueNum 3 refused, NEEDS_RESET");
	gdev_init(&d, F_VERSION_1);
	wr32(&d, 0x30, 0);
	wr32(&d, 0x38, max * 2);
	wr32(&d, 0x44, 1);
	ok(rd32(&d, 0x44) == 0 && (rd32(&d, 0x70) & ST_NEEDS_RESET),
	    "qsize: QueueNum %u above QueueNumMax %u refused", max * 2, max);
	gdev_init(&d, F_VERSION_1);
	wr32(&d, 0x30, 0);
	wr32(&d, 0x38, 0);
	wr32(&d, 0x44, 1);
	ok(rd32(&d, 0x44) == 0 && (rd32(&d, 0x70) & ST_NEEDS_RESET),
	    "qsize: QueueNum 0 refused");
	wr32(&d, 0x70, 0);
	wr32(&d, 0x30, 7);		/* a queue that does not exist */
	ok(rd32(&d, 0x34) == 0, "qsize: QueueNumMax 0 for queue 7");
	expect_recovers("qsize");
}

static void
hostile_ringoob(void)
{
	struct gdev	 d;

	gdev_find(&d, 4, 0);
	gdev_init(&d, F_VERSION_1);
	wr32(&d, 0x30, 0);
	wr32(&d, 0x38, 16);
	wr32(&d, 0x80, 0xd0000000);	/* descriptors in the MMIO hole */
	wr32(&d, 0x84, 0);
	wr32(&d, 0x90, 0x200000);
	wr32(&d, 0xa0, 0x201000);
	wr32(&d, 0x44, 1);
	ok(rd32(&d, 0x44) == 0 && (rd32(&d, 0x70) & ST_NEEDS_RESET),
	    "ringoob: descriptor table in the MMIO hole refused");
	gdev_init(&d, F_VERSION_1);
	wr32(&d, 0x30, 0);
	wr32(&d, 0x38, 16);
	wr32(&d, 0x80, 0x200000);
	wr32(&d, 0x90, 0x200100);
	wr32(&d, 0xa0, (uint32_t)ti->memsize - 64);	/* used ring past end */
	wr32(&d, 0x44, 1);
	ok(rd32(&d, 0x44) == 0 && (rd32(&d, 0x70) & ST_NEEDS_RESET),
	    "ringoob: used ring past the end of memory refused");
	gdev_init(&d, F_VERSION_1);
	wr32(&d, 0x30, 0);
	wr32(&d, 0x38, 16);
	wr32(&d, 0x80, 0x200008);			/* misaligned */
	wr32(&d, 0x90, 0x200100);
	wr32(&d, 0xa0, 0x201000);
	wr32(&d, 0x44, 1);
	ok(rd32(&d, 0x44) == 0 && (rd32(&d, 0x70) & ST_NEEDS_RESET),
	    "ringoob: misaligned descriptor table refused");
	expect_recovers("ringoob");
}

static void
hostile_rowrite(void)
{
	struct gdev	 a;
	uint8_t		*buf = palloc(8192);
	int		 st, i;

	if (gdev_find(&a, 2, 0) == -1 || dev_up(&a, 0, 1) == -1) {
		ok(0, "rowrite: vda up");
		return;
	}
	memset(buf, 'W', 8192);
	for (i = 0; i < 4; i++) {
		st = blk_req(&a, BLK_OUT, i * 4, buf, 4096, NULL);
		ok(st == 1, "rowrite: write %d to the read-only disk gets "
		    "IOERR (%d)", i, st);
	}
	st = blk_req(&a, BLK_FLUSH, 0, NULL, 0, NULL);
	ok(st == 0, "rowrite: flush of the read-only disk is harmless (%d)",
	    st);
	st = blk_req(&a, BLK_IN, 0, buf, 4096, NULL);
	ok(st == 0 && vda_pattern_ok(buf, 0, 8),
	    "rowrite: the disk still reads its original bytes");
	ok(!(rd32(&a, 0x70) & ST_NEEDS_RESET), "rowrite: no reset needed");
}

static void
hostile_blkbad(void)
{
	struct gdev	 a;
	struct gq	*q;
	uint8_t		*buf = palloc(8192);
	uint64_t	 cap;
	int		 st;

	if (gdev_find(&a, 2, 1) == -1 || dev_up(&a, 0, 1) == -1) {
		ok(0, "blkbad: vdb up");
		return;
	}
	cap = blk_capacity(&a);
	st = blk_req(&a, BLK_IN, cap, buf, 512, NULL);
	ok(st == 1, "blkbad: read at sector %lu (capacity) gets IOERR (%d)",
	    cap, st);
	st = blk_req(&a, BLK_OUT, 0xffffffffffffffffULL, buf, 512, NULL);
	ok(st == 1, "blkbad: write at sector 2^64-1 gets IOERR (%d)", st);
	st = blk_req(&a, BLK_IN, 0, buf, 100, NULL);
	ok(st == 1, "blkbad: read of 100 bytes (not a sector) gets IOERR "
	    "(%d)", st);
	q = &a.q[0];
	set_desc(q, 0, buf, 8, D_NEXT, 1);	/* 8-byte header */
	set_desc(q, 1, buf + 512, 1, D_WRITE, 0);
	gq_submit(&a, 0, 0);
	ok(gdev_wait_status(&a, ST_NEEDS_RESET) == 0,
	    "blkbad: a request without a full header makes NEEDS_RESET");
	ok(dev_up(&a, 0, 1) == 0 && blk_req(&a, BLK_IN, 0, buf, 512,
	    NULL) == 0, "blkbad: vdb works again after a reset");
}

static void
hostile_garbage(void)
{
	struct gdev	 d;
	uint32_t	 n, off, v, dv;
	uint16_t	 port;
	int		 good = 1;
	volatile uint8_t *b;

	for (dv = 0; dv < ti->ndevs && dv < TESTINFO_MAXDEVS; dv++) {
		b = (volatile uint8_t *)ti->dev[dv].base;
		for (n = 0; n < 3000; n++) {
			off = tg_rand() & 0x1ff;
			v = tg_rand();
			if ((off & ~3U) == 0x70 && (v & 0xff) == 0)
				v |= 0x0f;	/* keep it a status write */
			switch (tg_rand() % 5) {
			case 0:
				b[off] = v;
				break;
			case 1:
				*(volatile uint16_t *)(b + (off & ~1U)) = v;
				break;
			case 2:
				*(volatile uint32_t *)(b + (off & ~3U)) = v;
				break;
			case 3:
				(void)*(volatile uint32_t *)(b + (off & ~3U));
				break;
			default:
				*(volatile uint64_t *)(b + (off & ~7U)) =
				    (uint64_t)v << 32 | tg_rand();
				break;
			}
		}
	}
	for (dv = 0; dv < ti->ndevs && dv < TESTINFO_MAXDEVS; dv++) {
		d.base = (volatile uint8_t *)ti->dev[dv].base;
		if (rd32(&d, 0) != 0x74726976 ||
		    rd32(&d, 8) != ti->dev[dv].type)
			good = 0;
	}
	ok(good, "garbage: 3000 random register accesses on each of %u "
	    "devices, registers still answer", ti->ndevs);
	for (n = 0; n < 2000; n++) {
		port = tg_rand() & 0x3ff;
		if (port == 0x64 || port == 0x20 || port == 0x21 ||
		    port == 0xa0 || port == 0xa1 || port == 0xcf9 ||
		    (port >= 0x3f8 && port <= 0x3ff))
			continue;
		if (tg_rand() & 1)
			outb(port, tg_rand());
		else
			(void)inb(port);
	}
	outb(0x3ff, 0x5a);
	ok(inb(0x3ff) == 0x5a, "garbage: random port I/O, the uart still "
	    "answers");
	for (dv = 0; dv < ti->ndevs && dv < TESTINFO_MAXDEVS; dv++) {
		d.base = (volatile uint8_t *)ti->dev[dv].base;
		wr32(&d, 0x70, 0);
		if (rd32(&d, 0) != 0x74726976 || rd32(&d, 0x70) != 0)
			good = 0;
	}
	ok(good, "garbage: every device resets cleanly afterwards");
	expect_recovers("garbage");
}

static void
bench(void)
{
	struct gdev	 d;
	char		 arg[16];
	uint32_t	 n = 0, i, bad = 0;
	const char	*p;

	if (cmdline_get("n", arg, sizeof(arg)) == 0)
		for (p = arg; *p >= '0' && *p <= '9'; p++)
			n = n * 10 + (*p - '0');
	if (gdev_find(&d, 4, 0) == -1) {
		ok(0, "bench: rng device");
		return;
	}
	for (i = 0; i < n; i++)
		bad += rd32(&d, 0) != 0x74726976;
	ok(bad == 0, "bench: %u MMIO reads", n);
	for (i = 0; i < n; i++)
		bad += (inb(0x3fd) & 0x60) != 0x60;
	ok(bad == 0, "bench: %u port reads", n);
}

void	tg_main(void);

void
tg_main(void)
{
	char	 tcase[32];

	tg_printf("# lens test guest, %s\n", ti->cmdline);
	if (ti->magic != TESTINFO_MAGIC) {
		tg_printf("Bail out! no testinfo from the VMM\n");
		tg_reset();
	}
	if (cmdline_get("case", tcase, sizeof(tcase)) == -1)
		memcpy(tcase, "basic", 6);
	if (streq(tcase, "basic")) {
		test_uart_input();	/* first: the input waits in the FIFO */
		test_uart();
		test_discovery();
		test_features();
		test_blk();
		test_rng_irq();
		test_console();
		test_net();
	} else if (streq(tcase, "loop") || streq(tcase, "oob") ||
	    streq(tcase, "hole") || streq(tcase, "hugelen") ||
	    streq(tcase, "wrap") || streq(tcase, "nextoob") ||
	    streq(tcase, "availidx") || streq(tcase, "headoob"))
		hostile_chain(tcase);
	else if (streq(tcase, "indirect"))
		hostile_indirect();
	else if (streq(tcase, "qsize"))
		hostile_qsize();
	else if (streq(tcase, "ringoob"))
		hostile_ringoob();
	else if (streq(tcase, "rowrite"))
		hostile_rowrite();
	else if (streq(tcase, "blkbad"))
		hostile_blkbad();
	else if (streq(tcase, "garbage"))
		hostile_garbage();
	else if (streq(tcase, "bench"))
		bench();
	else
		ok(0, "unknown test case \"%s\"", tcase);
	tg_finish();
}
