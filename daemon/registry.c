/*
 * registry.c: the indexes a daemon serves besides its default one.
 *
 * The default index (--index) is server.c's.  The others live next to it,
 * in "<default's parent>/indexes/<name>/" (for the usual default,
 * ~/.local/share/xihu/indexes/), one per tree asked for with `xihu index
 * PATH` (an IndexRequest): <name> is the tree's last path component and a
 * hash of its whole path.  At start every index found there is served;
 * each has its own live sync (unless --no-sync).
 *
 * Which index answers a search: the one its request names (an index
 * directory), else the one with the deepest root holding the client's
 * directory (SearchRequest.cwd, the way git finds .git), else the default
 * one.  registry_pick returns a referenced snapshot for that, or NULL for
 * the default.  It looks both up in the routing table (every entry's
 * directory, and every served root, sorted), not by visiting each entry:
 * a cwd costs one binary search per directory it is in, so a request
 * costs the same however many indexes are served (bench/registry: a walk
 * of 256 entries under their mutexes added about 5 us to every search).  The
 * table is rebuilt whenever an entry is added or its roots change.
 *
 * Snapshots: an entry's index is swapped under its mutex; a pick takes a
 * reference, so a request finishes on the snapshot it started with.  A
 * pick looks for a newer commit at most every CHECK_MS and opens it right
 * there (xihu_index_reopen checksums only new segments), on whichever
 * thread runs the request.
 *
 * Building: a new tree is indexed by a thread of its own (cancelled when
 * the daemon stops: asking again after a restart starts over) (one indexing
 * thread, RAM_MB of budget), whose last progress report (xihu_build's
 * counts) is kept for ListRequest; once committed, the index is served and
 * synced.  A failed build is kept as "failed" with its one-line error, and
 * asking again retries it.
 *
 * Thread safety: the entry list only grows (entries live until
 * registry_free), under the registry's mutex, and so does the routing
 * table (which owns copies of the roots); each entry's fields are under
 * its own.  Lock order: the registry's, then an entry's.
 *
 * Callers: main checks the default index's directory (registry_check_dir)
 * before serving it; server.c opens and frees the registry; handler.c
 * picks an index for a search, starts builds and lists them, on any
 * thread.  It calls down only: sync.c for each index's live sync, log.c,
 * and the index library.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "socket.h"
#include "xihud.h"

#define CHECK_MS 200
#define RAM_MB 64

enum reg_state { REG_READY, REG_INDEXING, REG_FAILED };

struct reg_entry {
	struct registry *reg;
	char *dir;
	char *path; /* the tree asked for (building) */
	pthread_mutex_t mu;
	xihu_index *ix; /* NULL until its first commit is open */
	char **roots;   /* of ix's manifest: the trees (for picking by cwd) */
	size_t nroots;
	uint64_t checked_ms;
	struct sync *sync;
	enum reg_state state;
	xihu_build_progress progress; /* the build's last report */
	bool reported;                /* progress holds one */
	char error[512];
	pthread_t builder;
	bool building; /* builder not yet joined */
};

/* A routing table row: a served root (or an entry's directory) and the
 * entry it picks; NULL for the default index. */
struct route {
	char *path;
	struct reg_entry *e;
	size_t rank; /* among equal paths the lowest wins: 0 the default's, i + 1 entry i's */
};

struct registry {
	char *base;        /* <parent of the default>/indexes */
	char *default_dir;
	char **default_roots;
	size_t ndefault_roots;
	bool no_sync;
	_Atomic bool stopping; /* registry_free: builds in progress stop early */
	pthread_mutex_t mu;
	struct reg_entry **e;
	size_t n, cap;
	struct route *roots; /* every root served, sorted by (path, rank) */
	size_t nroots;
	struct route *dirs; /* every entry's directory, sorted */
	size_t ndirs;
};

static void free_roots(char **r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(r[i]);
	free(r);
}

/* The tree roots of the index in dir (JSON Lines files left out: a
 * directory is not "in" them). */
static void read_roots(const char *dir, char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	xihu_root *r;
	size_t k;
	xihu_err err = {0};
	if (xihu_index_roots(dir, &r, &k, &err))
		return;
	char **v = calloc(k + 1, sizeof *v);
	size_t m = 0;
	for (size_t i = 0; v && i < k; i++)
		if (!r[i].records && (v[m] = strdup(r[i].path)))
			m++;
	xihu_roots_free(r, k);
	*out = v;
	*n = v ? m : 0;
}

/* ---- the routing table ------------------------------------------------------ */

static bool same_roots(char **a, size_t na, char **b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]))
			return false;
	return true;
}

static void routes_free(struct route *r, size_t n)
{
	for (size_t i = 0; r && i < n; i++)
		free(r[i].path);
	free(r);
}

static int route_cmp(const void *a, const void *b)
{
	const struct route *x = a, *y = b;
	int c = strcmp(x->path, y->path);
	return c ? c : (x->rank > y->rank) - (x->rank < y->rank);
}

/* Appends a row for path to *r (n rows, room for *cap); false out of memory. */
static bool route_add(struct route **r, size_t *n, size_t *cap, const char *path, struct reg_entry *e,
                      size_t rank)
{
	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : 16;
		struct route *v = realloc(*r, c * sizeof *v);
		if (!v)
			return false;
		*r = v;
		*cap = c;
	}
	if (!((*r)[*n].path = strdup(path)))
		return false;
	(*r)[*n].e = e;
	(*r)[*n].rank = rank;
	(*n)++;
	return true;
}

/* The routing table from the default's roots and each entry's directory and
 * roots; the caller holds reg->mu.  Out of memory, the old one stays (it
 * may route by roots an index no longer has until the next rebuild). */
static void routes_rebuild(struct registry *reg)
{
	struct route *roots = NULL, *dirs = NULL;
	size_t nr = 0, capr = 0, nd = 0, capd = 0;
	bool ok = true;
	for (size_t r = 0; ok && r < reg->ndefault_roots; r++)
		ok = route_add(&roots, &nr, &capr, reg->default_roots[r], NULL, 0);
	for (size_t i = 0; ok && i < reg->n; i++) {
		struct reg_entry *e = reg->e[i];
		ok = route_add(&dirs, &nd, &capd, e->dir, e, i + 1);
		pthread_mutex_lock(&e->mu);
		for (size_t r = 0; ok && r < e->nroots; r++)
			ok = route_add(&roots, &nr, &capr, e->roots[r], e, i + 1);
		pthread_mutex_unlock(&e->mu);
	}
	if (!ok) {
		routes_free(roots, nr);
		routes_free(dirs, nd);
		xihud_warn("registry: out of memory: searches are routed as before the last change");
		return;
	}
	if (nr)
		qsort(roots, nr, sizeof *roots, route_cmp);
	if (nd)
		qsort(dirs, nd, sizeof *dirs, route_cmp);
	routes_free(reg->roots, reg->nroots);
	routes_free(reg->dirs, reg->ndirs);
	reg->roots = roots;
	reg->nroots = nr;
	reg->dirs = dirs;
	reg->ndirs = nd;
}

/* The first row (lowest rank) whose path is the len bytes at p, or NULL. */
static const struct route *route_find(const struct route *r, size_t n, const char *p, size_t len)
{
	size_t lo = 0, hi = n;
	while (lo < hi) { /* lo: the first row not below p[0, len) */
		size_t mid = lo + (hi - lo) / 2;
		if (strncmp(r[mid].path, p, len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && !strncmp(r[lo].path, p, len) && r[lo].path[len] == '\0' ? &r[lo] : NULL;
}

/* The row of the deepest root holding the absolute path cwd (as
 * xihud_path_under: the root itself or under it), or NULL: cwd's
 * directories from the deepest up, each looked up exactly. */
static const struct route *route_deepest(const struct registry *reg, const char *cwd)
{
	if (cwd[0] != '/')
		return NULL;
	size_t len = strlen(cwd);
	for (;;) {
		const struct route *r = route_find(reg->roots, reg->nroots, cwd, len ? len : 1);
		if (r || len == 0)
			return r;
		while (cwd[len - 1] != '/') /* back to the '/' before the last component */
			len--;
		len--;
	}
}

static struct reg_entry *entry_new(struct registry *reg, const char *dir)
{
	struct reg_entry *e = calloc(1, sizeof *e);
	if (!e || !(e->dir = strdup(dir))) {
		free(e);
		return NULL;
	}
	e->reg = reg;
	pthread_mutex_init(&e->mu, NULL);
	pthread_mutex_lock(&reg->mu);
	if (reg->n == reg->cap) {
		size_t cap = reg->cap ? 2 * reg->cap : 8;
		struct reg_entry **v = realloc(reg->e, cap * sizeof *v);
		if (!v) {
			pthread_mutex_unlock(&reg->mu);
			pthread_mutex_destroy(&e->mu);
			free(e->dir);
			free(e);
			return NULL;
		}
		reg->e = v;
		reg->cap = cap;
	}
	reg->e[reg->n++] = e;
	routes_rebuild(reg);
	pthread_mutex_unlock(&reg->mu);
	return e;
}

/* e's roots changed: the routing table follows. */
static void routes_changed(struct reg_entry *e)
{
	pthread_mutex_lock(&e->reg->mu);
	routes_rebuild(e->reg);
	pthread_mutex_unlock(&e->reg->mu);
}

int registry_check_dir(const char *dir, xihu_err *err)
{
	char why[sizeof err->msg];
	switch (xihu_private_dir(dir, why, sizeof why)) {
	case XIHU_DIR_PRIVATE:
	case XIHU_DIR_MISSING: /* xihu_index_open says there is no index */
		return 0;
	case XIHU_DIR_NOT_MINE:
		return xihu_err_set(err, XIHU_EINVAL, "%s; refusing to serve it (run xihud as its owner)", why);
	case XIHU_DIR_WRITABLE:
		return xihu_err_set(err, XIHU_EINVAL, "%s; refusing to serve it (chmod go-w %s)", why, dir);
	default:
		return xihu_err_set(err, XIHU_EINVAL, "%s; refusing to serve it", why);
	}
}

/* Serves the committed index in e->dir (and syncs it); false if it cannot be opened. */
static bool entry_open(struct reg_entry *e, xihu_err *err)
{
	xihu_index *ix;
	if (registry_check_dir(e->dir, err) || xihu_index_open(e->dir, &ix, err))
		return false;
	char **roots;
	size_t n;
	read_roots(e->dir, &roots, &n);
	pthread_mutex_lock(&e->mu);
	xihu_index *old = e->ix;
	e->ix = ix;
	free_roots(e->roots, e->nroots);
	e->roots = roots;
	e->nroots = n;
	e->checked_ms = xihud_now_ms();
	e->state = REG_READY;
	e->reported = false;
	bool start_sync = !e->sync && !e->reg->no_sync;
	pthread_mutex_unlock(&e->mu);
	routes_changed(e);
	xihu_index_unref(old);
	if (start_sync) {
		struct sync *s = sync_start(e->dir);
		pthread_mutex_lock(&e->mu);
		e->sync = s;
		pthread_mutex_unlock(&e->mu);
	}
	return true;
}

struct registry *registry_open(const char *default_dir, bool no_sync)
{
	struct registry *reg = calloc(1, sizeof *reg);
	if (!reg)
		return NULL;
	pthread_mutex_init(&reg->mu, NULL);
	reg->no_sync = no_sync;
	reg->default_dir = strdup(default_dir);
	const char *slash = strrchr(default_dir, '/');
	size_t plen = slash ? (size_t)(slash - default_dir) : 0;
	if (!reg->default_dir || asprintf(&reg->base, "%.*s/indexes", (int)plen, default_dir) < 0) {
		reg->base = NULL;
		registry_free(reg);
		return NULL;
	}
	read_roots(default_dir, &reg->default_roots, &reg->ndefault_roots);
	pthread_mutex_lock(&reg->mu);
	routes_rebuild(reg);
	pthread_mutex_unlock(&reg->mu);
	DIR *d = opendir(reg->base);
	if (!d)
		return reg; /* none yet */
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *dir;
		if (asprintf(&dir, "%s/%s", reg->base, de->d_name) < 0)
			continue;
		char manifest[PATH_MAX + 16];
		snprintf(manifest, sizeof manifest, "%s/MANIFEST", dir);
		struct stat st;
		if (stat(manifest, &st) == 0) {
			struct reg_entry *e = entry_new(reg, dir);
			xihu_err err = {0};
			if (e && !entry_open(e, &err)) {
				e->state = REG_FAILED;
				snprintf(e->error, sizeof e->error, "%s", err.msg);
				xihud_warn("%s: %s (not served)", dir, err.msg);
			}
		}
		free(dir);
	}
	closedir(d);
	return reg;
}

void registry_free(struct registry *reg)
{
	if (!reg)
		return;
	atomic_store(&reg->stopping, true); /* builds in progress stop at their next file */
	for (size_t i = 0; i < reg->n; i++) {
		struct reg_entry *e = reg->e[i];
		if (e->building)
			pthread_join(e->builder, NULL);
		sync_stop(e->sync);
		xihu_index_unref(e->ix);
		free_roots(e->roots, e->nroots);
		pthread_mutex_destroy(&e->mu);
		free(e->dir);
		free(e->path);
		free(e);
	}
	free(reg->e);
	routes_free(reg->roots, reg->nroots);
	routes_free(reg->dirs, reg->ndirs);
	free_roots(reg->default_roots, reg->ndefault_roots);
	free(reg->base);
	free(reg->default_dir);
	pthread_mutex_destroy(&reg->mu);
	free(reg);
}

/* e's snapshot, referenced, after picking up a newer commit if one is due. */
static xihu_index *entry_snapshot(struct reg_entry *e)
{
	pthread_mutex_lock(&e->mu);
	xihu_index *ix = e->ix ? xihu_index_ref(e->ix) : NULL;
	bool due = ix && xihud_now_ms() - e->checked_ms >= CHECK_MS;
	if (due)
		e->checked_ms = xihud_now_ms();
	pthread_mutex_unlock(&e->mu);
	if (!due)
		return ix;
	bool changed = false;
	xihu_err err = {0};
	xihu_index *fresh;
	if (xihu_index_changed(ix, &changed, &err) || !changed || xihu_index_reopen(ix, &fresh, &err))
		return ix;
	char **roots;
	size_t n;
	read_roots(e->dir, &roots, &n);
	pthread_mutex_lock(&e->mu);
	xihu_index *old = e->ix;
	e->ix = xihu_index_ref(fresh);
	bool same = same_roots(roots, n, e->roots, e->nroots);
	free_roots(e->roots, e->nroots);
	e->roots = roots;
	e->nroots = n;
	pthread_mutex_unlock(&e->mu);
	if (!same) /* most commits keep the roots: live sync's updates */
		routes_changed(e);
	xihu_index_unref(old);
	xihu_index_unref(ix);
	return fresh;
}

size_t registry_changed(struct registry *reg, const char *dir, char ***out)
{
	*out = NULL;
	size_t n = 0;
	if (!reg)
		return 0;
	pthread_mutex_lock(&reg->mu);
	for (size_t i = 0; i < reg->n; i++)
		if (!strcmp(reg->e[i]->dir, dir)) {
			n = sync_changed(reg->e[i]->sync, out);
			break;
		}
	pthread_mutex_unlock(&reg->mu);
	return n;
}

int registry_pick(struct registry *reg, const char *index, const char *cwd, xihu_index **out, char *err,
                  size_t errsz)
{
	*out = NULL;
	if (!reg)
		return 0;
	struct reg_entry *best = NULL;
	pthread_mutex_lock(&reg->mu);
	if (index && *index) {
		if (!strcmp(index, reg->default_dir)) {
			pthread_mutex_unlock(&reg->mu);
			return 0;
		}
		const struct route *r = route_find(reg->dirs, reg->ndirs, index, strlen(index));
		best = r ? r->e : NULL;
		pthread_mutex_unlock(&reg->mu);
		if (!best) {
			snprintf(err, errsz, "%s: this daemon serves no such index (see xihu list)", index);
			return -1;
		}
	} else if (cwd && *cwd) {
		const struct route *r = route_deepest(reg, cwd);
		best = r ? r->e : NULL; /* NULL: a root of the default's, or none */
		pthread_mutex_unlock(&reg->mu);
		if (!best)
			return 0; /* the default */
	} else {
		pthread_mutex_unlock(&reg->mu);
		return 0;
	}
	xihu_index *ix = entry_snapshot(best);
	if (!ix) {
		pthread_mutex_lock(&best->mu);
		snprintf(err, errsz, "%s: %s", best->dir,
		         best->state == REG_INDEXING ? "still being built (see xihu list)" : best->error);
		pthread_mutex_unlock(&best->mu);
		return -1;
	}
	*out = ix;
	return 0;
}

/* ---- building ------------------------------------------------------------------- */

/* xihu_build_opts.progress: the build's counts, for registry_list. */
static void keep_progress(void *ctx, const xihu_build_progress *p)
{
	struct reg_entry *e = ctx;
	pthread_mutex_lock(&e->mu);
	e->progress = *p;
	e->reported = true;
	pthread_mutex_unlock(&e->mu);
}

static void *build_main(void *arg)
{
	struct reg_entry *e = arg;
	xihu_build_opts o = {.progress = keep_progress, .progress_ctx = e, .threads = 1,
	                     .ram_bytes = (uint64_t)RAM_MB << 20, .lock_wait_ms = 10000, .cancel = &e->reg->stopping};
	xihu_build_stats st = {0};
	xihu_err err = {0};
	const char *paths[] = {e->path};
	int rc = xihu_build(e->dir, paths, 1, NULL, 0, &o, &st, &err);
	if (!rc && !entry_open(e, &err))
		rc = XIHU_EIO;
	if (rc) {
		pthread_mutex_lock(&e->mu);
		e->state = REG_FAILED;
		snprintf(e->error, sizeof e->error, "%s", err.msg[0] ? err.msg : xihu_strerror(rc));
		pthread_mutex_unlock(&e->mu);
		xihud_warn("indexing %s into %s failed: %s", e->path, e->dir, e->error);
	} else {
		xihud_log("indexed %s into %s: %llu documents in %.1f s", e->path, e->dir,
		          (unsigned long long)st.docs, st.seconds);
	}
	return NULL;
}

static uint64_t hash_path(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return h;
}

int registry_index(struct registry *reg, const char *path, char *dir_out, size_t dirsz, bool *created,
                   char *err, size_t errsz)
{
	*created = false;
	char *real = realpath(path, NULL);
	if (!real) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* a root of an index already served: live sync keeps it up to date */
	pthread_mutex_lock(&reg->mu);
	for (size_t r = 0; r < reg->ndefault_roots; r++)
		if (!strcmp(real, reg->default_roots[r])) {
			pthread_mutex_unlock(&reg->mu);
			snprintf(dir_out, dirsz, "%s", reg->default_dir);
			free(real);
			return 0;
		}
	struct reg_entry *e = NULL;
	for (size_t i = 0; i < reg->n && !e; i++) {
		pthread_mutex_lock(&reg->e[i]->mu);
		for (size_t r = 0; r < reg->e[i]->nroots && !e; r++)
			if (!strcmp(real, reg->e[i]->roots[r]))
				e = reg->e[i];
		if (!e && reg->e[i]->path && !strcmp(real, reg->e[i]->path))
			e = reg->e[i];
		pthread_mutex_unlock(&reg->e[i]->mu);
	}
	pthread_mutex_unlock(&reg->mu);
	if (e) {
		snprintf(dir_out, dirsz, "%s", e->dir);
		pthread_mutex_lock(&e->mu);
		bool retry = e->state == REG_FAILED && !e->building;
		pthread_mutex_unlock(&e->mu);
		if (!retry) {
			free(real);
			return 0;
		}
	} else {
		const char *base = strrchr(real, '/');
		base = base && base[1] ? base + 1 : "root";
		char *dir;
		if (mkdir(reg->base, 0700) < 0 && errno != EEXIST) {
			snprintf(err, errsz, "%s: %s", reg->base, strerror(errno));
			free(real);
			return -1;
		}
		if (asprintf(&dir, "%s/%.64s-%08llx", reg->base, base,
		             (unsigned long long)(hash_path(real) & 0xffffffffu)) < 0 ||
		    !(e = entry_new(reg, dir))) {
			snprintf(err, errsz, "%s: out of memory", path);
			free(real);
			return -1;
		}
		free(dir);
		snprintf(dir_out, dirsz, "%s", e->dir);
	}
	pthread_mutex_lock(&e->mu);
	if (e->building) { /* a failed build's thread: gone by now */
		pthread_mutex_unlock(&e->mu);
		pthread_join(e->builder, NULL);
		pthread_mutex_lock(&e->mu);
	}
	free(e->path);
	e->path = real;
	e->state = REG_INDEXING;
	e->reported = false;
	e->error[0] = '\0';
	e->building = pthread_create(&e->builder, NULL, build_main, e) == 0;
	if (!e->building) {
		e->state = REG_FAILED;
		snprintf(e->error, sizeof e->error, "cannot start a thread");
	}
	pthread_mutex_unlock(&e->mu);
	*created = true;
	return 0;
}

size_t registry_list(struct registry *reg, struct reg_info **out)
{
	*out = NULL;
	if (!reg)
		return 0;
	pthread_mutex_lock(&reg->mu);
	size_t n = reg->n;
	struct reg_info *v = calloc(n + 1, sizeof *v);
	for (size_t i = 0; v && i < n; i++) {
		struct reg_entry *e = reg->e[i];
		pthread_mutex_lock(&e->mu);
		v[i].dir = strdup(e->dir);
		v[i].state = e->state == REG_READY ? "ready" : e->state == REG_INDEXING ? "indexing" : "failed";
		char line[160] = "";
		if (e->reported)
			xihu_build_progress_line(&e->progress, line, sizeof line);
		v[i].progress = strdup(line);
		v[i].build = e->progress;
		v[i].reported = e->reported;
		v[i].error = strdup(e->error);
		v[i].ix = e->ix ? xihu_index_ref(e->ix) : NULL;
		v[i].roots = calloc(e->nroots + 2, sizeof *v[i].roots);
		for (size_t r = 0; v[i].roots && r < e->nroots; r++)
			v[i].roots[v[i].nroots++] = strdup(e->roots[r]);
		if (!e->nroots && e->path && v[i].roots)
			v[i].roots[v[i].nroots++] = strdup(e->path); /* not built yet: the tree asked for */
		pthread_mutex_unlock(&e->mu);
	}
	pthread_mutex_unlock(&reg->mu);
	*out = v;
	return v ? n : 0;
}

void registry_list_free(struct reg_info *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].dir);
		free(v[i].progress);
		free(v[i].error);
		xihu_index_unref(v[i].ix);
		for (size_t r = 0; v[i].roots && r < v[i].nroots; r++)
			free(v[i].roots[r]);
		free(v[i].roots);
	}
	free(v);
}
