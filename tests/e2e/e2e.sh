#!/usr/bin/env bash
# tests/e2e/e2e.sh CASE: one end-to-end case.  Builds a real index of a
# temporary tree with xihu-index, starts a real xihud on a temporary socket,
# and checks what the real xihu client prints and its exit codes.
# Binaries come from the environment: XIHU_INDEX_BIN, XIHUD_BIN, XIHU_BIN.
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

index() { "$XIHU_INDEX_BIN" --quiet --index "$IX" "$@" || fail "xihu-index $* exited $?"; }
start_daemon() { serve "$IX" "$@"; }

make_tree() {
	mkdir -p "$TREE/src" "$TREE/docs" "$TREE/.git"
	printf 'zebra zebra zebra\nthe zebra runs\nzebra\n' >"$TREE/src/many.txt"
	printf 'one zebra here\nand lots of other words to make it longer than the others\nmore filler text\n' >"$TREE/src/one.txt"
	printf 'nothing to see\nquick brown fox\njumps over the lazy dog\n' >"$TREE/docs/fox.md"
	printf 'brown quick fox\n' >"$TREE/docs/reversed.md"
	printf 'zebra hidden in git\n' >"$TREE/.git/config"
	printf '  indented  zebra\r\nsecond line\r\n' >"$TREE/docs/crlf.txt"
	printf 'int parse_request(void);\nstatic int parse_reply;\n' >"$TREE/src/proto.c"
}

case "$CASE" in
ranked_order)
	make_tree
	index "$TREE"
	start_daemon
	cd "$TREE" || fail cd
	run xihu search -l zebra
	expect_eq "exit" "$RC" 0
	expect_eq "rank order" "$OUT" "$(printf 'src/many.txt\ndocs/crlf.txt\nsrc/one.txt')"
	;;
vimgrep)
	make_tree
	printf 'héllo wörld kangaroo\n' >"$TREE/utf8.txt"
	index "$TREE"
	start_daemon
	cd "$TREE" || fail cd
	run xihu search --vimgrep zebra
	expect_eq "exit" "$RC" 0
	expect_eq "vimgrep" "$OUT" "$(printf '%s\n' \
		'src/many.txt:1:1:zebra zebra zebra' 'src/many.txt:2:5:the zebra runs' 'src/many.txt:3:1:zebra' \
		'docs/crlf.txt:1:13:  indented  zebra' 'src/one.txt:1:5:one zebra here')"
	# the column of a match after multi-byte characters is a byte column
	run xihu search --vimgrep kangaroo
	expect_eq "utf-8 column" "$OUT" "utf8.txt:1:15:héllo wörld kangaroo"
	;;
json)
	make_tree
	index "$TREE"
	start_daemon
	cd "$TREE" || fail cd
	run xihu search --json quick fox
	expect_eq "exit" "$RC" 0
	printf '%s\n' "$OUT" | $PY -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
hits, summary = rows[:-1], rows[-1]["summary"]
assert [h["rank"] for h in hits] == [1, 2], hits
assert {h["doc"] for h in hits} == {"docs/fox.md", "docs/reversed.md"}, hits
assert all(isinstance(h["score"], float) and h["score"] > 0 for h in hits)
assert hits[0]["score"] >= hits[1]["score"]
fox = [h for h in hits if h["doc"] == "docs/fox.md"][0]
assert fox["lines"] == [{"line": 2, "col": 1, "text": "quick brown fox", "spans": [[0, 5], [12, 15]]}], fox
assert summary["hits"] == 2 and summary["total"] == 2 and summary["took_us"] >= 0, summary
' || fail "json output: $OUT"
	;;
exit_codes)
	make_tree
	index "$TREE"
	start_daemon
	run xihu search zebra
	expect_eq "results" "$RC" 0
	run xihu search nosuchwordanywhere
	expect_eq "no results" "$RC" 1
	expect_eq "no results prints nothing" "$OUT" ""
	run xihu search --count zebra
	expect_eq "count exit" "$RC" 0
	expect_eq "count" "$OUT" "3"
	run xihu search --count nosuchwordanywhere
	expect_eq "count none exit" "$RC" 1
	run xihu search 'zebra "unclosed'
	expect_eq "syntax error exit" "$RC" 2
	;;
query_forms)
	make_tree
	index "$TREE"
	start_daemon
	cd "$TREE" || fail cd
	run xihu search -l '"quick brown"'
	expect_eq "phrase" "$OUT" "docs/fox.md"
	run xihu search -l '"brown quick"'
	expect_eq "phrase reversed" "$OUT" "docs/reversed.md"
	run xihu search -l zebra -runs
	expect_eq "negation" "$OUT" "$(printf 'docs/crlf.txt\nsrc/one.txt')"
	run xihu search -l lazy OR indented
	expect_eq "or" "$(sort <<<"$OUT")" "$(printf 'docs/crlf.txt\ndocs/fox.md')"
	run xihu search -l 'pars*'
	expect_eq "prefix" "$OUT" "src/proto.c"
	run xihu search -l ZEBRA hidden
	expect_eq ".git skipped" "$RC" 1
	run xihu search -l fox.md
	expect_eq "path field" "$OUT" "docs/fox.md"
	;;
bad_input)
	make_tree
	index "$TREE"
	run xihu search --no-autostart zebra
	expect_eq "daemon not running: exit" "$RC" 2
	[[ "$ERR" == xihu:* ]] || fail "daemon not running: error [$ERR]"
	expect_eq "daemon not running: one line" "$(wc -l <<<"$ERR")" 1
	start_daemon
	run xihu search 'zebra "unclosed'
	expect_eq "unbalanced quote: exit" "$RC" 2
	[[ "$ERR" == xihu:*column\ 7* ]] || fail "unbalanced quote: error [$ERR]"
	expect_eq "unbalanced quote: one line" "$(wc -l <<<"$ERR")" 1
	run xihu search ''
	expect_eq "empty query: exit" "$RC" 2
	[[ "$ERR" == xihu:* ]] || fail "empty query: error [$ERR]"
	run xihu search '(zebra'
	expect_eq "unbalanced paren: exit" "$RC" 2
	[[ "$ERR" == *column* ]] || fail "unbalanced paren: error [$ERR]"
	run "$XIHU_INDEX_BIN" --index "$T/nope/index" --check
	expect_eq "missing index: exit" "$RC" 2
	[[ "$ERR" == xihu-index:*"$T/nope/index"* ]] || fail "missing index: error [$ERR]"
	run "$XIHUD_BIN" --foreground --index "$T/nope" --socket "$T/other.sock"
	expect_eq "daemon on a missing index: exit" "$RC" 2
	[[ "$ERR" == xihud:*"$T/nope"* ]] || fail "daemon on a missing index: error [$ERR]"
	run "$XIHU_INDEX_BIN" --index "$IX" "$T/does-not-exist"
	expect_eq "missing tree: exit" "$RC" 2
	[[ "$ERR" == xihu-index:*does-not-exist* ]] || fail "missing tree: error [$ERR]"
	;;
not_utf8)
	mkdir -p "$TREE"
	# Latin-1 bytes and a truncated UTF-8 sequence inside the text: the rest is indexed
	printf 'caf\xe9 before\nmiddle \xe2\x82 broken\nafter koala end\n' >"$TREE/latin1.txt"
	index "$TREE"
	start_daemon
	cd "$TREE" || fail cd
	run xihu search --vimgrep koala
	expect_eq "exit" "$RC" 0
	expect_eq "line after bad bytes" "$OUT" "latin1.txt:3:7:after koala end"
	run xihu search -l broken
	expect_eq "word after a truncated sequence" "$OUT" "latin1.txt"
	run xihu search --json before
	printf '%s\n' "$OUT" | $PY -c 'import json,sys; [json.loads(l) for l in sys.stdin]' ||
		fail "json with invalid UTF-8 is not valid JSON: $OUT"
	;;
near)
	mkdir -p "$TREE"
	printf 'the big fat cat sat\n' >"$TREE/a.txt"
	printf 'cat then big\n' >"$TREE/b.txt"
	printf 'big %s cat\n' "$(printf 'w%d ' $(seq 20))" >"$TREE/c.txt"
	printf 'big cat\n' >"$TREE/d.txt"
	index "$TREE"
	start_daemon
	cd "$TREE" || fail cd
	run xihu search -l 'big NEAR/0 cat'
	expect_eq "NEAR/0: adjacent, either order" "$OUT" "d.txt"
	run xihu search -l 'cat NEAR/1 big'
	expect_eq "NEAR/1: one word between, either order" "$(sort <<<"$OUT")" "$(printf 'a.txt\nb.txt\nd.txt')"
	run xihu search -l 'big NEAR cat'
	expect_eq "NEAR: ten words" "$(sort <<<"$OUT")" "$(printf 'a.txt\nb.txt\nd.txt')"
	run xihu search -l 'big NEAR/20 cat'
	expect_eq "NEAR/20" "$(sort <<<"$OUT")" "$(printf 'a.txt\nb.txt\nc.txt\nd.txt')"
	run xihu search --vimgrep 'big NEAR/1 cat -then'
	expect_eq "NEAR in an AND, each word highlighted" "$OUT" "$(printf 'd.txt:1:1:big cat\na.txt:1:5:the big fat cat sat')"
	run xihu search -l 'big NEAR/x cat'
	expect_eq "bad NEAR: exit" "$RC" 2
	[[ "$ERR" == *"column 5: NEAR/n takes a number"* ]] || fail "bad NEAR: [$ERR]"
	;;
scopes)
	mkdir -p "$TREE/src/net" "$TREE/docs"
	printf 'zebra in c\n' >"$TREE/src/a.c"
	printf 'zebra in a header\n' >"$TREE/src/net/b.H"
	printf 'zebra in prose, see http://example.com/page\n' >"$TREE/docs/x.md"
	printf 'no stripes\n' >"$TREE/docs/zebra.txt"
	printf '%s\n' '{"id":"r1","title":"Big cat","body":"stripes"}' \
		'{"id":"r2","title":"Other","body":"a cat sleeps"}' >"$T/recs.jsonl"
	index --jsonl "$T/recs.jsonl" "$TREE"
	start_daemon
	cd "$TREE" || fail cd
	run xihu search -l zebra ext:c
	expect_eq "ext:c" "$OUT" "src/a.c"
	run xihu search -l zebra ext:h
	expect_eq "ext:h, case ignored" "$OUT" "src/net/b.H"
	run xihu search -l 'path:*.md'
	expect_eq "a path glob alone" "$OUT" "docs/x.md"
	run xihu search -l 'zebra path:src/*'
	expect_eq "a path glob with a word" "$(sort <<<"$OUT")" "$(printf 'src/a.c\nsrc/net/b.H')"
	run xihu search -l 'zebra -ext:c -ext:h'
	expect_eq "excluded extensions" "$(sort <<<"$OUT")" "$(printf 'docs/x.md\ndocs/zebra.txt')"
	run xihu search -l path:zebra
	expect_eq "a word in the path only" "$OUT" "docs/zebra.txt"
	run xihu search -l title:cat
	expect_eq "a JSON Lines field" "$OUT" "r1"
	run xihu search -l cat
	expect_eq "the same word in any field" "$(sort <<<"$OUT")" "$(printf 'r1\nr2')"
	run xihu search -l 'title:"big cat"'
	expect_eq "a scoped phrase" "$OUT" "r1"
	run xihu search -l 'http://example.com/page'
	expect_eq "not a field: plain words" "$OUT" "docs/x.md"
	run xihu search --vimgrep zebra ext:md
	expect_eq "hits of a scoped query keep their lines" "$OUT" "docs/x.md:1:1:zebra in prose, see http://example.com/page"
	;;
context)
	mkdir -p "$TREE"
	# multi-byte characters and CRLF line ends: columns are byte columns of
	# the line, the \r is not part of the text
	printf 'h\xc3\xa9llo\r\nw\xc3\xb6rld kangaroo \xe4\xb8\xad\r\nthird\r\nfourth\r\nfifth\r\nsixth kangaroo\r\nlast\r\n' >"$TREE/m.txt"
	index "$TREE"
	start_daemon
	cd "$TREE" || fail cd
	run xihu search --vimgrep kangaroo
	expect_eq "multi-byte and CRLF columns" "$OUT" "$(printf 'm.txt:2:8:w\xc3\xb6rld kangaroo \xe4\xb8\xad\nm.txt:6:7:sixth kangaroo')"
	run xihu search -C 1 kangaroo
	expect_eq "context lines" "$OUT" "$(printf 'm.txt\n1-  h\xc3\xa9llo\n2:8: w\xc3\xb6rld kangaroo \xe4\xb8\xad\n3-  third\n--\n5-  fifth\n6:7: sixth kangaroo\n7-  last')"
	run xihu search -C 2 kangaroo
	expect_eq "overlapping context, each line once" "$(printf '%s\n' "$OUT" | cut -d' ' -f1 | tr '\n' ' ')" \
		"m.txt 1- 2:8: 3- 4- 5- 6:7: 7- "
	run xihu search --json -C 1 kangaroo
	[[ "$OUT" == *'{"line":1,"col":0,"text":"h\u00e9llo","spans":[]}'* || "$OUT" == *'{"line":1,"col":0,"text":"héllo","spans":[]}'* ]] ||
		fail "json context line: [$OUT]"
	;;
any)
	# xihu search --any: any of the words, ranked, phrases and -word intact;
	# and a daemon that does not know the flag is an error, not an AND
	make_tree
	printf 'a kangaroo\n' >"$TREE/k.txt"
	index "$TREE"
	start_daemon
	cd "$TREE" || fail cd
	run xihu search -l quick zebra
	expect_eq "without --any: both words" "$RC" 1
	run xihu search -l --any quick zebra
	expect_eq "--any: exit" "$RC" 0
	# quick is in 2 of the 7 files, zebra in 3: the rarer word weighs more
	# (idf ln(5.5 / 2.5) against ln(4.5 / 3.5)), so its short files lead
	expect_eq "--any: either word, the rarer one's files first" "$OUT" \
		"$(printf 'docs/reversed.md\ndocs/fox.md\nsrc/many.txt\ndocs/crlf.txt\nsrc/one.txt')"
	run xihu search -l quick --any zebra -lazy
	expect_eq "--any anywhere; -word excludes from all" "$OUT" \
		"$(printf 'docs/reversed.md\nsrc/many.txt\ndocs/crlf.txt\nsrc/one.txt')"
	run xihu search -l --any '"brown quick"' zebra ext:md
	expect_eq "--any keeps a phrase; a filter restricts" "$OUT" "docs/reversed.md"
	run xihu search -l --any '"brown quick"' zebra 'path:src/*'
	expect_eq "--any: a path glob restricts" "$OUT" "$(printf 'src/many.txt\nsrc/one.txt')"
	run xihu search -l --any 'quick AND lazy' zebra
	expect_eq "--any: AND still joins (reversed.md has no lazy)" "$OUT" \
		"$(printf 'docs/fox.md\nsrc/many.txt\ndocs/crlf.txt\nsrc/one.txt')"
	run xihu search --any -c zebra quick nosuchword
	expect_eq "--any --count" "$OUT" 5
	# a paragraph of 1,000 words: one of them is in the tree
	q=$($PY -c 'print(" ".join("para%d" % i for i in range(999)) + " kangaroo")')
	run xihu search -l "$q"
	expect_eq "1,000 words ANDed: nothing" "$RC" 1
	run xihu search -l --any "$q"
	expect_eq "1,000 words, --any: exit" "$RC" 0
	expect_eq "1,000 words, --any" "$OUT" "k.txt"
	xihu search --help | grep -q -- '--any  *match any of the words' || fail "--any is not in search --help"
	# a daemon older than SearchRequest.any answers without the echo: the
	# client refuses the answer (it would be an AND of the words)
	stop_daemon
	$PY - "$SOCK" "$(dirname "$0")" <<'PYEOF' &
import os, socket, struct, sys
sys.path.insert(0, sys.argv[2])
from pbwire import varint, read_varint, field
path = sys.argv[1]
if os.path.exists(path):
    os.unlink(path)
srv = socket.socket(socket.AF_UNIX)
srv.bind(path)
srv.listen(4)
for _ in range(2):
    c, _ = srv.accept()
    n = struct.unpack(">I", c.recv(4, socket.MSG_WAITALL))[0]
    req = c.recv(n, socket.MSG_WAITALL)
    assert req[0] == 1 << 3, req[:8]  # Request.id, a varint
    rid, _ = read_varint(req, 1)
    # Response{id, version 1, search: SearchResponse{}}: no hits, no echo
    body = bytes([1 << 3]) + varint(rid) + bytes([2 << 3, 1]) + bytes([10 << 3 | 2, 0])
    c.sendall(struct.pack(">I", len(body)) + body)
    c.close()
PYEOF
	FAKE=$!
	for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
	run xihu search --no-autostart -l zebra
	expect_eq "an old daemon, without --any: its answer" "$RC" 1
	run xihu search --no-autostart -l --any zebra quick
	expect_eq "an old daemon, --any: exit" "$RC" 2
	[[ "$ERR" == *"does not know"*"--any"*"older than this client"* ]] || fail "an old daemon, --any: [$ERR]"
	wait "$FAKE" || fail "the fake daemon failed"
	;;
cli_options)
	# --sort path, -m/--max-count, -q and --color, as a user at a shell
	mkdir -p "$TREE"
	for f in zeta alpha mid; do
		printf 'apple one\nbanana\napple two apple\nx\napple three\n' >"$TREE/$f.txt"
	done
	printf 'apple apple apple apple\n' >"$TREE/best.txt"
	for i in $(seq 12); do printf 'kiwi %s\nfiller\n' "$i"; done >"$TREE/kiwi.txt"
	index "$TREE"
	start_daemon
	cd "$TREE" || fail cd
	run xihu search -l apple
	expect_eq "rank order" "$(head -1 <<<"$OUT")" "best.txt"
	run xihu search -l --sort path apple
	expect_eq "--sort path" "$OUT" "$(printf 'alpha.txt\nbest.txt\nmid.txt\nzeta.txt')"
	run xihu search -l --sort path -n 2 apple
	expect_eq "--sort path orders the 2 best hits" "$OUT" "$(printf 'alpha.txt\nbest.txt')"
	run xihu search --json --sort=path apple
	expect_eq "--sort path keeps each hit's rank" "$(grep -o '"rank":[0-9]*,"score":[^,]*,"doc":"[a-z]*' <<<"$OUT" | sed 's/,"score":[^,]*//' | tr '\n' ' ')" \
		'"rank":2,"doc":"alpha "rank":1,"doc":"best "rank":3,"doc":"mid "rank":4,"doc":"zeta '
	run xihu search --vimgrep -m 2 path:zeta.txt apple
	expect_eq "-m 2" "$OUT" "$(printf 'zeta.txt:1:1:apple one\nzeta.txt:3:1:apple two apple')"
	run xihu search --vimgrep --max-count=1 path:zeta.txt apple
	expect_eq "--max-count=1" "$OUT" "zeta.txt:1:1:apple one"
	run xihu search -m1 -C 1 path:zeta.txt apple
	expect_eq "-m1 with context" "$OUT" "$(printf 'zeta.txt\n1:1: apple one\n2-  banana')"
	run xihu search -q apple
	expect_eq "-q: exit" "$RC" 0
	expect_eq "-q: no output" "$OUT$ERR" ""
	run xihu search --quiet nosuchwordanywhere
	expect_eq "--quiet, no match: exit" "$RC" 1
	expect_eq "--quiet, no match: no output" "$OUT$ERR" ""
	run xihu search -q '"unclosed'
	expect_eq "-q, bad query: exit" "$RC" 2
	[[ "$ERR" == "xihu: "*"column"* ]] || fail "-q still reports errors: [$ERR]"
	run xihu search --color=always path:best.txt apple
	m=$'\033[1;31mapple\033[0m'
	expect_eq "--color=always" "$OUT" $'\033[35mbest.txt\033[0m\n\033[32m1\033[0m:1: '"$m $m $m $m"
	run env NO_COLOR=1 "$XIHU_BIN" --socket "$SOCK" --no-autostart search --color=auto path:best.txt apple
	[[ "$OUT" != *$'\033'* ]] || fail "NO_COLOR: escapes in [$OUT]"
	run xihu search path:best.txt apple
	[[ "$OUT" != *$'\033'* ]] || fail "not a terminal: escapes in [$OUT]"
	# the default format shows 10 matching lines of a hit, then a note
	run xihu search kiwi
	expect_eq "10 lines, then a note" "$(sed -n '2p;11p;12p' <<<"$OUT")" "$(printf '1:1: kiwi 1\n19:1: kiwi 10\n... more matching lines (-m N shows N)')"
	expect_eq "10 lines, then a note: count" "$(wc -l <<<"$OUT")" 12
	run xihu search -C 1 kiwi
	expect_eq "cut with context: the 10th's context stays, the 11th's goes" "$(tail -3 <<<"$OUT")" "$(printf '19:1: kiwi 10\n20-  filler\n... more matching lines (-m N shows N)')"
	run xihu search -m 12 kiwi
	expect_eq "-m 12: all, no note" "$(tail -1 <<<"$OUT")" "23:1: kiwi 12"
	run xihu search --vimgrep kiwi
	expect_eq "--vimgrep: every line" "$(wc -l <<<"$OUT")" 12
	# a word after '-' is a NOT, even when it starts like -m, -n or -C
	run xihu search -l apple -mid -n2 -Cx
	expect_eq "-mid -n2 -Cx" "$OUT" "$(printf 'best.txt\nalpha.txt')"
	for bad in "--sort rank" "-m 0" "--max-count x"; do
		# shellcheck disable=SC2086
		run xihu search $bad apple
		expect_eq "$bad: exit" "$RC" 2
		[[ "$ERR" == "xihu: search: ${bad%% *}"* ]] || fail "$bad: error [$ERR]"
	done
	;;
progress)
	# a progress bar on a terminal (a pty from script(1)), nothing of it in
	# a pipe, nothing at all with --quiet
	make_tree
	command -v script >/dev/null || fail "script(1) (bsdutils) is missing"
	run "$XIHU_INDEX_BIN" --index "$IX" "$TREE"
	expect_eq "no terminal: exit" "$RC" 0
	[[ "$ERR" != *$'\r'* && "$ERR" != *'MB/s'* ]] || fail "progress in a pipe: [$ERR]"
	[[ "$OUT" == "$IX: 6 docs (6 added,"* ]] || fail "summary: [$OUT]"
	rm -rf "$IX"
	run script -qec "stty cols 100; '$XIHU_INDEX_BIN' --index '$IX' '$TREE'" /dev/null
	expect_eq "terminal: exit" "$RC" 0
	last=$(tr '\r' '\n' <<<"$OUT" | grep 'MB/s' | tail -1)
	[[ "$last" == *'[########################] 100%  '*' files, '*' MB, '*' MB/s'* ]] || fail "progress bar: [$OUT]"
	rm -rf "$IX"
	run script -qec "'$XIHU_INDEX_BIN' --quiet --index '$IX' '$TREE'" /dev/null
	expect_eq "--quiet on a terminal: exit" "$RC" 0
	expect_eq "--quiet on a terminal: output" "$OUT" ""
	;;
fuzzy)
	make_tree
	printf 'the kangaroo hops\nspinlock held\n' >"$TREE/docs/roo.txt"
	index "$TREE"
	start_daemon
	cd "$TREE" || fail cd
	# a one-letter typo (a transposition, a substitution) found with ~
	run xihu search -l 'zebar~'
	expect_eq "zebar~: exit" "$RC" 0
	expect_eq "zebar~ finds zebra" "$OUT" "$(printf 'src/many.txt\ndocs/crlf.txt\nsrc/one.txt')"
	run xihu search --vimgrep 'kangarxo~1'
	expect_eq "kangarxo~1 line and highlight column" "$OUT" "docs/roo.txt:1:5:the kangaroo hops"
	run xihu search -l 'spinlxkc~2'
	expect_eq "two edits with ~2" "$OUT" "docs/roo.txt"
	run xihu search -l 'spinlxkc~1'
	expect_eq "not within one edit: exit" "$RC" 1
	run xihu search -l 'zebar'
	expect_eq "without ~ the typo finds nothing" "$RC" 1
	[[ "$ERR" == "xihu: no match; did you mean: zebra" ]] || fail "did you mean: [$ERR]"
	run xihu search -l 'kangaro OR zebar'
	[[ "$ERR" == "xihu: no match; did you mean: kangaroo OR zebra" ]] || fail "did you mean, two words: [$ERR]"
	run xihu search --json 'kangaro'
	[[ "$OUT" == *'"suggestion":"kangaroo"'* ]] || fail "json suggestion: [$OUT]"
	run xihu search -l 'qqqqqqqqqq'
	expect_eq "nothing near: exit" "$RC" 1
	expect_eq "nothing near: no suggestion" "$ERR" ""
	;;
hostile)
	# each hostile query gets a bounded answer or a one-line error within the
	# configured limits, and the daemon keeps serving with bounded memory
	mkdir -p "$TREE"
	# a dictionary of a million terms, all starting with "a"
	$PY -c 'import sys
w = sys.stdout.write
for i in range(1000000):
    w("a%06d%s" % (i, "\n" if i % 16 == 15 else " "))' >"$TREE/million.txt"
	printf 'zebra lives here\n' >"$TREE/zebra.txt"
	"$XIHU_INDEX_BIN" --quiet --max-file-size 64M --index "$IX" "$TREE" || fail "xihu-index exited $?"
	start_daemon
	run xihu search -l 'a*'
	expect_eq "a* over a million terms: exit" "$RC" 2
	[[ "$ERR" == xihu:*column\ 1*prefix\ limit* ]] || fail "a*: error [$ERR]"
	run xihu search -l 'a00000*'
	expect_eq "a bounded prefix still answers" "$RC" 0
	expect_eq "its hit" "$OUT" "$T/tree/million.txt"
	q=$($PY -c 'print(" ".join("w%d" % i for i in range(10000)))')
	run xihu search -l "$q"
	expect_eq "10,000 terms: exit" "$RC" 2
	[[ "$ERR" == xihu:*longer\ than* || "$ERR" == xihu:*terms* ]] || fail "10,000 terms: error [$ERR]"
	expect_eq "10,000 terms: one line" "$(wc -l <<<"$ERR")" 1
	run xihu search -l --any "$q"
	expect_eq "10,000 terms, --any: exit" "$RC" 2
	expect_eq "10,000 terms, --any" "$ERR" "xihu: query column 16385: query longer than 16384 bytes"
	# 2,049 words within the byte limit: the term limit, at the 2,049th
	q=$($PY -c 'print(" ".join("w%d" % i for i in range(2049)))')
	run xihu search -l --any "$q"
	expect_eq "2,049 terms: exit" "$RC" 2
	expect_eq "2,049 terms" "$ERR" "xihu: query column $((${#q} - 4)): more than 2048 terms in the query"
	# 1,000 words: as an AND nothing matches (and did-you-mean walks for 64
	# of them at most); as an OR the two files, the lines of the 7.7 MB one
	# found by looking the tokens up among 1,000 patterns
	q=$($PY -c 'print(" ".join("w%d" % i for i in range(999)) + " zebra")')
	run xihu search "$q"
	expect_eq "1,000 words: exit" "$RC" 1
	expect_eq "1,000 words: nothing" "$OUT$ERR" ""
	q=$($PY -c 'print(" ".join("a%06d" % (i * 997) for i in range(999)) + " zebra")')
	run xihu search -l --any "$q"
	expect_eq "1,000 words, --any: exit" "$RC" 0
	expect_eq "1,000 words, --any" "$OUT" "$(printf '%s\n' "$T/tree/million.txt" "$T/tree/zebra.txt")"
	run xihu search --any -m 2 "$q"
	expect_eq "1,000 words, --any, with lines: exit" "$RC" 0
	expect_eq "1,000 words, --any, with lines" "$(sed -n 2,3p <<<"$OUT")" \
		"$(printf '%s\n' '1:1: a000000 a000001 a000002 a000003 a000004 a000005 a000006 a000007 a000008 a000009 a000010 a000011 a000012 a000013 a000014 a000015' \
			'63:41: a000992 a000993 a000994 a000995 a000996 a000997 a000998 a000999 a001000 a001001 a001002 a001003 a001004 a001005 a001006 a001007')"
	# 1,024 prefixes of 1,000 expansions each: refused before their
	# million postings cursors are made
	q=$($PY -c 'print(" ".join("a%03d*" % (i % 1000) for i in range(1024)))')
	for _ in 1 2; do # twice: a worker's memory is given back, not kept for the next
		run xihu search -l --any "$q"
		expect_eq "1,024 prefixes: exit" "$RC" 2
		expect_eq "1,024 prefixes" "$ERR" "xihu: query: its prefixes and fuzzy words expand to more than 32768 terms (the limit)"
	done
	q=$($PY -c 'print("(" * 1000 + "zebra" + ")" * 1000)')
	run xihu search -l "$q"
	expect_eq "1,000-deep nest: exit" "$RC" 2
	[[ "$ERR" == xihu:*column\ *nested\ deeper* ]] || fail "1,000-deep nest: error [$ERR]"
	# a 1 MiB query string (too long for argv): one raw request frame
	$PY - "$SOCK" "$(dirname "$0")" <<'PYEOF' || fail "1 MiB query: $(cat "$T/xihud.log")"
import socket, struct, sys
sys.path.insert(0, sys.argv[2])
from pbwire import varint, field
query = b"zebra " * ((1 << 20) // 6 + 1)
search = field(1, 2, varint(len(query)) + query)
req = field(1, 0, varint(7)) + field(2, 0, varint(1)) + field(10, 2, varint(len(search)) + search)
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
try:  # the daemon may answer and close before taking the whole frame
    s.sendall(struct.pack(">I", len(req)) + req)
except (BrokenPipeError, ConnectionResetError):
    pass
data = b""
while True:
    try:
        chunk = s.recv(65536)
    except ConnectionResetError:
        break
    if not chunk:
        break
    data += chunk
assert len(data) >= 4, "no answer to a 1 MiB query"
n = struct.unpack(">I", data[:4])[0]
body = data[4:4 + n]
# an Error response: Response.error is field 15, length-delimited
assert body.find(bytes([15 << 3 | 2])) >= 0, "not an error response: %r" % body[:80]
print("1 MiB query: %r" % body[:120], file=sys.stderr)
PYEOF
	run xihu search -l zebra
	expect_eq "still serving: exit" "$RC" 0
	expect_eq "still serving" "$OUT" "$T/tree/zebra.txt"
	# bounded memory: checked in the plain build (a sanitizer's shadow memory
	# and quarantine are not the daemon's).  Measured with 1,024 terms allowed:
	# RssAnon 9.7 MB after these queries, peak 93 MB (the mapped index and the
	# 7.7 MB file's text included); before iter.c gave the memory of a big plan
	# back, the 1,024 prefixes left 57 MB in a worker's malloc arena, 105 MB
	# after the second
	if ! grep -q -e libasan -e libubsan "/proc/$DPID/maps"; then
		anon=$(awk '/^RssAnon/ {print $2}' "/proc/$DPID/status")
		peak=$(awk '/^VmHWM/ {print $2}' "/proc/$DPID/status")
		echo "xihud after hostile queries: RssAnon ${anon} kB, peak RSS (VmHWM) ${peak} kB" >&2
		[ "$anon" -lt 40960 ] || fail "xihud RssAnon ${anon} kB after hostile queries"
		[ "$peak" -lt 196608 ] || fail "xihud peak RSS ${peak} kB during hostile queries"
	fi
	;;
skip_rules)
	mkdir -p "$TREE/build" "$TREE/keep" "$TREE/.git" # a git work tree: its .gitignore counts
	printf 'build/\n*.log\n!important.log\n' >"$TREE/.gitignore"
	printf 'walrus in build\n' >"$TREE/build/out.txt"
	printf 'walrus in a log\n' >"$TREE/debug.log"
	printf 'walrus important\n' >"$TREE/important.log"
	printf 'walrus\0binary\n' >"$TREE/keep/blob.bin"
	printf 'walrus compressed\n' | gzip >"$TREE/keep/notes.txt.gz"
	ln -s /etc "$TREE/keep/etc-link"
	printf 'walrus big %s\n' "$(head -c 3000 /dev/zero | tr '\0' 'x')" >"$TREE/keep/big.txt"
	"$XIHU_INDEX_BIN" --quiet --index "$IX" --max-file-size 2K "$TREE" || fail "xihu-index"
	start_daemon
	cd "$TREE" || fail cd
	run xihu search -l walrus
	expect_eq "only what the rules keep" "$(sort <<<"$OUT")" "$(printf 'important.log\nkeep/notes.txt.gz')"
	run xihu search --vimgrep compressed
	expect_eq "gz text" "$OUT" "keep/notes.txt.gz:1:8:walrus compressed"
	;;
gitignore_outside_git)
	# an unpacked tarball (Debian's linux-source-6.1 is one): its top
	# .gitignore ignores everything, but outside a git work tree it does
	# not count, as with ripgrep; .ignore does
	mkdir -p "$TREE/kernel" "$TREE/debian"
	printf '/*\n!/debian/\n' >"$TREE/.gitignore"
	printf '*.tmp\n' >"$TREE/.ignore"
	printf 'numbat sched\n' >"$TREE/kernel/sched.c"
	printf 'numbat rules\n' >"$TREE/debian/rules"
	printf 'numbat scratch\n' >"$TREE/kernel/x.tmp"
	run "$XIHU_INDEX_BIN" --index "$IX" "$TREE"
	expect_eq "tarball: exit" "$RC" 0
	expect_eq "tarball: stderr" "$ERR" ""
	start_daemon --no-sync
	cd "$TREE" || fail cd
	run xihu search -l numbat
	expect_eq "tarball: every file but the .ignore'd one" "$(sort <<<"$OUT")" "$(printf 'debian/rules\nkernel/sched.c')"
	# made a git work tree, the same .gitignore applies (and ignores itself)
	git init -q "$TREE" || fail "git init"
	run "$XIHU_INDEX_BIN" --index "$IX" "$TREE"
	expect_eq "git work tree: exit" "$RC" 0
	start_daemon --no-sync # the new commit, at once
	run xihu search -l numbat
	expect_eq "git work tree: the .gitignore applies" "$OUT" "debian/rules"
	# a rule that leaves nothing: one line naming the rule file and the flag
	printf '*\n' >"$TREE/.gitignore"
	run "$XIHU_INDEX_BIN" --index "$IX" "$TREE"
	expect_eq "all ignored: exit" "$RC" 0
	expect_eq "all ignored: the one line" "$ERR" \
		"xihu-index: $TREE: every file in it is ignored (4 entries, the first by $TREE/.gitignore); --no-ignore indexes them"
	[[ "$OUT" == "$IX: 0 docs "* ]] || fail "all ignored: summary [$OUT]"
	;;
reload)
	# commits by xihu-index, picked up without a restart (live sync off, so
	# every commit here is xihu-index's)
	make_tree
	index "$TREE"
	start_daemon --no-sync
	run xihu search -l platypus
	expect_eq "before" "$RC" 1
	printf 'a platypus appears\n' >"$TREE/new.txt"
	index "$TREE"
	found=1
	for _ in $(seq 50); do
		run xihu search -l platypus
		[ "$RC" -eq 0 ] && { found=0; break; }
		sleep 0.1
	done
	expect_eq "new commit served without restart" "$found" 0
	expect_eq "doc" "$OUT" "$TREE/new.txt"
	rm "$TREE/new.txt"
	index "$TREE"
	for _ in $(seq 50); do
		run xihu search -l platypus
		[ "$RC" -eq 1 ] && break
		sleep 0.1
	done
	expect_eq "deleted file gone" "$RC" 1
	;;
records)
	mkdir -p "$T"
	printf '%s\n' '{"id":"r1","title":"Quokka facts","body":"small marsupial"}' \
		'{"id":"r2","title":"Other","body":"the quokka smiles","n":3,"tags":["a"]}' >"$T/recs.jsonl"
	"$XIHU_INDEX_BIN" --quiet --index "$IX" --jsonl "$T/recs.jsonl" || fail "xihu-index --jsonl"
	start_daemon
	run xihu search -l quokka
	expect_eq "records" "$(sort <<<"$OUT")" "$(printf 'r1\nr2')"
	# xihu grep reads files: an index of records only says so (exit 2)
	run xihu grep quokka
	expect_eq "grep, records only: exit" "$RC" 2
	[[ "$ERR" == *"holds JSON Lines records only"* && "$ERR" != *$'\n'* ]] || fail "grep, records only: [$ERR]"
	printf '%s\n' '{"id":"ok"}' '{"id": 5}' >"$T/bad.jsonl"
	run "$XIHU_INDEX_BIN" --quiet --index "$T/ix2" --jsonl "$T/bad.jsonl"
	expect_eq "bad record exit" "$RC" 2
	[[ "$ERR" == *bad.jsonl:\ line\ 2,\ column\ 8* ]] || fail "bad record error [$ERR]"
	;;
html)
	# .html/.htm files: their text is indexed and shown, their markup is not;
	# lines stay the file's lines (docs/QUERY.md, "HTML files")
	mkdir -p "$TREE"
	printf '%s\n' '<!DOCTYPE html>' '<html><head><title>Page</title>' \
		'<style>.gnu { color: red }</style></head>' \
		'<body><div class="zebra" id="okapi">' \
		'<p>Fish &amp; chips, caf&eacute;</p><p>lemur<br>tapir</p>' \
		'<script>var wombat = 1;</script>' \
		'<!-- hidden narwhal -->' \
		'<a href="x.html">ibex</a>' \
		'<img src="a.png"' \
		'alt="yak">quokka here' \
		'</div></body></html>' >"$TREE/page.html"
	printf '<P CLASS=numbat>dingo &lt;3</P>\n' >"$TREE/OLD.HTM"
	printf '<b>quoll</b> &amp; kiwi\n' >"$TREE/notes.md"
	index "$TREE"
	start_daemon
	cd "$TREE" || fail cd
	run xihu search --vimgrep chips
	expect_eq "text, entities decoded, its line" "$OUT" "page.html:5:8:Fish & chips, café lemur tapir"
	run xihu search --json chips
	printf '%s\n' "$OUT" | $PY -c '
import json, sys
hit = json.loads(sys.stdin.readline())
assert hit["doc"] == "page.html", hit
assert hit["lines"] == [{"line": 5, "col": 8, "text": "Fish & chips, café lemur tapir", "spans": [[7, 12]]}], hit
' || fail "json: $OUT"
	run xihu search --vimgrep quokka
	expect_eq "after a tag over two lines" "$OUT" "page.html:10:1:quokka here"
	for w in zebra okapi div class href yak wombat narwhal gnu color numbat; do
		run xihu search -l "$w"
		expect_eq "markup word $w: exit" "$RC" 1
	done
	run xihu search -l tapir ibex café
	expect_eq "words beside <br> and <a>" "$OUT" "page.html"
	run xihu search -l lemurtapir
	expect_eq "<br> separates" "$RC" 1
	run xihu search --vimgrep dingo
	expect_eq ".HTM in capitals" "$OUT" "OLD.HTM:1:1:dingo <3"
	run xihu search --vimgrep quoll
	expect_eq "Markdown stays as written" "$OUT" "notes.md:1:4:<b>quoll</b> &amp; kiwi"
	;;
status_stop)
	make_tree
	index "$TREE"
	start_daemon
	xihu search zebra >/dev/null
	run xihu status
	expect_eq "status exit" "$RC" 0
	[[ "$OUT" == *"$IX"* ]] || fail "status lacks the index path: $OUT"
	grep -qiE 'documents:? +6' <<<"$OUT" || fail "status lacks 6 documents: $OUT"
	run xihu stop
	expect_eq "stop exit" "$RC" 0
	wait "$DPID"
	expect_eq "daemon exit status" "$?" 0
	DPID=
	[ -e "$SOCK" ] && fail "socket left behind"
	run xihu search --no-autostart zebra
	expect_eq "after stop" "$RC" 2
	;;
*)
	fail "unknown case"
	;;
esac
exit 0
