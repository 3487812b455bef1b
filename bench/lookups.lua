-- wrk script of bench/pipeline.py (bench/load.py runs it): GET the public view of known dossiers in turn, each
-- with its tracking key; the threads spread over the gateway's replicas. Reads BENCH_LOOKUPS (one
-- "<dossier code> <tracking key>" a line) and BENCH_ADDRESSES ("host:port,host:port"); prints one JSON line.

local started = 0

function setup(thread)
  local addresses = {}
  for address in string.gmatch(os.getenv("BENCH_ADDRESSES"), "[^,]+") do
    local host, port = string.match(address, "([^:]+):(%d+)")
    table.insert(addresses, wrk.lookup(host, port)[1])
  end
  thread.addr = addresses[started % #addresses + 1]
  thread:set("number", started)
  started = started + 1
end

function init(args)
  dossiers = {}
  for line in io.lines(os.getenv("BENCH_LOOKUPS")) do
    local code, key = string.match(line, "(%S+) (%S+)")
    table.insert(dossiers, {"/api/v1/dossiers/" .. code, {["X-Tracking-Key"] = key}})
  end
  -- Each thread starts at its own place in the list, so the threads do not ask for the same dossiers together.
  turn = (number or 0) * 7919 % #dossiers
end

function request()
  turn = turn % #dossiers + 1
  local dossier = dossiers[turn]
  return wrk.format("GET", dossier[1], dossier[2])
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "http_errors": %d, "socket_errors": %d, "timeouts": %d, ' ..
    '"latency_ms": {"p50": %.1f, "p95": %.1f, "p99": %.1f, "max": %.1f}}\n',
    summary.requests, summary.duration, errors.status, errors.connect + errors.read + errors.write, errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000))
end
