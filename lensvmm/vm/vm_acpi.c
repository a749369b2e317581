/*
 * ACPI tables for a hardware-reduced machine: RSDP -> XSDT -> FADT
 * (HW_REDUCED_ACPI, X_DSDT) and MADT (local APICs, one IOAPIC); the
 * DSDT has one Device per virtio-mmio region, _HID "LNRO0005", with
 * _CRS = Memory32Fixed + Interrupt, the way the Linux virtio_mmio
 * driver finds its devices through ACPI.  The AML is written by the
 * tiny encoder below.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "vm.h"
#include "vm_virtio.h"

#define ACPI_OEMID		"LENS  "
#define ACPI_OEMTABLE		"LENSVMM "
#define FADT_LEN		276
#define FADT_F_HW_REDUCED	(1U << 20)

struct abuf {
	uint8_t		*p;
	size_t		 len;
	size_t		 cap;
	int		 overflow;
};

static void
ab_put(struct abuf *b, const void *d, size_t n)
{
	if (b->overflow || n > b->cap - b->len) {
		b->overflow = 1;
		return;
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

static void
ab_u8(struct abuf *b, uint8_t v)
{
	ab_put(b, &v, 1);
}

static void
ab_u16(struct abuf *b, uint16_t v)
{
	ab_put(b, &v, 2);
}

static void
ab_u32(struct abuf *b, uint32_t v)
{
	ab_put(b, &v, 4);
}

static uint8_t
acpi_sum(const uint8_t *p, size_t n)
{
	uint8_t	 s = 0;

	while (n-- > 0)
		s += *p++;
	return (s);
}

/* The 36-byte standard header; length and checksum fixed by sdt_end. */
static size_t
sdt_begin(struct abuf *b, const char sig[4], uint8_t rev)
{
	size_t	 start = b->len;

	ab_put(b, sig, 4);
	ab_u32(b, 0);			/* length */
	ab_u8(b, rev);
	ab_u8(b, 0);			/* checksum */
	ab_put(b, ACPI_OEMID, 6);
	ab_put(b, ACPI_OEMTABLE, 8);
	ab_u32(b, 1);			/* OEM revision */
	ab_put(b, "LENS", 4);		/* creator id */
	ab_u32(b, 1);			/* creator revision */
	return (start);
}

static void
sdt_end(struct abuf *b, size_t start)
{
	uint32_t	 len;

	if (b->overflow)
		return;
	len = b->len - start;
	memcpy(b->p + start + 4, &len, 4);
	b->p[start + 9] = 0;
	b->p[start + 9] = -acpi_sum(b->p + start, len);
}

static void
ab_align(struct abuf *b, size_t a)
{
	while (!b->overflow && b->len % a != 0)
		ab_u8(b, 0);
}

/*
 * AML: an object with a PkgLength is built in a scratch buffer first;
 * aml_pkg() then writes opcode, PkgLength (which counts itself) and body.
 */
static void
aml_pkg(struct abuf *b, const uint8_t *op, size_t oplen, const uint8_t *body,
    size_t blen)
{
	size_t	 total;

	ab_put(b, op, oplen);
	if (blen + 1 < 0x40) {
		ab_u8(b, blen + 1);
	} else if (blen + 2 < 0x1000) {
		total = blen + 2;
		ab_u8(b, 0x40 | (total & 0xf));
		ab_u8(b, total >> 4);
	} else {
		total = blen + 3;
		ab_u8(b, 0x80 | (total & 0xf));
		ab_u8(b, (total >> 4) & 0xff);
		ab_u8(b, total >> 12);
	}
	ab_put(b, body, blen);
}

static void
aml_name_string(struct abuf *b, const char seg[4], const char *str)
{
	ab_u8(b, 0x08);			/* NameOp */
	ab_put(b, seg, 4);
	ab_u8(b, 0x0d);			/* StringPrefix */
	ab_put(b, str, strlen(str) + 1);
}

static void
aml_name_int(struct abuf *b, const char seg[4], uint32_t v)
{
	ab_u8(b, 0x08);
	ab_put(b, seg, 4);
	ab_u8(b, 0x0c);			/* DWordPrefix */
	ab_u32(b, v);
}

/* Device (VRnn) for one virtio-mmio window. */
static void
aml_virtio_dev(struct abuf *b, unsigned int idx, uint64_t base, uint32_t gsi)
{
	uint8_t		 dbuf[256], rbuf[64], bbuf[80];
	struct abuf	 d = { dbuf, 0, sizeof(dbuf), 0 };
	struct abuf	 r = { rbuf, 0, sizeof(rbuf), 0 };
	struct abuf	 bb = { bbuf, 0, sizeof(bbuf), 0 };
	static const uint8_t deviceop[2] = { 0x5b, 0x82 };
	static const uint8_t bufferop[1] = { 0x11 };
	char		 seg[5];

	/* resource template */
	ab_u8(&r, 0x86);		/* Memory32Fixed */
	ab_u16(&r, 9);
	ab_u8(&r, 1);			/* read-write */
	ab_u32(&r, base);
	ab_u32(&r, VM_MMIO_SIZE);
	ab_u8(&r, 0x89);		/* Extended Interrupt */
	ab_u16(&r, 6);
	ab_u8(&r, 0x03);		/* consumer, edge, active high, excl */
	ab_u8(&r, 1);
	ab_u32(&r, gsi);
	ab_u8(&r, 0x79);		/* End Tag */
	ab_u8(&r, 0);
	/* Buffer (size) { template } */
	ab_u8(&bb, 0x0a);		/* BytePrefix: buffer size */
	ab_u8(&bb, r.len);
	ab_put(&bb, rbuf, r.len);

	snprintf(seg, sizeof(seg), "VR%02X", idx & 0xff);
	ab_put(&d, seg, 4);
	aml_name_string(&d, "_HID", "LNRO0005");
	aml_name_int(&d, "_UID", idx);
	ab_u8(&d, 0x08);		/* Name (_CRS, Buffer ...) */
	ab_put(&d, "_CRS", 4);
	aml_pkg(&d, bufferop, 1, bbuf, bb.len);
	if (d.overflow || r.overflow || bb.overflow) {
		b->overflow = 1;
		return;
	}
	aml_pkg(b, deviceop, 2, dbuf, d.len);
}

/*
 * Build the tables into buf (guest physical gpa); *rsdp gets the RSDP's
 * address.
 */
int
vm_acpi_build(struct vm *vm, uint8_t *buf, size_t cap, uint64_t gpa,
    uint64_t *rsdp)
{
	struct abuf	 b = { buf, 0, cap, 0 };
	uint8_t		 sb[4096];
	struct abuf	 s = { sb, 0, sizeof(sb), 0 };
	static const uint8_t scopeop[1] = { 0x10 };
	size_t		 xsdt, fadt, madt, dsdt, t;
	unsigned int	 i;
	uint64_t	 v;

	memset(buf, 0, cap);
	/* RSDP first (36 bytes), fixed up at the end */
	b.len = 36;
	ab_align(&b, 16);

	dsdt = b.len;
	t = sdt_begin(&b, "DSDT", 2);
	ab_put(&s, "\\_SB_", 5);
	for (i = 0; i < vm->ndev; i++)
		aml_virtio_dev(&s, i, vm->dev[i]->base, vm->dev[i]->gsi);
	if (s.overflow) {
		log_warnx("vm: DSDT does not fit in %zu bytes", sizeof(sb));
		return (-1);
	}
	aml_pkg(&b, scopeop, 1, sb, s.len);
	sdt_end(&b, t);
	ab_align(&b, 16);

	fadt = b.len;
	t = sdt_begin(&b, "FACP", 6);
	while (!b.overflow && b.len < t + FADT_LEN)
		ab_u8(&b, 0);
	if (!b.overflow) {
		uint32_t flags = FADT_F_HW_REDUCED;
		uint32_t d32 = gpa + dsdt;

		memcpy(buf + t + 40, &d32, 4);		/* DSDT */
		memcpy(buf + t + 112, &flags, 4);	/* Flags */
		buf[t + 131] = 5;			/* FADT minor version */
		v = gpa + dsdt;
		memcpy(buf + t + 140, &v, 8);		/* X_DSDT */
		memcpy(buf + t + 268, "LENSVMM ", 8);	/* hypervisor id */
	}
	sdt_end(&b, t);
	ab_align(&b, 16);

	madt = b.len;
	t = sdt_begin(&b, "APIC", 4);
	ab_u32(&b, VM_LAPIC_ADDR);
	ab_u32(&b, 0);			/* no PC-AT 8259s */
	for (i = 0; i < vm->ncpus; i++) {
		ab_u8(&b, 0);		/* Processor Local APIC */
		ab_u8(&b, 8);
		ab_u8(&b, i);		/* processor uid */
		ab_u8(&b, i);		/* APIC id */
		ab_u32(&b, 1);		/* enabled */
	}
	ab_u8(&b, 1);			/* I/O APIC */
	ab_u8(&b, 12);
	ab_u8(&b, vm->ncpus);		/* IOAPIC id after the CPUs */
	ab_u8(&b, 0);
	ab_u32(&b, VM_IOAPIC_ADDR);
	ab_u32(&b, 0);			/* GSI base */
	sdt_end(&b, t);
	ab_align(&b, 16);

	xsdt = b.len;
	t = sdt_begin(&b, "XSDT", 1);
	v = gpa + fadt;
	ab_put(&b, &v, 8);
	v = gpa + madt;
	ab_put(&b, &v, 8);
	sdt_end(&b, t);
	if (b.overflow) {
		log_warnx("vm: ACPI tables do not fit in %zu bytes", cap);
		return (-1);
	}

	memcpy(buf, "RSD PTR ", 8);
	memcpy(buf + 9, ACPI_OEMID, 6);
	buf[15] = 2;				/* revision */
	{
		uint32_t len = 36;

		memcpy(buf + 20, &len, 4);
	}
	v = gpa + xsdt;
	memcpy(buf + 24, &v, 8);
	buf[8] = -acpi_sum(buf, 20);
	buf[32] = -acpi_sum(buf, 36);
	*rsdp = gpa;
	return (0);
}
