-- wrk script: replays pre-signed custom-lane webhooks, one line per request:
--   <path>\t<signature>\t<json body>
-- Each wrk thread walks the list from its own offset so carts spread out.
local lines = {}
local counter = 0
local offset = 0
local limit = 0
local answered = 0

function init(args)
  limit = tonumber(args[2] or "0")
  for line in io.lines(args[1]) do
    local path, sig, body = line:match("([^\t]+)\t([^\t]+)\t(.*)")
    lines[#lines + 1] = { path = path, sig = sig, body = body }
  end
  offset = math.random(#lines)
end

function request()
  counter = counter + 1
  local item = lines[((counter + offset) % #lines) + 1]
  return wrk.format("POST", item.path, {
    ["Content-Type"] = "application/json",
    ["X-Cartback-Hmac-Sha256"] = item.sig,
  }, item.body)
end

-- With a limit (requests per thread), stop once this thread has its answers:
-- used to send a fixed-size burst rather than a timed load.
function response(status, headers, body)
  answered = answered + 1
  if limit > 0 and answered >= limit then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local codes = summary.errors
  io.write(string.format("RESULT requests=%d duration_us=%d non2xx=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.duration, codes.status, latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency.max))
end
