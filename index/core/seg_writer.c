/*
 * seg_writer.c: the in-memory inverter that builds one immutable segment.
 *
 * Owns: the term hash table and per-term posting buffers in RAM and the doc
 * being added.  The bytes of the five files are seg_out.c's (the layout is
 * at its top and in docs/FORMAT.md): documents go to it as they arrive (the
 * doc store is streamed), the terms in key order at finish.  Callers:
 * build.c (through the API in index-int.h) and the unit tests.
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
 *  - add_token queues up to PIPE tokens: it prefetches a new token's hash
 *    slot, and half way through the queue that token's term entry, and
 *    adds the oldest; end_doc adds the rest first.  With a million terms
 *    the table and the entries do not fit in cache, and the misses were
 *    half of the inverter's time.
 */
#include <stdlib.h>
#include <string.h>

#include "core/seg-int.h"


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
	bool pairword; /* a word of the index's pair words (seg_writer_set_pairs) */
} wterm;

typedef struct slot {
	uint32_t idx1; /* term index + 1; 0 = empty */
	uint32_t h32;
} slot;

/* Tokens waiting for their turn, oldest at head. */
typedef struct ptok ptok;
typedef struct tpipe tpipe;

/* A token between add_token and its turn: the pipeline hides the cache
 * misses of the hash table (a slot, then the term) behind later tokens. */
#define PIPE 16
struct ptok {
	uint64_t hash;
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

	/* terms */
	wterm *terms;
	uint32_t nterms, terms_cap;
	slot *table;
	uint32_t table_mask;
	xbuf keys;
	size_t post_mem; /* sum of term buffer capacities, each + BUF_OVERHEAD */
	uint32_t *touched;
	uint32_t ntouched, touched_cap;

	/* tokens waiting while their hash slot and term are prefetched: the
	 * words, and the pair terms their turn makes (add_pairs) */
	tpipe words, pairs;

	/* pair terms: the index's pair words (NULL: none), and the terms (by
	 * index) of the pair words at the last two positions of the field
	 * being added */
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
	w->nfields = nfields;
	w->max_docs = SEG_MAX_DOCS;
	w->table_mask = 1023;
	w->table = calloc(w->table_mask + 1, sizeof *w->table);
	w->grams = gram_acc_new();
	bool ok = w->table != NULL && w->grams != NULL;
	for (uint32_t f = 0; f < nfields && ok; f++)
		ok = (w->field_names[f] = strdup(field_names[f])) != NULL;
	xbuf_init(&w->keys);
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

static wterm *term_find(seg_writer *w, const uint8_t *key, uint32_t klen, uint64_t h)
{
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
	/* asked once per distinct term, not per token */
	t->pairword = w->is_pairword && !(key[0] & XIHU_PAIR_FIELD) && w->is_pairword(w->pair_ctx, (const char *)key + 1, klen - 1);
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

/* What malloc adds to each term buffer (glibc: an 8-byte header, the
 * size rounded up to 16): most terms hold a buffer of 16 bytes, so a
 * million of them take 16 MB more than their capacities say. */
#define BUF_OVERHEAD 16

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
	w->post_mem += (size_t)(ncap - t->cap) + (t->cap ? 0 : BUF_OVERHEAD);
	t->buf = nb;
	t->cap = (uint32_t)ncap;
	return true;
}

static void add_now(seg_writer *w, const ptok *k);
static ptok *pipe_slot(seg_writer *w, tpipe *p);
static void pipe_push(seg_writer *w, tpipe *p);

/*
 * Pair terms: term ti (tf counted, stored at pos in field) pairs with the
 * pair words at pos - 1 when it is one too.  Words come in position order
 * per field (several at one position: an identifier's whole form and its
 * first part); a gap (a stopword, a new value of the field) pairs nothing
 * across it.  A pair term stands at its first word's position (positions
 * are not stored for it) and does not count in the field's length.  A
 * pair longer than a term can be is not made; search.c makes the same
 * choice for a phrase, and walks positions then.
 */
static void add_pairs(seg_writer *w, uint32_t field, uint32_t ti, uint32_t pos)
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
	if (!w->terms[ti].pairword)
		return;
	uint32_t blen = w->terms[ti].key_len - 1;
	for (uint32_t i = 0; i < w->nprev; i++) {
		uint32_t alen = w->terms[w->prev[i]].key_len - 1;
		if (alen + 1 + blen > XIHU_MAX_TERM)
			continue;
		/* first: the oldest pair's turn may add a term (moving terms and keys) */
		ptok *k = pipe_slot(w, &w->pairs);
		const wterm *a = &w->terms[w->prev[i]], *b = &w->terms[ti];
		k->pos = pos - 1;
		k->counts = false;
		k->key[0] = (uint8_t)(field | XIHU_PAIR_FIELD);
		k->klen = 1 + pair_term(k->key + 1, w->keys.p + a->key_off + 1, alen, w->keys.p + b->key_off + 1, blen);
		pipe_push(w, &w->pairs);
	}
	if (w->ncur < PAIR_GROUP)
		w->cur[w->ncur++] = ti;
}

/* Adds one token, its term's slot and entry (hopefully) in cache by now. */
static void add_now(seg_writer *w, const ptok *k)
{
	if (w->rc)
		return;
	wterm *t = term_find(w, k->key, k->klen, k->hash);
	if (!t)
		return;
	uint32_t doc = w->ndocs, pos = k->pos;
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
	w->field_len[k->key[0] & ~XIHU_PAIR_FIELD] += k->counts;
	if (w->is_pairword && !(k->key[0] & XIHU_PAIR_FIELD))
		add_pairs(w, k->key[0], (uint32_t)(t - w->terms), pos);
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
 * turn when p is full; pipe_push queues it once filled in. */
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
	k->hash = hash_key(k->key, k->klen);
	__builtin_prefetch(&w->table[(uint32_t)k->hash & w->table_mask]);
	/* half way through the pipeline: the slot is in, fetch the term */
	if (p->count > PIPE / 2) {
		const ptok *m = &p->q[(p->head + p->count - 1 - PIPE / 2) & (PIPE - 1)];
		const slot *sl = &w->table[(uint32_t)m->hash & w->table_mask];
		if (sl->idx1 && sl->h32 == (uint32_t)(m->hash >> 32))
			__builtin_prefetch(&w->terms[sl->idx1 - 1]);
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
	return sizeof *w + (size_t)(w->table_mask + 1) * sizeof(slot) + (size_t)w->terms_cap * sizeof(wterm) +
	       w->keys.cap + w->post_mem + (size_t)w->touched_cap * sizeof(uint32_t) + w->pending_name.cap +
	       seg_out_mem(w->out) + gram_acc_mem(w->grams);
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

/* Decodes a term's RAM buffer, hands its docs to seg_out and frees it. */
static void write_term(seg_writer *w, wterm *t, uint32_t **pos, uint32_t *pos_cap)
{
	const uint8_t *key = w->keys.p + t->key_off;
	seg_out_term_begin(w->out, key, t->key_len);
	const uint8_t *p = t->buf, *end = t->buf + t->len;
	uint32_t prev = UINT32_MAX; /* prev + 1 == 0 for the first doc */
	while (p < end) {
		uint64_t v;
		get_varint(&p, end, &v);
		uint32_t doc = (uint32_t)(prev + 1 + v);
		/* positions: pos+1, then gaps, then 0 */
		uint32_t tf = 0, at = 0;
		for (;;) {
			get_varint(&p, end, &v);
			if (v == 0)
				break;
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
	w->post_mem -= t->cap + (t->cap ? BUF_OVERHEAD : 0);
	free(t->buf);
	t->buf = NULL;
	t->len = t->cap = 0;
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
	 * as it is done with (the hash table before the order is made, each
	 * term's postings once written, the terms before the trigrams), so
	 * that its own arrays (the order, the trigrams' turned-around window)
	 * take the place of what the writer held rather than adding to it. */
	free(w->table);
	w->table = NULL;
	w->table_mask = 0;
	sortkey *order = malloc((size_t)(w->nterms ? w->nterms : 1) * sizeof *order);
	if (!order)
		return w_set(w, XIHU_ENOMEM, "segment: out of memory");
	for (uint32_t i = 0; i < w->nterms; i++) {
		const uint8_t *k = w->keys.p + w->terms[i].key_off;
		uint64_t pfx = 0;
		for (uint32_t j = 0; j < 8; j++)
			pfx = pfx << 8 | (j < w->terms[i].key_len ? k[j] : 0);
		order[i].pfx = pfx;
		order[i].idx = i;
	}
	qsort_r(order, w->nterms, sizeof *order, cmp_keys, w);

	uint32_t *pos = NULL, pos_cap = 0;
	seg_out_terms_begin(w->out);
	for (uint32_t i = 0; i < w->nterms && !w->rc && !seg_out_rc(w->out); i++)
		write_term(w, &w->terms[order[i].idx], &pos, &pos_cap);
	free(order);
	free(pos);
	for (uint32_t i = 0; i < w->nterms; i++)
		free(w->terms[i].buf); /* left by an error */
	free(w->terms);
	w->terms = NULL;
	w->nterms = w->terms_cap = 0;
	xbuf_free(&w->keys);
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
	for (uint32_t i = 0; i < w->nterms; i++)
		free(w->terms[i].buf);
	free(w->terms);
	free(w->table);
	free(w->touched);
	xbuf_free(&w->keys);
	xbuf_free(&w->pending_name);
	for (uint32_t f = 0; f < XIHU_MAX_FIELDS; f++)
		free(w->field_names[f]);
	free(w);
}
