/*
 * xihu-index.c: the xihu-index command: builds, updates, merges or checks an index.
 *
 *   xihu-index [--index DIR] [--jsonl FILE]... [--max-file-size N] [--ram-mb N]
 *              [--threads N] [--no-ignore] [--merge] [--update] [-v] [-q]
 *              [--stem LANG] [--stopwords FILE] [--fold-diacritics] [PATH]...
 *   xihu-index --check [--index DIR]
 *
 * main parses the command line (parse_args) and runs a check (run_check)
 * or a build (run_build).  The library reports a build's progress as
 * counts; this program owns the terminal and draws them (draw_progress):
 * on stderr when it is a terminal, one line redrawn in place, with a bar
 * when it is 60 columns wide or more.  The summary goes to stdout.
 * Exit 0 on success, 2 on any error, with one line "xihu-index: what: why".
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "xihu-index.h"

static void usage(FILE *f)
{
	fputs("usage: xihu-index [OPTION]... [PATH]...\n"
	      "Build or update the xihu index of the trees PATH (default: the current\n"
	      "directory) and of JSON Lines files.  Files whose size and mtime did not\n"
	      "change are kept; new and changed ones are indexed; files gone from the\n"
	      "trees, and everything under trees no longer given, are removed.  Each\n"
	      "commit replaces the index atomically.\n"
	      "\n"
	      "  --index DIR          the index directory (env XIHU_INDEX;\n"
	      "                       default $XDG_DATA_HOME/xihu/index or ~/.local/share/xihu/index)\n"
	      "  --jsonl FILE         add the records of FILE: one JSON object per line with a\n"
	      "                       string \"id\"; \"title\" and the other string members are indexed\n"
	      "  --max-file-size N    skip files over N bytes (suffixes K, M, G; default 16M)\n"
	      "  --ram-mb N           RAM for the in-memory segments, in MiB (default 256);\n"
	      "                       a segment is written out when its share is full\n"
	      "  --threads N          indexing threads (default: the online CPUs, at most 8)\n"
	      "  --no-ignore          do not read .gitignore and .ignore files\n"
	      "  --update             without PATH: update the trees and files of the last run\n"
	      "                       (each tree walked as then: with or without --no-ignore)\n"
	      "  --lock-wait SECS     when another writer (xihu-index, xihud's live sync)\n"
	      "                       holds the index, wait this long for it (default 10)\n"
	      "  --merge              merge all segments into one, purging deleted documents\n"
	      "                       (without PATH: after updating the last run's trees)\n"
	      "  --check              verify every file and checksum of the index, build nothing\n"

	      "  -v, --verbose        a line per commit and per merge (on stderr)\n"
	      "  -q, --quiet          no progress line and no summary\n"
	      "  -h, --help           this help\n"
	      "  -V, --version        version and index format version\n"
	      "\n"
	      "Text analysis, chosen when the index is created and kept in it (given again\n"
	      "for an existing index, an option must equal what is stored; left out, the\n"
	      "stored setting applies; queries are analyzed the same way):\n"
	      "  --stem LANG          Snowball stemming: english, french, porter, ... (default\n"
	      "                       none, right for code); with english, running finds runs\n"
	      "  --stopwords FILE     words not to index, one per line (# starts a comment),\n"
	      "                       stored in the index; each keeps its position in phrases\n"
	      "  --fold-diacritics    fold accents and other marks: cafe finds café\n"
	      "  --k1 X, --b Y        BM25's term saturation and length normalization for the\n"
	      "                       index's ranking (default 2.0 and 0.55, measured on six\n"
	      "                       test collections: bench/ir-eval)\n"
	      "  --no-pairs           no pair terms: two-word phrases with a common word (\"for\n"
	      "                       struct\") are then found by walking positions, slower on\n"
	      "                       large trees; the index is about 10% smaller\n"
	      "\n"
	      "Directories are walked without following symbolic links; .git is skipped,\n"
	      ".ignore is honoured, and .gitignore inside a git work tree (as rg does),\n"
	      "files with a NUL byte in their first 8 KiB are skipped as binary, .gz\n"
	      "files are read through zlib, and of\n"
	      ".html/.htm files only the text is indexed and shown (tags, scripts and\n"
	      "styles removed, entities decoded, lines kept).\n"
	      "\n"
	      "Examples:\n"
	      "  xihu-index ~/src/project           index a tree into the default index\n"
	      "  xihu-index --index /tmp/ix docs    index ./docs into /tmp/ix\n"
	      "  xihu-index --jsonl notes.jsonl     index records\n"
	      "  xihu-index --update                re-index what changed in the last run's trees\n"
	      "  xihu-index --index ~/ix-notes --stem english --stopwords stop.txt ~/notes\n"
	      "                                     an index of prose, stemmed, without stopwords\n"
	      "\n"
	      "Exit status: 0 on success, 2 on error.\n",
	      f);
}

static bool parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return false;
	uint64_t mul = 1;
	switch (*end) {
	case 'k': case 'K': mul = 1ull << 10; end++; break;
	case 'm': case 'M': mul = 1ull << 20; end++; break;
	case 'g': case 'G': mul = 1ull << 30; end++; break;
	}
	if (*end || v == 0 || v > UINT64_MAX / mul)
		return false;
	*out = v * mul;
	return true;
}

/* A whole number 1..max. */
static bool parse_count(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v == 0 || v > max)
		return false;
	*out = v;
	return true;
}

/* ---- the command line -------------------------------------------------------------- */

enum { OPT_INDEX = 256, OPT_JSONL, OPT_MAXSIZE, OPT_CHECK, OPT_RAM, OPT_THREADS, OPT_NOIGNORE,
       OPT_UPDATE, OPT_MERGE, OPT_STEM, OPT_STOPWORDS, OPT_FOLD, OPT_K1, OPT_B, OPT_NOPAIRS, OPT_LOCKWAIT };

static const struct option long_opts[] = {
	{"index", required_argument, NULL, OPT_INDEX},
	{"jsonl", required_argument, NULL, OPT_JSONL},
	{"max-file-size", required_argument, NULL, OPT_MAXSIZE},
	{"ram-mb", required_argument, NULL, OPT_RAM},
	{"threads", required_argument, NULL, OPT_THREADS},
	{"no-ignore", no_argument, NULL, OPT_NOIGNORE},
	{"update", no_argument, NULL, OPT_UPDATE},
	{"merge", no_argument, NULL, OPT_MERGE},
	{"check", no_argument, NULL, OPT_CHECK},
	{"stem", required_argument, NULL, OPT_STEM},
	{"stopwords", required_argument, NULL, OPT_STOPWORDS},
	{"fold-diacritics", no_argument, NULL, OPT_FOLD},
	{"k1", required_argument, NULL, OPT_K1},
	{"b", required_argument, NULL, OPT_B},
	{"no-pairs", no_argument, NULL, OPT_NOPAIRS},
	{"lock-wait", required_argument, NULL, OPT_LOCKWAIT},
	{"verbose", no_argument, NULL, 'v'},
	{"quiet", no_argument, NULL, 'q'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{0},
};

/* What the command line asks for. */
typedef struct cmd {
	char index_dir[4096];
	bool have_index, quiet, check, verbose;
	const char **jsonl; /* argc entries, njsonl used */
	size_t njsonl;
	const char *const *paths;
	size_t npaths;
	xihu_build_opts bo;
} cmd;

/* An option with a number (or a path) in arg into m; false after saying
 * what is wrong with it. */
static bool parse_value(cmd *m, int opt, const char *arg)
{
	uint64_t n = 0;
	switch (opt) {
	case OPT_INDEX:
		if (snprintf(m->index_dir, sizeof m->index_dir, "%s", arg) >= (int)sizeof m->index_dir) {
			fprintf(stderr, "xihu-index: --index: path too long\n");
			return false;
		}
		m->have_index = true;
		return true;
	case OPT_MAXSIZE:
		if (parse_size(arg, &m->bo.max_file_size))
			return true;
		fprintf(stderr, "xihu-index: --max-file-size: '%s' is not a size (like 16M)\n", arg);
		return false;
	case OPT_LOCKWAIT:
		if (strcmp(arg, "0") && !parse_count(arg, 3600, &n)) {
			fprintf(stderr, "xihu-index: --lock-wait: '%s' is not a number of seconds from 0 to 3600\n", arg);
			return false;
		}
		m->bo.lock_wait_ms = (uint32_t)(n * 1000);
		return true;
	case OPT_RAM:
		if (!parse_count(arg, 1 << 20, &n)) {
			fprintf(stderr, "xihu-index: --ram-mb: '%s' is not a number of MiB from 1\n", arg);
			return false;
		}
		m->bo.ram_bytes = n << 20;
		return true;
	case OPT_THREADS:
		if (!parse_count(arg, 1024, &n)) {
			fprintf(stderr, "xihu-index: --threads: '%s' is not a number of threads from 1\n", arg);
			return false;
		}
		m->bo.threads = (uint32_t)n;
		return true;
	default: { /* OPT_K1, OPT_B */
		char *end;
		double v = strtod(arg, &end);
		if (end == arg || *end || v != v || (opt == OPT_K1 ? v <= 0 || v > 10 : v < 0 || v > 1)) {
			fprintf(stderr, "xihu-index: --%s %s: expected a number %s\n", opt == OPT_K1 ? "k1" : "b", arg,
			        opt == OPT_K1 ? "above 0, at most 10" : "from 0 to 1");
			return false;
		}
		if (opt == OPT_K1)
			m->bo.k1 = v;
		else {
			m->bo.b = v;
			m->bo.b_given = true;
		}
		return true;
	}
	}
}

/* The command line into m.  Returns -1 to go on, else the exit status
 * (--help and --version: 0; a bad option: 2, said on stderr). */
static int parse_args(int argc, char **argv, cmd *m)
{
	int c;
	while ((c = getopt_long(argc, argv, "vqhV", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_INDEX:
		case OPT_MAXSIZE:
		case OPT_LOCKWAIT:
		case OPT_RAM:
		case OPT_THREADS:
		case OPT_K1:
		case OPT_B:
			if (!parse_value(m, c, optarg))
				return 2;
			break;
		case OPT_JSONL: m->jsonl[m->njsonl++] = optarg; break;
		case OPT_NOIGNORE: m->bo.no_ignore = true; break;
		case OPT_UPDATE: m->bo.update = true; break;
		case OPT_MERGE: m->bo.merge_all = true; break;
		case OPT_CHECK: m->check = true; break;
		case OPT_STEM: m->bo.stem = optarg; break;
		case OPT_STOPWORDS: m->bo.stopwords = optarg; break;
		case OPT_NOPAIRS: m->bo.no_pairs = true; break;
		case OPT_FOLD: m->bo.fold_diacritics = true; break;
		case 'v': m->verbose = true; break;
		case 'q': m->quiet = true; break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("xihu-index %s (index format %u)\n", XIHU_VERSION_STRING, XIHU_FORMAT_VERSION);
			return 0;
		default:
			fputs("Try 'xihu-index --help' for more information.\n", stderr);
			return 2;
		}
	}
	if (!m->have_index && !xihu_default_index_dir(m->index_dir, sizeof m->index_dir)) {
		fputs("xihu-index: default index path is too long; use --index DIR\n", stderr);
		return 2;
	}
	static const char *const dot[] = {"."};
	m->paths = (const char *const *)argv + optind;
	m->npaths = (size_t)(argc - optind);
	if (m->npaths == 0 && m->njsonl == 0 && m->bo.merge_all)
		m->bo.update = true; /* "merge my index", not "index the current directory" */
	if (m->npaths == 0 && m->njsonl == 0 && !m->bo.update) {
		m->paths = dot;
		m->npaths = 1;
	}
	return -1;
}

/* ---- --check ------------------------------------------------------------------------- */

/* An index path whose mode lets others in. */
static int warn_mode(void *ctx, const char *path, unsigned mode)
{
	(void)ctx;
	const char *who = (mode & 070) && (mode & 07) ? "its group and others"
	                  : mode & 070                ? "its group"
	                                              : "others";
	fprintf(stderr, "xihu-index: warning: %s: mode %04o lets %s %s it\n", path, mode, who,
	        mode & 022 ? "change" : "read");
	return 0;
}

static int run_check(const cmd *m)
{
	xihu_err err = {0};
	if (xihu_index_check(m->index_dir, m->quiet ? NULL : stdout, &err)) {
		fprintf(stderr, "xihu-index: %s\n", err.msg);
		return 2;
	}
	uint32_t nwide;
	if (xihu_index_modes(m->index_dir, warn_mode, NULL, &nwide, &err)) {
		fprintf(stderr, "xihu-index: %s\n", err.msg);
		return 2;
	}
	if (nwide)
		fprintf(stderr, "xihu-index: warning: %" PRIu32 " path%s of %s can be read by others than "
		        "you; the next xihu-index run tightens them (now: chmod -R go= %s)\n",
		        nwide, nwide == 1 ? "" : "s", m->index_dir, m->index_dir);
	return 0;
}

/* ---- the progress line ------------------------------------------------------------- */

/* A build's progress on a terminal: one line, redrawn in place at each
 * report and ended at the last one. */
typedef struct progress_line {
	FILE *f;
	unsigned cols; /* the terminal's width */
	bool open;     /* a line is drawn and not ended */
} progress_line;

/* The width of the terminal fd is, or 0 when it is not one. */
static unsigned terminal_cols(int fd)
{
	struct winsize ws;
	if (!isatty(fd) || ioctl(fd, TIOCGWINSZ, &ws) != 0)
		return 0;
	return ws.ws_col ? ws.ws_col : 80;
}

/* "[#########---------]  47%  ": the share of the bytes queued that is
 * done, once the walk has found them all; before that a block sliding to
 * and fro (a step every 0.1 s). */
static void draw_bar(FILE *f, const xihu_build_progress *p)
{
	enum { WIDTH = 24 };
	char bar[WIDTH + 1];
	bool final = p->phase == XIHU_BUILD_INDEXED;
	if (final || (p->phase == XIHU_BUILD_READING && p->bytes_total)) {
		unsigned pct = final || !p->bytes_total ? 100 : (unsigned)(p->bytes_done * 100 / p->bytes_total);
		unsigned fill = pct * WIDTH / 100;
		memset(bar, '#', fill);
		memset(bar + fill, '-', WIDTH - fill);
		bar[WIDTH] = '\0';
		fprintf(f, "[%s] %3u%%  ", bar, pct);
		return;
	}
	unsigned at = (unsigned)(p->elapsed_ns / 100000000u % (2 * (WIDTH - 3)));
	if (at >= WIDTH - 3)
		at = 2 * (WIDTH - 3) - at;
	memset(bar, ' ', WIDTH);
	memset(bar + at, '#', 3);
	bar[WIDTH] = '\0';
	fprintf(f, "[%s]  ...  ", bar);
}

/* xihu_build_opts.progress: "[bar]  files, MB, MB/s, ETA" (the bar on a
 * terminal of 60 columns or more). */
static void draw_progress(void *ctx, const xihu_build_progress *p)
{
	progress_line *pl = ctx;
	char line[256];
	xihu_build_progress_line(p, line, sizeof line);
	fputs("\r\033[K", pl->f);
	if (pl->cols >= 60)
		draw_bar(pl->f, p);
	fputs(line, pl->f);
	pl->open = p->phase != XIHU_BUILD_INDEXED;
	if (!pl->open)
		fputc('\n', pl->f);
	fflush(pl->f);
}

/* ---- building ------------------------------------------------------------------------ */

static void print_summary(const char *dir, const xihu_build_stats *st)
{
	if (!st->committed)
		printf("%s: no changes (%llu docs unchanged), %.2f s\n", dir, (unsigned long long)st->docs, st->seconds);
	else
		printf("%s: %llu docs (%llu added, %llu changed, %llu deleted, %llu unchanged), %llu terms, "
		       "%.1f MB in, %.1f MB index, %u segment%s, %.2f s\n",
		       dir, (unsigned long long)st->docs, (unsigned long long)st->added,
		       (unsigned long long)st->changed, (unsigned long long)st->deleted,
		       (unsigned long long)st->unchanged, (unsigned long long)st->terms, (double)st->bytes_in / 1e6,
		       (double)st->index_bytes / 1e6, st->segments, st->segments == 1 ? "" : "s", st->seconds);
	if (st->skipped_binary || st->skipped_large || st->skipped_error)
		printf("skipped: %llu binary, %llu too large, %llu unreadable\n",
		       (unsigned long long)st->skipped_binary, (unsigned long long)st->skipped_large,
		       (unsigned long long)st->skipped_error);
}

static int run_build(cmd *m)
{
	progress_line pl = {.f = stderr, .cols = terminal_cols(STDERR_FILENO)};
	m->bo.warnings = m->quiet ? NULL : stderr;
	m->bo.verbose = m->verbose ? stderr : NULL;
	if (!m->quiet && isatty(STDERR_FILENO)) {
		m->bo.progress = draw_progress;
		m->bo.progress_ctx = &pl;
	}
	xihu_build_stats st;
	xihu_err err = {0};
	int rc = xihu_build(m->index_dir, m->paths, m->npaths, m->jsonl, m->njsonl, &m->bo, &st, &err);
	if (rc) {
		if (pl.open)
			fputc('\n', stderr); /* end the progress line before the error */
		fprintf(stderr, "xihu-index: %s\n", err.msg);
		return 2;
	}
	if (!m->quiet)
		print_summary(m->index_dir, &st);
	return 0;
}

int main(int argc, char **argv)
{
	cmd m = {.bo = {.lock_wait_ms = 10000}};
	m.jsonl = calloc((size_t)argc, sizeof *m.jsonl);
	if (!m.jsonl) {
		fputs("xihu-index: out of memory\n", stderr);
		return 2;
	}
	int rc = parse_args(argc, argv, &m);
	if (rc < 0)
		rc = m.check ? run_check(&m) : run_build(&m);
	free(m.jsonl);
	return rc;
}
