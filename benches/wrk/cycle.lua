-- wrk script: GET_NUMBER -> FINISH_ACTIVATION (status 5) cycles on simrelay's v1 endpoint, plain
-- JSON, the independent check of `cargo bench --bench load`. Each wrk thread keeps the
-- activation ids its GET_NUMBERs got and finishes them with its next requests, so the pool is
-- never drained. Non-200 answers and bodies without "SUCCESS" are counted and printed.
--
--   LOAD_SERVE=1 cargo bench --bench load        # prints the two URLs and the key
--   WRK_KEY=load-bench-key wrk -t2 -c32 -d10s --latency -s benches/wrk/cycle.lua <URL>
--
-- The ceiling server answers every POST with a fixed GET_NUMBER reply, so the same script
-- drives it through the same cycle.

local key = os.getenv("WRK_KEY") or "load-bench-key"
local get_number = '{"action":"GET_NUMBER","key":"' .. key ..
    '","country":"russia","operator":"any","service":"vk","sum":10}'
local headers = { ["Content-Type"] = "application/json" }
local pending = {}
local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    failed = 0
end

function request()
    local id = table.remove(pending)
    if id then
        return wrk.format("POST", nil, headers,
            '{"action":"FINISH_ACTIVATION","key":"' .. key .. '","activationId":' .. id .. ',"status":5}')
    end
    return wrk.format("POST", nil, headers, get_number)
end

function response(status, _, body)
    if status ~= 200 or not body:find('"SUCCESS"', 1, true) then
        failed = failed + 1
        return
    end
    local id = body:match('"activationId":(%d+)')
    if id then
        table.insert(pending, id)
    end
end

function done(summary, latency, requests)
    local failures = 0
    for _, thread in ipairs(threads) do
        failures = failures + (thread:get("failed") or 0)
    end
    io.write(string.format("cycle.lua: %d answers not 200 SUCCESS\n", failures))
end
