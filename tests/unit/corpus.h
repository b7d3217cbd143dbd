/*
 * corpus.h: the fixture the search-level unit tests share: a temporary
 * directory with a tree of files (tree/) and its index (index/), built and
 * opened through the public API, removed afterwards.
 */
#ifndef XIHU_TEST_CORPUS_H
#define XIHU_TEST_CORPUS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "xihu-index.h"

typedef struct corpus {
	char root[64], tree[96], ixdir[96];
	xihu_index *ix;
} corpus;

/* Makes root (from a "/tmp/name.XXXXXX" template) and root/tree; 0 or -1. */
static inline int corpus_init(corpus *c, const char *tmpl)
{
	snprintf(c->root, sizeof c->root, "%s", tmpl);
	if (!mkdtemp(c->root))
		return -1;
	snprintf(c->tree, sizeof c->tree, "%s/tree", c->root);
	snprintf(c->ixdir, sizeof c->ixdir, "%s/index", c->root);
	c->ix = NULL;
	return mkdir(c->tree, 0755);
}

/* Writes tree/name with text; 0 or -1. */
static inline int corpus_write(const corpus *c, const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", c->tree, name);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* Builds the index of tree (stats into *st if non-NULL); 0 or the library's code. */
static inline int corpus_build(const corpus *c, xihu_build_stats *st)
{
	const char *paths[] = {c->tree};
	xihu_err err = {0};
	int rc = xihu_build(c->ixdir, paths, 1, NULL, 0, NULL, st, &err);
	if (rc)
		fprintf(stderr, "build: %s\n", err.msg);
	return rc;
}

/* Builds and opens the index into c->ix; 0 or the library's code. */
static inline int corpus_open(corpus *c, xihu_build_stats *st)
{
	xihu_err err = {0};
	int rc = corpus_build(c, st);
	if (!rc && (rc = xihu_index_open(c->ixdir, &c->ix, &err)))
		fprintf(stderr, "open: %s\n", err.msg);
	return rc;
}

/* Drops the index and removes root; 0 or -1. */
static inline int corpus_free(corpus *c)
{
	xihu_index_unref(c->ix);
	c->ix = NULL;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", c->root);
	return system(cmd) == 0 ? 0 : -1;
}

#endif
