# tests/e2e/lib.sh: what the end-to-end scripts share (sourced, not run).
# Needs CASE, T (the case's temporary directory) and SOCK set, and the
# binaries in XIHUD_BIN and XIHU_BIN.  Defines DPID, the daemon's pid.
DPID=

stop_daemon() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	DPID=
}
cleanup() {
	stop_daemon
	rm -rf "$T"
}
trap cleanup EXIT

fail() { echo "FAIL [$CASE]: $*" >&2; exit 1; }
# expect_eq WHAT GOT WANT
expect_eq() { [ "$2" == "$3" ] || fail "$1: got [$2], want [$3]"; }
# run CMD...: sets OUT, ERR, RC
run() {
	OUT=$("$@" 2>"$T/stderr"); RC=$?; ERR=$(cat "$T/stderr")
}
# serve DIR [ARG]...: a xihud serving the index DIR on $SOCK (one at a
# time), with xihud's options ARG..., once its socket is there
serve() {
	local dir=$1
	shift
	stop_daemon
	"$XIHUD_BIN" --foreground --index "$dir" --socket "$SOCK" "$@" 2>"$T/xihud.log" &
	DPID=$!
	for _ in $(seq 100); do
		[ -S "$SOCK" ] && return 0
		kill -0 "$DPID" 2>/dev/null || fail "xihud exited: $(cat "$T/xihud.log")"
		sleep 0.05
	done
	fail "xihud did not create $SOCK in 5 s"
}
xihu() { "$XIHU_BIN" "$@"; }
