/*
 * admin.c: the commands about the daemon and its indexes: `xihu status`,
 * `xihu stop`, `xihu list` and `xihu index`, each one request (index: then
 * list requests until the new index is built) through libxihu-client, and
 * its answer printed for people.
 *
 * status and list print the numbers as the daemon sends them, sizes also in
 * KiB/MiB/GiB/TiB and times in us or ms; index shows the build's progress
 * line on stderr when that is a terminal.  stop never starts a daemon.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

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

/* Parses the options of status, stop and list: the target's and --help only. */
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
		int rc = cli_target_opt(argc, argv, &i, t, cmd);
		if (rc < 0)
			return -1;
		if (rc)
			continue;
		cli_error("%s: %s: unexpected argument (see xihu %s --help)", cmd, argv[i], cmd);
		return -1;
	}
	return 0;
}

/* status, stop and list: their options, then the connection (autostarting
 * a daemon only if autostarts).  *c NULL: help was shown (0 returned) or an
 * error printed (EXIT_ERROR). */
static int simple_start(int argc, char **argv, struct target *t, const char *cmd, const char *what,
                        const char *example, bool autostarts, xihu_conn **c)
{
	*c = NULL;
	bool helped;
	if (simple_opts(argc, argv, t, cmd, what, example, autostarts, &helped))
		return EXIT_ERROR;
	if (helped)
		return 0;
	if (!autostarts)
		t->autostart = false; /* starting a daemon to stop it helps no one */
	*c = cli_connect(t);
	return *c ? 0 : EXIT_ERROR;
}

/* ---- printing --------------------------------------------------------------- */

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
static void print_histogram(const struct xihu_status *s)
{
	uint64_t rows[64] = {0}, most = 0;
	unsigned lo = 64, hi = 0;
	for (size_t i = 0; i < s->n_latency; i++) {
		uint64_t u = s->latency[i].upper_us;
		unsigned r = u ? 64 - (unsigned)__builtin_clzll(u) : 0; /* 2^r > u */
		if (r > 63)
			r = 63;
		rows[r] += s->latency[i].count;
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

static void print_sync(const struct xihu_sync *y)
{
	if (y && !y->updates && !y->watches && !y->polling) {
		printf("live sync    starting (placing its watches, then a first update)\n");
	} else if (y) {
		printf("live sync    %s %u director%s, %llu update%s (%llu committed), %s\n",
		       y->polling ? "polling; watched" : "watching", y->watches, y->watches == 1 ? "y" : "ies",
		       (unsigned long long)y->updates, y->updates == 1 ? "" : "s", (unsigned long long)y->commits,
		       y->pending ? "changes pending" : "in step");
		if (*y->last_error)
			printf("sync error   %s\n", y->last_error);
	} else {
		printf("live sync    off\n");
	}
}

static void print_status(const struct xihu_status *s)
{
	printf("version      xihud %s (index format %u, protocol %u)\n", s->version, s->format_version,
	       s->proto_version);
	printf("pid          %u\n", s->pid);
	printf("uptime       ");
	print_uptime(s->uptime_s);
	printf("index        %s\n", s->index_path);
	printf("documents    %llu\n", (unsigned long long)s->docs);
	printf("terms        %llu\n", (unsigned long long)s->terms);
	printf("segments     %llu\n", (unsigned long long)s->segments);
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
	print_sync(s->sync);
}

static void print_info(const struct xihu_served_index *ii)
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
	printf("  state      %s", ii->state);
	if (*ii->progress)
		printf(": %s", ii->progress);
	if (*ii->error)
		printf(": %s", ii->error);
	printf("\n");
}

/* ---- xihu status / xihu stop ---------------------------------------------- */

int cmd_status(int argc, char **argv, struct target t)
{
	xihu_conn *c;
	int rc = simple_start(argc, argv, &t, "status",
	                      "Show the daemon's version, uptime, index and query latency (starting the\n"
	                      "daemon first if none answers).",
	                      "xihu status", true, &c);
	if (!c)
		return rc;
	struct xihu_status s;
	if (xihu_status(c, &s)) {
		cli_error("%s", xihu_errmsg(c));
		xihu_close(c);
		return EXIT_ERROR;
	}
	print_status(&s);
	xihu_close(c);
	if (fflush(stdout) != 0) {
		cli_error("stdout: %s", strerror(errno));
		return EXIT_ERROR;
	}
	return 0;
}

int cmd_stop(int argc, char **argv, struct target t)
{
	xihu_conn *c;
	int rc = simple_start(argc, argv, &t, "stop",
	                      "Shut the daemon down: it finishes the requests in flight, removes its\n"
	                      "socket and exits.  With no daemon running it starts none.",
	                      "xihu stop", false, &c);
	if (!c)
		return rc;
	rc = xihu_stop(c);
	if (rc)
		cli_error("%s", xihu_errmsg(c));
	xihu_close(c);
	return rc ? EXIT_ERROR : 0;
}

/* ---- xihu index / xihu list --------------------------------------------------- */

int cmd_list(int argc, char **argv, struct target t)
{
	xihu_conn *c;
	int rc = simple_start(argc, argv, &t, "list",
	                      "Show the indexes the daemon serves: their trees, sizes and state.", "xihu list",
	                      true, &c);
	if (!c)
		return rc;
	const struct xihu_served_index *l;
	size_t n;
	if (xihu_list_indexes(c, &l, &n)) {
		cli_error("%s", xihu_errmsg(c));
		xihu_close(c);
		return EXIT_ERROR;
	}
	for (size_t i = 0; i < n; i++) {
		if (i)
			printf("\n");
		print_info(&l[i]);
	}
	xihu_close(c);
	return fflush(stdout) ? EXIT_ERROR : 0;
}

/* Follows the build of the index in dir (of the tree real) through list
 * requests every 200 ms, its progress on stderr when that is a terminal,
 * until it is served or failed.  Returns the exit code. */
static int follow_build(xihu_conn *c, const char *real, const char *dir)
{
	bool tty = isatty(STDERR_FILENO);
	for (;;) {
		struct timespec ts = {0, 200 * 1000000L};
		nanosleep(&ts, NULL);
		const struct xihu_served_index *l, *ii = NULL;
		size_t n;
		if (xihu_list_indexes(c, &l, &n)) {
			cli_error("%s", xihu_errmsg(c));
			return EXIT_ERROR;
		}
		for (size_t i = 0; i < n && !ii; i++)
			if (!strcmp(l[i].dir, dir))
				ii = &l[i];
		if (!ii) {
			cli_error("index: %s: the daemon no longer lists it", dir);
			return EXIT_ERROR;
		}
		if (!strcmp(ii->state, "indexing")) {
			if (tty && *ii->progress)
				fprintf(stderr, "\r\033[K%s", ii->progress);
			continue;
		}
		if (tty)
			fprintf(stderr, "\r\033[K");
		if (strcmp(ii->state, "ready")) {
			cli_error("index: %s: %s", real, *ii->error ? ii->error : "failed");
			return EXIT_ERROR;
		}
		printf("%s: %llu documents, ", real, (unsigned long long)ii->docs);
		print_bytes(ii->bytes);
		printf(" of index in %s\n", dir);
		return 0;
	}
}

/* xihu index [PATH]: the daemon builds (or already keeps) the index of
 * PATH; its progress is shown (on a terminal) until it is served. */
int cmd_index(int argc, char **argv, struct target t)
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
		int rc = cli_target_opt(argc, argv, &i, &t, "index");
		if (rc < 0)
			return EXIT_ERROR;
		if (rc)
			continue;
		if (path || argv[i][0] == '-') {
			cli_error("index: %s: unexpected argument (see xihu index --help)", argv[i]);
			return EXIT_ERROR;
		}
		path = argv[i];
	}
	char real[PATH_MAX];
	if (!realpath(path ? path : ".", real)) {
		cli_error("index: %s: %s", path ? path : ".", strerror(errno));
		return EXIT_ERROR;
	}
	xihu_conn *c = cli_connect(&t);
	if (!c)
		return EXIT_ERROR;
	const char *dir;
	bool created;
	int rc = 0;
	if (xihu_serve_tree(c, real, &dir, &created)) {
		cli_error("%s", xihu_errmsg(c));
		rc = EXIT_ERROR;
	} else if (!created) {
		printf("%s: indexed in %s (kept up to date by live sync)\n", real, dir);
	} else {
		rc = follow_build(c, real, dir);
	}
	xihu_close(c);
	return rc;
}
