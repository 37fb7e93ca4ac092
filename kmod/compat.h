/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The only place that knows kernel differences.  Each MA_HAVE_* comes from
 * a feature test in kmod/Kbuild (a grep of the headers we build against),
 * not from version numbers.
 */
#ifndef _MEM_ARENA_COMPAT_H
#define _MEM_ARENA_COMPAT_H

#include <linux/mm.h>

/* 6.3 made vm_flags read-only behind vm_flags_set(). */
static inline void ma_vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
#ifdef MA_HAVE_VM_FLAGS_SET
	vm_flags_set(vma, flags);
#else
	vma->vm_flags |= flags;
#endif
}

#endif /* _MEM_ARENA_COMPAT_H */
