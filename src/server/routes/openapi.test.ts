import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { createConsola } from "consola";
import { parseAllDocuments } from "yaml";
import { createTestApp, jsonOf } from "../../../test/support/control-plane.ts";
import { policyJson } from "../../../test/support/policies.ts";
import type { JsonSchema } from "../../policy/json-schema.ts";
import { createApp } from "../app.ts";
import { parseTokenFile, readerMayCall } from "../auth.ts";

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
      "FleetStatus",
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
    ["a grpcMessage without grpcStatus", { spec: { fault: { abort: { grpcMessage: "nope" } } } }],
    [
      "a body with grpcStatus",
      { spec: { fault: { abort: { httpStatus: undefined, grpcStatus: "UNAVAILABLE", body: "nope" } } } },
    ],
    ["both httpStatus and grpcStatus", { spec: { fault: { abort: { grpcStatus: 14 } } } }],
    ["two path matchers", { spec: { match: { path: { exact: "/a", prefix: "/a" } } } }],
    ["a header with no matcher", { spec: { match: { headers: [{ name: "x" }] } } }],
    ["neither delay nor abort", { spec: { fault: { abort: undefined, percentage: 5 } } }],
    ["a bad duration", { spec: { fault: { delay: { fixedDelay: "2 seconds" } } } }],
    ["a bad name", { metadata: { name: "Bad_Name" } }],
    ["an empty label key", { spec: { selector: { matchLabels: { "": "x" } } } }],
    [
      "a label key with an upper-case prefix",
      { spec: { selector: { matchLabels: { "Example.com/app": "x" } } } },
    ],
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
        if (isObject(value)) {
          const known = Object.keys((schema.properties as object | undefined) ?? {});
          for (const key of Object.keys(value)) {
            if (known.includes(key)) continue;
            if (rule === false) fail(`unknown ${key}`);
            else out.push(...problems(value[key], rule as JsonSchema, defs, `${at}.${key}`));
          }
        }
        break;
      case "maxProperties":
        if (isObject(value) && Object.keys(value).length > (rule as number)) fail("too many properties");
        break;
      case "not":
        if (problems(value, rule as JsonSchema, defs, at).length === 0) fail("matches what it must not");
        break;
      case "propertyNames":
        if (isObject(value)) {
          for (const key of Object.keys(value))
            out.push(...problems(key, rule as JsonSchema, defs, `${at}[${JSON.stringify(key)}]`));
        }
        break;
      case "minLength":
        if (typeof value === "string" && [...value].length < (rule as number)) fail("too short");
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
      case "multipleOf":
        if (
          typeof value === "number" &&
          !Number.isInteger(Number((value / (rule as number)).toPrecision(12)))
        )
          fail(`not a multiple of ${rule}`);
        break;
      case "maxLength":
        if (typeof value === "string" && [...value].length > (rule as number)) fail("too long");
        break;
      case "maxItems":
        if (Array.isArray(value) && value.length > (rule as number)) fail("too many items");
        break;
      case "minItems":
        if (Array.isArray(value) && value.length < (rule as number)) fail("too few items");
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

describe("GET /openapi.json describes what the API does", () => {
  type Operation = {
    operationId?: string;
    security?: unknown;
    parameters?: { name: string; schema: JsonSchema; description?: string }[];
    responses: Record<
      string,
      { links?: Record<string, { operationId: string; parameters: object; requestBody?: string }> }
    >;
  };
  const operation = (doc: OpenApiDocument, path: string, method: string) =>
    doc.paths[path]?.[method] as Operation;

  test("policy writes can be 423 while halted; POST /v1/halt can be 413", async () => {
    const doc = await openapi();
    expect(Object.keys(operation(doc, "/v1/policies", "post").responses)).toContain("423");
    expect(Object.keys(operation(doc, "/v1/policies/{name}", "put").responses)).toContain("423");
    expect(Object.keys(operation(doc, "/v1/halt", "post").responses)).toContain("413");
  });

  test("create and replace link to get, delete and put back, by the stored name; get to delete and put back", async () => {
    const doc = await openapi();
    for (const [path, method, status] of [
      ["/v1/policies", "post", "201"],
      ["/v1/policies/{name}", "put", "200"],
      ["/v1/policies/{name}", "put", "201"],
    ] as const) {
      const links = operation(doc, path, method).responses[status]?.links ?? {};
      expect(Object.values(links).map((link) => link.operationId)).toEqual([
        "getPolicy",
        "deletePolicy",
        "replacePolicy",
      ]);
      for (const link of Object.values(links))
        expect(link.parameters).toEqual({ name: "$response.body#/metadata/name" });
    }
    const fromGet = operation(doc, "/v1/policies/{name}", "get").responses["200"]?.links ?? {};
    expect(fromGet.PutPolicyBack).toEqual({
      operationId: "replacePolicy",
      parameters: { name: "$response.body#/metadata/name" },
      requestBody: "$response.body",
    });
    expect(operation(doc, "/v1/policies/{name}", "get").operationId).toBe("getPolicy");
    expect(operation(doc, "/v1/policies/{name}", "delete").operationId).toBe("deletePolicy");
  });

  test("wait has no maximum (above 60 counts as 60); after and wait stop at 2^53 - 1, as the server does", async () => {
    const { app } = await createTestApp();
    const doc = await openapi();
    const params = Object.fromEntries(
      (operation(doc, "/v1/config", "get").parameters ?? []).map((p) => [p.name, p]),
    );
    expect(params.wait?.schema.maximum).toBe(Number.MAX_SAFE_INTEGER);
    expect(params.wait?.description).toContain("above 60 are taken as 60");
    expect(params.after?.schema.maximum).toBe(Number.MAX_SAFE_INTEGER);
    expect((await app.request(`/v1/config?wait=${Number.MAX_SAFE_INTEGER}`)).status).toBe(200);
    expect((await app.request(`/v1/config?after=${2 ** 53}`)).status).toBe(400);
  });

  test("states the namespaces the store holds: default alone (memory), or any namespace (a store of every one)", async () => {
    const namespaceParameters = (doc: OpenApiDocument) =>
      ["/v1/policies", "/v1/policies/{name}"].flatMap((path) => {
        const item = doc.paths[path] as Record<string, unknown> & { parameters?: unknown };
        const lists = [
          item.parameters,
          ...Object.values(item).map((op) => (op as { parameters?: unknown }).parameters),
        ];
        return lists
          .flatMap((list) => (Array.isArray(list) ? (list as { name: string; schema: JsonSchema }[]) : []))
          .filter((p) => p.name === "namespace")
          .map((p) => p.schema);
      });
    const single = await openapi();
    // On the path item of /v1/policies/{name}, and on GET and POST /v1/policies.
    expect(namespaceParameters(single)).toEqual([
      { type: "string", enum: ["default"] },
      { type: "string", enum: ["default"] },
      { type: "string", enum: ["default"] },
    ]);
    const metadata = (doc: OpenApiDocument) =>
      (doc.components.schemas.FaultInjectionPolicy.properties as Record<string, JsonSchema>).metadata as {
        properties: Record<string, JsonSchema>;
      };
    expect(metadata(single).properties.namespace).toMatchObject({ enum: ["default"] });

    const { store, distributor } = await createTestApp();
    const everyNamespace = { ...store, namespaces: { home: "hfi", all: true } };
    const app = createApp({ store: everyNamespace, distributor, logger: createConsola({ level: -999 }) });
    const all = await jsonOf<OpenApiDocument>(await app.request("/openapi.json"));
    expect(namespaceParameters(all)).toHaveLength(3);
    for (const schema of [...namespaceParameters(all), metadata(all).properties.namespace]) {
      expect(schema).toMatchObject({
        type: "string",
        maxLength: 63,
        pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
      });
    }
  });

  test("with auth on: a bearer security scheme, and 401 (what a reader may call) or 401 and 403 (writes) on every /v1 operation", async () => {
    const { store, distributor, logs } = await createTestApp();
    const logger = createConsola({ level: 0, reporters: [{ log: (entry) => logs.push(entry) }] });
    const app = createApp({ store, distributor, logger, auth: parseTokenFile("writer:w\nreader:r\n") });
    const doc = await jsonOf<OpenApiDocument & { components: { securitySchemes?: object } }>(
      await app.request("/openapi.json"),
    );
    expect(doc.components.securitySchemes).toEqual({
      bearer: expect.objectContaining({ type: "http", scheme: "bearer" }),
    });
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item as Record<string, Operation>)) {
        if (method === "parameters") continue;
        const statuses = Object.keys(op.responses);
        if (!path.startsWith("/v1/")) {
          expect([path, op.security, statuses]).toEqual([
            path,
            undefined,
            expect.not.arrayContaining(["401"]),
          ]);
          continue;
        }
        expect([path, method, op.security]).toEqual([path, method, [{ bearer: [] }]]);
        expect([path, method, statuses]).toEqual([
          path,
          method,
          expect.arrayContaining(readerMayCall(method.toUpperCase(), path) ? ["401"] : ["401", "403"]),
        ]);
      }
    }
    const withoutAuth = await openapi();
    expect(JSON.stringify(withoutAuth)).not.toContain('"401"');
  });

  test("with auth on: an operation lists 403 exactly when the server answers a reader token with 403", async () => {
    const { store, distributor, logs } = await createTestApp();
    const logger = createConsola({ level: 0, reporters: [{ log: (entry) => logs.push(entry) }] });
    const app = createApp({ store, distributor, logger, auth: parseTokenFile("writer:w\nreader:r\n") });
    const doc = await jsonOf<OpenApiDocument>(await app.request("/openapi.json"));
    const checked: string[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      if (!path.startsWith("/v1/")) continue;
      for (const [method, op] of Object.entries(item as Record<string, Operation>)) {
        if (method === "parameters" || method === "get") continue;
        const url = path.replace(/\{\w+\}/g, "x");
        const res = await app.request(`${url}?node=n&worker=w`, {
          method: method.toUpperCase(),
          headers: { authorization: "Bearer r" },
        });
        await res.body?.cancel();
        const described = "403" in op.responses;
        expect([method, path, described]).toEqual([method, path, res.status === 403]);
        checked.push(`${method} ${path}`);
      }
    }
    expect(checked).toContain("post /v1/observations");
    expect(checked).toContain("post /v1/policies");
  });
});
