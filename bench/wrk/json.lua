-- wrk reporter for bench/wrk.ts: after the run, prints the summary as one JSON line after the
-- marker HFI_BENCH_JSON. Latencies are wrk's, in microseconds. Defines only `done`, so wrk keeps
-- its fast path (no per-request Lua).
done = function(summary, latency, requests)
  local percentiles = {}
  for _, p in ipairs({ 50, 75, 90, 99, 99.9 }) do
    percentiles[#percentiles + 1] = string.format('"%s":%.0f', tostring(p), latency:percentile(p))
  end
  local e = summary.errors
  io.write(string.format(
    'HFI_BENCH_JSON {"requests":%d,"durationUs":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latencyUs":{"min":%.0f,"max":%.0f,"mean":%.2f,"stdev":%.2f,"p":{%s}}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.max, latency.mean, latency.stdev, table.concat(percentiles, ",")))
end
