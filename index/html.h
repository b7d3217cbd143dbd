/*
 * html.h: the text of an HTML file, for indexing and the doc store (see html.c).
 */
#ifndef XIHU_HTML_H
#define XIHU_HTML_H

#include <stdbool.h>
#include <stddef.h>

/* Whether a file is indexed as HTML, by its name: it ends in ".html" or
 * ".htm", in any case, optionally followed by ".gz" (read through zlib). */
bool html_is_html_name(const char *path, size_t len);

/*
 * Writes the text of the HTML src[0..len) to dst and returns its length,
 * never more than len: tags, comments and the contents of <script> and
 * <style> removed, character references decoded, every '\n' of src kept
 * (line k of the text is line k of the file).  dst may be src (the text
 * is extracted in place) or any other buffer of len bytes.  Never fails:
 * markup left unterminated at the end is kept as text.
 */
size_t html_text(const char *src, size_t len, char *dst);

#endif
