/*
 * The microVM: guest memory, the KVM VM and its vCPUs, the run loops,
 * port and MMIO dispatch, and the I/O thread that serves the device
 * backends (ioeventfds, tap, console bridge, uart input).
 */
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/kvm.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "vm.h"
#include "vm_virtio.h"

#define KVM_CPUID_SIGNATURE	0x40000000
#define KVM_CPUID_FEATURES	0x40000001
#define MAX_CPUID_ENTRIES	256

#define MSR_IA32_TSC		0x10
#define MSR_IA32_SYSENTER_CS	0x174
#define MSR_IA32_SYSENTER_ESP	0x175
#define MSR_IA32_SYSENTER_EIP	0x176
#define MSR_IA32_MISC_ENABLE	0x1a0
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_SYSCALL_MASK	0xc0000084
#define MSR_KERNEL_GS_BASE	0xc0000102

#define X86_CR0_PE		0x1
#define X86_CR0_ET		0x10
#define X86_CR0_NE		0x20
#define X86_CR0_PG		0x80000000
#define X86_CR4_PAE		0x20
#define X86_CR4_OSFXSR		0x200
#define X86_CR4_OSXMMEXCPT	0x400
#define EFER_LME		0x100
#define EFER_LMA		0x400

static void	*vcpu_main(void *);
static void	*io_main(void *);

const char *
vm_stop_name(enum vm_stop s)
{
	switch (s) {
	case VM_RUNNING:
		return ("running");
	case VM_STOP_RESET:
		return ("reset");
	case VM_STOP_SHUTDOWN:
		return ("shutdown");
	case VM_STOP_HALT:
		return ("halt");
	case VM_STOP_ERROR:
		return ("error");
	case VM_STOP_REQUEST:
		return ("stopped");
	}
	return ("unknown");
}

static void
sig_kick(int sig)
{
	(void)sig;
}

/* Stop the VM (first reason wins) and kick every vCPU out of KVM_RUN. */
void
vm_request_stop(struct vm *vm, enum vm_stop why, const char *fmt, ...)
{
	va_list		 ap;
	unsigned int	 i;
	uint64_t	 one = 1;

	pthread_mutex_lock(&vm->stopmtx);
	if (vm->stop == VM_RUNNING) {
		vm->stop = why;
		va_start(ap, fmt);
		vsnprintf(vm->stopwhy, sizeof(vm->stopwhy), fmt, ap);
		va_end(ap);
	}
	for (i = 0; i < vm->ncpus; i++) {
		if (vm->cpu[i].run != NULL)
			vm->cpu[i].run->immediate_exit = 1;
		if (vm->cpu[i].started &&
		    !pthread_equal(vm->cpu[i].thread, pthread_self()))
			pthread_kill(vm->cpu[i].thread, SIGUSR1);
	}
	if (vm->wakefd != -1 && write(vm->wakefd, &one, sizeof(one)) == -1)
		log_warn("vm: wake eventfd");
	pthread_cond_broadcast(&vm->stopcond);
	pthread_mutex_unlock(&vm->stopmtx);
}

static int
vm_stopped(struct vm *vm)
{
	int	 s;

	pthread_mutex_lock(&vm->stopmtx);
	s = vm->stop != VM_RUNNING;
	pthread_mutex_unlock(&vm->stopmtx);
	return (s);
}

void
vm_add_pio(struct vm *vm, const struct vm_pio *p)
{
	if (vm->npio >= sizeof(vm->pio) / sizeof(vm->pio[0]))
		fatalx("vm: too many port devices");
	vm->pio[vm->npio++] = *p;
}

int
vm_add_poll(struct vm *vm, int fd, short events,
    void (*cb)(void *, int, short), void *arg)
{
	int	 idx;

	pthread_mutex_lock(&vm->pollmtx);
	if (vm->npoll >= VM_MAXPOLL)
		fatalx("vm: too many backend fds");
	idx = vm->npoll++;
	vm->poll[idx].fd = fd;
	vm->poll[idx].events = events;
	vm->poll[idx].cb = cb;
	vm->poll[idx].arg = arg;
	vm->poll[idx].enabled = 1;
	pthread_mutex_unlock(&vm->pollmtx);
	return (idx);
}

/* Enable or disable polling of a backend fd (e.g. no rx buffers). */
void
vm_poll_enable(struct vm *vm, int idx, int on)
{
	uint64_t	 one = 1;
	int		 changed;

	pthread_mutex_lock(&vm->pollmtx);
	changed = vm->poll[idx].enabled != on;
	vm->poll[idx].enabled = on;
	pthread_mutex_unlock(&vm->pollmtx);
	if (changed && on && write(vm->wakefd, &one, sizeof(one)) == -1)
		log_warn("vm: wake eventfd");
}

int
vm_irq_line(struct vm *vm, int gsi, int level)
{
	struct kvm_irq_level	 irq;

	memset(&irq, 0, sizeof(irq));
	irq.irq = gsi;
	irq.level = level;
	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) == -1) {
		log_warn("vm: KVM_IRQ_LINE %d", gsi);
		return (-1);
	}
	return (0);
}

static int
vm_memory(struct vm *vm, uint64_t size)
{
	struct kvm_userspace_memory_region	 r;
	void					*p;

	if ((vm->mem_fd = memfd_create("lens-guest-ram", MFD_CLOEXEC)) == -1) {
		log_warn("vm: memfd_create");
		return (-1);
	}
	if (ftruncate(vm->mem_fd, size) == -1) {
		log_warn("vm: guest memory of %llu bytes",
		    (unsigned long long)size);
		return (-1);
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->mem_fd, 0);
	if (p == MAP_FAILED) {
		log_warn("vm: mmap guest memory");
		return (-1);
	}
	madvise(p, size, MADV_DONTDUMP);
	vm->mem.base = p;
	vm->mem.size = size;
	vm->mem.lowsize = size < GMEM_HOLE_START ? size : GMEM_HOLE_START;

	memset(&r, 0, sizeof(r));
	r.slot = 0;
	r.guest_phys_addr = 0;
	r.memory_size = vm->mem.lowsize;
	r.userspace_addr = (uintptr_t)p;
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) == -1) {
		log_warn("vm: KVM_SET_USER_MEMORY_REGION low");
		return (-1);
	}
	if (size > vm->mem.lowsize) {
		r.slot = 1;
		r.guest_phys_addr = GMEM_HIGH_START;
		r.memory_size = size - vm->mem.lowsize;
		r.userspace_addr = (uintptr_t)p + vm->mem.lowsize;
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) == -1) {
			log_warn("vm: KVM_SET_USER_MEMORY_REGION high");
			return (-1);
		}
	}
	return (0);
}

static int
vcpu_cpuid(struct vm *vm, struct vcpu *c)
{
	struct kvm_cpuid2	*cpuid;
	struct kvm_cpuid_entry2	*e;
	uint32_t		 i, n;
	int			 rv = -1, have_sig = 0;

	n = MAX_CPUID_ENTRIES;
	cpuid = calloc(1, sizeof(*cpuid) + (n + 2) * sizeof(*e));
	if (cpuid == NULL)
		fatal("%s", __func__);
	cpuid->nent = n;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) == -1) {
		log_warn("vm: KVM_GET_SUPPORTED_CPUID");
		goto out;
	}
	for (i = 0; i < cpuid->nent; i++) {
		e = &cpuid->entries[i];
		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0x0000ffff) | (c->id << 24) |
			    ((vm->ncpus & 0xff) << 16);
			e->ecx |= 1U << 31;		/* hypervisor */
			break;
		case 0xb:
		case 0x1f:
			e->edx = c->id;
			break;
		case KVM_CPUID_SIGNATURE:
			have_sig = 1;
			break;
		default:
			break;
		}
	}
	if (!have_sig && cpuid->nent + 2 <= n + 2) {
		e = &cpuid->entries[cpuid->nent++];
		memset(e, 0, sizeof(*e));
		e->function = KVM_CPUID_SIGNATURE;
		e->eax = KVM_CPUID_FEATURES;
		memcpy(&e->ebx, "KVMK", 4);
		memcpy(&e->ecx, "VMKV", 4);
		memcpy(&e->edx, "M\0\0\0", 4);
		e = &cpuid->entries[cpuid->nent++];
		memset(e, 0, sizeof(*e));
		e->function = KVM_CPUID_FEATURES;
	}
	if (ioctl(c->fd, KVM_SET_CPUID2, cpuid) == -1) {
		log_warn("vm: KVM_SET_CPUID2");
		goto out;
	}
	rv = 0;
 out:
	free(cpuid);
	return (rv);
}

static int
vcpu_msrs(struct vcpu *c)
{
	static const struct { uint32_t idx; uint64_t val; } init[] = {
		{ MSR_IA32_SYSENTER_CS, 0 },
		{ MSR_IA32_SYSENTER_ESP, 0 },
		{ MSR_IA32_SYSENTER_EIP, 0 },
		{ MSR_STAR, 0 },
		{ MSR_CSTAR, 0 },
		{ MSR_KERNEL_GS_BASE, 0 },
		{ MSR_SYSCALL_MASK, 0 },
		{ MSR_LSTAR, 0 },
		{ MSR_IA32_TSC, 0 },
		{ MSR_IA32_MISC_ENABLE, 1 },	/* fast strings */
	};
	struct kvm_msrs	*msrs;
	unsigned int	 i, nmsrs = sizeof(init) / sizeof(init[0]);
	int		 n;

	msrs = calloc(1, sizeof(*msrs) + nmsrs * sizeof(msrs->entries[0]));
	if (msrs == NULL)
		fatal("%s", __func__);
	for (i = 0; i < nmsrs; i++) {
		msrs->entries[i].index = init[i].idx;
		msrs->entries[i].data = init[i].val;
	}
	msrs->nmsrs = nmsrs;
	n = ioctl(c->fd, KVM_SET_MSRS, msrs);
	free(msrs);
	if (n == -1) {
		log_warn("vm: KVM_SET_MSRS");
		return (-1);
	}
	if ((unsigned int)n != i)
		log_debug("vm: cpu %u: %d of %u MSRs set", c->id, n, i);
	return (0);
}

static void
seg(struct kvm_segment *s, uint16_t sel, uint8_t type, int code)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = 0;
	s->limit = 0xfffff;
	s->type = type;
	s->present = 1;
	s->dpl = 0;
	s->s = 1;
	s->g = 1;
	if (code)
		s->l = 1;
	else
		s->db = 1;
}

/* 64-bit long mode: GDT at VM_GDT_ADDR, identity-mapped page tables. */
static int
vcpu_longmode(struct vm *vm, struct vcpu *c)
{
	struct kvm_sregs	 sregs;
	struct kvm_regs		 regs;
	struct kvm_fpu		 fpu;
	struct kvm_segment	 code, data, tss;

	if (ioctl(c->fd, KVM_GET_SREGS, &sregs) == -1) {
		log_warn("vm: KVM_GET_SREGS");
		return (-1);
	}
	seg(&code, 0x8, 0xb, 1);
	seg(&data, 0x10, 0x3, 0);
	memset(&tss, 0, sizeof(tss));
	tss.selector = 0x18;
	tss.limit = 0xfffff;
	tss.type = 0xb;
	tss.present = 1;
	tss.g = 1;
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.tr = tss;
	sregs.gdt.base = VM_GDT_ADDR;
	sregs.gdt.limit = 4 * 8 - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.cr3 = VM_PML4_ADDR;
	sregs.cr4 = X86_CR4_PAE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
	sregs.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG;
	sregs.efer = EFER_LME | EFER_LMA;
	if (ioctl(c->fd, KVM_SET_SREGS, &sregs) == -1) {
		log_warn("vm: KVM_SET_SREGS");
		return (-1);
	}
	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;
	fpu.mxcsr = 0x1f80;
	if (ioctl(c->fd, KVM_SET_FPU, &fpu) == -1) {
		log_warn("vm: KVM_SET_FPU");
		return (-1);
	}
	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;
	regs.rip = vm->entry;
	regs.rsi = vm->bootparams;
	regs.rsp = vm->linux_boot ? 0 : VM_KERNEL_ADDR;	/* test: below image */
	regs.rdi = c->id;
	if (ioctl(c->fd, KVM_SET_REGS, &regs) == -1) {
		log_warn("vm: KVM_SET_REGS");
		return (-1);
	}
	return (0);
}

static int
vcpu_create(struct vm *vm, unsigned int id)
{
	struct vcpu	*c = &vm->cpu[id];
	int		 sz;

	c->vm = vm;
	c->id = id;
	if ((c->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, id)) == -1) {
		log_warn("vm: KVM_CREATE_VCPU %u", id);
		return (-1);
	}
	if ((sz = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0)) <= 0) {
		log_warn("vm: KVM_GET_VCPU_MMAP_SIZE");
		return (-1);
	}
	c->runsize = sz;
	c->run = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
	if (c->run == MAP_FAILED) {
		c->run = NULL;
		log_warn("vm: mmap kvm_run");
		return (-1);
	}
	if (vcpu_cpuid(vm, c) == -1 || vcpu_msrs(c) == -1)
		return (-1);
	return (0);
}

struct vm *
vm_create(const struct vm_config *conf)
{
	struct vm		*vm;
	struct kvm_pit_config	 pit;
	unsigned int		 i;
	int			 v;
	char			 err[160];

	if (conf->memsize < VM_MIN_MEMORY || conf->memsize > VM_MAX_MEMORY ||
	    conf->memsize % (2 << 20) != 0) {
		log_warnx("vm: memory size %llu: not a multiple of 2 MiB in "
		    "%llu..%llu", (unsigned long long)conf->memsize,
		    VM_MIN_MEMORY, VM_MAX_MEMORY);
		return (NULL);
	}
	if (conf->ncpus < 1 || conf->ncpus > VM_MAXCPUS) {
		log_warnx("vm: %u vCPUs: not in 1..%d", conf->ncpus,
		    VM_MAXCPUS);
		return (NULL);
	}
	if ((vm = calloc(1, sizeof(*vm))) == NULL)
		fatal("%s", __func__);
	vm->kvm_fd = vm->vm_fd = vm->mem_fd = vm->wakefd = -1;
	vm->ncpus = conf->ncpus;
	vm->sandbox = conf->sandbox;
	vm->trap_role = conf->trap_role;
	pthread_mutex_init(&vm->pollmtx, NULL);
	pthread_mutex_init(&vm->stopmtx, NULL);
	pthread_cond_init(&vm->stopcond, NULL);
	if ((vm->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1)
		fatal("vm: eventfd");

	if ((vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC)) == -1) {
		log_warn("vm: /dev/kvm");
		goto fail;
	}
	v = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (v != KVM_API_VERSION) {
		log_warnx("vm: KVM API version %d, want %d", v,
		    KVM_API_VERSION);
		goto fail;
	}
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION,
	    KVM_CAP_IMMEDIATE_EXIT) <= 0 ||
	    ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQFD) <= 0 ||
	    ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD) <= 0) {
		log_warnx("vm: KVM lacks immediate exit, irqfd or ioeventfd");
		goto fail;
	}
	if ((vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0)) == -1) {
		log_warn("vm: KVM_CREATE_VM");
		goto fail;
	}
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, VM_TSS_ADDR) == -1) {
		log_warn("vm: KVM_SET_TSS_ADDR");
		goto fail;
	}
	{
		uint64_t idmap = VM_IDMAP_ADDR;

		if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) == -1) {
			log_warn("vm: KVM_SET_IDENTITY_MAP_ADDR");
			goto fail;
		}
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) == -1) {
		log_warn("vm: KVM_CREATE_IRQCHIP");
		goto fail;
	}
	memset(&pit, 0, sizeof(pit));
	pit.flags = KVM_PIT_SPEAKER_DUMMY;
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) == -1) {
		log_warn("vm: KVM_CREATE_PIT2");
		goto fail;
	}
	if (vm_memory(vm, conf->memsize) == -1)
		goto fail;
	for (i = 0; i < vm->ncpus; i++)
		if (vcpu_create(vm, i) == -1)
			goto fail;

	vm->uart = uart_create(vm, conf->console_fd, conf->uart_in_fd);
	vm->i8042 = i8042_create(vm);
	if (conf->disk_fd[0] != -1 &&
	    blk_create(vm, conf->disk_fd[0], conf->disk_ro[0], err,
	    sizeof(err)) == NULL) {
		log_warnx("vm: vda: %s", err);
		goto fail;
	}
	if (conf->disk_fd[1] != -1 &&
	    blk_create(vm, conf->disk_fd[1], conf->disk_ro[1], err,
	    sizeof(err)) == NULL) {
		log_warnx("vm: vdb: %s", err);
		goto fail;
	}
	if (conf->control_fd != -1 || conf->testguest != NULL)
		console_create(vm, conf->console_fd, conf->control_fd);
	if (conf->tap_fd != -1)
		net_create(vm, conf->tap_fd, conf->mac);
	if (conf->rng)
		rng_create(vm);

	vm_setup_pagetables(vm);
	if (conf->testguest != NULL) {
		if (vm_load_testguest(vm, conf->testguest,
		    conf->testcase) == -1)
			goto fail;
	} else if (vm_load_linux(vm, conf->kernel, conf->initrd,
	    conf->cmdline) == -1)
		goto fail;
	for (i = 0; i < vm->ncpus; i++)
		if (vcpu_longmode(vm, &vm->cpu[i]) == -1)
			goto fail;
	return (vm);
 fail:
	vm_destroy(vm);
	return (NULL);
}

void
vm_destroy(struct vm *vm)
{
	unsigned int	 i;

	if (vm == NULL)
		return;
	for (i = 0; i < vm->ndev; i++)
		virtio_detach(vm->dev[i]);
	if (vm->uart != NULL)
		uart_destroy(vm->uart);
	if (vm->i8042 != NULL)
		i8042_destroy(vm->i8042);
	for (i = 0; i < vm->ncpus; i++) {
		if (vm->cpu[i].run != NULL)
			munmap(vm->cpu[i].run, vm->cpu[i].runsize);
		if (vm->cpu[i].fd > 0)
			close(vm->cpu[i].fd);
	}
	if (vm->mem.base != NULL)
		munmap(vm->mem.base, vm->mem.size);
	if (vm->mem_fd != -1)
		close(vm->mem_fd);
	if (vm->vm_fd != -1)
		close(vm->vm_fd);
	if (vm->kvm_fd != -1)
		close(vm->kvm_fd);
	if (vm->wakefd != -1)
		close(vm->wakefd);
	pthread_mutex_destroy(&vm->pollmtx);
	pthread_mutex_destroy(&vm->stopmtx);
	pthread_cond_destroy(&vm->stopcond);
	free(vm);
}

static void
vm_pio(struct vm *vm, struct kvm_run *run)
{
	uint8_t		*data = (uint8_t *)run + run->io.data_offset;
	uint32_t	 i, n;
	unsigned int	 d;
	struct vm_pio	*p;
	int		 sz = run->io.size;

	vm->pio_exits++;
	if (sz != 1 && sz != 2 && sz != 4)
		return;
	for (n = 0; n < run->io.count; n++, data += sz) {
		p = NULL;
		for (d = 0; d < vm->npio; d++)
			if (run->io.port >= vm->pio[d].base &&
			    run->io.port < vm->pio[d].base + vm->pio[d].len)
				p = &vm->pio[d];
		if (p == NULL) {
			if (run->io.direction == KVM_EXIT_IO_IN)
				memset(data, 0xff, sz);
			continue;
		}
		for (i = 0; i < (uint32_t)sz; i++) {
			if (run->io.direction == KVM_EXIT_IO_IN)
				p->in(p->arg, run->io.port - p->base + i,
				    data + i, 1);
			else
				p->out(p->arg, run->io.port - p->base + i,
				    data + i, 1);
		}
	}
}

static void
vm_mmio(struct vm *vm, struct kvm_run *run)
{
	uint64_t	 a = run->mmio.phys_addr, idx;
	int		 len = run->mmio.len;

	vm->mmio_exits++;
	if (len < 1 || len > 8)
		return;
	if (a >= VM_MMIO_BASE) {
		idx = (a - VM_MMIO_BASE) / VM_MMIO_SIZE;
		if (idx < vm->ndev) {
			virtio_mmio(vm->dev[idx], a - vm->dev[idx]->base,
			    run->mmio.data, len, run->mmio.is_write);
			return;
		}
	}
	if (!run->mmio.is_write)
		memset(run->mmio.data, 0xff, len);
}

static void *
vcpu_main(void *arg)
{
	struct vcpu	*c = arg;
	struct vm	*vm = c->vm;
	struct kvm_run	*run = c->run;
	sigset_t	 set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	if (vm->sandbox)
		vm_sandbox(vm, VM_SB_VCPU);
	while (!vm_stopped(vm)) {
		if (ioctl(c->fd, KVM_RUN, 0) == -1) {
			if (errno == EINTR || errno == EAGAIN) {
				run->immediate_exit = 0;
				continue;
			}
			vm_request_stop(vm, VM_STOP_ERROR, "cpu %u: KVM_RUN: "
			    "%s", c->id, strerror(errno));
			break;
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			vm_pio(vm, run);
			break;
		case KVM_EXIT_MMIO:
			vm_mmio(vm, run);
			break;
		case KVM_EXIT_HLT:
			vm_request_stop(vm, VM_STOP_HALT, "cpu %u halted",
			    c->id);
			break;
		case KVM_EXIT_SHUTDOWN:
			vm_request_stop(vm, VM_STOP_SHUTDOWN, "cpu %u: "
			    "shutdown (triple fault)", c->id);
			break;
		case KVM_EXIT_SYSTEM_EVENT:
			vm_request_stop(vm, run->system_event.type ==
			    KVM_SYSTEM_EVENT_RESET ? VM_STOP_RESET :
			    VM_STOP_SHUTDOWN, "cpu %u: system event %u",
			    c->id, run->system_event.type);
			break;
		case KVM_EXIT_FAIL_ENTRY:
			vm_request_stop(vm, VM_STOP_ERROR, "cpu %u: entry "
			    "failed, hardware reason %#llx", c->id,
			    (unsigned long long)
			    run->fail_entry.hardware_entry_failure_reason);
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			vm_request_stop(vm, VM_STOP_ERROR, "cpu %u: KVM "
			    "internal error, suberror %u", c->id,
			    run->internal.suberror);
			break;
		case KVM_EXIT_INTR:
			break;
		default:
			vm_request_stop(vm, VM_STOP_ERROR, "cpu %u: unhandled "
			    "exit reason %u", c->id, run->exit_reason);
			break;
		}
	}
	return (NULL);
}

static void *
io_main(void *arg)
{
	struct vm	*vm = arg;
	struct pollfd	 pfd[VM_MAXPOLL + 1];
	int		 map[VM_MAXPOLL + 1];
	unsigned int	 i, n;
	uint64_t	 v;
	sigset_t	 set;

	/* signals go to the other threads; SIGSYS must stay deliverable
	 * or a trapped call kills without the syscall being named */
	sigfillset(&set);
	sigdelset(&set, SIGSYS);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (vm->sandbox)
		vm_sandbox(vm, VM_SB_IO);
	while (!vm_stopped(vm)) {
		n = 0;
		pfd[n].fd = vm->wakefd;
		pfd[n].events = POLLIN;
		map[n++] = -1;
		pthread_mutex_lock(&vm->pollmtx);
		for (i = 0; i < vm->npoll; i++) {
			if (!vm->poll[i].enabled)
				continue;
			pfd[n].fd = vm->poll[i].fd;
			pfd[n].events = vm->poll[i].events;
			map[n++] = i;
		}
		pthread_mutex_unlock(&vm->pollmtx);
		if (poll(pfd, n, -1) == -1) {
			if (errno == EINTR)
				continue;
			vm_request_stop(vm, VM_STOP_ERROR, "io thread: poll: "
			    "%s", strerror(errno));
			break;
		}
		if (pfd[0].revents & POLLIN &&
		    read(vm->wakefd, &v, sizeof(v)) == -1 && errno != EAGAIN)
			log_warn("vm: wake eventfd");
		for (i = 1; i < n; i++)
			if (pfd[i].revents != 0)
				vm->poll[map[i]].cb(vm->poll[map[i]].arg,
				    pfd[i].fd, pfd[i].revents);
	}
	return (NULL);
}

/* Run the VM until it stops; returns the stop reason. */
int
vm_run(struct vm *vm)
{
	struct sigaction	 sa;
	sigset_t		 set, old;
	unsigned int		 i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sig_kick;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	if (vm->sandbox)
		vm_sandbox(vm, VM_SB_PROCESS);

	if (pthread_create(&vm->iothread, NULL, io_main, vm) != 0)
		fatalx("vm: io thread");
	for (i = 0; i < vm->ncpus; i++) {
		pthread_mutex_lock(&vm->stopmtx);
		if (pthread_create(&vm->cpu[i].thread, NULL, vcpu_main,
		    &vm->cpu[i]) != 0)
			fatalx("vm: vcpu thread");
		vm->cpu[i].started = 1;
		pthread_mutex_unlock(&vm->stopmtx);
	}
	pthread_mutex_lock(&vm->stopmtx);
	while (vm->stop == VM_RUNNING)
		pthread_cond_wait(&vm->stopcond, &vm->stopmtx);
	pthread_mutex_unlock(&vm->stopmtx);
	for (i = 0; i < vm->ncpus; i++)
		pthread_join(vm->cpu[i].thread, NULL);
	pthread_join(vm->iothread, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return (vm->stop);
}
