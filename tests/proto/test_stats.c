/*
 * test_stats.c: the daemon's latency histogram (daemon/stats.c).  Buckets
 * must cover every latency, be monotonic, and percentiles must be upper
 * bounds no more than one bucket (~19%) above the true value.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "xihud.h"

static void buckets_are_monotonic_and_contain_their_values(void **state)
{
	(void)state;
	unsigned prev = 0;
	for (uint64_t us = 0; us < 1000000; us += 1 + us / 64) {
		unsigned b = stats_bucket(us);
		assert_true(b < STATS_BUCKETS);
		assert_true(b >= prev);
		assert_true(stats_bucket_upper(b) >= us);
		if (b > 0)
			assert_true(stats_bucket_upper(b - 1) < us);
		prev = b;
	}
	assert_true(stats_bucket(UINT64_MAX) < STATS_BUCKETS);
	assert_int_equal(stats_bucket_upper(stats_bucket(UINT64_MAX)), UINT64_MAX);
}

static void percentiles_of_a_known_distribution(void **state)
{
	(void)state;
	struct stats s;
	stats_init(&s);
	/* 1..1000 us, one query each: p50 ~ 500, p90 ~ 900, p99 ~ 990 */
	for (uint64_t us = 1; us <= 1000; us++)
		stats_record(&s, us);
	uint64_t n, p50, p90, p99;
	stats_snapshot(&s, &n, &p50, &p90, &p99);
	assert_int_equal(n, 1000);
	assert_true(p50 >= 500 && p50 <= 500 * 6 / 5);
	assert_true(p90 >= 900 && p90 <= 900 * 6 / 5);
	assert_true(p99 >= 990 && p99 <= 990 * 6 / 5);
	stats_destroy(&s);
}

static void *record_many(void *arg)
{
	for (uint64_t us = 0; us < 100000; us++)
		stats_record(arg, us % 5000);
	return NULL;
}

/* Worker threads record at once: no query is lost. */
static void four_threads_recording_lose_nothing(void **state)
{
	(void)state;
	struct stats s;
	stats_init(&s);
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, record_many, &s), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	uint64_t n, p50, p90, p99;
	stats_snapshot(&s, &n, &p50, &p90, &p99);
	assert_int_equal(n, 400000);
	assert_true(p50 >= 2500 && p50 <= 2500 * 6 / 5);
	stats_destroy(&s);
}

static void empty_histogram_reports_zero(void **state)
{
	(void)state;
	struct stats s;
	stats_init(&s);
	uint64_t n, p50, p90, p99;
	stats_snapshot(&s, &n, &p50, &p90, &p99);
	assert_int_equal(n, 0);
	assert_int_equal(p50 + p90 + p99, 0);
	stats_destroy(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(buckets_are_monotonic_and_contain_their_values),
		cmocka_unit_test(percentiles_of_a_known_distribution),
		cmocka_unit_test(four_threads_recording_lose_nothing),
		cmocka_unit_test(empty_histogram_reports_zero),
	};
	return cmocka_run_group_tests_name("stats", tests, NULL, NULL);
}
