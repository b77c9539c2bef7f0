-- wrk script for bench/online_lookup: POST /api/v1/features/online, ten features of
-- ONLINE_BATCH random keys (of ONLINE_KEYS) per request, from 1000 bodies made up front.
local keys = tonumber(os.getenv("ONLINE_KEYS") or "100000")
local batch = tonumber(os.getenv("ONLINE_BATCH") or "1")
local bodies = {}
local next_body = 1
local headers = {["Content-Type"] = "application/json"}

local features = {}
for f = 0, 9 do features[#features + 1] = string.format('"stats:f%d"', f) end
local prefix = '{"features":[' .. table.concat(features, ",") .. '],"entities":{"entity_id":['

math.randomseed(42)
for i = 1, 1000 do
  local ids = {}
  for b = 1, batch do ids[b] = string.format('"k:%012d"', math.random(0, keys - 1)) end
  bodies[i] = prefix .. table.concat(ids, ",") .. "]}}"
end

function request()
  local body = bodies[next_body]
  next_body = next_body % #bodies + 1
  return wrk.format("POST", "/api/v1/features/online", headers, body)
end
