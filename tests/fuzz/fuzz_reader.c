/*
 * fuzz_reader.c - libFuzzer target for the whole reader and the heap model:
 * rd_read_mem through the visitor the reports use (tm_load_mem,
 * reporter/model/tmodel.c). Beyond "no crash, no leak, no UB" it checks
 * what must hold for any input: an error is one non-empty line; a model
 * never counts more frees than allocations, nor leaks more than its peak.
 * Corpus: tests/fuzz/corpus/fuzz_reader/ (real traces, cut and damaged).
 */
#include <stdint.h>
#include <string.h>

#include "model/tmodel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tmodel m;
	struct rd_error err;
	if (tm_load_mem(&m, data, size, "fuzz.ldp", &err)) {
		size_t len = strnlen(err.msg, sizeof err.msg);
		if (len == 0 || len == sizeof err.msg || memchr(err.msg, '\n', len))
			__builtin_trap();
		return 0;
	}
	for (size_t i = 0; i < m.nsegs; i++) {
		const struct heap_totals *t = &m.segs[i].heap.t;
		if (t->frees > t->allocations || t->leaked_bytes > t->peak_bytes || t->live_count > t->allocations ||
		    t->leaked_count > t->live_count)
			__builtin_trap();
		if (!m.segs[i].info.exe || !m.segs[i].info.cmdline)
			__builtin_trap();
	}
	tm_free(&m);
	return 0;
}
