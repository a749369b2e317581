/*
 * seccomp allow-lists of the microVM monitor, one per thread role.
 * Filters stack: the process filter is loaded by the main thread once
 * the VM is built (every fd open, every KVM object created) and before
 * any thread starts, so every thread inherits it; each vCPU thread and
 * the I/O thread then add their own, narrower one.
 *
 *	process	what thread start-up, the run loop and teardown need
 *	vcpu	KVM_RUN and KVM_IRQ_LINE, console writes, eventfd
 *		writes, stopping the other threads
 *	io	poll, backend reads and writes (disks, tap, console
 *		bridge, eventfds), getrandom
 */
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>

#include <stddef.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "log.h"
#include "seccomp_filter.h"
#include "vm.h"

#define N(a)	(sizeof(a) / sizeof((a)[0]))

static const struct sandbox_syscall vm_process_syscalls[] = {
	SB_ALLOW_ARG(ioctl, 1, KVM_RUN),
	SB_ALLOW_ARG(ioctl, 1, KVM_IRQ_LINE),
	SB_ALLOW(read), SB_ALLOW(write), SB_ALLOW(readv), SB_ALLOW(writev),
	SB_ALLOW(pread64), SB_ALLOW(pwrite64), SB_ALLOW(fdatasync),
	SB_ALLOW(poll), SB_ALLOW(ppoll), SB_ALLOW(getrandom),
	SB_ALLOW(futex), SB_ALLOW(tgkill), SB_ALLOW(getpid), SB_ALLOW(gettid),
	SB_ALLOW(rt_sigprocmask), SB_ALLOW(rt_sigaction),
	SB_ALLOW(clone), SB_ALLOW(clone3), SB_ALLOW(set_robust_list),
	SB_ALLOW(rseq), SB_ALLOW(mmap), SB_ALLOW(mprotect), SB_ALLOW(munmap),
	SB_ALLOW(madvise), SB_ALLOW(sched_yield), SB_ALLOW(close),
	SB_ALLOW(sendto), SB_ALLOW(clock_gettime), SB_ALLOW(gettimeofday),
	SB_ALLOW(exit), SB_ALLOW(exit_group),
	/* each thread then loads its own filter (which can only narrow) */
	SB_ALLOW_ARG(prctl, 0, PR_SET_NO_NEW_PRIVS),
	SB_ALLOW_ARG(seccomp, 0, SECCOMP_SET_MODE_FILTER),
	SB_ALLOW_ARG(seccomp, 0, SECCOMP_GET_ACTION_AVAIL),
	SB_ALLOW_ARG(seccomp, 0, SECCOMP_GET_NOTIF_SIZES),
#if defined(__SANITIZE_ADDRESS__) || defined(LENS_SANITIZE)
	SB_ALLOW(sched_getaffinity),	/* ASan's thread start-up */
#endif
};

static const struct sandbox_syscall vm_vcpu_syscalls[] = {
	SB_ALLOW_ARG(ioctl, 1, KVM_RUN),
	SB_ALLOW_ARG(ioctl, 1, KVM_IRQ_LINE),
	SB_ALLOW(write), SB_ALLOW(sendto), SB_ALLOW(futex), SB_ALLOW(tgkill),
	SB_ALLOW(getpid), SB_ALLOW(gettid), SB_ALLOW(rt_sigprocmask),
	SB_ALLOW(madvise), SB_ALLOW(munmap), SB_ALLOW(clock_gettime),
	SB_ALLOW(exit),
};

static const struct sandbox_syscall vm_io_syscalls[] = {
	SB_ALLOW(poll), SB_ALLOW(ppoll), SB_ALLOW(read), SB_ALLOW(readv),
	SB_ALLOW(write),
	SB_ALLOW(pread64), SB_ALLOW(pwrite64), SB_ALLOW(fdatasync),
	SB_ALLOW(getrandom), SB_ALLOW(sendto), SB_ALLOW(futex),
	SB_ALLOW(tgkill), SB_ALLOW(getpid), SB_ALLOW(gettid),
	SB_ALLOW(rt_sigprocmask), SB_ALLOW(madvise), SB_ALLOW(munmap),
	SB_ALLOW(clock_gettime), SB_ALLOW(exit),
};

void
vm_sandbox(struct vm *vm, enum vm_sandbox_role role)
{
	switch (role) {
	case VM_SB_PROCESS:
		sandbox_apply("vm", vm_process_syscalls,
		    N(vm_process_syscalls));
		break;
	case VM_SB_VCPU:
		sandbox_apply("vm vcpu", vm_vcpu_syscalls,
		    N(vm_vcpu_syscalls));
		break;
	case VM_SB_IO:
		sandbox_apply("vm io", vm_io_syscalls, N(vm_io_syscalls));
		break;
	}
	/* regress: show that this filter kills, and that it is named */
	if (vm->trap_role == (int)role + 1)
		(void)syscall(SYS_ptrace, 0, 0, 0, 0);
}
