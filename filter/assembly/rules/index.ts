export { ActiveRules } from "./active-rules";
export { Decoded, decodeRuleSet, MAX_DELAY_MS } from "./decode";
export { MAX_DFA_STATES, MAX_DFA_TRANSITIONS } from "./decode-match";
export {
  AbortFault,
  DelayFault,
  Dfa,
  HeaderMatch,
  MatchType,
  MILLIONTHS_PER_HUNDRED_PERCENT,
  NEVER_EXPIRES,
  NO_METRIC,
  PolicyCounters,
  RULESET_FORMAT,
  Rule,
  RuleFault,
  RuleMatch,
  RuleSet,
  StringMatch,
} from "./ruleset";
