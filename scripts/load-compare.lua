-- wrk script for scripts/load-compare.sh, steady phase: one session per concurrent request
-- ("slot"). A slot logs in once (GET /login/0, the typical payload), keeps the cookie the
-- server sets and applies every later Set-Cookie, then requests PATH with it.
--
--   wrk ... -s scripts/load-compare.lua URL -- <path> <check>
--     path   /  (read counter, write counter + 1)  or  /ro  (read only)
--     check  rw  each answer must be the slot's previous counter + 1
--            ro  each answer must equal the slot's counter (unchanged)
--            none  no session expected (the baseline)
--
-- wrk's Lua API does not say which connection a response came on, so each request carries
-- its slot in an `x-slot` header and the server (benches/load_server.rs) echoes it. A slot is
-- taken from the free list when a request is built and returned when its response is read:
-- wrk sends one request at a time per connection, so there are at most as many slots as
-- connections, each slot's requests are sequential and each is a distinct session.
--
-- done() prints one `WRK key=value ...` line: totals, non-200 answers, wrong counters
-- (a session that did not persist), logins without a cookie, and latency percentiles (µs).

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  path = args[1] or "/"
  check = args[2] or "rw"
  free = {}
  nslots = 0
  cookie = {}
  counter = {}
  logged_in = {}
  in_login = {}
  non200 = 0
  mismatch = 0
  nocookie = 0
  noslot = 0
  logins = 0
  steady = 0
end

function request()
  local s = table.remove(free)
  if s == nil then
    nslots = nslots + 1
    s = nslots
    logged_in[s] = false
  end
  local headers = { ["x-slot"] = tostring(s) }
  if not logged_in[s] then
    in_login[s] = true
    return wrk.format("GET", "/login/0", headers)
  end
  in_login[s] = false
  if cookie[s] ~= nil then
    headers["Cookie"] = cookie[s]
  end
  return wrk.format("GET", path, headers)
end

function response(status, headers, body)
  local s = tonumber(headers["x-slot"] or headers["X-Slot"] or "")
  if status ~= 200 then
    non200 = non200 + 1
  end
  if s == nil then
    -- Cannot tell whose it was: the slot is lost (a new one is made), count it.
    noslot = noslot + 1
    return
  end
  local set = headers["set-cookie"] or headers["Set-Cookie"]
  if set ~= nil then
    -- name=value up to the first `;`. A removal (empty value) is not kept. Values may end
    -- in `=` (tower-sessions-cookie-store's base64 is padded).
    local pair = string.match(set, "^([^;]+)")
    if pair ~= nil and string.match(pair, "^[^=]*=(.*)$") ~= "" then
      cookie[s] = pair
    end
  end
  local n = tonumber(body)
  if in_login[s] then
    logins = logins + 1
    if status == 200 then
      logged_in[s] = true
      counter[s] = 1
      if check ~= "none" and cookie[s] == nil then
        nocookie = nocookie + 1
      end
    end
  else
    steady = steady + 1
    if check == "rw" then
      if n ~= counter[s] + 1 then mismatch = mismatch + 1 end
    elseif check == "ro" then
      if n ~= counter[s] then mismatch = mismatch + 1 end
    end
    if n ~= nil then counter[s] = n end
  end
  table.insert(free, s)
end

function done(summary, latency, requests)
  local t = { non200 = 0, mismatch = 0, nocookie = 0, noslot = 0, logins = 0, steady = 0, nslots = 0 }
  for _, th in ipairs(threads) do
    for k, _ in pairs(t) do
      t[k] = t[k] + (th:get(k) or 0)
    end
  end
  local e = summary.errors
  io.write(string.format(
    "WRK requests=%d duration_us=%d rps=%.1f errors_connect=%d errors_read=%d errors_write=%d " ..
    "errors_timeout=%d errors_status=%d non200=%d mismatch=%d nocookie=%d noslot=%d logins=%d " ..
    "steady=%d slots=%d lat_mean_us=%.1f lat_p50_us=%d lat_p90_us=%d lat_p99_us=%d lat_max_us=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    e.connect, e.read, e.write, e.timeout, e.status, t.non200, t.mismatch, t.nocookie,
    t.noslot, t.logins, t.steady, t.nslots, latency.mean, latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency.max))
end
