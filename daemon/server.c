/*
 * server.c: the listening socket, the connection list, the index snapshot and
 * the daemon's lifecycle.
 *
 * Socket path handling (server_bind, before daemonizing so errors reach the
 * terminal): missing directories are created 0700; a directory owned by
 * another (non-root) user is refused; an existing socket that a live daemon
 * answers on is refused, a stale one (connection refused) is removed; the new
 * socket is bound under umask 0177 so it is 0600 from birth.  With socket
 * activation (activation.c) none of that happens: the inherited listening
 * socket is served as it is, and its file is never removed.
 *
 * Accepting: peers with another uid are refused (SO_PEERCRED); past
 * --max-connections a client gets an E_LIMIT answer and is closed; when
 * accept() runs out of file descriptors the listener is paused for
 * ACCEPT_BACKOFF_MS instead of spinning or exiting.
 *
 * Index snapshot: srv->ix is the index new requests are served from (only
 * the loop thread touches it).  Every CHECK_INTERVAL_MS, xihu_index_changed()
 * asks whether a newer one was committed; if so, or on SIGHUP, a reload
 * thread opens it with xihu_index_reopen() (which checksums only segments not
 * seen before, but that can still be a big merged one) and hands it back
 * through an eventfd; the loop swaps it in.  Serving never waits for an open.
 * Each request holds its own reference, so the old index lives (mapped)
 * until the last request on it finishes, on whichever thread that is.  A
 * commit that fails to open (corrupt, or its files already replaced by the
 * next commit) is reported once and retried after a delay that doubles from
 * CHECK_INTERVAL_MS to RETRY_MAX_MS, while the previous index goes on serving.
 *
 * Live sync (sync.c) runs in its own thread and commits through the index
 * directory like xihu-index; the reload check above serves its commits.
 *
 * Shutdown (SIGTERM, SIGINT, a Stop request): close and remove the listening
 * socket, let every connection answer what it already received in full and
 * flush, then leave the loop when the last one is gone (or after
 * STOP_GRACE_S for clients that never read).
 *
 * Wiring: the server owns the loop, the pool, the connections, the live
 * sync and the registry, and is the one that ties them together: the pool
 * runs jobs with serve_job (the handler) and hands them back to
 * conn_job_done; every connection gets srv->owner, whose callbacks give a
 * job its context, say the connection is gone, or pass a Stop request on.
 * Nothing below calls back into this file by name.  Called by main:
 * server_bind, server_run, server_free.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "frame.h"
#include "xihu.pb-c.h"
#include "socket.h"
#include "xihud.h"

#define CHECK_INTERVAL_MS 200
#define RETRY_MAX_MS 5000
#define ACCEPT_BACKOFF_MS 100
#define ACCEPT_BATCH 64 /* accepts per callback, so one busy listener cannot starve */
#define STOP_GRACE_S 10

struct server {
	const struct xihud_config *cfg;
	struct event_base *base;
	int lfd;
	dev_t sock_dev; /* the socket file we created: only that one is removed */
	ino_t sock_ino;
	bool sock_inherited; /* socket activation: the launcher owns the socket file */
	struct event *ev_accept, *ev_backoff, *ev_grace;
	struct event *ev_sigterm, *ev_sigint, *ev_sighup;

	struct pool *pool;
	struct sync *sync; /* live sync; NULL with --no-sync */
	struct registry *reg; /* the indexes served besides srv->ix (registry.c) */
	xihu_index *ix;
	struct event *ev_check;
	uint64_t retry_after_ms; /* no automatic reload before this (after a failure) */
	uint64_t retry_delay_ms; /* the next delay after a failure */
	char last_reload_error[512];

	/* the reload thread: from (a reference) -> result, rc, err */
	pthread_t reload_thread;
	bool reloading, reload_again;
	const char *reload_why;
	int reload_efd;
	struct event *ev_reload;
	xihu_index *reload_from, *reload_result;
	int reload_rc;
	xihu_err reload_err;
	xihu_limits limits;
	struct stats stats;

	struct conn_owner owner; /* what every connection gets from us */
	struct conn **conns;
	unsigned nconns, conns_cap;
	uint64_t serial;

	bool stopping;
	uint64_t started_ms;
	pid_t pid;
};

/* ---- the socket path ---------------------------------------------------- */

/* mkdir -p of dir; created components are 0700. */
static int make_dirs(const char *dir)
{
	char p[sizeof(((struct sockaddr_un *)0)->sun_path)];
	snprintf(p, sizeof p, "%s", dir);
	for (char *s = p + 1;; s++) {
		char c = *s;
		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST) {
			xihud_error("%s: cannot create the socket directory: %s", p, strerror(errno));
			return -1;
		}
		*s = c;
		if (!c)
			break;
	}
	/* a directory others can write in lets them swap the socket for theirs:
	 * clients refuse such a directory, so the daemon does too */
	char why[sizeof p + 128];
	switch (xihu_private_dir(dir, why, sizeof why)) {
	case XIHU_DIR_PRIVATE:
		return 0;
	case XIHU_DIR_WRITABLE:
		xihud_error("%s; refusing to put the socket there (chmod go-w %s)", why, dir);
		return -1;
	default:
		xihud_error("%s; refusing to put the socket there", why);
		return -1;
	}
}

/* 1: a daemon answers on path; 0: stale socket; -1: error (printed). */
static int probe_live(const struct sockaddr_un *sa, const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		xihud_error("socket: %s", strerror(errno));
		return -1;
	}
	int rc = connect(fd, (const struct sockaddr *)sa, sizeof *sa);
	int e = errno;
	close(fd);
	if (rc == 0 || e == EAGAIN || e == EINPROGRESS)
		return 1; /* accepted, or a full backlog: someone is listening */
	if (e == ECONNREFUSED)
		return 0;
	xihud_error("%s: cannot probe the existing socket: %s", path, strerror(e));
	return -1;
}

void server_stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
}

int server_bind(struct server **out, const struct xihud_config *cfg, xihu_index *ix)
{
	const char *path = cfg->socket_path;
	struct stat st = {0};
	int fd = -1;
	int inherited = activation_listen_fd(&fd);
	if (inherited < 0)
		return -1;
	if (inherited)
		goto adopt; /* fd 3 already listens (activation.c): nothing to bind */
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path) {
		xihud_error("%s: socket path too long (at most %zu bytes)", path,
		            sizeof sa.sun_path - 1);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);

	/* the directory clients will judge: "." and "/" too, not only those
	 * make_dirs has to create */
	char dir[sizeof sa.sun_path];
	xihu_socket_dir(path, dir, sizeof dir);
	if (make_dirs(dir))
		return -1;

	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			xihud_error("%s: exists and is not a socket; refusing to replace it", path);
			return -1;
		}
		int live = probe_live(&sa, path);
		if (live < 0)
			return -1;
		if (live) {
			xihud_error("%s: a daemon is already listening there (stop it with: xihu stop)",
			            path);
			return -1;
		}
		if (unlink(path) < 0 && errno != ENOENT) {
			xihud_error("%s: cannot remove the stale socket: %s", path, strerror(errno));
			return -1;
		}
	}

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		xihud_error("socket: %s", strerror(errno));
		return -1;
	}
	/* bound and listening under a temporary name, then renamed into place:
	 * a client that sees the socket can connect (no window between bind
	 * and listen in which it would be refused) */
	struct sockaddr_un tmp = sa;
	int n = snprintf(tmp.sun_path, sizeof tmp.sun_path, "%s.%ld.tmp", path, (long)getpid());
	bool renamed = n > 0 && (size_t)n < sizeof tmp.sun_path;
	if (!renamed)
		tmp = sa;
	else
		unlink(tmp.sun_path); /* a leftover of a crashed start with our pid */
	mode_t old = umask(0177);
	int rc = bind(fd, (struct sockaddr *)&tmp, sizeof tmp);
	int e = errno;
	umask(old);
	if (rc < 0) {
		xihud_error("%s: cannot bind: %s", tmp.sun_path, strerror(e));
		close(fd);
		return -1;
	}
	if (chmod(tmp.sun_path, 0600) < 0 || listen(fd, SOMAXCONN) < 0 ||
	    (renamed && rename(tmp.sun_path, path) < 0) || stat(path, &st) < 0) {
		xihud_error("%s: cannot listen: %s", path, strerror(errno));
		close(fd);
		unlink(tmp.sun_path);
		return -1;
	}

adopt:;
	struct server *srv = calloc(1, sizeof *srv);
	if (!srv) {
		xihud_error("start-up: out of memory");
		close(fd);
		if (!inherited)
			unlink(path);
		return -1;
	}
	srv->cfg = cfg;
	srv->lfd = fd;
	srv->reload_efd = -1;
	srv->sock_dev = st.st_dev;
	srv->sock_ino = st.st_ino;
	srv->sock_inherited = inherited;
	srv->ix = ix;
	xihu_limits_default(&srv->limits);
	if (cfg->max_results)
		srv->limits.max_hits = cfg->max_results;
	stats_init(&srv->stats);
	*out = srv;
	return 0;
}

/* Removes the socket file if it is still the one we bound (an inherited
 * one stays: its launcher, systemd, owns it and listens on it again). */
static void remove_socket(struct server *srv)
{
	struct stat st;
	const char *path = srv->cfg->socket_path;
	if (srv->sock_inherited)
		return;
	if (lstat(path, &st) == 0 && st.st_dev == srv->sock_dev && st.st_ino == srv->sock_ino)
		unlink(path);
}

/* ---- accepting ------------------------------------------------------------ */

/* Best effort, never blocks: the socket is non-blocking and fresh. */
static void refuse_with(int fd, int code, const char *msg)
{
	struct reply r = {0};
	reply_error(0, code, msg, &r);
	if (r.len) {
		ssize_t w = send(fd, r.buf, r.len, MSG_NOSIGNAL | MSG_DONTWAIT);
		(void)w;
	}
	reply_free(&r);
	close(fd);
}

static bool peer_allowed(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof cred;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		xihud_log("SO_PEERCRED: %s", strerror(errno));
		return false;
	}
	if (cred.uid != geteuid()) {
		xihud_log("refused a connection from uid %lu (pid %ld)", (unsigned long)cred.uid,
		          (long)cred.pid);
		return false;
	}
	return true;
}

static void backoff_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct server *srv = arg;
	if (!srv->stopping)
		event_add(srv->ev_accept, NULL);
}

static void add_conn(struct server *srv, struct conn *c)
{
	if (srv->nconns == srv->conns_cap) {
		unsigned cap = srv->conns_cap ? srv->conns_cap * 2 : 16;
		struct conn **p = realloc(srv->conns, cap * sizeof *p);
		if (!p) {
			conn_free(c); /* conn_free tells conn_closed: not found, fine */
			return;
		}
		srv->conns = p;
		srv->conns_cap = cap;
	}
	srv->conns[srv->nconns++] = c;
}

static void accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	(void)what;
	struct server *srv = arg;
	for (int i = 0; i < ACCEPT_BATCH && !srv->stopping; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* out of descriptors or memory: pause instead of spinning */
				xihud_log("accept: %s; pausing %d ms", strerror(errno), ACCEPT_BACKOFF_MS);
				event_del(srv->ev_accept);
				struct timeval tv = {0, ACCEPT_BACKOFF_MS * 1000};
				evtimer_add(srv->ev_backoff, &tv);
			} else if (errno != EAGAIN) {
				xihud_log("accept: %s", strerror(errno));
			}
			return;
		}
		if (!peer_allowed(fd)) {
			close(fd);
			continue;
		}
		if (srv->nconns >= srv->cfg->max_connections) {
			char msg[128];
			snprintf(msg, sizeof msg, "too many connections: the limit is %u (--max-connections)",
			         srv->cfg->max_connections);
			xihud_log("%s", msg);
			refuse_with(fd, XIHU__ERROR_CODE__E_LIMIT, msg);
			continue;
		}
		struct conn *c = conn_new(&srv->owner, fd, ++srv->serial);
		if (!c) {
			refuse_with(fd, XIHU__ERROR_CODE__E_INTERNAL, "connection: out of memory");
			continue;
		}
		xihud_log("connection %llu: accepted", (unsigned long long)srv->serial);
		add_conn(srv, c);
	}
}

/* The connections' closed callback: c is being freed. */
static void conn_closed(void *arg, struct conn *c)
{
	struct server *srv = arg;
	for (unsigned i = 0; i < srv->nconns; i++) {
		if (srv->conns[i] == c) {
			srv->conns[i] = srv->conns[--srv->nconns];
			break;
		}
	}
	if (srv->stopping && srv->nconns == 0)
		event_base_loopexit(srv->base, NULL);
}

/* ---- the index snapshot ---------------------------------------------------- */

static void *reload_main(void *arg)
{
	struct server *srv = arg;
	srv->reload_result = NULL;
	memset(&srv->reload_err, 0, sizeof srv->reload_err);
	srv->reload_rc = xihu_index_reopen(srv->reload_from, &srv->reload_result, &srv->reload_err);
	uint64_t one = 1;
	ssize_t w = write(srv->reload_efd, &one, sizeof one);
	(void)w;
	return NULL;
}

/* Starts opening the newest commit on the reload thread (or notes that
 * another reload is wanted once the running one is done). */
static void start_reload(struct server *srv, const char *why)
{
	if (srv->reloading) {
		srv->reload_again = true;
		srv->reload_why = why;
		return;
	}
	srv->reload_from = xihu_index_ref(srv->ix);
	srv->reload_why = why;
	int e = pthread_create(&srv->reload_thread, NULL, reload_main, srv);
	if (e) {
		xihu_index_unref(srv->reload_from);
		srv->reload_from = NULL;
		xihud_error("%s: reload: cannot start a thread: %s", srv->cfg->index_dir, strerror(e));
		srv->retry_after_ms = xihud_now_ms() + RETRY_MAX_MS;
		return;
	}
	srv->reloading = true;
}

/* The reload thread is done: swap the new index in, or say why not. */
static void reload_done_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct server *srv = arg;
	uint64_t n;
	ssize_t r = read(fd, &n, sizeof n);
	(void)r;
	if (!srv->reloading)
		return;
	pthread_join(srv->reload_thread, NULL);
	srv->reloading = false;
	xihu_index_unref(srv->reload_from);
	srv->reload_from = NULL;
	const char *dir = srv->cfg->index_dir;
	if (srv->reload_rc != XIHU_OK) {
		const xihu_err *err = &srv->reload_err;
		/* say it once per distinct failure, keep serving the old index */
		if (strcmp(err->msg, srv->last_reload_error) != 0) {
			xihud_error("%s: reload failed, still serving the previous index: %s", dir,
			            err->msg[0] ? err->msg : xihu_strerror(srv->reload_rc));
			snprintf(srv->last_reload_error, sizeof srv->last_reload_error, "%s", err->msg);
		}
		srv->retry_delay_ms = srv->retry_delay_ms ? srv->retry_delay_ms * 2 : CHECK_INTERVAL_MS;
		if (srv->retry_delay_ms > RETRY_MAX_MS)
			srv->retry_delay_ms = RETRY_MAX_MS;
		srv->retry_after_ms = xihud_now_ms() + srv->retry_delay_ms;
	} else {
		srv->last_reload_error[0] = '\0';
		srv->retry_after_ms = srv->retry_delay_ms = 0;
		xihu_index_stats st;
		xihu_index_get_stats(srv->reload_result, &st);
		xihud_log("%s: loaded generation %llu (%s)", dir, (unsigned long long)st.generation,
		          srv->reload_why);
		xihu_index_unref(srv->ix);
		srv->ix = srv->reload_result;
		srv->reload_result = NULL;
	}
	if (srv->reload_again && !srv->stopping) {
		srv->reload_again = false;
		start_reload(srv, srv->reload_why);
	}
}

static void check_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct server *srv = arg;
	if (srv->reloading || srv->stopping || xihud_now_ms() < srv->retry_after_ms)
		return;
	bool changed = false;
	xihu_err err = {0};
	if (xihu_index_changed(srv->ix, &changed, &err) == XIHU_OK && changed)
		start_reload(srv, "a newer index was committed");
}

/* The connections' fill_ctx callback: the daemon-wide parts of a request's
 * context, and a reference to the index snapshot new requests are served from. */
static void server_fill_ctx(void *arg, struct handler_ctx *ctx)
{
	struct server *srv = arg;
	memset(ctx, 0, sizeof *ctx);
	ctx->limits = &srv->limits;
	ctx->stats = &srv->stats;
	ctx->uptime_s = (xihud_now_ms() - srv->started_ms) / 1000u;
	ctx->connections = srv->nconns;
	ctx->pid = (uint32_t)srv->pid;
	ctx->sync = srv->sync;
	ctx->reg = srv->reg;
	ctx->received_ns = xihud_now_ns();
	ctx->timeout_ms = srv->cfg->request_timeout_ms;
	ctx->ix = xihu_index_ref(srv->ix);
}

/* ---- lifecycle ------------------------------------------------------------- */

static void grace_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct server *srv = arg;
	xihud_log("%u connections did not drain in %d s; closing them", srv->nconns, STOP_GRACE_S);
	while (srv->nconns)
		conn_free(srv->conns[srv->nconns - 1]);
	event_base_loopexit(srv->base, NULL);
}

/* Stop accepting, let the connections finish what they received, remove
 * the socket; the loop ends with the last connection (or STOP_GRACE_S). */
static void server_stop(struct server *srv, const char *why)
{
	if (srv->stopping)
		return;
	srv->stopping = true;
	xihud_log("stopping (%s)", why);
	event_del(srv->ev_accept);
	event_del(srv->ev_backoff);
	close(srv->lfd);
	srv->lfd = -1;
	remove_socket(srv);

	/* shutting one down may free it (and only it): walk a copy */
	unsigned n = srv->nconns;
	struct conn **all = n ? malloc(n * sizeof *all) : NULL;
	if (n && !all) {
		while (srv->nconns)
			conn_free(srv->conns[srv->nconns - 1]);
	} else if (n) {
		memcpy(all, srv->conns, n * sizeof *all);
		for (unsigned i = 0; i < n; i++)
			conn_shutdown(all[i]);
		free(all);
	}
	if (srv->nconns == 0) {
		event_base_loopexit(srv->base, NULL);
	} else {
		struct timeval tv = {STOP_GRACE_S, 0};
		evtimer_add(srv->ev_grace, &tv);
	}
}

/* The connections' stop callback: a Stop request was answered. */
static void stop_requested(void *arg, const char *why)
{
	server_stop(arg, why);
}

/* The pool's run callback, on a worker or (within budget_ns) on the loop
 * thread: the handler answers the job's request. */
/* A stream queued frames: the loop sends them (conn_job_progress). */
static void stream_wake(void *arg)
{
	struct job *j = arg;
	pool_progress(j->pool, j);
}

/* A streamed answer's own thread: makes it, then hands the job back. */
static void *stream_main(void *arg)
{
	struct job *j = arg;
	j->act = handler_serve(&j->ctx, j->frame, j->len, &j->out);
	pool_job_finish(j->pool, j);
	return NULL;
}

/* The pool's run callback.  A streamed answer (grep) may take as long as
 * its client takes to read it: it gets a thread of its own, so a slow
 * reader never holds a worker that searches wait for (on the worker
 * itself only when POOL_MAX_DETACHED streams are already running). */
static int serve_job(struct job *j, uint64_t budget_ns)
{
	j->ctx.budget_ns = budget_ns;
	j->act = handler_serve(&j->ctx, j->frame, j->len, &j->out);
	j->ctx.budget_ns = 0;
	if (j->act == HANDLER_RETRY)
		return RUN_RETRY;
	if (j->act != HANDLER_STREAM)
		return RUN_ANSWERED;
	j->stream = stream_new(&j->cancelled, stream_wake, j);
	if (!j->stream) {
		reply_error(0, XIHU__ERROR_CODE__E_INTERNAL, "grep: out of memory", &j->out);
		j->act = HANDLER_CLOSE;
		return RUN_ANSWERED;
	}
	j->ctx.push = stream_push;
	j->ctx.push_arg = j->stream;
	if (pool_try_detach(j->pool)) {
		pthread_attr_t a;
		pthread_attr_init(&a);
		pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
		pthread_t t;
		int e = pthread_create(&t, &a, stream_main, j);
		pthread_attr_destroy(&a);
		if (e == 0)
			return RUN_DETACHED;
		pool_detach_failed(j->pool);
	}
	j->act = handler_serve(&j->ctx, j->frame, j->len, &j->out);
	return RUN_ANSWERED;
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	struct server *srv = arg;
	if (sig == SIGHUP)
		start_reload(srv, "SIGHUP");
	else
		server_stop(srv, sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

int server_run(struct server *srv, int ready_fd)
{
	srv->pid = getpid();
	srv->started_ms = xihud_now_ms();
	srv->base = event_base_new();
	if (!srv->base) {
		xihud_error("event_base_new: out of memory");
		return -1;
	}
	srv->ev_accept = event_new(srv->base, srv->lfd, EV_READ | EV_PERSIST, accept_cb, srv);
	srv->ev_backoff = evtimer_new(srv->base, backoff_cb, srv);
	srv->ev_grace = evtimer_new(srv->base, grace_cb, srv);
	srv->ev_sigterm = evsignal_new(srv->base, SIGTERM, signal_cb, srv);
	srv->ev_sigint = evsignal_new(srv->base, SIGINT, signal_cb, srv);
	srv->ev_sighup = evsignal_new(srv->base, SIGHUP, signal_cb, srv);
	srv->ev_check = event_new(srv->base, -1, EV_PERSIST, check_cb, srv);
	srv->reload_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (srv->reload_efd >= 0)
		srv->ev_reload = event_new(srv->base, srv->reload_efd, EV_READ | EV_PERSIST,
		                           reload_done_cb, srv);
	struct timeval check = {0, CHECK_INTERVAL_MS * 1000};
	if (!srv->ev_check || !srv->ev_reload || event_add(srv->ev_check, &check) < 0 ||
	    event_add(srv->ev_reload, NULL) < 0) {
		xihud_error("event loop set-up failed");
		return -1;
	}
	if (!srv->ev_accept || !srv->ev_backoff || !srv->ev_grace || !srv->ev_sigterm ||
	    !srv->ev_sigint || !srv->ev_sighup || event_add(srv->ev_accept, NULL) < 0 ||
	    evsignal_add(srv->ev_sigterm, NULL) < 0 || evsignal_add(srv->ev_sigint, NULL) < 0 ||
	    evsignal_add(srv->ev_sighup, NULL) < 0) {
		xihud_error("event loop set-up failed");
		return -1;
	}
	/* handled from here on: one that came since main blocked them is
	 * delivered now, and stops the loop gracefully */
	sigset_t stop_sigs;
	server_stop_signals(&stop_sigs);
	pthread_sigmask(SIG_UNBLOCK, &stop_sigs, NULL);
	srv->pool = pool_new(srv->base, srv->cfg->threads, serve_job, conn_job_done, conn_job_progress);
	if (!srv->pool)
		return -1;
	srv->owner = (struct conn_owner){
		.base = srv->base,
		.pool = srv->pool,
		.cfg = srv->cfg,
		.fill_ctx = server_fill_ctx,
		.closed = conn_closed,
		.stop = stop_requested,
		.arg = srv,
	};
	if (!srv->cfg->no_sync)
		srv->sync = sync_start(srv->cfg->index_dir); /* NULL: logged, served without */
	srv->reg = registry_open(srv->cfg->index_dir, srv->cfg->no_sync);
	if (!srv->reg)
		xihud_warn("the other indexes: out of memory; serving the default one only");
	xihud_log("listening on %s, serving %s with %u worker threads", srv->cfg->socket_path,
	          srv->cfg->index_dir, srv->cfg->threads);
	if (ready_fd >= 0) {
		char ok = 'R';
		ssize_t w = write(ready_fd, &ok, 1);
		(void)w;
		close(ready_fd);
	}
	/*
	 * One iteration at a time: the jobs its callbacks made go to the
	 * workers together.  After a request, while no job is out with the
	 * workers, the loop polls without sleeping for --spin-us: a client
	 * sending its next request soon (an editor's picker as one types, a
	 * script's loop) finds the loop awake, which saves the wake-up of a
	 * sleeping thread (about 5-10 us on a VM) on each round trip.  It
	 * yields the CPU on every empty poll, so runnable threads (the
	 * workers, the clients) lose nothing to it; an idle daemon sleeps.
	 */
	int rc;
	uint64_t jobs = 0, spin_until = 0;
	do {
		bool spin = spin_until && pool_idle(srv->pool) && xihud_now_ns() < spin_until;
		rc = event_base_loop(srv->base, spin ? EVLOOP_ONCE | EVLOOP_NONBLOCK : EVLOOP_ONCE);
		pool_flush(srv->pool);
		uint64_t j = pool_jobs(srv->pool);
		if (j != jobs && srv->cfg->spin_us) {
			jobs = j;
			spin_until = xihud_now_ns() + (uint64_t)srv->cfg->spin_us * 1000;
		} else if (spin) {
			sched_yield();
		} else {
			spin_until = 0;
		}
	} while (rc == 0 && !event_base_got_exit(srv->base));
	if (rc < 0) {
		xihud_error("event loop failed");
		return -1;
	}
	return 0;
}

void server_free(struct server *srv)
{
	if (!srv)
		return;
	sync_stop(srv->sync); /* no commit can start after this */
	while (srv->nconns)
		conn_free(srv->conns[srv->nconns - 1]);
	free(srv->conns);
	/* after the connections: jobs still in flight come back orphaned */
	pool_free(srv->pool);
	registry_free(srv->reg); /* after the workers: no request picks from it any more */
	if (srv->lfd >= 0) {
		close(srv->lfd);
		remove_socket(srv);
	}
	if (srv->reloading) {
		pthread_join(srv->reload_thread, NULL);
		xihu_index_unref(srv->reload_from);
		xihu_index_unref(srv->reload_result);
	}
	if (srv->reload_efd >= 0)
		close(srv->reload_efd);
	struct event **evs[] = {&srv->ev_accept, &srv->ev_backoff, &srv->ev_grace,
	                        &srv->ev_sigterm, &srv->ev_sigint, &srv->ev_sighup,
	                        &srv->ev_check, &srv->ev_reload};
	for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
		if (*evs[i])
			event_free(*evs[i]);
	if (srv->base)
		event_base_free(srv->base);
	xihu_index_unref(srv->ix);
	stats_destroy(&srv->stats);
	free(srv);
}
