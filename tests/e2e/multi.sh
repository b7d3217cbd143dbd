#!/usr/bin/env bash
# tests/e2e/multi.sh CASE: several indexes in one daemon (daemon/registry.c).
# A real xihud serves a default index of tree A; `xihu index B` has it build
# and serve a second one next to the default (in $T/indexes/); a search goes
# to the index whose tree holds the current directory, else the default;
# --index names one; `xihu list` shows them; a restarted daemon serves both.
# routing: among many indexes the deepest root holding the directory
# answers (the registry's routing table, daemon/registry.c).
# Binaries come from the environment: XIHU_INDEX_BIN, XIHUD_BIN, XIHU_BIN.
set -u
CASE=$1
T=$(mktemp -d /tmp/xihu-multi.XXXXXX)
A=$T/treea
B=$T/treeb
IX=$T/index
SOCK=$T/run/xihud.sock
DEADLINE_MS=${SYNC_DEADLINE_MS:-1000}
export XIHU_SOCKET=$SOCK NO_COLOR=1 XIHU_NO_AUTOSTART=1
unset XDG_RUNTIME_DIR XDG_DATA_HOME XIHU_INDEX
. "$(dirname "$0")/lib.sh"

put() { mkdir -p "$(dirname "$1")" && printf '%s\n' "$2" >"$1"; }
# found DIR QUERY [ARG]...: the documents answering QUERY asked from DIR
# (as xihu prints them: relative to DIR when under it), sorted, on one line
found() {
	local dir=$1 q=$2
	shift 2
	(cd "$dir" && xihu search -l -n 100 "$@" "$q" 2>/dev/null) | sed "s|^$T/|T/|" | sort | tr '\n' ' ' | sed 's/ $//'
}

put "$A/a1.txt" "aardvark in tree a"
put "$A/sub/a2.txt" "aardvark again, and a shared word: quoll"
put "$B/b1.txt" "bandicoot in tree b and quoll"
mkdir -p "$T/elsewhere"
"$XIHU_INDEX_BIN" --quiet --index "$IX" "$A" || fail "xihu-index exited $?"
serve "$IX"

case $CASE in
several)
	run xihu index "$B"
	expect_eq "xihu index: exit" "$RC" 0
	[[ "$OUT" == "$B: 1 documents, "*" of index in $T/indexes/treeb-"* ]] || fail "xihu index: [$OUT] [$ERR]"
	expect_eq "from tree b: its index" "$(found "$B" quoll)" "b1.txt"
	expect_eq "from tree a: the default" "$(found "$A/sub" quoll)" "a2.txt"
	expect_eq "from elsewhere: the default" "$(found "$T/elsewhere" bandicoot)" ""
	expect_eq "from elsewhere: the default's words" "$(found "$T/elsewhere" quoll)" "T/treea/sub/a2.txt"
	expect_eq "--index names b's" "$(found "$T/elsewhere" bandicoot --index "$(ls -d "$T"/indexes/treeb-*)")" \
		"T/treeb/b1.txt"
	run xihu search --index "$T/nowhere" quoll
	expect_eq "--index of no index: exit" "$RC" 2
	[[ "$ERR" == "xihu: $T/nowhere: this daemon serves no such index (see xihu list)" ]] ||
		fail "--index of no index: [$ERR]"
	run xihu list
	expect_eq "list: exit" "$RC" 0
	[[ "$OUT" == *"$IX (default)"*"roots      $A"*"documents  2, "*"state      ready"* ]] ||
		fail "list: default: [$OUT]"
	[[ "$OUT" == *"$T/indexes/treeb-"*"roots      $B"*"documents  1, "*"state      ready"* ]] ||
		fail "list: tree b: [$OUT]"
	run xihu index "$B"
	expect_eq "again: exit" "$RC" 0
	[[ "$OUT" == "$B: indexed in $T/indexes/treeb-"*"(kept up to date by live sync)" ]] || fail "again: [$OUT]"
	run xihu index "$A"
	[[ "$RC" == 0 && "$OUT" == "$A: indexed in $IX (kept up to date by live sync)" ]] || fail "tree a: [$OUT]"
	# live sync of the second index
	put "$B/b2.txt" "bilby arrives in tree b"
	t0=$(date +%s%3N)
	until [ "$(found "$B" bilby)" == "b2.txt" ]; do
		[ $(($(date +%s%3N) - t0)) -gt "$DEADLINE_MS" ] && fail "tree b's new file not found in $DEADLINE_MS ms"
		sleep 0.02
	done
	# a restarted daemon serves both
	stop_daemon
	serve "$IX"
	expect_eq "after a restart, from tree b" "$(found "$B" bilby)" "b2.txt"
	expect_eq "after a restart, from tree a" "$(found "$A" aardvark)" "a1.txt sub/a2.txt"
	;;
routing)
	# indexes made beforehand in $T/indexes/ (served at start, not synced):
	# one nested in the default's tree, one of a tree whose name is a prefix
	# of another's, a second one of the default's tree, and twenty more
	stop_daemon
	put "$A/sub/deep/c1.txt" "quoll in the nested tree"
	mkdir -p "$A/sub/deep/below" "$T/treebb"
	put "$A/a3.txt" "numbat, only in the second index of tree a"
	mkdir -m 700 "$T/indexes"
	mk() { "$XIHU_INDEX_BIN" --quiet --index "$T/indexes/$1" "$2" || fail "xihu-index $2 exited $?"; }
	mk deep "$A/sub/deep"
	mk b "$B"
	mk a-again "$A"
	for k in $(seq 20); do
		put "$T/many/$k/m.txt" "tree $k"
		mk "many-$k" "$T/many/$k"
	done
	serve "$IX" --no-sync
	expect_eq "the nested tree: its index" "$(found "$A/sub/deep" quoll)" "c1.txt"
	expect_eq "below the nested tree: its index" "$(found "$A/sub/deep/below" quoll)" "T/treea/sub/deep/c1.txt"
	expect_eq "above the nested tree: the default" "$(found "$A/sub" quoll)" "a2.txt"
	expect_eq "tree b: its index" "$(found "$B" quoll)" "b1.txt"
	expect_eq "treebb is not in treeb: the default" "$(found "$T/treebb" quoll)" "T/treea/sub/a2.txt"
	expect_eq "the default's root, another's too: the default" "$(found "$A" numbat)" ""
	expect_eq "one of many: its index" "$(found "$T/many/7" tree)" "m.txt"
	expect_eq "--index names one of many" "$(found "$T/elsewhere" tree --index "$T/indexes/many-13")" \
		"T/many/13/m.txt"
	expect_eq "from /: the default" "$(found / quoll)" "${T#/}/treea/sub/a2.txt"
	;;
bad_path)
	run xihu index "$T/missing"
	expect_eq "missing tree: exit" "$RC" 2
	expect_eq "missing tree: one line" "$(wc -l <<<"$ERR")" 1
	[[ "$ERR" == "xihu: index: $T/missing: No such file or directory" ]] || fail "missing tree: [$ERR]"
	;;
*) fail "unknown case" ;;
esac
echo "ok [$CASE]"
