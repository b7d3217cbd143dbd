/*
 * grep.h: `xihu grep`, shared by grep.c (the command line, the paths, the
 * request and the exit code) and grepout.c (how the answer prints).
 *
 * The output is ripgrep 13's, flag for flag: grep.c works out from the
 * options and the terminal what rg would show (struct grep_view), grepout.c
 * prints each file of the streamed answer as it arrives, into a buffer of
 * the view's own that grep.c has written out (gout_flush) at the end of a
 * frame, and keeps what the next file needs to know (something printed
 * already, for the "--" and blank-line separators).
 */
#ifndef XIHU_GREP_H
#define XIHU_GREP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xihu/client.h>

/* A PATH argument: how the user typed it and what it names (absolute). */
struct grep_root {
	const char *typed;
	char *abs; /* malloc'd */
	size_t abs_len;
	bool is_dir;
};

enum grep_mode { GREP_SHOW_LINES, GREP_SHOW_FILES, GREP_SHOW_COUNT, GREP_SHOW_NOTHING };

/* How the answer prints, and the printing's state across frames. */
struct grep_view {
	int fd;             /* where the answer goes (stdout) */
	enum grep_mode mode;
	bool json;          /* --json: one object per line (docs/CLIENT.md) */
	bool vimgrep;       /* one line per match: path:line:col:text */
	bool color;         /* rg's default colours */
	bool heading;       /* the path on a line of its own above its lines */
	bool with_filename; /* the path on each line (or heading) */
	bool line_numbers;
	bool column;        /* the first match's 1-based byte column */
	bool separators;    /* context asked for: "--" between groups */
	/* paths: under the root the file was found by, as the user typed it;
	 * with no root, relative to cwd */
	const struct grep_root *roots;
	size_t n_roots;
	const char *cwd;
	/* state */
	char *out;          /* the output not yet written: out_len of out_cap bytes */
	size_t out_len, out_cap;
	char *shown;        /* the current doc's path as it prints */
	size_t shown_len, shown_cap;
	bool printed;       /* something is on the output already */
	bool broken;        /* writing failed (EPIPE: the reader has gone) */
	int werr;           /* its errno */
	uint64_t files;     /* files printed */
	char *last_path;    /* the last doc's path (malloc'd): a doc of the same */
	size_t last_len;    /* path goes on with it (a file split over frames) */
	uint32_t last_line;
};

/* Prints one file of the answer as the view says (into the view's buffer). */
void gout_file(struct grep_view *v, const struct xihu_grep_doc *file);
/* --json: the last line, {"type":"summary",...}. */
void gout_json_summary(struct grep_view *v, const struct xihu_grep_summary *s);
/* Writes out what the buffer holds (a failure marks the view broken). */
void gout_flush(struct grep_view *v);
/* Frees the view's buffers. */
void gout_free(struct grep_view *v);

#endif
