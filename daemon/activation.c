/*
 * activation.c: socket activation.  xihud takes a listening socket that a
 * launcher (systemd's xihud.socket, contrib/systemd/) bound and passed down,
 * instead of binding its own.
 *
 * The protocol (sd_listen_fds(3)) is two environment variables and a fixed
 * descriptor number: LISTEN_PID names the process the sockets are meant for
 * (a launcher's child must check it is itself), LISTEN_FDS says how many
 * there are, and they start at fd 3.  That is a few lines, so there is no
 * libsystemd dependency.  LISTEN_FDNAMES is not needed: xihud listens on one
 * socket, the first.
 *
 * Invariants: an inherited fd is checked to be what xihud would have made
 * (an AF_UNIX SOCK_STREAM socket in the listening state) before it is used;
 * anything else is a start-up error, never silently ignored.  The variables
 * are unset once read, so nothing xihud starts inherits them.  The socket
 * file belongs to the launcher: server.c never removes it.
 *
 * Called once, by server_bind, before daemonizing (errors reach the terminal).
 * It calls only log.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "xihud.h"

#define LISTEN_FDS_START 3

/* A decimal number of at most max, nothing else; -1 if s is not one. */
static long parse_count(const char *s, long max)
{
	if (!s || *s < '0' || *s > '9')
		return -1;
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	return errno || *end || v > max ? -1 : v;
}

static void unset_vars(void)
{
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
}

/* The inherited fd is a Unix stream socket that listens; its name into
 * path (an abstract name as "@name"). */
static int check_socket(int fd, char *path, size_t size)
{
	int type = 0, listening = 0;
	socklen_t len = sizeof type;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0) {
		xihud_error("socket activation: fd %d: %s", fd,
		            errno == ENOTSOCK ? "not a socket"
		            : errno == EBADF  ? "not open (LISTEN_FDS is set, but no socket was passed)"
		                              : strerror(errno));
		return -1;
	}
	struct sockaddr_un sa;
	socklen_t salen = sizeof sa;
	memset(&sa, 0, sizeof sa);
	if (getsockname(fd, (struct sockaddr *)&sa, &salen) < 0) {
		xihud_error("socket activation: fd %d: %s", fd, strerror(errno));
		return -1;
	}
	if (sa.sun_family != AF_UNIX || type != SOCK_STREAM) {
		xihud_error("socket activation: fd %d: not a Unix stream socket (xihud.socket "
		            "needs ListenStream=/path)", fd);
		return -1;
	}
	len = sizeof listening;
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 || !listening) {
		xihud_error("socket activation: fd %d: the socket is not listening", fd);
		return -1;
	}
	size_t n = salen > offsetof(struct sockaddr_un, sun_path)
	                   ? salen - offsetof(struct sockaddr_un, sun_path)
	                   : 0;
	if (n == 0)
		snprintf(path, size, "(unnamed)");
	else if (sa.sun_path[0] == '\0')
		snprintf(path, size, "@%.*s", (int)(n - 1), sa.sun_path + 1);
	else
		snprintf(path, size, "%.*s", (int)strnlen(sa.sun_path, n), sa.sun_path);
	return 0;
}

int activation_listen_fd(int *fd_out)
{
	const char *pid_s = getenv("LISTEN_PID"), *fds_s = getenv("LISTEN_FDS");
	if (!pid_s || !fds_s)
		return 0;
	long pid = parse_count(pid_s, 0x7fffffff), n = parse_count(fds_s, 4096);
	if (pid < 0 || n < 0) {
		xihud_error("socket activation: LISTEN_PID=%s LISTEN_FDS=%s: expected two numbers",
		            pid_s, fds_s);
		return -1;
	}
	if (pid != (long)getpid() || n == 0)
		return 0; /* meant for another process (our parent), or no sockets */
	unset_vars();
	int fd = LISTEN_FDS_START;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 2];
	if (check_socket(fd, path, sizeof path))
		return -1;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		xihud_error("socket activation: fd %d: %s", fd, strerror(errno));
		return -1;
	}
	/* sockets past the first are not ours to serve; they must not leak
	 * into what we start */
	for (long i = 1; i < n; i++)
		fcntl(LISTEN_FDS_START + (int)i, F_SETFD, FD_CLOEXEC);
	if (n > 1)
		xihud_warn("socket activation: %ld sockets passed; serving the first, %s", n, path);
	xihud_log("socket activation: serving on %s (fd %d)", path, fd);
	*fd_out = fd;
	return 1;
}
