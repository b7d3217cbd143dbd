#!/usr/bin/env bash
# tests/lib/install.sh: libxihu-client as a user gets it.  Installs the
# build (meson install --destdir, every part of the project), checks what the
# library exports, builds docs/example.c with the installed header, library
# and pkg-config file alone, and runs it against a real xihud: grep's exit
# codes and `path:line:col:text` lines.
# From meson: BUILD_ROOT, EXAMPLE_C, CC, SANITIZE, XIHU_INDEX_BIN, XIHUD_BIN.
set -u
# shellcheck disable=SC2034 # lib.sh's fail() names the case
CASE=install
T=$(mktemp -d /tmp/xihu-libinst.XXXXXX)
SOCK=$T/run/xihud.sock
TREE=$T/tree
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/../e2e/lib.sh"

DEST=$T/root
meson install -C "$BUILD_ROOT" --no-rebuild --destdir "$DEST" >"$T/install.log" 2>&1 ||
	fail "meson install: $(grep -v '^Installing' "$T/install.log" | tail -n 5)"
PC=$(find "$DEST" -name xihu-client.pc)
[ -n "$PC" ] || fail "no xihu-client.pc installed under $DEST"
HDR=$(find "$DEST" -path '*/include/xihu/client.h')
[ -n "$HDR" ] || fail "no include/xihu/client.h installed under $DEST"
SO=$(find "$DEST" -name 'libxihu-client.so.1' -type l)
[ -n "$SO" ] || fail "no libxihu-client.so.1 installed under $DEST"
# the public header stands alone: no protobuf-c, no internal header
grep -q -e 'protobuf' -e 'xihu-client\.h' -e 'pb-c' "$HDR" && fail "$HDR includes protobuf-c or internals"

# the .so exports the header's functions and nothing else (no protobuf-c
# generated code, no internal client)
got=$(nm -D --defined-only "$SO" | awk '{print $3}' | sort | tr '\n' ' ')
want=$(grep -oE '\bxihu_[a-z_]+\(' "$HDR" | tr -d '(' | sort -u | tr '\n' ' ')
expect_eq "exported symbols" "$got" "$want"

# pkg-config against the destdir: the sysroot is prepended to its -I and -L.
# (Not --define-prefix: it takes the .pc file's grandparent for the prefix,
# which with Debian's lib/x86_64-linux-gnu/pkgconfig is .../lib.)
run env PKG_CONFIG_PATH="$(dirname "$PC")" PKG_CONFIG_SYSROOT_DIR="$DEST" \
	pkg-config --cflags --libs xihu-client
expect_eq "pkg-config exit" "$RC" 0
FLAGS=$OUT
[[ " $FLAGS " == *" -I$DEST/"*" -L$DEST/"*" -lxihu-client "* ]] || fail "pkg-config flags: [$FLAGS]"
san=()
[ "$SANITIZE" != none ] && san=(-fsanitize="$SANITIZE")
# shellcheck disable=SC2086 # CC and FLAGS are word lists
$CC -std=c11 -Wall -Wextra -Werror "${san[@]}" -o "$T/example" "$EXAMPLE_C" $FLAGS 2>"$T/cc.log" ||
	fail "cc example.c: $(head -n 5 "$T/cc.log")"
LD_LIBRARY_PATH=$(dirname "$SO")
export LD_LIBRARY_PATH
export XIHU_SOCKET=$SOCK

mkdir -p "$TREE/src"
printf 'zebra zebra\nthe zebra runs\n' >"$TREE/src/a.txt"
printf 'nothing here\nquick brown fox\n' >"$TREE/b.md"
"$XIHU_INDEX_BIN" --quiet --index "$T/index" "$TREE" || fail "xihu-index exited $?"
serve "$T/index" --no-sync

run "$T/example" zebra
expect_eq "zebra: exit" "$RC" 0
expect_eq "zebra: output" "$OUT" "$(printf '%s\n' "$TREE/src/a.txt:1:1:zebra zebra" "$TREE/src/a.txt:2:5:the zebra runs")"
expect_eq "zebra: stderr" "$ERR" ""
run "$T/example" quick fox
expect_eq "quick fox: exit" "$RC" 0
expect_eq "quick fox: output" "$OUT" "$TREE/b.md:2:1:quick brown fox"
run "$T/example" nothinglikethis
expect_eq "no match: exit" "$RC" 1
expect_eq "no match: output" "$OUT$ERR" ""
run "$T/example" zebra '"runs'
expect_eq "bad query: exit" "$RC" 2
expect_eq "bad query: output" "$OUT" ""
[[ "$ERR" == "example: query column 7: unbalanced quote"* && "$ERR" != *$'\n'* ]] ||
	fail "bad query: stderr [$ERR]"
XIHU_SOCKET=$T/none/xihud.sock run "$T/example" zebra
expect_eq "no daemon: exit" "$RC" 2
[[ "$ERR" == "example: cannot connect to $T/none/xihud.sock: "* && "$ERR" != *$'\n'* ]] ||
	fail "no daemon: stderr [$ERR]"
echo "ok: installed under $DEST, example built with: $FLAGS"
