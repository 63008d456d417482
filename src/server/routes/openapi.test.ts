import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { createTestApp, jsonOf } from "../../../test/support/control-plane.ts";
import { policyJson } from "../../../test/support/policies.ts";
import type { JsonSchema } from "../../policy/json-schema.ts";

interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<"FaultInjectionPolicy" | "Error", JsonSchema> & Record<string, JsonSchema> };
}

const ROOT = `${import.meta.dir}/../../..`;

async function openapi(): Promise<OpenApiDocument> {
  const { app } = await createTestApp();
  const res = await app.request("/openapi.json");
  expect(res.status).toBe(200);
  return jsonOf<OpenApiDocument>(res);
}

/** Every YAML document in the files of `dir` whose names end with `suffix`. */
async function yamlDocuments(dir: string, suffix: string): Promise<[string, unknown][]> {
  const found: [string, unknown][] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith(suffix))) {
    const docs = parseAllDocuments(await Bun.file(`${dir}/${file}`).text());
    if (!Array.isArray(docs)) continue;
    docs.forEach((doc, i) => {
      found.push([`${file}#${i}`, doc.toJS()]);
    });
  }
  return found;
}

describe("GET /openapi.json", () => {
  test("an OpenAPI 3.1 document", async () => {
    const doc = await openapi();
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.components.schemas).sort()).toEqual([
      "Error",
      "Experiment",
      "ExperimentList",
      "ExperimentResults",
      "FaultInjectionPolicy",
      "HaltStatus",
      "ObservationsList",
      "PolicyList",
      "PolicyObservation",
      "ProxiesStatus",
      "RuleSet",
    ]);
  });

  test("describes every route the app serves", async () => {
    const { app } = await createTestApp();
    const doc = await openapi();
    const served = app.routes
      .filter((route) => route.method !== "ALL")
      .map((route) => `${route.method} ${route.path.replace(/:(\w+)/g, "{$1}").replace(/(.)\/$/, "$1")}`);
    expect(served.length).toBeGreaterThan(8);
    const described = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((key) => key !== "parameters")
        .map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(described).toEqual(expect.arrayContaining([...new Set(served)]));
  });

  test("its policy schema accepts every example and fixture policy", async () => {
    const { components } = await openapi();
    const policies = [
      ...(await yamlDocuments(`${ROOT}/examples`, ".yaml")),
      ...(await yamlDocuments(`${ROOT}/test/fixtures/rulesets`, ".policies.yaml")),
    ];
    expect(policies.length).toBeGreaterThan(8);
    for (const [where, policy] of policies) {
      expect([where, problems(policy, components.schemas.FaultInjectionPolicy, components.schemas)]).toEqual([
        where,
        [],
      ]);
    }
  });

  test.each([
    ["an unknown field", { spec: { extra: 1 } }],
    ["a status out of range", { spec: { fault: { abort: { httpStatus: 700 } } } }],
    ["a body with a 304", { spec: { fault: { abort: { httpStatus: 304, body: "nope" } } } }],
    ["two path matchers", { spec: { match: { path: { exact: "/a", prefix: "/a" } } } }],
    ["a header with no matcher", { spec: { match: { headers: [{ name: "x" }] } } }],
    ["neither delay nor abort", { spec: { fault: { abort: undefined, percentage: 5 } } }],
    ["a bad duration", { spec: { fault: { delay: { fixedDelay: "2 seconds" } } } }],
    ["a bad name", { metadata: { name: "Bad_Name" } }],
    ["no spec", { spec: undefined }],
  ])("its policy schema rejects %s", async (_, change) => {
    const { components } = await openapi();
    const broken = merge(policyJson("ok"), change);
    expect(problems(broken, components.schemas.FaultInjectionPolicy, components.schemas)).not.toEqual([]);
  });

  test("error responses match its Error schema", async () => {
    const { app } = await createTestApp();
    const { components } = await openapi();
    const res = await app.request("/v1/policies", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(merge(policyJson("a"), { spec: { fault: { abort: { httpStatus: 700 } } } })),
    });
    expect(res.status).toBe(400);
    expect(problems(await res.json(), components.schemas.Error, components.schemas)).toEqual([]);
  });
});

/** `base` with `change` merged in deeply; `undefined` removes a member; arrays are replaced. */
function merge(base: unknown, change: unknown): unknown {
  if (!isObject(base) || !isObject(change)) return change;
  const result: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(change)) {
    if (value === undefined) delete result[key];
    else result[key] = merge(result[key], value);
  }
  return result;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * A small JSON Schema validator for the keywords the document uses; an unknown keyword is itself a
 * problem, so the generator cannot emit something this test silently ignores.
 */
function problems(value: unknown, schema: JsonSchema, defs: Record<string, JsonSchema>, at = ""): string[] {
  const out: string[] = [];
  const fail = (what: string) => out.push(`${at || "(root)"}: ${what}`);
  for (const [keyword, rule] of Object.entries(schema)) {
    switch (keyword) {
      case "$ref":
        out.push(...problems(value, defs[String(rule).split("/").pop() as string] ?? {}, defs, at));
        break;
      case "type":
        if (!hasType(value, rule as string)) fail(`not ${rule}`);
        break;
      case "const":
        if (value !== rule) fail(`not ${JSON.stringify(rule)}`);
        break;
      case "enum":
        if (!(rule as unknown[]).includes(value)) fail(`not one of ${JSON.stringify(rule)}`);
        break;
      case "required":
        if (isObject(value)) for (const key of rule as string[]) if (!(key in value)) fail(`${key} missing`);
        break;
      case "properties":
        if (isObject(value)) {
          for (const [key, sub] of Object.entries(rule as Record<string, JsonSchema>)) {
            if (key in value) out.push(...problems(value[key], sub, defs, `${at}.${key}`));
          }
        }
        break;
      case "additionalProperties":
        if (isObject(value) && rule === false) {
          const known = Object.keys((schema.properties as object | undefined) ?? {});
          for (const key of Object.keys(value)) if (!known.includes(key)) fail(`unknown ${key}`);
        }
        break;
      case "items":
        if (Array.isArray(value)) {
          for (const [i, item] of value.entries())
            out.push(...problems(item, rule as JsonSchema, defs, `${at}[${i}]`));
        }
        break;
      case "minimum":
        if (typeof value === "number" && value < (rule as number)) fail(`below ${rule}`);
        break;
      case "maximum":
        if (typeof value === "number" && value > (rule as number)) fail(`above ${rule}`);
        break;
      case "maxLength":
        if (typeof value === "string" && [...value].length > (rule as number)) fail("too long");
        break;
      case "maxItems":
        if (Array.isArray(value) && value.length > (rule as number)) fail("too many items");
        break;
      case "pattern":
        if (typeof value === "string" && !new RegExp(rule as string, "u").test(value)) fail(`not /${rule}/`);
        break;
      case "oneOf":
      case "anyOf":
      case "allOf": {
        const passed = (rule as JsonSchema[]).filter(
          (sub) => problems(value, sub, defs, at).length === 0,
        ).length;
        const count = (rule as JsonSchema[]).length;
        const ok = keyword === "oneOf" ? passed === 1 : keyword === "anyOf" ? passed > 0 : passed === count;
        if (!ok) fail(`${keyword}: ${passed} of ${count} passed`);
        break;
      }
      case "if": {
        const branch = problems(value, rule as JsonSchema, defs, at).length === 0 ? schema.then : schema.else;
        if (branch !== undefined) out.push(...problems(value, branch as JsonSchema, defs, at));
        break;
      }
      case "then":
      case "else": // applied by "if"
      case "default":
      case "description":
      case "format":
        break;
      default:
        fail(`unknown keyword ${keyword}`);
    }
  }
  return out;
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case "object":
      return isObject(value);
    case "array":
      return Array.isArray(value);
    case "integer":
      return Number.isInteger(value);
    default:
      return typeof value === type;
  }
}
