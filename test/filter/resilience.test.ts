/**
 * Rule updates that must not hurt: every malformed or absurd RuleSet is rejected whole, counted in
 * hfi.config.errors_total, logged once per revision, and the previous rules stay in force — never a
 * trap. Valid updates swap in as one piece.
 */
import { describe, expect, test } from "bun:test";
import { RULESET_FORMAT, type RuleSet } from "../../src/ruleset/format.ts";
import type { ProxyWasmHost } from "../proxy-wasm-host/index.ts";
import { fixture, hostWithRules, nextPoll, pollPath, pushRules, req } from "../support/filter-host.ts";

const CASES = fixture("filter-cases.ruleset.json");
const REVISION = BigInt(CASES.ruleSet.revision);

/** The fixture with one change, at revision 9. */
function mutated(change: (rs: RuleSet & Record<string, unknown>) => void): string {
  const copy = structuredClone(CASES.ruleSet) as RuleSet & Record<string, unknown>;
  copy.revision = 9;
  change(copy);
  return JSON.stringify(copy);
}

// biome-ignore lint/suspicious/noExplicitAny: reaching into the fixture to break it
type AnyRule = any;
const rule = (rs: RuleSet, name: string): AnyRule => rs.rules.find((r) => r.name === name);

/** The old rules still hold: the regex path rule answers 404. */
function expectOldRules(host: ProxyWasmHost): void {
  const stream = host.request(req("GET", "/orders/1"));
  expect(stream.localResponse?.status).toBe(404);
  host.finish(stream);
  expect(host.metric("hfi.config.revision")?.value).toBe(REVISION);
}

const errors = (host: ProxyWasmHost) => host.metric("hfi.config.errors_total")?.value ?? 0n;
const errorLogs = (host: ProxyWasmHost) => host.logs.filter((l) => l.level === "error");

describe("a bad rule set is rejected whole and the previous rules stay", () => {
  test.each([
    ["unknown format", "format", mutated((rs) => Object.assign(rs, { format: RULESET_FORMAT + 1 }))],
    ["no rules array", "rules", mutated((rs) => Object.assign(rs, { rules: {} }))],
    [
      "byteClasses of 255",
      "byteClasses",
      mutated((rs) => rule(rs, "order-regex").match.path.dfa.byteClasses.pop()),
    ],
    [
      "byte class ≥ classCount",
      "byteClasses[48]",
      mutated((rs) => {
        rule(rs, "order-regex").match.path.dfa.byteClasses[48] = 8;
      }),
    ],
    [
      "transition past the last state",
      "transitions[1]",
      mutated((rs) => {
        rule(rs, "order-regex").match.path.dfa.transitions[1] = 10;
      }),
    ],
    [
      "transition below -1",
      "transitions[0]",
      mutated((rs) => {
        rule(rs, "order-regex").match.path.dfa.transitions[0] = -2;
      }),
    ],
    [
      "ragged transition table",
      "transitions",
      mutated((rs) => rule(rs, "order-regex").match.path.dfa.transitions.pop()),
    ],
    [
      "accepting state out of range",
      "accepting[0]",
      mutated((rs) => {
        rule(rs, "order-regex").match.path.dfa.accepting = [99];
      }),
    ],
    [
      "classCount 0",
      "classCount",
      mutated((rs) => {
        rule(rs, "order-regex").match.path.dfa.classCount = 0;
      }),
    ],
    [
      "a DFA over the state cap",
      "transitions",
      mutated((rs) => {
        rule(rs, "order-regex").match.path.dfa = {
          byteClasses: new Array(256).fill(0),
          classCount: 1,
          transitions: new Array(16_385).fill(0),
          accepting: [0],
        };
      }),
    ],
    [
      "regex without a DFA",
      "dfa",
      mutated((rs) => {
        rule(rs, "order-regex").match.path = { type: "regex" };
      }),
    ],
    [
      "present on a path",
      "match.path",
      mutated((rs) => {
        rule(rs, "order-regex").match.path = { type: "present" };
      }),
    ],
    [
      "neither delay nor abort",
      "fault",
      mutated((rs) => {
        delete rule(rs, "order-regex").fault.abort;
      }),
    ],
    [
      "a zero delay",
      "fixedDelayMs",
      mutated((rs) => {
        rule(rs, "delay-short").fault.delay.fixedDelayMs = 0;
      }),
    ],
    [
      "a delay over an hour",
      "fixedDelayMs",
      mutated((rs) => {
        rule(rs, "delay-short").fault.delay.fixedDelayMs = 3_600_001;
      }),
    ],
    [
      "a fractional delay",
      "fixedDelayMs",
      mutated((rs) => {
        rule(rs, "delay-short").fault.delay.fixedDelayMs = 1.5;
      }),
    ],
    [
      "expiresAt as a string",
      "expiresAt",
      mutated((rs) => {
        rule(rs, "delay-short").expiresAt = "tomorrow";
      }),
    ],
    [
      "an upper-case header name",
      "name",
      mutated((rs) => {
        rule(rs, "tenant-prefix").match.headers[0].name = "X-Tenant";
      }),
    ],
    ["a number beyond f64", "revision", mutated(() => {}).replace('"revision":9', '"revision":1e400')],
  ])("%s", async (_, field, body) => {
    const host = await hostWithRules(CASES.text);
    pushRules(host, body);
    expect(errors(host)).toBe(1n);
    expect(errorLogs(host).at(-1)?.message).toContain(field);
    expectOldRules(host);
  });

  test("a body over 4 MiB is refused unread; its revision comes from the ETag and is skipped", async () => {
    const host = await hostWithRules(CASES.text);
    const reads = host.count("proxy_get_buffer_bytes");
    const huge = mutated((rs) => Object.assign(rs, { padding: "x".repeat(4 << 20) }));
    pushRules(host, huge, [["etag", '"9"']]);
    expect(host.count("proxy_get_buffer_bytes")).toBe(reads);
    expect(errors(host)).toBe(1n);
    expect(errorLogs(host).at(-1)?.message).toMatch(/revision 9 .*4 MiB/);
    // A decimal ETag is a server from before identities: its revision, and the identity it gave.
    expect(pollPath(host.httpCalls[0]!)).toBe("/v1/config?after=9&id=9&wait=25");
    expectOldRules(host);
  });

  test("an absurd body near 4 MiB costs at most 32 MiB: numeric tables are compact, other values capped", async () => {
    const table = (n: number) => ({
      byteClasses: new Array(256).fill(0),
      classCount: 1,
      transitions: new Array(n).fill(0),
      accepting: [0],
    });
    const numbers = mutated((rs) => {
      rule(rs, "order-regex").match.path.dfa = table(1_900_000);
    });
    const objects = mutated((rs) => Object.assign(rs, { pad: new Array(1_000_000).fill({}) }));
    for (const [body, reason] of [
      [numbers, "at most 16384 states"],
      [objects, "more than 100000 JSON values"],
    ] as const) {
      const host = await hostWithRules(CASES.text);
      pushRules(host, body, [["etag", '"9"']]);
      expect(body.length).toBeGreaterThan(2 << 20);
      expect(body.length).toBeLessThan(4 << 20);
      expect(errorLogs(host).at(-1)?.message).toContain(reason);
      // Wasm memory never shrinks: this is the high-water mark an absurd body leaves behind.
      expect(host.memoryBytes).toBeLessThanOrEqual(32 << 20);
      expectOldRules(host);
    }
  });

  test("a bad rule set is logged once: the same identity again is not even read, the same revision is counted", async () => {
    const host = await hostWithRules(CASES.text);
    const truncated = CASES.text.slice(0, 200);
    pushRules(host, truncated, [["etag", '"12"']]);
    const reads = host.count("proxy_get_buffer_bytes");
    pushRules(host, truncated, [["etag", 'W/"12"']]);
    expect(host.count("proxy_get_buffer_bytes")).toBe(reads);
    expect(errors(host)).toBe(1n);
    expect(errorLogs(host)).toHaveLength(1);
    expect(errorLogs(host)[0]?.message).toContain("revision 12");
    host.advance(1000);
    host.tick();
    pushRules(host, truncated, [["etag", '"13"']]);
    expect(errorLogs(host)).toHaveLength(2);
    // Without an ETag, the body's revision tells one bad rule set from the next.
    const wrong = JSON.stringify({ format: 1, revision: 14, rules: "none" });
    pushRules(host, wrong);
    pushRules(host, wrong);
    expect(errors(host)).toBe(4n);
    expect(errorLogs(host)).toHaveLength(3);
    expect(errorLogs(host)[2]?.message).toContain("revision 14");
    expectOldRules(host);
  });

  test("no mutation of the fixture traps the VM", async () => {
    const host = await hostWithRules(CASES.text);
    let seed = 42;
    const random = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const text = CASES.text;
    for (let i = 0; i < 300; i++) {
      const bytes = new TextEncoder().encode(text.slice(0, text.length - random(40)));
      for (let flips = random(4); flips > 0; flips--) bytes[random(bytes.length)] = random(256);
      // An unreadable revision backs off before the next poll: tick until it is sent.
      host.respond(nextPoll(host, 100_000).token, { status: 200, body: new TextDecoder().decode(bytes) });
    }
    // Some mutations are still valid rule sets; whatever is in force now, the VM is alive.
    host.finish(host.request(req("GET", "/orders/1")));
    expect(errors(host)).toBeGreaterThan(250n);
    expect(nextPoll(host, 100_000).cluster).toBe("hfi_control_plane");
  });
});

describe("callouts", () => {
  test("a response to a token the filter is not waiting for is ignored", async () => {
    const host = await hostWithRules(CASES.text);
    const poll = host.httpCalls[0]!;
    host.httpCalls.push({ ...poll, token: poll.token + 100 });
    host.respond(poll.token + 100, {
      status: 200,
      body: JSON.stringify({ format: 1, revision: 99, rules: [] }),
    });
    expect(host.metric("hfi.config.revision")?.value).toBe(REVISION);
    expect(host.httpCalls).toEqual([poll]);
    expectOldRules(host);
  });
});

describe("a valid update", () => {
  test("replaces the rules as one piece and counts the update", async () => {
    const host = await hostWithRules(CASES.text);
    const next = mutated((rs) => {
      rs.rules = rs.rules.filter((r) => r.name !== "order-regex");
    });
    pushRules(host, next);
    expect(host.metric("hfi.config.revision")?.value).toBe(9n);
    expect(host.metric("hfi.config.updates_total")?.value).toBe(2n);
    expect(host.request(req("GET", "/orders/1")).localResponse).toBeUndefined();
    expect(host.request(req("GET", "/headers", [["x-debug", "1"]])).localResponse?.status).toBe(452);
  });
});
