/*
 * merge.c: committing merges, and what commits leave behind.  Owns the merge
 * policy (build.c's top comment states it: tiers by floor(log10(live
 * docs)), MERGE_FACTOR segments of a tier merged into one, segments with
 * more than MERGE_DELETED_PCT% deleted rewritten), each merge written by
 * seg_merge (core) and committed alone, and the removal of files no
 * manifest names (a killed run's, or a merge's inputs).
 *
 * Callers: build.c (xihu_build's merge step, its cleanup and its stats).
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/build-int.h"

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

/* Picks the segments of the next merge into pick[] (indexes into s->m.segs,
 * ascending); returns how many (0: nothing to merge).  s->open must be full. */
static uint32_t merge_pick(const state *s, bool merge_all, uint32_t *pick)
{
	uint32_t n = s->m.nsegs, k = 0;
	if (merge_all) {
		if (n > 1 || (n == 1 && seg_ndeleted(s->open[0]) > 0))
			for (uint32_t i = 0; i < n; i++)
				pick[k++] = i;
		return k;
	}
	int best = -1;
	for (int t = 0; t < 10 && best < 0; t++) {
		uint32_t c = 0;
		for (uint32_t i = 0; i < n; i++)
			c += tier_of(seg_ndocs(s->open[i]) - seg_ndeleted(s->open[i])) == t;
		if (c >= MERGE_FACTOR)
			best = t;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t nd = seg_ndocs(s->open[i]), del = seg_ndeleted(s->open[i]);
		if (best >= 0 ? tier_of(nd - del) == best : (uint64_t)del * 100 > (uint64_t)nd * MERGE_DELETED_PCT)
			pick[k++] = i;
	}
	return k;
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

/* Commits the manifest after s's segments pick[0..k) were merged into
 * out_id (info): the output where the first input was (unless it holds
 * nothing), the inputs gone.  Then s is that commit, the inputs closed. */
static int commit_merge(build *b, state *s, const uint32_t *pick, uint32_t k, uint64_t out_id,
                        const seg_info *info)
{
	manifest nm = s->m;
	manifest_seg *segs = malloc((s->m.nsegs + 1) * sizeof *segs);
	seg **open = calloc(s->m.nsegs + 1, sizeof *open);
	int rc = !segs || !open ? xihu_err_set(b->err, XIHU_ENOMEM, "out of memory") : 0;
	uint32_t n = 0;
	for (uint32_t i = 0, p = 0; i < s->m.nsegs && !rc; i++) {
		if (p < k && pick[p] == i) {
			if (p == 0 && info->ndocs > 0)
				segs[n++] = (manifest_seg){.id = out_id, .ndocs = info->ndocs};
			p++;
			continue;
		}
		open[n] = s->open[i];
		segs[n++] = s->m.segs[i];
	}
	nm.generation = s->m.generation + 1;
	nm.next_seg_id = out_id + 1;
	nm.segs = segs;
	nm.nsegs = n;
	if (rc || (rc = manifest_write(b->dir, &nm, b->err))) {
		free(segs);
		free(open);
		return rc;
	}
	build_verbose(b, "committed generation %" PRIu64 ": merged into %012" PRIx64 " (%u docs)", nm.generation, out_id,
	        info->ndocs);
	for (uint32_t p = 0; p < k; p++)
		seg_close(s->open[pick[p]]);
	free(s->open);
	free(s->m.segs);
	s->m = nm;
	s->open = open;
	b->st->merges++;
	b->st->committed = true;
	remove_garbage(b->dir, &s->m);
	return 0;
}

/* Merges s's segments pick[0..k) into a new segment and commits that. */
static int merge_one(build *b, state *s, const uint32_t *pick, uint32_t k)
{
	const seg **in = malloc((k + 1) * sizeof *in);
	if (!in)
		return xihu_err_set(b->err, XIHU_ENOMEM, "out of memory");
	uint64_t out_id = s->m.next_seg_id, in_docs = 0;
	for (uint32_t i = 0; i < k; i++) {
		in[i] = s->open[pick[i]];
		in_docs += seg_ndocs(in[i]) - seg_ndeleted(in[i]);
	}
	build_verbose(b, "merging %u segment%s (%" PRIu64 " live docs) into %012" PRIx64, k, k == 1 ? "" : "s", in_docs,
	        out_id);
	seg_info info;
	int rc = seg_merge(b->dir, in, k, out_id, &info, b->err);
	free(in);
	heap_give_back();
	return rc ? rc : commit_merge(b, s, pick, k, out_id, &info);
}

/* Merges by the policy (merge_pick) until it picks nothing, a commit each. */
int merge_loop(build *b, state *s)
{
	uint32_t *pick = NULL;
	int rc = 0;
	for (uint32_t round = 0; round < MAX_MERGES && !rc; round++) {
		if ((rc = open_all(b, s)))
			break;
		uint32_t *p = realloc(pick, (s->m.nsegs + 1) * sizeof *pick);
		if (!p) {
			rc = xihu_err_set(b->err, XIHU_ENOMEM, "out of memory");
			break;
		}
		pick = p;
		uint32_t k = merge_pick(s, b->o->merge_all && round == 0, pick);
		if (k == 0)
			break;
		if (build_cancelled(b)) { /* what is committed stays; the rest is for the next run */
			rc = xihu_err_set(b->err, XIHU_ECANCELED, "%s: merging cancelled", b->dir);
			break;
		}
		rc = merge_one(b, s, pick, k);
	}
	free(pick);
	return rc;
}
