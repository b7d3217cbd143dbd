/*
 * fuzz_html.c: html_text (index/html.c), the text of an HTML file, on
 * arbitrary bytes.
 *
 * Input: the file's bytes.  They are extracted twice: into a separate
 * buffer of exactly their size, and in place (as pipeline.c does it).
 *
 * Invariants (html.h's promises): both give the same length and bytes,
 * never longer than the input; as many '\n' as the input (line k of the
 * text is line k of the file); no NUL the input did not have; valid UTF-8
 * out of valid UTF-8 in; input with no '<' and no '&' comes out as it is.
 */
#include <string.h>

#include "fuzz.h"
#include "input/input.h"

static size_t count(const uint8_t *p, size_t n, uint8_t c)
{
	size_t k = 0;
	for (const uint8_t *e = p + n; p < e && (p = memchr(p, c, (size_t)(e - p))); p++)
		k++;
	return k;
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
static bool valid_utf8(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint8_t c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t len;
		uint32_t cp, min;
		if ((c & 0xe0) == 0xc0) {
			len = 2, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (n - i < len)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000))
			return false;
		i += len;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *src = (const char *)data;
	char *copy = malloc(size ? size : 1), *inplace = malloc(size ? size : 1);
	FUZZ_CHECK(copy && inplace);
	if (size)
		memcpy(inplace, data, size);
	size_t n = html_text(src, size, copy);
	size_t m = html_text(inplace, size, inplace);
	FUZZ_CHECK(n <= size);
	FUZZ_CHECK(n == m && memcmp(copy, inplace, n) == 0);

	const uint8_t *out = (const uint8_t *)copy;
	FUZZ_CHECK(count(out, n, '\n') == count(data, size, '\n'));
	FUZZ_CHECK(count(out, n, '\0') <= count(data, size, '\0'));
	if (valid_utf8(data, size))
		FUZZ_CHECK(valid_utf8(out, n));
	if (size && !memchr(data, '<', size) && !memchr(data, '&', size))
		FUZZ_CHECK(n == size && memcmp(out, data, size) == 0);
	free(copy);
	free(inplace);
	return 0;
}
