import { buildDfa, type Dfa, type DfaResult } from "./dfa.ts";
import { parseRegex } from "./parse.ts";

export { type Dfa, MAX_DFA_STATES, matchDfa } from "./dfa.ts";
export { MAX_REGEX_LENGTH } from "./parse.ts";
export { encodeUtf8, utf8Sequences } from "./utf8.ts";

export type RegexResult = DfaResult;

/** Distinct sources remembered; validation and every recompile of the rule set ask for the same ones. */
const CACHE_SIZE = 500;
const cache = new Map<string, RegexResult>();

/**
 * Compiles a regex (RE2-compatible subset of JavaScript Unicode-mode syntax, full-match semantics)
 * into a minimised UTF-8 byte DFA (`Dfa`, part of the RuleSet format), or says why not in a message that reads after the
 * field's name ("is too complex: …"). Pure: results are memoised and frozen, so share them freely.
 */
export function compileRegex(source: string): RegexResult {
  const known = cache.get(source);
  if (known) return known;
  const parsed = parseRegex(source);
  const result = parsed.success ? buildDfa(parsed.expression) : parsed;
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  cache.set(source, freeze(result));
  return result;
}

function freeze(result: RegexResult): RegexResult {
  if (result.success) {
    const dfa: Dfa = result.dfa;
    Object.freeze(dfa.byteClasses);
    Object.freeze(dfa.transitions);
    Object.freeze(dfa.accepting);
    Object.freeze(dfa);
  }
  return Object.freeze(result);
}
