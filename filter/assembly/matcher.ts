/**
 * Pure rule matching: which rule, if any, a request falls under. The first rule whose conditions all
 * hold wins (rules arrive in evaluation order); an expired rule is skipped. Conditions run cheapest
 * first — expiry, method, path, then headers (present, exact, prefix, regex) — and the request is
 * read through RequestView, so nothing is fetched that no rule gets far enough to need. Values are
 * compared as UTF-8 bytes against bytes encoded when the rule set arrived: nothing here allocates.
 */
import { Dfa, HeaderMatch, MatchType, NEVER_EXPIRES, Rule, RuleMatch, StringMatch } from "./rules";

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
  /** Position of the first header named `name` (lower-case UTF-8) at position `from` or later, or -1. */
  abstract findHeader(name: ArrayBuffer, from: i32): i32;
  /** The value of the header at `position`, a result of findHeader. */
  abstract headerValue(position: i32): Slice;
  /** Wall clock in milliseconds since the epoch. */
  abstract realtimeMs(): i64;
}

export function findRule(rules: Rule[], request: RequestView): Rule | null {
  for (let i = 0, n = rules.length; i < n; i++) {
    const rule = unchecked(rules[i]);
    if (rule.expiresAt != NEVER_EXPIRES && request.realtimeMs() > rule.expiresAt) continue;
    if (matchRule(rule.match, request)) return rule;
  }
  return null;
}

export function matchRule(match: RuleMatch, request: RequestView): bool {
  const method = match.method;
  if (method != null) {
    const value = request.method();
    if (!equalBytes(value.ptr, value.len, method)) return false;
  }
  const path = match.path;
  if (path != null) {
    const value = request.path();
    if (!matchBytes(path, value.ptr, value.len)) return false;
  }
  const headers = match.headers;
  for (let i = 0, n = headers.length; i < n; i++) {
    if (!matchHeader(unchecked(headers[i]), request)) return false;
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

function equalBytes(ptr: usize, len: usize, expected: ArrayBuffer): bool {
  return len == <usize>expected.byteLength && memory.compare(ptr, changetype<usize>(expected), len) == 0;
}

/** Full match: every byte moves the DFA; the dead state (-1) ends the walk early. Linear, no backtracking. */
function walkDfa(dfa: Dfa, ptr: usize, len: usize): bool {
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
