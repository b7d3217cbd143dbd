-- tests/editors/nvim_test.lua: drives lua/xihu in Neovim, headless, in the
-- tree editors.sh built; writes what it got into $XIHU_TEST_OUT/*.txt for
-- editors.sh to compare.  Every wait is bounded (vim.wait, 5 s).
local xihu = require('xihu')
xihu.setup({ cmd = os.getenv('XIHU_BIN'), socket = os.getenv('XIHU_TEST_SOCKET'), max_results = 100 })

local function out(name, lines)
  if type(lines) ~= 'table' then
    lines = { tostring(lines) }
  end
  vim.fn.writefile(lines, os.getenv('XIHU_TEST_OUT') .. '/' .. name)
end

local function wait(cond)
  vim.wait(5000, cond, 10)
end

-- the quickfix list as path:line:col:text, as xihu --vimgrep prints it
local function qf_items()
  local lines = {}
  for _, e in ipairs(vim.fn.getqflist()) do
    table.insert(lines, string.format('%s:%d:%d:%s', vim.fn.bufname(e.bufnr), e.lnum, e.col, e.text))
  end
  return lines
end

-- search() fills the quickfix list when xihu exits
local result
xihu.search('kangaroo', { on_done = function(ok, msg) result = { ok, msg } end })
wait(function() return result ~= nil end)
out('search.txt', qf_items())
out('search_title.txt', vim.fn.getqflist({ title = 1 }).title)

-- a failed search keeps the list and hands over xihu's line
result = nil
xihu.search('"unclosed', { on_done = function(ok, msg) result = { ok, msg } end })
wait(function() return result ~= nil end)
out('error.txt', qf_items())
out('error_msg.txt', result and (tostring(result[1]) .. ' ' .. tostring(result[2])) or 'no answer')

-- query(): the picker's data, without a UI
local function query(q)
  local items, err, answered
  xihu.query(q, {}, function(i, e) items, err, answered = i, e, true end)
  wait(function() return answered end)
  return items, err
end
local items = query('kangaroo')
local lines = {}
for _, it in ipairs(items or {}) do
  table.insert(lines, string.format('%s:%d:%d:%s', it.filename, it.lnum, it.col, it.text))
end
out('query.txt', lines)
out('query_nomatch.txt', #(query('nothingness') or { 'nil', 'nil' }))
local _, err = query('"unclosed')
out('query_error.txt', tostring(err))

-- search() keeps to the project: from proj/drivers, koala is in
-- proj/include/ (and in other/, outside the project)
local tree = vim.fn.getcwd() .. '/'
vim.cmd('cd proj/drivers')
result = nil
xihu.search('koala', { on_done = function(ok, msg) result = { ok, msg } end })
wait(function() return result ~= nil end)
local function from_tree(path)
  path = vim.fn.fnamemodify(path, ':p')
  return path:sub(1, #tree) == tree and path:sub(#tree + 1) or path
end
local koala = {}
for _, e in ipairs(vim.fn.getqflist()) do
  table.insert(koala, string.format('%s:%d:%d:%s', from_tree(vim.fn.bufname(e.bufnr)), e.lnum, e.col, e.text))
end
out('search_koala.txt', koala)
vim.cmd('cclose')

-- more files than max_results (100): 100 listed, and the note says so
result = nil
xihu.search('spin_lock', { on_done = function(ok, msg) result = { ok, msg } end })
wait(function() return result ~= nil end)
local bufs = {}
for _, e in ipairs(vim.fn.getqflist()) do
  bufs[e.bufnr] = true
end
out('more.txt', string.format('%d %s', vim.tbl_count(bufs), tostring(result and result[2])))
vim.cmd('cclose')
local more_items, more_note
xihu.query('spin_lock', {}, function(i, _, n) more_items, more_note = i or {}, n end)
wait(function() return more_items ~= nil end)
local files = {}
for _, it in ipairs(more_items or {}) do
  files[it.path] = true
end
out('query_more.txt', string.format('%d %s', vim.tbl_count(files), tostring(more_note)))

-- The picker is typed into as a user types: keys go in with nvim_input,
-- and Neovim reads them in its main loop, in Insert mode, where
-- TextChangedI runs the picker's handler.  So the rest of the test is a
-- coroutine that yields to the main loop (until) while keys are read, and
-- waits with vim.wait for the grep a key started.
local co
local function resume()
  local ok, e = coroutine.resume(co)
  if not ok then
    out('lua_error.txt', tostring(e))
    vim.cmd('qa!')
  end
end
-- yield to the main loop until cond() holds, at most 5 s
local function till(cond)
  local deadline = vim.loop.now() + 5000
  while not cond() and vim.loop.now() < deadline do
    vim.defer_fn(resume, 10)
    coroutine.yield()
  end
end

local function list(p)
  return vim.api.nvim_buf_get_lines(p.list_buf, 0, -1, false)
end
-- the status as shown at the right of the prompt
local function status(p)
  local ns = vim.api.nvim_get_namespaces()['xihu_picker']
  local marks = vim.api.nvim_buf_get_extmarks(p.prompt_buf, ns, 0, -1, { details = true })
  local m = marks[1]
  return m and m[4].virt_text and m[4].virt_text[1][1] or ''
end
-- type KEY into the picker P and wait for the grep it started
local function type_key(p, key, want)
  vim.api.nvim_input(key)
  till(function() return p.last == want end)
  vim.wait(5000, function() return p.job == nil end, 10)
end

co = coroutine.create(function()
  -- from proj/drivers: the picker searches the project, proj/
  local p = xihu.picker()
  local steps = {}
  local typed = ''
  for _, key in ipairs({ 's', 'p', 'i', 'n', '_', 'l', 'o' }) do
    typed = typed .. key
    type_key(p, key, typed)
    table.insert(steps, string.format('%s [%s] %s', p:text(), vim.api.nvim_get_mode().mode, status(p)))
    if typed == 'spin_l' then
      out('picker_spin_l.txt', list(p))
    end
  end
  out('picker_steps.txt', steps)
  out('picker_spin_lo.txt', list(p))

  -- a list longer than the limit is cut, and the status says so
  p.opts.limit = 100
  type_key(p, '<BS>', 'spin_l')
  out('picker_cut.txt', { status(p), #list(p), list(p)[100] or '' })

  -- <C-p> wraps from the first to the last, then <C-n> three times
  -- selects the third; <CR> opens it at its line and column
  local opened = false
  p.on_accept = function() opened = true end
  vim.api.nvim_input('<C-p><C-n><C-n><C-n><CR>')
  till(function() return opened end)
  local cursor = vim.api.nvim_win_get_cursor(0)
  out('picker_open.txt', string.format('%s %d %d %d', from_tree(vim.fn.bufname()),
    cursor[1], cursor[2], #vim.api.nvim_list_wins()))

  -- a grep replaced while it runs is dropped: two changes, two greps, one
  -- list, the second's; LOCK has an upper-case letter: case counts
  local p2 = xihu.picker()
  local shown = 0
  p2.on_show = function() shown = shown + 1 end
  local function set_text(text)
    vim.api.nvim_buf_set_lines(p2.prompt_buf, 0, -1, false, { 'xihu> ' .. text })
  end
  set_text('spin_loc')
  p2:update()
  set_text('LOCK')
  p2:update()
  vim.wait(5000, function() return shown > 0 end, 10)
  vim.wait(100)
  out('picker_replaced.txt', vim.list_extend({ string.format('%d %d %s', shown, p2.searches, status(p2)) },
    list(p2)))
  vim.cmd('qa!')
end)
vim.defer_fn(resume, 0)
