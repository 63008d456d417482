/**
 * `match.host` through the compiled filter, from the golden fixture hosts.ruleset.json (format 2):
 * exact and suffix without regard to ASCII case, a regex over the host as sent, always against
 * `:authority` without its port; and the format-1 rule sets of control planes before host matching.
 */
import { describe, expect, test } from "bun:test";
import { RULESET_FORMAT } from "../../src/ruleset/format.ts";
import type { HeaderPairs } from "../proxy-wasm-host/index.ts";
import { fixture, hostWithRules } from "../support/filter-host.ts";

const HOSTS = fixture("hosts.ruleset.json");
const BASIC = fixture("basic.ruleset.json");

const request = (authority: string | undefined, path = "/"): HeaderPairs => [
  [":method", "GET"],
  [":path", path],
  ...(authority !== undefined ? ([[":authority", authority]] as HeaderPairs) : []),
  [":scheme", "http"],
];

describe("match.host", () => {
  test("the fixture is format 2 and has a host condition of each kind", () => {
    expect(HOSTS.ruleSet.format).toBe(2);
    expect(HOSTS.ruleSet.rules.map((rule) => rule.match.host?.type)).toEqual(["exact", "suffix", "regex"]);
  });

  test.each([
    ["reviews", 503],
    ["reviews:9080", 503],
    ["REVIEWS:9080", 503],
    ["reviews.shop", undefined],
    ["my-reviews", undefined],
    ["api.example.com", undefined], // example-suffix also wants /api
    ["ratings", 504],
    ["ratings-v2:80", 504],
    ["Ratings", undefined], // the regex sees the host as sent
    ["ratings-v", undefined],
    ["", undefined],
    [undefined, undefined],
    ["[::1]:8080", undefined],
  ])(":authority %p → %p", async (authority, expected) => {
    const host = await hostWithRules(HOSTS.text);
    const stream = host.request(request(authority));
    host.finish(stream);
    expect(stream.localResponse?.status).toBe(expected);
  });

  test.each([
    ["api.example.com", 502],
    ["API.Example.COM:443", 502],
    ["a.b.example.com", 502],
    ["example.com", undefined],
    ["api.example.com.evil", undefined],
    ["api.examplexcom", undefined],
  ])("suffix .example.com with /api: %p → %p", async (authority, expected) => {
    const host = await hostWithRules(HOSTS.text);
    const stream = host.request(request(authority, "/api/x"));
    host.finish(stream);
    expect(stream.localResponse?.status).toBe(expected);
  });

  test("a rule set in format 1 (no host conditions) is still applied", async () => {
    expect(BASIC.ruleSet.format).toBe(1);
    const host = await hostWithRules(BASIC.text);
    const stream = host.request([
      [":method", "POST"],
      [":path", "/api/checkout"],
      [":authority", "app"],
    ]);
    host.finish(stream);
    expect(stream.localResponse?.status).toBe(503);
  });

  test("a malformed host condition fails the whole rule set, naming the field; the old rules stay", async () => {
    const host = await hostWithRules(BASIC.text);
    const broken = JSON.parse(HOSTS.text);
    broken.revision = 9;
    broken.rules[0].match.host = { type: "prefix", value: "rev" };
    host.respond(host.httpCalls[0]!.token, { status: 200, body: JSON.stringify(broken) });
    expect(host.logs.some((l) => l.message.includes("rules[0].match.host"))).toBe(true);
    const stream = host.request([
      [":method", "POST"],
      [":path", "/api/checkout"],
      [":authority", "reviews"],
    ]);
    host.finish(stream);
    expect(stream.localResponse?.status).toBe(503);
  });

  test("a format this filter does not know is rejected", async () => {
    const host = await hostWithRules(BASIC.text);
    host.respond(host.httpCalls[0]!.token, {
      status: 200,
      body: JSON.stringify({ ...HOSTS.ruleSet, format: RULESET_FORMAT + 1 }),
    });
    expect(host.logs.some((l) => l.message.includes(`format: expected 1..${RULESET_FORMAT}`))).toBe(true);
  });
});
