#!/usr/bin/env bash
# tests/e2e/grep.sh CASE: `xihu grep` end to end -- a real xihud (live sync
# on) serving a real index of a small tree, asked by the real xihu.
#
#   grep_flags   every flag of xihu grep against the answer ripgrep 13 gives
#                on the same tree (check below: the expected text is rg's,
#                written here, so the test runs without rg; where rg 13 is
#                installed it is run too and must still agree with it), the
#                paths as typed (sub, sub/, ./sub, a file, an absolute path,
#                ..), a file changed after indexing, a bad regex (exit 2, one
#                line naming the column), a PATH that does not exist, a
#                directory outside the index (exit 2, naming the index's
#                trees), globs that leave no file (rg's "No files were
#                searched"), --json,
#                exit codes 0/1/2 and -q
#   grep_stream  an answer of 400,000 lines streams through: all of it
#                arrives, xihu's memory stays below the answer's size, and
#                `| head -1` ends it quietly with exit 0
#   grep_big_file  a file over xihu-index --max-file-size (not in the index,
#                read by exact search whatever the pattern, unless its blocks'
#                trigram filters rule the pattern out): every line rg finds
#                in it, at its start, middle and end, and none where there are none
#   grep_bad_input  an invalid regex (exit 2, its column), patterns that
#                backtrack catastrophically in PCRE2 (the match limit stops
#                them: a line naming the file and line, exit 2, and the
#                daemon goes on serving), (a+)+$ over a 1 MB line of a's, a
#                NUL byte in a pattern, a 1 MB pattern, a literal \n
#
# Binaries come from the environment: XIHU_INDEX_BIN, XIHUD_BIN, XIHU_BIN.
set -u
CASE=$1
T=$(mktemp -d /tmp/xihu-grep.XXXXXX)
TREE=$T/tree
IX=$T/index
SOCK=$T/run/xihud.sock
DEADLINE_MS=${SYNC_DEADLINE_MS:-1000}
export XIHU_SOCKET=$SOCK
unset XDG_RUNTIME_DIR XDG_DATA_HOME XIHU_INDEX NO_COLOR
. "$(dirname "$0")/lib.sh" || exit 1

put() { mkdir -p "$(dirname "$1")" && printf "$2" >"$1"; }
ms() { date +%s%3N; }
# rg 13 when it is installed (its output is what xihu grep must print)
RG=
if command -v rg >/dev/null && rg --version | grep -q '^ripgrep 13\.'; then
	RG=rg
fi

FAILED=0
# check DIR RC ARGS <<EXPECTED: in $TREE/DIR, `xihu grep ARGS` prints
# EXPECTED (through cat -v: colours show as ^[[...; @TREE@ stands for the
# tree) and exits RC, with nothing on stderr; rg --sort path ARGS, when rg 13
# is here, prints the same.  A difference is reported, and the case fails
# at its end (all of them are seen at once).
check() {
	local dir=$1 want_rc=$2 args=${3//@TREE@/$TREE} want got rc
	want=$(cat)
	want=${want//@TREE@/$TREE}
	(cd "$TREE/$dir" && eval "xihu grep $args" </dev/null >"$T/out" 2>"$T/err")
	rc=$?
	got=$(cat -v "$T/out")
	if [ "$got" != "$want" ] || [ "$rc" != "$want_rc" ] || [ -s "$T/err" ]; then
		echo "FAIL [$CASE]: (cd $dir && xihu grep $args): exit $rc (want $want_rc), stderr [$(cat "$T/err")]" >&2
		diff <(echo "$want") <(echo "$got") | sed 's/^/    /' >&2
		FAILED=$((FAILED + 1))
	fi
	if [ -n "$RG" ]; then
		(cd "$TREE/$dir" && eval "$RG --sort path $args" </dev/null >"$T/out" 2>/dev/null)
		rc=$?
		got=$(cat -v "$T/out")
		if [ "$got" != "$want" ] || [ "$rc" != "$want_rc" ]; then
			echo "FAIL [$CASE]: this test's answer for '$args' is not rg's (exit $rc):" >&2
			diff <(echo "$want") <(echo "$got") | sed 's/^/    /' >&2
			FAILED=$((FAILED + 1))
		fi
	fi
}
# within WHAT ARGS WANT: polls until `xihu grep ARGS` (in $TREE) prints WANT,
# at most DEADLINE_MS (live sync has to see the change)
within() {
	local t0 got
	t0=$(ms)
	while :; do
		got=$(cd "$TREE" && eval "xihu grep $2" </dev/null 2>&1)
		[ "$got" == "$3" ] && break
		if [ $(($(ms) - t0)) -gt "$DEADLINE_MS" ]; then
			fail "$1: after $DEADLINE_MS ms xihu grep $2 printed [$got], want [$3]"
		fi
		sleep 0.02
	done
}

case $CASE in
grep_flags)
	put "$TREE/a.txt" 'foo one\nbar\nbaz\nqux\nfoo two foo\nx\ny\nz\nw\nv\nfoo three\n'
	put "$TREE/sub/x.c" 'nothing\nfoo here\n'
	put "$TREE/sub/deep/y.md" 'Foo cap\nfoobar\n'
	put "$TREE/sub-a.txt" 'ab foo\nfoo\n'
	put "$TREE/words.txt" 'food fool\nfoo_bar\n(foo) [foo]\nFOO\n'
	put "$TREE/re.txt" 'abc123\nabc\n12 34\n'
	;;
grep_bad_input)
	put "$TREE/ok.txt" 'spin_lock(&dev->lock);\n'
	put "$TREE/trap.txt" 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\n'
	head -c 1000000 /dev/zero | tr '\0' a >"$TREE/as.txt"
	echo >>"$TREE/as.txt"
	;;
grep_big_file)
	mkdir -p "$TREE"
	# 3 MB: 100,000 lines "#define REG_NNNNNN_FIELD__SHIFT 0xHEX", far more than one 64 KiB block
	seq 0 99999 | awk '{ printf "#define REG_%06d_FIELD__SHIFT 0x%x\n", $1, $1 }' >"$TREE/big.h"
	put "$TREE/small.c" 'int reg;\n'
	INDEX_ARGS="--max-file-size 1M --verbose"
	;;
grep_stream)
	mkdir -p "$TREE"
	# 100 files of 4,000 lines: "needle NNNNN in file FFF of the tree" (40 bytes)
	for f in $(seq -w 1 100); do
		seq -f "needle %05g in file $f of the tree" 1 4000 >"$TREE/f$f.txt"
	done
	;;
*) fail "unknown case $CASE" ;;
esac
"$XIHU_INDEX_BIN" ${INDEX_ARGS:---quiet} --index "$IX" "$TREE" 2>"$T/index.err" || fail "xihu-index exited $?: $(cat "$T/index.err")"
serve "$IX"

case $CASE in
grep_flags)
	cd "$TREE" || fail "cd $TREE"
	check . 0 'foo' <<-'EOF'
	a.txt:foo one
	a.txt:foo two foo
	a.txt:foo three
	sub/deep/y.md:foobar
	sub/x.c:foo here
	sub-a.txt:ab foo
	sub-a.txt:foo
	words.txt:food fool
	words.txt:foo_bar
	words.txt:(foo) [foo]
	EOF
	check . 0 '-n foo' <<-'EOF'
	a.txt:1:foo one
	a.txt:5:foo two foo
	a.txt:11:foo three
	sub/deep/y.md:2:foobar
	sub/x.c:2:foo here
	sub-a.txt:1:ab foo
	sub-a.txt:2:foo
	words.txt:1:food fool
	words.txt:2:foo_bar
	words.txt:3:(foo) [foo]
	EOF
	check . 0 '--vimgrep foo' <<-'EOF'
	a.txt:1:1:foo one
	a.txt:5:1:foo two foo
	a.txt:5:9:foo two foo
	a.txt:11:1:foo three
	sub/deep/y.md:2:1:foobar
	sub/x.c:2:1:foo here
	sub-a.txt:1:4:ab foo
	sub-a.txt:2:1:foo
	words.txt:1:1:food fool
	words.txt:1:6:food fool
	words.txt:2:1:foo_bar
	words.txt:3:2:(foo) [foo]
	words.txt:3:8:(foo) [foo]
	EOF
	check . 0 '--column foo' <<-'EOF'
	a.txt:1:1:foo one
	a.txt:5:1:foo two foo
	a.txt:11:1:foo three
	sub/deep/y.md:2:1:foobar
	sub/x.c:2:1:foo here
	sub-a.txt:1:4:ab foo
	sub-a.txt:2:1:foo
	words.txt:1:1:food fool
	words.txt:2:1:foo_bar
	words.txt:3:2:(foo) [foo]
	EOF
	check . 0 '-c foo' <<-'EOF'
	a.txt:3
	sub/deep/y.md:1
	sub/x.c:1
	sub-a.txt:2
	words.txt:3
	EOF
	check . 0 '-l foo' <<-'EOF'
	a.txt
	sub/deep/y.md
	sub/x.c
	sub-a.txt
	words.txt
	EOF
	check . 0 '-C1 foo' <<-'EOF'
	a.txt:foo one
	a.txt-bar
	--
	a.txt-qux
	a.txt:foo two foo
	a.txt-x
	--
	a.txt-v
	a.txt:foo three
	--
	sub/deep/y.md-Foo cap
	sub/deep/y.md:foobar
	--
	sub/x.c-nothing
	sub/x.c:foo here
	--
	sub-a.txt:ab foo
	sub-a.txt:foo
	--
	words.txt:food fool
	words.txt:foo_bar
	words.txt:(foo) [foo]
	words.txt-FOO
	EOF
	check . 0 '-n -C1 foo' <<-'EOF'
	a.txt:1:foo one
	a.txt-2-bar
	--
	a.txt-4-qux
	a.txt:5:foo two foo
	a.txt-6-x
	--
	a.txt-10-v
	a.txt:11:foo three
	--
	sub/deep/y.md-1-Foo cap
	sub/deep/y.md:2:foobar
	--
	sub/x.c-1-nothing
	sub/x.c:2:foo here
	--
	sub-a.txt:1:ab foo
	sub-a.txt:2:foo
	--
	words.txt:1:food fool
	words.txt:2:foo_bar
	words.txt:3:(foo) [foo]
	words.txt-4-FOO
	EOF
	check . 0 '-A2 foo a.txt' <<-'EOF'
	foo one
	bar
	baz
	--
	foo two foo
	x
	y
	--
	foo three
	EOF
	check . 0 '-B1 -n foo a.txt' <<-'EOF'
	1:foo one
	--
	4-qux
	5:foo two foo
	--
	10-v
	11:foo three
	EOF
	check . 0 '-C3 -A1 -n foo a.txt' <<-'EOF'
	1:foo one
	2-bar
	--
	5:foo two foo
	6-x
	--
	11:foo three
	EOF
	check . 0 '-A1 -C3 -n foo a.txt' <<-'EOF'
	1:foo one
	2-bar
	3-baz
	4-qux
	5:foo two foo
	6-x
	7-y
	8-z
	9-w
	10-v
	11:foo three
	EOF
	check . 0 '-C0 foo' <<-'EOF'
	a.txt:foo one
	a.txt:foo two foo
	a.txt:foo three
	sub/deep/y.md:foobar
	sub/x.c:foo here
	sub-a.txt:ab foo
	sub-a.txt:foo
	words.txt:food fool
	words.txt:foo_bar
	words.txt:(foo) [foo]
	EOF
	check . 0 '-m1 foo' <<-'EOF'
	a.txt:foo one
	sub/deep/y.md:foobar
	sub/x.c:foo here
	sub-a.txt:ab foo
	words.txt:food fool
	EOF
	check . 0 '-m1 -A1 -n foo sub-a.txt' <<-'EOF'
	1:ab foo
	2:foo
	EOF
	check . 0 '-c -m2 foo' <<-'EOF'
	a.txt:2
	sub/deep/y.md:1
	sub/x.c:1
	sub-a.txt:2
	words.txt:2
	EOF
	check . 0 '-l -c foo' <<-'EOF'
	a.txt:3
	sub/deep/y.md:1
	sub/x.c:1
	sub-a.txt:2
	words.txt:3
	EOF
	check . 0 '--heading foo' <<-'EOF'
	a.txt
	foo one
	foo two foo
	foo three
	
	sub/deep/y.md
	foobar
	
	sub/x.c
	foo here
	
	sub-a.txt
	ab foo
	foo
	
	words.txt
	food fool
	foo_bar
	(foo) [foo]
	EOF
	check . 0 '--heading -n -C1 foo' <<-'EOF'
	a.txt
	1:foo one
	2-bar
	--
	4-qux
	5:foo two foo
	6-x
	--
	10-v
	11:foo three
	
	sub/deep/y.md
	1-Foo cap
	2:foobar
	
	sub/x.c
	1-nothing
	2:foo here
	
	sub-a.txt
	1:ab foo
	2:foo
	
	words.txt
	1:food fool
	2:foo_bar
	3:(foo) [foo]
	4-FOO
	EOF
	check . 0 '--no-heading --heading -n foo sub' <<-'EOF'
	sub/deep/y.md
	2:foobar
	
	sub/x.c
	2:foo here
	EOF
	check . 0 '--color=always foo' <<-'EOF'
	^[[0m^[[35ma.txt^[[0m:^[[0m^[[1m^[[31mfoo^[[0m one
	^[[0m^[[35ma.txt^[[0m:^[[0m^[[1m^[[31mfoo^[[0m two ^[[0m^[[1m^[[31mfoo^[[0m
	^[[0m^[[35ma.txt^[[0m:^[[0m^[[1m^[[31mfoo^[[0m three
	^[[0m^[[35msub/deep/y.md^[[0m:^[[0m^[[1m^[[31mfoo^[[0mbar
	^[[0m^[[35msub/x.c^[[0m:^[[0m^[[1m^[[31mfoo^[[0m here
	^[[0m^[[35msub-a.txt^[[0m:ab ^[[0m^[[1m^[[31mfoo^[[0m
	^[[0m^[[35msub-a.txt^[[0m:^[[0m^[[1m^[[31mfoo^[[0m
	^[[0m^[[35mwords.txt^[[0m:^[[0m^[[1m^[[31mfoo^[[0md ^[[0m^[[1m^[[31mfoo^[[0ml
	^[[0m^[[35mwords.txt^[[0m:^[[0m^[[1m^[[31mfoo^[[0m_bar
	^[[0m^[[35mwords.txt^[[0m:(^[[0m^[[1m^[[31mfoo^[[0m) [^[[0m^[[1m^[[31mfoo^[[0m]
	EOF
	check . 0 '--color=always --heading -n foo' <<-'EOF'
	^[[0m^[[35ma.txt^[[0m
	^[[0m^[[32m1^[[0m:^[[0m^[[1m^[[31mfoo^[[0m one
	^[[0m^[[32m5^[[0m:^[[0m^[[1m^[[31mfoo^[[0m two ^[[0m^[[1m^[[31mfoo^[[0m
	^[[0m^[[32m11^[[0m:^[[0m^[[1m^[[31mfoo^[[0m three
	
	^[[0m^[[35msub/deep/y.md^[[0m
	^[[0m^[[32m2^[[0m:^[[0m^[[1m^[[31mfoo^[[0mbar
	
	^[[0m^[[35msub/x.c^[[0m
	^[[0m^[[32m2^[[0m:^[[0m^[[1m^[[31mfoo^[[0m here
	
	^[[0m^[[35msub-a.txt^[[0m
	^[[0m^[[32m1^[[0m:ab ^[[0m^[[1m^[[31mfoo^[[0m
	^[[0m^[[32m2^[[0m:^[[0m^[[1m^[[31mfoo^[[0m
	
	^[[0m^[[35mwords.txt^[[0m
	^[[0m^[[32m1^[[0m:^[[0m^[[1m^[[31mfoo^[[0md ^[[0m^[[1m^[[31mfoo^[[0ml
	^[[0m^[[32m2^[[0m:^[[0m^[[1m^[[31mfoo^[[0m_bar
	^[[0m^[[32m3^[[0m:(^[[0m^[[1m^[[31mfoo^[[0m) [^[[0m^[[1m^[[31mfoo^[[0m]
	EOF
	check . 0 '--color=always --column foo' <<-'EOF'
	^[[0m^[[35ma.txt^[[0m:^[[0m^[[32m1^[[0m:^[[0m1^[[0m:^[[0m^[[1m^[[31mfoo^[[0m one
	^[[0m^[[35ma.txt^[[0m:^[[0m^[[32m5^[[0m:^[[0m1^[[0m:^[[0m^[[1m^[[31mfoo^[[0m two ^[[0m^[[1m^[[31mfoo^[[0m
	^[[0m^[[35ma.txt^[[0m:^[[0m^[[32m11^[[0m:^[[0m1^[[0m:^[[0m^[[1m^[[31mfoo^[[0m three
	^[[0m^[[35msub/deep/y.md^[[0m:^[[0m^[[32m2^[[0m:^[[0m1^[[0m:^[[0m^[[1m^[[31mfoo^[[0mbar
	^[[0m^[[35msub/x.c^[[0m:^[[0m^[[32m2^[[0m:^[[0m1^[[0m:^[[0m^[[1m^[[31mfoo^[[0m here
	^[[0m^[[35msub-a.txt^[[0m:^[[0m^[[32m1^[[0m:^[[0m4^[[0m:ab ^[[0m^[[1m^[[31mfoo^[[0m
	^[[0m^[[35msub-a.txt^[[0m:^[[0m^[[32m2^[[0m:^[[0m1^[[0m:^[[0m^[[1m^[[31mfoo^[[0m
	^[[0m^[[35mwords.txt^[[0m:^[[0m^[[32m1^[[0m:^[[0m1^[[0m:^[[0m^[[1m^[[31mfoo^[[0md ^[[0m^[[1m^[[31mfoo^[[0ml
	^[[0m^[[35mwords.txt^[[0m:^[[0m^[[32m2^[[0m:^[[0m1^[[0m:^[[0m^[[1m^[[31mfoo^[[0m_bar
	^[[0m^[[35mwords.txt^[[0m:^[[0m^[[32m3^[[0m:^[[0m2^[[0m:(^[[0m^[[1m^[[31mfoo^[[0m) [^[[0m^[[1m^[[31mfoo^[[0m]
	EOF
	check . 0 '--color=always --vimgrep foo' <<-'EOF'
	^[[0m^[[35ma.txt^[[0m:^[[0m^[[32m1^[[0m:^[[0m1^[[0m:^[[0m^[[1m^[[31mfoo^[[0m one
	^[[0m^[[35ma.txt^[[0m:^[[0m^[[32m5^[[0m:^[[0m1^[[0m:^[[0m^[[1m^[[31mfoo^[[0m two foo
	^[[0m^[[35ma.txt^[[0m:^[[0m^[[32m5^[[0m:^[[0m9^[[0m:foo two ^[[0m^[[1m^[[31mfoo^[[0m
	^[[0m^[[35ma.txt^[[0m:^[[0m^[[32m11^[[0m:^[[0m1^[[0m:^[[0m^[[1m^[[31mfoo^[[0m three
	^[[0m^[[35msub/deep/y.md^[[0m:^[[0m^[[32m2^[[0m:^[[0m1^[[0m:^[[0m^[[1m^[[31mfoo^[[0mbar
	^[[0m^[[35msub/x.c^[[0m:^[[0m^[[32m2^[[0m:^[[0m1^[[0m:^[[0m^[[1m^[[31mfoo^[[0m here
	^[[0m^[[35msub-a.txt^[[0m:^[[0m^[[32m1^[[0m:^[[0m4^[[0m:ab ^[[0m^[[1m^[[31mfoo^[[0m
	^[[0m^[[35msub-a.txt^[[0m:^[[0m^[[32m2^[[0m:^[[0m1^[[0m:^[[0m^[[1m^[[31mfoo^[[0m
	^[[0m^[[35mwords.txt^[[0m:^[[0m^[[32m1^[[0m:^[[0m1^[[0m:^[[0m^[[1m^[[31mfoo^[[0md fool
	^[[0m^[[35mwords.txt^[[0m:^[[0m^[[32m1^[[0m:^[[0m6^[[0m:food ^[[0m^[[1m^[[31mfoo^[[0ml
	^[[0m^[[35mwords.txt^[[0m:^[[0m^[[32m2^[[0m:^[[0m1^[[0m:^[[0m^[[1m^[[31mfoo^[[0m_bar
	^[[0m^[[35mwords.txt^[[0m:^[[0m^[[32m3^[[0m:^[[0m2^[[0m:(^[[0m^[[1m^[[31mfoo^[[0m) [foo]
	^[[0m^[[35mwords.txt^[[0m:^[[0m^[[32m3^[[0m:^[[0m8^[[0m:(foo) [^[[0m^[[1m^[[31mfoo^[[0m]
	EOF
	check . 0 '--color=always -c foo' <<-'EOF'
	^[[0m^[[35ma.txt^[[0m:3
	^[[0m^[[35msub/deep/y.md^[[0m:1
	^[[0m^[[35msub/x.c^[[0m:1
	^[[0m^[[35msub-a.txt^[[0m:2
	^[[0m^[[35mwords.txt^[[0m:3
	EOF
	check . 0 '--color=always -l foo' <<-'EOF'
	^[[0m^[[35ma.txt^[[0m
	^[[0m^[[35msub/deep/y.md^[[0m
	^[[0m^[[35msub/x.c^[[0m
	^[[0m^[[35msub-a.txt^[[0m
	^[[0m^[[35mwords.txt^[[0m
	EOF
	check . 0 '--color=always -n -C1 foo sub' <<-'EOF'
	^[[0m^[[35msub/deep/y.md^[[0m-^[[0m^[[32m1^[[0m-Foo cap
	^[[0m^[[35msub/deep/y.md^[[0m:^[[0m^[[32m2^[[0m:^[[0m^[[1m^[[31mfoo^[[0mbar
	--
	^[[0m^[[35msub/x.c^[[0m-^[[0m^[[32m1^[[0m-nothing
	^[[0m^[[35msub/x.c^[[0m:^[[0m^[[32m2^[[0m:^[[0m^[[1m^[[31mfoo^[[0m here
	EOF
	check . 0 '--color=never foo sub' <<-'EOF'
	sub/deep/y.md:foobar
	sub/x.c:foo here
	EOF
	check . 0 '--column -N foo' <<-'EOF'
	a.txt:1:foo one
	a.txt:1:foo two foo
	a.txt:1:foo three
	sub/deep/y.md:1:foobar
	sub/x.c:1:foo here
	sub-a.txt:4:ab foo
	sub-a.txt:1:foo
	words.txt:1:food fool
	words.txt:1:foo_bar
	words.txt:2:(foo) [foo]
	EOF
	check . 0 '--vimgrep -N foo a.txt' <<-'EOF'
	a.txt:1:foo one
	a.txt:1:foo two foo
	a.txt:9:foo two foo
	a.txt:1:foo three
	EOF
	check . 0 '--vimgrep -C1 foo a.txt' <<-'EOF'
	a.txt:1:1:foo one
	a.txt-2-bar
	--
	a.txt-4-qux
	a.txt:5:1:foo two foo
	a.txt:5:9:foo two foo
	a.txt-6-x
	--
	a.txt-10-v
	a.txt:11:1:foo three
	EOF
	check . 0 '-i FOO' <<-'EOF'
	a.txt:foo one
	a.txt:foo two foo
	a.txt:foo three
	sub/deep/y.md:Foo cap
	sub/deep/y.md:foobar
	sub/x.c:foo here
	sub-a.txt:ab foo
	sub-a.txt:foo
	words.txt:food fool
	words.txt:foo_bar
	words.txt:(foo) [foo]
	words.txt:FOO
	EOF
	check . 0 '-s -i FOO' <<-'EOF'
	a.txt:foo one
	a.txt:foo two foo
	a.txt:foo three
	sub/deep/y.md:Foo cap
	sub/deep/y.md:foobar
	sub/x.c:foo here
	sub-a.txt:ab foo
	sub-a.txt:foo
	words.txt:food fool
	words.txt:foo_bar
	words.txt:(foo) [foo]
	words.txt:FOO
	EOF
	check . 0 '-i -s FOO' <<-'EOF'
	words.txt:FOO
	EOF
	check . 0 '-S foo' <<-'EOF'
	a.txt:foo one
	a.txt:foo two foo
	a.txt:foo three
	sub/deep/y.md:Foo cap
	sub/deep/y.md:foobar
	sub/x.c:foo here
	sub-a.txt:ab foo
	sub-a.txt:foo
	words.txt:food fool
	words.txt:foo_bar
	words.txt:(foo) [foo]
	words.txt:FOO
	EOF
	check . 0 '-S Foo' <<-'EOF'
	sub/deep/y.md:Foo cap
	EOF
	check . 0 '-w foo' <<-'EOF'
	a.txt:foo one
	a.txt:foo two foo
	a.txt:foo three
	sub/x.c:foo here
	sub-a.txt:ab foo
	sub-a.txt:foo
	words.txt:(foo) [foo]
	EOF
	check . 0 '-iw foo' <<-'EOF'
	a.txt:foo one
	a.txt:foo two foo
	a.txt:foo three
	sub/deep/y.md:Foo cap
	sub/x.c:foo here
	sub-a.txt:ab foo
	sub-a.txt:foo
	words.txt:(foo) [foo]
	words.txt:FOO
	EOF
	check . 0 '-F '\''(foo)'\''' <<-'EOF'
	words.txt:(foo) [foo]
	EOF
	check . 0 ''\''(foo)'\'' words.txt' <<-'EOF'
	food fool
	foo_bar
	(foo) [foo]
	EOF
	check . 0 '-e foo -e bar -n' <<-'EOF'
	a.txt:1:foo one
	a.txt:2:bar
	a.txt:5:foo two foo
	a.txt:11:foo three
	sub/deep/y.md:2:foobar
	sub/x.c:2:foo here
	sub-a.txt:1:ab foo
	sub-a.txt:2:foo
	words.txt:1:food fool
	words.txt:2:foo_bar
	words.txt:3:(foo) [foo]
	EOF
	check . 0 '-e '\''\d+'\''' <<-'EOF'
	re.txt:abc123
	re.txt:12 34
	EOF
	check . 0 ''\''fo+ t'\''' <<-'EOF'
	a.txt:foo two foo
	a.txt:foo three
	EOF
	check . 0 '-g '\''*.c'\'' foo' <<-'EOF'
	sub/x.c:foo here
	EOF
	check . 0 '-g '\''!*.md'\'' -g '\''!*.txt'\'' foo' <<-'EOF'
	sub/x.c:foo here
	EOF
	check . 0 'foo sub' <<-'EOF'
	sub/deep/y.md:foobar
	sub/x.c:foo here
	EOF
	check . 0 'foo sub/' <<-'EOF'
	sub/deep/y.md:foobar
	sub/x.c:foo here
	EOF
	check . 0 'foo ./sub' <<-'EOF'
	./sub/deep/y.md:foobar
	./sub/x.c:foo here
	EOF
	check . 0 'foo sub//deep' <<-'EOF'
	sub//deep/y.md:foobar
	EOF
	check . 0 'foo sub/x.c' <<-'EOF'
	foo here
	EOF
	check . 0 '-n foo sub/x.c' <<-'EOF'
	2:foo here
	EOF
	check . 0 '-c foo sub/x.c' <<-'EOF'
	1
	EOF
	check . 0 '-l foo sub/x.c' <<-'EOF'
	sub/x.c
	EOF
	check . 0 '--vimgrep foo sub/x.c' <<-'EOF'
	sub/x.c:2:1:foo here
	EOF
	check . 0 '-H foo sub/x.c' <<-'EOF'
	sub/x.c:foo here
	EOF
	check . 0 'foo sub/x.c a.txt' <<-'EOF'
	sub/x.c:foo here
	a.txt:foo one
	a.txt:foo two foo
	a.txt:foo three
	EOF
	check . 0 'foo .' <<-'EOF'
	./a.txt:foo one
	./a.txt:foo two foo
	./a.txt:foo three
	./sub/deep/y.md:foobar
	./sub/x.c:foo here
	./sub-a.txt:ab foo
	./sub-a.txt:foo
	./words.txt:food fool
	./words.txt:foo_bar
	./words.txt:(foo) [foo]
	EOF
	check . 0 'foo @TREE@/sub' <<-'EOF'
	@TREE@/sub/deep/y.md:foobar
	@TREE@/sub/x.c:foo here
	EOF
	check sub 0 'foo ..' <<-'EOF'
	../a.txt:foo one
	../a.txt:foo two foo
	../a.txt:foo three
	../sub/deep/y.md:foobar
	../sub/x.c:foo here
	../sub-a.txt:ab foo
	../sub-a.txt:foo
	../words.txt:food fool
	../words.txt:foo_bar
	../words.txt:(foo) [foo]
	EOF
	check sub 0 'foo' <<-'EOF'
	deep/y.md:foobar
	x.c:foo here
	EOF
	check sub 0 '-c foo . ../a.txt' <<-'EOF'
	./deep/y.md:1
	./x.c:1
	../a.txt:3
	EOF
	check . 0 '-q foo' <<-'EOF'
	
	EOF
	check . 1 '-q zzzz' <<-'EOF'
	
	EOF
	check . 1 'zzzz' <<-'EOF'
	
	EOF
	check . 1 '-m0 foo' <<-'EOF'
	
	EOF
	check . 0 '--json -q foo' <<-'EOF'
	
	EOF
	# --json: xihu's own form (docs/CLIENT.md), not rg's
	run xihu grep --json -n -C1 foo sub/x.c
	expect_eq "--json exit" "$RC" 0
	expect_eq "--json lines" "$(head -2 <<<"$OUT")" '{"type":"context","path":"sub/x.c","line":1,"text":"nothing"}
{"type":"match","path":"sub/x.c","line":2,"col":1,"text":"foo here","spans":[[0,3]]}'
	[[ $(sed -n 3p <<<"$OUT") =~ ^\{\"type\":\"summary\",\"files_matched\":1,\"lines_matched\":1,.*\"errors\":\[\]\}$ ]] ||
		fail "--json summary: [$(sed -n 3p <<<"$OUT")]"
	expect_eq "--json, 3 lines" "$(wc -l <<<"$OUT")" 3
	run xihu grep --json -c foo sub
	expect_eq "--json -c" "$(head -2 <<<"$OUT")" '{"type":"count","path":"sub/deep/y.md","count":1}
{"type":"count","path":"sub/x.c","count":1}'

	# a bad pattern: exit 2, nothing on stdout, one line naming its column
	run xihu grep 'foo(bar'
	expect_eq "bad regex: exit" "$RC" 2
	expect_eq "bad regex: stdout" "$OUT" ""
	[[ $ERR =~ ^xihu:\ .*column\ [0-9]+ && $ERR != *$'\n'* ]] || fail "bad regex: stderr [$ERR]"
	run xihu grep -e foo -e 'a[b'
	expect_eq "bad second pattern: exit" "$RC" 2
	[[ $ERR =~ ^xihu:\ .*column\ [0-9]+ && $ERR != *$'\n'* ]] || fail "bad second pattern: stderr [$ERR]"
	# a PATH that does not exist: said, the others searched, exit 2 (as rg)
	run xihu grep foo nonexist sub/x.c
	expect_eq "missing PATH: exit" "$RC" 2
	expect_eq "missing PATH: the other one searched" "$OUT" "sub/x.c:foo here"
	expect_eq "missing PATH: stderr" "$ERR" "xihu: nonexist: No such file or directory"
	run xihu grep -q foo nonexist sub/x.c
	expect_eq "missing PATH, -q with a match: exit (rg: the match wins)" "$RC" 0
	expect_eq "-q prints nothing" "$OUT" ""
	run xihu grep -q zzzz nonexist sub/x.c
	expect_eq "missing PATH, -q without a match: exit" "$RC" 2
	# a directory the index does not hold: said with the trees it does hold,
	# not a silent "no match" (rg would have searched its files), exit 2
	put "$T/outside/o.txt" 'foo outside\n'
	cd "$T/outside" || fail "cd $T/outside"
	run xihu grep foo
	expect_eq "outside the index: exit" "$RC" 2
	expect_eq "outside the index: stdout" "$OUT" ""
	expect_eq "outside the index: stderr" "$ERR" \
		"xihu: $T/outside: not in the index, whose trees are $TREE (xihu index $T/outside adds it)"
	cd "$TREE" || fail "cd $TREE"
	run xihu grep foo "$T/outside" sub/x.c
	expect_eq "outside PATH: exit" "$RC" 2
	expect_eq "outside PATH: the other one searched" "$OUT" "sub/x.c:foo here"
	run xihu grep foo "$(dirname "$TREE")"
	expect_eq "a PATH above the tree: exit" "$RC" 0
	# no indexed file passes the globs: rg's "No files were searched", exit
	# 2, for the default path only (a PATH given, even ., is exit 1)
	run xihu grep -g '*.zz' foo
	expect_eq "no file passes -g: exit" "$RC" 2
	expect_eq "no file passes -g: stderr" "$ERR" "xihu: no files were searched: no indexed file here passes the globs (-g)"
	run xihu grep -q -g '*.zz' foo
	expect_eq "no file passes -g, -q: exit" "$RC" 2
	run xihu grep -g '*.zz' foo .
	expect_eq "no file passes -g, PATH .: exit" "$RC" 1
	expect_eq "no file passes -g, PATH .: stderr" "$ERR" ""
	run xihu grep -g '*.c' zzzz
	expect_eq "a file passes -g, no match: exit" "$RC" 1
	run xihu grep --no-autostart --socket "$T/run/none.sock" foo
	expect_eq "no daemon: exit" "$RC" 2
	cd "$TREE" || fail "cd $TREE"

	# a file changed after indexing: live sync is on, the answer is the file
	# as it is now (a new word in an old file, a new file, a line gone)
	printf 'nothing\nzebra crossing\n' >"$TREE/sub/x.c"
	put "$TREE/sub/new.txt" 'a zebra too\n'
	within "changed and new files" "-n zebra" "sub/new.txt:1:a zebra too
sub/x.c:2:zebra crossing"
	within "the changed file's old line gone" "foo sub" "sub/deep/y.md:foobar"
	[ "$FAILED" -eq 0 ] || fail "$FAILED of the checks above differ"
	;;
grep_bad_input)
	cd "$TREE" || fail "cd $TREE"
	# bad "PATTERN" RC STDERR-GLOB [ARGS...]: one line on stderr, nothing on stdout
	bad() {
		local what=$1 rc=$2 want=$3
		shift 3
		xihu grep "$@" >"$T/out" 2>"$T/err"
		expect_eq "$what: exit" "$?" "$rc"
		[[ "$(cat "$T/err")" == $want ]] || fail "$what: stderr [$(cat "$T/err")], want $want"
		expect_eq "$what: one line" "$(wc -l <"$T/err")" 1
		expect_eq "$what: stdout" "$(cat "$T/out")" ""
	}
	bad "invalid regex" 2 "*column 8*" 'spin_lo(ck'
	bad "catastrophic" 2 "*trap.txt: line 1: *match limit*" '(a|a)+$' trap.txt
	expect_eq "served after it" "$(xihu grep -c spin_lock)" "ok.txt:1"
	t0=$(ms)
	expect_eq "(a+)+\$ over 1 MB of a's" "$(xihu grep -c '(a+)+$' as.txt)" "1"
	[ $(($(ms) - t0)) -lt 20000 ] || fail "(a+)+\$ took $(($(ms) - t0)) ms"
	printf 'a\0b\n' >"$T/nul.pat"
	bad "NUL in a pattern" 2 "*nul.pat: line 1:*NUL*" -f "$T/nul.pat"
	xihu grep -c '\x00' >/dev/null 2>"$T/err"
	expect_eq "\\x00: no match" "$?" 1
	head -c 1000000 /dev/zero | tr '\0' q >"$T/big.pat"
	bad "1 MB pattern" 2 "*1000000 bytes*" -f "$T/big.pat"
	bad "literal newline" 2 "*not allowed*" 'a\nb'
	expect_eq "still serving" "$(xihu grep -l 'dev->lock')" "ok.txt"
	;;
grep_big_file)
	cd "$TREE" || fail "cd $TREE"
	grep -q "big.h" "$T/index.err" || fail "big.h was not skipped for its size: [$(cat "$T/index.err")]"
	for p in 'REG_000000_' 'REG_050000_FIELD' 'REG_099999_FIELD__SHIFT 0x1869f' 'SHIFT 0x1869f$' 'int reg'; do
		expect_eq "big file: $p" "$(xihu grep -n -- "$p" | sort)" "$(grep -n -- "$p" big.h small.c | sort)"
	done
	expect_eq "big file: -c of every line" "$(xihu grep -c 'REG_\d+' big.h)" 100000
	xihu grep -c 'REG_100000_' >"$T/out" 2>&1
	expect_eq "big file: a name it does not hold: exit" "$?" 1
	;;
grep_stream)
	cd "$TREE" || fail "cd $TREE"
	xihu grep needle >"$T/all" 2>"$T/err"
	expect_eq "stream: exit" "$?" 0
	expect_eq "stream: stderr" "$(cat "$T/err")" ""
	expect_eq "stream: every line" "$(wc -l <"$T/all")" 400000
	expect_eq "stream: in path order, the first" "$(head -1 "$T/all")" "f001.txt:needle 00001 in file 001 of the tree"
	expect_eq "stream: the last" "$(tail -1 "$T/all")" "f100.txt:needle 04000 in file 100 of the tree"
	expect_eq "stream: -c" "$(xihu grep -c needle | sed -n '1p;$p' | tr '\n' ' ')" "f001.txt:4000 f100.txt:4000 "
	# memory: one frame at a time, not the 17 MB answer (without the
	# sanitizers, whose shadow memory would swamp it)
	if [ "${SANITIZE:-none}" == none ] && [ -x /usr/bin/time ]; then
		/usr/bin/time -f %M -o "$T/rss" "$XIHU_BIN" grep needle >/dev/null 2>&1
		rss=$(tail -1 "$T/rss")
		[ "$rss" -lt 12000 ] || fail "stream: xihu's peak RSS $rss KB for a 17 MB answer"
	fi
	# the reader goes away: quietly, exit 0 (as rg)
	xihu grep needle 2>"$T/err" | head -1 >"$T/one"
	expect_eq "| head: xihu's exit" "${PIPESTATUS[0]}" 0
	expect_eq "| head: stderr" "$(cat "$T/err")" ""
	expect_eq "| head: the line" "$(cat "$T/one")" "f001.txt:needle 00001 in file 001 of the tree"
	;;
esac
exit 0
