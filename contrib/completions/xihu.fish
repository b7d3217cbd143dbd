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

# xihu index PATH
complete -c xihu -n 'test (__xihu_command) = index' -a '(__fish_complete_directories)'
