// SPDX-License-Identifier: GPL-2.0
/*
 * mem_arena_lz4bench: the physical limit for the benchmarks.  The kernel's
 * lib/lz4 alone, over the same 4 KiB chunks mem_arena compresses, with no
 * bookkeeping: write a dataset to /dev/mem_arena_lz4bench, then read one
 * line of results.  A test module only; mem_arena does not need it.
 *
 * Locking:
 *   ma_lzb_lock (mutex) guards the one buffer: the device admits one
 *   opener at a time (open returns -EBUSY otherwise).
 */
#define pr_fmt(fmt) "mem_arena_lz4bench: " fmt

#include <linux/fs.h>
#include <linux/ktime.h>
#include <linux/lz4.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#define MA_LZB_CHUNK	4096
/* Room for any output: LZ4 then skips its bounds checks, as in mem_arena. */
#define MA_LZB_SLOT	LZ4_COMPRESSBOUND(MA_LZB_CHUNK)
#define MA_LZB_MAX	(1UL << 30)

static DEFINE_MUTEX(ma_lzb_lock);
static bool ma_lzb_open;		/* protected by ma_lzb_lock */
static u8 *ma_lzb_data;			/* protected by ma_lzb_lock */
static size_t ma_lzb_len, ma_lzb_cap;	/* protected by ma_lzb_lock */

static int ma_lzb_open_fn(struct inode *inode, struct file *file)
{
	int err = 0;

	mutex_lock(&ma_lzb_lock);
	if (ma_lzb_open)
		err = -EBUSY;
	ma_lzb_open = !err;
	ma_lzb_len = 0;
	mutex_unlock(&ma_lzb_lock);
	return err;
}

static int ma_lzb_release(struct inode *inode, struct file *file)
{
	mutex_lock(&ma_lzb_lock);
	vfree(ma_lzb_data);
	ma_lzb_data = NULL;
	ma_lzb_len = 0;
	ma_lzb_cap = 0;
	ma_lzb_open = false;
	mutex_unlock(&ma_lzb_lock);
	return 0;
}

static ssize_t ma_lzb_write(struct file *file, const char __user *buf,
			    size_t len, loff_t *ppos)
{
	ssize_t ret = len;

	mutex_lock(&ma_lzb_lock);
	if (len > MA_LZB_MAX - ma_lzb_len) {
		ret = -EFBIG;
		goto out_unlock;
	}
	if (ma_lzb_len + len > ma_lzb_cap) {
		size_t cap = max(ma_lzb_cap * 2, ma_lzb_len + len);
		u8 *grown = vmalloc(min_t(size_t, cap, MA_LZB_MAX));

		if (!grown) {
			ret = -ENOMEM;
			goto out_unlock;
		}
		if (ma_lzb_data)
			memcpy(grown, ma_lzb_data, ma_lzb_len);
		vfree(ma_lzb_data);
		ma_lzb_data = grown;
		ma_lzb_cap = min_t(size_t, cap, MA_LZB_MAX);
	}
	if (copy_from_user(ma_lzb_data + ma_lzb_len, buf, len))
		ret = -EFAULT;
	else
		ma_lzb_len += len;
out_unlock:
	mutex_unlock(&ma_lzb_lock);
	return ret;
}

/* Compress every chunk, then decompress every chunk; report the times. */
static ssize_t ma_lzb_read(struct file *file, char __user *buf, size_t len,
			   loff_t *ppos)
{
	size_t chunks, i, out_total = 0, stored = 0;
	u64 t_comp, t_dec, t0;
	void *wrkmem, *cbuf = NULL, *dbuf = NULL;
	int *lens = NULL;
	char line[256];
	int n, bad = 0;

	if (*ppos)
		return 0;
	wrkmem = vmalloc(LZ4_MEM_COMPRESS);
	mutex_lock(&ma_lzb_lock);
	chunks = ma_lzb_len / MA_LZB_CHUNK;
	/* Compressed chunks kept apart, each in its own slot. */
	if (chunks) {
		cbuf = vmalloc(chunks * MA_LZB_SLOT);
		lens = vmalloc(chunks * sizeof(*lens));
	}
	dbuf = vmalloc(MA_LZB_CHUNK);
	if (!wrkmem || !dbuf || (chunks && (!cbuf || !lens))) {
		n = -ENOMEM;
		goto out_unlock;
	}
	/*
	 * Each pass is timed as a whole, one clock read at either end: a
	 * read per chunk would add the clock's cost to the limit (in a guest,
	 * an emulated hpet access per read).
	 */
	t0 = ktime_get_ns();
	for (i = 0; i < chunks; i++) {
		lens[i] = LZ4_compress_default(ma_lzb_data + i * MA_LZB_CHUNK,
					       cbuf + i * MA_LZB_SLOT, MA_LZB_CHUNK,
					       MA_LZB_SLOT, wrkmem);
		cond_resched();
	}
	t_comp = ktime_get_ns() - t0;
	/* What mem_arena would store: only chunks that shrink. */
	for (i = 0; i < chunks; i++) {
		if (lens[i] >= MA_LZB_CHUNK)
			lens[i] = 0;
		if (lens[i] > 0) {
			out_total += lens[i];
			stored++;
		}
	}
	t0 = ktime_get_ns();
	for (i = 0; i < chunks; i++) {
		if (lens[i] > 0 &&
		    LZ4_decompress_safe(cbuf + i * MA_LZB_SLOT, dbuf, lens[i],
					MA_LZB_CHUNK) != MA_LZB_CHUNK)
			bad++;
		cond_resched();
	}
	t_dec = ktime_get_ns() - t0;
	/* Checked apart, untimed: every stored chunk decompresses to itself. */
	for (i = 0; i < chunks && !bad; i++) {
		if (lens[i] <= 0)
			continue;
		LZ4_decompress_safe(cbuf + i * MA_LZB_SLOT, dbuf, lens[i], MA_LZB_CHUNK);
		bad += !!memcmp(dbuf, ma_lzb_data + i * MA_LZB_CHUNK, MA_LZB_CHUNK);
		cond_resched();
	}
	n = scnprintf(line, sizeof(line),
		      "bytes=%zu chunks=%zu stored=%zu compressed_bytes=%zu compress_ns=%llu decompress_ns=%llu errors=%d\n",
		      chunks * MA_LZB_CHUNK, chunks, stored, out_total, t_comp, t_dec, bad);
	if (n > len)
		n = -EINVAL;
	else if (copy_to_user(buf, line, n))
		n = -EFAULT;
	else
		*ppos = n;
out_unlock:
	mutex_unlock(&ma_lzb_lock);
	vfree(lens);
	vfree(dbuf);
	vfree(cbuf);
	vfree(wrkmem);
	return n;
}

static const struct file_operations ma_lzb_fops = {
	.owner = THIS_MODULE,
	.open = ma_lzb_open_fn,
	.release = ma_lzb_release,
	.write = ma_lzb_write,
	.read = ma_lzb_read,
	.llseek = noop_llseek,
};

static struct miscdevice ma_lzb_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "mem_arena_lz4bench",
	.fops = &ma_lzb_fops,
	.mode = 0600,
};

module_misc_device(ma_lzb_misc);
MODULE_DESCRIPTION("mem_arena benchmark: the kernel's LZ4 alone, as a limit");
MODULE_LICENSE("GPL");
