/*
 * regex_plan.c: a pattern -> the trigram query every match must satisfy
 * (grep.h).  For now every pattern plans as ALL: always correct, never narrowing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grep/grep.h"

static gq *gq_new(gq_op op)
{
	gq *q = calloc(1, sizeof *q);
	if (q)
		q->op = op;
	return q;
}

int grep_plan(const char *const *pat, const size_t *len, size_t n, unsigned flags, gq **out, xihu_err *err)
{
	(void)pat, (void)len, (void)n, (void)flags;
	*out = gq_new(GQ_ALL);
	if (!*out)
		return xihu_err_set(err, XIHU_ENOMEM, "grep: out of memory");
	return 0;
}

void gq_free(gq *q)
{
	if (!q)
		return;
	for (uint32_t i = 0; i < q->n; i++)
		gq_free(q->kids[i]);
	free(q->kids);
	free(q);
}

bool gq_eval(const gq *q, bool (*has)(const void *ctx, uint32_t gram), const void *ctx)
{
	switch (q->op) {
	case GQ_ALL:
		return true;
	case GQ_NONE:
		return false;
	case GQ_GRAM:
		return has(ctx, q->gram);
	case GQ_AND:
		for (uint32_t i = 0; i < q->n; i++)
			if (!gq_eval(q->kids[i], has, ctx))
				return false;
		return true;
	case GQ_OR:
		for (uint32_t i = 0; i < q->n; i++)
			if (gq_eval(q->kids[i], has, ctx))
				return true;
		return false;
	}
	return true;
}

size_t gq_format(const gq *q, char *buf, size_t size)
{
	(void)q;
	return (size_t)snprintf(buf, size, "ALL");
}
