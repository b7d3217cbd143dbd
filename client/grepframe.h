/*
 * grepframe.h: a grep answer's Response frame decoded straight from its
 * bytes into the structs of <xihu/client.h> (grepframe.c), with no
 * protobuf-c unpacking and no allocation per line.
 *
 * Used by libxihu.c (xihu_grep's stream) and by tests/fuzz/fuzz_grepframe.c,
 * which holds it to protobuf-c's xihu__response__unpack.  It links nothing
 * but libc.
 */
#ifndef XIHU_GREPFRAME_H
#define XIHU_GREPFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xihu/client.h"

/* The arrays a frame is decoded into, kept from frame to frame and grown
 * when a frame needs more (grepframe_buf_free when done).  A frame's files,
 * lines, spans and bytes live in them until the next frame is decoded. */
struct grepframe_buf {
	struct xihu_grep_doc *files;
	struct xihu_line *lines;
	struct xihu_span *spans;
	char **errors;
	char *chars;   /* each path, text and error, with a NUL after it */
	size_t files_cap, lines_cap, spans_cap, errors_cap, chars_cap;
	void *mem;     /* grepframe_reserve's block */
	size_t mem_cap;
};

void grepframe_buf_free(struct grepframe_buf *b);

/* A block of at least size bytes in b (its old contents lost), for what
 * protobuf-c unpacked instead.  NULL when out of memory (b unchanged). */
void *grepframe_reserve(struct grepframe_buf *b, size_t size);

/* What a Response frame with a grep body holds. */
struct grepframe {
	uint64_t id;                    /* the request it answers (0: unknown) */
	const struct xihu_grep_doc *files;
	size_t n_files;
	bool done;                      /* the last frame: sum is filled */
	struct xihu_grep_summary sum;   /* its errors point into blk too */
};

enum {
	GREPFRAME_OK = 0,
	GREPFRAME_OTHER = 1,  /* not a grep body alone: another body (an Error...)
	                       * or none; unpack it with protobuf-c */
	GREPFRAME_BAD = -1,   /* malformed: why says where ("byte N: ...") */
	GREPFRAME_NOMEM = -2, /* out of memory for the arrays: why says how much */
};

/*
 * Decodes the n bytes of a packed Response whose fields are id, version and
 * the grep body (16) -- what xihud sends for a grep -- into *out, with its
 * files and strings in blk's arrays.  Protobuf's wire rules as protobuf-c
 * 1.4 applies them: fields in any order, unknown ones skipped by their wire
 * type, the last of a repeated singular field wins, varints of up to 10
 * bytes; every span of the body kept must lie inside its line's text (as
 * for search results).  Returns a GREPFRAME_* code; why (whylen bytes) gets
 * one line "byte N of SIZE: what" on BAD, how much on NOMEM.
 */
int grepframe_decode(const uint8_t *buf, size_t n, struct grepframe_buf *blk, struct grepframe *out,
                     char *why, size_t whylen);

#endif
