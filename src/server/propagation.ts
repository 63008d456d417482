import { hasApplied } from "../client/propagation.ts";
import { appliedRevision, type Distributor } from "../distributor/index.ts";
import type { FleetProxy, ProxyDirectory } from "../fleet/index.ts";
import { selects } from "../policy/index.ts";
import type { PolicyPropagation, StoredPolicy } from "../store/index.ts";

/**
 * How far a policy has got: of the live proxies polling any replica (`proxies`, the fleet's as last
 * read) that its selector targets, how many have applied the revision that brought it — as
 * `hfi policy apply --wait` judges it.
 */
export function propagationOf(distributor: Distributor, proxies: () => readonly FleetProxy[]) {
  return (policy: StoredPolicy, revision: number): PolicyPropagation => {
    const current = distributor.current();
    let targeted = 0;
    let applied = 0;
    for (const proxy of proxies()) {
      if (!proxy.live || !selects(policy.spec.selector, proxy)) continue;
      targeted += 1;
      const served = distributor.current(proxy);
      const status = { ...proxy, revision: appliedRevision(proxy, served), servedId: served.id };
      if (hasApplied(status, revision, current)) applied += 1;
    }
    return { applied, targeted };
  };
}

/**
 * The fleet's proxies, read now and then every `intervalMs`, for what must answer at once (the
 * Propagated condition, computed for each policy every second). A failed read keeps the last list.
 */
export async function followProxies(
  directory: ProxyDirectory,
  intervalMs = 500,
): Promise<{ current: () => readonly FleetProxy[]; stop: () => void }> {
  let last: readonly FleetProxy[] = await directory.list().catch(() => []);
  let reading = false;
  const timer = setInterval(() => {
    if (reading) return;
    reading = true;
    directory
      .list()
      .then((proxies) => {
        last = proxies;
      })
      .catch(() => {})
      .finally(() => {
        reading = false;
      });
  }, intervalMs);
  timer.unref?.();
  return { current: () => last, stop: () => clearInterval(timer) };
}
