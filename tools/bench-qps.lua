-- tools/bench-qps.lua -- wrk script of `tools/bench qps`: GET the one URL wrk
-- was given, with the bearer token from $BENCH_TOKEN (none for the bare
-- baseline), and count the answers by status so non-200s are reported.
local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. token
end

local threads = {}
function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    ok, other = 0, 0
end

function response(status, headers, body)
    if status == 200 then ok = ok + 1 else other = other + 1 end
end

function done(summary, latency, requests)
    local o, x = 0, 0
    for _, t in ipairs(threads) do
        o = o + t:get("ok")
        x = x + t:get("other")
    end
    io.write(string.format("QPS ok=%d other=%d duration_us=%d p50_us=%d p99_us=%d errors=%d\n",
        o, x, summary.duration, latency:percentile(50), latency:percentile(99),
        summary.errors.connect + summary.errors.read + summary.errors.write +
        summary.errors.status + summary.errors.timeout))
end
