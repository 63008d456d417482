/**
 * The RuleSet twins stay in step: every golden fixture decodes in the filter's strict twin, which
 * rejects members the filter does not read (a field added on the TypeScript side only fails here);
 * the format number and limits the filter checks are the control plane's; a filter refuses a format
 * newer than its own and keeps its rules.
 */
import { describe, expect, test } from "bun:test";
import { MAX_DELAY_MS, MIN_DELAY_MS } from "../../src/policy/duration.ts";
import { OLDEST_READABLE_RULESET_FORMAT, RULESET_FORMAT } from "../../src/ruleset/format.ts";
import {
  fixture,
  fixtureNames,
  hostWithRules,
  pushRules,
  req,
  strictFilterWasm,
} from "../support/filter-host.ts";

const BASIC = fixture("basic.ruleset.json");

const rejection = (host: { logs: { message: string }[] }) =>
  host.logs.find((l) => l.message.startsWith("rejected"))?.message;

describe("the strict twin", () => {
  test.each(fixtureNames())(
    "reads every member of %s",
    async (name) => {
      const { text, ruleSet } = fixture(name);
      const host = await hostWithRules(text, { wasm: await strictFilterWasm() });
      expect(rejection(host)).toBeUndefined();
      expect(host.metric("hfi.config.revision")?.value).toBe(BigInt(ruleSet.revision));
    },
    60_000,
  );

  test.each([
    ["the document", { ...BASIC.ruleSet, revision: 8, shiny: true }, "shiny"],
    [
      "a rule",
      { ...BASIC.ruleSet, revision: 8, rules: [{ ...BASIC.ruleSet.rules[0], weight: 2 }] },
      "rules[0].weight",
    ],
    [
      "a fault",
      {
        ...BASIC.ruleSet,
        revision: 8,
        rules: [{ ...BASIC.ruleSet.rules[0], fault: { ...BASIC.ruleSet.rules[0]?.fault, corrupt: {} } }],
      },
      "rules[0].fault.corrupt",
    ],
    [
      "a fault, a response's member beside it",
      {
        ...BASIC.ruleSet,
        revision: 8,
        rules: [{ ...BASIC.ruleSet.rules[0], fault: { ...BASIC.ruleSet.rules[0]?.fault, body: "x" } }],
      },
      "rules[0].fault.body",
    ],
  ])(
    "rejects a member of %s that the filter would ignore",
    async (_, doc, path) => {
      const host = await hostWithRules(JSON.stringify(doc), { wasm: await strictFilterWasm() });
      expect(rejection(host)).toContain(`(${path}: not a member this filter reads)`);
    },
    60_000,
  );
});

describe("constants shared with the control plane", () => {
  test("the delay bounds are the policy's", async () => {
    const rule = BASIC.ruleSet.rules[0]!;
    const tooLong = { ...rule, fault: { ...rule.fault, delay: { fixedDelayMs: MAX_DELAY_MS + 1 } } };
    const host = await hostWithRules(JSON.stringify({ ...BASIC.ruleSet, rules: [tooLong] }));
    expect(rejection(host)).toContain(
      `fault.delay.fixedDelayMs: expected an integer ${MIN_DELAY_MS}..${MAX_DELAY_MS}`,
    );
  });
});

describe("format", () => {
  test("the filter reads every format from the oldest readable to the current one", async () => {
    for (let format = OLDEST_READABLE_RULESET_FORMAT; format <= RULESET_FORMAT; format++) {
      const host = await hostWithRules(JSON.stringify({ ...BASIC.ruleSet, format }));
      expect([format, rejection(host)]).toEqual([format, undefined]);
      expect(host.request(req("POST", "/api/checkout")).localResponse?.status).toBe(503);
    }
  });

  test.each([
    ["a newer", RULESET_FORMAT + 1],
    ["an older", OLDEST_READABLE_RULESET_FORMAT - 1],
    ["a fractional", RULESET_FORMAT - 0.5],
  ])("a filter refuses %s format and keeps its rules", async (_, format) => {
    const host = await hostWithRules(BASIC.text);
    pushRules(host, JSON.stringify({ format, revision: BASIC.ruleSet.revision + 1, rules: [] }));
    expect(rejection(host)).toContain(
      `(format: expected ${OLDEST_READABLE_RULESET_FORMAT}..${RULESET_FORMAT})`,
    );
    expect(host.metric("hfi.config.errors_total")?.value).toBe(1n);
    expect(host.metric("hfi.config.revision")?.value).toBe(BigInt(BASIC.ruleSet.revision));
    expect(host.request(req("POST", "/api/checkout")).localResponse?.status).toBe(503);
  });
});
