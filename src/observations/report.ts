/**
 * The wire format of a filter's observation report (`POST /v1/observations`, docs/FILTER.md
 * "Observations"): per-policy deltas since the worker's previous report, numbered by `seq`.
 */
import * as v from "valibot";
import { toFieldIssues } from "../policy/index.ts";
import { HfiError } from "../store/index.ts";

/** Upper bounds, in ms, of the filter's latency buckets; a last bucket counts everything above. */
export const LATENCY_BOUNDS_MS = [
  1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000,
] as const;
export const LATENCY_BUCKETS = LATENCY_BOUNDS_MS.length + 1;
/** A report holds at most this many policies (the filter sends 64). */
export const MAX_REPORT_POLICIES = 256;
/** Largest report body accepted, in bytes. */
export const MAX_REPORT_BYTES = 1024 * 1024;

const count = v.pipe(
  v.number("must be a number"),
  v.integer("must be an integer"),
  v.minValue(0, "must be at least 0"),
);

const unknownField = (issue: v.BaseIssue<unknown>) =>
  issue.expected === "never" ? `unknown field ${JSON.stringify(issue.input)}` : "must be an object";

const PolicyReportSchema = v.strictObject(
  {
    name: v.pipe(
      v.string("must be a string"),
      v.minLength(1, "must not be empty"),
      v.maxLength(253, "must be at most 253 characters"),
    ),
    matched: count,
    aborts: count,
    delays: count,
    dryRun: count,
    statuses: v.pipe(
      v.record(v.pipe(v.string(), v.regex(/^\d{1,3}$/, "must be a status code")), count),
      v.check((s) => Object.keys(s).length <= 64, "must hold at most 64 status codes"),
    ),
    otherStatuses: count,
    latencyBuckets: v.pipe(v.array(count), v.length(LATENCY_BUCKETS, `must have ${LATENCY_BUCKETS} buckets`)),
    latencySumUs: count,
  },
  unknownField,
);

export const ReportSchema = v.strictObject(
  {
    seq: v.pipe(count, v.minValue(1, "must be at least 1")),
    policies: v.pipe(
      v.array(PolicyReportSchema),
      v.maxLength(MAX_REPORT_POLICIES, `must hold at most ${MAX_REPORT_POLICIES} policies`),
    ),
  },
  unknownField,
);

export type Report = v.InferOutput<typeof ReportSchema>;
export type PolicyReport = Report["policies"][number];

/** Parses and validates a report body; InvalidInput naming the field otherwise. */
export function parseReport(text: string): Report {
  if (text.length > MAX_REPORT_BYTES) {
    throw new HfiError("PayloadTooLarge", `observation report exceeds ${MAX_REPORT_BYTES} bytes`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new HfiError("InvalidInput", `malformed JSON: ${(err as Error).message}`, [
      { path: "", message: (err as Error).message },
    ]);
  }
  const result = v.safeParse(ReportSchema, Array.isArray(value) ? null : value);
  if (result.success) return result.output;
  const issues = toFieldIssues(result.issues);
  const first = issues[0];
  throw new HfiError(
    "InvalidInput",
    `invalid observation report: ${first?.path ? `${first.path}: ` : ""}${first?.message}`,
    issues,
  );
}
