# bash completion for xihu, xihu-index and xihud.
#
# Installed three times under bash-completion's completions directory (as
# xihu, xihu-index and xihud, the names bash-completion loads on demand);
# each copy defines all three.  Uses bash-completion's helpers
# (_init_completion, _filedir).  The option lists follow each program's
# --help; tests/docs checks that none is missing.

_xihu()
{
	local cur prev words cword split
	_init_completion -s || return

	local global_opts='--socket --index --no-autostart -h --help -V --version'
	local commands='search grep index list status stop'

	# the command: the first word that is neither an option nor the value of
	# --socket or --index
	local i cmd=
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		--socket | --index) ((i++)) ;;
		-*) ;;
		*)
			cmd=${words[i]}
			break
			;;
		esac
	done

	case $prev in
	--socket | --index)
		_filedir
		return
		;;
	esac

	local opts
	case $cmd in
	'')
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$global_opts" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		fi
		return
		;;
	search)
		case $prev in
		--color | --colour)
			COMPREPLY=($(compgen -W 'never always auto' -- "$cur"))
			return
			;;
		--sort)
			COMPREPLY=($(compgen -W 'score path' -- "$cur"))
			return
			;;
		-n | --offset | -m | --max-count | -C | --context)
			return # a number
			;;
		esac
		opts='--any -n --offset -m --max-count -C --context --sort --json --vimgrep
			-l --files-with-matches -c --count -q --quiet --color --colour
			--socket --index --no-autostart -h --help'
		;;
	grep)
		case $prev in
		--color | --colour)
			COMPREPLY=($(compgen -W 'never always auto' -- "$cur"))
			return
			;;
		-f | --file)
			_filedir
			return
			;;
		-e | --regexp | -g | --glob | -m | --max-count | -A | --after-context | \
			-B | --before-context | -C | --context)
			return # a pattern, a glob or a number
			;;
		esac
		if [[ $cur != -* ]]; then
			_filedir # the pattern, then PATHs
			return
		fi
		opts='-e --regexp -f --file -F --fixed-strings -i --ignore-case -s --case-sensitive --hidden
			-S --smart-case -w --word-regexp -g --glob -m --max-count
			-A --after-context -B --before-context -C --context
			-l --files-with-matches -c --count -q --quiet --vimgrep --json
			-n --line-number -N --no-line-number --column --heading --no-heading
			-H --with-filename -I --no-filename --color --colour
			--socket --index --no-autostart -h --help'
		;;
	index)
		if [[ $cur != -* ]]; then
			_filedir -d
			return
		fi
		opts='--socket --no-autostart -h --help'
		;;
	list | status)
		opts='--socket --index --no-autostart -h --help'
		;;
	stop)
		opts='--socket -h --help'
		;;
	*)
		return
		;;
	esac
	# a query word may start with '-' (a negation): offer options only then
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
	fi
} &&
	complete -F _xihu xihu

_xihu_index()
{
	local cur prev words cword split
	_init_completion -s || return

	case $prev in
	--index)
		_filedir -d
		return
		;;
	--jsonl | --stopwords)
		_filedir
		return
		;;
	--stem)
		COMPREPLY=($(compgen -W 'none arabic armenian basque catalan danish dutch
			english finnish french german greek hindi hungarian indonesian
			irish italian lithuanian nepali norwegian porter portuguese
			romanian russian serbian spanish swedish tamil turkish yiddish' -- "$cur"))
		return
		;;
	--max-file-size | --ram-mb | --threads | --lock-wait | --k1 | --b)
		return # a number
		;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W '--index --jsonl --max-file-size --ram-mb
			--threads --no-ignore --update --lock-wait --merge --check -v
			--verbose -q --quiet -h --help -V --version --stem --stopwords
			--fold-diacritics --k1 --b --no-pairs' -- "$cur"))
		return
	fi
	_filedir
} &&
	complete -F _xihu_index xihu-index

_xihud()
{
	local cur prev words cword split
	_init_completion -s || return

	case $prev in
	--index)
		_filedir -d
		return
		;;
	--socket)
		_filedir
		return
		;;
	--log-level)
		COMPREPLY=($(compgen -W 'error warning info debug' -- "$cur"))
		return
		;;
	--threads | --max-frame | --max-connections | --idle-timeout | \
		--max-pending | --max-results | --request-timeout | --spin-us)
		return # a number
		;;
	esac
	COMPREPLY=($(compgen -W '--index --socket -f --foreground --threads
		--max-frame --max-connections --idle-timeout --max-pending
		--max-results --request-timeout --no-sync --no-doc-cache --spin-us -v --verbose
		--log-level --syslog -h --help -V --version' -- "$cur"))
} &&
	complete -F _xihud xihud
