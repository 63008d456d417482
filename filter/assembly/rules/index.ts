export { Decoded, decodeRuleSet } from "./decode";
export {
  AbortFault,
  HeaderMatch,
  MatchType,
  MILLIONTHS_PER_HUNDRED_PERCENT,
  Rule,
  RuleFault,
  RuleMatch,
  RULESET_FORMAT,
  RuleSet,
  StringMatch,
} from "./ruleset";
export { ActiveRules } from "./active-rules";
