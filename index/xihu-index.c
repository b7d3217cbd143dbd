/*
 * xihu-index.c: the xihu-index command: builds (or checks) an index.
 *
 *   xihu-index [--index DIR] [--jsonl FILE]... [--max-file-size N] [--quiet] [PATH]...
 *   xihu-index --check [--index DIR]
 *
 * Progress goes to stderr when it is a terminal; the summary to stdout.
 * Exit 0 on success, 2 on any error, with one line "xihu-index: what: why".
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xihu-index.h"

static void usage(FILE *f)
{
	fputs("usage: xihu-index [OPTION]... [PATH]...\n"
	      "Build the xihu index of the trees PATH (default: the current directory)\n"
	      "and of JSON Lines files, replacing the committed index atomically.\n"
	      "\n"
	      "  --index DIR          the index directory (env XIHU_INDEX;\n"
	      "                       default $XDG_DATA_HOME/xihu/index or ~/.local/share/xihu/index)\n"
	      "  --jsonl FILE         add the records of FILE: one JSON object per line with a\n"
	      "                       string \"id\"; \"title\" and the other string members are indexed\n"
	      "  --max-file-size N    skip files over N bytes (suffixes K, M, G; default 16M)\n"
	      "  --check              verify every file and checksum of the index, build nothing\n"
	      "  -q, --quiet          no progress line and no summary\n"
	      "  -h, --help           this help\n"
	      "  -V, --version        version and index format version\n"
	      "\n"
	      "Directories are walked without following symbolic links; .git is skipped,\n"
	      ".gitignore and .ignore are honoured, files with a NUL byte in their first\n"
	      "8 KiB are skipped as binary, .gz files are read through zlib.\n"
	      "\n"
	      "Examples:\n"
	      "  xihu-index ~/src/project           index a tree into the default index\n"
	      "  xihu-index --index /tmp/ix docs    index ./docs into /tmp/ix\n"
	      "  xihu-index --jsonl notes.jsonl     index records\n"
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

int main(int argc, char **argv)
{
	enum { OPT_INDEX = 256, OPT_JSONL, OPT_MAXSIZE, OPT_CHECK };
	static const struct option opts[] = {
		{"index", required_argument, NULL, OPT_INDEX},
		{"jsonl", required_argument, NULL, OPT_JSONL},
		{"max-file-size", required_argument, NULL, OPT_MAXSIZE},
		{"check", no_argument, NULL, OPT_CHECK},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{0},
	};
	char index_dir[4096];
	bool have_index = false, quiet = false, check = false;
	const char **jsonl = calloc((size_t)argc, sizeof *jsonl);
	size_t njsonl = 0;
	xihu_build_opts bo = {0};
	if (!jsonl) {
		fputs("xihu-index: out of memory\n", stderr);
		return 2;
	}
	int c;
	while ((c = getopt_long(argc, argv, "qhV", opts, NULL)) != -1) {
		switch (c) {
		case OPT_INDEX:
			if (snprintf(index_dir, sizeof index_dir, "%s", optarg) >= (int)sizeof index_dir) {
				fprintf(stderr, "xihu-index: --index: path too long\n");
				return 2;
			}
			have_index = true;
			break;
		case OPT_JSONL: jsonl[njsonl++] = optarg; break;
		case OPT_MAXSIZE:
			if (!parse_size(optarg, &bo.max_file_size)) {
				fprintf(stderr, "xihu-index: --max-file-size: '%s' is not a size (like 16M)\n", optarg);
				return 2;
			}
			break;
		case OPT_CHECK: check = true; break;
		case 'q': quiet = true; break;
		case 'h': usage(stdout); return 0;
		case 'V':
			printf("xihu-index %s (index format %u)\n", XIHU_VERSION_STRING, XIHU_FORMAT_VERSION);
			return 0;
		default:
			fputs("Try 'xihu-index --help' for more information.\n", stderr);
			return 2;
		}
	}
	if (!have_index && !xihu_default_index_dir(index_dir, sizeof index_dir)) {
		fputs("xihu-index: default index path is too long; use --index DIR\n", stderr);
		return 2;
	}
	xihu_err err = {0};
	if (check) {
		free(jsonl);
		int rc = xihu_index_check(index_dir, quiet ? NULL : stdout, &err);
		if (rc) {
			fprintf(stderr, "xihu-index: %s\n", err.msg);
			return 2;
		}
		return 0;
	}
	const char *dot = ".";
	const char *const *paths = (const char *const *)argv + optind;
	size_t npaths = (size_t)(argc - optind);
	if (npaths == 0 && njsonl == 0) {
		paths = &dot;
		npaths = 1;
	}
	bo.warnings = quiet ? NULL : stderr;
	bo.progress = !quiet && isatty(STDERR_FILENO) ? stderr : NULL;
	xihu_build_stats st;
	int rc = xihu_build(index_dir, paths, npaths, jsonl, njsonl, &bo, &st, &err);
	free(jsonl);
	if (rc) {
		fprintf(stderr, "xihu-index: %s\n", err.msg);
		return 2;
	}
	if (!quiet) {
		printf("%s: %llu docs, %llu terms, %.1f MB in, %.1f MB index, %.2f s", index_dir,
		       (unsigned long long)st.docs, (unsigned long long)st.terms, (double)st.bytes_in / 1e6,
		       (double)st.index_bytes / 1e6, st.seconds);
		if (st.skipped_binary || st.skipped_large || st.skipped_error)
			printf(" (skipped: %llu binary, %llu too large, %llu unreadable)",
			       (unsigned long long)st.skipped_binary, (unsigned long long)st.skipped_large,
			       (unsigned long long)st.skipped_error);
		putchar('\n');
	}
	return 0;
}
