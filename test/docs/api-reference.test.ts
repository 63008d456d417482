/**
 * docs/API_REFERENCE.md against the OpenAPI document the app serves (`GET /openapi.json` from
 * createApp): the endpoints (`### METHOD /path` headings) are the same set both ways; each endpoint's
 * section names every response status and parameter of its operation; every property of the policy
 * schema has a row in the fields table (and every row a property), with its type, whether it is
 * required, its default, its allowed values and its bounds.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { JsonSchema } from "../../src/policy/json-schema.ts";
import { createTestApp } from "../support/control-plane.ts";
import { ROOT } from "./support/session.ts";

interface Operation {
  responses: Record<string, unknown>;
  parameters?: { name: string }[];
}
type PathItem = Record<string, Operation> & { parameters?: { name: string }[] };
interface OpenApi {
  paths: Record<string, PathItem>;
  components: { schemas: Record<string, JsonSchema> };
}

const DOC = readFileSync(join(ROOT, "docs/API_REFERENCE.md"), "utf8");
const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"];

let openapi: OpenApi;
beforeAll(async () => {
  const { app } = await createTestApp();
  openapi = (await (await app.request("/openapi.json")).json()) as OpenApi;
});

/** `### GET /v1/policies` headings, each with its text up to the next heading. */
function endpointSections(markdown: string): Map<string, string> {
  const sections = new Map<string, string>();
  const parts = markdown.split(/^(#{1,6} .*)$/m);
  for (let i = 1; i < parts.length; i += 2) {
    const heading = /^### (GET|PUT|POST|DELETE|PATCH|HEAD|OPTIONS) (\/\S*)$/.exec(parts[i]!);
    if (heading) sections.set(`${heading[1]} ${heading[2]}`, parts[i + 1] ?? "");
  }
  return sections;
}

function operations(doc: OpenApi): Map<string, { operation: Operation; item: PathItem }> {
  const found = new Map<string, { operation: Operation; item: PathItem }>();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (operation) found.set(`${method.toUpperCase()} ${path}`, { operation, item });
    }
  }
  return found;
}

interface Field {
  path: string;
  schema: JsonSchema;
  required: boolean;
}

/** Every property, as `spec.match.headers[].name`; array items are walked, not listed themselves. */
function fieldsOf(schema: JsonSchema, prefix = ""): Field[] {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  return Object.entries(properties).flatMap(([key, property]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    const items = property.items as JsonSchema | undefined;
    return [
      { path, schema: property, required: required.has(key) },
      ...fieldsOf(property, path),
      ...(items ? fieldsOf(items, `${path}[]`) : []),
    ];
  });
}

/** Rows of the table under "### Fields": first cell `` `path` ``, then type, default, allowed. */
function fieldRows(markdown: string): Map<string, { type: string; default: string; allowed: string }> {
  const table = markdown.split(/^### Fields$/m)[1]?.split(/^#{1,3} /m)[0] ?? "";
  const rows = new Map<string, { type: string; default: string; allowed: string }>();
  for (const line of table.split("\n")) {
    const cells = line.split(" | ").map((cell) => cell.replace(/^\| |\s*\|$/g, "").trim());
    const name = /^`([^`]+)`$/.exec(cells[0] ?? "")?.[1];
    if (name && cells.length >= 4) {
      rows.set(name, { type: cells[1]!, default: cells[2]!, allowed: cells.slice(3).join(" | ") });
    }
  }
  return rows;
}

describe("docs/API_REFERENCE.md", () => {
  test("documents exactly the endpoints of /openapi.json", () => {
    const documented = [...endpointSections(DOC).keys()].sort();
    const served = [...operations(openapi).keys()].sort();
    expect(served.length).toBeGreaterThan(10);
    expect(documented).toEqual(served);
  });

  test("each endpoint's section names its response statuses and parameters", () => {
    const sections = endpointSections(DOC);
    const missing: string[] = [];
    for (const [key, { operation, item }] of operations(openapi)) {
      const text = sections.get(key) ?? "";
      for (const status of Object.keys(operation.responses)) {
        if (!new RegExp(`\\b${status}\\b`).test(text)) missing.push(`${key}: status ${status}`);
      }
      for (const { name } of [...(item.parameters ?? []), ...(operation.parameters ?? [])]) {
        if (!text.includes(`\`${name}\``) && !key.includes(`{${name}}`))
          missing.push(`${key}: parameter ${name}`);
      }
    }
    expect(missing).toEqual([]);
  });

  test("documents every policy field, and only those", () => {
    const fields = fieldsOf(openapi.components.schemas.FaultInjectionPolicy!);
    expect(fields.length).toBeGreaterThan(30);
    const rows = fieldRows(DOC);
    expect([...rows.keys()].sort()).toEqual(fields.map((field) => field.path).sort());
  });

  test("each field's row states its type, requirement, default, values and bounds", () => {
    const rows = fieldRows(DOC);
    const problems: string[] = [];
    for (const { path, schema, required } of fieldsOf(openapi.components.schemas.FaultInjectionPolicy!)) {
      const row = rows.get(path);
      if (!row) continue;
      const say = (what: string) => problems.push(`${path}: ${what}`);
      const types = [schema.type, schema.const === true ? "boolean" : undefined].flat().filter(Boolean);
      if (schema.const === undefined || typeof schema.const === "boolean") {
        for (const type of types) if (!row.type.includes(String(type))) say(`type should say ${type}`);
      }
      if (required !== /\brequired\b/.test(row.default))
        say(required ? "default should say required" : "is not required");
      if (schema.default !== undefined && !row.default.includes(`\`${JSON.stringify(schema.default)}\``)) {
        say(`default should be \`${JSON.stringify(schema.default)}\``);
      }
      const values = [schema.const, ...((schema.enum as unknown[] | undefined) ?? [])].filter(
        (v) => v !== undefined,
      );
      for (const value of values) if (!row.allowed.includes(`\`${value}\``)) say(`should list \`${value}\``);
      for (const bound of ["minimum", "maximum", "maxLength", "maxItems"]) {
        if (schema[bound] !== undefined && !row.allowed.includes(`\`${schema[bound]}\``)) {
          say(`should state its ${bound} \`${schema[bound]}\``);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  test("describes the error body's members", () => {
    const members = fieldsOf(openapi.components.schemas.Error!)
      .map((field) => field.path)
      .filter((path) => path.includes("."));
    expect(members).toContain("error.details[].path");
    expect(members.filter((path) => !DOC.includes(`| \`${path}\` |`))).toEqual([]);
  });
});
