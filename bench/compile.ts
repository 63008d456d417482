/**
 * Control plane (bench/README.md, control plane): time to compile 1,000 validated policies into a RuleSet —
 * `compileRuleSet` from src/ruleset/compile.ts, alone and with the JSON.stringify the distributor
 * does on every change — in this process, on one core. Policies are validated first (as the API does
 * on PUT), which compiles and memoises their regexes; a second set with 1,000 distinct regexes shows
 * what happens past the regex memo's size.
 */
import { type Policy, validatePolicy } from "../src/policy/index.ts";
import { compileRuleSet } from "../src/ruleset/compile.ts";
import { policy } from "../test/support/policies.ts";
import { type BenchContext, type BenchResult, median, round, roundsRow, valueRow } from "./report.ts";

const METHODS = ["GET", "POST", "PUT", "DELETE"];

/**
 * Policy `i` of a realistic mix: 6 in 10 method + path prefix, 2 in 10 exact path + header, 1 in 10
 * path regex, 1 in 10 header regex; aborts and delays, percentages and priorities varied.
 * With `allRegex`, every policy has its own path regex.
 */
export function benchPolicy(i: number, allRegex = false): unknown {
  const kind = allRegex ? 8 : i % 10;
  const match =
    kind < 6
      ? { method: { exact: METHODS[i % 4] }, path: { prefix: `/api/v1/service-${i}/` } }
      : kind < 8
        ? { path: { exact: `/api/v1/items/${i}` }, headers: [{ name: "x-user", exact: `user-${i}` }] }
        : kind === 8
          ? { path: { regex: `/api/v[0-9]+/orders/${i}/[a-z0-9-]+` } }
          : { headers: [{ name: "x-session", regex: `s-${i}-[0-9a-f]{8}` }] };
  const fault =
    i % 3 === 0
      ? { percentage: (i % 100) + 0.5, delay: { fixedDelay: `${(i % 50) + 1}ms` } }
      : { percentage: 100, abort: { httpStatus: 500 + (i % 4), body: `fault ${i}` } };
  return policy(`policy-${i}`, { priority: i % 7, match, fault });
}

function validated(count: number, allRegex: boolean): { policies: Policy[]; ms: number } {
  const start = performance.now();
  const policies = Array.from({ length: count }, (_, i) => {
    const result = validatePolicy(benchPolicy(i, allRegex));
    if (!result.success) throw new Error(`policy ${i}: ${result.message}`);
    return result.output;
  });
  return { policies, ms: performance.now() - start };
}

function time(iterations: number, f: () => unknown): number[] {
  const out: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    f();
    out.push(performance.now() - start);
  }
  return out;
}

export async function compile(ctx: BenchContext): Promise<BenchResult> {
  const count = 1000;
  const iterations = ctx.quick ? 10 : 50;
  const mix = validated(count, false);
  const firstCompile = time(1, () => compileRuleSet(mix.policies, 1))[0] ?? Number.NaN;
  time(5, () => JSON.stringify(compileRuleSet(mix.policies, 1)));
  const compileMs = time(iterations, () => compileRuleSet(mix.policies, 2));
  const compileJsonMs = time(iterations, () => JSON.stringify(compileRuleSet(mix.policies, 3)));
  const jsonBytes = Buffer.byteLength(JSON.stringify(compileRuleSet(mix.policies, 4)));

  const regex = validated(count, true);
  const regexCompileMs = time(Math.max(3, iterations / 5), () => compileRuleSet(regex.policies, 5));

  const perCore = (ms: number[]) => round(1000 / median(ms));
  return {
    params: {
      policies: count,
      iterations,
      mix: "6/10 method + path prefix, 2/10 exact path + header, 1/10 path regex, 1/10 header regex; 1/3 delays",
      regexMemo: "src/regex memoises 500 sources",
    },
    commands: ["bun bench/index.ts compile (in process)"],
    samples: {
      validateMs: [mix.ms],
      firstCompileMs: [firstCompile],
      compileMs,
      compileJsonMs,
      regexCompileMs,
    },
    rows: [
      roundsRow("compileRuleSet, 1,000 policies (mixed, 200 regexes)", compileMs, "ms"),
      roundsRow(
        "compileRuleSet + JSON.stringify, 1,000 policies",
        compileJsonMs,
        "ms",
        undefined,
        `${round(jsonBytes / 1024)} KiB of JSON`,
      ),
      valueRow("rule set recompiles per second per core (with JSON)", perCore(compileJsonMs), "1/s"),
      valueRow("first compile in a fresh process (cold JIT)", firstCompile, "ms"),
      valueRow("validate 1,000 policies (incl. 200 regex → DFA)", mix.ms, "ms"),
      roundsRow(
        "compileRuleSet, 1,000 policies each with its own regex",
        regexCompileMs,
        "ms",
        undefined,
        "past the 500-entry regex memo: DFAs rebuilt on every compile",
      ),
    ],
    notes: [
      "One core, in the bench process (Bun), after warm-up unless stated; the distributor compiles once per store change (coalesced).",
    ],
  };
}
