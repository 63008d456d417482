import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { type Policy, validatePolicy } from "../policy/index.ts";
import { matchDfa } from "../regex/index.ts";
import { compileRuleSet } from "./compile.ts";
import {
  type Dfa,
  RULESET_FORMAT,
  RULESET_FORMAT_WITHOUT_BODY,
  RULESET_FORMAT_WITHOUT_FAULTS_V2,
  RULESET_FORMAT_WITHOUT_HOST,
  RULESET_FORMAT_WITHOUT_RESPONSE,
  type RuleSet,
} from "./format.ts";

const FIXTURES = `${import.meta.dir}/../../test/fixtures/rulesets`;
const FIXTURE_NAMES = readdirSync(FIXTURES)
  .filter((file) => file.endsWith(".policies.yaml"))
  .map((file) => file.replace(/\.policies\.yaml$/, ""));

async function loadPolicies(path: string): Promise<Policy[]> {
  const docs = parseAllDocuments(await Bun.file(path).text());
  if (!Array.isArray(docs)) return [];
  return docs.map((doc) => {
    const result = validatePolicy(doc.toJS());
    if (!result.success) throw new Error(`${path}: ${JSON.stringify(result.issues)}`);
    return result.output;
  });
}

describe("compileRuleSet: golden fixtures", () => {
  test("there are fixtures, basic, full, experiments and halted among them", () => {
    expect(FIXTURE_NAMES).toEqual(expect.arrayContaining(["basic", "full", "experiments", "halted"]));
  });

  test.each(FIXTURE_NAMES)("%s.policies.yaml compiles to exactly its .ruleset.json", async (name) => {
    const policies = await loadPolicies(`${FIXTURES}/${name}.policies.yaml`);
    const golden = (await Bun.file(`${FIXTURES}/${name}.ruleset.json`).json()) as RuleSet;
    // The halt is store state, not a policy: the golden file says whether it was in force.
    const compiled = compileRuleSet(policies, golden.revision, { halted: golden.halted === true });
    // Byte-for-byte after normalising whitespace: same members, same order, nothing undefined.
    expect(JSON.stringify(compiled)).toBe(JSON.stringify(golden));
  });

  test.each(FIXTURE_NAMES)("%s: the result does not depend on the order policies come in", async (name) => {
    const policies = await loadPolicies(`${FIXTURES}/${name}.policies.yaml`);
    expect(compileRuleSet([...policies].reverse(), 1)).toEqual(compileRuleSet(policies, 1));
  });

  // Independent of the compiler: the golden tables agree with JavaScript's RegExp on the regexes they came from.
  test.each([
    [
      "users-regex-delay",
      "/api/v[0-9]+/users/[^/]+",
      ["/api/v1/users/ann", "/api/v12/users/日本", "/api/v/users/a", "/api/v1/users/", "/api/v1/users/a/b"],
    ],
    ["header-matchers", "(?i)[0-9a-f]{2}-[0-9a-f]{2}", ["0a-FF", "0A-ff", "0g-00", "00-000", "00_00"]],
    ["unicode-path", "/caf[eé]/.+", ["/cafe/x", "/café/日本", "/cafè/x", "/café/", "/cafe/\n"]],
  ])("full.ruleset.json: the DFA of %s agrees with /^(?:%s)$/u", async (ruleName, source, inputs) => {
    const golden = (await Bun.file(`${FIXTURES}/full.ruleset.json`).json()) as RuleSet;
    const rule = golden.rules.find((r) => r.name === ruleName);
    const dfas = [rule?.match.path, ...(rule?.match.headers.map((h) => h.match) ?? [])].flatMap((m) =>
      m?.type === "regex" ? [m.dfa] : [],
    );
    expect(dfas).toHaveLength(1);
    const dfa = dfas[0] as Dfa;
    const ignoreCase = source.startsWith("(?i)");
    const oracle = new RegExp(`^(?:${source.replace("(?i)", "")})$`, ignoreCase ? "iu" : "u");
    const utf8 = new TextEncoder();
    const results = inputs.map((input) => [input, matchDfa(dfa, utf8.encode(input))]);
    expect(results).toEqual(inputs.map((input) => [input, oracle.test(input)]));
    expect(results.some(([, matched]) => matched)).toBe(true);
  });
});

// A body regex is found anywhere: its DFA, walked from the first byte, accepts where a match ends.
test("body.ruleset.json: the body regex's DFA finds what /qty=[0-9]{3,}/u finds, anywhere", async () => {
  const golden = (await Bun.file(`${FIXTURES}/body.ruleset.json`).json()) as RuleSet;
  const body = golden.rules.find((r) => r.name === "body-regex")?.match.body;
  if (body?.type !== "regex") throw new Error("fixture has no body regex");
  const { dfa } = body;
  const found = (input: string) => {
    let state = 0;
    for (const byte of new TextEncoder().encode(input)) {
      if (dfa.accepting.includes(state)) return true;
      state = dfa.transitions[state * dfa.classCount + (dfa.byteClasses[byte] ?? 0)] ?? -1;
      if (state < 0) return false;
    }
    return dfa.accepting.includes(state);
  };
  const inputs = ["qty=100", "a=1&qty=1200&b", "qty=12", "qty=12&qty=999", "日本qty=0001", "QTY=100", ""];
  const oracle = /qty=[0-9]{3,}/u;
  expect(inputs.map((input) => [input, found(input)])).toEqual(
    inputs.map((input) => [input, oracle.test(input)]),
  );
});

describe("compileRuleSet", () => {
  test("no policies give an empty rule set", () => {
    expect(compileRuleSet([], 0)).toEqual({ format: RULESET_FORMAT_WITHOUT_HOST, revision: 0, rules: [] });
  });

  test.each([
    ["a fixed delay and an HTTP abort", [{}], RULESET_FORMAT_WITHOUT_HOST],
    ["a host condition", [{ match: { host: { exact: "a" } } }], RULESET_FORMAT_WITHOUT_FAULTS_V2],
    [
      "a drawn delay",
      [{ fault: { delay: { uniform: { min: "1ms", max: "2ms" } } } }],
      RULESET_FORMAT_WITHOUT_RESPONSE,
    ],
    [
      "a gRPC abort beside a host condition",
      [{ fault: { abort: { grpcStatus: 14 } } }, { match: { host: { exact: "a" } } }],
      RULESET_FORMAT_WITHOUT_RESPONSE,
    ],
    [
      "a response fault beside a gRPC abort",
      [{ fault: { response: { status: 500 } } }, { fault: { abort: { grpcStatus: 14 } } }],
      RULESET_FORMAT_WITHOUT_BODY,
    ],
    [
      "a body condition beside a response fault",
      [{ match: { body: { contains: "x" } } }, { fault: { response: { status: 500 } } }],
      RULESET_FORMAT,
    ],
  ])("a rule set with %s is served in the oldest format that carries it", (_, specs, format) => {
    const policies = specs.map((spec, i) => policy(`p${i}`, spec));
    expect<number>(compileRuleSet(policies, 1).format).toBe(format);
  });

  test.each([
    [100, 1_000_000],
    [0, 0],
    [0.01, 100],
    [0.29, 2_900],
    [33.33, 333_300],
    [99.99, 999_900],
  ])("percentage %p becomes %p millionths", (percentage, millionths) => {
    const result = validatePolicy({
      apiVersion: "hfi.dev/v1alpha1",
      kind: "FaultInjectionPolicy",
      metadata: { name: "p" },
      spec: { fault: { percentage, abort: { httpStatus: 503 } } },
    });
    if (!result.success) throw new Error("invalid fixture");
    const [rule] = compileRuleSet([result.output], 1).rules;
    expect(rule?.fault.percentageMillionths).toBe(millionths);
    expect(rule?.match).toEqual({ headers: [] });
  });

  test.each([
    ["100ms", 100],
    ["1.5s", 1_500],
    ["1m30s", 90_000],
    ["1h", 3_600_000],
  ])("delay %p becomes %p ms", (fixedDelay, ms) => {
    const [rule] = compileRuleSet([policy("p", { fault: { delay: { fixedDelay } } })], 1).rules;
    expect(rule?.fault).toEqual({ percentageMillionths: 1_000_000, delay: { fixedDelayMs: ms } });
  });

  test("halted is present only while halted, between revision and rules", () => {
    expect(JSON.stringify(compileRuleSet([], 3, { halted: true }))).toBe(
      `{"format":${RULESET_FORMAT_WITHOUT_HOST},"revision":3,"halted":true,"rules":[]}`,
    );
    expect(compileRuleSet([], 3, { halted: false })).toEqual({
      format: RULESET_FORMAT_WITHOUT_HOST,
      revision: 3,
      rules: [],
    });
    expect("halted" in compileRuleSet([], 3)).toBe(false);
  });

  test("status.expiresAt becomes expiresAt in ms since the epoch; no status, no expiresAt", () => {
    const timed = policy("timed", { duration: "5m" });
    timed.status = { expiresAt: "2026-01-02T03:04:05.678Z" };
    const [rule, untimed] = compileRuleSet([timed, policy("untimed", {})], 1).rules;
    expect(rule?.expiresAt).toBe(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
    expect(untimed && "expiresAt" in untimed).toBe(false);
  });

  test("mode dryRun sets dryRun: true; enforce and no mode leave it out", () => {
    const rules = compileRuleSet(
      [policy("a", { mode: "dryRun" }), policy("b", { mode: "enforce" }), policy("c", {})],
      1,
    ).rules;
    expect(rules.map((r) => r.dryRun)).toEqual([true, undefined, undefined]);
    expect(rules.filter((r) => "dryRun" in r).map((r) => r.name)).toEqual(["a"]);
  });

  test("the revision is passed through as given", () => {
    expect(compileRuleSet([], 41).revision).toBe(41);
  });

  test("priority desc, then name asc in code-unit order", () => {
    const policies = ["ab", "a0", "a-b"].map((name) => policy(name, {}));
    policies.push(policy("z-top", { priority: 5 }), policy("a-low", { priority: -1 }));
    const names = compileRuleSet(policies, 1).rules.map((r) => r.name);
    expect(names).toEqual(["z-top", "a-b", "a0", "ab", "a-low"]);
  });
});

/** A validated policy with `spec` overrides; an abort fault unless the overrides give a fault. */
function policy(name: string, spec: Record<string, unknown>): Policy {
  const result = validatePolicy({
    apiVersion: "hfi.dev/v1alpha1",
    kind: "FaultInjectionPolicy",
    metadata: { name },
    spec: { fault: { abort: { httpStatus: 503 } }, ...spec },
  });
  if (!result.success) throw new Error(`invalid test policy: ${JSON.stringify(result.issues)}`);
  return result.output;
}
