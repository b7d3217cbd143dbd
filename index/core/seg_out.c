/*
 * seg_out.c: writing the six files of one segment.  Owns their byte layout
 * (docs/FORMAT.md §3 is the full spec) on the writing side; seg_writer.c
 * (the in-memory inverter) and seg_merge.c (several segments -> one) feed it
 * and never touch bytes themselves.  The readers are seg_reader.c and
 * postings.c.
 *
 * The order of calls: seg_out_new (creates the .store file), then the docs
 * in id order (seg_out_store_text / seg_out_store_copy for their text,
 * seg_out_doc for their record), then the terms in key order
 * (seg_out_term_begin, seg_out_term_doc per doc in id order, _end), the
 * trigrams in key order (seg_out_gram), then seg_out_finish.  Errors are sticky in o->rc: the feeding calls return
 * nothing or the sticky code, finish reports it.  seg_out_free unlinks what
 * an unfinished segment created.  The trigrams go to a file of their own
 * and keep their own error (seg_out_grams_rc), which finish folds into
 * o->rc, so a second thread may write them while the first writes the
 * terms (seg_merge.c does); nothing else of o is shared between the two.
 *
 * Layout (all integers little-endian, varint = LEB128; every file is header
 * "XIHU"+kind, u32 version, u32 0, payload, u64 payload length, u32 CRC-32):
 *
 *  NAME.terms (TERM)  blocks of up to 32 front-coded entries, sorted by key:
 *                       varint shared, varint suffix_len, suffix bytes,
 *                       varint df, varint cf-df, varint max_tf-1,
 *                       varint post_len, varint pos_len
 *                     index: per block u64 block_off, u64 post_off, u64 pos_off
 *                     zero bytes up to a file offset that is a multiple of 64
 *                     key filter: KF_LINES(nterms) lines of 64 bytes, every
 *                       key's bits set (keyfilter.c)
 *                     footer: u64 nterms, u64 nblocks, u64 index_off,
 *                             u32 ndocs, u32 entries per block (32),
 *                             u64 filter_off, u64 filter lines
 *  NAME.post  (POST)  per term, at post_off, nblocks = ceil(df/128):
 *                       nblocks == 1: varint min_dl, u32 impact, the block
 *                       nblocks >= 2: skip table, nblocks x 28 bytes
 *                         {u32 last_doc, u32 impact, u32 max_tf,
 *                          u32 min_dl,
 *                          u32 doc_off (from the end of the skip table),
 *                          u64 pos_off (from the term's pos_off)}, then blocks
 *                     a block of 128: u8 bits, packed (doc - prev - 1),
 *                                     u8 bits, packed (tf - 1)   (codec.c)
 *                     the last block of fewer than 128: per doc
 *                                     varint (doc - prev - 1), varint tf-1
 *                     (prev starts at -1; min_dl is the smallest field length
 *                      in the block, so (max_tf, min_dl) bounds BM25;
 *                      impact is the IEEE-754 bits of the float just above
 *                      max over the block's docs of bm25_tf_norm(tf, dl,
 *                      avgdl), avgdl = field_total / ndocs of this segment:
 *                      so the docs come first, then the terms)
 *  NAME.pos   (POSN)  per term, per postings block (at its skip entry's
 *                     pos_off): PFor chunks (codec.c) of
 *                       the block's n first positions (one chunk of n),
 *                       then G = sum(tf - 1) gaps minus 1: each doc's
 *                       following positions, docs in order, in chunks of
 *                       128 (the last of G mod 128 when that is not 0)
 *  NAME.docs  (DOCS)  u32 ndocs, u32 nfields, u32 rec_size, u32 0,
 *                     u64 recs_off, u64 names_off, u64 names_len,
 *                     u64 field_total[nfields], {u8 len, bytes} field names,
 *                     records (rec_size = 48 + 4*nfields):
 *                       u64 name_off, u32 name_len, u32 flags (1 = record,
 *                       2 = greppable, 4 = always a grep candidate),
 *                       i64 mtime_ns, u64 size, u32 store_block,
 *                       u32 store_off, u64 text_len, u32 field_len[nfields]
 *                     names area
 *  NAME.store (STOR)  zlib streams, one per block; a doc lies in one block;
 *                     index: per block u64 off, u64 comp_len, u64 raw_len;
 *                     footer: u64 nblocks, u64 index_off
 *  NAME.grams (GRAM)  per trigram in key order its list of gram ids:
 *                       floor(df/128) x {u8 bits, packed[128] gaps},
 *                       then df % 128 varint gaps (gap = id - prev - 1)
 *                     entries: u32 gram, u32 df, u32 or u64 list offset
 *                     first: (ndocs + 1) x u32, doc d's gram ids are
 *                            [first[d], first[d+1])
 *                     footer: u64 ngrams, u64 lists_len, u32 ndocs,
 *                             u32 offset width (4 or 8), u32 nids (grams.c)
 *
 * NAME is the segment id as %012llx.  Files are created O_EXCL and fsynced,
 * then the directory; the segment is live only once a manifest names it.
 *
 * RAM: the tables that go at the end of a file (the store's and the
 * dictionary's indexes, the doc records and names, the trigram entries and
 * the docs' first gram ids) grow in spools (xfile.c): a window of at most
 * seg_out_spool_window bytes each in RAM, the rest in an unlinked
 * temporary file NAME.<table>.tmp beside the segment, copied into place by
 * finish.  The block impacts need each doc's length in the term's field:
 * one field's lengths are in RAM at a time (4 bytes a doc), read back from
 * the records when the terms reach the next field.  So what a segment
 * holds in RAM grows with its docs by 4 bytes each, not with its size.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/seg-int.h"

#define STORE_LEVEL 3
#define TERMS_PER_BLOCK 32

size_t seg_out_spool_window = 1u << 20;

enum { SP_SINDEX, SP_RECS, SP_NAMES, SP_TINDEX, SP_THASH, SP_GENTRIES, SP_GFIRST, SP_N };
static const char *const spool_name[SP_N] = {"sindex", "recs", "names", "tindex", "thash", "gentries", "gfirst"};

static const char *const file_ext[SEG_NFILES] = {"terms", "post", "pos", "docs", "store", "grams"};
static const char file_kind[SEG_NFILES][4] = {{'T', 'E', 'R', 'M'}, {'P', 'O', 'S', 'T'}, {'P', 'O', 'S', 'N'},
                                              {'D', 'O', 'C', 'S'}, {'S', 'T', 'O', 'R'}, {'G', 'R', 'A', 'M'}};

struct seg_out {
	char *dir;
	uint64_t id;
	uint32_t nfields, rec_size;
	int rc;
	xihu_err *err;
	xfile_w f[SEG_NFILES];
	unsigned created; /* bit per file we created */
	bool finished;

	/* doc store */
	xbuf sblock; /* raw text of the open block */
	/* the tables written at the ends of the files, in spools: the store's
	 * index (u64 off, u64 comp_len, u64 raw_len per block), the doc records
	 * and names, the dictionary's index and its keys' hashes (u64 each, for
	 * the key filter), the trigram entries (u32 gram, u32 df, u64 list
	 * offset each) and per doc its first gram id (u32).
	 * sp[SP_GENTRIES] is seg_out_gram's alone (its errors go to grc). */
	xspool sp[SP_N];
	uint32_t store_nblocks;
	z_stream zs;
	bool zs_init;
	uint8_t *zout;

	/* doc table */
	uint32_t ndocs;
	uint64_t field_total[XIHU_MAX_FIELDS];
	bool terms_begun;               /* the doc table is complete */
	double avgdl[XIHU_MAX_FIELDS]; /* of the whole segment, for block impacts */
	uint32_t *flen;       /* per doc its length in field flen_field */
	uint32_t flen_field;  /* UINT32_MAX: none read yet */

	/* the term being written */
	bool in_term;
	uint32_t field;
	uint8_t key[XIHU_MAX_TERM + 1];
	uint32_t key_len;
	uint32_t df, max_tf;
	uint64_t cf;
	uint64_t post_off, pos_off; /* of the term, payload offsets */
	uint32_t prev;              /* last doc of the term; UINT32_MAX before the first */
	uint32_t n;                 /* docs in the open postings block */
	uint32_t docs[XIHU_BLOCK], gaps[XIHU_BLOCK], tfs[XIHU_BLOCK];
	uint32_t blk_min_dl, blk_max_tf;
	double blk_impact;    /* the open block's largest bm25_tf_norm */
	uint64_t blk_pos_off; /* the open block's positions, from pos_off */
	bool nopos;           /* the term stores no positions (a pair term) */
	uint32_t firsts[XIHU_BLOCK]; /* the open block's first positions */
	uint32_t *gaps_p;            /* its later positions' gaps - 1 */
	size_t ngaps, gaps_cap;
	xbuf bpos;            /* the open block's positions, encoded */
	xbuf blocks;          /* the term's postings blocks */
	xbuf skips;           /* the term's skip table */
	uint32_t nblocks_term;

	/* the dictionary */
	uint64_t nterms;
	uint8_t prev_key[XIHU_MAX_TERM + 1];
	uint32_t prev_len;
	uint32_t in_block; /* entries in the open dictionary block */
	uint64_t dict_nblocks;
	uint8_t scratch[CODEC_PFOR_MAX];

	/* the trigrams (.grams, grams.c): their entries in sp[SP_GENTRIES];
	 * the list being encoded.  seg_out_gram's error is grc
	 * (seg_out_grams_rc), its message in gerr, both folded into rc and
	 * *err by finish; atomic, as the two threads may read it. */
	_Atomic int grc;
	xihu_err gerr;
	uint64_t nids; /* gram ids the docs so far own */
	uint64_t ngrams;
	uint32_t last_gram;
	uint8_t *glist;
	size_t glist_cap;
};

/* ---- small helpers ------------------------------------------------------- */

static int o_set(seg_out *o, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int o_set(seg_out *o, int code, const char *fmt, ...)
{
	if (o->rc)
		return o->rc;
	va_list ap;
	va_start(ap, fmt);
	xihu_err_setv(o->err, code, fmt, ap);
	va_end(ap);
	o->rc = code;
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

static uint64_t payload_off(const xfile_w *f)
{
	return xfile_tell(f) - 16;
}

/* Takes a file's sticky error into o->rc. */
static void o_check(seg_out *o, int k)
{
	if (!o->rc && o->f[k].rc)
		o->rc = o->f[k].rc;
}

static bool o_nomem(seg_out *o, const xbuf *b)
{
	if (b->rc)
		o_set(o, XIHU_ENOMEM, "segment: out of memory");
	return b->rc != 0;
}

/* Takes a spool's sticky error (its message names the file) into o->rc;
 * true if there is one. */
static bool o_spool(seg_out *o, int k)
{
	const xspool *sp = &o->sp[k];
	if (sp->rc)
		o_set(o, sp->rc, "%s", sp->err.msg);
	return sp->rc != 0;
}

/* ---- creating ------------------------------------------------------------ */

int seg_out_new(const char *dir, uint64_t id, uint32_t nfields, seg_out **out, xihu_err *err)
{
	*out = NULL;
	seg_out *o = calloc(1, sizeof *o);
	if (!o)
		return xihu_err_set(err, XIHU_ENOMEM, "segment: out of memory");
	o->err = err;
	o->id = id;
	o->nfields = nfields;
	o->rec_size = SEG_DOC_REC_FIXED + 4 * nfields;
	o->prev = UINT32_MAX;
	for (int k = 0; k < SEG_NFILES; k++)
		o->f[k].fd = -1;
	xbuf_init(&o->sblock);
	xbuf_init(&o->bpos);
	xbuf_init(&o->blocks);
	xbuf_init(&o->skips);
	o->flen_field = UINT32_MAX;
	for (int k = 0; k < SP_N; k++)
		o->sp[k].fd = -1;
	bool ok = true;
	for (int k = 0; k < SP_N; k++) {
		char name[64];
		snprintf(name, sizeof name, "%012llx.%s.tmp", (unsigned long long)id, spool_name[k]);
		ok &= xspool_init(&o->sp[k], dir, name, seg_out_spool_window);
	}
	o->dir = strdup(dir);
	o->zout = malloc(SEG_STORE_BLOCK);
	if (!ok || !o->dir || !o->zout) {
		seg_out_free(o);
		return xihu_err_set(err, XIHU_ENOMEM, "segment: out of memory");
	}
	if (deflateInit(&o->zs, STORE_LEVEL) != Z_OK) {
		seg_out_free(o);
		return xihu_err_set(err, XIHU_ENOMEM, "segment: zlib: deflateInit failed");
	}
	o->zs_init = true;
	char name[64];
	file_name(name, sizeof name, id, SEG_STORE);
	int rc = xfile_create(&o->f[SEG_STORE], dir, name, file_kind[SEG_STORE], err);
	if (rc) {
		xfile_finish(&o->f[SEG_STORE]); /* releases; unlinks only what it created */
		seg_out_free(o);
		return rc;
	}
	o->created |= 1u << SEG_STORE;
	*out = o;
	return XIHU_OK;
}

void seg_out_set_err(seg_out *o, xihu_err *err)
{
	if (o->rc && err && err != o->err && o->err)
		*err = *o->err;
	o->err = err;
	for (int k = 0; k < SEG_NFILES; k++)
		o->f[k].err = k == SEG_GRAMS ? &o->gerr : err;
}

int seg_out_rc(const seg_out *o)
{
	return o->rc;
}

int seg_out_grams_rc(const seg_out *o)
{
	return atomic_load_explicit(&o->grc, memory_order_relaxed);
}

size_t seg_out_mem(const seg_out *o)
{
	size_t spools = 0;
	for (int k = 0; k < SP_N; k++)
		spools += o->sp[k].win.cap;
	return sizeof *o + o->sblock.cap + spools + o->bpos.cap + o->gaps_cap * sizeof(uint32_t) +
	       (o->flen ? (size_t)o->ndocs * sizeof *o->flen : 0) + o->blocks.cap + o->skips.cap + o->glist_cap +
	       SEG_STORE_BLOCK + (256u << 10) /* deflate */ +
	       (256u << 10) /* the store file's buffer */;
}

/* ---- the doc store ------------------------------------------------------- */

static void store_index(seg_out *o, uint64_t off, uint64_t comp, uint64_t raw)
{
	uint8_t e[SEG_STORE_INDEX_ENTRY];
	put_u64(e, off);
	put_u64(e + 8, comp);
	put_u64(e + 16, raw);
	xspool_put(&o->sp[SP_SINDEX], e, sizeof e);
	o->store_nblocks++;
	o_spool(o, SP_SINDEX);
}

/* Compresses text as one block into the store file and indexes it. */
static void store_block(seg_out *o, const uint8_t *text, size_t len)
{
	if (o->rc)
		return;
	xfile_w *f = &o->f[SEG_STORE];
	uint64_t off = payload_off(f);
	deflateReset(&o->zs);
	o->zs.next_in = (Bytef *)(uintptr_t)text;
	size_t left = len;
	uint64_t comp = 0;
	int zr;
	do {
		if (o->zs.avail_in == 0 && left > 0) {
			uInt k = left > (1u << 30) ? (1u << 30) : (uInt)left;
			o->zs.avail_in = k;
			left -= k;
		}
		o->zs.next_out = o->zout;
		o->zs.avail_out = SEG_STORE_BLOCK;
		zr = deflate(&o->zs, left == 0 ? Z_FINISH : Z_NO_FLUSH);
		if (zr == Z_STREAM_ERROR) {
			o_set(o, XIHU_EIO, "%s: zlib: deflate failed", f->path);
			return;
		}
		size_t got = SEG_STORE_BLOCK - o->zs.avail_out;
		xfile_write(f, o->zout, got);
		comp += got;
	} while (zr != Z_STREAM_END);
	o_check(o, SEG_STORE);
	store_index(o, off, comp, len);
}

static void store_flush(seg_out *o)
{
	if (o->sblock.len == 0)
		return;
	store_block(o, o->sblock.p, o->sblock.len);
	xbuf_reset(&o->sblock);
}

int seg_out_store_text(seg_out *o, const char *text, size_t len, uint32_t *block, uint32_t *off)
{
	*block = 0;
	*off = 0;
	if (o->rc || len == 0)
		return o->rc;
	if (o->sblock.len > 0 && o->sblock.len + len > SEG_STORE_BLOCK)
		store_flush(o);
	*block = o->store_nblocks;
	*off = (uint32_t)o->sblock.len;
	if (o->sblock.len == 0 && len >= SEG_STORE_BLOCK) {
		/* a big doc owns its block: compress it straight from the caller */
		store_block(o, (const uint8_t *)text, len);
		return o->rc;
	}
	xbuf_put(&o->sblock, text, len);
	if (o_nomem(o, &o->sblock))
		return o->rc;
	if (o->sblock.len >= SEG_STORE_BLOCK)
		store_flush(o);
	return o->rc;
}

int seg_out_store_copy(seg_out *o, const uint8_t *comp, uint64_t clen, uint64_t rlen, uint32_t *block)
{
	*block = 0;
	if (o->rc)
		return o->rc;
	/* blocks lie in the file in index order: the open block goes first */
	store_flush(o);
	if (o->rc)
		return o->rc;
	xfile_w *f = &o->f[SEG_STORE];
	uint64_t off = payload_off(f);
	xfile_write(f, comp, (size_t)clen);
	o_check(o, SEG_STORE);
	*block = o->store_nblocks;
	store_index(o, off, clen, rlen);
	return o->rc;
}

/* ---- the doc table -------------------------------------------------------- */

int seg_out_doc(seg_out *o, const seg_doc *d, uint32_t store_block, uint32_t store_off, uint64_t text_len,
                const uint32_t *field_len)
{
	if (o->rc)
		return o->rc;
	if (o->terms_begun) /* the impacts written so far took avgdl without it */
		return o_set(o, XIHU_EINVAL, "segment: a document after the terms");
	if (o->ndocs >= SEG_MAX_DOCS)
		return o_set(o, XIHU_ELIMIT, "segment: more than %u documents", SEG_MAX_DOCS);
	uint8_t r[SEG_DOC_REC_FIXED + 4 * XIHU_MAX_FIELDS];
	put_u64(r, xspool_len(&o->sp[SP_NAMES]));
	put_u32(r + 8, d->name_len);
	if (d->greppable && d->always)
		return o_set(o, XIHU_EINVAL, "segment: a doc both greppable and always a candidate");
	if (d->greppable != (d->gram_ids > 0))
		return o_set(o, XIHU_EINVAL, "segment: a doc owns %u gram ids, greppable %d", d->gram_ids,
		             (int)d->greppable);
	if (o->nids + d->gram_ids > UINT32_MAX - 1)
		return o_set(o, XIHU_ELIMIT, "segment: more than 2^32 - 2 gram ids");
	put_u32(r + 12, (d->record ? SEG_DOC_RECORD : 0u) | (d->greppable ? SEG_DOC_GREPPABLE : 0u) |
	                        (d->always ? SEG_DOC_ALWAYS : 0u));
	put_u64(r + 16, (uint64_t)d->mtime_ns);
	put_u64(r + 24, d->size);
	put_u32(r + 32, store_block);
	put_u32(r + 36, store_off);
	put_u64(r + 40, text_len);
	for (uint32_t f = 0; f < o->nfields; f++) {
		put_u32(r + SEG_DOC_REC_FIXED + 4 * f, field_len[f]);
		o->field_total[f] += field_len[f];
	}
	xspool_put(&o->sp[SP_RECS], r, o->rec_size);
	xspool_put(&o->sp[SP_NAMES], d->name, d->name_len);
	uint8_t g[4];
	put_u32(g, (uint32_t)o->nids);
	xspool_put(&o->sp[SP_GFIRST], g, 4);
	if (o_spool(o, SP_RECS) || o_spool(o, SP_NAMES) || o_spool(o, SP_GFIRST))
		return o->rc;
	o->nids += d->gram_ids;
	o->ndocs++;
	return XIHU_OK;
}

uint32_t seg_out_ndocs(const seg_out *o)
{
	return o->ndocs;
}

/* Reads every doc's length in field into o->flen, from the records (in
 * chunks of about the spools' window): the terms come field by field, so
 * this runs at most twice a field (its words, its pair terms). */
static void load_field_lens(seg_out *o, uint32_t field)
{
	if (o->flen_field == field || o->rc)
		return;
	if (!o->flen && !(o->flen = malloc(((size_t)o->ndocs + 1) * sizeof *o->flen))) {
		o_set(o, XIHU_ENOMEM, "segment: out of memory");
		return;
	}
	size_t per = seg_out_spool_window / o->rec_size + 1;
	uint8_t *buf = malloc(per * o->rec_size);
	if (!buf) {
		o_set(o, XIHU_ENOMEM, "segment: out of memory");
		return;
	}
	for (uint32_t d = 0; d < o->ndocs && !o->rc; d += (uint32_t)per) {
		uint32_t n = o->ndocs - d < per ? o->ndocs - d : (uint32_t)per;
		if (xspool_read(&o->sp[SP_RECS], (uint64_t)d * o->rec_size, buf, (size_t)n * o->rec_size)) {
			o_spool(o, SP_RECS);
			break;
		}
		for (uint32_t i = 0; i < n; i++)
			o->flen[d + i] = get_u32le(buf + (size_t)i * o->rec_size + SEG_DOC_REC_FIXED + 4 * field);
	}
	free(buf);
	o->flen_field = o->rc ? UINT32_MAX : field;
}

/* ---- postings, positions and the dictionary --------------------------------- */

void seg_out_term_begin(seg_out *o, const uint8_t *key, uint32_t klen)
{
	if (o->rc)
		return;
	if (!o->terms_begun) {
		o_set(o, XIHU_EINVAL, "segment: a term before seg_out_terms_begin");
		return;
	}
	if (o->in_term || klen < 2 || klen > XIHU_MAX_TERM + 1 || (key[0] & ~XIHU_PAIR_FIELD) >= o->nfields) {
		o_set(o, XIHU_EINVAL, "segment: bad term key");
		return;
	}
	if (o->nterms > 0 && (memcmp(key, o->prev_key, klen < o->prev_len ? klen : o->prev_len) < 0 ||
	                      (memcmp(key, o->prev_key, klen < o->prev_len ? klen : o->prev_len) == 0 &&
	                       klen <= o->prev_len))) {
		o_set(o, XIHU_EINVAL, "segment: terms out of order");
		return;
	}
	load_field_lens(o, key[0] & ~XIHU_PAIR_FIELD); /* a pair's lengths are its field's */
	if (o->rc)
		return;
	o->in_term = true;
	o->field = key[0] & ~XIHU_PAIR_FIELD;
	o->nopos = key[0] & XIHU_PAIR_FIELD;  /* a pair term has no positions */
	memcpy(o->key, key, klen);
	o->key_len = klen;
	o->df = 0;
	o->cf = 0;
	o->max_tf = 0;
	o->prev = UINT32_MAX;
	o->n = 0;
	o->nblocks_term = 0;
	o->post_off = payload_off(&o->f[SEG_POST]);
	o->pos_off = payload_off(&o->f[SEG_POS]);
	o->blk_pos_off = 0;
	o->blk_min_dl = UINT32_MAX;
	o->blk_max_tf = 0;
	o->blk_impact = 0;
	o->ngaps = 0;
	xbuf_reset(&o->bpos);
	xbuf_reset(&o->blocks);
	xbuf_reset(&o->skips);
}

/* Closes the open postings block: encodes it into o->blocks, adds its skip
 * entry, and writes its positions to the file: encoded from o->firsts and
 * o->gaps_p, or raw_pos[0..raw_len) as they are (seg_out_term_block). */
static void close_block(seg_out *o, const uint8_t *raw_pos, size_t raw_len)
{
	uint32_t n = o->n;
	if (o->blocks.len > UINT32_MAX) {
		o_set(o, XIHU_ELIMIT, "segment: postings of one term exceed 4 GiB");
		return;
	}
	uint32_t doc_off = (uint32_t)o->blocks.len;
	if (n == XIHU_BLOCK) {
		unsigned b = codec_bits(o->gaps, n);
		o->scratch[0] = (uint8_t)b;
		size_t k = codec_pack(o->gaps, n, b, o->scratch + 1);
		xbuf_put(&o->blocks, o->scratch, k + 1);
		b = codec_bits(o->tfs, n);
		o->scratch[0] = (uint8_t)b;
		k = codec_pack(o->tfs, n, b, o->scratch + 1);
		xbuf_put(&o->blocks, o->scratch, k + 1);
	} else {
		uint8_t pv[16];
		for (uint32_t i = 0; i < n; i++) {
			uint8_t *e = put_varint(pv, o->gaps[i]);
			e = put_varint(e, o->tfs[i]);
			xbuf_put(&o->blocks, pv, (size_t)(e - pv));
		}
	}
	float impact = bm25_float_up(o->blk_impact);
	uint32_t impact_bits;
	memcpy(&impact_bits, &impact, sizeof impact_bits);
	uint8_t e[SEG_SKIP_ENTRY];
	put_u32(e + SEG_SKIP_LAST, o->docs[n - 1]);
	put_u32(e + SEG_SKIP_IMPACT, impact_bits);
	put_u32(e + SEG_SKIP_MAX_TF, o->blk_max_tf);
	put_u32(e + SEG_SKIP_MIN_DL, o->blk_min_dl);
	put_u32(e + SEG_SKIP_DOC_OFF, doc_off);
	put_u64(e + SEG_SKIP_POS_OFF, o->blk_pos_off);
	put_u32(e + SEG_SKIP_FIRST, o->df - n);
	xbuf_put(&o->skips, e, sizeof e);
	if (o->nopos)
		goto done;
	if (raw_pos) {
		xfile_write(&o->f[SEG_POS], raw_pos, raw_len);
		o_check(o, SEG_POS);
		o->blk_pos_off += raw_len;
		goto done;
	}
	/* positions: the firsts, then the gaps in chunks of 128 */
	size_t k = codec_pfor_encode(o->firsts, n, o->scratch);
	xbuf_put(&o->bpos, o->scratch, k);
	for (size_t g = 0; g < o->ngaps; g += XIHU_BLOCK) {
		size_t m = o->ngaps - g < XIHU_BLOCK ? o->ngaps - g : XIHU_BLOCK;
		k = codec_pfor_encode(o->gaps_p + g, m, o->scratch);
		xbuf_put(&o->bpos, o->scratch, k);
	}
	o->ngaps = 0;
	xfile_write(&o->f[SEG_POS], o->bpos.p, o->bpos.len);
	o_check(o, SEG_POS);
	o->blk_pos_off += o->bpos.len;
	xbuf_reset(&o->bpos);
done:
	o->nblocks_term++;
	o->n = 0;
	o->blk_min_dl = UINT32_MAX;
	o->blk_max_tf = 0;
	o->blk_impact = 0;
}

/* Adds doc (tf) to the open block, positions aside; false on a bad one. */
static bool add_doc(seg_out *o, uint32_t doc, uint32_t tf)
{
	if (!o->in_term || doc >= o->ndocs || (o->prev != UINT32_MAX && doc <= o->prev) || tf == 0) {
		o_set(o, XIHU_EINVAL, "segment: bad posting (doc %u, tf %u)", doc, tf);
		return false;
	}
	uint32_t i = o->n;
	o->docs[i] = doc;
	o->gaps[i] = doc - (o->prev + 1);
	o->tfs[i] = tf - 1;
	uint32_t dl = o->flen[doc];
	if (dl < o->blk_min_dl)
		o->blk_min_dl = dl;
	if (tf > o->blk_max_tf)
		o->blk_max_tf = tf;
	double impact = bm25_tf_norm(tf, dl, o->avgdl[o->field]);
	if (impact > o->blk_impact)
		o->blk_impact = impact;
	if (tf > o->max_tf)
		o->max_tf = tf;
	o->df++;
	o->cf += tf;
	o->prev = doc;
	return true;
}

void seg_out_term_block(seg_out *o, const uint32_t *docs, const uint32_t *tfs, const uint8_t *pos, size_t pos_len)
{
	if (o->rc)
		return;
	if (!pos && !o->nopos) {
		o_set(o, XIHU_EINVAL, "segment: a whole block without its positions");
		return;
	}
	if (o->n > 0)
		close_block(o, NULL, 0); /* short: this block must start one */
	for (uint32_t i = 0; i < XIHU_BLOCK; i++) {
		if (!add_doc(o, docs[i], tfs[i]))
			return;
		o->n++;
	}
	close_block(o, pos, pos_len); /* NULL for a pair term: no positions */
}

void seg_out_term_doc(seg_out *o, uint32_t doc, uint32_t tf, const uint32_t *pos)
{
	if (o->rc || !add_doc(o, doc, tf))
		return;
	uint32_t i = o->n;
	if (o->nopos)
		goto done;
	/* positions: the first, then each gap minus 1 */
	if (o->ngaps + tf - 1 > o->gaps_cap) {
		size_t ncap = o->gaps_cap ? o->gaps_cap : 1024;
		while (ncap < o->ngaps + tf - 1)
			ncap *= 2;
		uint32_t *ng = realloc(o->gaps_p, ncap * sizeof *ng);
		if (!ng) {
			o_set(o, XIHU_ENOMEM, "segment: out of memory");
			return;
		}
		o->gaps_p = ng;
		o->gaps_cap = ncap;
	}
	o->firsts[i] = pos[0];
	uint32_t *g = o->gaps_p + o->ngaps;
	for (uint32_t j = 1; j < tf; j++) {
		if (pos[j] <= pos[j - 1]) {
			o_set(o, XIHU_EINVAL, "segment: positions out of order");
			return;
		}
		g[j - 1] = pos[j] - pos[j - 1] - 1;
	}
	o->ngaps += tf - 1;
done:
	if (++o->n == XIHU_BLOCK)
		close_block(o, NULL, 0);
}

int seg_out_term_end(seg_out *o)
{
	if (o->rc)
		return o->rc;
	if (!o->in_term)
		return o_set(o, XIHU_EINVAL, "segment: term_end outside a term");
	o->in_term = false;
	if (o->df == 0)
		return XIHU_OK; /* nothing written: no docs left of it */
	if (o->n > 0)
		close_block(o, NULL, 0);
	if (o_nomem(o, &o->blocks) || o_nomem(o, &o->skips) || o_nomem(o, &o->bpos))
		return o->rc;
	bool single = o->nblocks_term == 1; /* no skip table: min_dl, impact before the block */
	if (single != (o->df <= XIHU_BLOCK)) /* a short block comes only before a whole one */
		return o_set(o, XIHU_EINVAL, "segment: %u blocks for %u docs", o->nblocks_term, o->df);
	xfile_w *post = &o->f[SEG_POST];
	uint8_t pv[16];
	if (single) {
		uint8_t *e = put_varint(pv, get_u32le(o->skips.p + SEG_SKIP_MIN_DL));
		memcpy(e, o->skips.p + SEG_SKIP_IMPACT, 4);
		e += 4;
		xfile_write(post, pv, (size_t)(e - pv));
	} else {
		xfile_write(post, pv, (size_t)(put_varint(pv, o->nblocks_term) - pv));
		xfile_write(post, o->skips.p, o->skips.len);
	}
	xfile_write(post, o->blocks.p, o->blocks.len);
	o_check(o, SEG_POST);
	uint64_t post_len = payload_off(post) - o->post_off;
	uint64_t pos_len = payload_off(&o->f[SEG_POS]) - o->pos_off;

	/* the dictionary entry, front-coded against the previous key */
	uint32_t shared = 0;
	if (o->in_block == TERMS_PER_BLOCK)
		o->in_block = 0;
	if (o->in_block == 0) {
		uint8_t ie[SEG_TERMS_INDEX_ENTRY];
		put_u64(ie, payload_off(&o->f[SEG_TERMS]));
		put_u64(ie + 8, o->post_off);
		put_u64(ie + 16, o->pos_off);
		xspool_put(&o->sp[SP_TINDEX], ie, sizeof ie);
		if (o_spool(o, SP_TINDEX))
			return o->rc;
		o->dict_nblocks++;
	} else {
		uint32_t lim = o->prev_len < o->key_len ? o->prev_len : o->key_len;
		while (shared < lim && o->prev_key[shared] == o->key[shared])
			shared++;
	}
	uint8_t e[XIHU_MAX_TERM + 1 + 64];
	uint8_t *w = put_varint(e, shared);
	w = put_varint(w, o->key_len - shared);
	memcpy(w, o->key + shared, o->key_len - shared);
	w += o->key_len - shared;
	w = put_varint(w, o->df);
	w = put_varint(w, o->cf - o->df);
	w = put_varint(w, o->max_tf - 1);
	w = put_varint(w, post_len);
	w = put_varint(w, pos_len);
	xfile_write(&o->f[SEG_TERMS], e, (size_t)(w - e));
	o_check(o, SEG_TERMS);
	uint8_t hv[8];
	put_u64(hv, kf_hash(o->key, o->key_len));
	xspool_put(&o->sp[SP_THASH], hv, sizeof hv);
	if (o_spool(o, SP_THASH))
		return o->rc;
	memcpy(o->prev_key, o->key, o->key_len);
	o->prev_len = o->key_len;
	o->in_block++;
	o->nterms++;
	return o->rc;
}

/* ---- trigrams ------------------------------------------------------------------ */

/* seg_out_gram's o_set: the message into o->gerr, the code into grc. */
static void g_set(seg_out *o, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void g_set(seg_out *o, int code, const char *fmt, ...)
{
	if (atomic_load_explicit(&o->grc, memory_order_relaxed))
		return;
	va_list ap;
	va_start(ap, fmt);
	xihu_err_setv(&o->gerr, code, fmt, ap);
	va_end(ap);
	atomic_store_explicit(&o->grc, code, memory_order_relaxed);
}

/* Touches only the .grams file and the fields for it, reads nothing the
 * terms change (terms_begun and nids are fixed by terms_begin). */
void seg_out_gram(seg_out *o, uint32_t gram, const uint32_t *ids, uint32_t n)
{
	if (atomic_load_explicit(&o->grc, memory_order_relaxed) || n == 0)
		return;
	if (!o->terms_begun || !(o->created & (1u << SEG_GRAMS))) {
		g_set(o, XIHU_EINVAL, "segment: a trigram before seg_out_terms_begin");
		return;
	}
	if (gram >= SEG_GRAM_MAX || (o->ngrams > 0 && gram <= o->last_gram)) {
		g_set(o, XIHU_EINVAL, "segment: trigram %#x out of order or out of range", gram);
		return;
	}
	for (uint32_t i = 0; i < n; i++) {
		if (ids[i] >= o->nids || (i > 0 && ids[i] <= ids[i - 1])) {
			g_set(o, XIHU_EINVAL, "segment: trigram %#x: bad gram id %u", gram, ids[i]);
			return;
		}
	}
	size_t need = gram_list_max(n) + 8;
	if (need > o->glist_cap) {
		uint8_t *nb = realloc(o->glist, need);
		if (!nb) {
			g_set(o, XIHU_ENOMEM, "segment: out of memory");
			return;
		}
		o->glist = nb;
		o->glist_cap = need;
	}
	xfile_w *f = &o->f[SEG_GRAMS];
	uint8_t e[16];
	put_u32(e, gram);
	put_u32(e + 4, n);
	put_u64(e + 8, payload_off(f));
	xspool_put(&o->sp[SP_GENTRIES], e, sizeof e);
	if (o->sp[SP_GENTRIES].rc) {
		g_set(o, o->sp[SP_GENTRIES].rc, "%s", o->sp[SP_GENTRIES].err.msg);
		return;
	}
	xfile_write(f, o->glist, gram_list_encode(ids, n, o->glist));
	if (f->rc) /* its message is in gerr already */
		atomic_store_explicit(&o->grc, f->rc, memory_order_relaxed);
	o->ngrams++;
	o->last_gram = gram;
}

/* The entries (their offsets 4 bytes wide when the lists allow), the
 * docs' first gram ids and the footer, after the lists. */
static void write_grams(seg_out *o)
{
	xfile_w *f = &o->f[SEG_GRAMS];
	uint64_t lists_len = payload_off(f);
	uint32_t width = lists_len <= UINT32_MAX ? 4 : 8;
	/* the entries from their spool, a window at a time, cut to width */
	size_t per = seg_out_spool_window / 16 + 1;
	uint8_t *buf = malloc(per * 16);
	if (!buf) {
		o_set(o, XIHU_ENOMEM, "segment: out of memory");
		return;
	}
	for (uint64_t i = 0; i < o->ngrams && !o->rc; i += per) {
		size_t n = o->ngrams - i < per ? (size_t)(o->ngrams - i) : per;
		if (xspool_read(&o->sp[SP_GENTRIES], i * 16, buf, n * 16)) {
			o_spool(o, SP_GENTRIES);
			break;
		}
		for (size_t k = 0; k < n; k++) /* little-endian: the low 4 bytes first */
			xfile_write(f, buf + k * 16, 8 + width);
	}
	free(buf);
	uint8_t foot[SEG_GRAMS_FOOTER];
	if (xspool_copy(&o->sp[SP_GFIRST], f))
		o_spool(o, SP_GFIRST);
	put_u32(foot, (uint32_t)o->nids);
	xfile_write(f, foot, 4);
	put_u64(foot, o->ngrams);
	put_u64(foot + 8, lists_len);
	put_u32(foot + 16, o->ndocs);
	put_u32(foot + 20, width);
	put_u32(foot + 24, (uint32_t)o->nids);
	xfile_write(f, foot, sizeof foot);
	o_check(o, SEG_GRAMS);
}

/* Creates .terms, .post, .pos, .docs and .grams: called by the first term (or by
 * finish when there is none).  Split from seg_out_new so a writer that is
 * abandoned before its terms leaves fewer files behind. */
static int open_term_files(seg_out *o)
{
	static const int kinds[5] = {SEG_TERMS, SEG_POST, SEG_POS, SEG_DOCS, SEG_GRAMS};
	for (int i = 0; i < 5 && !o->rc; i++) {
		int k = kinds[i];
		if (o->created & (1u << k))
			continue;
		char name[64];
		file_name(name, sizeof name, o->id, k);
		int rc = xfile_create(&o->f[k], o->dir, name, file_kind[k], o->err);
		if (k == SEG_GRAMS)
			o->f[k].err = &o->gerr; /* written beside the terms: its own error (seg_out_gram) */
		if (rc) {
			o->rc = rc;
			if (o->f[k].fd >= 0)
				o->created |= 1u << k;
		} else {
			o->created |= 1u << k;
		}
	}
	return o->rc;
}

int seg_out_terms_begin(seg_out *o)
{
	if (o->rc)
		return o->rc;
	/* the doc table is complete: the averages the block impacts use */
	o->terms_begun = true;
	for (uint32_t f = 0; f < o->nfields; f++)
		o->avgdl[f] = bm25_avgdl(o->field_total[f], o->ndocs);
	store_flush(o);
	return open_term_files(o);
}

/* ---- finishing ------------------------------------------------------------ */

static void write_docs(seg_out *o, const char *const *field_names)
{
	xfile_w *f = &o->f[SEG_DOCS];
	uint64_t fnames = 0;
	for (uint32_t i = 0; i < o->nfields; i++)
		fnames += 1 + strlen(field_names[i]);
	uint64_t recs_off = 40 + 8 * (uint64_t)o->nfields + fnames;
	uint64_t names_off = recs_off + (uint64_t)o->ndocs * o->rec_size;
	uint64_t names_len = xspool_len(&o->sp[SP_NAMES]);
	uint8_t h[40];
	put_u32(h, o->ndocs);
	put_u32(h + 4, o->nfields);
	put_u32(h + 8, o->rec_size);
	put_u32(h + 12, 0);
	put_u64(h + 16, recs_off);
	put_u64(h + 24, names_off);
	put_u64(h + 32, names_len);
	xfile_write(f, h, sizeof h);
	for (uint32_t i = 0; i < o->nfields; i++) {
		uint8_t t[8];
		put_u64(t, o->field_total[i]);
		xfile_write(f, t, 8);
	}
	for (uint32_t i = 0; i < o->nfields; i++) {
		uint8_t l = (uint8_t)strlen(field_names[i]);
		xfile_write(f, &l, 1);
		xfile_write(f, field_names[i], l);
	}
	if (xspool_copy(&o->sp[SP_RECS], f) || xspool_copy(&o->sp[SP_NAMES], f)) {
		o_spool(o, SP_RECS);
		o_spool(o, SP_NAMES);
	}
	o_check(o, SEG_DOCS);
}

static void unlink_created(seg_out *o)
{
	for (int k = 0; k < SEG_NFILES; k++) {
		if (!(o->created & (1u << k)))
			continue;
		char name[64];
		file_name(name, sizeof name, o->id, k);
		char *path = malloc(strlen(o->dir) + sizeof name + 2);
		if (path) {
			sprintf(path, "%s/%s", o->dir, name);
			unlink(path);
			free(path);
		}
	}
	o->created = 0;
}

/* The key filter after the dictionary's index: zero bytes up to a file
 * offset that is a multiple of 64 (so each line is one cache line of the
 * reader's map), then its lines, built from the keys' hashes spooled by
 * term_end.  Its payload offset, *lines its lines (0 without terms). */
static uint64_t write_key_filter(seg_out *o, uint64_t *lines)
{
	xfile_w *tf = &o->f[SEG_TERMS];
	static const uint8_t zero[KF_LINE];
	xfile_write(tf, zero, (size_t)(-xfile_tell(tf) & (KF_LINE - 1)));
	uint64_t off = payload_off(tf);
	*lines = KF_LINES(o->nterms);
	if (o->rc || !*lines)
		return off;
	if (*lines > UINT32_MAX) {
		o_set(o, XIHU_ELIMIT, "segment: %llu terms, more than the key filter holds",
		      (unsigned long long)o->nterms);
		return off;
	}
	uint8_t *kf = calloc(*lines, KF_LINE);
	uint8_t *hv = malloc(1u << 16);
	if (!kf || !hv) {
		o_set(o, XIHU_ENOMEM, "segment: out of memory for the key filter (%llu bytes)",
		      (unsigned long long)(*lines * KF_LINE));
	} else {
		xspool *sp = &o->sp[SP_THASH];
		for (uint64_t at = 0, n = xspool_len(sp); at < n && !o->rc;) {
			size_t chunk = n - at < (1u << 16) ? (size_t)(n - at) : 1u << 16;
			if (xspool_read(sp, at, hv, chunk)) {
				o_spool(o, SP_THASH);
				break;
			}
			for (size_t i = 0; i + 8 <= chunk; i += 8)
				kf_add(kf, *lines, get_u64le(hv + i));
			at += chunk;
		}
		xfile_write(tf, kf, (size_t)(*lines * KF_LINE));
	}
	free(hv);
	free(kf);
	return off;
}

int seg_out_finish(seg_out *o, const char *const *field_names, seg_info *out)
{
	/* one thread again: the trigrams' error joins the others' */
	int grc = atomic_load_explicit(&o->grc, memory_order_relaxed);
	if (!o->rc && grc) {
		if (o->err)
			*o->err = o->gerr;
		o->rc = grc;
	}
	o->f[SEG_GRAMS].err = o->err;
	if (!o->rc && o->in_term)
		o_set(o, XIHU_EINVAL, "segment: finish inside a term");
	if (!o->rc && o->finished)
		o_set(o, XIHU_EINVAL, "segment: finished twice");
	if (!o->rc)
		seg_out_terms_begin(o);
	if (o->rc)
		goto fail;

	/* the store: index and footer after the blocks */
	xfile_w *st = &o->f[SEG_STORE];
	uint64_t sindex_off = payload_off(st);
	if (xspool_copy(&o->sp[SP_SINDEX], st))
		o_spool(o, SP_SINDEX);
	uint8_t foot[SEG_TERMS_FOOTER];
	put_u64(foot, o->store_nblocks);
	put_u64(foot + 8, sindex_off);
	xfile_write(st, foot, 16);

	/* the dictionary's index and footer, the doc table */
	xfile_w *tf = &o->f[SEG_TERMS];
	uint64_t index_off = payload_off(tf);
	if (xspool_copy(&o->sp[SP_TINDEX], tf))
		o_spool(o, SP_TINDEX);
	uint64_t kf_lines = 0, kf_off = write_key_filter(o, &kf_lines);
	put_u64(foot, o->nterms);
	put_u64(foot + 8, o->dict_nblocks);
	put_u64(foot + 16, index_off);
	put_u32(foot + 24, o->ndocs);
	put_u32(foot + 28, TERMS_PER_BLOCK);
	put_u64(foot + 32, kf_off);
	put_u64(foot + 40, kf_lines);
	xfile_write(tf, foot, SEG_TERMS_FOOTER);
	write_docs(o, field_names);
	write_grams(o);

	uint64_t bytes = 0;
	for (int k = 0; k < SEG_NFILES; k++) {
		xfile_w *f = &o->f[k];
		if (o->rc) {
			xfile_abort(f);
			continue;
		}
		bytes += xfile_tell(f) + 12;
		int rc = xfile_finish(f);
		if (rc && !o->rc)
			o->rc = rc;
	}
	if (o->rc)
		goto fail;
	int rc = xfile_sync_dir(o->dir, o->err);
	if (rc) {
		o->rc = rc;
		goto fail;
	}
	o->finished = true;
	if (out) {
		out->id = o->id;
		out->ndocs = o->ndocs;
		out->nterms = o->nterms;
		out->bytes = bytes;
	}
	return XIHU_OK;
fail:
	for (int k = 0; k < SEG_NFILES; k++)
		if (o->f[k].fd >= 0 || o->f[k].path)
			xfile_abort(&o->f[k]);
	unlink_created(o);
	return o->rc;
}

void seg_out_free(seg_out *o)
{
	if (!o)
		return;
	for (int k = 0; k < SEG_NFILES; k++)
		if (o->f[k].fd >= 0 || o->f[k].path)
			xfile_abort(&o->f[k]);
	if (!o->finished)
		unlink_created(o);
	if (o->zs_init)
		deflateEnd(&o->zs);
	free(o->zout);
	xbuf_free(&o->sblock);
	for (int k = 0; k < SP_N; k++)
		xspool_free(&o->sp[k]);
	free(o->flen);
	xbuf_free(&o->bpos);
	free(o->gaps_p);
	xbuf_free(&o->blocks);
	xbuf_free(&o->skips);
	free(o->glist);
	free(o->dir);
	free(o);
}
