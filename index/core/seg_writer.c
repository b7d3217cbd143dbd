/*
 * seg_writer.c: the in-memory inverter that builds one immutable segment.
 *
 * Owns: the term hash table, the pool of term entries and their postings in
 * RAM, and the doc being added.  The bytes of the five files are
 * seg_out.c's (the layout is at its top and in docs/FORMAT.md): documents go
 * to it as they arrive (the doc store is streamed), the terms in key order at
 * finish.  Callers: build.c (through the API in index-int.h) and the unit
 * tests.
 *
 * Invariants
 *  - Doc ids are dense from 0, < SEG_MAX_DOCS; positions <= XIHU_MAX_POS
 *    and, per (field, term, doc), stored strictly increasing: a position not
 *    above the term's last one in the doc is stored as last + 1.
 *  - A term key is one field byte followed by the term's bytes (1..64).
 *  - Errors are sticky in w->rc: add_token has no return value, the next
 *    end_doc or finish reports it.
 *  - RAM per term: one entry in the pool (a 16-byte wterm, its key, and the
 *    first slice of its postings right behind the key, to the next multiple
 *    of 8 bytes) and a slot of 8 bytes in a table at most 2/3 full.  Most
 *    of a segment's terms are seen once (a definition's name, a number, a
 *    misspelling): their postings fit in that first slice, so their key and
 *    postings share a cache line and they cost no allocation of their own.
 *  - RAM per posting: a varint doc gap, a varint per position (pos + 1, then
 *    gaps; a pair term's positions are 0, 1, 2, ..., its tf in bytes), and
 *    a 0 before the term's next doc, appended to its slices.
 *  - The pool: blocks of POOL_BLOCK bytes, never moved or freed before
 *    finish; an entry or a slice lies in one block and starts at a multiple
 *    of POOL_UNIT, so a u32 ref (offset / POOL_UNIT) names it.  A slice's
 *    last byte is its marker, which holds its level.  A term knows where its
 *    next byte goes (cur) and how far that is from the marker (room): with
 *    no room left, it takes a slice of the next level, moves the 3 bytes
 *    before the marker into it and writes the new slice's ref over those 3
 *    bytes and the marker.  The reader walks the same levels: a slice's data
 *    ends 3 bytes before its marker, or at cur in the term's last slice.
 *  - add_token queues up to PIPE tokens: it prefetches a new token's hash
 *    slot, and half way through the queue that token's term entry, and
 *    adds the oldest; end_doc adds the rest first.  With a million terms
 *    the table and the entries do not fit in cache, and the misses were
 *    half of the inverter's time.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/seg-int.h"

#define POOL_SHIFT 21
#define POOL_BLOCK (1u << POOL_SHIFT)
#define POOL_UNIT 8u

/* The most pool a writer holds: what a u32 ref of POOL_UNITs reaches.  Past
 * seven eighths of it begin_doc says the segment is full (XIHU_ELIMIT, not
 * sticky, as for max_docs), so that only a doc that alone makes its last
 * eighth fails. */
uint64_t seg_writer_pool_max = (uint64_t)POOL_UNIT << 32;

/* The slice sizes by level after the first (level 0, in the entry), each a
 * multiple of POOL_UNIT and below 64 KiB (room); the last repeats.  They
 * grow slowly and stay small: a term's last slice is on average half empty,
 * and most terms have a few bytes of postings.  (Linux's drivers/net, fs,
 * kernel and include in one segment: 69.5 MB of postings took 116 MB of
 * pool, entries and slices, with sizes doubling from 16 to 8 KiB, 103 MB
 * with these, 102 MB at the best of the other schedules tried.) */
static const uint32_t slice_size[] = {0, 16, 24, 32, 48, 64, 96, 128, 192, 256};
#define NLEVELS (sizeof slice_size / sizeof *slice_size)

/* The level of the slice after one of level l (the writer's and the
 * reader's, which must agree). */
static inline uint32_t next_level(uint32_t l)
{
	return l + 1 < NLEVELS ? l + 1 : l;
}
/* The most bytes one token adds to its term's postings: a 0, a doc gap and
 * a position of 5 bytes each. */
#define POST_MAX 11
/* Room for this many posting bytes in a new term's first slice (a doc gap
 * and a position of two bytes each fit), besides its marker. */
#define FIRST_SLICE 5

/* One distinct term: the head of its entry in the pool. */
typedef struct wterm {
	uint32_t last_doc; /* UINT32_MAX: none yet */
	uint32_t last_pos; /* in last_doc */
	uint32_t cur;      /* where the next posting byte goes: cur | cur_hi << 32 */
	uint16_t room;     /* bytes from cur to the slice's marker */
	uint8_t key_len;
	uint8_t cur_hi : 7;
	uint8_t pairword : 1; /* a word of the index's pair words (seg_writer_set_pairs) */
	uint8_t key[];     /* key_len bytes, then the first slice */
} wterm;

/* A hash table slot: the entry's ref (0 = empty) and the high 32 bits of
 * its key's hash, whose low bits are also the slot's home. */
typedef struct slot {
	uint32_t ref;
	uint32_t h32;
} slot;

/* Tokens waiting for their turn, oldest at head. */
typedef struct ptok ptok;
typedef struct tpipe tpipe;

/* A token between add_token and its turn: the pipeline hides the cache
 * misses of the hash table (a slot, then the term) behind later tokens. */
#define PIPE 16
struct ptok {
	uint32_t h32; /* the high 32 bits of the key's hash */
	uint32_t pos, klen;
	bool counts; /* in the field's length (not an overlap) */
	uint8_t key[XIHU_MAX_TERM + 1];
};

struct tpipe {
	ptok q[PIPE];
	uint32_t head, count;
};

/* Pair words kept at one position, to pair with the next position's. */
#define PAIR_GROUP 4

struct seg_writer {
	uint32_t nfields;
	char *field_names[XIHU_MAX_FIELDS];
	int rc;
	xihu_err *err;
	xihu_err ownerr;
	bool in_doc, finished;
	uint32_t max_docs;
	uint32_t ndocs;
	seg_out *out; /* the files */
	gram_acc *grams; /* the raw bytes' trigrams (gram_acc.c) */

	/* terms: the table of their refs, and the pool of their entries and
	 * slices, in blocks; [pool_end, pool_lim) is free in the last block */
	slot *table;
	uint32_t table_mask;
	uint32_t nterms;
	uint8_t **blocks;
	uint32_t nblocks, blocks_cap;
	uint64_t pool_end, pool_lim;

	/* tokens waiting while their hash slot and term are prefetched: the
	 * words, and the pair terms their turn makes (add_pairs) */
	tpipe words, pairs;

	/* pair terms: the index's pair words (NULL: none), and the terms (by
	 * ref) of the pair words at the last two positions of the field being
	 * added */
	seg_pairword_fn is_pairword;
	const void *pair_ctx;
	uint32_t pr_field, pr_pos;
	uint32_t ncur, nprev;
	uint32_t cur[PAIR_GROUP], prev[PAIR_GROUP];

	/* the doc being added */
	uint32_t field_len[XIHU_MAX_FIELDS];
	seg_doc pending;   /* name points into pending_name */
	xbuf pending_name;
	uint32_t pending_block, pending_off;
	uint64_t pending_len;
};

/* ---- small helpers ------------------------------------------------------- */

static int w_set(seg_writer *w, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int w_set(seg_writer *w, int code, const char *fmt, ...)
{
	if (w->rc)
		return w->rc;
	va_list ap;
	va_start(ap, fmt);
	xihu_err_setv(w->err, code, fmt, ap);
	va_end(ap);
	w->rc = code;
	return code;
}

static inline uint8_t *put_varint(uint8_t *o, uint64_t v)
{
	while (v >= 0x80) {
		*o++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*o++ = (uint8_t)v;
	return o;
}

/* A fast 64-bit hash of a key (its field byte and n > 0 bytes of term at
 * p): 8 bytes at a time, multiply-mix.  The bytes are read where the
 * caller has them, in loads of fixed size (the last 1..8 bytes in at most
 * two): a load from bytes just stored in smaller pieces (a copy of the
 * key) waits for them. */
static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 32;
	x *= 0xd6e8feb86659fd93ull;
	x ^= x >> 32;
	x *= 0xd6e8feb86659fd93ull;
	x ^= x >> 32;
	return x;
}

static inline uint64_t hash_key(uint32_t field, const uint8_t *p, uint32_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ ((uint64_t)(n << 8 | field) * 0xff51afd7ed558ccdull);
	uint64_t v;
	for (; n > 8; p += 8, n -= 8) {
		memcpy(&v, p, 8);
		h = (h ^ v) * 0x9fb21c651e98df25ull;
		h ^= h >> 29;
	}
	if (n == 8) {
		memcpy(&v, p, 8);
	} else if (n >= 4) {
		uint32_t a, b;
		memcpy(&a, p, 4);
		memcpy(&b, p + n - 4, 4);
		v = (uint64_t)a << 32 | b;
	} else {
		v = (uint64_t)p[0] << 16 | (uint64_t)p[n / 2] << 8 | p[n - 1];
	}
	h = (h ^ v) * 0x9fb21c651e98df25ull;
	return mix64(h);
}

/* ---- big allocations ------------------------------------------------------ */

#define HUGE_PAGE (2u << 20)

/* size bytes of zeroes, mapped, for the table and the pool's blocks: given
 * back to the system as soon as they are freed.  From HUGE_PAGE up, aligned
 * to it and advised into huge pages: both are read and written at random,
 * and with small pages most of those accesses missed the TLB as well as
 * the cache.  NULL when out of memory. */
static void *big_alloc(size_t size)
{
	if (size < HUGE_PAGE) {
		void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		return p == MAP_FAILED ? NULL : p;
	}
	uint8_t *p = mmap(NULL, size + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	size_t head = (HUGE_PAGE - (uintptr_t)p % HUGE_PAGE) % HUGE_PAGE;
	if (head)
		munmap(p, head);
	munmap(p + head + size, HUGE_PAGE - head);
	p += head;
#ifdef MADV_HUGEPAGE
	(void)madvise(p, size, MADV_HUGEPAGE); /* advice: without it, small pages */
#endif
	return p;
}

static void big_free(void *p, size_t size)
{
	if (p)
		munmap(p, size);
}

static inline size_t table_bytes(const seg_writer *w)
{
	return (size_t)(w->table_mask + 1) * sizeof(slot);
}

/* ---- the pool ------------------------------------------------------------ */

static inline uint8_t *pool_at(const seg_writer *w, uint64_t off)
{
	return w->blocks[off >> POOL_SHIFT] + (off & (POOL_BLOCK - 1));
}

static inline wterm *term_at(const seg_writer *w, uint32_t ref)
{
	return (wterm *)(void *)pool_at(w, (uint64_t)ref * POOL_UNIT);
}

static inline uint64_t term_cur(const wterm *t)
{
	return (uint64_t)t->cur_hi << 32 | t->cur;
}

static inline void term_set_cur(wterm *t, uint64_t cur)
{
	t->cur = (uint32_t)cur;
	t->cur_hi = (uint8_t)(cur >> 32);
}

/* The bytes of a term's entry: the wterm, the key, the first slice with its
 * marker last. */
static inline uint32_t entry_size(uint32_t key_len)
{
	return ((uint32_t)sizeof(wterm) + key_len + FIRST_SLICE + 1 + POOL_UNIT - 1) & ~(POOL_UNIT - 1);
}

/* n bytes (a multiple of POOL_UNIT, at most POOL_BLOCK) from the pool: their
 * offset, or 0 with the error set. */
static uint64_t pool_alloc(seg_writer *w, uint32_t n)
{
	if (w->pool_lim - w->pool_end < n) {
		uint64_t base = (uint64_t)w->nblocks << POOL_SHIFT;
		if (base + POOL_BLOCK > seg_writer_pool_max) {
			w_set(w, XIHU_ELIMIT, "segment: terms and postings past %llu MiB in memory",
			      (unsigned long long)(seg_writer_pool_max >> 20));
			return 0;
		}
		size_t cap = w->blocks_cap;
		if (!xarray_reserve(&w->blocks, &cap, (size_t)w->nblocks + 1, sizeof *w->blocks)) {
			w_set(w, XIHU_ENOMEM, "segment: out of memory");
			return 0;
		}
		w->blocks_cap = cap;
		uint8_t *b = big_alloc(POOL_BLOCK);
		if (!b) {
			w_set(w, XIHU_ENOMEM, "segment: out of memory");
			return 0;
		}
		w->blocks[w->nblocks++] = b;
		w->pool_end = base ? base : POOL_UNIT; /* ref 0 is an empty slot */
		w->pool_lim = base + POOL_BLOCK;
	}
	uint64_t off = w->pool_end;
	w->pool_end += n;
	return off;
}

static void pool_free(seg_writer *w)
{
	for (uint32_t i = 0; i < w->nblocks; i++)
		big_free(w->blocks[i], POOL_BLOCK);
	free(w->blocks);
	w->blocks = NULL;
	w->nblocks = 0;
	w->blocks_cap = 0;
	w->pool_end = w->pool_lim = 0;
}

/* At the marker m of a full slice (the term's next byte, *cur): a slice of
 * the next level, with the 3 bytes before m moved into it and its ref
 * written over them and m.  Where the term's next byte goes now (*cur its
 * offset, *room the bytes from it to the new marker), or NULL with the
 * error set. */
static uint8_t *slice_next(seg_writer *w, uint8_t *m, uint64_t *cur, uint32_t *room)
{
	uint32_t level = next_level(*m);
	uint32_t size = slice_size[level];
	uint64_t off = pool_alloc(w, size);
	if (!off)
		return NULL;
	uint8_t *q = pool_at(w, off);
	q[size - 1] = (uint8_t)level;
	memcpy(q, m - 3, 3);
	uint32_t ref = (uint32_t)(off / POOL_UNIT);
	m[-3] = (uint8_t)ref;
	m[-2] = (uint8_t)(ref >> 8);
	m[-1] = (uint8_t)(ref >> 16);
	m[0] = (uint8_t)(ref >> 24);
	*cur = off + 3;
	*room = size - 4;
	return q + 3;
}

/* Appends b[0..n) to t's postings, across the end of its slice (when
 * add_now could not write them in place). */
static bool post_put(seg_writer *w, wterm *t, const uint8_t *b, uint32_t n)
{
	uint64_t cur = term_cur(t);
	uint32_t room = t->room;
	uint8_t *p = pool_at(w, cur);
	for (uint32_t i = 0; i < n; i++) {
		if (room == 0 && !(p = slice_next(w, p, &cur, &room)))
			return false;
		*p++ = b[i];
		cur++;
		room--;
	}
	term_set_cur(t, cur);
	t->room = (uint16_t)room;
	return true;
}

/* A term's postings read back, slice by slice (finish). */
typedef struct post_rd {
	const seg_writer *w;
	const uint8_t *p, *end; /* the slice's data not read yet */
	uint64_t cur;           /* the term's next byte: its last slice holds it */
	uint32_t level;
	bool last;              /* end is the term's end, not the next slice's ref */
} post_rd;

/* r's slice becomes [start, marker]. */
static void rd_slice(post_rd *r, uint64_t start, uint64_t marker)
{
	r->p = pool_at(r->w, start);
	r->last = start <= r->cur && r->cur <= marker;
	r->end = r->p + ((r->last ? r->cur : marker - 3) - start);
}

static void rd_init(post_rd *r, const seg_writer *w, uint32_t ref)
{
	const wterm *t = term_at(w, ref);
	uint64_t off = (uint64_t)ref * POOL_UNIT;
	r->w = w;
	r->cur = term_cur(t);
	r->level = 0;
	rd_slice(r, off + sizeof *t + t->key_len, off + entry_size(t->key_len) - 1);
}

static inline bool rd_byte(post_rd *r, uint8_t *b)
{
	while (r->p == r->end) {
		if (r->last)
			return false;
		uint64_t start = (uint64_t)get_u32le(r->end) * POOL_UNIT;
		r->level = next_level(r->level);
		rd_slice(r, start, start + slice_size[r->level] - 1);
	}
	*b = *r->p++;
	return true;
}

/* The next varint (the writer's: at most 5 bytes); false at the end. */
static bool rd_varint_slow(post_rd *r, uint64_t *v)
{
	uint64_t x = 0;
	uint8_t b;
	for (uint32_t shift = 0;; shift += 7) {
		if (!rd_byte(r, &b))
			return false;
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			break;
	}
	*v = x;
	return true;
}

static inline bool rd_varint(post_rd *r, uint64_t *v)
{
	return get_varint(&r->p, r->end, v) || rd_varint_slow(r, v);
}

/* ---- creating ------------------------------------------------------------ */

int seg_writer_new(const char *dir, uint64_t seg_id, uint32_t nfields, const char *const *field_names,
                   seg_writer **out, xihu_err *err)
{
	*out = NULL;
	if (nfields == 0 || nfields > XIHU_MAX_FIELDS)
		return xihu_err_set(err, XIHU_EINVAL, "segment: %u fields, expected 1..%d", nfields, XIHU_MAX_FIELDS);
	for (uint32_t f = 0; f < nfields; f++) {
		size_t l = field_names[f] ? strlen(field_names[f]) : 0;
		if (l == 0 || l > 255)
			return xihu_err_set(err, XIHU_EINVAL, "segment: field %u: name must be 1..255 bytes", f);
	}
	seg_writer *w = calloc(1, sizeof *w);
	if (!w)
		return xihu_err_set(err, XIHU_ENOMEM, "segment: out of memory");
	w->err = err ? err : &w->ownerr;
	w->nfields = nfields;
	w->max_docs = SEG_MAX_DOCS;
	w->table_mask = 1023;
	w->table = big_alloc(table_bytes(w));
	w->grams = gram_acc_new();
	bool ok = w->table != NULL && w->grams != NULL;
	for (uint32_t f = 0; f < nfields && ok; f++)
		ok = (w->field_names[f] = strdup(field_names[f])) != NULL;
	xbuf_init(&w->pending_name);
	if (!ok) {
		seg_writer_free(w);
		return xihu_err_set(err, XIHU_ENOMEM, "segment: out of memory");
	}
	int rc = seg_out_new(dir, seg_id, nfields, &w->out, w->err);
	if (rc) {
		seg_writer_free(w);
		return rc;
	}
	*out = w;
	return XIHU_OK;
}

void seg_writer_set_pairs(seg_writer *w, seg_pairword_fn is_pairword, const void *ctx)
{
	w->is_pairword = is_pairword;
	w->pair_ctx = ctx;
}

void seg_writer_set_max_docs(seg_writer *w, uint32_t max_docs)
{
	w->max_docs = max_docs < SEG_MAX_DOCS ? max_docs : SEG_MAX_DOCS;
}

/* ---- documents ------------------------------------------------------------ */

int seg_writer_begin_doc(seg_writer *w, const seg_doc_in *d)
{
	if (w->rc)
		return w->rc;
	if (w->in_doc || w->finished)
		return w_set(w, XIHU_EINVAL, "segment: begin_doc inside a document or after finish");
	if (w->ndocs >= w->max_docs) /* not sticky: the caller may finish and start a new segment */
		return xihu_err_set(w->err, XIHU_ELIMIT, "segment: more than %u documents in one segment",
		                    w->max_docs);
	if (w->pool_lim > seg_writer_pool_max / 8 * 7) /* not sticky either */
		return xihu_err_set(w->err, XIHU_ELIMIT, "segment: terms and postings past %llu MiB in memory",
		                    (unsigned long long)(seg_writer_pool_max / 8 * 7 >> 20));
	if (d->always && (d->raw || d->text_len))
		return w_set(w, XIHU_EINVAL, "segment: an always-candidate doc with text or raw bytes");
	if ((w->rc = seg_out_store_text(w->out, d->text, d->text_len, &w->pending_block, &w->pending_off)))
		return w->rc;
	uint32_t nids = 0;
	int grc = d->raw ? gram_acc_doc(w->grams, (const uint8_t *)d->raw, d->raw_len, &nids) : XIHU_OK;
	if (grc)
		return w_set(w, grc, grc == XIHU_ELIMIT ? "segment: too many trigram blocks"
		                                        : "segment: out of memory (trigrams)");
	w->pending_len = d->text_len;
	xbuf_reset(&w->pending_name);
	xbuf_put(&w->pending_name, d->name, d->name_len);
	if (w->pending_name.rc)
		return w_set(w, XIHU_ENOMEM, "segment: out of memory");
	w->pending.name_len = d->name_len;
	w->pending.record = d->record;
	w->pending.mtime_ns = d->mtime_ns;
	w->pending.size = d->size;
	w->pending.greppable = d->raw != NULL;
	w->pending.gram_ids = nids;
	w->pending.always = d->always;
	memset(w->field_len, 0, sizeof w->field_len);
	w->ncur = w->nprev = 0;
	w->in_doc = true;
	return w->rc;
}

static bool table_grow(seg_writer *w)
{
	uint32_t ncap = (w->table_mask + 1) * 2;
	slot *t = big_alloc((size_t)ncap * sizeof *t);
	if (!t)
		return false;
	uint32_t mask = ncap - 1;
	for (uint32_t i = 0; i <= w->table_mask; i++) {
		slot s = w->table[i];
		if (!s.ref)
			continue;
		uint32_t k = s.h32 & mask;
		while (t[k].ref)
			k = (k + 1) & mask;
		t[k] = s;
	}
	big_free(w->table, table_bytes(w));
	w->table = t;
	w->table_mask = mask;
	return true;
}

/* At most this many distinct terms: a table of at most 2^31 slots. */
#define MAX_TERMS ((1u << 30) - 1)

/* The ref of the key's term, added if new; 0 with the error set. */
static uint32_t term_find(seg_writer *w, const uint8_t *key, uint32_t klen, uint32_t h32)
{
	uint32_t k = h32 & w->table_mask;
	for (;;) {
		const slot *s = &w->table[k];
		if (!s->ref)
			break;
		if (s->h32 == h32) {
			const wterm *t = term_at(w, s->ref);
			if (t->key_len == klen && memcmp(t->key, key, klen) == 0)
				return s->ref;
		}
		k = (k + 1) & w->table_mask;
	}
	/* a new term */
	if (w->nterms == MAX_TERMS) {
		w_set(w, XIHU_ELIMIT, "segment: too many distinct terms");
		return 0;
	}
	uint32_t size = entry_size(klen);
	uint64_t off = pool_alloc(w, size);
	if (!off)
		return 0;
	wterm *t = (wterm *)(void *)pool_at(w, off);
	t->last_doc = UINT32_MAX;
	term_set_cur(t, off + sizeof *t + klen);
	t->room = (uint16_t)(size - 1 - sizeof *t - klen);
	t->key_len = (uint8_t)klen;
	/* asked once per distinct term, not per token */
	t->pairword = w->is_pairword && !(key[0] & XIHU_PAIR_FIELD) &&
	              w->is_pairword(w->pair_ctx, (const char *)key + 1, klen - 1);
	memcpy(t->key, key, klen);
	((uint8_t *)t)[size - 1] = 0; /* the marker of level 0 */
	uint32_t ref = (uint32_t)(off / POOL_UNIT);
	w->table[k].ref = ref;
	w->table[k].h32 = h32;
	w->nterms++;
	if ((uint64_t)w->nterms * 3 > ((uint64_t)w->table_mask + 1) * 2 && !table_grow(w)) {
		w_set(w, XIHU_ENOMEM, "segment: out of memory");
		return 0;
	}
	return ref;
}

static void add_now(seg_writer *w, const ptok *k);
static ptok *pipe_slot(seg_writer *w, tpipe *p);
static void pipe_push(seg_writer *w, tpipe *p);

/*
 * Pair terms: term ref (tf counted, stored at pos in field) pairs with the
 * pair words at pos - 1 when it is one too.  Words come in position order
 * per field (several at one position: an identifier's whole form and its
 * first part); a gap (a stopword, a new value of the field) pairs nothing
 * across it.  A pair term stands at its first word's position (positions
 * are not stored for it) and does not count in the field's length.  A
 * pair longer than a term can be is not made; search.c makes the same
 * choice for a phrase, and walks positions then.
 */
static void add_pairs(seg_writer *w, uint32_t field, uint32_t ref, uint32_t pos)
{
	if (field != w->pr_field || pos < w->pr_pos || pos > w->pr_pos + 1) {
		w->ncur = w->nprev = 0;
	} else if (pos == w->pr_pos + 1) {
		memcpy(w->prev, w->cur, w->ncur * sizeof *w->cur);
		w->nprev = w->ncur;
		w->ncur = 0;
	}
	w->pr_field = field;
	w->pr_pos = pos;
	const wterm *b = term_at(w, ref);
	if (!b->pairword)
		return;
	uint32_t blen = b->key_len - 1u;
	for (uint32_t i = 0; i < w->nprev; i++) {
		const wterm *a = term_at(w, w->prev[i]);
		uint32_t alen = a->key_len - 1u;
		if (alen + 1 + blen > XIHU_MAX_TERM)
			continue;
		/* the oldest pair's turn may add a term: entries stay where they are */
		ptok *k = pipe_slot(w, &w->pairs);
		k->pos = pos - 1;
		k->counts = false;
		k->key[0] = (uint8_t)(field | XIHU_PAIR_FIELD);
		k->klen = 1 + pair_term(k->key + 1, a->key + 1, alen, b->key + 1, blen);
		k->h32 = (uint32_t)(hash_key(k->key[0], k->key + 1, k->klen - 1) >> 32);
		pipe_push(w, &w->pairs);
	}
	if (w->ncur < PAIR_GROUP)
		w->cur[w->ncur++] = ref;
}

/* Adds one token, its term's slot and entry (hopefully) in cache by now. */
static void add_now(seg_writer *w, const ptok *k)
{
	if (w->rc)
		return;
	uint32_t ref = term_find(w, k->key, k->klen, k->h32);
	if (!ref)
		return;
	wterm *t = term_at(w, ref);
	uint32_t doc = w->ndocs, pos = k->pos;
	/* a pair term keeps no positions (seg_out_term_doc does not read
	 * them): its tf is stored, as positions 0, 1, 2, ... of a byte each */
	if (k->key[0] & XIHU_PAIR_FIELD)
		pos = t->last_doc == doc ? t->last_pos + 1 : 0;
	/* in place when the slice has room: its cache line may not be in, and
	 * a store does not wait for it */
	uint8_t b[POST_MAX];
	uint64_t cur = term_cur(t);
	uint8_t *start = t->room >= POST_MAX ? pool_at(w, cur) : b, *o = start;
	if (t->last_doc != doc) {
		if (t->last_doc != UINT32_MAX)
			*o++ = 0; /* the end of the term's previous doc */
		o = put_varint(o, doc - (t->last_doc + 1));
		o = put_varint(o, (uint64_t)pos + 1);
		t->last_doc = doc;
	} else {
		if (pos <= t->last_pos) {
			/* out of order (a caller restarting positions for a second
			 * value of the same field): keep tf right, approximate the
			 * position */
			if (t->last_pos == XIHU_MAX_POS)
				return;
			pos = t->last_pos + 1;
		}
		o = put_varint(o, pos - t->last_pos);
	}
	uint32_t n = (uint32_t)(o - start);
	if (start != b) {
		term_set_cur(t, cur + n);
		t->room -= (uint16_t)n;
	} else if (!post_put(w, t, b, n)) {
		return;
	}
	t->last_pos = pos;
	w->field_len[k->key[0] & ~XIHU_PAIR_FIELD] += k->counts;
	if (w->is_pairword && !(k->key[0] & XIHU_PAIR_FIELD))
		add_pairs(w, k->key[0], ref, pos);
}

/* Adds the tokens still in the pipelines (before end_doc and finish):
 * the words first, whose turn may queue pairs. */
static void drain(seg_writer *w)
{
	for (tpipe *p = &w->words;; p = &w->pairs) {
		while (p->count > 0) {
			add_now(w, &p->q[p->head]);
			p->head = (p->head + 1) & (PIPE - 1);
			p->count--;
		}
		if (p == &w->pairs)
			break;
	}
}

/* The slot for a new token at the tail of p, after the oldest token's
 * turn when p is full; pipe_push queues it once filled in (with h32). */
static ptok *pipe_slot(seg_writer *w, tpipe *p)
{
	if (p->count == PIPE) {
		add_now(w, &p->q[p->head]);
		p->head = (p->head + 1) & (PIPE - 1);
		p->count--;
	}
	return &p->q[(p->head + p->count) & (PIPE - 1)];
}

static void pipe_push(seg_writer *w, tpipe *p)
{
	ptok *k = &p->q[(p->head + p->count) & (PIPE - 1)];
	p->count++;
	__builtin_prefetch(&w->table[k->h32 & w->table_mask]);
	/* half way through the pipeline: the slot is in, fetch the term's
	 * entry, to the end of its key (where a rare term's postings go) */
	if (p->count > PIPE / 2) {
		const ptok *m = &p->q[(p->head + p->count - 1 - PIPE / 2) & (PIPE - 1)];
		const slot *sl = &w->table[m->h32 & w->table_mask];
		if (sl->ref && sl->h32 == m->h32) {
			const uint8_t *e = pool_at(w, (uint64_t)sl->ref * POOL_UNIT);
			__builtin_prefetch(e);
			__builtin_prefetch(e + sizeof(wterm) + m->klen);
		}
	}
}

static void add_token(seg_writer *w, uint32_t field, const char *term, uint32_t len, uint32_t pos, bool counts)
{
	if (w->rc)
		return;
	if (!w->in_doc) {
		w_set(w, XIHU_EINVAL, "segment: add_token outside a document");
		return;
	}
	if (field >= w->nfields) {
		w_set(w, XIHU_EINVAL, "segment: field %u, the segment has %u", field, w->nfields);
		return;
	}
	if (len == 0 || len > XIHU_MAX_TERM) {
		w_set(w, XIHU_EINVAL, "segment: term of %u bytes, expected 1..%d", len, XIHU_MAX_TERM);
		return;
	}
	if (pos > XIHU_MAX_POS) {
		w_set(w, XIHU_ELIMIT, "segment: position %u is over the limit %u", pos, XIHU_MAX_POS);
		return;
	}
	ptok *k = pipe_slot(w, &w->words);
	k->key[0] = (uint8_t)field;
	memcpy(k->key + 1, term, len);
	k->klen = len + 1;
	k->h32 = (uint32_t)(hash_key(field, (const uint8_t *)term, len) >> 32);
	k->pos = pos;
	k->counts = counts;
	pipe_push(w, &w->words);
}

void seg_writer_add_token(seg_writer *w, uint32_t field, const char *term, uint32_t len, uint32_t pos)
{
	add_token(w, field, term, len, pos, true);
}

void seg_writer_add_overlap(seg_writer *w, uint32_t field, const char *term, uint32_t len, uint32_t pos)
{
	add_token(w, field, term, len, pos, false);
}

int seg_writer_end_doc(seg_writer *w)
{
	if (w->rc)
		return w->rc;
	if (!w->in_doc)
		return w_set(w, XIHU_EINVAL, "segment: end_doc outside a document");
	drain(w);
	if (w->rc)
		return w->rc;
	w->pending.name = (const char *)w->pending_name.p;
	if ((w->rc = seg_out_doc(w->out, &w->pending, w->pending_block, w->pending_off, w->pending_len,
	                         w->field_len)))
		return w->rc;
	w->in_doc = false;
	w->ndocs++;
	return w->rc;
}

size_t seg_writer_mem(const seg_writer *w)
{
	return sizeof *w + (w->table ? table_bytes(w) : 0) +
	       (size_t)w->nblocks * POOL_BLOCK + (size_t)w->blocks_cap * sizeof *w->blocks + w->pending_name.cap +
	       seg_out_mem(w->out) + gram_acc_mem(w->grams);
}

uint32_t seg_writer_ndocs(const seg_writer *w)
{
	return w->ndocs;
}

/* ---- finishing ------------------------------------------------------------ */

/* 12 bytes: the table has room for one a term (table_to_order) */
typedef struct sortkey {
	uint32_t hi, lo; /* the key's first 8 bytes, big-endian, zero padded */
	uint32_t ref;
} sortkey;

static int cmp_keys(const void *a, const void *b, void *ctx)
{
	const sortkey *x = a, *y = b;
	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	const seg_writer *w = ctx;
	const wterm *s = term_at(w, x->ref), *t = term_at(w, y->ref);
	uint32_t n = s->key_len < t->key_len ? s->key_len : t->key_len;
	int c = memcmp(s->key, t->key, n);
	if (c)
		return c;
	return s->key_len < t->key_len ? -1 : s->key_len > t->key_len;
}

/* The terms to sort, made in the hash table's memory (the table is no
 * longer needed, and it has room: at most 2/3 full, 3 slots for every 2
 * terms): the refs first, packed to the front in slot order, then each
 * spread out to its sortkey from the back, so that no write lands on a ref
 * not yet read.  finish frees it as the table. */
_Static_assert(2 * sizeof(sortkey) <= 3 * sizeof(slot), "a sortkey in 1.5 slots");
static sortkey *table_to_order(seg_writer *w)
{
	uint8_t *mem = (uint8_t *)w->table;
	uint32_t n = 0;
	for (uint32_t i = 0; i <= w->table_mask; i++) {
		uint32_t ref = w->table[i].ref;
		if (ref)
			memcpy(mem + (size_t)n++ * sizeof ref, &ref, sizeof ref);
	}
	for (uint32_t i = n; i-- > 0;) {
		sortkey sk;
		memcpy(&sk.ref, mem + (size_t)i * sizeof sk.ref, sizeof sk.ref);
		const wterm *t = term_at(w, sk.ref);
		uint64_t pfx = 0;
		for (uint32_t j = 0; j < 8; j++)
			pfx = pfx << 8 | (j < t->key_len ? t->key[j] : 0);
		sk.hi = (uint32_t)(pfx >> 32);
		sk.lo = (uint32_t)pfx;
		memcpy(mem + (size_t)i * sizeof sk, &sk, sizeof sk);
	}
	return (sortkey *)(void *)mem;
}

/* Decodes a term's postings from the pool and hands its docs to seg_out. */
static void write_term(seg_writer *w, uint32_t ref, uint32_t **pos, uint32_t *pos_cap)
{
	const wterm *t = term_at(w, ref);
	seg_out_term_begin(w->out, t->key, t->key_len);
	post_rd r;
	rd_init(&r, w, ref);
	uint32_t prev = UINT32_MAX; /* prev + 1 == 0 for the first doc */
	uint64_t v;
	while (rd_varint(&r, &v)) {
		uint32_t doc = (uint32_t)(prev + 1 + v);
		/* positions: pos+1, then gaps, up to a 0 or the end */
		uint32_t tf = 0, at = 0;
		while (rd_varint(&r, &v) && v != 0) {
			if (tf == *pos_cap) {
				uint32_t ncap = *pos_cap ? *pos_cap * 2 : 1024;
				uint32_t *np = realloc(*pos, (size_t)ncap * sizeof *np);
				if (!np) {
					w_set(w, XIHU_ENOMEM, "segment: out of memory");
					return;
				}
				*pos = np;
				*pos_cap = ncap;
			}
			at = tf == 0 ? (uint32_t)(v - 1) : at + (uint32_t)v;
			(*pos)[tf++] = at;
		}
		seg_out_term_doc(w->out, doc, tf, *pos);
		prev = doc;
	}
	seg_out_term_end(w->out);
}

int seg_writer_finish(seg_writer *w, seg_info *out, xihu_err *err)
{
	xihu_err *old = w->err;
	if (err)
		w->err = err;
	if (w->rc && err && old != err)
		*err = *old;
	if (!w->rc && w->in_doc)
		w_set(w, XIHU_EINVAL, "segment: finish inside a document");
	if (!w->rc && w->finished)
		w_set(w, XIHU_EINVAL, "segment: finished twice");
	if (w->rc)
		return w->rc;
	seg_out_set_err(w->out, w->err);

	/* the terms in key order.  What finish no longer needs goes as soon
	 * as it is done with (the hash table becomes the order, the pool goes
	 * before the trigrams), so that its own arrays (the order, the
	 * trigrams' turned-around window) take the place of what the writer
	 * held rather than adding to it. */
	sortkey *order = table_to_order(w);
	qsort_r(order, w->nterms, sizeof *order, cmp_keys, w);

	uint32_t *pos = NULL, pos_cap = 0;
	seg_out_terms_begin(w->out);
	for (uint32_t i = 0; i < w->nterms && !w->rc && !seg_out_rc(w->out); i++)
		write_term(w, order[i].ref, &pos, &pos_cap);
	big_free(w->table, table_bytes(w)); /* the order */
	w->table = NULL;
	w->table_mask = 0;
	free(pos);
	pool_free(w);
	w->nterms = 0;
	if (w->rc)
		return w->rc;
	if (!seg_out_rc(w->out)) {
		int rc = gram_acc_write(w->grams, w->out);
		if (rc && !seg_out_grams_rc(w->out)) /* seg_out's own error: finish reports it */
			return w_set(w, rc, "segment: out of memory (trigrams)");
	}
	gram_acc_free(w->grams); /* before the files are written out: its RAM is large */
	w->grams = NULL;
	seg_info info;
	if ((w->rc = seg_out_finish(w->out, (const char *const *)w->field_names, &info)))
		return w->rc;
	w->finished = true;
	if (out)
		*out = info;
	return XIHU_OK;
}

void seg_writer_free(seg_writer *w)
{
	if (!w)
		return;
	seg_out_free(w->out); /* unlinks the files unless finished */
	gram_acc_free(w->grams);
	pool_free(w);
	big_free(w->table, table_bytes(w));
	xbuf_free(&w->pending_name);
	for (uint32_t f = 0; f < XIHU_MAX_FIELDS; f++)
		free(w->field_names[f]);
	free(w);
}
