/*
 * cli.c: what every command of xihu shares, below them all: the one-line
 * error, option matching, the options naming the daemon (--socket, --index,
 * --no-autostart), and the connection to the daemon, which is
 * libxihu-client's (<xihu/client.h>), as is everything xihu sends.
 *
 * Callers: xihu.c (main), search.c, admin.c.  It calls nothing of them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

void cli_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fflush(stdout);
	fputs("xihu: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

bool cli_opt_value(int argc, char **argv, int *i, const char *name, const char **val)
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

int cli_target_opt(int argc, char **argv, int *i, struct target *t, const char *cmd)
{
	const char *v;
	if (!strcmp(argv[*i], "--no-autostart")) {
		t->autostart = false;
		return 1;
	}
	bool sock = cli_opt_value(argc, argv, i, "--socket", &v);
	if (!sock && !cli_opt_value(argc, argv, i, "--index", &v))
		return 0;
	if (!v || !*v) {
		cli_error("%s%s%s: expected a path", cmd, *cmd ? ": " : "", sock ? "--socket" : "--index");
		return -1;
	}
	*(sock ? &t->socket : &t->index) = v;
	return 1;
}

xihu_conn *cli_connect(const struct target *t)
{
	char err[1024];
	xihu_conn *c = t->autostart ? xihu_connect_autostart(t->socket, t->index, err, sizeof err)
	                            : xihu_connect(t->socket, 0, err, sizeof err);
	if (!c)
		cli_error("%s", err);
	return c;
}
