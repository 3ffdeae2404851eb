# scripts/bench.mk - `make bench`, included by the top Makefile.
#
# The workloads (scripts/benchmarks/*.c) are built like distribution
# binaries: -O2, no frame pointers. sqlite3 and GNU time are installed for
# the bench only (not dependencies of `make test`); heaptrack is compared
# when installed.

BENCH_BIN := $(patsubst scripts/benchmarks/%.c,$(O)/bench/%,$(wildcard scripts/benchmarks/*.c)) \
	$(O)/bench/libfloor.so

$(O)/bench/%: scripts/benchmarks/%.c
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) -std=gnu11 -O2 -g -fomit-frame-pointer -Wall -Wextra -Werror -o $@ $< -lpthread

# The minimal interposer (sampled mode's floor): malloc calls __libc_malloc.
$(O)/bench/libfloor.so: scripts/benchmarks/floor/floor.c
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) -std=gnu11 -O2 -fPIC -shared -Wall -Wextra -Werror -o $@ $<

.PHONY: bench bench-deps

## bench: ldprof's overhead against the bare program and heaptrack; rewrites docs/PERFORMANCE.md (BENCH_ARGS="--quick --no-doc" to try)
bench: bench-deps all $(BENCH_BIN)
	@scripts/bench --build $(O) $(BENCH_ARGS)

bench-deps:
	@LDPROF_EXTRA_PKGS="sqlite3 time git" scripts/setup-deps.sh
