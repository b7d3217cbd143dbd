-- lua/xihu/init.lua: xihu for Neovim (0.7 and later), beside the Vim
-- script commands of plugin/xihu.vim.
--
--   require('xihu').setup{cmd=, max_results=, socket=}  sets g:xihu_command,
--       g:xihu_max_results and g:xihu_socket, which :Xihu reads too
--   require('xihu').search(query, opts)  asynchronous `xihu search --vimgrep`
--       into the quickfix list, titled "xihu: QUERY"
--   require('xihu').query(query, opts, on_done)  asynchronous `xihu search
--       --json`, handed to on_done(items, err, note) as a list of matching
--       lines
--   require('xihu').grep(text, opts, on_done)  asynchronous `xihu grep
--       --vimgrep -F -S -- TEXT`: every line holding TEXT (smart case), the
--       first opts.limit of them handed to on_done(items, total, err); the
--       data half of the picker, with no UI
--   require('xihu').picker(opts)  a live picker: a prompt window whose text is
--       grepped for at each change, the matching lines listed in a floating
--       window under it
--
-- Every search runs in the project root (xihu#root() of autoload/xihu.vim:
-- the nearest directory holding .git from the current file up, else the
-- current directory): a grep searches that tree, as xihu grep without a
-- PATH searches its current directory, and a word search gets a path:
-- filter for it.  The paths xihu prints are relative to the root; items
-- carry them absolute too.  The query or pattern is one argv word after
-- `--`.
local M = {}

-- the lines the picker lists at most (the rest are counted)
local PICKER_LIMIT = 1000

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

local function root(opts)
  return (opts and opts.root) or vim.fn['xihu#root']()
end

local function socket_args(opts)
  local sock = option(opts, 'socket', 'xihu_socket', '')
  if sock ~= '' then
    return { '--socket', vim.fn.expand(sock) }
  end
  return {}
end

-- The argv of `xihu search` with the options FORMAT (a list) for QUERY,
-- restricted to the files under DIR by a path: filter put last (see
-- xihu#argv()).
local function search_argv(format, query, dir, opts)
  local a = { option(opts, 'cmd', 'xihu_command', 'xihu'), 'search' }
  vim.list_extend(a, format)
  vim.list_extend(a, socket_args(opts))
  local filter = vim.fn['xihu#path_filter'](dir)
  vim.list_extend(a, { '--', filter == '' and query or query .. ' ' .. filter })
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

-- start(a, dir, opts, on_exit): runs the argv A in DIR, stdin closed;
-- on_exit(status, stdout lines, stderr lines) once it has exited.  With
-- opts.on_line, each stdout line goes to on_line(line) as it comes
-- instead.  Returns the job id, or nil and an error line.
local function start(a, dir, opts, on_exit)
  if vim.fn.executable(a[1]) ~= 1 then
    return nil, 'xihu: ' .. a[1] .. ': command not found (set g:xihu_command)'
  end
  local out, err, partial = {}, {}, ''
  local on_line = opts.on_line
  local job_opts = {
    cwd = dir,
    stderr_buffered = true,
    on_stderr = function(_, data) err = lines_of(data) end,
    on_exit = function(_, status)
      if on_line and partial ~= '' then
        on_line(partial)
      end
      on_exit(status, out, err)
    end,
  }
  if on_line then
    -- a chunk's first item continues the last line of the one before, its
    -- last item is the start of a line still to come ('' after a newline)
    job_opts.on_stdout = function(_, data)
      data[1] = partial .. data[1]
      partial = table.remove(data)
      for _, l in ipairs(data) do
        on_line(l)
      end
    end
  else
    job_opts.stdout_buffered = true
    job_opts.on_stdout = function(_, data) out = lines_of(data) end
  end
  local job = vim.fn.jobstart(a, job_opts)
  if job <= 0 then
    return nil, 'xihu: cannot start ' .. a[1]
  end
  vim.fn.chanclose(job, 'stdin')
  return job
end

-- xihu's message: its first stderr line (with how many more there were),
-- else for a failure the status, else nil.
local function message(query, status, err)
  local lines = vim.tbl_filter(function(l) return l ~= '' end, err)
  if #lines > 0 then
    return lines[1] .. (#lines > 1 and string.format(' (and %d more lines)', #lines - 1) or '')
  elseif status > 1 then
    return string.format('xihu: %s: exited with status %d', query, status)
  end
  return nil
end

-- PATH as xihu printed it, from DIR: absolute.
local function absolute(path, dir)
  if path:sub(1, 1) == '/' then
    return path
  end
  return (dir == '/' and '' or dir) .. '/' .. path
end

local function done_event()
  vim.cmd('silent doautocmd <nomodeline> User XihuDone')
end

local search_job = nil

-- The number of files in `xihu search --vimgrep` output.
local function files_of(out)
  local seen, n = {}, 0
  for _, l in ipairs(out) do
    local file = l:match('^(.-):%d+:%d+:')
    if file and not seen[file] then
      seen[file], n = true, n + 1
    end
  end
  return n
end

-- search(query, opts): the quickfix list from `xihu search --vimgrep`, the
-- files under the project root.  opts: cmd, max_results, socket as in
-- setup(); root (default: xihu#root()); open (default true) to :copen;
-- on_done(ok, msg) called after the list is set (ok false and msg xihu's
-- error when it failed, msg "no match" when nothing matched, else a note
-- such as "xihu: showing 100 of 151 files (max_results)", or nil).  A list
-- of max_results files may not hold all: xihu's --vimgrep does not say, so
-- then `xihu search --count` tells.
function M.search(query, opts)
  opts = opts or {}
  if search_job then
    vim.fn.jobstop(search_job)
  end
  local dir = root(opts)
  local max = option(opts, 'max_results', 'xihu_max_results', 100)
  local function finish(status, out, msg)
    search_job = nil
    local ok = true
    if status == 0 or status == 1 then
      if vim.fn.getcwd() ~= dir then
        for i, l in ipairs(out) do
          out[i] = absolute(l, dir)
        end
      end
      vim.fn.setqflist({}, ' ', { lines = out, efm = '%f:%l:%c:%m', title = 'xihu: ' .. query })
      if status == 1 then
        msg = 'no match'
        vim.notify('xihu: no match for ' .. query, vim.log.levels.WARN)
      else
        if opts.open ~= false then
          vim.cmd('botright copen')
        end
        if msg then
          vim.notify(msg, vim.log.levels.WARN)
        end
      end
    else
      ok = false
      vim.notify(msg, vim.log.levels.ERROR)
    end
    if opts.on_done then
      opts.on_done(ok, msg)
    end
    done_event()
  end
  local job, err
  job, err = start(search_argv({ '--vimgrep', '-n', tostring(max) }, query, dir, opts), dir, {},
    function(status, out, errs)
      if job ~= search_job then
        return -- a later search replaced this one
      end
      local msg, n = message(query, status, errs), files_of(out)
      if status ~= 0 or msg or n < max then
        return finish(status, out, msg)
      end
      local count
      count = start(search_argv({ '--count' }, query, dir, opts), dir, {}, function(cstatus, cout)
        if count ~= search_job then
          return
        end
        local total = cstatus == 0 and tonumber(cout[1]) or 0
        if total > n then
          msg = string.format('xihu: showing %d of %d files (max_results)', n, total)
        end
        finish(status, out, msg)
      end)
      search_job = count
      if not count then
        finish(status, out, msg)
      end
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
-- {filename (as xihu printed it), path (absolute), lnum, col (1-based byte
-- column), text, rank}, paths relative to DIR.  A hit matched by its path
-- alone is one item at line 1.
function M.parse_json(out, dir)
  local items = {}
  for _, l in ipairs(out) do
    local ok, obj = pcall(vim.json.decode, l)
    if ok and type(obj) == 'table' and obj.doc then
      local lines = obj.lines or {}
      if #lines == 0 then
        lines = { { line = 1, col = 1, text = '' } }
      end
      for _, m in ipairs(lines) do
        table.insert(items, {
          filename = obj.doc, path = absolute(obj.doc, dir), rank = obj.rank,
          lnum = m.line, col = m.col, text = m.text,
        })
      end
    end
  end
  return items
end

-- query(query, opts, on_done): on_done(items, nil, note) with the items of
-- parse_json() for the files under the project root, {} when nothing
-- matched, or on_done(nil, err) with xihu's one-line error; note says when
-- more files matched than the max_results listed ("xihu: showing 100 of
-- 151 files (max_results)"), else nil.
-- opts as for search().  Returns the job id (for jobstop), or nil.
function M.query(query, opts, on_done)
  opts = opts or {}
  local dir = root(opts)
  local max = tostring(option(opts, 'max_results', 'xihu_max_results', 100))
  local job, err = start(search_argv({ '--json', '-n', max }, query, dir, opts), dir, {}, function(status, out, errs)
    local msg = message(query, status, errs)
    if status == 0 then
      -- the last line: {"summary":{"hits":N,"total":M,"total_exact":B,...}}
      local ok, last = pcall(vim.json.decode, out[#out] or '')
      local sum = ok and type(last) == 'table' and last.summary
      if not msg and type(sum) == 'table' and tonumber(sum.total) and sum.total > sum.hits then
        msg = string.format('xihu: showing %d of %s%d files (max_results)', sum.hits,
          sum.total_exact == false and 'at least ' or '', sum.total)
      end
      on_done(M.parse_json(out, dir), nil, msg)
    elseif status == 1 then
      on_done({})
    else
      on_done(nil, msg)
    end
  end)
  if not job then
    on_done(nil, err)
  end
  return job
end

-- A line of `xihu grep --vimgrep` as an item: the path is everything
-- before the first ":LINE:COL:" (a line without one is all text, at 1:1).
local function vimgrep_item(line, dir)
  local file, lnum, col, text = line:match('^(.-):(%d+):(%d+):(.*)$')
  if not file then
    return { filename = '', path = dir, lnum = 1, col = 1, text = line }
  end
  return { filename = file, path = absolute(file, dir), lnum = tonumber(lnum),
           col = tonumber(col), text = text }
end

-- grep(text, opts, on_done): every match of TEXT under the project root,
-- as a fixed string with smart case (`xihu grep --vimgrep -F -S -- TEXT`,
-- run in the root), in path order.  on_done(items, total, err): the first
-- opts.limit (default 1000) items, as parse_json()'s without rank, and the
-- number of matches; err is nil, or xihu's line when it failed (exit 2),
-- with whatever it printed before.  opts: cmd, socket, root as for
-- search(), limit.  Returns the job id (for jobstop), or nil.
function M.grep(text, opts, on_done)
  opts = opts or {}
  local dir = root(opts)
  local limit = opts.limit or PICKER_LIMIT
  local items, total = {}, 0
  local a = { option(opts, 'cmd', 'xihu_command', 'xihu'), 'grep', '--vimgrep', '-F', '-S' }
  vim.list_extend(a, socket_args(opts))
  vim.list_extend(a, { '--', text })
  -- every line is a match (no context lines asked for); past the limit
  -- they are only counted
  local on_line = function(l)
    total = total + 1
    if #items < limit then
      table.insert(items, vimgrep_item(l, dir))
    end
  end
  local job, err = start(a, dir, { on_line = on_line }, function(status, _, errs)
    if status == 0 or status == 1 then
      on_done(items, total, nil)
    else
      on_done(items, total, message(text, status, errs))
    end
  end)
  if not job then
    on_done({}, 0, err)
  end
  return job
end

-- The picker: two floating windows, a prompt over a list.  The cursor stays
-- in the prompt; `sel` is the selected item, shown by the list window's
-- cursorline.  Each change of the prompt's text (TextChangedI, TextChanged)
-- greps for it at once: the grep in flight is stopped (jobstop) and, as its
-- exit may already be queued, the answer of any grep but the latest (seq)
-- is dropped.  How many lines matched, and whether the list shows only the
-- first of them, is shown at the right of the prompt (status).
local Picker = {}
Picker.__index = Picker

local PROMPT = 'xihu> '
local ns = vim.api.nvim_create_namespace('xihu_picker')

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

-- picker(opts): opens the picker and returns it.  opts as for grep(); the
-- root is the current file's, taken before the picker's windows open.
function M.picker(opts)
  opts = vim.tbl_extend('force', {}, opts or {})
  opts.root = root(opts)
  -- seq numbers the greps started (searches counts them, for a test);
  -- only the answer to the latest one is shown
  local p = setmetatable({ opts = opts, items = {}, sel = 1, seq = 0, searches = 0, last = nil,
                           status = '' }, Picker)
  local width = math.max(20, math.floor(vim.o.columns * 0.8))
  local height = math.max(3, math.floor(vim.o.lines * 0.6))
  p.list_buf = scratch()
  p.list_win = float(p.list_buf, 4, height, false, width)
  vim.api.nvim_win_set_option(p.list_win, 'cursorline', true)
  p.prompt_buf = scratch()
  vim.api.nvim_buf_set_option(p.prompt_buf, 'buftype', 'prompt')
  vim.fn.prompt_setprompt(p.prompt_buf, PROMPT)
  p.prompt_win = float(p.prompt_buf, 1, 1, true, width)

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
    buffer = p.prompt_buf, callback = function() p:update() end,
  })
  -- leaving the prompt closes the picker, once the window switch is over
  vim.api.nvim_create_autocmd('WinLeave', {
    buffer = p.prompt_buf, once = true, callback = function() vim.schedule(function() p:close() end) end,
  })
  vim.cmd('startinsert!')
  return p
end

-- The prompt's text, as typed: spaces count in an exact search.
function Picker:text()
  local line = vim.api.nvim_buf_get_lines(self.prompt_buf, 0, 1, false)[1] or ''
  if line:sub(1, #PROMPT) == PROMPT then
    line = line:sub(#PROMPT + 1)
  end
  return line
end

-- Greps for the prompt's text, stopping the grep in flight; only the
-- answer to the latest grep is shown.
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
    self:show({}, 0)
    return
  end
  local seq = self.seq
  self.searches = self.searches + 1
  self.job = M.grep(q, self.opts, function(items, total, err)
    if seq == self.seq and not self.closed then
      self.job = nil
      self:show(items, total, err)
    end
  end)
end

-- Sets the status at the right of the prompt.
function Picker:set_status(status)
  self.status = status
  vim.api.nvim_buf_clear_namespace(self.prompt_buf, ns, 0, -1)
  if status ~= '' then
    vim.api.nvim_buf_set_extmark(self.prompt_buf, ns, 0, 0, {
      virt_text = { { status, 'Comment' } }, virt_text_pos = 'right_align',
    })
  end
end

-- Fills the list: one line per item (or the error, or "no match"), and the
-- status: the number of matches, and how many are listed when not all.
function Picker:show(items, total, err)
  self.items = items or {}
  self.sel = 1
  local lines = {}
  for _, it in ipairs(self.items) do
    table.insert(lines, string.format('%s:%d:%d: %s', it.filename, it.lnum, it.col, vim.trim(it.text)))
  end
  local status = ''
  if total > 0 then
    status = total == 1 and '1 match' or string.format('%d matches', total)
    if #self.items < total then
      status = string.format('%s, first %d listed', status, #self.items)
    end
  end
  if err then
    status = status == '' and err or string.format('%s (incomplete: %s)', status, err)
    if #lines == 0 then
      lines = { err }
    end
  elseif #lines == 0 and self.last ~= '' then
    lines = { 'xihu: no match for ' .. self.last }
  end
  vim.api.nvim_buf_set_lines(self.list_buf, 0, -1, false, lines)
  self:set_status(status)
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
