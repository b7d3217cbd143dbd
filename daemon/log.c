/*
 * log.c: the daemon's log lines, the lowest layer: every other file may
 * call it, it calls none of them.
 *
 * A line has a level and goes to stderr ("xihud: <what>: <why>" for an
 * error, "xihud: warning: ...", "xihud: info: ...", "xihud: debug: ...") or,
 * once xihud_log_to_syslog was called (--syslog, or daemonized), to syslog
 * (LOG_DAEMON, priority by level, without the "xihud: " that syslog's tag
 * says).  Lines above the level set (warning until main sets one) are
 * dropped.
 *
 * Invariants: a line is one write to stderr (or one syslog call), so lines
 * from several threads never mix; a line longer than its buffer is cut, and
 * still ends in a newline.  The level and the destination are set by main
 * before any other thread starts, and only read afterwards.
 */
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#include "xihud.h"

static enum xihud_level log_level = XIHUD_WARNING;
static bool to_syslog; /* lines go to syslog, not stderr */

void xihud_log_set_level(enum xihud_level level)
{
	log_level = level;
}

void xihud_log_to_syslog(void)
{
	if (to_syslog)
		return;
	openlog("xihud", LOG_PID, LOG_DAEMON);
	to_syslog = true;
}

void xihud_logf(enum xihud_level level, const char *fmt, ...)
{
	static const char *const prefix[] = {"", "warning: ", "info: ", "debug: "};
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	if (level > log_level)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (to_syslog) {
		char line[1024];
		vsnprintf(line, sizeof line, fmt, ap);
		syslog(prio[level], "%s%s", prefix[level], line);
	} else {
		/* one write per line, so lines from several threads do not mix */
		char line[1100];
		int n = snprintf(line, sizeof line, "xihud: %s", prefix[level]);
		int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
		size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m < sizeof line - (size_t)n - 1 ? (size_t)m : sizeof line - (size_t)n - 2);
		line[len++] = '\n';
		fwrite(line, 1, len, stderr);
	}
	va_end(ap);
}
