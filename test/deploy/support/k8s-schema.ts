/**
 * Offline validation of Kubernetes objects against the API's OpenAPI schemas, as compiled by the
 * `kubernetes-models` package, plus a check the schemas alone cannot make: fields they do not define
 * (a typo such as `readOnlyRootFileSystem` is valid JSON Schema but silently dropped by the API server).
 */

import { dirname, join } from "node:path";
import type { K8sObject } from "./manifests.ts";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface CompiledValidator {
  (data: unknown): boolean;
  errors?: { instancePath: string; message?: string }[] | null;
}

/** `apps/v1` + `Deployment` → `IoK8sApiAppsV1Deployment`, the module name kubernetes-models uses. */
export function schemaName(apiVersion: string, kind: string): string {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["core", apiVersion];
  const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
  const groupName = capitalise((group ?? "").split(".")[0] ?? "");
  return `IoK8sApi${groupName}${capitalise(version ?? "")}${kind}`;
}

/**
 * The package's compiled validators, `_schemas/<name>.js`, loaded by file: kubernetes-models 4.x (the
 * last line that runs on Node.js 20) does not export that directory.
 */
const SCHEMAS_DIR = join(dirname(Bun.resolveSync("kubernetes-models", import.meta.dir)), "_schemas");

async function loadValidator(object: K8sObject): Promise<CompiledValidator> {
  const name = schemaName(object.apiVersion, object.kind);
  try {
    const module: { validate: CompiledValidator } = await import(join(SCHEMAS_DIR, `${name}.js`));
    return module.validate;
  } catch {
    throw new Error(`no Kubernetes schema for ${object.apiVersion} ${object.kind} (looked for ${name})`);
  }
}

/** Wraps `data` so that every property the validator reads is recorded per object. */
function track(data: Json, seen: Map<object, Set<PropertyKey>>): Json {
  if (data === null || typeof data !== "object") return data;
  const keys = new Set<PropertyKey>();
  seen.set(data, keys);
  const children = new Map<PropertyKey, Json>();
  return new Proxy(data, {
    get(target, key, receiver) {
      keys.add(key);
      const value = Reflect.get(target, key, receiver) as Json;
      if (value === null || typeof value !== "object") return value;
      if (!children.has(key)) children.set(key, track(value, seen));
      return children.get(key);
    },
    has(target, key) {
      keys.add(key);
      return Reflect.has(target, key);
    },
  });
}

function unknownFields(data: Json, seen: Map<object, Set<PropertyKey>>, path = ""): string[] {
  if (data === null || typeof data !== "object") return [];
  const read = seen.get(data);
  if (Array.isArray(data)) return data.flatMap((item, i) => unknownFields(item, seen, `${path}/${i}`));
  return Object.entries(data).flatMap(([key, value]) =>
    read && !read.has(key) ? [`${path}/${key}`] : unknownFields(value, seen, `${path}/${key}`),
  );
}

/** Problems with one object: schema violations, else fields its schema does not define. Empty = valid. */
export async function validateObject(object: K8sObject): Promise<string[]> {
  const validate = await loadValidator(object);
  const seen = new Map<object, Set<PropertyKey>>();
  const ok = validate(track(object as unknown as Json, seen));
  if (!ok) return (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? "is invalid"}`);
  return unknownFields(object as unknown as Json, seen).map(
    (path) => `${path} is not a field of ${object.kind}`,
  );
}
