/*
 * build.c: trees of files and JSON Lines records -> a committed index, built
 * in parallel within a RAM budget, updated incrementally, merged by tiers.
 *
 * One run of xihu_build is a chain of steps, a function each, every one
 * run only when all before it succeeded (the first error sticks), then
 * end_run, the one cleanup whatever happened:
 *  1. lock_index takes the writer lock (dir/LOCK, flock), waiting up to
 *     opts->lock_wait_ms while another writer holds it;
 *  2. read_old_index reads the manifest, deletes the files no manifest
 *     names (leftovers of a killed run), opens the live segments (no CRC
 *     pass: the names and stamps are all it reads) and loads their live
 *     documents: file path -> (segment, doc, size, mtime_ns); JSON Lines
 *     records by their stamp (below);
 *  3. choose_roots: the roots of this run (below);
 *  4. run_analysis reads the analysis in SETTINGS (settings.c) and refuses
 *     options that differ from it, or, for a new index, writes the
 *     options' one there;
 *  5. read_documents walks the roots on this thread.  A file whose size
 *     and mtime_ns equal its indexed copy's is unchanged and left alone;
 *     new and changed files, and the records of changed JSON Lines files,
 *     go to the pipeline (pipeline.c): T worker threads, each reading,
 *     analyzing and writing its own segments within ram/T, in an order
 *     that does not depend on timing;
 *  6. delete_old_copies marks the old copies of changed files, files gone
 *     from the trees and records of changed JSON Lines files in new
 *     deletion bitmaps (the old bitmap or'ed in, generation = the new
 *     manifest generation);
 *  7. commit_run drops segments left with no live document and commits
 *     ONE manifest: the surviving segments in their order, then the new
 *     ones in walk order.  Nothing changed: no commit;
 *  8. merge_loop (merge.c) merges by tiers (below), one commit per round of
 *     merges, and deletes the files the last commit no longer names;
 *  9. count_index: the committed index's numbers, for the stats.
 * Until a manifest rename the previous commit stays intact and servable: a
 * crash (SIGKILL included) anywhere leaves at worst unreferenced files that
 * the next run deletes first.
 *
 * Progress: while documents are read, the walk and the pipeline's idle
 * report counts (xihu_build_progress) to opts->progress, at most 5 times a
 * second, and read_documents once more when all of them are in segments.
 * Nothing here draws them or touches a terminal: xihu-index draws them,
 * xihud hands them to its clients.
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
 * one (two tiers due at once merge side by side; a lone due tier of 2 *
 * MERGE_FACTOR or more merges as two halves, side by side, into two);
 * otherwise segments with more than 30% of their docs deleted are
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

#include "build/build-int.h"
#include "input/input.h"

#define MAX_THREADS 8
#define DEFAULT_RAM (256ull << 20)
#define LOCK_POLL_MS 50
#define JSONL_PREFIX "jsonl:"
#define NOIGNORE_PREFIX "noignore:"

/* ---- one run ---------------------------------------------------------------- */

/* old_doc, live_seg, state and build: build-int.h */

static void warn(build *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(build *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vwarn_line(b->o->warnings, fmt, ap); /* escapes the paths in it */
	va_end(ap);
}

void build_verbose(build *b, const char *fmt, ...)
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
		b->nmarked_always += seg_doc_always(ls->s, doc);
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
			                       .mtime_ns = sd.mtime_ns, .size = sd.size, .hash = h, .always = sd.always};
			b->ndocs_old++;
		}
		seg_release_pages(s); /* the names are read again only on a hash match */
	}
	return 0;
}

/* ---- the walk: what to (re)index ------------------------------------------------- */

bool build_cancelled(const build *b)
{
	return b->o->cancel && atomic_load_explicit(b->o->cancel, memory_order_relaxed);
}

static int on_file(void *ctx, const char *path, const struct stat *st)
{
	build *b = ctx;
	if (build_cancelled(b))
		return xihu_err_set(b->err, XIHU_ECANCELED, "%s: indexing cancelled", b->dir);
	b->st->files_seen++;
	size_t len = strlen(path);
	int64_t mtime = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	uint64_t size = (uint64_t)st->st_size;
	old_doc *od = docs_find(b, path, len, hash_bytes(path, len));
	bool large = size > b->max_size;
	bool same = od && od->always == large && od->size == size && od->mtime_ns == mtime;
	if (same && !large) {
		od->seen = true;
		b->st->unchanged++;
		return 0;
	}
	/* new, or changed (or now too large, or no longer): an old copy is
	 * not seen, so the sweep after the walk deletes it.  A file too large
	 * is skipped, but exact search reads it from disk (as ripgrep would):
	 * it is a doc of its path alone, always a candidate, counted nowhere */
	if (large) {
		b->skipped_large++;
		warn(b, "%s: %" PRIu64 " bytes, over --max-file-size %" PRIu64 " (skipped)", path, size, b->max_size);
		if (same)
			od->seen = true;
	}
	if (same)
		return 0;
	size_t rel = b->root_len < len && path[b->root_len] == '/' ? b->root_len + 1 : 0;
	if (!large)
		b->queued_bytes += size;
	report_progress(b, false);
	return pipeline_add_file(b->pipe, path, len, rel, mtime, size, od && !od->always && !large, large, b->err);
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
	if (build_cancelled(b))
		return xihu_err_set(b->err, XIHU_ECANCELED, "%s: indexing cancelled", b->dir);
	b->queued_bytes += rec->text_len;
	report_progress(b, false);
	return pipeline_add_record(b->pipe, rec, rc->size, rc->mtime, b->err);
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
		build_verbose(b, "analysis: %s", what);
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

/* dir (created private if missing) and its writer lock.  Another
 * writer (xihu-index, or xihud's live sync) holding it: wait up to
 * opts->lock_wait_ms, polling, then XIHU_ELOCKED. */
static int lock_index(build *b)
{
	int rc = xfile_mkdir_private(b->dir, b->err);
	if (rc)
		return rc;
	char lockpath[4200];
	snprintf(lockpath, sizeof lockpath, "%s/LOCK", b->dir);
	b->lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (b->lockfd < 0)
		return xihu_err_set(b->err, XIHU_EIO, "%s: %s", lockpath, strerror(errno));
	for (uint32_t waited = 0; flock(b->lockfd, LOCK_EX | LOCK_NB) < 0; waited += LOCK_POLL_MS) {
		if (errno != EWOULDBLOCK || waited >= b->o->lock_wait_ms)
			return xihu_err_set(b->err, XIHU_ELOCKED,
			                    "%s: another writer (xihu-index, or xihud's live sync) holds the index", b->dir);
		struct timespec ts = {0, LOCK_POLL_MS * 1000000L};
		nanosleep(&ts, NULL);
	}
	b->locked = true;
	xfile_make_private(b->dir); /* every run, before its commits, even one that makes none */
	return 0;
}

/* The last commit (none: a fresh index, unless this is an update
 * with nothing given), the leftovers of a killed run deleted, the old
 * segments opened and their documents loaded. */
static int read_old_index(build *b, bool given)
{
	int rc = manifest_read(b->dir, &b->old, b->err);
	if (rc == XIHU_ENOINDEX) {
		if (b->o->update && !given)
			return xihu_err_set(b->err, XIHU_ENOINDEX, "%s: no index to update (give the trees to index)",
			                    b->dir);
		memset(&b->old, 0, sizeof b->old);
		b->old.next_seg_id = 1;
		b->fresh = true;
		rc = 0;
	}
	if (rc)
		return rc;
	remove_garbage(b->dir, &b->old); /* what a killed run left behind */
	return load_old(b);
}

/* The roots of this run: those given, or with opts->update and
 * none given the last commit's, each as it was walked then (a vanished
 * one is dropped with a warning). */
static int choose_roots(build *b, const char *const *paths, size_t npaths, const char *const *jsonl,
                        size_t njsonl)
{
	bool from_manifest = b->o->update && npaths + njsonl == 0;
	size_t maxroots = from_manifest ? b->old.nroots : npaths + njsonl;
	b->roots = calloc(maxroots + 1, sizeof *b->roots);
	if (!b->roots)
		return xihu_err_set(b->err, XIHU_ENOMEM, "out of memory");
	int rc = 0;
	if (from_manifest) {
		for (uint32_t i = 0; i < b->old.nroots && !rc; i++) {
			int kind;
			const char *r = root_parse(b->old.roots[i], &kind);
			if (kind == ROOT_TREE && b->o->no_ignore)
				kind = ROOT_TREE_NOIGNORE;
			rc = add_root(b, &b->roots, &b->nroots, r, kind, true);
		}
		return rc;
	}
	int tree = b->o->no_ignore ? ROOT_TREE_NOIGNORE : ROOT_TREE;
	for (size_t i = 0; i < npaths && !rc; i++)
		rc = add_root(b, &b->roots, &b->nroots, paths[i], tree, false);
	for (size_t i = 0; i < njsonl && !rc; i++)
		rc = add_root(b, &b->roots, &b->nroots, jsonl[i], ROOT_JSONL, false);
	return rc;
}

/* New and changed documents -> new segments, on the workers, while
 * this thread walks (and reports progress); the final report once all are
 * in segments. */
static int read_documents(build *b)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	uint32_t threads = b->o->threads ? b->o->threads : ncpu > 0 ? (uint32_t)ncpu : 1;
	pipeline_opts po = {
		.dir = b->dir,
		.threads = threads < MAX_THREADS ? threads : MAX_THREADS,
		.ram_bytes = b->o->ram_bytes ? b->o->ram_bytes : DEFAULT_RAM,
		.max_file_size = b->max_size,
		.first_seg_id = b->old.next_seg_id,
		.an = b->an,
		.warnings = b->o->warnings,
		.idle = idle,
		.idle_ctx = b,
	};
	int rc = pipeline_start(&po, &b->pipe, b->err);
	/* a failing worker fails the walk's next add with its error; a failing
	 * walk leaves the pipeline to pipeline_free, which stops it */
	if (!rc)
		rc = feed(b, b->roots, b->nroots);
	if (!rc)
		rc = pipeline_finish(b->pipe, &b->newsegs, &b->nnewsegs, b->err);
	heap_give_back(); /* the writers' RAM, before the merges */
	if (rc)
		return rc;
	pipeline_get_counts(b->pipe, &b->pc);
	report_progress(b, true);
	b->st->segments_written = b->nnewsegs;
	return 0;
}

/* Old copies of changed documents and vanished ones -> deletions. */
static int delete_old_copies(build *b)
{
	int rc = sweep(b);
	if (rc)
		return rc;
	b->st->added = b->pc.added;
	b->st->changed = b->pc.changed;
	/* old copies not replaced by a new one; files over --max-file-size are
	 * counted nowhere */
	b->st->deleted = b->nmarked - b->nmarked_always - b->pc.changed;
	return 0;
}

/* The manifest of generation gen into b->cur: the old segments that keep
 * a live document, in their order (those with new deletions get a bitmap
 * of generation gen, the others stay open), then the new ones; the roots
 * move there from b->roots. */
static int next_manifest(build *b, uint64_t gen)
{
	state *cur = &b->cur;
	cur->m.generation = b->old.generation;
	cur->m.next_seg_id = b->pc.next_seg_id;
	cur->m.segs = calloc(b->nsegs + b->nnewsegs + 1, sizeof *cur->m.segs);
	cur->open = calloc(b->nsegs + b->nnewsegs + 1, sizeof *cur->open);
	if (!cur->m.segs || !cur->open)
		return xihu_err_set(b->err, XIHU_ENOMEM, "out of memory");
	for (uint32_t i = 0; i < b->nsegs; i++) {
		live_seg *ls = &b->segs[i];
		manifest_seg e = {.id = ls->id, .ndocs = ls->ndocs, .del_gen = ls->del_gen};
		if (ls->nnew) {
			if (seg_ndeleted(ls->s) + ls->nnew >= ls->ndocs)
				continue; /* nothing left in it */
			int rc = seg_write_deletes(b->dir, ls->id, gen, ls->newdel, ls->ndocs, b->err);
			if (rc)
				return rc;
			e.del_gen = gen;
		} else {
			cur->open[cur->m.nsegs] = ls->s; /* still valid: same deletions */
			ls->s = NULL;
		}
		cur->m.segs[cur->m.nsegs++] = e;
	}
	for (uint32_t i = 0; i < b->nnewsegs; i++)
		cur->m.segs[cur->m.nsegs++] = (manifest_seg){.id = b->newsegs[i].id, .ndocs = b->newsegs[i].ndocs};
	cur->m.roots = b->roots;
	cur->m.nroots = b->nroots;
	b->roots = NULL;
	return 0;
}

/* The run's one commit, when anything changed (new segments,
 * deletions, other roots); cancelled before it, nothing is committed. */
static int commit_run(build *b)
{
	bool changed = b->nnewsegs > 0 || !roots_equal(&b->old, b->roots, b->nroots);
	for (uint32_t i = 0; i < b->nsegs; i++)
		changed |= b->segs[i].nnew > 0;
	uint64_t gen = b->old.generation + 1;
	int rc = next_manifest(b, gen);
	if (rc || !changed)
		return rc;
	if (build_cancelled(b))
		return xihu_err_set(b->err, XIHU_ECANCELED, "%s: indexing cancelled", b->dir);
	b->cur.m.generation = gen;
	if ((rc = manifest_write(b->dir, &b->cur.m, b->err)))
		return rc;
	b->st->committed = true;
	build_verbose(b, "committed generation %" PRIu64 ": %u new segment%s, %" PRIu64 " deletions", gen, b->nnewsegs,
	        b->nnewsegs == 1 ? "" : "s", b->nmarked);
	remove_garbage(b->dir, &b->cur.m);
	return 0;
}

/* The committed index's numbers into the stats. */
static int count_index(build *b)
{
	state *cur = &b->cur;
	b->st->generation = cur->m.generation;
	b->st->segments = cur->m.nsegs;
	int rc = open_all(b, cur);
	if (rc)
		return rc;
	for (uint32_t i = 0; i < cur->m.nsegs; i++) {
		const seg *s = cur->open[i];
		b->st->docs += seg_ndocs(s) - seg_ndeleted(s);
		b->st->terms += seg_nterms(s);
		const uint8_t *del = seg_deletes(s);
		for (uint32_t d = 0; d < seg_ndocs(s); d++) /* files over --max-file-size are not counted */
			b->st->docs -= seg_doc_always(s, d) && !seg_bitmap_test(del, d);
	}
	b->st->index_bytes = dir_bytes(b->dir);
	return 0;
}

/* The single cleanup of every run: after a failure, the files no commit
 * names are deleted (against what is committed now: a failed merge may
 * follow a successful commit); everything is freed, the lock let go; the
 * counts that hold whatever happened go into the stats. */
static void end_run(build *b, int rc)
{
	if (rc && b->locked) {
		manifest now;
		int r = manifest_read(b->dir, &now, NULL);
		if (r == XIHU_ENOINDEX)
			memset(&now, 0, sizeof now); /* a first build: nothing is live */
		if (r == 0 || r == XIHU_ENOINDEX)
			remove_garbage(b->dir, &now);
		manifest_free(&now);
	}
	pipeline_free(b->pipe);
	analysis_free(b->an);
	free(b->newsegs);
	state_free(&b->cur);
	for (uint32_t i = 0; i < b->nsegs; i++) {
		seg_close(b->segs[i].s);
		free(b->segs[i].newdel);
	}
	free(b->segs);
	free(b->docs);
	free(b->stamps);
	for (uint32_t i = 0; b->roots && i < b->nroots; i++)
		free(b->roots[i]);
	free(b->roots);
	manifest_free(&b->old);
	if (b->lockfd >= 0)
		close(b->lockfd);
	b->st->bytes_in = b->pc.bytes_in;
	b->st->skipped_binary = b->pc.skipped_binary;
	b->st->skipped_large = b->pc.skipped_large + b->skipped_large;
	b->st->skipped_error = b->pc.skipped_error;
	b->st->seconds = (double)(now_ns() - b->start_ns) / 1e9;
}

int xihu_build(const char *index_dir, const char *const *paths, size_t npaths, const char *const *jsonl,
               size_t njsonl, const xihu_build_opts *opts, xihu_build_stats *stats_out, xihu_err *err)
{
	xihu_build_opts defo = {0};
	xihu_build_stats st = {0};
	build b = {.dir = index_dir, .o = opts ? opts : &defo, .st = &st, .err = err, .lockfd = -1};
	b.start_ns = now_ns();
	b.max_size = b.o->max_file_size ? b.o->max_file_size : XIHU_DEFAULT_MAX_FILE_SIZE;

	/* each step runs only if every one before it succeeded; end_run cleans up after any */
	int rc = lock_index(&b);
	if (!rc)
		rc = read_old_index(&b, npaths + njsonl > 0);
	if (!rc)
		rc = choose_roots(&b, paths, npaths, jsonl, njsonl);
	if (!rc)
		rc = run_analysis(&b, b.fresh, b.roots, b.nroots, &b.an);
	if (!rc)
		rc = read_documents(&b);
	if (!rc)
		rc = delete_old_copies(&b);
	if (!rc)
		rc = commit_run(&b);
	if (!rc) /* tiered merges, each its own commit */
		rc = merge_loop(&b, &b.cur);
	if (!rc)
		rc = count_index(&b);
	end_run(&b, rc);
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
