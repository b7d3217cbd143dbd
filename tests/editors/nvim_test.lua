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

-- the picker: a search started while another runs replaces it
vim.cmd('cclose')
local p = xihu.picker()
local shown = 0
p.on_show = function() shown = shown + 1 end
local function type_in(text)
  vim.api.nvim_buf_set_lines(p.prompt_buf, 0, -1, false, { 'xihu> ' .. text })
end
type_in('wombat')
p:update()
type_in('marsupial')
p:update()
wait(function() return shown > 0 end)
out('picker_replaced.txt', vim.api.nvim_buf_get_lines(p.list_buf, 0, -1, false))

-- two changes within the debounce interval make one search
local before = p.searches
type_in('wombat')
p:changed()
type_in('kangaroo')
p:changed()
wait(function() return shown > 1 end)
out('picker_shown.txt', string.format('%d %d', shown, p.searches - before))
out('picker.txt', vim.api.nvim_buf_get_lines(p.list_buf, 0, -1, false))

-- keys: <C-p> wraps from the first to the last, then <C-n> three times
-- selects the third; <CR> opens it
local opened = false
p.on_accept = function() opened = true end
local keys = vim.api.nvim_replace_termcodes('<C-p><C-n><C-n><C-n><CR>', true, false, true)
vim.api.nvim_feedkeys(keys, 'xt', false)
wait(function() return opened end)
local cursor = vim.api.nvim_win_get_cursor(0)
out('picker_open.txt', string.format('%s %d %d %d', vim.fn.fnamemodify(vim.fn.bufname(), ':.'),
  cursor[1], cursor[2], #vim.api.nvim_list_wins()))
vim.cmd('qa!')
