-- wrk reporting script for bench/run.mjs: at the end of a run, prints one line
--   LEGATE_WRK {"requests":..,"duration_us":..,"bytes":..,"latency_us":{...},"errors":{...}}
-- that bench/lib/wrk.mjs parses. Latencies are in microseconds, as wrk records them.
-- Non-2xx/3xx replies are counted by wrk as errors.status.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'LEGATE_WRK {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"latency_us":{"min":%d,"mean":%.1f,"stdev":%.1f,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d},' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    latency.min, latency.mean, latency.stdev,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
