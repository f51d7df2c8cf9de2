# hitl — build, test and benchmark.
#
#   make          bin/hitlc, lib/libhitl.a (everything else out of tree in build/)
#   make deps     install missing build dependencies (Debian: apt-get)
#   make check    deps, build, every test, then the whole suite again under ASan+UBSan
#   make demo     a refund playbook suspended, shown, approved by a second person
#   make bench    performance ratios (bench/RESULTS.md)
#   make sim      the calibration simulation, 10,000 calls (docs/calibration.md)
#   make clean
#
# A second configuration builds in its own folder:
#   make BUILD=build/asan SAN=1 test      (what `make check` runs)

BUILD   ?= build
SAN     ?=
CC      ?= cc
ifeq ($(origin CC),default)
CC      := cc
endif

ifeq ($(BUILD),build)
BINDIR  ?= bin
LIBDIR  ?= lib
else
BINDIR  ?= $(BUILD)/bin
LIBDIR  ?= $(BUILD)/lib
endif

PKGS     := libffi sqlite3 jansson libsodium
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
CFLAGS  += -std=c11 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L \
           -I. -I$(BUILD)/gen $(PKG_CFLAGS) -MMD -MP
ifeq ($(SAN),1)
CFLAGS  += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
ifeq ($(SAN),fuzz)
CFLAGS  += -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
LDLIBS  += $(PKG_LIBS) -ldl -lm

# generated code is not ours to make warning-free
GEN_CFLAGS := -Wno-unused-function -Wno-sign-compare -Wno-unused-parameter

# vm/hitlvm*.c: the hitlvm command line, linked into bin/hitlvm only
HITLVM_SRC := $(wildcard vm/hitlvm*.c)
LIB_SRC  := $(filter-out compiler/hitlc.c $(HITLVM_SRC), \
              $(wildcard compiler/*.c vm/*.c stdlib/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) \
            $(BUILD)/obj/gen/parser.o $(BUILD)/obj/gen/lexer.o
UNIT_SRC := $(wildcard tests/unit/*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

# libhitl.so: the same sources compiled -fPIC with hidden visibility (only
# include/hitl.h's names are exported, and include/hitl.map keeps them to
# hitl_*), versioned: libhitl.so -> libhitl.so.0 (the soname) -> libhitl.so.0.2.0
# (the version is hitl.h's HITL_VERSION_STRING; the soname its major number)
HITL_VERSION := $(shell sed -n 's/^\#define HITL_VERSION_STRING "\(.*\)"/\1/p' include/hitl.h)
SO_VERSION := $(HITL_VERSION)
SO_MAJOR := $(firstword $(subst ., ,$(HITL_VERSION)))
PIC_OBJ  := $(LIB_OBJ:$(BUILD)/obj/%=$(BUILD)/pic/%)
SO_FILE  := $(LIBDIR)/libhitl.so.$(SO_VERSION)
SO_LINKS := $(LIBDIR)/libhitl.so.$(SO_MAJOR) $(LIBDIR)/libhitl.so

.PHONY: all deps check test test-unit test-lang test-cli test-stress test-fail-alloc test-embed test-crash bench clean demo install
HAVE_HITLVM := $(wildcard vm/hitlvm.c)
all: deps $(BINDIR)/hitlc $(if $(HAVE_HITLVM),$(BINDIR)/hitlvm) $(LIBDIR)/libhitl.a $(SO_LINKS)

# ---- dependencies ---------------------------------------------------------
# tool-or-pkg-config-name:debian-package
DEP_TOOLS := flex:flex bison:bison cc:gcc pkg-config:pkg-config jq:jq \
             python3:python3 lua5.4:lua5.4 luac5.4:lua5.4 clang:clang sqlite3:sqlite3
DEP_PKGS  := libffi:libffi-dev cmocka:libcmocka-dev sqlite3:libsqlite3-dev \
             jansson:libjansson-dev libsodium:libsodium-dev
deps:
	@missing=""; \
	for d in $(DEP_TOOLS); do t=$${d%%:*}; p=$${d#*:}; \
	  command -v $$t >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	for d in $(DEP_PKGS); do t=$${d%%:*}; p=$${d#*:}; \
	  { command -v pkg-config >/dev/null 2>&1 && pkg-config --exists $$t; } || missing="$$missing $$p"; done; \
	if command -v clang >/dev/null 2>&1 && ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n){(void)d;(void)n;return 0;}' \
	     | clang -x c -fsanitize=fuzzer - -o /dev/null >/dev/null 2>&1; then \
	  missing="$$missing libclang-rt-$$(clang -dumpversion | cut -d. -f1)-dev"; fi; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$missing; \
	fi

# ---- generated front end --------------------------------------------------
$(BUILD)/gen/parser.c $(BUILD)/gen/parser.h: grammar/parser.y
	@mkdir -p $(BUILD)/gen
	bison -Wall -Werror --header=$(BUILD)/gen/parser.h -o $(BUILD)/gen/parser.c $<

$(BUILD)/gen/lexer.c $(BUILD)/gen/lexer.h: grammar/lexer.l $(BUILD)/gen/parser.h
	@mkdir -p $(BUILD)/gen
	flex --header-file=$(BUILD)/gen/lexer.h -o $(BUILD)/gen/lexer.c $<

$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c $(BUILD)/gen/parser.h $(BUILD)/gen/lexer.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(GEN_CFLAGS) -c $< -o $@

# every compiler object may include the generated headers
$(BUILD)/obj/%.o: %.c $(BUILD)/gen/parser.h $(BUILD)/gen/lexer.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/pic/gen/%.o: $(BUILD)/gen/%.c $(BUILD)/gen/parser.h $(BUILD)/gen/lexer.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(GEN_CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

$(BUILD)/pic/%.o: %.c $(BUILD)/gen/parser.h $(BUILD)/gen/lexer.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

# ---- products -------------------------------------------------------------
$(SO_FILE): $(PIC_OBJ) include/hitl.map
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,libhitl.so.$(SO_MAJOR) -Wl,--version-script=include/hitl.map \
	  $(if $(SAN),,-Wl,--no-undefined) -Wl,--as-needed $(LDFLAGS) -o $@ $(PIC_OBJ) $(LDLIBS)

$(LIBDIR)/libhitl.so.$(SO_MAJOR): $(SO_FILE)
	ln -sf $(notdir $<) $@

$(LIBDIR)/libhitl.so: $(LIBDIR)/libhitl.so.$(SO_MAJOR)
	ln -sf $(notdir $<) $@

$(LIBDIR)/libhitl.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BINDIR)/hitlc: $(BUILD)/obj/compiler/hitlc.o $(LIBDIR)/libhitl.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BINDIR)/hitlvm: $(HITLVM_SRC:%.c=$(BUILD)/obj/%.o) $(LIBDIR)/libhitl.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# ---- install ----------------------------------------------------------------
#   make install PREFIX=/opt/hitl [DESTDIR=/tmp/stage]
# bin/hitlc, bin/hitlvm, lib/libhitl.a, lib/libhitl.so* (with the soname
# links), include/hitl.h, lib/pkgconfig/hitl.pc
PREFIX  ?= /usr/local
DESTDIR ?=
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 755 $(BINDIR)/hitlc $(if $(HAVE_HITLVM),$(BINDIR)/hitlvm) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(LIBDIR)/libhitl.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(SO_FILE) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libhitl.so.$(SO_VERSION) $(DESTDIR)$(PREFIX)/lib/libhitl.so.$(SO_MAJOR)
	ln -sf libhitl.so.$(SO_MAJOR) $(DESTDIR)$(PREFIX)/lib/libhitl.so
	install -m 644 include/hitl.h $(DESTDIR)$(PREFIX)/include/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(HITL_VERSION)|' hitl.pc.in \
	  > $(DESTDIR)$(PREFIX)/lib/pkgconfig/hitl.pc

# ---- tests ----------------------------------------------------------------
# cp_compile verifies the bytecode it generates only when HITL_VERIFY_CODEGEN
# is set (compiler/compile.h): every program a test compiles is verified.
# Not for fuzz-run: fuzz_parse calls bc_verify itself and traps on a failure,
# which an internal-error diagnostic would hide.
test test-unit test-lang test-cli test-stress test-fail-alloc test-crash: export HITL_VERIFY_CODEGEN := 1

$(BUILD)/tests/%: tests/unit/%.c $(LIBDIR)/libhitl.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBDIR)/libhitl.a $(LDLIBS) -lcmocka

# the C functions tests call as `from` actions, next to the test binaries
# (test_embed finds it through the playbook's-folder rule)
$(BUILD)/tests/libtestactions.so: tests/ffi/testactions.c
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) -shared -fPIC $(LDFLAGS) -o $@ $<

test-unit: $(UNIT_BIN) $(BUILD)/tests/libtestactions.so
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

test-lang: $(BINDIR)/hitlc $(BINDIR)/hitlvm
	python3 tests/run_lang.py --hitlc $(BINDIR)/hitlc --hitlvm $(BINDIR)/hitlvm tests/lang

# the run tests again with the collector running at every allocation
test-stress: $(BINDIR)/hitlc $(BINDIR)/hitlvm
	python3 tests/run_lang.py --stress --hitlc $(BINDIR)/hitlc --hitlvm $(BINDIR)/hitlvm tests/lang/run

# every run test with the Nth allocation failing, for a sample of N; run in
# the ASan build, where LeakSanitizer turns any leak into a failure
test-fail-alloc: $(BINDIR)/hitlc $(BINDIR)/hitlvm
	python3 tests/run_lang.py --fail-alloc --hitlc $(BINDIR)/hitlc --hitlvm $(BINDIR)/hitlvm tests/lang/run

test-cli: $(BINDIR)/hitlc $(if $(HAVE_HITLVM),$(BINDIR)/hitlvm) $(BUILD)/tests/libtestactions.so
	@set -e; for t in tests/cli/*.sh; do echo "== $$t"; BINDIR=$(BINDIR) LIBTESTACTIONS=$(BUILD)/tests/libtestactions.so bash $$t; done

# The store's guarantees from outside (tests/crash/): two reviewers racing
# for one item, the same log twice, kills aimed between a call and its
# outcome (in_doubt.sh), and >= 500 run/resume cycles with kill -9 at random
# moments against a witness file of real action executions (crash.sh, about
# a minute).  Plain build only: under ASan the processes are too slow for
# kill timings to mean the same.
CRASH_TESTS := race determinism in_doubt crash review_flag
test-crash: $(BINDIR)/hitlc $(BINDIR)/hitlvm
	@set -e; for t in $(CRASH_TESTS); do echo "== tests/crash/$$t.sh"; \
	  BINDIR=$(BINDIR) bash tests/crash/$$t.sh; done

# the shared library's exports, the Python binding and its examples (not
# under the sanitizers: python3 cannot load an ASan-built libhitl.so)
test-embed: $(SO_LINKS) $(BUILD)/tests/libtestactions.so
	LIBDIR=$(LIBDIR) bash tests/embed/symbols.sh
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  $(MAKE) --no-print-directory -s install PREFIX="$$tmp/prefix" && \
	  PREFIX="$$tmp/prefix" WORK="$$tmp" CC="$(CC)" bash tests/embed/install.sh
	HITL_LIB=$(abspath $(LIBDIR)/libhitl.so) HITL_TESTACTIONS=$(abspath $(BUILD)/tests/libtestactions.so) \
	  python3 -m unittest discover -s bindings/python

test: test-unit test-lang test-cli $(if $(SAN),,test-embed)

check: deps
	$(MAKE) all
	$(MAKE) test
	$(MAKE) test-crash
	$(MAKE) test-stress
	$(MAKE) BUILD=build/asan SAN=1 test
	$(MAKE) BUILD=build/asan SAN=1 test-fail-alloc
	$(MAKE) fuzz-run
	@echo "make check: all suites passed (plain, GC stress, ASan+UBSan, failing allocations, fuzzing)"

# ---- demo -----------------------------------------------------------------
# A refund playbook stops at its checkpoint; a second person looks at the
# item and approves it (binding the verdict to its digest); the log tells the
# story.  Its own store under build/demo, so the demo can run again.
DEMO_DIR := $(BUILD)/demo
demo: all
	@set -e; rm -rf $(DEMO_DIR); mkdir -p $(DEMO_DIR); \
	export HITL_STORE=$(DEMO_DIR)/store.db; hitlvm=$(BINDIR)/hitlvm; \
	echo "== 1. the agent runs playbooks/refund-demo.hitl (actions answered by its mock file)"; \
	echo "\$$ hitlvm run playbooks/refund-demo.hitl --input @playbooks/refund-demo.input.json --mock playbooks/refund-demo.mock.json --as agent"; \
	rc=0; $$hitlvm run playbooks/refund-demo.hitl --input @playbooks/refund-demo.input.json \
	  --mock playbooks/refund-demo.mock.json --as agent || rc=$$?; \
	[ $$rc -eq 3 ] || { echo "demo: expected the run to suspend (exit 3), got $$rc"; exit 1; }; \
	inst=$$($$hitlvm instances --json | jq -r '.[0].id'); item=$$($$hitlvm pending --json | jq -r '.[0].id'); \
	echo "(exit 3: instance $$inst is suspended, waiting for a verdict on item $$item)"; echo; \
	echo "== 2. what is waiting for a person"; echo "\$$ hitlvm pending"; $$hitlvm pending; echo; \
	echo "== 3. alice looks at the item"; echo "\$$ hitlvm show $$item"; $$hitlvm show $$item; \
	digest=$$($$hitlvm show $$item --json | jq -r .digest); echo; \
	echo "== 4. alice approves what she saw (the digest binds her verdict to it)"; \
	echo "\$$ hitlvm resume $$item approve --as alice --digest $$digest"; \
	$$hitlvm resume $$item approve --as alice --digest $$digest; echo; \
	echo "== 5. the instance's log"; echo "\$$ hitlvm log $$inst"; $$hitlvm log $$inst; echo; \
	echo "demo: done (store: $(DEMO_DIR)/store.db; try hitlvm instances --store $(DEMO_DIR)/store.db)"

# ---- fuzzing ----------------------------------------------------------------
# libFuzzer targets for the front end and the bytecode loader, built with
# clang in their own folder; `make check` runs each for FUZZ_SECONDS on the
# seed corpus in tests/fuzz/ (new inputs go to build/fuzz/, never committed).
FUZZ_SECONDS ?= 60
FUZZ_BUILD := build/fuzz
FUZZ_TARGETS := $(FUZZ_BUILD)/fuzz_parse $(FUZZ_BUILD)/fuzz_load
.PHONY: fuzz fuzz-run
fuzz: deps $(FUZZ_TARGETS)

.PHONY: fuzz-lib
fuzz-lib:
	$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) SAN=fuzz CC=clang $(FUZZ_BUILD)/lib/libhitl.a

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c fuzz-lib
	clang -std=c11 -g -O1 -I. -fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZ_BUILD)/lib/libhitl.a $(LDLIBS)

fuzz-run: fuzz $(BINDIR)/hitlc
	@mkdir -p $(FUZZ_BUILD)/corpus-parse $(FUZZ_BUILD)/corpus-load $(FUZZ_BUILD)/seed-load
	@for f in tests/lang/ok/*.hitl playbooks/*.hitl; do \
	  $(BINDIR)/hitlc "$$f" -o $(FUZZ_BUILD)/seed-load/$$(basename "$$f" .hitl).bin >/dev/null 2>&1 || true; done
	$(FUZZ_BUILD)/fuzz_parse -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	  $(FUZZ_BUILD)/corpus-parse tests/fuzz/parse
	$(FUZZ_BUILD)/fuzz_load -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	  $(FUZZ_BUILD)/corpus-load $(FUZZ_BUILD)/seed-load

# ---- the calibration simulation (docs/calibration.md) ------------------------
# 2,000 calls all routed to people, calibrate --apply, 8,000 more; the short
# version runs in tests/cli/learn.sh (make check)
.PHONY: sim
sim: deps $(BINDIR)/hitlc $(BINDIR)/hitlvm
	python3 tests/sim/sim.py --bindir $(BINDIR) $(SIM_ARGS)

# ---- benchmarks -----------------------------------------------------------
# bench_embed's driver, linked against libhitl.so as an embedder would
$(BUILD)/bench/embed_bench: bench/embed_bench.c include/hitl.h $(SO_LINKS)
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) -Iinclude $(LDFLAGS) -o $@ $< -L$(LIBDIR) -lhitl \
	  -Wl,-rpath,$(abspath $(LIBDIR))

bench: deps all $(BUILD)/bench/embed_bench $(BUILD)/tests/libtestactions.so
	BENCH_EMBED=$(BUILD)/bench/embed_bench BENCH_TESTACTIONS=$(BUILD)/tests bash bench/run.sh $(BINDIR)

clean:
	rm -rf build bin lib

# the headers each object and unit test was built from (tests/unit/*.h too)
-include $(shell find $(BUILD)/obj $(BUILD)/pic $(BUILD)/tests -name '*.d' 2>/dev/null)
