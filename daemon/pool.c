/*
 * pool.c: the worker threads that run requests, and the free list of jobs.
 * What running a job means is its owner's: the pool calls the run callback
 * given to pool_new (server.c's serve_job, which calls the handler) and
 * hands finished jobs to the deliver callback (conn_job_done); it never
 * calls the handler or a connection by name.
 *
 * The loop thread collects the jobs of one event loop iteration and then
 * publishes them at once (pool_flush) to a queue (a singly linked list under
 * a mutex, and a semaphore counting its jobs, so a worker sleeps only when
 * there is nothing to take and is woken by exactly one post) -- or, for a
 * lone job while all workers are idle, runs it on the loop thread itself
 * within INLINE_BUDGET_US (when run gives up, because the search wants its
 * hits' lines, its plan is big or it runs past the budget, a worker runs it
 * from the start); --threads workers take them front to back, run them with
 * the job's own index reference, drop the reference and append the job to
 * the done list.  The worker that makes the done list non-empty writes to
 * an eventfd; the loop's callback takes the whole list and hands each job
 * to deliver.  So the loop is woken at most once per batch however many
 * jobs come back, and a worker never touches libevent.
 *
 * Invariants: a job is in exactly one place: the free list (loop thread
 * only), the queue, a worker's hands, the done list, or with its connection.
 * Jobs come back in any order; putting answers in request order is the
 * connection's business.  The index reference is dropped where the job ran,
 * so the last request on an old snapshot unmaps it on a worker.
 *
 * Callers: server.c makes, flushes and frees the pool (its loop); conn.c
 * gets, submits and puts back jobs.  All of it on the loop thread.
 *
 * Memory: the free list keeps at most FREE_MAX jobs, and a job returned with
 * a request or reply buffer over KEEP_BYTES gives that buffer back, so what
 * stays resident after any burst is at most FREE_MAX * (2 * KEEP_BYTES + a
 * job), about 4 MiB.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "xihud.h"

/* A lone job the loop thread runs itself gives up after this long and goes
 * to a worker (handler.c also sends a big plan or one that wants lines
 * there at once: INLINE_MAX_COST). */
#define INLINE_BUDGET_US 1000
#define FREE_MAX 256
#define KEEP_BYTES (8u << 10) /* a top-10 answer without lines is about 1 KiB */

struct pool {
	pthread_mutex_t mu;
	struct job *head, *tail; /* published, not yet taken */
	sem_t jobs;              /* one post per published job, one per worker at stop */
	bool stopping;

	pthread_mutex_t done_mu;
	struct job *done; /* back from the workers, any order */
	struct job *progress; /* streams with new frames (pool_progress) */
	_Atomic unsigned detached; /* jobs on threads of their own (pool_try_detach) */

	int efd;
	struct event *ev;
	pool_run_fn *run;
	pool_deliver_fn *deliver, *on_progress;

	pthread_t *threads;
	unsigned nthreads;

	struct job *pend_head, *pend_tail; /* loop thread: submitted, not yet published */
	unsigned npend;
	unsigned outstanding; /* loop thread: published, not yet delivered back */
	uint64_t njobs;       /* loop thread: jobs run inline or published, ever */

	struct job *free; /* loop thread only */
	unsigned nfree;
};

/* Drops j's index reference and puts it on the done list, waking the loop. */
/* Wakes the loop thread (its eventfd), when the lists it drains were empty. */
static void wake(struct pool *p, bool was_empty)
{
	if (was_empty) {
		uint64_t one = 1;
		ssize_t w = write(p->efd, &one, sizeof one);
		(void)w; /* only fails when the counter is saturated: already woken */
	}
}

static void finish(struct pool *p, struct job *j)
{
	xihu_index_unref(j->ctx.ix);
	j->ctx.ix = NULL;
	pthread_mutex_lock(&p->done_mu);
	bool was_empty = !p->done && !p->progress;
	j->next = p->done;
	p->done = j;
	pthread_mutex_unlock(&p->done_mu);
	wake(p, was_empty);
}

void pool_job_finish(struct pool *p, struct job *j)
{
	finish(p, j);
	atomic_fetch_sub(&p->detached, 1);
}

bool pool_try_detach(struct pool *p)
{
	unsigned n = atomic_load(&p->detached);
	while (n < POOL_MAX_DETACHED)
		if (atomic_compare_exchange_weak(&p->detached, &n, n + 1))
			return true;
	return false;
}

void pool_detach_failed(struct pool *p)
{
	atomic_fetch_sub(&p->detached, 1);
}

void pool_progress(struct pool *p, struct job *j)
{
	pthread_mutex_lock(&p->done_mu);
	bool was_empty = !p->done && !p->progress;
	if (!j->in_progress) {
		j->in_progress = true;
		j->pnext = p->progress;
		p->progress = j;
	}
	pthread_mutex_unlock(&p->done_mu);
	wake(p, was_empty);
}

static void *worker(void *arg)
{
	struct pool *p = arg;
	for (;;) {
		while (sem_wait(&p->jobs) < 0) /* EINTR */
			;
		pthread_mutex_lock(&p->mu);
		struct job *j = p->head;
		if (!j) { /* stopping and nothing left */
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		p->head = j->next;
		if (!p->head)
			p->tail = NULL;
		pthread_mutex_unlock(&p->mu);

		if (p->run(j, 0) == RUN_DETACHED)
			continue; /* its own thread finishes it (pool_job_finish) */
		finish(p, j);
	}
}

/* Delivers the done list; the loop's eventfd callback, and pool_free. */
static void drain_done(struct pool *p)
{
	pthread_mutex_lock(&p->done_mu);
	struct job *j = p->done;
	p->done = NULL;
	struct job *pr = p->progress;
	p->progress = NULL;
	for (struct job *k = pr; k; k = k->pnext)
		k->in_progress = false;
	pthread_mutex_unlock(&p->done_mu);
	/* streams first: a job on both lists is still alive here (its frames
	 * go out before its last one) */
	while (pr) {
		struct job *next = pr->pnext;
		p->on_progress(p, pr);
		pr = next;
	}
	/* the list is newest first: reverse it so answers go out in finishing order */
	struct job *rev = NULL;
	while (j) {
		struct job *next = j->next;
		j->next = rev;
		rev = j;
		j = next;
	}
	while (rev) {
		struct job *next = rev->next;
		rev->next = NULL;
		p->outstanding--;
		p->deliver(p, rev);
		rev = next;
	}
}

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	uint64_t n;
	ssize_t r = read(fd, &n, sizeof n);
	(void)r; /* EAGAIN: a spurious wake-up, the list is simply empty */
	drain_done(arg);
}

struct pool *pool_new(struct event_base *base, unsigned nthreads, pool_run_fn *run,
                      pool_deliver_fn *deliver, pool_deliver_fn *progress)
{
	struct pool *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->run = run;
	p->deliver = deliver;
	p->on_progress = progress;
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	p->threads = calloc(nthreads, sizeof *p->threads);
	if (p->efd < 0 || !p->threads) {
		xihud_error("worker pool: %s", p->efd < 0 ? strerror(errno) : "out of memory");
		goto fail;
	}
	/* the critical sections are a few pointer moves: spin a little before sleeping */
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ADAPTIVE_NP);
	pthread_mutex_init(&p->mu, &ma);
	pthread_mutex_init(&p->done_mu, &ma);
	pthread_mutexattr_destroy(&ma);
	sem_init(&p->jobs, 0, 0);
	p->ev = event_new(base, p->efd, EV_READ | EV_PERSIST, wake_cb, p);
	if (!p->ev || event_add(p->ev, NULL) < 0) {
		xihud_error("worker pool: event set-up failed");
		goto fail_locks;
	}
	for (; p->nthreads < nthreads; p->nthreads++) {
		int e = pthread_create(&p->threads[p->nthreads], NULL, worker, p);
		if (e) {
			xihud_error("worker pool: starting thread %u: %s", p->nthreads + 1, strerror(e));
			pool_free(p);
			return NULL;
		}
	}
	return p;
fail_locks:
	if (p->ev)
		event_free(p->ev);
	pthread_mutex_destroy(&p->mu);
	sem_destroy(&p->jobs);
	pthread_mutex_destroy(&p->done_mu);
fail:
	if (p->efd >= 0)
		close(p->efd);
	free(p->threads);
	free(p);
	return NULL;
}

void pool_free(struct pool *p)
{
	if (!p)
		return;
	pool_flush(p);
	pthread_mutex_lock(&p->mu);
	p->stopping = true;
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->nthreads; i++)
		sem_post(&p->jobs); /* each worker takes what is left, then sees the end */
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	/* streams still being made: their connections are gone, so they stop */
	while (atomic_load(&p->detached)) {
		drain_done(p);
		usleep(10000);
	}
	drain_done(p);
	while (p->free) {
		struct job *j = p->free;
		p->free = j->next;
		free(j->frame);
		reply_free(&j->out);
		free(j);
	}
	event_free(p->ev);
	close(p->efd);
	pthread_mutex_destroy(&p->mu);
	sem_destroy(&p->jobs);
	pthread_mutex_destroy(&p->done_mu);
	free(p->threads);
	free(p);
}

struct job *pool_job_get(struct pool *p)
{
	struct job *j = p->free;
	if (j) {
		p->free = j->next;
		p->nfree--;
	} else {
		j = calloc(1, sizeof *j);
		if (!j)
			return NULL;
	}
	j->next = j->fifo_next = j->pnext = NULL;
	j->in_progress = false;
	j->pool = p;
	j->stream = NULL;
	j->conn = NULL;
	j->done = false;
	j->act = HANDLER_CONTINUE;
	memset(&j->ctx, 0, sizeof j->ctx);
	j->len = 0;
	j->out.len = 0;
	return j;
}

void pool_job_put(struct pool *p, struct job *j)
{
	stream_free(j->stream);
	j->stream = NULL;
	if (j->ctx.ix) { /* never submitted */
		xihu_index_unref(j->ctx.ix);
		j->ctx.ix = NULL;
	}
	if (p->nfree >= FREE_MAX) {
		free(j->frame);
		reply_free(&j->out);
		free(j);
		return;
	}
	if (j->cap > KEEP_BYTES) {
		free(j->frame);
		j->frame = NULL;
		j->cap = 0;
	}
	if (j->out.cap > KEEP_BYTES)
		reply_free(&j->out);
	j->next = p->free;
	p->free = j;
	p->nfree++;
}

void pool_submit(struct pool *p, struct job *j)
{
	j->next = NULL;
	if (p->pend_tail)
		p->pend_tail->next = j;
	else
		p->pend_head = j;
	p->pend_tail = j;
	p->npend++;
}

/* Runs a job on the calling (loop) thread, as a worker would, within
 * INLINE_BUDGET_US; false (nothing delivered) when the search needs longer. */
static bool run_inline(struct pool *p, struct job *j)
{
	if (!p->run(j, xihud_now_ns() + INLINE_BUDGET_US * 1000u))
		return false;
	xihu_index_unref(j->ctx.ix);
	j->ctx.ix = NULL;
	p->deliver(p, j);
	return true;
}

uint64_t pool_jobs(const struct pool *p)
{
	return p->njobs;
}

bool pool_idle(const struct pool *p)
{
	return p->outstanding == 0 && p->npend == 0;
}

void pool_flush(struct pool *p)
{
	/* A lone request while every worker is idle runs right here: handing it
	 * over would cost two thread wake-ups (~25 us here) for nothing, as the
	 * loop would only wait for it.  But the loop must not stall other
	 * clients: a search whose plan may match more than INLINE_MAX_COST
	 * documents goes to a worker before it starts (its lookups cost a few
	 * us), and one still running after INLINE_BUDGET_US stops and starts
	 * over on a worker.  Its answer may submit the next request of a
	 * pipelining client: go round again. */
	while (p->npend == 1 && p->outstanding == 0) {
		struct job *j = p->pend_head;
		p->pend_head = p->pend_tail = NULL;
		p->npend = 0;
		p->njobs++;
		if (!run_inline(p, j)) {
			pool_submit(p, j);
			break;
		}
	}
	if (!p->pend_head)
		return;
	pthread_mutex_lock(&p->mu);
	if (p->tail)
		p->tail->next = p->pend_head;
	else
		p->head = p->pend_head;
	p->tail = p->pend_tail;
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->npend; i++)
		sem_post(&p->jobs); /* a system call only when a worker sleeps */
	p->outstanding += p->npend;
	p->njobs += p->npend;
	p->pend_head = p->pend_tail = NULL;
	p->npend = 0;
}
