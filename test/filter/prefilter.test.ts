/**
 * The matcher's prefilter (filter/assembly/rules/prefilter.ts): per-rule (mask, value) words over the
 * first 8 bytes of `:path` and `:method` and a bitset of header names only ever rule a rule out.
 * These requests sit on its edges — literals shorter and longer than 8 bytes, paths shorter than 8
 * bytes, query strings, regexes with and without a literal prefix, repeated headers — and check
 * that the first matching rule still wins when earlier rules are prefiltered out or survive the
 * prefilter and fail the full check.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { compileRegex } from "../../src/regex/index.ts";
import {
  type Dfa,
  RULESET_FORMAT,
  type Rule,
  type RuleMatch,
  type RuleSet,
} from "../../src/ruleset/format.ts";
import type { HeaderPairs, ProxyWasmHost } from "../proxy-wasm-host/index.ts";
import { hostWithRules, req } from "../support/filter-host.ts";

function dfa(source: string): Dfa {
  const result = compileRegex(source);
  if (!result.success) throw new Error(`${source}: ${result.message}`);
  return result.dfa;
}

const rule = (status: number, match: Partial<RuleMatch>): Rule => ({
  name: `rule-${status}`,
  priority: 0,
  match: { headers: [], ...match },
  fault: { percentageMillionths: 1_000_000, abort: { httpStatus: status, body: "" } },
});

/** In evaluation order; the status names the rule. */
const RULES: Rule[] = [
  rule(501, { method: "GET", path: { type: "prefix", value: "/svc-very-long-prefix/" } }),
  rule(502, { path: { type: "exact", value: "/a" } }),
  rule(503, { path: { type: "regex", dfa: dfa("/orders/[0-9]+") } }),
  rule(504, { path: { type: "regex", dfa: dfa("(/x|/y)z") } }),
  rule(505, { method: "DELETE" }),
  rule(506, { method: "VERYLONGMETHOD" }),
  rule(507, { headers: [{ name: "x-user", match: { type: "exact", value: "u1" } }] }),
  rule(508, { headers: [{ name: "x-flag", match: { type: "present" } }] }),
  rule(509, { path: { type: "exact", value: "/exactly8" } }),
  rule(510, { path: { type: "prefix", value: "/svc-very" } }),
  rule(511, { path: { type: "regex", dfa: dfa("(/p)?") } }),
  rule(512, {
    method: "POST",
    path: { type: "prefix", value: "/b" },
    headers: [{ name: "x-tenant", match: { type: "prefix", value: "t-" } }],
  }),
  rule(513, { path: { type: "prefix", value: "/" } }),
];

const RULESET: RuleSet = { format: RULESET_FORMAT, revision: 7, rules: RULES };

describe("prefilter", () => {
  let host: ProxyWasmHost;
  beforeAll(async () => {
    host = await hostWithRules(JSON.stringify(RULESET));
  });

  const status = (method: string, path: string, extra: HeaderPairs = []) => {
    const stream = host.request(req(method, path, extra));
    host.finish(stream);
    return stream.localResponse?.status;
  };

  test.each([
    // A literal longer than 8 bytes: the prefilter sees its first 8, the full check the rest.
    ["GET", "/svc-very-long-prefix/x", 501],
    ["GET", "/svc-very-long-prefix/", 501],
    ["POST", "/svc-very-long-prefix/x", 510],
    ["GET", "/svc-very-long-prefiX/", 510],
    ["GET", "/svc-ver", 513],
    // Paths shorter than 8 bytes, exact literals shorter than 8 bytes.
    ["GET", "/a", 502],
    ["GET", "/a?x=1", 502],
    ["GET", "/ab", 513],
    ["GET", "/", 513],
    ["GET", "", 511],
    ["GET", "/p", 511],
    // Exactly 8 bytes.
    ["GET", "/exactly8", 509],
    ["GET", "/exactly8?q", 509],
    ["GET", "/exactly", 513],
    ["GET", "/exactly80", 513],
    // Regex with a literal prefix (/orders/), and one without ((/x|/y)z).
    ["GET", "/orders/12", 503],
    ["GET", "/orders/12?next=/svc-very-long-prefix/", 503],
    ["GET", "/orders/", 513],
    ["GET", "/orders", 513],
    ["GET", "/xz", 504],
    ["GET", "/yz", 504],
    ["GET", "/xzz", 513],
    // Query strings never take part: the prefilter words stop at "?".
    ["GET", "/svc-v?ery-long-prefix/", 513],
    ["GET", "/?a", 513],
    ["GET", "?/a", 511],
    // Methods shorter than, equal to and longer than 8 bytes.
    ["DELETE", "/zzz", 505],
    ["DELETEX", "/zzz", 513],
    ["DELET", "/zzz", 513],
    ["VERYLONGMETHOD", "/zzz", 506],
    ["VERYLONGMETHOX", "/zzz", 513],
    ["VERYLONG", "/zzz", 513],
  ] as const)("%s %s → %s", (method, path, expected) => {
    expect(status(method, path)).toBe(expected);
  });

  test("headers: any value of a repeated header matches; names are prefiltered by presence", () => {
    expect(status("GET", "/zzz", [["x-user", "u1"]])).toBe(507);
    expect(
      status("GET", "/zzz", [
        ["x-user", "u0"],
        ["x-user", "u1"],
      ]),
    ).toBe(507);
    expect(
      status("GET", "/zzz", [
        ["x-user", "u0"],
        ["x-user", "u2"],
      ]),
    ).toBe(513);
    expect(status("GET", "/zzz", [["x-flag", ""]])).toBe(508);
    expect(status("GET", "/zzz", [["x-fla", "1"]])).toBe(513);
    expect(
      status("POST", "/bb", [
        ["x-other", "1"],
        ["x-tenant", "zz"],
        ["x-tenant", "t-1"],
      ]),
    ).toBe(512);
    expect(status("POST", "/bb", [["x-tenant", "zz"]])).toBe(513);
    expect(status("GET", "/bb", [["x-tenant", "t-1"]])).toBe(513);
  });

  test("the first match wins: an earlier rule that the full check rejects, a later one that matches", () => {
    // 501 survives the prefilter (same first 8 bytes) and fails the full check; 510 matches.
    expect(status("GET", "/svc-very-short")).toBe(510);
    // Both 507 and 508 would match: the earlier wins; 501..506 are prefiltered out on the way.
    expect(
      status("GET", "/zzz", [
        ["x-flag", "1"],
        ["x-user", "u1"],
      ]),
    ).toBe(507);
  });

  test("one header-map read per request, no single-value reads, not even for observing the aborts", () => {
    const values = host.count("proxy_get_header_map_value");
    const pairs = host.count("proxy_get_header_map_pairs");
    const streams = [
      host.request(req("GET", "/orders/1")),
      host.request(req("GET", "/nothing", [["x-user", "u1"]])),
    ];
    expect(host.count("proxy_get_header_map_value") - values).toBe(0);
    expect(host.count("proxy_get_header_map_pairs") - pairs).toBe(2);
    // Both were aborted: observed as the abort was sent, with no `:status` read at their end.
    for (const stream of streams) {
      expect(stream.localResponse).toBeDefined();
      host.finish(stream);
    }
    expect(host.count("proxy_get_header_map_value") - values).toBe(0);
  });
});

describe("prefilter, rules without conditions", () => {
  test("a rule with no condition matches without reading the request", async () => {
    const host = await hostWithRules(JSON.stringify({ format: 1, revision: 1, rules: [rule(599, {})] }));
    const pairs = host.count("proxy_get_header_map_pairs");
    const stream = host.request(req("GET", "/anything"));
    expect(stream.localResponse?.status).toBe(599);
    expect(host.count("proxy_get_header_map_pairs") - pairs).toBe(0);
  });

  test("an expired unconditioned rule is skipped; rules after it still match in order", async () => {
    const expired = { ...rule(598, {}), expiresAt: Date.UTC(2025, 0, 1) };
    const rules = [expired, rule(597, { path: { type: "prefix", value: "/only" } }), rule(596, {})];
    const host = await hostWithRules(JSON.stringify({ format: 1, revision: 1, rules }));
    expect(host.request(req("GET", "/only/this")).localResponse?.status).toBe(597);
    expect(host.request(req("GET", "/other")).localResponse?.status).toBe(596);
  });
});
