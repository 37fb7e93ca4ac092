// SPDX-License-Identifier: GPL-2.0
/*
 * A QEMU TCG plugin (make profile --insns): the guest instructions each
 * phase of arena_bench executes, per translation block, so that a phase's
 * work can be weighed without a clock.  A count does not move with host
 * load nor with what emulation makes slow or fast; it is the instruction
 * stream a CPU would run (a string instruction counts once per iteration,
 * as TCG repeats it).
 *
 * arena_bench marks a phase with two instructions no compiler emits:
 * "xchg %bx,%bx" (66 87 db) at its start zeroes every count, "xchg %cx,%cx"
 * (66 87 c9) at its end writes the nonzero ones to OUT/insns-NN.txt, one
 * "ADDRESS COUNT" line per block start (NN counts the phases from 0).
 * tools/bench/insn_report.py names the addresses from the guest's
 * /proc/kallsyms.  Counts are added inline, not atomically: exact with one
 * vCPU, as make profile --insns boots.
 *
 *   qemu-system-x86_64 ... -plugin tools/bin/insn_count.so,out=DIR
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu_plugin_abi.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

#define BUCKETS (1U << 18)

struct block {
	uint64_t vaddr;
	uint64_t count;		/* added to by translated code */
	struct block *next;
};

static struct block *table[BUCKETS];
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *out_dir;
static unsigned int phase;

static const unsigned char mark_begin[] = { 0x66, 0x87, 0xdb };
static const unsigned char mark_end[] = { 0x66, 0x87, 0xc9 };

static unsigned int bucket(uint64_t vaddr)
{
	return (unsigned int)((vaddr * 0x9E3779B97F4A7C15ULL) >> 46) & (BUCKETS - 1);
}

/* The counter of the blocks that start at @vaddr: one however often retranslated. */
static struct block *block_of(uint64_t vaddr)
{
	unsigned int b = bucket(vaddr);
	struct block *blk;

	pthread_mutex_lock(&table_lock);
	for (blk = table[b]; blk; blk = blk->next)
		if (blk->vaddr == vaddr)
			goto out;
	blk = calloc(1, sizeof(*blk));
	if (!blk) {
		fprintf(stderr, "insn_count: out of memory\n");
		abort();
	}
	blk->vaddr = vaddr;
	blk->next = table[b];
	table[b] = blk;
out:
	pthread_mutex_unlock(&table_lock);
	return blk;
}

static void on_begin(unsigned int vcpu, void *udata)
{
	struct block *blk;
	unsigned int b;

	(void)vcpu;
	(void)udata;
	pthread_mutex_lock(&table_lock);
	for (b = 0; b < BUCKETS; b++)
		for (blk = table[b]; blk; blk = blk->next)
			blk->count = 0;
	pthread_mutex_unlock(&table_lock);
}

static void on_end(unsigned int vcpu, void *udata)
{
	char path[4096];
	struct block *blk;
	unsigned int b;
	FILE *f;

	(void)vcpu;
	(void)udata;
	snprintf(path, sizeof(path), "%s/insns-%02u.txt", out_dir, phase++);
	f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "insn_count: %s: %s\n", path, strerror(errno));
		return;
	}
	pthread_mutex_lock(&table_lock);
	for (b = 0; b < BUCKETS; b++)
		for (blk = table[b]; blk; blk = blk->next)
			if (blk->count)
				fprintf(f, "%llx %llu\n", (unsigned long long)blk->vaddr,
					(unsigned long long)blk->count);
	pthread_mutex_unlock(&table_lock);
	if (fclose(f))
		fprintf(stderr, "insn_count: %s: %s\n", path, strerror(errno));
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t i, n = qemu_plugin_tb_n_insns(tb);
	struct block *blk = block_of(qemu_plugin_tb_vaddr(tb));

	(void)id;
	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64,
						 &blk->count, n);
	for (i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		const void *data = qemu_plugin_insn_data(insn);

		if (qemu_plugin_insn_size(insn) != sizeof(mark_begin))
			continue;
		if (!memcmp(data, mark_begin, sizeof(mark_begin)))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, on_begin,
						QEMU_PLUGIN_CB_NO_REGS, NULL);
		else if (!memcmp(data, mark_end, sizeof(mark_end)))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, on_end,
						QEMU_PLUGIN_CB_NO_REGS, NULL);
	}
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id,
					   const qemu_info_t *info,
					   int argc, char **argv)
{
	int i;

	(void)info;
	for (i = 0; i < argc; i++)
		if (!strncmp(argv[i], "out=", 4))
			out_dir = argv[i] + 4;
	if (!out_dir) {
		fprintf(stderr, "insn_count: needs out=DIR\n");
		return -1;
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
	return 0;
}
