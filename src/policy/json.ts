import { fieldPath } from "./issues.ts";
import type { Decoded } from "./yaml.ts";

/**
 * Decodes one JSON document. Unlike JSON.parse alone, a key repeated within one object is refused
 * naming its path, as in YAML: last-wins would quietly drop what the sender wrote first.
 */
export function decodeJson(text: string): Decoded {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err), path: "" };
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined) return { error: "duplicate key", path: duplicate };
  return { value };
}

interface Frame {
  /** The keys seen so far, for an object; undefined for an array. */
  keys: Set<string> | undefined;
  /** The path of this collection. */
  path: (string | number)[];
  /** The key (object) or index (array) of the member being read. */
  member: string | number;
}

/** The path of the first repeated key in `text`, which must be valid JSON; one linear pass. */
function findDuplicateKey(text: string): string | undefined {
  const stack: Frame[] = [];
  let expectingKey = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    const top = stack[stack.length - 1];
    if (char === '"') {
      const end = closingQuote(text, i);
      if (top?.keys && expectingKey) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (top.keys.has(key)) return fieldPath([...top.path, key]);
        top.keys.add(key);
        top.member = key;
        expectingKey = false;
      }
      i = end;
    } else if (char === "{" || char === "[") {
      const path = top ? [...top.path, top.member] : [];
      stack.push({ keys: char === "{" ? new Set() : undefined, path, member: 0 });
      expectingKey = char === "{";
    } else if (char === "}" || char === "]") {
      stack.pop();
    } else if (char === "," && top) {
      if (top.keys) expectingKey = true;
      else top.member = (top.member as number) + 1;
    }
  }
  return undefined;
}

function closingQuote(text: string, open: number): number {
  let i = open + 1;
  while (text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
  return i;
}
