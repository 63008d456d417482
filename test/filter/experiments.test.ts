/**
 * The compiler's experiments.ruleset.json (time-boxed and dry-run policies) and halted.ruleset.json
 * through the filter: a halted rule set injects nothing, a dry-run rule only counts, expiry follows
 * the wall clock.
 */
import { describe, expect, test } from "bun:test";
import { Action } from "../proxy-wasm-host/index.ts";
import {
  fixture,
  hostWithRules,
  pushRules,
  req,
  ruleNamed,
  WITHOUT_OBSERVATIONS,
} from "../support/filter-host.ts";

const EXPERIMENTS = fixture("experiments.ruleset.json");
const HALTED = fixture("halted.ruleset.json");
const dryRunCount = (name: string) => `hfi.policy.${name}.dryrun_matches_total`;

describe("halted", () => {
  test("a halted rule set is applied but injects nothing; the next one resumes injection", async () => {
    const host = await hostWithRules(HALTED.text, WITHOUT_OBSERVATIONS);
    expect(host.metric("hfi.config.revision")?.value).toBe(BigInt(HALTED.ruleSet.revision));
    for (const path of ["/api/checkout", "/anything"]) {
      const stream = host.request(req("POST", path));
      expect([path, stream.action, stream.localResponse]).toEqual([path, Action.Continue, undefined]);
    }
    expect(host.tickPeriodMs).toBe(0);
    pushRules(host, JSON.stringify({ ...HALTED.ruleSet, revision: 8, halted: false }));
    expect(host.request(req("POST", "/api/checkout")).localResponse?.status).toBe(503);
  });

  test.each([
    ["halted", JSON.stringify({ ...HALTED.ruleSet, revision: 8, halted: "yes" })],
    [
      "dryRun",
      JSON.stringify({ ...HALTED.ruleSet, revision: 8, rules: [{ ...HALTED.ruleSet.rules[0], dryRun: 1 }] }),
    ],
  ])("a non-boolean %s is rejected", async (field, body) => {
    const host = await hostWithRules(EXPERIMENTS.text);
    pushRules(host, body);
    expect(host.metric("hfi.config.errors_total")?.value).toBe(1n);
    expect(host.logs.at(-1)?.message).toContain(`${field}: expected a boolean`);
  });
});

describe("experiments", () => {
  test("a dry-run rule counts the request and leaves it untouched, even where a later rule matches", async () => {
    const host = await hostWithRules(EXPERIMENTS.text);
    const catalog = host.request(req("GET", "/api/catalog/items"));
    expect([catalog.action, catalog.localResponse]).toEqual([Action.Continue, undefined]);
    // enforced-explicitly (DELETE) comes after catalog-dry-run: the first match wins, untouched.
    expect(host.request(req("DELETE", "/api/catalog/items")).localResponse).toBeUndefined();
    expect(host.metric(dryRunCount("catalog-dry-run"))?.value).toBe(2n);
    expect(host.metric("hfi.faults.delays_total")?.value ?? 0n).toBe(0n);
    expect(host.request(req("DELETE", "/api/other")).localResponse?.status).toBe(418);
  });

  test("a dry run counts the sampled share only, and stops counting once expired", async () => {
    const host = await hostWithRules(EXPERIMENTS.text, { randomSeed: 3 });
    const n = 2000;
    for (let i = 0; i < n; i++) host.finish(host.request(req("GET", "/api/profile")));
    const counted = Number(host.metric(dryRunCount("profile-dry-timeboxed"))?.value);
    expect(Math.abs(counted - n / 2)).toBeLessThan(5 * Math.sqrt(n / 4));
    host.realtimeMs = ruleNamed(EXPERIMENTS.ruleSet, "profile-dry-timeboxed").expiresAt! + 1;
    for (let i = 0; i < 100; i++) host.finish(host.request(req("GET", "/api/profile")));
    expect(Number(host.metric(dryRunCount("profile-dry-timeboxed"))?.value)).toBe(counted);
  });

  test("a time-boxed rule injects until its expiresAt, then requests pass", async () => {
    const host = await hostWithRules(EXPERIMENTS.text);
    const expiresAt = ruleNamed(EXPERIMENTS.ruleSet, "checkout-timeboxed").expiresAt!;
    host.realtimeMs = expiresAt - 1_000;
    expect(host.request(req("POST", "/api/checkout")).localResponse?.status).toBe(503);
    host.realtimeMs = expiresAt + 1;
    expect(host.request(req("POST", "/api/checkout")).localResponse).toBeUndefined();
  });

  test("dry-run counters keep one id per policy across rule set updates", async () => {
    const host = await hostWithRules(EXPERIMENTS.text);
    host.request(req("GET", "/api/catalog"));
    const defined = host.count("proxy_define_metric");
    pushRules(host, JSON.stringify({ ...EXPERIMENTS.ruleSet, revision: 13 }));
    host.request(req("GET", "/api/catalog"));
    expect(host.count("proxy_define_metric")).toBe(defined);
    expect(host.metric(dryRunCount("catalog-dry-run"))?.value).toBe(2n);
  });
});
