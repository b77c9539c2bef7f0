-- wrk script for bench/serving: POST the same JSON body (the file SERVING_BODY) to the
-- URL's path on every request.
local file = assert(io.open(assert(os.getenv("SERVING_BODY"), "SERVING_BODY is not set"), "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
wrk.headers["Content-Type"] = "application/json"
file:close()
