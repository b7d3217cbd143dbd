# fish completion for xihu.  The options follow `xihu --help` and
# `xihu COMMAND --help`; tests/docs checks that none is missing.

# The command given so far: the first word that is neither an option nor
# the value of --socket or --index ("" before the command).
function __xihu_command
    set -l words (commandline -opc)
    set -e words[1]
    while set -q words[1]
        switch $words[1]
            case --socket --index
                set -e words[1]
            case '-*'
            case '*'
                echo $words[1]
                return
        end
        set -e words[1]
    end
    echo ''
end

complete -c xihu -f

# before the command
complete -c xihu -n 'test -z (__xihu_command)' -a search -d 'Ranked search'
complete -c xihu -n 'test -z (__xihu_command)' -a grep -d 'Exact search, as ripgrep'
complete -c xihu -n 'test -z (__xihu_command)' -a index -d 'Have the daemon index a tree and serve it'
complete -c xihu -n 'test -z (__xihu_command)' -a list -d 'The indexes the daemon serves'
complete -c xihu -n 'test -z (__xihu_command)' -a status -d "The daemon's version, index and latency"
complete -c xihu -n 'test -z (__xihu_command)' -a stop -d 'Shut the daemon down gracefully'
complete -c xihu -n 'test -z (__xihu_command)' -s V -l version -d 'Show the version'

# wherever they apply (stop takes --socket only, index no --index)
complete -c xihu -l socket -r -F -d "The daemon's socket"
complete -c xihu -n 'not contains -- (__xihu_command) index stop' -l index -r -a '(__fish_complete_directories)' -d 'The index directory'
complete -c xihu -n 'test (__xihu_command) != stop' -l no-autostart -d 'Fail when no daemon answers instead of starting xihud'
complete -c xihu -s h -l help -d 'Show the help'

# xihu search
set -l search 'test (__xihu_command) = search'
complete -c xihu -n $search -l any -d 'Match any of the words, ranked (OR, not AND)'
complete -c xihu -n $search -s n -x -d 'Show N hits (default 10)'
complete -c xihu -n $search -l offset -x -d 'Skip the first K hits'
complete -c xihu -n $search -s m -l max-count -x -d 'At most N matching lines of each hit'
complete -c xihu -n $search -s C -l context -x -d 'N lines before and after each matching line'
complete -c xihu -n $search -l sort -x -a 'score\t"Best first (default)" path\t"The N best hits in path order"' -d 'Order of the hits'
complete -c xihu -n $search -l json -d 'JSON Lines: one object per hit, then a summary'
complete -c xihu -n $search -l vimgrep -d 'path:line:col:text per matching line'
complete -c xihu -n $search -s l -l files-with-matches -d 'Paths (or record ids) only'
complete -c xihu -n $search -s c -l count -d 'The number of matching documents'
complete -c xihu -n $search -s q -l quiet -d 'Print nothing; exit status only'
complete -c xihu -n $search -l color -l colour -x -a 'never always auto' -d 'When to color the output'

# xihu grep
set -l grep 'test (__xihu_command) = grep'
complete -c xihu -n $grep -F
complete -c xihu -n $grep -s e -l regexp -x -d 'A pattern (repeatable)'
complete -c xihu -n $grep -s f -l file -r -d 'The patterns of FILE, one per line'
complete -c xihu -n $grep -l hidden -d 'Also names starting with a dot'
complete -c xihu -n $grep -s F -l fixed-strings -d 'The patterns are literal strings'
complete -c xihu -n $grep -s i -l ignore-case -d 'Match case-insensitively'
complete -c xihu -n $grep -s s -l case-sensitive -d 'Match case-sensitively'
complete -c xihu -n $grep -s S -l smart-case -d 'Insensitive unless a pattern has an upper-case letter'
complete -c xihu -n $grep -s w -l word-regexp -d 'Only whole-word matches'
complete -c xihu -n $grep -s g -l glob -x -d 'Only files matching GLOB (!GLOB excludes)'
complete -c xihu -n $grep -s m -l max-count -x -d 'At most N matching lines per file'
complete -c xihu -n $grep -s A -l after-context -x -d 'N lines after each match'
complete -c xihu -n $grep -s B -l before-context -x -d 'N lines before each match'
complete -c xihu -n $grep -s C -l context -x -d 'N lines before and after each match'
complete -c xihu -n $grep -s l -l files-with-matches -d 'Only the paths of files with a match'
complete -c xihu -n $grep -s c -l count -d 'The number of matching lines of each file'
complete -c xihu -n $grep -s q -l quiet -d 'Print nothing; exit 0 at the first match'
complete -c xihu -n $grep -l vimgrep -d 'path:line:col:text for each match'
complete -c xihu -n $grep -l json -d 'JSON Lines: an object per line, then a summary'
complete -c xihu -n $grep -s n -l line-number -d 'Show line numbers'
complete -c xihu -n $grep -s N -l no-line-number -d 'Do not show line numbers'
complete -c xihu -n $grep -l column -d 'Show the column of the first match'
complete -c xihu -n $grep -l heading -d 'Paths above their lines'
complete -c xihu -n $grep -l no-heading -d 'Paths on each line'
complete -c xihu -n $grep -s H -l with-filename -d 'Show paths even for a single file'
complete -c xihu -n $grep -s I -l no-filename -d 'Never show paths'
complete -c xihu -n $grep -l color -l colour -x -a 'never always auto' -d 'When to color the output'

# xihu index PATH
complete -c xihu -n 'test (__xihu_command) = index' -a '(__fish_complete_directories)'
