/*
 * pipeline.c: documents -> finished segments, on worker threads.
 *
 * Owns the indexing threads of one build.  The caller (build.c, on its own
 * thread) adds files and JSON Lines records; they are packed into batches
 * of BATCH_FILES items or BATCH_BYTES bytes and batch k goes to worker
 * k % T, so which document lands in which segment does not depend on
 * timing.  Each worker reads its files (through zlib for .gz; of an HTML
 * file only its text, html.c), skips binary (a NUL in the first 8 KiB) and
 * oversized ones, analyzes the body and the
 * path (or a record's fields) and feeds its own seg_writer, with the raw
 * bytes whose trigrams exact search reads (a file's bytes as read, HTML
 * before its text is taken; a record's text; none for a .gz); a file the
 * walk found over --max-file-size comes as a doc of its path alone that
 * exact search always reads from disk; when the
 * writer's RAM plus its read buffer passes ram/T it finishes the segment
 * (postings sorted and written, doc store compressed, all fsynced) and the
 * next document starts another, its id from a shared counter.  The doc
 * store compression therefore runs on every worker too.
 *
 * Invariants: a worker's queue holds at most QUEUE_BATCHES batches (the
 * caller waits, calling opts->idle about every 200 ms, so it can report
 * progress); the first error of any thread is kept and stops everyone;
 * after an error every worker drains its queue without work, so the caller
 * never waits forever.  Segments a failed pipeline finished stay on disk,
 * named by no manifest: the caller's garbage collection removes them.
 *
 * Callers: build.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "input/input.h"
#include "build/build.h"
#include "input/input.h"

#define BINARY_PROBE 8192
#define BATCH_FILES 256
#define BATCH_BYTES (8u << 20)
#define QUEUE_BATCHES 64          /* per worker: the caller runs ahead by at most this */
#define MIN_WORKER_RAM (1u << 20) /* below this a segment per doc would be all overhead */
#define KEEP_BUFFER (4u << 20)    /* a bigger read buffer is freed after its file */

static const char *const field_names[] = {"body", "path", "title", "def"};

/* ITEM_LARGE: a file over --max-file-size, not read: a doc with no text,
 * its path words, and the flag that makes exact search read it from disk */
enum { ITEM_FILE, ITEM_RECORD, ITEM_LARGE };

typedef struct rec_field {
	uint32_t field;
	uint32_t len;
	size_t off; /* from the record's text */
} rec_field;

typedef struct item {
	uint8_t kind;
	bool replaces;    /* an older copy is in the index: counted as changed, not added */
	uint32_t name_len;
	size_t name_off;  /* into the batch arena; NUL-terminated */
	uint32_t rel_off; /* file: where its path relative to its root starts */
	int64_t mtime_ns;
	uint64_t size;
	size_t text_off, text_len; /* record: its text in the arena */
	uint32_t field0, nfields;  /* record: its fields in batch->fields */
} item;

typedef struct batch {
	struct batch *next;
	uint64_t seq;
	item *items;
	uint32_t n, cap;
	uint64_t bytes;
	xbuf arena;
	rec_field *fields;
	uint32_t nfields, capfields;
} batch;

/* A finished segment and where its first document came from. */
typedef struct done_seg {
	uint64_t seq;
	uint32_t item;
	seg_info info;
} done_seg;

typedef struct worker {
	pipeline *p;
	pthread_t tid;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv_item, cv_room;
	batch *head, *tail;
	uint32_t qlen;
	bool closed;

	seg_writer *w;
	uint64_t w_seq; /* where the open writer's first doc came from */
	uint32_t w_item;
	xbuf data; /* the file being read: its raw bytes */
	xbuf html; /* an HTML file's text (html.c), apart from its raw bytes */
	xbuf defs; /* the names the file defines (defs.c) */
	analyzer an; /* the index's analysis, with this thread's stemmer */
	xihu_err err;
	done_seg *segs;
	uint32_t nsegs, capsegs;
} worker;

struct pipeline {
	pipeline_opts o;
	uint64_t worker_ram;
	worker *workers;
	uint32_t nworkers;
	batch *cur; /* being filled by the caller */
	uint64_t seq;

	atomic_uint_fast64_t next_id;
	atomic_bool abort;
	pthread_mutex_t mu; /* guards err, err_set, nrunning */
	pthread_cond_t done_cv;
	uint32_t nrunning;
	bool err_set;
	xihu_err err; /* the first error of any thread */
	atomic_uint_fast64_t files, input_bytes, docs, bytes_in, added, changed;
	atomic_uint_fast64_t skipped_binary, skipped_large, skipped_error;
};

/* One warning line "xihu-index: message" (warn_line escapes its paths). */
static void warn(pipeline *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(pipeline *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vwarn_line(p->o.warnings, fmt, ap);
	va_end(ap);
}

/* Keeps the first error of any thread and stops everyone. */
static void fail(pipeline *p, const xihu_err *e)
{
	pthread_mutex_lock(&p->mu);
	if (!p->err_set) {
		p->err_set = true;
		p->err = *e;
		if (!p->err.code)
			p->err.code = XIHU_EIO;
	}
	pthread_mutex_unlock(&p->mu);
	atomic_store(&p->abort, true);
}

/* The first error, into err; its code. */
static int first_error(pipeline *p, xihu_err *err)
{
	pthread_mutex_lock(&p->mu);
	int code = p->err.code;
	if (err)
		*err = p->err;
	pthread_mutex_unlock(&p->mu);
	return code;
}

static void deadline_200ms(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_nsec += 200000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

/* ---- batches and queues --------------------------------------------------- */

static void batch_free(batch *bt)
{
	if (!bt)
		return;
	free(bt->items);
	free(bt->fields);
	xbuf_free(&bt->arena);
	free(bt);
}

/* The next item of the batch being filled (opened if needed), zeroed. */
static item *next_item(pipeline *p)
{
	if (!p->cur) {
		if (!(p->cur = calloc(1, sizeof *p->cur)))
			return NULL;
		p->cur->seq = p->seq++;
		xbuf_init(&p->cur->arena);
	}
	batch *bt = p->cur;
	if (bt->n == bt->cap) {
		uint32_t c = bt->cap ? 2 * bt->cap : BATCH_FILES;
		item *v = realloc(bt->items, c * sizeof *v);
		if (!v)
			return NULL;
		bt->items = v;
		bt->cap = c;
	}
	item *it = &bt->items[bt->n];
	memset(it, 0, sizeof *it);
	return it;
}

/* Hands the batch being filled to worker seq % T, waiting while its queue is full. */
static int send_batch(pipeline *p, xihu_err *err)
{
	batch *bt = p->cur;
	if (!bt || bt->n == 0)
		return 0;
	p->cur = NULL;
	if (bt->arena.rc) {
		batch_free(bt);
		return xihu_err_set(err, XIHU_ENOMEM, "out of memory");
	}
	worker *wk = &p->workers[bt->seq % p->nworkers];
	pthread_mutex_lock(&wk->mu);
	while (wk->qlen >= QUEUE_BATCHES && !atomic_load(&p->abort)) {
		struct timespec ts;
		deadline_200ms(&ts);
		pthread_cond_timedwait(&wk->cv_room, &wk->mu, &ts);
		pthread_mutex_unlock(&wk->mu);
		if (p->o.idle)
			p->o.idle(p->o.idle_ctx);
		pthread_mutex_lock(&wk->mu);
	}
	if (atomic_load(&p->abort)) {
		pthread_mutex_unlock(&wk->mu);
		batch_free(bt);
		return first_error(p, err);
	}
	if (wk->tail)
		wk->tail->next = bt;
	else
		wk->head = bt;
	wk->tail = bt;
	wk->qlen++;
	pthread_cond_signal(&wk->cv_item);
	pthread_mutex_unlock(&wk->mu);
	return 0;
}

/* The item just filled is in: send the batch when it is full. */
static int item_done(pipeline *p, uint64_t bytes, xihu_err *err)
{
	batch *bt = p->cur;
	bt->n++;
	bt->bytes += bytes;
	if (bt->n >= BATCH_FILES || bt->bytes >= BATCH_BYTES)
		return send_batch(p, err);
	return 0;
}

static batch *pop(worker *wk)
{
	pthread_mutex_lock(&wk->mu);
	while (!wk->head && !wk->closed)
		pthread_cond_wait(&wk->cv_item, &wk->mu);
	batch *bt = wk->head;
	if (bt) {
		wk->head = bt->next;
		if (!wk->head)
			wk->tail = NULL;
		wk->qlen--;
		pthread_cond_signal(&wk->cv_room);
	}
	pthread_mutex_unlock(&wk->mu);
	return bt;
}

/* ---- a worker: files and records -> segments --------------------------------- */

/* Reads a whole file (inflating .gz) into wk->data.  Returns 0 with *skipped
 * set when it is not to be indexed (unreadable, vanished, no longer a regular
 * file, too large, binary), or an error code (out of memory). */
static int read_file(worker *wk, const char *path, uint64_t size, bool *skipped)
{
	pipeline *p = wk->p;
	xbuf *data = &wk->data;
	atomic_uint_fast64_t *skip = &p->skipped_error;
	xbuf_reset(data);
	*skipped = true;
	size_t plen = strlen(path);
	bool gz = plen > 3 && !strcmp(path + plen - 3, ".gz");
	/* O_NONBLOCK: the walk saw a regular file, but by now a FIFO may have
	 * taken its name, and opening that would wait for a writer forever */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		if (errno != ENOENT) /* vanished since the walk: not worth a word */
			warn(p, "%s: %s (skipped)", path, strerror(errno));
		goto skip;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) { /* a device would never end */
		warn(p, "%s: no longer a regular file (skipped)", path);
		close(fd);
		goto skip;
	}
	if (gz) {
		xihu_err e;
		int rc = gunzip_fd(fd, path, p->o.max_file_size, data, &e); /* closes fd */
		if (rc == XIHU_ENOMEM) {
			wk->err = e;
			return rc;
		}
		if (rc == XIHU_ELIMIT) {
			warn(p, "%s: inflates to more than --max-file-size %" PRIu64 " bytes (skipped)", path,
			     p->o.max_file_size);
			skip = &p->skipped_large;
			goto skip;
		}
		if (rc) { /* corrupt, truncated, unreadable */
			warn(p, "%s (skipped)", e.msg);
			goto skip;
		}
	} else {
		if (!xbuf_reserve(data, (size_t)size + 1)) {
			close(fd);
			return xihu_err_set(&wk->err, XIHU_ENOMEM, "%s: out of memory", path);
		}
		for (;;) {
			if (!xbuf_reserve(data, 1)) {
				close(fd);
				return xihu_err_set(&wk->err, XIHU_ENOMEM, "%s: out of memory", path);
			}
			ssize_t n = read(fd, data->p + data->len, data->cap - data->len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				warn(p, "%s: offset %zu: %s (skipped)", path, data->len, strerror(errno));
				close(fd);
				goto skip;
			}
			if (n == 0)
				break;
			data->len += (size_t)n;
			if (data->len > p->o.max_file_size) { /* grew while we read */
				warn(p, "%s: grew past --max-file-size %" PRIu64 " bytes while read (skipped)", path,
				     p->o.max_file_size);
				close(fd);
				skip = &p->skipped_large;
				goto skip;
			}
		}
		close(fd);
	}
	size_t probe = data->len < BINARY_PROBE ? data->len : BINARY_PROBE;
	if (memchr(data->p, 0, probe)) {
		skip = &p->skipped_binary;
		goto skip;
	}
	*skipped = false;
	return 0;
skip:
	atomic_fetch_add(skip, 1);
	return 0;
}

/* Adds the tokens of text to field, from position *pos on; leaves *pos past
 * them with a gap of one, so a phrase never spans two values of a field.
 * An identifier's whole form shares its first part's position (analyze.c). */
static void add_field(seg_writer *w, analyzer *an, uint32_t field, const char *text, size_t len, uint32_t *pos)
{
	token t;
	bool any = false;
	analyzer_reset(an, text, len, 0);
	while (analyzer_next(an, &t)) {
		if (t.whole)
			seg_writer_add_overlap(w, field, t.term, t.len, *pos + t.pos);
		else
			seg_writer_add_token(w, field, t.term, t.len, *pos + t.pos);
		any = true;
	}
	if (any)
		*pos += an->pos + 1;
}

/* One term of field def: the first counts in its length, the rest overlap
 * (add_defs). */
static void add_def(seg_writer *w, bool *counted, const char *term, uint32_t len, uint32_t pos)
{
	if (*counted)
		seg_writer_add_overlap(w, FIELD_DEF, term, len, pos);
	else
		seg_writer_add_token(w, FIELD_DEF, term, len, pos);
	*counted = true;
}

/* The names a file defines (defs.c) into field def.  An identifier goes
 * in whole, lowercased (XIHU_DEF_WHOLE: what a query word typed as an
 * identifier looks for there, qnode.whole_def), never as its parts:
 * dev_get_iflink must not find the file defining vlan_dev_get_iflink.
 * Not every name also as written: case-exact terms made the index 13%
 * bigger again (852 MB against 754 for Linux) for success@1 95% -> 99% in
 * Go and Python (bench/code-probe), where Close and close differ.  Only a
 * name of mixed case (whileStatement, WhileStatement, Poll) gets its
 * second, exact term (defs_exact_term), which a query word of mixed case
 * also looks up: C's names and macros are of one case.  Anything else
 * (a Markdown heading, a non-ASCII name) is analyzed as text.  Only the first token counts in the field's
 * length, so every file that defines anything has length 1: a definition
 * weighs the same in a file of three as in mm/slub.c with its 317 (with
 * lengths counted, bench/code-probe's misses on Linux were such big
 * files).  Not 0: a field of total length 0 is taken as absent. */
static void add_defs(worker *wk, const char *path, size_t path_len, const char *text, size_t len)
{
	if (wk->defs.rc || wk->defs.cap > KEEP_BUFFER) { /* after a failure, or a file of huge tables */
		xbuf_free(&wk->defs);
		xbuf_init(&wk->defs);
	}
	xbuf_reset(&wk->defs);
	if (!defs_find(path, path_len, text, len, &wk->defs) || wk->defs.rc)
		return; /* out of memory: the file is indexed without its names */
	bool counted = false;
	char term[XIHU_MAX_TERM];
	uint32_t at = 0;
	for (const char *l = (const char *)wk->defs.p, *e = l + wk->defs.len; l < e;) {
		const char *nl = memchr(l, '\n', (size_t)(e - l));
		size_t n = (size_t)(nl - l); /* defs_find ends every name with '\n' */
		size_t tl = defs_whole_term(l, n, term);
		if (tl) {
			add_def(wk->w, &counted, term, (uint32_t)tl, at);
			/* a mixed-case name also as written, in the same place */
			if ((tl = defs_exact_term(l, n, term)) != 0)
				add_def(wk->w, &counted, term, (uint32_t)tl, at);
			at++;
		} else {
			analyzer *an = &wk->an;
			token t;
			bool any = false;
			analyzer_reset(an, l, n, 0);
			while (analyzer_next(an, &t)) {
				add_def(wk->w, &counted, t.term, t.len, at + t.pos);
				any = true;
			}
			if (any)
				at += an->pos + 1; /* a gap: no phrase spans two names */
		}
		l = nl + 1;
	}
}

static int finish_segment(worker *wk)
{
	seg_writer *w = wk->w;
	if (!w)
		return 0;
	wk->w = NULL;
	if (wk->nsegs == wk->capsegs) {
		uint32_t c = wk->capsegs ? 2 * wk->capsegs : 8;
		done_seg *v = realloc(wk->segs, c * sizeof *v);
		if (!v) {
			seg_writer_free(w);
			return xihu_err_set(&wk->err, XIHU_ENOMEM, "out of memory");
		}
		wk->segs = v;
		wk->capsegs = c;
	}
	done_seg *ds = &wk->segs[wk->nsegs];
	ds->seq = wk->w_seq;
	ds->item = wk->w_item;
	int rc = seg_writer_finish(w, &ds->info, &wk->err);
	seg_writer_free(w);
	if (rc)
		return rc;
	wk->nsegs++;
	return 0;
}

static bool is_pairword(const void *an, const char *term, uint32_t len)
{
	return analysis_is_pairword(an, term, len);
}

/* Opens a writer for the doc at (seq, item) if none is open. */
static int need_writer(worker *wk, uint64_t seq, uint32_t i)
{
	if (wk->w)
		return 0;
	uint64_t id = atomic_fetch_add(&wk->p->next_id, 1);
	wk->w_seq = seq;
	wk->w_item = i;
	int rc = seg_writer_new(wk->p->o.dir, id, 4, field_names, &wk->w, &wk->err);
	if (!rc && analysis_npairwords(wk->p->o.an))
		seg_writer_set_pairs(wk->w, is_pairword, wk->p->o.an);
	return rc;
}

static int add_item(worker *wk, const batch *bt, uint32_t i)
{
	pipeline *p = wk->p;
	const item *it = &bt->items[i];
	const char *name = (const char *)bt->arena.p + it->name_off;
	seg_doc_in d = {.name = name, .name_len = it->name_len, .mtime_ns = it->mtime_ns, .size = it->size};
	int rc;
	if (it->kind == ITEM_FILE) {
		bool skipped;
		rc = read_file(wk, name, it->size, &skipped);
		atomic_fetch_add(&p->files, 1);
		atomic_fetch_add(&p->input_bytes, it->size);
		if (rc || skipped)
			return rc;
		d.text = (const char *)wk->data.p;
		d.text_len = wk->data.len;
		/* exact search reads the file's bytes as they are, as ripgrep
		 * would; a .gz is binary to it (without -z) */
		if (it->name_len < 3 || memcmp(name + it->name_len - 3, ".gz", 3) != 0) {
			d.raw = d.text;
			d.raw_len = d.text_len;
		}
		if (html_is_html_name(name, it->name_len)) { /* its text, apart from the raw bytes (html.c) */
			if (!xbuf_reserve(&wk->html, wk->data.len + 1))
				return xihu_err_set(&wk->err, XIHU_ENOMEM, "%s: out of memory", name);
			d.text = (const char *)wk->html.p;
			d.text_len = html_text((const char *)wk->data.p, wk->data.len, (char *)wk->html.p);
		}
	} else if (it->kind == ITEM_LARGE) {
		d.always = true;
	} else {
		d.record = true;
		d.text = (const char *)bt->arena.p + it->text_off;
		d.text_len = it->text_len;
		d.raw = d.text;
		d.raw_len = d.text_len;
		atomic_fetch_add(&p->input_bytes, it->text_len);
	}
	rc = need_writer(wk, bt->seq, i);
	if (!rc && (rc = seg_writer_begin_doc(wk->w, &d)) == XIHU_ELIMIT && seg_writer_ndocs(wk->w) > 0) {
		/* the segment is full: the next one takes the doc */
		if (!(rc = finish_segment(wk)) && !(rc = need_writer(wk, bt->seq, i)))
			rc = seg_writer_begin_doc(wk->w, &d);
	}
	if (rc)
		return rc;
	if (it->kind != ITEM_RECORD) {
		uint32_t pos[2] = {0, 0};
		add_field(wk->w, &wk->an, FIELD_BODY, d.text, d.text_len, &pos[0]);
		add_field(wk->w, &wk->an, FIELD_PATH, name + it->rel_off, it->name_len - it->rel_off, &pos[1]);
		if (it->kind == ITEM_FILE)
			add_defs(wk, name, it->name_len, d.text, d.text_len);
	} else {
		uint32_t pos[XIHU_MAX_FIELDS] = {0};
		for (uint32_t f = 0; f < it->nfields; f++) {
			const rec_field *rf = &bt->fields[it->field0 + f];
			add_field(wk->w, &wk->an, rf->field, d.text + rf->off, rf->len, &pos[rf->field]);
		}
	}
	if ((rc = seg_writer_end_doc(wk->w)))
		return rc;
	if (it->kind == ITEM_LARGE) /* counted by the walk as skipped, and nothing else */
		return 0;
	atomic_fetch_add(&p->docs, 1);
	atomic_fetch_add(&p->bytes_in, d.text_len);
	atomic_fetch_add(it->replaces ? &p->changed : &p->added, 1);
	if (seg_writer_mem(wk->w) + wk->data.cap + wk->html.cap >= p->worker_ram)
		rc = finish_segment(wk);
	if (wk->data.cap > KEEP_BUFFER) {
		xbuf_free(&wk->data);
		xbuf_init(&wk->data);
	}
	if (wk->html.cap > KEEP_BUFFER) {
		xbuf_free(&wk->html);
		xbuf_init(&wk->html);
	}
	return rc;
}

static void *worker_main(void *arg)
{
	worker *wk = arg;
	pipeline *p = wk->p;
	batch *bt;
	if (analyzer_open(&wk->an, p->o.an, &wk->err))
		fail(p, &wk->err); /* then drain like after any error */
	while ((bt = pop(wk))) {
		int rc = 0;
		for (uint32_t i = 0; i < bt->n && !rc && !atomic_load(&p->abort); i++)
			rc = add_item(wk, bt, i);
		batch_free(bt);
		if (rc) /* then keep draining: the caller never waits on us */
			fail(p, &wk->err);
	}
	if (!atomic_load(&p->abort) && finish_segment(wk))
		fail(p, &wk->err);
	seg_writer_free(wk->w); /* abandoned after an error: unlinks its files */
	wk->w = NULL;
	xbuf_free(&wk->data);
	xbuf_free(&wk->html);
	xbuf_free(&wk->defs);
	analyzer_close(&wk->an);
	pthread_mutex_lock(&p->mu);
	p->nrunning--;
	pthread_cond_signal(&p->done_cv);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* ---- the interface ------------------------------------------------------------ */

int pipeline_start(const pipeline_opts *o, pipeline **out, xihu_err *err)
{
	*out = NULL;
	pipeline *p = calloc(1, sizeof *p);
	if (!p)
		return xihu_err_set(err, XIHU_ENOMEM, "out of memory");
	p->o = *o;
	p->nworkers = o->threads ? o->threads : 1;
	p->worker_ram = o->ram_bytes / p->nworkers;
	if (p->worker_ram < MIN_WORKER_RAM)
		p->worker_ram = MIN_WORKER_RAM;
	atomic_init(&p->next_id, o->first_seg_id);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->done_cv, NULL);
	if (!(p->workers = calloc(p->nworkers, sizeof *p->workers))) {
		pipeline_free(p);
		return xihu_err_set(err, XIHU_ENOMEM, "out of memory");
	}
	for (uint32_t i = 0; i < p->nworkers; i++) {
		worker *wk = &p->workers[i];
		wk->p = p;
		pthread_mutex_init(&wk->mu, NULL);
		pthread_cond_init(&wk->cv_item, NULL);
		pthread_cond_init(&wk->cv_room, NULL);
		xbuf_init(&wk->data);
		xbuf_init(&wk->html);
		xbuf_init(&wk->defs);
	}
	for (uint32_t i = 0; i < p->nworkers; i++) {
		worker *wk = &p->workers[i];
		pthread_mutex_lock(&p->mu);
		p->nrunning++;
		pthread_mutex_unlock(&p->mu);
		int e = pthread_create(&wk->tid, NULL, worker_main, wk);
		if (e) {
			pthread_mutex_lock(&p->mu);
			p->nrunning--;
			pthread_mutex_unlock(&p->mu);
			pipeline_free(p);
			return xihu_err_set(err, XIHU_ENOMEM, "starting a thread: %s", strerror(e));
		}
		wk->started = true;
	}
	*out = p;
	return 0;
}

int pipeline_add_file(pipeline *p, const char *path, size_t len, size_t rel_off, int64_t mtime_ns, uint64_t size,
                      bool replaces, bool large, xihu_err *err)
{
	if (atomic_load(&p->abort))
		return first_error(p, err);
	item *it = next_item(p);
	if (!it)
		return xihu_err_set(err, XIHU_ENOMEM, "out of memory");
	batch *bt = p->cur;
	it->kind = large ? ITEM_LARGE : ITEM_FILE;
	it->replaces = replaces;
	it->name_off = bt->arena.len;
	it->name_len = (uint32_t)len;
	it->rel_off = (uint32_t)rel_off;
	it->mtime_ns = mtime_ns;
	it->size = size;
	xbuf_put(&bt->arena, path, len);
	xbuf_put_u8(&bt->arena, 0);
	return item_done(p, large ? 0 : size, err);
}

int pipeline_add_record(pipeline *p, const struct jsonl_record *rec, uint64_t size, int64_t mtime_ns,
                        xihu_err *err)
{
	if (atomic_load(&p->abort))
		return first_error(p, err);
	item *it = next_item(p);
	if (!it)
		return xihu_err_set(err, XIHU_ENOMEM, "out of memory");
	batch *bt = p->cur;
	if (bt->nfields + rec->nfields > bt->capfields) {
		uint32_t c = bt->capfields ? bt->capfields : 64;
		while (c < bt->nfields + rec->nfields)
			c *= 2;
		rec_field *v = realloc(bt->fields, c * sizeof *v);
		if (!v)
			return xihu_err_set(err, XIHU_ENOMEM, "out of memory");
		bt->fields = v;
		bt->capfields = c;
	}
	it->kind = ITEM_RECORD;
	it->name_off = bt->arena.len;
	it->name_len = rec->id_len;
	it->size = size;
	it->mtime_ns = mtime_ns;
	xbuf_put(&bt->arena, rec->id, rec->id_len);
	xbuf_put_u8(&bt->arena, 0);
	it->text_off = bt->arena.len;
	it->text_len = rec->text_len;
	xbuf_put(&bt->arena, rec->text, rec->text_len);
	it->field0 = bt->nfields;
	it->nfields = rec->nfields;
	for (uint32_t i = 0; i < rec->nfields; i++)
		bt->fields[bt->nfields++] = (rec_field){.field = rec->fields[i].field, .len = rec->fields[i].len,
		                                        .off = (size_t)(rec->fields[i].value - rec->text)};
	return item_done(p, rec->text_len, err);
}

void pipeline_get_counts(pipeline *p, pipeline_counts *out)
{
	out->files = atomic_load(&p->files);
	out->input_bytes = atomic_load(&p->input_bytes);
	out->docs = atomic_load(&p->docs);
	out->bytes_in = atomic_load(&p->bytes_in);
	out->added = atomic_load(&p->added);
	out->changed = atomic_load(&p->changed);
	out->skipped_binary = atomic_load(&p->skipped_binary);
	out->skipped_large = atomic_load(&p->skipped_large);
	out->skipped_error = atomic_load(&p->skipped_error);
	out->next_seg_id = atomic_load(&p->next_id);
}

static int cmp_done_seg(const void *a, const void *b)
{
	const done_seg *x = a, *y = b;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->item < y->item ? -1 : x->item > y->item;
}

/* Closes the queues and waits for every worker, calling idle meanwhile. */
static void stop(pipeline *p)
{
	for (uint32_t i = 0; i < p->nworkers; i++) {
		worker *wk = &p->workers[i];
		pthread_mutex_lock(&wk->mu);
		wk->closed = true;
		pthread_cond_signal(&wk->cv_item);
		pthread_mutex_unlock(&wk->mu);
	}
	pthread_mutex_lock(&p->mu);
	while (p->nrunning > 0) {
		struct timespec ts;
		deadline_200ms(&ts);
		pthread_cond_timedwait(&p->done_cv, &p->mu, &ts);
		pthread_mutex_unlock(&p->mu);
		if (p->o.idle)
			p->o.idle(p->o.idle_ctx);
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	for (uint32_t i = 0; i < p->nworkers; i++)
		if (p->workers[i].started) {
			pthread_join(p->workers[i].tid, NULL);
			p->workers[i].started = false;
		}
}

int pipeline_finish(pipeline *p, seg_info **segs, uint32_t *nsegs, xihu_err *err)
{
	*segs = NULL;
	*nsegs = 0;
	int rc = atomic_load(&p->abort) ? 0 : send_batch(p, err);
	if (rc)
		fail(p, err);
	stop(p);
	if (atomic_load(&p->abort))
		return first_error(p, err);
	uint32_t n = 0;
	for (uint32_t i = 0; i < p->nworkers; i++)
		n += p->workers[i].nsegs;
	done_seg *all = malloc((n ? n : 1) * sizeof *all);
	seg_info *out = malloc((n ? n : 1) * sizeof *out);
	if (!all || !out) {
		free(all);
		free(out);
		return xihu_err_set(err, XIHU_ENOMEM, "out of memory");
	}
	n = 0;
	for (uint32_t i = 0; i < p->nworkers; i++)
		for (uint32_t j = 0; j < p->workers[i].nsegs; j++)
			all[n++] = p->workers[i].segs[j];
	qsort(all, n, sizeof *all, cmp_done_seg);
	for (uint32_t i = 0; i < n; i++)
		out[i] = all[i].info;
	free(all);
	*segs = out;
	*nsegs = n;
	return 0;
}

void pipeline_free(pipeline *p)
{
	if (!p)
		return;
	if (p->workers) {
		atomic_store(&p->abort, true);
		stop(p);
		for (uint32_t i = 0; i < p->nworkers; i++) {
			worker *wk = &p->workers[i];
			batch *bt = wk->head;
			while (bt) {
				batch *next = bt->next;
				batch_free(bt);
				bt = next;
			}
			free(wk->segs);
			xbuf_free(&wk->data);
			xbuf_free(&wk->html);
			xbuf_free(&wk->defs);
			pthread_mutex_destroy(&wk->mu);
			pthread_cond_destroy(&wk->cv_item);
			pthread_cond_destroy(&wk->cv_room);
		}
		free(p->workers);
	}
	batch_free(p->cur);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->done_cv);
	free(p);
}
