/*
 * What the VMM hands the freestanding test guest (lensvmm/testguest/) at
 * VM_TESTINFO_ADDR: the devices, their windows and GSIs, and the
 * "command line" naming the test case.  Shared by both sides, so only
 * fixed-size integer types.
 */
#ifndef LENSVMM_VM_TESTINFO_H
#define LENSVMM_VM_TESTINFO_H

#include <stdint.h>

#define TESTINFO_ADDR		0x5000
#define TESTINFO_MAXDEVS	8

/* handed to the test guest at VM_TESTINFO_ADDR */
#define TESTINFO_MAGIC		0x4c454e5354475431ULL	/* "LENSTGT1" */
struct testinfo_dev {
	uint32_t	type;		/* virtio device id */
	uint32_t	gsi;
	uint64_t	base;
	uint32_t	flags;		/* TESTDEV_* */
	uint32_t	pad;
};
#define TESTDEV_RO		0x1	/* a block device attached read-only */
struct testinfo {
	uint64_t	magic;
	uint64_t	memsize;	/* bytes of low RAM */
	uint32_t	ndevs;
	uint32_t	ncpus;
	struct testinfo_dev dev[TESTINFO_MAXDEVS];
	char		cmdline[256];	/* "case=NAME ..." */
};

#endif
