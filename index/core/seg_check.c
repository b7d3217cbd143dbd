/*
 * seg_check.c: the full check of one segment (xihu-index --check, through
 * xihu_index_check): its files' CRCs and envelopes (seg_open with
 * verify_crc), the structure seg_reader.c checks (doc table, doc store,
 * dictionary), every postings list decoded to the end (postings_verify),
 * every trigram list of .grams (grams_check), and the deletions of the
 * generation given.
 *
 * It sits above both seg_reader.c and postings.c, so that the reader does
 * not call back up into the postings code built on it.
 *
 * Callers: index/search/index.c (xihu_index_check).
 */
#include "core/seg-int.h"

int seg_check(const char *dir, uint64_t id, uint64_t del_gen, xihu_err *err)
{
	seg *s;
	int rc = seg_open(dir, id, del_gen, true, &s, err);
	if (rc)
		return rc;
	rc = seg_check_structure(s, postings_verify, err);
	if (!rc)
		rc = grams_check(s, err);
	seg_close(s);
	return rc;
}
