#!/usr/bin/env bash
# tests/e2e/crash.sh: xihu-index killed with SIGKILL at random moments, during
# builds and during merges, leaves the last committed index whole and
# answering exactly as it did.
#
# A generated tree (tests/e2e/gentree.py) is indexed with --ram-mb 1, so a
# build writes dozens of small segments and the tiered policy merges them.
# Then, ROUNDS times: the tree is mutated (files rewritten, deleted, added);
# a fresh index of the new tree gives the right new answers; xihu-index runs
# on the old index (odd rounds: a plain update; even rounds: --merge, which
# rewrites everything) and gets SIGKILL at a random moment (seeded,
# printed).  The same run on a copy of the index just before, its -v lines
# timed, says where its phases lie: odd rounds draw the moment from the build
# (start to first commit), even rounds from the merges (each "merging" line
# to the commit after it), as an offset into the K-th merge, counted from
# that merge's own "merging" line in the real run.  After the kill:
#   - xihu-index --check passes;
#   - the answers to a fixed query set (tests/e2e/xihu-query: documents and
#     lines, sorted) are exactly the old ones if the manifest generation did
#     not move, else exactly the new ones (every commit of a run holds the
#     whole new tree: the update commit first, merges after it);
#   - a normal run then completes, leaves no file the manifest does not
#     name, and answers exactly the new answers.
# Where a kill landed is read from the run's -v lines: after "merging ..."
# with no commit after it, in a merge; before the first commit (and the
# generation unchanged), in the build.  The test fails unless at least
# MIN_PHASE kills landed in each.
#
# Env: XIHU_INDEX_BIN, XIHU_QUERY_BIN (from meson); CRASH_SEED (default 1),
# CRASH_ROUNDS (default 24), CRASH_FILES (default 2000; meson gives the
# sanitizer build 600 files and 20 rounds: every process is several times
# slower there).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SEED=${CRASH_SEED:-1}
ROUNDS=${CRASH_ROUNDS:-24}
FILES=${CRASH_FILES:-2000}
MIN_PHASE=3
T=$(mktemp -d /tmp/xihu-crash.XXXXXX)
TREE=$T/tree IX=$T/index REF=$T/ref
PY=/usr/bin/python3
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# one Python for the whole test: gen CMD... runs a gentree.py command
coproc GEN { "$PY" "$HERE/gentree.py" serve; }
gen() {
	local line
	echo "$*" >&"${GEN[1]}"
	while read -r line <&"${GEN[0]}"; do
		[ "$line" == ok ] && return 0
		[[ "$line" == error* ]] && fail "gentree.py $*: $line"
		printf '%s\n' "$line"
	done
	fail "gentree.py $*: no answer"
}
mapfile -t QUERIES < <(gen queries)
# answers INDEX OUT: the answers, without the first line; ANS_GEN = its generation
answers() {
	"$XIHU_QUERY_BIN" "$1" "${QUERIES[@]}" >"$2.full" || fail "xihu-query $1 failed"
	tail -n +2 "$2.full" >"$2"
	ANS_GEN=$(sed -n '1s/^generation \([0-9]*\) .*/\1/p' "$2.full")
}
# no_garbage INDEX: every segment file is one the manifest names (docs/FORMAT.md:
# MANIFEST's payload at offset 16: u64 generation, u64 next_seg_id, u32 nsegs,
# u32 nroots, then nsegs entries of 20 bytes starting with the u64 id)
no_garbage() {
	local m=$1/MANIFEST live="" files n i
	n=$(od -An -t u4 -j 32 -N 4 "$m" | tr -d ' ')
	for ((i = 0; i < n; i++)); do
		live+=$(printf '%012x' "$(od -An -t u8 -j $((40 + 20 * i)) -N 8 "$m" | tr -d ' ')")$'\n'
	done
	live=$(sort -u <<<"$live" | sed '/^$/d')
	files=$(ls "$1" | grep -E '^[0-9a-f]{12}[._]' | cut -c1-12 | sort -u)
	[ "$live" == "$files" ] || fail "files no manifest names are left in $1: live [$live] files [$files]"
}

gen init "$TREE" "$SEED" "$FILES"
"$XIHU_INDEX_BIN" -q --ram-mb 1 --index "$IX" "$TREE" || fail "first build"
answers "$IX" "$T/old.ans"
gen_now=$ANS_GEN
no_garbage "$IX"
RANDOM=$SEED
kills_build=0 kills_merge=0 kills_between=0 finished=0

for round in $(seq "$ROUNDS"); do
	gen mutate "$TREE" $((SEED * 1000 + round))
	rm -rf "$REF"
	"$XIHU_INDEX_BIN" -q --index "$REF" "$TREE" || fail "reference build"
	answers "$REF" "$T/new.ans"
	cmp -s "$T/old.ans" "$T/new.ans" && fail "round $round: the mutation changed no answer"

	if [ $((round % 2)) -eq 1 ]; then mode=update flags=(); else mode=merge flags=(--merge); fi
	# where the phases of this run lie: the same run on a copy, its -v lines timed
	rm -rf "$T/copy"
	cp -a "$IX" "$T/copy"
	t0=$EPOCHREALTIME
	"$XIHU_INDEX_BIN" -v -q --ram-mb 1 "${flags[@]}" --index "$T/copy" "$TREE" 2>&1 >/dev/null |
		while IFS= read -r l; do echo "$EPOCHREALTIME $l"; done >"$T/timing.log"
	t1=$EPOCHREALTIME
	# where to kill, drawn uniformly over this round's phase windows as the
	# timed copy saw them: "K X" means X seconds after the run's K-th
	# "merging" line (K 0: after its start).  Update rounds draw from the
	# build (start to first commit); merge rounds from the merges (each
	# "merging" line to the commit after it).  The real run is watched for
	# its own K-th "merging" line, so a kill meant for a merge lands in one
	# however much faster or slower than the copy this run's build goes.
	read -r anchor delay < <(awk -v t0="$t0" -v t1="$t1" -v mode="$mode" -v u=$((RANDOM % 1000)) '
		BEGIN { n = 0; m = 0; k = 0; c1 = 0 }
		$2 == "xihu-index:" && $3 == "merging" { m = $1 - t0; k++ }
		$2 == "xihu-index:" && $3 == "committed" {
			if (!c1) c1 = $1 - t0
			if (m) { lo[n] = m; hi[n] = $1 - t0; kk[n] = k; n++; m = 0 }
		}
		END {
			if (mode == "update" || n == 0) { lo[0] = 0; hi[0] = c1 ? c1 : t1 - t0; kk[0] = 0; n = 1 }
			for (i = 0; i < n; i++) total += hi[i] - lo[i]
			x = total * u / 1000
			for (i = 0; i < n; i++) { if (x <= hi[i] - lo[i]) break; x -= hi[i] - lo[i] }
			if (i == n) { i = n - 1; x = hi[i] - lo[i] }
			printf "%d %.3f\n", kk[i], x
		}' "$T/timing.log")
	dur=$(echo "scale=3; ($t1 - $t0) / 1" | bc -l)
	gen0=$gen_now
	"$XIHU_INDEX_BIN" -v -q --ram-mb 1 "${flags[@]}" --index "$IX" "$TREE" 2>"$T/run.log" &
	pid=$!
	while [ "$anchor" -gt 0 ] && kill -0 "$pid" 2>/dev/null &&
		[ "$(grep -c '^xihu-index: merging' "$T/run.log")" -lt "$anchor" ]; do
		sleep 0.005
	done
	sleep "$delay"
	if [ "$anchor" -gt 0 ]; then at="$delay s into merge $anchor"; else at="after $delay s"; fi
	kill -KILL "$pid" 2>/dev/null
	{ wait "$pid"; } 2>/dev/null
	status=$?
	last=$(grep -E '^xihu-index: (merging|committed)' "$T/run.log" | tail -n 1)
	if [ "$status" -eq 0 ]; then
		phase=finished; finished=$((finished + 1))
	elif [ "$status" -ne 137 ]; then
		fail "round $round: xihu-index exited $status: $(cat "$T/run.log")"
	elif [[ "$last" == "xihu-index: merging"* ]]; then
		phase=merge; kills_merge=$((kills_merge + 1))
	elif [ -n "$last" ]; then
		phase=between; kills_between=$((kills_between + 1))
	fi

	"$XIHU_INDEX_BIN" --check --index "$IX" >"$T/check.log" 2>&1 ||
		fail "round $round ($mode, killed $at, in $phase): --check: $(cat "$T/check.log")"
	answers "$IX" "$T/got.ans"
	gen1=$ANS_GEN
	if [ "$status" -eq 137 ] && [ -z "$last" ]; then
		# no commit line yet: in the build, or inside the first commit after its rename
		if [ "$gen1" == "$gen0" ]; then phase=build; kills_build=$((kills_build + 1))
		else phase=commit; kills_between=$((kills_between + 1)); fi
	fi
	if [ "$gen1" == "$gen0" ]; then want=old; else want=new; fi
	cmp -s "$T/got.ans" "$T/$want.ans" ||
		fail "round $round ($mode, killed $at, in $phase): generation $gen0 -> $gen1, answers differ from the $want ones: $(diff "$T/$want.ans" "$T/got.ans" | head -n 5)"
	echo "round $round: $mode, SIGKILL $at (the timed copy took $dur s): $phase; generation $gen0 -> $gen1, $want answers ok"

	"$XIHU_INDEX_BIN" -q --ram-mb 1 "${flags[@]}" --index "$IX" "$TREE" || fail "round $round: recovery run"
	no_garbage "$IX"
	answers "$IX" "$T/got.ans"
	gen_now=$ANS_GEN
	cmp -s "$T/got.ans" "$T/new.ans" ||
		fail "round $round: after the recovery run the answers differ: $(diff "$T/new.ans" "$T/got.ans" | head -n 5)"
	mv "$T/new.ans" "$T/old.ans"
done

echo "$ROUNDS kills (seed $SEED): $kills_build in the build, $kills_merge in a merge, $kills_between in or between commits, $finished finished first"
[ "$kills_build" -ge "$MIN_PHASE" ] || fail "only $kills_build kills landed in a build (want >= $MIN_PHASE)"
[ "$kills_merge" -ge "$MIN_PHASE" ] || fail "only $kills_merge kills landed in a merge (want >= $MIN_PHASE)"
exit 0
