/*
 * textbuf.h: a bounded text built piece by piece, for the tests that
 * generate patterns and texts at random (test_regex_plan, test_match).
 * TEXTBUF_SIZE, defined before the include, sets its room (default 512);
 * a piece that does not fit is left out, and the text stays NUL-terminated.
 */
#ifndef XIHU_TEST_TEXTBUF_H
#define XIHU_TEST_TEXTBUF_H

#include <string.h>

#ifndef TEXTBUF_SIZE
#define TEXTBUF_SIZE 512
#endif

typedef struct buf {
	char b[TEXTBUF_SIZE];
	size_t n;
} buf;

static inline void put(buf *o, const char *s)
{
	size_t n = strlen(s);
	if (o->n + n < sizeof o->b) {
		memcpy(o->b + o->n, s, n);
		o->n += n;
	}
	o->b[o->n] = 0;
}

#endif
