/*
 * seccomp filters.  Every process role lists the system calls it needs
 * in one table; anything else traps: the process records the syscall
 * number in a page it shares with its parent and dies of SIGSYS, and
 * the parent logs the syscall by name (proc_reap()).
 */
#ifndef LENS_SECCOMP_FILTER_H
#define LENS_SECCOMP_FILTER_H

#include <stddef.h>
#include <stdint.h>
#include <seccomp.h>

#define SB_ANYARG	(-1)

/*
 * One rule: the call is allowed when its argument arg compares with
 * value by op (SCMP_CMP_EQ by default; SCMP_CMP_MASKED_EQ compares
 * arg & mask), and, when arg2 is not SB_ANYARG, argument arg2 also
 * equals value2.  Several rules for one call: any of them allows it.
 */
struct sandbox_syscall {
	int		 nr;		/* SCMP_SYS(name) */
	int		 arg;		/* SB_ANYARG, or index of an argument */
	uint64_t	 value;		/* ... that must equal this */
	int		 op;		/* 0: SCMP_CMP_EQ, else an scmp_compare */
	uint64_t	 mask;		/* SCMP_CMP_MASKED_EQ */
	int		 arg2;		/* SB_ANYARG (0 in a table: see below) */
	uint64_t	 value2;
	int		 has2;		/* arg2 is used */
};

#define SB_ALLOW(name)		{ SCMP_SYS(name), SB_ANYARG, 0, 0, 0, 0, 0, 0 }
#define SB_ALLOW_ARG(name, i, v) { SCMP_SYS(name), (i), (uint64_t)(v), 0, 0, \
				  0, 0, 0 }
/* argument i below v (unsigned) */
#define SB_ALLOW_LT(name, i, v)	{ SCMP_SYS(name), (i), (uint64_t)(v), \
				  SCMP_CMP_LT, 0, 0, 0, 0 }
/* argument i equal to v, and argument j, masked by m, equal to w */
#define SB_ALLOW_ARG2M(name, i, v, j, m, w) { SCMP_SYS(name), (j), \
				  (uint64_t)(w), SCMP_CMP_MASKED_EQ, \
				  (uint64_t)(m), (i), (uint64_t)(v), 1 }

/* where a trapped process records the syscall number (set by proc.c) */
void	sandbox_report_to(volatile int32_t *slot);
/* the number a trapped process recorded there, or -1 */
int	sandbox_reported(void);
/* load the filter for role; fatal() if it cannot be loaded */
void	sandbox_apply(const char *role, const struct sandbox_syscall *,
	    size_t n);
/*
 * The same for a table and a second one built at run time (values
 * known only then, e.g. descriptor numbers); extra may be NULL.
 */
void	sandbox_apply2(const char *role, const struct sandbox_syscall *,
	    size_t n, const struct sandbox_syscall *extra, size_t nextra);
/*
 * Regress build (-DREGRESS) only: LENS_REGRESS_SIGSYS=ROLE[:CALL] makes
 * the process of that role try CALL once its filter is loaded (ptrace
 * when no CALL is named), to prove the filter kills it.  CALLs:
 * ptrace, socket-unix, socket-inet, socket-inet-dgram, socket-netlink,
 * connect, sendto-addr (on the descriptor set with
 * sandbox_regress_fd()).  Nothing in other builds.
 */
void	sandbox_regress(const char *role);
void	sandbox_regress_fd(int fd);
/* say that this process runs under a filter loaded by other means */
void	sandbox_filtered(void);
/* name of a syscall number on this architecture (static buffer) */
const char *sandbox_syscall_name(int nr);

#endif
