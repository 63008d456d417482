/**
 * The filter reads a request with one proxy_get_header_map_pairs call and finds `:method`, `:path`
 * and other headers in the serialized map in place: the first `:path` / `:method` pair counts, the
 * query string is cut at the first "?", repeated headers match on any value, a request without
 * `:path` or `:method` reads them as empty.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { RULESET_FORMAT, type Rule, type RuleMatch, type RuleSet } from "../../src/ruleset/format.ts";
import type { HeaderPairs, ProxyWasmHost } from "../proxy-wasm-host/index.ts";
import { hostWithRules } from "../support/filter-host.ts";

const rule = (status: number, match: Partial<RuleMatch>): Rule => ({
  name: `rule-${status}`,
  priority: 0,
  match: { headers: [], ...match },
  fault: { percentageMillionths: 1_000_000, abort: { httpStatus: status, body: "" } },
});

const RULESET: RuleSet = {
  format: RULESET_FORMAT,
  revision: 3,
  rules: [
    rule(501, { method: "PUT", path: { type: "exact", value: "/p" } }),
    rule(502, { path: { type: "exact", value: "" } }),
    rule(503, { method: "GET", path: { type: "exact", value: "/x" } }),
    rule(504, { headers: [{ name: "x-k", match: { type: "exact", value: "b" } }] }),
    rule(505, { path: { type: "prefix", value: "/x" } }),
  ],
};

describe("reading the request from the header pairs", () => {
  let host: ProxyWasmHost;
  beforeAll(async () => {
    host = await hostWithRules(JSON.stringify(RULESET));
  });

  const status = (headers: HeaderPairs) => {
    const stream = host.request(headers);
    host.finish(stream);
    return stream.localResponse?.status;
  };

  test("pseudo-headers in any position; the first :path and :method count", () => {
    expect(
      status([
        ["x-a", "1"],
        [":path", "/p?q"],
        ["x-b", "2"],
        [":method", "PUT"],
      ]),
    ).toBe(501);
    expect(
      status([
        [":method", "PUT"],
        [":path", "/p"],
        [":path", "/other"],
      ]),
    ).toBe(501);
    expect(
      status([
        [":method", "PUT"],
        [":path", "/other"],
        [":path", "/p"],
      ]),
    ).toBeUndefined();
  });

  test("names that only look like :path or :method do not count", () => {
    expect(
      status([
        [":method", "PUT"],
        [":paths", "/p"],
        [":path", "/q"],
      ]),
    ).toBeUndefined();
    expect(
      status([
        [":methods", "PUT"],
        [":method", "GET"],
        [":path", "/p"],
      ]),
    ).toBeUndefined();
  });

  test("a missing :path or :method reads as empty", () => {
    expect(status([[":method", "GET"]])).toBe(502);
    expect(status([[":path", "/x"]])).toBe(505);
    expect(
      status([
        [":method", "GET"],
        [":path", "/x"],
      ]),
    ).toBe(503);
  });

  test("repeated headers: any value matches", () => {
    const base: HeaderPairs = [
      [":method", "GET"],
      [":path", "/y"],
    ];
    expect(status([...base, ["x-k", "a"], ["x-k", "b"]])).toBe(504);
    expect(status([...base, ["x-k", "a"]])).toBeUndefined();
  });
});
