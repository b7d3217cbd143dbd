# fish completion for xihu-index.  The options follow `xihu-index --help`;
# tests/docs checks that none is missing.

complete -c xihu-index -l index -r -a '(__fish_complete_directories)' -d 'The index directory'
complete -c xihu-index -l jsonl -r -F -d 'Add the records of a JSON Lines file'
complete -c xihu-index -l max-file-size -x -d 'Skip files over N bytes (K, M, G)'
complete -c xihu-index -l ram-mb -x -d 'RAM for the in-memory segments, in MiB'
complete -c xihu-index -l threads -x -d 'Indexing threads'
complete -c xihu-index -l no-ignore -d 'Do not read .gitignore and .ignore'
complete -c xihu-index -l update -d "Update the trees and files of the last run"
complete -c xihu-index -l lock-wait -x -d 'Seconds to wait for another writer'
complete -c xihu-index -l merge -d 'Merge all segments into one'
complete -c xihu-index -l check -d 'Verify every file and checksum of the index'
complete -c xihu-index -s v -l verbose -d 'A line per commit and per merge'
complete -c xihu-index -s q -l quiet -d 'No progress line and no summary'
complete -c xihu-index -s h -l help -d 'Show the help'
complete -c xihu-index -s V -l version -d 'Version and index format version'
complete -c xihu-index -l stem -x -a 'none arabic armenian basque catalan danish dutch english finnish french german greek hindi hungarian indonesian irish italian lithuanian nepali norwegian porter portuguese romanian russian serbian spanish swedish tamil turkish yiddish' -d 'Snowball stemming language'
complete -c xihu-index -l stopwords -r -F -d 'Words not to index, one per line'
complete -c xihu-index -l fold-diacritics -d 'Fold accents and other marks'
complete -c xihu-index -l k1 -x -d "BM25's term saturation"
complete -c xihu-index -l b -x -d "BM25's length normalization"
complete -c xihu-index -l no-pairs -d 'No pair terms for phrases'
