-- wrk: PUT a form-encoded value to the URL given (a plain etcd v2 set).
wrk.method = "PUT"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "value=" .. string.rep("v", tonumber(os.getenv("VALUE_SIZE") or "16"))
