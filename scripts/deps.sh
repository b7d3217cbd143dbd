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
	libprotobuf-c-dev protobuf-c-compiler libutf8proc-dev libstemmer-dev libdeflate-dev)
# What the test suites need on top.
XIHU_TEST_PACKAGES=(libcmocka-dev clang python3 procps time git vim neovim emacs-nox groff-base man-db bash-completion zsh fish)
