/*
 * search.c: `xihu search`: its options, the search it asks libxihu-client
 * for, and the order and form the hits are printed in (output.c).
 *
 * The options may come anywhere among the query words, but only those it
 * knows: any other word, "-foo" included (a NOT in the query language), is
 * part of the query.  "--" ends the options.  --any asks the daemon to OR
 * the words (XIHU_ANY), so the query text stays as typed, phrases, scopes
 * and groups intact.  The request follows from the
 * format: --count and -q ask for one hit (--count with an exact total), the
 * default format asks for one line more than it shows (to say there are
 * more), --vimgrep takes no context.  --sort path reorders the hits it got,
 * each keeping its rank.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "output.h"

/* matching lines a hit shows in the default format without -m */
#define DEFAULT_LINES_SHOWN 10

/* What the command line asks for. */
struct search_args {
	uint32_t limit, offset, context, max_count;
	enum out_format format;
	bool format_set; /* one of --json, --vimgrep, -l, --count was given */
	bool by_path;    /* --sort path */
	bool quiet;      /* -q */
	bool any;        /* --any: match any word (XIHU_ANY) */
	const char *color;
	char *query;     /* the words joined with spaces (malloc'd) */
	size_t qlen;
};

static void usage_search(FILE *f)
{
	fputs("usage: xihu search [OPTION]... QUERY...\n"
	      "Print the documents that best match QUERY (the words joined with spaces).\n"
	      "\n"
	      "Query language: words must all match (AND); a OR b; -a or NOT a excludes;\n"
	      "(groups); \"exact phrase\"; pre* (prefix); path:GLOB, ext:c, field:word;\n"
	      "def:NAME, where NAME is defined (definitions also rank first).\n"
	      "Options may come anywhere; any other word starting with '-' is a NOT.\n"
	      "\n"
	      "  --any              match any of the words, ranked by BM25 (the more of them,\n"
	      "                     and the rarer, the better): for a pasted paragraph.\n"
	      "                     Words without an operator between them are ORed;\n"
	      "                     AND, -word, ext:, path:, \"phrases\" still work\n"
	      "  -n N               show N hits (default 10)\n"
	      "  --offset K         skip the first K hits (paging)\n"
	      "  -m, --max-count N  show at most N matching lines of each hit (default: 10,\n"
	      "                     then a note if there are more; 1000 with --vimgrep and\n"
	      "                     --json)\n"
	      "  -C, --context N    show N lines before and after each matching line\n"
	      "  --sort ORDER       score (best first, the default) or path (the N best hits,\n"
	      "                     shown in path order)\n"
	      "  --json             JSON Lines: one object per hit, then {\"summary\":...}\n"
	      "  --vimgrep          path:line:col:text per matching line (Vim, Emacs grep-mode)\n"
	      "  -l, --files-with-matches\n"
	      "                     paths (or record ids) only, in rank order\n"
	      "  -c, --count        the number of matching documents\n"
	      "  -q, --quiet        print nothing; the exit status says whether any matched\n"
	      "  --color WHEN       never, always or auto (default: auto, a terminal without\n"
	      "                     NO_COLOR)\n"
	      "  --socket PATH      the daemon's socket (env XIHU_SOCKET)\n"
	      "  --index DIR        the index to search (default: the one whose tree holds\n"
	      "                     the current directory); also what a daemon started by\n"
	      "                     xihu serves (env XIHU_INDEX)\n"
	      "  --no-autostart     fail when no daemon answers instead of starting xihud\n"
	      "                     (env XIHU_NO_AUTOSTART=1)\n"
	      "  -h, --help         show this help\n"
	      "\n"
	      "Examples:\n"
	      "  xihu search event loop                   files with both words\n"
	      "  xihu search '\"connection reset\"' ext:c    a phrase, in C files only\n"
	      "  xihu search malloc -free -n 20           malloc but not free, 20 hits\n"
	      "  xihu search --any \"$(cat para.txt)\"      files with any of its words, best first\n"
	      "  xihu search -C 2 -m 3 'sock*'            3 lines of each hit, with context\n"
	      "  xihu search -l --sort path -n 100 ext:md kernel\n"
	      "                                           the 100 best Markdown files, by path\n"
	      "  xihu search --vimgrep TODO               for Vim's quickfix or Emacs grep-mode\n"
	      "  xihu search --json 'sock*' | jq .doc     for scripts\n"
	      "  xihu search -q TODO && echo found        only the exit status\n"
	      "\n"
	      "Exit status: 0 results, 1 no results, 2 error.\n",
	      f);
}

/* ---- the command line ----------------------------------------------------- */

static int parse_uint(const char *opt, const char *s, uint32_t lo, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long v = s ? strtoul(s, &end, 10) : 0;
	if (!s || errno || end == s || *end || *s == '-' || v < lo || v > UINT32_MAX) {
		cli_error("search: %s %s: expected a number of at least %u", opt, s ? s : "(missing)", lo);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

/* A numeric option of at least lo: "-xN", "-x N" (shrt), "--long N" or
 * "--long=N" (lng; either may be NULL).  Returns 1 when argv[*i] was it
 * (its value in *out, *i past it), 0 when not, -1 on a bad value (printed). */
static int num_opt(int argc, char **argv, int *i, const char *shrt, const char *lng, uint32_t lo,
                   uint32_t *out)
{
	const char *a = argv[*i], *v;
	/* "-m3" is -m 3, but "-mutex" is a NOT of mutex */
	if (shrt && !strncmp(a, shrt, 2) && a[2] >= '0' && a[2] <= '9')
		return parse_uint(shrt, a + 2, lo, out) ? -1 : 1;
	if (shrt && !strcmp(a, shrt))
		return parse_uint(shrt, *i + 1 < argc ? argv[++*i] : NULL, lo, out) ? -1 : 1;
	if (lng && cli_opt_value(argc, argv, i, lng, &v))
		return parse_uint(lng, v, lo, out) ? -1 : 1;
	return 0;
}

static int set_format(enum out_format *f, enum out_format want, bool *set, const char *name)
{
	if (*set && *f != want) {
		cli_error("search: %s: only one of --json, --vimgrep, -l and --count may be given", name);
		return -1;
	}
	*f = want;
	*set = true;
	return 0;
}

/* One option at argv[*i] (not -h, not "--").  Returns 1 when it was one (*i
 * past its value), 0 when it is a word of the query ("-word": a NOT), -1 on
 * an error (printed). */
static int search_opt(int argc, char **argv, int *i, struct search_args *s, struct target *t)
{
	const char *a = argv[*i], *v;
	int num = num_opt(argc, argv, i, "-n", NULL, 1, &s->limit);
	if (!num)
		num = num_opt(argc, argv, i, "-m", "--max-count", 1, &s->max_count);
	if (!num)
		num = num_opt(argc, argv, i, "-C", "--context", 0, &s->context);
	if (!num)
		num = num_opt(argc, argv, i, NULL, "--offset", 0, &s->offset);
	if (num)
		return num;
	if (cli_opt_value(argc, argv, i, "--sort", &v)) {
		if (!v || (strcmp(v, "score") && strcmp(v, "path"))) {
			cli_error("search: --sort %s: expected score or path", v ? v : "(missing)");
			return -1;
		}
		s->by_path = !strcmp(v, "path");
		return 1;
	}
	if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
		s->quiet = true;
		return 1;
	}
	if (!strcmp(a, "--any")) {
		s->any = true;
		return 1;
	}
	if (cli_opt_value(argc, argv, i, "--color", &v) || cli_opt_value(argc, argv, i, "--colour", &v)) {
		if (!v || (strcmp(v, "never") && strcmp(v, "always") && strcmp(v, "auto"))) {
			cli_error("search: --color %s: expected never, always or auto", v ? v : "(missing)");
			return -1;
		}
		s->color = v;
		return 1;
	}
	int rc = cli_target_opt(argc, argv, i, t, "search");
	if (rc)
		return rc;
	if (!strcmp(a, "--json"))
		rc = set_format(&s->format, OUT_JSON, &s->format_set, a);
	else if (!strcmp(a, "--vimgrep"))
		rc = set_format(&s->format, OUT_VIMGREP, &s->format_set, a);
	else if (!strcmp(a, "-l") || !strcmp(a, "--files-with-matches"))
		rc = set_format(&s->format, OUT_LIST, &s->format_set, a);
	else if (!strcmp(a, "-c") || !strcmp(a, "--count"))
		rc = set_format(&s->format, OUT_COUNT, &s->format_set, a);
	else if (a[1] == '-') {
		cli_error("search: %s: unknown option (see xihu search --help)", a);
		return -1;
	} else
		return 0; /* -word: a NOT in the query */
	return rc ? -1 : 1;
}

/* Reads the options and the query words into *s (s->query malloc'd, also
 * on failure).  Returns 0, 1 after --help, -1 on an error (printed). */
static int parse_search(int argc, char **argv, struct search_args *s, struct target *t)
{
	size_t qcap = 1;
	for (int i = 1; i < argc; i++)
		qcap += strlen(argv[i]) + 1;
	if (!(s->query = malloc(qcap))) {
		cli_error("search: out of memory");
		return -1;
	}
	s->query[0] = '\0';
	bool options = true;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (options && a[0] == '-' && a[1] != '\0') {
			if (!strcmp(a, "--")) {
				options = false;
				continue;
			}
			if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
				usage_search(stdout);
				return 1;
			}
			int rc = search_opt(argc, argv, &i, s, t);
			if (rc < 0)
				return -1;
			if (rc)
				continue;
		}
		if (s->qlen)
			s->query[s->qlen++] = ' ';
		memcpy(s->query + s->qlen, a, strlen(a) + 1);
		s->qlen += strlen(a);
	}
	if (strspn(s->query, " \t\n\r\f\v") == s->qlen) {
		cli_error("search: no query given (see xihu search --help)");
		return -1;
	}
	return 0;
}

/* ---- the request ------------------------------------------------------------- */

/* How hits print (o->cwd points into cwd), and what to ask the daemon for
 * (so->index may point into ixbuf). */
static void plan_search(const struct search_args *s, const struct target *t, struct out_opts *o,
                        char cwd[PATH_MAX], struct xihu_search_opts *so, char ixbuf[PATH_MAX])
{
	*o = (struct out_opts){.f = stdout, .format = s->format};
	if (!strcmp(s->color, "always"))
		o->color = true;
	else if (!strcmp(s->color, "auto")) {
		const char *nc = getenv("NO_COLOR");
		o->color = isatty(STDOUT_FILENO) && !(nc && *nc);
	}
	o->cwd = getcwd(cwd, PATH_MAX) ? cwd : NULL;

	enum out_format f = s->format;
	bool one = f == OUT_COUNT || s->quiet;
	bool lines = !s->quiet && (f == OUT_DEFAULT || f == OUT_VIMGREP || f == OUT_JSON);
	*so = (struct xihu_search_opts){
	    .limit = one ? 1 : s->limit,
	    .offset = one ? 0 : s->offset,
	    .max_lines = lines ? s->max_count : 0,
	    .context = lines && f != OUT_VIMGREP ? s->context : 0,
	    .flags = (lines ? 0 : XIHU_NO_LINES) |
	             /* a count must not be a lower bound; -q needs only one match */
	             (f == OUT_COUNT && !s->quiet ? XIHU_EXACT_TOTAL : 0) |
	             (!one ? XIHU_SUGGEST : 0) | (s->any ? XIHU_ANY : 0),
	};
	if (f == OUT_DEFAULT && !s->quiet && s->limit < UINT32_MAX - s->offset)
		so->limit = s->limit + 1; /* to know whether there are more (note_more) */
	if (f == OUT_DEFAULT && !s->max_count && lines) {
		/* people read the first lines of the best hits: a few each, and a
		 * note when there are more (one more is asked for to know) */
		o->cut_lines = DEFAULT_LINES_SHOWN;
		o->context = s->context;
		so->max_lines = DEFAULT_LINES_SHOWN + 1;
	}
	/* which index: --index names one; else the daemon picks the one whose
	 * tree holds this directory (else its default) */
	if (t->index)
		so->index = realpath(t->index, ixbuf) ? ixbuf : t->index;
	else
		so->cwd = o->cwd;
}

/* ---- the answer -------------------------------------------------------------- */

/* A hit and its rank by score, for --sort path. */
struct ranked {
	const struct xihu_hit *hit;
	unsigned rank;
};

/* By the document's bytes (paths, or record ids), then by rank. */
static int by_doc(const void *pa, const void *pb)
{
	const struct ranked *a = pa, *b = pb;
	size_t la = a->hit->doc_len, lb = b->hit->doc_len;
	int c = la && lb ? memcmp(a->hit->doc, b->hit->doc, la < lb ? la : lb) : 0;
	if (c)
		return c;
	if (la != lb)
		return la < lb ? -1 : 1;
	return a->rank < b->rank ? -1 : a->rank > b->rank;
}

/* n with a comma between each group of three digits: 49,525. */
static const char *thousands(uint64_t n, char buf[32])
{
	char digits[24];
	int len = snprintf(digits, sizeof digits, "%llu", (unsigned long long)n), at = 0;
	for (int i = 0; i < len; i++) {
		if (i && (len - i) % 3 == 0)
			buf[at++] = ',';
		buf[at++] = digits[i];
	}
	buf[at] = '\0';
	return buf;
}

/* The default format, read by people: when the hits shown are not all the
 * search found, one line on stderr says so (never in --json, which has the
 * total in its summary, nor in --vimgrep, -l or --count, whose readers are
 * editors and scripts: Vim's :grep would list the line as a match).  The
 * default format asks for one hit more than it shows, to know. */
static void note_more(const struct search_args *s, const struct xihu_results *r, size_t shown)
{
	uint64_t last = (uint64_t)s->offset + shown;
	if (s->format != OUT_DEFAULT || !shown || (shown == r->n_hits && last >= r->total))
		return;
	bool files = true;
	for (size_t i = 0; i < shown; i++)
		files = files && !r->hits[i].is_record;
	const char *what = files ? "files" : "documents";
	char a[32], b[32], c[32];
	if (s->offset)
		snprintf(a, sizeof a, "%s-%s", thousands(s->offset + 1, b), thousands(last, c));
	else
		thousands(shown, a);
	const char *use = s->offset ? "use -n N, --offset K" : "use -n N";
	if (r->total_exact || r->total > last) /* a lower bound still says there are more */
		fprintf(stderr, "xihu: showing %s of %s%s %s (%s)\n", a,
		        r->total_exact ? "" : "at least ", thousands(r->total, b), what, use);
	else
		fprintf(stderr, "xihu: showing %s %s; there are more (%s)\n", a, what, use);
}

/* Prints r's hits (in path order with --sort path) and, with --json, the
 * summary.  Returns the exit code. */
static int print_hits(const struct search_args *s, const struct out_opts *o,
                      const struct xihu_results *r)
{
	/* --sort path: the same hits, in path order; each keeps its rank */
	struct ranked *order = malloc((r->n_hits ? r->n_hits : 1) * sizeof *order);
	if (!order) {
		cli_error("search: out of memory");
		return EXIT_ERROR;
	}
	/* the default format asked for one more than it shows */
	size_t shown = s->format == OUT_DEFAULT && r->n_hits > s->limit ? s->limit : r->n_hits;
	for (size_t i = 0; i < shown; i++)
		order[i] = (struct ranked){&r->hits[i], (unsigned)(s->offset + i + 1)};
	if (s->by_path)
		qsort(order, shown, sizeof *order, by_doc);
	for (size_t i = 0; i < shown; i++)
		out_hit(o, order[i].hit, order[i].rank, i == 0);
	free(order);
	if (s->format == OUT_JSON)
		out_json_summary(o, r->n_hits, r->total, r->total_exact, r->took_us, r->suggestion);
	else if (!r->n_hits && *r->suggestion)
		fprintf(stderr, "xihu: no match; did you mean: %s\n", r->suggestion);
	fflush(stdout); /* the note after the hits it is about */
	note_more(s, r, shown);
	return r->n_hits ? EXIT_MATCH : EXIT_NOMATCH;
}

/* Asks for the search and prints the answer.  Returns the exit code. */
static int run_search(const struct search_args *s, const struct target *t)
{
	struct out_opts o;
	struct xihu_search_opts so;
	char cwd[PATH_MAX], ixbuf[PATH_MAX];
	plan_search(s, t, &o, cwd, &so, ixbuf);
	xihu_conn *c = cli_connect(t);
	if (!c)
		return EXIT_ERROR;
	struct xihu_results *r;
	int failed = xihu_search(c, s->query, &so, &r);
	if (failed && so.limit > s->limit && xihu_errcode(c, NULL) == XIHU_E_LIMIT) {
		so.limit = s->limit; /* the one more (note_more) was over the daemon's bound */
		failed = xihu_search(c, s->query, &so, &r);
	}
	if (failed) {
		cli_error("%s", xihu_errmsg(c));
		xihu_close(c);
		return EXIT_ERROR;
	}
	xihu_close(c);
	int rc;
	if (s->quiet) {
		rc = r->n_hits || r->total ? EXIT_MATCH : EXIT_NOMATCH;
	} else if (s->format == OUT_COUNT) {
		printf("%llu\n", (unsigned long long)r->total);
		rc = r->total ? EXIT_MATCH : EXIT_NOMATCH;
	} else {
		rc = print_hits(s, &o, r);
	}
	xihu_results_free(r);
	if (rc == EXIT_ERROR)
		return rc;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error("stdout: %s", strerror(errno));
		return EXIT_ERROR;
	}
	return rc;
}

int cmd_search(int argc, char **argv, struct target t)
{
	struct search_args s = {.limit = 10, .format = OUT_DEFAULT, .color = "auto"};
	int rc = parse_search(argc, argv, &s, &t);
	if (rc == 0)
		rc = run_search(&s, &t);
	else
		rc = rc > 0 ? 0 : EXIT_ERROR;
	free(s.query);
	return rc;
}
