/**
 * Observations end to end: the real `dist/hfi serve`, the real Envoy 1.40 (2 workers, so 3 filter
 * VMs with the main thread's) loading `dist/hfi-filter.wasm`, a real upstream. What the filters
 * report (`POST /v1/observations`) and the control plane sums (`GET /v1/observations`) equals the
 * traffic sent, request for request: matched, aborted, delayed, dry-run matches, the status codes
 * clients got (the filter's aborts and the upstream's own), latency within a bucket of the truth.
 * Requires `npm run build` and scripts/setup.sh. Figures go to stdout as `[observations] …` lines.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { ObservationsList, PolicyObservationView } from "../../src/api-types.ts";
import { LATENCY_BOUNDS_MS } from "../../src/observations/index.ts";
import { type LocalStack, startLocalStack } from "../support/local-stack.ts";
import { putPolicy } from "../support/policies.ts";
import { send } from "../support/requests.ts";

const REPORT_INTERVAL_MS = 200;
const DELAY_MS = 60;
const VMS = 3;

let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack({ concurrency: 2, pluginConfig: { reportIntervalMs: REPORT_INTERVAL_MS } });
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

const report = (line: string) => console.log(`[observations] ${line}`);

async function observations(): Promise<Map<string, PolicyObservationView>> {
  const res = await fetch(`${stack.controlPlaneUrl}/v1/observations`);
  expect(res.status).toBe(200);
  const { policies } = (await res.json()) as ObservationsList;
  return new Map(policies.map((p) => [p.name, p]));
}

/** Until every filter VM acknowledged `revision` (or a later one), served by the control plane. */
async function propagated(revision: number): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (performance.now() < deadline) {
    const status = (await fetch(`${stack.controlPlaneUrl}/v1/status/proxies`).then((r) => r.json())) as {
      revision: number;
      proxies: { revision: number | null }[];
    };
    const acknowledged = status.proxies.every((p) => p.revision === status.revision);
    if (status.revision >= revision && status.proxies.length >= VMS && acknowledged) return;
    await Bun.sleep(50);
  }
  throw new Error("the filters did not acknowledge the policies within 10 s");
}

const sendAll = (path: string, n: number) =>
  Promise.all(Array.from({ length: n }, () => send(stack.envoyUrl, path)));

test("what the filters observe is the traffic sent, request for request", async () => {
  const puts = await Promise.all([
    putPolicy(stack.controlPlaneUrl, "obs-abort", {
      match: { path: { prefix: "/obs/abort" } },
      fault: { abort: { httpStatus: 503 }, percentage: 50 },
    }),
    putPolicy(stack.controlPlaneUrl, "obs-delay", {
      match: { path: { prefix: "/obs/slow" } },
      fault: { delay: { fixedDelay: `${DELAY_MS}ms` } },
    }),
    putPolicy(stack.controlPlaneUrl, "obs-upstream", {
      match: { path: { prefix: "/status/" } },
      fault: { abort: { httpStatus: 500 } },
      mode: "dryRun",
    }),
  ]);
  expect(puts.map((r) => r.status)).toEqual([201, 201, 201]);
  // A fresh memory store: the three policies are revisions 1..3.
  await propagated(3);

  const started = performance.now();
  const [aborts, slow, notFound, ok, unmatched] = await Promise.all([
    sendAll("/obs/abort/x", 40),
    sendAll("/obs/slow", 10),
    sendAll("/status/404", 7),
    sendAll("/status/201", 5),
    sendAll("/other", 20),
  ]);
  const aborted = aborts.filter((s) => s.status === 503 && s.fault === "obs-abort").length;
  expect(aborted).toBeGreaterThan(0);
  expect(aborted).toBeLessThan(40);
  expect(aborts.filter((s) => s.status === 200)).toHaveLength(40 - aborted);
  expect(slow.every((s) => s.status === 200 && s.ms >= DELAY_MS)).toBe(true);
  expect(notFound.every((s) => s.status === 404)).toBe(true);
  expect(ok.every((s) => s.status === 201)).toBe(true);
  expect(unmatched.every((s) => s.status === 200)).toBe(true);

  // Every VM reports at most once per interval: all counts are in within a few intervals.
  let seen = await observations();
  const complete = () =>
    seen.get("obs-abort")?.matched === 40 &&
    seen.get("obs-delay")?.matched === 10 &&
    seen.get("obs-upstream")?.matched === 12;
  const deadline = performance.now() + 10_000;
  while (!complete() && performance.now() < deadline) {
    await Bun.sleep(REPORT_INTERVAL_MS / 2);
    seen = await observations();
  }
  report(`all counts reported ${Math.round(performance.now() - started)} ms after the traffic started`);
  // Nothing more arrives afterwards: no double counting.
  await Bun.sleep(3 * REPORT_INTERVAL_MS);
  seen = await observations();

  expect([...seen.keys()].sort()).toEqual(["obs-abort", "obs-delay", "obs-upstream"]);
  const abort = seen.get("obs-abort")!;
  expect(abort).toMatchObject({ matched: 40, aborts: aborted, delays: 0, dryRun: 0, otherStatuses: 0 });
  expect(abort.statuses).toEqual({ "200": 40 - aborted, "503": aborted });
  expect(abort.summary).toMatchObject({ requests: 40, injected: aborted, errorRate: aborted / 40 });

  const delay = seen.get("obs-delay")!;
  expect(delay).toMatchObject({ matched: 10, delays: 10, aborts: 0, statuses: { "200": 10 } });
  // No response came sooner than the delay: nothing in a bucket whose bound is below it.
  const belowDelay = LATENCY_BOUNDS_MS.findIndex((bound) => bound >= DELAY_MS);
  expect(delay.latencyBuckets.slice(0, belowDelay).every((n) => n === 0)).toBe(true);
  expect(delay.latencyBuckets.reduce((a, b) => a + b, 0)).toBe(10);
  const slowest = Math.max(...slow.map((s) => s.ms));
  expect(delay.summary.latencyMs.mean).toBeGreaterThanOrEqual(DELAY_MS);
  expect(delay.summary.latencyMs.mean).toBeLessThanOrEqual(slowest);
  // p99 is the bound of the bucket holding the slowest: at least what the client measured, minus its own overhead.
  expect(delay.summary.latencyMs.p99).toBeGreaterThanOrEqual(DELAY_MS);
  report(
    `delay ${DELAY_MS} ms: observed mean ${delay.summary.latencyMs.mean?.toFixed(1)} ms, p50 < ${delay.summary.latencyMs.p50} ms, p99 < ${delay.summary.latencyMs.p99} ms; clients' slowest ${slowest.toFixed(1)} ms`,
  );

  expect(seen.get("obs-upstream")).toMatchObject({
    matched: 12,
    dryRun: 12,
    aborts: 0,
    statuses: { "404": 7, "201": 5 },
    summary: { errorRate: 0, dominantStatus: 404 },
  });
}, 60_000);
