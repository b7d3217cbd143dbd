/*
 * socket.h: where the daemon listens and who may talk there.
 *
 * The one home of the socket convention that xihud and every client share
 * (SPEC §2, §5; docs/SECURITY.md): the default socket path, how --socket and
 * $XIHU_SOCKET override it, and the rule that a socket is used only in a
 * directory that is its user's alone.  Both sides apply the rule:
 * client/wire.c before it connects (then checks the listener's uid with
 * SO_PEERCRED), daemon/server.c before it binds and daemon/registry.c before
 * it serves an index.  Built into the protocol library (proto/meson.build),
 * so the daemon links no client code.
 */
#ifndef XIHU_SOCKET_H
#define XIHU_SOCKET_H

#include <stddef.h>

/*
 * Writes the default socket path into buf: $XDG_RUNTIME_DIR/xihu/xihud.sock
 * when XDG_RUNTIME_DIR is set to an absolute path, else
 * /tmp/xihu-$UID/xihud.sock.  Returns 0, or -1 if it does not fit.
 */
int xihu_default_socket(char *buf, size_t size);

/* The socket to use: opt if non-NULL, else $XIHU_SOCKET if set and non-empty,
 * else the default (written into buf).  Returns NULL if it does not fit. */
const char *xihu_socket_path(const char *opt, char *buf, size_t size);

/*
 * Whether dir is a directory that only the calling user (its effective uid)
 * can write in: owned by that uid, without group or other write permission
 * (stat(), so a symbolic link is judged by what it points to).  Returns
 * XIHU_DIR_PRIVATE, or another XIHU_DIR_* with why set to one line "DIR:
 * what is wrong".  The client talks to a socket only in such a directory,
 * and the daemon binds its socket and serves an index only in one.
 */
enum {
	XIHU_DIR_PRIVATE,  /* ours alone */
	XIHU_DIR_MISSING,  /* does not exist */
	XIHU_DIR_NOT_MINE, /* owned by another uid */
	XIHU_DIR_WRITABLE, /* ours, but group or others may write in it */
	XIHU_DIR_UNSAFE,   /* not a directory, or stat() failed */
};
int xihu_private_dir(const char *dir, char *why, size_t size);

/* The directory a socket path is in, the one xihu_private_dir judges: "."
 * for a bare name, "/" for one at the root. */
void xihu_socket_dir(const char *path, char *dir, size_t size);

#endif
