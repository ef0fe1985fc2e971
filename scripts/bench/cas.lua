-- wrk: a compare-and-swap that always holds (prevValue = the value it writes), so every request is
-- a real CAS on the server without per-connection state.
local v = string.rep("v", tonumber(os.getenv("VALUE_SIZE") or "16"))
wrk.method = "PUT"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "value=" .. v .. "&prevValue=" .. v
