-- tools/bench-mixed.lua -- wrk script of `tools/bench mixed`: the ingest half.
--
--   wrk -t1 -c C ... -s tools/bench-mixed.lua URL -- TOKEN RUNTAG RATE
--
-- POSTs one incident per request to agency BENCH of tools/bench-setup.sql
-- (a random offense O1..O50, a location in the 12 x 12 precinct grid, times
-- in the last 30 days, dispatched with a unit) at RATE requests per second
-- in all: delay() hands each request the next slot of a fixed schedule
-- (clock_gettime through LuaJIT's ffi), so the rate does not follow the
-- server's latency as a closed loop would. Counts 201s and prints
-- "MIXED s201=... other=... duration_us=...".
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } timespec_t;
int clock_gettime(int clk, timespec_t *ts);
]]
local ts = ffi.new("timespec_t")
local function now_ms()
    ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local threads = {}
function setup(thread)
    thread:set("tid", #threads + 1)
    table.insert(threads, thread)
end

local token, runtag, interval, next_slot, counter, headers
function init(args)
    token = args[1]
    runtag = args[2]
    interval = 1000 / tonumber(args[3]) * #threads
    counter, c201, cother = 0, 0, 0
    headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}
    math.randomseed(tid * 7919)
end

function delay()
    local t = now_ms()
    if next_slot == nil or next_slot < t - 1000 then
        next_slot = t -- start, or fell a second behind: do not burst to catch up
    end
    local wait = next_slot - t
    next_slot = next_slot + interval
    return wait > 0 and wait or 0
end

local function iso(t)
    return os.date("!%Y-%m-%dT%H:%M:%SZ", t)
end

function request()
    counter = counter + 1
    local occurred = os.time() - math.random(0, 30 * 86400)
    local received = occurred + math.random(0, 600)
    local body = string.format(
        '{"source":"mixed","external_id":"%s-%d-%d","offense":"O%d","priority":%d,' ..
        '"location":{"lat":%.6f,"lon":%.6f},"occurred_at":"%s","received_at":"%s",' ..
        '"dispatched_at":"%s","status":"dispatched","units":["%dA%02d"]}',
        runtag, tid, counter, math.random(1, 50), math.random(1, 5),
        41.7 + math.random() * 0.18, -87.9 + math.random() * 0.29,
        iso(occurred), iso(received), iso(received + math.random(10, 600)),
        math.random(1, 8), math.random(1, 40))
    return wrk.format("POST", "/v1/incidents", headers, body)
end

function response(status, hdrs, body)
    if status == 201 then c201 = c201 + 1 else cother = cother + 1 end
end

function done(summary, latency, requests)
    local a, b = 0, 0
    for _, t in ipairs(threads) do
        a = a + t:get("c201")
        b = b + t:get("cother")
    end
    io.write(string.format("MIXED s201=%d other=%d duration_us=%d p99_us=%d\n", a, b,
        summary.duration, latency:percentile(99)))
end
