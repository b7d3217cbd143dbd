/*
 * test_output.c: what `xihu search` prints (client/output.c): JSON that is
 * always valid whatever bytes a file holds, paths relative to the current
 * directory, the vimgrep and default layouts, for hits as libxihu-client
 * hands them over (struct xihu_hit).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "output.h"

static char *json_of(const char *s, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	out_json_string(f, (const uint8_t *)s, n);
	fclose(f);
	return buf;
}

static void json_escapes_quotes_backslashes_and_controls(void **state)
{
	(void)state;
	char *j = json_of("a\"b\\c\n\t\x01\x1b", 9);
	assert_string_equal(j, "\"a\\\"b\\\\c\\n\\t\\u0001\\u001b\"");
	free(j);
	j = json_of("nul\0x", 5);
	assert_string_equal(j, "\"nul\\u0000x\"");
	free(j);
}

static void json_keeps_valid_utf8_and_replaces_invalid_bytes(void **state)
{
	(void)state;
	char *j = json_of("\xe2\x82\xac \xf0\x9f\x98\x80", 8); /* euro sign, emoji */
	assert_string_equal(j, "\"\xe2\x82\xac \xf0\x9f\x98\x80\"");
	free(j);
	/* stray continuation, overlong, surrogate, truncated, beyond U+10FFFF */
	j = json_of("\x80|\xc0\xaf|\xed\xa0\x80|\xe2\x82|\xf4\x90\x80\x80", 16);
	assert_null(strstr(j, "\x80"));
	assert_non_null(strstr(j, "\\ufffd|\\ufffd\\ufffd|"));
	free(j);
}

static struct xihu_hit *make_hit(const char *doc, const struct xihu_line *lines, size_t n)
{
	static struct xihu_hit h;
	h = (struct xihu_hit){
	    .doc = doc,
	    .doc_len = strlen(doc),
	    .score = 1.5,
	    .lines = lines,
	    .n_lines = n,
	};
	return &h;
}

static char *print_hit(enum out_format fmt, const char *cwd, const struct xihu_hit *h,
                       unsigned rank)
{
	char *buf = NULL;
	size_t len = 0;
	struct out_opts o = {.format = fmt, .cwd = cwd};
	o.f = open_memstream(&buf, &len);
	assert_non_null(o.f);
	out_hit(&o, h, rank, rank == 1);
	fclose(o.f);
	return buf;
}

static void formats_and_relative_paths(void **state)
{
	(void)state;
	const struct xihu_span sp = {4, 9};
	const struct xihu_line l = {
	    .line = 3,
	    .col = 5,
	    .text = "the quick fox",
	    .text_len = 13,
	    .spans = &sp,
	    .n_spans = 1,
	};
	struct xihu_hit *h = make_hit("/home/u/src/a.c", &l, 1);

	char *s = print_hit(OUT_VIMGREP, "/home/u", h, 1);
	assert_string_equal(s, "src/a.c:3:5:the quick fox\n");
	free(s);
	s = print_hit(OUT_VIMGREP, "/home/u/sr", h, 1); /* not a path prefix */
	assert_string_equal(s, "/home/u/src/a.c:3:5:the quick fox\n");
	free(s);
	s = print_hit(OUT_DEFAULT, "/home/u/src", h, 2);
	assert_string_equal(s, "\na.c\n3:5: the quick fox\n");
	free(s);
	s = print_hit(OUT_LIST, NULL, h, 1);
	assert_string_equal(s, "/home/u/src/a.c\n");
	free(s);
	s = print_hit(OUT_JSON, "/home/u", h, 1);
	assert_string_equal(s, "{\"rank\":1,\"score\":1.5,\"doc\":\"src/a.c\",\"lines\":[{\"line\":3,"
	                       "\"col\":5,\"text\":\"the quick fox\",\"spans\":[[4,9]]}]}\n");
	free(s);
	/* record ids print as they are, even when they look like paths */
	h->is_record = true;
	s = print_hit(OUT_LIST, "/home/u", h, 1);
	assert_string_equal(s, "/home/u/src/a.c\n");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(json_escapes_quotes_backslashes_and_controls),
		cmocka_unit_test(json_keeps_valid_utf8_and_replaces_invalid_bytes),
		cmocka_unit_test(formats_and_relative_paths),
	};
	return cmocka_run_group_tests_name("output", tests, NULL, NULL);
}
