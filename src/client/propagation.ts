import type { ProxiesStatus, ProxyStatus } from "../api-types.ts";
import type { HfiClient } from "./client.ts";

/**
 * Whether a proxy worker has applied `revision`: its last poll acknowledged that revision or a later
 * one that the control plane has served. A revision above the served one is not counted, nor the
 * served revision with another rule-set identity: they come from before a memory-store restart
 * (revisions started over), and the worker is sent the current config at once (the long-poll answers
 * whenever the identity differs).
 */
export function hasApplied(
  proxy: ProxyStatus,
  revision: number,
  served: Pick<ProxiesStatus, "revision" | "id">,
): boolean {
  if (proxy.revision === null || proxy.revision < revision || proxy.revision > served.revision) return false;
  // Servers before selectors served every proxy one rule set and no servedId.
  const servedId = proxy.servedId ?? served.id;
  const sameRevisionOtherRules =
    proxy.revision === served.revision && proxy.ruleSetId !== null && proxy.ruleSetId !== servedId;
  return !sameRevisionOtherRules;
}

/** Which proxies a wait is for; every proxy when absent. */
export type ProxyFilter = (proxy: ProxyStatus) => boolean;

/** The live proxies (of those `targets` picks) that have not applied `revision`. */
export function laggards(
  status: ProxiesStatus,
  revision: number,
  targets: ProxyFilter = () => true,
): ProxyStatus[] {
  return status.proxies.filter((p) => p.live && targets(p) && !hasApplied(p, revision, status));
}

export interface Propagation {
  /** Every live proxy (of the targets) applied the revision. */
  done: boolean;
  elapsedMs: number;
  /** The last status read. */
  status: ProxiesStatus;
  /** The live proxies of the targets. */
  live: ProxyStatus[];
  laggards: ProxyStatus[];
}

export interface WaitOptions {
  timeoutMs: number;
  /** Between two reads of the status. Default 50 ms. */
  intervalMs?: number;
  now?: () => number;
  /** Wait only for these proxies (those a policy's selector picks); default: every proxy. */
  targets?: ProxyFilter;
}

/**
 * Polls `GET /v1/status/proxies` until every live proxy (of the targets) has applied `revision` or
 * `timeoutMs` has passed. With no live target it is done at once (there is nobody to wait for).
 */
export async function waitForPropagation(
  client: HfiClient,
  revision: number,
  { timeoutMs, intervalMs = 50, now = () => performance.now(), targets = () => true }: WaitOptions,
): Promise<Propagation> {
  const started = now();
  for (;;) {
    const status = await client.getProxies();
    const behind = laggards(status, revision, targets);
    const elapsedMs = now() - started;
    const live = status.proxies.filter((p) => p.live && targets(p));
    if (behind.length === 0 || elapsedMs >= timeoutMs) {
      return { done: behind.length === 0, elapsedMs, status, live, laggards: behind };
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, timeoutMs - elapsedMs)));
  }
}
