/**
 * Pure rule matching: which rule, if any, a request falls under. The first rule whose conditions all
 * hold wins (rules arrive in evaluation order); an expired rule is skipped. Each rule first meets
 * its prefilter (rules/prefilter.ts: a few integer operations over the first 8 bytes of `:path` and
 * `:method` and a bitset of the request's header names), which only ever rules a rule out; the
 * survivors get the full check, cheapest first — expiry, method, host, path, then headers (present,
 * exact, prefix, regex). The request is read through RequestView, and not at all while no rule with
 * a condition is reached. Values are compared as UTF-8 bytes against bytes encoded when the rule set
 * arrived: nothing here allocates.
 */
import {
  Dfa,
  HEADER_BITS,
  HeaderMatch,
  MatchType,
  METHOD_MASK,
  METHOD_VALUE,
  NEVER_EXPIRES,
  PATH_MASK,
  PATH_VALUE,
  PREFILTER_STRIDE,
  Rule,
  RuleMatch,
  RuleSet,
  StringMatch,
} from "./rules";

/** A run of bytes in linear memory that a RequestView owns; valid until the view moves on. */
export class Slice {
  ptr: usize = 0;
  len: usize = 0;
}

/** The request as the matcher sees it; implementations fetch lazily and at most once per request. */
export abstract class RequestView {
  /** `:method`; empty when absent. */
  abstract method(): Slice;
  /** `:path` without its query string; empty when absent. */
  abstract path(): Slice;
  /** `:authority` without its port; empty when absent. */
  abstract host(): Slice;
  /** Position of the first header named `name` (lower-case UTF-8) at position `from` or later, or -1. */
  abstract findHeader(name: ArrayBuffer, from: i32): i32;
  /** The value of the header at `position`, a result of findHeader. */
  abstract headerValue(position: i32): Slice;
  /** Wall clock in milliseconds since the epoch. */
  abstract realtimeMs(): i64;
  /** The first 8 bytes of path(), little-endian, zero-padded (rules/prefilter.ts loadPadded). */
  abstract pathWord(): u64;
  /** The first 8 bytes of method(), the same way. */
  abstract methodWord(): u64;
  /** The OR of headerNameBit over every header name of the request. */
  abstract headerNameBits(): u64;
}

/**
 * Index of the first rule from `from` on whose conditions other than a body condition hold (those
 * are checked once the body is there), or -1.
 */
export function findRule(ruleSet: RuleSet, request: RequestView, from: i32): i32 {
  const rules = ruleSet.rules;
  const n = rules.length;
  // Rules before the first with a condition match any request: no need to read it for them.
  let first = ruleSet.firstConditioned;
  for (let i = from; i < first; i++) {
    const rule = unchecked(rules[i]);
    if (rule.expiresAt != NEVER_EXPIRES && request.realtimeMs() > rule.expiresAt) continue;
    return i;
  }
  if (from > first) first = from;
  if (first >= n) return -1;
  const path = request.pathWord();
  const method = request.methodWord();
  const names = request.headerNameBits();
  // PREFILTER_STRIDE u64 words per rule, walked by address: no index arithmetic, no bounds checks
  // (buildPrefilter sized the array to the rules).
  let words = changetype<usize>(ruleSet.prefilter) + ((<usize>first * PREFILTER_STRIDE) << 3);
  for (let i = first; i < n; i++, words += PREFILTER_STRIDE << 3) {
    if ((path & load<u64>(words, PATH_MASK << 3)) != load<u64>(words, PATH_VALUE << 3)) continue;
    if ((method & load<u64>(words, METHOD_MASK << 3)) != load<u64>(words, METHOD_VALUE << 3)) continue;
    const needed = load<u64>(words, HEADER_BITS << 3);
    if ((names & needed) != needed) continue;
    const rule = unchecked(rules[i]);
    if (rule.expiresAt != NEVER_EXPIRES && request.realtimeMs() > rule.expiresAt) continue;
    if (matchRule(rule.match, request)) return i;
  }
  return -1;
}

export function matchRule(match: RuleMatch, request: RequestView): bool {
  const method = match.method;
  if (method != null) {
    const value = request.method();
    if (!equalBytes(value.ptr, value.len, method)) return false;
  }
  const host = match.host;
  if (host != null) {
    const value = request.host();
    if (!matchHost(host, value.ptr, value.len)) return false;
  }
  const path = match.path;
  if (path != null) {
    const value = request.path();
    if (!matchBytes(path, value.ptr, value.len)) return false;
  }
  return matchHeaders(match.headers, request);
}

/** Whether every one of `headers` holds in `view` (request or response headers). */
export function matchHeaders(headers: HeaderMatch[], view: RequestView): bool {
  for (let i = 0, n = headers.length; i < n; i++) {
    if (!matchHeader(unchecked(headers[i]), view)) return false;
  }
  return true;
}

/** Present: the header exists. Otherwise any one of its values must match. */
function matchHeader(header: HeaderMatch, request: RequestView): bool {
  let position = request.findHeader(header.name, 0);
  if (header.match.type == MatchType.Present) return position >= 0;
  while (position >= 0) {
    const value = request.headerValue(position);
    if (matchBytes(header.match, value.ptr, value.len)) return true;
    position = request.findHeader(header.name, position + 1);
  }
  return false;
}

export function matchBytes(match: StringMatch, ptr: usize, len: usize): bool {
  const type = match.type;
  if (type == MatchType.Exact) return equalBytes(ptr, len, match.value);
  if (type == MatchType.Prefix) {
    const prefix = match.value;
    const n = <usize>prefix.byteLength;
    return len >= n && memory.compare(ptr, changetype<usize>(prefix), n) == 0;
  }
  if (type == MatchType.Regex) return walkDfa(changetype<Dfa>(match.dfa), ptr, len);
  return true;
}

/** Exact and suffix without regard to ASCII case (the rule's bytes are lower-case); a regex as for paths. */
function matchHost(match: StringMatch, ptr: usize, len: usize): bool {
  const type = match.type;
  if (type == MatchType.Regex) return walkDfa(changetype<Dfa>(match.dfa), ptr, len);
  const expected = match.value;
  const n = <usize>expected.byteLength;
  if (len < n || (type == MatchType.Exact && len != n)) return false;
  return equalsLowerCase(ptr + len - n, changetype<usize>(expected), n);
}

/** The `n` bytes at `ptr`, ASCII upper case folded, equal the lower-case bytes at `lower`. */
function equalsLowerCase(ptr: usize, lower: usize, n: usize): bool {
  for (let i: usize = 0; i < n; i++) {
    let b = load<u8>(ptr + i);
    if (b >= 0x41 && b <= 0x5a) b |= 0x20;
    if (b != load<u8>(lower + i)) return false;
  }
  return true;
}

export function equalBytes(ptr: usize, len: usize, expected: ArrayBuffer): bool {
  return len == <usize>expected.byteLength && memory.compare(ptr, changetype<usize>(expected), len) == 0;
}

/** Full match: every byte moves the DFA; the dead state (-1) ends the walk early. Linear, no backtracking. */
export function walkDfa(dfa: Dfa, ptr: usize, len: usize): bool {
  const classes = dfa.byteClasses;
  const transitions = dfa.transitions;
  const classCount = dfa.classCount;
  let state = 0;
  for (let i: usize = 0; i < len; i++) {
    const byteClass = <i32>unchecked(classes[load<u8>(ptr + i)]);
    state = unchecked(transitions[state * classCount + byteClass]);
    if (state < 0) return false;
  }
  return unchecked(dfa.accepting[state]) != 0;
}
