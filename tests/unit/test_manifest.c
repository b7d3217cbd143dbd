/*
 * test_manifest.c: the MANIFEST file (index/manifest.c) and the xfile
 * envelope it is written in: round-trip, absence, damage, leftovers.
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tmpdir.h"

#include "core/core.h"

static int setup(void **state)
{
	if (fx_setup(state, "/tmp/xihu-test-man-XXXXXX"))
		return -1;
	fx *f = *state;
	snprintf(f->path, sizeof f->path, "%s/MANIFEST", f->dir);
	return 0;
}

static int teardown(void **state)
{
	return fx_teardown(state);
}

static void sample(manifest *m, manifest_seg segs[3], char *roots[2])
{
	memset(m, 0, sizeof *m);
	m->generation = 42;
	m->next_seg_id = 0x1234567890ull;
	segs[0] = (manifest_seg){.id = 1, .ndocs = 10, .del_gen = 0};
	segs[1] = (manifest_seg){.id = 7, .ndocs = UINT32_MAX - 1, .del_gen = 0x100000003ull};
	segs[2] = (manifest_seg){.id = 0x123456788ull, .ndocs = 0, .del_gen = 0};
	m->segs = segs;
	m->nsegs = 3;
	roots[0] = "/home/user/src";
	roots[1] = "/data/records with space.jsonl";
	m->roots = roots;
	m->nroots = 2;
}

static void test_roundtrip(void **state)
{
	fx *f = *state;
	manifest m, r;
	manifest_seg segs[3];
	char *roots[2];
	sample(&m, segs, roots);
	assert_int_equal(manifest_write(f->dir, &m, &f->err), XIHU_OK);
	assert_int_equal(access(f->path, F_OK), 0);
	char tmp[160];
	snprintf(tmp, sizeof tmp, "%s.tmp", f->path);
	assert_int_equal(access(tmp, F_OK), -1); /* renamed away */
	assert_int_equal(manifest_read(f->dir, &r, &f->err), XIHU_OK);
	assert_int_equal(r.generation, 42);
	assert_int_equal(r.next_seg_id, 0x1234567890ull);
	assert_int_equal(r.nsegs, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(r.segs[i].id, segs[i].id);
		assert_int_equal(r.segs[i].ndocs, segs[i].ndocs);
		assert_int_equal(r.segs[i].del_gen, segs[i].del_gen);
	}
	assert_int_equal(r.nroots, 2);
	assert_string_equal(r.roots[0], roots[0]);
	assert_string_equal(r.roots[1], roots[1]);
	manifest_free(&r);

	/* a second commit replaces the first */
	m.generation = 43;
	m.nsegs = 1;
	m.nroots = 0;
	assert_int_equal(manifest_write(f->dir, &m, &f->err), XIHU_OK);
	assert_int_equal(manifest_read(f->dir, &r, &f->err), XIHU_OK);
	assert_int_equal(r.generation, 43);
	assert_int_equal(r.nsegs, 1);
	assert_int_equal(r.nroots, 0);
	manifest_free(&r);
}

static void test_empty_manifest(void **state)
{
	fx *f = *state;
	manifest m = {.generation = 1, .next_seg_id = 1}, r;
	assert_int_equal(manifest_write(f->dir, &m, &f->err), XIHU_OK);
	assert_int_equal(manifest_read(f->dir, &r, &f->err), XIHU_OK);
	assert_int_equal(r.generation, 1);
	assert_int_equal(r.nsegs, 0);
	assert_int_equal(r.nroots, 0);
	manifest_free(&r);
}

static void test_missing(void **state)
{
	fx *f = *state;
	manifest r;
	assert_int_equal(manifest_read(f->dir, &r, &f->err), XIHU_ENOINDEX);
	char want[160];
	snprintf(want, sizeof want, "%s: no index here (no MANIFEST)", f->dir);
	assert_string_equal(f->err.msg, want);
	char nodir[160];
	snprintf(nodir, sizeof nodir, "%s/does-not-exist", f->dir);
	assert_int_equal(manifest_read(nodir, &r, &f->err), XIHU_ENOINDEX);
}

static void write_raw(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	close(fd);
}

static size_t read_raw(const char *path, uint8_t *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	ssize_t n = read(fd, buf, cap);
	close(fd);
	assert_true(n > 0);
	return (size_t)n;
}

static void test_corrupt(void **state)
{
	fx *f = *state;
	manifest m, r;
	manifest_seg segs[3];
	char *roots[2];
	sample(&m, segs, roots);
	assert_int_equal(manifest_write(f->dir, &m, &f->err), XIHU_OK);
	uint8_t good[4096], bad[4096];
	size_t n = read_raw(f->path, good, sizeof good);
	/* every byte flipped in turn is caught (header, payload, trailer) */
	for (size_t i = 0; i < n; i++) {
		memcpy(bad, good, n);
		bad[i] ^= 0x01;
		write_raw(f->path, bad, n);
		memset(&f->err, 0, sizeof f->err);
		assert_int_equal(manifest_read(f->dir, &r, &f->err), XIHU_ECORRUPT);
		assert_non_null(strstr(f->err.msg, f->path));
	}
	/* truncated */
	write_raw(f->path, good, n - 1);
	assert_int_equal(manifest_read(f->dir, &r, &f->err), XIHU_ECORRUPT);
	assert_non_null(strstr(f->err.msg, f->path));
	write_raw(f->path, good, 10);
	assert_int_equal(manifest_read(f->dir, &r, &f->err), XIHU_ECORRUPT);
	char want[256];
	snprintf(want, sizeof want, "%s: truncated: 10 bytes, expected at least 28", f->path);
	assert_string_equal(f->err.msg, want);
	/* empty file */
	write_raw(f->path, good, 0);
	assert_int_equal(manifest_read(f->dir, &r, &f->err), XIHU_ECORRUPT);
	/* not an index file at all */
	write_raw(f->path, "hello, this is not a manifest of any kind\n", 42);
	assert_int_equal(manifest_read(f->dir, &r, &f->err), XIHU_ECORRUPT);
	assert_non_null(strstr(f->err.msg, "bad magic"));
	/* good again */
	write_raw(f->path, good, n);
	assert_int_equal(manifest_read(f->dir, &r, &f->err), XIHU_OK);
	manifest_free(&r);
}

/* A crash between writing MANIFEST.tmp and the rename leaves a tmp file:
 * readers ignore it and the next commit overwrites it. */
static void test_leftover_tmp(void **state)
{
	fx *f = *state;
	manifest m, r;
	manifest_seg segs[3];
	char *roots[2];
	sample(&m, segs, roots);
	assert_int_equal(manifest_write(f->dir, &m, &f->err), XIHU_OK);
	char tmp[160];
	snprintf(tmp, sizeof tmp, "%s.tmp", f->path);
	write_raw(tmp, "XIHUMANI half-written garbage", 29);
	assert_int_equal(manifest_read(f->dir, &r, &f->err), XIHU_OK);
	assert_int_equal(r.generation, 42);
	manifest_free(&r);
	m.generation = 44;
	assert_int_equal(manifest_write(f->dir, &m, &f->err), XIHU_OK);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(manifest_read(f->dir, &r, &f->err), XIHU_OK);
	assert_int_equal(r.generation, 44);
	manifest_free(&r);

	/* only a tmp file and no MANIFEST: still no index */
	unlink(f->path);
	write_raw(tmp, "XIHUMANI half-written garbage", 29);
	assert_int_equal(manifest_read(f->dir, &r, &f->err), XIHU_ENOINDEX);
}

static void test_invalid_write(void **state)
{
	fx *f = *state;
	manifest_seg segs[2] = {{.id = 5}, {.id = 5}};
	manifest m = {.generation = 1, .next_seg_id = 10, .nsegs = 2, .segs = segs};
	assert_int_equal(manifest_write(f->dir, &m, &f->err), XIHU_EINVAL);
	assert_non_null(strstr(f->err.msg, "listed twice"));
	segs[1].id = 10; /* not below next_seg_id */
	assert_int_equal(manifest_write(f->dir, &m, &f->err), XIHU_EINVAL);
	assert_int_equal(access(f->path, F_OK), -1);
	manifest r;
	assert_int_equal(manifest_read(f->dir, &r, &f->err), XIHU_ENOINDEX);
}

/* The xfile envelope itself: empty payloads, kinds, and its layout. */
static void test_xfile_empty_payload(void **state)
{
	fx *f = *state;
	xfile_w w;
	assert_int_equal(xfile_create(&w, f->dir, "e.del", XFILE_DELETES, &f->err), XIHU_OK);
	assert_int_equal(xfile_tell(&w), 16);
	assert_int_equal(xfile_finish(&w), XIHU_OK);
	xmap m;
	assert_int_equal(xfile_map(&m, f->dir, "e.del", XFILE_DELETES, true, &f->err), XIHU_OK);
	assert_int_equal(m.len, 0);
	assert_int_equal(m.size, 28);
	assert_memory_equal(m.base, "XIHUDELS", 8);
	assert_int_equal(get_u32le(m.base + 8), XIHU_FORMAT_VERSION);
	assert_int_equal(get_u32le(m.base + 12), 0);
	assert_int_equal(get_u64le(m.base + 16), 0);
	xfile_unmap(&m);
	/* O_EXCL: an existing file is not replaced */
	assert_int_equal(xfile_create(&w, f->dir, "e.del", XFILE_DELETES, &f->err), XIHU_EIO);
	assert_non_null(strstr(f->err.msg, "e.del"));
	xfile_abort(&w);
	assert_int_equal(xfile_map(&m, f->dir, "e.del", XFILE_DELETES, true, &f->err), XIHU_OK);
	xfile_unmap(&m);
	/* a wrong kind is named */
	assert_int_equal(xfile_map(&m, f->dir, "e.del", XFILE_TERMS, true, &f->err), XIHU_ECORRUPT);
	assert_non_null(strstr(f->err.msg, "file kind DELS, expected TERM"));
	assert_non_null(strstr(f->err.msg, "offset 4"));
}

static void test_xfile_large_payload(void **state)
{
	fx *f = *state;
	xfile_w w;
	assert_int_equal(xfile_create(&w, f->dir, "big", XFILE_POSTINGS, &f->err), XIHU_OK);
	size_t n = 3u << 20;
	uint8_t *p = malloc(n);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 31 + (i >> 9));
	xfile_write(&w, p, 100); /* small, buffered */
	xfile_write(&w, p + 100, n - 100 - 7); /* large, straight through */
	xfile_write(&w, p + n - 7, 7);
	assert_int_equal(xfile_tell(&w), 16 + n);
	assert_int_equal(xfile_finish(&w), XIHU_OK);
	xmap m;
	assert_int_equal(xfile_map(&m, f->dir, "big", XFILE_POSTINGS, true, &f->err), XIHU_OK);
	assert_int_equal(m.len, n);
	assert_memory_equal(m.data, p, n);
	xfile_corrupt(&m, 5, &f->err, "test");
	char want[256];
	snprintf(want, sizeof want, "%s/big: offset 21: test", f->dir);
	assert_string_equal(f->err.msg, want);
	xfile_unmap(&m);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_manifest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_leftover_tmp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_xfile_empty_payload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_xfile_large_payload, setup, teardown),
	};
	return cmocka_run_group_tests_name("manifest", tests, NULL, NULL);
}
