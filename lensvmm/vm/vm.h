/*
 * The microVM monitor (the `vm' process of a microvm sandbox): one KVM
 * virtual machine, one thread per vCPU and one I/O thread for the
 * device backends.
 *
 *	vm.c		memory, KVM VM and vCPUs, long mode, run loops,
 *			port and MMIO dispatch, the I/O thread
 *	vm_boot.c	Linux boot protocol (bzImage, ELF vmlinux), e820,
 *			and the test guest loader
 *	vm_acpi.c	RSDP/XSDT/FADT/MADT/DSDT for the virtio-mmio devices
 *	vm_virtq.c	split virtqueue walker (pure, unit tested, fuzzed)
 *	vm_virtio.c	virtio-mmio transport (version 2)
 *	vm_uart.c, vm_i8042.c, vm_blk.c, vm_console.c, vm_net.c, vm_rng.c
 *			the devices
 *	vm_sandbox.c	seccomp allow-lists: process, vCPU and I/O threads
 *
 * Guest physical layout (low memory):
 *	0x0500	GDT			0x7000	boot_params (zero page)
 *	0x5000	test guest boot info	0x9000	page tables (4 GiB, 2 MiB)
 *	0x20000	kernel command line	0xe0000	ACPI tables (RSDP in it)
 *	0x100000 kernel / test guest
 *	0xd0000000 + 0x1000 * n		virtio-mmio device n, GSI 5 + n
 *	0xfec00000 IOAPIC, 0xfee00000 local APIC
 */
#ifndef LENSVMM_VM_H
#define LENSVMM_VM_H

#include <sys/types.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdint.h>

#include "vm_virtq.h"

#define VM_MAXCPUS		32
#define VM_MAXDEVS		8
#define VM_MAXQUEUES		8
#define VM_MAXPOLL		32
#define VM_MIN_MEMORY		(16ULL << 20)
#define VM_MAX_MEMORY		(64ULL << 30)

#define VM_GDT_ADDR		0x500
#define VM_TESTINFO_ADDR	TESTINFO_ADDR
#define VM_ZEROPAGE_ADDR	0x7000
#define VM_PML4_ADDR		0x9000
#define VM_PDPT_ADDR		0xa000
#define VM_PD_ADDR		0xb000	/* four pages */
#define VM_CMDLINE_ADDR		0x20000
#define VM_CMDLINE_MAX		2048
#define VM_ACPI_ADDR		0xe0000
#define VM_ACPI_SIZE		0x10000
#define VM_KERNEL_ADDR		0x100000
#define VM_MMIO_BASE		0xd0000000ULL
#define VM_MMIO_SIZE		0x1000
#define VM_MMIO_GSI		5
#define VM_IOAPIC_ADDR		0xfec00000ULL
#define VM_LAPIC_ADDR		0xfee00000ULL
#define VM_TSS_ADDR		0xfffbd000ULL
#define VM_IDMAP_ADDR		0xfffbc000ULL

#define VM_UART_PORT		0x3f8
#define VM_UART_IRQ		4

#include "vm_testinfo.h"

struct vm;
struct vdev;

/* Port I/O device (uart, i8042). */
struct vm_pio {
	uint16_t	 base;
	uint16_t	 len;
	void		*arg;
	void		(*in)(void *, uint16_t off, uint8_t *, int);
	void		(*out)(void *, uint16_t off, const uint8_t *, int);
};

/* Backend fd the I/O thread polls for a device. */
struct vm_pollfd {
	int		 fd;
	short		 events;
	void		*arg;
	void		(*cb)(void *, int fd, short revents);
	int		 enabled;
};

struct vm_config {
	uint64_t	 memsize;
	unsigned int	 ncpus;
	const char	*kernel;	/* bzImage or ELF vmlinux */
	const char	*initrd;
	const char	*cmdline;
	const char	*testguest;	/* -T: flat binary at VM_KERNEL_ADDR */
	const char	*testcase;
	int		 console_fd;	/* uart + hvc0 output */
	int		 uart_in_fd;	/* -1: none */
	int		 disk_fd[2];	/* vda (read-only), vdb; -1: none */
	int		 disk_ro[2];
	int		 tap_fd;	/* -1: none */
	uint8_t		 mac[6];
	int		 control_fd;	/* console port 1 bridge, -1: none */
	int		 rng;
	int		 sandbox;	/* seccomp per thread role */
	int		 trap_role;	/* regress: 1 + the vm_sandbox_role
					   that makes a forbidden call once
					   filtered (vmrun -K); 0: none */
};

enum vm_sandbox_role {
	VM_SB_PROCESS,
	VM_SB_VCPU,
	VM_SB_IO,
};

enum vm_stop {
	VM_RUNNING = 0,
	VM_STOP_RESET,		/* i8042 reset or triple fault */
	VM_STOP_SHUTDOWN,	/* KVM_EXIT_SHUTDOWN */
	VM_STOP_HALT,
	VM_STOP_ERROR,		/* internal error, failed entry, ... */
	VM_STOP_REQUEST,	/* the host asked */
};

struct vm {
	int		 kvm_fd;
	int		 vm_fd;
	struct gmem	 mem;
	int		 mem_fd;
	unsigned int	 ncpus;
	struct vcpu {
		struct vm	*vm;
		int		 fd;
		unsigned int	 id;
		struct kvm_run	*run;
		size_t		 runsize;
		pthread_t	 thread;
		int		 started;
	}		 cpu[VM_MAXCPUS];
	uint64_t	 entry;		/* rip at start */
	uint64_t	 bootparams;	/* rsi at start (Linux), 0 test */
	int		 linux_boot;

	struct vm_pio	 pio[4];
	unsigned int	 npio;
	struct vdev	*dev[VM_MAXDEVS];
	unsigned int	 ndev;
	void		*uart;
	void		*i8042;

	pthread_mutex_t	 pollmtx;
	struct vm_pollfd poll[VM_MAXPOLL];
	unsigned int	 npoll;
	int		 wakefd;	/* eventfd: poll set changed / stop */
	pthread_t	 iothread;

	pthread_mutex_t	 stopmtx;
	pthread_cond_t	 stopcond;
	enum vm_stop	 stop;
	char		 stopwhy[256];
	int		 sandbox;
	int		 trap_role;
	uint64_t	 mmio_exits;
	uint64_t	 pio_exits;
};

/* vm.c */
struct vm	*vm_create(const struct vm_config *);
int		 vm_run(struct vm *);	/* blocks until the VM stops */
void		 vm_destroy(struct vm *);
void		 vm_request_stop(struct vm *, enum vm_stop, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
const char	*vm_stop_name(enum vm_stop);
void		 vm_add_pio(struct vm *, const struct vm_pio *);
int		 vm_add_poll(struct vm *, int fd, short events,
		    void (*)(void *, int, short), void *);
void		 vm_poll_enable(struct vm *, int idx, int on);
int		 vm_irq_line(struct vm *, int gsi, int level);

/* vm_sandbox.c */
void		 vm_sandbox(struct vm *, enum vm_sandbox_role);

/* vm_boot.c */
int		 vm_load_testguest(struct vm *, const char *path,
		    const char *testcase);
int		 vm_load_linux(struct vm *, const char *kernel,
		    const char *initrd, const char *cmdline);
void		 vm_setup_pagetables(struct vm *);

/* vm_acpi.c */
int		 vm_acpi_build(struct vm *, uint8_t *buf, size_t len,
		    uint64_t gpa, uint64_t *rsdp);

/* vm_uart.c, vm_i8042.c */
void		*uart_create(struct vm *, int outfd, int infd);
void		 uart_destroy(void *);
void		*i8042_create(struct vm *);
void		 i8042_destroy(void *);

/* device constructors, each adds itself with virtio_attach() */
struct vdev	*blk_create(struct vm *, int fd, int ro, char *err, size_t);
struct vdev	*console_create(struct vm *, int logfd, int ctlfd);
struct vdev	*net_create(struct vm *, int tapfd, const uint8_t mac[6]);
struct vdev	*rng_create(struct vm *);

#endif
