/*
 * TAP for the C unit tests (each includes this once): ok() prints one
 * test line and returns its condition; tap_plan() announces the number
 * of tests first, or tap_done() prints it last when it is only known
 * then; tap_done() is main's exit status (a failed test, or a count
 * other than the plan, fails).  ok_detail() adds "(detail)" when there
 * is one; tap_skip() counts n tests as skipped, with the reason.
 */
#ifndef LENS_REGRESS_TAP_H
#define LENS_REGRESS_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int	 tap_run, tap_failed, tap_planned = -1;

static int	 ok(int, const char *, ...)
		    __attribute__((format(printf, 2, 3), unused));

static int
ok(int cond, const char *fmt, ...)
{
	va_list	 ap;

	tap_run++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_run);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return cond;
}

static int __attribute__((unused))
ok_detail(int cond, const char *what, const char *detail)
{
	if (detail != NULL && *detail != '\0')
		return ok(cond, "%s (%s)", what, detail);
	return ok(cond, "%s", what);
}

static void __attribute__((unused))
tap_skip(int n, const char *what, const char *why)
{
	while (n-- > 0)
		ok(1, "%s # SKIP %s", what, why);
}

static void __attribute__((unused))
tap_plan(int n)
{
	tap_planned = n;
	printf("1..%d\n", n);
	fflush(stdout);
}

static int __attribute__((unused))
tap_done(void)
{
	if (tap_planned < 0)
		printf("1..%d\n", tap_run);
	else if (tap_run != tap_planned) {
		printf("# planned %d tests, ran %d\n", tap_planned, tap_run);
		return 1;
	}
	return tap_failed != 0;
}

#endif
