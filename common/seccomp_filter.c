/*
 * seccomp for Lens processes, with libseccomp.  The default action is
 * SECCOMP_RET_TRAP so that the process can say which call it made; the
 * SIGSYS handler stores the number in a page shared with the parent and
 * issues the forbidden call again, which the kernel, finding SIGSYS
 * blocked inside its own handler, turns into death by SIGSYS.  No other
 * syscall is needed for that.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <netinet/in.h>

#include "log.h"
#include "seccomp_filter.h"

static volatile int32_t	*report_slot;

#if defined(__SANITIZE_ADDRESS__) || defined(LENS_SANITIZE)
/*
 * LeakSanitizer stops the world at exit with clone(2) and ptrace(2),
 * which no filter allows: a sandboxed process skips the leak check
 * (the tools and tests, which are not sandboxed, keep it).
 */
static int	 sandboxed;
int		 __lsan_is_turned_off(void);

int
__lsan_is_turned_off(void)
{
	return sandboxed;
}
#define SET_SANDBOXED()	(sandboxed = 1)
#else
#define SET_SANDBOXED()	do { } while (0)
#endif

/*
 * Calls the sanitizer runtimes make (reports, shadow memory, stack
 * unwinding).  Only in sanitizer builds.
 */
static const struct sandbox_syscall sanitizer_syscalls[] = {
	SB_ALLOW(mmap), SB_ALLOW(munmap), SB_ALLOW(mprotect),
	SB_ALLOW(madvise), SB_ALLOW(openat), SB_ALLOW(readlink),
	SB_ALLOW(readlinkat), SB_ALLOW(getpid), SB_ALLOW(gettid),
	SB_ALLOW(tgkill), SB_ALLOW(sched_yield), SB_ALLOW(sigaltstack),
	SB_ALLOW(rt_sigaction), SB_ALLOW(rt_sigprocmask), SB_ALLOW(prctl),
	SB_ALLOW(getrlimit), SB_ALLOW(prlimit64), SB_ALLOW(write),
	SB_ALLOW(close), SB_ALLOW(fstat), SB_ALLOW(newfstatat),
	SB_ALLOW(pread64), SB_ALLOW(read), SB_ALLOW(exit_group),
	SB_ALLOW(futex), SB_ALLOW(clock_gettime),
};

static void
sigsys_handler(int sig, siginfo_t *si, void *uctx)
{
	(void)sig;
	if (report_slot != NULL)
		*report_slot = si->si_syscall;
	/*
	 * SIGSYS is blocked here: trapping again kills us with SIGSYS.
	 * Again with the same arguments, so that a rule that looks at them
	 * (sendto to a descriptor, socket of a family) traps it again.
	 */
#if defined(__x86_64__)
	{
		const greg_t *g = ((ucontext_t *)uctx)->uc_mcontext.gregs;

		syscall(si->si_syscall, g[REG_RDI], g[REG_RSI], g[REG_RDX],
		    g[REG_R10], g[REG_R8], g[REG_R9]);
	}
#elif defined(__aarch64__)
	{
		const unsigned long long *r =
		    ((ucontext_t *)uctx)->uc_mcontext.regs;

		syscall(si->si_syscall, r[0], r[1], r[2], r[3], r[4], r[5]);
	}
#else
	(void)uctx;
	syscall(si->si_syscall, 0, 0, 0, 0, 0, 0);
#endif
	_exit(128 + SIGSYS);	/* not reached */
}

/* a process that loads a filter of its own (not sandbox_apply) */
void
sandbox_filtered(void)
{
	SET_SANDBOXED();
}

void
sandbox_report_to(volatile int32_t *slot)
{
	report_slot = slot;
}

int
sandbox_reported(void)
{
	return report_slot != NULL ? *report_slot : -1;
}

const char *
sandbox_syscall_name(int nr)
{
	static char	 name[64];
	char		*s;

	if ((s = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr))
	    == NULL) {
		snprintf(name, sizeof(name), "#%d", nr);
		return name;
	}
	strlcpy(name, s, sizeof(name));
	free(s);
	return name;
}

static void
add_rules(scmp_filter_ctx ctx, const char *role,
    const struct sandbox_syscall *list, size_t n)
{
	size_t	 i;
	int	 rc;

	for (i = 0; i < n; i++) {
		if (list[i].nr < 0)	/* not on this architecture */
			continue;
		if (list[i].arg == SB_ANYARG)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, list[i].nr,
			    0);
		else if (list[i].op == SCMP_CMP_MASKED_EQ && list[i].has2)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, list[i].nr,
			    2, SCMP_CMP(list[i].arg, SCMP_CMP_MASKED_EQ,
			    list[i].mask, list[i].value),
			    SCMP_CMP(list[i].arg2, SCMP_CMP_EQ,
			    list[i].value2));
		else if (list[i].op == SCMP_CMP_MASKED_EQ)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, list[i].nr,
			    1, SCMP_CMP(list[i].arg, SCMP_CMP_MASKED_EQ,
			    list[i].mask, list[i].value));
		else
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, list[i].nr,
			    1, SCMP_CMP(list[i].arg, list[i].op == 0 ?
			    SCMP_CMP_EQ : (enum scmp_compare)list[i].op,
			    list[i].value, 0));
		if (rc < 0)
			fatalx("%s: seccomp rule for %s: %s", role,
			    sandbox_syscall_name(list[i].nr), strerror(-rc));
	}
}

void
sandbox_apply(const char *role, const struct sandbox_syscall *list,
    size_t n)
{
	sandbox_apply2(role, list, n, NULL, 0);
}

void
sandbox_apply2(const char *role, const struct sandbox_syscall *list,
    size_t n, const struct sandbox_syscall *extra, size_t nextra)
{
	struct sigaction	 sa;
	scmp_filter_ctx		 ctx;
	int			 rc;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sigsys_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) == -1)
		fatal("%s: sigaction SIGSYS", role);

	if ((ctx = seccomp_init(SCMP_ACT_TRAP)) == NULL)
		fatalx("%s: seccomp_init failed", role);
	add_rules(ctx, role, list, n);
	if (extra != NULL)
		add_rules(ctx, role, extra, nextra);
	/* every process may exit and return from a signal handler */
	add_rules(ctx, role, (const struct sandbox_syscall[]){
	    SB_ALLOW(exit), SB_ALLOW(exit_group), SB_ALLOW(rt_sigreturn) },
	    3);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__) || \
    defined(LENS_SANITIZE)
	add_rules(ctx, role, sanitizer_syscalls,
	    sizeof(sanitizer_syscalls) / sizeof(sanitizer_syscalls[0]));
#else
	(void)sanitizer_syscalls;
#endif
	SET_SANDBOXED();
	if ((rc = seccomp_load(ctx)) < 0)
		fatalx("%s: seccomp_load: %s", role, strerror(-rc));
	seccomp_release(ctx);
	sandbox_regress(role);
}

static int	 regress_fd = -1;

void
sandbox_regress_fd(int fd)
{
	regress_fd = fd;
}

void
sandbox_regress(const char *role)
{
#ifdef REGRESS
	struct sockaddr_in	 sin;
	const char		*want, *call;
	size_t			 len;

	/* test-only: make a forbidden syscall to prove the filter kills */
	if ((want = getenv("LENS_REGRESS_SIGSYS")) == NULL)
		return;
	len = strcspn(want, ":");
	if (strlen(role) != len || strncmp(want, role, len) != 0)
		return;
	call = want[len] == ':' ? want + len + 1 : "ptrace";
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(9);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	log_info("regress: %s tries %s under seccomp", role, call);
	if (strcmp(call, "ptrace") == 0)
		(void)syscall(SYS_ptrace, 0, 0, 0, 0);
	else if (strcmp(call, "socket-unix") == 0)
		(void)socket(AF_UNIX, SOCK_STREAM, 0);
	else if (strcmp(call, "socket-inet") == 0)
		(void)socket(AF_INET, SOCK_STREAM, 0);
	else if (strcmp(call, "socket-inet-dgram") == 0)
		(void)socket(AF_INET, SOCK_DGRAM, 0);
	else if (strcmp(call, "socket-netlink") == 0)
		(void)socket(AF_NETLINK, SOCK_RAW, 0);
	else if (strcmp(call, "connect") == 0)
		(void)connect(regress_fd, (struct sockaddr *)&sin,
		    sizeof(sin));
	else if (strcmp(call, "sendto-addr") == 0)
		(void)sendto(regress_fd, "x", 1, 0, (struct sockaddr *)&sin,
		    sizeof(sin));
	else
		fatalx("regress: unknown call %s", call);
	log_info("regress: %s survived %s", role, call);
#else
	(void)role;
#endif
}
