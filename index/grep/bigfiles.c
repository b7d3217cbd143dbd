/*
 * bigfiles.c: the trigrams of the files the index does not hold (over
 * xihu-index --max-file-size), which exact search reads whatever the
 * pattern (seg_doc_always): once read, a file's trigram set is kept here,
 * so a pattern whose trigrams it lacks does not read its megabytes again.
 *
 * The set is kept per block of whole lines of about BLOCK bytes, as the
 * index keeps big files (docs/FORMAT.md §3.7): a match lies in one line,
 * so its trigrams meet in one block, and a file whose every block lacks
 * one of a pattern's trigrams is not read.  A block's set is a Bloom
 * filter of BLOOM_BITS bits (one hash): a few hundred kilobytes for a
 * file of tens of megabytes, and a trigram it wrongly holds only costs a
 * read.
 *
 * An entry is valid for the file as stat(2) sees it now (device, inode,
 * size, modification time); a changed file is read again.  At most
 * MAX_FILES entries, the oldest replaced first.  Shared by every grep of
 * the process, under one mutex; a file is read outside it.
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
#define CHUNK (1u << 20)
#define BLOCK (64u << 10)   /* bytes of whole lines in a block, about */
#define BLOOM_BITS (1u << 16) /* per block: 8 KiB */
#define BLOOM_BYTES (BLOOM_BITS / 8)

typedef struct big {
	char *path;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	uint8_t *blooms; /* nblocks filters of BLOOM_BYTES */
	size_t nblocks;
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

static uint32_t bloom_bit(uint32_t gram)
{
	return (gram * 2654435761u) >> 16; /* 16 bits of a multiplicative hash */
}

/* Makes room for block k's filter (zeroed). */
static bool grow(uint8_t **blooms, size_t *cap, size_t k)
{
	if (k < *cap)
		return true;
	size_t n = *cap ? *cap * 2 : 64;
	uint8_t *b = realloc(*blooms, n * BLOOM_BYTES);
	if (!b)
		return false;
	memset(b + *cap * BLOOM_BYTES, 0, (n - *cap) * BLOOM_BYTES);
	*blooms = b;
	*cap = n;
	return true;
}

/* The blocks' filters of the file open on fd into *blooms (*nblocks), or
 * false (out of memory, a read error). */
static bool scan(int fd, uint8_t **blooms, size_t *nblocks)
{
	uint8_t *buf = malloc(CHUNK + 2);
	size_t cap = 0, k = 0, in_block = 0;
	*blooms = NULL;
	bool ok = buf && grow(blooms, &cap, 0);
	size_t keep = 0; /* the last two bytes of the chunk before */
	while (ok) {
		ssize_t n = read(fd, buf + keep, CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ok = n == 0;
			break;
		}
		size_t len = keep + (size_t)n;
		for (size_t i = 0; i + 2 < len && ok; i++) {
			if (buf[i] == '\n') { /* a block ends after a line, once it is big enough */
				if (++in_block >= BLOCK && (ok = grow(blooms, &cap, k + 1)))
					k++, in_block = 0;
				continue;
			}
			in_block++;
			if (buf[i + 1] == '\n' || buf[i + 2] == '\n')
				continue;
			uint32_t bit = bloom_bit(gram_pack(buf + i));
			(*blooms)[k * BLOOM_BYTES + (bit >> 3)] |= (uint8_t)(1u << (bit & 7));
		}
		keep = len < 2 ? len : 2;
		memmove(buf, buf + len - keep, keep);
	}
	free(buf);
	if (!ok) {
		free(*blooms);
		*blooms = NULL;
		return false;
	}
	*nblocks = k + 1;
	return true;
}

static bool has(const void *ctx, uint32_t g)
{
	const uint8_t *bloom = ctx;
	uint32_t bit = bloom_bit(g);
	return bloom[bit >> 3] >> (bit & 7) & 1;
}

/* Whether a block of the file may hold a line q allows. */
static bool blocks_may_match(const uint8_t *blooms, size_t nblocks, const gq *q)
{
	for (size_t k = 0; k < nblocks; k++)
		if (gq_eval(q, has, blooms + k * BLOOM_BYTES))
			return true;
	return false;
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
			bool may = blocks_may_match(cache[i].blooms, cache[i].nblocks, q);
			pthread_mutex_unlock(&mu);
			close(fd);
			return may;
		}
	pthread_mutex_unlock(&mu);
	uint8_t *blooms;
	size_t nblocks;
	bool scanned = scan(fd, &blooms, &nblocks);
	close(fd);
	char *copy = scanned ? strdup(path) : NULL;
	if (!copy) {
		free(scanned ? blooms : NULL);
		return true;
	}
	bool may = blocks_may_match(blooms, nblocks, q);
	pthread_mutex_lock(&mu);
	int victim = 0;
	for (int i = 1; i < MAX_FILES; i++)
		if (cache[i].used < cache[victim].used)
			victim = i;
	free(cache[victim].path);
	free(cache[victim].blooms);
	cache[victim] = (big){.path = copy, .dev = st.st_dev, .ino = st.st_ino, .size = st.st_size,
	                      .mtime = st.st_mtim, .blooms = blooms, .nblocks = nblocks, .used = ++clock_};
	pthread_mutex_unlock(&mu);
	return may;
}
