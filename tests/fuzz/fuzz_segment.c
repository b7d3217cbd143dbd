/*
 * fuzz_segment.c: opening, checking and searching a damaged index.
 *
 * At start-up the small index (fixture.c: two segments, a deletion bitmap,
 * SETTINGS, MANIFEST) is copied into a working directory and its files'
 * bytes kept.  Per input one file of the copy is rewritten damaged, then the
 * index is opened, searched a few ways and checked; the file is put back
 * before the next input.
 *
 * Input:
 *   byte 0      which file (modulo their number, in name order)
 *   byte 1      bit 0: truncate to the length in bytes 2-3 (modulo the size)
 *               bit 1: reseal: make the trailer's length and CRC-32 match the
 *                      damaged bytes, so the parsers behind the envelope run
 *               bit 2: remove the file instead
 *               bit 3: patches set bytes (else they XOR them)
 *   bytes 2-3   the truncated length (big-endian), with bit 0
 *   the rest    patches of 3 bytes: offset (big-endian u16, modulo the size)
 *               and a value
 *
 * Invariants: every call returns cleanly (any XIHU_E* code is fine), with a
 * one-line message naming the working directory's file when it is
 * XIHU_ECORRUPT; an undamaged copy opens and checks clean.
 */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "fuzz.h"

#define MAX_FILES 32

struct ixfile {
	char name[64];
	uint8_t *bytes;
	size_t len;
};

static char work[64];
static struct ixfile files[MAX_FILES];
static size_t nfiles;
static FILE *devnull;

static void cleanup(void)
{
	if (work[0])
		fuzz_rm_tree(work);
	for (size_t i = 0; i < nfiles; i++)
		free(files[i].bytes);
	if (devnull)
		fclose(devnull);
}

static void put_file(const char *name, const uint8_t *p, size_t len)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", work, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	FUZZ_CHECK(fd >= 0);
	while (len) {
		ssize_t w = write(fd, p, len);
		FUZZ_CHECK(w > 0);
		p += w;
		len -= (size_t)w;
	}
	close(fd);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	FUZZ_CHECK(f != NULL);
	FUZZ_CHECK(fseek(f, 0, SEEK_END) == 0);
	long n = ftell(f);
	FUZZ_CHECK(n >= 0);
	rewind(f);
	uint8_t *p = malloc(n ? (size_t)n : 1);
	FUZZ_CHECK(p != NULL);
	FUZZ_CHECK(fread(p, 1, (size_t)n, f) == (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return p;
}

static int cmp_files(const void *a, const void *b)
{
	return strcmp(((const struct ixfile *)a)->name, ((const struct ixfile *)b)->name);
}

static void setup(void)
{
	const char *src = fuzz_index_dir();
	snprintf(work, sizeof work, "/tmp/xihu-fuzz-seg-XXXXXX");
	FUZZ_CHECK(mkdtemp(work) != NULL);
	atexit(cleanup);
	devnull = fopen("/dev/null", "w");
	FUZZ_CHECK(devnull != NULL);
	DIR *d = opendir(src);
	FUZZ_CHECK(d != NULL);
	struct dirent *e;
	while ((e = readdir(d))) {
		const char *nm = e->d_name;
		if (nm[0] == '.' || strcmp(nm, "LOCK") == 0 || strstr(nm, ".tmp"))
			continue;
		FUZZ_CHECK(nfiles < MAX_FILES && strlen(nm) < sizeof files[0].name);
		char path[512];
		snprintf(path, sizeof path, "%s/%s", src, nm);
		memcpy(files[nfiles].name, nm, strlen(nm) + 1);
		files[nfiles].bytes = slurp(path, &files[nfiles].len);
		nfiles++;
	}
	closedir(d);
	FUZZ_CHECK(nfiles > 0);
	qsort(files, nfiles, sizeof files[0], cmp_files);
	for (size_t i = 0; i < nfiles; i++)
		put_file(files[i].name, files[i].bytes, files[i].len);
}

static void check_err(int rc, const xihu_err *err)
{
	if (err->code != rc)
		fprintf(stderr, "returned %d, err.code %d (%s)\n", rc, err->code, err->msg);
	FUZZ_CHECK(err->code == rc);
	FUZZ_CHECK(err->msg[0] != '\0');
	FUZZ_CHECK(strchr(err->msg, '\n') == NULL);
	if (rc == XIHU_ECORRUPT)
		FUZZ_CHECK(strstr(err->msg, work) != NULL);
}

static const char *const queries[] = {
	"fox", "\"brown dogs\"", "quick*", "runing~1", "title:war", "dog -lazy",
	"ext:c parseFrameHeader", "fox NEAR/2 dog", "cafe OR warfare",
};

static void search_all(xihu_index *ix)
{
	xihu_index_stats st;
	xihu_index_get_stats(ix, &st);
	for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
		xihu_index_search_opts o = {.limit = 20, .want_lines = true, .context = 1,
		                      .exact_total = i & 1, .suggest = true};
		xihu_index_results res = {0};
		xihu_err err = {0};
		int rc = xihu_index_search(ix, queries[i], strlen(queries[i]), &o, &res, &err);
		if (rc != XIHU_OK)
			check_err(rc, &err);
		xihu_index_results_free(&res);
	}
}

/* Makes the trailer's payload length and CRC-32 match the bytes. */
static void reseal(uint8_t *p, size_t len)
{
	if (len < 28)
		return;
	uint64_t n = len - 28;
	for (int i = 0; i < 8; i++)
		p[len - 12 + i] = (uint8_t)(n >> (8 * i));
	uint32_t crc = (uint32_t)crc32(0L, p, (uInt)(len - 4));
	for (int i = 0; i < 4; i++)
		p[len - 4 + i] = (uint8_t)(crc >> (8 * i));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!nfiles)
		setup();
	if (size < 2)
		return 0;
	const struct ixfile *f = &files[data[0] % nfiles];
	unsigned flags = data[1];
	const uint8_t *patch = data + 2;
	size_t npatch = size - 2;

	char path[256];
	snprintf(path, sizeof path, "%s/%s", work, f->name);
	bool damaged;
	if (flags & 4) {
		FUZZ_CHECK(unlink(path) == 0);
		damaged = true;
	} else {
		uint8_t *b = malloc(f->len ? f->len : 1);
		FUZZ_CHECK(b != NULL);
		memcpy(b, f->bytes, f->len);
		size_t len = f->len;
		if ((flags & 1) && npatch >= 2) {
			if (len)
				len = ((size_t)patch[0] << 8 | patch[1]) % len;
			patch += 2;
			npatch -= 2;
		}
		for (; npatch >= 3 && len; patch += 3, npatch -= 3) {
			size_t at = ((size_t)patch[0] << 8 | patch[1]) % len;
			b[at] = flags & 8 ? patch[2] : b[at] ^ patch[2];
		}
		if (flags & 2)
			reseal(b, len);
		damaged = len != f->len || memcmp(b, f->bytes, len) != 0;
		put_file(f->name, b, len);
		free(b);
	}

	xihu_index *ix = NULL;
	xihu_err err = {0};
	int rc = xihu_index_open(work, &ix, &err);
	if (rc == XIHU_OK) {
		search_all(ix);
		xihu_index_unref(ix);
	} else {
		FUZZ_CHECK(damaged);
		check_err(rc, &err);
	}
	xihu_err cerr = {0};
	rc = xihu_index_check(work, devnull, &cerr);
	if (rc != XIHU_OK) {
		FUZZ_CHECK(damaged);
		check_err(rc, &cerr);
	}

	put_file(f->name, f->bytes, f->len);
	return 0;
}
