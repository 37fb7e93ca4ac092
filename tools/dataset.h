/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Datasets for the tools and benchmarks, each with a known character:
 *   repetitive  a sentence repeated (compresses very well)
 *   text        documentation text Debian ships (/usr/share/common-licenses,
 *               /usr/share/doc/PKG/copyright)
 *   binary      ELF binaries and libraries under /usr/bin and /usr/lib
 *   random      pseudo-random bytes (incompressible)
 *   zero        zeros (same-filled)
 *   mixed       64 KiB stripes: 35% text, 35% binary, 15% random, 15% zero
 *   file:PATH   the user's own file (a memory image, say), repeated
 * Files are read once, in sorted order, so a dataset is reproducible.
 */
#ifndef MEM_ARENA_TOOLS_DATASET_H
#define MEM_ARENA_TOOLS_DATASET_H

#include <stddef.h>
#include <stdint.h>

#define DATASET_NAMES "repetitive, text, binary, random, zero, mixed, file:PATH"

/* Fill @buf with @len bytes of dataset @spec; 0, or -1 with @err set. */
int dataset_fill(const char *spec, void *buf, size_t len, uint64_t seed,
		 char *err, size_t errlen);
/* Whether @spec names a dataset (file: is checked when filled). */
int dataset_valid(const char *spec);

#endif
