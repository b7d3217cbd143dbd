/* example.c: search like grep, path:line:col:text; exit 0 hits, 1 none, 2 error (docs/CLIENT.md) */
#include <stdio.h>
#include <xihu/client.h>

int main(int argc, char **argv)
{
	char query[4096] = "", err[512];
	size_t n = 0; /* the words of argv joined by spaces */
	for (int i = 1; i < argc && n < sizeof query; i++)
		n += (size_t)snprintf(query + n, sizeof query - n, "%s%s", n ? " " : "", argv[i]);
	xihu_conn *c = xihu_connect(NULL, 0, err, sizeof err);
	struct xihu_results *r;
	if (!c || xihu_search(c, query, NULL, &r) != 0) {
		fprintf(stderr, "example: %s\n", c ? xihu_errmsg(c) : err);
		xihu_close(c);
		return 2;
	}
	for (const struct xihu_hit *h = r->hits; h < r->hits + r->n_hits; h++)
		for (const struct xihu_line *l = h->lines; l < h->lines + h->n_lines; l++)
			printf("%s:%u:%u:%s\n", h->doc, l->line, l->col, l->text);
	int rc = r->n_hits ? 0 : 1;
	xihu_results_free(r);
	xihu_close(c);
	return rc;
}
