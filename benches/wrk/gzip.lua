-- wrk script: GET_SERVICES with `Accept-Encoding: gzip`, so every answer is gzip-compressed by
-- actix's Compress middleware (written in more than one piece). Shows what TCP_NODELAY
-- (`server.tcp_nodelay`; `LOAD_NODELAY=0` turns it off in the load bench) does to answers that
-- Nagle's algorithm would hold until the client's delayed ACK. GET_SERVICES changes nothing,
-- so the run can be as long as needed; the ceiling server answers it with its fixed reply.
--
--   LOAD_SERVE=1 [LOAD_NODELAY=0] cargo bench --bench load
--   WRK_KEY=load-bench-key wrk -t2 -c32 -d10s --latency -s benches/wrk/gzip.lua <URL>

local key = os.getenv("WRK_KEY") or "load-bench-key"

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept-Encoding"] = "gzip"
wrk.body = '{"action":"GET_SERVICES","key":"' .. key .. '"}'

local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    failed = 0
end

function response(status, headers, body)
    local encoding = headers["content-encoding"] or headers["Content-Encoding"]
    if status ~= 200 or encoding ~= "gzip" then
        failed = failed + 1
    end
end

function done(summary, latency, requests)
    local failures = 0
    for _, thread in ipairs(threads) do
        failures = failures + (thread:get("failed") or 0)
    end
    io.write(string.format("gzip.lua: %d answers not 200 gzip\n", failures))
end
