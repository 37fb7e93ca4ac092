/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * MEMARENA_HEAP_SIZE's syntax, for memarena-run(1), which checks --heap,
 * and for libmemarena-heap.so, which reads it: decimal digits, then
 * optionally K, M or G (powers of 1024).
 */
#ifndef MEMARENA_HEAP_SIZE_H
#define MEMARENA_HEAP_SIZE_H

#include <errno.h>
#include <stdlib.h>

/* The bytes @s says, or 0 when it is not a size or does not fit 64 bits. */
static inline unsigned long long memarena_heap_size(const char *s)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return 0;
	switch (*end) {
	case 'G': case 'g': shift += 10; /* fall through */
	case 'M': case 'm': shift += 10; /* fall through */
	case 'K': case 'k': shift += 10; end++; break;
	}
	if (*end || v > ~0ULL >> shift)
		return 0;
	return v << shift;
}

#endif /* MEMARENA_HEAP_SIZE_H */
