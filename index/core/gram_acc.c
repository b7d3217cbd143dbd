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
 * clearing costs the block's words, not 2 MiB).
 *
 * They are kept by window: the 256 windows are the trigrams' high bytes
 * (b2; 2^16 trigrams each).  A window's log is a list of chunks of
 * records, one per gram id with trigrams in the window, whole in a chunk:
 *
 *   varint   id - (the window's previous record's id + 1)
 *   small    n - 1, then per key (the trigram's low 16 bits, ascending)
 *   small    key - (the previous key + 1), the first from 0
 *
 * where a small number (< 2^21) is a varint of 1 to 3 bytes that
 * put_small and take_small write and read without a branch (a chunk has
 * 2 bytes of room past its end for the 3 bytes they touch).  Ascending
 * keys of one window are close: about 1.5 bytes a key on the Linux tree,
 * so the log is no larger than the one log of per-gram-id varint gaps
 * over the whole trigram space that came before it.
 *
 * gram_acc_write turns each window around in turn, reading its chunks
 * front to back once: a counting sort of its postings by the key's high
 * byte (b1; the counts kept as the records are written) into (b0, id)
 * pairs, then of each b1's slice by b0 into ids, both stable, so each
 * trigram's ids come out together and ascending, as seg_out_gram takes
 * them.  Every read is sequential (the one log was
 * turned around through a cursor per gram id, which missed the cache on
 * nearly every step).
 *
 * So RAM is per posting only: no entry, hash slot or list per trigram
 * (most trigrams of a segment are in one or two of its docs, and those
 * cost 40 bytes and more each in a table).  A window's chunks start at 256
 * bytes and grow with it to 64 KiB, a bigger record getting a chunk of its
 * own; gram_acc_write holds 12 bytes a posting of the largest window, or
 * of gram_acc_turn_room postings (12 MiB) when that window has more: it is
 * then turned around in passes, each over its whole log, taking the next
 * b1s whose postings fit (the bytes written are the same).
 *
 * Invariants: docs come in order, ids ascending, so each window's records
 * too; the chunks are counted in gram_acc_mem (the writer's flush budget).
 * Errors are return codes with no message: seg_writer.c words them.
 *
 * Callers: seg_writer.c.
 */
#include <stdlib.h>
#include <string.h>

#include "core/seg-int.h"

#define NWORDS (SEG_GRAM_MAX / 64) /* seen's words: 2^18 */
#define WINDOW_BITS 16             /* a window: the trigrams of one high byte */
#define NWIN (SEG_GRAM_MAX >> WINDOW_BITS)
#define DW_MIN 1024                /* a doc's word list starts here, doubles up to NWORDS */
#define DW_KEEP 16384              /* and is cut back after a doc that took it past this */
#define CHUNK_MIN 256u             /* a window's first chunk */
#define CHUNK_MAX (64u << 10)      /* and the most its next ones grow to */
#define REC_HEAD 8                 /* a record's head: varint id gap (<= 5), n - 1 (<= 3) */
#define CHUNK_PAD 2                /* take_small reads 3 bytes of a 1-byte number */

typedef struct chunk {
	struct chunk *next;
	uint32_t used, cap;
	uint8_t p[];
} chunk;

typedef struct window {
	uint8_t *at, *end; /* its next record's place in its last chunk, and the chunk's end */
	chunk *head, *tail;
	size_t bytes;     /* its chunks' capacities */
	uint64_t n;       /* postings */
	uint32_t last_id; /* its last record's id; UINT32_MAX: none */
} window;

struct gram_acc {
	uint64_t *seen;    /* 2^24 bits: the current gram id's trigrams */
	uint32_t *dw;      /* the words of seen it set, then sorted */
	uint32_t *dtmp;    /* the radix sort's other half */
	size_t ndw, dw_cap;
	uint16_t *keys;    /* 2^16: one window's keys of the current gram id */
	uint32_t *kcnt;    /* per window, its postings per key high byte (b1): 256 x 256 */
	window win[NWIN];
	size_t mem;        /* sum of the chunks' sizes */
	uint32_t next_id;  /* the next gram id to hand out */
};

gram_acc *gram_acc_new(void)
{
	gram_acc *a = calloc(1, sizeof(gram_acc));
	if (a)
		for (size_t w = 0; w < NWIN; w++)
			a->win[w].last_id = UINT32_MAX;
	return a;
}

static void free_log(gram_acc *a)
{
	for (size_t w = 0; w < NWIN; w++) {
		for (chunk *c = a->win[w].head, *next; c; c = next) {
			next = c->next;
			free(c);
		}
		a->win[w] = (window){.last_id = UINT32_MAX};
	}
	if (a->kcnt)
		memset(a->kcnt, 0, 256 * 256 * sizeof *a->kcnt);
	a->mem = 0;
}

void gram_acc_free(gram_acc *a)
{
	if (!a)
		return;
	free_log(a);
	free(a->seen);
	free(a->dw);
	free(a->dtmp);
	free(a->keys);
	free(a->kcnt);
	free(a);
}

/* The bitmap, the key buffer and the counts are left out: 2.4 MiB of
 * address space of which a doc touches a few pages (ASCII text some 400
 * KiB), fixed per writer rather than growing with the segment; counted,
 * they alone would fill a small --ram-mb and cut a segment per doc. */
size_t gram_acc_mem(const gram_acc *a)
{
	if (!a)
		return 0;
	return sizeof *a + 2 * a->dw_cap * sizeof(uint32_t) + a->mem;
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

static inline uint8_t *put_varint32(uint8_t *o, uint32_t v)
{
	while (v >= 0x80) {
		*o++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*o++ = (uint8_t)v;
	return o;
}

static inline uint32_t take_varint32(const uint8_t **p)
{
	const uint8_t *q = *p;
	uint32_t v = 0;
	for (unsigned s = 0;; s += 7) {
		uint8_t b = *q++;
		v |= (uint32_t)(b & 0x7f) << s;
		if (b < 0x80)
			break;
	}
	*p = q;
	return v;
}

/* A number below 2^21 as a varint of 1 to 3 bytes, without a branch: three
 * bytes are stored (a chunk has CHUNK_PAD bytes of room past its end). */
static inline uint8_t *put_small(uint8_t *o, uint32_t v)
{
	uint32_t c0 = v >= 0x80, c1 = v >= 0x4000;
	o[0] = (uint8_t)((v & 0x7f) | c0 << 7);
	o[1] = (uint8_t)((v >> 7 & 0x7f) | c1 << 7);
	o[2] = (uint8_t)(v >> 14);
	return o + 1 + c0 + c1;
}

/* put_small's number, reading three bytes whatever its length. */
static inline uint32_t take_small(const uint8_t **p)
{
	const uint8_t *q = *p;
	uint32_t b0 = q[0], b1 = q[1], b2 = q[2];
	uint32_t c0 = b0 >> 7, c1 = c0 & b1 >> 7;
	*p = q + 1 + c0 + c1;
	return (b0 & 0x7f) | ((b1 & 0x7f) << 7 & -c0) | (b2 << 14 & -c1);
}

/* Appends gram id id's record of the n ascending keys to window wn, and
 * counts them by their high byte. */
static int put_record(gram_acc *a, uint32_t wn, uint32_t id, const uint16_t *keys, uint32_t n)
{
	window *w = &a->win[wn];
	uint32_t *cnt = a->kcnt + 256 * wn;
	size_t need = REC_HEAD + 3 * (size_t)n;
	if (!w->tail || (size_t)(w->end - w->at) < need) {
		size_t cap = w->bytes < CHUNK_MIN ? CHUNK_MIN : w->bytes < CHUNK_MAX ? w->bytes : CHUNK_MAX;
		cap = need > cap ? need : cap; /* the first chunks small: a small segment's log is small */
		chunk *c = malloc(sizeof *c + cap + CHUNK_PAD);
		if (!c)
			return XIHU_ENOMEM;
		*c = (chunk){.cap = (uint32_t)cap};
		if (w->tail) {
			w->tail->used = (uint32_t)(w->at - w->tail->p);
			w->tail->next = c;
		} else {
			w->head = c;
		}
		w->tail = c;
		w->at = c->p;
		w->end = c->p + cap;
		w->bytes += cap;
		a->mem += sizeof *c + cap + CHUNK_PAD;
	}
	uint8_t *start = w->at;
	uint8_t *o = put_varint32(start, id - (w->last_id + 1));
	o = put_small(o, n - 1);
	for (uint32_t i = 0, next = 0; i < n; i++) {
		o = put_small(o, keys[i] - next);
		next = (uint32_t)keys[i] + 1;
		cnt[keys[i] >> 8]++;
	}
	w->at = o;
	w->last_id = id;
	w->n += n;
	return XIHU_OK;
}

/* The trigrams of the sorted words a->dw[0..ndw) into the log as gram id
 * id's, a record per window, each word cleared in a->seen as it is read
 * (on an error too). */
static int log_id(gram_acc *a, uint32_t id)
{
	uint64_t *seen = a->seen;
	const uint32_t *dw = a->dw;
	uint16_t *keys = a->keys;
	size_t nw = a->ndw;
	int rc = XIHU_OK;
	for (size_t i = 0; i < nw;) {
		uint32_t wn = dw[i] >> (WINDOW_BITS - 6), n = 0;
		for (; i < nw && dw[i] >> (WINDOW_BITS - 6) == wn; i++) {
			uint32_t wi = dw[i];
			uint64_t bits = seen[wi];
			seen[wi] = 0;
			uint32_t k0 = (wi << 6) & 0xffff;
			for (; bits; bits &= bits - 1)
				keys[n++] = (uint16_t)(k0 | (uint32_t)__builtin_ctzll(bits));
		}
		if (!rc)
			rc = put_record(a, wn, id, keys, n);
	}
	return rc;
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
	return log_id(a, id);
}

int gram_acc_doc(gram_acc *a, const uint8_t *raw, size_t len, uint32_t *nids)
{
	*nids = 0;
	if (len >= 3 && !a->seen && !(a->seen = calloc(NWORDS, sizeof *a->seen)))
		return XIHU_ENOMEM;
	if (len >= 3 && !a->keys && !(a->keys = malloc((1u << WINDOW_BITS) * sizeof *a->keys)))
		return XIHU_ENOMEM;
	if (len >= 3 && !a->kcnt && !(a->kcnt = calloc(256 * 256, sizeof *a->kcnt)))
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

/* A record's head at *p: its id (given the window's previous one) and its
 * count of keys; *p left at the keys. */
static inline uint32_t take_head(const uint8_t **p, uint32_t *id)
{
	*id += take_varint32(p) + 1; /* the first: UINT32_MAX + 1 + gap */
	return take_small(p) + 1;
}

static void write_pass(const window *w, const uint32_t *cnt, uint32_t base, uint32_t lo, uint32_t hi,
                       uint64_t *pairs, uint32_t *ids, seg_out *o);

/* Window w's trigrams (base | key), ascending, each with its ids to
 * seg_out_gram: its postings as (b0 << 32 | id) into pairs by b1 (cnt:
 * how many each b1 has), then each b1's slice's ids into ids by b0 (both
 * counting sorts, stable: ids stay ascending).  pairs and ids have room
 * for `room` postings: a window with more is turned around in passes over
 * its log, each taking the next b1s whose postings fit (or one b1). */
static void write_window(window *w, const uint32_t *cnt, uint32_t base, uint64_t *pairs, uint32_t *ids,
                         uint64_t room, seg_out *o)
{
	w->tail->used = (uint32_t)(w->at - w->tail->p);
	for (uint32_t lo = 0, hi; lo < 256; lo = hi) {
		uint64_t n = 0;
		for (hi = lo; hi < 256 && (hi == lo || n + cnt[hi] <= room); hi++)
			n += cnt[hi];
		if (n > 0)
			write_pass(w, cnt, base, lo, hi, pairs, ids, o);
	}
}

/* One pass of write_window: the trigrams of w whose b1 is in [lo, hi). */
static void write_pass(const window *w, const uint32_t *cnt, uint32_t base, uint32_t lo, uint32_t hi,
                       uint64_t *pairs, uint32_t *ids, seg_out *o)
{
	uint32_t at[257], pos[256], id = UINT32_MAX;
	at[lo] = 0;
	for (uint32_t k = lo; k < hi; k++) {
		pos[k] = at[k];
		at[k + 1] = at[k] + cnt[k];
	}
	for (const chunk *c = w->head; c; c = c->next) {
		const uint8_t *p = c->p, *end = c->p + c->used;
		while (p < end) {
			uint32_t n = take_head(&p, &id);
			for (uint32_t i = 0, k = 0; i < n; i++, k++) {
				k += take_small(&p);
				uint32_t b1 = k >> 8;
				if (b1 >= lo && b1 < hi)
					pairs[pos[b1]++] = (uint64_t)(k & 255) << 32 | id;
			}
		}
	}
	for (uint32_t b1 = lo; b1 < hi; b1++) {
		uint32_t s = at[b1], e = at[b1 + 1], c0[257] = {0}, p0[256];
		if (s == e)
			continue;
		for (uint32_t i = s; i < e; i++)
			c0[(pairs[i] >> 32) + 1]++;
		for (uint32_t k = 0; k < 256; k++) {
			c0[k + 1] += c0[k];
			p0[k] = s + c0[k];
		}
		for (uint32_t i = s; i < e; i++)
			ids[p0[pairs[i] >> 32]++] = (uint32_t)pairs[i];
		for (uint32_t b0 = 0; b0 < 256; b0++)
			if (c0[b0 + 1] > c0[b0])
				seg_out_gram(o, base | b1 << 8 | b0, ids + s + c0[b0], c0[b0 + 1] - c0[b0]);
	}
}

size_t gram_acc_turn_room = 1u << 20;

int gram_acc_write(gram_acc *a, seg_out *o)
{
	/* room for the largest window's postings, but at most
	 * gram_acc_turn_room, and at least the largest b1's */
	uint64_t most = 0, one = 0;
	for (size_t w = 0; w < NWIN; w++) {
		most = a->win[w].n > most ? a->win[w].n : most;
		for (size_t b1 = 0; b1 < 256 && a->win[w].n; b1++)
			one = a->kcnt[256 * w + b1] > one ? a->kcnt[256 * w + b1] : one;
	}
	uint64_t room = most < gram_acc_turn_room ? most : gram_acc_turn_room;
	room = room > one ? room : one;
	uint64_t *pairs = malloc((room ? room : 1) * sizeof *pairs);
	uint32_t *ids = malloc((room ? room : 1) * sizeof *ids);
	int rc = pairs && ids ? XIHU_OK : XIHU_ENOMEM;
	for (uint32_t w = 0; w < NWIN && !rc && !seg_out_grams_rc(o); w++)
		if (a->win[w].n)
			write_window(&a->win[w], a->kcnt + 256 * w, w << WINDOW_BITS, pairs, ids, room, o);
	free(pairs);
	free(ids);
	free_log(a);
	return rc ? rc : seg_out_grams_rc(o);
}
