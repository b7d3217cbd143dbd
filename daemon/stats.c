/*
 * stats.c: queries served and a log-scale latency histogram.
 *
 * Bucket b holds latencies (in microseconds) whose top three significant bits
 * are the same: for us >= 4, b = 4*msb + the two bits below the top one, so
 * each power of two is split in four buckets about 19% wide; us < 4 maps to
 * buckets 0..3 directly.  Percentiles report the bucket's upper bound, so they
 * are never optimistic by more than one bucket.  Buckets are atomic counters
 * (relaxed: they only count), so any thread records without a lock; the
 * query count is the sum of the buckets, so a snapshot is self-consistent.
 *
 * Callers: server.c owns the struct (stats_init, stats_destroy); handler.c
 * records searches and reads the counters for Status, on any thread.  It
 * calls nothing else of the daemon (tests/proto's unit test links it alone).
 */
#include "xihud.h"

void stats_init(struct stats *s)
{
	for (unsigned b = 0; b < STATS_BUCKETS; b++)
		atomic_init(&s->buckets[b], 0);
}

void stats_destroy(struct stats *s)
{
	(void)s;
}

unsigned stats_bucket(uint64_t us)
{
	if (us < 4)
		return (unsigned)us;
	unsigned msb = 63u - (unsigned)__builtin_clzll(us);
	unsigned sub = (unsigned)(us >> (msb - 2)) & 3u;
	return msb * 4 + sub;
}

uint64_t stats_bucket_upper(unsigned b)
{
	if (b < 8) /* 0..3 hold us == b; 4..7 are never used (us >= 4 has msb >= 2) */
		return b < 4 ? b : 3;
	unsigned msb = b / 4, sub = b % 4;
	if (msb >= 63)
		return UINT64_MAX;
	/* largest us with this msb and these two next bits */
	uint64_t base = (uint64_t)1 << msb;
	uint64_t step = (uint64_t)1 << (msb - 2);
	return base + (sub + 1) * step - 1;
}

void stats_record(struct stats *s, uint64_t us)
{
	atomic_fetch_add_explicit(&s->buckets[stats_bucket(us)], 1, memory_order_relaxed);
}

static uint64_t percentile(const uint64_t *buckets, uint64_t n, unsigned pct)
{
	if (n == 0)
		return 0;
	uint64_t rank = (n * pct + 99) / 100; /* 1-based: ceil(n * pct / 100) */
	if (rank == 0)
		rank = 1;
	uint64_t seen = 0;
	for (unsigned b = 0; b < STATS_BUCKETS; b++) {
		seen += buckets[b];
		if (seen >= rank)
			return stats_bucket_upper(b);
	}
	return 0;
}

void stats_snapshot(struct stats *s, uint64_t *queries, uint64_t *p50, uint64_t *p90,
                    uint64_t *p99)
{
	uint64_t b[STATS_BUCKETS], n = 0;
	for (unsigned i = 0; i < STATS_BUCKETS; i++) {
		b[i] = atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
		n += b[i];
	}
	*queries = n;
	*p50 = percentile(b, n, 50);
	*p90 = percentile(b, n, 90);
	*p99 = percentile(b, n, 99);
}

unsigned stats_histogram(struct stats *s, uint64_t *upper, uint64_t *count)
{
	unsigned n = 0;
	for (unsigned b = 0; b < STATS_BUCKETS; b++) {
		uint64_t c = atomic_load_explicit(&s->buckets[b], memory_order_relaxed);
		if (!c)
			continue;
		upper[n] = stats_bucket_upper(b);
		count[n++] = c;
	}
	return n;
}
