-- wrk script: replays pre-signed custom-lane webhooks, one line per request:
--   <path>\t<signature>\t<json body>
-- Each wrk thread walks the list from its own offset so carts spread out.
local lines = {}
local counter = 0
local offset = 0

function init(args)
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

function done(summary, latency, requests)
  local codes = summary.errors
  io.write(string.format("RESULT requests=%d duration_us=%d non2xx=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.duration, codes.status, latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency.max))
end
