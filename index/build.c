/*
 * build.c: trees of files and JSON Lines records -> a committed index.
 *
 * Owns one build: takes the writer lock (dir/LOCK, flock), walks the
 * inputs, reads each file (through zlib for .gz), skips binary and
 * oversized ones, analyzes the body and the path into their fields, feeds
 * the segment writer, and commits: segment files fsynced first, then the
 * manifest replaced atomically, then files no manifest names are removed.
 * Until the rename the previous commit stays intact and servable; a crash
 * anywhere leaves at worst unreferenced files that the next build removes.
 * Called by xihu-index (xihu_build).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "index-int.h"
#include "jsonl.h"

#define BINARY_PROBE 8192

static const char *const field_names[] = {"body", "path", "title"};

typedef struct build {
	const char *dir;
	const xihu_build_opts *o;
	uint64_t max_size;
	xihu_build_stats *st;
	seg_writer *w;
	xihu_err *err;
	const char *root; /* the tree being walked, for relative paths */
	size_t root_len;
	xbuf data;      /* the file being read */
	uint64_t start_ns, last_progress_ns;
} build;

static void warn(build *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(build *b, const char *fmt, ...)
{
	if (!b->o->warnings)
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("xihu-index: ", b->o->warnings);
	vfprintf(b->o->warnings, fmt, ap);
	fputc('\n', b->o->warnings);
	va_end(ap);
}

static void progress(build *b, bool final)
{
	if (!b->o->progress)
		return;
	uint64_t now = now_ns();
	if (!final && now - b->last_progress_ns < 200000000u)
		return;
	b->last_progress_ns = now;
	double secs = (double)(now - b->start_ns) / 1e9;
	double mb = (double)b->st->bytes_in / 1e6;
	fprintf(b->o->progress, "\r\033[K%" PRIu64 " files, %.1f MB, %.1f MB/s", b->st->docs, mb,
	        secs > 0 ? mb / secs : 0.0);
	if (final)
		fputc('\n', b->o->progress);
	fflush(b->o->progress);
}

/* Reads a whole file (inflating .gz) into b->data; 1 if skipped, 0 if read, <0 fatal. */
static int read_file(build *b, const char *path, const struct stat *st)
{
	xbuf_reset(&b->data);
	size_t plen = strlen(path);
	bool gz = plen > 3 && !strcmp(path + plen - 3, ".gz");
	if ((uint64_t)st->st_size > b->max_size) {
		b->st->skipped_large++;
		return 1;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		warn(b, "%s: %s (skipped)", path, strerror(errno));
		b->st->skipped_error++;
		return 1;
	}
	if (gz) {
		gzFile g = gzdopen(fd, "rb");
		if (!g) {
			close(fd);
			b->st->skipped_error++;
			return 1;
		}
		for (;;) {
			if (!xbuf_reserve(&b->data, 65536)) {
				gzclose(g);
				return xihu_err_set(b->err, XIHU_ENOMEM, "%s: out of memory", path);
			}
			int n = gzread(g, b->data.p + b->data.len, 65536);
			if (n < 0) {
				int zerr;
				warn(b, "%s: offset %zu: %s (skipped)", path, b->data.len, gzerror(g, &zerr));
				gzclose(g);
				b->st->skipped_error++;
				return 1;
			}
			if (n == 0)
				break;
			b->data.len += (size_t)n;
			if (b->data.len > b->max_size) {
				gzclose(g);
				b->st->skipped_large++;
				return 1;
			}
		}
		gzclose(g);
	} else {
		if (!xbuf_reserve(&b->data, (size_t)st->st_size + 1)) {
			close(fd);
			return xihu_err_set(b->err, XIHU_ENOMEM, "%s: out of memory", path);
		}
		for (;;) {
			if (!xbuf_reserve(&b->data, 1)) {
				close(fd);
				return xihu_err_set(b->err, XIHU_ENOMEM, "%s: out of memory", path);
			}
			size_t room = b->data.cap - b->data.len;
			ssize_t n = read(fd, b->data.p + b->data.len, room);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				warn(b, "%s: offset %zu: %s (skipped)", path, b->data.len, strerror(errno));
				close(fd);
				b->st->skipped_error++;
				return 1;
			}
			if (n == 0)
				break;
			b->data.len += (size_t)n;
			if (b->data.len > b->max_size) { /* grew while we read */
				close(fd);
				b->st->skipped_large++;
				return 1;
			}
		}
		close(fd);
	}
	size_t probe = b->data.len < BINARY_PROBE ? b->data.len : BINARY_PROBE;
	if (memchr(b->data.p, 0, probe)) {
		b->st->skipped_binary++;
		return 1;
	}
	return 0;
}

/* Adds the tokens of text to field, from position *pos on; leaves *pos past
 * them with a gap of one, so a phrase never spans two values of a field. */
static void add_field(build *b, uint32_t field, const char *text, size_t len, uint32_t *pos)
{
	analyzer an;
	token t;
	uint32_t next = *pos;
	analyzer_init(&an, text, len);
	while (analyzer_next(&an, &t)) {
		seg_writer_add_token(b->w, field, t.term, t.len, *pos + t.pos);
		next = *pos + t.pos + 2;
	}
	*pos = next;
}

static int add_file(void *ctx, const char *path, const struct stat *st)
{
	build *b = ctx;
	b->st->files_seen++;
	int r = read_file(b, path, st);
	if (r < 0)
		return r;
	if (r > 0)
		return 0;
	seg_doc_in d = {
		.name = path,
		.name_len = (uint32_t)strlen(path),
		.mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec,
		.size = (uint64_t)st->st_size,
		.text = (const char *)b->data.p,
		.text_len = b->data.len,
	};
	if ((r = seg_writer_begin_doc(b->w, &d)))
		return xihu_err_set(b->err, r, "%s: %s", path, xihu_strerror(r));
	uint32_t pos[2] = {0, 0};
	add_field(b, FIELD_BODY, d.text, d.text_len, &pos[0]);
	/* the path relative to the walked root: its words without the noise of where the tree lives */
	const char *rel = path;
	if (!strncmp(path, b->root, b->root_len) && path[b->root_len] == '/')
		rel = path + b->root_len + 1;
	add_field(b, FIELD_PATH, rel, strlen(rel), &pos[1]);
	if ((r = seg_writer_end_doc(b->w)))
		return xihu_err_set(b->err, r, "%s: %s", path, xihu_strerror(r));
	b->st->docs++;
	b->st->bytes_in += d.text_len;
	progress(b, false);
	return 0;
}

static int add_record(void *ctx, const jsonl_record *rec)
{
	build *b = ctx;
	seg_doc_in d = {
		.name = rec->id,
		.name_len = rec->id_len,
		.record = true,
		.text = rec->text,
		.text_len = rec->text_len,
	};
	int r = seg_writer_begin_doc(b->w, &d);
	if (r)
		return xihu_err_set(b->err, r, "record %s: %s", rec->id, xihu_strerror(r));
	uint32_t pos[XIHU_MAX_FIELDS] = {0};
	for (uint32_t i = 0; i < rec->nfields; i++)
		add_field(b, rec->fields[i].field, rec->fields[i].value, rec->fields[i].len,
		          &pos[rec->fields[i].field]);
	if ((r = seg_writer_end_doc(b->w)))
		return xihu_err_set(b->err, r, "record %s: %s", rec->id, xihu_strerror(r));
	b->st->docs++;
	b->st->bytes_in += rec->text_len;
	progress(b, false);
	return 0;
}

/* Removes every file in dir that looks like a segment file and is not live. */
static void remove_garbage(const char *dir, const manifest *m)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		char *end;
		errno = 0;
		unsigned long long id = strtoull(e->d_name, &end, 16);
		if (errno || end - e->d_name != 12 || (*end != '.' && *end != '_'))
			continue;
		bool live = false;
		for (uint32_t i = 0; i < m->nsegs && !live; i++)
			live = m->segs[i].id == id;
		if (!live)
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

static uint64_t dir_bytes(const char *dir, const manifest *m)
{
	uint64_t total = 0;
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *e;
	struct stat st;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && strcmp(e->d_name, "LOCK") &&
		    !fstatat(dirfd(d), e->d_name, &st, 0) && S_ISREG(st.st_mode))
			total += (uint64_t)st.st_size;
	closedir(d);
	(void)m;
	return total;
}

static int mkdir_p(const char *dir, xihu_err *err)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s", dir) >= (int)sizeof tmp)
		return xihu_err_set(err, XIHU_EINVAL, "%s: path too long", dir);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return xihu_err_set(err, XIHU_EIO, "%s: %s", tmp, strerror(errno));
		*p = '/';
	}
	if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
		return xihu_err_set(err, XIHU_EIO, "%s: %s", tmp, strerror(errno));
	return 0;
}

int xihu_build(const char *index_dir, const char *const *paths, size_t npaths, const char *const *jsonl,
               size_t njsonl, const xihu_build_opts *opts, xihu_build_stats *stats_out, xihu_err *err)
{
	xihu_build_opts defo = {0};
	xihu_build_stats st = {0};
	build b = {.dir = index_dir, .o = opts ? opts : &defo, .st = &st, .err = err};
	b.max_size = b.o->max_file_size ? b.o->max_file_size : XIHU_DEFAULT_MAX_FILE_SIZE;
	b.start_ns = now_ns();
	xbuf_init(&b.data);
	int rc, lockfd = -1;
	manifest old = {0}, m = {0};
	char **roots = NULL;

	if ((rc = mkdir_p(index_dir, err)))
		return rc;
	char lockpath[4200];
	snprintf(lockpath, sizeof lockpath, "%s/LOCK", index_dir);
	lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lockfd < 0)
		return xihu_err_set(err, XIHU_EIO, "%s: %s", lockpath, strerror(errno));
	if (flock(lockfd, LOCK_EX | LOCK_NB) < 0) {
		close(lockfd);
		return xihu_err_set(err, XIHU_ELOCKED, "%s: another xihu-index is writing this index",
		                    index_dir);
	}

	rc = manifest_read(index_dir, &old, err);
	if (rc == XIHU_ENOINDEX) {
		memset(&old, 0, sizeof old);
		old.next_seg_id = 1;
		rc = 0;
	}
	if (rc)
		goto out;

	uint64_t id = old.next_seg_id;
	if ((rc = seg_writer_new(index_dir, id, 3, field_names, &b.w, err)))
		goto out;

	roots = calloc(npaths + njsonl + 1, sizeof *roots);
	if (!roots) {
		rc = xihu_err_set(err, XIHU_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < npaths; i++) {
		char *real = realpath(paths[i], NULL);
		if (!real) {
			rc = xihu_err_set(err, XIHU_EIO, "%s: %s", paths[i], strerror(errno));
			goto out;
		}
		roots[m.nroots++] = real;
		struct stat rs;
		bool isdir = !stat(real, &rs) && S_ISDIR(rs.st_mode);
		/* a single file is relative to its directory */
		b.root = real;
		b.root_len = isdir ? strlen(real) : (size_t)(strrchr(real, '/') - real);
		if ((rc = walk_tree(real, 0, add_file, &b, b.o->warnings, err)))
			goto out;
	}
	for (size_t i = 0; i < njsonl; i++) {
		char *real = realpath(jsonl[i], NULL);
		if (!real) {
			rc = xihu_err_set(err, XIHU_EIO, "%s: %s", jsonl[i], strerror(errno));
			goto out;
		}
		roots[m.nroots++] = real;
		if ((rc = jsonl_read(real, add_record, &b, err)))
			goto out;
	}
	progress(&b, true);

	seg_info info;
	if ((rc = seg_writer_finish(b.w, &info, err)))
		goto out;

	m.generation = old.generation + 1;
	m.next_seg_id = id + 1;
	manifest_seg ms = {.id = id, .ndocs = info.ndocs};
	m.nsegs = 1;
	m.segs = &ms;
	m.roots = roots;
	rc = manifest_write(index_dir, &m, err);
	m.segs = NULL;
	m.nsegs = 0;
	if (rc)
		goto out;
	/* committed: from here on the old segments are garbage */
	manifest live = {.nsegs = 1, .segs = &ms};
	remove_garbage(index_dir, &live);
	st.terms = info.nterms;
	st.index_bytes = dir_bytes(index_dir, &live);

out:
	if (b.w)
		seg_writer_free(b.w);
	for (uint32_t i = 0; i < m.nroots; i++)
		free(roots[i]);
	free(roots);
	manifest_free(&old);
	xbuf_free(&b.data);
	if (lockfd >= 0)
		close(lockfd);
	st.seconds = (double)(now_ns() - b.start_ns) / 1e9;
	if (stats_out)
		*stats_out = st;
	return rc;
}
