import { describe, expect, test } from "bun:test";
import { emptyObservation } from "./ledger.ts";
import { percentile, summarize } from "./summary.ts";

describe("summarize", () => {
  test("percentiles are the upper bound of the bucket the rank falls in; null past the last bound", () => {
    const buckets = Array.from({ length: 15 }, () => 0);
    expect(percentile(buckets, 0.5)).toBeNull();
    buckets[2] = 50; // (2, 5] ms
    buckets[9] = 45; // (500, 1000] ms
    buckets[14] = 5; // > 30 s
    expect(percentile(buckets, 0.5)).toBe(5);
    expect(percentile(buckets, 0.51)).toBe(1000);
    expect(percentile(buckets, 0.95)).toBe(1000);
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
