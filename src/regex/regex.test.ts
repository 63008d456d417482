import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import type { Dfa } from "./index.ts";
import {
  compileRegex,
  encodeUtf8,
  MAX_DFA_STATES,
  MAX_REGEX_LENGTH,
  matchDfa,
  utf8Sequences,
} from "./index.ts";

const utf8 = new TextEncoder();

function dfaOf(source: string): Dfa {
  const result = compileRegex(source);
  if (!result.success) throw new Error(`${source}: ${result.message}`);
  return result.dfa;
}

function matches(source: string, input: string | number[]): boolean {
  return matchDfa(dfaOf(source), typeof input === "string" ? utf8.encode(input) : Uint8Array.from(input));
}

describe("compileRegex: the table", () => {
  test("byte classes, row-major transitions, -1 for dead, state 0 the start", () => {
    expect(dfaOf("ab*")).toEqual({
      // class 0: every other byte, 1: "a", 2: "b"
      byteClasses: Array.from({ length: 256 }, (_, b) => (b === 0x61 ? 1 : b === 0x62 ? 2 : 0)),
      classCount: 3,
      transitions: [-1, 1, -1, -1, -1, 1],
      accepting: [1],
    });
  });

  test("the same language gives the same table, however it is written", () => {
    expect(dfaOf("(?:b|a)")).toEqual(dfaOf("[ab]"));
    expect(dfaOf("a+")).toEqual(dfaOf("aa*"));
    expect(dfaOf("^/x$")).toEqual(dfaOf("/x"));
  });

  test("an empty language is one non-accepting start state", () => {
    expect(dfaOf("[^\\s\\S]")).toEqual({
      byteClasses: Array(256).fill(0),
      classCount: 1,
      transitions: [-1],
      accepting: [],
    });
  });

  test("the empty regex matches only the empty value", () => {
    expect([matches("", ""), matches("", "a")]).toEqual([true, false]);
  });
});

describe("compileRegex: semantics", () => {
  test.each([
    ["/api/v[0-9]+/users/[^/]+", "/api/v2/users/bob", true],
    ["/api/v[0-9]+/users/[^/]+", "/api/v2/users/bob/x", false],
    ["/api/.*", "/api", false],
    ["/api", "/api/x", false], // full match, not search
    ["^/api/.*$", "/api/x", true],
    ["^a$|^b$", "b", true],
    ["(?i)bearer .+", "BEARER x", true],
    ["(?i)k", "\u212a", true], // Unicode case folding: KELVIN SIGN
    ["caf[eé]", "café", true],
    ["[^a]", "é", true], // a negated class matches one whole character...
    ["[^a]", [0xc3], false], // ...never a lone byte of one
    ["..", "日本", true],
    [".", "😀", true],
    [".", "\n", false],
    ["\\p{Lu}+", "ÀB", true],
  ] as const)("%p on %p is %p", (source, input, expected) => {
    expect(matches(source, input as string | number[])).toBe(expected);
  });

  test("invalid UTF-8 never matches a character", () => {
    for (const bytes of [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe6, 0x97], [0x80]]) {
      expect(matches("[\\s\\S]", bytes)).toBe(false);
    }
    expect(matches("[\\s\\S]", [0xf4, 0x8f, 0xbf, 0xbf])).toBe(true); // U+10FFFF
  });
});

describe("compileRegex: refusals", () => {
  test.each([
    ["(a)\\1", "uses the backreference \\1: backreferences are not regular"],
    ["(?<n>a)\\k<n>", "uses the backreference \\k<n>"],
    ["a(?=b)", "uses the lookaround (?=b): lookahead and lookbehind are not supported"],
    ["(?<!a)b", "uses the lookaround (?<!a)"],
    ["\\bword\\b", "uses the word boundary \\b"],
    ["a^b", 'uses ^ inside the pattern: "^" may only start'],
    ["(^a)", "uses ^ inside the pattern"],
    ["a$b", "uses $ inside the pattern"],
    ["(", 'is not a valid regular expression "(": Unterminated group'],
    ["a{2,1}", "is not a valid regular expression"],
    ["(?P<n>a)", "is not a valid regular expression"],
    ["[[:alpha:]]", "is not a valid regular expression"],
    ["(?s).", "is not a valid regular expression"],
    [
      "(a|b)*a(a|b){10}",
      `its minimised DFA needs over ${MAX_DFA_STATES} states, the limit is ${MAX_DFA_STATES}`,
    ],
    ["a{100000}", "is too complex"],
  ])("%p: %p", (source, message) => {
    const result = compileRegex(source);
    expect(result.success ? "compiled" : result.message).toContain(message);
  });

  test(`a source over ${MAX_REGEX_LENGTH} characters`, () => {
    expect(compileRegex("x".repeat(MAX_REGEX_LENGTH + 1))).toEqual({
      success: false,
      message: `must be at most ${MAX_REGEX_LENGTH} characters`,
    });
  });

  test(`exactly ${MAX_DFA_STATES} states is still accepted`, () => {
    const dfa = dfaOf("(a|b)*a(a|b){9}");
    expect(dfa.transitions.length / dfa.classCount).toBe(MAX_DFA_STATES);
  });

  test("results are frozen, so sharing the memoised table is safe", () => {
    const dfa = dfaOf("frozen");
    expect(Object.isFrozen(dfa) && Object.isFrozen(dfa.transitions)).toBe(true);
    expect(compileRegex("frozen")).toBe(compileRegex("frozen"));
  });
});

describe("utf8Sequences", () => {
  test("encodeUtf8 agrees with TextEncoder", () => {
    fc.assert(
      fc.property(codePoint(), (cp) => {
        expect(encodeUtf8(cp)).toEqual([...utf8.encode(String.fromCodePoint(cp))]);
      }),
    );
  });

  test("a code point is in the range iff its encoding matches exactly one sequence", () => {
    fc.assert(
      fc.property(codePoint(), codePoint(), codePoint(), (a, b, cp) => {
        const [min, max] = a <= b ? [a, b] : [b, a];
        const bytes = encodeUtf8(cp);
        const hits = utf8Sequences(min, max).filter(
          (sequence) =>
            sequence.length === bytes.length &&
            sequence.every(
              (range, i) => range.min <= (bytes[i] as number) && (bytes[i] as number) <= range.max,
            ),
        );
        expect(hits.length).toBe(min <= cp && cp <= max ? 1 : 0);
      }),
      { numRuns: 2000 },
    );
  });

  test("surrogates are left out", () => {
    expect(utf8Sequences(0xd800, 0xdfff)).toEqual([]);
  });
});

/** Code points UTF-8 can encode, biased toward the encoding-length boundaries. */
function codePoint(): fc.Arbitrary<number> {
  const edges = [0, 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xe000, 0xffff, 0x10000, 0x10ffff];
  return fc.oneof(
    fc.constantFrom(...edges),
    fc.integer({ min: 0, max: 0x7ff }),
    fc.integer({ min: 0, max: 0x10ffff }).filter((cp) => cp < 0xd800 || cp > 0xdfff),
  );
}
