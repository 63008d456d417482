import {
  DEFAULT_BODY_MATCH_BYTES,
  grpcStatusCode,
  httpStatusOfGrpc,
  type Policy,
  type PolicySpec,
  parseDelay,
} from "../policy/index.ts";
import { compileRegex, searchAnywhere } from "../regex/index.ts";
import {
  type AbortFault,
  type BodyMatch,
  type DelayFault,
  type Dfa,
  type HeaderValueMatch,
  type HostMatch,
  MILLIONTHS_PER_HUNDRED_PERCENT,
  type ResponseFault,
  type ResponseMatch,
  RULESET_FORMAT,
  RULESET_FORMAT_WITHOUT_BODY,
  RULESET_FORMAT_WITHOUT_FAULTS_V2,
  RULESET_FORMAT_WITHOUT_HOST,
  RULESET_FORMAT_WITHOUT_RESPONSE,
  type Rule,
  type RuleFault,
  type RuleSet,
  type StringMatch,
} from "./format.ts";

type HeaderCondition = NonNullable<NonNullable<PolicySpec["match"]>["headers"]>[number];

export interface CompileOptions {
  /** The fleet-wide halt is in force (`hfi halt`): the RuleSet says so, and the filter injects nothing. */
  halted?: boolean;
}

/**
 * Compiles validated policies into the RuleSet the filter executes. Pure and deterministic: the
 * same policies, revision and options always give the same RuleSet, whatever order the policies
 * come in. A policy's `status.expiresAt` (set by the store) becomes its rule's `expiresAt`; the
 * compiler never reads the clock, so an expired policy still compiles and the filter skips it.
 */
export function compileRuleSet(
  policies: readonly Policy[],
  revision: number,
  { halted = false }: CompileOptions = {},
): RuleSet {
  return assembleRuleSet(policies.map(compileRule).sort(byEvaluationOrder), revision, { halted });
}

/**
 * A RuleSet of rules compiled already, in evaluation order: in the oldest format that carries them,
 * so filters from before host matching, drawn delays or gRPC aborts keep working while no rule needs
 * them.
 */
export function assembleRuleSet(
  rules: Rule[],
  revision: number,
  { halted = false }: CompileOptions = {},
): RuleSet {
  return { format: oldestFormatFor(rules), revision, ...(halted && { halted: true }), rules };
}

function oldestFormatFor(rules: Rule[]): RuleSet["format"] {
  if (rules.some(({ match }) => match.body !== undefined)) return RULESET_FORMAT;
  if (rules.some(({ fault }) => fault.response !== undefined)) return RULESET_FORMAT_WITHOUT_BODY;
  const drawnOrGrpc = ({ fault }: Rule) =>
    (fault.delay !== undefined && !("fixedDelayMs" in fault.delay)) || fault.abort?.grpcStatus !== undefined;
  if (rules.some(drawnOrGrpc)) return RULESET_FORMAT_WITHOUT_RESPONSE;
  return rules.some((rule) => rule.match.host)
    ? RULESET_FORMAT_WITHOUT_FAULTS_V2
    : RULESET_FORMAT_WITHOUT_HOST;
}

/** Policies in evaluation order (priority desc, then name asc), as the rules they compile to. */
export function compileRules(policies: readonly Policy[]): { policy: Policy; rule: Rule }[] {
  return policies
    .map((policy) => ({ policy, rule: compileRule(policy) }))
    .sort((a, b) => byEvaluationOrder(a.rule, b.rule));
}

function compileRule(policy: Policy): Rule {
  const { priority, match = {}, fault } = policy.spec;
  // Members in format.ts order, so the served JSON reads like the golden fixtures.
  return {
    name: policy.metadata.name,
    priority,
    match: {
      ...(match.host && { host: compileHostMatch(match.host) }),
      ...(match.path && { path: compileStringMatch(match.path) }),
      ...(match.method && { method: match.method.exact }),
      headers: compileHeaderConditions(match.headers),
      ...(match.body && { body: compileBodyMatch(match.body) }),
      ...(match.response && { response: compileResponseMatch(match.response) }),
    },
    fault: compileFault(fault),
    ...(policy.status?.expiresAt !== undefined && { expiresAt: validTimestamp(policy.status.expiresAt) }),
    ...(policy.spec.mode === "dryRun" && { dryRun: true }),
  };
}

/** The schema guarantees exactly one of exact, prefix and regex. */
function compileStringMatch(match: { exact?: string; prefix?: string; regex?: string }): StringMatch {
  if (match.exact !== undefined) return { type: "exact", value: match.exact };
  if (match.prefix !== undefined) return { type: "prefix", value: match.prefix };
  return { type: "regex", dfa: compileValidRegex(match.regex ?? "") };
}

/** The schema guarantees exactly one of exact, suffix and regex. */
function compileHostMatch(match: { exact?: string; suffix?: string; regex?: string }): HostMatch {
  if (match.exact !== undefined) return { type: "exact", value: match.exact.toLowerCase() };
  if (match.suffix !== undefined) return { type: "suffix", value: match.suffix.toLowerCase() };
  return { type: "regex", dfa: compileValidRegex(match.regex ?? "") };
}

function compileHeaderMatch(header: HeaderCondition): HeaderValueMatch {
  return header.present ? { type: "present" } : compileStringMatch(header);
}

function compileHeaderConditions(headers: readonly HeaderCondition[] = []) {
  return headers.map((header) => ({ name: header.name.toLowerCase(), match: compileHeaderMatch(header) }));
}

/** The schema guarantees exactly one of contains, regex and json, and json exactly one of exact and regex. */
function compileBodyMatch({
  contains,
  regex,
  json,
  maxBytes = DEFAULT_BODY_MATCH_BYTES,
}: NonNullable<NonNullable<PolicySpec["match"]>["body"]>): BodyMatch {
  if (contains !== undefined) return { maxBytes, type: "contains", value: contains };
  if (regex !== undefined) return { maxBytes, type: "regex", dfa: compileValidRegex(searchAnywhere(regex)) };
  if (json === undefined) throw new Error("a body condition passed validation with no matcher");
  const match =
    json.exact !== undefined
      ? { type: "exact" as const, value: json.exact }
      : { type: "regex" as const, dfa: compileValidRegex(json.regex ?? "") };
  return { maxBytes, type: "json", path: json.path.split("."), match };
}

function compileResponseMatch({
  status,
  headers,
}: NonNullable<NonNullable<PolicySpec["match"]>["response"]>): ResponseMatch {
  const statuses = status?.codes
    ? [...new Set(status.codes)].sort((a, b) => a - b).map((code) => ({ min: code, max: code }))
    : status && [{ min: status.min ?? 0, max: status.max ?? 0 }];
  return { ...(statuses && { statuses }), headers: compileHeaderConditions(headers) };
}

function compileFault({ percentage, delay, abort, response }: PolicySpec["fault"]): RuleFault {
  return {
    percentageMillionths: toMillionths(percentage),
    ...(delay && { delay: compileDelay(delay) }),
    ...(abort && { abort: compileAbort(abort) }),
    ...(response && { response: compileResponse(response) }),
  };
}

function compileResponse({
  status,
  headers,
  delay,
  body,
  jsonPatch,
}: NonNullable<PolicySpec["fault"]["response"]>): ResponseFault {
  return {
    ...(status !== undefined && { status }),
    setHeaders: (headers?.set ?? []).map(({ name, value }) => ({ name: name.toLowerCase(), value })),
    removeHeaders: [...new Set((headers?.remove ?? []).map((name) => name.toLowerCase()))],
    ...(delay && { delay: compileDelay(delay) }),
    ...(body !== undefined && { body }),
    ...(jsonPatch !== undefined && { mergePatch: JSON.stringify(jsonPatch) }),
  };
}

function compileAbort({
  httpStatus,
  body,
  grpcStatus,
  grpcMessage,
}: NonNullable<PolicySpec["fault"]["abort"]>): AbortFault {
  if (grpcStatus === undefined) {
    if (httpStatus === undefined) throw new Error("an abort passed validation with neither status");
    return { httpStatus, body };
  }
  const code = grpcStatusCode(grpcStatus);
  if (code === undefined)
    throw new Error(`grpcStatus ${JSON.stringify(grpcStatus)} passed validation but is unknown`);
  return { httpStatus: httpStatusOfGrpc(code), body: grpcMessage ?? "", grpcStatus: code };
}

function compileDelay({
  fixedDelay,
  uniform,
  lognormal,
}: NonNullable<PolicySpec["fault"]["delay"]>): DelayFault {
  if (uniform) return { uniform: { minMs: validDelayMs(uniform.min), maxMs: validDelayMs(uniform.max) } };
  if (lognormal) {
    return { lognormal: { p50Ms: validDelayMs(lognormal.p50), p99Ms: validDelayMs(lognormal.p99) } };
  }
  return { fixedDelayMs: validDelayMs(fixedDelay ?? "") };
}

/** Validation compiled the same regex already (and memoised it), so failure here is a bug. */
function compileValidRegex(source: string): Dfa {
  const result = compileRegex(source);
  if (!result.success)
    throw new Error(`regex ${JSON.stringify(source)} passed validation but ${result.message}`);
  return result.dfa;
}

function validDelayMs(text: string): number {
  const result = parseDelay(text);
  if (!result.success)
    throw new Error(`delay ${JSON.stringify(text)} passed validation but ${result.message}`);
  return result.ms;
}

function validTimestamp(text: string): number {
  const ms = Date.parse(text);
  if (Number.isNaN(ms))
    throw new Error(`timestamp ${JSON.stringify(text)} passed validation but does not parse`);
  return ms;
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
