#!/usr/bin/env bash
# tests/e2e/sync.sh CASE: live sync end to end.  A real xihud serves an index
# of a temporary tree and watches it (daemon/sync.c); the tree is changed
# with plain shell commands and the real xihu client must find the change
# within SYNC_DEADLINE_MS (1000 in the plain build: the promise "a saved
# file is searchable within 1 s"; more under the sanitizers, whose
# processes run several times slower).  Polls every 20 ms, bounded.
# Binaries come from the environment: XIHU_INDEX_BIN, XIHUD_BIN, XIHU_BIN.
set -u
CASE=$1
T=$(mktemp -d /tmp/xihu-sync.XXXXXX)
TREE=$T/tree
IX=$T/index
SOCK=$T/run/xihud.sock
DEADLINE_MS=${SYNC_DEADLINE_MS:-1000}
export XIHU_SOCKET=$SOCK NO_COLOR=1
unset XDG_RUNTIME_DIR XDG_DATA_HOME XIHU_INDEX
. "$(dirname "$0")/lib.sh"

put() { mkdir -p "$(dirname "$1")" && printf '%s\n' "$2" >"$1"; }
ms() { date +%s%3N; }
# found QUERY: the documents answering QUERY (relative to the tree), sorted, on one line
found() {
	run xihu search -l -n 1000 "$1"
	sed "s|^$TREE/||" <<<"$OUT" | sort | tr '\n' ' ' | sed 's/ $//'
}
# within WHAT QUERY WANT: polls until found QUERY is WANT, at most DEADLINE_MS
# after the call; fails with what it saw otherwise.  Prints the time taken.
within() {
	local t0 got
	t0=$(ms)
	while :; do
		got=$(found "$2")
		[ "$got" == "$3" ] && break
		if [ $(($(ms) - t0)) -gt "$DEADLINE_MS" ]; then
			fail "$1: after $DEADLINE_MS ms found [$got], want [$3] ($(tail -3 "$T/xihud.log"))"
		fi
		sleep 0.02
	done
	echo "$1: $(($(ms) - t0)) ms" >&2
}
generation() { xihu status | sed -n 's/^generation[[:space:]]*//p'; }
# sync_commits: the updates live sync committed so far (xihu status; merges not counted)
sync_commits() { xihu status | sed -n 's/^live sync .*(\([0-9]*\) committed).*/\1/p'; }

mkdir -p "$TREE"
put "$TREE/a.txt" "wombat in the first file"
"$XIHU_INDEX_BIN" --quiet --index "$IX" "$TREE" || fail "xihu-index exited $?"
serve "$IX"
within "the first commit" wombat "a.txt"

case $CASE in
saved_file)
	# the acceptance item, as a user types it
	(cd "$TREE" && echo quuxword >f.txt)
	within "echo quuxword > f.txt" quuxword "f.txt"
	# saved again with other words: the old ones go
	(cd "$TREE" && echo quokkaword >f.txt)
	within "f.txt saved again" quokkaword "f.txt"
	within "its old word gone" quuxword ""
	;;
changes)
	rm "$TREE/a.txt"
	within "a deleted file" wombat ""
	put "$TREE/b.txt" "numbat here"
	mv "$TREE/b.txt" "$TREE/c.txt"
	within "a renamed file" numbat "c.txt"
	mkdir -p "$TREE/new/deeper"
	put "$TREE/new/deeper/d.txt" "dunnart in a new directory"
	within "a file in a new directory" dunnart "new/deeper/d.txt"
	put "$TREE/new/deeper/e.txt" "dunnart again"
	within "a second file in the new directory (watched now)" dunnart "new/deeper/d.txt new/deeper/e.txt"
	mv "$TREE/new" "$TREE/moved"
	within "a directory moved" dunnart "moved/deeper/d.txt moved/deeper/e.txt"
	rm -r "$TREE/moved"
	within "a directory removed" dunnart ""
	# ignore rules, as xihu-index honours them (.ignore: the tree is no
	# git work tree, where a .gitignore would not count)
	put "$TREE/.ignore" "secret.txt"
	put "$TREE/secret.txt" "bilby hidden"
	put "$TREE/open.txt" "bilby shown"
	within "an ignored file left out" bilby "open.txt"
	touch "$TREE/open.txt" # same content, new mtime: re-indexed, still found once
	sleep 0.3
	expect_eq "touched" "$(found bilby)" "open.txt"
	;;
burst)
	# a git checkout that rewrites 1,000 files: one commit (live sync waits
	# while git holds its index lock)
	command -v git >/dev/null || fail "git is not installed"
	(
		cd "$TREE" && git init -q . && git config user.email t@example.invalid && git config user.name t &&
			for i in $(seq 1 1000); do printf 'potoroo %d\n' "$i" >"p$i.txt"; done &&
			printf 'a.txt\n' >.gitignore && git add . && git commit -qm one && git checkout -qb two &&
			for i in $(seq 1 1000); do printf 'bettong %d\n' "$i" >"p$i.txt"; done &&
			git commit -qam two && git checkout -q -
	) >/dev/null 2>&1 || fail "setting up the git repository"
	want=$(for i in $(seq 1 1000); do echo "p$i.txt"; done | sort | tr '\n' ' ' | sed 's/ $//')
	DEADLINE_MS=$((DEADLINE_MS * 5)) within "1,000 files written" potoroo "$want"
	sleep 1 # the writes of the set-up are all committed
	c0=$(sync_commits)
	[ -n "$c0" ] || fail "no live sync line in xihu status"
	(cd "$TREE" && git checkout -q two) || fail "git checkout two"
	DEADLINE_MS=$((DEADLINE_MS * 5)) within "git checkout of 1,000 changed files" bettong "$want"
	expect_eq "the old words gone" "$(found potoroo)" ""
	sleep 1 # nothing more to come
	c1=$(sync_commits)
	[ $((c1 - c0)) -eq 1 ] || fail "a checkout of 1,000 files took $((c1 - c0)) commits ($c0 -> $c1)"
	echo "burst: git checkout of 1,000 files in $((c1 - c0)) commit(s)" >&2
	;;
kill9)
	# xihud killed (SIGKILL) while it syncs a stream of new files; restarted,
	# it serves the last commit, re-syncs, and no file is missing
	(for i in $(seq 1 400); do printf 'quoll %d\n' "$i" >"$TREE/q$i.txt"; done) &
	writer=$!
	sleep 0.15
	kill -9 "$DPID"
	wait "$DPID" 2>/dev/null
	DPID=
	wait "$writer"
	"$XIHU_INDEX_BIN" --check --index "$IX" >"$T/check" 2>&1 || fail "check after kill -9: $(cat "$T/check")"
	rm -f "$SOCK" # a killed daemon leaves its socket; serve waits for a new one
	serve "$IX"
	want=$(for i in $(seq 1 400); do echo "q$i.txt"; done | sort | tr '\n' ' ' | sed 's/ $//')
	DEADLINE_MS=$((DEADLINE_MS * 5)) within "all 400 files after the restart" quoll "$want"
	expect_eq "the first file too" "$(found wombat)" "a.txt"
	"$XIHU_INDEX_BIN" --check --index "$IX" >"$T/check" 2>&1 || fail "check after the re-sync: $(cat "$T/check")"
	;;
no_sync)
	serve "$IX" --no-sync
	put "$TREE/g.txt" "kowari"
	sleep 1
	expect_eq "--no-sync: a new file not indexed" "$(found kowari)" ""
	;;
*) fail "unknown case" ;;
esac
echo "ok [$CASE]"
