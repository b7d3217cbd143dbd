#!/bin/bash --norc
# bash_complete.sh FILE < CASES: sources bash-completion's helpers and FILE
# (contrib/completions/xihu.bash), and for each case, a line
# "COMMAND LINE<TAB>WORD...", calls the completion function registered for
# the command as bash would (COMP_WORDS, COMP_CWORD, COMP_LINE, COMP_POINT;
# a line ending in a space completes an empty word) and asserts that
# COMPREPLY holds every WORD.  Prints one line per case; exits 1 if any
# failed.
file=${1:?usage: bash_complete.sh FILE < CASES}
helpers=/usr/share/bash-completion/bash_completion
[ -r "$helpers" ] || { echo "FAIL: $helpers: not found (Debian package bash-completion)"; exit 1; }
. "$helpers"
. "$file" || { echo "FAIL: $file: does not source"; exit 1; }

failed=0
while IFS=$'\t' read -r line want; do
	read -ra COMP_WORDS <<<"$line"
	[[ $line == *' ' ]] && COMP_WORDS+=('')
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE=$line
	COMP_POINT=${#line}
	COMPREPLY=()
	spec=$(complete -p "${COMP_WORDS[0]}" 2>/dev/null)
	fn=$(sed -n 's/.*-F \([^ ]*\).*/\1/p' <<<"$spec")
	if [ -z "$fn" ]; then
		echo "FAIL: '$line<TAB>': no completion function for ${COMP_WORDS[0]}"
		failed=1
		continue
	fi
	"$fn" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	missing=()
	for w in $want; do
		found=
		for r in "${COMPREPLY[@]}"; do
			[ "$r" = "$w" ] && found=1 && break
		done
		[ "$found" ] || missing+=("$w")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		echo "FAIL: '$line<TAB>' does not offer: ${missing[*]} (it offers: ${COMPREPLY[*]})"
		failed=1
	else
		echo "ok: '$line<TAB>' offers $want"
	fi
done
exit $failed
