import { isNode, parseDocument, type Node as YamlNode } from "yaml";

/** `spec.match.headers[0].name` (the API's `details[].path`) as keys: spec, match, headers, 0, name. */
export function pathKeys(path: string): (string | number)[] {
  const keys: (string | number)[] = [];
  for (const [, plain, index, quoted] of path.matchAll(
    /\.?([A-Za-z_$][\w$]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g,
  )) {
    keys.push(plain ?? (index !== undefined ? Number(index) : JSON.parse(quoted ?? '""')));
  }
  return keys;
}

/**
 * The 1-based line of `text` where the field at `path` is written: the deepest part of the path the
 * document has (a missing field is reported at its parent), line 1 when the text is no YAML mapping.
 */
export function lineOfField(text: string, path: string): number {
  const document = parseDocument(text);
  const keys = pathKeys(path);
  for (let depth = keys.length; depth > 0; depth--) {
    const node: unknown = document.getIn(keys.slice(0, depth), true);
    const start = isNode(node) ? (node as YamlNode).range?.[0] : undefined;
    if (start !== undefined) return lineAt(text, start);
  }
  return 1;
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text[i] === "\n") line++;
  return line;
}
