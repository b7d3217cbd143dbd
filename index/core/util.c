/*
 * util.c: errors, the growable byte buffer and small helpers shared by the
 * index library.  xbuf keeps a sticky error so encoders write straight
 * through and check once at the end.  BM25's tf part lives here too, once,
 * so that seg_out.c (writing block impacts) and postings.c (checking them)
 * compute the same bits.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"

int xihu_err_setv(xihu_err *err, int code, const char *fmt, va_list ap)
{
	if (err) {
		err->code = code;
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		/* keep it one line whatever a file name holds */
		for (char *c = err->msg; *c; c++)
			if (*c == '\n' || *c == '\r')
				*c = ' ';
	}
	return code;
}

int xihu_err_set(xihu_err *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	xihu_err_setv(err, code, fmt, ap);
	va_end(ap);
	return code;
}

const char *xihu_strerror(int code)
{
	switch (code) {
	case XIHU_OK: return "ok";
	case XIHU_ENOMEM: return "out of memory";
	case XIHU_EIO: return "input/output error";
	case XIHU_ECORRUPT: return "index is corrupt";
	case XIHU_EQUERY: return "query syntax error";
	case XIHU_ELIMIT: return "limit exceeded";
	case XIHU_ENOINDEX: return "no index";
	case XIHU_EINVAL: return "invalid argument";
	case XIHU_ELOCKED: return "index is locked by another writer";
	case XIHU_ETIMEOUT: return "timed out";
	case XIHU_ECANCELED: return "cancelled";
	}
	return "unknown error";
}

void xihu_limits_default(xihu_limits *out)
{
	out->max_query_bytes = 16u << 10;
	out->max_terms = 2048;
	out->max_depth = 32;
	out->max_prefix_expansions = 4096;
	out->max_hits = 0; /* no cap: a page is at most the index's documents */
}

bool xihu_default_index_dir(char *buf, size_t size)
{
	const char *env = getenv("XIHU_INDEX"), *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
	int n;
	if (env && *env)
		n = snprintf(buf, size, "%s", env);
	else if (xdg && *xdg == '/')
		n = snprintf(buf, size, "%s/xihu/index", xdg);
	else
		n = snprintf(buf, size, "%s/.local/share/xihu/index", home && *home ? home : "/");
	return n >= 0 && (size_t)n < size;
}

void xbuf_init(xbuf *b)
{
	memset(b, 0, sizeof *b);
}

void xbuf_free(xbuf *b)
{
	free(b->p);
	xbuf_init(b);
}

void xbuf_reset(xbuf *b)
{
	b->len = 0;
}

bool xarray_reserve(void *arr, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return true;
	size_t n = *cap ? *cap : 16;
	while (n < need) {
		if (n > SIZE_MAX / 2 / elem)
			return false;
		n *= 2;
	}
	void *p = realloc(*(void **)arr, n * elem);
	if (!p)
		return false;
	*(void **)arr = p;
	*cap = n;
	return true;
}

bool xbuf_reserve(xbuf *b, size_t extra)
{
	if (b->rc)
		return false;
	if (b->cap - b->len >= extra)
		return true;
	size_t cap = b->cap ? b->cap : 64;
	while (cap - b->len < extra) {
		if (cap > SIZE_MAX / 2) {
			b->rc = XIHU_ENOMEM;
			return false;
		}
		cap *= 2;
	}
	uint8_t *p = realloc(b->p, cap);
	if (!p) {
		b->rc = XIHU_ENOMEM;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void xbuf_put(xbuf *b, const void *p, size_t n)
{
	if (n == 0 || !xbuf_reserve(b, n))
		return;
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

void xbuf_put_u8(xbuf *b, uint8_t v)
{
	if (!xbuf_reserve(b, 1))
		return;
	b->p[b->len++] = v;
}

void xbuf_put_u32le(xbuf *b, uint32_t v)
{
	uint8_t t[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	xbuf_put(b, t, 4);
}

void xbuf_put_u64le(xbuf *b, uint64_t v)
{
	xbuf_put_u32le(b, (uint32_t)v);
	xbuf_put_u32le(b, (uint32_t)(v >> 32));
}

void xbuf_put_varint(xbuf *b, uint64_t v)
{
	if (!xbuf_reserve(b, 10))
		return;
	uint8_t *o = b->p + b->len;
	while (v >= 0x80) {
		*o++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*o++ = (uint8_t)v;
	b->len = (size_t)(o - b->p);
}

bool get_varint_slow(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
	const uint8_t *p = *pp;
	uint64_t v = 0;
	for (unsigned shift = 0; shift < 70; shift += 7) {
		if (p >= end)
			return false;
		uint8_t c = *p++;
		if (shift == 63 && c > 1)
			return false;
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*pp = p;
			*out = v;
			return true;
		}
	}
	return false;
}

uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- BM25's tf part ---------------------------------------------------------- */

double bm25_avgdl(uint64_t field_total, uint32_t ndocs)
{
	return ndocs ? (double)field_total / (double)ndocs : 0;
}

double bm25_tf_norm(uint32_t tf, uint32_t dl, double avgdl)
{
	double norm = 1.0 - XIHU_BM25_B + (avgdl > 0 ? XIHU_BM25_B * (double)dl / avgdl : 0);
	return (double)tf / ((double)tf + XIHU_BM25_K1 * norm);
}

float bm25_float_up(double x)
{
	float f = (float)x;
	if ((double)f < x)
		f = nextafterf(f, INFINITY);
	return f;
}

void vwarn_line(FILE *f, const char *fmt, va_list ap)
{
	if (!f)
		return;
	char msg[PATH_MAX + 1024];
	vsnprintf(msg, sizeof msg, fmt, ap);
	flockfile(f);
	fputs("xihu-index: ", f);
	for (const char *c = msg; *c; c++) {
		unsigned char b = (unsigned char)*c;
		if (b < 0x20 || b == 0x7f || b == '\\')
			fprintf(f, "\\%03o", b);
		else
			putc_unlocked(b, f);
	}
	putc_unlocked('\n', f);
	funlockfile(f);
}

void warn_line(FILE *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vwarn_line(f, fmt, ap);
	va_end(ap);
}
