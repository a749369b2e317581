/*
 * Loading a guest: the GDT and identity page tables for 64-bit entry,
 * the test guest (a flat binary at VM_KERNEL_ADDR with a struct
 * testinfo at VM_TESTINFO_ADDR), and the Linux x86 boot protocol
 * (Documentation/arch/x86/boot.rst): a bzImage (setup header parsed and
 * checked, 64-bit entry at the protected-mode code + 0x200) or an ELF
 * vmlinux (program headers bounds-checked), the zero page with e820 map
 * and command line, and the initramfs at the top of low memory.
 */
#include <sys/stat.h>

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "vm.h"
#include "vm_virtio.h"

#define KERNEL_MAX		(512ULL << 20)

/* boot_params offsets */
#define BP_ACPI_RSDP		0x070
#define BP_E820_ENTRIES		0x1e8
#define BP_HDR			0x1f1
#define BP_E820_TABLE		0x2d0
#define BP_E820_MAX		128
/* setup header offsets (from the start of boot_params / the image) */
#define HDR_SETUP_SECTS		0x1f1
#define HDR_BOOT_FLAG		0x1fe
#define HDR_JUMP		0x200
#define HDR_HEADER		0x202
#define HDR_VERSION		0x206
#define HDR_TYPE_OF_LOADER	0x210
#define HDR_LOADFLAGS		0x211
#define HDR_RAMDISK_IMAGE	0x218
#define HDR_RAMDISK_SIZE	0x21c
#define HDR_HEAP_END_PTR	0x224
#define HDR_CMD_LINE_PTR	0x228
#define HDR_INITRD_ADDR_MAX	0x22c
#define HDR_KERNEL_ALIGNMENT	0x230
#define HDR_XLOADFLAGS		0x236
#define HDR_CMDLINE_SIZE	0x238
#define HDR_PREF_ADDRESS	0x258
#define HDR_INIT_SIZE		0x260

#define LOADED_HIGH		0x01
#define CAN_USE_HEAP		0x80
#define XLF_KERNEL_64		0x01

#define E820_RAM		1
#define E820_RESERVED		2

static void
put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static void
put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void
put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static uint16_t
get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return (v);
}

static uint32_t
get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return (v);
}

/* GDT (null, code 0x8, data 0x10, tss 0x18) and 4 GiB of 2 MiB pages. */
void
vm_setup_pagetables(struct vm *vm)
{
	static const uint64_t gdt[4] = {
		0,
		0x00af9b000000ffffULL,	/* 64-bit code */
		0x00cf93000000ffffULL,	/* data */
		0x008f8b000000ffffULL,	/* tss */
	};
	uint8_t		*m = vm->mem.base;
	uint64_t	*pml4, *pdpt, *pd;
	unsigned int	 i;

	memcpy(m + VM_GDT_ADDR, gdt, sizeof(gdt));
	pml4 = (uint64_t *)(m + VM_PML4_ADDR);
	pdpt = (uint64_t *)(m + VM_PDPT_ADDR);
	pd = (uint64_t *)(m + VM_PD_ADDR);
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = VM_PDPT_ADDR | 0x3;
	for (i = 0; i < 4; i++)
		pdpt[i] = (VM_PD_ADDR + 4096 * i) | 0x3;
	for (i = 0; i < 4 * 512; i++)	/* present, rw, 2 MiB */
		pd[i] = ((uint64_t)i << 21) | 0x83;
}

static uint8_t *
read_file(const char *path, uint64_t max, uint64_t *lenp)
{
	struct stat	 st;
	uint8_t		*buf;
	ssize_t		 n;
	uint64_t	 off = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		log_warn("%s", path);
		return (NULL);
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > max || st.st_size == 0) {
		log_warnx("%s: not a regular file of 1..%llu bytes", path,
		    (unsigned long long)max);
		close(fd);
		return (NULL);
	}
	if ((buf = malloc(st.st_size)) == NULL)
		fatal("%s", __func__);
	while (off < (uint64_t)st.st_size) {
		n = read(fd, buf + off, st.st_size - off);
		if (n <= 0) {
			log_warn("%s: read", path);
			free(buf);
			close(fd);
			return (NULL);
		}
		off += n;
	}
	close(fd);
	*lenp = off;
	return (buf);
}

int
vm_load_testguest(struct vm *vm, const char *path, const char *testcase)
{
	struct testinfo	*ti;
	uint8_t		*img;
	uint64_t	 len, max;
	unsigned int	 i;

	max = vm->mem.lowsize - VM_KERNEL_ADDR - (8 << 20);
	if ((img = read_file(path, max, &len)) == NULL)
		return (-1);
	memcpy(vm->mem.base + VM_KERNEL_ADDR, img, len);
	free(img);

	ti = (struct testinfo *)(vm->mem.base + VM_TESTINFO_ADDR);
	memset(ti, 0, sizeof(*ti));
	ti->magic = TESTINFO_MAGIC;
	ti->memsize = vm->mem.lowsize;
	ti->ncpus = vm->ncpus;
	ti->ndevs = vm->ndev;
	for (i = 0; i < vm->ndev; i++) {
		ti->dev[i].type = vm->dev[i]->ops->devid;
		ti->dev[i].gsi = vm->dev[i]->gsi;
		ti->dev[i].base = vm->dev[i]->base;
		if (vm->dev[i]->ops->devid == VIRTIO_ID_BLOCK &&
		    (vm->dev[i]->host_features & (1ULL << 5)))
			ti->dev[i].flags |= TESTDEV_RO;
	}
	snprintf(ti->cmdline, sizeof(ti->cmdline), "case=%s",
	    testcase != NULL ? testcase : "basic");
	vm->entry = VM_KERNEL_ADDR;
	vm->bootparams = 0;
	vm->linux_boot = 0;
	return (0);
}

static void
e820_add(uint8_t *bp, uint64_t addr, uint64_t size, uint32_t type)
{
	uint8_t		 n = bp[BP_E820_ENTRIES];
	uint8_t		*e = bp + BP_E820_TABLE + 20 * n;

	if (n >= BP_E820_MAX)
		return;
	put64(e, addr);
	put64(e + 8, size);
	put32(e + 16, type);
	bp[BP_E820_ENTRIES] = n + 1;
}

/* ELF vmlinux: PT_LOAD segments at their physical addresses. */
static int
load_elf(struct vm *vm, const char *path, const uint8_t *img, uint64_t len,
    uint64_t *entry, uint64_t *end)
{
	const Elf64_Ehdr	*eh = (const Elf64_Ehdr *)img;
	Elf64_Phdr		 ph;
	uint8_t			*dst;
	unsigned int		 i;
	int			 nload = 0;

	*end = 0;
	if (len < sizeof(*eh) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh->e_machine != EM_X86_64 || eh->e_type != ET_EXEC) {
		log_warnx("%s: not a 64-bit little-endian x86-64 executable",
		    path);
		return (-1);
	}
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 ||
	    eh->e_phnum > 64 || eh->e_phoff > len ||
	    (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > len - eh->e_phoff) {
		log_warnx("%s: program headers (offset %llu, %u of %u bytes) "
		    "outside the file", path,
		    (unsigned long long)eh->e_phoff, eh->e_phnum,
		    eh->e_phentsize);
		return (-1);
	}
	for (i = 0; i < eh->e_phnum; i++) {
		memcpy(&ph, img + eh->e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD)
			continue;
		if (ph.p_filesz > ph.p_memsz || ph.p_offset > len ||
		    ph.p_filesz > len - ph.p_offset) {
			log_warnx("%s: segment %u: file range %llu+%llu "
			    "outside the file or larger than memsz %llu", path,
			    i, (unsigned long long)ph.p_offset,
			    (unsigned long long)ph.p_filesz,
			    (unsigned long long)ph.p_memsz);
			return (-1);
		}
		if (ph.p_paddr < VM_KERNEL_ADDR ||
		    (dst = gmem_ptr(&vm->mem, ph.p_paddr, ph.p_memsz)) ==
		    NULL) {
			log_warnx("%s: segment %u at %#llx+%llu outside guest "
			    "memory above 1 MiB", path, i,
			    (unsigned long long)ph.p_paddr,
			    (unsigned long long)ph.p_memsz);
			return (-1);
		}
		memcpy(dst, img + ph.p_offset, ph.p_filesz);
		memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
		if (ph.p_paddr + ph.p_memsz > *end)
			*end = ph.p_paddr + ph.p_memsz;
		nload++;
	}
	if (nload == 0) {
		log_warnx("%s: no loadable segment", path);
		return (-1);
	}
	*entry = eh->e_entry;
	return (0);
}

/* bzImage: checked setup header, protected-mode part at VM_KERNEL_ADDR. */
static int
load_bzimage(struct vm *vm, const char *path, const uint8_t *img,
    uint64_t len, uint8_t *bp, uint64_t *entry, uint64_t *end)
{
	unsigned int	 setup_sects, hdrend;
	uint64_t	 off, klen, init_size;
	uint16_t	 version;

	if (len < 0x300 || get16(img + HDR_BOOT_FLAG) != 0xaa55 ||
	    memcmp(img + HDR_HEADER, "HdrS", 4) != 0) {
		log_warnx("%s: no bzImage setup header (boot flag %#x)", path,
		    len >= 0x200 ? get16(img + HDR_BOOT_FLAG) : 0);
		return (-1);
	}
	version = get16(img + HDR_VERSION);
	if (version < 0x020c) {
		log_warnx("%s: boot protocol %u.%02u, need 2.12 or later "
		    "for 64-bit entry", path, version >> 8, version & 0xff);
		return (-1);
	}
	if (!(img[HDR_XLOADFLAGS] & XLF_KERNEL_64) ||
	    !(img[HDR_LOADFLAGS] & LOADED_HIGH)) {
		log_warnx("%s: xloadflags %#x loadflags %#x: no 64-bit "
		    "entry or not loaded high", path, img[HDR_XLOADFLAGS],
		    img[HDR_LOADFLAGS]);
		return (-1);
	}
	setup_sects = img[HDR_SETUP_SECTS] ? img[HDR_SETUP_SECTS] : 4;
	off = (setup_sects + 1) * 512ULL;
	if (off >= len) {
		log_warnx("%s: setup_sects %u beyond the file (%llu bytes)",
		    path, setup_sects, (unsigned long long)len);
		return (-1);
	}
	klen = len - off;
	init_size = get32(img + HDR_INIT_SIZE);
	if (init_size < klen)
		init_size = klen;
	if (gmem_ptr(&vm->mem, VM_KERNEL_ADDR, init_size) == NULL) {
		log_warnx("%s: kernel needs %llu bytes at 1 MiB, more than "
		    "guest memory", path, (unsigned long long)init_size);
		return (-1);
	}
	memcpy(vm->mem.base + VM_KERNEL_ADDR, img + off, klen);
	/* the setup header: from 0x1f1 to the end given by the jump */
	hdrend = 0x202 + img[HDR_JUMP + 1];
	if (hdrend > 0x290)
		hdrend = 0x290;
	memcpy(bp + BP_HDR, img + BP_HDR, hdrend - BP_HDR);
	*entry = VM_KERNEL_ADDR + 0x200;
	*end = VM_KERNEL_ADDR + init_size;
	return (0);
}

int
vm_load_linux(struct vm *vm, const char *kernel, const char *initrd,
    const char *cmdline)
{
	uint8_t		*img, *bp, *rd;
	uint64_t	 len, entry, end, rdlen, rdaddr, rdmax, rsdp;
	size_t		 cl;
	int		 rv = -1;

	if (kernel == NULL) {
		log_warnx("vm: no kernel given");
		return (-1);
	}
	cl = cmdline != NULL ? strlen(cmdline) : 0;
	if (cl >= VM_CMDLINE_MAX) {
		log_warnx("vm: command line of %zu bytes, at most %d", cl,
		    VM_CMDLINE_MAX - 1);
		return (-1);
	}
	if ((img = read_file(kernel, KERNEL_MAX, &len)) == NULL)
		return (-1);
	bp = vm->mem.base + VM_ZEROPAGE_ADDR;
	memset(bp, 0, 4096);
	if (len >= 4 && memcmp(img, ELFMAG, SELFMAG) == 0) {
		if (load_elf(vm, kernel, img, len, &entry, &end) == -1)
			goto out;
		put16(bp + HDR_BOOT_FLAG, 0xaa55);
		memcpy(bp + HDR_HEADER, "HdrS", 4);
		put32(bp + HDR_KERNEL_ALIGNMENT, 0x01000000);
	} else if (load_bzimage(vm, kernel, img, len, bp, &entry,
	    &end) == -1)
		goto out;
	bp[HDR_TYPE_OF_LOADER] = 0xff;
	bp[HDR_LOADFLAGS] |= CAN_USE_HEAP;
	put16(bp + HDR_HEAP_END_PTR, 0xfe00);
	memset(vm->mem.base + VM_CMDLINE_ADDR, 0, VM_CMDLINE_MAX);
	if (cl > 0)
		memcpy(vm->mem.base + VM_CMDLINE_ADDR, cmdline, cl);
	put32(bp + HDR_CMD_LINE_PTR, VM_CMDLINE_ADDR);
	put32(bp + HDR_CMDLINE_SIZE, cl);

	if (initrd != NULL) {
		rdmax = get32(bp + HDR_INITRD_ADDR_MAX);
		if (rdmax == 0 || rdmax >= vm->mem.lowsize)
			rdmax = vm->mem.lowsize - 1;
		if ((rd = read_file(initrd, rdmax, &rdlen)) == NULL)
			goto out;
		rdaddr = (rdmax + 1 - rdlen) & ~0xfffULL;
		if (rdaddr < end) {
			log_warnx("%s: %llu bytes do not fit between the "
			    "kernel and %#llx", initrd,
			    (unsigned long long)rdlen,
			    (unsigned long long)rdmax);
			free(rd);
			goto out;
		}
		memcpy(vm->mem.base + rdaddr, rd, rdlen);
		free(rd);
		put32(bp + HDR_RAMDISK_IMAGE, rdaddr);
		put32(bp + HDR_RAMDISK_SIZE, rdlen);
	}
	e820_add(bp, 0, 0x9fc00, E820_RAM);
	e820_add(bp, 0x9fc00, VM_KERNEL_ADDR - 0x9fc00, E820_RESERVED);
	e820_add(bp, VM_KERNEL_ADDR, vm->mem.lowsize - VM_KERNEL_ADDR,
	    E820_RAM);
	if (vm->mem.size > vm->mem.lowsize)
		e820_add(bp, GMEM_HIGH_START, vm->mem.size - vm->mem.lowsize,
		    E820_RAM);
	if (vm_acpi_build(vm, vm->mem.base + VM_ACPI_ADDR, VM_ACPI_SIZE,
	    VM_ACPI_ADDR, &rsdp) == -1)
		goto out;
	put64(bp + BP_ACPI_RSDP, rsdp);
	vm->entry = entry;
	vm->bootparams = VM_ZEROPAGE_ADDR;
	vm->linux_boot = 1;
	rv = 0;
 out:
	free(img);
	return (rv);
}
