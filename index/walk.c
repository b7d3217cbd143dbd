/*
 * walk.c: directory trees -> the regular files to index.
 *
 * Owns: traversal order, VCS directory skipping, .gitignore/.ignore rules.
 *
 * Invariants:
 *  - fn sees absolute paths without "." or ".." components, "//" or a
 *    trailing '/' (the root goes through realpath(3) once; every other path
 *    is its parent's plus "/name"), in strictly ascending byte order of the
 *    whole path: entries are sorted with a directory's name compared as
 *    "name/", so "/r/a.c" comes before "/r/a/x.c" as strcmp would have it;
 *  - symbolic links are never followed, neither to files nor to directories
 *    (fstatat with AT_SYMLINK_NOFOLLOW, openat with O_NOFOLLOW); only the
 *    root itself is resolved, because the user named it;
 *  - every lookup is relative to an open directory fd (openat/fstatat), so a
 *    directory renamed during the walk cannot redirect it elsewhere;
 *  - .git (of any type), .hg and .svn are never entered or reported.
 *
 * Ignore rules follow gitignore(5): in each directory, .gitignore then
 * .ignore (so .ignore wins), each applying to that directory's subtree;
 * deeper files win over shallower ones and later lines over earlier ones.
 * Blank lines and '#' comments are skipped, '!' re-includes, a trailing '/'
 * matches directories only, a '/' at the start or in the middle anchors the
 * pattern to the ignore file's directory (otherwise it matches the name at
 * any depth), and *, ?, [...] and ** work as in git.  Single path segments
 * are matched with fnmatch(3); "**" segments match any number of them.  An
 * ignored directory is not entered, so nothing below it can be re-included
 * (as in git).
 *
 * Unreadable directories and ignore files, loops through bind mounts and
 * over-long or over-deep paths produce one warning line "xihu-index: PATH: why
 * (skipped)" and the walk goes on.
 *
 * Callers: build.c (xihu_build), tests/unit/test_walk.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "index-int.h"

#define WALK_MAX_DEPTH 256          /* directory levels below the root */
#define IGNORE_MAX_BYTES (1u << 20) /* larger ignore files are read up to this */

typedef struct ign_rule {
	const char *pat;   /* unanchored: matched against the entry's name */
	const char **segs; /* anchored: the pattern's segments, "**" included */
	uint32_t nsegs;
	bool anchored, negate, dir_only;
} ign_rule;

/* The rules of one ignore file, applying below the directory it is in. */
typedef struct ign_set {
	size_t rel_off; /* offset in a path where the part relative to the directory starts */
	char *text;     /* the file, patterns cut out of it in place */
	ign_rule *rules;
	uint32_t nrules;
} ign_set;

typedef struct walker {
	walk_fn fn;
	void *ctx;
	FILE *warn;
	char path[PATH_MAX]; /* the directory being walked, then "/name" appended */
	size_t plen;
	ign_set *sets; /* stack: root's first, the current directory's last */
	uint32_t nsets, capsets;
	struct {
		dev_t dev;
		ino_t ino;
	} anc[WALK_MAX_DEPTH + 1]; /* the directories being walked, to spot loops */
	char scratch[PATH_MAX]; /* a relative path cut into segments */
	const char *segv[PATH_MAX / 2 + 1];
} walker;

typedef struct entry {
	char *key; /* the name, plus '/' for a directory: the sort key */
	size_t nlen;
	struct stat st;
} entry;

static void warnf(walker *w, const char *path, const char *why)
{
	if (w->warn)
		fprintf(w->warn, "xihu-index: %s: %s (skipped)\n", path, why);
}

/* ---- ignore rules ------------------------------------------------------------ */

/* Cuts one line into a rule; false for blank lines and comments. */
static bool rule_parse(char *line, size_t len, ign_rule *r)
{
	memset(r, 0, sizeof *r);
	if (len && line[len - 1] == '\r')
		len--;
	if (len == 0 || line[0] == '#')
		return false;
	while (len && line[len - 1] == ' ' && !(len >= 2 && line[len - 2] == '\\'))
		len--; /* trailing spaces, unless escaped */
	if (len && line[0] == '!') {
		r->negate = true;
		line++;
		len--;
	}
	while (len && line[len - 1] == '/') {
		r->dir_only = true;
		len--;
	}
	if (len == 0)
		return false;
	line[len] = '\0';
	r->anchored = memchr(line, '/', len) != NULL;
	while (*line == '/')
		line++;
	r->pat = line;
	return *line != '\0';
}

/* Cuts an anchored pattern into segments; empty ones ("a//b") are dropped. */
static bool rule_split(ign_rule *r)
{
	uint32_t n = 1;
	for (const char *c = r->pat; *c; c++)
		n += *c == '/';
	if (!(r->segs = malloc(n * sizeof *r->segs)))
		return false;
	char *s = (char *)r->pat;
	for (;;) {
		char *slash = strchr(s, '/');
		if (slash)
			*slash = '\0';
		if (*s)
			r->segs[r->nsegs++] = s;
		if (!slash)
			break;
		s = slash + 1;
	}
	return true;
}

static void set_free(ign_set *s)
{
	for (uint32_t i = 0; i < s->nrules; i++)
		free(s->rules[i].segs);
	free(s->rules);
	free(s->text);
	memset(s, 0, sizeof *s);
}

/* Reads dfd/name; *text is NULL when there is no such file (or it is a link). */
static int read_small(int dfd, const char *name, char **text, size_t *len)
{
	*text = NULL;
	*len = 0;
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT || errno == ELOOP || errno == ENOTDIR)
			return XIHU_OK;
		return errno;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return XIHU_OK;
	}
	size_t cap = st.st_size < IGNORE_MAX_BYTES ? (size_t)st.st_size : IGNORE_MAX_BYTES;
	char *buf = malloc(cap + 1);
	if (!buf) {
		close(fd);
		return ENOMEM;
	}
	size_t n = 0;
	while (n < cap) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return XIHU_OK;
}

/* Pushes the rules of dfd/name, if it exists and has any. */
static int set_push(walker *w, int dfd, const char *name, xihu_err *err)
{
	char *text;
	size_t len;
	int e = read_small(dfd, name, &text, &len);
	if (e == ENOMEM)
		return xihu_err_set(err, XIHU_ENOMEM, "%s/%s: out of memory", w->path, name);
	if (e) {
		char p[PATH_MAX + 64];
		snprintf(p, sizeof p, "%s/%s", w->path, name);
		warnf(w, p, strerror(e));
		return XIHU_OK;
	}
	if (!text)
		return XIHU_OK;
	ign_set s = {.text = text, .rel_off = w->plen + (w->path[w->plen - 1] == '/' ? 0 : 1)};
	uint32_t cap = 0;
	for (char *line = text; line < text + len;) {
		char *nl = memchr(line, '\n', (size_t)(text + len - line));
		size_t ll = nl ? (size_t)(nl - line) : (size_t)(text + len - line);
		ign_rule r;
		if (rule_parse(line, ll, &r)) {
			if (s.nrules == cap) {
				cap = cap ? 2 * cap : 16;
				ign_rule *rules = realloc(s.rules, cap * sizeof *rules);
				if (!rules)
					goto oom;
				s.rules = rules;
			}
			if (r.anchored && !rule_split(&r))
				goto oom;
			s.rules[s.nrules++] = r;
		}
		line += ll + 1;
	}
	if (s.nrules == 0) {
		set_free(&s);
		return XIHU_OK;
	}
	if (w->nsets == w->capsets) {
		uint32_t c = w->capsets ? 2 * w->capsets : 8;
		ign_set *sets = realloc(w->sets, c * sizeof *sets);
		if (!sets)
			goto oom;
		w->sets = sets;
		w->capsets = c;
	}
	w->sets[w->nsets++] = s;
	return XIHU_OK;
oom:
	set_free(&s);
	return xihu_err_set(err, XIHU_ENOMEM, "%s/%s: out of memory", w->path, name);
}

/*
 * Anchored match of pattern segments p[0..m) against path segments t[0..k),
 * where "**" matches any run of segments: the classic wildcard algorithm
 * with segments as the units (backtrack to the last "**" only).
 */
static bool segs_match(const char *const *p, uint32_t m, const char *const *t, uint32_t k)
{
	uint32_t i = 0, j = 0, star_i = UINT32_MAX, star_j = 0;
	while (j < k) {
		if (i < m && strcmp(p[i], "**") == 0) {
			star_i = i++;
			star_j = j;
		} else if (i < m && fnmatch(p[i], t[j], 0) == 0) {
			i++;
			j++;
		} else if (star_i != UINT32_MAX) {
			i = star_i + 1;
			j = ++star_j;
		} else {
			return false;
		}
	}
	while (i < m && strcmp(p[i], "**") == 0)
		i++;
	return i == m;
}

static bool rule_match(walker *w, const ign_rule *r, const char *rel, const char *name)
{
	if (!r->anchored)
		return fnmatch(r->pat, name, 0) == 0;
	/* rel cut into segments, once per rule (rules are few; paths are short) */
	size_t n = strlen(rel);
	memcpy(w->scratch, rel, n + 1);
	uint32_t k = 0;
	char *s = w->scratch;
	for (;;) {
		char *slash = strchr(s, '/');
		if (slash)
			*slash = '\0';
		w->segv[k++] = s;
		if (!slash)
			break;
		s = slash + 1;
	}
	uint32_t m = r->nsegs;
	if (m > 1 && strcmp(r->segs[m - 1], "**") == 0) {
		/* a trailing "**" segment matches inside the directory, not the directory */
		return k >= 1 && segs_match(r->segs, m, w->segv, k - 1);
	}
	return segs_match(r->segs, m, w->segv, k);
}

/* path: the entry's full path in w->path; name: its last component. */
static bool ignored(walker *w, const char *name, bool is_dir)
{
	for (uint32_t si = w->nsets; si-- > 0;) {
		const ign_set *s = &w->sets[si];
		const char *rel = w->path + s->rel_off;
		for (uint32_t ri = s->nrules; ri-- > 0;) {
			const ign_rule *r = &s->rules[ri];
			if (r->dir_only && !is_dir)
				continue;
			if (rule_match(w, r, rel, name))
				return !r->negate;
		}
	}
	return false;
}

/* ---- the walk ------------------------------------------------------------------ */

static bool is_vcs(const char *name)
{
	return strcmp(name, ".git") == 0 || strcmp(name, ".hg") == 0 || strcmp(name, ".svn") == 0;
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const entry *)a)->key, ((const entry *)b)->key);
}

static void entries_free(entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].key);
	free(v);
}

/* Reads the directory's entries (stat'ed, VCS dirs and links left out), sorted. */
static int read_entries(walker *w, DIR *d, entry **out, size_t *nout, xihu_err *err)
{
	entry *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;

	*out = NULL;
	*nout = 0;
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		const char *name = de->d_name;
		if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))
			continue;
		if (is_vcs(name))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT) { /* vanished since readdir: not worth a word */
				char p[PATH_MAX + 300];
				snprintf(p, sizeof p, "%s/%s", w->path, name);
				warnf(w, p, strerror(errno));
			}
			errno = 0;
			continue;
		}
		bool dir = S_ISDIR(st.st_mode);
		if (!dir && !S_ISREG(st.st_mode))
			continue; /* symlinks, fifos, sockets, devices */
		if (n == cap) {
			cap = cap ? 2 * cap : 32;
			entry *nv = realloc(v, cap * sizeof *nv);
			if (!nv)
				goto oom;
			v = nv;
		}
		size_t nlen = strlen(name);
		char *key = malloc(nlen + 2);
		if (!key)
			goto oom;
		memcpy(key, name, nlen);
		key[nlen] = dir ? '/' : '\0';
		key[nlen + 1] = '\0';
		v[n++] = (entry){.key = key, .nlen = nlen, .st = st};
		errno = 0;
	}
	if (errno) {
		int e = errno;
		entries_free(v, n);
		warnf(w, w->path, strerror(e));
		return XIHU_OK;
	}
	if (n > 1)
		qsort(v, n, sizeof *v, entry_cmp);
	*out = v;
	*nout = n;
	return XIHU_OK;
oom:
	entries_free(v, n);
	return xihu_err_set(err, XIHU_ENOMEM, "%s: out of memory", w->path);
}

/* Walks the directory open at dfd (taking it over), whose path is w->path. */
static int walk_dir(walker *w, int dfd, uint32_t depth, xihu_err *err)
{
	uint32_t nsets = w->nsets;
	entry *v = NULL;
	size_t n = 0;
	int rc;

	DIR *d = fdopendir(dfd);
	if (!d) {
		int e = errno;
		close(dfd);
		if (e == ENOMEM)
			return xihu_err_set(err, XIHU_ENOMEM, "%s: out of memory", w->path);
		warnf(w, w->path, strerror(e));
		return XIHU_OK;
	}
	if ((rc = set_push(w, dfd, ".gitignore", err)) || (rc = set_push(w, dfd, ".ignore", err)) ||
	    (rc = read_entries(w, d, &v, &n, err)))
		goto out;

	size_t plen = w->plen;
	const char *sep = w->path[plen - 1] == '/' ? "" : "/";
	for (size_t i = 0; i < n && rc == 0; i++) {
		entry *e = &v[i];
		bool dir = S_ISDIR(e->st.st_mode);
		e->key[e->nlen] = '\0';
		if (plen + strlen(sep) + e->nlen >= sizeof w->path) {
			w->path[plen] = '\0';
			char p[PATH_MAX + 300];
			snprintf(p, sizeof p, "%s%s%s", w->path, sep, e->key);
			warnf(w, p, "path too long");
			continue;
		}
		w->plen = plen + strlen(sep) + e->nlen;
		memcpy(w->path + plen, sep, strlen(sep));
		memcpy(w->path + w->plen - e->nlen, e->key, e->nlen + 1);
		if (ignored(w, e->key, dir)) {
			;
		} else if (!dir) {
			rc = w->fn(w->ctx, w->path, &e->st);
		} else if (depth >= WALK_MAX_DEPTH) {
			warnf(w, w->path, "nested too deep");
		} else {
			bool loop = false;
			for (uint32_t a = 0; a <= depth; a++)
				loop |= w->anc[a].dev == e->st.st_dev && w->anc[a].ino == e->st.st_ino;
			if (loop) {
				warnf(w, w->path, "directory loop");
			} else {
				int cfd = openat(dfd, e->key, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (cfd < 0) {
					warnf(w, w->path, strerror(errno));
				} else {
					w->anc[depth + 1].dev = e->st.st_dev;
					w->anc[depth + 1].ino = e->st.st_ino;
					rc = walk_dir(w, cfd, depth + 1, err);
				}
			}
		}
		w->plen = plen;
		w->path[plen] = '\0';
	}
out:
	entries_free(v, n);
	while (w->nsets > nsets)
		set_free(&w->sets[--w->nsets]);
	closedir(d);
	return rc;
}

int walk_tree(const char *root, walk_fn fn, void *ctx, FILE *warn, xihu_err *err)
{
	char *real = realpath(root, NULL);
	if (!real)
		return xihu_err_set(err, XIHU_EIO, "%s: %s", root, strerror(errno));
	struct stat st;
	int rc;
	if (stat(real, &st) < 0) {
		rc = xihu_err_set(err, XIHU_EIO, "%s: %s", root, strerror(errno));
		free(real);
		return rc;
	}
	if (S_ISREG(st.st_mode)) {
		rc = fn(ctx, real, &st);
		free(real);
		return rc;
	}
	if (!S_ISDIR(st.st_mode)) {
		rc = xihu_err_set(err, XIHU_EINVAL, "%s: not a regular file or directory", root);
		free(real);
		return rc;
	}
	walker *w = calloc(1, sizeof *w);
	if (!w) {
		free(real);
		return xihu_err_set(err, XIHU_ENOMEM, "%s: out of memory", root);
	}
	w->fn = fn;
	w->ctx = ctx;
	w->warn = warn;
	w->plen = strlen(real); /* realpath's result fits PATH_MAX */
	memcpy(w->path, real, w->plen + 1);
	free(real);
	w->anc[0].dev = st.st_dev;
	w->anc[0].ino = st.st_ino;
	int dfd = open(w->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		rc = xihu_err_set(err, XIHU_EIO, "%s: %s", root, strerror(errno));
	else
		rc = walk_dir(w, dfd, 0, err);
	free(w->sets);
	free(w);
	return rc;
}
