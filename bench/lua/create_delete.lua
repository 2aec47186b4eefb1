-- Pairs of createApiKey then deleteApiKey, as the settings page sends them.
--
-- wrk does not say which connection a response belongs to, so a pair is tied together by what
-- the answers carry: a created key's name says which user made it ("u<user> n<count> t<time>"), and
-- its id is remembered with that user until the delete's answer echoes it. The next request
-- deletes a created key if one is waiting, else creates one for a user with nothing in flight.
-- Each user then holds at most its default plus one key, far from the five-key limit, and each
-- thread has its own users (twice as many as its connections), so threads never collide; with
-- one thread (the default) that thread has them all.
--
-- Data: { tokens = {...}, users_per_thread = n, create_body = "...%s...", delete_body = "...%s..." }

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "report.lua")

unexpected = 0
completed_pairs = 0 -- completed deletes, each the end of one create+delete pair
local headers = {}
local free = {} -- users with no key in flight
local waiting = {} -- created keys to delete: { user, id }
local owner_of = {} -- key id -> user, for the delete's answer
local created = 0
local run_tag = "" -- the warm-up and the measured run must not reuse each other's names
local create_body, delete_body

function init(args)
  local data = load_data()
  local per_thread = data.users_per_thread
  for user = 1, per_thread do
    local token = data.tokens[thread_index * per_thread + user]
    headers[user] = {
      ["Authorization"] = "Bearer " .. token,
      ["Content-Type"] = "application/json",
      ["Accept"] = "application/json", -- as the page sends it
    }
    free[#free + 1] = user
  end
  create_body = data.create_body
  delete_body = data.delete_body
  run_tag = tostring(os.time())
end

function request()
  local item = table.remove(waiting)
  if item then
    return wrk.format("POST", "/graphql", headers[item.user], string.format(delete_body, item.id))
  end
  -- With two users per connection one is always free; if not, reuse one and let the answer
  -- (KEY_LIMIT_REACHED at worst) be counted as unexpected.
  local user = table.remove(free) or (created % #headers) + 1
  created = created + 1
  local name = "u" .. user .. " n" .. created .. " t" .. run_tag
  return wrk.format("POST", "/graphql", headers[user], string.format(create_body, name))
end

function response(status, headers_, body)
  local id, user = string.match(body, '"createApiKey":{"__typename":"ApiKey","id":"([%x%-]+)","name":"u(%d+) ')
  if status == 200 and id then
    user = tonumber(user)
    owner_of[id] = user
    waiting[#waiting + 1] = { user = user, id = id }
    return
  end
  id = string.match(body, '"deleteApiKey":{"__typename":"DeletedApiKey","id":"([%x%-]+)"')
  if status == 200 and id and owner_of[id] then
    free[#free + 1] = owner_of[id]
    owner_of[id] = nil
    completed_pairs = completed_pairs + 1
    return
  end
  note_unexpected(status, body)
end
