/*
 * seccomp filters.  Every process role lists the system calls it needs
 * in one table; anything else traps: the process records the syscall
 * number in a page it shares with its parent and dies of SIGSYS, and
 * the parent logs the syscall by name (proc_reap()).
 */
#ifndef LENS_SANDBOX_H
#define LENS_SANDBOX_H

#include <stddef.h>
#include <stdint.h>
#include <seccomp.h>

#define SB_ANYARG	(-1)

struct sandbox_syscall {
	int		 nr;		/* SCMP_SYS(name) */
	int		 arg;		/* SB_ANYARG, or index of an argument */
	uint64_t	 value;		/* ... that must equal this */
};

#define SB_ALLOW(name)		{ SCMP_SYS(name), SB_ANYARG, 0 }
#define SB_ALLOW_ARG(name, i, v) { SCMP_SYS(name), (i), (uint64_t)(v) }

/* where a trapped process records the syscall number (set by proc.c) */
void	sandbox_report_to(volatile int32_t *slot);
/* the number a trapped process recorded there, or -1 */
int	sandbox_reported(void);
/* load the filter for role; fatal() if it cannot be loaded */
void	sandbox_apply(const char *role, const struct sandbox_syscall *,
	    size_t n);
/* say that this process runs under a filter loaded by other means */
void	sandbox_filtered(void);
/* name of a syscall number on this architecture (static buffer) */
const char *sandbox_syscall_name(int nr);

#endif
