/**
 * Observations through the compiled filter (docs/FILTER.md, "Observations"): per policy, requests
 * matched, faults injected by kind, the status codes clients got and a latency histogram, reported
 * as deltas to `POST /v1/observations` (decoded here by the server's own parser) at most once per
 * interval, resent unchanged (same sequence number) after a failure, nothing for traffic no rule
 * matched.
 */
import { describe, expect, test } from "bun:test";
import { type PolicyReport, parseReport, type Report } from "../../src/observations/index.ts";
import { type HttpCall, ProxyWasmHost, type Stream } from "../proxy-wasm-host/index.ts";
import { CONFIG, header, hostWithRules, req, startedHost, WASM } from "../support/filter-host.ts";

const rule = (name: string, prefix: string, fault: Record<string, unknown>, extra: object = {}) => ({
  name,
  priority: 10,
  match: { headers: [], path: { type: "prefix", value: prefix } },
  fault: { percentageMillionths: 1_000_000, ...fault },
  ...extra,
});

const RULES = JSON.stringify({
  format: 1,
  revision: 3,
  rules: [
    rule("half-abort", "/abort", { percentageMillionths: 500_000, abort: { httpStatus: 503, body: "" } }),
    rule("slow", "/slow", { delay: { fixedDelayMs: 30 } }),
    rule("shadow", "/shadow", { abort: { httpStatus: 500, body: "" } }, { dryRun: true }),
  ],
});

const isReport = (call: HttpCall) => (header(call.headers, ":path") ?? "").startsWith("/v1/observations?");
const reportsInFlight = (host: ProxyWasmHost) => host.httpCalls.filter(isReport);

/** Answers every report in flight with `status`, returning their bodies. */
function answerReports(host: ProxyWasmHost, status: number | null = 200): Report[] {
  return reportsInFlight(host).map((call) => {
    host.respond(call.token, { status });
    return parseReport(call.bodyBytes);
  });
}

/** Runs the timer and acknowledges every report until none comes for two intervals; all reports seen. */
function drainReports(host: ProxyWasmHost): Report[] {
  const seen: Report[] = [];
  for (let quiet = 0; quiet < 2; ) {
    host.runFor(1_000);
    const got = answerReports(host);
    seen.push(...got);
    quiet = got.length === 0 ? quiet + 1 : 0;
  }
  return seen;
}

/** The reports' deltas summed per policy. */
function totals(reports: Report[]): Map<string, PolicyReport> {
  const sum = new Map<string, PolicyReport>();
  for (const { policies } of reports) {
    for (const p of policies) {
      const into = sum.get(p.name) ?? {
        ...p,
        matched: 0,
        aborts: 0,
        delays: 0,
        dryRun: 0,
        statuses: {},
        otherStatuses: 0,
        latencyBuckets: p.latencyBuckets.map(() => 0),
        latencySumUs: 0,
      };
      into.matched += p.matched;
      into.aborts += p.aborts;
      into.delays += p.delays;
      into.dryRun += p.dryRun;
      into.otherStatuses += p.otherStatuses;
      into.latencySumUs += p.latencySumUs;
      p.latencyBuckets.forEach((n, i) => {
        into.latencyBuckets[i]! += n;
      });
      for (const [code, n] of Object.entries(p.statuses))
        into.statuses[code] = (into.statuses[code] ?? 0) + n;
      sum.set(p.name, into);
    }
  }
  return sum;
}

/** Bucket counts with `n` in bucket `index` of the 15. */
const bucket = (index: number, n: number) => Array.from({ length: 15 }, (_, i) => (i === index ? n : 0));

describe("observations", () => {
  test("count what each policy matched, injected, answered and how long it took, exactly", async () => {
    const host = await hostWithRules(RULES, { randomSeed: 7 });
    const aborted: Stream[] = [];
    for (let i = 0; i < 20; i++) {
      const stream = host.request(req("GET", `/abort/${i}`));
      if (stream.localResponse) aborted.push(stream);
      host.finish(stream, 200);
    }
    const slow = [0, 1, 2].map(() => host.request(req("GET", "/slow")));
    host.runFor(30);
    for (const stream of slow) host.finish(stream, 200);
    for (let i = 0; i < 4; i++) host.finish(host.request(req("GET", "/shadow")), i < 3 ? 200 : 502);
    for (let i = 0; i < 5; i++) host.finish(host.request(req("GET", "/other")), 200);

    const reports = drainReports(host);
    const seqs = reports.map((r) => r.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    const sum = totals(reports);
    expect([...sum.keys()].sort()).toEqual(["half-abort", "shadow", "slow"]);

    expect(aborted.length).toBeGreaterThan(0);
    expect(aborted.length).toBeLessThan(20);
    const halfAbort = sum.get("half-abort")!;
    expect(halfAbort).toMatchObject({ matched: 20, aborts: aborted.length, delays: 0, dryRun: 0 });
    expect(halfAbort.statuses).toEqual({ "200": 20 - aborted.length, "503": aborted.length });
    // Neither the upstream's answer nor the abort took any time on the host's clock: bucket ≤ 1 ms.
    expect(halfAbort.latencyBuckets).toEqual(bucket(0, 20));

    const slowTotals = sum.get("slow")!;
    expect(slowTotals).toMatchObject({ matched: 3, aborts: 0, delays: 3, statuses: { "200": 3 } });
    // 30 ms is in the bucket [16, 32) ms, the sixth.
    expect(slowTotals.latencyBuckets).toEqual(bucket(5, 3));
    expect(slowTotals.latencySumUs).toBe(3 * 30_000);

    expect(sum.get("shadow")).toMatchObject({
      matched: 4,
      dryRun: 4,
      aborts: 0,
      statuses: { "200": 3, "502": 1 },
    });
  });

  test("a stream reset before any response counts as status 0", async () => {
    const host = await hostWithRules(RULES);
    host.finish(host.request(req("GET", "/slow")));
    const sum = totals(drainReports(host));
    expect(sum.get("slow")).toMatchObject({ matched: 1, delays: 1, statuses: { "0": 1 } });
  });

  test("traffic no rule matched sends no report; the timer only looks once per interval", async () => {
    const host = await hostWithRules(RULES);
    for (let i = 0; i < 50; i++) host.finish(host.request(req("GET", "/other")), 200);
    host.runFor(10_000);
    expect(reportsInFlight(host)).toEqual([]);
    expect(host.tickPeriodMs).toBe(1_000);
  });

  test("at most one report per interval, and one only when something changed", async () => {
    const host = await hostWithRules(RULES, { config: { ...CONFIG, reportIntervalMs: 2_000 } });
    const sentAt: bigint[] = [];
    const matched: number[] = [];
    // A matched request every 10 ms for 10 s, then quiet for 10 s.
    for (let t = 0; t < 2_000; t++) {
      if (t < 1_000) host.finish(host.request(req("GET", "/shadow")), 200);
      host.runFor(10);
      for (const report of answerReports(host)) {
        sentAt.push(host.nowNs);
        matched.push(report.policies.reduce((n, p) => n + p.matched, 0));
      }
    }
    const gapsMs = sentAt.slice(1).map((at, i) => Number(at - sentAt[i]!) / 1e6);
    expect(gapsMs.every((gap) => gap >= 2_000)).toBe(true);
    expect(sentAt.length).toBeLessThanOrEqual(6);
    expect(matched.reduce((a, b) => a + b, 0)).toBe(1_000);
  });

  test("a failed report is sent again unchanged; what came meanwhile goes in the next one", async () => {
    const host = await hostWithRules(RULES);
    host.finish(host.request(req("GET", "/shadow")), 200);
    host.runFor(1_000);
    const [failed] = reportsInFlight(host);
    host.respond(failed!.token, { status: 503 });
    host.finish(host.request(req("GET", "/shadow")), 200);
    host.finish(host.request(req("GET", "/shadow")), 200);

    host.runFor(30_000);
    const [retried] = reportsInFlight(host);
    expect(retried!.bodyBytes).toEqual(failed!.bodyBytes);
    host.respond(retried!.token, { status: null });
    host.runFor(30_000);
    const [again] = reportsInFlight(host);
    expect(again!.bodyBytes).toEqual(failed!.bodyBytes);
    host.respond(again!.token, { status: 200 });

    const next = drainReports(host);
    expect(next.map((r) => [r.seq, r.policies[0]?.matched])).toEqual([[2, 2]]);
  });

  test("reports go to the control plane's cluster with the poll's identity and token", async () => {
    const host = await hostWithRules(RULES, { config: { ...CONFIG, token: "reader-token" } });
    host.finish(host.request(req("GET", "/shadow")), 200);
    host.runFor(1_000);
    const [call] = reportsInFlight(host);
    expect(call!.cluster).toBe(CONFIG.cluster);
    expect(header(call!.headers, ":method")).toBe("POST");
    expect(header(call!.headers, "accept")).toBe("application/json");
    expect(header(call!.headers, ":authority")).toBe(CONFIG.authority);
    expect(header(call!.headers, "authorization")).toBe("Bearer reader-token");
    expect(header(call!.headers, ":path")).toMatch(/^\/v1\/observations\?node=unknown&worker=[0-9a-f]{16}$/);
  });

  test("an abort is observed as it is sent: no status read, no clock read, nothing kept for the stream", async () => {
    const host = await hostWithRules(
      JSON.stringify({
        format: 1,
        revision: 3,
        rules: [rule("abort", "/abort", { abort: { httpStatus: 503, body: "" } })],
      }),
    );
    const [values, clocks] = [host.count("proxy_get_header_map_value"), host.count("clock_time_get")];
    for (let i = 0; i < 5; i++) {
      const stream = host.request(req("GET", "/abort"));
      expect(stream.localResponse?.status).toBe(503);
      host.finish(stream);
    }
    expect(host.count("proxy_get_header_map_value") - values).toBe(0);
    expect(host.count("clock_time_get") - clocks).toBe(0);
    expect(totals(drainReports(host)).get("abort")).toMatchObject({
      matched: 5,
      aborts: 5,
      statuses: { "503": 5 },
      latencyBuckets: bucket(0, 5),
      latencySumUs: 0,
    });
  });

  test("reportIntervalMs 0 observes nothing: no status read, no timer, no report", async () => {
    const host = await hostWithRules(RULES, { config: { ...CONFIG, reportIntervalMs: 0 } });
    const values = host.count("proxy_get_header_map_value");
    for (let i = 0; i < 5; i++) host.finish(host.request(req("GET", "/shadow")), 200);
    expect(host.count("proxy_get_header_map_value") - values).toBe(0);
    expect(host.tickPeriodMs).toBe(0);
    host.runFor(5_000);
    expect(reportsInFlight(host)).toEqual([]);
  });

  test("reportIntervalMs other than 0 or 100..60000 is refused", async () => {
    for (const reportIntervalMs of [-1, 99, 60_001, 1.5, "1000"]) {
      const host = await ProxyWasmHost.load(WASM, {
        pluginConfig: JSON.stringify({ ...CONFIG, reportIntervalMs }),
      });
      expect(host.start()).toBe(false);
      expect(host.logs.map((l) => l.message)).toContain(
        "invalid plugin configuration: reportIntervalMs: expected 0 or 100..60000",
      );
    }
    expect((await startedHost({ ...CONFIG, reportIntervalMs: 100 })).logs).toEqual([]);
  });
});
