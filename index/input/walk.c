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
 * .ignore (so .ignore wins), each applying to that directory's subtree.
 * As ripgrep has it, a .gitignore counts only inside a git work tree: in a
 * directory that holds a .git (of any type), or one below it, or below a
 * root whose parents hold one; .ignore counts everywhere.  So an unpacked
 * tarball whose .gitignore ignores everything below it (the Linux sources
 * end theirs with a bare star under the root) is indexed whole;
 * deeper files win over shallower ones and later lines over earlier ones.
 * Blank lines and '#' comments are skipped, '!' re-includes, a trailing '/'
 * matches directories only, a '/' at the start or in the middle anchors the
 * pattern to the ignore file's directory (otherwise it matches the name at
 * any depth), and *, ?, [...] and ** work as in git.  Single path segments
 * are matched with fnmatch(3); "**" segments match any number of them.  An
 * ignored directory is not entered, so nothing below it can be re-included
 * (as in git).
 *
 * With WALK_NO_IGNORE no ignore file is read (VCS directories are still
 * skipped).  Patterns are compiled once per ignore file: plain names and
 * "*suffix"/"prefix*" forms are compared as bytes, other globs go through a
 * byte matcher with fnmatch(3)'s meaning (fnmatch itself only for [:class:]),
 * and a path is cut into segments once per entry, not once per rule.
 *
 * Cost per directory: one getdents64 loop (d_type tells files from
 * directories), one fstatat per regular file (its size and mtime are the
 * callback's), one openat + fstat per subdirectory (dev/ino spot loops), and
 * ignore files are opened only when the listing holds one.
 *
 * Unreadable directories and ignore files, loops through bind mounts and
 * over-long or over-deep paths produce one warning line "xihu-index: PATH: why
 * (skipped)" and the walk goes on; control bytes of PATH are escaped (warnf).
 * FIFOs, sockets, devices and symbolic links are left out without a word:
 * never opened, so a FIFO cannot block the walk.
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

#include "input/input.h"

#define WALK_MAX_DEPTH 256          /* directory levels below the root */
#define IGNORE_MAX_BYTES (1u << 20) /* larger ignore files are read up to this */
#define DENTS_BUF (64u << 10)

/* How a pattern (or one segment of an anchored one) is matched. */
enum { M_LIT, M_SUFFIX, M_PREFIX, M_GLOB, M_FNMATCH };

typedef struct ign_pat {
	const char *s;
	uint32_t lit_len; /* M_LIT/M_SUFFIX/M_PREFIX: bytes of the literal part */
	uint8_t kind;
} ign_pat;

typedef struct ign_rule {
	ign_pat pat;   /* unanchored: matched against the entry's name */
	ign_pat *segs; /* anchored: the pattern's segments, "**" included */
	uint32_t nsegs;
	bool anchored, negate, dir_only;
} ign_rule;

/* The rules of one ignore file, applying below the directory it is in. */
typedef struct ign_set {
	uint32_t level; /* depth of the entries of its directory (the root's are 0) */
	char *file;     /* its path, for walk_stats */
	char *text;     /* the file, patterns cut out of it in place */
	ign_rule *rules;
	uint32_t nrules;
	bool any_anchored;
} ign_set;

typedef struct walker {
	walk_fn fn;
	void *ctx;
	FILE *warn;
	unsigned flags;
	char path[PATH_MAX]; /* the directory being walked, then "/name" appended */
	size_t plen;
	ign_set *sets; /* stack: root's first, the current directory's last */
	uint32_t nsets, capsets;
	struct {
		dev_t dev;
		ino_t ino;
	} anc[WALK_MAX_DEPTH + 1]; /* the directories being walked, to spot loops */
	/* segv[d]: the name at depth d of the entry being looked at (the names of
	 * its ancestors below the root, then its own); they live in the entry
	 * arrays of the walk_dir frames on the stack */
	const char *segv[WALK_MAX_DEPTH + 2];
	walk_stats *stats; /* NULL: not counted */
	uint8_t dents[DENTS_BUF];
} walker;

typedef struct entry {
	const char *key; /* the name, plus '/' for a directory: the sort key */
	size_t key_off;  /* into the names arena while reading */
	uint32_t nlen;
	bool dir;
	struct stat st; /* regular files only */
} entry;

/* One line "xihu-index: PATH: why (skipped)" (warn_line escapes PATH). */
static void warnf(walker *w, const char *path, const char *why)
{
	warn_line(w->warn, "%s: %s (skipped)", path, why);
}

/* ---- glob matching --------------------------------------------------------- */

/* p at '['.  Returns whether c is in the bracket expression and sets *end past
 * its ']'; *end = NULL when there is no closing ']' (the '[' is then literal). */
static bool bracket(const char *p, unsigned char c, const char **end)
{
	p++;
	bool neg = *p == '!' || *p == '^';
	if (neg)
		p++;
	const char *first = p;
	bool hit = false;
	while (*p && (*p != ']' || p == first)) {
		unsigned char lo = (unsigned char)*p++;
		if (lo == '\\' && *p)
			lo = (unsigned char)*p++;
		unsigned char hi = lo;
		if (*p == '-' && p[1] && p[1] != ']') {
			p++;
			hi = (unsigned char)*p++;
			if (hi == '\\' && *p)
				hi = (unsigned char)*p++;
		}
		if (lo <= c && c <= hi)
			hit = true;
	}
	if (*p != ']') {
		*end = NULL;
		return false;
	}
	*end = p + 1;
	return hit != neg;
}

bool walk_glob_match(const char *p, const char *s)
{
	const char *star_p = NULL, *star_s = NULL;
	for (;;) {
		if (*p == '*') {
			while (*p == '*')
				p++;
			if (!*p)
				return true;
			star_p = p;
			star_s = s;
			continue;
		}
		if (!*s)
			return !*p;
		const char *np = p + 1;
		bool ok;
		if (*p == '?') {
			ok = true;
		} else if (*p == '[') {
			ok = bracket(p, (unsigned char)*s, &np);
			if (!np) {
				ok = *s == '[';
				np = p + 1;
			}
		} else if (*p == '\\' && p[1]) {
			ok = p[1] == *s;
			np = p + 2;
		} else {
			ok = *p && *p == *s;
		}
		if (ok) {
			p = np;
			s++;
		} else if (star_p) {
			p = star_p;
			s = ++star_s;
		} else {
			return false;
		}
	}
}

static void pat_compile(ign_pat *pt, const char *s)
{
	size_t n = strlen(s);
	pt->s = s;
	pt->kind = M_GLOB;
	if (strstr(s, "[:")) {
		pt->kind = M_FNMATCH;
		return;
	}
	size_t meta = strcspn(s, "*?[\\");
	if (meta == n) {
		pt->kind = M_LIT;
		pt->lit_len = (uint32_t)n;
	} else if (meta == 0 && s[0] == '*' && n > 1 && strcspn(s + 1, "*?[\\") == n - 1) {
		pt->kind = M_SUFFIX;
		pt->lit_len = (uint32_t)(n - 1);
	} else if (meta == n - 1 && s[n - 1] == '*') {
		pt->kind = M_PREFIX;
		pt->lit_len = (uint32_t)(n - 1);
	}
}

static bool pat_match(const ign_pat *pt, const char *name, size_t nlen)
{
	switch (pt->kind) {
	case M_LIT: return nlen == pt->lit_len && memcmp(name, pt->s, nlen) == 0;
	case M_SUFFIX: return nlen >= pt->lit_len && memcmp(name + nlen - pt->lit_len, pt->s + 1, pt->lit_len) == 0;
	case M_PREFIX: return nlen >= pt->lit_len && memcmp(name, pt->s, pt->lit_len) == 0;
	case M_GLOB: return walk_glob_match(pt->s, name);
	default: return fnmatch(pt->s, name, 0) == 0;
	}
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
	if (*line == '\0')
		return false;
	pat_compile(&r->pat, line);
	return true;
}

/* Cuts an anchored pattern into segments; empty ones ("a//b") are dropped. */
static bool rule_split(ign_rule *r)
{
	uint32_t n = 1;
	for (const char *c = r->pat.s; *c; c++)
		n += *c == '/';
	if (!(r->segs = malloc(n * sizeof *r->segs)))
		return false;
	char *s = (char *)r->pat.s;
	for (;;) {
		char *slash = strchr(s, '/');
		if (slash)
			*slash = '\0';
		if (*s)
			pat_compile(&r->segs[r->nsegs++], s);
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
	free(s->file);
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

/* Pushes the rules of dfd/name, if it exists and has any; level is the depth
 * of the entries of the directory it is in. */
static int set_push(walker *w, int dfd, const char *name, uint32_t level, xihu_err *err)
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
	ign_set s = {.text = text, .level = level};
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
			s.any_anchored |= r.anchored;
			s.rules[s.nrules++] = r;
		}
		line += ll + 1;
	}
	if (s.nrules == 0) {
		set_free(&s);
		return XIHU_OK;
	}
	size_t fl = strlen(w->path) + strlen(name) + 2;
	if (!(s.file = malloc(fl)))
		goto oom;
	snprintf(s.file, fl, "%s%s%s", w->path, w->path[1] ? "/" : "", name);
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

static bool is_dstar(const ign_pat *p)
{
	return p->kind == M_GLOB && p->s[0] == '*' && p->s[1] == '*' && p->s[2] == '\0';
}

/*
 * Anchored match of pattern segments p[0..m) against path segments t[0..k),
 * where "**" matches any run of segments: the classic wildcard algorithm
 * with segments as the units (backtrack to the last "**" only).
 */
static bool segs_match(const ign_pat *p, uint32_t m, const char *const *t, uint32_t k)
{
	uint32_t i = 0, j = 0, star_i = UINT32_MAX, star_j = 0;
	while (j < k) {
		if (i < m && is_dstar(&p[i])) {
			star_i = i++;
			star_j = j;
		} else if (i < m && pat_match(&p[i], t[j], strlen(t[j]))) {
			i++;
			j++;
		} else if (star_i != UINT32_MAX) {
			i = star_i + 1;
			j = ++star_j;
		} else {
			return false;
		}
	}
	while (i < m && is_dstar(&p[i]))
		i++;
	return i == m;
}

/* t[0..k): the entry's path segments from the rule's directory down, the
 * last being its name (of nlen bytes). */
static bool rule_match(const ign_rule *r, const char *const *t, uint32_t k, size_t nlen)
{
	if (!r->anchored)
		return pat_match(&r->pat, t[k - 1], nlen);
	uint32_t m = r->nsegs;
	if (m > 1 && is_dstar(&r->segs[m - 1])) {
		/* a trailing "**" segment matches inside the directory, not the directory */
		return k >= 1 && segs_match(r->segs, m, t, k - 1);
	}
	return segs_match(r->segs, m, t, k);
}

/* The set whose rule ignores the entry at depth (its name in
 * w->segv[depth]), or NULL. */
static const ign_set *ignored(walker *w, uint32_t depth, size_t nlen, bool is_dir)
{
	for (uint32_t si = w->nsets; si-- > 0;) {
		const ign_set *s = &w->sets[si];
		const char *const *t = w->segv + s->level;
		uint32_t k = depth - s->level + 1;
		for (uint32_t ri = s->nrules; ri-- > 0;) {
			const ign_rule *r = &s->rules[ri];
			if (r->dir_only && !is_dir)
				continue;
			if (rule_match(r, t, k, nlen))
				return r->negate ? NULL : s;
		}
	}
	return NULL;
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

typedef struct listing {
	entry *v;
	size_t n, cap;
	char *names; /* the keys, back to back */
	size_t nlen, ncap;
	bool has_gitignore, has_ignore, has_git;
} listing;

static void listing_free(listing *l)
{
	free(l->v);
	free(l->names);
}

static bool listing_add(listing *l, const char *name, size_t nlen, bool dir, const struct stat *st)
{
	if (l->n == l->cap) {
		size_t c = l->cap ? 2 * l->cap : 32;
		entry *nv = realloc(l->v, c * sizeof *nv);
		if (!nv)
			return false;
		l->v = nv;
		l->cap = c;
	}
	if (l->nlen + nlen + 2 > l->ncap) {
		size_t c = l->ncap ? 2 * l->ncap : 1024;
		while (c < l->nlen + nlen + 2)
			c *= 2;
		char *nn = realloc(l->names, c);
		if (!nn)
			return false;
		l->names = nn;
		l->ncap = c;
	}
	entry *e = &l->v[l->n++];
	e->key_off = l->nlen;
	e->nlen = (uint32_t)nlen;
	e->dir = dir;
	if (st)
		e->st = *st;
	memcpy(l->names + l->nlen, name, nlen);
	l->nlen += nlen;
	if (dir)
		l->names[l->nlen++] = '/';
	l->names[l->nlen++] = '\0';
	return true;
}

/* Reads the directory's entries (regular files stat'ed, directories not; VCS
 * dirs, links and the rest left out), sorted. */
static int read_entries(walker *w, int dfd, listing *l, xihu_err *err)
{
	for (;;) {
		ssize_t got = getdents64(dfd, w->dents, sizeof w->dents);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int e = errno;
			l->n = 0;
			warnf(w, w->path, strerror(e));
			return XIHU_OK;
		}
		if (got == 0)
			break;
		for (size_t off = 0; off < (size_t)got;) {
			const struct dirent64 *de = (const struct dirent64 *)(w->dents + off);
			off += de->d_reclen;
			const char *name = de->d_name;
			if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))
				continue;
			if (is_vcs(name)) {
				l->has_git |= name[1] == 'g';
				continue;
			}
			unsigned char type = de->d_type;
			struct stat st;
			if (type == DT_REG || type == DT_UNKNOWN) {
				if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
					if (errno != ENOENT) { /* vanished since readdir: not worth a word */
						char p[PATH_MAX + 300];
						snprintf(p, sizeof p, "%s/%s", w->path, name);
						warnf(w, p, strerror(errno));
					}
					continue;
				}
				type = S_ISREG(st.st_mode) ? DT_REG : S_ISDIR(st.st_mode) ? DT_DIR : DT_UNKNOWN;
			}
			if (type != DT_REG && type != DT_DIR)
				continue; /* symlinks, fifos, sockets, devices */
			size_t nlen = strlen(name);
			if (type == DT_REG && name[0] == '.') {
				if (!strcmp(name, ".gitignore"))
					l->has_gitignore = true;
				else if (!strcmp(name, ".ignore"))
					l->has_ignore = true;
			}
			if (!listing_add(l, name, nlen, type == DT_DIR, type == DT_REG ? &st : NULL))
				return xihu_err_set(err, XIHU_ENOMEM, "%s: out of memory", w->path);
		}
	}
	for (size_t i = 0; i < l->n; i++)
		l->v[i].key = l->names + l->v[i].key_off;
	if (l->n > 1)
		qsort(l->v, l->n, sizeof *l->v, entry_cmp);
	return XIHU_OK;
}

/* Walks the directory open at dfd (taking it over), whose path is w->path and
 * whose entries are at depth; in_git: it is inside a git work tree. */
static int walk_dir(walker *w, int dfd, uint32_t depth, bool in_git, xihu_err *err)
{
	uint32_t nsets = w->nsets;
	listing l = {0};
	int rc;

	if ((rc = read_entries(w, dfd, &l, err)))
		goto out;
	in_git |= l.has_git;
	if (!(w->flags & WALK_NO_IGNORE) &&
	    ((in_git && l.has_gitignore && (rc = set_push(w, dfd, ".gitignore", depth, err))) ||
	     (l.has_ignore && (rc = set_push(w, dfd, ".ignore", depth, err)))))
		goto out;

	size_t plen = w->plen;
	size_t seplen = w->path[plen - 1] == '/' ? 0 : 1;
	for (size_t i = 0; i < l.n && rc == 0; i++) {
		entry *e = &l.v[i];
		char *name = (char *)e->key;
		name[e->nlen] = '\0';
		if (plen + seplen + e->nlen >= sizeof w->path) {
			w->path[plen] = '\0';
			char p[PATH_MAX + 300];
			snprintf(p, sizeof p, "%s%s%s", w->path, seplen ? "/" : "", name);
			warnf(w, p, "path too long");
			continue;
		}
		w->plen = plen + seplen + e->nlen;
		w->path[plen] = '/';
		memcpy(w->path + plen + seplen, name, e->nlen + 1);
		w->segv[depth] = name;
		const ign_set *by = w->nsets ? ignored(w, depth, e->nlen, e->dir) : NULL;
		if (by) {
			if (w->stats && !w->stats->ignored++)
				snprintf(w->stats->first_rules, sizeof w->stats->first_rules, "%s", by->file);
		} else if (!e->dir) {
			if (w->stats)
				w->stats->files++;
			if (!(w->flags & WALK_DIRS))
				rc = w->fn(w->ctx, w->path, &e->st);
		} else if (depth >= WALK_MAX_DEPTH) {
			warnf(w, w->path, "nested too deep");
		} else {
			int cfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			struct stat st;
			if (cfd < 0) {
				if (errno != ENOENT)
					warnf(w, w->path, strerror(errno));
			} else if (fstat(cfd, &st) < 0) {
				warnf(w, w->path, strerror(errno));
				close(cfd);
			} else {
				bool loop = false;
				for (uint32_t a = 0; a <= depth; a++)
					loop |= w->anc[a].dev == st.st_dev && w->anc[a].ino == st.st_ino;
				if (loop) {
					warnf(w, w->path, "directory loop");
					close(cfd);
				} else if ((w->flags & WALK_DIRS) && (rc = w->fn(w->ctx, w->path, &st))) {
					close(cfd);
				} else {
					w->anc[depth + 1].dev = st.st_dev;
					w->anc[depth + 1].ino = st.st_ino;
					rc = walk_dir(w, cfd, depth + 1, in_git, err);
				}
			}
		}
		w->plen = plen;
		w->path[plen] = '\0';
	}
out:
	listing_free(&l);
	while (w->nsets > nsets)
		set_free(&w->sets[--w->nsets]);
	close(dfd);
	return rc;
}

/* Whether a parent of the directory path holds a .git: path is then inside
 * a git work tree (the path itself is looked at by its walk_dir). */
static bool parent_in_git(const char *path)
{
	char p[PATH_MAX + 8];
	snprintf(p, sizeof p, "%s", path);
	struct stat st;
	for (char *slash; (slash = strrchr(p, '/'));) {
		slash[0] = '\0';
		size_t n = (size_t)(slash - p);
		if (n + 6 > sizeof p)
			return false;
		memcpy(p + n, "/.git", 6);
		if (lstat(p, &st) == 0)
			return true;
		p[n] = '\0';
	}
	return false;
}

int walk_tree(const char *root, unsigned flags, walk_fn fn, void *ctx, FILE *warn, walk_stats *stats,
              xihu_err *err)
{
	if (stats)
		memset(stats, 0, sizeof *stats);
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
		if (stats)
			stats->files = 1;
		rc = flags & WALK_DIRS ? 0 : fn(ctx, real, &st);
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
	w->flags = flags;
	w->stats = stats;
	w->plen = strlen(real); /* realpath's result fits PATH_MAX */
	memcpy(w->path, real, w->plen + 1);
	free(real);
	w->anc[0].dev = st.st_dev;
	w->anc[0].ino = st.st_ino;
	int dfd = open(w->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		rc = xihu_err_set(err, XIHU_EIO, "%s: %s", root, strerror(errno));
	else if ((flags & WALK_DIRS) && (rc = fn(ctx, w->path, &st)))
		close(dfd);
	else
		rc = walk_dir(w, dfd, 0, !(flags & WALK_NO_IGNORE) && parent_in_git(w->path), err);
	free(w->sets);
	free(w);
	return rc;
}
