/*
 * xihu-query.c: a tiny query tool for the crash test (tests/e2e/crash.sh).
 *
 *   xihu-query INDEX QUERY...
 *
 * Opens the committed index in INDEX through the public API (every CRC
 * checked) and prints "generation N docs D", then for each query every
 * matching document (up to 100,000) with its matching lines, one line
 * "QUERY<TAB>DOC<TAB>LINE<TAB>TEXT" each, sorted, and "QUERY<TAB>hits N".
 * Sorted rather than ranked: the same documents score differently when a
 * merge has purged deleted ones (the statistics change), and what the crash
 * test pins is which documents and lines answer, not their order.
 * Exit 0, or 2 with "xihu-query: what: why".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xihu-index.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs("usage: xihu-query INDEX QUERY...\n", stderr);
		return 2;
	}
	xihu_err err = {0};
	xihu_index *ix;
	if (xihu_index_open(argv[1], &ix, &err)) {
		fprintf(stderr, "xihu-query: %s\n", err.msg);
		return 2;
	}
	xihu_index_stats st;
	xihu_index_get_stats(ix, &st);
	printf("generation %llu docs %llu\n", (unsigned long long)st.generation, (unsigned long long)st.docs);
	xihu_limits lim;
	xihu_limits_default(&lim);
	lim.max_hits = 100000;
	xihu_index_search_opts so = {.limit = 100000, .want_lines = true, .max_lines = 100000, .limits = &lim};
	int rc = 0;
	for (int q = 2; q < argc && !rc; q++) {
		xihu_index_results res;
		if (xihu_index_search(ix, argv[q], strlen(argv[q]), &so, &res, &err)) {
			fprintf(stderr, "xihu-query: %s: %s\n", argv[q], err.msg);
			rc = 2;
			break;
		}
		size_t n = 0, cap = 64;
		char **rows = malloc(cap * sizeof *rows);
		for (uint32_t h = 0; h < res.nhits && rows; h++) {
			const xihu_index_hit *hit = &res.hits[h];
			for (uint32_t l = 0; l < (hit->nlines ? hit->nlines : 1) && rows; l++) {
				if (n == cap) {
					char **v = realloc(rows, 2 * cap * sizeof *rows);
					if (!v)
						break;
					rows = v;
					cap *= 2;
				}
				const xihu_index_line *ln = hit->nlines ? &hit->lines[l] : NULL;
				size_t sz = strlen(argv[q]) + hit->doc_len + (ln ? ln->len : 0) + 32;
				if (!(rows[n] = malloc(sz)))
					break;
				snprintf(rows[n], sz, "%s\t%.*s\t%u\t%.*s", argv[q], (int)hit->doc_len, hit->doc,
				         ln ? ln->line : 0, ln ? (int)ln->len : 0, ln ? ln->text : "");
				n++;
			}
		}
		if (!rows) {
			fputs("xihu-query: out of memory\n", stderr);
			rc = 2;
		} else {
			qsort(rows, n, sizeof *rows, cmp_str);
			for (size_t i = 0; i < n; i++) {
				puts(rows[i]);
				free(rows[i]);
			}
			printf("%s\thits %u\n", argv[q], res.nhits);
		}
		free(rows);
		xihu_index_results_free(&res);
	}
	xihu_index_unref(ix);
	return rc;
}
