/*
 * config.c: the daemon's configuration, from its command line.
 *
 * Owns the defaults, --help, and the parsing of every option into a struct
 * xihud_config (config_parse), and works out the index directory from
 * --index, $XIHU_INDEX or the XDG default (config_index_dir).  The socket
 * path's convention is the client library's, so main asks it.
 *
 * Invariants: a number outside its option's range, an unknown option or a
 * stray argument is an error line naming it and exit status 2, never a
 * value clamped or ignored; every option keeps its default until given.
 * --no-doc-cache takes effect as it is parsed (xihu_doc_cache, the index
 * library's switch).  Nothing here starts a thread or opens a file.
 *
 * Called by main (main.c), once, before anything else; the daemon's other
 * files read the struct it filled and never parse anything themselves.
 */
#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "xihud.h"

#define DEFAULT_MAX_CONNECTIONS 512
#define DEFAULT_IDLE_TIMEOUT_S 300
#define DEFAULT_SPIN_US 50
#define DEFAULT_REQUEST_TIMEOUT_MS 10000
#define DEFAULT_MAX_PENDING 64

static bool parse_level(const char *s, enum xihud_level *out)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	for (int i = 0; i < 4; i++)
		if (!strcmp(s, names[i])) {
			*out = (enum xihud_level)i;
			return true;
		}
	return false;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: xihud [OPTION]...\n"
	        "Serve a xihu index over a Unix socket.\n"
	        "\n"
	        "  --index DIR          the index to serve (env XIHU_INDEX; default\n"
	        "                       $XDG_DATA_HOME/xihu/index, else ~/.local/share/xihu/index)\n"
	        "  --socket PATH        where to listen (env XIHU_SOCKET; default\n"
	        "                       $XDG_RUNTIME_DIR/xihu/xihud.sock, else /tmp/xihu-$UID/xihud.sock)\n"
	        "  -f, --foreground     do not daemonize\n"
	        "  --threads N          worker threads running searches (default: the number\n"
	        "                       of online CPUs)\n"
	        "  --max-frame BYTES    largest request frame accepted (default %u; K/M suffixes)\n"
	        "  --max-connections N  connections served at once (default %u)\n"
	        "  --idle-timeout SECS  close connections idle this long (default %u; 0: never)\n"
	        "  --max-pending N      requests of one connection in flight at once; past it\n"
	        "                       reading pauses (default %u)\n"
	        "  --max-results N      offset + limit of one search at most (default: no cap)\n"
	        "  --request-timeout MS a search's deadline when its request sets none (default\n"
	        "                       %u; 0: none); past it the answer is an E_LIMIT error\n"
	        "  --no-sync            do not watch the index's trees (by default xihud\n"
	        "                       re-indexes created, changed and deleted files as they\n"
	        "                       change, within a second)\n"
	        "  --no-doc-cache       inflate a hit's text from the doc store every time\n"
	        "                       (by default each segment keeps the blocks it read last,\n"
	        "                       up to 2 MiB)\n"
	        "  --spin-us US         after a request, poll this long before sleeping, so a\n"
	        "                       client's next request finds the daemon awake (default\n"
	        "                       %u; 0: sleep at once)\n"
	        "  -v, --verbose        log connections, reloads and syncs (--log-level info)\n"
	        "  --log-level LEVEL    error, warning (default), info or debug\n"
	        "  --syslog             log to syslog (LOG_DAEMON) instead of stderr; without\n"
	        "                       --foreground the daemon logs to syslog anyway\n"
	        "  -h, --help           show this help\n"
	        "  -V, --version        show the version\n"
	        "\n"
	        "Signals: SIGHUP reloads the index (a newly committed index is also picked up\n"
	        "on its own); SIGTERM or SIGINT finish the requests in flight, remove the socket\n"
	        "and exit 0.\n"
	        "\n"
	        "Socket activation: started with LISTEN_PID and LISTEN_FDS set (systemd's\n"
	        "xihud.socket), xihud serves the listening socket passed on fd 3 instead of\n"
	        "binding --socket, and leaves its file in place when it exits.  The xihu client\n"
	        "starts xihud on its own when no daemon answers (unless --no-autostart).\n"
	        "\n"
	        "Examples:\n"
	        "  xihu-index ~/src && xihud         index a tree, then serve it in the background\n"
	        "  xihud --foreground --verbose      serve in the foreground, logging to stderr\n"
	        "  xihud --index /srv/idx --socket /run/xihu/docs.sock\n",
	        XIHU_MAX_REQUEST_FRAME, DEFAULT_MAX_CONNECTIONS, DEFAULT_IDLE_TIMEOUT_S,
	        DEFAULT_MAX_PENDING, DEFAULT_REQUEST_TIMEOUT_MS, DEFAULT_SPIN_US);
}

/* Parses a decimal number with an optional K/M/G suffix within [lo, hi]. */
static int parse_num(const char *opt, const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		goto bad;
	uint64_t mul = 1;
	switch (*end) {
	case 'k': case 'K': mul = 1u << 10; end++; break;
	case 'm': case 'M': mul = 1u << 20; end++; break;
	case 'g': case 'G': mul = 1u << 30; end++; break;
	}
	if (*end || v > hi / mul || v * mul < lo || v * mul > hi)
		goto bad;
	*out = v * mul;
	return 0;
bad:
	xihud_error("%s %s: expected a number from %llu to %llu", opt, s, (unsigned long long)lo,
	            (unsigned long long)hi);
	return -1;
}

char *config_absolute(const char *path)
{
	if (path[0] == '/')
		return strdup(path);
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof cwd))
		return NULL;
	size_t n = strlen(cwd) + strlen(path) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", strcmp(cwd, "/") ? cwd : "", path);
	return p;
}

enum { OPT_INDEX = 256, OPT_SOCKET, OPT_THREADS, OPT_MAX_FRAME, OPT_MAX_CONN, OPT_IDLE, OPT_SPIN, OPT_NOSYNC, OPT_LOGLEVEL, OPT_SYSLOG, OPT_TIMEOUT, OPT_PENDING, OPT_RESULTS, OPT_NODOCCACHE };

static const struct option longopts[] = {
	{"index", required_argument, NULL, OPT_INDEX},
	{"socket", required_argument, NULL, OPT_SOCKET},
	{"foreground", no_argument, NULL, 'f'},
	{"threads", required_argument, NULL, OPT_THREADS},
	{"max-frame", required_argument, NULL, OPT_MAX_FRAME},
	{"max-connections", required_argument, NULL, OPT_MAX_CONN},
	{"idle-timeout", required_argument, NULL, OPT_IDLE},
	{"spin-us", required_argument, NULL, OPT_SPIN},
	{"no-sync", no_argument, NULL, OPT_NOSYNC},
	{"no-doc-cache", no_argument, NULL, OPT_NODOCCACHE},
	{"log-level", required_argument, NULL, OPT_LOGLEVEL},
	{"syslog", no_argument, NULL, OPT_SYSLOG},
	{"request-timeout", required_argument, NULL, OPT_TIMEOUT},
	{"max-pending", required_argument, NULL, OPT_PENDING},
	{"max-results", required_argument, NULL, OPT_RESULTS},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

/* Every setting at its default; the worker threads: the online CPUs (1..256). */
static void set_defaults(struct xihud_config *cfg)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	*cfg = (struct xihud_config){
		.threads = ncpu < 1 ? 1 : ncpu > 256 ? 256 : (unsigned)ncpu,
		.max_frame = XIHU_MAX_REQUEST_FRAME,
		.max_connections = DEFAULT_MAX_CONNECTIONS,
		.idle_timeout_s = DEFAULT_IDLE_TIMEOUT_S,
		.spin_us = DEFAULT_SPIN_US,
		.request_timeout_ms = DEFAULT_REQUEST_TIMEOUT_MS,
		.max_pending = DEFAULT_MAX_PENDING,
		.log_level = XIHUD_WARNING,
	};
}

/* Option c with its argument arg into cfg; false after an error (printed).
 * *level_given: --log-level was met. */
static bool take_option(struct xihud_config *cfg, int c, const char *arg, bool *level_given)
{
	uint64_t v;
	switch (c) {
	case OPT_INDEX: cfg->index_opt = arg; return true;
	case OPT_SOCKET: cfg->socket_opt = arg; return true;
	case 'f': cfg->foreground = true; return true;
	case 'v': cfg->verbose = true; return true;
	case OPT_NOSYNC: cfg->no_sync = true; return true;
	case OPT_NODOCCACHE: xihu_doc_cache(false); return true;
	case OPT_SYSLOG: cfg->use_syslog = true; return true;
	case OPT_THREADS:
		if (parse_num("--threads", arg, 1, 256, &v))
			return false;
		cfg->threads = (unsigned)v;
		return true;
	case OPT_MAX_FRAME:
		if (parse_num("--max-frame", arg, 16, XIHU_MAX_RESPONSE_FRAME, &v))
			return false;
		cfg->max_frame = (uint32_t)v;
		return true;
	case OPT_MAX_CONN:
		if (parse_num("--max-connections", arg, 1, 1u << 20, &v))
			return false;
		cfg->max_connections = (unsigned)v;
		return true;
	case OPT_IDLE:
		if (parse_num("--idle-timeout", arg, 0, 86400 * 365, &v))
			return false;
		cfg->idle_timeout_s = (unsigned)v;
		return true;
	case OPT_PENDING:
		if (parse_num("--max-pending", arg, 1, 4096, &v))
			return false;
		cfg->max_pending = (unsigned)v;
		return true;
	case OPT_RESULTS:
		if (parse_num("--max-results", arg, 1, UINT32_MAX, &v))
			return false;
		cfg->max_results = (uint32_t)v;
		return true;
	case OPT_TIMEOUT:
		if (parse_num("--request-timeout", arg, 0, 3600000, &v))
			return false;
		cfg->request_timeout_ms = (unsigned)v;
		return true;
	case OPT_SPIN:
		if (parse_num("--spin-us", arg, 0, 10000, &v))
			return false;
		cfg->spin_us = (unsigned)v;
		return true;
	case OPT_LOGLEVEL:
		if (!parse_level(arg, &cfg->log_level)) {
			xihud_error("--log-level %s: expected error, warning, info or debug", arg);
			return false;
		}
		*level_given = true;
		return true;
	default:
		assert(!"an option in longopts that take_option does not know");
		return false;
	}
}

int config_parse(struct xihud_config *cfg, int argc, char **argv)
{
	set_defaults(cfg);
	bool level_given = false;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "fvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("xihud %s (index format %u, protocol %u)\n", XIHU_VERSION_STRING,
			       XIHU_FORMAT_VERSION, XIHU_PROTO_VERSION);
			return 0;
		case '?':
			if (optopt && optopt < 256)
				xihud_error("-%c: unknown option or missing argument (see xihud --help)",
				            optopt);
			else
				xihud_error("%s: unknown option or missing argument (see xihud --help)",
				            argv[optind - 1]);
			return 2;
		default:
			if (!take_option(cfg, c, optarg, &level_given))
				return 2;
		}
	}
	if (optind < argc) {
		xihud_error("%s: unexpected argument (see xihud --help)", argv[optind]);
		return 2;
	}
	if (!level_given)
		cfg->log_level = cfg->verbose ? XIHUD_INFO : XIHUD_WARNING;
	return CONFIG_RUN;
}

/* The XDG default: $XDG_DATA_HOME/xihu/index (an absolute XDG_DATA_HOME
 * only), else $HOME/.local/share/xihu/index; NULL without either. */
static char *default_index(void)
{
	const char *data = getenv("XDG_DATA_HOME");
	const char *home = getenv("HOME");
	char buf[PATH_MAX];
	if (data && data[0] == '/')
		snprintf(buf, sizeof buf, "%s/xihu/index", data);
	else if (home && *home)
		snprintf(buf, sizeof buf, "%s/.local/share/xihu/index", home);
	else
		return NULL;
	return strdup(buf);
}

char *config_index_dir(const struct xihud_config *cfg)
{
	const char *dir = cfg->index_opt;
	if (!dir) {
		const char *env = getenv("XIHU_INDEX");
		dir = env && *env ? env : NULL;
	}
	return dir ? config_absolute(dir) : default_index();
}
