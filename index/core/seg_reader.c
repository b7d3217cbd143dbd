/*
 * seg_reader.c: one immutable segment, mapped.  Owns `struct seg` (see
 * seg-int.h): opening and validating the six files (grams.c checks the
 * .grams one), the term dictionary
 * (lookup and prefix iteration over front-coded blocks), the doc table and
 * the doc store, and the structural part of the full check (seg_check.c adds
 * the postings).
 *
 * Invariants: after seg_open every header, footer and sparse index has been
 * bounds-checked, so later calls only check what they read inside one block
 * or record; nothing is trusted beyond that and a bad byte becomes
 * XIHU_ECORRUPT naming the file and offset.  A seg is immutable once open;
 * any number of threads may read it.
 *
 * Callers: index.c (open/close/stats), search.c (lookup, prefix, docs),
 * postings.c (through seg-int.h).  Layout: docs/FORMAT.md, seg_writer.c.
 */
#include <libdeflate.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/seg-int.h"

static const char *const seg_ext[SEG_NFILES] = {"terms", "post", "pos", "docs", "store", "grams"};
static const char seg_kind[SEG_NFILES][4] = {{'T', 'E', 'R', 'M'}, {'P', 'O', 'S', 'T'}, {'P', 'O', 'S', 'N'},
                                             {'D', 'O', 'C', 'S'}, {'S', 'T', 'O', 'R'}, {'G', 'R', 'A', 'M'}};

#define KEY_MAX (XIHU_MAX_TERM + 1)

/* ---- opening ------------------------------------------------------------- */

/* The first 8 bytes of a key, big-endian, zero-padded: ordered as the keys
 * are, up to ties (terms hold no NUL byte). */
static uint64_t key8(const uint8_t *k, uint32_t len)
{
	uint64_t v = 0;
	for (uint32_t i = 0; i < 8; i++)
		v = v << 8 | (i < len ? k[i] : 0);
	return v;
}

/* Block b's first key (stored whole: shared 0); 0 or XIHU_ECORRUPT. */
static int block_key(const seg *s, uint64_t b, const uint8_t **key, uint32_t *len, xihu_err *err)
{
	const xmap *m = &s->f[SEG_TERMS];
	uint64_t boff = get_u64le(s->tindex + b * SEG_TERMS_INDEX_ENTRY);
	uint64_t bend = b + 1 < s->nblocks ? get_u64le(s->tindex + (b + 1) * SEG_TERMS_INDEX_ENTRY) : s->index_off;
	const uint8_t *p = m->data + boff, *end = m->data + bend;
	uint64_t shared, suf;
	if (!get_varint(&p, end, &shared) || !get_varint(&p, end, &suf) || shared != 0 || suf == 0 ||
	    suf > KEY_MAX || (uint64_t)(end - p) < suf)
		return xfile_corrupt(m, boff, err, "dictionary block key out of range");
	*key = p;
	*len = (uint32_t)suf;
	return XIHU_OK;
}

static int open_terms(seg *s, xihu_err *err)
{
	const xmap *m = &s->f[SEG_TERMS];
	if (m->len < SEG_TERMS_FOOTER)
		return xfile_corrupt(m, 0, err, "dictionary footer missing");
	const uint8_t *f = m->data + m->len - SEG_TERMS_FOOTER;
	size_t foff = m->len - SEG_TERMS_FOOTER;
	s->nterms = get_u64le(f);
	s->nblocks = get_u64le(f + 8);
	s->index_off = get_u64le(f + 16);
	uint32_t ndocs = get_u32le(f + 24);
	if (ndocs != s->ndocs)
		return xfile_corrupt(m, foff + 24, err, "document count differs from the doc table");
	uint64_t kf_off = get_u64le(f + 32);
	s->kf_lines = get_u64le(f + 40);
	if (s->index_off > foff || s->nblocks > (foff - s->index_off) / SEG_TERMS_INDEX_ENTRY)
		return xfile_corrupt(m, foff, err, "dictionary index does not fit the file");
	uint64_t index_end = s->index_off + s->nblocks * SEG_TERMS_INDEX_ENTRY;
	/* the key filter: after the index and its padding to a 64-byte file
	 * offset, exactly up to the footer, as many lines as the keys need */
	if (kf_off < index_end || kf_off - index_end >= KF_LINE || (m->data_off + kf_off) % KF_LINE ||
	    s->kf_lines != KF_LINES(s->nterms) || s->kf_lines > UINT32_MAX ||
	    s->kf_lines > (foff - kf_off) / KF_LINE || kf_off + s->kf_lines * KF_LINE != foff)
		return xfile_corrupt(m, foff + 32, err, "dictionary key filter does not fit the file");
	s->kf = m->data + kf_off;
	if ((s->nblocks == 0) != (s->nterms == 0) || s->nblocks > s->nterms)
		return xfile_corrupt(m, foff, err, "dictionary term and block counts disagree");
	s->tindex = m->data + s->index_off;
	if (s->nblocks && !(s->fence = malloc(s->nblocks * sizeof *s->fence)))
		return xihu_err_set(err, XIHU_ENOMEM, "%s: out of memory", m->path);
	uint64_t prev_block = 0, prev_post = 0, prev_pos = 0;
	for (uint64_t b = 0; b < s->nblocks; b++) {
		const uint8_t *e = s->tindex + b * SEG_TERMS_INDEX_ENTRY;
		uint64_t boff = get_u64le(e), post = get_u64le(e + 8), pos = get_u64le(e + 16);
		if ((b == 0 ? boff != 0 : boff <= prev_block) || boff >= s->index_off || post < prev_post ||
		    post > s->f[SEG_POST].len || pos < prev_pos || pos > s->f[SEG_POS].len)
			return xfile_corrupt(m, s->index_off + b * SEG_TERMS_INDEX_ENTRY, err,
			                     "dictionary index entry out of order or out of range");
		prev_block = boff;
		prev_post = post;
		prev_pos = pos;
	}
	for (uint64_t b = 0; b < s->nblocks; b++) {
		const uint8_t *k;
		uint32_t kl;
		int rc = block_key(s, b, &k, &kl, err);
		if (rc)
			return rc;
		s->fence[b] = key8(k, kl);
	}
	return XIHU_OK;
}

static int open_docs(seg *s, xihu_err *err)
{
	const xmap *m = &s->f[SEG_DOCS];
	if (m->len < 40)
		return xfile_corrupt(m, 0, err, "doc table header missing");
	const uint8_t *d = m->data;
	s->ndocs = get_u32le(d);
	s->nfields = get_u32le(d + 4);
	s->rec_size = get_u32le(d + 8);
	uint64_t recs_off = get_u64le(d + 16), names_off = get_u64le(d + 24);
	s->names_len = get_u64le(d + 32);
	if (s->ndocs > SEG_MAX_DOCS)
		return xfile_corrupt(m, 0, err, "too many documents");
	if (s->nfields == 0 || s->nfields > XIHU_MAX_FIELDS)
		return xfile_corrupt(m, 4, err, "bad field count");
	if (s->rec_size != SEG_DOC_REC_FIXED + 4 * s->nfields)
		return xfile_corrupt(m, 8, err, "bad doc record size");
	size_t off = 40;
	if (m->len - off < 8 * (size_t)s->nfields)
		return xfile_corrupt(m, off, err, "field totals truncated");
	for (uint32_t i = 0; i < s->nfields; i++, off += 8)
		s->field_total[i] = get_u64le(d + off);
	for (uint32_t i = 0; i < s->nfields; i++) {
		if (off >= m->len || m->len - off - 1 < d[off] || d[off] == 0)
			return xfile_corrupt(m, off, err, "field name truncated");
		uint8_t l = d[off];
		s->field_names[i] = malloc((size_t)l + 1);
		if (!s->field_names[i])
			return xihu_err_set(err, XIHU_ENOMEM, "%s: out of memory", m->path);
		memcpy(s->field_names[i], d + off + 1, l);
		s->field_names[i][l] = 0;
		off += 1 + (size_t)l;
	}
	if (recs_off != off)
		return xfile_corrupt(m, 16, err, "doc records offset is wrong");
	if (names_off != recs_off + (uint64_t)s->ndocs * s->rec_size || names_off > m->len ||
	    s->names_len != m->len - names_off)
		return xfile_corrupt(m, 24, err, "doc records or names do not fit the file");
	s->recs = d + recs_off;
	s->names = d + names_off;
	return XIHU_OK;
}

static int open_store(seg *s, xihu_err *err)
{
	const xmap *m = &s->f[SEG_STORE];
	if (m->len < SEG_STORE_FOOTER)
		return xfile_corrupt(m, 0, err, "doc store footer missing");
	size_t foff = m->len - SEG_STORE_FOOTER;
	s->store_nblocks = get_u64le(m->data + foff);
	uint64_t ioff = get_u64le(m->data + foff + 8);
	if (ioff > foff || (foff - ioff) % SEG_STORE_INDEX_ENTRY != 0 ||
	    (foff - ioff) / SEG_STORE_INDEX_ENTRY != s->store_nblocks)
		return xfile_corrupt(m, foff, err, "doc store index does not fit the file");
	s->sindex = m->data + ioff;
	s->sblocks_len = ioff;
	return XIHU_OK;
}

/* ---- the doc store's block cache ------------------------------------------------
 *
 * The inflated store blocks a segment read last, so that the lines of the
 * same hits are not inflated again and again: a picker refining its query
 * as one types, a page of results and the next one, an editor asking for
 * the same word.  (A tenth of a millisecond per hit, the most of a hit's
 * lines.)  At most STORE_CACHE_SLOTS blocks and STORE_CACHE_BYTES bytes a
 * segment, least recently used out first; a block over STORE_CACHE_BLOCK
 * (one big file's) is not kept.  One mutex per segment: a lookup copies the
 * text out under it.  xihu_doc_cache(false) turns it off (benchmarks). */
#define STORE_CACHE_SLOTS 32
#define STORE_CACHE_BYTES (2u << 20)
#define STORE_CACHE_BLOCK (256u << 10)

struct store_cache {
	pthread_mutex_t mu;
	uint64_t tick, bytes;
	struct {
		uint8_t *buf; /* NULL: a free slot */
		uint64_t block, len, used;
	} slot[STORE_CACHE_SLOTS];
};

static atomic_bool doc_cache_on = true;

void xihu_doc_cache(bool on)
{
	atomic_store(&doc_cache_on, on);
}

static struct store_cache *store_cache_new(void)
{
	struct store_cache *c = calloc(1, sizeof *c);
	if (c && pthread_mutex_init(&c->mu, NULL)) {
		free(c);
		c = NULL;
	}
	return c;
}

static void store_cache_free(struct store_cache *c)
{
	if (!c)
		return;
	for (int i = 0; i < STORE_CACHE_SLOTS; i++)
		free(c->slot[i].buf);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

/* Copies [off, off + len) of block b into dst if the block is cached. */
static bool store_cache_get(struct store_cache *c, uint64_t b, uint64_t off, uint64_t len, uint8_t *dst)
{
	bool hit = false;
	pthread_mutex_lock(&c->mu);
	for (int i = 0; i < STORE_CACHE_SLOTS && !hit; i++) {
		if (c->slot[i].buf && c->slot[i].block == b && off + len <= c->slot[i].len) {
			memcpy(dst, c->slot[i].buf + off, (size_t)len);
			c->slot[i].used = ++c->tick;
			hit = true;
		}
	}
	pthread_mutex_unlock(&c->mu);
	return hit;
}

/* Keeps buf (block b, len bytes; the cache owns it now) unless it is too
 * big or another thread cached the block meanwhile; evicts to make room. */
static void store_cache_put(struct store_cache *c, uint64_t b, uint8_t *buf, uint64_t len)
{
	if (len > STORE_CACHE_BLOCK) {
		free(buf);
		return;
	}
	pthread_mutex_lock(&c->mu);
	for (int i = 0; i < STORE_CACHE_SLOTS; i++) {
		if (c->slot[i].buf && c->slot[i].block == b) {
			pthread_mutex_unlock(&c->mu);
			free(buf);
			return;
		}
	}
	for (;;) {
		int victim = -1, free_slot = -1;
		for (int i = 0; i < STORE_CACHE_SLOTS; i++) {
			if (!c->slot[i].buf)
				free_slot = free_slot < 0 ? i : free_slot;
			else if (victim < 0 || c->slot[i].used < c->slot[victim].used)
				victim = i;
		}
		if (free_slot >= 0 && c->bytes + len <= STORE_CACHE_BYTES) {
			c->slot[free_slot].buf = buf;
			c->slot[free_slot].block = b;
			c->slot[free_slot].len = len;
			c->slot[free_slot].used = ++c->tick;
			c->bytes += len;
			break;
		}
		/* full (slots or bytes): the least recently used goes */
		free(c->slot[victim].buf);
		c->bytes -= c->slot[victim].len;
		c->slot[victim].buf = NULL;
	}
	pthread_mutex_unlock(&c->mu);
}

int seg_open(const char *dir, uint64_t seg_id, uint64_t del_gen, bool verify_crc, seg **out,
             xihu_err *err)
{
	*out = NULL;
	seg *s = calloc(1, sizeof *s);
	if (!s || !(s->dir = strdup(dir))) {
		free(s);
		return xihu_err_set(err, XIHU_ENOMEM, "%s: out of memory", dir);
	}
	s->id = seg_id;
	int rc = XIHU_OK;
	if (!(s->cache = store_cache_new()))
		rc = xihu_err_set(err, XIHU_ENOMEM, "%s: out of memory", dir);
	for (int k = 0; k < SEG_NFILES && !rc; k++) {
		char name[64];
		snprintf(name, sizeof name, "%012llx.%s", (unsigned long long)seg_id, seg_ext[k]);
		rc = xfile_map(&s->f[k], dir, name, seg_kind[k], verify_crc, err);
		s->bytes += s->f[k].size;
	}
	if (!rc)
		rc = open_docs(s, err);
	if (!rc)
		rc = open_terms(s, err);
	if (!rc)
		rc = open_store(s, err);
	if (!rc)
		rc = grams_open(s, err);
	if (!rc)
		rc = deletes_open(s, del_gen, verify_crc, err);
	for (uint32_t f = 0; !rc && f < s->nfields && f < XIHU_MAX_FIELDS; f++) {
		if (!s->field_total[f])
			continue;
		if (!(s->flen[f] = malloc(((size_t)s->ndocs + 1) * sizeof *s->flen[f]))) {
			rc = xihu_err_set(err, XIHU_ENOMEM, "%s: out of memory", dir);
			break;
		}
		const uint8_t *r = s->recs + SEG_DOC_REC_FIXED + 4 * (size_t)f;
		for (uint32_t d = 0; d < s->ndocs; d++, r += s->rec_size)
			s->flen[f][d] = get_u32le(r);
	}
	if (rc) {
		seg_close(s);
		return rc;
	}
	*out = s;
	return XIHU_OK;
}

void seg_release_pages(const seg *s)
{
	for (int k = 0; k < SEG_NFILES; k++)
		xfile_release(&s->f[k]);
	xfile_release(&s->del);
}

void seg_close(seg *s)
{
	if (!s)
		return;
	for (int k = 0; k < SEG_NFILES; k++)
		xfile_unmap(&s->f[k]);
	xfile_unmap(&s->del);
	for (uint32_t i = 0; i < XIHU_MAX_FIELDS; i++) {
		free(s->field_names[i]);
		free(s->flen[i]);
	}
	free(s->fence);
	free(s->gram_fence);
	free(s->always);
	free(s->dir);
	store_cache_free(s->cache);
	free(s);
}

uint64_t seg_id(const seg *s) { return s->id; }
uint32_t seg_ndocs(const seg *s) { return s->ndocs; }
uint64_t seg_nterms(const seg *s) { return s->nterms; }
uint64_t seg_bytes(const seg *s) { return s->bytes; }
uint32_t seg_nfields(const seg *s) { return s->nfields; }

const char *seg_field_name(const seg *s, uint32_t field)
{
	return field < s->nfields ? s->field_names[field] : NULL;
}

uint64_t seg_field_total(const seg *s, uint32_t field)
{
	return field < s->nfields ? s->field_total[field] : 0;
}

/* ---- the dictionary -------------------------------------------------------- */

/* A cursor over dictionary entries; `off` is where the next entry starts. */
typedef struct dcur {
	uint64_t block; /* block of the next entry */
	uint64_t off, end;
	uint64_t post_off, pos_off; /* of the next entry */
	uint32_t klen;
	uint8_t key[KEY_MAX];
} dcur;

static void dcur_block(const seg *s, dcur *c, uint64_t b)
{
	const uint8_t *e = s->tindex + b * SEG_TERMS_INDEX_ENTRY;
	c->block = b;
	c->off = get_u64le(e);
	c->end = b + 1 < s->nblocks ? get_u64le(e + SEG_TERMS_INDEX_ENTRY) : s->index_off;
	c->post_off = get_u64le(e + 8);
	c->pos_off = get_u64le(e + 16);
	c->klen = 0;
}

/* Decodes the next entry: 1 and c->key/out filled, 0 at the end, <0 corrupt.
 * pos_len (if non-NULL) gets the entry's positions length. */
static int dcur_next(const seg *s, dcur *c, seg_term *out, uint64_t *pos_len, xihu_err *err)
{
	const xmap *m = &s->f[SEG_TERMS];
	if (c->off >= c->end) {
		if (c->block + 1 >= s->nblocks)
			return 0;
		dcur_block(s, c, c->block + 1);
	}
	const uint8_t *p = m->data + c->off, *end = m->data + c->end;
	uint64_t entry_off = c->off;
	bool first = c->off == get_u64le(s->tindex + c->block * SEG_TERMS_INDEX_ENTRY);
	uint64_t shared, suf, df, cfx, mtf, plen, qlen;
	if (!get_varint(&p, end, &shared) || !get_varint(&p, end, &suf))
		return -xfile_corrupt(m, entry_off, err, "dictionary entry truncated");
	if ((first && shared != 0) || shared > c->klen || suf == 0 || suf > KEY_MAX - shared ||
	    (uint64_t)(end - p) < suf)
		return -xfile_corrupt(m, entry_off, err, "dictionary key out of range");
	if (!first) {
		/* keys strictly increase within a block */
		if (shared < c->klen && p[0] <= c->key[shared])
			return -xfile_corrupt(m, entry_off, err, "dictionary keys out of order");
	}
	memcpy(c->key + shared, p, suf);
	c->klen = (uint32_t)(shared + suf);
	p += suf;
	if (c->klen < 2)
		return -xfile_corrupt(m, entry_off, err, "empty term in dictionary");
	if (!get_varint(&p, end, &df) || !get_varint(&p, end, &cfx) || !get_varint(&p, end, &mtf) ||
	    !get_varint(&p, end, &plen) || !get_varint(&p, end, &qlen))
		return -xfile_corrupt(m, entry_off, err, "dictionary entry truncated");
	if (df == 0 || df > s->ndocs || mtf >= UINT32_MAX || cfx > UINT64_MAX - df || mtf + 1 > cfx + df ||
	    df + mtf > cfx + df)
		return -xfile_corrupt(m, entry_off, err, "dictionary statistics out of range");
	if (plen == 0 || plen > s->f[SEG_POST].len - c->post_off || qlen > s->f[SEG_POS].len - c->pos_off)
		return -xfile_corrupt(m, entry_off, err, "postings range out of the file");
	if (out) {
		out->df = (uint32_t)df;
		out->cf = cfx + df;
		out->max_tf = (uint32_t)mtf + 1;
		out->post_off = c->post_off;
		out->post_len = plen;
		out->pos_off = c->pos_off;
	}
	if (pos_len)
		*pos_len = qlen;
	c->post_off += plen;
	c->pos_off += qlen;
	c->off = (uint64_t)(p - m->data);
	return 1;
}

static int key_cmp(const uint8_t *a, uint32_t al, const uint8_t *b, uint32_t bl)
{
	uint32_t n = al < bl ? al : bl;
	int c = memcmp(a, b, n);
	return c ? c : (al > bl) - (al < bl);
}

/* Positions c before the first entry whose key is >= key; false if none. */
static int dcur_seek(const seg *s, dcur *c, const uint8_t *key, uint32_t klen, xihu_err *err)
{
	/* the last block whose first key <= key: first over the fences (the
	 * keys' first 8 bytes), then, among blocks whose fence ties with the
	 * key's, by the keys in the file */
	uint64_t k8 = key8(key, klen), lo = 0, hi = s->nblocks;
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (s->fence[mid] <= k8)
			lo = mid;
		else
			hi = mid;
	}
	if (s->fence[lo] == k8 && lo > 0) {
		uint64_t a = 0, z = lo; /* the first block whose fence is k8 */
		while (a < z) {
			uint64_t mid = a + (z - a) / 2;
			if (s->fence[mid] < k8)
				a = mid + 1;
			else
				z = mid;
		}
		hi = lo + 1;
		lo = a ? a - 1 : 0;
	} else {
		dcur_block(s, c, lo);
		return 0;
	}
	/* the exact search over [lo, hi) */
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;
		const uint8_t *k;
		uint32_t kl;
		int rc = block_key(s, mid, &k, &kl, err);
		if (rc)
			return rc;
		if (key_cmp(k, kl, key, klen) <= 0)
			lo = mid;
		else
			hi = mid;
	}
	dcur_block(s, c, lo);
	return 0;
}

/*
 * From where dcur_seek put c, steps over the block's entries before key,
 * reading only what the next one needs (its key and the two lengths that
 * move post_off and pos_off), and stops with c before the first entry not
 * smaller: 1 with *cmp its order against key (0 equal, 1 greater), 0 when
 * the block ended first (the next block starts above key), or -code.
 * The entry stopped at is decoded and checked in full by dcur_next.
 */
static int dcur_find_ge(const seg *s, dcur *c, const uint8_t *key, uint32_t klen_want, int *cmp_out,
                        xihu_err *err)
{
	const xmap *m = &s->f[SEG_TERMS];
	const uint8_t *base = m->data, *end = base + c->end;
	for (;;) {
		if (c->off >= c->end)
			return 0;
		const uint8_t *p = base + c->off;
		uint64_t shared, suf, v, plen, qlen;
		if (!get_varint(&p, end, &shared) || !get_varint(&p, end, &suf) || shared > c->klen || suf == 0 ||
		    suf > KEY_MAX - shared || (uint64_t)(end - p) < suf)
			return -xfile_corrupt(m, c->off, err, "dictionary key out of range");
		uint32_t klen = (uint32_t)(shared + suf);
		int cmp = memcmp(c->key, key, shared < klen_want ? shared : klen_want);
		if (cmp == 0) {
			uint32_t n = klen < klen_want ? klen : klen_want;
			cmp = shared < n ? memcmp(p, key + shared, n - shared) : 0;
			if (cmp == 0)
				cmp = (klen > klen_want) - (klen < klen_want);
		}
		if (cmp >= 0) {
			*cmp_out = cmp > 0;
			return 1;
		}
		memcpy(c->key + shared, p, suf);
		c->klen = klen;
		p += suf;
		if (!get_varint(&p, end, &v) || !get_varint(&p, end, &v) || !get_varint(&p, end, &v) ||
		    !get_varint(&p, end, &plen) || !get_varint(&p, end, &qlen))
			return -xfile_corrupt(m, c->off, err, "dictionary entry truncated");
		c->post_off += plen;
		c->pos_off += qlen;
		c->off = (uint64_t)(p - base);
	}
}

int seg_lookup(const seg *s, uint32_t field, const char *term, uint32_t len, seg_term *out, xihu_err *err)
{
	if (s->nterms == 0 || len == 0 || len > XIHU_MAX_TERM || field > 255)
		return 0;
	uint8_t key[KEY_MAX];
	key[0] = (uint8_t)field;
	memcpy(key + 1, term, len);
	if (!kf_test(s->kf, s->kf_lines, kf_hash(key, len + 1)))
		return 0; /* not in this segment: most lookups end here */
	dcur c;
	int rc = dcur_seek(s, &c, key, len + 1, err);
	if (rc)
		return -rc;
	int cmp;
	rc = dcur_find_ge(s, &c, key, len + 1, &cmp, err);
	if (rc <= 0 || cmp)
		return rc < 0 ? rc : 0; /* the key would have been in the sought block */
	seg_term t;
	rc = dcur_next(s, &c, &t, NULL, err);
	if (rc <= 0)
		return rc < 0 ? -XIHU_ECORRUPT : 0;
	*out = t;
	return 1;
}

/* The prefix iterator keeps a dcur in it->state and it->term:
 * state[0] block, [1] off, [2] end, [3] post_off, [4] pos_off,
 * [5] klen, [6] field byte of the key | 0x100 when done. */
static void iter_save(seg_term_iter *it, const dcur *c)
{
	it->state[0] = c->block;
	it->state[1] = c->off;
	it->state[2] = c->end;
	it->state[3] = c->post_off;
	it->state[4] = c->pos_off;
	it->state[5] = c->klen;
	it->state[6] = c->klen ? c->key[0] : 0;
	if (c->klen > 1)
		memcpy(it->term, c->key + 1, c->klen - 1);
	it->term[c->klen > 1 ? c->klen - 1 : 0] = 0;
}

static void iter_load(const seg_term_iter *it, dcur *c)
{
	c->block = it->state[0];
	c->off = it->state[1];
	c->end = it->state[2];
	c->post_off = it->state[3];
	c->pos_off = it->state[4];
	c->klen = (uint32_t)it->state[5];
	c->key[0] = (uint8_t)it->state[6];
	if (c->klen > 1)
		memcpy(c->key + 1, it->term, c->klen - 1);
}

/* The iterator at the first key >= field+from, keeping terms that start
 * with prefix (plen bytes, from starts with it). */
static int iter_seek(seg_term_iter *it, const seg *s, uint32_t field, const char *prefix, uint32_t plen,
                     const char *from, uint32_t len, xihu_err *err)
{
	memset(it, 0, sizeof *it);
	it->s = s;
	it->field = field;
	if (len > XIHU_MAX_TERM || plen > len || field > 255) {
		it->state[6] = 0x100;
		return XIHU_OK;
	}
	memcpy(it->prefix, prefix, plen);
	it->prefix_len = plen;
	if (s->nterms == 0) {
		it->state[6] = 0x100;
		return XIHU_OK;
	}
	uint8_t key[KEY_MAX];
	key[0] = (uint8_t)field;
	memcpy(key + 1, from, len);
	dcur c;
	int rc = dcur_seek(s, &c, key, len + 1, err);
	if (rc)
		return rc;
	/* the cursor before the first key >= field+from (in this block, or the
	 * next one's first when this block ends before it) */
	int cmp;
	rc = dcur_find_ge(s, &c, key, len + 1, &cmp, err);
	if (rc < 0)
		return -rc;
	iter_save(it, &c);
	return XIHU_OK;
}

int seg_prefix_init(seg_term_iter *it, const seg *s, uint32_t field, const char *prefix, uint32_t len,
                    xihu_err *err)
{
	return iter_seek(it, s, field, prefix, len, prefix, len, err);
}

int seg_terms_from(seg_term_iter *it, const seg *s, uint32_t field, const char *from, uint32_t len,
                   xihu_err *err)
{
	return iter_seek(it, s, field, "", 0, from, len, err);
}

int seg_prefix_next(seg_term_iter *it, const char **term, uint32_t *len, seg_term *out, xihu_err *err)
{
	if (it->state[6] & 0x100)
		return 0;
	dcur c;
	iter_load(it, &c);
	seg_term t;
	int rc = dcur_next(it->s, &c, &t, NULL, err);
	if (rc <= 0) {
		it->state[6] = 0x100;
		return rc < 0 ? -XIHU_ECORRUPT : 0;
	}
	if (c.key[0] != it->field || c.klen - 1 < it->prefix_len ||
	    memcmp(c.key + 1, it->prefix, it->prefix_len) != 0) {
		it->state[6] = 0x100;
		return 0;
	}
	iter_save(it, &c);
	*term = it->term;
	*len = c.klen - 1;
	if (out)
		*out = t;
	return 1;
}

/* ---- documents ------------------------------------------------------------ */

static int doc_corrupt(const seg *s, uint32_t docid, size_t field_off, xihu_err *err, const char *what)
{
	const xmap *m = &s->f[SEG_DOCS];
	return xfile_corrupt(m, (size_t)(s->recs - m->data) + (size_t)docid * s->rec_size + field_off, err, what);
}

int seg_doc_get(const seg *s, uint32_t docid, seg_doc *out, xihu_err *err)
{
	if (docid >= s->ndocs)
		return xihu_err_set(err, XIHU_EINVAL, "%s: doc %u out of range (%u docs)", s->f[SEG_DOCS].path, docid,
		                    s->ndocs);
	const uint8_t *r = s->recs + (size_t)docid * s->rec_size;
	uint64_t noff = get_u64le(r);
	uint32_t nlen = get_u32le(r + 8);
	if (noff > s->names_len || nlen > s->names_len - noff)
		return doc_corrupt(s, docid, 0, err, "document name out of range");
	out->name = (const char *)s->names + noff;
	out->name_len = nlen;
	uint32_t flags = get_u32le(r + 12);
	out->record = flags & SEG_DOC_RECORD;
	out->greppable = flags & SEG_DOC_GREPPABLE;
	out->always = flags & SEG_DOC_ALWAYS;
	out->mtime_ns = (int64_t)get_u64le(r + 16);
	out->size = get_u64le(r + 24);
	out->gram_ids = 0;
	if (s->gram_first) { /* after grams_open */
		uint32_t a = seg_gram_first(s, docid), b = seg_gram_first(s, docid + 1);
		const xmap *m = &s->f[SEG_GRAMS];
		if (b < a)
			return xfile_corrupt(m, (size_t)(s->gram_first - m->data) + 4 * ((size_t)docid + 1), err,
			                     "the docs' first gram ids out of order");
		out->gram_ids = b - a;
	}
	return XIHU_OK;
}

uint32_t seg_doc_field_len(const seg *s, uint32_t docid, uint32_t field)
{
	if (field < XIHU_MAX_FIELDS)
		return s->flen[field] ? s->flen[field][docid] : 0;
	return get_u32le(s->recs + (size_t)docid * s->rec_size + SEG_DOC_REC_FIXED + 4 * (size_t)field);
}

/* Inflates store block `block`, rlen bytes by its index entry, into buf.
 * libdeflate reads the zlib stream the writer made (with zlib) about twice
 * as fast as zlib's inflate here, and a hit's lines are mostly this; it
 * takes whole buffers, which a block always is.  0 or XIHU_ECORRUPT. */
static int store_inflate(const seg *s, uint64_t block, uint8_t *buf, uint64_t rlen, xihu_err *err)
{
	const xmap *m = &s->f[SEG_STORE];
	const uint8_t *e = s->sindex + block * SEG_STORE_INDEX_ENTRY;
	uint64_t off = get_u64le(e), clen = get_u64le(e + 8);
	struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
	if (!d)
		return xihu_err_set(err, XIHU_ENOMEM, "%s: out of memory (libdeflate)", m->path);
	size_t in = 0, got = 0;
	enum libdeflate_result r =
	        libdeflate_zlib_decompress_ex(d, m->data + off, (size_t)clen, buf, (size_t)rlen, &in, &got);
	libdeflate_free_decompressor(d);
	switch (r) {
	case LIBDEFLATE_SUCCESS:
		if (got != rlen)
			return xfile_corrupt(m, off, err, "doc store block shorter than its index says");
		if (in != clen)
			return xfile_corrupt(m, off, err, "doc store block has trailing bytes");
		return XIHU_OK;
	case LIBDEFLATE_INSUFFICIENT_SPACE:
		return xfile_corrupt(m, off, err, "doc store block longer than its index says");
	default:
		return xfile_corrupt(m, off, err, "doc store block does not decompress (bad zlib data)");
	}
}

/* Checks a store index entry; 0 or XIHU_ECORRUPT. */
static int store_entry_ok(const seg *s, uint64_t block, xihu_err *err)
{
	const xmap *m = &s->f[SEG_STORE];
	const uint8_t *e = s->sindex + block * SEG_STORE_INDEX_ENTRY;
	uint64_t off = get_u64le(e), clen = get_u64le(e + 8), rlen = get_u64le(e + 16);
	size_t eoff = (size_t)(e - m->data);
	if (off > s->sblocks_len || clen > s->sblocks_len - off || clen == 0)
		return xfile_corrupt(m, eoff, err, "doc store block out of range");
	/* deflate cannot expand more than ~1032:1; a bigger claim is damage */
	if (rlen / 1032 > clen + 64)
		return xfile_corrupt(m, eoff, err, "doc store block length implausible");
	return XIHU_OK;
}

int seg_doc_text(const seg *s, uint32_t docid, char **text, size_t *len, xihu_err *err)
{
	*text = NULL;
	*len = 0;
	if (docid >= s->ndocs)
		return xihu_err_set(err, XIHU_EINVAL, "%s: doc %u out of range (%u docs)", s->f[SEG_DOCS].path, docid,
		                    s->ndocs);
	const uint8_t *r = s->recs + (size_t)docid * s->rec_size;
	uint32_t block = get_u32le(r + 32), off = get_u32le(r + 36);
	uint64_t tlen = get_u64le(r + 40);
	if (tlen == 0) {
		*text = malloc(1);
		if (!*text)
			return xihu_err_set(err, XIHU_ENOMEM, "out of memory");
		**text = 0;
		return XIHU_OK;
	}
	if (block >= s->store_nblocks)
		return doc_corrupt(s, docid, 32, err, "doc store block out of range");
	int rc = store_entry_ok(s, block, err);
	if (rc)
		return rc;
	uint64_t rlen = get_u64le(s->sindex + (uint64_t)block * SEG_STORE_INDEX_ENTRY + 16);
	if (off > rlen || tlen > rlen - off || tlen >= SIZE_MAX)
		return doc_corrupt(s, docid, 36, err, "document text out of its store block");
	uint8_t *out = malloc((size_t)tlen + 1);
	if (!out)
		return xihu_err_set(err, XIHU_ENOMEM, "%s: out of memory (%llu bytes)", s->f[SEG_STORE].path,
		                    (unsigned long long)tlen);
	bool cache = atomic_load(&doc_cache_on);
	if (!cache || !store_cache_get(s->cache, block, off, tlen, out)) {
		uint8_t *buf = malloc((size_t)rlen + 1);
		if (!buf) {
			free(out);
			return xihu_err_set(err, XIHU_ENOMEM, "%s: out of memory (%llu bytes)", s->f[SEG_STORE].path,
			                    (unsigned long long)rlen);
		}
		if ((rc = store_inflate(s, block, buf, rlen, err))) {
			free(buf);
			free(out);
			return rc;
		}
		memcpy(out, buf + off, (size_t)tlen);
		if (cache)
			store_cache_put(s->cache, block, buf, rlen);
		else
			free(buf);
	}
	out[tlen] = 0;
	*text = (char *)out;
	*len = (size_t)tlen;
	return XIHU_OK;
}

void seg_doc_loc(const seg *s, uint32_t docid, uint32_t *block, uint32_t *off, uint64_t *len)
{
	const uint8_t *r = s->recs + (size_t)docid * s->rec_size;
	*block = get_u32le(r + 32);
	*off = get_u32le(r + 36);
	*len = get_u64le(r + 40);
}

uint64_t seg_store_nblocks(const seg *s)
{
	return s->store_nblocks;
}

int seg_store_block(const seg *s, uint64_t b, const uint8_t **comp, uint64_t *clen, uint64_t *rlen,
                    xihu_err *err)
{
	if (b >= s->store_nblocks)
		return xfile_corrupt(&s->f[SEG_STORE], 0, err, "doc store block out of range");
	int rc = store_entry_ok(s, b, err);
	if (rc)
		return rc;
	const uint8_t *e = s->sindex + b * SEG_STORE_INDEX_ENTRY;
	*comp = s->f[SEG_STORE].data + get_u64le(e);
	*clen = get_u64le(e + 8);
	*rlen = get_u64le(e + 16);
	return XIHU_OK;
}

int seg_store_inflate(const seg *s, uint64_t b, uint8_t *buf, xihu_err *err)
{
	const uint8_t *comp;
	uint64_t clen, rlen;
	int rc = seg_store_block(s, b, &comp, &clen, &rlen, err);
	return rc ? rc : store_inflate(s, b, buf, rlen, err);
}

/* ---- the full check --------------------------------------------------------- */

static int check_docs(const seg *s, xihu_err *err)
{
	uint64_t totals[XIHU_MAX_FIELDS] = {0};
	for (uint32_t d = 0; d < s->ndocs; d++) {
		seg_doc doc;
		int rc = seg_doc_get(s, d, &doc, err);
		if (rc)
			return rc;
		const uint8_t *r = s->recs + (size_t)d * s->rec_size;
		uint32_t flags = get_u32le(r + 12);
		if (flags & ~(SEG_DOC_RECORD | SEG_DOC_GREPPABLE | SEG_DOC_ALWAYS))
			return doc_corrupt(s, d, 12, err, "unknown document flags");
		if ((flags & SEG_DOC_GREPPABLE) && (flags & SEG_DOC_ALWAYS))
			return doc_corrupt(s, d, 12, err, "document both greppable and always a candidate");
		uint32_t block = get_u32le(r + 32), off = get_u32le(r + 36);
		uint64_t tlen = get_u64le(r + 40);
		if (tlen > 0) {
			if (block >= s->store_nblocks)
				return doc_corrupt(s, d, 32, err, "doc store block out of range");
			uint64_t rlen = get_u64le(s->sindex + (uint64_t)block * SEG_STORE_INDEX_ENTRY + 16);
			if (off > rlen || tlen > rlen - off)
				return doc_corrupt(s, d, 36, err, "document text out of its store block");
		}
		for (uint32_t f = 0; f < s->nfields; f++)
			totals[f] += get_u32le(r + SEG_DOC_REC_FIXED + 4 * (size_t)f); /* the records, not the copy */
	}
	for (uint32_t f = 0; f < s->nfields; f++)
		if (totals[f] != s->field_total[f])
			return xfile_corrupt(&s->f[SEG_DOCS], 40 + 8 * (size_t)f, err,
			                     "field total differs from the sum of field lengths");
	return XIHU_OK;
}

static int check_store(const seg *s, xihu_err *err)
{
	uint64_t prev_end = 0;
	for (uint64_t b = 0; b < s->store_nblocks; b++) {
		int rc = store_entry_ok(s, b, err);
		if (rc)
			return rc;
		const uint8_t *e = s->sindex + b * SEG_STORE_INDEX_ENTRY;
		uint64_t off = get_u64le(e), clen = get_u64le(e + 8), rlen = get_u64le(e + 16);
		if (off != prev_end)
			return xfile_corrupt(&s->f[SEG_STORE], (size_t)(e - s->f[SEG_STORE].data), err,
			                     "doc store blocks not contiguous");
		prev_end = off + clen;
		uint8_t *buf = malloc((size_t)rlen + 1);
		if (!buf)
			return xihu_err_set(err, XIHU_ENOMEM, "out of memory");
		rc = store_inflate(s, b, buf, rlen, err);
		free(buf);
		if (rc)
			return rc;
	}
	if (prev_end != s->sblocks_len)
		return xfile_corrupt(&s->f[SEG_STORE], (size_t)prev_end, err, "unindexed bytes in the doc store");
	return XIHU_OK;
}

int seg_check_structure(const seg *s, seg_term_check_fn check_term, xihu_err *err)
{
	const xmap *tm = &s->f[SEG_TERMS];
	int rc = check_docs(s, err);
	if (!rc)
		rc = check_store(s, err);
	uint64_t count = 0;
	uint8_t prev[KEY_MAX];
	uint32_t prev_len = 0;
	dcur c;
	memset(&c, 0, sizeof c);
	if (!rc && s->nblocks > 0) {
		dcur_block(s, &c, 0);
		uint64_t block = 0;
		for (;;) {
			seg_term t;
			uint64_t pos_len;
			uint64_t entry_off = c.off;
			int r = dcur_next(s, &c, &t, &pos_len, err);
			if (r < 0) {
				rc = XIHU_ECORRUPT;
				break;
			}
			if (r == 0)
				break;
			if (c.block != block) {
				/* a new block: its index entry must continue the running offsets */
				block = c.block;
				entry_off = get_u64le(s->tindex + block * SEG_TERMS_INDEX_ENTRY);
			}
			if (count > 0 && key_cmp(prev, prev_len, c.key, c.klen) >= 0) {
				rc = xfile_corrupt(tm, (size_t)entry_off, err, "dictionary keys out of order");
				break;
			}
			if ((c.key[0] & ~XIHU_PAIR_FIELD) >= s->nfields) {
				rc = xfile_corrupt(tm, (size_t)entry_off, err, "term of an unknown field");
				break;
			}
			if (!kf_test(s->kf, s->kf_lines, kf_hash(c.key, c.klen))) {
				rc = xfile_corrupt(tm, (size_t)(s->kf - tm->data), err,
				                   "dictionary key filter misses a key of the dictionary");
				break;
			}
			memcpy(prev, c.key, c.klen);
			prev_len = c.klen;
			count++;
			rc = check_term(s, c.key[0], &t, pos_len, err);
			if (rc)
				break;
			/* the next block's recorded offsets must follow this entry */
			if (c.off == c.end && c.block + 1 < s->nblocks) {
				const uint8_t *e = s->tindex + (c.block + 1) * SEG_TERMS_INDEX_ENTRY;
				if (get_u64le(e + 8) != c.post_off || get_u64le(e + 16) != c.pos_off) {
					rc = xfile_corrupt(tm, (size_t)(e - tm->data), err,
					                   "dictionary index offsets do not follow the entries");
					break;
				}
			}
		}
	}
	if (!rc && count != s->nterms)
		rc = xfile_corrupt(tm, tm->len - SEG_TERMS_FOOTER, err, "term count differs from the entries");
	if (!rc && s->nblocks > 0 && (c.post_off != s->f[SEG_POST].len || c.pos_off != s->f[SEG_POS].len))
		rc = xfile_corrupt(tm, tm->len - SEG_TERMS_FOOTER, err, "postings or positions have unowned bytes");
	if (!rc && s->nblocks == 0 && (s->f[SEG_POST].len || s->f[SEG_POS].len))
		rc = xfile_corrupt(tm, 0, err, "postings without terms");
	return rc;
}
