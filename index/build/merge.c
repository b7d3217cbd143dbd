/*
 * merge.c: committing merges, and what commits leave behind.  Owns the merge
 * policy (build.c's top comment states it: tiers by floor(log10(live
 * docs)), MERGE_FACTOR segments of a tier merged into one, segments with
 * more than MERGE_DELETED_PCT% deleted rewritten), each round's merges
 * written by seg_merge (core) and committed together, and the removal of
 * files no manifest names (a killed run's, or a merge's inputs).
 *
 * A round merges every tier that is due at once, each on a thread of its
 * own (up to MERGE_THREADS at a time): a merge keeps about one CPU busy
 * (its trigrams take a second thread part of the time), so two tiers due
 * together (a big build's segments straddle a power of ten) take the time
 * of the longer.  A lone due tier of at least 2 * MERGE_FACTOR segments is
 * merged as two halves side by side, into two segments of that tier's
 * next, which is within the policy's bound (fewer than MERGE_FACTOR a
 * tier).  So after a build there are at most MERGE_FACTOR - 1 segments a
 * tier, and 2 + (MERGE_FACTOR - 1) * 9 in all below 10^10 docs.
 *
 * Callers: build.c (xihu_build's merge step, its cleanup and its stats).
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/build-int.h"

#define MERGE_THREADS 2

/* Removes every file in dir that looks like a segment's and is not live:
 * segments the manifest does not name, their .del generations but the
 * live one, and temporaries. */
void remove_garbage(const char *dir, const manifest *m)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		char *end;
		errno = 0;
		unsigned long long id = strtoull(e->d_name, &end, 16);
		if (errno || end - e->d_name != 12 || (*end != '.' && *end != '_'))
			continue;
		const manifest_seg *live = NULL;
		for (uint32_t i = 0; i < m->nsegs && !live; i++)
			if (m->segs[i].id == id)
				live = &m->segs[i];
		bool keep = false;
		if (live && *end == '.') {
			keep = !strchr(end + 1, '.'); /* "<id>.terms", not "<id>.terms.tmp" */
		} else if (live && *end == '_') {
			char *gend;
			errno = 0;
			unsigned long long gen = strtoull(end + 1, &gend, 10);
			keep = !errno && gend > end + 1 && gen == live->del_gen && !strcmp(gend, ".del");
		}
		if (!keep)
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

uint64_t dir_bytes(const char *dir)
{
	uint64_t total = 0;
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *e;
	struct stat st;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && strcmp(e->d_name, "LOCK") &&
		    !fstatat(dirfd(d), e->d_name, &st, 0) && S_ISREG(st.st_mode))
			total += (uint64_t)st.st_size;
	closedir(d);
	return total;
}

void state_free(state *s)
{
	if (s->open)
		for (uint32_t i = 0; i < s->m.nsegs; i++)
			seg_close(s->open[i]);
	free(s->open);
	manifest_free(&s->m);
	memset(s, 0, sizeof *s);
}

static int tier_of(uint32_t live)
{
	int t = 0;
	for (uint64_t v = 10; v <= live; v *= 10)
		t++;
	return t;
}

/* A merge of a round: its inputs (indexes into s->m.segs, ascending), its
 * output and how it went. */
typedef struct merge_group {
	const char *dir;
	uint32_t *pick, k;
	const seg **in;
	uint64_t out_id;
	seg_info info;
	int rc;
	xihu_err err;
} merge_group;

/* Picks the next round's merges into g[] (at most MERGE_THREADS; each group's pick
 * holds room for every segment); returns how many (0: nothing to merge).
 * s->open must be full. */
static uint32_t merge_pick(const state *s, bool merge_all, merge_group *g)
{
	uint32_t n = s->m.nsegs, ng = 0;
	if (merge_all) {
		if (n > 1 || (n == 1 && seg_ndeleted(s->open[0]) > 0)) {
			for (uint32_t i = 0; i < n; i++)
				g[0].pick[i] = i;
			g[0].k = n;
			return 1;
		}
		return 0;
	}
	/* the due tiers, lowest first, at most MERGE_THREADS */
	uint32_t cnt[10] = {0}; /* tier_of a uint32_t is at most 9 */
	for (uint32_t i = 0; i < n; i++)
		cnt[tier_of(seg_ndocs(s->open[i]) - seg_ndeleted(s->open[i]))]++;
	int due[MERGE_THREADS];
	for (int t = 0; t < 10 && ng < MERGE_THREADS; t++)
		if (cnt[t] >= MERGE_FACTOR)
			due[ng++] = t;
	for (uint32_t x = 0; x < ng; x++)
		g[x].k = 0;
	for (uint32_t i = 0; i < n; i++) {
		int t = tier_of(seg_ndocs(s->open[i]) - seg_ndeleted(s->open[i]));
		for (uint32_t x = 0; x < ng; x++)
			if (t == due[x])
				g[x].pick[g[x].k++] = i;
	}
	if (ng == 1 && g[0].k >= 2 * MERGE_FACTOR) { /* two halves, side by side */
		uint32_t half = g[0].k / 2;
		g[1].k = g[0].k - half;
		memcpy(g[1].pick, g[0].pick + half, g[1].k * sizeof *g[1].pick);
		g[0].k = half;
		ng = 2;
	}
	if (ng > 0)
		return ng;
	g[0].k = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t nd = seg_ndocs(s->open[i]), del = seg_ndeleted(s->open[i]);
		if ((uint64_t)del * 100 > (uint64_t)nd * MERGE_DELETED_PCT)
			g[0].pick[g[0].k++] = i;
	}
	return g[0].k > 0;
}

void heap_give_back(void)
{
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

/* Opens the segments not open yet.  Opening reads every dictionary block's
 * first key and every doc record: those pages are given back at once, or
 * the open segments (sixty small ones hold 300 MB of dictionaries at 8x
 * the Linux tree) would hold them in RSS through all the merges. */
int open_all(build *b, state *s)
{
	for (uint32_t i = 0; i < s->m.nsegs; i++)
		if (!s->open[i]) {
			int rc = seg_open(b->dir, s->m.segs[i].id, s->m.segs[i].del_gen, false, &s->open[i], b->err);
			if (rc)
				return rc;
			seg_release_pages(s->open[i]);
		}
	return 0;
}

/* Commits the manifest after each group of g[0..ng) was merged into its
 * output: an output where its first input was (unless it holds nothing),
 * the inputs gone.  Then s is that commit, the inputs closed. */
static int commit_merges(build *b, state *s, const merge_group *g, uint32_t ng)
{
	manifest nm = s->m;
	manifest_seg *segs = malloc((s->m.nsegs + 1) * sizeof *segs);
	seg **open = calloc(s->m.nsegs + 1, sizeof *open);
	int rc = !segs || !open ? xihu_err_set(b->err, XIHU_ENOMEM, "out of memory") : 0;
	uint32_t n = 0, at[MERGE_THREADS] = {0}; /* each group's next input (picks ascend) */
	for (uint32_t i = 0; i < s->m.nsegs && !rc; i++) {
		uint32_t x = 0;
		while (x < ng && !(at[x] < g[x].k && g[x].pick[at[x]] == i))
			x++;
		if (x < ng) {
			if (at[x]++ == 0 && g[x].info.ndocs > 0)
				segs[n++] = (manifest_seg){.id = g[x].out_id, .ndocs = g[x].info.ndocs};
			continue;
		}
		open[n] = s->open[i];
		segs[n++] = s->m.segs[i];
	}
	nm.generation = s->m.generation + 1;
	nm.next_seg_id = g[ng - 1].out_id + 1;
	nm.segs = segs;
	nm.nsegs = n;
	if (rc || (rc = manifest_write(b->dir, &nm, b->err))) {
		free(segs);
		free(open);
		return rc;
	}
	for (uint32_t x = 0; x < ng; x++)
		build_verbose(b, "committed generation %" PRIu64 ": merged into %012" PRIx64 " (%u docs)", nm.generation,
		              g[x].out_id, g[x].info.ndocs);
	for (uint32_t x = 0; x < ng; x++)
		for (uint32_t p = 0; p < g[x].k; p++)
			seg_close(s->open[g[x].pick[p]]);
	free(s->open);
	free(s->m.segs);
	s->m = nm;
	s->open = open;
	b->st->merges += ng;
	b->st->committed = true;
	remove_garbage(b->dir, &s->m);
	return 0;
}

static void *merge_thread(void *arg)
{
	merge_group *g = arg;
	g->rc = seg_merge(g->dir, g->in, g->k, g->out_id, &g->info, &g->err);
	return NULL;
}

/* Merges each group of g[0..ng) into a new segment, side by side, and
 * commits them together; a failure commits none (the outputs written are
 * garbage the next collection removes). */
static int merge_round(build *b, state *s, merge_group *g, uint32_t ng)
{
	int rc = 0;
	for (uint32_t x = 0; x < ng && !rc; x++) {
		g[x].dir = b->dir;
		g[x].out_id = s->m.next_seg_id + x;
		g[x].rc = 0;
		if (!(g[x].in = malloc((g[x].k + 1) * sizeof *g[x].in)))
			rc = xihu_err_set(b->err, XIHU_ENOMEM, "out of memory");
		uint64_t in_docs = 0;
		for (uint32_t i = 0; i < g[x].k && !rc; i++) {
			g[x].in[i] = s->open[g[x].pick[i]];
			in_docs += seg_ndocs(g[x].in[i]) - seg_ndeleted(g[x].in[i]);
		}
		if (!rc)
			build_verbose(b, "merging %u segment%s (%" PRIu64 " live docs) into %012" PRIx64, g[x].k,
			              g[x].k == 1 ? "" : "s", in_docs, g[x].out_id);
	}
	pthread_t t[MERGE_THREADS];
	bool started[MERGE_THREADS] = {false};
	for (uint32_t x = 1; x < ng && !rc; x++)
		started[x] = pthread_create(&t[x], NULL, merge_thread, &g[x]) == 0;
	if (!rc)
		g[0].rc = seg_merge(b->dir, g[0].in, g[0].k, g[0].out_id, &g[0].info, &g[0].err);
	for (uint32_t x = 1; x < ng && !rc; x++) {
		if (started[x])
			pthread_join(t[x], NULL);
		else /* no thread: after the first */
			g[x].rc = seg_merge(b->dir, g[x].in, g[x].k, g[x].out_id, &g[x].info, &g[x].err);
	}
	for (uint32_t x = 0; x < ng; x++) {
		if (!rc && g[x].rc) {
			rc = g[x].rc;
			*b->err = g[x].err;
		}
		free(g[x].in);
		g[x].in = NULL;
	}
	heap_give_back();
	return rc ? rc : commit_merges(b, s, g, ng);
}

/* Merges by the policy (merge_pick) until it picks nothing, a commit a
 * round. */
int merge_loop(build *b, state *s)
{
	merge_group g[MERGE_THREADS];
	memset(g, 0, sizeof g);
	int rc = 0;
	for (uint32_t round = 0; round < MAX_MERGES && !rc; round++) {
		if ((rc = open_all(b, s)))
			break;
		for (int x = 0; x < MERGE_THREADS && !rc; x++) {
			uint32_t *p = realloc(g[x].pick, (s->m.nsegs + 1) * sizeof *p);
			if (!p)
				rc = xihu_err_set(b->err, XIHU_ENOMEM, "out of memory");
			else
				g[x].pick = p;
		}
		if (rc)
			break;
		uint32_t ng = merge_pick(s, b->o->merge_all && round == 0, g);
		if (ng == 0)
			break;
		if (build_cancelled(b)) { /* what is committed stays; the rest is for the next run */
			rc = xihu_err_set(b->err, XIHU_ECANCELED, "%s: merging cancelled", b->dir);
			break;
		}
		rc = merge_round(b, s, g, ng);
	}
	for (int x = 0; x < MERGE_THREADS; x++)
		free(g[x].pick);
	return rc;
}
