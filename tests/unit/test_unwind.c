/*
 * test_unwind.c - the fast unwinder (agent/unwind_fast.c, unwind_dwarf.c)
 * against libunwind and against known answers, in-process.
 *
 *  - known answer: a chain of global noinline functions, one of them called
 *    back by qsort, checked frame by frame against libunwind and by name
 *    (dladdr; this test is linked -rdynamic);
 *  - random stacks: recursion through functions of different shapes (small,
 *    alloca, big frames, varargs, qsort callbacks), captured at the leaf by
 *    both unwinders, thousands of times, also from 4 threads at once;
 *  - truncation: a deeper stack than max gives max frames and the flag;
 *  - signal context: from a SIGPROF handler's ucontext, without locks;
 *  - every FDE of every loaded object: rules at function entries are
 *    "CFA = RSP + 8" (nothing crashes, almost nothing is unsupported; with
 *    UW_VERBOSE=1 in the environment the others are listed);
 *  - hostile stacks: random words, random registers: the walk reads only
 *    inside the stack it was given, and never faults.
 *
 * make test builds this with -O2 (no frame pointers: CFA from RSP), make
 * test-asan with -O1 -fno-omit-frame-pointer (CFA from RBP).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <cmocka.h>

#include "agent.h"

#define MAXF 256

static int (*unw_bt)(void **, int);
static volatile unsigned long sink;
static uintptr_t stack_hi;

static uintptr_t thread_stack_hi(void)
{
	pthread_attr_t a;
	void *addr;
	size_t size;
	assert_int_equal(pthread_getattr_np(pthread_self(), &a), 0);
	assert_int_equal(pthread_attr_getstack(&a, &addr, &size), 0);
	pthread_attr_destroy(&a);
	return (uintptr_t)addr + size;
}

static int setup(void **state)
{
	(void)state;
	void *h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
	if (h)
		unw_bt = (int (*)(void **, int))dlsym(h, "unw_backtrace");
	if (!unw_bt) {
		fprintf(stderr, "libunwind.so.8 not found\n");
		return -1;
	}
	if (ldp_uw_fast_init() != 0)
		return -1;
	stack_hi = thread_stack_hi();
	return 0;
}

/* Both captures, from one frame. fast[i] corresponds to ref[i + 1]: libunwind's
 * first entry is the return address into this function itself. */
struct both {
	uintptr_t fast[MAXF + 1], ref[MAXF + 2];
	unsigned nfast, nref, status;
};

static __attribute__((noinline)) void capture_both(struct both *b, unsigned max, uintptr_t hi)
{
	struct ldp_uw_regs r;
	LDP_UW_HERE(r);
	struct ldp_uw_walk w = {.hi = hi, .ips = b->fast, .max = max, .flags = LDP_UW_MAY_LOCK};
	b->nfast = ldp_uw_walk(&w, r, 1);
	b->status = w.status;
	b->nref = (unsigned)unw_bt((void **)b->ref, MAXF + 2);
	__asm__ volatile("" ::: "memory");
}

static void assert_same(const struct both *b)
{
	assert_true(b->nref >= 1);
	if (b->status == LDP_UW_TRUNCATED) {
		assert_true(b->nref - 1 > b->nfast);
	} else {
		assert_int_equal(b->status, 0);
		if (b->nfast != b->nref - 1) {
			for (unsigned i = 0; i < b->nref; i++)
				fprintf(stderr, "  %2u fast %lx  ref %lx\n", i, i < b->nfast ? (unsigned long)b->fast[i] : 0ul,
					(unsigned long)b->ref[i + 1]);
		}
		assert_int_equal(b->nfast, b->nref - 1);
	}
	for (unsigned i = 0; i < b->nfast; i++) {
		if (b->fast[i] != b->ref[i + 1])
			fprintf(stderr, "  frame %u: fast %lx libunwind %lx\n", i, (unsigned long)b->fast[i],
				(unsigned long)b->ref[i + 1]);
		assert_true(b->fast[i] == b->ref[i + 1]);
	}
}

/* ---- known answer ---- */

static struct both known;
__attribute__((noinline)) void uw_leaf(void);
__attribute__((noinline)) int uw_cmp(const void *a, const void *b);
__attribute__((noinline)) int uw_c(void);
__attribute__((noinline)) int uw_b(void);
__attribute__((noinline)) int uw_a(void);
static int captured;

__attribute__((noinline)) void uw_leaf(void)
{
	capture_both(&known, MAXF, stack_hi);
	sink++;
}

__attribute__((noinline)) int uw_cmp(const void *a, const void *b)
{
	if (!captured++)
		uw_leaf();
	sink++;
	return *(const int *)a - *(const int *)b;
}

__attribute__((noinline)) int uw_c(void)
{
	int v[4] = {3, 1, 2, 0};
	qsort(v, 4, sizeof *v, uw_cmp);
	sink += v[0];
	return v[3];
}

__attribute__((noinline)) int uw_b(void)
{
	int r = uw_c();
	sink += r;
	return r + 1;
}

__attribute__((noinline)) int uw_a(void)
{
	int r = uw_b();
	sink += r;
	return r + 1;
}

static const char *name_of(uintptr_t ra)
{
	Dl_info info;
	if (!dladdr((void *)(ra - 1), &info) || !info.dli_sname)
		return "?";
	return info.dli_sname;
}

void test_known_chain(void **state);
void test_known_chain(void **state)
{
	(void)state;
	captured = 0;
	uw_a();
	assert_same(&known);
	/* uw_leaf <- uw_cmp <- qsort's insides in libc <- uw_c <- uw_b <- uw_a <- this test */
	assert_string_equal(name_of(known.fast[0]), "uw_leaf");
	assert_string_equal(name_of(known.fast[1]), "uw_cmp");
	unsigned i = 2;
	while (i < known.nfast && strcmp(name_of(known.fast[i]), "uw_c"))
		i++;
	assert_true(i > 2); /* at least one libc frame between uw_cmp and uw_c */
	assert_true(i + 3 < known.nfast);
	assert_string_equal(name_of(known.fast[i + 1]), "uw_b");
	assert_string_equal(name_of(known.fast[i + 2]), "uw_a");
	assert_string_equal(name_of(known.fast[i + 3]), "test_known_chain");
}

/* ---- random stacks ---- */

struct plan {
	const unsigned char *kind;
	unsigned depth, max;
	uintptr_t hi;
	struct both *out;
};

__attribute__((noinline)) void rs_next(const struct plan *p, unsigned level);

__attribute__((noinline)) static void rs_small(const struct plan *p, unsigned level)
{
	rs_next(p, level + 1);
	sink++;
}

__attribute__((noinline)) static void rs_alloca(const struct plan *p, unsigned level)
{
	/* a variable-sized frame: the compiler keeps a frame pointer, CFA = RBP + 16 */
	volatile char *buf = __builtin_alloca(16 + (level * 37) % 300);
	buf[0] = (char)level;
	rs_next(p, level + 1);
	sink += buf[0];
}

__attribute__((noinline)) static void rs_big(const struct plan *p, unsigned level)
{
	volatile char buf[5000];
	buf[level % sizeof buf] = 1;
	rs_next(p, level + 1);
	sink += buf[level % sizeof buf];
}

__attribute__((noinline)) static void rs_varargs(const struct plan *p, unsigned level, ...)
{
	va_list ap;
	va_start(ap, level);
	long a = va_arg(ap, long), b = va_arg(ap, long);
	va_end(ap);
	rs_next(p, level + 1);
	sink += (unsigned long)(a + b);
}

__attribute__((noinline)) static void rs_regs(const struct plan *p, unsigned level)
{
	/* many values live across the call: callee-saved registers pushed, RBP among them */
	unsigned long a = sink, b = sink * 3, c = sink ^ 7, d = sink + level, e = sink - 1, f = sink * level;
	rs_next(p, level + 1);
	sink += a + b + c + d + e + f;
}

static _Thread_local const struct plan *qs_plan;
static _Thread_local unsigned qs_level;

__attribute__((noinline)) static int rs_cmp(const void *a, const void *b)
{
	if (qs_plan) {
		const struct plan *p = qs_plan;
		qs_plan = NULL;
		rs_next(p, qs_level + 1);
	}
	return *(const int *)a - *(const int *)b;
}

__attribute__((noinline)) static void rs_qsort(const struct plan *p, unsigned level)
{
	int v[5] = {4, 2, 3, 1, 0};
	qs_plan = p;
	qs_level = level;
	qsort(v, 5, sizeof *v, rs_cmp);
	sink += v[0];
}

__attribute__((noinline)) void rs_next(const struct plan *p, unsigned level)
{
	if (level >= p->depth) {
		capture_both(p->out, p->max, p->hi);
		return;
	}
	switch (p->kind[level]) {
	case 0: rs_small(p, level); break;
	case 1: rs_alloca(p, level); break;
	case 2: rs_big(p, level); break;
	case 3: rs_varargs(p, level, (long)level, 2l); break;
	case 4: rs_regs(p, level); break;
	default: rs_qsort(p, level); break;
	}
	sink++;
}

static uint64_t rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static unsigned random_stacks(uint64_t seed, unsigned rounds, uintptr_t hi)
{
	static _Thread_local struct both b;
	unsigned char kind[200];
	unsigned frames = 0;
	for (unsigned round = 0; round < rounds; round++) {
		struct plan p = {kind, 1 + (unsigned)(rng(&seed) % 120), MAXF, hi, &b};
		for (unsigned i = 0; i < p.depth; i++)
			kind[i] = (unsigned char)(rng(&seed) % 7);
		rs_next(&p, 0);
		assert_same(&b);
		frames += b.nfast;
	}
	return frames;
}

static void test_random_stacks(void **state)
{
	(void)state;
	unsigned frames = random_stacks(0x1234567, 3000, stack_hi);
	assert_true(frames > 3000 * 20);
}

static void *random_thread(void *arg)
{
	uintptr_t hi = thread_stack_hi();
	return (void *)(uintptr_t)random_stacks((uint64_t)(uintptr_t)arg, 1000, hi);
}

static void test_random_stacks_threads(void **state)
{
	(void)state;
	pthread_t t[4];
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 4u << 20);
	for (uintptr_t i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], &a, random_thread, (void *)(0x9999 + i * 77)), 0);
	for (int i = 0; i < 4; i++) {
		void *frames;
		pthread_join(t[i], &frames);
		assert_true((uintptr_t)frames > 1000 * 20);
	}
	pthread_attr_destroy(&a);
}

static void test_truncated(void **state)
{
	(void)state;
	static struct both b;
	unsigned char kind[100];
	memset(kind, 0, sizeof kind);
	struct plan p = {kind, 60, 10, stack_hi, &b};
	rs_next(&p, 0);
	assert_int_equal(b.nfast, 10);
	assert_int_equal(b.status, LDP_UW_TRUNCATED);
	assert_same(&b);
}

/* ---- from a signal handler's ucontext ---- */

static struct {
	uintptr_t ips[MAXF], ref[MAXF + 8];
	unsigned n, nref, status;
} sig;

static void on_sigprof(int signo, siginfo_t *si, void *ucv)
{
	(void)signo;
	(void)si;
	ucontext_t *uc = ucv;
	struct ldp_uw_regs r = {
		.ip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP],
		.sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP],
		.bp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP],
	};
	sig.ips[0] = r.ip;
	struct ldp_uw_walk w = {.hi = stack_hi, .ips = sig.ips + 1, .max = MAXF - 1, .flags = 0};
	sig.n = 1 + ldp_uw_walk(&w, r, 1);
	sig.status = w.status;
	sig.nref = (unsigned)unw_bt((void **)sig.ref, MAXF + 8);
}

__attribute__((noinline)) int sg_raise(void);
__attribute__((noinline)) int sg_raise(void)
{
	int r = raise(SIGPROF);
	sink++;
	return r;
}

__attribute__((noinline)) int sg_outer(void);
__attribute__((noinline)) int sg_outer(void)
{
	int r = sg_raise();
	sink++;
	return r;
}

static void test_signal_context(void **state)
{
	(void)state;
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sigprof;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGPROF, &sa, &old), 0);
	/* once to warm the cache from the malloc-path side, then for real */
	for (int round = 0; round < 2; round++) {
		memset(&sig, 0, sizeof sig);
		assert_int_equal(sg_outer(), 0);
	}
	sigaction(SIGPROF, &old, NULL);
	/* libunwind: handler frames, the signal frame, then the interrupted code
	 * starting with its exact instruction pointer. */
	unsigned k = 0;
	while (k < sig.nref && sig.ref[k] != sig.ips[0])
		k++;
	assert_true(k < sig.nref);
	assert_int_equal(sig.status, 0);
	assert_int_equal(sig.n, sig.nref - k);
	for (unsigned i = 0; i < sig.n; i++)
		assert_true(sig.ips[i] == sig.ref[k + i]);
	unsigned j = 0;
	while (j < sig.n && strcmp(name_of(sig.ips[j]), "sg_raise"))
		j++;
	assert_true(j > 0 && j + 1 < sig.n);
	assert_string_equal(name_of(sig.ips[j + 1]), "sg_outer");
}

/* ---- every FDE of every object ---- */

struct fde_stats {
	unsigned objects, fdes, entry_rsp8, unsupported, other;
};

static int fde_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct fde_stats *st = arg;
	struct ldp_uw_object o;
	if (ldp_uw_object_init(&o, info->dlpi_addr, info->dlpi_phdr, info->dlpi_phnum) != 0 || !o.hdr)
		return 0;
	const uint8_t *h = (const uint8_t *)o.hdr;
	if (h[0] != 1 || h[3] != 0x3b || h[2] != 0x03)
		return 0;
	uint32_t count;
	memcpy(&count, h + 8, 4); /* eh_frame_ptr is 4 bytes in every object we build or load */
	const uint8_t *table = h + 12;
	st->objects++;
	for (uint32_t i = 0; i < count; i++) {
		int32_t loc;
		memcpy(&loc, table + 8 * i, 4);
		uintptr_t pc = o.hdr + (uintptr_t)(intptr_t)loc;
		if (pc < o.text_lo || pc >= o.text_hi)
			continue;
		uint64_t rule = ldp_uw_rule(&o, pc, pc);
		st->fdes++;
		assert_true(rule & LDP_UWR_VALID);
		if (rule & LDP_UWR_UNSUPPORTED)
			st->unsupported++;
		else if (!(rule & (LDP_UWR_CFA_RBP | LDP_UWR_OUTERMOST)) && ldp_uwr_cfa_off(rule) == 8)
			st->entry_rsp8++;
		else {
			st->other++;
			if (getenv("UW_VERBOSE")) {
				Dl_info di;
				int ok = dladdr((void *)pc, &di);
				fprintf(stderr, "  other: %s %s+%lx rule %lx\n", info->dlpi_name,
					ok && di.dli_sname ? di.dli_sname : "?", ok && di.dli_saddr ? (unsigned long)(pc - (uintptr_t)di.dli_saddr) : 0ul, (unsigned long)rule);
			}
		}
		/* a few addresses further in: any rule, but a rule */
		for (uintptr_t d = 1; d < 64; d += 13)
			assert_true(ldp_uw_rule(&o, pc + d, pc + d) & LDP_UWR_VALID);
	}
	return 0;
}

static void test_every_fde(void **state)
{
	(void)state;
	struct fde_stats st = {0};
	dl_iterate_phdr(fde_cb, &st);
	fprintf(stderr, "  %u objects, %u FDEs: %u enter with CFA=RSP+8, %u other, %u unsupported\n", st.objects,
		st.fdes, st.entry_rsp8, st.other, st.unsupported);
	assert_true(st.objects >= 3);
	assert_true(st.fdes > 1000);
	/* the rest: split-off cold parts (foo.cold) enter with their parent's frame, PLTs, _start */
	assert_true(st.entry_rsp8 >= st.fdes * 95 / 100);
	assert_true(st.unsupported <= st.fdes / 100);
}

/* ---- hostile stacks ---- */

static void test_hostile_stacks(void **state)
{
	(void)state;
	/* Words that are real code addresses make the walk go on; the rest is noise. */
	uintptr_t code[] = {(uintptr_t)qsort + 5, (uintptr_t)uw_a + 9, (uintptr_t)rs_next + 7,
			    (uintptr_t)malloc + 11, (uintptr_t)test_hostile_stacks + 3, (uintptr_t)raise + 2};
	enum { WORDS = 512 };
	static uintptr_t stack[WORDS];
	uintptr_t at[LDP_MEMO_WORDS], val[LDP_MEMO_WORDS], ips[MAXF];
	uint64_t seed = 42;
	unsigned walked = 0;
	for (unsigned round = 0; round < 20000; round++) {
		for (unsigned i = 0; i < WORDS; i++) {
			uint64_t x = rng(&seed);
			stack[i] = x % 3 == 0 ? code[x % (sizeof code / sizeof *code)] + (x >> 60)
				   : x % 3 == 1 ? (uintptr_t)&stack[(x >> 8) % WORDS]
						: (uintptr_t)x;
		}
		uintptr_t lo = (uintptr_t)&stack[rng(&seed) % WORDS], hi = (uintptr_t)&stack[WORDS];
		struct ldp_uw_regs r = {
			.ip = code[rng(&seed) % (sizeof code / sizeof *code)] + rng(&seed) % 40,
			.sp = lo & ~(uintptr_t)7,
			.bp = (uintptr_t)&stack[rng(&seed) % WORDS] + (rng(&seed) % 3 ? 0 : rng(&seed)),
		};
		struct ldp_uw_walk w = {.hi = hi, .ips = ips, .max = MAXF, .flags = LDP_UW_MAY_LOCK,
					.rd_at = at, .rd_val = val, .rd_cap = LDP_MEMO_WORDS};
		unsigned n = ldp_uw_walk(&w, r, (int)(round & 1));
		walked += n;
		assert_true(w.nread <= LDP_MEMO_WORDS);
		for (unsigned i = 0; i < w.nread; i++)
			assert_true(at[i] >= r.sp && at[i] + 8 <= hi);
	}
	fprintf(stderr, "  20000 random stacks, %u frames walked, no read outside them\n", walked);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_chain),
		cmocka_unit_test(test_random_stacks),
		cmocka_unit_test(test_random_stacks_threads),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_signal_context),
		cmocka_unit_test(test_every_fde),
		cmocka_unit_test(test_hostile_stacks),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
