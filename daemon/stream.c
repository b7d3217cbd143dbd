/*
 * stream.c: an answer of many frames (a grep's) on its way from the thread
 * that makes it to its connection, with backpressure.
 *
 * The maker (a stream thread, server.c) pushes whole packed frames; the
 * loop thread takes them, in order, into the connection's output when the
 * job is at the front of its connection's FIFO and the output has room
 * (conn.c's deliver_ready).  A push waits while more than STREAM_HIGH bytes
 * are queued, so a client that reads slowly holds the maker back instead
 * of making the daemon buffer its answer: per stream at most STREAM_HIGH
 * bytes and one frame here, plus the connection's own bounded output.  The
 * wait gives up when the job is cancelled (its connection went away: the
 * loop frees it at once, conn.c) and looks at that flag at least every
 * WAIT_MS, so an abandoned maker ends soon.
 *
 * Callers: server.c (stream_new, when it starts a stream thread, with the
 * job's cancelled flag and a wake that tells the pool; the handler pushes
 * through handler_ctx.push), conn.c (stream_take on the loop thread),
 * pool.c (stream_free when the job is put back).  It calls nothing of the
 * daemon's.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xihud.h"

#define STREAM_HIGH (512u << 10) /* bytes queued before a push waits */
#define WAIT_MS 100

struct chunk {
	struct chunk *next;
	size_t len;
	uint8_t *data; /* the frame the maker handed over (malloc'd) */
};

struct stream {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct chunk *head, *tail;
	size_t queued;
	const _Atomic bool *gone; /* the job's cancelled flag */
	void (*wake)(void *arg);  /* frames are queued where there were none */
	void *wake_arg;
};

struct stream *stream_new(const _Atomic bool *gone, void (*wake)(void *arg), void *wake_arg)
{
	struct stream *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	s->gone = gone;
	s->wake = wake;
	s->wake_arg = wake_arg;
	return s;
}

void stream_free(struct stream *s)
{
	if (!s)
		return;
	while (s->head) {
		struct chunk *c = s->head;
		s->head = c->next;
		stream_chunk_free(c);
	}
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
}

bool stream_push(void *arg, uint8_t *frame, size_t len)
{
	struct stream *s = arg;
	const _Atomic bool *gone = s->gone;
	struct chunk *c = malloc(sizeof *c);
	if (!c) {
		free(frame);
		return false;
	}
	*c = (struct chunk){.len = len, .data = frame};
	pthread_mutex_lock(&s->mu);
	while (s->queued > STREAM_HIGH && !atomic_load(gone)) {
		struct timespec t;
		clock_gettime(CLOCK_MONOTONIC, &t);
		t.tv_nsec += WAIT_MS * 1000000L;
		if (t.tv_nsec >= 1000000000L)
			t.tv_sec++, t.tv_nsec -= 1000000000L;
		pthread_cond_timedwait(&s->cv, &s->mu, &t);
	}
	if (atomic_load(gone)) {
		pthread_mutex_unlock(&s->mu);
		stream_chunk_free(c);
		return false;
	}
	bool was_empty = !s->head;
	if (s->tail)
		s->tail->next = c;
	else
		s->head = c;
	s->tail = c;
	s->queued += len;
	pthread_mutex_unlock(&s->mu);
	if (was_empty)
		s->wake(s->wake_arg);
	return true;
}

bool stream_take(struct stream *s, uint8_t **frame, size_t *len, void **handle)
{
	pthread_mutex_lock(&s->mu);
	struct chunk *c = s->head;
	if (c) {
		s->head = c->next;
		if (!s->head)
			s->tail = NULL;
		s->queued -= c->len;
		pthread_cond_broadcast(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
	if (!c)
		return false;
	*frame = c->data;
	*len = c->len;
	*handle = c;
	return true;
}

bool stream_pending(struct stream *s)
{
	pthread_mutex_lock(&s->mu);
	bool any = s->head != NULL;
	pthread_mutex_unlock(&s->mu);
	return any;
}

void stream_chunk_free(void *handle)
{
	struct chunk *c = handle;
	free(c->data);
	free(c);
}
