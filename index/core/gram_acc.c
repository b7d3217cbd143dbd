/*
 * gram_acc.c: a segment writer's trigrams in RAM, until finish writes them
 * as the .grams file (grams.c has the layout).
 *
 * Per doc: one pass over its raw bytes rolls the trigram (b0 | b1 << 8 |
 * b2 << 16) and skips every one holding a '\n'; a bitmap of all 2^24
 * trigrams (2 MiB) keeps the doc's distinct ones, so the hash table is
 * touched once per distinct trigram of a doc, not once per byte.  The
 * bitmap is cleared word by word from the doc's list, not all 2 MiB.
 *
 * Then each of them appends the doc to its trigram's list, a varint gap
 * (doc - last_doc - 1).  The lists are kept small, as most trigrams of a
 * segment are in a few docs: an entry (24 bytes) holds up to 16 bytes of
 * its list inline; a longer list moves to a chain of chunks (32, 64, 128,
 * then 256 bytes, the last 4 of each the next chunk's unit) carved from
 * 64 KiB slabs, addressed in 8-byte units (so at most 32 GiB).  No malloc
 * per trigram, no realloc of a list.
 *
 * Invariants: docs come in ascending order; every slab, the entries and
 * the hash table are counted in gram_acc_mem (the writer's flush budget).
 * Errors are return codes with no message: seg_writer.c words them.
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

#define INL 16             /* list bytes held in the entry */
#define CHAINED 0xffu      /* ilen of an entry whose list is in chunks */
#define CHUNK0 32u         /* the first chunk's bytes, the link included */
#define CHUNK_MAX 256u     /* chunks stop doubling here */
#define SLAB_SHIFT 16      /* 64 KiB slabs */
#define SLAB ((size_t)1 << SLAB_SHIFT)
#define UNIT_SHIFT 3       /* chunks are addressed in 8-byte units */
#define SLAB_UNITS (SLAB >> UNIT_SHIFT)
#define MAX_SLABS ((size_t)1 << (32 + UNIT_SHIFT - SLAB_SHIFT))
/* gram_acc_full: a doc adds at most 2^24 trigrams, each at most one chunk */
#define FULL_BYTES (((size_t)1 << (32 + UNIT_SHIFT)) - ((size_t)SEG_GRAM_MAX * (CHUNK_MAX + 8)))

typedef struct gentry {
	uint32_t key;      /* gram | ilen << 24: the inline bytes, or CHAINED */
	uint32_t last_doc; /* the last doc added (every entry has one) */
	union {
		uint8_t inl[INL];
		struct {
			uint32_t head, cur; /* first and current chunk, units */
			uint16_t pos, size; /* bytes used in cur, cur's size (link included) */
			uint32_t df;
		} c;
	} u;
} gentry;

struct gram_acc {
	uint64_t *seen;   /* 2^24 bits: the current doc's trigrams */
	uint32_t *dgrams; /* the current doc's distinct trigrams */
	size_t ndg, dg_cap;
	uint32_t *slots; /* entry index + 1, 0 = empty; open addressing */
	uint32_t mask;
	gentry *e;
	uint32_t n, cap;
	uint8_t **slab;        /* nslab of SLAB bytes; units count across them */
	size_t nslab, slab_cap;
	size_t used; /* units of the last slab carved */
};

static inline uint32_t slot_of(uint32_t gram, uint32_t mask)
{
	return (uint32_t)(((uint64_t)gram * 0x9e3779b97f4a7c15ull) >> 32) & mask;
}

static inline uint8_t *unit_ptr(const gram_acc *a, uint32_t u)
{
	return a->slab[u >> (SLAB_SHIFT - UNIT_SHIFT)] + ((size_t)(u & (SLAB_UNITS - 1)) << UNIT_SHIFT);
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
	for (size_t i = 0; i < a->nslab; i++)
		free(a->slab[i]);
	free(a->slab);
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
	return sizeof *a + a->dg_cap * sizeof(uint32_t) + ((size_t)a->mask + 1) * sizeof(uint32_t) +
	       (size_t)a->cap * sizeof(gentry) + a->slab_cap * sizeof(uint8_t *) + a->nslab * SLAB;
}

bool gram_acc_full(const gram_acc *a)
{
	return a && a->nslab * SLAB >= FULL_BYTES;
}

/* A chunk of size bytes (a multiple of 8, <= CHUNK_MAX), its first unit;
 * 0 when out of memory (unit 0 is the first slab's start, never a chunk:
 * it is skipped). */
static uint32_t chunk_new(gram_acc *a, uint32_t size)
{
	size_t units = size >> UNIT_SHIFT;
	if (a->nslab == 0 || a->used + units > SLAB_UNITS) {
		if (a->nslab == MAX_SLABS)
			return 0;
		if (a->nslab == a->slab_cap) {
			size_t ncap = a->slab_cap ? a->slab_cap * 2 : 16;
			uint8_t **ns = realloc(a->slab, ncap * sizeof *ns);
			if (!ns)
				return 0;
			a->slab = ns;
			a->slab_cap = ncap;
		}
		if (!(a->slab[a->nslab] = malloc(SLAB)))
			return 0;
		a->used = a->nslab == 0; /* unit 0 stays unused */
		a->nslab++;
	}
	uint32_t u = (uint32_t)(((a->nslab - 1) * SLAB_UNITS) + a->used);
	a->used += units;
	return u;
}

static bool grow_table(gram_acc *a)
{
	uint32_t mask = a->mask * 2 + 1;
	uint32_t *t = calloc((size_t)mask + 1, sizeof *t);
	if (!t)
		return false;
	for (uint32_t i = 0; i < a->n; i++) {
		uint32_t k = slot_of(a->e[i].key & 0xffffff, mask);
		while (t[k])
			k = (k + 1) & mask;
		t[k] = i + 1;
	}
	free(a->slots);
	a->slots = t;
	a->mask = mask;
	return true;
}

/* The entry of gram, made if new (its list empty: last_doc UINT32_MAX);
 * NULL when out of memory.  The entries grow by half, not double: their
 * spare room is counted. */
static gentry *entry_of(gram_acc *a, uint32_t gram)
{
	uint32_t k = slot_of(gram, a->mask);
	for (; a->slots[k]; k = (k + 1) & a->mask)
		if ((a->e[a->slots[k] - 1].key & 0xffffff) == gram)
			return &a->e[a->slots[k] - 1];
	if (a->n == a->cap) {
		uint32_t ncap = a->cap ? a->cap + a->cap / 2 : 1024;
		gentry *ne = realloc(a->e, (size_t)ncap * sizeof *ne);
		if (!ne)
			return NULL;
		a->e = ne;
		a->cap = ncap;
	}
	gentry *g = &a->e[a->n];
	g->key = gram;
	g->last_doc = UINT32_MAX;
	a->slots[k] = ++a->n;
	if ((uint64_t)a->n * 2 > a->mask && !grow_table(a))
		return NULL;
	return &a->e[a->n - 1];
}

/* Appends b[0..n) (n <= 5) to a chained list, in a new chunk when the
 * current one fills: a varint may straddle two chunks. */
static bool chain_put(gram_acc *a, gentry *g, const uint8_t *b, uint32_t n)
{
	uint32_t data = g->u.c.size - 4u, pos = g->u.c.pos;
	uint8_t *p = unit_ptr(a, g->u.c.cur);
	if (pos + n <= data) {
		memcpy(p + pos, b, n);
		g->u.c.pos = (uint16_t)(pos + n);
		return true;
	}
	uint32_t k = data - pos, size = g->u.c.size * 2u;
	size = size < CHUNK_MAX ? size : CHUNK_MAX;
	memcpy(p + pos, b, k);
	uint32_t u = chunk_new(a, size);
	if (!u)
		return false;
	memcpy(p + data, &u, 4); /* the link */
	memcpy(unit_ptr(a, u), b + k, n - k);
	g->u.c.cur = u;
	g->u.c.size = (uint16_t)size;
	g->u.c.pos = (uint16_t)(n - k);
	return true;
}

/* Varints in b[0..n): the bytes that end one. */
static uint32_t count_varints(const uint8_t *b, uint32_t n)
{
	uint32_t c = 0;
	for (uint32_t i = 0; i < n; i++)
		c += b[i] < 0x80;
	return c;
}

/* Moves an inline list full at ilen bytes into its first chunk. */
static bool to_chain(gram_acc *a, gentry *g, uint32_t ilen)
{
	uint8_t tmp[INL];
	memcpy(tmp, g->u.inl, ilen);
	uint32_t u = chunk_new(a, CHUNK0);
	if (!u)
		return false;
	memcpy(unit_ptr(a, u), tmp, ilen);
	g->u.c.head = g->u.c.cur = u;
	g->u.c.pos = (uint16_t)ilen;
	g->u.c.size = CHUNK0;
	g->u.c.df = count_varints(tmp, ilen);
	g->key = (g->key & 0xffffff) | CHAINED << 24;
	return true;
}

/* Appends doc to g's list. */
static bool entry_add(gram_acc *a, gentry *g, uint32_t doc)
{
	uint8_t b[8], *o = b;
	uint32_t v = doc - (g->last_doc + 1);
	while (v >= 0x80) {
		*o++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*o++ = (uint8_t)v;
	uint32_t n = (uint32_t)(o - b), ilen = g->key >> 24;
	g->last_doc = doc;
	if (ilen != CHAINED) {
		if (ilen + n <= INL) {
			memcpy(g->u.inl + ilen, b, n);
			g->key += n << 24;
			return true;
		}
		if (!to_chain(a, g, ilen))
			return false;
	}
	g->u.c.df++;
	return chain_put(a, g, b, n);
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
 * PF_ENTRY before, the end of a chained list PF_LIST before: with a few hundred
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
			const gentry *g = k ? &a->e[k - 1] : NULL;
			if (g && g->key == ((uint32_t)dg[i + PF_LIST] | CHAINED << 24))
				__builtin_prefetch(unit_ptr(a, g->u.c.cur) + g->u.c.pos, 1);
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

/* g's list bytes, contiguous: the inline ones, or its chunks' copied into
 * *buf (grown as needed); NULL when out of memory. */
static const uint8_t *list_bytes(const gram_acc *a, const gentry *g, uint8_t **buf, size_t *cap, size_t *len)
{
	uint32_t ilen = g->key >> 24;
	if (ilen != CHAINED) {
		*len = ilen;
		return g->u.inl;
	}
	size_t n = 0;
	uint32_t u = g->u.c.head, size = CHUNK0;
	for (;;) {
		bool last = u == g->u.c.cur;
		size_t k = last ? g->u.c.pos : size - 4u;
		if (n + k > *cap) {
			size_t ncap = (n + k) * 2;
			uint8_t *nb = realloc(*buf, ncap);
			if (!nb)
				return NULL;
			*buf = nb;
			*cap = ncap;
		}
		const uint8_t *p = unit_ptr(a, u);
		memcpy(*buf + n, p, k);
		n += k;
		if (last)
			break;
		memcpy(&u, p + size - 4u, 4);
		size = size * 2 < CHUNK_MAX ? size * 2 : CHUNK_MAX;
	}
	*len = n;
	return *buf;
}

int gram_acc_write(gram_acc *a, seg_out *o)
{
	uint64_t *order = malloc((size_t)(a->n ? a->n : 1) * sizeof *order);
	uint32_t *ids = NULL;
	size_t ids_cap = 0, buf_cap = 0;
	uint8_t *buf = NULL;
	int rc = order ? XIHU_OK : XIHU_ENOMEM;
	for (uint32_t i = 0; i < a->n && !rc; i++)
		order[i] = (uint64_t)(a->e[i].key & 0xffffff) << 32 | i;
	if (!rc)
		qsort(order, a->n, sizeof *order, cmp_u64);
	for (uint32_t i = 0; i < a->n && !rc && !seg_out_rc(o); i++) {
		const gentry *g = &a->e[(uint32_t)order[i]];
		size_t len;
		const uint8_t *p = list_bytes(a, g, &buf, &buf_cap, &len), *end = p + len;
		if (p && len > ids_cap) { /* a varint is at least a byte: df <= len */
			uint32_t *ni = realloc(ids, len * 2 * sizeof *ni);
			ids = ni ? ni : ids;
			ids_cap = ni ? len * 2 : ids_cap;
		}
		if (!p || len > ids_cap) {
			rc = XIHU_ENOMEM;
			break;
		}
		uint32_t prev = UINT32_MAX, df = 0;
		while (p < end) {
			uint64_t v;
			get_varint(&p, end, &v); /* our own bytes */
			prev = ids[df++] = (uint32_t)(prev + 1 + v);
		}
		seg_out_gram(o, g->key & 0xffffff, ids, df);
	}
	free(order);
	free(ids);
	free(buf);
	return rc ? rc : seg_out_rc(o);
}
