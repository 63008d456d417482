import * as v from "valibot";

/**
 * The FaultInjectionPolicy resource (DESIGN §3), the subset the walking skeleton executes:
 * path exact|prefix, method, exact header matches, abort faults. Every object is strict, so a field
 * the filter would not honour is a 400, never silently dropped.
 */

export const POLICY_API_VERSION = "hfi.dev/v1alpha1";
export const POLICY_KIND = "FaultInjectionPolicy";
/** Largest abort body, in UTF-8 bytes. */
export const MAX_ABORT_BODY_BYTES = 64 * 1024;

/** A strict object whose key issues read "unknown field" / "required" rather than valibot's generic text. */
function strict<const T extends v.ObjectEntries>(entries: T) {
  return v.strictObject(entries, (issue) => {
    if (issue.expected === "never") return `unknown field ${JSON.stringify(issue.input)}`;
    if (issue.input === undefined) return "required";
    return `must be an object, not ${issue.received}`;
  });
}

function integerIn(min: number, max: number) {
  return v.pipe(
    v.number(),
    v.integer("must be an integer"),
    v.minValue(min, `must be at least ${min}`),
    v.maxValue(max, `must be at most ${max}`),
  );
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** RFC 9110 token characters without lower-case letters. */
const UPPER_CASE_METHOD = /^[A-Z0-9!#$%&'*+.^_`|~-]+$/;
/** RFC 9110 token: what a header field name may contain. */
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

const NameSchema = v.pipe(
  v.string(),
  v.maxLength(63, "must be at most 63 characters"),
  v.regex(
    DNS1123_LABEL,
    "must be a DNS-1123 label: lower-case letters, digits and '-', starting and ending alphanumeric",
  ),
);

const MetadataSchema = strict({
  name: NameSchema,
  // Set by the server; accepted so that `get -o yaml` output can be applied again.
  creationTimestamp: v.optional(v.pipe(v.string(), v.isoTimestamp("must be an RFC 3339 timestamp"))),
  resourceVersion: v.optional(v.pipe(v.string(), v.regex(/^\d+$/, "must be a decimal revision"))),
  generation: v.optional(integerIn(1, Number.MAX_SAFE_INTEGER)),
});

const UrlPathSchema = v.pipe(v.string(), v.startsWith("/", "must start with '/'"));

const PathMatchSchema = v.pipe(
  strict({ exact: v.optional(UrlPathSchema), prefix: v.optional(UrlPathSchema) }),
  v.check(
    (path) => (path.exact === undefined) !== (path.prefix === undefined),
    "exactly one of exact, prefix is required",
  ),
);

const MethodMatchSchema = strict({
  exact: v.pipe(
    v.string(),
    v.regex(UPPER_CASE_METHOD, "must be an upper-case HTTP method such as GET or POST"),
  ),
});

const HeaderMatchSchema = strict({
  name: v.pipe(v.string(), v.regex(HEADER_NAME, "must be an HTTP header name")),
  exact: v.string(),
});

const MatchSchema = strict({
  path: v.optional(PathMatchSchema),
  method: v.optional(MethodMatchSchema),
  headers: v.optional(v.array(HeaderMatchSchema)),
});

/** Whole hundredths: the filter samples in millionths, so 0.01% is the finest step that stays exact. */
const PercentageSchema = v.pipe(
  v.number(),
  v.minValue(0, "must be between 0 and 100"),
  v.maxValue(100, "must be between 0 and 100"),
  v.check((p) => Math.abs(p * 100 - Math.round(p * 100)) < 1e-6, "must have at most 2 decimal places"),
);

const AbortSchema = strict({
  httpStatus: integerIn(200, 599),
  body: v.optional(
    v.pipe(v.string(), v.maxBytes(MAX_ABORT_BODY_BYTES, `must be at most ${MAX_ABORT_BODY_BYTES} bytes`)),
    "",
  ),
});

const FaultSchema = strict({
  percentage: v.optional(PercentageSchema, 100),
  // Named rather than left to the strict-object check so the message says why.
  delay: v.optional(v.never("delay faults are not supported yet; use abort")),
  abort: AbortSchema,
});

const SpecSchema = strict({
  priority: v.optional(integerIn(-2_147_483_648, 2_147_483_647), 0),
  match: v.optional(MatchSchema),
  fault: FaultSchema,
});

export const PolicySchema = strict({
  apiVersion: v.literal(POLICY_API_VERSION, `must be "${POLICY_API_VERSION}"`),
  kind: v.literal(POLICY_KIND, `must be "${POLICY_KIND}"`),
  metadata: MetadataSchema,
  spec: SpecSchema,
});

/** A policy as a client writes it: defaults may be absent. */
export type PolicyInput = v.InferInput<typeof PolicySchema>;
/** A validated policy with defaults filled in. */
export type Policy = v.InferOutput<typeof PolicySchema>;
export type PolicySpec = Policy["spec"];
