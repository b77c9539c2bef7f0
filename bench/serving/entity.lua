-- wrk script for bench/serving's enriched endpoint: POST one random customer id per
-- request (of 1..SERVING_KEYS), so the online store looks up many keys rather than one
-- cached key. SERVING_FORMAT: v2 (an INT64 tensor "customer_id" of shape [1]) or v1
-- ({"instances": [{"customer_id": N}]}). 1000 bodies are made up front, seed 42.
local keys = tonumber(os.getenv("SERVING_KEYS") or "100000")
local format = os.getenv("SERVING_FORMAT") or "v2"
local bodies = {}
local next_body = 1
local headers = {["Content-Type"] = "application/json"}

math.randomseed(42)
for i = 1, 1000 do
  local id = math.random(1, keys)
  if format == "v1" then
    bodies[i] = string.format('{"instances":[{"customer_id":%d}]}', id)
  else
    bodies[i] = string.format(
      '{"inputs":[{"name":"customer_id","shape":[1],"datatype":"INT64","data":[%d]}]}', id)
  end
end

function request()
  local body = bodies[next_body]
  next_body = next_body % #bodies + 1
  return wrk.format("POST", nil, headers, body)
end
