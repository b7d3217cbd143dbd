/*
 * fuzz.h: what the fuzz targets share.
 *
 * Each target is one file defining LLVMFuzzerTestOneInput.  It builds two
 * ways (meson.build): linked with libFuzzer (-Dfuzz=true, clang), or with
 * replay.c's main, which runs every file of a corpus directory through it
 * (the `fuzz` test suite, in every build).  A target aborts on a broken
 * invariant, so a bad input fails the replay as a crash fails the fuzzer.
 *
 * fixture.c makes the small real index the targets search: a few generated
 * files and JSON Lines records, built twice (two segments and a deletion),
 * with English stemming and a stopword file, in a temporary directory that
 * is removed at exit.
 */
#ifndef XIHU_FUZZ_H
#define XIHU_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "xihu-index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Builds the small index in a new temporary directory (once per process)
 * and returns the directory; exits with a message when that fails. */
const char *fuzz_index_dir(void);
/* The small index, opened once. */
xihu_index *fuzz_index(void);
/* Removes dir and everything under it (the temporary directories). */
void fuzz_rm_tree(const char *dir);

/* A broken invariant: one line naming the target and what broke, then abort(). */
#define FUZZ_CHECK(cond)                                                                  \
	do {                                                                              \
		if (!(cond)) {                                                            \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, \
			        #cond);                                                   \
			abort();                                                          \
		}                                                                         \
	} while (0)

#endif
