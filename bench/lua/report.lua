-- Shared by the bench scripts (loaded with dofile from each of them).
-- setup() numbers the threads, so that each can take its own share of the data; done() sums the
-- threads' own counters and prints one machine-readable line that `bench.wrk` parses.

local threads = {}

function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

local function thread_sum(name)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + (thread:get(name) or 0)
  end
  return total
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    "BENCH_RESULT {\"requests\":%d,\"duration_us\":%d,\"bytes\":%d,\"p50_us\":%d,\"p99_us\":%d,"
      .. "\"socket_errors\":%d,\"status_errors\":%d,\"timeouts\":%d,\"unexpected\":%d,\"pairs\":%d}\n",
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(99),
    errors.connect + errors.read + errors.write, errors.status, errors.timeout,
    thread_sum("unexpected"), thread_sum("completed_pairs")))
end

-- The data file (requests, tokens, keys) is generated for each run in a private temp dir.
function load_data()
  return dofile(os.getenv("BENCH_WRK_DATA"))
end

-- BENCH_WRK_DEBUG=1 shows the first few unexpected answers of each thread (status and body).
local debug_left = os.getenv("BENCH_WRK_DEBUG") == "1" and 5 or 0

function note_unexpected(status, body)
  unexpected = unexpected + 1
  if debug_left > 0 then
    debug_left = debug_left - 1
    io.stderr:write(string.format("unexpected answer %d: %s\n", status, string.sub(body or "", 1, 300)))
  end
end
