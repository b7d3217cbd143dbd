/*
 * jsonl.h: JSON Lines records for the builder (see jsonl.c).
 * A record's "title" goes to FIELD_TITLE, its other string members to the body.
 */
#ifndef XIHU_JSONL_H
#define XIHU_JSONL_H

#include "index-int.h"

typedef struct jsonl_field {
	uint32_t field;
	const char *value; /* points into jsonl_record.text */
	uint32_t len;
} jsonl_field;

typedef struct jsonl_record {
	const char *id; /* NUL-terminated */
	uint32_t id_len;
	const char *text; /* the string members, each on its own line, in file order */
	size_t text_len;
	uint32_t nfields;
	jsonl_field *fields;
} jsonl_record;

typedef int (*jsonl_fn)(void *ctx, const jsonl_record *rec);

/* Reads path line by line; a line that is not a JSON object with a string
 * "id" (holding no U+0000) is an error naming the file, line and column.
 * Blank lines are skipped. */
int jsonl_read(const char *path, jsonl_fn fn, void *ctx, xihu_err *err);

#endif
