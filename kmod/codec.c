// SPDX-License-Identifier: GPL-2.0
/*
 * Per-CPU codec streams.
 *
 * Locking:
 *   ma_stream.lock (mutex) guards one stream's buffers.  A task takes the
 *   stream of the CPU it runs on; if it migrates while holding it, another
 *   task on that CPU simply waits.  Taken inside a chunk lock, outside the
 *   pool lock; never two at once.
 */
#define pr_fmt(fmt) "mem_arena: " fmt

#include <linux/cpumask.h>
#include <linux/mem_arena.h>
#include <linux/percpu.h>
#include <linux/slab.h>

#include "codec.h"

const struct ma_codec_ops *ma_codec = &ma_codec_lz4;

static struct ma_stream __percpu *ma_streams;

static void ma_stream_free(struct ma_stream *stream)
{
	kvfree(stream->wrkmem);
	kvfree(stream->cbuf);
}

int ma_streams_init(void)
{
	int cpu;

	ma_streams = alloc_percpu(struct ma_stream);
	if (!ma_streams)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		struct ma_stream *stream = per_cpu_ptr(ma_streams, cpu);

		mutex_init(&stream->lock);
		stream->wrkmem = kvmalloc(ma_codec->wrkmem_size, GFP_KERNEL);
		stream->cbuf = kvmalloc(ma_codec->bound(MEM_ARENA_CHUNK_SIZE_MAX),
				       GFP_KERNEL);
		if (!stream->wrkmem || !stream->cbuf)
			goto out_free_streams;
	}
	return 0;

out_free_streams:
	ma_streams_exit();
	return -ENOMEM;
}

void ma_streams_exit(void)
{
	int cpu;

	if (!ma_streams)
		return;
	for_each_possible_cpu(cpu)
		ma_stream_free(per_cpu_ptr(ma_streams, cpu));
	free_percpu(ma_streams);
	ma_streams = NULL;
}

struct ma_stream *ma_stream_get(void)
{
	struct ma_stream *stream = raw_cpu_ptr(ma_streams);

	mutex_lock(&stream->lock);
	return stream;
}

void ma_stream_put(struct ma_stream *stream)
{
	mutex_unlock(&stream->lock);
}
