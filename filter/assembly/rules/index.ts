export { ActiveRules } from "./active-rules";
export { Decoded, decodeRuleSet } from "./decode";
export {
  AbortFault,
  HeaderMatch,
  MatchType,
  MILLIONTHS_PER_HUNDRED_PERCENT,
  RULESET_FORMAT,
  Rule,
  RuleFault,
  RuleMatch,
  RuleSet,
  StringMatch,
} from "./ruleset";
