import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { parseAllDocuments, stringify } from "yaml";
import { createTestApp } from "../../test/support/control-plane.ts";
import { documentFormat, type FieldIssue } from "../policy/index.ts";
import { compileRuleSet } from "../ruleset/compile.ts";
import type { PolicyList } from "../store/index.ts";

/**
 * Bad input, nothing lost: random and mutated policy documents, content types, headers and sizes
 * thrown at the API. Never a 5xx; every 400 for a document that parses to an object names a field
 * path for each problem; a refused write leaves the stored policies byte-identical; whatever is
 * accepted still compiles into a RuleSet.
 */

/** HFI_FUZZ_RUNS raises it for a longer hunt. */
const RUNS = Number(process.env.HFI_FUZZ_RUNS ?? 2000);
const MIB = 1024 * 1024;

const SEEDS = [
  {
    apiVersion: "hfi.dev/v1alpha1",
    kind: "FaultInjectionPolicy",
    metadata: { name: "seed-regex" },
    spec: {
      priority: 3,
      match: {
        path: { regex: "/api/v[0-9]+/.*" },
        method: { exact: "GET" },
        headers: [
          { name: "x-user", exact: "test" },
          { name: "x-canary", present: true },
        ],
      },
      fault: { percentage: 12.5, delay: { fixedDelay: "250ms" }, abort: { httpStatus: 503, body: "no" } },
    },
  },
  {
    apiVersion: "hfi.dev/v1alpha1",
    kind: "FaultInjectionPolicy",
    metadata: { name: "seed-delay" },
    spec: {
      match: { path: { prefix: "/slow" }, headers: [{ name: "Authorization", prefix: "Bearer " }] },
      fault: { delay: { fixedDelay: "1m30s" } },
    },
  },
  {
    apiVersion: "hfi.dev/v1alpha1",
    kind: "FaultInjectionPolicy",
    metadata: { name: "seed-abort" },
    spec: { match: { path: { exact: "/x" } }, fault: { abort: { httpStatus: 418 } } },
  },
];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Values that stress the schema: wrong types, edge numbers, regex and duration look-alikes. */
const nasty: fc.Arbitrary<Json> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
  fc.constantFrom<Json>(
    ...[null, true, "", "/", "GET", "get", 0, -1, 1.5, 1e308, 100.001, 199, 600, "503"],
    ...["2s", "0s", "1500us", "61m", "1h1ms", "abc", "(a)\\1", "(?=a)", "\\b", "a{99999}", "(", "[z-a]"],
    ...["(a|b)*a(a|b){10}", "é+", "😀", "(?i)x", "^a$", "Bad_Name", "a".repeat(64), "x".repeat(70_000)],
    ...[[], {}, [{}], { exact: "/a", prefix: "/a" }, { name: "x" }, { name: "x", present: false }],
  ),
);

/** Every path to a member or element of `value`, as key lists. */
function paths(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  const here = [prefix];
  if (Array.isArray(value)) return here.concat(value.flatMap((item, i) => paths(item, [...prefix, i])));
  if (value !== null && typeof value === "object") {
    return here.concat(Object.entries(value).flatMap(([key, item]) => paths(item, [...prefix, key])));
  }
  return here;
}

function isRecord(value: unknown): value is Record<string, Json> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

type Mutation = { kind: "delete" | "replace" | "add"; pick: number; value: Json; key: string };

function mutate(doc: Json, { kind, pick, value, key }: Mutation): Json {
  const copy = structuredClone(doc);
  const all = paths(copy).filter((p) => p.length > 0);
  const path = all[pick % all.length];
  if (!path) return value;
  let parent = copy as Record<string | number, Json>;
  for (const step of path.slice(0, -1)) parent = parent[step] as Record<string | number, Json>;
  const last = path[path.length - 1] as string | number;
  if (kind === "delete") {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  } else if (kind === "add" && isRecord(parent[last])) {
    (parent[last] as Record<string, Json>)[key] = value;
  } else {
    parent[last] = value;
  }
  return copy;
}

const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom("delete", "replace", "add"),
  pick: fc.nat(),
  value: nasty,
  key: fc.constantFrom(
    "extra",
    "regex",
    "prefix",
    "exact",
    "present",
    "delay",
    "abort",
    "__proto__",
    "constructor",
  ),
});

/** Mostly mutated seeds (some mutations keep them valid, so writes also succeed), some arbitrary values. */
const document: fc.Arbitrary<Json> = fc
  .oneof(
    {
      arbitrary: fc.tuple(fc.constantFrom(...SEEDS), fc.array(mutation, { minLength: 0, maxLength: 4 })),
      weight: 6,
    },
    { arbitrary: fc.tuple(nasty, fc.constant([] as Mutation[])), weight: 1 },
  )
  .map(([doc, mutations]) => mutations.reduce<Json>((d, m) => mutate(d, m), doc as Json));

interface Attempt {
  method: "POST" | "PUT";
  name: string;
  contentType: string | undefined;
  body: string;
  headers: Record<string, string>;
}

const serialised: fc.Arbitrary<{ contentType: string | undefined; body: string; own: string }> = fc
  .tuple(
    document,
    fc.oneof(
      { arbitrary: fc.constantFrom("json", "yaml"), weight: 12 },
      { arbitrary: fc.constantFrom("truncated-json", "truncated-yaml", "garbage"), weight: 3 },
      { arbitrary: fc.constant("oversized"), weight: 1 },
    ),
    fc.oneof(
      {
        arbitrary: fc.constantFrom("application/json", "application/yaml", "text/yaml; charset=utf-8"),
        weight: 8,
      },
      {
        arbitrary: fc.constantFrom<string | undefined>(
          ...["application/merge-patch+json", "text/plain", "application/x-www-form-urlencoded"],
          ...["multipart/form-data; boundary=x", "", "json", undefined],
        ),
        weight: 2,
      },
    ),
    fc.string({ unit: "binary", maxLength: 200 }),
    fc.nat(),
  )
  .map(([doc, form, contentType, noise, cut]) => {
    const json = JSON.stringify(doc) ?? "null";
    const body =
      form === "json"
        ? json
        : form === "yaml"
          ? stringify(doc)
          : form === "truncated-json"
            ? json.slice(0, cut % (json.length + 1))
            : form === "truncated-yaml"
              ? stringify(doc).slice(0, cut % (json.length + 1))
              : form === "garbage"
                ? noise
                : `${json}${" ".repeat(MIB)}`;
    const metadata = isRecord(doc) ? doc.metadata : undefined;
    const own =
      isRecord(metadata) && typeof metadata.name === "string" ? encodeURIComponent(metadata.name) : "x";
    return { contentType, body, own };
  });

const attempt: fc.Arbitrary<Attempt> = fc
  .tuple(
    fc.constantFrom<"POST" | "PUT">("POST", "PUT"),
    fc.constantFrom("(own)", "(own)", "(own)", "seed-regex", "new-one", "Bad_Name", "a%2Fb", "x".repeat(70)),
    serialised,
    fc.dictionary(
      fc.constantFrom(
        "content-length",
        "transfer-encoding",
        "x-extra",
        "accept",
        "if-match",
        "content-encoding",
      ),
      fc.constantFrom("0", "1", "-1", "99999999999", "chunked", "gzip", "*", "\u00ff"),
      { maxKeys: 2 },
    ),
  )
  .map(([method, name, { contentType, body, own }, headers]) => ({
    method,
    name: name === "(own)" ? own : name,
    contentType,
    body,
    headers,
  }));

/** What the body decodes to, in the format its Content-Type names, if it is well-formed; else undefined. */
function decoded(body: string, contentType: string | undefined): unknown {
  try {
    const format = documentFormat(contentType);
    if (format === "json") return JSON.parse(body);
    const docs = format === "yaml" ? parseAllDocuments(body) : [];
    if (!Array.isArray(docs) || docs.length !== 1 || (docs[0]?.errors.length ?? 1) > 0) return undefined;
    return docs[0]?.toJS();
  } catch {
    return undefined;
  }
}

describe("fuzz: bad input, nothing lost", () => {
  test(`${RUNS} random and mutated writes`, async () => {
    const { app } = await createTestApp();
    for (const seed of SEEDS) {
      const res = await app.request(`/v1/policies/${seed.metadata.name}`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(seed),
      });
      expect(res.status).toBe(201);
    }
    const stats = { accepted: 0, refused: new Map<number, number>() };

    await fc.assert(
      fc.asyncProperty(attempt, async ({ method, name, contentType, body, headers }) => {
        const before = await (await app.request("/v1/policies")).text();
        const res = await app.request(method === "POST" ? "/v1/policies" : `/v1/policies/${name}`, {
          method,
          headers: { ...headers, ...(contentType !== undefined && { "content-type": contentType }) },
          body,
        });
        const text = await res.text();
        if (res.status >= 500) throw new Error(`${res.status} ${text}`);
        const after = await (await app.request("/v1/policies")).text();

        if (res.status >= 400) {
          stats.refused.set(res.status, (stats.refused.get(res.status) ?? 0) + 1);
          expect(after).toBe(before);
          const { error } = JSON.parse(text) as { error: { code: string; details: FieldIssue[] } };
          expect(typeof error.code).toBe("string");
          const value = res.status === 400 ? decoded(body, contentType) : undefined;
          if (value !== null && typeof value === "object" && !Array.isArray(value)) {
            expect(error.details.length).toBeGreaterThan(0);
            for (const detail of error.details) expect(detail.path).not.toBe("");
          }
        } else {
          stats.accepted++;
          const { items, revision } = JSON.parse(after) as PolicyList;
          expect(() => compileRuleSet(items, revision)).not.toThrow();
        }
      }),
      { numRuns: RUNS },
    );

    // The property is only as good as its spread: most attempts must be refused, for varied reasons.
    expect(stats.refused.get(400)).toBeGreaterThan(RUNS / 3);
    expect([...stats.refused.keys()]).toEqual(expect.arrayContaining([400, 409, 413, 415]));
    expect(stats.accepted).toBeGreaterThan(0);
    const config = await app.request("/v1/config");
    expect(config.status).toBe(200);
  }, 600_000);
});
