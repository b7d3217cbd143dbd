/*
 * regex_plan.c: patterns -> the trigram query every matching line satisfies
 * (grep_plan, grep.h).  A line matches if any pattern does, so the plan is
 * the OR of the patterns' plans, cut to a size that grows with their number.
 *
 * A regex is planned by regex_plan_parse.c; a literal (-F) here: its
 * trigrams, or under -i the plan of its first FORMS_SPAN bytes with each
 * character standing for the set of its case forms (grep_char_forms: "ſ"
 * and "s", "Ж" and "ж"), through regex_plan_info.c's algebra as a regex's
 * characters are.  The queries are built and simplified by regex_plan_gq.c.
 */
#include <stdlib.h>
#include <string.h>

#include "grep/regex_plan_int.h"

/* Bytes of a caseless literal that are planned: more than enough trigrams,
 * at a bounded cost whatever the literal's length (a prefix of a match is
 * in its line too). */
#define FORMS_SPAN 256

/* The plan of low[0..len) (a line of a caseless literal, ASCII letters in
 * lower case) as the concatenation of its characters' forms; a byte that
 * is no UTF-8 character stands for any string. */
static gq *plan_caseless_forms(const uint8_t *low, size_t len)
{
	info *r = info_empty(true);
	size_t run = 0; /* where the pending run of one-form characters starts */
	for (size_t i = 0; i < len && r;) {
		const uint8_t *p = low + i;
		uint8_t n = 1, b[GREP_FORMS_MAX][4], fl[GREP_FORMS_MAX];
		int32_t c = low[i] < 0x80 ? low[i] : grep_utf8_char(&p, low + len, &n);
		size_t forms = c < 0 ? 0 : grep_char_forms((uint32_t)c, true, b, fl);
		if (forms == 1) {
			i += n;
			continue;
		}
		if (i > run)
			r = info_concat(r, info_literal(low + run, i - run, true));
		if (r)
			r = info_concat(r, forms ? info_chars(b, fl, forms, true) : info_any(true));
		i += n;
		run = i;
	}
	if (r && len > run)
		r = info_concat(r, info_literal(low + run, len - run, true));
	return info_query(r);
}

/* The plan of a line of a literal: its trigrams; caseless, its first
 * FORMS_SPAN bytes' through their characters' forms. */
static gq *plan_fixed_line(const uint8_t *s, size_t len, bool caseless)
{
	if (!caseless)
		return gq_literal(s, len, false);
	if (len > FORMS_SPAN) { /* cut at a character's start */
		len = FORMS_SPAN;
		while (len > 0 && (s[len] & 0xC0) == 0x80)
			len--;
	}
	uint8_t low[FORMS_SPAN];
	for (size_t i = 0; i < len; i++)
		low[i] = s[i] >= 'A' && s[i] <= 'Z' ? (uint8_t)(s[i] + 'a' - 'A') : s[i];
	return plan_caseless_forms(low, len);
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
