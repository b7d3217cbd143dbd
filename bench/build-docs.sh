#!/usr/bin/env bash
# bench/build-docs.sh [RUNS]: build time and index size of xihu beside
# SQLite FTS5 (fts5(path, body), optimized) on the Linux 6.1 Documentation/
# tree, each built RUNS times (default 3) in the same run; medians reported,
# and the ratios xihu / FTS5.  A benchmark, not a test.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
. scripts/deps.sh
ensure_packages "${XIHU_BUILD_PACKAGES[@]}" linux-source-6.1 python3 xz-utils bc
runs=${1:-3}
work=$top/bench/work
mkdir -p "$work"
if [ ! -d "$work/linux-source-6.1/Documentation" ]; then
	echo "unpacking Documentation/ from /usr/src/linux-source-6.1.tar.xz" >&2
	tar -C "$work" -xJf /usr/src/linux-source-6.1.tar.xz linux-source-6.1/Documentation
fi
tree=$work/linux-source-6.1/Documentation
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
corpus_bytes=$(find "$tree" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
corpus_files=$(find "$tree" -type f | wc -l)

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

xs=() fs=()
for i in $(seq "$runs"); do
	rm -rf "$work/xihu-index"
	sync
	t0=$(date +%s.%N)
	build/index/xihu-index --quiet --index "$work/xihu-index" "$tree"
	t1=$(date +%s.%N)
	xs+=("$(echo "$t1 - $t0" | bc -l)")
	sync
	read -r ffiles fsec fbytes _ < <(/usr/bin/python3 bench/fts5_build.py "$tree" "$work/fts5.db")
	fs+=("$fsec")
done
xsec=$(printf '%s\n' "${xs[@]}" | median)
fsec=$(printf '%s\n' "${fs[@]}" | median)
xbytes=$(du -sb "$work/xihu-index" | cut -f1)
xdocs=$(build/index/xihu-index --index "$work/xihu-index" --check | sed -n 's/.*(\([0-9]*\) docs).*/\1/p' | awk '{s+=$1} END {print s}')

printf '\nLinux 6.1 Documentation/: %s files, %.1f MB; %s runs each, medians; %s, %s cores\n' \
	"$corpus_files" "$(echo "$corpus_bytes / 1000000" | bc -l)" "$runs" "$(date -u +%F)" "$(nproc)"
printf '%-14s %8s %10s %12s\n' engine docs "build s" "index MB"
printf '%-14s %8s %10.2f %12.1f\n' xihu "$xdocs" "$xsec" "$(echo "$xbytes / 1000000" | bc -l)"
printf '%-14s %8s %10.2f %12.1f\n' "sqlite fts5" "$ffiles" "$fsec" "$(echo "$fbytes / 1000000" | bc -l)"
printf 'ratio xihu/fts5: build %.2f, size %.2f; xihu index / corpus bytes: %.2f\n' \
	"$(echo "$xsec / $fsec" | bc -l)" "$(echo "$xbytes / $fbytes" | bc -l)" "$(echo "$xbytes / $corpus_bytes" | bc -l)"
