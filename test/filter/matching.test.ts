/**
 * Every matcher through the compiled filter, driven from the hand-built golden fixture
 * filter-cases.ruleset.json: path exact/prefix/regex (DFA over UTF-8 bytes), method, headers
 * exact/prefix/regex/present with repeated headers, first match wins, rule expiry by the wall clock,
 * and how few hostcalls a request costs.
 */
import { beforeEach, describe, expect, test } from "bun:test";
import type { Dfa } from "../../src/ruleset/format.ts";
import { Action, type HeaderPairs, type ProxyWasmHost } from "../proxy-wasm-host/index.ts";
import { fixture, header, hostWithRules, req, ruleNamed } from "../support/filter-host.ts";

const CASES = fixture("filter-cases.ruleset.json");

const statusOf = (name: string) => ruleNamed(CASES.ruleSet, name).fault.abort?.httpStatus;

/** Reference walk of a wire-format DFA, to check the fixture's tables against JS regular expressions. */
function dfaMatches(dfa: Dfa, input: string): boolean {
  let state = 0;
  for (const byte of new TextEncoder().encode(input)) {
    state = dfa.transitions[state * dfa.classCount + (dfa.byteClasses[byte] ?? 0)] ?? -1;
    if (state < 0) return false;
  }
  return dfa.accepting.includes(state);
}

function regexOf(name: string, headerName?: string): Dfa {
  const match = ruleNamed(CASES.ruleSet, name).match;
  const m = headerName ? match.headers.find((h) => h.name === headerName)?.match : match.path;
  if (m?.type !== "regex") throw new Error(`${name} has no regex`);
  return m.dfa;
}

describe("the fixture's hand-built DFAs", () => {
  test.each([
    ["order-regex", undefined, /^\/orders\/[0-9]+$/u],
    ["name-regex", "x-name", /^é+$/u],
  ] as const)("%s agrees with %s", (name, headerName, regex) => {
    const dfa = regexOf(name, headerName);
    const inputs = ["", "/orders/", "/orders/1", "/orders/123", "/orders/12a", "/orders/1/x", "é", "éé", "e"];
    for (const input of [...inputs, "/Orders/1", "ée", "é\u0301", "\u00e9\u00e9\u00e9"]) {
      expect([input, dfaMatches(dfa, input)]).toEqual([input, regex.test(input)]);
    }
  });
});

describe("matching", () => {
  let host: ProxyWasmHost;
  beforeEach(async () => {
    host = await hostWithRules(CASES.text);
  });

  const send = (method: string, path: string, extra: HeaderPairs = []) => {
    const stream = host.request(req(method, path, extra));
    host.finish(stream);
    return stream;
  };
  const status = (method: string, path: string, extra: HeaderPairs = []) =>
    send(method, path, extra).localResponse?.status;

  test("regex path: a full match over the bytes, query string excluded, method required", () => {
    expect(status("GET", "/orders/42")).toBe(statusOf("order-regex"));
    expect(status("GET", "/orders/42?expand=items")).toBe(statusOf("order-regex"));
    const aborted = send("GET", "/orders/7");
    expect(aborted.localResponse?.body).toBe("no such order");
    expect(header(aborted.localResponse!.headers, "x-hfi-fault")).toBe("order-regex");
    for (const [method, path] of [
      ["GET", "/orders/"],
      ["GET", "/orders/42/items"],
      ["GET", "/orders/4x2"],
      ["GET", "/v1/orders/42"],
      ["DELETE", "/orders/42"],
      ["get", "/orders/42"],
    ] as const) {
      expect([method, path, status(method, path)]).toEqual([method, path, undefined]);
    }
  });

  test("header prefix, present and regex; the first matching rule wins", () => {
    expect(status("GET", "/headers", [["x-tenant", "beta-eu"]])).toBe(statusOf("tenant-prefix"));
    expect(status("GET", "/headers", [["x-tenant", "beta-"]])).toBe(statusOf("tenant-prefix"));
    expect(status("GET", "/headers", [["x-tenant", "alpha-beta-"]])).toBeUndefined();
    expect(status("GET", "/headers", [["x-debug", ""]])).toBe(statusOf("debug-present"));
    expect(status("GET", "/headers", [["x-debug", "1"]])).toBe(statusOf("debug-present"));
    // Both rules hold: the earlier one in RuleSet order answers.
    expect(
      status("GET", "/headers", [
        ["x-debug", "1"],
        ["x-tenant", "beta-1"],
      ]),
    ).toBe(statusOf("tenant-prefix"));
    expect(status("GET", "/headers", [["x-name", "éé"]])).toBe(statusOf("name-regex"));
    expect(status("GET", "/headers", [["x-name", "e"]])).toBeUndefined();
    expect(status("GET", "/headers", [["x-name", "éx"]])).toBeUndefined();
    expect(status("GET", "/headers", [["x-name", ""]])).toBeUndefined();
    expect(status("GET", "/headers")).toBeUndefined();
    expect(status("GET", "/headers/", [["x-debug", "1"]])).toBeUndefined();
  });

  test("header names are matched case-insensitively (Envoy lower-cases them)", () => {
    expect(status("GET", "/headers", [["X-Debug", "1"]])).toBe(statusOf("debug-present"));
  });

  test("a repeated header matches if any of its values does", () => {
    expect(
      status("GET", "/headers", [
        ["x-tenant", "alpha"],
        ["x-tenant", "beta-2"],
      ]),
    ).toBe(statusOf("tenant-prefix"));
    expect(
      status("GET", "/headers", [
        ["x-name", "x"],
        ["x-other", "y"],
        ["x-name", "é"],
      ]),
    ).toBe(statusOf("name-regex"));
    expect(
      status("GET", "/headers", [
        ["x-tenant", "alpha"],
        ["x-tenant", "gamma"],
      ]),
    ).toBeUndefined();
  });

  test("every header condition of a rule must hold", () => {
    const all: HeaderPairs = [
      ["x-user", "test"],
      ["x-role", "admin-eu"],
      ["x-trace", "1"],
    ];
    expect(status("GET", "/multi", all)).toBe(statusOf("user-and-role"));
    for (let i = 0; i < all.length; i++) {
      const missing = all.filter((_, j) => j !== i);
      expect(status("GET", "/multi", missing)).toBeUndefined();
    }
    expect(status("GET", "/multi", [["x-user", "other"], ...all.slice(1)])).toBeUndefined();
    expect(status("GET", "/multi", [["x-user", "other"], ...all])).toBe(statusOf("user-and-role"));
  });

  test("abort replies carry no grpc-status and count in hfi.faults.aborts_total", () => {
    const stream = send("GET", "/orders/1");
    expect(stream.action).toBe(Action.Pause);
    expect(stream.localResponse?.grpcStatus).toBe(-1);
    expect(host.metric("hfi.faults.aborts_total")?.value).toBe(1n);
  });
});

describe("rule expiry", () => {
  test("a rule is skipped once the wall clock passes expiresAt; the monotonic clock does not matter", async () => {
    const host = await hostWithRules(CASES.text);
    const later = ruleNamed(CASES.ruleSet, "expiring-conflict").expiresAt!;
    host.realtimeMs = later - 1;
    // expired-gone (earlier in order) has already expired; the next rule answers.
    expect(host.request(req("GET", "/expiry")).localResponse?.status).toBe(statusOf("expiring-conflict"));
    host.advance(10 * 365 * 24 * 3600 * 1000);
    expect(host.request(req("GET", "/expiry")).localResponse?.status).toBe(statusOf("expiring-conflict"));
    host.realtimeMs = later;
    expect(host.request(req("GET", "/expiry")).localResponse?.status).toBe(statusOf("expiring-conflict"));
    host.realtimeMs = later + 1;
    const stream = host.request(req("GET", "/expiry"));
    expect(stream.action).toBe(Action.Continue);
    expect(stream.localResponse).toBeUndefined();
  });
});

describe("cost per request", () => {
  let host: ProxyWasmHost;
  beforeEach(async () => {
    host = await hostWithRules(CASES.text);
  });

  const during = (fn: () => void) => {
    const before = new Map(host.calls);
    fn();
    const delta = (name: string) => host.count(name) - (before.get(name) ?? 0);
    return {
      values: delta("proxy_get_header_map_value"),
      pairs: delta("proxy_get_header_map_pairs"),
      clock: delta("clock_time_get"),
    };
  };

  test("the header map is read once (one pairs call, no single-value reads), the clock only for expiry rules", () => {
    // /nothing fails every rule's prefilter, expiry rules included: the map is read once, no clock read.
    expect(during(() => host.request(req("GET", "/nothing")))).toEqual({ values: 0, pairs: 1, clock: 0 });
    // /headers reaches three header rules (and /multi's path fails): the map is still read once.
    expect(during(() => host.request(req("GET", "/headers", [["x-nope", "1"]])))).toMatchObject({
      values: 0,
      pairs: 1,
    });
  });

  test("memory does not grow over many requests", () => {
    const mixes: HeaderPairs[] = [[["x-tenant", "beta-1"]], [["x-name", "éé"]], [["x-user", "test"]], []];
    const run = (n: number) => {
      for (let i = 0; i < n; i++) {
        host.finish(host.request(req("GET", i % 3 ? "/headers" : "/orders/9", mixes[i % mixes.length])));
      }
    };
    run(2_000);
    const settled = host.memoryBytes;
    run(20_000);
    expect(host.memoryBytes).toBe(settled);
  });
});
