/*
 * seg_writer.c: the in-memory inverter that writes one immutable segment.
 *
 * Owns: the term hash table and per-term posting buffers in RAM, the doc
 * table being built, the doc store stream, and the byte layout of the five
 * segment files.  Callers: build.c (through the API in index-int.h) and the
 * unit tests.  The reader side is seg_reader.c and postings.c.
 *
 * Invariants
 *  - Doc ids are dense from 0, < SEG_MAX_DOCS; positions <= XIHU_MAX_POS
 *    and, per (field, term, doc), stored strictly increasing: a position not
 *    above the term's last one in the doc is stored as last + 1.
 *  - A term key is one field byte followed by the term's bytes (1..64).
 *  - Errors are sticky in w->rc: add_token has no return value, the next
 *    end_doc or finish reports it.
 *  - RAM per posting: one varint doc delta, one varint per position and a
 *    0 byte, appended to the term's growable buffer; no per-posting malloc.
 *  - The doc store is streamed: text is compressed in ~32 KiB blocks and
 *    written to the .store file while documents arrive.
 *
 * The layout (docs/FORMAT.md is the full spec; all integers little-endian,
 * "varint" is LEB128; every file is header "XIHU"+kind, u32 version, u32 0,
 * then the payload, then u64 payload length and u32 CRC-32):
 *
 *  NAME.terms (TERM)  blocks of up to 32 front-coded entries, sorted by key:
 *                       varint shared, varint suffix_len, suffix bytes,
 *                       varint df, varint cf-df, varint max_tf-1,
 *                       varint post_len, varint pos_len
 *                     index: per block u64 block_off, u64 post_off, u64 pos_off
 *                     footer: u64 nterms, u64 nblocks, u64 index_off,
 *                             u32 ndocs, u32 entries per block (32)
 *  NAME.post  (POST)  per term, at post_off, nblocks = ceil(df/128):
 *                       nblocks == 1: varint min_dl, then the block
 *                       nblocks >= 2: skip table, nblocks x 24 bytes
 *                         {u32 last_doc, u32 max_tf, u32 min_dl,
 *                          u32 doc_off (from the end of the skip table),
 *                          u64 pos_off (from the term's pos_off)}, then blocks
 *                     a block of 128: u8 bits, packed (doc - prev - 1),
 *                                     u8 bits, packed (tf - 1)   (codec.c)
 *                     the last block of fewer than 128: per doc
 *                                     varint (doc - prev - 1), varint tf-1
 *                     (prev starts at -1; min_dl is the smallest field length
 *                      in the block, so (max_tf, min_dl) bounds BM25)
 *  NAME.pos   (POSN)  per term, per doc in order: tf varints, the first
 *                     position, then each gap minus 1
 *  NAME.docs  (DOCS)  u32 ndocs, u32 nfields, u32 rec_size, u32 0,
 *                     u64 recs_off, u64 names_off, u64 names_len,
 *                     u64 field_total[nfields], {u8 len, bytes} field names,
 *                     records (rec_size = 48 + 4*nfields):
 *                       u64 name_off, u32 name_len, u32 flags (1 = record),
 *                       i64 mtime_ns, u64 size, u32 store_block,
 *                       u32 store_off, u64 text_len, u32 field_len[nfields]
 *                     names area
 *  NAME.store (STOR)  zlib streams, one per block; a doc lies in one block;
 *                     index: per block u64 off, u64 comp_len, u64 raw_len;
 *                     footer: u64 nblocks, u64 index_off
 *
 * NAME is the segment id as %012llx.  Files are created O_EXCL and fsynced;
 * the segment is live only once a manifest names it (manifest.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "index-int.h"

#define STORE_BLOCK_TARGET (32u << 10) /* bytes of raw text per store block */
#define STORE_LEVEL 3
#define TERMS_PER_BLOCK 32
#define SKIP_ENTRY 24

enum { F_TERMS, F_POST, F_POS, F_DOCS, F_STORE, NFILES };
static const char *const file_ext[NFILES] = {"terms", "post", "pos", "docs", "store"};
static const char file_kind[NFILES][4] = {
	{'T', 'E', 'R', 'M'}, {'P', 'O', 'S', 'T'}, {'P', 'O', 'S', 'N'}, {'D', 'O', 'C', 'S'}, {'S', 'T', 'O', 'R'}};

/* One distinct term key and its postings in RAM. */
typedef struct wterm {
	uint64_t hash;
	size_t key_off; /* into w->keys */
	uint8_t *buf;   /* per doc: varint doc gap, varint pos+1 then gaps, 0 */
	uint32_t len, cap;
	uint32_t key_len;
	uint32_t df, max_tf;
	uint32_t last_doc; /* UINT32_MAX: none yet */
	uint32_t cur_tf, last_pos;
	uint64_t cf;
} wterm;

typedef struct slot {
	uint32_t idx1; /* term index + 1; 0 = empty */
	uint32_t h32;
} slot;

struct seg_writer {
	char *dir;
	uint64_t id;
	uint32_t nfields;
	char *field_names[XIHU_MAX_FIELDS];
	int rc;
	xihu_err *err;
	xihu_err ownerr;
	bool in_doc, finished;
	uint32_t max_docs;
	uint32_t ndocs;

	/* terms */
	wterm *terms;
	uint32_t nterms, terms_cap;
	slot *table;
	uint32_t table_mask;
	xbuf keys;
	size_t post_mem; /* sum of term buffer capacities */
	uint32_t *touched;
	uint32_t ntouched, touched_cap;

	/* the doc being added */
	uint32_t field_len[XIHU_MAX_FIELDS];
	uint64_t field_total[XIHU_MAX_FIELDS];
	uint8_t pending[48];
	xbuf recs, names;

	/* doc store */
	xfile_w store;
	bool store_open;
	xbuf sblock;     /* raw text of the open block */
	xbuf sindex;     /* u64 off, u64 comp_len, u64 raw_len per block */
	uint32_t nblocks;
	z_stream zs;
	bool zs_init;
	uint8_t *zout;

	unsigned created; /* bit per file kind we created */
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

static void file_name(char *out, size_t n, uint64_t id, int kind)
{
	snprintf(out, n, "%012llx.%s", (unsigned long long)id, file_ext[kind]);
}

static inline void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void put_u64(uint8_t *p, uint64_t v)
{
	put_u32(p, (uint32_t)v);
	put_u32(p + 4, (uint32_t)(v >> 32));
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

/* A fast 64-bit hash of a short key: 8 bytes at a time, multiply-mix. */
static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 32;
	x *= 0xd6e8feb86659fd93ull;
	x ^= x >> 32;
	x *= 0xd6e8feb86659fd93ull;
	x ^= x >> 32;
	return x;
}

static uint64_t hash_key(const uint8_t *p, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ ((uint64_t)n * 0xff51afd7ed558ccdull);
	while (n >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		h = (h ^ v) * 0x9fb21c651e98df25ull;
		h ^= h >> 29;
		p += 8;
		n -= 8;
	}
	if (n) {
		uint64_t v = 0;
		memcpy(&v, p, n);
		h = (h ^ v) * 0x9fb21c651e98df25ull;
	}
	return mix64(h);
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
	w->id = seg_id;
	w->nfields = nfields;
	w->max_docs = SEG_MAX_DOCS;
	w->dir = strdup(dir);
	w->table_mask = 1023;
	w->table = calloc(w->table_mask + 1, sizeof *w->table);
	w->zout = malloc(STORE_BLOCK_TARGET);
	bool ok = w->dir && w->table && w->zout;
	for (uint32_t f = 0; f < nfields && ok; f++)
		ok = (w->field_names[f] = strdup(field_names[f])) != NULL;
	xbuf_init(&w->keys);
	xbuf_init(&w->recs);
	xbuf_init(&w->names);
	xbuf_init(&w->sblock);
	xbuf_init(&w->sindex);
	if (!ok) {
		seg_writer_free(w);
		return xihu_err_set(err, XIHU_ENOMEM, "segment: out of memory");
	}
	if (deflateInit(&w->zs, STORE_LEVEL) != Z_OK) {
		seg_writer_free(w);
		return xihu_err_set(err, XIHU_ENOMEM, "segment: zlib: deflateInit failed");
	}
	w->zs_init = true;
	char name[64];
	file_name(name, sizeof name, seg_id, F_STORE);
	int rc = xfile_create(&w->store, dir, name, file_kind[F_STORE], w->err);
	if (rc) {
		xfile_finish(&w->store); /* releases; unlinks only what it created */
		seg_writer_free(w);
		return rc;
	}
	w->store_open = true;
	w->created |= 1u << F_STORE;
	*out = w;
	return XIHU_OK;
}

void seg_writer_set_max_docs(seg_writer *w, uint32_t max_docs)
{
	w->max_docs = max_docs < SEG_MAX_DOCS ? max_docs : SEG_MAX_DOCS;
}

/* ---- the doc store ------------------------------------------------------- */

/* Compresses text as one block into the store file and indexes it. */
static void store_block(seg_writer *w, const uint8_t *text, size_t len)
{
	if (w->rc)
		return;
	uint64_t off = xfile_tell(&w->store) - 16; /* payload offset */
	deflateReset(&w->zs);
	w->zs.next_in = (Bytef *)(uintptr_t)text;
	size_t left = len;
	uint64_t comp = 0;
	int zr;
	do {
		if (w->zs.avail_in == 0 && left > 0) {
			uInt k = left > (1u << 30) ? (1u << 30) : (uInt)left;
			w->zs.avail_in = k;
			left -= k;
		}
		w->zs.next_out = w->zout;
		w->zs.avail_out = STORE_BLOCK_TARGET;
		zr = deflate(&w->zs, left == 0 ? Z_FINISH : Z_NO_FLUSH);
		if (zr == Z_STREAM_ERROR) {
			w_set(w, XIHU_EIO, "%s: zlib: deflate failed", w->store.path);
			return;
		}
		size_t got = STORE_BLOCK_TARGET - w->zs.avail_out;
		xfile_write(&w->store, w->zout, got);
		comp += got;
	} while (zr != Z_STREAM_END);
	if (w->store.rc) {
		w->rc = w->store.rc;
		return;
	}
	xbuf_put_u64le(&w->sindex, off);
	xbuf_put_u64le(&w->sindex, comp);
	xbuf_put_u64le(&w->sindex, len);
	w->nblocks++;
}

static void store_flush(seg_writer *w)
{
	if (w->sblock.len == 0)
		return;
	store_block(w, w->sblock.p, w->sblock.len);
	xbuf_reset(&w->sblock);
}

/* Stores a doc's text; returns its block and offset in that block. */
static void store_add(seg_writer *w, const char *text, size_t len, uint32_t *block, uint32_t *off)
{
	if (w->sblock.len > 0 && w->sblock.len + len > STORE_BLOCK_TARGET)
		store_flush(w);
	*block = w->nblocks;
	*off = (uint32_t)w->sblock.len;
	if (w->sblock.len == 0 && len >= STORE_BLOCK_TARGET) {
		/* a big doc owns its block: compress it straight from the caller */
		store_block(w, (const uint8_t *)text, len);
		return;
	}
	xbuf_put(&w->sblock, text, len);
	if (w->sblock.rc)
		w_set(w, XIHU_ENOMEM, "segment: out of memory");
	if (w->sblock.len >= STORE_BLOCK_TARGET)
		store_flush(w);
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
	uint8_t *r = w->pending;
	uint32_t block = 0, off = 0;
	store_add(w, d->text, d->text_len, &block, &off);
	put_u64(r, w->names.len);
	put_u32(r + 8, d->name_len);
	put_u32(r + 12, d->record ? 1u : 0u);
	put_u64(r + 16, (uint64_t)d->mtime_ns);
	put_u64(r + 24, d->size);
	put_u32(r + 32, block);
	put_u32(r + 36, off);
	put_u64(r + 40, d->text_len);
	xbuf_put(&w->names, d->name, d->name_len);
	memset(w->field_len, 0, sizeof w->field_len);
	w->in_doc = true;
	w->ntouched = 0;
	return w->rc;
}

static bool table_grow(seg_writer *w)
{
	uint32_t ncap = (w->table_mask + 1) * 2;
	slot *t = calloc(ncap, sizeof *t);
	if (!t)
		return false;
	uint32_t mask = ncap - 1;
	for (uint32_t i = 0; i < w->nterms; i++) {
		uint32_t h = (uint32_t)w->terms[i].hash;
		uint32_t k = h & mask;
		while (t[k].idx1)
			k = (k + 1) & mask;
		t[k].idx1 = i + 1;
		t[k].h32 = (uint32_t)(w->terms[i].hash >> 32);
	}
	free(w->table);
	w->table = t;
	w->table_mask = mask;
	return true;
}

static wterm *term_find(seg_writer *w, const uint8_t *key, uint32_t klen)
{
	uint64_t h = hash_key(key, klen);
	uint32_t h32 = (uint32_t)(h >> 32);
	uint32_t k = (uint32_t)h & w->table_mask;
	for (;;) {
		slot *s = &w->table[k];
		if (!s->idx1)
			break;
		if (s->h32 == h32) {
			wterm *t = &w->terms[s->idx1 - 1];
			if (t->key_len == klen && memcmp(w->keys.p + t->key_off, key, klen) == 0)
				return t;
		}
		k = (k + 1) & w->table_mask;
	}
	/* a new term */
	if (w->nterms == UINT32_MAX - 1) {
		w_set(w, XIHU_ELIMIT, "segment: too many distinct terms");
		return NULL;
	}
	if (w->nterms == w->terms_cap) {
		uint32_t ncap = w->terms_cap ? w->terms_cap * 2 : 1024;
		wterm *nt = realloc(w->terms, (size_t)ncap * sizeof *nt);
		if (!nt) {
			w_set(w, XIHU_ENOMEM, "segment: out of memory");
			return NULL;
		}
		w->terms = nt;
		w->terms_cap = ncap;
	}
	wterm *t = &w->terms[w->nterms];
	memset(t, 0, sizeof *t);
	t->hash = h;
	t->key_off = w->keys.len;
	t->key_len = klen;
	t->last_doc = UINT32_MAX;
	xbuf_put(&w->keys, key, klen);
	if (w->keys.rc) {
		w_set(w, XIHU_ENOMEM, "segment: out of memory");
		return NULL;
	}
	w->table[k].idx1 = ++w->nterms;
	w->table[k].h32 = h32;
	if ((uint64_t)w->nterms * 2 > w->table_mask && !table_grow(w)) {
		w_set(w, XIHU_ENOMEM, "segment: out of memory");
		return NULL;
	}
	return &w->terms[w->nterms - 1];
}

/* Room for `extra` more bytes in a term's posting buffer. */
static inline bool tbuf_room(seg_writer *w, wterm *t, uint32_t extra)
{
	if (t->cap - t->len >= extra)
		return true;
	uint64_t ncap = t->cap ? (uint64_t)t->cap * 2 : 16;
	while (ncap - t->len < extra)
		ncap *= 2;
	if (ncap > UINT32_MAX) {
		w_set(w, XIHU_ELIMIT, "segment: postings of one term exceed 4 GiB in memory");
		return false;
	}
	uint8_t *nb = realloc(t->buf, (size_t)ncap);
	if (!nb) {
		w_set(w, XIHU_ENOMEM, "segment: out of memory");
		return false;
	}
	w->post_mem += (size_t)(ncap - t->cap);
	t->buf = nb;
	t->cap = (uint32_t)ncap;
	return true;
}

void seg_writer_add_token(seg_writer *w, uint32_t field, const char *term, uint32_t len, uint32_t pos)
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
	uint8_t key[XIHU_MAX_TERM + 1];
	key[0] = (uint8_t)field;
	memcpy(key + 1, term, len);
	wterm *t = term_find(w, key, len + 1);
	if (!t)
		return;
	uint32_t doc = w->ndocs;
	if (t->last_doc != doc) {
		if (w->ntouched == w->touched_cap) {
			uint32_t ncap = w->touched_cap ? w->touched_cap * 2 : 256;
			uint32_t *nt = realloc(w->touched, (size_t)ncap * sizeof *nt);
			if (!nt) {
				w_set(w, XIHU_ENOMEM, "segment: out of memory");
				return;
			}
			w->touched = nt;
			w->touched_cap = ncap;
		}
		if (!tbuf_room(w, t, 10))
			return;
		w->touched[w->ntouched++] = (uint32_t)(t - w->terms);
		uint8_t *o = put_varint(t->buf + t->len, doc - (t->last_doc + 1));
		o = put_varint(o, (uint64_t)pos + 1);
		t->len = (uint32_t)(o - t->buf);
		t->last_doc = doc;
		t->cur_tf = 1;
		t->last_pos = pos;
	} else {
		if (pos <= t->last_pos) {
			/* out of order (a caller restarting positions for a second
			 * value of the same field): keep tf right, approximate the
			 * position */
			if (t->last_pos == XIHU_MAX_POS)
				return;
			pos = t->last_pos + 1;
		}
		if (!tbuf_room(w, t, 5))
			return;
		uint8_t *o = put_varint(t->buf + t->len, pos - t->last_pos);
		t->len = (uint32_t)(o - t->buf);
		t->cur_tf++;
		t->last_pos = pos;
	}
	w->field_len[field]++;
}

int seg_writer_end_doc(seg_writer *w)
{
	if (w->rc)
		return w->rc;
	if (!w->in_doc)
		return w_set(w, XIHU_EINVAL, "segment: end_doc outside a document");
	for (uint32_t i = 0; i < w->ntouched; i++) {
		wterm *t = &w->terms[w->touched[i]];
		if (!tbuf_room(w, t, 1))
			return w->rc;
		t->buf[t->len++] = 0;
		t->df++;
		t->cf += t->cur_tf;
		if (t->cur_tf > t->max_tf)
			t->max_tf = t->cur_tf;
	}
	w->ntouched = 0;
	xbuf_put(&w->recs, w->pending, sizeof w->pending);
	for (uint32_t f = 0; f < w->nfields; f++) {
		xbuf_put_u32le(&w->recs, w->field_len[f]);
		w->field_total[f] += w->field_len[f];
	}
	if (w->recs.rc || w->names.rc || w->sindex.rc)
		return w_set(w, XIHU_ENOMEM, "segment: out of memory");
	w->in_doc = false;
	w->ndocs++;
	return w->rc;
}

size_t seg_writer_mem(const seg_writer *w)
{
	return sizeof *w + (size_t)(w->table_mask + 1) * sizeof(slot) + (size_t)w->terms_cap * sizeof(wterm) +
	       w->keys.cap + w->post_mem + (size_t)w->touched_cap * sizeof(uint32_t) + w->recs.cap +
	       w->names.cap + w->sblock.cap + w->sindex.cap + STORE_BLOCK_TARGET + (256u << 10) /* deflate */ +
	       (256u << 10) /* the store file buffer */;
}

uint32_t seg_writer_ndocs(const seg_writer *w)
{
	return w->ndocs;
}

/* ---- finishing ------------------------------------------------------------ */

typedef struct sortkey {
	uint64_t pfx; /* the key's first 8 bytes, big-endian, zero padded */
	uint32_t idx;
} sortkey;

static int cmp_keys(const void *a, const void *b, void *ctx)
{
	const sortkey *x = a, *y = b;
	if (x->pfx != y->pfx)
		return x->pfx < y->pfx ? -1 : 1;
	const seg_writer *w = ctx;
	const wterm *s = &w->terms[x->idx], *t = &w->terms[y->idx];
	uint32_t n = s->key_len < t->key_len ? s->key_len : t->key_len;
	int c = memcmp(w->keys.p + s->key_off, w->keys.p + t->key_off, n);
	if (c)
		return c;
	return s->key_len < t->key_len ? -1 : s->key_len > t->key_len;
}

/* The state of writing postings, positions and the dictionary. */
typedef struct fin {
	xfile_w f[NFILES];
	xbuf blocks; /* the current term's postings blocks */
	xbuf skips;  /* the current term's skip table */
	xbuf tindex; /* the dictionary's sparse index */
	uint8_t prev_key[XIHU_MAX_TERM + 1];
	uint32_t prev_len;
	uint32_t in_block; /* entries in the open dictionary block */
	uint64_t nblocks;
	uint8_t scratch[XIHU_BLOCK * 4 + 16];
} fin;

static uint64_t payload_off(const xfile_w *f)
{
	return xfile_tell(f) - 16;
}

static inline uint32_t doc_field_len(const seg_writer *w, uint32_t doc, uint32_t field)
{
	return get_u32le(w->recs.p + (size_t)doc * (48 + 4 * w->nfields) + 48 + 4 * field);
}

/* Writes one term's postings and positions and its dictionary entry. */
static void write_term(seg_writer *w, fin *F, const wterm *t)
{
	uint32_t field = w->keys.p[t->key_off];
	uint32_t nblocks = (t->df + XIHU_BLOCK - 1) / XIHU_BLOCK;
	uint64_t post_off = payload_off(&F->f[F_POST]);
	uint64_t pos_off = payload_off(&F->f[F_POS]);
	xbuf_reset(&F->blocks);
	xbuf_reset(&F->skips);

	uint32_t docs[XIHU_BLOCK], gaps[XIHU_BLOCK], tfs[XIHU_BLOCK];
	uint32_t n = 0, prev = UINT32_MAX; /* prev + 1 == 0 for the first doc */
	uint64_t blk_pos_off = 0;
	const uint8_t *p = t->buf, *end = t->buf + t->len;
	uint8_t pv[64];
	uint32_t min_dl = UINT32_MAX;
	uint32_t seen = 0;
	while (p < end) {
		uint64_t v;
		get_varint(&p, end, &v);
		uint32_t doc = (uint32_t)(prev + 1 + v);
		/* positions: pos+1, then gaps, then 0; on disk pos, then gap-1 */
		uint32_t tf = 0, pos = 0;
		for (;;) {
			get_varint(&p, end, &v);
			if (v == 0)
				break;
			uint8_t *o = pv;
			if (tf == 0) {
				pos = (uint32_t)(v - 1);
				o = put_varint(o, pos);
			} else {
				pos += (uint32_t)v;
				o = put_varint(o, v - 1);
			}
			xfile_write(&F->f[F_POS], pv, (size_t)(o - pv));
			tf++;
		}
		docs[n] = doc;
		gaps[n] = doc - (prev + 1);
		tfs[n] = tf - 1;
		uint32_t dl = doc_field_len(w, doc, field);
		if (dl < min_dl)
			min_dl = dl;
		n++;
		seen++;
		prev = doc;
		if (n == XIHU_BLOCK || seen == t->df) {
			uint32_t doc_off = (uint32_t)F->blocks.len;
			if (F->blocks.len > UINT32_MAX) {
				w_set(w, XIHU_ELIMIT, "segment: postings of one term exceed 4 GiB");
				return;
			}
			if (n == XIHU_BLOCK) {
				unsigned b = codec_bits(gaps, n);
				F->scratch[0] = (uint8_t)b;
				size_t k = codec_pack(gaps, n, b, F->scratch + 1);
				xbuf_put(&F->blocks, F->scratch, k + 1);
				b = codec_bits(tfs, n);
				F->scratch[0] = (uint8_t)b;
				k = codec_pack(tfs, n, b, F->scratch + 1);
				xbuf_put(&F->blocks, F->scratch, k + 1);
			} else {
				for (uint32_t i = 0; i < n; i++) {
					uint8_t *o = put_varint(pv, gaps[i]);
					o = put_varint(o, tfs[i]);
					xbuf_put(&F->blocks, pv, (size_t)(o - pv));
				}
			}
			if (nblocks >= 2) {
				uint32_t max_tf = 0;
				for (uint32_t i = 0; i < n; i++)
					if (tfs[i] + 1 > max_tf)
						max_tf = tfs[i] + 1;
				uint8_t e[SKIP_ENTRY];
				put_u32(e, docs[n - 1]);
				put_u32(e + 4, max_tf);
				put_u32(e + 8, min_dl);
				put_u32(e + 12, doc_off);
				put_u64(e + 16, blk_pos_off);
				xbuf_put(&F->skips, e, sizeof e);
			}
			blk_pos_off = payload_off(&F->f[F_POS]) - pos_off;
			n = 0;
			if (seen < t->df)
				min_dl = UINT32_MAX;
		}
	}
	if (nblocks == 1) {
		uint8_t *o = put_varint(pv, min_dl);
		xfile_write(&F->f[F_POST], pv, (size_t)(o - pv));
	} else {
		xfile_write(&F->f[F_POST], F->skips.p, F->skips.len);
	}
	xfile_write(&F->f[F_POST], F->blocks.p, F->blocks.len);
	uint64_t post_len = payload_off(&F->f[F_POST]) - post_off;
	uint64_t pos_len = payload_off(&F->f[F_POS]) - pos_off;

	/* the dictionary entry, front-coded against the previous key */
	const uint8_t *key = w->keys.p + t->key_off;
	uint32_t shared = 0;
	if (F->in_block == TERMS_PER_BLOCK)
		F->in_block = 0;
	if (F->in_block == 0) {
		xbuf_put_u64le(&F->tindex, payload_off(&F->f[F_TERMS]));
		xbuf_put_u64le(&F->tindex, post_off);
		xbuf_put_u64le(&F->tindex, pos_off);
		F->nblocks++;
	} else {
		uint32_t lim = F->prev_len < t->key_len ? F->prev_len : t->key_len;
		while (shared < lim && F->prev_key[shared] == key[shared])
			shared++;
	}
	uint8_t e[XIHU_MAX_TERM + 1 + 64];
	uint8_t *o = put_varint(e, shared);
	o = put_varint(o, t->key_len - shared);
	memcpy(o, key + shared, t->key_len - shared);
	o += t->key_len - shared;
	o = put_varint(o, t->df);
	o = put_varint(o, t->cf - t->df);
	o = put_varint(o, t->max_tf - 1);
	o = put_varint(o, post_len);
	o = put_varint(o, pos_len);
	xfile_write(&F->f[F_TERMS], e, (size_t)(o - e));
	memcpy(F->prev_key, key, t->key_len);
	F->prev_len = t->key_len;
	F->in_block++;
}

static void write_docs(seg_writer *w, xfile_w *f)
{
	uint32_t rec_size = 48 + 4 * w->nfields;
	uint64_t fnames = 0;
	for (uint32_t i = 0; i < w->nfields; i++)
		fnames += 1 + strlen(w->field_names[i]);
	uint64_t recs_off = 40 + 8 * (uint64_t)w->nfields + fnames;
	uint64_t names_off = recs_off + (uint64_t)w->ndocs * rec_size;
	uint8_t h[40];
	put_u32(h, w->ndocs);
	put_u32(h + 4, w->nfields);
	put_u32(h + 8, rec_size);
	put_u32(h + 12, 0);
	put_u64(h + 16, recs_off);
	put_u64(h + 24, names_off);
	put_u64(h + 32, w->names.len);
	xfile_write(f, h, sizeof h);
	for (uint32_t i = 0; i < w->nfields; i++) {
		uint8_t t[8];
		put_u64(t, w->field_total[i]);
		xfile_write(f, t, 8);
	}
	for (uint32_t i = 0; i < w->nfields; i++) {
		uint8_t l = (uint8_t)strlen(w->field_names[i]);
		xfile_write(f, &l, 1);
		xfile_write(f, w->field_names[i], l);
	}
	xfile_write(f, w->recs.p, w->recs.len);
	xfile_write(f, w->names.p, w->names.len);
}

static void unlink_created(seg_writer *w)
{
	for (int k = 0; k < NFILES; k++) {
		if (!(w->created & (1u << k)))
			continue;
		char name[64];
		file_name(name, sizeof name, w->id, k);
		char *path = malloc(strlen(w->dir) + sizeof name + 2);
		if (path) {
			sprintf(path, "%s/%s", w->dir, name);
			unlink(path);
			free(path);
		}
	}
	w->created = 0;
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

	/* 1. the doc store: last block, index, footer */
	store_flush(w);
	uint64_t sindex_off = payload_off(&w->store);
	xfile_write(&w->store, w->sindex.p, w->sindex.len);
	uint8_t foot[32];
	put_u64(foot, w->nblocks);
	put_u64(foot + 8, sindex_off);
	xfile_write(&w->store, foot, 16);
	w->store_open = false;
	int rc = xfile_finish(&w->store);
	if (rc) {
		w->rc = rc;
		w->created &= ~(1u << F_STORE);
		goto fail;
	}

	/* 2. the terms in key order */
	sortkey *order = malloc((size_t)(w->nterms ? w->nterms : 1) * sizeof *order);
	if (!order) {
		w_set(w, XIHU_ENOMEM, "segment: out of memory");
		goto fail;
	}
	for (uint32_t i = 0; i < w->nterms; i++) {
		const uint8_t *k = w->keys.p + w->terms[i].key_off;
		uint64_t pfx = 0;
		for (uint32_t j = 0; j < 8; j++)
			pfx = pfx << 8 | (j < w->terms[i].key_len ? k[j] : 0);
		order[i].pfx = pfx;
		order[i].idx = i;
	}
	qsort_r(order, w->nterms, sizeof *order, cmp_keys, w);

	/* 3. dictionary, postings, positions */
	fin *F = calloc(1, sizeof *F);
	if (!F) {
		free(order);
		w_set(w, XIHU_ENOMEM, "segment: out of memory");
		goto fail;
	}
	int kinds[4] = {F_TERMS, F_POST, F_POS, F_DOCS};
	for (int i = 0; i < 4; i++)
		F->f[kinds[i]].fd = -1;
	for (int i = 0; i < 4 && !w->rc; i++) {
		char name[64];
		file_name(name, sizeof name, w->id, kinds[i]);
		rc = xfile_create(&F->f[kinds[i]], w->dir, name, file_kind[kinds[i]], w->err);
		if (rc)
			w->rc = rc;
		else
			w->created |= 1u << kinds[i];
	}
	for (uint32_t i = 0; i < w->nterms && !w->rc; i++) {
		write_term(w, F, &w->terms[order[i].idx]);
		if (F->f[F_POST].rc || F->f[F_POS].rc || F->f[F_TERMS].rc)
			break;
	}
	free(order);
	if (!w->rc) {
		uint64_t index_off = payload_off(&F->f[F_TERMS]);
		xfile_write(&F->f[F_TERMS], F->tindex.p, F->tindex.len);
		put_u64(foot, w->nterms);
		put_u64(foot + 8, F->nblocks);
		put_u64(foot + 16, index_off);
		put_u32(foot + 24, w->ndocs);
		put_u32(foot + 28, TERMS_PER_BLOCK);
		xfile_write(&F->f[F_TERMS], foot, 32);
		write_docs(w, &F->f[F_DOCS]);
		if (F->blocks.rc || F->skips.rc || F->tindex.rc)
			w_set(w, XIHU_ENOMEM, "segment: out of memory");
	}
	uint64_t bytes = 0;
	for (int i = 0; i < 4; i++) {
		xfile_w *f = &F->f[kinds[i]];
		if (w->rc && f->fd >= 0) {
			xfile_abort(f);
			continue;
		}
		if (!f->path)
			continue;
		bytes += xfile_tell(f) + 12;
		rc = xfile_finish(f);
		if (rc && !w->rc)
			w->rc = rc;
	}
	xbuf_free(&F->blocks);
	xbuf_free(&F->skips);
	xbuf_free(&F->tindex);
	free(F);
	if (w->rc)
		goto fail;
	if ((rc = xfile_sync_dir(w->dir, w->err)) != 0) {
		w->rc = rc;
		goto fail;
	}
	{
		/* the store's size: header + payload + trailer */
		uint64_t store_bytes = 16 + sindex_off + w->sindex.len + 16 + 12;
		bytes += store_bytes;
	}
	w->finished = true;
	if (out) {
		out->id = w->id;
		out->ndocs = w->ndocs;
		out->nterms = w->nterms;
		out->bytes = bytes;
	}
	return XIHU_OK;
fail:
	unlink_created(w);
	return w->rc;
}

void seg_writer_free(seg_writer *w)
{
	if (!w)
		return;
	if (w->store_open)
		xfile_abort(&w->store);
	if (!w->finished)
		unlink_created(w);
	if (w->zs_init)
		deflateEnd(&w->zs);
	for (uint32_t i = 0; i < w->nterms; i++)
		free(w->terms[i].buf);
	free(w->terms);
	free(w->table);
	free(w->touched);
	free(w->zout);
	xbuf_free(&w->keys);
	xbuf_free(&w->recs);
	xbuf_free(&w->names);
	xbuf_free(&w->sblock);
	xbuf_free(&w->sindex);
	for (uint32_t f = 0; f < XIHU_MAX_FIELDS; f++)
		free(w->field_names[f]);
	free(w->dir);
	free(w);
}
