/*
 * socket.c: the socket convention of socket.h -- the default path, the
 * overrides, and the private-directory rule.
 *
 * No state, no I/O but getenv() and stat(): the daemon (server.c,
 * registry.c, xihud.c), the internal client (client/wire.c) and through it
 * libxihu-client all call these, so they cannot disagree on where the socket
 * is or on which directories are safe.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "socket.h"

int xihu_default_socket(char *buf, size_t size)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");
	int n;
	if (rt && rt[0] == '/')
		n = snprintf(buf, size, "%s/xihu/xihud.sock", rt);
	else
		n = snprintf(buf, size, "/tmp/xihu-%lu/xihud.sock", (unsigned long)getuid());
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

const char *xihu_socket_path(const char *opt, char *buf, size_t size)
{
	if (opt)
		return opt;
	const char *env = getenv("XIHU_SOCKET");
	if (env && *env)
		return env;
	return xihu_default_socket(buf, size) ? NULL : buf;
}

int xihu_private_dir(const char *dir, char *why, size_t size)
{
	struct stat st;
	if (stat(dir, &st) < 0) {
		int e = errno;
		snprintf(why, size, "%s: %s", dir, strerror(e));
		return e == ENOENT ? XIHU_DIR_MISSING : XIHU_DIR_UNSAFE;
	}
	uid_t me = geteuid();
	if (!S_ISDIR(st.st_mode)) {
		snprintf(why, size, "%s: not a directory", dir);
		return XIHU_DIR_UNSAFE;
	}
	if (st.st_uid != me) {
		snprintf(why, size, "%s: owned by uid %lu, not by you (uid %lu)", dir,
		         (unsigned long)st.st_uid, (unsigned long)me);
		return XIHU_DIR_NOT_MINE;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(why, size, "%s: mode %04o lets %s write in it", dir,
		         (unsigned)(st.st_mode & 07777), (st.st_mode & S_IWOTH) ? "others" : "its group");
		return XIHU_DIR_WRITABLE;
	}
	return XIHU_DIR_PRIVATE;
}

void xihu_socket_dir(const char *path, char *dir, size_t size)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		snprintf(dir, size, ".");
	else if (slash == path)
		snprintf(dir, size, "/");
	else
		snprintf(dir, size, "%.*s", (int)(slash - path), path);
}
