import { CharSet, type Node, type NoParent } from "refa";

/** An inclusive range of byte values. */
export interface ByteRange {
  min: number;
  max: number;
}

/** UTF-16 surrogates are code points that well-formed UTF-8 cannot encode, so no input byte string contains them. */
const SURROGATES = { min: 0xd800, max: 0xdfff };
/** The last code point of each UTF-8 sequence length (1, 2, 3 bytes); 4 bytes run to U+10FFFF. */
const LENGTH_LIMITS = [0x7f, 0x7ff, 0xffff];

/**
 * The UTF-8 encodings of the code points min..max as sequences of byte ranges: a code point is in the
 * range iff its encoding matches one sequence, byte by byte. The algorithm of RE2 and Rust's
 * `regex-syntax` (`Utf8Sequences`): split at encoding-length boundaries, then wherever a range does
 * not cover whole blocks of continuation bytes. Surrogates are left out.
 */
export function utf8Sequences(min: number, max: number): ByteRange[][] {
  const sequences: ByteRange[][] = [];
  const pending: ByteRange[] = [];
  for (const part of withoutSurrogates(min, max)) pending.push(part);
  let range = pending.pop();
  split: while (range !== undefined) {
    const { min: lo, max: hi } = range;
    for (const limit of LENGTH_LIMITS) {
      if (lo <= limit && limit < hi) {
        pending.push({ min: limit + 1, max: hi });
        range = { min: lo, max: limit };
        continue split;
      }
    }
    if (hi <= 0x7f) {
      sequences.push([{ min: lo, max: hi }]);
      range = pending.pop();
      continue;
    }
    for (let i = 1; i < 4; i++) {
      const mask = (1 << (6 * i)) - 1;
      if ((lo & ~mask) !== (hi & ~mask)) {
        if ((lo & mask) !== 0) {
          pending.push({ min: (lo | mask) + 1, max: hi });
          range = { min: lo, max: lo | mask };
          continue split;
        }
        if ((hi & mask) !== mask) {
          pending.push({ min: hi & ~mask, max: hi });
          range = { min: lo, max: (hi & ~mask) - 1 };
          continue split;
        }
      }
    }
    const from = encodeUtf8(lo);
    const to = encodeUtf8(hi);
    sequences.push(from.map((byte, i) => ({ min: byte, max: to[i] ?? byte })));
    range = pending.pop();
  }
  return sequences.sort((a, b) => (a[0]?.min ?? 0) - (b[0]?.min ?? 0));
}

function withoutSurrogates(min: number, max: number): ByteRange[] {
  if (max < SURROGATES.min || min > SURROGATES.max) return [{ min, max }];
  const parts: ByteRange[] = [];
  if (min < SURROGATES.min) parts.push({ min, max: SURROGATES.min - 1 });
  if (max > SURROGATES.max) parts.push({ min: SURROGATES.max + 1, max });
  return parts;
}

/** The UTF-8 bytes of one (non-surrogate) code point. */
export function encodeUtf8(codePoint: number): number[] {
  if (codePoint <= 0x7f) return [codePoint];
  if (codePoint <= 0x7ff) return [0xc0 | (codePoint >> 6), 0x80 | (codePoint & 0x3f)];
  if (codePoint <= 0xffff) {
    return [0xe0 | (codePoint >> 12), 0x80 | ((codePoint >> 6) & 0x3f), 0x80 | (codePoint & 0x3f)];
  }
  return [
    0xf0 | (codePoint >> 18),
    0x80 | ((codePoint >> 12) & 0x3f),
    0x80 | ((codePoint >> 6) & 0x3f),
    0x80 | (codePoint & 0x3f),
  ];
}

const BYTE_MAX = 0xff;

/**
 * Rewrites a refa AST over code points into the same language over UTF-8 bytes: every character
 * class becomes an alternation of byte-range sequences. Everything else keeps its shape.
 */
export function toByteAst<T extends NoParent<Node>>(node: T): T;
export function toByteAst(node: NoParent<Node>): NoParent<Node> {
  switch (node.type) {
    case "CharacterClass":
      return byteClass(node.characters);
    case "Concatenation":
      return { ...node, elements: node.elements.map((e) => toByteAst(e)) };
    case "Unknown":
      return node;
    default:
      return { ...node, alternatives: node.alternatives.map((a) => toByteAst(a)) };
  }
}

type ByteConcatenation = NoParent<Extract<Node, { type: "Concatenation" }>>;
type ByteElement = NoParent<Extract<Node, { type: "CharacterClass" | "Alternation" }>>;

function byteClass(characters: CharSet): ByteElement {
  const sequences = characters.ranges.flatMap(({ min, max }) => utf8Sequences(min, max));
  if (sequences.every((sequence) => sequence.length === 1)) {
    const ranges = sequences.map(([range]) => range as ByteRange);
    return { type: "CharacterClass", characters: CharSet.empty(BYTE_MAX).union(ranges) };
  }
  return { type: "Alternation", alternatives: byteTrie(sequences) };
}

/**
 * Sequences sharing a leading byte range share one branch, so that a large class (`\p{L}` is
 * hundreds of ranges) makes a small NFA. Sequences that share a lead byte have the same length.
 */
function byteTrie(sequences: readonly ByteRange[][]): ByteConcatenation[] {
  const groups = new Map<string, { head: ByteRange; tails: ByteRange[][] }>();
  for (const [head, ...tail] of sequences) {
    if (!head) continue;
    const key = `${head.min}-${head.max}`;
    const group = groups.get(key) ?? { head, tails: [] };
    if (tail.length > 0) group.tails.push(tail);
    groups.set(key, group);
  }
  return [...groups.values()].map(({ head, tails }) => {
    const first: ByteElement = { type: "CharacterClass", characters: CharSet.fromRange(BYTE_MAX, head) };
    const rest: ByteElement[] =
      tails.length > 0 ? [{ type: "Alternation", alternatives: byteTrie(tails) }] : [];
    return { type: "Concatenation", elements: [first, ...rest] };
  });
}
