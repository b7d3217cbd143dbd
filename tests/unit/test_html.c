/*
 * test_html.c: HTML text extraction (index/html.c): tags, comments, script
 * and style removed; references decoded; lines kept; bad input kept as text
 * in linear time; in place and copying agree.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "input/input.h"

/* The text of s, extracted both into a fresh buffer of exactly its size
 * and in place; the two must agree.  Returns a malloc'd NUL-terminated copy. */
static char *text_n(const char *s, size_t len, size_t *out_len)
{
	char *copy = malloc(len ? len : 1), *inplace = malloc(len + 1);
	assert_non_null(copy);
	assert_non_null(inplace);
	memcpy(inplace, s, len);
	size_t n1 = html_text(s, len, copy);
	size_t n2 = html_text(inplace, len, inplace);
	assert_true(n1 <= len);
	assert_int_equal(n1, n2);
	assert_memory_equal(copy, inplace, n1);
	free(copy);
	inplace[n2] = '\0';
	if (out_len)
		*out_len = n2;
	return inplace;
}

#define EXPECT(in, want)                                                                           \
	do {                                                                                       \
		size_t n_;                                                                         \
		char *got_ = text_n((in), sizeof(in) - 1, &n_);                                    \
		assert_string_equal(got_, (want));                                                 \
		assert_int_equal(n_, sizeof(want) - 1);                                            \
		free(got_);                                                                        \
	} while (0)

static void tags_removed_blocks_separate_inline_joins(void **state)
{
	(void)state;
	EXPECT("<p>Hello</p><p>world</p>", "Hello world");
	EXPECT("one<br>two<br/>three<BR >four", "one two three four");
	EXPECT("<td>a</td><td>b</td>", "a b");
	EXPECT("<b>H</b>ello <EM>wor</EM>ld <a href=\"x\">link</a>s", "Hello world links");
	EXPECT("a <br> b", "a  b"); /* no space added next to white space */
	EXPECT("<html><body>\n<h1>Title</h1>\n</body></html>\n", "\nTitle\n\n");
}

static void attribute_values_are_not_text(void **state)
{
	(void)state;
	EXPECT("<div class=\"zebra\" title='x>y' data-a=b>text</div>", "text");
	EXPECT("<img alt=\"a > b\" src=zebra.png>after", "after");
	EXPECT("<p  id = \"q\"\t>x", "x");
	EXPECT("</p class=\"zebra\">x", "x");
}

static void comments_and_declarations(void **state)
{
	(void)state;
	EXPECT("a<!-- zebra <b>bold</b> -->b", "ab");
	EXPECT("a<!-->b<!--->c", "abc");
	EXPECT("<!DOCTYPE html>\n<html>x", "\nx");
	EXPECT("<?xml version=\"1.0\"?>x<![CDATA[ zebra ]]>y", "xy");
}

static void script_and_style_contents_removed(void **state)
{
	(void)state;
	EXPECT("<script>var zebra = \"<b>\";\nif (a < b) x();\n</script>after", "\n\nafter");
	EXPECT("<SCRIPT type=\"text/javascript\">zebra()</Script >after", "after");
	EXPECT("<style>p { color: zebra }</style>text", "text");
	EXPECT("<script>a</scripts>zebra</script>b", "b"); /* </scripts> does not end it */
	EXPECT("x<scripted>y", "x y");                     /* not a script element */
}

static void named_references(void **state)
{
	(void)state;
	EXPECT("&amp; &lt; &gt; &quot; &apos;", "& < > \" '");
	EXPECT("caf&eacute; na&iuml;ve &Uuml;ber &szlig; &AElig;&zwnj;x",
	       "caf\xc3\xa9 na\xc3\xafve \xc3\x9c" "ber \xc3\x9f \xc3\x86\xe2\x80\x8cx");
	EXPECT("a&nbsp;b", "a\xc2\xa0" "b");
	EXPECT("&mdash;&hellip;&euro;&alpha;&Omega;", "\xe2\x80\x94\xe2\x80\xa6\xe2\x82\xac\xce\xb1\xce\xa9");
	EXPECT("AT&amp;T", "AT&T");
	EXPECT("&lt;div class=&quot;zebra&quot;&gt;", "<div class=\"zebra\">");
}

static void numeric_references(void **state)
{
	(void)state;
	EXPECT("&#233;&#xE9;&#XE9;&#x41;&#0065;", "\xc3\xa9\xc3\xa9\xc3\xa9" "AA");
	EXPECT("&#128512;&#x1F600;", "\xf0\x9f\x98\x80\xf0\x9f\x98\x80");
	/* 0, surrogates and out of range: U+FFFD */
	EXPECT("&#0;&#xD800;&#x110000;&#99999999999999;", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	/* 0x80-0x9F as Windows-1252 */
	EXPECT("&#150;&#x93;&#x94;", "\xe2\x80\x93\xe2\x80\x9c\xe2\x80\x9d");
	/* control characters never add a line */
	EXPECT("a&#10;b&#13;c&#x0A;d&#9;e&#x81;f", "a b c d\te f");
}

static void malformed_references_stay(void **state)
{
	(void)state;
	EXPECT("&amp &unknown; &#; &#x; &#xZZ; & x &#12 &;", "&amp &unknown; &#; &#x; &#xZZ; & x &#12 &;");
	EXPECT("&AMP; &Amp; &toolongname;", "&AMP; &Amp; &toolongname;");
	EXPECT("a&", "a&");
	EXPECT("&#", "&#");
}

static void lines_are_kept(void **state)
{
	(void)state;
	EXPECT("<p\nclass=\"a\nb\">x</p>\ny", "\n\nx\ny");
	EXPECT("<a\r\nhref=x>y\r\nz", "\ny\r\nz"); /* CRLF inside a tag: just the LF */
	EXPECT("a<!--\n\n-->b", "a\n\nb");
	EXPECT("<style>\n\n\n</style>x", "\n\n\nx");
	EXPECT("a<br\n>b", "a\nb"); /* the newline separates: no space too */
}

static void text_lt_is_text(void **state)
{
	(void)state;
	EXPECT("a < b and c > d", "a < b and c > d");
	EXPECT("x <3 y", "x <3 y");
	EXPECT("<>x</ >", "<>x</ >");
	EXPECT("1<2", "1<2");
}

static void unterminated_markup_keeps_the_rest(void **state)
{
	(void)state;
	EXPECT("text <a href=\"zebra", "text <a href=\"zebra");
	EXPECT("x <!-- never closed zebra", "x <!-- never closed zebra");
	EXPECT("x <!-- open <b>bold</b>", "x <!-- open bold");
	EXPECT("<script>var a; <b>x</b>", "var a; x");
	EXPECT("<style>p{}", "p{}");
	EXPECT("<!DOCTYPE", "<!DOCTYPE");
	EXPECT("a<", "a<");
	EXPECT("a</", "a</");
	/* a quote still open at the last '>': the tag ends at its first '>' */
	EXPECT("a <b c=\"unclosed> rest", "a  rest");
	EXPECT("<p title='x>y>z", "y>z");
}

static void invalid_utf8_passes_through(void **state)
{
	(void)state;
	EXPECT("\xff\xfe<b>x</b>\xc3", "\xff\xfex\xc3");
	EXPECT("<p title=\"\xff\">\xed\xa0\x80</p>", "\xed\xa0\x80");
}

static void huge_attribute(void **state)
{
	(void)state;
	size_t big = 4u << 20;
	const char *head = "before<img src=\"data:", *tail = "\">after";
	size_t hl = strlen(head), tl = strlen(tail), len = hl + big + tl;
	char *s = malloc(len);
	assert_non_null(s);
	memcpy(s, head, hl);
	memset(s + hl, 'A', big);
	memcpy(s + hl + big, tail, tl);
	size_t n;
	char *got = text_n(s, len, &n);
	assert_string_equal(got, "before after");
	free(got);
	free(s);
}

/* Inputs that would take quadratic time if each unterminated '<' or quote
 * rescanned to the end: they must finish (the suite's timeout is the check)
 * and keep their text. */
static char *repeat(const char *unit, size_t times, const char *end, size_t *len)
{
	size_t ul = strlen(unit), el = strlen(end);
	char *s = malloc(ul * times + el + 1);
	assert_non_null(s);
	for (size_t i = 0; i < times; i++)
		memcpy(s + i * ul, unit, ul);
	memcpy(s + ul * times, end, el + 1);
	*len = ul * times + el;
	return s;
}

static void pathological_inputs_stay_linear(void **state)
{
	(void)state;
	static const struct {
		const char *unit, *end;
	} cases[] = {
		{"<a", ""},             /* no '>' anywhere */
		{"<a>x<b", ""},         /* '>'s only early on */
		{"<!--", " >"},         /* comments never closed */
		{"<script>", "x>"},     /* scripts never closed */
		{"<style>x<!--", ">"},  /* both */
		{"<a z='>'", " y=\""},  /* quotes closed but one open at the end */
		{"<a z=\"x\" ", "y='>tail"},
		{"&#1111", ""},         /* references never closed */
		{"&amp", ";"},
	};
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		size_t len, n;
		char *s = repeat(cases[c].unit, 200000, cases[c].end, &len);
		char *got = text_n(s, len, &n);
		assert_true(n > 0);
		free(got);
		free(s);
	}
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 32);
}

/* Random mixes of markup pieces: never longer than the input, the same
 * newlines, in place the same as copying (text_n), nothing read or
 * written out of bounds (the sanitizer build). */
static void random_markup_keeps_lines(void **state)
{
	(void)state;
	static const char *const pieces[] = {
		"<", ">", "</", "<!--", "-->", "<!", "<?", "&", ";", "&#", "&#x", "amp", "eacute", "1F600",
		"99", "\"", "'", "=", " ", "\n", "\r\n", "a", "script", "style", "b", "p", "/", "-",
		"\xc3\xa9", "\xff", "zebra", "\t",
	};
	enum { NPIECES = sizeof pieces / sizeof *pieces };
	char buf[512];
	for (int round = 0; round < 20000; round++) {
		size_t len = 0;
		size_t k = next_rand() % 60;
		for (size_t j = 0; j < k; j++) {
			const char *p = pieces[next_rand() % NPIECES];
			size_t pl = strlen(p);
			if (len + pl > sizeof buf)
				break;
			memcpy(buf + len, p, pl);
			len += pl;
		}
		size_t n;
		char *got = text_n(buf, len, &n);
		size_t nl_in = 0, nl_out = 0;
		for (size_t j = 0; j < len; j++)
			nl_in += buf[j] == '\n';
		for (size_t j = 0; j < n; j++)
			nl_out += got[j] == '\n';
		assert_int_equal(nl_in, nl_out);
		free(got);
	}
}

static void html_names(void **state)
{
	(void)state;
	static const char *const yes[] = {"a.html", "/x/A.HTM", "b.HtMl", "c.html.gz", "d.htm.GZ", ".html"};
	static const char *const no[] = {"a.xhtml", "a.htmlx", "html", "a.md", "a.gz", "a.htm.tar", "", "htm"};
	for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
		assert_true(html_is_html_name(yes[i], strlen(yes[i])));
	for (size_t i = 0; i < sizeof no / sizeof *no; i++)
		assert_false(html_is_html_name(no[i], strlen(no[i])));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tags_removed_blocks_separate_inline_joins),
		cmocka_unit_test(attribute_values_are_not_text),
		cmocka_unit_test(comments_and_declarations),
		cmocka_unit_test(script_and_style_contents_removed),
		cmocka_unit_test(named_references),
		cmocka_unit_test(numeric_references),
		cmocka_unit_test(malformed_references_stay),
		cmocka_unit_test(lines_are_kept),
		cmocka_unit_test(text_lt_is_text),
		cmocka_unit_test(unterminated_markup_keeps_the_rest),
		cmocka_unit_test(invalid_utf8_passes_through),
		cmocka_unit_test(huge_attribute),
		cmocka_unit_test(pathological_inputs_stay_linear),
		cmocka_unit_test(random_markup_keeps_lines),
		cmocka_unit_test(html_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
