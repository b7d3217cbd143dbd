# fish completion for xihud.  The options follow `xihud --help`;
# tests/docs checks that none is missing.

complete -c xihud -f
complete -c xihud -l index -r -a '(__fish_complete_directories)' -d 'The index to serve'
complete -c xihud -l socket -r -F -d 'Where to listen'
complete -c xihud -s f -l foreground -d 'Do not daemonize'
complete -c xihud -l threads -x -d 'Worker threads running searches'
complete -c xihud -l max-frame -x -d 'Largest request frame accepted (bytes)'
complete -c xihud -l max-connections -x -d 'Connections served at once'
complete -c xihud -l idle-timeout -x -d 'Close connections idle this long (s)'
complete -c xihud -l max-pending -x -d 'Requests of one connection in flight'
complete -c xihud -l max-results -x -d 'offset + limit of one search'
complete -c xihud -l request-timeout -x -d "A search's default deadline (ms)"
complete -c xihud -l no-sync -d "Do not watch the index's trees"
complete -c xihud -l no-doc-cache -d "Inflate hits' texts every time, keeping no blocks"
complete -c xihud -l spin-us -x -d 'Poll this long after a request (us)'
complete -c xihud -s v -l verbose -d 'Log connections, reloads and syncs'
complete -c xihud -l log-level -x -a 'error warning info debug' -d 'Logging threshold'
complete -c xihud -l syslog -d 'Log to syslog instead of stderr'
complete -c xihud -s h -l help -d 'Show the help'
complete -c xihud -s V -l version -d 'Show the version'
