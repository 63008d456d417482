export { ActiveRules } from "./active-rules";
export { Decoded, decodeRuleSet } from "./decode";
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
  BodyMatch,
  BodyMatchType,
  DelayFault,
  DelayKind,
  Dfa,
  FAULT_HEADER,
  HeaderMatch,
  MAX_DELAY_MS,
  MatchType,
  MILLIONTHS_PER_HUNDRED_PERCENT,
  MIN_DELAY_MS,
  NEVER_EXPIRES,
  NO_METRIC,
  OLDEST_READABLE_RULESET_FORMAT,
  PolicyCounters,
  ResponseFault,
  ResponseMatch,
  RULESET_FORMAT,
  Rule,
  RuleFault,
  RuleMatch,
  RuleSet,
  StringMatch,
} from "./ruleset";
