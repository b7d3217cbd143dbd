/*
 * xihu.c: the command-line client: `xihu search`, `grep`, `index`, `list`,
 * `status`, `stop`.
 *
 * main reads the options before the command (--socket, --index,
 * --no-autostart, --help, --version) and hands the rest to the command's
 * cmd_* (search.c, grep.c, admin.c), which use what every command shares (cli.c).
 *
 * When no daemon answers, search, grep, index, list and status start one (the
 * library's autostart) for the same socket, serving --index if given;
 * --no-autostart or XIHU_NO_AUTOSTART=1 turn that off, and stop never starts
 * one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "frame.h"      /* XIHU_PROTO_VERSION */
#include "xihu-index.h" /* XIHU_FORMAT_VERSION only: xihu links no index code */

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
	      "  grep PATTERN [PATH]...\n"
	      "                   exact search, as ripgrep; see xihu grep --help\n"
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
	      "When no daemon answers on the socket, search, grep and status start one (xihud,\n"
	      "from $XIHUD, next to xihu, or on PATH) and ask it; stop never does.\n"
	      "\n"
	      "Examples:\n"
	      "  xihu-index ~/src && xihu search event loop\n"
	      "  xihu status\n"
	      "\n"
	      "Exit status: 0 results, 1 no results, 2 error.\n",
	      f);
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
		int rc = cli_target_opt(argc, argv, &i, &t, "");
		if (rc < 0)
			return EXIT_ERROR;
		if (rc)
			continue;
		cli_error("%s: unknown option or missing argument (see xihu --help)", a);
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
	if (!strcmp(cmd, "grep"))
		return cmd_grep(argc, argv, t);
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
	cli_error("%s: unknown command (try: xihu search, grep, index, list, status, stop)", cmd);
	return EXIT_ERROR;
}
