# scripts/deps.sh: sourced by scripts/demo, scripts/test and bench/ scripts.
# ensure_packages PKG...: installs the Debian packages that are missing,
# running apt-get update at most once per call, and nothing when all are there.
ensure_packages() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "xihu: missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
		return 1
	fi
	echo "installing: ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2 || return 1
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || return 1
}

# What building xihu needs.
XIHU_BUILD_PACKAGES=(gcc libc6-dev pkg-config meson ninja-build libevent-dev zlib1g-dev
	libprotobuf-c-dev protobuf-c-compiler libutf8proc-dev libstemmer-dev libdeflate-dev libpcre2-dev)
# What the test suites need on top.
XIHU_TEST_PACKAGES=(libcmocka-dev clang python3 procps time git vim neovim emacs-nox groff-base man-db bash-completion zsh fish ripgrep)

# run_logged WHAT LOG CMD...: runs CMD with its output in LOG.  When it fails,
# says on stderr which step failed and shows the last lines of LOG.
run_logged() {
	local what=$1 log=$2 rc=0
	shift 2
	"$@" >"$log" 2>&1 || rc=$?
	[ "$rc" -eq 0 ] && return 0
	echo "$(basename "$(dirname "$0")")/${0##*/}: $what failed (exit $rc): $*" >&2
	echo "-- the last lines of $log:" >&2
	tail -n 30 "$log" >&2
	return "$rc"
}

# meson_setup DIR ARGS...: sets up the build directory DIR with ARGS, or
# reconfigures it when it exists (and wipes it when its old configuration
# cannot be reused).  Its warnings and messages are shown, the rest of its
# output is kept in DIR.setup.log only when it fails, reported as run_logged
# does.
meson_setup() {
	local dir=$1 log=$1.setup.log
	shift
	if [ -f "$dir/build.ninja" ] && meson setup --reconfigure "$dir" "$@" >"$log" 2>&1; then
		:
	elif [ -f "$dir/build.ninja" ]; then
		run_logged "meson setup $dir" "$log" meson setup --wipe "$dir" "$@" || return
	else
		rm -rf "$dir"
		run_logged "meson setup $dir" "$log" meson setup "$dir" "$@" || return
	fi
	grep -E '^(WARNING|DEPRECATION|Message):|: WARNING:' "$log" | sed "s|^|$dir: |" >&2
	rm -f "$log"
	return 0
}
