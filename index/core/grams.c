/*
 * grams.c: a segment's trigram lists, the .grams file (kind GRAM), the
 * first stage of exact search: for every trigram of the raw bytes of the
 * segment's greppable docs, the ascending gram ids holding it.  A gram id
 * is a doc, or a block of whole lines of a doc over GRAM_BLOCK_MIN bytes
 * (core.h); the docs own consecutive gram ids in doc order.
 * Layout (docs/FORMAT.md §3.7; payload offsets):
 *
 *   0            the lists, back to back in key order: per list of df ids,
 *                floor(df/128) blocks {u8 width, packed[128] of gaps at
 *                width (codec.c)}, then df % 128 varint gaps
 *                (gap = id - prev - 1, prev starting at -1)
 *   lists_len    ngrams entries of 8 + width bytes, keys strictly ascending:
 *                  u32 gram (< 2^24), u32 df (1..nids),
 *                  width-byte offset of its list (4 or 8 bytes, LE)
 *                a list ends where the next entry's starts (the last at lists_len)
 *   then         first: (ndocs + 1) u32, doc d's gram ids [first[d], first[d+1]),
 *                first[0] = 0, first[ndocs] = nids
 *   footer (28)  u64 ngrams, u64 lists_len, u32 ndocs, u32 width, u32 nids
 *
 * Owns: the list codec (gram_list_encode, used by seg_out.c), the reader
 * (grams_open at seg_open; seg_gram_lookup, seg_gram_docs, seg_gram_at,
 * the gram id -> doc map seg_gram_doc, seg_gram_ids_docs) and the full
 * check of the file (grams_check, from seg_check.c).  The
 * docs' greppable and always flags live in their doc records (.docs),
 * read here too.
 *
 * Invariants: after grams_open the footer and the table's size are known
 * good; each entry and list is checked where it is read, and nothing reads
 * outside the mapping.  Lookups binary-search an in-memory fence of every
 * SEG_GRAM_FENCE-th key, then at most that many entries of the file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/seg-int.h"

/* ---- the list codec ------------------------------------------------------------ */

static inline uint8_t *put_varint(uint8_t *o, uint64_t v)
{
	while (v >= 0x80) {
		*o++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*o++ = (uint8_t)v;
	return o;
}

size_t gram_list_encode(const uint32_t *ids, uint32_t n, uint8_t *out)
{
	uint8_t *o = out;
	uint32_t prev = UINT32_MAX; /* prev + 1 == 0 */
	uint32_t gaps[XIHU_BLOCK];
	uint32_t i = 0;
	for (; i + XIHU_BLOCK <= n; i += XIHU_BLOCK) {
		for (uint32_t k = 0; k < XIHU_BLOCK; k++) {
			gaps[k] = ids[i + k] - (prev + 1);
			prev = ids[i + k];
		}
		unsigned bits = codec_bits(gaps, XIHU_BLOCK);
		*o++ = (uint8_t)bits;
		o += codec_pack(gaps, XIHU_BLOCK, bits, o); /* writes 8 bytes of slack past it */
	}
	for (; i < n; i++) {
		o = put_varint(o, ids[i] - (prev + 1));
		prev = ids[i];
	}
	return (size_t)(o - out);
}

/* ---- opening -------------------------------------------------------------------- */

static inline uint64_t entry_off(const seg *s, const uint8_t *e)
{
	return s->gram_width == 4 ? get_u32le(e + 8) : get_u64le(e + 8);
}

static inline uint32_t doc_flags(const seg *s, uint32_t doc);

/* The docs exact search reads whatever the pattern (files too big for the
 * index), listed once here: a grep then need not look at every doc's
 * record to find them. */
static int always_open(seg *s, xihu_err *err)
{
	uint32_t n = 0;
	for (uint32_t d = 0; d < s->ndocs; d++)
		n += (doc_flags(s, d) & SEG_DOC_ALWAYS) != 0;
	if (n == 0)
		return XIHU_OK;
	if (!(s->always = malloc(n * sizeof *s->always)))
		return xihu_err_set(err, XIHU_ENOMEM, "%s: out of memory", s->f[SEG_GRAMS].path);
	for (uint32_t d = 0; d < s->ndocs; d++)
		if (doc_flags(s, d) & SEG_DOC_ALWAYS)
			s->always[s->nalways++] = d;
	return XIHU_OK;
}

int grams_open(seg *s, xihu_err *err)
{
	const xmap *m = &s->f[SEG_GRAMS];
	if (m->len < SEG_GRAMS_FOOTER)
		return xfile_corrupt(m, 0, err, "trigram footer missing");
	size_t foff = m->len - SEG_GRAMS_FOOTER;
	const uint8_t *f = m->data + foff;
	uint64_t ngrams = get_u64le(f), lists_len = get_u64le(f + 8);
	uint32_t ndocs = get_u32le(f + 16), width = get_u32le(f + 20), nids = get_u32le(f + 24);
	if (ndocs != s->ndocs)
		return xfile_corrupt(m, foff + 16, err, "document count differs from the doc table");
	if (width != 4 && width != 8)
		return xfile_corrupt(m, foff + 20, err, "trigram offset width is not 4 or 8");
	uint64_t map_len = 4 * ((uint64_t)ndocs + 1);
	if (ngrams > SEG_GRAM_MAX || lists_len > foff || (foff - lists_len) != ngrams * (8 + width) + map_len)
		return xfile_corrupt(m, foff, err, "trigram table does not fit the file");
	if (nids == UINT32_MAX)
		return xfile_corrupt(m, foff + 24, err, "gram id count out of range");
	size_t map_off = foff - (size_t)map_len;
	if (get_u32le(m->data + map_off) != 0)
		return xfile_corrupt(m, map_off, err, "the first doc's gram ids do not start at 0");
	if (get_u32le(m->data + foff - 4) != nids)
		return xfile_corrupt(m, foff - 4, err, "the docs' gram ids do not end at the gram id count");
	s->gram_first = m->data + map_off;
	s->ngram_ids = nids;
	s->ngrams = ngrams;
	s->gram_width = width;
	s->gram_esize = 8 + width;
	s->gram_entries = m->data + lists_len;
	s->gram_lists_len = lists_len;
	uint64_t nfence = (ngrams + SEG_GRAM_FENCE - 1) / SEG_GRAM_FENCE;
	if (nfence && !(s->gram_fence = malloc(nfence * sizeof *s->gram_fence)))
		return xihu_err_set(err, XIHU_ENOMEM, "%s: out of memory", m->path);
	for (uint64_t i = 0; i < nfence; i++) {
		const uint8_t *e = s->gram_entries + i * SEG_GRAM_FENCE * s->gram_esize;
		s->gram_fence[i] = get_u32le(e);
		if (i > 0 && s->gram_fence[i] <= s->gram_fence[i - 1])
			return xfile_corrupt(m, (size_t)(e - m->data), err, "trigram keys out of order");
	}
	return always_open(s, err);
}

/* ---- reading --------------------------------------------------------------------- */

uint64_t seg_ngrams(const seg *s)
{
	return s->ngrams;
}

/* Entry i (< ngrams) into out, its offsets checked; 0 or XIHU_ECORRUPT. */
static int entry_at(const seg *s, uint64_t i, uint32_t *gram, seg_gram *out, xihu_err *err)
{
	const uint8_t *e = s->gram_entries + i * s->gram_esize;
	uint64_t off = entry_off(s, e);
	uint64_t end = i + 1 < s->ngrams ? entry_off(s, e + s->gram_esize) : s->gram_lists_len;
	uint32_t df = get_u32le(e + 4);
	const xmap *m = &s->f[SEG_GRAMS];
	if (df == 0 || df > s->ngram_ids)
		return xfile_corrupt(m, (size_t)(e + 4 - m->data), err, "trigram gram id count out of range");
	if (off >= end || end > s->gram_lists_len)
		return xfile_corrupt(m, (size_t)(e + 8 - m->data), err, "trigram list offset out of range");
	*gram = get_u32le(e);
	out->df = df;
	out->off = off;
	out->len = end - off;
	return XIHU_OK;
}

int seg_gram_at(const seg *s, uint64_t i, uint32_t *gram, seg_gram *out, xihu_err *err)
{
	if (i >= s->ngrams)
		return xihu_err_set(err, XIHU_EINVAL, "%s: trigram %llu out of range", s->f[SEG_GRAMS].path,
		                    (unsigned long long)i);
	return entry_at(s, i, gram, out, err);
}

int seg_gram_lookup(const seg *s, uint32_t gram, seg_gram *out, xihu_err *err)
{
	if (s->ngrams == 0 || gram < s->gram_fence[0])
		return 0;
	/* the last fence key <= gram */
	uint64_t lo = 0, hi = (s->ngrams + SEG_GRAM_FENCE - 1) / SEG_GRAM_FENCE;
	while (hi - lo > 1) {
		uint64_t mid = (lo + hi) / 2;
		if (s->gram_fence[mid] <= gram)
			lo = mid;
		else
			hi = mid;
	}
	/* then the entries it fences */
	uint64_t a = lo * SEG_GRAM_FENCE, b = a + SEG_GRAM_FENCE < s->ngrams ? a + SEG_GRAM_FENCE : s->ngrams;
	while (a < b) {
		uint64_t mid = (a + b) / 2;
		uint32_t k = get_u32le(s->gram_entries + mid * s->gram_esize);
		if (k == gram) {
			uint32_t got;
			int rc = entry_at(s, mid, &got, out, err);
			return rc ? -rc : 1;
		}
		if (k < gram)
			a = mid + 1;
		else
			b = mid;
	}
	return 0;
}

int seg_gram_docs(const seg *s, const seg_gram *g, uint32_t *ids, xihu_err *err)
{
	const xmap *m = &s->f[SEG_GRAMS];
	if (g->off > s->gram_lists_len || g->len > s->gram_lists_len - g->off)
		return xfile_corrupt(m, 0, err, "trigram list out of the file");
	const uint8_t *p = m->data + g->off, *end = p + g->len;
	uint64_t next = 0; /* the next id is >= this: prev + 1 */
	uint32_t i = 0, df = g->df;
	for (; i + XIHU_BLOCK <= df; i += XIHU_BLOCK) {
		if (p >= end || *p > 32)
			return xfile_corrupt(m, (size_t)(p - m->data), err, "bad bit width in a trigram block");
		size_t k = codec_unpack(p + 1, (size_t)(end - p - 1), XIHU_BLOCK, *p, ids + i);
		if (!k && *p)
			return xfile_corrupt(m, (size_t)(p - m->data), err, "trigram block truncated");
		p += 1 + k;
		uint32_t *v = ids + i;
		for (uint32_t j = 0; j < XIHU_BLOCK; j++) {
			next += v[j];
			v[j] = (uint32_t)next;
			next++;
		}
		if (next > s->ngram_ids)
			return xfile_corrupt(m, (size_t)(p - m->data), err, "trigram list holds a gram id out of range");
	}
	for (; i < df; i++) {
		uint64_t gap;
		const uint8_t *at = p;
		if (!get_varint(&p, end, &gap))
			return xfile_corrupt(m, (size_t)(at - m->data), err, "trigram list truncated");
		next += gap;
		if (next >= s->ngram_ids)
			return xfile_corrupt(m, (size_t)(at - m->data), err, "trigram list holds a gram id out of range");
		ids[i] = (uint32_t)next++;
	}
	if (p != end)
		return xfile_corrupt(m, (size_t)(p - m->data), err, "trigram list longer than its documents");
	return XIHU_OK;
}

/* ---- gram ids and docs ----------------------------------------------------------- */

uint32_t seg_ngram_ids(const seg *s)
{
	return s->ngram_ids;
}

uint32_t seg_gram_first(const seg *s, uint32_t doc)
{
	return doc <= s->ndocs ? get_u32le(s->gram_first + 4 * (size_t)doc) : s->ngram_ids;
}

/* The last doc d in [lo, hi) with first[d] <= id, given first[lo] <= id. */
static uint32_t bisect(const seg *s, uint32_t lo, uint32_t hi, uint32_t id)
{
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (seg_gram_first(s, mid) <= id)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* The last doc d in [lo, ndocs) with first[d] <= id, given first[lo] <= id:
 * galloping from lo, then a binary search (ids met ascending walk forward
 * cheaply).  On a corrupt (not ascending) map still a doc < ndocs. */
static uint32_t doc_from(const seg *s, uint32_t lo, uint32_t id)
{
	uint32_t nd = s->ndocs, hi = lo + 1, step = 1;
	while (hi < nd && seg_gram_first(s, hi) <= id) {
		lo = hi;
		step *= 2;
		hi = nd - lo > step ? lo + step : nd;
	}
	return bisect(s, lo, hi, id);
}

uint32_t seg_gram_doc(const seg *s, uint32_t id)
{
	if (id >= s->ngram_ids || s->ndocs == 0)
		return UINT32_MAX;
	return bisect(s, 0, s->ndocs, id); /* the whole map: first[0] = 0 <= id */
}

uint32_t seg_gram_ids_docs(const seg *s, uint32_t *ids, uint32_t n)
{
	uint32_t k = 0, d = 0, end = 0; /* doc d owns up to end (exclusive) */
	for (uint32_t i = 0; i < n; i++) {
		uint32_t id = ids[i];
		if (k > 0 && id < end)
			continue; /* the same doc */
		if (id >= s->ngram_ids || s->ndocs == 0)
			break;
		d = doc_from(s, k > 0 ? d : 0, id);
		end = seg_gram_first(s, d + 1);
		if (k == 0 || ids[k - 1] != d)
			ids[k++] = d;
	}
	return k;
}

static inline uint32_t doc_flags(const seg *s, uint32_t doc)
{
	return get_u32le(s->recs + (size_t)doc * s->rec_size + 12);
}

bool seg_doc_greppable(const seg *s, uint32_t doc)
{
	return doc < s->ndocs && (doc_flags(s, doc) & SEG_DOC_GREPPABLE);
}

bool seg_doc_always(const seg *s, uint32_t doc)
{
	return doc < s->ndocs && (doc_flags(s, doc) & SEG_DOC_ALWAYS);
}

uint32_t seg_always_docs(const seg *s, const uint32_t **docs)
{
	*docs = s->always;
	return s->nalways;
}

/* ---- the full check ---------------------------------------------------------------- */

/* The docs' gram ids: ascending, only greppable docs owning any (each at
 * least one); first[0] = 0 and first[ndocs] = nids were checked at open. */
static int map_check(const seg *s, xihu_err *err)
{
	const xmap *m = &s->f[SEG_GRAMS];
	size_t base = (size_t)(s->gram_first - m->data);
	for (uint32_t d = 0; d < s->ndocs; d++) {
		uint32_t a = seg_gram_first(s, d), b = seg_gram_first(s, d + 1);
		size_t at = base + 4 * ((size_t)d + 1);
		char what[96];
		if (b < a) {
			snprintf(what, sizeof what, "doc %u: first gram ids out of order", d + 1);
			return xfile_corrupt(m, at, err, what);
		}
		if (seg_doc_greppable(s, d) != (b > a)) {
			snprintf(what, sizeof what, b > a ? "doc %u owns gram ids but is not greppable"
			                                  : "doc %u is greppable but owns no gram id", d);
			return xfile_corrupt(m, at, err, what);
		}
	}
	return XIHU_OK;
}

int grams_check(const seg *s, xihu_err *err)
{
	const xmap *m = &s->f[SEG_GRAMS];
	int rc = map_check(s, err);
	if (rc)
		return rc;
	uint32_t *ids = malloc(((size_t)s->ngram_ids + 1) * sizeof *ids);
	if (!ids)
		return xihu_err_set(err, XIHU_ENOMEM, "%s: out of memory", m->path);
	uint64_t prev_end = 0;
	for (uint64_t i = 0; i < s->ngrams && !rc; i++) {
		const uint8_t *e = s->gram_entries + i * s->gram_esize;
		size_t eoff = (size_t)(e - m->data);
		uint32_t gram;
		seg_gram g;
		if ((rc = entry_at(s, i, &gram, &g, err)))
			break;
		if (gram >= SEG_GRAM_MAX || (i > 0 && gram <= get_u32le(e - s->gram_esize))) {
			rc = xfile_corrupt(m, eoff, err, "trigram keys out of order or out of range");
			break;
		}
		if (g.off != prev_end) {
			rc = xfile_corrupt(m, eoff + 8, err, "trigram lists not back to back");
			break;
		}
		prev_end = g.off + g.len;
		rc = seg_gram_docs(s, &g, ids, err); /* ids < nids: greppable docs' by the map */
	}
	if (!rc && prev_end != s->gram_lists_len)
		rc = xfile_corrupt(m, (size_t)prev_end, err, "trigram lists have unowned bytes");
	free(ids);
	return rc;
}
