/*
 * wire.c: connect, send a Request frame, read a Response frame (wire.h).
 *
 * Blocking I/O on a non-blocking socket: every wait goes through poll() with
 * the time left until the call's deadline, so a wedged daemon turns into a
 * clear timeout instead of a hung client.  A response is read whole (length
 * first, checked against XIHU_MAX_RESPONSE_FRAME) before it is unpacked.
 *
 * Autostart (wire_open_autostart): when nothing answers on the socket
 * (no socket file, or a stale one), xihud is started for that socket and the
 * connection tried again.  xihud daemonizes on its own and its first process
 * exits 0 only once the daemon serves, or 2 after printing one line: so we
 * run it with its stderr on a pipe, wait for that process, and hand its line
 * on as our error.  Its stdin and stdout are /dev/null: a script reading our
 * stdout sees nothing of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "socket.h"
#include "wire.h"

static int fail(wire_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(wire_conn *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof c->err, fmt, ap);
	va_end(ap);
	return -1;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for events on c->fd until deadline (-1: forever).  0 when ready. */
static int wait_fd(wire_conn *c, short events, int64_t deadline, const char *doing)
{
	for (;;) {
		int ms = -1;
		if (deadline >= 0) {
			int64_t left = deadline - now_ms();
			if (left <= 0)
				return fail(c, "%s %s: timed out", doing, c->path);
			ms = left > 1000000 ? 1000000 : (int)left;
		}
		struct pollfd p = {.fd = c->fd, .events = events};
		int r = poll(&p, 1, ms);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return fail(c, "%s %s: %s", doing, c->path, strerror(errno));
	}
}

/* The process that listens on c->fd's socket must run as we do (the socket
 * file could have been swapped since the directory was checked): until it
 * is known to, not a byte is sent.  0, or -1 with the connection closed. */
static int check_peer(wire_conn *c)
{
	struct ucred cred;
	socklen_t len = sizeof cred;
	int rc = 0;
	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		rc = fail(c, "connecting to %s: cannot tell who listens there: %s", c->path,
		          strerror(errno));
	else if (cred.uid != geteuid())
		rc = fail(c, "%s: the process listening there (pid %ld) runs as uid %lu, not as you "
		             "(uid %lu); refusing to send it anything (stop it, or choose another "
		             "socket with --socket or XIHU_SOCKET)",
		          c->path, (long)cred.pid, (unsigned long)cred.uid, (unsigned long)geteuid());
	if (rc) {
		close(c->fd);
		c->fd = -1;
	}
	return rc;
}

/* wire_open, returning 0, the errno of a failed connect(), or -1 for
 * any other failure; c->err is set when it fails. */
static int try_open(wire_conn *c, const char *path)
{
	memset(c, 0, sizeof *c);
	c->fd = -1;
	c->timeout_ms = WIRE_REQUEST_TIMEOUT_MS;
	c->next_id = 1;
	snprintf(c->path, sizeof c->path, "%s", path);

	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path)
		return fail(c, "cannot connect to %s: socket path too long (at most %zu bytes)",
		            path, sizeof sa.sun_path - 1);
	memcpy(sa.sun_path, path, strlen(path) + 1);

	/* whoever can write in the socket's directory can put a listener of
	 * their own there: talk only through a directory that is ours alone */
	char dir[sizeof sa.sun_path], why[sizeof c->err - 160];
	xihu_socket_dir(path, dir, sizeof dir);
	switch (xihu_private_dir(dir, why, sizeof why)) {
	case XIHU_DIR_PRIVATE:
		break;
	case XIHU_DIR_MISSING: /* no daemon yet: autostart makes the directory 0700 */
		fail(c, "cannot connect to %s: %s (is xihud running? start it with: xihud)", path,
		     strerror(ENOENT));
		return ENOENT;
	case XIHU_DIR_NOT_MINE:
		return fail(c, "%s; refusing to talk to a daemon there (remove it, or choose a socket "
		               "in a directory of your own with --socket or XIHU_SOCKET)", why);
	case XIHU_DIR_WRITABLE:
		return fail(c, "%s; refusing to talk to a daemon there (chmod go-w %s, or choose a "
		               "socket in a directory of your own)", why, dir);
	default:
		return fail(c, "%s; refusing to talk to a daemon there", why);
	}

	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		return fail(c, "socket: %s", strerror(errno));
	int64_t deadline = now_ms() + WIRE_CONNECT_TIMEOUT_MS;
	for (;;) {
		if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) == 0)
			return check_peer(c);
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EINPROGRESS) {
			/* the listen backlog is full: a busy daemon, retry briefly */
			if (now_ms() >= deadline)
				break;
			usleep(10000);
			continue;
		}
		break;
	}
	int e = errno == EAGAIN || errno == EINPROGRESS ? ETIMEDOUT : errno;
	close(c->fd);
	c->fd = -1;
	if (e == ENOENT || e == ECONNREFUSED)
		fail(c, "cannot connect to %s: %s (is xihud running? start it with: xihud)", path,
		     strerror(e));
	else
		fail(c, "cannot connect to %s: %s", path, strerror(e));
	return e;
}

int wire_open(wire_conn *c, const char *path)
{
	return try_open(c, path) ? -1 : 0;
}

/* ---- autostart ------------------------------------------------------------ */

/* Where xihud is: $XIHUD, else next to the running program, else
 * ../daemon/xihud from it (the build tree), else "xihud" on PATH. */
static const char *find_xihud(char *buf, size_t size)
{
	const char *env = getenv("XIHUD");
	if (env && *env)
		return env;
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	char *slash = n > 0 ? memrchr(self, '/', (size_t)n) : NULL;
	if (slash) {
		*slash = '\0';
		static const char *const near[] = {"xihud", "../daemon/xihud"};
		for (size_t i = 0; i < sizeof near / sizeof near[0]; i++) {
			int m = snprintf(buf, size, "%s/%s", self, near[i]);
			if (m > 0 && (size_t)m < size && access(buf, X_OK) == 0)
				return buf;
		}
	}
	return "xihud";
}

/* The last non-empty line of text, without a leading "xihud: ". */
static const char *last_line(char *text)
{
	size_t n = strlen(text);
	while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		text[--n] = '\0';
	char *line = memrchr(text, '\n', n);
	line = line ? line + 1 : text;
	if (!strncmp(line, "xihud: ", 7))
		line += 7;
	return line;
}

/* Runs xihud --socket path [--index index_dir] and waits (at most
 * WIRE_AUTOSTART_TIMEOUT_MS) until it has daemonized and serves; when it
 * fails, err is xihud's own last line. */
static int start_daemon(wire_conn *c, const char *path, const char *index_dir)
{
	char binbuf[PATH_MAX];
	const char *bin = find_xihud(binbuf, sizeof binbuf);
	const char *argv[] = {bin, "--socket", path, index_dir ? "--index" : NULL, index_dir, NULL};
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return fail(c, "starting xihud: pipe: %s", strerror(errno));
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	extern char **environ;
	pid_t pid;
	int e = posix_spawnp(&pid, bin, &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (e) {
		close(p[0]);
		return fail(c, "starting xihud: %s: %s (set XIHUD to its path)", bin, strerror(e));
	}

	/* its stderr until every copy of the pipe is closed: the first process
	 * has exited and the daemon has detached from it */
	char out[1024];
	size_t len = 0;
	int64_t deadline = now_ms() + WIRE_AUTOSTART_TIMEOUT_MS;
	bool eof = false;
	while (!eof) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			break;
		struct pollfd pf = {.fd = p[0], .events = POLLIN};
		int r = poll(&pf, 1, (int)left);
		if (r < 0 && errno != EINTR)
			break;
		if (r <= 0)
			continue;
		if (len == sizeof out - 1) { /* full: keep the end, the error is the last line */
			memmove(out, out + len / 2, len - len / 2);
			len -= len / 2;
		}
		ssize_t got = read(p[0], out + len, sizeof out - 1 - len);
		if (got > 0)
			len += (size_t)got;
		else if (got == 0 || (errno != EINTR && errno != EAGAIN))
			eof = true;
	}
	close(p[0]);
	out[len] = '\0';
	int status;
	pid_t w;
	do
		w = waitpid(pid, &status, eof ? 0 : WNOHANG);
	while (w < 0 && errno == EINTR);
	if (w == 0)
		return fail(c, "starting xihud: no answer in %d s (it may still be starting)",
		            WIRE_AUTOSTART_TIMEOUT_MS / 1000);
	if (w < 0)
		return fail(c, "starting xihud: waitpid: %s", strerror(errno));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	const char *line = last_line(out);
	if (*line)
		return fail(c, "starting xihud: %s", line);
	if (WIFSIGNALED(status))
		return fail(c, "starting xihud: %s killed by signal %d", bin, WTERMSIG(status));
	return fail(c, "starting xihud: %s exited with status %d", bin, WEXITSTATUS(status));
}

int wire_open_autostart(wire_conn *c, const char *path, const char *index_dir)
{
	int e = try_open(c, path);
	if (e != ENOENT && e != ECONNREFUSED)
		return e ? -1 : 0;
	if (start_daemon(c, path, index_dir)) {
		/* another client may have started one first: ours then refused */
		char err[sizeof c->err];
		memcpy(err, c->err, sizeof err);
		if (try_open(c, path) == 0)
			return 0;
		memcpy(c->err, err, sizeof err);
		return -1;
	}
	/* it serves once its first process exits 0; a little slack all the same */
	int64_t deadline = now_ms() + WIRE_CONNECT_TIMEOUT_MS;
	while ((e = try_open(c, path)) == ENOENT || e == ECONNREFUSED) {
		if (now_ms() >= deadline)
			return -1;
		usleep(20000);
	}
	return e ? -1 : 0;
}

void wire_close(wire_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int64_t deadline_of(const wire_conn *c)
{
	return c->timeout_ms > 0 ? now_ms() + c->timeout_ms : -1;
}

static int write_all(wire_conn *c, const uint8_t *p, size_t n, int64_t deadline)
{
	while (n > 0) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(c, POLLOUT, deadline, "sending to"))
				return -1;
		} else {
			return fail(c, "sending to %s: %s", c->path, strerror(errno));
		}
	}
	return 0;
}

static int read_all(wire_conn *c, uint8_t *p, size_t n, int64_t deadline)
{
	while (n > 0) {
		ssize_t r = recv(c->fd, p, n, 0);
		if (r > 0) {
			p += r;
			n -= (size_t)r;
		} else if (r == 0) {
			return fail(c, "reading from %s: the daemon closed the connection", c->path);
		} else if (errno == EAGAIN || errno == EINTR) {
			if (wait_fd(c, POLLIN, deadline, "reading from"))
				return -1;
		} else {
			return fail(c, "reading from %s: %s", c->path, strerror(errno));
		}
	}
	return 0;
}

int wire_send(wire_conn *c, Xihu__Request *req)
{
	if (c->fd < 0)
		return fail(c, "sending: not connected");
	req->id = c->next_id++;
	req->version = XIHU_PROTO_VERSION;
	size_t n = xihu__request__get_packed_size(req);
	if (n == 0 || n > XIHU_MAX_REQUEST_FRAME)
		return fail(c, "request of %zu bytes: over the %u byte frame limit", n,
		            XIHU_MAX_REQUEST_FRAME);
	uint8_t *buf = malloc(XIHU_FRAME_HEADER + n);
	if (!buf)
		return fail(c, "request: out of memory");
	frame_put_len(buf, (uint32_t)n);
	xihu__request__pack(req, buf + XIHU_FRAME_HEADER);
	int rc = write_all(c, buf, XIHU_FRAME_HEADER + n, deadline_of(c));
	free(buf);
	return rc;
}

/* Receives into rbuf once more (waiting first: an answer is rarely there
 * the moment a request has gone out, and a recv() saying EAGAIN costs a
 * system call for nothing). */
static int fill(wire_conn *c, int64_t deadline)
{
	for (;;) {
		if (wait_fd(c, POLLIN, deadline, "reading from"))
			return -1;
		ssize_t r = recv(c->fd, c->rbuf + c->rlen, sizeof c->rbuf - c->rlen, 0);
		if (r > 0) {
			c->rlen += (uint32_t)r;
			return 0;
		}
		if (r == 0)
			return fail(c, "reading from %s: the daemon closed the connection", c->path);
		if (errno != EAGAIN && errno != EINTR)
			return fail(c, "reading from %s: %s", c->path, strerror(errno));
	}
}

/* Waits for the next frame's header in rbuf; *n: its length, checked
 * against XIHU_MAX_RESPONSE_FRAME. */
static int next_len(wire_conn *c, int64_t deadline, uint32_t *n)
{
	if (c->fd < 0)
		return fail(c, "reading: not connected");
	while (c->rlen < XIHU_FRAME_HEADER)
		if (fill(c, deadline))
			return -1;
	*n = frame_get_len(c->rbuf);
	if (*n == 0 || *n > XIHU_MAX_RESPONSE_FRAME)
		return fail(c, "reading from %s: bad frame length %u (limit %u)", c->path, *n,
		            XIHU_MAX_RESPONSE_FRAME);
	return 0;
}

/* The n bytes of the frame whose header starts rbuf, whole: in rbuf when
 * they fit there (*data points there; drop_frame once they are used), else
 * in *buf, grown to *cap >= n, received straight into it past what rbuf
 * held. */
static int frame_bytes(wire_conn *c, uint32_t n, int64_t deadline, uint8_t **buf, size_t *cap,
                       const uint8_t **data)
{
	if ((size_t)n + XIHU_FRAME_HEADER <= sizeof c->rbuf) {
		while (c->rlen < n + XIHU_FRAME_HEADER)
			if (fill(c, deadline))
				return -1;
		*data = c->rbuf + XIHU_FRAME_HEADER;
		return 0;
	}
	if (*cap < n) {
		uint8_t *b = realloc(*buf, n);
		if (!b)
			return fail(c, "response of %u bytes: out of memory", n);
		*buf = b;
		*cap = n;
	}
	uint32_t have = c->rlen - XIHU_FRAME_HEADER; /* < n: the buffer is smaller than the frame */
	memcpy(*buf, c->rbuf + XIHU_FRAME_HEADER, have);
	c->rlen = 0;
	*data = *buf;
	return read_all(c, *buf + have, n - have, deadline);
}

/* Drops the frame of n bytes at the front of rbuf. */
static void drop_frame(wire_conn *c, uint32_t n)
{
	c->rlen -= n + XIHU_FRAME_HEADER;
	memmove(c->rbuf, c->rbuf + n + XIHU_FRAME_HEADER, c->rlen);
}

int wire_recv(wire_conn *c, Xihu__Response **out)
{
	*out = NULL;
	int64_t deadline = deadline_of(c);
	uint32_t n = 0;
	uint8_t *buf = NULL;
	size_t cap = 0;
	const uint8_t *data;
	if (next_len(c, deadline, &n) || frame_bytes(c, n, deadline, &buf, &cap, &data)) {
		free(buf);
		return -1;
	}
	*out = xihu__response__unpack(NULL, n, data);
	if (data != buf)
		drop_frame(c, n);
	free(buf);
	if (!*out)
		return fail(c, "reading from %s: the response does not unpack", c->path);
	return 0;
}

int wire_recv_bytes(wire_conn *c, uint8_t **buf, size_t *cap, uint32_t *n)
{
	int64_t deadline = deadline_of(c);
	const uint8_t *data;
	*n = 0;
	if (next_len(c, deadline, n) || frame_bytes(c, *n, deadline, buf, cap, &data))
		return -1;
	if (data == *buf)
		return 0;
	if (*cap < *n) { /* a small frame, copied out of rbuf */
		uint8_t *b = realloc(*buf, *n);
		if (!b)
			return fail(c, "response of %u bytes: out of memory", *n);
		*buf = b;
		*cap = *n;
	}
	memcpy(*buf, data, *n);
	drop_frame(c, *n);
	return 0;
}

int wire_call(wire_conn *c, Xihu__Request *req, Xihu__Response **out)
{
	*out = NULL;
	if (wire_send(c, req) || wire_recv(c, out))
		return -1;
	/* id 0: the daemon could not read our request (a bad frame) */
	uint64_t got = (*out)->id;
	if (got != req->id && got != 0) {
		xihu__response__free_unpacked(*out, NULL);
		*out = NULL;
		return fail(c, "reading from %s: response id %llu does not match request %llu",
		            c->path, (unsigned long long)got, (unsigned long long)req->id);
	}
	return 0;
}

const char *wire_error_name(int code)
{
	const ProtobufCEnumValue *v =
	    protobuf_c_enum_descriptor_get_value(&xihu__error_code__descriptor, code);
	return v ? v->name : "E_UNKNOWN";
}
