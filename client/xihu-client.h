/*
 * xihu-client.h: the small client side of the xihu wire protocol.
 *
 * Connects to a daemon's Unix socket, sends Request frames and reads Response
 * frames (docs/PROTOCOL.md), every step bounded by a timeout.  It links only
 * the generated protobuf-c code, never the index library.  Where the socket
 * is and which directories are safe for it is proto/socket.h's, shared with
 * the daemon.
 *
 * Errors: every fallible call returns -1 and leaves a one-line message
 * "what: why" (no "xihu: " prefix, no newline) in the client's err.
 */
#ifndef XIHU_CLIENT_H
#define XIHU_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "socket.h"
#include "xihu.pb-c.h"

#define XIHU_CONNECT_TIMEOUT_MS 2000
#define XIHU_REQUEST_TIMEOUT_MS 60000
/* how long xihud may take to open its index and start serving */
#define XIHU_AUTOSTART_TIMEOUT_MS 60000

typedef struct xihu_client {
	int fd;             /* -1 when not connected */
	int timeout_ms;     /* per call to xihu_client_call; <= 0 waits forever */
	uint64_t next_id;   /* id given to the next request */
	char path[256];     /* the socket connected to */
	char err[768];      /* the last error, one line */
	/* bytes received and not yet handed out: most answers arrive whole in
	 * one recv() here, header and body together */
	uint32_t rlen;
	uint8_t rbuf[16384];
} xihu_client;

/* Connects to the daemon on path within XIHU_CONNECT_TIMEOUT_MS.  Sends
 * nothing unless path's directory passes xihu_private_dir() and the process
 * listening on it (SO_PEERCRED) runs as the caller's effective uid. */
int xihu_client_open(xihu_client *c, const char *path);
void xihu_client_close(xihu_client *c);

/* Like xihu_client_open, but when nothing answers on path (no socket, or a
 * stale one) it starts a daemon there (xihu_client_start_daemon) and
 * connects again.  Any other failure (a busy daemon, a permission) is not a
 * reason to start one. */
int xihu_client_open_autostart(xihu_client *c, const char *path, const char *index_dir);
/* Runs xihud --socket path [--index index_dir], found as $XIHUD, else next to
 * the running program, else ../daemon/xihud from it, else on PATH; waits (at
 * most XIHU_AUTOSTART_TIMEOUT_MS) until it has daemonized and serves.  When
 * it fails, err is xihud's own one-line error ("DIR: no index here ...").
 * index_dir NULL: xihud's default (it reads XIHU_INDEX itself). */
int xihu_client_start_daemon(xihu_client *c, const char *path, const char *index_dir);

/* Sets req->id (a fresh one) and req->version, sends the frame. */
int xihu_client_send(xihu_client *c, Xihu__Request *req);
/* Reads one Response frame of at most XIHU_MAX_RESPONSE_FRAME bytes into
 * *out (free with xihu__response__free_unpacked(*out, NULL)). */
int xihu_client_recv(xihu_client *c, Xihu__Response **out);
/* send + recv; checks that the response echoes the request's id. */
int xihu_client_call(xihu_client *c, Xihu__Request *req, Xihu__Response **out);

/* The name of a protocol error code: "E_QUERY", ... */
const char *xihu_error_code_name(int code);

#endif
