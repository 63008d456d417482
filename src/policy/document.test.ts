import { describe, expect, test } from "bun:test";
import { documentFormat, MAX_HEADER_CONDITIONS, parsePolicyDocument, validatePolicy } from "./index.ts";

const valid = {
  apiVersion: "hfi.dev/v1alpha1",
  kind: "FaultInjectionPolicy",
  metadata: { name: "checkout-abort" },
  spec: { match: { path: { prefix: "/api" } }, fault: { abort: { httpStatus: 503 } } },
};

/** `valid` with one field replaced (or removed, with `undefined`) at a dotted path. */
function withField(path: string, value: unknown): unknown {
  const copy = structuredClone(valid) as Record<string, unknown>;
  const keys = path.split(".");
  const last = keys.pop() as string;
  let node = copy;
  for (const key of keys) {
    node[key] ??= {};
    node = node[key] as Record<string, unknown>;
  }
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
}

function issuesOf(value: unknown) {
  const result = validatePolicy(value);
  if (result.success) throw new Error("expected validation to fail");
  return result.issues;
}

describe("validatePolicy", () => {
  test("fills defaults", () => {
    const result = validatePolicy(valid);
    expect(result.success && result.output.spec).toEqual({
      priority: 0,
      match: { path: { prefix: "/api" } },
      fault: { percentage: 100, abort: { httpStatus: 503, body: "" } },
    });
  });

  test("accepts server-set metadata", () => {
    const metadata = {
      name: "a",
      creationTimestamp: "2025-01-02T03:04:05.678Z",
      resourceVersion: "7",
      generation: 2,
    };
    expect(validatePolicy(withField("metadata", metadata)).success).toBe(true);
  });

  test.each([
    ["metadata.name", "must be a DNS-1123 label", "Bad_Name"],
    ["metadata.name", "must be at most 63 characters", "a".repeat(64)],
    ["metadata.name", "required", undefined],
    ["metadata.labels", 'unknown field "labels"', { a: "b" }],
    ["apiVersion", 'must be "hfi.dev/v1alpha1"', "v1"],
    ["kind", 'must be "FaultInjectionPolicy"', "Policy"],
    ["spec.priority", "must be an integer", 1.5],
    ["spec.match.path", "exactly one of exact, prefix, regex is required", { exact: "/a", prefix: "/b" }],
    ["spec.match.path", "exactly one of exact, prefix, regex is required", { exact: "/a", regex: "/b" }],
    ["spec.match.path", "exactly one of exact, prefix, regex is required", {}],
    ["spec.match.path.prefix", "must start with '/'", "api"],
    ["spec.match.path.regex", "uses the lookaround (?!admin)", "/(?!admin).*"],
    ["spec.match.path.regex", "uses the backreference \\1", "/(a)\\1"],
    ["spec.match.path.regex", "uses the word boundary", "\\bx"],
    ["spec.match.path.regex", "is not a valid regular expression", "/a("],
    ["spec.match.path.regex", "the limit is 1024", "(a|b)*a(a|b){10}"],
    ["spec.match.path.regex", "must be at most 1024 characters", "a".repeat(1025)],
    ["spec.match.path.suffix", 'unknown field "suffix"', "/a"],
    ["spec.match.method.exact", "must be an upper-case HTTP method", "post"],
    ["spec.fault.percentage", "must be between 0 and 100", 100.5],
    ["spec.fault.percentage", "must have at most 2 decimal places", 12.345],
    ["spec.fault", "at least one of delay, abort, response is required", { percentage: 5 }],
    ["spec.fault.delay", "exactly one of fixedDelay, uniform, lognormal is required", {}],
    [
      "spec.fault.delay",
      "exactly one of fixedDelay, uniform, lognormal is required",
      { fixedDelay: "1s", uniform: { min: "1ms", max: "2ms" } },
    ],
    ["spec.fault.delay.fixedDelay", "must be a duration such as 100ms, 2s or 1m30s", "2"],
    ["spec.fault.delay.fixedDelay", "must be a duration string", 2000],
    ["spec.fault.delay.fixedDelay", "must be between 1ms and 1h", "61m"],
    ["spec.fault.delay.fixedDelay", "must be between 1ms and 1h", "0ms"],
    ["spec.fault.delay.fixedDelay", "must be a whole number of milliseconds", "1500us"],
    ["spec.fault.delay.fixed", 'unknown field "fixed"', "2s"],
    ["spec.fault.abort.httpStatus", "must be at most 599", 600],
    ["spec.fault.abort.httpStatus", "Invalid type", "503"],
    ["spec.fault.abort.body", "must be at most 65536 bytes", "x".repeat(64 * 1024 + 1)],
    ["spec.extra", 'unknown field "extra"', true],
    ["spec.selector.service", "must not be empty", ""],
    ["spec.selector.service", "must be visible ASCII without spaces", "my service"],
    ["spec.selector.service", "must be at most 253 characters", "s".repeat(254)],
    ["spec.selector.namespace", "must be a Kubernetes namespace", "Shop"],
    ["spec.selector.namespace", "must not be empty", ""],
    ["spec.selector.matchLabels", "must be an object of label key → value", ["app"]],
    [
      "spec.selector.matchLabels",
      "must have at most 64 labels",
      Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, "v"])),
    ],
    ["spec.selector.matchLabels.app", "must be a label value", "-web"],
    ["spec.selector.matchLabels.app", "must be at most 63 characters", "v".repeat(64)],
    ["spec.selector.matchLabels.app", "Invalid type", 5],
    ["spec.selector.pods", 'unknown field "pods"', "x"],
    ["spec.match.host", "exactly one of exact, suffix, regex is required", { exact: "a", suffix: ".b" }],
    ["spec.match.host.exact", "must be a host name without port", "reviews:9080"],
    ["spec.match.host.exact", "must not be empty", ""],
    ["spec.match.host.suffix", "write suffix: .example.com", "*.example.com"],
    ["spec.match.host.exact", "write suffix: .example.com", "*.example.com"],
    ["spec.match.host.regex", "the limit is 1024", "(a|b)*a(a|b){10}"],
    ["spec.match.host.prefix", 'unknown field "prefix"', "api"],
  ])("%s: %s", (path, message, value) => {
    const issues = issuesOf(withField(path, value));
    expect(issues).toContainEqual({ path, message: expect.stringContaining(message) });
  });

  const responseFault = (spec: Record<string, unknown>) => ({
    ...valid,
    spec: { match: { path: { prefix: "/api/cart" } }, fault: { response: { status: 500 } }, ...spec },
  });

  test("a response fault with response conditions is valid", () => {
    const result = validatePolicy(
      responseFault({
        match: {
          path: { prefix: "/api/cart" },
          response: { status: { codes: [200] }, headers: [{ name: "A", exact: "b" }] },
        },
        fault: {
          percentage: 1,
          response: {
            status: 500,
            headers: { set: [{ name: "Retry-After", value: "5" }], remove: ["ETag"] },
          },
        },
      }),
    );
    expect(result.success).toBe(true);
  });

  test.each([
    ["spec.fault.response.status", "must be at most 599", { response: { status: 600 } }],
    [
      "spec.fault.response.status",
      "must not be 204: the upstream's body would still follow",
      { response: { status: 204 } },
    ],
    [
      "spec.fault.response",
      "at least one of status, headers, delay, body, jsonPatch is required",
      { response: {} },
    ],
    [
      "spec.fault.response.delay.fixedDelay",
      "must be between 1ms and 1h",
      { response: { delay: { fixedDelay: "2h" } } },
    ],
    [
      "spec.fault.response.delay.uniform.max",
      "must not be less than min",
      { response: { delay: { uniform: { min: "2s", max: "1s" } } } },
    ],
    [
      "spec.fault.response.headers.set[0].name",
      "must not be Content-Length: the proxy keeps the response's framing",
      { response: { headers: { set: [{ name: "Content-Length", value: "1" }] } } },
    ],
    [
      "spec.fault.response.headers.remove[0]",
      "must not be transfer-encoding",
      { response: { headers: { remove: ["transfer-encoding"] } } },
    ],
    [
      "spec.fault.response.headers.set[0].name",
      "must not be x-hfi-fault: the filter sets it",
      { response: { headers: { set: [{ name: "x-hfi-fault", value: "me" }] } } },
    ],
    [
      "spec.fault.response.headers.set[0].name",
      "must be an HTTP header name",
      { response: { headers: { set: [{ name: ":status", value: "200" }] } } },
    ],
    [
      "spec.fault.response.headers.set[0].value",
      "must be a header value",
      { response: { headers: { set: [{ name: "a", value: "x\r\ny: z" }] } } },
    ],
    [
      "spec.fault.response.jsonPatch",
      "must be an object, an RFC 7386 merge patch",
      { response: { jsonPatch: [{ op: "replace" }] } },
    ],
    [
      "spec.fault.response.jsonPatch",
      "must not be set with body: body replaces the whole body already",
      { response: { body: "x", jsonPatch: { a: 1 } } },
    ],
    [
      "spec.fault.response.jsonPatch",
      "must nest objects and arrays at most 16 deep",
      { response: { jsonPatch: JSON.parse(`${'{"a":'.repeat(17)}1${"}".repeat(17)}`) } },
    ],
    [
      "spec.fault.response.jsonPatch",
      "must be at most 65536 bytes as JSON",
      { response: { jsonPatch: { a: "x".repeat(65536) } } },
    ],
    [
      "spec.fault.response",
      "must not be set with abort: an aborted request gets no response from the upstream",
      { abort: { httpStatus: 503 }, response: { status: 500 } },
    ],
  ])("%s: %s", (path, message, fault) => {
    const issues = issuesOf(responseFault({ fault }));
    expect(issues).toContainEqual({ path, message: expect.stringContaining(message) });
  });

  test.each([
    [
      "spec.match.response.status",
      "exactly one of codes, or min with max, is required",
      { status: { codes: [200], min: 200 } },
    ],
    [
      "spec.match.response.status",
      "exactly one of codes, or min with max, is required",
      { status: { min: 500 } },
    ],
    ["spec.match.response.status.max", "must not be less than min", { status: { min: 500, max: 499 } }],
    ["spec.match.response.status.codes[0]", "must be at most 599", { status: { codes: [600] } }],
    ["spec.match.response.status.codes", "must list at least one status code", { status: { codes: [] } }],
    ["spec.match.response", "at least one of status, headers is required", {}],
  ])("%s: %s", (path, message, response) => {
    const issues = issuesOf(responseFault({ match: { response } }));
    expect(issues).toContainEqual({ path, message: expect.stringContaining(message) });
  });

  test.each([
    ["spec.match.body", "exactly one of contains, regex, json is required", { maxBytes: 10 }],
    ["spec.match.body", "exactly one of contains, regex, json is required", { contains: "a", regex: "b" }],
    ["spec.match.body.contains", "must not be empty", { contains: "" }],
    // `a.{30}b` alone is small; looked for anywhere, its DFA must remember 30 positions.
    ["spec.match.body.regex", "the limit is 1024", { regex: "a.{30}b" }],
    ["spec.match.body.regex", "not a valid regular expression", { regex: "(" }],
    ["spec.match.body.maxBytes", "must be at most 65536", { contains: "a", maxBytes: 65_537 }],
    ["spec.match.body.maxBytes", "must be at least 1", { contains: "a", maxBytes: 0 }],
    ["spec.match.body.json.path", "must be a dotted path", { json: { path: "user..tier", exact: "x" } }],
    ["spec.match.body.json.path", "must be a dotted path", { json: { path: ".user", exact: "x" } }],
    [
      "spec.match.body.json.path",
      "at most 16 segments",
      { json: { path: Array(17).fill("a").join("."), exact: "x" } },
    ],
    ["spec.match.body.json", "exactly one of exact, regex is required", { json: { path: "a" } }],
    ["spec.match.body.json.prefix", 'unknown field "prefix"', { json: { path: "a", prefix: "x" } }],
  ])("%s: %s", (path, message, body) => {
    const issues = issuesOf({ ...valid, spec: { ...valid.spec, match: { body } } });
    expect(issues).toContainEqual({ path, message: expect.stringContaining(message) });
  });

  test("the same regex as a header condition (full match) stays within the DFA limit", () => {
    const header = {
      ...valid,
      spec: { ...valid.spec, match: { headers: [{ name: "x", regex: "a.{30}b" }] } },
    };
    expect(validatePolicy(header).success).toBe(true);
  });

  test("match.response without a response fault is refused, naming spec.match.response", () => {
    const issues = issuesOf({
      ...valid,
      spec: { match: { response: { status: { codes: [200] } } }, fault: { abort: { httpStatus: 503 } } },
    });
    expect(issues).toContainEqual({
      path: "spec.match.response",
      message: "needs fault.response: it only decides whether a response fault applies",
    });
  });

  test.each([204, 304])(
    "an abort with httpStatus %d refuses a body, naming spec.fault.abort.body",
    (status) => {
      const issues = issuesOf(withField("spec.fault.abort", { httpStatus: status, body: "nope" }));
      expect(issues).toEqual([
        {
          path: "spec.fault.abort.body",
          message: `must be empty with httpStatus ${status}: such a response has no body`,
        },
      ]);
      const empty = validatePolicy(withField("spec.fault.abort", { httpStatus: status }));
      expect(empty.success && empty.output.spec.fault.abort).toEqual({ httpStatus: status, body: "" });
      expect(validatePolicy(withField("spec.fault.abort", { httpStatus: 205, body: "nope" })).success).toBe(
        true,
      );
    },
  );

  test.each([
    ["uniform", { min: "20ms", max: "10ms" }, "max", "must not be less than min"],
    ["uniform", { min: "20ms" }, "max", "required"],
    ["uniform", { min: "0ms", max: "10ms" }, "min", "must be between 1ms and 1h"],
    ["uniform", { min: "1ms", max: "2ms", step: "1ms" }, "step", 'unknown field "step"'],
    ["lognormal", { p50: "20ms", p99: "20ms" }, "p99", "must be more than p50"],
    ["lognormal", { p50: "20ms", p99: "2h" }, "p99", "must be between 1ms and 1h"],
    ["lognormal", { p50: 20, p99: "300ms" }, "p50", "must be a duration"],
  ])("delay.%s %j: names spec.fault.delay.<form>.%s", (form, value, field, message) => {
    const issues = issuesOf(withField("spec.fault.delay", { [form]: value }));
    expect(issues).toContainEqual({
      path: `spec.fault.delay.${form}.${field}`,
      message: expect.stringContaining(message),
    });
  });

  test("a delay may be drawn from a distribution; the durations are kept as written", () => {
    for (const delay of [
      { uniform: { min: "10ms", max: "10ms" } },
      { lognormal: { p50: "20ms", p99: "1.5s" } },
    ]) {
      const result = validatePolicy(withField("spec.fault", { delay }));
      expect(result.success && result.output.spec.fault).toEqual({ percentage: 100, delay });
    }
  });

  test.each([
    [
      { grpcStatus: "UNAVAILBLE" },
      "spec.fault.abort.grpcStatus",
      "must be a gRPC status name (CANCELLED, UNKNOWN,",
    ],
    [{ grpcStatus: 0 }, "spec.fault.abort.grpcStatus", "or code 1..16"],
    [{ grpcStatus: "unavailable" }, "spec.fault.abort.grpcStatus", "must be a gRPC status name"],
    [
      { httpStatus: 503, grpcStatus: 14 },
      "spec.fault.abort",
      "exactly one of httpStatus, grpcStatus is required",
    ],
    [{}, "spec.fault.abort", "exactly one of httpStatus, grpcStatus is required"],
    [{ grpcStatus: 14, body: "x" }, "spec.fault.abort.body", "must not be set with grpcStatus"],
    [
      { httpStatus: 503, grpcMessage: "x" },
      "spec.fault.abort.grpcMessage",
      "must not be set without grpcStatus",
    ],
    [
      { grpcStatus: 14, grpcMessage: "x".repeat(65537) },
      "spec.fault.abort.grpcMessage",
      "at most 65536 bytes",
    ],
  ])("abort %j: %s %s", (abort, path, message) => {
    expect(issuesOf(withField("spec.fault.abort", abort))).toContainEqual({
      path,
      message: expect.stringContaining(message),
    });
  });

  test("a gRPC abort by name or number, with or without a message", () => {
    for (const abort of [{ grpcStatus: "UNAVAILABLE", grpcMessage: "down" }, { grpcStatus: 8 }]) {
      const result = validatePolicy(withField("spec.fault.abort", abort));
      expect(result.success && result.output.spec.fault.abort).toEqual({ ...abort, body: "" });
    }
  });

  test("delay alone, and delay with abort, are faults", () => {
    const delayOnly = validatePolicy(withField("spec.fault", { delay: { fixedDelay: "1m30s" } }));
    expect(delayOnly.success && delayOnly.output.spec.fault).toEqual({
      percentage: 100,
      delay: { fixedDelay: "1m30s" },
    });
    const both = validatePolicy(withField("spec.fault.delay", { fixedDelay: "250ms" }));
    expect(both.success && both.output.spec.fault).toEqual({
      percentage: 100,
      delay: { fixedDelay: "250ms" },
      abort: { httpStatus: 503, body: "" },
    });
  });

  test("every header matcher kind", () => {
    const headers = [
      { name: "x-a", exact: "1" },
      { name: "x-b", prefix: "Bearer " },
      { name: "x-c", regex: "(?i)[a-f0-9]+" },
      { name: "x-d", present: true },
    ];
    expect(validatePolicy(withField("spec.match.headers", headers)).success).toBe(true);
  });

  test.each([
    [{ name: "x" }, "spec.match.headers[0]", "exactly one of exact, prefix, regex, present is required"],
    [{ name: "x", exact: "a", present: true }, "spec.match.headers[0]", "exactly one of"],
    [{ name: "x", present: false }, "spec.match.headers[0].present", "must be true"],
    [{ name: "x", regex: "(a)\\1" }, "spec.match.headers[0].regex", "backreference"],
    [{ name: "x", regex: "a(?<=a)" }, "spec.match.headers[0].regex", "lookaround"],
  ])("header %p: %s %s", (header, path, message) => {
    const issues = issuesOf(withField("spec.match.headers", [header]));
    expect(issues).toEqual([{ path, message: expect.stringContaining(message) }]);
  });

  test("array indices appear in paths", () => {
    const headers = [
      { name: "x-ok", exact: "1" },
      { name: "bad header", exact: "1" },
    ];
    expect(issuesOf(withField("spec.match.headers", headers))).toEqual([
      { path: "spec.match.headers[1].name", message: "must be an HTTP header name" },
    ]);
  });
});

describe("validatePolicy: selector and host", () => {
  test("a selector and a host condition as Istio users write them are accepted", () => {
    const policy = withField("spec.selector", {
      service: "reviews",
      namespace: "shop",
      matchLabels: { app: "reviews", "app.kubernetes.io/version": "v1", empty: "" },
    });
    (policy as { spec: { match: object } }).spec.match = { host: { suffix: ".shop.svc.cluster.local" } };
    expect(validatePolicy(policy).success).toBe(true);
    expect(validatePolicy(withField("spec.selector", { service: "*" })).success).toBe(true);
    expect(validatePolicy(withField("spec.match.host", { exact: "[::1]" })).success).toBe(true);
  });

  test.each([
    ["-app", "must be a label key"],
    ["a".repeat(64), "must be a label key"],
    ["Example.com/app", "its prefix before '/' must be a DNS-1123 subdomain"],
    ["example.com/", "must be a label key"],
  ])("label key %p is refused, naming the key", (key, message) => {
    const issues = issuesOf(withField("spec.selector", { matchLabels: { [key]: "v" } }));
    // Plain names are dotted on, others quoted in brackets.
    const path = /^[A-Za-z_$][\w$]*$/.test(key)
      ? `spec.selector.matchLabels.${key}`
      : `spec.selector.matchLabels[${JSON.stringify(key)}]`;
    expect(issues).toContainEqual({ path, message: expect.stringContaining(message) });
  });
});

describe("parsePolicyDocument", () => {
  const yaml = `
apiVersion: hfi.dev/v1alpha1
kind: FaultInjectionPolicy
metadata: { name: checkout-abort }
spec:
  match: { path: { prefix: /api } }
  fault: { abort: { httpStatus: 503 } }
`;

  test("reads YAML and JSON alike", () => {
    const fromYaml = parsePolicyDocument(yaml, "application/yaml");
    const fromJson = parsePolicyDocument(JSON.stringify(valid), "application/json; charset=utf-8");
    expect(fromYaml.success).toBe(true);
    expect(fromYaml).toEqual(fromJson);
  });

  test("reports syntax errors as an InvalidInput issue on the document", () => {
    const result = parsePolicyDocument("{ not json", "application/json");
    expect(result).toMatchObject({ success: false, code: "InvalidInput", issues: [{ path: "" }] });
  });

  test("refuses several YAML documents in one request", () => {
    const result = parsePolicyDocument(`${yaml}---${yaml}`, "text/yaml");
    expect(result).toMatchObject({
      success: false,
      issues: [{ message: expect.stringContaining("found 2") }],
    });
  });

  test("refuses other media types", () => {
    expect(parsePolicyDocument(yaml, "application/x-www-form-urlencoded")).toMatchObject({
      success: false,
      code: "UnsupportedMediaType",
    });
    expect(parsePolicyDocument(yaml, undefined)).toMatchObject({ code: "UnsupportedMediaType" });
  });

  test.each([
    ["application/json", "json"],
    ["application/merge-patch+json", "json"],
    ["application/yaml", "yaml"],
    ["application/x-yaml", "yaml"],
    ["text/yaml; charset=utf-8", "yaml"],
    ["TEXT/X-YAML", "yaml"],
    ["text/plain", undefined],
  ])("documentFormat(%p) is %p", (contentType, format) => {
    expect(documentFormat(contentType)).toBe(format as "json" | "yaml" | undefined);
  });
});

describe("work limits", () => {
  test(`more than ${MAX_HEADER_CONDITIONS} header conditions are refused before any is compiled`, () => {
    const headers = Array.from({ length: 2000 }, (_, i) => ({ name: "x", regex: `(a|b)*a(a|b){20}${i}` }));
    const started = performance.now();
    const result = validatePolicy({ ...valid, spec: { ...valid.spec, match: { headers } } });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(result).toMatchObject({
      success: false,
      issues: [
        { path: "spec.match.headers", message: `must have at most ${MAX_HEADER_CONDITIONS} conditions` },
      ],
    });
  });

  test("deeply nested YAML is refused quickly", () => {
    const started = performance.now();
    const result = parsePolicyDocument("[".repeat(1024 * 1024 - 1), "application/yaml");
    expect(performance.now() - started).toBeLessThan(5000);
    expect(result).toMatchObject({
      success: false,
      issues: [{ path: "", message: expect.stringContaining("nested deeper") }],
    });
  });

  test("a mapping with 50,000 keys is parsed (not refused for its size); a repeated key names its path", () => {
    const many = Array.from({ length: 50_000 }, (_, i) => `k${i}: ${i}`).join("\n");
    expect(parsePolicyDocument(many, "application/yaml").success).toBe(false);
    const repeated = "apiVersion: a\nspec:\n  fault: {}\n  match: {}\n  fault: {}\n";
    expect(parsePolicyDocument(repeated, "application/yaml")).toMatchObject({
      success: false,
      issues: [{ path: "spec.fault", message: "duplicate key" }],
    });
  });
});

test("unknown keys that are not plain names are quoted in the path", () => {
  const result = validatePolicy({ ...valid, "": 1, spec: { ...valid.spec, "a.b": 2 } });
  expect(result.success ? [] : result.issues.map((issue) => issue.path)).toEqual(['spec["a.b"]', '[""]']);
});

describe("validatePolicy: experiments (mode, duration, status)", () => {
  test("mode and duration are optional and kept as written; no default is filled in", () => {
    const result = validatePolicy(withField("spec.duration", "10m"));
    expect(result.success && result.output.spec.duration).toBe("10m");
    expect(result.success && "mode" in result.output.spec).toBe(false);
    const dryRun = validatePolicy(withField("spec.mode", "dryRun"));
    expect(dryRun.success && dryRun.output.spec.mode).toBe("dryRun");
    expect(validatePolicy(withField("spec.mode", "enforce")).success).toBe(true);
  });

  test.each([
    ["spec.mode", "DryRun", 'must be one of "enforce", "dryRun"'],
    ["spec.mode", true, 'must be one of "enforce", "dryRun"'],
    ["spec.duration", "7d", "must be a duration such as 30s, 10m or 2h"],
    ["spec.duration", 30, "must be a duration string such as 30s, 10m or 2h"],
    ["spec.duration", "500ms", "must be a whole number of seconds"],
    ["spec.duration", "0s", "must be between 1s and 168h (7 days)"],
    ["spec.duration", "169h", "must be between 1s and 168h (7 days)"],
    ["status.expiresAt", "tomorrow", "must be an RFC 3339 timestamp"],
    ["status.phase", "Running", 'unknown field "phase"'],
  ])("%s = %p: %s", (path, value, message) => {
    expect(issuesOf(withField(path, value))).toEqual([{ path, message }]);
  });

  test("a status as the server writes it is accepted, so get -o yaml applies back", () => {
    const result = validatePolicy(withField("status", { expiresAt: "2026-11-27T22:13:57.290Z" }));
    expect(result.success && result.output.status).toEqual({ expiresAt: "2026-11-27T22:13:57.290Z" });
  });
});

describe("validatePolicy: lengths count characters, as JSON Schema and Kubernetes do", () => {
  test("64 emoji are 64 characters (128 UTF-16 units): within a 64-character limit; 65 are not", () => {
    const condition = (reason: string) => ({
      type: "Accepted",
      status: "True",
      reason,
      message: "",
      lastTransitionTime: "2026-12-03T00:00:00Z",
    });
    expect(validatePolicy(withField("status.conditions", [condition("😀".repeat(64))])).success).toBe(true);
    expect(issuesOf(withField("status.conditions", [condition("😀".repeat(65))]))).toEqual([
      { path: "status.conditions[0].reason", message: "must be at most 64 characters" },
    ]);
  });

  test("a header value of 8192 astral characters is within its limit", () => {
    const headers = [{ name: "x-user", exact: "𝄞".repeat(8192) }];
    expect(validatePolicy(withField("spec.match.headers", headers)).success).toBe(true);
  });
});
