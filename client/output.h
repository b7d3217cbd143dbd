/*
 * output.h: how `xihu search` prints hits (client/output.c).  Formats are
 * those of SPEC §2: the default grouped form, --vimgrep, --json (JSON Lines)
 * and -l.  Hits are libxihu-client's (<xihu/client.h>); nothing here talks
 * to the daemon.
 */
#ifndef XIHU_OUTPUT_H
#define XIHU_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <xihu/client.h>

enum out_format { OUT_DEFAULT, OUT_VIMGREP, OUT_JSON, OUT_LIST, OUT_COUNT };

struct out_opts {
	FILE *f;
	enum out_format format;
	bool color;      /* ANSI colors (default format only) */
	const char *cwd; /* paths under it print relative; NULL: always absolute */
	/* default format: a hit shows this many matching lines at most, then
	 * says there are more (it was asked for one more); 0: all it has */
	uint32_t cut_lines;
	uint32_t context; /* the context asked for (-C), to cut with the lines */
};

/* Prints the hit ranked rank (1-based, by score); first: the first hit
 * printed (the default format separates hits with a blank line). */
void out_hit(const struct out_opts *o, const struct xihu_hit *h, unsigned rank, bool first);
/* --json: the last line {"summary":{hits, total, total_exact, took_us}}. */
void out_json_summary(const struct out_opts *o, uint64_t hits, uint64_t total,
                      bool total_exact, uint64_t took_us, const char *suggestion);
/* Writes s[0..n) as a JSON string (with quotes): control characters, quotes
 * and backslashes escaped, invalid UTF-8 bytes as \ufffd.  The result is
 * always valid JSON. */
void out_json_string(FILE *f, const uint8_t *s, size_t n);
/* The inside of that string (no quotes) into dst, cap bytes: as many whole
 * characters of s[0..n) as fit (each takes at most 6 bytes escaped), *used
 * the bytes of s they were.  Returns the bytes written. */
size_t out_json_escape(char *dst, size_t cap, const uint8_t *s, size_t n, size_t *used);

#endif
