/*
 * Unit test of the microVM's guest loading (lensvmm/vm/vm_boot.c) and
 * ACPI tables (lensvmm/vm/vm_acpi.c) on a plain memory buffer, no KVM:
 * bzImage setup-header checks, the zero page (command line, e820,
 * initramfs, RSDP address), ELF vmlinux program-header bounds, the test
 * guest loader, and the tables' checksums, pointers and AML.  TAP.
 */
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "../../lensvmm/vm/vm.h"
#include "../../lensvmm/vm/vm_virtio.h"
#include "tap.h"

#define MEM	(64ULL << 20)

static struct vm	 vm;
static char		 tmpl[] = "/tmp/vmboot.XXXXXX";
static char		 kpath[64], ipath[64];


static void
put(const char *path, const void *p, size_t len)
{
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL || fwrite(p, 1, len, f) != len ||
	    fclose(f) != 0) {
		printf("Bail out! cannot write %s\n", path);
		exit(1);
	}
}

static uint8_t *
gp(uint64_t a)
{
	return (vm.mem.base + a);
}

static uint32_t
g32(uint64_t a)
{
	uint32_t v;

	memcpy(&v, gp(a), 4);
	return (v);
}

static uint64_t
g64(uint64_t a)
{
	uint64_t v;

	memcpy(&v, gp(a), 8);
	return (v);
}

static uint8_t
sum(uint64_t a, size_t n)
{
	uint8_t	 s = 0;

	while (n-- > 0)
		s += *gp(a++);
	return (s);
}

/* A synthetic bzImage: 1 setup sector + 4 KiB of "kernel". */
static size_t
mk_bzimage(uint8_t *b, uint16_t version, uint8_t xlf, uint8_t setup,
    uint32_t init_size)
{
	size_t	 len = 1024 + 4096;

	memset(b, 0, len);
	b[0x1f1] = setup;
	b[0x1fe] = 0x55;
	b[0x1ff] = 0xaa;
	b[0x201] = 0x66;		/* header ends at 0x268 */
	memcpy(b + 0x202, "HdrS", 4);
	memcpy(b + 0x206, &version, 2);
	b[0x211] = 0x01;		/* LOADED_HIGH */
	{
		uint32_t max = 0x37ffffff;

		memcpy(b + 0x22c, &max, 4);
	}
	b[0x236] = xlf;
	memcpy(b + 0x260, &init_size, 4);
	memset(b + 1024, 'K', 4096);
	return (len);
}

static int
load_bz(uint16_t version, uint8_t xlf, uint8_t setup, uint32_t init_size,
    const char *initrd, const char *cmdline)
{
	static uint8_t	 img[8192];
	size_t		 len;

	len = mk_bzimage(img, version, xlf, setup, init_size);
	put(kpath, img, len);
	return (vm_load_linux(&vm, kpath, initrd, cmdline));
}

static void
test_bzimage(void)
{
	static uint8_t	 rd[10000];
	uint32_t	 rdaddr;
	uint8_t		 n;
	char		 longcl[VM_CMDLINE_MAX + 10];

	memset(rd, 'R', sizeof(rd));
	put(ipath, rd, sizeof(rd));
	ok(load_bz(0x020f, 1, 1, 0x20000, ipath, "console=ttyS0 lens.ip="
	    "198.18.0.2/24") == 0, "bzImage: loads");
	ok(vm.entry == VM_KERNEL_ADDR + 0x200 && vm.linux_boot &&
	    vm.bootparams == VM_ZEROPAGE_ADDR, "bzImage: 64-bit entry at "
	    "load address + 0x200, rsi = zero page");
	ok(gp(VM_KERNEL_ADDR)[0] == 'K' && gp(VM_KERNEL_ADDR)[4095] == 'K',
	    "bzImage: protected-mode part at 1 MiB");
	ok(memcmp(gp(VM_ZEROPAGE_ADDR + 0x202), "HdrS", 4) == 0 &&
	    *gp(VM_ZEROPAGE_ADDR + 0x210) == 0xff &&
	    (*gp(VM_ZEROPAGE_ADDR + 0x211) & 0x80),
	    "zero page: setup header copied, loader type, CAN_USE_HEAP");
	ok(g32(VM_ZEROPAGE_ADDR + 0x228) == VM_CMDLINE_ADDR &&
	    strcmp((char *)gp(VM_CMDLINE_ADDR), "console=ttyS0 lens.ip="
	    "198.18.0.2/24") == 0 &&
	    g32(VM_ZEROPAGE_ADDR + 0x238) ==
	    strlen((char *)gp(VM_CMDLINE_ADDR)),
	    "zero page: command line pointer, text and size");
	rdaddr = g32(VM_ZEROPAGE_ADDR + 0x218);
	ok(rdaddr % 4096 == 0 && rdaddr >= VM_KERNEL_ADDR + 0x20000 &&
	    rdaddr + sizeof(rd) <= MEM &&
	    g32(VM_ZEROPAGE_ADDR + 0x21c) == sizeof(rd) &&
	    gp(rdaddr)[0] == 'R' && gp(rdaddr)[sizeof(rd) - 1] == 'R',
	    "zero page: initramfs page-aligned above the kernel, below the "
	    "top of memory");
	n = *gp(VM_ZEROPAGE_ADDR + 0x1e8);
	ok(n == 3 && g64(VM_ZEROPAGE_ADDR + 0x2d0) == 0 &&
	    g32(VM_ZEROPAGE_ADDR + 0x2d0 + 16) == 1 &&
	    g32(VM_ZEROPAGE_ADDR + 0x2d0 + 20 + 16) == 2 &&
	    g64(VM_ZEROPAGE_ADDR + 0x2d0 + 40) == VM_KERNEL_ADDR &&
	    g64(VM_ZEROPAGE_ADDR + 0x2d0 + 48) == MEM - VM_KERNEL_ADDR,
	    "zero page: e820 low RAM, reserved hole, RAM from 1 MiB");
	ok(g64(VM_ZEROPAGE_ADDR + 0x70) == VM_ACPI_ADDR &&
	    memcmp(gp(VM_ACPI_ADDR), "RSD PTR ", 8) == 0,
	    "zero page: acpi_rsdp_addr points at the RSDP");

	ok(load_bz(0x020b, 1, 1, 0x20000, NULL, NULL) == -1,
	    "bzImage: boot protocol 2.11 refused");
	ok(load_bz(0x020f, 0, 1, 0x20000, NULL, NULL) == -1,
	    "bzImage: no XLF_KERNEL_64 refused");
	ok(load_bz(0x020f, 1, 200, 0x20000, NULL, NULL) == -1,
	    "bzImage: setup_sects beyond the file refused");
	ok(load_bz(0x020f, 1, 1, 0x7fffffff, NULL, NULL) == -1,
	    "bzImage: init_size larger than memory refused");
	memset(longcl, 'a', sizeof(longcl) - 1);
	longcl[sizeof(longcl) - 1] = '\0';
	ok(load_bz(0x020f, 1, 1, 0x20000, NULL, longcl) == -1,
	    "bzImage: over-long command line refused");
	{
		uint8_t	 img[8192];
		size_t	 len = mk_bzimage(img, 0x020f, 1, 1, 0x20000);

		img[0x1fe] = 0;
		put(kpath, img, len);
		ok(vm_load_linux(&vm, kpath, NULL, NULL) == -1,
		    "bzImage: bad boot flag refused");
		put(kpath, img, 100);
		ok(vm_load_linux(&vm, kpath, NULL, NULL) == -1,
		    "bzImage: truncated file refused");
	}
	ok(load_bz(0x020f, 1, 1, MEM - VM_KERNEL_ADDR - 4096, ipath,
	    NULL) == -1, "initramfs that does not fit above the kernel "
	    "refused");
	ok(load_bz(0x020f, 1, 1, 0x20000, "/nonexistent/initrd", NULL) == -1,
	    "missing initramfs refused");
}

struct elfimg {
	Elf64_Ehdr	eh;
	Elf64_Phdr	ph[2];
	uint8_t		body[64];
};

static void
mk_elf(struct elfimg *e)
{
	memset(e, 0, sizeof(*e));
	memcpy(e->eh.e_ident, ELFMAG, SELFMAG);
	e->eh.e_ident[EI_CLASS] = ELFCLASS64;
	e->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	e->eh.e_ident[EI_VERSION] = EV_CURRENT;
	e->eh.e_type = ET_EXEC;
	e->eh.e_machine = EM_X86_64;
	e->eh.e_entry = 0x1000000;
	e->eh.e_phoff = offsetof(struct elfimg, ph);
	e->eh.e_phentsize = sizeof(Elf64_Phdr);
	e->eh.e_phnum = 2;
	e->ph[0].p_type = PT_LOAD;
	e->ph[0].p_offset = offsetof(struct elfimg, body);
	e->ph[0].p_paddr = 0x1000000;
	e->ph[0].p_filesz = 16;
	e->ph[0].p_memsz = 64;
	e->ph[1].p_type = PT_NOTE;
	memset(e->body, 'E', sizeof(e->body));
}

static int
load_elf(struct elfimg *e, size_t len)
{
	put(kpath, e, len);
	return (vm_load_linux(&vm, kpath, NULL, "console=ttyS0"));
}

static void
test_elf(void)
{
	struct elfimg	 e;

	mk_elf(&e);
	memset(gp(0x1000000), 0xcc, 64);
	ok(load_elf(&e, sizeof(e)) == 0 && vm.entry == 0x1000000 &&
	    gp(0x1000000)[15] == 'E' && gp(0x1000000)[16] == 0 &&
	    gp(0x1000000)[63] == 0, "ELF: PT_LOAD copied, bss zeroed, "
	    "entry from e_entry");
	ok(memcmp(gp(VM_ZEROPAGE_ADDR + 0x202), "HdrS", 4) == 0 &&
	    *gp(VM_ZEROPAGE_ADDR + 0x1fe) == 0x55,
	    "ELF: zero page gets a setup header");
	mk_elf(&e);
	e.eh.e_phoff = 1 << 20;
	ok(load_elf(&e, sizeof(e)) == -1, "ELF: program headers beyond the "
	    "file refused");
	mk_elf(&e);
	e.eh.e_phnum = 60;
	ok(load_elf(&e, sizeof(e)) == -1, "ELF: more program headers than "
	    "the file holds refused");
	mk_elf(&e);
	e.ph[0].p_filesz = 100;
	ok(load_elf(&e, sizeof(e)) == -1, "ELF: filesz > memsz refused");
	mk_elf(&e);
	e.ph[0].p_offset = UINT64_MAX - 4;
	ok(load_elf(&e, sizeof(e)) == -1, "ELF: segment offset near 2^64 "
	    "refused");
	mk_elf(&e);
	e.ph[0].p_paddr = 0x1000;
	ok(load_elf(&e, sizeof(e)) == -1, "ELF: segment below 1 MiB "
	    "refused");
	mk_elf(&e);
	e.ph[0].p_paddr = MEM - 32;
	ok(load_elf(&e, sizeof(e)) == -1, "ELF: segment past the end of "
	    "memory refused");
	mk_elf(&e);
	e.ph[0].p_paddr = UINT64_MAX - 16;
	ok(load_elf(&e, sizeof(e)) == -1, "ELF: segment address wrapping "
	    "2^64 refused");
	mk_elf(&e);
	e.eh.e_type = ET_DYN;
	ok(load_elf(&e, sizeof(e)) == -1, "ELF: not ET_EXEC refused");
	mk_elf(&e);
	e.eh.e_machine = EM_AARCH64;
	ok(load_elf(&e, sizeof(e)) == -1, "ELF: wrong machine refused");
	mk_elf(&e);
	e.ph[0].p_type = PT_NOTE;
	ok(load_elf(&e, sizeof(e)) == -1, "ELF: no PT_LOAD refused");
	mk_elf(&e);
	ok(load_elf(&e, 40) == -1, "ELF: truncated header refused");
}

/* Decode an AML PkgLength at p; *n = its size in bytes. */
static uint32_t
pkglen(const uint8_t *p, int *n)
{
	int	 extra = p[0] >> 6, i;
	uint32_t len;

	if (extra == 0) {
		*n = 1;
		return (p[0] & 0x3f);
	}
	len = p[0] & 0x0f;
	for (i = 0; i < extra; i++)
		len |= (uint32_t)p[1 + i] << (4 + 8 * i);
	*n = 1 + extra;
	return (len);
}

static void
test_acpi(void)
{
	static struct vdev	 devs[3];
	static struct vdev_ops	 ops = { .name = "x", .devid = 2 };
	uint64_t		 rsdp, xsdt, fadt, madt, dsdt;
	uint32_t		 len, i, found = 0, plen;
	uint8_t			*d;
	int			 n, crs_ok = 1;

	memset(gp(VM_ACPI_ADDR), 0, VM_ACPI_SIZE);
	vm.ncpus = 2;
	for (i = 0; i < 3; i++) {
		devs[i].ops = &ops;
		devs[i].base = VM_MMIO_BASE + VM_MMIO_SIZE * i;
		devs[i].gsi = VM_MMIO_GSI + i;
		vm.dev[i] = &devs[i];
	}
	vm.ndev = 3;
	ok(vm_acpi_build(&vm, gp(VM_ACPI_ADDR), VM_ACPI_SIZE, VM_ACPI_ADDR,
	    &rsdp) == 0 && rsdp == VM_ACPI_ADDR, "ACPI: tables built");
	ok(sum(rsdp, 20) == 0 && sum(rsdp, 36) == 0 && *gp(rsdp + 15) == 2,
	    "ACPI: RSDP revision 2, both checksums");
	xsdt = g64(rsdp + 24);
	len = g32(xsdt + 4);
	ok(memcmp(gp(xsdt), "XSDT", 4) == 0 && sum(xsdt, len) == 0 &&
	    len == 36 + 16, "ACPI: XSDT with two entries, checksum");
	fadt = g64(xsdt + 36);
	madt = g64(xsdt + 44);
	ok(memcmp(gp(fadt), "FACP", 4) == 0 && g32(fadt + 4) == 276 &&
	    sum(fadt, 276) == 0 && (g32(fadt + 112) & (1U << 20)),
	    "ACPI: FADT 276 bytes, HW_REDUCED_ACPI, checksum");
	dsdt = g64(fadt + 140);
	ok(dsdt != 0 && g32(fadt + 40) == dsdt, "ACPI: FADT points at the "
	    "DSDT (DSDT and X_DSDT)");
	len = g32(madt + 4);
	ok(memcmp(gp(madt), "APIC", 4) == 0 && sum(madt, len) == 0 &&
	    g32(madt + 36) == VM_LAPIC_ADDR && len == 44 + 2 * 8 + 12 &&
	    *gp(madt + 44) == 0 && *gp(madt + 44 + 8 + 3) == 1 &&
	    *gp(madt + 44 + 16) == 1 && g32(madt + 44 + 16 + 4) ==
	    VM_IOAPIC_ADDR, "ACPI: MADT with 2 local APICs and the IOAPIC");
	len = g32(dsdt + 4);
	ok(memcmp(gp(dsdt), "DSDT", 4) == 0 && sum(dsdt, len) == 0,
	    "ACPI: DSDT checksum");
	d = gp(dsdt + 36);
	plen = pkglen(d + 1, &n);
	ok(d[0] == 0x10 && plen == len - 36 - 1 &&
	    memcmp(d + 1 + n, "\\_SB_", 5) == 0,
	    "AML: Scope(\\_SB) spans the rest of the DSDT");
	for (i = 0; i + 8 <= len - 36; i++) {
		if (memcmp(d + i, "LNRO0005", 8) == 0)
			found++;
		if (memcmp(d + i, "_CRS", 4) == 0) {
			uint32_t base;

			/* Name _CRS Buffer PkgLen BytePrefix size 0x86 */
			memcpy(&base, d + i + 4 + 1 + 1 + 2 + 4, 4);
			if (d[i + 4] != 0x11 || d[i + 4 + 2] != 0x0a ||
			    d[i + 4 + 4] != 0x86 ||
			    base != VM_MMIO_BASE + VM_MMIO_SIZE * (found - 1))
				crs_ok = 0;
		}
	}
	ok(found == 3, "AML: one LNRO0005 device per virtio-mmio window");
	ok(crs_ok, "AML: each _CRS is a Memory32Fixed at its window");
	vm.ndev = 0;
}

static void
test_testguest(void)
{
	struct testinfo	*ti = (struct testinfo *)gp(VM_TESTINFO_ADDR);
	static struct vdev	 dev;
	static struct vdev_ops	 ops = { .name = "x", .devid = 4 };

	put(kpath, "\xeb\xfe", 2);
	dev.ops = &ops;
	dev.base = VM_MMIO_BASE;
	dev.gsi = 5;
	vm.dev[0] = &dev;
	vm.ndev = 1;
	ok(vm_load_testguest(&vm, kpath, "loop") == 0 &&
	    vm.entry == VM_KERNEL_ADDR && !vm.linux_boot &&
	    gp(VM_KERNEL_ADDR)[0] == 0xeb, "test guest: flat binary at 1 MiB");
	ok(ti->magic == TESTINFO_MAGIC && ti->ndevs == 1 &&
	    ti->dev[0].type == 4 && ti->dev[0].base == VM_MMIO_BASE &&
	    strcmp(ti->cmdline, "case=loop") == 0, "test guest: testinfo");
	put(kpath, "", 0);
	ok(vm_load_testguest(&vm, kpath, NULL) == -1,
	    "test guest: empty file refused");
	vm.ndev = 0;
}

int
main(void)
{
	int	 fd;

	log_init(1, 0);
	if ((fd = mkstemp(tmpl)) == -1)
		return (1);
	close(fd);
	snprintf(kpath, sizeof(kpath), "%s", tmpl);
	snprintf(ipath, sizeof(ipath), "%s.rd", tmpl);
	vm.mem.base = calloc(1, MEM);
	vm.mem.size = vm.mem.lowsize = MEM;
	vm.ncpus = 1;
	vm_setup_pagetables(&vm);
	ok(g64(VM_PML4_ADDR) == (VM_PDPT_ADDR | 3) &&
	    g64(VM_PD_ADDR + 8 * 2047) == ((2047ULL << 21) | 0x83) &&
	    g64(VM_GDT_ADDR + 8) == 0x00af9b000000ffffULL,
	    "page tables map 4 GiB with 2 MiB pages; 64-bit code segment");
	test_bzimage();
	test_elf();
	test_acpi();
	test_testguest();
	unlink(kpath);
	unlink(ipath);
	free(vm.mem.base);
	return tap_done();
}
