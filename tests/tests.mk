# tests/tests.mk - test targets, included by the top Makefile. docs/TESTING.md
# describes the tiers.

TEST_CFLAGS := $(BASE) $(CFLAGS) -Ireporter -Iagent -Itests/unit
# Unit tests see the seams writable (SEAM_OBJ below).
UNIT_CFLAGS := $(TEST_CFLAGS) -DLDP_TEST
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_DEPS := $(wildcard tests/unit/*.h)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(O)/tests/unit/%)
# Reporter modules with test seams (LDP_SEAM in util.h: limits that are
# constants in ldprof) are built a second time, with the seams writable, for
# the unit tests only.
SEAM_SRC := reporter/read/merge.c reporter/read/ahead.c reporter/model/heap.c
SEAM_OBJ := $(SEAM_SRC:%.c=$(O)/tests/seam/%.o)
UNIT_REPORTER_OBJ := $(filter-out $(SEAM_SRC:%.c=$(O)/%.o),$(REPORTER_LIB_OBJ)) $(SEAM_OBJ)

$(O)/tests/seam/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) $(REPORTER_CFLAGS) -DLDP_TEST -c $< -o $@
.SECONDARY: $(SEAM_OBJ) # made by a pattern rule, used only by the links: keep them
# Agent parts that are pure (no interposition, no threads): unit-testable.
AGENT_PURE_SRC := agent/encode.c agent/ringcut.c agent/config.c agent/log.c agent/prim_linux.c agent/rawmem.c agent/tracefile.c agent/sampleheap.c \
	agent/unwind_dwarf.c agent/unwind_fast.c agent/got.c agent/procfs.c agent/state.c agent/stackbases.c

INTEG_SRC := $(wildcard tests/integration/*.c)
INTEG_CXX_SRC := $(wildcard tests/integration/*.cpp)
INTEG_BIN := $(INTEG_SRC:tests/integration/%.c=$(O)/tests/integration/%) \
	$(INTEG_CXX_SRC:tests/integration/%.cpp=$(O)/tests/integration/%)

$(O)/tests/unit/%: tests/unit/%.c $(UNIT_REPORTER_OBJ) $(AGENT_PURE_SRC) $(UNIT_DEPS)
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) $(UNIT_CFLAGS) -o $@ $< $(AGENT_PURE_SRC) $(UNIT_REPORTER_OBJ) $(REPORTER_LIBS_SHARED) -lzstd -lcmocka -rdynamic

# Programs traced by the integration tests: no optimisation surprises in
# their call chains, frame pointers kept, debug info for symbolization, and
# -fno-builtin (the compiler may not delete a malloc whose block goes unused).
$(O)/tests/integration/%: tests/integration/%.c
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) -std=gnu11 -O1 -g -fno-omit-frame-pointer -fno-builtin -Wall -Wextra -Werror -Iinclude -o $@ $< -lpthread -lm

# Optimised, without frame pointers: the fast unwinder's CFA-from-RSP case.
INTEG_BIN += $(O)/tests/integration/unwind_prog-nofp
$(O)/tests/integration/%-nofp: tests/integration/%.c
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) -std=gnu11 -O2 -g -fomit-frame-pointer -Wall -Wextra -Werror -Iinclude -o $@ $< -lpthread -lm

# Each test tier adds itself here (tests/*/**.mk, samples/samples.mk):
# TEST_TIERS are make targets run by `make test`, TEST_BINS what they need built.
TEST_TIERS += test-layering test-entrypoints test-unit test-integration
TEST_BINS += $(UNIT_BIN) $(INTEG_BIN)

$(O)/tests/integration/%: tests/integration/%.cpp
	@mkdir -p $(dir $@)
	$(call say,CXX,$@)$(CXX) -std=c++17 -O1 -g -fno-omit-frame-pointer -Wall -Wextra -Werror -o $@ $<

# C++ as it ships (-O2, no frame pointers): allocation sites past the
# standard library's plumbing (integration test cxx_sites).
$(O)/tests/integration/cxx_sites: tests/integration/cxx_sites.cpp
	@mkdir -p $(dir $@)
	$(call say,CXX,$@)$(CXX) -std=c++17 -O2 -g -Wall -Wextra -Werror -o $@ $< -lpthread

# Built with AddressSanitizer: ldprof record traces it in front of ASan's
# allocator (integration test asan).
$(O)/tests/integration/asan_prog: tests/integration/asan_prog.c
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) -std=gnu11 -O1 -g -fsanitize=address -fno-omit-frame-pointer -fno-builtin -Wall -Wextra -Werror -o $@ $< -lpthread

# A C++ program linked against a library whose constructor allocates: both
# allocate before the agent's constructor runs (integration test cxx_massif).
INTEG_BIN := $(filter-out $(O)/tests/integration/cxx_early_plugin,$(INTEG_BIN)) \
	$(O)/tests/integration/libcxx_early_plugin.so
$(O)/tests/integration/libcxx_early_plugin.so: tests/integration/cxx_early_plugin.c
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) -std=gnu11 -O1 -g -fno-omit-frame-pointer -fno-builtin -Wall -Wextra -Werror -shared -fPIC -o $@ $<
$(O)/tests/integration/cxx_early: tests/integration/cxx_early.cpp $(O)/tests/integration/libcxx_early_plugin.so
	@mkdir -p $(dir $@)
	$(call say,CXX,$@)$(CXX) -std=c++17 -O1 -g -fno-omit-frame-pointer -Wall -Wextra -Werror -o $@ $< \
		-L$(O)/tests/integration -lcxx_early_plugin -Wl,-rpath,'$$ORIGIN'

# The allocator builds (integration test cxx_allocators): the same C++
# program with tcmalloc's and jemalloc's operator new, and jemalloc's own API.
INTEG_BIN := $(filter-out $(O)/tests/integration/jemalloc_api,$(INTEG_BIN)) \
	$(O)/tests/integration/jemalloc_api $(O)/tests/integration/cxx_alloc-tcmalloc $(O)/tests/integration/cxx_alloc-jemalloc
$(O)/tests/integration/cxx_alloc-%: tests/integration/cxx_alloc.cpp
	@mkdir -p $(dir $@)
	$(call say,CXX,$@)$(CXX) -std=c++17 -O1 -g -fno-omit-frame-pointer -Wall -Wextra -Werror -o $@ $< -l$*
$(O)/tests/integration/jemalloc_api: tests/integration/jemalloc_api.c
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) -std=gnu11 -O1 -g -fno-omit-frame-pointer -fno-builtin -Wall -Wextra -Werror -o $@ $< -ljemalloc

## test: install what is missing, build, run every test
test: deps
	@$(MAKE) --no-print-directory all $(TEST_BINS)
	@$(MAKE) --no-print-directory -k $(TEST_TIERS)

## test-layering: the one-way rules (agent apart from reporter; the agent's low-level modules never call up; util < read < symbols < model < render < store < commands)
test-layering: $(O)/libldprof.so
	@O=$(O) scripts/check-layering

## test-entrypoints: the agent exports exactly the table of interposed functions (include/ldprof/entrypoints.h)
test-entrypoints: $(O)/libldprof.so
	@scripts/check-entrypoints $(O)

## test-unit: cmocka unit tests
test-unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

## test-integration: programs with known allocations, traced and checked
test-integration: all $(INTEG_BIN)
	@tests/integration/run.sh $(O)
-include tests/pictures/pictures.mk
-include tests/attach/attach.mk
-include tests/cli/cli.mk
