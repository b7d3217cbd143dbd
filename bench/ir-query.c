/*
 * ir-query.c: bench/ir-eval's query runner.  A benchmark tool, not a test.
 *
 *   ir-query --socket PATH [-n N] [--any] < queries
 *
 * Reads "qid<TAB>query" lines on stdin and sends each query as one search
 * for the top N hits (default 1000), without lines or snippets, to xihud over
 * one connection (client/wire.h), one at a time.  With --any each search
 * sets SearchRequest.any (xihu search --any: the words ORed without writing
 * OR, so a long query spends no bytes on operators); an answer that does not
 * echo it (a daemon older than the field, which ANDed the words) is an
 * error that ends the run.  Prints per hit
 * "qid<TAB>rank<TAB>score<TAB>doc", in rank order, the doc with '\\', tab,
 * newline and CR written as \\, \t, \n, \r; a query the daemon answers with
 * an error prints "qid<TAB>error<TAB>CODE: message" instead, and the run goes
 * on.  Exit 0 when every query was sent and answered, 2 when the daemon
 * cannot be reached or the input is not lines of that form.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("ir-query: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static void put_escaped(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (p[i]) {
		case '\\': fputs("\\\\", stdout); break;
		case '\t': fputs("\\t", stdout); break;
		case '\n': fputs("\\n", stdout); break;
		case '\r': fputs("\\r", stdout); break;
		default: putchar(p[i]);
		}
	}
}

static void clean(char *s)
{
	for (; *s; s++)
		if (*s == '\t' || *s == '\n' || *s == '\r')
			*s = ' ';
}

int main(int argc, char **argv)
{
	const char *sock = NULL;
	unsigned long limit = 1000;
	bool any = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
			sock = argv[++i];
		} else if (!strcmp(argv[i], "-n") && i + 1 < argc) {
			char *end;
			errno = 0;
			limit = strtoul(argv[++i], &end, 10);
			if (errno || *end || limit == 0 || limit > 100000)
				die("-n %s: expected a number from 1 to 100000", argv[i]);
		} else if (!strcmp(argv[i], "--any")) {
			any = true;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			puts("usage: ir-query --socket PATH [-n N] [--any] < qid<TAB>query lines");
			return 0;
		} else {
			die("%s: unknown argument (see ir-query --help)", argv[i]);
		}
	}
	if (!sock)
		die("--socket PATH is required");
	wire_conn c;
	if (wire_open(&c, sock))
		die("%s", c.err);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned long lineno = 0;
	while ((n = getline(&line, &cap, stdin)) >= 0) {
		lineno++;
		if (n && line[n - 1] == '\n')
			line[--n] = '\0';
		if (!n)
			continue;
		char *tab = strchr(line, '\t');
		if (!tab)
			die("stdin: line %lu: expected qid<TAB>query", lineno);
		*tab = '\0';
		const char *qid = line;
		Xihu__SearchRequest sr = XIHU__SEARCH_REQUEST__INIT;
		sr.query = tab + 1;
		sr.limit = (uint32_t)limit;
		sr.want_lines = false;
		sr.any = any;
		Xihu__Request req = XIHU__REQUEST__INIT;
		req.body_case = XIHU__REQUEST__BODY_SEARCH;
		req.search = &sr;
		Xihu__Response *resp;
		if (wire_call(&c, &req, &resp))
			die("query %s: %s", qid, c.err);
		if (resp->body_case == XIHU__RESPONSE__BODY_SEARCH) {
			const Xihu__SearchResponse *s = resp->search;
			if (any && !s->any)
				die("query %s: the daemon does not know SearchRequest.any: it is older than ir-query", qid);
			for (size_t i = 0; i < s->n_hits; i++) {
				printf("%s\t%zu\t%.9g\t", qid, i + 1, s->hits[i]->score);
				put_escaped(s->hits[i]->doc.data, s->hits[i]->doc.len);
				putchar('\n');
			}
		} else if (resp->body_case == XIHU__RESPONSE__BODY_ERROR) {
			char *msg = resp->error->message ? resp->error->message : "";
			clean(msg);
			printf("%s\terror\t%s: %s\n", qid, wire_error_name((int)resp->error->code), msg);
		} else {
			printf("%s\terror\tnot a search response\n", qid);
		}
		xihu__response__free_unpacked(resp, NULL);
	}
	free(line);
	wire_close(&c);
	if (fflush(stdout) || ferror(stdout))
		die("stdout: %s", strerror(errno));
	return 0;
}
