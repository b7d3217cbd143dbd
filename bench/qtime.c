/*
 * qtime.c: the engine alone, without the daemon.  A benchmark tool, not a
 * test.
 *
 *   qtime INDEX QUERIES.tsv [ROUNDS]
 *
 * With QTIME_EACH=1 in the environment it also prints every query's best
 * time, "us<TAB>category<TAB>query", to find the slow ones; with
 * QTIME_LINES=N each hit's matching lines (at most N) are made too, as for
 * `xihu search` without -l.
 *
 * Opens INDEX through the public API and runs every query of the TSV
 * (bench/queries.py: category, op, words, query) ROUNDS times (default 5)
 * in-process, top 10 without lines, as xihud would.  Prints per category
 * the p50 and mean of the best round of each query in microseconds, and
 * the sum of all rounds' CPU, so that a change to search.c can be weighed
 * without the socket's round trip in the numbers (and under perf record).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xihu-index.h"

struct q {
	char cat[32];
	char *text;
	double best_us;
};

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fputs("usage: qtime INDEX QUERIES.tsv [ROUNDS]\n", stderr);
		return 2;
	}
	int rounds = argc > 3 ? atoi(argv[3]) : 5;
	xihu_err err = {0};
	xihu_index *ix;
	if (xihu_index_open(argv[1], &ix, &err)) {
		fprintf(stderr, "qtime: %s\n", err.msg);
		return 2;
	}
	FILE *f = fopen(argv[2], "r");
	if (!f) {
		perror(argv[2]);
		return 2;
	}
	struct q *qs = NULL;
	size_t n = 0, cap = 0;
	char line[4096];
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		char *tab1 = strchr(line, '\t'), *last = strrchr(line, '\t');
		if (!tab1 || !last)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			qs = realloc(qs, cap * sizeof *qs);
		}
		*tab1 = 0;
		snprintf(qs[n].cat, sizeof qs[n].cat, "%.31s", line);
		qs[n].text = strdup(last + 1);
		qs[n].best_us = 1e18;
		n++;
	}
	fclose(f);
	xihu_index_search_opts o = {.limit = 10};
	if (getenv("QTIME_LINES")) { /* each hit's lines too, at most this many */
		o.want_lines = true;
		o.max_lines = (uint32_t)atoi(getenv("QTIME_LINES"));
	}
	double total = 0;
	for (int r = 0; r < rounds; r++)
		for (size_t i = 0; i < n; i++) {
			xihu_index_results res;
			double t0 = now_us();
			if (xihu_index_search(ix, qs[i].text, strlen(qs[i].text), &o, &res, &err)) {
				fprintf(stderr, "qtime: %s: %s\n", qs[i].text, err.msg);
				return 2;
			}
			double dt = now_us() - t0;
			xihu_index_results_free(&res);
			total += dt;
			if (dt < qs[i].best_us)
				qs[i].best_us = dt;
		}
	if (getenv("QTIME_EACH") && !strcmp(getenv("QTIME_EACH"), "1"))
		for (size_t i = 0; i < n; i++)
			printf("%.1f\t%s\t%s\n", qs[i].best_us, qs[i].cat, qs[i].text);
	double *v = malloc(n * sizeof *v);
	printf("%-12s %8s %8s %8s\n", "category", "p50_us", "p99_us", "mean_us");
	for (size_t i = 0; i < n;) {
		size_t j = i, m = 0;
		double sum = 0;
		while (j < n && !strcmp(qs[j].cat, qs[i].cat)) {
			v[m++] = qs[j].best_us;
			sum += qs[j].best_us;
			j++;
		}
		qsort(v, m, sizeof *v, cmp_d);
		printf("%-12s %8.1f %8.1f %8.1f\n", qs[i].cat, v[m / 2], v[(m * 99) / 100], sum / (double)m);
		i = j;
	}
	for (size_t i = 0; i < n; i++)
		v[i] = qs[i].best_us;
	qsort(v, n, sizeof *v, cmp_d);
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	printf("%-12s %8.1f %8.1f %8.1f\n", "all", v[n / 2], v[(n * 99) / 100], sum / (double)n);
	printf("all rounds: %.0f us for %zu searches (%.1f us each)\n", total, n * (size_t)rounds,
	       total / (double)(n * (size_t)rounds));
	free(v);
	for (size_t i = 0; i < n; i++)
		free(qs[i].text);
	free(qs);
	xihu_index_unref(ix);
	return 0;
}
