-- wrk script for scripts/load.sh: each wrk thread logs in as a demo user, keeps the session
-- cookie the server sets, and then requests the dashboard (which increments a counter in
-- the session and re-seals it) with that cookie. Every 200th request per thread logs in
-- again, starting a new session, so many sessions are exercised.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  cookie = nil
  sent = 0
  ok2xx = 0
  redirects = 0
  other = 0
  logins = 0
end

local login_body = "username=ada&password=lovelace"

function request()
  sent = sent + 1
  if cookie == nil or sent % 200 == 0 then
    logins = logins + 1
    return wrk.format("POST", "/login", {
      ["Content-Type"] = "application/x-www-form-urlencoded",
    }, login_body)
  end
  return wrk.format("GET", "/", { ["Cookie"] = cookie })
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok2xx = ok2xx + 1
  elseif status >= 300 and status < 400 then
    redirects = redirects + 1
  else
    other = other + 1
  end
  local set = headers["Set-Cookie"] or headers["set-cookie"]
  if set ~= nil then
    local pair = string.match(set, "^([^;]+)")
    if pair ~= nil and string.sub(pair, -1) ~= "=" then
      cookie = pair
    end
  end
end

function done(summary, latency, requests)
  local ok, redir, bad, login = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    ok = ok + t:get("ok2xx")
    redir = redir + t:get("redirects")
    bad = bad + t:get("other")
    login = login + t:get("logins")
  end
  io.write(string.format("LOAD requests=%d duration_us=%d rps=%.0f\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6)))
  io.write(string.format("LOAD errors_connect=%d errors_read=%d errors_write=%d errors_timeout=%d errors_status=%d\n",
    summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.timeout, summary.errors.status))
  io.write(string.format("LOAD status_2xx=%d status_3xx_login_redirects=%d status_other=%d logins=%d\n",
    ok, redir, bad, login))
  io.write(string.format("LOAD latency_p50_us=%d latency_p99_us=%d\n",
    latency:percentile(50), latency:percentile(99)))
end
