# gvm-dsm top-level build (GNU make). Everything lands in $(BUILD)/.
#   make            library (static + shared), tools, tests
#   make check      every test; last line "N passed, N failed[, N skipped]"
#   make bench      benchmarks
#   make deps       install the Debian packages the build and tests use
#   make config     the optional features this build has (scripts/configure.sh)
#   make install    PREFIX=/usr/local (headers, libs, gvmdsm.pc, tools)
#   make clean

PREFIX  ?= /usr/local
BUILD   ?= build
CC      ?= cc
CFLAGS  ?= -O2 -g
VERSION := 0.1.0

# Optional features (libpmix, liburing, libdaxctl): scripts/configure.sh
# asks pkg-config, after `deps.sh ensure` when the goal is check or bench
# (so what it just installed is seen), before anything is built. It rewrites
# $(BUILD)/config.{mk,h} only when the answer changes; make then rereads
# this file with the new config.mk, and every object depends on config.h:
# a changed answer rebuilds everything, so no build mixes two of them.
# A bare `make` builds everything (the config rule below would otherwise
# be the first target, and the default).
.DEFAULT_GOAL := all
CONFIG_H    := $(BUILD)/config.h
NO_CONFIG   := clean deps deps-check
ifneq ($(if $(MAKECMDGOALS),$(filter-out $(NO_CONFIG),$(MAKECMDGOALS)),all),)
include $(BUILD)/config.mk
endif
$(BUILD)/config.mk: $(if $(filter check bench,$(MAKECMDGOALS)),deps-check) FORCE
	@scripts/configure.sh $(BUILD)
$(CONFIG_H): $(BUILD)/config.mk ;
FORCE:

WARN     := -Wall -Wextra -Werror -Wshadow -Wvla -Wmissing-prototypes -Wstrict-prototypes
BASE     = -std=gnu11 -fPIC -pthread -D_GNU_SOURCE -DGVM_VERSION='"$(VERSION)"' $(WARN) \
	   -include $(CONFIG_H) $(CONFIG_CFLAGS)
INC      := -Icore/include -Icore
# libcrypto (libssl-dev) is required: core/auth.c's HMAC (core/os/crypto_user.c).
LIBS     = $(CONFIG_LIBS) -lcrypto
# The engine also builds in the kernel: no floating point, no VLAs.
CORE_EXTRA := -mgeneral-regs-only

CORE_SRCS := core/ivy.c core/manager.c core/wire.c core/transport.c core/auth.c core/policy/builtin.c core/policy/hotpage.c core/policy/readahead.c
USER_SRCS := core/os/os_user.c core/os/crypto_user.c core/user/transport_registry.c core/user/cluster.c core/user/progress.c core/user/region.c core/user/loopback.c core/user/secret.c
TP_SRCS   :=
include core/user/build.mk transports/sim/build.mk transports/tcp/build.mk transports/cxl/build.mk
LIB_SRCS  := $(CORE_SRCS) $(USER_SRCS) $(TP_SRCS)

# A rule's sources and objects, less the config.h it also depends on.
# Headers everything below may include: programs compiled from sources
# rather than objects (sanitizer and fuzz builds, mutants, tests) depend
# on them, so a header change rebuilds them too.
SRC_HDRS := $(wildcard core/*.h core/os/*.h core/include/gvm/*.h core/user/*.h core/policy/*.h transports/*/*.h tests/*.h tests/unit/*.h)
INPUTS = $(filter-out $(CONFIG_H) %.h,$^)
obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
LIB_OBJS := $(call obj,$(LIB_SRCS))
SIM_OBJS := $(call obj,transports/sim/gvm-sim.c)

EXAMPLES   := $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/*.c))
TOOLS      := $(BUILD)/gvmrun $(BUILD)/gvm-bench $(BUILD)/gvm-cxl-info
MULTI      := $(patsubst tests/multi/%.c,$(BUILD)/tests/multi-%,$(wildcard tests/multi/*.c))
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit-%,$(wildcard tests/unit/*.c))
MUTANTS    := $(BUILD)/tests/gvm-sim-mut1 $(BUILD)/tests/gvm-sim-mut2 $(BUILD)/tests/gvm-sim-mut3

all: $(BUILD)/libgvmdsm.a $(BUILD)/libgvmdsm.so $(BUILD)/libgvmdsm.so.0 $(BUILD)/gvm-sim $(TOOLS) $(EXAMPLES) $(UNIT_TESTS) $(MUTANTS) $(MULTI) $(BUILD)/tests/conformance $(BUILD)/tests/tcp-queue

$(BUILD)/obj/core/%.o: core/%.c $(CONFIG_H)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(CORE_EXTRA) $(INC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/core/os/%.o: core/os/%.c $(CONFIG_H)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(INC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/core/user/%.o: core/user/%.c $(CONFIG_H)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(INC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.o: %.c $(CONFIG_H)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(INC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libgvmdsm.a: $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/libgvmdsm.so: $(LIB_OBJS) core/libgvmdsm.map
	$(CC) -shared -pthread -Wl,-soname,libgvmdsm.so.0 -Wl,--version-script=core/libgvmdsm.map $(LIB_OBJS) $(LIBS) -o $@

# The soname: what a program linked against $(BUILD)/ asks for at run time.
$(BUILD)/libgvmdsm.so.0: $(BUILD)/libgvmdsm.so
	ln -sf libgvmdsm.so $@

# Tools link the objects, not the archive: backends register themselves
# from constructors the linker would otherwise drop.
$(BUILD)/gvm-sim: $(SIM_OBJS) $(LIB_OBJS)
	$(CC) $(CFLAGS) -pthread $^ $(LIBS) -o $@

BENCH_SRCS := $(wildcard bench/*.c)
$(BUILD)/gvm-bench: $(call obj,$(BENCH_SRCS)) $(LIB_OBJS)
	$(CC) $(CFLAGS) -pthread $^ $(LIBS) -lm -o $@

$(BUILD)/gvmrun: tools/gvmrun.c $(LIB_OBJS) $(CONFIG_H)
	$(CC) $(BASE) $(INC) $(CFLAGS) $(INPUTS) $(LIBS) -o $@

$(BUILD)/gvm-cxl-info: tools/gvm-cxl-info.c $(LIB_OBJS) $(CONFIG_H)
	$(CC) $(BASE) $(INC) $(CFLAGS) $(INPUTS) $(LIBS) -o $@

$(BUILD)/examples/%: examples/%.c $(LIB_OBJS) $(CONFIG_H)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(INC) $(CFLAGS) $(INPUTS) $(LIBS) -o $@

$(BUILD)/tests/multi-%: tests/multi/%.c $(LIB_OBJS) $(SRC_HDRS) $(CONFIG_H)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(INC) $(CFLAGS) $(INPUTS) $(LIBS) -o $@

# Mutants: the engine with one protocol step broken on purpose
# (GVM_MUTATION in core/ivy.c). The simulator must catch each.
$(BUILD)/tests/gvm-sim-mut%: $(SIM_OBJS) $(filter-out $(BUILD)/obj/core/ivy.o,$(LIB_OBJS)) core/ivy.c $(SRC_HDRS) $(CONFIG_H)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(CORE_EXTRA) $(INC) $(CFLAGS) -DGVM_MUTATION=$* -c core/ivy.c -o $(@D)/ivy-mut$*.o
	$(CC) $(CFLAGS) -pthread $(filter %.o,$^) $(@D)/ivy-mut$*.o $(LIBS) -o $@

# Linked from objects so every backend's registration is in.
$(BUILD)/tests/conformance: tests/transport/conformance.c $(LIB_OBJS) $(SRC_HDRS) $(CONFIG_H)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(INC) $(CFLAGS) $(INPUTS) $(LIBS) -o $@

# Backend-specific checks, linked like the conformance suite (every backend in).
$(BUILD)/tests/tcp-queue: tests/transport/tcp_queue.c $(LIB_OBJS) $(SRC_HDRS) $(CONFIG_H)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(INC) $(CFLAGS) $(INPUTS) $(LIBS) -o $@

$(BUILD)/asan/conformance: tests/transport/conformance.c $(LIB_SRCS) $(SRC_HDRS) $(CONFIG_H)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(INC) -O1 -g $(SAN) $(INPUTS) $(LIBS) -o $@

$(BUILD)/tests/unit-%: tests/unit/%.c $(BUILD)/libgvmdsm.a $(SRC_HDRS) $(CONFIG_H)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(INC) $(CFLAGS) $< $(BUILD)/libgvmdsm.a $(LIBS) -o $@

# Sanitizer build of the simulator and unit tests (ASan + UBSan).
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
$(BUILD)/asan/gvm-sim: $(LIB_SRCS) transports/sim/gvm-sim.c $(SRC_HDRS) $(CONFIG_H)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(INC) -O1 -g $(SAN) $(INPUTS) $(LIBS) -o $@

# The CXL ring's producer and consumer threads under ThreadSanitizer.
$(BUILD)/tsan/unit-ring: tests/unit/ring.c transports/cxl/ring.c $(SRC_HDRS) $(CONFIG_H)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(INC) -O1 -g -fsanitize=thread $(INPUTS) -o $@

check: all $(BUILD)/asan/gvm-sim $(BUILD)/asan/conformance $(BUILD)/tsan/unit-ring
	@BUILD=$(BUILD) tests/run.sh

# libFuzzer targets (tests/fuzz/README.md), built with clang when it has
# libFuzzer; `make fuzz` runs each for FUZZ_SECONDS (make check: a smoke).
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,%,$(filter-out tests/fuzz/seeds.c,$(wildcard tests/fuzz/*.c)))
FUZZ_FLAGS   = -std=gnu11 -pthread -D_GNU_SOURCE $(WARN) -g -O1 -fno-omit-frame-pointer \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_SRCS_wire      := core/wire.c
FUZZ_SRCS_tcp_hello := core/wire.c core/transport.c core/auth.c core/os/os_user.c core/os/crypto_user.c
FUZZ_SRCS_cxl_ring  := transports/cxl/ring.c
FUZZ_SRCS_engine    := $(CORE_SRCS) core/os/os_user.c core/os/crypto_user.c core/user/transport_registry.c transports/sim/sim.c
$(BUILD)/fuzz/%: tests/fuzz/%.c $(CONFIG_H) $(SRC_HDRS) $(CORE_SRCS) core/os/os_user.c core/os/crypto_user.c core/user/transport_registry.c transports/sim/sim.c transports/cxl/ring.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -include $(CONFIG_H) $(INC) $< $(FUZZ_SRCS_$*) -lcrypto -o $@
$(BUILD)/fuzz/seeds: tests/fuzz/seeds.c $(LIB_OBJS) $(CONFIG_H)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(INC) $(CFLAGS) $< $(LIB_OBJS) $(LIBS) -o $@
fuzz-build: $(addprefix $(BUILD)/fuzz/,$(FUZZ_TARGETS)) $(BUILD)/fuzz/seeds
fuzz: fuzz-build
	@BUILD=$(BUILD) tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# The default suite: transport latency and bandwidth, DSM faults, the
# engine's own cost, over tcp and then cxl, each figure against a baseline
# on its own medium; results, summaries and plots in $(BUILD)/bench/.
BENCH_OUT = --json $(BUILD)/bench/$(1).json --csv $(BUILD)/bench/$(1).csv \
	    --markdown $(BUILD)/bench/$(2).md --cdf $(BUILD)/bench/$(3).csv
bench: all
	@mkdir -p $(BUILD)/bench
	$(BUILD)/gvm-bench all --breakdown=$(BUILD)/bench/breakdown.csv \
		$(call BENCH_OUT,results,summary,cdf)
	$(BUILD)/gvm-bench tp-lat,tp-bw,dsm-read,dsm-write,dsm-pingpong --transport cxl \
		--sizes 8,64,4096,65536 --breakdown=$(BUILD)/bench/cxl-breakdown.csv \
		$(call BENCH_OUT,cxl,cxl,cxl-cdf)
	$(BUILD)/gvm-sim --bench --ops 500 | tee $(BUILD)/bench/engine.txt
	bench/plot.sh $(BUILD)/bench

deps:
	@scripts/deps.sh install

deps-check:
	@scripts/deps.sh ensure

# What this build has: one line per optional feature (scripts/configure.sh).
config:
	@cat $(BUILD)/config.txt

install: all
	install -d $(DESTDIR)$(PREFIX)/include/gvm $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 644 core/include/gvm/*.h $(DESTDIR)$(PREFIX)/include/gvm/
	install -m 644 $(BUILD)/libgvmdsm.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BUILD)/libgvmdsm.so $(DESTDIR)$(PREFIX)/lib/libgvmdsm.so.$(VERSION)
	ln -sf libgvmdsm.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libgvmdsm.so.0
	ln -sf libgvmdsm.so.0 $(DESTDIR)$(PREFIX)/lib/libgvmdsm.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' -e 's|@LIBS@|$(LIBS)|' gvmdsm.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/gvmdsm.pc
	install -m 755 $(BUILD)/gvm-sim $(BUILD)/gvmrun $(BUILD)/gvm-bench $(BUILD)/gvm-cxl-info $(DESTDIR)$(PREFIX)/bin/

clean:
	rm -rf $(BUILD)

.PHONY: all check bench config deps deps-check install clean fuzz fuzz-build FORCE
-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# ==== Kernel module (kmod/) ====
#   make kmod      gvm_dsm.ko against $(KDIR) (newest installed headers),
#                  warnings are errors; C=1 runs sparse; also gvmctl and
#                  the kernel-backed test programs
#   make vmcheck   boots Debian's kernel under QEMU and tests the module
#                  inside (tests/vm/README.md)
# Kbuild writes into $(BUILD)/kmod/: a generated Kbuild there points $(src)
# at kmod/, so the sources stay clean.
KVER ?= $(shell ls -d /lib/modules/*/build 2>/dev/null | cut -d/ -f4 | sort -V | tail -n 1)
KDIR ?= /lib/modules/$(KVER)/build
KMOD_OUT = $(abspath $(BUILD))/kmod
# Tests in kernel mode: the same sources over /dev/gvm_dsm (tests/vm/kshim.c).
KMOD_TESTS := $(BUILD)/tests/kmod-sc $(BUILD)/tests/kmod-counter $(BUILD)/tests/kmod-readlat \
	      $(BUILD)/tests/kmod-lost $(BUILD)/tests/kmod-garbage
VM_TESTS   := $(BUILD)/tests/vm-readlat $(BUILD)/tests/vm-lost $(BUILD)/tests/vm-badioctl \
	      $(BUILD)/tests/vm-gup $(BUILD)/tests/vm-forge $(BUILD)/tests/vm-kapi

# kmod-deps installs the headers first (root on Debian, else it names the
# command and fails); KVER and KDIR are expanded only after it has run.
kmod: kmod-deps $(BUILD)/gvmctl $(KMOD_TESTS) $(VM_TESTS)
	@test -f $(KDIR)/Makefile || { echo "kmod: no kernel headers at $(KDIR) (Debian: linux-headers-amd64)"; exit 1; }
	@mkdir -p $(KMOD_OUT)/kmod $(KMOD_OUT)/core/policy $(KMOD_OUT)/transports/tcp
	@printf 'src := $(CURDIR)/kmod\ninclude $(CURDIR)/kmod/Kbuild\n' > $(KMOD_OUT)/kmod/Kbuild
	$(MAKE) -C $(KDIR) M=$(KMOD_OUT)/kmod $(if $(C),C=$(C)) modules
	@mkdir -p $(KMOD_OUT)/kapi
	@printf 'src := $(CURDIR)/tests/vm\ninclude $(CURDIR)/tests/vm/Kbuild\n' > $(KMOD_OUT)/kapi/Kbuild
	$(MAKE) -C $(KDIR) M=$(KMOD_OUT)/kapi KBUILD_EXTRA_SYMBOLS=$(KMOD_OUT)/kmod/Module.symvers \
		$(if $(C),C=$(C)) modules

kmod-deps:
	@scripts/deps.sh vm

$(BUILD)/gvmctl: tools/gvmctl.c kmod/gvm_dsm_uapi.h $(BUILD)/libgvmdsm.a $(CONFIG_H)
	$(CC) $(BASE) $(INC) -Ikmod $(CFLAGS) $< $(BUILD)/libgvmdsm.a $(LIBS) -o $@

$(BUILD)/tests/kmod-sc: tests/multi/sc.c tests/vm/kshim.c $(BUILD)/libgvmdsm.a kmod/gvm_dsm_uapi.h $(CONFIG_H)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(INC) -Ikmod $(CFLAGS) $(filter %.c %.a,$^) $(LIBS) -o $@

$(BUILD)/tests/kmod-counter: examples/counter.c tests/vm/kshim.c $(BUILD)/libgvmdsm.a kmod/gvm_dsm_uapi.h $(CONFIG_H)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(INC) -Ikmod $(CFLAGS) $(filter %.c %.a,$^) $(LIBS) -o $@

# The archive supplies what kshim takes from the library: the secret's
# loader and key derivation (core/user/secret.c, core/auth.c); garbage.c
# and forge.c also forge hellos with the engine's codec.
$(BUILD)/tests/kmod-garbage: tests/multi/garbage.c tests/vm/kshim.c $(BUILD)/libgvmdsm.a kmod/gvm_dsm_uapi.h $(CONFIG_H)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(INC) -Ikmod $(CFLAGS) $(filter %.c %.a,$^) $(LIBS) -o $@

$(BUILD)/tests/vm-forge: tests/vm/forge.c $(BUILD)/libgvmdsm.a $(CONFIG_H)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(INC) $(CFLAGS) $(INPUTS) $(LIBS) -o $@

$(BUILD)/tests/kmod-%: tests/vm/%.c tests/vm/kshim.c $(BUILD)/libgvmdsm.a kmod/gvm_dsm_uapi.h $(CONFIG_H)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(INC) -Ikmod $(CFLAGS) $(filter %.c %.a,$^) $(LIBS) -o $@

# The same programs against libgvmdsm (userfaultfd), to compare.
$(BUILD)/tests/vm-readlat $(BUILD)/tests/vm-lost: $(BUILD)/tests/vm-%: tests/vm/%.c $(LIB_OBJS) $(CONFIG_H)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(INC) $(CFLAGS) $(INPUTS) $(LIBS) -o $@

$(BUILD)/tests/vm-%: tests/vm/%.c kmod/gvm_dsm_uapi.h tests/vm/gvm_kapi_test.h $(CONFIG_H)
	@mkdir -p $(@D)
	$(CC) $(BASE) -Ikmod -Itests/vm $(CFLAGS) $< -o $@

# Without its packages (and not root to install them) vmcheck says so and skips.
vmcheck:
	@if scripts/deps.sh vm; then $(MAKE) --no-print-directory all kmod && \
		BUILD=$(BUILD) KVER=$(KVER) tests/vm/run.sh; \
	else echo "vmcheck: skipped (packages missing)"; fi

.PHONY: kmod kmod-deps vmcheck
