import * as v from "valibot";
import { fieldPath } from "./issues.ts";

/**
 * `v.maxLength` for strings counted in characters (code points), as JSON Schema's `maxLength` and
 * the Kubernetes API server count them, rather than in UTF-16 units: "😀" is one character, not two.
 * It stays a `max_length` action, so the schema converters state it as `maxLength`.
 */
export function maxCharacters<TInput extends string, TMessage extends string>(
  max: number,
  message: TMessage,
) {
  const units = v.maxLength<TInput, number, TMessage>(max, message);
  return {
    ...units,
    "~run"(dataset: Parameters<(typeof units)["~run"]>[0], config: Parameters<(typeof units)["~run"]>[1]) {
      // Below max UTF-16 units there are below max characters; only a long string needs counting.
      if (!dataset.typed || dataset.value.length <= max) return dataset;
      const characters = [...dataset.value].length;
      if (characters <= max) return dataset;
      return units["~run"](dataset, config);
    },
  } satisfies typeof units;
}

/** In Unicode mode a surrogate half matches only when it is not part of a pair. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

export const ILL_FORMED_MESSAGE =
  "must be valid Unicode: it holds bytes that are not UTF-8, or a lone surrogate such as \\ud800";

/**
 * The path of the first key or string in `value` that is not well-formed Unicode, or undefined.
 * Such a string cannot be encoded as UTF-8 without being changed, so it would reach the filters
 * as something other than what was sent. Request bodies are read so that bytes which are not UTF-8
 * become lone surrogates (src/server/body.ts), so this finds those too.
 */
export function findIllFormedString(value: unknown): string | undefined {
  const work: { value: unknown; path: (string | number)[] }[] = [{ value, path: [] }];
  for (let item = work.pop(); item !== undefined; item = work.pop()) {
    const { value: node, path } = item;
    if (typeof node === "string") {
      if (LONE_SURROGATE.test(node)) return fieldPath(path);
    } else if (Array.isArray(node)) {
      node.forEach((child, index) => {
        work.push({ value: child, path: [...path, index] });
      });
    } else if (node !== null && typeof node === "object") {
      for (const [key, child] of Object.entries(node)) {
        if (LONE_SURROGATE.test(key)) return fieldPath([...path, key]);
        work.push({ value: child, path: [...path, key] });
      }
    }
  }
  return undefined;
}
