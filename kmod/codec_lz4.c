// SPDX-License-Identifier: GPL-2.0
/*
 * LZ4 from the kernel's lib/lz4.
 *
 * Locking: none; the caller owns the buffers (a locked ma_stream).
 */
#include <linux/lz4.h>

#include "codec.h"

static unsigned int ma_lz4_compress(const void *src, unsigned int src_len,
				    void *dst, unsigned int dst_cap, void *wrkmem)
{
	int ret = LZ4_compress_default(src, dst, src_len, dst_cap, wrkmem);

	return ret > 0 ? ret : 0;
}

static unsigned int ma_lz4_bound(unsigned int src_len)
{
	return LZ4_COMPRESSBOUND(src_len);
}

static int ma_lz4_decompress(const void *src, unsigned int src_len,
			     void *dst, unsigned int dst_len)
{
	int ret = LZ4_decompress_safe(src, dst, src_len, dst_len);

	return ret == dst_len ? 0 : -EINVAL;
}

const struct ma_codec_ops ma_codec_lz4 = {
	.name = "lz4",
	.wrkmem_size = LZ4_MEM_COMPRESS,
	.compress = ma_lz4_compress,
	.bound = ma_lz4_bound,
	.decompress = ma_lz4_decompress,
};
