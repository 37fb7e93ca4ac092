/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Just enough of the kernel's headers to build lib/lz4 from the kernel's
 * source in userspace, for bench_calib: the same C as the guest kernel's
 * LZ4, compiled as the kernel compiles it (no SSE), so that its cost on
 * the host and in the guest compare.  tools/Makefile makes the few
 * <linux/...> and <asm/...> headers lib/lz4 names include this.
 */
#ifndef MEM_ARENA_KSHIM_H
#define MEM_ARENA_KSHIM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define CONFIG_64BIT 1
#define __LITTLE_ENDIAN 1234
#define BITS_PER_LONG 64
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define EXPORT_SYMBOL(sym)
#define MODULE_LICENSE(s)
#define MODULE_DESCRIPTION(s)
#define BUILD_BUG_ON(c) _Static_assert(!(c), #c)
#define min(a, b) ((a) < (b) ? (a) : (b))

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int32_t s32;

static inline unsigned long __ffs(unsigned long x) { return __builtin_ctzl(x); }
static inline unsigned long __fls(unsigned long x) { return 63 - __builtin_clzl(x); }

#define get_unaligned(p) \
	({ __typeof__(*(p)) v_; memcpy((void *)&v_, (p), sizeof(v_)); v_; })
#define put_unaligned(v, p) \
	({ __typeof__(*(p)) v_ = (v); memcpy((p), &v_, sizeof(v_)); (void)0; })
#define get_unaligned_le16(p) get_unaligned((const u16 *)(p))
#define put_unaligned_le16(v, p) put_unaligned((u16)(v), (u16 *)(p))

#endif
