#!/usr/bin/env bash
# tests/e2e/analysis.sh CASE: text analysis end to end.  Builds real indexes
# with xihu-index (with and without --stem, --stopwords), serves them with a
# real xihud on a temporary socket and checks what the real xihu client
# finds and highlights: CJK bigrams, camelCase and snake_case identifiers,
# stemming, stopwords, and the settings kept in the index.
# Binaries come from the environment: XIHU_INDEX_BIN, XIHUD_BIN, XIHU_BIN.
set -u
CASE=$1
T=$(mktemp -d /tmp/xihu-analysis.XXXXXX)
TREE=$T/tree
IX=$T/index
SOCK=$T/run/xihud.sock
export XIHU_SOCKET=$SOCK NO_COLOR=1
unset XDG_RUNTIME_DIR XDG_DATA_HOME XIHU_INDEX
PY=/usr/bin/python3
. "$(dirname "$0")/lib.sh"

# index DIR ARGS...: xihu-index --index DIR ARGS...
index() { local d=$1; shift; "$XIHU_INDEX_BIN" --quiet --index "$d" "$@" || fail "xihu-index $* exited $?"; }
# start_daemon DIR: xihud serving DIR (one at a time)
start_daemon() { serve "$1"; }
# found QUERY: the documents answering QUERY, sorted, on one line
found() { run xihu search -l -n 100 "$1"; sort <<<"$OUT" | tr '\n' ' ' | sed 's/ $//'; }
# spans QUERY DOC: the highlighted text of DOC's lines for QUERY, '|' between
spans() {
	run xihu search --json -n 100 "$1"
	printf '%s\n' "$OUT" | $PY -c '
import json, sys
doc = sys.argv[1]
for l in sys.stdin:
    h = json.loads(l)
    if h.get("doc") != doc:
        continue
    b = [ln["text"].encode() for ln in h["lines"]]
    print("|".join(t[s:e].decode() for ln, t in zip(h["lines"], b) for s, e in ln["spans"]))
' "$2"
}
put() { mkdir -p "$(dirname "$1")" && printf '%s\n' "$2" >"$1"; }

case "$CASE" in
cjk)
	put "$TREE/zh.txt" "我们使用Linux内核开发中文搜索引擎，效果很好。"
	put "$TREE/zh-apart.txt" "中。文 文中 搜 索 引 擎 内，核"
	put "$TREE/ja.txt" "東京でひらがなとカタカナの検索エンジンを作りました。"
	put "$TREE/ja-apart.txt" "検 索 エ ン ジ ン、ひら。がな"
	index "$IX" "$TREE"
	start_daemon "$IX"
	cd "$TREE" || fail cd
	expect_eq "two characters inside a sentence" "$(found 中文)" "zh.txt"
	expect_eq "a four-character word" "$(found 搜索引擎)" "zh.txt"
	expect_eq "characters apart do not match" "$(found 内核)" "zh.txt"
	expect_eq "mixed scripts split where the script changes" "$(found 使用Linux内核)" "zh.txt"
	expect_eq "Latin inside CJK text" "$(found linux)" "zh.txt"
	expect_eq "katakana and kanji" "$(found 検索エンジン)" "ja.txt"
	expect_eq "hiragana" "$(found ひらがな)" "ja.txt"
	expect_eq "across kana and kanji" "$(found カタカナの検索)" "ja.txt"
	expect_eq "two CJK words" "$(found '中文 搜索')" "zh.txt"
	run xihu search -l 中文字幕
	expect_eq "a word the text does not have" "$RC" 1
	# highlighted: the characters matched, as written
	expect_eq "highlight of a CJK word" "$(spans 搜索引擎 zh.txt)" "搜索引擎"
	expect_eq "highlight of kana and kanji" "$(spans 検索エンジン ja.txt)" "検索エンジン"
	run xihu search --vimgrep 搜索引擎
	expect_eq "byte column of a CJK match" "$OUT" "zh.txt:1:36:我们使用Linux内核开发中文搜索引擎，效果很好。"
	;;
identifiers)
	put "$TREE/camel.c" "int parseHttpRequest(struct conn *c);"
	put "$TREE/snake.h" "#define MAX_FRAME_SIZE 4096"
	put "$TREE/apart.txt" "request the http parse; size of a frame at max"
	index "$IX" "$TREE"
	start_daemon "$IX"
	cd "$TREE" || fail cd
	for w in parse http request; do
		expect_eq "camelCase part $w" "$(found "$w")" "apart.txt camel.c"
	done
	expect_eq "camelCase whole, lower case" "$(found parsehttprequest)" "camel.c"
	expect_eq "camelCase whole, as written" "$(found parseHttpRequest)" "camel.c"
	expect_eq "camelCase parts as a phrase" "$(found '"parse http request"')" "camel.c"
	for w in max frame size; do
		expect_eq "snake_case part $w" "$(found "$w")" "apart.txt snake.h"
	done
	expect_eq "snake_case whole" "$(found max_frame_size)" "snake.h"
	expect_eq "snake_case whole, as written" "$(found MAX_FRAME_SIZE)" "snake.h"
	expect_eq "camelCase prefix" "$(found 'parseHttp*')" "camel.c"
	# highlights: the identifier for its whole, the part for a part
	expect_eq "highlight of a whole" "$(spans parseHttpRequest camel.c)" "parseHttpRequest"
	expect_eq "highlight of a part" "$(spans http camel.c)" "Http"
	expect_eq "highlight of a snake_case whole" "$(spans max_frame_size snake.h)" "MAX_FRAME_SIZE"
	;;
stemming)
	put "$TREE/runs.txt" "the dog runs every morning"
	put "$TREE/other.txt" "a quiet afternoon"
	index "$T/plain" "$TREE"
	index "$T/stem" --stem english "$TREE"
	cd "$TREE" || fail cd
	start_daemon "$T/plain"
	run xihu search -l running
	expect_eq "no stemming by default" "$RC" 1
	start_daemon "$T/stem"
	expect_eq "stemmed: running finds runs" "$(found running)" "runs.txt"
	expect_eq "stemmed: the word itself" "$(found runs)" "runs.txt"
	expect_eq "highlight of a stemmed match: the word as written" "$(spans running runs.txt)" "runs"
	# a prefix is not stemmed: it runs over the stemmed terms (runs is run)
	expect_eq "a prefix of the stem" "$(found 'ru*')" "runs.txt"
	run xihu search -l 'runs*'
	expect_eq "a prefix is not stemmed" "$RC" 1
	;;
stopwords)
	printf 'the\nof\n# a comment\nA\n' >"$T/stop.txt"
	put "$TREE/war.txt" "The art of war"
	put "$TREE/artwar.txt" "art war"
	index "$IX" --stopwords "$T/stop.txt" "$TREE"
	start_daemon "$IX"
	cd "$TREE" || fail cd
	run xihu search -l the
	expect_eq "a query of stopwords: exit" "$RC" 2
	[[ "$ERR" == *"only stopwords"* ]] || fail "a query of stopwords: error [$ERR]"
	expect_eq "a stopword is dropped from a query" "$(found 'the art')" "artwar.txt war.txt"
	# "of" keeps its position: art and war are not next to each other in war.txt
	expect_eq "a phrase across a removed stopword does not close the gap" \
		"$(found '"art war"')" "artwar.txt"
	expect_eq "highlight skips the stopword" "$(spans 'art war' war.txt)" "art|war"
	# and a phrase with a stopword inside finds it where any word stands between
	expect_eq "a phrase across a stopword" "$(found '"art of war"')" "war.txt"
	expect_eq "a phrase across a stopword, highlighted" "$(spans '"art the war"' war.txt)" "art|war"
	;;
settings_kept)
	printf 'the\n' >"$T/stop.txt"
	printf 'the\nof\n' >"$T/stop2.txt"
	put "$TREE/a.txt" "the dog runs"
	index "$IX" --stem english --stopwords "$T/stop.txt" "$TREE"
	run "$XIHU_INDEX_BIN" --quiet --index "$IX" --stem french "$TREE"
	expect_eq "another --stem: exit" "$RC" 2
	expect_eq "another --stem: one line" "$(wc -l <<<"$ERR")" 1
	[[ "$ERR" == "xihu-index: $IX: created with --stem english; this run asks for --stem french"* ]] ||
		fail "another --stem: error [$ERR]"
	run "$XIHU_INDEX_BIN" --quiet --index "$IX" --stem none "$TREE"
	[[ "$RC" == 2 && "$ERR" == *"created with --stem english"* ]] || fail "--stem none: $RC [$ERR]"
	run "$XIHU_INDEX_BIN" --quiet --index "$IX" --stopwords "$T/stop2.txt" "$TREE"
	[[ "$RC" == 2 && "$ERR" == *"created with --stopwords"* ]] || fail "other stopwords: $RC [$ERR]"
	run "$XIHU_INDEX_BIN" --quiet --index "$IX" --fold-diacritics "$TREE"
	[[ "$RC" == 2 && "$ERR" == *"created without --fold-diacritics"* ]] || fail "--fold-diacritics: $RC [$ERR]"
	# the same settings, or none: the stored ones
	index "$IX" --stem english --stopwords "$T/stop.txt" "$TREE"
	put "$TREE/b.txt" "walking the cat"
	index "$IX" "$TREE"
	run "$XIHU_INDEX_BIN" --check --index "$IX"
	expect_eq "check: exit" "$RC" 0
	[[ "$OUT" == *"SETTINGS: ok (stem english, 1 stopwords, diacritics kept"* ]] || fail "check: [$OUT]"
	start_daemon "$IX"
	cd "$TREE" || fail cd
	expect_eq "the stored stemming, after a run without options" "$(found walk)" "b.txt"
	expect_eq "and on the first documents" "$(found running)" "a.txt"
	run xihu search -l the
	expect_eq "the stored stopwords" "$RC" 2
	# a new index with an unknown stemmer: refused, naming the known ones
	run "$XIHU_INDEX_BIN" --quiet --index "$T/other" --stem klingon "$TREE"
	[[ "$RC" == 2 && "$ERR" == *"--stem klingon: not a Snowball stemmer"*english* ]] ||
		fail "unknown stemmer: $RC [$ERR]"
	;;
*)
	fail "unknown case"
	;;
esac
exit 0
