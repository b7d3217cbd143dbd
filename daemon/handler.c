/*
 * handler.c: one request frame in, one response frame out.
 *
 * Unpacks the Request, checks the protocol version, serves Search / Status /
 * Stop against the index snapshot in the context (Index and List through
 * the registry: a build in progress is listed with its counts) and packs
 * the Response with its length header into the caller's reusable reply
 * buffer.  It touches no
 * libevent state and no globals: the worker threads call it; the caller holds
 * a reference on ctx->ix for the duration of the call.
 *
 * Errors by who caused them: a frame that does not unpack is E_BAD_FRAME and
 * closes the stream (HANDLER_CLOSE); a well-formed request we cannot serve is
 * E_BAD_REQUEST / E_VERSION / E_QUERY / E_LIMIT and the connection goes on;
 * the index's own failures are E_INDEX / E_INTERNAL.
 *
 * Invariants: every call leaves exactly one answer in out (or none, when
 * even an error frame cannot be allocated), except HANDLER_RETRY, which
 * answers nothing: run on the loop thread with a budget, the search gave up
 * at it and starts over on a worker.
 *
 * Callers: handler_serve, through the pool's run callback (server.c's
 * serve_job), on a worker or the loop thread; handler_error_reply from
 * conn.c (a bad frame) and server.c (a refused connection); reply_free
 * from whoever owns a reply (pool.c's jobs, server.c).  It calls down
 * only: the registry and live sync (which index, their status), the stats
 * and the index library.
 */
#include <stddef.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frame.h"
#include "xihu.pb-c.h"
#include "xihud.h"

#define XIHUD_MAX_CONTEXT 100 /* lines around a match a request may ask for */
/* Run on the loop thread (handler_ctx.budget_ns), a search whose plan may
 * match more than this many documents in a segment goes to a worker before
 * it starts (pool.c runs a lone request inline, within its budget). */
#define INLINE_MAX_COST 50000

/* The options of search request sr: its deadline counts from when the
 * request was read (time queued for a worker is part of it); run on the
 * loop thread (ctx->budget_ns), the search also stops at the budget, and a
 * plan bigger than INLINE_MAX_COST goes to a worker before it starts.
 * Returns whether the budget bounds it. */
static bool search_opts(const struct handler_ctx *ctx, const Xihu__SearchRequest *sr,
                        xihu_index_search_opts *opts)
{
	*opts = (xihu_index_search_opts){
		.limit = sr->limit,
		.offset = sr->offset,
		.want_lines = sr->want_lines,
		.max_lines = sr->max_lines,
		.limits = ctx->limits,
		.exact_total = sr->exact_total,
		.context = sr->context < XIHUD_MAX_CONTEXT ? sr->context : XIHUD_MAX_CONTEXT,
		.suggest = sr->suggest,
		.any = sr->any,
		.cancel = ctx->cancel,
	};
	uint32_t timeout_ms = sr->timeout_ms ? sr->timeout_ms : ctx->timeout_ms;
	if (timeout_ms && ctx->received_ns)
		opts->deadline_ns = ctx->received_ns + (uint64_t)timeout_ms * 1000000u;
	bool budgeted = ctx->budget_ns && (!opts->deadline_ns || ctx->budget_ns < opts->deadline_ns);
	if (budgeted) {
		opts->deadline_ns = ctx->budget_ns;
		opts->max_cost = INLINE_MAX_COST; /* a big plan goes to a worker before it starts */
	}
	return budgeted;
}

/* The answer to a search that failed with rc (err): E_LIMIT naming the
 * timeout that ran out, else the index's error; counted in the stats. */
static void search_failed(const struct handler_ctx *ctx, uint64_t id, const Xihu__SearchRequest *sr,
                          int rc, xihu_err *err, uint64_t t0, struct reply *out)
{
	if (!err->code)
		err->code = rc;
	stats_record(ctx->stats, xihud_now_us() - t0);
	if (rc == XIHU_ETIMEOUT) {
		atomic_fetch_add_explicit(&ctx->stats->timed_out, 1, memory_order_relaxed);
		uint32_t timeout_ms = sr->timeout_ms ? sr->timeout_ms : ctx->timeout_ms;
		char msg[160];
		snprintf(msg, sizeof msg, "search: timed out after %u ms (the request's timeout_ms%s)", timeout_ms,
		         sr->timeout_ms ? "" : ", by default xihud --request-timeout");
		reply_error_col(id, XIHU__ERROR_CODE__E_LIMIT, 0, msg, out);
		return;
	}
	if (rc == XIHU_ECANCELED)
		atomic_fetch_add_explicit(&ctx->stats->cancelled, 1, memory_order_relaxed);
	reply_index_error(id, err, out);
}

/* The bytes results_to_hits lays res out in: every hit, line and span and
 * a pointer to each (each array a multiple of 8 bytes long, so the next
 * stays aligned). */
static size_t hits_block_size(const xihu_index_results *res, size_t *nlines_out, size_t *nspans_out)
{
	size_t nlines = 0, nspans = 0;
	for (uint32_t i = 0; i < res->nhits; i++) {
		nlines += res->hits[i].nlines;
		for (uint32_t j = 0; j < res->hits[i].nlines; j++)
			nspans += res->hits[i].lines[j].nspans;
	}
	*nlines_out = nlines;
	*nspans_out = nspans;
	return res->nhits * (sizeof(Xihu__Hit) + sizeof(Xihu__Hit *)) +
	       nlines * (sizeof(Xihu__Line) + sizeof(Xihu__Line *)) +
	       nspans * (sizeof(Xihu__Span) + sizeof(Xihu__Span *));
}

/* Lays res out as protobuf messages in block (hits_block_size bytes),
 * pointing into res's strings; returns the array of the hits. */
static Xihu__Hit **results_to_hits(const xihu_index_results *res, unsigned char *block, size_t nlines,
                                   size_t nspans)
{
	Xihu__Hit *hits = (Xihu__Hit *)block;
	Xihu__Line *lines = (Xihu__Line *)(hits + res->nhits);
	Xihu__Span *spans = (Xihu__Span *)(lines + nlines);
	Xihu__Hit **hitp = (Xihu__Hit **)(spans + nspans);
	Xihu__Line **linep = (Xihu__Line **)(hitp + res->nhits);
	Xihu__Span **spanp = (Xihu__Span **)(linep + nlines);

	size_t li = 0, si = 0;
	for (uint32_t i = 0; i < res->nhits; i++) {
		const xihu_index_hit *h = &res->hits[i];
		Xihu__Hit *ph = &hits[i];
		xihu__hit__init(ph);
		ph->doc.data = (uint8_t *)h->doc;
		ph->doc.len = h->doc_len;
		ph->kind = h->record ? XIHU__DOC_KIND__DOC_RECORD : XIHU__DOC_KIND__DOC_FILE;
		ph->score = h->score;
		ph->n_lines = h->nlines;
		ph->lines = &linep[li];
		for (uint32_t j = 0; j < h->nlines; j++) {
			const xihu_index_line *l = &h->lines[j];
			Xihu__Line *pl = &lines[li];
			xihu__line__init(pl);
			pl->line = l->line;
			pl->col = l->col;
			pl->text.data = (uint8_t *)l->text;
			pl->text.len = l->len;
			pl->n_spans = l->nspans;
			pl->spans = &spanp[si];
			for (uint32_t k = 0; k < l->nspans; k++) {
				xihu__span__init(&spans[si]);
				spans[si].start = l->spans[k].start;
				spans[si].end = l->spans[k].end;
				spanp[si] = &spans[si];
				si++;
			}
			linep[li] = pl;
			li++;
		}
		hitp[i] = ph;
	}
	return hitp;
}

/* The answer to a search that found res: its messages laid out in one
 * block, on the stack for a top-10 without lines, else malloc'd; an
 * E_LIMIT error when the response would be larger than a client accepts. */
static void search_answer(const struct handler_ctx *ctx, uint64_t id, const Xihu__SearchRequest *sr,
                          const xihu_index_results *res, uint64_t t0, struct reply *out)
{
	size_t nlines, nspans;
	size_t need = hits_block_size(res, &nlines, &nspans);
	_Alignas(max_align_t) unsigned char stack[4096];
	unsigned char *block = need <= sizeof stack ? stack : malloc(need);
	if (!block) {
		reply_error_col(id, XIHU__ERROR_CODE__E_INTERNAL, 0, "search: out of memory", out);
		return;
	}
	Xihu__SearchResponse sresp = XIHU__SEARCH_RESPONSE__INIT;
	sresp.n_hits = res->nhits;
	sresp.hits = results_to_hits(res, block, nlines, nspans);
	sresp.total = res->total;
	sresp.total_exact = res->total_exact;
	if (res->suggestion)
		sresp.suggestion = res->suggestion;
	sresp.any = sr->any; /* a client asking for any tells an older daemon by its absence */
	Xihu__Response resp = XIHU__RESPONSE__INIT;
	resp.body_case = XIHU__RESPONSE__BODY_SEARCH;
	resp.search = &sresp;
	uint64_t took = xihud_now_us() - t0;
	sresp.took_us = took;
	stats_record(ctx->stats, took);
	reply_answer(&resp, id, "search", out); /* too large for a frame: E_LIMIT, "ask for fewer" */
	if (block != stack)
		free(block);
}

/* Search: pick the index, run the query, answer.  False (nothing
 * answered) when run on the loop thread it should go to a worker. */
static bool serve_search(const struct handler_ctx *ctx, uint64_t id,
                         const Xihu__SearchRequest *sr, struct reply *out)
{
	uint64_t t0 = xihud_now_us();
	xihu_index_search_opts opts;
	bool budgeted = search_opts(ctx, sr, &opts);
	/* a hit's lines inflate and read its whole text: ten of them often take
	 * more than the budget, and starting over would do the search twice */
	if (ctx->budget_ns && sr->want_lines)
		return false;
	const char *q = sr->query ? sr->query : "";
	xihu_index_results res = {0};
	xihu_err err = {0};
	/* the index: the one asked for, else the one whose tree holds the
	 * client's directory, else the default (ctx->ix) */
	xihu_index *picked = NULL;
	char why[600];
	if (registry_pick(ctx->reg, sr->index, sr->cwd, &picked, why, sizeof why)) {
		reply_error_col(id, XIHU__ERROR_CODE__E_INDEX, 0, why, out);
		return true;
	}
	int rc = xihu_index_search(picked ? picked : ctx->ix, q, strlen(q), &opts, &res, &err);
	xihu_index_unref(picked); /* the hits own their strings: the snapshot may go */
	if (rc != XIHU_OK) {
		if (rc == XIHU_ETIMEOUT && budgeted)
			return false; /* nothing answered: the job goes to a worker */
		search_failed(ctx, id, sr, rc, &err, t0, out);
		return true;
	}
	search_answer(ctx, id, sr, &res, t0, out);
	xihu_index_results_free(&res);
	return true;
}

static void serve_status(const struct handler_ctx *ctx, uint64_t id, struct reply *out)
{
	xihu_index_stats is = {0};
	xihu_index_get_stats(ctx->ix, &is);
	Xihu__StatusResponse st = XIHU__STATUS_RESPONSE__INIT;
	st.version = (char *)XIHU_VERSION_STRING;
	st.format_version = XIHU_FORMAT_VERSION;
	st.proto_version = XIHU_PROTO_VERSION;
	st.uptime_s = ctx->uptime_s;
	st.index_path = (char *)xihu_index_dir(ctx->ix);
	st.docs = is.docs;
	st.terms = is.terms;
	st.segments = is.segments;
	st.index_bytes = is.bytes;
	st.generation = is.generation;
	stats_snapshot(ctx->stats, &st.queries, &st.p50_us, &st.p90_us, &st.p99_us);
	st.connections = ctx->connections;
	st.pid = ctx->pid;
	st.timed_out = atomic_load_explicit(&ctx->stats->timed_out, memory_order_relaxed);
	st.cancelled = atomic_load_explicit(&ctx->stats->cancelled, memory_order_relaxed);
	/* the histogram: at most STATS_BUCKETS buckets, on the stack */
	uint64_t upper[STATS_BUCKETS], count[STATS_BUCKETS];
	Xihu__LatencyBucket lb[STATS_BUCKETS], *lbp[STATS_BUCKETS];
	unsigned nb = stats_histogram(ctx->stats, upper, count);
	for (unsigned i = 0; i < nb; i++) {
		xihu__latency_bucket__init(&lb[i]);
		lb[i].upper_us = upper[i];
		lb[i].count = count[i];
		lbp[i] = &lb[i];
	}
	st.n_latency = nb;
	st.latency = lbp;
	Xihu__SyncStatus sy = XIHU__SYNC_STATUS__INIT;
	struct sync_status ss;
	if (ctx->sync) {
		sync_get_status(ctx->sync, &ss);
		sy.watches = ss.watches;
		sy.polling = ss.polling;
		sy.pending = ss.pending;
		sy.updates = ss.updates;
		sy.commits = ss.commits;
		sy.errors = ss.errors;
		sy.last_error = ss.last_error;
		sy.last_update_ms = ss.last_update_ms;
		st.sync = &sy;
	}
	Xihu__Response resp = XIHU__RESPONSE__INIT;
	resp.body_case = XIHU__RESPONSE__BODY_STATUS;
	resp.status = &st;
	reply_answer(&resp, id, "status", out);
}

/* Create (or bring up to date) the index of a tree: registry.c builds it
 * in the background; the client follows it with List. */
static void serve_index(const struct handler_ctx *ctx, uint64_t id, const Xihu__IndexRequest *ir,
                        struct reply *out)
{
	char dir[PATH_MAX], why[600];
	bool created = false;
	const char *path = ir->path ? ir->path : "";
	if (path[0] != '/') {
		reply_error_col(id, XIHU__ERROR_CODE__E_BAD_REQUEST, 0, "index: the path must be absolute", out);
		return;
	}
	if (!ctx->reg) {
		reply_error_col(id, XIHU__ERROR_CODE__E_INTERNAL, 0, "index: this daemon serves its default index only", out);
		return;
	}
	if (registry_index(ctx->reg, path, dir, sizeof dir, &created, why, sizeof why)) {
		reply_error_col(id, XIHU__ERROR_CODE__E_BAD_REQUEST, 0, why, out);
		return;
	}
	Xihu__IndexResponse ir2 = XIHU__INDEX_RESPONSE__INIT;
	ir2.dir = dir;
	ir2.created = created;
	Xihu__Response resp = XIHU__RESPONSE__INIT;
	resp.body_case = XIHU__RESPONSE__BODY_INDEX;
	resp.index = &ir2;
	reply_answer(&resp, id, "index", out);
}

static void info_fill(Xihu__IndexInfo *ii, xihu_index *ix)
{
	xihu_index_stats is = {0};
	if (!ix)
		return;
	xihu_index_get_stats(ix, &is);
	ii->docs = is.docs;
	ii->bytes = is.bytes;
	ii->segments = is.segments;
	ii->generation = is.generation;
}

/* A build's last progress report: the library's counts, as they go on the wire. */
static void build_fill(Xihu__BuildProgress *bp, const xihu_build_progress *p)
{
	xihu__build_progress__init(bp);
	bp->phase = p->phase == XIHU_BUILD_INDEXED   ? XIHU__BUILD_PHASE__BUILD_INDEXED
	            : p->phase == XIHU_BUILD_READING ? XIHU__BUILD_PHASE__BUILD_READING
	                                             : XIHU__BUILD_PHASE__BUILD_WALKING;
	bp->files_seen = p->files_seen;
	bp->files_done = p->files_done;
	bp->bytes_done = p->bytes_done;
	bp->bytes_total = p->bytes_total;
	bp->elapsed_ms = p->elapsed_ns / 1000000u;
	bp->has_eta = p->eta_s >= 0;
	bp->eta_ms = bp->has_eta ? (uint64_t)(p->eta_s * 1000 + 0.5) : 0;
}

/* The default index, then the others, with their roots, sizes and state. */
static void serve_list(const struct handler_ctx *ctx, uint64_t id, struct reply *out)
{
	struct reg_info *v = NULL;
	size_t n = registry_list(ctx->reg, &v);
	Xihu__IndexInfo *infos = calloc(n + 1, sizeof *infos);
	Xihu__IndexInfo **ptrs = calloc(n + 1, sizeof *ptrs);
	Xihu__BuildProgress *builds = calloc(n + 1, sizeof *builds);
	xihu_root *droots = NULL;
	size_t ndroots = 0;
	xihu_err err = {0};
	const char *ddir = xihu_index_dir(ctx->ix);
	xihu_index_roots(ddir, &droots, &ndroots, &err); /* none: listed without */
	char **dr = calloc(ndroots + 1, sizeof *dr);
	if (!infos || !ptrs || !builds || !dr) {
		reply_error_col(id, XIHU__ERROR_CODE__E_INTERNAL, 0, "list: out of memory", out);
		goto done;
	}
	for (size_t i = 0; i <= n; i++) {
		xihu__index_info__init(&infos[i]);
		ptrs[i] = &infos[i];
	}
	infos[0].dir = (char *)ddir;
	infos[0].state = "ready";
	infos[0].is_default = true;
	for (size_t r = 0; r < ndroots; r++)
		dr[r] = droots[r].path;
	infos[0].roots = dr;
	infos[0].n_roots = ndroots;
	info_fill(&infos[0], ctx->ix);
	for (size_t i = 0; i < n; i++) {
		Xihu__IndexInfo *ii = &infos[i + 1];
		ii->dir = v[i].dir;
		ii->state = (char *)v[i].state;
		ii->progress = v[i].progress;
		if (v[i].reported) {
			build_fill(&builds[i], &v[i].build);
			ii->build = &builds[i];
		}
		ii->error = v[i].error;
		ii->roots = v[i].roots;
		ii->n_roots = v[i].nroots;
		info_fill(ii, v[i].ix);
	}
	Xihu__ListResponse lr = XIHU__LIST_RESPONSE__INIT;
	lr.indexes = ptrs;
	lr.n_indexes = n + 1;
	Xihu__Response resp = XIHU__RESPONSE__INIT;
	resp.body_case = XIHU__RESPONSE__BODY_LIST;
	resp.list = &lr;
	reply_answer(&resp, id, "list", out);
done:
	free(dr);
	free(infos);
	free(ptrs);
	free(builds);
	xihu_roots_free(droots, ndroots);
	registry_list_free(v, n);
}

static void serve_stop(uint64_t id, struct reply *out)
{
	Xihu__StopResponse sp = XIHU__STOP_RESPONSE__INIT;
	Xihu__Response resp = XIHU__RESPONSE__INIT;
	resp.body_case = XIHU__RESPONSE__BODY_STOP;
	resp.stop = &sp;
	reply_answer(&resp, id, "stop", out);
}

enum handler_action handler_serve(const struct handler_ctx *ctx, const uint8_t *body,
                                  size_t len, struct reply *out)
{
	out->len = 0;
	Xihu__Request *req = xihu__request__unpack(NULL, len, body);
	if (!req) {
		char msg[128];
		snprintf(msg, sizeof msg, "bad frame: %zu bytes that are not a packed Request", len);
		reply_error_col(0, XIHU__ERROR_CODE__E_BAD_FRAME, 0, msg, out);
		return HANDLER_CLOSE;
	}

	enum handler_action act = HANDLER_CONTINUE;
	uint64_t id = req->id;
	if (req->version != XIHU_PROTO_VERSION) {
		char msg[128];
		snprintf(msg, sizeof msg, "protocol version %u: this daemon speaks version %u",
		         req->version, XIHU_PROTO_VERSION);
		reply_error_col(id, XIHU__ERROR_CODE__E_VERSION, 0, msg, out);
	} else {
		switch (req->body_case) {
		case XIHU__REQUEST__BODY_SEARCH:
			if (!serve_search(ctx, id, req->search, out))
				act = HANDLER_RETRY;
			break;
		case XIHU__REQUEST__BODY_STATUS:
			serve_status(ctx, id, out);
			break;
		case XIHU__REQUEST__BODY_INDEX:
			serve_index(ctx, id, req->index, out);
			break;
		case XIHU__REQUEST__BODY_LIST:
			serve_list(ctx, id, out);
			break;
		case XIHU__REQUEST__BODY_GREP:
			if (ctx->budget_ns)
				act = HANDLER_RETRY; /* never on the loop thread */
			else if (!ctx->push)
				act = HANDLER_STREAM; /* on a thread of its own, with a stream */
			else
				serve_grep(ctx, id, req->grep, out);
			break;
		case XIHU__REQUEST__BODY_STOP:
			serve_stop(id, out);
			act = HANDLER_STOP;
			break;
		default:
			reply_error_col(id, XIHU__ERROR_CODE__E_BAD_REQUEST, 0,
			            "bad request: no search, grep, status, stop, index or list in it", out);
			break;
		}
	}
	xihu__request__free_unpacked(req, NULL);
	if (!out->len && act != HANDLER_RETRY && act != HANDLER_STREAM)
		return act == HANDLER_STOP ? HANDLER_STOP : HANDLER_CLOSE;
	return act;
}
