/*
 * xfile.c: every index file's envelope.  Owns the header and trailer that
 * docs/FORMAT.md §2 specifies, the buffered writer and the validating mmap.
 *
 *   header  (16 bytes): "XIHU" kind[4] u32le version u32le flags (0)
 *   payload (any length, possibly empty)
 *   trailer (12 bytes): u64le payload length, u32le CRC-32 (zlib crc32) of
 *                       every byte before the CRC field
 *
 * Writer: buffered, with a sticky error; the first failure is reported in
 * w->err and every later call is a no-op until xfile_finish returns it.
 * Reader: maps MAP_PRIVATE read-only, checks size, magic, kind, version and
 * the payload length always, the CRC when asked.  A failed check is
 * XIHU_ECORRUPT with a one-line message naming the path and offset.
 *
 * Modes: the index holds copies of its owner's files, so it is as private
 * as they are whatever the umask: directories are created 0700, files 0600,
 * and every build (xihu_build, once it holds the writer lock, before any
 * commit of its run) takes group and other bits off the directory and its
 * files that an older xihu or a chmod left there.
 *
 * Spools (xspool): a table written at the end of a file (seg_out.c's
 * indexes, doc records and names) grows in a window in RAM; when the window
 * is full it goes to a temporary file beside the index's, unlinked as soon
 * as it is open, so a segment's tables do not hold RAM in proportion to
 * its size.  Finishing copies the spool into the index file.  A kill
 * between the open and the unlink leaves a "*.tmp" name, which the next
 * build's garbage collection removes.
 *
 * Callers: seg_writer.c, seg_reader.c, seg_out.c, manifest.c, build.c, index.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/core.h"

#define XFILE_HEADER 16u
#define XFILE_TRAILER 12u
#define XFILE_BUF (256u << 10)

static char *path_join(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *p = malloc(a + b + 2);
	if (!p)
		return NULL;
	memcpy(p, dir, a);
	p[a] = '/';
	memcpy(p + a + 1, name, b + 1);
	return p;
}

/* CRC-32 over any length (zlib's crc32 takes a uInt length). */
static uint32_t crc_update(uint32_t crc, const uint8_t *p, size_t n)
{
	while (n > 0) {
		uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
		crc = (uint32_t)crc32(crc, p, k);
		p += k;
		n -= k;
	}
	return crc;
}

static void w_fail(xfile_w *w, int code, const char *what, int errnum)
{
	if (w->rc)
		return;
	w->rc = code;
	if (errnum)
		xihu_err_set(w->err, code, "%s: %s: %s", w->path ? w->path : "?", what, strerror(errnum));
	else
		xihu_err_set(w->err, code, "%s: %s", w->path ? w->path : "?", what);
}

/* Writes n bytes to the file (not through the buffer, not into the CRC). */
static void write_all(xfile_w *w, const uint8_t *p, size_t n)
{
	while (n > 0 && !w->rc) {
		ssize_t k = write(w->fd, p, n);
		if (k < 0) {
			if (errno != EINTR)
				w_fail(w, XIHU_EIO, "write", errno);
			continue;
		}
		p += k;
		n -= (size_t)k;
	}
}

static void w_flush(xfile_w *w)
{
	if (w->rc || w->blen == 0)
		return;
	w->crc = crc_update(w->crc, w->buf, w->blen);
	write_all(w, w->buf, w->blen);
	w->blen = 0;
}

int xfile_create(xfile_w *w, const char *dir, const char *name, const char kind[4], xihu_err *err)
{
	memset(w, 0, sizeof *w);
	w->fd = -1;
	w->err = err;
	w->crc = (uint32_t)crc32(0, Z_NULL, 0);
	w->path = path_join(dir, name);
	w->buf = malloc(XFILE_BUF);
	if (!w->path || !w->buf) {
		w->rc = XIHU_ENOMEM;
		return xihu_err_set(err, XIHU_ENOMEM, "%s/%s: out of memory", dir, name);
	}
	size_t nl = strlen(name);
	bool tmp = nl > 4 && strcmp(name + nl - 4, ".tmp") == 0;
	w->fd = open(w->path, O_WRONLY | O_CREAT | O_CLOEXEC | (tmp ? O_TRUNC : O_EXCL), 0600);
	if (w->fd < 0) {
		w_fail(w, XIHU_EIO, "create", errno);
		return w->rc;
	}
	uint8_t h[XFILE_HEADER];
	memcpy(h, "XIHU", 4);
	memcpy(h + 4, kind, 4);
	uint32_t v = XIHU_FORMAT_VERSION;
	for (int i = 0; i < 4; i++) {
		h[8 + i] = (uint8_t)(v >> (8 * i));
		h[12 + i] = 0;
	}
	xfile_write(w, h, sizeof h);
	return w->rc;
}

void xfile_write(xfile_w *w, const void *p, size_t n)
{
	if (w->rc)
		return;
	const uint8_t *s = p;
	w->off += n;
	if (n >= XFILE_BUF) {
		/* big writes go straight through, after what is buffered */
		w_flush(w);
		if (w->rc)
			return;
		w->crc = crc_update(w->crc, s, n);
		write_all(w, s, n);
		return;
	}
	while (n > 0) {
		size_t room = XFILE_BUF - w->blen;
		size_t k = n < room ? n : room;
		memcpy(w->buf + w->blen, s, k);
		w->blen += k;
		s += k;
		n -= k;
		if (w->blen == XFILE_BUF)
			w_flush(w);
	}
}

uint64_t xfile_tell(const xfile_w *w)
{
	return w->off;
}

static void w_release(xfile_w *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	free(w->buf);
	w->buf = NULL;
	free(w->path);
	w->path = NULL;
}

int xfile_finish(xfile_w *w)
{
	bool created = w->fd >= 0; /* never unlink a file that O_EXCL refused */
	if (!w->rc) {
		uint8_t t[12];
		uint64_t len = w->off - XFILE_HEADER;
		for (int i = 0; i < 8; i++)
			t[i] = (uint8_t)(len >> (8 * i));
		xfile_write(w, t, 8);
		w_flush(w); /* the CRC now covers everything before it */
		uint32_t c = w->crc;
		for (int i = 0; i < 4; i++)
			t[8 + i] = (uint8_t)(c >> (8 * i));
		if (!w->rc) {
			write_all(w, t + 8, 4);
			w->off += 4;
		}
		if (!w->rc && fsync(w->fd) != 0)
			w_fail(w, XIHU_EIO, "fsync", errno);
		if (close(w->fd) != 0)
			w_fail(w, XIHU_EIO, "close", errno);
		w->fd = -1;
	}
	int rc = w->rc;
	if (rc && created && w->path)
		unlink(w->path);
	w_release(w);
	return rc;
}

void xfile_abort(xfile_w *w)
{
	if (w->fd >= 0 && w->path)
		unlink(w->path);
	w_release(w);
}

/* ---- reading ------------------------------------------------------------ */

static int map_corrupt(const char *path, uint64_t off, xihu_err *err, const char *what)
{
	return xihu_err_set(err, XIHU_ECORRUPT, "%s: offset %llu: %s", path, (unsigned long long)off, what);
}

int xfile_map(xmap *m, const char *dir, const char *name, const char kind[4], bool verify_crc,
              xihu_err *err)
{
	memset(m, 0, sizeof *m);
	m->path = path_join(dir, name);
	if (!m->path)
		return xihu_err_set(err, XIHU_ENOMEM, "%s/%s: out of memory", dir, name);
	int rc;
	int fd = open(m->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = xihu_err_set(err, XIHU_EIO, "%s: open: %s", m->path, strerror(errno));
		goto fail;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		rc = xihu_err_set(err, XIHU_EIO, "%s: stat: %s", m->path, strerror(errno));
		close(fd);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = xihu_err_set(err, XIHU_ECORRUPT, "%s: not a regular file", m->path);
		close(fd);
		goto fail;
	}
	if ((uint64_t)st.st_size < XFILE_HEADER + XFILE_TRAILER) {
		rc = xihu_err_set(err, XIHU_ECORRUPT, "%s: truncated: %llu bytes, expected at least %u", m->path,
		                  (unsigned long long)st.st_size, XFILE_HEADER + XFILE_TRAILER);
		close(fd);
		goto fail;
	}
	if ((uint64_t)st.st_size > SIZE_MAX) {
		rc = xihu_err_set(err, XIHU_ECORRUPT, "%s: too large to map", m->path);
		close(fd);
		goto fail;
	}
	size_t size = (size_t)st.st_size;
	void *base = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (base == MAP_FAILED) {
		rc = xihu_err_set(err, XIHU_EIO, "%s: mmap: %s", m->path, strerror(errno));
		goto fail;
	}
	m->base = base;
	m->size = size;
	const uint8_t *b = m->base;
	if (memcmp(b, "XIHU", 4) != 0) {
		rc = map_corrupt(m->path, 0, err, "bad magic (not a xihu index file)");
		goto fail;
	}
	if (memcmp(b + 4, kind, 4) != 0) {
		char got[5], want[5];
		for (int i = 0; i < 4; i++) {
			got[i] = (b[4 + i] >= 0x20 && b[4 + i] < 0x7f) ? (char)b[4 + i] : '?';
			want[i] = kind[i];
		}
		got[4] = want[4] = 0;
		char what[64];
		snprintf(what, sizeof what, "file kind %s, expected %s", got, want);
		rc = map_corrupt(m->path, 4, err, what);
		goto fail;
	}
	uint32_t ver = get_u32le(b + 8);
	if (ver != XIHU_FORMAT_VERSION) {
		char what[96];
		snprintf(what, sizeof what, "format version %u, this build reads version %u (rebuild the index)", ver,
		         XIHU_FORMAT_VERSION);
		rc = map_corrupt(m->path, 8, err, what);
		goto fail;
	}
	uint64_t len = get_u64le(b + size - XFILE_TRAILER);
	if (len != size - XFILE_HEADER - XFILE_TRAILER) {
		char what[128];
		snprintf(what, sizeof what, "payload length %llu in trailer, file holds %llu (truncated or extended)",
		         (unsigned long long)len, (unsigned long long)(size - XFILE_HEADER - XFILE_TRAILER));
		rc = map_corrupt(m->path, size - XFILE_TRAILER, err, what);
		goto fail;
	}
	if (verify_crc) {
		uint32_t want = get_u32le(b + size - 4);
		uint32_t got = crc_update((uint32_t)crc32(0, Z_NULL, 0), b, size - 4);
		if (got != want) {
			rc = map_corrupt(m->path, size - 4, err, "checksum mismatch (file is corrupt)");
			goto fail;
		}
	}
	m->data = b + XFILE_HEADER;
	m->len = size - XFILE_HEADER - XFILE_TRAILER;
	m->data_off = XFILE_HEADER;
	return XIHU_OK;
fail:
	xfile_unmap(m);
	return rc;
}

void xfile_unmap(xmap *m)
{
	if (m->base)
		munmap((void *)m->base, m->size);
	free(m->path);
	memset(m, 0, sizeof *m);
}

void xfile_release(const xmap *m)
{
	if (m->base)
		(void)madvise((void *)m->base, m->size, MADV_DONTNEED);
}

int xfile_corrupt(const xmap *m, size_t data_off, xihu_err *err, const char *what)
{
	return map_corrupt(m->path ? m->path : "?", m->data_off + data_off, err, what);
}

/* ---- spools ---------------------------------------------------------------- */

bool xspool_init(xspool *s, const char *dir, const char *name, size_t window)
{
	memset(s, 0, sizeof *s);
	xbuf_init(&s->win);
	s->fd = -1;
	s->window = window ? window : 1;
	s->path = path_join(dir, name);
	if (!s->path)
		s->rc = xihu_err_set(&s->err, XIHU_ENOMEM, "%s/%s: out of memory", dir, name);
	return !s->rc;
}

static int spool_fail(xspool *s, const char *what, int errnum)
{
	if (!s->rc)
		s->rc = xihu_err_set(&s->err, XIHU_EIO, "%s: %s: %s", s->path, what, strerror(errnum));
	return s->rc;
}

/* The window's bytes to the end of the file (created on the first call). */
static void spool_flush(xspool *s)
{
	if (s->rc || s->win.len == 0)
		return;
	if (s->fd < 0) {
		s->fd = open(s->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (s->fd < 0) {
			spool_fail(s, "create", errno);
			return;
		}
		unlink(s->path); /* the fd keeps it: nothing to remove after a crash */
	}
	const uint8_t *p = s->win.p;
	size_t n = s->win.len;
	uint64_t off = s->flen;
	while (n > 0) {
		ssize_t k = pwrite(s->fd, p, n, (off_t)off);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			spool_fail(s, "write", errno);
			return;
		}
		p += k;
		n -= (size_t)k;
		off += (uint64_t)k;
	}
	s->flen = off;
	xbuf_reset(&s->win);
}

void xspool_put(xspool *s, const void *p, size_t n)
{
	if (s->rc)
		return;
	const uint8_t *b = p;
	while (n > 0) {
		size_t room = s->window - s->win.len, k = n < room ? n : room;
		xbuf_put(&s->win, b, k);
		if (s->win.rc) {
			s->rc = xihu_err_set(&s->err, XIHU_ENOMEM, "%s: out of memory", s->path);
			return;
		}
		b += k;
		n -= k;
		if (s->win.len == s->window)
			spool_flush(s);
	}
}

uint64_t xspool_len(const xspool *s)
{
	return s->flen + s->win.len;
}

int xspool_read(xspool *s, uint64_t off, void *p, size_t n)
{
	if (s->rc)
		return s->rc;
	uint8_t *o = p;
	while (n > 0 && off < s->flen) { /* the part in the file */
		size_t k = s->flen - off < n ? (size_t)(s->flen - off) : n;
		ssize_t r = pread(s->fd, o, k, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return spool_fail(s, "read", r < 0 ? errno : EIO);
		o += r;
		off += (uint64_t)r;
		n -= (size_t)r;
	}
	if (n > 0) { /* the rest in the window */
		if (off - s->flen > s->win.len || n > s->win.len - (off - s->flen))
			return s->rc = xihu_err_set(&s->err, XIHU_EINVAL, "%s: read past the end", s->path);
		memcpy(o, s->win.p + (off - s->flen), n);
	}
	return XIHU_OK;
}

int xspool_copy(xspool *s, xfile_w *w)
{
	if (s->rc)
		return s->rc;
	if (s->fd >= 0) {
		/* the file's bytes through a buffer of the window's size, then the window */
		uint8_t *buf = malloc(s->window);
		if (!buf)
			return s->rc = xihu_err_set(&s->err, XIHU_ENOMEM, "%s: out of memory", s->path);
		for (uint64_t off = 0; off < s->flen && !s->rc && !w->rc; off += s->window) {
			size_t k = s->flen - off < s->window ? (size_t)(s->flen - off) : s->window;
			if (!xspool_read(s, off, buf, k))
				xfile_write(w, buf, k);
		}
		free(buf);
	}
	if (!s->rc)
		xfile_write(w, s->win.p, s->win.len);
	return s->rc;
}

void xspool_free(xspool *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	xbuf_free(&s->win);
	free(s->path);
	s->path = NULL;
}

int xfile_sync_dir(const char *dir, xihu_err *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return xihu_err_set(err, XIHU_EIO, "%s: open: %s", dir, strerror(errno));
	int rc = XIHU_OK;
	if (fsync(fd) != 0 && errno != EINVAL)
		rc = xihu_err_set(err, XIHU_EIO, "%s: fsync: %s", dir, strerror(errno));
	close(fd);
	return rc;
}

int xfile_put_atomic(const char *dir, const char *tmp, const char *name, const char kind[4], const void *payload,
                     size_t len, xihu_err *err)
{
	xfile_w w;
	int rc = xfile_create(&w, dir, tmp, kind, err);
	if (!rc)
		xfile_write(&w, payload, len);
	rc = xfile_finish(&w); /* fsyncs; unlinks the tmp file on failure */
	return rc ? rc : xfile_install(dir, tmp, name, err);
}

int xfile_install(const char *dir, const char *tmp, const char *name, xihu_err *err)
{
	char from[4096], to[4096];
	if (snprintf(from, sizeof from, "%s/%s", dir, tmp) >= (int)sizeof from ||
	    snprintf(to, sizeof to, "%s/%s", dir, name) >= (int)sizeof to)
		return xihu_err_set(err, XIHU_EINVAL, "%s: path too long", dir);
	if (rename(from, to) != 0) {
		int rc = xihu_err_set(err, XIHU_EIO, "%s: rename to %s: %s", from, name, strerror(errno));
		unlink(from);
		return rc;
	}
	return xfile_sync_dir(dir, err);
}

/* ---- modes ----------------------------------------------------------------- */

int xfile_mkdir_private(const char *dir, xihu_err *err)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s", dir) >= (int)sizeof tmp)
		return xihu_err_set(err, XIHU_EINVAL, "%s: path too long", dir);
	for (char *p = tmp + 1;; p++) {
		char c = *p;
		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
			return xihu_err_set(err, XIHU_EIO, "%s: %s", tmp, strerror(errno));
		*p = c;
		if (!c)
			break;
	}
	return 0;
}

/* Calls fn for dir and each regular file directly in it whose mode has
 * group or other bits; stops at fn's first non-zero return. */
typedef int (*wide_fn)(void *ctx, const char *path, const struct stat *st);

static int each_wide(const char *dir, wide_fn fn, void *ctx, xihu_err *err)
{
	struct stat st;
	if (stat(dir, &st) < 0)
		return xihu_err_set(err, XIHU_EIO, "%s: %s", dir, strerror(errno));
	int rc = 0;
	if (st.st_mode & 077 && (rc = fn(ctx, dir, &st)))
		return rc;
	DIR *d = opendir(dir);
	if (!d)
		return xihu_err_set(err, XIHU_EIO, "%s: %s", dir, strerror(errno));
	struct dirent *de;
	char path[4096];
	while (!rc && (de = readdir(d))) {
		if (de->d_name[0] == '.' &&
		    (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		/* lstat: a symbolic link's own mode means nothing, and what it
		 * points to is not the index's */
		if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= (int)sizeof path ||
		    lstat(path, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 077))
			continue;
		rc = fn(ctx, path, &st);
	}
	closedir(d);
	return rc;
}

static int tighten(void *ctx, const char *path, const struct stat *st)
{
	(void)ctx;
	if (st->st_uid == geteuid())
		(void)chmod(path, st->st_mode & 0700); /* what fails is left to --check */
	return 0;
}

void xfile_make_private(const char *dir)
{
	xihu_err ignored;
	(void)each_wide(dir, tighten, NULL, &ignored);
}

struct report_ctx {
	xihu_mode_fn fn;
	void *ctx;
	uint32_t n;
};

static int report_wide(void *ctx, const char *path, const struct stat *st)
{
	struct report_ctx *r = ctx;
	r->n++;
	return r->fn ? r->fn(r->ctx, path, (unsigned)(st->st_mode & 07777)) : 0;
}

int xihu_index_modes(const char *dir, xihu_mode_fn fn, void *ctx, uint32_t *nwide, xihu_err *err)
{
	struct report_ctx r = {fn, ctx, 0};
	int rc = each_wide(dir, report_wide, &r, err);
	if (nwide)
		*nwide = r.n;
	return rc;
}
