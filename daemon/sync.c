/*
 * sync.c: live sync -- keeps the served index in step with its trees.
 *
 * One thread.  It reads the index's roots from its manifest and puts an
 * inotify watch on every directory the indexing walk enters (the same
 * ignore rules, VCS directories skipped, no symbolic links followed; the
 * index's own directory never).  Any event under a tree makes the index
 * dirty: a file written and closed, created, moved in or out, deleted, its
 * attributes changed; a directory created, moved or deleted.  Once the
 * trees have been quiet for QUIET_MS, or dirty for MAX_DELAY_MS while
 * events keep coming (long enough for a git checkout of a thousand files
 * to be one commit), it runs one update: xihu_build on the last commit's
 * roots, whose walk compares sizes and modification times, indexes what is
 * new or changed, deletes what vanished and applies the ignore rules as
 * xihu-index does -- one commit however many files a burst (a git
 * checkout) touched.  The server's reload check (CHECK_INTERVAL_MS in
 * server.c) then serves it.  So a saved file is searchable after QUIET_MS,
 * the update and at most one check interval.
 *
 * While git rewrites a tree (a checkout, a merge, a rebase: its
 * .git/index.lock exists, and it does for as long as git writes the
 * files), the update waits, polling every GIT_POLL_MS, at most GIT_WAIT_MS
 * after the first event: a checkout of a thousand files is one commit.
 *
 * Events that arrive during an update stay queued and make the next one.
 * A new directory (or an overflow of the event queue, IN_Q_OVERFLOW, when
 * events were lost) makes the next update walk the directories again for
 * watches first; the update finds every change by itself either way.
 * When no more watches can be added (the user's fs.inotify.max_user_watches),
 * a warning is logged once and the trees are updated every POLL_MS instead.
 *
 * At start the watches come first, then one update: changes made while the
 * daemon was down (or killed in the middle of an update, whose leftovers
 * the next build removes) are synced before anything else.
 *
 * Stopping (sync_stop) cancels an update in progress: it stops at its next
 * file and commits nothing (xihu_build_opts.cancel); the next start syncs.
 *
 * The index's LOCK is taken without waiting: while xihu-index holds it, the
 * update is retried every RETRY_MS.  Updates run with one indexing thread
 * and a RAM budget of SYNC_RAM_MB, so searches keep the other core and the
 * daemon's memory stays small.
 *
 * Callers: server.c (the default index) and registry.c (each of the
 * others) start and stop a sync; handler.c reads its status for Status.
 * It calls only log.c and the index library.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "xihud.h"

#define QUIET_MS 100
#define MAX_DELAY_MS 700
#define RETRY_MS 250
#define POLL_MS 2000
#define GIT_POLL_MS 50
#define GIT_WAIT_MS 10000
#define SYNC_RAM_MB 32
#define MAX_CHANGED 4096   /* files remembered as changed and not yet served */
#define CHANGED_KEEP_MS 2000 /* after the commit that holds them: till the server serves it */
#define WATCH_MASK                                                                                    \
	(IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |   \
	 IN_DELETE_SELF | IN_MOVE_SELF | IN_DONT_FOLLOW | IN_EXCL_UNLINK | IN_ONLYDIR)

struct sync {
	char *index_dir;
	pthread_t thread;
	int stop_efd, ifd;
	bool polling;     /* out of watches: update every POLL_MS */
	bool warned;      /* the watch limit was reported */
	uint32_t nwatches;
	pthread_mutex_t mu;
	struct sync_status st; /* under mu */
	_Atomic bool stopping;  /* sync_stop: an update in progress stops early */
	/* the index locks of the git repositories the trees are in: while one
	 * exists, git is rewriting the tree (a checkout, a merge) */
	char **git_locks;
	size_t ngit_locks;
	/* the directory of each watch, by watch descriptor (the sync thread's) */
	char **wdirs;
	size_t nwdirs;
	/* files written, created or moved in since the last commit, or committed
	 * less than CHANGED_KEEP_MS ago (under mu): exact search reads them
	 * whatever the index says (sync_changed) */
	struct changed {
		char *path;
		uint64_t seq;     /* when it was seen (a counter) */
		uint64_t expires; /* UINT64_MAX until a commit holds it */
	} *changed;
	size_t nchanged;
	bool changed_lost; /* more than MAX_CHANGED: the list is incomplete */
	uint64_t seq;
};

/* Remembers that watch wd is on dir (for the paths of its events). */
static void note_wdir(struct sync *s, int wd, const char *dir)
{
	if ((size_t)wd >= s->nwdirs) {
		size_t n = (size_t)wd * 2 + 16;
		char **v = realloc(s->wdirs, n * sizeof *v);
		if (!v)
			return;
		memset(v + s->nwdirs, 0, (n - s->nwdirs) * sizeof *v);
		s->wdirs = v;
		s->nwdirs = n;
	}
	if (s->wdirs[wd] && !strcmp(s->wdirs[wd], dir))
		return;
	free(s->wdirs[wd]);
	s->wdirs[wd] = strdup(dir);
}

/* A file under a watched directory was written or appeared: remember it
 * until a commit that holds it is served. */
static void note_changed(struct sync *s, int wd, const char *name)
{
	if (wd < 0 || (size_t)wd >= s->nwdirs || !s->wdirs[wd])
		return;
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/%s", s->wdirs[wd], name) >= (int)sizeof path)
		return;
	pthread_mutex_lock(&s->mu);
	size_t i = 0;
	while (i < s->nchanged && strcmp(s->changed[i].path, path))
		i++;
	if (i == s->nchanged) {
		struct changed *v = s->nchanged < MAX_CHANGED ? realloc(s->changed, (i + 1) * sizeof *v) : NULL;
		char *copy = v ? strdup(path) : NULL;
		if (v)
			s->changed = v;
		if (!copy) {
			s->changed_lost = true;
			pthread_mutex_unlock(&s->mu);
			return;
		}
		s->changed[s->nchanged++].path = copy;
	}
	s->changed[i].seq = ++s->seq;
	s->changed[i].expires = UINT64_MAX;
	pthread_mutex_unlock(&s->mu);
}

/* After an update that committed: what it read is served soon; keep it
 * listed a little longer, drop what expired. */
static void changed_committed(struct sync *s, uint64_t upto_seq, uint64_t now)
{
	pthread_mutex_lock(&s->mu);
	size_t k = 0;
	for (size_t i = 0; i < s->nchanged; i++) {
		struct changed *c = &s->changed[i];
		if (c->expires == UINT64_MAX && c->seq <= upto_seq)
			c->expires = now + CHANGED_KEEP_MS;
		if (c->expires <= now)
			free(c->path);
		else
			s->changed[k++] = *c;
	}
	s->nchanged = k;
	if (k == 0)
		s->changed_lost = false;
	pthread_mutex_unlock(&s->mu);
}

size_t sync_changed(struct sync *s, char ***out)
{
	*out = NULL;
	if (!s)
		return 0;
	uint64_t now = xihud_now_ms();
	pthread_mutex_lock(&s->mu);
	size_t n = 0;
	char **v = s->nchanged ? malloc(s->nchanged * sizeof *v) : NULL;
	for (size_t i = 0; v && i < s->nchanged; i++)
		if (s->changed[i].expires > now && (v[n] = strdup(s->changed[i].path)) != NULL)
			n++;
	pthread_mutex_unlock(&s->mu);
	*out = v;
	return n;
}

static int add_watch(void *ctx, const char *dir)
{
	struct sync *s = ctx;
	if (xihud_path_under(dir, s->index_dir))
		return 0; /* our own commits must not wake us */
	int wd = inotify_add_watch(s->ifd, dir, WATCH_MASK);
	if (wd >= 0) {
		s->nwatches++;
		note_wdir(s, wd, dir);
		return 0;
	}
	if (errno == ENOSPC || errno == ENOMEM) {
		if (!s->warned)
			xihud_warn("live sync: %s: no more inotify watches (%u placed; raise "
			            "fs.inotify.max_user_watches): updating every %d ms instead",
			            dir, s->nwatches, POLL_MS);
		s->warned = true;
		s->polling = true;
		return 1; /* stop the walk: polling covers everything */
	}
	return 0; /* gone meanwhile, or unreadable: the update's walk reports it */
}

/* The git repository holding dir (dir or its nearest ancestor with a .git
 * directory): its index lock's path, malloc'd, or NULL. */
static char *git_lock_of(const char *dir)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s", dir);
	for (;;) {
		char g[PATH_MAX + 16];
		struct stat st;
		snprintf(g, sizeof g, "%s/.git", p);
		if (stat(g, &st) == 0 && S_ISDIR(st.st_mode)) {
			char *lock;
			return asprintf(&lock, "%s/index.lock", g) < 0 ? NULL : lock;
		}
		char *slash = strrchr(p, '/');
		if (!slash || slash == p)
			return NULL;
		*slash = '\0';
	}
}

/* Whether git is rewriting one of the trees (its index lock exists). */
static bool git_busy(const struct sync *s)
{
	for (size_t i = 0; i < s->ngit_locks; i++)
		if (access(s->git_locks[i], F_OK) == 0)
			return true;
	return false;
}

static void forget_git_locks(struct sync *s)
{
	for (size_t i = 0; i < s->ngit_locks; i++)
		free(s->git_locks[i]);
	free(s->git_locks);
	s->git_locks = NULL;
	s->ngit_locks = 0;
}

/* Watches every directory of every tree root (again: adding a watch twice
 * returns the same one), and notes the trees' git index locks. */
static void watch_all(struct sync *s)
{
	xihu_root *roots;
	size_t n;
	xihu_err err = {0};
	if (xihu_index_roots(s->index_dir, &roots, &n, &err)) {
		xihud_error("live sync: %s", err.msg);
		return;
	}
	s->nwatches = 0;
	forget_git_locks(s);
	s->git_locks = calloc(n + 1, sizeof *s->git_locks);
	for (size_t i = 0; s->git_locks && i < n; i++) {
		char *lock = roots[i].records ? NULL : git_lock_of(roots[i].path);
		bool seen = false;
		for (size_t j = 0; lock && j < s->ngit_locks && !seen; j++)
			seen = !strcmp(s->git_locks[j], lock);
		if (lock && !seen)
			s->git_locks[s->ngit_locks++] = lock;
		else
			free(lock);
	}
	for (size_t i = 0; i < n && !s->polling; i++) {
		if (roots[i].records) {
			/* a JSON Lines file: watch the directory it is in */
			char *slash = strrchr(roots[i].path, '/');
			if (slash) {
				*slash = '\0';
				add_watch(s, *roots[i].path ? roots[i].path : "/");
			}
			continue;
		}
		if (xihu_tree_dirs(roots[i].path, roots[i].no_ignore, add_watch, s, &err) < 0)
			xihud_log("live sync: %s", err.msg);
	}
	xihu_roots_free(roots, n);
	pthread_mutex_lock(&s->mu);
	s->st.watches = s->nwatches;
	s->st.polling = s->polling;
	pthread_mutex_unlock(&s->mu);
	xihud_log("live sync: watching %u directories%s", s->nwatches, s->polling ? " (then out of watches)" : "");
}

/* One update; false when the index is locked by another writer (retry). */
static bool update(struct sync *s)
{
	xihu_build_opts o = {.update = true, .threads = 1, .ram_bytes = (uint64_t)SYNC_RAM_MB << 20,
	                     .cancel = &s->stopping};
	xihu_build_stats st = {0};
	xihu_err err = {0};
	uint64_t t0 = xihud_now_ms();
	int rc = xihu_build(s->index_dir, NULL, 0, NULL, 0, &o, &st, &err);
	uint64_t t1 = xihud_now_ms();
	pthread_mutex_lock(&s->mu);
	s->st.updates++;
	s->st.last_update_ms = t1 - t0;
	if (rc && rc != XIHU_ELOCKED) {
		s->st.errors++;
		snprintf(s->st.last_error, sizeof s->st.last_error, "%s", err.msg);
	}
	if (!rc && st.committed)
		s->st.commits++;
	pthread_mutex_unlock(&s->mu);
	if (rc == XIHU_ELOCKED)
		return false;
	if (rc == XIHU_ECANCELED)
		xihud_log("live sync: %s (the daemon is stopping)", err.msg);
	else if (rc)
		xihud_error("live sync: %s", err.msg);
	else if (st.committed)
		xihud_log("live sync: generation %llu: %llu added, %llu changed, %llu deleted in %llu ms",
		          (unsigned long long)st.generation, (unsigned long long)st.added,
		          (unsigned long long)st.changed, (unsigned long long)st.deleted,
		          (unsigned long long)(t1 - t0));
	return true;
}

/* Reads the queued events; true when any was met.  *rewatch: a directory
 * appeared (or events were lost), so watches must be placed again. */
static bool drain_events(struct sync *s, bool *rewatch)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool any = false;
	for (;;) {
		ssize_t n = read(s->ifd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return any;
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *e = (const struct inotify_event *)p;
			p += sizeof *e + e->len;
			if (e->mask & IN_IGNORED)
				continue; /* a watch went with its directory */
			any = true;
			if (e->len && !(e->mask & IN_ISDIR) && (e->mask & (IN_CLOSE_WRITE | IN_MODIFY | IN_CREATE | IN_MOVED_TO)))
				note_changed(s, e->wd, e->name);
			if ((e->mask & IN_Q_OVERFLOW) || ((e->mask & IN_ISDIR) && (e->mask & (IN_CREATE | IN_MOVED_TO))))
				*rewatch = true;
		}
	}
}

static void *sync_main(void *arg)
{
	struct sync *s = arg;
	watch_all(s);
	bool dirty = true, rewatch = false; /* the first update: what changed while we were down */
	uint64_t first = xihud_now_ms(), last = 0, next_poll = 0, retry_at = 0;
	for (;;) {
		uint64_t now = xihud_now_ms();
		int timeout = -1;
		if (dirty) {
			uint64_t due = last + QUIET_MS < first + MAX_DELAY_MS ? last + QUIET_MS : first + MAX_DELAY_MS;
			if (due < retry_at)
				due = retry_at;
			timeout = due > now ? (int)(due - now) : 0;
		} else if (s->polling) {
			timeout = next_poll > now ? (int)(next_poll - now) : 0;
		}
		struct pollfd pf[2] = {{.fd = s->stop_efd, .events = POLLIN}, {.fd = s->ifd, .events = POLLIN}};
		int r = poll(pf, 2, timeout);
		if (r < 0 && errno != EINTR) {
			xihud_error("live sync: poll: %s", strerror(errno));
			break;
		}
		if (pf[0].revents)
			break;
		now = xihud_now_ms();
		if (r > 0 && (pf[1].revents & POLLIN) && drain_events(s, &rewatch)) {
			if (!dirty)
				first = now;
			dirty = true;
			last = now;
		}
		if (!dirty && s->polling && now >= next_poll) {
			dirty = true;
			first = last = 0;
		}
		if (!dirty || now < retry_at || (now < last + QUIET_MS && now < first + MAX_DELAY_MS))
			continue;
		if (git_busy(s) && now < first + GIT_WAIT_MS) {
			retry_at = now + GIT_POLL_MS; /* git is mid-checkout: its files, then one commit */
			continue;
		}
		if (rewatch) {
			rewatch = false;
			watch_all(s);
		}
		pthread_mutex_lock(&s->mu);
		s->st.pending = true;
		uint64_t upto = s->seq; /* the changes this update reads */
		pthread_mutex_unlock(&s->mu);
		if (update(s)) {
			dirty = false;
			retry_at = 0;
			changed_committed(s, upto, xihud_now_ms());
		} else {
			retry_at = xihud_now_ms() + RETRY_MS;
		}
		pthread_mutex_lock(&s->mu);
		s->st.pending = dirty;
		pthread_mutex_unlock(&s->mu);
		next_poll = xihud_now_ms() + POLL_MS;
	}
	return NULL;
}

struct sync *sync_start(const char *index_dir)
{
	struct sync *s = calloc(1, sizeof *s);
	if (!s || !(s->index_dir = strdup(index_dir))) {
		free(s);
		xihud_error("live sync: out of memory");
		return NULL;
	}
	pthread_mutex_init(&s->mu, NULL);
	s->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (s->ifd < 0) {
		xihud_warn("live sync: inotify: %s: updating every %d ms instead", strerror(errno), POLL_MS);
		s->polling = true;
		s->ifd = -1;
	}
	if (s->stop_efd < 0 || pthread_create(&s->thread, NULL, sync_main, s)) {
		xihud_error("live sync: cannot start: %s", strerror(errno));
		if (s->stop_efd >= 0)
			close(s->stop_efd);
		if (s->ifd >= 0)
			close(s->ifd);
		free(s->index_dir);
		free(s);
		return NULL;
	}
	return s;
}

void sync_get_status(struct sync *s, struct sync_status *out)
{
	pthread_mutex_lock(&s->mu);
	*out = s->st;
	pthread_mutex_unlock(&s->mu);
}

void sync_stop(struct sync *s)
{
	if (!s)
		return;
	uint64_t one = 1;
	atomic_store(&s->stopping, true); /* an update in progress stops at its next file */
	ssize_t w = write(s->stop_efd, &one, sizeof one);
	(void)w;
	pthread_join(s->thread, NULL);
	close(s->stop_efd);
	if (s->ifd >= 0)
		close(s->ifd);
	pthread_mutex_destroy(&s->mu);
	forget_git_locks(s);
	for (size_t i = 0; i < s->nwdirs; i++)
		free(s->wdirs[i]);
	free(s->wdirs);
	for (size_t i = 0; i < s->nchanged; i++)
		free(s->changed[i].path);
	free(s->changed);
	free(s->index_dir);
	free(s);
}
