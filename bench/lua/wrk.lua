-- One wrk script for every HTTP scenario of bench/run.mjs (bench/scenarios/).
-- args: lines-file mode path method once nthreads
--   mode body:    each line is a JSON body (POST)
--   mode bearer:  each line is an access token (Authorization: Bearer)
--   mode none:    no token (the lines are ignored): the anonymous floor
--   mode refresh: each line is a refresh token; a 200 reply's successor is queued for reuse
--   once = 1:     each line is used once (single-use codes); the thread stops when they run out
-- Each thread takes every nthreads-th line, so no two threads share one.
-- done() prints one JSON line (WRKJSON ...) with p50/p95/p99 and error counts.
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  mode, path, method, once, nthreads = args[2], args[3], args[4], args[5] == "1", tonumber(args[6])
  lines = {}
  local n = 0
  for line in io.lines(args[1]) do
    if n % nthreads == id then lines[#lines + 1] = line end
    n = n + 1
  end
  -- The refresh queue runs from head to tail; `#` is unreliable on a table
  -- with nil holes, so both ends are counted explicitly.
  pos, head, tail = 0, 1, #lines
  fivexx, backpressure, fourxx, exhausted = 0, 0, 0, 0
  codes = {}
end

function request()
  local line
  if mode == "refresh" then
    line = head <= tail and lines[head] or nil
    if line == nil then
      exhausted = 1
      line = "exhausted"
    else
      lines[head] = nil
      head = head + 1
    end
  else
    pos = pos + 1
    if pos > #lines then
      if once then exhausted = 1 end
      pos = 1
    end
    line = lines[pos]
  end
  if mode == "bearer" then
    return wrk.format(method, path, { ["Authorization"] = "Bearer " .. line, ["Accept"] = "application/json" }, nil)
  elseif mode == "none" then
    return wrk.format(method, path, { ["Accept"] = "application/json" }, nil)
  elseif mode == "refresh" then
    return wrk.format("POST", path, { ["Content-Type"] = "application/json" }, '{"refresh_token":"' .. line .. '"}')
  end
  return wrk.format(method, path, { ["Content-Type"] = "application/json" }, line)
end

function response(status, headers, body)
  codes[status] = (codes[status] or 0) + 1
  if status == 503 or status == 504 then
    backpressure = backpressure + 1
  elseif status >= 500 then
    fivexx = fivexx + 1
  elseif status >= 400 then
    fourxx = fourxx + 1
  end
  if mode == "refresh" and status == 200 then
    local t = body:match('"refresh_token"%s*:%s*"([^"]+)"')
    if t then
      tail = tail + 1
      lines[tail] = t
    end
  end
  if once and exhausted == 1 then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local f5, bp, f4, ex = 0, 0, 0, 0
  local all = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("codes") or {}) do all[k] = (all[k] or 0) + v end
    f5 = f5 + (t:get("fivexx") or 0)
    bp = bp + (t:get("backpressure") or 0)
    f4 = f4 + (t:get("fourxx") or 0)
    ex = ex + (t:get("exhausted") or 0)
  end
  local codelist = {}
  for k, v in pairs(all) do codelist[#codelist + 1] = string.format('"%d":%d', k, v) end
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,' ..
    '"status_errors":%d,"timeouts":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,' ..
    '"fivexx":%d,"backpressure":%d,"fourxx":%d,"exhausted":%d,"codes":{%s}}\n',
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max, latency.mean, f5, bp, f4, ex, table.concat(codelist, ",")))
end
