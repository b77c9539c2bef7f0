-- wrk script for bench/soak: a repeating mix of small predict requests, each a real
-- client's kind of call, so the soak exercises every path a request takes:
--   2 of 4  v2 JSON, one row of 30 FP32 features        POST /v2/models/soak/infer
--   1 of 4  v1 JSON, the same row as an instance         POST /v1/models/soak:predict
--   1 of 4  v2 JSON, only a customer id (its 30 features read from the online store)
--           of a random customer of 1..SOAK_KEYS         POST /v2/models/soak-enriched/infer
-- Files: SOAK_V2_BODY, SOAK_V1_BODY. 1000 enriched bodies are made up front, seed 42.
local function read(name)
  local file = assert(io.open(assert(os.getenv(name), name .. " is not set"), "rb"))
  local text = file:read("*a")
  file:close()
  return text
end

local keys = tonumber(os.getenv("SOAK_KEYS") or "20000")
local headers = {["Content-Type"] = "application/json"}
local plain_v2 = wrk.format("POST", "/v2/models/soak/infer", headers, read("SOAK_V2_BODY"))
local plain_v1 = wrk.format("POST", "/v1/models/soak:predict", headers, read("SOAK_V1_BODY"))
local enriched = {}
math.randomseed(42)
for i = 1, 1000 do
  enriched[i] = wrk.format("POST", "/v2/models/soak-enriched/infer", headers, string.format(
    '{"inputs":[{"name":"customer_id","shape":[1],"datatype":"INT64","data":[%d]}]}',
    math.random(1, keys)))
end

local turn = 0
local next_enriched = 1
function request()
  turn = turn % 4 + 1
  if turn == 3 then return plain_v1 end
  if turn == 4 then
    local r = enriched[next_enriched]
    next_enriched = next_enriched % #enriched + 1
    return r
  end
  return plain_v2
end
