/*
 * seg-int.h: the mapped segment as seg_reader.c owns it, shared with
 * postings.c only (the postings iterator reads the mapped .post/.pos data
 * and the doc table directly, on the hot path).  Everyone else sees the
 * opaque `seg` of index-int.h.  The layout is in docs/FORMAT.md.
 */
#ifndef XIHU_SEG_INT_H
#define XIHU_SEG_INT_H

#include "core/core.h"

enum { SEG_TERMS, SEG_POST, SEG_POS, SEG_DOCS, SEG_STORE, SEG_GRAMS, SEG_NFILES };

/* a skip entry (docs/FORMAT.md §3.2): u32 last_doc, u32 impact (float
 * bits), u32 max_tf, u32 min_dl, u32 doc_off, u64 pos_off, u32 first (the
 * list's docs before the block) */
#define SEG_SKIP_ENTRY 32
#define SEG_SKIP_LAST 0
#define SEG_SKIP_IMPACT 4
#define SEG_SKIP_MAX_TF 8
#define SEG_SKIP_MIN_DL 12
#define SEG_SKIP_DOC_OFF 16
#define SEG_SKIP_POS_OFF 20
#define SEG_SKIP_FIRST 28
#define SEG_DOC_REC_FIXED 48    /* a doc record before its field lengths */
/* a doc record's flags (docs/FORMAT.md §3.4) */
#define SEG_DOC_RECORD 1u    /* a JSON Lines record */
#define SEG_DOC_GREPPABLE 2u /* its raw bytes' trigrams are in .grams */
#define SEG_DOC_ALWAYS 4u    /* exact search reads it from disk, always */
#define SEG_GRAMS_FOOTER 28  /* u64 ngrams, u64 lists_len, u32 ndocs, u32 width, u32 nids */
#define SEG_GRAM_FENCE 32    /* grams.c keeps every 32nd entry's gram in memory */
#define SEG_TERMS_FOOTER 48 /* u64 nterms, nblocks, index_off, u32 ndocs, 32, u64 filter_off, filter_lines */
#define SEG_TERMS_INDEX_ENTRY 24 /* u64 block_off, post_off, pos_off */
#define SEG_STORE_INDEX_ENTRY 24 /* u64 off, comp_len, raw_len */
#define SEG_STORE_FOOTER 16

struct seg {
	uint64_t id;
	char *dir;
	xmap f[SEG_NFILES];
	uint64_t bytes;
	uint32_t ndocs, nfields;
	/* dictionary */
	uint64_t nterms, nblocks;
	const uint8_t *tindex; /* nblocks sparse index entries */
	/* each block's first key, its first 8 bytes big-endian (zero-padded):
	 * a lookup's binary search runs over this dense array in memory and
	 * reads the file's keys only where 8 bytes tie */
	uint64_t *fence;
	uint64_t index_off;    /* = end of the last block */
	const uint8_t *kf;     /* the key filter (keyfilter.c), kf_lines lines */
	uint64_t kf_lines;
	/* doc table */
	uint32_t rec_size;
	const uint8_t *recs;
	const uint8_t *names;
	uint64_t names_len;
	uint64_t field_total[XIHU_MAX_FIELDS];
	char *field_names[XIHU_MAX_FIELDS];
	/* each field's lengths by doc id, copied out of the records at open:
	 * scoring reads one per candidate, and a dense column stays in cache
	 * where the records (one cache line or more each) do not; NULL for a
	 * field with no token in the segment */
	uint32_t *flen[XIHU_MAX_FIELDS];
	/* doc store */
	uint64_t store_nblocks;
	const uint8_t *sindex;
	uint64_t sblocks_len; /* bytes of compressed blocks before the index */
	struct store_cache *cache; /* inflated blocks lately read (seg_doc_text) */
	/* trigrams (grams.c): the entries, each u32 gram, u32 df, then a
	 * width-byte offset into the lists, which start the payload */
	uint64_t ngrams;
	uint32_t gram_width, gram_esize; /* offset bytes (4 or 8); entry bytes */
	const uint8_t *gram_entries;
	uint64_t gram_lists_len;
	uint32_t *gram_fence; /* every SEG_GRAM_FENCE-th entry's gram */
	uint32_t *always;     /* the docs flagged SEG_DOC_ALWAYS, ascending (grams.c) */
	uint32_t nalways;
	const uint8_t *gram_first; /* ndocs + 1 u32: doc d's gram ids are [first[d], first[d+1]) */
	uint32_t ngram_ids;
	/* deletions (deletes.c) */
	xmap del;             /* unmapped when del_gen == 0 */
	uint64_t del_gen;
	uint32_t ndeleted;
	const uint8_t *dels;  /* bitmap, NULL when nothing is deleted */
};

/* Maps and validates s->id's deletions of generation del_gen (0: none) into
 * s->del/dels/ndeleted; needs s->dir, s->id and s->ndocs. */
int deletes_open(seg *s, uint64_t del_gen, bool verify_crc, xihu_err *err);

/* Checks the .grams footer and entry table's shape and builds the fence
 * (seg_open); the full check is grams_check (seg_check.c). */
int grams_open(seg *s, xihu_err *err);
/* Every entry and list of .grams: keys strictly ascending, dfs and offsets
 * in range, every list decoding to exactly df ascending greppable doc ids,
 * the lists area used exactly. */
int grams_check(const seg *s, xihu_err *err);

/* postings_init for a p that was initialized before: keeps (and later
 * frees) its positions buffer, so a loop over many terms does not allocate. */
int postings_reinit(postings *p, const seg *s, const seg_term *t, xihu_err *err);

/* Walks a whole postings list: every doc, freq and position, checking what
 * the writer guarantees (seg_check): counts against the dictionary, block
 * bounds against the docs, and that the term's bytes are used exactly.
 * pos_len is the dictionary's length of the term's positions.  field: the
 * term's key byte (with XIHU_PAIR_FIELD: a pair term, without positions). */
int postings_verify(const seg *s, uint32_t field, const seg_term *t, uint64_t pos_len, xihu_err *err);

/* ==== keyfilter.c: the dictionary's key filter ============================= */

#define KF_LINE 64          /* bytes a line: one cache line */
#define KF_BITS_PER_KEY 10  /* about 1% of absent keys pass */
#define KF_PROBES 7         /* bits set per key, in its one line */
/* the lines of a segment of n keys (0 for none) */
#define KF_LINES(n) (((uint64_t)(n) * KF_BITS_PER_KEY + 8 * KF_LINE - 1) / (8 * KF_LINE))

/* a key's hash (field byte and term, as the dictionary stores it): part of
 * the format, the same on every platform */
uint64_t kf_hash(const uint8_t *key, uint32_t len);
/* sets h's bits in the filter of nlines (1..UINT32_MAX) lines */
void kf_add(uint8_t *lines, uint64_t nlines, uint64_t h);
/* false: no key of hash h was added */
bool kf_test(const uint8_t *lines, uint64_t nlines, uint64_t h);

/* ==== seg_reader.c: the structural part of seg_check (seg_check.c) ======== */

/* Checks a segment opened with CRCs verified: the doc table against the doc
 * store, every store block inflating, the dictionary in order, each term's
 * field known, and the running offsets; each term's postings go to
 * check_term (postings_verify), which seg_reader.c cannot call itself, since
 * postings.c is built on it. */
typedef int (*seg_term_check_fn)(const seg *s, uint32_t field, const seg_term *t, uint64_t pos_len,
                                 xihu_err *err);
int seg_check_structure(const seg *s, seg_term_check_fn check_term, xihu_err *err);

/* ==== seg_writer.c: the in-memory inverter ================================== */

/* The most bytes of term entries and postings a writer holds (32 GiB, what
 * its 32-bit refs reach); past seven eighths of it, begin_doc says the
 * segment is full (XIHU_ELIMIT, not sticky).  Tests make it small. */
extern uint64_t seg_writer_pool_max;

/* ==== seg_out.c: writing a segment's files (seg_writer.c, seg_merge.c) ==== */

#define SEG_STORE_BLOCK (32u << 10) /* bytes of raw text per doc store block */

typedef struct seg_out seg_out;

/* Creates dir/<id>.store; the other files come with the first term.
 * Calls in order: the docs (store_text or store_copy, then doc) in id
 * order, terms_begin, the terms in key order (term_begin, term_doc per doc
 * in id order, term_end), finish.  Errors are sticky; err must outlive o.
 * terms_begin fixes ndocs and the field totals that the block impacts use:
 * a doc after it, or a term before it, is XIHU_EINVAL. */
int seg_out_new(const char *dir, uint64_t id, uint32_t nfields, seg_out **out, xihu_err *err);
void seg_out_set_err(seg_out *o, xihu_err *err); /* copies a pending error over */
int seg_out_rc(const seg_out *o);
size_t seg_out_mem(const seg_out *o);
/* The most each of a seg_out's tables in spools (seg_out.c's top comment)
 * holds in RAM, read by seg_out_new: 1 MiB; tests make it tiny. */
extern size_t seg_out_spool_window;
/* Appends a doc's text to the open store block (a text of a block or more
 * gets its own); out: the block and offset for its record. */
int seg_out_store_text(seg_out *o, const char *text, size_t len, uint32_t *block, uint32_t *off);
/* Writes an already compressed block verbatim (after closing the open one). */
int seg_out_store_copy(seg_out *o, const uint8_t *comp, uint64_t clen, uint64_t rlen, uint32_t *block);
/* The next doc's record; field_len has nfields entries. */
int seg_out_doc(seg_out *o, const seg_doc *d, uint32_t store_block, uint32_t store_off, uint64_t text_len,
                const uint32_t *field_len);
uint32_t seg_out_ndocs(const seg_out *o);
int seg_out_terms_begin(seg_out *o);
/* key = field byte + term bytes, strictly increasing across terms; a
 * pair term's field byte has XIHU_PAIR_FIELD set, and it stores no
 * positions (its pos_len is 0). */
void seg_out_term_begin(seg_out *o, const uint8_t *key, uint32_t klen);
/* doc ascending within the term; pos[0..tf) strictly increasing (not
 * read for a pair term: may be NULL). */
void seg_out_term_doc(seg_out *o, uint32_t doc, uint32_t tf, const uint32_t *pos);
/* XIHU_BLOCK docs at once, ascending after the term's last, with tfs[]: a
 * merge's copy of a whole input block, whose positions come as stored there
 * (pos[0..pos_len), postings_block_positions; NULL for a pair term).  A
 * block open with fewer docs is closed first, short. */
void seg_out_term_block(seg_out *o, const uint32_t *docs, const uint32_t *tfs, const uint8_t *pos,
                        size_t pos_len);
/* A term that got no docs is dropped. */
int seg_out_term_end(seg_out *o);
/* One trigram's list, any time after terms_begin, also from a second
 * thread beside the terms' calls: grams strictly ascending and <
 * SEG_GRAM_MAX, ids[0..n) ascending, each a greppable doc.  n == 0 writes
 * nothing.  Its errors are sticky apart from seg_out_rc's, in
 * seg_out_grams_rc, until finish reports them. */
void seg_out_gram(seg_out *o, uint32_t gram, const uint32_t *ids, uint32_t n);
int seg_out_grams_rc(const seg_out *o);
/* Writes indexes and footers, fsyncs every file and the directory. */
int seg_out_finish(seg_out *o, const char *const *field_names, seg_info *out);
void seg_out_free(seg_out *o); /* unlinks the files of an unfinished segment */

/* ==== seg_reader.c: raw access for seg_merge.c ============================== */

/* Doc docid's text location (no check beyond docid < ndocs). */
void seg_doc_loc(const seg *s, uint32_t docid, uint32_t *block, uint32_t *off, uint64_t *len);
/* Store block b, bounds-checked: its compressed bytes and raw length. */
int seg_store_block(const seg *s, uint64_t b, const uint8_t **comp, uint64_t *clen, uint64_t *rlen,
                    xihu_err *err);
/* Inflates the whole of store block b into buf (room for its raw length). */
int seg_store_inflate(const seg *s, uint64_t b, uint8_t *buf, xihu_err *err);
uint64_t seg_store_nblocks(const seg *s);

/* ==== grams.c: encoding one trigram's list (seg_out.c) ====================== */

/* A list of n ascending gram ids: floor(n/128) bit-packed blocks of gaps
 * (u8 width, packed[128] of id - prev - 1), then the n % 128 left as
 * varint gaps.  Into out (room for gram_list_max(n) bytes); the bytes written. */
static inline size_t gram_list_max(uint32_t n)
{
	return (size_t)n * 5 + (n / XIHU_BLOCK + 1) * 9;
}
size_t gram_list_encode(const uint32_t *ids, uint32_t n, uint8_t *out);

/* ==== gram_acc.c: a writer's trigrams in RAM (seg_writer.c) ================== */

typedef struct gram_acc gram_acc;
gram_acc *gram_acc_new(void);
void gram_acc_free(gram_acc *a);
/* Adds the next doc's distinct trigrams of raw[0..len) under the next gram
 * ids (one, or a block's each when len > GRAM_BLOCK_MIN), their count into
 * *nids.  0 or XIHU_ENOMEM / XIHU_ELIMIT (no message set). */
int gram_acc_doc(gram_acc *a, const uint8_t *raw, size_t len, uint32_t *nids);
/* Where the block of a big doc's raw[0..len) that starts at start ends
 * (past its last '\n', or len): whole lines of about GRAM_BLOCK bytes, a
 * longer line a block of its own. */
size_t gram_block_end(const uint8_t *raw, size_t len, size_t start);
size_t gram_acc_mem(const gram_acc *a);
/* Hands every trigram, ascending, with its docs to seg_out_gram; 0 or an
 * error code (seg_out's, or XIHU_ENOMEM with no message set). */
int gram_acc_write(gram_acc *a, seg_out *o);
/* The most postings gram_acc_write turns around at once (1 Mi, 12 MiB);
 * tests make it tiny. */
extern size_t gram_acc_turn_room;

#endif
