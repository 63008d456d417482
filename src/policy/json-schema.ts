import type * as v from "valibot";

/** A JSON Schema (draft 2020-12, as OpenAPI 3.1 uses it) as plain data. */
export type JsonSchema = { [keyword: string]: unknown };

/** The members of valibot schemas and actions this converter reads. */
interface Item {
  kind: "schema" | "validation" | "transformation" | "metadata";
  type: string;
  pipe?: readonly Item[];
  entries?: Record<string, Item>;
  item?: Item;
  /** A record's value schema. */
  value?: Item;
  wrapped?: Item;
  default?: unknown;
  literal?: unknown;
  options?: readonly unknown[];
  requirement?: unknown;
  description?: string;
  metadata?: { jsonSchema?: JsonSchema; kubernetesSchema?: JsonSchema };
}

/**
 * `json-schema`: JSON Schema as OpenAPI 3.1 uses it. `kubernetes`: a structural schema for a
 * CustomResourceDefinition — every value typed, `enum` for `const`, no `additionalProperties: false`
 * (the API server prunes or refuses unknown fields itself), and a check's `kubernetesSchema` metadata
 * (CEL `x-kubernetes-validations`) where JSON Schema's needs what a structural schema forbids.
 */
export type SchemaDialect = "json-schema" | "kubernetes";

/**
 * Converts the valibot shapes the policy schema uses into JSON Schema: objects, records, arrays, strings,
 * numbers, literals, optional with defaults, and the actions on them. A check written as a function
 * cannot be converted; a schema states it for JSON Schema as `v.metadata({ jsonSchema: {…} })`, and
 * its `v.description` says it in words. Unknown shapes throw, so nothing is silently left out.
 */
export function toJsonSchema(schema: v.GenericSchema, dialect: SchemaDialect = "json-schema"): JsonSchema {
  const json = convert(schema as unknown as Item, dialect);
  return dialect === "kubernetes" ? withGoPatterns(json) : json;
}

/** The API server's patterns are Go (RE2) syntax, which spells JavaScript's \uXXXX as \x{XXXX}. */
function withGoPatterns(json: JsonSchema): JsonSchema {
  return JSON.parse(JSON.stringify(json), (key, value) =>
    key === "pattern" && typeof value === "string" ? value.replace(/\\u([0-9a-fA-F]{4})/g, "\\x{$1}") : value,
  );
}

function convert(schema: Item, dialect: SchemaDialect): JsonSchema {
  const items = schema.pipe ?? [schema];
  // A pipe may validate in stages (`array(unknown)`, then a length, then `array(item)`): the last schema has the shape.
  const shape = [...items].reverse().find((item) => item.kind === "schema") ?? schema;
  // A schema that is itself a pipe (a bounded string refined further) brings its own actions.
  const json =
    shape === schema ? convertShape({ ...schema, pipe: undefined }, dialect) : convert(shape, dialect);
  for (const action of items) {
    if (action.kind !== "schema") applyAction(json, action, dialect);
  }
  return json;
}

function convertShape(schema: Item, dialect: SchemaDialect): JsonSchema {
  switch (schema.type) {
    case "string":
    case "number":
    case "boolean":
      return { type: schema.type };
    case "unknown":
      return {};
    case "literal":
      return dialect === "kubernetes"
        ? { type: typeof schema.literal, enum: [schema.literal] }
        : { const: schema.literal };
    case "picklist": {
      const options = [...(schema.options ?? [])];
      return dialect === "kubernetes" ? { type: typeof options[0], enum: options } : { enum: options };
    }
    case "array":
      return { type: "array", items: convert(schema.item as Item, dialect) };
    case "object":
    case "strict_object":
      return convertObject(schema, dialect);
    case "record":
      return { type: "object", additionalProperties: convert(schema.value as Item, dialect) };
    default:
      throw new Error(`toJsonSchema: valibot ${schema.type} schemas are not supported`);
  }
}

function convertObject(schema: Item, dialect: SchemaDialect): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const [key, entry] of Object.entries(schema.entries ?? {})) {
    if (entry.type === "optional") {
      properties[key] = convert(entry.wrapped as Item, dialect);
      if (entry.default !== undefined && typeof entry.default !== "function") {
        properties[key].default = entry.default;
      }
    } else {
      properties[key] = convert(entry, dialect);
      required.push(key);
    }
  }
  return {
    type: "object",
    properties,
    ...(required.length > 0 && { required }),
    ...(schema.type === "strict_object" && dialect === "json-schema" && { additionalProperties: false }),
  };
}

function applyAction(json: JsonSchema, action: Item, dialect: SchemaDialect): void {
  const { requirement } = action;
  switch (action.type) {
    case "max_length":
      json[json.type === "array" ? "maxItems" : "maxLength"] = requirement;
      return;
    case "min_length":
      json[json.type === "array" ? "minItems" : "minLength"] = requirement;
      return;
    case "max_bytes": // every character takes at least one byte
      json.maxLength = requirement;
      return;
    case "integer":
      json.type = "integer";
      return;
    case "min_value":
      json.minimum = requirement;
      return;
    case "max_value":
      json.maximum = requirement;
      return;
    case "regex":
      addPattern(json, (requirement as RegExp).source);
      return;
    case "starts_with":
      addPattern(json, `^${escapeRegex(String(requirement))}`);
      return;
    case "iso_timestamp":
      json.format = "date-time";
      return;
    case "description":
      json.description = action.description;
      return;
    case "metadata": {
      const { jsonSchema, kubernetesSchema } = action.metadata ?? {};
      Object.assign(json, dialect === "kubernetes" ? (kubernetesSchema ?? jsonSchema) : jsonSchema);
      return;
    }
    case "check":
    case "raw_check":
      return; // functions: stated by metadata and description instead
    default:
      throw new Error(`toJsonSchema: valibot ${action.type} actions are not supported`);
  }
}

/** A second pattern on the same value goes into `allOf`, since a schema has one `pattern`. */
function addPattern(json: JsonSchema, pattern: string): void {
  if (json.pattern === undefined) json.pattern = pattern;
  else json.allOf = [...((json.allOf as JsonSchema[] | undefined) ?? []), { pattern }];
}

function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&");
}
