import { isMap, isScalar, isSeq, Lexer, parseAllDocuments } from "yaml";

/** Flow collections (`[`, `{`) nested deeper than this are refused before parsing: a policy needs 5. */
export const MAX_YAML_FLOW_DEPTH = 64;
/** Aliases expanded when converting to plain values: stops "billion laughs" documents. */
const MAX_ALIAS_COUNT = 100;

/** A decoded document, or why it could not be decoded and where (`path` as in FieldIssue). */
export type Decoded = { value: unknown } | { error: string; path: string };

/**
 * Decodes exactly one YAML document, bounded in work: the yaml library spends time superlinear in
 * flow nesting depth and, with its own duplicate-key check, quadratic in the keys of one mapping,
 * so depth is checked first (one linear lexer pass) and duplicate keys are found here in linear time.
 */
export function decodeYaml(text: string): Decoded {
  try {
    if (flowDepth(text) > MAX_YAML_FLOW_DEPTH) {
      return { error: `collections nested deeper than ${MAX_YAML_FLOW_DEPTH} levels`, path: "" };
    }
    const docs = parseAllDocuments(text, { uniqueKeys: false });
    if (!Array.isArray(docs) || docs.length === 0) return { error: "empty document", path: "" };
    if (docs.length > 1) {
      return { error: `expected one document, found ${docs.length}; send one policy per request`, path: "" };
    }
    const [doc] = docs;
    const [problem] = doc?.errors ?? [];
    if (problem) return { error: problem.message, path: "" };
    const duplicate = findDuplicateKey(doc?.contents, "");
    if (duplicate !== undefined) return { error: "duplicate key", path: duplicate };
    return { value: doc?.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) };
  } catch (err) {
    // The library throws on some inputs (a stack overflow on deep block nesting among them).
    return { error: err instanceof Error ? err.message : String(err), path: "" };
  }
}

function flowDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  for (const token of new Lexer().lex(text)) {
    if (token === "[" || token === "{") deepest = Math.max(deepest, ++depth);
    else if (token === "]" || token === "}") depth--;
  }
  return deepest;
}

/** The path of the first key that a mapping repeats, or undefined. */
function findDuplicateKey(node: unknown, path: string): string | undefined {
  if (isMap(node)) {
    const seen = new Set<string>();
    for (const { key, value } of node.items) {
      const name = isScalar(key) ? String(key.value) : String(key);
      const at = path === "" ? name : `${path}.${name}`;
      if (seen.has(name)) return at;
      seen.add(name);
      const inner = findDuplicateKey(value, at);
      if (inner !== undefined) return inner;
    }
  } else if (isSeq(node)) {
    for (const [index, item] of node.items.entries()) {
      const inner = findDuplicateKey(item, `${path}[${index}]`);
      if (inner !== undefined) return inner;
    }
  }
  return undefined;
}
