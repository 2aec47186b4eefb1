-- Renames: each request gives a user's key a name it never had, so that every request writes
-- (a rename to the current name changes nothing and writes nothing). Users in turn, one request
-- each; threads start at different users.
--
-- Data: { requests = { {headers = {...}, body = "...%s..."}, ... }, expect = "<substring>" }
-- where each body is the page's UPDATE_KEY with one user's key id, `%s` standing for the name.

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "report.lua")

unexpected = 0
local requests = {}
local expect = nil
local position = 1
local count = 0
local tag = ""

function init(args)
  local data = load_data()
  requests = data.requests
  expect = data.expect
  position = (thread_index * 7919) % #requests + 1
  -- A warm-up and the measured run that follows it start in different seconds.
  tag = "t" .. os.time() .. "x" .. thread_index
end

function request()
  local r = requests[position]
  position = position % #requests + 1
  count = count + 1
  return wrk.format("POST", "/graphql", r.headers, string.format(r.body, "r" .. count .. tag))
end

function response(status, headers, body)
  if status ~= 200 or not string.find(body, expect, 1, true) then
    note_unexpected(status, body)
  end
end
