-- tools/bench-ingest.lua -- wrk script for `tools/bench ingest`.
--
--   wrk ... -s tools/bench-ingest.lua URL -- TOKEN RUNTAG [BATCH]
--
-- With BATCH > 1 each request carries BATCH incidents as NDJSON (a dispatch
-- system catching up, or a gateway forwarding several CADs) and is answered
-- 200 with {"accepted": n, ...}; the incidents accepted are counted.
--
-- Every request is POST /v1/incidents with one incident, as a CAD system
-- sends it: a unique external_id (RUNTAG-THREAD-COUNTER), one of the offenses
-- tools/bench sets up, a priority, a location inside the two bench precincts
-- (the daemon assigns the precinct), an address, and occurred/received/
-- dispatched times in the agency's zone. Responses are counted by status in
-- response(); done() prints one machine-readable line, "BENCH key=value ...",
-- which tools/bench parses, plus a sample of every non-2xx body.

local threads = {}

function setup(thread)
    thread:set("tid", #threads + 1)
    table.insert(threads, thread)
end

local offenses = {"ROB", "BURG", "THEFT", "ASLT", "AUTO", "HOM"}
local streets = {"Canal St", "Magazine St", "St Charles Ave", "Tchoupitoulas St",
                 "Esplanade Ave", "Frenchmen St", "Decatur St", "Broad St"}
local token, runtag, counter, headers, batch

function init(args)
    token = args[1] or error("tools/bench-ingest.lua: token argument missing")
    runtag = args[2] or "run"
    batch = tonumber(args[3] or "1")
    counter = 0
    c201, c200, cother, caccepted, errsample = 0, 0, 0, 0, ""
    headers = {["Content-Type"] = batch > 1 and "application/x-ndjson" or "application/json",
               ["Authorization"] = "Bearer " .. token}
    math.randomseed(os.time() * 1000 + tid)
end

-- A fixed base day (2026-11-27 00:00 UTC) plus up to 30 days: the cube sees
-- a realistic spread of hours and days, not one bucket.
local base = 1795737600

local function ts(t)
    return os.date("!%Y-%m-%dT%H:%M:%SZ", t)
end

local function incident()
    counter = counter + 1
    local occurred = base + math.random(0, 30 * 86400)
    local received = occurred + math.random(0, 900)
    local dispatched = received + math.random(10, 600)
    return string.format(
        '{"source":"cad-bench","external_id":"%s-%d-%d","offense":"%s","priority":%d,' ..
        '"location":{"lat":%.6f,"lon":%.6f},"address":"%d %s",' ..
        '"occurred_at":"%s","received_at":"%s","dispatched_at":"%s",' ..
        '"status":"dispatched","units":["%dA%02d"]}',
        runtag, tid, counter, offenses[math.random(#offenses)], math.random(1, 5),
        29.93 + math.random() * 0.05, -90.10 + math.random() * 0.10,
        math.random(100, 4999), streets[math.random(#streets)],
        ts(occurred), ts(received), ts(dispatched), math.random(1, 8), math.random(1, 40))
end

function request()
    if batch <= 1 then
        return wrk.format("POST", "/v1/incidents", headers, incident())
    end
    local lines = {}
    for i = 1, batch do
        lines[i] = incident()
    end
    return wrk.format("POST", "/v1/incidents", headers, table.concat(lines, "\n"))
end

function response(status, hdrs, body)
    if status == 201 then
        c201 = c201 + 1
    elseif status == 200 then
        c200 = c200 + 1
        local n = batch > 1 and tonumber(string.match(body, '"accepted"%s*:%s*(%d+)'))
        if n then
            caccepted = caccepted + n
        end
    else
        cother = cother + 1
        if #errsample < 2000 then
            errsample = errsample .. status .. " " .. tostring(body):gsub("%s+", " "):sub(1, 300) .. "\n"
        end
    end
end

function done(summary, latency, requests)
    local n201, n200, nother, naccepted, samples = 0, 0, 0, 0, ""
    for _, t in ipairs(threads) do
        n201 = n201 + t:get("c201")
        n200 = n200 + t:get("c200")
        nother = nother + t:get("cother")
        naccepted = naccepted + t:get("caccepted")
        samples = samples .. t:get("errsample")
    end
    local e = summary.errors
    io.write(string.format(
        "BENCH requests=%d duration_us=%d s201=%d s200=%d sother=%d accepted=%d " ..
        "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d " ..
        "p50_us=%d p90_us=%d p99_us=%d max_us=%d mean_us=%.1f\n",
        summary.requests, summary.duration, n201, n200, nother, naccepted,
        e.connect, e.read, e.write, e.status, e.timeout,
        latency:percentile(50), latency:percentile(90), latency:percentile(99),
        latency.max, latency.mean))
    if samples ~= "" then
        io.write("NON2XX-SAMPLES-BEGIN\n", samples, "NON2XX-SAMPLES-END\n")
    end
end
