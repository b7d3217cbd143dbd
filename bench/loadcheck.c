/*
 * loadcheck.c: the load-and-fault run's client side (bench/loadfault drives
 * it).  A benchmark tool, not a test.
 *
 * Two modes.
 *
 * Load (--clients N --duration S): keeps N connections to xihud busy for S
 * seconds, one request in flight on each, while bench/loadfault's rewriter
 * rewrites the files of a marker tree round after round.  Most requests are
 * the mixed queries of --queries (the TSV of bench/queries.py: category, op,
 * words, query; only the last column is used); one in --marker-every is a
 * marker query "roundmark<r>" for one of the last rounds the rewriter has
 * started (its number is the content of --round-file), asked with lines.
 * Every line of every hit of a marker query must contain the marker word:
 * a hit whose postings hold the word but whose text does not is a stale
 * snippet (text from another version of the file than the postings).
 *
 * Every failure is counted, by kind: connect (no connection), error (an
 * Error response), timeout (no answer within --timeout), short (the daemon
 * closed the connection, mid-frame or between frames), protocol (a bad
 * length, a frame that does not unpack, a wrong id or body).  A connection
 * that failed is closed and opened again.  A query that finds nothing is
 * not a failure.
 *
 * Each second one line: queries/s, p50 and p99 of that second, failures and
 * stale snippets so far, the rewriter's round, the index generation and
 * commits by live sync (the latest status answer, on a connection of its
 * own, whose failure counts too), and the daemon's VmRSS and RssAnon
 * (/proc/PID/status, --pid).  At the end one "summary key value ..." line and one "failures
 * ..." line, which bench/loadfault parses.
 *
 * Verify (--verify R --files N --dir DIR): after the rewriter stopped with
 * round R written to every file.  Waits (at most --settle seconds) until
 * roundmarkR finds all N files, each with its marker line; then asks for
 * every older marker (roundmark0 up) once: any hit is text no longer in any file after the
 * commit that removed it.  Prints "verify key value ...", and on stderr
 * every file that never converged (with the marker it has on disk and the
 * ones the index still answers for it) and every old-marker hit.
 *
 * One thread drives all connections through epoll; requests are packed as
 * they are sent (marker queries change with the rounds).  A second one asks
 * for the status and reads the RSS every 250 ms, so that a status answer
 * queued behind hundreds of searches never stalls the clients or the
 * one-second lines.  Latencies are kept one by one (a 60 s run holds a few
 * hundred thousand), so p99 and max are exact however long the tail.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"
#include "wire.h"

#define MARKER "roundmark"
#define MONITOR_NS 250000000u /* status and RSS sampled every 250 ms */
#define MAX_REPORTED 20     /* failures and stale hits printed in full */
#define TICK_NS 1000000000u

enum fail_kind { F_CONNECT, F_ERROR, F_TIMEOUT, F_SHORT, F_PROTOCOL, F_STATUS, F_KINDS };
static const char *const fail_names[F_KINDS] = {"connect", "error", "timeout", "short", "protocol",
                                                "status"};

static struct {
	const char *sock;
	const char *round_file;
	const char *dir;
	unsigned clients, marker_every, files, pid;
	double duration, timeout_s, settle_s;
	uint32_t limit;
	bool lines;
} cfg = {.clients = 256, .marker_every = 4, .files = 1000, .duration = 60, .timeout_s = 10,
         .settle_s = 60, .limit = 10, .lines = true};

static char **queries;
static size_t nqueries;

static pthread_mutex_t fail_mu = PTHREAD_MUTEX_INITIALIZER; /* failures: two threads */
static uint64_t failures[F_KINDS];
static uint64_t stale, marker_queries, marker_hits;
static unsigned reported_fail, reported_stale;

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p)
		bench_die("out of memory");
	return p;
}

/* Counts one failure of kind k; the first MAX_REPORTED are described. */
static void fail(enum fail_kind k, const char *query, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fail(enum fail_kind k, const char *query, const char *fmt, ...)
{
	pthread_mutex_lock(&fail_mu);
	failures[k]++;
	if (reported_fail++ < MAX_REPORTED) {
		va_list ap;
		va_start(ap, fmt);
		fprintf(stderr, "loadcheck: failure (%s) on '%s': ", fail_names[k], query ? query : "");
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		va_end(ap);
	}
	pthread_mutex_unlock(&fail_mu);
}

static uint64_t failures_total(void)
{
	uint64_t n = 0;
	pthread_mutex_lock(&fail_mu);
	for (int k = 0; k < F_KINDS; k++)
		n += failures[k];
	pthread_mutex_unlock(&fail_mu);
	return n;
}

/* The query set's texts. */
static void load_queries(const char *path)
{
	bench_query *bq;
	nqueries = bench_load_queries(path, &bq);
	queries = xrealloc(NULL, nqueries * sizeof *queries);
	for (size_t i = 0; i < nqueries; i++) {
		queries[i] = bq[i].text;
		free(bq[i].category);
	}
	free(bq);
}

/* The rewriter's current round: the number in --round-file; `prev` while
 * the file is missing or being rewritten. */
static unsigned read_round(unsigned prev)
{
	if (!cfg.round_file)
		return 0;
	FILE *f = fopen(cfg.round_file, "r");
	unsigned r = 0;
	if (f) {
		if (fscanf(f, "%u", &r) != 1)
			r = 0;
		fclose(f);
	}
	return r ? r : prev;
}

/* VmRSS and RssAnon of the daemon in kB (0 when unknown). */
static void read_rss(uint64_t *rss_kb, uint64_t *anon_kb)
{
	*rss_kb = *anon_kb = 0;
	if (!cfg.pid)
		return;
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%u/status", cfg.pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		unsigned long long v;
		if (sscanf(line, "VmRSS: %llu", &v) == 1)
			*rss_kb = v;
		else if (sscanf(line, "RssAnon: %llu", &v) == 1)
			*anon_kb = v;
	}
	fclose(f);
}

/* Case-insensitive: does text[0, len) hold word? */
static bool text_has(const uint8_t *text, size_t len, const char *word)
{
	size_t w = strlen(word);
	for (size_t i = 0; i + w <= len; i++) {
		size_t j = 0;
		while (j < w && tolower(text[i + j]) == word[j])
			j++;
		if (j == w)
			return true;
	}
	return false;
}

/* Checks the hits of marker query `word`: each needs lines, each line the
 * word.  Returns the stale hits (and describes the first ones). */
static unsigned check_marker_hits(const Xihu__SearchResponse *sr, const char *word)
{
	unsigned bad = 0;
	for (size_t h = 0; h < sr->n_hits; h++) {
		const Xihu__Hit *hit = sr->hits[h];
		marker_hits++;
		size_t l = 0;
		while (l < hit->n_lines && text_has(hit->lines[l]->text.data, hit->lines[l]->text.len, word))
			l++;
		if (hit->n_lines && l == hit->n_lines)
			continue;
		bad++;
		if (reported_stale++ >= MAX_REPORTED)
			continue;
		if (!hit->n_lines)
			fprintf(stderr, "loadcheck: stale snippet for %s: %.*s: no matching line\n", word,
			        (int)hit->doc.len, hit->doc.data);
		else
			fprintf(stderr, "loadcheck: stale snippet for %s: %.*s:%u: %.*s\n", word, (int)hit->doc.len,
			        hit->doc.data, hit->lines[l]->line, (int)hit->lines[l]->text.len,
			        hit->lines[l]->text.data);
	}
	return bad;
}

/* Packs a search request frame into *buf (grown as needed); returns its length. */
static size_t pack_search(uint8_t **buf, size_t *cap, uint64_t id, const char *text, uint32_t limit,
                          bool lines, bool exact)
{
	Xihu__SearchRequest sr;
	xihu__search_request__init(&sr);
	sr.query = (char *)text;
	sr.limit = limit;
	sr.want_lines = lines;
	sr.exact_total = exact;
	Xihu__Request req;
	xihu__request__init(&req);
	req.id = id;
	req.version = XIHU_PROTO_VERSION;
	req.body_case = XIHU__REQUEST__BODY_SEARCH;
	req.search = &sr;
	size_t len = xihu__request__get_packed_size(&req);
	if (*cap < XIHU_FRAME_HEADER + len) {
		*cap = XIHU_FRAME_HEADER + len + 256;
		*buf = xrealloc(*buf, *cap);
	}
	frame_put_len(*buf, (uint32_t)len);
	xihu__request__pack(&req, *buf + XIHU_FRAME_HEADER);
	return XIHU_FRAME_HEADER + len;
}

/* ---- load: N connections, one request in flight on each -------------------- */

enum conn_state {
	CONN_CLOSED,  /* not connected; retried at retry_at */
	CONN_SENDING, /* the request is partly sent (EPOLLOUT wanted) */
	CONN_WAITING, /* the request is sent, its answer not yet whole */
};

struct conn {
	enum conn_state state;
	int fd;
	uint64_t id;         /* of the request in flight */
	uint64_t t_sent;     /* when it was started */
	uint64_t retry_at;   /* CONN_CLOSED: when to connect again */
	size_t qnext;        /* next mixed query */
	char marker[32];     /* the marker query in flight, or "" */
	const char *text;    /* the query in flight */
	uint8_t *out;
	size_t outlen, outcap, sent;
	uint8_t *in;
	size_t have, incap;
};

static int ep;
static uint64_t requests_started;

/* the second being measured and the whole run */
static uint32_t *sec_lat;
static size_t sec_n, sec_cap;
static uint64_t sec_done;
static uint32_t *lat_all; /* every latency of the run, us */
static size_t lat_cap;
static uint64_t done, lat_max_us;

static void conn_close(struct conn *c, uint64_t now)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->have = 0;
	c->state = CONN_CLOSED;
	c->retry_at = now + 100000000u; /* 100 ms */
}


static bool conn_open(struct conn *c)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (fd < 0)
		bench_die("socket: %s", strerror(errno));
	memcpy(sa.sun_path, cfg.sock, strlen(cfg.sock) + 1);
	/* blocking: a Unix-socket connect gets into the backlog or fails at once */
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		fail(F_CONNECT, NULL, "%s: %s", cfg.sock, strerror(errno));
		close(fd);
		return false;
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		bench_die("%s: %s", cfg.sock, strerror(errno));
	c->fd = fd;
	c->state = CONN_WAITING;
	return true;
}

static void want_out(struct conn *c, bool out)
{
	struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = c};
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Sends what is left of the request; false on a broken connection. */
static bool flush_out(struct conn *c)
{
	while (c->sent < c->outlen) {
		ssize_t w = send(c->fd, c->out + c->sent, c->outlen - c->sent, MSG_NOSIGNAL);
		if (w > 0)
			c->sent += (size_t)w;
		else if (w < 0 && errno == EINTR)
			continue;
		else if (w < 0 && errno == EAGAIN)
			return true;
		else
			return false;
	}
	return true;
}

static unsigned cur_round;

/* Connects if need be and sends c's next request: a marker query for one of
 * the last four rounds once in cfg.marker_every requests, else the next
 * mixed query. */
static void start_request(struct conn *c, uint64_t now)
{
	if (c->state == CONN_CLOSED && !conn_open(c)) {
		c->retry_at = now + 100000000u;
		return;
	}
	uint64_t n = ++requests_started;
	c->id++;
	if (cfg.marker_every && cur_round && n % cfg.marker_every == 0) {
		unsigned back = (unsigned)(n / cfg.marker_every % 4);
		snprintf(c->marker, sizeof c->marker, MARKER "%u", cur_round > back ? cur_round - back : 1);
		c->text = c->marker;
		c->outlen = pack_search(&c->out, &c->outcap, c->id, c->text, 20, true, false);
		marker_queries++;
	} else {
		c->marker[0] = '\0';
		c->text = queries[c->qnext];
		c->qnext = (c->qnext + 1) % nqueries;
		c->outlen = pack_search(&c->out, &c->outcap, c->id, c->text, cfg.limit, cfg.lines, false);
	}
	c->sent = 0;
	c->t_sent = now;
	c->state = CONN_SENDING;
	if (!flush_out(c)) {
		fail(F_SHORT, c->text, "send: %s", strerror(errno));
		conn_close(c, now);
		return;
	}
	if (c->sent == c->outlen)
		c->state = CONN_WAITING;
	else
		want_out(c, true);
}

static void record_latency(uint64_t ns)
{
	uint64_t us = ns / 1000;
	if (us > lat_max_us)
		lat_max_us = us;
	if (done == lat_cap) {
		lat_cap = lat_cap ? lat_cap * 2 : 65536;
		lat_all = xrealloc(lat_all, lat_cap * sizeof *lat_all);
	}
	lat_all[done] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
	if (sec_n == sec_cap) {
		sec_cap = sec_cap ? sec_cap * 2 : 16384;
		sec_lat = xrealloc(sec_lat, sec_cap * sizeof *sec_lat);
	}
	sec_lat[sec_n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
	done++;
	sec_done++;
}

/* One whole answer is in c->in: checks it and starts the next request. */
static void on_answer(struct conn *c, uint32_t len, uint64_t now)
{
	if (c->state != CONN_WAITING || c->have > XIHU_FRAME_HEADER + len) {
		fail(F_PROTOCOL, c->text, "%s", c->state != CONN_WAITING ? "an answer before the request was sent"
		                                                         : "bytes after the answer");
		conn_close(c, now);
		return;
	}
	Xihu__Response *resp = xihu__response__unpack(NULL, len, c->in + XIHU_FRAME_HEADER);
	c->have = 0;
	if (!resp) {
		fail(F_PROTOCOL, c->text, "a response of %u bytes that does not unpack", len);
		conn_close(c, now);
		return;
	}
	if (resp->id != c->id)
		fail(F_PROTOCOL, c->text, "response id %llu, request id %llu", (unsigned long long)resp->id,
		     (unsigned long long)c->id);
	else if (resp->body_case == XIHU__RESPONSE__BODY_ERROR)
		fail(F_ERROR, c->text, "%s: %s", wire_error_name(resp->error->code),
		     resp->error->message ? resp->error->message : "");
	else if (resp->body_case != XIHU__RESPONSE__BODY_SEARCH)
		fail(F_PROTOCOL, c->text, "not a search response (body %d)", (int)resp->body_case);
	else {
		record_latency(now - c->t_sent);
		if (c->marker[0])
			stale += check_marker_hits(resp->search, c->marker);
	}
	bool broken = resp->id != c->id;
	xihu__response__free_unpacked(resp, NULL);
	if (broken) {
		conn_close(c, now);
		return;
	}
	start_request(c, now);
}

static void on_readable(struct conn *c, uint64_t now)
{
	for (;;) {
		if (c->incap - c->have < 65536) {
			c->incap = c->incap ? c->incap * 2 : 131072;
			c->in = xrealloc(c->in, c->incap);
		}
		ssize_t r = recv(c->fd, c->in + c->have, c->incap - c->have, 0);
		if (r > 0) {
			c->have += (size_t)r;
			if (c->have >= XIHU_FRAME_HEADER &&
			    c->have >= XIHU_FRAME_HEADER + (size_t)frame_get_len(c->in))
				break;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			break;
		if (r == 0)
			fail(F_SHORT, c->text, "the daemon closed the connection after %zu bytes of the answer",
			     c->have);
		else
			fail(F_SHORT, c->text, "recv: %s", strerror(errno));
		conn_close(c, now);
		return;
	}
	if (c->have < XIHU_FRAME_HEADER)
		return;
	uint32_t len = frame_get_len(c->in);
	if (len == 0 || len > XIHU_MAX_RESPONSE_FRAME) {
		fail(F_PROTOCOL, c->text, "response frame length %u", len);
		conn_close(c, now);
		return;
	}
	if (c->have >= XIHU_FRAME_HEADER + len)
		on_answer(c, len, now);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* The status connection: generation and live sync commits. */
static wire_conn status_c;
static bool status_open;

static bool get_status(uint64_t *gen, uint64_t *commits)
{
	if (!status_open) {
		if (wire_open(&status_c, cfg.sock)) {
			fail(F_STATUS, "status", "%s", status_c.err);
			return false;
		}
		status_c.timeout_ms = (int)(cfg.timeout_s * 1000);
		status_open = true;
	}
	Xihu__StatusRequest st = XIHU__STATUS_REQUEST__INIT;
	Xihu__Request req = XIHU__REQUEST__INIT;
	req.body_case = XIHU__REQUEST__BODY_STATUS;
	req.status = &st;
	Xihu__Response *resp;
	if (wire_call(&status_c, &req, &resp)) {
		fail(F_STATUS, "status", "%s", status_c.err);
		wire_close(&status_c);
		status_open = false;
		return false;
	}
	bool ok = resp->body_case == XIHU__RESPONSE__BODY_STATUS;
	if (ok) {
		*gen = resp->status->generation;
		*commits = resp->status->sync ? resp->status->sync->commits : 0;
	} else {
		fail(F_STATUS, "status", "%s", resp->body_case == XIHU__RESPONSE__BODY_ERROR
		                                   ? resp->error->message
		                                   : "not a status response");
	}
	xihu__response__free_unpacked(resp, NULL);
	return ok;
}

/* The monitor thread: status (on a connection of its own, so that a slow
 * answer never holds up the clients) and RSS every MONITOR_NS; the load
 * loop reads the latest under mon.mu. */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	uint64_t gen, commits, rss, anon, rss_max, anon_max;
} mon = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void monitor_sample(void)
{
	uint64_t gen = 0, commits = 0, rss, anon;
	bool ok = get_status(&gen, &commits);
	read_rss(&rss, &anon);
	pthread_mutex_lock(&mon.mu);
	if (ok) {
		mon.gen = gen;
		mon.commits = commits;
	}
	mon.rss = rss;
	mon.anon = anon;
	mon.rss_max = rss > mon.rss_max ? rss : mon.rss_max;
	mon.anon_max = anon > mon.anon_max ? anon : mon.anon_max;
	pthread_mutex_unlock(&mon.mu);
}

static void *monitor_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mon.mu);
	while (!mon.stop) {
		pthread_mutex_unlock(&mon.mu);
		monitor_sample();
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += MONITOR_NS;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_mutex_lock(&mon.mu);
		if (!mon.stop)
			pthread_cond_timedwait(&mon.cv, &mon.mu, &until);
	}
	pthread_mutex_unlock(&mon.mu);
	return NULL;
}

static int run_load(void)
{
	struct conn *cs = calloc(cfg.clients, sizeof *cs);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!cs || ep < 0)
		bench_die("out of memory");

	monitor_sample();
	uint64_t gen0 = mon.gen, commits0 = mon.commits;
	pthread_t mon_thread;
	if (pthread_create(&mon_thread, NULL, monitor_main, NULL))
		bench_die("cannot start a thread");
	cur_round = read_round(cur_round);
	unsigned round0 = cur_round;

	uint64_t t_start = bench_now_ns(), now = t_start;
	for (unsigned i = 0; i < cfg.clients; i++) {
		cs[i].fd = -1;
		cs[i].state = CONN_CLOSED;
		cs[i].qnext = (size_t)i * nqueries / cfg.clients;
		start_request(&cs[i], now);
	}
	printf("%5s %7s %7s %7s %6s %6s %5s %6s %7s %8s %8s\n", "s", "q/s", "p50_us", "p99_us", "fails",
	       "stale", "round", "gen", "commits", "VmRSS_MB", "Anon_MB");
	fflush(stdout);
	uint64_t t_end = t_start + (uint64_t)(cfg.duration * 1e9), t_tick = t_start + TICK_NS;
	uint64_t t_scan = t_start, timeout_ns = (uint64_t)(cfg.timeout_s * 1e9);
	unsigned sec = 0;
	struct epoll_event evs[64];
	while (now < t_end) {
		int n = epoll_wait(ep, evs, 64, 50);
		now = bench_now_ns();
		for (int k = 0; k < n; k++) {
			struct conn *c = evs[k].data.ptr;
			if (c->state == CONN_CLOSED)
				continue; /* closed earlier in this batch */
			if (evs[k].events & EPOLLOUT) {
				if (!flush_out(c)) {
					fail(F_SHORT, c->text, "send: %s", strerror(errno));
					conn_close(c, now);
					continue;
				}
				if (c->sent == c->outlen) {
					c->state = CONN_WAITING;
					want_out(c, false);
				}
			}
			if (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				on_readable(c, now);
		}
		if (now - t_scan >= 100000000u) { /* every 100 ms: timeouts, reconnects */
			t_scan = now;
			for (unsigned i = 0; i < cfg.clients; i++) {
				struct conn *c = &cs[i];
				if (c->state == CONN_CLOSED && now >= c->retry_at)
					start_request(c, now);
				else if (c->state != CONN_CLOSED && now - c->t_sent > timeout_ns) {
					fail(F_TIMEOUT, c->text, "no answer after %.1f s", cfg.timeout_s);
					conn_close(c, now);
				}
			}
		}
		if (now >= t_tick) {
			sec++;
			qsort(sec_lat, sec_n, sizeof *sec_lat, cmp_u32);
			uint32_t p50 = sec_n ? sec_lat[(sec_n - 1) / 2] : 0;
			uint32_t p99 = sec_n ? sec_lat[(sec_n - 1) * 99 / 100] : 0;
			double secs = (double)(now - (t_tick - TICK_NS)) / 1e9;
			pthread_mutex_lock(&mon.mu);
			uint64_t gen = mon.gen, commits = mon.commits, rss = mon.rss, anon = mon.anon;
			pthread_mutex_unlock(&mon.mu);
			cur_round = read_round(cur_round);
			printf("%5u %7.0f %7u %7u %6llu %6llu %5u %6llu %7llu %8.1f %8.1f\n", sec,
			       (double)sec_done / secs, p50, p99, (unsigned long long)failures_total(),
			       (unsigned long long)stale, cur_round, (unsigned long long)gen,
			       (unsigned long long)(commits - commits0), (double)rss / 1024, (double)anon / 1024);
			fflush(stdout);
			sec_n = 0;
			sec_done = 0;
			t_tick += TICK_NS;
		}
	}
	double secs = (double)(now - t_start) / 1e9;
	pthread_mutex_lock(&mon.mu);
	mon.stop = true;
	pthread_cond_signal(&mon.cv);
	pthread_mutex_unlock(&mon.mu);
	pthread_join(mon_thread, NULL);
	monitor_sample(); /* the generation and commits once the load stopped */
	uint64_t gen = mon.gen, commits = mon.commits, rss = mon.rss, anon = mon.anon;
	uint64_t rss_max = mon.rss_max, anon_max = mon.anon_max;
	qsort(lat_all, done, sizeof *lat_all, cmp_u32);
	uint64_t p50 = done ? lat_all[(done - 1) / 2] : 0, p99 = done ? lat_all[(done - 1) * 99 / 100] : 0;
	printf("summary clients %u seconds %.2f queries %llu qps %.0f p50_us %llu p99_us %llu max_us %llu "
	       "failures %llu stale %llu marker_queries %llu marker_hits %llu gen_start %llu gen_end %llu "
	       "commits %llu round_start %u round_end %u rss_max_kb %llu anon_max_kb %llu rss_end_kb %llu "
	       "anon_end_kb %llu\n",
	       cfg.clients, secs, (unsigned long long)done, (double)done / secs,
	       (unsigned long long)p50, (unsigned long long)p99,
	       (unsigned long long)lat_max_us, (unsigned long long)failures_total(),
	       (unsigned long long)stale, (unsigned long long)marker_queries,
	       (unsigned long long)marker_hits, (unsigned long long)gen0, (unsigned long long)gen,
	       (unsigned long long)(commits - commits0), round0, cur_round, (unsigned long long)rss_max,
	       (unsigned long long)anon_max, (unsigned long long)rss, (unsigned long long)anon);
	printf("failures");
	for (int k = 0; k < F_KINDS; k++)
		printf(" %s %llu", fail_names[k], (unsigned long long)failures[k]);
	printf("\n");
	for (unsigned i = 0; i < cfg.clients; i++) {
		if (cs[i].fd >= 0)
			close(cs[i].fd);
		free(cs[i].in);
		free(cs[i].out);
	}
	free(cs);
	free(lat_all);
	free(sec_lat);
	close(ep);
	if (status_open)
		wire_close(&status_c);
	return failures_total() || stale ? 1 : 0;
}

/* ---- verify: after the last round ------------------------------------------ */

static Xihu__Response *search_once(wire_conn *c, const char *text, uint32_t limit)
{
	Xihu__SearchRequest sr = XIHU__SEARCH_REQUEST__INIT;
	sr.query = (char *)text;
	sr.limit = limit;
	sr.want_lines = true;
	sr.exact_total = true;
	Xihu__Request req = XIHU__REQUEST__INIT;
	req.body_case = XIHU__REQUEST__BODY_SEARCH;
	req.search = &sr;
	Xihu__Response *resp;
	if (wire_call(c, &req, &resp)) {
		fail(F_SHORT, text, "%s", c->err);
		wire_close(c);
		if (wire_open(c, cfg.sock))
			bench_die("%s", c->err);
		return NULL;
	}
	if (resp->body_case != XIHU__RESPONSE__BODY_SEARCH) {
		if (resp->body_case == XIHU__RESPONSE__BODY_ERROR)
			fail(F_ERROR, text, "%s: %s", wire_error_name(resp->error->code), resp->error->message);
		else
			fail(F_PROTOCOL, text, "not a search response");
		xihu__response__free_unpacked(resp, NULL);
		return NULL;
	}
	return resp;
}

/* The number of the marker file a hit names (DIR/fNNNN.txt), or -1. */
static long marker_file(const ProtobufCBinaryData *doc)
{
	size_t d = strlen(cfg.dir);
	if (doc->len < d + 7 || memcmp(doc->data, cfg.dir, d) || memcmp(doc->data + d, "/f", 2))
		return -1;
	long n = 0;
	size_t i = d + 2;
	for (; i < doc->len && doc->data[i] >= '0' && doc->data[i] <= '9'; i++)
		n = n * 10 + (doc->data[i] - '0');
	if (i == d + 2 || doc->len - i != 4 || memcmp(doc->data + i, ".txt", 4) || n >= (long)cfg.files)
		return -1;
	return n;
}

/* The marker word in the file on disk now ("" if none). */
static void disk_marker(const char *path, char *out, size_t size)
{
	out[0] = '\0';
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(out, size, "(no such file)");
		return;
	}
	char line[4096];
	while (fgets(line, sizeof line, f)) {
		char *m = strstr(line, MARKER);
		if (m) {
			size_t n = strspn(m + strlen(MARKER), "0123456789") + strlen(MARKER);
			snprintf(out, size, "%.*s", (int)n, m);
			break;
		}
	}
	fclose(f);
}

static int run_verify(unsigned last)
{
	wire_conn c;
	if (wire_open(&c, cfg.sock))
		bench_die("%s", c.err);
	c.timeout_ms = (int)(cfg.timeout_s * 1000);
	char word[32];
	snprintf(word, sizeof word, MARKER "%u", last);
	bool *seen = calloc(cfg.files, 1);
	if (!seen)
		bench_die("out of memory");
	uint32_t limit = cfg.files + 100;
	uint64_t t0 = bench_now_ns(), total = 0;
	unsigned found = 0, extra = 0, polls = 0;
	bool converged = false;
	for (;;) {
		Xihu__Response *resp = search_once(&c, word, limit);
		polls++;
		if (resp) {
			const Xihu__SearchResponse *sr = resp->search;
			memset(seen, 0, cfg.files);
			found = extra = 0;
			total = sr->total;
			for (size_t h = 0; h < sr->n_hits; h++) {
				long f = marker_file(&sr->hits[h]->doc);
				if (f < 0)
					extra++;
				else if (!seen[f]) {
					seen[f] = true;
					found++;
				}
			}
			converged = found == cfg.files && !extra && total == cfg.files;
			if (converged || (double)(bench_now_ns() - t0) / 1e9 >= cfg.settle_s) {
				/* the last answer: its lines are checked, its strangers named */
				stale += check_marker_hits(sr, word);
				for (size_t h = 0; h < sr->n_hits; h++)
					if (marker_file(&sr->hits[h]->doc) < 0)
						fprintf(stderr, "loadcheck: %s also found %.*s\n", word,
						        (int)sr->hits[h]->doc.len, sr->hits[h]->doc.data);
				xihu__response__free_unpacked(resp, NULL);
				break;
			}
			xihu__response__free_unpacked(resp, NULL);
		}
		usleep(100000);
	}
	double settle = (double)(bench_now_ns() - t0) / 1e9;
	char path[4096], mark[64];
	for (unsigned f = 0; f < cfg.files; f++) {
		if (seen[f])
			continue;
		snprintf(path, sizeof path, "%s/f%04u.txt", cfg.dir, f);
		disk_marker(path, mark, sizeof mark);
		fprintf(stderr, "loadcheck: %s not found by %s after %.1f s; on disk: %s\n", path, word, settle,
		        mark);
	}

	/* every older marker: no file holds it any more */
	uint64_t old_hits = 0;
	unsigned shown = 0;
	for (unsigned r = 0; r < last; r++) {
		char old[32];
		snprintf(old, sizeof old, MARKER "%u", r);
		Xihu__Response *resp = search_once(&c, old, 100);
		if (!resp)
			continue;
		const Xihu__SearchResponse *sr = resp->search;
		old_hits += sr->total > sr->n_hits ? sr->total : sr->n_hits;
		for (size_t h = 0; h < sr->n_hits && shown < 50; h++, shown++) {
			const Xihu__Hit *hit = sr->hits[h];
			snprintf(path, sizeof path, "%.*s", (int)hit->doc.len, hit->doc.data);
			disk_marker(path, mark, sizeof mark);
			fprintf(stderr, "loadcheck: old marker %s found in %s (line %u: %.*s); on disk: %s\n", old,
			        path, hit->n_lines ? hit->lines[0]->line : 0,
			        hit->n_lines ? (int)hit->lines[0]->text.len : 0,
			        hit->n_lines ? (const char *)hit->lines[0]->text.data : "", mark);
		}
		xihu__response__free_unpacked(resp, NULL);
	}
	wire_close(&c);
	free(seen);
	printf("verify round %u files %u converged %s settle_s %.2f polls %u found %u total %llu extra %u "
	       "stale %llu old_markers %u old_marker_hits %llu failures %llu\n",
	       last, cfg.files, converged ? "yes" : "no", settle, polls, found, (unsigned long long)total,
	       extra, (unsigned long long)stale, last, (unsigned long long)old_hits,
	       (unsigned long long)failures_total());
	return converged && !stale && !old_hits && !failures_total() ? 0 : 1;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: loadcheck --socket PATH --queries FILE --round-file FILE [OPTION]...  (load)\n"
	        "       loadcheck --socket PATH --verify ROUND --dir DIR [OPTION]...         (verify)\n"
	        "  --clients N          connections kept busy, one request in flight each (default 256)\n"
	        "  --duration SECS      how long (default 60)\n"
	        "  --round-file FILE    holds the rewriter's current round\n"
	        "  --marker-every K     one request in K asks for a recent round's marker (default 4)\n"
	        "  --limit N            hits per mixed query (default 10)\n"
	        "  --no-lines           mixed queries without lines (marker queries always ask)\n"
	        "  --pid PID            the daemon, for VmRSS and RssAnon\n"
	        "  --timeout SECS       an answer later than this is a failure (default 10)\n"
	        "  --verify ROUND       after the rewriter stopped at ROUND: wait for it in every\n"
	        "                       file, then ask for every older marker\n"
	        "  --dir DIR            the marker files DIR/f0000.txt ... (verify)\n"
	        "  --files N            how many (default 1000)\n"
	        "  --settle SECS        the longest wait for ROUND (default 60)\n");
}

int main(int argc, char **argv)
{
	bench_prog = "loadcheck";
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"queries", required_argument, NULL, 'q'},
		{"clients", required_argument, NULL, 'c'},
		{"duration", required_argument, NULL, 'd'},
		{"round-file", required_argument, NULL, 'r'},
		{"marker-every", required_argument, NULL, 'm'},
		{"limit", required_argument, NULL, 'n'},
		{"no-lines", no_argument, NULL, 'L'},
		{"pid", required_argument, NULL, 'p'},
		{"timeout", required_argument, NULL, 't'},
		{"verify", required_argument, NULL, 'V'},
		{"dir", required_argument, NULL, 'D'},
		{"files", required_argument, NULL, 'f'},
		{"settle", required_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	long verify = -1;
	const char *qfile = NULL;
	int o;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 's': cfg.sock = optarg; break;
		case 'q': qfile = optarg; break;
		case 'c': cfg.clients = (unsigned)atoi(optarg); break;
		case 'd': cfg.duration = atof(optarg); break;
		case 'r': cfg.round_file = optarg; break;
		case 'm': cfg.marker_every = (unsigned)atoi(optarg); break;
		case 'n': cfg.limit = (uint32_t)atoi(optarg); break;
		case 'L': cfg.lines = false; break;
		case 'p': cfg.pid = (unsigned)atoi(optarg); break;
		case 't': cfg.timeout_s = atof(optarg); break;
		case 'V': verify = atol(optarg); break;
		case 'D': cfg.dir = optarg; break;
		case 'f': cfg.files = (unsigned)atoi(optarg); break;
		case 'S': cfg.settle_s = atof(optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	char buf[256];
	cfg.sock = xihu_socket_path(cfg.sock, buf, sizeof buf);
	if (!cfg.sock || strlen(cfg.sock) >= sizeof ((struct sockaddr_un *)0)->sun_path ||
	    cfg.timeout_s <= 0 || !cfg.files) {
		usage(stderr);
		return 2;
	}
	if (verify >= 0) {
		if (!cfg.dir) {
			usage(stderr);
			return 2;
		}
		return run_verify((unsigned)verify);
	}
	if (!qfile || !cfg.clients || cfg.duration <= 0) {
		usage(stderr);
		return 2;
	}
	load_queries(qfile);
	return run_load();
}
