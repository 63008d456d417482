/**
 * Delays drawn from a distribution (distributions.ruleset.json): every delayed request's delay, as
 * the upstream is told it (`x-hfi-fault: <policy>;delay=<ms>`) and as the host's clock measures it,
 * fits the policy's distribution by a Kolmogorov–Smirnov test; bad distributions are refused whole.
 */
import { describe, expect, test } from "bun:test";
import { Action, type ProxyWasmHost } from "../proxy-wasm-host/index.ts";
import { ksCritical, ksRounded, lognormalCdf, uniformCdf } from "../support/distributions.ts";
import { CONFIG, fixture, header, hostWithRules, pushRules, req } from "../support/filter-host.ts";

const DISTRIBUTIONS = fixture("distributions.ruleset.json");
const N = 2000;
/** Room for all N paused at once (the default is 1000 per worker). */
const ROOMY = { ...CONFIG, maxActiveDelays: N };

/** `n` requests to `path`, all paused at once, then run until every one is resumed: the delays drawn and measured. */
function delays(host: ProxyWasmHost, path: string, n: number): { told: number[]; measured: number[] } {
  const startNs = host.nowNs;
  const streams = Array.from({ length: n }, () => host.request(req("GET", path)));
  expect(streams.every((s) => s.action === Action.Pause)).toBe(true);
  host.runFor(3_600_000);
  const told = streams.map((s) => {
    const value = header(s.requestHeaders, "x-hfi-fault") ?? "";
    const match = /^[a-z-]+;delay=(\d+)$/.exec(value);
    if (!match) throw new Error(`x-hfi-fault: ${value}`);
    return Number(match[1]);
  });
  const measured = streams.map((s) => Number((s.continuedAtNs ?? 0n) - startNs) / 1e6);
  return { told, measured };
}

describe("delay distributions", () => {
  test("uniform 20ms..220ms: every whole millisecond in range, KS fit, each request resumed after what it was told", async () => {
    const host = await hostWithRules(DISTRIBUTIONS.text, { randomSeed: 11, config: ROOMY });
    const { told, measured } = delays(host, "/uniform", N);
    expect(Math.min(...told)).toBeGreaterThanOrEqual(20);
    expect(Math.max(...told)).toBeLessThanOrEqual(220);
    // Discrete uniform over 201 values: P(≤ k) = (k − 19) / 201, the continuous [19.5, 220.5] rounded.
    expect(ksRounded(told, uniformCdf(19.5, 220.5))).toBeLessThan(ksCritical(N));
    for (let i = 0; i < N; i++) expect([i, measured[i]! >= told[i]!]).toEqual([i, true]);
  });

  test("lognormal p50 20ms, p99 300ms: KS fit, and the quantiles where the policy put them", async () => {
    const host = await hostWithRules(DISTRIBUTIONS.text, { randomSeed: 12, config: ROOMY });
    const { told } = delays(host, "/lognormal", N);
    expect(ksRounded(told, lognormalCdf(20, 300))).toBeLessThan(ksCritical(N));
    const sorted = [...told].sort((a, b) => a - b);
    expect(sorted[N / 2]).toBeGreaterThanOrEqual(18);
    expect(sorted[N / 2]).toBeLessThanOrEqual(22);
    expect(told.filter((ms) => ms > 300).length).toBeLessThan(N * 0.02);
    expect(Math.min(...told)).toBeGreaterThanOrEqual(1);
  });

  test("the KS check catches a wrong distribution", async () => {
    const host = await hostWithRules(DISTRIBUTIONS.text, { randomSeed: 13, config: ROOMY });
    const { told } = delays(host, "/uniform", N);
    // The same sample against the log-normal with the uniform's median: far outside the bound.
    expect(ksRounded(told, lognormalCdf(120, 220))).toBeGreaterThan(ksCritical(N));
  });

  test("delay-then-abort with a drawn delay: the abort comes after the delay drawn", async () => {
    const host = await hostWithRules(DISTRIBUTIONS.text, { randomSeed: 14, config: ROOMY });
    const startNs = host.nowNs;
    const streams = Array.from({ length: 200 }, () => host.request(req("GET", "/then-abort")));
    host.runFor(100);
    const aborted = streams.filter((s) => s.localResponse?.status === 504);
    expect(aborted.length).toBeGreaterThan(60);
    expect(aborted.length).toBeLessThan(140);
    for (const s of aborted) expect(Number(s.localResponseAtNs! - startNs) / 1e6).toBeGreaterThanOrEqual(5);
  });

  test.each([
    ["two forms", { fixedDelayMs: 5, uniform: { minMs: 1, maxMs: 2 } }, "fault.delay: expected one of"],
    [
      "max below min",
      { uniform: { minMs: 20, maxMs: 10 } },
      "fault.delay.uniform.maxMs: expected an integer 20..3600000",
    ],
    [
      "p99 not above p50",
      { lognormal: { p50Ms: 20, p99Ms: 20 } },
      "fault.delay.lognormal.p99Ms: expected an integer 21..3600000",
    ],
    [
      "p50 of 0",
      { lognormal: { p50Ms: 0, p99Ms: 20 } },
      "fault.delay.lognormal.p50Ms: expected an integer 1..3600000",
    ],
    ["uniform not an object", { uniform: 5 }, "fault.delay.uniform.minMs"],
  ])("a rule set with %s is rejected whole, naming the field", async (_, delay, message) => {
    const host = await hostWithRules(DISTRIBUTIONS.text);
    const bad = structuredClone(DISTRIBUTIONS.ruleSet) as unknown as {
      revision: number;
      rules: { fault: object }[];
    };
    bad.revision += 1;
    bad.rules[1]!.fault = { percentageMillionths: 1_000_000, delay };
    pushRules(host, JSON.stringify(bad));
    expect(host.logs.some((l) => l.message.includes(`rules[1].${message}`))).toBe(true);
    expect(host.metric("hfi.config.revision")?.value).toBe(BigInt(DISTRIBUTIONS.ruleSet.revision));
  });
});
