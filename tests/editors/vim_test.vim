" tests/editors/vim_test.vim: drives plugin/xihu.vim in Vim or Neovim,
" headless, in the tree editors.sh built; writes what it got into
" $XIHU_TEST_OUT/*.txt for editors.sh to compare.  Asynchronous searches are
" waited for through the User XihuDone event, at most 5 s each.
runtime plugin/xihu.vim
let g:xihu_command = $XIHU_BIN
let g:tree = getcwd()
let g:done = 0
autocmd User XihuDone let g:done += 1

function! Out(name, lines) abort
  call writefile(type(a:lines) == v:t_list ? a:lines : [a:lines], $XIHU_TEST_OUT . '/' . a:name)
endfunction

" the quickfix list as path:line:col:text, as xihu --vimgrep prints it
function! Items() abort
  return map(getqflist(), {_, e -> bufname(e.bufnr) . ':' . e.lnum . ':' . e.col . ':' . e.text})
endfunction

" the same, each path from the tree's top, wherever Vim's directory is
function! TreeItems() abort
  return map(getqflist(), {_, e -> substitute(fnamemodify(bufname(e.bufnr), ':p'),
        \ '^\V' . escape(g:tree, '\') . '/', '', '') . ':' . e.lnum . ':' . e.col . ':' . e.text})
endfunction

function! Title() abort
  return getqflist({'title': 1}).title
endfunction

function! LastMessage() abort
  return split(execute('messages'), "\n")[-1]
endfunction

" wait until N searches have finished
function! Wait(n) abort
  for _ in range(500)
    if g:done >= a:n
      return
    endif
    sleep 10m
  endfor
endfunction

" as a job
Xihu kangaroo
call Wait(1)
call Out('async.txt', Items())
call Out('async_title.txt', Title())

" waiting
Xihu! wombat
call Out('sync.txt', Items())

" the word under the cursor, quoted as a phrase
cclose
edit src/main.c
call cursor(3, 12)
XihuWord
call Wait(3)
call Out('word.txt', Items())
call Out('word_title.txt', Title())

" no match: an empty list and a message
Xihu! nothingness
call Out('nomatch.txt', string(len(getqflist())))
call Out('nomatch_msg.txt', LastMessage())

" an error keeps the list and shows xihu's own line
Xihu kangaroo
call Wait(5)
Xihu "unclosed
call Wait(6)
call Out('error.txt', Items())
call Out('error_msg.txt', LastMessage())

" a search started while another runs replaces it: one event for the two
Xihu nothingness
Xihu kangaroo
call Wait(7)
call Out('replaced.txt', Items())
call Out('done.txt', string(g:done))

" a client that is not there: a message, the list kept, the event fired
let g:xihu_command = $XIHU_TEST_OUT . '/no-such-xihu'
Xihu kangaroo
call Out('missing.txt', [LastMessage(), g:done] + Items())
let g:xihu_command = $XIHU_BIN

" :XihuGrep in a subdirectory of a project (proj/, with its .git), no file
" open: every match under the project's root, none outside it
cclose
cd proj/drivers
enew
XihuGrep spin_lock
call Wait(9)
call Out('grep.txt', TreeItems())
call Out('grep_title.txt', Title())

" the root is the current file's, wherever Vim's directory is
cclose
execute 'cd' fnameescape(g:tree)
edit proj/include/lock.h
XihuGrep! spin_lock
call Out('grep_file.txt', TreeItems())

" options before the pattern
cclose
XihuGrep! -i -g *.h lock
call Out('grep_flags.txt', TreeItems())

" xihu's error: the list kept, its line shown
XihuGrep! (unclosed
call Out('grep_error.txt', TreeItems())
call Out('grep_error_msg.txt', LastMessage())

XihuGrep! nothingness
call Out('grep_nomatch.txt', [len(getqflist()), LastMessage()])

" an output mode that lists no lines is refused
XihuGrep -l spin
call Out('grep_usage.txt', [LastMessage(), g:done])

" the word search keeps to the project too: koala is also in other/
cclose
cd proj/drivers
enew
Xihu! koala
call Out('koala.txt', TreeItems())

" more files than g:xihu_max_results (100): the list has 100, and says so
Xihu! spin_lock
call Out('more.txt', [len(uniq(sort(map(getqflist(), 'v:val.bufnr')))), LastMessage()])
qa!
