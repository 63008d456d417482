/**
 * A per-rule prefilter, built once when a rule set arrives: for each rule, in evaluation order,
 * five u64 words in one flat array —
 *
 *   [PATH_MASK, PATH_VALUE]     over the first 8 bytes of `:path` (little-endian, zero-padded),
 *                               from the rule's literal path: an exact or prefix value, or the
 *                               literal prefix every string a path regex accepts starts with;
 *   [METHOD_MASK, METHOD_VALUE] the same over `:method`, from the rule's method;
 *   [HEADER_BITS]               one bit (a hash of the name) per header the rule needs present.
 *
 * A request whose words fail `(word & mask) == value` (or lacks a header bit) cannot match the rule,
 * so the matcher skips it with a few integer operations; a rule without literals has zero masks and
 * always reaches the full check. The prefilter only ever rules a rule out: survivors still get the
 * full match, so first-match order and results are exactly those of the full matcher.
 */
import { Dfa, MatchType, Rule, StringMatch } from "./ruleset";

export const PREFILTER_STRIDE: i32 = 5;
export const PATH_MASK: i32 = 0;
export const PATH_VALUE: i32 = 1;
export const METHOD_MASK: i32 = 2;
export const METHOD_VALUE: i32 = 3;
export const HEADER_BITS: i32 = 4;

export function buildPrefilter(rules: Rule[]): StaticArray<u64> {
  const words = new StaticArray<u64>(rules.length * PREFILTER_STRIDE);
  for (let i = 0, n = rules.length; i < n; i++) {
    const match = unchecked(rules[i]).match;
    const at = i * PREFILTER_STRIDE;
    const path = match.path;
    if (path != null) {
      const literal = pathLiteral(path);
      unchecked((words[at + PATH_MASK] = literal.mask));
      unchecked((words[at + PATH_VALUE] = literal.value));
    }
    const method = match.method;
    if (method != null) {
      const n8 = min(<usize>method.byteLength, 8);
      unchecked((words[at + METHOD_MASK] = maskOf(n8)));
      unchecked((words[at + METHOD_VALUE] = loadPadded(changetype<usize>(method), n8)));
    }
    let bits: u64 = 0;
    const headers = match.headers;
    for (let h = 0, hn = headers.length; h < hn; h++) {
      const name = unchecked(headers[h]).name;
      bits |= headerNameBit(changetype<usize>(name), <usize>name.byteLength);
    }
    unchecked((words[at + HEADER_BITS] = bits));
  }
  return words;
}

/** Index of the first rule with any condition; rules.length if none has one. */
export function firstConditioned(rules: Rule[]): i32 {
  for (let i = 0, n = rules.length; i < n; i++) {
    const match = unchecked(rules[i]).match;
    if (
      match.host != null ||
      match.path != null ||
      match.method != null ||
      match.headers.length > 0 ||
      match.body != null
    )
      return i;
  }
  return rules.length;
}

/** The first min(len, 8) bytes at `ptr` as a little-endian u64, zero-padded. */
export function loadPadded(ptr: usize, len: usize): u64 {
  if (len >= 8) return load<u64>(ptr);
  let word: u64 = 0;
  for (let i: usize = 0; i < len; i++) word |= (<u64>load<u8>(ptr + i)) << ((<u64>i) << 3);
  return word;
}

/** One of 64 bits for a header name (any name, so requests and rules agree); 0 for an empty name. */
export function headerNameBit(ptr: usize, len: usize): u64 {
  if (len == 0) return 0;
  const hash = <u32>len * 7 + <u32>load<u8>(ptr + len - 1) * 31 + <u32>load<u8>(ptr + (len >> 1)) * 3;
  return (<u64>1) << (<u64>(hash & 63));
}

function maskOf(bytes: usize): u64 {
  return bytes >= 8 ? u64.MAX_VALUE : ((<u64>1) << ((<u64>bytes) << 3)) - 1;
}

class Literal {
  mask: u64 = 0;
  value: u64 = 0;
}

function pathLiteral(match: StringMatch): Literal {
  const out = new Literal();
  const type = match.type;
  if (type == MatchType.Exact || type == MatchType.Prefix) {
    const n8 = min(<usize>match.value.byteLength, 8);
    out.mask = maskOf(n8);
    out.value = loadPadded(changetype<usize>(match.value), n8);
  } else if (type == MatchType.Regex) {
    dfaPrefix(changetype<Dfa>(match.dfa), out);
  }
  return out;
}

/**
 * The bytes every string the DFA accepts starts with (up to 8): from the start state, while the
 * state does not accept and exactly one byte value leads to a live state, that byte is forced.
 */
function dfaPrefix(dfa: Dfa, out: Literal): void {
  const classes = dfa.byteClasses;
  const transitions = dfa.transitions;
  const classCount = dfa.classCount;
  let state = 0;
  let count: u64 = 0;
  while (count < 8 && unchecked(dfa.accepting[state]) == 0) {
    let only = -1;
    let next = -1;
    for (let b = 0; b < 256; b++) {
      const to = unchecked(transitions[state * classCount + <i32>unchecked(classes[b])]);
      if (to < 0) continue;
      if (only >= 0) {
        only = -2;
        break;
      }
      only = b;
      next = to;
    }
    if (only < 0) break;
    out.value |= (<u64>only) << (count << 3);
    out.mask |= (<u64>0xff) << (count << 3);
    count++;
    state = next;
  }
}
