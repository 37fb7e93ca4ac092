# SPDX-License-Identifier: GPL-2.0
#
# mem_arena: `make` builds the module, the library, the tools and the
# selftests; `make check` runs the tests in a QEMU guest; `make demo` the
# tour.  See README.md.

# The kernel to build against: the running one when its build tree exists,
# else the newest installed (the one tools/vm-run boots).
KVER ?= $(shell if [ -d /lib/modules/$$(uname -r)/build ]; then uname -r; \
	else ls -d /lib/modules/*/build 2>/dev/null | sed 's|/lib/modules/||; s|/build||' | sort -V | tail -1; fi)
KDIR ?= /lib/modules/$(KVER)/build
# kselftest's harness, checkpatch and the ioctl registry: the newest
# installed Debian linux-source-X.Y tarball (make deps installs one);
# KSRC_TAR= another, KSRC_PREFIX= its top directory if not its name.
KSRC_TAR ?= $(shell ls /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -1)
KSRC_PREFIX ?= $(patsubst %.tar.xz,%,$(notdir $(KSRC_TAR)))

# MA_WERROR=1: warnings are errors (make check, lint, matrix and CI set
# it).  Not the default: a newer compiler's new warning must not stop a
# user's build or make install.
MA_WERROR ?=
export MA_WERROR

PREFIX ?= /usr/local
UDEVDIR ?= /etc/udev/rules.d
BUILD := build
# The one version of the module, the library and the packages.
VERSION := $(shell cat VERSION)
DKMS_SRC = $(DESTDIR)/usr/src/mem-arena-$(VERSION)
export CC ?= cc

all: module lib tools selftests man

module:
	@test -d "$(KDIR)" || { echo "no kernel build tree at '$(KDIR)' (make deps)" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

# The LZ4-alone limit of make bench: a test module, never installed.
bench-module:
	$(MAKE) -C $(KDIR) M=$(CURDIR)/bench/kmod modules

lib:
	$(MAKE) -C libmemarena

# The debug guest kernel (KASAN, KFENCE, lockdep, DEBUG_VM, kmemleak, fault
# injection), built once into ~/.cache/mem_arena; see tools/debug-kernel.
# kcsan-kernel: its KCSAN flavour (KCSAN instead of KASAN, KFENCE, kmemleak).
debug-kernel:
	@tools/debug-kernel >/dev/null
kcsan-kernel:
	@tools/debug-kernel --kcsan >/dev/null

# The module again, for the debug (or KCSAN) kernel, in a copy of the
# sources so the builds do not share objects.
module-debug module-kcsan: module-%: %-kernel
	@mkdir -p $(BUILD)/kmod-$*
	@cp Kbuild VERSION $(BUILD)/kmod-$*/
	@rm -rf $(BUILD)/kmod-$*/kmod $(BUILD)/kmod-$*/uapi
	@cp -r kmod uapi $(BUILD)/kmod-$*/
	@rm -f $(BUILD)/kmod-$*/kmod/*.o $(BUILD)/kmod-$*/kmod/*.ko
	$(MAKE) -C $$(tools/debug-kernel $(if $(filter kcsan,$*),--kcsan) --print-dir)/build \
		M=$(CURDIR)/$(BUILD)/kmod-$* modules
	@cp $(BUILD)/kmod-$*/kmod/mem_arena.ko $(BUILD)/kmod-$*/mem_arena.ko

tools: lib
	$(MAKE) -C tools

man:
	$(MAKE) -C man

# kselftest's harness and checkpatch come from Debian's linux-source
# tarball at build time; they are never committed.  So does the kernel's
# LZ4, which make profile's bench_calib runs in userspace.
KSRC_FILES := tools/testing/selftests/kselftest_harness.h \
	tools/testing/selftests/kselftest.h \
	scripts/checkpatch.pl scripts/spelling.txt scripts/const_structs.checkpatch \
	Documentation/userspace-api/ioctl/ioctl-number.rst \
	include/linux/lz4.h lib/lz4/lz4_compress.c lib/lz4/lz4_decompress.c \
	lib/lz4/lz4defs.h

$(BUILD)/ksrc/.stamp: $(KSRC_TAR) Makefile
	@test -r "$(KSRC_TAR)" || { echo "missing linux-source tarball '$(KSRC_TAR)' (make deps)" >&2; exit 1; }
	rm -rf $(BUILD)/ksrc && mkdir -p $(BUILD)/ksrc
	tar -xJf $(KSRC_TAR) -C $(BUILD)/ksrc --strip-components=1 \
		$(addprefix $(KSRC_PREFIX)/,$(KSRC_FILES))
	touch $@

selftests: lib $(BUILD)/ksrc/.stamp
	$(MAKE) -C selftests KSELFTEST_DIR=$(CURDIR)/$(BUILD)/ksrc/tools/testing/selftests

deps:
	@tools/install-deps

lint: $(BUILD)/ksrc/.stamp
	@tools/lint "$(KDIR)" $(BUILD)/ksrc/scripts/checkpatch.pl

check: deps
	@$(MAKE) --no-print-directory all MA_WERROR=1
	@$(MAKE) -s --no-print-directory lint
	@$(MAKE) --no-print-directory module-debug MA_WERROR=1
	@tools/run-check

# The data-race detector, not part of make check (its kernel is another
# 20-minute build): every selftest, or KCSAN_TESTS="race_test ...", on the
# KCSAN flavour of the debug kernel; a race reported in the module's code
# fails, the core kernel's own are listed (tools/vm-run --kernel kcsan).
kcsan: deps
	@$(MAKE) --no-print-directory all MA_WERROR=1
	@$(MAKE) --no-print-directory module-kcsan MA_WERROR=1
	@MA_CHECK_KERNELS=kcsan MA_CHECK_PACKAGES=0 tools/run-check $(KCSAN_TESTS)

# Every kernel a user may run: the host's and the other Debian suites'
# (tools/run-matrix, tools/matrix-kernel), each with its suite's compiler
# and C library.  MATRIX="host sid ..." picks; matrix-clean removes the
# cached chroots and kernels.
matrix: deps
	@$(MAKE) --no-print-directory all MA_WERROR=1
	@tools/run-matrix $(MATRIX)

matrix-list:
	@tools/matrix-kernel list

matrix-clean:
	@tools/matrix-kernel list
	tools/matrix-kernel clean
	rm -rf $(BUILD)/matrix

demo: deps
	@$(MAKE) --no-print-directory all
	@tools/run-demo

# QUICK=1: 32 MiB regions, a smoke run in about three minutes.  RUNS=N:
# every comparison N times, interleaved; the table gives best and median.
bench: deps
	@$(MAKE) --no-print-directory all bench-module
	@tools/bench/run-bench $(if $(QUICK),--quick) $(if $(RUNS),--runs $(RUNS))

# Where the CPU goes, per phase and component, from perf in the guest;
# INSNS=1: the instructions each phase executes, counted by QEMU.
profile: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory -C tools bin/bench_calib KSRC=$(CURDIR)/$(BUILD)/ksrc
	@tools/bench/profile $(if $(DATASET),--dataset $(DATASET)) $(if $(REGION_MB),--region-mb $(REGION_MB)) \
		$(if $(CHUNK_KB),--chunk-kb $(CHUNK_KB)) $(if $(filter 1,$(INSNS)),--insns)

# redis-server, sqlite3 and python3 plain and under memarena-run, in one
# guest: results identical, footprint, throughput, latency.
realworld: deps
	@$(MAKE) --no-print-directory all
	@tools/realworld/run-realworld $(if $(MODES),--modes "$(MODES)")

# The fuzzer (selftests/fuzz_test) for SECONDS in one guest, on the debug
# kernel unless SOAK_KERNEL says otherwise (empty: the packaged one);
# INJECT=PCT fails that share of the workers' allocations (debug kernel).
SOAK_KERNEL ?= debug
SECONDS ?= 600
INJECT ?= 0
soak: deps
	@$(MAKE) --no-print-directory all $(if $(filter debug,$(SOAK_KERNEL)),module-debug)
	tools/vm-run $(if $(SOAK_KERNEL),--kernel $(SOAK_KERNEL)) --smp 2 --mem 1536 \
		--timeout $$(($(SECONDS) + 600)) -- selftests/bin/fuzz_test --seconds $(SECONDS) \
		--inject $(INJECT)

install: all
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules_install
	$(MAKE) -C libmemarena install PREFIX=$(PREFIX)
	$(MAKE) -C tools install PREFIX=$(PREFIX)
	$(MAKE) -C man install PREFIX=$(PREFIX)
	$(MAKE) install-udev
	-depmod -a $(KVER)

install-udev:
	install -D -m 644 udev/70-mem_arena.rules $(DESTDIR)$(UDEVDIR)/70-mem_arena.rules

# The module's sources and dkms.conf in /usr/src/mem-arena-VERSION, for
# `dkms add/build/install mem-arena/VERSION` (the mem-arena-dkms package
# ships the same files).
install-dkms:
	install -d $(DKMS_SRC)/kmod $(DKMS_SRC)/uapi/linux
	install -m 644 Kbuild VERSION $(DKMS_SRC)/
	install -m 644 kmod/Kbuild $(filter-out %.mod.c,$(wildcard kmod/*.c)) kmod/*.h $(DKMS_SRC)/kmod/
	install -m 644 uapi/linux/mem_arena.h $(DKMS_SRC)/uapi/linux/
	sed 's/#MODULE_VERSION#/$(VERSION)/' dkms.conf > $(DKMS_SRC)/dkms.conf

# The Debian packages (debian/), built from a copy of the tree into
# build/deb/, then lintian; see tools/build-deb.
deb: deps
	@tools/build-deb

# The packages installed, used and purged in a Debian chroot, the module
# DKMS built there booted in a guest; see tools/check-packages.
check-packages: deb
	@tools/check-packages

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	-$(MAKE) -C $(KDIR) M=$(CURDIR)/bench/kmod clean
	$(MAKE) -C libmemarena clean
	$(MAKE) -C tools clean
	$(MAKE) -C selftests clean
	rm -rf $(BUILD)

.PHONY: install-udev install-dkms deb check-packages all module bench-module module-debug module-kcsan debug-kernel kcsan-kernel kcsan lib tools selftests man deps lint check matrix matrix-list matrix-clean demo bench profile realworld soak install clean
