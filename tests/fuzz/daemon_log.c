/*
 * daemon_log.c: the daemon's log sink for the targets that link its handler.
 *
 * xihud.c owns logging and main(); the targets link handler.c, stats.c and
 * sync.c without it (sync.c logs; the handler never starts it), so here a
 * log line goes nowhere.
 */
#include <stdbool.h>

#include "xihud.h"

enum xihud_level xihud_log_level = XIHUD_WARNING;
bool xihud_syslog;

void xihud_logf(enum xihud_level level, const char *fmt, ...)
{
	(void)level;
	(void)fmt;
}
