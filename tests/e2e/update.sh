#!/usr/bin/env bash
# tests/e2e/update.sh CASE: incremental updates, roots, merges and the
# build options of xihu-index, checked through its summary line and the
# answers of tests/e2e/xihu-query (documents and lines, sorted).
# Binaries from the environment: XIHU_INDEX_BIN, XIHU_QUERY_BIN.
set -u
CASE=$1
T=$(mktemp -d /tmp/xihu-update.XXXXXX)
TREE=$T/tree IX=$T/index
trap 'rm -rf "$T"' EXIT

fail() { echo "FAIL [$CASE]: $*" >&2; exit 1; }
expect_eq() { [ "$2" == "$3" ] || fail "$1: got [$2], want [$3]"; }
# ix ARGS...: runs xihu-index on $IX, the summary in OUT
ix() { OUT=$("$XIHU_INDEX_BIN" --index "$IX" "$@" 2>"$T/err") || fail "xihu-index $*: $(cat "$T/err")"; }
# q INDEX QUERY: the documents answering QUERY, relative to $T, sorted, one line
q() {
	"$XIHU_QUERY_BIN" "$1" "$2" | tail -n +2 | grep -v "	hits " | cut -f2 | sed "s|^$T/||" | sort -u | tr '\n' ' '
}
generation() { "$XIHU_QUERY_BIN" "$1" | sed -n 's/^generation \([0-9]*\) .*/\1/p'; }
put() { mkdir -p "$(dirname "$1")" && printf '%s\n' "$2" >"$1"; }
# summary fields: "N docs (A added, C changed, D deleted, U unchanged)"
counts() { sed -n 's/.*: \([0-9]*\) docs (\([0-9]*\) added, \([0-9]*\) changed, \([0-9]*\) deleted, \([0-9]*\) unchanged).*/\1 \2 \3 \4 \5/p' <<<"$OUT"; }
# no_garbage: every segment file is one the manifest names
no_garbage() {
	local live files
	live=$("$XIHU_INDEX_BIN" --check --index "$IX" | sed -n 's/^segment \([0-9a-f]*\): ok.*/\1/p' | sort -u)
	files=$(ls "$IX" | grep -E '^[0-9a-f]{12}[._]' | cut -c1-12 | sort -u)
	expect_eq "files the manifest names" "$files" "$live"
}

case "$CASE" in
update_files)
	put "$TREE/a.txt" "alpha wombat"
	put "$TREE/b.txt" "beta wombat"
	put "$TREE/sub/c.txt" "gamma wombat"
	ix "$TREE"
	expect_eq "first build" "$(counts)" "3 3 0 0 0"
	g=$(generation "$IX")
	ix "$TREE"
	[[ "$OUT" == *"no changes (3 docs unchanged)"* ]] || fail "second run: [$OUT]"
	expect_eq "no commit when nothing changed" "$(generation "$IX")" "$g"
	touch -d '2001-01-01' "$TREE/b.txt" # same bytes, new mtime: re-indexed
	put "$TREE/a.txt" "alpha numbat"
	rm "$TREE/sub/c.txt"
	put "$TREE/d.txt" "delta wombat"
	ix "$TREE"
	expect_eq "update" "$(counts)" "3 1 2 1 0"
	expect_eq "one commit" "$(generation "$IX")" $((g + 1))
	expect_eq "changed file" "$(q "$IX" numbat)" "tree/a.txt "
	expect_eq "its old text" "$(q "$IX" alpha\ wombat)" ""
	expect_eq "deleted and added" "$(q "$IX" wombat)" "tree/b.txt tree/d.txt "
	no_garbage
	;;
update_roots)
	put "$TREE/one/a.txt" "koala one"
	put "$TREE/two/b.txt" "koala two"
	ix "$TREE/one" "$TREE/two" "$TREE/one" "$TREE/one/a.txt" # repeated and nested roots: walked once
	expect_eq "both trees, each file once" "$(q "$IX" koala)" "tree/one/a.txt tree/two/b.txt "
	expect_eq "counts" "$(counts)" "2 2 0 0 0"
	ix "$TREE/one"
	expect_eq "a root no longer given loses its docs" "$(q "$IX" koala)" "tree/one/a.txt "
	expect_eq "counts" "$(counts)" "1 0 0 1 1"
	put "$TREE/one/c.txt" "koala three"
	put "$TREE/two/d.txt" "koala four"
	ix --update
	expect_eq "--update walks the last run's roots" "$(q "$IX" koala)" "tree/one/a.txt tree/one/c.txt "
	run_rc=0
	"$XIHU_INDEX_BIN" --index "$T/none" --update 2>"$T/err" || run_rc=$?
	expect_eq "--update without an index: exit" "$run_rc" 2
	grep -q "no index to update" "$T/err" || fail "--update without an index: [$(cat "$T/err")]"
	;;
update_jsonl)
	printf '%s\n' '{"id":"a1","body":"emu one"}' '{"id":"a2","body":"emu two"}' >"$T/a.jsonl"
	printf '%s\n' '{"id":"b1","body":"emu three"}' >"$T/b.jsonl"
	ix --jsonl "$T/a.jsonl" --jsonl "$T/b.jsonl"
	expect_eq "records" "$(q "$IX" emu)" "a1 a2 b1 "
	printf '%s\n' '{"id":"a1","body":"emu uno"}' >"$T/a.jsonl" # a2 gone, a1 replaced
	ix --jsonl "$T/a.jsonl" --jsonl "$T/b.jsonl"
	expect_eq "a changed file's records are replaced whole" "$(q "$IX" emu)" "a1 b1 "
	expect_eq "old text of a1" "$(q "$IX" two)" ""
	expect_eq "counts: b.jsonl's record kept" "$(counts)" "2 1 0 2 1"
	ix --jsonl "$T/a.jsonl" --jsonl "$T/b.jsonl"
	[[ "$OUT" == *"no changes"* ]] || fail "unchanged JSON Lines files: [$OUT]"
	ix --jsonl "$T/b.jsonl"
	expect_eq "a JSON Lines file no longer given" "$(q "$IX" emu)" "b1 "
	;;
pair_sample_no_words)
	# the pair-word sample of a new index finds no word at all (a tiny text
	# beyond the sample points, the rest binary): qsort of no counts was
	# qsort(NULL, 0), which UBSan stops the ASan build on
	put "$TREE/a.txt" "quokka"
	head -c 65536 /dev/zero >"$TREE/zeros.bin"
	ix "$TREE"
	expect_eq "the text is indexed" "$(q "$IX" quokka)" "tree/a.txt "
	;;
update_limits)
	put "$TREE/small.txt" "quoll small"
	put "$TREE/grows.txt" "quoll grows"
	ix --max-file-size 1K "$TREE"
	head -c 2000 /dev/zero | tr '\0' 'x' >>"$TREE/grows.txt"
	ix --max-file-size 1K "$TREE"
	expect_eq "a file grown past the limit is removed" "$(q "$IX" quoll)" "tree/small.txt "
	printf 'quoll\0binary\n' >"$TREE/small.txt"
	ix --max-file-size 1K "$TREE"
	expect_eq "a file turned binary is removed" "$(q "$IX" quoll)" ""
	;;
no_ignore)
	mkdir -p "$TREE/.git" # a git work tree: its .gitignore counts
	put "$TREE/.gitignore" "*.log"
	put "$TREE/app.log" "dingo logged"
	put "$TREE/app.c" "dingo code"
	ix "$TREE"
	expect_eq "ignored" "$(q "$IX" dingo)" "tree/app.c "
	ix --no-ignore "$TREE"
	expect_eq "--no-ignore" "$(q "$IX" dingo)" "tree/app.c tree/app.log "
	ix --update
	[[ "$OUT" == *"no changes"* ]] || fail "--update walks a root as it was walked last: [$OUT]"
	ix "$TREE"
	expect_eq "ignored again" "$(q "$IX" dingo)" "tree/app.c "
	;;
merge_all)
	mkdir -p "$TREE"/d{0..3}
	for i in $(seq 600); do printf 'bilby %s w%s\n' $i $((i * 7)) >"$TREE/d$((i % 4))/f$i.txt"; done
	ix --ram-mb 1 --threads 2 "$TREE" # 3 batches of 256: segments from both threads
	segs=$(sed -n 's/.*, \([0-9]*\) segments\{0,1\}, .*/\1/p' <<<"$OUT")
	[ "$segs" -gt 1 ] || fail "--ram-mb 1 wrote one segment: [$OUT]"
	rm "$TREE"/d1/*
	ix --ram-mb 1 "$TREE"
	ix --merge "$TREE"
	[[ "$OUT" == *" 1 segment,"* ]] || fail "--merge: [$OUT]"
	expect_eq "merged docs" "$(q "$IX" bilby | wc -w)" 450
	ls "$IX" | grep -q '\.del$' && fail "deletions left after --merge: $(ls "$IX")"
	no_garbage
	# --merge alone merges the index of the last run's trees, wherever it is
	# run from: it must not index the current directory instead
	ix --ram-mb 1 --threads 2 "$TREE"
	rm "$TREE"/d2/f2.txt
	mkdir -p "$T/elsewhere" && put "$T/elsewhere/x.txt" "bilby elsewhere"
	OUT=$(cd "$T/elsewhere" && "$XIHU_INDEX_BIN" --index "$IX" --merge 2>"$T/err") || fail "--merge alone: $(cat "$T/err")"
	[[ "$OUT" == *": 449 docs ("*" 1 segment,"* ]] || fail "--merge without PATH: [$OUT]"
	expect_eq "merged docs, none from the current directory" "$(q "$IX" bilby | wc -w)" 449
	no_garbage
	;;
threads_ram)
	mkdir -p "$TREE"/d{0..6}
	for i in $(seq 700); do
		printf 'numbat %s word%s\nline two %s %s\n' $((i % 13)) $((i % 17)) $i $((i * 31)) >"$TREE/d$((i % 7))/f$i.txt"
	done
	ix --threads 1 "$TREE"
	"$XIHU_QUERY_BIN" "$IX" numbat 5 word3 '"numbat 7"' 'word1*' | tail -n +2 >"$T/one.ans"
	rm -rf "$IX"
	ix --threads 3 --ram-mb 1 "$TREE"
	"$XIHU_QUERY_BIN" "$IX" numbat 5 word3 '"numbat 7"' 'word1*' | tail -n +2 >"$T/many.ans"
	cmp -s "$T/one.ans" "$T/many.ans" || fail "3 threads and 1 MiB answer differently: $(diff "$T/one.ans" "$T/many.ans" | head -5)"
	for bad in "--threads 0" "--ram-mb 0" "--ram-mb x" "--threads -1"; do
		run_rc=0
		"$XIHU_INDEX_BIN" --index "$IX" $bad "$TREE" 2>"$T/err" || run_rc=$?
		expect_eq "$bad: exit" "$run_rc" 2
		grep -q "^xihu-index: --" "$T/err" || fail "$bad: [$(cat "$T/err")]"
	done
	;;
tiered_merge)
	put "$TREE/f0.txt" "wallaby 0"
	ix "$TREE"
	for i in $(seq 8); do
		put "$TREE/f$i.txt" "wallaby $i"
		ix -v "$TREE"
		grep -q merging "$T/err" && fail "run $i merged: $(cat "$T/err")"
	done
	[[ "$OUT" == *" 9 segments,"* ]] || fail "nine one-doc segments: [$OUT]"
	put "$TREE/f9.txt" "wallaby 9"
	ix -v "$TREE"
	grep -q "merging 10 segments (10 live docs)" "$T/err" || fail "ten in tier 0, no merge: $(cat "$T/err")"
	[[ "$OUT" == *" 1 segment,"* ]] || fail "after the merge: [$OUT]"
	expect_eq "merged docs" "$(q "$IX" wallaby | wc -w)" 10
	rm "$TREE"/f[1-3].txt # 30% deleted: kept as deletions
	ix -v "$TREE"
	grep -q merging "$T/err" && fail "30% deleted merged: $(cat "$T/err")"
	ls "$IX" | grep -q '\.del$' || fail "no deletions file: $(ls "$IX")"
	rm "$TREE/f4.txt" # 40%: rewritten
	ix -v "$TREE"
	grep -q "merging 1 segment (6 live docs)" "$T/err" || fail "40% deleted, not rewritten: $(cat "$T/err")"
	ls "$IX" | grep -q '\.del$' && fail "deletions left after the rewrite: $(ls "$IX")"
	expect_eq "docs left" "$(q "$IX" wallaby | wc -w)" 6
	no_garbage
	;;
locked)
	put "$TREE/a.txt" "possum"
	ix "$TREE"
	g=$(generation "$IX")
	put "$TREE/b.txt" "possum too"
	exec 9>"$IX/LOCK"
	flock -n 9 || fail "could not take the lock for the test"
	run_rc=0
	"$XIHU_INDEX_BIN" --index "$IX" --lock-wait 1 "$TREE" 2>"$T/err" || run_rc=$?
	expect_eq "second writer: exit" "$run_rc" 2
	grep -q "another writer (xihu-index, or xihud's live sync) holds the index" "$T/err" ||
		fail "second writer: [$(cat "$T/err")]"
	expect_eq "index untouched" "$(generation "$IX")" "$g"
	exec 9>&-
	ix "$TREE"
	expect_eq "after the lock is released" "$(q "$IX" possum)" "tree/a.txt tree/b.txt "
	;;
*)
	fail "unknown case"
	;;
esac
exit 0
