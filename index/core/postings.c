/*
 * postings.c: iterating one term's postings in a mapped segment.  Owns the
 * decoding of the .post blocks and .pos runs that seg_writer.c writes (the
 * layout is at the top of seg_writer.c and in docs/FORMAT.md).
 *
 * Invariants: p->doc only grows; every step either moves to the next doc in
 * the decoded block or decodes one more block, so iteration ends on any
 * bytes.  A block is decoded whole (doc gaps and tfs, 128 at a time with
 * codec_unpack); positions are decoded only when asked for: the block's
 * first positions (one PFor chunk) on the first ask in the block, then only
 * the chunks of gaps the doc's positions lie in (the chunks before are
 * stepped over by their headers, the last one stays decoded for the next
 * doc).  postings_advance uses
 * the skip table (last doc of every block) to jump over blocks without
 * touching them; postings_shallow moves a second cursor over the skip table
 * alone, so a caller can read a block's bounds (its impact: the largest
 * BM25 tf part in it) before deciding to decode it.  init reads the whole
 * skip table once: every impact in (0, 1] (their maximum is the term's
 * bound), last docs strictly increasing and < ndocs, so both cursors can
 * trust it.  Bad bytes set p->rc = XIHU_ECORRUPT, fill p->err with the
 * file and offset and end the iteration (POSTINGS_END).
 *
 * Callers: search.c (query evaluation), seg_reader.c (seg_check through
 * postings_verify).
 */
#include <stdlib.h>
#include <string.h>

#include "core/seg-int.h"

static inline float float_of(uint32_t bits)
{
	float f;
	memcpy(&f, &bits, sizeof f);
	return f;
}

/* A stored impact is a bound on tf / (tf + something positive): (0, 1].
 * False for NaN too. */
static inline bool impact_ok(float f)
{
	return f > 0 && f <= 1;
}

static uint32_t corrupt(postings *p, int file, const uint8_t *at, const char *what)
{
	const xmap *m = &p->s->f[file];
	if (!p->rc) {
		char msg[160];
		snprintf(msg, sizeof msg, "%s (term postings at %llu)", what, (unsigned long long)p->t.post_off);
		p->rc = xfile_corrupt(m, (size_t)(at - m->data), p->err, msg);
	}
	p->doc = POSTINGS_END;
	p->n = 0;
	p->i = 0;
	return POSTINGS_END;
}

/* Decodes block b; false (p->rc set) on corruption. */
static bool load_block(postings *p, uint32_t b)
{
	const uint8_t *start;
	uint32_t prev; /* doc before the block; prev + 1 wraps to 0 for the first */
	uint64_t pos_rel = 0;
	uint32_t want_last = 0;
	if (p->skip) {
		const uint8_t *e = p->skip + (size_t)b * SEG_SKIP_ENTRY;
		uint32_t doc_off = get_u32le(e + SEG_SKIP_DOC_OFF);
		pos_rel = get_u64le(e + SEG_SKIP_POS_OFF);
		want_last = get_u32le(e + SEG_SKIP_LAST);
		p->blk_max_tf = get_u32le(e + SEG_SKIP_MAX_TF);
		p->blk_min_dl = get_u32le(e + SEG_SKIP_MIN_DL);
		p->blk_impact = float_of(get_u32le(e + SEG_SKIP_IMPACT)); /* checked by init */
		if (doc_off > (size_t)(p->end - p->blocks)) {
			corrupt(p, SEG_POST, e, "skip entry points out of the postings");
			return false;
		}
		start = p->blocks + doc_off;
		prev = b ? get_u32le(e - SEG_SKIP_ENTRY + SEG_SKIP_LAST) : UINT32_MAX;
	} else {
		start = p->blocks;
		prev = UINT32_MAX;
		p->blk_max_tf = p->t.max_tf;
		/* blk_min_dl and blk_impact were read in postings_init */
	}
	if (pos_rel > (size_t)(p->pos_end - p->pos_base)) {
		corrupt(p, SEG_POST, p->skip + (size_t)b * SEG_SKIP_ENTRY, "skip entry points out of the positions");
		return false;
	}
	uint32_t n = p->df;
	if (p->skip) /* init checked every block's count: 1..XIHU_BLOCK */
		n = (b + 1 < p->nblocks ? get_u32le(p->skip + (size_t)(b + 1) * SEG_SKIP_ENTRY + SEG_SKIP_FIRST)
		                        : p->df) -
		    get_u32le(p->skip + (size_t)b * SEG_SKIP_ENTRY + SEG_SKIP_FIRST);
	const uint8_t *q = start;
	uint64_t doc = (uint64_t)prev + 1; /* 0 when prev is "none" */
	if (prev == UINT32_MAX)
		doc = 0;
	if (n == XIHU_BLOCK) {
		size_t avail = (size_t)(p->end - q);
		if (avail < 1 || q[0] > 32)
			return corrupt(p, SEG_POST, q, "bad bit width in a doc block"), false;
		size_t k = codec_unpack(q + 1, avail - 1, n, q[0], p->docs);
		if (!k && q[0])
			return corrupt(p, SEG_POST, q, "doc block truncated"), false;
		q += 1 + k;
		avail = (size_t)(p->end - q);
		if (avail < 1 || q[0] > 32)
			return corrupt(p, SEG_POST, q, "bad bit width in a frequency block"), false;
		k = codec_unpack(q + 1, avail - 1, n, q[0], p->freqs);
		if (!k && q[0])
			return corrupt(p, SEG_POST, q, "frequency block truncated"), false;
		q += 1 + k;
		uint32_t bad = 0;
		for (uint32_t i = 0; i < n; i++) {
			doc += p->docs[i];
			p->docs[i] = (uint32_t)doc;
			doc++;
			bad |= p->freqs[i] == UINT32_MAX;
			p->freqs[i]++;
		}
		doc--;
		if (bad)
			return corrupt(p, SEG_POST, start, "term frequency out of range"), false;
	} else {
		for (uint32_t i = 0; i < n; i++) {
			uint64_t gap, tf;
			if (!get_varint(&q, p->end, &gap) || !get_varint(&q, p->end, &tf) || tf >= UINT32_MAX ||
			    gap > UINT32_MAX)
				return corrupt(p, SEG_POST, q, "bad varint in the last doc block"), false;
			doc += gap;
			p->docs[i] = (uint32_t)doc;
			p->freqs[i] = (uint32_t)tf + 1;
			doc++;
		}
		doc--;
	}
	/* docs strictly increase by construction; the last one bounds them all */
	if (doc >= p->ndocs)
		return corrupt(p, SEG_POST, start, "doc id out of range"), false;
	if (p->skip && doc != want_last)
		return corrupt(p, SEG_POST, start, "block's last doc differs from its skip entry"), false;
	p->block = b;
	p->n = n;
	p->i = 0;
	p->next = q;
	p->blk_first = p->docs[0];
	p->blk_last = (uint32_t)doc;
	p->pos_rel = pos_rel;
	p->pos_cur = NULL;
	p->pos_decoded_i = -1;
	p->doc = p->docs[0];
	return true;
}

int postings_init(postings *p, const seg *s, const seg_term *t, xihu_err *err)
{
	p->pos = NULL;
	p->pos_cap = 0;
	return postings_reinit(p, s, t, err);
}

int postings_reinit(postings *p, const seg *s, const seg_term *t, xihu_err *err)
{
	uint32_t *keep = p->pos, keep_cap = p->pos_cap;
	memset(p, 0, sizeof *p);
	p->pos = keep;
	p->pos_cap = keep_cap;
	p->s = s;
	p->t = *t;
	p->err = err;
	p->doc = POSTINGS_END;
	p->pos_decoded_i = -1;
	const xmap *pm = &s->f[SEG_POST], *qm = &s->f[SEG_POS];
	if (t->df == 0 || t->post_off > pm->len || t->post_len > pm->len - t->post_off || t->pos_off > qm->len) {
		p->rc = xfile_corrupt(pm, t->post_off <= pm->len ? (size_t)t->post_off : pm->len, err,
		                      "term postings out of the file");
		return p->rc;
	}
	p->df = t->df;
	p->ndocs = s->ndocs;
	const uint8_t *base = pm->data + t->post_off;
	p->end = base + t->post_len;
	p->nblocks = 1;
	if (t->df > XIHU_BLOCK) { /* more than one block: their count first */
		uint64_t nb;
		if (!get_varint(&base, p->end, &nb) || nb < (t->df + XIHU_BLOCK - 1) / XIHU_BLOCK || nb > t->df) {
			corrupt(p, SEG_POST, pm->data + t->post_off, "bad block count");
			return p->rc;
		}
		p->nblocks = (uint32_t)nb;
	}
	p->pos_base = qm->data + t->pos_off;
	p->pos_end = qm->data + qm->len;
	if (p->nblocks == 1) {
		uint64_t min_dl;
		const uint8_t *q = base;
		if (!get_varint(&q, p->end, &min_dl) || min_dl > UINT32_MAX) {
			corrupt(p, SEG_POST, base, "bad block length bound");
			return p->rc;
		}
		if (p->end - q < 4 || !impact_ok(float_of(get_u32le(q)))) {
			corrupt(p, SEG_POST, q, "block impact out of range");
			return p->rc;
		}
		p->blk_min_dl = (uint32_t)min_dl;
		p->blk_impact = float_of(get_u32le(q));
		p->term_max_impact = p->blk_impact;
		p->blocks = q + 4;
	} else {
		uint64_t skip_len = (uint64_t)p->nblocks * SEG_SKIP_ENTRY;
		if (skip_len > (uint64_t)(p->end - base)) {
			corrupt(p, SEG_POST, base, "skip table truncated");
			return p->rc;
		}
		p->skip = base;
		p->blocks = base + skip_len;
		/* the whole table once: the cursors rely on it from here on */
		float max = 0;
		for (uint32_t b = 0; b < p->nblocks; b++) {
			const uint8_t *e = base + (size_t)b * SEG_SKIP_ENTRY;
			uint32_t last = get_u32le(e + SEG_SKIP_LAST);
			float impact = float_of(get_u32le(e + SEG_SKIP_IMPACT));
			if (!impact_ok(impact)) {
				corrupt(p, SEG_POST, e + SEG_SKIP_IMPACT, "block impact out of range");
				return p->rc;
			}
			if (last >= p->ndocs || (b > 0 && last <= get_u32le(e - SEG_SKIP_ENTRY + SEG_SKIP_LAST))) {
				corrupt(p, SEG_POST, e, "skip table out of order");
				return p->rc;
			}
			/* each block holds 1..XIHU_BLOCK docs: load_block trusts it */
			uint32_t first = get_u32le(e + SEG_SKIP_FIRST);
			uint32_t next = b + 1 < p->nblocks ? get_u32le(e + SEG_SKIP_ENTRY + SEG_SKIP_FIRST) : p->df;
			if ((b == 0 && first != 0) || next <= first || next - first > XIHU_BLOCK) {
				corrupt(p, SEG_POST, e + SEG_SKIP_FIRST, "bad block doc count");
				return p->rc;
			}
			if (impact > max)
				max = impact;
		}
		p->term_max_impact = max;
	}
	if (!load_block(p, 0))
		return p->rc;
	/* the shallow cursor starts on block 0 too */
	p->sh_block = 0;
	p->sh_last = p->blk_last;
	p->sh_impact = p->blk_impact;
	p->sh_max_tf = p->blk_max_tf;
	p->sh_min_dl = p->blk_min_dl;
	return XIHU_OK;
}

uint32_t postings_next(postings *p)
{
	if (p->doc == POSTINGS_END)
		return POSTINGS_END;
	if (++p->i < p->n)
		return p->doc = p->docs[p->i];
	if (p->block + 1 >= p->nblocks) {
		p->i = p->n ? p->n - 1 : 0; /* keep postings_freq in bounds */
		return p->doc = POSTINGS_END;
	}
	if (!p->skip) /* cannot happen: several blocks always have a skip table */
		return corrupt(p, SEG_POST, p->next, "blocks without a skip table");
	if (!load_block(p, p->block + 1))
		return POSTINGS_END;
	return p->doc;
}

/* The first block in [lo, hi) whose last doc >= target (hi if none), by the skip table. */
static uint32_t skip_search(const postings *p, uint32_t lo, uint32_t hi, uint32_t target)
{
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (get_u32le(p->skip + (size_t)mid * SEG_SKIP_ENTRY + SEG_SKIP_LAST) < target)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

uint32_t postings_advance(postings *p, uint32_t target)
{
	if (p->doc == POSTINGS_END || p->doc >= target)
		return p->doc;
	if (target > p->blk_last) {
		/* first later block whose last doc >= target, by the skip table */
		if (!p->skip || p->block + 1 >= p->nblocks) {
			p->i = p->n ? p->n - 1 : 0;
			return p->doc = POSTINGS_END;
		}
		uint32_t lo = p->block + 1, hi = p->nblocks;
		if (p->sh_block > p->block && p->sh_block < p->nblocks) {
			/* the shallow cursor is ahead: it splits the table */
			if (target <= p->sh_last)
				hi = p->sh_block; /* none before it: that block */
			else
				lo = p->sh_block + 1;
		}
		lo = skip_search(p, lo, hi, target);
		if (lo == p->nblocks) {
			p->i = p->n ? p->n - 1 : 0;
			return p->doc = POSTINGS_END;
		}
		if (!load_block(p, lo))
			return POSTINGS_END;
		if (p->blk_last < target) /* a skip table that lied about order */
			return corrupt(p, SEG_POST, p->skip, "skip table out of order");
	}
	uint32_t i = p->i;
	while (p->docs[i] < target) /* blk_last >= target stops it */
		i++;
	p->i = i;
	return p->doc = p->docs[i];
}

static void shallow_at(postings *p, uint32_t b)
{
	const uint8_t *e = p->skip + (size_t)b * SEG_SKIP_ENTRY;
	p->sh_block = b;
	p->sh_last = get_u32le(e + SEG_SKIP_LAST);
	p->sh_impact = float_of(get_u32le(e + SEG_SKIP_IMPACT));
	p->sh_max_tf = get_u32le(e + SEG_SKIP_MAX_TF);
	p->sh_min_dl = get_u32le(e + SEG_SKIP_MIN_DL);
}

uint32_t postings_shallow(postings *p, uint32_t target)
{
	if (p->rc || p->sh_block >= p->nblocks)
		return POSTINGS_END;
	if (p->sh_last >= target)
		return p->sh_last;
	uint32_t n = p->nblocks;
	if (p->skip) {
		/* gallop from the next block: every block before lo ends below
		 * target, and hi (when < n) ends at or past it */
		uint32_t lo = p->sh_block + 1, hi = lo, step = 1;
		while (hi < n && get_u32le(p->skip + (size_t)hi * SEG_SKIP_ENTRY + SEG_SKIP_LAST) < target) {
			lo = hi + 1;
			hi = step < n - lo ? lo + step : n;
			step *= 2;
		}
		lo = skip_search(p, lo, hi, target);
		if (lo < n) {
			shallow_at(p, lo);
			return p->sh_last;
		}
	}
	p->sh_block = n;
	p->sh_last = POSTINGS_END;
	p->sh_impact = 0;
	p->sh_max_tf = 0;
	p->sh_min_dl = UINT32_MAX;
	return POSTINGS_END;
}

/* Makes room for tf positions at p->pos + 256 (and the two chunks before). */
static bool pos_room(postings *p, uint32_t tf)
{
	if (p->pos && tf <= p->pos_cap)
		return true;
	uint64_t ncap = p->pos_cap ? p->pos_cap : 256;
	while (ncap < tf)
		ncap *= 2;
	uint32_t *np = realloc(p->pos, (size_t)(ncap + 2 * XIHU_BLOCK) * sizeof *np);
	if (!np) {
		p->rc = xihu_err_set(p->err, XIHU_ENOMEM, "positions: out of memory");
		p->doc = POSTINGS_END;
		return false;
	}
	p->pos = np;
	p->pos_cap = (uint32_t)ncap;
	return true;
}

/* The block's position gaps: sum of (tf - 1) over its docs. */
static uint64_t block_gaps(const postings *p)
{
	uint64_t g = 0;
	for (uint32_t j = 0; j < p->n; j++)
		g += p->freqs[j] - 1;
	return g;
}

/* Decodes the block's first positions and readies its gap chunks. */
static bool pos_block(postings *p)
{
	const uint8_t *q = p->pos_base + p->pos_rel;
	size_t k = codec_pfor_decode(q, (size_t)(p->pos_end - q), p->n, p->pos);
	if (!k)
		return corrupt(p, SEG_POS, q, "bad chunk of first positions"), false;
	uint64_t g = block_gaps(p);
	/* a chunk of up to 128 gaps takes at least 2 bytes */
	if (g > UINT32_MAX || (g + XIHU_BLOCK - 1) / XIHU_BLOCK * 2 > (uint64_t)(p->pos_end - q - k))
		return corrupt(p, SEG_POS, q, "positions truncated"), false;
	p->pos_ngaps = (uint32_t)g;
	p->pos_cur = q + k;
	p->pos_chunk = 0;
	p->pos_cached = UINT32_MAX;
	p->pos_cur_i = 0;
	p->pos_gap = 0;
	return true;
}

/* Decodes gap chunk c (>= the next undecoded one) into pos[128..256). */
static bool pos_chunk(postings *p, uint32_t c)
{
	uint32_t nchunks = (p->pos_ngaps + XIHU_BLOCK - 1) / XIHU_BLOCK;
	while (p->pos_chunk <= c && p->pos_chunk < nchunks) {
		uint32_t m = p->pos_chunk + 1 < nchunks ? XIHU_BLOCK : p->pos_ngaps - p->pos_chunk * XIHU_BLOCK;
		const uint8_t *q = p->pos_cur;
		size_t avail = (size_t)(p->pos_end - q), k;
		if (p->pos_chunk == c)
			k = codec_pfor_decode(q, avail, m, p->pos + XIHU_BLOCK);
		else
			k = codec_pfor_size(q, avail, m);
		if (!k)
			return corrupt(p, SEG_POS, q, "bad chunk of position gaps"), false;
		p->pos_cur = q + k;
		p->pos_chunk++;
	}
	p->pos_cached = c;
	return true;
}

int postings_positions(postings *p, const uint32_t **out)
{
	*out = p->pos ? p->pos + 2 * XIHU_BLOCK : NULL;
	if (p->rc)
		return -p->rc;
	if (p->doc == POSTINGS_END)
		return 0;
	if (p->pos_decoded_i == (int)p->i)
		return (int)p->npos;
	uint32_t tf = p->freqs[p->i];
	/* the block's positions first: they bound tf by the bytes there */
	if (!p->pos_cur && (!pos_room(p, 1) || !pos_block(p)))
		return -p->rc;
	if (tf > INT32_MAX)
		return corrupt(p, SEG_POS, p->pos_cur, "term frequency out of range"), -XIHU_ECORRUPT;
	if (!pos_room(p, tf))
		return -p->rc;
	/* where the doc's gaps start: after those of the docs before it */
	if (p->pos_cur_i > p->i)
		return corrupt(p, SEG_POS, p->pos_cur, "positions asked out of order"), -XIHU_ECORRUPT;
	for (uint32_t j = p->pos_cur_i; j < p->i; j++)
		p->pos_gap += p->freqs[j] - 1;
	p->pos_cur_i = p->i;
	uint32_t *o = p->pos + 2 * XIHU_BLOCK;
	const uint32_t *gap = p->pos + XIHU_BLOCK;
	uint64_t at = p->pos[p->i];
	uint64_t g = p->pos_gap;
	o[0] = (uint32_t)at;
	for (uint32_t j = 1; j < tf;) {
		uint32_t c = (uint32_t)(g / XIHU_BLOCK);
		if (c != p->pos_cached) {
			if (c < p->pos_chunk) /* behind: only a doc asked out of order gets here */
				return corrupt(p, SEG_POS, p->pos_cur, "positions asked out of order"), -XIHU_ECORRUPT;
			if (!pos_chunk(p, c))
				return -p->rc;
		}
		/* the run of this doc's gaps that lies in the decoded chunk */
		uint32_t in = (uint32_t)(g % XIHU_BLOCK), run = XIHU_BLOCK - in;
		if (run > tf - j)
			run = tf - j;
		const uint32_t *gp = gap + in;
		for (uint32_t k = 0; k < run; k++) {
			at += (uint64_t)gp[k] + 1;
			o[j + k] = (uint32_t)at;
		}
		j += run;
		g += run;
	}
	if (at > XIHU_MAX_POS)
		return corrupt(p, SEG_POS, p->pos_cur, "position out of range"), -XIHU_ECORRUPT;
	p->pos_decoded_i = (int)p->i;
	p->npos = tf;
	*out = o;
	return (int)tf;
}

bool postings_block_positions(postings *p, const uint8_t **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	if (p->rc || p->doc == POSTINGS_END)
		return false;
	const uint8_t *start = p->pos_base + p->pos_rel, *q = start;
	size_t k = codec_pfor_size(q, (size_t)(p->pos_end - q), p->n);
	if (!k)
		return corrupt(p, SEG_POS, q, "bad chunk of first positions"), false;
	q += k;
	for (uint64_t g = block_gaps(p); g > 0; g -= g < XIHU_BLOCK ? g : XIHU_BLOCK) {
		k = codec_pfor_size(q, (size_t)(p->pos_end - q), g < XIHU_BLOCK ? (size_t)g : XIHU_BLOCK);
		if (!k)
			return corrupt(p, SEG_POS, q, "bad chunk of position gaps"), false;
		q += k;
	}
	*out = start;
	*len = (size_t)(q - start);
	return true;
}

uint32_t postings_next_block(postings *p)
{
	if (p->doc == POSTINGS_END)
		return POSTINGS_END;
	p->i = p->n - 1;
	return postings_next(p);
}

void postings_free(postings *p)
{
	free(p->pos);
	p->pos = NULL;
	p->pos_cap = 0;
}

/* The full walk behind seg_check. */
int postings_verify(const seg *s, uint32_t field, const seg_term *t, uint64_t pos_len, xihu_err *err)
{
	bool nopos = field & XIHU_PAIR_FIELD; /* a pair term: tf without positions */
	field &= ~XIHU_PAIR_FIELD;
	postings p;
	int rc = postings_init(&p, s, t, err);
	if (rc) {
		postings_free(&p);
		return rc;
	}
	const uint8_t *post = s->f[SEG_POST].data + t->post_off;
	uint64_t count = 0, cf = 0;
	uint32_t max_tf = 0;
	uint32_t cur_block = p.block, blk_max = 0, blk_min = UINT32_MAX;
	uint32_t bound_max = p.blk_max_tf, bound_min = p.blk_min_dl;
	/* impacts as the writer computes them, with this segment's avgdl */
	double avgdl = bm25_avgdl(seg_field_total(s, field), seg_ndocs(s)), blk_impact = 0;
	float bound_impact = p.blk_impact;
	const uint8_t *impact_at = p.skip ? p.skip + SEG_SKIP_IMPACT : p.blocks - 4;
	const uint8_t *used = p.pos_base; /* the end of the positions read so far */
	if (p.pos_rel != 0)
		corrupt(&p, SEG_POST, post, "the first block's positions are not the term's first");
	for (uint32_t d = p.doc; d != POSTINGS_END && !p.rc;) {
		uint32_t tf = postings_freq(&p);
		const uint32_t *pos;
		int n = nopos ? (int)tf : postings_positions(&p, &pos);
		if (n < 0)
			break;
		if ((uint32_t)n != tf) {
			corrupt(&p, SEG_POS, p.pos_cur, "position count differs from tf");
			break;
		}
		count++;
		cf += tf;
		if (tf > max_tf)
			max_tf = tf;
		if (tf > blk_max)
			blk_max = tf;
		uint32_t dl = seg_doc_field_len(s, d, field);
		if (dl < blk_min)
			blk_min = dl;
		double impact = bm25_tf_norm(tf, dl, avgdl);
		if (impact > blk_impact)
			blk_impact = impact;
		if (!nopos)
			used = p.pos_cur;
		d = postings_next(&p);
		if (p.rc)
			break;
		if (d == POSTINGS_END || p.block != cur_block) {
			if (blk_max != bound_max || blk_min != bound_min) {
				corrupt(&p, SEG_POST, post, "block max impact differs from the block's docs");
				break;
			}
			float want = bm25_float_up(blk_impact);
			if (memcmp(&want, &bound_impact, sizeof want) != 0) {
				corrupt(&p, SEG_POST, impact_at, "block impact differs from the block's docs");
				break;
			}
			if (d != POSTINGS_END && used != p.pos_base + p.pos_rel) {
				corrupt(&p, SEG_POS, used, "a block's positions do not end where the next block's start");
				break;
			}
			cur_block = p.block;
			blk_max = 0;
			blk_min = UINT32_MAX;
			bound_max = p.blk_max_tf;
			bound_min = p.blk_min_dl;
			blk_impact = 0;
			bound_impact = p.blk_impact;
			if (p.skip)
				impact_at = p.skip + (size_t)cur_block * SEG_SKIP_ENTRY + SEG_SKIP_IMPACT;
		}
	}
	if (!p.rc && (count != t->df || cf != t->cf || max_tf != t->max_tf))
		corrupt(&p, SEG_POST, post, "postings differ from the dictionary statistics");
	if (!p.rc && p.next != p.end)
		corrupt(&p, SEG_POST, p.next, "unused bytes after the last block");
	if (!p.rc && (uint64_t)(used - p.pos_base) != pos_len)
		corrupt(&p, SEG_POS, used, "positions length differs from the dictionary");
	rc = p.rc;
	postings_free(&p);
	return rc;
}
