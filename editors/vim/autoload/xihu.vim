" autoload/xihu.vim: runs `xihu search --vimgrep` (:Xihu, :XihuWord) and
" `xihu grep --vimgrep` (:XihuGrep) and fills the quickfix list, for Vim 8+
" and Neovim.  Called by the commands of plugin/xihu.vim; lua/xihu/init.lua
" uses xihu#root() and xihu#path_filter().
"
" Both search the project root (xihu#root): xihu runs there, so a grep
" covers that tree (xihu grep without a PATH searches its current
" directory, as rg does) and the index is the one whose tree holds it; a
" word search, which xihu answers from the whole index, gets a path:
" filter for the root's files (xihu#path_filter).
"
" One search runs at a time: starting another stops the one in flight, whose
" answer is then dropped.  A search runs as a job (Vim's job_start, Neovim's
" jobstart); without jobs, or with a bang, it waits with systemlist().
" Exit 0 fills the list and opens it; exit 1 (no match) leaves an empty
" list and says so; exit 2 shows xihu's one-line error and leaves the list
" as it was, unless xihu printed lines before failing (a grep that could
" not read a file): those fill the list, and the one message says it is
" incomplete.  A line xihu writes on stderr beside a success is shown too,
" and a word search whose list holds g:xihu_max_results files says when
" more matched (s:more_note).  Each search, finished or failed to start,
" then fires `:doautocmd User XihuDone`.

let s:running = {}   " the context of the search in flight, or {}

function! s:option(name, default) abort
  return get(g:, 'xihu_' . a:name, a:default)
endfunction

" The project root: the nearest directory holding .git (a directory, or the
" file of a worktree or submodule), from the current file's directory up,
" or from the current directory when the buffer has no file; else the
" current directory.  No trailing '/' (but '/' itself).
function! xihu#root() abort
  let dir = ''
  if empty(&buftype) && !empty(expand('%'))
    let dir = expand('%:p:h')
  endif
  if empty(dir) || !isdirectory(dir)
    let dir = getcwd()
  endif
  while 1
    if isdirectory(dir . '/.git') || filereadable(dir . '/.git')
      return dir
    endif
    let up = fnamemodify(dir, ':h')
    if up ==# dir
      return getcwd()
    endif
    let dir = up
  endwhile
endfunction

" The query filter that keeps the files under ROOT: path:ROOT/*, ROOT with
" its symbolic links resolved (the index holds real paths) and the glob's
" special characters escaped; '' for '/' (everything) and for a root a
" query word cannot hold (white space, a parenthesis or a quote).
function! xihu#path_filter(root) abort
  let dir = substitute(resolve(a:root), '.\zs/\+$', '', '')
  if dir ==# '/' || dir =~# '[[:space:]()"]'
    return ''
  endif
  return 'path:' . escape(dir, '\*?[]') . '/*'
endfunction

function! s:socket_args() abort
  let sock = s:option('socket', '')
  return empty(sock) ? [] : ['--socket', expand(sock)]
endfunction

" The argv of a word search for QUERY, restricted to the files under ROOT
" (default: none): the query is one word after `--`, as xihu joins its
" words with spaces and reads no option after `--`.  The filter goes last,
" so the columns of xihu's syntax errors are the query's own (AND binds
" loosest: `a OR b path:X` is `(a OR b) AND path:X`).  FORMAT (default
" --vimgrep) may be --count, the number of matching files.
function! xihu#argv(query, ...) abort
  let filter = a:0 ? xihu#path_filter(a:1) : ''
  let format = a:0 > 1 ? [a:2] : ['--vimgrep', '-n', string(s:option('max_results', 100))]
  return [s:option('command', 'xihu'), 'search'] + format + s:socket_args()
        \ + ['--', empty(filter) ? a:query : a:query . ' ' . filter]
endfunction

" xihu grep's options that take a value: short ones (the rest of their word,
" else the next word: -m5, -m 5, -Fe PAT) and long ones (after '=', else the
" next word); and the output modes that print no lines to list.
let s:grep_value_short = 'emCABg'
let s:grep_value_long = ['--regexp', '--max-count', '--context', '--after-context',
      \ '--before-context', '--glob', '--color', '--socket', '--index']
let s:grep_not_lines_short = 'lcqh'
let s:grep_not_lines_long = ['--files-with-matches', '--count', '--quiet', '--json',
      \ '--vimgrep', '--help']

" One option word of :XihuGrep: {'value': 1 when the next word is its value,
" 'pattern': 1 when it gives a pattern (-e), 'error': why it is refused}.
function! s:grep_option(word) abort
  if a:word =~# '^--'
    let name = matchstr(a:word, '^[^=]*')
    if index(s:grep_not_lines_long, name) >= 0
      return {'error': name}
    endif
    return {'value': name ==# a:word && index(s:grep_value_long, name) >= 0,
          \ 'pattern': name ==# '--regexp'}
  endif
  let i = 1
  while i < len(a:word)
    let c = a:word[i]
    if stridx(s:grep_not_lines_short, c) >= 0
      return {'error': '-' . c}
    endif
    if stridx(s:grep_value_short, c) >= 0
      return {'value': i == len(a:word) - 1, 'pattern': c ==# 'e'}
    endif
    let i += 1
  endwhile
  return {}
endfunction

" The argv of `:XihuGrep ARGS`: leading words starting with '-' are xihu
" grep's options (a value is the rest of the word or the next word; `--`
" ends them), and the rest of the line, spaces and all, is the pattern,
" passed as `-e REST`; with -e options it may be empty.  Returns
" [argv, ''] or [[], error].
function! xihu#grep_argv(args) abort
  let rest = substitute(a:args, '^\s\+', '', '')
  let opts = []
  let patterns = 0
  while rest =~# '^-'
    let word = matchstr(rest, '^\S\+')
    let rest = substitute(rest[len(word):], '^\s\+', '', '')
    if word ==# '--'
      break
    endif
    let o = s:grep_option(word)
    if has_key(o, 'error')
      return [[], 'xihu: :XihuGrep lists matching lines; ' . o.error . ' is not for it']
    endif
    let patterns += get(o, 'pattern', 0)
    call add(opts, word)
    if get(o, 'value', 0)
      let value = matchstr(rest, '^\S\+')
      if empty(value)
        return [[], 'xihu: ' . word . ' needs a value']
      endif
      let rest = substitute(rest[len(value):], '^\s\+', '', '')
      call add(opts, value)
    endif
  endwhile
  if !empty(rest)
    call extend(opts, ['-e', rest])
  elseif !patterns
    return [[], 'xihu: no pattern']
  endif
  return [[s:option('command', 'xihu'), 'grep', '--vimgrep'] + s:socket_args() + opts, '']
endfunction

" WORD as a query that matches it and only it: a quoted phrase, so that a
" leading '-', a trailing '*' or an upper-case OR stays a word.  A '"' in a
" phrase separates tokens as a space does, so it becomes one.
function! xihu#quote(word) abort
  return '"' . substitute(a:word, '"', ' ', 'g') . '"'
endfunction

function! s:error(msg) abort
  echohl ErrorMsg
  echomsg a:msg
  echohl None
endfunction

function! s:warning(msg) abort
  echohl WarningMsg
  echomsg a:msg
  echohl None
endfunction

function! s:done_event() abort
  if exists('#User#XihuDone')
    doautocmd <nomodeline> User XihuDone
  endif
endfunction

" A search that could not start: its error, and the event all searches fire.
function! s:fail(msg) abort
  call s:error(a:msg)
  call s:done_event()
endfunction

function! xihu#search(query, wait) abort
  let query = trim(a:query)
  if empty(query)
    call s:fail('xihu: empty query')
    return
  endif
  let root = xihu#root()
  call s:start({'query': query, 'title': 'xihu: ' . query, 'dir': root,
        \ 'max': s:option('max_results', 100), 'count_argv': xihu#argv(query, root, '--count')},
        \ xihu#argv(query, root), a:wait)
endfunction

function! xihu#search_word(wait) abort
  let word = expand('<cword>')
  if empty(word)
    call s:fail('xihu: no word under the cursor')
    return
  endif
  call xihu#search(xihu#quote(word), a:wait)
endfunction

" :XihuGrep [options] PATTERN: every match under the project root.
function! xihu#grep(args, wait) abort
  let args = trim(a:args)
  let [argv, err] = xihu#grep_argv(args)
  if !empty(err)
    call s:fail(err)
    return
  endif
  call s:start({'query': args, 'title': 'xihu grep: ' . args, 'dir': xihu#root()},
        \ argv, a:wait)
endfunction

" Runs ARGV in CTX.dir, as a job unless WAIT; CTX: query (for messages),
" title (the list's), dir.
function! s:start(ctx, argv, wait) abort
  if !executable(a:argv[0])
    call s:fail('xihu: ' . a:argv[0] . ': command not found (set g:xihu_command)')
    return
  endif
  call s:stop()
  if a:wait || !s:have_jobs()
    call s:run_sync(a:ctx, a:argv)
  elseif has('nvim')
    call s:start_nvim(a:ctx, a:argv)
  else
    call s:start_vim(a:ctx, a:argv)
  endif
endfunction

function! s:have_jobs() abort
  return has('nvim') ? exists('*jobstart') : has('job') && has('channel')
endfunction

function! s:stop() abort
  if empty(s:running)
    return
  endif
  let ctx = s:running
  let s:running = {}
  let ctx.stale = 1
  if has('nvim')
    silent! call jobstop(ctx.job)
  else
    silent! call job_stop(ctx.job)
  endif
endfunction

function! s:run_sync(ctx, argv) abort
  let errfile = tempname()
  let cmd = 'cd ' . shellescape(a:ctx.dir) . ' && '
        \ . join(map(copy(a:argv), 'shellescape(v:val)')) . ' 2>' . shellescape(errfile)
  let out = systemlist(cmd)
  let status = v:shell_error
  let err = filereadable(errfile) ? readfile(errfile) : []
  call delete(errfile)
  call s:finish(a:ctx, status, out, err)
endfunction

" Vim: out_cb and err_cb get one line each; the search is over when both
" the process has exited and its channel is closed, whichever comes last.
function! s:start_vim(ctx, argv) abort
  call extend(a:ctx, {'out': [], 'err': [], 'status': -1, 'closed': 0})
  let a:ctx.job = job_start(a:argv, {
        \ 'cwd': a:ctx.dir,
        \ 'in_io': 'null',
        \ 'out_cb': function('s:vim_line', [a:ctx, 'out']),
        \ 'err_cb': function('s:vim_line', [a:ctx, 'err']),
        \ 'exit_cb': function('s:vim_exit', [a:ctx]),
        \ 'close_cb': function('s:vim_close', [a:ctx]),
        \ })
  if job_status(a:ctx.job) ==# 'fail'
    call s:fail('xihu: cannot start ' . a:argv[0])
    return
  endif
  let s:running = a:ctx
endfunction

function! s:vim_line(ctx, stream, channel, line) abort
  call add(a:ctx[a:stream], a:line)
endfunction

function! s:vim_exit(ctx, job, status) abort
  let a:ctx.status = a:status
  call s:vim_done(a:ctx)
endfunction

function! s:vim_close(ctx, channel) abort
  let a:ctx.closed = 1
  call s:vim_done(a:ctx)
endfunction

function! s:vim_done(ctx) abort
  if a:ctx.status >= 0 && a:ctx.closed
    call s:job_done(a:ctx, a:ctx.status, a:ctx.out, a:ctx.err)
  endif
endfunction

" Neovim: with stdout_buffered and no on_stdout, the whole output is kept
" in the options' 'stdout' list, complete by the time on_exit runs.  stdin
" is closed, so a grep without a PATH never waits for it.
function! s:start_nvim(ctx, argv) abort
  let opts = {'cwd': a:ctx.dir, 'stdout_buffered': v:true, 'stderr_buffered': v:true}
  let opts.on_exit = function('s:nvim_exit', [a:ctx, opts])
  let a:ctx.job = jobstart(a:argv, opts)
  if a:ctx.job <= 0
    call s:fail('xihu: cannot start ' . a:argv[0])
    return
  endif
  call chanclose(a:ctx.job, 'stdin')
  let s:running = a:ctx
endfunction

function! s:nvim_exit(ctx, opts, job, status, event) abort
  call s:job_done(a:ctx, a:status, s:lines(get(a:opts, 'stdout', [])),
        \ s:lines(get(a:opts, 'stderr', [])))
endfunction

" Neovim's buffered output ends with '' after the last newline.
function! s:lines(data) abort
  return !empty(a:data) && a:data[-1] ==# '' ? a:data[:-2] : a:data
endfunction

function! s:job_done(ctx, status, out, err) abort
  if get(a:ctx, 'stale', 0)
    return
  endif
  let s:running = {}
  call s:finish(a:ctx, a:status, a:out, a:err)
endfunction

" xihu's message: its first stderr line, with how many more there were.
function! s:message(ctx, status, err) abort
  let lines = filter(copy(a:err), '!empty(v:val)')
  if empty(lines)
    return a:status > 1 ? printf('xihu: %s: exited with status %d', a:ctx.query, a:status) : ''
  endif
  return lines[0] . (len(lines) > 1 ? printf(' (and %d more lines)', len(lines) - 1) : '')
endfunction

" A word search's list that holds max_results files may not hold all: if
" xihu counts more (xihu search --count, the same query), the note saying
" so, else ''.  (--vimgrep says nothing of the files it left out.)
function! s:more_note(ctx, out) abort
  if !has_key(a:ctx, 'count_argv')
    return ''
  endif
  let files = {}
  for l in a:out
    let files[matchstr(l, '^.\{-}\ze:\d\+:\d\+:')] = 1
  endfor
  if len(files) < a:ctx.max
    return ''
  endif
  let counted = systemlist('cd ' . shellescape(a:ctx.dir) . ' && '
        \ . join(map(copy(a:ctx.count_argv), 'shellescape(v:val)')) . ' 2>/dev/null')
  let total = v:shell_error == 0 && !empty(counted) ? str2nr(counted[0]) : 0
  return total > len(files) ? printf('xihu: showing %d of %d files (g:xihu_max_results)',
        \ len(files), total) : ''
endfunction

function! s:finish(ctx, status, out, err) abort
  let msg = s:message(a:ctx, a:status, a:err)
  if a:status == 0 && empty(msg)
    let msg = s:more_note(a:ctx, a:out)
  endif
  if a:status > 1 && empty(a:out)
    call s:error(msg)
  else
    let lines = a:status == 1 ? [] : copy(a:out)
    " relative paths are relative to the directory xihu ran in
    if getcwd() !=# a:ctx.dir
      let dir = a:ctx.dir ==# '/' ? '' : a:ctx.dir
      call map(lines, 'v:val =~# "^/" ? v:val : dir . "/" . v:val')
    endif
    call setqflist([], ' ', {'lines': lines, 'efm': '%f:%l:%c:%m', 'title': a:ctx.title})
    if a:status == 1
      call s:warning('xihu: no match for ' . a:ctx.query)
    else
      botright copen
      if a:status > 1
        call s:error(printf('%s (the list is incomplete: %d lines)', msg, len(lines)))
      elseif !empty(msg)
        call s:warning(msg)
      endif
    endif
  endif
  call s:done_event()
endfunction
