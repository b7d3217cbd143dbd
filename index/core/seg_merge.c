/*
 * seg_merge.c: several segments -> one, purging deleted docs.
 *
 * The output holds the live docs of in[0..n) in input order (segment by
 * segment, doc ids ascending), renumbered densely from 0.  Its fields are
 * the most any input has (the inputs must agree on the names of the fields
 * they share).  The steps:
 *
 *  1. docs: every live doc's record is copied with its new store location.
 *     A store block whose docs are all live is copied verbatim (no inflate,
 *     no deflate: the compressed bytes move as they are); the live docs of a
 *     block that lost some are inflated once per block and re-compressed
 *     into the output's open block.
 *  2. terms: per field, a k-way merge over the inputs' sorted dictionaries
 *     (a binary heap of prefix iterators, ties in input order).  For each
 *     key the inputs holding it are walked in input order through the
 *     postings iterator; deleted docs are skipped, the others renumbered and
 *     handed with their positions to seg_out, which cuts new blocks of 128
 *     with new block-max data (impacts from the output's own avgdl, fixed
 *     by step 1).  A key whose docs are all deleted is dropped.
 *  3. trigrams: a k-way merge over the inputs' sorted trigram keys; each
 *     trigram's lists of gram ids renumbered through the docs' (a live doc
 *     keeps its gram ids, in order, from the output's next one; a deleted
 *     doc's are dropped: gram_maps, merge_grams).  The docs' greppable and
 *     always flags and their counts of gram ids come over with their records.
 *     This step runs on a second thread beside step 2 (gram_thread): the
 *     .grams file is the output's only file it writes, and it keeps its
 *     error apart until the join.
 *
 * Nothing is allocated per posting or per term: the heap, the doc maps, the
 * per-input iterators and their positions buffers are allocated once.
 * The inputs are mapped, and each step gives back the pages it has read
 * (seg_release_pages) every RELEASE_WORK units of input (a posting, a
 * position, a gram id or a byte of the store), so the merge's resident
 * memory is a window of its inputs, not their size (issue 15: xihu-index
 * keeps --ram-mb plus a fixed overhead at any corpus size).  The
 * inputs are read through the bounds-checked reader; a bad byte stops the
 * merge with XIHU_ECORRUPT and unlinks the partial output.
 *
 * Callers: build.c (tiered merges), the unit tests.  The layout is
 * seg_out.c's; merging adds nothing to it.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/seg-int.h"

/* Units of input read between two releases of the inputs' pages: postings
 * and positions (a byte or two each), gram ids (about a byte), store bytes. */
#define RELEASE_WORK (24u << 20)

typedef struct cursor {
	const seg *s;
	uint32_t input;
	seg_term_iter it;
	const char *term;
	uint32_t len;
	seg_term t;
} cursor;

typedef struct merger {
	const seg *const *in;
	uint32_t n;
	seg_out *o;
	xihu_err *err;
	uint32_t *base;   /* per input: new id of its first live doc */
	uint32_t **map;   /* per input with deletions: old id -> new id */
	uint32_t *gbase;  /* per input: new gram id of its first live doc's first */
	uint32_t **gmap;  /* per input with deletions: old gram id -> new (UINT32_MAX: dropped) */
	uint64_t ngram_ids; /* the output's */
	cursor *cur;      /* one per input */
	uint32_t *heap;   /* indexes into cur */
	uint32_t nheap;
	uint32_t *same;   /* cursors holding the current key, input order */
	postings *p;      /* one iterator per input, reused */
	bool nopos;       /* the field being merged is a pair field: no positions */
	uint64_t work;    /* the terms' input read since the last release */
} merger;

/* Counts n units of input read into *work; past RELEASE_WORK, every
 * input's pages are given back (the other thread may be reading them: it
 * maps them again as it reads on). */
static void read_input(const merger *m, uint64_t *work, uint64_t n)
{
	*work += n;
	if (*work < RELEASE_WORK)
		return;
	for (uint32_t i = 0; i < m->n; i++)
		seg_release_pages(m->in[i]);
	*work = 0;
}

/* ---- docs and the doc store ------------------------------------------------ */

/* Copies the live docs of input i to the output. */
static int merge_docs(merger *m, uint32_t i, uint32_t *refs, uint32_t *live, uint32_t *copied, uint8_t **buf,
                      size_t *buf_cap)
{
	const seg *s = m->in[i];
	const uint8_t *dels = seg_deletes(s);
	uint64_t nb = seg_store_nblocks(s);
	uint32_t nf = seg_nfields(s);
	memset(refs, 0, (size_t)nb * sizeof *refs);
	memset(live, 0, (size_t)nb * sizeof *live);
	for (uint32_t d = 0; d < seg_ndocs(s); d++) {
		uint32_t b, off;
		uint64_t len;
		seg_doc_loc(s, d, &b, &off, &len);
		if (len == 0)
			continue;
		if (b >= nb)
			return xihu_err_set(m->err, XIHU_ECORRUPT, "segment %012llx: doc %u: store block %u out of range",
			                    (unsigned long long)seg_id(s), d, b);
		refs[b]++;
		live[b] += !seg_bitmap_test(dels, d);
	}
	for (uint64_t b = 0; b < nb; b++)
		copied[b] = UINT32_MAX;
	uint64_t cached = UINT64_MAX; /* the inflated block in *buf */
	uint32_t lens[XIHU_MAX_FIELDS] = {0};
	for (uint32_t d = 0; d < seg_ndocs(s); d++) {
		if (seg_bitmap_test(dels, d))
			continue;
		seg_doc doc;
		int rc = seg_doc_get(s, d, &doc, m->err);
		if (rc)
			return rc;
		uint32_t b, off, nblock = 0, noff = 0;
		uint64_t len;
		seg_doc_loc(s, d, &b, &off, &len);
		if (len > 0) {
			const uint8_t *comp;
			uint64_t clen, rlen;
			if ((rc = seg_store_block(s, b, &comp, &clen, &rlen, m->err)))
				return rc;
			if (off > rlen || len > rlen - off)
				return xihu_err_set(m->err, XIHU_ECORRUPT,
				                    "segment %012llx: doc %u: text out of its store block",
				                    (unsigned long long)seg_id(s), d);
			if (refs[b] == live[b]) {
				/* every doc of the block survives: move it as it is */
				if (copied[b] == UINT32_MAX) {
					if ((rc = seg_out_store_copy(m->o, comp, clen, rlen, &copied[b])))
						return rc;
					read_input(m, &m->work, clen);
				}
				nblock = copied[b];
				noff = off;
			} else {
				if (cached != b) {
					if (rlen > *buf_cap) {
						uint8_t *nbuf = realloc(*buf, (size_t)rlen);
						if (!nbuf)
							return xihu_err_set(m->err, XIHU_ENOMEM, "merge: out of memory");
						*buf = nbuf;
						*buf_cap = (size_t)rlen;
					}
					if ((rc = seg_store_inflate(s, b, *buf, m->err)))
						return rc;
					cached = b;
					read_input(m, &m->work, clen);
				}
				if ((rc = seg_out_store_text(m->o, (const char *)*buf + off, (size_t)len, &nblock, &noff)))
					return rc;
			}
		}
		for (uint32_t f = 0; f < nf; f++)
			lens[f] = seg_doc_field_len(s, d, f);
		if ((rc = seg_out_doc(m->o, &doc, nblock, noff, len, lens)))
			return rc;
	}
	return XIHU_OK;
}

/* ---- terms ----------------------------------------------------------------- */

static int cur_cmp(const cursor *a, const cursor *b)
{
	uint32_t l = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->term, b->term, l);
	if (c)
		return c;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return a->input < b->input ? -1 : a->input > b->input;
}

static void heap_down(merger *m, uint32_t i)
{
	uint32_t *h = m->heap;
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, min = i;
		if (l < m->nheap && cur_cmp(&m->cur[h[l]], &m->cur[h[min]]) < 0)
			min = l;
		if (r < m->nheap && cur_cmp(&m->cur[h[r]], &m->cur[h[min]]) < 0)
			min = r;
		if (min == i)
			return;
		uint32_t t = h[i];
		h[i] = h[min];
		h[min] = t;
		i = min;
	}
}

static void heap_up(merger *m, uint32_t i)
{
	uint32_t *h = m->heap;
	while (i > 0) {
		uint32_t parent = (i - 1) / 2;
		if (cur_cmp(&m->cur[h[parent]], &m->cur[h[i]]) <= 0)
			return;
		uint32_t t = h[i];
		h[i] = h[parent];
		h[parent] = t;
		i = parent;
	}
}

/* Steps cursor c to its next term: 1 there is one, 0 at the end, <0 error. */
static int cur_next(merger *m, cursor *c)
{
	int r = seg_prefix_next(&c->it, &c->term, &c->len, &c->t, m->err);
	return r < 0 ? -XIHU_ECORRUPT : r;
}

/* Whether no doc of p's current block is deleted. */
static bool block_live(const uint8_t *dels, const postings *p)
{
	if (!dels)
		return true;
	for (uint32_t k = 0; k < p->n; k++)
		if (seg_bitmap_test(dels, p->docs[k]))
			return false;
	return true;
}

/* Hands the postings of cursor c's term, renumbered, to the output: a whole
 * input block whose docs all live as a block, positions copied as they are
 * (the output's block before it closed short, if open), the others doc by
 * doc.  So the output has at most one short block per input with a whole
 * one, and merging reads and writes positions without decoding them. */
static int merge_postings(merger *m, cursor *c)
{
	const seg *s = c->s;
	const uint8_t *dels = seg_deletes(s);
	const uint32_t *map = m->map[c->input];
	uint32_t base = m->base[c->input];
	postings *p = &m->p[c->input];
	int rc = postings_reinit(p, s, &c->t, m->err);
	if (rc)
		return rc;
	for (uint32_t d = p->doc; d != POSTINGS_END;) {
		if (postings_whole_block(p) && block_live(dels, p)) {
			/* a whole block, every doc live: its positions move as they are */
			const uint8_t *pos = NULL;
			size_t pos_len = 0;
			if (!m->nopos && !postings_block_positions(p, &pos, &pos_len))
				return p->rc;
			uint32_t docs[XIHU_BLOCK];
			for (uint32_t k = 0; k < XIHU_BLOCK; k++)
				docs[k] = map ? map[p->docs[k]] : base + p->docs[k];
			seg_out_term_block(m->o, docs, p->freqs, pos, pos_len);
			read_input(m, &m->work, XIHU_BLOCK + pos_len);
			d = postings_next_block(p);
			continue;
		}
		if (seg_bitmap_test(dels, d)) {
			d = postings_next(p);
			continue;
		}
		const uint32_t *pos = NULL;
		int npos = m->nopos ? (int)postings_freq(p) : postings_positions(p, &pos);
		if (npos < 0)
			return -npos;
		seg_out_term_doc(m->o, map ? map[d] : base + d, (uint32_t)npos, pos);
		read_input(m, &m->work, 1 + (uint32_t)npos);
		d = postings_next(p);
	}
	if (p->rc)
		return p->rc;
	return seg_out_rc(m->o);
}

static int merge_field(merger *m, uint32_t field)
{
	m->nheap = 0;
	m->nopos = field & XIHU_PAIR_FIELD; /* pair terms have tf but no positions */
	for (uint32_t i = 0; i < m->n; i++) {
		cursor *c = &m->cur[i];
		if ((field & ~XIHU_PAIR_FIELD) >= seg_nfields(m->in[i]))
			continue;
		int rc = seg_prefix_init(&c->it, c->s, field, "", 0, m->err);
		if (rc)
			return rc;
		int r = cur_next(m, c);
		if (r < 0)
			return -r;
		if (r) {
			m->heap[m->nheap++] = i;
			heap_up(m, m->nheap - 1);
		}
	}
	uint8_t key[XIHU_MAX_TERM + 1];
	key[0] = (uint8_t)field;
	while (m->nheap > 0) {
		/* pop every cursor at the smallest key: they come in input order */
		uint32_t nsame = 0;
		const cursor *first = &m->cur[m->heap[0]];
		uint32_t klen = first->len;
		if (klen == 0 || klen > XIHU_MAX_TERM)
			return xihu_err_set(m->err, XIHU_ECORRUPT, "merge: bad term length %u", klen);
		memcpy(key + 1, first->term, klen);
		do {
			m->same[nsame++] = m->heap[0];
			m->heap[0] = m->heap[--m->nheap];
			heap_down(m, 0);
		} while (m->nheap > 0 && m->cur[m->heap[0]].len == klen &&
		         memcmp(m->cur[m->heap[0]].term, key + 1, klen) == 0);
		seg_out_term_begin(m->o, key, klen + 1);
		for (uint32_t k = 0; k < nsame; k++) {
			int rc = merge_postings(m, &m->cur[m->same[k]]);
			if (rc)
				return rc;
		}
		int rc = seg_out_term_end(m->o);
		if (rc)
			return rc;
		for (uint32_t k = 0; k < nsame; k++) {
			cursor *c = &m->cur[m->same[k]];
			int r = cur_next(m, c);
			if (r < 0)
				return -r;
			if (r) {
				m->heap[m->nheap++] = m->same[k];
				heap_up(m, m->nheap - 1);
			}
		}
	}
	return XIHU_OK;
}

/* ---- trigrams ---------------------------------------------------------------- */

/* Input i's trigram at index at[i] into gram[i] and g[i], or gram[i] =
 * UINT32_MAX past its last; keys must increase.  0 or an error. */
static int gram_step(const merger *m, uint32_t i, const uint64_t *at, uint32_t *gram, seg_gram *g,
                     xihu_err *err)
{
	const seg *s = m->in[i];
	if (at[i] >= seg_ngrams(s)) {
		gram[i] = UINT32_MAX;
		return XIHU_OK;
	}
	uint32_t prev = gram[i], k;
	int rc = seg_gram_at(s, at[i], &k, &g[i], err);
	if (rc)
		return rc;
	if (k >= SEG_GRAM_MAX || (at[i] > 0 && k <= prev))
		return xihu_err_set(err, XIHU_ECORRUPT, "segment %012llx: trigram %llu: keys out of order",
		                    (unsigned long long)seg_id(s), (unsigned long long)at[i]);
	gram[i] = k;
	return XIHU_OK;
}

/* The new gram ids: per input its base, and with deletions the map of
 * every old gram id (a deleted doc's to UINT32_MAX). */
static int gram_maps(merger *m)
{
	m->gbase = calloc(m->n, sizeof *m->gbase);
	m->gmap = calloc(m->n, sizeof *m->gmap);
	if (!m->gbase || !m->gmap)
		return xihu_err_set(m->err, XIHU_ENOMEM, "merge: out of memory");
	uint64_t next = 0;
	for (uint32_t i = 0; i < m->n; i++) {
		const seg *s = m->in[i];
		const uint8_t *dels = seg_deletes(s);
		m->gbase[i] = (uint32_t)next;
		if (!dels) {
			next += seg_ngram_ids(s);
		} else {
			uint32_t nids = seg_ngram_ids(s), *g = malloc(((size_t)nids + 1) * sizeof *g);
			if (!(m->gmap[i] = g))
				return xihu_err_set(m->err, XIHU_ENOMEM, "merge: out of memory");
			for (uint32_t d = 0; d < seg_ndocs(s); d++) {
				uint32_t a = seg_gram_first(s, d), b = seg_gram_first(s, d + 1);
				if (b < a || b > nids)
					return xihu_err_set(m->err, XIHU_ECORRUPT, "segment %012llx: doc %u: bad gram ids",
					                    (unsigned long long)seg_id(s), d);
				bool del = seg_bitmap_test(dels, d);
				for (uint32_t k = a; k < b; k++)
					g[k] = del ? UINT32_MAX : (uint32_t)next++;
			}
		}
		if (next > UINT32_MAX - 1)
			return xihu_err_set(m->err, XIHU_ELIMIT, "merge: more than 2^32 - 2 gram ids");
	}
	m->ngram_ids = next;
	return XIHU_OK;
}

/* The inputs' trigrams, k-way over their sorted keys: per trigram the
 * inputs' lists in input order, renumbered, deleted docs' gram ids dropped
 * (a trigram left with none is not written).  ids has room for every
 * output gram id, tmp for the largest input's.  Runs on a thread of its
 * own beside the terms (gram_thread): it reads the inputs and m's maps,
 * writes only the output's trigrams (seg_out_gram) and its own err, and
 * stops early when *stop is set. */
static int merge_grams(const merger *m, uint32_t *ids, uint32_t *tmp, const atomic_bool *stop, xihu_err *err)
{
	uint64_t *at = calloc(m->n, sizeof *at);
	uint32_t *gram = calloc(m->n, sizeof *gram);
	seg_gram *g = calloc(m->n, sizeof *g);
	int rc = at && gram && g ? XIHU_OK : xihu_err_set(err, XIHU_ENOMEM, "merge: out of memory");
	for (uint32_t i = 0; i < m->n && !rc; i++)
		rc = gram_step(m, i, at, gram, g, err);
	uint64_t work = 0; /* gram ids read since the last release */
	while (!rc && !atomic_load_explicit(stop, memory_order_relaxed)) {
		uint32_t best = UINT32_MAX;
		for (uint32_t i = 0; i < m->n; i++)
			best = gram[i] < best ? gram[i] : best;
		if (best == UINT32_MAX)
			break;
		uint32_t n = 0;
		for (uint32_t i = 0; i < m->n && !rc; i++) {
			if (gram[i] != best)
				continue;
			const uint32_t *gmap = m->gmap[i];
			if (!gmap) { /* no deletions: the ids move up by the input's base */
				if ((rc = seg_gram_docs(m->in[i], &g[i], ids + n, err)))
					break;
				for (uint32_t k = 0, base = m->gbase[i]; k < g[i].df; k++)
					ids[n + k] += base;
				n += g[i].df;
			} else {
				if ((rc = seg_gram_docs(m->in[i], &g[i], tmp, err)))
					break;
				for (uint32_t k = 0; k < g[i].df; k++)
					if (gmap[tmp[k]] != UINT32_MAX)
						ids[n++] = gmap[tmp[k]];
			}
			read_input(m, &work, g[i].df);
			at[i]++;
			rc = gram_step(m, i, at, gram, g, err);
		}
		if (!rc) {
			seg_out_gram(m->o, best, ids, n);
			rc = seg_out_grams_rc(m->o);
		}
	}
	free(at);
	free(gram);
	free(g);
	return rc;
}

/* merge_grams on a thread of its own: the inputs' trigrams are merged
 * while the calling thread merges their terms (both write the output, to
 * files of their own).  The thread keeps its error in err until joined. */
typedef struct gram_job {
	const merger *m;
	uint32_t *ids, *tmp;
	atomic_bool stop; /* the terms failed: no use going on */
	int rc;
	xihu_err err;
} gram_job;

static void *gram_thread(void *arg)
{
	gram_job *j = arg;
	j->rc = merge_grams(j->m, j->ids, j->tmp, &j->stop, &j->err);
	return NULL;
}

/* ---- the whole merge ------------------------------------------------------- */

int seg_merge(const char *dir, const seg *const *in, uint32_t n, uint64_t out_id, seg_info *out,
              xihu_err *err)
{
	if (n == 0)
		return xihu_err_set(err, XIHU_EINVAL, "merge: no segments");
	/* fields: the most any input has, names agreeing where they overlap */
	uint32_t nfields = 0, widest = 0;
	for (uint32_t i = 0; i < n; i++)
		if (seg_nfields(in[i]) > nfields) {
			nfields = seg_nfields(in[i]);
			widest = i;
		}
	const char *names[XIHU_MAX_FIELDS];
	for (uint32_t f = 0; f < nfields; f++)
		names[f] = seg_field_name(in[widest], f);
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t f = 0; f < seg_nfields(in[i]); f++)
			if (strcmp(seg_field_name(in[i], f), names[f]) != 0)
				return xihu_err_set(err, XIHU_EINVAL,
				                    "merge: segment %012llx calls field %u \"%s\", segment %012llx \"%s\"",
				                    (unsigned long long)seg_id(in[i]), f, seg_field_name(in[i], f),
				                    (unsigned long long)seg_id(in[widest]), names[f]);

	merger m = {.in = in, .n = n, .err = err};
	int rc = XIHU_ENOMEM;
	uint32_t *refs = NULL, *live = NULL, *copied = NULL, *gram_ids = NULL, *gram_tmp = NULL;
	uint8_t *buf = NULL;
	size_t buf_cap = 0;
	uint64_t max_blocks = 1;
	for (uint32_t i = 0; i < n; i++)
		if (seg_store_nblocks(in[i]) > max_blocks)
			max_blocks = seg_store_nblocks(in[i]);
	m.base = calloc(n, sizeof *m.base);
	m.map = calloc(n, sizeof *m.map);
	m.cur = calloc(n, sizeof *m.cur);
	m.heap = calloc(n, sizeof *m.heap);
	m.same = calloc(n, sizeof *m.same);
	m.p = calloc(n, sizeof *m.p);
	if (max_blocks <= SIZE_MAX / sizeof(uint32_t) / 3) {
		refs = malloc((size_t)max_blocks * sizeof *refs);
		live = malloc((size_t)max_blocks * sizeof *live);
		copied = malloc((size_t)max_blocks * sizeof *copied);
	}
	if (!m.base || !m.map || !m.cur || !m.heap || !m.same || !m.p || !refs || !live || !copied) {
		xihu_err_set(err, rc, "merge: out of memory");
		goto done;
	}
	/* new doc ids */
	uint64_t next = 0;
	for (uint32_t i = 0; i < n; i++) {
		const seg *s = in[i];
		m.cur[i].s = s;
		m.cur[i].input = i;
		m.base[i] = (uint32_t)next;
		const uint8_t *dels = seg_deletes(s);
		if (!dels) {
			next += seg_ndocs(s);
		} else {
			m.map[i] = malloc((size_t)(seg_ndocs(s) ? seg_ndocs(s) : 1) * sizeof **m.map);
			if (!m.map[i]) {
				xihu_err_set(err, rc, "merge: out of memory");
				goto done;
			}
			for (uint32_t d = 0; d < seg_ndocs(s); d++)
				m.map[i][d] = seg_bitmap_test(dels, d) ? UINT32_MAX : (uint32_t)next++;
		}
		if (next > SEG_MAX_DOCS) {
			rc = xihu_err_set(err, XIHU_ELIMIT, "merge: more than %u documents", SEG_MAX_DOCS);
			goto done;
		}
	}
	if ((rc = gram_maps(&m)))
		goto done;
	if ((rc = seg_out_new(dir, out_id, nfields, &m.o, err)))
		goto done;
	for (uint32_t i = 0; i < n && !rc; i++)
		rc = merge_docs(&m, i, refs, live, copied, &buf, &buf_cap);
	if (!rc)
		rc = seg_out_terms_begin(m.o);
	/* the trigrams on a second thread (or after the terms, if none starts) */
	gram_job gj = {.m = &m};
	pthread_t gt;
	bool threaded = false;
	if (!rc) {
		uint32_t most = 1;
		for (uint32_t i = 0; i < n; i++)
			most = seg_ngram_ids(in[i]) > most ? seg_ngram_ids(in[i]) : most;
		gram_ids = malloc(((size_t)m.ngram_ids + 1) * sizeof *gram_ids);
		gram_tmp = malloc((size_t)most * sizeof *gram_tmp);
		if (!gram_ids || !gram_tmp)
			rc = xihu_err_set(err, XIHU_ENOMEM, "merge: out of memory");
		gj.ids = gram_ids;
		gj.tmp = gram_tmp;
		threaded = !rc && pthread_create(&gt, NULL, gram_thread, &gj) == 0;
	}
	for (uint32_t f = 0; f < nfields && !rc; f++)
		rc = merge_field(&m, f);
	for (uint32_t f = 0; f < nfields && !rc; f++) /* pair terms sort after every word */
		rc = merge_field(&m, f | XIHU_PAIR_FIELD);
	if (threaded) {
		atomic_store_explicit(&gj.stop, rc != 0, memory_order_relaxed);
		pthread_join(gt, NULL);
	} else if (!rc) {
		gj.rc = merge_grams(&m, gram_ids, gram_tmp, &gj.stop, &gj.err);
	}
	if (!rc && gj.rc && !seg_out_grams_rc(m.o)) { /* the output's own error: finish reports it */
		rc = gj.rc;
		if (err)
			*err = gj.err;
	}
	if (!rc)
		rc = seg_out_finish(m.o, names, out);
done:
	seg_out_free(m.o); /* unlinks the output unless finished */
	for (uint32_t i = 0; i < n; i++) {
		if (m.map)
			free(m.map[i]);
		if (m.gmap)
			free(m.gmap[i]);
		if (m.p)
			postings_free(&m.p[i]);
	}
	free(m.base);
	free(m.map);
	free(m.gbase);
	free(m.gmap);
	free(m.cur);
	free(m.heap);
	free(m.same);
	free(m.p);
	free(refs);
	free(live);
	free(copied);
	free(gram_ids);
	free(gram_tmp);
	free(buf);
	return rc;
}
