/*
 * cli.h: the internal header of the xihu command, in sections per .c file.
 *
 * xihu is a program over libxihu-client's public API (<xihu/client.h>) and
 * nothing else of the client: xihu.c parses the options before the command
 * and dispatches, search.c is `xihu search`, grep.c `xihu grep` (printed by
 * grepout.c), admin.c the commands about the
 * daemon and its indexes, output.c prints hits, and cli.c, below them all,
 * holds what every command shares.  Exit codes follow grep: 0
 * results, 1 no results, 2 any error, reported on stderr as one line
 * "xihu: <what>: <why>".
 */
#ifndef XIHU_CLI_H
#define XIHU_CLI_H

#include <stdbool.h>

#include <xihu/client.h>

#define EXIT_MATCH 0
#define EXIT_NOMATCH 1
#define EXIT_ERROR 2

/* ==== cli.c: what every command shares ==================================== */

/* The daemon to talk to: the options every command shares. */
struct target {
	const char *socket; /* --socket, or NULL for $XIHU_SOCKET or the default */
	const char *index;  /* --index, or NULL: what a daemon we start serves */
	bool autostart;     /* start xihud when nothing answers on the socket */
};

/* Prints "xihu: <what>: <why>" and a newline to stderr, stdout flushed first. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Matches "--name VALUE" and "--name=VALUE" at argv[*i]; advances *i past the
 * value, which is NULL when it is missing. */
bool cli_opt_value(int argc, char **argv, int *i, const char *name, const char **val);

/* --socket, --index and --no-autostart, wherever a command takes them (cmd
 * names the command in an error; "" before any command).  Returns 1 when
 * argv[*i] was one, 0 when not, -1 on a bad value (printed). */
int cli_target_opt(int argc, char **argv, int *i, struct target *t, const char *cmd);

/* Connects to t's daemon (starting one when t->autostart and none answers).
 * NULL with the error printed. */
xihu_conn *cli_connect(const struct target *t);

/* ==== search.c: xihu search ================================================ */

int cmd_search(int argc, char **argv, struct target t);

/* ==== grep.c: xihu grep (exact search, as ripgrep; grep.h, grepout.c) ===== */

int cmd_grep(int argc, char **argv, struct target t);

/* ==== admin.c: xihu status, stop, index, list ============================== */

int cmd_status(int argc, char **argv, struct target t);
int cmd_stop(int argc, char **argv, struct target t);
int cmd_index(int argc, char **argv, struct target t);
int cmd_list(int argc, char **argv, struct target t);

#endif
