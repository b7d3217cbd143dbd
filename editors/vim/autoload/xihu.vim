" autoload/xihu.vim: runs `xihu search --vimgrep` and fills the quickfix
" list, for Vim 8+ and Neovim.  Called by the commands of plugin/xihu.vim.
"
" One search runs at a time: starting another stops the one in flight, whose
" answer is then dropped.  A search runs as a job (Vim's job_start, Neovim's
" jobstart) in Vim's current directory, so the relative paths xihu prints
" name the right files; without jobs, or with :Xihu!, it waits with
" systemlist().  Exit 0 fills the list and opens it; exit 1 (no match)
" leaves an empty list and says so; any other exit shows xihu's one-line
" error and leaves the list as it was.  Each search, finished or failed to
" start, then fires `:doautocmd User XihuDone`.

let s:running = {}   " the context of the search in flight, or {}

function! s:option(name, default) abort
  return get(g:, 'xihu_' . a:name, a:default)
endfunction

" The argv of a search for QUERY: the query is one word after `--`, as xihu
" joins its words with spaces and reads no option after `--`.
function! xihu#argv(query) abort
  let argv = [s:option('command', 'xihu'), 'search', '--vimgrep',
        \ '-n', string(s:option('max_results', 100))]
  let sock = s:option('socket', '')
  if !empty(sock)
    call extend(argv, ['--socket', expand(sock)])
  endif
  return argv + ['--', a:query]
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
  let argv = xihu#argv(query)
  if !executable(argv[0])
    call s:fail('xihu: ' . argv[0] . ': command not found (set g:xihu_command)')
    return
  endif
  call s:stop()
  let ctx = {'query': query, 'cwd': getcwd()}
  if a:wait || !s:have_jobs()
    call s:run_sync(ctx, argv)
  elseif has('nvim')
    call s:start_nvim(ctx, argv)
  else
    call s:start_vim(ctx, argv)
  endif
endfunction

function! xihu#search_word(wait) abort
  let word = expand('<cword>')
  if empty(word)
    call s:fail('xihu: no word under the cursor')
    return
  endif
  call xihu#search(xihu#quote(word), a:wait)
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
  let cmd = join(map(copy(a:argv), 'shellescape(v:val)')) . ' 2>' . shellescape(errfile)
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
        \ 'cwd': a:ctx.cwd,
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
" in the options' 'stdout' list, complete by the time on_exit runs.
function! s:start_nvim(ctx, argv) abort
  let opts = {'cwd': a:ctx.cwd, 'stdout_buffered': v:true, 'stderr_buffered': v:true}
  let opts.on_exit = function('s:nvim_exit', [a:ctx, opts])
  let a:ctx.job = jobstart(a:argv, opts)
  if a:ctx.job <= 0
    call s:fail('xihu: cannot start ' . a:argv[0])
    return
  endif
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

function! s:finish(ctx, status, out, err) abort
  if a:status != 0 && a:status != 1
    let lines = filter(copy(a:err), '!empty(v:val)')
    call s:error(empty(lines) ? printf('xihu: %s: exited with status %d', a:ctx.query, a:status)
          \ : lines[0])
  else
    let lines = a:status == 0 ? a:out : []
    " relative paths are relative to the directory xihu ran in
    if getcwd() !=# a:ctx.cwd
      call map(lines, 'v:val =~# "^/" ? v:val : a:ctx.cwd . "/" . v:val')
    endif
    call setqflist([], ' ', {'lines': lines, 'efm': '%f:%l:%c:%m',
          \ 'title': 'xihu: ' . a:ctx.query})
    if a:status == 1
      echohl WarningMsg
      echomsg 'xihu: no match for ' . a:ctx.query
      echohl None
    else
      botright copen
    endif
  endif
  call s:done_event()
endfunction
