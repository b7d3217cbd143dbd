/*
 * settings.c: the analysis an index was created with, and its SETTINGS file.
 *
 * Makes an analysis (struct analysis: wordsets.c) from the options of a new
 * index, its word lists cut and folded by the analyzer (analyze.c), checks a
 * run's options against the stored ones, and reads and writes the file.
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
 * Callers: build.c (create, check), index.c (open).  It is above analyze.c,
 * which reads the analysis through wordsets.c only.
 */
#include <errno.h>
#include <libstemmer.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/analysis-int.h"

#define SETTINGS_NAME "SETTINGS"
#define SETTINGS_TMP "SETTINGS.tmp"
#define MAX_STOPWORDS 65536
#define FLAG_FOLD_DIACRITICS 1u
#define FLAG_BM25 2u /* f64 k1, f64 b follow the flags */
#define FLAG_PAIRS 4u /* a list of pair words follows the stopwords */

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

static bool bm25_ok(double k1, double b)
{
	return k1 > 0 && k1 <= 10 && b >= 0 && b <= 1;
}

/* The words of a text, one or more per line, cut and folded by an analyzer
 * with an's settings (flags: ANALYZE_PLAIN or 0, for analyzer_reset), into
 * ws.  Lines starting with '#' are comments. */
static int ws_parse(analysis *an, wordset *ws, const char *name, const char *text, size_t len, int flags,
                    xihu_err *err)
{
	analyzer a;
	token t;
	size_t n = 0;
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
			analyzer_reset(&a, text + i, le - i, flags);
			while (analyzer_next(&a, &t)) {
				if (t.whole)
					continue; /* "max_size" stops max and size, not the identifier */
				if (n == MAX_STOPWORDS) {
					rc = xihu_err_set(err, XIHU_ELIMIT, "%s: more than %d words", name, MAX_STOPWORDS);
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
		words = malloc(n * sizeof *words);
		if (!words)
			rc = xihu_err_set(err, XIHU_ENOMEM, "%s: out of memory", name);
	}
	if (rc) {
		xbuf_free(&arena);
		return rc;
	}
	ws->arena = (char *)arena.p; /* taken: the words point into it */
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		words[i] = ws->arena + off;
		off += strlen(words[i]) + 1;
	}
	return ws_finish(ws, words, (uint32_t)n, err);
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
	int rc = o->stopwords ? ws_parse(an, &an->stop, o->stopwords_name ? o->stopwords_name : "stopwords",
	                                 o->stopwords, o->stopwords_len, ANALYZE_PLAIN, err)
	                      : 0;
	if (rc) {
		analysis_free(an);
		return rc;
	}
	*out = an;
	return 0;
}

int analysis_set_pairwords(analysis *an, const char *text, size_t len, xihu_err *err)
{
	ws_free(&an->pairs);
	return ws_parse(an, &an->pairs, "pair words", text, len, ANALYZE_PLAIN, err);
}

/* ---- checking a run's settings against the stored ones ----------------------------- */

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
	if (o->no_pairs && analysis_npairwords(stored))
		return xihu_err_set(err, XIHU_EINVAL,
		                    "%s: created with pair terms; this run asks for --no-pairs (the analysis is fixed "
		                    "when an index is created: drop the option or build a new index)",
		                    dir);
	if (o->stopwords) {
		/* fold the given list as the index folds, then compare */
		analysis_opts fo = {.fold_diacritics = analysis_fold_diacritics(stored), .stopwords = o->stopwords,
		                    .stopwords_len = o->stopwords_len, .stopwords_name = o->stopwords_name};
		analysis *given;
		int rc = analysis_new(&fo, &given, err);
		if (rc)
			return rc;
		bool same = ws_same(stored ? &stored->stop : &(wordset){0}, &given->stop);
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
	snprintf(buf, size, "stem %s, %u stopwords, diacritics %s, k1 %g b %g, %u pair words", *stem ? stem : "none",
	         analysis_nstopwords(an), analysis_fold_diacritics(an) ? "folded" : "kept", analysis_k1(an),
	         analysis_b(an), analysis_npairwords(an));
}

/* ---- the SETTINGS file -------------------------------------------------------------- */

/* u32 count, then each word as u8 length and its bytes, in order. */
static void ws_put(xbuf *b, const wordset *ws)
{
	xbuf_put_u32le(b, ws->n);
	for (uint32_t i = 0; i < ws->n; i++) {
		xbuf_put_u8(b, ws->len[i]);
		xbuf_put(b, ws->w[i], ws->len[i]);
	}
}

int settings_write(const char *dir, const analysis *an, xihu_err *err)
{
	xbuf b;
	xbuf_init(&b);
	const char *stem = analysis_stem(an);
	xbuf_put_u8(&b, (uint8_t)strlen(stem));
	xbuf_put(&b, stem, strlen(stem));
	xbuf_put_u8(&b, (uint8_t)((analysis_fold_diacritics(an) ? FLAG_FOLD_DIACRITICS : 0) | FLAG_BM25 |
	                          (analysis_npairwords(an) ? FLAG_PAIRS : 0)));
	uint64_t bits;
	double v = analysis_k1(an);
	memcpy(&bits, &v, 8);
	xbuf_put_u64le(&b, bits);
	v = analysis_b(an);
	memcpy(&bits, &v, 8);
	xbuf_put_u64le(&b, bits);
	ws_put(&b, an ? &an->stop : &(wordset){0});
	if (analysis_npairwords(an))
		ws_put(&b, &an->pairs);
	if (b.rc) {
		xbuf_free(&b);
		return xihu_err_set(err, XIHU_ENOMEM, "%s/%s: out of memory", dir, SETTINGS_NAME);
	}
	int rc = xfile_put_atomic(dir, SETTINGS_TMP, SETTINGS_NAME, XFILE_SETTINGS, b.p, b.len, err);
	xbuf_free(&b);
	return rc;
}

/* A word list of ws_put at *off, checked: bounded by the file, each word
 * 1..XIHU_MAX_TERM bytes without NUL, in strictly increasing order. */
static int ws_get(const xmap *f, size_t *offp, wordset *ws, const char *what, xihu_err *err)
{
	const uint8_t *d = f->data;
	size_t len = f->len, off = *offp;
	char msg[96];
	if (len - off < 4) {
		snprintf(msg, sizeof msg, "settings truncated before the %s list", what);
		return xfile_corrupt(f, off, err, msg);
	}
	uint32_t n = get_u32le(d + off);
	off += 4;
	/* each word takes at least 2 bytes: bound the allocation by the file */
	if (n > MAX_STOPWORDS || (len - off) / 2 < n) {
		snprintf(msg, sizeof msg, "%s count out of range", what);
		return xfile_corrupt(f, off - 4, err, msg);
	}
	size_t words_len = len - off; /* at most: lengths become NULs */
	char **words;
	if (!(ws->arena = malloc(words_len + 1)) || !(words = malloc((n ? n : 1) * sizeof *words)))
		return xihu_err_set(err, XIHU_ENOMEM, "%s: out of memory", f->path);
	size_t w = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (len - off < 1 || d[off] == 0 || d[off] > XIHU_MAX_TERM || len - off - 1 < d[off]) {
			free(words);
			snprintf(msg, sizeof msg, "%s truncated or of a bad length", what);
			return xfile_corrupt(f, off, err, msg);
		}
		size_t l = d[off];
		char *word = ws->arena + w;
		memcpy(word, d + off + 1, l);
		word[l] = 0;
		if (memchr(d + off + 1, 0, l) || (i > 0 && strcmp(words[i - 1], word) >= 0)) {
			free(words);
			snprintf(msg, sizeof msg, "%ss not in increasing order, or with a NUL byte", what);
			return xfile_corrupt(f, off, err, msg);
		}
		words[i] = word;
		w += l + 1;
		off += 1 + l;
	}
	*offp = off;
	return ws_finish(ws, words, n, err);
}

static int parse(const xmap *f, analysis *an, xihu_err *err)
{
	int rc;
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
	if (flags & ~(FLAG_FOLD_DIACRITICS | FLAG_BM25 | FLAG_PAIRS))
		return xfile_corrupt(f, off, err, "unknown flags");
	an->fold_diacritics = flags & FLAG_FOLD_DIACRITICS;
	an->k1 = XIHU_BM25_K1_DEFAULT;
	an->b = XIHU_BM25_B_DEFAULT;
	off++;
	if (flags & FLAG_BM25) {
		if (len - off < 16)
			return xfile_corrupt(f, off, err, "settings truncated");
		uint64_t k1 = get_u64le(d + off), b = get_u64le(d + off + 8);
		memcpy(&an->k1, &k1, 8);
		memcpy(&an->b, &b, 8);
		if (!bm25_ok(an->k1, an->b))
			return xfile_corrupt(f, off, err, "BM25 parameters out of range");
		off += 16;
	}
	if ((rc = ws_get(f, &off, &an->stop, "stopword", err)))
		return rc;
	if ((flags & FLAG_PAIRS) && (rc = ws_get(f, &off, &an->pairs, "pair word", err)))
		return rc;
	if (off != len)
		return xfile_corrupt(f, off, err, "trailing bytes after the word lists");
	return 0;
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
