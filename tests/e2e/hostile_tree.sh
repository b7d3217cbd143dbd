#!/usr/bin/env bash
# tests/e2e/hostile_tree.sh CASE: xihu-index over trees built to break it.
# Each thing in them is indexed or skipped: without a word when it is not
# a file at all (FIFOs, sockets, devices, symbolic links) or is gone, in
# the summary's count when it is over --max-file-size, and otherwise with
# one line "xihu-index: PATH: why (skipped)"; nothing else is printed on
# stderr.  xihu-index never hangs (it runs under a timeout) nor crashes
# (its exit status is checked), and --check passes on what it commits.
#   specials     FIFOs, a device, a socket, symbolic link loops, a
#                2,000-deep chain, names with a newline and invalid UTF-8,
#                files and .gz files of max-file-size and one byte more
#   unreadable   directories and a file the indexer may not read (as uid
#                65534: root reads anything)
#   race         files truncated, grown and replaced (by a FIFO, a device,
#                a link) between the walk's stat and the read, and a file
#                growing while it is read
#   gz_bomb      64 KiB of gzip that inflates to 64 MiB: skipped, and the
#                indexer's peak RSS stays inside its --ram-mb budget
# Binaries from the environment: XIHU_INDEX_BIN, XIHUD_BIN, XIHU_BIN,
# XIHU_QUERY_BIN; SANITIZE is meson's b_sanitize.
set -u
CASE=$1
T=$(mktemp -d /tmp/xihu-hostile.XXXXXX)
TREE=$T/tree IX=$T/index SOCK=$T/xihud.sock
export XIHU_SOCKET=$SOCK XIHU_INDEX=$IX NO_COLOR=1 LC_ALL=C
unset XDG_RUNTIME_DIR XDG_DATA_HOME
PY=/usr/bin/python3
. "$(dirname "$0")/lib.sh"
cleanup() { # lib.sh's, with the modes that keep even the owner out undone
	stop_daemon
	chmod -R u+rwX "$T" 2>/dev/null
	rm -rf "$T"
}

# ix ARG...: xihu-index --index $IX ARG... under a timeout; stdout in OUT,
# stderr in ERR, and it must exit 0
ix() {
	local rc=0
	OUT=$(timeout 20 "$XIHU_INDEX_BIN" --index "$IX" "$@" 2>"$T/ix.err") || rc=$?
	ERR=$(cat "$T/ix.err")
	[ "$rc" -ne 124 ] || fail "xihu-index $* hung: [$ERR]"
	expect_eq "xihu-index $*: exit status (stderr [$ERR])" "$rc" 0
}
check() {
	"$XIHU_INDEX_BIN" --check --index "$IX" >"$T/check.out" 2>&1 || fail "--check: $(cat "$T/check.out")"
}
# the summary's "N docs" and its skipped line (empty when nothing was)
docs() { sed -n 's/^.*: \([0-9]*\) docs (.*/\1/p' <<<"$OUT"; }
skipped() { sed -n 's/^skipped: //p' <<<"$OUT"; }
# found WORD [DOC]: xihu search -l WORD prints DOC exactly (relative to
# $TREE, the daemon's cwd here), or nothing and exit 1 when DOC is absent
found() {
	run xihu search -l "$1"
	if [ $# -eq 1 ]; then
		expect_eq "$1: exit (found [$OUT])" "$RC" 1
	else
		expect_eq "$1: exit [$ERR]" "$RC" 0
		expect_eq "$1: the document" "$OUT" "$2"
	fi
}
# outside.txt: outside the tree, where links in it point
mkdir -p "$TREE"
printf 'outsideword\n' >"$T/outside.txt"

case "$CASE" in
specials)
	mkdir -p "$TREE/sub" "$TREE/size" "$TREE/dir"$'\n'"name"
	mkfifo "$TREE/fifo.txt" "$TREE/sub/.gitignore" # a FIFO opened for reading waits for a writer forever
	[ "$(id -u)" -eq 0 ] && mknod "$TREE/chardev.txt" c 1 3 # /dev/null's: read, it would be an empty document
	$PY -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$TREE/socket.txt" ||
		fail "socket"
	ln -s selflink.txt "$TREE/selflink.txt"
	ln -s pinglink.txt "$TREE/ponglink.txt"
	ln -s ponglink.txt "$TREE/pinglink.txt"
	ln -s .. "$TREE/sub/uplink" # followed, sub/plain.txt would come back as sub/uplink/sub/plain.txt
	ln -s "$T/outside.txt" "$TREE/outlink.txt"
	printf 'plainword\n' >"$TREE/sub/plain.txt"
	printf 'newlineword\n' >"$TREE/new"$'\n'"line.txt"
	printf 'latinword\n' >"$TREE/caf"$'\xe9'"-"$'\xff\xfe'".txt" # Latin-1 and bytes UTF-8 never has
	printf 'innerword\n' >"$TREE/dir"$'\n'"name/inner.txt"
	# 2,000 directories deep: the walk enters 256 levels below its root
	# (WALK_MAX_DEPTH) and says so once for the directory it does not enter
	$PY - "$TREE" <<-'EOF' || fail "deep chain"
	import os, sys
	# f.txt at depth L is in deep/d/.../d with L - 1 "d"s; the walk's root
	# entries are at depth 0
	words = {101: "levelhundred", 256: "levellast", 257: "levelskipped", 2000: "levelbottom"}
	fd = os.open(sys.argv[1], os.O_RDONLY)
	for level in range(2001):  # "deep" at depth 0, then 2,000 "d"s
	    if level in words:
	        with open(os.open("f.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "w") as f:
	            f.write(words[level] + "\n")
	    name = "deep" if level == 0 else "d"
	    os.mkdir(name, dir_fd=fd)
	    sub = os.open(name, os.O_RDONLY, dir_fd=fd)
	    os.close(fd)
	    fd = sub
	EOF
	# --max-file-size 4K: 4,096 bytes are indexed, 4,097 are not; a .gz by
	# what it inflates to
	$PY - "$TREE/size" <<-'EOF' || fail "size files"
	import gzip, sys
	def text(word, n):
	    return (word + "\n" + "x" * n)[:n - 1] + "\n"
	for name, word, n in [("exact", "exactword", 4096), ("over", "overword", 4097)]:
	    open(sys.argv[1] + "/" + name + ".txt", "w").write(text(word, n))
	    open(sys.argv[1] + "/" + name + ".txt.gz", "wb").write(gzip.compress(text("gz" + word, n).encode()))
	EOF
	ix --max-file-size 4K "$TREE"
	chain() { printf 'deep'; printf '/d%.0s' $(seq "$1"); } # deep and N "d"s below
	expect_eq "stderr: a line for the directory not entered, and each file too large" "$ERR" \
		"xihu-index: $TREE/$(chain 256): nested too deep (skipped)
xihu-index: $TREE/size/over.txt: 4097 bytes, over --max-file-size 4096 (skipped)
xihu-index: $TREE/size/over.txt.gz: inflates to more than --max-file-size 4096 bytes (skipped)"
	expect_eq "documents" "$(docs)" 8
	expect_eq "skipped" "$(skipped)" "0 binary, 2 too large, 0 unreadable"
	check
	serve "$IX" --no-sync
	cd "$TREE" || fail "cd"
	found plain sub/plain.txt # a word of a path finds it: so would these, were they indexed
	for w in fifo chardev socket selflink pinglink ponglink uplink outlink outsideword gitignore; do found "$w"; done
	found plainword sub/plain.txt
	found newlineword "new"$'\n'"line.txt"
	found latinword "caf"$'\xe9'"-"$'\xff\xfe'".txt"
	found innerword "dir"$'\n'"name/inner.txt"
	found levelhundred "$(chain 100)/f.txt"
	found levellast "$(chain 255)/f.txt"
	found levelskipped
	found levelbottom
	found exactword size/exact.txt
	found gzexactword size/exact.txt.gz
	found overword
	found gzoverword
	# the names come back from the index as they went in: nothing changed
	ix --max-file-size 4K "$TREE"
	[[ "$OUT" == *": no changes (8 docs unchanged), "* ]] || fail "second run: [$OUT]"
	;;
unreadable)
	# root reads whatever the modes say: the indexer runs as 65534 (nobody)
	# when the test runs as root, and as the test's own user otherwise
	as_user() {
		if [ "$(id -u)" -eq 0 ]; then
			setpriv --reuid 65534 --regid 65534 --clear-groups "$@"
		else
			"$@"
		fi
	}
	IX=$T/home/index
	mkdir -p "$T/home" "$TREE/open" "$TREE/locked" "$TREE/new"$'\n'"locked" "$TREE/noexec"
	[ "$(id -u)" -eq 0 ] && chown 65534:65534 "$T/home"
	chmod 755 "$T"
	printf 'readableword\n' >"$TREE/open/a.txt"
	printf 'lockedword\n' >"$TREE/locked/a.txt"
	printf 'newlinelockedword\n' >"$TREE/new"$'\n'"locked/a.txt"
	printf 'noexecword\n' >"$TREE/noexec/a.txt"
	printf 'secretword\n' >"$TREE/secret.txt"
	printf 'newlinesecretword\n' >"$TREE/new"$'\n'"secret.txt"
	chmod 000 "$TREE/locked" "$TREE/new"$'\n'"locked" "$TREE/secret.txt" "$TREE/new"$'\n'"secret.txt"
	chmod 644 "$TREE/noexec" # its names can be listed, but nothing in it looked up
	rc=0
	OUT=$(as_user timeout 20 "$XIHU_INDEX_BIN" --index "$IX" "$TREE" 2>"$T/ix.err") || rc=$?
	ERR=$(sort "$T/ix.err")
	expect_eq "exit status (stderr [$ERR])" "$rc" 0
	# a line each, naming what was skipped (the walk: directories and what
	# it cannot stat; the read: files it cannot open); a newline in a name
	# is \012
	expect_eq "stderr" "$ERR" "$(printf 'xihu-index: %s: Permission denied (skipped)\n' "$TREE/locked" \
		"$TREE/new\\012locked" "$TREE/new\\012secret.txt" "$TREE/noexec/a.txt" "$TREE/secret.txt" | sort)"
	expect_eq "documents" "$(docs)" 1
	expect_eq "skipped: the files the walk saw and could not open" "$(skipped)" "0 binary, 0 too large, 2 unreadable"
	as_user "$XIHU_INDEX_BIN" --check --index "$IX" >"$T/check.out" 2>&1 || fail "--check: $(cat "$T/check.out")"
	as_user "$XIHU_QUERY_BIN" "$IX" readableword lockedword newlinelockedword noexecword secretword \
		newlinesecretword >"$T/q.out" || fail "xihu-query"
	expect_eq "answers" "$(cat "$T/q.out")" "$(printf '%s\n' "generation 1 docs 1" \
		"readableword	$TREE/open/a.txt	1	readableword" "readableword	hits 1" "lockedword	hits 0" \
		"newlinelockedword	hits 0" "noexecword	hits 0" "secretword	hits 0" "newlinesecretword	hits 0")"
	;;
race)
	# The walk stats every file, then a worker reads them in the walk's order;
	# here all in one batch (under BATCH_BYTES, 8 MiB, until z-endless.txt,
	# the last), so the walk is over before the first read.  a-big.txt (6 MiB)
	# is read first; once xihu-index has read it (its rchar jumps by 6 MiB)
	# it is stopped while it analyzes it, the files after a-big.txt are
	# changed, and it goes on: each change lands between the walk's stat and
	# the read, every time.  Should the stop come late (the worker already
	# reading b-shrinks.txt, 1.5 MiB), the tree is made again and the run
	# retried.  z-endless.txt grows all along, while it is read too.
	make_race_tree() {
		rm -rf "$TREE" "$IX"
		mkdir -p "$TREE"
		$PY - "$TREE" <<-'EOF' || fail "race tree"
		import sys
		t = sys.argv[1]
		open(t + "/a-big.txt", "w").write("".join("bigword alpha%d beta%d gamma\n" % (i % 1000, i % 777)
		                                          for i in range(6 << 20 >> 5))[:6 << 20])
		open(t + "/b-shrinks.txt", "w").write("shrinkfirst\n" + "filler text\n" * (3 << 17) + "shrinklast\n")
		for name, word in [("c-grows", "growfirst"), ("d-fifo", "fifoword"), ("e-device", "deviceword"),
		                   ("f-link", "linkword"), ("g-gone", "goneword"), ("h-past", "pastword"),
		                   ("z-endless", "endlessfirst")]:
		    open(t + "/" + name + ".txt", "w").write(word + "\n")
		EOF
	}
	race_run() {
		$PY - "$T" "$TREE" "$XIHU_INDEX_BIN" --index "$IX" --threads 1 --max-file-size 8M "$TREE" <<-'EOF'
		import os, signal, stat, subprocess, sys, threading, time
		T, tree, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
		big, slack = os.path.getsize(tree + "/a-big.txt"), 1 << 20
		done = threading.Event()
		def endless():  # 64 KiB every 2 ms, to 16 MiB
		    with open(tree + "/z-endless.txt", "ab", buffering=0) as f:
		        for _ in range(256):
		            if done.is_set():
		                break
		            f.write(b"endless filler\n" * 4369 + b"\n")
		            time.sleep(0.002)
		writer = threading.Thread(target=endless)
		writer.start()
		p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=open(T + "/ix.out", "wb"),
		                     stderr=open(T + "/ix.err", "wb"))
		def rchar():
		    try:
		        with open("/proc/%d/io" % p.pid) as f:
		            return int(f.read().split("rchar: ")[1].split()[0])
		    except (OSError, IndexError):
		        return -1
		def finish(code):
		    done.set()
		    writer.join()
		    sys.exit(code)
		before, now, deadline = 0, 0, time.monotonic() + 20
		while now < big:
		    if p.poll() is not None or time.monotonic() > deadline:
		        print("xihu-index ended, or took 20 s, before reading a-big.txt", file=sys.stderr)
		        p.kill()
		        finish(2)
		    before = max(before, now)
		    now = rchar()
		    time.sleep(0.0002)
		os.kill(p.pid, signal.SIGSTOP)  # every thread stops
		tasks = "/proc/%d/task" % p.pid
		while not all(open(tasks + "/" + t + "/stat").read().rsplit(")", 1)[1].split()[0] in "Tt"
		              for t in os.listdir(tasks)):
		    time.sleep(0.0002)
		if rchar() - before >= big + slack:  # b-shrinks.txt read already: try again
		    p.kill()
		    os.kill(p.pid, signal.SIGCONT)
		    p.wait()
		    finish(75)
		os.truncate(tree + "/b-shrinks.txt", len("shrinkfirst\n"))
		with open(tree + "/c-grows.txt", "a") as f:
		    f.write("growlater\n")
		for name in ["d-fifo", "e-device", "f-link", "g-gone"]:
		    os.unlink(tree + "/" + name + ".txt")
		os.mkfifo(tree + "/d-fifo.txt")
		try:  # /dev/zero's numbers: read, it never ends
		    os.mknod(tree + "/e-device.txt", stat.S_IFCHR | 0o644, os.makedev(1, 5))
		except PermissionError:  # not root: no device, a FIFO more
		    os.mkfifo(tree + "/e-device.txt")
		os.symlink(T + "/outside.txt", tree + "/f-link.txt")
		with open(tree + "/h-past.txt", "a") as f:
		    f.write("x" * (8 << 20) + "\n")  # one byte past --max-file-size
		os.kill(p.pid, signal.SIGCONT)
		try:
		    p.wait(timeout=20)
		except subprocess.TimeoutExpired:
		    p.kill()
		    p.wait()
		    finish(124)
		finish(p.returncode)
		EOF
	}
	# q WORD: the documents answering WORD, relative to $TREE, one line
	q() {
		"$XIHU_QUERY_BIN" "$IX" "$1" | tail -n +2 | grep -v "	hits " | cut -f2 | sed "s|^$TREE/||" | sort -u |
			tr '\n' ' '
	}
	for try in 1 2 3; do
		make_race_tree
		rc=0
		race_run || rc=$?
		[ "$rc" -ne 75 ] && break
		echo "try $try: the stop came after b-shrinks.txt was read: again" >&2
	done
	OUT=$(cat "$T/ix.out") ERR=$(sort "$T/ix.err")
	[ "$rc" -ne 124 ] || fail "xihu-index hung: [$ERR]"
	expect_eq "exit status (stderr [$ERR])" "$rc" 0
	expect_eq "stderr" "$(grep -v z-endless <<<"$ERR")" \
		"$(printf 'xihu-index: %s\n' "$TREE/d-fifo.txt: no longer a regular file (skipped)" \
		"$TREE/e-device.txt: no longer a regular file (skipped)" \
		"$TREE/f-link.txt: Too many levels of symbolic links (skipped)" \
		"$TREE/h-past.txt: grew past --max-file-size 8388608 bytes while read (skipped)")"
	# z-endless.txt: read to its end at some moment, or found past the
	# limit (by the walk or the read) and skipped with a line that says so
	if [ "$(q endlessfirst)" == "z-endless.txt " ]; then large=1 ndocs=4; else large=2 ndocs=3; fi
	endless=$(grep z-endless <<<"$ERR")
	if [ "$large" -eq 1 ]; then
		expect_eq "stderr: z-endless.txt indexed" "$endless" ""
	elif [[ "$endless" != "xihu-index: $TREE/z-endless.txt: grew past --max-file-size 8388608 bytes while read (skipped)" &&
		"$endless" != "xihu-index: $TREE/z-endless.txt: "[0-9]*" bytes, over --max-file-size 8388608 (skipped)" ]]; then
		fail "stderr: z-endless.txt skipped: [$endless]"
	fi
	echo "z-endless.txt: $([ "$large" -eq 1 ] && echo indexed || echo skipped as too large)"
	expect_eq "skipped (d, e, f, and g vanished)" "$(skipped)" "0 binary, $large too large, 4 unreadable"
	expect_eq "documents" "$(docs)" "$ndocs"
	check
	expect_eq "truncated: the text read" "$(q shrinkfirst)" "b-shrinks.txt "
	expect_eq "truncated: the text cut" "$(q shrinklast)" ""
	expect_eq "grown: the text at the stat" "$(q growfirst)" "c-grows.txt "
	expect_eq "grown: the text added" "$(q growlater)" "c-grows.txt "
	for w in fifoword deviceword linkword outsideword goneword pastword; do expect_eq "$w" "$(q "$w")" ""; done
	# the next run sees them as they are now: only the files now too large
	# (by their size at the walk) are worth a word
	ix --threads 1 --max-file-size 8M "$TREE"
	expect_eq "second run: stderr" "$(sed -E 's/: [0-9]+ bytes, over/: N bytes, over/' <<<"$ERR" | grep -v z-endless)" \
		"xihu-index: $TREE/h-past.txt: N bytes, over --max-file-size 8388608 (skipped)"
	endless=$(grep z-endless <<<"$ERR")
	[[ -z "$endless" || "$endless" == "xihu-index: $TREE/z-endless.txt: "[0-9]*" bytes, over --max-file-size 8388608 (skipped)" ]] ||
		fail "second run: z-endless.txt: [$endless]"
	check
	expect_eq "second run: truncated" "$(q shrinkfirst) $(q shrinklast)" "b-shrinks.txt  "
	expect_eq "second run: grown" "$(q growlater)" "c-grows.txt "
	;;
gz_bomb)
	# bomb.txt.gz: 64 gzip members of 1 MiB each, 1 KiB each compressed
	# (deflate inflates at most ~1,032 times, so a few KiB could only reach
	# a few MiB: 64 KiB make 64 MiB, 4 times the --ram-mb budget).  Read
	# whole it would be a text; read to 1 MiB + a chunk it is skipped as too
	# large.  Both trees hold a small text and a small .gz, so the control
	# run inflates too.
	[ -x /usr/bin/time ] || { echo "SKIP: no /usr/bin/time (Debian package time)"; exit 77; }
	mkdir -p "$TREE/control" "$TREE/bomb"
	$PY - "$TREE" <<-'EOF' || fail "bomb"
	import gzip, sys
	t = sys.argv[1]
	for d in ["control", "bomb"]:
	    open(t + "/" + d + "/small.txt", "w").write("smallword\n")
	    open(t + "/" + d + "/small.txt.gz", "wb").write(gzip.compress(b"smallgzword\n"))
	first = gzip.compress(b"bombword\n" + b" " * ((1 << 20) - 9), 9)
	rest = gzip.compress(b" " * (1 << 20), 9)
	open(t + "/bomb/bomb.txt.gz", "wb").write(first + rest * 63)
	EOF
	size=$(stat -c %s "$TREE/bomb/bomb.txt.gz")
	[ "$size" -lt 70000 ] || fail "the bomb is $size bytes"
	ram_mb=16
	# peak DIR: runs xihu-index on $TREE/DIR into $T/DIR.ix; prints its exit
	# status and its peak RSS in KiB, as GNU time has it from wait4 (a child
	# of a small process: a Python parent's RSS would be counted in, as the
	# maxrss of the process the child was before its exec)
	peak() {
		local rc=0
		timeout 20 /usr/bin/time -f %M -o "$T/$1.rss" "$XIHU_INDEX_BIN" --index "$T/$1.ix" --threads 1 \
			--ram-mb "$ram_mb" --max-file-size 1M "$TREE/$1" >"$T/$1.out" 2>"$T/$1.err" || rc=$?
		echo "$rc $(tail -n 1 "$T/$1.rss")"
	}
	read -r crc control < <(peak control)
	read -r brc bomb < <(peak bomb)
	echo "peak RSS: control $control KiB, with the bomb $bomb KiB; --ram-mb $ram_mb ($((ram_mb * 1024)) KiB); build: ${SANITIZE:-none}"
	expect_eq "control: exit status [$(cat "$T/control.err")]" "$crc" 0
	expect_eq "bomb: exit status [$(cat "$T/bomb.err")]" "$brc" 0
	# Read whole, the bomb's 64 MiB would add 64 MiB to the peak at least.
	# Reading it costs the buffer of 1 MiB + 64 KiB, doubled as it grows;
	# under ASan the blocks it frees on the way stay mapped in its
	# quarantine: 4 MiB more at most there.  An absolute bound holds only
	# without the sanitizers, whose shadow memory and allocator take some
	# 25 MiB before the first file: under them the bound is relative only.
	[ $((bomb - control)) -lt 8192 ] || fail "the bomb costs $((bomb - control)) KiB of RSS over the control run"
	if [ "${SANITIZE:-none}" == none ]; then
		[ "$bomb" -lt $((ram_mb * 1024)) ] || fail "peak RSS $bomb KiB with the bomb: over --ram-mb $ram_mb"
	fi
	OUT=$(cat "$T/bomb.out")
	expect_eq "bomb: stderr" "$(cat "$T/bomb.err")" \
		"xihu-index: $TREE/bomb/bomb.txt.gz: inflates to more than --max-file-size 1048576 bytes (skipped)"
	expect_eq "bomb: documents" "$(docs)" 2
	expect_eq "bomb: skipped" "$(skipped)" "0 binary, 1 too large, 0 unreadable"
	IX=$T/bomb.ix
	check
	expect_eq "bomb: its text" "$("$XIHU_QUERY_BIN" "$IX" bombword smallgzword | tail -n +2 | cut -f2)" \
		"$(printf 'hits 0\n%s\nhits 1' "$TREE/bomb/small.txt.gz")"
	;;
*) fail "unknown case" ;;
esac
exit 0
