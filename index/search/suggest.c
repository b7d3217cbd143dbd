/*
 * suggest.c: did you mean.  When a query finds nothing and the caller asks
 * (xihu_index_search_opts.suggest), each bare word of it (not in a phrase,
 * prefix, fuzzy word or negation) that is in no segment's body, path or
 * title is replaced by the nearest term of those fields in any segment:
 * within 1 edit, or 2 for a word of more than 5 code points (fuzzy.c's
 * walk), the nearest first, then the one in the most documents.
 *
 * A word the index holds is known from its df (score.c's table, filled by
 * the plan) without a walk, and at most SUGGEST_MAX_WALKS words are walked
 * (a pasted paragraph of a thousand words that nothing matches): the
 * words after them stay as typed.
 *
 * Owns the rewritten query text (results.suggestion); NULL when no word
 * changed.  Invariant: only the misspelled words' bytes change, the rest
 * of the query is kept as typed.  Called by search.c after the segments.
 */
#include <stdlib.h>
#include <string.h>

#include "search/search-int.h"

/* Dictionary walks one suggestion makes at most (each some milliseconds on a
 * large index): as many words as a query had before it took 1,024. */
#define SUGGEST_MAX_WALKS 64

/* Whether word is a term of a default field in some segment. */
static bool known_word(qctx *c, const char *word)
{
	if (!index_nsegs(c->ix))
		return false;
	for (size_t f = 0; f < NDEFAULT_FIELDS; f++) {
		uint64_t df;
		const seg_term *here;
		if (score_df(c, plan_default_fields[f], word, (uint32_t)strlen(word), &df, &here))
			return false; /* c->rc says why */
		if (df)
			return true;
	}
	return false;
}

/* The dictionary term nearest to word (within 1 or 2 edits by its length,
 * most documents first) over every segment's body and path, into best;
 * false when the word is in the index or nothing is near. */
static bool nearest_term(qctx *c, const char *word, char *best)
{
	fz_walk *w = fz_walk_new(word, 0, 1);
	fz_hit *hits = malloc(FUZZY_MAX * sizeof *hits);
	fz_hit top = {.dist = UINT32_MAX};
	bool found = false;
	if (!w || !hits)
		goto out;
	for (uint32_t si = 0; si < index_nsegs(c->ix) && !c->rc; si++) {
		const seg *s = index_seg(c->ix, si);
		for (size_t f = 0; f < NDEFAULT_FIELDS && !c->rc; f++) {
			uint32_t field = plan_default_fields[f];
			if (field >= seg_nfields(s) || !seg_field_total(s, field))
				continue;
			uint32_t nh = 0;
			if (fz_collect(c, s, field, w, hits, &nh))
				break;
			if (nh && hits[0].dist == 0)
				goto out; /* the word is there: nothing to suggest */
			if (nh && fz_cmp(&hits[0], &top) < 0)
				top = hits[0];
		}
	}
	if (!c->rc && top.dist != UINT32_MAX) {
		strcpy(best, top.term);
		found = true;
	}
out:
	free(w);
	free(hits);
	return found;
}

static bool word_char(char ch)
{
	return ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r' && ch != '(' && ch != ')' && ch != '"';
}

/* Replaces the query's misspelled bare words by their nearest terms, with
 * at most *walks more dictionary walks. */
static int suggest_walk(qctx *c, const char *query, size_t qlen, const qnode *q, char **sugg, bool *changed,
                        uint32_t *walks)
{
	int rc = 0;
	if (q->kind == Q_TERM) {
		char best[XIHU_MAX_TERM + 1];
		if (known_word(c, q->terms[0]) || c->rc || !*walks)
			return c->rc;
		--*walks;
		if (!nearest_term(c, q->terms[0], best))
			return c->rc;
		/* the word's text in the (possibly already rewritten) query */
		const char *cur = *sugg ? *sugg : query;
		size_t clen = *sugg ? strlen(*sugg) : qlen, at = q->column - 1;
		at += clen - qlen; /* earlier replacements are to its left only when the walk goes left to right */
		if (at >= clen)
			return 0;
		size_t end = at;
		while (end < clen && word_char(cur[end]))
			end++;
		size_t blen = strlen(best), nlen = clen - (end - at) + blen;
		char *n = malloc(nlen + 1);
		if (!n)
			return xihu_err_set(c->err, XIHU_ENOMEM, "search: out of memory");
		memcpy(n, cur, at);
		memcpy(n + at, best, blen);
		memcpy(n + at + blen, cur + end, clen - end);
		n[nlen] = 0;
		free(*sugg);
		*sugg = n;
		*changed = true;
		return 0;
	}
	if (q->kind == Q_AND || q->kind == Q_OR)
		for (uint32_t i = 0; i < q->nkids && !rc; i++)
			rc = suggest_walk(c, query, qlen, q->kids[i], sugg, changed, walks);
	return rc;
}

int suggest_query(qctx *c, const char *query, size_t qlen, const qnode *q, char **out)
{
	*out = NULL;
	bool changed = false;
	char *s = NULL;
	uint32_t walks = SUGGEST_MAX_WALKS;
	int rc = suggest_walk(c, query, qlen, q, &s, &changed, &walks);
	if (rc || !changed) {
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}
