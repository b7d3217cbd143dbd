/*
 * exec.c: xihu_index_grep, a grep over an open index (xihu-index.h).
 *
 * The patterns are compiled (match.c) and planned (regex_plan.c); the
 * candidates (candidates.c) are read and matched by `threads` threads,
 * the caller's among them, and handed to on_file strictly in path order
 * by the caller's thread, as soon as every file before them is done: a
 * file's result waits in one of WINDOW slots, and no thread takes a file
 * WINDOW places past the first one not yet handed over, so the memory held
 * is that of at most WINDOW files' matches whatever the answer's size, and
 * a caller that blocks in on_file (a slow client) stops the readers too.
 *
 * What is read is what ripgrep reads: a file's bytes on disk as they are
 * now (a file gone since the index was committed is skipped, as ripgrep
 * would not see it), a record's text from the doc store.  Binary files as
 * ripgrep 13 treats the files it finds in a tree: a NUL byte in the first
 * 64 KiB and the file is skipped; later, the lines before the 64 KiB block
 * holding it are searched (ripgrep reads 64 KiB at a time and stops at the
 * block where it sees one), and -c skips such a file.  A UTF-8 byte order
 * mark is not part of the first line.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "grep/grep.h"

#define WINDOW 64u              /* files verified ahead of the one handed over */
#define BINARY_BLOCK (64u << 10) /* ripgrep's read size: see the top */
#define KEEP_READ (8u << 20)     /* a read buffer larger than this is freed after use */
#define SMALL_TEXT (256u << 10)  /* a file this big at most when indexed is read into a small buffer */
#define KEPT_BUDGET (24u << 20)  /* texts the slots hold: past this, no file is taken but the next */
#define POOL (WINDOW + 8)        /* idle read buffers kept for the readers, of each kind ... */
#define POOL_BYTES (16u << 20)   /* ... holding this much at most */
#define COPY_SHARE 8             /* lines of at most 1/8 of a text are copied, not kept with it */

typedef struct rline {
	uint64_t lineno;
	size_t off; /* in the text */
	uint32_t len, col, span0, nspans;
} rline;

/* One file's result, in its slot until handed over.  Its lines point into
 * the file's text, which the slot keeps: the reader's buffer, or the
 * record's inflated text (a small buffer then), so the lines of a big
 * answer are not copied again.  The texts held count against KEPT_BUDGET: past it readers take
 * no file but the next to hand over (take), so the memory a grep holds is
 * bounded in bytes as well as in files (WINDOW).  A buffer handed over goes
 * back to a pool the readers take theirs from: its pages are not given
 * back to the system and faulted in again for the next file (a fault per
 * page costs more than reading the page). */
typedef struct fres {
	xbuf kept;       /* the text's buffer, when kept: its cap counts against KEPT_BUDGET */
	bool kept_small; /* kept is a small buffer (see worker) */
	xbuf copied;     /* or the lines copied, when they are a small part of the text */
	const char *text;  /* where the lines' offsets start */
	rline *lines;
	size_t nlines, caplines;
	xihu_index_span *spans;
	size_t nspans, capspans;
	uint64_t count;
	bool matched, done, oom;
	char problem[sizeof(((xihu_err *)0)->msg)];
} fres;

typedef struct run {
	xihu_index *ix;
	const xihu_grep_opts *o;
	const grep_matcher *m;
	const grep_cands *c;
	fres slots[WINDOW];
	xbuf pool[2][POOL]; /* idle read buffers, small [1] and big [0] */
	unsigned npool[2];
	size_t pool_bytes, held; /* their capacity; that of the slots' kept buffers */
	pthread_mutex_t mu; /* over all of the above but slots[] of files being verified */
	pthread_cond_t cv;
	size_t next_take, next_emit;
	bool stop;
	int rc; /* the first fatal error, with err */
	xihu_err err;
} run;

/* A reader's open directory: candidates come in path order, so a file's
 * directory is mostly the one before's, and openat(2) from its descriptor
 * looks up one name where open(2) walks every component of the path. */
typedef struct dircache {
	int fd;     /* -1: none */
	size_t len; /* of the directory's path in path, its '/' included */
	char path[PATH_MAX];
} dircache;

/* What one thread needs: its match scratch, read buffers and directory.
 * A file that had at most SMALL_TEXT bytes when indexed is read into buf,
 * a bigger one into big; either may go to the file's slot (see fres), and
 * the reader takes an idle one from the pool for its next file. */
typedef struct worker {
	run *r;
	grep_scratch sc;
	xbuf buf, big;
	dircache dir;
	pthread_t th;
} worker;

/* Whether the grep must stop now: XIHU_ECANCELED or XIHU_ETIMEOUT (with
 * r->err), else 0. */
static int stop_requested(run *r)
{
	const xihu_grep_opts *o = r->o;
	if (o->cancel && atomic_load_explicit(o->cancel, memory_order_relaxed))
		return xihu_err_set(&r->err, XIHU_ECANCELED, "grep: cancelled");
	if (o->deadline_ns && now_ns() >= o->deadline_ns)
		return xihu_err_set(&r->err, XIHU_ETIMEOUT, "grep: timed out");
	return 0;
}

/* ---- one file's lines ------------------------------------------------------ */

typedef struct fctx {
	const xihu_grep_opts *o;
	fres *f;
	const char *text; /* the lines point into it */
	const char *end;
	const char *next;    /* the start of the first line not yet added (after the last added) */
	uint64_t next_no;    /* its number */
	uint32_t after_left; /* context lines still owed after the last match */
} fctx;

static bool add_line(fctx *x, uint64_t no, const char *p, size_t len, const xihu_index_span *sp, uint32_t nsp)
{
	fres *f = x->f;
	if (!xarray_reserve(&f->lines, &f->caplines, f->nlines + 1, sizeof *f->lines) ||
	    !xarray_reserve(&f->spans, &f->capspans, f->nspans + nsp, sizeof *f->spans))
		return false;
	if (len > UINT32_MAX)
		len = UINT32_MAX;
	f->lines[f->nlines++] = (rline){.lineno = no, .off = (size_t)(p - x->text), .len = (uint32_t)len,
	                                .col = nsp ? sp[0].start + 1 : 0, .span0 = (uint32_t)f->nspans,
	                                .nspans = nsp};
	if (nsp) /* a context line has none (sp NULL) */
		memcpy(f->spans + f->nspans, sp, nsp * sizeof *sp);
	f->nspans += nsp;
	return true;
}

/* Adds the lines from x->next up to (not including) stop as context, at
 * most max of them from the front (after) or from the back (before). */
static bool add_context(fctx *x, const char *stop, uint32_t max, bool from_back);
static bool add_context(fctx *x, const char *stop, uint32_t max, bool from_back)
{
	if (max == 0 || x->next >= stop)
		return true;
	const char *p = x->next;
	uint64_t no = x->next_no;
	if (from_back) { /* skip all but the last max lines before stop */
		uint64_t n = 0;
		for (const char *q = p; q < stop && (q = memchr(q, '\n', (size_t)(stop - q))) != NULL; q++)
			n++;
		for (; n > max; n--, no++)
			p = (const char *)memchr(p, '\n', (size_t)(stop - p)) + 1;
	}
	for (uint32_t k = 0; k < max && p < stop; k++, no++) {
		const char *e = memchr(p, '\n', (size_t)(x->end - p));
		if (!e)
			e = x->end;
		if (!add_line(x, no, p, (size_t)(e - p), NULL, 0))
			return false;
		p = e < x->end ? e + 1 : e;
	}
	x->next = p;
	x->next_no = no;
	return true;
}

static int on_match(void *ctx, uint64_t no, const char *line, size_t len, const xihu_index_span *sp,
                    uint32_t nsp)
{
	fctx *x = ctx;
	const xihu_grep_opts *o = x->o;
	fres *f = x->f;
	f->matched = true;
	f->count++;
	if (o->output == XIHU_GREP_LINES) {
		bool ok = true;
		if (x->after_left) {
			uint32_t n = x->after_left;
			x->after_left = 0;
			ok = add_context(x, line, n, false);
		}
		if (ok && x->next < line) { /* skip to the before-context */
			ok = add_context(x, line, o->before, true);
			if (x->next < line) { /* no before-context wanted: jump */
				x->next_no = no;
				x->next = line;
			}
		}
		if (!ok || !add_line(x, no, line, len, sp, nsp)) {
			f->oom = true;
			return -1;
		}
		x->next = line + len < x->end ? line + len + 1 : x->end;
		x->next_no = no + 1;
		x->after_left = o->after;
	}
	if (o->output == XIHU_GREP_FILES || o->output == XIHU_GREP_QUIET)
		return 1;
	return o->max_count && f->count >= o->max_count ? 1 : 0;
}

/* The after-context of the last match: past -m's count, a line that
 * matches shows as a match (ripgrep does so) but is not counted. */
static bool add_after(fctx *x, worker *w)
{
	const grep_matcher *m = w->r->m;
	for (uint32_t k = 0; k < x->after_left && x->next < x->end; k++) {
		const char *p = x->next;
		const char *e = memchr(p, '\n', (size_t)(x->end - p));
		if (!e)
			e = x->end;
		int n = x->f->count && x->o->max_count ? grep_match_line(m, &w->sc, p, (size_t)(e - p)) : 0;
		if (!add_line(x, x->next_no, p, (size_t)(e - p), n > 0 ? w->sc.spans : NULL, n > 0 ? (uint32_t)n : 0))
			return false;
		x->next = e < x->end ? e + 1 : e;
		x->next_no++;
	}
	x->after_left = 0;
	return true;
}

/* ---- big read buffers --------------------------------------------------------
 * A file over SMALL_TEXT is read into memory mapped here in steps of 2 MiB
 * and advised to be transparent huge pages: malloc maps a block this big
 * afresh each time (xihud bounds what it keeps), and faulting it in page by
 * page cost more than reading the file into it (a third of the Linux tree's
 * bytes are in such files). */

#define BIG_STEP (2u << 20)

static void big_free(xbuf *b)
{
	if (b->cap)
		munmap(b->p, b->cap);
	*b = (xbuf){0};
}

/* Room for need bytes in all, the bytes held kept. */
static bool big_reserve(xbuf *b, size_t need)
{
	if (b->cap >= need)
		return true;
	size_t cap = b->cap * 2 > need ? b->cap * 2 : need;
	if (cap > SIZE_MAX - BIG_STEP)
		return false;
	cap = (cap + BIG_STEP - 1) / BIG_STEP * BIG_STEP;
	void *p = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return false;
	madvise(p, cap, MADV_HUGEPAGE); /* advice: without it, small pages */
	if (b->len)
		memcpy(p, b->p, b->len);
	size_t len = b->len;
	big_free(b);
	*b = (xbuf){.p = p, .len = len, .cap = cap};
	return true;
}

static bool buf_reserve(xbuf *b, bool big, size_t extra)
{
	if (!big)
		return xbuf_reserve(b, extra);
	return b->len <= SIZE_MAX - extra && big_reserve(b, b->len + extra);
}

static void buf_free(xbuf *b, bool big)
{
	if (big)
		big_free(b);
	else
		xbuf_free(b);
}

/* ---- reading --------------------------------------------------------------- */

#define OPEN_FLAGS (O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK) /* a FIFO must not block */

/* Opens path (absolute, as the index names files) through dc. */
static int open_in(dircache *dc, const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash || slash == path)
		return open(path, OPEN_FLAGS);
	size_t dl = (size_t)(slash - path) + 1;
	if (dc->fd < 0 || dc->len != dl || memcmp(dc->path, path, dl) != 0) {
		if (dc->fd >= 0)
			close(dc->fd);
		memcpy(dc->path, path, dl);
		dc->path[dl - 1] = 0; /* the directory's name, for open */
		dc->fd = open(dc->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		dc->path[dl - 1] = '/';
		dc->len = dl;
		if (dc->fd < 0) /* the file's own open tells what is wrong */
			return open(path, OPEN_FLAGS);
	}
	return openat(dc->fd, slash + 1, OPEN_FLAGS);
}

/* Reads path into buf: 0, 1 when it is gone or no regular file now (skip
 * it), or an errno.  The size it had when indexed (hint) saves system
 * calls, a search's main cost when most of its candidates are small files:
 * a read that returns exactly that many bytes is taken as the whole file,
 * with no read to see the end (a file of that size that grew since was
 * read whole anyway: the buffer holds more), and fstat(2) is called only
 * for a file that fills its buffer: a directory fails with EISDIR, a FIFO
 * (opened not to block) gives EAGAIN or its end, and a device or anything
 * else not regular that reads on is stopped there. */
static int read_file(dircache *dc, const char *path, uint64_t hint, xbuf *buf, bool big)
{
	int fd = open_in(dc, path);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR || errno == ELOOP ? 1 : errno;
	xbuf_reset(buf);
	size_t want = hint < (uint64_t)SIZE_MAX / 2 ? (size_t)hint + 4096 : 65536;
	if (buf->cap < want && !big) /* not realloc(3): it would copy what the buffer held */
		xbuf_free(buf);
	int rc = buf_reserve(buf, big, want) ? 0 : ENOMEM;
	bool regular = false;
	while (rc == 0) {
		if (buf->len == buf->cap) {
			struct stat st;
			if (!regular && fstat(fd, &st) < 0) {
				rc = errno;
				break;
			}
			if (!regular && !S_ISREG(st.st_mode)) {
				rc = -1;
				break;
			}
			regular = true;
			if (!buf_reserve(buf, big, buf->cap)) {
				rc = ENOMEM;
				break;
			}
		}
		ssize_t k = read(fd, buf->p + buf->len, buf->cap - buf->len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			rc = errno == EISDIR || errno == EAGAIN ? -1 : errno;
		if (k <= 0)
			break;
		buf->len += (size_t)k;
		if (buf->len == hint && hint > 0)
			break;
	}
	close(fd);
	return rc < 0 ? 1 : rc;
}

/* The part of text[0..*len) ripgrep searches (see the top); false: none. */
static bool binary_cut(const xihu_grep_opts *o, const char *text, size_t *len)
{
	const char *nul = memchr(text, 0, *len);
	if (!nul)
		return true;
	size_t at = (size_t)(nul - text);
	if (at < BINARY_BLOCK || o->output == XIHU_GREP_COUNT)
		return false;
	size_t cut = at / BINARY_BLOCK * BINARY_BLOCK;
	while (cut > 0 && text[cut - 1] != '\n')
		cut--;
	*len = cut;
	return cut > 0;
}

static void verify(worker *w, size_t i, fres *f)
{
	run *r = w->r;
	const grep_cand *c = &r->c->v[i];
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%.*s", (int)c->name_len, c->name);
	char *owned = NULL;
	const char *text;
	size_t len;
	bool small = c->record || c->size < SMALL_TEXT - 4096; /* a record's text is held as a small buffer */
	xbuf *b = small ? &w->buf : &w->big;
	if (c->record) {
		xihu_err e = {0};
		if (seg_doc_text(index_seg(r->ix, c->seg), c->doc, &owned, &len, &e) < 0) {
			snprintf(f->problem, sizeof f->problem, "%s", e.msg);
			return;
		}
		text = owned;
	} else {
		int rc = read_file(&w->dir, path, c->size, b, !small);
		if (rc) {
			if (rc != 1)
				snprintf(f->problem, sizeof f->problem, "%.400s: %s", path, strerror(rc));
			return;
		}
		text = (const char *)b->p;
		len = b->len;
		if (!binary_cut(r->o, text, &len))
			return;
		if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
			text += 3, len -= 3;
	}
	fctx x = {.o = r->o, .f = f, .text = text, .end = text + len, .next = text, .next_no = 1};
	xihu_err e = {0};
	int rc = grep_match_text(r->m, &w->sc, text, len, path, r->o->output == XIHU_GREP_LINES, on_match, &x, &e);
	if (rc == 0 && x.after_left && !add_after(&x, w))
		f->oom = true;
	if (rc != 0 && !f->oom)
		snprintf(f->problem, sizeof f->problem, "%s", e.msg);
	size_t line_bytes = 0;
	for (size_t k = 0; k < f->nlines; k++)
		line_bytes += f->lines[k].len;
	if (f->nlines && line_bytes <= len / COPY_SHARE) {
		/* a few lines of the file: copied, and the reader keeps its buffer
		 * (warm in the cache for the next file, where a buffer passed on
		 * is cold when it comes back) */
		xbuf_reset(&f->copied);
		if (xbuf_reserve(&f->copied, line_bytes)) {
			for (size_t k = 0; k < f->nlines; k++) {
				rline *l = &f->lines[k];
				size_t at = f->copied.len;
				xbuf_put(&f->copied, text + l->off, l->len);
				l->off = at;
			}
			f->text = (const char *)f->copied.p;
		} else {
			f->oom = true;
		}
	} else if (f->nlines) { /* the slot keeps the text (see fres) */
		f->text = text;
		f->kept_small = small;
		if (c->record) {
			f->kept = (xbuf){.p = (uint8_t *)owned, .len = len, .cap = len};
			owned = NULL;
		} else {
			f->kept = *b;
			*b = (xbuf){0}; /* refilled from the pool (verify_taken) */
		}
	}
	free(owned);
	if (w->buf.cap > SMALL_TEXT) /* a file that grew since indexed */
		xbuf_free(&w->buf);
	if (w->big.cap > KEEP_READ)
		big_free(&w->big);
}

/* ---- threads and order -------------------------------------------------------- */

/* The slot's buffer to the pool, or freed when the pool is full; r->mu held. */
static void recycle(run *r, fres *f)
{
	r->held -= f->kept.cap;
	if (!f->kept.cap)
		return;
	unsigned k = f->kept_small;
	if (r->npool[k] < POOL && r->pool_bytes + f->kept.cap <= POOL_BYTES) {
		xbuf_reset(&f->kept);
		r->pool_bytes += f->kept.cap;
		r->pool[k][r->npool[k]++] = f->kept;
	} else {
		buf_free(&f->kept, !k);
	}
	f->kept = (xbuf){0};
}

/* An empty buffer of the reader's from the pool; r->mu held. */
static void refill(run *r, xbuf *b, unsigned k)
{
	if (b->cap || !r->npool[k])
		return;
	*b = r->pool[k][--r->npool[k]];
	r->pool_bytes -= b->cap;
}

static void fres_reset(fres *f)
{
	xbuf_reset(&f->copied);
	if (f->copied.cap > KEEP_READ)
		xbuf_free(&f->copied);
	f->text = NULL;
	f->nlines = f->nspans = 0;
	f->count = 0;
	f->matched = f->done = f->oom = false;
	f->problem[0] = 0;
}

static void fres_free(fres *f)
{
	buf_free(&f->kept, !f->kept_small); /* empty unless the grep stopped early */
	xbuf_free(&f->copied);
	free(f->lines);
	free(f->spans);
}

/* Takes the next file if the window and the budget allow (the file to
 * hand over next is always taken); r->mu held.  SIZE_MAX: none. */
static size_t take(run *r)
{
	if (r->stop || r->next_take >= r->c->n || r->next_take >= r->next_emit + WINDOW ||
	    (r->held >= KEPT_BUDGET && r->next_take > r->next_emit))
		return SIZE_MAX;
	return r->next_take++;
}

/* Verifies file i, taken under r->mu (held on entry and on return, not
 * while the file is read). */
static void verify_taken(run *r, worker *w, size_t i)
{
	refill(r, &w->buf, 1);
	refill(r, &w->big, 0);
	pthread_mutex_unlock(&r->mu);
	fres *f = &r->slots[i % WINDOW];
	verify(w, i, f);
	pthread_mutex_lock(&r->mu);
	r->held += f->kept.cap;
	f->done = true;
	pthread_cond_broadcast(&r->cv);
}

static void *helper(void *arg)
{
	worker *w = arg;
	run *r = w->r;
	pthread_mutex_lock(&r->mu);
	for (;;) {
		size_t i = take(r);
		if (i == SIZE_MAX) {
			if (r->stop || r->next_take >= r->c->n)
				break;
			pthread_cond_wait(&r->cv, &r->mu);
			continue;
		}
		verify_taken(r, w, i);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* Hands file i's result to the caller (r->mu not held). */
static int hand_over(run *r, size_t i, fres *f, xihu_grep_file_fn on_file, xihu_grep_problem_fn on_problem,
                     void *ctx, xihu_grep_stats *st, xihu_index_line **lv, size_t *lcap)
{
	const grep_cand *c = &r->c->v[i];
	if (f->oom)
		return xihu_err_set(&r->err, XIHU_ENOMEM, "grep: out of memory");
	if (f->problem[0] && on_problem)
		on_problem(ctx, f->problem);
	if (!f->matched)
		return 0;
	if (f->nlines > *lcap) {
		xihu_index_line *v = realloc(*lv, f->nlines * sizeof *v);
		if (!v)
			return xihu_err_set(&r->err, XIHU_ENOMEM, "grep: out of memory");
		*lv = v;
		*lcap = f->nlines;
	}
	for (size_t k = 0; k < f->nlines; k++) {
		const rline *l = &f->lines[k];
		(*lv)[k] = (xihu_index_line){.line = l->lineno > UINT32_MAX ? UINT32_MAX : (uint32_t)l->lineno,
		                             .col = l->col, .text = (char *)f->text + l->off, .len = l->len,
		                             .nspans = l->nspans, .spans = f->spans + l->span0};
	}
	st->files_matched++;
	st->lines_matched += f->count;
	xihu_grep_file gf = {.path = c->name, .path_len = c->name_len, .record = c->record, .lines = *lv,
	                     .nlines = (uint32_t)f->nlines, .count = f->count};
	return on_file(ctx, &gf);
}

/* The caller's thread: verifies too, and hands results over in order. */
static void lead(run *r, worker *w, xihu_grep_file_fn on_file, xihu_grep_problem_fn on_problem, void *ctx,
                 xihu_grep_stats *st)
{
	xihu_index_line *lv = NULL;
	size_t lcap = 0;
	pthread_mutex_lock(&r->mu);
	while (r->next_emit < r->c->n && !r->stop) {
		fres *f = &r->slots[r->next_emit % WINDOW];
		if (f->done) {
			size_t i = r->next_emit;
			pthread_mutex_unlock(&r->mu);
			int rc = hand_over(r, i, f, on_file, on_problem, ctx, st, &lv, &lcap);
			bool quiet_hit = r->o->output == XIHU_GREP_QUIET && f->matched;
			fres_reset(f);
			if (!rc)
				rc = stop_requested(r);
			pthread_mutex_lock(&r->mu);
			recycle(r, f);
			r->next_emit++;
			if (rc || quiet_hit) {
				r->rc = rc;
				r->stop = true;
			}
			pthread_cond_broadcast(&r->cv);
			continue;
		}
		size_t i = take(r);
		if (i == SIZE_MAX) {
			pthread_cond_wait(&r->cv, &r->mu);
			continue;
		}
		verify_taken(r, w, i);
	}
	r->stop = true;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	free(lv);
}

static int run_files(run *r, xihu_grep_file_fn on_file, xihu_grep_problem_fn on_problem, void *ctx,
                     xihu_grep_stats *st, xihu_err *err)
{
	unsigned nth = r->o->threads ? r->o->threads : 2;
	if (nth > 16)
		nth = 16;
	if (r->c->n < 8)
		nth = 1;
	worker *w = calloc(nth, sizeof *w); /* a directory's path each: not on a stream thread's stack */
	if (!w)
		return xihu_err_set(err, XIHU_ENOMEM, "grep: out of memory");
	bool running[16] = {false};
	int rc = 0;
	for (unsigned t = 0; t < nth; t++) {
		w[t].r = r;
		w[t].dir.fd = -1;
	}
	for (unsigned t = 0; t < nth && rc == 0; t++) {
		rc = grep_scratch_init(&w[t].sc, r->m, err);
		if (rc == 0 && t > 0) /* a thread that cannot start leaves the work to the others */
			running[t] = pthread_create(&w[t].th, NULL, helper, &w[t]) == 0;
	}
	if (rc == 0)
		lead(r, &w[0], on_file, on_problem, ctx, st);
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	for (unsigned t = 0; t < nth; t++) {
		if (running[t])
			pthread_join(w[t].th, NULL);
		grep_scratch_free(&w[t].sc);
		xbuf_free(&w[t].buf);
		big_free(&w[t].big);
		if (w[t].dir.fd >= 0)
			close(w[t].dir.fd);
	}
	free(w);
	st->searched = r->next_take;
	if (rc == 0 && r->rc) {
		rc = r->rc;
		if (r->err.code)
			*err = r->err;
		else /* on_file's own code */
			xihu_err_set(err, rc, "grep: stopped by its caller");
	}
	return rc;
}

int xihu_index_grep(xihu_index *ix, const xihu_grep_opts *o, xihu_grep_file_fn on_file,
                    xihu_grep_problem_fn on_problem, void *ctx, xihu_grep_stats *stats, xihu_err *err)
{
	xihu_grep_stats st = {0};
	if (stats)
		*stats = st;
	grep_pattern_set ps = {.pat = o->patterns, .len = o->pattern_lens, .n = o->npatterns, .fixed = o->fixed,
	                       .word = o->word, .case_mode = (grep_case)o->case_mode};
	grep_matcher *m;
	int rc = grep_matcher_new(&ps, &m, err);
	if (rc)
		return rc;
	gq *q;
	unsigned pf = (o->fixed ? GREP_PLAN_FIXED : 0) | (grep_matcher_caseless(m) ? GREP_PLAN_CASELESS : 0);
	rc = grep_plan(o->patterns, o->pattern_lens, o->npatterns, pf, &q, err);
	if (rc) {
		grep_matcher_free(m);
		return rc;
	}
	grep_cands c;
	rc = grep_candidates(ix, o, q, &c, err);
	gq_free(q);
	bool any = c.n > 0;
	if (rc == 0 && !any && o->default_path && on_problem) {
		if ((rc = grep_any_in_scope(ix, o, &any, err)) != 0)
			grep_cands_free(&c);
		else if (!any)
			on_problem(ctx, o->nglobs   ? "no files were searched: no indexed file here passes the globs (-g)"
			                : o->hidden ? "no files were searched: no indexed file is in this directory"
			                            : "no files were searched: no indexed file is in this directory "
			                              "but hidden ones (--hidden)");
	}
	if (rc == 0) {
		st.candidates = c.candidates;
		run *r = calloc(1, sizeof *r);
		if (!r) {
			rc = xihu_err_set(err, XIHU_ENOMEM, "grep: out of memory");
		} else {
			*r = (run){.ix = ix, .o = o, .m = m, .c = &c};
			pthread_mutex_init(&r->mu, NULL);
			pthread_cond_init(&r->cv, NULL);
			rc = run_files(r, on_file, on_problem, ctx, &st, err);
			for (unsigned k = 0; k < WINDOW; k++)
				fres_free(&r->slots[k]);
			for (unsigned k = 0; k < 2; k++)
				for (unsigned j = 0; j < r->npool[k]; j++)
					buf_free(&r->pool[k][j], !k);
			pthread_mutex_destroy(&r->mu);
			pthread_cond_destroy(&r->cv);
			free(r);
		}
		grep_cands_free(&c);
	}
	grep_matcher_free(m);
	if (stats)
		*stats = st;
	return rc;
}
