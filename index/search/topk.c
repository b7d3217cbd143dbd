/*
 * topk.c: the best k hits of a query over every segment, in a bounded
 * min-heap (h[0] is the worst kept), then sorted best first for the page.
 *
 * Rank: the higher score first; a tie goes to the lower (segment, doc id),
 * i.e. the doc indexed first, so a result does not depend on the order the
 * collectors met the docs in.  Invariant: at most k entries, each ranking
 * no lower than any entry pushed and not kept.  Filled by the collectors
 * (collect_*.c), whose pruning reads topk_threshold; sorted by search.c.
 */
#include <stdlib.h>

#include "search/search-int.h"

bool topk_init(topk *t, uint32_t k)
{
	*t = (topk){.k = k};
	t->h = malloc(k * sizeof *t->h);
	return t->h != NULL;
}

void topk_free(topk *t)
{
	free(t->h);
	t->h = NULL;
}

/* a ranks before b */
static bool better(const scored *a, const scored *b)
{
	if (a->score != b->score)
		return a->score > b->score;
	if (a->seg != b->seg)
		return a->seg < b->seg;
	return a->doc < b->doc;
}

void topk_push(topk *t, scored e)
{
	if (t->k == 0)
		return;
	uint32_t i;
	if (t->n < t->k) {
		i = t->n++;
		while (i > 0) {
			uint32_t p = (i - 1) / 2;
			if (!better(&t->h[p], &e))
				break;
			t->h[i] = t->h[p];
			i = p;
		}
		t->h[i] = e;
		return;
	}
	if (!better(&e, &t->h[0]))
		return;
	i = 0;
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, w = i;
		const scored *wv = &e;
		if (l < t->n && better(wv, &t->h[l])) {
			w = l;
			wv = &t->h[l];
		}
		if (r < t->n && better(wv, &t->h[r]))
			w = r;
		if (w == i)
			break;
		t->h[i] = t->h[w];
		i = w;
	}
	t->h[i] = e;
}

static int cmp_rank(const void *a, const void *b)
{
	return better(a, b) ? -1 : better(b, a) ? 1 : 0;
}

void topk_sort(topk *t)
{
	qsort(t->h, t->n, sizeof *t->h, cmp_rank);
}
