/*
 * manifest.c: the MANIFEST file, the one place that says which segments are
 * live.  Owns its layout (docs/FORMAT.md §5) and the commit protocol: a new
 * manifest is written to MANIFEST.tmp, fsynced, renamed over MANIFEST and
 * the directory fsynced, so a reader sees the old or the new index, never a
 * mix, whenever a crash happens.
 *
 * Payload (little-endian): u64 generation, u64 next_seg_id, u32 nsegs,
 * u32 nroots, nsegs x {u64 id, u32 ndocs, u64 del_gen},
 * nroots x {u32 len, bytes}.  Segment ids are < next_seg_id and unique.
 *
 * Callers: build.c (commit), index.c (open, change detection, check).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"

#define MANIFEST_NAME "MANIFEST"
#define MANIFEST_TMP "MANIFEST.tmp"
#define SEG_ENTRY 20

void manifest_free(manifest *m)
{
	if (!m)
		return;
	free(m->segs);
	for (uint32_t i = 0; i < m->nroots; i++)
		free(m->roots[i]);
	free(m->roots);
	memset(m, 0, sizeof *m);
}

static int parse(manifest *m, const xmap *f, xihu_err *err)
{
	const uint8_t *d = f->data;
	size_t len = f->len, off = 24;
	if (len < 24)
		return xfile_corrupt(f, 0, err, "manifest header truncated");
	m->generation = get_u64le(d);
	m->next_seg_id = get_u64le(d + 8);
	uint32_t nsegs = get_u32le(d + 16), nroots = get_u32le(d + 20);
	if ((len - off) / SEG_ENTRY < nsegs)
		return xfile_corrupt(f, 16, err, "segment list truncated");
	m->segs = calloc(nsegs ? nsegs : 1, sizeof *m->segs);
	if (!m->segs)
		return xihu_err_set(err, XIHU_ENOMEM, "%s: out of memory", f->path);
	for (uint32_t i = 0; i < nsegs; i++, off += SEG_ENTRY) {
		manifest_seg *s = &m->segs[i];
		s->id = get_u64le(d + off);
		s->ndocs = get_u32le(d + off + 8);
		s->del_gen = get_u64le(d + off + 12);
		if (s->id >= m->next_seg_id)
			return xfile_corrupt(f, off, err, "segment id not below next_seg_id");
		for (uint32_t j = 0; j < i; j++)
			if (m->segs[j].id == s->id)
				return xfile_corrupt(f, off, err, "segment listed twice");
		m->nsegs = i + 1;
	}
	/* each root takes at least 4 bytes: bound the allocation by the file */
	if ((len - off) / 4 < nroots)
		return xfile_corrupt(f, 20, err, "root list truncated");
	m->roots = calloc(nroots ? nroots : 1, sizeof *m->roots);
	if (!m->roots)
		return xihu_err_set(err, XIHU_ENOMEM, "%s: out of memory", f->path);
	for (uint32_t i = 0; i < nroots; i++) {
		if (len - off < 4)
			return xfile_corrupt(f, off, err, "root truncated");
		uint32_t l = get_u32le(d + off);
		if (len - off - 4 < l)
			return xfile_corrupt(f, off, err, "root truncated");
		if (memchr(d + off + 4, 0, l))
			return xfile_corrupt(f, off, err, "NUL byte in a root");
		char *r = malloc((size_t)l + 1);
		if (!r)
			return xihu_err_set(err, XIHU_ENOMEM, "%s: out of memory", f->path);
		memcpy(r, d + off + 4, l);
		r[l] = 0;
		m->roots[i] = r;
		m->nroots = i + 1;
		off += 4 + (size_t)l;
	}
	if (off != len)
		return xfile_corrupt(f, off, err, "trailing bytes after the root list");
	return XIHU_OK;
}

int manifest_read(const char *dir, manifest *m, xihu_err *err)
{
	memset(m, 0, sizeof *m);
	struct stat st;
	char *path = malloc(strlen(dir) + sizeof MANIFEST_NAME + 1);
	if (!path)
		return xihu_err_set(err, XIHU_ENOMEM, "%s: out of memory", dir);
	sprintf(path, "%s/%s", dir, MANIFEST_NAME);
	int r = stat(path, &st);
	int e = errno;
	free(path);
	if (r != 0 && (e == ENOENT || e == ENOTDIR))
		return xihu_err_set(err, XIHU_ENOINDEX, "%s: no index here (no MANIFEST)", dir);
	xmap f;
	int rc = xfile_map(&f, dir, MANIFEST_NAME, XFILE_MANIFEST, true, err);
	if (rc) {
		if (rc == XIHU_EIO && r != 0 && e == ENOENT)
			rc = xihu_err_set(err, XIHU_ENOINDEX, "%s: no index here (no MANIFEST)", dir);
		return rc;
	}
	rc = parse(m, &f, err);
	xfile_unmap(&f);
	if (rc)
		manifest_free(m);
	return rc;
}

int manifest_write(const char *dir, const manifest *m, xihu_err *err)
{
	for (uint32_t i = 0; i < m->nsegs; i++) {
		if (m->segs[i].id >= m->next_seg_id)
			return xihu_err_set(err, XIHU_EINVAL, "%s: manifest: segment %llu not below next_seg_id %llu", dir,
			                    (unsigned long long)m->segs[i].id, (unsigned long long)m->next_seg_id);
		for (uint32_t j = 0; j < i; j++)
			if (m->segs[j].id == m->segs[i].id)
				return xihu_err_set(err, XIHU_EINVAL, "%s: manifest: segment %llu listed twice", dir,
				                    (unsigned long long)m->segs[i].id);
	}
	xbuf b;
	xbuf_init(&b);
	xbuf_put_u64le(&b, m->generation);
	xbuf_put_u64le(&b, m->next_seg_id);
	xbuf_put_u32le(&b, m->nsegs);
	xbuf_put_u32le(&b, m->nroots);
	for (uint32_t i = 0; i < m->nsegs; i++) {
		xbuf_put_u64le(&b, m->segs[i].id);
		xbuf_put_u32le(&b, m->segs[i].ndocs);
		xbuf_put_u64le(&b, m->segs[i].del_gen);
	}
	for (uint32_t i = 0; i < m->nroots; i++) {
		size_t l = strlen(m->roots[i]);
		if (l > UINT32_MAX) {
			xbuf_free(&b);
			return xihu_err_set(err, XIHU_EINVAL, "%s: manifest: root too long", dir);
		}
		xbuf_put_u32le(&b, (uint32_t)l);
		xbuf_put(&b, m->roots[i], l);
	}
	if (b.rc) {
		xbuf_free(&b);
		return xihu_err_set(err, XIHU_ENOMEM, "%s: manifest: out of memory", dir);
	}
	int rc = xfile_put_atomic(dir, MANIFEST_TMP, MANIFEST_NAME, XFILE_MANIFEST, b.p, b.len, err);
	xbuf_free(&b);
	return rc;
}
