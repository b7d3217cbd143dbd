/*
 * index/core/core.h: the on-disk format: buffers and codecs, index files, segments (writer,
 * reader, postings, deletions, merges) and the manifest.  The lowest layer:
 * it includes no other layer's header.
 *
 * One section per .c file of index/core/.  The layers, bottom up: core,
 * analysis and input (both over core), build (over all three), search (over
 * core and analysis).  A layer includes only its own header and those of the
 * layers below it (scripts/check-layers checks it); daemon/ and client/
 * include none of them, only the public xihu-index.h.
 */
#ifndef XIHU_CORE_CORE_H
#define XIHU_CORE_CORE_H

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "xihu-index.h"

/* The longest term a segment holds, in bytes (analysis skips longer
 * tokens; a pair term must fit too). */
#define XIHU_MAX_TERM 64

/* ==== util.c: growable byte buffer with a sticky error ==================== */

typedef struct xbuf {
	uint8_t *p;
	size_t len, cap;
	int rc; /* XIHU_OK or XIHU_ENOMEM, sticky: writes after a failure are no-ops */
} xbuf;

void xbuf_init(xbuf *b);
void xbuf_free(xbuf *b);
void xbuf_reset(xbuf *b); /* len = 0, keeps memory */
bool xbuf_reserve(xbuf *b, size_t extra);
/* Grows the array *arr (of *cap elements of elem bytes) to hold need,
 * doubling from 16; false (the array as it was) when it cannot. */
bool xarray_reserve(void *arr, size_t *cap, size_t need, size_t elem);
void xbuf_put(xbuf *b, const void *p, size_t n);
void xbuf_put_u8(xbuf *b, uint8_t v);
void xbuf_put_u32le(xbuf *b, uint32_t v);
void xbuf_put_u64le(xbuf *b, uint64_t v);
void xbuf_put_varint(xbuf *b, uint64_t v); /* LEB128, at most 10 bytes */

/* Writes one warning line "xihu-index: " + the formatted message + "\n" to
 * f, as a single stdio write under f's lock (the walk and the pipeline's
 * threads warn at once).  The message holds paths, which may hold any byte
 * but NUL: control bytes (a newline would cut the line in two) and '\\'
 * become octal escapes, \012 for a newline.  f NULL: nothing. */
void warn_line(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vwarn_line(FILE *f, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* FNV-1a of n bytes, its high bits folded down: for the hash tables of
 * names and words, and the records' stamps build.c stores (so it must not
 * change). */
static inline uint64_t hash_bytes(const void *data, size_t n)
{
	const uint8_t *p = data;
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h ^ h >> 29;
}

static inline uint32_t get_u32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t get_u64le(const uint8_t *p)
{
	return (uint64_t)get_u32le(p) | (uint64_t)get_u32le(p + 4) << 32;
}
/* Decodes a LEB128 varint from [*p, end); returns false (and leaves *p) if it
 * runs past end or is longer than 10 bytes. */
bool get_varint_slow(const uint8_t **p, const uint8_t *end, uint64_t *out);
/* Inline for the one-byte case, most of a dictionary's and a short list's
 * numbers; anything longer goes to the checked loop in util.c. */
static inline bool get_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
	if (*p < end && !(**p & 0x80)) {
		*out = **p;
		(*p)++;
		return true;
	}
	return get_varint_slow(p, end, out);
}

uint64_t now_ns(void); /* CLOCK_MONOTONIC */

/* ==== codec.c: blocks of 128 unsigned integers, bit-packed ================ */

#define XIHU_BLOCK 128

/* Bits needed for the largest of n values (0 when all are 0). */
unsigned codec_bits(const uint32_t *v, size_t n);
/* Packs n (<= XIHU_BLOCK) values at `bits` each into out; returns bytes written
 * (= ceil(n*bits/8)).  out must have room for that plus 8 bytes of slack. */
size_t codec_pack(const uint32_t *v, size_t n, unsigned bits, uint8_t *out);
/* Unpacks n values; returns bytes consumed, or 0 if in/avail is too short. */
size_t codec_unpack(const uint8_t *in, size_t avail, size_t n, unsigned bits, uint32_t *v);
/* PFor (codec.c's top comment): n (<= XIHU_BLOCK) values at the width that
 * makes the chunk smallest, wider values patched.  out needs room for
 * CODEC_PFOR_MAX bytes; returns bytes written. */
#define CODEC_PFOR_MAX (3 + XIHU_BLOCK * 4 + XIHU_BLOCK + XIHU_BLOCK * 4 + 8)
size_t codec_pfor_encode(const uint32_t *v, size_t n, uint8_t *out);
/* Bytes of the chunk at in (from its header), or 0 if it is malformed or
 * longer than avail. */
size_t codec_pfor_size(const uint8_t *in, size_t avail, size_t n);
/* Decodes n values; returns the chunk's bytes, or 0 if it is malformed. */
size_t codec_pfor_decode(const uint8_t *in, size_t avail, size_t n, uint32_t *v);

/* ==== xfile.c: index files with magic + version header and CRC trailer ==== */

/* File kinds: the 8-byte magic is "XIHU" followed by the 4-byte kind. */
#define XFILE_MANIFEST "MANI"
#define XFILE_TERMS "TERM"
#define XFILE_POSTINGS "POST"
#define XFILE_POSITIONS "POSN"
#define XFILE_DOCS "DOCS"
#define XFILE_STORE "STOR"
#define XFILE_DELETES "DELS"
#define XFILE_SETTINGS "SETT"
#define XFILE_GRAMS "GRAM"

typedef struct xfile_w {
	int fd;
	char *path;
	uint64_t off; /* bytes written so far, header included */
	uint32_t crc;
	int rc; /* sticky */
	xihu_err *err;
	size_t blen;
	uint8_t *buf;
} xfile_w;

/* Creates dir/name (O_EXCL unless tmp) and writes the header. */
int xfile_create(xfile_w *w, const char *dir, const char *name, const char kind[4], xihu_err *err);
void xfile_write(xfile_w *w, const void *p, size_t n); /* sticky error */
uint64_t xfile_tell(const xfile_w *w);                   /* offset from file start */
/* Writes the trailer, fsyncs and closes; returns w->rc. */
int xfile_finish(xfile_w *w);
void xfile_abort(xfile_w *w); /* closes and unlinks */

typedef struct xmap {
	const uint8_t *base; /* whole mapping */
	size_t size;
	const uint8_t *data; /* payload: after the header, before the trailer */
	size_t len;
	uint64_t data_off; /* offset of data in the file (for error messages) */
	char *path;
} xmap;

/* Maps dir/name, checks magic, kind, version and (if verify_crc) the CRC. */
int xfile_map(xmap *m, const char *dir, const char *name, const char kind[4], bool verify_crc,
              xihu_err *err);
void xfile_unmap(xmap *m);
/* Gives back the pages of m this process has touched (its RSS): the
 * mapping is read-only and never written, so the file supplies them again
 * on the next read, from the page cache when they are still there. */
void xfile_release(const xmap *m);
/* A spool: a table a file needs only at its end (an index after the data
 * it indexes), kept out of RAM as it grows.  Bytes are put at its end into
 * a window of at most `window` bytes; a full window goes to a temporary
 * file in dir, named NAME (it must end in ".tmp", so that an index's
 * garbage collection removes it when a kill left it) and unlinked once
 * open.  Errors are sticky in rc with their message in err (naming the
 * file); every call after one is a no-op. */
typedef struct xspool {
	xbuf win;      /* the bytes after the file's */
	size_t window; /* the most win holds before it goes to the file */
	int fd;        /* -1: nothing in a file yet */
	uint64_t flen; /* bytes in the file */
	char *path;    /* of the temporary file, for messages */
	int rc;
	xihu_err err;
} xspool;

/* Sets s up (no file yet); false when out of memory (s->rc set). */
bool xspool_init(xspool *s, const char *dir, const char *name, size_t window);
void xspool_put(xspool *s, const void *p, size_t n);
uint64_t xspool_len(const xspool *s);
/* Reads n bytes at off (off + n <= xspool_len) into p; 0 or rc. */
int xspool_read(xspool *s, uint64_t off, void *p, size_t n);
/* Appends all of s to w, in chunks of its window; 0 or s->rc (a failure
 * of w is w's sticky error). */
int xspool_copy(xspool *s, xfile_w *w);
void xspool_free(xspool *s); /* closes the file (already unlinked) */
/* Convenience: XIHU_ECORRUPT "PATH: offset N: what" for an offset into m->data. */
int xfile_corrupt(const xmap *m, size_t data_off, xihu_err *err, const char *what);
/* fsyncs a directory, so that files created or renamed in it last. */
int xfile_sync_dir(const char *dir, xihu_err *err);
/* Renames dir/tmp (written and fsynced) over dir/name and fsyncs dir: the
 * atomic step of a commit.  On failure tmp is removed and name untouched. */
int xfile_install(const char *dir, const char *tmp, const char *name, xihu_err *err);
/* Writes payload as file `name` of kind through `tmp`: create, write,
 * fsync, then xfile_install.  For the small files replaced whole
 * (MANIFEST, SETTINGS). */
int xfile_put_atomic(const char *dir, const char *tmp, const char *name, const char kind[4], const void *payload,
                     size_t len, xihu_err *err);
/* mkdir -p of dir; the directories it creates are 0700, whatever the umask
 * (which can only take bits away). */
int xfile_mkdir_private(const char *dir, xihu_err *err);
/* Takes group and other bits off dir and the regular files in it that the
 * caller owns (an index made before files were 0600, or widened by hand);
 * what cannot be changed is left for xihu_index_modes to report. */
void xfile_make_private(const char *dir);

/* ==== seg_writer.c: documents -> one immutable segment =================== */

enum { FIELD_BODY = 0, FIELD_PATH = 1, FIELD_TITLE = 2, FIELD_DEF = 3, XIHU_MAX_FIELDS = 16 };
/* A pair term's key byte is its field's | XIHU_PAIR_FIELD (settings.c,
 * analysis_is_pairword): pair terms sort after every word and stay out of
 * every walk over a field's words (prefixes, fuzzy, merges of words). */
#define XIHU_PAIR_FIELD 0x80u
/* A pair term's bytes, "a b", into out (XIHU_MAX_TERM bytes); its length,
 * or 0 when it would be longer than a term may be (then no pair is made,
 * and a phrase of those words walks positions). */
static inline uint32_t pair_term(uint8_t *out, const void *a, uint32_t alen, const void *b, uint32_t blen)
{
	if (alen + 1 + blen > XIHU_MAX_TERM)
		return 0;
	memcpy(out, a, alen);
	out[alen] = ' ';
	memcpy(out + alen + 1, b, blen);
	return alen + 1 + blen;
}

typedef struct seg_doc_in {
	const char *name; /* absolute path or record id */
	uint32_t name_len;
	bool record;
	int64_t mtime_ns;
	uint64_t size;
	const char *text; /* stored in the doc store for lines and snippets */
	size_t text_len;
	/* the raw bytes whose trigrams go to the .grams file (exact search):
	 * NULL for a doc grep cannot read (not greppable) */
	const char *raw;
	size_t raw_len;
	/* a file exact search must always read from disk (skipped for size):
	 * give it no text, no raw bytes and no tokens */
	bool always;
} seg_doc_in;

typedef struct seg_info {
	uint64_t id;
	uint32_t ndocs;
	uint64_t nterms;
	uint64_t bytes; /* all files of the segment */
} seg_info;

typedef struct seg_writer seg_writer;

/* Limits: doc ids are < SEG_MAX_DOCS (UINT32_MAX is POSTINGS_END); token
 * positions are <= XIHU_MAX_POS.  Past either, the writer returns XIHU_ELIMIT. */
#define SEG_MAX_DOCS (UINT32_MAX - 1)
#define XIHU_MAX_POS (UINT32_MAX - 1)

/* Segment files are dir/<id as %012llx>.<ext>.  field_names[0] = "body", [1] = "path".
 * err receives the messages of begin_doc/add_token/end_doc failures and must
 * outlive the writer.  Positions of one field of one doc should increase;
 * a term's position not above its last one in that doc is stored as last+1
 * (tf stays right; phrases across a restart are approximate). */
int seg_writer_new(const char *dir, uint64_t seg_id, uint32_t nfields, const char *const *field_names,
                   seg_writer **out, xihu_err *err);
/* Lowers the documents this segment takes (a flush policy; tests).  begin_doc
 * past it returns XIHU_ELIMIT without spoiling the writer: finish it and
 * start the next segment. */
void seg_writer_set_max_docs(seg_writer *w, uint32_t max_docs);
/* From now on, adds a pair term for every two adjacent words of a field
 * for which is_pairword(ctx, ...) holds (analysis_is_pairword); NULL: none. */
typedef bool (*seg_pairword_fn)(const void *ctx, const char *term, uint32_t len);
void seg_writer_set_pairs(seg_writer *w, seg_pairword_fn is_pairword, const void *ctx);
/* Adds one document: begin, its tokens per field, end.  Doc ids are dense from 0. */
int seg_writer_begin_doc(seg_writer *w, const seg_doc_in *d);
void seg_writer_add_token(seg_writer *w, uint32_t field, const char *term, uint32_t len, uint32_t pos);
/* Like add_token, for a token sharing its position with another (an
 * identifier's whole form, analyze.c): not counted in the field's length. */
void seg_writer_add_overlap(seg_writer *w, uint32_t field, const char *term, uint32_t len, uint32_t pos);
int seg_writer_end_doc(seg_writer *w);
size_t seg_writer_mem(const seg_writer *w); /* bytes of RAM held, for a flush budget */
uint32_t seg_writer_ndocs(const seg_writer *w);
/* Writes all files, fsyncs them; the segment is not live until a manifest names it. */
int seg_writer_finish(seg_writer *w, seg_info *out, xihu_err *err);
void seg_writer_free(seg_writer *w); /* after finish, or to abandon (unlinks files) */

/* ==== seg_reader.c: one mapped segment ==================================== */

typedef struct seg seg;

typedef struct seg_term {
	uint32_t df;     /* documents containing the term */
	uint64_t cf;     /* total occurrences */
	uint32_t max_tf; /* largest tf in any doc */
	/* where its postings live; meaning is private to the reader */
	uint64_t post_off, post_len, pos_off;
} seg_term;

/* del_gen 0: no deletions; else dir/<id>_<del_gen>.del is mapped and checked too. */
int seg_open(const char *dir, uint64_t seg_id, uint64_t del_gen, bool verify_crc, seg **out,
             xihu_err *err);
void seg_close(seg *s);
/* Gives back the pages of s's mappings this process has touched (its RSS;
 * the page cache keeps them, and a later read maps them again): a merge
 * calls it as it goes, so reading its inputs costs a bounded window of
 * memory, not their size. */
void seg_release_pages(const seg *s);
uint64_t seg_id(const seg *s);
uint32_t seg_ndocs(const seg *s);
uint64_t seg_nterms(const seg *s);
uint64_t seg_bytes(const seg *s);
uint32_t seg_nfields(const seg *s);
const char *seg_field_name(const seg *s, uint32_t field);
uint64_t seg_field_total(const seg *s, uint32_t field); /* sum of field lengths, for avgdl */

/* 1 found, 0 not found, <0 corrupt (err set). */
int seg_lookup(const seg *s, uint32_t field, const char *term, uint32_t len, seg_term *out, xihu_err *err);

/* Terms of one field starting with a prefix, in byte order. */
typedef struct seg_term_iter {
	const seg *s;
	uint32_t field;
	char prefix[XIHU_MAX_TERM + 1];
	uint32_t prefix_len;
	uint64_t state[8]; /* private to the reader */
	char term[XIHU_MAX_TERM + 1];
} seg_term_iter;
int seg_prefix_init(seg_term_iter *it, const seg *s, uint32_t field, const char *prefix, uint32_t len,
                    xihu_err *err);
/* The same iterator over every term of the field from the first >= from
 * (len bytes) on, for walks that skip ahead (fuzzy matching): seek again
 * with a new call.  seg_prefix_next steps it. */
int seg_terms_from(seg_term_iter *it, const seg *s, uint32_t field, const char *from, uint32_t len,
                   xihu_err *err);
/* 1 with term, len and out filled; 0 at the end; <0 corrupt. */
int seg_prefix_next(seg_term_iter *it, const char **term, uint32_t *len, seg_term *out, xihu_err *err);

typedef struct seg_doc {
	const char *name; /* points into the mapping; not NUL-terminated */
	uint32_t name_len;
	bool record;
	bool greppable; /* its raw bytes' trigrams are in the .grams file */
	bool always;    /* exact search reads it whatever the pattern (seg_doc_always) */
	int64_t mtime_ns;
	uint64_t size;
	uint32_t gram_ids; /* gram ids it owns in .grams: >= 1 when greppable, else 0 */
} seg_doc;
int seg_doc_get(const seg *s, uint32_t docid, seg_doc *out, xihu_err *err);
uint32_t seg_doc_field_len(const seg *s, uint32_t docid, uint32_t field); /* no check: docid < ndocs */
/* Decompresses the stored text of docid into a malloc'd buffer (caller frees). */
int seg_doc_text(const seg *s, uint32_t docid, char **text, size_t *len, xihu_err *err);
/* Full check: CRCs, every dictionary entry and postings list decodes in order,
 * and the deletions of generation del_gen (0: none). */
int seg_check(const char *dir, uint64_t seg_id, uint64_t del_gen, xihu_err *err);

/* ==== grams.c: the trigrams of the raw text, per segment (exact search) == */

/* A trigram is 3 bytes of a document's raw bytes holding no '\n', packed as
 * b0 | b1 << 8 | b2 << 16 (index/grep/grep.h, gram_pack).  Each segment's
 * .grams file lists, per trigram, the ascending *gram ids* holding it
 * (docs/FORMAT.md §3.7): a greppable doc of at most GRAM_BLOCK_MIN raw
 * bytes owns one gram id, a bigger one one per block of whole lines of
 * about GRAM_BLOCK bytes (a longer line is a block of its own), so the
 * trigrams of a match (which never spans a '\n') are in one gram id.  The
 * docs own consecutive gram ids in doc order; not greppable, none. */
#define SEG_GRAM_MAX (1u << 24)      /* every packed trigram is below */
#define GRAM_BLOCK_MIN (256u << 10)  /* a doc of more raw bytes is cut into blocks */
#define GRAM_BLOCK (64u << 10)       /* of about this many bytes */

typedef struct seg_gram {
	uint32_t df;        /* gram ids holding the trigram, >= 1 */
	uint64_t off, len;  /* its list in the .grams file; private to the reader */
} seg_gram;

/* 1 found (out filled), 0 the segment has no such trigram, <0 corrupt. */
int seg_gram_lookup(const seg *s, uint32_t gram, seg_gram *out, xihu_err *err);
/* Decodes g's gram ids, ascending, into ids (room for g->df); every read is
 * bounds-checked.  0 or XIHU_ECORRUPT naming the file and offset. */
int seg_gram_docs(const seg *s, const seg_gram *g, uint32_t *ids, xihu_err *err);
/* Gram ids in the segment; doc d's are [seg_gram_first(d), seg_gram_first(d + 1))
 * (d <= ndocs); the doc owning gram id id (< seg_ngram_ids; else UINT32_MAX). */
uint32_t seg_ngram_ids(const seg *s);
uint32_t seg_gram_first(const seg *s, uint32_t doc);
uint32_t seg_gram_doc(const seg *s, uint32_t id);
/* ids[0..n) ascending gram ids (< seg_ngram_ids) to their docs, ascending
 * and distinct, in place; how many docs. */
uint32_t seg_gram_ids_docs(const seg *s, uint32_t *ids, uint32_t n);
/* Trigrams in the segment; the i-th (0 <= i < seg_ngrams) in key order:
 * its packed value into *gram and its list into *out (for merges). */
uint64_t seg_ngrams(const seg *s);
int seg_gram_at(const seg *s, uint64_t i, uint32_t *gram, seg_gram *out, xihu_err *err);
/* Whether doc (< ndocs) had its raw bytes indexed; whether it is always a
 * candidate of exact search (a file skipped for size: read it from disk). */
bool seg_doc_greppable(const seg *s, uint32_t doc);
bool seg_doc_always(const seg *s, uint32_t doc);
/* The docs seg_doc_always holds for, ascending, into *docs (owned by s); their number. */
uint32_t seg_always_docs(const seg *s, const uint32_t **docs);

/* ==== deletes: which docs of a segment are gone (seg_reader.c, deletes.c) == */

uint32_t seg_ndeleted(const seg *s);
/* The deletions bitmap (bit d set: doc d is deleted), or NULL when none. */
const uint8_t *seg_deletes(const seg *s);
static inline bool seg_bitmap_test(const uint8_t *bm, uint32_t d)
{
	return bm && (bm[d >> 3] >> (d & 7) & 1);
}
/* Writes dir/<id>_<del_gen>.del (kind DELS) holding (ndocs + 7) / 8 bytes of
 * bitmap (padding bits past ndocs are written as 0), fsynced with its
 * directory; it is not live until a manifest names del_gen.  del_gen must be
 * above the generation the manifest names: an uncommitted file of the same
 * generation (left by a crash) is replaced. */
int seg_write_deletes(const char *dir, uint64_t seg_id, uint64_t del_gen, const uint8_t *bitmap,
                      uint32_t ndocs, xihu_err *err);

/* ==== seg_merge.c: several segments -> one ================================ */

/* Writes segment out_id holding the live docs of in[0..n) in input order
 * (segment by segment, doc ids ascending), with deleted docs purged;
 * fsynced, not live until a manifest names it.  out->ndocs may be 0. */
int seg_merge(const char *dir, const seg *const *in, uint32_t n, uint64_t out_id, seg_info *out,
              xihu_err *err);

/* ==== util.c: BM25's tf part, as the block impacts store it ============== */

/* BM25's parameters, for the writer's block impacts (docs/FORMAT.md §3.2)
 * and for scoring: a query scoring with other values must not use the
 * stored impacts as bounds.  b by measurement (bench/ir-eval, six
 * collections, --stem english, BM25F and index/search/score.c's idf):
 * nDCG@10 mean 0.5021 at b 0.5, 0.5025 at 0.55, 0.5022 at 0.6, 0.5014 at
 * 0.65; TIME, whose articles vary most in length, 0.7532, 0.7576, 0.7569,
 * 0.7604, where SQLite FTS5 (b 0.75) has 0.7544.  bench/code-probe at 0.6:
 * the same success@1 as at 0.5 (Go 92.0% against 91.5%). */
#define XIHU_BM25_K1 2.0
#define XIHU_BM25_B 0.55

/* A field's average length in one segment: (double)field_total /
 * (double)ndocs, 0 when ndocs is 0 (seg_field_total and seg_ndocs give the
 * reader the writer's values). */
double bm25_avgdl(uint64_t field_total, uint32_t ndocs);
/* tf / (tf + K1 * (1 - B + B * dl / avgdl)), in double; the length term
 * B * dl / avgdl is 0 when avgdl is 0.  In (0, 1) for tf >= 1.  One
 * definition, so the writer and the check agree to the bit. */
double bm25_tf_norm(uint32_t tf, uint32_t dl, double avgdl);
/* The smallest float >= x (x rounded up), for storing a bound. */
float bm25_float_up(double x);

/* ==== postings.c: iterating one term's postings ========================== */

#define POSTINGS_END UINT32_MAX

typedef struct postings {
	const seg *s;
	seg_term t;
	uint32_t doc;  /* current doc id, POSTINGS_END when exhausted */
	int rc;        /* sticky: XIHU_ECORRUPT stops the iteration */
	xihu_err *err; /* where a corruption message goes */
	/* the current block's bounds, for block-max pruning (read-only):
	 * every doc d in it has blk_first <= d <= blk_last, tf <= blk_max_tf and
	 * field length >= blk_min_dl, so BM25(blk_max_tf, blk_min_dl) bounds it;
	 * tighter, bm25_tf_norm(tf, dl, avgdl of this segment) <= blk_impact for
	 * each of its docs (docs/FORMAT.md §3.2 on other avgdls) */
	uint32_t blk_first, blk_last, blk_max_tf, blk_min_dl;
	float blk_impact;
	/* the largest blk_impact of the term's blocks (deleted docs included):
	 * the term's bound on tf_norm in this segment; in (0, 1] */
	float term_max_impact;
	/* the shallow cursor (postings_shallow), apart from the decoded block:
	 * block sh_block's last doc, impact, max tf and min field length, read
	 * from the skip table without decoding the block.  After init it is at
	 * block 0; past the last block sh_last is POSTINGS_END, sh_impact 0,
	 * sh_max_tf 0 and sh_min_dl UINT32_MAX.  Read-only. */
	uint32_t sh_block, sh_last, sh_max_tf, sh_min_dl;
	float sh_impact;
	/* decoding state, private to postings.c */
	uint32_t i, n; /* index in the current block, docs in it */
	uint32_t block, nblocks;
	uint32_t df, ndocs;
	const uint8_t *blocks, *end; /* this term's blocks in .post */
	const uint8_t *skip;         /* its skip table, NULL for one block */
	const uint8_t *next;         /* the block after the current one */
	const uint8_t *pos_base, *pos_end; /* this term's positions; end of .pos */
	const uint8_t *pos_cur; /* the block's next gap chunk; NULL: firsts not decoded */
	uint32_t pos_chunk;     /* the index of that chunk */
	uint32_t pos_cached;    /* the gap chunk decoded in pos[128..256), UINT32_MAX none */
	uint32_t pos_ngaps;     /* gaps in the block: sum of (tf - 1) */
	uint32_t pos_cur_i;     /* a doc index of the block, and where its gaps start: */
	uint64_t pos_gap;
	uint64_t pos_rel;       /* the block's positions, from pos_base */
	int pos_decoded_i;      /* doc index whose positions are in pos[256..), -1 none */
	uint32_t docs[XIHU_BLOCK];
	uint32_t freqs[XIHU_BLOCK];
	uint32_t *pos; /* [0,128) the block's first positions, [128,256) a gap chunk, then the doc's */
	uint32_t pos_cap, npos; /* room at pos + 256; positions there */
} postings;

/* Positions p on the term's first doc (p->doc; postings_freq works at once).
 * Returns XIHU_ECORRUPT if the term's data is bad.  p borrows s and err. */
int postings_init(postings *p, const seg *s, const seg_term *t, xihu_err *err);
uint32_t postings_next(postings *p);                   /* next doc or POSTINGS_END */
uint32_t postings_advance(postings *p, uint32_t target); /* first doc >= target */
/* Moves the shallow cursor, never backwards, to the first block (from its
 * current one) whose last doc >= target, without decoding anything, and
 * returns that last doc (sh_last), or POSTINGS_END when no block has one
 * (or p->rc is set).  The decoded block (p->doc, blk_*) does not move; a
 * later postings_advance(p, t) with target <= t <= sh_last lands in block
 * sh_block (unless p->doc was already past sh_last).  For a single-block
 * term it describes that block, then POSTINGS_END. */
uint32_t postings_shallow(postings *p, uint32_t target);
static inline uint32_t postings_freq(const postings *p) { return p->freqs[p->i]; }
/* Positions of the current doc, ascending; returns the count, <0 corrupt. */
int postings_positions(postings *p, const uint32_t **out);
/* The current block's positions as stored (the chunk of its docs' first
 * positions, then the chunks of the gaps), each chunk's header checked, not
 * decoded: the merge copies them as they are.  p must be at the block's
 * first doc; false (p->rc set) on bad bytes. */
bool postings_block_positions(postings *p, const uint8_t **out, size_t *len);
uint32_t postings_next_block(postings *p); /* the next block's first doc, or POSTINGS_END */
/* At the first doc of a block of XIHU_BLOCK docs (p->docs, p->freqs). */
static inline bool postings_whole_block(const postings *p)
{
	return p->doc != POSTINGS_END && p->i == 0 && p->n == XIHU_BLOCK;
}
void postings_free(postings *p);

/* ==== manifest.c: the list of live segments, replaced atomically ========= */

typedef struct manifest_seg {
	uint64_t id;
	uint32_t ndocs;
	uint64_t del_gen; /* 0: no deletions file */
} manifest_seg;

typedef struct manifest {
	uint64_t generation;  /* +1 per commit */
	uint64_t next_seg_id; /* ids are never reused */
	uint32_t nsegs;
	manifest_seg *segs;
	uint32_t nroots; /* the trees and JSONL files the index was built from */
	char **roots;
} manifest;

/* XIHU_ENOINDEX when dir has no MANIFEST. */
int manifest_read(const char *dir, manifest *m, xihu_err *err);
/* Writes MANIFEST.tmp, fsyncs, renames over MANIFEST, fsyncs dir. */
int manifest_write(const char *dir, const manifest *m, xihu_err *err);
void manifest_free(manifest *m);

#endif
