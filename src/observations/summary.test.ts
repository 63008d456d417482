import { describe, expect, test } from "bun:test";
import { emptyObservation } from "./ledger.ts";
import { percentile, summarize } from "./summary.ts";

describe("summarize", () => {
  test("percentiles are the (exclusive) upper bound of the bucket the rank falls in; null past the last", () => {
    const buckets = Array.from({ length: 15 }, () => 0);
    expect(percentile(buckets, 0.5)).toBeNull();
    buckets[2] = 50; // [2, 4) ms
    buckets[9] = 45; // [256, 512) ms
    buckets[14] = 5; // 8192 ms and more
    expect(percentile(buckets, 0.5)).toBe(4);
    expect(percentile(buckets, 0.51)).toBe(512);
    expect(percentile(buckets, 0.95)).toBe(512);
    expect(percentile(buckets, 0.96)).toBeNull();
  });

  test("error rate counts 5xx and resets (status 0) over every response; dominant status breaks ties low", () => {
    const o = emptyObservation("p");
    o.matched = 10;
    o.statuses = { "0": 1, "200": 4, "404": 1, "503": 4 };
    const s = summarize(o);
    expect(s.errorRate).toBe(0.5);
    expect(s.dominantStatus).toBe(200);
    expect(s.latencyMs).toEqual({ p50: null, p95: null, p99: null, mean: null });
    expect(summarize(emptyObservation("q"))).toMatchObject({
      errorRate: 0,
      dominantStatus: null,
      requests: 0,
    });
  });
});
