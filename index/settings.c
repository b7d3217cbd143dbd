/*
 * settings.c: the analysis an index was created with, and its SETTINGS file.
 *
 * Owns struct analysis: the Snowball stemmer's name ("" for none), whether
 * diacritics are folded, and the stopword set (folded words, sorted, with a
 * hash table for the analyzer's per-token lookup).  An analysis is
 * immutable once made and shared read-only by every thread; a NULL
 * `const analysis *` everywhere means the default analysis (no stemming,
 * no stopwords, diacritics kept).
 *
 * The SETTINGS file (docs/FORMAT.md §5.1) is written once, when an index
 * is created, before its first commit: SETTINGS.tmp, fsync, rename, fsync
 * the directory, like the MANIFEST.  A directory without SETTINGS has the
 * default analysis.  The settings never change afterwards: xihu-index
 * refuses a run that asks for others (analysis_check), and the reader
 * (index.c) applies the stored ones to every query.
 *
 * Stopword files are one word per line; each line is cut and folded by the
 * analyzer (with the index's diacritic folding, without stemming), so a
 * stopword matches exactly the tokens it spells.  Empty lines and lines
 * starting with '#' are skipped.
 *
 * Callers: build.c (create, check), index.c (open), analyze.c (lookups).
 */
#include <errno.h>
#include <libstemmer.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "index-int.h"

#define SETTINGS_NAME "SETTINGS"
#define SETTINGS_TMP "SETTINGS.tmp"
#define MAX_STEM_NAME 32
#define MAX_STOPWORDS 65536
#define FLAG_FOLD_DIACRITICS 1u
#define FLAG_BM25 2u /* f64 k1, f64 b follow the flags */

struct analysis {
	char stem[MAX_STEM_NAME + 1]; /* "" : no stemming */
	bool fold_diacritics;
	double k1, b; /* BM25 for queries */
	uint32_t nstop;
	char **stop;       /* sorted bytewise, unique; each points into words */
	uint8_t *stop_len; /* their lengths, 1..XIHU_MAX_TERM */
	char *words;       /* the words, NUL-terminated, back to back */
	uint32_t *table;   /* open addressing: stop index + 1, 0 empty */
	uint32_t mask;
};

static uint64_t hash_term(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 0x100000001b3ull;
	return h ^ h >> 31;
}

const char *analysis_stem(const analysis *an)
{
	return an ? an->stem : "";
}

double analysis_k1(const analysis *an)
{
	return an ? an->k1 : XIHU_BM25_K1_DEFAULT;
}

double analysis_b(const analysis *an)
{
	return an ? an->b : XIHU_BM25_B_DEFAULT;
}

static bool bm25_ok(double k1, double b)
{
	return k1 > 0 && k1 <= 10 && b >= 0 && b <= 1;
}

bool analysis_fold_diacritics(const analysis *an)
{
	return an && an->fold_diacritics;
}

uint32_t analysis_nstopwords(const analysis *an)
{
	return an ? an->nstop : 0;
}

bool analysis_is_stopword(const analysis *an, const char *term, uint32_t len)
{
	if (!an || !an->nstop)
		return false;
	for (uint32_t i = (uint32_t)hash_term(term, len) & an->mask;; i = (i + 1) & an->mask) {
		uint32_t k = an->table[i];
		if (!k)
			return false;
		if (an->stop_len[k - 1] == len && !memcmp(an->stop[k - 1], term, len))
			return true;
	}
}

void analysis_free(analysis *an)
{
	if (!an)
		return;
	free(an->stop);
	free(an->stop_len);
	free(an->words);
	free(an->table);
	free(an);
}

bool analysis_known_stemmer(const char *name)
{
	for (const char **l = sb_stemmer_list(); *l; l++)
		if (!strcmp(*l, name))
			return true;
	return false;
}

/* "arabic, armenian, ..." into buf, for an error message. */
static void stemmer_names(char *buf, size_t size)
{
	size_t n = 0;
	buf[0] = 0;
	for (const char **l = sb_stemmer_list(); *l && n + 1 < size; l++) {
		int k = snprintf(buf + n, size - n, "%s%s", n ? " " : "", *l);
		if (k < 0 || (size_t)k >= size - n)
			break;
		n += (size_t)k;
	}
}

static int cmp_word(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	return strcmp(x, y); /* words hold no NUL: strcmp is memcmp, shorter first */
}

/* Sorts words[0..n) (each NUL-terminated, in an->words), drops duplicates
 * and builds the hash table.  Takes the arrays. */
static int stop_finish(analysis *an, char **words, uint32_t n, xihu_err *err)
{
	an->stop = words;
	if (n == 0)
		return 0;
	qsort(words, n, sizeof *words, cmp_word);
	uint32_t w = 1;
	for (uint32_t i = 1; i < n; i++)
		if (strcmp(words[i], words[w - 1]))
			words[w++] = words[i];
	an->nstop = w;
	uint32_t cap = 16;
	while (cap < 2 * w)
		cap *= 2;
	an->table = calloc(cap, sizeof *an->table);
	an->stop_len = malloc(w);
	if (!an->table || !an->stop_len)
		return xihu_err_set(err, XIHU_ENOMEM, "stopwords: out of memory");
	an->mask = cap - 1;
	for (uint32_t i = 0; i < w; i++) {
		size_t len = strlen(words[i]);
		an->stop_len[i] = (uint8_t)len;
		uint32_t h = (uint32_t)hash_term(words[i], len) & an->mask;
		while (an->table[h])
			h = (h + 1) & an->mask;
		an->table[h] = i + 1;
	}
	return 0;
}

/* The stopwords of a file's text, folded by an analyzer with an's folding. */
static int stop_parse(analysis *an, const char *name, const char *text, size_t len, xihu_err *err)
{
	analyzer a;
	token t;
	size_t cap = 0, n = 0;
	char **words = NULL;
	xbuf arena;
	xbuf_init(&arena);
	/* first pass: the folded words, NUL-separated, into the arena */
	int rc = analyzer_open(&a, an, err);
	if (rc)
		return rc;
	for (size_t ls = 0; ls < len && !rc;) {
		const char *nl = memchr(text + ls, '\n', len - ls);
		size_t le = nl ? (size_t)(nl - text) : len;
		size_t i = ls;
		while (i < le && (text[i] == ' ' || text[i] == '\t'))
			i++;
		if (i < le && text[i] != '#') {
			analyzer_reset(&a, text + i, le - i, ANALYZE_PLAIN);
			while (analyzer_next(&a, &t)) {
				if (t.whole)
					continue; /* "max_size" stops max and size, not the identifier */
				if (n == MAX_STOPWORDS) {
					rc = xihu_err_set(err, XIHU_ELIMIT, "%s: more than %d stopwords", name,
					                  MAX_STOPWORDS);
					break;
				}
				xbuf_put(&arena, t.term, t.len + 1);
				n++;
			}
		}
		ls = le + 1;
	}
	analyzer_close(&a);
	if (!rc && arena.rc)
		rc = xihu_err_set(err, XIHU_ENOMEM, "%s: out of memory", name);
	if (!rc && n) {
		cap = n;
		words = malloc(cap * sizeof *words);
		if (!words)
			rc = xihu_err_set(err, XIHU_ENOMEM, "%s: out of memory", name);
	}
	if (rc) {
		xbuf_free(&arena);
		return rc;
	}
	an->words = (char *)arena.p; /* taken: the words point into it */
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		words[i] = an->words + off;
		off += strlen(words[i]) + 1;
	}
	return stop_finish(an, words, (uint32_t)n, err);
}

int analysis_new(const analysis_opts *o, analysis **out, xihu_err *err)
{
	*out = NULL;
	analysis *an = calloc(1, sizeof *an);
	if (!an)
		return xihu_err_set(err, XIHU_ENOMEM, "out of memory");
	const char *stem = o->stem && strcmp(o->stem, "none") ? o->stem : "";
	if (*stem && (strlen(stem) > MAX_STEM_NAME || !analysis_known_stemmer(stem))) {
		char names[600];
		stemmer_names(names, sizeof names);
		analysis_free(an);
		return xihu_err_set(err, XIHU_EINVAL, "--stem %.40s: not a Snowball stemmer (none %s)", stem, names);
	}
	strcpy(an->stem, stem);
	an->fold_diacritics = o->fold_diacritics;
	an->k1 = o->k1 > 0 ? o->k1 : XIHU_BM25_K1_DEFAULT;
	an->b = o->b_given ? o->b : XIHU_BM25_B_DEFAULT;
	if (!bm25_ok(an->k1, an->b)) {
		analysis_free(an);
		return xihu_err_set(err, XIHU_EINVAL, "--k1 %g --b %g: k1 must be in (0, 10] and b in [0, 1]", an->k1, an->b);
	}
	int rc = o->stopwords ? stop_parse(an, o->stopwords_name ? o->stopwords_name : "stopwords", o->stopwords,
	                                   o->stopwords_len, err)
	                      : 0;
	if (rc) {
		analysis_free(an);
		return rc;
	}
	*out = an;
	return 0;
}

/* ---- checking a run's settings against the stored ones ----------------------------- */

static bool same_stopwords(const analysis *a, const analysis *b)
{
	uint32_t na = analysis_nstopwords(a), nb = analysis_nstopwords(b);
	if (na != nb)
		return false;
	for (uint32_t i = 0; i < na; i++)
		if (strcmp(a->stop[i], b->stop[i]))
			return false;
	return true;
}

int analysis_check(const char *dir, const analysis *stored, const analysis_opts *o, xihu_err *err)
{
	const char *have = analysis_stem(stored);
	if (o->stem) {
		const char *want = strcmp(o->stem, "none") ? o->stem : "";
		if (strcmp(have, want)) {
			if (*have)
				return xihu_err_set(err, XIHU_EINVAL,
				                    "%s: created with --stem %s; this run asks for --stem %.40s (the analysis "
				                    "is fixed when an index is created: drop the option or build a new index)",
				                    dir, have, *want ? want : "none");
			return xihu_err_set(err, XIHU_EINVAL,
			                    "%s: created without --stem; this run asks for --stem %.40s (the analysis is "
			                    "fixed when an index is created: drop the option or build a new index)",
			                    dir, want);
		}
	}
	if ((o->k1 > 0 && o->k1 != analysis_k1(stored)) || (o->b_given && o->b != analysis_b(stored)))
		return xihu_err_set(err, XIHU_EINVAL,
		                    "%s: created with --k1 %g --b %g; this run asks for --k1 %g --b %g (the ranking "
		                    "parameters are fixed when an index is created: drop the options or build a new index)",
		                    dir, analysis_k1(stored), analysis_b(stored), o->k1 > 0 ? o->k1 : analysis_k1(stored),
		                    o->b_given ? o->b : analysis_b(stored));
	if (o->fold_diacritics && !analysis_fold_diacritics(stored))
		return xihu_err_set(err, XIHU_EINVAL,
		                    "%s: created without --fold-diacritics; this run asks for it (the analysis is "
		                    "fixed when an index is created: drop the option or build a new index)",
		                    dir);
	if (o->stopwords) {
		/* fold the given list as the index folds, then compare */
		analysis_opts fo = {.fold_diacritics = analysis_fold_diacritics(stored), .stopwords = o->stopwords,
		                    .stopwords_len = o->stopwords_len, .stopwords_name = o->stopwords_name};
		analysis *given;
		int rc = analysis_new(&fo, &given, err);
		if (rc)
			return rc;
		bool same = same_stopwords(stored, given);
		uint32_t n = analysis_nstopwords(given);
		analysis_free(given);
		if (!same) {
			uint32_t ns = analysis_nstopwords(stored);
			if (!ns)
				return xihu_err_set(err, XIHU_EINVAL,
				                    "%s: created without --stopwords; this run asks for %u from %.200s (the "
				                    "analysis is fixed when an index is created: drop the option or build a "
				                    "new index)",
				                    dir, n, o->stopwords_name ? o->stopwords_name : "a list");
			return xihu_err_set(err, XIHU_EINVAL,
			                    "%s: created with --stopwords (%u word%s); %.200s has a different list (%u "
			                    "word%s) (the analysis is fixed when an index is created: drop the option or "
			                    "build a new index)",
			                    dir, ns, ns == 1 ? "" : "s", o->stopwords_name ? o->stopwords_name : "this run",
			                    n, n == 1 ? "" : "s");
		}
	}
	return 0;
}

void analysis_describe(const analysis *an, char *buf, size_t size)
{
	const char *stem = analysis_stem(an);
	snprintf(buf, size, "stem %s, %u stopwords, diacritics %s, k1 %g b %g", *stem ? stem : "none",
	         analysis_nstopwords(an), analysis_fold_diacritics(an) ? "folded" : "kept", analysis_k1(an),
	         analysis_b(an));
}

/* ---- the SETTINGS file -------------------------------------------------------------- */

int settings_write(const char *dir, const analysis *an, xihu_err *err)
{
	xbuf b;
	xbuf_init(&b);
	const char *stem = analysis_stem(an);
	xbuf_put_u8(&b, (uint8_t)strlen(stem));
	xbuf_put(&b, stem, strlen(stem));
	xbuf_put_u8(&b, (uint8_t)((analysis_fold_diacritics(an) ? FLAG_FOLD_DIACRITICS : 0) | FLAG_BM25));
	uint64_t bits;
	double v = analysis_k1(an);
	memcpy(&bits, &v, 8);
	xbuf_put_u64le(&b, bits);
	v = analysis_b(an);
	memcpy(&bits, &v, 8);
	xbuf_put_u64le(&b, bits);
	uint32_t n = analysis_nstopwords(an);
	xbuf_put_u32le(&b, n);
	for (uint32_t i = 0; i < n; i++) {
		xbuf_put_u8(&b, an->stop_len[i]);
		xbuf_put(&b, an->stop[i], an->stop_len[i]);
	}
	if (b.rc) {
		xbuf_free(&b);
		return xihu_err_set(err, XIHU_ENOMEM, "%s/%s: out of memory", dir, SETTINGS_NAME);
	}
	int rc = xfile_put_atomic(dir, SETTINGS_TMP, SETTINGS_NAME, XFILE_SETTINGS, b.p, b.len, err);
	xbuf_free(&b);
	return rc;
}

static int parse(const xmap *f, analysis *an, xihu_err *err)
{
	const uint8_t *d = f->data;
	size_t len = f->len, off = 0;
	if (len < 1 || len - 1 < d[0])
		return xfile_corrupt(f, 0, err, "stemmer name truncated");
	size_t sl = d[0];
	if (sl > MAX_STEM_NAME || memchr(d + 1, 0, sl))
		return xfile_corrupt(f, 0, err, "bad stemmer name");
	memcpy(an->stem, d + 1, sl);
	an->stem[sl] = 0;
	if (sl && !analysis_known_stemmer(an->stem))
		return xfile_corrupt(f, 1, err, "stemmer unknown to this build's libstemmer");
	off = 1 + sl;
	if (len - off < 5)
		return xfile_corrupt(f, off, err, "settings truncated");
	uint8_t flags = d[off];
	if (flags & ~(FLAG_FOLD_DIACRITICS | FLAG_BM25))
		return xfile_corrupt(f, off, err, "unknown flags");
	an->fold_diacritics = flags & FLAG_FOLD_DIACRITICS;
	an->k1 = XIHU_BM25_K1_DEFAULT;
	an->b = XIHU_BM25_B_DEFAULT;
	off++;
	if (flags & FLAG_BM25) {
		if (len - off < 16 + 4)
			return xfile_corrupt(f, off, err, "settings truncated");
		uint64_t k1 = get_u64le(d + off), b = get_u64le(d + off + 8);
		memcpy(&an->k1, &k1, 8);
		memcpy(&an->b, &b, 8);
		if (!bm25_ok(an->k1, an->b))
			return xfile_corrupt(f, off, err, "BM25 parameters out of range");
		off += 16;
	}
	uint32_t n = get_u32le(d + off);
	off += 4;
	/* each word takes at least 2 bytes: bound the allocation by the file */
	if (n > MAX_STOPWORDS || (len - off) / 2 < n)
		return xfile_corrupt(f, off - 4, err, "stopword count out of range");
	size_t words_len = len - off; /* at most: lengths become NULs */
	if (!(an->words = malloc(words_len + 1)) || !(an->stop = malloc((n ? n : 1) * sizeof *an->stop)))
		return xihu_err_set(err, XIHU_ENOMEM, "%s: out of memory", f->path);
	size_t w = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (len - off < 1 || d[off] == 0 || d[off] > XIHU_MAX_TERM || len - off - 1 < d[off])
			return xfile_corrupt(f, off, err, "stopword truncated or of a bad length");
		size_t l = d[off];
		if (memchr(d + off + 1, 0, l))
			return xfile_corrupt(f, off, err, "NUL byte in a stopword");
		char *word = an->words + w;
		memcpy(word, d + off + 1, l);
		word[l] = 0;
		if (i > 0 && strcmp(an->stop[i - 1], word) >= 0)
			return xfile_corrupt(f, off, err, "stopwords not in increasing order");
		an->stop[i] = word;
		w += l + 1;
		off += 1 + l;
	}
	if (off != len)
		return xfile_corrupt(f, off, err, "trailing bytes after the stopwords");
	char **words = an->stop;
	an->stop = NULL;
	return stop_finish(an, words, n, err);
}

int settings_read(const char *dir, analysis **out, xihu_err *err)
{
	*out = NULL;
	char path[4096];
	if (snprintf(path, sizeof path, "%s/%s", dir, SETTINGS_NAME) >= (int)sizeof path)
		return xihu_err_set(err, XIHU_EINVAL, "%s: path too long", dir);
	if (access(path, F_OK) != 0 && errno == ENOENT)
		return 0; /* the default analysis */
	xmap f;
	int rc = xfile_map(&f, dir, SETTINGS_NAME, XFILE_SETTINGS, true, err);
	if (rc)
		return rc;
	analysis *an = calloc(1, sizeof *an);
	rc = an ? parse(&f, an, err) : xihu_err_set(err, XIHU_ENOMEM, "%s: out of memory", f.path);
	xfile_unmap(&f);
	if (rc) {
		analysis_free(an);
		return rc;
	}
	*out = an;
	return 0;
}
