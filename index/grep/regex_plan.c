/*
 * regex_plan.c: patterns -> the trigram query every matching line satisfies
 * (grep_plan, grep.h).  A line matches if any pattern does, so the plan is
 * the OR of the patterns' plans, cut to a size that grows with their number.
 *
 * A regex is planned by regex_plan_parse.c; a literal (-F) here: its
 * trigrams, where a byte that may match other bytes (under -i: k, K, s, S,
 * anything not ASCII) breaks it into pieces, each giving its own trigrams.
 * The queries are built and simplified by regex_plan_gq.c.
 */
#include <stdlib.h>
#include <string.h>

#include "grep/regex_plan_int.h"

/* Whether byte c of a literal matches only itself (or, caselessly, only its
 * ASCII other case). */
static bool plain_byte(uint8_t c, bool caseless)
{
	if (c == '\n')
		return false;
	return !caseless || (c < 0x80 && c != 'k' && c != 'K' && c != 's' && c != 'S');
}

/* The AND of the trigrams of each piece of a line of a literal. */
static gq *plan_fixed_line(const uint8_t *s, size_t len, bool caseless)
{
	uint8_t *low = malloc(len ? len : 1);
	if (!low)
		return NULL;
	for (size_t i = 0; i < len; i++)
		low[i] = caseless && s[i] >= 'A' && s[i] <= 'Z' ? (uint8_t)(s[i] + 'a' - 'A') : s[i];
	gq *q = gq_leaf(GQ_ALL);
	size_t est = 0;
	for (size_t i = 0; i < len && q;) {
		size_t j = i;
		while (j < len) {
			if (plain_byte(low[j], caseless)) {
				j++;
				continue;
			}
			/* a character of a script without case stays its bytes */
			const uint8_t *p = low + j;
			uint8_t n;
			int32_t c = caseless && low[j] >= 0x80 ? grep_utf8_char(&p, low + len, &n) : -1;
			if (c < 0 || !grep_caseless_plain((uint32_t)c))
				break;
			j += n;
		}
		if (j - i >= 3) {
			gq *piece = gq_literal(low + i, j - i, caseless);
			est += piece ? gq_size(piece) : 0;
			q = gq_and(q, piece);
			if (q && est > 2 * GQ_PLAN_GRAMS) { /* long: keep it small as it grows */
				q = gq_trim(q, GQ_PLAN_GRAMS);
				est = q ? gq_size(q) : 0;
			}
		}
		i = j + 1;
	}
	free(low);
	return q;
}

/* A literal with newlines: as the engine may read it whole or each line
 * apart, the OR of its lines' plans (wider than either). */
static gq *plan_fixed(const uint8_t *s, size_t len, bool caseless)
{
	gq *q = gq_leaf(GQ_NONE);
	for (size_t i = 0; q && q->op != GQ_ALL;) {
		const uint8_t *nl = memchr(s + i, '\n', len - i);
		size_t j = nl ? (size_t)(nl - s) : len;
		q = gq_or(q, plan_fixed_line(s + i, j - i, caseless));
		if (!nl)
			break;
		i = j + 1;
	}
	return q;
}

int grep_plan(const char *const *pat, const size_t *len, size_t n, unsigned flags, gq **out, xihu_err *err)
{
	bool caseless = flags & GREP_PLAN_CASELESS;
	gq *q = gq_leaf(GQ_NONE); /* no pattern: no line matches */
	for (size_t i = 0; i < n && q && q->op != GQ_ALL; i++) {
		const uint8_t *p = (const uint8_t *)pat[i];
		gq *one = flags & GREP_PLAN_FIXED ? plan_fixed(p, len[i], caseless)
		                                  : regex_plan_pattern(p, len[i], caseless);
		q = gq_or(q, gq_trim(one, GQ_PLAN_GRAMS));
	}
	q = gq_trim(q, GQ_PLAN_GRAMS + 4 * n);
	*out = q;
	if (!q)
		return xihu_err_set(err, XIHU_ENOMEM, "grep: out of memory");
	return 0;
}
