/*
 * xihud.c: the daemon's entry point: options, start-up order, daemonizing.
 *
 * Start-up order matters for error reporting: the index is opened and the
 * socket bound while we still have the terminal, so any failure prints
 * "xihud: <what>: <why>" and exits 2.  Only then, without --foreground, do we
 * fork: the child detaches (setsid, chdir /, stdio to /dev/null) and tells
 * the waiting parent through a pipe once its event loop is set up; the parent
 * then exits 0.  All paths are made absolute before the chdir.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "xihu-client.h"
#include "xihud.h"

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
	        "  --max-results N      offset + limit of one search (default 10000)\n"
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
	        XIHU_MAX_REQUEST_FRAME, XIHUD_DEFAULT_MAX_CONNECTIONS, XIHUD_DEFAULT_IDLE_TIMEOUT_S,
	        XIHUD_DEFAULT_MAX_PENDING, XIHUD_DEFAULT_REQUEST_TIMEOUT_MS, XIHUD_DEFAULT_SPIN_US);
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

/* path made absolute against the current directory (no symlinks resolved). */
static char *absolute(const char *path)
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

/* Forks; the parent waits for the child's ready byte and exits.  Returns in
 * the child with the pipe's write end in *ready_fd. */
static int daemonize(int *ready_fd)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		xihud_error("pipe: %s", strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		xihud_error("fork: %s", strerror(errno));
		return -1;
	}
	if (pid > 0) {
		close(p[1]);
		char c;
		ssize_t r;
		do
			r = read(p[0], &c, 1);
		while (r < 0 && errno == EINTR);
		if (r == 1)
			_exit(0);
		xihud_error("the daemon exited during start-up (run with --foreground to see why)");
		_exit(2);
	}
	close(p[0]);
	if (setsid() < 0 || chdir("/") < 0) {
		xihud_error("detaching: %s", strerror(errno));
		return -1;
	}
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0) {
		xihud_error("/dev/null: %s", strerror(errno));
		return -1;
	}
	dup2(null, 0);
	dup2(null, 1);
	dup2(null, 2);
	/* stderr is gone: log lines go to syslog from now on */
	xihud_log_to_syslog();
	if (null > 2)
		close(null);
	*ready_fd = p[1];
	return 0;
}

enum { OPT_INDEX = 256, OPT_SOCKET, OPT_THREADS, OPT_MAX_FRAME, OPT_MAX_CONN, OPT_IDLE, OPT_SPIN, OPT_NOSYNC, OPT_LOGLEVEL, OPT_SYSLOG, OPT_TIMEOUT, OPT_PENDING, OPT_RESULTS, OPT_NODOCCACHE };

int main(int argc, char **argv)
{
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
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct xihud_config cfg = {
		.threads = ncpu < 1 ? 1 : ncpu > 256 ? 256 : (unsigned)ncpu,
		.max_frame = XIHU_MAX_REQUEST_FRAME,
		.max_connections = XIHUD_DEFAULT_MAX_CONNECTIONS,
		.idle_timeout_s = XIHUD_DEFAULT_IDLE_TIMEOUT_S,
		.spin_us = XIHUD_DEFAULT_SPIN_US,
		.request_timeout_ms = XIHUD_DEFAULT_REQUEST_TIMEOUT_MS,
		.max_pending = XIHUD_DEFAULT_MAX_PENDING,
	};
	const char *index_opt = NULL, *socket_opt = NULL;
	enum xihud_level level = XIHUD_WARNING;
	bool level_given = false, use_syslog = false;
	uint64_t v;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "fvhV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_INDEX: index_opt = optarg; break;
		case OPT_SOCKET: socket_opt = optarg; break;
		case 'f': cfg.foreground = true; break;
		case 'v': cfg.verbose = true; break;
		case OPT_THREADS:
			if (parse_num("--threads", optarg, 1, 256, &v))
				return 2;
			cfg.threads = (unsigned)v;
			break;
		case OPT_MAX_FRAME:
			if (parse_num("--max-frame", optarg, 16, XIHU_MAX_RESPONSE_FRAME, &v))
				return 2;
			cfg.max_frame = (uint32_t)v;
			break;
		case OPT_MAX_CONN:
			if (parse_num("--max-connections", optarg, 1, 1u << 20, &v))
				return 2;
			cfg.max_connections = (unsigned)v;
			break;
		case OPT_IDLE:
			if (parse_num("--idle-timeout", optarg, 0, 86400 * 365, &v))
				return 2;
			cfg.idle_timeout_s = (unsigned)v;
			break;
		case OPT_NOSYNC: cfg.no_sync = true; break;
		case OPT_NODOCCACHE: xihu_doc_cache(false); break;
		case OPT_SYSLOG: use_syslog = true; break;
		case OPT_PENDING:
			if (parse_num("--max-pending", optarg, 1, 4096, &v))
				return 2;
			cfg.max_pending = (unsigned)v;
			break;
		case OPT_RESULTS:
			if (parse_num("--max-results", optarg, 1, 1000000, &v))
				return 2;
			cfg.max_results = (uint32_t)v;
			break;
		case OPT_TIMEOUT:
			if (parse_num("--request-timeout", optarg, 0, 3600000, &v))
				return 2;
			cfg.request_timeout_ms = (unsigned)v;
			break;
		case OPT_LOGLEVEL:
			if (!parse_level(optarg, &level)) {
				xihud_error("--log-level %s: expected error, warning, info or debug", optarg);
				return 2;
			}
			level_given = true;
			break;
		case OPT_SPIN:
			if (parse_num("--spin-us", optarg, 0, 10000, &v))
				return 2;
			cfg.spin_us = (unsigned)v;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("xihud %s (index format %u, protocol %u)\n", XIHU_VERSION_STRING,
			       XIHU_FORMAT_VERSION, XIHU_PROTO_VERSION);
			return 0;
		default:
			if (optopt && optopt < 256)
				xihud_error("-%c: unknown option or missing argument (see xihud --help)",
				            optopt);
			else
				xihud_error("%s: unknown option or missing argument (see xihud --help)",
				            argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		xihud_error("%s: unexpected argument (see xihud --help)", argv[optind]);
		return 2;
	}
	xihud_log_set_level(level_given ? level : cfg.verbose ? XIHUD_INFO : XIHUD_WARNING);
	if (use_syslog)
		xihud_log_to_syslog();

	if (!index_opt) {
		const char *env = getenv("XIHU_INDEX");
		index_opt = env && *env ? env : NULL;
	}
	int status = 2;
	char *index_dir = index_opt ? absolute(index_opt) : default_index();
	char sockbuf[256];
	const char *sp = xihu_socket_path(socket_opt, sockbuf, sizeof sockbuf);
	char *socket_path = sp ? absolute(sp) : NULL;
	xihu_index *ix = NULL;
	struct server *srv = NULL;
	if (!index_dir) {
		xihud_error("index: no --index given and neither XDG_DATA_HOME nor HOME is set");
		goto out;
	}
	if (!socket_path) {
		xihud_error("socket: cannot work out the socket path");
		goto out;
	}
	cfg.index_dir = index_dir;
	cfg.socket_path = socket_path;

	/* a client that goes away must not kill us; we see EPIPE */
	signal(SIGPIPE, SIG_IGN);
	/* Bound what malloc keeps after a big request: glibc otherwise raises its
	 * mmap threshold to the largest block freed (up to 32 MiB) and keeps up
	 * to twice that free in each thread's arena. */
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	mallopt(M_TRIM_THRESHOLD, 2 << 20);

	xihu_err err = {0};
	if (registry_check_dir(index_dir, &err)) {
		xihud_error("%s", err.msg);
		goto out;
	}
	int rc = xihu_index_open(index_dir, &ix, &err);
	if (rc == XIHU_ENOINDEX) {
		xihud_error("%s: no index here (run xihu-index first)", index_dir);
		goto out;
	}
	if (rc != XIHU_OK) {
		xihud_error("%s: %s", index_dir, err.msg[0] ? err.msg : xihu_strerror(rc));
		goto out;
	}
	if (server_bind(&srv, &cfg, ix))
		goto out;
	ix = NULL; /* the server owns it now */
	int ready_fd = -1;
	if (!cfg.foreground && daemonize(&ready_fd))
		goto out;
	if (server_run(srv, ready_fd) == 0)
		status = 0;
out:
	server_free(srv);
	if (ix)
		xihu_index_unref(ix);
	free(index_dir);
	free(socket_path);
	return status;
}
