/*
 * stacktrie.c - the writer's index of the stacks written so far, by their
 * outer frames, so that a STACK2 record takes the outer frames it shares
 * with an earlier stack from that stack and writes only the rest (format
 * 2.0, docs/FORMAT.md "STACK2").
 *
 *   a node is a path of frames from the outermost in: (parent node, ip) -> node
 *   owner[node] = the first stack written through it, whose outermost
 *                 frames are the node's path
 *
 * Programs with deep, varied stacks (recursion, C++ services) intern
 * hundreds of thousands of stacks that differ only in their innermost
 * frames; written whole they were most of such a trace.
 *
 * Only the writer uses it, so it takes no lock. It knows only stacks already
 * written to the current file: when the writer writes every stack again (a
 * new part, a fork child's own file) it empties it first, so a base is always
 * an earlier record of the same file. At its size limit (1/16 of the budget
 * under RLIMIT_AS, LDP_TRIE_MAX_NODES without) it stops growing and still matches what it holds: a
 * stack it cannot match is written whole, still correct. Like the writer's
 * other memory it is left out of fork children (MADV_DONTFORK): the child's
 * writer forgets it and starts its own.
 */
#include <string.h>

#include "agent.h"
#include "rawmem.h"

#define INITIAL_SLOTS 4096u /* 64 KiB */

static inline uint32_t slot_of(const struct ldp_stack_trie *t, uint32_t parent, uint64_t ip)
{
	uint64_t h = (ip ^ ((uint64_t)parent << 32 | parent)) * 0x9e3779b97f4a7c15ull;
	return (uint32_t)(h >> 32) & t->mask;
}

void ldp_trie_reset(struct ldp_stack_trie *t)
{
	if (t->slots)
		memset(t->slots, 0, ((size_t)t->mask + 1) * sizeof *t->slots);
	t->nodes = 0;
}

static void *trie_alloc(size_t n, size_t *bytes)
{
	void *p = ldp_raw_alloc(n);
	*bytes = ldp_raw_dontfork(p);
	return p;
}

void ldp_trie_free(struct ldp_stack_trie *t)
{
	ldp_raw_free(t->slots);
	ldp_raw_free(t->owner);
	memset(t, 0, sizeof *t);
}

size_t ldp_trie_forget(struct ldp_stack_trie *t)
{
	size_t bytes = t->slots_bytes + t->owner_bytes;
	memset(t, 0, sizeof *t);
	return bytes;
}

unsigned ldp_trie_match(const struct ldp_stack_trie *t, const uintptr_t *ips, unsigned depth, uint32_t *node,
			uint32_t *base)
{
	uint32_t at = 0;
	unsigned k = 0;
	*base = 0;
	if (t->slots) {
		for (; k < depth; k++) {
			uint64_t ip = ips[depth - 1 - k];
			uint32_t i = slot_of(t, at, ip);
			while (t->slots[i].node && !(t->slots[i].parent == at && t->slots[i].ip == ip))
				i = (i + 1) & t->mask;
			if (!t->slots[i].node)
				break;
			at = t->slots[i].node;
		}
	}
	if (k)
		*base = t->owner[at];
	*node = at;
	return k;
}

/* Room for one more node: the table at most 70% full, owner[] long enough. */
static int make_room(struct ldp_stack_trie *t)
{
	if (t->nodes + 1 >= LDP_TRIE_MAX_NODES)
		return -1;
	if (t->nodes + 1 >= t->owner_cap) {
		uint32_t cap = t->owner_cap ? t->owner_cap * 2 : INITIAL_SLOTS;
		size_t bytes;
		uint32_t *o = trie_alloc((size_t)cap * sizeof *o, &bytes);
		if (!o)
			return -1;
		if (t->owner)
			memcpy(o, t->owner, (size_t)t->owner_cap * sizeof *o);
		ldp_raw_free(t->owner);
		t->owner = o;
		t->owner_bytes = bytes;
		t->owner_cap = cap;
	}
	size_t nslots = t->slots ? (size_t)t->mask + 1 : 0;
	if ((t->nodes + 1) * 10ull <= nslots * 7ull)
		return 0;
	size_t grown = nslots ? nslots * 2 : INITIAL_SLOTS;
	/* Like the agent's other tables, a share of the budget under RLIMIT_AS:
	 * at most 1/16 of it (32 MiB without a limit, LDP_TRIE_MAX_NODES). */
	if (grown * sizeof *t->slots > ldp_budget_share(16, INITIAL_SLOTS * sizeof *t->slots, 32u << 20))
		return -1;
	size_t bytes;
	struct ldp_trie_slot *s = trie_alloc(grown * sizeof *s, &bytes);
	if (!s)
		return -1;
	struct ldp_stack_trie n = *t;
	n.slots = s;
	n.slots_bytes = bytes;
	n.mask = (uint32_t)(grown - 1);
	for (size_t i = 0; i < nslots; i++) {
		if (!t->slots[i].node)
			continue;
		uint32_t j = slot_of(&n, t->slots[i].parent, t->slots[i].ip);
		while (s[j].node)
			j = (j + 1) & n.mask;
		s[j] = t->slots[i];
	}
	ldp_raw_free(t->slots);
	*t = n;
	return 0;
}

void ldp_trie_add(struct ldp_stack_trie *t, uint32_t node, unsigned keep, const uintptr_t *ips, unsigned depth,
		  uint32_t stack)
{
	/* The path it shares now names it: a later stack gets the latest stack
	 * through a node as its base, a nearer id (mixed: 1.75 -> 1.73 MB). */
	uint32_t at = 0;
	for (unsigned k = 0; k < keep; k++) {
		uint64_t ip = ips[depth - 1 - k];
		uint32_t i = slot_of(t, at, ip);
		while (!(t->slots[i].parent == at && t->slots[i].ip == ip))
			i = (i + 1) & t->mask;
		at = t->slots[i].node;
		t->owner[at] = stack;
	}
	for (unsigned k = keep; k < depth; k++) {
		if (make_room(t))
			return; /* full: what is here still matches */
		uint64_t ip = ips[depth - 1 - k];
		uint32_t i = slot_of(t, node, ip);
		while (t->slots[i].node)
			i = (i + 1) & t->mask;
		t->slots[i] = (struct ldp_trie_slot){.ip = ip, .parent = node, .node = ++t->nodes};
		t->owner[t->nodes] = stack;
		node = t->nodes;
	}
}
