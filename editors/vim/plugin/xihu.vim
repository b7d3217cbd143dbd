" plugin/xihu.vim: the commands of the xihu plugin for Vim and Neovim.
" They search the project root (:help xihu-root); the work is in
" autoload/xihu.vim (loaded on first use).  Neovim's Lua module
" (lua/xihu/init.lua) adds a live picker.  See :help xihu.
if exists('g:loaded_xihu')
  finish
endif
let g:loaded_xihu = 1

" :Xihu {query}   search, fill the quickfix list and open it
" :Xihu! {query}  the same, waiting for the answer (no job)
command! -nargs=+ -bang Xihu call xihu#search(<q-args>, <bang>0)
" :XihuWord[!]    search for the word under the cursor
command! -nargs=0 -bang XihuWord call xihu#search_word(<bang>0)
" :XihuGrep[!] [options] PATTERN   exact search (xihu grep): every match
"                 under the project root, in the quickfix list
command! -nargs=+ -bang XihuGrep call xihu#grep(<q-args>, <bang>0)
