/*
 * fuzz_plan.c: the grep planner (index/grep/regex_plan*.c) against PCRE2.
 *
 * Input: a flags byte, the pattern(s), a NUL, then the text.  Flags: bit 0
 * -F (GREP_PLAN_FIXED), bit 1 -i (GREP_PLAN_CASELESS), bit 2 several
 * patterns, split at each 0x01 byte of the pattern part.
 *
 * The patterns are planned, and each compiled with PCRE2 as the verifier
 * compiles it (UTF, UCP, MATCH_INVALID_UTF; CASELESS under -i; LITERAL under
 * -F; without UTF when the pattern is not UTF-8); a pattern PCRE2 refuses is
 * left out.  Invariant, the planner's one promise: for every line of the
 * text (without its '\n') that a pattern matches, the plan is true of the
 * line's trigram set.  Also: the tree is well formed (an AND or OR has two
 * or more kids, none of its own op, grams are 24 bits), its size within the
 * bound, gq_format's length as it says, and planning again gives the same.
 */
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "fuzz.h"
#include "grep/grep.h"

#define MAX_PATTERNS 8

static size_t check_tree(const gq *q, unsigned depth)
{
	FUZZ_CHECK(depth < 1000);
	switch (q->op) {
	case GQ_ALL:
	case GQ_NONE:
		FUZZ_CHECK(depth == 0); /* folded away below the root */
		return 0;
	case GQ_GRAM:
		FUZZ_CHECK(q->gram < 1u << 24);
		return 1;
	case GQ_AND:
	case GQ_OR: {
		FUZZ_CHECK(q->n >= 2);
		size_t n = 0;
		for (uint32_t i = 0; i < q->n; i++) {
			FUZZ_CHECK(q->kids[i]->op != q->op);
			n += check_tree(q->kids[i], depth + 1);
		}
		return n;
	}
	}
	FUZZ_CHECK(!"a gq op");
	return 0;
}

typedef struct line {
	const uint8_t *p;
	size_t n;
} line;

static bool line_has(const void *ctx, uint32_t gram)
{
	const line *l = ctx;
	for (size_t i = 0; i + 3 <= l->n; i++)
		if (gram_pack(l->p + i) == gram)
			return true;
	return false;
}

static pcre2_code *compile(const char *p, size_t len, unsigned flags)
{
	uint32_t opts = (flags & GREP_PLAN_CASELESS ? PCRE2_CASELESS : 0) | (flags & GREP_PLAN_FIXED ? PCRE2_LITERAL : 0);
	int code;
	PCRE2_SIZE off;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)p, len, opts | PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF,
	                               &code, &off, NULL);
	if (!re && code >= PCRE2_ERROR_UTF8_ERR21 && code <= PCRE2_ERROR_UTF8_ERR1)
		re = pcre2_compile((PCRE2_SPTR)p, len, opts, &code, &off, NULL); /* bytes, as match.c */
	return re;
}

/* Checks the plan q against every line of text that re matches. */
static void check_lines(const gq *q, const pcre2_code *re, const uint8_t *text, size_t len, pcre2_match_context *mc)
{
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	FUZZ_CHECK(md != NULL);
	for (size_t i = 0; i <= len;) {
		const uint8_t *nl = memchr(text + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - text) : len;
		int rc = pcre2_match(re, text + i, end - i, 0, 0, md, mc);
		if (rc >= 0) {
			line l = {text + i, end - i};
			if (!gq_eval(q, line_has, &l)) {
				char buf[512];
				gq_format(q, buf, sizeof buf);
				fprintf(stderr, "fuzz_plan: line %.*s matches, plan %s\n", (int)l.n, (const char *)l.p, buf);
			}
			FUZZ_CHECK(gq_eval(q, line_has, &l));
		}
		i = end + 1;
	}
	pcre2_match_data_free(md);
}

static gq *plan(const char *const *pat, const size_t *len, size_t n, unsigned flags)
{
	gq *q = NULL;
	xihu_err err = {0};
	FUZZ_CHECK(grep_plan(pat, len, n, flags, &q, &err) == 0);
	FUZZ_CHECK(q != NULL);
	FUZZ_CHECK(check_tree(q, 0) <= 256 + 4 * n);
	return q;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned flags = (data[0] & 1 ? GREP_PLAN_FIXED : 0) | (data[0] & 2 ? GREP_PLAN_CASELESS : 0);
	const uint8_t *body = data + 1, *end = data + size;
	const uint8_t *nul = memchr(body, 0, (size_t)(end - body));
	const uint8_t *pend = nul ? nul : end;
	const char *pat[MAX_PATTERNS];
	size_t len[MAX_PATTERNS], n = 0;
	for (const uint8_t *p = body; n < MAX_PATTERNS;) {
		const uint8_t *sep = data[0] & 4 ? memchr(p, 1, (size_t)(pend - p)) : NULL;
		const uint8_t *e = sep ? sep : pend;
		pat[n] = (const char *)p;
		len[n++] = (size_t)(e - p);
		if (!sep)
			break;
		p = sep + 1;
	}
	gq *q = plan(pat, len, n, flags);
	gq *again = plan(pat, len, n, flags);
	char a[256], b[256];
	size_t na = gq_format(q, a, sizeof a), nb = gq_format(again, b, sizeof b);
	FUZZ_CHECK(na == nb && strcmp(a, b) == 0);
	FUZZ_CHECK(na < sizeof a ? strlen(a) == na : strlen(a) == sizeof a - 1);
	gq_free(again);

	const uint8_t *text = nul ? nul + 1 : end;
	pcre2_match_context *mc = pcre2_match_context_create(NULL);
	FUZZ_CHECK(mc != NULL);
	pcre2_set_match_limit(mc, 100000);
	pcre2_set_depth_limit(mc, 10000);
	for (size_t i = 0; i < n; i++) {
		pcre2_code *re = compile(pat[i], len[i], flags);
		if (!re)
			continue;
		check_lines(q, re, text, (size_t)(end - text), mc);
		pcre2_code_free(re);
	}
	pcre2_match_context_free(mc);
	gq_free(q);
	return 0;
}
