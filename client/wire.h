/*
 * wire.h: frames over the socket -- the internal client under libxihu-client.
 *
 * Connects to a daemon's Unix socket, sends Request frames and reads Response
 * frames (docs/PROTOCOL.md), every step bounded by a timeout, and starts xihud
 * when asked to and nothing answers.  Protobuf-c types in, protobuf-c types
 * out (or a frame's bytes as they came, for grepframe.c): the public API of <xihu/client.h> (libxihu.c) is built on it and hides
 * it; bench/'s load tools use it directly.  It links only the protocol
 * library (proto/), never the index library.  Where the socket is and which
 * directories are safe for it is proto/socket.h's, shared with the daemon.
 *
 * Errors: every fallible call returns -1 and leaves a one-line message
 * "what: why" (no "xihu: " prefix, no newline) in the connection's err.
 */
#ifndef XIHU_WIRE_H
#define XIHU_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "socket.h"
#include "xihu.pb-c.h"

#define WIRE_CONNECT_TIMEOUT_MS 2000
#define WIRE_REQUEST_TIMEOUT_MS 60000
/* how long xihud may take to open its index and start serving */
#define WIRE_AUTOSTART_TIMEOUT_MS 60000

/* A connection.  Its fields are read by the layers above (err, fd) and
 * timeout_ms is theirs to set; the rest is wire.c's. */
typedef struct wire_conn {
	int fd;             /* -1 when not connected */
	int timeout_ms;     /* per call to wire_call; <= 0 waits forever */
	uint64_t next_id;   /* id given to the next request */
	char path[256];     /* the socket connected to */
	char err[768];      /* the last error, one line */
	/* bytes received and not yet handed out: most answers arrive whole in
	 * one recv() here, header and body together */
	uint32_t rlen;
	uint8_t rbuf[16384];
} wire_conn;

/* Connects to the daemon on path within WIRE_CONNECT_TIMEOUT_MS.  Sends
 * nothing unless path's directory passes xihu_private_dir() and the process
 * listening on it (SO_PEERCRED) runs as the caller's effective uid. */
int wire_open(wire_conn *c, const char *path);
void wire_close(wire_conn *c);

/* Like wire_open, but when nothing answers on path (no socket, or a stale
 * one) it starts xihud there, serving index_dir (NULL: xihud's default; it
 * reads XIHU_INDEX itself), and connects again.  xihud is found as $XIHUD,
 * else next to the running program, else ../daemon/xihud from it, else on
 * PATH; its start may take WIRE_AUTOSTART_TIMEOUT_MS, and when it fails, err
 * is xihud's own one-line error ("DIR: no index here ...").  Any other
 * failure (a busy daemon, a permission) is not a reason to start one. */
int wire_open_autostart(wire_conn *c, const char *path, const char *index_dir);

/* Sets req->id (a fresh one) and req->version, sends the frame. */
int wire_send(wire_conn *c, Xihu__Request *req);
/* Reads one Response frame of at most XIHU_MAX_RESPONSE_FRAME bytes into
 * *out (free with xihu__response__free_unpacked(*out, NULL)). */
int wire_recv(wire_conn *c, Xihu__Response **out);
/* Reads one Response frame of at most XIHU_MAX_RESPONSE_FRAME bytes as it
 * came, unpacked by no one, into *buf (*cap bytes, grown with realloc as a
 * frame needs; the caller frees it): *n bytes.  For an answer read by a
 * decoder of its own (xihu_grep's, grepframe.c). */
int wire_recv_bytes(wire_conn *c, uint8_t **buf, size_t *cap, uint32_t *n);
/* send + recv; checks that the response echoes the request's id. */
int wire_call(wire_conn *c, Xihu__Request *req, Xihu__Response **out);

/* The name of a protocol error code: "E_QUERY", ... */
const char *wire_error_name(int code);

#endif
