import * as v from "valibot";
import { compileRegex, MAX_DFA_STATES, MAX_REGEX_LENGTH, searchAnywhere } from "../regex/index.ts";
import { GO_DURATION, parseDelay, parsePolicyDuration } from "./duration.ts";
import { GRPC_STATUS_NAMES, grpcStatusCode, MAX_GRPC_STATUS, MIN_GRPC_STATUS } from "./grpc-status.ts";
import type { JsonSchema } from "./json-schema.ts";
import { maxCharacters } from "./unicode.ts";

/**
 * The FaultInjectionPolicy resource (every field in docs/API_REFERENCE.md). Every object
 * is strict, so a field the filter would not honour is a 400, never silently dropped. Regexes are
 * compiled here already, so a policy that validates always compiles into a RuleSet.
 */

export const POLICY_API_VERSION = "hfi.dev/v1alpha1";
export const POLICY_KIND = "FaultInjectionPolicy";
/** Largest abort body, in UTF-8 bytes. */
export const MAX_ABORT_BODY_BYTES = 64 * 1024;
/** Most header conditions in one policy; each may be a regex, and regexes cost time to compile. */
export const MAX_HEADER_CONDITIONS = 32;
/** Longest `path.exact` and `path.prefix`, in characters (Envoy's own request-header limit is 60 KiB). */
export const MAX_PATH_LENGTH = 4096;
/** Longest header name in a condition, in characters. */
export const MAX_HEADER_NAME_LENGTH = 256;
/** Longest `exact` or `prefix` header value in a condition, in characters. */
export const MAX_HEADER_VALUE_LENGTH = 8192;
/** Most status codes in `spec.match.response.status.codes`. */
export const MAX_STATUS_CODES = 32;
/** Most headers a response fault sets, and most it removes. */
export const MAX_RESPONSE_HEADER_EDITS = 32;
/** How much of a request body a body condition reads by default, and at most (`maxBytes`). */
export const DEFAULT_BODY_MATCH_BYTES = 16 * 1024;
export const MAX_BODY_MATCH_BYTES = 64 * 1024;
/** Most members in a body condition's JSON path, and its longest spelling. */
export const MAX_JSON_PATH_SEGMENTS = 16;
const MAX_JSON_PATH_LENGTH = 256;
/** Longest method, duration, timestamp or revision string: far more than any valid one needs. */
const MAX_TOKEN_LENGTH = 64;
/** Most labels in `spec.selector.matchLabels`. */
export const MAX_SELECTOR_LABELS = 64;
/** Longest `spec.selector.service` and `spec.match.host` value: a DNS name's limit. */
export const MAX_NAME_LENGTH = 253;

/** A strict object whose key issues read "unknown field" / "required" rather than valibot's generic text. */
function strict<const T extends v.ObjectEntries>(entries: T) {
  return v.strictObject(entries, (issue) => {
    if (issue.expected === "never") return `unknown field ${JSON.stringify(issue.input)}`;
    if (issue.input === undefined) return "required";
    return `must be an object, not ${issue.received}`;
  });
}

/** Every string field is bounded, so that no field can carry more than it needs. */
function stringOfAtMost(max: number) {
  return v.pipe(v.string(), maxCharacters(max, `must be at most ${max} characters`));
}

function integerIn(min: number, max: number) {
  return v.pipe(
    v.number(),
    v.integer("must be an integer"),
    v.minValue(min, `must be at least ${min}`),
    v.maxValue(max, `must be at most ${max}`),
  );
}

/** A check for a Kubernetes structural schema, in CEL, where JSON Schema's form is not allowed there. */
function celRule(rule: string, message: string, fieldPath?: string) {
  return celRules([rule, message, fieldPath]);
}

/** Several CEL checks on one value, each `[rule, message, fieldPath?]`. */
function celRules(...rules: [rule: string, message: string, fieldPath?: string][]) {
  return {
    "x-kubernetes-validations": rules.map(([rule, message, fieldPath]) => ({
      rule,
      message,
      ...(fieldPath && { fieldPath }),
    })),
  };
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** RFC 9110 token characters without lower-case letters. */
const UPPER_CASE_METHOD = /^[A-Z0-9!#$%&'*+.^_`|~-]+$/;
/** RFC 9110 token: what a header field name may contain. */
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/** `metadata.name`, which is also the policy's name in URLs. */
export const PolicyNameSchema = v.pipe(
  stringOfAtMost(63),
  v.regex(
    DNS1123_LABEL,
    "must be a DNS-1123 label: lower-case letters, digits and '-', starting and ending alphanumeric",
  ),
);

/** A Kubernetes namespace's name: a DNS-1123 label. */
export const NamespaceNameSchema = v.pipe(
  v.string(),
  v.minLength(1, "must not be empty"),
  maxCharacters(63, "must be at most 63 characters"),
  v.regex(DNS1123_LABEL, "must be a Kubernetes namespace: a DNS-1123 label"),
);

const MetadataSchema = strict({
  name: PolicyNameSchema,
  // Where the policy lives; absent: the namespace the request names, or the control plane's.
  namespace: v.optional(NamespaceNameSchema),
  // Set by the server; accepted so that `get -o yaml` output can be applied again.
  creationTimestamp: v.optional(
    v.pipe(stringOfAtMost(MAX_TOKEN_LENGTH), v.isoTimestamp("must be an RFC 3339 timestamp")),
  ),
  resourceVersion: v.optional(
    v.pipe(stringOfAtMost(MAX_TOKEN_LENGTH), v.regex(/^\d+$/, "must be a decimal revision")),
  ),
  generation: v.optional(integerIn(1, Number.MAX_SAFE_INTEGER)),
});

const UrlPathSchema = v.pipe(stringOfAtMost(MAX_PATH_LENGTH), v.startsWith("/", "must start with '/'"));

const RegexSchema = v.pipe(
  v.string(),
  maxCharacters(MAX_REGEX_LENGTH, `must be at most ${MAX_REGEX_LENGTH} characters`),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const result = compileRegex(dataset.value);
    if (!result.success) addIssue({ message: result.message });
  }),
  v.description(
    "RE2-compatible regular expression (JavaScript Unicode-mode syntax), matched against the whole value. " +
      "No backreferences, lookaround or word boundaries; a leading (?i) ignores case; at most " +
      `${MAX_DFA_STATES} states once compiled to a minimised DFA.`,
  ),
);

/**
 * A strict object with exactly one of `keys` given. The check is for valibot; the metadata tells the
 * JSON Schema generator the same rule, which it cannot read from a function.
 */
function strictWithOneOf<const T extends v.ObjectEntries>(entries: T, keys: readonly (keyof T & string)[]) {
  return v.pipe(
    strict(entries),
    v.check(
      (value) => keys.filter((key) => value[key] !== undefined).length === 1,
      `exactly one of ${keys.join(", ")} is required`,
    ),
    v.metadata({ jsonSchema: { oneOf: keys.map((key) => ({ required: [key] })) } }),
  );
}

const PathMatchSchema = strictWithOneOf(
  {
    exact: v.optional(UrlPathSchema),
    prefix: v.optional(UrlPathSchema),
    regex: v.optional(RegexSchema),
  },
  ["exact", "prefix", "regex"],
);

const MethodMatchSchema = strict({
  exact: v.pipe(
    stringOfAtMost(MAX_TOKEN_LENGTH),
    v.regex(UPPER_CASE_METHOD, "must be an upper-case HTTP method such as GET or POST"),
  ),
});

const HeaderMatchSchema = strictWithOneOf(
  {
    name: v.pipe(stringOfAtMost(MAX_HEADER_NAME_LENGTH), v.regex(HEADER_NAME, "must be an HTTP header name")),
    exact: v.optional(stringOfAtMost(MAX_HEADER_VALUE_LENGTH)),
    prefix: v.optional(stringOfAtMost(MAX_HEADER_VALUE_LENGTH)),
    regex: v.optional(RegexSchema),
    present: v.optional(v.literal(true, "must be true: a condition on an absent header is not supported")),
  },
  ["exact", "prefix", "regex", "present"],
);

/** Counted before the items are validated, so an oversized list costs nothing to refuse. */
const HeadersSchema = v.pipe(
  v.array(v.unknown()),
  v.maxLength(MAX_HEADER_CONDITIONS, `must have at most ${MAX_HEADER_CONDITIONS} conditions`),
  v.array(HeaderMatchSchema),
);

/** An RFC 3986 host without port: a reg-name, or an IP literal in brackets, as the filter cuts `:authority`. */
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()+,;=%]+)$/;

const HostNameSchema = v.pipe(
  v.string(),
  v.minLength(1, "must not be empty"),
  maxCharacters(MAX_NAME_LENGTH, `must be at most ${MAX_NAME_LENGTH} characters`),
  // Envoy's and Istio's wildcard spelling, said the way this field says it.
  v.check(
    (host) => !host.startsWith("*."),
    (issue) =>
      `is a wildcard: for every host under ${issue.input.slice(2)} write suffix: .${issue.input.slice(2)}`,
  ),
  v.regex(HOST, "must be a host name without port, such as reviews or api.example.com"),
);

/** Compared without regard to ASCII case, against the request's authority without its port. */
const HostMatchSchema = strictWithOneOf(
  {
    exact: v.optional(HostNameSchema),
    suffix: v.optional(
      v.pipe(
        HostNameSchema,
        v.description("The host ends with this, as .example.com for every host under example.com."),
      ),
    ),
    regex: v.optional(RegexSchema),
  },
  ["exact", "suffix", "regex"],
);

/** The upstream's status: one of `codes`, or from `min` to `max` (both included). */
const ResponseStatusMatchSchema = v.pipe(
  strict({
    codes: v.optional(
      v.pipe(
        v.array(integerIn(100, 599)),
        v.minLength(1, "must list at least one status code"),
        v.maxLength(MAX_STATUS_CODES, `must list at most ${MAX_STATUS_CODES} status codes`),
      ),
    ),
    min: v.optional(integerIn(100, 599)),
    max: v.optional(integerIn(100, 599)),
  }),
  v.check(
    (status) =>
      status.codes !== undefined
        ? status.min === undefined && status.max === undefined
        : status.min !== undefined && status.max !== undefined,
    "exactly one of codes, or min with max, is required",
  ),
  v.forward(
    v.check((status) => (status.min ?? 0) <= (status.max ?? 599), "must not be less than min"),
    ["max"],
  ),
  v.metadata({
    jsonSchema: {
      oneOf: [
        { required: ["codes"], not: { anyOf: [{ required: ["min"] }, { required: ["max"] }] } },
        { required: ["min", "max"], not: { required: ["codes"] } },
      ],
    },
    kubernetesSchema: celRules(
      [
        "has(self.codes) ? !has(self.min) && !has(self.max) : has(self.min) && has(self.max)",
        "exactly one of codes, or min with max, is required",
      ],
      ["!has(self.min) || !has(self.max) || self.min <= self.max", "must not be less than min", ".max"],
    ),
  }),
);

/** Conditions on the upstream's response: they decide whether a response fault applies, never the match. */
const ResponseMatchSchema = v.pipe(
  strict({
    status: v.optional(ResponseStatusMatchSchema),
    headers: v.optional(HeadersSchema),
  }),
  v.check(
    (match) => match.status !== undefined || match.headers !== undefined,
    "at least one of status, headers is required",
  ),
  v.metadata({ jsonSchema: { anyOf: [{ required: ["status"] }, { required: ["headers"] }] } }),
);

/** A regex looked for anywhere in the body: its DFA has the leading `[\s\S]*` it will be walked with. */
const BodyRegexSchema = v.pipe(
  v.string(),
  maxCharacters(MAX_REGEX_LENGTH, `must be at most ${MAX_REGEX_LENGTH} characters`),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const result = compileRegex(searchAnywhere(dataset.value));
    if (!result.success) addIssue({ message: result.message });
  }),
  v.description(
    "RE2-compatible regular expression (JavaScript Unicode-mode syntax) found anywhere in the body. " +
      "No backreferences, lookaround, word boundaries or anchors; a leading (?i) ignores case; at most " +
      `${MAX_DFA_STATES} states once compiled, with its leading search loop, to a minimised DFA.`,
  ),
);

/**
 * `user.tier`, `items.0.sku`: object members, or array indexes in decimal; at most
 * MAX_JSON_PATH_SEGMENTS. Segments exclude `.`, spaces and ASCII controls, spelled out because `\s`
 * differs between the regex engines that read the schema.
 */
const JSON_PATH = new RegExp(`^[^.\\x00-\\x20]+(?:\\.[^.\\x00-\\x20]+){0,${MAX_JSON_PATH_SEGMENTS - 1}}$`);

const JsonBodyMatchSchema = strictWithOneOf(
  {
    path: v.pipe(
      stringOfAtMost(MAX_JSON_PATH_LENGTH),
      v.regex(
        JSON_PATH,
        `must be a dotted path of at most ${MAX_JSON_PATH_SEGMENTS} segments, such as user.tier or items.0.sku`,
      ),
    ),
    exact: v.optional(
      v.pipe(
        stringOfAtMost(MAX_HEADER_VALUE_LENGTH),
        v.description("The value at path: a string's content, any other value as its JSON text (42, true)."),
      ),
    ),
    regex: v.optional(RegexSchema),
  },
  ["exact", "regex"],
);

/**
 * A condition on the request body's first `maxBytes`: false for a longer body, or none. The filter
 * waits for the body only when the rule's other conditions hold.
 */
const BodyMatchSchema = strictWithOneOf(
  {
    contains: v.optional(
      v.pipe(
        stringOfAtMost(MAX_HEADER_VALUE_LENGTH),
        v.minLength(1, "must not be empty"),
        v.description("UTF-8 bytes found anywhere in the body."),
      ),
    ),
    regex: v.optional(BodyRegexSchema),
    json: v.optional(JsonBodyMatchSchema),
    maxBytes: v.optional(
      v.pipe(
        integerIn(1, MAX_BODY_MATCH_BYTES),
        v.description(
          `The longest body the condition reads (default ${DEFAULT_BODY_MATCH_BYTES}); a longer body does not match.`,
        ),
      ),
    ),
  },
  ["contains", "regex", "json"],
);

const MatchSchema = strict({
  host: v.optional(HostMatchSchema),
  path: v.optional(PathMatchSchema),
  method: v.optional(MethodMatchSchema),
  headers: v.optional(HeadersSchema),
  body: v.optional(BodyMatchSchema),
  response: v.optional(ResponseMatchSchema),
});

/**
 * Whole hundredths: the filter samples in millionths, so 0.01% is the finest step that stays exact.
 * The number must be the one a decimal with at most two places reads as, nothing a rounding away
 * (99.99999999999999 is not 100, 5e-324 is not 0).
 */
const PercentageSchema = v.pipe(
  v.number(),
  v.minValue(0, "must be between 0 and 100"),
  v.maxValue(100, "must be between 0 and 100"),
  v.check((p) => Math.round(p * 100) / 100 === p, "must have at most 2 decimal places"),
  v.metadata({
    jsonSchema: { multipleOf: 0.01 },
    // The API server's multipleOf divides in floating point (0.07 / 0.01 is not whole there).
    kubernetesSchema: celRule(
      "double(int(self * 100.0 + 0.5)) - self * 100.0 < 0.000001 && self * 100.0 - double(int(self * 100.0 + 0.5)) < 0.000001",
      "must have at most 2 decimal places",
    ),
  }),
  v.description("Percent of matching requests to fault, in steps of 0.01."),
);

/**
 * The JSON Schema of a duration: the Go syntax, as one of two alternatives. "A whole number of
 * milliseconds (or seconds) within bounds" is arithmetic on a sum of decimal components, which JSON
 * Schema cannot state; the other alternative names the plainest valid durations. The union is still
 * every Go duration, but a generator that picks alternatives (a fuzzer's) produces accepted ones too.
 */
function plainestFirst(plainest: string) {
  return v.metadata<string, { jsonSchema: JsonSchema }>({
    jsonSchema: { anyOf: [{ pattern: plainest }, { pattern: GO_DURATION.source }] },
  });
}

const DurationSchema = v.pipe(
  v.string("must be a duration string such as 100ms, 2s or 1m30s"),
  maxCharacters(MAX_TOKEN_LENGTH, `must be at most ${MAX_TOKEN_LENGTH} characters`),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    // Syntax included: the JSON Schema states it as plainestFirst's anyOf.
    const result = parseDelay(dataset.value);
    if (!result.success) addIssue({ message: result.message });
  }),
  plainestFirst("^[1-9][0-9]{0,5}ms$"),
  v.description("Go-style duration (100ms, 2s, 1m30s), a whole number of milliseconds from 1ms to 1h."),
);

/** Delays as milliseconds for the cross-field checks; validated durations always parse. */
const delayMs = (text: string): number => {
  const result = parseDelay(text);
  return result.success ? result.ms : Number.NaN;
};

/** Every delay from `min` to `max` (both included, whole milliseconds) equally likely. */
const UniformDelaySchema = v.pipe(
  strict({ min: DurationSchema, max: DurationSchema }),
  v.forward(
    v.check((d) => delayMs(d.min) <= delayMs(d.max), "must not be less than min"),
    ["max"],
  ),
  // CEL's duration() reads Go durations, the syntax DurationSchema accepts.
  v.metadata({
    kubernetesSchema: celRule(
      "duration(self.min) <= duration(self.max)",
      "must not be less than min",
      ".max",
    ),
  }),
);

/**
 * A log-normal delay given by two quantiles, the form latency is quoted in ("p50 20ms, p99 300ms"):
 * the median and the 99th percentile of the delays drawn.
 */
const LognormalDelaySchema = v.pipe(
  strict({ p50: DurationSchema, p99: DurationSchema }),
  v.forward(
    v.check(
      (d) => delayMs(d.p50) < delayMs(d.p99),
      "must be more than p50 (for a delay that does not vary, use fixedDelay)",
    ),
    ["p99"],
  ),
  v.metadata({
    kubernetesSchema: celRule(
      "duration(self.p50) < duration(self.p99)",
      "must be more than p50 (for a delay that does not vary, use fixedDelay)",
      ".p99",
    ),
  }),
);

const DelaySchema = strictWithOneOf(
  {
    fixedDelay: v.optional(DurationSchema),
    uniform: v.optional(UniformDelaySchema),
    lognormal: v.optional(LognormalDelaySchema),
  },
  ["fixedDelay", "uniform", "lognormal"],
);

/** Statuses whose responses never have a body (RFC 9110): one sent anyway breaks the client's connection. */
export const BODYLESS_STATUSES: readonly number[] = [204, 304];

/** A gRPC status code 1..16 or its name; kept as written, compiled to the code. */
const GrpcStatusSchema = v.pipe(
  v.unknown(),
  v.check(
    (value) => grpcStatusCode(value) !== undefined,
    `must be a gRPC status name (${GRPC_STATUS_NAMES.join(", ")}) or code ${MIN_GRPC_STATUS}..${MAX_GRPC_STATUS}`,
  ),
  v.metadata({
    jsonSchema: {
      oneOf: [
        { type: "string", enum: GRPC_STATUS_NAMES },
        { type: "integer", minimum: MIN_GRPC_STATUS, maximum: MAX_GRPC_STATUS },
      ],
    },
    // A structural schema types a name-or-number only as int-or-string, with exactly this anyOf.
    kubernetesSchema: {
      "x-kubernetes-int-or-string": true,
      anyOf: [{ type: "integer" }, { type: "string" }],
      ...celRule(
        `type(self) == int ? self >= ${MIN_GRPC_STATUS} && self <= ${MAX_GRPC_STATUS} : self in [${GRPC_STATUS_NAMES.map((name) => `'${name}'`).join(", ")}]`,
        `must be a gRPC status name (${GRPC_STATUS_NAMES.join(", ")}) or code ${MIN_GRPC_STATUS}..${MAX_GRPC_STATUS}`,
      ),
    },
  }),
);

const AbortTextSchema = (what: string) =>
  v.pipe(
    v.string(),
    v.maxBytes(MAX_ABORT_BODY_BYTES, `must be at most ${MAX_ABORT_BODY_BYTES} bytes`),
    v.description(`${what}, at most ${MAX_ABORT_BODY_BYTES} UTF-8 bytes.`),
  );

/** An HTTP abort (`httpStatus`, `body`) or a gRPC one (`grpcStatus`, `grpcMessage`). */
const AbortSchema = v.pipe(
  strict({
    httpStatus: v.optional(integerIn(200, 599)),
    body: v.optional(AbortTextSchema("Response body; empty for httpStatus 204 and 304"), ""),
    grpcStatus: v.optional(GrpcStatusSchema),
    grpcMessage: v.optional(AbortTextSchema("The grpc-message of a gRPC abort")),
  }),
  v.check(
    (abort) => (abort.httpStatus === undefined) !== (abort.grpcStatus === undefined),
    "exactly one of httpStatus, grpcStatus is required",
  ),
  v.forward(
    v.check(
      (abort) => abort.body === "" || abort.httpStatus !== undefined,
      "must not be set with grpcStatus: a gRPC abort's text is grpcMessage",
    ),
    ["body"],
  ),
  v.forward(
    v.check(
      (abort) => abort.grpcMessage === undefined || abort.grpcStatus !== undefined,
      "must not be set without grpcStatus",
    ),
    ["grpcMessage"],
  ),
  v.forward(
    v.check(
      (abort) => abort.body === "" || !BODYLESS_STATUSES.includes(abort.httpStatus ?? 0),
      (issue) => `must be empty with httpStatus ${issue.input.httpStatus}: such a response has no body`,
    ),
    ["body"],
  ),
  v.metadata({
    jsonSchema: {
      oneOf: [{ required: ["httpStatus"] }, { required: ["grpcStatus"] }],
      // biome-ignore-start lint/suspicious/noThenProperty: JSON Schema's if/then, not a promise
      allOf: [
        {
          if: { properties: { httpStatus: { enum: BODYLESS_STATUSES } }, required: ["httpStatus"] },
          then: { properties: { body: { maxLength: 0 } } },
        },
        { if: { required: ["grpcStatus"] }, then: { properties: { body: { maxLength: 0 } } } },
        { if: { required: ["grpcMessage"] }, then: { required: ["grpcStatus"] } },
      ],
      // biome-ignore-end lint/suspicious/noThenProperty: JSON Schema's if/then, not a promise
    },
    kubernetesSchema: {
      oneOf: [{ required: ["httpStatus"] }, { required: ["grpcStatus"] }],
      ...celRules(
        [
          `!has(self.httpStatus) || !(self.httpStatus in [${BODYLESS_STATUSES.join(", ")}]) || !has(self.body) || self.body == ''`,
          `must be empty with httpStatus ${BODYLESS_STATUSES.join(" or ")}: such a response has no body`,
          ".body",
        ],
        [
          "!has(self.grpcStatus) || !has(self.body) || self.body == ''",
          "must not be set with grpcStatus: a gRPC abort's text is grpcMessage",
          ".body",
        ],
        [
          "!has(self.grpcMessage) || has(self.grpcStatus)",
          "must not be set without grpcStatus",
          ".grpcMessage",
        ],
      ),
    },
  }),
);

/**
 * Response headers a fault may not set or remove: the connection's framing (Envoy and the codecs own
 * it, and the body that follows is the upstream's), and the header the filter writes itself.
 */
export const RESERVED_RESPONSE_HEADERS: readonly string[] = [
  "connection",
  "content-length",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "x-hfi-fault",
];

const ResponseHeaderNameSchema = v.pipe(
  stringOfAtMost(MAX_HEADER_NAME_LENGTH),
  v.regex(HEADER_NAME, "must be an HTTP header name"),
  v.check(
    (name) => !RESERVED_RESPONSE_HEADERS.includes(name.toLowerCase()),
    (issue) =>
      `must not be ${issue.input}: ${issue.input.toLowerCase() === "x-hfi-fault" ? "the filter sets it" : "the proxy keeps the response's framing and connection headers right itself"}`,
  ),
  v.metadata({
    jsonSchema: { pattern: HEADER_NAME.source, not: { enum: RESERVED_RESPONSE_HEADERS } },
    kubernetesSchema: celRule(
      `!(self.lowerAscii() in [${RESERVED_RESPONSE_HEADERS.map((name) => `'${name}'`).join(", ")}])`,
      `must not be one of ${RESERVED_RESPONSE_HEADERS.join(", ")}: the proxy and the filter own them`,
    ),
  }),
);

/** RFC 9110 field value: visible ASCII and inner spaces or tabs. */
const HEADER_VALUE = /^(?:[\x21-\x7e](?:[\x20-\x7e\t]*[\x21-\x7e])?)?$/;

const ResponseHeadersSchema = strict({
  set: v.optional(
    v.pipe(
      v.array(
        strict({
          name: ResponseHeaderNameSchema,
          value: v.pipe(
            stringOfAtMost(MAX_HEADER_VALUE_LENGTH),
            v.regex(HEADER_VALUE, "must be a header value: visible ASCII, inner spaces and tabs"),
          ),
        }),
      ),
      v.maxLength(MAX_RESPONSE_HEADER_EDITS, `must have at most ${MAX_RESPONSE_HEADER_EDITS} headers`),
      v.description("Headers set on the response, each replacing every value of its name."),
    ),
  ),
  remove: v.optional(
    v.pipe(
      v.array(ResponseHeaderNameSchema),
      v.maxLength(MAX_RESPONSE_HEADER_EDITS, `must have at most ${MAX_RESPONSE_HEADER_EDITS} headers`),
      v.description("Names of headers taken off the response (every value), before `set` is applied."),
    ),
  ),
});

/** Deepest nesting of objects and arrays in a merge patch (the filter reads JSON up to 32 levels). */
export const MAX_MERGE_PATCH_DEPTH = 16;

function nestingDepth(value: unknown): number {
  if (typeof value !== "object" || value === null) return 0;
  return 1 + Math.max(0, ...Object.values(value).map(nestingDepth));
}

/** An RFC 7386 merge patch: an object whose members are set in a JSON body (null removes one). */
const MergePatchSchema = v.pipe(
  v.unknown(),
  v.check(
    (patch) => typeof patch === "object" && patch !== null && !Array.isArray(patch),
    "must be an object, an RFC 7386 merge patch (to replace the whole body, use body)",
  ),
  v.check(
    (patch) => new TextEncoder().encode(JSON.stringify(patch)).length <= MAX_ABORT_BODY_BYTES,
    `must be at most ${MAX_ABORT_BODY_BYTES} bytes as JSON`,
  ),
  v.check(
    (patch) => nestingDepth(patch) <= MAX_MERGE_PATCH_DEPTH,
    `must nest objects and arrays at most ${MAX_MERGE_PATCH_DEPTH} deep`,
  ),
  v.metadata({
    jsonSchema: { type: "object" },
    kubernetesSchema: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
  }),
);

/** What happens to the upstream's response of a faulted request (spec.match.response may narrow it). */
const ResponseFaultSchema = v.pipe(
  strict({
    status: v.optional(
      v.pipe(
        integerIn(200, 599),
        v.check(
          (status) => !BODYLESS_STATUSES.includes(status),
          (issue) => `must not be ${issue.input}: the upstream's body would still follow`,
        ),
        v.metadata({
          jsonSchema: { not: { enum: BODYLESS_STATUSES } },
          kubernetesSchema: celRule(
            `!(self in [${BODYLESS_STATUSES.join(", ")}])`,
            `must not be ${BODYLESS_STATUSES.join(" or ")}: the upstream's body would still follow`,
          ),
        }),
        v.description("The status code the client gets instead of the upstream's."),
      ),
    ),
    headers: v.optional(ResponseHeadersSchema),
    delay: v.optional(DelaySchema),
    body: v.optional(AbortTextSchema("The body the client gets instead of the upstream's")),
    jsonPatch: v.optional(MergePatchSchema),
  }),
  v.check(
    (response) =>
      response.status !== undefined ||
      response.headers !== undefined ||
      response.delay !== undefined ||
      response.body !== undefined ||
      response.jsonPatch !== undefined,
    "at least one of status, headers, delay, body, jsonPatch is required",
  ),
  v.forward(
    v.check(
      (response) => response.body === undefined || response.jsonPatch === undefined,
      "must not be set with body: body replaces the whole body already",
    ),
    ["jsonPatch"],
  ),
  v.metadata({
    jsonSchema: {
      anyOf: [
        { required: ["status"] },
        { required: ["headers"] },
        { required: ["delay"] },
        { required: ["body"] },
        { required: ["jsonPatch"] },
      ],
      not: { required: ["body", "jsonPatch"] },
    },
    kubernetesSchema: {
      anyOf: [
        { required: ["status"] },
        { required: ["headers"] },
        { required: ["delay"] },
        { required: ["body"] },
        { required: ["jsonPatch"] },
      ],
      ...celRule(
        "!has(self.body) || !has(self.jsonPatch)",
        "must not be set with body: body replaces the whole body already",
        ".jsonPatch",
      ),
    },
  }),
);

/**
 * With both, the delay runs first, then the abort (as Envoy and Istio do). A response fault applies
 * to the upstream's answer, so an abort (which answers the request itself) cannot have one.
 */
const FaultSchema = v.pipe(
  strict({
    percentage: v.optional(PercentageSchema, 100),
    delay: v.optional(DelaySchema),
    abort: v.optional(AbortSchema),
    response: v.optional(ResponseFaultSchema),
  }),
  v.check(
    (fault) => fault.delay !== undefined || fault.abort !== undefined || fault.response !== undefined,
    "at least one of delay, abort, response is required",
  ),
  v.forward(
    v.check(
      (fault) => fault.response === undefined || fault.abort === undefined,
      "must not be set with abort: an aborted request gets no response from the upstream",
    ),
    ["response"],
  ),
  v.metadata({
    jsonSchema: {
      anyOf: [{ required: ["delay"] }, { required: ["abort"] }, { required: ["response"] }],
      not: { required: ["abort", "response"] },
    },
    kubernetesSchema: {
      anyOf: [{ required: ["delay"] }, { required: ["abort"] }, { required: ["response"] }],
      ...celRule(
        "!has(self.abort) || !has(self.response)",
        "must not be set with abort: an aborted request gets no response from the upstream",
        ".response",
      ),
    },
  }),
);

/** `enforce` injects; `dryRun` only evaluates and counts matches. Absent means `enforce`. */
export const POLICY_MODES = ["enforce", "dryRun"] as const;
export type PolicyMode = (typeof POLICY_MODES)[number];

const ModeSchema = v.pipe(
  v.picklist(POLICY_MODES, `must be one of ${POLICY_MODES.map((m) => `"${m}"`).join(", ")}`),
  v.description(
    "enforce (the default) injects the fault; dryRun only evaluates the rule and counts matches.",
  ),
);

const PolicyDurationSchema = v.pipe(
  v.string("must be a duration string such as 30s, 10m or 2h"),
  maxCharacters(MAX_TOKEN_LENGTH, `must be at most ${MAX_TOKEN_LENGTH} characters`),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const result = parsePolicyDuration(dataset.value);
    if (!result.success) addIssue({ message: result.message });
  }),
  plainestFirst("^[1-9][0-9]{0,4}s$"),
  v.description(
    "How long the policy lives after each apply (Go-style duration, whole seconds, 1s to 168h). " +
      "The server sets status.expiresAt and deletes the policy then.",
  ),
);

/** Kubernetes label name: alphanumeric at both ends, `-`, `_`, `.` inside, at most 63 characters. */
const LABEL_NAME_PATTERN = "[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?";
const DNS1123_SUBDOMAIN_PATTERN = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const LABEL_NAME = new RegExp(`^${LABEL_NAME_PATTERN}$`);
const DNS1123_SUBDOMAIN = new RegExp(`^${DNS1123_SUBDOMAIN_PATTERN}$`);
const MAX_LABEL_PREFIX = 253;
/**
 * What JSON Schema can state of a label key: its form and its whole length. The prefix's own bound
 * of 253 characters is beyond it (a pattern cannot count one part without lookarounds).
 */
const LABEL_KEY_JSON_SCHEMA = {
  pattern: `^(${DNS1123_SUBDOMAIN_PATTERN}/)?${LABEL_NAME_PATTERN}$`,
  maxLength: MAX_LABEL_PREFIX + 1 + 63,
};

/** A Kubernetes label key, `[prefix/]name`: why it is not one, or undefined when it is. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf("/");
  const [prefix, name] = slash < 0 ? [undefined, key] : [key.slice(0, slash), key.slice(slash + 1)];
  if (prefix !== undefined && !DNS1123_SUBDOMAIN.test(prefix)) {
    return "must be a label key: its prefix before '/' must be a DNS-1123 subdomain";
  }
  if (prefix !== undefined && prefix.length > MAX_LABEL_PREFIX) {
    return `must be a label key: its prefix before '/' must be at most ${MAX_LABEL_PREFIX} characters`;
  }
  if (!LABEL_NAME.test(name)) {
    return "must be a label key: at most 63 characters, alphanumeric at both ends, '-', '_', '.' inside";
  }
  return undefined;
}

const LabelValueSchema = v.pipe(
  v.string(),
  maxCharacters(63, "must be at most 63 characters"),
  v.regex(
    /^$|^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/,
    "must be a label value: alphanumeric at both ends, '-', '_', '.' inside",
  ),
);

const MatchLabelsSchema = v.pipe(
  // Not v.record alone: it would take an array for an object of its indices.
  v.custom<Record<string, unknown>>(
    (input) => typeof input === "object" && input !== null && !Array.isArray(input),
    "must be an object of label key → value",
  ),
  v.check(
    (labels) => Object.keys(labels).length <= MAX_SELECTOR_LABELS,
    `must have at most ${MAX_SELECTOR_LABELS} labels`,
  ),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    for (const key of Object.keys(dataset.value)) {
      const problem = labelKeyProblem(key);
      if (problem)
        addIssue({
          message: problem,
          path: [{ type: "object", origin: "key", input: dataset.value, key, value: dataset.value[key] }],
        });
    }
  }),
  v.record(v.string(), LabelValueSchema),
  v.metadata({
    jsonSchema: { maxProperties: MAX_SELECTOR_LABELS, propertyNames: LABEL_KEY_JSON_SCHEMA },
    // A structural schema has no propertyNames: the leader reports a bad key in `Accepted`.
    kubernetesSchema: { maxProperties: MAX_SELECTOR_LABELS },
  }),
  v.description(
    "Kubernetes-style labels the proxy must all carry: keys [prefix/]name, values at most 63 characters.",
  ),
);

/** Which proxies receive the policy; every condition given must hold. Absent: every proxy. */
const SelectorSchema = strict({
  service: v.optional(
    v.pipe(
      v.string(),
      v.minLength(1, 'must not be empty: leave service out, or write "*", to select every service'),
      maxCharacters(MAX_NAME_LENGTH, `must be at most ${MAX_NAME_LENGTH} characters`),
      v.regex(/^[\x21-\x7e]*$/, "must be visible ASCII without spaces"),
      v.description('The proxy\'s service, compared exactly; "*" is any service.'),
    ),
  ),
  namespace: v.optional(NamespaceNameSchema),
  matchLabels: v.optional(MatchLabelsSchema),
});

const SpecSchema = v.pipe(
  strict({
    selector: v.optional(SelectorSchema),
    priority: v.optional(integerIn(-2_147_483_648, 2_147_483_647), 0),
    mode: v.optional(ModeSchema),
    duration: v.optional(PolicyDurationSchema),
    match: v.optional(MatchSchema),
    fault: FaultSchema,
  }),
  v.forward(
    v.check(
      (spec) => spec.match?.response === undefined || spec.fault.response !== undefined,
      "needs fault.response: it only decides whether a response fault applies",
    ),
    ["match", "response"],
  ),
  v.metadata({
    jsonSchema: {
      if: { properties: { match: { required: ["response"] } }, required: ["match"] },
      // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then, not a promise
      then: { properties: { fault: { required: ["response"] } } },
    },
    kubernetesSchema: celRule(
      "!has(self.match) || !has(self.match.response) || has(self.fault.response)",
      "needs fault.response: it only decides whether a response fault applies",
      ".match.response",
    ),
  }),
);

/** A Kubernetes status condition (`Accepted`, `Propagated`), as `kubectl wait --for=condition=` reads it. */
const ConditionSchema = strict({
  type: stringOfAtMost(MAX_TOKEN_LENGTH),
  status: v.picklist(["True", "False", "Unknown"], 'must be "True", "False" or "Unknown"'),
  reason: stringOfAtMost(MAX_TOKEN_LENGTH),
  message: stringOfAtMost(1024),
  lastTransitionTime: v.pipe(
    stringOfAtMost(MAX_TOKEN_LENGTH),
    v.isoTimestamp("must be an RFC 3339 timestamp"),
  ),
  observedGeneration: v.optional(integerIn(0, Number.MAX_SAFE_INTEGER)),
});

/** Set by the server; accepted so that `get -o yaml` output can be applied again, and ignored. */
const StatusSchema = strict({
  expiresAt: v.optional(
    v.pipe(
      stringOfAtMost(MAX_TOKEN_LENGTH),
      v.isoTimestamp("must be an RFC 3339 timestamp"),
      v.description("When the policy expires: the time of the last apply plus spec.duration."),
    ),
  ),
  // With the Kubernetes store, what the leader reports on the FaultInjectionPolicy resource.
  observedGeneration: v.optional(integerIn(0, Number.MAX_SAFE_INTEGER)),
  conditions: v.optional(v.pipe(v.array(ConditionSchema), v.maxLength(8, "must have at most 8 conditions"))),
});

export const PolicySchema = strict({
  apiVersion: v.literal(POLICY_API_VERSION, `must be "${POLICY_API_VERSION}"`),
  kind: v.literal(POLICY_KIND, `must be "${POLICY_KIND}"`),
  metadata: MetadataSchema,
  spec: SpecSchema,
  status: v.optional(StatusSchema),
});

/** A policy as a client writes it: defaults may be absent. */
export type PolicyInput = v.InferInput<typeof PolicySchema>;
/** A validated policy with defaults filled in. */
export type Policy = v.InferOutput<typeof PolicySchema>;
export type PolicySpec = Policy["spec"];
