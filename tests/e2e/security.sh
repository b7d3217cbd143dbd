#!/usr/bin/env bash
# tests/e2e/security.sh CASE: other users of the machine (docs/SECURITY.md).
#
#   impostor   a listener run by another uid where xihu would look for its
#              daemon: in the default socket directory pre-created by that
#              uid, in one the user owns but others may write in, behind an
#              explicit --socket or XIHU_SOCKET in such a directory, and
#              swapped into the user's own private directory.  Each time
#              xihu exits 2 with one line naming the path and the owner or
#              mode, and the impostor receives no connection or 0 bytes;
#              our own daemon still answers in between.
#   private    a 0600 file indexed under umask 022: every index directory
#              is 0700 and every file 0600 (printed), and another uid can
#              open none of them; an index made wider by hand is reported
#              by xihu-index --check and tightened by the next run; xihud
#              refuses a group-writable index directory and one owned by
#              another uid, and a socket directory others can write in.
#
# Needs root (to act as other uids through setpriv); as another user the
# case is skipped (exit 77).
set -u
CASE=$1
T=$(mktemp -d /tmp/xihu-e2e.XXXXXX)
TREE=$T/tree
IX=$T/index
SOCK=$T/run/xihud.sock
export XIHU_SOCKET=$SOCK XIHU_INDEX=$IX NO_COLOR=1
unset XDG_RUNTIME_DIR XDG_DATA_HOME
PY=/usr/bin/python3
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root to act as other uids"; exit 77; }
command -v setpriv >/dev/null || fail "setpriv (util-linux) is missing"
# THEM: the impostor; ME: the user whose default socket directory it takes
# (not root: a test must not touch root's own /tmp/xihu-0)
THEM=65534
ME=65533
as() { local uid=$1; shift; setpriv --reuid "$uid" --regid "$uid" --clear-groups -- "$@"; }
# other uids must reach the copies of the binaries and the impostor's files
chmod 711 "$T"

# impostor_start DIR SOCKNAME: a listener of uid THEM on DIR/SOCKNAME that
# counts what it is sent (in $T/imp/counts: "connections bytes") and answers
# every connection with a response frame of its choosing.
IPID=
impostor_start() {
	mkdir -p "$T/imp"
	chown "$THEM" "$T/imp"
	rm -f "$T/imp/counts" "$T/imp/ready"
	# not through as(): IPID must be the listener itself
	setpriv --reuid "$THEM" --regid "$THEM" --clear-groups -- \
		"$PY" - "$1/$2" "$T/imp" <<'PY' >/dev/null 2>"$T/impostor.log" &
import os, signal, socket, sys
path, out = sys.argv[1], sys.argv[2]
conns = nbytes = 0
def save():
    with open(out + "/counts.tmp", "w") as f:
        f.write("%d %d\n" % (conns, nbytes))
    os.rename(out + "/counts.tmp", out + "/counts")
signal.signal(signal.SIGTERM, lambda *a: (save(), sys.exit(0)))
s = socket.socket(socket.AF_UNIX)
s.bind(path)
os.chmod(path, 0o777)
s.listen(8)
save()
open(out + "/ready", "w").close()
while True:
    c, _ = s.accept()
    conns += 1
    save()
    # a frame of 5 bytes: whatever a client makes of it, it came from us
    try:
        c.sendall(b"\x00\x00\x00\x05\x08\x01\x10\x01\x00")
    except OSError:
        pass
    c.settimeout(1.0)
    try:
        while True:
            d = c.recv(4096)
            if not d:
                break
            nbytes += len(d)
            save()
    except OSError:
        pass
    c.close()
PY
	IPID=$!
	for _ in $(seq 100); do
		[ -e "$T/imp/ready" ] && return 0
		kill -0 "$IPID" 2>/dev/null || fail "the impostor did not start: $(ls -ld "$1"; cat "$T/impostor.log")"
		sleep 0.05
	done
	fail "the impostor did not start in 5 s"
}
# impostor_stop: stops it; IMP gets "connections bytes"
impostor_stop() {
	kill "$IPID" 2>/dev/null
	wait "$IPID" 2>/dev/null
	IPID=
	IMP=$(cat "$T/imp/counts" 2>/dev/null)
}
cleanup_all() {
	[ -n "$IPID" ] && kill "$IPID" 2>/dev/null
	rm -rf "/tmp/xihu-$ME"
	cleanup
}
trap cleanup_all EXIT

# expect_refused WHAT WANT_GLOB: RC 2, one line on stderr matching
# WANT_GLOB, nothing on stdout
expect_refused() {
	expect_eq "$1: exit" "$RC" 2
	expect_eq "$1: stdout" "$OUT" ""
	[ "$(printf '%s\n' "$ERR" | wc -l)" -eq 1 ] || fail "$1: not one line: [$ERR]"
	# shellcheck disable=SC2053
	[[ "$ERR" == $2 ]] || fail "$1: error [$ERR], want [$2]"
}

# a real index and our own daemon, which must keep answering throughout
mkdir -p "$TREE"
printf 'secretword in a private note\n' >"$TREE/note.txt"
"$XIHU_INDEX_BIN" --quiet --index "$IX" "$TREE" || fail "xihu-index exited $?"
own_daemon_answers() {
	run xihu search -l secretword
	expect_eq "$1: our daemon: exit" "$RC" 0
	expect_eq "$1: our daemon: hit" "$OUT" "$TREE/note.txt"
}

case "$CASE" in
impostor)
	serve "$IX"
	own_daemon_answers "before"
	mkdir -p "$T/bin"
	cp "$XIHU_BIN" "$T/bin/xihu"
	chmod 755 "$T/bin" "$T/bin/xihu"
	# what ME runs: the default socket, no autostart disabled (a refused
	# directory must not start a daemon either), from a directory it may read
	as_me() { (cd /tmp && env -u XIHU_SOCKET -u XIHU_INDEX HOME=/nonexistent XIHUD=/bin/false \
		setpriv --reuid "$ME" --regid "$ME" --clear-groups -- "$T/bin/xihu" "$@"); }
	DEF=/tmp/xihu-$ME
	rm -rf "$DEF"

	# 1. the default directory pre-created by THEM, wide open
	as "$THEM" mkdir -m 0777 "$DEF" || fail "mkdir $DEF as $THEM"
	chmod 0777 "$DEF"
	impostor_start "$DEF" xihud.sock
	run as_me search secretword
	impostor_stop
	expect_refused "default directory owned by another uid" \
		"xihu: $DEF: owned by uid $THEM, not by you (uid $ME); refusing to talk to a daemon there (*--socket*)"
	expect_eq "default directory owned by another uid: the impostor got" "$IMP" "0 0"
	own_daemon_answers "after the first impostor"

	# 2. the default directory is ME's, but others may write in it
	rm -rf "$DEF"
	as "$ME" mkdir -m 0700 "$DEF" || fail "mkdir $DEF as $ME"
	chmod 0777 "$DEF"
	impostor_start "$DEF" xihud.sock
	run as_me search secretword
	impostor_stop
	expect_refused "own directory writable by others" \
		"xihu: $DEF: mode 0777 lets others write in it; refusing to talk to a daemon there (chmod go-w $DEF*"
	expect_eq "own directory writable by others: the impostor got" "$IMP" "0 0"
	chgrp "$THEM" "$DEF" # the impostor's group
	chmod 0770 "$DEF"
	impostor_start "$DEF" xihud2.sock
	run as_me --socket "$DEF/xihud2.sock" search secretword
	impostor_stop
	expect_refused "own directory writable by its group" \
		"xihu: $DEF: mode 0770 lets its group write in it; refusing to talk to a daemon there*"
	expect_eq "own directory writable by its group: the impostor got" "$IMP" "0 0"
	rm -rf "$DEF"

	# 3. an explicit --socket, and XIHU_SOCKET, in THEM's directory: run
	# as root, next to our own daemon
	mkdir "$T/theirs"
	chown "$THEM" "$T/theirs"
	impostor_start "$T/theirs" xihud.sock
	run xihu --socket "$T/theirs/xihud.sock" search secretword
	expect_refused "--socket in another uid's directory" \
		"xihu: $T/theirs: owned by uid $THEM, not by you (uid 0); refusing to talk to a daemon there*"
	XIHU_SOCKET=$T/theirs/xihud.sock run xihu status
	expect_refused "XIHU_SOCKET in another uid's directory" \
		"xihu: $T/theirs: owned by uid $THEM, not by you (uid 0); refusing*"
	# 4. THEM's socket swapped into our own private directory (as a race
	# between the directory check and connect() could): SO_PEERCRED
	mkdir -m 0700 "$T/mine"
	mv "$T/theirs/xihud.sock" "$T/mine/xihud.sock"
	run xihu --socket "$T/mine/xihud.sock" search secretword
	expect_refused "--socket answered by another uid" \
		"xihu: $T/mine/xihud.sock: the process listening there (pid *) runs as uid $THEM, not as you (uid 0); refusing to send it anything*"
	# ... and the editors' way in: --vimgrep, as the Vim and Emacs plugins run it
	run xihu --socket "$T/mine/xihud.sock" search --vimgrep secretword
	expect_refused "--vimgrep answered by another uid" "xihu: $T/mine/xihud.sock: the process listening there*"
	impostor_stop
	# the dir-check cases never connected; the SO_PEERCRED ones did, twice,
	# and sent nothing
	expect_eq "explicit sockets: the impostor got" "$IMP" "2 0"
	own_daemon_answers "after the impostors"
	;;
private)
	# (the index of the preamble was built under the test's umask; this
	# one under 022 explicitly, of a 0600 file)
	rm -rf "$IX"
	chmod 600 "$TREE/note.txt"
	(umask 022 && "$XIHU_INDEX_BIN" --quiet --index "$IX/sub" "$TREE") || fail "xihu-index exited $?"
	IX=$IX/sub
	modes=$(cd "$IX" && stat -c '%a %n' . ./* | sort -k2)
	echo "index modes under umask 022:"
	echo "$modes"
	bad=$(grep -vE '^(700 \.|600 \./.*)$' <<<"$modes")
	expect_eq "modes wider than 0700/0600" "$bad" ""
	expect_eq "the parent made for it" "$(stat -c %a "$T/index")" 700
	[ "$(wc -l <<<"$modes")" -ge 5 ] || fail "too few index files: $modes"
	# another uid opens nothing, even with the way to it open
	chmod 755 "$T/index"
	for f in "$IX" "$IX"/*; do
		if [ -d "$f" ]; then as "$THEM" ls "$f" >/dev/null 2>&1 && fail "uid $THEM listed $f"
		else as "$THEM" cat "$f" >/dev/null 2>&1 && fail "uid $THEM read $f"; fi
	done
	as "$THEM" cat "$IX/"*.store >/dev/null 2>&1 && fail "uid $THEM read a .store"
	# widened by hand: --check names each path, and the next run tightens
	chmod 755 "$IX"
	chmod 644 "$IX"/*
	run "$XIHU_INDEX_BIN" --check --index "$IX"
	expect_eq "--check of a wide index: exit" "$RC" 0
	grep -qxF "xihu-index: warning: $IX: mode 0755 lets its group and others read it" <<<"$ERR" ||
		fail "--check: no warning for the directory: [$ERR]"
	grep -qE "^xihu-index: warning: $IX/[0-9a-f]+\.store: mode 0644 lets its group and others read it$" <<<"$ERR" ||
		fail "--check: no warning for a .store: [$ERR]"
	nfiles=$(find "$IX" -mindepth 1 | wc -l)
	expect_eq "--check: its count" "$(tail -n 1 <<<"$ERR")" \
		"xihu-index: warning: $((nfiles + 1)) paths of $IX can be read by others than you; the next xihu-index run tightens them (now: chmod -R go= $IX)"
	# a run with nothing to commit tightens too, and so does a commit
	(umask 022 && "$XIHU_INDEX_BIN" --quiet --index "$IX" "$TREE") || fail "xihu-index (no change) exited $?"
	expect_eq "after a run without changes" "$(cd "$IX" && stat -c '%a' . ./* | sort -u | tr '\n' ' ')" "600 700 "
	chmod 640 "$IX"/MANIFEST
	printf 'another secretword\n' >"$TREE/two.txt"
	(umask 022 && "$XIHU_INDEX_BIN" --quiet --index "$IX" "$TREE") || fail "xihu-index (commit) exited $?"
	expect_eq "after a commit" "$(cd "$IX" && stat -c '%a' . ./* | sort -u | tr '\n' ' ')" "600 700 "
	run "$XIHU_INDEX_BIN" --check --index "$IX"
	expect_eq "--check of the tightened index: exit" "$RC" 0
	expect_eq "--check of the tightened index: stderr" "$ERR" ""
	# xihud refuses an index directory that others can change, or another's
	chmod 770 "$IX"
	run "$XIHUD_BIN" --foreground --index "$IX" --socket "$SOCK"
	expect_refused "a group-writable index" \
		"xihud: $IX: mode 0770 lets its group write in it; refusing to serve it (chmod go-w $IX)"
	[ -e "$SOCK" ] && fail "xihud bound its socket before refusing the index"
	chmod 700 "$IX"
	chown "$THEM" "$IX"
	run "$XIHUD_BIN" --foreground --index "$IX" --socket "$SOCK"
	expect_refused "another uid's index" \
		"xihud: $IX: owned by uid $THEM, not by you (uid 0); refusing to serve it (run xihud as its owner)"
	chown 0 "$IX"
	# ... and a socket directory others can write in
	mkdir -m 0777 "$T/wide"
	chmod 0777 "$T/wide"
	run "$XIHUD_BIN" --foreground --index "$IX" --socket "$T/wide/xihud.sock"
	expect_refused "a socket directory writable by others" \
		"xihud: $T/wide: mode 0777 lets others write in it; refusing to put the socket there (chmod go-w $T/wide)"
	serve "$IX"
	run xihu search -l secretword
	expect_eq "served once private: exit" "$RC" 0
	expect_eq "served once private: hits" "$(sort <<<"$OUT")" "$TREE/note.txt
$TREE/two.txt"
	;;
*)
	fail "unknown case $CASE"
	;;
esac
exit 0
