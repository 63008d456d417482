import { hasApplied } from "../client/propagation.ts";
import { appliedRevision, type Distributor, type SubscriberRegistry } from "../distributor/index.ts";
import { selects } from "../policy/index.ts";
import type { PolicyPropagation, StoredPolicy } from "../store/index.ts";

/**
 * How far a policy has got: of the live proxies polling this replica (`replica`) that its selector
 * targets, how many have applied the revision that brought it — as `hfi policy apply --wait` judges it.
 */
export function propagationOf(distributor: Distributor, subscribers: SubscriberRegistry, replica: string) {
  return (policy: StoredPolicy, revision: number): PolicyPropagation => {
    const current = distributor.current();
    let targeted = 0;
    let applied = 0;
    for (const proxy of subscribers.list()) {
      if (!proxy.live || !selects(policy.spec.selector, proxy)) continue;
      targeted += 1;
      const served = distributor.current(proxy);
      const status = { ...proxy, replica, revision: appliedRevision(proxy, served), servedId: served.id };
      if (hasApplied(status, revision, current)) applied += 1;
    }
    return { applied, targeted };
  };
}
