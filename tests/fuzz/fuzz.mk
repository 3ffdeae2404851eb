# tests/fuzz/fuzz.mk - untrusted traces: fuzz targets, their regression
# replay, and the golden known-bad traces. Included by the top Makefile.
#
#   make test        replays tests/fuzz/corpus/<target>/ and tests/golden/bad/
#                    through each target, built with the plain compiler and
#                    regression_driver.c (and with ASan+UBSan under
#                    `make test-asan`): no clang needed
#   make fuzz        builds the targets with clang -fsanitize=fuzzer,address,
#                    undefined and runs each for FUZZ_SECONDS (default 60);
#                    new inputs go to build/fuzz/corpus-<target>/, crashes to
#                    build/fuzz/artifacts/ (add a crash's input to
#                    tests/fuzz/corpus/<target>/ once it is fixed)

FUZZ_TARGETS := fuzz_decode fuzz_reader
FUZZ_REGRESS_BIN := $(FUZZ_TARGETS:%=$(O)/tests/fuzz/%_regress)
# with what the build generates: pprof's protobuf code, the embedded assets
REPORTER_LIB_SRC := $(filter-out reporter/main.c,$(REPORTER_SRC)) $(O)/gen/profile.pb-c.c $(O)/gen/assets.c

$(O)/tests/fuzz/%_regress: tests/fuzz/%.c tests/fuzz/regression_driver.c $(REPORTER_LIB_OBJ)
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) $(TEST_CFLAGS) -o $@ $< tests/fuzz/regression_driver.c $(REPORTER_LIB_OBJ) $(REPORTER_LIBS)

.PHONY: test-fuzz-regression test-golden fuzz fuzz-build
TEST_TIERS += test-fuzz-regression test-golden
TEST_BINS += $(FUZZ_REGRESS_BIN)

## test-fuzz-regression: every fuzz corpus file and known-bad trace through the fuzz targets (no clang needed)
test-fuzz-regression: $(FUZZ_REGRESS_BIN)
	@set -e; for t in $(FUZZ_TARGETS); do \
		$(O)/tests/fuzz/$${t}_regress tests/fuzz/corpus/$$t tests/golden/bad; done

## test-golden: known-bad traces: ldprof report exits as expected with the expected one-line error
test-golden: all
	@tests/golden/run.sh $(O)

# ---- libFuzzer (clang) ----------------------------------------------------

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_FLAGS := -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer -Iinclude -Ireporter -I$(O)/gen -Wall -Wextra -Werror
FUZZ_BIN := $(FUZZ_TARGETS:%=$(O)/fuzz/%)

# The reporter is compiled into each fuzzer with clang: sanitizer runtimes
# of two compilers do not mix.
$(O)/fuzz/%: tests/fuzz/%.c $(REPORTER_LIB_SRC) $(PROTO_GEN) $(wildcard reporter/*.h reporter/*/*.h include/ldprof/*.h)
	@command -v $(FUZZ_CC) >/dev/null || { echo "make fuzz needs $(FUZZ_CC) and libFuzzer:" \
		"apt-get install clang libclang-rt-14-dev (make test does not)"; exit 1; }
	@mkdir -p $(dir $@)
	$(call say,FUZZCC,$@)$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(REPORTER_LIB_SRC) $(REPORTER_LIBS)

## fuzz-build: build the libFuzzer targets (clang, libclang-rt-14-dev)
fuzz-build: $(FUZZ_BIN)

## fuzz: run each libFuzzer target for FUZZ_SECONDS (default 60) from the checked-in corpus
fuzz: $(FUZZ_BIN)
	@set -e; mkdir -p $(O)/fuzz/artifacts; for t in $(FUZZ_TARGETS); do \
		mkdir -p $(O)/fuzz/corpus-$$t; \
		echo "== $$t: $(FUZZ_SECONDS) s"; \
		$(O)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
			-print_final_stats=1 -artifact_prefix=$(O)/fuzz/artifacts/$$t- \
			$(O)/fuzz/corpus-$$t tests/fuzz/corpus/$$t 2>&1 | \
			grep -E '^(#[0-9]+ *DONE|Done|stat::number_of_executed_units|stat::peak_rss|==[0-9]+==|SUMMARY|artifact_prefix|Test unit written)' || true; \
		done; \
		if ls $(O)/fuzz/artifacts/* >/dev/null 2>&1; then echo "fuzz: findings in $(O)/fuzz/artifacts/"; exit 1; fi
