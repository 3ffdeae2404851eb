/*
 * profile.c - see profile.h.
 */
#include "profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void profile_init(struct profile *p)
{
	memset(p, 0, sizeof *p);
}

void profile_free(struct profile *p)
{
	for (int k = 0; k < PROF_KINDS; k++)
		table_free(p->k[k].stacks, p->k[k].stacks_cap * sizeof *p->k[k].stacks);
	free(p->threads);
	memset(p, 0, sizeof *p);
}

static struct prof_thread *thread_of(struct profile *p, uint32_t tid)
{
	for (size_t i = 0; i < p->nthreads; i++)
		if (p->threads[i].tid == tid)
			return &p->threads[i];
	vec_reserve((void **)&p->threads, &p->threads_cap, p->nthreads + 1, sizeof *p->threads);
	struct prof_thread *t = &p->threads[p->nthreads++];
	memset(t, 0, sizeof *t);
	t->tid = tid;
	return t;
}

static void rate_note(struct prof_kind *pk, uint64_t us)
{
	if (!pk->rate_bucket_us)
		pk->rate_bucket_us = 1000;
	while (us / pk->rate_bucket_us >= PROF_RATE_MAX) {
		for (size_t i = 0; i < PROF_RATE_MAX / 2; i++)
			pk->rate[i] = pk->rate[2 * i] + pk->rate[2 * i + 1];
		memset(pk->rate + PROF_RATE_MAX / 2, 0, PROF_RATE_MAX / 2 * sizeof *pk->rate);
		pk->rate_n = (pk->rate_n + 1) / 2;
		pk->rate_bucket_us *= 2;
	}
	size_t i = (size_t)(us / pk->rate_bucket_us);
	pk->rate[i]++;
	if (i + 1 > pk->rate_n)
		pk->rate_n = (uint32_t)(i + 1);
}

void profile_sample(struct profile *p, const struct rd_sample *s)
{
	int k = s->kind == LDP_SAMPLE_WALL ? PROF_WALL : s->kind == LDP_SAMPLE_CPU ? PROF_CPU : -1;
	if (k < 0)
		return;
	struct prof_kind *pk = &p->k[k];
	if (s->stack >= pk->nstacks) {
		table_reserve((void **)&pk->stacks, &pk->stacks_cap, (size_t)s->stack + 1, sizeof *pk->stacks); /* zeroed */
		pk->nstacks = (size_t)s->stack + 1;
	}
	struct prof_stack *st = &pk->stacks[s->stack];
	st->samples++;
	st->weight_ns += s->weight_ns;
	pk->samples++;
	pk->weight_ns += s->weight_ns;
	rate_note(pk, s->time_us);
	struct prof_thread *t = thread_of(p, s->tid);
	t->samples[k]++;
	if (k == PROF_WALL && s->state != LDP_STATE_RUNNING) {
		st->blocked++;
		t->blocked++;
	}
}

void profile_lost(struct profile *p, unsigned kind, uint64_t count)
{
	if (kind == LDP_SAMPLE_CPU)
		p->k[PROF_CPU].lost += count;
	else if (kind == LDP_SAMPLE_WALL)
		p->k[PROF_WALL].lost += count;
}

void profile_thread_name(struct profile *p, uint32_t tid, const char *name)
{
	snprintf(thread_of(p, tid)->name, sizeof p->threads[0].name, "%s", name);
}

uint64_t profile_interval_ns(const struct profile *p, int kind)
{
	return p->k[kind].samples ? p->k[kind].weight_ns / p->k[kind].samples : 0;
}
