# samples/samples.mk - the scenario programs (samples/README.md), included by
# the top Makefile.
#
#   build/samples/slow_api    samples/io/            a slow API: sequential, threads, async, pooled, cached
#   build/samples/rows        samples/streaming/     millions of rows: load, stream, chunked, mmap
#   build/samples/serialize   samples/serialization/ JSON vs msgpack vs raw struct dump
#
# The samples are built with fixed flags, not $(CFLAGS): they are run under
# LD_PRELOAD of the agent, and a sanitizer runtime (test-asan's CFLAGS) cannot
# be preloaded alongside it. Frame pointers and debug info keep their stacks
# readable in profiles; noinline on the functions a profile should name.

SAMPLE_CFLAGS := $(BASE) -O2 -g -fno-omit-frame-pointer -Isamples
SAMPLE_BINS := $(O)/samples/slow_api $(O)/samples/rows $(O)/samples/serialize

$(O)/samples/slow_api: samples/io/slow_api.c samples/common.h
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) $(SAMPLE_CFLAGS) -o $@ $< -lpthread

$(O)/samples/rows: samples/streaming/rows.c samples/common.h
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) $(SAMPLE_CFLAGS) -o $@ $<

# Debian 12: libjansson-dev (-ljansson), libmsgpack-dev (the C library is -lmsgpackc).
$(O)/samples/serialize: samples/serialization/serialize.c samples/common.h
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) $(SAMPLE_CFLAGS) -o $@ $< -ljansson -lmsgpackc

.PHONY: samples test-samples

## samples: build the scenario programs into build/samples/ (samples/README.md)
samples: $(SAMPLE_BINS)

TEST_TIERS += test-samples
TEST_BINS += $(SAMPLE_BINS)

## test-samples: run each sample in every mode and check its invariants, bare and under ldprof
test-samples: all $(SAMPLE_BINS)
	@samples/test_samples.sh $(O)
