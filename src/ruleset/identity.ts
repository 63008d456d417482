import { createHash } from "node:crypto";
import type { RuleSet } from "./format.ts";

/**
 * The identity of a RuleSet: 16 hex digits of a SHA-256 over everything the filter acts on — the
 * whole rule set but its `revision`. The same identity therefore never means different rules, across
 * restarts of a memory-store server and across replicas, and every replica computes the same one for
 * the same store state. Rule sets that differ only in revision (a change to a policy's labels, say)
 * share it: a filter that has one has the other. The long-poll (`id=`) and the ETag carry it; the
 * revision stays the order (`--wait`: "has a rule set that includes revision N").
 */
export function ruleSetId(ruleSet: RuleSet): string {
  const { revision: _revision, ...content } = ruleSet;
  return createHash("sha256").update(JSON.stringify(content)).digest("hex").slice(0, 16);
}
