/*
 * stackbases.c - the writer's index of the stacks it wrote, by their outer
 * frames, so that a STACK2 record takes the outer frames it shares with an
 * earlier stack from that stack and writes only the rest (format 2.0,
 * docs/FORMAT.md "STACK2").
 *
 *   key(k) = hash of a stack's outermost k frames (and k)
 *   table:   key(k) -> the first stack written with those outer k frames
 *
 * Every stack written enters its keys for every k its base did not cover,
 * so a path present at length k is present at every shorter length. The
 * search starts from what the stack shares with the one written just
 * before (compared frame by frame, in cache), probes one frame further,
 * and only if that is there halves the rest: a probe or two a stack, each
 * a cache miss (walking a trie from the root took 30 dependent misses for
 * a 30-frame stack, and a third more CPU on `mixed`). The writer checks a
 * base the hashes found against its frames (ldp_bases_shares), so a hash
 * collision costs only a stack written whole.
 *
 * Programs with deep, varied stacks (recursion, C++ services) intern
 * hundreds of thousands of stacks that differ only in their innermost
 * frames; written whole they were most of such a trace.
 *
 * Only the writer uses it, so it takes no lock. It knows only stacks already
 * written to the current file: when the writer writes every stack again (a
 * new part, a fork child's own file) it empties it first, so a base is always
 * an earlier record of the same file. At its size limit (1/16 of the budget
 * under RLIMIT_AS, LDP_BASES_MAX_KEYS without) it stops growing and still
 * finds what it holds. Like the writer's other memory it is left out of fork
 * children (MADV_DONTFORK): the child's writer forgets it and starts its own.
 */
#include <string.h>

#include "agent.h"
#include "rawmem.h"

#define INITIAL_SLOTS 4096u /* 64 KiB */

static inline uint64_t key_step(uint64_t h, uintptr_t ip)
{
	return ldp_stack_hash_step(h, ip);
}

static inline uint64_t key_of(uint64_t h, unsigned k)
{
	return ldp_stack_hash_fin(h, k, 0); /* never 0: 0 marks an empty slot */
}

static void *bases_alloc(size_t n, size_t *bytes)
{
	void *p = ldp_raw_alloc(n);
	*bytes = ldp_raw_dontfork(p);
	return p;
}

void ldp_bases_reset(struct ldp_stack_bases *b)
{
	if (b->slots)
		memset(b->slots, 0, ((size_t)b->mask + 1) * sizeof *b->slots);
	b->len = 0;
	b->prev_depth = 0;
}

void ldp_bases_free(struct ldp_stack_bases *b)
{
	ldp_raw_free(b->slots);
	ldp_raw_free(b->keys);
	memset(b, 0, sizeof *b);
}

size_t ldp_bases_forget(struct ldp_stack_bases *b)
{
	size_t bytes = b->slots_bytes + b->keys_bytes;
	memset(b, 0, sizeof *b);
	return bytes;
}

static const struct ldp_base_slot *find(const struct ldp_stack_bases *b, uint64_t key)
{
	for (uint32_t i = (uint32_t)(key >> 32) & b->mask;; i = (i + 1) & b->mask) {
		if (b->slots[i].key == key)
			return &b->slots[i];
		if (!b->slots[i].key)
			return NULL;
	}
}

unsigned ldp_bases_match(struct ldp_stack_bases *b, const uintptr_t *ips, unsigned depth, uint32_t *base,
			 int *checked)
{
	*base = 0;
	*checked = 1;
	if (!b->keys) {
		b->keys = bases_alloc((LDP_MAX_STACK_DEPTH + 1) * sizeof *b->keys, &b->keys_bytes);
		if (!b->keys)
			return 0;
	}
	uint64_t h = LDP_STACK_HASH_SEED;
	for (unsigned k = 1; k <= depth; k++) {
		h = key_step(h, ips[depth - k]);
		b->keys[k] = key_of(h, k);
	}
	/* First what it shares with the stack written just before (in cache):
	 * in a recursion it is often all there is, and then one probe says so. */
	unsigned lo = 0;
	while (lo < depth && lo < b->prev_depth && b->prev_ips[b->prev_depth - 1 - lo] == ips[depth - 1 - lo])
		lo++;
	uint32_t at_lo = lo ? b->prev_id : 0;
	if (b->slots && lo < depth) {
		const struct ldp_base_slot *s = find(b, b->keys[lo + 1]);
		if (s) {
			*checked = 0; /* found by hashes: the caller compares frames */
			lo++;
			at_lo = s->stack;
			for (unsigned hi = depth; lo < hi;) {
				unsigned mid = lo + (hi - lo + 1) / 2;
				if ((s = find(b, b->keys[mid]))) {
					lo = mid;
					at_lo = s->stack;
				} else {
					hi = mid - 1;
				}
			}
		}
	}
	*base = at_lo;
	return lo;
}

int ldp_bases_shares(const uintptr_t *base_ips, unsigned base_depth, const uintptr_t *ips, unsigned depth,
		     unsigned keep)
{
	return keep <= base_depth && keep <= depth &&
	       !memcmp(base_ips + base_depth - keep, ips + depth - keep, keep * sizeof *ips);
}

/* Room for one more key: the table at most 70 % full, within its share. */
static int make_room(struct ldp_stack_bases *b)
{
	size_t nslots = b->slots ? (size_t)b->mask + 1 : 0;
	if ((b->len + 1) * 10ull <= nslots * 7ull)
		return 0;
	if (b->len + 1 >= LDP_BASES_MAX_KEYS)
		return -1;
	size_t grown = nslots ? nslots * 2 : INITIAL_SLOTS;
	/* Like the agent's other tables, a share of the budget under RLIMIT_AS:
	 * at most 1/16 of it (32 MiB without a limit, LDP_BASES_MAX_KEYS). */
	if (grown * sizeof *b->slots > ldp_budget_share(16, INITIAL_SLOTS * sizeof *b->slots, 32u << 20))
		return -1;
	size_t bytes;
	struct ldp_base_slot *s = bases_alloc(grown * sizeof *s, &bytes);
	if (!s)
		return -1;
	uint32_t mask = (uint32_t)(grown - 1);
	for (size_t i = 0; i < nslots; i++) {
		if (!b->slots[i].key)
			continue;
		uint32_t j = (uint32_t)(b->slots[i].key >> 32) & mask;
		while (s[j].key)
			j = (j + 1) & mask;
		s[j] = b->slots[i];
	}
	ldp_raw_free(b->slots);
	b->slots = s;
	b->slots_bytes = bytes;
	b->mask = mask;
	return 0;
}

void ldp_bases_add(struct ldp_stack_bases *b, const uintptr_t *ips, unsigned keep, unsigned depth, uint32_t stack)
{
	b->prev_ips = ips;
	b->prev_depth = depth;
	b->prev_id = stack;
	if (!b->keys)
		return;
	for (unsigned k = keep + 1; k <= depth; k++) {
		if (make_room(b))
			return; /* full: what is here is still found */
		uint64_t key = b->keys[k];
		uint32_t i = (uint32_t)(key >> 32) & b->mask;
		while (b->slots[i].key && b->slots[i].key != key)
			i = (i + 1) & b->mask;
		if (b->slots[i].key)
			continue; /* a collision: the first holder stays */
		b->slots[i] = (struct ldp_base_slot){.key = key, .stack = stack};
		b->len++;
	}
}
