/**
 * Delays drawn from a distribution, timed through the real Envoy 1.40 (2 workers) with the release
 * filter and `dist/hfi serve`: 1,000 requests per distribution, 50 at a time. Two checks per
 * distribution, both Kolmogorov–Smirnov at α = 0.001, neither a timing assertion:
 * - the delays the filter drew (the upstream is told each one in `x-hfi-fault`) fit the distribution;
 * - the delays Envoy timed fit it up to Envoy's timer. Envoy's access log gives each request's time
 *   from its first byte in to its first byte sent upstream (`%COMMON_DURATION(DS_RX_BEG:US_TX_BEG:us)%`),
 *   which is the drawn delay plus a lateness in [0, LATE_MS] (the tick fires a few ms late under
 *   load, docs/FILTER.md), so the empirical CDF must lie within the KS critical value of the band
 *   between F(x − LATE_MS) and F(x). A wrong distribution falls far outside it. (The client's own
 *   clock adds the round trip of a loaded box, tens of ms at the p99: too noisy to fit.)
 * No request is ever early: the client saw each take at least the delay it was told.
 * Requires `npm run build` and scripts/setup.sh.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  ksBandExcursion,
  ksCritical,
  ksRounded,
  lognormalCdf,
  uniformCdf,
} from "../support/distributions.ts";
import { type LocalStack, startLocalStack } from "../support/local-stack.ts";
import { putPolicy } from "../support/policies.ts";
import { expectSoon, type Sent, send } from "../support/requests.ts";

const N = 1000;
const CONCURRENCY = 50;
/** Lateness allowed for Envoy's timer (a few ms under load), against delays spread over ~100 ms. */
const LATE_MS = 5;

const ACCESS_LOG_FORMAT = "%REQ(:PATH)% %COMMON_DURATION(DS_RX_BEG:US_TX_BEG:us)%\n";

let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack({ concurrency: 2, accessLogFormat: ACCESS_LOG_FORMAT });
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

/** `n` results of `request`, at most CONCURRENCY in flight. */
async function inBatches<T>(n: number, request: () => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      results.push(await request());
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return results;
}

/** The CDF of a delay drawn by rounding a continuous one with CDF `cdf` to whole milliseconds. */
const rounded =
  (cdf: (ms: number) => number) =>
  (ms: number): number =>
    cdf(Math.floor(ms) + 0.5);

/** The delay the upstream was told, from the sample upstream's echo of `x-hfi-fault`. */
function toldMs(sent: Sent, policy: string): number {
  const fault: string | undefined = JSON.parse(sent.body).fault;
  const match = new RegExp(`^${policy};delay=(\\d+)$`).exec(fault ?? "");
  if (!match) throw new Error(`x-hfi-fault at the upstream: ${fault}`);
  return Number(match[1]);
}

/** Envoy's time before the upstream, in ms, of every logged request to `path` once there are `n`. */
async function timedByEnvoy(path: string, n: number): Promise<number[]> {
  const deadline = performance.now() + 5_000;
  for (;;) {
    const lines = (await Bun.file(stack.accessLogPath!).text()).split("\n");
    const timed = lines.filter((l) => l.startsWith(`${path} `)).map((l) => Number(l.split(" ")[1]) / 1000);
    if (timed.length >= n) return timed;
    if (performance.now() > deadline) throw new Error(`${timed.length} of ${n} requests to ${path} logged`);
    await Bun.sleep(20);
  }
}

async function measure(policy: string, delay: Record<string, unknown>) {
  const path = `/${policy}`;
  const measured = `${path}/measured`;
  const res = await putPolicy(stack.controlPlaneUrl, policy, {
    match: { path: { prefix: path } },
    fault: { delay },
  });
  expect(res.status).toBe(201);
  await expectSoon(
    () => send(stack.envoyUrl, path),
    (s) => s.status === 200 && JSON.parse(s.body).fault !== undefined,
    10,
    5_000,
  );
  const sent = await inBatches(N, () => send(stack.envoyUrl, measured));
  expect(sent.every((s) => s.status === 200)).toBe(true);
  const told = sent.map((s) => toldMs(s, policy));
  const early = told.filter((ms, i) => sent[i]!.ms < ms);
  expect(early).toEqual([]);
  return { told, observed: await timedByEnvoy(measured, N) };
}

describe("delay distributions in real Envoy", () => {
  test("uniform 20ms..120ms", async () => {
    const { told, observed } = await measure("uniform", { uniform: { min: "20ms", max: "120ms" } });
    expect(ksRounded(told, uniformCdf(19.5, 120.5))).toBeLessThan(ksCritical(N));
    expect(ksBandExcursion(observed, rounded(uniformCdf(19.5, 120.5)), LATE_MS)).toBeLessThan(ksCritical(N));
    // Power: the same observations are far from a fixed delay at the mean, and from a narrower range.
    expect(ksBandExcursion(observed, uniformCdf(70, 70.001), LATE_MS)).toBeGreaterThan(0.3);
    expect(ksBandExcursion(observed, uniformCdf(20, 90), LATE_MS)).toBeGreaterThan(ksCritical(N));
  }, 120_000);

  test("lognormal p50 20ms, p99 100ms", async () => {
    const { told, observed } = await measure("lognormal", { lognormal: { p50: "20ms", p99: "100ms" } });
    expect(ksRounded(told, lognormalCdf(20, 100))).toBeLessThan(ksCritical(N));
    expect(ksBandExcursion(observed, rounded(lognormalCdf(20, 100)), LATE_MS)).toBeLessThan(ksCritical(N));
    // Power: a uniform with the same median is far outside the band.
    expect(ksBandExcursion(observed, uniformCdf(1, 39), LATE_MS)).toBeGreaterThan(ksCritical(N));
  }, 120_000);
});
