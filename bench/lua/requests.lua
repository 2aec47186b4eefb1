-- Cycles through pre-built requests (e.g. one per key or per user), checking every answer.
-- Data: { requests = { {method=, path=, headers=, body=}, ... }, expect = "<substring>" }

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "report.lua")

unexpected = 0 -- answers that are not 200 or lack `expect`; read by done() through thread:get
local requests = {}
local expect = nil
local position = 1

function init(args)
  local data = load_data()
  for i, r in ipairs(data.requests) do
    -- Formatting once here keeps request() down to a table lookup.
    requests[i] = wrk.format(r.method, r.path, r.headers, r.body)
  end
  expect = data.expect
  -- Threads start at different places so that they do not ask for the same key in lockstep.
  position = (thread_index * 7919) % #requests + 1
end

function request()
  local r = requests[position]
  position = position % #requests + 1
  return r
end

function response(status, headers, body)
  if status ~= 200 or not string.find(body, expect, 1, true) then
    note_unexpected(status, body)
  end
end
