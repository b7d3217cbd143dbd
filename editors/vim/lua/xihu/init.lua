-- lua/xihu/init.lua: xihu for Neovim (0.7 and later), beside the Vim
-- script commands of plugin/xihu.vim.
--
--   require('xihu').setup{cmd=, max_results=, socket=}  sets g:xihu_command,
--       g:xihu_max_results and g:xihu_socket, which :Xihu reads too
--   require('xihu').search(query, opts)  asynchronous `xihu search --vimgrep`
--       into the quickfix list, titled "xihu: QUERY"
--   require('xihu').query(query, opts, on_done)  asynchronous `xihu search
--       --json`, handed to on_done(items, err) as a list of matching lines;
--       the data half of the picker, with no UI
--   require('xihu').picker(opts)  a live picker: a prompt window whose text is
--       searched 60 ms after the last keystroke, the hits listed in a floating
--       window under it
--
-- Every search runs in the current directory, where the relative paths xihu
-- prints resolve; the query is one argv word after `--`.
local M = {}

local DEBOUNCE_MS = 60

local function option(opts, key, gvar, default)
  if opts and opts[key] ~= nil then
    return opts[key]
  end
  local v = vim.g[gvar]
  if v ~= nil then
    return v
  end
  return default
end

function M.setup(opts)
  opts = opts or {}
  if opts.cmd ~= nil then
    vim.g.xihu_command = opts.cmd
  end
  if opts.max_results ~= nil then
    vim.g.xihu_max_results = opts.max_results
  end
  if opts.socket ~= nil then
    vim.g.xihu_socket = opts.socket
  end
end

local function argv(format, query, opts)
  local a = {
    option(opts, 'cmd', 'xihu_command', 'xihu'), 'search', format,
    '-n', tostring(option(opts, 'max_results', 'xihu_max_results', 100)),
  }
  local sock = option(opts, 'socket', 'xihu_socket', '')
  if sock ~= '' then
    vim.list_extend(a, { '--socket', vim.fn.expand(sock) })
  end
  vim.list_extend(a, { '--', query })
  return a
end

-- Neovim's buffered output ends with '' after the last newline.
local function lines_of(data)
  data = data or {}
  if data[#data] == '' then
    table.remove(data)
  end
  return data
end

-- run(format, query, opts, on_exit): starts xihu; on_exit(status, stdout
-- lines, stderr lines) once it has exited.  Returns the job id, or nil and
-- an error line.
local function run(format, query, opts, on_exit)
  local a = argv(format, query, opts)
  if vim.fn.executable(a[1]) ~= 1 then
    return nil, 'xihu: ' .. a[1] .. ': command not found (set g:xihu_command)'
  end
  local out, err = {}, {}
  local job = vim.fn.jobstart(a, {
    cwd = vim.fn.getcwd(),
    stdout_buffered = true,
    stderr_buffered = true,
    on_stdout = function(_, data) out = lines_of(data) end,
    on_stderr = function(_, data) err = lines_of(data) end,
    on_exit = function(_, status) on_exit(status, out, err) end,
  })
  if job <= 0 then
    return nil, 'xihu: cannot start ' .. a[1]
  end
  return job
end

-- The one-line message of a failed run: xihu's own, or the status.
local function failure(query, status, err)
  for _, l in ipairs(err) do
    if l ~= '' then
      return l
    end
  end
  return string.format('xihu: %s: exited with status %d', query, status)
end

local function done_event()
  vim.cmd('silent doautocmd <nomodeline> User XihuDone')
end

local search_job = nil

-- search(query, opts): the quickfix list from `xihu search --vimgrep`.
-- opts: cmd, max_results, socket as in setup(); open (default true) to
-- :copen; on_done(ok, msg) called after the list is set (ok false and
-- msg xihu's error when it failed, msg "no match" when nothing matched).
function M.search(query, opts)
  opts = opts or {}
  if search_job then
    vim.fn.jobstop(search_job)
  end
  local cwd = vim.fn.getcwd()
  local job, err
  job, err = run('--vimgrep', query, opts, function(status, out, errs)
    if job ~= search_job then
      return -- a later search replaced this one
    end
    search_job = nil
    local ok, msg = true, nil
    if status == 0 or status == 1 then
      if vim.fn.getcwd() ~= cwd then
        for i, l in ipairs(out) do
          if l:sub(1, 1) ~= '/' then
            out[i] = cwd .. '/' .. l
          end
        end
      end
      vim.fn.setqflist({}, ' ', { lines = out, efm = '%f:%l:%c:%m', title = 'xihu: ' .. query })
      if status == 1 then
        msg = 'no match'
        vim.notify('xihu: no match for ' .. query, vim.log.levels.WARN)
      elseif opts.open ~= false then
        vim.cmd('botright copen')
      end
    else
      ok, msg = false, failure(query, status, errs)
      vim.notify(msg, vim.log.levels.ERROR)
    end
    if opts.on_done then
      opts.on_done(ok, msg)
    end
    done_event()
  end)
  search_job = job
  if not job then
    vim.notify(err, vim.log.levels.ERROR)
    if opts.on_done then
      opts.on_done(false, err)
    end
    done_event()
  end
  return job
end

-- The matching lines of `xihu search --json` output, best hit first: items
-- {filename, path (absolute), lnum, col (1-based byte column), text, rank}.
-- A hit matched by its path alone is one item at line 1.
function M.parse_json(out, cwd)
  local items = {}
  for _, l in ipairs(out) do
    local ok, obj = pcall(vim.json.decode, l)
    if ok and type(obj) == 'table' and obj.doc then
      local path = obj.doc
      if path:sub(1, 1) ~= '/' then
        path = cwd .. '/' .. path
      end
      local lines = obj.lines or {}
      if #lines == 0 then
        lines = { { line = 1, col = 1, text = '' } }
      end
      for _, m in ipairs(lines) do
        table.insert(items, {
          filename = obj.doc, path = path, rank = obj.rank,
          lnum = m.line, col = m.col, text = m.text,
        })
      end
    end
  end
  return items
end

-- query(query, opts, on_done): on_done(items) with the items of
-- parse_json(), {} when nothing matched, or on_done(nil, err) with xihu's
-- one-line error.  Returns the job id (for jobstop), or nil.
function M.query(query, opts, on_done)
  local cwd = vim.fn.getcwd()
  local job, err = run('--json', query, opts, function(status, out, errs)
    if status == 0 then
      on_done(M.parse_json(out, cwd))
    elseif status == 1 then
      on_done({})
    else
      on_done(nil, failure(query, status, errs))
    end
  end)
  if not job then
    on_done(nil, err)
  end
  return job
end

-- The picker: two floating windows, a prompt over a list.  The cursor stays
-- in the prompt; `sel` is the selected item, shown by the list window's
-- cursorline.
local Picker = {}
Picker.__index = Picker

local PROMPT = 'xihu> '

local function float(buf, row, height, enter, width)
  return vim.api.nvim_open_win(buf, enter, {
    relative = 'editor', style = 'minimal', border = 'rounded',
    row = row, col = math.floor((vim.o.columns - width) / 2),
    width = width, height = height,
  })
end

local function scratch()
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_option(buf, 'bufhidden', 'wipe')
  return buf
end

-- picker(opts): opens the picker and returns it.  opts as for query().
function M.picker(opts)
  -- seq numbers the searches started (searches, for a test of the
  -- debounce); only the answer to the latest one is shown
  local p = setmetatable({ opts = opts or {}, items = {}, sel = 1, seq = 0, searches = 0, last = nil }, Picker)
  local width = math.max(20, math.floor(vim.o.columns * 0.8))
  local height = math.max(3, math.floor(vim.o.lines * 0.6))
  p.list_buf = scratch()
  p.list_win = float(p.list_buf, 4, height, false, width)
  vim.api.nvim_win_set_option(p.list_win, 'cursorline', true)
  p.prompt_buf = scratch()
  vim.api.nvim_buf_set_option(p.prompt_buf, 'buftype', 'prompt')
  vim.fn.prompt_setprompt(p.prompt_buf, PROMPT)
  p.prompt_win = float(p.prompt_buf, 1, 1, true, width)
  p.timer = vim.loop.new_timer()

  local function map(lhs, fn)
    vim.keymap.set({ 'i', 'n' }, lhs, fn, { buffer = p.prompt_buf, nowait = true })
  end
  map('<CR>', function() p:accept() end)
  map('<C-n>', function() p:move(1) end)
  map('<Down>', function() p:move(1) end)
  map('<C-p>', function() p:move(-1) end)
  map('<Up>', function() p:move(-1) end)
  map('<Esc>', function() p:close() end)
  vim.api.nvim_create_autocmd({ 'TextChanged', 'TextChangedI' }, {
    buffer = p.prompt_buf, callback = function() p:changed() end,
  })
  -- leaving the prompt closes the picker, once the window switch is over
  vim.api.nvim_create_autocmd('WinLeave', {
    buffer = p.prompt_buf, once = true, callback = function() vim.schedule(function() p:close() end) end,
  })
  vim.cmd('startinsert!')
  return p
end

function Picker:text()
  local line = vim.api.nvim_buf_get_lines(self.prompt_buf, 0, 1, false)[1] or ''
  if line:sub(1, #PROMPT) == PROMPT then
    line = line:sub(#PROMPT + 1)
  end
  return vim.trim(line)
end

-- A keystroke: search once no other came for DEBOUNCE_MS.
function Picker:changed()
  self.timer:stop()
  self.timer:start(DEBOUNCE_MS, 0, vim.schedule_wrap(function() self:update() end))
end

-- Searches for the prompt's text, stopping the search in flight; only the
-- answer to the latest search is shown.
function Picker:update()
  if self.closed then
    return
  end
  local q = self:text()
  if q == self.last then
    return
  end
  self.last = q
  self.seq = self.seq + 1
  if self.job then
    vim.fn.jobstop(self.job)
    self.job = nil
  end
  if q == '' then
    self:show({})
    return
  end
  local seq = self.seq
  self.searches = self.searches + 1
  self.job = M.query(q, self.opts, function(items, err)
    if seq == self.seq and not self.closed then
      self.job = nil
      self:show(items, err)
    end
  end)
end

-- Fills the list: one line per item, or the error, or "no match".
function Picker:show(items, err)
  self.items = items or {}
  self.sel = 1
  local lines = {}
  for _, it in ipairs(self.items) do
    table.insert(lines, string.format('%s:%d:%d: %s', it.filename, it.lnum, it.col, vim.trim(it.text)))
  end
  if err then
    lines = { err }
  elseif #lines == 0 and self.last ~= '' then
    lines = { 'xihu: no match for ' .. self.last }
  end
  vim.api.nvim_buf_set_lines(self.list_buf, 0, -1, false, lines)
  self:move(0)
  if self.on_show then
    self.on_show(self)
  end
end

function Picker:move(delta)
  local n = #self.items
  if n == 0 then
    return
  end
  self.sel = (self.sel - 1 + delta) % n + 1
  vim.api.nvim_win_set_cursor(self.list_win, { self.sel, 0 })
end

function Picker:selected()
  return self.items[self.sel]
end

-- Closes the picker and opens the selected item's file at its line and
-- column, once insert mode is over (leaving it would move the cursor left).
function Picker:accept()
  local it = self:selected()
  self:close()
  if not it then
    return
  end
  vim.schedule(function()
    if vim.bo.buftype == 'quickfix' then
      vim.cmd('wincmd p') -- not over the quickfix list
    end
    vim.cmd('edit ' .. vim.fn.fnameescape(it.path))
    vim.api.nvim_win_set_cursor(0, { it.lnum, math.max(it.col - 1, 0) })
    if self.on_accept then
      self.on_accept(it)
    end
  end)
end

function Picker:close()
  if self.closed then
    return
  end
  self.closed = true
  self.timer:stop()
  self.timer:close()
  if self.job then
    vim.fn.jobstop(self.job)
  end
  for _, w in ipairs({ self.prompt_win, self.list_win }) do
    if vim.api.nvim_win_is_valid(w) then
      vim.api.nvim_win_close(w, true)
    end
  end
  vim.cmd('stopinsert')
end

return M
