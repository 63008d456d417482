import { describe, expect, test } from "bun:test";
import { parseAllDocuments } from "yaml";
import basicRuleSet from "../../test/fixtures/rulesets/basic.ruleset.json";
import { type Policy, validatePolicy } from "../policy/index.ts";
import { compileRuleSet } from "./compile.ts";

async function loadPolicies(path: string): Promise<Policy[]> {
  const docs = parseAllDocuments(await Bun.file(path).text());
  if (!Array.isArray(docs)) return [];
  return docs.map((doc) => {
    const result = validatePolicy(doc.toJS());
    if (!result.success) throw new Error(`${path}: ${JSON.stringify(result.issues)}`);
    return result.output;
  });
}

describe("compileRuleSet", () => {
  test("basic.policies.yaml compiles to exactly basic.ruleset.json", async () => {
    const policies = await loadPolicies(
      `${import.meta.dir}/../../test/fixtures/rulesets/basic.policies.yaml`,
    );
    const compiled = compileRuleSet(policies, basicRuleSet.revision);
    // Byte-for-byte after normalising whitespace: same members, same order, nothing undefined.
    expect(JSON.stringify(compiled)).toBe(JSON.stringify(basicRuleSet));
  });

  test("does not depend on the order policies come in", async () => {
    const policies = await loadPolicies(
      `${import.meta.dir}/../../test/fixtures/rulesets/basic.policies.yaml`,
    );
    expect(compileRuleSet([...policies].reverse(), 1)).toEqual(compileRuleSet(policies, 1));
  });

  test("no policies give an empty rule set", () => {
    expect(compileRuleSet([], 0)).toEqual({ format: 1, revision: 0, rules: [] });
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
});
