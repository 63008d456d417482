import { RuleSet } from "./ruleset";

/**
 * The rule set in force for one root context. The subscriber replaces `current` as one reference;
 * a request reads it once, so it never sees a half-applied update.
 */
export class ActiveRules {
  current: RuleSet | null = null;
}
