-- wrk script for bench/relay_bench.py: POST /v1/orders with a unique Idempotency-Key each time.
-- Usage: wrk ... -s bench/orders.lua URL -- KEY_PREFIX BODY_FILE
-- Prints one JSON line at the end: requests, seconds, non-2xx, socket errors, p50/p99 ms.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  prefix = (args[1] or "wrk") .. "-" .. tid .. "-"
  local file = assert(io.open(args[2], "r"))
  body = file:read("*a")
  file:close()
  counter = 0
  created = 0
end

function request()
  counter = counter + 1
  return wrk.format("POST", "/v1/orders", {["Content-Type"] = "application/json",
                                           ["Idempotency-Key"] = prefix .. counter}, body)
end

function response(status, headers, body)
  if status == 201 then created = created + 1 end
end

function done(summary, latency, requests)
  local ok = 0
  for _, thread in ipairs(threads) do ok = ok + (thread:get("created") or 0) end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "created": %d, "non2xx": %d, "socket_errors": %d, '
    .. '"p50_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f}\n',
    summary.requests, summary.duration / 1e6, ok, e.status,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
