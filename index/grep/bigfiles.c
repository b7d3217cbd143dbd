/*
 * bigfiles.c: the trigrams of the files the index does not hold (over
 * xihu-index --max-file-size), which exact search reads whatever the
 * pattern (seg_doc_always): once read, a file's trigram set is kept here,
 * so a pattern whose trigrams it lacks does not read its megabytes again.
 *
 * An entry is valid for the file as stat(2) sees it now (device, inode,
 * size, modification time); a changed file is read again.  At most
 * MAX_FILES entries of a 2 MiB bitmap each (one bit per packed trigram),
 * the oldest replaced first.  Shared by every grep of the process, under
 * one mutex; a file is read outside it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "grep/grep.h"

#define MAX_FILES 8
#define BITS_BYTES (SEG_GRAM_MAX / 8)
#define CHUNK (1u << 20)

typedef struct big {
	char *path;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	uint8_t *bits;
	uint64_t used; /* when it was last asked for (a counter) */
} big;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static big cache[MAX_FILES];
static uint64_t clock_;

static bool same(const big *b, const char *path, const struct stat *st)
{
	return b->path && !strcmp(b->path, path) && b->dev == st->st_dev && b->ino == st->st_ino &&
	       b->size == st->st_size && b->mtime.tv_sec == st->st_mtim.tv_sec &&
	       b->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* The trigram bitmap of the file open on fd, or NULL (out of memory, a read error). */
static uint8_t *scan(int fd)
{
	uint8_t *bits = calloc(1, BITS_BYTES);
	uint8_t *buf = malloc(CHUNK + 2);
	if (!bits || !buf) {
		free(bits), free(buf);
		return NULL;
	}
	size_t keep = 0; /* the last two bytes of the chunk before */
	for (;;) {
		ssize_t n = read(fd, buf + keep, CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(bits), free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		size_t len = keep + (size_t)n;
		for (size_t i = 0; i + 2 < len; i++) {
			if (buf[i] == '\n' || buf[i + 1] == '\n' || buf[i + 2] == '\n')
				continue;
			uint32_t g = gram_pack(buf + i);
			bits[g >> 3] |= (uint8_t)(1u << (g & 7));
		}
		keep = len < 2 ? len : 2;
		memmove(buf, buf + len - keep, keep);
	}
	free(buf);
	return bits;
}

static bool has(const void *ctx, uint32_t g)
{
	const uint8_t *bits = ctx;
	return bits[g >> 3] >> (g & 7) & 1;
}

bool grep_big_may_match(const char *path, const gq *q)
{
	if (q->op == GQ_ALL)
		return true;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno != ENOENT; /* gone: nothing to find; else let the read report it */
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return true;
	}
	pthread_mutex_lock(&mu);
	for (int i = 0; i < MAX_FILES; i++)
		if (same(&cache[i], path, &st)) {
			cache[i].used = ++clock_;
			bool may = gq_eval(q, has, cache[i].bits);
			pthread_mutex_unlock(&mu);
			close(fd);
			return may;
		}
	pthread_mutex_unlock(&mu);
	uint8_t *bits = scan(fd);
	close(fd);
	char *copy = bits ? strdup(path) : NULL;
	if (!copy) {
		free(bits);
		return true;
	}
	bool may = gq_eval(q, has, bits);
	pthread_mutex_lock(&mu);
	int victim = 0;
	for (int i = 1; i < MAX_FILES; i++)
		if (cache[i].used < cache[victim].used)
			victim = i;
	free(cache[victim].path);
	free(cache[victim].bits);
	cache[victim] = (big){.path = copy, .dev = st.st_dev, .ino = st.st_ino, .size = st.st_size,
	                      .mtime = st.st_mtim, .bits = bits, .used = ++clock_};
	pthread_mutex_unlock(&mu);
	return may;
}
