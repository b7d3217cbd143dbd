/*
 * main.c: xihud's entry point, the top of the daemon: start-up order and
 * daemonizing.  The options are config.c's, serving is server.c's; nothing
 * calls into this file.
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
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "socket.h"
#include "xihud.h"

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

/* The index in dir, checked to be ours alone first; NULL (logged) when it
 * cannot be served. */
static xihu_index *open_index(const char *dir)
{
	xihu_index *ix = NULL;
	xihu_err err = {0};
	if (registry_check_dir(dir, &err)) {
		xihud_error("%s", err.msg);
		return NULL;
	}
	int rc = xihu_index_open(dir, &ix, &err);
	if (rc == XIHU_ENOINDEX) {
		xihud_error("%s: no index here (run xihu-index first)", dir);
		return NULL;
	}
	if (rc != XIHU_OK) {
		xihud_error("%s: %s", dir, err.msg[0] ? err.msg : xihu_strerror(rc));
		return NULL;
	}
	return ix;
}

int main(int argc, char **argv)
{
	struct xihud_config cfg;
	int status = config_parse(&cfg, argc, argv);
	if (status != CONFIG_RUN)
		return status;
	xihud_log_set_level(cfg.log_level);
	if (cfg.use_syslog)
		xihud_log_to_syslog();

	status = 2;
	char *index_dir = config_index_dir(&cfg);
	char sockbuf[256];
	const char *sp = xihu_socket_path(cfg.socket_opt, sockbuf, sizeof sockbuf);
	char *socket_path = sp ? config_absolute(sp) : NULL;
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
	/* SIGTERM, SIGINT and SIGHUP wait, blocked, until the event loop
	 * handles them (server_run unblocks them): one that came in between,
	 * with the socket in place, would end the process on the spot and
	 * leave the socket behind, refusing the next client */
	sigset_t stop_sigs;
	server_stop_signals(&stop_sigs);
	pthread_sigmask(SIG_BLOCK, &stop_sigs, NULL);
	/* Bound what malloc keeps after a big request: glibc otherwise raises its
	 * mmap threshold to the largest block freed (up to 32 MiB) and keeps up
	 * to twice that free in each thread's arena. */
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	mallopt(M_TRIM_THRESHOLD, 2 << 20);

	ix = open_index(index_dir);
	if (!ix || server_bind(&srv, &cfg, ix))
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
