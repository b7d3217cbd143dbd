/*
 * index.c: an opened, committed index: the manifest and its mapped
 * segments, shared read-only by every request that holds a reference.
 *
 * It holds the index's analysis (settings.c, read from SETTINGS at each
 * open), which search.c must apply to the query and the snippets.
 *
 * Invariants: an xihu_index never changes after xihu_index_open returns;
 * a newer commit is picked up by opening a new one (xihu_index_changed
 * tells when) and dropping the old reference.  The last unref unmaps.
 * Called by the daemon and by the rest of search/ (which sees the struct
 * through search.h's accessors).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "search/search.h"

struct xihu_index {
	atomic_uint refs;
	char *dir;
	manifest m;
	analysis *an; /* NULL: the default analysis */
	seg **segs;
	uint32_t nsegs;
	xihu_index_stats stats;
	ino_t manifest_ino;
	int64_t manifest_mtime_ns;
};

uint32_t index_nsegs(const xihu_index *ix)
{
	return ix->nsegs;
}

const seg *index_seg(const xihu_index *ix, uint32_t i)
{
	return ix->segs[i];
}

const analysis *index_analysis(const xihu_index *ix)
{
	return ix->an;
}

static int stat_manifest(const char *dir, struct stat *st, xihu_err *err)
{
	char path[4096];
	if (snprintf(path, sizeof path, "%s/MANIFEST", dir) >= (int)sizeof path)
		return xihu_err_set(err, XIHU_EINVAL, "%s: index path too long", dir);
	if (stat(path, st) < 0) {
		if (errno == ENOENT)
			return xihu_err_set(err, XIHU_ENOINDEX, "%s: no index here (no MANIFEST)", dir);
		return xihu_err_set(err, XIHU_EIO, "%s: %s", path, strerror(errno));
	}
	return 0;
}

/* Whether prev already has segment id open (and so verified its checksums). */
static bool seg_known(const xihu_index *prev, uint64_t id)
{
	for (uint32_t i = 0; prev && i < prev->nsegs; i++)
		if (seg_id(prev->segs[i]) == id)
			return true;
	return false;
}

static int index_open(const char *dir, const xihu_index *prev, xihu_index **out, xihu_err *err)
{
	*out = NULL;
	xihu_index *ix = calloc(1, sizeof *ix);
	if (!ix)
		return xihu_err_set(err, XIHU_ENOMEM, "%s: out of memory", dir);
	atomic_init(&ix->refs, 1);
	int rc = XIHU_ENOMEM;
	ix->dir = strdup(dir);
	if (!ix->dir) {
		xihu_err_set(err, rc, "%s: out of memory", dir);
		goto fail;
	}
	/* stat before reading: if a commit lands in between we see it as a change later */
	struct stat st;
	if ((rc = stat_manifest(dir, &st, err)))
		goto fail;
	ix->manifest_ino = st.st_ino;
	ix->manifest_mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	if ((rc = manifest_read(dir, &ix->m, err)) || (rc = settings_read(dir, &ix->an, err)))
		goto fail;
	ix->segs = calloc(ix->m.nsegs ? ix->m.nsegs : 1, sizeof *ix->segs);
	if (!ix->segs) {
		rc = xihu_err_set(err, XIHU_ENOMEM, "%s: out of memory", dir);
		goto fail;
	}
	for (uint32_t i = 0; i < ix->m.nsegs; i++) {
		/* segment files never change once committed: their checksums were
		 * verified when prev opened them; a new deletions file is checked anyway */
		bool verify = !seg_known(prev, ix->m.segs[i].id);
		if ((rc = seg_open(dir, ix->m.segs[i].id, ix->m.segs[i].del_gen, verify, &ix->segs[i], err)))
			goto fail;
		ix->nsegs++;
		ix->stats.docs += seg_ndocs(ix->segs[i]) - seg_ndeleted(ix->segs[i]);
		ix->stats.terms += seg_nterms(ix->segs[i]);
		ix->stats.bytes += seg_bytes(ix->segs[i]);
	}
	ix->stats.generation = ix->m.generation;
	ix->stats.segments = ix->nsegs;
	ix->stats.bytes += (uint64_t)st.st_size;
	*out = ix;
	return 0;
fail:
	xihu_index_unref(ix);
	return rc;
}

/*
 * A writer removes the files of segments no manifest names right after it
 * commits, so between reading a manifest and mapping its segments a newer
 * commit may take them away.  When an open fails and the manifest changed
 * meanwhile, the newer one is read again.
 */
static int index_open_retry(const char *dir, const xihu_index *prev, xihu_index **out, xihu_err *err)
{
	for (int attempt = 0;; attempt++) {
		struct stat before, after;
		xihu_err ignored;
		bool have = !stat_manifest(dir, &before, &ignored);
		int rc = index_open(dir, prev, out, err);
		if (!rc || attempt == 8 || !have || stat_manifest(dir, &after, &ignored) ||
		    (after.st_ino == before.st_ino && after.st_mtim.tv_sec == before.st_mtim.tv_sec &&
		     after.st_mtim.tv_nsec == before.st_mtim.tv_nsec))
			return rc;
	}
}

int xihu_index_open(const char *dir, xihu_index **out, xihu_err *err)
{
	return index_open_retry(dir, NULL, out, err);
}

int xihu_index_reopen(const xihu_index *prev, xihu_index **out, xihu_err *err)
{
	return index_open_retry(prev->dir, prev, out, err);
}

xihu_index *xihu_index_ref(xihu_index *ix)
{
	atomic_fetch_add_explicit(&ix->refs, 1, memory_order_relaxed);
	return ix;
}

void xihu_index_unref(xihu_index *ix)
{
	if (!ix || atomic_fetch_sub_explicit(&ix->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (uint32_t i = 0; i < ix->nsegs; i++)
		seg_close(ix->segs[i]);
	free(ix->segs);
	manifest_free(&ix->m);
	analysis_free(ix->an);
	free(ix->dir);
	free(ix);
}

void xihu_index_get_stats(const xihu_index *ix, xihu_index_stats *out)
{
	*out = ix->stats;
}

const char *xihu_index_dir(const xihu_index *ix)
{
	return ix->dir;
}

int xihu_index_changed(const xihu_index *ix, bool *changed, xihu_err *err)
{
	struct stat st;
	*changed = false;
	int rc = stat_manifest(ix->dir, &st, err);
	if (rc)
		return rc;
	int64_t mt = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	*changed = st.st_ino != ix->manifest_ino || mt != ix->manifest_mtime_ns;
	return 0;
}

int xihu_index_check(const char *dir, FILE *report, xihu_err *err)
{
	manifest m;
	int rc = manifest_read(dir, &m, err);
	if (rc)
		return rc;
	if (report)
		fprintf(report, "%s/MANIFEST: ok (generation %llu, %u segments)\n", dir,
		        (unsigned long long)m.generation, m.nsegs);
	analysis *an;
	if ((rc = settings_read(dir, &an, err))) {
		manifest_free(&m);
		return rc;
	}
	if (report) {
		char what[128];
		analysis_describe(an, what, sizeof what);
		fprintf(report, "%s/SETTINGS: ok (%s)\n", dir, what);
	}
	analysis_free(an);
	for (uint32_t i = 0; i < m.nsegs && !rc; i++) {
		rc = seg_check(dir, m.segs[i].id, m.segs[i].del_gen, err);
		if (!rc && report)
			fprintf(report, "segment %012llx: ok (%u docs)\n", (unsigned long long)m.segs[i].id,
			        m.segs[i].ndocs);
	}
	manifest_free(&m);
	return rc;
}
