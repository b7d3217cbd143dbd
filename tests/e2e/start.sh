#!/usr/bin/env bash
# tests/e2e/start.sh CASE: a daemon the user did not start by hand.
#   autostart           xihu starts xihud when nothing answers, and asks it
#   no_autostart        --no-autostart and XIHU_NO_AUTOSTART=1 start nothing
#   autostart_no_index  xihud's own one-line error comes through xihu
#   socket_activation   xihud serves a listening socket passed on fd 3
#                       (LISTEN_PID/LISTEN_FDS), as systemd's xihud.socket does
# Every path is under a temporary directory (HOME and the XDG variables
# included), so a real user daemon is never touched.  A daemon xihu starts is
# no child of this shell: cleanup stops it through its socket and by pid.
# Binaries come from the environment: XIHU_INDEX_BIN, XIHUD_BIN, XIHU_BIN.
set -u
CASE=$1
T=$(mktemp -d /tmp/xihu-start.XXXXXX)
TREE=$T/tree
IX=$T/index
SOCK=$T/run/xihud.sock
export XIHU_SOCKET=$SOCK NO_COLOR=1 HOME=$T/home
unset XDG_RUNTIME_DIR XDG_DATA_HOME XIHU_INDEX XIHU_NO_AUTOSTART XIHUD LISTEN_PID LISTEN_FDS LISTEN_FDNAMES
. "$(dirname "$0")/lib.sh"

start_cleanup() {
	[ -S "$SOCK" ] && "$XIHU_BIN" --socket "$SOCK" stop >/dev/null 2>&1
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null
	cleanup
}
trap start_cleanup EXIT

put() { mkdir -p "$(dirname "$1")" && printf '%s\n' "$2" >"$1"; }
# daemon_pid: the pid `xihu status` reports (no autostart)
daemon_pid() { xihu --no-autostart status 2>/dev/null | sed -n 's/^pid[[:space:]]*//p'; }
# gone PID WHAT: fails unless PID exits within 10 s
gone() {
	for _ in $(seq 200); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.05
	done
	fail "$2: pid $1 still running after 10 s"
}
# stale_socket PATH: a socket file nobody listens on (a crashed daemon's)
stale_socket() {
	/usr/bin/python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$1" ||
		fail "cannot make a stale socket"
}
# one_line WHAT: ERR is exactly one line
one_line() { [ "$(wc -l <<<"$ERR")" -eq 1 ] || fail "$1: not one line on stderr: [$ERR]"; }

put "$TREE/a.txt" "the quick brown fox"
put "$TREE/b.txt" "wombat foo burrows"
put "$TREE/c.txt" "nothing to see"
"$XIHU_INDEX_BIN" --quiet --index "$IX" "$TREE" || fail "xihu-index exited $?"

case $CASE in
autostart)
	# the acceptance item: no daemon, a search answers.  xihud is found
	# from xihu's own place in the build tree (../daemon/xihud)
	[ -e "$SOCK" ] && fail "a socket before the test"
	run xihu search -l --index "$IX" foo
	expect_eq "autostarted search exit" "$RC" 0
	expect_eq "autostarted search hits" "$OUT" "$TREE/b.txt"
	expect_eq "autostarted search stderr" "$ERR" ""
	DPID=$(daemon_pid)
	[ -n "$DPID" ] || fail "no daemon answers status after the search"
	expect_eq "the daemon's binary" "$(readlink -f "/proc/$DPID/exe")" "$(readlink -f "$XIHUD_BIN")"
	run xihu status
	expect_eq "status exit" "$RC" 0
	grep -q "^index  *$IX\$" <<<"$OUT" || fail "status does not serve $IX: $OUT"
	# a second search is served by the same daemon
	run xihu search -l wombat
	expect_eq "second search" "$OUT" "$TREE/b.txt"
	expect_eq "still one daemon" "$(daemon_pid)" "$DPID"
	run xihu stop
	expect_eq "stop exit" "$RC" 0
	gone "$DPID" "xihu stop"
	DPID=
	[ -e "$SOCK" ] && fail "socket left behind after stop"
	# stop never starts a daemon to stop it
	run xihu stop
	expect_eq "stop with no daemon" "$RC" 2
	[ -e "$SOCK" ] && fail "xihu stop started a daemon"
	# a stale socket (a crashed daemon's) is no daemon either; the index
	# comes from XIHU_INDEX, which xihud reads itself
	mkdir -p "$(dirname "$SOCK")"
	stale_socket "$SOCK"
	XIHU_INDEX=$IX run xihu status
	expect_eq "status over a stale socket" "$RC" 0
	DPID=$(sed -n 's/^pid[[:space:]]*//p' <<<"$OUT")
	grep -q "^index  *$IX\$" <<<"$OUT" || fail "XIHU_INDEX not served: $OUT"
	run xihu stop
	expect_eq "second stop" "$RC" 0
	gone "$DPID" "second xihu stop"
	DPID=
	;;
no_autostart)
	# XIHU_INDEX is good: were a daemon started, it would answer
	export XIHU_INDEX=$IX
	want="xihu: cannot connect to $SOCK: No such file or directory (is xihud running? start it with: xihud)"
	run xihu search --no-autostart foo
	expect_eq "search --no-autostart exit" "$RC" 2
	expect_eq "search --no-autostart error" "$ERR" "$want"
	expect_eq "search --no-autostart stdout" "$OUT" ""
	run xihu --no-autostart status
	expect_eq "xihu --no-autostart status exit" "$RC" 2
	expect_eq "xihu --no-autostart status error" "$ERR" "$want"
	XIHU_NO_AUTOSTART=1 run xihu search foo
	expect_eq "XIHU_NO_AUTOSTART=1 exit" "$RC" 2
	expect_eq "XIHU_NO_AUTOSTART=1 error" "$ERR" "$want"
	[ -e "$SOCK" ] && fail "a daemon was started"
	mkdir -p "$(dirname "$SOCK")"
	stale_socket "$SOCK"
	XIHU_NO_AUTOSTART=1 run xihu status
	expect_eq "stale socket, no autostart" "$ERR" \
		"xihu: cannot connect to $SOCK: Connection refused (is xihud running? start it with: xihud)"
	expect_eq "stale socket, no autostart exit" "$RC" 2
	run xihu --no-autostart stop
	expect_eq "stale socket, stop" "$RC" 2
	# the stale socket is still nobody's: nothing started behind our back
	run /usr/bin/python3 -c 'import socket, sys
try:
    socket.socket(socket.AF_UNIX).connect(sys.argv[1]); print("live")
except ConnectionRefusedError:
    print("stale")' "$SOCK"
	expect_eq "the stale socket" "$OUT" "stale"
	;;
autostart_no_index)
	# xihud's error, one line, exit 2, nothing left listening.  XIHUD names
	# the binary here.
	export XIHUD=$XIHUD_BIN
	run xihu search --index "$T/nothing" foo
	expect_eq "no index exit" "$RC" 2
	expect_eq "no index error" "$ERR" \
		"xihu: starting xihud: $T/nothing: no index here (run xihu-index first)"
	expect_eq "no index stdout" "$OUT" ""
	[ -e "$SOCK" ] && fail "a socket left behind"
	# the default index (under HOME, which is ours) does not exist either
	run xihu status
	expect_eq "default index error" "$ERR" \
		"xihu: starting xihud: $HOME/.local/share/xihu/index: no index here (run xihu-index first)"
	expect_eq "default index exit" "$RC" 2
	[ -e "$SOCK" ] && fail "a socket left behind"
	XIHUD=$T/no-such-xihud run xihu search --index "$IX" foo
	expect_eq "missing xihud exit" "$RC" 2
	expect_eq "missing xihud error" "$ERR" \
		"xihu: starting xihud: $T/no-such-xihud: No such file or directory (set XIHUD to its path)"
	[ -e "$SOCK" ] && fail "a socket left behind"
	;;
socket_activation)
	# a launcher in the manner of systemd: it binds and listens (socket 0600
	# in a 0700 directory), forks, and the child execs xihud with the socket
	# on fd 3, LISTEN_FDS=1 and LISTEN_PID its own pid.  It prints the pid.
	# --no-listen binds without listening; --file passes a regular file.
	cat >"$T/launch.py" <<'PY'
import os, socket, sys
mode, path, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
if mode == "--file":
    fd = os.open(path, os.O_RDONLY)
else:
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    s.bind(path)
    os.umask(old)
    if mode != "--no-listen":
        s.listen(16)
    fd = s.fileno()
pid = os.fork()
if pid == 0:
    if fd != 3:
        os.dup2(fd, 3)
    os.set_inheritable(3, True)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # our stdout is the caller's $(...)
    os.environ["LISTEN_FDS"] = "1"
    os.environ["LISTEN_PID"] = str(os.getpid())
    os.execv(argv[0], argv)
print(pid, flush=True)
PY
	DPID=$(/usr/bin/python3 "$T/launch.py" --listen "$SOCK" "$XIHUD_BIN" --foreground \
		--index "$IX" 2>"$T/xihud.log") || fail "launcher failed"
	for _ in $(seq 200); do
		[ "$(daemon_pid)" == "$DPID" ] && break
		kill -0 "$DPID" 2>/dev/null || fail "xihud exited: $(cat "$T/xihud.log")"
		sleep 0.05
	done
	expect_eq "the activated daemon answers" "$(daemon_pid)" "$DPID"
	run xihu --no-autostart search -l foo
	expect_eq "search through the inherited socket" "$OUT" "$TREE/b.txt"
	expect_eq "search exit" "$RC" 0
	run xihu stop
	expect_eq "stop exit" "$RC" 0
	gone "$DPID" "xihu stop"
	DPID=
	# the socket file is the launcher's: it stays, as it was
	[ -S "$SOCK" ] || fail "the inherited socket file was removed"
	expect_eq "socket mode" "$(stat -c %a "$SOCK")" 600
	expect_eq "xihud's log" "$(cat "$T/xihud.log")" ""
	rm -f "$SOCK"

	# what is passed must be a listening Unix stream socket: one line, exit 2,
	# and no socket of its own bound instead
	echo "not a socket" >"$T/file"
	for bad in "--file $T/file|xihud: socket activation: fd 3: not a socket" \
		"--no-listen $T/run/bound.sock|xihud: socket activation: fd 3: the socket is not listening"; do
		args=${bad%%|*}
		want=${bad#*|}
		pid=$(/usr/bin/python3 "$T/launch.py" $args "$XIHUD_BIN" --foreground --index "$IX" \
			--socket "$T/run/own.sock" 2>"$T/bad.log") || fail "launcher failed"
		gone "$pid" "xihud with a wrong fd 3"
		run cat "$T/bad.log"
		expect_eq "wrong fd 3 ($args)" "$OUT" "$want"
		[ -e "$T/run/own.sock" ] && fail "xihud bound its own socket instead ($args)"
	done
	# the exit status, with xihud as our child
	run bash -c 'exec 3<"$1"; export LISTEN_FDS=1 LISTEN_PID=$$; exec "$2" --foreground \
		--index "$3" --socket "$4"' - "$T/file" "$XIHUD_BIN" "$IX" "$T/run/own.sock"
	expect_eq "wrong fd 3: exit" "$RC" 2
	expect_eq "wrong fd 3: error" "$ERR" "xihud: socket activation: fd 3: not a socket"
	one_line "wrong fd 3"
	# LISTEN_PID of another process: not for us, xihud binds --socket as usual
	LISTEN_FDS=1 LISTEN_PID=1 serve "$IX" --no-sync
	run xihu --no-autostart search -l foo
	expect_eq "LISTEN_PID of another process" "$OUT" "$TREE/b.txt"
	;;
*) fail "unknown case" ;;
esac
echo "ok [$CASE]"
