import { isMap, isScalar, isSeq, Lexer, parseAllDocuments } from "yaml";

/** Collections nested deeper than this are refused before they are composed: a policy needs 5. */
export const MAX_YAML_DEPTH = 64;
/** Aliases expanded when converting to plain values: stops "billion laughs" documents. */
const MAX_ALIAS_COUNT = 100;

/** A decoded document, or why it could not be decoded and where (`path` as in FieldIssue). */
export type Decoded = { value: unknown } | { error: string; path: string };

/**
 * Decodes exactly one YAML document, bounded in work: the yaml library spends time superlinear in
 * flow nesting depth, recurses once per level of any nesting (so `- - - …` exhausts the stack) and,
 * with its own duplicate-key check, is quadratic in the keys of one mapping. So depth is checked
 * first (one linear lexer pass) and duplicate keys are found here in linear time.
 */
export function decodeYaml(text: string): Decoded {
  try {
    if (nestingDepth(text) > MAX_YAML_DEPTH) {
      return { error: `collections nested deeper than ${MAX_YAML_DEPTH} levels`, path: "" };
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

/** Lexer tokens that stand for no source text (document start, scalar follows, flow error end). */
const ZERO_WIDTH_TOKENS = new Set(["\u0002", "\u001f", "\u0018"]);

/**
 * How deeply collections nest, from one lexer pass: flow collections by their brackets, block ones
 * by the columns at which their items (`- `, `? `) and keys (`key:`) start, each deeper level
 * further right. Cheap and never recursive, so it runs before anything that is.
 */
function nestingDepth(text: string): number {
  let flow = 0;
  let deepest = 0;
  const blockLevels: number[] = [];
  const openBlockLevel = (column: number) => {
    while ((blockLevels[blockLevels.length - 1] ?? -1) > column) blockLevels.pop();
    if (blockLevels[blockLevels.length - 1] !== column) blockLevels.push(column);
    deepest = Math.max(deepest, blockLevels.length);
  };
  let column = 0;
  /** Where the content since the line's start or the last indicator began: a key's column. */
  let contentStart: number | undefined;
  for (const token of new Lexer().lex(text)) {
    if (ZERO_WIDTH_TOKENS.has(token)) continue;
    const at = column;
    const newline = token.lastIndexOf("\n");
    column = newline < 0 ? column + token.length : token.length - newline - 1;
    if (token === "[" || token === "{") deepest = Math.max(deepest, ++flow);
    else if (token === "]" || token === "}") flow--;
    else if (flow > 0) continue;
    else if (newline >= 0) contentStart = undefined;
    else if (token === "-" || token === "?") {
      openBlockLevel(at);
      contentStart = undefined;
    } else if (token === ":") {
      openBlockLevel(contentStart ?? at);
      contentStart = undefined;
    } else if (token.trim() !== "") contentStart ??= at;
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
