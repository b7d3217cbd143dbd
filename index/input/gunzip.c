/*
 * gunzip.c: a .gz file of an indexed tree -> its inflated bytes.
 *
 * Owns the reading of gzip files for the indexer, on zlib's inflate():
 * read() in pieces of GUNZIP_CHUNK bytes, inflated at most GUNZIP_CHUNK
 * bytes at a time, so a file that inflates past the size limit (a gz bomb)
 * stops within one chunk of the limit, whatever it would grow to.  As gzip
 * and zlib's gzread read them: concatenated members one after another,
 * anything after a member that does not start with the gzip magic ignored,
 * and a file that does not start with the magic taken as it is.
 *
 * Not gzread itself: zlib 1.2.13's gzread ends a stream cut short without a
 * word when the last of the input went into a read that filled the caller's
 * buffer while inflate still held output (fuzz_gz found one in a minute:
 * regress-gzread-truncation-unseen); so a cut file became a shorter text.
 * Here inflate is asked again until it ends the member or can do nothing
 * more, and the latter at the end of the file is the error.
 *
 * Bad input: a corrupt member (inflate's data error, a CRC or length that
 * does not match) and one cut short are errors naming the file and the
 * offset in it where inflate stopped, never a partial text.
 *
 * Called by pipeline.c for every file whose name ends in ".gz"; the fuzz
 * target tests/fuzz/fuzz_gz.c feeds it arbitrary bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "input/input.h"

typedef struct gz {
	int fd;
	const char *path;
	xihu_err *err;
	uint8_t *in;      /* GUNZIP_CHUNK bytes; z.next_in points into it */
	uint64_t read;    /* bytes of the file read so far */
	bool eof;
	z_stream z;
} gz;

static bool is_magic(const uint8_t *p)
{
	return p[0] == 0x1f && p[1] == 0x8b;
}

/* The offset in the file of the next byte inflate takes. */
static uint64_t offset(const gz *g)
{
	return g->read - g->z.avail_in;
}

/* Reads more of the file after what z.avail_in still holds (moved to the
 * front of the buffer); at the end of the file sets g->eof. */
static int fill(gz *g)
{
	if (g->z.avail_in)
		memmove(g->in, g->z.next_in, g->z.avail_in);
	g->z.next_in = g->in;
	for (;;) {
		ssize_t n = read(g->fd, g->in + g->z.avail_in, GUNZIP_CHUNK - g->z.avail_in);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return xihu_err_set(g->err, XIHU_EIO, "%s: offset %llu: %s", g->path,
			                    (unsigned long long)g->read, strerror(errno));
		g->eof = n == 0;
		g->z.avail_in += (uInt)n;
		g->read += (uint64_t)n;
		return 0;
	}
}

/* Makes at least two bytes available, unless the file ends first. */
static int fill2(gz *g)
{
	int rc = 0;
	while (!rc && g->z.avail_in < 2 && !g->eof)
		rc = fill(g);
	return rc;
}

static int bad(gz *g, const char *why)
{
	return xihu_err_set(g->err, XIHU_EINVAL, "%s: offset %llu: %s", g->path, (unsigned long long)offset(g),
	                    why);
}

static int too_large(gz *g, uint64_t max)
{
	return xihu_err_set(g->err, XIHU_ELIMIT, "%s: more than %llu bytes inflated", g->path,
	                    (unsigned long long)max);
}

/* Room for one more chunk of output: at most GUNZIP_CHUNK bytes. */
static int out_room(gz *g, xbuf *out, size_t *room)
{
	if (out->cap - out->len < GUNZIP_CHUNK && !xbuf_reserve(out, GUNZIP_CHUNK))
		return xihu_err_set(g->err, XIHU_ENOMEM, "%s: out of memory", g->path);
	*room = out->cap - out->len < GUNZIP_CHUNK ? out->cap - out->len : GUNZIP_CHUNK;
	return 0;
}

/* No gzip magic: the file is its text. */
static int copy(gz *g, uint64_t max, xbuf *out)
{
	for (;;) {
		xbuf_put(out, g->z.next_in, g->z.avail_in);
		g->z.avail_in = 0;
		if (out->rc)
			return xihu_err_set(g->err, XIHU_ENOMEM, "%s: out of memory", g->path);
		if (out->len > max)
			return too_large(g, max);
		if (g->eof)
			return 0;
		int rc = fill(g);
		if (rc)
			return rc;
	}
}

/* Members, from the one whose magic is at z.next_in. */
static int members(gz *g, uint64_t max, xbuf *out)
{
	int zr = inflateInit2(&g->z, 16 + MAX_WBITS); /* gzip only */
	if (zr != Z_OK)
		return xihu_err_set(g->err, XIHU_ENOMEM, "%s: out of memory", g->path);
	int rc = 0;
	while (!rc) {
		if (!g->z.avail_in && !g->eof && (rc = fill(g)))
			break;
		size_t room = 0;
		if ((rc = out_room(g, out, &room)))
			break;
		g->z.next_out = out->p + out->len;
		g->z.avail_out = (uInt)room;
		zr = inflate(&g->z, Z_NO_FLUSH);
		out->len += room - g->z.avail_out;
		if (out->len > max) {
			rc = too_large(g, max);
		} else if (zr == Z_STREAM_END) {
			if ((rc = fill2(g)) || g->z.avail_in < 2 || !is_magic(g->z.next_in))
				break; /* the last member: what follows is not ours */
			inflateReset(&g->z);
		} else if (zr == Z_MEM_ERROR) {
			rc = xihu_err_set(g->err, XIHU_ENOMEM, "%s: out of memory", g->path);
		} else if (zr == Z_BUF_ERROR) { /* no progress: it had no input, the file ended */
			rc = bad(g, "unexpected end of file");
		} else if (zr != Z_OK) {
			rc = bad(g, g->z.msg ? g->z.msg : "compressed data error");
		}
	}
	inflateEnd(&g->z);
	return rc;
}

int gunzip_fd(int fd, const char *path, uint64_t max, xbuf *out, xihu_err *err)
{
	xbuf_reset(out);
	gz g = {.fd = fd, .path = path, .err = err, .in = malloc(GUNZIP_CHUNK)};
	int rc;
	if (!g.in) {
		rc = xihu_err_set(err, XIHU_ENOMEM, "%s: out of memory", path);
	} else {
		g.z.next_in = g.in;
		rc = fill2(&g);
		if (!rc)
			rc = g.z.avail_in >= 2 && is_magic(g.z.next_in) ? members(&g, max, out) : copy(&g, max, out);
	}
	free(g.in);
	close(fd);
	return rc;
}
