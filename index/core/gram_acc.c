/*
 * gram_acc.c: a segment writer's trigrams in RAM, until finish writes them
 * as the .grams file (grams.c has the layout).
 *
 * The unit is the gram id (docs/FORMAT.md §3.7): a doc of at most
 * GRAM_BLOCK_MIN raw bytes is one, a bigger one is cut at '\n's into
 * blocks of about GRAM_BLOCK bytes (gram_block_end), one gram id each, so
 * that the trigrams of a pattern must meet in one block (a match never
 * spans a '\n').  Gram ids are handed out in order from 0.
 *
 * Per gram id: one pass over its bytes rolls the trigram (b0 | b1 << 8 |
 * b2 << 16) and skips every one holding a '\n'; a bitmap of all 2^24
 * trigrams (2 MiB, 2^18 words) keeps the distinct ones, and the words it
 * set first are listed.  The listed words, radix-sorted, give the
 * distinct trigrams in ascending order (each word cleared as it is read:
 * clearing costs the block's words, not 2 MiB); they are appended to a
 * log as varint gaps (gram - prev - 1), some 2 bytes a trigram.
 *
 * So RAM is per posting only: no entry, hash slot or list per trigram
 * (most trigrams of a segment are in one or two of its docs, and those
 * cost 40 bytes and more each in a table).  The log is a list of blocks,
 * each gram id's record whole in one: varint id, varint byte length, gaps.
 *
 * gram_acc_write turns the log around: over the trigram space in windows
 * of WINDOW trigrams, every record's cursor gives its trigrams in the
 * window as (trigram, id) pairs, ids ascending; a stable radix sort on the
 * trigram's low 16 bits puts each trigram's ids together, ascending.
 *
 * Invariants: docs come in order, ids ascending; the log's blocks and the
 * word lists are counted in gram_acc_mem (the writer's flush budget).
 * Errors are return codes with no message: seg_writer.c words
 * them.
 *
 * Callers: seg_writer.c.
 */
#include <stdlib.h>
#include <string.h>

#include "core/seg-int.h"

#define NWORDS (SEG_GRAM_MAX / 64) /* the bitmap's words: 2^18 */
#define DW_MIN 1024                /* a doc's word list starts here, doubles up to NWORDS */
#define DW_KEEP 16384              /* and is cut back after a doc that took it past this */
#define BLOCK (64u << 10)          /* log blocks; a bigger doc's record gets its own */
#define BLOCK_MIN 4096u            /* the first block; each next one the log's size so far */
#define WINDOW_BITS 16             /* gram_acc_write's window: 2^16 trigrams */

typedef struct lblock {
	uint8_t *p;
	size_t used, cap;
} lblock;

struct gram_acc {
	uint64_t *seen;  /* 2^24 bits: the current gram id's trigrams */
	uint32_t *dw;    /* the words of seen it set, then sorted */
	uint32_t *dtmp;  /* the radix sort's other half */
	size_t ndw, dw_cap;
	lblock *b; /* the log */
	size_t nb, b_cap;
	size_t log_mem;   /* sum of the blocks' capacities */
	uint32_t next_id; /* the next gram id to hand out */
};

gram_acc *gram_acc_new(void)
{
	return calloc(1, sizeof(gram_acc));
}

static void free_log(gram_acc *a)
{
	for (size_t i = 0; i < a->nb; i++)
		free(a->b[i].p);
	free(a->b);
	a->b = NULL;
	a->nb = a->b_cap = a->log_mem = 0;
}

void gram_acc_free(gram_acc *a)
{
	if (!a)
		return;
	free_log(a);
	free(a->seen);
	free(a->dw);
	free(a->dtmp);
	free(a);
}

/* The bitmap is left out: 2 MiB of address space of which a doc touches a
 * few pages (ASCII text some 400 KiB), fixed per writer rather than growing
 * with the segment; counted, it alone would fill a small --ram-mb and cut a
 * segment per doc. */
size_t gram_acc_mem(const gram_acc *a)
{
	if (!a)
		return 0;
	return sizeof *a + 2 * a->dw_cap * sizeof(uint32_t) + a->b_cap * sizeof(lblock) + a->log_mem;
}

static bool dw_resize(gram_acc *a, size_t cap)
{
	uint32_t *nd = realloc(a->dw, cap * sizeof *nd);
	if (nd)
		a->dw = nd;
	uint32_t *nt = nd ? realloc(a->dtmp, cap * sizeof *nt) : NULL;
	if (nt)
		a->dtmp = nt;
	if (!nd || !nt)
		return false;
	a->dw_cap = cap;
	return true;
}

/* Where a scan of a gram id's bytes stands: the rolling trigram, the bytes
 * since the last '\n' (at most 3 count) and the next byte. */
typedef struct scan {
	uint32_t g, run;
	size_t i;
} scan;

/* Sets the bits of the gram id's next trigrams in a->seen, listing in a->dw
 * each word set first, until the text ends or a->dw is full. */
static void collect(gram_acc *a, const uint8_t *raw, size_t len, scan *sc)
{
	uint64_t *seen = a->seen;
	uint32_t *out = a->dw;
	size_t n = a->ndw, cap = a->dw_cap, i = sc->i;
	uint32_t g = sc->g, run = sc->run;
	for (; i < len && n < cap; i++) {
		uint8_t b = raw[i];
		g = g >> 8 | (uint32_t)b << 16;
		if (b == '\n') {
			run = 0;
			continue;
		}
		if (run < 2) {
			run++;
			continue;
		}
		uint64_t w = seen[g >> 6];
		out[n] = g >> 6;
		n += w == 0;
		seen[g >> 6] = w | 1ull << (g & 63);
	}
	sc->i = i;
	sc->g = g;
	sc->run = run;
	a->ndw = n;
}

/* a->dw[0..ndw) (values < 2^18) ascending: two stable passes of 9 bits. */
static void sort_words(gram_acc *a)
{
	uint32_t *x = a->dw, *y = a->dtmp;
	size_t n = a->ndw;
	for (unsigned shift = 0; shift < 18; shift += 9) {
		uint32_t cnt[512] = {0};
		for (size_t i = 0; i < n; i++)
			cnt[(x[i] >> shift) & 511]++;
		for (uint32_t k = 0, sum = 0; k < 512; k++) {
			uint32_t c = cnt[k];
			cnt[k] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			y[cnt[(x[i] >> shift) & 511]++] = x[i];
		uint32_t *t = x;
		x = y;
		y = t;
	}
	/* two passes: the sorted words are back in a->dw */
}

static inline uint8_t *put_varint32(uint8_t *o, uint32_t v)
{
	while (v >= 0x80) {
		*o++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*o++ = (uint8_t)v;
	return o;
}

/* Room for need bytes at the log's end: the last block, or a new one. */
static uint8_t *log_room(gram_acc *a, size_t need)
{
	lblock *l = a->nb ? &a->b[a->nb - 1] : NULL;
	if (l && l->cap - l->used >= need)
		return l->p + l->used;
	if (!xarray_reserve(&a->b, &a->b_cap, a->nb + 1, sizeof *a->b))
		return NULL;
	size_t cap = a->log_mem < BLOCK_MIN ? BLOCK_MIN : a->log_mem < BLOCK ? a->log_mem : BLOCK;
	cap = need > cap ? need : cap; /* the first blocks small: a small segment's log is small */
	uint8_t *p = malloc(cap);
	if (!p)
		return NULL;
	a->b[a->nb++] = (lblock){.p = p, .cap = cap};
	a->log_mem += cap;
	return p;
}

/* Gram id id's record: its sorted words' trigrams as gaps, each word
 * cleared in a->seen as it is read. */
static int log_doc(gram_acc *a, uint32_t id)
{
	size_t nw = a->ndw;
	/* a word holds at most 64 trigrams, a gap at most 4 bytes */
	size_t ngrams = 0;
	for (size_t i = 0; i < nw; i++)
		ngrams += (size_t)__builtin_popcountll(a->seen[a->dw[i]]);
	size_t body = 4 * ngrams, hdr = 5 + 10;
	uint8_t *o = log_room(a, hdr + body);
	if (!o) {
		for (size_t i = 0; i < nw; i++)
			a->seen[a->dw[i]] = 0;
		return XIHU_ENOMEM;
	}
	uint8_t *start = o;
	o = put_varint32(o, id);
	uint8_t *lenp = o;
	o += 10; /* the byte length's varint, written once known, then moved down */
	uint8_t *g0 = o;
	uint32_t prev = UINT32_MAX;
	for (size_t i = 0; i < nw; i++) {
		uint32_t wi = a->dw[i];
		uint64_t w = a->seen[wi];
		a->seen[wi] = 0;
		while (w) {
			uint32_t g = wi << 6 | (uint32_t)__builtin_ctzll(w);
			w &= w - 1;
			o = put_varint32(o, g - (prev + 1));
			prev = g;
		}
	}
	size_t glen = (size_t)(o - g0);
	uint8_t *after = put_varint32(lenp, (uint32_t)glen);
	memmove(after, g0, glen);
	a->b[a->nb - 1].used += (size_t)(after + glen - start);
	return XIHU_OK;
}

size_t gram_block_end(const uint8_t *raw, size_t len, size_t start)
{
	if (len - start <= GRAM_BLOCK)
		return len;
	const uint8_t *nl = memrchr(raw + start, '\n', GRAM_BLOCK);
	if (!nl) /* a line longer than a block: a block of its own */
		nl = memchr(raw + start + GRAM_BLOCK, '\n', len - start - GRAM_BLOCK);
	return nl ? (size_t)(nl - raw) + 1 : len;
}

/* One gram id's trigrams, raw[0..len), into the log. */
static int acc_block(gram_acc *a, uint32_t id, const uint8_t *raw, size_t len)
{
	if (len < 3)
		return XIHU_OK;
	scan sc = {0};
	a->ndw = 0;
	for (;;) {
		collect(a, raw, len, &sc);
		if (sc.i == len)
			break;
		if (!dw_resize(a, a->dw_cap * 2)) { /* never past NWORDS: a word is listed once */
			for (size_t i = 0; i < a->ndw; i++)
				a->seen[a->dw[i]] = 0;
			return XIHU_ENOMEM;
		}
	}
	sort_words(a);
	return log_doc(a, id);
}

int gram_acc_doc(gram_acc *a, const uint8_t *raw, size_t len, uint32_t *nids)
{
	*nids = 0;
	if (len >= 3 && !a->seen && !(a->seen = calloc(NWORDS, sizeof *a->seen)))
		return XIHU_ENOMEM;
	if (len >= 3 && !a->dw && !dw_resize(a, DW_MIN))
		return XIHU_ENOMEM;
	int rc = XIHU_OK;
	size_t start = 0;
	do {
		size_t end = len <= GRAM_BLOCK_MIN ? len : gram_block_end(raw, len, start);
		if (a->next_id == UINT32_MAX) {
			rc = XIHU_ELIMIT;
			break;
		}
		if ((rc = acc_block(a, a->next_id, raw + start, end - start)))
			break;
		a->next_id++;
		(*nids)++;
		start = end;
	} while (start < len);
	if (a->dw_cap > DW_KEEP && !dw_resize(a, DW_MIN)) /* a big doc's list is not kept */
		rc = rc ? rc : XIHU_ENOMEM;
	return rc;
}

/* A gram id's record being read: its next trigram (UINT32_MAX: none left). */
typedef struct cursor {
	const uint8_t *p, *end;
	uint32_t id, g;
} cursor;

static inline void cur_next(cursor *c)
{
	uint64_t v;
	if (c->p < c->end && get_varint(&c->p, c->end, &v)) /* our own bytes */
		c->g = c->g + 1 + (uint32_t)v;
	else
		c->g = UINT32_MAX;
}

/* Every record of the log, in order, as a cursor on its first trigram;
 * NULL when out of memory.  *n: how many. */
static cursor *cursors(const gram_acc *a, size_t *n)
{
	size_t cnt = 0, cap = 64;
	cursor *c = malloc(cap * sizeof *c);
	for (size_t i = 0; i < a->nb && c; i++) {
		const uint8_t *p = a->b[i].p, *end = p + a->b[i].used;
		while (p < end) {
			uint64_t id, len;
			get_varint(&p, end, &id);
			get_varint(&p, end, &len);
			if (cnt == cap) {
				cursor *nc = realloc(c, (cap *= 2) * sizeof *nc);
				if (!nc) {
					free(c);
					return NULL;
				}
				c = nc;
			}
			c[cnt] = (cursor){.p = p, .end = p + len, .id = (uint32_t)id, .g = UINT32_MAX};
			cur_next(&c[cnt++]);
			p += len;
		}
	}
	*n = cnt;
	return c;
}

/* pairs[0..n) (trigram's low 16 bits << 32 | gram id, ids ascending per
 * trigram) sorted stably by trigram, through tmp. */
static void sort_pairs(uint64_t *pairs, uint64_t *tmp, size_t n)
{
	uint64_t *x = pairs, *y = tmp;
	for (unsigned shift = 32; shift < 48; shift += 8) {
		uint32_t cnt[256] = {0};
		for (size_t i = 0; i < n; i++)
			cnt[(x[i] >> shift) & 255]++;
		for (uint32_t k = 0, sum = 0; k < 256; k++) {
			uint32_t c = cnt[k];
			cnt[k] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			y[cnt[(x[i] >> shift) & 255]++] = x[i];
		uint64_t *t = x;
		x = y;
		y = t;
	}
	/* two passes: the sorted pairs are back in pairs */
}

/* The window's sorted pairs to seg_out_gram, a trigram at a time. */
static void emit(seg_out *o, uint32_t base, const uint64_t *pairs, size_t n, uint32_t *ids)
{
	for (size_t i = 0; i < n;) {
		uint32_t key = (uint32_t)(pairs[i] >> 32), df = 0;
		for (; i < n && (uint32_t)(pairs[i] >> 32) == key; i++)
			ids[df++] = (uint32_t)pairs[i];
		seg_out_gram(o, base | key, ids, df);
	}
}

int gram_acc_write(gram_acc *a, seg_out *o)
{
	size_t nc = 0, cap = 0, n = 0;
	cursor *c = cursors(a, &nc);
	uint64_t *pairs = NULL, *tmp = NULL;
	uint32_t *ids = malloc((nc ? nc : 1) * sizeof *ids);
	int rc = c && ids ? XIHU_OK : XIHU_ENOMEM;
	for (uint32_t base = 0; base < SEG_GRAM_MAX && !rc && !seg_out_rc(o); base += 1u << WINDOW_BITS) {
		uint32_t lim = base + (1u << WINDOW_BITS);
		n = 0;
		for (size_t i = 0; i < nc && !rc; i++) {
			for (cursor *k = &c[i]; k->g < lim; cur_next(k)) {
				if (n == cap) {
					size_t ncap = cap ? cap * 2 : 4096;
					uint64_t *np = realloc(pairs, ncap * sizeof *np), *nt = np ? realloc(tmp, ncap * sizeof *nt) : NULL;
					pairs = np ? np : pairs;
					tmp = nt ? nt : tmp;
					if (!np || !nt) {
						rc = XIHU_ENOMEM;
						break;
					}
					cap = ncap;
				}
				pairs[n++] = (uint64_t)(k->g - base) << 32 | k->id;
			}
		}
		if (!rc && n) {
			sort_pairs(pairs, tmp, n);
			emit(o, base, pairs, n, ids);
		}
	}
	free(c);
	free(ids);
	free(pairs);
	free(tmp);
	free_log(a);
	return rc ? rc : seg_out_rc(o);
}
