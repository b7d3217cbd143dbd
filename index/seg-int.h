/*
 * seg-int.h: the mapped segment as seg_reader.c owns it, shared with
 * postings.c only (the postings iterator reads the mapped .post/.pos data
 * and the doc table directly, on the hot path).  Everyone else sees the
 * opaque `seg` of index-int.h.  The layout is in docs/FORMAT.md.
 */
#ifndef XIHU_SEG_INT_H
#define XIHU_SEG_INT_H

#include "index-int.h"

enum { SEG_TERMS, SEG_POST, SEG_POS, SEG_DOCS, SEG_STORE, SEG_NFILES };

#define SEG_SKIP_ENTRY 24       /* u32 last_doc, max_tf, min_dl, doc_off; u64 pos_off */
#define SEG_DOC_REC_FIXED 48    /* a doc record before its field lengths */
#define SEG_TERMS_FOOTER 32
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
	uint64_t index_off;    /* = end of the last block */
	/* doc table */
	uint32_t rec_size;
	const uint8_t *recs;
	const uint8_t *names;
	uint64_t names_len;
	uint64_t field_total[XIHU_MAX_FIELDS];
	char *field_names[XIHU_MAX_FIELDS];
	/* doc store */
	uint64_t store_nblocks;
	const uint8_t *sindex;
	uint64_t sblocks_len; /* bytes of compressed blocks before the index */
	/* deletions (deletes.c) */
	xmap del;             /* unmapped when del_gen == 0 */
	uint64_t del_gen;
	uint32_t ndeleted;
	const uint8_t *dels;  /* bitmap, NULL when nothing is deleted */
};

/* Maps and validates s->id's deletions of generation del_gen (0: none) into
 * s->del/dels/ndeleted; needs s->dir, s->id and s->ndocs. */
int deletes_open(seg *s, uint64_t del_gen, bool verify_crc, xihu_err *err);

/* Walks a whole postings list: every doc, freq and position, checking what
 * the writer guarantees (seg_check): counts against the dictionary, block
 * bounds against the docs, and that the term's bytes are used exactly.
 * pos_len is the dictionary's length of the term's positions. */
int postings_verify(const seg *s, uint32_t field, const seg_term *t, uint64_t pos_len, xihu_err *err);

#endif
