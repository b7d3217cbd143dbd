/*
 * xihu.c: the command-line client: `xihu search`, `xihu status`, `xihu stop`.
 *
 * A thin shell over wire.c: parse arguments, send one request, print
 * the response (client/output.c).  Exit codes follow grep: 0 results, 1 no
 * results, 2 any error, reported as one line "xihu: <what>: <why>".
 *
 * `xihu search` takes its options anywhere among the query words, but only
 * the options it knows: any other word, "-foo" included (a NOT in the query
 * language), is part of the query.  "--" ends the options.
 *
 * When no daemon answers, search and status start one (wire.c's
 * autostart) for the same socket, serving --index if given; --no-autostart
 * or XIHU_NO_AUTOSTART=1 turn that off, and stop never starts one.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "output.h"
#include "wire.h"
#include "xihu-index.h" /* XIHU_VERSION_STRING and XIHU_FORMAT_VERSION only */

#define EXIT_MATCH 0
#define EXIT_NOMATCH 1
#define EXIT_ERROR 2

/* matching lines a hit shows in the default format without -m */
#define DEFAULT_LINES_SHOWN 10

static void error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fflush(stdout);
	fputs("xihu: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int version(void)
{
	printf("xihu %s (index format %u, protocol %u)\n", XIHU_VERSION_STRING, XIHU_FORMAT_VERSION,
	       XIHU_PROTO_VERSION);
	return 0;
}

static void usage_main(FILE *f)
{
	fputs("usage: xihu [--socket PATH] [--index DIR] [--no-autostart] COMMAND [OPTION]... [ARG]...\n"
	      "Search the files indexed by xihu-index, through the xihud daemon.\n"
	      "\n"
	      "Commands:\n"
	      "  search QUERY...  ranked search; see xihu search --help\n"
	      "  index [PATH]     have the daemon index the tree PATH (default .) and serve it\n"
	      "  list             the indexes the daemon serves: trees, sizes, state\n"
	      "  status           the daemon's version, index and latency\n"
	      "  stop             shut the daemon down gracefully\n"
	      "\n"
	      "Options:\n"
	      "  --socket PATH    the daemon's socket (env XIHU_SOCKET; default\n"
	      "                   $XDG_RUNTIME_DIR/xihu/xihud.sock, else /tmp/xihu-$UID/xihud.sock)\n"
	      "  --index DIR      the index a daemon started by xihu serves (env XIHU_INDEX;\n"
	      "                   default $XDG_DATA_HOME/xihu/index, else ~/.local/share/xihu/index)\n"
	      "  --no-autostart   when no daemon answers, fail instead of starting xihud\n"
	      "                   (also env XIHU_NO_AUTOSTART=1)\n"
	      "  -h, --help       show this help\n"
	      "  -V, --version    show the version\n"
	      "\n"
	      "When no daemon answers on the socket, search and status start one (xihud,\n"
	      "from $XIHUD, next to xihu, or on PATH) and ask it; stop never does.\n"
	      "\n"
	      "Examples:\n"
	      "  xihu-index ~/src && xihu search event loop\n"
	      "  xihu status\n"
	      "\n"
	      "Exit status: 0 results, 1 no results, 2 error.\n",
	      f);
}

static void usage_search(FILE *f)
{
	fputs("usage: xihu search [OPTION]... QUERY...\n"
	      "Print the documents that best match QUERY (the words joined with spaces).\n"
	      "\n"
	      "Query language: words must all match (AND); a OR b; -a or NOT a excludes;\n"
	      "(groups); \"exact phrase\"; pre* (prefix); path:GLOB, ext:c, field:word.\n"
	      "Options may come anywhere; any other word starting with '-' is a NOT.\n"
	      "\n"
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

static void usage_simple(FILE *f, const char *cmd, const char *what, const char *example,
                         bool autostarts)
{
	fprintf(f,
	        "usage: xihu %s [--socket PATH]%s\n"
	        "%s\n"
	        "\n"
	        "  --socket PATH   the daemon's socket (env XIHU_SOCKET)\n"
	        "%s"
	        "  -h, --help      show this help\n"
	        "\n"
	        "Example:\n"
	        "  %s\n",
	        cmd, autostarts ? " [--index DIR] [--no-autostart]" : "", what,
	        autostarts ? "  --index DIR     the index served if xihu has to start the daemon (env\n"
	                     "                  XIHU_INDEX)\n"
	                     "  --no-autostart  fail when no daemon answers instead of starting xihud\n"
	                     "                  (env XIHU_NO_AUTOSTART=1)\n"
	                   : "",
	        example);
}

/* ---- talking to the daemon ------------------------------------------------ */

/* The daemon to talk to: the options every command shares. */
struct target {
	const char *socket; /* --socket, or NULL for $XIHU_SOCKET or the default */
	const char *index;  /* --index, or NULL: what a daemon we start serves */
	bool autostart;     /* start xihud when nothing answers on the socket */
};

/* One request, one response of the kind want (what names the command in an
 * error).  Returns the response or NULL (error printed). */
static Xihu__Response *call(const struct target *t, Xihu__Request *req, Xihu__Response__BodyCase want,
                            const char *what)
{
	char buf[256];
	const char *path = xihu_socket_path(t->socket, buf, sizeof buf);
	if (!path) {
		error("socket: cannot work out the default socket path");
		return NULL;
	}
	wire_conn c;
	Xihu__Response *resp = NULL;
	int rc = t->autostart ? wire_open_autostart(&c, path, t->index)
	                      : wire_open(&c, path);
	if (rc || wire_call(&c, req, &resp)) {
		error("%s", c.err);
		wire_close(&c);
		return NULL;
	}
	wire_close(&c);
	if (resp->body_case == XIHU__RESPONSE__BODY_ERROR) {
		const Xihu__Error *e = resp->error;
		if (e->message && *e->message)
			error("%s", e->message);
		else
			error("daemon: %s", wire_error_name(e->code));
		xihu__response__free_unpacked(resp, NULL);
		return NULL;
	}
	if (resp->body_case != want) {
		error("%s: the daemon answered with an unexpected message", what);
		xihu__response__free_unpacked(resp, NULL);
		return NULL;
	}
	return resp;
}

/* ---- xihu search ---------------------------------------------------------- */

static int parse_uint(const char *opt, const char *s, uint32_t lo, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long v = s ? strtoul(s, &end, 10) : 0;
	if (!s || errno || end == s || *end || *s == '-' || v < lo || v > UINT32_MAX) {
		error("search: %s %s: expected a number of at least %u", opt, s ? s : "(missing)", lo);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

/* Matches "--name VALUE" and "--name=VALUE"; advances *i past the value. */
static bool opt_value(int argc, char **argv, int *i, const char *name, const char **val)
{
	size_t n = strlen(name);
	const char *a = argv[*i];
	if (strncmp(a, name, n) != 0)
		return false;
	if (a[n] == '=') {
		*val = a + n + 1;
		return true;
	}
	if (a[n] != '\0')
		return false;
	*val = *i + 1 < argc ? argv[++*i] : NULL;
	return true;
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
	if (lng && opt_value(argc, argv, i, lng, &v))
		return parse_uint(lng, v, lo, out) ? -1 : 1;
	return 0;
}

static int set_format(enum out_format *f, enum out_format want, bool *set, const char *name)
{
	if (*set && *f != want) {
		error("search: %s: only one of --json, --vimgrep, -l and --count may be given", name);
		return -1;
	}
	*f = want;
	*set = true;
	return 0;
}

/* --socket, --index and --no-autostart, wherever a command takes them.
 * Returns 1 when argv[*i] was one, 0 when not, -1 on a bad value (printed). */
static int target_opt(int argc, char **argv, int *i, struct target *t, const char *cmd)
{
	const char *v;
	if (!strcmp(argv[*i], "--no-autostart")) {
		t->autostart = false;
		return 1;
	}
	bool sock = opt_value(argc, argv, i, "--socket", &v);
	if (!sock && !opt_value(argc, argv, i, "--index", &v))
		return 0;
	if (!v || !*v) {
		error("%s%s%s: expected a path", cmd, *cmd ? ": " : "", sock ? "--socket" : "--index");
		return -1;
	}
	*(sock ? &t->socket : &t->index) = v;
	return 1;
}

/* A hit and its rank by score, for --sort path. */
struct ranked {
	const Xihu__Hit *hit;
	unsigned rank;
};

/* By the document's bytes (paths, or record ids), then by rank. */
static int by_doc(const void *pa, const void *pb)
{
	const struct ranked *a = pa, *b = pb;
	size_t la = a->hit->doc.len, lb = b->hit->doc.len;
	int c = la && lb ? memcmp(a->hit->doc.data, b->hit->doc.data, la < lb ? la : lb) : 0;
	if (c)
		return c;
	if (la != lb)
		return la < lb ? -1 : 1;
	return a->rank < b->rank ? -1 : a->rank > b->rank;
}

static int cmd_search(int argc, char **argv, struct target t)
{
	uint32_t limit = 10, offset = 0, context = 0, max_count = 0;
	enum out_format format = OUT_DEFAULT;
	bool format_set = false, by_path = false, quiet = false;
	const char *color = "auto";
	size_t qcap = 1, qlen = 0;
	for (int i = 1; i < argc; i++)
		qcap += strlen(argv[i]) + 1;
	char *query = malloc(qcap);
	if (!query) {
		error("search: out of memory");
		return EXIT_ERROR;
	}
	query[0] = '\0';

	bool options = true;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v;
		if (options && a[0] == '-' && a[1] != '\0') {
			if (!strcmp(a, "--")) {
				options = false;
				continue;
			}
			if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
				free(query);
				usage_search(stdout);
				return 0;
			}
			int num = num_opt(argc, argv, &i, "-n", NULL, 1, &limit);
			if (!num)
				num = num_opt(argc, argv, &i, "-m", "--max-count", 1, &max_count);
			if (!num)
				num = num_opt(argc, argv, &i, "-C", "--context", 0, &context);
			if (!num)
				num = num_opt(argc, argv, &i, NULL, "--offset", 0, &offset);
			if (num < 0)
				goto fail;
			if (num)
				continue;
			if (opt_value(argc, argv, &i, "--sort", &v)) {
				if (!v || (strcmp(v, "score") && strcmp(v, "path"))) {
					error("search: --sort %s: expected score or path", v ? v : "(missing)");
					goto fail;
				}
				by_path = !strcmp(v, "path");
				continue;
			}
			if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
				quiet = true;
				continue;
			}
			if (opt_value(argc, argv, &i, "--color", &v) ||
			    opt_value(argc, argv, &i, "--colour", &v)) {
				if (!v || (strcmp(v, "never") && strcmp(v, "always") && strcmp(v, "auto"))) {
					error("search: --color %s: expected never, always or auto",
					      v ? v : "(missing)");
					goto fail;
				}
				color = v;
				continue;
			}
			int rc = target_opt(argc, argv, &i, &t, "search");
			if (rc < 0)
				goto fail;
			if (rc)
				continue;
			if (!strcmp(a, "--json"))
				rc = set_format(&format, OUT_JSON, &format_set, a);
			else if (!strcmp(a, "--vimgrep"))
				rc = set_format(&format, OUT_VIMGREP, &format_set, a);
			else if (!strcmp(a, "-l") || !strcmp(a, "--files-with-matches"))
				rc = set_format(&format, OUT_LIST, &format_set, a);
			else if (!strcmp(a, "-c") || !strcmp(a, "--count"))
				rc = set_format(&format, OUT_COUNT, &format_set, a);
			else if (a[1] == '-') {
				error("search: %s: unknown option (see xihu search --help)", a);
				goto fail;
			} else
				goto word; /* -word: a NOT in the query */
			if (rc)
				goto fail;
			continue;
		}
	word:
		if (qlen)
			query[qlen++] = ' ';
		memcpy(query + qlen, a, strlen(a) + 1);
		qlen += strlen(a);
	}
	if (strspn(query, " \t\n\r\f\v") == qlen) {
		error("search: no query given (see xihu search --help)");
		goto fail;
	}

	struct out_opts o = {.f = stdout, .format = format};
	if (!strcmp(color, "always"))
		o.color = true;
	else if (!strcmp(color, "auto")) {
		const char *nc = getenv("NO_COLOR");
		o.color = isatty(STDOUT_FILENO) && !(nc && *nc);
	}
	char cwd[PATH_MAX];
	o.cwd = getcwd(cwd, sizeof cwd) ? cwd : NULL;

	Xihu__SearchRequest sr = XIHU__SEARCH_REQUEST__INIT;
	sr.query = query;
	bool lines = !quiet && (format == OUT_DEFAULT || format == OUT_VIMGREP || format == OUT_JSON);
	sr.limit = format == OUT_COUNT || quiet ? 1 : limit;
	sr.offset = format == OUT_COUNT || quiet ? 0 : offset;
	sr.want_lines = lines;
	sr.max_lines = lines ? max_count : 0;
	if (format == OUT_DEFAULT && !max_count && lines) {
		/* people read the first lines of the best hits: a few each, and a
		 * note when there are more (one more is asked for to know) */
		o.cut_lines = DEFAULT_LINES_SHOWN;
		o.context = context;
		sr.max_lines = DEFAULT_LINES_SHOWN + 1;
	}
	/* a count must not be a lower bound; -q needs only one match */
	sr.exact_total = format == OUT_COUNT && !quiet;
	sr.context = lines && format != OUT_VIMGREP ? context : 0;
	sr.suggest = format != OUT_COUNT && !quiet;
	/* which index: --index names one; else the daemon picks the one whose
	 * tree holds this directory (else its default) */
	char ixbuf[PATH_MAX];
	if (t.index && realpath(t.index, ixbuf))
		sr.index = ixbuf;
	else if (t.index)
		sr.index = (char *)t.index;
	else
		sr.cwd = (char *)o.cwd;
	Xihu__Request req = XIHU__REQUEST__INIT;
	req.body_case = XIHU__REQUEST__BODY_SEARCH;
	req.search = &sr;
	Xihu__Response *resp = call(&t, &req, XIHU__RESPONSE__BODY_SEARCH, "search");
	free(query);
	query = NULL;
	if (!resp)
		return EXIT_ERROR;
	const Xihu__SearchResponse *s = resp->search;
	int rc;
	if (quiet) {
		rc = s->n_hits || s->total ? EXIT_MATCH : EXIT_NOMATCH;
	} else if (format == OUT_COUNT) {
		printf("%llu\n", (unsigned long long)s->total);
		rc = s->total ? EXIT_MATCH : EXIT_NOMATCH;
	} else {
		/* --sort path: the same hits, in path order; each keeps its rank */
		struct ranked *order = malloc((s->n_hits ? s->n_hits : 1) * sizeof *order);
		if (!order) {
			error("search: out of memory");
			xihu__response__free_unpacked(resp, NULL);
			return EXIT_ERROR;
		}
		for (size_t i = 0; i < s->n_hits; i++)
			order[i] = (struct ranked){s->hits[i], (unsigned)(offset + i + 1)};
		if (by_path)
			qsort(order, s->n_hits, sizeof *order, by_doc);
		for (size_t i = 0; i < s->n_hits; i++)
			out_hit(&o, order[i].hit, order[i].rank, i == 0);
		free(order);
		if (format == OUT_JSON)
			out_json_summary(&o, s->n_hits, s->total, s->total_exact, s->took_us, s->suggestion);
		else if (!s->n_hits && s->suggestion && *s->suggestion)
			fprintf(stderr, "xihu: no match; did you mean: %s\n", s->suggestion);
		rc = s->n_hits ? EXIT_MATCH : EXIT_NOMATCH;
	}
	xihu__response__free_unpacked(resp, NULL);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		error("stdout: %s", strerror(errno));
		return EXIT_ERROR;
	}
	return rc;
fail:
	free(query);
	return EXIT_ERROR;
}

/* ---- xihu status / xihu stop ----------------------------------------------- */

static void print_uptime(uint64_t s)
{
	if (s >= 86400)
		printf("%llud ", (unsigned long long)(s / 86400));
	if (s >= 3600)
		printf("%lluh ", (unsigned long long)(s / 3600 % 24));
	if (s >= 60)
		printf("%llum ", (unsigned long long)(s / 60 % 60));
	printf("%llus\n", (unsigned long long)(s % 60));
}

/* "1.5 MiB (1572864 bytes)", without a newline. */
static void print_bytes(uint64_t b)
{
	static const char *const unit[] = {"KiB", "MiB", "GiB", "TiB"};
	if (b < 1024) {
		printf("%llu B", (unsigned long long)b);
		return;
	}
	double v = (double)b / 1024;
	unsigned u = 0;
	while (v >= 1024 && u < 3) {
		v /= 1024;
		u++;
	}
	printf("%.1f %s (%llu bytes)", v, unit[u], (unsigned long long)b);
}

static void print_us(uint64_t us)
{
	if (us < 1000)
		printf("%llu us", (unsigned long long)us);
	else
		printf("%.1f ms", (double)us / 1000);
}

/* The latency histogram by powers of two: a row per non-empty range,
 * "  <= 64 us   ########  1234" (bars scaled to the fullest row). */
static void print_histogram(const Xihu__StatusResponse *s)
{
	uint64_t rows[64] = {0}, most = 0;
	unsigned lo = 64, hi = 0;
	for (size_t i = 0; i < s->n_latency; i++) {
		uint64_t u = s->latency[i]->upper_us;
		unsigned r = u ? 64 - (unsigned)__builtin_clzll(u) : 0; /* 2^r > u */
		if (r > 63)
			r = 63;
		rows[r] += s->latency[i]->count;
		lo = r < lo ? r : lo;
		hi = r > hi ? r : hi;
	}
	for (unsigned r = lo; r <= hi && lo < 64; r++)
		most = rows[r] > most ? rows[r] : most;
	for (unsigned r = lo; r <= hi && lo < 64; r++) {
		char bar[41];
		unsigned w = most ? (unsigned)((rows[r] * 40 + most - 1) / most) : 0;
		memset(bar, '#', w);
		bar[w] = '\0';
		printf("  < ");
		print_us((uint64_t)1 << r);
		printf("\t%-40s %llu\n", bar, (unsigned long long)rows[r]);
	}
}

/* Parses the options of status and stop: the target's and --help only. */
static int simple_opts(int argc, char **argv, struct target *t, const char *cmd,
                       const char *what, const char *example, bool autostarts, bool *helped)
{
	*helped = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage_simple(stdout, cmd, what, example, autostarts);
			*helped = true;
			return 0;
		}
		int rc = target_opt(argc, argv, &i, t, cmd);
		if (rc < 0)
			return -1;
		if (rc)
			continue;
		error("%s: %s: unexpected argument (see xihu %s --help)", cmd, argv[i], cmd);
		return -1;
	}
	return 0;
}

static int cmd_status(int argc, char **argv, struct target t)
{
	bool helped;
	if (simple_opts(argc, argv, &t, "status",
	                "Show the daemon's version, uptime, index and query latency (starting the\n"
	                "daemon first if none answers).",
	                "xihu status", true, &helped))
		return EXIT_ERROR;
	if (helped)
		return 0;
	Xihu__StatusRequest sr = XIHU__STATUS_REQUEST__INIT;
	Xihu__Request req = XIHU__REQUEST__INIT;
	req.body_case = XIHU__REQUEST__BODY_STATUS;
	req.status = &sr;
	Xihu__Response *resp = call(&t, &req, XIHU__RESPONSE__BODY_STATUS, "status");
	if (!resp)
		return EXIT_ERROR;
	const Xihu__StatusResponse *s = resp->status;
	printf("version      xihud %s (index format %u, protocol %u)\n", s->version ? s->version : "?",
	       s->format_version, s->proto_version);
	printf("pid          %u\n", s->pid);
	printf("uptime       ");
	print_uptime(s->uptime_s);
	printf("index        %s\n", s->index_path ? s->index_path : "?");
	printf("documents    %llu\n", (unsigned long long)s->docs);
	printf("terms        %llu\n", (unsigned long long)s->terms);
	printf("segments     %u\n", s->segments);
	printf("index bytes  ");
	print_bytes(s->index_bytes);
	printf("\n");
	printf("generation   %llu\n", (unsigned long long)s->generation);
	printf("connections  %u\n", s->connections);
	printf("queries      %llu\n", (unsigned long long)s->queries);
	printf("latency      p50 ");
	print_us(s->p50_us);
	printf(", p90 ");
	print_us(s->p90_us);
	printf(", p99 ");
	print_us(s->p99_us);
	printf("\n");
	print_histogram(s);
	if (s->sync && !s->sync->updates && !s->sync->watches && !s->sync->polling) {
		printf("live sync    starting (placing its watches, then a first update)\n");
	} else if (s->sync) {
		const Xihu__SyncStatus *y = s->sync;
		printf("live sync    %s %u director%s, %llu update%s (%llu committed), %s\n",
		       y->polling ? "polling; watched" : "watching", y->watches, y->watches == 1 ? "y" : "ies",
		       (unsigned long long)y->updates, y->updates == 1 ? "" : "s", (unsigned long long)y->commits,
		       y->pending ? "changes pending" : "in step");
		if (y->last_error && *y->last_error)
			printf("sync error   %s\n", y->last_error);
	} else {
		printf("live sync    off\n");
	}
	xihu__response__free_unpacked(resp, NULL);
	if (fflush(stdout) != 0) {
		error("stdout: %s", strerror(errno));
		return EXIT_ERROR;
	}
	return 0;
}

/* ---- xihu index / xihu list ------------------------------------------------- */

static Xihu__ListResponse *list_of(const struct target *t, Xihu__Response **keep)
{
	Xihu__ListRequest lr = XIHU__LIST_REQUEST__INIT;
	Xihu__Request req = XIHU__REQUEST__INIT;
	req.body_case = XIHU__REQUEST__BODY_LIST;
	req.list = &lr;
	*keep = call(t, &req, XIHU__RESPONSE__BODY_LIST, "list");
	return *keep ? (*keep)->list : NULL;
}

static void print_info(const Xihu__IndexInfo *ii)
{
	printf("%s%s\n", ii->dir, ii->is_default ? " (default)" : "");
	printf("  roots      ");
	for (size_t r = 0; r < ii->n_roots; r++)
		printf("%s%s", r ? " " : "", ii->roots[r]);
	printf("%s\n", ii->n_roots ? "" : "(none)");
	printf("  documents  %llu, ", (unsigned long long)ii->docs);
	print_bytes(ii->bytes);
	printf("  (%u segment%s, generation %llu)\n", ii->segments, ii->segments == 1 ? "" : "s",
	       (unsigned long long)ii->generation);
	printf("  state      %s", ii->state ? ii->state : "?");
	if (ii->progress && *ii->progress)
		printf(": %s", ii->progress);
	if (ii->error && *ii->error)
		printf(": %s", ii->error);
	printf("\n");
}

static int cmd_list(int argc, char **argv, struct target t)
{
	bool helped;
	if (simple_opts(argc, argv, &t, "list",
	                "Show the indexes the daemon serves: their trees, sizes and state.", "xihu list", true,
	                &helped))
		return EXIT_ERROR;
	if (helped)
		return 0;
	Xihu__Response *resp;
	Xihu__ListResponse *l = list_of(&t, &resp);
	if (!l)
		return EXIT_ERROR;
	for (size_t i = 0; i < l->n_indexes; i++) {
		if (i)
			printf("\n");
		print_info(l->indexes[i]);
	}
	xihu__response__free_unpacked(resp, NULL);
	return fflush(stdout) ? EXIT_ERROR : 0;
}

/* xihu index [PATH]: the daemon builds (or already keeps) the index of
 * PATH; its progress is shown (on a terminal) until it is served. */
static int cmd_index(int argc, char **argv, struct target t)
{
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: xihu index [--socket PATH] [--no-autostart] [PATH]\n"
			       "Ask the daemon to index the tree at PATH (default: the current directory)\n"
			       "next to its default index, show the progress, and serve it once built: a\n"
			       "search from inside PATH then goes to it.  Live sync keeps it up to date.\n"
			       "\n"
			       "Example:\n"
			       "  xihu index ~/src/project && cd ~/src/project && xihu search parser\n");
			return 0;
		}
		int rc = target_opt(argc, argv, &i, &t, "index");
		if (rc < 0)
			return EXIT_ERROR;
		if (rc)
			continue;
		if (path || argv[i][0] == '-') {
			error("index: %s: unexpected argument (see xihu index --help)", argv[i]);
			return EXIT_ERROR;
		}
		path = argv[i];
	}
	char real[PATH_MAX];
	if (!realpath(path ? path : ".", real)) {
		error("index: %s: %s", path ? path : ".", strerror(errno));
		return EXIT_ERROR;
	}
	Xihu__IndexRequest ir = XIHU__INDEX_REQUEST__INIT;
	ir.path = real;
	Xihu__Request req = XIHU__REQUEST__INIT;
	req.body_case = XIHU__REQUEST__BODY_INDEX;
	req.index = &ir;
	Xihu__Response *resp = call(&t, &req, XIHU__RESPONSE__BODY_INDEX, "index");
	if (!resp)
		return EXIT_ERROR;
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", resp->index->dir ? resp->index->dir : "?");
	bool created = resp->index->created;
	xihu__response__free_unpacked(resp, NULL);
	if (!created) {
		printf("%s: indexed in %s (kept up to date by live sync)\n", real, dir);
		return 0;
	}
	bool tty = isatty(STDERR_FILENO);
	for (;;) {
		struct timespec ts = {0, 200 * 1000000L};
		nanosleep(&ts, NULL);
		Xihu__ListResponse *l = list_of(&t, &resp);
		if (!l)
			return EXIT_ERROR;
		const Xihu__IndexInfo *ii = NULL;
		for (size_t i = 0; i < l->n_indexes && !ii; i++)
			if (l->indexes[i]->dir && !strcmp(l->indexes[i]->dir, dir))
				ii = l->indexes[i];
		if (!ii) {
			xihu__response__free_unpacked(resp, NULL);
			error("index: %s: the daemon no longer lists it", dir);
			return EXIT_ERROR;
		}
		if (ii->state && !strcmp(ii->state, "indexing")) {
			if (tty && ii->progress && *ii->progress)
				fprintf(stderr, "\r\033[K%s", ii->progress);
			xihu__response__free_unpacked(resp, NULL);
			continue;
		}
		if (tty)
			fprintf(stderr, "\r\033[K");
		int rc = 0;
		if (ii->state && !strcmp(ii->state, "ready")) {
			printf("%s: %llu documents, ", real, (unsigned long long)ii->docs);
			print_bytes(ii->bytes);
			printf(" of index in %s\n", dir);
		} else {
			error("index: %s: %s", real, ii->error && *ii->error ? ii->error : "failed");
			rc = EXIT_ERROR;
		}
		xihu__response__free_unpacked(resp, NULL);
		return rc;
	}
}

static int cmd_stop(int argc, char **argv, struct target t)
{
	bool helped;
	if (simple_opts(argc, argv, &t, "stop",
	                "Shut the daemon down: it finishes the requests in flight, removes its\n"
	                "socket and exits.  With no daemon running it starts none.",
	                "xihu stop", false, &helped))
		return EXIT_ERROR;
	if (helped)
		return 0;
	t.autostart = false; /* starting a daemon to stop it helps no one */
	Xihu__StopRequest sr = XIHU__STOP_REQUEST__INIT;
	Xihu__Request req = XIHU__REQUEST__INIT;
	req.body_case = XIHU__REQUEST__BODY_STOP;
	req.stop = &sr;
	Xihu__Response *resp = call(&t, &req, XIHU__RESPONSE__BODY_STOP, "stop");
	if (!resp)
		return EXIT_ERROR;
	xihu__response__free_unpacked(resp, NULL);
	return 0;
}

int main(int argc, char **argv)
{
	const char *no_auto = getenv("XIHU_NO_AUTOSTART");
	struct target t = {.autostart = !(no_auto && *no_auto && strcmp(no_auto, "0"))};
	int i = 1;
	/* options before the command */
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage_main(stdout);
			return 0;
		}
		if (!strcmp(a, "-V") || !strcmp(a, "--version"))
			return version();
		int rc = target_opt(argc, argv, &i, &t, "");
		if (rc < 0)
			return EXIT_ERROR;
		if (rc)
			continue;
		error("%s: unknown option or missing argument (see xihu --help)", a);
		return EXIT_ERROR;
	}
	if (i >= argc) {
		usage_main(stderr);
		return EXIT_ERROR;
	}
	const char *cmd = argv[i];
	argc -= i;
	argv += i;
	if (!strcmp(cmd, "search"))
		return cmd_search(argc, argv, t);
	if (!strcmp(cmd, "status"))
		return cmd_status(argc, argv, t);
	if (!strcmp(cmd, "stop"))
		return cmd_stop(argc, argv, t);
	if (!strcmp(cmd, "index"))
		return cmd_index(argc, argv, t);
	if (!strcmp(cmd, "list"))
		return cmd_list(argc, argv, t);
	if (!strcmp(cmd, "help")) {
		usage_main(stdout);
		return 0;
	}
	if (!strcmp(cmd, "version"))
		return version();
	error("%s: unknown command (try: xihu search, index, list, status, stop)", cmd);
	return EXIT_ERROR;
}
