/*
 * tmpdir.h: the fixture of the segment-level unit tests: a fresh temporary
 * directory per test (cmocka setup/teardown) and an error slot.  Shared by
 * test_segment, test_manifest, test_merge and test_impact.
 */
#ifndef XIHU_TEST_TMPDIR_H
#define XIHU_TEST_TMPDIR_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xihu-index.h"

typedef struct fx {
	char dir[64];
	char path[128]; /* a file in dir, for the tests that name one */
	xihu_err err;
} fx;

/* Makes the directory from tmpl ("/tmp/name-XXXXXX") into *state; 0 or -1. */
static inline int fx_setup(void **state, const char *tmpl)
{
	fx *f = calloc(1, sizeof *f);
	if (!f)
		return -1;
	snprintf(f->dir, sizeof f->dir, "%s", tmpl);
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

/* Removes the directory and the files in it (tests make no subdirectories). */
static inline int fx_teardown(void **state)
{
	fx *f = *state;
	DIR *d = opendir(f->dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			char p[512];
			snprintf(p, sizeof p, "%s/%s", f->dir, e->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

#endif
