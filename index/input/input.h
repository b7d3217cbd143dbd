/*
 * index/input/input.h: reading what the trees hold: the directory walk and its ignore rules,
 * .gz files, HTML text and JSON Lines records, over the core layer.
 *
 * One section per .c file of index/input/.  The layers, bottom up: core,
 * analysis and input (both over core), build (over all three), search (over
 * core and analysis).  A layer includes only its own header and those of the
 * layers below it (scripts/check-layers checks it); daemon/ and client/
 * include none of them, only the public xihu-index.h.
 */
#ifndef XIHU_INPUT_INPUT_H
#define XIHU_INPUT_INPUT_H

#include "core/core.h"

/* ==== html.c: the text of an HTML file ====================================== */

/* Whether a file is indexed as HTML, by its name: it ends in ".html" or
 * ".htm", in any case, optionally followed by ".gz" (read through zlib). */
bool html_is_html_name(const char *path, size_t len);

/*
 * Writes the text of the HTML src[0..len) to dst and returns its length,
 * never more than len: tags, comments and the contents of <script> and
 * <style> removed, character references decoded, every '\n' of src kept
 * (line k of the text is line k of the file).  dst may be src (the text
 * is extracted in place) or any other buffer of len bytes.  Never fails:
 * markup left unterminated at the end is kept as text.
 */
size_t html_text(const char *src, size_t len, char *dst);

/* ==== jsonl.c: JSON Lines records =========================================== */

typedef struct jsonl_field {
	uint32_t field;
	const char *value; /* points into jsonl_record.text */
	uint32_t len;
} jsonl_field;

typedef struct jsonl_record {
	const char *id; /* NUL-terminated */
	uint32_t id_len;
	const char *text; /* the string members, each on its own line, in file order */
	size_t text_len;
	uint32_t nfields;
	jsonl_field *fields;
} jsonl_record;

typedef int (*jsonl_fn)(void *ctx, const jsonl_record *rec);

/* Reads path line by line; a line that is not a JSON object with a string
 * "id" (holding no U+0000) is an error naming the file, line and column.
 * Blank lines are skipped. */
int jsonl_read(const char *path, jsonl_fn fn, void *ctx, xihu_err *err);

/* ==== walk.c: directory trees -> files ==================================== */

/*
 * Walks root depth-first in sorted order.  Skips .git (and other VCS dirs),
 * honours the .ignore files met on the way, and the .gitignore files inside a
 * git work tree (as ripgrep does), never follows a
 * symbolic link, and calls fn for every regular file with its absolute,
 * normalized path.  A non-zero return from fn stops the walk and is returned.
 * Unreadable directories go to warn (if non-NULL) and are skipped.
 */
typedef int (*walk_fn)(void *ctx, const char *path, const struct stat *st);
/* flags: WALK_NO_IGNORE reads no .gitignore/.ignore (VCS dirs still
 * skipped); WALK_DIRS calls fn for the root and every directory the walk
 * enters (before entering it), and not for files. */
enum { WALK_NO_IGNORE = 1, WALK_DIRS = 2 };
/* What a walk saw: files reported (or that would be, under WALK_DIRS),
 * entries left out by ignore rules, and the ignore file that left out the
 * first of them ("" if none). */
typedef struct walk_stats {
	uint64_t files, ignored;
	char first_rules[PATH_MAX];
} walk_stats;
/* stats may be NULL. */
int walk_tree(const char *root, unsigned flags, walk_fn fn, void *ctx, FILE *warn, walk_stats *stats,
              xihu_err *err);
/* One path segment against a glob (*, ?, [...], \ escapes) with fnmatch(3)'s
 * meaning for flags 0, bytewise; no [:class:] support (for tests). */
bool walk_glob_match(const char *pattern, const char *s);

/* ==== gunzip.c: a .gz file -> its inflated bytes ========================== */

#define GUNZIP_CHUNK 65536 /* bytes read, and inflated, at a time: the most a limit is overrun by */

/*
 * Inflates the gzip file open on fd into out (reset first); takes fd (it is
 * closed on return).  Concatenated members are read in turn, bytes after a
 * member that start no other ignored; a file without the gzip magic is read
 * as it is.  Errors name path: XIHU_ELIMIT once out holds more than max
 * bytes (out->len <= max + GUNZIP_CHUNK); XIHU_EINVAL for a corrupt or
 * truncated stream, "PATH: offset N: why" with N the offset in the file
 * where inflate stopped; XIHU_EIO, XIHU_ENOMEM.
 */
int gunzip_fd(int fd, const char *path, uint64_t max, xbuf *out, xihu_err *err);

#endif
