/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Codecs as ops tables: a second codec is one more file and one more entry
 * in ma_codecs[].  Streams hold a CPU's codec buffers.
 */
#ifndef _MEM_ARENA_CODEC_H
#define _MEM_ARENA_CODEC_H

#include <linux/mutex.h>
#include <linux/types.h>

struct ma_codec_ops {
	const char *name;
	size_t wrkmem_size;
	/* Output length, or 0 when it does not fit in @dst_cap. */
	unsigned int (*compress)(const void *src, unsigned int src_len,
				 void *dst, unsigned int dst_cap, void *wrkmem);
	/* The most @src_len bytes can compress to. */
	unsigned int (*bound)(unsigned int src_len);
	/* 0 when exactly @dst_len bytes came out, else -EINVAL. */
	int (*decompress)(const void *src, unsigned int src_len,
			  void *dst, unsigned int dst_len);
};

extern const struct ma_codec_ops ma_codec_lz4;

/*
 * One per possible CPU, allocated at load so CPU hotplug cannot free one
 * in use.  The mutex (not preemption) guards it: holders may sleep.
 */
struct ma_stream {
	struct mutex lock;
	void *wrkmem;
	void *cbuf;		/* compressor output, bound(MEM_ARENA_CHUNK_SIZE_MAX) */
};

extern const struct ma_codec_ops *ma_codec;

int ma_streams_init(void);
void ma_streams_exit(void);
struct ma_stream *ma_stream_get(void);
void ma_stream_put(struct ma_stream *stream);

#endif /* _MEM_ARENA_CODEC_H */
