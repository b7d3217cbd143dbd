/*
 * index/build/build.h: trees and records -> committed segments: the worker pipeline and the
 * pair-word sample of a new index, over the core, analysis and input layers.
 *
 * One section per .c file of index/build/.  The layers, bottom up: core,
 * analysis and input (both over core), build (over all three), search (over
 * core and analysis).  A layer includes only its own header and those of the
 * layers below it (scripts/check-layers checks it); daemon/ and client/
 * include none of them, only the public xihu-index.h.
 */
#ifndef XIHU_BUILD_BUILD_H
#define XIHU_BUILD_BUILD_H

#include "analysis/analysis.h"
#include "input/input.h"

/* ==== pairwords.c: the pair words of a new index ======================== */

typedef struct pairwords_root {
	const char *path;
	bool no_ignore; /* a tree walked with WALK_NO_IGNORE */
	bool records;   /* a JSON Lines file */
} pairwords_root;
/* The most frequent words of a sample of the roots' files, analyzed with
 * an, one per line, into *out (malloc'd; NULL and 0 when there are none). */
int pairwords_sample(const analysis *an, const pairwords_root *roots, size_t nroots, uint64_t max_size,
                     char **out, size_t *out_len, xihu_err *err);

/* ==== pipeline.c: documents -> segments, on worker threads ============== */

/*
 * The caller adds files and JSON Lines records from its own thread; batch k
 * (BATCH_FILES items or BATCH_BYTES bytes) goes to worker k % threads, which
 * reads, skips binary/oversized files, analyzes and feeds its own
 * seg_writer, finishing a segment when the writer passes ram_bytes/threads.
 * The add calls wait (calling idle about every 200 ms) while the worker's
 * queue is full; once any thread has failed they return its error.
 */
typedef struct pipeline pipeline;

typedef struct pipeline_opts {
	const char *dir;
	uint32_t threads;        /* >= 1 */
	uint64_t ram_bytes;      /* all writers together */
	uint64_t max_file_size;  /* larger files are skipped (and counted) */
	uint64_t first_seg_id;   /* ids are allocated upward from here */
	const analysis *an;      /* the index's analysis (NULL: the default) */
	FILE *warnings;          /* unreadable files; NULL: none */
	void (*idle)(void *ctx); /* the caller waits: a chance to report progress */
	void *idle_ctx;
} pipeline_opts;

typedef struct pipeline_counts {
	uint64_t files, input_bytes; /* files read (or skipped) so far; their sizes + record texts */
	uint64_t docs, bytes_in;     /* documents added, their bytes of text */
	uint64_t added, changed;     /* docs by their replaces flag */
	uint64_t skipped_binary, skipped_large, skipped_error;
	uint64_t next_seg_id;        /* every id this pipeline used is below */
} pipeline_counts;

struct jsonl_record;

int pipeline_start(const pipeline_opts *o, pipeline **out, xihu_err *err);
/* path[0..len) (absolute), its name relative to its root from rel_off;
 * replaces: an older copy of it is in the index (it counts as changed).
 * large: over --max-file-size: not read, but added as a doc of its path
 * alone that exact search always reads (seg_doc_in.always), counted
 * nowhere (the walk counts it as skipped). */
int pipeline_add_file(pipeline *p, const char *path, size_t len, size_t rel_off, int64_t mtime_ns,
                      uint64_t size, bool replaces, bool large, xihu_err *err);
/* A record, copied; size and mtime_ns are stored as its doc's. */
int pipeline_add_record(pipeline *p, const struct jsonl_record *rec, uint64_t size, int64_t mtime_ns,
                        xihu_err *err);
void pipeline_get_counts(pipeline *p, pipeline_counts *out);
/* Waits for every worker; on success *segs (malloc'd) lists the finished
 * segments in the order of their first documents.  On failure the first
 * error of any thread. */
int pipeline_finish(pipeline *p, seg_info **segs, uint32_t *nsegs, xihu_err *err);
void pipeline_free(pipeline *p); /* stops the workers; unfinished writers unlink their files */

#endif
