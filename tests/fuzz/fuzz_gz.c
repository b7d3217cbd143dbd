/*
 * fuzz_gz.c: gunzip_fd (index/gunzip.c), the indexer's reading of a .gz
 * file, on arbitrary bytes.
 *
 * Input: the file's bytes, put in a memfd and read three times, with a
 * limit of BIG bytes, of SMALL (just over one GUNZIP_CHUNK, so a second
 * read crosses it) and of TINY (less than a seed holds).
 *
 * Invariants, each run: XIHU_OK, XIHU_ELIMIT or XIHU_EINVAL; never more
 * than the limit plus one chunk, and no more than the limit on XIHU_OK;
 * XIHU_EINVAL is one line "fuzz.gz: offset N: why" with N inside the file.
 * Against a reference that inflates the members with zlib's inflate()
 * (below): the bytes read are the start of its bytes; a file it inflates
 * whole within the limit gives XIHU_OK and all of them; past the limit,
 * XIHU_ELIMIT; a member it finds corrupt or cut short before the limit,
 * XIHU_EINVAL, never a text.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <zlib.h>

#include "fuzz.h"
#include "input/input.h"

#define BIG (256u << 10)
#define SMALL (GUNZIP_CHUNK + 4000u)
#define TINY 1000u
#define NAME "fuzz.gz"

/* A fresh memfd holding data, at offset 0. */
static int memfd_with(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz_gz", MFD_CLOEXEC);
	FUZZ_CHECK(fd >= 0);
	for (size_t off = 0; off < size;) {
		ssize_t w = write(fd, data + off, size - off);
		FUZZ_CHECK(w > 0);
		off += (size_t)w;
	}
	FUZZ_CHECK(lseek(fd, 0, SEEK_SET) == 0);
	return fd;
}

/* One read of data with limit max into out; checks what holds for any. */
static int run(const uint8_t *data, size_t size, uint64_t max, xbuf *out)
{
	xihu_err err = {0};
	int rc = gunzip_fd(memfd_with(data, size), NAME, max, out, &err);
	if (rc != XIHU_OK && rc != XIHU_ELIMIT && rc != XIHU_EINVAL)
		fprintf(stderr, "gunzip_fd: %d (%s)\n", rc, err.msg);
	FUZZ_CHECK(rc == XIHU_OK || rc == XIHU_ELIMIT || rc == XIHU_EINVAL);
	FUZZ_CHECK(out->rc == XIHU_OK);
	FUZZ_CHECK(out->len <= max + GUNZIP_CHUNK);
	if (rc == XIHU_OK)
		FUZZ_CHECK(out->len <= max);
	if (rc == XIHU_ELIMIT)
		FUZZ_CHECK(out->len > max);
	if (rc != XIHU_OK) {
		FUZZ_CHECK(err.code == rc);
		FUZZ_CHECK(strchr(err.msg, '\n') == NULL);
		FUZZ_CHECK(strncmp(err.msg, NAME ": ", strlen(NAME ": ")) == 0);
	}
	if (rc == XIHU_EINVAL) {
		const char *s = err.msg + strlen(NAME ": ");
		FUZZ_CHECK(strncmp(s, "offset ", 7) == 0);
		char *end;
		unsigned long long off = strtoull(s + 7, &end, 10);
		FUZZ_CHECK(end > s + 7 && off <= size);
		FUZZ_CHECK(strncmp(end, ": ", 2) == 0 && end[2] != '\0');
		FUZZ_CHECK(strstr(err.msg, "<fd:") == NULL);
	}
	return rc;
}

/* ---- the reference: zlib's inflate, member by member ------------------------ */

enum ref_end { REF_OK, REF_LONG, REF_BAD };
#define REF_MAX ((size_t)BIG + 2 * GUNZIP_CHUNK)

/*
 * What gzread's documentation makes of the file, through inflate() instead:
 * no gzip magic, the bytes as they are; else a member, then another for as
 * long as the rest starts with the magic, anything else after a member
 * ignored.  REF_BAD: a member is corrupt or cut short (out: the bytes
 * inflated before); REF_LONG: more than REF_MAX bytes, none bad so far.
 */
static enum ref_end reference(const uint8_t *d, size_t n, xbuf *out)
{
	if (n < 2 || d[0] != 0x1f || d[1] != 0x8b) {
		xbuf_put(out, d, n < REF_MAX ? n : REF_MAX);
		return n > REF_MAX ? REF_LONG : REF_OK;
	}
	size_t at = 0;
	while (n - at >= 2 && d[at] == 0x1f && d[at + 1] == 0x8b) {
		z_stream z;
		memset(&z, 0, sizeof z);
		FUZZ_CHECK(inflateInit2(&z, 16 + MAX_WBITS) == Z_OK);
		z.next_in = (Bytef *)(uintptr_t)(d + at);
		z.avail_in = (uInt)(n - at);
		int zr;
		do {
			if (out->len == REF_MAX) {
				inflateEnd(&z);
				return REF_LONG;
			}
			FUZZ_CHECK(xbuf_reserve(out, REF_MAX - out->len));
			z.next_out = out->p + out->len;
			z.avail_out = (uInt)(REF_MAX - out->len);
			zr = inflate(&z, Z_NO_FLUSH);
			out->len = (size_t)(z.next_out - out->p);
		} while (zr == Z_OK);
		at = n - z.avail_in;
		inflateEnd(&z);
		if (zr != Z_STREAM_END)
			return REF_BAD; /* Z_BUF_ERROR: the input ended inside the member */
	}
	return REF_OK;
}

/* A run with limit max against the reference's bytes. */
static void compare(int rc, const xbuf *got, uint64_t max, enum ref_end end, const xbuf *ref)
{
	FUZZ_CHECK(got->len <= ref->len && (got->len == 0 || memcmp(got->p, ref->p, got->len) == 0));
	if (end == REF_OK && ref->len <= max)
		FUZZ_CHECK(rc == XIHU_OK && got->len == ref->len);
	if (end != REF_BAD && ref->len > max)
		FUZZ_CHECK(rc == XIHU_ELIMIT);
	if (end == REF_BAD && ref->len > max + GUNZIP_CHUNK)
		FUZZ_CHECK(rc == XIHU_ELIMIT);
	if (end == REF_BAD && ref->len <= max)
		FUZZ_CHECK(rc == XIHU_EINVAL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t limits[] = {BIG, SMALL, TINY};
	xbuf ref, got;
	xbuf_init(&ref);
	xbuf_init(&got);
	enum ref_end end = reference(data, size, &ref);
	for (size_t i = 0; i < sizeof limits / sizeof *limits; i++) {
		int rc = run(data, size, limits[i], &got);
		if (rc != XIHU_OK && end == REF_OK && ref.len <= limits[i])
			fprintf(stderr, "gunzip_fd: %d, inflate: %zu bytes, whole\n", rc, ref.len);
		compare(rc, &got, limits[i], end, &ref);
	}
	xbuf_free(&ref);
	xbuf_free(&got);
	return 0;
}
