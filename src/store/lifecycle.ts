import { HfiError } from "../errors.ts";
import { type Policy, parsePolicyDuration } from "../policy/index.ts";
import type { Halt, HaltRequest, StoredPolicy } from "./types.ts";

/** Longest `by` and `reason` of a halt, in characters; longer ones are cut. */
export const MAX_HALT_TEXT = 1024;

/** `spec.duration` in ms, or undefined for a policy that lives until deleted. */
export function durationMs(policy: Policy): number | undefined {
  const { duration } = policy.spec;
  if (duration === undefined) return undefined;
  const result = parsePolicyDuration(duration);
  if (!result.success) throw new HfiError("InvalidInput", `spec.duration: ${result.message}`);
  return result.ms;
}

/**
 * Whether a deleted policy went because its duration ran out: its expiry had come (with a second's
 * slack for clocks and for the store's own delay), so a client's delete just before looks the same.
 */
export function hasExpired(policy: Policy, nowMs: number): boolean {
  const expiresAt = policy.status?.expiresAt;
  return expiresAt !== undefined && Date.parse(expiresAt) <= nowMs + 1000;
}

/** The halt as stored: text trimmed and bounded, `by` left out when unknown. */
export function newHalt(request: HaltRequest, since: Date, revision: number): Halt {
  const by = request.by?.trim().slice(0, MAX_HALT_TEXT);
  return {
    reason: (request.reason ?? "").trim().slice(0, MAX_HALT_TEXT),
    ...(by && { by }),
    since: since.toISOString(),
    revision,
  };
}

/** `since 2026-…Z by alice: incident 42`, for messages. */
export function describeHalt(halt: Halt): string {
  const by = halt.by ? ` by ${halt.by}` : "";
  const reason = halt.reason ? `: ${halt.reason}` : "";
  return `since ${halt.since}${by}${reason}`;
}

/** What a write gets while the fleet is halted. */
export function lockedError(halt: Halt): HfiError {
  return new HfiError(
    "Locked",
    `policy changes are refused while the fleet is halted (${describeHalt(halt)}); ` +
      "reads and deletes still work; `hfi resume` (DELETE /v1/halt) lifts the halt",
  );
}

/**
 * The Conflict of an optimistic write: the client's `resourceVersion` is not the stored one.
 * Undefined when the write may go ahead (no version given, or it matches).
 */
export function staleVersionError(
  name: string,
  resourceVersion: string | undefined,
  previous: StoredPolicy | undefined,
): HfiError | undefined {
  if (resourceVersion === undefined || resourceVersion === previous?.metadata.resourceVersion)
    return undefined;
  const found = previous
    ? `it is at resourceVersion ${previous.metadata.resourceVersion}`
    : "it does not exist";
  return new HfiError(
    "Conflict",
    `policy "${name}" was changed since resourceVersion ${resourceVersion}: ${found}`,
  );
}
