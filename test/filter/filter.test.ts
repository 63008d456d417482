/**
 * The compiled filter (dist/hfi-filter.wasm) driven by the TypeScript proxy-wasm host, with the
 * golden RuleSet fixture the compiler tests also read.
 */
import { beforeEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Action, type HeaderPairs, ProxyWasmHost } from "../proxy-wasm-host/index.ts";
import {
  CONFIG,
  fixture,
  header,
  hostWithRules as loadRules,
  nextPoll,
  pollPath,
  pushRules,
  req,
  startedHost,
  WASM,
  WITHOUT_OBSERVATIONS,
} from "../support/filter-host.ts";
import { ROOT } from "../support/paths.ts";

const { text: FIXTURE, ruleSet: BASIC } = fixture("basic.ruleset.json");
const hostWithRules = (ruleSet: string = FIXTURE) => loadRules(ruleSet);

describe("configuration", () => {
  test("accepts the plugin configuration and imports only what Envoy provides", async () => {
    const imports = WebAssembly.Module.imports(new WebAssembly.Module(WASM));
    for (const { module, name } of imports) {
      expect(module === "wasi_snapshot_preview1" || (module === "env" && name.startsWith("proxy_"))).toBe(
        true,
      );
    }
    await startedHost();
  });

  test("docs/FILTER.md lists and counts exactly the imports of the release build", () => {
    const docs = readFileSync(join(ROOT, "docs/FILTER.md"), "utf8");
    const paragraph = /^Imports of the release build \((\d+)\):([\s\S]*?)\n\n/m.exec(docs);
    expect(paragraph).not.toBeNull();
    const listed = [...(paragraph?.[2] ?? "").matchAll(/`(\w+)`/g)].map((m) => m[1]).sort();
    const imported = WebAssembly.Module.imports(new WebAssembly.Module(WASM))
      .map((i) => i.name)
      .sort();
    expect(imported.length).toBeGreaterThan(10);
    expect(listed).toEqual(imported);
    expect(Number(paragraph?.[1])).toBe(imported.length);
  });

  // 96 KiB since issue 14 (docs/FILTER.md "Size"; bench/README.md, filter-size): the cost was measured.
  test("the release build stays within its 96 KiB budget", () => {
    expect(WASM.byteLength).toBeLessThanOrEqual(96 * 1024);
  });

  test.each([
    ["not JSON", "cluster=hfi"],
    ["no cluster", JSON.stringify({ authority: "x" })],
    ["bad maxActiveDelays", JSON.stringify({ ...CONFIG, maxActiveDelays: -1 })],
    ["empty cluster", JSON.stringify({ cluster: "" })],
  ])("rejects a bad plugin configuration (%s) without trapping", async (_, config) => {
    const host = await ProxyWasmHost.load(WASM, { pluginConfig: config });
    expect(host.start()).toBe(false);
    expect(host.logs.some((l) => l.level === "error" || l.level === "critical")).toBe(true);
  });

  test("does not poll from on_configure (the canary VM runs it), only from a tick", async () => {
    const host = await startedHost();
    expect(host.httpCalls).toHaveLength(0);
    expect(host.tickPeriodMs).toBeGreaterThan(0);
    const call = nextPoll(host);
    expect(call.cluster).toBe("hfi_control_plane");
    expect(header(call.headers, ":method")).toBe("GET");
    expect(header(call.headers, ":authority")).toBe("cp.test:8080");
    expect(pollPath(call)).toBe("/v1/config?wait=25");
    expect(call.timeoutMs).toBeGreaterThan(25_000);
  });
});

describe("subscriber", () => {
  test("applies a RuleSet, then long-polls after its revision with the tick off", async () => {
    const host = await loadRules(FIXTURE, WITHOUT_OBSERVATIONS);
    expect(host.metric("hfi.config.revision")?.value).toBe(BigInt(BASIC.revision));
    expect(host.metric("hfi.config.updates_total")?.value).toBe(1n);
    const poll = host.httpCalls[0];
    expect(poll && pollPath(poll)).toBe(`/v1/config?after=${BASIC.revision}&wait=25`);
    expect(host.tickPeriodMs).toBe(0);
  });

  test("polls again at once after a held 304", async () => {
    const host = await hostWithRules();
    host.advance(25_000);
    host.respond(host.httpCalls[0]!.token, { status: 304 });
    expect(host.httpCalls).toHaveLength(1);
    expect(pollPath(host.httpCalls[0]!)).toBe(`/v1/config?after=${BASIC.revision}&wait=25`);
  });

  test("spaces polls out when 304s come back without being held (no poll storm)", async () => {
    const host = await hostWithRules();
    host.respond(host.httpCalls[0]!.token, { status: 304 });
    expect(host.httpCalls).toHaveLength(0);
    expect(host.tickPeriodMs).toBeGreaterThan(0);
    host.advance(999);
    host.tick();
    expect(host.httpCalls).toHaveLength(0);
    host.advance(1);
    host.tick();
    expect(host.httpCalls).toHaveLength(1);
  });

  test("sends the identity the ETag gave with every poll; a different one at the same revision is applied", async () => {
    const host = await startedHost();
    host.respond(nextPoll(host).token, {
      status: 200,
      body: FIXTURE,
      headers: [["etag", 'W/"aaaa000000000001"']],
    });
    expect(pollPath(host.httpCalls[0]!)).toBe(
      `/v1/config?after=${BASIC.revision}&id=aaaa000000000001&wait=25`,
    );
    // A restarted memory-store server: the same revision number, other rules, another identity.
    const other = JSON.stringify({ format: 1, revision: BASIC.revision, rules: [] });
    pushRules(host, other, [["etag", 'W/"bbbb000000000002"']]);
    expect(host.metric("hfi.config.updates_total")?.value).toBe(2n);
    expect(host.request(req("GET", "/api/checkout/pay")).action).toBe(Action.Continue);
    expect(pollPath(host.httpCalls[0]!)).toBe(
      `/v1/config?after=${BASIC.revision}&id=bbbb000000000002&wait=25`,
    );
  });

  test("a 200 with the identity it has (a proxy that drops the query) is not applied again, and polls are spaced", async () => {
    const host = await startedHost();
    const etag: HeaderPairs = [["etag", 'W/"aaaa000000000001"']];
    host.respond(nextPoll(host).token, { status: 200, body: FIXTURE, headers: etag });
    const applied = host.logs.filter((l) => l.message.startsWith("applied")).length;
    for (let i = 0; i < 5; i++) {
      pushRules(host, FIXTURE, etag);
      expect(host.httpCalls).toHaveLength(0);
      host.advance(999);
      host.tick();
      expect(host.httpCalls).toHaveLength(0);
      host.advance(1);
      host.tick();
      expect(host.httpCalls).toHaveLength(1);
    }
    expect(host.metric("hfi.config.updates_total")?.value).toBe(1n);
    expect(host.logs.filter((l) => l.message.startsWith("applied")).length).toBe(applied);
  });

  test("keeps the last good rules and backs off while the control plane is away", async () => {
    const host = await hostWithRules();
    const delays: number[] = [];
    for (let attempt = 0; attempt < 8; attempt++) {
      const poll = host.httpCalls[0]!;
      host.respond(poll.token, attempt % 2 ? { status: 503 } : { status: null });
      expect(host.httpCalls).toHaveLength(0);
      let waited = 0;
      while (host.httpCalls.length === 0 && waited < 60_000) {
        const step = host.tickPeriodMs || 100;
        host.advance(step);
        waited += step;
        host.tick();
      }
      delays.push(waited);
    }
    // Full jitter makes single delays random; the ceiling grows, so the later ones may be long,
    // but none exceeds the 30 s cap (plus one tick of slack).
    expect(Math.max(...delays)).toBeLessThanOrEqual(30_000 + 1_000);
    expect(delays.some((d) => d > 1_000)).toBe(true);
    const stream = host.request(req("POST", "/api/checkout"));
    expect(stream.localResponse?.status).toBe(503);
  });

  test.each([
    ["malformed JSON", '{"format":1,"revision":9,"rules":[{'],
    ["unknown format", JSON.stringify({ ...BASIC, format: 99, revision: 9 })],
    ["wrong types", JSON.stringify({ format: 1, revision: 9, rules: [{ name: 5 }] })],
    ["truncated", FIXTURE.slice(0, FIXTURE.length / 2)],
  ])("rejects a %s RuleSet, counts it and keeps the previous rules", async (_, body) => {
    const host = await hostWithRules();
    host.respond(host.httpCalls[0]!.token, { status: 200, body });
    expect(host.metric("hfi.config.errors_total")?.value).toBe(1n);
    expect(host.metric("hfi.config.revision")?.value).toBe(BigInt(BASIC.revision));
    expect(host.request(req("POST", "/api/checkout")).localResponse?.status).toBe(503);
  });

  test("an empty RuleSet removes every fault", async () => {
    const host = await hostWithRules();
    host.respond(host.httpCalls[0]!.token, {
      status: 200,
      body: JSON.stringify({ format: 1, revision: 4, rules: [] }),
    });
    const stream = host.request(req("POST", "/api/checkout"));
    expect(stream.action).toBe(Action.Continue);
    expect(stream.localResponse).toBeUndefined();
    expect(host.metric("hfi.config.revision")?.value).toBe(4n);
  });
});

describe("matching and abort", () => {
  let host: ProxyWasmHost;
  beforeEach(async () => {
    host = await hostWithRules();
  });

  test("no rules loaded → Continue", async () => {
    const fresh = await startedHost();
    const stream = fresh.request(req("POST", "/api/checkout"));
    expect(stream.action).toBe(Action.Continue);
    expect(stream.localResponse).toBeUndefined();
  });

  test("prefix + method match aborts with status, body and x-hfi-fault", () => {
    const stream = host.request(req("POST", "/api/checkout/pay?id=1"));
    expect(stream.localResponse).toMatchObject({ status: 503, body: "fault injected" });
    expect(header(stream.localResponse!.headers, "x-hfi-fault")).toBe("checkout-abort");
    expect(stream.localResponse!.grpcStatus).toBe(-1);
    expect(host.metric("hfi.faults.aborts_total")?.value).toBe(1n);
  });

  test("a 204 or 304 abort is sent without a body, whatever the rule set says (also after a delay)", async () => {
    const rule = (name: string, httpStatus: number, delay?: number) => ({
      name,
      priority: 0,
      match: { path: { type: "exact", value: `/${name}` }, headers: [] },
      fault: {
        percentageMillionths: 1_000_000,
        ...(delay && { delay: { fixedDelayMs: delay } }),
        abort: { httpStatus, body: "nope" },
      },
    });
    const rules = [rule("s204", 204), rule("s304", 304), rule("late304", 304, 10), rule("s205", 205)];
    const bodyless = await loadRules(JSON.stringify({ format: 1, revision: 3, rules }));
    const replies = ["/s204", "/s304", "/s205"].map(
      (path) => bodyless.request(req("GET", path)).localResponse,
    );
    expect(replies.map((r) => [r?.status, r?.body])).toEqual([
      [204, ""],
      [304, ""],
      [205, "nope"],
    ]);
    const late = bodyless.request(req("GET", "/late304"));
    bodyless.runFor(10);
    expect([late.localResponse?.status, late.localResponse?.body]).toEqual([304, ""]);
    expect(header(late.localResponse!.headers, "x-hfi-fault")).toBe("late304");
  });

  test("method mismatch and path mismatch pass through", () => {
    for (const stream of [
      host.request(req("GET", "/api/checkout")),
      host.request(req("POST", "/api/check")),
    ]) {
      expect(stream.action).toBe(Action.Continue);
      expect(stream.localResponse).toBeUndefined();
    }
    expect(host.metric("hfi.faults.aborts_total")?.value ?? 0n).toBe(0n);
  });

  test("exact path ignores the query string but not trailing characters", () => {
    const teapot = (path: string, extra: HeaderPairs) => {
      // 50% rule: retry enough times that a miss would be a sampling miracle (2^-40).
      for (let i = 0; i < 40; i++) if (host.request(req("GET", path, extra)).localResponse) return true;
      return false;
    };
    expect(teapot("/api/profile?tab=1", [["x-user", "test"]])).toBe(true);
    expect(teapot("/api/profile/", [["x-user", "test"]])).toBe(false);
    expect(teapot("/api/profile", [["x-user", "other"]])).toBe(false);
    expect(teapot("/api/profile", [])).toBe(false);
  });

  test("header value is compared exactly; rule order decides (priority first)", () => {
    const streams = Array.from({ length: 40 }, () =>
      host.request(req("GET", "/api/profile", [["x-user", "test"]])),
    );
    const aborted = streams.filter((s) => s.localResponse);
    expect(aborted.length).toBeGreaterThan(0);
    for (const s of aborted) {
      expect(s.localResponse!.status).toBe(418);
      expect(header(s.localResponse!.headers, "x-hfi-fault")).toBe("test-user-teapot");
    }
  });

  test("percentage is sampled: 25.5% of 4000 requests within a 5-sigma binomial bound", () => {
    const n = 4000;
    const p = 0.255;
    let hits = 0;
    for (let i = 0; i < n; i++) {
      const stream = host.request(req("GET", "/flaky"));
      if (stream.localResponse?.status === 500) hits++;
      host.finish(stream);
    }
    const sigma = Math.sqrt(n * p * (1 - p));
    expect(Math.abs(hits - n * p)).toBeLessThan(5 * sigma);
  });

  test("finished streams are forgotten; unknown context ids never trap", () => {
    const stream = host.request(req("POST", "/api/checkout"));
    host.finish(stream);
    host.finish(stream);
  });
});
