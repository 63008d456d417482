export { ActiveRules } from "./active-rules";
export { Decoded, decodeRuleSet, MAX_DELAY_MS } from "./decode";
export { MAX_DFA_STATES, MAX_DFA_TRANSITIONS } from "./decode-match";
export {
  HEADER_BITS,
  headerNameBit,
  loadPadded,
  METHOD_MASK,
  METHOD_VALUE,
  PATH_MASK,
  PATH_VALUE,
  PREFILTER_STRIDE,
} from "./prefilter";
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
