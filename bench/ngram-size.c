/*
 * ngram-size.c: what an n-gram index of the raw text would cost, measured on
 * a real tree before one is chosen (issue 14: "choose the n-gram scheme and
 * codec by measurement").  A benchmark, not part of xihu.
 *
 *   ngram-size ROOT...
 *
 * Walks the trees (symbolic links not followed, .git/.hg/.svn skipped, files
 * over 16 MiB and files with a NUL byte in their first 8 KiB left out, as
 * xihu-index does), gives each file a doc id in walk order, and counts for
 * byte trigrams (the 2^24 values of three consecutive bytes):
 *   - document-level postings (one per trigram per file, as Cox's
 *     codesearch keeps them), for the raw bytes and with ASCII letters
 *     folded to lower case (what -i needs from one list);
 *   - their size with doc-id gaps as LEB128 varints, an upper bound of what
 *     a block codec gets;
 *   - positional postings (every occurrence, as zoekt keeps them) and the
 *     varint size of their position gaps within a file.
 * Prints one table of the counts and the sizes as a share of the corpus.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NGRAMS (1u << 24)
#define MAX_FILE (16u << 20)
#define PROBE 8192

/* One trigram space: the last doc id seen per trigram (0: none) and the
 * running totals. */
typedef struct space {
	uint32_t *last_doc;
	uint64_t distinct, postings, doc_bytes;
} space;

static space raw_sp, fold_sp;
/* positions (raw bytes only): the doc of the last occurrence and its offset */
static uint32_t *pos_doc, *pos_last;
static uint64_t occurrences, pos_bytes;
static uint64_t files, bytes, skipped;
static uint32_t doc;
static uint8_t *buf;

static unsigned varint_len(uint64_t v)
{
	unsigned n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static void post(space *s, uint32_t t)
{
	uint32_t prev = s->last_doc[t];
	if (prev == doc)
		return;
	if (!prev)
		s->distinct++;
	s->postings++;
	s->doc_bytes += varint_len(doc - prev);
	s->last_doc[t] = doc;
}

static void count_file(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 3 <= n; i++) {
		uint32_t t = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		post(&raw_sp, t);
		uint8_t a = p[i], b = p[i + 1], c = p[i + 2];
		a = a >= 'A' && a <= 'Z' ? a | 0x20 : a;
		b = b >= 'A' && b <= 'Z' ? b | 0x20 : b;
		c = c >= 'A' && c <= 'Z' ? c | 0x20 : c;
		post(&fold_sp, (uint32_t)a << 16 | (uint32_t)b << 8 | c);
		occurrences++;
		uint32_t gap = pos_doc[t] == doc ? (uint32_t)i - pos_last[t] : (uint32_t)i + 1;
		pos_bytes += varint_len(gap);
		pos_doc[t] = doc;
		pos_last[t] = (uint32_t)i;
	}
}

static int on_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	const char *name = path + ftw->base;
	if (type == FTW_D && (!strcmp(name, ".git") || !strcmp(name, ".hg") || !strcmp(name, ".svn")))
		return FTW_SKIP_SUBTREE;
	if (type != FTW_F || !S_ISREG(st->st_mode))
		return FTW_CONTINUE;
	if ((uint64_t)st->st_size > MAX_FILE) {
		skipped++;
		return FTW_CONTINUE;
	}
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		skipped++;
		return FTW_CONTINUE;
	}
	size_t n = 0;
	for (;;) {
		ssize_t k = read(fd, buf + n, MAX_FILE + 1 - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		n += (size_t)k;
		if (n > MAX_FILE)
			break;
	}
	close(fd);
	if (n > MAX_FILE || memchr(buf, 0, n < PROBE ? n : PROBE)) {
		skipped++;
		return FTW_CONTINUE;
	}
	doc++;
	files++;
	bytes += n;
	count_file(buf, n);
	return FTW_CONTINUE;
}

static void row(const char *what, const space *s)
{
	printf("| %s | %llu | %llu | %.1f | %.3f |\n", what, (unsigned long long)s->distinct,
	       (unsigned long long)s->postings, (double)s->doc_bytes / 1e6, (double)s->doc_bytes / (double)bytes);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs("usage: ngram-size ROOT...\n", stderr);
		return 2;
	}
	raw_sp.last_doc = calloc(NGRAMS, sizeof(uint32_t));
	fold_sp.last_doc = calloc(NGRAMS, sizeof(uint32_t));
	pos_doc = calloc(NGRAMS, sizeof(uint32_t));
	pos_last = calloc(NGRAMS, sizeof(uint32_t));
	buf = malloc(MAX_FILE + 1);
	if (!raw_sp.last_doc || !fold_sp.last_doc || !pos_doc || !pos_last || !buf) {
		fputs("ngram-size: out of memory\n", stderr);
		return 2;
	}
	for (int i = 1; i < argc; i++)
		if (nftw(argv[i], on_entry, 64, FTW_PHYS | FTW_ACTIONRETVAL) < 0) {
			fprintf(stderr, "ngram-size: %s: %s\n", argv[i], strerror(errno));
			return 2;
		}
	if (!bytes) {
		fputs("ngram-size: no text found\n", stderr);
		return 1;
	}
	printf("%llu files, %.1f MB of text (%llu left out: binary, too large or unreadable)\n\n",
	       (unsigned long long)files, (double)bytes / 1e6, (unsigned long long)skipped);
	printf("| trigrams | distinct | doc postings | MB (varint gaps) | / corpus |\n");
	printf("| --- | ---: | ---: | ---: | ---: |\n");
	row("raw bytes, per document", &raw_sp);
	row("ASCII folded, per document", &fold_sp);
	printf("| raw bytes, every position | | %llu | %.1f | %.3f |\n", (unsigned long long)occurrences,
	       (double)(raw_sp.doc_bytes + pos_bytes) / 1e6, (double)(raw_sp.doc_bytes + pos_bytes) / (double)bytes);
	return 0;
}
