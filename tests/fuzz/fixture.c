/*
 * fixture.c: the small real index every target searches (fuzz.h).
 *
 * root/tree holds a handful of generated files (prose over several lines for
 * the snippets and context, camelCase identifiers, diacritics, a repeated
 * phrase), root/records.jsonl two records with a title field, root/stop a
 * stopword file.  The first build indexes them; the second adds a file and
 * changes one, so the index has two segments and a deletion bitmap.
 */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

static char root[64];
static char ixdir[96];
static xihu_index *ix;

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void fuzz_rm_tree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void cleanup(void)
{
	if (ix)
		xihu_index_unref(ix);
	ix = NULL;
	if (root[0])
		fuzz_rm_tree(root);
}

static void die(const char *what, const char *why)
{
	fprintf(stderr, "fuzz fixture: %s: %s\n", what, why);
	exit(2);
}

static void put(const char *dir, const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) == EOF || fclose(f) != 0)
		die(path, "cannot write");
}

static void build(const char *tree, const char *records, const char *stop)
{
	const char *paths[] = {tree};
	const char *jsonl[] = {records};
	xihu_build_opts o = {0};
	o.threads = 1;
	o.stem = "english";
	o.stopwords = stop;
	xihu_err err = {0};
	if (xihu_build(ixdir, paths, 1, jsonl, 1, &o, NULL, &err) != XIHU_OK)
		die("xihu_build", err.msg);
}

const char *fuzz_index_dir(void)
{
	if (ixdir[0])
		return ixdir;
	snprintf(root, sizeof root, "/tmp/xihu-fuzz-XXXXXX");
	if (!mkdtemp(root))
		die(root, "cannot make a temporary directory");
	atexit(cleanup);
	char tree[96], records[96], stop[96];
	snprintf(tree, sizeof tree, "%s/tree", root);
	snprintf(records, sizeof records, "%s/records.jsonl", root);
	snprintf(stop, sizeof stop, "%s/stop", root);
	snprintf(ixdir, sizeof ixdir, "%s/index", root);
	if (mkdir(tree, 0755) != 0)
		die(tree, "cannot make it");
	put(root, "stop", "the\nof\na\nand\nto\n");
	put(root, "records.jsonl",
	    "{\"id\":\"rec-1\",\"title\":\"The Art of War\",\"body\":\"All warfare is based on "
	    "deception.\\nHence, when able to attack, we must seem unable.\"}\n"
	    "{\"id\":\"rec-2\",\"title\":\"Café society\",\"body\":\"naïve résumé of the "
	    "running runners who ran\"}\n");
	put(tree, "alpha.txt",
	    "The quick brown fox jumps over the lazy dog.\n"
	    "A second line about foxes and dogs.\n\n"
	    "quick quick quick: the fox again\n"
	    "last line mentions the art of war\n");
	put(tree, "beta.c",
	    "/* beta.c: parseFrameHeader and friends */\n"
	    "static int parseFrameHeader(const char *buf, size_t len)\n"
	    "{\n\treturn len >= 4 ? buf[0] : -1; // quick check\n}\n"
	    "int main(void) { return parseFrameHeader(\"abcd\", 4); }\n");
	put(tree, "gamma.md",
	    "# Gamma\n\nRunning runners run; the runner ran.\n"
	    "Über straße café naïve coöperate\n"
	    "brown dogs and brown foxes, lazy afternoons\n");
	build(tree, records, stop);
	/* the second commit: one new file, one changed (its old copy deleted) */
	put(tree, "delta.txt", "delta lines\nthe fox is quick and the dog is lazy\nwarfare\n");
	put(tree, "gamma.md",
	    "# Gamma, changed\n\nRunning runners run; the runner ran away.\n"
	    "brown dogs and brown foxes\n");
	build(tree, records, stop);
	return ixdir;
}

xihu_index *fuzz_index(void)
{
	if (ix)
		return ix;
	xihu_err err = {0};
	if (xihu_index_open(fuzz_index_dir(), &ix, &err) != XIHU_OK)
		die("xihu_index_open", err.msg);
	return ix;
}
