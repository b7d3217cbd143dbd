/*
 * build-int.h: what build.c and merge.c share, private to index/build/: the
 * state of one xihu_build run.
 */
#ifndef XIHU_BUILD_INT_H
#define XIHU_BUILD_INT_H

#include "build/build.h"

#define MERGE_FACTOR 10
#define MERGE_DELETED_PCT 30
#define MAX_MERGES 1000 /* per run; the policy converges long before */

typedef struct old_doc {
	const char *name; /* in the segment's mapping */
	uint32_t name_len;
	uint32_t seg; /* index in the old manifest */
	uint32_t doc;
	int64_t mtime_ns;
	uint64_t size;
	uint64_t hash;
	bool always; /* a file that was over --max-file-size (seg_doc.always) */
	bool seen; /* the walk met it unchanged */
} old_doc;

typedef struct live_seg {
	uint64_t id, del_gen;
	uint32_t ndocs;
	seg *s;          /* opened at del_gen */
	uint8_t *newdel; /* run's deletions or'ed into the old bitmap, NULL: none yet */
	uint32_t nnew;   /* bits newly set */
} live_seg;

/* The live segments of the current commit, opened, beside its manifest. */
typedef struct state {
	manifest m;  /* segs and roots owned */
	seg **open;  /* per m.segs[i], opened at its del_gen; NULL until needed */
} state;

typedef struct build {
	const char *dir;
	const xihu_build_opts *o;
	uint64_t max_size;
	xihu_build_stats *st;
	xihu_err *err;
	uint64_t start_ns, last_progress_ns;
	int lockfd;   /* dir/LOCK; -1 until opened */
	bool locked;  /* lockfd is flock'ed: a failed run may collect garbage */
	bool fresh;   /* no index yet: this run creates it */
	char **roots; /* this run's, as the manifest stores them (until the commit takes them) */
	uint32_t nroots;
	analysis *an;

	manifest old;
	live_seg *segs; /* the old manifest's, opened */
	uint32_t nsegs;
	old_doc *docs; /* files of the old index, open-addressed by name */
	uint32_t docs_mask;
	uint32_t ndocs_old;
	uint64_t nmarked; /* deletion bits this run set */
	uint64_t nmarked_always; /* of them, on files over --max-file-size: counted nowhere */

	/* records: stamps of the old live records, and which are kept */
	struct stamp {
		uint64_t size;
		int64_t mtime;
		bool keep;
	} *stamps;
	uint32_t nstamps, capstamps;

	/* the walk */
	uint32_t root_len; /* the tree being walked: its path relative part starts after */
	uint64_t queued_bytes; /* handed to the pipeline: the ETA's total once walk_done */
	bool walk_done;
	uint64_t skipped_large; /* by their size at the walk */
	pipeline *pipe;
	pipeline_counts pc;   /* the pipeline's, once it has finished */
	seg_info *newsegs;    /* the segments it finished, in walk order */
	uint32_t nnewsegs;

	state cur; /* the committed index as this run leaves it */
} build;

/* ==== build.c ============================================================== */

/* A line "xihu-index: ..." to opts->verbose, if set. */
void build_verbose(build *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Whether opts->cancel asks the run to stop. */
bool build_cancelled(const build *b);

/* ==== merge.c ============================================================== */

/* Removes every file in dir that looks like a segment's and is not live:
 * segments m does not name, their .del generations but the live one, and
 * temporaries. */
void remove_garbage(const char *dir, const manifest *m);
/* Gives the free pages of every malloc arena back to the system, which
 * glibc otherwise keeps in RSS: called when the pipeline's writers or a
 * merge have freed their RAM, so the next merge's is not added on top of
 * it (issue 15: the build keeps --ram-mb).  Not after each writer: the
 * next one would fault the pages in again (1.5 s of system time in a 20 s
 * build of the Linux tree), for 40 MB less peak at 8x. */
void heap_give_back(void);
/* The bytes of the index files in dir. */
uint64_t dir_bytes(const char *dir);
void state_free(state *s);
/* Opens every segment of s not open yet (s->open[i]). */
int open_all(build *b, state *s);
/* Merges by the policy (or everything, with opts->merge_all), a commit per
 * merge, until nothing is left to merge or the run is cancelled. */
int merge_loop(build *b, state *s);

#endif
