/*
 * deletes.c: a segment's deleted-docs bitmap, the file <id>_<del_gen>.del
 * (kind DELS, docs/FORMAT.md §4).  Owns its layout, its writer and its
 * validation when seg_open maps it.
 *
 *   payload: u32 ndocs      must equal the segment's
 *            u32 ndeleted   the number of set bits
 *            (ndocs + 7) / 8 bytes of bitmap: bit d (byte d/8, bit d%8)
 *            set means doc d is deleted; the padding bits past ndocs are 0
 *
 * Invariants: a .del file is never modified; a new set of deletions is a
 * new generation, written under a temporary name, fsynced and renamed
 * (replacing any uncommitted leftover of a crashed writer with the same
 * generation), and live only once a manifest names it.  A reader accepts a
 * file only if the size, ndocs, ndeleted and the padding all agree.
 *
 * Callers: seg_reader.c (deletes_open from seg_open), build.c (writes).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/seg-int.h"

#define DEL_HEADER 8

static void del_name(char *out, size_t n, uint64_t seg_id, uint64_t del_gen, bool tmp)
{
	snprintf(out, n, "%012llx_%llu.del%s", (unsigned long long)seg_id, (unsigned long long)del_gen,
	         tmp ? ".tmp" : "");
}

static uint32_t popcount_bytes(const uint8_t *p, size_t n)
{
	uint64_t c = 0;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		c += (uint64_t)__builtin_popcountll(w);
	}
	for (; i < n; i++)
		c += (uint64_t)__builtin_popcount(p[i]);
	return (uint32_t)c;
}

int deletes_open(seg *s, uint64_t del_gen, bool verify_crc, xihu_err *err)
{
	s->del_gen = del_gen;
	if (del_gen == 0)
		return XIHU_OK;
	char name[64];
	del_name(name, sizeof name, s->id, del_gen, false);
	xmap *m = &s->del;
	int rc = xfile_map(m, s->dir, name, XFILE_DELETES, verify_crc, err);
	if (rc)
		return rc;
	s->bytes += m->size;
	size_t nbytes = ((size_t)s->ndocs + 7) / 8;
	if (m->len < DEL_HEADER)
		return xfile_corrupt(m, 0, err, "deletions header missing");
	if (get_u32le(m->data) != s->ndocs)
		return xfile_corrupt(m, 0, err, "deletions are for a different document count");
	if (m->len - DEL_HEADER != nbytes)
		return xfile_corrupt(m, DEL_HEADER, err, "deletions bitmap has the wrong size");
	const uint8_t *bm = m->data + DEL_HEADER;
	if ((s->ndocs & 7) && (bm[nbytes - 1] >> (s->ndocs & 7)))
		return xfile_corrupt(m, DEL_HEADER + nbytes - 1, err, "deletions bitmap has bits past the last doc");
	uint32_t n = popcount_bytes(bm, nbytes);
	if (n != get_u32le(m->data + 4))
		return xfile_corrupt(m, 4, err, "deleted count differs from the bitmap");
	s->ndeleted = n;
	s->dels = n ? bm : NULL;
	return XIHU_OK;
}

uint32_t seg_ndeleted(const seg *s)
{
	return s->ndeleted;
}

const uint8_t *seg_deletes(const seg *s)
{
	return s->dels;
}

int seg_write_deletes(const char *dir, uint64_t seg_id, uint64_t del_gen, const uint8_t *bitmap,
                      uint32_t ndocs, xihu_err *err)
{
	if (del_gen == 0)
		return xihu_err_set(err, XIHU_EINVAL, "%s: deletions generation 0 is reserved for none", dir);
	char tmp[64], name[64];
	del_name(tmp, sizeof tmp, seg_id, del_gen, true);
	del_name(name, sizeof name, seg_id, del_gen, false);
	size_t nbytes = ((size_t)ndocs + 7) / 8;
	uint8_t last = 0;
	if (nbytes) {
		last = bitmap[nbytes - 1];
		if (ndocs & 7)
			last &= (uint8_t)((1u << (ndocs & 7)) - 1); /* padding bits are 0 */
	}
	uint32_t ndeleted = nbytes ? popcount_bytes(bitmap, nbytes - 1) + (uint32_t)__builtin_popcount(last) : 0;
	uint8_t h[DEL_HEADER];
	for (int i = 0; i < 4; i++) {
		h[i] = (uint8_t)(ndocs >> (8 * i));
		h[4 + i] = (uint8_t)(ndeleted >> (8 * i));
	}
	xfile_w w;
	int rc = xfile_create(&w, dir, tmp, XFILE_DELETES, err);
	if (!rc) {
		xfile_write(&w, h, sizeof h);
		if (nbytes) {
			xfile_write(&w, bitmap, nbytes - 1);
			xfile_write(&w, &last, 1);
		}
	}
	rc = xfile_finish(&w); /* fsyncs; unlinks the tmp file on failure */
	if (rc)
		return rc;
	return xfile_install(dir, tmp, name, err);
}
