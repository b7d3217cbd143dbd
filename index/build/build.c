/*
 * build.c: trees of files and JSON Lines records -> a committed index, built
 * in parallel within a RAM budget, updated incrementally, merged by tiers.
 *
 * One run of xihu_build:
 *  1. takes the writer lock (dir/LOCK, flock), reads the manifest and
 *     deletes the files no manifest names (leftovers of a killed run);
 *     reads the analysis in SETTINGS (settings.c) and refuses options that
 *     differ from it, or, for a new index, writes the options' one there;
 *  2. opens the live segments (no CRC pass: the names and stamps are all it
 *     reads) and loads their live documents: file path -> (segment, doc,
 *     size, mtime_ns); JSON Lines records by their stamp (below);
 *  3. walks the roots on this thread.  A file whose size and mtime_ns equal
 *     its indexed copy's is unchanged and left alone; new and changed files,
 *     and the records of changed JSON Lines files, go to the pipeline
 *     (pipeline.c): T worker threads, each reading, analyzing and writing
 *     its own segments within ram/T, in an order that does not depend on
 *     timing;
 *  4. marks the old copies of changed files, files gone from the trees and
 *     records of changed JSON Lines files in new deletion bitmaps (the old
 *     bitmap or'ed in, generation = the new manifest generation), drops
 *     segments left with no live document, and commits ONE manifest: the
 *     surviving segments in their order, then the new ones in walk order.
 *     Nothing changed: no commit;
 *  5. merges by tiers (below), one commit per merge, and deletes the files
 *     the last commit no longer names.
 * Until a manifest rename the previous commit stays intact and servable: a
 * crash (SIGKILL included) anywhere leaves at worst unreferenced files that
 * the next run deletes first.
 *
 * Progress: while documents are read, the walk and the pipeline's idle
 * report counts (xihu_build_progress) to opts->progress, at most 5 times a
 * second, and the run once more when all of them are in segments; nothing
 * here draws them or touches a terminal (xihu-index and xihud do).
 *
 * Roots: the index holds exactly the roots of its last run.  Given paths
 * (default ".") and --jsonl files replace the manifest's roots; documents
 * under a root no longer given are deleted; a root nested in another given
 * root is walked once.  With opts->update and no paths the manifest's roots
 * are used again, each walked as it was last time (with or without
 * --no-ignore; a vanished tree just loses its documents).  The manifest
 * stores a tree root as its absolute path, or "noignore:" + path when it
 * was walked with no ignore files, and a JSON Lines file as "jsonl:" + path
 * (absolute paths start with '/', so the forms never mix).
 *
 * JSON Lines records are replaced whole, per file: each record carries its
 * file's stamp, size = the file's size and mtime_ns = its mtime_ns xor a
 * 64-bit hash of its path.  A given JSON Lines file whose current stamp is
 * carried by old live records is unchanged (not re-read); every other old
 * record is deleted and every other file is read whole.
 *
 * Merge policy (after each commit): a segment's tier is floor(log10(live
 * docs)); when a tier holds >= MERGE_FACTOR segments they are merged into
 * one; otherwise segments with more than 30% of their docs deleted are
 * rewritten together.  opts->merge_all merges everything into one segment.
 * The merged segment takes the place of the first input in the manifest.
 *
 * Called by xihu-index and by xihud (its new indexes and live sync) through
 * xihu_build; xihud also reads an index's roots (xihu_index_roots) and
 * lists the directories live sync watches (xihu_tree_dirs).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "build/build.h"
#include "input/input.h"

#define MAX_THREADS 8
#define DEFAULT_RAM (256ull << 20)
#define MERGE_FACTOR 10
#define MERGE_DELETED_PCT 30
#define MAX_MERGES 1000 /* per run; the policy converges long before */
#define LOCK_POLL_MS 50
#define JSONL_PREFIX "jsonl:"
#define NOIGNORE_PREFIX "noignore:"

/* ---- one run ---------------------------------------------------------------- */

typedef struct old_doc {
	const char *name; /* in the segment's mapping */
	uint32_t name_len;
	uint32_t seg; /* index in the old manifest */
	uint32_t doc;
	int64_t mtime_ns;
	uint64_t size;
	uint64_t hash;
	bool seen; /* the walk met it unchanged */
} old_doc;

typedef struct live_seg {
	uint64_t id, del_gen;
	uint32_t ndocs;
	seg *s;          /* opened at del_gen */
	uint8_t *newdel; /* run's deletions or'ed into the old bitmap, NULL: none yet */
	uint32_t nnew;   /* bits newly set */
} live_seg;

typedef struct build {
	const char *dir;
	const xihu_build_opts *o;
	uint64_t max_size;
	xihu_build_stats *st;
	xihu_err *err;
	uint64_t start_ns, last_progress_ns;

	manifest old;
	live_seg *segs; /* the old manifest's, opened */
	uint32_t nsegs;
	old_doc *docs; /* files of the old index, open-addressed by name */
	uint32_t docs_mask;
	uint32_t ndocs_old;
	uint64_t nmarked; /* deletion bits this run set */

	/* records: stamps of the old live records, and which are kept */
	struct stamp {
		uint64_t size;
		int64_t mtime;
		bool keep;
	} *stamps;
	uint32_t nstamps, capstamps;

	/* the walk */
	uint32_t root_len; /* the tree being walked: its path relative part starts after */
	uint64_t queued_bytes; /* handed to the pipeline: the ETA's total once walk_done */
	bool walk_done;
	uint64_t skipped_large; /* by their size at the walk */
	pipeline *pipe;
} build;

static void warn(build *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(build *b, const char *fmt, ...)
{
	if (!b->o->warnings)
		return;
	char msg[PATH_MAX + 512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	warn_line(b->o->warnings, msg); /* escapes the paths in it */
}

static void verbose(build *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void verbose(build *b, const char *fmt, ...)
{
	if (!b->o->verbose)
		return;
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fprintf(b->o->verbose, "xihu-index: %s\n", line);
	fflush(b->o->verbose);
}

/* ---- progress ------------------------------------------------------------------------- */

#define PROGRESS_EVERY_NS 200000000u /* at most 5 reports a second */

/* Reports the counts to opts->progress: from the walk and from the
 * pipeline's idle, at most every PROGRESS_EVERY_NS, and once more, final,
 * when every document is read.  On the build's thread only. */
static void report_progress(build *b, bool final)
{
	if (!b->o->progress)
		return;
	uint64_t now = now_ns();
	if (!final && now - b->last_progress_ns < PROGRESS_EVERY_NS)
		return;
	b->last_progress_ns = now;
	pipeline_counts c = {0};
	if (b->pipe)
		pipeline_get_counts(b->pipe, &c);
	xihu_build_progress p = {
		.phase = final ? XIHU_BUILD_INDEXED : b->walk_done ? XIHU_BUILD_READING : XIHU_BUILD_WALKING,
		.files_seen = b->st->files_seen,
		.files_done = c.files,
		.bytes_done = c.input_bytes,
		.bytes_total = b->queued_bytes > c.input_bytes ? b->queued_bytes : c.input_bytes,
		.elapsed_ns = now - b->start_ns,
		.eta_s = -1,
	};
	/* the bytes left at the rate so far, once the walk has found them all */
	if (p.phase == XIHU_BUILD_READING && p.bytes_done && p.elapsed_ns && p.bytes_total > p.bytes_done)
		p.eta_s = (double)(p.bytes_total - p.bytes_done) * ((double)p.elapsed_ns / 1e9) / (double)p.bytes_done;
	b->o->progress(b->o->progress_ctx, &p);
}

int xihu_build_progress_line(const xihu_build_progress *p, char *buf, size_t size)
{
	double secs = (double)p->elapsed_ns / 1e9, mb = (double)p->bytes_done / 1e6;
	double rate = secs > 0 ? mb / secs : 0.0;
	if (p->eta_s >= 0)
		return snprintf(buf, size, "%" PRIu64 " files, %.1f MB, %.1f MB/s, ETA %.0f s", p->files_done, mb, rate,
		                p->eta_s);
	return snprintf(buf, size, "%" PRIu64 " files, %.1f MB, %.1f MB/s", p->files_done, mb, rate);
}

static void idle(void *ctx)
{
	report_progress(ctx, false);
}

/* ---- the old index: what is there, what stays ---------------------------------- */

static old_doc *docs_find(build *b, const char *name, size_t len, uint64_t h)
{
	if (!b->docs)
		return NULL;
	for (uint32_t i = (uint32_t)h & b->docs_mask;; i = (i + 1) & b->docs_mask) {
		old_doc *d = &b->docs[i];
		if (!d->name)
			return NULL;
		if (d->hash == h && d->name_len == len && !memcmp(d->name, name, len))
			return d;
	}
}

/* Marks doc of old segment si deleted by this run. */
static int mark_deleted(build *b, uint32_t si, uint32_t doc)
{
	live_seg *ls = &b->segs[si];
	if (!ls->newdel) {
		size_t bytes = ((size_t)ls->ndocs + 7) / 8;
		ls->newdel = calloc(bytes ? bytes : 1, 1);
		if (!ls->newdel)
			return xihu_err_set(b->err, XIHU_ENOMEM, "out of memory");
		const uint8_t *old = seg_deletes(ls->s);
		if (old)
			memcpy(ls->newdel, old, bytes);
	}
	if (!seg_bitmap_test(ls->newdel, doc)) {
		ls->newdel[doc >> 3] |= (uint8_t)(1u << (doc & 7));
		ls->nnew++;
		b->nmarked++;
	}
	return 0;
}

static int64_t record_stamp_mtime(const char *path, const struct stat *st)
{
	int64_t m = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	return m ^ (int64_t)hash_bytes(path, strlen(path));
}

static struct stamp *stamp_find(build *b, uint64_t size, int64_t mtime)
{
	for (uint32_t i = 0; i < b->nstamps; i++)
		if (b->stamps[i].size == size && b->stamps[i].mtime == mtime)
			return &b->stamps[i];
	return NULL;
}

/* Opens the old manifest's segments and loads their live documents. */
static int load_old(build *b)
{
	manifest *m = &b->old;
	b->segs = calloc(m->nsegs ? m->nsegs : 1, sizeof *b->segs);
	if (!b->segs)
		return xihu_err_set(b->err, XIHU_ENOMEM, "out of memory");
	uint64_t total = 0;
	for (uint32_t i = 0; i < m->nsegs; i++) {
		live_seg *ls = &b->segs[i];
		ls->id = m->segs[i].id;
		ls->del_gen = m->segs[i].del_gen;
		int rc = seg_open(b->dir, ls->id, ls->del_gen, false, &ls->s, b->err);
		if (rc)
			return rc;
		b->nsegs++;
		ls->ndocs = seg_ndocs(ls->s);
		total += ls->ndocs;
	}
	uint32_t cap = 1024;
	while (cap < 2 * total && cap < (1u << 31))
		cap *= 2;
	b->docs = calloc(cap, sizeof *b->docs);
	if (!b->docs)
		return xihu_err_set(b->err, XIHU_ENOMEM, "out of memory");
	b->docs_mask = cap - 1;
	for (uint32_t si = 0; si < b->nsegs; si++) {
		const seg *s = b->segs[si].s;
		const uint8_t *del = seg_deletes(s);
		for (uint32_t d = 0; d < b->segs[si].ndocs; d++) {
			if (seg_bitmap_test(del, d))
				continue;
			seg_doc sd;
			int rc = seg_doc_get(s, d, &sd, b->err);
			if (rc)
				return rc;
			if (sd.record) {
				if (!stamp_find(b, sd.size, sd.mtime_ns)) {
					if (b->nstamps == b->capstamps) {
						uint32_t c = b->capstamps ? 2 * b->capstamps : 8;
						struct stamp *v = realloc(b->stamps, c * sizeof *v);
						if (!v)
							return xihu_err_set(b->err, XIHU_ENOMEM, "out of memory");
						b->stamps = v;
						b->capstamps = c;
					}
					b->stamps[b->nstamps++] = (struct stamp){.size = sd.size, .mtime = sd.mtime_ns};
				}
				continue;
			}
			uint64_t h = hash_bytes(sd.name, sd.name_len);
			old_doc *od = docs_find(b, sd.name, sd.name_len, h);
			if (od) { /* the same path twice (an older build's overlapping roots): drop this one */
				if ((rc = mark_deleted(b, si, d)))
					return rc;
				continue;
			}
			uint32_t i = (uint32_t)h & b->docs_mask;
			while (b->docs[i].name)
				i = (i + 1) & b->docs_mask;
			b->docs[i] = (old_doc){.name = sd.name, .name_len = sd.name_len, .seg = si, .doc = d,
			                       .mtime_ns = sd.mtime_ns, .size = sd.size, .hash = h};
			b->ndocs_old++;
		}
	}
	return 0;
}

/* ---- the walk: what to (re)index ------------------------------------------------- */

static bool cancelled(const build *b)
{
	return b->o->cancel && atomic_load_explicit(b->o->cancel, memory_order_relaxed);
}

static int on_file(void *ctx, const char *path, const struct stat *st)
{
	build *b = ctx;
	if (cancelled(b))
		return xihu_err_set(b->err, XIHU_ECANCELED, "%s: indexing cancelled", b->dir);
	b->st->files_seen++;
	size_t len = strlen(path);
	int64_t mtime = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	uint64_t size = (uint64_t)st->st_size;
	old_doc *od = docs_find(b, path, len, hash_bytes(path, len));
	bool large = size > b->max_size;
	if (od && !large && od->size == size && od->mtime_ns == mtime) {
		od->seen = true;
		b->st->unchanged++;
		return 0;
	}
	/* new, or changed (or now too large): an old copy is not seen, so the
	 * sweep after the walk deletes it */
	if (large) {
		b->skipped_large++;
		warn(b, "%s: %" PRIu64 " bytes, over --max-file-size %" PRIu64 " (skipped)", path, size, b->max_size);
		return 0;
	}
	size_t rel = b->root_len < len && path[b->root_len] == '/' ? b->root_len + 1 : 0;
	b->queued_bytes += size;
	report_progress(b, false);
	return pipeline_add_file(b->pipe, path, len, rel, mtime, size, od != NULL, b->err);
}

typedef struct rec_ctx {
	build *b;
	uint64_t size;
	int64_t mtime;
} rec_ctx;

static int on_record(void *ctx, const jsonl_record *rec)
{
	rec_ctx *rc = ctx;
	build *b = rc->b;
	if (cancelled(b))
		return xihu_err_set(b->err, XIHU_ECANCELED, "%s: indexing cancelled", b->dir);
	b->queued_bytes += rec->text_len;
	report_progress(b, false);
	return pipeline_add_record(b->pipe, rec, rc->size, rc->mtime, b->err);
}

/* ---- committing and merging ------------------------------------------------------- */

/* Removes every file in dir that looks like a segment's and is not live:
 * segments the manifest does not name, their .del generations but the
 * live one, and temporaries. */
static void remove_garbage(const char *dir, const manifest *m)
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

static uint64_t dir_bytes(const char *dir)
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

/* The live segments of the current commit, opened, beside its manifest. */
typedef struct state {
	manifest m;  /* segs and roots owned */
	seg **open;  /* per m.segs[i], opened at its del_gen; NULL until needed */
} state;

static void state_free(state *s)
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

static int open_all(build *b, state *s)
{
	for (uint32_t i = 0; i < s->m.nsegs; i++)
		if (!s->open[i]) {
			int rc = seg_open(b->dir, s->m.segs[i].id, s->m.segs[i].del_gen, false, &s->open[i], b->err);
			if (rc)
				return rc;
		}
	return 0;
}

static int merge_loop(build *b, state *s)
{
	uint32_t *pick = NULL;
	const seg **in = NULL;
	int rc = 0;
	for (uint32_t round = 0; round < MAX_MERGES; round++) {
		if ((rc = open_all(b, s)))
			break;
		free(pick);
		free(in);
		pick = malloc((s->m.nsegs + 1) * sizeof *pick);
		in = malloc((s->m.nsegs + 1) * sizeof *in);
		if (!pick || !in) {
			rc = xihu_err_set(b->err, XIHU_ENOMEM, "out of memory");
			break;
		}
		uint32_t k = merge_pick(s, b->o->merge_all && round == 0, pick);
		if (k == 0)
			break;
		if (cancelled(b)) { /* what is committed stays; the rest is for the next run */
			rc = xihu_err_set(b->err, XIHU_ECANCELED, "%s: merging cancelled", b->dir);
			break;
		}
		uint64_t out_id = s->m.next_seg_id;
		uint64_t in_docs = 0;
		for (uint32_t i = 0; i < k; i++) {
			in[i] = s->open[pick[i]];
			in_docs += seg_ndocs(in[i]) - seg_ndeleted(in[i]);
		}
		verbose(b, "merging %u segment%s (%" PRIu64 " live docs) into %012" PRIx64, k, k == 1 ? "" : "s", in_docs,
		        out_id);
		seg_info info;
		if ((rc = seg_merge(b->dir, in, k, out_id, &info, b->err)))
			break;
		/* the new manifest: the output where the first input was, the inputs gone */
		manifest nm = s->m;
		manifest_seg *segs = malloc((s->m.nsegs + 1) * sizeof *segs);
		seg **open = calloc(s->m.nsegs + 1, sizeof *open);
		if (!segs || !open) {
			free(segs);
			free(open);
			rc = xihu_err_set(b->err, XIHU_ENOMEM, "out of memory");
			break;
		}
		uint32_t n = 0;
		for (uint32_t i = 0, p = 0; i < s->m.nsegs; i++) {
			if (p < k && pick[p] == i) {
				if (p == 0 && info.ndocs > 0)
					segs[n++] = (manifest_seg){.id = out_id, .ndocs = info.ndocs};
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
		rc = manifest_write(b->dir, &nm, b->err);
		if (rc) {
			free(segs);
			free(open);
			break;
		}
		verbose(b, "committed generation %" PRIu64 ": merged into %012" PRIx64 " (%u docs)", nm.generation,
		        out_id, info.ndocs);
		for (uint32_t p = 0; p < k; p++)
			seg_close(s->open[pick[p]]);
		free(s->open);
		free(s->m.segs);
		s->m = nm;
		s->open = open;
		b->st->merges++;
		b->st->committed = true;
		remove_garbage(b->dir, &s->m);
	}
	free(pick);
	free(in);
	return rc;
}

/* ---- roots -------------------------------------------------------------------------- */

enum { ROOT_TREE, ROOT_TREE_NOIGNORE, ROOT_JSONL };
static const char *const root_prefix[] = {"", NOIGNORE_PREFIX, JSONL_PREFIX};

/* A manifest root: its kind and its path (after the prefix). */
static const char *root_parse(const char *r, int *kind)
{
	for (*kind = ROOT_JSONL; *kind > ROOT_TREE; (*kind)--)
		if (!strncmp(r, root_prefix[*kind], strlen(root_prefix[*kind])))
			return r + strlen(root_prefix[*kind]);
	return r;
}

static bool under(const char *path, const char *root)
{
	size_t n = strlen(root);
	return !strncmp(path, root, n) && (path[n] == '/' || path[n] == '\0' || (n == 1 && root[0] == '/'));
}

static int add_root(build *b, char ***roots, uint32_t *n, const char *given, int kind, bool missing_ok)
{
	char *real = realpath(given, NULL);
	if (!real) {
		if (missing_ok && errno == ENOENT) {
			warn(b, "%s: %s (its documents are removed)", given, strerror(errno));
			return 0;
		}
		return xihu_err_set(b->err, XIHU_EIO, "%s: %s", given, strerror(errno));
	}
	size_t len = strlen(real);
	for (uint32_t i = 0; i < *n; i++) {
		int k;
		if (!strcmp(root_parse((*roots)[i], &k), real) && (k == ROOT_JSONL) == (kind == ROOT_JSONL)) {
			free(real); /* given twice */
			return 0;
		}
	}
	char *r = malloc(len + strlen(root_prefix[kind]) + 1);
	if (!r) {
		free(real);
		return xihu_err_set(b->err, XIHU_ENOMEM, "out of memory");
	}
	sprintf(r, "%s%s", root_prefix[kind], real);
	free(real);
	(*roots)[(*n)++] = r;
	return 0;
}

static bool roots_equal(const manifest *a, char **roots, uint32_t n)
{
	if (a->nroots != n)
		return false;
	for (uint32_t i = 0; i < n; i++)
		if (strcmp(a->roots[i], roots[i]))
			return false;
	return true;
}

/* ---- the analysis ------------------------------------------------------------------- */

#define MAX_STOPWORDS_FILE (16u << 20)

/* Reads a whole (small) file into a malloc'd buffer. */
static int read_small_file(const char *path, size_t max, char **out, size_t *len, xihu_err *err)
{
	*out = NULL;
	*len = 0;
	FILE *f = fopen(path, "rb");
	if (!f)
		return xihu_err_set(err, XIHU_EIO, "%s: %s", path, strerror(errno));
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	int rc = 0;
	while (buf && !rc) {
		if (n == cap) {
			char *nb = cap < max + 1 ? realloc(buf, cap * 2) : NULL;
			if (!nb) {
				rc = cap < max + 1 ? xihu_err_set(err, XIHU_ENOMEM, "%s: out of memory", path)
				                   : xihu_err_set(err, XIHU_ELIMIT, "%s: larger than %zu bytes", path, max);
				break;
			}
			buf = nb;
			cap *= 2;
		}
		size_t k = fread(buf + n, 1, cap - n, f);
		n += k;
		if (k == 0) {
			if (ferror(f))
				rc = xihu_err_set(err, XIHU_EIO, "%s: %s", path, strerror(errno));
			break;
		}
	}
	if (!buf)
		rc = xihu_err_set(err, XIHU_ENOMEM, "%s: out of memory", path);
	fclose(f);
	if (rc) {
		free(buf);
		return rc;
	}
	*out = buf;
	*len = n;
	return 0;
}

/* The pair words of a new index, from a sample of its roots (pairwords.c). */
static int learn_pairwords(build *b, analysis *an, char **roots, uint32_t nroots)
{
	pairwords_root *pr = calloc(nroots + 1, sizeof *pr);
	if (!pr)
		return xihu_err_set(b->err, XIHU_ENOMEM, "out of memory");
	for (uint32_t i = 0; i < nroots; i++) {
		int kind;
		pr[i].path = root_parse(roots[i], &kind);
		pr[i].no_ignore = kind == ROOT_TREE_NOIGNORE;
		pr[i].records = kind == ROOT_JSONL;
	}
	char *text = NULL;
	size_t len = 0;
	int rc = pairwords_sample(an, pr, nroots, b->max_size, &text, &len, b->err);
	if (!rc && len)
		rc = analysis_set_pairwords(an, text, len, b->err);
	free(text);
	free(pr);
	return rc;
}

/* The analysis of this run: for a new index, what the options ask for,
 * stored in SETTINGS before anything is committed; for an existing one,
 * the stored analysis, which the options must not contradict. */
static int run_analysis(build *b, bool fresh, char **roots, uint32_t nroots, analysis **out)
{
	const xihu_build_opts *o = b->o;
	analysis_opts ao = {.stem = o->stem, .fold_diacritics = o->fold_diacritics, .stopwords_name = o->stopwords,
	                    .k1 = o->k1, .b = o->b, .b_given = o->b_given, .no_pairs = o->no_pairs};
	char *text = NULL;
	int rc = 0;
	*out = NULL;
	if (o->stopwords) {
		if ((rc = read_small_file(o->stopwords, MAX_STOPWORDS_FILE, &text, &ao.stopwords_len, b->err)))
			return rc;
		ao.stopwords = text ? text : "";
	}
	if (fresh) {
		rc = analysis_new(&ao, out, b->err);
		if (!rc && !o->no_pairs)
			rc = learn_pairwords(b, *out, roots, nroots);
		if (!rc)
			rc = settings_write(b->dir, *out, b->err);
	} else {
		rc = settings_read(b->dir, out, b->err);
		if (!rc)
			rc = analysis_check(b->dir, *out, &ao, b->err);
	}
	free(text);
	if (!rc && b->o->verbose) {
		char what[128];
		analysis_describe(*out, what, sizeof what);
		verbose(b, "analysis: %s", what);
	}
	return rc;
}

/* ---- the run ------------------------------------------------------------------------ */

/* Walks the tree roots and reads the changed JSON Lines files, through the workers. */
static int feed(build *b, char **roots, uint32_t nroots)
{
	int rc = 0, kind, k2;
	for (uint32_t i = 0; i < nroots && !rc; i++) {
		const char *r = root_parse(roots[i], &kind);
		if (kind == ROOT_JSONL)
			continue;
		bool nested = false; /* (roots are distinct: add_root) */
		for (uint32_t j = 0; j < nroots && !nested; j++) {
			const char *r2 = root_parse(roots[j], &k2);
			nested = j != i && k2 != ROOT_JSONL && under(r, r2);
		}
		if (nested)
			continue;
		struct stat rs;
		bool isdir = !stat(r, &rs) && S_ISDIR(rs.st_mode);
		/* a single file is relative to its directory */
		b->root_len = (uint32_t)(isdir ? strlen(r) : (size_t)(strrchr(r, '/') - r));
		if (isdir && b->root_len == 1)
			b->root_len = 0; /* the root "/": paths are relative after its '/' */
		walk_stats ws;
		rc = walk_tree(r, kind == ROOT_TREE_NOIGNORE ? WALK_NO_IGNORE : 0, on_file, b, b->o->warnings, &ws,
		               b->err);
		if (!rc && ws.files == 0 && ws.ignored > 0) /* an empty index with no hint why is a puzzle */
			warn(b, "%s: every file in it is ignored (%" PRIu64 " entr%s, the first by %s); --no-ignore "
			     "indexes them", r, ws.ignored, ws.ignored == 1 ? "y" : "ies", ws.first_rules);
	}
	b->walk_done = true; /* trees done: the ETA knows the total */
	for (uint32_t i = 0; i < nroots && !rc; i++) {
		const char *path = root_parse(roots[i], &kind);
		if (kind != ROOT_JSONL)
			continue;
		struct stat st;
		if (stat(path, &st) < 0)
			return xihu_err_set(b->err, XIHU_EIO, "%s: %s", path, strerror(errno));
		rec_ctx rcx = {.b = b, .size = (uint64_t)st.st_size, .mtime = record_stamp_mtime(path, &st)};
		struct stamp *sp = stamp_find(b, rcx.size, rcx.mtime);
		bool twice = false; /* the same stamp on two given files: read both */
		for (uint32_t j = 0; j < nroots && !twice; j++) {
			struct stat s2;
			const char *p2 = root_parse(roots[j], &k2);
			twice = j != i && k2 == ROOT_JSONL && !stat(p2, &s2) &&
			        (uint64_t)s2.st_size == rcx.size && record_stamp_mtime(p2, &s2) == rcx.mtime;
		}
		if (sp && !twice) {
			sp->keep = true;
			continue;
		}
		rc = jsonl_read(path, on_record, &rcx, b->err);
	}
	return rc;
}

/* The run's deletions: old files not met unchanged, old records of changed files. */
static int sweep(build *b)
{
	int rc = 0;
	for (uint32_t i = 0; i <= b->docs_mask && b->docs && !rc; i++) {
		const old_doc *od = &b->docs[i];
		if (od->name && !od->seen)
			rc = mark_deleted(b, od->seg, od->doc);
	}
	for (uint32_t si = 0; si < b->nsegs && !rc && b->nstamps; si++) {
		const seg *s = b->segs[si].s;
		const uint8_t *del = seg_deletes(s);
		for (uint32_t d = 0; d < b->segs[si].ndocs && !rc; d++) {
			seg_doc sd;
			if (seg_bitmap_test(del, d) || (rc = seg_doc_get(s, d, &sd, b->err)) || !sd.record)
				continue;
			struct stamp *sp = stamp_find(b, sd.size, sd.mtime_ns);
			if (!sp || !sp->keep)
				rc = mark_deleted(b, si, d);
			else
				b->st->unchanged++;
		}
	}
	return rc;
}

int xihu_build(const char *index_dir, const char *const *paths, size_t npaths, const char *const *jsonl,
               size_t njsonl, const xihu_build_opts *opts, xihu_build_stats *stats_out, xihu_err *err)
{
	xihu_build_opts defo = {0};
	xihu_build_stats st = {0};
	build b = {.dir = index_dir, .o = opts ? opts : &defo, .st = &st, .err = err};
	b.start_ns = now_ns();
	b.max_size = b.o->max_file_size ? b.o->max_file_size : XIHU_DEFAULT_MAX_FILE_SIZE;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	uint32_t threads = b.o->threads ? b.o->threads : ncpu > 0 ? (uint32_t)ncpu : 1;
	int rc, lockfd = -1;
	bool locked = false;
	char **roots = NULL;
	uint32_t nroots = 0;
	state cur = {0};
	seg_info *ns = NULL;
	uint32_t nns = 0;
	pipeline_counts pc = {0};
	analysis *an = NULL;

	if ((rc = xfile_mkdir_private(index_dir, err)))
		goto out;
	char lockpath[4200];
	snprintf(lockpath, sizeof lockpath, "%s/LOCK", index_dir);
	lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lockfd < 0) {
		rc = xihu_err_set(err, XIHU_EIO, "%s: %s", lockpath, strerror(errno));
		goto out;
	}
	/* another writer (xihu-index, or xihud's live sync) holds it: wait up
	 * to lock_wait_ms, polling, then give up */
	for (uint32_t waited = 0; flock(lockfd, LOCK_EX | LOCK_NB) < 0; waited += LOCK_POLL_MS) {
		if (errno != EWOULDBLOCK || waited >= b.o->lock_wait_ms) {
			rc = xihu_err_set(err, XIHU_ELOCKED,
			                  "%s: another writer (xihu-index, or xihud's live sync) holds the index", index_dir);
			goto out;
		}
		struct timespec ts = {0, LOCK_POLL_MS * 1000000L};
		nanosleep(&ts, NULL);
	}
	locked = true;
	xfile_make_private(index_dir); /* even a run that commits nothing */

	rc = manifest_read(index_dir, &b.old, err);
	bool fresh = rc == XIHU_ENOINDEX;
	if (rc == XIHU_ENOINDEX) {
		if (b.o->update && npaths + njsonl == 0) {
			rc = xihu_err_set(err, XIHU_ENOINDEX, "%s: no index to update (give the trees to index)", index_dir);
			goto out;
		}
		memset(&b.old, 0, sizeof b.old);
		b.old.next_seg_id = 1;
		rc = 0;
	}
	if (rc)
		goto out;
	remove_garbage(index_dir, &b.old); /* what a killed run left behind */
	if ((rc = load_old(&b)))
		goto out;

	/* the roots of this run */
	bool from_manifest = b.o->update && npaths + njsonl == 0;
	size_t maxroots = from_manifest ? b.old.nroots : npaths + njsonl;
	roots = calloc(maxroots + 1, sizeof *roots);
	if (!roots) {
		rc = xihu_err_set(err, XIHU_ENOMEM, "out of memory");
		goto out;
	}
	if (from_manifest) {
		for (uint32_t i = 0; i < b.old.nroots && !rc; i++) {
			int kind;
			const char *r = root_parse(b.old.roots[i], &kind);
			if (kind == ROOT_TREE && b.o->no_ignore)
				kind = ROOT_TREE_NOIGNORE;
			rc = add_root(&b, &roots, &nroots, r, kind, true);
		}
	} else {
		for (size_t i = 0; i < npaths && !rc; i++)
			rc = add_root(&b, &roots, &nroots, paths[i], b.o->no_ignore ? ROOT_TREE_NOIGNORE : ROOT_TREE, false);
		for (size_t i = 0; i < njsonl && !rc; i++)
			rc = add_root(&b, &roots, &nroots, jsonl[i], ROOT_JSONL, false);
	}
	if (rc || (rc = run_analysis(&b, fresh, roots, nroots, &an)))
		goto out;

	/* new and changed documents -> new segments */
	pipeline_opts po = {
		.dir = index_dir,
		.threads = threads < MAX_THREADS ? threads : MAX_THREADS,
		.ram_bytes = b.o->ram_bytes ? b.o->ram_bytes : DEFAULT_RAM,
		.max_file_size = b.max_size,
		.first_seg_id = b.old.next_seg_id,
		.an = an,
		.warnings = b.o->warnings,
		.idle = idle,
		.idle_ctx = &b,
	};
	if ((rc = pipeline_start(&po, &b.pipe, err)))
		goto out;
	/* a failing worker fails the walk's next add with its error; a failing
	 * walk leaves the pipeline to pipeline_free, which stops it */
	if ((rc = feed(&b, roots, nroots)) || (rc = pipeline_finish(b.pipe, &ns, &nns, err)))
		goto out;
	pipeline_get_counts(b.pipe, &pc);
	report_progress(&b, true);
	st.segments_written = nns;

	/* old copies of changed documents and vanished ones -> deletions */
	if ((rc = sweep(&b)))
		goto out;
	st.added = pc.added;
	st.changed = pc.changed;
	st.deleted = b.nmarked - st.changed; /* old copies not replaced by a new one */

	/* the commit: survivors (with their new deletions), then the new segments */
	bool changed = nns > 0 || !roots_equal(&b.old, roots, nroots);
	for (uint32_t i = 0; i < b.nsegs; i++)
		changed |= b.segs[i].nnew > 0;
	cur.m.generation = b.old.generation;
	cur.m.next_seg_id = pc.next_seg_id;
	cur.m.segs = calloc(b.nsegs + nns + 1, sizeof *cur.m.segs);
	cur.open = calloc(b.nsegs + nns + 1, sizeof *cur.open);
	if (!cur.m.segs || !cur.open) {
		rc = xihu_err_set(err, XIHU_ENOMEM, "out of memory");
		goto out;
	}
	uint64_t gen = b.old.generation + 1;
	for (uint32_t i = 0; i < b.nsegs; i++) {
		live_seg *ls = &b.segs[i];
		manifest_seg e = {.id = ls->id, .ndocs = ls->ndocs, .del_gen = ls->del_gen};
		if (ls->nnew) {
			if (seg_ndeleted(ls->s) + ls->nnew >= ls->ndocs)
				continue; /* nothing left in it */
			if ((rc = seg_write_deletes(index_dir, ls->id, gen, ls->newdel, ls->ndocs, err)))
				goto out;
			e.del_gen = gen;
		} else {
			cur.open[cur.m.nsegs] = ls->s; /* still valid: same deletions */
			ls->s = NULL;
		}
		cur.m.segs[cur.m.nsegs++] = e;
	}
	for (uint32_t i = 0; i < nns; i++)
		cur.m.segs[cur.m.nsegs++] = (manifest_seg){.id = ns[i].id, .ndocs = ns[i].ndocs};
	cur.m.roots = roots;
	cur.m.nroots = nroots;
	roots = NULL;
	if (changed && cancelled(&b)) {
		rc = xihu_err_set(err, XIHU_ECANCELED, "%s: indexing cancelled", index_dir);
		goto out;
	}
	if (changed) {
		cur.m.generation = gen;
		if ((rc = manifest_write(index_dir, &cur.m, err)))
			goto out;
		st.committed = true;
		verbose(&b, "committed generation %" PRIu64 ": %u new segment%s, %" PRIu64 " deletions", gen, nns,
		        nns == 1 ? "" : "s", b.nmarked);
		remove_garbage(index_dir, &cur.m);
	}

	/* tiered merges, each its own commit */
	if ((rc = merge_loop(&b, &cur)))
		goto out;

	st.generation = cur.m.generation;
	st.segments = cur.m.nsegs;
	if ((rc = open_all(&b, &cur)))
		goto out;
	for (uint32_t i = 0; i < cur.m.nsegs; i++) {
		st.docs += seg_ndocs(cur.open[i]) - seg_ndeleted(cur.open[i]);
		st.terms += seg_nterms(cur.open[i]);
	}
	st.index_bytes = dir_bytes(index_dir);

out:
	if (rc && locked) {
		/* segments finished but never committed: collect against what is
		 * committed now (a failed merge may follow a successful commit) */
		manifest now;
		int r = manifest_read(index_dir, &now, NULL);
		if (r == XIHU_ENOINDEX)
			memset(&now, 0, sizeof now); /* a first build: nothing is live */
		if (r == 0 || r == XIHU_ENOINDEX)
			remove_garbage(index_dir, &now);
		manifest_free(&now);
	}
	pipeline_free(b.pipe);
	analysis_free(an);
	free(ns);
	state_free(&cur);
	for (uint32_t i = 0; i < b.nsegs; i++) {
		seg_close(b.segs[i].s);
		free(b.segs[i].newdel);
	}
	free(b.segs);
	free(b.docs);
	free(b.stamps);
	if (roots)
		for (uint32_t i = 0; i < nroots; i++)
			free(roots[i]);
	free(roots);
	manifest_free(&b.old);
	if (lockfd >= 0)
		close(lockfd);
	st.bytes_in = pc.bytes_in;
	st.skipped_binary = pc.skipped_binary;
	st.skipped_large = pc.skipped_large + b.skipped_large;
	st.skipped_error = pc.skipped_error;
	st.seconds = (double)(now_ns() - b.start_ns) / 1e9;
	if (stats_out)
		*stats_out = st;
	return rc;
}

/* ---- for live sync (xihud) -------------------------------------------------------- */

int xihu_index_roots(const char *dir, xihu_root **out, size_t *n, xihu_err *err)
{
	*out = NULL;
	*n = 0;
	manifest m;
	int rc = manifest_read(dir, &m, err);
	if (rc)
		return rc;
	xihu_root *r = calloc(m.nroots + 1, sizeof *r);
	if (!r) {
		manifest_free(&m);
		return xihu_err_set(err, XIHU_ENOMEM, "out of memory");
	}
	for (uint32_t i = 0; i < m.nroots; i++) {
		int kind;
		const char *path = root_parse(m.roots[i], &kind);
		if (!(r[i].path = strdup(path))) {
			xihu_roots_free(r, i);
			manifest_free(&m);
			return xihu_err_set(err, XIHU_ENOMEM, "out of memory");
		}
		r[i].records = kind == ROOT_JSONL;
		r[i].no_ignore = kind == ROOT_TREE_NOIGNORE;
	}
	*out = r;
	*n = m.nroots;
	manifest_free(&m);
	return 0;
}

void xihu_roots_free(xihu_root *r, size_t n)
{
	for (size_t i = 0; r && i < n; i++)
		free(r[i].path);
	free(r);
}

typedef struct dirs_ctx {
	int (*fn)(void *ctx, const char *dir);
	void *ctx;
} dirs_ctx;

static int on_dir(void *ctx, const char *path, const struct stat *st)
{
	(void)st;
	const dirs_ctx *d = ctx;
	return d->fn(d->ctx, path);
}

int xihu_tree_dirs(const char *root, bool no_ignore, int (*fn)(void *ctx, const char *dir), void *ctx,
                   xihu_err *err)
{
	dirs_ctx d = {fn, ctx};
	return walk_tree(root, WALK_DIRS | (no_ignore ? WALK_NO_IGNORE : 0), on_dir, &d, NULL, NULL, err);
}
