/*
 * loadgen.c: the benchmark's load generator for xihud.  A benchmark tool,
 * not a test.
 *
 * Reads a query set (bench/queries.py's TSV: category, op, words, xihu query
 * text; only the first and last columns are used here) and either
 *
 *   --latency          sends the queries one at a time over one persistent
 *                      connection (client/wire.h) and prints, per
 *                      query, "category<TAB>microseconds<TAB>total<TAB>hits";
 *                      the round trip is timed from before the request is
 *                      packed to after the response is unpacked;
 *   --clients N        keeps N connections busy for --duration seconds, one
 *                      request in flight on each (a closed loop), cycling
 *                      through the queries from N different starting points;
 *                      prints "clients N queries Q seconds S qps R errors E
 *                      p50_us P p99_us P" on one line.
 *
 * One thread drives all connections through epoll, with every request frame
 * packed once up front, so the generator costs little CPU next to the
 * daemon on the same machine.  Hits carry only their document (no lines or
 * snippets) unless --lines is given: the anchors return document ids alone.
 * Every response is unpacked and must be a SearchResponse echoing its id;
 * anything else counts as an error (and is printed once).
 *
 * --cwd DIR (repeatable) sends SearchRequest.cwd: query i carries the
 * (i mod n)th DIR given, so a daemon serving several indexes (its registry)
 * gets the queries round-robin across the trees (bench/registry); with
 * --cwd-run K, each DIR in turn for K queries in a row.
 */
#include <errno.h>
#include <getopt.h>
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

struct query {
	char *category;
	char *text;
	uint8_t *frame; /* packed request frame, id = index + 1 */
	size_t len;
};

static struct query *queries;
static size_t nqueries;
static bool want_lines;
static uint32_t limit = 10;
static char **cwds; /* --cwd: query i is sent with cwds[i / cwd_run % ncwds] */
static size_t ncwds, cwd_run = 1;

static void fill_request(Xihu__Request *req, Xihu__SearchRequest *sr, size_t i, const char *text)
{
	xihu__search_request__init(sr);
	sr->query = (char *)text;
	if (ncwds)
		sr->cwd = cwds[i / cwd_run % ncwds];
	sr->limit = limit;
	sr->want_lines = want_lines;
	xihu__request__init(req);
	req->version = XIHU_PROTO_VERSION;
	req->body_case = XIHU__REQUEST__BODY_SEARCH;
	req->search = sr;
}

/* The query set, each query's request frame packed once (id = index + 1). */
static void load_queries(const char *path)
{
	bench_query *bq;
	nqueries = bench_load_queries(path, &bq);
	if (!(queries = calloc(nqueries, sizeof *queries)))
		bench_die("%s: out of memory", path);
	for (size_t i = 0; i < nqueries; i++) {
		struct query *q = &queries[i];
		q->category = bq[i].category;
		q->text = bq[i].text;
		Xihu__Request req;
		Xihu__SearchRequest sr;
		fill_request(&req, &sr, i, q->text);
		req.id = i + 1;
		size_t len = xihu__request__get_packed_size(&req);
		if (!(q->frame = malloc(XIHU_FRAME_HEADER + len)))
			bench_die("%s: out of memory", path);
		frame_put_len(q->frame, (uint32_t)len);
		xihu__request__pack(&req, q->frame + XIHU_FRAME_HEADER);
		q->len = XIHU_FRAME_HEADER + len;
	}
	free(bq);
}

/* ---- latency: one connection, one query at a time ------------------------ */

static int run_latency(const char *sock, unsigned warmup_passes)
{
	wire_conn c;
	if (wire_open(&c, sock))
		bench_die("%s", c.err);
	int errors = 0;
	for (unsigned pass = 0; pass <= warmup_passes; pass++) {
		bool timed = pass == warmup_passes;
		for (size_t i = 0; i < nqueries; i++) {
			Xihu__Request req;
			Xihu__SearchRequest sr;
			fill_request(&req, &sr, i, queries[i].text);
			Xihu__Response *resp;
			uint64_t t0 = bench_now_ns();
			if (wire_call(&c, &req, &resp))
				bench_die("%s", c.err);
			uint64_t t1 = bench_now_ns();
			uint64_t total = 0;
			size_t hits = 0;
			if (resp->body_case == XIHU__RESPONSE__BODY_SEARCH) {
				total = resp->search->total;
				hits = resp->search->n_hits;
			} else if (timed) {
				if (errors++ < 5)
					fprintf(stderr, "loadgen: %s: %s\n", queries[i].text,
					        resp->body_case == XIHU__RESPONSE__BODY_ERROR
					            ? resp->error->message
					            : "not a search response");
			}
			xihu__response__free_unpacked(resp, NULL);
			if (timed)
				printf("%s\t%.1f\t%llu\t%zu\n", queries[i].category, (double)(t1 - t0) / 1e3,
				       (unsigned long long)total, hits);
		}
	}
	wire_close(&c);
	if (errors)
		fprintf(stderr, "loadgen: %d queries answered with an error\n", errors);
	return errors ? 1 : 0;
}

/* ---- throughput: N connections, one request in flight on each -------------- */

struct lconn {
	int fd;
	size_t next;       /* query to send next */
	size_t inflight;   /* query awaiting its answer */
	size_t sent;       /* bytes of the current frame sent */
	uint8_t *in;       /* response bytes so far */
	size_t have, cap;
	uint64_t t_sent;
};

static int connect_unix(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (fd < 0 || strlen(path) >= sizeof sa.sun_path)
		bench_die("%s: cannot make a socket", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		bench_die("%s: cannot connect", path);
	return fd;
}

static uint64_t *lat_us; /* latency histogram in microseconds, capped */
#define LAT_MAX 1000000u

/* Sends what is left of c's current frame; false on a broken connection. */
static bool flush_request(struct lconn *c)
{
	const struct query *q = &queries[c->inflight];
	while (c->sent < q->len) {
		ssize_t w = send(c->fd, q->frame + c->sent, q->len - c->sent, MSG_NOSIGNAL);
		if (w > 0)
			c->sent += (size_t)w;
		else if (w < 0 && errno == EAGAIN)
			return true;
		else if (w < 0 && errno == EINTR)
			continue;
		else
			return false;
	}
	return true;
}

static bool start_request(struct lconn *c)
{
	c->inflight = c->next;
	c->next = (c->next + 1) % nqueries;
	c->sent = 0;
	c->t_sent = bench_now_ns();
	return flush_request(c);
}

static int run_clients(const char *sock, unsigned nclients, double warmup_s, double duration_s)
{
	struct lconn *cs = calloc(nclients, sizeof *cs);
	lat_us = calloc(LAT_MAX + 1, sizeof *lat_us);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (!cs || !lat_us || ep < 0)
		bench_die("%s", "out of memory");
	for (unsigned i = 0; i < nclients; i++) {
		struct lconn *c = &cs[i];
		c->fd = connect_unix(sock);
		c->next = (size_t)i * nqueries / nclients;
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
		if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0 || !start_request(c))
			bench_die("%s: cannot send", sock);
	}
	uint64_t t_start = bench_now_ns();
	uint64_t t_measure = t_start + (uint64_t)(warmup_s * 1e9);
	uint64_t t_end = t_measure + (uint64_t)(duration_s * 1e9);
	uint64_t done = 0, errors = 0;
	bool measuring = false;
	struct epoll_event evs[64];
	for (;;) {
		int n = epoll_wait(ep, evs, 64, 100);
		uint64_t now = bench_now_ns();
		if (!measuring && now >= t_measure) {
			measuring = true;
			done = errors = 0;
			memset(lat_us, 0, (LAT_MAX + 1) * sizeof *lat_us);
			t_measure = now;
			t_end = now + (uint64_t)(duration_s * 1e9);
		}
		if (measuring && now >= t_end)
			break;
		for (int k = 0; k < n; k++) {
			struct lconn *c = evs[k].data.ptr;
			if (evs[k].events & EPOLLOUT) {
				if (!flush_request(c))
					bench_die("%s", "the daemon closed a connection");
				if (c->sent == queries[c->inflight].len) {
					struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
					epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
				}
			}
			if (!(evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
				continue;
			for (;;) {
				if (c->cap - c->have < 65536) {
					c->cap = c->cap ? c->cap * 2 : 131072;
					c->in = realloc(c->in, c->cap);
					if (!c->in)
						bench_die("%s", "out of memory");
				}
				ssize_t r = recv(c->fd, c->in + c->have, c->cap - c->have, 0);
				if (r > 0) {
					c->have += (size_t)r;
					/* a whole answer is all there is to read: no recv() to see EAGAIN */
					if (c->have >= XIHU_FRAME_HEADER &&
					    c->have >= XIHU_FRAME_HEADER + (size_t)frame_get_len(c->in))
						break;
					continue;
				}
				if (r < 0 && errno == EINTR)
					continue;
				if (r < 0 && errno == EAGAIN)
					break;
				bench_die("%s", "the daemon closed a connection");
			}
			/* one request in flight: at most one whole frame is here */
			if (c->have < XIHU_FRAME_HEADER)
				continue;
			uint32_t len = frame_get_len(c->in);
			if (len == 0 || len > XIHU_MAX_RESPONSE_FRAME)
				bench_die("%s", "bad response frame length");
			if (c->have < XIHU_FRAME_HEADER + len)
				continue;
			if (c->have > XIHU_FRAME_HEADER + len)
				bench_die("%s", "an answer nobody asked for");
			uint64_t t = bench_now_ns();
			Xihu__Response *resp = xihu__response__unpack(NULL, len, c->in + XIHU_FRAME_HEADER);
			c->have = 0;
			if (!resp || resp->id != c->inflight + 1 ||
			    resp->body_case != XIHU__RESPONSE__BODY_SEARCH) {
				if (errors++ < 5)
					fprintf(stderr, "loadgen: %s: %s\n", queries[c->inflight].text,
					        resp && resp->body_case == XIHU__RESPONSE__BODY_ERROR
					            ? resp->error->message
					            : "not the search response expected");
			}
			if (resp)
				xihu__response__free_unpacked(resp, NULL);
			done++;
			uint64_t us = (t - c->t_sent) / 1000;
			lat_us[us > LAT_MAX ? LAT_MAX : us]++;
			if (!start_request(c))
				bench_die("%s", "the daemon closed a connection");
			if (c->sent < queries[c->inflight].len) {
				struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
			}
		}
	}
	double secs = (double)(bench_now_ns() - t_measure) / 1e9;
	uint64_t p50 = 0, p99 = 0, seen = 0;
	for (uint64_t us = 0; us <= LAT_MAX && done; us++) {
		seen += lat_us[us];
		if (!p50 && seen * 2 >= done)
			p50 = us ? us : 1;
		if (!p99 && seen * 100 >= done * 99) {
			p99 = us ? us : 1;
			break;
		}
	}
	printf("clients %u queries %llu seconds %.2f qps %.0f errors %llu p50_us %llu p99_us %llu\n",
	       nclients, (unsigned long long)done, secs, (double)done / secs,
	       (unsigned long long)errors, (unsigned long long)p50, (unsigned long long)p99);
	for (unsigned i = 0; i < nclients; i++) {
		close(cs[i].fd);
		free(cs[i].in);
	}
	free(cs);
	free(lat_us);
	close(ep);
	return errors ? 1 : 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: loadgen --socket PATH --queries FILE (--latency | --clients N) [OPTION]...\n"
	           "  --latency            one connection, one query at a time; a line per query\n"
	           "  --clients N          N connections kept busy; one summary line\n"
	           "  --duration SECS      measured time with --clients (default 10)\n"
	           "  --warmup SECS        unmeasured time before it (default 1); with --latency,\n"
	           "                       the number of unmeasured passes over the queries (default 1)\n"
	           "  --limit N            hits per query (default 10)\n"
	           "  --lines              ask for matching lines too (off: documents only)\n"
	           "  --cwd DIR            send DIR as the client's directory (picks the daemon's\n"
	           "                       index by its root); given again, round-robin per query\n"
	           "  --cwd-run K          each --cwd for K queries in a row (default 1)\n");
}

int main(int argc, char **argv)
{
	bench_prog = "loadgen";
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"queries", required_argument, NULL, 'q'},
		{"latency", no_argument, NULL, 'L'},
		{"clients", required_argument, NULL, 'c'},
		{"duration", required_argument, NULL, 'd'},
		{"warmup", required_argument, NULL, 'w'},
		{"limit", required_argument, NULL, 'n'},
		{"lines", no_argument, NULL, 'l'},
		{"cwd", required_argument, NULL, 'C'},
		{"cwd-run", required_argument, NULL, 'R'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *sock = NULL, *qfile = NULL;
	bool latency = false;
	unsigned clients = 0;
	double duration = 10, warmup = 1;
	int o;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 's': sock = optarg; break;
		case 'q': qfile = optarg; break;
		case 'L': latency = true; break;
		case 'c': clients = (unsigned)atoi(optarg); break;
		case 'd': duration = atof(optarg); break;
		case 'w': warmup = atof(optarg); break;
		case 'n': limit = (uint32_t)atoi(optarg); break;
		case 'l': want_lines = true; break;
		case 'C':
			if (!(cwds = realloc(cwds, (ncwds + 1) * sizeof *cwds)))
				bench_die("%s", "out of memory");
			cwds[ncwds++] = optarg;
			break;
		case 'R': cwd_run = (size_t)atol(optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	char buf[256];
	sock = xihu_socket_path(sock, buf, sizeof buf);
	if (!sock || !qfile || latency == (clients > 0) || duration <= 0 || warmup < 0 || !cwd_run) {
		usage(stderr);
		return 2;
	}
	load_queries(qfile);
	if (latency)
		return run_latency(sock, (unsigned)warmup);
	return run_clients(sock, clients, warmup, duration);
}
