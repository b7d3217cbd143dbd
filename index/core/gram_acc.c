/*
 * gram_acc.c: a segment writer's trigrams in RAM, until finish writes them
 * as the .grams file (grams.c has the layout).
 *
 * Per doc: one pass over its raw bytes rolls the trigram (b0 | b1 << 8 |
 * b2 << 16) and skips every one holding a '\n'; a bitmap of all 2^24
 * trigrams (2 MiB) keeps the doc's distinct ones, so the hash table is
 * touched once per distinct trigram of a doc, not once per byte.  Then each
 * of them appends the doc to its trigram's list: a varint gap in a growable
 * buffer, as seg_writer.c keeps its postings.  The bitmap is cleared word
 * by word from the doc's list, not all 2 MiB.
 *
 * Invariants: docs come in ascending order; every buffer is counted in
 * gram_acc_mem (the writer's flush budget).  Errors are return codes with
 * no message: seg_writer.c words them.
 *
 * Callers: seg_writer.c.
 */
#include <stdlib.h>
#include <string.h>

#include "core/seg-int.h"

/* A doc's distinct trigrams are listed before they are added: the list
 * starts at DG_MIN, doubles up to DG_MAX (past that the doc is added in
 * chunks), and is cut back after a doc that took it past DG_KEEP. */
#define DG_MIN 4096
#define DG_KEEP 65536
#define DG_MAX (1u << 20)

typedef struct gentry {
	uint32_t gram;
	uint32_t last_doc; /* UINT32_MAX: none yet */
	uint32_t df;
	uint32_t len, cap;
	uint8_t *buf; /* varint gaps: doc - last_doc - 1 */
} gentry;

struct gram_acc {
	uint64_t *seen;   /* 2^24 bits: the current doc's trigrams */
	uint32_t *dgrams; /* the current doc's distinct trigrams */
	size_t ndg, dg_cap;
	uint32_t *slots; /* entry index + 1, 0 = empty; open addressing */
	uint32_t mask;
	gentry *e;
	uint32_t n, cap;
	size_t buf_mem; /* sum of the entries' buffer capacities */
};

static inline uint32_t slot_of(uint32_t gram, uint32_t mask)
{
	return (uint32_t)(((uint64_t)gram * 0x9e3779b97f4a7c15ull) >> 32) & mask;
}

gram_acc *gram_acc_new(void)
{
	gram_acc *a = calloc(1, sizeof *a);
	if (!a)
		return NULL;
	a->mask = 4095;
	a->slots = calloc((size_t)a->mask + 1, sizeof *a->slots);
	if (!a->slots) {
		free(a);
		return NULL;
	}
	return a;
}

void gram_acc_free(gram_acc *a)
{
	if (!a)
		return;
	for (uint32_t i = 0; i < a->n; i++)
		free(a->e[i].buf);
	free(a->e);
	free(a->slots);
	free(a->seen);
	free(a->dgrams);
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
	return sizeof *a + a->dg_cap * sizeof(uint32_t) +
	       ((size_t)a->mask + 1) * sizeof(uint32_t) + (size_t)a->cap * sizeof(gentry) + a->buf_mem;
}

static bool grow_table(gram_acc *a)
{
	uint32_t mask = a->mask * 2 + 1;
	uint32_t *t = calloc((size_t)mask + 1, sizeof *t);
	if (!t)
		return false;
	for (uint32_t i = 0; i < a->n; i++) {
		uint32_t k = slot_of(a->e[i].gram, mask);
		while (t[k])
			k = (k + 1) & mask;
		t[k] = i + 1;
	}
	free(a->slots);
	a->slots = t;
	a->mask = mask;
	return true;
}

/* The entry of gram, made if new; NULL when out of memory. */
static gentry *entry_of(gram_acc *a, uint32_t gram)
{
	uint32_t k = slot_of(gram, a->mask);
	for (; a->slots[k]; k = (k + 1) & a->mask)
		if (a->e[a->slots[k] - 1].gram == gram)
			return &a->e[a->slots[k] - 1];
	if (a->n == a->cap) {
		uint32_t ncap = a->cap ? a->cap * 2 : 1024;
		gentry *ne = realloc(a->e, (size_t)ncap * sizeof *ne);
		if (!ne)
			return NULL;
		a->e = ne;
		a->cap = ncap;
	}
	gentry *g = &a->e[a->n];
	*g = (gentry){.gram = gram, .last_doc = UINT32_MAX};
	a->slots[k] = ++a->n;
	if ((uint64_t)a->n * 2 > a->mask && !grow_table(a))
		return NULL;
	return &a->e[a->n - 1];
}

/* Appends doc to g's list. */
static bool entry_add(gram_acc *a, gentry *g, uint32_t doc)
{
	if (g->cap - g->len < 5) {
		uint32_t ncap = g->cap ? g->cap * 2 : 8;
		uint8_t *nb = realloc(g->buf, ncap);
		if (!nb)
			return false;
		a->buf_mem += ncap - g->cap;
		g->buf = nb;
		g->cap = ncap;
	}
	uint32_t v = doc - (g->last_doc + 1);
	uint8_t *o = g->buf + g->len;
	while (v >= 0x80) {
		*o++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*o++ = (uint8_t)v;
	g->len = (uint32_t)(o - g->buf);
	g->last_doc = doc;
	g->df++;
	return true;
}

/* Where a scan of a doc's bytes stands: the rolling trigram, the bytes
 * since the last '\n' (at most 3 count) and the next byte. */
typedef struct scan {
	uint32_t g, run;
	size_t i;
} scan;

/* The doc's next distinct trigrams appended to a->dgrams, their bits set
 * in a->seen, until the text ends or a->dgrams is full. */
static void collect(gram_acc *a, const uint8_t *raw, size_t len, scan *sc)
{
	uint64_t *seen = a->seen;
	uint32_t *out = a->dgrams;
	size_t n = a->ndg, cap = a->dg_cap, i = sc->i;
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
		uint64_t bit = 1ull << (g & 63), *w = &seen[g >> 6];
		if (!(*w & bit)) {
			*w |= bit;
			out[n++] = g;
		}
	}
	sc->i = i;
	sc->g = g;
	sc->run = run;
	a->ndg = n;
}

static bool dgrams_resize(gram_acc *a, size_t cap)
{
	uint32_t *nd = realloc(a->dgrams, cap * sizeof *nd);
	if (!nd)
		return false;
	a->dgrams = nd;
	a->dg_cap = cap;
	return true;
}

/* Adds the doc to the lists of a->dgrams[0..ndg).  The trigrams are
 * known ahead, so their cache misses are fetched ahead too: the hash slot
 * PF_SLOT trigrams before its turn, the entry (the slot in by then)
 * PF_ENTRY before, the end of its list PF_LIST before: with a few hundred
 * thousand trigrams the table, the entries and the lists are far out of
 * cache, and the misses were most of this loop's time. */
#define PF_SLOT 24
#define PF_ENTRY 12
#define PF_LIST 4
static int add_doc(gram_acc *a, uint32_t doc)
{
	const uint32_t *dg = a->dgrams;
	size_t n = a->ndg;
	for (size_t i = 0; i < n; i++) {
		if (i + PF_SLOT < n)
			__builtin_prefetch(&a->slots[slot_of(dg[i + PF_SLOT], a->mask)]);
		if (i + PF_ENTRY < n) {
			uint32_t k = a->slots[slot_of(dg[i + PF_ENTRY], a->mask)];
			if (k)
				__builtin_prefetch(&a->e[k - 1]);
		}
		if (i + PF_LIST < n) {
			uint32_t k = a->slots[slot_of(dg[i + PF_LIST], a->mask)];
			if (k && a->e[k - 1].gram == dg[i + PF_LIST])
				__builtin_prefetch(a->e[k - 1].buf + a->e[k - 1].len, 1);
		}
		gentry *e = entry_of(a, dg[i]);
		if (!e || !entry_add(a, e, doc))
			return XIHU_ENOMEM;
	}
	return XIHU_OK;
}

int gram_acc_doc(gram_acc *a, uint32_t doc, const uint8_t *raw, size_t len)
{
	if (len < 3)
		return XIHU_OK;
	if (!a->seen && !(a->seen = calloc(SEG_GRAM_MAX / 64, sizeof *a->seen)))
		return XIHU_ENOMEM;
	if (!a->dgrams && !dgrams_resize(a, DG_MIN))
		return XIHU_ENOMEM;
	int rc = XIHU_OK;
	scan sc = {0};
	bool chunked = false; /* added in several chunks: the bits are cleared all at once */
	a->ndg = 0;
	for (;;) {
		collect(a, raw, len, &sc);
		if (sc.i == len)
			break;
		/* full: grow the list, or past DG_MAX add this chunk and go on */
		if (a->dg_cap < DG_MAX && dgrams_resize(a, a->dg_cap * 2))
			continue;
		chunked = true;
		if ((rc = add_doc(a, doc)))
			break;
		a->ndg = 0;
	}
	if (!rc)
		rc = add_doc(a, doc);
	if (chunked)
		memset(a->seen, 0, SEG_GRAM_MAX / 8);
	else
		for (size_t i = 0; i < a->ndg; i++)
			a->seen[a->dgrams[i] >> 6] = 0;
	if (a->dg_cap > DG_KEEP && !dgrams_resize(a, DG_MIN)) /* a big doc's list is not kept */
		rc = rc ? rc : XIHU_ENOMEM;
	return rc;
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return a < b ? -1 : a > b;
}

int gram_acc_write(gram_acc *a, seg_out *o)
{
	uint64_t *order = malloc((size_t)(a->n ? a->n : 1) * sizeof *order);
	uint32_t maxdf = 1;
	for (uint32_t i = 0; i < a->n; i++)
		maxdf = a->e[i].df > maxdf ? a->e[i].df : maxdf;
	uint32_t *ids = malloc((size_t)maxdf * sizeof *ids);
	if (!order || !ids) {
		free(order);
		free(ids);
		return XIHU_ENOMEM;
	}
	for (uint32_t i = 0; i < a->n; i++)
		order[i] = (uint64_t)a->e[i].gram << 32 | i;
	qsort(order, a->n, sizeof *order, cmp_u64);
	for (uint32_t i = 0; i < a->n && !seg_out_rc(o); i++) {
		const gentry *g = &a->e[(uint32_t)order[i]];
		const uint8_t *p = g->buf, *end = g->buf + g->len;
		uint32_t prev = UINT32_MAX;
		for (uint32_t k = 0; k < g->df; k++) {
			uint64_t v;
			get_varint(&p, end, &v); /* our own bytes */
			prev = ids[k] = (uint32_t)(prev + 1 + v);
		}
		seg_out_gram(o, g->gram, ids, g->df);
	}
	free(order);
	free(ids);
	return seg_out_rc(o);
}
