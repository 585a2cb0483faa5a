-- wrk script for scripts/load-compare.sh, memory phase: N distinct sessions. Every request
-- is a first visit, GET /login/0 without a cookie (the typical payload written into a fresh
-- session), so each one creates a session; the thread stops once it has N answers (a few
-- more, up to one per connection, were in flight and are counted in `requests`).
--
--   wrk -t1 ... -s scripts/load-sessions.lua URL -- <N> <marker file>
--
-- A stopped thread does not end wrk (its main thread sleeps for the whole -d), so the
-- script also creates <marker file> then, and scripts/load-compare.sh sends wrk SIGINT when
-- it appears (wrk then prints its summary and runs done() as usual).
--
-- done() prints one `WRK key=value ...` line: totals, non-200 answers, answers without a
-- Set-Cookie (each login must set one, except for the baseline, which has no sessions).

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  target = tonumber(args[1] or "100000")
  marker = args[2]
  marked = false
  seen = 0
  non200 = 0
  nocookie = 0
  req = wrk.format("GET", "/login/0")
end

function request()
  return req
end

function response(status, headers, body)
  seen = seen + 1
  if status ~= 200 then
    non200 = non200 + 1
  end
  if (headers["set-cookie"] or headers["Set-Cookie"]) == nil then
    nocookie = nocookie + 1
  end
  if seen >= target and not marked then
    marked = true
    if marker ~= nil then
      local f = io.open(marker, "w")
      if f ~= nil then f:close() end
    end
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local n200, nc, seen_all = 0, 0, 0
  for _, th in ipairs(threads) do
    n200 = n200 + th:get("non200")
    nc = nc + th:get("nocookie")
    seen_all = seen_all + th:get("seen")
  end
  local e = summary.errors
  io.write(string.format(
    "WRK requests=%d duration_us=%d rps=%.1f errors_connect=%d errors_read=%d errors_write=%d " ..
    "errors_timeout=%d errors_status=%d non200=%d nocookie=%d seen=%d lat_p50_us=%d lat_p99_us=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    e.connect, e.read, e.write, e.timeout, e.status, n200, nc, seen_all,
    latency:percentile(50), latency:percentile(99)))
end
