-- First visits: the settings page's list, each request from a user never seen before, whose
-- list the service answers by creating the user's default key. Each session token is used once;
-- thread t takes the tokens t+1, t+1+threads, ... Should a run outlast its tokens, the requests
-- beyond them are counted as unexpected (they would no longer be first visits).
--
-- Data: { tokens = "<token>\n<token>\n...", threads = n, body = "...", expect = "<substring>" }
-- (the tokens as one string: a Lua table literal of tens of thousands of strings can exceed
-- LuaJIT's limits on constants).

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "report.lua")

unexpected = 0
local tokens = {}
local body = nil
local expect = nil
local position = 1

function init(args)
  local data = load_data()
  local n = 0
  for token in string.gmatch(data.tokens, "[^\n]+") do
    if n % data.threads == thread_index then
      tokens[#tokens + 1] = token
    end
    n = n + 1
  end
  body = data.body
  expect = data.expect
end

function request()
  local token = tokens[position]
  if token == nil then
    unexpected = unexpected + 1
    token = tokens[#tokens]
  else
    position = position + 1
  end
  local headers = {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json",
  }
  return wrk.format("POST", "/graphql", headers, body)
end

-- A first visit's list holds the one key just created: the default, and nothing else.
function response(status, headers, body_)
  if status ~= 200 or not string.find(body_, expect, 1, true)
      or string.find(body_, '"isDefault":false', 1, true) then
    note_unexpected(status, body_)
  end
end
