/*
 * grep.c: `xihu grep [OPTION]... PATTERN [PATH]...`: exact search with
 * ripgrep 13's flags, meanings, output and exit codes, answered by the
 * daemon from its index (libxihu-client's xihu_grep), as a stream.
 *
 * The command line is read as rg reads it: options anywhere before "--",
 * short ones bundled ("-inw", "-C2"), the first word the pattern unless -e
 * gave one, the rest PATHs; of -i/-s/-S the last wins, as of -n/-N and
 * --heading/--no-heading; -A and -B override -C and -C overrides both.
 * PATHs are sent absolute and resolved (realpath, as `xihu index` does),
 * and the files found under them print as the user typed them (grepout.c).
 *
 * The answer prints frame by frame as it streams in, into grepout.c's
 * buffer, written out at the end of each frame unless stdout is a regular
 * file (then only when full), so the first lines show at once on a
 * terminal or down a pipe while a large answer costs one write per frame.
 * When the reader goes away (EPIPE: `| head`) the stream is dropped and
 * xihu exits 0 quietly.
 *
 * Exit codes as rg: 0 a match, 1 none, 2 an error (a bad pattern, a PATH
 * that does not exist, an error the daemon lists in its last frame: a file
 * it could not read, a PATH or directory no tree of the index holds) --
 * except that with -q a match wins over the errors.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "grep.h"

/* What the command line asks for. */
struct grep_args {
	const char **patterns, **globs, **words; /* argv's strings (malloc'd arrays) */
	const char **paths; /* the PATHs: words, or words + 1 after the pattern */
	size_t n_patterns, n_globs, n_paths;
	size_t cap_patterns;
	bool any_pattern; /* -e or -f given (-f of an empty file: no pattern, no match) */
	bool hidden;      /* --hidden */
	const char **pattern_files; /* -f, read once the options are parsed */
	char **owned;               /* the patterns read from them */
	size_t n_owned;
	size_t n_pattern_files;
	bool fixed, word, quiet, files, count, vimgrep, json, column;
	int case_mode;
	int line_numbers, heading, with_filename; /* -1: not given */
	uint32_t max_count;
	bool max_count_set;
	/* context: -A/-B override -C, -C overrides both, as rg's */
	uint32_t before, after, context;
	bool context_given;
	const char *color;
};

static void usage_grep(FILE *f)
{
	fputs("usage: xihu grep [OPTION]... PATTERN [PATH]...\n"
	      "       xihu grep [OPTION]... -e PATTERN... [PATH]...\n"
	      "Print the lines of the indexed files that match PATTERN, as ripgrep does,\n"
	      "answered from the index (files changed since are searched as they are now).\n"
	      "With no PATH, the current directory.\n"
	      "\n"
	      "  -e, --regexp PATTERN    a pattern (repeatable: a line matching any)\n"
	      "  -f, --file FILE         the patterns of FILE, one per line (repeatable)\n"
	      "  -F, --fixed-strings     the patterns are literal strings, not regexes\n"
	      "  -i, --ignore-case       match case-insensitively\n"
	      "  -s, --case-sensitive    match case-sensitively (the default)\n"
	      "  -S, --smart-case        insensitive unless a pattern has an upper-case letter\n"
	      "                          (of -i, -s and -S the last wins)\n"
	      "  -w, --word-regexp       only whole-word matches\n"
	      "  -g, --glob GLOB         only files matching GLOB (repeatable; !GLOB excludes)\n"
	      "  -., --hidden            also files and directories whose name starts with '.'\n"
	      "  -m, --max-count N       at most N matching lines per file\n"
	      "  -A, --after-context N   N lines after each match\n"
	      "  -B, --before-context N  N lines before each match\n"
	      "  -C, --context N         N lines before and after each match\n"
	      "  -l, --files-with-matches  only the paths of files with a match\n"
	      "  -c, --count             the number of matching lines of each file\n"
	      "  -q, --quiet             print nothing; exit 0 at the first match\n"
	      "  --vimgrep               path:line:col:text for each match (Vim, Emacs)\n"
	      "  --json                  JSON Lines: an object per line, then a summary\n"
	      "  -n, --line-number       show line numbers (the default on a terminal)\n"
	      "  -N, --no-line-number    do not\n"
	      "  --column                show the first match's column (implies -n)\n"
	      "  --heading, --no-heading paths above their lines (the default on a terminal),\n"
	      "                          or on each line\n"
	      "  -H, --with-filename     show paths even for a single file; -I, --no-filename\n"
	      "  --color WHEN            never, always or auto (a terminal, without NO_COLOR)\n"
	      "  --socket PATH           the daemon's socket (env XIHU_SOCKET)\n"
	      "  --index DIR             the index to search (default: the one whose tree\n"
	      "                          holds the current directory; env XIHU_INDEX)\n"
	      "  --no-autostart          fail when no daemon answers instead of starting xihud\n"
	      "  -h, --help              show this help\n"
	      "\n"
	      "Examples:\n"
	      "  xihu grep 'fn \\w+_init' src/          a regex, under src/\n"
	      "  xihu grep -F -w -i 'todo' -g '*.c'    a word, any case, in C files\n"
	      "  xihu grep -e foo -e bar -C 2          either, with 2 lines of context\n"
	      "  xihu grep --vimgrep XXX               for Vim's quickfix or Emacs grep-mode\n"
	      "  xihu grep -q needle && echo found     only the exit status\n"
	      "\n"
	      "Exit status: 0 a match, 1 none, 2 an error (with -q, a match wins).\n",
	      f);
}

/* ---- the command line ----------------------------------------------------- */

static int parse_count(const char *opt, const char *s, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long v = s ? strtoul(s, &end, 10) : 0;
	if (!s || errno || end == s || *end || *s == '-' || v > UINT32_MAX) {
		cli_error("grep: %s %s: expected a number", opt, s ? s : "(missing)");
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

/* The option that takes a value, by its short letter (0 when none). */
static char valued_short(char c)
{
	return c && strchr("emABCgf", c) ? c : 0;
}

static const struct long_opt {
	const char *name;
	char as; /* the short option it is, or a code of its own */
} long_opts[] = {
    {"regexp", 'e'},          {"file", 'f'},          {"max-count", 'm'},     {"after-context", 'A'},
    {"before-context", 'B'},  {"context", 'C'},       {"glob", 'g'},
    {"fixed-strings", 'F'},   {"ignore-case", 'i'},   {"case-sensitive", 's'},
    {"smart-case", 'S'},      {"word-regexp", 'w'},   {"files-with-matches", 'l'},
    {"count", 'c'},           {"quiet", 'q'},         {"line-number", 'n'},
    {"no-line-number", 'N'},  {"with-filename", 'H'}, {"no-filename", 'I'},
    {"help", 'h'},            {"column", 1},          {"heading", 2},
    {"no-heading", 3},        {"vimgrep", 4},         {"json", 5},
    {"hidden", '.'},
};

static bool add_pattern(struct grep_args *g, const char *p)
{
	if (g->n_patterns == g->cap_patterns) {
		size_t cap = g->cap_patterns * 2 + 8;
		const char **v = realloc(g->patterns, cap * sizeof *v);
		if (!v) {
			cli_error("grep: out of memory");
			return false;
		}
		g->patterns = v;
		g->cap_patterns = cap;
	}
	g->patterns[g->n_patterns++] = p;
	return true;
}

/* -f FILE: a pattern per line (without its '\n'), as ripgrep reads them; a
 * NUL byte cannot be sent as part of a pattern: an error naming the line. */
static int patterns_of_file(struct grep_args *g, const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (!f) {
		cli_error("grep: %s: %s", path, strerror(errno));
		return -1;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned long no = 0;
	int rc = 0;
	while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
		no++;
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = 0;
		if (memchr(line, 0, (size_t)n)) {
			cli_error("grep: %s: line %lu: a pattern cannot hold a NUL byte (use \\x00)", path, no);
			rc = -1;
		} else {
			char *p = strdup(line);
			char **own = p ? realloc(g->owned, (g->n_owned + 1) * sizeof *own) : NULL;
			if (own) {
				g->owned = own;
				own[g->n_owned++] = p; /* freed with the arguments */
			} else {
				free(p);
			}
			if (!own || !add_pattern(g, p))
				rc = -1;
		}
	}
	if (rc == 0 && ferror(f)) {
		cli_error("grep: %s: %s", path, strerror(errno));
		rc = -1;
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return rc;
}

/* Applies option `c` (a short letter or a long option's code) with its
 * value v (valued ones only).  0, 1 after --help, -1 on an error. */
static int apply(struct grep_args *g, char c, const char *v, const char *name)
{
	uint32_t n;
	switch (c) {
	case 'e':
		if (!add_pattern(g, v))
			return -1;
		g->any_pattern = true;
		return 0;
	case 'f': /* read after the options: --help anywhere still only helps */
		g->any_pattern = true;
		g->pattern_files[g->n_pattern_files++] = v;
		return 0;
	case 'g': g->globs[g->n_globs++] = v; return 0;
	case 'm':
		g->max_count_set = true;
		return parse_count(name, v, &g->max_count);
	case 'A': case 'B': case 'C':
		if (parse_count(name, v, &n))
			return -1;
		if (c == 'C') {
			g->context = n;
			g->context_given = true;
			g->before = g->after = 0;
		} else {
			*(c == 'A' ? &g->after : &g->before) = n;
			g->context_given = false;
			g->context = 0;
		}
		return 0;
	case 'F': g->fixed = true; return 0;
	case 'i': g->case_mode = XIHU_CASE_INSENSITIVE; return 0;
	case 's': g->case_mode = XIHU_CASE_SENSITIVE; return 0;
	case 'S': g->case_mode = XIHU_CASE_SMART; return 0;
	case 'w': g->word = true; return 0;
	case '.': g->hidden = true; return 0;
	case 'l': g->files = true; return 0;
	case 'c': g->count = true; return 0;
	case 'q': g->quiet = true; return 0;
	case 'n': g->line_numbers = 1; return 0;
	case 'N': g->line_numbers = 0; return 0;
	case 'H': g->with_filename = 1; return 0;
	case 'I': g->with_filename = 0; return 0;
	case 1: g->column = true; return 0;
	case 2: g->heading = 1; return 0;
	case 3: g->heading = 0; return 0;
	case 4: g->vimgrep = true; return 0;
	case 5: g->json = true; return 0;
	case 'h': usage_grep(stdout); return 1;
	}
	cli_error("grep: %s: unknown option (see xihu grep --help)", name);
	return -1;
}

/* A long option at argv[*i] ("--name", "--name=V", "--name V").  0, 1 after
 * --help, -1 on an error. */
static int long_option(int argc, char **argv, int *i, struct grep_args *g, struct target *t)
{
	const char *a = argv[*i], *v;
	int rc = cli_target_opt(argc, argv, i, t, "grep");
	if (rc)
		return rc < 0 ? -1 : 0;
	if (cli_opt_value(argc, argv, i, "--color", &v) || cli_opt_value(argc, argv, i, "--colour", &v)) {
		if (!v || (strcmp(v, "never") && strcmp(v, "always") && strcmp(v, "auto"))) {
			cli_error("grep: --color %s: expected never, always or auto", v ? v : "(missing)");
			return -1;
		}
		g->color = v;
		return 0;
	}
	const char *eq = strchr(a, '=');
	size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
	for (size_t k = 0; k < sizeof long_opts / sizeof long_opts[0]; k++) {
		const struct long_opt *o = &long_opts[k];
		if (strlen(o->name) != len || strncmp(a + 2, o->name, len))
			continue;
		bool valued = o->as > 5 && valued_short(o->as);
		if (!valued && eq) {
			cli_error("grep: %s: takes no value", a);
			return -1;
		}
		v = !valued ? NULL : eq ? eq + 1 : *i + 1 < argc ? argv[++*i] : NULL;
		if (valued && !v) {
			cli_error("grep: %s: expected a value", a);
			return -1;
		}
		return apply(g, o->as, v, a);
	}
	return apply(g, 0, NULL, a);
}

/* Short options bundled at argv[*i] ("-inw", "-C2", "-e PATTERN"). */
static int short_options(int argc, char **argv, int *i, struct grep_args *g)
{
	const char *a = argv[*i];
	for (size_t k = 1; a[k]; k++) {
		char name[3] = {'-', a[k], '\0'};
		if (!valued_short(a[k])) {
			int rc = apply(g, a[k], NULL, name);
			if (rc)
				return rc;
			continue;
		}
		const char *v = a[k + 1] ? a + k + 1 : *i + 1 < argc ? argv[++*i] : NULL;
		if (!v) {
			cli_error("grep: %s: expected a value", name);
			return -1;
		}
		return apply(g, a[k], v, name);
	}
	return 0;
}

/* Reads argv into *g (its arrays malloc'd).  0, 1 after --help, -1 on an
 * error (printed). */
static int parse_grep(int argc, char **argv, struct grep_args *g, struct target *t)
{
	size_t cap = (size_t)argc + 1;
	g->patterns = malloc(cap * sizeof *g->patterns);
	g->cap_patterns = cap;
	g->pattern_files = malloc(cap * sizeof *g->pattern_files);
	g->n_pattern_files = 0;
	g->globs = malloc(cap * sizeof *g->globs);
	g->paths = g->words = malloc(cap * sizeof *g->words);
	if (!g->patterns || !g->globs || !g->words) {
		cli_error("grep: out of memory");
		return -1;
	}
	bool options = true;
	size_t n_words = 0; /* the words that are not options go to paths first */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int rc = 0;
		if (options && !strcmp(a, "--"))
			options = false;
		else if (options && a[0] == '-' && a[1] == '-')
			rc = long_option(argc, argv, &i, g, t);
		else if (options && a[0] == '-' && a[1])
			rc = short_options(argc, argv, &i, g);
		else
			g->paths[n_words++] = a;
		if (rc)
			return rc;
	}
	g->n_paths = n_words;
	if (!g->pattern_files) {
		cli_error("grep: out of memory");
		return -1;
	}
	for (size_t k = 0; k < g->n_pattern_files; k++)
		if (patterns_of_file(g, g->pattern_files[k]))
			return -1;
	if (!g->any_pattern) { /* no -e or -f: the first word is the pattern */
		if (!n_words) {
			cli_error("grep: no pattern given (see xihu grep --help)");
			return -1;
		}
		if (!add_pattern(g, g->paths[0]))
			return -1;
		g->paths++;
		g->n_paths--;
	}
	return 0;
}

/* ---- the paths ------------------------------------------------------------- */

/* Resolves the PATH arguments into roots (as `xihu index` does, realpath).
 * One that does not exist is reported and left out (*errors counts them). */
static struct grep_root *resolve_paths(const struct grep_args *g, size_t *n_roots, int *errors)
{
	struct grep_root *roots = calloc(g->n_paths ? g->n_paths : 1, sizeof *roots);
	*n_roots = 0;
	if (!roots) {
		cli_error("grep: out of memory");
		return NULL;
	}
	for (size_t i = 0; i < g->n_paths; i++) {
		const char *p = g->paths[i];
		char *abs = realpath(p, NULL);
		struct stat st;
		if (!abs || stat(abs, &st) != 0) {
			cli_error("%s: %s", p, strerror(errno));
			free(abs);
			++*errors;
			continue;
		}
		roots[(*n_roots)++] = (struct grep_root){
		    .typed = p, .abs = abs, .abs_len = strlen(abs), .is_dir = S_ISDIR(st.st_mode)};
	}
	return roots;
}

/* ---- the answer ------------------------------------------------------------- */

struct stream {
	struct grep_view *view;
	bool flush; /* after each frame */
};

static int on_frame(void *ctx, const struct xihu_grep_doc *files, size_t n)
{
	struct stream *s = ctx;
	for (size_t i = 0; i < n && !s->view->broken; i++)
		gout_file(s->view, &files[i]);
	if (s->flush)
		gout_flush(s->view);
	return s->view->broken; /* the reader has gone: stop the stream */
}

/* How the answer prints: rg's choices from the options and the terminal. */
static void plan_view(const struct grep_args *g, const struct grep_root *roots, size_t n_roots,
                      const char *cwd, struct grep_view *v)
{
	bool tty = isatty(STDOUT_FILENO);
	*v = (struct grep_view){.fd = STDOUT_FILENO, .roots = roots, .n_roots = n_roots, .cwd = cwd};
	v->mode = g->quiet   ? GREP_SHOW_NOTHING
	          : g->count ? GREP_SHOW_COUNT
	          : g->files ? GREP_SHOW_FILES
	                     : GREP_SHOW_LINES;
	v->json = g->json;
	v->vimgrep = g->vimgrep && !g->json;
	if (!strcmp(g->color, "always"))
		v->color = true;
	else if (!strcmp(g->color, "auto")) {
		const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
		/* rg 13 leaves --vimgrep plain unless told otherwise */
		v->color = tty && !(nc && *nc) && !(term && !strcmp(term, "dumb")) && !g->vimgrep;
	}
	v->color = v->color && !v->json;
	/* one PATH naming a file: its lines without the path, as rg */
	bool one_file = n_roots == 1 && !roots[0].is_dir && g->n_paths == 1;
	v->with_filename = g->with_filename >= 0 ? g->with_filename : !one_file;
	if (v->vimgrep || v->mode == GREP_SHOW_FILES)
		v->with_filename = true;
	v->heading = (g->heading >= 0 ? g->heading : tty) && !v->vimgrep;
	v->column = g->column || v->vimgrep;
	v->line_numbers = g->line_numbers >= 0 ? g->line_numbers : tty || v->column;
	v->separators = g->context_given ? g->context > 0 : g->before > 0 || g->after > 0;
}

/* The request g asks for (its arrays are g's and roots'). */
static void plan_request(const struct grep_args *g, const struct target *t,
                         const struct grep_view *v, const char **abs_paths,
                         struct xihu_grep_request *r, char ixbuf[PATH_MAX])
{
	*r = (struct xihu_grep_request){
	    .patterns = g->patterns,
	    .n_patterns = g->n_patterns,
	    .fixed_strings = g->fixed,
	    .word = g->word,
	    .case_mode = g->case_mode,
	    .paths = abs_paths,
	    .n_paths = v->n_roots,
	    .globs = g->globs,
	    .n_globs = g->n_globs,
	    .hidden = g->hidden,
	    .max_count = g->max_count,
	    .before = g->context_given ? g->context : g->before,
	    .after = g->context_given ? g->context : g->after,
	    .cwd = v->cwd,
	};
	r->output = g->quiet   ? XIHU_GREP_OUT_QUIET
	            : g->count ? XIHU_GREP_OUT_COUNT
	            : g->files ? XIHU_GREP_OUT_FILES
	                       : XIHU_GREP_OUT_LINES;
	if (t->index)
		r->index = realpath(t->index, ixbuf) ? ixbuf : t->index;
}

/* A failed grep's one line: a bad pattern names its column. */
static void report_failure(xihu_conn *c, const struct grep_args *g)
{
	uint32_t col;
	const char *msg = xihu_errmsg(c);
	if (xihu_errcode(c, &col) != XIHU_E_QUERY || !col || strstr(msg, "column")) {
		cli_error("%s", msg);
		return;
	}
	if (g->n_patterns == 1)
		cli_error("regex parse error at column %u of '%s': %s", col, g->patterns[0], msg);
	else
		cli_error("regex parse error at column %u: %s", col, msg);
}

/* Asks for the grep and prints the answer as it streams in.  errors: the
 * PATH errors already printed.  Returns the exit code. */
static int stream_grep(const struct grep_args *g, const struct target *t, struct grep_view *v,
                       const char **abs, int errors)
{
	char ixbuf[PATH_MAX];
	struct xihu_grep_request r;
	plan_request(g, t, v, abs, &r, ixbuf);
	xihu_conn *c = cli_connect(t);
	if (!c)
		return EXIT_ERROR;
	struct stat st;
	struct stream s = {v, !(fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode))};
	struct xihu_grep_summary sum;
	int got = xihu_grep(c, &r, on_frame, &s, &sum);
	bool failed = got < 0 && !v->broken;
	if (got == 0 && v->json && v->mode != GREP_SHOW_NOTHING)
		gout_json_summary(v, &sum);
	gout_flush(v); /* what came before a failure too */
	if (failed) {
		report_failure(c, g);
		xihu_close(c);
		return EXIT_ERROR;
	}
	int rc = EXIT_ERROR;
	if (got == 0) {
		for (size_t i = 0; i < sum.n_errors; i++)
			cli_error("%s", sum.errors[i]);
		errors += (int)sum.n_errors;
		bool matched = sum.files_matched || v->files;
		rc = matched && (g->quiet || !errors) ? EXIT_MATCH : errors ? EXIT_ERROR : EXIT_NOMATCH;
	}
	xihu_close(c);
	if (v->broken && v->werr == EPIPE)
		return EXIT_MATCH; /* the reader went away (| head): quietly, as rg */
	if (v->broken) {
		cli_error("stdout: %s", strerror(v->werr));
		return EXIT_ERROR;
	}
	return rc;
}

/* Runs the grep g asks for.  Returns the exit code. */
static int run_grep(const struct grep_args *g, const struct target *t)
{
	char cwd[PATH_MAX];
	size_t n_roots;
	int errors = 0;
	struct grep_root *roots = resolve_paths(g, &n_roots, &errors);
	const char **abs = roots ? malloc((n_roots ? n_roots : 1) * sizeof *abs) : NULL;
	int rc = EXIT_ERROR;
	if (abs) {
		for (size_t i = 0; i < n_roots; i++)
			abs[i] = roots[i].abs;
		struct grep_view v;
		plan_view(g, roots, n_roots, getcwd(cwd, sizeof cwd) ? cwd : NULL, &v);
		size_t bytes = 0;
		for (size_t i = 0; i < g->n_patterns; i++)
			bytes += strlen(g->patterns[i]);
		if (bytes > XIHU_GREP_MAX_PATTERN_BYTES) {
			cli_error("grep: the patterns are %zu bytes in all; at most %u can be searched for", bytes,
			          XIHU_GREP_MAX_PATTERN_BYTES);
			rc = EXIT_ERROR;
		} else if ((g->n_paths && !n_roots) || (g->max_count_set && !g->max_count) || !g->n_patterns)
			rc = errors ? EXIT_ERROR : EXIT_NOMATCH; /* nothing to search, as rg */
		else
			rc = stream_grep(g, t, &v, abs, errors);
		gout_free(&v);
	}
	for (size_t i = 0; roots && i < n_roots; i++)
		free(roots[i].abs);
	free(roots);
	free(abs);
	return rc;
}

int cmd_grep(int argc, char **argv, struct target t)
{
	struct grep_args g = {.line_numbers = -1, .heading = -1, .with_filename = -1, .color = "auto"};
	int rc = parse_grep(argc, argv, &g, &t);
	if (rc == 0) {
		signal(SIGPIPE, SIG_IGN); /* a closed stdout is EPIPE, handled */
		rc = run_grep(&g, &t);
	} else {
		rc = rc > 0 ? 0 : EXIT_ERROR;
	}
	free(g.patterns);
	free(g.pattern_files);
	for (size_t i = 0; i < g.n_owned; i++)
		free(g.owned[i]);
	free(g.owned);
	free(g.globs);
	free(g.words);
	return rc;
}
