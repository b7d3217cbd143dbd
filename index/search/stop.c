/*
 * stop.c: stopping a search early, when the caller cancels it
 * (xihu_index_search_opts.cancel, set from any thread) or its deadline
 * passes (deadline_ns, CLOCK_MONOTONIC).
 *
 * Invariant: once stop_now has said yes, c->rc holds XIHU_ECANCELED or
 * XIHU_ETIMEOUT (or the error that came first) and every later call says
 * yes again.  Called by every loop of a search that can run long: the
 * collectors, the prefix and fuzzy expansions (through stopped(), which
 * looks at the clock every STOP_EVERY calls) and search.c between segments
 * and hits.
 */
#include <time.h>

#include "search/search-int.h"

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bool stop_now(qctx *c)
{
	if (c->rc)
		return true;
	if (c->cancel && atomic_load_explicit(c->cancel, memory_order_relaxed)) {
		c->rc = xihu_err_set(c->err, XIHU_ECANCELED, "search: cancelled");
		return true;
	}
	if (c->deadline_ns && mono_ns() >= c->deadline_ns) {
		c->rc = xihu_err_set(c->err, XIHU_ETIMEOUT, "search: timed out");
		return true;
	}
	return false;
}
