/*
 * Sizes given on a command line (lensctl --memory, lensvmm -C): digits
 * with an optional unit b, k, m, g or t (either case; k, m, g and t
 * may be followed by b or ib), powers of 1024.
 */
#ifndef LENS_SIZE_H
#define LENS_SIZE_H

#include <stdint.h>

/* 0 and the bytes in *out, or -1 and in *why "not a size", "unknown
 * unit" or "too large" */
int	size_parse(const char *s, uint64_t *out, const char **why);

#endif
