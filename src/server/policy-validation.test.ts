import { describe, expect, test } from "bun:test";
import { createConsola } from "consola";
import { createDistributor } from "../distributor/index.ts";
import type { Policy } from "../policy/index.ts";
import { createMemoryStore } from "../store/index.ts";
import { precompileRegexes, validatePolicyDocument } from "./policy-validation.ts";

/**
 * A policy as validation would output it, built by hand: validating it here would compile its
 * regexes in this thread. Each regex is valid (877 DFA states) and takes long to compile.
 */
function slowRegexPolicy(tag: string): Policy {
  return {
    apiVersion: "hfi.dev/v1alpha1",
    kind: "FaultInjectionPolicy",
    metadata: { name: `slow-${tag}` },
    spec: {
      priority: 0,
      match: {
        headers: [0, 1, 2].map((i) => ({ name: `x-${i}`, regex: `${tag}${i}(.|\\n)*(\\p{L}|\\d){3}` })),
      },
      fault: { percentage: 100, abort: { httpStatus: 503, body: "" } },
    },
  };
}

describe("policy validation off the event loop", () => {
  test("a policy written past the API (another replica's, or loaded at start) compiles its regexes in a worker", async () => {
    const store = createMemoryStore();
    const happened: string[] = [];
    const distributor = await createDistributor(store, {
      logger: createConsola({ level: 0 }),
      coalesceMs: 0,
      async beforeCompile(policies) {
        if (policies.length === 0) return;
        happened.push("compiling");
        setTimeout(() => happened.push("the event loop turned"), 0);
        await precompileRegexes(policies);
      },
    });
    distributor.subscribe(({ ruleSet }) => happened.push(`compiled ${ruleSet.rules.length} rule`));
    await store.create(slowRegexPolicy("replica"));
    while (happened.length < 3) await Bun.sleep(10);
    distributor.close();
    expect(happened).toEqual(["compiling", "the event loop turned", "compiled 1 rule"]);
    expect(distributor.current().ruleSet.rules[0]?.match.headers).toHaveLength(3);
  });

  test("validation answers with field issues, as parsePolicyDocument does", async () => {
    const result = await validatePolicyDocument("kind: Nope\n", "application/yaml");
    expect(result.success).toBe(false);
    expect(!result.success && result.issues.map((issue) => issue.path)).toContain("kind");
  });
});
