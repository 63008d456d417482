/**
 * The body of `POST /v1/experiments` (docs/API_REFERENCE.md, "Experiments"): policies inline, a
 * required duration, an optional dry-run baseline first, and stop conditions.
 */
import * as v from "valibot";
import {
  type FieldIssue,
  maxCharacters,
  type Policy,
  parsePolicyDuration,
  toFieldIssues,
  validatePolicy,
} from "../policy/index.ts";
import { HfiError } from "../store/index.ts";

/** Longest baseline: an experiment is about its faults, not about watching. */
export const MAX_BASELINE_MS = 10 * 60 * 1000;
/** Longest experiment (the faults' part). */
export const MAX_EXPERIMENT_MS = 24 * 60 * 60 * 1000;
/** Policies per experiment. */
export const MAX_EXPERIMENT_POLICIES = 16;
/** The experiment's id is appended to each policy's name (`<name>-<id>`): 63 − 9 characters. */
export const MAX_EXPERIMENT_POLICY_NAME = 54;
/** Longest `for` of a stop condition. */
export const MAX_STOP_FOR_MS = 60 * 60 * 1000;

export const STOP_METRICS = ["errorRate", "latencyP50", "latencyP95", "latencyP99", "injected"] as const;
export type StopMetric = (typeof STOP_METRICS)[number];

export interface StopCondition {
  metric: StopMetric;
  /** The experiment stops when the metric is above this… */
  threshold: number;
  /** …at every evaluation for this long (0: at once). */
  forMs: number;
  /** As written, for reasons: `errorRate>0.5 for 10s`. */
  text: string;
}

export interface ExperimentRequest {
  name: string;
  policies: Policy[];
  durationMs: number;
  baselineMs: number;
  stopConditions: StopCondition[];
}

const unknownField = (issue: v.BaseIssue<unknown>) =>
  issue.expected === "never" ? `unknown field ${JSON.stringify(issue.input)}` : "must be an object";

const StopConditionSchema = v.strictObject(
  {
    metric: v.picklist(STOP_METRICS, `must be one of ${STOP_METRICS.join(", ")}`),
    threshold: v.pipe(v.number("must be a number"), v.minValue(0, "must be at least 0")),
    for: v.optional(v.string("must be a duration string such as 0s, 5s or 1m"), "0s"),
  },
  unknownField,
);

const RequestSchema = v.strictObject(
  {
    name: v.optional(
      v.pipe(v.string("must be a string"), maxCharacters(253, "must be at most 253 characters")),
      "",
    ),
    policies: v.pipe(
      v.array(v.unknown(), "must be an array of policies"),
      v.minLength(1, "must hold at least one policy"),
      v.maxLength(MAX_EXPERIMENT_POLICIES, `must hold at most ${MAX_EXPERIMENT_POLICIES} policies`),
    ),
    duration: v.string("must be a duration string such as 30s or 5m"),
    baseline: v.optional(v.string("must be a duration string such as 10s")),
    stopConditions: v.optional(
      v.pipe(
        v.array(StopConditionSchema, "must be an array"),
        v.maxLength(8, "must hold at most 8 conditions"),
      ),
      [],
    ),
  },
  unknownField,
);

/** Validates a decoded request body; InvalidInput naming the field otherwise. */
export function parseExperimentRequest(value: unknown): ExperimentRequest {
  const result = v.safeParse(RequestSchema, Array.isArray(value) ? null : value);
  if (!result.success) fail(toFieldIssues(result.issues));
  const body = result.output;
  const issues: FieldIssue[] = [];
  const durationMs = seconds(body.duration, "duration", 1000, MAX_EXPERIMENT_MS, issues);
  const baselineMs =
    body.baseline === undefined ? 0 : seconds(body.baseline, "baseline", 1000, MAX_BASELINE_MS, issues);
  const policies: Policy[] = [];
  const names = new Set<string>();
  body.policies.forEach((raw, i) => {
    const parsed = validatePolicy(raw);
    if (!parsed.success) {
      for (const issue of parsed.issues)
        issues.push({ ...issue, path: `policies[${i}]${issue.path ? `.${issue.path}` : ""}` });
      return;
    }
    const policy = parsed.output;
    const name = policy.metadata.name;
    if (name.length > MAX_EXPERIMENT_POLICY_NAME) {
      issues.push({
        path: `policies[${i}].metadata.name`,
        message: `must be at most ${MAX_EXPERIMENT_POLICY_NAME} characters in an experiment`,
      });
    }
    if (names.has(name))
      issues.push({ path: `policies[${i}].metadata.name`, message: `duplicate name ${name}` });
    names.add(name);
    // The experiment decides both: a dry run for the baseline, then the faults until its end.
    // A dry-run policy is an observer: it stays a dry run, to watch traffic the faults may affect.
    if (policy.spec.mode === "enforce") {
      issues.push({
        path: `policies[${i}].spec.mode`,
        message: "is set by the experiment; only dryRun (an observer) may be given",
      });
    }
    if (policy.spec.duration !== undefined)
      issues.push({ path: `policies[${i}].spec.duration`, message: "is set by the experiment" });
    policies.push(policy);
  });
  const stopConditions = body.stopConditions.map((c, i): StopCondition => {
    const forMs =
      c.for === "0s" ? 0 : seconds(c.for, `stopConditions[${i}].for`, 1000, MAX_STOP_FOR_MS, issues);
    if (c.metric === "errorRate" && c.threshold > 1) {
      issues.push({ path: `stopConditions[${i}].threshold`, message: "must be at most 1 for errorRate" });
    }
    return {
      metric: c.metric,
      threshold: c.threshold,
      forMs,
      text: `${c.metric}>${c.threshold} for ${c.for}`,
    };
  });
  if (issues.length > 0) fail(issues);
  return { name: body.name, policies, durationMs, baselineMs, stopConditions };
}

/** A whole number of seconds within bounds, in ms; an issue for `path` otherwise. */
function seconds(text: string, path: string, min: number, max: number, issues: FieldIssue[]): number {
  const parsed = parsePolicyDuration(text);
  if (!parsed.success) {
    issues.push({ path, message: parsed.message });
    return 0;
  }
  if (parsed.ms < min || parsed.ms > max) {
    issues.push({ path, message: `must be ${min / 1000}s to ${max / 1000}s` });
    return 0;
  }
  return parsed.ms;
}

function fail(issues: FieldIssue[]): never {
  const first = issues[0];
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
  throw new HfiError(
    "InvalidInput",
    `invalid experiment: ${first?.path ? `${first.path}: ` : ""}${first?.message}${more}`,
    issues,
  );
}
