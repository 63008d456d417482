import { describe, expect, test } from "bun:test";
import { documentFormat, parsePolicyDocument, validatePolicy } from "./index.ts";

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
    ["spec.match.path", "exactly one of exact, prefix is required", { exact: "/a", prefix: "/b" }],
    ["spec.match.path", "exactly one of exact, prefix is required", {}],
    ["spec.match.path.prefix", "must start with '/'", "api"],
    ["spec.match.path.regex", 'unknown field "regex"', "/a.*"],
    ["spec.match.method.exact", "must be an upper-case HTTP method", "post"],
    ["spec.fault.percentage", "must be between 0 and 100", 100.5],
    ["spec.fault.percentage", "must have at most 2 decimal places", 12.345],
    ["spec.fault.delay", "delay faults are not supported yet", { fixedDelay: "2s" }],
    ["spec.fault.abort", "required", undefined],
    ["spec.fault.abort.httpStatus", "must be at most 599", 600],
    ["spec.fault.abort.httpStatus", "Invalid type", "503"],
    ["spec.fault.abort.body", "must be at most 65536 bytes", "x".repeat(64 * 1024 + 1)],
    ["spec.extra", 'unknown field "extra"', true],
  ])("%s: %s", (path, message, value) => {
    const issues = issuesOf(withField(path, value));
    expect(issues).toContainEqual({ path, message: expect.stringContaining(message) });
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
