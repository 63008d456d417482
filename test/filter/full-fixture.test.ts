/**
 * The compiler's golden fixture (full.policies.yaml → full.ruleset.json, regex DFAs built by refa)
 * through the compiled filter: what the control plane serves is what the filter executes.
 */
import { beforeEach, describe, expect, test } from "bun:test";
import { Action, type HeaderPairs, type ProxyWasmHost } from "../proxy-wasm-host/index.ts";
import { fixture, header, hostWithRules, req, ruleNamed } from "../support/filter-host.ts";

const FULL = fixture("full.ruleset.json");

describe("full.ruleset.json", () => {
  let host: ProxyWasmHost;
  beforeEach(async () => {
    host = await hostWithRules(FULL.text, { randomSeed: 7 });
  });

  /** How many of `n` identical requests were faulted (paused or answered), each finished at once. */
  const faulted = (n: number, method: string, path: string, extra: HeaderPairs = []) => {
    let hits = 0;
    for (let i = 0; i < n; i++) {
      const stream = host.request(req(method, path, extra));
      if (stream.action === Action.Pause) hits++;
      host.finish(stream);
    }
    return hits;
  };

  test("is accepted whole", () => {
    expect(host.metric("hfi.config.revision")?.value).toBe(BigInt(FULL.ruleSet.revision));
    expect(host.metric("hfi.config.errors_total")?.value).toBe(0n);
  });

  test("users-regex-delay: the regex DFA decides, sampled at 12.34%, delayed 1.5 s", () => {
    const n = 4000;
    const p = ruleNamed(FULL.ruleSet, "users-regex-delay").fault.percentageMillionths / 1e6;
    const hits = faulted(n, "GET", "/api/v12/users/alice?x=1");
    expect(Math.abs(hits - n * p)).toBeLessThan(5 * Math.sqrt(n * p * (1 - p)));
    for (const path of ["/api/v/users/a", "/api/v2/users/", "/api/v2/users/a/b", "/api/vx/users/a"]) {
      // Only slow-everything (0.01%) could still apply: far fewer than the 12.34% above.
      expect([path, faulted(400, "GET", path) < 5]).toEqual([path, true]);
    }
    let stream = host.request(req("GET", "/api/v1/users/bob"));
    while (stream.action !== Action.Pause) stream = host.request(req("GET", "/api/v1/users/bob"));
    host.runFor(1_499);
    expect(stream.continued).toBe(false);
    host.runFor(1);
    expect(stream.continued).toBe(true);
  });

  test("checkout-delay-abort: present header, 250 ms, then 503 with the body", () => {
    const stream = host.request(req("POST", "/api/checkout", [["X-Canary", ""]]));
    expect(stream.action).toBe(Action.Pause);
    host.runFor(250);
    expect(stream.localResponse).toMatchObject({ status: 503, body: "delayed, then aborted" });
    expect(header(stream.localResponse!.headers, "x-hfi-fault")).toBe("checkout-delay-abort");
    expect(faulted(200, "POST", "/api/checkout") < 5).toBe(true);
  });

  test("header-matchers: exact, prefix and a case-insensitive regex, all required", () => {
    const ok: HeaderPairs = [
      ["x-user", "test"],
      ["authorization", "Bearer abc"],
      ["x-session", "Af-0e"],
    ];
    const status = (extra: HeaderPairs) =>
      host.request(req("GET", "/shop/cart", extra)).localResponse?.status;
    expect(status(ok)).toBe(418);
    expect(status([["x-session", "zz-zz"], ...ok])).toBe(418);
    expect(status([ok[0]!, ok[1]!, ["x-session", "af-0e1"]])).toBeUndefined();
    expect(status([ok[0]!, ["authorization", "Basic abc"], ok[2]!])).toBeUndefined();
    expect(status(ok.slice(1))).toBeUndefined();
  });

  test("unicode-path: the DFA walks UTF-8 bytes (é is two of them)", () => {
    const n = 1000;
    for (const path of ["/café/menu", "/cafe/menu"]) {
      const hits = faulted(n, "GET", path);
      expect([path, Math.abs(hits - n / 2) < 5 * Math.sqrt(n / 4)]).toEqual([path, true]);
    }
    expect(faulted(200, "GET", "/cafx/menu") < 5).toBe(true);
    expect(faulted(200, "GET", "/café/") < 5).toBe(true);
  });
});
