import type { Policy } from "../policy/index.ts";
import {
  MILLIONTHS_PER_HUNDRED_PERCENT,
  RULESET_FORMAT,
  type Rule,
  type RuleSet,
  type StringMatch,
} from "./format.ts";

/**
 * Compiles validated policies into the RuleSet the filter executes. Pure and deterministic: the
 * same policies and revision always give the same RuleSet, whatever order the policies come in.
 */
export function compileRuleSet(policies: readonly Policy[], revision: number): RuleSet {
  const rules = policies.map(compileRule).sort(byEvaluationOrder);
  return { format: RULESET_FORMAT, revision, rules };
}

function compileRule(policy: Policy): Rule {
  const { priority, match = {}, fault } = policy.spec;
  // Members in format.ts order, so the served JSON reads like the golden fixtures.
  return {
    name: policy.metadata.name,
    priority,
    match: {
      ...(match.path && { path: compilePath(match.path) }),
      ...(match.method && { method: match.method.exact }),
      headers: (match.headers ?? []).map((h) => ({
        name: h.name.toLowerCase(),
        match: { type: "exact", value: h.exact },
      })),
    },
    fault: {
      percentageMillionths: toMillionths(fault.percentage),
      abort: { httpStatus: fault.abort.httpStatus, body: fault.abort.body },
    },
  };
}

/** The schema guarantees exactly one of exact and prefix. */
function compilePath({ exact, prefix = "" }: { exact?: string; prefix?: string }): StringMatch {
  return exact !== undefined ? { type: "exact", value: exact } : { type: "prefix", value: prefix };
}

/** Percent with at most 2 decimals → an exact integer in millionths (25.5 → 255000). */
function toMillionths(percentage: number): number {
  return Math.round((percentage * MILLIONTHS_PER_HUNDRED_PERCENT) / 100);
}

/** Priority descending, then name ascending (code-unit order, independent of locale). */
function byEvaluationOrder(a: Rule, b: Rule): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
