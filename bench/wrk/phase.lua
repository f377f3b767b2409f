-- One phase of the OneStory benchmark for wrk: every request is the next line of a file.
--
--   wrk -s phase.lua URL -- get FILE          GET each line (a path with its query)
--   wrk -s phase.lua URL -- post PATH FILE    POST each line (a JSON body) to PATH
--
-- Each thread starts at its own place in the file and goes round it. When wrk finishes,
-- done() prints one JSON line of figures for bench/wrk.py to read.

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("number", threads)
end

local lines = {}
local method, target, next_line

function init(args)
  method = args[1]
  local file = args[2]
  if method == "post" then
    target, file = args[2], args[3]
  end
  for line in io.lines(file) do
    lines[#lines + 1] = line
  end
  next_line = ((number or 1) * 7919) % #lines
end

function request()
  next_line = next_line % #lines + 1
  if method == "post" then
    return wrk.format("POST", target, nil, lines[next_line])
  end
  return wrk.format("GET", lines[next_line])
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, '
      .. '"max_ms": %.2f, "errors": %d, "bad_status": %d}\n',
    summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1e3, latency:percentile(95) / 1e3, latency:percentile(99) / 1e3,
    latency.max / 1e3,
    errors.connect + errors.read + errors.write + errors.timeout, errors.status
  ))
end
