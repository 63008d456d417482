import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { compileRegex, matchDfa } from "./index.ts";

/**
 * The DFA walk over UTF-8 bytes must agree with JavaScript's own engine on the whole-value match
 * `^(?:src)$` with the `u` flag (plus `i` for a leading `(?i)`), on inputs drawn mostly from the
 * regex's own characters so that matches are common, not just misses.
 */

const utf8 = new TextEncoder();
const IGNORE_CASE = "(?i)";
/** Characters every input may use besides the regex's own: ASCII, 2-, 3- and 4-byte UTF-8, folding traps. */
const BASE_ALPHABET = [
  "a",
  "b",
  "A",
  "/",
  ".",
  "-",
  "0",
  "7",
  "_",
  " ",
  "\n",
  "é",
  "É",
  "日",
  "😀",
  "\u212a",
];

function oracle(source: string): RegExp {
  const ignoreCase = source.startsWith(IGNORE_CASE);
  const body = ignoreCase ? source.slice(IGNORE_CASE.length) : source;
  return new RegExp(`^(?:${body})$`, ignoreCase ? "iu" : "u");
}

function inputFor(source: string): fc.Arbitrary<string> {
  const own = [...new Set(source)];
  const char = fc.oneof({ arbitrary: fc.constantFrom(...own), weight: 3 }, fc.constantFrom(...BASE_ALPHABET));
  return fc.array(char, { maxLength: 12 }).map((chars) => chars.join(""));
}

/** Checks `inputs` against the oracle; returns the number of inputs that matched. */
function agree(source: string, inputs: readonly string[]): number {
  const result = compileRegex(source);
  if (!result.success) throw new Error(`${source}: ${result.message}`);
  const expected = oracle(source);
  let matched = 0;
  for (const input of inputs) {
    const actual = matchDfa(result.dfa, utf8.encode(input));
    if (actual !== expected.test(input)) {
      throw new Error(`${JSON.stringify(source)} on ${JSON.stringify(input)}: DFA says ${actual}`);
    }
    if (actual) matched++;
  }
  return matched;
}

const REALISTIC = [
  "/api/v[0-9]+/users/[^/]+",
  "^/api/.*$",
  "/(users|orders|items)/[0-9]+(/.*)?",
  ".*\\.(jpg|png|gif)",
  "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}",
  "(?i)bearer [a-z0-9._-]+",
  "(?i)caf[eé]",
  "\\w+@\\w+\\.com",
  "[^/]{1,8}",
  "\\d{1,3}(\\.\\d{1,3}){3}",
  "\\s*a\\s*",
  "\\p{Lu}\\p{Ll}*",
  "[^\\x00-\\x7f]+",
  "[é-ü]+|[日-本]",
  "(a|b)*a(a|b){3}",
  "x*?y+?",
  "^$|^a$",
  "[\\s\\S]{2}",
];

describe("DFA walk agrees with JavaScript's RegExp", () => {
  test.each(REALISTIC)("%p", (source) => {
    const inputs = fc.sample(inputFor(source), { numRuns: 400, seed: 42 });
    agree(source, inputs);
  });

  test("on random regexes", () => {
    let compiled = 0;
    let matched = 0;
    fc.assert(
      fc.property(
        randomRegex().chain((source) =>
          fc.tuple(fc.constant(source), fc.array(inputFor(source), { maxLength: 40 })),
        ),
        ([source, inputs]) => {
          const result = compileRegex(source);
          // Only the size cap may refuse a generated regex: every construct the generator uses is supported.
          if (!result.success) {
            expect(result.message).toContain("too complex");
            return;
          }
          compiled++;
          matched += agree(source, inputs);
        },
      ),
      { numRuns: 400 },
    );
    expect(compiled).toBeGreaterThan(350);
    expect(matched).toBeGreaterThan(100);
  });
});

/** Regex sources built from the supported grammar, over a small alphabet. */
function randomRegex(): fc.Arbitrary<string> {
  const atom = fc.constantFrom(
    ...["a", "b", "/", "é", "日", "😀", "\\.", "-", "0", "A"],
    ...[".", "\\d", "\\w", "\\s", "\\S", "[ab]", "[^a]", "[a-c]", "[^/]", "[é-ê]", "[^\\s\\S]"],
  );
  const { node } = fc.letrec<{ node: string; concat: string; alt: string; quant: string; group: string }>(
    (tie) => ({
      node: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        atom,
        tie("concat"),
        tie("alt"),
        tie("quant"),
        tie("group"),
      ),
      concat: fc.array(tie("node"), { minLength: 2, maxLength: 4 }).map((parts) => parts.join("")),
      alt: fc.array(tie("node"), { minLength: 2, maxLength: 3 }).map((parts) => `(?:${parts.join("|")})`),
      quant: fc
        .tuple(tie("node"), fc.constantFrom("*", "+", "?", "{2}", "{0,3}", "{1,}", "*?", "??"))
        .map(([inner, q]) => `(?:${inner})${q}`),
      group: tie("node").map((inner) => `(${inner})`),
    }),
  );
  return fc
    .tuple(fc.boolean(), fc.boolean(), node)
    .map(
      ([ignoreCase, anchored, body]) => `${ignoreCase ? IGNORE_CASE : ""}${anchored ? `^${body}$` : body}`,
    );
}
