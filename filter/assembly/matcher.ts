/**
 * Pure rule matching: which rule, if any, a request falls under. The first rule whose conditions all
 * hold wins (rules arrive in evaluation order). Conditions run cheapest first — method, path, then
 * headers — and the request is read through RequestView, so a header is fetched only when a rule
 * that got that far needs it. Nothing here allocates.
 */
import { MatchType, Rule, RuleMatch, StringMatch } from "./rules";

/** The request as the matcher sees it; implementations fetch lazily and cache per request. */
export abstract class RequestView {
  /** `:method`, or "" when absent. */
  abstract method(): string;
  /** `:path` without its query string, or "" when absent. */
  abstract path(): string;
  /** First value of a lower-case header, or null when absent. */
  abstract header(name: string): string | null;
}

export function findRule(rules: Rule[], request: RequestView): Rule | null {
  for (let i = 0, n = rules.length; i < n; i++) {
    const rule = unchecked(rules[i]);
    if (matchRule(rule.match, request)) return rule;
  }
  return null;
}

export function matchRule(match: RuleMatch, request: RequestView): bool {
  const method = match.method;
  if (method != null && method != request.method()) return false;
  const path = match.path;
  if (path != null && !matchString(path, request.path())) return false;
  const headers = match.headers;
  for (let i = 0, n = headers.length; i < n; i++) {
    const header = unchecked(headers[i]);
    const value = request.header(header.name);
    if (value == null || !matchString(header.match, value)) return false;
  }
  return true;
}

export function matchString(match: StringMatch, value: string): bool {
  return match.type == MatchType.Exact ? value == match.value : value.startsWith(match.value);
}
