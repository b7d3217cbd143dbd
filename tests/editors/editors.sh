#!/usr/bin/env bash
# tests/editors/editors.sh CASE: the editor integrations of editors/ against
# a real daemon.  Builds a small tree whose words stand at known lines and
# columns (one after a tab, one after UTF-8 letters), with a project (a
# directory with a .git) inside it for the exact searches, indexes it with
# xihu-index, serves it with xihud, and runs an editor headless in the tree:
#   vim       Vim 9 with plugin/xihu.vim (tests/editors/vim_test.vim)
#   nvim      Neovim with the same Vim script
#   nvim_lua  Neovim's lua/xihu: search, query and the picker, typed into
#             key by key (nvim_test.lua)
#   emacs     xihu.el: xihu-search, xihu-grep, next-error and the xref
#             backend (emacs_test.el)
# The editor writes what it got into $XIHU_TEST_OUT/*.txt; this script
# compares, with what xihu search and xihu grep print themselves.
# Binaries come from XIHU_INDEX_BIN, XIHUD_BIN, XIHU_BIN; the plugins from
# XIHU_EDITORS_DIR.
set -u
CASE=$1
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d /tmp/xihu-editors.XXXXXX)
TREE=$T/tree
RES=$T/out
SOCK=$T/run/xihud.sock
. "$HERE/../e2e/lib.sh"

export XIHU_SOCKET=$SOCK XIHU_NO_AUTOSTART=1 NO_COLOR=1 XIHU_TEST_OUT=$RES HOME=$T/home
export XDG_CONFIG_HOME=$T/home/.config XDG_DATA_HOME=$T/home/.local/share
export XDG_STATE_HOME=$T/home/.local/state XDG_CACHE_HOME=$T/home/.cache
unset XDG_RUNTIME_DIR XIHU_INDEX
mkdir -p "$TREE/src" "$TREE/docs" "$RES" "$HOME"

# need PROGRAM: the editor must be there (scripts/deps.sh installs it)
need() {
	command -v "$1" >/dev/null ||
		fail "$1 is not installed: the editors suite needs vim, neovim and emacs-nox (scripts/deps.sh)"
}
# expect_file NAME WANT: $RES/NAME holds exactly WANT (plus a final newline)
expect_file() {
	[ -f "$RES/$1" ] || fail "$CASE wrote no $1 (the editor said: $(cat "$T/editor.log"))"
	expect_eq "$1" "$(cat "$RES/$1")" "$2"
}
# expect_sorted NAME WANT: the same lines as WANT, in any order
expect_sorted() {
	[ -f "$RES/$1" ] || fail "$CASE wrote no $1 (the editor said: $(cat "$T/editor.log"))"
	expect_eq "$1 (sorted)" "$(LC_ALL=C sort "$RES/$1")" "$2"
}

printf 'int main(void)\n{\n\treturn kangaroo_count();\n}\n' >"$TREE/src/main.c"
printf 'the kangaroo jumps\nno marsupial here\n  a kangaroo again\n' >"$TREE/docs/notes.txt"
printf 'wombat and kangaroo\n' >"$TREE/docs/zoo.md"
printf 'h\303\251llo w\303\266rld\tkangaroo\n' >"$TREE/docs/utf8.txt"
# A project (proj/, with its .git) inside the indexed tree, for the exact
# searches: 150 files with spin_lock in proj/drivers/ (more than any old
# cap of 100 files), one more in proj/include/, and one outside the
# project, in other/, that a search from proj/ must not list.  koala is in
# one file in and one out of it, for the word search's project filter.
mkdir -p "$TREE/proj/.git" "$TREE/proj/drivers" "$TREE/proj/include" "$TREE/other"
for i in $(seq -w 0 149); do
	printf 'static void dev%s_open(struct dev *dev)\n{\n\tspin_lock(&dev->lock);\n}\n' "$i" \
		>"$TREE/proj/drivers/dev$i.c"
done
printf '/* koala */\n#define LOCK(d) spin_lock(&(d)->lock)\n' >"$TREE/proj/include/lock.h"
printf 'void f(void) { spin_lock(&other->lock); } /* koala */\n' >"$TREE/other/spin.c"
"$XIHU_INDEX_BIN" --quiet --index "$T/idx" "$TREE" || fail "xihu-index exited $?"
serve "$T/idx"
cd "$TREE" || fail "cd $TREE"

# What xihu itself answers, in rank order: the plugins must show the same.
TAB=$'\t'
WANT_KANGAROO="docs/notes.txt:1:5:the kangaroo jumps
docs/notes.txt:3:5:  a kangaroo again
docs/utf8.txt:1:15:héllo wörld${TAB}kangaroo
docs/zoo.md:1:12:wombat and kangaroo
src/main.c:3:9:${TAB}return kangaroo_count();"
run "$XIHU_BIN" search --vimgrep -n 100 -- kangaroo
expect_eq "xihu search kangaroo (sorted)" "$(LC_ALL=C sort <<<"$OUT")" "$WANT_KANGAROO"
RANKED=$OUT
run "$XIHU_BIN" search --vimgrep -- '"unclosed'
expect_eq "xihu search \"unclosed: exit" "$RC" 2
BAD_QUERY_ERR=$ERR
[[ $BAD_QUERY_ERR == "xihu: "* ]] || fail "xihu's error is not one xihu: line: [$BAD_QUERY_ERR]"

# What xihu grep answers in the project's root, its paths made relative to
# the tree's top (as the tests write them): every match, none from other/.
in_proj() {
	cd "$TREE/proj" || fail "cd $TREE/proj"
	run "$XIHU_BIN" grep --vimgrep "$@"
	cd "$TREE" || fail "cd $TREE"
	OUT=$(sed 's,^,proj/,' <<<"$OUT")
}
in_proj -e spin_lock
expect_eq "xihu grep spin_lock in proj: exit" "$RC" 0
expect_eq "xihu grep spin_lock in proj: lines" "$(wc -l <<<"$OUT")" 151
expect_eq "xihu grep spin_lock in proj: outside it" "$(grep -c -v '^proj/' <<<"$OUT")" 0
GREP_SPIN=$OUT
in_proj -i -g '*.h' -e lock
GREP_FLAGS=$OUT
[ "$RC" = 0 ] && [ -n "$GREP_FLAGS" ] || fail "xihu grep -i -g '*.h' lock: exit $RC"
in_proj -e '(unclosed'
expect_eq "xihu grep (unclosed: exit" "$RC" 2
GREP_BAD_ERR=$ERR
[[ $GREP_BAD_ERR == "xihu: "* ]] || fail "xihu grep's error is not one xihu: line: [$GREP_BAD_ERR]"

vim_expectations() {
	expect_file async.txt "$RANKED"
	expect_sorted async.txt "$WANT_KANGAROO"
	expect_file async_title.txt "xihu: kangaroo"
	expect_file sync.txt "docs/zoo.md:1:1:wombat and kangaroo"
	expect_file word.txt "src/main.c:3:9:${TAB}return kangaroo_count();"
	expect_file word_title.txt 'xihu: "kangaroo_count"'
	expect_file nomatch.txt "0"
	expect_file nomatch_msg.txt "xihu: no match for nothingness"
	# a failed search leaves the list it found and shows xihu's line
	expect_file error.txt "$RANKED"
	expect_file error_msg.txt "$BAD_QUERY_ERR"
	# the first search to finish after the second started is the second
	expect_file replaced.txt "$RANKED"
	expect_file done.txt "7"
	expect_file missing.txt "xihu: $RES/no-such-xihu: command not found (set g:xihu_command)
8
$RANKED"
	# :XihuGrep from proj/drivers lists all of proj/, with no cap
	expect_file grep.txt "$GREP_SPIN"
	expect_file grep_title.txt "xihu grep: spin_lock"
	expect_file grep_file.txt "$GREP_SPIN"
	expect_file grep_flags.txt "$GREP_FLAGS"
	expect_file grep_error.txt "$GREP_FLAGS"
	expect_file grep_error_msg.txt "$GREP_BAD_ERR"
	expect_file grep_nomatch.txt "0
xihu: no match for nothingness"
	expect_file grep_usage.txt "xihu: :XihuGrep lists matching lines; -l is not for it
14"
	expect_file koala.txt "proj/include/lock.h:1:4:/* koala */"
	expect_file more.txt "100
xihu: showing 100 of 151 files (g:xihu_max_results)"
}

case "$CASE" in
vim)
	need vim
	# the help file makes its tags (:help xihu) without a complaint
	cp -r "$XIHU_EDITORS_DIR/vim/doc" "$T/doc"
	vim -Nu NONE -i NONE -n -es -c "helptags $T/doc" -c 'qa!' >"$T/editor.log" 2>&1 ||
		fail "helptags failed: $(cat "$T/editor.log")"
	for tag in xihu :Xihu :XihuWord :XihuGrep xihu-root g:xihu_command g:xihu_max_results \
		g:xihu_socket 'xihu-lua' 'xihu.grep()' 'xihu-picker'; do
		grep -q "^$tag	" "$T/doc/tags" || fail "doc/xihu.txt has no tag $tag"
	done
	timeout 30 vim -Nu NONE -i NONE -n -es --cmd "set rtp^=$XIHU_EDITORS_DIR/vim" \
		-S "$HERE/vim_test.vim" >"$T/editor.log" 2>&1
	vim_expectations
	;;
nvim)
	need nvim
	timeout 30 nvim --headless -u NONE -i NONE -n --cmd "set rtp^=$XIHU_EDITORS_DIR/vim" \
		-S "$HERE/vim_test.vim" >"$T/editor.log" 2>&1
	vim_expectations
	;;
nvim_lua)
	need nvim
	# picker_grep TEXT: the picker's list for TEXT, from xihu grep in proj/
	picker_grep() {
		cd "$TREE/proj" || fail "cd $TREE/proj"
		run env XIHU_SOCKET="$SOCK" "$XIHU_BIN" grep --vimgrep -F -S -- "$1"
		cd "$TREE" || fail "cd $TREE"
		[ "$RC" = 0 ] || fail "xihu grep -F -S -- $1: exit $RC: $ERR"
		OUT=$(sed -E 's/^([^:]*:[0-9]+:[0-9]+:)[[:space:]]*/\1 /' <<<"$OUT")
	}
	# the socket comes from setup{socket=...}, not from the environment
	unset XIHU_SOCKET
	export XIHU_TEST_SOCKET=$SOCK
	timeout 30 nvim --headless -u NONE -i NONE -n --cmd "set rtp^=$XIHU_EDITORS_DIR/vim" \
		-c "luafile $HERE/nvim_test.lua" >"$T/editor.log" 2>&1
	expect_file search.txt "$RANKED"
	expect_sorted search.txt "$WANT_KANGAROO"
	expect_file search_title.txt "xihu: kangaroo"
	expect_file error.txt "$RANKED"
	expect_file error_msg.txt "false $BAD_QUERY_ERR"
	expect_file query.txt "$RANKED"
	expect_file query_nomatch.txt "0"
	expect_file query_error.txt "$BAD_QUERY_ERR"
	expect_file search_koala.txt "proj/include/lock.h:1:4:/* koala */"
	expect_file more.txt "100 xihu: showing 100 of 151 files (max_results)"
	# (the summary's total may be a lower bound, said as "at least")
	[ -f "$RES/query_more.txt" ] && sed -i 's/ of at least / of /' "$RES/query_more.txt"
	expect_file query_more.txt "100 xihu: showing 100 of 151 files (max_results)"
	[ -f "$RES/lua_error.txt" ] && fail "nvim_test.lua failed: $(cat "$RES/lua_error.txt")"
	# the picker, typed into key by key from proj/drivers: at each key it
	# lists what xihu grep -F -S finds in proj/, paths from there, the
	# text trimmed, and says how many matched; still in Insert mode
	steps=
	for text in s sp spi spin spin_ spin_l spin_lo; do
		picker_grep "$text"
		n=$(wc -l <<<"$OUT")
		want="$n matches"
		[ "$n" -gt 1000 ] && want="$want, first 1000 listed"
		steps+="$text [i] $want"$'\n'
		[ "$text" = spin_l ] && spin_l=$OUT
	done
	expect_file picker_steps.txt "${steps%$'\n'}"
	expect_file picker_spin_l.txt "$spin_l"
	expect_file picker_spin_lo.txt "$OUT"
	grep -q '^drivers/dev000.c:3:2: spin_lock(&dev->lock);$' "$RES/picker_spin_lo.txt" ||
		fail "the picker does not list drivers/dev000.c's spin_lock line at spin_lo"
	# cut at 100 lines, and saying so
	expect_file picker_cut.txt "151 matches, first 100 listed
100
$(sed -n 100p <<<"$spin_l")"
	# <CR> opens the third line at its line and (0-based) column
	IFS=: read -r path line col _ <<<"$(sed -n 3p <<<"$spin_l")"
	expect_file picker_open.txt "proj/$path $line $((col - 1)) 1"
	# two greps, the first replaced: one list, the second's
	picker_grep LOCK
	expect_file picker_replaced.txt "1 2 1 match
$OUT"
	;;
emacs)
	need emacs
	# xihu.el compiles without a warning
	cp "$XIHU_EDITORS_DIR/emacs/xihu.el" "$T/xihu.el"
	emacs --batch -Q --eval '(setq byte-compile-error-on-warn t)' \
		-f batch-byte-compile "$T/xihu.el" >"$T/editor.log" 2>&1 ||
		fail "xihu.el does not compile cleanly: $(cat "$T/editor.log")"
	timeout 30 emacs --batch -Q -L "$XIHU_EDITORS_DIR/emacs" -l xihu \
		-l "$HERE/emacs_test.el" >"$T/editor.log" 2>&1
	# Emacs columns count characters from 0: é and ö are one each, the
	# tab one; xihu's are bytes from 1
	want_emacs="docs/notes.txt:1:4:the kangaroo jumps
docs/notes.txt:3:4:  a kangaroo again
docs/utf8.txt:1:12:héllo wörld${TAB}kangaroo
docs/zoo.md:1:11:wombat and kangaroo
src/main.c:3:8:${TAB}return kangaroo_count();"
	emacs_ranked=$(sed 's/^docs\/utf8.txt:1:15:/docs\/utf8.txt:1:13:/' <<<"$RANKED" |
		awk -F: -v OFS=: '{ $3 = $3 - 1; print }')
	expect_file visited.txt "$(cut -d: -f1-3 <<<"$emacs_ranked")"
	expect_sorted visited.txt "$(cut -d: -f1-3 <<<"$want_emacs")"
	expect_file references.txt "$emacs_ranked"
	expect_sorted references.txt "$want_emacs"
	expect_file definitions.txt "src/main.c:3:8:${TAB}return kangaroo_count();"
	# apropos takes a query as it is
	expect_sorted apropos.txt "docs/notes.txt:2:3:no marsupial here
docs/zoo.md:1:0:wombat and kangaroo"
	expect_file identifier.txt "xihu kangaroo_count"
	expect_file nomatch.txt "nil"
	expect_file error_msg.txt "$BAD_QUERY_ERR"
	expect_file search_error.txt "$BAD_QUERY_ERR
exited abnormally with code 2"
	# xihu-grep from proj/drivers lists all of proj/, with no cap, in xihu's
	# order; the buffer's directory is the root; next-error visits the first
	expect_file grep.txt "$GREP_SPIN"
	expect_file grep_dir.txt "proj/"
	IFS=: read -r path line col _ <<<"$GREP_SPIN"
	expect_file grep_visit.txt "$path:$line:$((col - 1))"
	expect_file grep_flags.txt "$GREP_FLAGS"
	expect_file grep_error_msg.txt "$GREP_BAD_ERR"
	expect_file grep_usage.txt "xihu: xihu-grep lists matching lines; -l is not for it"
	expect_file koala.txt "proj/include/lock.h:1:4:/* koala */"
	expect_file koala_xref.txt "proj/include/lock.h:1:3:/* koala */"
	expect_file more.txt "100 xihu: showing 100 of 151 files (xihu-max-results)"
	expect_file more_xref.txt "100 xihu: showing 100 of 151 files (xihu-max-results)"
	;;
*)
	fail "unknown case $CASE"
	;;
esac
exit 0
