/**
 * The RuleSet wire format, AssemblyScript twin of src/ruleset/format.ts (keep the two in step).
 * Instances only come out of decodeRuleSet, so everything here is already validated.
 */

/** The only format this filter understands; anything else is rejected and the old rules stay. */
export const RULESET_FORMAT: i32 = 1;

/** 100% expressed in the filter's sampling unit. */
export const MILLIONTHS_PER_HUNDRED_PERCENT: u32 = 1_000_000;

export const enum MatchType {
  Exact,
  Prefix,
}

export class StringMatch {
  constructor(
    readonly type: MatchType,
    readonly value: string,
  ) {}
}

export class HeaderMatch {
  constructor(
    /** Lower-cased header name. */
    readonly name: string,
    readonly match: StringMatch,
  ) {}
}

export class RuleMatch {
  constructor(
    /** Matched against `:path` without its query string; null = any path. */
    readonly path: StringMatch | null,
    /** Upper-case method compared exactly with `:method`; null = any method. */
    readonly method: string | null,
    /** All must match. */
    readonly headers: HeaderMatch[],
  ) {}
}

export class AbortFault {
  constructor(
    readonly httpStatus: u32,
    readonly body: string,
  ) {}
}

export class RuleFault {
  constructor(
    /** 0..1_000_000; a request is faulted when a uniform draw in [0, 1_000_000) is below it. */
    readonly percentageMillionths: u32,
    readonly abort: AbortFault | null,
  ) {}
}

export class Rule {
  constructor(
    /** The policy name; also the value of the `x-hfi-fault` response header. */
    readonly name: string,
    readonly priority: i64,
    readonly match: RuleMatch,
    readonly fault: RuleFault,
  ) {}
}

export class RuleSet {
  constructor(
    readonly format: i32,
    /** Store revision the rules were compiled from. */
    readonly revision: u64,
    /** In evaluation order: the first match wins. */
    readonly rules: Rule[],
  ) {}
}
