import { buildDfa, type Dfa, type DfaResult } from "./dfa.ts";
import { parseRegex } from "./parse.ts";

export { type Dfa, MAX_DFA_STATES, matchDfa } from "./dfa.ts";
export { MAX_REGEX_LENGTH } from "./parse.ts";
export { encodeUtf8, utf8Sequences } from "./utf8.ts";

export type RegexResult = DfaResult;

const IGNORE_CASE = "(?i)";

/**
 * The source of a regex that matches wherever `source` matches a part of the input: any prefix,
 * then `source` (a walk accepts at the first byte where a match ends). A leading `(?i)` stays in front.
 */
export function searchAnywhere(source: string): string {
  const ignoreCase = source.startsWith(IGNORE_CASE);
  const body = ignoreCase ? source.slice(IGNORE_CASE.length) : source;
  return `${ignoreCase ? IGNORE_CASE : ""}[\\s\\S]*(?:${body})`;
}

/** Distinct sources remembered; validation and every recompile of the rule set ask for the same ones. */
const CACHE_SIZE = 500;
const cache = new Map<string, RegexResult>();

/** The budget in force (withCompileBudget): regexes not in the cache are refused after `deadline`. */
let budget: { ms: number; deadline: number } | undefined;

/**
 * Compiles a regex (RE2-compatible subset of JavaScript Unicode-mode syntax, full-match semantics)
 * into a minimised UTF-8 byte DFA (`Dfa`, part of the RuleSet format), or says why not in a message that reads after the
 * field's name ("is too complex: …"). Results are memoised and frozen, so share
 * them freely; within withCompileBudget, a regex that would be compiled after the budget is refused.
 */
export function compileRegex(source: string): RegexResult {
  const known = cache.get(source);
  if (known) return known;
  if (budget && performance.now() > budget.deadline) {
    return {
      success: false,
      message: `was not compiled: the ${budget.ms} ms this request may spend compiling regexes are spent; send fewer or simpler regexes`,
    };
  }
  const parsed = parseRegex(source);
  const result = parsed.success ? buildDfa(parsed.expression) : parsed;
  rememberRegex(source, result);
  return result;
}

/**
 * Runs `run` (which compiles regexes, e.g. by validating a policy) with at most `ms` of regex
 * compilation started: a regex that takes long to compile, or to be refused, takes a few hundred
 * milliseconds, and one request may hold dozens. The regex running when the budget ends finishes.
 */
export function withCompileBudget<T>(ms: number, run: () => T): T {
  const outer = budget;
  budget = { ms, deadline: performance.now() + ms };
  try {
    return run();
  } finally {
    budget = outer;
  }
}

/** Whether `source` is in the cache: compileRegex would answer it at once. */
export function isRegexCompiled(source: string): boolean {
  return cache.has(source);
}

/** Puts a result compiled elsewhere (in a worker thread) into the cache, as if compiled here. */
export function rememberRegex(source: string, result: RegexResult): void {
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  cache.set(source, freeze(result));
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
