#!/usr/bin/zsh -f
# zsh_complete.zsh DIR < CASES: loads DIR/_xihu (the zsh completion) with
# compinit in an interactive zsh on a pseudo-terminal (zsh/zpty), and for
# each case, a line "COMMAND LINE<TAB>WORD...", asserts that completing at
# the end of the command line offers every WORD.  compadd is wrapped so
# that each match is printed as "MATCH:<word>" instead of being inserted.
# Prints one line per case; exits 1 if any failed.
emulate -L zsh
setopt err_return
dir=${1:?usage: zsh_complete.zsh DIR}
zmodload zsh/zpty
[[ -r $dir/_xihu ]] || { print -r -- "FAIL: $dir/_xihu: not found"; exit 1 }
zsh -n $dir/_xihu || { print -r -- "FAIL: $dir/_xihu: zsh -n finds a syntax error"; exit 1 }

fail() { print -r -- "FAIL: $*" >&2; zpty -d z 2>/dev/null; exit 1 }
failed=0

zpty z zsh -f -i
zpty -w z "PS1='%% '; PS2=''; unset zle_bracketed_paste"
zpty -w z "fpath=(${(q)dir} \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w z 'compadd() {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi
  local -a __m; builtin compadd -A __m "$@"; local w
  for w in $__m; do print -rn -- $'"'"'\nMATCH:'"'"'$w$'"'"'\n'"'"'; done
}'
zpty -w z 'xihu-complete() { _main_complete; print -rn -- $'"'"'\nXIHU-DONE\n'"'"' }'
zpty -w z "zle -C xihu-complete complete-word xihu-complete; bindkey '^I' xihu-complete"

# read_until PATTERN: appends the terminal's output to $out until it
# matches PATTERN (at most 10 s)
read_until() {
  local chunk i
  for (( i = 0; i < 500; i++ )); do
    [[ $out == $~1 ]] && return 0
    if zpty -r -t z chunk; then
      out+=$chunk
    else
      sleep 0.02
    fi
  done
  return 1
}

# complete LINE: the matches offered at the end of LINE, one per line.
# zsh gives up completing while more input is pending, so the TAB comes
# last and the line is cleared only once the completion widget has said it
# is done (nothing is inserted: the wrapped compadd adds no match).
complete() {
  local out=
  zpty -n -w z "$1"$'\t'
  read_until $'*XIHU-DONE[\r\n]*' || fail "zsh did not complete: $1: ${(q+)out}"
  zpty -n -w z $'\C-u''print XIHU-''END'$'\n'
  read_until $'*XIHU-END[\r\n]*' || fail "no answer from zsh after: $1"
  print -r -- ${(F)${(M)${(f)out//$'\r'/}:#MATCH:*}#MATCH:}
}

# expect LINE WORD...: every WORD is among the matches of LINE
expect() {
  local line=$1 got w missing=(); shift
  got=$(complete "$line")
  for w in "$@"; do
    (( ${${(f)got}[(Ie)$w]} )) || missing+=($w)
  done
  if (( $#missing )); then
    print -r -- "FAIL: '$line<TAB>' does not offer: $missing (it offers: ${(f)got})"
    failed=1
  else
    print -r -- "ok: '$line<TAB>' offers $*"
  fi
}

local c line
while IFS= read -r c; do
  line=${c%%$'\t'*}
  expect "$line" ${=c#*$'\t'}
done
zpty -d z
exit $failed
