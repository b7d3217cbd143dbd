/*
 * pairwords.c: the pair words of a new index, learned from a sample of
 * what it is created from.
 *
 * A two-word phrase of two frequent words ("for struct", "static void")
 * is the slowest query there is: both words occur in most documents, and
 * their positions must be walked in every document that has both.  An
 * index therefore keeps a pair term for every two adjacent words that are
 * both pair words (seg_writer.c, add_pairs), and such a phrase becomes one
 * posting list (search.c).  The pair words are the most frequent words of
 * the corpus, so they are learned from it: when an index is created, this
 * samples its trees and JSON Lines files and keeps the PAIR_WORDS words
 * with the most occurrences (at least PAIR_MIN_SHARE of the sampled
 * tokens each).  They are stored in SETTINGS (settings.c) and never change
 * afterwards, so every segment and every merge agrees on them.
 *
 * The sample: the walk's files in order, as one run of bytes; at each of
 * SAMPLE_POINTS points spread evenly over it, the file under the point
 * gives its first SAMPLE_BYTES bytes (each file once).  Files with a NUL
 * byte in their first 8 KiB are skipped, as the walk skips them.  Numbers
 * are left out: they fill tables, and phrases seldom hold them.  The
 * sample is deterministic for a given tree, so a rebuild of the same tree
 * learns the same words.
 *
 * Measured on the Linux 6.1 tree (bench/run): the sample reads at most 16
 * MB; the pair terms cost 17.6 MB (+3.3% of the index) and about a fifth
 * more indexing CPU, and make the slowest phrase ("for struct") one list:
 * 14.5 ms -> 37 us in-process.  The phrase category's p99 went from 18.6
 * to 2.4 ms (bench/qtime).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/build.h"

#define PAIR_WORDS 200
#define PAIR_MIN_SHARE 1e-4 /* of the sampled tokens, for a word to count */
#define SAMPLE_POINTS 1024
#define SAMPLE_BYTES (16u << 10)
#define PROBE_BYTES 8192

typedef struct sfile {
	size_t path_off; /* into sampler.paths */
	uint64_t size;
} sfile;

typedef struct wcount {
	size_t off; /* into sampler.words, NUL-terminated */
	uint32_t len;
	uint64_t n;
} wcount;

typedef struct sampler {
	xbuf paths;
	sfile *files;
	size_t nfiles, capfiles;
	uint64_t total, max_size;
	/* word counts: open addressing over counts[] */
	xbuf words;
	wcount *counts;
	uint32_t *table; /* count index + 1; 0 empty */
	uint32_t mask, ncounts, capcounts;
	uint64_t ntokens;
	bool nomem;
} sampler;

static int on_file(void *ctx, const char *path, const struct stat *st)
{
	sampler *s = ctx;
	if (st->st_size <= 0 || (uint64_t)st->st_size > s->max_size)
		return 0;
	if (s->nfiles == s->capfiles) {
		size_t cap = s->capfiles ? 2 * s->capfiles : 1024;
		sfile *f = realloc(s->files, cap * sizeof *f);
		if (!f) {
			s->nomem = true;
			return XIHU_ENOMEM;
		}
		s->files = f;
		s->capfiles = cap;
	}
	s->files[s->nfiles].path_off = s->paths.len;
	s->files[s->nfiles].size = (uint64_t)st->st_size;
	xbuf_put(&s->paths, path, strlen(path) + 1);
	s->nfiles++;
	s->total += (uint64_t)st->st_size;
	return 0;
}

static bool count_word(sampler *s, const char *w, uint32_t len)
{
	if (2 * (s->ncounts + 1) > s->mask) {
		uint32_t cap = s->mask ? 2 * (s->mask + 1) : 4096;
		uint32_t *t = calloc(cap, sizeof *t);
		if (!t)
			return false;
		for (uint32_t i = 0; i < s->ncounts; i++) {
			const wcount *c = &s->counts[i];
			uint32_t k = (uint32_t)hash_bytes((const char *)s->words.p + c->off, c->len) & (cap - 1);
			while (t[k])
				k = (k + 1) & (cap - 1);
			t[k] = i + 1;
		}
		free(s->table);
		s->table = t;
		s->mask = cap - 1;
	}
	uint32_t k = (uint32_t)hash_bytes(w, len) & s->mask;
	for (; s->table[k]; k = (k + 1) & s->mask) {
		wcount *c = &s->counts[s->table[k] - 1];
		if (c->len == len && !memcmp(s->words.p + c->off, w, len)) {
			c->n++;
			return true;
		}
	}
	if (s->ncounts == s->capcounts) {
		uint32_t cap = s->capcounts ? 2 * s->capcounts : 4096;
		wcount *c = realloc(s->counts, cap * sizeof *c);
		if (!c)
			return false;
		s->counts = c;
		s->capcounts = cap;
	}
	s->counts[s->ncounts] = (wcount){.off = s->words.len, .len = len, .n = 1};
	xbuf_put(&s->words, w, len);
	xbuf_put_u8(&s->words, 0);
	if (s->words.rc)
		return false;
	s->table[k] = ++s->ncounts;
	return true;
}

/* Counts the tokens of the first SAMPLE_BYTES of one file. */
static bool sample_file(sampler *s, analyzer *a, const char *path, char *buf)
{
	/* as the build proper reads (pipeline.c): a FIFO or device put in the
	 * file's place since the walk must neither block nor feed us */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return true; /* gone or unreadable: the build proper reports it */
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return true;
	}
	size_t n = 0;
	while (n < SAMPLE_BYTES) {
		ssize_t k = read(fd, buf + n, SAMPLE_BYTES - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	if (memchr(buf, 0, n < PROBE_BYTES ? n : PROBE_BYTES))
		return true; /* binary */
	/* a cut at the sample's end may split the last word: drop it */
	while (n > 0 && n == SAMPLE_BYTES && (unsigned char)buf[n - 1] > ' ')
		n--;
	token t;
	analyzer_reset(a, buf, n, 0);
	while (analyzer_next(a, &t)) {
		if (t.whole)
			continue; /* never part of a phrase */
		s->ntokens++;
		if ((unsigned char)t.term[0] - '0' < 10)
			continue; /* numbers: seldom in a phrase, and everywhere in tables */
		if (!count_word(s, t.term, t.len))
			return false;
	}
	return true;
}

static int cmp_count(const void *x, const void *y)
{
	const wcount *a = x, *b = y;
	if (a->n != b->n)
		return a->n > b->n ? -1 : 1;
	return a->off < b->off ? -1 : a->off > b->off; /* first met first: deterministic */
}

int pairwords_sample(const analysis *an, const pairwords_root *roots, size_t nroots, uint64_t max_size,
                     char **out, size_t *out_len, xihu_err *err)
{
	*out = NULL;
	*out_len = 0;
	sampler s = {.max_size = max_size};
	xbuf_init(&s.paths);
	xbuf_init(&s.words);
	char *buf = NULL;
	analyzer a;
	bool a_open = false;
	int rc = 0;
	for (size_t i = 0; i < nroots && !rc; i++) {
		struct stat st;
		if (stat(roots[i].path, &st) < 0)
			continue; /* the build proper reports it */
		if (S_ISDIR(st.st_mode) && !roots[i].records)
			rc = walk_tree(roots[i].path, roots[i].no_ignore ? WALK_NO_IGNORE : 0, on_file, &s, NULL, NULL, err);
		else if (S_ISREG(st.st_mode)) {
			uint64_t m = s.max_size;
			if (roots[i].records)
				s.max_size = UINT64_MAX; /* a records file has no size limit */
			rc = on_file(&s, roots[i].path, &st);
			s.max_size = m;
		}
	}
	if (s.nomem || s.paths.rc)
		rc = xihu_err_set(err, XIHU_ENOMEM, "pair words: out of memory");
	if (rc || s.total == 0)
		goto out;
	if (!(buf = malloc(SAMPLE_BYTES))) {
		rc = xihu_err_set(err, XIHU_ENOMEM, "pair words: out of memory");
		goto out;
	}
	if ((rc = analyzer_open(&a, an, err)))
		goto out;
	a_open = true;
	/* the file under each sample point, each once */
	size_t f = 0, last = SIZE_MAX;
	uint64_t cum = 0; /* bytes of files[0..f) */
	for (uint32_t k = 0; k < SAMPLE_POINTS; k++) {
		uint64_t point = (uint64_t)((double)s.total * ((double)k + 0.5) / SAMPLE_POINTS);
		while (f < s.nfiles && cum + s.files[f].size <= point)
			cum += s.files[f++].size;
		if (f >= s.nfiles || f == last)
			continue;
		last = f;
		if (!sample_file(&s, &a, (const char *)s.paths.p + s.files[f].path_off, buf)) {
			rc = xihu_err_set(err, XIHU_ENOMEM, "pair words: out of memory");
			goto out;
		}
	}
	if (s.ncounts > 1) /* none at all: s.counts is NULL */
		qsort(s.counts, s.ncounts, sizeof *s.counts, cmp_count);
	xbuf text;
	xbuf_init(&text);
	double floor = PAIR_MIN_SHARE * (double)s.ntokens;
	for (uint32_t i = 0; i < s.ncounts && i < PAIR_WORDS; i++) {
		if ((double)s.counts[i].n < floor || s.counts[i].n < 2)
			break;
		xbuf_put(&text, s.words.p + s.counts[i].off, s.counts[i].len);
		xbuf_put_u8(&text, '\n');
	}
	if (text.rc) {
		xbuf_free(&text);
		rc = xihu_err_set(err, XIHU_ENOMEM, "pair words: out of memory");
		goto out;
	}
	*out = (char *)text.p;
	*out_len = text.len;
out:
	if (a_open)
		analyzer_close(&a);
	free(buf);
	free(s.files);
	free(s.counts);
	free(s.table);
	xbuf_free(&s.paths);
	xbuf_free(&s.words);
	return rc;
}
