/*
 * benchutil.h: what the load programs of bench/ share (loadgen.c,
 * loadcheck.c): a monotonic clock, dying with one line, and reading the
 * query set that bench/queries.py writes.  Header-only: each program is one
 * file.  A benchmark's tools, not the product's.
 */
#ifndef XIHU_BENCHUTIL_H
#define XIHU_BENCHUTIL_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

/* The program's name for its error lines; set it first thing in main. */
static const char *bench_prog = "bench";

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* "PROG: what" on stderr, exit 2. */
static void bench_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn, unused));
static void bench_die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s: ", bench_prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

/* One line of the query set: its first field (the category) and its last
 * (the query as xihu takes it). */
typedef struct bench_query {
	char *category, *text;
} bench_query;

/* The query set at path ("category<TAB>op<TAB>words<TAB>query" lines; empty
 * lines and '#' comments skipped) into *out; dies on any error or when it
 * holds no query. */
static size_t bench_load_queries(const char *path, bench_query **out) __attribute__((unused));
static size_t bench_load_queries(const char *path, bench_query **out)
{
	FILE *f = fopen(path, "r");
	if (!f)
		bench_die("%s: cannot open", path);
	bench_query *q = NULL;
	char *line = NULL;
	size_t cap = 0, n = 0, qcap = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (!len || line[0] == '#')
			continue;
		char *tab = strchr(line, '\t'), *last = strrchr(line, '\t');
		if (!tab)
			bench_die("%s: a line without a tab", path);
		*tab = '\0';
		if (n == qcap) {
			qcap = qcap ? qcap * 2 : 1024;
			if (!(q = realloc(q, qcap * sizeof *q)))
				bench_die("%s: out of memory", path);
		}
		q[n].category = strdup(line);
		q[n].text = strdup(last + 1);
		if (!q[n].category || !q[n].text)
			bench_die("%s: out of memory", path);
		n++;
	}
	free(line);
	fclose(f);
	if (!n)
		bench_die("%s: no queries", path);
	*out = q;
	return n;
}

#endif
