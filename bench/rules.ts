/** RuleSets for the data-plane benchmarks: rules that never match, and one that faults everything. */
import type { Rule } from "../src/ruleset/format.ts";

/**
 * `count` rules that never match `GET /api/items` without an `x-bench-user` header. Nine in ten match
 * on method and a path prefix (`GET /svc-N/`): the path comparison rejects them. Every tenth matches
 * a header only (`x-bench-user: user-N`), so the filter also reads the request's header map once per
 * request, as it does for any rule set with a header condition. Aborts at 100%, like a typical
 * fault policy.
 */
export function nonMatchingRules(count: number): Rule[] {
  const rules: Rule[] = [];
  for (let i = 0; i < count; i++) {
    const name = `bench-${String(i).padStart(5, "0")}`;
    const match: Rule["match"] =
      i % 10 === 9
        ? { headers: [{ name: "x-bench-user", match: { type: "exact", value: `user-${i}` } }] }
        : { method: "GET", path: { type: "prefix", value: `/svc-${i}/` }, headers: [] };
    rules.push({
      name,
      priority: 0,
      match,
      fault: { percentageMillionths: 1_000_000, abort: { httpStatus: 503, body: "" } },
    });
  }
  return rules;
}

/** One rule that faults every request: an abort, a delay, or both. */
export function faultAllRule(fault: {
  abortStatus?: number;
  delayMs?: number;
  responseStatus?: number;
}): Rule {
  return {
    name: "bench-fault-all",
    priority: 0,
    match: { path: { type: "prefix", value: "/" }, headers: [] },
    fault: {
      percentageMillionths: 1_000_000,
      ...(fault.delayMs !== undefined && { delay: { fixedDelayMs: fault.delayMs } }),
      ...(fault.abortStatus !== undefined && { abort: { httpStatus: fault.abortStatus, body: "" } }),
      ...(fault.responseStatus !== undefined && {
        response: { status: fault.responseStatus, setHeaders: [], removeHeaders: [] },
      }),
    },
  };
}

/** A string no benchmark body holds (they are "x" repeated): a `contains` on it reads a whole body and fails. */
export const ABSENT_FROM_BODIES = "hfi-bench-needle";

/**
 * One rule over every request (path prefix `/`) that aborts 503. With `bodyMaxBytes`, only when the
 * body contains ABSENT_FROM_BODIES, at 100%: every request passes after the filter has read its
 * whole body. Without, the same rule at 0%: it matches at the headers and passes.
 */
export function bodyRule(bodyMaxBytes?: number): Rule {
  const rule: Rule = {
    name: "bench-body",
    priority: 0,
    match: { path: { type: "prefix", value: "/" }, headers: [] },
    fault: {
      percentageMillionths: bodyMaxBytes === undefined ? 0 : 1_000_000,
      abort: { httpStatus: 503, body: "" },
    },
  };
  if (bodyMaxBytes !== undefined) {
    rule.match.body = { maxBytes: bodyMaxBytes, type: "contains", value: ABSENT_FROM_BODIES };
  }
  return rule;
}
